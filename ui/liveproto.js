// SPDX-License-Identifier: Apache-2.0
// The live stream's framing (docs/design/live.md), big-endian:
//   u32 len (bytes after this field) | u8 type | u32 camera id | payload (len - 5)
// Records arrive split at arbitrary points by the network; RecordReader
// reassembles them without copying more than one record at a time. No DOM
// here, so node tests can drive it.
import { HDR_LEN, SEALED_KEY_LEN, MAX_CT, parseHeader } from './footage.js';

export const T_SEGMENT = 1, T_CHUNK = 2, T_STATE = 3, T_KEEPALIVE = 4;
export const MAX_RECORD = 5 + 8 + SEALED_KEY_LEN + HDR_LEN + MAX_CT;

export class LiveProtocolError extends Error {}

export class RecordReader {
  constructor() { this.parts = []; this.have = 0; }

  // Feed one network chunk; returns the complete records it finished, in order.
  push(chunk) {
    if (chunk.length) { this.parts.push(chunk); this.have += chunk.length; }
    const out = [];
    for (;;) {
      if (this.have < 4) break;
      const len = this.peekU32();
      if (len < 5 || len > MAX_RECORD) throw new LiveProtocolError(`bad record length ${len}`);
      if (this.have < 4 + len) break;
      const rec = this.take(4 + len);
      const d = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      const type = rec[4];
      if (type < T_SEGMENT || type > T_KEEPALIVE) throw new LiveProtocolError(`unknown record type ${type}`);
      out.push({ type, camera: d.getUint32(5), payload: rec.subarray(9) });
    }
    return out;
  }

  peekU32() {
    const b = new Uint8Array(4);
    let i = 0;
    for (const p of this.parts) { for (let j = 0; j < p.length && i < 4; j++) b[i++] = p[j]; if (i === 4) break; }
    return new DataView(b.buffer).getUint32(0);
  }

  take(n) {
    const first = this.parts[0];
    let out;
    if (first.length >= n) {                       // the common case: no copy
      out = first.subarray(0, n);
      if (first.length === n) this.parts.shift(); else this.parts[0] = first.subarray(n);
    } else {
      out = new Uint8Array(n);
      let i = 0;
      while (i < n) {
        const p = this.parts[0], k = Math.min(p.length, n - i);
        out.set(p.subarray(0, k), i); i += k;
        if (k === p.length) this.parts.shift(); else this.parts[0] = p.subarray(k);
      }
    }
    this.have -= n;
    return out;
  }
}

// SEGMENT payload: u64 segment id | sealed content key [80] | init envelope.
export function parseSegment(payload) {
  if (payload.length < 8 + SEALED_KEY_LEN + HDR_LEN) throw new LiveProtocolError('short SEGMENT record');
  const d = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const segmentId = Number(d.getBigUint64(0));
  const sealedKey = payload.subarray(8, 8 + SEALED_KEY_LEN);
  const init = payload.subarray(8 + SEALED_KEY_LEN);
  const hdr = parseHeader(init);
  if (hdr.length !== init.length) throw new LiveProtocolError('SEGMENT init envelope length mismatch');
  return { segmentId, sealedKey, init };
}

export function parseState(payload) {
  try { return JSON.parse(new TextDecoder().decode(payload)); } catch { return { state: 'unknown' }; }
}

// Encoder, for tests.
export function record(type, camera, payload) {
  const r = new Uint8Array(9 + payload.length);
  const d = new DataView(r.buffer);
  d.setUint32(0, 5 + payload.length); r[4] = type; d.setUint32(5, camera); r.set(payload, 9);
  return r;
}
