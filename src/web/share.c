/* SPDX-License-Identifier: Apache-2.0 */
/* Clip share links (docs/design/grants.md "Share links"): an admin shares a
 * camera's time range with someone outside the organization under a
 * passphrase; the only token-authenticated routes of the API.
 *
 * Invariants:
 *  1. The server holds, per share, the segment content keys wrapped under a
 *     key derived from the passphrase in the admin's browser, and a keyed
 *     hash of the auth key derived beside it: it can open none of them.
 *  2. The link's token travels in the URL fragment (never in a request
 *     line, so never in a log); the recipient's browser sends it in a body or
 *     a header, with the auth key, on every call.
 *  3. Every check of a passphrase is throttled per share (10 failures in 15
 *     minutes -> 429) before it is compared; every successful opening and
 *     every failure is audited in the organization's log.
 *  4. Only segments with a wrapped key of the share are served; an expired
 *     or revoked share answers 403 and its wrapped keys are deleted. */
#include "web/web_int.h"
#include "auth/audit.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRAPPED_KEY_LEN 72             /* nonce 24 | secretbox(content key 32) 48 */
#define MAX_SHARE_SECONDS (30 * 86400)
#define MAX_KEYS_PER_CALL 300

static void audit_share(const vg_scope *s, const vg_req *r, int64_t share, const char *action, json_t *detail)
{
    char actor[32];
    snprintf(actor, sizeof actor, "share:%" PRId64, share);
    json_object_set_new(detail, "share", json_integer(share));
    char *d = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);
    if (vg_audit_add(s, 0, actor, action, d ? d : "{}", r ? r->addr : "", vg_web_now() * 1000))
        vg_error("web", "audit append failed (%s)", action);
    free(d);
}

static int share_end(vg_web *w, const vg_scope *s, int64_t id, const char *state)
{
    int rc = vg_db_begin(s->db);
    if (!rc) rc = vg_scope_run(s, "UPDATE shares SET state = ?3 WHERE org_id = ?1 AND id = ?2 AND state = 'active'", "it",
                               id, state);
    int changed = rc ? 0 : vg_db_changes(s->db);
    if (!rc) rc = vg_scope_run(s, "DELETE FROM share_keys WHERE org_id = ?1 AND share_id = ?2", "i", id);
    if (!rc) rc = vg_db_commit(s->db);
    if (rc) { vg_db_rollback(s->db); return rc; }
    return changed ? 0 : VG_ENOTFOUND;
}

void vg_shares_sweep(vg_web *w)
{
    vg_stmt *st;
    int64_t ids[64], orgs[64];
    size_t n = 0;
    /* Housekeeping across organizations (as for grants). */
    if (vg_db_prep(w->db, &st, "SELECT id, org_id FROM shares WHERE state = 'active' AND expires <= ?1 LIMIT 64", "i",
                   vg_web_now()))
        return;
    while (n < 64 && vg_db_step(st) == 1) { ids[n] = vg_db_int(st, 0); orgs[n] = vg_db_int(st, 1); n++; }
    vg_db_done(st);
    for (size_t i = 0; i < n; i++) {
        vg_scope s = {w->db, orgs[i]};
        if (share_end(w, &s, ids[i], "expired") == 0) audit_share(&s, NULL, ids[i], "share.expired", json_object());
    }
}

static int is_camera(const vg_scope *s, int64_t want, int64_t cam)
{
    (void)s;
    return cam == want;
}

/* keys: [{"segment_id", "wrapped_key"}], each a segment of camera `cam`
 * overlapping [from, to). */
static int keys_add(vg_web *w, const vg_scope *s, int64_t share, int64_t cam, int64_t from, int64_t to, json_t *arr,
                    size_t *added)
{
    const vg_segkeys k = {
        .field = "wrapped_key", .key_len = WRAPPED_KEY_LEN, .max_keys = MAX_KEYS_PER_CALL,
        .sql = "INSERT INTO share_keys(org_id, share_id, segment_id, wrapped_key) VALUES(?1, ?2, ?3, ?4) "
               "ON CONFLICT(share_id, segment_id) DO UPDATE SET wrapped_key = excluded.wrapped_key",
        .owner = share, .from90k = from, .to90k = to, .cam_ok = is_camera, .cam_arg = cam,
    };
    return vg_segkeys_add(w, s, &k, arr, added);
}

static int jint(json_t *b, const char *k, int64_t *out)
{
    json_t *v = json_object_get(b, k);
    if (!json_is_integer(v)) return VG_EINVAL;
    *out = json_integer_value(v);
    return 0;
}

/* POST /api/shares {"camera_id","from90k","to90k","expires","salt","auth_key","keys"} */
static enum MHD_Result h_share_new(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    const vg_scope *s = &r->ctx.scope;
    int64_t cam, from, to, expires, now = vg_web_now();
    uint8_t salt[VG_SALT_LEN], ak[VG_AUTH_KEY_LEN], ah[32], th[32];
    char tok[VG_TOKEN_B64_MAX];
    vg_shares_sweep(w);
    if (!b || jint(b, "camera_id", &cam) || jint(b, "from90k", &from) || jint(b, "to90k", &to) ||
        jint(b, "expires", &expires) || from < 0 || to <= from ||
        vg_b64_decode(vg_api_jstr(b, "salt"), salt, sizeof salt) ||
        vg_b64_decode(vg_api_jstr(b, "auth_key"), ak, sizeof ak))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_input");
    if (expires <= now || expires > now + MAX_SHARE_SECONDS) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_expiry");
    int rc = vg_cam_access(w, r, cam, "share", NULL);
    if (rc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (rc == VG_EAUTH) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "no_key");
    if (rc) return vg_reply_error(c, 500, "internal");
    vg_auth_key_hash(w->auth, ak, ah);
    sodium_memzero(ak, sizeof ak);
    vg_auth_token_make(w->auth, tok, sizeof tok, th);
    if (vg_scope_run(s, "INSERT INTO shares(org_id, token_hash, camera_id, from90k, to90k, salt, auth_hash, creator_id, "
                     "created, expires) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", "biiibbiii", th, sizeof th, cam,
                     from, to, salt, sizeof salt, ah, sizeof ah, r->ctx.member_id, now, expires)) {
        sodium_memzero(tok, sizeof tok);
        return vg_reply_error(c, 500, "internal");
    }
    int64_t id = vg_db_last_id(s->db);
    size_t added = 0;
    if (keys_add(w, s, id, cam, from, to, json_object_get(b, "keys"), &added)) {
        (void)share_end(w, s, id, "revoked");
        sodium_memzero(tok, sizeof tok);
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_keys");
    }
    vg_api_audit(r, "share.create", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "share", (json_int_t)id, "camera",
                                              (json_int_t)cam, "from90k", (json_int_t)from, "to90k", (json_int_t)to,
                                              "expires", (json_int_t)expires, "keys", (json_int_t)added));
    json_t *o = json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "token", tok, "keys", (json_int_t)added);
    sodium_memzero(tok, sizeof tok);
    return vg_reply_json(c, MHD_HTTP_CREATED, o);
}

typedef struct share_row {
    int found;
    int64_t id, org, cam, from90k, to90k, expires;
    char state[16];
    uint8_t salt[VG_SALT_LEN], auth_hash[32];
} share_row;

static int share_by(vg_db *db, const uint8_t *th, int64_t id, share_row *sr)
{
    vg_stmt *st;
    memset(sr, 0, sizeof *sr);
    /* By token (a public route: no session, no organization yet) or by id. */
    int rc = th ? vg_db_prep(db, &st, "SELECT id, org_id, camera_id, from90k, to90k, expires, state, salt, auth_hash "
                             "FROM shares WHERE token_hash = ?1", "b", th, (size_t)32)
                : vg_db_prep(db, &st, "SELECT id, org_id, camera_id, from90k, to90k, expires, state, salt, auth_hash "
                             "FROM shares WHERE id = ?1", "i", id);
    if (rc) return VG_EIO;
    if (vg_db_step(st) == 1) {
        size_t ns, nh;
        const uint8_t *salt = vg_db_blob(st, 7, &ns), *ah = vg_db_blob(st, 8, &nh);
        if (salt && ns == VG_SALT_LEN && ah && nh == 32) {
            sr->found = 1;
            sr->id = vg_db_int(st, 0);
            sr->org = vg_db_int(st, 1);
            sr->cam = vg_db_int(st, 2);
            sr->from90k = vg_db_int(st, 3);
            sr->to90k = vg_db_int(st, 4);
            sr->expires = vg_db_int(st, 5);
            snprintf(sr->state, sizeof sr->state, "%s", vg_db_text(st, 6));
            memcpy(sr->salt, salt, ns);
            memcpy(sr->auth_hash, ah, nh);
        }
    }
    vg_db_done(st);
    return 0;
}

static enum MHD_Result h_share_keys(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    share_row sr;
    size_t added = 0;
    vg_shares_sweep(w);
    if (share_by(r->ctx.scope.db, NULL, r->id, &sr)) return vg_reply_error(c, 500, "internal");
    if (!sr.found || sr.org != r->ctx.scope.org_id) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (strcmp(sr.state, "active") != 0) return vg_reply_error(c, MHD_HTTP_CONFLICT, "share_ended");
    if (!b || keys_add(w, &r->ctx.scope, sr.id, sr.cam, sr.from90k, sr.to90k, json_object_get(b, "keys"), &added))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_keys");
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:I}", "keys", (json_int_t)added));
}

static enum MHD_Result h_shares(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    json_t *arr = json_array();
    vg_shares_sweep(w);
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT s.id, s.camera_id, c.name, s.from90k, s.to90k, s.created, s.expires, "
                      "s.state, s.opened, (SELECT COUNT(*) FROM share_keys k WHERE k.share_id = s.id) FROM shares s "
                      "JOIN cameras c ON c.id = s.camera_id WHERE s.org_id = ?1 ORDER BY s.id DESC LIMIT 200", "")) {
        json_decref(arr);
        return vg_reply_error(c, 500, "internal");
    }
    while (vg_db_step(st) == 1)
        json_array_append_new(arr, json_pack("{s:I,s:I,s:s,s:I,s:I,s:I,s:I,s:s,s:I,s:I}", "id",
                                             (json_int_t)vg_db_int(st, 0), "camera_id", (json_int_t)vg_db_int(st, 1),
                                             "camera", vg_db_text(st, 2), "from90k", (json_int_t)vg_db_int(st, 3),
                                             "to90k", (json_int_t)vg_db_int(st, 4), "created",
                                             (json_int_t)vg_db_int(st, 5), "expires", (json_int_t)vg_db_int(st, 6),
                                             "state", vg_db_text(st, 7), "opened", (json_int_t)vg_db_int(st, 8), "keys",
                                             (json_int_t)vg_db_int(st, 9)));
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "shares", arr));
}

static enum MHD_Result h_share_revoke(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    share_row sr;
    vg_shares_sweep(w);
    if (share_by(r->ctx.scope.db, NULL, r->id, &sr)) return vg_reply_error(c, 500, "internal");
    if (!sr.found || sr.org != r->ctx.scope.org_id) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    int rc = share_end(w, &r->ctx.scope, sr.id, "revoked");
    if (rc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_CONFLICT, "share_ended");
    if (rc) return vg_reply_error(c, 500, "internal");
    vg_api_audit(r, "share.revoke", json_pack("{s:I}", "share", (json_int_t)sr.id));
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

/* ---- the recipient's side (public, token-authenticated) ---------------------------- */

/* The active share named by token; 0, or an HTTP status to answer with. */
static unsigned share_find(vg_web *w, const char *tok, share_row *sr)
{
    uint8_t th[32];
    vg_shares_sweep(w);
    if (!tok || vg_auth_token_hash(w->auth, tok, th)) return MHD_HTTP_NOT_FOUND;
    if (share_by(w->db, th, 0, sr)) return 500;
    if (!sr->found) return MHD_HTTP_NOT_FOUND;
    if (strcmp(sr->state, "active") != 0 || sr->expires <= vg_web_now()) return MHD_HTTP_FORBIDDEN;
    return 0;
}

static enum MHD_Result refuse(struct MHD_Connection *c, unsigned st)
{
    if (st == MHD_HTTP_NOT_FOUND) return vg_reply_error(c, st, "not_found");
    if (st == MHD_HTTP_FORBIDDEN) return vg_reply_error(c, st, "share_ended");
    return vg_reply_error(c, 500, "internal");
}

/* Invariant 3: throttle first, then the keyed-hash comparison. 0 ok,
 * VG_EAGAIN (*retry), VG_EAUTH (wrong passphrase: counted and audited). */
static int share_auth(vg_web *w, vg_req *r, const share_row *sr, const char *auth_b64, int *retry)
{
    char key[40];
    uint8_t ak[VG_AUTH_KEY_LEN], h[32];
    int64_t now = vg_web_now();
    snprintf(key, sizeof key, "sh:%" PRId64, sr->id);
    if (vg_auth_throttled(w->auth, key, now, retry) == VG_EAGAIN) return VG_EAGAIN;
    int ok = vg_b64_decode(auth_b64, ak, sizeof ak) == 0;
    if (ok) {
        vg_auth_key_hash(w->auth, ak, h);
        ok = sodium_memcmp(h, sr->auth_hash, 32) == 0;
    }
    sodium_memzero(ak, sizeof ak);
    if (ok) return 0;
    vg_auth_throttle_key_fail(w->auth, key, now);
    vg_scope s = {w->db, sr->org};
    audit_share(&s, r, sr->id, "share.denied", json_pack("{s:s}", "reason", "passphrase"));
    return VG_EAUTH;
}

/* POST /api/share/params {"token"} -> {"salt"}: what the browser derives with. */
static enum MHD_Result h_params(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    share_row sr;
    char salt[64];
    unsigned st = share_find(w, b ? vg_api_jstr(b, "token") : NULL, &sr);
    if (st) return refuse(c, st);
    sodium_bin2base64(salt, sizeof salt, sr.salt, sizeof sr.salt, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "salt", salt));
}

/* POST /api/share/open {"token", "auth_key"} -> the clip's segments with
 * their wrapped keys. Each success is an opening, audited. */
static enum MHD_Result h_open(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    share_row sr;
    int retry = 0;
    unsigned st = share_find(w, b ? vg_api_jstr(b, "token") : NULL, &sr);
    if (st) return refuse(c, st);
    if (!w->store) return vg_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder");
    int rc = share_auth(w, r, &sr, vg_api_jstr(b, "auth_key"), &retry);
    if (rc == VG_EAGAIN) return vg_reply_retry(c, retry);
    if (rc) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "wrong_passphrase");
    vg_scope s = {w->db, sr.org};
    vg_stmt *q;
    json_t *segs = json_array();
    if (vg_scope_prep(&s, &q, "SELECT segment_id, wrapped_key FROM share_keys WHERE org_id = ?1 AND share_id = ?2 "
                      "ORDER BY segment_id", "i", sr.id)) {
        json_decref(segs);
        return vg_reply_error(c, 500, "internal");
    }
    while (vg_db_step(q) == 1) {
        size_t n;
        char name[64], *text = NULL, wk[128];
        const uint8_t *p = vg_db_blob(q, 1, &n);
        if (!p || n != WRAPPED_KEY_LEN || vg_store_segment_json(w->data_dir, vg_db_int(q, 0), name, &text)) continue;
        json_t *o = json_loads(text, 0, NULL);
        free(text);
        if (!o) continue;
        sodium_bin2base64(wk, sizeof wk, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        json_object_del(o, "sealed_key");   /* sealed to the camera: useless to the recipient */
        json_object_set_new(o, "wrapped_key", json_string(wk));
        json_array_append_new(segs, o);
    }
    vg_db_done(q);
    uint8_t org[16];
    char hex[33], cname[128] = "";
    vg_store_org_id(w->store, org);
    sodium_bin2hex(hex, sizeof hex, org, sizeof org);
    if (vg_scope_prep(&s, &q, "SELECT name FROM cameras WHERE org_id = ?1 AND id = ?2", "i", sr.cam) == 0) {
        if (vg_db_step(q) == 1) snprintf(cname, sizeof cname, "%s", vg_db_text(q, 0));
        vg_db_done(q);
    }
    (void)vg_scope_run(&s, "UPDATE shares SET opened = opened + 1 WHERE org_id = ?1 AND id = ?2", "i", sr.id);
    audit_share(&s, r, sr.id, "share.open", json_pack("{s:I,s:I,s:I}", "camera", (json_int_t)sr.cam, "from90k",
                                                       (json_int_t)sr.from90k, "to90k", (json_int_t)sr.to90k));
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:s,s:I,s:I,s:I,s:s,s:o}", "camera", cname, "from90k",
                                                   (json_int_t)sr.from90k, "to90k", (json_int_t)sr.to90k, "expires",
                                                   (json_int_t)sr.expires, "footage_org_id", hex, "segments", segs));
}

/* GET /api/share/data?segment=N, headers X-Vigil-Share (token) and
 * X-Vigil-Share-Key (auth key): a segment's ciphertext, with Range. */
static enum MHD_Result h_data(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    share_row sr;
    int retry = 0, fd = -1;
    uint64_t size = 0;
    char name[64];
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "segment");
    int64_t seg = 0;
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > 18) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_segment");
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_segment");
        seg = seg * 10 + (v[i] - '0');
    }
    unsigned st = share_find(w, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Vigil-Share"), &sr);
    if (st) return refuse(c, st);
    if (!w->store) return vg_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder");
    int rc = share_auth(w, r, &sr, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Vigil-Share-Key"), &retry);
    if (rc == VG_EAGAIN) return vg_reply_retry(c, retry);
    if (rc) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "wrong_passphrase");
    vg_scope s = {w->db, sr.org};
    int ok = vg_scope_exists(&s, "SELECT 1 FROM share_keys WHERE org_id = ?1 AND share_id = ?2 AND segment_id = ?3",
                             "ii", sr.id, seg);
    if (ok < 0) return vg_reply_error(c, 500, "internal");
    if (!ok) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "outside_share");
    if (vg_store_segment_open(w->data_dir, seg, name, &fd, &size)) return vg_reply_error(c, 500, "internal");
    return vg_serve_segment(c, fd, size, 1);
}

static const vg_web_route routes[] = {
    {"GET", "/api/shares", 0, VG_SESSION, VG_ROLE_ADMIN, h_shares, NULL},
    {"POST", "/api/shares", 0, VG_SESSION, VG_ROLE_ADMIN, h_share_new, NULL},
    {"POST", "/api/shares/", 1, VG_SESSION, VG_ROLE_ADMIN, h_share_keys, "/keys"},
    {"DELETE", "/api/shares/", 1, VG_SESSION, VG_ROLE_ADMIN, h_share_revoke, NULL},
    /* public: authenticated by the link's token and the passphrase's auth key */
    {"POST", "/api/share/params", 0, VG_PUBLIC, VG_ROLE_NONE, h_params, NULL},
    {"POST", "/api/share/open", 0, VG_PUBLIC, VG_ROLE_NONE, h_open, NULL},
    {"GET", "/api/share/data", 0, VG_PUBLIC, VG_ROLE_NONE, h_data, NULL},
};

const vg_web_route *vg_share_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
