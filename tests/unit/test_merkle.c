/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 9162 Merkle tree: known roots (the Certificate Transparency reference
 * vectors), and for every tree size 1..N every inclusion and consistency
 * proof verifies while altered ones (other index or leaf, flipped bit,
 * short or long proof, wrong root, sizes swapped) fail. A proof alone does not
 * pin the tree size (sizes n and n+1 can share a path shape): the signed
 * tree head does. */
#include "auth/merkle.h"
#include "vg_test.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#define N 40

static uint8_t leaves[N][VG_MERKLE_HASH];

static void hex32(const char *h, uint8_t out[32])
{
    sodium_hex2bin(out, 32, h, 64, NULL, NULL, NULL);
}

static void t_reference_roots(void)
{
    static const struct { const char *data; size_t len; } in[8] = {
        {"", 0}, {"\x00", 1}, {"\x10", 1}, {"\x20\x21", 2}, {"\x30\x31", 2}, {"\x40\x41\x42\x43", 4},
        {"\x50\x51\x52\x53\x54\x55\x56\x57", 8},
        {"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16},
    };
    static const char *roots[8] = {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    };
    uint8_t l[8][32], r[32], want[32];
    for (int i = 0; i < 8; i++) vg_merkle_leaf_hash((const uint8_t *)in[i].data, in[i].len, l[i]);
    for (int n = 1; n <= 8; n++) {
        vg_merkle_root((const uint8_t (*)[32])l, (uint64_t)n, r);
        hex32(roots[n - 1], want);
        CHECK_MEM(r, want, 32);
    }
    /* The empty tree: SHA-256 of nothing. */
    vg_merkle_root((const uint8_t (*)[32])l, 0, r);
    hex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
    CHECK_MEM(r, want, 32);
}

static void t_all_inclusion_proofs(void)
{
    uint8_t p[VG_MERKLE_MAX_PROOF][32], root[32], other[32];
    for (uint64_t n = 1; n <= N; n++) {
        vg_merkle_root((const uint8_t (*)[32])leaves, n, root);
        for (uint64_t m = 0; m < n; m++) {
            int len = vg_merkle_inclusion_proof((const uint8_t (*)[32])leaves, n, m, p);
            CHECK(len >= 0);
            CHECK_EQ(vg_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t (*)[32])p, (size_t)len, root), 0);
            /* Another leaf, index, size or root must not verify. */
            if (n > 1) {
                uint64_t o = (m + 1) % n;
                CHECK_EQ(vg_merkle_verify_inclusion(m, n, leaves[o], (const uint8_t (*)[32])p, (size_t)len, root), -1);
                CHECK_EQ(vg_merkle_verify_inclusion(o, n, leaves[m], (const uint8_t (*)[32])p, (size_t)len, root), -1);
            }
            CHECK_EQ(vg_merkle_verify_inclusion(n, n, leaves[m], (const uint8_t (*)[32])p, (size_t)len, root), -1);
            memcpy(other, root, 32);
            other[0] ^= 1;
            CHECK_EQ(vg_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t (*)[32])p, (size_t)len, other), -1);
            for (int i = 0; i < len; i++) {
                p[i][31] ^= 0x80;
                CHECK_EQ(vg_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t (*)[32])p, (size_t)len, root), -1);
                p[i][31] ^= 0x80;
            }
            if (len > 0)
                CHECK_EQ(vg_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t (*)[32])p, (size_t)len - 1, root), -1);
            memcpy(p[len], root, 32);
            CHECK_EQ(vg_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t (*)[32])p, (size_t)len + 1, root), -1);
        }
    }
}

static void t_all_consistency_proofs(void)
{
    uint8_t p[VG_MERKLE_MAX_PROOF][32], r1[32], r2[32], bad[32];
    for (uint64_t n = 1; n <= N; n++) {
        vg_merkle_root((const uint8_t (*)[32])leaves, n, r2);
        for (uint64_t m = 1; m <= n; m++) {
            vg_merkle_root((const uint8_t (*)[32])leaves, m, r1);
            int len = vg_merkle_consistency_proof((const uint8_t (*)[32])leaves, n, m, p);
            CHECK(len >= 0);
            CHECK_EQ(m == n, len == 0);
            CHECK_EQ(vg_merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[32])p, (size_t)len), 0);
            /* A rewritten history: the old root no longer matches. */
            memcpy(bad, r1, 32);
            bad[5] ^= 4;
            CHECK_EQ(vg_merkle_verify_consistency(m, n, bad, r2, (const uint8_t (*)[32])p, (size_t)len), -1);
            memcpy(bad, r2, 32);
            bad[5] ^= 4;
            CHECK_EQ(vg_merkle_verify_consistency(m, n, r1, bad, (const uint8_t (*)[32])p, (size_t)len), -1);
            for (int i = 0; i < len; i++) {
                p[i][0] ^= 1;
                CHECK_EQ(vg_merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[32])p, (size_t)len), -1);
                p[i][0] ^= 1;
            }
            if (len > 0) {
                CHECK_EQ(vg_merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[32])p, (size_t)len - 1), -1);
                /* Wrong sizes with the right roots. */
                if (m > 1)
                    CHECK_EQ(vg_merkle_verify_consistency(m - 1, n, r1, r2, (const uint8_t (*)[32])p, (size_t)len), -1);
            }
            memcpy(p[len], r2, 32);
            CHECK_EQ(vg_merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[32])p, (size_t)len + 1), -1);
            /* Going back: the bigger tree is not a prefix of the smaller. */
            if (m < n)
                CHECK_EQ(vg_merkle_verify_consistency(n, m, r2, r1, (const uint8_t (*)[32])p, (size_t)len), -1);
        }
    }
    CHECK_EQ(vg_merkle_consistency_proof((const uint8_t (*)[32])leaves, 3, 0, p), -1);
    CHECK_EQ(vg_merkle_consistency_proof((const uint8_t (*)[32])leaves, 3, 4, p), -1);
    CHECK_EQ(vg_merkle_inclusion_proof((const uint8_t (*)[32])leaves, 3, 3, p), -1);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    for (int i = 0; i < N; i++) {
        uint8_t b[2] = {(uint8_t)i, 0x5a};
        vg_merkle_leaf_hash(b, sizeof b, leaves[i]);
    }
    RUN(t_reference_roots);
    RUN(t_all_inclusion_proofs);
    RUN(t_all_consistency_proofs);
    return vg_test_done();
}
