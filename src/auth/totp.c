/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 6238 TOTP on OpenSSL's HMAC. Comparison of codes is constant-time
 * (sodium_memcmp) so timing does not reveal matching digits. */
#include "auth/totp.h"
#include "core/err.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <string.h>

int vg_hotp(enum vg_totp_alg alg, const uint8_t *key, size_t keylen, uint64_t step,
            int digits, uint32_t *code)
{
    static const uint32_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    const EVP_MD *md = alg == VG_TOTP_SHA256 ? EVP_sha256() : alg == VG_TOTP_SHA512 ? EVP_sha512() : EVP_sha1();
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (digits < 6 || digits > 8 || keylen == 0 || keylen > 1024) return VG_EINVAL;
    for (int i = 7; i >= 0; i--) { msg[i] = (uint8_t)step; step >>= 8; }
    if (!HMAC(md, key, (int)keylen, msg, sizeof msg, mac, &maclen) || maclen < 20) return VG_EIO;
    /* RFC 4226 §5.3 dynamic truncation. */
    unsigned off = mac[maclen - 1] & 0x0f;
    uint32_t bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
                   (uint32_t)mac[off + 2] << 8 | mac[off + 3];
    *code = bin % pow10[digits];
    sodium_memzero(mac, sizeof mac);
    return 0;
}

int vg_totp_verify(const uint8_t *key, size_t keylen, int64_t now, const char *code,
                   int64_t last_step, int64_t *used_step)
{
    if (!code || strlen(code) != VG_TOTP_DIGITS) return VG_EINVAL;
    for (int i = 0; i < VG_TOTP_DIGITS; i++)
        if (code[i] < '0' || code[i] > '9') return VG_EINVAL;
    if (now < VG_TOTP_STEP) return VG_EINVAL;
    int64_t cur = now / VG_TOTP_STEP;
    int found = 0;
    int64_t match = 0;
    /* Check every candidate (no early exit) so timing does not say which. */
    for (int64_t s = cur - 1; s <= cur + 1; s++) {
        uint32_t v;
        char want[8];
        if (vg_hotp(VG_TOTP_SHA1, key, keylen, (uint64_t)s, VG_TOTP_DIGITS, &v)) return VG_EIO;
        want[0] = 0;
        for (int i = VG_TOTP_DIGITS - 1; i >= 0; i--) { want[i] = (char)('0' + v % 10); v /= 10; }
        if (sodium_memcmp(want, code, VG_TOTP_DIGITS) == 0 && !found) { found = 1; match = s; }
    }
    if (!found || match <= last_step) return VG_EAUTH;
    *used_step = match;
    return 0;
}
