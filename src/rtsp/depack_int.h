/* SPDX-License-Identifier: Apache-2.0 */
/* Depacketizer internals shared by depack.c (RTP, sequencing, access-unit
 * assembly) and the per-codec payload parsers (depack_h264.c,
 * depack_h265.c, depack_aac.c). Not a public API. */
#ifndef VG_DEPACK_INT_H
#define VG_DEPACK_INT_H

#include "core/buf.h"
#include "rtsp/depack.h"

#include <stdbool.h>

#define VG__DEPACK_MAX_FRAME (8u << 20)   /* one access unit (vg_buf max) */
#define VG__DEPACK_MAX_NALS 4096u         /* NAL units per access unit */
#define VG__DEPACK_MAX_PKT 65535u         /* RTP packet: UDP and interleaved TCP cap */
#define VG__DEPACK_MAX_REORDER 1024u
#define VG__DEPACK_LATE_RESYNC 32u        /* consecutive "late" packets = seq restart */
#define VG__AAC_MAX_AU (1u << 16)         /* reassembled AAC access unit */

/* A parsed RTP fixed header (RFC 3550 §5.1); payload points into the packet
 * with CSRCs, header extension and padding removed. */
typedef struct vg__rtp {
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint8_t pt;
    bool marker;
    const uint8_t *payload;
    size_t plen;
} vg__rtp;

/* One held packet of the reorder window; data owned by the slot. */
typedef struct vg__slot {
    uint8_t *data;
    size_t len, cap;
    bool used;
} vg__slot;

/* What a complete NAL unit means for the access unit being built. */
enum vg__nal_kind {
    VG__NAL_KEEP, VG__NAL_KEY, VG__NAL_DROP, VG__NAL_VPS, VG__NAL_SPS, VG__NAL_PPS,
};

struct vg_depack {
    vg_track track;               /* copy; parameter sets updated in band */
    unsigned track_idx;
    vg_depack_cbs cbs;
    void *arg;
    vg_depack_stats st;
    /* Codec payload handler, called for each packet in sequence order. */
    void (*payload)(vg_depack *d, const vg__rtp *r, int64_t ts);
    enum vg__nal_kind (*nal_kind)(const uint8_t *nal, size_t n);
    bool rejected;                /* unsupported stream (H.265 DONL) */
    int push_rc;                  /* payload error seen during this push */

    /* Sequencing (depack.c). */
    bool have_seq;
    uint16_t next_seq;            /* next sequence number to release */
    uint32_t ssrc;
    unsigned late_run;
    bool priming;                 /* start-up: hold until the window fills */
    unsigned max_ahead;           /* largest held offset from next_seq (priming) */
    unsigned nslots, head, held;  /* reorder ring: slot head holds next_seq */
    vg__slot *slots;              /* nslots entries, owned */
    bool have_ts;
    uint32_t last_ts32;
    int64_t last_ts;

    /* Delivery state. */
    bool discont;                 /* VG_FRAME_DISCONT on the next frame out */
    bool wait_key;                /* drop video frames until a keyframe */
    bool lost;                    /* a sequence gap since the last frame out */
    bool params_dirty;            /* on_params before the next frame */

    /* Video access unit under construction (length-prefixed NALs). */
    vg_buf au;                    /* owned; max VG__DEPACK_MAX_FRAME */
    bool au_open, au_key, au_bad;
    int64_t au_ts;
    unsigned au_nals;
    bool fu_active;
    size_t fu_off;                /* offset of the FU NAL's length prefix */

    /* AAC (RFC 3640). */
    unsigned sizelength, indexlength, indexdeltalength;
    uint32_t aac_dur;             /* one AU in RTP clock units */
    vg_buf frag;                  /* fragmented AU being reassembled, owned */
    bool frag_active;
    int64_t frag_ts;
    size_t frag_size;
    bool skip_valid;              /* skip packets of a dropped AU at skip_ts */
    int64_t skip_ts;
};

int vg__rtp_parse(const uint8_t *pkt, size_t len, vg__rtp *out);
/* Payload-level error: count it, fail this push with VG_EPROTO, and (for
 * video) poison the access unit so it is not delivered. */
void vg__depack_bad(vg_depack *d, const char *why);

/* Access-unit assembly (video). */
void vg__au_begin(vg_depack *d, int64_t ts);
void vg__au_nal(vg_depack *d, const uint8_t *nal, size_t n);
void vg__au_fu_start(vg_depack *d, const uint8_t *hdr, size_t hlen);
void vg__au_fu_data(vg_depack *d, const uint8_t *p, size_t n);
void vg__au_fu_end(vg_depack *d);
void vg__au_finish(vg_depack *d);
void vg__au_discard(vg_depack *d);

/* Deliver one frame (on_params first if a parameter set changed). */
void vg__emit(vg_depack *d, const uint8_t *data, size_t len, int64_t ts, uint32_t flags);

/* Codec hooks. */
void vg__h264_payload(vg_depack *d, const vg__rtp *r, int64_t ts);
enum vg__nal_kind vg__h264_nal_kind(const uint8_t *nal, size_t n);
void vg__h265_payload(vg_depack *d, const vg__rtp *r, int64_t ts);
enum vg__nal_kind vg__h265_nal_kind(const uint8_t *nal, size_t n);
void vg__aac_payload(vg_depack *d, const vg__rtp *r, int64_t ts);
void vg__aac_reset(vg_depack *d);
/* AU duration in RTP clock units from the AudioSpecificConfig (ISO/IEC
 * 14496-3 §1.6.2.1): 1024 or 960 samples, scaled when the RTP clock differs
 * from the core sampling rate (HE-AAC). 1024 when unknown. */
uint32_t vg__aac_au_duration(const uint8_t *asc, size_t len, uint32_t clock_rate);

#endif
