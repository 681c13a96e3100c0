/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 9162 Merkle tree: roots, inclusion and consistency proofs (merkle.h).
 *
 * Invariants:
 *  1. Leaf and node hashes carry distinct prefixes (0x00, 0x01), so a leaf can
 *     never be passed off as an interior node (second-preimage, §2.1.1).
 *  2. Proof generation follows the RFC's recursive definitions literally;
 *     verification follows the RFC's iterative algorithms, so the unit tests
 *     check one against the other. */
#include "auth/merkle.h"

#include <sodium.h>
#include <string.h>

void vg_merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[VG_MERKLE_HASH])
{
    crypto_hash_sha256_state h;
    uint8_t z = 0x00;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, &z, 1);
    if (len) crypto_hash_sha256_update(&h, data, len);
    crypto_hash_sha256_final(&h, out);
}

void vg_merkle_node_hash(const uint8_t l[VG_MERKLE_HASH], const uint8_t r[VG_MERKLE_HASH],
                         uint8_t out[VG_MERKLE_HASH])
{
    crypto_hash_sha256_state h;
    uint8_t one = 0x01;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, &one, 1);
    crypto_hash_sha256_update(&h, l, VG_MERKLE_HASH);
    crypto_hash_sha256_update(&h, r, VG_MERKLE_HASH);
    crypto_hash_sha256_final(&h, out);
}

/* Largest power of two strictly less than n (n >= 2). */
static uint64_t split(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n) k <<= 1;
    return k;
}

static void mth(const uint8_t (*d)[VG_MERKLE_HASH], uint64_t n, uint8_t out[VG_MERKLE_HASH])
{
    if (n == 1) { memcpy(out, d[0], VG_MERKLE_HASH); return; }
    uint8_t l[VG_MERKLE_HASH], r[VG_MERKLE_HASH];
    uint64_t k = split(n);
    mth(d, k, l);
    mth(d + k, n - k, r);
    vg_merkle_node_hash(l, r, out);
}

void vg_merkle_root(const uint8_t (*leaves)[VG_MERKLE_HASH], uint64_t n, uint8_t out[VG_MERKLE_HASH])
{
    if (n == 0) { crypto_hash_sha256(out, (const uint8_t *)"", 0); return; }
    mth(leaves, n, out);
}

/* PATH(m, D[n]) appended after *len entries (RFC 9162 §2.1.3.1): the path of
 * the deeper subtree first, then the sibling subtree's root. */
static void path(const uint8_t (*d)[VG_MERKLE_HASH], uint64_t n, uint64_t m, uint8_t out[][VG_MERKLE_HASH],
                 int *len)
{
    if (n <= 1) return;
    uint64_t k = split(n);
    if (m < k) {
        path(d, k, m, out, len);
        mth(d + k, n - k, out[(*len)++]);
    } else {
        path(d + k, n - k, m - k, out, len);
        mth(d, k, out[(*len)++]);
    }
}

int vg_merkle_inclusion_proof(const uint8_t (*leaves)[VG_MERKLE_HASH], uint64_t n, uint64_t m,
                              uint8_t out[][VG_MERKLE_HASH])
{
    int len = 0;
    if (m >= n) return -1;
    path(leaves, n, m, out, &len);
    return len;
}

/* SUBPROOF(m, D[n], b) (RFC 9162 §2.1.4.1). */
static void subproof(const uint8_t (*d)[VG_MERKLE_HASH], uint64_t n, uint64_t m, int b,
                     uint8_t out[][VG_MERKLE_HASH], int *len)
{
    if (m == n) {
        if (!b) mth(d, n, out[(*len)++]);
        return;
    }
    uint64_t k = split(n);
    if (m <= k) {
        subproof(d, k, m, b, out, len);
        mth(d + k, n - k, out[(*len)++]);
    } else {
        subproof(d + k, n - k, m - k, 0, out, len);
        mth(d, k, out[(*len)++]);
    }
}

int vg_merkle_consistency_proof(const uint8_t (*leaves)[VG_MERKLE_HASH], uint64_t n, uint64_t m,
                                uint8_t out[][VG_MERKLE_HASH])
{
    int len = 0;
    if (m == 0 || m > n) return -1;
    subproof(leaves, n, m, 1, out, &len);
    return len;
}

int vg_merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[VG_MERKLE_HASH],
                               const uint8_t p[][VG_MERKLE_HASH], size_t plen,
                               const uint8_t root[VG_MERKLE_HASH])
{
    if (index >= size) return -1;
    uint64_t fn = index, sn = size - 1;
    uint8_t r[VG_MERKLE_HASH];
    memcpy(r, leaf, VG_MERKLE_HASH);
    for (size_t i = 0; i < plen; i++) {
        if (sn == 0) return -1;
        if ((fn & 1) || fn == sn) {
            vg_merkle_node_hash(p[i], r, r);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) { fn >>= 1; sn >>= 1; }
        } else {
            vg_merkle_node_hash(r, p[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp(r, root, VG_MERKLE_HASH) == 0 ? 0 : -1;
}

int vg_merkle_verify_consistency(uint64_t first, uint64_t second, const uint8_t first_root[VG_MERKLE_HASH],
                                 const uint8_t second_root[VG_MERKLE_HASH],
                                 const uint8_t p[][VG_MERKLE_HASH], size_t plen)
{
    if (first == 0 || first > second) return -1;
    if (first == second)
        return plen == 0 && sodium_memcmp(first_root, second_root, VG_MERKLE_HASH) == 0 ? 0 : -1;
    if (plen == 0) return -1;
    /* Step 2: a first tree that is a complete subtree is its own first node. */
    const uint8_t (*q)[VG_MERKLE_HASH] = p;
    size_t qlen = plen;
    uint8_t seed[VG_MERKLE_HASH];
    if ((first & (first - 1)) == 0) {
        memcpy(seed, first_root, VG_MERKLE_HASH);
    } else {
        memcpy(seed, p[0], VG_MERKLE_HASH);
        q = p + 1;
        qlen = plen - 1;
    }
    uint64_t fn = first - 1, sn = second - 1;
    while (fn & 1) { fn >>= 1; sn >>= 1; }
    uint8_t fr[VG_MERKLE_HASH], sr[VG_MERKLE_HASH];
    memcpy(fr, seed, VG_MERKLE_HASH);
    memcpy(sr, seed, VG_MERKLE_HASH);
    for (size_t i = 0; i < qlen; i++) {
        if (sn == 0) return -1;
        if ((fn & 1) || fn == sn) {
            vg_merkle_node_hash(q[i], fr, fr);
            vg_merkle_node_hash(q[i], sr, sr);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) { fn >>= 1; sn >>= 1; }
        } else {
            vg_merkle_node_hash(sr, q[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp(fr, first_root, VG_MERKLE_HASH) == 0 &&
           sodium_memcmp(sr, second_root, VG_MERKLE_HASH) == 0 ? 0 : -1;
}
