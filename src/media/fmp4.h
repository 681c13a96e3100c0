/* SPDX-License-Identifier: Apache-2.0 */
/* Fragmented MP4 (ISO/IEC 14496-12) writer, no transcoding.
 * Init segment: ftyp + moov (mvex/trex; avc1+avcC, hvc1+hvcC, mp4a+esds).
 * Fragment: moof (mfhd, traf per track: tfhd, tfdt, trun) + mdat.
 * Timescale: video tracks 90000 (decode times are t90k since the Unix epoch,
 * so a fragment carries its own wall time); audio tracks their sample rate. */
#ifndef VG_FMP4_H
#define VG_FMP4_H

#include "core/buf.h"
#include "media/media.h"

#include <stddef.h>
#include <stdint.h>

/* Track IDs in the file are index + 1. */
int vg_fmp4_init_segment(vg_buf *out, const vg_track *tracks, unsigned ntracks);

typedef struct vg_fmp4_sample {
    unsigned track;            /* index, as in the init segment */
    int64_t dts;               /* track timescale */
    uint32_t duration;         /* track timescale */
    int32_t cts_offset;        /* pts - dts; 0 for streams without B-frames */
    int key;                   /* sync sample */
    const uint8_t *data;
    uint32_t size;
} vg_fmp4_sample;

/* Most samples in one fragment (a fragment is about one GOP). */
#define VG_FMP4_MAX_SAMPLES 100000u

/* One moof+mdat with these samples (any order of tracks; each track's
 * samples in decode order). seq: the mfhd sequence number.
 *
 * Layout: mdat holds the sample data exactly in the order given. The moof
 * has one traf per track present, in ascending track index, and within it
 * one trun per run of consecutive same-track samples in the array (so
 * giving the samples grouped by track, ascending track index, yields the
 * usual one trun per traf). A track's decode times after its first sample
 * are implied by the durations: duration must equal the next sample's dts
 * minus this one's (tfdt carries only the first sample's dts).
 * Returns VG_EINVAL for n == 0, a track >= VG_MAX_TRACKS, a negative dts
 * or a track's dts going backwards; out is unchanged on error. */
int vg_fmp4_fragment(vg_buf *out, uint32_t seq, const vg_fmp4_sample *s, unsigned n);

/* The same fragment without copying sample data: writes moof + the 8-byte
 * mdat header into out, for samples whose data the caller lays out right
 * after it, in the order given (the recorder builds mdat in place so a
 * fragment is copied once, into its encrypted envelope). s[i].data unused. */
int vg_fmp4_fragment_header(vg_buf *out, uint32_t seq, const vg_fmp4_sample *s, unsigned n);

/* RFC 6381 codec string for MSE's isTypeSupported / addSourceBuffer, e.g.
 * "avc1.4d401f", "hvc1.1.6.L93.B0", "mp4a.40.2". 0, VG_EINVAL or VG_ETOOBIG. */
int vg_fmp4_codec_string(const vg_track *t, char *out, size_t n);

#endif
