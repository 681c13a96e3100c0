/* SPDX-License-Identifier: Apache-2.0 */
/* Second factors: the organization's policy (TOTP allowed or not, user
 * verification required or not), WebAuthn credentials and their single-use
 * challenges, and the second step of a login (docs/design/webauthn.md).
 *
 * Owner: nothing here allocates for the caller; pointers in vg_mfa_assertion
 * are borrowed for the call. */
#ifndef VG_MFA_H
#define VG_MFA_H

#include "auth/auth.h"
#include "auth/webauthn.h"

#include <stddef.h>
#include <stdint.h>

#define VG_MFA_CHALLENGE_TTL 120   /* seconds: a ceremony is one touch of a key */
#define VG_MFA_KEY_NAME_MAX 64
#define VG_MFA_KEYS_MAX 20         /* credentials per member */
#define VG_MFA_PENDING_MAX 4       /* pending key logins per member; older ones are dropped */

typedef struct vg_mfa_policy {
    int allow_totp;   /* default 1 */
    int require_uv;   /* default 0 */
} vg_mfa_policy;

enum { VG_MFA_NONE = 0, VG_MFA_TOTP = 1, VG_MFA_WEBAUTHN = 2, VG_MFA_REFUSE = 3 };

int vg_mfa_policy_get(vg_db *db, int64_t org, vg_mfa_policy *p);
/* Owners, admins and the platform roles must have a second factor. */
int vg_mfa_required(enum vg_role r);
int vg_mfa_key_count(vg_db *db, int64_t org, int64_t member, int *n);
/* Which second factor a login with a right password continues with:
 * a TOTP code when one was given and TOTP is enrolled and allowed; else a
 * security key when the member has one; else TOTP when enrolled and allowed
 * (the missing code then fails); else none for members who need none, and
 * VG_MFA_REFUSE for those who do. */
int vg_mfa_factor(vg_db *db, int64_t org, int64_t member, enum vg_role role, int has_totp, int code_given);

/* A fresh random challenge, stored with its purpose ("login", "register",
 * "invite"), bound to bind (a hash of the pending login's token, the
 * session id or the invitation token) and valid VG_MFA_CHALLENGE_TTL.
 * member may be 0 (invitation). Expired challenges are purged here. */
int vg_mfa_challenge_new(vg_db *db, int64_t org, int64_t member, const char *purpose, const uint8_t bind[32],
                         int64_t now, uint8_t chal[VG_WA_CHALLENGE_LEN]);
/* Takes (deletes) the challenge bound to bind: single use whatever the
 * outcome. VG_EAUTH when there is none or it expired. */
int vg_mfa_challenge_take(vg_db *db, const char *purpose, const uint8_t bind[32], int64_t now, int64_t *org,
                          int64_t *member, uint8_t chal[VG_WA_CHALLENGE_LEN]);
/* BLAKE2b-256 of a text (session id, token) as the bind value. */
void vg_mfa_bind(const char *text, uint8_t out[32]);

/* Login step 2. ctx: the member vg_auth_login named with
 * VG_AUTH_NEED_WEBAUTHN. token_out gets the pending login's token (43
 * chars of base64url), chal the challenge to sign. */
int vg_mfa_login_begin(vg_db *db, const vg_ctx *ctx, int64_t now, char *token_out, size_t toksz,
                       uint8_t chal[VG_WA_CHALLENGE_LEN]);

typedef struct vg_mfa_assertion {
    const uint8_t *cred_id, *auth_data, *cdj, *sig;
    size_t cred_id_len, ad_len, cdj_len, sig_len;
} vg_mfa_assertion;

/* Verifies the assertion for the pending login `token` and opens a session.
 * VG_EAUTH: refused (unknown or used token, expired challenge, unknown
 * credential, failed check, or a counter that went back, which is audited
 * as webauthn.counter_regression). VG_EAGAIN: throttled (*retry_after). */
int vg_mfa_login_finish(vg_auth *a, const char *token, const vg_mfa_assertion *as, const char *const *origins,
                        int n_origins, const char *addr, int64_t now, char *sid_out, size_t sidsz, vg_ctx *ctx,
                        int *retry_after);

/* Registers a credential for ctx's member after verifying the attestation
 * against the "register" challenge bound to bind. *id gets its row id.
 * VG_EAUTH: challenge or checks failed; VG_EUNSUPPORTED: key type or
 * attestation format; VG_EINVAL: malformed or already registered;
 * VG_ETOOBIG: too many credentials. Audited as webauthn.add. */
int vg_mfa_register(const vg_ctx *ctx, const uint8_t bind[32], const uint8_t *att, size_t att_len,
                    const uint8_t *cdj, size_t cdj_len, const char *name, const char *const *origins,
                    int n_origins, int64_t now, int64_t *id);

/* Names of keys: vg_name_ok, at most VG_MFA_KEY_NAME_MAX, no quote or backslash. */
int vg_mfa_name_ok(const char *name);
/* Stores a verified credential for ctx's member and audits webauthn.add. */
int vg_mfa_cred_store(const vg_ctx *ctx, const vg_wa_cred *cred, const char *name, int64_t now);
/* Whether a member of `role` may join org with the factors it brings: TOTP
 * only where allowed; one who needs a second factor and brings no key needs
 * TOTP to be allowed. 0 or VG_EINVAL. */
int vg_mfa_join_ok(vg_db *db, int64_t org, enum vg_role role, int has_totp, int has_key);
/* Verifies a registration made during an invitation against the "invite"
 * challenge bound to the invitation token (taken here, single use). */
int vg_mfa_invite_verify(vg_db *db, const char *token, const uint8_t *att, size_t att_len, const uint8_t *cdj,
                         size_t cdj_len, const char *const *origins, int n_origins, int64_t now, vg_wa_cred *out);

#endif
