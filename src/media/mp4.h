/* SPDX-License-Identifier: Apache-2.0 */
/* MP4 reading (progressive files for the demo camera; init segments and
 * moof+mdat fragments for export) and progressive MP4 writing (export).
 * Every box length is checked against its parent before use: this parses
 * files from disk and from outside, and has a fuzz target. */
#ifndef VG_MP4_H
#define VG_MP4_H

#include "media/fmp4.h"
#include "media/media.h"

#include <stddef.h>
#include <stdint.h>

/* ---- progressive MP4 (moov with stbl), in memory ---- */
typedef struct vg_mp4 vg_mp4;
typedef struct vg_mp4_sample {
    int64_t dts;               /* track timescale */
    int32_t cts_offset;
    uint32_t duration;
    uint64_t offset;           /* byte offset in the file buffer */
    uint32_t size;
    int key;
} vg_mp4_sample;

/* buf must outlive the vg_mp4. Tracks of unsupported codecs are skipped. */
int vg_mp4_open(const uint8_t *buf, size_t len, vg_mp4 **out);
void vg_mp4_free(vg_mp4 *m);
unsigned vg_mp4_ntracks(const vg_mp4 *m);
const vg_track *vg_mp4_track(const vg_mp4 *m, unsigned i);
uint32_t vg_mp4_timescale(const vg_mp4 *m, unsigned i);
size_t vg_mp4_nsamples(const vg_mp4 *m, unsigned i);
int vg_mp4_get_sample(const vg_mp4 *m, unsigned i, size_t k, vg_mp4_sample *out);
/* Video: the size of the NAL length prefixes in samples (1, 2 or 4, from
 * avcC/hvcC lengthSizeMinusOne); 0 for audio or a bad index. */
unsigned vg_mp4_nal_length_size(const vg_mp4 *m, unsigned i);
/* Most samples per track we accept (a day of 30 fps video is 2.6M). */
#define VG_MP4_MAX_SAMPLES 10000000u

/* ---- fragmented MP4 ---- */
/* Parse an init segment written by vg_fmp4_init_segment (or any similar).
 * tracks and timescales have room for VG_MAX_TRACKS. Track IDs must be
 * 1..n (index = ID - 1, as vg_fmp4_parse_fragment reports them), else
 * VG_EUNSUPPORTED; so must be at least one supported track. */
int vg_fmp4_parse_init(const uint8_t *buf, size_t len, vg_track *tracks, unsigned *ntracks,
                       uint32_t *timescales /* [VG_MAX_TRACKS] */);
/* Walk the samples of one moof+mdat; data points into buf. s->track is the
 * traf's track_ID - 1. Every sample lies inside buf (else VG_EINVAL, after
 * the callbacks for the samples before it). A non-zero return from cb
 * stops the walk and is returned. At most VG_FMP4_MAX_SAMPLES samples. */
typedef int (*vg_fmp4_sample_cb)(void *arg, const vg_fmp4_sample *s);
int vg_fmp4_parse_fragment(const uint8_t *buf, size_t len, vg_fmp4_sample_cb cb, void *arg);

/* ---- progressive MP4 writer (export) ---- */
typedef struct vg_mp4w vg_mp4w;
/* Writes to fd (regular file, written from offset 0 with pwrite; the fd
 * stays the caller's): ftyp, mdat streamed, moov at finish.
 * Decode times are rebased so the file starts at 0. A track's dts must
 * strictly increase (else VG_EINVAL, sample not written, writer usable);
 * each sample lasts until the next one's dts (gaps lengthen the sample
 * before them; the last keeps its own duration). Sample data as in an
 * fMP4 mdat (4-byte NAL length prefixes). After an I/O error every call
 * returns that error. */
int vg_mp4w_new(int fd, const vg_track *tracks, unsigned ntracks, const uint32_t *timescales,
                vg_mp4w **out);
int vg_mp4w_add(vg_mp4w *w, const vg_fmp4_sample *s);
int vg_mp4w_finish(vg_mp4w *w);   /* writes moov; the file is then complete */
void vg_mp4w_free(vg_mp4w *w);

#endif
