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

/* --- Additions (depack owner) --- */

/* Counters since vg_depack_new; read with vg_depack_get_stats. */
typedef struct vg_depack_stats {
    uint64_t packets;         /* RTP packets processed (in sequence order) */
    uint64_t malformed;       /* bad RTP header or payload */
    uint64_t late;            /* older than the released point (late or duplicate) */
    uint64_t duplicates;      /* same sequence number already held */
    uint64_t lost;            /* sequence numbers never seen */
    uint64_t frames;          /* delivered through on_frame */
    uint64_t frames_dropped;  /* incomplete, corrupt, too big, or waiting for a keyframe */
    uint64_t too_big;         /* frames over the 8 MiB limit (also in frames_dropped) */
    uint64_t unsupported;     /* STAP-B, MTAP, FU-B, PACI, reserved types: ignored */
    uint64_t param_changes;   /* on_params calls */
} vg_depack_stats;

void vg_depack_get_stats(const vg_depack *d, vg_depack_stats *out);

/* RFC 3640 AU-header field widths from the SDP fmtp (sizelength, indexlength,
 * indexdeltalength). Defaults are AAC-hbr 13/3/3; AAC-lbr is 6/2/2.
 * VG_EINVAL for widths we do not support (sizelength 1..16, index 0..8). */
int vg_depack_set_aac_params(vg_depack *d, unsigned sizelength, unsigned indexlength,
                             unsigned indexdeltalength);

/* H.265 fmtp sprop-max-don-diff (RFC 7798 §7.1). Nonzero means every NAL in
 * every packet carries a DONL field, which vigil does not support: returns
 * VG_EUNSUPPORTED, logs why, and every later push returns VG_EUNSUPPORTED. */
int vg_depack_set_h265_max_don_diff(vg_depack *d, unsigned max_don_diff);

#endif
