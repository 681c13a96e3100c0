// SPDX-License-Identifier: Apache-2.0
// One <video> fed through Media Source Extensions with decrypted fMP4: the
// init segment, then moof+mdat fragments. SourceBuffer mode 'segments' (the
// fragments carry their own decode times, t90k since the Unix epoch on the
// video track), shifted by timestampOffset so the element's clock starts near
// zero. Appends are queued (a SourceBuffer takes one at a time). Live mode
// keeps the playhead at the live edge (docs/design/live.md "Latency"): a small
// target behind the newest frame, caught up by playbackRate when a little
// behind, by a seek when far behind; old buffer is trimmed.
import { parseInit, isHevc } from './mp4.js';

const LIVE_TARGET = 0.06;       // s behind the end of the newest frame (two frames at 30 fps)
const LIVE_SLACK = 0.04;        // s over the target tolerated at normal speed
// With sound the audio renderer drives the clock and stalls (then refills) when
// it runs dry: keep a few audio frames ahead (AAC: 1024 samples, 21-64 ms).
const LIVE_TARGET_AUDIO = 0.2;
const LIVE_SLACK_AUDIO = 0.1;
const LIVE_SEEK = 1.0;          // s: further behind than this, seek (a catch-up would take long)
const LIVE_RATE_MAX = 1.25;     // fastest catch-up (audio pitch is kept by the browser)
const KEEP_BEHIND = 20;         // s of buffer kept behind the playhead
const LIVE_KEEP_BEHIND = 3;     // s kept behind the playhead live: no long buffered tail

export class PlayerError extends Error {
  constructor(code, msg) { super(msg); this.code = code; }
}

export class MsePlayer {
  constructor(video, { live = false, onStall } = {}) {
    this.video = video; this.live = live; this.onStall = onStall;
    this.ms = null; this.sb = null; this.mime = null; this.queue = []; this.offset = null;
    this.closed = false; this.url = null; this.opened = null;
    this.frames = 0;
    if (live) video.addEventListener('waiting', this.kick = () => this.chase());
  }

  // Decrypted init segment; (re)creates or re-types the SourceBuffer. Returns the parsed tracks.
  async setInit(init) {
    const info = parseInit(init);
    const video = info.tracks.find((t) => t.kind === 'video');
    if (video && isHevc(video.codec) && !MediaSource.isTypeSupported(info.mime))
      throw new PlayerError('hevc', 'H.265: this browser cannot play it here. Use Export and a player such as VLC or ffplay.');
    if (!MediaSource.isTypeSupported(info.mime)) throw new PlayerError('codec', `This browser cannot play ${info.mime}.`);
    if (!this.ms) {
      this.ms = new MediaSource();
      this.url = URL.createObjectURL(this.ms);
      this.opened = new Promise((res) => this.ms.addEventListener('sourceopen', res, { once: true }));
      this.video.src = this.url;
    }
    await this.opened;
    if (this.closed) return info;
    if (!this.sb) {
      this.sb = this.ms.addSourceBuffer(info.mime);
      this.sb.mode = 'segments';
      this.sb.addEventListener('updateend', () => this.pump());
      this.sb.addEventListener('error', () => this.onStall && this.onStall('append error'));
    } else if (info.mime !== this.mime && this.sb.changeType) {
      await this.idle();
      this.sb.changeType(info.mime);
    }
    this.mime = info.mime;
    this.tracks = info.tracks;
    this.enqueue({ data: init });
    return info;
  }

  // Sets the timestamp offset (seconds subtracted from media time) once.
  base(seconds) { if (this.offset === null) { this.offset = seconds; this.enqueue({ offset: -seconds }); } }

  append(fragment) { this.frames++; this.enqueue({ data: fragment }); }

  enqueue(op) { this.queue.push(op); this.pump(); }

  // Resolves when every queued operation has been applied.
  drained() {
    if (!this.sb || (!this.queue.length && !this.sb.updating)) return Promise.resolve();
    return new Promise((res) => (this.waiters || (this.waiters = [])).push(res));
  }

  idle() {
    if (!this.sb || !this.sb.updating) return Promise.resolve();
    return new Promise((res) => this.sb.addEventListener('updateend', res, { once: true }));
  }

  pump() {
    if (this.closed || !this.sb || this.sb.updating) return;
    while (this.queue.length) {
      const op = this.queue.shift();
      try {
        if (op.offset !== undefined) { this.sb.timestampOffset = op.offset; continue; }
        if (op.remove) { this.sb.remove(op.remove[0], op.remove[1]); return; }
        this.sb.appendBuffer(op.data);
        return;
      } catch (e) {
        if (e.name === 'QuotaExceededError') { this.trim(2); this.queue.unshift(op); return; }
        this.onStall && this.onStall(e.message);
        return;
      }
    }
    if (this.waiters) { const w = this.waiters; this.waiters = null; w.forEach((f) => f()); }
    if (this.live) this.chase();
    else this.trimIfNeeded();
  }

  // Live: play the newest frame as soon as it is appended. The lag behind the
  // newest frame's end is measured after each append: far behind (or outside
  // the newest buffered range, e.g. after a gap) -> seek to the target; a
  // little behind -> play faster until back at the target; else normal speed.
  chase() {
    const v = this.video, b = v.buffered;
    if (!b.length) return;
    const start = b.start(b.length - 1), end = b.end(b.length - 1);
    const lag = end - v.currentTime;
    const audio = this.tracks && this.tracks.some((t) => t.kind === 'audio');
    const target = audio ? LIVE_TARGET_AUDIO : LIVE_TARGET, slack = audio ? LIVE_SLACK_AUDIO : LIVE_SLACK;
    if (v.currentTime < start || lag > LIVE_SEEK) {
      v.currentTime = Math.max(start, end - target);
      v.playbackRate = 1;
    } else if (lag > target + slack) {
      v.playbackRate = Math.min(LIVE_RATE_MAX, 1 + (lag - target));
    } else if (v.playbackRate !== 1) {
      v.playbackRate = 1;
    }
    this.lag = lag;
    if (v.paused) v.play().catch(() => {});
    this.trimIfNeeded();
  }

  trimIfNeeded() {
    const b = this.video.buffered, keep = this.live ? LIVE_KEEP_BEHIND : KEEP_BEHIND;
    if (b.length && this.video.currentTime - b.start(0) > keep * 1.5) this.trim(keep);
  }

  trim(keep) {
    const b = this.video.buffered;
    if (!b.length || !this.sb) return;
    const to = this.video.currentTime - keep;
    if (to > b.start(0)) this.queue.unshift({ remove: [0, to] });
  }

  // Seconds of media buffered ahead of the playhead.
  ahead() {
    const v = this.video, b = v.buffered;
    for (let i = 0; i < b.length; i++) if (v.currentTime >= b.start(i) - 0.05 && v.currentTime <= b.end(i)) return b.end(i) - v.currentTime;
    return 0;
  }

  destroy() {
    this.closed = true; this.queue = [];
    if (this.waiters) { this.waiters.forEach((f) => f()); this.waiters = null; }
    if (this.kick) this.video.removeEventListener('waiting', this.kick);
    try { if (this.ms && this.ms.readyState === 'open') this.ms.endOfStream(); } catch { /* closing anyway */ }
    this.video.removeAttribute('src'); this.video.load();
    if (this.url) URL.revokeObjectURL(this.url);
  }
}
