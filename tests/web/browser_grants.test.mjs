// SPDX-License-Identifier: Apache-2.0
// Browser test of grants and share links (Playwright + Debian's Chromium)
// against a real `vigil run --demo` that test_browser_grants.py started and
// seeded (owner, camera key, a support account, recorded segments):
//   owner signs in -> signing key made in the browser (pinned by the recorder)
//   -> shares a clip under a passphrase -> grants the support account the
//   demo camera (fingerprint compared, keys re-sealed in the browser)
//   -> a stranger opens the link: wrong passphrase refused, right one plays and
//      downloads an MP4 (SHARE_PATH, ffprobed by the wrapper)
//   -> the support account signs in, plays and downloads granted footage
//      (GRANT_PATH) -> the owner revokes -> the support account is refused.
import { ART, check, launchChromium, newPage as openPage, sleep, totp } from './browser_util.mjs';
import path from 'node:path';

const E = process.env;
const ORIGIN = E.ORIGIN;
// The server refuses a TOTP step an account already used (per account): the
// wrapper passes the last step each account used when it was created.
const lastStep = new Map([[E.OWNER_TOTP, Number(E.OWNER_STEP || 0)], [E.SUPPORT_TOTP, Number(E.SUPPORT_STEP || 0)]]);
async function code(hexSecret) {
  let now = Math.floor(Date.now() / 30000);
  while (lastStep.get(hexSecret) >= now + 1) { await sleep(1000); now = Math.floor(Date.now() / 30000); }
  const step = Math.max(now, lastStep.get(hexSecret) + 1);
  lastStep.set(hexSecret, step);
  return totp(Buffer.from(hexSecret, 'hex'), step);
}

async function signIn(page, email, secretHex, heading) {
  await page.goto(ORIGIN + '/');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 20000 });
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', E.PASSWORD);
  await page.fill('input[name=totp]', await code(secretHex));
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: heading }).waitFor({ timeout: 30000 });
}

const browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
let failed = false;
const pages = [];
try {
  const errors = [];
  const newPage = async () => {
    const { page: p } = await openPage(browser, { viewport: { width: 1280, height: 900 }, acceptDownloads: true,
                                                  consoleErrors: false, acceptDialogs: true, errors });
    pages.push(p);
    return p;
  };

  // 1. The owner: signing key, a shared clip, a grant.
  const owner = await newPage();
  await signIn(owner, E.OWNER_EMAIL, E.OWNER_TOTP, 'Cameras');
  await owner.click('nav >> text=Grants');
  await owner.locator('#sign-fp').waitFor({ timeout: 20000 });
  check(/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/.test(await owner.textContent('#sign-fp')), 'owner signing key made in the browser');

  await owner.fill('#s-pass', E.SHARE_PASS);
  await owner.click('#share-create button[type=submit]');
  await owner.locator('#share-link').waitFor({ timeout: 30000 });
  const link = (await owner.textContent('#share-link')).trim();
  check(/#share=[A-Za-z0-9_-]{43}$/.test(link), 'share link made; the token is in the fragment');

  await owner.fill('#g-email', E.SUPPORT_EMAIL);
  await owner.click('#g-lookup');
  await owner.locator('#g-fp').waitFor();
  check((await owner.textContent('#g-fp')) === E.SUPPORT_FP, 'grantee fingerprint shown matches the support account key');
  await owner.check('#g-compared');
  await owner.check('input[name=g-cam]');
  await owner.click('#grant-form button[type=submit]');
  await owner.locator('#grant-out', { hasText: 'Granted' }).waitFor({ timeout: 60000 });
  check(true, `grant issued: ${(await owner.textContent('#grant-out')).trim()}`);
  await owner.screenshot({ path: path.join(ART, '30-grants.png'), fullPage: true });

  // 2. The stranger with the link.
  const stranger = await newPage();
  await stranger.goto(link);
  await stranger.locator('#share-pass').waitFor();
  await stranger.fill('#share-pass', 'not the passphrase');
  await stranger.click('#share-open');
  await stranger.locator('#share-status', { hasText: 'not right' }).waitFor({ timeout: 20000 });
  check(true, 'wrong passphrase refused');
  await stranger.fill('#share-pass', E.SHARE_PASS);
  await stranger.click('#share-open');
  await stranger.locator('#share-download').waitFor({ timeout: 60000 });
  await stranger.waitForFunction(() => { const v = document.getElementById('share-video'); return v && v.readyState >= 2 && v.videoWidth > 0; }, null, { timeout: 20000 });
  check(true, 'right passphrase: the clip decrypts and plays in the browser');
  await stranger.screenshot({ path: path.join(ART, '31-share-link.png'), fullPage: true });
  const [dl] = await Promise.all([stranger.waitForEvent('download'), stranger.click('#share-download')]);
  await dl.saveAs(E.SHARE_PATH);
  check(true, `clip downloaded (${dl.suggestedFilename()})`);

  // 3. The support account.
  const sup = await newPage();
  await signIn(sup, E.SUPPORT_EMAIL, E.SUPPORT_TOTP, 'Your grants');
  const show = sup.locator('button', { hasText: 'Show recordings' }).first();
  await show.click();
  await sup.locator('ul.segments button', { hasText: 'Play' }).first().click();
  await sup.locator('video[id^=sg-video-]').waitFor({ timeout: 30000 });
  await sup.waitForFunction(() => { const v = document.querySelector('video[id^=sg-video-]'); return v && v.readyState >= 2 && v.videoWidth > 0; }, null, { timeout: 20000 });
  check(true, 'support account decrypts granted footage with the keys sealed to it');
  await sup.screenshot({ path: path.join(ART, '32-support-grants.png'), fullPage: true });
  const [dl2] = await Promise.all([sup.waitForEvent('download'), sup.click('a.btn >> text=Download MP4')]);
  await dl2.saveAs(E.GRANT_PATH);

  // 4. Revoked: refused.
  await owner.locator('#grants-table button', { hasText: 'Revoke' }).first().click();
  await owner.locator('#grants-table td', { hasText: 'revoked' }).waitFor({ timeout: 10000 });
  await sup.locator('ul.segments button', { hasText: 'Play' }).first().click();
  await sup.locator('.clip .error').waitFor({ timeout: 10000 });
  check(true, 'after revocation the support account is refused');
  check(errors.length === 0, `no page errors (${errors.join('; ')})`);
} catch (e) {
  console.error(e);
  for (const p of pages) console.error('page text:', (await p.textContent('#main').catch(() => '')).slice(0, 1500));
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
