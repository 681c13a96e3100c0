/* SPDX-License-Identifier: Apache-2.0 */
/* Accounts, sessions, setup/invitation tokens and login throttling.
 *
 * Invariants:
 *  1. No secret is stored in the clear: auth keys and tokens are stored as
 *     BLAKE2b keyed with subkeys of DATA/secret.key (0600, made once).
 *  2. Every comparison of a secret is constant-time (sodium_memcmp) or a
 *     lookup by its keyed hash.
 *  3. Throttling is checked before credentials: after VG_THROTTLE_MAX failures
 *     within VG_THROTTLE_WINDOW for the account or the address, login answers
 *     VG_EAGAIN even for the right key (NIST SP 800-63B §5.2.2).
 *  4. Setup and invitation tokens are single use: they are marked used in the
 *     same transaction that creates the member.
 *  5. Owners and admins cannot exist without a second factor: TOTP, or a
 *     security key where the organization does not allow TOTP (auth/mfa.h). */
#include "auth/auth.h"
#include "auth/audit.h"
#include "auth/mfa.h"
#include "auth/totp.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SUB_AUTH = 1, SUB_SALT = 2, SUB_SESSION = 3, SUB_TOKEN = 4 };

struct vg_auth {
    vg_db *db;
    uint8_t k_auth[32], k_salt[32], k_session[32], k_token[32];
};

const char *vg_role_name(enum vg_role r)
{
    switch (r) {
    case VG_ROLE_OWNER: return "owner";
    case VG_ROLE_ADMIN: return "admin";
    case VG_ROLE_VIEWER: return "viewer";
    case VG_ROLE_SUPPORT: return "support";
    case VG_ROLE_OPERATOR: return "operator";
    default: return "none";
    }
}

enum vg_role vg_role_parse(const char *s)
{
    if (!s) return VG_ROLE_NONE;
    if (strcmp(s, "owner") == 0) return VG_ROLE_OWNER;
    if (strcmp(s, "admin") == 0) return VG_ROLE_ADMIN;
    if (strcmp(s, "viewer") == 0) return VG_ROLE_VIEWER;
    if (strcmp(s, "support") == 0) return VG_ROLE_SUPPORT;
    if (strcmp(s, "operator") == 0) return VG_ROLE_OPERATOR;
    return VG_ROLE_NONE;
}

int vg_role_allows(enum vg_role have, enum vg_role need)
{
    if (need == VG_ROLE_NONE) return have != VG_ROLE_NONE;   /* any signed-in account */
    if (need >= VG_ROLE_SUPPORT) return have == need;
    return have >= need && have <= VG_ROLE_OWNER && have != VG_ROLE_NONE;
}

/* ---- validation and encoding ------------------------------------------ */

int vg_email_normalize(char *email)
{
    size_t n = email ? strlen(email) : 0;
    int at = 0;
    if (n < 3 || n > VG_EMAIL_MAX) return VG_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)email[i];
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\') return VG_EINVAL;
        if (c == '@') at++;
        if (c >= 'A' && c <= 'Z') email[i] = (char)(c + 32);
    }
    if (at != 1 || email[0] == '@' || email[n - 1] == '@') return VG_EINVAL;
    return 0;
}

int vg_name_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

int vg_b64_decode(const char *s, uint8_t *out, size_t want)
{
    size_t got = 0;
    const char *end = NULL;
    if (!s || strlen(s) > want * 2 + 4) return VG_EINVAL;
    if (sodium_base642bin(out, want, s, strlen(s), NULL, &got, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        got != want || *end != '\0')
        return VG_EINVAL;
    return 0;
}

static void b64(const uint8_t *p, size_t n, char *out, size_t outsz)
{
    sodium_bin2base64(out, outsz, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* ---- the server secret ------------------------------------------------- */

static int load_secret(const char *dir, uint8_t master[32])
{
    char path[4096];
    int rc = VG_EIO;
    if (snprintf(path, sizeof path, "%s/secret.key", dir) >= (int)sizeof path) return VG_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        /* First start: create with O_EXCL, 0600, fsync (STYLE.md §9). */
        randombytes_buf(master, 32);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return VG_EIO;
        if (write(fd, master, 32) == 32 && fsync(fd) == 0) rc = 0;
        close(fd);
        return rc;
    }
    if (fd < 0) return VG_EIO;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 077)) vg_warn("auth", "%s is readable by others", path);
    if (read(fd, master, 32) == 32) rc = 0;
    close(fd);
    return rc;
}

int vg_auth_new(vg_db *db, const char *data_dir, vg_auth **out)
{
    uint8_t master[32];
    *out = NULL;
    if (sodium_init() < 0) return VG_EIO;   /* idempotent */
    vg_auth *a = sodium_malloc(sizeof *a);
    if (!a) return VG_ENOMEM;
    memset(a, 0, sizeof *a);
    a->db = db;
    int rc = load_secret(data_dir, master);
    if (rc) { vg_error("auth", "cannot read or create %s/secret.key", data_dir); sodium_free(a); return rc; }
    crypto_kdf_derive_from_key(a->k_auth, 32, SUB_AUTH, "vigilsrv", master);
    crypto_kdf_derive_from_key(a->k_salt, 32, SUB_SALT, "vigilsrv", master);
    crypto_kdf_derive_from_key(a->k_session, 32, SUB_SESSION, "vigilsrv", master);
    crypto_kdf_derive_from_key(a->k_token, 32, SUB_TOKEN, "vigilsrv", master);
    sodium_memzero(master, sizeof master);
    *out = a;
    return 0;
}

void vg_auth_free(vg_auth *a)
{
    if (a) sodium_free(a);   /* sodium_free wipes */
}

vg_db *vg_auth_db(vg_auth *a) { return a->db; }

static void khash(const uint8_t key[32], const void *p, size_t n, uint8_t out[32])
{
    crypto_generichash(out, 32, p, n, key, 32);
}

/* A token's stored form: keyed hash of its text; VG_EINVAL if malformed. */
static int token_hash(vg_auth *a, const char *tok, uint8_t out[32])
{
    uint8_t raw[VG_TOKEN_LEN];
    if (vg_b64_decode(tok, raw, sizeof raw)) return VG_EINVAL;
    khash(a->k_token, raw, sizeof raw, out);
    sodium_memzero(raw, sizeof raw);
    return 0;
}

static void token_new(char *out, size_t outsz, uint8_t raw[VG_TOKEN_LEN])
{
    randombytes_buf(raw, VG_TOKEN_LEN);
    b64(raw, VG_TOKEN_LEN, out, outsz);
}

/* For share links (web/share.c): the same token and auth-key hashing and the
 * same throttle as members, with their own keys into the throttle table. */
void vg_auth_token_make(vg_auth *a, char *out, size_t outsz, uint8_t hash[32])
{
    uint8_t raw[VG_TOKEN_LEN];
    token_new(out, outsz, raw);
    khash(a->k_token, raw, sizeof raw, hash);
    sodium_memzero(raw, sizeof raw);
}

int vg_auth_token_hash(vg_auth *a, const char *tok, uint8_t hash[32]) { return token_hash(a, tok, hash); }

void vg_auth_key_hash(vg_auth *a, const uint8_t key[VG_AUTH_KEY_LEN], uint8_t hash[32])
{
    khash(a->k_auth, key, VG_AUTH_KEY_LEN, hash);
}

static int throttle_check(vg_auth *a, const char *key, int64_t now, int *retry_after);
static void throttle_fail(vg_auth *a, const char *key, int64_t now);
int vg_auth_throttled(vg_auth *a, const char *key, int64_t now, int *retry_after)
{
    return throttle_check(a, key, now, retry_after);
}
void vg_auth_throttle_key_fail(vg_auth *a, const char *key, int64_t now) { throttle_fail(a, key, now); }

/* ---- setup -------------------------------------------------------------- */

int vg_auth_needs_setup(vg_auth *a, int *needed)
{
    vg_stmt *st;
    int rc = vg_db_prep(a->db, &st, "SELECT COUNT(*) FROM organizations WHERE kind = 'tenant'", "");
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) { *needed = vg_db_int(st, 0) == 0; rc = 0; }
    vg_db_done(st);
    return rc;
}

int vg_auth_setup_token_new(vg_auth *a, int64_t now, char *out, size_t outsz)
{
    uint8_t raw[VG_TOKEN_LEN], h[32];
    if (outsz < VG_TOKEN_B64_MAX) return VG_EINVAL;
    token_new(out, outsz, raw);
    khash(a->k_token, raw, sizeof raw, h);
    sodium_memzero(raw, sizeof raw);
    /* Older unused links of the same kind die when a new one is printed. */
    int rc = vg_db_run(a->db, "DELETE FROM setup_tokens WHERE org_id IS NULL AND purpose = 'tenant'", "");
    if (!rc) rc = vg_db_run(a->db, "INSERT INTO setup_tokens(token_hash, expires) VALUES(?1, ?2)", "bi",
                            h, (size_t)32, now + VG_SETUP_TTL);
    return rc;
}

static int count_of(vg_db *db, const char *sql, int64_t arg, int64_t *n)
{
    vg_stmt *st;
    int rc = vg_db_prep(db, &st, sql, "i", arg);
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) { *n = vg_db_int(st, 0); rc = 0; }
    else if (rc == 0) rc = VG_EIO;
    vg_db_done(st);
    return rc;
}

/* A tenant organization that has no member yet (its owner is to come). */
static int org_awaits_owner(vg_db *db, int64_t org)
{
    int64_t n = 0;
    return count_of(db, "SELECT COUNT(*) FROM organizations WHERE id = ?1 AND kind = 'tenant' "
                    "AND NOT EXISTS(SELECT 1 FROM members m WHERE m.org_id = organizations.id)", org, &n) == 0 &&
           n == 1;
}

static int platform_exists(vg_db *db)
{
    int64_t n = 1;
    (void)count_of(db, "SELECT COUNT(*) FROM organizations WHERE kind = 'platform' AND ?1", 1, &n);
    return n != 0;
}

int vg_auth_platform_token_new(vg_auth *a, int64_t now, char *out, size_t outsz)
{
    uint8_t raw[VG_TOKEN_LEN], h[32];
    if (outsz < VG_TOKEN_B64_MAX || platform_exists(a->db)) return VG_EINVAL;
    token_new(out, outsz, raw);
    khash(a->k_token, raw, sizeof raw, h);
    sodium_memzero(raw, sizeof raw);
    int rc = vg_db_run(a->db, "DELETE FROM setup_tokens WHERE purpose = 'platform'", "");
    if (!rc) rc = vg_db_run(a->db, "INSERT INTO setup_tokens(token_hash, expires, purpose) "
                            "VALUES(?1, ?2, 'platform')", "bi", h, (size_t)32, now + VG_SETUP_TTL);
    return rc;
}

int vg_auth_org_token_new(vg_auth *a, int64_t org, int64_t now, char *out, size_t outsz)
{
    uint8_t raw[VG_TOKEN_LEN], h[32];
    if (outsz < VG_TOKEN_B64_MAX || !org_awaits_owner(a->db, org)) return VG_EINVAL;
    token_new(out, outsz, raw);
    khash(a->k_token, raw, sizeof raw, h);
    sodium_memzero(raw, sizeof raw);
    /* One live link per organization: a new one replaces the old. */
    int rc = vg_db_run(a->db, "DELETE FROM setup_tokens WHERE org_id = ?1", "i", org);
    if (!rc) rc = vg_db_run(a->db, "INSERT INTO setup_tokens(token_hash, expires, org_id) VALUES(?1, ?2, ?3)",
                            "bii", h, (size_t)32, now + VG_SETUP_TTL, org);
    return rc;
}

static int setup_find(vg_auth *a, const uint8_t th[32], int64_t now, vg_setup_info *info)
{
    vg_stmt *st;
    memset(info, 0, sizeof *info);
    int rc = vg_db_prep(a->db, &st, "SELECT t.purpose, t.org_id, o.name FROM setup_tokens t "
                        "LEFT JOIN organizations o ON o.id = t.org_id "
                        "WHERE t.token_hash = ?1 AND t.used = 0 AND t.expires > ?2", "bi", th, (size_t)32, now);
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) {
        const char *p = vg_db_text(st, 0), *name = vg_db_text(st, 2);
        info->platform = p && strcmp(p, "platform") == 0;
        info->org = vg_db_is_null(st, 1) ? 0 : vg_db_int(st, 1);
        snprintf(info->org_name, sizeof info->org_name, "%s", name ? name : "");
        rc = 0;
    } else if (rc == 0) {
        rc = VG_EAUTH;
    }
    vg_db_done(st);
    return rc;
}

int vg_auth_setup_info(vg_auth *a, const char *token, int64_t now, vg_setup_info *info)
{
    uint8_t th[32];
    if (token_hash(a, token, th)) return VG_EAUTH;
    return setup_find(a, th, now, info);
}

static int member_keys_ok(const vg_member_keys *k, enum vg_role role, int64_t now, int64_t *step)
{
    *step = 0;
    if (role >= VG_ROLE_ADMIN && !k->has_totp && !k->webauthn) return VG_EINVAL;
    if (!k->has_totp) return 0;
    int rc = vg_totp_verify(k->totp_secret, sizeof k->totp_secret, now, k->totp_code, 0, step);
    return rc ? VG_EINVAL : 0;
}

static int member_insert(vg_auth *a, int64_t org, const char *email, enum vg_role role,
                         const vg_member_keys *k, int64_t step, int64_t invited_by, int64_t now,
                         int64_t *id)
{
    uint8_t h[32];
    khash(a->k_auth, k->auth_key, sizeof k->auth_key, h);
    vg_scope s = {a->db, org};
    int rc = vg_scope_run(&s,
        "INSERT INTO members(org_id, email, role, salt, auth_hash, public_key, wrapped_sk, "
        "totp_secret, totp_last_step, invited_by, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        "ttbbbbbiii", email, vg_role_name(role), k->salt, (size_t)VG_SALT_LEN, h, (size_t)32,
        k->pk, (size_t)VG_PK_LEN, k->wrapped_sk, (size_t)VG_WRAPPED_SK_LEN,
        k->has_totp ? k->totp_secret : NULL, (size_t)20, step, invited_by, now);
    *id = vg_db_last_id(a->db);
    return rc;
}

static int session_open(vg_auth *a, int64_t org, int64_t member, int64_t now, const char *addr,
                        char *sid_out, size_t sidsz)
{
    uint8_t raw[VG_TOKEN_LEN], h[32];
    if (sidsz < VG_TOKEN_B64_MAX) return VG_EINVAL;
    token_new(sid_out, sidsz, raw);
    khash(a->k_session, raw, sizeof raw, h);
    sodium_memzero(raw, sizeof raw);
    return vg_db_run(a->db, "INSERT INTO sessions(id_hash, org_id, member_id, created, last_seen, addr) "
                     "VALUES(?1, ?2, ?3, ?4, ?4, ?5)", "biiit", h, (size_t)32, org, member, now, addr);
}

static void ctx_fill(vg_ctx *ctx, vg_db *db, int64_t org, int64_t member, enum vg_role role,
                     const char *email, const char *addr)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->scope.db = db;
    ctx->scope.org_id = org;
    ctx->member_id = member;
    ctx->role = role;
    snprintf(ctx->email, sizeof ctx->email, "%s", email ? email : "");
    snprintf(ctx->addr, sizeof ctx->addr, "%s", addr ? addr : "");
}

static int setup_tx(vg_auth *a, const uint8_t th[32], const char *org_name, const char *email,
                    const vg_member_keys *k, const uint8_t rpk[VG_PK_LEN], int64_t step, int64_t now,
                    const char *addr, char *sid_out, size_t sidsz, vg_ctx *ctx)
{
    int64_t org, member;
    uint8_t uid[VG_ORG_UID_LEN];
    vg_setup_info info;
    int rc = setup_find(a, th, now, &info);
    if (rc) return rc;
    if ((!info.platform && !rpk) || (!info.org && !org_name)) return VG_EINVAL;
    rc = vg_db_run(a->db, "UPDATE setup_tokens SET used = 1 WHERE token_hash = ?1 AND used = 0 "
                   "AND expires > ?2", "bi", th, (size_t)32, now);
    if (rc) return rc;
    if (vg_db_changes(a->db) != 1) return VG_EAUTH;
    enum vg_role role = info.platform ? VG_ROLE_OPERATOR : VG_ROLE_OWNER;
    if (info.org) {
        /* An organization an operator created: its owner arrives, once. */
        if (!org_awaits_owner(a->db, info.org)) return VG_EAUTH;
        org = info.org;
        rc = vg_db_run(a->db, "UPDATE organizations SET recovery_pk = ?1 WHERE id = ?2", "bi", rpk,
                       (size_t)VG_PK_LEN, org);
    } else {
        if (info.platform && platform_exists(a->db)) return VG_EAUTH;
        randombytes_buf(uid, sizeof uid);
        rc = vg_db_run(a->db, "INSERT INTO organizations(name, created, uid, recovery_pk, kind) "
                       "VALUES(?1, ?2, ?3, ?4, ?5)", "tibbt", org_name, now, uid, sizeof uid, rpk,
                       (size_t)VG_PK_LEN, info.platform ? "platform" : "tenant");
        org = vg_db_last_id(a->db);
    }
    if (rc) return rc;
    rc = member_insert(a, org, email, role, k, step, 0, now, &member);
    if (rc) return rc;
    rc = session_open(a, org, member, now, addr, sid_out, sidsz);
    if (rc) return rc;
    ctx_fill(ctx, a->db, org, member, role, email, addr);
    char fp[48], rfp[48] = "", detail[200];
    vg_key_fingerprint(k->pk, fp, sizeof fp);
    if (rpk) vg_key_fingerprint(rpk, rfp, sizeof rfp);
    snprintf(detail, sizeof detail, "{\"role\":\"%s\",\"key\":\"%s\",\"recovery_key\":\"%s\"}",
             vg_role_name(role), fp, rfp);
    return vg_audit_add(&ctx->scope, member, email, "org.setup", detail, addr, now * 1000);
}

int vg_auth_setup(vg_auth *a, const char *token, const char *org_name, const char *email,
                  const vg_member_keys *k, const uint8_t recovery_pk[VG_PK_LEN], int64_t now, const char *addr,
                  char *sid_out, size_t sidsz, vg_ctx *ctx)
{
    uint8_t th[32];
    char em[VG_EMAIL_MAX + 1];
    int64_t step;
    if (token_hash(a, token, th)) return VG_EAUTH;
    if ((org_name && !vg_name_ok(org_name, VG_NAME_MAX)) || !email || strlen(email) > VG_EMAIL_MAX) return VG_EINVAL;
    snprintf(em, sizeof em, "%s", email);
    if (vg_email_normalize(em) || member_keys_ok(k, VG_ROLE_OWNER, now, &step)) return VG_EINVAL;
    int rc = vg_db_begin(a->db);
    if (rc) return rc;
    rc = setup_tx(a, th, org_name, em, k, recovery_pk, step, now, addr, sid_out, sidsz, ctx);
    if (rc) { vg_db_rollback(a->db); return rc; }
    return vg_db_commit(a->db);
}

/* ---- throttling ----------------------------------------------------------- */

static int throttle_check(vg_auth *a, const char *key, int64_t now, int *retry_after)
{
    vg_stmt *st;
    int rc = vg_db_prep(a->db, &st, "SELECT COUNT(*), MIN(t) FROM throttle WHERE key = ?1 AND t > ?2",
                        "ti", key, now - VG_THROTTLE_WINDOW);
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) {
        rc = 0;
        if (vg_db_int(st, 0) >= VG_THROTTLE_MAX) {
            int64_t ra = vg_db_int(st, 1) + VG_THROTTLE_WINDOW - now;
            *retry_after = ra < 1 ? 1 : (int)ra;
            rc = VG_EAGAIN;
        }
    }
    vg_db_done(st);
    return rc;
}

static void throttle_fail(vg_auth *a, const char *key, int64_t now)
{
    (void)vg_db_run(a->db, "DELETE FROM throttle WHERE t <= ?1", "i", now - VG_THROTTLE_WINDOW);
    (void)vg_db_run(a->db, "INSERT INTO throttle(key, t) VALUES(?1, ?2)", "ti", key, now);
}

/* ---- login and sessions ----------------------------------------------------- */

int vg_auth_login_salt(vg_auth *a, const char *email, uint8_t salt[VG_SALT_LEN])
{
    char em[VG_EMAIL_MAX + 1];
    vg_stmt *st;
    if (!email || strlen(email) > VG_EMAIL_MAX) return VG_EINVAL;
    snprintf(em, sizeof em, "%s", email);
    if (vg_email_normalize(em)) return VG_EINVAL;
    int rc = vg_db_prep(a->db, &st, "SELECT salt FROM members WHERE email = ?1", "t", em);
    if (rc) return rc;
    rc = vg_db_step(st);
    size_t n = 0;
    const uint8_t *p = rc == 1 ? vg_db_blob(st, 0, &n) : NULL;
    if (p && n == VG_SALT_LEN) memcpy(salt, p, VG_SALT_LEN);
    else crypto_generichash(salt, VG_SALT_LEN, (const uint8_t *)em, strlen(em), a->k_salt, 32);
    vg_db_done(st);
    return rc < 0 ? rc : 0;
}

typedef struct member_row {
    int64_t id, org, last_step;
    enum vg_role role;
    uint8_t auth_hash[32];
    int has_totp;
    uint8_t totp[20];
    int active;
} member_row;

static int member_by_email(vg_auth *a, const char *email, member_row *m)
{
    vg_stmt *st;
    memset(m, 0, sizeof *m);
    int rc = vg_db_prep(a->db, &st,
        "SELECT m.id, m.org_id, m.role, m.auth_hash, m.totp_secret, m.totp_last_step, o.state "
        "FROM members m JOIN organizations o ON o.id = m.org_id WHERE m.email = ?1", "t", email);
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) {
        size_t n1, n2;
        const uint8_t *h = vg_db_blob(st, 3, &n1), *t = vg_db_blob(st, 4, &n2);
        m->id = vg_db_int(st, 0);
        m->org = vg_db_int(st, 1);
        m->role = vg_role_parse(vg_db_text(st, 2));
        if (h && n1 == 32) memcpy(m->auth_hash, h, 32);
        if (t && n2 == 20) { memcpy(m->totp, t, 20); m->has_totp = 1; }
        m->last_step = vg_db_int(st, 5);
        const char *state = vg_db_text(st, 6);
        m->active = state && strcmp(state, "active") == 0;
        rc = 0;
    } else if (rc == 0) {
        rc = VG_ENOTFOUND;
    }
    vg_db_done(st);
    return rc;
}

/* Checks key and TOTP; on success records the used TOTP step. */
static int check_credentials(vg_auth *a, const member_row *m, const uint8_t key[32], const char *code,
                             int64_t now)
{
    uint8_t h[32];
    int64_t step = 0;
    khash(a->k_auth, key, 32, h);
    int ok = sodium_memcmp(h, m->auth_hash, 32) == 0 && m->active;
    sodium_memzero(h, sizeof h);
    /* The organization's policy picks the second factor (auth/mfa.h). */
    int factor = vg_mfa_factor(a->db, m->org, m->id, m->role, m->has_totp, code && *code);
    if (factor == VG_MFA_TOTP) {
        if (vg_totp_verify(m->totp, 20, now, code, m->last_step, &step)) ok = 0;
    } else if (factor == VG_MFA_REFUSE) {
        ok = 0;   /* invariant 5: no allowed second factor */
    }
    if (!ok) return VG_EAUTH;
    if (factor == VG_MFA_WEBAUTHN) return VG_AUTH_NEED_WEBAUTHN;
    if (factor != VG_MFA_TOTP) return 0;
    return vg_db_run(a->db, "UPDATE members SET totp_last_step = ?1 WHERE id = ?2 AND totp_last_step < ?1",
                     "ii", step, m->id);
}

int vg_auth_login(vg_auth *a, const char *email, const uint8_t auth_key[VG_AUTH_KEY_LEN],
                  const char *totp_code, const char *addr, int64_t now,
                  char *sid_out, size_t sidsz, vg_ctx *ctx, int *retry_after)
{
    char em[VG_EMAIL_MAX + 1], kacct[VG_EMAIL_MAX + 8], kaddr[80];
    member_row m;
    int rc;
    *retry_after = 0;
    if (!email || strlen(email) > VG_EMAIL_MAX) return VG_EINVAL;
    snprintf(em, sizeof em, "%s", email);
    if (vg_email_normalize(em)) return VG_EINVAL;
    snprintf(kacct, sizeof kacct, "a:%s", em);
    snprintf(kaddr, sizeof kaddr, "ip:%s", addr ? addr : "");
    if ((rc = throttle_check(a, kacct, now, retry_after)) || (rc = throttle_check(a, kaddr, now, retry_after)))
        return rc;
    rc = member_by_email(a, em, &m);
    if (rc == 0) rc = check_credentials(a, &m, auth_key, totp_code, now);
    else if (rc == VG_ENOTFOUND) rc = VG_EAUTH;
    if (rc == VG_EAUTH) {
        throttle_fail(a, kacct, now);
        throttle_fail(a, kaddr, now);
        if (m.id) {
            vg_scope s = {a->db, m.org};
            (void)vg_audit_add(&s, m.id, em, "login.fail", "{}", addr, now * 1000);
        }
    }
    if (rc == VG_AUTH_NEED_WEBAUTHN) {
        ctx_fill(ctx, a->db, m.org, m.id, m.role, em, addr);
        sodium_memzero(&m, sizeof m);
        return rc;
    }
    if (!rc) rc = session_open(a, m.org, m.id, now, addr, sid_out, sidsz);
    if (!rc) {
        (void)vg_db_run(a->db, "DELETE FROM throttle WHERE key = ?1", "t", kacct);
        ctx_fill(ctx, a->db, m.org, m.id, m.role, em, addr);
        rc = vg_audit_add(&ctx->scope, m.id, em, "login", "{}", addr, now * 1000);
    }
    sodium_memzero(&m, sizeof m);
    return rc;
}

static int sid_hash(vg_auth *a, const char *sid, uint8_t h[32])
{
    uint8_t raw[VG_TOKEN_LEN];
    if (vg_b64_decode(sid, raw, sizeof raw)) return VG_EAUTH;
    khash(a->k_session, raw, sizeof raw, h);
    sodium_memzero(raw, sizeof raw);
    return 0;
}

int vg_auth_session(vg_auth *a, const char *sid, int64_t now, const char *addr, vg_ctx *ctx)
{
    uint8_t h[32];
    vg_stmt *st;
    if (sid_hash(a, sid, h)) return VG_EAUTH;
    int rc = vg_db_prep(a->db, &st,
        "SELECT s.org_id, s.member_id, s.created, s.last_seen, m.role, m.email, o.state "
        "FROM sessions s JOIN members m ON m.id = s.member_id JOIN organizations o ON o.id = s.org_id "
        "WHERE s.id_hash = ?1 AND m.org_id = s.org_id", "b", h, (size_t)32);
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) {
        int64_t created = vg_db_int(st, 2), seen = vg_db_int(st, 3);
        const char *state = vg_db_text(st, 6);
        if (now - seen > VG_SESSION_IDLE || now - created > VG_SESSION_ABS || now < created ||
            !state || strcmp(state, "active") != 0) {
            rc = VG_ETIMEDOUT;
        } else {
            ctx_fill(ctx, a->db, vg_db_int(st, 0), vg_db_int(st, 1), vg_role_parse(vg_db_text(st, 4)),
                     vg_db_text(st, 5), addr);
            rc = ctx->role == VG_ROLE_NONE ? VG_EAUTH : 0;
            if (!rc && now - seen >= 30) rc = 1;   /* refresh below, after the statement is done */
        }
    } else if (rc == 0) {
        rc = VG_EAUTH;
    }
    vg_db_done(st);
    if (rc == VG_ETIMEDOUT) {
        (void)vg_db_run(a->db, "DELETE FROM sessions WHERE id_hash = ?1", "b", h, (size_t)32);
        return VG_EAUTH;
    }
    if (rc == 1) rc = vg_db_run(a->db, "UPDATE sessions SET last_seen = ?1 WHERE id_hash = ?2", "ib",
                                now, h, (size_t)32);
    return rc;
}

int vg_auth_logout(vg_auth *a, const char *sid)
{
    uint8_t h[32];
    if (sid_hash(a, sid, h)) return 0;
    return vg_db_run(a->db, "DELETE FROM sessions WHERE id_hash = ?1", "b", h, (size_t)32);
}

/* ---- invitations ------------------------------------------------------------ */

int vg_auth_invite(vg_auth *a, const vg_ctx *by, const char *email, enum vg_role role,
                   int64_t now, char *tok_out, size_t toksz, int64_t *invite_id)
{
    char em[VG_EMAIL_MAX + 1];
    uint8_t raw[VG_TOKEN_LEN], h[32];
    if (by->role == VG_ROLE_OPERATOR) {
        if (role != VG_ROLE_SUPPORT && role != VG_ROLE_OPERATOR) return VG_EINVAL;
    } else if (!vg_role_allows(by->role, VG_ROLE_ADMIN) || (role != VG_ROLE_ADMIN && role != VG_ROLE_VIEWER)) {
        return VG_EINVAL;
    }
    if (!email || strlen(email) > VG_EMAIL_MAX || toksz < VG_TOKEN_B64_MAX) return VG_EINVAL;
    snprintf(em, sizeof em, "%s", email);
    if (vg_email_normalize(em)) return VG_EINVAL;
    token_new(tok_out, toksz, raw);
    khash(a->k_token, raw, sizeof raw, h);
    sodium_memzero(raw, sizeof raw);
    int rc = vg_scope_run(&by->scope,
        "INSERT INTO invitations(org_id, token_hash, email, role, inviter_id, created, expires) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", "bttiii", h, (size_t)32, em, vg_role_name(role),
        by->member_id, now, now + VG_INVITE_TTL);
    if (rc) return rc;
    *invite_id = vg_db_last_id(a->db);
    char detail[VG_EMAIL_MAX + 64];
    snprintf(detail, sizeof detail, "{\"email\":\"%s\",\"role\":\"%s\"}", em, vg_role_name(role));
    return vg_audit_add(&by->scope, by->member_id, by->email, "member.invite", detail, by->addr, now * 1000);
}

/* Looks up a live invitation by token: fills info and returns its id/org. */
static int invite_find(vg_auth *a, const uint8_t th[32], int64_t now, vg_invite_info *info,
                       int64_t *id, int64_t *org, int64_t *inviter)
{
    vg_stmt *st;
    int rc = vg_db_prep(a->db, &st,
        "SELECT i.id, i.org_id, i.email, i.role, o.name, m.email, m.public_key, m.id "
        "FROM invitations i JOIN organizations o ON o.id = i.org_id "
        "JOIN members m ON m.id = i.inviter_id AND m.org_id = i.org_id "
        "WHERE i.token_hash = ?1 AND i.used = 0 AND i.expires > ?2", "bi", th, (size_t)32, now);
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) {
        size_t n;
        const uint8_t *pk = vg_db_blob(st, 6, &n);
        memset(info, 0, sizeof *info);
        *id = vg_db_int(st, 0);
        *org = vg_db_int(st, 1);
        *inviter = vg_db_int(st, 7);
        snprintf(info->email, sizeof info->email, "%s", vg_db_text(st, 2));
        info->role = vg_role_parse(vg_db_text(st, 3));
        snprintf(info->org_name, sizeof info->org_name, "%s", vg_db_text(st, 4));
        snprintf(info->inviter_email, sizeof info->inviter_email, "%s", vg_db_text(st, 5));
        if (pk && n == VG_PK_LEN) memcpy(info->inviter_pk, pk, VG_PK_LEN);
        info->org_id = *org;
        rc = 0;
    } else if (rc == 0) {
        rc = VG_EAUTH;
    }
    vg_db_done(st);
    return rc;
}

int vg_auth_invite_info(vg_auth *a, const char *token, int64_t now, vg_invite_info *info)
{
    uint8_t th[32];
    int64_t id, org, inviter;
    if (token_hash(a, token, th)) return VG_EAUTH;
    return invite_find(a, th, now, info, &id, &org, &inviter);
}

static int accept_tx(vg_auth *a, const uint8_t th[32], const vg_member_keys *k, int64_t now,
                     const char *addr, char *sid_out, size_t sidsz, vg_ctx *ctx)
{
    vg_invite_info info;
    int64_t id, org, inviter, member, step;
    int rc = invite_find(a, th, now, &info, &id, &org, &inviter);
    if (rc) return rc;
    if (member_keys_ok(k, info.role, now, &step) || vg_mfa_join_ok(a->db, org, info.role, k->has_totp, k->webauthn != NULL))
        return VG_EINVAL;
    rc = vg_db_run(a->db, "UPDATE invitations SET used = 1 WHERE id = ?1 AND used = 0", "i", id);
    if (rc) return rc;
    if (vg_db_changes(a->db) != 1) return VG_EAUTH;
    rc = member_insert(a, org, info.email, info.role, k, step, inviter, now, &member);
    if (rc) return rc;
    rc = session_open(a, org, member, now, addr, sid_out, sidsz);
    if (rc) return rc;
    ctx_fill(ctx, a->db, org, member, info.role, info.email, addr);
    if (k->webauthn && (rc = vg_mfa_cred_store(ctx, k->webauthn, k->webauthn_name, now))) return rc;
    char fp[48], detail[200];
    vg_key_fingerprint(k->pk, fp, sizeof fp);
    snprintf(detail, sizeof detail, "{\"role\":\"%s\",\"key\":\"%s\"}", vg_role_name(info.role), fp);
    return vg_audit_add(&ctx->scope, member, info.email, "member.join", detail, addr, now * 1000);
}

int vg_auth_invite_accept(vg_auth *a, const char *token, const vg_member_keys *k, int64_t now,
                          const char *addr, char *sid_out, size_t sidsz, vg_ctx *ctx)
{
    uint8_t th[32];
    if (token_hash(a, token, th)) return VG_EAUTH;
    int rc = vg_db_begin(a->db);
    if (rc) return rc;
    rc = accept_tx(a, th, k, now, addr, sid_out, sidsz, ctx);
    if (rc) { vg_db_rollback(a->db); return rc; }
    return vg_db_commit(a->db);
}

/* ---- for the second step of a login (mfa.c) ------------------------------------ */

int vg_auth_throttle(vg_auth *a, const char *email, const char *addr, int64_t now, int *retry_after)
{
    char kacct[VG_EMAIL_MAX + 8], kaddr[80];
    int rc;
    snprintf(kaddr, sizeof kaddr, "ip:%s", addr ? addr : "");
    if ((rc = throttle_check(a, kaddr, now, retry_after))) return rc;
    if (!email) return 0;
    snprintf(kacct, sizeof kacct, "a:%s", email);
    return throttle_check(a, kacct, now, retry_after);
}

void vg_auth_throttle_fail(vg_auth *a, const char *email, const char *addr, int64_t now)
{
    char kacct[VG_EMAIL_MAX + 8], kaddr[80];
    snprintf(kaddr, sizeof kaddr, "ip:%s", addr ? addr : "");
    throttle_fail(a, kaddr, now);
    if (!email) return;
    snprintf(kacct, sizeof kacct, "a:%s", email);
    throttle_fail(a, kacct, now);
}

int vg_auth_session_begin(vg_auth *a, int64_t org, int64_t member, enum vg_role role, const char *email,
                          const char *addr, int64_t now, char *sid_out, size_t sidsz, vg_ctx *ctx)
{
    char kacct[VG_EMAIL_MAX + 8];
    int rc = session_open(a, org, member, now, addr, sid_out, sidsz);
    if (rc) return rc;
    snprintf(kacct, sizeof kacct, "a:%s", email ? email : "");
    (void)vg_db_run(a->db, "DELETE FROM throttle WHERE key = ?1", "t", kacct);
    ctx_fill(ctx, a->db, org, member, role, email, addr);
    return 0;
}
