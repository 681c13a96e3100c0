// SPDX-License-Identifier: Apache-2.0
// Live view: a grid of cameras (#/live) and a single camera (#/live/ID; its
// substream: #/live/ID/sub). The grid asks for substreams (stream=sub).
// One fetch('/api/live?camera=..') per page carries every camera on screen
// (docs/design/live.md); records are decrypted here and appended, one frame
// at a time, to a MediaSource per camera. Keys: camkeys.js; envelopes:
// footage.js; framing: liveproto.js; MSE: player.js. A muted tile plays video
// only (audio tracks taken out: livemp4.js); sound on re-creates the player
// with the audio track and replays the current GOP (kept in the single view).
import { api } from './api.js';
import { h, state, go, onLeave, atLeast } from './app.js';
import { cameraKeysFor } from './camkeys.js';
import { openEnvelope, openContentKey, parseHeader, orgIdOf } from './footage.js';
import { RecordReader, parseSegment, parseState, T_SEGMENT, T_CHUNK, T_STATE } from './liveproto.js';
import { MsePlayer } from './player.js';
import { parseInit } from './mp4.js';
import { initWithout, fragmentWithout } from './livemp4.js';

const KEEP_SEGMENT_KEYS = 3;

// One camera on screen: its video, status line and decryption state.
class Tile {
  constructor(cam, orgId, { single }) {
    this.cam = cam; this.orgId = orgId;
    this.video = h('video', { muted: true, playsinline: true, autoplay: true, 'aria-label': `Live video of ${cam.name}`, 'data-camera': cam.id });
    this.video.muted = true;
    this.status = h('span', { class: 'status connecting', text: 'connecting…' });
    this.note = h('div', { class: 'overlay', hidden: true, role: 'status' });
    this.lat = h('span', { class: 'lat muted' });
    this.node = h('figure', { class: single ? 'tile single' : 'tile', 'data-camera': cam.id, tabindex: single ? null : 0,
      'aria-label': single ? null : `${cam.name}: open full view` },
      h('div', { class: 'screen' }, this.video, this.note),
      h('figcaption', {}, h('span', { class: 'name', text: cam.name }), this.lat, this.status));
    this.keys = cameraKeysFor(cam);
    this.keys.catch((e) => this.fail(e.message));
    this.ckeys = new Map();       // segment id -> content key
    this.waitKey = true;          // drop chunks until a key frame after a (re)start
    this.chain = Promise.resolve();
    this.dead = false;
    this.player = this.newPlayer();
    this.newest = 0;              // start90k of the newest frame received
    this.sound = false;           // audio tracks go to MSE only with sound on
    this.audioIds = new Set();    // audio track ids of the current init segment
    this.init = null;             // the current decrypted init segment (all tracks)
    this.gop = single ? [] : null; // single view: decrypted fragments since the last keyframe
  }

  newPlayer() { return new MsePlayer(this.video, { live: true, onStall: (m) => { this.waitKey = true; this.setStatus('warn', m); } }); }

  async setInit(init) {
    const info = parseInit(init);
    this.init = init;
    this.audioIds = new Set(info.tracks.filter((t) => t.kind === 'audio').map((t) => t.id));
    await this.player.setInit(this.sound ? init : initWithout(init, this.audioIds));
    if (this.onTracks) this.onTracks(this.audioIds.size > 0);
  }

  // One decrypted fragment to the player (without audio unless sound is on).
  play(start90k, plain) {
    const frag = this.sound || !this.audioIds.size ? plain : fragmentWithout(plain.slice(), this.audioIds);
    if (!frag) return;
    this.player.base(start90k / 90000);
    this.player.append(frag);
  }

  // Sound on/off: a new MSE player with or without the audio track, fed the
  // current GOP at once so the picture resumes without waiting for a keyframe.
  async setSound(on) {
    if (on === this.sound || this.dead) return;
    this.sound = on;
    this.chain = this.chain.then(async () => {
      if (this.dead || !this.init) return;
      this.player.destroy();
      this.player = this.newPlayer();
      await this.player.setInit(on ? this.init : initWithout(this.init, this.audioIds));
      for (const f of this.gop || []) this.play(f.start90k, f.plain);
      if (!this.gop || !this.gop.length) this.waitKey = true;
    }).catch((e) => this.fail(e.message));
    await this.chain;
  }

  setStatus(kind, text) { this.status.className = `status ${kind}`; this.status.textContent = text; }

  fail(msg) {
    this.dead = true;
    this.note.textContent = msg; this.note.hidden = false;
    this.setStatus('bad', 'unavailable');
  }

  // Records for a camera are handled strictly in order, even across awaits.
  handle(rec) { this.chain = this.chain.then(() => this.dead || this.process(rec)).catch((e) => this.fail(e.message)); }

  async process(rec) {
    if (rec.type === T_SEGMENT) {
      const seg = parseSegment(rec.payload);
      const keys = await this.keys;
      let ck;
      try { ck = openContentKey(seg.sealedKey, keys); }
      catch {
        // A rotation since the keys were fetched: the new period's key, once.
        if (keys.refresh) {
          const fresh = await keys.refresh().catch(() => null);
          if (fresh && fresh !== keys) { this.keys = Promise.resolve(fresh); try { ck = openContentKey(seg.sealedKey, fresh); } catch { /* below */ } }
        }
      }
      if (!ck) {
        // e.g. the segment began before the camera got its own key: the
        // recorder starts a new one sealed to it at the next key frame.
        this.setStatus('warn', 'waiting for footage sealed to this camera\u2019s key');
        return;
      }
      this.ckeys.set(seg.segmentId, ck);
      while (this.ckeys.size > KEEP_SEGMENT_KEYS) {
        const [old, k] = this.ckeys.entries().next().value; k.fill(0); this.ckeys.delete(old);
      }
      const { plain } = openEnvelope(seg.init, this.ckeys.get(seg.segmentId), this.orgId);
      await this.setInit(plain);
      this.waitKey = true;
      if (this.gop) this.gop.length = 0;
    } else if (rec.type === T_CHUNK) {
      const hdr = parseHeader(rec.payload);
      const ck = this.ckeys.get(hdr.segmentId);
      if (!ck || (this.waitKey && !hdr.key)) return;
      let plain;
      try { plain = openEnvelope(rec.payload, ck, this.orgId).plain; }
      catch (e) { this.waitKey = true; this.setStatus('bad', 'integrity error'); console.warn('live', this.cam.id, e.message); return; }
      this.waitKey = false;
      if (this.gop) {
        if (hdr.key) this.gop.length = 0;
        if (this.gop.length < 600) this.gop.push({ start90k: hdr.start90k, plain });
      }
      this.play(hdr.start90k, plain);
      this.newest = hdr.start90k + hdr.dur90k;
      if (!this.status.classList.contains('live')) { this.setStatus('live', 'live'); this.note.hidden = true; }
    } else if (rec.type === T_STATE) {
      // Recorder states (src/rec/camera.c): recording, connecting, offline.
      const st = parseState(rec.payload);
      if (st.stream) this.video.dataset.stream = st.stream;   // which stream the server sends
      const text = st.detail ? `${st.state} — ${st.detail}` : st.state;
      if (st.state === 'recording') { this.setStatus('live', st.detail ? `live — ${st.detail}` : 'live'); this.note.hidden = true; }
      else if (st.state === 'connecting') this.setStatus('connecting', 'connecting…');
      else { this.setStatus('bad', text); this.note.textContent = `Camera ${text}`; this.note.hidden = false; }
    }
  }

  // Shown in the single view: how far the picture is behind the wall clock.
  tick() {
    if (!this.newest || this.video.paused) { this.lat.textContent = ''; return; }
    const behind = Date.now() - this.newest / 90 + this.player.ahead() * 1000;
    this.lat.textContent = behind > 0 && behind < 60000 ? `${Math.round(behind)} ms` : '';
  }

  destroy() {
    this.dead = true; this.player.destroy(); for (const k of this.ckeys.values()) k.fill(0); this.ckeys.clear();
    if (this.gop) this.gop.length = 0;
  }
}

// The one streamed response for the page; reconnects with backoff.
class LiveStream {
  constructor(ids, onRecord, onConn) { this.ids = ids; this.onRecord = onRecord; this.onConn = onConn; this.ctrl = null; this.stopped = false; this.stream = 'main'; }

  async run() {
    let delay = 1000;
    while (!this.stopped) {
      const t0 = Date.now();
      try { await this.once(); }
      catch (e) { if (this.stopped) return; this.onConn('bad', e.status === 401 ? 'signed out' : `stream lost (${e.message})`); if (e.status === 401) return; }
      if (this.stopped) return;
      if (Date.now() - t0 > 10000) delay = 1000;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }

  async once() {
    this.ctrl = new AbortController();
    const q = this.ids.map((id) => `camera=${encodeURIComponent(id)}`).join('&') + `&stream=${this.stream}`;
    const r = await fetch(`/api/live?${q}`, { credentials: 'same-origin', cache: 'no-store', signal: this.ctrl.signal });
    if (!r.ok || !r.body) { const e = new Error(`HTTP ${r.status}`); e.status = r.status; throw e; }
    this.onConn('ok', 'connected');
    const reader = r.body.getReader(), rr = new RecordReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('ended');
      for (const rec of rr.push(value)) this.onRecord(rec);
    }
  }

  stop() { this.stopped = true; if (this.ctrl) this.ctrl.abort(); }
}

// The single view's sound: muted until the member asks (grid tiles stay
// muted). The button appears once the camera's init segment has an audio
// track; key M toggles it.
function singleAudio(tile, toolbar) {
  const btn = h('button', { type: 'button', class: 'secondary', id: 'live-unmute', hidden: true, title: 'Sound (M)', 'aria-pressed': 'false', text: 'Unmute' });
  const set = (on) => {
    tile.setSound(on);
    tile.video.muted = !on;
    btn.textContent = on ? 'Mute' : 'Unmute';
    btn.setAttribute('aria-pressed', String(on));
    if (on && tile.video.paused) tile.video.play().catch(() => {});
  };
  btn.addEventListener('click', () => set(tile.video.muted));
  tile.onTracks = (audio) => { btn.hidden = !audio; if (!audio) set(false); };
  toolbar.insertBefore(btn, toolbar.querySelector('a[href^="#/playback/"]'));
  const onKey = (ev) => {
    if (ev.target.closest && ev.target.closest('input, select, textarea')) return;
    if ((ev.key === 'm' || ev.key === 'M') && !btn.hidden) set(tile.video.muted);
  };
  document.addEventListener('keydown', onKey);
  onLeave(() => document.removeEventListener('keydown', onKey));
}

export async function live() {
  const [{ cameras: all }, me] = await Promise.all([api('GET', '/api/cameras'), api('GET', '/api/me')]);
  const orgId = orgIdOf(me);
  const m = location.hash.match(/^#\/live\/(\d+)(\/sub)?/);
  const singleId = m ? Number(m[1]) : null;
  const idx = singleId ? all.findIndex((c) => c.id === singleId) : -1;
  const shown = singleId ? all.filter((c) => c.id === singleId) : all;
  const root = h('div', { class: 'live' });

  if (!all.length) {
    root.append(h('h1', { text: 'Live' }), h('div', { class: 'card placeholder' }, h('p', { text: atLeast('admin') ? 'No cameras yet.' : 'No cameras have been shared with you yet.' }),
      atLeast('admin') ? h('a', { href: '#/cameras', text: 'Add a camera' }) : null));
    return root;
  }
  if (singleId && !shown.length) { go('#/live'); return root; }

  const tiles = shown.map((c) => new Tile(c, orgId, { single: !!singleId }));
  const byId = new Map(tiles.map((t) => [t.cam.id, t]));
  const conn = h('span', { class: 'status connecting', id: 'live-conn', text: 'connecting…' });
  const stream = new LiveStream([],
    (rec) => { const t = byId.get(rec.camera); if (t) t.handle(rec); },
    (kind, text) => { conn.className = `status ${kind === 'ok' ? 'live' : 'bad'}`; conn.textContent = text; });
  // The grid shows each camera's substream (where it has one), the single view its main stream.
  stream.stream = singleId && !m[2] ? 'main' : 'sub';

  let header;
  if (singleId) {
    const cam = shown[0];
    const prev = all[(idx - 1 + all.length) % all.length], next = all[(idx + 1) % all.length];
    const fs = () => (document.fullscreenElement ? document.exitFullscreen() : tiles[0].node.requestFullscreen()).catch(() => {});
    header = h('div', { class: 'toolbar' },
      h('a', { href: '#/live', class: 'btn secondary', text: '← All cameras', title: 'Esc' }),
      h('h1', { text: cam.name }),
      h('span', { class: 'spacer' }),
      all.length > 1 ? h('a', { href: `#/live/${prev.id}`, class: 'btn secondary', title: 'Previous camera (←)', 'aria-label': 'Previous camera', text: '‹' }) : null,
      all.length > 1 ? h('a', { href: `#/live/${next.id}`, class: 'btn secondary', title: 'Next camera (→)', 'aria-label': 'Next camera', text: '›' }) : null,
      cam.sub_status ? h('select', { id: 'live-stream', 'aria-label': 'Stream', title: 'Main stream or substream',
        onchange: (ev) => go(`#/live/${cam.id}${ev.target.value === 'sub' ? '/sub' : ''}`) },
        h('option', { value: 'main', text: 'Main stream', selected: !m[2] }), h('option', { value: 'sub', text: 'Substream', selected: !!m[2] })) : null,
      h('a', { href: `#/playback/${cam.id}`, class: 'btn secondary', text: 'Playback' }),
      h('button', { type: 'button', class: 'secondary', text: 'Full screen', title: 'F', onclick: fs }));
    const keyLine = h('p', { class: 'hint' }, 'Camera key fingerprint: ', h('span', { class: 'mono', id: 'cam-fp', text: '…' }), ' · stream ', conn);
    tiles[0].keys.then((k) => { keyLine.querySelector('#cam-fp').textContent = k.fingerprint; }, () => { keyLine.querySelector('#cam-fp').textContent = '—'; });
    root.append(header, h('div', { class: 'single-wrap' }, tiles[0].node), keyLine);
    const onKey = (ev) => {
      if (ev.target.closest && ev.target.closest('input, select, textarea')) return;
      if (ev.key === 'Escape' && !document.fullscreenElement) go('#/live');
      else if (ev.key === 'ArrowLeft' && all.length > 1) go(`#/live/${prev.id}`);
      else if (ev.key === 'ArrowRight' && all.length > 1) go(`#/live/${next.id}`);
      else if (ev.key === 'f' || ev.key === 'F') fs();
    };
    document.addEventListener('keydown', onKey);
    onLeave(() => document.removeEventListener('keydown', onKey));
  } else {
    header = h('div', { class: 'toolbar' }, h('h1', { text: 'Live' }), h('span', { class: 'spacer' }),
      h('span', { class: 'hint' }, `${shown.length} camera${shown.length === 1 ? '' : 's'} · stream `, conn));
    const grid = h('div', { class: `grid n${Math.min(tiles.length, 16)}`, id: 'live-grid' }, tiles.map((t) => t.node));
    for (const t of tiles) {
      const open = () => go(`#/live/${t.cam.id}`);
      t.node.addEventListener('dblclick', open);
      t.node.addEventListener('click', (ev) => { if (ev.detail === 1 && window.matchMedia('(pointer: coarse)').matches) open(); });
      t.node.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); open(); } });
    }
    root.append(header, grid, h('p', { class: 'hint', text: 'Double-click or press Enter on a camera for the full view; keys 1–9 open a camera directly.' }));
    const onKey = (ev) => {
      if (ev.target.closest && ev.target.closest('input, select, textarea')) return;
      const n = Number(ev.key);
      if (n >= 1 && n <= 9 && tiles[n - 1]) go(`#/live/${tiles[n - 1].cam.id}`);
    };
    document.addEventListener('keydown', onKey);
    onLeave(() => document.removeEventListener('keydown', onKey));
  }

  if (singleId) singleAudio(tiles[0], header);

  const timer = setInterval(() => tiles.forEach((t) => t.tick()), 1000);
  onLeave(() => { clearInterval(timer); stream.stop(); tiles.forEach((t) => t.destroy()); });
  // Open the keys first (the member must hold each camera's key); then one stream for all.
  Promise.allSettled(tiles.map((t) => t.keys)).then((res) => {
    if (stream.stopped) return;
    stream.ids = tiles.filter((t, i) => res[i].status === 'fulfilled').map((t) => t.cam.id);
    if (!stream.ids.length) { conn.className = 'status bad'; conn.textContent = 'no camera keys'; return; }
    stream.run();
  });
  return root;
}
