/* SPDX-License-Identifier: Apache-2.0 */
/* WebAuthn routes (docs/api.md, docs/design/webauthn.md): the second step of
 * a login, a member's own security keys (add, name, list, remove) and the
 * organization's second-factor policy. The relying party id is the host of
 * the origin the browser is on (one of the server's origins, checked by the
 * pipeline for POST and again in clientDataJSON). */
#include "web/web_int.h"
#include "auth/audit.h"
#include "auth/mfa.h"
#include "core/err.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WA_FIELD_MAX 16384   /* decoded bytes of one base64url field */

static void b64(const uint8_t *p, size_t n, char *out, size_t outsz)
{
    sodium_bin2base64(out, outsz, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static json_t *jb64(const uint8_t *p, size_t n)
{
    char out[2 * VG_WA_CRED_ID_MAX];
    if (n > VG_WA_CRED_ID_MAX) return json_null();
    b64(p, n, out, sizeof out);
    return json_string(out);
}

/* A base64url field of at most max bytes into a new buffer (freed by the caller). */
static uint8_t *b64_field(json_t *b, const char *k, size_t max, size_t *len)
{
    const char *s = vg_api_jstr(b, k), *end = NULL;
    if (!s || !*s || strlen(s) > max / 3 * 4 + 4) return NULL;
    uint8_t *out = malloc(max);
    if (!out) return NULL;
    if (sodium_base642bin(out, max, s, strlen(s), NULL, len, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
        *end || *len == 0) {
        free(out);
        return NULL;
    }
    return out;
}

static int origins_of(const vg_web *w, const char *origins[VG_WEB_MAX_ORIGINS])
{
    for (int i = 0; i < w->n_origins; i++) origins[i] = w->origins[i];
    return w->n_origins;
}

/* rpId: the host of the request's Origin, which the pipeline matched
 * against ours for every POST. */
static int rp_id(struct MHD_Connection *c, char *out, size_t outsz)
{
    const char *o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!o || strncmp(o, "https://", 8) != 0) return VG_EINVAL;
    const char *h = o + 8, *end;
    if (*h == '[') { h++; end = strchr(h, ']'); } else { end = strchr(h, ':'); if (!end) end = h + strlen(h); }
    if (!end || end == h || (size_t)(end - h) >= outsz) return VG_EINVAL;
    memcpy(out, h, (size_t)(end - h));
    out[end - h] = 0;
    return 0;
}

/* The member's credentials as a PublicKeyCredentialDescriptor list. */
static json_t *descriptors(const vg_scope *s, int64_t member)
{
    vg_stmt *st;
    json_t *arr = json_array();
    if (vg_scope_prep(s, &st, "SELECT cred_id FROM webauthn_credentials WHERE org_id = ?1 AND member_id = ?2 "
                      "ORDER BY id", "i", member))
        return arr;
    while (vg_db_step(st) == 1) {
        size_t n;
        const uint8_t *id = vg_db_blob(st, 0, &n);
        if (id) json_array_append_new(arr, json_pack("{s:s,s:o}", "type", "public-key", "id", jb64(id, n)));
    }
    vg_db_done(st);
    return arr;
}

/* ---- login, step 2 ------------------------------------------------------------ */

/* Called by the password step (api.c) when vg_auth_login answered
 * VG_AUTH_NEED_WEBAUTHN: a pending login and its challenge. 401 so that a
 * client that does not know the step sees a refusal, not a session. */
enum MHD_Result vg_webauthn_login_begin(vg_web *w, vg_req *r, struct MHD_Connection *c)
{
    char tok[VG_TOKEN_B64_MAX], rp[VG_WA_ORIGIN_MAX], cb[64];
    uint8_t chal[VG_WA_CHALLENGE_LEN];
    vg_mfa_policy p;
    if (rp_id(c, rp, sizeof rp) || vg_mfa_policy_get(w->db, r->ctx.scope.org_id, &p) ||
        vg_mfa_login_begin(w->db, &r->ctx, vg_web_now(), tok, sizeof tok, chal))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    b64(chal, sizeof chal, cb, sizeof cb);
    json_t *o = json_pack("{s:s,s:s,s:b,s:{s:s,s:s,s:i,s:s,s:o}}", "error", "webauthn_required", "login_token", tok,
                          "totp_allowed", p.allow_totp, "publicKey", "challenge", cb, "rpId", rp, "timeout",
                          VG_MFA_CHALLENGE_TTL * 1000, "userVerification", p.require_uv ? "required" : "preferred",
                          "allowCredentials", descriptors(&r->ctx.scope, r->ctx.member_id));
    sodium_memzero(tok, sizeof tok);
    memset(&r->ctx, 0, sizeof r->ctx);   /* no session: nothing may act as this member yet */
    return vg_reply_json(c, MHD_HTTP_UNAUTHORIZED, o);
}

static enum MHD_Result h_login_webauthn(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    const char *origins[VG_WEB_MAX_ORIGINS];
    char sid[VG_TOKEN_B64_MAX];
    vg_mfa_assertion as;
    int retry = 0, rc = VG_EINVAL;
    uint8_t *cid = b64_field(b, "credential_id", VG_WA_CRED_ID_MAX, &as.cred_id_len);
    uint8_t *ad = b64_field(b, "authenticator_data", 4096, &as.ad_len);
    uint8_t *cdj = b64_field(b, "client_data_json", 8192, &as.cdj_len);
    uint8_t *sig = b64_field(b, "signature", 512, &as.sig_len);
    const char *tok = vg_api_jstr(b, "login_token");
    memset(sid, 0, sizeof sid);
    if (cid && ad && cdj && sig && tok) {
        as.cred_id = cid; as.auth_data = ad; as.cdj = cdj; as.sig = sig;
        if (r->sid[0]) (void)vg_auth_logout(w->auth, r->sid);   /* rotate, as the password step does */
        rc = vg_mfa_login_finish(w->auth, tok, &as, origins, origins_of(w, origins), r->addr, vg_web_now(), sid,
                                 sizeof sid, &r->ctx, &retry);
    }
    free(cid); free(ad); free(cdj); free(sig);
    if (rc == VG_EAGAIN) return vg_reply_retry(c, retry);
    return vg_api_session_result(w, r, c, rc, MHD_HTTP_UNAUTHORIZED, "bad_credentials", MHD_HTTP_OK, sid);
}

/* ---- a key at invitation (the member does not exist yet) --------------------------- */

static enum MHD_Result h_invite_options(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    char rp[VG_WA_ORIGIN_MAX], cb[64], ub[64];
    uint8_t chal[VG_WA_CHALLENGE_LEN], bind[32], user[16];
    vg_invite_info in;
    vg_mfa_policy p;
    const char *tok = vg_api_jstr(b, "token");
    if (rp_id(c, rp, sizeof rp)) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_origin");
    if (vg_auth_invite_info(w->auth, tok, vg_web_now(), &in)) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "bad_token");
    vg_mfa_bind(tok, bind);
    if (vg_mfa_policy_get(w->db, in.org_id, &p) ||
        vg_mfa_challenge_new(w->db, in.org_id, 0, "invite", bind, vg_web_now(), chal))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    randombytes_buf(user, sizeof user);
    b64(chal, sizeof chal, cb, sizeof cb);
    b64(user, sizeof user, ub, sizeof ub);
    json_t *pk = json_pack("{s:s,s:{s:s,s:s},s:{s:s,s:s,s:s},s:[{s:s,s:i},{s:s,s:i}],s:i,s:s,s:{s:s,s:s},s:[]}",
        "challenge", cb, "rp", "id", rp, "name", "vigil", "user", "id", ub, "name", in.email, "displayName", in.email,
        "pubKeyCredParams", "type", "public-key", "alg", VG_WA_EDDSA, "type", "public-key", "alg", VG_WA_ES256,
        "timeout", VG_MFA_CHALLENGE_TTL * 1000, "attestation", "none", "authenticatorSelection", "residentKey",
        "preferred", "userVerification", p.require_uv ? "required" : "preferred", "excludeCredentials");
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "publicKey", pk));
}

int vg_webauthn_invite_key(vg_web *w, json_t *b, vg_member_keys *k)
{
    const char *origins[VG_WEB_MAX_ORIGINS];
    json_t *wa = json_object_get(b, "webauthn");
    size_t al = 0, cl = 0;
    k->webauthn = NULL;
    if (!wa) return 0;
    const char *name = vg_api_jstr(wa, "name");
    uint8_t *att = b64_field(wa, "attestation_object", WA_FIELD_MAX, &al);
    uint8_t *cdj = b64_field(wa, "client_data_json", 8192, &cl);
    vg_wa_cred *cred = malloc(sizeof *cred);
    int rc = VG_EINVAL;
    if (att && cdj && cred && json_is_object(wa))
        rc = vg_mfa_invite_verify(w->db, vg_api_jstr(b, "token"), att, al, cdj, cl, origins, origins_of(w, origins),
                                  vg_web_now(), cred);
    free(att);
    free(cdj);
    if (rc) { free(cred); return rc; }
    k->webauthn = cred;
    k->webauthn_name = name && *name ? name : "Security key";
    return 0;
}

/* ---- the member's own keys ---------------------------------------------------------- */

static int has_totp(const vg_scope *s, int64_t member)
{
    vg_stmt *st;
    int yes = 0;
    if (vg_scope_prep(s, &st, "SELECT totp_secret IS NOT NULL FROM members WHERE org_id = ?1 AND id = ?2", "i",
                      member))
        return 0;
    if (vg_db_step(st) == 1) yes = vg_db_int(st, 0) != 0;
    vg_db_done(st);
    return yes;
}

static enum MHD_Result h_keys(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st;
    vg_mfa_policy p;
    if (vg_mfa_policy_get(w->db, r->ctx.scope.org_id, &p) ||
        vg_scope_prep(&r->ctx.scope, &st, "SELECT id, name, alg, created, last_used FROM webauthn_credentials "
                      "WHERE org_id = ?1 AND member_id = ?2 ORDER BY id", "i", r->ctx.member_id))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    json_t *arr = json_array();
    while (vg_db_step(st) == 1) {
        int alg = (int)vg_db_int(st, 2);
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:I,s:o}", "id", (json_int_t)vg_db_int(st, 0), "name",
                              vg_db_text(st, 1), "alg", alg == VG_WA_ES256 ? "ES256" : alg == VG_WA_EDDSA ? "EdDSA" : "?",
                              "created", (json_int_t)vg_db_int(st, 3), "last_used",
                              vg_db_is_null(st, 4) ? json_null() : json_integer(vg_db_int(st, 4))));
    }
    vg_db_done(st);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o,s:b,s:b,s:b,s:b}", "credentials", arr, "totp",
                         has_totp(&r->ctx.scope, r->ctx.member_id), "allow_totp", p.allow_totp, "require_uv",
                         p.require_uv, "second_factor_required", vg_mfa_required(r->ctx.role)));
}

static enum MHD_Result h_register_options(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    char rp[VG_WA_ORIGIN_MAX], cb[64], ub[64];
    uint8_t chal[VG_WA_CHALLENGE_LEN], bind[32], user[16];
    vg_mfa_policy p;
    if (rp_id(c, rp, sizeof rp)) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_origin");
    vg_mfa_bind(r->sid, bind);
    if (vg_mfa_policy_get(w->db, r->ctx.scope.org_id, &p) ||
        vg_mfa_challenge_new(w->db, r->ctx.scope.org_id, r->ctx.member_id, "register", bind, vg_web_now(), chal))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    /* The user handle is opaque and stable per account (WebAuthn §14.6.1:
     * no email in it). */
    char seed[64];
    snprintf(seed, sizeof seed, "vigil-user:%lld:%lld", (long long)r->ctx.scope.org_id, (long long)r->ctx.member_id);
    crypto_generichash(user, sizeof user, (const uint8_t *)seed, strlen(seed), NULL, 0);
    b64(chal, sizeof chal, cb, sizeof cb);
    b64(user, sizeof user, ub, sizeof ub);
    json_t *pk = json_pack("{s:s,s:{s:s,s:s},s:{s:s,s:s,s:s},s:[{s:s,s:i},{s:s,s:i}],s:i,s:s,s:{s:s,s:s},s:o}",
        "challenge", cb, "rp", "id", rp, "name", "vigil", "user", "id", ub, "name", r->ctx.email, "displayName",
        r->ctx.email, "pubKeyCredParams", "type", "public-key", "alg", VG_WA_EDDSA, "type", "public-key", "alg",
        VG_WA_ES256, "timeout", VG_MFA_CHALLENGE_TTL * 1000, "attestation", "none", "authenticatorSelection",
        "residentKey", "preferred", "userVerification", p.require_uv ? "required" : "preferred",
        "excludeCredentials", descriptors(&r->ctx.scope, r->ctx.member_id));
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "publicKey", pk));
}

static enum MHD_Result h_register(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    const char *origins[VG_WEB_MAX_ORIGINS];
    uint8_t bind[32];
    size_t al = 0, cl = 0;
    int64_t id = 0;
    const char *name = vg_api_jstr(b, "name");
    uint8_t *att = b64_field(b, "attestation_object", WA_FIELD_MAX, &al);
    uint8_t *cdj = b64_field(b, "client_data_json", 8192, &cl);
    int rc = VG_EINVAL;
    vg_mfa_bind(r->sid, bind);
    if (att && cdj)
        rc = vg_mfa_register(&r->ctx, bind, att, al, cdj, cl, name && *name ? name : "Security key", origins,
                             origins_of(w, origins), vg_web_now(), &id);
    free(att);
    free(cdj);
    if (rc == VG_EAUTH) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "webauthn_refused");
    if (rc == VG_EUNSUPPORTED) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "unsupported_authenticator");
    if (rc == VG_ETOOBIG) return vg_reply_error(c, MHD_HTTP_CONFLICT, "too_many_keys");
    if (rc == VG_EINVAL) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_input");
    if (rc) return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    return vg_reply_json(c, MHD_HTTP_CREATED, json_pack("{s:I}", "id", (json_int_t)id));
}

static enum MHD_Result h_key_rename(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    const char *name = vg_api_jstr(b, "name");
    if (!vg_name_ok(name, VG_MFA_KEY_NAME_MAX)) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_name");
    if (vg_scope_run(&r->ctx.scope, "UPDATE webauthn_credentials SET name = ?4 WHERE org_id = ?1 AND id = ?2 "
                     "AND member_id = ?3", "iit", r->id, r->ctx.member_id, name))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    if (vg_db_changes(w->db) != 1) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    vg_api_audit(r, "webauthn.rename", json_pack("{s:I,s:s}", "credential", (json_int_t)r->id, "name", name));
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

/* Removing a key must leave the member an allowed second factor if they had
 * one: another key, or TOTP where the organization allows it. */
static enum MHD_Result h_key_remove(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_mfa_policy p;
    int n = 0;
    if (vg_mfa_policy_get(w->db, r->ctx.scope.org_id, &p) ||
        vg_mfa_key_count(w->db, r->ctx.scope.org_id, r->ctx.member_id, &n) || vg_db_begin(w->db))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    if (vg_scope_run(&r->ctx.scope, "DELETE FROM webauthn_credentials WHERE org_id = ?1 AND id = ?2 AND member_id = ?3",
                     "ii", r->id, r->ctx.member_id)) {
        vg_db_rollback(w->db);
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    }
    if (vg_db_changes(w->db) != 1) { vg_db_rollback(w->db); return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found"); }
    if (n - 1 == 0 && !(p.allow_totp && has_totp(&r->ctx.scope, r->ctx.member_id))) {
        vg_db_rollback(w->db);
        return vg_reply_error(c, MHD_HTTP_CONFLICT, "last_factor");
    }
    if (vg_db_commit(w->db)) return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    vg_api_audit(r, "webauthn.remove", json_pack("{s:I}", "credential", (json_int_t)r->id));
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}

/* ---- the organization's policy (owner) -------------------------------------------- */

static enum MHD_Result h_policy_get(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_mfa_policy p;
    if (vg_mfa_policy_get(w->db, r->ctx.scope.org_id, &p))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:b,s:b}", "allow_totp", p.allow_totp, "require_uv", p.require_uv));
}

/* Members who would be locked out without TOTP: those who must have a second
 * factor or have TOTP, and have no security key. */
static json_t *without_key(const vg_scope *s)
{
    vg_stmt *st;
    json_t *arr = json_array();
    if (vg_scope_prep(s, &st, "SELECT m.email FROM members m WHERE m.org_id = ?1 AND "
                      "(m.role IN ('owner','admin','support','operator') OR m.totp_secret IS NOT NULL) AND NOT EXISTS "
                      "(SELECT 1 FROM webauthn_credentials k WHERE k.member_id = m.id) ORDER BY m.email", ""))
        return arr;
    while (vg_db_step(st) == 1) json_array_append_new(arr, json_string(vg_db_text(st, 0)));
    vg_db_done(st);
    return arr;
}

static enum MHD_Result h_policy_put(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_mfa_policy p;
    json_t *at = json_object_get(b, "allow_totp"), *uv = json_object_get(b, "require_uv");
    if ((at && !json_is_boolean(at)) || (uv && !json_is_boolean(uv)) || (!at && !uv))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_input");
    if (vg_mfa_policy_get(w->db, r->ctx.scope.org_id, &p))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    if (at) p.allow_totp = json_is_true(at);
    if (uv) p.require_uv = json_is_true(uv);
    if (!p.allow_totp) {
        json_t *missing = without_key(&r->ctx.scope);
        if (json_array_size(missing))
            return vg_reply_json(c, MHD_HTTP_CONFLICT, json_pack("{s:s,s:o}", "error", "members_without_key",
                                                                 "members", missing));
        json_decref(missing);
    }
    if (vg_scope_run(&r->ctx.scope, "INSERT INTO org_security(org_id, allow_totp, require_uv) VALUES(?1, ?2, ?3) "
                     "ON CONFLICT(org_id) DO UPDATE SET allow_totp = ?2, require_uv = ?3", "ii",
                     (int64_t)p.allow_totp, (int64_t)p.require_uv))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    vg_api_audit(r, "org.security", json_pack("{s:b,s:b}", "allow_totp", p.allow_totp, "require_uv", p.require_uv));
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:b,s:b}", "allow_totp", p.allow_totp, "require_uv", p.require_uv));
}

/* The key routes are about the caller's own account: every role, platform
 * roles (support, operator) included (VG_ROLE_NONE on a session route). */
static const vg_web_route routes[] = {
    {"POST", "/api/login/webauthn", 0, VG_PUBLIC, VG_ROLE_NONE, h_login_webauthn, NULL},
    {"POST", "/api/setup/invite/webauthn", 0, VG_PUBLIC, VG_ROLE_NONE, h_invite_options, NULL},
    {"GET", "/api/webauthn/credentials", 0, VG_SESSION, VG_ROLE_NONE, h_keys, NULL},
    {"POST", "/api/webauthn/credentials", 0, VG_SESSION, VG_ROLE_NONE, h_register, NULL},
    {"POST", "/api/webauthn/register/options", 0, VG_SESSION, VG_ROLE_NONE, h_register_options, NULL},
    {"PATCH", "/api/webauthn/credentials/", 1, VG_SESSION, VG_ROLE_NONE, h_key_rename, NULL},
    {"DELETE", "/api/webauthn/credentials/", 1, VG_SESSION, VG_ROLE_NONE, h_key_remove, NULL},
    {"GET", "/api/security/policy", 0, VG_SESSION, VG_ROLE_ADMIN, h_policy_get, NULL},
    {"PUT", "/api/security/policy", 0, VG_SESSION, VG_ROLE_OWNER, h_policy_put, NULL},
};

const vg_web_route *vg_webauthn_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
