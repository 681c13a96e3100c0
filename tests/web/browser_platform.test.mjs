// SPDX-License-Identifier: Apache-2.0
// Browser test of the operator console (docs/design/tenancy.md): the
// platform's one-time link from `vigil operator setup` -> operator account ->
// create an organization (owner link shown once) -> quota, suspend, resume ->
// the owner opens the link and sets up the organization the operator named.
// Run: node tests/web/browser_platform.test.mjs (VIGIL_BIN, CHROMIUM as in browser.test.mjs).
import { chromium } from 'playwright-core';
import { ART, ROOT, VIGIL, b32decode, check, freePort, nextCode } from './browser_util.mjs';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(tmpdir(), 'vigil-platform-'));
const data = path.join(dir, 'data');
const port = await freePort();
const origin = `https://127.0.0.1:${port}`;
const proc = spawn(VIGIL, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--ui', path.join(ROOT, 'ui')],
                   { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
const closed = new Promise((r) => proc.on('close', r));
let errText = '';
proc.stderr.on('data', (d) => { errText += d; });
proc.stdout.on('data', (d) => { errText += d; });
await new Promise((res, rej) => {
  const t = setInterval(() => { if (errText.includes('listening on')) { clearInterval(t); res(); } }, 50);
  setTimeout(() => rej(new Error('server did not start: ' + errText)), 20000);
});
const cli = spawnSync(VIGIL, ['operator', 'setup', '--data', data, '--origin', origin], { encoding: 'utf8' });
const link = (cli.stdout.match(/(https:\/\/\S+#setup=[A-Za-z0-9_-]{43})/) || [])[1];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  check(cli.status === 0 && link, 'vigil operator setup prints a one-time link');
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('dialog', (d) => d.accept());

  // 1. The platform and its first operator
  await page.goto(link);
  await page.getByRole('heading', { name: 'Set up the platform' }).waitFor();
  check(await page.locator('#recovery-key').count() === 0, 'no recovery key for the platform (it holds no footage)');
  const pw = 'operator passphrase long enough';
  await page.fill('#f-org', 'Vendor Ops');
  await page.fill('#f-email', 'ops@vendor.example');
  await page.fill('#f-password', pw);
  await page.fill('#f-password2', pw);
  const secret = b32decode(await page.textContent('#totp-secret'));
  await page.fill('#f-totp', nextCode(secret));
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: 'Organizations' }).waitFor({ timeout: 20000 });
  check(true, 'the platform link creates the operator and opens the console');
  check(await page.locator('nav >> text=Cameras').isHidden() && await page.locator('nav >> text=Organizations').isVisible(),
        'the operator has the console and no tenant page');

  // 2. A customer organization, its owner link shown once
  await page.fill('#f-org-name', 'Northwind Storage');
  await page.fill('#f-org-quota', '2');
  await page.click('text=Create and get the owner');
  const ownerLink = (await page.locator('#setup-link').textContent()).trim();
  check(/#setup=[A-Za-z0-9_-]{43}$/.test(ownerLink), 'creating an organization shows its owner setup link');
  const row = page.locator('tr[data-org]', { hasText: 'Northwind Storage' });
  check((await row.textContent()).includes('awaiting owner'), 'the new organization awaits its owner');
  check((await row.textContent()).includes('0 / 2'), 'the quota is shown with the camera count');

  // 3. Quota, suspend, resume
  await row.locator('input.quota').fill('5');
  await row.getByRole('button', { name: /^Set the camera quota/ }).click();
  await page.locator('tr[data-org]', { hasText: '0 / 5' }).waitFor();
  check(true, 'the quota can be changed');
  await page.locator('tr[data-org] button', { hasText: 'Suspend' }).click();
  await page.locator('tr[data-org] button', { hasText: 'Resume' }).waitFor();
  check((await page.locator('tr[data-org]').textContent()).includes('suspended'), 'suspend marks the organization suspended');
  await page.screenshot({ path: path.join(ART, 'platform-01-console.png'), fullPage: true });
  await page.locator('tr[data-org] button', { hasText: 'Resume' }).click();
  await page.locator('tr[data-org] button', { hasText: 'Suspend' }).waitFor();
  check(true, 'resume makes it active again');

  // Platform accounts: invite a support account, then remove it
  await page.fill('#f-p-email', 'helper@vendor.example');
  await page.click('text=Create invitation link');
  check(/#invite=[A-Za-z0-9_-]{43}&fp=[0-9a-f]{32}$/.test((await page.locator('#setup-link').textContent()).trim()),
        'a platform invitation link carries the operator fingerprint');
  await page.evaluate(() => { location.hash = '#/again1'; });
  await page.locator('#platform-members td', { hasText: 'ops@vendor.example' }).waitFor();
  check(await page.locator('#platform-members button', { hasText: 'Remove' }).count() === 0, 'an operator cannot remove itself');

  // 4. The owner opens the link in their own browser
  const octx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 860 } });
  const op = await octx.newPage();
  await op.goto(ownerLink);
  await op.getByRole('heading', { name: 'Set up Northwind Storage' }).waitFor();
  check(await op.locator('#f-org').inputValue() === 'Northwind Storage' && await op.locator('#f-org[readonly]').count() === 1,
        'the owner keeps the name the operator gave');
  const opw = 'owner passphrase long enough too';
  await op.fill('#f-email', 'boss@northwind.example');
  await op.fill('#f-password', opw);
  await op.fill('#f-password2', opw);
  await op.fill('#f-totp', nextCode(b32decode(await op.textContent('#totp-secret'))));
  await op.check('#f-recovery-saved');
  await op.click('button[type=submit]');
  await op.getByRole('heading', { name: 'Cameras' }).waitFor({ timeout: 20000 });
  check(true, 'the owner link creates the owner of the operator\u2019s organization');

  // The console again (re-rendered by the router, keys still in this tab).
  await page.evaluate(() => { location.hash = '#/again'; });
  await page.locator('tr[data-org]', { hasText: 'active' }).waitFor({ timeout: 20000 });
  await page.screenshot({ path: path.join(ART, 'platform-02-owner-joined.png'), fullPage: true });
  const text = await page.locator('main').textContent();
  check(!text.includes('boss@northwind.example') && !text.includes('awaiting owner'), 'the console shows counts, not the owner');
  check(consoleErrors.filter((e) => !/401|403|Failed to load resource/.test(e)).length === 0, 'no console errors: ' + consoleErrors.join(' | '));
} catch (e) {
  failed = true;
  console.error(e);
  for (const c of browser.contexts()) for (const [i, p] of c.pages().entries()) {
    await p.screenshot({ path: path.join(ART, `platform-failure-${i}.png`), fullPage: true }).catch(() => {});
    console.error('page', p.url(), (await p.textContent('main').catch(() => '')).slice(0, 500));
  }
  console.error(errText.slice(-3000));
} finally {
  await browser.close();
  proc.kill('SIGTERM');
  await closed;
  if (/ERROR: (AddressSanitizer|LeakSanitizer)|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer|runtime error/.test(errText + cli.stderr)) {
    failed = true; console.error('sanitizer report:\n' + errText + cli.stderr);
  } else if (proc.exitCode !== 0) { failed = true; console.error(`vigil exited ${proc.exitCode} (${proc.signalCode}):\n` + errText.slice(-4000)); }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
