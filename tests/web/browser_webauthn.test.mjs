// SPDX-License-Identifier: Apache-2.0
// Browser test of security keys with Chromium's virtual authenticator (DevTools
// WebAuthn domain). Chromium refuses WebAuthn on a certificate error, so this
// makes its own CA with openssl, issues vigil's certificate for localhost
// (`vigil serve --cert/--key`) and trusts the CA in an NSS database (certutil)
// under a temporary HOME that Chromium uses ($HOME/.pki/nssdb).
// Covers: register a key on the Security page, turn TOTP off, sign in with the
// key, a login without the key refused, a wrong credential (same id, other
// key) refused, a replayed assertion refused, a counter that went back refused
// and audited. Run: node tests/web/browser_webauthn.test.mjs
import { ART, check, launchChromium, newPage, nextCode, setupOwner, startVigil } from './browser_util.mjs';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(tmpdir(), 'vigil-webauthn-'));
const home = path.join(dir, 'home');
const f = (n) => path.join(dir, n);
const run = (cmd, args, env) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env || process.env });

// 1. A CA, vigil's certificate for localhost, and the CA trusted by Chromium's NSS database.
run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'),
  '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=vigil test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
  '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('srv.key'),
  '-out', f('srv.csr'), '-subj', '/CN=localhost']);
writeFileSync(f('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' +
  'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
run('openssl', ['x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
  '-out', f('srv.crt'), '-days', '2', '-extfile', f('ext.cnf')]);
const nss = path.join(home, '.pki', 'nssdb');
mkdirSync(nss, { recursive: true });
run('certutil', ['-d', `sql:${nss}`, '-N', '--empty-password']);
run('certutil', ['-d', `sql:${nss}`, '-A', '-t', 'C,,', '-n', 'vigil-test-ca', '-i', f('ca.crt')]);

// 2. vigil with that certificate.
const vigil = await startVigil(['serve', '--cert', f('srv.crt'), '--key', f('srv.key')], { dir });
const origin = `https://localhost:${vigil.port}`;

const browser = await launchChromium([], { env: { ...process.env, HOME: home } });
let failed = false;
try {
  // No ignoreHTTPSErrors: the certificate must be trusted for WebAuthn to run.
  const { ctx, page, errors: consoleErrors } = await newPage(browser, { ignoreHTTPSErrors: false, viewport: { width: 1200, height: 800 }, consoleErrors: false });
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const addAuth = async () => (await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true,
    automaticPresenceSimulation: true } })).authenticatorId;
  let auth = await addAuth();
  const fetchIn = (method, p, body) => page.evaluate(async ([m, u, b]) => {
    const r = await fetch(u, { method: m, headers: b ? { 'Content-Type': 'application/json' } : {}, body: b ? JSON.stringify(b) : undefined });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, p, body]);

  // 3. Setup (owner with TOTP, as today), then a security key on the Security page.
  const { password: pw, secret } = await setupOwner(page, `${origin}/#setup=${vigil.token}`);
  check(true, 'setup over a certificate Chromium trusts (https://localhost)');

  await page.click('#nav a[data-page=security]');
  await page.getByRole('heading', { name: 'Security', exact: true }).waitFor();
  await page.fill('#f-key-name', 'Virtual key');
  await page.click('form:has(#f-key-name) button[type=submit]');
  await page.locator('#key-list .key-name').first().waitFor({ timeout: 20000 });
  check((await page.textContent('#key-list')).includes('Virtual key'), 'a key is registered from the Security page');
  const creds = (await cdp.send('WebAuthn.getCredentials', { authenticatorId: auth })).credentials;
  check(creds.length === 1 && creds[0].rpId === 'localhost', 'the authenticator holds one credential for rpId localhost');

  await page.uncheck('#f-allow-totp');
  await page.click('form:has(#f-allow-totp) button[type=submit]');
  await page.waitForFunction(() => !document.querySelector('#f-allow-totp')?.checked && document.querySelector('#f-allow-totp'));
  const pol = await fetchIn('GET', '/api/security/policy');
  check(pol.status === 200 && pol.body.allow_totp === false, 'owner turns TOTP off');
  await page.screenshot({ path: path.join(ART, 'webauthn-1-security.png'), fullPage: true });

  const signOut = async () => { await page.click('#logout'); await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor(); };
  const signIn = async (code) => {
    await page.fill('input[name=email]', 'owner@example.com');
    await page.fill('input[name=password]', pw);
    await page.fill('input[name=totp]', code || '');
    await page.click('button[type=submit]');
  };
  const lastLoginBody = () => new Promise((res) => {
    const on = (req) => { if (req.url().endsWith('/api/login/webauthn')) { page.off('request', on); res(req.postData()); } };
    page.on('request', on);
  });

  // 4. Sign in with the key (password step, then the virtual authenticator signs).
  await signOut();
  const captured = lastLoginBody();
  await signIn();
  await page.getByRole('heading', { name: 'Cameras' }).waitFor({ timeout: 30000 });
  check(true, 'sign in with password + security key');
  const replayBody = JSON.parse(await captured);

  // 5. A replayed assertion (its challenge was used) is refused.
  const replay = await fetchIn('POST', '/api/login/webauthn', replayBody);
  check(replay.status === 401 && replay.body.error === 'bad_credentials', 'a replayed assertion is refused');

  // 6. Without the key: a TOTP code no longer signs in (TOTP disallowed), no session.
  await signOut();
  const noKey = await fetchIn('POST', '/api/login', { email: 'owner@example.com', auth_key: replayBody.login_token, totp_code: '000000' });
  check(noKey.status === 401, 'a wrong password with a code is refused');
  const derived = await page.evaluate(async (p) => {
    const { deriveKeys, b64, unb64 } = await import('/keys.js');
    const params = await (await fetch('/api/login/params?email=owner@example.com')).json();
    return b64(deriveKeys(p, unb64(params.salt)).auth);
  }, pw);
  const withCode = await fetchIn('POST', '/api/login', { email: 'owner@example.com', auth_key: derived, totp_code: nextCode(secret) });
  check(withCode.status === 401 && withCode.body.error === 'webauthn_required' && withCode.body.totp_allowed === false,
    'password + TOTP code without the key: the key is still required');
  check((await fetchIn('GET', '/api/me')).status === 401, 'no session without the key');

  // 7. A wrong credential: same credential id, another private key.
  const stored = (await cdp.send('WebAuthn.getCredentials', { authenticatorId: auth })).credentials[0];
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: auth });
  const pkcs8 = (k) => k.export({ type: 'pkcs8', format: 'der' }).toString('base64');
  const impostor = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  auth = await addAuth();
  await cdp.send('WebAuthn.addCredential', { authenticatorId: auth, credential: {
    credentialId: stored.credentialId, isResidentCredential: false, rpId: 'localhost',
    privateKey: pkcs8(impostor), signCount: stored.signCount + 10 } });
  await signIn();
  await page.waitForFunction(() => /refused|wrong/i.test(document.querySelector('p.error')?.textContent || ''), null, { timeout: 30000 });
  check((await fetchIn('GET', '/api/me')).status === 401, 'an assertion by another key for the same credential id is refused');
  await page.screenshot({ path: path.join(ART, 'webauthn-2-refused.png'), fullPage: true });

  // 8. A clone: the right key with a counter that went back.
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: auth });
  auth = await addAuth();
  await cdp.send('WebAuthn.addCredential', { authenticatorId: auth, credential: {
    credentialId: stored.credentialId, isResidentCredential: false, rpId: 'localhost',
    privateKey: stored.privateKey, signCount: 0 } });
  check(stored.signCount >= 1, `the server saw counter ${stored.signCount}`);
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  await signIn();
  await page.waitForFunction(() => /refused|wrong/i.test(document.querySelector('p.error')?.textContent || ''), null, { timeout: 30000 });
  check((await fetchIn('GET', '/api/me')).status === 401, 'a counter regression is refused');

  // 9. The original authenticator state (counter moved on) signs in again; the audit shows the clone.
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: auth });
  auth = await addAuth();
  await cdp.send('WebAuthn.addCredential', { authenticatorId: auth, credential: {
    credentialId: stored.credentialId, isResidentCredential: false, rpId: 'localhost',
    privateKey: stored.privateKey, signCount: stored.signCount + 100 } });
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  await signIn();
  await page.getByRole('heading', { name: 'Cameras' }).waitFor({ timeout: 30000 });
  const audit = await fetchIn('GET', '/api/audit');
  const acts = audit.body.entries.map((e) => e.action);
  check(acts.includes('webauthn.counter_regression') && acts.includes('webauthn.add') && acts.includes('org.security'),
    'audit: key added, policy changed, counter regression');
  check(audit.body.entries.filter((e) => e.action === 'login.fail' && e.detail.factor === 'webauthn').length >= 2,
    'audit: each refused key login');

  // 10. An admin joins with a security key (TOTP is off, so a key is required).
  const inv = await fetchIn('POST', '/api/members', { email: 'admin@example.com', role: 'admin' });
  check(inv.status === 201, 'owner invites an admin');
  const { ctx: ctx2, page: p2 } = await newPage(browser, { ignoreHTTPSErrors: false, viewport: { width: 1200, height: 800 }, consoleErrors: false, errors: consoleErrors });
  const cdp2 = await ctx2.newCDPSession(p2);
  await cdp2.send('WebAuthn.enable');
  const auth2 = (await cdp2.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'usb',
    hasResidentKey: false, hasUserVerification: false, automaticPresenceSimulation: true } })).authenticatorId;
  await p2.goto(`${origin}/#invite=${inv.body.token}&fp=${inv.body.inviter_fingerprint.replace(/ /g, '')}`);
  await p2.locator('#join-key').waitFor();
  check(await p2.locator('#f-totp').isHidden(), 'the invitation asks for a key, not an authenticator app');
  const apw = 'orange kettle winter harbour sixty';
  await p2.fill('#f-password', apw);
  await p2.fill('#f-password2', apw);
  await p2.click('button[type=submit]');
  await p2.getByRole('heading', { name: 'Cameras' }).waitFor({ timeout: 30000 })
    .catch(async (e) => { console.log('join page:', await p2.textContent('form')); throw e; });
  const c2 = (await cdp2.send('WebAuthn.getCredentials', { authenticatorId: auth2 })).credentials;
  check(c2.length === 1, 'the admin joined with a security key');
  await ctx2.close();
  check(consoleErrors.length === 0, 'no page errors: ' + consoleErrors.join(' | '));
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  if (!await vigil.stop()) failed = true;
}
process.exit(failed ? 1 : 0);
