/* SPDX-License-Identifier: Apache-2.0 */
/* vigil fsck: every segment file against its index rows, every chain and
 * signature. --repair first runs startup recovery (with the store's lock, so
 * never beside a running recorder), then trims bytes after trailers and
 * removes files no camera owns.
 *
 * Invariants:
 *  1. Without repair nothing is modified (the index is opened read-only).
 *  2. Repair never deletes a file the index points at, and never "fixes" a
 *     bad signature: that is evidence, reported and kept. */
#include "store/store_int.h"
#include "core/err.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

typedef struct fsck_ctx {
    const char *dir;
    sqlite3 *db;
    int repair;
    int live;         /* a recorder holds the lock: uncommitted files are normal */
    uint8_t org[VG_ORG_ID_LEN];
    uint8_t rec_pk[VG_SIGN_PK_LEN];
    int problems;     /* inconsistencies */
    int pending;      /* segment files awaiting recovery (not damage) */
    int crypto;       /* signature / chain failures */
    int64_t segments, fragments;
} fsck_ctx;

static void check_segment(fsck_ctx *c, int64_t cam, int64_t seg, const char *status)
{
    char path[4096], what[96];
    frag_row *rows = NULL;
    size_t nrows = 0;
    vg_segscan sc;
    uint8_t uuid[VG_UUID_LEN];
    int closed = strcmp(status, "closed") == 0;
    snprintf(what, sizeof what, "camera %" PRId64 " segment %" PRId64, cam, seg);
    if (strcmp(status, "garbage") == 0) {
        vg_warn("fsck", "%s: deletion unfinished (the next start or --repair finishes it)", what);
        c->problems++;
        return;
    }
    c->segments++;
    if (vg__seg_path(c->dir, cam, seg, path, sizeof path) != 0 || vg__db_cam_uuid(c->db, cam, uuid) != 0 ||
        vg__load_rows(c->db, seg, &rows, &nrows) != 0) {
        c->problems++;
        return;
    }
    c->fragments += (int64_t)nrows;
    int fd = open(path, closed && c->repair ? O_RDWR | O_CLOEXEC : O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vg_error("fsck", "%s: file missing (%s)", what, strerror(errno));
        c->problems++;
        goto out;
    }
    seg_check k = {.org = c->org, .rec_pk = c->rec_pk, .cam_uuid = uuid, .seg_id = seg,
                   .closed = closed};
    int rc = vg__verify_segment(fd, &k, rows, nrows, &sc, what);
    if (rc) {
        c->crypto += rc == VG_ECRYPTO;
        c->problems += rc != VG_ECRYPTO;
        goto out;
    }
    if (closed && nrows != sc.nrec) {
        vg_error("fsck", "%s: %u records in the file, %zu in the index", what, sc.nrec, nrows);
        c->problems++;
    }
    if (closed && sc.file_end > sc.good_end + VG_TRAILER_LEN) {
        vg_warn("fsck", "%s: bytes after the trailer%s", what, c->repair ? ", trimmed" : "");
        if (!c->repair || ftruncate(fd, (off_t)(sc.good_end + VG_TRAILER_LEN)) != 0 || fsync(fd))
            c->problems++;
    }
    if (!closed)
        vg_info("fsck", "%s: still being written (no signature yet): %zu records checked", what,
                nrows);
out:
    if (fd >= 0)
        close(fd);
    free(rows);
}

static int check_index(fsck_ctx *c)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT camera, id, status FROM segments ORDER BY id", -1, &s,
                           NULL) != SQLITE_OK)
        return VG_EIO;
    while (sqlite3_step(s) == SQLITE_ROW)
        check_segment(c, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                      (const char *)sqlite3_column_text(s, 2));
    sqlite3_finalize(s);
    return 0;
}

static int has_row(sqlite3 *db, int64_t seg)
{
    sqlite3_stmt *s = NULL;
    int r = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM segments WHERE id = ?", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, seg);
        r = sqlite3_step(s) == SQLITE_ROW;
    }
    sqlite3_finalize(s);
    return r;
}

/* A segment file whose header parses but that no index row names yet: the
 * normal state after a crash between write(2) and the index commit
 * (storage.md: durable before visible). Recovery indexes it at the next
 * start or `fsck --repair`; it is not damage. */
static int recoverable(const char *path, int64_t seg)
{
    uint8_t hdr[VG_SEGHDR_LEN];
    vg_seghdr h;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    int ok = pread(fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr &&
             vg__seghdr_parse(hdr, sizeof hdr, &h) == 0 && h.segment_id == (uint64_t)seg;
    close(fd);
    return ok;
}

/* Files under segments/<cam>/ that no index row names. */
static void check_cam_dir(fsck_ctx *c, const char *camname)
{
    char d[4096], p[4400];
    if ((size_t)snprintf(d, sizeof d, "%s/segments/%s", c->dir, camname) >= sizeof d)
        return;
    DIR *dp = opendir(d);
    if (!dp)
        return;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *end = NULL;
        long long seg = strtoll(e->d_name, &end, 10);
        if (seg > 0 && end && strcmp(end, ".vseg") == 0 && has_row(c->db, seg))
            continue;
        snprintf(p, sizeof p, "%s/%s", d, e->d_name);
        if (c->live) {
            vg_info("fsck", "%s: not in the index yet (recorder running)", p);
            continue;
        }
        if (!c->repair && seg > 0 && recoverable(p, seg)) {
            vg_warn("fsck", "%s: not in the index yet; the next start (or fsck --repair) "
                    "recovers it", p);
            c->pending++;
            continue;
        }
        vg_error("fsck", "%s: not in the index%s", p, c->repair ? ", removed" : "");
        if (!c->repair || unlink(p) != 0)
            c->problems++;
        else
            vg__fsync_dir(d);
    }
    closedir(dp);
}

static void check_orphans(fsck_ctx *c)
{
    char d[4096];
    snprintf(d, sizeof d, "%s/segments", c->dir);
    DIR *dp = opendir(d);
    if (!dp)
        return;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL)
        if (e->d_name[0] != '.')
            check_cam_dir(c, e->d_name);
    closedir(dp);
}

/* --repair: the lock, then the same recovery vg_store_open runs. */
static int repair_first(fsck_ctx *c, int *lock_fd)
{
    char path[4096];
    uint8_t pk[VG_SIGN_PK_LEN], sk[VG_SIGN_SK_LEN];
    snprintf(path, sizeof path, "%s/lock", c->dir);
    *lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX | LOCK_NB) != 0) {
        vg_error("fsck", "--repair needs the recorder stopped (%s is locked)", c->dir);
        return VG_EAGAIN;
    }
    snprintf(path, sizeof path, "%s/recorder.key", c->dir);
    int rc = vg_signkey_load(path, 0, pk, sk);
    if (rc == 0 && sodium_memcmp(pk, c->rec_pk, sizeof pk) != 0)
        rc = VG_ECRYPTO;
    if (rc == 0) {
        vg_recover_ctx r = {.dir = c->dir, .db = c->db, .org = c->org, .rec_pk = c->rec_pk,
                            .rec_sk = sk};
        rc = vg__recover(&r);
    }
    sodium_memzero(sk, sizeof sk);
    return rc;
}

int vg_store_fsck(const char *dir, int repair)
{
    fsck_ctx c = {.dir = dir, .repair = repair};
    int lock_fd = -1;
    if (!dir || sodium_init() < 0)
        return VG_EINVAL;
    int rc = vg__db_open(dir, !repair, &c.db);
    if (rc)
        return rc;
    rc = vg__db_meta(c.db, c.org, c.rec_pk);
    if (rc == 0 && repair)
        rc = repair_first(&c, &lock_fd);
    if (rc == 0 && !repair) {
        char lp[4096];
        snprintf(lp, sizeof lp, "%s/lock", dir);
        lock_fd = open(lp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        c.live = lock_fd >= 0 && flock(lock_fd, LOCK_SH | LOCK_NB) != 0;
        rc = vg__db_exec(c.db, "BEGIN"); /* one snapshot while a recorder may run */
    }
    if (rc == 0)
        rc = check_index(&c);
    if (rc == 0)
        check_orphans(&c);
    if (!repair)
        vg__db_exec(c.db, "COMMIT");
    sqlite3_close(c.db);
    if (lock_fd >= 0)
        close(lock_fd);
    if (rc)
        return rc;
    vg_info("fsck", "%" PRId64 " segments, %" PRId64 " index rows checked: %d signature/chain"
            " failures, %d other problems, %d segment file(s) awaiting recovery", c.segments,
            c.fragments, c.crypto, c.problems, c.pending);
    return c.crypto ? VG_ECRYPTO : c.problems ? VG_EINVAL : 0;
}
