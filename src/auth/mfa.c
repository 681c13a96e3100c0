/* SPDX-License-Identifier: Apache-2.0 */
/* Second-factor policy, WebAuthn credentials and challenges, login step 2.
 *
 * Invariants:
 *  1. A challenge is used at most once: it is deleted when taken, before
 *     the signature is looked at, whatever the outcome; it dies after
 *     VG_MFA_CHALLENGE_TTL seconds, and it only answers the ceremony it was
 *     bound to (a pending login's token, a session, an invitation).
 *  2. Step 2 of a login is throttled like step 1 (same account and address
 *     keys, checked before the signature) and every refusal is audited.
 *  3. A signature counter that does not grow is refused and audited
 *     (webauthn.counter_regression); the stored counter only moves forward
 *     (compare-and-set on the old value).
 *  4. Credential rows are reached through the member's organization. */
#include "auth/mfa.h"
#include "auth/audit.h"
#include "core/err.h"
#include "core/log.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int vg_mfa_required(enum vg_role r)
{
    return r == VG_ROLE_OWNER || r == VG_ROLE_ADMIN || r == VG_ROLE_SUPPORT || r == VG_ROLE_OPERATOR;
}

int vg_mfa_policy_get(vg_db *db, int64_t org, vg_mfa_policy *p)
{
    vg_stmt *st;
    vg_scope s = {db, org};
    p->allow_totp = 1;
    p->require_uv = 0;
    int rc = vg_scope_prep(&s, &st, "SELECT allow_totp, require_uv FROM org_security WHERE org_id = ?1", "");
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) {
        p->allow_totp = vg_db_int(st, 0) != 0;
        p->require_uv = vg_db_int(st, 1) != 0;
    }
    vg_db_done(st);
    return rc < 0 ? rc : 0;
}

int vg_mfa_key_count(vg_db *db, int64_t org, int64_t member, int *n)
{
    vg_stmt *st;
    vg_scope s = {db, org};
    *n = 0;
    int rc = vg_scope_prep(&s, &st, "SELECT COUNT(*) FROM webauthn_credentials WHERE org_id = ?1 AND member_id = ?2",
                           "i", member);
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) *n = (int)vg_db_int(st, 0);
    vg_db_done(st);
    return rc < 0 ? rc : 0;
}

int vg_mfa_factor(vg_db *db, int64_t org, int64_t member, enum vg_role role, int has_totp, int code_given)
{
    vg_mfa_policy p;
    int keys = 0;
    /* On a database error nothing is known: refuse rather than skip a factor. */
    if (vg_mfa_policy_get(db, org, &p) || vg_mfa_key_count(db, org, member, &keys)) return VG_MFA_REFUSE;
    int totp_ok = has_totp && p.allow_totp;
    if (code_given && totp_ok) return VG_MFA_TOTP;
    if (keys > 0) return VG_MFA_WEBAUTHN;
    if (totp_ok) return VG_MFA_TOTP;
    return vg_mfa_required(role) ? VG_MFA_REFUSE : VG_MFA_NONE;
}

void vg_mfa_bind(const char *text, uint8_t out[32])
{
    const char *t = text ? text : "";
    crypto_generichash(out, 32, (const uint8_t *)t, strlen(t), NULL, 0);
}

int vg_mfa_challenge_new(vg_db *db, int64_t org, int64_t member, const char *purpose, const uint8_t bind[32],
                         int64_t now, uint8_t chal[VG_WA_CHALLENGE_LEN])
{
    vg_scope s = {db, org};
    randombytes_buf(chal, VG_WA_CHALLENGE_LEN);
    (void)vg_db_run(db, "DELETE FROM webauthn_challenges WHERE expires <= ?1", "i", now);
    /* A newer ceremony of the same kind replaces an unfinished one. */
    (void)vg_db_run(db, "DELETE FROM webauthn_challenges WHERE bind_hash = ?1 AND purpose = ?2", "bt", bind,
                    (size_t)32, purpose);
    return vg_scope_run(&s, "INSERT INTO webauthn_challenges(org_id, member_id, purpose, bind_hash, challenge, expires) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6)", "ntbbi", member, purpose, bind, (size_t)32, chal,
                        (size_t)VG_WA_CHALLENGE_LEN, now + VG_MFA_CHALLENGE_TTL);
}

int vg_mfa_challenge_take(vg_db *db, const char *purpose, const uint8_t bind[32], int64_t now, int64_t *org,
                          int64_t *member, uint8_t chal[VG_WA_CHALLENGE_LEN])
{
    vg_stmt *st;
    int rc = vg_db_prep(db, &st, "DELETE FROM webauthn_challenges WHERE bind_hash = ?1 AND purpose = ?2 "
                        "RETURNING org_id, member_id, challenge, expires", "bt", bind, (size_t)32, purpose);
    if (rc) return rc;
    rc = vg_db_step(st);
    int found = 0;
    if (rc == 1) {
        size_t n;
        const uint8_t *c = vg_db_blob(st, 2, &n);
        if (c && n == VG_WA_CHALLENGE_LEN && vg_db_int(st, 3) > now) {
            *org = vg_db_int(st, 0);
            *member = vg_db_int(st, 1);
            memcpy(chal, c, VG_WA_CHALLENGE_LEN);
            found = 1;
        }
        while (vg_db_step(st) == 1) {}   /* finish the DELETE */
    }
    vg_db_done(st);
    if (rc < 0) return rc;
    return found ? 0 : VG_EAUTH;
}

/* ---- login step 2 -------------------------------------------------------------- */

int vg_mfa_login_begin(vg_db *db, const vg_ctx *ctx, int64_t now, char *token_out, size_t toksz,
                       uint8_t chal[VG_WA_CHALLENGE_LEN])
{
    uint8_t raw[VG_TOKEN_LEN], bind[32];
    if (toksz < VG_TOKEN_B64_MAX) return VG_EINVAL;
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token_out, toksz, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    vg_mfa_bind(token_out, bind);
    int rc = vg_mfa_challenge_new(db, ctx->scope.org_id, ctx->member_id, "login", bind, now, chal);
    /* A few pending logins per member (tabs, devices), not one per request:
     * whoever knows the password cannot fill the table. */
    if (!rc)
        (void)vg_db_run(db, "DELETE FROM webauthn_challenges WHERE purpose = 'login' AND member_id = ?1 AND id NOT IN "
                        "(SELECT id FROM webauthn_challenges WHERE purpose = 'login' AND member_id = ?1 "
                        "ORDER BY id DESC LIMIT ?2)", "ii", ctx->member_id, (int64_t)VG_MFA_PENDING_MAX);
    return rc;
}

typedef struct who {
    char email[VG_EMAIL_MAX + 1];
    enum vg_role role;
    int active;
} who;

static int member_who(vg_db *db, int64_t org, int64_t member, who *w)
{
    vg_stmt *st;
    vg_scope s = {db, org};
    memset(w, 0, sizeof *w);
    int rc = vg_scope_prep(&s, &st, "SELECT m.email, m.role, o.state FROM members m JOIN organizations o "
                           "ON o.id = m.org_id WHERE m.org_id = ?1 AND m.id = ?2", "i", member);
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) {
        const char *state = vg_db_text(st, 2);
        snprintf(w->email, sizeof w->email, "%s", vg_db_text(st, 0));
        w->role = vg_role_parse(vg_db_text(st, 1));
        w->active = state && strcmp(state, "active") == 0;
        rc = 0;
    } else if (rc == 0) {
        rc = VG_EAUTH;
    }
    vg_db_done(st);
    return rc;
}

typedef struct stored_cred {
    int64_t id;
    uint32_t count;
    uint8_t cose[VG_WA_COSE_MAX];
    size_t cose_len;
} stored_cred;

static int cred_find(const vg_scope *s, int64_t member, const uint8_t *cid, size_t cid_len, stored_cred *c)
{
    vg_stmt *st;
    int rc = vg_scope_prep(s, &st, "SELECT id, sign_count, cose_key FROM webauthn_credentials "
                           "WHERE org_id = ?1 AND member_id = ?2 AND cred_id = ?3", "ib", member, cid, cid_len);
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) {
        size_t n;
        const uint8_t *k = vg_db_blob(st, 2, &n);
        c->id = vg_db_int(st, 0);
        c->count = (uint32_t)vg_db_int(st, 1);
        rc = k && n <= sizeof c->cose ? 0 : VG_EINVAL;
        if (!rc) { memcpy(c->cose, k, n); c->cose_len = n; }
    } else if (rc == 0) {
        rc = VG_EAUTH;
    }
    vg_db_done(st);
    return rc;
}

static void audit_json(const vg_scope *s, int64_t member, const char *email, const char *action, const char *addr,
                       int64_t now, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void audit_json(const vg_scope *s, int64_t member, const char *email, const char *action, const char *addr,
                       int64_t now, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (vg_audit_add(s, member, email, action, detail, addr, now * 1000))
        vg_error("auth", "audit append failed (%s)", action);
}

int vg_mfa_login_finish(vg_auth *a, const char *token, const vg_mfa_assertion *as, const char *const *origins,
                        int n_origins, const char *addr, int64_t now, char *sid_out, size_t sidsz, vg_ctx *ctx,
                        int *retry_after)
{
    vg_db *db = vg_auth_db(a);
    uint8_t bind[32], chal[VG_WA_CHALLENGE_LEN];
    int64_t org = 0, member = 0;
    who w;
    stored_cred c = {0};
    const char *why = "signature";
    *retry_after = 0;
    int rc = vg_auth_throttle(a, NULL, addr, now, retry_after);
    if (rc) return rc;
    if (!token || strlen(token) != 43) return VG_EAUTH;
    vg_mfa_bind(token, bind);
    rc = vg_mfa_challenge_take(db, "login", bind, now, &org, &member, chal);
    if (rc == VG_EAUTH) { vg_auth_throttle_fail(a, NULL, addr, now); return rc; }
    if (rc) return rc;
    if ((rc = member_who(db, org, member, &w))) return rc;
    vg_scope s = {db, org};
    if ((rc = vg_auth_throttle(a, w.email, addr, now, retry_after))) return rc;
    vg_mfa_policy p;
    if ((rc = vg_mfa_policy_get(db, org, &p))) return rc;
    vg_wa_expect e = {chal, origins, n_origins, p.require_uv};
    uint32_t count = 0;
    int uv = 0;
    rc = w.active ? cred_find(&s, member, as->cred_id, as->cred_id_len, &c) : VG_EAUTH;
    if (rc == VG_EAUTH) why = w.active ? "credential" : "inactive";
    if (!rc) rc = vg_wa_assert(as->auth_data, as->ad_len, as->cdj, as->cdj_len, as->sig, as->sig_len, c.cose,
                               c.cose_len, &e, &count, &uv);
    if (!rc && !vg_wa_counter_ok(c.count, count)) {
        /* Two authenticators answer for one credential: a clone. */
        audit_json(&s, member, w.email, "webauthn.counter_regression", addr, now,
                   "{\"credential\":%lld,\"stored\":%u,\"received\":%u}", (long long)c.id, c.count, count);
        vg_warn("auth", "signature counter went back for a credential of member %lld", (long long)member);
        why = "counter";
        rc = VG_EAUTH;
    }
    if (!rc) {
        rc = vg_scope_run(&s, "UPDATE webauthn_credentials SET sign_count = ?3, last_used = ?4 "
                          "WHERE org_id = ?1 AND id = ?2 AND sign_count = ?5", "iiii", c.id, (int64_t)count, now,
                          (int64_t)c.count);
        if (!rc && vg_db_changes(db) != 1) { why = "counter"; rc = VG_EAUTH; }   /* a concurrent login won */
    }
    if (rc && rc != VG_EAUTH && rc != VG_ECRYPTO && rc != VG_EINVAL) return rc;
    if (rc) {
        vg_auth_throttle_fail(a, w.email, addr, now);
        audit_json(&s, member, w.email, "login.fail", addr, now, "{\"factor\":\"webauthn\",\"reason\":\"%s\"}", why);
        return VG_EAUTH;
    }
    rc = vg_auth_session_begin(a, org, member, w.role, w.email, addr, now, sid_out, sidsz, ctx);
    if (!rc)
        audit_json(&ctx->scope, member, w.email, "login", addr, now,
                   "{\"factor\":\"webauthn\",\"credential\":%lld,\"uv\":%s}", (long long)c.id, uv ? "true" : "false");
    return rc;
}

/* ---- registration ------------------------------------------------------------------ */

int vg_mfa_register(const vg_ctx *ctx, const uint8_t bind[32], const uint8_t *att, size_t att_len,
                    const uint8_t *cdj, size_t cdj_len, const char *name, const char *const *origins,
                    int n_origins, int64_t now, int64_t *id)
{
    vg_db *db = ctx->scope.db;
    uint8_t chal[VG_WA_CHALLENGE_LEN];
    int64_t org = 0, member = 0;
    vg_wa_cred cred;
    vg_mfa_policy p;
    int n = 0;
    if (!vg_mfa_name_ok(name)) return VG_EINVAL;
    int rc = vg_mfa_challenge_take(db, "register", bind, now, &org, &member, chal);
    if (rc) return rc;
    if (org != ctx->scope.org_id || member != ctx->member_id) return VG_EAUTH;
    if ((rc = vg_mfa_policy_get(db, org, &p)) || (rc = vg_mfa_key_count(db, org, member, &n))) return rc;
    if (n >= VG_MFA_KEYS_MAX) return VG_ETOOBIG;
    vg_wa_expect e = {chal, origins, n_origins, p.require_uv};
    if ((rc = vg_wa_register(att, att_len, cdj, cdj_len, &e, &cred))) return rc;
    if ((rc = vg_mfa_cred_store(ctx, &cred, name, now))) return rc;
    *id = vg_db_last_id(db);
    return 0;
}

int vg_mfa_name_ok(const char *name)
{
    return vg_name_ok(name, VG_MFA_KEY_NAME_MAX) && !strchr(name, '"') && !strchr(name, '\\');
}

int vg_mfa_cred_store(const vg_ctx *ctx, const vg_wa_cred *cred, const char *name, int64_t now)
{
    if (!vg_mfa_name_ok(name)) return VG_EINVAL;
    int rc = vg_scope_run(&ctx->scope, "INSERT INTO webauthn_credentials(org_id, member_id, cred_id, cose_key, alg, "
                          "sign_count, name, aaguid, fmt, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                          "ibbiitbti", ctx->member_id, cred->cred_id, cred->cred_id_len, cred->cose, cred->cose_len,
                          (int64_t)cred->alg, (int64_t)cred->sign_count, name, cred->aaguid, (size_t)16, cred->fmt, now);
    if (rc) return rc;
    audit_json(&ctx->scope, ctx->member_id, ctx->email, "webauthn.add", ctx->addr, now,
               "{\"credential\":%lld,\"name\":\"%s\",\"alg\":%d,\"fmt\":\"%s\"}",
               (long long)vg_db_last_id(ctx->scope.db), name, cred->alg, cred->fmt);
    return 0;
}

int vg_mfa_join_ok(vg_db *db, int64_t org, enum vg_role role, int has_totp, int has_key)
{
    vg_mfa_policy p;
    if (vg_mfa_policy_get(db, org, &p)) return VG_EIO;
    if (has_totp && !p.allow_totp) return VG_EINVAL;   /* a factor nobody could use */
    return vg_mfa_required(role) && !has_key && !p.allow_totp ? VG_EINVAL : 0;
}

int vg_mfa_invite_verify(vg_db *db, const char *token, const uint8_t *att, size_t att_len, const uint8_t *cdj,
                         size_t cdj_len, const char *const *origins, int n_origins, int64_t now, vg_wa_cred *out)
{
    uint8_t bind[32], chal[VG_WA_CHALLENGE_LEN];
    int64_t org = 0, member = 0;
    vg_mfa_policy p;
    vg_mfa_bind(token, bind);
    int rc = vg_mfa_challenge_take(db, "invite", bind, now, &org, &member, chal);
    if (rc) return rc;
    if ((rc = vg_mfa_policy_get(db, org, &p))) return rc;
    vg_wa_expect e = {chal, origins, n_origins, p.require_uv};
    return vg_wa_register(att, att_len, cdj, cdj_len, &e, out);
}
