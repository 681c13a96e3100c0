/* SPDX-License-Identifier: Apache-2.0 */
/* RTP depacketizers: RTP packets of one track in, whole frames out.
 * H.264 (RFC 6184: single NAL, STAP-A, FU-A), H.265 (RFC 7798: single, AP,
 * FU), AAC (RFC 3640 mpeg4-generic, AAC-hbr/lbr). Handles multi-slice frames
 * (a frame ends at the marker bit or a timestamp change), 16-bit sequence
 * wrap, 32-bit timestamp wrap (ts is unwrapped to int64), reordering (a small
 * window for UDP), loss (drop to the next keyframe, then set VG_FRAME_DISCONT),
 * and in-band parameter sets (updated track, reported via on_params).
 *
 * Ownership: caller owns vg_depack; frames passed to on_frame are valid only
 * during the call. */
#ifndef VG_DEPACK_H
#define VG_DEPACK_H

#include "media/media.h"

#include <stddef.h>
#include <stdint.h>

typedef struct vg_depack vg_depack;

typedef struct vg_depack_cbs {
    void (*on_frame)(void *arg, const vg_frame *f);
    /* A parameter set differs from the track's; *t is the updated track. */
    void (*on_params)(void *arg, unsigned track_idx, const vg_track *t);
} vg_depack_cbs;

/* track: codec, clock rate and any SDP parameter sets (copied). reorder:
 * packets of reordering to tolerate (0 for TCP, e.g. 32 for UDP). */
int vg_depack_new(const vg_track *track, unsigned track_idx, unsigned reorder,
                  const vg_depack_cbs *cbs, void *arg, vg_depack **out);
/* One RTP packet (header included). Malformed packets return VG_EPROTO and
 * are dropped; the depacketizer stays usable. */
int vg_depack_push(vg_depack *d, const uint8_t *pkt, size_t len);
/* Flush anything held in the reorder window (e.g. at session end). */
void vg_depack_flush(vg_depack *d);
void vg_depack_free(vg_depack *d);

/* Parameter-set parsing (src/media/h26x.c): width/height from an SPS. */
int vg_h264_sps_dims(const uint8_t *sps, size_t len, uint16_t *w, uint16_t *h);
int vg_h265_sps_dims(const uint8_t *sps, size_t len, uint16_t *w, uint16_t *h);

#endif
