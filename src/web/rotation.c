/* SPDX-License-Identifier: Apache-2.0 */
/* Camera key rotation and crypto-shredding (docs/design/keys.md "Rotation and
 * crypto-shredding"). The server never makes or opens a key: an admin's
 * browser makes each new period's key pair and seals it; the server keeps the
 * periods apart, says when one is due, and deletes a retired period's wrapped
 * secret keys once no segment in the store is sealed to it any more.
 *
 * Invariants:
 *  1. A camera has one current period (cameras.footage_pk, wraps in
 *     camera_keys); every earlier one is retired with the time it stopped
 *     being current, and its wraps moved to camera_period_keys unchanged.
 *  2. A public key is never current twice: a PUT that brings back any earlier
 *     period's key is refused (it would hand footage to whoever held it then,
 *     e.g. a removed member who kept a copy).
 *  3. A retired period is shredded (its members' and recovery wraps deleted,
 *     the WAL checkpointed so the pages leave the log) only when the store's
 *     index holds no segment sealed to its public key and it has been retired
 *     for SHRED_GRACE_S (a segment opened just before the rotation reaches the
 *     index within a sync interval). An index error keeps the key.
 *  4. GET .../keys answers only with wraps sealed to the caller. */
#include "web/web_int.h"
#include "core/err.h"
#include "auth/audit.h"
#include "core/log.h"
#include "store/store.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SEALED_SK_LEN 80
#define DEFAULT_PERIOD_DAYS 30
#define MAX_PERIOD_DAYS 366
#define SHRED_TICK_MS 5000
#define SHRED_GRACE_S 10
#define SHRED_BATCH 64

static json_t *b64j(const uint8_t *p, size_t n)
{
    char out[128];
    if (!p || sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > sizeof out)
        return json_null();
    sodium_bin2base64(out, sizeof out, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return json_string(out);
}

static json_t *fpj(const uint8_t *pk, size_t n)
{
    char fp[48];
    if (!pk || n != VG_PK_LEN) return json_null();
    vg_key_fingerprint(pk, fp, sizeof fp);
    return json_string(fp);
}

static int64_t period_days(const vg_scope *s)
{
    vg_stmt *st;
    int64_t d = DEFAULT_PERIOD_DAYS;
    if (vg_scope_prep(s, &st, "SELECT period_days FROM key_rotation WHERE org_id = ?1", "")) return d;
    if (vg_db_step(st) == 1) d = vg_db_int(st, 0);
    vg_db_done(st);
    return d;
}

/* ---- the key PUT's side (keys_api.c) ------------------------------------------------ */

/* Creation time of the camera's current period (0 if none). */
static int64_t current_created(const vg_scope *s, int64_t cam)
{
    vg_stmt *st;
    int64_t t = 0;
    if (vg_scope_prep(s, &st, "SELECT p.created FROM camera_key_periods p JOIN cameras c ON c.id = p.camera_id AND "
                      "c.footage_pk = p.footage_pk WHERE p.org_id = ?1 AND p.camera_id = ?2", "i", cam))
        return 0;
    if (vg_db_step(st) == 1) t = vg_db_int(st, 0);
    vg_db_done(st);
    return t;
}

int vg_rot_new_period(const vg_scope *s, int64_t cam, const uint8_t pk[VG_PK_LEN], int64_t now, int due_only,
                      int *rotated, uint8_t old_pk[VG_PK_LEN])
{
    vg_stmt *st;
    int has_old = 0, same = 0, reused = 0, rc;
    uint8_t rsk[SEALED_SK_LEN];
    int has_rsk = 0;
    *rotated = 0;
    if (vg_scope_prep(s, &st, "SELECT footage_pk, recovery_sealed_sk FROM cameras WHERE org_id = ?1 AND id = ?2",
                      "i", cam))
        return VG_EIO;
    if (vg_db_step(st) == 1) {
        size_t n, m;
        const uint8_t *p = vg_db_blob(st, 0, &n), *r = vg_db_blob(st, 1, &m);
        if (p && n == VG_PK_LEN) { memcpy(old_pk, p, n); has_old = 1; same = sodium_memcmp(p, pk, n) == 0; }
        if (r && m == SEALED_SK_LEN) { memcpy(rsk, r, m); has_rsk = 1; }
    }
    vg_db_done(st);
    /* Invariant 2: any earlier period's key, shredded or not. */
    if (vg_scope_prep(s, &st, "SELECT 1 FROM camera_key_periods WHERE org_id = ?1 AND camera_id = ?2 AND "
                      "footage_pk = ?3 AND retired IS NOT NULL", "ib", cam, pk, (size_t)VG_PK_LEN))
        return VG_EIO;
    reused = vg_db_step(st) == 1;
    vg_db_done(st);
    if (reused) return VG_EINVAL;
    /* Two admins' browsers signing in at once both see a period due: the
     * second finds it rotated already. */
    if (due_only && has_old && !same) {
        int64_t created = current_created(s, cam);
        if (created && now < created + period_days(s) * 86400) return VG_EAGAIN;
    }
    if (has_old && !same) {
        /* A camera keyed before periods existed has no row for its key yet. */
        rc = vg_scope_run(s, "INSERT INTO camera_key_periods(org_id, camera_id, footage_pk, created) "
                          "VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING", "ibi", cam, old_pk, (size_t)VG_PK_LEN, now);
        if (!rc)
            rc = vg_scope_run(s, "UPDATE camera_key_periods SET retired = ?4, recovery_sealed_sk = ?5 "
                              "WHERE org_id = ?1 AND camera_id = ?2 AND footage_pk = ?3", "ibib", cam, old_pk,
                              (size_t)VG_PK_LEN, now, has_rsk ? rsk : NULL, (size_t)(has_rsk ? SEALED_SK_LEN : 0));
        /* Invariant 1: the old wraps move unchanged; the caller then replaces camera_keys. */
        if (!rc)
            rc = vg_scope_run(s, "INSERT OR REPLACE INTO camera_period_keys(org_id, period_id, member_id, sealed_sk) "
                              "SELECT ?1, p.id, k.member_id, k.sealed_sk FROM camera_keys k JOIN camera_key_periods p "
                              "ON p.camera_id = k.camera_id AND p.footage_pk = ?3 WHERE k.org_id = ?1 AND "
                              "k.camera_id = ?2", "ib", cam, old_pk, (size_t)VG_PK_LEN);
        if (rc) return rc;
        *rotated = 1;
    }
    return vg_scope_run(s, "INSERT INTO camera_key_periods(org_id, camera_id, footage_pk, created) "
                        "VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING", "ibi", cam, pk, (size_t)VG_PK_LEN, now);
}

int vg_rot_wrap_period(const vg_scope *s, int64_t cam, const uint8_t pk[VG_PK_LEN], int64_t member,
                       const uint8_t sealed[SEALED_SK_LEN])
{
    vg_stmt *st;
    int64_t pid = 0;
    if (vg_scope_prep(s, &st, "SELECT id FROM camera_key_periods WHERE org_id = ?1 AND camera_id = ?2 AND "
                      "footage_pk = ?3 AND retired IS NOT NULL AND shredded IS NULL", "ib", cam, pk,
                      (size_t)VG_PK_LEN))
        return VG_EIO;
    if (vg_db_step(st) == 1) pid = vg_db_int(st, 0);
    vg_db_done(st);
    if (!pid) return VG_ENOTFOUND;
    return vg_scope_run(s, "INSERT INTO camera_period_keys(org_id, period_id, member_id, sealed_sk) "
                        "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(period_id, member_id) DO UPDATE SET "
                        "sealed_sk = excluded.sealed_sk", "iib", pid, member, sealed, (size_t)SEALED_SK_LEN);
}

/* ---- routes --------------------------------------------------------------------------- */

/* Every period's secret key sealed to the caller (invariant 4). */
static enum MHD_Result h_keys(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    int rc = vg_cam_access(w, r, r->id, "keys", NULL);
    if (rc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (rc == VG_EAUTH) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "no_key");
    if (rc) return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    json_t *arr = json_array(), *cur = json_null();
    if (vg_scope_prep(&r->ctx.scope, &st,
            "SELECT c.footage_pk, k.sealed_sk, p.created, NULL FROM camera_keys k JOIN cameras c ON c.id = k.camera_id "
            "LEFT JOIN camera_key_periods p ON p.camera_id = c.id AND p.footage_pk = c.footage_pk "
            "WHERE k.org_id = ?1 AND k.camera_id = ?2 AND k.member_id = ?3 AND c.footage_pk IS NOT NULL "
            "UNION ALL "
            "SELECT p.footage_pk, pk.sealed_sk, p.created, p.retired FROM camera_period_keys pk JOIN "
            "camera_key_periods p ON p.id = pk.period_id WHERE pk.org_id = ?1 AND p.camera_id = ?2 AND "
            "pk.member_id = ?3 AND p.shredded IS NULL ORDER BY 3 DESC", "ii", r->id, r->ctx.member_id)) {
        json_decref(arr);
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    }
    while (vg_db_step(st) == 1) {
        size_t np, ns;
        const uint8_t *pk = vg_db_blob(st, 0, &np), *sk = vg_db_blob(st, 1, &ns);
        if (!pk || np != VG_PK_LEN || !sk || ns != SEALED_SK_LEN) continue;
        int current = vg_db_is_null(st, 3);
        json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:b}", "footage_pk", b64j(pk, np), "sealed_sk", b64j(sk, ns),
                              "fingerprint", fpj(pk, np), "created",
                              vg_db_is_null(st, 2) ? json_null() : json_integer(vg_db_int(st, 2)),
                              "retired", current ? json_null() : json_integer(vg_db_int(st, 3)), "current", current);
        if (current) { json_decref(cur); cur = b64j(pk, np); }
        json_array_append_new(arr, o);
    }
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o,s:o}", "current", cur, "periods", arr));
}

static json_t *camera_periods(const vg_scope *s, int64_t cam)
{
    vg_stmt *st;
    json_t *arr = json_array();
    if (vg_scope_prep(s, &st, "SELECT footage_pk, created, retired, shredded, (SELECT COUNT(*) FROM "
                      "camera_period_keys k WHERE k.period_id = p.id) + (recovery_sealed_sk IS NOT NULL) FROM "
                      "camera_key_periods p WHERE org_id = ?1 AND camera_id = ?2 ORDER BY created DESC, id DESC "
                      "LIMIT 50", "i", cam))
        return arr;
    while (vg_db_step(st) == 1) {
        size_t n;
        const uint8_t *pk = vg_db_blob(st, 0, &n);
        json_t *o = json_pack("{s:o,s:I}", "fingerprint", fpj(pk, n), "created", (json_int_t)vg_db_int(st, 1));
        json_object_set_new(o, "retired", vg_db_is_null(st, 2) ? json_null() : json_integer(vg_db_int(st, 2)));
        json_object_set_new(o, "shredded", vg_db_is_null(st, 3) ? json_null() : json_integer(vg_db_int(st, 3)));
        if (!vg_db_is_null(st, 2)) json_object_set_new(o, "wrapped_copies", json_integer(vg_db_int(st, 4)));
        json_array_append_new(arr, o);
    }
    vg_db_done(st);
    return arr;
}

/* Members holding the current key: the browser seals the next period to them. */
static json_t *holders(const vg_scope *s, int64_t cam)
{
    vg_stmt *st;
    json_t *arr = json_array();
    if (vg_scope_prep(s, &st, "SELECT member_id FROM camera_keys WHERE org_id = ?1 AND camera_id = ?2 ORDER BY "
                      "member_id", "i", cam))
        return arr;
    while (vg_db_step(st) == 1) json_array_append_new(arr, json_integer(vg_db_int(st, 0)));
    vg_db_done(st);
    return arr;
}

/* The organization's rotation state: the period, and per keyed camera its
 * current key, when the next rotation is due, and its periods. */
static enum MHD_Result h_rotation(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    int64_t days = period_days(&r->ctx.scope), now = vg_web_now();
    json_t *arr = json_array();
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT c.id, c.name, c.builtin, c.footage_pk, COALESCE(p.created, "
                      "c.created) FROM cameras c LEFT JOIN camera_key_periods p ON p.camera_id = c.id AND "
                      "p.footage_pk = c.footage_pk WHERE c.org_id = ?1 AND c.footage_pk IS NOT NULL ORDER BY c.name",
                      "")) {
        json_decref(arr);
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    }
    while (vg_db_step(st) == 1) {
        size_t n;
        int64_t id = vg_db_int(st, 0), created = vg_db_int(st, 4), next = created + days * 86400;
        const uint8_t *pk = vg_db_blob(st, 3, &n);
        json_array_append_new(arr, json_pack("{s:I,s:s,s:b,s:o,s:o,s:I,s:I,s:b}", "id", (json_int_t)id, "name",
                              vg_db_text(st, 1), "builtin", (int)vg_db_int(st, 2), "footage_pk", b64j(pk, n),
                              "fingerprint", fpj(pk, n), "created", (json_int_t)created, "next_rotation",
                              (json_int_t)next, "due", now >= next));
    }
    vg_db_done(st);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        int64_t id = json_integer_value(json_object_get(o, "id"));
        json_object_set_new(o, "periods", camera_periods(&r->ctx.scope, id));
        json_object_set_new(o, "holders", holders(&r->ctx.scope, id));
    }
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:I,s:I,s:o}", "period_days", (json_int_t)days, "now",
                                                   (json_int_t)now, "cameras", arr));
}

static enum MHD_Result h_rotation_set(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    json_t *d = b ? json_object_get(b, "period_days") : NULL;
    if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > MAX_PERIOD_DAYS)
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_period");
    int64_t days = json_integer_value(d);
    if (vg_scope_run(&r->ctx.scope, "INSERT INTO key_rotation(org_id, period_days) VALUES(?1, ?2) "
                     "ON CONFLICT(org_id) DO UPDATE SET period_days = excluded.period_days", "i", days))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    vg_api_audit(r, "org.key_rotation", json_pack("{s:I}", "period_days", (json_int_t)days));
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:I}", "period_days", (json_int_t)days));
}

static const vg_web_route routes[] = {
    {"GET", "/api/keys/rotation", 0, VG_SESSION, VG_ROLE_ADMIN, h_rotation, NULL},
    {"PUT", "/api/keys/rotation", 0, VG_SESSION, VG_ROLE_ADMIN, h_rotation_set, NULL},
    {"GET", "/api/cameras/", 1, VG_SESSION, VG_ROLE_VIEWER, h_keys, "/keys"},
};

const vg_web_route *vg_rotation_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

/* ---- crypto-shredding (invariant 3) --------------------------------------------------- */

typedef struct shred_cand {
    int64_t period, org, cam;
    int builtin;
    uint8_t pk[VG_PK_LEN];
} shred_cand;

/* 1 if the period was shredded now. */
static int shred_one(vg_web *w, const shred_cand *p, int64_t now)
{
    char name[64], fp[48];
    int in_use = 1;
    vg_cam_store_name(p->cam, p->builtin, name);
    if (vg_store_pk_in_use(w->data_dir, name, p->pk, &in_use) || in_use) return 0;
    vg_scope s = {.db = w->db, .org_id = p->org};
    int rc = vg_db_begin(w->db);
    int64_t copies = 0;
    if (!rc) {
        vg_stmt *st;
        rc = vg_scope_prep(&s, &st, "SELECT (SELECT COUNT(*) FROM camera_period_keys WHERE period_id = ?2) + "
                           "(recovery_sealed_sk IS NOT NULL) FROM camera_key_periods WHERE org_id = ?1 AND id = ?2",
                           "i", p->period);
        if (!rc) {
            if (vg_db_step(st) == 1) copies = vg_db_int(st, 0);
            vg_db_done(st);
        }
    }
    if (!rc) rc = vg_scope_run(&s, "DELETE FROM camera_period_keys WHERE org_id = ?1 AND period_id = ?2", "i", p->period);
    if (!rc)
        rc = vg_scope_run(&s, "UPDATE camera_key_periods SET recovery_sealed_sk = NULL, shredded = ?3 "
                          "WHERE org_id = ?1 AND id = ?2", "ii", p->period, now);
    if (!rc) rc = vg_db_commit(w->db);
    if (rc) {
        vg_db_rollback(w->db);
        vg_warn("web", "camera %" PRId64 ": cannot shred a key period", p->cam);
        return 0;
    }
    vg_key_fingerprint(p->pk, fp, sizeof fp);
    json_t *d = json_pack("{s:I,s:s,s:I}", "camera", (json_int_t)p->cam, "fingerprint", fp, "wrapped_copies",
                          (json_int_t)copies);
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    if (vg_audit_add(&s, 0, "vigil", "camera.key.shred", text ? text : "{}", "", now * 1000))
        vg_error("web", "audit append failed (camera.key.shred)");
    free(text);
    vg_info("web", "camera %" PRId64 ": key period %s left retention; its wrapped keys are deleted", p->cam, fp);
    return 1;
}

void vg_rot_shred_sweep(vg_web *w)
{
    vg_stmt *st;
    shred_cand c[SHRED_BATCH];
    size_t n = 0;
    int64_t now = vg_web_now();
    if (!w->store || !w->data_dir[0]) return;
    if (vg_db_prep(w->db, &st, "SELECT p.id, p.org_id, p.camera_id, p.footage_pk, c.builtin FROM camera_key_periods p "
                   "JOIN cameras c ON c.id = p.camera_id WHERE p.retired IS NOT NULL AND p.shredded IS NULL AND "
                   "p.retired <= ?1 ORDER BY p.id LIMIT ?2", "ii", now - SHRED_GRACE_S, (int64_t)SHRED_BATCH))
        return;
    while (n < SHRED_BATCH && vg_db_step(st) == 1) {
        size_t len;
        const uint8_t *pk = vg_db_blob(st, 3, &len);
        if (!pk || len != VG_PK_LEN) continue;
        c[n] = (shred_cand){.period = vg_db_int(st, 0), .org = vg_db_int(st, 1), .cam = vg_db_int(st, 2),
                            .builtin = (int)vg_db_int(st, 4)};
        memcpy(c[n].pk, pk, VG_PK_LEN);
        n++;
    }
    vg_db_done(st);
    int shredded = 0;
    for (size_t i = 0; i < n; i++) shredded += shred_one(w, &c[i], now);
    /* secure_delete zeroes the freed pages in the database file; the WAL
     * still holds the old pages until a checkpoint copies and truncates it. */
    if (shredded && !vg_db_prep(w->db, &st, "PRAGMA wal_checkpoint(TRUNCATE)", "")) {
        (void)vg_db_step(st);
        vg_db_done(st);
    }
}

static void shred_tick(vg_loop *loop, vg_timer *t)
{
    vg_web *w = t->data;
    vg_rot_shred_sweep(w);
    vg_timer_start(loop, t, SHRED_TICK_MS);
}

void vg_rot_init(vg_web *w) { vg_timer_init(&w->shred_timer, shred_tick, w); }

void vg_rot_start(vg_web *w) { vg_timer_start(w->loop, &w->shred_timer, SHRED_TICK_MS); }

void vg_rot_stop(vg_web *w) { vg_timer_stop(w->loop, &w->shred_timer); }
