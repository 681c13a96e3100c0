/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the store while a recorder may be writing it: verified, decrypted
 * footage (vg_store_read) and the status summary (vg_store_status_json).
 *
 * Invariants:
 *  1. Only committed index rows are read, inside one read transaction (a
 *     WAL snapshot), so a reader never sees a row whose bytes are not durable.
 *  2. Nothing is decrypted before its segment is verified: for a closed
 *     segment the whole chain and the recorder's signature (key pinned in the
 *     index meta); for a segment still being written, the chain structure
 *     over the committed records (it has no signature yet).
 *  3. Every index row must name exactly a verified record (same seq, offset,
 *     length); a disagreement is VG_ECRYPTO, not "skip".
 *  4. Plaintext buffers are wiped before they are freed. */
#include "store/store_int.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STALE_SECONDS 30

typedef struct seg_recs {  /* offsets of the records a scan verified */
    uint64_t *off;
    uint64_t *len;
    size_t n, cap;
} seg_recs;

static int recs_add(void *arg, const vg_env_hdr *h, uint64_t off, size_t len)
{
    seg_recs *r = arg;
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 64;
        uint64_t *a = realloc(r->off, nc * sizeof *a);
        if (!a)
            return VG_ENOMEM;
        r->off = a;
        uint64_t *b = realloc(r->len, nc * sizeof *b);
        if (!b)
            return VG_ENOMEM;
        r->len = b;
        r->cap = nc;
    }
    r->off[r->n] = off;
    r->len[r->n++] = len;
    return 0;
}

int vg__load_rows(sqlite3 *db, int64_t seg, frag_row **rows, size_t *n)
{
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    int rc = 0;
    *rows = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT seq, start90k, dur90k, offset, length, key FROM fragments"
                           " WHERE segment = ? ORDER BY seq", -1, &s, NULL) != SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_int64(s, 1, seg);
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            frag_row *p = realloc(*rows, cap * sizeof *p);
            if (!p) {
                rc = VG_ENOMEM;
                break;
            }
            *rows = p;
        }
        frag_row *r = &(*rows)[(*n)++];
        r->seq = (uint32_t)sqlite3_column_int64(s, 0);
        r->start90k = sqlite3_column_int64(s, 1);
        r->dur90k = (uint32_t)sqlite3_column_int64(s, 2);
        r->offset = (uint64_t)sqlite3_column_int64(s, 3);
        r->length = (uint64_t)sqlite3_column_int64(s, 4);
        r->key = sqlite3_column_int(s, 5);
    }
    sqlite3_finalize(s);
    return rc;
}

/* Verifies one open segment file against its rows (invariants 2, 3).
 * Returns 0, VG_ECRYPTO (with a log line), or another error. */
int vg__verify_segment(int fd, const seg_check *k, const frag_row *rows, size_t nrows,
                          vg_segscan *sc, const char *what)
{
    seg_recs r = {0};
    int rc = vg__seg_scan(vg__seg_read_fd, &fd, recs_add, &r, sc);
    if (rc == VG_EINVAL)
        rc = VG_ECRYPTO;
    if (rc)
        goto out;
    rc = VG_ECRYPTO;
    if (sc->hdr.segment_id != (uint64_t)k->seg_id ||
        memcmp(sc->hdr.camera, k->cam_uuid, VG_UUID_LEN) != 0 ||
        memcmp(sc->hdr.org, k->org, VG_ORG_ID_LEN) != 0 ||
        memcmp(sc->hdr.recorder_pk, k->rec_pk, VG_SIGN_PK_LEN) != 0) {
        vg_error("store", "%s: header does not belong to this camera/store", what);
        goto out;
    }
    if (k->closed && (sc->end != VG_SCAN_TRAILER ||
                      vg_seg_verify(k->rec_pk, sc->hdr_hash, sc->nrec, sc->chain, sc->sig) != 0)) {
        vg_error("store", "%s: signature chain broken (%s)", what,
                 sc->end == VG_SCAN_TRAILER ? "bad signature" : "no valid trailer");
        goto out;
    }
    for (size_t i = 0; i < nrows; i++) {
        const frag_row *f = &rows[i];
        if (f->seq >= r.n || r.off[f->seq] != f->offset || r.len[f->seq] != f->length) {
            vg_error("store", "%s: index row seq %u does not match the file", what, f->seq);
            goto out;
        }
    }
    rc = 0;
out:
    free(r.off);
    free(r.len);
    return rc;
}

typedef struct read_ctx {
    sqlite3 *db;
    const char *dir;
    int64_t cam;
    uint8_t uuid[VG_UUID_LEN];
    uint8_t org[VG_ORG_ID_LEN];
    uint8_t rec_pk[VG_SIGN_PK_LEN];
    const uint8_t *pk, *sk;
    int64_t from, to;
    vg_store_read_cb cb;
    void *arg;
    vg_buf buf;
} read_ctx;

/* Decrypts and delivers one record named by row f. */
static int deliver(read_ctx *c, int fd, const uint8_t ckey[VG_CKEY_LEN], const frag_row *f,
                   int64_t seg, int run_start)
{
    vg_env_hdr h;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    vg_buf_reset(&c->buf);
    if (vg_buf_reserve(&c->buf, (size_t)f->length) != 0)
        return VG_ETOOBIG;
    if (vg__seg_read_fd(&fd, f->offset, c->buf.data, (size_t)f->length) != (int)f->length)
        return VG_EIO;
    int rc = vg_env_open(c->org, ckey, c->buf.data, (size_t)f->length, &h, &plain, &plain_len);
    if (rc == 0 && (h.seq != f->seq || h.start90k != f->start90k || h.dur90k != f->dur90k))
        rc = VG_ECRYPTO;
    if (rc) {
        vg_error("store", "segment %" PRId64 " record %u: authentication failed", seg, f->seq);
        return VG_ECRYPTO;
    }
    vg_frag_info fi = {.segment_id = seg, .seq = h.seq, .start90k = h.start90k,
                       .dur90k = h.dur90k, .key = (h.flags & VG_ENV_F_KEY) != 0,
                       .run_start = run_start};
    rc = c->cb(c->arg, &fi, plain, plain_len);
    sodium_memzero(plain, plain_len);
    return rc;
}

static int overlaps(const read_ctx *c, const frag_row *f)
{
    return f->start90k < c->to && (f->start90k + (int64_t)f->dur90k > c->from ||
                                   (f->dur90k == 0 && f->start90k >= c->from));
}

static int read_segment(read_ctx *c, int64_t seg, int closed)
{
    char path[4096], what[64];
    frag_row *rows = NULL;
    size_t nrows = 0;
    vg_segscan sc;
    uint8_t ckey[VG_CKEY_LEN];
    int fd = -1;
    snprintf(what, sizeof what, "segment %" PRId64, seg);
    int rc = vg__load_rows(c->db, seg, &rows, &nrows);
    if (rc || nrows == 0 || rows[0].seq != 0)
        goto out; /* nothing committed yet */
    if ((rc = vg__seg_path(c->dir, c->cam, seg, path, sizeof path)) != 0)
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        rc = VG_EIO;
        vg_error("store", "%s: %s", path, strerror(errno));
        goto out;
    }
    seg_check k = {.org = c->org, .rec_pk = c->rec_pk, .cam_uuid = c->uuid, .seg_id = seg,
                   .closed = closed};
    if ((rc = vg__verify_segment(fd, &k, rows, nrows, &sc, what)) != 0)
        goto out;
    if (sodium_memcmp(sc.hdr.footage_pk, c->pk, VG_PK_LEN) != 0 ||
        vg_ckey_open(sc.hdr.sealed_key, c->pk, c->sk, ckey) != 0) {
        char fp[64];
        vg_key_fingerprint(sc.hdr.footage_pk, fp, sizeof fp);
        vg_error("store", "%s is sealed to footage key %s: not the key given", what, fp);
        rc = VG_ECRYPTO;
        goto out;
    }
    int run_start = (sc.hdr.flags & VG_SEG_F_RUN_START) != 0;
    for (size_t i = 0; rc == 0 && i < nrows; i++)
        if (rows[i].seq == 0 || overlaps(c, &rows[i]))
            rc = deliver(c, fd, ckey, &rows[i], seg, run_start);
    sodium_memzero(ckey, sizeof ckey);
out:
    if (fd >= 0)
        close(fd);
    free(rows);
    return rc;
}

static int camera_by_name(sqlite3 *db, const char *name, int64_t *id, uint8_t uuid[VG_UUID_LEN])
{
    sqlite3_stmt *s = NULL;
    int rc = VG_ENOTFOUND;
    if (sqlite3_prepare_v2(db, "SELECT id, uuid FROM cameras WHERE name = ?", -1, &s, NULL) !=
        SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 1) == VG_UUID_LEN) {
        *id = sqlite3_column_int64(s, 0);
        memcpy(uuid, sqlite3_column_blob(s, 1), VG_UUID_LEN);
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

/* The segments of the camera overlapping the range, as (id, closed) pairs. */
static int list_segments(read_ctx *c, int64_t **segs, size_t *n)
{
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    int rc = 0;
    *segs = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT id, status = 'closed' FROM segments WHERE camera = ?"
                           " AND status != 'garbage' AND start90k < ? AND end90k > ?"
                           " ORDER BY start90k, id", -1, &s, NULL) != SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_int64(s, 1, c->cam);
    sqlite3_bind_int64(s, 2, c->to);
    sqlite3_bind_int64(s, 3, c->from);
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            int64_t *p = realloc(*segs, cap * 2 * sizeof *p);
            if (!p) {
                rc = VG_ENOMEM;
                break;
            }
            *segs = p;
        }
        (*segs)[2 * *n] = sqlite3_column_int64(s, 0);
        (*segs)[2 * *n + 1] = sqlite3_column_int64(s, 1);
        (*n)++;
    }
    sqlite3_finalize(s);
    return rc;
}

int vg_store_read(const char *dir, const char *name, const uint8_t pk[32], const uint8_t sk[32],
                  int64_t from90k, int64_t to90k, vg_store_read_cb cb, void *arg)
{
    read_ctx c = {.dir = dir, .pk = pk, .sk = sk, .from = from90k, .to = to90k, .cb = cb,
                  .arg = arg};
    int64_t *segs = NULL;
    size_t n = 0;
    int in_txn = 0;
    if (!dir || !name || !pk || !sk || !cb || from90k >= to90k)
        return VG_EINVAL;
    if (sodium_init() < 0)
        return VG_EIO;
    vg_buf_init(&c.buf, VG_ENV_HDR_LEN + (size_t)VG_ENV_MAX_CT);
    int rc = vg__db_open(dir, 1, &c.db);
    if (rc == 0)
        rc = vg__db_exec(c.db, "BEGIN");
    in_txn = rc == 0;
    if (rc == 0)
        rc = vg__db_meta(c.db, c.org, c.rec_pk);
    if (rc == 0)
        rc = camera_by_name(c.db, name, &c.cam, c.uuid);
    if (rc == 0)
        rc = list_segments(&c, &segs, &n);
    if (rc == 0 && n == 0)
        rc = VG_ENOTFOUND;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = read_segment(&c, segs[2 * i], (int)segs[2 * i + 1]);
    if (in_txn)
        vg__db_exec(c.db, "COMMIT");
    if (c.db)
        sqlite3_close(c.db);
    free(segs);
    vg_buf_free_wipe(&c.buf);
    return rc;
}

/* ---- status ---- */

static json_t *camera_runs(sqlite3 *db, int64_t cam, int64_t *first, int64_t *last, int64_t *nfrag)
{
    sqlite3_stmt *s = NULL;
    json_t *runs = json_array();
    *first = *last = *nfrag = 0;
    if (!runs || sqlite3_prepare_v2(db,
                                    "SELECT MIN(f.start90k), MAX(f.start90k + f.dur90k), COUNT(*)"
                                    " FROM fragments f JOIN segments s ON f.segment = s.id"
                                    " WHERE s.camera = ? AND s.status != 'garbage' AND f.seq > 0"
                                    " GROUP BY s.run_id ORDER BY 1", -1, &s, NULL) != SQLITE_OK) {
        json_decref(runs);
        return NULL;
    }
    sqlite3_bind_int64(s, 1, cam);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t a = sqlite3_column_int64(s, 0), b = sqlite3_column_int64(s, 1);
        int64_t k = sqlite3_column_int64(s, 2);
        if (json_array_size(runs) == 0 || a < *first)
            *first = a;
        if (json_array_size(runs) == 0 || b > *last)
            *last = b;
        *nfrag += k;
        json_array_append_new(runs, json_pack("{sIsIsI}", "start90k", (json_int_t)a, "end90k",
                                              (json_int_t)b, "fragments", (json_int_t)k));
    }
    sqlite3_finalize(s);
    return runs;
}

static json_t *camera_json(sqlite3 *db, sqlite3_stmt *c)
{
    int64_t id = sqlite3_column_int64(c, 0);
    const char *state = (const char *)sqlite3_column_text(c, 2);
    const char *detail = (const char *)sqlite3_column_text(c, 3);
    int64_t updated = sqlite3_column_int64(c, 4);
    if (state && strcmp(state, "offline") != 0 && (int64_t)time(NULL) - updated > STALE_SECONDS) {
        state = "offline"; /* nobody refreshed it: the recorder is not running */
        detail = "recorder not running";
    }
    sqlite3_stmt *s = NULL;
    int64_t nseg = 0, bytes = 0, first, last, nfrag;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM segments"
                           " WHERE camera = ? AND status != 'garbage'", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, id);
        if (sqlite3_step(s) == SQLITE_ROW) {
            nseg = sqlite3_column_int64(s, 0);
            bytes = sqlite3_column_int64(s, 1);
        }
    }
    sqlite3_finalize(s);
    json_t *runs = camera_runs(db, id, &first, &last, &nfrag);
    if (!runs)
        return NULL;
    size_t nruns = json_array_size(runs);
    json_int_t gaps = nruns ? (json_int_t)nruns - 1 : 0;
    return json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:I, s:o}", "name",
                     (const char *)sqlite3_column_text(c, 1), "id", (json_int_t)id, "state",
                     state ? state : "offline", "detail", detail ? detail : "", "segments",
                     (json_int_t)nseg, "fragments", (json_int_t)nfrag, "bytes", (json_int_t)bytes,
                     "first90k", nruns ? json_integer(first) : json_null(), "last90k",
                     nruns ? json_integer(last) : json_null(), "gaps", gaps, "runs", runs);
}

int vg_store_status_json(const char *dir, char **out)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    json_t *cams = NULL, *root = NULL;
    *out = NULL;
    int rc = vg__db_open(dir, 1, &db);
    if (rc)
        return rc;
    rc = VG_ENOMEM;
    if (vg__db_exec(db, "BEGIN") != 0) {
        rc = VG_EIO;
        goto out;
    }
    cams = json_array();
    if (!cams)
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT id, name, state, detail, updated FROM cameras"
                           " ORDER BY name", -1, &s, NULL) != SQLITE_OK) {
        rc = VG_EAGAIN; /* a recorder is creating the store right now */
        goto out;
    }
    while (sqlite3_step(s) == SQLITE_ROW) {
        json_t *c = camera_json(db, s);
        if (!c || json_array_append_new(cams, c) != 0)
            goto out;
    }
    root = json_pack("{sO}", "cameras", cams);
    if (root && (*out = json_dumps(root, JSON_COMPACT)) != NULL)
        rc = 0;
out:
    sqlite3_finalize(s);
    vg__db_exec(db, "COMMIT");
    sqlite3_close(db);
    json_decref(cams);
    json_decref(root);
    return rc;
}
