// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the Playwright browser tests: paths, TOTP codes (RFC 6238,
// as an authenticator app computes them), a free loopback port, checks, and the
// steps every test repeats: a vigil server, Chromium, pages, the owner's setup.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const VIGIL = process.env.VIGIL_BIN || path.join(ROOT, 'build/asan/vigil');
export const ART = path.join(ROOT, 'tests/artifacts');
mkdirSync(ART, { recursive: true });

export function b32decode(s) {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, v = 0; const out = [];
  for (const c of s.replace(/[^A-Z2-7]/g, '')) { v = (v << 5) | A.indexOf(c); bits += 5; if (bits >= 8) { out.push((v >>> (bits - 8)) & 255); bits -= 8; } }
  return Buffer.from(out);
}

export function totp(secret, step) {
  const msg = Buffer.alloc(8); msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', secret).update(msg).digest();
  const off = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, '0');
}

let lastStep = 0;
// A step the server has not seen yet (replays of a used step are refused).
export function nextCode(secret) {
  const now = Math.floor(Date.now() / 30000);
  const step = Math.max(now, lastStep + 1);
  if (step > now + 1) throw new Error('no fresh TOTP step; wait');
  lastStep = step;
  return totp(secret, step);
}

export const freePort = () => new Promise((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
export const check = (cond, msg) => { if (!cond) throw new Error('FAILED: ' + msg); console.log('ok  ', msg); };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Sanitizer reports in a process's output (leaks are reported at exit).
export const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer)|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer|runtime error/;

// Starts `vigil <args[0]> --data DIR/data <args[1..]> --listen 127.0.0.1:PORT --ui UI`
// in a fresh temporary directory and waits for "listening on" (and, unless
// opts.setupLink is false, the one-time "#setup=" link) in its output.
// opts: prefix (of the temporary directory), dir (use this one instead; removed
// by stop()), bin (default VIGIL), ui (default ROOT/ui), timeout (ms).
// Returns { proc, dir, data, port, origin, link, token, output(), stop(opts) }.
export async function startVigil(args, opts = {}) {
  const dir = opts.dir || mkdtempSync(path.join(tmpdir(), opts.prefix || 'vigil-test-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const bin = opts.bin || VIGIL;
  const proc = spawn(bin, [args[0], '--data', data, ...args.slice(1), '--listen', `127.0.0.1:${port}`, '--ui', opts.ui || path.join(ROOT, 'ui')],
                     { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise((r) => proc.on('close', r));
  let text = '';
  proc.stderr.on('data', (d) => { text += d; });
  proc.stdout.on('data', (d) => { text += d; });
  const wantLink = opts.setupLink !== false;
  let stopped = false;
  const v = {
    proc, dir, data, port, origin: `https://127.0.0.1:${port}`, link: null, token: null,
    output: () => text,
    // Stops the server (SIGTERM), waits for its output to end, removes its
    // directory. False (and the report on stderr) if the sanitizers reported
    // anything (in its output or in opts.also) or it did not exit 0.
    async stop({ also = '' } = {}) {
      if (stopped) return true;
      stopped = true;
      proc.kill('SIGTERM');
      await closed;   // 'close': exited and its stderr (where leaks are reported) fully read
      let ok = true;
      if (SANITIZER_RE.test(text + also)) {
        ok = false; console.error('sanitizer report in the server output:\n' + (text + also).slice(-20000));
      } else if (proc.exitCode !== 0) { ok = false; console.error(`vigil exited ${proc.exitCode} (${proc.signalCode}):\n` + text.slice(-4000)); }
      rmSync(dir, { recursive: true, force: true });
      return ok;
    },
  };
  try {
    const m = await new Promise((res, rej) => {
      const t = setInterval(() => {
        const m = text.match(/(https:\/\/\S+#setup=([A-Za-z0-9_-]{43}))/);
        if ((m || !wantLink) && text.includes('listening on')) { clearInterval(t); res(m); }
      }, 50);
      proc.on('exit', (c) => { clearInterval(t); rej(new Error(`${bin} ${args[0]} exited ${c}: ${text}`)); });
      setTimeout(() => { clearInterval(t); rej(new Error((wantLink ? 'no setup link: ' : 'server did not start: ') + text)); }, opts.timeout || 30000);
    });
    if (m) { v.link = m[1]; v.token = m[2]; }
  } catch (e) {
    await v.stop();
    throw e;
  }
  return v;
}

// Debian's Chromium (CHROMIUM overrides), headless, with the flags every test uses.
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export function launchChromium(extraArgs = [], opts = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    ...opts,
    args: [...CHROMIUM_FLAGS, ...extraArgs],
  });
}

// A page in a new browser context (its own profile: cookies, storage).
// opts: viewport, ignoreHTTPSErrors (default true: vigil's self-signed
// certificate), acceptDownloads; errors (array to collect into); consoleErrors
// (default true: console.error messages too, not only uncaught page errors);
// acceptDialogs; debug (with DEBUG set: VIGIL_DEBUG in the page, console echoed).
// Returns { ctx, page, errors }.
export async function newPage(browser, opts = {}) {
  const co = { ignoreHTTPSErrors: opts.ignoreHTTPSErrors !== false };
  if (!co.ignoreHTTPSErrors) delete co.ignoreHTTPSErrors;
  if (opts.viewport) co.viewport = opts.viewport;
  if (opts.acceptDownloads) co.acceptDownloads = true;
  const ctx = await browser.newContext(co);
  const page = await ctx.newPage();
  const errors = opts.errors || [];
  const debug = opts.debug && process.env.DEBUG;
  if (debug) await page.addInitScript(() => { globalThis.VIGIL_DEBUG = true; });
  if (opts.consoleErrors !== false || debug) {
    page.on('console', (m) => {
      if (opts.consoleErrors !== false && m.type() === 'error') errors.push(m.text());
      if (debug) console.log('console:', m.type(), m.text());
    });
  }
  page.on('pageerror', (e) => errors.push(String(e)));
  if (opts.acceptDialogs) page.on('dialog', (d) => d.accept());
  return { ctx, page, errors };
}

// The organization (or platform) setup form behind a "#setup=" link, filled as
// its first owner would, with a TOTP code from the secret it shows.
// opts: org (null: the field is given and read-only), email, password,
// heading (of the form), recovery (tick "I saved the recovery key"; default
// true), beforeSubmit(page), done (heading after setup), timeout (ms).
// Returns { email, password, secret } (secret: raw TOTP key bytes).
export async function setupOwner(page, link, opts = {}) {
  const email = opts.email || 'owner@example.com';
  const password = opts.password || 'correct staple horse battery lantern';
  await page.goto(link);
  await page.getByRole('heading', { name: opts.heading || 'Set up vigil' }).waitFor();
  if (opts.org !== null) await page.fill('#f-org', opts.org || 'Acme Security');
  await page.fill('#f-email', email);
  await page.fill('#f-password', password);
  await page.fill('#f-password2', password);
  const secret = b32decode(await page.textContent('#totp-secret'));
  await page.fill('#f-totp', nextCode(secret));
  if (opts.recovery !== false) await page.check('#f-recovery-saved');
  if (opts.beforeSubmit) await opts.beforeSubmit(page);
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: opts.done || 'Cameras' }).waitFor({ timeout: opts.timeout || 20000 });
  return { email, password, secret };
}

// Signs in on the sign-in page with password and a fresh TOTP code.
export async function signIn(page, who, opts = {}) {
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', who.password);
  await page.fill('input[name=totp]', nextCode(who.secret));
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: opts.done || 'Cameras' }).waitFor({ timeout: opts.timeout || 20000 });
}

// Signs out and in again.
export async function signOutIn(page, who, opts = {}) {
  await page.click('#logout');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(page, who, opts);
}

// After a failure: a screenshot of every open page (ART/<prefix><i>.png) and
// the start of its text (opts.text: selector, default 'main'; opts.chars).
export async function dumpPages(browser, prefix, opts = {}) {
  for (const c of browser.contexts()) for (const [i, p] of c.pages().entries()) {
    await p.screenshot({ path: path.join(ART, `${prefix}${i}.png`), fullPage: opts.fullPage !== false }).catch(() => {});
    if (opts.extra) await opts.extra(p);
    if (opts.text !== null) console.error('page', p.url(), (await p.textContent(opts.text || 'main').catch(() => '')).slice(0, opts.chars || 800));
  }
}
