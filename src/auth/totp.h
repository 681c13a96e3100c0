/* SPDX-License-Identifier: Apache-2.0 */
/* TOTP (RFC 6238) over HOTP (RFC 4226): 30 s steps, 6 digits, HMAC-SHA1 for
 * authenticator apps; SHA-256/512 only for the RFC's test vectors. */
#ifndef VG_TOTP_H
#define VG_TOTP_H

#include <stddef.h>
#include <stdint.h>

enum vg_totp_alg { VG_TOTP_SHA1, VG_TOTP_SHA256, VG_TOTP_SHA512 };

#define VG_TOTP_STEP 30
#define VG_TOTP_DIGITS 6
#define VG_TOTP_SECRET_LEN 20   /* RFC 4226 §4 R6: at least 128 bits; 160 recommended */

/* HOTP value of counter `step` with `digits` (6..8) digits. */
int vg_hotp(enum vg_totp_alg alg, const uint8_t *key, size_t keylen, uint64_t step,
            int digits, uint32_t *code);
/* Check a 6-digit code typed by a person at Unix time `now` against steps
 * now-1..now+1 (RFC 6238 §5.2 allows one step of drift). A step at or before
 * last_step was already used and is refused (§5.2: "MUST NOT accept the
 * second attempt"). On success *used_step is the matched step.
 * Returns 0, VG_EAUTH (wrong or replayed) or VG_EINVAL (not 6 digits). */
int vg_totp_verify(const uint8_t *key, size_t keylen, int64_t now, const char *code,
                   int64_t last_step, int64_t *used_step);

#endif
