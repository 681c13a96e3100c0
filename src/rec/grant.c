/* SPDX-License-Identifier: Apache-2.0 */
/* Grant statements: strict parser and the recorder's verification
 * (docs/design/grants.md, format in grant.h).
 *
 * Invariants:
 *  1. Nothing is sealed to a grantee unless the statement's signature
 *     verifies with a key that is the pinned owner key or certified by it
 *     for the statement's organization.
 *  2. The parser accepts exactly one spelling of each statement (fixed line
 *     order, canonical integers and base64), so what the admin signed is
 *     what the recorder and the server read.
 *  3. Expiry is checked with this machine's clock, here and at every new
 *     segment (store/grantkeys.c). */
#include "rec/grant.h"
#include "rec/recorder.h"
#include "core/err.h"
#include "core/log.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct cur {
    const char *p, *end;
} cur;

/* The next line's text after `key ` (key followed by one space); *n its length. */
static int line(cur *c, const char *key, const char **v, size_t *n)
{
    size_t kl = strlen(key);
    const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    if (!nl) return VG_EINVAL;
    size_t ll = (size_t)(nl - c->p);
    if (ll < kl + 2 || memcmp(c->p, key, kl) != 0 || c->p[kl] != ' ') return VG_EINVAL;
    *v = c->p + kl + 1;
    *n = ll - kl - 1;
    c->p = nl + 1;
    return 0;
}

static int int_of(const char *v, size_t n, int64_t *out)
{
    int64_t x = 0;
    if (n == 0 || n > 18 || (n > 1 && v[0] == '0')) return VG_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return VG_EINVAL;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return 0;
}

static int hex16(const char *v, size_t n, uint8_t out[16])
{
    if (n != 32) return VG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f'))) return VG_EINVAL;
    size_t got = 0;
    if (sodium_hex2bin(out, 16, v, n, NULL, &got, NULL) != 0 || got != 16) return VG_EINVAL;
    return 0;
}

static int b64_32(const char *v, size_t n, uint8_t out[32])
{
    char re[48];
    size_t got = 0;
    const char *end = NULL;
    if (n != 43) return VG_EINVAL;
    if (sodium_base642bin(out, 32, v, n, NULL, &got, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        got != 32 || end != v + n)
        return VG_EINVAL;
    /* canonical: the unused low bits of the last character must be zero */
    sodium_bin2base64(re, sizeof re, out, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return memcmp(re, v, 43) == 0 ? 0 : VG_EINVAL;
}

static int cams_of(const char *v, size_t n, vg_grant_stmt *g)
{
    size_t i = 0;
    g->ncams = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && v[j] != ' ') j++;
        if (j == i || j - i > 63 || g->ncams >= VG_GRANT_CAMS_MAX) return VG_EINVAL;
        char *name = g->cams[g->ncams];
        memcpy(name, v + i, j - i);
        name[j - i] = '\0';
        if (!vg_camera_name_ok(name)) return VG_EINVAL;
        for (size_t k = 0; k < g->ncams; k++)
            if (strcmp(g->cams[k], name) == 0) return VG_EINVAL;
        g->ncams++;
        if (j == n) break;
        i = j + 1;
        if (i == n) return VG_EINVAL;   /* trailing space */
    }
    return g->ncams ? 0 : VG_EINVAL;
}

int vg_grant_parse(const char *text, size_t len, vg_grant_stmt *g)
{
    static const char magic[] = "vigil-grant-v1\n";
    const char *v;
    size_t n;
    memset(g, 0, sizeof *g);
    if (!text || len > VG_GRANT_STMT_MAX || len < sizeof magic - 1 || memcmp(text, magic, sizeof magic - 1) != 0)
        return VG_EINVAL;
    if (memchr(text, '\0', len)) return VG_EINVAL;
    cur c = {text + sizeof magic - 1, text + len};
    if (line(&c, "org", &v, &n) || hex16(v, n, g->org)) return VG_EINVAL;
    if (line(&c, "grant", &v, &n) || hex16(v, n, g->uid)) return VG_EINVAL;
    if (line(&c, "grantee", &v, &n) || int_of(v, n, &g->grantee) || g->grantee <= 0) return VG_EINVAL;
    if (line(&c, "grantee_pk", &v, &n) || b64_32(v, n, g->grantee_pk)) return VG_EINVAL;
    if (line(&c, "cameras", &v, &n) || cams_of(v, n, g)) return VG_EINVAL;
    if (line(&c, "from", &v, &n) || int_of(v, n, &g->from90k)) return VG_EINVAL;
    if (line(&c, "to", &v, &n) || int_of(v, n, &g->to90k)) return VG_EINVAL;
    if (line(&c, "expires", &v, &n) || int_of(v, n, &g->expires)) return VG_EINVAL;
    if (c.p != c.end || g->from90k >= g->to90k) return VG_EINVAL;
    return 0;
}

int vg_signcert_text(const uint8_t org[16], int64_t member, const uint8_t sign_pk[32], char *out, size_t outsz)
{
    char hex[33], b64[48];
    sodium_bin2hex(hex, sizeof hex, org, 16);
    sodium_bin2base64(b64, sizeof b64, sign_pk, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    int n = snprintf(out, outsz, "vigil-signkey-v1\norg %s\nmember %" PRId64 "\nsign_pk %s\n", hex, member, b64);
    return n < 0 || (size_t)n >= outsz ? VG_ETOOBIG : n;
}

int vg_grant_verify(const uint8_t owner_pk[32], const vg_grant_proof *p, vg_grant_stmt *out)
{
    if (!p->stmt || !p->sig || !p->signer_pk) return VG_ECRYPTO;
    int rc = vg_grant_parse(p->stmt, p->stmt_len, out);
    if (rc) return rc;
    if (sodium_memcmp(p->signer_pk, owner_pk, 32) != 0) {
        char cert[256];
        int n = vg_signcert_text(out->org, p->signer_member, p->signer_pk, cert, sizeof cert);
        if (n < 0 || !p->cert_sig ||
            crypto_sign_verify_detached(p->cert_sig, (const uint8_t *)cert, (size_t)n, owner_pk) != 0)
            return VG_ECRYPTO;
    }
    if (crypto_sign_verify_detached(p->sig, (const uint8_t *)p->stmt, p->stmt_len, p->signer_pk) != 0)
        return VG_ECRYPTO;
    return 0;
}

int vg_rec_grant_apply(vg_store *st, int64_t grant_id, const vg_grant_proof *p)
{
    vg_grant_stmt g;
    uint8_t owner[32];
    /* Parse first for the organization, then verify against its pinned root. */
    int rc = vg_grant_parse(p->stmt, p->stmt_len, &g);
    if (rc) return rc;
    rc = vg_store_trust_get(st, g.org, owner);
    if (rc) {
        vg_warn("rec", "grant %" PRId64 " refused: no owner key pinned for its organization", grant_id);
        return rc;
    }
    rc = vg_grant_verify(owner, p, &g);
    if (rc) {
        vg_warn("rec", "grant %" PRId64 " refused: its signature does not verify", grant_id);
        return rc;
    }
    if (g.expires <= (int64_t)time(NULL)) return VG_ETIMEDOUT;
    const char *names[VG_GRANT_CAMS_MAX];
    for (size_t i = 0; i < g.ncams; i++) names[i] = g.cams[i];
    rc = vg_store_grant_set(st, grant_id, names, g.ncams, g.grantee_pk, g.from90k, g.to90k, g.expires);
    if (rc == 0) vg_info("rec", "grant %" PRId64 ": sealing new segments to its grantee until %" PRId64, grant_id,
                         g.expires);
    return rc;
}
