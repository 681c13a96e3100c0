/* SPDX-License-Identifier: Apache-2.0 */
/* Which footage keys the store still needs (docs/design/keys.md "Rotation and
 * crypto-shredding"): the web shreds a retired camera key period only when no
 * segment in the index is sealed to its public key any more.
 *
 * Invariant: an error never reads as "not in use" (the caller keeps the key). */
#include "store/store_int.h"
#include "core/err.h"

#include <sqlite3.h>
#include <string.h>

int vg_store_pk_in_use(const char *dir, const char *name, const uint8_t pk[32], int *in_use)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    *in_use = 1;
    int rc = vg__db_open(dir, 1, &db);
    if (rc)
        return rc;
    /* Garbage segments cannot be read by anyone (fsck cleans them), so they
     * do not keep a key alive. */
    if (sqlite3_prepare_v2(db,
                           "SELECT EXISTS(SELECT 1 FROM segments s JOIN cameras c ON c.id = s.camera"
                           " WHERE c.name = ?1 AND s.footage_pk = ?2 AND s.status != 'garbage')",
                           -1, &s, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return VG_EIO;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, pk, 32, SQLITE_STATIC);
    rc = VG_EIO;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *in_use = sqlite3_column_int(s, 0) != 0;
        rc = 0;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}
