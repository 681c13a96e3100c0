/* SPDX-License-Identifier: Apache-2.0 */
/* SDP (RFC 8866) parsing for RTSP DESCRIBE answers: media sections, rtpmap,
 * fmtp (sprop-parameter-sets, sprop-vps/sps/pps, AAC config), control URLs. */
#ifndef VG_SDP_H
#define VG_SDP_H

#include "media/media.h"

#include <stddef.h>

#define VG_SDP_MAX_MEDIA 8

typedef struct vg_sdp_media {
    vg_track track;            /* codec NONE when the media is not supported */
    unsigned payload_type;
    char control[512];         /* a=control, absolute or relative ("" if none) */
    char encoding[32];         /* e.g. "H264", for log lines */
    /* Added by the RTSP owner: fmtp values the depacketizers may need that
     * vg_track has no room for. 0 when absent. */
    char media[16];            /* m= media type: "video", "audio", "application" */
    unsigned packetization_mode;  /* H.264 packetization-mode (RFC 6184 §8.1) */
    unsigned aac_sizelength, aac_indexlength, aac_indexdeltalength;  /* RFC 3640 §4.1 */
    unsigned aac_hbr;          /* mode=AAC-hbr (1) or AAC-lbr (0) */
    unsigned h265_max_don_diff;   /* sprop-max-don-diff (RFC 7798 §7.1) */
} vg_sdp_media;

typedef struct vg_sdp {
    char session_control[512];
    unsigned nmedia;
    vg_sdp_media media[VG_SDP_MAX_MEDIA];
} vg_sdp;

/* Parse len bytes (not NUL-terminated). VG_EINVAL with no partial result on
 * malformed input; media of unknown codecs are kept with codec NONE. */
int vg_sdp_parse(const char *text, size_t len, vg_sdp *out);

#endif
