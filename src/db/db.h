/* SPDX-License-Identifier: Apache-2.0 */
/* App database (accounts, sessions, cameras, audit) behind one small
 * interface, so PostgreSQL can replace SQLite for the control plane later
 * (docs/design/auth.md). SQL uses positional "?N" parameters only; values are
 * always bound, never formatted into SQL text.
 *
 * Tenant scoping lives HERE, in one place: code serving a request reaches
 * tenant tables only through a vg_scope (an organization id fixed by the
 * authenticated session). vg_scope_prep() refuses SQL that does not filter on
 * "org_id = ?1" and binds ?1 itself, so a route cannot forget the filter or
 * pass another organization's id.
 *
 * Owner: vg_db_open's caller owns the vg_db and frees it with vg_db_close.
 * Statements are owned by their preparer and released with vg_db_done. */
#ifndef VG_DB_H
#define VG_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct vg_db vg_db;
typedef struct vg_stmt vg_stmt;

typedef struct vg_scope {
    vg_db *db;
    int64_t org_id;   /* > 0 */
} vg_scope;

/* Open (creating if needed, mode 0600) and migrate the schema. */
int vg_db_open(const char *path, vg_db **out);
void vg_db_close(vg_db *db);

/* Prepare sql and bind parameters ?1.. from fmt: 'i' int64_t, 'n' int64_t id
 * bound as NULL when <= 0, 't' const char *
 * (NULL binds NULL), 'b' const void *, size_t. */
int vg_db_prep(vg_db *db, vg_stmt **out, const char *sql, const char *fmt, ...);
/* Same, for tenant tables: sql must contain "org_id = ?1" (or be an
 * "INSERT INTO t(org_id, ...) VALUES(?1, ...)"); ?1 is bound to
 * s->org_id and fmt binds ?2... */
int vg_scope_prep(const vg_scope *s, vg_stmt **out, const char *sql, const char *fmt, ...);
/* 1: a row is ready; 0: done; < 0: error. */
int vg_db_step(vg_stmt *st);
/* Prepare, step to completion, finalize (for INSERT/UPDATE/DELETE). */
int vg_db_run(vg_db *db, const char *sql, const char *fmt, ...);
int vg_scope_run(const vg_scope *s, const char *sql, const char *fmt, ...);
/* Whether a scoped SELECT has a row: 1 or 0 (a failed step reads as 0);
 * < 0 when the SQL is refused or does not prepare. */
int vg_scope_exists(const vg_scope *s, const char *sql, const char *fmt, ...);
void vg_db_done(vg_stmt *st);

int64_t vg_db_int(vg_stmt *st, int col);
/* NULL when the column is NULL. Valid until the next step/done. */
const char *vg_db_text(vg_stmt *st, int col);
const uint8_t *vg_db_blob(vg_stmt *st, int col, size_t *len);
int vg_db_is_null(vg_stmt *st, int col);

int64_t vg_db_last_id(vg_db *db);
int vg_db_changes(vg_db *db);
int vg_db_begin(vg_db *db);
int vg_db_commit(vg_db *db);
void vg_db_rollback(vg_db *db);

#endif
