// SPDX-License-Identifier: Apache-2.0
// Glass-to-glass latency reader, injected into a page that plays the time-code
// camera (bench/latency/tccam.py) in a <video>. For every frame the compositor
// presents (requestVideoFrameCallback), the frame is drawn to a canvas, its block
// code (capture time, ms since the epoch) decoded, and
//     latency = wall clock at presentation - capture time
// where the wall clock at presentation is performance.timeOrigin +
// metadata.expectedDisplayTime. Both clocks are this machine's.
// Layout (must match tccam.py): 16 x 4 cells of 32 px at (64, 64) in a 640 x 360
// picture (scaled for other sizes); 48-bit ms then a 16-bit check.
// Usage: installLatencyProbe('video[data-camera="1"]'); results in window.__lat.
/* eslint-disable no-undef */
globalThis.installLatencyProbe = function installLatencyProbe(selector) {
  const CELL = 32, COLS = 16, ROWS = 4, X0 = 64, Y0 = 64, REF_W = 640;
  const st = globalThis.__lat = { samples: [], bad: 0, seen: 0, presented0: null, presented: 0, clockSkew: 0, attached: false, size: '' };
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });

  function decode(img, w) {
    const s = w / REF_W;
    let hi = 0, lo = 0;           // 64 bits as two 32-bit halves (JS numbers)
    for (let i = 0; i < COLS * ROWS; i++) {
      const r = Math.floor(i / COLS), c = i % COLS;
      const cx = Math.round((X0 + c * CELL + CELL / 2) * s), cy = Math.round((Y0 + r * CELL + CELL / 2) * s);
      const half = Math.max(2, Math.round(CELL * s / 4));
      let sum = 0, n = 0;
      for (let y = cy - half; y < cy + half; y++)
        for (let x = cx - half; x < cx + half; x++) { sum += img.data[(y * img.width + x) * 4 + 1]; n++; }
      const bit = sum / n > 128 ? 1 : 0;
      if (i < 32) hi = hi * 2 + bit; else lo = lo * 2 + bit;
    }
    const ms = hi * 65536 + Math.floor(lo / 65536);
    const check = lo % 65536;
    const w0 = Math.floor(hi / 65536), w1 = hi % 65536, w2 = Math.floor(lo / 65536);
    if ((((w0 + w1 + w2) & 0xffff) ^ 0xa55a) !== check) return null;
    return ms;
  }

  function onFrame(video, now, meta) {
    const w = video.videoWidth, h = video.videoHeight;
    if (w && h) {
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; st.size = `${w}x${h}`; }
      ctx.drawImage(video, 0, 0, w, h);
      const img = ctx.getImageData(0, 0, w, Math.min(h, Math.ceil((Y0 + ROWS * CELL + 8) * w / REF_W)));
      const ms = decode(img, w);
      st.seen++;
      if (st.presented0 === null) st.presented0 = meta.presentedFrames;
      st.presented = meta.presentedFrames - st.presented0;
      if (ms === null) st.bad++;
      else {
        const shown = performance.timeOrigin + meta.expectedDisplayTime;
        st.clockSkew = Date.now() - (performance.timeOrigin + performance.now());
        const b = video.buffered;
        st.samples.push([ms, shown - ms, b.length ? b.end(b.length - 1) - video.currentTime : -1, video.playbackRate]);
      }
    }
    video.requestVideoFrameCallback((n, m) => onFrame(video, n, m));
  }

  (function attach() {
    const v = document.querySelector(selector);
    if (!v || !v.requestVideoFrameCallback) { setTimeout(attach, 50); return; }
    st.attached = true;
    st.waiting = 0; st.seeks = 0;
    v.addEventListener('waiting', () => st.waiting++);
    v.addEventListener('seeking', () => st.seeks++);
    v.requestVideoFrameCallback((n, m) => onFrame(v, n, m));
  })();
};

// Summary of window.__lat over the samples captured at or after sinceMs (wall clock).
globalThis.latencySummary = function latencySummary(sinceMs) {
  const st = globalThis.__lat;
  const xs = st.samples.filter(([cap]) => cap >= sinceMs).map(([, l]) => l).sort((a, b) => a - b);
  const q = (p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] : null);
  return { frames: xs.length, bad: st.bad, seen: st.seen, presented: st.presented, size: st.size,
           min: xs[0] ?? null, median: q(0.5), p90: q(0.9), p99: q(0.99), max: xs[xs.length - 1] ?? null,
           clockSkew: st.clockSkew, waiting: st.waiting, seeks: st.seeks,
           trace: globalThis.LAT_TRACE ? st.samples.filter(([cap]) => cap >= sinceMs).map(([c, l, a, r]) => [c % 100000, Math.round(l), Math.round(a * 1000), r]) : undefined };
};
