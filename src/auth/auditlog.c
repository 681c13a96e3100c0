/* SPDX-License-Identifier: Apache-2.0 */
/* Merkle view of the audit rows, the log key and signed tree heads
 * (auditlog.h, docs/design/audit.md).
 *
 * Invariants:
 *  1. The tree is recomputed from the rows; nothing but the rows is stored, so
 *     the chain (audit.c) and the tree cannot disagree about what was logged.
 *  2. The log key's seed lives only in sodium_malloc'd memory and the key
 *     file; it is wiped on free. */
#include "auth/auditlog.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct vg_logkey {
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};

static const char sth_ctx[13] = "vigil-sth-v1";   /* 12 chars and the NUL */

static void le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put(crypto_hash_sha256_state *h, uint64_t v, int n)
{
    uint8_t b[8];
    le(b, v, n);
    crypto_hash_sha256_update(h, b, (unsigned long long)n);
}

static void put_lp(crypto_hash_sha256_state *h, const char *s, size_t n)
{
    put(h, n, 4);
    if (n) crypto_hash_sha256_update(h, (const uint8_t *)s, n);
}

void vg_audit_leaf(int64_t org_id, const vg_audit_entry *e, uint8_t out[VG_MERKLE_HASH])
{
    /* Streams SHA-256(0x00 | entry bytes): vg_merkle_leaf_hash without a copy. */
    crypto_hash_sha256_state h;
    uint8_t z = 0;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, &z, 1);
    put(&h, (uint64_t)org_id, 8);
    put(&h, (uint64_t)e->seq, 8);
    put(&h, (uint64_t)e->ts_ms, 8);
    put(&h, (uint64_t)e->actor_id, 8);
    put_lp(&h, e->actor, e->actor_len);
    put_lp(&h, e->action, e->action_len);
    put_lp(&h, e->detail, e->detail_len);
    put_lp(&h, e->addr, e->addr_len);
    crypto_hash_sha256_final(&h, out);
}

int vg_logkey_load(const char *dir, vg_logkey **out)
{
    char path[4096];
    uint8_t seed[crypto_sign_SEEDBYTES];
    int rc = VG_EIO;
    *out = NULL;
    if (snprintf(path, sizeof path, "%s/audit-log.key", dir) >= (int)sizeof path) return VG_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        /* First start: create with O_EXCL, 0600, fsync (STYLE.md §9). */
        randombytes_buf(seed, sizeof seed);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return VG_EIO;
        if (write(fd, seed, sizeof seed) == (ssize_t)sizeof seed && fsync(fd) == 0) rc = 0;
    } else if (fd >= 0) {
        struct stat sb;
        if (fstat(fd, &sb) == 0 && (sb.st_mode & 077)) vg_warn("audit", "%s is readable by others", path);
        if (read(fd, seed, sizeof seed) == (ssize_t)sizeof seed) rc = 0;
    }
    if (fd >= 0) close(fd);
    vg_logkey *k = rc ? NULL : sodium_malloc(sizeof *k);
    if (!rc && !k) rc = VG_ENOMEM;
    if (!rc) crypto_sign_seed_keypair(k->pk, k->sk, seed);
    sodium_memzero(seed, sizeof seed);
    *out = k;
    return rc;
}

void vg_logkey_free(vg_logkey *k)
{
    if (k) sodium_free(k);
}

const uint8_t *vg_logkey_pk(const vg_logkey *k) { return k->pk; }

void vg_sth_message(const vg_sth *s, uint8_t msg[VG_STH_MSG_LEN])
{
    memcpy(msg, sth_ctx, sizeof sth_ctx);
    le(msg + 13, (uint64_t)s->org_id, 8);
    le(msg + 21, s->tree_size, 8);
    le(msg + 29, (uint64_t)s->timestamp_ms, 8);
    memcpy(msg + 37, s->root, VG_MERKLE_HASH);
}

void vg_sth_sign(const vg_logkey *k, vg_sth *s)
{
    uint8_t msg[VG_STH_MSG_LEN];
    vg_sth_message(s, msg);
    crypto_sign_detached(s->sig, NULL, msg, sizeof msg, k->sk);
}

int vg_sth_verify(const vg_sth *s, const uint8_t pk[VG_LOGKEY_PK])
{
    uint8_t msg[VG_STH_MSG_LEN];
    vg_sth_message(s, msg);
    return crypto_sign_verify_detached(s->sig, msg, sizeof msg, pk) == 0 ? 0 : VG_ECRYPTO;
}

static size_t tlen(const char *s) { return s ? strlen(s) : 0; }

int vg_auditlog_leaves(const vg_scope *s, uint8_t (**leaves)[VG_MERKLE_HASH], uint64_t *n)
{
    vg_stmt *st = NULL;
    uint8_t (*l)[VG_MERKLE_HASH] = NULL;
    uint64_t cap = 0, cnt = 0;
    *leaves = NULL;
    *n = 0;
    int rc = vg_scope_prep(s, &st, "SELECT seq, ts_ms, actor_id, actor, action, detail, addr FROM audit "
                                   "WHERE org_id = ?1 ORDER BY seq", "");
    if (rc) return rc;
    while ((rc = vg_db_step(st)) == 1) {
        vg_audit_entry e = {.seq = vg_db_int(st, 0), .ts_ms = vg_db_int(st, 1), .actor_id = vg_db_int(st, 2),
                            .actor = vg_db_text(st, 3), .action = vg_db_text(st, 4),
                            .detail = vg_db_text(st, 5), .addr = vg_db_text(st, 6)};
        if (e.seq != (int64_t)cnt + 1) { rc = VG_ECRYPTO; break; }
        if (cnt == cap) {
            uint64_t nc = cap ? cap * 2 : 64;
            void *p = realloc(l, (size_t)nc * VG_MERKLE_HASH);
            if (!p) { rc = VG_ENOMEM; break; }
            l = p;
            cap = nc;
        }
        e.actor_len = tlen(e.actor);
        e.action_len = tlen(e.action);
        e.detail_len = tlen(e.detail);
        e.addr_len = tlen(e.addr);
        vg_audit_leaf(s->org_id, &e, l[cnt++]);
    }
    vg_db_done(st);
    if (rc) { free(l); return rc; }
    *leaves = l;
    *n = cnt;
    return 0;
}

int vg_auditlog_sth(const vg_scope *s, const vg_logkey *k, int64_t now_ms, vg_sth *out)
{
    uint8_t (*l)[VG_MERKLE_HASH] = NULL;
    uint64_t n = 0;
    int rc = vg_auditlog_leaves(s, &l, &n);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    out->org_id = s->org_id;
    out->tree_size = n;
    out->timestamp_ms = now_ms;
    vg_merkle_root((const uint8_t (*)[VG_MERKLE_HASH])l, n, out->root);
    vg_sth_sign(k, out);
    free(l);
    return 0;
}
