/* SPDX-License-Identifier: Apache-2.0 */
/* JSON forms of signed tree heads, proofs and a whole downloaded log
 * (docs/design/audit.md, docs/api.md). The parsers take untrusted text
 * (a file an organization kept, a server's answer) and check every field's
 * type, range and length at the edge; they are fuzzed (tests/fuzz/fuzz_auditfile.c).
 *
 *   STH:         {"org_id", "tree_size", "timestamp", "root_hash": hex, "signature": hex}
 *   inclusion:   {"leaf_index", "tree_size", "audit_path": [hex...]}
 *   consistency: {"first", "second", "proof": [hex...]}
 *   log file:    {"format": "vigil-audit-log/1", "log_key": hex, "sth": STH,
 *                 "entries": [{"seq", "ts_ms", "actor_id", "actor", "action", "detail", "addr"}]}
 *
 * Owner: vg_auditfile_parse fills a vg_auditfile that its caller releases with
 * vg_auditfile_free (it owns the JSON document the entries point into). */
#ifndef VG_AUDITFILE_H
#define VG_AUDITFILE_H

#include "auth/auditlog.h"

#include <jansson.h>

#define VG_AUDITFILE_FORMAT "vigil-audit-log/1"
#define VG_AUDITFILE_MAX_ENTRIES 10000000

typedef struct vg_proof {
    uint64_t a, b;          /* inclusion: leaf_index, tree_size; consistency: first, second */
    size_t len;
    uint8_t h[VG_MERKLE_MAX_PROOF][VG_MERKLE_HASH];
} vg_proof;

typedef struct vg_auditfile {
    json_t *doc;
    uint8_t log_key[VG_LOGKEY_PK];
    vg_sth sth;
    vg_audit_entry *entries;
    size_t n;
} vg_auditfile;

json_t *vg_sth_json(const vg_sth *s);
json_t *vg_hashes_json(const uint8_t (*h)[VG_MERKLE_HASH], size_t n);
json_t *vg_entry_json(const vg_audit_entry *e);

/* 0 or VG_EINVAL (malformed). */
int vg_sth_parse(const json_t *o, vg_sth *out);
int vg_sth_parse_text(const char *text, size_t len, vg_sth *out);
/* consistency = 0: inclusion proof; 1: consistency proof. */
int vg_proof_parse_text(const char *text, size_t len, int consistency, vg_proof *out);
int vg_auditfile_parse(const char *text, size_t len, vg_auditfile *out);
void vg_auditfile_free(vg_auditfile *f);

#endif
