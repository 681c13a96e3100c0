/* SPDX-License-Identifier: Apache-2.0 */
/* The footage store: open/recover/close, cameras, and the one sync thread
 * that makes written fragments durable and visible and runs retention.
 *
 * Invariants (docs/design/storage.md has the full list):
 *  1. One process writes a data directory: vg_store_open holds an exclusive
 *     flock on DATA/lock until vg_store_close.
 *  2. Writers never touch SQLite; they queue rows (vg__store_push) and the
 *     sync thread applies them. The sync thread fsyncs every file written
 *     since its last round, then each directory that got a new file, then
 *     commits all rows in one transaction (durable before visible).
 *  3. If an fsync fails, that segment's rows are never committed by this
 *     process (Linux may have dropped the dirty pages); the next open
 *     re-indexes whatever the file really holds.
 *  4. Retention deletes only 'closed' segments, oldest first, via a durable
 *     garbage mark -> unlink -> fsync dir -> drop rows (vg__delete_segment).
 *     A segment being written is never deleted.
 *  5. Lock order: st->dbmu before st->mu; never the other way. */
#include "store/store_int.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define MAX_DELETES_PER_ROUND 64
#define TOUCH_MS 5000
/* Room kept for the index on a full disk (see reserve_release). A delete
 * transaction touches a few pages (4 KiB WAL frames each); 256 KiB covers
 * many rounds of them and of the ops a second of recording queues. */
#define RESERVE_BYTES (256 * 1024)
#define RESERVE_NAME "index.reserve"

int vg__cam_dir(const char *dir, int64_t camera_id, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/segments/%" PRId64, dir, camera_id);
    return n < 0 || (size_t)n >= outsz ? VG_EINVAL : 0;
}

int vg__seg_path(const char *dir, int64_t camera_id, int64_t segment_id, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/segments/%" PRId64 "/%" PRId64 ".vseg", dir, camera_id,
                     segment_id);
    return n < 0 || (size_t)n >= outsz ? VG_EINVAL : 0;
}

int vg__fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return VG_EIO;
    int rc = fsync(fd) == 0 ? 0 : VG_EIO;
    close(fd);
    if (rc)
        vg_error("store", "fsync %s: %s", path, strerror(errno));
    return rc;
}

static int mkdir_durable(const char *path, const char *parent)
{
    if (mkdir(path, 0700) == 0)
        return parent ? vg__fsync_dir(parent) : 0;
    if (errno == EEXIST)
        return 0;
    vg_error("store", "mkdir %s: %s", path, strerror(errno));
    return VG_EIO;
}

/* ---- queue (writers -> sync thread) ---- */

int vg__store_push(vg_store *st, const vg_op *op)
{
    int rc = 0;
    pthread_mutex_lock(&st->mu);
    if (st->nops == st->capops) {
        size_t nc = st->capops ? st->capops * 2 : 64;
        vg_op *p = realloc(st->ops, nc * sizeof *p);
        if (!p) {
            rc = VG_ENOMEM;
            goto out;
        }
        st->ops = p;
        st->capops = nc;
    }
    st->ops[st->nops++] = *op;
out:
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int64_t vg__store_next_segment_id(vg_store *st)
{
    pthread_mutex_lock(&st->mu);
    int64_t id = st->next_segment_id++;
    pthread_mutex_unlock(&st->mu);
    return id;
}

void vg__store_wake(vg_store *st, int emergency)
{
    pthread_mutex_lock(&st->mu);
    if (emergency)
        st->emergency = 1;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* ---- the sync round ---- */

static vg_syncfd *sfd_find(vg_store *st, int64_t seg)
{
    for (size_t i = 0; i < st->nsfds; i++)
        if (st->sfds[i].segment_id == seg)
            return &st->sfds[i];
    return NULL;
}

/* Takes the fds of new segments into the table and marks what is dirty. */
static void sync_note_ops(vg_store *st, vg_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vg_op *op = &ops[i];
        vg_syncfd *f = sfd_find(st, op->segment_id);
        if (op->kind == VG_OP_SEG_OPEN && op->u.open.fd >= 0) {
            vg_syncfd *p = realloc(st->sfds, (st->nsfds + 1) * sizeof *p);
            if (!p) { /* cannot track it: treat as failed, recovery re-indexes */
                close(op->u.open.fd);
                op->u.open.fd = -1;
                continue;
            }
            st->sfds = p;
            f = &st->sfds[st->nsfds++];
            *f = (vg_syncfd){.segment_id = op->segment_id, .camera_id = op->camera_id,
                             .fd = op->u.open.fd, .new_file = 1};
            op->u.open.fd = -1; /* owned by the table now */
        }
        if (!f)
            continue;
        f->dirty = 1;
        if (op->kind == VG_OP_SEG_CLOSE)
            f->closing = 1;
    }
}

static void sync_fsync_all(vg_store *st)
{
    for (size_t i = 0; i < st->nsfds; i++) {
        vg_syncfd *f = &st->sfds[i];
        if (f->dirty && !f->failed && fsync(f->fd) != 0) {
            vg_error("store", "fsync of segment %" PRId64 " failed (%s): its new rows are dropped;"
                     " the next start re-indexes the file", f->segment_id, strerror(errno));
            f->failed = 1;
        }
        f->dirty = 0;
    }
    for (size_t i = 0; i < st->nsfds; i++) {
        vg_syncfd *f = &st->sfds[i];
        char d[4096];
        if (!f->new_file || f->failed)
            continue;
        if (vg__cam_dir(st->dir, f->camera_id, d, sizeof d) != 0 || vg__fsync_dir(d) != 0) {
            f->failed = 1;
            continue;
        }
        for (size_t j = i; j < st->nsfds; j++) /* one dir fsync covers its siblings */
            if (st->sfds[j].camera_id == f->camera_id)
                st->sfds[j].new_file = 0;
    }
}

/* Writes dirty camera states; *touch also refreshes every live camera's time. */
static int sync_states(vg_store *st, vg_cam *cams, size_t n, int touch)
{
    int64_t now = (int64_t)time(NULL);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!cams[i].state_dirty && !touch)
            continue;
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(st->db,
                               "UPDATE cameras SET state = ?, detail = ?, updated = ? WHERE id = ?",
                               -1, &s, NULL) != SQLITE_OK)
            return VG_EIO;
        sqlite3_bind_text(s, 1, cams[i].state, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, cams[i].detail, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, now);
        sqlite3_bind_int64(s, 4, cams[i].id);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = VG_EIO;
        sqlite3_finalize(s);
    }
    return rc;
}

static int sync_commit(vg_store *st, vg_op *ops, size_t n, vg_cam *cams, size_t ncams, int touch)
{
    int rc = vg__db_exec(st->db, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        vg_syncfd *f = sfd_find(st, ops[i].segment_id);
        if (f && f->failed)
            continue;
        rc = vg__db_apply_op(st->db, &ops[i]);
    }
    if (rc == 0)
        rc = sync_states(st, cams, ncams, touch);
    if (rc == 0)
        rc = vg__db_exec(st->db, "COMMIT");
    if (rc)
        vg__db_exec(st->db, "ROLLBACK");
    return rc;
}

/* Puts ops (and dirty states) back at the head of the queue after a failed commit. */
static void sync_requeue(vg_store *st, vg_op *ops, size_t n)
{
    pthread_mutex_lock(&st->mu);
    vg_op *p = realloc(ops, (n + st->nops) * sizeof *p);
    if (p) {
        if (st->nops)
            memcpy(p + n, st->ops, st->nops * sizeof *p);
        free(st->ops);
        st->ops = p;
        st->nops = st->capops = n + st->nops;
    } else {
        free(ops); /* rows lost to the index only: the next open re-indexes the files */
    }
    pthread_mutex_unlock(&st->mu);
}

static void sync_close_done(vg_store *st)
{
    for (size_t i = 0; i < st->nsfds;) {
        if (st->sfds[i].closing) {
            close(st->sfds[i].fd);
            st->sfds[i] = st->sfds[--st->nsfds];
        } else {
            i++;
        }
    }
}

static void retention(vg_store *st, int emergency, const vg_cam *cams, size_t ncams);
static void reserve_make(vg_store *st);
static int disk_low(const vg_store *st);
static void reserve_release(vg_store *st);

static void sync_round(vg_store *st)
{
    pthread_mutex_lock(&st->mu);
    vg_op *ops = st->ops;
    size_t n = st->nops;
    st->ops = NULL;
    st->nops = st->capops = 0;
    int emergency = st->emergency;
    st->emergency = 0;
    st->kick = 0;
    st->rounds_started++;
    size_t ncams = st->ncams;
    vg_cam *cams = ncams ? malloc(ncams * sizeof *cams) : NULL;
    if (cams) {
        memcpy(cams, st->cams, ncams * sizeof *cams);
        for (size_t i = 0; i < ncams; i++)
            st->cams[i].state_dirty = 0;
    } else {
        ncams = 0;
    }
    pthread_mutex_unlock(&st->mu);

    if (emergency)
        reserve_release(st);   /* before the commit: it needs the room too */
    uint64_t now = vg_mono_ms();
    int touch = now - st->last_touch_ms >= TOUCH_MS;
    sync_note_ops(st, ops, n);
    sync_fsync_all(st);
    pthread_mutex_lock(&st->dbmu);
    int rc = sync_commit(st, ops, n, cams, ncams, touch);
    if (rc != 0 && st->reserve && disk_low(st)) {
        /* The index met the full disk before any writer did: same remedy. */
        reserve_release(st);
        emergency = 1;
        rc = sync_commit(st, ops, n, cams, ncams, touch);
    }
    pthread_mutex_unlock(&st->dbmu);
    if (rc == 0) {
        free(ops);
        sync_close_done(st);
        if (touch)
            st->last_touch_ms = now;
    } else {
        vg_error("store", "index commit failed; %zu rows retried next round", n);
        sync_requeue(st, ops, n);
        pthread_mutex_lock(&st->mu);
        for (size_t i = 0; i < ncams && i < st->ncams; i++)
            st->cams[i].state_dirty |= cams[i].state_dirty;
        pthread_mutex_unlock(&st->mu);
    }
    pthread_mutex_lock(&st->dbmu);
    retention(st, emergency, cams, ncams);
    pthread_mutex_unlock(&st->dbmu);
    if (!st->reserve && !emergency)
        reserve_make(st);
    free(cams);
    pthread_mutex_lock(&st->mu);
    st->rounds_done++;
    pthread_cond_broadcast(&st->donecv);
    pthread_mutex_unlock(&st->mu);
}

void vg__store_flush(vg_store *st)
{
    pthread_mutex_lock(&st->mu);
    uint64_t want = st->rounds_started + 1;
    st->kick = 1;
    pthread_cond_signal(&st->cv);
    while (st->rounds_done < want && !st->stop)
        pthread_cond_wait(&st->donecv, &st->mu);
    pthread_mutex_unlock(&st->mu);
}

/* ---- retention (sync thread, st->dbmu held) ---- */

/* Deletes oldest closed segments matching the filter; returns how many. */
static int delete_oldest(vg_store *st, int64_t camera, int64_t before90k, int64_t over_bytes,
                         int limit)
{
    sqlite3_stmt *s = NULL;
    int64_t pairs[MAX_DELETES_PER_ROUND][3];
    int n = 0;
    if (limit > MAX_DELETES_PER_ROUND)
        limit = MAX_DELETES_PER_ROUND;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT camera, id, bytes FROM segments WHERE status = 'closed'"
                           " AND (?1 = 0 OR camera = ?1) AND (?2 IS NULL OR end90k <= ?2)"
                           " ORDER BY start90k, id LIMIT ?3",
                           -1, &s, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(s, 1, camera);
    if (before90k != INT64_MIN)
        sqlite3_bind_int64(s, 2, before90k);
    sqlite3_bind_int(s, 3, limit);
    while (n < limit && sqlite3_step(s) == SQLITE_ROW) {
        pairs[n][0] = sqlite3_column_int64(s, 0);
        pairs[n][1] = sqlite3_column_int64(s, 1);
        pairs[n][2] = sqlite3_column_int64(s, 2);
        n++;
    }
    sqlite3_finalize(s);
    int done = 0;
    for (int i = 0; i < n; i++) {
        if (over_bytes != INT64_MIN && over_bytes <= 0)
            break;
        if (vg__delete_segment(st->dir, st->db, pairs[i][0], pairs[i][1]) != 0)
            break;
        if (over_bytes != INT64_MIN)
            over_bytes -= pairs[i][2];
        done++;
    }
    return done;
}

static int64_t used_bytes(vg_store *st, int64_t camera)
{
    sqlite3_stmt *s = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT COALESCE(SUM(bytes), 0) FROM segments"
                           " WHERE status != 'garbage' AND (?1 = 0 OR camera = ?1)",
                           -1, &s, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(s, 1, camera);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void retain(vg_store *st, int64_t camera, int64_t secs, uint64_t bytes)
{
    if (secs > 0)
        delete_oldest(st, camera, vg_wall_90k() - secs * VG_HZ, INT64_MIN, MAX_DELETES_PER_ROUND);
    if (bytes > 0) {
        int64_t over = used_bytes(st, camera) - (int64_t)bytes;
        if (over > 0)
            delete_oldest(st, camera, INT64_MIN, over, MAX_DELETES_PER_ROUND);
    }
}

/* The index lives on the disk the footage fills. On a full disk every index
 * write (even marking a segment garbage before deleting it) needs a WAL page
 * the disk no longer has, so retention could never free anything and
 * recording would stay stopped. The store therefore keeps a reserve file
 * ("ballast"): released when a writer hits ENOSPC, so the index can commit
 * and retention can delete; made again once the disk has room for it several
 * times over. Sync thread only (and open). */
static void reserve_path(const vg_store *st, char *out, size_t n)
{
    snprintf(out, n, "%s/" RESERVE_NAME, st->dir);
}

/* Whether the disk is short of the margin a full disk is cleared to: twice
 * the reserve, or 2% of the file system, whichever is more (at most 64 MiB). */
static int disk_low(const vg_store *st)
{
    struct statvfs fs;
    if (statvfs(st->dir, &fs) != 0)
        return 0;
    uint64_t total = (uint64_t)fs.f_blocks * fs.f_frsize, avail = (uint64_t)fs.f_bavail * fs.f_frsize;
    uint64_t want = total / 50 > 2 * (uint64_t)RESERVE_BYTES ? total / 50 : 2 * (uint64_t)RESERVE_BYTES;
    if (want > 64u << 20)
        want = 64u << 20;
    return avail < want;
}

static void reserve_make(vg_store *st)
{
    char path[4096];
    struct statvfs fs;
    if (statvfs(st->dir, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < 4 * (uint64_t)RESERVE_BYTES)
        return;   /* not yet: the writers need the room more */
    reserve_path(st, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    int rc = posix_fallocate(fd, 0, RESERVE_BYTES);
    close(fd);
    if (rc != 0) {
        unlink(path);   /* half a reserve would only mislead */
        return;
    }
    st->reserve = 1;
}

static void reserve_release(vg_store *st)
{
    char path[4096];
    reserve_path(st, path, sizeof path);
    if (unlink(path) == 0 || errno == ENOENT) {
        if (st->reserve)
            vg_warn("store", "disk full: released the index's reserve (%d KiB) to make room", RESERVE_BYTES / 1024);
        st->reserve = 0;
    }
}

static void retention(vg_store *st, int emergency, const vg_cam *cams, size_t ncams)
{
    /* On a full disk, free a margin, not just one segment: the writers of
     * every camera refill a single segment's room within the round. */
    for (int i = 0; emergency && i < MAX_DELETES_PER_ROUND; i++) {
        if (delete_oldest(st, 0, INT64_MIN, INT64_MIN, 1) == 0) {
            vg_warn("store", "disk full and no closed segment left to delete");
            break;
        }
        if (!disk_low(st))
            break;
    }
    retain(st, 0, st->o.retain_seconds, st->o.retain_bytes);
    for (size_t i = 0; i < ncams; i++)
        retain(st, cams[i].id, cams[i].retain_seconds, cams[i].retain_bytes);
}

/* ---- thread ---- */

static void *sync_main(void *arg)
{
    vg_store *st = arg;
    pthread_mutex_lock(&st->mu);
    while (!st->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)st->o.sync_interval_ms * 1000000u;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        while (!st->stop && !st->emergency && !st->kick &&
               pthread_cond_timedwait(&st->cv, &st->mu, &ts) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&st->mu);
        sync_round(st);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    sync_round(st); /* the final round: everything queued before stop */
    return NULL;
}

/* ---- open ---- */

static int load_cameras(vg_store *st)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, uuid, footage_pk, retain_seconds, retain_bytes FROM cameras",
                           -1, &s, NULL) != SQLITE_OK)
        return VG_EIO;
    while (sqlite3_step(s) == SQLITE_ROW) {
        vg_cam *p = realloc(st->cams, (st->ncams + 1) * sizeof *p);
        if (!p) {
            rc = VG_ENOMEM;
            break;
        }
        st->cams = p;
        vg_cam *c = &st->cams[st->ncams++];
        memset(c, 0, sizeof *c);
        c->id = sqlite3_column_int64(s, 0);
        if (sqlite3_column_bytes(s, 1) == VG_UUID_LEN)
            memcpy(c->uuid, sqlite3_column_blob(s, 1), VG_UUID_LEN);
        if (sqlite3_column_bytes(s, 2) == VG_PK_LEN) {
            memcpy(c->footage_pk, sqlite3_column_blob(s, 2), VG_PK_LEN);
            c->has_pk = 1;
        }
        c->retain_seconds = sqlite3_column_int64(s, 3);
        c->retain_bytes = (uint64_t)sqlite3_column_int64(s, 4);
        snprintf(c->state, sizeof c->state, "offline");
    }
    sqlite3_finalize(s);
    return rc;
}

/* Org id and recorder key: made at first open, pinned in meta afterwards. */
static int load_identity(vg_store *st)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/recorder.key", st->dir);
    uint8_t pinned[VG_SIGN_PK_LEN];
    int rc = vg__db_meta(st->db, st->org, pinned);
    if (rc == VG_ENOTFOUND) {
        if ((rc = vg_signkey_load(path, 1, st->rec_pk, st->rec_sk)) != 0)
            return rc;
        randombytes_buf(st->org, sizeof st->org);
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(st->db, "INSERT INTO meta (id, schema_version, org_id, recorder_pk)"
                               " VALUES (1, 1, ?, ?)", -1, &s, NULL) != SQLITE_OK)
            return VG_EIO;
        sqlite3_bind_blob(s, 1, st->org, VG_ORG_ID_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, st->rec_pk, VG_SIGN_PK_LEN, SQLITE_STATIC);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : VG_EIO;
        sqlite3_finalize(s);
        return rc;
    }
    if (rc)
        return rc;
    rc = vg_signkey_load(path, 0, st->rec_pk, st->rec_sk);
    if (rc == 0 && sodium_memcmp(st->rec_pk, pinned, VG_SIGN_PK_LEN) != 0)
        rc = VG_ECRYPTO;
    if (rc)
        vg_error("store", "%s: missing or not the key pinned in the index (%s): refusing to"
                 " record footage nobody could verify", path, vg_strerror(rc));
    return rc;
}

static int take_lock(vg_store *st)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", st->dir);
    st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (st->lock_fd < 0)
        return VG_EIO;
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        vg_error("store", "%s is in use by another vigil process", st->dir);
        return VG_EAGAIN;
    }
    return 0;
}

static int open_dirs(vg_store *st)
{
    char seg[4096];
    if ((size_t)snprintf(seg, sizeof seg, "%s/segments", st->dir) >= sizeof seg)
        return VG_EINVAL;
    int rc = mkdir_durable(st->dir, NULL);
    if (rc == 0)
        rc = mkdir_durable(seg, st->dir);
    return rc;
}

static int store_start(vg_store *st)
{
    int rc = open_dirs(st);
    if (rc == 0)
        rc = take_lock(st);
    if (rc == 0)
        rc = vg__db_open(st->dir, 0, &st->db);
    if (rc == 0)
        rc = vg__db_schema(st->db);
    if (rc == 0)
        rc = load_identity(st);
    if (rc)
        return rc;
    vg_recover_ctx c = {.dir = st->dir, .db = st->db, .org = st->org, .rec_pk = st->rec_pk,
                        .rec_sk = st->rec_sk};
    rc = vg__recover(&c);
    if (rc)
        return rc;
    if (c.problems)
        vg_warn("store", "%d damaged or foreign segment file(s) left as found: run vigil fsck",
                c.problems);
    st->next_segment_id = c.max_segment_id + 1;
    if ((rc = load_cameras(st)) != 0)
        return rc;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cv, &ca);
    pthread_condattr_destroy(&ca);
    reserve_make(st);
    if (pthread_create(&st->thread, NULL, sync_main, st) != 0)
        return VG_EIO;
    st->have_thread = 1;
    return 0;
}

static void store_free(vg_store *st)
{
    if (!st)
        return;
    if (st->db)
        sqlite3_close(st->db);
    for (size_t i = 0; i < st->nsfds; i++)
        close(st->sfds[i].fd);
    for (size_t i = 0; i < st->nops; i++)
        if (st->ops[i].kind == VG_OP_SEG_OPEN && st->ops[i].u.open.fd >= 0)
            close(st->ops[i].u.open.fd);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the flock */
    sodium_memzero(st->rec_sk, sizeof st->rec_sk);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->dbmu);
    pthread_cond_destroy(&st->donecv);
    free(st->sfds);
    free(st->ops);
    free(st->cams);
    free(st->writers);
    free(st->dir);
    free(st);
}

int vg_store_open(const vg_store_opts *o, vg_store **out)
{
    *out = NULL;
    if (!o || !o->dir || !o->dir[0] || strlen(o->dir) > 3000 || o->retain_seconds < 0)
        return VG_EINVAL;
    if (sodium_init() < 0)
        return VG_EIO;
    vg_store *st = calloc(1, sizeof *st);
    if (!st || !(st->dir = strdup(o->dir))) {
        free(st);
        return VG_ENOMEM;
    }
    st->o = *o;
    st->o.dir = st->dir;
    if (!st->o.segment_seconds)
        st->o.segment_seconds = 120;
    if (!st->o.sync_interval_ms)
        st->o.sync_interval_ms = 1000;
    st->lock_fd = -1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->dbmu, NULL);
    pthread_cond_init(&st->donecv, NULL);
    int rc = store_start(st);
    if (rc) {
        vg_error("store", "cannot open store %s: %s", o->dir, vg_strerror(rc));
        store_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void vg_store_close(vg_store *st)
{
    if (!st)
        return;
    for (;;) { /* end every open run: trailer written, close queued */
        pthread_mutex_lock(&st->mu);
        vg_recw *w = st->nwriters ? st->writers[st->nwriters - 1] : NULL;
        pthread_mutex_unlock(&st->mu);
        if (!w)
            break;
        vg__recw_detach(w);
    }
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->ncams; i++) {
        snprintf(st->cams[i].state, sizeof st->cams[i].state, "offline");
        snprintf(st->cams[i].detail, sizeof st->cams[i].detail, "recorder stopped");
        st->cams[i].state_dirty = 1;
    }
    st->stop = 1;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (st->have_thread)
        pthread_join(st->thread, NULL);
    if (st->have_thread)
        pthread_cond_destroy(&st->cv);
    store_free(st);
}

/* ---- cameras ---- */

static int valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return 0;
    return 1;
}

/* Finds or creates the camera row; *uuid filled. st->dbmu held. */
static int camera_row(vg_store *st, const char *name, const uint8_t *pk, int64_t rs, uint64_t rb,
                      int64_t *id, uint8_t uuid[VG_UUID_LEN])
{
    sqlite3_stmt *s = NULL;
    int rc = VG_EIO;
    *id = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT id, uuid FROM cameras WHERE name = ?", -1, &s, NULL) !=
        SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 1) == VG_UUID_LEN) {
        *id = sqlite3_column_int64(s, 0);
        memcpy(uuid, sqlite3_column_blob(s, 1), VG_UUID_LEN);
    }
    sqlite3_finalize(s);
    s = NULL;
    if (*id == 0) {
        randombytes_buf(uuid, VG_UUID_LEN);
        rc = sqlite3_prepare_v2(st->db, "INSERT INTO cameras (uuid, name, footage_pk, retain_seconds,"
                                " retain_bytes) VALUES (?, ?, ?, ?, ?)", -1, &s, NULL);
        sqlite3_bind_blob(s, 1, uuid, VG_UUID_LEN, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    } else {
        rc = sqlite3_prepare_v2(st->db, "UPDATE cameras SET footage_pk = COALESCE(?3, footage_pk),"
                                " retain_seconds = ?4, retain_bytes = ?5 WHERE id = ?1", -1, &s, NULL);
        sqlite3_bind_int64(s, 1, *id);
    }
    if (rc != SQLITE_OK)
        return VG_EIO;
    if (pk)
        sqlite3_bind_blob(s, 3, pk, VG_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, rs);
    sqlite3_bind_int64(s, 5, (int64_t)rb);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : VG_EIO;
    sqlite3_finalize(s);
    if (rc == 0 && *id == 0)
        *id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

/* Updates (or adds) the in-memory copy the writers read. */
static int camera_mem(vg_store *st, int64_t id, const uint8_t uuid[VG_UUID_LEN], const uint8_t *pk,
                      int64_t rs, uint64_t rb)
{
    int rc = 0;
    pthread_mutex_lock(&st->mu);
    vg_cam *c = NULL;
    for (size_t i = 0; i < st->ncams; i++)
        if (st->cams[i].id == id)
            c = &st->cams[i];
    if (!c) {
        vg_cam *p = realloc(st->cams, (st->ncams + 1) * sizeof *p);
        if (!p) {
            rc = VG_ENOMEM;
            goto out;
        }
        st->cams = p;
        c = &st->cams[st->ncams++];
        memset(c, 0, sizeof *c);
        c->id = id;
        memcpy(c->uuid, uuid, VG_UUID_LEN);
        snprintf(c->state, sizeof c->state, "offline");
    }
    if (pk) {
        memcpy(c->footage_pk, pk, VG_PK_LEN);
        c->has_pk = 1;
    }
    c->retain_seconds = rs;
    c->retain_bytes = rb;
out:
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int vg_store_camera(vg_store *st, const char *name, const uint8_t footage_pk[32],
                    int64_t retain_seconds, uint64_t retain_bytes, int64_t *camera_id)
{
    uint8_t uuid[VG_UUID_LEN];
    char d[4096], parent[4096];
    int64_t id = 0;
    if (!st || !valid_name(name) || retain_seconds < 0 || retain_bytes > INT64_MAX)
        return VG_EINVAL;
    pthread_mutex_lock(&st->dbmu);
    int rc = camera_row(st, name, footage_pk, retain_seconds, retain_bytes, &id, uuid);
    pthread_mutex_unlock(&st->dbmu);
    if (rc == 0)
        rc = camera_mem(st, id, uuid, footage_pk, retain_seconds, retain_bytes);
    if (rc == 0 && (vg__cam_dir(st->dir, id, d, sizeof d) != 0 ||
                    (size_t)snprintf(parent, sizeof parent, "%s/segments", st->dir) >= sizeof parent))
        rc = VG_EINVAL;
    if (rc == 0)
        rc = mkdir_durable(d, parent);
    if (rc == 0 && camera_id)
        *camera_id = id;
    return rc;
}

void vg_store_camera_state(vg_store *st, int64_t camera_id, const char *state, const char *detail)
{
    if (!st || !state)
        return;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->ncams; i++) {
        vg_cam *c = &st->cams[i];
        if (c->id != camera_id)
            continue;
        snprintf(c->state, sizeof c->state, "%s", state);
        snprintf(c->detail, sizeof c->detail, "%s", detail ? detail : "");
        c->state_dirty = 1;
    }
    pthread_mutex_unlock(&st->mu);
}
