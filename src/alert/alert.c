/* SPDX-License-Identifier: Apache-2.0 */
/* Alert rules, notifications and their dispatch to webhooks (alert.h).
 *
 * Invariants:
 *  1. A notification row is written in the same database transaction as the
 *     audit row that caused it (the caller's, if it holds one).
 *  2. Each notification is handed to the sender at most once per process
 *     (hook 0 -> 1); one left queued by a stopped process is queued again at
 *     the next start (receivers dedupe on X-Vigil-Delivery).
 *  3. A camera alerts once per transition: recording -> lost for longer than
 *     the grace, then (after that alert) lost -> recording again.
 *  4. Only the web thread calls into this file (vg_alert_audit runs on the
 *     thread that appends the audit row: the web thread in vigil). */
#include "alert/alert.h"
#include "alert/webhook.h"
#include "core/err.h"
#include "core/log.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cam_watch {
    int64_t org, cam;
    int seen_recording, alerted, live;
    int64_t lost_since_ms;
} cam_watch;

typedef struct inflight {
    int64_t id, org;
} inflight;

struct vg_alerts {
    vg_db *db;
    vg_webhook *hook;
    int allow_private;
    int64_t grace_ms;
    cam_watch *cams;
    size_t n_cams, cap_cams;
    inflight fl[VG_WEBHOOK_QUEUE];
};

/* ---- rules on audit actions --------------------------------------------------------------- */

typedef int (*rule_when)(const vg_scope *s, int64_t actor_id, const char *detail, int64_t ts_ms);

static int role_is_admin(const char *detail)
{
    json_t *d = json_loads(detail ? detail : "{}", 0, NULL);
    const char *r = json_string_value(json_object_get(d, "role"));
    int yes = r && (!strcmp(r, "admin") || !strcmp(r, "owner"));
    json_decref(d);
    return yes;
}

static int new_admin(const vg_scope *s, int64_t actor_id, const char *detail, int64_t ts_ms)
{
    return role_is_admin(detail);
}

/* Exactly the VG_ALERT_FAIL_MAX-th failure within the window, on an owner or
 * admin account: one alert per burst, not one per failure. */
static int repeated_failures(const vg_scope *s, int64_t actor_id, const char *detail, int64_t ts_ms)
{
    vg_stmt *st = NULL;
    int64_t n = 0;
    int admin = 0;
    if (vg_scope_prep(s, &st, "SELECT role FROM members WHERE org_id = ?1 AND id = ?2", "i", actor_id) == 0 &&
        vg_db_step(st) == 1) {
        const char *r = vg_db_text(st, 0);
        admin = r && (!strcmp(r, "admin") || !strcmp(r, "owner"));
    }
    vg_db_done(st);
    if (!admin) return 0;
    st = NULL;
    if (vg_scope_prep(s, &st, "SELECT count(*) FROM audit WHERE org_id = ?1 AND action = 'login.fail' "
                      "AND actor_id = ?2 AND ts_ms > ?3", "ii", actor_id, ts_ms - VG_ALERT_FAIL_WINDOW_MS) == 0 &&
        vg_db_step(st) == 1)
        n = vg_db_int(st, 0);
    vg_db_done(st);
    return n == VG_ALERT_FAIL_MAX;
}

/* The rules, by audit action name: adding an alert is adding a line. */
static const struct rule {
    const char *action;
    const char *kind;
    const char *title;
    rule_when when;       /* NULL: always */
} rules[] = {
    {"org.setup", "member.admin", "New owner", NULL},
    {"member.join", "member.admin", "New admin", new_admin},
    {"member.role", "member.admin", "New admin", new_admin},
    {"grant.issue", "grant", "Support access granted", NULL},
    {"grant.use", "grant", "Support access used", NULL},
    {"login.fail", "login.failures", "Repeated failed sign-ins", repeated_failures},
    {"export", "export", "Footage exported", NULL},
};

int vg_alert_notify(const vg_scope *s, const char *kind, const char *title, const char *detail, int64_t ts_ms)
{
    int rc = vg_scope_run(s, "INSERT INTO notifications(org_id, ts_ms, kind, title, detail) VALUES(?1, ?2, ?3, ?4, ?5)",
                          "ittt", ts_ms, kind, title, detail ? detail : "{}");
    if (rc) vg_error("alert", "cannot store a notification (%s)", kind);
    return rc;
}

void vg_alert_audit(const vg_scope *s, int64_t actor_id, const char *actor, const char *action,
                    const char *detail, int64_t ts_ms)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct rule *r = &rules[i];
        if (strcmp(r->action, action) || (r->when && !r->when(s, actor_id, detail, ts_ms))) continue;
        char title[300];
        snprintf(title, sizeof title, "%s: %s", r->title, actor && *actor ? actor : "?");
        json_t *d = json_loads(detail ? detail : "{}", 0, NULL);
        json_t *o = json_pack("{s:s,s:s,s:I,s:o}", "action", action, "actor", actor ? actor : "", "actor_id",
                              (json_int_t)actor_id, "detail", d ? d : json_object());
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        (void)vg_alert_notify(s, r->kind, title, text, ts_ms);
        free(text);
        json_decref(o);
    }
}

/* ---- the tick: cameras and dispatch ------------------------------------------------------- */

int vg_alerts_new(vg_db *db, vg_alerts **out)
{
    *out = NULL;
    vg_alerts *a = calloc(1, sizeof *a);
    if (!a) return VG_ENOMEM;
    a->db = db;
    const char *ap = getenv("VIGIL_WEBHOOK_ALLOW_PRIVATE"), *g = getenv("VIGIL_ALERT_RECORDING_GRACE");
    a->allow_private = ap && !strcmp(ap, "1");
    a->grace_ms = VG_ALERT_REC_GRACE_S * 1000LL;
    if (g) {
        char *end = NULL;
        long v = strtol(g, &end, 10);
        if (end && !*end && v >= 1 && v <= 3600) a->grace_ms = v * 1000LL;
    }
    int rc = vg_webhook_new(getenv("VIGIL_WEBHOOK_CA_FILE"), a->allow_private, &a->hook);
    if (rc) { free(a); return rc; }
    if (a->allow_private) vg_warn("alert", "webhooks may reach private addresses (VIGIL_WEBHOOK_ALLOW_PRIVATE)");
    /* Queued when the last process stopped: queue again (invariant 2). System
     * code across organizations, like auth.c's throttle table. */
    (void)vg_db_run(db, "UPDATE notifications SET hook = 0 WHERE hook = 1", "");
    *out = a;
    return 0;
}

void vg_alerts_free(vg_alerts *a)
{
    if (!a) return;
    vg_webhook_free(a->hook);
    free(a->cams);
    free(a);
}

int vg_alerts_url_ok(const vg_alerts *a, const char *url) { return vg_webhook_url_ok(url, a->allow_private); }

static cam_watch *watch_find(vg_alerts *a, int64_t org, int64_t cam)
{
    for (size_t i = 0; i < a->n_cams; i++)
        if (a->cams[i].org == org && a->cams[i].cam == cam) return &a->cams[i];
    if (a->n_cams == a->cap_cams) {
        size_t nc = a->cap_cams ? a->cap_cams * 2 : 16;
        cam_watch *p = realloc(a->cams, nc * sizeof *p);
        if (!p) return NULL;
        a->cams = p;
        a->cap_cams = nc;
    }
    cam_watch *c = &a->cams[a->n_cams++];
    memset(c, 0, sizeof *c);
    c->org = org;
    c->cam = cam;
    return c;
}

void vg_alert_camera_begin(vg_alerts *a)
{
    for (size_t i = 0; i < a->n_cams; i++) a->cams[i].live = 0;
}

void vg_alert_camera(vg_alerts *a, const vg_scope *s, int64_t cam, const char *name, int recording,
                     const char *state, int64_t now_ms)
{
    cam_watch *c = watch_find(a, s->org_id, cam);
    if (!c) return;
    c->live = 1;
    char title[200];
    json_t *d = json_pack("{s:I,s:s,s:s}", "camera", (json_int_t)cam, "name", name ? name : "", "state", state);
    if (recording) {
        if (c->alerted) {
            snprintf(title, sizeof title, "Recording resumed: %s", name ? name : "?");
            char *t = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
            (void)vg_alert_notify(s, "camera.recording_resumed", title, t, now_ms);
            free(t);
        }
        c->seen_recording = 1;
        c->alerted = 0;
        c->lost_since_ms = 0;
    } else if (c->seen_recording && !c->alerted) {
        if (!c->lost_since_ms) c->lost_since_ms = now_ms;
        if (now_ms - c->lost_since_ms >= a->grace_ms) {
            json_object_set_new(d, "lost_since_ms", json_integer(c->lost_since_ms));
            snprintf(title, sizeof title, "Recording stopped: %s", name ? name : "?");
            char *t = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
            (void)vg_alert_notify(s, "camera.recording_lost", title, t, now_ms);
            free(t);
            c->alerted = 1;
        }
    }
    json_decref(d);
}

void vg_alert_camera_end(vg_alerts *a)
{
    /* Cameras gone from the database (removed on purpose, audited) are forgotten. */
    size_t j = 0;
    for (size_t i = 0; i < a->n_cams; i++)
        if (a->cams[i].live) a->cams[j++] = a->cams[i];
    a->n_cams = j;
}

static void drain_results(vg_alerts *a)
{
    int64_t ids[VG_WEBHOOK_QUEUE];
    int ok[VG_WEBHOOK_QUEUE];
    size_t n = vg_webhook_results(a->hook, ids, ok, VG_WEBHOOK_QUEUE);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < VG_WEBHOOK_QUEUE; k++) {
            if (a->fl[k].id != ids[i]) continue;
            vg_scope s = {a->db, a->fl[k].org};
            (void)vg_scope_run(&s, "UPDATE notifications SET hook = ?2 WHERE org_id = ?1 AND id = ?3", "ii",
                               (int64_t)(ok[i] ? 2 : 3), ids[i]);
            a->fl[k].id = 0;
            break;
        }
}

static inflight *free_slot(vg_alerts *a)
{
    for (int k = 0; k < VG_WEBHOOK_QUEUE; k++)
        if (!a->fl[k].id) return &a->fl[k];
    return NULL;
}

/* Hands the organization's undelivered notifications to the sender. 0, or
 * VG_EAGAIN when the sender is full (the rest wait for the next tick). */
static int dispatch_org(vg_alerts *a, int64_t org)
{
    vg_scope s = {a->db, org};
    vg_stmt *st = NULL;
    char url[VG_WEBHOOK_URL_MAX + 1] = "", secret[128] = "";
    if (vg_scope_prep(&s, &st, "SELECT url, secret FROM webhooks WHERE org_id = ?1", "") == 0 && vg_db_step(st) == 1) {
        snprintf(url, sizeof url, "%s", vg_db_text(st, 0) ? vg_db_text(st, 0) : "");
        snprintf(secret, sizeof secret, "%s", vg_db_text(st, 1) ? vg_db_text(st, 1) : "");
    }
    vg_db_done(st);
    if (!*url) return vg_scope_run(&s, "UPDATE notifications SET hook = 4 WHERE org_id = ?1 AND hook = 0", "");
    int rc = 0;
    int64_t posted[16];
    size_t np = 0;
    st = NULL;
    if (vg_scope_prep(&s, &st, "SELECT id, ts_ms, kind, title, detail FROM notifications WHERE org_id = ?1 "
                      "AND hook = 0 ORDER BY id LIMIT 16", ""))
        return VG_EIO;
    while (vg_db_step(st) == 1) {
        inflight *slot = free_slot(a);
        if (!slot) { rc = VG_EAGAIN; break; }
        int64_t id = vg_db_int(st, 0);
        json_t *d = json_loads(vg_db_text(st, 4) ? vg_db_text(st, 4) : "{}", 0, NULL);
        json_t *o = json_pack("{s:I,s:I,s:I,s:s,s:s,s:o}", "id", (json_int_t)id, "org_id", (json_int_t)org, "ts_ms",
                              (json_int_t)vg_db_int(st, 1), "kind", vg_db_text(st, 2), "title", vg_db_text(st, 3),
                              "detail", d ? d : json_object());
        char *body = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(o);
        int prc = body ? vg_webhook_post(a->hook, id, url, secret, body) : VG_ENOMEM;
        free(body);
        if (prc == VG_EAGAIN) { rc = prc; break; }
        if (prc == 0) {
            slot->id = id;
            slot->org = org;
        }
        posted[np++] = prc == 0 ? id : -id;
    }
    vg_db_done(st);
    for (size_t i = 0; i < np; i++)
        (void)vg_scope_run(&s, "UPDATE notifications SET hook = ?2 WHERE org_id = ?1 AND id = ?3", "ii",
                           (int64_t)(posted[i] > 0 ? 1 : 3), posted[i] > 0 ? posted[i] : -posted[i]);
    sodium_memzero(secret, sizeof secret);
    return rc;
}

void vg_alert_dispatch(vg_alerts *a)
{
    drain_results(a);
    /* Which organizations have undelivered notifications: system code across
     * organizations (invariant 4); each one's rows are then read in scope. */
    int64_t orgs[64];
    size_t n = 0;
    vg_stmt *st = NULL;
    if (vg_db_prep(a->db, &st, "SELECT DISTINCT org_id FROM notifications WHERE hook = 0 LIMIT 64", "") == 0)
        while (n < 64 && vg_db_step(st) == 1) orgs[n++] = vg_db_int(st, 0);
    vg_db_done(st);
    for (size_t i = 0; i < n; i++)
        if (dispatch_org(a, orgs[i]) == VG_EAGAIN) break;
}
