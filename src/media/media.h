/* SPDX-License-Identifier: Apache-2.0 */
/* Media types shared by every source (RTSP camera, file) and every sink
 * (fMP4 fragmenter, recorder). A source reports its tracks, then frames.
 *
 * Frame data convention (video): the access unit as 4-byte big-endian
 * length-prefixed NAL units ("AVCC"/"HVCC" sample format, what goes into an
 * mdat), WITHOUT parameter sets (SPS/PPS/VPS): those live in vg_track and
 * change only through on_tracks. AAC: one raw access unit (no ADTS header).
 */
#ifndef VG_MEDIA_H
#define VG_MEDIA_H

#include <stddef.h>
#include <stdint.h>

enum vg_codec { VG_CODEC_NONE = 0, VG_CODEC_H264 = 1, VG_CODEC_H265 = 2, VG_CODEC_AAC = 3 };
enum vg_track_kind { VG_TRACK_VIDEO = 1, VG_TRACK_AUDIO = 2 };

#define VG_PS_MAX 512   /* longest parameter set we keep (bytes) */

typedef struct vg_track {
    enum vg_track_kind kind;
    enum vg_codec codec;
    uint32_t clock_rate;          /* RTP clock (90000 for video, sample rate for AAC) */
    /* Video: parameter sets, raw NAL units (no start code / length prefix). */
    uint8_t vps[VG_PS_MAX]; uint16_t vps_len;   /* H.265 only */
    uint8_t sps[VG_PS_MAX]; uint16_t sps_len;
    uint8_t pps[VG_PS_MAX]; uint16_t pps_len;
    uint16_t width, height;       /* from the SPS; 0 if unknown */
    /* Audio (AAC): AudioSpecificConfig from the SDP's config= parameter. */
    uint8_t asc[64]; uint16_t asc_len;
    uint32_t sample_rate;
    uint8_t channels;
} vg_track;

#define VG_MAX_TRACKS 4

enum {
    VG_FRAME_KEY = 1u << 0,       /* IDR / IRAP: decodable from here */
    VG_FRAME_DISCONT = 1u << 1,   /* loss or a new timeline right before this frame */
};

typedef struct vg_frame {
    unsigned track;               /* index into the tracks of the last on_tracks */
    int64_t ts;                   /* presentation time, track clock units, unwrapped (64-bit) */
    uint32_t flags;               /* VG_FRAME_* */
    const uint8_t *data;          /* valid only during the callback */
    size_t len;
} vg_frame;

/* Source events. Callbacks run on the source's loop thread. */
typedef struct vg_source_cbs {
    /* Tracks known (after DESCRIBE/SETUP or file open), or a parameter set
     * changed in band. The array is valid only during the call. */
    void (*on_tracks)(void *arg, const vg_track *tracks, unsigned ntracks);
    void (*on_frame)(void *arg, const vg_frame *f);
    /* The session ended (rc < 0 with a reason) or started playing (rc == 0,
     * why == "playing"). After an end, no more frames until restarted. */
    void (*on_state)(void *arg, int rc, const char *why);
} vg_source_cbs;

#endif
