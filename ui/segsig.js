// SPDX-License-Identifier: Apache-2.0
// Segment signatures, checked in this browser (docs/design/keys.md "Browser
// verification"). The recorder chains every envelope of a segment with SHA-256
// and signs the chain with its Ed25519 key:
//
//   chain_0 = SHA-256(segment header, 216 bytes)
//   chain_i = SHA-256(chain_{i-1} || envelope_i)      i = 1..n (envelope seq i-1)
//   trailer = "VGT" 1 || n (u32 BE) || chain_n || Ed25519 sig (104 bytes)
//   sig     = Ed25519("vigil-segment-v2" || chain_0 || n (u32 BE) || chain_n)
//
// Tags already stop a modified fragment; the chain and signature stop a server
// that drops, reorders or replays fragments, swaps a segment's sealed content
// key, or forges a segment with a content key of its own. The recorder key is
// pinned per organization on first sight (localStorage), never taken on trust
// from the server afterwards. No DOM here: playback.js shows the results.
import sodium from './vendor/libsodium-wrappers.mjs';
import { parseHeader, HDR_LEN } from './footage.js';

export const SEGHDR_LEN = 216;
export const TRAILER_LEN = 104;
const SEG_MAGIC = 'VIGILSEG';
const TRAILER_MAGIC = [0x56, 0x47, 0x54, 0x01];   // "VGT" 1
const CTX = new TextEncoder().encode('vigil-segment-v2');

// Outcomes, in the words the UI uses for them.
export const VERIFIED = 'verified';       // chain and signature hold, with the pinned recorder key
export const UNSIGNED = 'unsigned';       // no trailer yet: the segment is still being recorded
export const TAMPERED = 'tampered';       // chain, count, structure or signature fails
export const WRONG_KEY = 'wrong_key';     // signed by a recorder key other than the pinned one

export class SignatureError extends Error {
  constructor(code, detail) { super(detail ? `${code}: ${detail}` : code); this.code = code; }
}

const dv = (u8) => new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
const eq = (a, b) => a.length === b.length && sodium.compare(a, b) === 0;

export async function sha256(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const all = new Uint8Array(n);
  n = 0;
  for (const p of parts) { all.set(p, n); n += p.length; }
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', all));
}

// The segment header (store_int.h). Throws SignatureError('bad_header').
export function parseSegmentHeader(u8) {
  if (!(u8 instanceof Uint8Array) || u8.length < SEGHDR_LEN) throw new SignatureError('bad_header', 'short segment header');
  if (String.fromCharCode(...u8.subarray(0, 8)) !== SEG_MAGIC) throw new SignatureError('bad_header', 'magic');
  const d = dv(u8);
  if (d.getUint16(8) !== 1 || d.getUint16(10) !== SEGHDR_LEN) throw new SignatureError('bad_header', 'version/length');
  return {
    flags: d.getUint32(12),
    segmentId: Number(d.getBigUint64(16)),
    runId: Number(d.getBigUint64(24)),
    camera: u8.slice(32, 48),
    org: u8.slice(48, 64),
    recorderPk: u8.slice(64, 96),
    start90k: Number(d.getBigInt64(96)),
    sealedKey: u8.slice(104, 184),
    footagePk: u8.slice(184, 216),
  };
}

export function parseTrailer(u8) {
  if (!(u8 instanceof Uint8Array) || u8.length !== TRAILER_LEN) throw new SignatureError('bad_trailer', 'trailer must be 104 bytes');
  for (let i = 0; i < 4; i++) if (u8[i] !== TRAILER_MAGIC[i]) throw new SignatureError('bad_trailer', 'magic');
  return { n: dv(u8).getUint32(4), head: u8.slice(8, 40), sig: u8.slice(40, 104) };
}

export function signedMessage(chain0, n, head) {
  const m = new Uint8Array(CTX.length + 32 + 4 + 32);
  m.set(CTX); m.set(chain0, 16); dv(m).setUint32(48, n); m.set(head, 52);
  return m;
}

export function signatureValid(pk, chain0, n, head, sig) {
  try { return sodium.crypto_sign_verify_detached(sig, signedMessage(chain0, n, head), pk); }
  catch { return false; }
}

// Streams a segment through the chain: start(header), push(bytes) any number
// of times with the bytes that follow the header in file order (split anywhere),
// then finish(trailer | null, pinnedPk). Keeps chain_i for every envelope, so a
// later read of envelope seq s can be checked on its own (matches()).
export class ChainVerifier {
  static async start(header, segmentId) {
    const v = new ChainVerifier();
    v.hdr = parseSegmentHeader(header);
    if (segmentId !== undefined && v.hdr.segmentId !== segmentId) throw new SignatureError(TAMPERED, `header names segment ${v.hdr.segmentId}, not ${segmentId}`);
    v.chains = [await sha256(header.subarray(0, SEGHDR_LEN))];
    v.offsets = [];               // file offset of envelope seq i
    v.pos = SEGHDR_LEN; v.pending = new Uint8Array(0);
    return v;
  }

  get n() { return this.chains.length - 1; }
  get head() { return this.chains[this.chains.length - 1]; }

  async push(bytes) {
    let buf = this.pending.length ? concat(this.pending, bytes) : bytes;
    let off = 0;
    while (buf.length - off >= HDR_LEN) {
      let h;
      try { h = parseHeader(buf.subarray(off)); } catch (e) { throw new SignatureError(TAMPERED, `envelope ${this.n}: ${e.message}`); }
      if (buf.length - off < h.length) break;
      if (h.seq !== this.n) throw new SignatureError(TAMPERED, `envelope seq ${h.seq} where ${this.n} belongs`);
      if (h.segmentId !== this.hdr.segmentId) throw new SignatureError(TAMPERED, `envelope of segment ${h.segmentId}`);
      this.offsets.push(this.pos + off);
      this.chains.push(await sha256(this.head, buf.subarray(off, off + h.length)));
      off += h.length;
    }
    this.pos += off;
    this.pending = buf.slice(off);
  }

  // pinnedPk: the recorder key this browser trusts for the organization.
  finish(trailer, pinnedPk) {
    const res = { status: TAMPERED, n: this.n, head: this.head, chain0: this.chains[0], recorderPk: this.hdr.recorderPk, reason: '' };
    if (this.pending.length) { res.reason = `${this.pending.length} bytes after the last whole envelope`; return res; }
    if (!trailer) { res.status = UNSIGNED; res.reason = 'no signature yet: the segment is still being recorded'; return res; }
    let t;
    try { t = parseTrailer(trailer); } catch (e) { res.reason = e.message; return res; }
    if (t.n !== this.n) { res.reason = `the signature covers ${t.n} fragments, the segment has ${this.n}`; return res; }
    if (!eq(t.head, this.head)) { res.reason = 'the hash chain does not match the signed one (fragments changed, dropped or reordered)'; return res; }
    if (!pinnedPk || !eq(this.hdr.recorderPk, pinnedPk)) {
      const ok = signatureValid(this.hdr.recorderPk, this.chains[0], t.n, t.head, t.sig);
      res.status = ok ? WRONG_KEY : TAMPERED;
      res.reason = ok ? 'signed by a recorder key that is not the one pinned in this browser' : 'bad signature';
      return res;
    }
    if (!signatureValid(pinnedPk, this.chains[0], t.n, t.head, t.sig)) { res.reason = 'bad signature'; return res; }
    res.status = VERIFIED; res.reason = '';
    return res;
  }

  // True if env (whole envelope bytes) is exactly the envelope seq hashed here.
  async matches(seq, env) {
    if (seq < 0 || seq >= this.n) return false;
    return eq(await sha256(this.chains[seq], env), this.chains[seq + 1]);
  }
}

function concat(a, b) { const c = new Uint8Array(a.length + b.length); c.set(a); c.set(b, a.length); return c; }

// A whole segment file in memory (tests, small files): header, envelopes, trailer if closed.
export async function verifySegmentFile(file, pinnedPk, { closed = true, segmentId } = {}) {
  const end = closed ? file.length - TRAILER_LEN : file.length;
  if (end < SEGHDR_LEN) throw new SignatureError(TAMPERED, 'short segment');
  const v = await ChainVerifier.start(file.subarray(0, SEGHDR_LEN), segmentId);
  try { await v.push(file.subarray(SEGHDR_LEN, end)); }
  catch (e) { if (!(e instanceof SignatureError)) throw e; return { verifier: v, status: TAMPERED, n: v.n, reason: e.message }; }
  return { verifier: v, ...v.finish(closed ? file.subarray(end) : null, pinnedPk) };
}

// ---- the pinned recorder key ----------------------------------------------------

export function fingerprint(pk) {
  return sodium.to_hex(sodium.crypto_generichash(16, pk)).match(/.{4}/g).join(' ');
}

const pinKey = (orgHex) => `vigil.recorder_pk.${orgHex}`;
const unb64 = (s) => sodium.from_base64(s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), sodium.base64_variants.URLSAFE_NO_PADDING);
const b64 = (u8) => sodium.to_base64(u8, sodium.base64_variants.URLSAFE_NO_PADDING);

// Pins the recorder key of organization orgHex on first sight. offered is
// GET /api/recorder ({recorder_pk, fingerprint}); its fingerprint string must
// match the key (computed here). Returns { state: 'first'|'same'|'changed',
// pk (the key to verify with: the pinned one), pinnedFp, offered, offeredFp }.
export function pinRecorder(storage, orgHex, offered) {
  let pk;
  try { pk = unb64(offered.recorder_pk); } catch { throw new SignatureError('bad_key', 'recorder key is not base64'); }
  if (pk.length !== 32) throw new SignatureError('bad_key', 'recorder key must be 32 bytes');
  const fp = fingerprint(pk);
  if (offered.fingerprint !== fp) throw new SignatureError('bad_key', 'recorder key does not match its fingerprint');
  const saved = storage.getItem(pinKey(orgHex));
  if (!saved) {
    storage.setItem(pinKey(orgHex), b64(pk));
    return { state: 'first', pk, pinnedFp: fp, offered: pk, offeredFp: fp };
  }
  const pinned = unb64(saved);
  if (eq(pinned, pk)) return { state: 'same', pk: pinned, pinnedFp: fp, offered: pk, offeredFp: fp };
  return { state: 'changed', pk: pinned, pinnedFp: fingerprint(pinned), offered: pk, offeredFp: fp };
}

// The member chose to trust a new recorder key (after comparing fingerprints).
export function trustRecorder(storage, orgHex, pk) { storage.setItem(pinKey(orgHex), b64(pk)); }

export function describe(res) {
  if (!res) return 'Not checked';
  if (res.status === VERIFIED) return `Signature verified (${res.n} fragments, recorder ${fingerprint(res.recorderPk).slice(0, 14)}…)`;
  if (res.status === UNSIGNED) return 'Not signed yet: this segment is still being recorded';
  if (res.status === WRONG_KEY) return `NOT VERIFIED: ${res.reason}`;
  return `TAMPERED: ${res.reason}`;
}
