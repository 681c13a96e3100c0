/* SPDX-License-Identifier: Apache-2.0 */
/* `vigil audit verify`: check every organization's hash-chained audit log
 * offline (docs/design/auth.md). An edited, deleted or reordered row breaks
 * the chain; a truncated tail shows as a head that differs from one kept
 * elsewhere (the owner's browser keeps the last head it saw), so the head
 * is printed for comparison. */
#include "auth/audit.h"
#include "auth/auditlog.h"
#include "cli/cli_int.h"
#include "core/err.h"
#include "db/db.h"

#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
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
    /* The Merkle root, to compare with a tree head the organization kept. */
    uint8_t (*l)[VG_MERKLE_HASH] = NULL, root[VG_MERKLE_HASH];
    uint64_t size = 0;
    if ((rc = vg_auditlog_leaves(&s, &l, &size)) != 0) {
        printf("organization %s: TAMPERED: entries are not numbered 1..n\n", name);
        return rc;
    }
    vg_merkle_root((const uint8_t (*)[VG_MERKLE_HASH])l, size, root);
    free(l);
    sodium_bin2hex(hex, sizeof hex, root, sizeof root);
    printf("organization %s (id %lld): tree size %llu, root %s\n", name, (long long)org, (unsigned long long)size, hex);
    return 0;
}

int vg_cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'}, {"log", required_argument, 0, 'l'},
                                         {"key", required_argument, 0, 'k'}, {"sth", required_argument, 0, 's'},
                                         {"inclusion", required_argument, 0, 'i'},
                                         {"consistency", required_argument, 0, 'c'}, {0, 0, 0, 0}};
    const char *data = NULL, *log = NULL, *key = NULL, *earlier = NULL, *incl = NULL, *cons = NULL;
    int ch;
    if (argc < 2 || strcmp(argv[1], "verify") != 0)
        goto usage;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': data = optarg; break;
        case 'l': log = optarg; break;
        case 'k': key = optarg; break;
        case 's': earlier = optarg; break;
        case 'i': incl = optarg; break;
        case 'c': cons = optarg; break;
        default: goto usage;
        }
    }
    if (optind != argc || !data == !log || (log && !key) || (data && (incl || cons || !key != !earlier)) ||
        (cons && !earlier))
        goto usage;
    if (sodium_init() < 0)
        return 1;
    if (log)
        return vg_audit_verify_log(log, key, earlier, incl, cons);
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
    int rc = failed ? 1 : 0;
    if (earlier) {
        int erc = vg_audit_verify_db_sth(db, key, earlier);
        if (erc > rc) rc = erc;
    }
    vg_db_close(db);
    if (!orgs)
        printf("no organizations\n");
    return rc;
usage:
    fprintf(stderr, "usage: vigil audit verify --data DIR [--key HEX --sth EARLIER]\n"
                    "       vigil audit verify --log FILE --key HEX [--sth EARLIER] [--inclusion PROOF]\n"
                    "                          [--consistency PROOF]\n");
    return 2;
}
