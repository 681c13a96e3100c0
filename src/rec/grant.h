/* SPDX-License-Identifier: Apache-2.0 */
/* Signed grants as the recorder checks them (docs/design/grants.md).
 *
 * A grant statement is UTF-8 text made and signed (Ed25519, detached) in the
 * granting admin's browser; the server stores it and hands it to the
 * recorder, which verifies the chain
 *     pinned owner key --cert--> admin signing key --signature--> statement
 * before sealing anything to the grantee. The statement, exactly:
 *
 *     vigil-grant-v1\n
 *     org <32 lowercase hex: the organization uid>\n
 *     grant <32 lowercase hex: random, made by the browser>\n
 *     grantee <member id>\n
 *     grantee_pk <base64url, 43 chars: X25519>\n
 *     cameras <store name>[ <store name>]...\n      (1..16, no repeats)
 *     from <t90k>\n
 *     to <t90k>\n
 *     expires <Unix seconds>\n
 *
 * Integers: decimal, no sign, no leading zero, at most 18 digits.
 * An admin's signing key is certified by the owner's over
 *     vigil-signkey-v1\norg <hex>\nmember <id>\nsign_pk <base64url>\n
 * The owner's own key needs no certificate: it is the pinned root. */
#ifndef VG_GRANT_H
#define VG_GRANT_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

#define VG_GRANT_STMT_MAX 2048
#define VG_GRANT_CAMS_MAX 16

typedef struct vg_grant_stmt {
    uint8_t org[16];
    uint8_t uid[16];
    int64_t grantee;
    uint8_t grantee_pk[32];
    char cams[VG_GRANT_CAMS_MAX][64];
    size_t ncams;
    int64_t from90k, to90k, expires;
} vg_grant_stmt;

/* Strict parse of a statement (len bytes, no NUL needed). VG_EINVAL on any
 * deviation from the format above, from > to included. */
int vg_grant_parse(const char *text, size_t len, vg_grant_stmt *out);
/* The certificate text for a member's signing key; its length, or VG_ETOOBIG. */
int vg_signcert_text(const uint8_t org[16], int64_t member, const uint8_t sign_pk[32], char *out, size_t outsz);

/* What the recorder is given for one grant. cert_sig NULL: signed by the owner. */
typedef struct vg_grant_proof {
    const char *stmt;
    size_t stmt_len;
    const uint8_t *sig;          /* 64 */
    const uint8_t *signer_pk;    /* 32, Ed25519 */
    int64_t signer_member;
    const uint8_t *cert_sig;     /* 64 or NULL */
} vg_grant_proof;

/* Verifies the chain against owner_pk and parses the statement. VG_ECRYPTO:
 * a signature fails (forged, unsigned, uncertified signer). */
int vg_grant_verify(const uint8_t owner_pk[32], const vg_grant_proof *p, vg_grant_stmt *out);

/* The recorder's side: verifies p against the owner key pinned in the store
 * for the statement's organization, refuses an expired grant (this machine's
 * clock), then seals every new segment of the granted cameras to the grantee
 * as well (vg_store_grant_set). VG_ENOTFOUND: no owner key pinned. */
int vg_rec_grant_apply(vg_store *st, int64_t grant_id, const vg_grant_proof *p);

#endif
