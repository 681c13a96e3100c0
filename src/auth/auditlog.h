/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log as a verifiable Merkle log (docs/design/audit.md).
 *
 * The audit rows (audit.c) stay the one source of truth; an organization's
 * log is the RFC 9162 tree (merkle.h) whose leaf i is entry seq = i + 1:
 *   leaf = SHA-256(0x00 | le64 org | le64 seq | le64 ts_ms | le64 actor_id |
 *                  lp(actor) | lp(action) | lp(detail) | lp(addr))
 * with lp(x) = le32 length | bytes (the same canonical bytes as the chain).
 * A signed tree head (STH) is Ed25519 by the deployment's log key over
 *   "vigil-sth-v1" 0x00 | le64 org | le64 tree_size | le64 timestamp_ms | root
 * The log key's 32-byte seed is DATA/audit-log.key (0600, made once).
 *
 * Owner: vg_logkey_load's caller frees the key with vg_logkey_free (wiped);
 * vg_auditlog_leaves' caller frees *leaves with free(). */
#ifndef VG_AUDITLOG_H
#define VG_AUDITLOG_H

#include "auth/merkle.h"
#include "db/db.h"

#include <stddef.h>
#include <stdint.h>

#define VG_LOGKEY_PK 32
#define VG_STH_SIG 64
#define VG_STH_MSG_LEN (13 + 8 + 8 + 8 + 32)

typedef struct vg_logkey vg_logkey;

/* One audit entry as it is hashed; strings are not owned here. */
typedef struct vg_audit_entry {
    int64_t seq, ts_ms, actor_id;
    const char *actor, *action, *detail, *addr;
    size_t actor_len, action_len, detail_len, addr_len;
} vg_audit_entry;

typedef struct vg_sth {
    int64_t org_id;
    uint64_t tree_size;
    int64_t timestamp_ms;
    uint8_t root[VG_MERKLE_HASH];
    uint8_t sig[VG_STH_SIG];
} vg_sth;

void vg_audit_leaf(int64_t org_id, const vg_audit_entry *e, uint8_t out[VG_MERKLE_HASH]);

/* Loads DATA/audit-log.key or creates it (O_EXCL, 0600, fsync). */
int vg_logkey_load(const char *data_dir, vg_logkey **out);
void vg_logkey_free(vg_logkey *k);
const uint8_t *vg_logkey_pk(const vg_logkey *k);

void vg_sth_message(const vg_sth *s, uint8_t msg[VG_STH_MSG_LEN]);
void vg_sth_sign(const vg_logkey *k, vg_sth *s);
/* 0 if the signature verifies under pk; VG_ECRYPTO otherwise. */
int vg_sth_verify(const vg_sth *s, const uint8_t pk[VG_LOGKEY_PK]);

/* Leaf hashes of the organization's entries, in seq order. VG_ECRYPTO if the
 * seqs are not 1..n (a row deleted or moved: the log is damaged). */
int vg_auditlog_leaves(const vg_scope *s, uint8_t (**leaves)[VG_MERKLE_HASH], uint64_t *n);
/* Current signed tree head of the organization (timestamp = now_ms). */
int vg_auditlog_sth(const vg_scope *s, const vg_logkey *k, int64_t now_ms, vg_sth *out);

#endif
