// SPDX-License-Identifier: Apache-2.0
// Browser test of the 16-camera live grid with substreams (Playwright + Debian's
// Chromium) against a real `vigil run --no-demo` and 16 real RTSP cameras, each
// with a main stream and a substream (tests/web/multicam.py, started by
// test_browser_grid16.py; RTSP_PORT, RTSP_USER, RTSP_PASSWORD, MAIN_W, SUB_W).
// Cameras are added with their credentials and a footage key made in this
// browser; then:
//  - every grid tile plays (totalVideoFrames grows) and shows the substream
//    (videoWidth == SUB_W; the server says stream "sub");
//  - no stalls: over WINDOW_S seconds no tile's currentTime stops advancing for
//    more than STALL_MAX_S (sampled in the page every 100 ms); dropped frames
//    reported;
//  - the single view plays the main stream (videoWidth == MAIN_W), and its
//    stream selector switches to the substream;
//  - the camera form shows the substream URL, never the password.
// Prints one line "REPORT {json}" with the measurements (CPU of vigil, of
// Chromium's processes and of the camera server over the window).
import { ART, check, dumpPages, launchChromium, newPage, setupOwner, sleep, startVigil } from './browser_util.mjs';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const N = 16;
const WINDOW_S = Number(process.env.WINDOW_S || 20);
const STALL_MAX_S = 1.5;
const RTSP_PORT = Number(process.env.RTSP_PORT);
const USER = process.env.RTSP_USER || '', PASS = process.env.RTSP_PASSWORD || '';
const MAIN_W = Number(process.env.MAIN_W || 640), SUB_W = Number(process.env.SUB_W || 320);
if (!RTSP_PORT) throw new Error('RTSP_PORT not set');

// ---- CPU accounting from /proc (utime + stime of a process tree) ----
// Chromium's processes are this node process's descendants (Playwright
// launched them); vigil is counted apart (its own pid, no children).
const TCK = 100;   // USER_HZ on Linux
function statOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch { return null; }
}
function treeTicks(root, withRoot = true) {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = statOf(d);
    if (st) { if (!kids.has(st.ppid)) kids.set(st.ppid, []); kids.get(st.ppid).push([Number(d), st.ticks]); }
  }
  let total = 0;
  const walk = (pid) => { for (const [k, t] of kids.get(pid) || []) { total += t; walk(k); } };
  const me = statOf(root);
  if (me && withRoot) total += me.ticks;
  walk(root);
  return total;
}

const vigil = await startVigil(['run', '--no-demo'], { prefix: 'vigil-grid-' });
const proc = vigil.proc;
const chromiumTicks = () => treeTicks(process.pid, false) - treeTicks(proc.pid);

const browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
let failed = false;
const report = { cameras: N, window_s: WINDOW_S };
try {
  // The whole 4x4 grid on a 1280x960 screen (no tile off-screen, where a browser may stop painting it).
  const { page, errors: consoleErrors } = await newPage(browser, { viewport: { width: 1280, height: 960 } });

  // 1. Setup (the owner's keys stay in this tab)
  await setupOwner(page, vigil.link, { org: 'Grid Test' });

  // 2. 16 cameras, main + substream, one account; each footage key made in this browser
  const ids = await page.evaluate(async ({ n, port, user, pass }) => {
    const { api } = await import('/api.js');
    const { createCameraKey } = await import('/camkeys.js');
    const out = [];
    for (let k = 1; k <= n; k++) {
      const base = `rtsp://127.0.0.1:${port}/cam${k}/`;
      const r = await api('POST', '/api/cameras', { name: `Cam ${String(k).padStart(2, '0')}`, url: base + 'main', sub_url: base + 'sub', username: user, password: pass });
      await createCameraKey(r.id);
      out.push(r.id);
    }
    return out;
  }, { n: N, port: RTSP_PORT, user: USER, pass: PASS });
  check(ids.length === N, `${N} cameras added with a substream and a footage key each`);
  const cams = await page.evaluate(async () => (await (await fetch('/api/cameras')).json()).cameras);
  check(!JSON.stringify(cams).includes(PASS), 'no camera password in GET /api/cameras');

  // 3. The grid: every tile plays its substream
  await page.click('nav >> text=Live');
  await page.locator('#live-grid').waitFor();
  const t0 = Date.now();
  await page.waitForFunction((n) => {
    const vs = [...document.querySelectorAll('#live-grid video')];
    return vs.length === n && vs.every((v) => v.getVideoPlaybackQuality().totalVideoFrames > 0);
  }, N, { timeout: 60000, polling: 250 });
  report.all_tiles_first_frame_ms = Date.now() - t0;
  console.log(`     every tile shows a frame ${report.all_tiles_first_frame_ms} ms after opening the grid`);
  await sleep(2000);   // past the start-up (first keyframe, playhead settling)

  // One measurement window. Time the page itself did not run (its 100 ms tick came
  // late: the machine starved the browser) is not charged to the streams (a stall is the
  // picture standing still while the page runs); a window where the page was frozen for
  // more than a fifth of the time is measured again (at most 3 windows), and reported.
  const measure = async () => {
    const m = {};
    // Sample every tile in the page every 100 ms: the longest time its currentTime stood still.
    await page.evaluate(() => {
      const vs = [...document.querySelectorAll('#live-grid video')];
      const now = performance.now();
      globalThis.gridProbe = vs.map((v) => {
        const q = v.getVideoPlaybackQuality();
        return { id: Number(v.dataset.camera), v, t: v.currentTime, since: now, maxStill: 0, f0: q.totalVideoFrames, d0: q.droppedVideoFrames, jumps: 0 };
      });
      // A late tick (> 300 ms) is time the page was frozen: moved out of every tile's stall.
      globalThis.gridLast = now; globalThis.gridFrozen = 0; globalThis.gridMaxGap = 0;
      globalThis.gridTimer = setInterval(() => {
        const t = performance.now(), dt = t - globalThis.gridLast;
        globalThis.gridLast = t;
        globalThis.gridMaxGap = Math.max(globalThis.gridMaxGap, dt);
        if (dt > 300) {
          globalThis.gridFrozen += dt - 100;
          for (const p of globalThis.gridProbe) p.since += dt - 100;
        }
        for (const p of globalThis.gridProbe) {
          const ct = p.v.currentTime;
          if (ct !== p.t) { if (ct - p.t > 0.5) p.jumps++; p.t = ct; p.since = t; }
          p.maxStill = Math.max(p.maxStill, (t - p.since) / 1000);
        }
      }, 100);
    });
    const vig0 = treeTicks(proc.pid), chr0 = chromiumTicks();
    const cam0 = process.env.CAMS_PID ? treeTicks(Number(process.env.CAMS_PID)) : 0;
    const w0 = Date.now();
    await sleep(WINDOW_S * 1000);
    const wall = (Date.now() - w0) / 1000;
    const vig1 = treeTicks(proc.pid), chr1 = chromiumTicks();
    const cam1 = process.env.CAMS_PID ? treeTicks(Number(process.env.CAMS_PID)) : 0;
    const { tiles, frozen, maxGap } = await page.evaluate(() => {
      clearInterval(globalThis.gridTimer);
      const t = performance.now();
      const tiles = globalThis.gridProbe.map((p) => {
        const q = p.v.getVideoPlaybackQuality();
        return { id: p.id, width: p.v.videoWidth, height: p.v.videoHeight, stream: p.v.dataset.stream || null,
                 frames: q.totalVideoFrames - p.f0, dropped: q.droppedVideoFrames - p.d0,
                 max_still_s: Math.round(Math.max(p.maxStill, (t - p.since) / 1000) * 1000) / 1000, jumps: p.jumps };
      });
      return { tiles, frozen: globalThis.gridFrozen / 1000, maxGap: globalThis.gridMaxGap / 1000 };
    });
    m.page_frozen_s = Math.round(frozen * 1000) / 1000;
    m.page_max_gap_s = Math.round(maxGap * 1000) / 1000;
    m.loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
    m.cpu = {
      vigil_pct: Math.round(((vig1 - vig0) / TCK / wall) * 1000) / 10,
      chromium_pct: Math.round(((chr1 - chr0) / TCK / wall) * 1000) / 10,
      cameras_pct: process.env.CAMS_PID ? Math.round(((cam1 - cam0) / TCK / wall) * 1000) / 10 : null,
      note: '% of one core, averaged over the window (2 cores = 200%)',
    };
    m.tiles = tiles;
    m.frames_total = tiles.reduce((a, t) => a + t.frames, 0);
    m.dropped_total = tiles.reduce((a, t) => a + t.dropped, 0);
    m.max_still_s = Math.max(...tiles.map((t) => t.max_still_s));
    m.min_fps = Math.min(...tiles.map((t) => t.frames / wall));
    m.wall_s = Math.round(wall * 10) / 10;
    return m;
  };
  let meas;
  for (let attempt = 1; attempt <= 3; attempt++) {
    meas = await measure();
    meas.windows = attempt;
    if (meas.page_frozen_s <= 0.2 * WINDOW_S) break;
    console.log(`     the browser was starved (page frozen ${meas.page_frozen_s} s of ${WINDOW_S} s, load average ${meas.loadavg.join(' ')})${attempt < 3 ? ': measuring again' : ''}`);
  }
  Object.assign(report, meas);
  const tiles = report.tiles, wall = report.wall_s;
  await page.screenshot({ path: path.join(ART, '30-grid16-substreams.png') });
  check(tiles.length === N, `${N} tiles on the grid`);
  check(tiles.every((t) => t.width === SUB_W), `every tile shows the substream: videoWidth ${[...new Set(tiles.map((t) => t.width))].join(',')} == ${SUB_W}`);
  check(tiles.every((t) => t.stream === 'sub'), 'the server sent every camera\u2019s substream (STATE stream "sub")');
  check(tiles.every((t) => t.frames >= 5 * wall), `every tile plays: frames per tile over ${wall.toFixed(1)} s: min ${Math.min(...tiles.map((t) => t.frames))}, total ${report.frames_total}`);
  check(report.max_still_s <= STALL_MAX_S, `no stall: the longest any tile's currentTime stood still was ${report.max_still_s} s (limit ${STALL_MAX_S} s; the page itself was frozen ${report.page_frozen_s} s, longest ${report.page_max_gap_s} s, load average ${report.loadavg.join(' ')})`);
  console.log(`     dropped frames: ${report.dropped_total} of ${report.frames_total}; CPU vigil ${report.cpu.vigil_pct}%, Chromium ${report.cpu.chromium_pct}%, cameras ${report.cpu.cameras_pct}%`);

  // 4. The single view plays the main stream
  const id = ids[0];
  await page.evaluate((i) => { location.hash = `#/live/${i}`; }, id);
  const vsel = `.single-wrap video[data-camera="${id}"]`;
  await page.waitForFunction((s) => { const v = document.querySelector(s); return v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 5; }, vsel, { timeout: 20000 });
  const single = await page.$eval(vsel, (v) => ({ width: v.videoWidth, height: v.videoHeight, stream: v.dataset.stream }));
  report.single = single;
  check(single.width === MAIN_W && single.stream === 'main', `single view plays the main stream (videoWidth ${single.width} == ${MAIN_W})`);
  await page.screenshot({ path: path.join(ART, '31-single-main.png') });
  // its stream selector switches to the substream (keyboard-reachable <select>)
  await page.selectOption('#live-stream', 'sub');
  await page.waitForFunction((s) => { const v = document.querySelector(s); return v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 5; }, vsel, { timeout: 20000 });
  const sw = await page.$eval(vsel, (v) => v.videoWidth);
  check(sw === SUB_W && /\/sub$/.test(await page.evaluate(() => location.hash)), `stream selector: single view on the substream (videoWidth ${sw})`);
  // 5. The camera form shows the substream URL (the password never comes back)
  await page.evaluate(() => { location.hash = '#/cameras'; });
  await page.getByRole('heading', { name: 'Cameras' }).waitFor();
  const subUrl = `rtsp://127.0.0.1:${RTSP_PORT}/cam1/sub`;
  await page.locator('tr', { hasText: subUrl }).getByRole('button', { name: 'Edit' }).click();
  check(await page.inputValue('#f-sub_url') === subUrl && await page.inputValue('#f-password') === '',
        'camera form: substream URL shown for editing, password field empty');
  await page.screenshot({ path: path.join(ART, '32-camera-form-sub.png'), fullPage: true });
  const bad = consoleErrors.filter((e) => !/401|403|404|Failed to load resource/.test(e));
  check(bad.length === 0, 'no console errors: ' + bad.join(' | '));
} catch (e) {
  failed = true;
  console.error(e);
  await dumpPages(browser, 'grid16-failure-', { fullPage: false, text: null });
  console.error(vigil.output().slice(-4000));
} finally {
  console.log('REPORT ' + JSON.stringify(report));
  await browser.close();
  if (!await vigil.stop()) failed = true;
}
process.exit(failed ? 1 : 0);
