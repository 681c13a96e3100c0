// SPDX-License-Identifier: Apache-2.0
// Just enough ISO BMFF (ISO/IEC 14496-12) for the player and export: walk boxes,
// read each track's timescale and RFC 6381 codec string from a decrypted init
// segment (avcC ISO/IEC 14496-15 §5.3.3, hvcC §8.3.3, esds ISO/IEC 14496-1), and
// shift the decode times (tfdt) of a decrypted fragment. Every read is bounded
// by the box it is in; malformed input throws, it never reads past the buffer.
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'mvex', 'moof', 'traf', 'edts', 'dinf']);

export class Mp4Error extends Error {}

const dv = (u8) => new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
const fourcc = (u8, o) => String.fromCharCode(u8[o], u8[o + 1], u8[o + 2], u8[o + 3]);

// Boxes directly inside u8[start, end): { type, start, end, body } (body = payload offset).
export function* boxes(u8, start = 0, end = u8.length) {
  const d = dv(u8);
  let o = start;
  while (o < end) {
    if (end - o < 8) throw new Mp4Error('truncated box header');
    let size = d.getUint32(o), body = o + 8;
    const type = fourcc(u8, o + 4);
    if (size === 1) {
      if (end - o < 16) throw new Mp4Error('truncated largesize');
      size = Number(d.getBigUint64(o + 8)); body = o + 16;
    } else if (size === 0) size = end - o;
    if (size < body - o || o + size > end) throw new Mp4Error(`bad size for ${type}`);
    yield { type, start: o, end: o + size, body };
    o += size;
  }
}

function find(u8, box, path) {
  let cur = box;
  for (const t of path) {
    let next = null;
    for (const b of boxes(u8, cur.body, cur.end)) if (b.type === t) { next = b; break; }
    if (!next) return null;
    cur = next;
  }
  return cur;
}

const hex2 = (n) => n.toString(16).padStart(2, '0');

function avcCodec(u8, avcC) {
  if (avcC.end - avcC.body < 4) throw new Mp4Error('short avcC');
  const p = avcC.body;
  return `avc1.${hex2(u8[p + 1])}${hex2(u8[p + 2])}${hex2(u8[p + 3])}`;
}

// RFC 6381 / ISO/IEC 14496-15 Annex E: hvc1.<space><profile>.<compat reversed hex>.<tier><level>.<constraints>
function hevcCodec(u8, entry, hvcC) {
  if (hvcC.end - hvcC.body < 13) throw new Mp4Error('short hvcC');
  const p = hvcC.body;
  const space = (u8[p + 1] >> 6) & 3, tier = (u8[p + 1] >> 5) & 1, profile = u8[p + 1] & 31;
  let compat = dv(u8).getUint32(p + 2), rev = 0;
  for (let i = 0; i < 32; i++) { rev = (rev << 1) | (compat & 1); compat >>>= 1; }
  const cons = [];
  for (let i = 0; i < 6; i++) cons.push(u8[p + 6 + i]);
  while (cons.length > 1 && cons[cons.length - 1] === 0) cons.pop();
  const sp = ['', 'A', 'B', 'C'][space];
  return `${entry}.${sp}${profile}.${(rev >>> 0).toString(16)}.${tier ? 'H' : 'L'}${u8[p + 12]}.${cons.map((c) => c.toString(16).toUpperCase()).join('.')}`;
}

// esds: ES_Descriptor(3) > DecoderConfigDescriptor(4) > DecoderSpecificInfo(5).
function mp4aCodec(u8, esds) {
  let o = esds.body + 4;          // full box version/flags
  const end = esds.end;
  const desc = () => {
    if (o >= end) throw new Mp4Error('short esds');
    const tag = u8[o++]; let len = 0;
    for (let i = 0; i < 4; i++) { if (o >= end) throw new Mp4Error('short esds'); const b = u8[o++]; len = (len << 7) | (b & 127); if (!(b & 128)) break; }
    return { tag, len, at: o };
  };
  let d = desc();
  if (d.tag !== 3) return 'mp4a.40.2';
  const flags = u8[o + 2]; o += 3;
  if (flags & 0x80) o += 2; if (flags & 0x40) o += 1 + u8[o]; if (flags & 0x20) o += 2;
  d = desc();
  if (d.tag !== 4 || o + 13 > end) return 'mp4a.40.2';
  const oti = u8[o]; o += 13;
  if (oti !== 0x40) return `mp4a.${hex2(oti)}`;
  d = desc();
  if (d.tag !== 5 || o >= end) return 'mp4a.40.2';
  let aot = u8[o] >> 3;
  if (aot === 31 && o + 1 < end) aot = 32 + (((u8[o] & 7) << 3) | (u8[o + 1] >> 5));
  return `mp4a.40.${aot}`;
}

// Returns { tracks: [{ id, kind: 'video'|'audio'|'other', timescale, codec, width, height }], mime }.
export function parseInit(u8) {
  let moov = null;
  for (const b of boxes(u8)) if (b.type === 'moov') moov = b;
  if (!moov) throw new Mp4Error('no moov');
  const d = dv(u8);
  const tracks = [];
  for (const trak of boxes(u8, moov.body, moov.end)) {
    if (trak.type !== 'trak') continue;
    const tkhd = find(u8, trak, ['tkhd']), mdhd = find(u8, trak, ['mdia', 'mdhd']), hdlr = find(u8, trak, ['mdia', 'hdlr']);
    const stsd = find(u8, trak, ['mdia', 'minf', 'stbl', 'stsd']);
    if (!tkhd || !mdhd || !hdlr || !stsd) throw new Mp4Error('incomplete trak');
    const tv = u8[tkhd.body], mv = u8[mdhd.body];
    const id = d.getUint32(tkhd.body + (tv === 1 ? 20 : 12));
    const timescale = d.getUint32(mdhd.body + (mv === 1 ? 20 : 12));
    const handler = fourcc(u8, hdlr.body + 8);
    const tkEnd = tkhd.end;
    const width = d.getUint32(tkEnd - 8) >>> 16, height = d.getUint32(tkEnd - 4) >>> 16;
    // stsd: fullbox(4) + entry_count(4), then sample entries
    const entries = [...boxes(u8, stsd.body + 8, stsd.end)];
    if (!entries.length) throw new Mp4Error('empty stsd');
    const e = entries[0];
    let codec = e.type;
    if (e.type === 'avc1' || e.type === 'avc3' || e.type === 'hvc1' || e.type === 'hev1') {
      const inner = [...boxes(u8, e.body + 78, e.end)];     // VisualSampleEntry fields are 78 bytes
      const cfg = inner.find((b) => b.type === 'avcC' || b.type === 'hvcC');
      if (!cfg) throw new Mp4Error(`no config box in ${e.type}`);
      codec = cfg.type === 'avcC' ? avcCodec(u8, cfg).replace('avc1', e.type) : hevcCodec(u8, e.type, cfg);
    } else if (e.type === 'mp4a') {
      const inner = [...boxes(u8, e.body + 28, e.end)];     // AudioSampleEntry fields are 28 bytes
      const esds = inner.find((b) => b.type === 'esds');
      codec = esds ? mp4aCodec(u8, esds) : 'mp4a.40.2';
    }
    const kind = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';
    tracks.push({ id, kind, timescale, codec, width, height });
  }
  if (!tracks.length) throw new Mp4Error('no tracks');
  return { tracks, mime: `video/mp4; codecs="${tracks.filter((t) => t.kind !== 'other').map((t) => t.codec).join(', ')}"` };
}

export const isHevc = (codec) => /^(hvc1|hev1)/.test(codec);

// Calls fn(trackId, dts, {set(v)}) for each traf's tfdt in a moof+mdat.
function eachTfdt(u8, fn) {
  const d = dv(u8);
  for (const moof of boxes(u8)) {
    if (moof.type !== 'moof') continue;
    for (const traf of boxes(u8, moof.body, moof.end)) {
      if (traf.type !== 'traf') continue;
      const tfhd = find(u8, traf, ['tfhd']), tfdt = find(u8, traf, ['tfdt']);
      if (!tfhd || !tfdt || tfhd.end - tfhd.body < 8) throw new Mp4Error('traf without tfhd/tfdt');
      const id = d.getUint32(tfhd.body + 4);
      const v1 = u8[tfdt.body] === 1;
      if (tfdt.end - tfdt.body < (v1 ? 12 : 8)) throw new Mp4Error('short tfdt');
      const at = tfdt.body + 4;
      const dts = v1 ? Number(d.getBigUint64(at)) : d.getUint32(at);
      fn(id, dts, (v) => {
        if (v < 0) throw new Mp4Error('negative decode time');
        if (v1) d.setBigUint64(at, BigInt(v)); else if (v > 0xffffffff) throw new Mp4Error('tfdt v0 overflow'); else d.setUint32(at, v);
      });
    }
  }
}

// First decode time per track id of a fragment: Map(id -> dts).
export function fragmentTimes(u8) {
  const m = new Map();
  eachTfdt(u8, (id, dts) => { if (!m.has(id)) m.set(id, dts); });
  return m;
}

// A copy of the fragment with each track's tfdt reduced by base.get(trackId).
export function rebaseFragment(u8, base) {
  const out = u8.slice();
  eachTfdt(out, (id, dts, set) => set(dts - (base.get(id) || 0)));
  return out;
}
