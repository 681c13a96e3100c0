// SPDX-License-Identifier: Apache-2.0
// Camera key rotation in the browser (docs/design/keys.md "Rotation and
// crypto-shredding"). The server cannot rotate (it never holds a secret key):
// an admin's browser makes each new period's key pair and seals it to the
// members who hold the current one (and every owner and admin) and to the
// recovery key. A removed member is no longer in the member list, so the new
// period is never sealed to them. Due periods rotate when an admin signs in.
import { api } from './api.js';
import { h, toast } from './app.js';
import { createCameraKey } from './camkeys.js';

const when = (t) => (t ? new Date(t * 1000).toLocaleString() : '—');

// Seals a new period for one camera; `reason` is 'manual' or 'due' (the server
// refuses 'due' when another browser rotated first). Returns the fingerprint.
export async function rotateCamera(cam, reason = 'manual') {
  return createCameraKey(cam.id, cam.holders || [], reason);
}

// Rotates every camera whose period is due; returns how many were rotated.
export async function rotateDue() {
  const r = await api('GET', '/api/keys/rotation');
  let n = 0;
  for (const cam of r.cameras.filter((c) => c.due)) {
    try { await rotateCamera(cam, 'due'); n++; }
    catch (e) { if (e.code !== 'not_due') toast(`Key rotation of ${cam.name} failed: ${e.message}`); }
  }
  return n;
}

// Admin panel: the organization's rotation period and each camera's key state.
export async function rotationPanel(reload) {
  const r = await api('GET', '/api/keys/rotation');
  const out = h('p', { role: 'status', id: 'rot-status' });
  const days = h('input', { id: 'f-rot-days', name: 'period_days', type: 'number', min: 1, max: 366, value: r.period_days, required: true });
  const form = h('form', { class: 'row rot-form', novalidate: true },
    h('div', {}, h('label', { for: 'f-rot-days', text: 'Rotate every (days)' }), days,
      h('div', { class: 'hint', text: 'Default 30 (monthly). A due key is rotated by the next admin who signs in.' })),
    h('div', {}, h('button', { type: 'submit', class: 'secondary', text: 'Save period' })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = Number(days.value);
    if (!Number.isInteger(v) || v < 1 || v > 366) { out.className = 'error'; out.textContent = 'A whole number of days, 1 to 366.'; return; }
    try { await api('PUT', '/api/keys/rotation', { period_days: v }); toast('Rotation period saved'); reload(); }
    catch (e) { out.className = 'error'; out.textContent = e.message; }
  });
  const rows = r.cameras.map((cam) => {
    const earlier = cam.periods.filter((p) => p.retired);
    const shredded = earlier.filter((p) => p.shredded).length;
    const btn = h('button', { type: 'button', class: 'secondary small', text: 'Rotate now', 'data-rotate': cam.id,
      'aria-label': `Rotate the footage key of ${cam.name} now`,
      onclick: async () => {
        if (!confirm(`Make a new footage key for ${cam.name}? Recording switches to it at the next segment; earlier footage keeps its key until it leaves retention.`)) return;
        btn.disabled = true;
        try { const fp = await rotateCamera(cam, 'manual'); toast(`New key for ${cam.name} · ${fp.slice(0, 9)}…`); reload(); }
        catch (e) { btn.disabled = false; out.className = 'error'; out.textContent = e.message; }
      } });
    return h('tr', { 'data-camera': cam.id },
      h('th', { scope: 'row', text: cam.name }),
      h('td', { class: 'mono rot-fp', text: cam.fingerprint, title: 'BLAKE2b-128 of the current period\u2019s public key' }),
      h('td', { text: when(cam.created) }),
      h('td', {}, cam.due ? h('span', { class: 'badge b-bad', text: 'due' }) : h('span', { text: when(cam.next_rotation) })),
      h('td', { class: 'rot-periods', text: earlier.length ? `${earlier.length - shredded} kept · ${shredded} shredded` : 'none' }),
      h('td', {}, btn));
  });
  return h('section', { class: 'card', id: 'key-rotation', 'aria-labelledby': 'rot-h' },
    h('h2', { id: 'rot-h', text: 'Footage key rotation' }),
    h('p', { class: 'muted', text: `Each camera gets a new footage key every ${r.period_days} day${r.period_days === 1 ? '' : 's'}, made in an admin\u2019s browser and sealed to the members who hold the current one. A removed member is left out. An earlier key is kept while footage sealed to it remains, then deleted (shredded) when retention removes that footage.` }),
    form,
    r.cameras.length ? h('table', {}, h('thead', {}, h('tr', {}, ...['Camera', 'Current key', 'Since', 'Next rotation', 'Earlier keys', ''].map((t) => h('th', { text: t })))),
      h('tbody', {}, rows)) : h('p', { class: 'muted', text: 'No camera has a footage key yet.' }),
    out);
}
