/* SPDX-License-Identifier: Apache-2.0 */
/* H.264 / H.265 bitstream helpers: a bounded bit reader (exp-Golomb, with
 * on-the-fly emulation-prevention removal), NAL type helpers, and SPS
 * parsing for the coded picture size (ITU-T H.264 §7.3.2.1, H.265 §7.3.2.2).
 *
 * Ownership: no allocation anywhere; readers borrow the caller's bytes. */
#ifndef VG_H26X_H
#define VG_H26X_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bit reader over len bytes. With ep set, an emulation_prevention_three_byte
 * (00 00 03) is skipped as the bytes are read (H.264 §7.4.1). Reading past
 * the end sets err and returns zeros; callers check err once at the end. */
typedef struct vg_bits {
    const uint8_t *p;
    size_t len;
    size_t i;          /* next byte of p to fetch */
    unsigned zeros;    /* consecutive 0x00 bytes fetched (ep mode) */
    uint8_t cur;       /* current byte */
    unsigned left;     /* bits of cur not yet read */
    bool ep;
    bool err;
} vg_bits;

void vg_bits_init(vg_bits *b, const uint8_t *p, size_t len, bool ep);
/* n in 0..32. */
uint32_t vg_bits_read(vg_bits *b, unsigned n);
void vg_bits_skip(vg_bits *b, unsigned n);
/* ue(v) / se(v), at most 31 leading zeros (else err). */
uint32_t vg_bits_ue(vg_bits *b);
int32_t vg_bits_se(vg_bits *b);

/* Copy a NAL unit's payload to out with emulation prevention removed.
 * Returns the RBSP length, or VG_ETOOBIG if out is too small. */
long vg_h26x_unescape(const uint8_t *in, size_t len, uint8_t *out, size_t outsz);

/* NAL unit types from the first header byte(s). */
static inline unsigned vg_h264_nal_type(uint8_t b0) { return b0 & 0x1fu; }
static inline unsigned vg_h265_nal_type(uint8_t b0) { return (b0 >> 1) & 0x3fu; }

enum {
    VG_H264_NAL_IDR = 5, VG_H264_NAL_SEI = 6, VG_H264_NAL_SPS = 7, VG_H264_NAL_PPS = 8,
    VG_H264_NAL_AUD = 9, VG_H264_NAL_FILLER = 12,
    VG_H265_NAL_IRAP_FIRST = 16, VG_H265_NAL_IRAP_LAST = 23,
    VG_H265_NAL_VPS = 32, VG_H265_NAL_SPS = 33, VG_H265_NAL_PPS = 34, VG_H265_NAL_AUD = 35,
    VG_H265_NAL_FD = 38,
};

/* Display width/height (after cropping / conformance window) from an SPS NAL
 * unit including its NAL header. VG_EINVAL on truncated or invalid input;
 * never reads past len. (Also declared in rtsp/depack.h, the historical home.) */
int vg_h264_sps_dims(const uint8_t *sps, size_t len, uint16_t *w, uint16_t *h);
int vg_h265_sps_dims(const uint8_t *sps, size_t len, uint16_t *w, uint16_t *h);

#endif
