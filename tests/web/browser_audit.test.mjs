// SPDX-License-Identifier: Apache-2.0
// Browser test: the owner's browser as a witness of the audit log
// (ui/auditlog.js). Visits the audit page, lets the log grow (no warning:
// the consistency proof holds), then truncates and later edits the log in
// app.db with sqlite3 between visits: a warning appears, stays on every page
// until acknowledged. Run: node tests/web/browser_audit.test.mjs
import { ART, check, dumpPages, launchChromium, newPage, setupOwner, signIn, startVigil } from './browser_util.mjs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const vigil = await startVigil(['serve'], { prefix: 'vigil-baudit-' });
const db = path.join(vigil.data, 'app.db');

// Changes the log behind the server's back, as someone with the database would.
function sql(text) {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()', db, text]);
  if (r.status !== 0) throw new Error('sqlite: ' + r.stderr);
}

const browser = await launchChromium();
let failed = false;
try {
  const { page, errors: consoleErrors } = await newPage(browser, { viewport: { width: 1200, height: 800 }, consoleErrors: false });
  const owner = await setupOwner(page, vigil.link);

  const addSites = (n) => page.evaluate(async (n) => {
    for (let i = 0; i < n; i++) {
      const r = await fetch('/api/sites', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `site ${Date.now()} ${i}` }) });
      if (r.status !== 201) throw new Error('site ' + r.status);
    }
  }, n);
  const visitAudit = async () => {
    await page.click('nav >> text=Cameras');
    await page.getByRole('heading', { name: 'Cameras' }).waitFor();
    await page.click('nav >> text=Audit');
    await page.locator('#audit-sth').waitFor({ timeout: 20000 });
  };
  const size = () => page.evaluate(async () => (await (await fetch('/api/audit/sth')).json()).sth.tree_size);

  // 1. First visit pins the key and keeps the head; growth keeps it consistent.
  await addSites(3);
  await visitAudit();
  check(await page.locator('#audit-consistent').isVisible(), 'first visit: tree head kept, no warning');
  check(await page.locator('#audit-warning').count() === 0, 'no warning banner on an untampered log');
  await addSites(4);
  await visitAudit();
  check(await page.locator('#audit-consistent').isVisible(), 'log grew: consistency proof verified in the browser');
  check(await page.locator('#audit-warning').count() === 0, 'still no warning after growth');
  await page.screenshot({ path: path.join(ART, '20-audit-consistent.png'), fullPage: true });
  const kept = await page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('vigil.audit.sth.')));
  check(kept.length === 1 && JSON.parse(kept[0][1]).tree_size === await size(), 'the browser keeps the last tree head');

  // 2. Truncation: the last three entries removed from app.db.
  const n = await size();
  sql(`DELETE FROM audit WHERE seq > ${n - 3};`);
  await visitAudit();
  await page.locator('#audit-warning').waitFor();
  check(/went back/.test(await page.textContent('#audit-warning')), 'truncated log: warning that the log went back');
  await page.screenshot({ path: path.join(ART, '21-audit-truncated.png'), fullPage: true });
  await page.click('nav >> text=Cameras');
  await page.getByRole('heading', { name: 'Cameras' }).waitFor();
  check(await page.locator('#audit-warning').isVisible(), 'the warning stays on other pages until acknowledged');
  await page.click('#audit-warning-ack');
  check(await page.locator('#audit-warning').count() === 0, 'acknowledged: the warning goes');
  await visitAudit();
  check(await page.locator('#audit-warning').count() === 0 && await page.locator('#audit-consistent').isVisible(),
        'after acknowledging, the current head is the new baseline');

  // 3. Rewriting history: an old entry edited, then the log grows again.
  sql(`UPDATE audit SET detail = '{"name":"elsewhere"}' WHERE seq = 2;`);
  await addSites(2);
  await visitAudit();
  await page.locator('#audit-warning').waitFor();
  check(/rewritten/.test(await page.textContent('#audit-warning')), 'edited entry: consistency proof fails, warning shown');

  // 4. At sign-in: the check runs before any page is opened.
  await page.click('#audit-warning-ack');
  const keptSize = await size();
  await page.click('#logout');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  sql(`DELETE FROM audit WHERE seq > ${keptSize - 3};`);
  await signIn(page, owner);
  await page.locator('#audit-warning').waitFor();
  check(/went back/.test(await page.textContent('#audit-warning')), 'truncation seen at sign-in, without opening the audit page');

  // 5. Alerts: the organization's creation is a "new owner" alert, unread.
  await page.locator('#alerts-badge:not([hidden])').waitFor({ timeout: 10000 });
  check(Number(await page.textContent('#alerts-badge')) >= 1, 'unread badge on Alerts');
  await page.click('nav >> text=Alerts');
  await page.locator('#alerts-list').waitFor();
  check(/New owner: owner@example.com/.test(await page.textContent('#alerts-list')), 'notifications listed');
  await page.fill('#f-hookurl', 'http://hooks.example.com/x');
  await page.click('#webhook-save');
  await page.locator('.error', { hasText: 'https://' }).waitFor();
  check(true, 'a non-HTTPS webhook is refused');
  await page.fill('#f-hookurl', 'https://hooks.example.com/x');
  await page.click('#webhook-save');
  await page.locator('#webhook-secret-value').waitFor();
  check((await page.textContent('#webhook-secret-value')).length >= 43, 'webhook secret shown once');
  await page.screenshot({ path: path.join(ART, '22-alerts.png'), fullPage: true });
  await page.click('#alerts-read');
  await page.locator('#alerts-badge').waitFor({ state: 'hidden' });
  check(true, 'mark all read clears the badge');

  // 6. A fresh browser (no kept head) sees no warning: detection needs a witness.
  const { page: p2 } = await newPage(browser, { consoleErrors: false });
  await p2.goto(`${vigil.origin}/`);
  await p2.getByRole('heading', { name: 'Sign in' }).waitFor();
  check(await p2.locator('#audit-warning').count() === 0, 'another browser without a record shows nothing');
  check(consoleErrors.length === 0, 'no page errors: ' + consoleErrors.join(' | '));
} catch (e) {
  failed = true;
  console.error(e);
  await dumpPages(browser, 'failure-audit-', { text: 'body', chars: 800 });
  console.error(vigil.output().slice(-3000));
} finally {
  await browser.close();
  if (!await vigil.stop()) failed = true;
}
process.exit(failed ? 1 : 0);
