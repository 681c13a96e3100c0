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
