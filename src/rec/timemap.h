/* SPDX-License-Identifier: Apache-2.0 */
/* Mapping a camera's RTP clock into vigil's time base (t90k: 90 kHz since
 * the Unix epoch). docs/design/time.md has the reasoning; in short:
 *
 *  1. Durations come from the camera's RTP clock (it is what the encoder
 *     used); wall time is consulted once, when a run starts (the anchor).
 *  2. The mapping is cumulative: each frame advances by its RTP delta,
 *     converted to 90 kHz, plus a bounded slew (at most 1/1000 of the delta)
 *     that pulls the run toward the monotonic clock's elapsed time, so a
 *     camera whose clock drifts cannot wander off the wall, and the server's
 *     wall clock stepping mid-run changes nothing (only monotonic is used).
 *  3. A run never starts before the previous run of the camera ended:
 *     recordings abut or leave a gap, they never overlap, even if the wall
 *     clock stepped back.
 *  4. A delta <= 0 or larger than VG_TM_MAX_JUMP_S is a timeline break
 *     (camera reboot, RTP timestamp jump): the caller ends the run.
 */
#ifndef VG_TIMEMAP_H
#define VG_TIMEMAP_H

#include <stdint.h>

#define VG_TM_MAX_JUMP_S 10

typedef struct vg_timemap {
    int anchored;
    uint32_t clock_rate;
    int64_t last_ts;         /* source clock units */
    int64_t rem;             /* remainder of the clock -> 90 kHz conversion */
    int64_t t90k;            /* mapped time of the last frame */
    int64_t base90k;         /* mapped time of the anchor frame */
    uint64_t anchor_mono_us; /* monotonic time at the anchor */
} vg_timemap;

/* Begin a run: the frame with source timestamp ts, received now, maps to
 * max(wall_now90k, not_before90k). */
void vg_tm_anchor(vg_timemap *m, uint32_t clock_rate, int64_t ts, int64_t wall_now90k,
                  int64_t not_before90k, uint64_t mono_us);
/* Map the next frame. Returns 0 and sets *out, or VG_EINVAL on a timeline
 * break (invariant 4), leaving the map unchanged. */
int vg_tm_map(vg_timemap *m, int64_t ts, uint64_t mono_us, int64_t *out);
/* Convert a duration in clock units to 90 kHz (rounded). */
int64_t vg_tm_to90k(int64_t d, uint32_t clock_rate);

#endif
