// SPDX-License-Identifier: Apache-2.0
// JSON API client (docs/api.md). Same-origin fetch: the browser sends the
// session cookie (HttpOnly, SameSite=Strict) and the Origin header the server checks.
export class ApiError extends Error {
  constructor(status, code, body) { super(code || `HTTP ${status}`); this.status = status; this.code = code; this.body = body; }
}

export async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
  const r = await fetch(path, opts);
  let js = null;
  try { js = await r.json(); } catch { js = null; }
  if (!r.ok) {
    const e = new ApiError(r.status, js && js.error, js);
    e.retryAfter = Number(r.headers.get('Retry-After')) || 0;
    throw e;
  }
  return js;
}
