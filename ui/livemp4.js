// SPDX-License-Identifier: Apache-2.0
// Live view without sound: a muted tile plays its camera as video only, so the
// audio renderer (which stalls and re-buffers whenever audio runs dry) never
// sets the pace of a live picture (docs/design/live.md "Latency"). These take
// tracks out of a decrypted init segment (trak + trex) and out of a decrypted
// moof+mdat (traf; the other trafs' trun data offsets, relative to the moof
// with default-base-is-moof, move by the bytes removed; the mdat keeps its
// bytes, unreferenced). Bounded like mp4.js: malformed input throws.
import { boxes, Mp4Error } from './mp4.js';

const dv = (u8) => new DataView(u8.buffer, u8.byteOffset, u8.byteLength);

// Copy of u8 without the byte ranges cut ([start, end) pairs, sorted, disjoint);
// each box in `shrink` ({start, by}) has its 32-bit size reduced by `by`.
function cutOut(u8, cut, shrink) {
  const removed = cut.reduce((n, [a, b]) => n + (b - a), 0);
  const out = new Uint8Array(u8.length - removed);
  let o = 0, at = 0;
  for (const [a, b] of cut) { out.set(u8.subarray(at, a), o); o += a - at; at = b; }
  out.set(u8.subarray(at), o);
  const d = dv(out);
  for (const { start, by } of shrink) {
    const before = cut.reduce((n, [a, b]) => n + (b <= start ? b - a : 0), 0);
    d.setUint32(start - before, d.getUint32(start - before) - by);
  }
  return out;
}

function trackId(u8, box, type) {
  const d = dv(u8);
  for (const b of boxes(u8, box.body, box.end)) {
    if (b.type !== type) continue;
    const v = u8[b.body];
    const off = type === 'tkhd' ? (v === 1 ? 20 : 12) : 4;   // tkhd track_ID; tfhd/trex after version+flags
    if (b.end - b.body < off + 4) throw new Mp4Error(`short ${type}`);
    return d.getUint32(b.body + off);
  }
  throw new Mp4Error(`no ${type}`);
}

const sizeOf = (u8, box) => { if (dv(u8).getUint32(box.start) === 1) throw new Mp4Error('largesize box'); return box.end - box.start; };

// The init segment without the tracks in `ids` (a Set of track ids).
export function initWithout(u8, ids) {
  const cut = [], shrink = [];
  for (const moov of boxes(u8)) {
    if (moov.type !== 'moov') continue;
    let moovCut = 0;
    for (const b of boxes(u8, moov.body, moov.end)) {
      if (b.type === 'trak' && ids.has(trackId(u8, b, 'tkhd'))) { cut.push([b.start, b.end]); moovCut += sizeOf(u8, b); }
      if (b.type === 'mvex') {
        let mvexCut = 0;
        for (const t of boxes(u8, b.body, b.end)) {
          if (t.type === 'trex' && ids.has(dv(u8).getUint32(t.body + 4))) { cut.push([t.start, t.end]); mvexCut += sizeOf(u8, t); }
        }
        if (mvexCut) { sizeOf(u8, b); shrink.push({ start: b.start, by: mvexCut }); moovCut += mvexCut; }
      }
    }
    if (moovCut) { sizeOf(u8, moov); shrink.push({ start: moov.start, by: moovCut }); }
  }
  if (!cut.length) return u8;
  cut.sort((a, b) => a[0] - b[0]);
  return cutOut(u8, cut, shrink);
}

// The fragment without the trafs of tracks in `ids`; null if nothing is left.
export function fragmentWithout(u8, ids) {
  const d = dv(u8);
  const cut = [], shrink = [];
  let kept = 0;
  for (const moof of boxes(u8)) {
    if (moof.type !== 'moof') continue;
    const keep = [];
    let moofCut = 0;
    for (const traf of boxes(u8, moof.body, moof.end)) {
      if (traf.type !== 'traf') continue;
      const id = trackId(u8, traf, 'tfhd');
      if (ids.has(id)) { cut.push([traf.start, traf.end]); moofCut += sizeOf(u8, traf); } else keep.push(traf);
    }
    kept += keep.length;
    if (!moofCut) continue;
    sizeOf(u8, moof);
    shrink.push({ start: moof.start, by: moofCut });
    // The kept trafs' sample data did not move relative to the mdat, but the moof
    // got shorter: their trun data offsets (from the moof's start) shrink with it.
    for (const traf of keep) {
      for (const b of boxes(u8, traf.body, traf.end)) {
        if (b.type === 'tfhd' && (d.getUint32(b.body) & 0x1)) throw new Mp4Error('tfhd with an explicit base offset');
        if (b.type === 'trun' && (d.getUint32(b.body) & 0x1)) {
          if (b.end - b.body < 12) throw new Mp4Error('short trun');
          const at = b.body + 8;
          d.setInt32(at, d.getInt32(at) - moofCut);   // patched in u8 itself: callers pass a copy they own
        }
      }
    }
  }
  if (!cut.length) return u8;
  if (!kept) return null;
  cut.sort((a, b) => a[0] - b[0]);
  return cutOut(u8, cut, shrink);
}
