/* SPDX-License-Identifier: Apache-2.0 */
/* Startup recovery (and fsck --repair): finish deletions, close segments a
 * crash left open, index complete records the index never saw, cut torn
 * tails. Runs with the store's lock held, before any writer exists.
 *
 * Invariants:
 *  1. Committed footage is never cut: a file is truncated only past the end
 *     of its last indexed record.
 *  2. Structural recovery only: the recorder has no footage secret key, so
 *     it cannot check tags; it re-derives the chain over the complete records
 *     and signs that (docs/design/storage.md, "Recovery").
 *  3. Each file is made durable (truncate, trailer, fsync, dir fsync) before
 *     its rows change (durable before visible). */
#include "store/store_int.h"
#include "core/err.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct rec_list {
    vg_op *ops;
    size_t n, cap;
    int64_t segment_id, camera_id;
    int64_t after_seq;   /* records with seq > this are new to the index */
} rec_list;

static int rec_collect(void *arg, const vg_env_hdr *h, uint64_t off, size_t len)
{
    rec_list *l = arg;
    if ((int64_t)h->seq <= l->after_seq)
        return 0;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        vg_op *p = realloc(l->ops, nc * sizeof *p);
        if (!p)
            return VG_ENOMEM;
        l->ops = p;
        l->cap = nc;
    }
    vg_op *op = &l->ops[l->n++];
    memset(op, 0, sizeof *op);
    op->kind = VG_OP_FRAG;
    op->segment_id = l->segment_id;
    op->camera_id = l->camera_id;
    op->u.frag.seq = h->seq;
    op->u.frag.key = (h->flags & (VG_ENV_F_KEY | VG_ENV_F_INIT)) != 0;
    op->u.frag.start90k = h->start90k;
    op->u.frag.dur90k = h->dur90k;
    op->u.frag.offset = off;
    op->u.frag.length = len;
    return 0;
}

/* Indexed state of a segment: exists, highest seq, end offset of records. */
static int seg_row(sqlite3 *db, int64_t seg, int *exists, int64_t *max_seq, int64_t *end_off)
{
    sqlite3_stmt *s = NULL;
    *exists = 0;
    *max_seq = -1;
    *end_off = VG_SEGHDR_LEN;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT COUNT(*) FROM segments WHERE id = ?1),"
                           " (SELECT MAX(seq) FROM fragments WHERE segment = ?1),"
                           " (SELECT MAX(offset + length) FROM fragments WHERE segment = ?1)",
                           -1, &s, NULL) != SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_int64(s, 1, seg);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *exists = sqlite3_column_int(s, 0) > 0;
        if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
            *max_seq = sqlite3_column_int64(s, 1);
            *end_off = sqlite3_column_int64(s, 2);
        }
    }
    sqlite3_finalize(s);
    return 0;
}

/* Inserts the rows for a recovered segment in one transaction. */
static int commit_rows(vg_recover_ctx *c, const vg_segscan *sc, int row_exists, rec_list *l,
                       int64_t cam, uint64_t bytes)
{
    vg_op op;
    int rc = vg__db_exec(c->db, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    if (!row_exists) {
        memset(&op, 0, sizeof op);
        op.kind = VG_OP_SEG_OPEN;
        op.segment_id = (int64_t)sc->hdr.segment_id;
        op.camera_id = cam;
        op.u.open.run_id = (int64_t)sc->hdr.run_id;
        op.u.open.run_start = (sc->hdr.flags & VG_SEG_F_RUN_START) != 0;
        op.u.open.start90k = sc->hdr.start90k;
        memcpy(op.u.open.sealed_key, sc->hdr.sealed_key, VG_SEALED_KEY_LEN);
        memcpy(op.u.open.footage_pk, sc->hdr.footage_pk, VG_PK_LEN);
        rc = vg__db_apply_op(c->db, &op);
    }
    for (size_t i = 0; rc == 0 && i < l->n; i++)
        rc = vg__db_apply_op(c->db, &l->ops[i]);
    if (rc == 0) {
        memset(&op, 0, sizeof op);
        op.kind = VG_OP_SEG_CLOSE;
        op.segment_id = (int64_t)sc->hdr.segment_id;
        op.u.close.signed_ = 1;
        op.u.close.bytes = bytes;
        rc = vg__db_apply_op(c->db, &op);
    }
    if (rc == 0)
        rc = vg__db_exec(c->db, "COMMIT");
    if (rc)
        vg__db_exec(c->db, "ROLLBACK");
    return rc;
}

/* Truncates the torn tail and appends a trailer signing what the scan saw. */
static int seal_file(vg_recover_ctx *c, int fd, const vg_segscan *sc)
{
    uint8_t sig[VG_SIG_LEN], tr[VG_TRAILER_LEN];
    if (ftruncate(fd, (off_t)sc->good_end) != 0)
        return VG_EIO;
    vg_seg_sign(c->rec_sk, sc->hdr_hash, sc->nrec, sc->chain, sig);
    vg__trailer_put(tr, sc->nrec, sc->chain, sig);
    if (pwrite(fd, tr, sizeof tr, (off_t)sc->good_end) != (ssize_t)sizeof tr)
        return errno == ENOSPC ? VG_ENOSPC : VG_EIO;
    return fsync(fd) == 0 ? 0 : VG_EIO;
}

/* Checks the header belongs here; logs and returns VG_EINVAL if not. */
static int check_header(vg_recover_ctx *c, const vg_segscan *sc, int64_t cam, int64_t seg,
                        const char *path)
{
    uint8_t uuid[VG_UUID_LEN];
    if (sc->hdr.segment_id != (uint64_t)seg || vg__db_cam_uuid(c->db, cam, uuid) != 0 ||
        memcmp(uuid, sc->hdr.camera, VG_UUID_LEN) != 0 ||
        memcmp(c->org, sc->hdr.org, VG_ORG_ID_LEN) != 0 ||
        memcmp(c->rec_pk, sc->hdr.recorder_pk, VG_SIGN_PK_LEN) != 0) {
        vg_error("store", "%s: header does not match its name/camera/recorder; left alone", path);
        return VG_EINVAL;
    }
    return 0;
}

/* Brings one segment file to 'closed' with rows for every complete record. */
static int recover_file(vg_recover_ctx *c, int64_t cam, int64_t seg)
{
    char path[4096];
    vg_segscan sc;
    rec_list l = {.segment_id = seg, .camera_id = cam};
    int exists, rc, fd = -1;
    int64_t max_seq, end_off;
    if (vg__seg_path(c->dir, cam, seg, path, sizeof path) != 0)
        return VG_EINVAL;
    if ((rc = seg_row(c->db, seg, &exists, &max_seq, &end_off)) != 0)
        return rc;
    l.after_seq = max_seq;
    fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT && max_seq < 0)  /* never had a committed record */
            return vg__delete_segment(c->dir, c->db, cam, seg);
        vg_error("store", "%s: cannot open (%s) but the index has footage", path, strerror(errno));
        c->problems++;
        return 0;
    }
    rc = vg__seg_scan(vg__seg_read_fd, &fd, rec_collect, &l, &sc);
    if (rc == VG_EINVAL && max_seq < 0) {  /* torn at creation: nothing to keep */
        vg_warn("store", "%s: incomplete header, removed", path);
        close(fd);
        fd = -1;
        rc = vg__delete_segment(c->dir, c->db, cam, seg);
        goto out;
    }
    if (rc || check_header(c, &sc, cam, seg, path) != 0 || (int64_t)sc.good_end < end_off) {
        if (rc == 0 && (int64_t)sc.good_end < end_off)
            vg_error("store", "%s: damaged inside indexed footage; left for fsck", path);
        c->problems++;
        rc = 0;
        goto out;
    }
    uint64_t bytes = sc.good_end + VG_TRAILER_LEN;
    if (sc.end == VG_SCAN_TRAILER) {
        if (vg_seg_verify(c->rec_pk, sc.hdr_hash, sc.nrec, sc.chain, sc.sig) != 0) {
            vg_error("store", "%s: trailer signature invalid; left for fsck", path);
            c->problems++;
            goto out;
        }
        if (sc.file_end > bytes && ftruncate(fd, (off_t)bytes) != 0)
            rc = VG_EIO;
    } else if (sc.nrec == 0) {
        close(fd);
        fd = -1;
        rc = vg__delete_segment(c->dir, c->db, cam, seg);
        goto out;
    } else {
        if (sc.file_end > sc.good_end)
            vg_warn("store", "%s: cut torn tail of %" PRIu64 " bytes", path,
                    sc.file_end - sc.good_end);
        rc = seal_file(c, fd, &sc);
    }
    if (rc == 0 && !exists) {
        char d[4096];
        if (vg__cam_dir(c->dir, cam, d, sizeof d) == 0)
            rc = vg__fsync_dir(d);
    }
    if (rc == 0)
        rc = commit_rows(c, &sc, exists, &l, cam, bytes);
    if (rc == 0)
        vg_info("store", "recovered segment %" PRId64 " of camera %" PRId64 ": %u records (%zu new)",
                seg, cam, sc.nrec, l.n);
out:
    if (fd >= 0)
        close(fd);
    free(l.ops);
    return rc;
}

static int parse_id(const char *s, const char *suffix, int64_t *out)
{
    char *end = NULL;
    if (s[0] < '1' || s[0] > '9')
        return VG_EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || v <= 0 || strcmp(end, suffix) != 0)
        return VG_EINVAL;
    *out = v;
    return 0;
}

/* Calls fn for every entry of directory d named "<id><suffix>" until one
 * fails; a missing directory has no entries. */
static int for_each_id(vg_recover_ctx *c, const char *d, const char *suffix, int64_t arg,
                       int (*fn)(vg_recover_ctx *c, int64_t arg, int64_t id, const char *name))
{
    DIR *dp = opendir(d);
    if (!dp)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(dp)) != NULL) {
        int64_t id;
        if (parse_id(e->d_name, suffix, &id) != 0)
            continue;
        rc = fn(c, arg, id, e->d_name);
    }
    closedir(dp);
    return rc;
}

/* A segment file of camera cam: recovered if it has no index row. */
static int scan_seg(vg_recover_ctx *c, int64_t cam, int64_t seg, const char *name)
{
    int64_t max_seq, end_off;
    int exists;
    (void)name;
    if (seg > c->max_segment_id)
        c->max_segment_id = seg;
    int rc = seg_row(c->db, seg, &exists, &max_seq, &end_off);
    if (rc == 0 && !exists)
        rc = recover_file(c, cam, seg);
    return rc;
}

/* Recovers every file of one camera directory that has no index row. */
static int scan_cam_dir(vg_recover_ctx *c, int64_t unused, int64_t cam, const char *name)
{
    char d[4096];
    uint8_t uuid[VG_UUID_LEN];
    (void)unused;
    if (vg__db_cam_uuid(c->db, cam, uuid) != 0) {
        vg_error("store", "segments/%s: no such camera in the index; left alone", name);
        c->problems++;
        return 0;
    }
    if (vg__cam_dir(c->dir, cam, d, sizeof d) != 0)
        return VG_EINVAL;
    return for_each_id(c, d, ".vseg", cam, scan_seg);
}

static int for_each_orphan(vg_recover_ctx *c)
{
    char d[4096];
    if ((size_t)snprintf(d, sizeof d, "%s/segments", c->dir) >= sizeof d)
        return VG_EINVAL;
    return for_each_id(c, d, "", 0, scan_cam_dir);
}

/* Collects (camera, segment) pairs for a status into a malloc'd array. */
static int list_status(sqlite3 *db, const char *status, int64_t **pairs, size_t *n)
{
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    *pairs = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT camera, id FROM segments WHERE status = ? ORDER BY id", -1,
                           &s, NULL) != SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
    int rc = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *p = realloc(*pairs, cap * 2 * sizeof *p);
            if (!p) {
                rc = VG_ENOMEM;
                break;
            }
            *pairs = p;
        }
        (*pairs)[2 * *n] = sqlite3_column_int64(s, 0);
        (*pairs)[2 * *n + 1] = sqlite3_column_int64(s, 1);
        (*n)++;
    }
    sqlite3_finalize(s);
    return rc;
}

int vg__recover(vg_recover_ctx *c)
{
    int64_t *p = NULL;
    size_t n = 0;
    int rc = list_status(c->db, "garbage", &p, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = vg__delete_segment(c->dir, c->db, p[2 * i], p[2 * i + 1]);
    free(p);
    p = NULL;
    if (rc == 0)
        rc = list_status(c->db, "writing", &p, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = recover_file(c, p[2 * i], p[2 * i + 1]);
    free(p);
    if (rc == 0)
        rc = for_each_orphan(c);
    sqlite3_stmt *s = NULL;
    if (rc == 0 && sqlite3_prepare_v2(c->db, "SELECT MAX(id) FROM segments", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) > c->max_segment_id)
            c->max_segment_id = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    return rc;
}

int vg__delete_segment(const char *dir, sqlite3 *db, int64_t camera_id, int64_t segment_id)
{
    char path[4096], d[4096];
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (vg__seg_path(dir, camera_id, segment_id, path, sizeof path) != 0 ||
        vg__cam_dir(dir, camera_id, d, sizeof d) != 0)
        return VG_EINVAL;
    /* 1. garbage mark, made durable even with synchronous=NORMAL: after the
     *    unlink no power loss may bring back a row that points at nothing. */
    if (vg__db_exec(db, "PRAGMA synchronous=FULL") != 0)
        return VG_EIO;
    if (sqlite3_prepare_v2(db, "UPDATE segments SET status = 'garbage' WHERE id = ?", -1, &s,
                           NULL) != SQLITE_OK ||
        (sqlite3_bind_int64(s, 1, segment_id), sqlite3_step(s)) != SQLITE_DONE)
        rc = VG_EIO;
    sqlite3_finalize(s);
    vg__db_exec(db, "PRAGMA synchronous=NORMAL");
    if (rc)
        return rc;
    /* 2. unlink + fsync dir; 3. drop the rows. */
    if (unlink(path) != 0 && errno != ENOENT) {
        vg_error("store", "unlink %s: %s", path, strerror(errno));
        return VG_EIO;
    }
    if ((rc = vg__fsync_dir(d)) != 0)
        return rc;
    s = NULL;
    if (vg__db_exec(db, "BEGIN IMMEDIATE") != 0)
        return VG_EIO;
    const char *sql[2] = {"DELETE FROM fragments WHERE segment = ?", "DELETE FROM segments WHERE id = ?"};
    for (int i = 0; rc == 0 && i < 2; i++) {
        if (sqlite3_prepare_v2(db, sql[i], -1, &s, NULL) != SQLITE_OK ||
            (sqlite3_bind_int64(s, 1, segment_id), sqlite3_step(s)) != SQLITE_DONE)
            rc = VG_EIO;
        sqlite3_finalize(s);
        s = NULL;
    }
    /* Keys sealed to grantees go with their segment (grants.md); an index
     * from before grants has no such table: nothing to delete. */
    if (rc == 0 && sqlite3_prepare_v2(db, "DELETE FROM grant_keys WHERE segment = ?", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, segment_id);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = VG_EIO;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (rc == 0)
        rc = vg__db_exec(db, "COMMIT");
    if (rc)
        vg__db_exec(db, "ROLLBACK");
    return rc;
}
