/* SPDX-License-Identifier: Apache-2.0 */
/* WebAuthn verification against test vectors made here with OpenSSL: fresh
 * ES256 (P-256) and Ed25519 keys, COSE keys, authenticatorData and
 * clientDataJSON built byte by byte as an authenticator would, signed. Each
 * refusal the server relies on is tested by breaking one thing at a time. */
#include "auth/webauthn.h"
#include "core/err.h"
#include "vg_test.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

static const char *ORIGINS[] = {"https://localhost:8443", "https://127.0.0.1:8443"};

typedef struct key {
    EVP_PKEY *pk;
    int alg;
    uint8_t cose[128];
    size_t cose_len;
} key;

static void key_new(key *k, int alg)
{
    memset(k, 0, sizeof *k);
    k->alg = alg;
    k->pk = alg == VG_WA_ES256 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    uint8_t *c = k->cose;
    if (alg == VG_WA_ES256) {
        uint8_t pt[65];
        size_t n = 0;
        EVP_PKEY_get_octet_string_param(k->pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n);
        static const uint8_t head[] = {0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20};
        memcpy(c, head, sizeof head); c += sizeof head;
        memcpy(c, pt + 1, 32); c += 32;
        *c++ = 0x22; *c++ = 0x58; *c++ = 0x20;
        memcpy(c, pt + 33, 32); c += 32;
    } else {
        uint8_t raw[32];
        size_t n = sizeof raw;
        EVP_PKEY_get_raw_public_key(k->pk, raw, &n);
        static const uint8_t head[] = {0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58, 0x20};
        memcpy(c, head, sizeof head); c += sizeof head;
        memcpy(c, raw, 32); c += 32;
    }
    k->cose_len = (size_t)(c - k->cose);
}

static size_t sign(const key *k, const uint8_t *msg, size_t n, uint8_t *sig)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t sl = 80;
    EVP_DigestSignInit(ctx, NULL, k->alg == VG_WA_ES256 ? EVP_sha256() : NULL, NULL, k->pk);
    EVP_DigestSign(ctx, sig, &sl, msg, n);
    EVP_MD_CTX_free(ctx);
    return sl;
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned l;
    EVP_Digest(p, n, out, &l, EVP_sha256(), NULL);
}

/* authenticatorData; cred != NULL adds attested credential data. */
static size_t authdata(uint8_t *out, const char *rp_id, uint8_t flags, uint32_t count, const key *cred)
{
    uint8_t *p = out;
    sha256(rp_id, strlen(rp_id), p); p += 32;
    *p++ = flags;
    *p++ = (uint8_t)(count >> 24); *p++ = (uint8_t)(count >> 16); *p++ = (uint8_t)(count >> 8); *p++ = (uint8_t)count;
    if (cred) {
        memset(p, 0xaa, 16); p += 16;
        *p++ = 0; *p++ = 16;
        memset(p, 0x42, 16); p += 16;
        memcpy(p, cred->cose, cred->cose_len); p += cred->cose_len;
    }
    return (size_t)(p - out);
}

static size_t client_data(char *out, size_t sz, const char *type, const uint8_t chal[32], const char *origin)
{
    char b[64];
    sodium_bin2base64(b, sizeof b, chal, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return (size_t)snprintf(out, sz, "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\",\"crossOrigin\":false}",
                            type, b, origin);
}

/* attestationObject {fmt, attStmt, authData}; packed: self-attestation signature. */
static size_t att_object(uint8_t *out, const uint8_t *ad, size_t adl, const char *fmt, const key *k,
                         const uint8_t *cdj, size_t cdjl, int alg_in_stmt)
{
    uint8_t *p = out;
    *p++ = 0xa3;
    *p++ = 0x63; memcpy(p, "fmt", 3); p += 3;
    *p++ = (uint8_t)(0x60 + strlen(fmt)); memcpy(p, fmt, strlen(fmt)); p += strlen(fmt);
    *p++ = 0x67; memcpy(p, "attStmt", 7); p += 7;
    if (strcmp(fmt, "packed") == 0) {
        uint8_t msg[2048], sig[80];
        memcpy(msg, ad, adl);
        sha256(cdj, cdjl, msg + adl);
        size_t sl = sign(k, msg, adl + 32, sig);
        *p++ = 0xa2;
        *p++ = 0x63; memcpy(p, "alg", 3); p += 3;
        *p++ = (uint8_t)(0x20 + (-1 - alg_in_stmt));
        *p++ = 0x63; memcpy(p, "sig", 3); p += 3;
        *p++ = 0x58; *p++ = (uint8_t)sl; memcpy(p, sig, sl); p += sl;
    } else {
        *p++ = 0xa0;
    }
    *p++ = 0x68; memcpy(p, "authData", 8); p += 8;
    *p++ = 0x59; *p++ = (uint8_t)(adl >> 8); *p++ = (uint8_t)adl;
    memcpy(p, ad, adl); p += adl;
    return (size_t)(p - out);
}

static vg_wa_expect expect(const uint8_t chal[32])
{
    vg_wa_expect e = {chal, ORIGINS, 2, 0};
    return e;
}

static int do_register(const key *k, const char *fmt, const char *rp_id, uint8_t flags, const char *type,
                       const uint8_t chal_sent[32], const uint8_t chal_expected[32], const char *origin, vg_wa_cred *out)
{
    uint8_t ad[1024], att[2048];
    char cdj[512];
    size_t adl = authdata(ad, rp_id, flags, 0, k);
    size_t cl = client_data(cdj, sizeof cdj, type, chal_sent, origin);
    size_t al = att_object(att, ad, adl, fmt, k, (uint8_t *)cdj, cl, k->alg);
    vg_wa_expect e = expect(chal_expected);
    return vg_wa_register(att, al, (uint8_t *)cdj, cl, &e, out);
}

static int do_assert(const key *signer, const key *stored, const char *rp_id, uint8_t flags, uint32_t count,
                     const char *type, const uint8_t chal[32], const char *origin, int corrupt, uint32_t *got)
{
    uint8_t ad[64], msg[128], sig[80];
    char cdj[512];
    int uv;
    size_t adl = authdata(ad, rp_id, flags, count, NULL);
    size_t cl = client_data(cdj, sizeof cdj, type, chal, origin);
    memcpy(msg, ad, adl);
    sha256(cdj, cl, msg + adl);
    size_t sl = sign(signer, msg, adl + 32, sig);
    if (corrupt == 1) ad[36] ^= 1;            /* counter changed after signing */
    if (corrupt == 2) cdj[cl - 2] = ' ';      /* clientDataJSON changed after signing */
    vg_wa_expect e = expect(chal);
    return vg_wa_assert(ad, adl, (uint8_t *)cdj, cl, sig, sl, stored->cose, stored->cose_len, &e, got, &uv);
}

static void ceremony(int alg, const char *fmt)
{
    key k, other;
    vg_wa_cred cred;
    uint8_t chal[32], chal2[32];
    uint32_t count = 0;
    key_new(&k, alg);
    key_new(&other, alg);
    randombytes_buf(chal, 32);
    randombytes_buf(chal2, 32);
    CHECK_EQ(do_register(&k, fmt, "localhost", VG_WA_UP | VG_WA_AT, "webauthn.create", chal, chal,
                         "https://localhost:8443", &cred), 0);
    CHECK_EQ(cred.alg, alg);
    CHECK_EQ(cred.cred_id_len, 16);
    CHECK_EQ(cred.cose_len, k.cose_len);
    CHECK_MEM(cred.cose, k.cose, k.cose_len);
    CHECK(strcmp(cred.fmt, fmt) == 0);
    CHECK_EQ(cred.uv, 0);
    /* registration refusals */
    CHECK_EQ(do_register(&k, fmt, "localhost", VG_WA_UP | VG_WA_AT, "webauthn.create", chal2, chal,
                         "https://localhost:8443", &cred), VG_EAUTH);   /* another challenge */
    CHECK_EQ(do_register(&k, fmt, "localhost", VG_WA_UP | VG_WA_AT, "webauthn.create", chal, chal,
                         "https://evil.example:8443", &cred), VG_EAUTH);  /* foreign origin */
    CHECK_EQ(do_register(&k, fmt, "localhost", VG_WA_UP | VG_WA_AT, "webauthn.get", chal, chal,
                         "https://localhost:8443", &cred), VG_EAUTH);   /* an assertion's clientData */
    CHECK_EQ(do_register(&k, fmt, "evil.example", VG_WA_UP | VG_WA_AT, "webauthn.create", chal, chal,
                         "https://localhost:8443", &cred), VG_EAUTH);   /* rpIdHash of another site */
    CHECK_EQ(do_register(&k, fmt, "localhost", VG_WA_AT, "webauthn.create", chal, chal,
                         "https://localhost:8443", &cred), VG_EAUTH);   /* no user presence */
    CHECK(do_register(&k, fmt, "localhost", VG_WA_UP, "webauthn.create", chal, chal,
                      "https://localhost:8443", &cred) != 0);           /* no attested credential */

    /* assertions */
    CHECK_EQ(do_assert(&k, &k, "localhost", VG_WA_UP, 5, "webauthn.get", chal, "https://localhost:8443", 0, &count), 0);
    CHECK_EQ(count, 5);
    CHECK_EQ(do_assert(&k, &k, "127.0.0.1", VG_WA_UP | VG_WA_UV, 6, "webauthn.get", chal, "https://127.0.0.1:8443", 0,
                       &count), 0);
    CHECK_EQ(do_assert(&other, &k, "localhost", VG_WA_UP, 5, "webauthn.get", chal, "https://localhost:8443", 0,
                       &count), VG_ECRYPTO);   /* signed by another authenticator */
    CHECK_EQ(do_assert(&k, &k, "localhost", VG_WA_UP, 5, "webauthn.get", chal, "https://localhost:8443", 1, &count),
             VG_ECRYPTO);   /* authenticatorData altered */
    CHECK(do_assert(&k, &k, "localhost", VG_WA_UP, 5, "webauthn.get", chal, "https://localhost:8443", 2, &count) != 0);
    CHECK_EQ(do_assert(&k, &k, "localhost", 0, 5, "webauthn.get", chal, "https://localhost:8443", 0, &count), VG_EAUTH);
    CHECK_EQ(do_assert(&k, &k, "localhost", VG_WA_UP, 5, "webauthn.create", chal, "https://localhost:8443", 0, &count),
             VG_EAUTH);
    CHECK_EQ(do_assert(&k, &k, "localhost", VG_WA_UP, 5, "webauthn.get", chal, "https://localhost:9999", 0, &count),
             VG_EAUTH);   /* an origin we do not serve (another port) */
    CHECK_EQ(do_assert(&k, &k, "localhost", VG_WA_UP, 5, "webauthn.get", chal, "https://127.0.0.1:8443", 0, &count),
             VG_EAUTH);   /* rpIdHash does not match the origin's host */
    /* UV as policy */
    {
        uint8_t ad[64], msg[128], sig[80];
        char cdj[512];
        int uv;
        size_t adl = authdata(ad, "localhost", VG_WA_UP, 7, NULL), cl = client_data(cdj, sizeof cdj, "webauthn.get", chal,
                                                                                      "https://localhost:8443");
        memcpy(msg, ad, adl);
        sha256(cdj, cl, msg + adl);
        size_t sl = sign(&k, msg, adl + 32, sig);
        vg_wa_expect e = expect(chal);
        e.require_uv = 1;
        CHECK_EQ(vg_wa_assert(ad, adl, (uint8_t *)cdj, cl, sig, sl, k.cose, k.cose_len, &e, &count, &uv), VG_EAUTH);
        e.require_uv = 0;
        CHECK_EQ(vg_wa_assert(ad, adl, (uint8_t *)cdj, cl, sig, sl, k.cose, k.cose_len, &e, &count, &uv), 0);
        /* every truncation and one trailing byte are refused, never read past */
        for (size_t n = 0; n < adl; n++)
            CHECK(vg_wa_assert(ad, n, (uint8_t *)cdj, cl, sig, sl, k.cose, k.cose_len, &e, &count, &uv) != 0);
        ad[adl] = 0;
        CHECK_EQ(vg_wa_assert(ad, adl + 1, (uint8_t *)cdj, cl, sig, sl, k.cose, k.cose_len, &e, &count, &uv), VG_EINVAL);
    }
    EVP_PKEY_free(k.pk);
    EVP_PKEY_free(other.pk);
}

static void t_es256_none(void) { ceremony(VG_WA_ES256, "none"); }
static void t_eddsa_none(void) { ceremony(VG_WA_EDDSA, "none"); }
static void t_es256_packed_self(void) { ceremony(VG_WA_ES256, "packed"); }
static void t_eddsa_packed_self(void) { ceremony(VG_WA_EDDSA, "packed"); }

static void t_packed_wrong_alg_and_unknown_fmt(void)
{
    key k;
    vg_wa_cred cred;
    uint8_t chal[32], ad[1024], att[2048];
    char cdj[512];
    key_new(&k, VG_WA_ES256);
    randombytes_buf(chal, 32);
    size_t adl = authdata(ad, "localhost", VG_WA_UP | VG_WA_AT, 0, &k);
    size_t cl = client_data(cdj, sizeof cdj, "webauthn.create", chal, "https://localhost:8443");
    vg_wa_expect e = expect(chal);
    size_t al = att_object(att, ad, adl, "packed", &k, (uint8_t *)cdj, cl, VG_WA_EDDSA);
    CHECK_EQ(vg_wa_register(att, al, (uint8_t *)cdj, cl, &e, &cred), VG_EAUTH);
    al = att_object(att, ad, adl, "tpm", &k, (uint8_t *)cdj, cl, 0);
    CHECK_EQ(vg_wa_register(att, al, (uint8_t *)cdj, cl, &e, &cred), VG_EUNSUPPORTED);
    al = att_object(att, ad, adl, "none", &k, (uint8_t *)cdj, cl, 0);
    CHECK_EQ(vg_wa_register(att, al, (uint8_t *)cdj, cl, &e, &cred), 0);
    for (size_t n = 0; n < al; n++) CHECK(vg_wa_register(att, n, (uint8_t *)cdj, cl, &e, &cred) != 0);
    EVP_PKEY_free(k.pk);
}

static void t_cbor_bounds(void)
{
    size_t l;
    static const uint8_t huge_array[] = {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    static const uint8_t huge_bytes[] = {0x5a, 0x7f, 0xff, 0xff, 0xff, 0x00};
    static const uint8_t indefinite[] = {0x9f, 0x01, 0xff};
    static const uint8_t map_odd[] = {0xa2, 0x01, 0x02, 0x03};
    static const uint8_t ok[] = {0xa1, 0x01, 0x82, 0x02, 0x43, 1, 2, 3, 0xff};
    uint8_t deep[20];
    memset(deep, 0x81, sizeof deep);
    deep[19] = 0;
    CHECK_EQ(vg_wa_cbor_item_len(huge_array, sizeof huge_array, &l), VG_EINVAL);
    CHECK_EQ(vg_wa_cbor_item_len(huge_bytes, sizeof huge_bytes, &l), VG_EINVAL);
    CHECK_EQ(vg_wa_cbor_item_len(indefinite, sizeof indefinite, &l), VG_EINVAL);
    CHECK_EQ(vg_wa_cbor_item_len(map_odd, sizeof map_odd, &l), VG_EINVAL);
    CHECK_EQ(vg_wa_cbor_item_len(deep, sizeof deep, &l), VG_EINVAL);
    CHECK_EQ(vg_wa_cbor_item_len(ok, sizeof ok, &l), 0);
    CHECK_EQ(l, 8);   /* the trailing byte is not part of the item */
}

static void t_cose(void)
{
    key k;
    int alg = 0;
    key_new(&k, VG_WA_ES256);
    CHECK_EQ(vg_wa_cose_parse(k.cose, k.cose_len, &alg), 0);
    CHECK_EQ(alg, VG_WA_ES256);
    k.cose[4] = 0x38; /* alg -25 (ECDH): not a signature algorithm we take */
    CHECK(vg_wa_cose_parse(k.cose, k.cose_len, &alg) != 0);
    k.cose[4] = 0x26;
    k.cose[11] ^= 0x55;   /* x no longer on the curve */
    uint8_t msg[4] = {1, 2, 3, 4}, sig[72] = {0x30};
    CHECK(vg_wa_verify_sig(k.cose, k.cose_len, msg, 4, sig, 72) != 0);
    EVP_PKEY_free(k.pk);
    static const uint8_t rsa[] = {0xa3, 0x01, 0x03, 0x03, 0x39, 0x01, 0x00, 0x20, 0x41, 0x00};   /* RS256 */
    CHECK(vg_wa_cose_parse(rsa, sizeof rsa, &alg) != 0);
    static const uint8_t dup[] = {0xa2, 0x01, 0x01, 0x01, 0x01};
    CHECK_EQ(vg_wa_cose_parse(dup, sizeof dup, &alg), VG_EINVAL);
}

static void t_counter(void)
{
    CHECK(vg_wa_counter_ok(0, 0));
    CHECK(vg_wa_counter_ok(0, 1));
    CHECK(vg_wa_counter_ok(5, 6));
    CHECK(!vg_wa_counter_ok(5, 5));
    CHECK(!vg_wa_counter_ok(5, 4));
    CHECK(!vg_wa_counter_ok(5, 0));
}

static void t_client_data(void)
{
    uint8_t chal[32];
    char rp[64];
    randombytes_buf(chal, 32);
    vg_wa_expect e = expect(chal);
    char cdj[512];
    size_t n = client_data(cdj, sizeof cdj, "webauthn.get", chal, "https://127.0.0.1:8443");
    CHECK_EQ(vg_wa_client_data_check((uint8_t *)cdj, n, "webauthn.get", &e, rp, sizeof rp), 0);
    CHECK(strcmp(rp, "127.0.0.1") == 0);
    char b[64];
    sodium_bin2base64(b, sizeof b, chal, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(cdj, sizeof cdj, "{\"type\":\"webauthn.get\",\"challenge\":\"%s\",\"origin\":\"https://localhost:8443\","
             "\"crossOrigin\":true}", b);
    CHECK_EQ(vg_wa_client_data_check((uint8_t *)cdj, strlen(cdj), "webauthn.get", &e, rp, sizeof rp), VG_EAUTH);
    snprintf(cdj, sizeof cdj, "{\"type\":\"webauthn.get\",\"challenge\":\"%s\",\"origin\":\"https://localhost:8443\","
             "\"origin\":\"https://localhost:8443\"}", b);
    CHECK_EQ(vg_wa_client_data_check((uint8_t *)cdj, strlen(cdj), "webauthn.get", &e, rp, sizeof rp), VG_EINVAL);
    snprintf(cdj, sizeof cdj, "{\"type\":\"webauthn.get\",\"challenge\":\"%s=\",\"origin\":\"https://localhost:8443\"}", b);
    CHECK(vg_wa_client_data_check((uint8_t *)cdj, strlen(cdj), "webauthn.get", &e, rp, sizeof rp) != 0);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    RUN(t_es256_none);
    RUN(t_eddsa_none);
    RUN(t_es256_packed_self);
    RUN(t_eddsa_packed_self);
    RUN(t_packed_wrong_alg_and_unknown_fmt);
    RUN(t_cbor_bounds);
    RUN(t_cose);
    RUN(t_counter);
    RUN(t_client_data);
    return vg_test_done();
}
