/* SPDX-License-Identifier: Apache-2.0 */
/* Accounts, sessions, setup and invitation tokens, throttling (docs/design/auth.md).
 *
 * The server never sees a password: the browser derives, with Argon2id, a
 * key-encryption key (kept in the browser) and an auth key (sent at login).
 * vigil stores BLAKE2b(key = server secret, auth key) and compares in
 * constant time. All tokens (setup, invitation, session) are 32 random bytes,
 * base64url without padding, and are stored only as keyed hashes.
 *
 * Owner: vg_auth_new's caller owns the vg_auth (it borrows the vg_db, which
 * must outlive it) and frees it with vg_auth_free (the secret is wiped). */
#ifndef VG_AUTH_H
#define VG_AUTH_H

#include "crypt/crypt.h"
#include "db/db.h"

#include <stddef.h>
#include <stdint.h>

#define VG_SALT_LEN 16         /* crypto_pwhash_SALTBYTES */
#define VG_AUTH_KEY_LEN 32
/* VG_PK_LEN and vg_key_fingerprint come from crypt/crypt.h. */
#define VG_WRAPPED_SK_LEN 72   /* nonce 24 | secretbox(sk 32) 48 */
#define VG_TOKEN_LEN 32        /* random bytes in setup/invite/session tokens */
#define VG_TOKEN_B64_MAX 64    /* base64url of 32 bytes is 43 chars */
#define VG_EMAIL_MAX 254
#define VG_NAME_MAX 100

#define VG_SETUP_TTL 3600            /* setup link: one hour */
#define VG_INVITE_TTL (7 * 86400)
#define VG_SESSION_IDLE 1800         /* 30 min without a request */
#define VG_SESSION_ABS (12 * 3600)   /* 12 h after login */
#define VG_THROTTLE_WINDOW 900       /* 15 min */
#define VG_THROTTLE_MAX 10           /* failures per window, per account and per address */

typedef struct vg_auth vg_auth;

/* Tenant roles are ordered (viewer < admin < owner). The platform roles live
 * only in the platform organization (organizations.kind = 'platform') and are
 * outside that order: no tenant route ever admits them (vg_role_allows). */
enum vg_role {
    VG_ROLE_NONE = 0, VG_ROLE_VIEWER = 1, VG_ROLE_ADMIN = 2, VG_ROLE_OWNER = 3,
    VG_ROLE_SUPPORT = 16,    /* a vendor's support account: sees only what a grant gives */
    VG_ROLE_OPERATOR = 17    /* manages organizations; never footage, never a member's session */
};
const char *vg_role_name(enum vg_role r);
/* Returns VG_ROLE_NONE for anything but the names vg_role_name gives. */
enum vg_role vg_role_parse(const char *s);
/* Whether a caller with role `have` may use a route that needs `need`: a
 * tenant role at least `need` for tenant routes; exactly `need` for the
 * platform roles; any role for VG_ROLE_NONE (routes about the caller's own
 * session: /api/me, /api/logout; its own security keys). */
int vg_role_allows(enum vg_role have, enum vg_role need);

/* Who is asking: built by the session check, carried through a request. The
 * scope is the only handle API code has on tenant tables (db.h). */
typedef struct vg_ctx {
    vg_scope scope;
    int64_t member_id;
    enum vg_role role;
    char email[VG_EMAIL_MAX + 1];
    char addr[64];       /* client address, for throttling and audit */
} vg_ctx;

/* What the browser sends to create a member (setup or invitation). */
typedef struct vg_member_keys {
    uint8_t salt[VG_SALT_LEN];
    uint8_t auth_key[VG_AUTH_KEY_LEN];
    uint8_t pk[VG_PK_LEN];
    uint8_t wrapped_sk[VG_WRAPPED_SK_LEN];
    int has_totp;
    uint8_t totp_secret[20];
    char totp_code[8];   /* proves the authenticator app was set up */
    /* A security key the caller verified against an "invite" challenge
     * (auth/mfa.h): stored with the member, in the same transaction. */
    const struct vg_wa_cred *webauthn;
    const char *webauthn_name;
} vg_member_keys;

#define VG_ORG_UID_LEN 16

int vg_auth_new(vg_db *db, const char *data_dir, vg_auth **out);
void vg_auth_free(vg_auth *a);
vg_db *vg_auth_db(vg_auth *a);

/* Validation helpers (also used by the API layer). Email: lower-cased in place. */
int vg_email_normalize(char *email);
int vg_name_ok(const char *s, size_t max);
int vg_b64_decode(const char *s, uint8_t *out, size_t want);
/* Fingerprint of a public key as shown to people: 32 hex digits in groups of 4
 * ("1a2b 3c4d ..."), BLAKE2b-128 of the key. out >= 40 bytes. */

/* Whether no tenant organization exists yet (the platform's does not count). */
int vg_auth_needs_setup(vg_auth *a, int *needed);
/* New single-use setup token valid VG_SETUP_TTL; out gets its base64url text. */
int vg_auth_setup_token_new(vg_auth *a, int64_t now, char *out, size_t outsz);
/* Setup tokens of the platform (docs/design/tenancy.md), same rules (single
 * use, VG_SETUP_TTL, stored hashed). platform: creates the platform
 * organization and its first operator (`vigil operator setup`); VG_EINVAL if
 * the platform organization exists. org: binds the token to a tenant
 * organization an operator created; its first member becomes the owner
 * (VG_EINVAL unless the organization is a tenant without members). */
int vg_auth_platform_token_new(vg_auth *a, int64_t now, char *out, size_t outsz);
int vg_auth_org_token_new(vg_auth *a, int64_t org, int64_t now, char *out, size_t outsz);
/* What a live setup token will create: the platform, a new tenant (org 0), or
 * the owner of organization org (named org_name). VG_EAUTH if not live. */
typedef struct vg_setup_info {
    int platform;
    int64_t org;
    char org_name[VG_NAME_MAX + 1];
} vg_setup_info;
int vg_auth_setup_info(vg_auth *a, const char *token, int64_t now, vg_setup_info *info);
/* Consume the token and create the organization and its owner (TOTP required)
 * in one transaction; on success a session is opened (sid_out, ctx).
 * VG_EAUTH: token unknown, used or expired. VG_EINVAL: bad input. */
/* recovery_pk: the organization's recovery public key (X25519), whose secret
 * half the owner's browser showed once and never sent (NULL only for the
 * platform, which holds no footage). With a bound token org_name is ignored
 * (the operator named the organization); with a platform token the member
 * is an operator, else the owner. */
int vg_auth_setup(vg_auth *a, const char *token, const char *org_name, const char *email,
                  const vg_member_keys *k, const uint8_t recovery_pk[VG_PK_LEN], int64_t now, const char *addr,
                  char *sid_out, size_t sidsz, vg_ctx *ctx);

/* The salt to derive keys with; for an unknown email a fake one derived from
 * the server secret, stable per email, so the answer does not reveal
 * whether an account exists. */
int vg_auth_login_salt(vg_auth *a, const char *email, uint8_t salt[VG_SALT_LEN]);
/* VG_EAUTH: wrong email/key/TOTP (one answer for all). VG_EAGAIN: throttled,
 * *retry_after seconds (checked before the credentials).
 * VG_AUTH_NEED_WEBAUTHN: the password was right and the member's second
 * factor is a security key: no session yet, ctx names the member, and the
 * login goes on with an assertion (auth/mfa.h). */
#define VG_AUTH_NEED_WEBAUTHN 1
int vg_auth_login(vg_auth *a, const char *email, const uint8_t auth_key[VG_AUTH_KEY_LEN],
                  const char *totp_code, const char *addr, int64_t now,
                  char *sid_out, size_t sidsz, vg_ctx *ctx, int *retry_after);
/* Resolve a session cookie; refreshes last_seen. VG_EAUTH if unknown/expired. */
int vg_auth_session(vg_auth *a, const char *sid, int64_t now, const char *addr, vg_ctx *ctx);
int vg_auth_logout(vg_auth *a, const char *sid);

/* Invitation (admin or owner): email + role admin|viewer. By an operator
 * (into the platform organization): role support|operator. */
int vg_auth_invite(vg_auth *a, const vg_ctx *by, const char *email, enum vg_role role,
                   int64_t now, char *tok_out, size_t toksz, int64_t *invite_id);
typedef struct vg_invite_info {
    char email[VG_EMAIL_MAX + 1];
    enum vg_role role;
    char org_name[VG_NAME_MAX + 1];
    char inviter_email[VG_EMAIL_MAX + 1];
    uint8_t inviter_pk[VG_PK_LEN];
    int64_t org_id;
} vg_invite_info;
int vg_auth_invite_info(vg_auth *a, const char *token, int64_t now, vg_invite_info *info);
int vg_auth_invite_accept(vg_auth *a, const char *token, const vg_member_keys *k, int64_t now,
                          const char *addr, char *sid_out, size_t sidsz, vg_ctx *ctx);

/* For the second step of a login (auth/mfa.c). email NULL: the address only.
 * vg_auth_session_begin opens the session, clears the account's throttle
 * rows and fills ctx; the caller audits the login. */
int vg_auth_throttle(vg_auth *a, const char *email, const char *addr, int64_t now, int *retry_after);
void vg_auth_throttle_fail(vg_auth *a, const char *email, const char *addr, int64_t now);
int vg_auth_session_begin(vg_auth *a, int64_t org, int64_t member, enum vg_role role, const char *email,
                          const char *addr, int64_t now, char *sid_out, size_t sidsz, vg_ctx *ctx);
/* Share links (docs/design/grants.md): a new random token (text in out, its
 * keyed hash in hash), a token's keyed hash (VG_EINVAL if malformed), an
 * auth key's keyed hash, and the login throttle under another key. */
void vg_auth_token_make(vg_auth *a, char *out, size_t outsz, uint8_t hash[32]);
int vg_auth_token_hash(vg_auth *a, const char *tok, uint8_t hash[32]);
void vg_auth_key_hash(vg_auth *a, const uint8_t key[VG_AUTH_KEY_LEN], uint8_t hash[32]);
int vg_auth_throttled(vg_auth *a, const char *key, int64_t now, int *retry_after);
void vg_auth_throttle_key_fail(vg_auth *a, const char *key, int64_t now);

#endif
