/* SPDX-License-Identifier: Apache-2.0 */
/* A fresh app database with its auth state, for the unit tests of src/auth
 * (test_auth.c, test_tenancy.c). Included once per test binary. */
#ifndef VG_TEST_AUTH_FIXTURE_H
#define VG_TEST_AUTH_FIXTURE_H

#include "auth/auth.h"
#include "auth/totp.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static vg_db *db;
static vg_auth *au;

/* prefix: the temporary directory's name, e.g. "/tmp/vg_test_auth". */
static void open_fresh_at(const char *prefix)
{
    char path[128];
    snprintf(dir, sizeof dir, "%s.XXXXXX", prefix);
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/app.db", dir);
    if (vg_db_open(path, &db) || vg_auth_new(db, dir, &au)) abort();
}

static void close_all(void)
{
    char path[160];
    vg_auth_free(au);
    vg_db_close(db);
    const char *f[] = {"app.db", "app.db-wal", "app.db-shm", "secret.key"};
    for (size_t i = 0; i < 4; i++) { snprintf(path, sizeof path, "%s/%s", dir, f[i]); unlink(path); }
    rmdir(dir);
}

/* Member keys filled with `fill`; with totp, a secret and the code for `now`. */
static void keys(vg_member_keys *k, uint8_t fill, int totp, int64_t now)
{
    memset(k, 0, sizeof *k);
    memset(k->salt, fill, sizeof k->salt);
    memset(k->auth_key, fill, sizeof k->auth_key);
    memset(k->pk, fill, sizeof k->pk);
    memset(k->wrapped_sk, fill, sizeof k->wrapped_sk);
    if (totp) {
        uint32_t c;
        k->has_totp = 1;
        memset(k->totp_secret, fill ^ 0x55, sizeof k->totp_secret);
        vg_hotp(VG_TOTP_SHA1, k->totp_secret, 20, (uint64_t)(now / 30), 6, &c);
        snprintf(k->totp_code, sizeof k->totp_code, "%06u", c);
    }
}

#endif
