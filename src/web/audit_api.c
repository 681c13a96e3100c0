/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log as a verifiable Merkle log over HTTP (docs/design/audit.md):
 * signed tree head, inclusion and consistency proofs, the whole log for
 * offline checking. Owners and admins only, like GET /api/audit.
 *
 * Invariants:
 *  1. Every answer is computed from the organization's rows at request time,
 *     through the session's scope; nothing is cached across organizations.
 *  2. Sizes and indexes from the query string are decimal digits only,
 *     checked against the current tree size before any proof is built. */
#include "auth/auditfile.h"
#include "auth/auditlog.h"
#include "core/err.h"
#include "core/log.h"
#include "web/web_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A query argument as a non-negative integer; def when absent; -1 if malformed. */
static int64_t qarg(struct MHD_Connection *c, const char *k, int64_t def)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
    if (!v) return def;
    size_t n = strlen(v);
    if (n == 0 || n > 15) return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

static enum MHD_Result fail(struct MHD_Connection *c, int rc)
{
    if (rc == VG_ECRYPTO) return vg_reply_error(c, MHD_HTTP_CONFLICT, "log_damaged");
    return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
}

static json_t *key_json(vg_web *w)
{
    char hex[2 * VG_LOGKEY_PK + 1], fp[48];
    sodium_bin2hex(hex, sizeof hex, vg_logkey_pk(w->logkey), VG_LOGKEY_PK);
    vg_key_fingerprint(vg_logkey_pk(w->logkey), fp, sizeof fp);
    return json_pack("{s:s,s:s}", "log_key", hex, "log_key_fingerprint", fp);
}

/* GET /api/audit/sth */
static enum MHD_Result h_sth(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_sth sth;
    int rc = vg_auditlog_sth(&r->ctx.scope, w->logkey, now_ms(), &sth);
    if (rc) return fail(c, rc);
    json_t *o = key_json(w);
    json_object_set_new(o, "sth", vg_sth_json(&sth));
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

/* GET /api/audit/proof/inclusion?seq=S[&tree_size=N] */
static enum MHD_Result h_inclusion(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    uint8_t (*l)[VG_MERKLE_HASH] = NULL, path[VG_MERKLE_MAX_PROOF][VG_MERKLE_HASH];
    uint64_t n = 0;
    int rc = vg_auditlog_leaves(&r->ctx.scope, &l, &n);
    if (rc) return fail(c, rc);
    int64_t seq = qarg(c, "seq", -1), size = qarg(c, "tree_size", (int64_t)n);
    if (seq < 1 || size < seq || (uint64_t)size > n) {
        free(l);
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_range");
    }
    int len = vg_merkle_inclusion_proof((const uint8_t (*)[VG_MERKLE_HASH])l, (uint64_t)size,
                                        (uint64_t)(seq - 1), path);
    char hex[2 * VG_MERKLE_HASH + 1];
    sodium_bin2hex(hex, sizeof hex, l[seq - 1], VG_MERKLE_HASH);
    free(l);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:I,s:I,s:s,s:o}", "leaf_index", (json_int_t)(seq - 1),
                         "tree_size", (json_int_t)size, "leaf_hash", hex, "audit_path",
                         vg_hashes_json((const uint8_t (*)[VG_MERKLE_HASH])path, (size_t)len)));
}

/* GET /api/audit/proof/consistency?first=M[&second=N] */
static enum MHD_Result h_consistency(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    uint8_t (*l)[VG_MERKLE_HASH] = NULL, p[VG_MERKLE_MAX_PROOF][VG_MERKLE_HASH];
    uint64_t n = 0;
    int rc = vg_auditlog_leaves(&r->ctx.scope, &l, &n);
    if (rc) return fail(c, rc);
    int64_t first = qarg(c, "first", -1), second = qarg(c, "second", (int64_t)n);
    if (first < 1 || second < first || (uint64_t)second > n) {
        free(l);
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_range");
    }
    int len = vg_merkle_consistency_proof((const uint8_t (*)[VG_MERKLE_HASH])l, (uint64_t)second,
                                          (uint64_t)first, p);
    free(l);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:I,s:I,s:o}", "first", (json_int_t)first, "second",
                         (json_int_t)second, "proof",
                         vg_hashes_json((const uint8_t (*)[VG_MERKLE_HASH])p, (size_t)len)));
}

/* GET /api/audit/log: every entry and an STH over exactly those entries,
 * read in one transaction so the two agree. */
static enum MHD_Result h_log(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    vg_stmt *st = NULL;
    vg_sth sth;
    json_t *ents = json_array();
    int rc = vg_db_begin(r->ctx.scope.db);
    if (rc) { json_decref(ents); return fail(c, rc); }
    rc = vg_auditlog_sth(&r->ctx.scope, w->logkey, now_ms(), &sth);
    if (!rc)
        rc = vg_scope_prep(&r->ctx.scope, &st, "SELECT seq, ts_ms, actor_id, actor, action, detail, addr "
                           "FROM audit WHERE org_id = ?1 ORDER BY seq", "");
    while (!rc && vg_db_step(st) == 1) {
        vg_audit_entry e = {.seq = vg_db_int(st, 0), .ts_ms = vg_db_int(st, 1), .actor_id = vg_db_int(st, 2),
                            .actor = vg_db_text(st, 3), .action = vg_db_text(st, 4),
                            .detail = vg_db_text(st, 5), .addr = vg_db_text(st, 6)};
        e.actor_len = strlen(e.actor ? e.actor : (e.actor = ""));
        e.action_len = strlen(e.action ? e.action : (e.action = ""));
        e.detail_len = strlen(e.detail ? e.detail : (e.detail = ""));
        e.addr_len = strlen(e.addr ? e.addr : (e.addr = ""));
        json_array_append_new(ents, vg_entry_json(&e));
    }
    vg_db_done(st);
    vg_db_rollback(r->ctx.scope.db);   /* read only */
    if (rc) { json_decref(ents); return fail(c, rc); }
    json_t *o = key_json(w);
    json_object_set_new(o, "format", json_string(VG_AUDITFILE_FORMAT));
    json_object_set_new(o, "sth", vg_sth_json(&sth));
    json_object_set_new(o, "entries", ents);
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

static const vg_web_route routes[] = {
    {"GET", "/api/audit/sth", 0, VG_SESSION, VG_ROLE_ADMIN, h_sth, NULL},
    {"GET", "/api/audit/proof/inclusion", 0, VG_SESSION, VG_ROLE_ADMIN, h_inclusion, NULL},
    {"GET", "/api/audit/proof/consistency", 0, VG_SESSION, VG_ROLE_ADMIN, h_consistency, NULL},
    {"GET", "/api/audit/log", 0, VG_SESSION, VG_ROLE_ADMIN, h_log, NULL},
};

const vg_web_route *vg_auditlog_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
