/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite implementation of db.h.
 *
 * Invariants:
 *  1. Every value reaches SQL through sqlite3_bind_*; no SQL text is built
 *     from input (the only SQL strings are literals in the callers).
 *  2. vg_scope_prep() binds ?1 to the scope's organization and refuses SQL
 *     that does not contain "org_id = ?1" (see db.h).
 *  3. The database file is created 0600 (it holds key material wrapped for
 *     members and camera credentials). */
#include "db/db.h"
#include "db/schema.h"
#include "core/err.h"
#include "core/log.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vg_db {
    sqlite3 *h;
};

static int create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return VG_EIO;
    close(fd);
    return 0;
}

/* Each step takes the database from version `to - 1` to `to`, atomically.
 * fk_off: the step rebuilds a table that others reference; foreign keys are
 * switched off around it (they cannot change inside a transaction) and
 * checked before it commits. */
static const struct migration {
    int to;
    int fk_off;
    const char *sql;
} migrations[] = {
    { 2, 0, vg_db_schema_v2_sql },
    { 3, 1, vg_db_schema_v3_sql },
    { 4, 1, vg_db_schema_v4_sql },
    { 5, 0, vg_db_schema_v5_sql },
    { 6, 0, vg_db_schema_v6_sql },
    { 7, 0, vg_db_schema_v7_sql },
    { 8, 0, vg_db_schema_v8_sql },
    { 9, 0, vg_db_schema_v9_sql },
};

static int schema_version(sqlite3 *h)
{
    sqlite3_stmt *st = NULL;
    int v = 0;
    if (sqlite3_prepare_v2(h, "SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'schema_version'", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int fk_violations(sqlite3 *h)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK) return 1;
    int bad = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return bad;
}

static int migrate(sqlite3 *h, char **err)
{
    int v = schema_version(h);
    if (v < 0) return SQLITE_ERROR;
    for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++) {
        const struct migration *m = &migrations[i];
        if (i && m->to <= migrations[i - 1].to) return SQLITE_INTERNAL;   /* the list must ascend */
        if (v >= m->to) continue;
        if (m->fk_off) sqlite3_exec(h, "PRAGMA foreign_keys=OFF", NULL, NULL, NULL);
        int rc = sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, err);
        if (rc == SQLITE_OK) rc = sqlite3_exec(h, m->sql, NULL, NULL, err);
        if (rc == SQLITE_OK && m->fk_off && fk_violations(h)) rc = SQLITE_CONSTRAINT;
        if (rc == SQLITE_OK) rc = sqlite3_exec(h, "COMMIT", NULL, NULL, err);
        if (rc != SQLITE_OK) sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
        if (m->fk_off) sqlite3_exec(h, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
        if (rc != SQLITE_OK) return rc;
        v = m->to;
    }
    return SQLITE_OK;
}

int vg_db_open(const char *path, vg_db **out)
{
    int rc = VG_EIO;
    vg_db *db = calloc(1, sizeof *db);
    if (!db) return VG_ENOMEM;
    if (create_private(path)) { vg_error("db", "cannot create %s", path); goto out; }
    if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        vg_error("db", "open %s: %s", path, db->h ? sqlite3_errmsg(db->h) : "?");
        goto out;
    }
    sqlite3_busy_timeout(db->h, 2000);
    sqlite3_extended_result_codes(db->h, 1);
    char *err = NULL;
    if (sqlite3_exec(db->h, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
                     NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(db->h, vg_db_schema_sql, NULL, NULL, &err) != SQLITE_OK ||
        migrate(db->h, &err) != SQLITE_OK) {
        vg_error("db", "schema: %s", err ? err : "?");
        sqlite3_free(err);
        goto out;
    }
    rc = 0;
out:
    if (rc) { vg_db_close(db); db = NULL; }
    *out = db;
    return rc;
}

void vg_db_close(vg_db *db)
{
    if (!db) return;
    sqlite3_close(db->h);
    free(db);
}

static int bind_va(sqlite3_stmt *st, int first, const char *fmt, va_list ap)
{
    int idx = first;
    for (const char *f = fmt ? fmt : ""; *f; f++, idx++) {
        int r;
        if (*f == 'i') {
            r = sqlite3_bind_int64(st, idx, va_arg(ap, int64_t));
        } else if (*f == 'n') {
            int64_t v = va_arg(ap, int64_t);
            r = v > 0 ? sqlite3_bind_int64(st, idx, v) : sqlite3_bind_null(st, idx);
        } else if (*f == 't') {
            const char *s = va_arg(ap, const char *);
            r = s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx);
        } else if (*f == 'b') {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            if (n > 0x7fffffff) return VG_ETOOBIG;
            r = p ? sqlite3_bind_blob(st, idx, p, (int)n, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx);
        } else {
            return VG_EINVAL;
        }
        if (r != SQLITE_OK) return VG_EINVAL;
    }
    if (idx - 1 != sqlite3_bind_parameter_count(st)) return VG_EINVAL;
    return 0;
}

/* Tenant SQL must filter on, or insert, the scope's organization as ?1. */
static int scoped_sql_ok(const char *sql)
{
    if (strncmp(sql, "INSERT INTO ", 12) == 0)
        return strstr(sql, "(org_id,") && strstr(sql, "VALUES(?1,");
    return strstr(sql, "org_id = ?1") != NULL;
}

static int prep_va(vg_db *db, vg_stmt **out, const char *sql, int64_t org, const char *fmt, va_list ap)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
        vg_error("db", "prepare: %s", sqlite3_errmsg(db->h));
        return VG_EINVAL;
    }
    int first = 1;
    if (org > 0) {
        sqlite3_bind_int64(st, 1, org);
        first = 2;
    }
    int rc = bind_va(st, first, fmt, ap);
    if (rc) { sqlite3_finalize(st); return rc; }
    *out = (vg_stmt *)st;
    return 0;
}

int vg_db_prep(vg_db *db, vg_stmt **out, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = prep_va(db, out, sql, 0, fmt, ap);
    va_end(ap);
    return rc;
}

static int scope_prep_va(const vg_scope *s, vg_stmt **out, const char *sql, const char *fmt, va_list ap)
{
    *out = NULL;
    if (!s || s->org_id <= 0 || !scoped_sql_ok(sql)) return VG_EINVAL;
    return prep_va(s->db, out, sql, s->org_id, fmt, ap);
}

int vg_scope_prep(const vg_scope *s, vg_stmt **out, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = scope_prep_va(s, out, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int vg_db_step(vg_stmt *st)
{
    int r = sqlite3_step((sqlite3_stmt *)st);
    if (r == SQLITE_ROW) return 1;
    if (r == SQLITE_DONE) return 0;
    vg_warn("db", "step: %s", sqlite3_errmsg(sqlite3_db_handle((sqlite3_stmt *)st)));
    if ((r & 0xff) == SQLITE_CONSTRAINT) return VG_EINVAL;
    return VG_EIO;
}

static int run_st(vg_stmt *st)
{
    int rc;
    while ((rc = vg_db_step(st)) == 1) { }
    vg_db_done(st);
    return rc;
}

int vg_db_run(vg_db *db, const char *sql, const char *fmt, ...)
{
    vg_stmt *st;
    va_list ap;
    va_start(ap, fmt);
    int rc = prep_va(db, &st, sql, 0, fmt, ap);
    va_end(ap);
    return rc ? rc : run_st(st);
}

int vg_scope_run(const vg_scope *s, const char *sql, const char *fmt, ...)
{
    vg_stmt *st;
    va_list ap;
    va_start(ap, fmt);
    int rc = scope_prep_va(s, &st, sql, fmt, ap);
    va_end(ap);
    return rc ? rc : run_st(st);
}

void vg_db_done(vg_stmt *st) { sqlite3_finalize((sqlite3_stmt *)st); }

int vg_scope_exists(const vg_scope *s, const char *sql, const char *fmt, ...)
{
    vg_stmt *st;
    va_list ap;
    va_start(ap, fmt);
    int rc = scope_prep_va(s, &st, sql, fmt, ap);
    va_end(ap);
    if (rc) return rc;
    rc = vg_db_step(st) == 1;
    vg_db_done(st);
    return rc;
}

int64_t vg_db_int(vg_stmt *st, int col) { return sqlite3_column_int64((sqlite3_stmt *)st, col); }

const char *vg_db_text(vg_stmt *st, int col)
{
    return (const char *)sqlite3_column_text((sqlite3_stmt *)st, col);
}

const uint8_t *vg_db_blob(vg_stmt *st, int col, size_t *len)
{
    const uint8_t *p = sqlite3_column_blob((sqlite3_stmt *)st, col);
    *len = (size_t)sqlite3_column_bytes((sqlite3_stmt *)st, col);
    return p;
}

int vg_db_is_null(vg_stmt *st, int col)
{
    return sqlite3_column_type((sqlite3_stmt *)st, col) == SQLITE_NULL;
}

int64_t vg_db_last_id(vg_db *db) { return sqlite3_last_insert_rowid(db->h); }
int vg_db_changes(vg_db *db) { return sqlite3_changes(db->h); }

static int exec(vg_db *db, const char *sql)
{
    return sqlite3_exec(db->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : VG_EIO;
}

int vg_db_begin(vg_db *db) { return exec(db, "BEGIN IMMEDIATE"); }
int vg_db_commit(vg_db *db) { return exec(db, "COMMIT"); }
void vg_db_rollback(vg_db *db) { (void)exec(db, "ROLLBACK"); }
