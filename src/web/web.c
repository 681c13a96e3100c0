/* SPDX-License-Identifier: Apache-2.0 */
/* libmicrohttpd nested in a vg_loop, and the one request pipeline.
 *
 * Invariants:
 *  1. Every request passes, in this order and only here (pipeline_headers()
 *     then pipeline_request()): Host is one of ours (421) -> for
 *     POST/PUT/PATCH/DELETE the Origin header equals one of our origins (403,
 *     session or not) -> declared and actual body size (413) -> static file
 *     (GET/HEAD only, fixed table) or API: session unless the route prefix is
 *     public (401) -> route (404/405) -> role (403) -> handler.
 *  2. Handlers reach tenant data only through r->ctx.scope (db.h).
 *  3. MHD_run is called whenever MHD's epoll fd is readable and when the
 *     timer from MHD_get_timeout fires; the timer is re-armed after each run.
 *  4. All MHD callbacks run on the loop's thread (external epoll mode). */
#include "web/web_int.h"
#include "auth/auditlog.h"
#include "core/err.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/socket.h>

static void kick(vg_web *w)
{
    MHD_UNSIGNED_LONG_LONG to = 0;
    MHD_run(w->d);
    if (MHD_get_timeout(w->d, &to) != MHD_YES || to > 1000) to = 1000;
    vg_timer_start(w->loop, &w->timer, to);
}

void vg_web_kick(vg_web *w) { kick(w); }

static void on_io(vg_loop *loop, vg_io *io, uint32_t events) { kick(io->data); }
static void on_timer(vg_loop *loop, vg_timer *t) { kick(t->data); }

/* ---- pipeline ---------------------------------------------------------------- */

static int origin_ok(const vg_web *w, const char *origin)
{
    if (!origin) return 0;
    for (int i = 0; i < w->n_origins; i++)
        if (strcmp(origin, w->origins[i]) == 0) return 1;
    return 0;
}

static int host_ok(const vg_web *w, const char *host)
{
    if (!host) return 0;
    for (int i = 0; i < w->n_origins; i++)
        if (strcmp(host, w->origins[i] + 8) == 0) return 1;   /* after "https://" */
    return 0;
}

static int state_changing(const char *m)
{
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

static int public_api(const char *url)
{
    return strcmp(url, "/api/setup") == 0 || strncmp(url, "/api/setup/", 11) == 0 ||
           strcmp(url, "/api/login") == 0 || strncmp(url, "/api/login/", 11) == 0 ||
           strncmp(url, "/api/share/", 11) == 0;   /* share links: token-authenticated (share.c) */
}

/* "/api/members/123" against prefix "/api/members/": strict decimal id,
 * followed by exactly `suffix` when the route has one ("/api/cameras/7/key"). */
static int match_id(const char *url, const char *prefix, const char *suffix, int64_t *id)
{
    size_t n = strlen(prefix);
    if (strncmp(url, prefix, n) != 0) return 0;
    const char *p = url + n;
    size_t len = strlen(p);
    if (suffix) {
        size_t sl = strlen(suffix);
        if (len <= sl || strcmp(p + len - sl, suffix) != 0) return 0;
        len -= sl;
    }
    if (len == 0 || len > 15 || p[0] == '0') return 0;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    *id = v;
    return 1;
}

/* Every route of the API, one table per concern (web_int.h). A route is
 * found here or nowhere: the pipeline's session and role checks run for
 * every table alike. */
static const vg_web_route *(*const route_tables[])(size_t *n) = {
    vg_api_routes,
    vg_recorder_routes,
    vg_platform_routes,
    vg_webauthn_routes,
    vg_rotation_routes,
    vg_auditlog_routes,
    vg_alerts_routes,
    vg_grants_routes,
    vg_share_routes,
};

/* 0 found, 404 no such path, 405 path exists for another method. */
static unsigned find_route(const char *method, const char *url, const vg_web_route **out, int64_t *id)
{
    unsigned status = MHD_HTTP_NOT_FOUND;
    for (size_t t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++) {
        size_t n;
        const vg_web_route *rt = route_tables[t](&n);
        for (size_t i = 0; i < n; i++) {
            int64_t v = 0;
            int hit = rt[i].has_id ? match_id(url, rt[i].path, rt[i].suffix, &v) : strcmp(url, rt[i].path) == 0;
            if (!hit) continue;
            if (strcmp(method, rt[i].method) != 0) { status = MHD_HTTP_METHOD_NOT_ALLOWED; continue; }
            *out = &rt[i];
            *id = v;
            return 0;
        }
    }
    return status;
}

char *vg_web_routes_json(void)
{
    json_t *arr = json_array();
    for (size_t t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++) {
        size_t n;
        const vg_web_route *rt = route_tables[t](&n);
        for (size_t i = 0; i < n; i++) {
            char path[256];
            snprintf(path, sizeof path, "%s%s%s", rt[i].path, rt[i].has_id ? "{id}" : "",
                     rt[i].has_id && rt[i].suffix ? rt[i].suffix : "");
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "method", rt[i].method, "path", path,
                                  "min_role", rt[i].access == VG_PUBLIC ? "public"
                                              : rt[i].min_role == VG_ROLE_NONE ? "session"
                                              : vg_role_name(rt[i].min_role)));
        }
    }
    char *out = json_dumps(arr, JSON_INDENT(1));
    json_decref(arr);
    return out;
}

static void client_addr(struct MHD_Connection *c, char *out, size_t outsz)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, outsz, "?");
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)outsz);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)outsz);
}

static enum MHD_Result run_handler(vg_web *w, vg_req *r, struct MHD_Connection *c)
{
    json_t *body = NULL;
    if (r->body.len) {
        json_error_t err;
        body = json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &err);
        if (!body || !json_is_object(body)) {
            json_decref(body);
            return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_json");
        }
    }
    enum MHD_Result res = r->route->fn(w, r, body, c);
    json_decref(body);
    return res;
}

/* Step 1, when the headers are in: Host, then Origin for state-changing
 * methods, then the declared body size. Returns MHD_YES to go on, or the
 * result of queueing the refusal (r->refused set). */
static enum MHD_Result pipeline_headers(vg_web *w, vg_req *r, struct MHD_Connection *c, const char *method)
{
    r->refused = 1;
    if (!host_ok(w, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST)))
        return vg_reply_error(c, 421, "wrong_host");
    if (state_changing(method) &&
        !origin_ok(w, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin")))
        return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "bad_origin");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && (strlen(cl) > 9 || strtol(cl, NULL, 10) > VG_WEB_BODY_MAX))
        return vg_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large");
    r->refused = 0;
    return MHD_YES;
}

/* Step 2, when the (bounded) body is in: static file or API session, route,
 * role, then the handler. Responses are queued only now, after the whole
 * request was read, so the connection can be kept alive. */
static enum MHD_Result pipeline_request(vg_web *w, vg_req *r, struct MHD_Connection *c, const char *url,
                                        const char *method)
{
    if (r->too_big) return vg_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large");
    if (strncmp(url, "/api/", 5) != 0) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            return vg_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method");
        return vg_static_serve(w, c, url, method[0] == 'H');
    }
    const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, VG_SESSION_COOKIE);
    if (sid && strlen(sid) < sizeof r->sid) snprintf(r->sid, sizeof r->sid, "%s", sid);
    if (!public_api(url)) {
        if (!r->sid[0] || vg_auth_session(w->auth, r->sid, vg_web_now(), r->addr, &r->ctx))
            return vg_reply_error(c, MHD_HTTP_UNAUTHORIZED, "unauthenticated");
        r->has_ctx = 1;
    }
    unsigned st = find_route(method, url, &r->route, &r->id);
    if (st) return vg_reply_error(c, st, st == MHD_HTTP_NOT_FOUND ? "not_found" : "method");
    if (r->route->access == VG_SESSION && (!r->has_ctx || !vg_role_allows(r->ctx.role, r->route->min_role)))
        return vg_reply_error(c, r->has_ctx ? MHD_HTTP_FORBIDDEN : MHD_HTTP_UNAUTHORIZED, "forbidden");
    return run_handler(w, r, c);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **pp)
{
    vg_web *w = cls;
    vg_req *r = *pp;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        vg_buf_init(&r->body, VG_WEB_BODY_MAX);
        *pp = r;
        client_addr(c, r->addr, sizeof r->addr);
        return pipeline_headers(w, r, c, method);
    }
    if (r->refused || r->done) return MHD_NO;   /* not called again once answered */
    if (*upload_size) {
        if (!r->too_big && vg_buf_append(&r->body, upload, *upload_size)) r->too_big = 1;
        *upload_size = 0;   /* consumed (or dropped past the limit) */
        return MHD_YES;
    }
    r->done = 1;
    return pipeline_request(w, r, c, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **pp, enum MHD_RequestTerminationCode toe)
{
    vg_req *r = *pp;
    if (!r) return;
    vg_buf_free_wipe(&r->body);
    sodium_memzero(r, sizeof *r);
    free(r);
    *pp = NULL;
}

/* Percent-decoding of the path and query (RFC 3986 §2.1), in place. Unlike
 * libmicrohttpd's default it leaves "%00" undecoded, so a NUL can never cut
 * a path short ("/app.js%00.png" must not become "/app.js"). */
static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    size_t r = 0, w = 0;
    for (; s[r]; r++, w++) {
        int hi, lo;
        if (s[r] == '%' && (hi = hexval(s[r + 1])) >= 0 && (lo = hexval(s[r + 2])) >= 0 && (hi | lo)) {
            s[w] = (char)(hi << 4 | lo);
            r += 2;
        } else {
            s[w] = s[r];
        }
    }
    s[w] = 0;
    return w;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    vg_debug("web", "mhd: %s", line);
}

/* ---- setup ------------------------------------------------------------------- */

/* "ADDR:PORT" or "[V6]:PORT" into sa; host gets the address text. */
static int parse_listen(const char *s, struct sockaddr_storage *sa, char *host, size_t hostsz, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) return VG_EINVAL;
    size_t hl = (size_t)(colon - s);
    const char *h = s;
    if (s[0] == '[') {
        if (hl < 3 || s[hl - 1] != ']') return VG_EINVAL;
        h = s + 1;
        hl -= 2;
    }
    if (hl >= hostsz) return VG_EINVAL;
    memcpy(host, h, hl);
    host[hl] = 0;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || colon[1] == 0 || p < 0 || p > 65535) return VG_EINVAL;
    *port = (uint16_t)p;
    memset(sa, 0, sizeof *sa);
    struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)sa;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)sa;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(*port);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(*port);
    } else {
        return VG_EINVAL;
    }
    return 0;
}

static void add_origin(vg_web *w, const char *host, unsigned port)
{
    int v6 = strchr(host, ':') != NULL;
    if (w->n_origins >= VG_WEB_MAX_ORIGINS) return;
    snprintf(w->origins[w->n_origins], sizeof w->origins[0], "https://%s%s%s:%u", v6 ? "[" : "", host,
             v6 ? "]" : "", port);
    for (int i = 0; i < w->n_origins; i++)
        if (strcmp(w->origins[i], w->origins[w->n_origins]) == 0) return;
    w->n_origins++;
}

static int set_origins(vg_web *w, const vg_web_opts *o, const char *host)
{
    if (o->origin) {
        size_t n = strlen(o->origin);
        if (strncmp(o->origin, "https://", 8) != 0 || n < 9 || n >= sizeof w->origins[0] ||
            strchr(o->origin + 8, '/'))
            return VG_EINVAL;
        snprintf(w->origins[0], sizeof w->origins[0], "%s", o->origin);
        w->n_origins = 1;
        return 0;
    }
    add_origin(w, "localhost", w->port);
    add_origin(w, "127.0.0.1", w->port);
    add_origin(w, "::1", w->port);
    if (strcmp(host, "0.0.0.0") && strcmp(host, "::")) add_origin(w, host, w->port);
    return 0;
}

/* First start: print the one-time setup link to the terminal only (never
 * vg_log: the log file must not hold it). */
static int maybe_print_setup(vg_web *w)
{
    int needed = 0;
    char tok[VG_TOKEN_B64_MAX];
    int rc = vg_auth_needs_setup(w->auth, &needed);
    if (rc || !needed) return rc;
    rc = vg_auth_setup_token_new(w->auth, vg_web_now(), tok, sizeof tok);
    if (rc) return rc;
    fprintf(stderr, "\nvigil: no organization yet. Open this one-time setup link (valid 1 hour):\n\n"
                    "    %s/#setup=%s\n\n", w->origins[0], tok);
    fflush(stderr);
    sodium_memzero(tok, sizeof tok);
    return 0;
}

static int start_daemon(vg_web *w, const vg_web_opts *o, const struct sockaddr_storage *sa)
{
    /* Suspend/resume: a live viewer with nothing to send is suspended, never
     * fed 0 bytes (0.9.75 spins on that; ARCHITECTURE notes). */
    unsigned flags = MHD_USE_EPOLL | MHD_USE_TLS | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (sa->ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    w->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, w,
        MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_HTTPS_MEM_KEY, w->key_pem,
        MHD_OPTION_HTTPS_MEM_CERT, w->cert_pem,
        MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o->max_connections ? o->max_connections : 256),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64u,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, w,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, w,
        MHD_OPTION_END);
    if (!w->d) return VG_EIO;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    if (!di || !pi) return VG_EIO;
    w->port = pi->port;
    vg_io_init(&w->io, di->epoll_fd, on_io, w);
    vg_timer_init(&w->timer, on_timer, w);
    int rc = vg_io_start(w->loop, &w->io, EPOLLIN);
    if (!rc) rc = vg_timer_start(w->loop, &w->timer, 0);
    return rc;
}

int vg_web_new(vg_loop *loop, const vg_web_opts *o, vg_web **out)
{
    struct sockaddr_storage sa;
    char host[128], path[1100];
    uint16_t port;
    int rc;
    *out = NULL;
    if (!o || !o->data_dir) return VG_EINVAL;
    if (parse_listen(o->listen ? o->listen : VG_WEB_DEFAULT_LISTEN, &sa, host, sizeof host, &port)) {
        vg_error("web", "bad listen address (want ADDR:PORT)");
        return VG_EINVAL;
    }
    vg_web *w = calloc(1, sizeof *w);
    if (!w) return VG_ENOMEM;
    w->loop = loop;
    vg_live_web_init(w);
    vg_rot_init(w);
    snprintf(w->ui_dir, sizeof w->ui_dir, "%s", o->ui_dir ? o->ui_dir : "ui");
    snprintf(path, sizeof path, "%s/app.db", o->data_dir);
    if ((rc = vg_db_open(path, &w->db)) || (rc = vg_auth_new(w->db, o->data_dir, &w->auth)) ||
        (rc = vg_logkey_load(o->data_dir, &w->logkey)) ||
        (rc = vg_tls_load(o, host, &w->cert_pem, &w->key_pem)))
        goto out;
    if ((rc = start_daemon(w, o, &sa))) {
        vg_error("web", "cannot listen on %s", o->listen ? o->listen : VG_WEB_DEFAULT_LISTEN);
        goto out;
    }
    if ((rc = set_origins(w, o, host))) { vg_error("web", "--origin must be https://HOST[:PORT]"); goto out; }
    if ((rc = vg_alerts_web_start(w))) goto out;
    if ((rc = maybe_print_setup(w))) goto out;
    vg_info("web", "listening on %s (port %u)", w->origins[0], w->port);
out:
    if (rc) { vg_web_free(w); w = NULL; }
    *out = w;
    return rc;
}

void vg_web_free(vg_web *w)
{
    if (!w) return;
    if (w->d) {
        vg_live_web_shutdown(w);
        vg_rot_stop(w);
        vg_grants_shutdown(w);
        vg_io_stop(w->loop, &w->io);
        vg_timer_stop(w->loop, &w->timer);
        MHD_stop_daemon(w->d);
    }
    vg_alerts_web_stop(w);
    vg_auth_free(w->auth);
    vg_logkey_free(w->logkey);
    vg_db_close(w->db);
    if (w->key_pem) { sodium_memzero(w->key_pem, strlen(w->key_pem)); free(w->key_pem); }
    free(w->cert_pem);
    free(w);
}

uint16_t vg_web_port(const vg_web *w) { return w->port; }
