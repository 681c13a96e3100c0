// SPDX-License-Identifier: Apache-2.0
// Security keys and passkeys (WebAuthn, docs/design/webauthn.md): the
// Security page (add, name, list, remove; the owner's second-factor policy)
// and the key step of a login. The server checks every byte; this file only
// carries options to navigator.credentials and the answers back.
import { api } from './api.js';
import { h, state, toast, atLeast } from './app.js';
import { b64, unb64 } from './keys.js';

const u8 = (buf) => new Uint8Array(buf);

export function webauthnErrorText(e) {
  const map = {
    NotAllowedError: 'The security key was not used (cancelled, timed out, or not registered here).',
    InvalidStateError: 'This security key is already registered.',
    SecurityError: 'This address cannot use security keys. Open vigil by its host name (for example https://localhost:PORT).',
    NotSupportedError: 'This browser or key does not support the required algorithms.',
    webauthn_refused: 'The server refused the key\u2019s answer. Try again.',
    unsupported_authenticator: 'This kind of security key is not supported.',
    too_many_keys: 'You have registered the maximum number of keys.',
    last_factor: 'This is your only allowed second factor: add another key first.',
    bad_credentials: 'Sign-in refused. Check your password and use a key registered to this account.',
    bad_name: 'Give the key a name (up to 64 characters).',
  };
  return map[e.name] || map[e.code] || e.message || 'Failed.';
}

function descriptors(list) {
  return (list || []).map((d) => ({ type: 'public-key', id: unb64(d.id) }));
}

// The login's second step: the answer to the server's webauthn_required.
export async function assertKey(pending) {
  const pk = pending.publicKey;
  const cred = await navigator.credentials.get({ publicKey: {
    challenge: unb64(pk.challenge), rpId: pk.rpId, timeout: pk.timeout, userVerification: pk.userVerification,
    allowCredentials: descriptors(pk.allowCredentials) } });
  const r = cred.response;
  return { login_token: pending.login_token, credential_id: b64(u8(cred.rawId)),
    authenticator_data: b64(u8(r.authenticatorData)), client_data_json: b64(u8(r.clientDataJSON)),
    signature: b64(u8(r.signature)) };
}

// A new credential for the creation options at optionsPath (a session's
// registration, or an invitation's: POST /api/setup/invite/webauthn).
export async function createKey(optionsPath, body) {
  const { publicKey: pk } = await api('POST', optionsPath, body);
  const cred = await navigator.credentials.create({ publicKey: {
    ...pk, challenge: unb64(pk.challenge), user: { ...pk.user, id: unb64(pk.user.id) },
    excludeCredentials: descriptors(pk.excludeCredentials) } });
  return { attestation_object: b64(u8(cred.response.attestationObject)),
    client_data_json: b64(u8(cred.response.clientDataJSON)) };
}

export async function registerKey(name) {
  const made = await createKey('/api/webauthn/register/options', {});
  return api('POST', '/api/webauthn/credentials', { name, ...made });
}

const when = (t) => (t ? new Date(t * 1000).toLocaleString() : 'never');

function policyForm(policy, reload) {
  const out = h('p', { role: 'status', id: 'policy-out' });
  const totp = h('input', { type: 'checkbox', id: 'f-allow-totp', checked: policy.allow_totp });
  const uv = h('input', { type: 'checkbox', id: 'f-require-uv', checked: policy.require_uv });
  const form = h('form', { class: 'card', novalidate: true }, h('h2', { text: 'Organization policy' }),
    h('label', { class: 'check' }, totp, ' Allow authenticator apps (TOTP) as a second factor'),
    h('p', { class: 'hint', text: 'When off, owners and admins must sign in with a security key or passkey. Everyone who needs a second factor must have a key first.' }),
    h('label', { class: 'check' }, uv, ' Require user verification (PIN or biometric) on keys'),
    h('button', { type: 'submit', text: 'Save policy' }), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault(); out.className = ''; out.textContent = '';
    try {
      await api('PUT', '/api/security/policy', { allow_totp: totp.checked, require_uv: uv.checked });
      toast('Policy saved'); reload();
    } catch (e) {
      out.className = 'error';
      out.textContent = e.code === 'members_without_key'
        ? `These members have no security key yet: ${e.body.members.join(', ')}. They must add one before TOTP can be turned off.`
        : webauthnErrorText(e);
    }
  });
  return form;
}

export async function security() {
  const info = await api('GET', '/api/webauthn/credentials');
  const root = h('div', {});
  const reload = async () => { root.replaceWith(await security()); };
  const err = h('p', { class: 'error', role: 'alert', id: 'key-error' });
  const rows = info.credentials.map((k) => h('tr', { 'data-key': k.id },
    h('td', {}, h('strong', { class: 'key-name', text: k.name })), h('td', { class: 'mono', text: k.alg }),
    h('td', { text: when(k.created) }), h('td', { text: when(k.last_used) }),
    h('td', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary small', text: 'Rename', 'aria-label': `Rename ${k.name}`,
        onclick: async () => {
          const name = prompt('New name for this key', k.name);
          if (!name) return;
          try { await api('PATCH', `/api/webauthn/credentials/${k.id}`, { name: name.trim() }); reload(); }
          catch (e) { err.textContent = webauthnErrorText(e); }
        } }), ' ',
      h('button', { type: 'button', class: 'danger', text: 'Remove', 'aria-label': `Remove ${k.name}`,
        onclick: async () => {
          if (!confirm(`Remove the key \u201c${k.name}\u201d? It will no longer sign you in.`)) return;
          try { await api('DELETE', `/api/webauthn/credentials/${k.id}`); toast('Key removed'); reload(); }
          catch (e) { err.textContent = webauthnErrorText(e); }
        } }))));
  const name = h('input', { id: 'f-key-name', name: 'keyname', maxlength: 64, value: 'Security key', required: true });
  const add = h('form', { class: 'card', novalidate: true }, h('h2', { text: 'Add a security key or passkey' }),
    h('p', { class: 'muted', text: 'Your browser asks you to touch the key, or to confirm with this device\u2019s passkey. The key signs a fresh challenge; its private half never leaves it.' }),
    h('label', { for: 'f-key-name', text: 'Name' }), name,
    h('button', { type: 'submit', text: 'Add key' }));
  add.addEventListener('submit', async (ev) => {
    ev.preventDefault(); err.textContent = '';
    const b = add.querySelector('button[type=submit]');
    b.disabled = true; b.textContent = 'Touch your key…';
    try { await registerKey(name.value.trim() || 'Security key'); toast('Key added'); reload(); }
    catch (e) { err.textContent = webauthnErrorText(e); b.disabled = false; b.textContent = 'Add key'; }
  });
  const status = info.credentials.length ? `${info.credentials.length} key${info.credentials.length > 1 ? 's' : ''} registered.`
    : info.second_factor_required && !info.allow_totp ? 'You need a security key to sign in: add one now.'
      : 'No security keys yet.';
  root.append(h('h1', { text: 'Security' }),
    h('p', { class: 'muted', id: 'key-status', text: `${status} Authenticator app: ${info.totp ? (info.allow_totp ? 'set up' : 'set up, but not allowed by your organization') : 'not set up'}.` }),
    info.credentials.length ? h('table', { id: 'key-list' }, h('thead', {}, h('tr', {}, ...['Name', 'Type', 'Added', 'Last used', ''].map((t) => h('th', { text: t })))),
      h('tbody', {}, rows)) : null,
    err, add);
  if (atLeast('owner')) root.append(policyForm(await api('GET', '/api/security/policy'), reload));
  else if (state.me) root.append(h('p', { class: 'hint', text: info.allow_totp ? 'Your organization allows authenticator apps as a fallback.' : 'Your organization requires security keys.' }));
  return root;
}
