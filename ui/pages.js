// SPDX-License-Identifier: Apache-2.0
// Pages of the app. Each returns a DOM node; app.js renders it.
import { api } from './api.js';
import { h, state, go, toast, atLeast, signedIn } from './app.js';
import { b64, unb64, deriveKeys, newMemberKeys, newRecoveryKey, unwrapSecretKey, fingerprint, randomBytes, wipe } from './keys.js';
import { checkPassword } from './password.js';
import { cameraKeys, createCameraKey, shareCamera, keyFingerprint } from './camkeys.js';
import { base32, otpauthUri, grouped } from './totp.js';

const field = (label, attrs, hint) => {
  const id = attrs.id || `f-${attrs.name}`;
  return h('div', {}, h('label', { for: id, text: label }), h('input', { id, ...attrs }), hint ? h('div', { class: 'hint', text: hint }) : null);
};

function busy(form, on, label) {
  const b = form.querySelector('button[type=submit]');
  if (!b) return;
  if (on) { b.dataset.label = b.textContent; b.textContent = label || 'Working…'; b.disabled = true; }
  else { b.textContent = b.dataset.label || b.textContent; b.disabled = false; }
}

function errorText(e) {
  if (e.status === 429) return `Too many attempts. Try again in ${Math.ceil((e.retryAfter || 60) / 60)} min.`;
  const map = { bad_credentials: 'Email, password or code is wrong.', bad_token: 'This link is no longer valid (used or expired).',
                bad_input: 'Please check the fields.', bad_origin: 'Refused: wrong origin.', exists: 'That name is taken.' };
  return map[e.code] || e.message || 'Failed.';
}

// Password + confirmation with live NIST checks. Returns {node, value(), valid()}.
function passwordFields(opts) {
  const pw = h('input', { id: 'f-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true });
  const pw2 = h('input', { id: 'f-password2', name: 'password2', type: 'password', autocomplete: 'new-password', required: true });
  const list = h('ul', { class: 'checks', 'aria-live': 'polite' });
  let result = { ok: false };
  const update = async () => {
    result = await checkPassword(pw.value, { mfa: opts.mfa(), email: opts.email() });
    list.replaceChildren(...result.checks.map((c) => h('li', { class: c.ok ? 'pass' : '', text: c.text })),
      h('li', { class: pw.value && pw.value === pw2.value ? 'pass' : '', text: 'Both entries match' }));
  };
  pw.addEventListener('input', update); pw2.addEventListener('input', update);
  update();
  return {
    node: h('div', {}, h('label', { for: 'f-password', text: 'Password' }), pw,
      h('div', { class: 'hint', text: 'A long passphrase is best. It never leaves this browser: it unlocks your keys here.' }),
      h('label', { for: 'f-password2', text: 'Password again' }), pw2, list),
    value: () => pw.value,
    valid: async () => { await update(); return result.ok && pw.value === pw2.value; },
    update,
  };
}

// TOTP enrolment block: a fresh secret shown as base32 + otpauth URI.
function totpEnrol(email, org) {
  const secret = randomBytes(20);
  const code = h('input', { id: 'f-totp', name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6 });
  return {
    secret,
    node: h('fieldset', { class: 'card' },
      h('legend', { text: 'Authenticator app (TOTP)' }),
      h('p', { class: 'muted', text: 'Add this key to your authenticator app (type it in, or open the link on your phone), then enter the 6-digit code it shows.' }),
      h('div', { class: 'secret', id: 'totp-secret', text: grouped(base32(secret)) }),
      h('p', {}, h('a', { href: otpauthUri(secret, email(), org()), id: 'totp-uri', text: 'otpauth:// link' })),
      h('label', { for: 'f-totp', text: 'Code from the app' }), code),
    code: () => code.value.trim(),
  };
}

export async function setup(token) {
  // What this link creates: a new organization, the owner of one an operator
  // made (its name is fixed), or the platform and its first operator.
  let kind;
  try { kind = await api('GET', `/api/setup/token?token=${encodeURIComponent(token)}`); }
  catch { return h('div', { class: 'card' }, h('h1', { text: 'Setup link not valid' }), h('p', { text: 'It was used, has expired, or the link is incomplete.' })); }
  const forPlatform = kind.kind === 'platform', bound = kind.kind === 'owner';
  const err = h('p', { class: 'error', role: 'alert' });
  let emailInput, orgInput;
  const emailVal = () => (emailInput ? emailInput.value : '');
  const pwf = passwordFields({ mfa: () => true, email: emailVal });
  const totp = totpEnrol(emailVal, () => (orgInput ? orgInput.value : 'vigil'));
  const recovery = newRecoveryKey();
  const saved = h('input', { type: 'checkbox', id: 'f-recovery-saved' });
  const recoveryBox = h('fieldset', { class: 'card' }, h('legend', { text: 'Recovery key' }),
    h('p', { class: 'muted', text: 'If every owner and admin loses their password, this key is the only way back to your footage. It is shown now, once; vigil does not keep it. Print it or store it in a password manager.' }),
    h('div', { class: 'secret', id: 'recovery-key', text: recovery.text }),
    h('p', { class: 'hint' }, 'Fingerprint: ', h('span', { class: 'mono', text: fingerprint(recovery.publicKey) })),
    h('label', { class: 'check' }, saved, ' I have stored the recovery key somewhere safe'));
  const form = h('form', { class: 'card', novalidate: true },
    h('h1', { text: forPlatform ? 'Set up the platform' : bound ? `Set up ${kind.org}` : 'Set up vigil' }),
    h('p', { class: 'muted', text: forPlatform ? 'Create the platform organization and your operator account. This link works once.'
      : bound ? 'Create the owner account of this organization. This link works once.'
      : 'Create your organization and its owner account. This link works once.' }),
    orgInput = h('input', { id: 'f-org', name: 'org', required: true, maxlength: 100, autocomplete: 'organization',
      value: bound ? kind.org : '', readonly: bound }),
    emailInput = h('input', { id: 'f-email', name: 'email', type: 'email', required: true, autocomplete: 'email' }),
    pwf.node, totp.node, forPlatform ? null : recoveryBox,
    h('button', { type: 'submit', text: forPlatform ? 'Create platform' : bound ? 'Create owner account' : 'Create organization' }), err);
  // labels for the two inputs created inline above
  form.insertBefore(h('label', { for: 'f-org', text: forPlatform ? 'Platform name' : 'Organization name' }), orgInput);
  form.insertBefore(h('label', { for: 'f-email', text: 'Your email' }), emailInput);
  emailInput.addEventListener('input', pwf.update);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault(); err.textContent = '';
    if (!orgInput.value.trim() || !emailInput.value.includes('@')) { err.textContent = 'Organization and email are required.'; return; }
    if (!(await pwf.valid())) { err.textContent = 'The password does not meet the rules above.'; return; }
    if (!/^\d{6}$/.test(totp.code())) { err.textContent = 'Enter the 6-digit code from your authenticator app.'; return; }
    if (!forPlatform && !saved.checked) { err.textContent = 'Store the recovery key first, then tick the box.'; return; }
    busy(form, true, 'Deriving keys…');
    await new Promise((r) => setTimeout(r, 30));   // let the label paint before Argon2id blocks
    const mk = newMemberKeys(pwf.value());
    try {
      const body = { ...mk.body, token, org_name: orgInput.value.trim(), email: emailInput.value.trim(),
        totp_secret: b64(totp.secret), totp_code: totp.code() };
      if (!forPlatform) body.recovery_public_key = b64(recovery.publicKey);   // the platform holds no footage
      const me = await api('POST', '/api/setup', body);
      wipe(totp.secret); wipe(recovery.privateKey);
      signedIn(me, mk.session);
      const home = forPlatform ? '#/platform' : '#/cameras';
      history.replaceState(null, '', home);
      toast(forPlatform ? 'Platform created' : 'Organization created'); go(home);
    } catch (e) { err.textContent = errorText(e); busy(form, false); }
  });
  return form;
}

export async function invite(token, fpFromLink) {
  let info;
  try { info = await api('GET', `/api/setup/invite?token=${encodeURIComponent(token)}`); }
  catch { return h('div', { class: 'card' }, h('h1', { text: 'Invitation not valid' }), h('p', { text: 'It was used, has expired, or the link is incomplete.' })); }
  const linkFp = fpFromLink.replace(/[^0-9a-f]/gi, '').toLowerCase();
  const srvFp = info.inviter_fingerprint.replace(/ /g, '');
  const ownFp = fingerprint(unb64(info.inviter_public_key)).replace(/ /g, '');
  if (!linkFp || linkFp !== srvFp || srvFp !== ownFp) {
    return h('div', { class: 'card' }, h('h1', { text: 'Key mismatch' }),
      h('p', { class: 'error', text: 'The inviter\u2019s key fingerprint in your link does not match the key the server presents. Do not continue; ask the inviter for a new link.' }));
  }
  const err = h('p', { class: 'error', role: 'alert' });
  const needTotp = info.role !== 'viewer';
  const useTotp = h('input', { type: 'checkbox', id: 'f-use-totp', checked: needTotp, disabled: needTotp });
  const totp = totpEnrol(() => info.email, () => info.org);
  const pwf = passwordFields({ mfa: () => useTotp.checked, email: () => info.email });
  const toggle = () => { totp.node.hidden = !useTotp.checked; pwf.update(); };
  useTotp.addEventListener('change', toggle);
  const form = h('form', { class: 'card', novalidate: true },
    h('h1', { text: `Join ${info.org}` }),
    h('p', {}, `${info.inviter} invited `, h('strong', { text: info.email }), ` as ${info.role}.`),
    h('p', { class: 'hint' }, 'Inviter key fingerprint (matches your link): ', h('span', { class: 'mono', text: info.inviter_fingerprint })),
    pwf.node,
    h('label', { class: 'check' }, useTotp, needTotp ? ' Authenticator app (required for admins)' : ' Use an authenticator app (recommended; allows 8+ character passwords)'),
    totp.node, h('button', { type: 'submit', text: 'Join' }), err);
  toggle();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault(); err.textContent = '';
    if (!(await pwf.valid())) { err.textContent = 'The password does not meet the rules above.'; return; }
    if (useTotp.checked && !/^\d{6}$/.test(totp.code())) { err.textContent = 'Enter the 6-digit code.'; return; }
    busy(form, true, 'Deriving keys…');
    await new Promise((r) => setTimeout(r, 30));
    const mk = newMemberKeys(pwf.value());
    const body = { ...mk.body, token };
    if (useTotp.checked) { body.totp_secret = b64(totp.secret); body.totp_code = totp.code(); }
    try {
      const me = await api('POST', '/api/setup/invite', body);
      signedIn(me, mk.session); history.replaceState(null, '', '#/cameras'); go('#/cameras');
    } catch (e) { err.textContent = errorText(e); busy(form, false); }
  });
  return form;
}

export async function login(email) {
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h1', { text: email ? 'Unlock' : 'Sign in' }),
    email ? h('p', { class: 'muted', text: 'Your keys live only in this tab. Enter your password to unlock them.' }) : null,
    field('Email', { name: 'email', type: 'email', autocomplete: 'username', required: true, value: email || '' }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    field('Authenticator code', { name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6 },
      'Required for owners and admins, and for anyone who set up an authenticator app.'),
    h('button', { type: 'submit', text: 'Sign in' }), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault(); err.textContent = '';
    const em = form.email.value.trim(), pw = form.password.value, code = form.totp.value.trim();
    if (!em || !pw) { err.textContent = 'Email and password are required.'; return; }
    busy(form, true, 'Deriving keys…');
    try {
      const p = await api('GET', `/api/login/params?email=${encodeURIComponent(em)}`);
      await new Promise((r) => setTimeout(r, 30));
      const { kek, auth } = deriveKeys(pw, unb64(p.salt));
      const body = { email: em, auth_key: b64(auth) };
      if (code) body.totp_code = code;
      wipe(auth);
      const me = await api('POST', '/api/login', body);
      const privateKey = unwrapSecretKey(unb64(me.wrapped_sk), kek);
      signedIn(me, { kek, publicKey: unb64(me.public_key), privateKey });
      if (!location.hash.startsWith('#/') || location.hash === '#/login') location.hash = '#/cameras'; else go(location.hash);
    } catch (e) { err.textContent = errorText(e); busy(form, false); }
  });
  setTimeout(() => (email ? form.password : form.email).focus(), 0);
  return form;
}

// ---- cameras ----------------------------------------------------------------

function cameraForm(sites, cam, onDone) {
  const err = h('p', { class: 'error', role: 'alert' });
  const site = h('select', { id: 'f-site', name: 'site' }, h('option', { value: '', text: '— none —' }),
    ...sites.map((s) => h('option', { value: s.id, text: s.name, selected: cam && cam.site_id === s.id })));
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', { text: cam ? `Edit ${cam.name}` : 'Add a camera' }),
    h('div', { class: 'row' },
      field('Name', { name: 'name', required: true, maxlength: 100, value: cam ? cam.name : '' }),
      h('div', {}, h('label', { for: 'f-site', text: 'Site' }), site)),
    field('RTSP URL', { name: 'url', required: true, placeholder: 'rtsp://192.168.1.20:554/stream1', value: cam ? cam.url : '' },
      'Without user:password — give credentials below.'),
    h('div', { class: 'row' },
      field('RTSP username', { name: 'username', autocomplete: 'off' }),
      field('RTSP password', { name: 'password', type: 'password', autocomplete: 'new-password' },
        cam && cam.has_credentials ? 'Stored; never shown. Leave blank to keep.' : 'Stored on the server for the recorder; never sent to any browser.')),
    h('button', { type: 'submit', text: cam ? 'Save' : 'Add camera' }),
    cam ? h('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: () => onDone() }) : null, err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault(); err.textContent = '';
    const body = { name: form.name.value.trim(), url: form.url.value.trim(), site_id: site.value ? Number(site.value) : null };
    if (form.username.value) body.username = form.username.value;
    if (form.password.value) body.password = form.password.value;
    busy(form, true);
    try {
      if (cam) await api('PATCH', `/api/cameras/${cam.id}`, body);
      else {
        const r = await api('POST', '/api/cameras', body);
        // The new camera's footage key is made here, in this browser (camkeys.js).
        try { const fp = await createCameraKey(r.id); toast(`Camera added · key ${fp.slice(0, 9)}…`); }
        catch (e) { toast(`Camera added, but its key was not made: ${e.message}`); }
      }
      if (cam) toast('Saved');
      onDone();
    } catch (e) { err.textContent = errorText(e); busy(form, false); }
  });
  return form;
}

function statusBadge(c) {
  const st = c.status && typeof c.status === 'object' ? c.status : { state: c.status || c.state };
  if (!st.state) return h('span', { class: 'badge', text: 'unknown' });
  const good = st.state === 'recording' || st.state === 'online' || st.state === 'live';
  const neutral = /^(connecting|starting|waiting)/.test(st.state);
  const bits = [st.state];
  if (good && st.width && st.height) bits.push(`${st.width}×${st.height}`);
  if (good && st.codec) bits.push(st.codec);
  if (good && st.bitrate) bits.push(`${Math.round(st.bitrate / 1000)} kb/s`);
  if (!good && st.since > 0) bits.push(`since ${new Date(st.since * 1000).toLocaleString()}`);
  return h('span', { class: `badge ${good ? 'b-ok' : neutral ? '' : 'b-bad'}`, title: st.detail || '', text: bits.join(' · ') });
}

// The camera's footage key: its fingerprint (to compare by eye), or a button
// for an admin to make one. Filled asynchronously when the list lacks it.
function keyCell(c, reload) {
  const cell = h('span', { class: 'mono keyfp', 'data-camera': c.id });
  const create = () => h('button', { type: 'button', class: 'secondary small', text: 'Create key', 'data-create-key': c.id,
    onclick: async (ev) => {
      ev.target.disabled = true;
      try { const fp = await createCameraKey(c.id); toast(`Footage key made · ${fp}`); reload(); }
      catch (e) { ev.target.disabled = false; toast(errorText(e)); }
    } });
  const share = () => h('button', { type: 'button', class: 'secondary small', text: 'Share…', 'aria-label': `Share ${c.name} with a member`,
    onclick: () => sharePanel(c) });
  const show = (fp) => cell.replaceChildren(h('span', { text: fp, title: 'BLAKE2b-128 of the camera\u2019s public footage key' }),
    ...(atLeast('admin') ? [h('div', {}, share())] : []));
  if ('footage_pk' in c) {
    const fp = keyFingerprint(c);
    if (!fp) cell.replaceChildren(atLeast('admin') ? create() : h('span', { class: 'muted', text: 'none yet' }));
    else if (c.has_key === false) cell.replaceChildren(h('span', { text: fp }), ' ', h('span', { class: 'muted', text: '(not shared with you)' }));
    else show(fp);
    return cell;
  }
  cell.textContent = '…';
  cameraKeys(c.id).then((k) => show(k.fingerprint), (e) => {
    if (e.code === 'no_key') cell.replaceChildren(atLeast('admin') ? create() : h('span', { class: 'muted', text: 'none yet' }));
    else cell.replaceChildren(h('span', { class: 'muted', text: e.code === 'not_shared' ? 'not shared with you' : e.message }));
  });
  return cell;
}

// Admin: seal this camera's key to a member (POST /api/cameras/{id}/key/wrap).
async function sharePanel(c) {
  const panel = document.getElementById('share-panel');
  const { members } = await api('GET', '/api/members');
  const others = members.filter((m) => m.id !== state.me.id);
  const out = h('p', { role: 'status' });
  const sel = h('select', { id: 'f-share-member' }, others.map((m) => h('option', { value: m.id, text: `${m.email} (${m.role}) · ${m.fingerprint}` })));
  const form = h('form', { class: 'card', novalidate: true }, h('h2', { text: `Share ${c.name}` }),
    h('p', { class: 'muted', text: 'Seals this camera\u2019s footage key to the member\u2019s public key, here in your browser. Compare the fingerprint with the one the member sees on their Members page.' }),
    others.length ? [h('label', { for: 'f-share-member', text: 'Member' }), sel, h('button', { type: 'submit', text: 'Give access' })]
      : h('p', { text: 'Invite someone first.' }),
    h('button', { type: 'button', class: 'secondary', text: 'Close', onclick: () => panel.replaceChildren() }), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const m = others.find((x) => String(x.id) === sel.value);
    try { await shareCamera(c.id, m); out.className = 'ok'; out.textContent = `${m.email} can now view ${c.name}.`; }
    catch (e) { out.className = 'error'; out.textContent = errorText(e); }
  });
  panel.replaceChildren(form);
  (form.querySelector('select') || form.querySelector('button')).focus();
}

export async function cameras() {
  const [{ cameras: list }, { sites }] = await Promise.all([api('GET', '/api/cameras'), api('GET', '/api/sites')]);
  const siteName = (id) => (sites.find((s) => s.id === id) || {}).name || '—';
  const root = h('div', {});
  const reload = async () => { root.replaceWith(await cameras()); };
  const rows = list.map((c) => h('tr', {},
    h('td', {}, h('strong', { text: c.name })), h('td', { text: siteName(c.site_id) }),
    h('td', { class: 'mono', text: c.url }),
    h('td', {}, statusBadge(c)),
    h('td', { class: 'keycell' }, keyCell(c, reload)),
    h('td', { class: 'actions' },
      h('a', { href: `#/live/${c.id}`, class: 'btn secondary small', text: 'Live', 'aria-label': `Live view of ${c.name}` }), ' ',
      h('a', { href: `#/playback/${c.id}`, class: 'btn secondary small', text: 'Playback', 'aria-label': `Playback of ${c.name}` }), ' ',
      atLeast('admin') && !c.builtin ? [
        h('button', { class: 'secondary small', type: 'button', text: 'Edit', onclick: () => { root.querySelector('#cam-form').replaceChildren(cameraForm(sites, c, reload)); root.querySelector('#cam-form form input').focus(); } }), ' ',
        h('button', { class: 'danger', type: 'button', text: 'Remove', 'aria-label': `Remove ${c.name}`,
          onclick: async () => { if (confirm(`Remove camera ${c.name}?`)) { await api('DELETE', `/api/cameras/${c.id}`); toast('Removed'); reload(); } } })] : null)));
  root.append(h('h1', { text: 'Cameras' }),
    list.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { text: 'Site' }), h('th', { text: 'URL' }),
      h('th', { text: 'Status' }), h('th', { text: 'Footage key' }), h('th', { text: '' }))), h('tbody', {}, rows))
      : h('p', { class: 'muted', id: 'no-cameras', text: atLeast('admin') ? 'No cameras yet. Add one below.' : 'No cameras have been shared with you yet.' }));
  if (atLeast('admin')) {
    root.append(h('div', { id: 'share-panel' }));
    root.append(h('div', { id: 'cam-form' }, cameraForm(sites, null, reload)));
    const siteForm = h('form', { class: 'card', novalidate: true }, h('h2', { text: 'Add a site' }),
      field('Site name', { name: 'sitename', maxlength: 100 }), h('button', { type: 'submit', class: 'secondary', text: 'Add site' }));
    siteForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try { await api('POST', '/api/sites', { name: siteForm.sitename.value.trim() }); toast('Site added'); reload(); }
      catch (e) { toast(errorText(e)); }
    });
    root.append(siteForm);
  }
  return root;
}

// ---- members ----------------------------------------------------------------

export async function members() {
  const { members: list } = await api('GET', '/api/members');
  const root = h('div', {});
  const reload = async () => { root.replaceWith(await members()); };
  const myFp = fingerprint(state.keys.publicKey);
  root.append(h('h1', { text: 'Members' }),
    h('p', { class: 'hint' }, 'Your key fingerprint: ', h('span', { class: 'mono', id: 'my-fp', text: myFp })),
    h('table', {}, h('thead', {}, h('tr', {}, ...['Email', 'Role', 'Key fingerprint', 'TOTP', ''].map((t) => h('th', { text: t })))),
      h('tbody', {}, list.map((m) => h('tr', {}, h('td', { text: m.email }), h('td', { text: m.role }),
        h('td', { class: 'mono', text: m.fingerprint }), h('td', { text: m.totp ? 'yes' : 'no' }),
        h('td', {}, m.role !== 'owner' && m.id !== state.me.id ? h('button', { class: 'danger', type: 'button', text: 'Remove',
          'aria-label': `Remove ${m.email}`, onclick: async () => {
            if (confirm(`Remove ${m.email}? Their sessions end and their keys are deleted.`)) { await api('DELETE', `/api/members/${m.id}`); toast('Removed'); reload(); }
          } }) : null))))));
  const out = h('div', { id: 'invite-out' });
  const form = h('form', { class: 'card', novalidate: true }, h('h2', { text: 'Invite someone' }),
    h('div', { class: 'row' }, field('Email', { name: 'email', type: 'email', required: true }),
      h('div', {}, h('label', { for: 'f-role', text: 'Role' }), h('select', { id: 'f-role', name: 'role' },
        h('option', { value: 'viewer', text: 'Viewer' }), h('option', { value: 'admin', text: 'Admin' })))),
    h('button', { type: 'submit', text: 'Create invitation link' }), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('POST', '/api/members', { email: form.email.value.trim(), role: form.role.value });
      if (r.inviter_fingerprint !== myFp) throw new Error('The server reports a different key for you; not creating a link.');
      // The link carries our own fingerprint, computed here from our key, so the
      // invitee can tell if the server swapped the inviter's key (ARCHITECTURE §3).
      const link = `${location.origin}/#invite=${r.token}&fp=${myFp.replace(/ /g, '')}`;
      out.replaceChildren(h('p', { text: 'Send this link to the person you invite (valid 7 days, works once):' }),
        h('div', { class: 'secret', id: 'invite-link', text: link }),
        h('button', { type: 'button', class: 'secondary', text: 'Copy', onclick: () => navigator.clipboard.writeText(link).then(() => toast('Copied')) }));
    } catch (e) { out.replaceChildren(h('p', { class: 'error', text: errorText(e) })); }
  });
  root.append(form);
  return root;
}

// ---- audit ------------------------------------------------------------------

export async function audit() {
  const r = await api('GET', '/api/audit');
  const key = `vigil.audit.head.${state.me.org.id}`;
  let warn = null;
  try {
    // The server could truncate the chain's tail; remember the last head we saw
    // and warn if the chain ever goes back (docs/design/auth.md).
    const seen = JSON.parse(localStorage.getItem(key) || 'null');
    const top = r.entries[0];
    if (seen && top && (top.seq < seen.seq || (r.entries.find((e) => e.seq === seen.seq) || { hash: seen.hash }).hash !== seen.hash))
      warn = `The audit chain went back: this browser saw entry ${seen.seq} before.`;
    if (top && (!seen || top.seq >= seen.seq)) localStorage.setItem(key, JSON.stringify({ seq: top.seq, hash: top.hash }));
  } catch { /* storage unavailable */ }
  const fmt = (ms) => new Date(ms).toLocaleString();
  return h('div', {}, h('h1', { text: 'Audit log' }),
    h('p', {}, r.verified ? h('span', { class: 'ok', id: 'audit-ok', text: '✓ Hash chain verified' })
      : h('span', { class: 'error', text: `✗ Chain broken at entry ${r.first_bad_seq}` }),
      ' · head ', h('span', { class: 'mono', text: r.head.slice(0, 16) + '…' })),
    warn ? h('p', { class: 'error', role: 'alert', text: warn }) : null,
    h('table', {}, h('thead', {}, h('tr', {}, ...['#', 'When', 'Who', 'What', 'Details', 'From'].map((t) => h('th', { text: t })))),
      h('tbody', {}, r.entries.map((e) => h('tr', {}, h('td', { text: e.seq }), h('td', { text: fmt(e.ts_ms) }), h('td', { text: e.actor }),
        h('td', {}, h('span', { class: 'badge', text: e.action })), h('td', { class: 'mono', text: JSON.stringify(e.detail) }), h('td', { text: e.addr }))))));
}
