/* SPDX-License-Identifier: Apache-2.0 */
/* Footage cryptography: key files, content keys, envelopes, hash chain and
 * segment signatures. Every primitive is libsodium's (docs/design/keys.md).
 *
 * Invariants:
 *  1. A secret key file is created with O_CREAT|O_EXCL mode 0600 and never
 *     overwritten; a reader rejects it if group/other may read it.
 *  2. Key files are parsed strictly: exact prefix, canonical base64 of exactly
 *     32 bytes, single spaces, one final newline, nothing else. A secret file's
 *     pk must be the public half of its sk.
 *  3. The envelope's AD is org id || every header byte, so no header field
 *     (camera, segment, seq, time, flags, nonce, length) can change without
 *     the tag failing.
 *  4. Nonces are 24 random bytes (XChaCha20): random nonces are safe at this
 *     size, and a fresh key per segment bounds a key's use anyway.
 *  5. Secret bytes on the stack are wiped with sodium_memzero before return. */
#include "crypt/crypt.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(VG_SEALED_KEY_LEN == crypto_box_SEALBYTES + VG_CKEY_LEN, "sealed key size");
_Static_assert(VG_CKEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "content key size");
_Static_assert(VG_ENV_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(24 == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce size");
_Static_assert(VG_SIGN_SK_LEN == crypto_sign_SECRETKEYBYTES, "sign sk size");
_Static_assert(VG_SIG_LEN == crypto_sign_BYTES, "sig size");
_Static_assert(VG_PK_LEN == crypto_box_PUBLICKEYBYTES, "box pk size");

#define SECRET_PREFIX "vigil-footage-secret-v1"
#define PUBLIC_PREFIX "vigil-footage-public-v1"
#define RECORDER_PREFIX "vigil-recorder-secret-v1"
#define B64_32 44 /* base64 (with padding) of 32 bytes */
#define KEYFILE_MAX 256

static int crypt_init(void) { return sodium_init() < 0 ? VG_EIO : 0; }

int vg_footage_keypair(uint8_t pk[VG_PK_LEN], uint8_t sk[VG_SK_LEN])
{
    if (crypt_init())
        return VG_EIO;
    crypto_box_keypair(pk, sk);
    return 0;
}

/* ---- key files ---- */

static void b64(const uint8_t k[32], char out[B64_32 + 1])
{
    sodium_bin2base64(out, B64_32 + 1, k, 32, sodium_base64_VARIANT_ORIGINAL);
}

/* Writes line to a new file (O_EXCL) with the given mode; fsyncs it. */
static int write_new_file(const char *path, const char *line, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        vg_error("crypt", "cannot create %s: %s", path, strerror(errno));
        return errno == EEXIST ? VG_EINVAL : VG_EIO;
    }
    int rc = 0;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, line + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = VG_EIO;
            break;
        }
        off += (size_t)n;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = VG_EIO;
    close(fd);
    if (rc)
        unlink(path);
    return rc;
}

/* A new 0600 key file "PREFIX secret public\n"; the secret's text is wiped. */
static int write_keyline(const char *path, const char *prefix, const uint8_t secret[32], const uint8_t pk[32])
{
    char a[B64_32 + 1], b[B64_32 + 1], line[KEYFILE_MAX];
    b64(secret, a);
    b64(pk, b);
    int n = snprintf(line, sizeof line, "%s %s %s\n", prefix, a, b);
    int rc = write_new_file(path, line, (size_t)n, 0600);
    sodium_memzero(a, sizeof a);
    sodium_memzero(line, sizeof line);
    return rc;
}

int vg_key_write_secret(const char *path, const uint8_t pk[VG_PK_LEN], const uint8_t sk[VG_SK_LEN])
{
    return write_keyline(path, SECRET_PREFIX, sk, pk);
}

int vg_key_write_public(const char *path, const uint8_t pk[VG_PK_LEN])
{
    char b[B64_32 + 1], line[KEYFILE_MAX];
    b64(pk, b);
    int n = snprintf(line, sizeof line, "%s %s\n", PUBLIC_PREFIX, b);
    return write_new_file(path, line, (size_t)n, 0644);
}

/* Reads a whole small file into buf (NUL-terminated); *secret checks mode. */
static int read_small(const char *path, int secret, char *buf, size_t bufsz, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? VG_ENOTFOUND : VG_EIO;
    int rc = 0;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = VG_EINVAL;
        goto out;
    }
    if (secret && (sb.st_mode & 077)) {
        vg_error("crypt", "%s: secret key readable by group/other (chmod 600 it)", path);
        rc = VG_EINVAL;
        goto out;
    }
    size_t off = 0;
    for (;;) {
        ssize_t n = read(fd, buf + off, bufsz - 1 - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = VG_EIO;
            goto out;
        }
        if (n == 0)
            break;
        off += (size_t)n;
        if (off == bufsz - 1) {
            rc = VG_EINVAL; /* longer than any key file */
            goto out;
        }
    }
    buf[off] = 0;
    *len = off;
out:
    close(fd);
    return rc;
}

/* Decodes exactly B64_32 chars of canonical base64 into 32 bytes. */
static int unb64(const char *s, uint8_t out[32])
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, 32, s, B64_32, NULL, &bin_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != 32 || end != s + B64_32)
        return VG_EINVAL;
    char again[B64_32 + 1];
    b64(out, again); /* reject non-canonical encodings (stray low bits) */
    int rc = memcmp(again, s, B64_32) == 0 ? 0 : VG_EINVAL;
    sodium_memzero(again, sizeof again);
    return rc;
}

/* Parses "PREFIX <b64> [<b64>]\n" with nkeys keys into k0/k1. */
static int parse_keyline(const char *s, size_t len, const char *prefix, int nkeys, uint8_t *k0,
                         uint8_t *k1)
{
    size_t pl = strlen(prefix);
    size_t want = pl + (size_t)nkeys * (1 + B64_32) + 1;
    if (len != want || memcmp(s, prefix, pl) != 0 || s[len - 1] != '\n')
        return VG_EINVAL;
    const char *p = s + pl;
    for (int i = 0; i < nkeys; i++, p += 1 + B64_32) {
        if (p[0] != ' ' || unb64(p + 1, i == 0 ? k0 : k1) != 0)
            return VG_EINVAL;
    }
    return 0;
}

int vg_key_read_secret(const char *path, uint8_t pk[VG_PK_LEN], uint8_t sk[VG_SK_LEN])
{
    char buf[KEYFILE_MAX];
    size_t len = 0;
    uint8_t derived[VG_PK_LEN];
    int rc = crypt_init();
    if (rc)
        return rc;
    rc = read_small(path, 1, buf, sizeof buf, &len);
    if (rc)
        goto out;
    rc = parse_keyline(buf, len, SECRET_PREFIX, 2, sk, pk);
    if (rc)
        goto out;
    crypto_scalarmult_base(derived, sk);
    if (sodium_memcmp(derived, pk, VG_PK_LEN) != 0)
        rc = VG_EINVAL; /* the halves do not belong together */
out:
    if (rc) {
        sodium_memzero(sk, VG_SK_LEN);
        vg_error("crypt", "%s: not a valid footage secret key file (%s)", path, vg_strerror(rc));
    }
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int vg_key_read_public(const char *path, uint8_t pk[VG_PK_LEN])
{
    char buf[KEYFILE_MAX];
    size_t len = 0;
    int rc = read_small(path, 0, buf, sizeof buf, &len);
    if (rc == 0)
        rc = parse_keyline(buf, len, PUBLIC_PREFIX, 1, pk, NULL);
    if (rc)
        vg_error("crypt", "%s: not a valid footage public key file (%s)", path, vg_strerror(rc));
    return rc;
}

/* BLAKE2b-128(pk) as 8 groups of 4 hex digits joined by spaces: what the
 * browser shows (ui/keys.js), so a person can compare the two by eye. 128
 * bits of second-preimage resistance is what a key swap has to beat. */
void vg_key_fingerprint(const uint8_t pk[VG_PK_LEN], char *out, size_t outsz)
{
    uint8_t h[16];
    if (outsz == 0)
        return;
    out[0] = 0;
    if (outsz < VG_FINGERPRINT_LEN || crypt_init())
        return;
    crypto_generichash(h, sizeof h, pk, VG_PK_LEN, NULL, 0);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i > 0 && i % 2 == 0)
            out[o++] = ' ';
        out[o++] = hex[h[i] >> 4];
        out[o++] = hex[h[i] & 15];
    }
    out[o] = 0;
}

/* ---- content keys ---- */

void vg_ckey_new(uint8_t k[VG_CKEY_LEN])
{
    if (crypt_init() == 0)
        crypto_aead_xchacha20poly1305_ietf_keygen(k);
}

int vg_ckey_seal(const uint8_t k[VG_CKEY_LEN], const uint8_t pk[VG_PK_LEN],
                 uint8_t sealed[VG_SEALED_KEY_LEN])
{
    if (crypt_init())
        return VG_EIO;
    return crypto_box_seal(sealed, k, VG_CKEY_LEN, pk) == 0 ? 0 : VG_ECRYPTO;
}

int vg_ckey_open(const uint8_t sealed[VG_SEALED_KEY_LEN], const uint8_t pk[VG_PK_LEN],
                 const uint8_t sk[VG_SK_LEN], uint8_t k[VG_CKEY_LEN])
{
    if (crypt_init())
        return VG_EIO;
    return crypto_box_seal_open(k, sealed, VG_SEALED_KEY_LEN, pk, sk) == 0 ? 0 : VG_ECRYPTO;
}

/* ---- envelope ---- */

static const uint8_t env_magic[4] = {'V', 'G', 'E', 1};

static void env_put_hdr(uint8_t *p, const vg_env_hdr *h)
{
    memcpy(p, env_magic, 4);
    p[4] = h->flags;
    p[5] = p[6] = p[7] = 0;
    vg_wr32(p + 8, h->seq);
    vg_wr64(p + 12, h->segment_id);
    memcpy(p + 20, h->camera, VG_UUID_LEN);
    vg_wr64(p + 36, (uint64_t)h->start90k);
    vg_wr32(p + 44, h->dur90k);
    memcpy(p + 48, h->nonce, 24);
    vg_wr32(p + 72, h->ct_len);
}

int vg_env_parse(const uint8_t *p, size_t n, vg_env_hdr *h, size_t *rec_len)
{
    if (n < VG_ENV_HDR_LEN)
        return VG_EAGAIN;
    if (memcmp(p, env_magic, 4) != 0 || p[5] || p[6] || p[7] ||
        (p[4] & ~(VG_ENV_F_KEY | VG_ENV_F_INIT)))
        return VG_EINVAL;
    h->flags = p[4];
    h->seq = vg_rd32(p + 8);
    h->segment_id = vg_rd64(p + 12);
    memcpy(h->camera, p + 20, VG_UUID_LEN);
    h->start90k = (int64_t)vg_rd64(p + 36);
    h->dur90k = vg_rd32(p + 44);
    memcpy(h->nonce, p + 48, 24);
    h->ct_len = vg_rd32(p + 72);
    if (h->ct_len < VG_ENV_TAG_LEN || h->ct_len > VG_ENV_MAX_CT)
        return VG_EINVAL;
    *rec_len = VG_ENV_HDR_LEN + (size_t)h->ct_len;
    return 0;
}

static void env_ad(uint8_t ad[VG_ORG_ID_LEN + VG_ENV_HDR_LEN], const uint8_t org[VG_ORG_ID_LEN],
                   const uint8_t *hdr)
{
    memcpy(ad, org, VG_ORG_ID_LEN);
    memcpy(ad + VG_ORG_ID_LEN, hdr, VG_ENV_HDR_LEN);
}

int vg_env_seal(const uint8_t org[VG_ORG_ID_LEN], const uint8_t key[VG_CKEY_LEN],
                vg_env_hdr *h, uint8_t *env, size_t plain_len, size_t *env_len)
{
    if (crypt_init())
        return VG_EIO;
    if (plain_len > VG_ENV_MAX_CT - VG_ENV_TAG_LEN)
        return VG_ETOOBIG;
    randombytes_buf(h->nonce, sizeof h->nonce);
    h->ct_len = (uint32_t)(plain_len + VG_ENV_TAG_LEN);
    env_put_hdr(env, h);
    uint8_t ad[VG_ORG_ID_LEN + VG_ENV_HDR_LEN];
    env_ad(ad, org, env);
    uint8_t *m = env + VG_ENV_HDR_LEN;
    unsigned long long clen = 0;
    /* libsodium documents c == m (in place) as supported for this AEAD. */
    crypto_aead_xchacha20poly1305_ietf_encrypt(m, &clen, m, plain_len, ad, sizeof ad, NULL,
                                               h->nonce, key);
    *env_len = VG_ENV_HDR_LEN + (size_t)clen;
    return 0;
}

int vg_env_open(const uint8_t org[VG_ORG_ID_LEN], const uint8_t key[VG_CKEY_LEN], uint8_t *env,
                size_t env_len, vg_env_hdr *h, uint8_t **plain, size_t *plain_len)
{
    size_t rec_len = 0;
    int rc = crypt_init();
    if (rc)
        return rc;
    rc = vg_env_parse(env, env_len, h, &rec_len);
    if (rc)
        return rc == VG_EAGAIN ? VG_EINVAL : rc;
    if (rec_len != env_len)
        return VG_EINVAL;
    uint8_t ad[VG_ORG_ID_LEN + VG_ENV_HDR_LEN];
    env_ad(ad, org, env);
    uint8_t *c = env + VG_ENV_HDR_LEN;
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(c, &mlen, NULL, c, h->ct_len, ad, sizeof ad,
                                                   h->nonce, key) != 0)
        return VG_ECRYPTO;
    *plain = c;
    *plain_len = (size_t)mlen;
    return 0;
}

/* ---- recorder signing key ---- */

static int signkey_create(const char *path, uint8_t pk[VG_SIGN_PK_LEN], uint8_t sk[VG_SIGN_SK_LEN])
{
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    int rc = write_keyline(path, RECORDER_PREFIX, seed, pk);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

int vg_signkey_load(const char *path, int create, uint8_t pk[VG_SIGN_PK_LEN],
                    uint8_t sk[VG_SIGN_SK_LEN])
{
    char buf[KEYFILE_MAX];
    size_t len = 0;
    uint8_t seed[32], filepk[32];
    int rc = crypt_init();
    if (rc)
        return rc;
    rc = read_small(path, 1, buf, sizeof buf, &len);
    if (rc == VG_ENOTFOUND && create)
        return signkey_create(path, pk, sk);
    if (rc)
        goto out;
    rc = parse_keyline(buf, len, RECORDER_PREFIX, 2, seed, filepk);
    if (rc)
        goto out;
    crypto_sign_seed_keypair(pk, sk, seed);
    if (sodium_memcmp(pk, filepk, 32) != 0)
        rc = VG_EINVAL;
out:
    if (rc && rc != VG_ENOTFOUND)
        vg_error("crypt", "%s: not a valid recorder key file (%s)", path, vg_strerror(rc));
    if (rc)
        sodium_memzero(sk, VG_SIGN_SK_LEN);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

/* ---- hash chain and segment signature ---- */

/* SHA-256, not BLAKE2b: the chain hashes every stored byte once more, and
 * OpenSSL's SHA-256 runs on the CPU's SHA extensions at ~2.7x libsodium's
 * BLAKE2b here (1678 vs 610 MB/s: 0.22 vs 0.62 ms per 3 Mbit/s
 * stream-second, measured; docs/design/keys.md); browsers verify it
 * natively (WebCrypto). It must stay collision-resistant over the whole
 * envelope: a member holding a camera key could otherwise forge a different
 * ciphertext with the same Poly1305 tag under an unchanged signature. */
void vg_chain_init(uint8_t chain[VG_HASH_LEN], const uint8_t *seg_hdr, size_t len)
{
    unsigned int n = 0;
    if (EVP_Digest(seg_hdr, len, chain, &n, EVP_sha256(), NULL) != 1 || n != VG_HASH_LEN)
        memset(chain, 0, VG_HASH_LEN); /* cannot verify later: the segment is refused */
}

void vg_chain_step(uint8_t chain[VG_HASH_LEN], const uint8_t *rec, size_t len)
{
    unsigned int n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, chain, VG_HASH_LEN) == 1 && EVP_DigestUpdate(c, rec, len) == 1 &&
             EVP_DigestFinal_ex(c, chain, &n) == 1 && n == VG_HASH_LEN;
    EVP_MD_CTX_free(c);
    if (!ok)
        memset(chain, 0, VG_HASH_LEN);
}

#define SIG_CTX "vigil-segment-v2"
#define SIG_MSG_LEN (sizeof SIG_CTX - 1 + VG_HASH_LEN + 4 + VG_HASH_LEN)

static void sig_msg(uint8_t m[SIG_MSG_LEN], const uint8_t hdr_hash[VG_HASH_LEN], uint32_t nrec,
                    const uint8_t head[VG_HASH_LEN])
{
    size_t o = sizeof SIG_CTX - 1;
    memcpy(m, SIG_CTX, o);
    memcpy(m + o, hdr_hash, VG_HASH_LEN);
    vg_wr32(m + o + VG_HASH_LEN, nrec);
    memcpy(m + o + VG_HASH_LEN + 4, head, VG_HASH_LEN);
}

void vg_seg_sign(const uint8_t sk[VG_SIGN_SK_LEN], const uint8_t hdr_hash[VG_HASH_LEN],
                 uint32_t nrec, const uint8_t head[VG_HASH_LEN], uint8_t sig[VG_SIG_LEN])
{
    uint8_t m[SIG_MSG_LEN];
    sig_msg(m, hdr_hash, nrec, head);
    crypto_sign_detached(sig, NULL, m, sizeof m, sk);
}

int vg_seg_verify(const uint8_t pk[VG_SIGN_PK_LEN], const uint8_t hdr_hash[VG_HASH_LEN],
                  uint32_t nrec, const uint8_t head[VG_HASH_LEN], const uint8_t sig[VG_SIG_LEN])
{
    uint8_t m[SIG_MSG_LEN];
    if (crypt_init())
        return VG_EIO;
    sig_msg(m, hdr_hash, nrec, head);
    return crypto_sign_verify_detached(sig, m, sizeof m, pk) == 0 ? 0 : VG_ECRYPTO;
}
