// SPDX-License-Identifier: Apache-2.0
// Unit tests (node:test) for ui/livemp4.js, which takes the audio track out of a
// muted live tile's init segment and fragments. Input: a real fragmented MP4 with
// H.264 + AAC made here by ffmpeg (moof+mdat per GOP, both tracks in each moof,
// default-base-is-moof, like vigil's stored fragments). Checks that what is left
// parses, and that every kept sample's bytes are where its trun now points.
// Run: node --test tests/web/livemp4.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { boxes, parseInit, Mp4Error } from '../../ui/mp4.js';
import { initWithout, fragmentWithout } from '../../ui/livemp4.js';

const dir = mkdtempSync(path.join(tmpdir(), 'livemp4-'));
const file = path.join(dir, 'av.mp4');
const ff = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=10', '-f', 'lavfi', '-i',
  'sine=frequency=440:sample_rate=16000', '-t', '2', '-c:v', 'libx264', '-g', '10', '-c:a', 'aac', '-f', 'mp4',
  '-movflags', 'frag_keyframe+empty_moov+default_base_moof', file]);
assert.equal(ff.status, 0, String(ff.stderr));
const all = new Uint8Array(readFileSync(file));
rmSync(dir, { recursive: true, force: true });

const top = [...boxes(all)];
const init = all.slice(0, top.find((b) => b.type === 'moov').end);
const frags = [];
for (let i = 0; i < top.length; i++)
  if (top[i].type === 'moof' && top[i + 1] && top[i + 1].type === 'mdat') frags.push(all.slice(top[i].start, top[i + 1].end));
const VIDEO = 1, AUDIO = 2;

// Sample bytes per track id, read through each traf's tfhd/trun (default-base-is-moof).
function samples(u8) {
  const d = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const out = new Map();
  for (const moof of boxes(u8)) {
    if (moof.type !== 'moof') continue;
    for (const traf of boxes(u8, moof.body, moof.end)) {
      if (traf.type !== 'traf') continue;
      let id = 0, defSize = 0;
      for (const b of boxes(u8, traf.body, traf.end)) {
        const flags = d.getUint32(b.body) & 0xffffff;
        if (b.type === 'tfhd') {
          id = d.getUint32(b.body + 4);
          let o = b.body + 8;
          if (flags & 0x1) o += 8; if (flags & 0x2) o += 4; if (flags & 0x8) o += 4;
          if (flags & 0x10) defSize = d.getUint32(o);
        } else if (b.type === 'trun') {
          const n = d.getUint32(b.body + 4);
          let o = b.body + 8, at = moof.start;
          if (flags & 0x1) { at += d.getInt32(o); o += 4; }
          if (flags & 0x4) o += 4;
          const list = out.get(id) || [];
          for (let i = 0; i < n; i++) {
            if (flags & 0x100) o += 4;
            let size = defSize;
            if (flags & 0x200) { size = d.getUint32(o); o += 4; }
            if (flags & 0x400) o += 4;
            if (flags & 0x800) o += 4;
            list.push(Buffer.from(u8.subarray(at, at + size)).toString('hex'));
            at += size;
          }
          out.set(id, list);
        }
      }
    }
  }
  return out;
}

test('the sample has video and audio in every fragment', () => {
  const info = parseInit(init);
  assert.deepEqual(info.tracks.map((t) => [t.id, t.kind]), [[VIDEO, 'video'], [AUDIO, 'audio']]);
  assert.ok(frags.length >= 2);
  for (const f of frags) { const s = samples(f); assert.ok(s.get(VIDEO).length && s.get(AUDIO).length); }
});

test('initWithout drops the audio trak and trex; the rest parses the same', () => {
  const v = initWithout(init, new Set([AUDIO]));
  const info = parseInit(v), full = parseInit(init);
  assert.deepEqual(info.tracks, [full.tracks[0]]);
  assert.equal(info.mime, `video/mp4; codecs="${full.tracks[0].codec}"`);
  const moov = [...boxes(v)].find((b) => b.type === 'moov');
  const mvex = [...boxes(v, moov.body, moov.end)].find((b) => b.type === 'mvex');
  assert.deepEqual([...boxes(v, mvex.body, mvex.end)].filter((b) => b.type === 'trex').length, 1);
  assert.ok(v.length < init.length);
  assert.equal(initWithout(init, new Set([99])), init);   // nothing to drop: same bytes
});

test('fragmentWithout keeps every kept sample byte-exact behind its trun offset', () => {
  for (const f of frags) {
    const want = samples(f);
    const v = fragmentWithout(f.slice(), new Set([AUDIO]));
    const got = samples(v);
    assert.deepEqual([...got.keys()], [VIDEO]);
    assert.deepEqual(got.get(VIDEO), want.get(VIDEO));
    const a = fragmentWithout(f.slice(), new Set([VIDEO]));       // the other way round too
    assert.deepEqual(samples(a).get(AUDIO), want.get(AUDIO));
    assert.equal(fragmentWithout(f.slice(), new Set([VIDEO, AUDIO])), null);
    const same = f.slice();
    assert.equal(fragmentWithout(same, new Set([99])), same);
  }
});

test('malformed input throws, never reads past the buffer', () => {
  const f = frags[0];
  assert.throws(() => fragmentWithout(f.slice(0, 40), new Set([AUDIO])), Mp4Error);
  assert.throws(() => initWithout(init.slice(0, init.length - 9), new Set([AUDIO])), Mp4Error);
});
