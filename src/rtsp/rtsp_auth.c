/* SPDX-License-Identifier: Apache-2.0 */
/* RTSP authentication: Basic (RFC 7617) and Digest (RFC 2617, RFC 7616:
 * MD5 or SHA-256, qop=auth or the legacy no-qop form). Hashes come from
 * OpenSSL EVP; nothing hand-rolled.
 *
 * Invariants:
 *  1. Intermediate buffers holding a password or HA1 are wiped before return.
 *  2. Challenge fields are bounded; an oversized or malformed challenge is
 *     unusable (VG_EUNSUPPORTED), never truncated. */
#include "rtsp/rtsp_int.h"
#include "core/err.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int quotable(const char *s);

typedef struct challenge {
    int scheme, qop_auth, sha256, has_alg;
    char realm[256], nonce[256], opaque[256];
} challenge;

/* Read one auth-param (RFC 7235 §2.1): token "=" ( token / quoted-string ).
 * Returns bytes consumed, 0 at end, -1 if malformed. */
static long next_param(const char *p, size_t n, vg__span *key, char *val, size_t valsz)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ',' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i == n)
        return 0;
    size_t ks = i;
    while (i < n && p[i] != '=' && p[i] != ',' && p[i] != ' ')
        i++;
    *key = (vg__span){p + ks, i - ks};
    while (i < n && p[i] == ' ')
        i++;
    if (i == n || p[i] != '=' || !key->n)
        return -1;
    i++;
    while (i < n && p[i] == ' ')
        i++;
    size_t o = 0;
    if (i < n && p[i] == '"') {
        for (i++; i < n && p[i] != '"'; i++) {
            if (p[i] == '\\' && i + 1 < n)
                i++;
            if (o + 1 >= valsz)
                return -1;
            val[o++] = p[i];
        }
        if (i == n)
            return -1;
        i++;
    } else {
        for (; i < n && p[i] != ',' && p[i] != ' '; i++) {
            if (o + 1 >= valsz)
                return -1;
            val[o++] = p[i];
        }
    }
    val[o] = '\0';
    return (long)i;
}

static int apply_param(challenge *c, vg__span k, const char *v)
{
    if (vg__span_ieq(k, "realm"))
        snprintf(c->realm, sizeof c->realm, "%s", v);
    else if (vg__span_ieq(k, "nonce"))
        snprintf(c->nonce, sizeof c->nonce, "%s", v);
    else if (vg__span_ieq(k, "opaque"))
        snprintf(c->opaque, sizeof c->opaque, "%s", v);
    else if (vg__span_ieq(k, "algorithm")) {
        c->has_alg = 1;
        if (strcasecmp(v, "SHA-256") == 0)
            c->sha256 = 1;
        else if (strcasecmp(v, "MD5") != 0)
            return VG_EUNSUPPORTED;   /* MD5-sess, SHA-512-256, ... */
    } else if (vg__span_ieq(k, "qop")) {
        /* A list such as "auth,auth-int": look for the "auth" element. */
        for (const char *t = v; *t;) {
            size_t l = strcspn(t, ", ");
            if (l == 4 && strncasecmp(t, "auth", 4) == 0)
                c->qop_auth = 1;
            t += l;
            t += strspn(t, ", ");
        }
        if (!c->qop_auth)
            return VG_EUNSUPPORTED;   /* only auth-int offered */
    }
    return 0;
}

static int parse_challenge(vg__span v, challenge *c)
{
    memset(c, 0, sizeof *c);
    size_t sl = 0;
    while (sl < v.n && v.p[sl] != ' ')
        sl++;
    vg__span scheme = {v.p, sl};
    if (vg__span_ieq(scheme, "Basic"))
        c->scheme = VG__AUTH_BASIC;
    else if (vg__span_ieq(scheme, "Digest"))
        c->scheme = VG__AUTH_DIGEST;
    else
        return VG_EUNSUPPORTED;
    const char *p = v.p + sl;
    size_t n = v.n - sl;
    char val[256];
    for (;;) {
        vg__span k;
        long used = next_param(p, n, &k, val, sizeof val);
        if (used < 0)
            return VG_EUNSUPPORTED;
        if (used == 0)
            break;
        if (apply_param(c, k, val))
            return VG_EUNSUPPORTED;
        p += used;
        n -= (size_t)used;
    }
    if (c->scheme == VG__AUTH_DIGEST && (!c->realm[0] || !c->nonce[0]))
        return VG_EUNSUPPORTED;
    /* Echoed back inside quotes: refuse values that would break out. */
    if (!quotable(c->realm) || !quotable(c->nonce) || !quotable(c->opaque))
        return VG_EUNSUPPORTED;
    return 0;
}

int vg__rtsp_auth_challenge(vg__rtsp_auth *a, const vg__rtsp_msg *m)
{
    challenge best = {0}, c;
    for (unsigned i = 0; i < m->nhdr; i++) {
        if (!vg__span_ieq(m->name[i], "WWW-Authenticate"))
            continue;
        if (parse_challenge(m->value[i], &c))
            continue;
        /* Prefer Digest; among Digests the first usable one (RFC 7616 §3.7:
         * servers list their preferred algorithm first). */
        if (c.scheme > best.scheme)
            best = c;
    }
    if (!best.scheme)
        return VG_EUNSUPPORTED;
    int same_nonce = a->scheme == VG__AUTH_DIGEST && strcmp(a->nonce, best.nonce) == 0;
    a->scheme = best.scheme;
    a->qop_auth = best.qop_auth;
    a->sha256 = best.sha256;
    if (!same_nonce)
        a->nc = 0;
    memcpy(a->realm, best.realm, sizeof a->realm);
    memcpy(a->nonce, best.nonce, sizeof a->nonce);
    memcpy(a->opaque, best.opaque, sizeof a->opaque);
    return 0;
}

/* hex(H(parts[0] ":" parts[1] ":" ...)) into out (>= 65 bytes). */
static int hash_hex(int sha256, const char *const *parts, unsigned nparts, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int ok = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, sha256 ? EVP_sha256() : EVP_md5(), NULL) == 1) {
        ok = 1;
        for (unsigned i = 0; i < nparts && ok; i++)
            ok = (i == 0 || EVP_DigestUpdate(ctx, ":", 1) == 1) &&
                 EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) == 1;
        ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen <= 32;
    }
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return VG_ECRYPTO;
    sodium_bin2hex(out, 65, md, mdlen);
    sodium_memzero(md, sizeof md);
    return 0;
}

static int quotable(const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < ' ')
            return 0;
    return 1;
}

static int basic_header(const char *user, const char *pass, char *out, size_t outsz)
{
    char raw[260];
    int rc = 0;
    int n = snprintf(raw, sizeof raw, "%s:%s", user, pass);
    if (n < 0 || (size_t)n >= sizeof raw)
        rc = VG_ETOOBIG;
    else if (outsz < 6 + sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_ORIGINAL))
        rc = VG_ETOOBIG;
    else {
        memcpy(out, "Basic ", 6);
        sodium_bin2base64(out + 6, outsz - 6, (const unsigned char *)raw, (size_t)n,
                          sodium_base64_VARIANT_ORIGINAL);
    }
    sodium_memzero(raw, sizeof raw);
    return rc;
}

static int digest_header(vg__rtsp_auth *a, const char *user, const char *pass, const char *method,
                         const char *uri, const char *cnonce_in, char *out, size_t outsz)
{
    char ha1[65], ha2[65], resp[65], nc[9], cnonce[65];
    if (!quotable(user) || !quotable(uri))
        return VG_EINVAL;
    if (cnonce_in) {
        if (strlen(cnonce_in) >= sizeof cnonce || !quotable(cnonce_in))
            return VG_EINVAL;
        snprintf(cnonce, sizeof cnonce, "%s", cnonce_in);
    }
    else {
        unsigned char rnd[8];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(cnonce, sizeof cnonce, rnd, sizeof rnd);
    }
    snprintf(nc, sizeof nc, "%08x", (unsigned)++a->nc);
    const char *p1[] = {user, a->realm, pass};
    const char *p2[] = {method, uri};
    int rc = hash_hex(a->sha256, p1, 3, ha1);
    if (!rc)
        rc = hash_hex(a->sha256, p2, 2, ha2);
    if (!rc && a->qop_auth) {
        const char *p3[] = {ha1, a->nonce, nc, cnonce, "auth", ha2};
        rc = hash_hex(a->sha256, p3, 6, resp);
    } else if (!rc) {
        const char *p3[] = {ha1, a->nonce, ha2};
        rc = hash_hex(a->sha256, p3, 3, resp);
    }
    sodium_memzero(ha1, sizeof ha1);
    if (rc)
        return rc;
    char opaque[300] = "", qop[120] = "";
    if (a->opaque[0])
        snprintf(opaque, sizeof opaque, ", opaque=\"%s\"", a->opaque);
    if (a->qop_auth)
        snprintf(qop, sizeof qop, ", qop=auth, nc=%s, cnonce=\"%s\"", nc, cnonce);
    int n = snprintf(out, outsz,
                     "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                     "response=\"%s\"%s%s%s",
                     user, a->realm, a->nonce, uri, resp,
                     a->sha256 ? ", algorithm=SHA-256" : "", opaque, qop);
    if (n < 0 || (size_t)n >= outsz)
        return VG_ETOOBIG;
    return 0;
}

int vg__rtsp_auth_header(vg__rtsp_auth *a, const char *user, const char *pass,
                         const char *method, const char *uri, const char *cnonce, char *out,
                         size_t outsz)
{
    if (a->scheme == VG__AUTH_BASIC)
        return basic_header(user, pass, out, outsz);
    if (a->scheme == VG__AUTH_DIGEST)
        return digest_header(a, user, pass, method, uri, cnonce, out, outsz);
    return VG_EINVAL;
}
