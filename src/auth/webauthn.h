/* SPDX-License-Identifier: Apache-2.0 */
/* WebAuthn (W3C Web Authentication Level 2) verification: registration with
 * attestation "none" or packed self-attestation, and assertions, for COSE
 * keys ES256 (-7) and EdDSA/Ed25519 (-8). docs/design/webauthn.md.
 *
 * Everything here is pure: bytes in, verdict out. The caller supplies the
 * challenge it issued and the origins it serves, and keeps the challenge
 * single-use and the signature counter (src/web/webauthn_api.c).
 *
 * Every length in authenticatorData, CBOR and COSE is checked against the
 * bytes actually present before it is used (tests/fuzz/fuzz_webauthn.c). */
#ifndef VG_WEBAUTHN_H
#define VG_WEBAUTHN_H

#include <stddef.h>
#include <stdint.h>

#define VG_WA_CHALLENGE_LEN 32
#define VG_WA_CRED_ID_MAX 1023    /* WebAuthn §5.8.3: credential ids are at most 1023 bytes */
#define VG_WA_COSE_MAX 256        /* an ES256 COSE key is 77 bytes, Ed25519 44 */
#define VG_WA_ORIGIN_MAX 160

enum { VG_WA_ES256 = -7, VG_WA_EDDSA = -8 };

/* authenticatorData flags (WebAuthn §6.1) */
enum { VG_WA_UP = 0x01, VG_WA_UV = 0x04, VG_WA_AT = 0x40, VG_WA_ED = 0x80 };

/* What the server expects of a ceremony. */
typedef struct vg_wa_expect {
    const uint8_t *challenge;              /* VG_WA_CHALLENGE_LEN bytes, as issued */
    const char *const *origins;            /* "https://host[:port]" */
    int n_origins;
    int require_uv;
} vg_wa_expect;

/* A parsed authenticatorData. Pointers point into the caller's buffer. */
typedef struct vg_wa_authdata {
    const uint8_t *rp_id_hash;             /* 32 bytes */
    uint8_t flags;
    uint32_t sign_count;
    /* attested credential data (flag AT) */
    const uint8_t *aaguid;                 /* 16 bytes */
    const uint8_t *cred_id;
    size_t cred_id_len;
    const uint8_t *cose;
    size_t cose_len;
} vg_wa_authdata;

/* A credential as registered, to be stored. */
typedef struct vg_wa_cred {
    uint8_t cred_id[VG_WA_CRED_ID_MAX];
    size_t cred_id_len;
    uint8_t cose[VG_WA_COSE_MAX];
    size_t cose_len;
    int alg;
    uint32_t sign_count;
    uint8_t aaguid[16];
    int uv;
    char fmt[16];                          /* "none" or "packed" */
} vg_wa_cred;

/* Parses authenticatorData: exactly its bytes, no trailing data.
 * VG_EINVAL on anything malformed. */
int vg_wa_authdata_parse(const uint8_t *p, size_t n, vg_wa_authdata *out);

/* Length of the one well-formed CBOR item at p (definite lengths only,
 * nesting <= 8, no declared count beyond the bytes left). VG_EINVAL if none. */
int vg_wa_cbor_item_len(const uint8_t *p, size_t n, size_t *len);

/* Parses a COSE_Key; *alg gets -7 or -8. VG_EUNSUPPORTED for other keys. */
int vg_wa_cose_parse(const uint8_t *p, size_t n, int *alg);

/* Checks clientDataJSON: type ("webauthn.create" / "webauthn.get"),
 * challenge, origin among e->origins, crossOrigin not true. The matched
 * origin's host is written to rp_id (the relying party id). */
int vg_wa_client_data_check(const uint8_t *cdj, size_t n, const char *type, const vg_wa_expect *e,
                            char *rp_id, size_t rp_id_sz);

/* Verifies sig over msg with a COSE key. 0, VG_ECRYPTO or VG_EINVAL. */
int vg_wa_verify_sig(const uint8_t *cose, size_t cose_len, const uint8_t *msg, size_t msg_len,
                     const uint8_t *sig, size_t sig_len);

/* Registration (navigator.credentials.create). 0 and *out filled, or
 * VG_EAUTH (a check failed), VG_EUNSUPPORTED (key or attestation format),
 * VG_EINVAL (malformed). */
int vg_wa_register(const uint8_t *att_obj, size_t att_len, const uint8_t *cdj, size_t cdj_len,
                   const vg_wa_expect *e, vg_wa_cred *out);

/* Assertion (navigator.credentials.get) against a stored credential. On 0,
 * *count gets the authenticator's counter and *uv the UV flag; the caller
 * must then check vg_wa_counter_ok. VG_EAUTH / VG_ECRYPTO / VG_EINVAL. */
int vg_wa_assert(const uint8_t *auth_data, size_t ad_len, const uint8_t *cdj, size_t cdj_len,
                 const uint8_t *sig, size_t sig_len, const uint8_t *cose, size_t cose_len,
                 const vg_wa_expect *e, uint32_t *count, int *uv);

/* WebAuthn §7.2 step 21: a counter that does not grow (when either value is
 * non-zero) means the authenticator may have been cloned. 1 ok, 0 refuse. */
int vg_wa_counter_ok(uint32_t stored, uint32_t received);

#endif
