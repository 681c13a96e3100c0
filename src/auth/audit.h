/* SPDX-License-Identifier: Apache-2.0 */
/* Tamper-evident audit log: one hash chain per organization.
 *   hash(n) = BLAKE2b-256(hash(n-1) | le64 org | le64 seq | le64 ts_ms |
 *                         le64 actor_id | lp(actor) | lp(action) | lp(detail) | lp(addr))
 * with lp(x) = le32 length | bytes, and hash(0) = 32 zero bytes. Editing,
 * deleting or reordering a row breaks the chain; a truncated tail needs the
 * head kept elsewhere (the owner's browser keeps the last head it saw). */
#ifndef VG_AUDIT_H
#define VG_AUDIT_H

#include "db/db.h"

#include <stdint.h>

#define VG_AUDIT_HASH_LEN 32

/* detail is a JSON object text (or "{}"); actor is the member's email. */
int vg_audit_add(const vg_scope *s, int64_t actor_id, const char *actor, const char *action,
                 const char *detail, const char *addr, int64_t ts_ms);
/* 0 if the chain verifies; VG_ECRYPTO with *bad_seq = first bad row. */
int vg_audit_verify(const vg_scope *s, int64_t *bad_seq, uint8_t head[VG_AUDIT_HASH_LEN]);

#endif
