// SPDX-License-Identifier: Apache-2.0
// The browser's segment signature check (ui/segsig.js) against a segment the C
// recorder wrote and signed (tests/unit/test_segvec.c writes it as JSON to the
// file named by VG_SEGVEC; tests/web/test_segsig.py runs both). A good segment
// verifies with the chain values C computed; every kind of tampering a server
// could do to stored footage is flagged.
// Run: VG_SEGVEC=/tmp/segvec.json node --test tests/web/segsig.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sodium from '../../ui/vendor/libsodium-wrappers.mjs';
import { openEnvelope, openContentKey, parseHeader } from '../../ui/footage.js';
import {
  verifySegmentFile, ChainVerifier, parseSegmentHeader, pinRecorder, trustRecorder, fingerprint, signedMessage,
  sha256, SEGHDR_LEN, TRAILER_LEN, VERIFIED, UNSIGNED, TAMPERED, WRONG_KEY,
} from '../../ui/segsig.js';

await sodium.ready;
const vec = JSON.parse(readFileSync(process.env.VG_SEGVEC, 'utf8'));
const b64 = (s) => sodium.from_base64(s, sodium.base64_variants.ORIGINAL);
const file = b64(vec.segment);
const recPk = b64(vec.recorder_pk);
const otherPk = b64(vec.other_pk);

// Envelope byte ranges of the vector, walked from the header.
function envelopes(f) {
  const out = [];
  for (let off = SEGHDR_LEN; off < f.length - TRAILER_LEN;) {
    const h = parseHeader(f.subarray(off));
    out.push([off, off + h.length]);
    off += h.length;
  }
  return out;
}
const envs = envelopes(file);
const body = (f) => f.subarray(0, f.length - TRAILER_LEN);
const trailer = (f) => f.subarray(f.length - TRAILER_LEN);
const join = (...parts) => { const n = parts.reduce((a, p) => a + p.length, 0); const o = new Uint8Array(n); let k = 0; for (const p of parts) { o.set(p, k); k += p.length; } return o; };
const hdrOf = (f) => f.subarray(0, SEGHDR_LEN);
const envBytes = (f, i) => f.subarray(envs[i][0], envs[i][1]);

test('the C recorder\u2019s segment verifies, with the chain values C computed', async () => {
  const r = await verifySegmentFile(file, recPk);
  assert.equal(r.status, VERIFIED, r.reason);
  assert.equal(r.n, vec.n);
  assert.equal(sodium.to_hex(r.chain0), vec.chain0);
  assert.equal(sodium.to_hex(r.head), vec.chain_n);
  assert.equal(envs.length, vec.n);
  const h = parseSegmentHeader(file);
  assert.equal(sodium.to_hex(h.org), vec.org);
  assert.deepEqual(h.recorderPk, recPk);
  // and the vector is real footage for the camera key: its init opens
  const ck = openContentKey(h.sealedKey, { publicKey: b64(vec.footage_pk), privateKey: b64(vec.footage_sk) });
  const { plain } = openEnvelope(envBytes(file, 0), ck, h.org);
  assert.equal(new TextDecoder().decode(plain.subarray(4, 8)), 'ftyp');
});

test('signed message layout is "vigil-segment-v2" || chain_0 || n || chain_n', async () => {
  const r = await verifySegmentFile(file, recPk);
  const m = signedMessage(r.chain0, r.n, r.head);
  assert.equal(m.length, 84);
  assert.equal(new TextDecoder().decode(m.subarray(0, 16)), 'vigil-segment-v2');
  assert.equal(new DataView(m.buffer).getUint32(48), vec.n);
  assert.ok(sodium.crypto_sign_verify_detached(trailer(file).subarray(40), m, recPk));
});

test('a segment still being written is unsigned, not verified', async () => {
  const r = await verifySegmentFile(body(file), recPk, { closed: false });
  assert.equal(r.status, UNSIGNED);
});

test('a flipped ciphertext byte breaks the chain', async () => {
  const f = file.slice(); f[envs[3][0] + 100] ^= 1;
  const r = await verifySegmentFile(f, recPk);
  assert.equal(r.status, TAMPERED); assert.match(r.reason, /chain/);
});

test('an envelope removed from the middle is flagged', async () => {
  const f = join(file.subarray(0, envs[2][0]), file.subarray(envs[3][0]));
  const r = await verifySegmentFile(f, recPk);
  assert.equal(r.status, TAMPERED); assert.match(r.reason, /seq 3 where 2 belongs/);
});

test('reordered envelopes are flagged', async () => {
  const f = join(hdrOf(file), envBytes(file, 0), envBytes(file, 2), envBytes(file, 1), file.subarray(envs[3][0]));
  const r = await verifySegmentFile(f, recPk);
  assert.equal(r.status, TAMPERED);
});

test('the last envelope dropped (with the trailer kept) is flagged', async () => {
  const f = join(file.subarray(0, envs[envs.length - 1][0]), trailer(file));
  const r = await verifySegmentFile(f, recPk);
  assert.equal(r.status, TAMPERED); assert.match(r.reason, /covers 7 fragments, the segment has 6/);
});

test('a forged trailer is flagged: bad signature, or a chain the recorder did not sign', async () => {
  const f = file.slice(); f[f.length - 1] ^= 0x80;                    // signature byte
  assert.equal((await verifySegmentFile(f, recPk)).status, TAMPERED);
  // A server recomputes the chain over its own edit and writes a new trailer:
  // without the recorder's secret key the signature cannot follow.
  const g = file.slice(); g[envs[4][0] + 90] ^= 4;
  const v = await ChainVerifier.start(hdrOf(g)); await v.push(g.subarray(SEGHDR_LEN, g.length - TRAILER_LEN));
  g.set(v.head, g.length - TRAILER_LEN + 8);
  const r = await verifySegmentFile(g, recPk);
  assert.equal(r.status, TAMPERED); assert.equal(r.reason, 'bad signature');
});

test('a segment re-signed by another key is not verified, even if that key is in its header', async () => {
  const kp = sodium.crypto_sign_keypair();
  const f = file.slice(); f.set(kp.publicKey, 64);                     // header names the forger's key
  const v = await ChainVerifier.start(hdrOf(f)); await v.push(f.subarray(SEGHDR_LEN, f.length - TRAILER_LEN));
  f.set(v.head, f.length - TRAILER_LEN + 8);
  f.set(sodium.crypto_sign_detached(signedMessage(v.chains[0], v.n, v.head), kp.privateKey), f.length - 64);
  const r = await verifySegmentFile(f, recPk);
  assert.equal(r.status, WRONG_KEY);
  assert.equal((await verifySegmentFile(f, kp.publicKey)).status, VERIFIED);   // the forger's key would accept it
});

test('a wrong pinned recorder key does not verify', async () => {
  assert.equal((await verifySegmentFile(file, otherPk)).status, WRONG_KEY);
  assert.equal((await verifySegmentFile(file, null)).status, WRONG_KEY);
});

test('bytes pushed in any split give the same chain; reads are checked against it', async () => {
  const v = await ChainVerifier.start(hdrOf(file), parseSegmentHeader(file).segmentId);
  const rest = file.subarray(SEGHDR_LEN, file.length - TRAILER_LEN);
  for (let i = 0; i < rest.length; i += 37) await v.push(rest.subarray(i, Math.min(rest.length, i + 37)));
  assert.equal(v.finish(trailer(file), recPk).status, VERIFIED);
  assert.deepEqual(v.offsets, envs.map((e) => e[0]));
  assert.ok(await v.matches(2, envBytes(file, 2)));
  assert.ok(!(await v.matches(2, envBytes(file, 3))));
  const bad = envBytes(file, 2).slice(); bad[bad.length - 1] ^= 1;
  assert.ok(!(await v.matches(2, bad)));
  await assert.rejects(ChainVerifier.start(hdrOf(file), 999), /tampered/);
});

test('WebCrypto SHA-256 is SHA-256', async () => {
  assert.equal(sodium.to_hex(await sha256(new TextEncoder().encode('abc'))),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('recorder key pinning: first sight, same, change, bad fingerprint', () => {
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  const offer = (pk) => ({ recorder_pk: sodium.to_base64(pk, sodium.base64_variants.URLSAFE_NO_PADDING), fingerprint: fingerprint(pk) });
  let p = pinRecorder(storage, vec.org, offer(recPk));
  assert.equal(p.state, 'first'); assert.deepEqual(p.pk, recPk);
  p = pinRecorder(storage, vec.org, offer(recPk));
  assert.equal(p.state, 'same');
  p = pinRecorder(storage, vec.org, offer(otherPk));
  assert.equal(p.state, 'changed'); assert.deepEqual(p.pk, recPk); assert.deepEqual(p.offered, otherPk);
  assert.notEqual(p.pinnedFp, p.offeredFp);
  assert.equal(pinRecorder(storage, 'ff'.repeat(16), offer(otherPk)).state, 'first');   // per organization
  assert.throws(() => pinRecorder(storage, vec.org, { ...offer(otherPk), fingerprint: fingerprint(recPk) }), /fingerprint/);
  trustRecorder(storage, vec.org, otherPk);
  assert.equal(pinRecorder(storage, vec.org, offer(otherPk)).state, 'same');
});
