/* SPDX-License-Identifier: Apache-2.0 */
/* Footage cryptography (docs/design/keys.md): camera footage key pairs
 * (X25519, libsodium sealed boxes), per-segment content keys, the encrypted
 * fragment envelope (XChaCha20-Poly1305), the recorder's Ed25519 signing key
 * and the per-segment hash chain. libsodium primitives, and OpenSSL for
 * SHA-256 (hardware-accelerated); nothing rolled. */
#ifndef VG_CRYPT_H
#define VG_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#define VG_PK_LEN 32
#define VG_SK_LEN 32

/* A new camera footage key pair (crypto_box / X25519). */
int vg_footage_keypair(uint8_t pk[VG_PK_LEN], uint8_t sk[VG_SK_LEN]);
/* Key files. Secret: created O_EXCL mode 0600, never overwritten. Text
 * format, one key per file (docs/design/keys.md). */
int vg_key_write_secret(const char *path, const uint8_t pk[VG_PK_LEN], const uint8_t sk[VG_SK_LEN]);
int vg_key_write_public(const char *path, const uint8_t pk[VG_PK_LEN]);
int vg_key_read_secret(const char *path, uint8_t pk[VG_PK_LEN], uint8_t sk[VG_SK_LEN]);
int vg_key_read_public(const char *path, uint8_t pk[VG_PK_LEN]);
/* Human-comparable fingerprint: "xxxx xxxx ..." (8 groups) of BLAKE2b-128(pk),
 * the same string the browser shows; out must hold VG_FINGERPRINT_LEN bytes. */
#define VG_FINGERPRINT_LEN 40
void vg_key_fingerprint(const uint8_t pk[VG_PK_LEN], char *out, size_t outsz);

/* ---- additions (docs/design/keys.md has the byte layouts) ---- */

#define VG_ORG_ID_LEN 16      /* organization id (random) */
#define VG_UUID_LEN 16        /* camera uuid (random) */
#define VG_CKEY_LEN 32        /* segment content key (XChaCha20-Poly1305) */
#define VG_SEALED_KEY_LEN 80  /* crypto_box_SEALBYTES (48) + VG_CKEY_LEN */
#define VG_SIGN_PK_LEN 32     /* recorder Ed25519 public key */
#define VG_SIGN_SK_LEN 64     /* libsodium's Ed25519 secret key (seed || pk) */
#define VG_SIG_LEN 64
#define VG_HASH_LEN 32        /* SHA-256 (segment chain) */

/* Fresh random segment content key. */
void vg_ckey_new(uint8_t k[VG_CKEY_LEN]);
/* Seal k to a camera's footage public key (anonymous sealed box). */
int vg_ckey_seal(const uint8_t k[VG_CKEY_LEN], const uint8_t pk[VG_PK_LEN],
                 uint8_t sealed[VG_SEALED_KEY_LEN]);
/* Open a sealed content key; VG_ECRYPTO if it was not sealed to (pk, sk). */
int vg_ckey_open(const uint8_t sealed[VG_SEALED_KEY_LEN], const uint8_t pk[VG_PK_LEN],
                 const uint8_t sk[VG_SK_LEN], uint8_t k[VG_CKEY_LEN]);

/* Envelope: one per fragment (and one per segment for the init segment,
 * seq 0). Big-endian header of VG_ENV_HDR_LEN bytes, then ciphertext||tag:
 *   0 magic "VGE" + version 1 | 4 flags | 5 zero[3] | 8 seq u32 |
 *  12 segment id u64 | 20 camera uuid[16] | 36 start90k i64 | 44 dur90k u32 |
 *  48 nonce[24] | 72 ct_len u32 (plaintext + 16-byte tag) | 76 ciphertext
 * AD = org id[16] || header[0..76). */
#define VG_ENV_HDR_LEN 76
#define VG_ENV_TAG_LEN 16
#define VG_ENV_MAX_CT (64u << 20)   /* largest ciphertext a parser accepts */
enum { VG_ENV_F_KEY = 1u << 0, VG_ENV_F_INIT = 1u << 1 };

typedef struct vg_env_hdr {
    uint8_t flags;
    uint32_t seq;
    uint64_t segment_id;
    uint8_t camera[VG_UUID_LEN];
    int64_t start90k;
    uint32_t dur90k;
    uint8_t nonce[24];
    uint32_t ct_len;
} vg_env_hdr;

/* Encrypt in place. env points to VG_ENV_HDR_LEN writable bytes, followed by
 * plain_len plaintext bytes, followed by VG_ENV_TAG_LEN writable bytes. h's
 * fields except nonce and ct_len are inputs; those two are filled in. On
 * success *env_len = whole envelope length. VG_ETOOBIG if too large. */
int vg_env_seal(const uint8_t org[VG_ORG_ID_LEN], const uint8_t key[VG_CKEY_LEN],
                vg_env_hdr *h, uint8_t *env, size_t plain_len, size_t *env_len);
/* Structural parse of a header (no key needed). p/n: bytes available.
 * VG_EAGAIN: fewer than VG_ENV_HDR_LEN bytes; VG_EINVAL: malformed.
 * *rec_len = VG_ENV_HDR_LEN + ct_len (the caller checks it is all there). */
int vg_env_parse(const uint8_t *p, size_t n, vg_env_hdr *h, size_t *rec_len);
/* Authenticate and decrypt a whole envelope in place; *plain points into env.
 * VG_ECRYPTO on a bad tag (any changed byte, wrong key, wrong org). */
int vg_env_open(const uint8_t org[VG_ORG_ID_LEN], const uint8_t key[VG_CKEY_LEN], uint8_t *env,
                size_t env_len, vg_env_hdr *h, uint8_t **plain, size_t *plain_len);

/* Recorder signing identity (Ed25519). File: "vigil-recorder-secret-v1
 * <base64 seed> <base64 pk>\n", mode 0600. Created (O_EXCL) if missing and
 * create != 0; VG_ENOTFOUND if missing and create == 0. */
int vg_signkey_load(const char *path, int create, uint8_t pk[VG_SIGN_PK_LEN],
                    uint8_t sk[VG_SIGN_SK_LEN]);

/* Segment hash chain: chain_0 = SHA-256(segment header),
 * chain_i = SHA-256(chain_{i-1} || envelope_i). */
void vg_chain_init(uint8_t chain[VG_HASH_LEN], const uint8_t *seg_hdr, size_t len);
void vg_chain_step(uint8_t chain[VG_HASH_LEN], const uint8_t *rec, size_t len);
/* Segment signature over "vigil-segment-v1" || hdr_hash || nrec (u32 BE) || head. */
void vg_seg_sign(const uint8_t sk[VG_SIGN_SK_LEN], const uint8_t hdr_hash[VG_HASH_LEN],
                 uint32_t nrec, const uint8_t head[VG_HASH_LEN], uint8_t sig[VG_SIG_LEN]);
int vg_seg_verify(const uint8_t pk[VG_SIGN_PK_LEN], const uint8_t hdr_hash[VG_HASH_LEN],
                  uint32_t nrec, const uint8_t head[VG_HASH_LEN], const uint8_t sig[VG_SIG_LEN]);

#endif
