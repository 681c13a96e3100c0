/* SPDX-License-Identifier: Apache-2.0 */
/* JSON API routes (docs/api.md). The pipeline in web.c has already checked
 * Host, Origin, session and role before a handler runs; handlers validate
 * their own input and reach tenant rows only through r->ctx.scope.
 * Camera credentials are write-only: no response includes them. */
#include "web/web_int.h"
#include "auth/audit.h"
#include "auth/mfa.h"
#include "core/err.h"
#include "core/log.h"
#include "rec/recorder.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define COOKIE_ATTRS "; Path=/; Secure; HttpOnly; SameSite=Strict"
#define URL_MAX 1024

const char *vg_api_jstr(json_t *b, const char *k);
static const char *jstr(json_t *b, const char *k) { return vg_api_jstr(b, k); }

const char *vg_api_jstr(json_t *b, const char *k)
{
    json_t *v = b ? json_object_get(b, k) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static enum MHD_Result bad(struct MHD_Connection *c, const char *code)
{
    return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, code);
}

static enum MHD_Result server_error(struct MHD_Connection *c)
{
    return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
}

static void b64(const uint8_t *p, size_t n, char *out, size_t outsz)
{
    sodium_bin2base64(out, outsz, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void audit(const vg_req *r, const char *action, json_t *detail) { vg_api_audit(r, action, detail); }

void vg_api_audit(const vg_req *r, const char *action, json_t *detail /* stolen */)
{
    char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(detail);
    if (vg_audit_add(&r->ctx.scope, r->ctx.member_id, r->ctx.email, action, d ? d : "{}", r->addr,
                     vg_web_now() * 1000))
        vg_error("web", "audit append failed (%s)", action);
    free(d);
}

static enum MHD_Result session_reply(struct MHD_Connection *c, unsigned status, const char *sid, json_t *o)
{
    char cookie[160];
    snprintf(cookie, sizeof cookie, VG_SESSION_COOKIE "=%s; Max-Age=%d" COOKIE_ATTRS, sid, VG_SESSION_ABS);
    enum MHD_Result res = vg_reply_json_cookie(c, status, o, cookie);
    sodium_memzero(cookie, sizeof cookie);
    return res;
}

/* salt, auth_key, public_key, wrapped_sk, optional totp_secret + totp_code. */
static int parse_member_keys(json_t *b, vg_member_keys *k)
{
    memset(k, 0, sizeof *k);
    if (vg_b64_decode(jstr(b, "salt"), k->salt, sizeof k->salt) ||
        vg_b64_decode(jstr(b, "auth_key"), k->auth_key, sizeof k->auth_key) ||
        vg_b64_decode(jstr(b, "public_key"), k->pk, sizeof k->pk) ||
        vg_b64_decode(jstr(b, "wrapped_sk"), k->wrapped_sk, sizeof k->wrapped_sk))
        return VG_EINVAL;
    const char *ts = jstr(b, "totp_secret"), *tc = jstr(b, "totp_code");
    if (!ts && !tc) return 0;
    if (!ts || !tc || strlen(tc) >= sizeof k->totp_code ||
        vg_b64_decode(ts, k->totp_secret, sizeof k->totp_secret))
        return VG_EINVAL;
    snprintf(k->totp_code, sizeof k->totp_code, "%s", tc);
    k->has_totp = 1;
    return 0;
}

static json_t *me_json(vg_web *w, const vg_ctx *ctx)
{
    vg_stmt *st;
    json_t *o = NULL;
    if (vg_scope_prep(&ctx->scope, &st,
            "SELECT m.email, m.role, m.public_key, m.wrapped_sk, m.totp_secret IS NOT NULL, o.name, o.uid, "
            "o.recovery_pk "
            "FROM members m JOIN organizations o ON o.id = m.org_id WHERE m.org_id = ?1 AND m.id = ?2",
            "i", ctx->member_id))
        return NULL;
    if (vg_db_step(st) == 1) {
        size_t npk, nw;
        const uint8_t *pk = vg_db_blob(st, 2, &npk), *ws = vg_db_blob(st, 3, &nw);
        char pkb[64] = "", wsb[128] = "", fp[48] = "";
        if (pk && npk == VG_PK_LEN) { b64(pk, npk, pkb, sizeof pkb); vg_key_fingerprint(pk, fp, sizeof fp); }
        if (ws && nw == VG_WRAPPED_SK_LEN) b64(ws, nw, wsb, sizeof wsb);
        size_t nu, nr;
        const uint8_t *uid = vg_db_blob(st, 6, &nu), *rpk = vg_db_blob(st, 7, &nr);
        char uidhex[2 * VG_ORG_UID_LEN + 1] = "", rfp[48] = "", rpkb[64] = "";
        if (uid && nu == VG_ORG_UID_LEN) sodium_bin2hex(uidhex, sizeof uidhex, uid, nu);
        /* The recovery key is public: browsers seal each camera's secret key
         * to it, after checking it against recovery_fingerprint. */
        if (rpk && nr == VG_PK_LEN) { vg_key_fingerprint(rpk, rfp, sizeof rfp); b64(rpk, nr, rpkb, sizeof rpkb); }
        o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:b,s:{s:I,s:s,s:s,s:s,s:s}}", "id", (json_int_t)ctx->member_id,
                      "email", vg_db_text(st, 0), "role", vg_db_text(st, 1), "public_key", pkb,
                      "wrapped_sk", wsb, "fingerprint", fp, "totp", (int)vg_db_int(st, 4), "org",
                      "id", (json_int_t)ctx->scope.org_id, "name", vg_db_text(st, 5), "uid", uidhex,
                      "recovery_fingerprint", rfp, "recovery_public_key", rpkb);
    }
    vg_db_done(st);
    /* The store's organization id, bound into every envelope's AD (keys.md);
     * null when no recorder runs in this process (`vigil serve`). */
    if (o && w->store) {
        uint8_t org[16];
        char hex[33];
        vg_store_org_id(w->store, org);
        sodium_bin2hex(hex, sizeof hex, org, sizeof org);
        json_object_set_new(o, "footage_org_id", json_string(hex));
    } else if (o) {
        json_object_set_new(o, "footage_org_id", json_null());
    }
    return o;
}

/* ---- setup and invitations (public) ----------------------------------------------- */

/* The end of every call that may open a session (setup, invitation, login):
 * refused credentials -> auth_status/auth_error, bad input -> 400, anything
 * else -> 500, success -> the session cookie and /api/me. The session id is
 * wiped either way. */
static enum MHD_Result session_result(vg_web *w, vg_req *r, struct MHD_Connection *c, int rc,
                                      unsigned auth_status, const char *auth_error,
                                      unsigned ok_status, char *sid)
{
    enum MHD_Result res;
    if (rc == VG_EAUTH)
        res = vg_reply_error(c, auth_status, auth_error);
    else if (rc == VG_EINVAL)
        res = bad(c, "bad_input");
    else if (rc)
        res = server_error(c);
    else
        res = session_reply(c, ok_status, sid, me_json(w, &r->ctx));
    sodium_memzero(sid, VG_TOKEN_B64_MAX);
    return res;
}

static enum MHD_Result h_setup_status(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    int needed = 0;
    if (vg_auth_needs_setup(w->auth, &needed)) return server_error(c);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:b}", "needed", needed));
}

static enum MHD_Result h_setup(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_member_keys k;
    uint8_t rpk[VG_PK_LEN];
    char sid[VG_TOKEN_B64_MAX];
    /* No recovery key only for the platform's setup (no footage there). */
    const char *rpks = jstr(b, "recovery_public_key");
    if (parse_member_keys(b, &k) || !k.has_totp || (rpks && vg_b64_decode(rpks, rpk, sizeof rpk)))
        return bad(c, "bad_keys");
    int rc = vg_auth_setup(w->auth, jstr(b, "token"), jstr(b, "org_name"), jstr(b, "email"), &k,
                           rpks ? rpk : NULL, vg_web_now(), r->addr, sid, sizeof sid, &r->ctx);
    sodium_memzero(&k, sizeof k);
    return session_result(w, r, c, rc, MHD_HTTP_FORBIDDEN, "bad_token", MHD_HTTP_CREATED, sid);
}

static enum MHD_Result h_invite_info(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_invite_info in;
    char fp[48], pkb[64];
    const char *tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    vg_mfa_policy pol;
    if (vg_auth_invite_info(w->auth, tok, vg_web_now(), &in)) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (vg_mfa_policy_get(w->db, in.org_id, &pol)) return server_error(c);
    vg_key_fingerprint(in.inviter_pk, fp, sizeof fp);
    b64(in.inviter_pk, sizeof in.inviter_pk, pkb, sizeof pkb);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b}", "email", in.email, "role",
                         vg_role_name(in.role), "org", in.org_name, "inviter", in.inviter_email,
                         "inviter_public_key", pkb, "inviter_fingerprint", fp, "totp_allowed", pol.allow_totp,
                         "key_required", vg_mfa_required(in.role) && !pol.allow_totp));
}

static enum MHD_Result h_invite_accept(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_member_keys k;
    char sid[VG_TOKEN_B64_MAX];
    if (parse_member_keys(b, &k)) return bad(c, "bad_keys");
    if (vg_webauthn_invite_key(w, b, &k)) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "webauthn_refused");
    int rc = vg_auth_invite_accept(w->auth, jstr(b, "token"), &k, vg_web_now(), r->addr, sid, sizeof sid, &r->ctx);
    free((void *)k.webauthn);
    sodium_memzero(&k, sizeof k);
    return session_result(w, r, c, rc, MHD_HTTP_FORBIDDEN, "bad_token", MHD_HTTP_CREATED, sid);
}

/* ---- login ------------------------------------------------------------------------ */

static enum MHD_Result h_login_params(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    uint8_t salt[VG_SALT_LEN];
    char sb[48];
    const char *email = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "email");
    if (vg_auth_login_salt(w->auth, email, salt)) return bad(c, "bad_email");
    b64(salt, sizeof salt, sb, sizeof sb);
    /* Argon2id parameters are fixed (docs/design/auth.md); sent so clients need not guess. */
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:s,s:s,s:i,s:i}", "salt", sb, "kdf", "argon2id13",
                                                   "opslimit", 3, "memlimit", 64 * 1024 * 1024));
}

static enum MHD_Result h_login(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    uint8_t key[VG_AUTH_KEY_LEN];
    char sid[VG_TOKEN_B64_MAX];
    int retry = 0;
    if (vg_b64_decode(jstr(b, "auth_key"), key, sizeof key)) return bad(c, "bad_auth_key");
    if (r->sid[0]) (void)vg_auth_logout(w->auth, r->sid);   /* rotate: the old session dies */
    int rc = vg_auth_login(w->auth, jstr(b, "email"), key, jstr(b, "totp_code"), r->addr, vg_web_now(),
                           sid, sizeof sid, &r->ctx, &retry);
    sodium_memzero(key, sizeof key);
    if (rc == VG_EAGAIN) return vg_reply_retry(c, retry);
    if (rc == VG_AUTH_NEED_WEBAUTHN) return vg_webauthn_login_begin(w, r, c);   /* webauthn_api.c */
    return session_result(w, r, c, rc, MHD_HTTP_UNAUTHORIZED, "bad_credentials", MHD_HTTP_OK, sid);
}

static enum MHD_Result h_logout(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    (void)vg_auth_logout(w->auth, r->sid);
    audit(r, "logout", NULL);
    return vg_reply_json_cookie(c, MHD_HTTP_OK, json_object(), VG_SESSION_COOKIE "=; Max-Age=0" COOKIE_ATTRS);
}

static enum MHD_Result h_me(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    json_t *o = me_json(w, &r->ctx);
    return o ? vg_reply_json(c, MHD_HTTP_OK, o) : server_error(c);
}

/* ---- members ------------------------------------------------------------------------ */

static enum MHD_Result h_members(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    json_t *arr = json_array();
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT id, email, role, public_key, totp_secret IS NOT NULL, created, "
                      "(SELECT COUNT(*) FROM webauthn_credentials k WHERE k.member_id = members.id) "
                      "FROM members WHERE org_id = ?1 ORDER BY id", "")) {
        json_decref(arr);
        return server_error(c);
    }
    while (vg_db_step(st) == 1) {
        size_t n;
        const uint8_t *pk = vg_db_blob(st, 3, &n);
        char fp[48] = "", pkb[64] = "";
        /* Public keys are public: an admin's browser seals camera keys to them
         * (checking each against its fingerprint). */
        if (pk && n == VG_PK_LEN) { vg_key_fingerprint(pk, fp, sizeof fp); b64(pk, n, pkb, sizeof pkb); }
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:I,s:I}", "id", (json_int_t)vg_db_int(st, 0),
                              "email", vg_db_text(st, 1), "role", vg_db_text(st, 2), "fingerprint", fp,
                              "public_key", pkb, "totp", (int)vg_db_int(st, 4), "created",
                              (json_int_t)vg_db_int(st, 5), "security_keys", (json_int_t)vg_db_int(st, 6)));
    }
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "members", arr));
}

static enum MHD_Result h_member_invite(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    char tok[VG_TOKEN_B64_MAX], fp[48] = "";
    int64_t id;
    enum vg_role role = vg_role_parse(jstr(b, "role"));
    if (role != VG_ROLE_ADMIN && role != VG_ROLE_VIEWER) return bad(c, "bad_role");
    int rc = vg_auth_invite(w->auth, &r->ctx, jstr(b, "email"), role, vg_web_now(), tok, sizeof tok, &id);
    if (rc == VG_EINVAL) return bad(c, "bad_input");
    if (rc) return server_error(c);
    json_t *me = me_json(w, &r->ctx);
    if (me) snprintf(fp, sizeof fp, "%s", json_string_value(json_object_get(me, "fingerprint")));
    json_decref(me);
    enum MHD_Result res = vg_reply_json(c, MHD_HTTP_CREATED, json_pack("{s:I,s:s,s:s,s:I}", "id", (json_int_t)id,
                                        "token", tok, "inviter_fingerprint", fp, "expires_in", (json_int_t)VG_INVITE_TTL));
    sodium_memzero(tok, sizeof tok);
    return res;
}

static enum MHD_Result h_member_remove(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    enum vg_role role = VG_ROLE_NONE;
    char email[VG_EMAIL_MAX + 1] = "";
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT role, email FROM members WHERE org_id = ?1 AND id = ?2", "i", r->id))
        return server_error(c);
    if (vg_db_step(st) == 1) {
        role = vg_role_parse(vg_db_text(st, 0));
        snprintf(email, sizeof email, "%s", vg_db_text(st, 1));
    }
    vg_db_done(st);
    if (role == VG_ROLE_NONE) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (role == VG_ROLE_OWNER || r->id == r->ctx.member_id) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "forbidden");
    /* Sessions and camera keys of the member go with it (ON DELETE CASCADE). */
    if (vg_scope_run(&r->ctx.scope, "DELETE FROM members WHERE org_id = ?1 AND id = ?2", "i", r->id))
        return server_error(c);
    audit(r, "member.remove", json_pack("{s:I,s:s}", "id", (json_int_t)r->id, "email", email));
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

/* ---- sites and cameras ------------------------------------------------------------------ */

static enum MHD_Result h_sites(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    json_t *arr = json_array();
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT id, name FROM sites WHERE org_id = ?1 ORDER BY name", "")) {
        json_decref(arr);
        return server_error(c);
    }
    while (vg_db_step(st) == 1)
        json_array_append_new(arr, json_pack("{s:I,s:s}", "id", (json_int_t)vg_db_int(st, 0), "name", vg_db_text(st, 1)));
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "sites", arr));
}

static enum MHD_Result h_site_add(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    const char *name = jstr(b, "name");
    if (!vg_name_ok(name, VG_NAME_MAX)) return bad(c, "bad_name");
    int rc = vg_scope_run(&r->ctx.scope, "INSERT INTO sites(org_id, name, created) VALUES(?1, ?2, ?3)", "ti",
                          name, vg_web_now());
    if (rc == VG_EINVAL) return vg_reply_error(c, MHD_HTTP_CONFLICT, "exists");
    if (rc) return server_error(c);
    int64_t id = vg_db_last_id(w->db);
    audit(r, "site.add", json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", name));
    return vg_reply_json(c, MHD_HTTP_CREATED, json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", name));
}

/* rtsp:// or rtsps:// URL without userinfo (credentials travel separately and
 * are never echoed), printable ASCII only. */
static int camera_url_ok(const char *u)
{
    size_t n = u ? strlen(u) : 0;
    if (n < 8 || n > URL_MAX) return 0;
    if (strncmp(u, "rtsp://", 7) != 0 && strncmp(u, "rtsps://", 8) != 0) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f) return 0;
    const char *auth = strstr(u, "://") + 3;
    size_t alen = strcspn(auth, "/?#");
    return alen > 0 && memchr(auth, '@', alen) == NULL;
}

static int site_in_org(const vg_scope *s, int64_t site)
{
    return vg_scope_exists(s, "SELECT 1 FROM sites WHERE org_id = ?1 AND id = ?2", "i", site) > 0;
}

/* Columns: id, name, site_id, url, has_credentials, builtin, footage_pk, has_key, sub_url. */
static json_t *camera_json(vg_web *w, vg_stmt *st)
{
    int64_t id = vg_db_int(st, 0);
    int builtin = (int)vg_db_int(st, 5);
    json_t *o = json_pack("{s:I,s:s,s:s,s:b,s:b,s:b}", "id", (json_int_t)id, "name", vg_db_text(st, 1),
                          "url", vg_db_text(st, 3), "has_credentials", (int)vg_db_int(st, 4), "builtin", builtin,
                          "has_key", (int)vg_db_int(st, 7));
    json_object_set_new(o, "site_id", vg_db_is_null(st, 2) ? json_null() : json_integer(vg_db_int(st, 2)));
    size_t n;
    const uint8_t *pk = vg_db_blob(st, 6, &n);
    char pkb[64], fp[48];
    if (pk && n == VG_PK_LEN) {
        b64(pk, n, pkb, sizeof pkb);
        vg_key_fingerprint(pk, fp, sizeof fp);
        json_object_set_new(o, "footage_pk", json_string(pkb));
        json_object_set_new(o, "footage_fingerprint", json_string(fp));
    } else {
        json_object_set_new(o, "footage_pk", json_null());
        json_object_set_new(o, "footage_fingerprint", json_null());
    }
    /* Status from the recorder's snapshot; never credentials. */
    char name[64];
    vg_cam_status cs;
    vg_cam_store_name(id, builtin, name);
    if (w->rec && vg_recorder_status(w->rec, name, &cs) == 0) {
        json_object_set_new(o, "status", json_pack("{s:s,s:s,s:I,s:I,s:i,s:i,s:s,s:b}", "state", cs.state,
                            "detail", cs.detail, "since", (json_int_t)cs.since, "bitrate", (json_int_t)cs.bitrate,
                            "width", (int)cs.width, "height", (int)cs.height, "codec", cs.codec, "audio", cs.audio));
    } else {
        json_object_set_new(o, "status", json_pack("{s:s,s:s}", "state", "offline", "detail",
                            !w->rec ? "no recorder in this process" : pk ? "not recording" : "no footage key yet"));
    }
    vg_sub_json(w, o, name, vg_db_text(st, 8));
    return o;
}

static enum MHD_Result h_cameras(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    json_t *arr = json_array();
    int rc;
    /* Viewers see only the cameras they were given; credentials are never selected. */
    vg_cam_ensure_builtin(w, &r->ctx.scope);
    if (vg_role_allows(r->ctx.role, VG_ROLE_ADMIN))
        rc = vg_scope_prep(&r->ctx.scope, &st, "SELECT c.id, c.name, c.site_id, c.url, c.rtsp_password IS NOT NULL, "
                           "c.builtin, c.footage_pk, EXISTS(SELECT 1 FROM camera_keys k WHERE k.camera_id = c.id "
                           "AND k.member_id = ?2), c.sub_url FROM cameras c WHERE c.org_id = ?1 ORDER BY c.name", "i",
                           r->ctx.member_id);
    else
        rc = vg_scope_prep(&r->ctx.scope, &st, "SELECT c.id, c.name, c.site_id, c.url, c.rtsp_password IS NOT NULL, "
                           "c.builtin, c.footage_pk, EXISTS(SELECT 1 FROM camera_keys k WHERE k.camera_id = c.id "
                           "AND k.member_id = ?2), c.sub_url FROM cameras c WHERE c.org_id = ?1 AND c.id IN "
                           "(SELECT camera_id FROM member_cameras WHERE member_id = ?2 UNION "
                           "SELECT camera_id FROM camera_keys WHERE member_id = ?2) ORDER BY c.name", "i",
                           r->ctx.member_id);
    if (rc) { json_decref(arr); return server_error(c); }
    while (vg_db_step(st) == 1) json_array_append_new(arr, camera_json(w, st));
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "cameras", arr));
}

typedef struct cam_in {
    const char *name, *url, *user, *pass, *sub_url;
    int has_site, has_user, has_pass, has_sub;
    int64_t site;
} cam_in;

static int parse_camera(json_t *b, const vg_scope *s, cam_in *in, int partial)
{
    memset(in, 0, sizeof *in);
    json_t *site = json_object_get(b, "site_id");
    in->name = jstr(b, "name");
    in->url = jstr(b, "url");
    in->user = jstr(b, "username");
    in->pass = jstr(b, "password");
    in->has_user = json_object_get(b, "username") != NULL;
    in->has_pass = json_object_get(b, "password") != NULL;
    /* sub_url: like url (no userinfo: the row's credentials serve both); "" or null clears it. */
    in->sub_url = jstr(b, "sub_url");
    in->has_sub = json_object_get(b, "sub_url") != NULL;
    if (in->has_sub && !json_is_null(json_object_get(b, "sub_url")) &&
        (!in->sub_url || (in->sub_url[0] && !camera_url_ok(in->sub_url)))) return VG_EINVAL;
    if (in->sub_url && !in->sub_url[0]) in->sub_url = NULL;
    if ((!partial || in->name) && !vg_name_ok(in->name, VG_NAME_MAX)) return VG_EINVAL;
    if ((!partial || in->url) && !camera_url_ok(in->url)) return VG_EINVAL;
    if ((in->has_user && !in->user) || (in->user && strlen(in->user) > 256)) return VG_EINVAL;
    if ((in->has_pass && !in->pass) || (in->pass && strlen(in->pass) > 256)) return VG_EINVAL;
    if (site && !json_is_null(site)) {
        if (!json_is_integer(site) || !site_in_org(s, json_integer_value(site))) return VG_EINVAL;
        in->site = json_integer_value(site);
        in->has_site = 1;
    }
    return 0;
}

static int is_builtin(const vg_scope *s, int64_t id)
{
    vg_stmt *st;
    int yes = 0;
    if (vg_scope_prep(s, &st, "SELECT builtin FROM cameras WHERE org_id = ?1 AND id = ?2", "i", id)) return 0;
    if (vg_db_step(st) == 1) yes = vg_db_int(st, 0) != 0;
    vg_db_done(st);
    return yes;
}

static enum MHD_Result h_camera_add(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    cam_in in;
    if (!b || parse_camera(b, &r->ctx.scope, &in, 0)) return bad(c, "bad_input");
    if (!vg_platform_quota_ok(&r->ctx.scope)) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "quota_exceeded");
    int rc = vg_scope_run(&r->ctx.scope, "INSERT INTO cameras(org_id, site_id, name, url, rtsp_user, rtsp_password, "
                          "created, sub_url) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", "ntttti" "t", in.site, in.name,
                          in.url, in.user, in.pass, vg_web_now(), in.sub_url);
    int64_t id = vg_db_last_id(w->db);
    if (rc == VG_EINVAL) return vg_reply_error(c, MHD_HTTP_CONFLICT, "exists");
    if (rc) return server_error(c);
    audit(r, "camera.add", json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", in.name));
    vg_cam_sync(w, &r->ctx.scope, id);
    return vg_reply_json(c, MHD_HTTP_CREATED, json_pack("{s:I}", "id", (json_int_t)id));
}

static enum MHD_Result h_camera_edit(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    cam_in in;
    if (!b || parse_camera(b, &r->ctx.scope, &in, 1)) return bad(c, "bad_input");
    if ((in.url || in.has_sub) && is_builtin(&r->ctx.scope, r->id))
        return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "builtin");
    /* COALESCE keeps fields the request leaves out; credentials are replaced
     * only when given (an empty string clears them). */
    int rc = vg_scope_run(&r->ctx.scope,
        "UPDATE cameras SET name = COALESCE(?3, name), url = COALESCE(?4, url), "
        "site_id = CASE WHEN ?5 THEN ?6 ELSE site_id END, "
        "rtsp_user = CASE WHEN ?7 THEN NULLIF(?8, '') ELSE rtsp_user END, "
        "rtsp_password = CASE WHEN ?9 THEN NULLIF(?10, '') ELSE rtsp_password END, "
        "sub_url = CASE WHEN ?11 THEN ?12 ELSE sub_url END "
        "WHERE org_id = ?1 AND id = ?2", "ittinitit" "it", r->id, in.name, in.url,
        (int64_t)(json_object_get(b, "site_id") != NULL), in.site, (int64_t)in.has_user, in.user,
        (int64_t)in.has_pass, in.pass, (int64_t)in.has_sub, in.sub_url);
    if (rc == VG_EINVAL) return vg_reply_error(c, MHD_HTTP_CONFLICT, "exists");
    if (rc) return server_error(c);
    if (vg_db_changes(w->db) != 1) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    json_t *d = json_pack("{s:I}", "id", (json_int_t)r->id);
    const char *keys[] = {"name", "url", "site_id", "username", "password", "sub_url"};
    json_t *changed = json_array();
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_object_get(b, keys[i])) json_array_append_new(changed, json_string(keys[i]));
    json_object_set_new(d, "changed", changed);
    audit(r, "camera.edit", d);
    vg_cam_sync(w, &r->ctx.scope, r->id);
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

static enum MHD_Result h_camera_remove(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    if (is_builtin(&r->ctx.scope, r->id)) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "builtin");
    if (vg_scope_run(&r->ctx.scope, "DELETE FROM member_cameras WHERE org_id = ?1 AND camera_id = ?2", "i", r->id) ||
        vg_scope_run(&r->ctx.scope, "DELETE FROM cameras WHERE org_id = ?1 AND id = ?2", "i", r->id))
        return server_error(c);
    if (vg_db_changes(w->db) != 1) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    audit(r, "camera.remove", json_pack("{s:I}", "id", (json_int_t)r->id));
    vg_cam_sync(w, &r->ctx.scope, r->id);
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

/* ---- audit ------------------------------------------------------------------------------ */

enum MHD_Result vg_api_audit_list(vg_req *r, struct MHD_Connection *c, int with_hashes)
{
    vg_stmt *st;
    int64_t bad_seq = 0;
    uint8_t head[VG_AUDIT_HASH_LEN];
    char hex[2 * VG_AUDIT_HASH_LEN + 1];
    json_t *arr = json_array();
    int vrc = vg_audit_verify(&r->ctx.scope, &bad_seq, head);
    if (vg_scope_prep(&r->ctx.scope, &st, "SELECT seq, ts_ms, actor, action, detail, addr, hash FROM audit "
                      "WHERE org_id = ?1 ORDER BY seq DESC LIMIT 500", "")) {
        json_decref(arr);
        return server_error(c);
    }
    while (vg_db_step(st) == 1) {
        json_t *detail = json_loads(vg_db_text(st, 4), 0, NULL);
        json_t *e = json_pack("{s:I,s:I,s:s,s:s,s:o,s:s}", "seq", (json_int_t)vg_db_int(st, 0), "ts_ms",
                              (json_int_t)vg_db_int(st, 1), "actor", vg_db_text(st, 2), "action", vg_db_text(st, 3),
                              "detail", detail ? detail : json_object(), "addr", vg_db_text(st, 5));
        if (with_hashes) {
            size_t n;
            const uint8_t *h = vg_db_blob(st, 6, &n);
            hex[0] = 0;
            if (h && n == VG_AUDIT_HASH_LEN) sodium_bin2hex(hex, sizeof hex, h, n);
            json_object_set_new(e, "hash", json_string(hex));
        }
        json_array_append_new(arr, e);
    }
    vg_db_done(st);
    sodium_bin2hex(hex, sizeof hex, head, sizeof head);
    json_t *o = json_pack("{s:o,s:s,s:b}", "entries", arr, "head", hex, "verified", vrc == 0);
    if (with_hashes && vrc) json_object_set_new(o, "first_bad_seq", json_integer(bad_seq));
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result h_audit(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    return vg_api_audit_list(r, c, 1);
}

enum MHD_Result vg_api_session_result(vg_web *w, vg_req *r, struct MHD_Connection *c, int rc, unsigned auth_status,
                                      const char *auth_error, unsigned ok_status, char *sid)
{
    return session_result(w, r, c, rc, auth_status, auth_error, ok_status, sid);
}

/* ---- the table ---------------------------------------------------------------------------- */

static const vg_web_route routes[] = {
    {"GET", "/api/setup/status", 0, VG_PUBLIC, VG_ROLE_NONE, h_setup_status, NULL},
    {"POST", "/api/setup", 0, VG_PUBLIC, VG_ROLE_NONE, h_setup, NULL},
    {"GET", "/api/setup/invite", 0, VG_PUBLIC, VG_ROLE_NONE, h_invite_info, NULL},
    {"POST", "/api/setup/invite", 0, VG_PUBLIC, VG_ROLE_NONE, h_invite_accept, NULL},
    {"GET", "/api/login/params", 0, VG_PUBLIC, VG_ROLE_NONE, h_login_params, NULL},
    {"POST", "/api/login", 0, VG_PUBLIC, VG_ROLE_NONE, h_login, NULL},
    {"POST", "/api/logout", 0, VG_SESSION, VG_ROLE_NONE, h_logout, NULL},   /* any signed-in account */
    {"GET", "/api/me", 0, VG_SESSION, VG_ROLE_NONE, h_me, NULL},
    {"GET", "/api/members", 0, VG_SESSION, VG_ROLE_ADMIN, h_members, NULL},
    {"POST", "/api/members", 0, VG_SESSION, VG_ROLE_ADMIN, h_member_invite, NULL},
    {"DELETE", "/api/members/", 1, VG_SESSION, VG_ROLE_ADMIN, h_member_remove, NULL},
    {"GET", "/api/sites", 0, VG_SESSION, VG_ROLE_VIEWER, h_sites, NULL},
    {"POST", "/api/sites", 0, VG_SESSION, VG_ROLE_ADMIN, h_site_add, NULL},
    {"GET", "/api/cameras", 0, VG_SESSION, VG_ROLE_VIEWER, h_cameras, NULL},
    {"POST", "/api/cameras", 0, VG_SESSION, VG_ROLE_ADMIN, h_camera_add, NULL},
    {"PATCH", "/api/cameras/", 1, VG_SESSION, VG_ROLE_ADMIN, h_camera_edit, NULL},
    {"DELETE", "/api/cameras/", 1, VG_SESSION, VG_ROLE_ADMIN, h_camera_remove, NULL},
    {"GET", "/api/audit", 0, VG_SESSION, VG_ROLE_ADMIN, h_audit, NULL},
    /* camera keys, playback and live (docs/design/live.md) */
    {"PUT", "/api/cameras/", 1, VG_SESSION, VG_ROLE_ADMIN, vg_h_key_put, "/key"},
    {"GET", "/api/cameras/", 1, VG_SESSION, VG_ROLE_VIEWER, vg_h_key_get, "/key"},
    {"POST", "/api/cameras/", 1, VG_SESSION, VG_ROLE_ADMIN, vg_h_key_wrap, "/key/wrap"},
    {"GET", "/api/cameras/", 1, VG_SESSION, VG_ROLE_VIEWER, vg_h_recordings, "/recordings"},
    {"GET", "/api/segments/", 1, VG_SESSION, VG_ROLE_VIEWER, vg_h_segment, NULL},
    {"GET", "/api/segments/", 1, VG_SESSION, VG_ROLE_VIEWER, vg_h_segment_data, "/data"},
    {"GET", "/api/live", 0, VG_SESSION, VG_ROLE_VIEWER, vg_h_live, NULL},
    {"POST", "/api/audit/export", 0, VG_SESSION, VG_ROLE_VIEWER, vg_h_export, NULL},
};

const vg_web_route *vg_api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
