/* SPDX-License-Identifier: Apache-2.0 */
/* Support grants (docs/design/grants.md): members' signing keys, grants an
 * owner or admin issues to a support account, and the support account's
 * scoped reads of the granted footage.
 *
 * Invariants:
 *  1. A grant is stored only with a statement whose signature verifies with
 *     the issuing member's signing key, and that key is the owner's or
 *     carries the owner's certificate (the chain the recorder checks too).
 *  2. A support account reads a segment only through an active grant it is
 *     the grantee of, for a camera of the grant, overlapping the grant's
 *     range, with a content key sealed to it for that grant; anything else
 *     is 403 (404 for a grant that is not theirs) and, when the grant is
 *     theirs, audited in the granting organization's log.
 *  3. A grant that ends (revoked, expired) has its wrapped keys deleted in
 *     the same transaction that marks it, and the recorder stops sealing to
 *     it; expiry is swept before every grant route and every minute.
 *  4. Grantees are support accounts of the platform organization only. */
#include "web/web_int.h"
#include "auth/audit.h"
#include "core/err.h"
#include "core/log.h"
#include "rec/grant.h"
#include "store/store.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEALED_LEN 80
#define WRAPPED_SIGN_SK_LEN 104   /* nonce 24 | secretbox(Ed25519 sk 64) 80 */
#define MAX_GRANT_SECONDS (7 * 86400)
#define MAX_KEYS_PER_CALL 400

static void b64s(const uint8_t *p, size_t n, char *out, size_t outsz)
{
    sodium_bin2base64(out, outsz, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static json_t *jb64(const uint8_t *p, size_t n)
{
    char buf[256];
    if (!p || n > 150) return json_null();
    b64s(p, n, buf, sizeof buf);
    return json_string(buf);
}

/* Audit into any organization's log (a support account's actions land in
 * the log of the organization whose footage they touch). */
static void audit_in(const vg_scope *s, const vg_req *r, int64_t actor_id, const char *actor, const char *action,
                     json_t *detail /* stolen */)
{
    char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(detail);
    if (vg_audit_add(s, actor_id, actor, action, d ? d : "{}", r ? r->addr : "", vg_web_now() * 1000))
        vg_error("web", "audit append failed (%s)", action);
    free(d);
}

int vg_org_uid(vg_db *db, int64_t org, uint8_t uid[16])
{
    vg_stmt *st;
    int rc = VG_ENOTFOUND;
    if (vg_db_prep(db, &st, "SELECT uid FROM organizations WHERE id = ?1", "i", org)) return VG_EIO;
    if (vg_db_step(st) == 1) {
        size_t n;
        const uint8_t *p = vg_db_blob(st, 0, &n);
        if (p && n == 16) { memcpy(uid, p, 16); rc = 0; }
    }
    vg_db_done(st);
    return rc;
}

/* The app camera of a store name in organization s; 0 if none. */
int64_t vg_cam_in_scope(const vg_scope *s, const char *name)
{
    vg_stmt *st;
    int64_t id = 0;
    if (strcmp(name, "demo") == 0) {
        if (vg_scope_prep(s, &st, "SELECT id FROM cameras WHERE org_id = ?1 AND builtin = 1", "")) return 0;
    } else {
        char *end;
        if (strncmp(name, "cam-", 4) != 0 || name[4] < '1' || name[4] > '9') return 0;
        long long v = strtoll(name + 4, &end, 10);
        if (*end || v <= 0) return 0;
        if (vg_scope_prep(s, &st, "SELECT id FROM cameras WHERE org_id = ?1 AND id = ?2 AND builtin = 0", "i",
                          (int64_t)v))
            return 0;
    }
    if (vg_db_step(st) == 1) id = vg_db_int(st, 0);
    vg_db_done(st);
    return id;
}

/* ---- expiry sweep ---------------------------------------------------------------- */

/* Ends a grant: state, wrapped keys gone (one transaction), recorder told. */
static int grant_end(vg_web *w, const vg_scope *s, int64_t gid, const char *state)
{
    vg_db *db = s->db;
    int rc = vg_db_begin(db);
    if (!rc) rc = vg_scope_run(s, "UPDATE grants SET state = ?3 WHERE org_id = ?1 AND id = ?2 AND state = 'active'",
                               "it", gid, state);
    int changed = rc ? 0 : vg_db_changes(db);
    if (!rc) rc = vg_scope_run(s, "DELETE FROM grant_keys WHERE org_id = ?1 AND grant_id = ?2", "i", gid);
    if (!rc) rc = vg_db_commit(db);
    if (rc) { vg_db_rollback(db); return rc; }
    if (w->store) vg_store_grant_drop(w->store, gid);
    return changed ? 0 : VG_ENOTFOUND;
}

void vg_grants_sweep(vg_web *w)
{
    vg_stmt *st;
    int64_t ids[64], orgs[64];
    size_t n = 0;
    int64_t now = vg_web_now();
    /* Platform-wide housekeeping (not a request's tenant query): every
     * organization's grants that reached their expiry. */
    if (vg_db_prep(w->db, &st, "SELECT id, org_id FROM grants WHERE state = 'active' AND expires <= ?1 LIMIT 64",
                   "i", now))
        return;
    while (n < 64 && vg_db_step(st) == 1) { ids[n] = vg_db_int(st, 0); orgs[n] = vg_db_int(st, 1); n++; }
    vg_db_done(st);
    for (size_t i = 0; i < n; i++) {
        vg_scope s = {w->db, orgs[i]};
        if (grant_end(w, &s, ids[i], "expired") == 0)
            audit_in(&s, NULL, 0, "vigil", "grant.expired", json_pack("{s:I}", "grant", (json_int_t)ids[i]));
    }
    vg_shares_sweep(w);
}

#define SWEEP_MS 60000

static void on_sweep(vg_loop *loop, vg_timer *t)
{
    vg_web *w = t->data;
    vg_grants_sweep(w);
    vg_timer_start(loop, t, SWEEP_MS);
}

void vg_grants_shutdown(vg_web *w)
{
    if (w->grants_timer_on) vg_timer_stop(w->loop, &w->grants_timer);
    w->grants_timer_on = 0;
}

void vg_grants_attach(vg_web *w)
{
    vg_stmt *st;
    if (!w->store) return;
    vg_grants_sweep(w);
    if (w->loop && !w->grants_timer_on) {
        vg_timer_init(&w->grants_timer, on_sweep, w);
        w->grants_timer_on = vg_timer_start(w->loop, &w->grants_timer, SWEEP_MS) == 0;
    }
    /* An owner who set a signing key while no recorder ran (`vigil serve`)
     * is pinned at the recorder's first start with the web: trust on first
     * use, as at setup; a different key already pinned is never replaced. */
    if (vg_db_prep(w->db, &st, "SELECT o.uid, k.sign_pk FROM sign_keys k JOIN members m ON m.id = k.member_id "
                   "JOIN organizations o ON o.id = m.org_id WHERE m.role = 'owner'", "") == 0) {
        while (vg_db_step(st) == 1) {
            size_t nu, np;
            const uint8_t *uid = vg_db_blob(st, 0, &nu), *pk = vg_db_blob(st, 1, &np);
            if (uid && nu == 16 && pk && np == 32 && vg_store_trust_pin(w->store, uid, pk) == VG_EAUTH)
                vg_warn("web", "an organization's owner signing key differs from the one the recorder pinned: "
                        "its live grants will be refused");
        }
        vg_db_done(st);
    }
    if (vg_db_prep(w->db, &st, "SELECT g.id, g.statement, g.signature, g.signer_pk, g.signer_id, g.cert FROM grants g "
                   "WHERE g.state = 'active'", ""))
        return;
    while (vg_db_step(st) == 1) {
        size_t ns, np, nc;
        const char *stmt = vg_db_text(st, 1);
        const uint8_t *sig = vg_db_blob(st, 2, &ns), *spk = vg_db_blob(st, 3, &np), *cert = vg_db_blob(st, 5, &nc);
        if (!stmt || ns != 64 || np != 32) continue;
        vg_grant_proof p = {stmt, strlen(stmt), sig, spk, vg_db_int(st, 4), cert && nc == 64 ? cert : NULL};
        int rc = vg_rec_grant_apply(w->store, vg_db_int(st, 0), &p);
        if (rc) vg_warn("web", "grant %" PRId64 " not applied by the recorder: %s", vg_db_int(st, 0), vg_strerror(rc));
    }
    vg_db_done(st);
}

/* ---- signing keys ------------------------------------------------------------------- */

typedef struct signkey {
    int found;
    uint8_t pk[32];
    int has_cert;
    uint8_t cert[64];
} signkey;

static int signkey_load(const vg_scope *s, int64_t member, signkey *k)
{
    vg_stmt *st;
    memset(k, 0, sizeof *k);
    if (vg_scope_prep(s, &st, "SELECT sign_pk, cert FROM sign_keys WHERE org_id = ?1 AND member_id = ?2", "i", member))
        return VG_EIO;
    if (vg_db_step(st) == 1) {
        size_t n, nc;
        const uint8_t *p = vg_db_blob(st, 0, &n), *c = vg_db_blob(st, 1, &nc);
        if (p && n == 32) { k->found = 1; memcpy(k->pk, p, 32); }
        if (c && nc == 64) { k->has_cert = 1; memcpy(k->cert, c, 64); }
    }
    vg_db_done(st);
    return 0;
}

static int64_t owner_of(const vg_scope *s)
{
    vg_stmt *st;
    int64_t id = 0;
    if (vg_scope_prep(s, &st, "SELECT id FROM members WHERE org_id = ?1 AND role = 'owner' ORDER BY id LIMIT 1", ""))
        return 0;
    if (vg_db_step(st) == 1) id = vg_db_int(st, 0);
    vg_db_done(st);
    return id;
}

static enum MHD_Result h_signkey_put(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    uint8_t pk[32], wsk[WRAPPED_SIGN_SK_LEN], uid[16];
    signkey k;
    if (!b || vg_b64_decode(vg_api_jstr(b, "sign_pk"), pk, sizeof pk) ||
        vg_b64_decode(vg_api_jstr(b, "wrapped_sign_sk"), wsk, sizeof wsk))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_keys");
    if (signkey_load(&r->ctx.scope, r->ctx.member_id, &k)) return vg_reply_error(c, 500, "internal");
    /* Set once: a replaced key would orphan every grant and certificate it signed. */
    if (k.found) return vg_reply_error(c, MHD_HTTP_CONFLICT, "exists");
    if (r->ctx.role == VG_ROLE_OWNER && w->store) {
        /* The recorder pins the owner's key: the root it verifies grants with. */
        if (vg_org_uid(r->ctx.scope.db, r->ctx.scope.org_id, uid)) return vg_reply_error(c, 500, "internal");
        int rc = vg_store_trust_pin(w->store, uid, pk);
        if (rc == VG_EAUTH) return vg_reply_error(c, MHD_HTTP_CONFLICT, "pinned_other_key");
        if (rc) return vg_reply_error(c, 500, "internal");
    }
    if (vg_scope_run(&r->ctx.scope, "INSERT INTO sign_keys(org_id, member_id, sign_pk, wrapped_sign_sk, created) "
                     "VALUES(?1, ?2, ?3, ?4, ?5)", "ibbi", r->ctx.member_id, pk, sizeof pk, wsk, sizeof wsk,
                     vg_web_now()))
        return vg_reply_error(c, 500, "internal");
    char fp[48];
    vg_key_fingerprint(pk, fp, sizeof fp);
    vg_api_audit(r, "signkey.set", json_pack("{s:s}", "fingerprint", fp));
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "fingerprint", fp));
}

static enum MHD_Result h_signkey_get(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    json_t *o = NULL;
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT sign_pk, wrapped_sign_sk, cert FROM sign_keys WHERE org_id = ?1 "
                      "AND member_id = ?2", "i", r->ctx.member_id))
        return vg_reply_error(c, 500, "internal");
    if (vg_db_step(st) == 1) {
        size_t n0, n1, n2;
        const uint8_t *pk = vg_db_blob(st, 0, &n0), *wsk = vg_db_blob(st, 1, &n1), *cert = vg_db_blob(st, 2, &n2);
        char fp[48] = "";
        if (pk && n0 == 32) vg_key_fingerprint(pk, fp, sizeof fp);
        o = json_pack("{s:o,s:o,s:o,s:s}", "sign_pk", jb64(pk, n0), "wrapped_sign_sk", jb64(wsk, n1), "cert",
                      cert ? jb64(cert, n2) : json_null(), "fingerprint", fp);
    }
    vg_db_done(st);
    if (!o) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "no_sign_key");
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result h_signkeys(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    json_t *arr = json_array();
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT m.id, m.email, m.role, k.sign_pk, k.cert IS NOT NULL FROM sign_keys k "
                      "JOIN members m ON m.id = k.member_id WHERE k.org_id = ?1 ORDER BY m.id", "")) {
        json_decref(arr);
        return vg_reply_error(c, 500, "internal");
    }
    while (vg_db_step(st) == 1) {
        size_t n;
        const uint8_t *pk = vg_db_blob(st, 3, &n);
        char fp[48] = "";
        if (pk && n == 32) vg_key_fingerprint(pk, fp, sizeof fp);
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:o,s:s,s:b}", "member_id", (json_int_t)vg_db_int(st, 0),
                                             "email", vg_db_text(st, 1), "role", vg_db_text(st, 2), "sign_pk",
                                             jb64(pk, n), "fingerprint", fp, "certified", (int)vg_db_int(st, 4)));
    }
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "sign_keys", arr));
}

/* POST /api/members/{id}/signcert {"cert": b64 signature}: the owner's
 * browser certifies an admin's signing key (after comparing fingerprints). */
static enum MHD_Result h_signcert(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    uint8_t sig[64], uid[16];
    char text[256];
    signkey owner, k;
    /* The member first (404 for anyone not in the caller's organization), then the input. */
    if (signkey_load(&r->ctx.scope, r->id, &k)) return vg_reply_error(c, 500, "internal");
    if (!k.found) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "no_sign_key");
    if (!b || vg_b64_decode(vg_api_jstr(b, "cert"), sig, sizeof sig))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_cert");
    if (signkey_load(&r->ctx.scope, r->ctx.member_id, &owner) || vg_org_uid(r->ctx.scope.db, r->ctx.scope.org_id, uid))
        return vg_reply_error(c, 500, "internal");
    if (!owner.found) return vg_reply_error(c, MHD_HTTP_CONFLICT, "no_owner_key");
    int n = vg_signcert_text(uid, r->id, k.pk, text, sizeof text);
    if (n < 0 || crypto_sign_verify_detached(sig, (const uint8_t *)text, (size_t)n, owner.pk) != 0)
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_cert");
    if (vg_scope_run(&r->ctx.scope, "UPDATE sign_keys SET cert = ?3 WHERE org_id = ?1 AND member_id = ?2", "ib", r->id,
                     sig, sizeof sig))
        return vg_reply_error(c, 500, "internal");
    vg_api_audit(r, "signkey.certify", json_pack("{s:I}", "member", (json_int_t)r->id));
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

/* ---- grants (issuing side) --------------------------------------------------------- */

typedef struct grantee {
    int64_t id;
    char email[VG_EMAIL_MAX + 1];
    uint8_t pk[32];
} grantee;

/* A support account of the platform organization (invariant 4). The lookup
 * crosses organizations on purpose: support accounts live in the platform
 * organization, and it returns only what an admin must compare (email,
 * public key). By email (id 0) or by id. */
static int grantee_find(vg_db *db, const char *email, int64_t id, grantee *g)
{
    vg_stmt *st;
    int rc = VG_ENOTFOUND;
    memset(g, 0, sizeof *g);
    if (vg_db_prep(db, &st, "SELECT m.id, m.email, m.public_key FROM members m JOIN organizations o ON o.id = m.org_id "
                   "WHERE m.role = 'support' AND o.kind = 'platform' AND (m.email = ?1 OR m.id = ?2)", "ti",
                   email ? email : "", id))
        return VG_EIO;
    if (vg_db_step(st) == 1) {
        size_t n;
        const uint8_t *pk = vg_db_blob(st, 2, &n);
        if (pk && n == 32) {
            g->id = vg_db_int(st, 0);
            snprintf(g->email, sizeof g->email, "%s", vg_db_text(st, 1));
            memcpy(g->pk, pk, 32);
            rc = 0;
        }
    }
    vg_db_done(st);
    return rc;
}

static enum MHD_Result h_grantee(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    char email[VG_EMAIL_MAX + 1], fp[48], pkb[64];
    grantee g;
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "email");
    if (!q || strlen(q) > VG_EMAIL_MAX) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_email");
    snprintf(email, sizeof email, "%s", q);
    if (vg_email_normalize(email)) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_email");
    int rc = grantee_find(r->ctx.scope.db, email, 0, &g);
    if (rc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "no_support_account");
    if (rc) return vg_reply_error(c, 500, "internal");
    vg_key_fingerprint(g.pk, fp, sizeof fp);
    b64s(g.pk, 32, pkb, sizeof pkb);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)g.id, "email", g.email,
                                                   "public_key", pkb, "fingerprint", fp));
}

typedef struct grant_row {
    int found;
    int64_t org, grantee, from90k, to90k, expires;
    char state[16];
} grant_row;

static int grant_load(vg_db *db, int64_t gid, grant_row *g)
{
    vg_stmt *st;
    memset(g, 0, sizeof *g);
    /* By id across organizations: callers compare org or grantee next. */
    if (vg_db_prep(db, &st, "SELECT org_id, grantee_id, from90k, to90k, expires, state FROM grants WHERE id = ?1", "i",
                   gid))
        return VG_EIO;
    if (vg_db_step(st) == 1) {
        g->found = 1;
        g->org = vg_db_int(st, 0);
        g->grantee = vg_db_int(st, 1);
        g->from90k = vg_db_int(st, 2);
        g->to90k = vg_db_int(st, 3);
        g->expires = vg_db_int(st, 4);
        snprintf(g->state, sizeof g->state, "%s", vg_db_text(st, 5));
    }
    vg_db_done(st);
    return 0;
}

static int grant_has_camera(const vg_scope *s, int64_t gid, int64_t cam)
{
    return vg_scope_exists(s, "SELECT 1 FROM grant_cameras WHERE org_id = ?1 AND grant_id = ?2 AND camera_id = ?3",
                           "ii", gid, cam) > 0;
}

int vg_segkeys_add(vg_web *w, const vg_scope *s, const vg_segkeys *k, json_t *arr, size_t *added)
{
    *added = 0;
    if (!json_is_array(arr) || json_array_size(arr) > k->max_keys || k->key_len > VG_SEGKEY_MAX) return VG_EINVAL;
    if (json_array_size(arr) && !w->store) return VG_EINVAL;
    int rc = vg_db_begin(s->db);
    for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i), *js = json_object_get(e, "segment_id");
        uint8_t key[VG_SEGKEY_MAX];
        char name[64];
        int64_t a, z;
        if (!json_is_integer(js) || vg_b64_decode(vg_api_jstr(e, k->field), key, k->key_len) ||
            vg_store_segment_span(w->data_dir, json_integer_value(js), name, &a, &z) ||
            !k->cam_ok(s, k->cam_arg, vg_cam_in_scope(s, name)) || z <= k->from90k || a >= k->to90k) {
            rc = VG_EINVAL;
            break;
        }
        rc = vg_scope_run(s, k->sql, "iib", k->owner, (int64_t)json_integer_value(js), key, k->key_len);
        if (!rc) (*added)++;
    }
    if (!rc) rc = vg_db_commit(s->db);
    if (rc) vg_db_rollback(s->db);
    return rc;
}

/* Stores archive keys for an active grant of the caller's organization:
 * each segment must belong to a granted camera and overlap the range. */
static int keys_add(vg_web *w, const vg_scope *s, int64_t gid, const grant_row *g, json_t *arr, size_t *added)
{
    const vg_segkeys k = {
        .field = "sealed_key", .key_len = SEALED_LEN, .max_keys = MAX_KEYS_PER_CALL,
        .sql = "INSERT INTO grant_keys(org_id, grant_id, segment_id, sealed_key) VALUES(?1, ?2, ?3, ?4) "
               "ON CONFLICT(grant_id, segment_id) DO UPDATE SET sealed_key = excluded.sealed_key",
        .owner = gid, .from90k = g->from90k, .to90k = g->to90k, .cam_ok = grant_has_camera, .cam_arg = gid,
    };
    return vg_segkeys_add(w, s, &k, arr, added);
}

/* POST /api/grants {"statement", "signature", "keys": [...]}. */
static enum MHD_Result h_grant_new(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    const vg_scope *s = &r->ctx.scope;
    vg_grant_stmt gs;
    uint8_t sig[64], uid[16], owner_pk[32];
    signkey me, owner;
    grantee ge;
    int64_t cams[VG_GRANT_CAMS_MAX], now = vg_web_now();
    vg_grants_sweep(w);
    const char *stmt = b ? vg_api_jstr(b, "statement") : NULL;
    if (!stmt || vg_b64_decode(vg_api_jstr(b, "signature"), sig, sizeof sig) ||
        vg_grant_parse(stmt, strlen(stmt), &gs))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_statement");
    if (vg_org_uid(s->db, s->org_id, uid) || signkey_load(s, r->ctx.member_id, &me) ||
        signkey_load(s, owner_of(s), &owner))
        return vg_reply_error(c, 500, "internal");
    if (sodium_memcmp(uid, gs.org, 16) != 0) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "wrong_org");
    if (!me.found) return vg_reply_error(c, MHD_HTTP_CONFLICT, "no_sign_key");
    if (!owner.found) return vg_reply_error(c, MHD_HTTP_CONFLICT, "no_owner_key");
    memcpy(owner_pk, owner.pk, 32);
    if (gs.expires <= now || gs.expires > now + MAX_GRANT_SECONDS)
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_expiry");
    if (grantee_find(s->db, NULL, gs.grantee, &ge) || sodium_memcmp(ge.pk, gs.grantee_pk, 32) != 0)
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_grantee");
    for (size_t i = 0; i < gs.ncams; i++) {
        cams[i] = vg_cam_in_scope(s, gs.cams[i]);
        if (!cams[i]) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_camera");
        int rc = vg_cam_access(w, r, cams[i], "grant", NULL);
        if (rc == VG_EAUTH) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "no_key");
        if (rc) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_camera");
    }
    vg_grant_proof p = {stmt, strlen(stmt), sig, me.pk, r->ctx.member_id, me.has_cert ? me.cert : NULL};
    if (vg_grant_verify(owner_pk, &p, &gs)) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "bad_signature");
    int rc = vg_db_begin(s->db);
    if (!rc)
        rc = vg_scope_run(s, "INSERT INTO grants(org_id, uid, grantor_id, grantee_id, from90k, to90k, created, expires, "
                          "statement, signature, signer_pk, signer_id, cert) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                          "?10, ?11, ?12, ?13)", "biiiiiitbbin", gs.uid, sizeof gs.uid, r->ctx.member_id, ge.id,
                          gs.from90k, gs.to90k, now, gs.expires, stmt, sig, sizeof sig, me.pk, sizeof me.pk,
                          r->ctx.member_id, (int64_t)0);
    int64_t gid = rc ? 0 : vg_db_last_id(s->db);
    if (!rc && me.has_cert)
        rc = vg_scope_run(s, "UPDATE grants SET cert = ?3 WHERE org_id = ?1 AND id = ?2", "ib", gid, me.cert,
                          sizeof me.cert);
    for (size_t i = 0; !rc && i < gs.ncams; i++)
        rc = vg_scope_run(s, "INSERT INTO grant_cameras(org_id, grant_id, camera_id) VALUES(?1, ?2, ?3)", "ii", gid,
                          cams[i]);
    if (!rc) rc = vg_db_commit(s->db);
    if (rc) {
        vg_db_rollback(s->db);
        return vg_reply_error(c, MHD_HTTP_CONFLICT, "grant_exists");
    }
    grant_row g = {1, s->org_id, ge.id, gs.from90k, gs.to90k, gs.expires, "active"};
    size_t added = 0;
    if (json_object_get(b, "keys") && keys_add(w, s, gid, &g, json_object_get(b, "keys"), &added)) {
        (void)grant_end(w, s, gid, "revoked");
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_keys");
    }
    int live = 0;
    if (w->store) {
        rc = vg_rec_grant_apply(w->store, gid, &p);
        /* live: the recorder took it and the range reaches past now */
        live = rc == 0 && gs.to90k > now * 90000;
        if (rc) vg_warn("web", "grant %" PRId64 ": the recorder refused it (%s)", gid, vg_strerror(rc));
    }
    json_t *jc = json_array();
    for (size_t i = 0; i < gs.ncams; i++) json_array_append_new(jc, json_integer(cams[i]));
    vg_api_audit(r, "grant.issue", json_pack("{s:I,s:I,s:s,s:o,s:I,s:I,s:I,s:b}", "grant", (json_int_t)gid, "grantee",
                                             (json_int_t)ge.id, "grantee_email", ge.email, "cameras", jc, "from90k",
                                             (json_int_t)gs.from90k, "to90k", (json_int_t)gs.to90k, "expires",
                                             (json_int_t)gs.expires, "live", live));
    return vg_reply_json(c, MHD_HTTP_CREATED, json_pack("{s:I,s:b,s:I}", "id", (json_int_t)gid, "live", live, "keys",
                                                        (json_int_t)added));
}

static enum MHD_Result h_grant_keys(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    grant_row g;
    size_t added = 0;
    vg_grants_sweep(w);
    if (grant_load(r->ctx.scope.db, r->id, &g)) return vg_reply_error(c, 500, "internal");
    if (!g.found || g.org != r->ctx.scope.org_id) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (strcmp(g.state, "active") != 0) return vg_reply_error(c, MHD_HTTP_CONFLICT, "grant_ended");
    if (!b || keys_add(w, &r->ctx.scope, r->id, &g, json_object_get(b, "keys"), &added))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_keys");
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:I}", "keys", (json_int_t)added));
}

static json_t *grant_cams_json(const vg_scope *s, int64_t gid)
{
    vg_stmt *st;
    json_t *a = json_array();
    if (vg_scope_prep(s, &st, "SELECT c.id, c.name, c.builtin FROM grant_cameras g JOIN cameras c ON c.id = g.camera_id "
                      "WHERE g.org_id = ?1 AND g.grant_id = ?2 ORDER BY c.id", "i", gid))
        return a;
    while (vg_db_step(st) == 1) {
        char sn[64];
        vg_cam_store_name(vg_db_int(st, 0), (int)vg_db_int(st, 2), sn);
        json_array_append_new(a, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)vg_db_int(st, 0), "name",
                                           vg_db_text(st, 1), "store_name", sn));
    }
    vg_db_done(st);
    return a;
}

static int64_t grant_key_count(const vg_scope *s, int64_t gid)
{
    vg_stmt *st;
    int64_t n = 0;
    if (vg_scope_prep(s, &st, "SELECT COUNT(*) FROM grant_keys WHERE org_id = ?1 AND grant_id = ?2", "i", gid)) return 0;
    if (vg_db_step(st) == 1) n = vg_db_int(st, 0);
    vg_db_done(st);
    return n;
}

static json_t *grant_json(vg_web *w, const vg_scope *s, vg_stmt *st)
{
    int64_t gid = vg_db_int(st, 0), live_keys = 0;
    if (w->store) vg_store_grant_key_count(w->data_dir, gid, &live_keys);
    return json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:s,s:o,s:I,s:I}", "id", (json_int_t)gid, "grantee_email",
                     vg_db_text(st, 1), "from90k", (json_int_t)vg_db_int(st, 2), "to90k", (json_int_t)vg_db_int(st, 3),
                     "created", (json_int_t)vg_db_int(st, 4), "expires", (json_int_t)vg_db_int(st, 5), "state",
                     vg_db_text(st, 6), "cameras", grant_cams_json(s, gid), "archive_keys",
                     (json_int_t)grant_key_count(s, gid), "live_keys", (json_int_t)live_keys);
}

static enum MHD_Result h_grants(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    json_t *arr = json_array();
    vg_grants_sweep(w);
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT g.id, m.email, g.from90k, g.to90k, g.created, g.expires, g.state "
                      "FROM grants g JOIN members m ON m.id = g.grantee_id WHERE g.org_id = ?1 ORDER BY g.id DESC "
                      "LIMIT 200", "")) {
        json_decref(arr);
        return vg_reply_error(c, 500, "internal");
    }
    while (vg_db_step(st) == 1) json_array_append_new(arr, grant_json(w, &r->ctx.scope, st));
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "grants", arr));
}

static enum MHD_Result h_grant_revoke(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    grant_row g;
    vg_grants_sweep(w);
    if (grant_load(r->ctx.scope.db, r->id, &g)) return vg_reply_error(c, 500, "internal");
    if (!g.found || g.org != r->ctx.scope.org_id) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    int rc = grant_end(w, &r->ctx.scope, r->id, "revoked");
    if (rc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_CONFLICT, "grant_ended");
    if (rc) return vg_reply_error(c, 500, "internal");
    vg_api_audit(r, "grant.revoke", json_pack("{s:I}", "grant", (json_int_t)r->id));
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

/* ---- the support account's side -------------------------------------------------- */

static int query_i64(struct MHD_Connection *c, const char *k, int64_t *out)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > 18) return VG_EINVAL;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return VG_EINVAL;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return 0;
}

static enum MHD_Result h_my_grants(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    json_t *arr = json_array();
    vg_grants_sweep(w);
    /* Grants name this account as grantee; each lives in its organization. */
    if (vg_db_prep(r->ctx.scope.db, &st, "SELECT g.id, o.name, g.from90k, g.to90k, g.created, g.expires, g.state, "
                   "g.org_id FROM grants g JOIN organizations o ON o.id = g.org_id WHERE g.grantee_id = ?1 AND "
                   "g.state = 'active' ORDER BY g.id DESC LIMIT 200", "i", r->ctx.member_id)) {
        json_decref(arr);
        return vg_reply_error(c, 500, "internal");
    }
    while (vg_db_step(st) == 1) {
        vg_scope s = {r->ctx.scope.db, vg_db_int(st, 7)};
        json_array_append_new(arr, json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:s,s:o}", "id", (json_int_t)vg_db_int(st, 0),
                                             "org_name", vg_db_text(st, 1), "from90k", (json_int_t)vg_db_int(st, 2),
                                             "to90k", (json_int_t)vg_db_int(st, 3), "created",
                                             (json_int_t)vg_db_int(st, 4), "expires", (json_int_t)vg_db_int(st, 5),
                                             "state", vg_db_text(st, 6), "cameras", grant_cams_json(&s, vg_db_int(st, 0))));
    }
    vg_db_done(st);
    json_t *o = json_pack("{s:o}", "grants", arr);
    if (w->store) {
        uint8_t org[16];
        char hex[33];
        vg_store_org_id(w->store, org);
        sodium_bin2hex(hex, sizeof hex, org, sizeof org);
        json_object_set_new(o, "footage_org_id", json_string(hex));
    }
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

/* The caller's grant r->id: 0 with *s its organization; 404 not theirs;
 * 403 (audited) ended. */
static unsigned my_grant(vg_web *w, vg_req *r, grant_row *g, vg_scope *s, const char *what)
{
    vg_grants_sweep(w);
    if (grant_load(r->ctx.scope.db, r->id, g)) return 500;
    if (!g->found || g->grantee != r->ctx.member_id) return MHD_HTTP_NOT_FOUND;
    *s = (vg_scope){r->ctx.scope.db, g->org};
    if (strcmp(g->state, "active") != 0 || g->expires <= vg_web_now()) {
        audit_in(s, r, r->ctx.member_id, r->ctx.email, "grant.denied",
                 json_pack("{s:I,s:s,s:s}", "grant", (json_int_t)r->id, "what", what, "reason", "ended"));
        return MHD_HTTP_FORBIDDEN;
    }
    return 0;
}

static enum MHD_Result grant_refusal(struct MHD_Connection *c, unsigned st)
{
    if (st == MHD_HTTP_NOT_FOUND) return vg_reply_error(c, st, "not_found");
    if (st == MHD_HTTP_FORBIDDEN) return vg_reply_error(c, st, "grant_ended");
    return vg_reply_error(c, 500, "internal");
}

static void deny(const vg_scope *s, vg_req *r, const char *what, const char *reason, int64_t seg, int64_t cam)
{
    audit_in(s, r, r->ctx.member_id, r->ctx.email, "grant.denied",
             json_pack("{s:I,s:s,s:s,s:I,s:I}", "grant", (json_int_t)r->id, "what", what, "reason", reason, "segment",
                       (json_int_t)seg, "camera", (json_int_t)cam));
}

static int has_app_key(const vg_scope *s, int64_t gid, int64_t seg)
{
    return vg_scope_exists(s, "SELECT 1 FROM grant_keys WHERE org_id = ?1 AND grant_id = ?2 AND segment_id = ?3", "ii",
                           gid, seg) > 0;
}

/* GET /api/support/grants/{id}/recordings?camera=C: the grant's segments of
 * camera C (those overlapping the grant's range). */
static enum MHD_Result h_my_recordings(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    grant_row g;
    vg_scope s;
    int64_t cam;
    char *text = NULL, name[64];
    /* Whose grant first: someone else's is 404 whatever else is wrong. */
    unsigned st = my_grant(w, r, &g, &s, "recordings");
    if (st) return grant_refusal(c, st);
    if (query_i64(c, "camera", &cam)) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_camera");
    if (!grant_has_camera(&s, r->id, cam)) {
        deny(&s, r, "recordings", "camera", 0, cam);
        return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "outside_grant");
    }
    if (!w->store) return vg_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder");
    vg_stmt *q;
    int builtin = 0;
    if (vg_scope_prep(&s, &q, "SELECT builtin FROM cameras WHERE org_id = ?1 AND id = ?2", "i", cam))
        return vg_reply_error(c, 500, "internal");
    if (vg_db_step(q) == 1) builtin = (int)vg_db_int(q, 0);
    vg_db_done(q);
    vg_cam_store_name(cam, builtin, name);
    if (vg_store_recordings_json(w->data_dir, name, g.from90k, g.to90k, &text)) return vg_reply_error(c, 500, "internal");
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    if (!o) return vg_reply_error(c, 500, "internal");
    /* Only what the grantee can open: segments with a key for this grant
     * (footage sealed to an older camera key got none). */
    json_t *segs = json_object_get(o, "segments"), *keep = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(segs, i, e) {
        int64_t sid = json_integer_value(json_object_get(e, "id"));
        uint8_t sealed[SEALED_LEN];
        if (has_app_key(&s, r->id, sid) || vg_store_grant_key(w->data_dir, r->id, sid, sealed) == 0)
            json_array_append(keep, e);
    }
    json_object_set_new(o, "segments", keep);
    json_object_set_new(o, "from90k", json_integer(g.from90k));
    json_object_set_new(o, "to90k", json_integer(g.to90k));
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

/* The checks of invariant 2 for one segment; on success *sealed is the key
 * sealed to the grantee (archive, from the admin's browser, or live, from
 * the recorder). */
static int my_segment(vg_web *w, vg_req *r, const vg_scope *s, const grant_row *g, int64_t seg, const char *what,
                      char name[64], uint8_t sealed[SEALED_LEN], int64_t *cam_out)
{
    int64_t a, z, cam;
    if (vg_store_segment_span(w->data_dir, seg, name, &a, &z)) { deny(s, r, what, "segment", seg, 0); return VG_EAUTH; }
    cam = vg_cam_in_scope(s, name);
    if (!cam || !grant_has_camera(s, r->id, cam)) { deny(s, r, what, "camera", seg, cam); return VG_EAUTH; }
    if (z <= g->from90k || a >= g->to90k) { deny(s, r, what, "time", seg, cam); return VG_EAUTH; }
    vg_stmt *st;
    int found = 0;
    if (vg_scope_prep(s, &st, "SELECT sealed_key FROM grant_keys WHERE org_id = ?1 AND grant_id = ?2 AND segment_id = ?3",
                      "ii", r->id, seg))
        return VG_EIO;
    if (vg_db_step(st) == 1) {
        size_t n;
        const uint8_t *p = vg_db_blob(st, 0, &n);
        if (p && n == SEALED_LEN) { memcpy(sealed, p, SEALED_LEN); found = 1; }
    }
    vg_db_done(st);
    if (!found && vg_store_grant_key(w->data_dir, r->id, seg, sealed) == 0) found = 1;
    if (!found) { deny(s, r, what, "no_key", seg, cam); return VG_EAUTH; }
    *cam_out = cam;
    return 0;
}

static enum MHD_Result h_my_segment(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    grant_row g;
    vg_scope s;
    int64_t seg, cam;
    char name[64], kb[128], *text = NULL;
    uint8_t sealed[SEALED_LEN];
    unsigned st = my_grant(w, r, &g, &s, "segment");
    if (st) return grant_refusal(c, st);
    if (query_i64(c, "segment", &seg)) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_segment");
    if (!w->store) return vg_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder");
    int rc = my_segment(w, r, &s, &g, seg, "segment", name, sealed, &cam);
    if (rc == VG_EAUTH) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "outside_grant");
    if (rc || vg_store_segment_json(w->data_dir, seg, name, &text)) return vg_reply_error(c, 500, "internal");
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    if (!o) return vg_reply_error(c, 500, "internal");
    b64s(sealed, sizeof sealed, kb, sizeof kb);
    json_object_set_new(o, "sealed_key", json_string(kb));   /* sealed to the grantee, not the camera */
    json_object_set_new(o, "sealed_to", json_string("grantee"));
    json_object_set_new(o, "camera_id", json_integer(cam));
    audit_in(&s, r, r->ctx.member_id, r->ctx.email, "grant.use",
             json_pack("{s:I,s:I,s:I}", "grant", (json_int_t)r->id, "camera", (json_int_t)cam, "segment", (json_int_t)seg));
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result h_my_data(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    grant_row g;
    vg_scope s;
    int64_t seg, cam;
    char name[64];
    uint8_t sealed[SEALED_LEN];
    int fd = -1;
    uint64_t size = 0;
    unsigned st = my_grant(w, r, &g, &s, "segment.data");
    if (st) return grant_refusal(c, st);
    if (query_i64(c, "segment", &seg)) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_segment");
    if (!w->store) return vg_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder");
    int rc = my_segment(w, r, &s, &g, seg, "segment.data", name, sealed, &cam);
    if (rc == VG_EAUTH) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "outside_grant");
    if (rc || vg_store_segment_open(w->data_dir, seg, name, &fd, &size)) return vg_reply_error(c, 500, "internal");
    return vg_serve_segment(c, fd, size, 1);
}

static const vg_web_route routes[] = {
    {"PUT", "/api/me/signkey", 0, VG_SESSION, VG_ROLE_ADMIN, h_signkey_put, NULL},
    {"GET", "/api/me/signkey", 0, VG_SESSION, VG_ROLE_ADMIN, h_signkey_get, NULL},
    {"GET", "/api/signkeys", 0, VG_SESSION, VG_ROLE_ADMIN, h_signkeys, NULL},
    {"POST", "/api/members/", 1, VG_SESSION, VG_ROLE_OWNER, h_signcert, "/signcert"},
    {"GET", "/api/grantee", 0, VG_SESSION, VG_ROLE_ADMIN, h_grantee, NULL},
    {"GET", "/api/grants", 0, VG_SESSION, VG_ROLE_ADMIN, h_grants, NULL},
    {"POST", "/api/grants", 0, VG_SESSION, VG_ROLE_ADMIN, h_grant_new, NULL},
    {"POST", "/api/grants/", 1, VG_SESSION, VG_ROLE_ADMIN, h_grant_keys, "/keys"},
    {"DELETE", "/api/grants/", 1, VG_SESSION, VG_ROLE_ADMIN, h_grant_revoke, NULL},
    {"GET", "/api/support/grants", 0, VG_SESSION, VG_ROLE_SUPPORT, h_my_grants, NULL},
    {"GET", "/api/support/grants/", 1, VG_SESSION, VG_ROLE_SUPPORT, h_my_recordings, "/recordings"},
    {"GET", "/api/support/grants/", 1, VG_SESSION, VG_ROLE_SUPPORT, h_my_segment, "/segment"},
    {"GET", "/api/support/grants/", 1, VG_SESSION, VG_ROLE_SUPPORT, h_my_data, "/data"},
};

const vg_web_route *vg_grants_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
