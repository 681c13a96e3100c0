// SPDX-License-Identifier: Apache-2.0
// TOTP enrolment helpers: the browser draws the secret (20 bytes, RFC 4226
// §4) and shows it as base32 (RFC 4648) and as an otpauth:// URI for apps.
const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32(u8) {
  let bits = 0, value = 0, out = '';
  for (const b of u8) {
    value = (value << 8) | b; bits += 8;
    while (bits >= 5) { out += ALPHA[(value >>> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) out += ALPHA[(value << (5 - bits)) & 31];
  return out;
}

export function otpauthUri(secret, email, org) {
  const label = encodeURIComponent(`vigil (${org}):${email}`);
  return `otpauth://totp/${label}?secret=${base32(secret)}&issuer=vigil&algorithm=SHA1&digits=6&period=30`;
}

export const grouped = (s) => s.match(/.{1,4}/g).join(' ');
