// SPDX-License-Identifier: Apache-2.0
// Browser test (Playwright + Debian's Chromium): setup -> cameras -> sign out
// -> sign in with TOTP -> invite a viewer -> viewer joins -> audit.
// Screenshots go to tests/artifacts/. Run: node tests/web/browser.test.mjs
// (VIGIL_BIN overrides build/asan/vigil; CHROMIUM overrides /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { ART, ROOT, VIGIL, b32decode, check, freePort, nextCode } from './browser_util.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';



const dir = mkdtempSync(path.join(tmpdir(), 'vigil-browser-'));
const port = await freePort();
const proc = spawn(VIGIL, ['serve', '--data', path.join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--ui', path.join(ROOT, 'ui')],
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
  setTimeout(() => rej(new Error('no setup link: ' + errText)), 20000);
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 800 } });
  const page = await ctx.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  // 1. Setup
  await page.goto(link);
  await page.getByRole('heading', { name: 'Set up vigil' }).waitFor();
  const pw = 'correct staple horse battery lantern';
  await page.fill('#f-org', 'Acme Security');
  await page.fill('#f-email', 'owner@example.com');
  await page.fill('#f-password', pw);
  await page.fill('#f-password2', pw);
  const secret = b32decode(await page.textContent('#totp-secret'));
  await page.fill('#f-totp', nextCode(secret));
  check(/^vigil-recovery-v1 [A-Za-z0-9_-]{43}$/.test(await page.textContent('#recovery-key')), 'recovery key shown at setup');
  await page.check('#f-recovery-saved');
  await page.screenshot({ path: path.join(ART, '01-setup.png'), fullPage: true });
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: 'Cameras' }).waitFor({ timeout: 20000 });
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
  const vctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 420, height: 860 } });
  const vp = await vctx.newPage();
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
  for (const c of browser.contexts()) for (const [i, p] of c.pages().entries()) {
    await p.screenshot({ path: path.join(ART, `failure-${i}.png`), fullPage: true }).catch(() => {});
    console.error('page', p.url(), (await p.textContent('main').catch(() => '')).slice(0, 500));
  }
  console.error(errText.slice(-3000));
} finally {
  await browser.close();
  proc.kill('SIGTERM');
  await closed;   // 'close': exited and its stderr (where leaks are reported) fully read
  // Leaks are reported at exit (LeakSanitizer), with a non-zero exit code.
  if (/ERROR: (AddressSanitizer|LeakSanitizer)|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer|runtime error/.test(errText)) {
    failed = true; console.error('sanitizer report in the server output:\n' + errText);
  } else if (proc.exitCode !== 0) { failed = true; console.error(`vigil exited ${proc.exitCode} (${proc.signalCode}):\n` + errText.slice(-4000)); }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
