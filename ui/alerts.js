// SPDX-License-Identifier: Apache-2.0
// Alerts page (owners and admins): the organization's notifications, newest
// first, with an unread badge in the navigation, and the webhook that gets
// each alert as signed JSON (docs/design/audit.md "Alerts").
import { api } from './api.js';
import { h, state, atLeast } from './app.js';

const fmt = (ms) => new Date(ms).toLocaleString();

// The unread count next to "Alerts" in the navigation; refreshed on every
// page and every 30 s while signed in.
let timer = null;
export async function refreshBadge() {
  const badge = document.getElementById('alerts-badge');
  if (!badge) return;
  if (!state.me || !atLeast('admin')) { badge.hidden = true; return; }
  try {
    const r = await api('GET', '/api/notifications');
    badge.textContent = r.unread > 99 ? '99+' : String(r.unread);
    badge.hidden = r.unread === 0;
    badge.setAttribute('aria-label', `${r.unread} unread alerts`);
  } catch { badge.hidden = true; }
  if (!timer) timer = setInterval(() => { if (state.me) refreshBadge(); }, 30000);
}

function webhookCard(current) {
  const err = h('p', { class: 'error', role: 'alert' });
  const out = h('div', { id: 'webhook-secret' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', { text: 'Webhook' }),
    h('p', { class: 'muted', text: 'Each alert is POSTed as JSON to this HTTPS address, signed with HMAC-SHA256 in the X-Vigil-Signature header ("sha256=" and the hex digest of the body, keyed with the secret shown once when you save).' }),
    h('div', {}, h('label', { for: 'f-hookurl', text: 'HTTPS URL' }),
      h('input', { id: 'f-hookurl', name: 'hookurl', type: 'url', placeholder: 'https://hooks.example.com/vigil', value: current || '' })),
    h('button', { type: 'submit', id: 'webhook-save', text: current ? 'Save and make a new secret' : 'Save' }),
    current ? h('button', { type: 'button', class: 'secondary', id: 'webhook-remove', text: 'Remove', onclick: async () => {
      try { await api('DELETE', '/api/alerts/webhook'); form.replaceWith(webhookCard(null)); } catch (e) { err.textContent = e.message; }
    } }) : null,
    err, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault(); err.textContent = ''; out.replaceChildren();
    try {
      const r = await api('PUT', '/api/alerts/webhook', { url: form.hookurl.value.trim() });
      out.replaceChildren(h('p', { text: 'Secret (shown once; give it to the receiver to check signatures):' }),
        h('p', { class: 'mono', id: 'webhook-secret-value', text: r.secret }));
    } catch (e) {
      err.textContent = e.code === 'bad_url' ? 'Only https:// addresses on the public internet are accepted.' : e.message;
    }
  });
  return form;
}

export async function alerts() {
  const [list, hook] = await Promise.all([api('GET', '/api/notifications'), api('GET', '/api/alerts/webhook')]);
  const top = list.notifications.length ? list.notifications[0].id : 0;
  const markRead = h('button', { type: 'button', class: 'secondary', id: 'alerts-read', text: 'Mark all read', disabled: !list.unread });
  markRead.addEventListener('click', async () => {
    await api('POST', '/api/notifications/read', { up_to: top });
    for (const tr of document.querySelectorAll('tr.unread')) tr.classList.remove('unread');
    markRead.disabled = true;
    refreshBadge();
  });
  const rows = list.notifications.map((n) => h('tr', { class: n.unread ? 'unread' : null },
    h('td', { text: fmt(n.ts_ms) }), h('td', {}, h('span', { class: 'badge', text: n.kind })), h('td', { text: n.title }),
    h('td', { class: 'mono', text: JSON.stringify(n.detail.detail || n.detail) }), h('td', { text: n.webhook })));
  return h('div', {}, h('h1', { text: 'Alerts' }),
    h('p', {}, `${list.unread} unread. `, markRead),
    list.notifications.length
      ? h('table', { id: 'alerts-list' }, h('thead', {}, h('tr', {}, ...['When', 'Kind', 'What', 'Details', 'Webhook'].map((t) => h('th', { text: t })))),
          h('tbody', {}, rows))
      : h('p', { class: 'muted', id: 'no-alerts', text: 'No alerts yet.' }),
    webhookCard(hook.url));
}
