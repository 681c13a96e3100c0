// SPDX-License-Identifier: Apache-2.0
// Password rules of NIST SP 800-63B §5.1.1.2, enforced here because the
// server never sees the password (only a key derived from it): at least 15
// characters, or 8 when the account uses a second factor; at most 128; not
// on the blocklist of common/breached passwords (ui/blocklist.txt); no
// composition rules; all Unicode allowed (normalized NFKC).
let blocklist = null;

async function loadBlocklist() {
  if (blocklist) return blocklist;
  const r = await fetch('/blocklist.txt', { cache: 'force-cache' });
  const text = r.ok ? await r.text() : '';
  blocklist = new Set(text.split('\n').map((s) => s.trim().toLowerCase()).filter((s) => s && !s.startsWith('#')));
  return blocklist;
}

export async function checkPassword(pw, { mfa, email }) {
  const list = await loadBlocklist();
  const p = pw.normalize('NFKC');
  const min = mfa ? 8 : 15;
  const lower = p.toLowerCase();
  const local = (email || '').split('@')[0].toLowerCase();
  const checks = [
    { ok: [...p].length >= min, text: `At least ${min} characters${mfa ? ' (with an authenticator app)' : ''}` },
    { ok: [...p].length <= 128, text: 'At most 128 characters' },
    { ok: !list.has(lower), text: 'Not a common or breached password' },
    { ok: !(local.length >= 3 && lower.includes(local)) && !lower.includes('vigil'),
      text: 'Does not contain your email name or "vigil"' },
  ];
  return { ok: checks.every((c) => c.ok), checks };
}
