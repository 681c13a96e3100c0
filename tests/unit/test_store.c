/* SPDX-License-Identifier: Apache-2.0 */
/* Footage store end to end in temp dirs: write, read back decrypted, crash
 * and recover, torn tails, tampering, retention, disk full. */
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "crypt/crypt.h"
#include "store/store.h"
#include "store/store_int.h"
#include "vg_test.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 (160000000000000LL)
#define SEC 90000

static uint8_t pk[32], sk[32];

static void mktmp(char *d, size_t n)
{
    snprintf(d, n, "/tmp/vg_store_XXXXXX");
    CHECK(mkdtemp(d) != NULL);
}

static void rm_rf(const char *d)
{
    char cmd[256]; /* test-only cleanup; paths are our own mkdtemp names */
    pid_t p = fork();
    if (p == 0) {
        snprintf(cmd, sizeof cmd, "%s", d);
        execl("/bin/rm", "rm", "-rf", cmd, (char *)NULL);
        _exit(127);
    }
    waitpid(p, NULL, 0);
}

static vg_store *open_store(const char *dir, unsigned segsec, int64_t rs, uint64_t rb)
{
    vg_store_opts o = {.dir = dir, .segment_seconds = segsec, .sync_interval_ms = 50,
                       .retain_seconds = rs, .retain_bytes = rb};
    vg_store *st = NULL;
    CHECK_EQ(vg_store_open(&o, &st), 0);
    return st;
}

/* Writes fragment i of camera c: plaintext is a pattern of (c, i). */
static int put_frag(vg_recw *w, int c, int i, int64_t start, size_t len, int key)
{
    uint8_t *b = malloc(VG_RECW_HEADROOM + len + VG_RECW_TAILROOM);
    for (size_t k = 0; k < len; k++)
        b[VG_RECW_HEADROOM + k] = (uint8_t)(c * 31 + i * 7 + k);
    int rc = vg_recw_fragment(w, start, SEC, key ? VG_FRAG_KEY : 0, b + VG_RECW_HEADROOM, len);
    free(b);
    return rc;
}

typedef struct got {
    int n, inits, bad;
    int c;
    int64_t last_start;
    int order_bad;
    int runs;
} got;

static int on_frag(void *arg, const vg_frag_info *fi, const uint8_t *p, size_t len)
{
    got *g = arg;
    if (fi->seq == 0) {
        g->inits++;
        char want[32];
        snprintf(want, sizeof want, "INIT-%d", g->c);
        if (len != strlen(want) || memcmp(p, want, len) != 0)
            g->bad++;
        return 0;
    }
    int i = (int)((fi->start90k - T0) / SEC);
    for (size_t k = 0; k < len; k++)
        if (p[k] != (uint8_t)(g->c * 31 + i * 7 + k)) {
            g->bad++;
            break;
        }
    if (fi->start90k < g->last_start)
        g->order_bad++;
    g->last_start = fi->start90k;
    g->runs += fi->run_start && g->n == 0;
    g->n++;
    return 0;
}

static int read_all(const char *dir, const char *cam, int c, got *g)
{
    memset(g, 0, sizeof *g);
    g->c = c;
    g->last_start = INT64_MIN;
    return vg_store_read(dir, cam, pk, sk, INT64_MIN, INT64_MAX, on_frag, g);
}

static void start(vg_recw *w, int c)
{
    char init[32];
    snprintf(init, sizeof init, "INIT-%d", c);
    CHECK_EQ(vg_recw_start_run(w, (const uint8_t *)init, strlen(init)), 0);
}

/* Two cameras, 10 one-second fragments each, a key every 2nd, 2 s segments. */
static void write_two_cams(const char *dir)
{
    vg_store *st = open_store(dir, 2, 0, 0);
    int64_t ca, cb;
    vg_recw *wa, *wb;
    CHECK_EQ(vg_store_camera(st, "camA", pk, 0, 0, &ca), 0);
    CHECK_EQ(vg_store_camera(st, "camB", pk, 0, 0, &cb), 0);
    CHECK(ca != cb);
    CHECK_EQ(vg_recw_open(st, ca, &wa), 0);
    CHECK_EQ(vg_recw_open(st, cb, &wb), 0);
    start(wa, 1);
    start(wb, 2);
    vg_store_camera_state(st, ca, "recording", "");
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(put_frag(wa, 1, i, T0 + i * SEC, 1000 + (size_t)i, i % 2 == 0), 0);
        CHECK_EQ(put_frag(wb, 2, i, T0 + i * SEC, 500, i % 2 == 0), 0);
    }
    vg_recw_free(wa); /* ends the run, signs */
    vg_store_close(st); /* wb still open: the store closes its run */
    vg_recw_free(wb);
}

static void t_roundtrip_two_cameras(void)
{
    char dir[64];
    got g;
    mktmp(dir, sizeof dir);
    write_two_cams(dir);
    CHECK_EQ(read_all(dir, "camA", 1, &g), 0);
    CHECK_EQ(g.n, 10);
    CHECK_EQ(g.inits, 5); /* 2 s segments: 5 segments, each starts with its init */
    CHECK_EQ(g.bad, 0);
    CHECK_EQ(g.order_bad, 0);
    CHECK_EQ(read_all(dir, "camB", 2, &g), 0);
    CHECK_EQ(g.n, 10);
    CHECK_EQ(g.bad, 0);
    CHECK_EQ(read_all(dir, "nosuch", 2, &g), VG_ENOTFOUND);
    /* a range: [3 s, 5 s) -> fragments 3 and 4 (+ their segments' inits) */
    memset(&g, 0, sizeof g);
    g.c = 1;
    g.last_start = INT64_MIN;
    CHECK_EQ(vg_store_read(dir, "camA", pk, sk, T0 + 3 * SEC, T0 + 5 * SEC, on_frag, &g), 0);
    CHECK_EQ(g.n, 2);
    CHECK_EQ(g.bad, 0);
    /* wrong key */
    uint8_t pk2[32], sk2[32];
    vg_footage_keypair(pk2, sk2);
    CHECK_EQ(vg_store_read(dir, "camA", pk2, sk2, INT64_MIN, INT64_MAX, on_frag, &g), VG_ECRYPTO);
    /* status */
    char *js = NULL;
    CHECK_EQ(vg_store_status_json(dir, &js), 0);
    json_t *root = js ? json_loads(js, 0, NULL) : NULL;
    CHECK(root != NULL);
    json_t *cams = json_object_get(root, "cameras");
    CHECK_EQ(json_array_size(cams), 2);
    json_t *a = json_array_get(cams, 0);
    CHECK(strcmp(json_string_value(json_object_get(a, "name")), "camA") == 0);
    CHECK_EQ(json_integer_value(json_object_get(a, "fragments")), 10);
    CHECK_EQ(json_integer_value(json_object_get(a, "segments")), 5);
    CHECK_EQ(json_integer_value(json_object_get(a, "gaps")), 0);
    CHECK_EQ(json_integer_value(json_object_get(a, "first90k")), T0);
    CHECK_EQ(json_integer_value(json_object_get(a, "last90k")), T0 + 10 * SEC);
    CHECK(strcmp(json_string_value(json_object_get(a, "state")), "offline") == 0);
    json_t *runs = json_object_get(a, "runs");
    CHECK_EQ(json_array_size(runs), 1);
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(runs, 0), "end90k")), T0 + 10 * SEC);
    json_decref(root);
    free(js);
    CHECK_EQ(vg_store_fsck(dir, 0), 0);
    rm_rf(dir);
}

static void t_runs_and_gaps(void)
{
    char dir[64], *js = NULL;
    mktmp(dir, sizeof dir);
    vg_store *st = open_store(dir, 120, 0, 0);
    int64_t c;
    vg_recw *w;
    CHECK_EQ(vg_store_camera(st, "cam", pk, 0, 0, &c), 0);
    CHECK_EQ(vg_recw_open(st, c, &w), 0);
    CHECK_EQ(put_frag(w, 1, 0, T0, 10, 1), VG_EINVAL); /* no run yet */
    start(w, 1);
    CHECK_EQ(put_frag(w, 1, 0, T0, 10, 0), VG_EINVAL); /* must start with a key */
    CHECK_EQ(put_frag(w, 1, 0, T0, 10, 1), 0);
    CHECK_EQ(put_frag(w, 1, 1, T0 + SEC, 10, 0), 0);
    start(w, 1); /* reconnect: new run */
    CHECK_EQ(put_frag(w, 1, 5, T0 + 5 * SEC, 10, 1), 0);
    CHECK_EQ(vg_recw_end_run(w), 0);
    start(w, 1);
    CHECK_EQ(put_frag(w, 1, 9, T0 + 9 * SEC, 10, 1), 0);
    vg_recw_free(w);
    vg_store_close(st);
    CHECK_EQ(vg_store_status_json(dir, &js), 0);
    json_t *root = js ? json_loads(js, 0, NULL) : NULL;
    json_t *a = json_array_get(json_object_get(root, "cameras"), 0);
    CHECK_EQ(json_integer_value(json_object_get(a, "gaps")), 2);
    json_t *runs = json_object_get(a, "runs");
    CHECK_EQ(json_array_size(runs), 3);
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(runs, 0), "fragments")), 2);
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(runs, 0), "end90k")), T0 + 2 * SEC);
    json_decref(root);
    free(js);
    rm_rf(dir);
}

static int last_segment(const char *dir, char *path, size_t n)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int rc = -1;
    if (vg__db_open(dir, 1, &db) != 0)
        return -1;
    sqlite3_prepare_v2(db, "SELECT camera, id FROM segments ORDER BY id DESC LIMIT 1", -1, &s, NULL);
    if (sqlite3_step(s) == SQLITE_ROW)
        rc = vg__seg_path(dir, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), path, n);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

static off_t fsize(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? sb.st_size : -1;
}

static int count_segments(const char *dir)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int n = -1;
    if (vg__db_open(dir, 1, &db) != 0)
        return -1;
    sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM segments", -1, &s, NULL);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* kill -9 stand-in: the child writes and _exits without closing anything. */
static void t_crash_recovery_and_torn_tail(void)
{
    char dir[64], seg[512];
    got g;
    mktmp(dir, sizeof dir);
    pid_t p = fork();
    if (p == 0) {
        vg_store_opts o = {.dir = dir, .segment_seconds = 100, .sync_interval_ms = 60000};
        vg_store *st;
        int64_t c;
        vg_recw *w;
        if (vg_store_open(&o, &st) || vg_store_camera(st, "cam", pk, 0, 0, &c) ||
            vg_recw_open(st, c, &w))
            _exit(2);
        start(w, 1);
        for (int i = 0; i < 6; i++)
            put_frag(w, 1, i, T0 + i * SEC, 3000, i % 2 == 0);
        vg__store_flush(st); /* committed: 6 fragments */
        for (int i = 6; i < 9; i++)
            put_frag(w, 1, i, T0 + i * SEC, 3000, i % 2 == 0); /* written, never indexed */
        _exit(0);
    }
    int status = 0;
    waitpid(p, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ(last_segment(dir, seg, sizeof seg), 0);
    off_t before = fsize(seg);
    int fd = open(seg, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    uint8_t half[100] = {'V', 'G', 'E', 1}; /* half a record: a torn write */
    CHECK_EQ(write(fd, half, sizeof half), (long long)sizeof half);
    close(fd);
    vg_store *st = open_store(dir, 4, 0, 0); /* recovery */
    vg_store_close(st);
    CHECK_EQ(fsize(seg), before + VG_TRAILER_LEN); /* torn tail cut, trailer added */
    CHECK_EQ(read_all(dir, "cam", 1, &g), 0);
    CHECK_EQ(g.n, 9); /* the un-indexed but written fragments were recovered too */
    CHECK_EQ(g.bad, 0);
    CHECK_EQ(vg_store_fsck(dir, 0), 0);
    rm_rf(dir);
}

/* A file that never got an index row (crash before the first commit). */
static void t_orphan_file_recovered(void)
{
    char dir[64];
    got g;
    mktmp(dir, sizeof dir);
    pid_t p = fork();
    if (p == 0) {
        vg_store_opts o = {.dir = dir, .segment_seconds = 100, .sync_interval_ms = 60000};
        vg_store *st;
        int64_t c;
        vg_recw *w;
        if (vg_store_open(&o, &st) || vg_store_camera(st, "cam", pk, 0, 0, &c) ||
            vg_recw_open(st, c, &w))
            _exit(2);
        start(w, 1);
        for (int i = 0; i < 3; i++)
            put_frag(w, 1, i, T0 + i * SEC, 100, 1);
        _exit(0);
    }
    waitpid(p, NULL, 0);
    vg_store *st = open_store(dir, 4, 0, 0);
    vg_store_close(st);
    CHECK_EQ(read_all(dir, "cam", 1, &g), 0);
    CHECK_EQ(g.n, 3);
    CHECK_EQ(g.runs, 1);
    CHECK_EQ(vg_store_fsck(dir, 0), 0);
    rm_rf(dir);
}

/* Crash with several segments: one closed but not committed, one orphan. */
static void t_crash_multi_segment(void)
{
    char dir[64];
    got g;
    mktmp(dir, sizeof dir);
    pid_t p = fork();
    if (p == 0) {
        vg_store_opts o = {.dir = dir, .segment_seconds = 4, .sync_interval_ms = 60000};
        vg_store *st;
        int64_t c;
        vg_recw *w;
        if (vg_store_open(&o, &st) || vg_store_camera(st, "cam", pk, 0, 0, &c) ||
            vg_recw_open(st, c, &w))
            _exit(2);
        start(w, 1);
        for (int i = 0; i < 6; i++)
            put_frag(w, 1, i, T0 + i * SEC, 3000, i % 2 == 0);
        vg__store_flush(st);
        for (int i = 6; i < 11; i++)
            put_frag(w, 1, i, T0 + i * SEC, 3000, i % 2 == 0);
        _exit(0);
    }
    waitpid(p, NULL, 0);
    vg_store *st = open_store(dir, 4, 0, 0);
    vg_store_close(st);
    CHECK_EQ(read_all(dir, "cam", 1, &g), 0);
    CHECK_EQ(g.n, 11);
    CHECK_EQ(g.inits, 3);
    CHECK_EQ(g.bad, 0);
    CHECK_EQ(g.order_bad, 0);
    CHECK_EQ(vg_store_fsck(dir, 0), 0);
    CHECK_EQ(vg_store_fsck(dir, 1), 0);
    rm_rf(dir);
}

/* Disk full asks the sync thread to delete the oldest closed segment, never the open one. */
static void t_emergency_retention(void)
{
    char dir[64];
    mktmp(dir, sizeof dir);
    vg_store *st = open_store(dir, 1, 0, 0);
    int64_t c;
    vg_recw *w;
    CHECK_EQ(vg_store_camera(st, "cam", pk, 0, 0, &c), 0);
    CHECK_EQ(vg_recw_open(st, c, &w), 0);
    start(w, 1);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(put_frag(w, 1, i, T0 + i * SEC, 100, 1), 0);
    vg__store_flush(st);
    CHECK_EQ(count_segments(dir), 3);
    vg__store_wake(st, 1);
    vg__store_flush(st);
    CHECK_EQ(count_segments(dir), 2);
    vg__store_wake(st, 1);
    vg__store_flush(st);
    vg__store_wake(st, 1);
    vg__store_flush(st);
    CHECK_EQ(count_segments(dir), 1); /* the segment being written stays */
    CHECK_EQ(put_frag(w, 1, 3, T0 + 3 * SEC, 100, 0), 0);
    vg_recw_free(w);
    vg_store_close(st);
    CHECK_EQ(vg_store_fsck(dir, 0), 0);
    rm_rf(dir);
}

static void t_tamper_detected(void)
{
    char dir[64], seg[512];
    got g;
    mktmp(dir, sizeof dir);
    write_two_cams(dir);
    CHECK_EQ(last_segment(dir, seg, sizeof seg), 0);
    off_t n = fsize(seg);
    int fd = open(seg, O_RDWR);
    uint8_t b;
    CHECK_EQ(pread(fd, &b, 1, n / 2), 1);
    b ^= 0x20;
    CHECK_EQ(pwrite(fd, &b, 1, n / 2), 1);
    close(fd);
    CHECK_EQ(read_all(dir, "camB", 2, &g), VG_ECRYPTO);
    CHECK_EQ(vg_store_fsck(dir, 0), VG_ECRYPTO);
    CHECK_EQ(vg_store_fsck(dir, 1), VG_ECRYPTO); /* repair keeps the evidence */
    CHECK_EQ(read_all(dir, "camA", 1, &g), 0); /* the other camera is unaffected */
    CHECK_EQ(g.n, 10);
    rm_rf(dir);
}

static void t_retention_size_and_age(void)
{
    char dir[64];
    got g;
    mktmp(dir, sizeof dir);
    /* size: 1 s segments of ~10 KB; keep 35 KB -> about the newest 3 */
    vg_store *st = open_store(dir, 1, 0, 35000);
    int64_t c;
    vg_recw *w;
    CHECK_EQ(vg_store_camera(st, "cam", pk, 0, 0, &c), 0);
    CHECK_EQ(vg_recw_open(st, c, &w), 0);
    start(w, 1);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(put_frag(w, 1, i, T0 + i * SEC, 10000, 1), 0);
    vg__store_flush(st);
    vg__store_flush(st);
    int n = count_segments(dir);
    CHECK(n >= 2 && n <= 4);
    vg_recw_free(w);
    vg_store_close(st);
    CHECK_EQ(read_all(dir, "cam", 1, &g), 0);
    CHECK(g.n >= 2 && g.n <= 4);
    CHECK_EQ(g.bad, 0);
    CHECK_EQ(vg_store_fsck(dir, 0), 0);
    rm_rf(dir);

    /* age: footage from 10 days ago, keep 1 day (per camera) */
    mktmp(dir, sizeof dir);
    st = open_store(dir, 1, 0, 0);
    CHECK_EQ(vg_store_camera(st, "old", pk, 86400, 0, &c), 0);
    CHECK_EQ(vg_recw_open(st, c, &w), 0);
    start(w, 1);
    int64_t old = vg_wall_90k() - 10LL * 86400 * SEC;
    for (int i = 0; i < 4; i++) {
        uint8_t b[VG_RECW_HEADROOM + 100 + VG_RECW_TAILROOM] = {0};
        CHECK_EQ(vg_recw_fragment(w, old + i * SEC, SEC, VG_FRAG_KEY, b + VG_RECW_HEADROOM, 100), 0);
    }
    vg__store_flush(st);
    vg__store_flush(st);
    CHECK_EQ(count_segments(dir), 1); /* only the one still being written */
    vg_recw_free(w);
    vg_store_close(st);
    rm_rf(dir);
}

/* Disk full, for real: RLIMIT_FSIZE makes write() return EFBIG / short. */
static void t_disk_full(void)
{
    char dir[64];
    got g;
    mktmp(dir, sizeof dir);
    pid_t p = fork();
    if (p == 0) {
        int fails = 0;
        signal(SIGXFSZ, SIG_IGN);
        vg_store *st = open_store(dir, 1000, 0, 0);
        int64_t c;
        vg_recw *w;
        if (vg_store_camera(st, "cam", pk, 0, 0, &c) || vg_recw_open(st, c, &w))
            _exit(2);
        start(w, 1);
        for (int i = 0; i < 3; i++)
            fails += put_frag(w, 1, i, T0 + i * SEC, 100000, 1) != 0;
        vg__store_flush(st);
        struct rlimit rl = {.rlim_cur = 400000, .rlim_max = RLIM_INFINITY};
        setrlimit(RLIMIT_FSIZE, &rl);
        int rc = 0, i = 3;
        for (; i < 10 && rc == 0; i++)
            rc = put_frag(w, 1, i, T0 + i * SEC, 100000, 1);
        fails += rc != VG_ENOSPC;
        fails += put_frag(w, 1, 20, T0 + 20 * SEC, 100, 0) != VG_ENOSPC; /* waits for a key */
        /* space is back (a smaller fragment fits): the writer resumes, a new run */
        fails += put_frag(w, 1, 21, T0 + 21 * SEC, 1000, 1) != 0;
        vg_recw_free(w);
        vg_store_close(st);
        _exit(fails ? 3 : 10 + (i - 1)); /* exit code tells how many fragments fit */
    }
    int status = 0;
    waitpid(p, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) >= 10);
    int fit = WEXITSTATUS(status) - 10; /* fragments 0 .. fit-1 were written */
    vg_store *st = open_store(dir, 1000, 0, 0);
    vg_store_close(st);
    CHECK_EQ(read_all(dir, "cam", 1, &g), 0);
    CHECK_EQ(g.n, fit + 1);
    CHECK_EQ(g.bad, 0);
    CHECK_EQ(vg_store_fsck(dir, 0), 0);
    rm_rf(dir);
}

static void t_second_open_refused(void)
{
    char dir[64];
    mktmp(dir, sizeof dir);
    vg_store *st = open_store(dir, 0, 0, 0), *st2 = NULL;
    vg_store_opts o = {.dir = dir};
    CHECK_EQ(vg_store_open(&o, &st2), VG_EAGAIN);
    CHECK_EQ(vg_store_fsck(dir, 1), VG_EAGAIN);
    int64_t c;
    CHECK_EQ(vg_store_camera(st, "", pk, 0, 0, &c), VG_EINVAL);
    CHECK_EQ(vg_store_camera(st, "nokey", NULL, 0, 0, &c), 0);
    vg_recw *w;
    CHECK_EQ(vg_recw_open(st, c, &w), 0);
    start(w, 1);
    CHECK_EQ(put_frag(w, 1, 0, T0, 10, 1), VG_EINVAL); /* no footage key: never plaintext */
    vg_recw_free(w);
    vg_store_close(st);
    rm_rf(dir);
}

int main(void)
{
    vg_log_set_level(VG_LOG_ERROR);
    vg_footage_keypair(pk, sk);
    RUN(t_roundtrip_two_cameras);
    RUN(t_runs_and_gaps);
    RUN(t_crash_recovery_and_torn_tail);
    RUN(t_orphan_file_recovered);
    RUN(t_crash_multi_segment);
    RUN(t_emergency_retention);
    RUN(t_tamper_detected);
    RUN(t_retention_size_and_age);
    RUN(t_disk_full);
    RUN(t_second_open_refused);
    return vg_test_done();
}
