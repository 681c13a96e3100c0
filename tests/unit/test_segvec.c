/* SPDX-License-Identifier: Apache-2.0 */
/* Segment signature test vector for the browser (docs/design/keys.md
 * "Browser verification"). The real recorder path (vg_store, vg_recw) writes
 * and signs one closed segment; this test checks the C side of the format
 * (header hash, chain over every envelope, trailer, Ed25519 over
 * "vigil-segment-v2" || chain_0 || n || chain_n) and, when VG_SEGVEC_OUT
 * names a file, writes the segment there as JSON for the browser's verifier
 * (tests/web/segsig.test.mjs): {"segment", "recorder_pk", "org", "footage_sk",
 * "footage_pk", "n", "chain0", "chain_n"} (standard base64 / hex). */
#include "core/err.h"
#include "core/log.h"
#include "crypt/crypt.h"
#include "store/store.h"
#include "store/store_int.h"
#include "vg_test.h"

#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 (160000000000000LL)
#define SEC 90000

static uint8_t pk[32], sk[32];

static void rm_rf(const char *d)
{
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/rm", "rm", "-rf", d, (char *)NULL);
        _exit(127);
    }
    waitpid(p, NULL, 0);
}

static json_t *b64(const uint8_t *p, size_t n)
{
    size_t m = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(m);
    sodium_bin2base64(s, m, p, n, sodium_base64_VARIANT_ORIGINAL);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *hex(const uint8_t *p, size_t n)
{
    char s[2 * 64 + 1];
    sodium_bin2hex(s, sizeof s, p, n);
    return json_string(s);
}

/* Writes a run of 6 fragments (plaintext MP4-like bytes) into a 60 s segment. */
static void write_segment(const char *dir, char *path, size_t pathlen)
{
    vg_store_opts o = {.dir = dir, .segment_seconds = 60, .sync_interval_ms = 50};
    vg_store *st = NULL;
    vg_recw *w = NULL;
    int64_t cam;
    CHECK_EQ(vg_store_open(&o, &st), 0);
    CHECK_EQ(vg_store_camera(st, "vec", pk, 0, 0, &cam), 0);
    CHECK_EQ(vg_recw_open(st, cam, &w), 0);
    static const uint8_t init[] = "\0\0\0\x10" "ftypisom\0\0\0\0";
    CHECK_EQ(vg_recw_start_run(w, init, sizeof init - 1), 0);
    for (int i = 0; i < 6; i++) {
        size_t len = 200 + (size_t)i * 37;
        uint8_t *b = calloc(1, VG_RECW_HEADROOM + len + VG_RECW_TAILROOM);
        for (size_t k = 0; k < len; k++)
            b[VG_RECW_HEADROOM + k] = (uint8_t)(i * 7 + k);
        memcpy(b + VG_RECW_HEADROOM + 4, "moof", 4);
        CHECK_EQ(vg_recw_fragment(w, T0 + i * SEC, SEC, i % 3 == 0 ? VG_FRAG_KEY : 0, b + VG_RECW_HEADROOM, len), 0);
        free(b);
    }
    vg_recw_free(w); /* ends the run: trailer, signature */
    vg_store_close(st);
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    CHECK_EQ(vg__db_open(dir, 1, &db), 0);
    sqlite3_prepare_v2(db, "SELECT camera, id, status FROM segments ORDER BY id DESC LIMIT 1", -1, &s, NULL);
    CHECK_EQ(sqlite3_step(s), SQLITE_ROW);
    CHECK(strcmp((const char *)sqlite3_column_text(s, 2), "closed") == 0);
    CHECK_EQ(vg__seg_path(dir, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), path, pathlen), 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY);
    struct stat sb;
    CHECK(fd >= 0 && fstat(fd, &sb) == 0);
    uint8_t *p = malloc((size_t)sb.st_size);
    CHECK_EQ(read(fd, p, (size_t)sb.st_size), sb.st_size);
    close(fd);
    *n = (size_t)sb.st_size;
    return p;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static void t_vector(void)
{
    char dir[64], path[512];
    snprintf(dir, sizeof dir, "/tmp/vg_segvec_XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    write_segment(dir, path, sizeof path);
    size_t n;
    uint8_t *f = slurp(path, &n);
    CHECK(n > VG_SEGHDR_LEN + VG_TRAILER_LEN);
    vg_seghdr h;
    CHECK_EQ(vg__seghdr_parse(f, VG_SEGHDR_LEN, &h), 0);

    /* The chain as keys.md defines it, recomputed here from the bytes. */
    uint8_t chain0[VG_HASH_LEN], chain[VG_HASH_LEN];
    vg_chain_init(chain0, f, VG_SEGHDR_LEN);
    memcpy(chain, chain0, sizeof chain);
    size_t off = VG_SEGHDR_LEN;
    uint32_t nrec = 0;
    while (off + VG_ENV_HDR_LEN <= n - VG_TRAILER_LEN) {
        size_t len = VG_ENV_HDR_LEN + be32(f + off + 72);
        CHECK(off + len <= n - VG_TRAILER_LEN);
        vg_chain_step(chain, f + off, len);
        off += len;
        nrec++;
    }
    CHECK_EQ(off, n - VG_TRAILER_LEN);
    CHECK_EQ(nrec, 7u); /* init + 6 fragments */
    const uint8_t *tr = f + off;
    CHECK(memcmp(tr, "VGT\x01", 4) == 0);
    CHECK_EQ(be32(tr + 4), nrec);
    CHECK(memcmp(tr + 8, chain, VG_HASH_LEN) == 0);
    CHECK_EQ(vg_seg_verify(h.recorder_pk, chain0, nrec, chain, tr + 40), 0);
    /* The signed message is exactly "vigil-segment-v2" || chain_0 || n || chain_n. */
    uint8_t m[16 + 32 + 4 + 32];
    memcpy(m, "vigil-segment-v2", 16);
    memcpy(m + 16, chain0, 32);
    m[48] = (uint8_t)(nrec >> 24); m[49] = (uint8_t)(nrec >> 16); m[50] = (uint8_t)(nrec >> 8); m[51] = (uint8_t)nrec;
    memcpy(m + 52, chain, 32);
    CHECK_EQ(crypto_sign_verify_detached(tr + 40, m, sizeof m, h.recorder_pk), 0);
    /* Refusals the browser must match: a wrong count, a wrong key. */
    CHECK_EQ(vg_seg_verify(h.recorder_pk, chain0, nrec - 1, chain, tr + 40), VG_ECRYPTO);
    uint8_t other[32], osk[64];
    crypto_sign_keypair(other, osk);
    CHECK_EQ(vg_seg_verify(other, chain0, nrec, chain, tr + 40), VG_ECRYPTO);

    const char *out = getenv("VG_SEGVEC_OUT");
    if (out) {
        json_t *j = json_pack("{s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:o}", "segment", b64(f, n), "recorder_pk",
                              b64(h.recorder_pk, 32), "org", hex(h.org, 16), "footage_sk", b64(sk, 32),
                              "footage_pk", b64(pk, 32), "n", (json_int_t)nrec, "chain0", hex(chain0, 32),
                              "chain_n", hex(chain, 32), "other_pk", b64(other, 32));
        CHECK(j != NULL);
        CHECK_EQ(json_dump_file(j, out, JSON_COMPACT), 0);
        json_decref(j);
    }
    free(f);
    rm_rf(dir);
}

int main(void)
{
    vg_log_set_level(VG_LOG_ERROR);
    vg_footage_keypair(pk, sk);
    RUN(t_vector);
    return vg_test_done();
}
