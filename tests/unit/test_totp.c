/* SPDX-License-Identifier: Apache-2.0 */
/* TOTP against RFC 6238 Appendix B test vectors, drift window and replay. */
#include "auth/totp.h"
#include "core/err.h"
#include "vg_test.h"

#include <stdint.h>

static const uint8_t k20[] = "12345678901234567890";
static const uint8_t k32[] = "12345678901234567890123456789012";
static const uint8_t k64[] = "1234567890123456789012345678901234567890123456789012345678901234";

static void t_rfc6238_vectors(void)
{
    static const struct { int64_t t; uint32_t sha1, sha256, sha512; } v[] = {
        {59, 94287082, 46119246, 90693936},
        {1111111109, 7081804, 68084774, 25091201},
        {1111111111, 14050471, 67062674, 99943326},
        {1234567890, 89005924, 91819424, 93441116},
        {2000000000, 69279037, 90698825, 38618901},
        {20000000000LL, 65353130, 77737706, 47863826},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint32_t c;
        uint64_t step = (uint64_t)(v[i].t / 30);
        CHECK_EQ(vg_hotp(VG_TOTP_SHA1, k20, 20, step, 8, &c), 0);
        CHECK_EQ(c, v[i].sha1);
        CHECK_EQ(vg_hotp(VG_TOTP_SHA256, k32, 32, step, 8, &c), 0);
        CHECK_EQ(c, v[i].sha256);
        CHECK_EQ(vg_hotp(VG_TOTP_SHA512, k64, 64, step, 8, &c), 0);
        CHECK_EQ(c, v[i].sha512);
    }
}

static void code_at(int64_t t, char out[7])
{
    uint32_t c = 0;
    vg_hotp(VG_TOTP_SHA1, k20, 20, (uint64_t)(t / 30), 6, &c);
    snprintf(out, 7, "%06u", c);
}

static void t_verify_window_and_replay(void)
{
    char code[7];
    int64_t used = 0, now = 1111111111;
    code_at(now, code);
    CHECK_EQ(vg_totp_verify(k20, 20, now, code, 0, &used), 0);
    CHECK_EQ(used, now / 30);
    /* Same step again: replay refused. */
    CHECK_EQ(vg_totp_verify(k20, 20, now, code, used, &used), VG_EAUTH);
    /* One step of drift either way is accepted, two is not. */
    code_at(now - 30, code);
    CHECK_EQ(vg_totp_verify(k20, 20, now, code, 0, &used), 0);
    code_at(now + 30, code);
    CHECK_EQ(vg_totp_verify(k20, 20, now, code, 0, &used), 0);
    code_at(now - 60, code);
    CHECK_EQ(vg_totp_verify(k20, 20, now, code, 0, &used), VG_EAUTH);
    code_at(now + 90, code);
    CHECK_EQ(vg_totp_verify(k20, 20, now, code, 0, &used), VG_EAUTH);
}

static void t_verify_malformed(void)
{
    int64_t used;
    CHECK_EQ(vg_totp_verify(k20, 20, 1111111111, "12345", 0, &used), VG_EINVAL);
    CHECK_EQ(vg_totp_verify(k20, 20, 1111111111, "1234567", 0, &used), VG_EINVAL);
    CHECK_EQ(vg_totp_verify(k20, 20, 1111111111, "12a456", 0, &used), VG_EINVAL);
    CHECK_EQ(vg_totp_verify(k20, 20, 1111111111, "", 0, &used), VG_EINVAL);
    CHECK_EQ(vg_totp_verify(k20, 20, 1111111111, NULL, 0, &used), VG_EINVAL);
    uint32_t c;
    CHECK_EQ(vg_hotp(VG_TOTP_SHA1, k20, 20, 1, 5, &c), VG_EINVAL);
    CHECK_EQ(vg_hotp(VG_TOTP_SHA1, k20, 0, 1, 6, &c), VG_EINVAL);
}

int main(void)
{
    RUN(t_rfc6238_vectors);
    RUN(t_verify_window_and_replay);
    RUN(t_verify_malformed);
    return vg_test_done();
}
