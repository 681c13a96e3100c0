// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the Playwright browser tests: paths, TOTP codes (RFC 6238,
// as an authenticator app computes them), a free loopback port, checks.
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
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
