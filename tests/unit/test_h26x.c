/* SPDX-License-Identifier: Apache-2.0 */
/* SPS parsing against real encoder output, bit reader edge cases, and
 * truncated/garbage input (must fail cleanly, never over-read). */
#include "core/err.h"
#include "media/h26x.h"
#include "vg_test.h"

#include <stdint.h>
#include <stdlib.h>

/* Test vectors: SPS NAL units from ffmpeg 5.1 (Debian 12), e.g.
 *   ffmpeg -f lavfi -i testsrc2=size=1920x1080:rate=20 -frames 1 -c:v libx264 -f h264 x.h264
 * and extracted from the Annex B stream. Names say size and options:
 * a* = libx264 (1080i = interlaced=1; odd = 642x362 yuv422p cqm=jvt, i.e.
 * High 4:2:2 with scaling lists; 444 = High 4:4:4), b* = libx265
 * (odd = 642x362 4:2:2, RExt profile; tl = temporal-layers=1, two sub-layers). */
static const uint8_t sps264_a1080[] = {
    0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00, 0x00, 0x03,
    0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xa0, 0x3c, 0x60, 0xc6, 0x58,
};
static const uint8_t sps264_a1080i[] = {
    0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x04, 0x4f, 0xde, 0x02, 0x20, 0x00, 0x00, 0x03,
    0x00, 0x20, 0x00, 0x00, 0x05, 0x03, 0xe2, 0xc5, 0xb2, 0xc0,
};
static const uint8_t sps264_a360[] = {
    0x67, 0x42, 0xc0, 0x16, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01,
    0x00, 0x00, 0x03, 0x00, 0x28, 0x0f, 0x16, 0x2e, 0x48,
};
static const uint8_t sps264_a444[] = {
    0x67, 0xf4, 0x00, 0x0d, 0x91, 0x9b, 0x28, 0x2c, 0x12, 0xd8, 0x08, 0x80, 0x00, 0x00, 0x03, 0x00,
    0x80, 0x00, 0x00, 0x14, 0x07, 0x8a, 0x14, 0xcb,
};
static const uint8_t sps264_a720[] = {
    0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
    0x10, 0x00, 0x00, 0x03, 0x02, 0x80, 0xf1, 0x83, 0x19, 0x60,
};
static const uint8_t sps264_aodd[] = {
    0x67, 0x7a, 0x00, 0x16, 0xbc, 0xd9, 0x40, 0xa4, 0x2f, 0xe2, 0x27, 0xc0, 0x44, 0x00, 0x00, 0x03,
    0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xa0, 0x3c, 0x58, 0xb6, 0x58,
};
static const uint8_t sps265_b1080[] = {
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x78, 0xa0, 0x03, 0xc0, 0x80, 0x10, 0xe5, 0x96, 0x56, 0x69, 0x24, 0xca, 0xf0, 0x16, 0x80,
    0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x0a, 0x04,
};
static const uint8_t sps265_b360[] = {
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x3f, 0xa0, 0x05, 0x02, 0x01, 0x69, 0x65, 0x95, 0x9a, 0x49, 0x32, 0xbc, 0x05, 0xa0, 0x20,
    0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x03, 0x02, 0x81,
};
static const uint8_t sps265_b720[] = {
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x5d, 0xa0, 0x02, 0x80, 0x80, 0x2d, 0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x02,
    0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x28, 0x10,
};
static const uint8_t sps265_bodd[] = {
    0x42, 0x01, 0x01, 0x04, 0x08, 0x00, 0x00, 0x03, 0x00, 0x9d, 0x08, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x3f, 0xb0, 0x05, 0x12, 0x01, 0x71, 0xc9, 0x3e, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x02,
    0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x28, 0x10,
};
static const uint8_t sps265_btl[] = {
    0x42, 0x01, 0x02, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x78, 0x00, 0x00, 0xa0, 0x03, 0xc0, 0x80, 0x10, 0xe5, 0x96, 0x56, 0x52, 0xb2, 0xc9, 0x26,
    0x57, 0x80, 0xb4, 0x04, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0x50, 0x20,
};

typedef struct vec {
    const uint8_t *p;
    size_t len;
    uint16_t w, h;
} vec;

#define V(a, w, h) { a, sizeof(a), w, h }
static const vec v264[] = {
    V(sps264_a1080, 1920, 1080), V(sps264_a1080i, 1920, 1080), V(sps264_a360, 640, 360),
    V(sps264_a444, 352, 288),    V(sps264_a720, 1280, 720),    V(sps264_aodd, 642, 362),
};
static const vec v265[] = {
    V(sps265_b1080, 1920, 1080), V(sps265_b360, 640, 360), V(sps265_b720, 1280, 720),
    V(sps265_bodd, 642, 362),    V(sps265_btl, 1920, 1080),
};

static void t_h264_real(void)
{
    for (size_t i = 0; i < sizeof v264 / sizeof v264[0]; i++) {
        uint16_t w = 0, h = 0;
        CHECK_EQ(vg_h264_sps_dims(v264[i].p, v264[i].len, &w, &h), 0);
        CHECK_EQ(w, v264[i].w);
        CHECK_EQ(h, v264[i].h);
    }
}

static void t_h265_real(void)
{
    for (size_t i = 0; i < sizeof v265 / sizeof v265[0]; i++) {
        uint16_t w = 0, h = 0;
        CHECK_EQ(vg_h265_sps_dims(v265[i].p, v265[i].len, &w, &h), 0);
        CHECK_EQ(w, v265[i].w);
        CHECK_EQ(h, v265[i].h);
    }
}

/* Every truncation must fail or succeed without reading past len (ASan
 * checks the bound: each prefix is copied to an exactly-sized heap block). */
static void truncations(const vec *v, size_t n, int (*fn)(const uint8_t *, size_t, uint16_t *, uint16_t *))
{
    for (size_t i = 0; i < n; i++) {
        for (size_t l = 0; l < v[i].len; l++) {
            uint8_t *p = malloc(l ? l : 1);
            memcpy(p, v[i].p, l);
            uint16_t w = 0, h = 0;
            int rc = fn(p, l, &w, &h);
            /* The cropping fields end well before the VUI, so short prefixes
             * that still hold them may parse; what they give must be right. */
            if (rc == 0) {
                CHECK_EQ(w, v[i].w);
                CHECK_EQ(h, v[i].h);
            } else {
                CHECK_EQ(rc, VG_EINVAL);
            }
            free(p);
        }
    }
}

static void t_truncated(void)
{
    truncations(v264, sizeof v264 / sizeof v264[0], vg_h264_sps_dims);
    truncations(v265, sizeof v265 / sizeof v265[0], vg_h265_sps_dims);
    uint16_t w, h;
    CHECK_EQ(vg_h264_sps_dims(NULL, 0, &w, &h), VG_EINVAL);
    CHECK_EQ(vg_h265_sps_dims(NULL, 0, &w, &h), VG_EINVAL);
    CHECK_EQ(vg_h264_sps_dims(sps264_a720, 3, &w, &h), VG_EINVAL);
    CHECK_EQ(vg_h264_sps_dims(sps264_a720, 5, &w, &h), VG_EINVAL);
    CHECK_EQ(vg_h265_sps_dims(sps265_b720, 10, &w, &h), VG_EINVAL);
}

static void t_garbage(void)
{
    uint16_t w, h;
    /* Wrong NAL types. */
    CHECK_EQ(vg_h264_sps_dims(sps265_b720, sizeof sps265_b720, &w, &h), VG_EINVAL);
    CHECK_EQ(vg_h265_sps_dims(sps264_a720, sizeof sps264_a720, &w, &h), VG_EINVAL);
    /* Forbidden bit. */
    uint8_t bad[sizeof sps264_a720];
    memcpy(bad, sps264_a720, sizeof bad);
    bad[0] |= 0x80;
    CHECK_EQ(vg_h264_sps_dims(bad, sizeof bad, &w, &h), VG_EINVAL);
    /* All zeros after the header: ue() with > 31 leading zeros. */
    uint8_t zeros[64] = {0x67, 0x64};
    CHECK_EQ(vg_h264_sps_dims(zeros, sizeof zeros, &w, &h), VG_EINVAL);
    uint8_t zeros5[64] = {0x42, 0x01};
    CHECK_EQ(vg_h265_sps_dims(zeros5, sizeof zeros5, &w, &h), VG_EINVAL);
    /* All ones: huge values / out-of-range fields. */
    uint8_t ones[64];
    memset(ones, 0xff, sizeof ones);
    ones[0] = 0x67; /* every ue() is 0: a legal 16x16 picture */
    CHECK_EQ(vg_h264_sps_dims(ones, sizeof ones, &w, &h), 0);
    CHECK_EQ(w, 16);
    CHECK_EQ(h, 16);
    ones[0] = 0x42;
    ones[1] = 0x01;
    CHECK_EQ(vg_h265_sps_dims(ones, sizeof ones, &w, &h), VG_EINVAL);
    /* Pseudo-random bytes: any result is fine, only bounds matter (ASan). */
    uint32_t s = 1;
    for (int k = 0; k < 2000; k++) {
        uint8_t r[40];
        for (size_t i = 0; i < sizeof r; i++) {
            s = s * 1103515245u + 12345u;
            r[i] = (uint8_t)(s >> 16);
        }
        r[0] = 0x67;
        if (vg_h264_sps_dims(r, sizeof r, &w, &h) == 0)
            CHECK(w > 0 && h > 0);
        r[0] = 0x42;
        r[1] = 0x01;
        if (vg_h265_sps_dims(r, sizeof r, &w, &h) == 0)
            CHECK(w > 0 && h > 0);
    }
}

static void t_bits(void)
{
    /* 1 | 010 | 011 | 00100 | 00101 -> ue 0,1,2,3,4; then se. */
    const uint8_t p[] = {0xa6, 0x42, 0x80};
    vg_bits b;
    vg_bits_init(&b, p, sizeof p, false);
    CHECK_EQ(vg_bits_ue(&b), 0);
    CHECK_EQ(vg_bits_ue(&b), 1);
    CHECK_EQ(vg_bits_ue(&b), 2);
    CHECK_EQ(vg_bits_ue(&b), 3);
    CHECK_EQ(vg_bits_se(&b), -2); /* k=4 even -> -k/2 (H.264 Table 9-3) */
    CHECK(!b.err);
    vg_bits_read(&b, 8);
    CHECK(b.err);
    /* Emulation prevention: 00 00 03 01 reads as 00 00 01. */
    const uint8_t e[] = {0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03};
    vg_bits_init(&b, e, sizeof e, true);
    CHECK_EQ(vg_bits_read(&b, 24), 1);
    CHECK_EQ(vg_bits_read(&b, 16), 0);
    CHECK(!b.err);
    vg_bits_read(&b, 1); /* the trailing 03 is escape, nothing after it */
    CHECK(b.err);
    uint8_t out[8];
    CHECK_EQ(vg_h26x_unescape(e, 4, out, sizeof out), 3);
    CHECK_MEM(out, "\0\0\1", 3);
    CHECK_EQ(vg_h26x_unescape(e, 4, out, 2), VG_ETOOBIG);
    vg_bits_init(&b, e, sizeof e, true);
    CHECK_EQ(vg_bits_read(&b, 33), 0);
    CHECK(b.err);
}

int main(void)
{
    RUN(t_h264_real);
    RUN(t_h265_real);
    RUN(t_truncated);
    RUN(t_garbage);
    RUN(t_bits);
    return vg_test_done();
}
