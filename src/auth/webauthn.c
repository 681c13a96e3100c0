/* SPDX-License-Identifier: Apache-2.0 */
/* WebAuthn verification (webauthn.h, docs/design/webauthn.md).
 *
 * Invariants:
 *  1. No CBOR reaches libcbor before vg_wa_cbor_item_len has walked it:
 *     definite lengths only, every declared length or count fits in the
 *     bytes left, nesting is bounded. libcbor then decodes exactly that span
 *     (so a 5-byte input cannot make it allocate for 2^32 elements).
 *  2. authenticatorData is read field by field against its length; the
 *     attested credential and extensions must end exactly at its end.
 *  3. Signatures are checked over authenticatorData || SHA-256(clientDataJSON)
 *     with the stored COSE key only (no certificate chain is trusted:
 *     attestation "none", or "packed" self-attestation by the same key). */
#include "auth/webauthn.h"
#include "core/err.h"

#include <cbor.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define CBOR_DEPTH_MAX 8
#define CDJ_MAX 8192
#define ATT_MAX 16384
#define AUTHDATA_MAX 4096

/* ---- CBOR walking (RFC 8949 §3) ----------------------------------------------- */

static int cbor_head(const uint8_t *p, size_t n, size_t *hl, int *mt, uint64_t *val)
{
    if (n < 1) return VG_EINVAL;
    int ai = p[0] & 31;
    *mt = p[0] >> 5;
    size_t extra = ai < 24 ? 0 : ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : ai == 27 ? 8 : 99;
    if (extra == 99 || n < 1 + extra) return VG_EINVAL;   /* reserved or indefinite (31) */
    uint64_t v = ai < 24 ? (uint64_t)ai : 0;
    for (size_t i = 0; i < extra; i++) v = v << 8 | p[1 + i];
    *hl = 1 + extra;
    *val = v;
    return 0;
}

static int cbor_walk(const uint8_t *p, size_t n, int depth, size_t *len)
{
    size_t hl, off;
    int mt;
    uint64_t v;
    if (depth > CBOR_DEPTH_MAX || cbor_head(p, n, &hl, &mt, &v)) return VG_EINVAL;
    off = hl;
    switch (mt) {
    case 0: case 1: break;
    case 2: case 3:
        if (v > n - off) return VG_EINVAL;
        off += (size_t)v;
        break;
    case 4: case 5: {
        /* every item is at least one byte: a count beyond the bytes left is a lie */
        if (v > n - off || (mt == 5 && v > (n - off) / 2)) return VG_EINVAL;
        uint64_t items = mt == 5 ? 2 * v : v;
        for (uint64_t i = 0; i < items; i++) {
            size_t l;
            if (cbor_walk(p + off, n - off, depth + 1, &l)) return VG_EINVAL;
            off += l;
        }
        break;
    }
    case 6: {
        size_t l;
        if (cbor_walk(p + off, n - off, depth + 1, &l)) return VG_EINVAL;
        off += l;
        break;
    }
    default:   /* 7: simple values and floats; the head carried them */
        if ((p[0] & 31) == 24 && v < 32) return VG_EINVAL;
        break;
    }
    *len = off;
    return 0;
}

int vg_wa_cbor_item_len(const uint8_t *p, size_t n, size_t *len)
{
    if (!p || !len) return VG_EINVAL;
    return cbor_walk(p, n, 0, len);
}

/* Decodes exactly n bytes holding one walked item. NULL on any failure. */
static cbor_item_t *cbor_exact(const uint8_t *p, size_t n)
{
    size_t l;
    struct cbor_load_result res;
    if (vg_wa_cbor_item_len(p, n, &l) || l != n) return NULL;
    cbor_item_t *it = cbor_load(p, n, &res);
    if (!it) return NULL;
    if (res.error.code != CBOR_ERR_NONE || res.read != n) { cbor_decref(&it); return NULL; }
    return it;
}

static int cbor_int(cbor_item_t *it, int64_t *v)
{
    if (!it || !cbor_is_int(it)) return VG_EINVAL;
    uint64_t u = cbor_get_int(it);
    if (u > INT64_MAX) return VG_EINVAL;
    *v = cbor_isa_uint(it) ? (int64_t)u : -1 - (int64_t)u;
    return 0;
}

static int cbor_text_is(cbor_item_t *it, const char *s)
{
    size_t n = strlen(s);
    return it && cbor_isa_string(it) && cbor_string_is_definite(it) && cbor_string_length(it) == n &&
           memcmp(cbor_string_handle(it), s, n) == 0;
}

static int cbor_bytes(cbor_item_t *it, const uint8_t **p, size_t *n)
{
    if (!it || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it)) return VG_EINVAL;
    *p = cbor_bytestring_handle(it);
    *n = cbor_bytestring_length(it);
    return *p || *n == 0 ? 0 : VG_EINVAL;
}

/* ---- COSE keys (RFC 9053 §7, RFC 8152 §13) ------------------------------------------ */

typedef struct cose_key {
    int alg;
    uint8_t x[32], y[32];
} cose_key;

static int cose_decode(const uint8_t *p, size_t n, cose_key *k)
{
    int64_t kty = 0, alg = 0, crv = 0;
    int seen = 0;
    const uint8_t *x = NULL, *y = NULL;
    size_t xl = 0, yl = 0;
    if (n > VG_WA_COSE_MAX) return VG_EINVAL;
    cbor_item_t *m = cbor_exact(p, n);
    if (!m) return VG_EINVAL;
    int rc = VG_EINVAL;
    if (!cbor_isa_map(m) || !cbor_map_is_definite(m)) goto out;
    struct cbor_pair *pr = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        int64_t key;
        int bit;
        if (cbor_int(pr[i].key, &key)) goto out;
        switch (key) {
        case 1: bit = 1; if (cbor_int(pr[i].value, &kty)) goto out; break;
        case 3: bit = 2; if (cbor_int(pr[i].value, &alg)) goto out; break;
        case -1: bit = 4; if (cbor_int(pr[i].value, &crv)) goto out; break;
        case -2: bit = 8; if (cbor_bytes(pr[i].value, &x, &xl)) goto out; break;
        case -3: bit = 16; if (cbor_bytes(pr[i].value, &y, &yl)) goto out; break;
        default: bit = 0; break;   /* kid, key_ops...: ignored */
        }
        if (seen & bit) goto out;   /* a duplicate label */
        seen |= bit;
    }
    memset(k, 0, sizeof *k);
    rc = VG_EUNSUPPORTED;
    if (kty == 2 && alg == VG_WA_ES256 && crv == 1 && seen == 31 && xl == 32 && yl == 32) {
        memcpy(k->x, x, 32);
        memcpy(k->y, y, 32);
        k->alg = VG_WA_ES256;
        rc = 0;
    } else if (kty == 1 && alg == VG_WA_EDDSA && crv == 6 && (seen & 15) == 15 && !(seen & 16) && xl == 32) {
        memcpy(k->x, x, 32);
        k->alg = VG_WA_EDDSA;
        rc = 0;
    }
out:
    cbor_decref(&m);
    return rc;
}

int vg_wa_cose_parse(const uint8_t *p, size_t n, int *alg)
{
    cose_key k;
    if (!p || !alg) return VG_EINVAL;
    int rc = cose_decode(p, n, &k);
    if (!rc) *alg = k.alg;
    return rc;
}

/* SubjectPublicKeyInfo prefix of an uncompressed P-256 point (RFC 5480). */
static const uint8_t P256_SPKI[26] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

static EVP_PKEY *cose_pkey(const cose_key *k)
{
    if (k->alg == VG_WA_EDDSA) return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->x, 32);
    uint8_t der[26 + 65];
    memcpy(der, P256_SPKI, sizeof P256_SPKI);
    der[26] = 0x04;
    memcpy(der + 27, k->x, 32);
    memcpy(der + 59, k->y, 32);
    const uint8_t *q = der;
    /* decoding checks that the point is on the curve */
    return d2i_PUBKEY(NULL, &q, (long)sizeof der);
}

static int verify_with(const cose_key *k, const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    if (!sig || (k->alg == VG_WA_EDDSA && sig_len != 64) || (k->alg == VG_WA_ES256 && (sig_len < 8 || sig_len > 72)))
        return VG_ECRYPTO;
    EVP_PKEY *pk = cose_pkey(k);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = pk && ctx &&
             EVP_DigestVerifyInit(ctx, NULL, k->alg == VG_WA_ES256 ? EVP_sha256() : NULL, NULL, pk) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok ? 0 : VG_ECRYPTO;
}

int vg_wa_verify_sig(const uint8_t *cose, size_t cose_len, const uint8_t *msg, size_t msg_len,
                     const uint8_t *sig, size_t sig_len)
{
    cose_key k;
    if (!cose || !msg) return VG_EINVAL;
    int rc = cose_decode(cose, cose_len, &k);
    return rc ? rc : verify_with(&k, msg, msg_len, sig, sig_len);
}

/* ---- authenticatorData (WebAuthn §6.1) -------------------------------------------- */

int vg_wa_authdata_parse(const uint8_t *p, size_t n, vg_wa_authdata *out)
{
    if (!p || !out || n < 37 || n > AUTHDATA_MAX) return VG_EINVAL;
    memset(out, 0, sizeof *out);
    out->rp_id_hash = p;
    out->flags = p[32];
    out->sign_count = (uint32_t)p[33] << 24 | (uint32_t)p[34] << 16 | (uint32_t)p[35] << 8 | p[36];
    size_t off = 37;
    if (out->flags & VG_WA_AT) {
        if (n - off < 18) return VG_EINVAL;
        out->aaguid = p + off;
        size_t l = (size_t)p[off + 16] << 8 | p[off + 17];
        off += 18;
        if (l == 0 || l > VG_WA_CRED_ID_MAX || l > n - off) return VG_EINVAL;
        out->cred_id = p + off;
        out->cred_id_len = l;
        off += l;
        if (vg_wa_cbor_item_len(p + off, n - off, &l)) return VG_EINVAL;
        out->cose = p + off;
        out->cose_len = l;
        off += l;
    }
    if (out->flags & VG_WA_ED) {
        size_t l;
        if (vg_wa_cbor_item_len(p + off, n - off, &l) || (p[off] >> 5) != 5) return VG_EINVAL;
        off += l;
    }
    return off == n ? 0 : VG_EINVAL;
}

/* ---- clientDataJSON (WebAuthn §5.8.1) ---------------------------------------------- */

/* The host of "https://host[:port]" (IPv6 brackets dropped). */
static int origin_host(const char *origin, char *host, size_t hostsz)
{
    if (strncmp(origin, "https://", 8) != 0) return VG_EINVAL;
    const char *h = origin + 8, *end;
    if (*h == '[') {
        end = strchr(h, ']');
        if (!end) return VG_EINVAL;
        h++;
    } else {
        end = strchr(h, ':');
        if (!end) end = h + strlen(h);
    }
    size_t l = (size_t)(end - h);
    if (l == 0 || l >= hostsz) return VG_EINVAL;
    memcpy(host, h, l);
    host[l] = 0;
    return 0;
}

int vg_wa_client_data_check(const uint8_t *cdj, size_t n, const char *type, const vg_wa_expect *e,
                            char *rp_id, size_t rp_id_sz)
{
    uint8_t chal[VG_WA_CHALLENGE_LEN + 1];
    size_t cl = 0;
    const char *end = NULL;
    if (!cdj || n == 0 || n > CDJ_MAX || !e || !e->challenge) return VG_EINVAL;
    json_t *o = json_loadb((const char *)cdj, n, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) { json_decref(o); return VG_EINVAL; }
    int rc = VG_EAUTH;
    json_t *t = json_object_get(o, "type"), *c = json_object_get(o, "challenge"), *org = json_object_get(o, "origin");
    json_t *xo = json_object_get(o, "crossOrigin");
    if (!json_is_string(t) || !json_is_string(c) || !json_is_string(org)) { rc = VG_EINVAL; goto out; }
    if (strcmp(json_string_value(t), type) != 0 || json_is_true(xo)) goto out;
    const char *cs = json_string_value(c);
    if (sodium_base642bin(chal, sizeof chal, cs, strlen(cs), NULL, &cl, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        *end || cl != VG_WA_CHALLENGE_LEN || sodium_memcmp(chal, e->challenge, VG_WA_CHALLENGE_LEN) != 0)
        goto out;
    const char *os = json_string_value(org);
    for (int i = 0; i < e->n_origins; i++) {
        if (e->origins[i] && strcmp(os, e->origins[i]) == 0) {
            rc = origin_host(os, rp_id, rp_id_sz) ? VG_EAUTH : 0;
            break;
        }
    }
out:
    json_decref(o);
    return rc;
}

/* ---- ceremonies ------------------------------------------------------------------------ */

static int sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int l = 0;
    return EVP_Digest(p, n, out, &l, EVP_sha256(), NULL) == 1 && l == 32 ? 0 : VG_ECRYPTO;
}

/* The checks both ceremonies make on authenticatorData. */
static int authdata_check(const vg_wa_authdata *ad, const char *rp_id, const vg_wa_expect *e)
{
    uint8_t h[32];
    if (sha256((const uint8_t *)rp_id, strlen(rp_id), h)) return VG_ECRYPTO;
    if (memcmp(h, ad->rp_id_hash, 32) != 0) return VG_EAUTH;
    if (!(ad->flags & VG_WA_UP)) return VG_EAUTH;
    if (e->require_uv && !(ad->flags & VG_WA_UV)) return VG_EAUTH;
    return 0;
}

/* authData || SHA-256(clientDataJSON), the signed message (§6.3.3, §7.2 step 20). */
static int signed_msg(const uint8_t *ad, size_t ad_len, const uint8_t *cdj, size_t cdj_len, uint8_t *msg)
{
    memcpy(msg, ad, ad_len);
    return sha256(cdj, cdj_len, msg + ad_len);
}

/* attStmt of fmt "packed" without x5c: self-attestation by the new key (§8.2). */
static int packed_self(cbor_item_t *stmt, const cose_key *k, const uint8_t *msg, size_t msg_len)
{
    int64_t alg = 0;
    const uint8_t *sig = NULL;
    size_t sl = 0;
    int have_alg = 0, have_sig = 0;
    if (!cbor_isa_map(stmt) || !cbor_map_is_definite(stmt)) return VG_EINVAL;
    struct cbor_pair *pr = cbor_map_handle(stmt);
    for (size_t i = 0; i < cbor_map_size(stmt); i++) {
        if (cbor_text_is(pr[i].key, "alg") && !have_alg) {
            if (cbor_int(pr[i].value, &alg)) return VG_EINVAL;
            have_alg = 1;
        } else if (cbor_text_is(pr[i].key, "sig") && !have_sig) {
            if (cbor_bytes(pr[i].value, &sig, &sl)) return VG_EINVAL;
            have_sig = 1;
        } else {
            return VG_EUNSUPPORTED;   /* x5c (a vendor chain) or ecdaaKeyId: not trusted here */
        }
    }
    if (!have_alg || !have_sig || alg != k->alg) return VG_EAUTH;
    return verify_with(k, msg, msg_len, sig, sl) ? VG_EAUTH : 0;
}

int vg_wa_register(const uint8_t *att_obj, size_t att_len, const uint8_t *cdj, size_t cdj_len,
                   const vg_wa_expect *e, vg_wa_cred *out)
{
    char rp_id[VG_WA_ORIGIN_MAX];
    uint8_t msg[AUTHDATA_MAX + 32];
    vg_wa_authdata ad;
    cose_key k;
    if (!att_obj || !out || att_len > ATT_MAX) return VG_EINVAL;
    int rc = vg_wa_client_data_check(cdj, cdj_len, "webauthn.create", e, rp_id, sizeof rp_id);
    if (rc) return rc;
    cbor_item_t *m = cbor_exact(att_obj, att_len);
    if (!m) return VG_EINVAL;
    cbor_item_t *fmt = NULL, *stmt = NULL, *adi = NULL;
    rc = VG_EINVAL;
    if (!cbor_isa_map(m) || !cbor_map_is_definite(m)) goto out;
    struct cbor_pair *pr = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        cbor_item_t **slot = cbor_text_is(pr[i].key, "fmt") ? &fmt : cbor_text_is(pr[i].key, "attStmt") ? &stmt
                           : cbor_text_is(pr[i].key, "authData") ? &adi : NULL;
        if (!slot || *slot) goto out;   /* unknown or repeated key */
        *slot = pr[i].value;
    }
    const uint8_t *adp;
    size_t adl;
    if (!fmt || !stmt || !adi || cbor_bytes(adi, &adp, &adl) || vg_wa_authdata_parse(adp, adl, &ad)) goto out;
    if (!(ad.flags & VG_WA_AT)) goto out;
    if ((rc = authdata_check(&ad, rp_id, e))) goto out;
    if ((rc = cose_decode(ad.cose, ad.cose_len, &k))) goto out;
    if ((rc = signed_msg(adp, adl, cdj, cdj_len, msg))) goto out;
    memset(out, 0, sizeof *out);
    if (cbor_text_is(fmt, "none")) {
        rc = cbor_isa_map(stmt) && cbor_map_is_definite(stmt) && cbor_map_size(stmt) == 0 ? 0 : VG_EINVAL;
        snprintf(out->fmt, sizeof out->fmt, "none");
    } else if (cbor_text_is(fmt, "packed")) {
        rc = packed_self(stmt, &k, msg, adl + 32);
        snprintf(out->fmt, sizeof out->fmt, "packed");
    } else {
        rc = VG_EUNSUPPORTED;
    }
    if (rc) goto out;
    memcpy(out->cred_id, ad.cred_id, ad.cred_id_len);
    out->cred_id_len = ad.cred_id_len;
    memcpy(out->cose, ad.cose, ad.cose_len);
    out->cose_len = ad.cose_len;
    memcpy(out->aaguid, ad.aaguid, 16);
    out->alg = k.alg;
    out->sign_count = ad.sign_count;
    out->uv = (ad.flags & VG_WA_UV) != 0;
out:
    cbor_decref(&m);
    return rc;
}

int vg_wa_assert(const uint8_t *auth_data, size_t ad_len, const uint8_t *cdj, size_t cdj_len,
                 const uint8_t *sig, size_t sig_len, const uint8_t *cose, size_t cose_len,
                 const vg_wa_expect *e, uint32_t *count, int *uv)
{
    char rp_id[VG_WA_ORIGIN_MAX];
    uint8_t msg[AUTHDATA_MAX + 32];
    vg_wa_authdata ad;
    cose_key k;
    if (!count || !uv) return VG_EINVAL;
    int rc = vg_wa_client_data_check(cdj, cdj_len, "webauthn.get", e, rp_id, sizeof rp_id);
    if (rc) return rc;
    if (vg_wa_authdata_parse(auth_data, ad_len, &ad) || (ad.flags & VG_WA_AT)) return VG_EINVAL;
    if ((rc = authdata_check(&ad, rp_id, e))) return rc;
    if ((rc = cose_decode(cose, cose_len, &k))) return rc;
    if ((rc = signed_msg(auth_data, ad_len, cdj, cdj_len, msg))) return rc;
    if (verify_with(&k, msg, ad_len + 32, sig, sig_len)) return VG_ECRYPTO;
    *count = ad.sign_count;
    *uv = (ad.flags & VG_WA_UV) != 0;
    return 0;
}

int vg_wa_counter_ok(uint32_t stored, uint32_t received)
{
    if (stored == 0 && received == 0) return 1;   /* an authenticator without a counter */
    return received > stored;
}
