// SPDX-License-Identifier: Apache-2.0
// Browser test of camera key rotation (Playwright + Debian's Chromium) against
// a real `vigil run --demo` (docs/design/keys.md "Rotation and crypto-shredding"):
// the admin's browser makes the camera key, rotates it while the live view
// plays (live goes on with the new period's key), rotates it again with the
// Cameras page's "Rotate now" button, sets the organization's period, and —
// once the period is due (backdated in app.db) — rotates it by itself at
// sign-in. Then playback seeks into the first and the last period and every
// recorded segment, of every period, opens with the browser's key ring.
// Run: node tests/web/browser_rotation.test.mjs   (VIGIL_BIN, CHROMIUM)
import { ART, check, dumpPages, launchChromium, newPage, setupOwner, signOutIn, sleep, startVigil } from './browser_util.mjs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const frames = (page, sel) => page.$eval(sel, (v) => v.getVideoPlaybackQuality().totalVideoFrames);

const vigil = await startVigil(['run', '--demo', '--segment-seconds', '4'], { prefix: 'vigil-rot-' });

// The server's view, read in the page (same session): current key, periods, audit.
const rotation = (page) => page.evaluate(() => fetch('/api/keys/rotation').then((r) => r.json()));
const auditActions = (page) => page.evaluate(() => fetch('/api/audit').then((r) => r.json()).then((a) => a.entries));

const browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
let failed = false;
try {
  const { page, errors: consoleErrors } = await newPage(browser, { viewport: { width: 1280, height: 900 }, debug: true, acceptDialogs: true });

  // 1. Setup (signed in), the demo camera's first key made in this browser
  const owner = await setupOwner(page, vigil.link);
  const create = page.locator('[data-create-key]').first();
  await create.waitFor({ timeout: 10000 });
  const camId = Number(await create.getAttribute('data-create-key'));
  await create.click();
  await page.waitForFunction(() => /^Footage key made/.test(document.getElementById('toast').textContent), null, { timeout: 15000 });
  await page.locator(`#key-rotation tr[data-camera="${camId}"]`).waitFor({ timeout: 15000 });
  const fps = [(await rotation(page)).cameras.find((c) => c.id === camId).fingerprint];
  check((await page.textContent(`#key-rotation tr[data-camera="${camId}"] .rot-fp`)) === fps[0],
    `rotation panel shows period 1 (${fps[0]}), next rotation in 30 days`);

  // 2. Live view; the admin's browser rotates the key while it plays
  await page.click('nav >> text=Live');
  const vsel = `video[data-camera="${camId}"]`;
  await page.waitForFunction((s) => { const v = document.querySelector(s); return v && v.getVideoPlaybackQuality().totalVideoFrames > 0; }, vsel, { timeout: 30000 });
  await sleep(5000);                       // a segment or two sealed to period 1
  const fp2 = await page.evaluate(async (id) => {
    const { rotateCamera } = await import('/rotation.js');
    const r = await (await fetch('/api/keys/rotation')).json();
    return rotateCamera(r.cameras.find((c) => c.id === id), 'manual');
  }, camId);
  fps.push(fp2);
  check(fp2 !== fps[0], `browser rotated the key during live view: ${fps[0]} -> ${fp2}`);
  const fa = await frames(page, vsel);
  await sleep(9000);                       // the recorder switches at its next segment
  const fb = await frames(page, vsel);
  // The newest segment is sealed to period 2: the frames above came from it.
  const newestFp = await page.evaluate(async (id) => {
    const { fingerprint } = await import('/keys.js');
    const { unb64any } = await import('/camkeys.js');
    const rec = await (await fetch(`/api/cameras/${id}/recordings`)).json();
    const last = rec.segments[rec.segments.length - 1];
    const meta = await (await fetch(`/api/segments/${last.id}`)).json();
    return fingerprint(unb64any(meta.footage_pk));
  }, camId);
  check(newestFp === fp2, `the recorder switched to period 2 without a restart (newest segment sealed to ${newestFp})`);
  const tileState = await page.$eval(`figure.tile[data-camera="${camId}"]`, (f) => f.textContent);
  check(fb - fa >= 60 && !/waiting for footage/.test(tileState), `live goes on across the rotation: frames ${fa} -> ${fb} in 9 s`);
  await page.screenshot({ path: path.join(ART, '20-live-after-rotation.png') });

  // 3. "Rotate now" on the Cameras page
  await page.click('nav >> text=Cameras');
  const row = page.locator(`#key-rotation tr[data-camera="${camId}"]`);
  await row.waitFor({ timeout: 15000 });
  check((await row.locator('.rot-fp').textContent()) === fp2, 'panel shows period 2');
  await row.locator('[data-rotate]').click();
  await page.waitForFunction(() => /^New key for/.test(document.getElementById('toast').textContent), null, { timeout: 15000 });
  await page.locator(`#key-rotation tr[data-camera="${camId}"] .rot-periods`, { hasText: '2 kept' }).waitFor({ timeout: 15000 });
  fps.push((await rotation(page)).cameras.find((c) => c.id === camId).fingerprint);
  check(!fps.slice(0, 2).includes(fps[2]), `Rotate now made period 3 (${fps[2]}); two earlier periods kept`);
  await sleep(6000);

  // 4. Organization setting: rotate daily; the period falls due (backdated); sign-in rotates it
  await page.fill('#f-rot-days', '1');
  await page.click('#key-rotation button[type=submit]');
  await page.waitForFunction(() => /Rotation period saved/.test(document.getElementById('toast').textContent), null, { timeout: 10000 });
  check((await rotation(page)).period_days === 1, 'rotation period set to 1 day in the UI');
  await page.locator('#key-rotation', { hasText: 'every 1 day,' }).waitFor({ timeout: 10000 });
  await page.screenshot({ path: path.join(ART, '21-key-rotation-panel.png'), fullPage: true });
  execFileSync('/usr/bin/python3', ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=10); '
    + 'c.execute("UPDATE camera_key_periods SET created = created - 2*86400 WHERE retired IS NULL"); c.commit()',
  path.join(vigil.data, 'app.db')]);
  check((await rotation(page)).cameras.find((c) => c.id === camId).due === true, 'period 3 is due');
  await signOutIn(page, owner);
  await page.waitForFunction(() => /Rotated 1 camera key/.test(document.getElementById('toast').textContent), null, { timeout: 20000 });
  const after = (await rotation(page)).cameras.find((c) => c.id === camId);
  fps.push(after.fingerprint);
  check(!fps.slice(0, 3).includes(fps[3]) && after.due === false, `sign-in rotated the due key: period 4 (${fps[3]})`);
  const rot = (await auditActions(page)).filter((e) => e.action === 'camera.key.rotate');
  check(rot.length === 3 && rot[0].detail.reason === 'due' && rot[2].detail.reason === 'manual',
    `audit: three camera.key.rotate entries (${rot.map((e) => e.detail.reason).join(', ')})`);
  await sleep(16000);                      // footage sealed to period 4 (> 12 s, see 6.)

  // 5. Every recorded segment opens with the key of its own period (the browser's key ring)
  const opened = await page.evaluate(async (id) => {
    const { Segment, recordings, recorderTrust } = await import('/archive.js');
    const { cameraKeys } = await import('/camkeys.js');
    const { orgIdOf } = await import('/footage.js');
    const me = await (await fetch('/api/me')).json();
    const ring = await cameraKeys(id);
    const trust = await recorderTrust(orgIdOf(me));   // as playback does: signatures checked too
    const rec = await recordings(id, 0, Number.MAX_SAFE_INTEGER);
    const out = [];
    for (const s of rec.segments) {
      const seg = await Segment.load(s.id, ring, orgIdOf(me), trust);
      const media = seg.media.slice(0, 1);
      const frags = media.length ? await seg.read(media, orgIdOf(me)) : [];
      out.push({ id: s.id, pk: seg.meta.footage_pk, init: seg.info.tracks.length, frags: frags.length });
    }
    return { out, runs: rec.runs.length };
  }, camId);
  const pks = new Set(opened.out.map((o) => o.pk));
  check(opened.out.length >= 4 && pks.size === 4 && opened.out.every((o) => o.init > 0),
    `${opened.out.length} segments over ${pks.size} key periods all decrypt in the browser`);
  check(opened.runs === 1, `one continuous recording across three rotations (${opened.runs} run)`);

  // 6. Playback: seek to the start (period 1) and 12 s before the end (period 4,
  // recorded for 16 s; not the live edge, where playback waits for data); frames decode
  await page.evaluate((id) => { location.hash = `#/playback/${id}`; }, camId);
  await page.locator('#timeline .run').first().waitFor({ timeout: 20000 });
  for (const [keys, what] of [[['Home'], 'period 1'], [['End', 'ArrowLeft'], 'period 4']]) {
    await page.focus('#timeline');
    for (const k of keys) await page.keyboard.press(k);
    await page.waitForFunction(() => { const v = document.querySelector('#pb-video'); return v && v.readyState >= 2 && v.getVideoPlaybackQuality().totalVideoFrames > 0; }, null, { timeout: 20000 });
    // A seek typed while the previous one is starting keeps the paused state: play.
    if (await page.$eval('#pb-video', (v) => v.paused)) await page.click('#pb-play');
    const p0 = await page.$eval('#pb-video', (v) => v.currentTime);
    await page.waitForFunction((t) => document.querySelector('#pb-video').currentTime > t + 0.5, p0, { timeout: 15000 });
    const p1 = await page.$eval('#pb-video', (v) => v.currentTime);
    check(p1 > p0, `playback of ${what} (${keys.join('+')}) decodes and advances ${p0.toFixed(2)} -> ${p1.toFixed(2)} s`);
  }
  const msg = await page.textContent('main');
  check(!/sealed to a (different|camera) key/.test(msg), 'no "other key" message in playback');
  await page.screenshot({ path: path.join(ART, '22-playback-periods.png'), fullPage: true });

  // 7. Live still plays with period 4
  await page.click('nav >> text=Live');
  await page.waitForFunction((s) => { const v = document.querySelector(s); return v && v.getVideoPlaybackQuality().totalVideoFrames > 20; }, vsel, { timeout: 30000 });
  check(true, 'live view plays after the sign-in rotation');
  const bad = consoleErrors.filter((e) => !/401|403|404|409|Failed to load resource/.test(e));
  check(bad.length === 0, 'no console errors: ' + bad.join(' | '));
} catch (e) {
  failed = true;
  console.error(e);
  await dumpPages(browser, 'rotation-failure-', { chars: 800, extra: async (p) => {
    console.error('video', await p.evaluate(() => { const v = document.querySelector('video'); if (!v) return null;
      const b = []; for (let j = 0; j < v.buffered.length; j++) b.push([v.buffered.start(j), v.buffered.end(j)]);
      return JSON.stringify({ t: v.currentTime, paused: v.paused, rs: v.readyState, err: v.error && v.error.message, b }); }).catch(() => ''));
  } });
  console.error(vigil.output().slice(-4000));
} finally {
  await browser.close();
  if (!await vigil.stop()) failed = true;
}
process.exit(failed ? 1 : 0);
