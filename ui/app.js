// SPDX-License-Identifier: Apache-2.0
// vigil browser app: a small hash router and the page shell. Pages live in
// pages.js. No framework; DOM is built with h() (never innerHTML with data).
import { api } from './api.js';
import { ready } from './keys.js';
import * as pages from './pages.js';
import { live } from './live.js';
import { playback } from './playback.js';
import { forgetCameraKeys } from './camkeys.js';
import { grants, support, ensureSignKey, forgetSignKey } from './grants.js';
import { sharePage } from './share.js';
import { platform } from './platform.js';
import { security } from './security.js';
import { showAuditWarning } from './auditlog.js';
import { alerts, refreshBadge } from './alerts.js';

export const state = { me: null, keys: null };   // keys: { kek, publicKey, privateKey } — memory only

export function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat()) if (kid != null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}

export function toast(msg) {
  const t = document.getElementById('toast');
  t.textContent = msg; t.classList.add('show');
  clearTimeout(toast.timer); toast.timer = setTimeout(() => t.classList.remove('show'), 2500);
}

const ROLE = { viewer: 1, admin: 2, owner: 3 };
export const atLeast = (role) => state.me && ROLE[state.me.role] >= ROLE[role];
// Operators and support accounts belong to the platform: never a tenant page.
const onPlatform = () => state.me && (state.me.role === 'operator' || state.me.role === 'support');

function render(node, { narrow = false, wide = false, title = '' } = {}) {
  const main = document.getElementById('main');
  main.className = narrow ? 'narrow' : wide ? 'wide' : '';
  main.replaceChildren(node);
  document.title = title ? `${title} · vigil` : 'vigil';
  const h1 = main.querySelector('h1');
  if (h1) { h1.tabIndex = -1; h1.focus({ preventScroll: true }); }
}

function shell(show) {
  const top = document.getElementById('top');
  top.hidden = !show;
  if (!show || !state.me) return;
  document.getElementById('org-name').textContent = state.me.org.name;
  document.getElementById('who').textContent = `${state.me.email} · ${state.me.role}`;
  const page = (location.hash.match(/^#\/(\w+)/) || [])[1];
  for (const a of document.querySelectorAll('#nav a')) {
    a.hidden = a.dataset.platform === 'any' ? false : onPlatform() ? a.dataset.platform !== state.me.role
      : a.dataset.platform ? true : a.dataset.minRole ? !atLeast(a.dataset.minRole) : false;
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

// Pages that hold resources (a live stream, media sources) register their
// teardown here; it runs before the next page renders.
let leaving = [];
export function onLeave(fn) { leaving.push(fn); }
function leave() { const fns = leaving; leaving = []; for (const fn of fns) { try { fn(); } catch { /* best effort */ } } }

export function go(hash) { if (location.hash === hash) route(); else location.hash = hash; }

export function signedIn(me, keys) { state.me = me; state.keys = keys; ensureSignKey(); }

async function route() {
  leave();
  const hash = location.hash || '#/';
  const params = new URLSearchParams(hash.slice(1));
  if (params.get('setup')) { shell(false); return render(await pages.setup(params.get('setup')), { narrow: true, title: 'Set up' }); }
  if (params.get('share')) { shell(false); return render(await sharePage(params.get('share')), { narrow: true, title: 'Shared recording' }); }
  if (params.get('invite')) {
    shell(false);
    return render(await pages.invite(params.get('invite'), params.get('fp') || ''), { narrow: true, title: 'Join' });
  }
  if (!state.keys) {
    // A session without keys in memory (page reload) must unlock again: the KEK lives only here.
    if (!state.me) { try { state.me = await api('GET', '/api/me'); } catch { state.me = null; } }
    shell(false);
    return render(await pages.login(state.me && state.me.email), { narrow: true, title: 'Sign in' });
  }
  // Platform accounts never see a tenant page: an operator the console, a
  // support account only its grants (tenant routes would all be 403).
  const name = (hash.match(/^#\/(\w+)/) || [])[1] || 'cameras';
  const platformHome = state.me.role === 'support' ? support : platform;
  const table = onPlatform() ? (state.me.role === 'support' ? { support, security } : { platform, security })
    : { cameras: pages.cameras, members: pages.members, audit: pages.audit, alerts, live, playback, grants, security };
  const page = table[name] || (onPlatform() ? platformHome : pages.cameras);
  shell(true);
  showAuditWarning(state.me.org && state.me.org.id);
  refreshBadge();
  try { render(await page(), { title: name[0].toUpperCase() + name.slice(1) }); }
  catch (e) {
    if (e.status === 401) { forgetCameraKeys(); state.keys = null; state.me = null; return go('#/login'); }
    render(h('div', { class: 'card' }, h('h1', { text: 'Something went wrong' }), h('p', { class: 'error', text: e.message })));
  }
}

async function logout() {
  try { await api('POST', '/api/logout', {}); } catch { /* the session may be gone already */ }
  leave();
  forgetCameraKeys();
  forgetSignKey();
  if (state.keys) for (const k of Object.values(state.keys)) if (k instanceof Uint8Array) k.fill(0);
  state.keys = null; state.me = null;
  go('#/login');
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  document.getElementById('logout').addEventListener('click', logout);
  await ready();
  route();
});
