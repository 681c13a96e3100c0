/* SPDX-License-Identifier: Apache-2.0 */
/* `vigil audit verify --log FILE --key HEX ...`: check a downloaded audit
 * log offline (docs/design/audit.md, docs/cli.md). Recomputes the Merkle
 * tree from the entries, checks the signed tree head under the pinned log
 * key, and optionally an inclusion proof and consistency with an earlier tree
 * head the organization kept (the only way to see a truncated log).
 *
 * Exit codes: 0 verified; 1 the log fails a check (printed as TAMPERED,
 * TRUNCATED, REWRITTEN or BAD SIGNATURE); 3 an input cannot be read or
 * parsed. Usage errors are 2 (cmd_audit.c). */
#include "auth/auditfile.h"
#include "auth/auditlog.h"
#include "cli/cli_int.h"
#include "core/err.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (1024L * 1024 * 1024)

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && n <= MAX_FILE && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
            if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
                *len = (size_t)n;
                buf[n] = 0;
            } else {
                free(buf);
                buf = NULL;
            }
        }
    }
    fclose(f);
    return buf;
}

static int read_sth(const char *path, vg_sth *out)
{
    size_t n = 0;
    char *t = slurp(path, &n);
    /* A kept STH may be the bare object or a whole GET /api/audit/sth answer. */
    int rc = t ? vg_sth_parse_text(t, n, out) : VG_EIO;
    if (rc && t) {
        json_t *o = json_loadb(t, n, JSON_REJECT_DUPLICATES, NULL);
        rc = o ? vg_sth_parse(json_object_get(o, "sth"), out) : VG_EINVAL;
        json_decref(o);
    }
    free(t);
    return rc;
}

static int read_proof(const char *path, int consistency, vg_proof *out)
{
    size_t n = 0;
    char *t = slurp(path, &n);
    int rc = t ? vg_proof_parse_text(t, n, consistency, out) : VG_EIO;
    free(t);
    return rc;
}

typedef struct check {
    const char *log, *key, *earlier, *inclusion, *consistency;
} check;

/* Checks against a kept earlier STH: signature, same organization, not
 * bigger than now, and a prefix of the current tree. */
static int check_earlier(const check *o, const vg_auditfile *f, const uint8_t (*l)[VG_MERKLE_HASH],
                         const uint8_t pk[VG_LOGKEY_PK])
{
    vg_sth e;
    if (read_sth(o->earlier, &e)) {
        fprintf(stderr, "vigil audit: cannot read the tree head in %s\n", o->earlier);
        return 3;
    }
    if (vg_sth_verify(&e, pk)) {
        printf("BAD SIGNATURE: the earlier tree head is not signed by the pinned log key\n");
        return 1;
    }
    if (e.org_id != f->sth.org_id) {
        printf("TAMPERED: the earlier tree head is of organization %lld, the log of %lld\n",
               (long long)e.org_id, (long long)f->sth.org_id);
        return 1;
    }
    if (e.tree_size > f->sth.tree_size) {
        printf("TRUNCATED: the log has %llu entries, an earlier tree head had %llu\n",
               (unsigned long long)f->sth.tree_size, (unsigned long long)e.tree_size);
        return 1;
    }
    if (e.tree_size == 0) {
        printf("consistent with the earlier tree head (empty)\n");
        return 0;
    }
    /* The RFC 9162 proof, as a browser holding only hashes would check it. */
    uint8_t p[VG_MERKLE_MAX_PROOF][VG_MERKLE_HASH];
    int len = vg_merkle_consistency_proof(l, f->sth.tree_size, e.tree_size, p);
    if (len < 0 || vg_merkle_verify_consistency(e.tree_size, f->sth.tree_size, e.root, f->sth.root,
                                                (const uint8_t (*)[VG_MERKLE_HASH])p, (size_t)len)) {
        printf("REWRITTEN: the first %llu entries differ from the earlier tree head\n",
               (unsigned long long)e.tree_size);
        return 1;
    }
    if (o->consistency) {
        vg_proof cp;
        if (read_proof(o->consistency, 1, &cp)) {
            fprintf(stderr, "vigil audit: cannot read the consistency proof in %s\n", o->consistency);
            return 3;
        }
        if (cp.a != e.tree_size || cp.b != f->sth.tree_size ||
            vg_merkle_verify_consistency(cp.a, cp.b, e.root, f->sth.root, (const uint8_t (*)[VG_MERKLE_HASH])cp.h,
                                         cp.len)) {
            printf("REWRITTEN: the consistency proof does not hold between sizes %llu and %llu\n",
                   (unsigned long long)e.tree_size, (unsigned long long)f->sth.tree_size);
            return 1;
        }
    }
    printf("consistent with the earlier tree head of %llu entries\n", (unsigned long long)e.tree_size);
    return 0;
}

static int check_inclusion(const check *o, const uint8_t (*l)[VG_MERKLE_HASH], uint64_t n)
{
    vg_proof ip;
    uint8_t root[VG_MERKLE_HASH];
    if (read_proof(o->inclusion, 0, &ip)) {
        fprintf(stderr, "vigil audit: cannot read the inclusion proof in %s\n", o->inclusion);
        return 3;
    }
    if (ip.b > n) {
        printf("TRUNCATED: the proof is for a tree of %llu entries, the log has %llu\n",
               (unsigned long long)ip.b, (unsigned long long)n);
        return 1;
    }
    vg_merkle_root(l, ip.b, root);
    if (vg_merkle_verify_inclusion(ip.a, ip.b, l[ip.a], (const uint8_t (*)[VG_MERKLE_HASH])ip.h, ip.len, root)) {
        printf("TAMPERED: entry %llu is not included as the proof says\n", (unsigned long long)ip.a + 1);
        return 1;
    }
    printf("entry %llu is included in the tree of %llu entries\n", (unsigned long long)ip.a + 1,
           (unsigned long long)ip.b);
    return 0;
}

static int verify(const check *o, const vg_auditfile *f, const uint8_t pk[VG_LOGKEY_PK])
{
    uint8_t root[VG_MERKLE_HASH];
    if (sodium_memcmp(f->log_key, pk, VG_LOGKEY_PK)) {
        printf("BAD SIGNATURE: the log names another log key than the pinned one\n");
        return 1;
    }
    if (vg_sth_verify(&f->sth, pk)) {
        printf("BAD SIGNATURE: the tree head is not signed by the pinned log key\n");
        return 1;
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->entries[i].seq != (int64_t)i + 1) {
            printf("TAMPERED: entry %zu has sequence number %lld (deleted or reordered)\n", i + 1,
                   (long long)f->entries[i].seq);
            return 1;
        }
    if (f->n != f->sth.tree_size) {
        printf("%s: the log has %zu entries, its signed tree head %llu\n", f->n < f->sth.tree_size ? "TRUNCATED"
               : "TAMPERED", f->n, (unsigned long long)f->sth.tree_size);
        return 1;
    }
    uint8_t (*l)[VG_MERKLE_HASH] = malloc((f->n ? f->n : 1) * VG_MERKLE_HASH);
    if (!l) return 3;
    for (size_t i = 0; i < f->n; i++) vg_audit_leaf(f->sth.org_id, &f->entries[i], l[i]);
    vg_merkle_root((const uint8_t (*)[VG_MERKLE_HASH])l, f->n, root);
    int rc = 0;
    if (sodium_memcmp(root, f->sth.root, VG_MERKLE_HASH)) {
        printf("TAMPERED: the entries do not hash to the signed root (an entry was edited, added or removed)\n");
        rc = 1;
    }
    if (!rc) printf("log of organization %lld: %zu entries, root matches the signed tree head\n",
                    (long long)f->sth.org_id, f->n);
    if (!rc && o->inclusion) rc = check_inclusion(o, (const uint8_t (*)[VG_MERKLE_HASH])l, f->n);
    if (!rc && o->earlier) rc = check_earlier(o, f, (const uint8_t (*)[VG_MERKLE_HASH])l, pk);
    free(l);
    return rc;
}

int vg_audit_verify_log(const char *log, const char *key, const char *earlier, const char *inclusion,
                        const char *consistency)
{
    check o = {log, key, earlier, inclusion, consistency};
    uint8_t pk[VG_LOGKEY_PK];
    size_t got = 0, n = 0;
    const char *end = NULL;
    if (strlen(key) != 2 * VG_LOGKEY_PK ||
        sodium_hex2bin(pk, sizeof pk, key, strlen(key), NULL, &got, &end) || got != sizeof pk) {
        fprintf(stderr, "vigil audit: --key wants the log public key as 64 hex digits\n");
        return 2;
    }
    char *t = slurp(log, &n);
    if (!t) {
        fprintf(stderr, "vigil audit: cannot read %s: %s\n", log, strerror(errno));
        return 3;
    }
    vg_auditfile f;
    int rc = vg_auditfile_parse(t, n, &f);
    free(t);
    if (rc) {
        fprintf(stderr, "vigil audit: %s is not a vigil audit log (" VG_AUDITFILE_FORMAT ")\n", log);
        return 3;
    }
    rc = verify(&o, &f, pk);
    vg_auditfile_free(&f);
    if (rc == 0) printf("verified\n");
    return rc;
}

int vg_audit_verify_db_sth(vg_db *db, const char *key, const char *earlier)
{
    uint8_t pk[VG_LOGKEY_PK], root[VG_MERKLE_HASH];
    size_t got = 0;
    const char *end = NULL;
    vg_sth e;
    if (strlen(key) != 2 * VG_LOGKEY_PK ||
        sodium_hex2bin(pk, sizeof pk, key, strlen(key), NULL, &got, &end) || got != sizeof pk) {
        fprintf(stderr, "vigil audit: --key wants the log public key as 64 hex digits\n");
        return 2;
    }
    if (read_sth(earlier, &e)) {
        fprintf(stderr, "vigil audit: cannot read the tree head in %s\n", earlier);
        return 3;
    }
    if (vg_sth_verify(&e, pk)) {
        printf("BAD SIGNATURE: the earlier tree head is not signed by the pinned log key\n");
        return 1;
    }
    vg_scope s = {.db = db, .org_id = e.org_id};
    uint8_t (*l)[VG_MERKLE_HASH] = NULL;
    uint64_t n = 0;
    if (vg_auditlog_leaves(&s, &l, &n)) {
        printf("TAMPERED: the entries of organization %lld are not numbered 1..n\n", (long long)e.org_id);
        return 1;
    }
    int rc = 0;
    if (e.tree_size > n) {
        printf("TRUNCATED: organization %lld has %llu entries, an earlier tree head had %llu\n", (long long)e.org_id,
               (unsigned long long)n, (unsigned long long)e.tree_size);
        rc = 1;
    } else {
        vg_merkle_root((const uint8_t (*)[VG_MERKLE_HASH])l, e.tree_size, root);
        if (sodium_memcmp(root, e.root, VG_MERKLE_HASH)) {
            printf("REWRITTEN: the first %llu entries of organization %lld differ from the earlier tree head\n",
                   (unsigned long long)e.tree_size, (long long)e.org_id);
            rc = 1;
        } else {
            printf("organization %lld: consistent with the earlier tree head of %llu entries\n", (long long)e.org_id,
                   (unsigned long long)e.tree_size);
        }
    }
    free(l);
    return rc;
}
