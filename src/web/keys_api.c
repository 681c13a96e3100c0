/* SPDX-License-Identifier: Apache-2.0 */
/* Camera footage keys over the API, and the glue between app.db's camera
 * rows and the recorder (docs/design/live.md "Camera footage keys").
 *
 * Invariants:
 *  1. The server stores and returns only public keys and secret keys sealed
 *     (crypto_box_seal) to a member's or the recovery public key; it can
 *     open none of them.
 *  2. GET .../key answers only with the row wrapped to the caller; anyone
 *     else gets 403 and an audit entry (`camera.denied`).
 *  3. The recorder learns a camera's footage public key only from its row;
 *     RTSP credentials go from the row to the recorder and nowhere else
 *     (no response, log line or audit entry).
 *  4. A member's wrapped keys go with the member (ON DELETE CASCADE), those
 *     of retired key periods too (camera_period_keys, rotation.c). */
#include "web/web_int.h"
#include "core/err.h"
#include "core/log.h"
#include "rec/recorder.h"
#include "rec/substream.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SEALED_SK_LEN 80   /* crypto_box_SEALBYTES (48) + 32 */
#define MAX_WRAPPED 1000

void vg_cam_store_name(int64_t id, int builtin, char out[64])
{
    if (builtin)
        snprintf(out, 64, "demo");
    else
        snprintf(out, 64, "cam-%" PRId64, id);
}

int64_t vg_cam_by_store_name(const vg_req *r, const char *name)
{
    vg_stmt *st;
    int64_t id = 0;
    if (strcmp(name, "demo") == 0) {
        if (vg_scope_prep(&r->ctx.scope, &st, "SELECT id FROM cameras WHERE org_id = ?1 AND builtin = 1", ""))
            return 0;
    } else {
        char *end;
        if (strncmp(name, "cam-", 4) != 0 || name[4] < '1' || name[4] > '9') return 0;
        long long v = strtoll(name + 4, &end, 10);
        if (*end || v <= 0) return 0;
        if (vg_scope_prep(&r->ctx.scope, &st, "SELECT id FROM cameras WHERE org_id = ?1 AND id = ?2 AND builtin = 0",
                          "i", (int64_t)v))
            return 0;
    }
    if (vg_db_step(st) == 1) id = vg_db_int(st, 0);
    vg_db_done(st);
    return id;
}

int vg_cam_access(vg_web *w, const vg_req *r, int64_t cam, const char *what, char *store_name)
{
    vg_stmt *st;
    int found = 0, builtin = 0, has = 0;
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT builtin, EXISTS(SELECT 1 FROM camera_keys k WHERE "
                      "k.camera_id = c.id AND k.member_id = ?3) FROM cameras c WHERE c.org_id = ?1 AND c.id = ?2",
                      "ii", cam, r->ctx.member_id))
        return VG_EIO;
    if (vg_db_step(st) == 1) {
        found = 1;
        builtin = (int)vg_db_int(st, 0);
        has = (int)vg_db_int(st, 1);
    }
    vg_db_done(st);
    if (!found) return VG_ENOTFOUND;
    if (!has) {
        vg_api_audit(r, "camera.denied", json_pack("{s:I,s:s}", "camera", (json_int_t)cam, "what", what));
        return VG_EAUTH;
    }
    if (store_name) vg_cam_store_name(cam, builtin, store_name);
    return 0;
}

void vg_cam_ensure_builtin(vg_web *w, const vg_scope *s)
{
    if (!w->has_demo) return;
    vg_stmt *st;
    int64_t first = 0;
    /* The demo camera belongs to the box's first organization only. */
    if (vg_db_prep(w->db, &st, "SELECT MIN(id) FROM organizations WHERE kind = 'tenant'", "")) return;
    if (vg_db_step(st) == 1) first = vg_db_int(st, 0);
    vg_db_done(st);
    if (first != s->org_id) return;
    int exists = 1;
    if (vg_scope_prep(s, &st, "SELECT 1 FROM cameras WHERE org_id = ?1 AND builtin = 1", "")) return;
    exists = vg_db_step(st) == 1;
    vg_db_done(st);
    /* A user camera already named "demo" wins (UNIQUE name): no builtin row then. */
    if (!exists)
        (void)vg_scope_run(s, "INSERT INTO cameras(org_id, name, url, created, builtin) VALUES(?1, 'demo', "
                           "'builtin:demo', ?2, 1)", "i", vg_web_now());
}

typedef struct cam_row {
    int found, builtin, has_pk;
    uint8_t pk[VG_PK_LEN];
    char url[1100];
    char sub_url[1100];  /* "" when the camera has no substream */
    char *user, *pass;   /* owned, wiped */
} cam_row;

static char *dup_wipeable(const char *s) { return s ? strdup(s) : NULL; }

static void row_free(cam_row *c)
{
    if (c->user) { sodium_memzero(c->user, strlen(c->user)); free(c->user); }
    if (c->pass) { sodium_memzero(c->pass, strlen(c->pass)); free(c->pass); }
    sodium_memzero(c, sizeof *c);
}

static int load_row(vg_db *db, const vg_scope *s, int64_t id, cam_row *c)
{
    vg_stmt *st;
    memset(c, 0, sizeof *c);
    int rc = s ? vg_scope_prep(s, &st, "SELECT builtin, footage_pk, url, rtsp_user, rtsp_password, sub_url FROM cameras "
                               "WHERE org_id = ?1 AND id = ?2", "i", id)
               : vg_db_prep(db, &st, "SELECT builtin, footage_pk, url, rtsp_user, rtsp_password, sub_url FROM cameras "
                            "WHERE id = ?1", "i", id);
    if (rc) return rc;
    if (vg_db_step(st) == 1) {
        size_t n;
        const uint8_t *pk = vg_db_blob(st, 1, &n);
        c->found = 1;
        c->builtin = (int)vg_db_int(st, 0);
        if (pk && n == VG_PK_LEN) { memcpy(c->pk, pk, n); c->has_pk = 1; }
        snprintf(c->url, sizeof c->url, "%s", vg_db_text(st, 2) ? vg_db_text(st, 2) : "");
        c->user = dup_wipeable(vg_db_text(st, 3));
        c->pass = dup_wipeable(vg_db_text(st, 4));
        snprintf(c->sub_url, sizeof c->sub_url, "%s", vg_db_text(st, 5) ? vg_db_text(st, 5) : "");
    }
    vg_db_done(st);
    return 0;
}

/* Invariant 3: the row is the recorder's only source for this camera. */
static void apply_row(vg_web *w, int64_t id, const cam_row *c)
{
    char name[64];
    vg_cam_store_name(id, c->found && c->builtin, name);
    if (c->found && c->builtin) {
        if (!c->has_pk || !w->has_demo) return;
        if (vg_recorder_has(w->rec, name)) {
            if (vg_recorder_set_key(w->rec, name, c->pk) == 0)
                vg_info("web", "demo camera: recording to its own footage key from now on");
            vg_sub_set_key(w->rec, name, c->pk);
            return;
        }
        vg_camera_cfg cfg = {.name = name, .file = w->demo_clip, .footage_pk = c->pk};
        int rc = vg_recorder_add(w->rec, &cfg);
        if (rc) vg_warn("web", "demo camera: cannot record: %s", vg_strerror(rc));
        char sub[sizeof w->demo_clip];
        if (!rc && vg_sub_demo_clip(w->demo_clip, sub, sizeof sub) == 0 && vg_sub_add(w->rec, &cfg, NULL, sub))
            vg_warn("web", "demo camera: cannot record its substream");
        return;
    }
    if (vg_recorder_has(w->rec, name)) vg_recorder_remove(w->rec, name);
    vg_sub_remove(w->rec, name);
    if (!c->found || !c->has_pk || strncmp(c->url, "rtsp", 4) != 0) return;
    vg_camera_cfg cfg = {.name = name, .url = c->url, .user = c->user, .password = c->pass, .footage_pk = c->pk};
    int rc = vg_recorder_add(w->rec, &cfg);
    if (rc) vg_warn("web", "camera %" PRId64 ": cannot record: %s", id, vg_strerror(rc));
    /* The substream: same credentials, key and retention (rec/substream.h). */
    if (!rc && strncmp(c->sub_url, "rtsp", 4) == 0 && (rc = vg_sub_add(w->rec, &cfg, c->sub_url, NULL)) != 0)
        vg_warn("web", "camera %" PRId64 ": cannot record its substream: %s", id, vg_strerror(rc));
}

void vg_cam_sync(vg_web *w, const vg_scope *s, int64_t id)
{
    cam_row c;
    if (!w->rec || load_row(w->db, s, id, &c)) return;
    apply_row(w, id, &c);
    row_free(&c);
}

int vg_web_attach(vg_web *w, struct vg_recorder *rec, struct vg_store *st, const char *data_dir,
                  const char *demo_clip)
{
    int demo = demo_clip != NULL;
    if (demo) snprintf(w->demo_clip, sizeof w->demo_clip, "%s", demo_clip);
    vg_stmt *q;
    int64_t ids[4096];
    size_t n = 0;
    w->rec = rec;
    w->store = st;
    w->has_demo = demo;
    snprintf(w->data_dir, sizeof w->data_dir, "%s", data_dir);
    /* Every camera row with a URL and a key, and the demo's key if it has one. */
    if (vg_db_prep(w->db, &q, "SELECT id FROM cameras WHERE footage_pk IS NOT NULL ORDER BY id", "")) return VG_EIO;
    while (n < sizeof ids / sizeof ids[0] && vg_db_step(q) == 1) ids[n++] = vg_db_int(q, 0);
    vg_db_done(q);
    for (size_t i = 0; i < n; i++) {
        cam_row c;
        if (load_row(w->db, NULL, ids[i], &c)) continue;
        if (!c.builtin || demo) apply_row(w, ids[i], &c);
        row_free(&c);
    }
    vg_rot_start(w);
    vg_grants_attach(w);
    return 0;
}

/* ---- routes -------------------------------------------------------------------------- */

static int member_in_org(const vg_scope *s, int64_t m)
{
    return vg_scope_exists(s, "SELECT 1 FROM members WHERE org_id = ?1 AND id = ?2", "i", m) > 0;
}

static int camera_in_org(const vg_scope *s, int64_t id, int *has_pk)
{
    vg_stmt *st;
    int ok = 0;
    if (vg_scope_prep(s, &st, "SELECT footage_pk IS NOT NULL FROM cameras WHERE org_id = ?1 AND id = ?2", "i", id))
        return 0;
    if (vg_db_step(st) == 1) { ok = 1; if (has_pk) *has_pk = (int)vg_db_int(st, 0); }
    vg_db_done(st);
    return ok;
}

static int wrap_one(const vg_scope *s, int64_t cam, int64_t member, const uint8_t sealed[SEALED_SK_LEN])
{
    int rc = vg_scope_run(s, "INSERT INTO camera_keys(org_id, camera_id, member_id, sealed_sk) "
                          "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(camera_id, member_id) DO UPDATE SET sealed_sk = "
                          "excluded.sealed_sk", "iib", cam, member, sealed, (size_t)SEALED_SK_LEN);
    if (!rc)
        rc = vg_scope_run(s, "INSERT INTO member_cameras(org_id, member_id, camera_id) VALUES(?1, ?2, ?3) "
                          "ON CONFLICT DO NOTHING",
                          "ii", member, cam);
    return rc;
}

/* wrapped: [{"member_id", "sealed_sk"}], each member in the organization. */
static int parse_wrapped(const vg_scope *s, json_t *arr, int64_t *members, uint8_t (*sealed)[SEALED_SK_LEN], size_t *n)
{
    if (!json_is_array(arr) || json_array_size(arr) > MAX_WRAPPED) return VG_EINVAL;
    *n = json_array_size(arr);
    for (size_t i = 0; i < *n; i++) {
        json_t *e = json_array_get(arr, i), *m = json_object_get(e, "member_id");
        if (!json_is_object(e) || !json_is_integer(m) || !member_in_org(s, json_integer_value(m)) ||
            vg_b64_decode(vg_api_jstr(e, "sealed_sk"), sealed[i], SEALED_SK_LEN))
            return VG_EINVAL;
        members[i] = json_integer_value(m);
        for (size_t j = 0; j < i; j++)
            if (members[j] == members[i]) return VG_EINVAL;
    }
    return 0;
}

enum MHD_Result vg_h_key_put(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    uint8_t pk[VG_PK_LEN], rsk[SEALED_SK_LEN];
    static int64_t members[MAX_WRAPPED];   /* loop thread only */
    static uint8_t sealed[MAX_WRAPPED][SEALED_SK_LEN];
    size_t n = 0;
    if (!camera_in_org(&r->ctx.scope, r->id, NULL)) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (!b || vg_b64_decode(vg_api_jstr(b, "footage_pk"), pk, sizeof pk) ||
        vg_b64_decode(vg_api_jstr(b, "recovery_sealed_sk"), rsk, sizeof rsk) ||
        parse_wrapped(&r->ctx.scope, json_object_get(b, "wrapped"), members, sealed, &n))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_keys");
    vg_db *db = r->ctx.scope.db;
    uint8_t old_pk[VG_PK_LEN];
    int rotated = 0;
    int rc = vg_db_begin(db);
    /* A new key pair starts a new period; the old one keeps its wraps until
     * it leaves retention (rotation.c). */
    const char *why = vg_api_jstr(b, "reason");
    int due = why && strcmp(why, "due") == 0;
    if (!rc) rc = vg_rot_new_period(&r->ctx.scope, r->id, pk, vg_web_now(), due, &rotated, old_pk);
    if (rc == VG_EINVAL || rc == VG_EAGAIN) {
        vg_db_rollback(db);
        return vg_reply_error(c, MHD_HTTP_CONFLICT, rc == VG_EINVAL ? "key_reused" : "not_due");
    }
    if (!rc)
        rc = vg_scope_run(&r->ctx.scope, "UPDATE cameras SET footage_pk = ?3, recovery_sealed_sk = ?4 "
                          "WHERE org_id = ?1 AND id = ?2", "ibb", r->id, pk, sizeof pk, rsk, sizeof rsk);
    /* The new key pair's wraps replace the current ones (the old period's
     * were copied to camera_period_keys above). */
    if (!rc)
        rc = vg_scope_run(&r->ctx.scope, "DELETE FROM camera_keys WHERE org_id = ?1 AND camera_id = ?2", "i", r->id);
    for (size_t i = 0; !rc && i < n; i++) rc = wrap_one(&r->ctx.scope, r->id, members[i], sealed[i]);
    if (!rc) rc = vg_db_commit(db);
    if (rc) { vg_db_rollback(db); return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal"); }
    char fp[48];
    vg_key_fingerprint(pk, fp, sizeof fp);
    json_t *ms = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(ms, json_integer(members[i]));
    if (rotated) {
        char ofp[48];
        vg_key_fingerprint(old_pk, ofp, sizeof ofp);
        vg_api_audit(r, "camera.key.rotate", json_pack("{s:I,s:s,s:s,s:o,s:s}", "camera", (json_int_t)r->id,
                     "fingerprint", fp, "previous", ofp, "members", ms, "reason", due ? "due" : "manual"));
    } else {
        vg_api_audit(r, "camera.key", json_pack("{s:I,s:s,s:o}", "camera", (json_int_t)r->id, "fingerprint", fp,
                                                "members", ms));
    }
    /* A rotation switches a recording camera at its next segment, without a
     * restart (no gap); otherwise the row decides (start, or nothing). */
    char name[64];
    vg_cam_store_name(r->id, 0, name);
    if (!(rotated && w->rec && vg_recorder_has(w->rec, name) && vg_recorder_set_key(w->rec, name, pk) == 0))
        vg_cam_sync(w, &r->ctx.scope, r->id);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "footage_fingerprint", fp));
}

enum MHD_Result vg_h_key_get(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    char pkb[64] = "", skb[128] = "";
    int rc = vg_cam_access(w, r, r->id, "key", NULL);
    if (rc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (rc == VG_EAUTH) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "no_key");
    if (rc) return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT c.footage_pk, k.sealed_sk FROM camera_keys k JOIN cameras c "
                      "ON c.id = k.camera_id WHERE k.org_id = ?1 AND k.camera_id = ?2 AND k.member_id = ?3", "ii",
                      r->id, r->ctx.member_id))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    if (vg_db_step(st) == 1) {
        size_t np, ns;
        const uint8_t *pk = vg_db_blob(st, 0, &np), *sk = vg_db_blob(st, 1, &ns);
        if (pk && np == VG_PK_LEN) sodium_bin2base64(pkb, sizeof pkb, pk, np, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        if (sk && ns == SEALED_SK_LEN)
            sodium_bin2base64(skb, sizeof skb, sk, ns, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    vg_db_done(st);
    if (!pkb[0] || !skb[0]) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "no_key");
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:s,s:s}", "footage_pk", pkb, "sealed_sk", skb));
}

enum MHD_Result vg_h_key_wrap(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    uint8_t sealed[SEALED_SK_LEN];
    int has_pk = 0;
    json_t *m = b ? json_object_get(b, "member_id") : NULL;
    if (!camera_in_org(&r->ctx.scope, r->id, &has_pk)) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (!has_pk) return vg_reply_error(c, MHD_HTTP_CONFLICT, "no_camera_key");
    if (!json_is_integer(m) || !member_in_org(&r->ctx.scope, json_integer_value(m)) ||
        vg_b64_decode(vg_api_jstr(b, "sealed_sk"), sealed, sizeof sealed))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_keys");
    /* footage_pk names a retired period to share (the archive before the current key). */
    if (json_object_get(b, "footage_pk")) {
        uint8_t ppk[VG_PK_LEN];
        if (vg_b64_decode(vg_api_jstr(b, "footage_pk"), ppk, sizeof ppk))
            return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_keys");
        int prc = vg_rot_wrap_period(&r->ctx.scope, r->id, ppk, json_integer_value(m), sealed);
        if (prc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "no_period");
        if (prc) return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
        char fp[48];
        vg_key_fingerprint(ppk, fp, sizeof fp);
        vg_api_audit(r, "camera.key.wrap", json_pack("{s:I,s:I,s:s}", "camera", (json_int_t)r->id, "member",
                                                     (json_int_t)json_integer_value(m), "fingerprint", fp));
        return vg_reply_json(c, MHD_HTTP_OK, json_object());
    }
    if (wrap_one(&r->ctx.scope, r->id, json_integer_value(m), sealed))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    vg_api_audit(r, "camera.key.wrap", json_pack("{s:I,s:I}", "camera", (json_int_t)r->id, "member",
                                                 (json_int_t)json_integer_value(m)));
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}
