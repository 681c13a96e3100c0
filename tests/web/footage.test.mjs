// SPDX-License-Identifier: Apache-2.0
// Unit tests (node:test) for the browser's footage code: envelope parse/open
// (ui/footage.js), live record framing (ui/liveproto.js) and the ISO BMFF
// helpers (ui/mp4.js). Vectors are made here with libsodium (the same vendored
// build the browser runs); the cross-check against the C recorder's bytes is
// tests/web/browser_live.test.mjs, which decrypts what a real `vigil run` sends.
// Run: node --test tests/web/footage.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sodium from '../../ui/vendor/libsodium-wrappers.mjs';
import { parseHeader, openEnvelope, sealEnvelope, splitEnvelopes, openContentKey, orgIdOf, HDR_LEN, F_KEY, F_INIT, F_LIVE } from '../../ui/footage.js';
import { RecordReader, record, parseSegment, parseState, T_SEGMENT, T_CHUNK, T_STATE, T_KEEPALIVE, LiveProtocolError } from '../../ui/liveproto.js';
import { parseInit, fragmentTimes, rebaseFragment, boxes, isHevc } from '../../ui/mp4.js';

await sodium.ready;
const org = sodium.randombytes_buf(16);
const key = sodium.crypto_aead_xchacha20poly1305_ietf_keygen();
const cam = sodium.randombytes_buf(16);
const plain = new TextEncoder().encode('moof+mdat plaintext of one fragment');
const hdrIn = { flags: F_KEY, seq: 7, segmentId: 42, camera: cam, start90k: 160000000000000, dur90k: 90000 };
const env = sealEnvelope(hdrIn, plain, key, org);
const codeOf = (fn) => { try { fn(); } catch (e) { return e.code || e.constructor.name; } return 'no error'; };

test('header fields round-trip', () => {
  const h = parseHeader(env);
  assert.equal(h.seq, 7); assert.equal(h.segmentId, 42); assert.equal(h.start90k, 160000000000000);
  assert.equal(h.dur90k, 90000); assert.ok(h.key); assert.ok(!h.init); assert.ok(!h.live);
  assert.deepEqual(h.camera, cam); assert.equal(h.length, env.length); assert.equal(h.ctLen, plain.length + 16);
  assert.equal(String.fromCharCode(...env.subarray(0, 3)), 'VGE'); assert.equal(env[3], 1);
});

test('open gives the plaintext back', () => {
  const { hdr, plain: p } = openEnvelope(env, key, org);
  assert.deepEqual(p, plain); assert.equal(hdr.seq, 7);
});

test('truncated input is an error, never partial plaintext', () => {
  assert.equal(codeOf(() => parseHeader(env.subarray(0, HDR_LEN - 1))), 'truncated');
  assert.equal(codeOf(() => openEnvelope(env.subarray(0, env.length - 1), key, org)), 'truncated');
  assert.equal(codeOf(() => openEnvelope(new Uint8Array(0), key, org)), 'truncated');
  const longer = new Uint8Array(env.length + 1); longer.set(env);
  assert.equal(codeOf(() => openEnvelope(longer, key, org)), 'bad_header');
});

test('bad tag, wrong key, wrong organization (AD) and any header change fail', () => {
  const bad = env.slice(); bad[bad.length - 1] ^= 1;
  assert.equal(codeOf(() => openEnvelope(bad, key, org)), 'bad_tag');
  const ct = env.slice(); ct[HDR_LEN] ^= 0x80;
  assert.equal(codeOf(() => openEnvelope(ct, key, org)), 'bad_tag');
  assert.equal(codeOf(() => openEnvelope(env, sodium.crypto_aead_xchacha20poly1305_ietf_keygen(), org)), 'bad_tag');
  const org2 = org.slice(); org2[15] ^= 1;
  assert.equal(codeOf(() => openEnvelope(env, key, org2)), 'bad_tag');
  // every header byte that parses is authenticated: seq, segment, camera, times, nonce
  for (const off of [8, 12, 20, 35, 36, 44, 48, 71]) {
    const m = env.slice(); m[off] ^= 1;
    assert.equal(codeOf(() => openEnvelope(m, key, org)), 'bad_tag', `header byte ${off}`);
  }
  const flag = env.slice(); flag[4] |= F_INIT;
  assert.equal(codeOf(() => openEnvelope(flag, key, org)), 'bad_tag');
});

test('malformed headers are refused before any crypto', () => {
  const cases = { magic: [0, 0x57], version: [3, 2], reserved: [6, 1], flags: [4, 0x08] };
  for (const [name, [off, v]] of Object.entries(cases)) {
    const m = env.slice(); m[off] = v;
    assert.equal(codeOf(() => parseHeader(m)), 'bad_header', name);
  }
  const small = env.slice(); new DataView(small.buffer).setUint32(72, 15);
  assert.equal(codeOf(() => parseHeader(small)), 'bad_header');
  const huge = env.slice(); new DataView(huge.buffer).setUint32(72, 64 * 1024 * 1024 + 1);
  assert.equal(codeOf(() => parseHeader(huge)), 'bad_header');
  assert.equal(codeOf(() => openEnvelope(env, key, org.subarray(0, 15))), 'bad_org');
  assert.equal(codeOf(() => openEnvelope(env, key.subarray(0, 31), org)), 'bad_key');
});

test('live flag (bit 2) is accepted', () => {
  const e = sealEnvelope({ ...hdrIn, flags: F_KEY | F_LIVE }, plain, key, org);
  assert.ok(openEnvelope(e, key, org).hdr.live);
});

test('concatenated envelopes split; a cut one is an error', () => {
  const e2 = sealEnvelope({ ...hdrIn, seq: 8, flags: 0 }, new Uint8Array(1000), key, org);
  const both = new Uint8Array(env.length + e2.length); both.set(env); both.set(e2, env.length);
  const parts = [...splitEnvelopes(both)];
  assert.equal(parts.length, 2); assert.equal(parseHeader(parts[1]).seq, 8);
  assert.equal(codeOf(() => [...splitEnvelopes(both.subarray(0, both.length - 3))]), 'truncated');
});

test('content key opens with the camera key pair only', () => {
  const camKp = sodium.crypto_box_keypair(), other = sodium.crypto_box_keypair();
  const sealed = sodium.crypto_box_seal(key, camKp.publicKey);
  assert.equal(sealed.length, 80);
  assert.deepEqual(openContentKey(sealed, camKp), key);
  assert.equal(codeOf(() => openContentKey(sealed, other)), 'bad_key');
  assert.equal(codeOf(() => openContentKey(sealed.subarray(1), camKp)), 'bad_key');
});

test('organization id from /api/me', () => {
  assert.deepEqual(orgIdOf({ footage_org_id: sodium.to_hex(org) }), org);
  assert.deepEqual(orgIdOf({ org: { uid: sodium.to_hex(org).toUpperCase() } }), org);
  assert.equal(codeOf(() => orgIdOf({ org: { uid: 'abc' } })), 'bad_org');
  assert.equal(codeOf(() => orgIdOf({ org: {} })), 'bad_org');
});

test('live records survive any chunking', () => {
  const seg = new Uint8Array(8 + 80 + env.length);
  new DataView(seg.buffer).setBigUint64(0, 42n); seg.set(sodium.randombytes_buf(80), 8); seg.set(env, 88);
  const recs = [record(T_SEGMENT, 3, seg), record(T_CHUNK, 3, env), record(T_KEEPALIVE, 0, new Uint8Array(0)),
    record(T_STATE, 9, new TextEncoder().encode('{"state":"offline","detail":"connection refused"}'))];
  const stream = new Uint8Array(recs.reduce((n, r) => n + r.length, 0));
  let o = 0; for (const r of recs) { stream.set(r, o); o += r.length; }
  for (const step of [1, 2, 3, 5, 7, 64, 89, 1000, stream.length]) {
    const rd = new RecordReader(); const got = [];
    for (let i = 0; i < stream.length; i += step) got.push(...rd.push(stream.slice(i, i + step)));
    assert.deepEqual(got.map((r) => [r.type, r.camera]), [[1, 3], [2, 3], [4, 0], [3, 9]], `step ${step}`);
    const s = parseSegment(got[0].payload);
    assert.equal(s.segmentId, 42); assert.deepEqual(s.init, env);
    assert.deepEqual(got[1].payload, env);
    assert.deepEqual(parseState(got[3].payload), { state: 'offline', detail: 'connection refused' });
  }
  // random boundaries
  for (let k = 0; k < 50; k++) {
    const rd = new RecordReader(); const got = [];
    let i = 0; while (i < stream.length) { const n = 1 + Math.floor(Math.random() * 300); got.push(...rd.push(stream.slice(i, i + n))); i += n; }
    assert.equal(got.length, 4);
  }
});

test('bad live records are refused', () => {
  assert.throws(() => new RecordReader().push(Uint8Array.of(0, 0, 0, 4, 1, 0, 0, 0)), LiveProtocolError);
  assert.throws(() => new RecordReader().push(Uint8Array.of(0xff, 0xff, 0xff, 0xff)), LiveProtocolError);
  assert.throws(() => new RecordReader().push(record(9, 1, new Uint8Array(2))), LiveProtocolError);
  assert.throws(() => parseSegment(new Uint8Array(100)), LiveProtocolError);
  const seg = new Uint8Array(88 + env.length - 1); seg.set(env.subarray(0, env.length - 1), 88);
  assert.throws(() => parseSegment(seg));
  assert.deepEqual(parseState(Uint8Array.of(0xff)), { state: 'unknown' });
});

// ---- ISO BMFF helpers ----

function box(type, ...parts) {
  const body = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const n = 8 + body.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n); const d = new DataView(out.buffer);
  d.setUint32(0, n); for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  let o = 8; for (const p of body) { out.set(p, o); o += p.length; }
  return out;
}
const u32 = (v) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v); return b; };
const u64 = (v) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v)); return b; };
const zeros = (n) => new Uint8Array(n);

function trak(id, handler, timescale, entry) {
  const tkhd = box('tkhd', zeros(4), zeros(8), u32(id), zeros(60), u32(640 << 16), u32(360 << 16));
  const mdhd = box('mdhd', zeros(4), zeros(8), u32(timescale), zeros(8));
  const hdlr = box('hdlr', zeros(8), [...handler].map((c) => c.charCodeAt(0)), zeros(13));
  const stsd = box('stsd', zeros(4), u32(1), entry);
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', box('stbl', stsd))));
}
function initSeg() {
  const avc1 = box('avc1', zeros(78), box('avcC', [1, 0x64, 0x00, 0x28, 0xff]));
  const esds = box('esds', zeros(4), [3, 25, 0, 1, 0, 4, 17, 0x40, 0x15, ...zeros(11), 5, 2, 0x14, 0x08]);
  const mp4a = box('mp4a', zeros(28), esds);
  const ftyp = box('ftyp', [...'isom'].map((c) => c.charCodeAt(0)), zeros(4));
  const moov = box('moov', box('mvhd', zeros(100)), trak(1, 'vide', 90000, avc1), trak(2, 'soun', 48000, mp4a));
  const out = new Uint8Array(ftyp.length + moov.length); out.set(ftyp); out.set(moov, ftyp.length); return out;
}

test('codec strings and timescales from an init segment', () => {
  const info = parseInit(initSeg());
  assert.deepEqual(info.tracks.map((t) => [t.id, t.kind, t.timescale, t.codec]),
    [[1, 'video', 90000, 'avc1.640028'], [2, 'audio', 48000, 'mp4a.40.2']]);
  assert.equal(info.mime, 'video/mp4; codecs="avc1.640028, mp4a.40.2"');
  assert.equal(info.tracks[0].width, 640);
  assert.ok(isHevc('hvc1.1.6.L93.B0')); assert.ok(!isHevc('avc1.640028'));
  const cut = initSeg().subarray(0, 60);
  assert.throws(() => parseInit(cut));
});

test('hvcC codec string (RFC 6381 / 14496-15 Annex E)', () => {
  const hvcC = box('hvcC', [1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0]);
  const moov = box('moov', trak(1, 'vide', 90000, box('hvc1', zeros(78), hvcC)));
  assert.equal(parseInit(moov).tracks[0].codec, 'hvc1.1.6.L93.90');
});

test('tfdt rebase for export', () => {
  const traf = (id, v, dts) => box('traf', box('tfhd', zeros(4), u32(id)), v ? box('tfdt', [1, 0, 0, 0], u64(dts)) : box('tfdt', zeros(4), u32(dts)), box('trun', zeros(8)));
  const frag = (() => { const moof = box('moof', box('mfhd', zeros(8)), traf(1, 1, 160000000000000), traf(2, 0, 5000)); const mdat = box('mdat', zeros(10));
    const o = new Uint8Array(moof.length + mdat.length); o.set(moof); o.set(mdat, moof.length); return o; })();
  assert.deepEqual([...fragmentTimes(frag)], [[1, 160000000000000], [2, 5000]]);
  const r = rebaseFragment(frag, new Map([[1, 160000000000000 - 900], [2, 5000]]));
  assert.deepEqual([...fragmentTimes(r)], [[1, 900], [2, 0]]);
  assert.deepEqual([...fragmentTimes(frag)], [[1, 160000000000000], [2, 5000]], 'input untouched');
  assert.throws(() => rebaseFragment(frag, new Map([[2, 6000]])));
  assert.equal([...boxes(r)].map((b) => b.type).join(), 'moof,mdat');
  const bad = frag.slice(); new DataView(bad.buffer).setUint32(0, 9999);
  assert.throws(() => fragmentTimes(bad));
});
