/* SPDX-License-Identifier: Apache-2.0 */
/* Footage cryptography (docs/design/keys.md): camera footage key pairs
 * (X25519, libsodium sealed boxes), per-segment content keys, the encrypted
 * fragment envelope (XChaCha20-Poly1305), the recorder's Ed25519 signing key
 * and the per-segment hash chain. Only libsodium primitives; nothing rolled. */
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
/* Human-comparable fingerprint: "xxxx-xxxx-..." of BLAKE2b(pk); out >= 48 bytes. */
void vg_key_fingerprint(const uint8_t pk[VG_PK_LEN], char *out, size_t outsz);

#endif
