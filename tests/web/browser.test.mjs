// SPDX-License-Identifier: Apache-2.0
// Browser test (Playwright + Debian's Chromium): setup -> cameras -> sign out
// -> sign in with TOTP -> invite a viewer -> viewer joins -> audit.
// Screenshots go to tests/artifacts/. Run: node tests/web/browser.test.mjs
// (VIGIL_BIN overrides build/asan/vigil; CHROMIUM overrides /usr/bin/chromium).
import { ART, check, dumpPages, launchChromium, newPage, nextCode, setupOwner, startVigil } from './browser_util.mjs';
import path from 'node:path';

const vigil = await startVigil(['serve'], { prefix: 'vigil-browser-' });
const browser = await launchChromium();
let failed = false;
try {
  const { page, errors: consoleErrors } = await newPage(browser, { viewport: { width: 1200, height: 800 } });

  // 1. Setup
  const owner = await setupOwner(page, vigil.link, { beforeSubmit: async () => {
    check(/^vigil-recovery-v1 [A-Za-z0-9_-]{43}$/.test(await page.textContent('#recovery-key')), 'recovery key shown at setup');
    await page.screenshot({ path: path.join(ART, '01-setup.png'), fullPage: true });
  } });
  const pw = owner.password, secret = owner.secret;
  check(true, 'setup creates the organization and opens Cameras');

  // 2. Add a site and a camera
  await page.fill('input[name=sitename]', 'Headquarters');
  await page.click('text=Add site');
  await page.locator('#f-site option', { hasText: 'Headquarters' }).waitFor({ state: 'attached' });
  await page.fill('input[name=name]', 'Front door');
  await page.selectOption('#f-site', { label: 'Headquarters' });
  await page.fill('input[name=url]', 'rtsp://192.0.2.10:554/stream1');
  await page.fill('input[name=username]', 'cam');
  await page.fill('input[name=password]', 'SecretCamPassword');
  await page.click('text=Add camera');
  await page.locator('td', { hasText: 'Front door' }).waitFor();
  check(!(await page.content()).includes('SecretCamPassword'), 'camera password not in the page');
  await page.screenshot({ path: path.join(ART, '02-cameras.png'), fullPage: true });

  // 3. Sign out, sign in with TOTP
  await page.click('#logout');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.fill('input[name=email]', 'owner@example.com');
  await page.fill('input[name=password]', pw);
  await page.screenshot({ path: path.join(ART, '03-login.png'), fullPage: true });
  await page.click('button[type=submit]');
  await page.locator('.error', { hasText: 'wrong' }).waitFor({ timeout: 20000 });
  check(true, 'sign-in without the TOTP code is refused');
  await page.fill('input[name=totp]', nextCode(secret));
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: 'Cameras' }).waitFor({ timeout: 20000 });
  check(await page.locator('td', { hasText: 'Front door' }).isVisible(), 'sign-in with TOTP shows the cameras');

  // 4. Invite a viewer
  await page.click('nav >> text=Members');
  await page.getByRole('heading', { name: 'Members' }).waitFor();
  await page.fill('input[name=email]', 'viewer@example.com');
  await page.click('text=Create invitation link');
  const invite = (await page.locator('#invite-link').textContent()).trim();
  check(/#invite=[A-Za-z0-9_-]{43}&fp=[0-9a-f]{32}$/.test(invite), 'invitation link carries the inviter fingerprint');
  await page.screenshot({ path: path.join(ART, '04-members.png'), fullPage: true });

  // 5. Audit
  await page.click('nav >> text=Audit');
  await page.locator('#audit-ok').waitFor();
  check(true, 'audit chain verified');
  await page.screenshot({ path: path.join(ART, '05-audit.png'), fullPage: true });

  // 6. The viewer joins in another browser profile
  const { page: vp } = await newPage(browser, { viewport: { width: 420, height: 860 }, consoleErrors: false });
  await vp.goto(invite);
  await vp.getByRole('heading', { name: 'Join Acme Security' }).waitFor();
  await vp.fill('#f-password', 'password');
  await vp.fill('#f-password2', 'password');
  await vp.click('button[type=submit]');
  await vp.locator('.error', { hasText: 'rules' }).waitFor({ timeout: 5000 });
  check(true, 'a blocklisted short password is refused in the browser');
  const vpw = 'a watcher passphrase long enough';
  await vp.fill('#f-password', vpw);
  await vp.fill('#f-password2', vpw);
  await vp.click('button[type=submit]');
  await vp.getByRole('heading', { name: 'Cameras' }).waitFor({ timeout: 20000 });
  check(await vp.locator('#no-cameras').isVisible(), 'the viewer sees no camera it was not given');
  check(await vp.locator('nav >> text=Members').isHidden(), 'viewer has no Members page');
  await vp.screenshot({ path: path.join(ART, '06-viewer-mobile.png'), fullPage: true });

  // 7. A tampered fingerprint in the link is caught
  await vp.goto(invite.replace(/fp=[0-9a-f]{4}/, 'fp=0000'));
  await vp.reload();
  await vp.getByRole('heading', { name: /Invitation not valid|Key mismatch/ }).waitFor();
  check(true, 'used or tampered invitation refused');
  check(consoleErrors.filter((e) => !/401|403|Failed to load resource/.test(e)).length === 0, 'no console errors: ' + consoleErrors.join(' | '));
} catch (e) {
  failed = true;
  console.error(e);
  await dumpPages(browser, 'failure-', { chars: 500 });
  console.error(vigil.output().slice(-3000));
} finally {
  await browser.close();
  if (!await vigil.stop()) failed = true;
}
process.exit(failed ? 1 : 0);
