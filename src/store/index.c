/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite index (DATA/index.db): schema, meta, and applying queued
 * writer rows. Only bound parameters; no SQL is built from input.
 *
 * Invariants:
 *  1. WAL mode: readers (status, export, fsck) never block the recorder and
 *     see only committed transactions.
 *  2. Rows for a file are inserted only after the sync thread fsynced the
 *     file (and its directory if new): durable before visible (STYLE §9).
 *  3. The segment file path is never stored: it is derived from the camera
 *     and segment ids (vg__seg_path). */
#include "store/store_int.h"
#include "core/err.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SCHEMA_VERSION 1

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), schema_version INTEGER NOT NULL,"
    " org_id BLOB NOT NULL, recorder_pk BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS cameras ("
    " id INTEGER PRIMARY KEY, uuid BLOB NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE,"
    " footage_pk BLOB, retain_seconds INTEGER NOT NULL DEFAULT 0,"
    " retain_bytes INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'offline',"
    " detail TEXT NOT NULL DEFAULT '', updated INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS segments ("
    " id INTEGER PRIMARY KEY, camera INTEGER NOT NULL REFERENCES cameras(id),"
    " run_id INTEGER NOT NULL, run_start INTEGER NOT NULL, sealed_key BLOB NOT NULL,"
    " footage_pk BLOB NOT NULL, start90k INTEGER NOT NULL, end90k INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL, fragments INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('writing', 'closed', 'garbage')));"
    "CREATE INDEX IF NOT EXISTS segments_camera_start ON segments(camera, start90k);"
    "CREATE INDEX IF NOT EXISTS segments_start ON segments(start90k);"
    "CREATE TABLE IF NOT EXISTS fragments ("
    " segment INTEGER NOT NULL REFERENCES segments(id), seq INTEGER NOT NULL,"
    " start90k INTEGER NOT NULL, dur90k INTEGER NOT NULL, offset INTEGER NOT NULL,"
    " length INTEGER NOT NULL, key INTEGER NOT NULL, PRIMARY KEY (segment, seq)) WITHOUT ROWID;"
    /* Grants (docs/design/grants.md): content keys also sealed to a live
     * grantee, beside the file (its format is unchanged), and the owner
     * signing key pinned per organization. Added without a version bump:
     * older readers ignore them. */
    "CREATE TABLE IF NOT EXISTS grant_keys ("
    " segment INTEGER NOT NULL, grant_id INTEGER NOT NULL, sealed_key BLOB NOT NULL,"
    " PRIMARY KEY (grant_id, segment)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS trust ("
    " org BLOB PRIMARY KEY, owner_sign_pk BLOB NOT NULL, pinned INTEGER NOT NULL);";

int vg__db_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        vg_error("store", "index: %s", err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        return VG_EIO;
    }
    return 0;
}

int vg__db_open(const char *dir, int readonly, sqlite3 **out)
{
    char path[4096];
    sqlite3 *db = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/index.db", dir) >= sizeof path)
        return VG_EINVAL;
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc != SQLITE_OK) {
        vg_error("store", "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return rc == SQLITE_CANTOPEN ? VG_ENOTFOUND : VG_EIO;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_extended_result_codes(db, 1);
    if (!readonly &&
        vg__db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                        /* The index is appended to and read by range: a
                         * 512 KiB page cache (default 2 MiB) is plenty. */
                        "PRAGMA cache_size=-512; PRAGMA foreign_keys=ON;") != 0) {
        sqlite3_close(db);
        return VG_EIO;
    }
    *out = db;
    return 0;
}

int vg__db_schema(sqlite3 *db) { return vg__db_exec(db, schema_sql); }

/* The camera's uuid, or VG_ENOTFOUND. */
int vg__db_cam_uuid(sqlite3 *db, int64_t cam, uint8_t uuid[VG_UUID_LEN])
{
    sqlite3_stmt *s = NULL;
    int rc = VG_ENOTFOUND;
    if (sqlite3_prepare_v2(db, "SELECT uuid FROM cameras WHERE id = ?", -1, &s, NULL) != SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_int64(s, 1, cam);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == VG_UUID_LEN) {
        memcpy(uuid, sqlite3_column_blob(s, 0), VG_UUID_LEN);
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

int vg__db_meta(sqlite3 *db, uint8_t org[VG_ORG_ID_LEN], uint8_t rec_pk[VG_SIGN_PK_LEN])
{
    sqlite3_stmt *s = NULL;
    int rc = VG_ENOTFOUND;
    if (sqlite3_prepare_v2(db, "SELECT schema_version, org_id, recorder_pk FROM meta WHERE id = 1",
                           -1, &s, NULL) != SQLITE_OK)
        return VG_EIO;
    if (sqlite3_step(s) == SQLITE_ROW) {
        rc = VG_EINVAL;
        if (sqlite3_column_int(s, 0) == SCHEMA_VERSION &&
            sqlite3_column_bytes(s, 1) == VG_ORG_ID_LEN &&
            sqlite3_column_bytes(s, 2) == VG_SIGN_PK_LEN) {
            memcpy(org, sqlite3_column_blob(s, 1), VG_ORG_ID_LEN);
            memcpy(rec_pk, sqlite3_column_blob(s, 2), VG_SIGN_PK_LEN);
            rc = 0;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* Runs one statement with parameters described by fmt: 'i' int64, 't' text,
 * 'b' blob (pointer, int length). Returns 0 or VG_EIO. */
static int db_run(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *s = NULL;
    va_list ap;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        vg_error("store", "index: %s", sqlite3_errmsg(db));
        return VG_EIO;
    }
    va_start(ap, fmt);
    for (int i = 1; *fmt; fmt++, i++) {
        if (*fmt == 'i') {
            sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
        } else if (*fmt == 't') {
            sqlite3_bind_text(s, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        } else {
            const void *p = va_arg(ap, const void *);
            sqlite3_bind_blob(s, i, p, va_arg(ap, int), SQLITE_TRANSIENT);
        }
    }
    va_end(ap);
    int st = sqlite3_step(s);
    if (st != SQLITE_DONE && st != SQLITE_ROW) {
        vg_error("store", "index: %s", sqlite3_errmsg(db));
        rc = VG_EIO;
    }
    sqlite3_finalize(s);
    return rc;
}

int vg__db_apply_op(sqlite3 *db, const vg_op *op)
{
    switch (op->kind) {
    case VG_OP_SEG_OPEN:
        return db_run(db,
                      "INSERT INTO segments (id, camera, run_id, run_start, sealed_key, footage_pk,"
                      " start90k, end90k, bytes, fragments, status)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 'writing')",
                      "iiiibbii", op->segment_id, op->camera_id, op->u.open.run_id,
                      (int64_t)op->u.open.run_start, op->u.open.sealed_key, VG_SEALED_KEY_LEN,
                      op->u.open.footage_pk, VG_PK_LEN, op->u.open.start90k, op->u.open.start90k);
    case VG_OP_FRAG: {
        int rc = db_run(db,
                        "INSERT INTO fragments (segment, seq, start90k, dur90k, offset, length, key)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        "iiiiiii", op->segment_id, (int64_t)op->u.frag.seq, op->u.frag.start90k,
                        (int64_t)op->u.frag.dur90k, (int64_t)op->u.frag.offset,
                        (int64_t)op->u.frag.length, (int64_t)op->u.frag.key);
        if (rc)
            return rc;
        return db_run(db,
                      "UPDATE segments SET end90k = MAX(end90k, ?), bytes = ?,"
                      " fragments = fragments + ? WHERE id = ?",
                      "iiii", op->u.frag.start90k + (int64_t)op->u.frag.dur90k,
                      (int64_t)(op->u.frag.offset + op->u.frag.length),
                      (int64_t)(op->u.frag.seq > 0), op->segment_id);
    }
    case VG_OP_SEG_CLOSE:
        if (!op->u.close.signed_)
            return 0; /* no trailer (disk full): stays 'writing' until recovery */
        return db_run(db, "UPDATE segments SET status = 'closed', bytes = ? WHERE id = ?", "ii",
                      (int64_t)op->u.close.bytes, op->segment_id);
    case VG_OP_GRANT_KEY:
        return db_run(db, "INSERT OR REPLACE INTO grant_keys (segment, grant_id, sealed_key) VALUES (?, ?, ?)",
                      "iib", op->segment_id, op->u.grant.grant_id, op->u.grant.sealed_key, VG_SEALED_KEY_LEN);
    case VG_OP_GRANT_DROP:
        return db_run(db, "DELETE FROM grant_keys WHERE grant_id = ?", "i", op->u.grant.grant_id);
    }
    return VG_EINVAL;
}
