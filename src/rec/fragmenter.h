/* SPDX-License-Identifier: Apache-2.0 */
/* Groups a camera's frames into fMP4 fragments (moof+mdat) of at most
 * target_ms, each starting at a keyframe or continuing a GOP, and hands each
 * finished fragment to an emit callback. Invariants:
 *  1. A video sample's duration is the difference to the next video frame's
 *     time, so a fragment is emitted only when the frame after it arrives
 *     (or at flush, where the last sample repeats the previous duration).
 *  2. Sample data is copied once, into vbuf after `reserve` bytes of
 *     headroom; the moof is written just before it, so the emitted bytes are
 *     contiguous with VG_RECW_HEADROOM bytes before and VG_RECW_TAILROOM
 *     after them, ready to be encrypted in place by the store.
 *  3. mdat layout: all video samples, then all audio samples (the order of
 *     the trafs in the moof).
 * Ownership: the caller embeds vg_fragr; vg_fragr_free releases the buffers. */
#ifndef VG_FRAGMENTER_H
#define VG_FRAGMENTER_H

#include "core/buf.h"
#include "media/fmp4.h"

#include <stdint.h>

typedef int (*vg_fragr_emit)(void *arg, int64_t start90k, uint32_t dur90k, int key,
                             uint8_t *frag, size_t len);

typedef struct vg_fragr {
    vg_buf vbuf;               /* [reserve][video sample data][audio copied at close] */
    vg_buf abuf;               /* audio sample data of the open fragment */
    vg_buf hdr;                /* scratch for the moof */
    vg_fmp4_sample *smp;       /* video samples (audio appended at emit) */
    vg_fmp4_sample *asmp;      /* audio samples of the open fragment */
    unsigned nv, na, cap, acap;
    unsigned vtrack, atrack;   /* track indexes in the init segment */
    int64_t start90k;
    int64_t last_v90k;         /* time of the last (pending) video sample */
    uint32_t last_dur;         /* duration of the previous video sample */
    uint32_t target90k;
    size_t max_bytes;          /* cut before a frame that would make the mdat bigger */
    int in_gop;                /* a keyframe has been taken since reset */
    uint32_t seq;
    vg_fragr_emit emit;
    void *arg;
} vg_fragr;

/* target_ms: at most this much media per fragment; max_bytes: and at most
 * about this much data (0 -> VG_FRAGR_MAX_BYTES), so a camera's buffer is
 * bounded whatever its bitrate (a single larger frame still fits). */
#define VG_FRAGR_MAX_BYTES (256u << 10)
int vg_fragr_init(vg_fragr *f, unsigned target_ms, size_t max_bytes, vg_fragr_emit emit,
                  void *arg);
void vg_fragr_free(vg_fragr *f);
/* New run: forget everything (call after flush). */
void vg_fragr_reset(vg_fragr *f, unsigned vtrack, unsigned atrack);
/* A video frame at t90k. Returns the emit callback's error, if it ran and
 * failed (the frame itself is still taken), or VG_ETOOBIG if dropped. */
int vg_fragr_video(vg_fragr *f, int64_t t90k, int key, const uint8_t *data, size_t len);
/* An audio frame (dts in the audio track's timescale); dropped if no
 * fragment is open yet (audio before the first keyframe). */
int vg_fragr_audio(vg_fragr *f, int64_t dts, uint32_t dur, const uint8_t *data, size_t len);
/* Emit the open fragment, if any. */
int vg_fragr_flush(vg_fragr *f);
static inline int vg_fragr_open(const vg_fragr *f) { return f->nv > 0; }
/* End time of the last emitted or pending video sample. */
static inline int64_t vg_fragr_end(const vg_fragr *f) { return f->last_v90k + f->last_dur; }

#endif
