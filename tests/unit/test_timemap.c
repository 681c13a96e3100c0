/* SPDX-License-Identifier: Apache-2.0 */
/* Camera clock -> t90k mapping (src/rec/timemap.h invariants 1-4). */
#include "core/clock.h"
#include "core/err.h"
#include "rec/timemap.h"
#include "vg_test.h"

static const int64_t WALL = 1800000000LL * VG_HZ;

/* Invariant 1: durations come from the RTP clock, exactly, at 90 kHz. */
static void t_durations_exact(void)
{
    vg_timemap m;
    vg_tm_anchor(&m, 90000, 1000, WALL, 0, 0);
    int64_t t;
    for (int i = 1; i <= 100; i++) {
        CHECK_EQ(vg_tm_map(&m, 1000 + i * 4500, (uint64_t)i * 50000, &t), 0);
        CHECK_EQ(t, WALL + i * 4500);
    }
}

/* Non-90 kHz clocks (audio) convert without accumulating rounding error. */
static void t_audio_clock_no_drift(void)
{
    vg_timemap m;
    vg_tm_anchor(&m, 44100, 0, WALL, 0, 0);
    int64_t t = 0;
    uint64_t us = 0;
    for (int i = 1; i <= 44100; i++) { /* 44100 frames of 1024 samples */
        us = (uint64_t)i * 1024 * 1000000 / 44100;
        CHECK_EQ(vg_tm_map(&m, (int64_t)i * 1024, us, &t), 0);
    }
    CHECK_EQ(t, WALL + 1024LL * 90000); /* exactly 1024 s later */
}

/* Invariant 4: going backwards or jumping far is a timeline break. */
static void t_break(void)
{
    vg_timemap m;
    vg_tm_anchor(&m, 90000, 5000, WALL, 0, 0);
    int64_t t = 0;
    CHECK_EQ(vg_tm_map(&m, 4000, 0, &t), VG_EINVAL);
    CHECK_EQ(vg_tm_map(&m, 5000 + 11 * 90000LL, 0, &t), VG_EINVAL);
    CHECK_EQ(vg_tm_map(&m, 5000 + 3000, 33000, &t), 0); /* map unchanged by the refusals */
    CHECK_EQ(t, WALL + 3000);
}

/* Invariant 3: a new run never starts before the previous one ended, even
 * when the wall clock stepped back. */
static void t_not_before(void)
{
    vg_timemap m;
    vg_tm_anchor(&m, 90000, 0, WALL - 5 * VG_HZ, WALL, 0);
    CHECK_EQ(m.t90k, WALL);
    vg_tm_anchor(&m, 90000, 0, WALL + VG_HZ, WALL, 0);
    CHECK_EQ(m.t90k, WALL + VG_HZ);
}

/* Invariant 2: a camera clock running 1 % fast is pulled toward monotonic
 * time by at most 0.1 % per frame; durations never become non-positive and
 * the offset stays bounded instead of growing without limit. */
static void t_slew_bounded(void)
{
    vg_timemap m;
    vg_tm_anchor(&m, 90000, 0, WALL, 0, 0);
    int64_t t = 0, prev = WALL;
    int bad = 0;
    for (int i = 1; i <= 72000 && !bad; i++) { /* one hour at 20 fps */
        int64_t rtp = (int64_t)i * 4455; /* a slow camera: 1 % fewer ticks than real time */
        uint64_t us = (uint64_t)i * 50000;
        bad |= vg_tm_map(&m, rtp, us, &t) != 0;
        int64_t d = t - prev;
        bad |= d < 4455 || d > 4455 + 5;
        prev = t;
    }
    CHECK(!bad);
    /* Unslewed, the media clock would be 36 s behind after an hour; the
     * slew (0.1 %) recovers 3.6 s of it. */
    int64_t behind = WALL + 3600LL * VG_HZ - t;
    CHECK(behind < 33 * VG_HZ);
    CHECK(behind > 30 * VG_HZ);
}

/* The server's wall clock is never read mid-run: only monotonic time. */
static void t_conversion(void)
{
    CHECK_EQ(vg_tm_to90k(48000, 48000), 90000);
    CHECK_EQ(vg_tm_to90k(4500, 90000), 4500);
    CHECK_EQ(vg_tm_to90k(1, 8000), 11);
}

int main(void)
{
    RUN(t_durations_exact);
    RUN(t_audio_clock_no_drift);
    RUN(t_break);
    RUN(t_not_before);
    RUN(t_slew_bounded);
    RUN(t_conversion);
    return vg_test_done();
}
