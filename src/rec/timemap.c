/* SPDX-License-Identifier: Apache-2.0 */
/* RTP clock -> t90k mapping; invariants in timemap.h. */
#include "rec/timemap.h"
#include "core/clock.h"
#include "core/err.h"

int64_t vg_tm_to90k(int64_t d, uint32_t clock_rate)
{
    if (clock_rate == 90000 || clock_rate == 0)
        return d;
    return (d * VG_HZ + clock_rate / 2) / clock_rate;
}

void vg_tm_anchor(vg_timemap *m, uint32_t clock_rate, int64_t ts, int64_t wall_now90k,
                  int64_t not_before90k, uint64_t mono_us)
{
    m->anchored = 1;
    m->clock_rate = clock_rate ? clock_rate : 90000;
    m->last_ts = ts;
    m->rem = 0;
    m->t90k = wall_now90k > not_before90k ? wall_now90k : not_before90k;
    m->base90k = m->t90k;
    m->anchor_mono_us = mono_us;
}

int vg_tm_map(vg_timemap *m, int64_t ts, uint64_t mono_us, int64_t *out)
{
    int64_t d = ts - m->last_ts;
    if (d < 0 || d > (int64_t)VG_TM_MAX_JUMP_S * m->clock_rate)
        return VG_EINVAL;
    /* Exact conversion with a carried remainder so long runs do not
     * accumulate rounding error (e.g. 8 kHz audio clocks). */
    int64_t num = d * VG_HZ + m->rem;
    int64_t d90 = num / m->clock_rate;
    m->rem = num - d90 * m->clock_rate;
    /* Slew (invariant 2): compare elapsed media time with elapsed monotonic
     * time; if they differ by more than 100 ms, stretch or shrink this
     * frame's duration by at most 0.1 %. Never makes a duration negative. */
    int64_t elapsed_mono = (int64_t)(mono_us - m->anchor_mono_us) * 9 / 100;
    int64_t elapsed_media = m->t90k + d90 - m->base90k;
    int64_t drift = elapsed_mono - elapsed_media;
    int64_t slew = d90 / 1000;
    if (drift > VG_HZ / 10)
        d90 += slew;
    else if (drift < -VG_HZ / 10)
        d90 -= slew;
    m->last_ts = ts;
    m->t90k += d90;
    *out = m->t90k;
    return 0;
}
