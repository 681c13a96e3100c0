// SPDX-License-Identifier: Apache-2.0
// A clip from segments whose content keys arrived some other way than the
// camera key (docs/design/grants.md): sealed to a support account by a grant,
// or wrapped under a share link's passphrase. Decrypts in this browser and
// writes one fragmented MP4 (init + moof/mdat, times rebased to 0), the same
// shape as archive.js's export. No DOM here.
import { openEnvelope, splitEnvelopes, parseHeader } from './footage.js';
import { parseInit, fragmentTimes, rebaseFragment } from './mp4.js';

export class ClipError extends Error {
  constructor(code, msg) { super(msg); this.code = code; }
}

const sameBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

// Opens fragments frags (consecutive in the file) of segment meta.
async function readFrags(meta, frags, ckey, orgId, fetchBytes) {
  const a = frags[0].offset, b = frags[frags.length - 1].offset + frags[frags.length - 1].length;
  const u8 = await fetchBytes(meta.id, a, b);
  if (u8.length !== b - a) throw new ClipError('fetch', `segment ${meta.id}: got ${u8.length} of ${b - a} bytes`);
  const envs = [...splitEnvelopes(u8)];
  if (envs.length !== frags.length) throw new ClipError('index', 'segment data does not match its index');
  return envs.map((env, k) => {
    const hdr = parseHeader(env);
    if (hdr.seq !== frags[k].seq || hdr.segmentId !== meta.id) throw new ClipError('index', 'fragment out of place');
    return { frag: frags[k], ...openEnvelope(env, ckey, orgId) };
  });
}

// parts: [{ meta, ckey }]; fetchBytes(segmentId, a, b) -> Uint8Array of [a, b).
// Starts at the key fragment at or before `from`, ends with the last fragment
// that begins before `to`. Returns { blob, start90k, end90k, frames }.
export async function buildClip(parts, orgId, from, to, fetchBytes, onProgress = () => {}) {
  parts = parts.slice().sort((x, y) => x.meta.start90k - y.meta.start90k);
  const plans = [];
  for (const p of parts) {
    const all = p.meta.fragments;
    const init = all.find((f) => f.seq === 0);
    if (!init) continue;
    const media = all.filter((f) => f.seq > 0);
    let i = 0;
    if (!plans.length) for (let k = 0; k < media.length; k++) { if (media[k].start90k > from) break; if (media[k].key) i = k; }
    let j = i;
    while (j < media.length && media[j].start90k < to) j++;
    if (j > i) plans.push({ ...p, init, media: media.slice(i, j) });
  }
  if (!plans.length) throw new ClipError('empty', 'Nothing was recorded in that range.');
  const total = plans.reduce((n, p) => n + p.media.length, 0);
  const out = [];
  let firstInit = null, base = null, scales = null, start90k = null, end90k = null, done = 0;
  for (const p of plans) {
    const [initEnv] = await readFrags(p.meta, [p.init], p.ckey, orgId, fetchBytes);
    if (!firstInit) {
      firstInit = initEnv.plain;
      scales = new Map(parseInit(firstInit).tracks.map((t) => [t.id, t.timescale]));
      out.push(firstInit);
    } else if (!sameBytes(initEnv.plain, firstInit)) break;   // the camera's format changed: stop there
    // Contiguous runs of fragments: one read each.
    for (let i = 0; i < p.media.length;) {
      let j = i + 1;
      while (j < p.media.length && p.media[j].offset === p.media[j - 1].offset + p.media[j - 1].length && j - i < 64) j++;
      for (const { frag, plain } of await readFrags(p.meta, p.media.slice(i, j), p.ckey, orgId, fetchBytes)) {
        if (base === null) {
          // One time origin for every track (as archive.js's export): the
          // earliest first decode time, in each track's own timescale.
          let sec = Infinity;
          for (const [id, dts] of fragmentTimes(plain)) sec = Math.min(sec, dts / (scales.get(id) || 90000));
          base = new Map([...scales].map(([id, scale]) => [id, Math.floor(sec * scale)]));
          start90k = frag.start90k;
        }
        out.push(rebaseFragment(plain, base));
        end90k = frag.start90k + frag.dur90k;
        onProgress(++done, total);
      }
      i = j;
    }
  }
  if (base === null) throw new ClipError('empty', 'Nothing was recorded in that range.');
  return { blob: new Blob(out, { type: 'video/mp4' }), start90k, end90k, frames: done };
}
