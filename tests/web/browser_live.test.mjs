// SPDX-License-Identifier: Apache-2.0
// Browser test of watching (Playwright + Debian's Chromium) against a real
// `vigil run --demo` (recorder + web in one process; no mocks): setup -> sign in
// with TOTP -> give the demo camera a footage key (made in the browser) -> live
// view plays (totalVideoFrames grows) -> playback: seek on the timeline, frames
// decode -> export a range to MP4 (saved for ffprobe by test_browser_live.py).
// Every frame shown was decrypted by the browser from what the C recorder
// sealed: this is the cross-check of the envelope format between C and JS.
// Run: node tests/web/browser_live.test.mjs   (VIGIL_BIN, CHROMIUM, EXPORT_PATH)
import { ART, check, dumpPages, launchChromium, newPage, setupOwner, signOutIn, sleep, startVigil } from './browser_util.mjs';
import { statSync } from 'node:fs';
import path from 'node:path';

const EXPORT_PATH = process.env.EXPORT_PATH || path.join(ART, 'live-export.mp4');

const frames = (page, sel) => page.$eval(sel, (v) => v.getVideoPlaybackQuality().totalVideoFrames);

const vigil = await startVigil(['run', '--demo'], { prefix: 'vigil-live-' });
const browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
let failed = false;
try {
  const { page, errors: consoleErrors } = await newPage(browser, { viewport: { width: 1280, height: 860 }, acceptDownloads: true, debug: true });

  // 1. Setup, then sign out and in again with TOTP
  const owner = await setupOwner(page, vigil.link);
  await signOutIn(page, owner);
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
  await dumpPages(browser, 'live-failure-', { chars: 800 });
  console.error(vigil.output().slice(-4000));
} finally {
  await browser.close();
  if (!await vigil.stop()) failed = true;
}
process.exit(failed ? 1 : 0);
