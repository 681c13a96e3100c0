/* SPDX-License-Identifier: Apache-2.0 */
/* Read helpers for the web's playback API (docs/design/live.md "Playback"):
 * recordings of a camera, one segment's metadata, and a segment file opened
 * by id. Nothing here decrypts: the browser does, with keys the server never
 * holds. Invariants:
 *  1. Only committed index rows are read (a WAL snapshot, read-only handle).
 *  2. A file path is built from integer ids only (vg__seg_path), never from
 *     request text; the caller checks the camera name returned against the
 *     cameras the requester may see.
 *  3. The readable size of a segment is what its committed rows cover (plus
 *     the trailer once closed): bytes still being written are never served. */
#include "store/store_int.h"
#include "core/err.h"

#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SEGMENTS_LISTED 20000

void vg_store_org_id(const vg_store *st, uint8_t org[16]) { memcpy(org, st->org, VG_ORG_ID_LEN); }

void vg_store_recorder_pk(const vg_store *st, uint8_t pk[32]) { memcpy(pk, st->rec_pk, VG_SIGN_PK_LEN); }

static json_t *b64(const uint8_t *p, size_t n)
{
    char out[256];
    if (sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > sizeof out)
        return NULL;
    sodium_bin2base64(out, sizeof out, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return json_string(out);
}

static int camera_id_by_name(sqlite3 *db, const char *name, int64_t *id)
{
    sqlite3_stmt *s = NULL;
    int rc = VG_ENOTFOUND;
    if (sqlite3_prepare_v2(db, "SELECT id FROM cameras WHERE name = ?", -1, &s, NULL) != SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

static json_t *list_runs(sqlite3 *db, int64_t cam, int64_t from, int64_t to)
{
    sqlite3_stmt *s = NULL;
    json_t *runs = json_array();
    if (!runs || sqlite3_prepare_v2(db,
            "SELECT MIN(f.start90k), MAX(f.start90k + f.dur90k) FROM fragments f"
            " JOIN segments s ON f.segment = s.id WHERE s.camera = ?1 AND s.status != 'garbage'"
            " AND f.seq > 0 AND s.end90k > ?2 AND s.start90k < ?3 GROUP BY s.run_id ORDER BY 1",
            -1, &s, NULL) != SQLITE_OK) {
        json_decref(runs);
        return NULL;
    }
    sqlite3_bind_int64(s, 1, cam);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    while (sqlite3_step(s) == SQLITE_ROW)
        json_array_append_new(runs, json_pack("{sIsI}", "start90k", (json_int_t)sqlite3_column_int64(s, 0),
                                              "end90k", (json_int_t)sqlite3_column_int64(s, 1)));
    sqlite3_finalize(s);
    return runs;
}

static json_t *list_segments(sqlite3 *db, int64_t cam, int64_t from, int64_t to)
{
    sqlite3_stmt *s = NULL;
    json_t *segs = json_array();
    if (!segs || sqlite3_prepare_v2(db,
            "SELECT id, start90k, end90k, bytes, status FROM segments WHERE camera = ?1"
            " AND status != 'garbage' AND end90k > ?2 AND start90k < ?3 ORDER BY start90k LIMIT ?4",
            -1, &s, NULL) != SQLITE_OK) {
        json_decref(segs);
        return NULL;
    }
    sqlite3_bind_int64(s, 1, cam);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    sqlite3_bind_int(s, 4, MAX_SEGMENTS_LISTED);
    while (sqlite3_step(s) == SQLITE_ROW)
        json_array_append_new(segs, json_pack("{sIsIsIsIss}", "id", (json_int_t)sqlite3_column_int64(s, 0),
                              "start90k", (json_int_t)sqlite3_column_int64(s, 1), "end90k",
                              (json_int_t)sqlite3_column_int64(s, 2), "bytes",
                              (json_int_t)sqlite3_column_int64(s, 3), "status",
                              (const char *)sqlite3_column_text(s, 4)));
    sqlite3_finalize(s);
    return segs;
}

int vg_store_recordings_json(const char *dir, const char *name, int64_t from90k, int64_t to90k,
                             char **out)
{
    sqlite3 *db = NULL;
    int64_t cam = 0;
    json_t *runs = NULL, *segs = NULL, *root = NULL;
    *out = NULL;
    int rc = vg__db_open(dir, 1, &db);
    if (rc)
        return rc;
    if ((rc = vg__db_exec(db, "BEGIN")) != 0)
        goto out;
    rc = camera_id_by_name(db, name, &cam);
    if (rc == VG_ENOTFOUND) {
        rc = 0; /* never recorded: empty lists */
        cam = -1;
    }
    if (rc)
        goto out;
    rc = VG_ENOMEM;
    runs = list_runs(db, cam, from90k, to90k);
    segs = list_segments(db, cam, from90k, to90k);
    if (runs && segs && (root = json_pack("{sOsO}", "runs", runs, "segments", segs)) &&
        (*out = json_dumps(root, JSON_COMPACT)))
        rc = 0;
out:
    vg__db_exec(db, "COMMIT");
    sqlite3_close(db);
    json_decref(runs);
    json_decref(segs);
    json_decref(root);
    return rc;
}

typedef struct seg_row {
    int64_t camera, start90k;
    char status[16];
    char cam_name[64];
    uint8_t sealed_key[VG_SEALED_KEY_LEN], footage_pk[VG_PK_LEN];
} seg_row;

static int load_segment(sqlite3 *db, int64_t id, seg_row *r)
{
    sqlite3_stmt *s = NULL;
    int rc = VG_ENOTFOUND;
    if (sqlite3_prepare_v2(db, "SELECT s.camera, s.start90k, s.status, c.name, s.sealed_key, s.footage_pk"
                           " FROM segments s JOIN cameras c ON c.id = s.camera WHERE s.id = ?",
                           -1, &s, NULL) != SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 4) == VG_SEALED_KEY_LEN &&
        sqlite3_column_bytes(s, 5) == VG_PK_LEN) {
        const char *st = (const char *)sqlite3_column_text(s, 2);
        const char *nm = (const char *)sqlite3_column_text(s, 3);
        r->camera = sqlite3_column_int64(s, 0);
        r->start90k = sqlite3_column_int64(s, 1);
        snprintf(r->status, sizeof r->status, "%s", st ? st : "");
        snprintf(r->cam_name, sizeof r->cam_name, "%s", nm ? nm : "");
        memcpy(r->sealed_key, sqlite3_column_blob(s, 4), VG_SEALED_KEY_LEN);
        memcpy(r->footage_pk, sqlite3_column_blob(s, 5), VG_PK_LEN);
        rc = strcmp(r->status, "garbage") == 0 ? VG_ENOTFOUND : 0;
    }
    sqlite3_finalize(s);
    return rc;
}

static json_t *frags_json(const frag_row *rows, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_pack("{sIsIsIsbsIsI}", "seq", (json_int_t)rows[i].seq, "start90k",
                              (json_int_t)rows[i].start90k, "dur90k", (json_int_t)rows[i].dur90k,
                              "key", rows[i].key, "offset", (json_int_t)rows[i].offset,
                              "length", (json_int_t)rows[i].length));
    return a;
}

int vg_store_segment_json(const char *dir, int64_t segment_id, char cam_name[64], char **out)
{
    sqlite3 *db = NULL;
    seg_row r;
    frag_row *rows = NULL;
    size_t n = 0;
    uint8_t org[VG_ORG_ID_LEN], rpk[VG_SIGN_PK_LEN];
    json_t *root = NULL;
    *out = NULL;
    int rc = vg__db_open(dir, 1, &db);
    if (rc)
        return rc;
    if ((rc = vg__db_exec(db, "BEGIN")) != 0 || (rc = vg__db_meta(db, org, rpk)) != 0 ||
        (rc = load_segment(db, segment_id, &r)) != 0 || (rc = vg__load_rows(db, segment_id, &rows, &n)) != 0)
        goto out;
    snprintf(cam_name, 64, "%s", r.cam_name);
    rc = VG_ENOMEM;
    root = json_pack("{sIsIsososossso}", "id", (json_int_t)segment_id, "start90k", (json_int_t)r.start90k,
                     "sealed_key", b64(r.sealed_key, sizeof r.sealed_key), "footage_pk",
                     b64(r.footage_pk, sizeof r.footage_pk), "recorder_pk", b64(rpk, sizeof rpk),
                     "status", r.status, "fragments", frags_json(rows, n));
    if (root && (*out = json_dumps(root, JSON_COMPACT)))
        rc = 0;
out:
    vg__db_exec(db, "COMMIT");
    sqlite3_close(db);
    free(rows);
    json_decref(root);
    return rc;
}

int vg_store_segment_open(const char *dir, int64_t segment_id, char cam_name[64], int *fd,
                          uint64_t *size)
{
    sqlite3 *db = NULL;
    seg_row r;
    frag_row *rows = NULL;
    size_t n = 0;
    char path[4096];
    *fd = -1;
    int rc = vg__db_open(dir, 1, &db);
    if (rc)
        return rc;
    if ((rc = vg__db_exec(db, "BEGIN")) != 0 || (rc = load_segment(db, segment_id, &r)) != 0 ||
        (rc = vg__load_rows(db, segment_id, &rows, &n)) != 0)
        goto out;
    snprintf(cam_name, 64, "%s", r.cam_name);
    /* Invariant 3: up to the end of the last committed record; a closed
     * segment's trailer (signature) follows it. */
    uint64_t end = VG_SEGHDR_LEN;
    for (size_t i = 0; i < n; i++)
        if (rows[i].offset + rows[i].length > end)
            end = rows[i].offset + rows[i].length;
    if (strcmp(r.status, "closed") == 0)
        end += VG_TRAILER_LEN;
    if ((rc = vg__seg_path(dir, r.camera, segment_id, path, sizeof path)) != 0)
        goto out;
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (*fd < 0) {
        rc = VG_ENOTFOUND;
        goto out;
    }
    struct stat sb;
    if (fstat(*fd, &sb) != 0 || (uint64_t)sb.st_size < end) {
        close(*fd);
        *fd = -1;
        rc = VG_EIO;
        goto out;
    }
    *size = end;
out:
    vg__db_exec(db, "COMMIT");
    sqlite3_close(db);
    free(rows);
    return rc;
}
