/* SPDX-License-Identifier: Apache-2.0 */
/* Grant statements and the recorder's verification (docs/design/grants.md):
 * strict parsing, the owner -> admin -> statement signature chain, expiry on
 * the recorder's clock, and sealing new segment keys to a live grantee only
 * while the grant stands. */
#include "vg_test.h"
#include "rec/grant.h"
#include "store/store_int.h"
#include "core/err.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEC 90000
#define T0 (160000000000000LL)

static const uint8_t ORG[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static uint8_t owner_pk[32], owner_sk[64], admin_pk[32], admin_sk[64], gpk[32], gsk[32], cpk[32], csk[32];

static int stmt_text(char *out, size_t n, const uint8_t org[16], const char *cams, int64_t from, int64_t to,
                     int64_t expires)
{
    char hex[33], b64[48];
    sodium_bin2hex(hex, sizeof hex, org, 16);
    sodium_bin2base64(b64, sizeof b64, gpk, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return snprintf(out, n, "vigil-grant-v1\norg %s\ngrant 00112233445566778899aabbccddeeff\ngrantee 7\n"
                    "grantee_pk %s\ncameras %s\nfrom %lld\nto %lld\nexpires %lld\n", hex, b64, cams, (long long)from,
                    (long long)to, (long long)expires);
}

static void t_parse(void)
{
    char s[1024];
    vg_grant_stmt g;
    int n = stmt_text(s, sizeof s, ORG, "demo cam-3", 100, 200, 1900000000);
    CHECK_EQ(vg_grant_parse(s, (size_t)n, &g), 0);
    CHECK_EQ(g.ncams, 2);
    CHECK(strcmp(g.cams[1], "cam-3") == 0);
    CHECK_EQ(g.grantee, 7);
    CHECK_EQ(g.to90k, 200);
    CHECK_MEM(g.org, ORG, 16);
    CHECK_MEM(g.grantee_pk, gpk, 32);
    /* One spelling only. */
    const char *bad_cams[] = {"", "demo ", " demo", "demo  cam-3", "demo demo", "de/mo", ".x"};
    for (size_t i = 0; i < sizeof bad_cams / sizeof bad_cams[0]; i++) {
        n = stmt_text(s, sizeof s, ORG, bad_cams[i], 100, 200, 1900000000);
        CHECK(vg_grant_parse(s, (size_t)n, &g) != 0);
    }
    n = stmt_text(s, sizeof s, ORG, "demo", 200, 200, 1900000000);
    CHECK(vg_grant_parse(s, (size_t)n, &g) != 0);   /* empty range */
    n = stmt_text(s, sizeof s, ORG, "a b c d e f g h i j k l m n o p q", 1, 2, 3);
    CHECK(vg_grant_parse(s, (size_t)n, &g) != 0);   /* 17 cameras */
    n = stmt_text(s, sizeof s, ORG, "demo", 100, 200, 1900000000);
    CHECK(vg_grant_parse(s, (size_t)n - 1, &g) != 0);   /* no final newline */
    char t[1100];
    snprintf(t, sizeof t, "%sextra 1\n", s);
    CHECK(vg_grant_parse(t, strlen(t), &g) != 0);
    snprintf(t, sizeof t, "%s", s);
    char *p = strstr(t, "from 100");
    memcpy(p, "from 010", 8);
    CHECK(vg_grant_parse(t, strlen(t), &g) != 0);   /* leading zero */
    snprintf(t, sizeof t, "%s", s);
    p = strstr(t, "org ") + 4;
    *p = 'A';
    CHECK(vg_grant_parse(t, strlen(t), &g) != 0);   /* upper-case hex */
    CHECK(vg_grant_parse(s, 5, &g) != 0);
    CHECK(vg_grant_parse(NULL, 0, &g) != 0);
}

static void mktmp(char *d, size_t n)
{
    snprintf(d, n, "/tmp/vg_grant_XXXXXX");
    CHECK(mkdtemp(d) != NULL);
}

static void rm_rf(const char *d)
{
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/rm", "rm", "-rf", d, (char *)NULL);
        _exit(127);
    }
    waitpid(p, NULL, 0);
}

static vg_store *open_store(const char *dir)
{
    vg_store_opts o = {.dir = dir, .segment_seconds = 2, .sync_interval_ms = 50};
    vg_store *st = NULL;
    CHECK_EQ(vg_store_open(&o, &st), 0);
    return st;
}

static vg_grant_proof proof(const char *s, size_t n, uint8_t sig[64], const uint8_t *sk, const uint8_t *pk,
                            int64_t member, const uint8_t *cert)
{
    crypto_sign_detached(sig, NULL, (const uint8_t *)s, n, sk);
    return (vg_grant_proof){s, n, sig, pk, member, cert};
}

static void t_chain(void)
{
    char d[64], s[1024], cert_text[256];
    uint8_t sig[64], cert[64], zero[64] = {0}, other_pk[32], other_sk[64];
    mktmp(d, sizeof d);
    vg_store *st = open_store(d);
    int64_t cam;
    CHECK_EQ(vg_store_camera(st, "demo", cpk, 0, 0, &cam), 0);
    int n = stmt_text(s, sizeof s, ORG, "demo", 0, 1000 * SEC, (int64_t)time(NULL) + 3600);
    vg_grant_proof p = proof(s, (size_t)n, sig, owner_sk, owner_pk, 1, NULL);
    CHECK_EQ(vg_rec_grant_apply(st, 1, &p), VG_ENOTFOUND);   /* nothing pinned: no root */
    CHECK_EQ(vg_store_trust_pin(st, ORG, owner_pk), 0);
    CHECK_EQ(vg_store_trust_pin(st, ORG, owner_pk), 0);
    CHECK_EQ(vg_store_trust_pin(st, ORG, admin_pk), VG_EAUTH);   /* never replaced */
    CHECK_EQ(st->ngrants, 0);
    /* Forged: signed by a key that is neither the owner's nor certified. */
    crypto_sign_keypair(other_pk, other_sk);
    p = proof(s, (size_t)n, sig, other_sk, other_pk, 1, NULL);
    CHECK_EQ(vg_rec_grant_apply(st, 1, &p), VG_ECRYPTO);
    /* Claims the owner's key but the signature is someone else's / zeros / absent. */
    p = proof(s, (size_t)n, sig, other_sk, owner_pk, 1, NULL);
    CHECK_EQ(vg_rec_grant_apply(st, 1, &p), VG_ECRYPTO);
    p.sig = zero;
    CHECK_EQ(vg_rec_grant_apply(st, 1, &p), VG_ECRYPTO);
    p.sig = NULL;
    CHECK(vg_rec_grant_apply(st, 1, &p) != 0);
    /* An admin's key without, then with a wrong, then with the owner's certificate. */
    p = proof(s, (size_t)n, sig, admin_sk, admin_pk, 5, NULL);
    CHECK_EQ(vg_rec_grant_apply(st, 2, &p), VG_ECRYPTO);
    int cn = vg_signcert_text(ORG, 6, admin_pk, cert_text, sizeof cert_text);   /* for another member */
    crypto_sign_detached(cert, NULL, (const uint8_t *)cert_text, (size_t)cn, owner_sk);
    p.cert_sig = cert;
    CHECK_EQ(vg_rec_grant_apply(st, 2, &p), VG_ECRYPTO);
    cn = vg_signcert_text(ORG, 5, admin_pk, cert_text, sizeof cert_text);
    crypto_sign_detached(cert, NULL, (const uint8_t *)cert_text, (size_t)cn, other_sk);   /* not the owner */
    CHECK_EQ(vg_rec_grant_apply(st, 2, &p), VG_ECRYPTO);
    CHECK_EQ(st->ngrants, 0);
    crypto_sign_detached(cert, NULL, (const uint8_t *)cert_text, (size_t)cn, owner_sk);
    CHECK_EQ(vg_rec_grant_apply(st, 2, &p), 0);
    CHECK_EQ(st->ngrants, 1);
    /* A statement changed after signing. */
    s[n - 3] = s[n - 3] == '1' ? '2' : '1';
    CHECK_EQ(vg_rec_grant_apply(st, 3, &p), VG_ECRYPTO);
    /* Expired by the recorder's clock. */
    n = stmt_text(s, sizeof s, ORG, "demo", 0, 1000 * SEC, (int64_t)time(NULL) - 1);
    p = proof(s, (size_t)n, sig, owner_sk, owner_pk, 1, NULL);
    CHECK_EQ(vg_rec_grant_apply(st, 4, &p), VG_ETIMEDOUT);
    CHECK_EQ(st->ngrants, 1);
    vg_store_close(st);
    rm_rf(d);
}

static int put_frag(vg_recw *w, int64_t start, int key)
{
    size_t len = 300;
    uint8_t *b = calloc(1, VG_RECW_HEADROOM + len + VG_RECW_TAILROOM);
    int rc = vg_recw_fragment(w, start, SEC, key ? VG_FRAG_KEY : 0, b + VG_RECW_HEADROOM, len);
    free(b);
    return rc;
}

/* Segments (ids) that have a key sealed to grant gid in the index, and that
 * key opens with the grantee's secret key to the camera-sealed content key. */
static int sealed_ok(const char *dir, int64_t gid, int64_t *nseg)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    char path[256];
    int ok = 1;
    *nseg = 0;
    snprintf(path, sizeof path, "%s/index.db", dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return 0;
    sqlite3_prepare_v2(db, "SELECT g.sealed_key, s.sealed_key FROM grant_keys g JOIN segments s ON s.id = g.segment "
                       "WHERE g.grant_id = ?", -1, &s, NULL);
    sqlite3_bind_int64(s, 1, gid);
    while (sqlite3_step(s) == SQLITE_ROW) {
        uint8_t a[32], b[32];
        ok &= crypto_box_seal_open(a, sqlite3_column_blob(s, 0), 80, gpk, gsk) == 0;
        ok &= crypto_box_seal_open(b, sqlite3_column_blob(s, 1), 80, cpk, csk) == 0;
        ok &= memcmp(a, b, 32) == 0;
        (*nseg)++;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return ok;
}

static void t_sealing(void)
{
    char d[64], s[1024];
    uint8_t sig[64];
    mktmp(d, sizeof d);
    vg_store *st = open_store(d);
    int64_t cam, other, n = 0;
    vg_recw *w = NULL;
    static const uint8_t init[16] = "init-segment....";
    CHECK_EQ(vg_store_camera(st, "demo", cpk, 0, 0, &cam), 0);
    CHECK_EQ(vg_store_camera(st, "other", cpk, 0, 0, &other), 0);
    CHECK_EQ(vg_store_trust_pin(st, ORG, owner_pk), 0);
    int len = stmt_text(s, sizeof s, ORG, "demo", T0, T0 + 1000 * SEC, (int64_t)time(NULL) + 3600);
    vg_grant_proof p = proof(s, (size_t)len, sig, owner_sk, owner_pk, 1, NULL);
    CHECK_EQ(vg_rec_grant_apply(st, 9, &p), 0);
    CHECK_EQ(vg_recw_open(st, cam, &w), 0);
    CHECK_EQ(vg_recw_start_run(w, init, sizeof init), 0);
    for (int i = 0; i < 6; i++) CHECK_EQ(put_frag(w, T0 + i * SEC, 1), 0);   /* 3 segments of 2 s */
    vg__store_flush(st);
    CHECK(sealed_ok(d, 9, &n));
    CHECK_EQ(n, 3);
    /* The other camera is not in the grant: nothing sealed for its segments. */
    vg_recw *w2 = NULL;
    CHECK_EQ(vg_recw_open(st, other, &w2), 0);
    CHECK_EQ(vg_recw_start_run(w2, init, sizeof init), 0);
    for (int i = 0; i < 4; i++) CHECK_EQ(put_frag(w2, T0 + i * SEC, 1), 0);
    vg__store_flush(st);
    CHECK(sealed_ok(d, 9, &n));
    CHECK_EQ(n, 3);
    /* Dropped (revoked): its keys deleted, new segments not sealed to it. */
    vg_store_grant_drop(st, 9);
    for (int i = 6; i < 10; i++) CHECK_EQ(put_frag(w, T0 + i * SEC, 1), 0);
    vg__store_flush(st);
    CHECK(sealed_ok(d, 9, &n));
    CHECK_EQ(n, 0);
    /* Only segments starting inside the statement's range are sealed. */
    len = stmt_text(s, sizeof s, ORG, "demo", T0 + 100 * SEC, T0 + 101 * SEC, (int64_t)time(NULL) + 3600);
    p = proof(s, (size_t)len, sig, owner_sk, owner_pk, 1, NULL);
    CHECK_EQ(vg_rec_grant_apply(st, 11, &p), 0);
    for (int i = 10; i < 12; i++) CHECK_EQ(put_frag(w, T0 + i * SEC, 1), 0);
    vg__store_flush(st);
    CHECK(sealed_ok(d, 11, &n));
    CHECK_EQ(n, 0);
    vg_store_grant_drop(st, 11);
    /* Expiry on this clock: the grant is dropped at its next segment. */
    len = stmt_text(s, sizeof s, ORG, "demo", T0, T0 + 1000 * SEC, (int64_t)time(NULL) + 2);
    p = proof(s, (size_t)len, sig, owner_sk, owner_pk, 1, NULL);
    CHECK_EQ(vg_rec_grant_apply(st, 10, &p), 0);
    for (int i = 12; i < 14; i++) CHECK_EQ(put_frag(w, T0 + i * SEC, 1), 0);
    vg__store_flush(st);
    CHECK(sealed_ok(d, 10, &n));
    CHECK(n >= 1);
    sleep(3);
    for (int i = 14; i < 18; i++) CHECK_EQ(put_frag(w, T0 + i * SEC, 1), 0);
    vg__store_flush(st);
    CHECK(sealed_ok(d, 10, &n));
    CHECK_EQ(n, 0);
    CHECK_EQ(st->ngrants, 0);
    vg_recw_end_run(w);
    vg_recw_end_run(w2);
    vg_recw_free(w);
    vg_recw_free(w2);
    vg_store_close(st);
    rm_rf(d);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    crypto_sign_keypair(owner_pk, owner_sk);
    crypto_sign_keypair(admin_pk, admin_sk);
    crypto_box_keypair(gpk, gsk);
    crypto_box_keypair(cpk, csk);
    RUN(t_parse);
    RUN(t_chain);
    RUN(t_sealing);
    return vg_test_done();
}
