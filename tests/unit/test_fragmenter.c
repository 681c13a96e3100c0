/* SPDX-License-Identifier: Apache-2.0 */
/* Fragmenter (src/rec/fragmenter.h invariants 1-3). */
#include "core/err.h"
#include "rec/fragmenter.h"
#include "store/store.h"
#include "vg_test.h"

#include <stdlib.h>

struct emitted {
    int64_t start;
    uint32_t dur;
    int key;
    size_t len;
    uint8_t first8[8];
};
static struct emitted em[64];
static int nem;

static int on_emit(void *arg, int64_t start, uint32_t dur, int key, uint8_t *frag, size_t len)
{
    /* Invariant 2: headroom before and tailroom after are ours to write
     * (ASan reports if they are not). */
    frag[-VG_RECW_HEADROOM] = 0xAA;
    frag[len + VG_RECW_TAILROOM - 1] = 0xBB;
    if (nem < 64) {
        em[nem].start = start;
        em[nem].dur = dur;
        em[nem].key = key;
        em[nem].len = len;
        memcpy(em[nem].first8, frag, 8);
        nem++;
    }
    return 0;
}

static uint8_t frame[3000];

/* 20 fps, keyframe every 40 frames (2 s GOP), 1 s target: fragments are cut
 * at every keyframe and once in the middle of each GOP. */
static void t_cut_points(void)
{
    vg_fragr f;
    nem = 0;
    CHECK_EQ(vg_fragr_init(&f, 1000, 0, on_emit, NULL), 0);
    vg_fragr_reset(&f, 0, 1);
    const int64_t T0 = 1000000;
    for (int i = 0; i < 120; i++)
        CHECK_EQ(vg_fragr_video(&f, T0 + i * 4500, i % 40 == 0, frame, 100 + (size_t)i), 0);
    CHECK_EQ(vg_fragr_flush(&f), 0);
    CHECK_EQ(nem, 6);
    for (int k = 0; k < nem; k++) {
        CHECK_EQ(em[k].start, T0 + k * 20 * 4500);
        CHECK_EQ(em[k].dur, 20 * 4500);        /* invariant 1: true durations, incl. the last */
        CHECK_EQ(em[k].key, k % 2 == 0);
        CHECK_MEM(em[k].first8 + 4, "moof", 4);
    }
    vg_fragr_free(&f);
}

/* Frames before the first keyframe are not recorded (a fragment starts at
 * a keyframe or continues one). */
static void t_starts_at_key(void)
{
    vg_fragr f;
    nem = 0;
    CHECK_EQ(vg_fragr_init(&f, 1000, 0, on_emit, NULL), 0);
    vg_fragr_reset(&f, 0, 1);
    for (int i = 0; i < 5; i++)
        vg_fragr_video(&f, i * 4500, 0, frame, 50);
    CHECK(!vg_fragr_open(&f));
    vg_fragr_video(&f, 5 * 4500, 1, frame, 50);
    vg_fragr_video(&f, 6 * 4500, 0, frame, 50);
    CHECK_EQ(vg_fragr_flush(&f), 0);
    CHECK_EQ(nem, 1);
    CHECK_EQ(em[0].start, 5 * 4500);
    CHECK_EQ(em[0].dur, 2 * 4500);
    vg_fragr_free(&f);
}

/* Audio joins the open fragment; it is dropped before the first keyframe. */
static void t_audio(void)
{
    vg_fragr f;
    nem = 0;
    CHECK_EQ(vg_fragr_init(&f, 1000, 0, on_emit, NULL), 0);
    vg_fragr_reset(&f, 0, 1);
    CHECK_EQ(vg_fragr_audio(&f, 0, 1024, frame, 10), 0);
    CHECK_EQ(f.na, 0);
    vg_fragr_video(&f, 0, 1, frame, 100);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(vg_fragr_audio(&f, i * 1024, 1024, frame, 10), 0);
    CHECK_EQ(f.na, 10);
    vg_fragr_video(&f, 4500, 0, frame, 100);
    CHECK_EQ(vg_fragr_flush(&f), 0);
    CHECK_EQ(nem, 1);
    /* 2 video samples of 100 + 10 audio of 10 bytes, plus moof and mdat header. */
    CHECK(em[0].len > 300);
    vg_fragr_free(&f);
}

/* Equal timestamps from a broken camera still give positive durations. */
static void t_equal_timestamps(void)
{
    vg_fragr f;
    nem = 0;
    CHECK_EQ(vg_fragr_init(&f, 1000, 0, on_emit, NULL), 0);
    vg_fragr_reset(&f, 0, 1);
    vg_fragr_video(&f, 9000, 1, frame, 100);
    vg_fragr_video(&f, 9000, 0, frame, 100);
    vg_fragr_video(&f, 9000, 1, frame, 100);
    vg_fragr_flush(&f);
    CHECK_EQ(nem, 2);
    CHECK(em[0].dur >= 1);
    vg_fragr_free(&f);
}

/* An emit error is reported to the caller, and the fragmenter stays usable. */
static int fail_emit(void *arg, int64_t s, uint32_t d, int k, uint8_t *p, size_t n) { return VG_ENOSPC; }
static void t_emit_error(void)
{
    vg_fragr f;
    CHECK_EQ(vg_fragr_init(&f, 1000, 0, fail_emit, NULL), 0);
    vg_fragr_reset(&f, 0, 1);
    CHECK_EQ(vg_fragr_video(&f, 0, 1, frame, 100), 0);
    CHECK_EQ(vg_fragr_video(&f, 4500, 1, frame, 100), VG_ENOSPC);
    CHECK(vg_fragr_open(&f)); /* the new keyframe opened the next fragment */
    CHECK_EQ(vg_fragr_flush(&f), VG_ENOSPC);
    CHECK(!vg_fragr_open(&f));
    vg_fragr_free(&f);
}

/* A fragment is also cut before a frame that would take it over max_bytes,
 * so memory per camera is bounded whatever the bitrate. */
static void t_byte_cap(void)
{
    vg_fragr f;
    nem = 0;
    CHECK_EQ(vg_fragr_init(&f, 1000, 1000, on_emit, NULL), 0);
    vg_fragr_reset(&f, 0, 1);
    for (int i = 0; i < 10; i++) /* 10 frames of 300 bytes: 3 per fragment */
        CHECK_EQ(vg_fragr_video(&f, i * 4500, i == 0, frame, 300), 0);
    CHECK_EQ(vg_fragr_flush(&f), 0);
    CHECK_EQ(nem, 4);
    CHECK_EQ(em[0].key, 1);
    CHECK_EQ(em[1].key, 0);
    CHECK_EQ(em[1].start, 3 * 4500);
    /* A single frame bigger than the cap still makes a fragment. */
    nem = 0;
    vg_fragr_reset(&f, 0, 1);
    CHECK_EQ(vg_fragr_video(&f, 0, 1, frame, 2000), 0);
    CHECK_EQ(vg_fragr_video(&f, 4500, 0, frame, 2000), 0);
    CHECK_EQ(vg_fragr_flush(&f), 0);
    CHECK_EQ(nem, 2);
    vg_fragr_free(&f);
}

int main(void)
{
    for (size_t i = 0; i < sizeof frame; i++)
        frame[i] = (uint8_t)i;
    RUN(t_cut_points);
    RUN(t_starts_at_key);
    RUN(t_audio);
    RUN(t_equal_timestamps);
    RUN(t_emit_error);
    RUN(t_byte_cap);
    return vg_test_done();
}
