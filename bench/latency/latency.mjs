// SPDX-License-Identifier: Apache-2.0
// Glass-to-glass latency of vigil's live view (and of a plain ffmpeg -> fMP4 -> MSE
// baseline) with real Chromium. The time-code camera (tccam.py) stamps each frame's
// capture time into the picture; probe.js reads it back from every presented frame.
//   node bench/latency/latency.mjs
// Env: VIGIL_BIN (default build/release/vigil), CHROMIUM, SECONDS_MEASURED (default 40),
//      WARMUP (s, default 5), MODES (default "vigil,baseline"), AUDIO=1 (camera with AAC),
//      UI_DIR (serve another ui/ tree, e.g. an older player), OUT (JSON results file), CHECK=1 (also exercise the grid and the sound control).
// Prints one JSON line per mode: RESULT {...}.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, newPage, setupOwner, sleep, startVigil } from '../../tests/web/browser_util.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const VIGIL = process.env.VIGIL_BIN || path.join(ROOT, 'build/release/vigil');
const SECONDS = Number(process.env.SECONDS_MEASURED || 40);
const WARMUP = Number(process.env.WARMUP || 5);
const MODES = (process.env.MODES || 'vigil,baseline').split(',').filter(Boolean);
const CHECK = process.env.CHECK === '1';   // also check the sound control (tests/web/test_latency_probe.py)
const PROBE = readFileSync(path.join(HERE, 'probe.js'), 'utf8');
const children = [];

// Starts a child and resolves with its output once `ready` matches it.
function start(cmd, args, ready, opts = {}) {
  const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  children.push(p);
  p.text = '';
  p.stdout.on('data', (d) => { p.text += d; });
  p.stderr.on('data', (d) => { p.text += d; });
  p.closed = new Promise((r) => p.on('close', r));
  return new Promise((res, rej) => {
    const t = setInterval(() => { const m = p.text.match(ready); if (m) { clearInterval(t); res([p, m]); } }, 50);
    p.on('exit', (c) => { clearInterval(t); rej(new Error(`${cmd} exited ${c}: ${p.text.slice(-3000)}`)); });
    setTimeout(() => { clearInterval(t); rej(new Error(`${cmd} not ready: ${p.text.slice(-3000)}`)); }, 30000);
  });
}

async function measure(page, selector, label) {
  if (!await page.evaluate(() => !!globalThis.__lat)) {
    await page.evaluate(PROBE);   // devtools evaluation: not subject to the page's CSP
    await page.evaluate(([s, trace]) => { globalThis.LAT_TRACE = trace; globalThis.installLatencyProbe(s); }, [selector, !!process.env.TRACE]);
  }
  await page.waitForFunction(() => globalThis.__lat && globalThis.__lat.samples.length > 0, null, { timeout: 30000 });
  await sleep(WARMUP * 1000);
  const since = Date.now();
  await sleep(SECONDS * 1000);
  const r = await page.evaluate((t) => globalThis.latencySummary(t), since);
  r.mode = label; r.seconds = SECONDS;
  r.audio = await page.$eval(selector, (v) => ({ decodedBytes: v.webkitAudioDecodedByteCount, muted: v.muted }));
  console.log('RESULT ' + JSON.stringify(r));
  return r;
}

// The single view's sound control: shown for a camera with audio; muted, no audio
// is decoded (the tile plays video only); on click it unmutes and the audio track
// decodes (webkitAudioDecodedByteCount grows while currentTime advances).
const mediaState = (page, sel) => page.$eval(sel, (v) => ({ muted: v.muted, bytes: v.webkitAudioDecodedByteCount, t: v.currentTime, paused: v.paused }));
async function soundOn(page, sel) {
  const btn = page.locator('#live-unmute');
  const out = { button: await btn.isVisible() };
  if (!out.button) return out;
  out.before = await mediaState(page, sel);
  await btn.click();
  await sleep(1500);
  out.on1 = await mediaState(page, sel);
  await sleep(1500);
  out.on2 = await mediaState(page, sel);
  out.label = await btn.textContent();
  return out;
}

// vigil: setup an organization in the browser, add the camera, make its key, open #/live/ID.
async function vigilMode(browser, rtsp) {
  const vigil = await startVigil(['run'], { prefix: 'vigil-lat-', bin: VIGIL, ui: process.env.UI_DIR || path.join(ROOT, 'ui') });
  children.push(vigil.proc);
  try {
    const { ctx, page } = await newPage(browser, { viewport: { width: 1280, height: 860 }, consoleErrors: false });
    page.on('pageerror', (e) => console.error('pageerror:', String(e)));
    await setupOwner(page, vigil.link, { org: 'Latency Lab', timeout: 30000 });
    const camId = await page.evaluate(async (url) => {
      const r = await fetch('/api/cameras', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
                                               body: JSON.stringify({ name: 'Time code', url }) });
      return (await r.json()).id;
    }, rtsp);
    await page.evaluate(() => { location.hash = '#/audit'; });
    await page.evaluate(() => { location.hash = '#/cameras'; });
    const create = page.locator(`[data-create-key="${camId}"]`);
    await create.waitFor({ timeout: 15000 });
    await create.click();
    await page.waitForFunction(() => /Footage key made/.test(document.getElementById('toast').textContent), null, { timeout: 20000 });
    const sel = `video[data-camera="${camId}"]`;
    let grid = null;
    if (CHECK) {
      // The grid: the tile plays muted and offers no sound control.
      await page.evaluate(() => { location.hash = '#/live'; });
      await page.waitForFunction((s) => { const v = document.querySelector(s); return v && v.getVideoPlaybackQuality().totalVideoFrames > 3; }, sel, { timeout: 30000 });
      grid = await page.$eval(sel, (v) => ({ muted: v.muted, unmute: !!document.getElementById('live-unmute') }));
    }
    await page.evaluate((id) => { location.hash = `#/live/${id}`; }, camId);
    await page.locator(sel).waitFor();
    const r = await measure(page, sel, process.env.LABEL || 'vigil');
    const results = [r];
    if (CHECK || process.env.AUDIO === '1') {
      const single = await soundOn(page, sel);
      if (single.button) results.push(await measure(page, sel, 'vigil, sound on'));
      if (single.button) {
        await page.keyboard.press('m');
        single.afterKey = await mediaState(page, sel);
      }
      r.checks = { grid, single };
    }
    await ctx.close();
    // Under the sanitizers (VIGIL_BIN=build/asan/vigil) a report fails the run.
    if (!await vigil.stop()) throw new Error(`vigil exited ${vigil.proc.exitCode} or reported an error (above)`);
    return results;
  } finally {
    await vigil.stop();   // after a failure: stopped, its directory removed
  }
}

async function baselineMode(browser, rtsp) {
  const [proc, m] = await start('/usr/bin/python3', [path.join(HERE, 'mseserve.py'), '--rtsp', rtsp], /READY port=(\d+)/);
  const { ctx, page } = await newPage(browser, { ignoreHTTPSErrors: false, viewport: { width: 1280, height: 860 }, consoleErrors: false });
  await page.goto(`http://127.0.0.1:${m[1]}/`);
  const r = await measure(page, '#v', 'baseline ffmpeg->fMP4->MSE');
  await ctx.close();
  proc.kill('SIGTERM');
  await proc.closed;
  return r;
}

let code = 0;
const browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
try {
  const camArgs = [path.join(HERE, 'tccam.py'), '--max-seconds', '900'];
  if (process.env.AUDIO === '1') camArgs.push('--audio');
  const [, cm] = await start('/usr/bin/python3', camArgs, /READY port=(\d+)/);
  const rtsp = `rtsp://127.0.0.1:${cm[1]}/tc`;
  const results = [];
  for (const mode of MODES) results.push(...(mode === 'vigil' ? await vigilMode(browser, rtsp) : [await baselineMode(browser, rtsp)]));
  if (process.env.OUT) writeFileSync(process.env.OUT, JSON.stringify(results, null, 2));
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  await browser.close();
  for (const p of children) if (p.exitCode === null) p.kill('SIGTERM');
}
process.exit(code);
