/* SPDX-License-Identifier: Apache-2.0 */
/* Hash-chained audit rows (see audit.h for the chain formula).
 *
 * Invariants:
 *  1. Rows of an organization have seq 1, 2, 3, ... without gaps; each row's
 *     prev equals the previous row's hash (seq 1: 32 zero bytes).
 *  2. Appends read the head and insert in one IMMEDIATE transaction unless the
 *     caller already holds one (then they join it). */
#include "auth/audit.h"
#include "alert/alert.h"
#include "core/err.h"

#include <sodium.h>
#include <string.h>

static void put_le(crypto_generichash_state *h, uint64_t v, int n)
{
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    crypto_generichash_update(h, b, (unsigned long long)n);
}

static void put_lp(crypto_generichash_state *h, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_le(h, n, 4);
    if (n) crypto_generichash_update(h, (const uint8_t *)s, n);
}

static void row_hash(const uint8_t prev[32], int64_t org, int64_t seq, int64_t ts, int64_t actor_id,
                     const char *actor, const char *action, const char *detail, const char *addr,
                     uint8_t out[32])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, prev, 32);
    put_le(&h, (uint64_t)org, 8);
    put_le(&h, (uint64_t)seq, 8);
    put_le(&h, (uint64_t)ts, 8);
    put_le(&h, (uint64_t)actor_id, 8);
    put_lp(&h, actor);
    put_lp(&h, action);
    put_lp(&h, detail);
    put_lp(&h, addr);
    crypto_generichash_final(&h, out, 32);
}

int vg_audit_add(const vg_scope *s, int64_t actor_id, const char *actor, const char *action,
                 const char *detail, const char *addr, int64_t ts_ms)
{
    uint8_t prev[32] = {0}, hash[32];
    int64_t seq = 1;
    vg_stmt *st = NULL;
    int rc = vg_scope_prep(s, &st, "SELECT seq, hash FROM audit WHERE org_id = ?1 ORDER BY seq DESC LIMIT 1", "");
    if (rc) return rc;
    rc = vg_db_step(st);
    if (rc == 1) {
        size_t n;
        const uint8_t *p = vg_db_blob(st, 1, &n);
        seq = vg_db_int(st, 0) + 1;
        if (n == 32) memcpy(prev, p, 32);
        rc = 0;
    }
    vg_db_done(st);
    if (rc) return rc;
    if (!detail) detail = "{}";
    if (!actor) actor = "";
    if (!addr) addr = "";
    row_hash(prev, s->org_id, seq, ts_ms, actor_id, actor, action, detail, addr, hash);
    rc = vg_scope_run(s,
        "INSERT INTO audit(org_id, seq, ts_ms, actor_id, actor, action, detail, addr, prev, hash) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        "iiittttbb", seq, ts_ms, actor_id, actor, action, detail, addr, prev, (size_t)32, hash, (size_t)32);
    /* Alert rules keyed by action (alert/alert.c), in the same transaction. */
    if (!rc) vg_alert_audit(s, actor_id, actor, action, detail, ts_ms);
    return rc;
}

int vg_audit_verify(const vg_scope *s, int64_t *bad_seq, uint8_t head[VG_AUDIT_HASH_LEN])
{
    uint8_t prev[32] = {0}, h[32];
    int64_t want = 1;
    vg_stmt *st = NULL;
    int rc = vg_scope_prep(s, &st,
        "SELECT seq, ts_ms, actor_id, actor, action, detail, addr, prev, hash FROM audit "
        "WHERE org_id = ?1 ORDER BY seq", "");
    if (rc) return rc;
    *bad_seq = 0;
    while ((rc = vg_db_step(st)) == 1) {
        size_t np, nh;
        int64_t seq = vg_db_int(st, 0);
        const uint8_t *p = vg_db_blob(st, 7, &np), *hh = vg_db_blob(st, 8, &nh);
        row_hash(prev, s->org_id, seq, vg_db_int(st, 1), vg_db_int(st, 2), vg_db_text(st, 3),
                 vg_db_text(st, 4), vg_db_text(st, 5), vg_db_text(st, 6), h);
        if (seq != want || np != 32 || nh != 32 || memcmp(p, prev, 32) || memcmp(hh, h, 32)) {
            *bad_seq = seq;
            rc = VG_ECRYPTO;
            break;
        }
        memcpy(prev, h, 32);
        want++;
    }
    vg_db_done(st);
    if (head) memcpy(head, prev, 32);
    return rc;
}
