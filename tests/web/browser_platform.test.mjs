// SPDX-License-Identifier: Apache-2.0
// Browser test of the operator console (docs/design/tenancy.md): the
// platform's one-time link from `vigil operator setup` -> operator account ->
// create an organization (owner link shown once) -> quota, suspend, resume ->
// the owner opens the link and sets up the organization the operator named.
// Run: node tests/web/browser_platform.test.mjs (VIGIL_BIN, CHROMIUM as in browser.test.mjs).
import { ART, VIGIL, check, dumpPages, launchChromium, newPage, setupOwner, startVigil } from './browser_util.mjs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const vigil = await startVigil(['serve'], { prefix: 'vigil-platform-', setupLink: false });
const cli = spawnSync(VIGIL, ['operator', 'setup', '--data', vigil.data, '--origin', vigil.origin], { encoding: 'utf8' });
const link = (cli.stdout.match(/(https:\/\/\S+#setup=[A-Za-z0-9_-]{43})/) || [])[1];

const browser = await launchChromium();
let failed = false;
try {
  check(cli.status === 0 && link, 'vigil operator setup prints a one-time link');
  const { page, errors: consoleErrors } = await newPage(browser, { viewport: { width: 1280, height: 860 }, acceptDialogs: true });

  // 1. The platform and its first operator
  await setupOwner(page, link, {
    heading: 'Set up the platform', org: 'Vendor Ops', email: 'ops@vendor.example', password: 'operator passphrase long enough',
    recovery: false, done: 'Organizations',
    beforeSubmit: async () => check(await page.locator('#recovery-key').count() === 0, 'no recovery key for the platform (it holds no footage)'),
  });
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
  const { page: op } = await newPage(browser, { viewport: { width: 1000, height: 860 }, consoleErrors: false });
  await setupOwner(op, ownerLink, {
    heading: 'Set up Northwind Storage', org: null, email: 'boss@northwind.example', password: 'owner passphrase long enough too',
    beforeSubmit: async () => check(await op.locator('#f-org').inputValue() === 'Northwind Storage' && await op.locator('#f-org[readonly]').count() === 1,
                                    'the owner keeps the name the operator gave'),
  });
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
  await dumpPages(browser, 'platform-failure-', { chars: 500 });
  console.error(vigil.output().slice(-3000));
} finally {
  await browser.close();
  if (!await vigil.stop({ also: cli.stderr })) failed = true;
}
process.exit(failed ? 1 : 0);
