// SPDX-License-Identifier: Apache-2.0
// Support grants and share links in the browser (docs/design/grants.md).
//
// Signing key: each owner/admin has an Ed25519 key pair made here; the secret
// half is wrapped under the member's KEK (nonce24 || secretbox(sk64)), like the
// X25519 member key. The owner's public half is pinned by the recorder when it
// is first set; an admin's is certified by the owner's browser.
//
// A grant: this browser writes the statement the recorder verifies, signs it,
// and seals the needed archive segment keys to the grantee's public key.
import sodium from './vendor/libsodium-wrappers.mjs';
import { api } from './api.js';
import { h, state, toast, onLeave } from './app.js';
import { b64, unb64, fingerprint, wrapSecretKey, unwrapSecretKey } from './keys.js';
import { cameraKeys, unb64any } from './camkeys.js';
import { openContentKey, hexBytes } from './footage.js';
import { recordings } from './archive.js';
import { buildClip } from './clip.js';
import { createShare, newPassphrase } from './share.js';

const HOUR = 3600;
const T90K = 90000;
const fmt = (t90k) => new Date(t90k / 90).toLocaleString();
const storeName = (cam) => (cam.builtin ? 'demo' : `cam-${cam.id}`);

let signing = null;   // { publicKey, privateKey, cert } — memory only

// The caller's signing key, made and uploaded on first use.
export async function signKey() {
  if (signing) return signing;
  let r = null;
  try { r = await api('GET', '/api/me/signkey'); } catch (e) { if (e.status !== 404) throw e; }
  if (!r) {
    const kp = sodium.crypto_sign_keypair();
    await api('PUT', '/api/me/signkey', { sign_pk: b64(kp.publicKey), wrapped_sign_sk: b64(wrapSecretKey(kp.privateKey, state.keys.kek)) });
    signing = { publicKey: kp.publicKey, privateKey: kp.privateKey, cert: null };
    return signing;
  }
  const publicKey = unb64(r.sign_pk);
  const privateKey = unwrapSecretKey(unb64(r.wrapped_sign_sk), state.keys.kek);
  if (sodium.compare(privateKey.subarray(32), publicKey) !== 0) throw new Error('Your signing key does not match its public half.');
  signing = { publicKey, privateKey, cert: r.cert };
  return signing;
}

export function forgetSignKey() { if (signing) signing.privateKey.fill(0); signing = null; }

// Owners and admins get their signing key at sign-in (the owner's is then
// pinned by the recorder: the root of trust for live grants).
export function ensureSignKey() {
  if (state.me && (state.me.role === 'owner' || state.me.role === 'admin')) signKey().catch(() => {});
}

// Opened content keys of camera cam's segments overlapping [from, to).
async function segmentKeys(cam, from, to, onProgress) {
  const keys = await cameraKeys(cam.id);
  const rec = await recordings(cam.id, from, to);
  const segs = rec.segments.filter((s) => s.end90k > from && s.start90k < to);
  const out = [];
  for (const s of segs) {
    const meta = await api('GET', `/api/segments/${s.id}`);
    if (meta.footage_pk && sodium.compare(unb64any(meta.footage_pk), keys.publicKey) !== 0) continue;   // older camera key
    out.push({ id: s.id, ckey: openContentKey(unb64any(meta.sealed_key), keys) });
    onProgress(out.length, segs.length);
  }
  return out;
}

// datetime-local values to the second; "to" defaults a minute ahead so the
// newest footage is inside the range.
const toInput = (ms) => { const d = new Date(ms - new Date().getTimezoneOffset() * 60000); return d.toISOString().slice(0, 19); };
const fromInput = (v) => new Date(v).getTime();
const field = (label, input, hint) => h('div', {}, h('label', { for: input.id, text: label }), input, hint ? h('div', { class: 'hint', text: hint }) : null);

function grantForm(cams, reload) {
  const out = h('div', { id: 'grant-out', role: 'status' });
  const who = h('div', { id: 'grantee-info' });
  let grantee = null;
  const email = h('input', { id: 'g-email', type: 'email', required: true, placeholder: 'support@vendor.example' });
  const look = h('button', { type: 'button', class: 'secondary', id: 'g-lookup', text: 'Look up', onclick: async () => {
    grantee = null;
    try {
      const g = await api('GET', `/api/grantee?email=${encodeURIComponent(email.value.trim())}`);
      const pk = unb64(g.public_key);
      const fp = fingerprint(pk);   // computed here from the key, compared by a person
      if (fp !== g.fingerprint) throw new Error('The key does not match its fingerprint.');
      grantee = { ...g, pk };
      who.replaceChildren(h('p', {}, `${g.email}: key fingerprint `, h('span', { class: 'mono', id: 'g-fp', text: fp })),
        h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'g-compared', required: true }),
          ' I compared this fingerprint with the support engineer (by phone or in person).'));
    } catch (e) { who.replaceChildren(h('p', { class: 'error', text: e.status === 404 ? 'No support account with that email.' : e.message })); }
  } });
  const now = Date.now();
  const from = h('input', { id: 'g-from', type: 'datetime-local', step: 1, value: toInput(now - 24 * HOUR * 1000) });
  const to = h('input', { id: 'g-to', type: 'datetime-local', step: 1, value: toInput(now + 60000) });
  const live = h('input', { type: 'checkbox', id: 'g-live' });
  const dur = h('select', { id: 'g-dur' }, [[4, '4 hours'], [12, '12 hours'], [24, '1 day'], [72, '3 days'], [168, '7 days']]
    .map(([v, t]) => h('option', { value: v, text: t, selected: v === 24 })));
  const camBoxes = cams.filter((c) => c.has_key).map((c) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'g-cam', value: c.id }), ` ${c.name}`));
  const form = h('form', { class: 'card', novalidate: true, id: 'grant-form' }, h('h2', { text: 'Grant support access' }),
    h('p', { class: 'hint', text: 'The support account sees only the cameras and times you choose, until the grant ends. Every view is in the audit log.' }),
    h('div', { class: 'row' }, field('Support account email', email), h('div', {}, h('label', { text: '\u00a0' }), look)), who,
    h('fieldset', {}, h('legend', { text: 'Cameras' }), camBoxes.length ? camBoxes : h('p', { class: 'hint', text: 'No camera with a key you hold.' })),
    h('div', { class: 'row' }, field('From', from), field('To', to)),
    h('label', { class: 'check' }, live, ' Also live: new footage until the grant ends'),
    field('Access ends after', dur), h('button', { type: 'submit', text: 'Grant access' }), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const chosen = cams.filter((c) => form.querySelectorAll('input[name=g-cam]:checked').length &&
      [...form.querySelectorAll('input[name=g-cam]:checked')].some((b) => Number(b.value) === c.id));
    if (!grantee) return out.replaceChildren(h('p', { class: 'error', text: 'Look up the support account first.' }));
    if (!form.querySelector('#g-compared').checked) return out.replaceChildren(h('p', { class: 'error', text: 'Compare the fingerprint first.' }));
    if (!chosen.length) return out.replaceChildren(h('p', { class: 'error', text: 'Choose at least one camera.' }));
    const expires = Math.floor(Date.now() / 1000) + Number(dur.value) * HOUR;
    const f90 = Math.floor(fromInput(from.value) * 90);
    const t90 = live.checked ? expires * T90K : Math.floor(fromInput(to.value) * 90);
    if (!(f90 < t90)) return out.replaceChildren(h('p', { class: 'error', text: 'The range is empty.' }));
    try {
      const sk = await signKey();
      const stmt = `vigil-grant-v1\norg ${state.me.org.uid}\ngrant ${sodium.to_hex(sodium.randombytes_buf(16))}\n` +
        `grantee ${grantee.id}\ngrantee_pk ${b64(grantee.pk)}\ncameras ${chosen.map(storeName).join(' ')}\n` +
        `from ${f90}\nto ${t90}\nexpires ${expires}\n`;
      const sig = sodium.crypto_sign_detached(sodium.from_string(stmt), sk.privateKey);
      out.replaceChildren(h('p', { text: 'Signing and sending the grant…' }));
      const g = await api('POST', '/api/grants', { statement: stmt, signature: b64(sig) });
      // Archive: re-seal each needed segment key to the grantee.
      let n = 0;
      for (const cam of chosen) {
        const keys = await segmentKeys(cam, f90, Math.min(t90, Date.now() * 90), (d, t) => { out.textContent = `Sealing ${cam.name}: ${d}/${t}`; });
        const sealed = keys.map((k) => ({ segment_id: k.id, sealed_key: b64(sodium.crypto_box_seal(k.ckey, grantee.pk)) }));
        for (const k of keys) k.ckey.fill(0);
        while (sealed.length) { const batch = sealed.splice(0, 300); await api('POST', `/api/grants/${g.id}/keys`, { keys: batch }); n += batch.length; }
      }
      out.replaceChildren(h('p', { text: `Granted: ${n} recorded segment${n === 1 ? '' : 's'}${g.live && live.checked ? ', and new footage until the grant ends (the recorder verified the grant)' : ''}.` }));
      toast('Grant issued');
      reload();
    } catch (e) { out.replaceChildren(h('p', { class: 'error', text: e.code === 'no_owner_key' ? 'The owner has not signed in since grants were enabled.' : e.code === 'bad_signature' ? 'Your signing key is not certified by the owner yet.' : (e.message || 'Failed.') })); }
  });
  return form;
}

function shareForm(cams, reload) {
  const out = h('div', { id: 'share-made', role: 'status' });
  const cam = h('select', { id: 's-cam' }, cams.filter((c) => c.has_key).map((c) => h('option', { value: c.id, text: c.name })));
  const now = Date.now();
  const from = h('input', { id: 's-from', type: 'datetime-local', step: 1, value: toInput(now - 10 * 60000) });
  const to = h('input', { id: 's-to', type: 'datetime-local', step: 1, value: toInput(now + 60000) });
  const exp = h('select', { id: 's-exp' }, [[1, '1 day'], [3, '3 days'], [7, '7 days'], [30, '30 days']].map(([v, t]) => h('option', { value: v, text: t, selected: v === 7 })));
  const pass = h('input', { id: 's-pass', type: 'text', autocomplete: 'off', value: newPassphrase(), minlength: 12 });
  const form = h('form', { class: 'card', novalidate: true, id: 'share-create' }, h('h2', { text: 'Share a clip outside the organization' }),
    h('p', { class: 'hint', text: 'For example with the police. They need the link and the passphrase: send them by different means. Each opening is in the audit log.' }),
    h('div', { class: 'row' }, field('Camera', cam), field('Link works for', exp)),
    h('div', { class: 'row' }, field('From', from), field('To', to)),
    field('Passphrase', pass, 'At least 12 characters. The server never sees it.'),
    h('button', { type: 'submit', text: 'Create link' }), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const c = cams.find((x) => x.id === Number(cam.value));
    const f90 = Math.floor(fromInput(from.value) * 90), t90 = Math.floor(fromInput(to.value) * 90);
    if (!c) return;
    if (pass.value.length < 12) return out.replaceChildren(h('p', { class: 'error', text: 'The passphrase needs at least 12 characters.' }));
    if (!(f90 < t90)) return out.replaceChildren(h('p', { class: 'error', text: 'The range is empty.' }));
    try {
      out.replaceChildren(h('p', { text: 'Wrapping the clip\u2019s keys…' }));
      const keys = await segmentKeys(c, f90, t90, () => {});
      if (!keys.length) throw new Error('Nothing was recorded in that range.');
      const r = await createShare(c.id, f90, t90, Math.floor(Date.now() / 1000) + Number(exp.value) * 86400, pass.value, keys);
      for (const k of keys) k.ckey.fill(0);
      out.replaceChildren(h('p', { text: 'Send this link, and the passphrase separately:' }),
        h('div', { class: 'secret', id: 'share-link', text: r.link }),
        h('button', { type: 'button', class: 'secondary', text: 'Copy link', onclick: () => navigator.clipboard.writeText(r.link).then(() => toast('Copied')) }));
      reload();
    } catch (e) { out.replaceChildren(h('p', { class: 'error', text: e.message || 'Failed.' })); }
  });
  return form;
}

// Owner: certify admins' signing keys after comparing fingerprints.
function certList(keys, reload) {
  const pending = keys.filter((k) => k.role === 'admin' && !k.certified);
  if (!pending.length) return null;
  return h('div', { class: 'card' }, h('h2', { text: 'Admins waiting for your certification' }),
    h('p', { class: 'hint', text: 'An admin can grant support access once you certify their signing key. Compare the fingerprint with them first.' }),
    h('table', {}, h('tbody', {}, pending.map((k) => h('tr', {}, h('td', { text: k.email }), h('td', { class: 'mono', text: fingerprint(unb64(k.sign_pk)) }),
      h('td', {}, h('button', { type: 'button', text: 'Certify', 'aria-label': `Certify ${k.email}`, onclick: async () => {
        const me = await signKey();
        const text = `vigil-signkey-v1\norg ${state.me.org.uid}\nmember ${k.member_id}\nsign_pk ${k.sign_pk}\n`;
        await api('POST', `/api/members/${k.member_id}/signcert`, { cert: b64(sodium.crypto_sign_detached(sodium.from_string(text), me.privateKey)) });
        toast('Certified'); reload();
      } })))))));
}

function grantsTable(list, refresh) {
  if (!list.length) return h('p', { class: 'muted', text: 'No grants yet.' });
  return h('table', { id: 'grants-table' }, h('thead', {}, h('tr', {}, ...['Support account', 'Cameras', 'Footage from – to', 'Ends', 'State', 'Keys', ''].map((t) => h('th', { text: t })))),
    h('tbody', {}, list.map((g) => h('tr', {}, h('td', { text: g.grantee_email }), h('td', { text: g.cameras.map((c) => c.name).join(', ') }),
      h('td', { text: `${fmt(g.from90k)} – ${fmt(g.to90k)}` }), h('td', { text: new Date(g.expires * 1000).toLocaleString() }),
      h('td', { text: g.state }), h('td', { text: `${g.archive_keys} + ${g.live_keys} live` }),
      h('td', {}, g.state === 'active' ? h('button', { class: 'danger', type: 'button', text: 'Revoke', 'aria-label': `Revoke grant ${g.id}`, onclick: async () => {
        if (confirm(`Revoke ${g.grantee_email}'s access? Their keys for it are deleted.`)) { await api('DELETE', `/api/grants/${g.id}`); toast('Revoked'); refresh(); }
      } }) : null)))));
}

function sharesTable(shares, refresh) {
  if (!shares.length) return h('p', { class: 'muted', text: 'No shared clips yet.' });
  return h('table', { id: 'shares-table' }, h('thead', {}, h('tr', {}, ...['Camera', 'Clip', 'Ends', 'State', 'Opened', ''].map((t) => h('th', { text: t })))),
    h('tbody', {}, shares.map((s) => h('tr', {}, h('td', { text: s.camera }), h('td', { text: `${fmt(s.from90k)} – ${fmt(s.to90k)}` }),
      h('td', { text: new Date(s.expires * 1000).toLocaleString() }), h('td', { text: s.state }), h('td', { text: String(s.opened) }),
      h('td', {}, s.state === 'active' ? h('button', { class: 'danger', type: 'button', text: 'Revoke', 'aria-label': `Revoke shared clip ${s.id}`, onclick: async () => {
        if (confirm('Revoke this link? It stops working at once.')) { await api('DELETE', `/api/shares/${s.id}`); toast('Revoked'); refresh(); }
      } }) : null)))));
}

export async function grants() {
  const root = h('div', {});
  const reload = async () => { root.replaceWith(await grants()); };
  const [{ cameras: cams }, { grants: list }, { shares }, { sign_keys: skeys }] = await Promise.all([
    api('GET', '/api/cameras'), api('GET', '/api/grants'), api('GET', '/api/shares'), api('GET', '/api/signkeys')]);
  const mine = await signKey().catch(() => null);
  const gbox = h('div', { id: 'grants-list' }), sbox = h('div', { id: 'shares-list' });
  // The lists refresh in place: the forms keep what they just showed (a link).
  const refresh = async () => {
    const [{ grants: g }, { shares: s }] = await Promise.all([api('GET', '/api/grants'), api('GET', '/api/shares')]);
    gbox.replaceChildren(grantsTable(g, refresh));
    sbox.replaceChildren(sharesTable(s, refresh));
  };
  gbox.append(grantsTable(list, refresh));
  sbox.append(sharesTable(shares, refresh));
  root.append(...[h('h1', { text: 'Grants and shared clips' }),
    mine ? h('p', { class: 'hint' }, 'Your signing key fingerprint: ', h('span', { class: 'mono', id: 'sign-fp', text: fingerprint(mine.publicKey) }),
      state.me.role === 'admin' && !mine.cert ? ' (not certified by the owner yet)' : '') : null,
    state.me.role === 'owner' ? certList(skeys, reload) : null,
    h('h2', { text: 'Support grants' }), gbox, grantForm(cams, refresh),
    h('h2', { text: 'Shared clips' }), sbox, shareForm(cams, refresh)].filter(Boolean));
  return root;
}

// ---- the support account's page --------------------------------------------------------

export async function support() {
  const r = await api('GET', '/api/support/grants');
  const root = h('div', {}, h('h1', { text: 'Your grants' }),
    h('p', { class: 'hint', text: 'Footage customers have granted you. Every view is recorded in their audit log.' }));
  if (!r.grants.length) root.append(h('p', { class: 'muted', id: 'no-grants', text: 'No active grants.' }));
  const orgId = r.footage_org_id ? hexBytes(r.footage_org_id) : null;
  let url = null;
  onLeave(() => { if (url) URL.revokeObjectURL(url); });
  for (const g of r.grants) {
    const view = h('div', { class: 'clip' });
    const list = h('ul', { class: 'segments' });
    const cam = h('select', { id: `sg-cam-${g.id}` }, g.cameras.map((c) => h('option', { value: c.id, text: c.name })));
    const fetchBytes = async (id, a, b) => {
      const res = await fetch(`/api/support/grants/${g.id}/data?segment=${id}`, { cache: 'no-store', credentials: 'same-origin', headers: { Range: `bytes=${a}-${b - 1}` } });
      if (res.status !== 206 && res.status !== 200) throw new Error(res.status === 403 ? 'Refused: outside the grant or the grant ended.' : `HTTP ${res.status}`);
      const u8 = new Uint8Array(await res.arrayBuffer());
      return res.status === 200 ? u8.subarray(a, b) : u8;
    };
    const play = async (segs) => {
      const parts = [];
      for (const s of segs) {
        const meta = await api('GET', `/api/support/grants/${g.id}/segment?segment=${s.id}`);
        parts.push({ meta, ckey: sodium.crypto_box_seal_open(unb64(meta.sealed_key), state.keys.publicKey, state.keys.privateKey) });
      }
      const clip = await buildClip(parts, orgId, Math.max(g.from90k, segs[0].start90k), Math.min(g.to90k, segs[segs.length - 1].end90k), fetchBytes);
      for (const p of parts) p.ckey.fill(0);
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(clip.blob);
      view.replaceChildren(h('video', { class: 'clip-video', src: url, controls: true, muted: true, playsinline: true, id: `sg-video-${g.id}` }),
        h('p', {}, h('a', { class: 'btn secondary', href: url, download: `vigil-grant-${g.id}-${segs[0].id}.mp4`, text: 'Download MP4' })));
    };
    const load = h('button', { type: 'button', class: 'secondary', text: 'Show recordings', onclick: async () => {
      try {
        const rec = await api('GET', `/api/support/grants/${g.id}/recordings?camera=${cam.value}`);
        list.replaceChildren(...rec.segments.map((s) => h('li', {}, `${fmt(s.start90k)} – ${fmt(s.end90k)} `,
          h('button', { type: 'button', class: 'link', text: 'Play', onclick: () => play([s]).catch((e) => view.replaceChildren(h('p', { class: 'error', text: e.status === 403 ? 'Refused: the grant ended or does not cover this.' : e.message }))) }))));
        if (!rec.segments.length) list.replaceChildren(h('li', { class: 'muted', text: 'Nothing recorded in the granted range yet.' }));
      } catch (e) { list.replaceChildren(h('li', { class: 'error', text: e.status === 403 ? 'Refused: the grant ended or does not cover this.' : e.message })); }
    } });
    root.append(h('div', { class: 'card' }, h('h2', { text: `${g.org_name}: ${g.cameras.map((c) => c.name).join(', ')}` }),
      h('p', { class: 'hint', text: `Footage ${fmt(g.from90k)} – ${fmt(g.to90k)}; access ends ${new Date(g.expires * 1000).toLocaleString()}.` }),
      h('div', { class: 'row' }, h('div', {}, h('label', { for: cam.id, text: 'Camera' }), cam), h('div', {}, h('label', { text: '\u00a0' }), load)),
      list, view));
  }
  return root;
}
