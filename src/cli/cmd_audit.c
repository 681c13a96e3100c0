/* SPDX-License-Identifier: Apache-2.0 */
/* `vigil audit verify`: check every organization's hash-chained audit log
 * offline (docs/design/auth.md). An edited, deleted or reordered row breaks
 * the chain; a truncated tail shows as a head that differs from one kept
 * elsewhere (the owner's browser keeps the last head it saw), so the head
 * is printed for comparison. */
#include "auth/audit.h"
#include "cli/cli_int.h"
#include "core/err.h"
#include "db/db.h"

#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int verify_org(vg_db *db, int64_t org, const char *name)
{
    vg_scope s = {.db = db, .org_id = org};
    int64_t bad = 0, n = 0;
    uint8_t head[VG_AUDIT_HASH_LEN];
    char hex[2 * VG_AUDIT_HASH_LEN + 1];
    vg_stmt *st = NULL;
    if (vg_scope_prep(&s, &st, "SELECT count(*) FROM audit WHERE org_id = ?1", "") == 0 &&
        vg_db_step(st) == 1)
        n = vg_db_int(st, 0);
    vg_db_done(st);
    int rc = vg_audit_verify(&s, &bad, head);
    if (rc == VG_ECRYPTO) {
        printf("organization %s: TAMPERED: the chain breaks at entry %lld of %lld\n", name,
               (long long)bad, (long long)n);
        return rc;
    }
    if (rc) {
        printf("organization %s: cannot verify: %s\n", name, vg_strerror(rc));
        return rc;
    }
    sodium_bin2hex(hex, sizeof hex, head, sizeof head);
    printf("organization %s: %lld entries, chain intact, head %s\n", name, (long long)n, hex);
    return 0;
}

int vg_cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'}, {0, 0, 0, 0}};
    const char *data = NULL;
    int ch;
    if (argc < 2 || strcmp(argv[1], "verify") != 0)
        goto usage;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != 'd')
            goto usage;
        data = optarg;
    }
    if (!data || optind != argc)
        goto usage;
    if (sodium_init() < 0)
        return 1;
    char path[PATH_MAX];
    if (vg_cli_path(path, sizeof path, data, "app.db") || access(path, R_OK) != 0) {
        fprintf(stderr, "vigil audit: no web database in %s (no organization yet)\n", data);
        return 1;
    }
    vg_db *db = NULL;
    if (vg_db_open(path, &db)) {
        fprintf(stderr, "vigil audit: cannot open %s\n", path);
        return 1;
    }
    int failed = 0, orgs = 0;
    vg_stmt *st = NULL;
    if (vg_db_prep(db, &st, "SELECT id, name FROM organizations ORDER BY id", "") == 0) {
        while (vg_db_step(st) == 1) {
            char name[256];
            snprintf(name, sizeof name, "%s", vg_db_text(st, 1) ? vg_db_text(st, 1) : "?");
            failed += verify_org(db, vg_db_int(st, 0), name) != 0;
            orgs++;
        }
    }
    vg_db_done(st);
    vg_db_close(db);
    if (!orgs)
        printf("no organizations\n");
    return failed ? 1 : 0;
usage:
    fprintf(stderr, "usage: vigil audit verify --data DIR\n");
    return 2;
}
