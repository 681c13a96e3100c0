// SPDX-License-Identifier: Apache-2.0
// The owner's/admin's browser as a witness of the audit log (docs/design/audit.md).
// It keeps, per organization, the last signed tree head (STH) it accepted and
// the log key it pinned on first sight (localStorage). At sign-in and on the
// audit page it fetches the current STH, checks its Ed25519 signature under
// the pinned key, and checks an RFC 9162 consistency proof from the kept size
// to the current one (SHA-256 by WebCrypto). A log that went back (smaller
// size, other root at the same size, failed proof, changed key, bad
// signature) raises a warning that stays, on every page, until acknowledged.
import { api } from './api.js';
import { ready } from './keys.js';

const kKept = (org) => `vigil.audit.sth.${org}`;
const kWarn = (org) => `vigil.audit.warning.${org}`;

const unhex = (s) => Uint8Array.from(s.match(/../g) || [], (b) => parseInt(b, 16));
const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, '0')).join('');
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function node(l, r) {
  const m = new Uint8Array(65);
  m[0] = 1; m.set(l, 1); m.set(r, 33);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', m));
}

// RFC 9162 §2.1.4.2, the same algorithm as src/auth/merkle.c.
export async function verifyConsistency(first, second, r1, r2, proof) {
  if (first < 1 || first > second) return false;
  if (first === second) return proof.length === 0 && eq(r1, r2);
  if (!proof.length) return false;
  let p = proof;
  // Sizes fit in 2^53 (Number); bit tricks go through BigInt.
  let fn = BigInt(first - 1), sn = BigInt(second - 1);
  if ((BigInt(first) & BigInt(first - 1)) === 0n) p = [r1, ...proof];
  while (fn & 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = p[0], sr = p[0];
  for (const c of p.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) || fn === sn) {
      fr = await node(c, fr); sr = await node(c, sr);
      if (!(fn & 1n)) while (fn !== 0n && !(fn & 1n)) { fn >>= 1n; sn >>= 1n; }
    } else {
      sr = await node(sr, c);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && eq(fr, r1) && eq(sr, r2);
}

// "vigil-sth-v1" NUL | le64 org | le64 tree_size | le64 timestamp | root (src/auth/auditlog.h).
function sthMessage(s) {
  const m = new Uint8Array(13 + 24 + 32);
  m.set(new TextEncoder().encode('vigil-sth-v1'), 0);
  const v = new DataView(m.buffer);
  v.setBigUint64(13, BigInt(s.org_id), true);
  v.setBigUint64(21, BigInt(s.tree_size), true);
  v.setBigUint64(29, BigInt(s.timestamp), true);
  m.set(unhex(s.root_hash), 37);
  return m;
}

export async function verifySth(s, keyHex) {
  const sodium = await ready();
  try { return sodium.crypto_sign_verify_detached(unhex(s.signature), sthMessage(s), unhex(keyHex)); } catch { return false; }
}

function load(k) { try { return JSON.parse(localStorage.getItem(k) || 'null'); } catch { return null; } }
function save(k, v) { try { localStorage.setItem(k, JSON.stringify(v)); } catch { /* storage unavailable */ } }

// Returns { sth, kept, warning } after checking the log; keeps the new head
// only when it is provably an extension of the kept one.
export async function checkAuditLog(orgId) {
  let cur;
  try { cur = await api('GET', '/api/audit/sth'); } catch (e) {
    if (e.status !== 409) throw e;
    // log_damaged: entries missing or out of order in the server's database.
    if (!load(kWarn(orgId))) save(kWarn(orgId), { text: 'The audit log is damaged: entries are missing or out of order.', at: Date.now() });
    showAuditWarning(orgId);
    throw e;
  }
  const s = cur.sth, kept = load(kKept(orgId));
  let problem = null;
  if (kept && kept.log_key !== cur.log_key) problem = 'The audit log key changed since this browser last checked.';
  else if (!(await verifySth(s, kept ? kept.log_key : cur.log_key))) problem = 'The audit log\'s tree head is not signed by the log key.';
  else if (s.org_id !== orgId) problem = 'The audit log\'s tree head is for another organization.';
  else if (kept && s.tree_size < kept.tree_size)
    problem = `The audit log went back: it has ${s.tree_size} entries, this browser saw ${kept.tree_size}.`;
  else if (kept && s.tree_size === kept.tree_size && s.root_hash !== kept.root_hash)
    problem = `The audit log was rewritten: same size (${s.tree_size}), different root.`;
  else if (kept && s.tree_size > kept.tree_size && kept.tree_size > 0) {
    const p = await api('GET', `/api/audit/proof/consistency?first=${kept.tree_size}&second=${s.tree_size}`);
    if (p.first !== kept.tree_size || p.second !== s.tree_size ||
        !(await verifyConsistency(kept.tree_size, s.tree_size, unhex(kept.root_hash), unhex(s.root_hash), p.proof.map(unhex))))
      problem = `The audit log was rewritten: its first ${kept.tree_size} entries are not the ones this browser saw.`;
  }
  if (problem) {
    const now = { tree_size: s.tree_size, root_hash: s.root_hash, timestamp: s.timestamp, log_key: cur.log_key, fingerprint: cur.log_key_fingerprint };
    if (!load(kWarn(orgId))) save(kWarn(orgId), { text: problem, at: Date.now(), seen: kept, now });
  } else {
    save(kKept(orgId), { tree_size: s.tree_size, root_hash: s.root_hash, timestamp: s.timestamp, log_key: cur.log_key, fingerprint: cur.log_key_fingerprint });
  }
  showAuditWarning(orgId);
  return { sth: s, key: cur, kept: load(kKept(orgId)), warning: load(kWarn(orgId)) };
}

// The warning banner, above the page; stays until acknowledged. Acknowledging
// adopts the current head as the new baseline (the person has seen the warning).
export function showAuditWarning(orgId) {
  let el = document.getElementById('audit-warning');
  const w = orgId ? load(kWarn(orgId)) : null;
  if (!w) { if (el) el.remove(); return; }
  if (!el) {
    el = document.createElement('div');
    el.id = 'audit-warning'; el.className = 'audit-warning'; el.setAttribute('role', 'alert');
    document.body.insertBefore(el, document.getElementById('main'));
  }
  const strong = document.createElement('strong'); strong.textContent = 'Audit log warning. ';
  const text = document.createElement('span'); text.textContent = `${w.text} Detected ${new Date(w.at).toLocaleString()}. ` +
    'Someone with access to the server may have removed or changed audit entries. Download the log and keep this browser\'s record.';
  const ack = document.createElement('button');
  ack.type = 'button'; ack.id = 'audit-warning-ack'; ack.textContent = 'Acknowledge';
  ack.addEventListener('click', () => {
    try { localStorage.removeItem(kWarn(orgId)); } catch { /* storage unavailable */ }
    const kept = load(kKept(orgId)) || {};
    if (w.now && w.now.log_key) save(kKept(orgId), { ...kept, ...w.now });
    el.remove();
  });
  el.replaceChildren(strong, text, ack);
}

export async function auditWitness(me) {
  if (!me || !['owner', 'admin'].includes(me.role)) return;
  try { await checkAuditLog(me.org.id); } catch { /* the check runs again on the audit page */ }
  showAuditWarning(me.org.id);
}

export { hex };
