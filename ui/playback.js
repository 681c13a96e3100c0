// SPDX-License-Identifier: Apache-2.0
// Playback (#/playback/ID): a day's timeline of recorded runs and gaps; click,
// drag or use the keyboard to seek; play, pause, 0.5x–4x; export a range to an
// MP4 decrypted in this browser. The media element's clock is seconds since
// the chosen day's local midnight (timestampOffset), so time = day + currentTime.
import { api } from './api.js';
import { h, go, onLeave } from './app.js';
import { cameraKeysFor } from './camkeys.js';
import { orgIdOf } from './footage.js';
import { MsePlayer } from './player.js';
import { Segment, recordings, exportRange, recorderTrust } from './archive.js';
import { describe, trustRecorder, VERIFIED, UNSIGNED } from './segsig.js';
import sodium from './vendor/libsodium-wrappers.mjs';

const DAY = 86400 * 90000;
const AHEAD_S = 8;                        // keep this much decrypted ahead of the playhead
const SPEEDS = [0.5, 1, 2, 4];
const remembered = { camId: null, day: null };
const dbg = (...a) => { if (globalThis.VIGIL_DEBUG) console.log(...a); };

const pad = (n, w = 2) => String(n).padStart(w, '0');
const dayStartOf = (isoDay) => { const [y, m, d] = isoDay.split('-').map(Number); return new Date(y, m - 1, d).getTime() * 90; };
const isoDay = (date) => `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
const clock = (t90k, tenths = false) => {
  const d = new Date(t90k / 90);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${tenths ? '.' + Math.floor(d.getMilliseconds() / 100) : ''}`;
};
const timeInput = (t90k) => clock(t90k);
const parseTimeInput = (dayStart, s) => {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(s.trim());
  if (!m) return null;
  return dayStart + ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3] || 0)) * 90000;
};

// Feeds the video from the archive, following the playhead.
class ArchivePlayer {
  constructor(video, cam, orgId, dayStart, onMsg, trust, onVerify) {
    Object.assign(this, { video, camId: cam.id, orgId, dayStart, onMsg, trust, onVerify });
    this.segs = []; this.loaded = new Map(); this.player = null; this.gen = 0; this.cur = null; this.busy = 0;
    this.keys = cameraKeysFor(cam);
    this.onTime = () => this.fill();
    this.onWait = () => this.skipGap();
    video.addEventListener('timeupdate', this.onTime);
    video.addEventListener('waiting', this.onWait);
  }

  setSegments(segs) { this.segs = segs.slice().sort((a, b) => a.start90k - b.start90k); }

  segment(id) {
    if (!this.loaded.has(id)) {
      const p = Promise.all([this.keys, this.trust]).then(([k, t]) => Segment.load(id, k, this.orgId, t));
      this.loaded.set(id, p); p.catch(() => this.loaded.delete(id));
    }
    return this.loaded.get(id);
  }

  // Where the playhead is on the wall clock.
  now() { return this.dayStart + this.video.currentTime * 90000; }

  async seek(t, play) {
    const gen = ++this.gen;
    dbg('seek', t, play, JSON.stringify(this.segs));
    const s = this.segs.find((x) => x.end90k > t);
    if (!s) { this.onMsg('No recording at or after this time.'); return false; }
    if (s.start90k > t) t = s.start90k;                 // in a gap: go to the next recording
    this.onMsg('');
    if (this.player) this.player.destroy();
    this.player = new MsePlayer(this.video, { onStall: (m) => this.onMsg(`Playback error: ${m}`) });
    const player = this.player;
    try {
      let seg, sum = s;
      for (;;) {
        try { seg = await this.segment(sum.id); break; }
        catch (e) {
          // Footage sealed to another key (recorded before the camera had its own
          // key): say so and go on to the next segment this member can open.
          const next = e.code === 'other_key' && this.segs.find((x) => x.start90k >= sum.start90k && x.id !== sum.id && x.end90k > sum.end90k - 1);
          if (!next) throw e;
          sum = next; t = Math.max(t, next.start90k);
          this.onMsg('Earlier footage here is sealed to a different key; showing what this camera key opens.');
        }
      }
      if (gen !== this.gen) return false;
      dbg('seek: segment', seg.id, 'media', seg.media.length);
      this.onVerify(seg.verification);
      await player.setInit(seg.init);
      dbg('seek: init appended');
      player.base(this.dayStart / 90000);
      this.cur = { seg, summary: sum, next: seg.keyIndexAt(t) };
      this.busy = gen;
      try { await this.loadBatch(gen); } finally { if (this.busy === gen) this.busy = 0; }
      if (gen !== this.gen) return false;
      await player.drained();
      if (gen !== this.gen) return false;
      // Land inside what was appended (rounding of the offset can put the
      // first frame a microsecond after the target, and a seek there would wait).
      const b = this.video.buffered;
      let at = (t - this.dayStart) / 90000;
      if (b.length) at = Math.min(Math.max(at, b.start(0) + 0.001), b.end(b.length - 1) - 0.001);
      dbg('seek: at', at, 'buffered', b.length && b.start(0), b.length && b.end(b.length - 1));
      this.video.currentTime = Math.max(0, at);
      if (play) this.video.play().catch(() => {});
      this.fill();
      if (sum !== s) setTimeout(() => { if (gen === this.gen) this.onMsg(''); }, 5000);
      return true;
    } catch (e) {
      if (gen === this.gen) { this.onMsg(e.message); if (e.verification) this.onVerify(e.verification); }
      return false;
    }
  }

  async loadBatch(gen) {
    let { seg, summary, next } = this.cur;
    if (next >= seg.media.length) {
      if (summary.status !== 'closed') {
        // The segment is still being written: refresh its index, at most every
        // 2 s (each metadata read is an audited archive view).
        if (Date.now() - (this.refreshed || 0) < 2000) return false;
        this.refreshed = Date.now();
        this.loaded.delete(seg.id);
        const fresh = await this.segment(seg.id);
        if (gen !== this.gen) return false;
        if (fresh !== seg) { seg.wipe(); this.cur.seg = seg = fresh; this.onVerify(seg.verification); }
      }
      if (next >= seg.media.length) {
        const after = this.segs.find((x) => x.start90k >= summary.end90k - 1 && x.id !== summary.id);
        if (!after) return false;
        const nseg = await this.segment(after.id);
        if (gen !== this.gen) return false;
        await this.player.setInit(nseg.init);
        this.onVerify(nseg.verification);
        this.cur = { seg: nseg, summary: after, next: 0 };
        ({ seg, next } = this.cur);
      }
    }
    const j = seg.batch(next);
    const opened = await seg.read(seg.media.slice(next, j), this.orgId);
    if (gen !== this.gen) return false;
    for (const { plain } of opened) this.player.append(plain);
    this.cur.next = j;
    return true;
  }

  async fill() {
    const gen = this.gen;
    if (this.busy === gen || !this.cur || !this.player) return;
    this.busy = gen;
    try {
      while (gen === this.gen && this.player.ahead() < AHEAD_S) { if (!(await this.loadBatch(gen))) break; await this.player.idle(); }
    } catch (e) {
      if (gen === this.gen) {
        this.onMsg(e.message);
        if (e.verification) this.onVerify(e.verification);
        if (e.code === 'tampered' || e.code === 'wrong_key') this.video.pause();
      }
    } finally { if (this.busy === gen) this.busy = 0; }
  }

  // Stalled at the end of a buffered range with more after it (a recording gap): jump over.
  skipGap() {
    const v = this.video, b = v.buffered;
    for (let i = 0; i < b.length; i++) if (b.start(i) > v.currentTime + 0.05) { v.currentTime = b.start(i); return; }
    this.fill();
  }

  destroy() {
    this.gen++;
    this.video.removeEventListener('timeupdate', this.onTime);
    this.video.removeEventListener('waiting', this.onWait);
    if (this.player) this.player.destroy();
    for (const p of this.loaded.values()) p.then((s) => s.wipe(), () => {});
  }
}

// The day timeline: runs, gaps, hour ticks, a playhead; zoomable; a slider for keyboards.
class Timeline {
  constructor(dayStart, onSeek) {
    this.dayStart = dayStart; this.onSeek = onSeek;
    this.v0 = dayStart; this.v1 = dayStart + DAY; this.runs = []; this.pos = null;
    this.ticks = h('div', { class: 'ticks', 'aria-hidden': 'true' });
    this.bar = h('div', { class: 'bar' });
    this.head = h('div', { class: 'playhead', hidden: true });
    this.hover = h('div', { class: 'hovertime', hidden: true });
    this.node = h('div', { class: 'timeline', id: 'timeline', role: 'slider', tabindex: 0, 'aria-label': 'Timeline: recorded time on this day',
      'aria-valuemin': 0, 'aria-valuemax': 86400 }, this.ticks, this.bar, this.head, this.hover);
    let dragging = false;
    const at = (ev) => { const r = this.bar.getBoundingClientRect(); return this.v0 + Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)) * (this.v1 - this.v0); };
    this.node.addEventListener('pointerdown', (ev) => { dragging = true; this.node.setPointerCapture(ev.pointerId); this.setPos(at(ev)); this.node.focus(); });
    this.node.addEventListener('pointermove', (ev) => {
      const t = at(ev);
      this.hover.hidden = false; this.hover.textContent = clock(t); this.hover.style.left = `${this.pct(t)}%`;
      if (dragging) this.setPos(t);
    });
    this.node.addEventListener('pointerleave', () => { this.hover.hidden = true; });
    this.node.addEventListener('pointerup', (ev) => { if (dragging) { dragging = false; this.onSeek(at(ev)); } });
    this.node.addEventListener('keydown', (ev) => this.key(ev));
  }

  pct(t) { return ((t - this.v0) / (this.v1 - this.v0)) * 100; }

  setRuns(runs) { this.runs = runs; this.draw(); }

  fit() {
    this.userZoomed = false;
    if (!this.runs.length) { this.v0 = this.dayStart; this.v1 = this.dayStart + DAY; }
    else {
      const a = Math.max(this.dayStart, this.runs[0].start90k), b = Math.min(this.dayStart + DAY, this.runs[this.runs.length - 1].end90k);
      const span = Math.max(b - a, 60 * 90000), m = span * 0.1;
      this.v0 = Math.max(this.dayStart, a - m); this.v1 = Math.min(this.dayStart + DAY, a + span + m);
    }
    this.draw();
  }

  zoom(f) {
    this.userZoomed = true;
    const c = this.pos ?? (this.v0 + this.v1) / 2, span = Math.min(DAY, Math.max(30 * 90000, (this.v1 - this.v0) * f));
    this.v0 = Math.max(this.dayStart, Math.min(this.dayStart + DAY - span, c - span / 2)); this.v1 = this.v0 + span;
    this.draw();
  }

  draw() {
    const span = this.v1 - this.v0;
    const steps = [10, 30, 60, 300, 600, 1800, 3600, 7200, 10800].map((s) => s * 90000);
    const maxTicks = Math.max(3, Math.min(12, Math.floor((this.bar.clientWidth || 800) / 80)));
    const step = steps.find((s) => span / s <= maxTicks) || 3 * 3600 * 90000;
    const ticks = [];
    for (let t = Math.ceil((this.v0 - this.dayStart) / step) * step + this.dayStart; t <= this.v1; t += step) {
      const lbl = clock(t); ticks.push(h('span', { class: 'tick', style: null, 'data-left': this.pct(t), text: step < 60 * 90000 ? lbl : lbl.slice(0, 5) }));
    }
    this.ticks.replaceChildren(...ticks);
    this.bar.replaceChildren(...this.runs.filter((r) => r.end90k > this.v0 && r.start90k < this.v1).map((r) => {
      const a = Math.max(r.start90k, this.v0), b = Math.min(r.end90k, this.v1);
      const el = h('div', { class: 'run', title: `${clock(r.start90k)} – ${clock(r.end90k)}` });
      el.style.left = `${this.pct(a)}%`; el.style.width = `${Math.max(0.15, this.pct(b) - this.pct(a))}%`;
      return el;
    }));
    for (const t of this.ticks.children) t.style.left = `${t.dataset.left}%`;
    if (this.pos !== null) this.setPos(this.pos);
  }

  setPos(t) {
    this.pos = t;
    const p = this.pct(t);
    this.head.hidden = p < 0 || p > 100;
    this.head.style.left = `${p}%`;
    this.node.setAttribute('aria-valuenow', Math.round((t - this.dayStart) / 90000));
    this.node.setAttribute('aria-valuetext', clock(t));
  }

  key(ev) {
    const s = 90000, cur = this.pos ?? (this.runs[0] ? this.runs[0].start90k : this.dayStart);
    const moves = { ArrowLeft: -10 * s, ArrowRight: 10 * s, PageUp: -600 * s, PageDown: 600 * s };
    let t = null;
    if (ev.key in moves) t = cur + moves[ev.key] * (ev.shiftKey ? 6 : 1);
    else if (ev.key === 'Home') t = this.runs.length ? this.runs[0].start90k : this.dayStart;
    else if (ev.key === 'End') t = this.runs.length ? this.runs[this.runs.length - 1].end90k - 2 * s : this.dayStart + DAY - s;
    else if (ev.key === '+' || ev.key === '=') { this.zoom(0.5); ev.preventDefault(); return; }
    else if (ev.key === '-') { this.zoom(2); ev.preventDefault(); return; }
    else return;
    ev.preventDefault();
    t = Math.max(this.dayStart, Math.min(this.dayStart + DAY - 1, t));
    this.setPos(t);
    if (t < this.v0 || t > this.v1) this.zoom(1);
    this.onSeek(t);
  }
}

export async function playback() {
  const [{ cameras: cams }, me] = await Promise.all([api('GET', '/api/cameras'), api('GET', '/api/me')]);
  const root = h('div', { class: 'playback' });
  if (!cams.length) { root.append(h('h1', { text: 'Playback' }), h('div', { class: 'card placeholder' }, h('p', { text: 'No cameras yet.' }))); return root; }
  const orgId = orgIdOf(me);
  const m = location.hash.match(/^#\/playback\/(\d+)/);
  const cam = cams.find((c) => c.id === Number(m ? m[1] : remembered.camId)) || cams[0];
  remembered.camId = cam.id;
  const day = remembered.day || isoDay(new Date());
  remembered.day = day;
  const dayStart = dayStartOf(day);

  const video = h('video', { id: 'pb-video', playsinline: true, muted: true, 'aria-label': `Recorded video of ${cam.name}` });
  video.muted = true;
  const msg = h('div', { class: 'overlay', hidden: true, role: 'status', id: 'pb-msg' });
  const setMsg = (t) => { msg.textContent = t; msg.hidden = !t; };
  // Segment signatures (segsig.js): the recorder key pinned for this organization.
  const verifyOut = h('p', { id: 'pb-verify', class: 'verify hint', role: 'status', text: 'Signature: not checked yet' });
  const showVerify = (v) => {
    verifyOut.textContent = `Segment ${v.id}: ${describe(v)}`;
    verifyOut.className = `verify ${v.status === VERIFIED ? 'ok' : v.status === UNSIGNED ? 'warnc' : 'error'}`;
  };
  const keyWarn = h('div', { id: 'rec-key-warn', class: 'card warn', role: 'alert', hidden: true });
  const trust = recorderTrust(orgId);
  trust.then((t) => {
    if (t.state !== 'changed') return;
    keyWarn.hidden = false;
    keyWarn.replaceChildren(
      h('h2', { text: 'The recorder\u2019s signing key has changed' }),
      h('p', { text: 'Recordings signed by the new key are not shown as genuine until you trust it. Trust it only if your administrator replaced the recorder; otherwise the server may be presenting forged footage.' }),
      h('p', {}, 'Pinned key: ', h('code', { class: 'mono', id: 'rec-fp-pinned', text: t.pinnedFp })),
      h('p', {}, 'Key offered now: ', h('code', { class: 'mono', id: 'rec-fp-offered', text: t.offeredFp })),
      h('button', { type: 'button', class: 'secondary', id: 'rec-trust', text: 'Trust the new recorder key',
        onclick: () => { trustRecorder(localStorage, sodium.to_hex(orgId), t.offered); go(`#/playback/${cam.id}`); } }));
  }, (e) => setMsg(`Cannot check recording signatures: ${e.message}`));
  const reader = new ArchivePlayer(video, cam, orgId, dayStart, setMsg, trust, showVerify);
  const tl = new Timeline(dayStart, (t) => seek(t));
  const readout = h('span', { class: 'readout mono', id: 'pb-time', text: '--:--:--' });

  const camSel = h('select', { id: 'pb-camera', 'aria-label': 'Camera' }, cams.map((c) => h('option', { value: c.id, text: c.name, selected: c.id === cam.id })));
  camSel.addEventListener('change', () => { remembered.camId = Number(camSel.value); go(`#/playback/${camSel.value}`); });
  const dayIn = h('input', { id: 'pb-day', type: 'date', value: day, max: isoDay(new Date()), 'aria-label': 'Day' });
  const setDay = (d) => { remembered.day = d; go(`#/playback/${cam.id}`); };
  dayIn.addEventListener('change', () => { if (dayIn.value) setDay(dayIn.value); });
  const shiftDay = (n) => { const d = new Date(dayStart / 90); d.setDate(d.getDate() + n); setDay(isoDay(d)); };

  const playBtn = h('button', { type: 'button', id: 'pb-play', class: 'secondary', text: 'Play', 'aria-keyshortcuts': 'Space' });
  const togglePlay = () => {
    if (!reader.cur) { const t = tl.pos ?? (tl.runs[0] ? tl.runs[0].start90k : dayStart); seek(t, true); return; }
    if (video.paused) video.play().catch(() => {}); else video.pause();
  };
  playBtn.addEventListener('click', togglePlay);
  video.addEventListener('play', () => { playBtn.textContent = 'Pause'; });
  video.addEventListener('pause', () => { playBtn.textContent = 'Play'; });
  const speedBtns = SPEEDS.map((s) => h('button', { type: 'button', class: 'secondary seg', 'aria-pressed': s === 1 ? 'true' : 'false', text: `${s}×`,
    onclick: () => setSpeed(s) }));
  const setSpeed = (s) => {
    video.playbackRate = s; video.defaultPlaybackRate = s;
    speedBtns.forEach((b, i) => b.setAttribute('aria-pressed', SPEEDS[i] === s ? 'true' : 'false'));
  };

  let wantPlay = true;
  async function seek(t, play = wantPlay || !video.paused) {
    tl.setPos(t); readout.textContent = clock(t, true);
    wantPlay = false;
    await reader.seek(t, play);
  }

  // time display follows the video
  let raf = 0;
  const follow = () => {
    if (reader.cur && video.readyState > 0) { const t = reader.now(); tl.setPos(t); readout.textContent = clock(t, true); }
    raf = requestAnimationFrame(follow);
  };
  raf = requestAnimationFrame(follow);

  // ---- export ----
  const fromIn = h('input', { id: 'ex-from', name: 'from', inputmode: 'numeric', placeholder: 'HH:MM:SS', 'aria-describedby': 'ex-hint' });
  const toIn = h('input', { id: 'ex-to', name: 'to', inputmode: 'numeric', placeholder: 'HH:MM:SS' });
  const prog = h('progress', { id: 'ex-progress', max: 1, value: 0, hidden: true });
  const exOut = h('div', { id: 'ex-out', role: 'status' });
  const exBtn = h('button', { type: 'submit', text: 'Export MP4' });
  const exForm = h('form', { class: 'card export', novalidate: true },
    h('h2', { text: 'Export' }),
    h('p', { class: 'hint', id: 'ex-hint', text: 'Decrypted in this browser and saved as an MP4 file. Every export is recorded in the audit log.' }),
    h('div', { class: 'row' },
      h('div', {}, h('label', { for: 'ex-from', text: 'From' }), fromIn),
      h('div', {}, h('label', { for: 'ex-to', text: 'To' }), toIn),
      h('div', { class: 'ex-actions' }, h('button', { type: 'button', class: 'secondary', text: 'Use the last minute before the playhead',
        onclick: () => { const t = tl.pos ?? dayStart; fromIn.value = timeInput(Math.max(dayStart, t - 60 * 90000)); toIn.value = timeInput(t); } }))),
    exBtn, prog, exOut);
  exForm.addEventListener('submit', async (ev) => {
    ev.preventDefault(); exOut.textContent = '';
    const from = parseTimeInput(dayStart, fromIn.value), to = parseTimeInput(dayStart, toIn.value);
    if (from === null || to === null || to <= from) { exOut.replaceChildren(h('p', { class: 'error', text: 'Give a start and an end time (HH:MM:SS), end after start.' })); return; }
    if (to - from > 6 * 3600 * 90000) { exOut.replaceChildren(h('p', { class: 'error', text: 'Export at most 6 hours at a time.' })); return; }
    exBtn.disabled = true; prog.hidden = false; prog.value = 0;
    try {
      await api('POST', '/api/audit/export', { camera_id: cam.id, from90k: Math.floor(from), to90k: Math.ceil(to) }).catch((e) => {
        if (e.status !== 404 && e.status !== 405) throw e;      // the server audits the segment reads too
      });
      const keys = await cameraKeysFor(cam);
      const r = await exportRange(cam.id, keys, orgId, from, to, { trust: await trust, onProgress: (d, n) => { prog.value = n ? d / n : 1; } });
      const d = new Date(r.start90k / 90);
      const name = `vigil-${cam.name.replace(/[^\w.-]+/g, '_')}-${isoDay(d).replace(/-/g, '')}-${clock(r.start90k).replace(/:/g, '')}.mp4`;
      const url = URL.createObjectURL(r.blob);
      onLeave(() => URL.revokeObjectURL(url));
      const a = h('a', { href: url, download: name, id: 'ex-link', text: `Download ${name}` });
      const v = r.verification, nseg = v.segments.length;
      const vtext = v.unsigned ? `Signatures: ${v.verified} of ${nseg} segments verified; ${v.unsigned} not signed yet (still being recorded).`
        : `Signatures: all ${nseg} segments verified against the recorder key ${v.recorderFp}.`;
      exOut.replaceChildren(h('p', { class: 'ok' }, `Exported ${clock(r.start90k)}–${clock(r.end90k)} (${(r.blob.size / 1048576).toFixed(1)} MiB). `, a),
        h('p', { id: 'ex-verify', class: v.unsigned ? 'warnc' : 'ok', text: vtext }),
        ...(r.note ? [h('p', { class: 'warnc', text: r.note })] : []));
      a.click();
    } catch (e) {
      const refused = e.code === 'tampered' || e.code === 'wrong_key';
      exOut.replaceChildren(h('p', { class: 'error', id: refused ? 'ex-refused' : null, text: refused ? `Export refused. ${e.message}` : e.message }));
      if (e.verification) showVerify(e.verification);
    } finally { exBtn.disabled = false; }
  });

  // ---- layout ----
  root.append(
    h('div', { class: 'toolbar' }, h('h1', { text: 'Playback' }), h('span', { class: 'spacer' }), camSel,
      h('button', { type: 'button', class: 'secondary', text: '‹', 'aria-label': 'Previous day', onclick: () => shiftDay(-1) }), dayIn,
      h('button', { type: 'button', class: 'secondary', text: '›', 'aria-label': 'Next day', onclick: () => shiftDay(1) }),
      h('a', { href: `#/live/${cam.id}`, class: 'btn secondary', text: 'Live' })),
    keyWarn,
    h('div', { class: 'screen pb-screen' }, video, msg), verifyOut,
    h('div', { class: 'controls' }, playBtn, h('span', { class: 'segmented', role: 'group', 'aria-label': 'Speed' }, speedBtns), readout,
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'secondary', text: '−', 'aria-label': 'Zoom out', onclick: () => tl.zoom(2) }),
      h('button', { type: 'button', class: 'secondary', text: '+', 'aria-label': 'Zoom in', onclick: () => tl.zoom(0.5) }),
      h('button', { type: 'button', class: 'secondary', text: 'Fit', onclick: () => tl.fit() })),
    tl.node,
    h('p', { class: 'hint', text: 'Click or drag on the timeline to seek. Keys: Space play/pause · ←/→ 10 s (Shift: 1 min) · PgUp/PgDn 10 min · +/− zoom · [ ] speed.' }),
    exForm);

  const onKey = (ev) => {
    if (ev.target.closest && ev.target.closest('input, select, textarea, button, a')) return;
    if (ev.key === ' ') { ev.preventDefault(); togglePlay(); }
    else if (ev.key === '[' || ev.key === ']') {
      const i = SPEEDS.indexOf(video.playbackRate);
      setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 1 : i) + (ev.key === ']' ? 1 : -1)))]);
    } else if ((ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') && ev.target !== tl.node) tl.key(ev);
  };
  document.addEventListener('keydown', onKey);
  onLeave(() => { document.removeEventListener('keydown', onKey); cancelAnimationFrame(raf); reader.destroy(); });

  // load the day's recordings, refresh while today is shown
  const refresh = async () => {
    try {
      const r = await recordings(cam.id, dayStart, dayStart + DAY);
      reader.setSegments(r.segments);
      tl.setRuns(r.runs);
      if (!tl.userZoomed) tl.fit();     // follow new footage unless the user zoomed
      if (!r.runs.length) setMsg('Nothing recorded on this day.');
      else if (msg.textContent === 'Nothing recorded on this day.') setMsg('');
    } catch (e) { setMsg(e.message); }
  };
  await refresh();
  if (dayStart + DAY > Date.now() * 90) { const t = setInterval(refresh, 10000); onLeave(() => clearInterval(t)); }
  reader.keys.catch((e) => setMsg(e.message));
  if (tl.runs.length) { const last = tl.runs[tl.runs.length - 1]; tl.setPos(Math.max(last.start90k, last.end90k - 30 * 90000)); }
  return root;
}
