/* SPDX-License-Identifier: Apache-2.0 */
/* Live grants on the recorder side (docs/design/grants.md): the set of
 * verified grants the writer seals each new segment's content key to, the
 * index side table of those extra sealed keys, and the organization owner's
 * pinned signing key (the root the recorder verifies grants against).
 *
 * Invariants:
 *  1. A content key is sealed to a grantee only while the grant is in the
 *     set and its expiry (Unix seconds) is still ahead of this machine's own
 *     clock; an expired grant is dropped at the next segment it would cover.
 *  2. The extra sealed keys live in the index (grant_keys), never in the
 *     segment file: the file format does not change, and dropping a grant
 *     deletes its rows (through the sync thread's queue, in order with the
 *     rows that added them).
 *  3. A pinned owner key is never replaced (insert once, then compare). */
#include "store/store_int.h"
#include "core/err.h"
#include "core/log.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int find_locked(vg_store *st, int64_t grant_id)
{
    for (size_t i = 0; i < st->ngrants; i++)
        if (st->grants[i].grant_id == grant_id) return (int)i;
    return -1;
}

static void push_drop(vg_store *st, int64_t grant_id)
{
    vg_op op = {.kind = VG_OP_GRANT_DROP, .segment_id = 0, .camera_id = 0};
    op.u.grant.grant_id = grant_id;
    if (vg__store_push(st, &op))
        vg_error("store", "grant %" PRId64 ": cannot queue the deletion of its keys", grant_id);
}

static void remove_locked(vg_store *st, int i)
{
    st->grants[i] = st->grants[st->ngrants - 1];
    st->ngrants--;
}

int vg_store_grant_set(vg_store *st, int64_t grant_id, const char *const *cams, size_t ncams,
                       const uint8_t grantee_pk[32], int64_t from90k, int64_t to90k, int64_t expires)
{
    if (ncams == 0 || ncams > VG_GRANT_MAX_CAMS || grant_id <= 0 || from90k >= to90k) return VG_EINVAL;
    vg_sgrant g = {.grant_id = grant_id, .expires = expires, .from90k = from90k, .to90k = to90k};
    memcpy(g.pk, grantee_pk, 32);
    /* Names to the store's camera ids: a camera this box never recorded has
     * nothing to seal yet and is skipped. */
    pthread_mutex_lock(&st->dbmu);
    for (size_t i = 0; i < ncams; i++) {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(st->db, "SELECT id FROM cameras WHERE name = ?", -1, &s, NULL) != SQLITE_OK)
            continue;
        sqlite3_bind_text(s, 1, cams[i], -1, SQLITE_TRANSIENT);
        if (sqlite3_step(s) == SQLITE_ROW) g.cams[g.ncams++] = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->dbmu);
    pthread_mutex_lock(&st->mu);
    int i = find_locked(st, grant_id), rc = 0;
    if (i >= 0) {
        st->grants[i] = g;
    } else if (st->ngrants >= VG_STORE_MAX_GRANTS) {
        rc = VG_ETOOBIG;
    } else {
        st->grants[st->ngrants++] = g;
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

void vg_store_grant_drop(vg_store *st, int64_t grant_id)
{
    pthread_mutex_lock(&st->mu);
    int i = find_locked(st, grant_id);
    if (i >= 0) remove_locked(st, i);
    pthread_mutex_unlock(&st->mu);
    push_drop(st, grant_id);
}

void vg__grant_seal(vg_store *st, int64_t camera_id, int64_t segment_id, int64_t start90k, const uint8_t ckey[32])
{
    int64_t now = (int64_t)time(NULL);
    int64_t expired[VG_STORE_MAX_GRANTS];
    size_t nexp = 0;
    vg_op ops[VG_STORE_MAX_GRANTS];
    size_t nops = 0;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->ngrants;) {
        vg_sgrant *g = &st->grants[i];
        if (g->expires <= now) {   /* invariant 1: our own clock decides */
            expired[nexp++] = g->grant_id;
            remove_locked(st, (int)i);
            continue;
        }
        for (size_t k = 0; k < g->ncams; k++) {
            if (g->cams[k] != camera_id || start90k < g->from90k || start90k >= g->to90k) continue;
            vg_op *op = &ops[nops];
            memset(op, 0, sizeof *op);
            op->kind = VG_OP_GRANT_KEY;
            op->segment_id = segment_id;
            op->camera_id = camera_id;
            op->u.grant.grant_id = g->grant_id;
            if (crypto_box_seal(op->u.grant.sealed_key, ckey, 32, g->pk) == 0) nops++;
            break;
        }
        i++;
    }
    pthread_mutex_unlock(&st->mu);
    for (size_t i = 0; i < nexp; i++) {
        vg_info("store", "grant %" PRId64 " expired: no longer sealing to its grantee", expired[i]);
        push_drop(st, expired[i]);
    }
    for (size_t i = 0; i < nops; i++)
        if (vg__store_push(st, &ops[i]))
            vg_error("store", "segment %" PRId64 ": cannot queue a grant key", segment_id);
}

int vg_store_trust_pin(vg_store *st, const uint8_t org[16], const uint8_t pk[32])
{
    int rc = VG_EIO;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->dbmu);
    if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO trust (org, owner_sign_pk, pinned) VALUES (?, ?, ?)",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(s, 1, org, 16, SQLITE_TRANSIENT);
        sqlite3_bind_blob(s, 2, pk, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
        if (sqlite3_step(s) == SQLITE_DONE) rc = 0;
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->dbmu);
    if (rc) return rc;
    uint8_t have[32];
    rc = vg_store_trust_get(st, org, have);
    if (rc == 0 && sodium_memcmp(have, pk, 32) != 0) rc = VG_EAUTH;   /* invariant 3 */
    return rc;
}

int vg_store_trust_get(vg_store *st, const uint8_t org[16], uint8_t pk[32])
{
    int rc = VG_ENOTFOUND;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->dbmu);
    if (sqlite3_prepare_v2(st->db, "SELECT owner_sign_pk FROM trust WHERE org = ?", -1, &s, NULL) != SQLITE_OK) {
        rc = VG_EIO;
    } else {
        sqlite3_bind_blob(s, 1, org, 16, SQLITE_TRANSIENT);
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 32) {
            memcpy(pk, sqlite3_column_blob(s, 0), 32);
            rc = 0;
        }
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->dbmu);
    return rc;
}

int vg_store_grant_key(const char *dir, int64_t grant_id, int64_t segment_id, uint8_t sealed[80])
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int rc = vg__db_open(dir, 1, &db);
    if (rc) return rc;
    rc = VG_ENOTFOUND;
    /* The table appears with the first writer of this version: absent = no key. */
    if (sqlite3_prepare_v2(db, "SELECT sealed_key FROM grant_keys WHERE grant_id = ? AND segment = ?", -1, &s,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, grant_id);
        sqlite3_bind_int64(s, 2, segment_id);
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 80) {
            memcpy(sealed, sqlite3_column_blob(s, 0), 80);
            rc = 0;
        }
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

int vg_store_grant_key_count(const char *dir, int64_t grant_id, int64_t *n)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    *n = 0;
    int rc = vg__db_open(dir, 1, &db);
    if (rc) return rc;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM grant_keys WHERE grant_id = ?", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, grant_id);
        if (sqlite3_step(s) == SQLITE_ROW) *n = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return 0;
}

int vg_store_segment_span(const char *dir, int64_t segment_id, char cam_name[64], int64_t *start90k,
                          int64_t *end90k)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int rc = vg__db_open(dir, 1, &db);
    if (rc) return rc;
    rc = VG_ENOTFOUND;
    if (sqlite3_prepare_v2(db, "SELECT c.name, s.start90k, s.end90k FROM segments s JOIN cameras c ON c.id = "
                           "s.camera WHERE s.id = ? AND s.status != 'garbage'", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, segment_id);
        if (sqlite3_step(s) == SQLITE_ROW) {
            const char *nm = (const char *)sqlite3_column_text(s, 0);
            snprintf(cam_name, 64, "%s", nm ? nm : "");
            *start90k = sqlite3_column_int64(s, 1);
            *end90k = sqlite3_column_int64(s, 2);
            rc = 0;
        }
    } else {
        rc = VG_EIO;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}
