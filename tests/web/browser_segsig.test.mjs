// SPDX-License-Identifier: Apache-2.0
// Segment signatures in the browser (ui/segsig.js via archive.js/playback.js),
// end to end against a real `vigil run --demo` (ASan): recorded segments verify
// and play; a closed segment tampered ON DISK while the server runs (a flipped
// ciphertext byte, two envelopes swapped, one removed, a forged trailer signature) is shown
// as tampered and not played, and export refuses it; a recorder key other than
// the one pinned in this browser raises the key-change warning and its
// segments are not verified until the member trusts the new key.
// Run: node tests/web/browser_segsig.test.mjs   (VIGIL_BIN, CHROMIUM)
import { ART, check, dumpPages, launchChromium, newPage, setupOwner, sleep, startVigil } from './browser_util.mjs';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const vigil = await startVigil(['run', '--demo', '--segment-seconds', '3'], { prefix: 'vigil-segsig-' });
const data = vigil.data;

// The file of segment id (DATA/segments/<store camera>/<id>.vseg) and its envelopes.
function segFile(id) {
  for (const c of readdirSync(path.join(data, 'segments'))) {
    const p = path.join(data, 'segments', c, `${id}.vseg`);
    try { readFileSync(p, { flag: 'r' }); return p; } catch { /* next */ }
  }
  throw new Error(`no file for segment ${id}`);
}
function envelopes(f) {
  const out = [];
  for (let off = 216; off + 76 <= f.length - 104;) {
    const len = 76 + f.readUInt32BE(off + 72);
    out.push([off, off + len]);
    off += len;
  }
  return out;
}
// Rewrites a closed segment in place (same size: the index stays as it was).
function tamper(id, how) {
  const p = segFile(id), f = readFileSync(p), orig = Buffer.from(f), e = envelopes(f);
  if (how === 'flip') f[e[2][0] + 80] ^= 0x01;
  else if (how === 'swap') {
    const a = f.subarray(e[1][0], e[1][1]), b = f.subarray(e[2][0], e[2][1]);
    Buffer.concat([Buffer.from(b), Buffer.from(a)]).copy(f, e[1][0]);
  } else if (how === 'drop') {          // envelope 2 removed, the rest moved up, zeros keep the size
    const rest = Buffer.from(f.subarray(e[3][0], f.length - 104));
    rest.copy(f, e[2][0]);
    f.fill(0, e[2][0] + rest.length, f.length - 104);
  } else if (how === 'sig') f[f.length - 1] ^= 0x80;
  writeFileSync(p, f);
  return () => writeFileSync(p, orig);
}

const browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
let failed = false;
try {
  const { page, errors: consoleErrors } = await newPage(browser, { viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  // Every media body the server sends this browser (segment reads), for the
  // no-readable-media checks of test_segsig.py (nomedia.py).
  // Reads while a file is tampered with here (zeros, flipped bits) are left out.
  const media = [];
  let capturing = true;
  page.on('response', async (r) => {
    if (!capturing || !/\/api\/segments\/\d+\/data$/.test(new URL(r.url()).pathname)) return;
    try { media.push({ url: r.url(), status: r.status(), range: r.request().headers().range || '', body: await r.body() }); } catch { /* page left */ }
  });

  // Setup, and the demo camera's footage key made in this browser.
  await setupOwner(page, vigil.link);
  const create = page.locator('[data-create-key]').first();
  await create.waitFor({ timeout: 10000 });
  const camId = Number(await create.getAttribute('data-create-key'));
  await create.click();
  await page.waitForFunction(() => /^Footage key made/.test(document.getElementById('toast').textContent), null, { timeout: 15000 });
  check(true, `camera ${camId} has a footage key made in the browser`);

  // Wait for at least 4 closed segments sealed to that key.
  let segs = [];
  for (let i = 0; i < 60 && segs.length < 4; i++) {
    await sleep(1000);
    const r = await page.evaluate(async (id) => (await fetch(`/api/cameras/${id}/recordings?from=0&to=9000000000000000`)).json(), camId);
    segs = r.segments.filter((s) => s.status === 'closed').sort((a, b) => a.start90k - b.start90k);
  }
  check(segs.length >= 4, `${segs.length} closed segments recorded`);
  // HH:MM:SS (local) for the export form, one second inside segment s.
  const hms = (t90k) => { const d = new Date(t90k / 90); return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':'); };
  const inside = (s) => [hms(Math.ceil(s.start90k / 90000) * 90000 + 90000), hms(Math.ceil(s.start90k / 90000) * 90000 + 2 * 90000)];

  const openPlayback = async () => {
    await page.evaluate(() => { location.hash = '#/cameras'; });
    await page.getByRole('heading', { name: 'Cameras' }).waitFor();
    await page.evaluate((id) => { location.hash = `#/playback/${id}`; }, camId);
    await page.locator('#timeline .run').first().waitFor({ timeout: 20000 });
  };
  const playFirst = async () => {     // Home: the first recorded segment, segs[0]
    await page.focus('#timeline');
    await page.keyboard.press('Home');
  };
  const exportRange = async ([from, to]) => {
    await page.fill('#ex-from', from);
    await page.fill('#ex-to', to);
    await page.click('text=Export MP4');
    await page.waitForFunction(() => { const o = document.getElementById('ex-out'); return o && o.textContent.length > 0; }, null, { timeout: 60000 });
    return page.textContent('#ex-out');
  };

  // 1. Genuine footage: verified, played, exported with its verification.
  await openPlayback();
  await playFirst();
  await page.locator('#pb-verify.ok', { hasText: 'Signature verified' }).waitFor({ timeout: 20000 });
  await page.waitForFunction(() => { const v = document.querySelector('#pb-video'); return v.readyState >= 2 && v.getVideoPlaybackQuality().totalVideoFrames > 0; }, null, { timeout: 15000 });
  check(true, `segment ${segs[0].id} verified and plays: "${await page.textContent('#pb-verify')}"`);
  const good = await exportRange([hms(segs[0].start90k + 90000), hms(segs[1].end90k - 90000)]);
  check(/Signatures: all \d+ segments verified against the recorder key [0-9a-f]{4}( [0-9a-f]{4}){7}/.test(good), `export reports its verification: "${good}"`);
  await page.screenshot({ path: path.join(ART, '20-segsig-verified.png'), fullPage: true });

  // 2. On-disk tampering of closed segments, with the server running.
  const cases = [['flip', 'a flipped ciphertext byte', /chain does not match/], ['swap', 'two envelopes swapped', /seq 2 where 1 belongs/],
                 ['drop', 'an envelope removed', /seq 3 where 2 belongs/],
                 ['sig', 'a forged trailer signature', /bad signature/]];
  capturing = false;
  for (const [how, what, why] of cases) {
    const undo = tamper(segs[0].id, how);
    try {
      await openPlayback();
      await playFirst();
      await page.locator('#pb-msg', { hasText: 'TAMPERED' }).waitFor({ timeout: 20000 });
      const msg = await page.textContent('#pb-msg');
      const cls = await page.getAttribute('#pb-verify', 'class');
      const shown = await page.$eval('#pb-video', (v) => v.getVideoPlaybackQuality().totalVideoFrames);
      check(why.test(msg) && /error/.test(cls) && shown === 0, `${what}: flagged in playback, nothing shown ("${msg}")`);
      if (how === 'flip') await page.screenshot({ path: path.join(ART, '21-segsig-tampered.png'), fullPage: true });
      const out = await exportRange(inside(segs[0]));
      const refused = await page.locator('#ex-refused').count();
      check(refused === 1 && /TAMPERED/.test(out) && (await page.locator('#ex-link').count()) === 0, `${what}: export refused ("${out}")`);
    } finally { undo(); }
  }

  capturing = true;

  // 3. A recorder key other than the pinned one: warning, nothing verified until trusted.
  const org = await page.evaluate(async () => (await (await fetch('/api/me')).json()).footage_org_id);
  const pinKey = `vigil.recorder_pk.${org}`;
  const real = await page.evaluate((k) => localStorage.getItem(k), pinKey);
  check(real && real.length === 43, 'the recorder key was pinned on first sight');
  await page.evaluate((k) => localStorage.setItem(k, 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8'), pinKey);
  await openPlayback();
  await page.locator('#rec-key-warn:not([hidden])').waitFor({ timeout: 10000 });
  const pinnedFp = await page.textContent('#rec-fp-pinned'), offeredFp = await page.textContent('#rec-fp-offered');
  check(pinnedFp !== offeredFp, `key change warning shows both fingerprints (${pinnedFp} / ${offeredFp})`);
  await playFirst();
  await page.locator('#pb-msg', { hasText: 'NOT VERIFIED' }).waitFor({ timeout: 20000 });
  check(true, `segments signed by an unpinned key are not played as genuine: "${await page.textContent('#pb-msg')}"`);
  const wk = await exportRange(inside(segs[1]));
  check((await page.locator('#ex-refused').count()) === 1 && /NOT VERIFIED/.test(wk), `export refused under a wrong recorder key ("${wk}")`);
  await page.screenshot({ path: path.join(ART, '22-segsig-key-changed.png'), fullPage: true });
  await page.click('#rec-trust');
  await page.locator('#rec-key-warn').waitFor({ state: 'hidden', timeout: 10000 });
  await page.locator('#timeline .run').first().waitFor({ timeout: 20000 });
  check(await page.locator('#rec-key-warn').isHidden(), 'trusting the new key clears the warning');
  check(await page.evaluate((k) => localStorage.getItem(k), pinKey) === real, 'the trusted key is the recorder\u2019s');
  await playFirst();
  await page.locator('#pb-verify.ok', { hasText: 'Signature verified' }).waitFor({ timeout: 20000 });
  check(true, 'after trusting, segments verify again');

  if (process.env.MEDIA_CAPTURE) {
    const ok = media.filter((m) => m.status === 200 || m.status === 206);
    writeFileSync(process.env.MEDIA_CAPTURE, Buffer.concat(ok.map((m) => m.body)));
    writeFileSync(process.env.MEDIA_CAPTURE + '.json', JSON.stringify(ok.map((m) => ({ url: m.url, range: m.range, length: m.body.length }))));
    check(ok.length > 10, `captured ${ok.length} segment reads (${ok.reduce((a, m) => a + m.body.length, 0)} bytes) for the wire checks`);
  }
  const bad = consoleErrors.filter((e) => !/401|403|404|Failed to load resource/.test(e));
  check(bad.length === 0, 'no console errors: ' + bad.join(' | '));
} catch (e) {
  failed = true;
  console.error(e);
  await dumpPages(browser, 'segsig-failure-', { chars: 1500 });
  console.error(vigil.output().slice(-4000));
} finally {
  await browser.close();
  if (!await vigil.stop()) failed = true;
}
process.exit(failed ? 1 : 0);
