// SPDX-License-Identifier: Apache-2.0
// Share links (docs/design/grants.md "Share links").
//
// Admin side: the clip's segment content keys are wrapped under a key derived
// from a passphrase the admin chooses; the server gets the wrapped keys and a
// keyed hash of the auth key, never the passphrase:
//   master = Argon2id13(NFKC(passphrase), salt16, opslimit 3, memlimit 64 MiB)
//   wrap   = crypto_kdf_derive_from_key(32, 1, "vigilshr", master)
//   auth   = crypto_kdf_derive_from_key(32, 2, "vigilshr", master)
//   wrapped_key = nonce24 || crypto_secretbox_easy(content key, nonce, wrap)
// The link is ORIGIN/#share=TOKEN: the token stays in the fragment, which the
// browser never sends; this page sends it in a body or a header.
//
// Recipient side: this page asks for the passphrase, proves the auth key,
// unwraps the keys, decrypts in the browser, plays and downloads the MP4.
import sodium from './vendor/libsodium-wrappers.mjs';
import { api } from './api.js';
import { h } from './app.js';
import { b64, unb64, OPSLIMIT, MEMLIMIT, wrapSecretKey, unwrapSecretKey } from './keys.js';
import { hexBytes } from './footage.js';
import { buildClip } from './clip.js';

const CTX = 'vigilshr';

export function shareKeys(passphrase, salt) {
  const master = sodium.crypto_pwhash(32, passphrase.normalize('NFKC'), salt, OPSLIMIT, MEMLIMIT,
                                      sodium.crypto_pwhash_ALG_ARGON2ID13);
  const wrap = sodium.crypto_kdf_derive_from_key(32, 1, CTX, master);
  const auth = sodium.crypto_kdf_derive_from_key(32, 2, CTX, master);
  sodium.memzero(master);
  return { wrap, auth };
}

// A passphrase to read out or send separately: 6 groups of 4 letters/digits
// (~124 bits), easy to type.
export function newPassphrase() {
  const A = 'abcdefghijkmnpqrstuvwxyz23456789';
  const r = sodium.randombytes_buf(24);
  const s = [...r].map((b) => A[b & 31]).join('');
  return s.match(/.{4}/g).join('-');
}

// Creates a share of [from, to) of camera camId. segs: [{ id, ckey }] (opened
// content keys of the segments overlapping the range). Returns the link.
export async function createShare(camId, from, to, expires, passphrase, segs, onProgress = () => {}) {
  const salt = sodium.randombytes_buf(sodium.crypto_pwhash_SALTBYTES);
  const { wrap, auth } = shareKeys(passphrase, salt);
  const keys = segs.map((s) => ({ segment_id: s.id, wrapped_key: b64(wrapSecretKey(s.ckey, wrap)) }));
  sodium.memzero(wrap);
  const first = keys.splice(0, 300);
  const r = await api('POST', '/api/shares', { camera_id: camId, from90k: Math.floor(from), to90k: Math.ceil(to), expires,
    salt: b64(salt), auth_key: b64(auth), keys: first });
  sodium.memzero(auth);
  let done = first.length;
  while (keys.length) {
    const batch = keys.splice(0, 300);
    await api('POST', `/api/shares/${r.id}/keys`, { keys: batch });
    done += batch.length;
    onProgress(done, segs.length);
  }
  return { id: r.id, link: `${location.origin}/#share=${r.token}` };
}

const fmt = (t90k) => new Date(t90k / 90).toLocaleString();

function refusal(e) {
  if (e.status === 429) return `Too many wrong passphrases. Try again in ${Math.ceil((e.retryAfter || 60) / 60)} min.`;
  if (e.code === 'wrong_passphrase') return 'That passphrase is not right.';
  if (e.code === 'share_ended') return 'This link has expired or was revoked.';
  if (e.status === 404) return 'This link is not valid.';
  return e.message || 'Failed.';
}

// The recipient's page for #share=TOKEN.
export async function sharePage(token) {
  const out = h('div', { id: 'share-out' });
  const status = h('p', { id: 'share-status', role: 'status', class: 'hint' });
  const form = h('form', { class: 'card', novalidate: true, id: 'share-form' },
    h('h1', { text: 'Shared recording' }),
    h('p', { text: 'Someone shared a recording with you. Enter the passphrase they gave you; the video is decrypted in this browser.' }),
    h('div', {}, h('label', { for: 'share-pass', text: 'Passphrase' }),
      h('input', { id: 'share-pass', name: 'pass', type: 'password', autocomplete: 'off', required: true, autofocus: true })),
    h('button', { type: 'submit', id: 'share-open', text: 'Open' }), status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = form.querySelector('button');
    btn.disabled = true;
    status.className = 'hint';
    status.textContent = 'Checking the passphrase…';
    try {
      const p = await api('POST', '/api/share/params', { token });
      const { wrap, auth } = shareKeys(form.pass.value, unb64(p.salt));
      const clip = await api('POST', '/api/share/open', { token, auth_key: b64(auth) });
      const orgId = hexBytes(clip.footage_org_id);
      const parts = clip.segments.map((m) => ({ meta: m, ckey: unwrapSecretKey(unb64(m.wrapped_key), wrap) }));
      sodium.memzero(wrap);
      const authB64 = b64(auth);
      const fetchBytes = async (id, a, b) => {
        const r = await fetch(`/api/share/data?segment=${id}`, { cache: 'no-store', credentials: 'omit',
          headers: { 'X-Vigil-Share': token, 'X-Vigil-Share-Key': authB64, Range: `bytes=${a}-${b - 1}` } });
        if (r.status !== 206 && r.status !== 200) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
        const u8 = new Uint8Array(await r.arrayBuffer());
        return r.status === 200 ? u8.subarray(a, b) : u8;
      };
      status.textContent = 'Decrypting…';
      const res = await buildClip(parts, orgId, clip.from90k, clip.to90k, fetchBytes,
                                  (d, n) => { status.textContent = `Decrypting… ${Math.round(100 * d / n)}%`; });
      for (const x of parts) x.ckey.fill(0);
      const url = URL.createObjectURL(res.blob);
      const name = `vigil-${(clip.camera || 'clip').replace(/[^\w.-]+/g, '_')}-${new Date(res.start90k / 90).toISOString().replace(/[:.]/g, '-')}.mp4`;
      status.textContent = '';
      form.hidden = true;
      out.replaceChildren(h('div', { class: 'card' },
        h('h1', { text: clip.camera ? `Recording from ${clip.camera}` : 'Shared recording' }),
        h('p', { class: 'hint', text: `${fmt(res.start90k)} – ${fmt(res.end90k)}. This link works until ${new Date(clip.expires * 1000).toLocaleString()}.` }),
        h('video', { id: 'share-video', class: 'clip-video', src: url, controls: true, muted: true, playsinline: true }),
        h('p', {}, h('a', { id: 'share-download', class: 'btn', href: url, download: name, text: 'Download MP4' }))));
    } catch (e) {
      status.className = 'error';
      status.textContent = refusal(e);
      btn.disabled = false;
    }
  });
  return h('div', {}, form, out);
}
