// SPDX-License-Identifier: Apache-2.0
// Browser test of watching (Playwright + Debian's Chromium) against a real
// `vigil run --demo` (recorder + web in one process; no mocks): setup -> sign in
// with TOTP -> give the demo camera a footage key (made in the browser) -> live
// view plays (totalVideoFrames grows) -> playback: seek on the timeline, frames
// decode -> export a range to MP4 (saved for ffprobe by test_browser_live.py).
// Every frame shown was decrypted by the browser from what the C recorder
// sealed: this is the cross-check of the envelope format between C and JS.
// Run: node tests/web/browser_live.test.mjs   (VIGIL_BIN, CHROMIUM, EXPORT_PATH)
import { chromium } from 'playwright-core';
import { ART, ROOT, VIGIL, b32decode, check, freePort, nextCode } from './browser_util.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const EXPORT_PATH = process.env.EXPORT_PATH || path.join(ART, 'live-export.mp4');

// ---- helpers shared in spirit with browser.test.mjs ----
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const frames = (page, sel) => page.$eval(sel, (v) => v.getVideoPlaybackQuality().totalVideoFrames);

const dir = mkdtempSync(path.join(tmpdir(), 'vigil-live-'));
const port = await freePort();
const proc = spawn(VIGIL, ['run', '--data', path.join(dir, 'data'), '--demo', '--listen', `127.0.0.1:${port}`, '--ui', path.join(ROOT, 'ui')],
                   { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
const closed = new Promise((r) => proc.on('close', r));
let errText = '';
proc.stderr.on('data', (d) => { errText += d; });
proc.stdout.on('data', (d) => { errText += d; });
const link = await new Promise((res, rej) => {
  const t = setInterval(() => {
    const m = errText.match(/(https:\/\/\S+#setup=[A-Za-z0-9_-]{43})/);
    if (m && errText.includes('listening on')) { clearInterval(t); res(m[1]); }
  }, 50);
  proc.on('exit', (c) => rej(new Error(`vigil run exited ${c}: ${errText}`)));
  setTimeout(() => rej(new Error('no setup link: ' + errText)), 30000);
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required'],
});
let failed = false;
try {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  const page = await ctx.newPage();
  if (process.env.DEBUG) await page.addInitScript(() => { globalThis.VIGIL_DEBUG = true; });
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); if (process.env.DEBUG) console.log('console:', m.type(), m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  // 1. Setup, then sign out and in again with TOTP
  await page.goto(link);
  await page.getByRole('heading', { name: 'Set up vigil' }).waitFor();
  const pw = 'correct staple horse battery lantern';
  await page.fill('#f-org', 'Acme Security');
  await page.fill('#f-email', 'owner@example.com');
  await page.fill('#f-password', pw);
  await page.fill('#f-password2', pw);
  const secret = b32decode(await page.textContent('#totp-secret'));
  await page.fill('#f-totp', nextCode(secret));
  await page.check('#f-recovery-saved');
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: 'Cameras' }).waitFor({ timeout: 20000 });
  await page.click('#logout');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.fill('input[name=email]', 'owner@example.com');
  await page.fill('input[name=password]', pw);
  await page.fill('input[name=totp]', nextCode(secret));
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: 'Cameras' }).waitFor({ timeout: 20000 });
  check(true, 'setup, then sign-in with TOTP');

  // 2. The demo camera gets its footage key, made and sealed in this browser
  const create = page.locator('[data-create-key]').first();
  await create.waitFor({ timeout: 10000 });
  const camId = Number(await create.getAttribute('data-create-key'));
  await create.click();
  // a refusal (e.g. no recovery public key from the server) shows in the toast
  await page.waitForFunction(() => /key/i.test(document.getElementById('toast').textContent), null, { timeout: 15000 });
  const said = await page.textContent('#toast');
  check(/^Footage key made/.test(said), `browser made the camera key: "${said}"`);
  const fpCell = page.locator(`.keyfp[data-camera="${camId}"]`);
  await fpCell.locator('text=/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/').waitFor({ timeout: 15000 });
  const fp = (await fpCell.locator('text=/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/').textContent()).trim();
  check(true, `camera ${camId} has a footage key, fingerprint ${fp}`);
  await page.screenshot({ path: path.join(ART, '10-cameras-keys.png'), fullPage: true });

  // 3. Live grid: frames decode and keep coming
  await page.click('nav >> text=Live');
  const vsel = `video[data-camera="${camId}"]`;
  await page.locator(vsel).waitFor();
  const t0 = Date.now();
  await page.waitForFunction((s) => { const v = document.querySelector(s); return v && v.getVideoPlaybackQuality().totalVideoFrames > 0; }, vsel, { timeout: 30000 });
  console.log(`     first live frame after ${Date.now() - t0} ms`);
  const f0 = await frames(page, vsel);
  await sleep(3000);
  const f1 = await frames(page, vsel);
  check(f1 - f0 >= 20, `live view plays: totalVideoFrames ${f0} -> ${f1} over 3 s`);
  const lag = await page.$eval(vsel, (v) => { const b = v.buffered; return b.length ? b.end(b.length - 1) - v.currentTime : -1; });
  check(lag >= 0 && lag < 1.0, `playhead near the live edge (${lag.toFixed(3)} s behind the newest frame)`);
  await page.screenshot({ path: path.join(ART, '11-live-grid.png') });

  // single view with keyboard: Enter on the tile
  await page.focus(`figure.tile[data-camera="${camId}"]`);
  await page.keyboard.press('Enter');
  const ts1 = Date.now();
  await page.locator('#cam-fp', { hasText: fp }).waitFor({ timeout: 10000 });
  await page.waitForFunction((s) => { const v = document.querySelector(s); return v && v.getVideoPlaybackQuality().totalVideoFrames > 5; }, vsel, { timeout: 20000 });
  check(true, `single-camera view plays (6 frames ${Date.now() - ts1} ms after opening) and shows the same key fingerprint`);
  await page.screenshot({ path: path.join(ART, '12-live-single.png') });
  await page.keyboard.press('Escape');
  await page.locator('#live-grid').waitFor();

  // 4. Playback: wait until a few seconds are recorded, seek on the timeline
  await sleep(4000);
  await page.evaluate((id) => { location.hash = `#/playback/${id}`; }, camId);   // keys live in the tab: no reload
  await page.locator('#timeline .run').first().waitFor({ timeout: 20000 });
  const box = await page.locator('#timeline .run').last().boundingBox();
  const f2 = await frames(page, '#pb-video');
  await page.mouse.click(box.x + box.width * 0.5, box.y + box.height / 2);
  const ts = Date.now();
  await page.waitForFunction(() => { const v = document.querySelector('#pb-video'); return v && v.readyState >= 2 && v.getVideoPlaybackQuality().totalVideoFrames > 0; }, null, { timeout: 15000 });
  console.log(`     first recorded frame ${Date.now() - ts} ms after the click`);
  const pos0 = await page.$eval('#pb-video', (v) => v.currentTime);
  await sleep(1500);
  const pos1 = await page.$eval('#pb-video', (v) => v.currentTime);
  check(pos1 > pos0, `playback after a timeline seek advances (${pos0.toFixed(2)} -> ${pos1.toFixed(2)} s) with ${f2} -> ${await frames(page, '#pb-video')} frames`);
  await page.click('#pb-play');            // pause
  await page.locator('#pb-play', { hasText: 'Play' }).waitFor();
  await page.click('text=2×');
  check(await page.$eval('#pb-video', (v) => v.playbackRate) === 2, 'pause and 2x speed');
  // keyboard seek on the timeline
  await page.focus('#timeline');
  await page.keyboard.press('Home');
  await page.waitForFunction(() => document.querySelector('#pb-video').readyState >= 2, null, { timeout: 10000 });
  check(true, 'keyboard seek (Home) on the timeline');
  await page.screenshot({ path: path.join(ART, '13-playback.png'), fullPage: true });

  // 5. Export the recorded range, decrypted in the browser
  const title = await page.locator('#timeline .run').last().getAttribute('title');
  const [from, to] = title.split(' – ');
  await page.fill('#ex-from', from);
  await page.fill('#ex-to', to);
  const dlP = page.waitForEvent('download', { timeout: 60000 });
  await page.click('text=Export MP4');
  const dl = await dlP;
  await dl.saveAs(EXPORT_PATH);
  await page.locator('#ex-link').waitFor();
  check(statSync(EXPORT_PATH).size > 10000, `export ${from}–${to} downloaded as ${dl.suggestedFilename()} (${statSync(EXPORT_PATH).size} bytes)`);
  check(await page.$eval('#ex-progress', (p) => p.value) === 1, 'export progress reached 100%');
  await page.screenshot({ path: path.join(ART, '14-export.png'), fullPage: true });
  await page.setViewportSize({ width: 420, height: 860 });
  await page.screenshot({ path: path.join(ART, '16-playback-mobile.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 860 });

  // 6. The audit log has the views (server side; reported, not asserted here)
  await page.click('nav >> text=Audit');
  await page.locator('#audit-ok').waitFor();
  const actions = await page.$$eval('td .badge', (b) => b.map((x) => x.textContent));
  console.log('     audit actions:', [...new Set(actions)].join(', '));
  await page.screenshot({ path: path.join(ART, '15-audit-watching.png'), fullPage: true });
  const bad = consoleErrors.filter((e) => !/401|403|404|Failed to load resource/.test(e));
  check(bad.length === 0, 'no console errors: ' + bad.join(' | '));
} catch (e) {
  failed = true;
  console.error(e);
  for (const c of browser.contexts()) for (const [i, p] of c.pages().entries()) {
    await p.screenshot({ path: path.join(ART, `live-failure-${i}.png`), fullPage: true }).catch(() => {});
    console.error('page', p.url(), (await p.textContent('main').catch(() => '')).slice(0, 800));
  }
  console.error(errText.slice(-4000));
} finally {
  await browser.close();
  proc.kill('SIGTERM');
  await closed;   // 'close': exited and its stderr (where leaks are reported) fully read
  // Leaks are reported at exit (LeakSanitizer), with a non-zero exit code.
  if (/ERROR: (AddressSanitizer|LeakSanitizer)|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer|runtime error/.test(errText)) {
    failed = true; console.error('sanitizer report in the server output:\n' + errText.slice(-6000));
  } else if (proc.exitCode !== 0) { failed = true; console.error(`vigil exited ${proc.exitCode} (${proc.signalCode}):\n` + errText.slice(-4000)); }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
