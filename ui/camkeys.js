// SPDX-License-Identifier: Apache-2.0
// Camera footage keys in the browser (docs/design/live.md "Camera footage keys").
// An admin's browser makes a camera's X25519 key pair, seals the secret half
// (crypto_box_seal) to every entitled member's public key and to the
// organization's recovery public key, and uploads only those sealed copies.
// A viewer gets a camera when an admin's browser seals the key to them.
// At view time the member opens its sealed copy with the member key pair that
// was unwrapped at sign-in. Opened camera keys live in this module's memory
// only (never storage) and are wiped at sign-out.
import sodium from './vendor/libsodium-wrappers.mjs';
import { api } from './api.js';
import { state } from './app.js';
import { fingerprint } from './keys.js';

const open = new Map();      // camera id -> Promise<{ publicKey, privateKey, fingerprint }>

// Binary values: the API uses base64url without padding (docs/api.md); accept
// standard base64 too, so either side of the contract decodes.
export function unb64any(s) {
  if (typeof s !== 'string') throw new Error('missing key bytes');
  const url = s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return sodium.from_base64(url, sodium.base64_variants.URLSAFE_NO_PADDING);
}
const b64 = (u8) => sodium.to_base64(u8, sodium.base64_variants.URLSAFE_NO_PADDING);

export class KeyError extends Error {
  constructor(code, msg) { super(msg); this.code = code; }
}

function sealTo(sk, pk) {
  if (!(pk instanceof Uint8Array) || pk.length !== 32) throw new KeyError('bad_pk', 'member public key must be 32 bytes');
  return b64(sodium.crypto_box_seal(sk, pk));
}

// The camera's key ring this member holds, opened (cached per tab): the
// current period's pair at the top level ({ publicKey, privateKey,
// fingerprint }) and every period still held in `periods` (docs/design/keys.md
// "Rotation and crypto-shredding"); keyFor(ring, pk) picks the one a segment
// was sealed to, and ring.refresh() fetches again after a rotation.
// Throws KeyError 'no_key' (camera has none yet), 'not_shared' (not wrapped to
// this member), 'bad_key' (does not open or does not match the public key).
export function cameraKeys(id) {
  if (!open.has(id)) {
    const p = fetchKeys(id);
    open.set(id, p);
    p.catch(() => { if (open.get(id) === p) open.delete(id); });
  }
  return open.get(id);
}

// Opens one period's sealed secret and checks it against its public key: the
// server hands us both halves, so a swapped public key cannot make us trust
// footage sealed to someone else's key.
function openPeriod(pkText, sealedText) {
  const publicKey = unb64any(pkText);
  let privateKey;
  try { privateKey = sodium.crypto_box_seal_open(unb64any(sealedText), state.keys.publicKey, state.keys.privateKey); }
  catch { throw new KeyError('bad_key', 'The camera key sealed to you does not open with your key.'); }
  if (sodium.compare(sodium.crypto_scalarmult_base(privateKey), publicKey) !== 0) {
    sodium.memzero(privateKey);
    throw new KeyError('bad_key', 'The camera\u2019s public key does not match its secret key.');
  }
  return { publicKey, privateKey, fingerprint: fingerprint(publicKey) };
}

async function fetchKeys(id) {
  let r;
  try { r = await api('GET', `/api/cameras/${id}/keys`); }
  catch (e) {
    if (e.status === 404) throw new KeyError('no_key', 'This camera has no footage key yet.');
    if (e.status === 403) throw new KeyError('not_shared', 'This camera\u2019s key has not been shared with you.');
    throw e;
  }
  if (!r.current || !r.periods.some((p) => p.current)) throw new KeyError('no_key', 'This camera has no footage key yet.');
  const periods = [];
  let current = null;
  for (const p of r.periods) {
    let k;
    try { k = openPeriod(p.footage_pk, p.sealed_sk); }
    catch (e) { if (p.current) { periods.forEach((x) => sodium.memzero(x.privateKey)); throw e; } continue; }
    Object.assign(k, { created: p.created, retired: p.retired, current: !!p.current });
    periods.push(k);
    if (p.current) current = k;
  }
  const ring = { ...current, periods };
  ring.refresh = () => refreshCameraKeys(id, ring);
  return ring;
}

// Fetches a camera's keys again (a rotation happened since), once per stale ring.
export function refreshCameraKeys(id, stale) {
  const p = open.get(id);
  if (p && stale) {
    // Someone already refreshed: answer with the newer ring.
    return p.then((r) => (r === stale ? (open.delete(id), cameraKeys(id)) : r));
  }
  open.delete(id);
  return cameraKeys(id);
}

// The period of `ring` whose public key is pk (a segment's sealing key), or null.
export function keyFor(ring, pk) {
  const list = ring.periods && ring.periods.length ? ring.periods : [ring];
  return list.find((k) => sodium.compare(k.publicKey, pk) === 0) || null;
}

// Like cameraKeys(), but answers from the camera row when it already says
// there is no key, or none for us (no request, so no `camera.denied` audit).
export function cameraKeysFor(cam) {
  if ('footage_pk' in cam && !cam.footage_pk) return Promise.reject(new KeyError('no_key', 'This camera has no footage key yet. An admin makes one on the Cameras page.'));
  if (cam.has_key === false) return Promise.reject(new KeyError('not_shared', 'This camera\u2019s key has not been shared with you. Ask an admin.'));
  return cameraKeys(cam.id);
}

export function forgetCameraKeys() {
  for (const p of open.values()) p.then((k) => (k.periods || [k]).forEach((x) => sodium.memzero(x.privateKey)), () => {});
  open.clear();
}

// Public keys of the members to seal to: each member's key is checked against
// the fingerprint next to it, and our own key always comes from memory.
async function memberKeys() {
  const { members } = await api('GET', '/api/members');
  return members.map((m) => {
    if (m.id === state.me.id) return { ...m, pk: state.keys.publicKey };
    if (!m.public_key) return { ...m, pk: null };
    const pk = unb64any(m.public_key);
    if (m.fingerprint && fingerprint(pk) !== m.fingerprint) throw new KeyError('bad_pk', `Key of ${m.email} does not match its fingerprint.`);
    return { ...m, pk };
  });
}

function recoveryKey() {
  const org = state.me.org || {};
  const s = org.recovery_public_key || org.recovery_pk || state.me.recovery_public_key;
  if (!s) throw new KeyError('no_recovery', 'The server did not send the organization\u2019s recovery public key.');
  const pk = unb64any(s);
  if (org.recovery_fingerprint && fingerprint(pk) !== org.recovery_fingerprint)
    throw new KeyError('bad_pk', 'The recovery key does not match its fingerprint.');
  return pk;
}

// Makes and uploads a camera's key pair, sealed to every owner and admin (who
// see every camera), to `alsoMembers` (viewer ids) and to the recovery key.
// Over an existing key this is a rotation: the server keeps the old period
// (reason: 'manual' or 'due', for the audit log). Returns the new fingerprint.
export async function createCameraKey(cameraId, alsoMembers = [], reason = undefined) {
  const members = await memberKeys();
  const recovery = recoveryKey();
  const kp = sodium.crypto_box_keypair();
  try {
    const entitled = members.filter((m) => m.role === 'owner' || m.role === 'admin' || alsoMembers.includes(m.id));
    const wrapped = entitled.filter((m) => m.pk).map((m) => ({ member_id: m.id, sealed_sk: sealTo(kp.privateKey, m.pk) }));
    await api('PUT', `/api/cameras/${cameraId}/key`, {
      footage_pk: b64(kp.publicKey), wrapped, recovery_sealed_sk: sealTo(kp.privateKey, recovery), ...(reason ? { reason } : {}),
    });
    open.delete(cameraId);
    return fingerprint(kp.publicKey);
  } finally { sodium.memzero(kp.privateKey); }
}

// Gives a member a camera: seal our opened camera key to their public key.
export async function shareCamera(cameraId, member) {
  const keys = await cameraKeys(cameraId);
  let pk = member.pk;
  if (!pk) {
    if (!member.public_key) throw new KeyError('bad_pk', `The server did not send ${member.email}\u2019s public key.`);
    pk = unb64any(member.public_key);
    if (member.fingerprint && fingerprint(pk) !== member.fingerprint) throw new KeyError('bad_pk', `Key of ${member.email} does not match its fingerprint.`);
  }
  await api('POST', `/api/cameras/${cameraId}/key/wrap`, { member_id: member.id, sealed_sk: sealTo(keys.privateKey, pk) });
  // The earlier periods we still hold too, so the member sees the archive.
  for (const k of keys.periods || []) {
    if (k.current) continue;
    try {
      await api('POST', `/api/cameras/${cameraId}/key/wrap`, { member_id: member.id, footage_pk: b64(k.publicKey), sealed_sk: sealTo(k.privateKey, pk) });
    } catch (e) { if (e.status !== 404) throw e; }   // shredded meanwhile
  }
}

export function keyFingerprint(camera) {
  // computed here from the public key, not taken from the server's string
  return camera.footage_pk ? fingerprint(unb64any(camera.footage_pk)) : null;
}
