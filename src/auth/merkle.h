/* SPDX-License-Identifier: Apache-2.0 */
/* Merkle tree hashing in the manner of RFC 9162 §2.1 (Certificate
 * Transparency v2), over SHA-256:
 *   leaf hash  = SHA-256(0x00 | entry bytes)
 *   node hash  = SHA-256(0x01 | left | right)
 *   MTH(D[n])  = MTH(D[0:k]) node MTH(D[k:n]), k the largest power of two < n
 * Callers hold the leaf hashes (n x 32 bytes); the functions here build roots
 * and proofs from them and verify proofs without them (§2.1.3.2, §2.1.4.2).
 * Pure functions: no allocation beyond the stack, no I/O. */
#ifndef VG_MERKLE_H
#define VG_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define VG_MERKLE_HASH 32
/* A proof for a tree of up to 2^63 leaves has at most 64 hashes. */
#define VG_MERKLE_MAX_PROOF 64

void vg_merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[VG_MERKLE_HASH]);
void vg_merkle_node_hash(const uint8_t l[VG_MERKLE_HASH], const uint8_t r[VG_MERKLE_HASH],
                         uint8_t out[VG_MERKLE_HASH]);
/* MTH of the first n leaves; n = 0 gives SHA-256 of the empty string. */
void vg_merkle_root(const uint8_t (*leaves)[VG_MERKLE_HASH], uint64_t n, uint8_t out[VG_MERKLE_HASH]);
/* PATH(m, D[n]) for 0 <= m < n. Returns the number of hashes written to
 * path (<= VG_MERKLE_MAX_PROOF), or -1 if m >= n. */
int vg_merkle_inclusion_proof(const uint8_t (*leaves)[VG_MERKLE_HASH], uint64_t n, uint64_t m,
                              uint8_t path[][VG_MERKLE_HASH]);
/* PROOF(m, D[n]) for 0 < m <= n (empty when m == n). Returns the number of
 * hashes, or -1 if m is 0 or greater than n. */
int vg_merkle_consistency_proof(const uint8_t (*leaves)[VG_MERKLE_HASH], uint64_t n, uint64_t m,
                                uint8_t proof[][VG_MERKLE_HASH]);
/* RFC 9162 §2.1.3.2. 0 if leaf `index` with hash `leaf` is in the tree of
 * `size` leaves with root `root`; -1 otherwise. */
int vg_merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[VG_MERKLE_HASH],
                               const uint8_t path[][VG_MERKLE_HASH], size_t path_len,
                               const uint8_t root[VG_MERKLE_HASH]);
/* RFC 9162 §2.1.4.2. 0 if the tree of size `first` with root `first_root` is
 * a prefix of the tree of size `second` with root `second_root`; -1 otherwise.
 * first == second needs an empty proof and equal roots; first == 0 is
 * refused (nothing to be consistent with: the caller decides). */
int vg_merkle_verify_consistency(uint64_t first, uint64_t second, const uint8_t first_root[VG_MERKLE_HASH],
                                 const uint8_t second_root[VG_MERKLE_HASH],
                                 const uint8_t proof[][VG_MERKLE_HASH], size_t proof_len);

#endif
