// SPDX-License-Identifier: Apache-2.0
// Reading recorded footage (docs/design/live.md "Playback"): segment metadata,
// Range reads of the encrypted segment file, decryption in this browser. Used
// by the playback page (a streaming reader feeding MSE) and by export (a whole
// range into one fragmented MP4). No DOM here apart from what callers pass.
import { api } from './api.js';
import { unb64any, keyFor } from './camkeys.js';
import { openEnvelope, openContentKey, splitEnvelopes, parseHeader } from './footage.js';
import { parseInit, fragmentTimes, rebaseFragment } from './mp4.js';
import { ChainVerifier, SignatureError, pinRecorder, describe, SEGHDR_LEN, TRAILER_LEN, VERIFIED, UNSIGNED, WRONG_KEY } from './segsig.js';
import sodium from './vendor/libsodium-wrappers.mjs';

const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_90K = 4 * 90000;

export class ArchiveError extends Error {
  constructor(code, msg) { super(msg); this.code = code; }
}

// The recorder key this browser verifies signatures with, pinned per
// organization on first sight (segsig.js). { state, pk, pinnedFp, offered, offeredFp }.
export async function recorderTrust(orgId, storage = globalThis.localStorage) {
  const offered = await api('GET', '/api/recorder');
  return pinRecorder(storage, sodium.to_hex(orgId), offered);
}

async function rangeRead(id, rng, signal) {
  const r = await fetch(`/api/segments/${id}/data`, { headers: { Range: rng }, credentials: 'same-origin', cache: 'no-store', signal });
  if (r.status !== 206) throw new ArchiveError('fetch', `segment data: HTTP ${r.status}`);
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(r.headers.get('Content-Range') || '');
  if (!m) throw new ArchiveError('fetch', 'segment data: no Content-Range');
  return { u8: new Uint8Array(await r.arrayBuffer()), size: Number(m[3]) };
}

// Checks segment `meta` against its signature: reads the trailer, then the
// whole file in order (header, every envelope), with the pinned key. Returns
// { res, verifier, hdr }; a closed segment that fails throws ArchiveError
// 'tampered' or 'wrong_key' (its .verification says why).
async function verifySegment(meta, pinnedPk, orgId, signal) {
  const id = meta.id;
  if (meta.status !== 'closed') {
    // Not signed yet; its header is still checked against the index.
    const { u8 } = await rangeRead(id, `bytes=0-${SEGHDR_LEN - 1}`, signal);
    let v;
    try { v = await ChainVerifier.start(u8, id); }
    catch (e) { if (!(e instanceof SignatureError)) throw e; throw new ArchiveError('tampered', `Segment ${id}: TAMPERED: ${e.message}`); }
    return { res: v.finish(null, pinnedPk), verifier: null, hdr: v.hdr };
  }
  const { u8: trailer, size } = await rangeRead(id, `bytes=-${TRAILER_LEN}`, signal);
  const end = size - TRAILER_LEN;
  if (trailer.length !== TRAILER_LEN || end < SEGHDR_LEN) throw new ArchiveError('tampered', `segment ${id}: TAMPERED: no trailer`);
  let v = null, res;
  try {
    for (let a = 0; a < end; a += BATCH_BYTES) {
      const b = Math.min(end, a + BATCH_BYTES);
      const { u8 } = await rangeRead(id, `bytes=${a}-${b - 1}`, signal);
      if (u8.length !== b - a) throw new ArchiveError('fetch', `segment data: got ${u8.length} of ${b - a} bytes`);
      if (!v) { v = await ChainVerifier.start(u8.subarray(0, SEGHDR_LEN), id); await v.push(u8.subarray(SEGHDR_LEN)); }
      else await v.push(u8);
    }
    res = v.finish(trailer, pinnedPk);
    const byseq = new Map(meta.fragments.map((f) => [f.seq, f]));
    if (res.status === VERIFIED) {
      const h = v.hdr;
      let bad = '';
      if (sodium.compare(h.org, orgId) !== 0) bad = 'signed for another organization';
      else if (meta.sealed_key && sodium.compare(unb64any(meta.sealed_key), h.sealedKey) !== 0) bad = 'the index\u2019s content key is not the signed one';
      else if (byseq.size !== v.n || v.offsets.some((o, s) => !byseq.has(s) || byseq.get(s).offset !== o)) bad = 'the index does not match the signed fragments';
      if (bad) res = { ...res, status: 'tampered', reason: bad };
    }
  } catch (e) {
    if (!(e instanceof SignatureError)) throw e;
    res = { status: 'tampered', reason: e.message.replace(/^tampered: /, ''), n: v ? v.n : 0, recorderPk: v ? v.hdr.recorderPk : null };
  }
  if (res.status !== VERIFIED) {
    const e = new ArchiveError(res.status === WRONG_KEY ? 'wrong_key' : 'tampered', `Segment ${id}: ${describe(res)}. It is not played or exported as genuine.`);
    e.verification = { id, ...res };
    throw e;
  }
  return { res, verifier: v, hdr: v.hdr };
}

export const recordings = (camId, from, to) => api('GET', `/api/cameras/${camId}/recordings?from=${Math.floor(from)}&to=${Math.ceil(to)}`);

// One segment: metadata, its opened content key and decrypted init segment.
export class Segment {
  constructor(meta, ckey, init, info) { this.meta = meta; this.ckey = ckey; this.init = init; this.info = info; this.id = meta.id; }

  // trust: recorderTrust()'s answer (the pinned key); every segment is
  // checked against its signature before any of it is decrypted.
  static async load(id, camKeys, orgId, trust) {
    const meta = await api('GET', `/api/segments/${id}`);
    // The key period this segment was sealed to (docs/design/keys.md); after a
    // rotation since the ring was fetched, fetch it again once.
    let k = camKeys;
    if (meta.footage_pk) {
      const pk = unb64any(meta.footage_pk);
      k = keyFor(camKeys, pk);
      if (!k && camKeys.refresh) k = keyFor(await camKeys.refresh(), pk);
      if (!k) throw new ArchiveError('other_key', 'This recording is sealed to a camera key you do not hold (made before the camera\u2019s own key, or a key period that has left retention). It cannot be opened here.');
    }
    const { res, verifier, hdr } = await verifySegment(meta, trust && trust.pk, orgId);
    // A signed segment's content key is the one in its signed header.
    const ckey = openContentKey(verifier ? hdr.sealedKey : unb64any(meta.sealed_key), k);
    const seg = new Segment(meta, ckey, null, null);
    seg.verification = { id, ...res };
    seg.verifier = verifier;
    const initFrag = meta.fragments.find((f) => f.seq === 0);
    if (!initFrag) throw new ArchiveError('no_init', `segment ${id} has no init segment`);
    const [env] = await seg.read([initFrag], orgId);
    seg.init = env.plain;
    seg.info = parseInit(seg.init);
    return seg;
  }

  get media() { return this.meta.fragments.filter((f) => f.seq > 0); }

  // Index (into media) of the key fragment at or before t (or the first one).
  keyIndexAt(t) {
    const m = this.media;
    let best = 0;
    for (let i = 0; i < m.length; i++) { if (m[i].start90k > t) break; if (m[i].key) best = i; }
    return best;
  }

  // Consecutive fragments [i, j) worth one Range read.
  batch(i, maxBytes = BATCH_BYTES, max90k = BATCH_90K) {
    const m = this.media;
    let j = i, bytes = 0;
    while (j < m.length && (j === i || (bytes + m[j].length <= maxBytes && m[j].start90k - m[i].start90k < max90k)) &&
           (j === i || m[j].offset === m[j - 1].offset + m[j - 1].length)) { bytes += m[j].length; j++; }
    return j;
  }

  // Range-reads contiguous fragments and opens each envelope: [{ frag, hdr, plain }].
  async read(frags, orgId, signal) {
    const a = frags[0].offset, b = frags[frags.length - 1].offset + frags[frags.length - 1].length;
    const r = await fetch(`/api/segments/${this.id}/data`, { headers: { Range: `bytes=${a}-${b - 1}` }, credentials: 'same-origin', cache: 'no-store', signal });
    if (r.status !== 206 && r.status !== 200) throw new ArchiveError('fetch', `segment data: HTTP ${r.status}`);
    let u8 = new Uint8Array(await r.arrayBuffer());
    if (r.status === 200) u8 = u8.subarray(a, b);            // a server without Range: slice ourselves
    if (u8.length !== b - a) throw new ArchiveError('fetch', `segment data: got ${u8.length} of ${b - a} bytes`);
    const envs = [...splitEnvelopes(u8)];
    if (envs.length !== frags.length) throw new ArchiveError('index', 'segment data does not match its index');
    const out = [];
    for (let k = 0; k < envs.length; k++) {
      const env = envs[k], hdr = parseHeader(env);
      if (hdr.seq !== frags[k].seq || hdr.segmentId !== this.id) throw new ArchiveError('index', 'fragment out of place');
      // The bytes served now must be the ones the signature covered.
      if (this.verifier && !(await this.verifier.matches(hdr.seq, env)))
        throw new ArchiveError('tampered', `Segment ${this.id}: TAMPERED: fragment ${hdr.seq} differs from the signed segment. It is not played or exported as genuine.`);
      out.push({ frag: frags[k], ...openEnvelope(env, this.ckey, orgId) });
    }
    return out;
  }

  wipe() { if (this.ckey) this.ckey.fill(0); }
}

const sameBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

// Decrypts [from, to) of a camera into one fragmented MP4 (init + moof/mdat,
// decode times rebased so the file starts at 0). Starts at the key fragment
// at or before `from`. onProgress(doneBytes, totalBytes). Returns
// { blob, start90k, end90k, note }.
// Every segment is checked against its signature first (trust: the pinned
// recorder key); one that fails refuses the whole export (ArchiveError
// 'tampered' / 'wrong_key'). The result's `verification` says what was proven:
// { verified, unsigned, segments: [{ id, status, n }], recorderFp }.
export async function exportRange(camId, camKeys, orgId, from, to, { onProgress = () => {}, signal, trust } = {}) {
  const rec = await recordings(camId, from, to);
  const segs = rec.segments.filter((s) => s.end90k > from && s.start90k < to).sort((x, y) => x.start90k - y.start90k);
  if (!segs.length) throw new ArchiveError('empty', 'Nothing was recorded in that range.');
  const loaded = [];
  let skipped = 0;
  for (const s of segs) {
    try { loaded.push(await Segment.load(s.id, camKeys, orgId, trust)); }
    catch (e) { if (e.code !== 'other_key') throw e; skipped++; }   // sealed to an older key
  }
  if (!loaded.length) throw new ArchiveError('other_key', 'The footage in that range is sealed to a different key than this camera\u2019s.');
  const plans = loaded.map((seg, n) => {
    const m = seg.media;
    let i = n === 0 ? seg.keyIndexAt(from) : 0;
    let j = i;
    while (j < m.length && m[j].start90k < to) j++;
    return { seg, i, j };
  }).filter((p) => p.j > p.i);
  const total = plans.reduce((a, p) => a + p.seg.media.slice(p.i, p.j).reduce((x, f) => x + f.length, 0), 0);
  if (!plans.length) throw new ArchiveError('empty', 'Nothing was recorded in that range.');
  let done = 0, note = skipped ? 'Part of the range is sealed to an older key and was left out.' : '';
  const parts = [plans[0].seg.init];
  const first = plans[0].seg;
  const ts = new Map(first.info.tracks.map((t) => [t.id, t.timescale]));
  let base = null, start90k = null, end90k = null;
  outer:
  for (const p of plans) {
    if (!sameBytes(p.seg.init, first.init)) { note = 'The camera\u2019s format changed; the export stops there.'; break; }
    for (let i = p.i; i < p.j;) {
      if (signal && signal.aborted) throw new ArchiveError('aborted', 'Export cancelled.');
      const j = p.seg.batch(i);
      const opened = await p.seg.read(p.seg.media.slice(i, j), orgId, signal);
      for (const { frag, plain } of opened) {
        if (base === null) {
          const times = fragmentTimes(plain);
          let sec = Infinity;
          for (const [id, dts] of times) sec = Math.min(sec, dts / (ts.get(id) || 90000));
          base = new Map([...ts].map(([id, scale]) => [id, Math.floor(sec * scale)]));
          start90k = frag.start90k;
        }
        parts.push(rebaseFragment(plain, base));
        end90k = frag.start90k + frag.dur90k;
        done += frag.length;
      }
      onProgress(done, total);
      i = j;
      if (end90k >= to && i >= p.j) break outer;
    }
  }
  for (const s of loaded) s.wipe();
  const used = plans.map((p) => p.seg.verification);
  const verification = { verified: used.filter((v) => v.status === VERIFIED).length, unsigned: used.filter((v) => v.status === UNSIGNED).length,
    segments: used.map(({ id, status, n }) => ({ id, status, n })), recorderFp: trust ? trust.pinnedFp : null };
  return { blob: new Blob(parts, { type: 'video/mp4' }), start90k, end90k, note, verification };
}
