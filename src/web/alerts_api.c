/* SPDX-License-Identifier: Apache-2.0 */
/* Alerts on the web side (docs/design/audit.md "Alerts"): the notifications
 * list with its unread count, the organization's webhook (URL and signing
 * secret), and the web loop's one-second alert tick (camera recording watch
 * and webhook dispatch, alert/alert.h).
 *
 * Invariants:
 *  1. Only owners and admins read notifications or configure the webhook;
 *     a webhook URL must be https (SSRF: docs/security.md).
 *  2. The signing secret is shown once, in the answer that sets the URL;
 *     never again, never in a log line or an audit detail. */
#include "alert/alert.h"
#include "alert/webhook.h"
#include "core/err.h"
#include "core/log.h"
#include "rec/recorder.h"
#include "web/web_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 1000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the tick ----------------------------------------------------------------------------- */

static void watch_org(vg_web *w, int64_t org, int64_t now)
{
    vg_scope s = {w->db, org};
    vg_stmt *st = NULL;
    /* Cameras that should record: a footage key and an RTSP URL (or the demo). */
    if (vg_scope_prep(&s, &st, "SELECT id, name, builtin FROM cameras WHERE org_id = ?1 AND footage_pk IS NOT NULL "
                      "AND (url != '' OR builtin = 1)", ""))
        return;
    while (vg_db_step(st) == 1) {
        char name[64];
        vg_cam_status cs;
        int64_t id = vg_db_int(st, 0);
        vg_cam_store_name(id, (int)vg_db_int(st, 2), name);
        int known = vg_recorder_status(w->rec, name, &cs) == 0;
        vg_alert_camera(w->alerts, &s, id, vg_db_text(st, 1), known && !strcmp(cs.state, "recording"),
                        known ? cs.state : "offline", now);
    }
    vg_db_done(st);
}

static void tick(vg_loop *loop, vg_timer *t)
{
    vg_web *w = t->data;
    if (w->rec) {
        int64_t now = now_ms();
        vg_stmt *st = NULL;
        vg_alert_camera_begin(w->alerts);
        /* The organizations themselves are not tenant rows. */
        if (vg_db_prep(w->db, &st, "SELECT id FROM organizations ORDER BY id", "") == 0)
            while (vg_db_step(st) == 1) watch_org(w, vg_db_int(st, 0), now);
        vg_db_done(st);
        vg_alert_camera_end(w->alerts);
    }
    vg_alert_dispatch(w->alerts);
    vg_timer_start(loop, t, TICK_MS);
}

int vg_alerts_web_start(vg_web *w)
{
    int rc = vg_alerts_new(w->db, &w->alerts);
    if (rc) return rc;
    vg_timer_init(&w->alert_timer, tick, w);
    return vg_timer_start(w->loop, &w->alert_timer, TICK_MS);
}

void vg_alerts_web_stop(vg_web *w)
{
    if (!w->alerts) return;
    vg_timer_stop(w->loop, &w->alert_timer);
    vg_alerts_free(w->alerts);
    w->alerts = NULL;
}

/* ---- routes ------------------------------------------------------------------------------- */

static int64_t last_read(const vg_req *r)
{
    vg_stmt *st = NULL;
    int64_t v = 0;
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT last_id FROM notification_reads WHERE org_id = ?1 AND member_id = ?2",
                      "i", r->ctx.member_id) == 0 && vg_db_step(st) == 1)
        v = vg_db_int(st, 0);
    vg_db_done(st);
    return v;
}

/* GET /api/notifications: the newest 100 and how many the caller has not read. */
static enum MHD_Result h_list(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st = NULL;
    int64_t seen = last_read(r), unread = 0;
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT count(*) FROM notifications WHERE org_id = ?1 AND id > ?2", "i",
                      seen) == 0 && vg_db_step(st) == 1)
        unread = vg_db_int(st, 0);
    vg_db_done(st);
    json_t *arr = json_array();
    st = NULL;
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT id, ts_ms, kind, title, detail, hook FROM notifications "
                      "WHERE org_id = ?1 ORDER BY id DESC LIMIT 100", "")) {
        json_decref(arr);
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    }
    static const char *const hook[] = {"pending", "queued", "delivered", "failed", "none"};
    while (vg_db_step(st) == 1) {
        int64_t id = vg_db_int(st, 0), hs = vg_db_int(st, 5);
        json_t *d = json_loads(vg_db_text(st, 4) ? vg_db_text(st, 4) : "{}", 0, NULL);
        json_array_append_new(arr, json_pack("{s:I,s:I,s:s,s:s,s:o,s:b,s:s}", "id", (json_int_t)id, "ts_ms",
                              (json_int_t)vg_db_int(st, 1), "kind", vg_db_text(st, 2), "title", vg_db_text(st, 3),
                              "detail", d ? d : json_object(), "unread", id > seen, "webhook",
                              hs >= 0 && hs <= 4 ? hook[hs] : "?"));
    }
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:I,s:o}", "unread", (json_int_t)unread, "notifications", arr));
}

/* POST /api/notifications/read {"up_to": id}: marks everything up to id read. */
static enum MHD_Result h_read(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    json_t *v = json_object_get(b, "up_to");
    if (!json_is_integer(v) || json_integer_value(v) < 0) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_request");
    int64_t up = json_integer_value(v), max = 0;
    vg_stmt *st = NULL;
    /* Never past the newest existing one: later alerts must arrive unread. */
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT coalesce(max(id), 0) FROM notifications WHERE org_id = ?1", "") == 0 &&
        vg_db_step(st) == 1)
        max = vg_db_int(st, 0);
    vg_db_done(st);
    if (up > max) up = max;
    if (up < last_read(r)) up = last_read(r);
    if (vg_scope_run(&r->ctx.scope, "INSERT INTO notification_reads(org_id, member_id, last_id) VALUES(?1, ?2, ?3) "
                     "ON CONFLICT(member_id) DO UPDATE SET last_id = excluded.last_id", "ii", r->ctx.member_id, up))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

static enum MHD_Result h_hook_get(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st = NULL;
    json_t *o = json_pack("{s:n}", "url");
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT url, created FROM webhooks WHERE org_id = ?1", "") == 0 &&
        vg_db_step(st) == 1) {
        json_object_set_new(o, "url", json_string(vg_db_text(st, 0)));
        json_object_set_new(o, "created", json_integer(vg_db_int(st, 1)));
    }
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

/* PUT /api/alerts/webhook {"url"}: sets the URL and answers a new secret. */
static enum MHD_Result h_hook_put(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    const char *url = vg_api_jstr(b, "url");
    if (!url || vg_alerts_url_ok(w->alerts, url)) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_url");
    uint8_t raw[32];
    char secret[64];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(secret, sizeof secret, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    int rc = vg_scope_run(&r->ctx.scope, "INSERT INTO webhooks(org_id, url, secret, created) VALUES(?1, ?2, ?3, ?4) "
                          "ON CONFLICT(org_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, "
                          "created = excluded.created", "tti", url, secret, vg_web_now());
    if (rc) {
        sodium_memzero(secret, sizeof secret);
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    }
    vg_api_audit(r, "webhook.set", json_pack("{s:s}", "url", url));
    json_t *o = json_pack("{s:s,s:s,s:s}", "url", url, "secret", secret, "signature_header", "X-Vigil-Signature");
    sodium_memzero(secret, sizeof secret);
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result h_hook_delete(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    if (vg_scope_run(&r->ctx.scope, "DELETE FROM webhooks WHERE org_id = ?1", ""))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    if (vg_db_changes(r->ctx.scope.db)) vg_api_audit(r, "webhook.remove", NULL);
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

static const vg_web_route routes[] = {
    {"GET", "/api/notifications", 0, VG_SESSION, VG_ROLE_ADMIN, h_list, NULL},
    {"POST", "/api/notifications/read", 0, VG_SESSION, VG_ROLE_ADMIN, h_read, NULL},
    {"GET", "/api/alerts/webhook", 0, VG_SESSION, VG_ROLE_ADMIN, h_hook_get, NULL},
    {"PUT", "/api/alerts/webhook", 0, VG_SESSION, VG_ROLE_ADMIN, h_hook_put, NULL},
    {"DELETE", "/api/alerts/webhook", 0, VG_SESSION, VG_ROLE_ADMIN, h_hook_delete, NULL},
};

const vg_web_route *vg_alerts_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
