/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the MP4 writers and readers (fmp4.c, mp4write.c,
 * mp4read.c): an error-latching box writer and the track boxes that the
 * fragmented and the progressive writer have in common. Not a public API. */
#ifndef VG_MP4_INT_H
#define VG_MP4_INT_H

#include "core/buf.h"
#include "media/media.h"

#include <stddef.h>
#include <stdint.h>

/* Box writer: every call is a no-op once rc != 0, so a long sequence of box
 * writes is checked once at the end (the first error wins). */
typedef struct vg__bw {
    vg_buf *b;
    int rc;
} vg__bw;

void vg__w8(vg__bw *w, uint8_t v);
void vg__w16(vg__bw *w, uint16_t v);
void vg__w32(vg__bw *w, uint32_t v);
void vg__w64(vg__bw *w, uint64_t v);
void vg__wbytes(vg__bw *w, const void *p, size_t n);
void vg__wzero(vg__bw *w, size_t n);
/* Opens a box (size patched by vg__box_close); returns its start offset. */
size_t vg__box_open(vg__bw *w, const char type[4]);
size_t vg__fullbox_open(vg__bw *w, const char type[4], uint8_t version, uint32_t flags);
void vg__box_close(vg__bw *w, size_t start);

/* mvhd with a 1000 Hz movie timescale. */
void vg__write_mvhd(vg__bw *w, uint64_t duration_ms, uint32_t next_track_id);

/* Writes the sample-table boxes of a track into an open stbl (after stsd). */
typedef void (*vg__stbl_fn)(vg__bw *w, void *arg);

/* One whole trak box. duration_ms for tkhd (movie timescale 1000),
 * duration for mdhd (track timescale). tables == NULL writes the empty
 * stts/stsc/stsz/stco of a fragmented file's init segment. */
void vg__write_trak(vg__bw *w, const vg_track *t, uint32_t track_id, uint32_t timescale,
                    uint64_t duration_ms, uint64_t duration, vg__stbl_fn tables, void *arg);

/* Video dimensions: the track's, else parsed from its SPS (0 if unknown). */
void vg__track_dims(const vg_track *t, uint16_t *w, uint16_t *h);

/* Profile/tier/level and format fields of an H.265 SPS (for hvcC and the
 * codec string), ISO/IEC 23008-2 §7.3.2.2 and §7.3.3. */
typedef struct vg__hevc_ptl {
    uint8_t ptl[12];          /* general_profile_space..general_level_idc, as coded */
    uint8_t chroma_format_idc;
    uint8_t bit_depth_luma_minus8, bit_depth_chroma_minus8;
    uint8_t max_sub_layers_minus1, temporal_id_nesting;
    uint16_t width, height;   /* conformance-window cropped */
} vg__hevc_ptl;
int vg__hevc_parse_sps(const uint8_t *sps, size_t len, vg__hevc_ptl *out);

#endif
