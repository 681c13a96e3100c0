// SPDX-License-Identifier: Apache-2.0
// Footage envelopes, as docs/design/keys.md and docs/design/live.md define them.
// The same bytes arrive from the segment files (playback, export) and from the
// live stream; only this browser holds the keys that open them.
//
//   off len field (big-endian)
//     0   4 "VGE" + version 0x01
//     4   1 flags: bit0 key fragment, bit1 init segment, bit2 live chunk
//     5   3 zero
//     8   4 seq (u32), 0 = init
//    12   8 segment id (u64)
//    20  16 camera uuid
//    36   8 start90k (i64, 90 kHz since the Unix epoch)
//    44   4 dur90k (u32)
//    48  24 nonce
//    72   4 ct_len (u32) = plaintext + 16, 16 <= ct_len <= 64 MiB
//    76   … XChaCha20-Poly1305 ciphertext || tag
//   AD = organization id (16 bytes) || header[0, 76)
//
// The content key of a segment is 32 bytes sealed (crypto_box_seal, 80 bytes)
// to the camera's footage public key; the camera's secret key is itself
// sealed to each entitled member (camkeys.js). Every function here throws a
// FootageError with a short code; none returns unauthenticated plaintext.
import sodium from './vendor/libsodium-wrappers.mjs';

export const HDR_LEN = 76;
export const TAG_LEN = 16;
export const MAX_CT = 64 * 1024 * 1024;
export const SEALED_KEY_LEN = 80;
export const F_KEY = 1, F_INIT = 2, F_LIVE = 4;
const KNOWN_FLAGS = F_KEY | F_INIT | F_LIVE;
const MAGIC = [0x56, 0x47, 0x45, 0x01];   // "VGE" 1

export class FootageError extends Error {
  constructor(code, detail) { super(detail ? `${code}: ${detail}` : code); this.code = code; }
}

const dv = (u8) => new DataView(u8.buffer, u8.byteOffset, u8.byteLength);

// Structural parse of a header: no key needed. Throws 'truncated' when fewer
// than HDR_LEN bytes are given, 'bad_header' when malformed.
export function parseHeader(u8) {
  if (!(u8 instanceof Uint8Array)) throw new FootageError('bad_header', 'not bytes');
  if (u8.length < HDR_LEN) throw new FootageError('truncated', `${u8.length} < ${HDR_LEN} header bytes`);
  for (let i = 0; i < 4; i++) if (u8[i] !== MAGIC[i]) throw new FootageError('bad_header', 'magic/version');
  if (u8[5] | u8[6] | u8[7]) throw new FootageError('bad_header', 'reserved bytes');
  const flags = u8[4];
  if (flags & ~KNOWN_FLAGS) throw new FootageError('bad_header', `flags 0x${flags.toString(16)}`);
  const d = dv(u8);
  const ctLen = d.getUint32(72);
  if (ctLen < TAG_LEN || ctLen > MAX_CT) throw new FootageError('bad_header', `ct_len ${ctLen}`);
  return {
    flags, key: !!(flags & F_KEY), init: !!(flags & F_INIT), live: !!(flags & F_LIVE),
    seq: d.getUint32(8),
    segmentId: Number(d.getBigUint64(12)),
    camera: u8.slice(20, 36),
    start90k: Number(d.getBigInt64(36)),     // < 2^53 for the next 3000 years
    dur90k: d.getUint32(44),
    nonce: u8.slice(48, 72),
    ctLen,
    length: HDR_LEN + ctLen,                // whole envelope
  };
}

// Authenticate and decrypt one whole envelope (exactly its bytes).
// orgId: 16 bytes. Returns { hdr, plain }.
export function openEnvelope(env, contentKey, orgId) {
  const hdr = parseHeader(env);
  if (env.length < hdr.length) throw new FootageError('truncated', `${env.length} < ${hdr.length} bytes`);
  if (env.length > hdr.length) throw new FootageError('bad_header', 'trailing bytes');
  if (!orgId || orgId.length !== 16) throw new FootageError('bad_org', 'organization id must be 16 bytes');
  if (!contentKey || contentKey.length !== 32) throw new FootageError('bad_key', 'content key must be 32 bytes');
  const ad = new Uint8Array(16 + HDR_LEN);
  ad.set(orgId); ad.set(env.subarray(0, HDR_LEN), 16);
  let plain;
  try {
    plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, env.subarray(HDR_LEN, hdr.length), ad, hdr.nonce, contentKey);
  } catch {
    throw new FootageError('bad_tag', `segment ${hdr.segmentId} seq ${hdr.seq}`);
  }
  return { hdr, plain };
}

// Splits concatenated envelopes (a Range read of consecutive fragments).
// Throws 'truncated' if the bytes end inside an envelope.
export function* splitEnvelopes(u8) {
  let off = 0;
  while (off < u8.length) {
    const hdr = parseHeader(u8.subarray(off));
    if (off + hdr.length > u8.length) throw new FootageError('truncated', `envelope at ${off} needs ${hdr.length} bytes`);
    yield u8.subarray(off, off + hdr.length);
    off += hdr.length;
  }
}

// Opens a segment's sealed content key with the camera key pair, or with
// any period of a key ring (camkeys.js; a live segment does not name its key).
export function openContentKey(sealed, cameraKeys) {
  if (!sealed || sealed.length !== SEALED_KEY_LEN) throw new FootageError('bad_key', 'sealed content key must be 80 bytes');
  const list = cameraKeys.periods && cameraKeys.periods.length ? cameraKeys.periods : [cameraKeys];
  for (const k of list) {
    try { return sodium.crypto_box_seal_open(sealed, k.publicKey, k.privateKey); } catch { /* next period */ }
  }
  throw new FootageError('bad_key', 'content key not sealed to this camera key');
}

export function hexBytes(hex) {
  if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(hex)) throw new FootageError('bad_org', 'not hex');
  return sodium.from_hex(hex.toLowerCase());
}

// The organization id in envelope AD, from GET /api/me. live.md names it
// footage_org_id; api.md has org.uid (32 hex digits) — accept either.
export function orgIdOf(me) {
  const hex = me.footage_org_id || (me.org && (me.org.footage_org_id || me.org.uid));
  const id = hexBytes(hex || '');
  if (id.length !== 16) throw new FootageError('bad_org', 'organization id must be 16 bytes');
  return id;
}

// For tests and the export path: seal one envelope exactly as the recorder does.
export function sealEnvelope({ flags = 0, seq = 0, segmentId = 1, camera = new Uint8Array(16), start90k = 0, dur90k = 0 },
                             plain, contentKey, orgId) {
  const nonce = sodium.randombytes_buf(24);
  const env = new Uint8Array(HDR_LEN + plain.length + TAG_LEN);
  env.set(MAGIC); env[4] = flags;
  const d = dv(env);
  d.setUint32(8, seq); d.setBigUint64(12, BigInt(segmentId)); env.set(camera, 20);
  d.setBigInt64(36, BigInt(start90k)); d.setUint32(44, dur90k); env.set(nonce, 48);
  d.setUint32(72, plain.length + TAG_LEN);
  const ad = new Uint8Array(16 + HDR_LEN);
  ad.set(orgId); ad.set(env.subarray(0, HDR_LEN), 16);
  env.set(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, null, nonce, contentKey), HDR_LEN);
  return env;
}
