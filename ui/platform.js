// SPDX-License-Identifier: Apache-2.0
// The operator console (docs/design/tenancy.md): organizations, their state
// and camera quota, and the platform's own operators and support accounts.
// It shows counts and states only; the API gives an operator nothing else.
import { api } from './api.js';
import { h, state, toast } from './app.js';
import { fingerprint } from './keys.js';

const GB = 1024 ** 3;
const size = (b) => (b >= GB ? `${(b / GB).toFixed(1)} GB` : `${(b / 1024 ** 2).toFixed(1)} MB`);
const day = (s) => new Date(s * 1000).toLocaleDateString();

function fail(out, e) { out.replaceChildren(h('p', { class: 'error', role: 'alert', text: e.code || e.message || 'Failed.' })); }

// A one-time link, shown once: the server keeps only its hash.
function linkBox(text, link) {
  return h('div', { class: 'card', id: 'link-out' }, h('p', { text }),
    h('div', { class: 'secret', id: 'setup-link', text: link }),
    h('button', { type: 'button', class: 'secondary', text: 'Copy', onclick: () => navigator.clipboard.writeText(link).then(() => toast('Copied')) }));
}

function orgRow(o, out, reload) {
  const quota = h('input', { type: 'number', min: 0, max: 100000, value: o.max_cameras ?? '', placeholder: 'none',
    'aria-label': `Camera quota of ${o.name}`, class: 'quota' });
  const setQuota = async () => {
    const v = quota.value.trim();
    try { await api('PUT', `/api/platform/orgs/${o.id}/quota`, { max_cameras: v === '' ? null : Number(v) }); toast('Quota set'); reload(); }
    catch (e) { fail(out, e); }
  };
  quota.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') setQuota(); });
  const suspended = o.state === 'suspended';
  const toggle = async () => {
    if (!suspended && !confirm(`Suspend ${o.name}? Its members can no longer sign in; recording continues.`)) return;
    try { await api('POST', `/api/platform/orgs/${o.id}/${suspended ? 'resume' : 'suspend'}`, {}); reload(); }
    catch (e) { fail(out, e); }
  };
  const newLink = async () => {
    try {
      const r = await api('POST', `/api/platform/orgs/${o.id}/setup-link`, {});
      out.replaceChildren(linkBox(`Owner setup link for ${o.name} (valid 1 hour, works once; earlier links stop working):`,
        `${location.origin}/#setup=${r.token}`));
    } catch (e) { fail(out, e); }
  };
  return h('tr', { 'data-org': o.id },
    h('td', { text: o.name }),
    h('td', {}, h('span', { class: `badge ${suspended ? 'warnc' : 'ok'}`, text: o.awaiting_owner ? `${o.state}, awaiting owner` : o.state })),
    h('td', { text: day(o.created) }),
    h('td', { text: o.members }),
    h('td', { text: o.max_cameras == null ? `${o.cameras}` : `${o.cameras} / ${o.max_cameras}` }),
    h('td', { text: size(o.storage_bytes) }),
    h('td', {}, h('span', { class: 'ok', text: `${o.health.recording} recording` }), ' · ',
      h('span', { class: o.health.offline ? 'warnc' : 'muted', text: `${o.health.offline} offline` })),
    h('td', {}, quota, h('button', { type: 'button', class: 'secondary', text: 'Set', 'aria-label': `Set the camera quota of ${o.name}`, onclick: setQuota })),
    h('td', {}, h('button', { type: 'button', class: suspended ? 'secondary' : 'danger', text: suspended ? 'Resume' : 'Suspend',
      'aria-label': `${suspended ? 'Resume' : 'Suspend'} ${o.name}`, onclick: toggle }),
      o.awaiting_owner ? h('button', { type: 'button', class: 'secondary', text: 'New setup link', onclick: newLink }) : null));
}

async function operatorConsole() {
  const [{ organizations }, { members }] = await Promise.all([api('GET', '/api/platform/orgs'), api('GET', '/api/platform/members')]);
  const root = h('div', {});
  const out = h('div', { id: 'platform-out', 'aria-live': 'polite' });
  const reload = async () => { const n = await operatorConsole(); root.replaceWith(n); };
  const create = h('form', { class: 'card', novalidate: true }, h('h2', { text: 'New organization' }),
    h('div', { class: 'row' },
      h('div', {}, h('label', { for: 'f-org-name', text: 'Name' }), h('input', { id: 'f-org-name', name: 'name', required: true, maxlength: 100 })),
      h('div', {}, h('label', { for: 'f-org-quota', text: 'Camera quota (empty: none)' }),
        h('input', { id: 'f-org-quota', name: 'quota', type: 'number', min: 0, max: 100000 }))),
    h('button', { type: 'submit', text: 'Create and get the owner\u2019s setup link' }));
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: create.name.value.trim() };
    if (create.quota.value.trim() !== '') body.max_cameras = Number(create.quota.value);
    try {
      const r = await api('POST', '/api/platform/orgs', body);
      const n = await operatorConsole();
      root.replaceWith(n);
      n.querySelector('#platform-out').replaceChildren(linkBox(
        `Send this link to the owner of ${r.name} (valid 1 hour, works once). It is shown only now:`, `${location.origin}/#setup=${r.token}`));
    } catch (e) { fail(out, e); }
  });
  const myFp = fingerprint(state.keys.publicKey);
  const invite = h('form', { class: 'card', novalidate: true }, h('h2', { text: 'Invite to the platform' }),
    h('div', { class: 'row' },
      h('div', {}, h('label', { for: 'f-p-email', text: 'Email' }), h('input', { id: 'f-p-email', name: 'email', type: 'email', required: true })),
      h('div', {}, h('label', { for: 'f-p-role', text: 'Role' }), h('select', { id: 'f-p-role', name: 'role' },
        h('option', { value: 'support', text: 'Support (sees only what a customer grants)' }), h('option', { value: 'operator', text: 'Operator' })))),
    h('button', { type: 'submit', text: 'Create invitation link' }));
  invite.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('POST', '/api/platform/members', { email: invite.email.value.trim(), role: invite.role.value });
      out.replaceChildren(linkBox('Send this link to the person you invite (valid 7 days, works once):',
        `${location.origin}/#invite=${r.token}&fp=${myFp.replace(/ /g, '')}`));
    } catch (e) { fail(out, e); }
  });
  root.append(h('h1', { text: 'Organizations' }),
    h('p', { class: 'muted', text: 'You manage organizations; you cannot see their footage, cameras, members or audit details.' }),
    out,
    organizations.length ? h('table', { id: 'orgs' },
      h('thead', {}, h('tr', {}, ...['Name', 'State', 'Created', 'Members', 'Cameras', 'Storage', 'Health', 'Quota', ''].map((t) => h('th', { text: t })))),
      h('tbody', {}, organizations.map((o) => orgRow(o, out, reload))))
      : h('p', { class: 'muted', text: 'No organization yet.' }),
    create,
    h('h2', { text: 'Platform accounts' }),
    h('table', { id: 'platform-members' }, h('thead', {}, h('tr', {}, ...['Email', 'Role', 'Key fingerprint', ''].map((t) => h('th', { text: t })))),
      h('tbody', {}, members.map((m) => h('tr', {}, h('td', { text: m.email }), h('td', { text: m.role }), h('td', { class: 'mono', text: m.fingerprint }),
        h('td', {}, m.id !== state.me.id ? h('button', { class: 'danger', type: 'button', text: 'Remove', 'aria-label': `Remove ${m.email}`,
          onclick: async () => {
            if (!confirm(`Remove ${m.email}? Their sessions end at once.`)) return;
            try { await api('DELETE', `/api/platform/members/${m.id}`); toast('Removed'); reload(); } catch (e) { fail(out, e); }
          } }) : null))))),
    invite);
  return root;
}

// Support accounts see what a customer grants them, nothing by default.
function supportHome() {
  return h('div', { class: 'card' }, h('h1', { text: 'Support' }),
    h('p', { text: 'Your account belongs to the platform. You see an organization only while its owner grants you access.' }));
}

export async function platform() {
  return state.me.role === 'operator' ? operatorConsole() : supportHome();
}
