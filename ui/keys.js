// SPDX-License-Identifier: Apache-2.0
// Member keys, exactly as docs/design/auth.md specifies:
//   master = Argon2id13(NFKC(password), salt16, opslimit 3, memlimit 64 MiB) -> 32 bytes
//   kek    = crypto_kdf_derive_from_key(32, 1, "vigilmbr", master)  (never leaves the browser)
//   auth   = crypto_kdf_derive_from_key(32, 2, "vigilmbr", master)  (sent at login)
//   member key pair = crypto_box_keypair() (X25519)
//   wrapped_sk = nonce24 || crypto_secretbox_easy(sk, nonce, kek)
//   fingerprint(pk) = BLAKE2b-128(pk), hex in groups of 4
import sodium from './vendor/libsodium-wrappers.mjs';

export const OPSLIMIT = 3;
export const MEMLIMIT = 64 * 1024 * 1024;
const CTX = 'vigilmbr';

export async function ready() { await sodium.ready; return sodium; }

export const b64 = (u8) => sodium.to_base64(u8, sodium.base64_variants.URLSAFE_NO_PADDING);
export const unb64 = (s) => sodium.from_base64(s, sodium.base64_variants.URLSAFE_NO_PADDING);

export function deriveKeys(password, salt) {
  const master = sodium.crypto_pwhash(32, password.normalize('NFKC'), salt, OPSLIMIT, MEMLIMIT,
                                      sodium.crypto_pwhash_ALG_ARGON2ID13);
  const kek = sodium.crypto_kdf_derive_from_key(32, 1, CTX, master);
  const auth = sodium.crypto_kdf_derive_from_key(32, 2, CTX, master);
  sodium.memzero(master);
  return { kek, auth };
}

export function newSalt() { return sodium.randombytes_buf(sodium.crypto_pwhash_SALTBYTES); }

export function wrapSecretKey(sk, kek) {
  const nonce = sodium.randombytes_buf(sodium.crypto_secretbox_NONCEBYTES);
  const ct = sodium.crypto_secretbox_easy(sk, nonce, kek);
  const out = new Uint8Array(nonce.length + ct.length);
  out.set(nonce); out.set(ct, nonce.length);
  return out;
}

export function unwrapSecretKey(wrapped, kek) {
  const n = sodium.crypto_secretbox_NONCEBYTES;
  return sodium.crypto_secretbox_open_easy(wrapped.subarray(n), wrapped.subarray(0, n), kek);
}

export function fingerprint(pk) {
  const h = sodium.to_hex(sodium.crypto_generichash(16, pk));
  return h.match(/.{4}/g).join(' ');
}

// Everything a new member sends: fresh salt, keys, wrapped X25519 private key.
export function newMemberKeys(password) {
  const salt = newSalt();
  const { kek, auth } = deriveKeys(password, salt);
  const kp = sodium.crypto_box_keypair();
  const wrapped = wrapSecretKey(kp.privateKey, kek);
  return {
    body: { salt: b64(salt), auth_key: b64(auth), public_key: b64(kp.publicKey), wrapped_sk: b64(wrapped) },
    session: { kek, publicKey: kp.publicKey, privateKey: kp.privateKey },
  };
}

export function randomBytes(n) { return sodium.randombytes_buf(n); }
export function wipe(u8) { if (u8) sodium.memzero(u8); }

// The organization's recovery key pair (X25519). The secret half is shown to
// the owner once at setup and never sent; camera keys will be wrapped to the
// public half so footage survives losing every member's password.
export function newRecoveryKey() {
  const kp = sodium.crypto_box_keypair();
  return { publicKey: kp.publicKey, text: 'vigil-recovery-v1 ' + b64(kp.privateKey), privateKey: kp.privateKey };
}
