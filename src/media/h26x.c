/* SPDX-License-Identifier: Apache-2.0 */
/* H.264 / H.265 bit reader and SPS picture-size parsing.
 *
 * Invariants:
 *  1. No read ever touches p[i] with i >= len: vg_bits fetches bytes through
 *     one function that checks the bound and sets err instead.
 *  2. Parsers check err (and every range the spec gives) before trusting a
 *     value; a garbage SPS yields VG_EINVAL, never a size of 0 or > 65535.
 *  3. Emulation prevention (00 00 03) is removed while reading, so SPSes of
 *     any length parse without a copy. */
#include "media/h26x.h"

#include "core/err.h"

void vg_bits_init(vg_bits *b, const uint8_t *p, size_t len, bool ep)
{
    b->p = p;
    b->len = len;
    b->i = 0;
    b->zeros = 0;
    b->cur = 0;
    b->left = 0;
    b->ep = ep;
    b->err = false;
}

/* Next payload byte; skips an emulation_prevention_three_byte (H.264
 * §7.3.1: a 0x03 after two zero bytes is not part of the RBSP). */
static int fetch(vg_bits *b)
{
    if (b->i >= b->len)
        return -1;
    uint8_t v = b->p[b->i++];
    if (b->ep && b->zeros >= 2 && v == 3) {
        b->zeros = 0;
        if (b->i >= b->len)
            return -1;
        v = b->p[b->i++];
    }
    b->zeros = v == 0 ? b->zeros + 1 : 0;
    return v;
}

static unsigned read_bit(vg_bits *b)
{
    if (b->err)
        return 0;
    if (!b->left) {
        int v = fetch(b);
        if (v < 0) {
            b->err = true;
            return 0;
        }
        b->cur = (uint8_t)v;
        b->left = 8;
    }
    b->left--;
    return (b->cur >> b->left) & 1u;
}

uint32_t vg_bits_read(vg_bits *b, unsigned n)
{
    uint32_t v = 0;
    if (n > 32) {
        b->err = true;
        return 0;
    }
    for (unsigned k = 0; k < n; k++)
        v = v << 1 | read_bit(b);
    return b->err ? 0 : v;
}

void vg_bits_skip(vg_bits *b, unsigned n)
{
    while (n >= 32) {
        vg_bits_read(b, 32);
        n -= 32;
    }
    vg_bits_read(b, n);
}

uint32_t vg_bits_ue(vg_bits *b)
{
    unsigned zeros = 0;
    while (!read_bit(b)) {
        if (b->err || ++zeros > 31) {
            b->err = true;
            return 0;
        }
    }
    /* (1 << zeros) - 1 + bits; zeros <= 31 so this fits in 32 bits. */
    uint32_t v = vg_bits_read(b, zeros);
    return b->err ? 0 : (uint32_t)((1ull << zeros) - 1 + v);
}

int32_t vg_bits_se(vg_bits *b)
{
    uint32_t k = vg_bits_ue(b);
    /* H.264 §9.1.1: k odd -> positive (k+1)/2, even -> -k/2. */
    if (k & 1)
        return (int32_t)((k >> 1) + 1);
    return -(int32_t)(k >> 1);
}

long vg_h26x_unescape(const uint8_t *in, size_t len, uint8_t *out, size_t outsz)
{
    vg_bits b;
    vg_bits_init(&b, in, len, true);
    size_t n = 0;
    for (int v; (v = fetch(&b)) >= 0;) {
        if (n >= outsz)
            return VG_ETOOBIG;
        out[n++] = (uint8_t)v;
    }
    return (long)n;
}

/* H.264 §7.3.2.1.1.1 scaling_list(): only parsed to skip it. */
static void h264_skip_scaling_list(vg_bits *b, unsigned size)
{
    int last = 8, next = 8;
    for (unsigned j = 0; j < size && !b->err; j++) {
        if (next != 0) {
            int32_t delta = vg_bits_se(b);
            if (delta < -128 || delta > 127) {
                b->err = true;
                return;
            }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

static bool h264_high_profile(unsigned profile_idc)
{
    switch (profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86:
    case 118: case 128: case 138: case 139: case 134: case 135:
        return true;
    default:
        return false;
    }
}

/* The chroma part of a high-profile SPS; returns chroma_format_idc and
 * separate_colour_plane_flag. */
static void h264_chroma_info(vg_bits *b, unsigned *chroma, bool *separate)
{
    *chroma = vg_bits_ue(b);
    if (*chroma > 3) {
        b->err = true;
        return;
    }
    if (*chroma == 3)
        *separate = vg_bits_read(b, 1);
    if (vg_bits_ue(b) > 6 || vg_bits_ue(b) > 6) { /* bit_depth_{luma,chroma}_minus8 */
        b->err = true;
        return;
    }
    vg_bits_skip(b, 1); /* qpprime_y_zero_transform_bypass_flag */
    if (vg_bits_read(b, 1)) { /* seq_scaling_matrix_present_flag */
        unsigned lists = *chroma != 3 ? 8 : 12;
        for (unsigned i = 0; i < lists && !b->err; i++)
            if (vg_bits_read(b, 1))
                h264_skip_scaling_list(b, i < 6 ? 16 : 64);
    }
}

/* pic_order_cnt_type and what hangs off it (H.264 §7.3.2.1.1). */
static void h264_skip_poc(vg_bits *b)
{
    uint32_t poc_type = vg_bits_ue(b);
    if (poc_type == 0) {
        if (vg_bits_ue(b) > 12) /* log2_max_pic_order_cnt_lsb_minus4 */
            b->err = true;
    } else if (poc_type == 1) {
        vg_bits_skip(b, 1);
        vg_bits_se(b);
        vg_bits_se(b);
        uint32_t n = vg_bits_ue(b);
        if (n > 255) {
            b->err = true;
            return;
        }
        for (uint32_t i = 0; i < n && !b->err; i++)
            vg_bits_se(b);
    } else if (poc_type != 2) {
        b->err = true;
    }
}

/* Size after cropping; sub_w/sub_h are the crop units. */
static int finish_dims(uint64_t cw, uint64_t ch, uint64_t crop_w, uint64_t crop_h,
                       uint16_t *w, uint16_t *h)
{
    if (crop_w >= cw || crop_h >= ch || cw - crop_w > 65535 || ch - crop_h > 65535)
        return VG_EINVAL;
    *w = (uint16_t)(cw - crop_w);
    *h = (uint16_t)(ch - crop_h);
    return 0;
}

int vg_h264_sps_dims(const uint8_t *sps, size_t len, uint16_t *w, uint16_t *h)
{
    if (!sps || len < 4 || (sps[0] & 0x80) || vg_h264_nal_type(sps[0]) != VG_H264_NAL_SPS)
        return VG_EINVAL;
    vg_bits b;
    vg_bits_init(&b, sps + 1, len - 1, true);
    unsigned profile_idc = vg_bits_read(&b, 8);
    vg_bits_skip(&b, 16); /* constraint flags, level_idc */
    if (vg_bits_ue(&b) > 31) /* seq_parameter_set_id */
        return VG_EINVAL;
    unsigned chroma = 1; /* 4:2:0 when not signalled (§7.4.2.1.1) */
    bool separate = false;
    if (h264_high_profile(profile_idc))
        h264_chroma_info(&b, &chroma, &separate);
    if (vg_bits_ue(&b) > 12) /* log2_max_frame_num_minus4 */
        return VG_EINVAL;
    h264_skip_poc(&b);
    vg_bits_ue(&b);       /* max_num_ref_frames */
    vg_bits_skip(&b, 1);  /* gaps_in_frame_num_value_allowed_flag */
    uint64_t wmbs = (uint64_t)vg_bits_ue(&b) + 1;
    uint64_t hmap = (uint64_t)vg_bits_ue(&b) + 1;
    unsigned frame_mbs_only = vg_bits_read(&b, 1);
    if (!frame_mbs_only)
        vg_bits_skip(&b, 1); /* mb_adaptive_frame_field_flag */
    vg_bits_skip(&b, 1);     /* direct_8x8_inference_flag */
    uint64_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (vg_bits_read(&b, 1)) {
        cl = vg_bits_ue(&b);
        cr = vg_bits_ue(&b);
        ct = vg_bits_ue(&b);
        cb = vg_bits_ue(&b);
    }
    if (b.err)
        return VG_EINVAL;
    /* §7.4.2.1.1, CropUnitX/CropUnitY (Table 6-1 for SubWidthC/SubHeightC). */
    uint64_t unit_x = 1, unit_y = 2 - frame_mbs_only;
    if (chroma != 0 && !separate) {
        unit_x = chroma == 3 ? 1 : 2;
        unit_y *= chroma == 1 ? 2 : 1;
    }
    return finish_dims(wmbs * 16, hmap * 16 * (2 - frame_mbs_only), unit_x * (cl + cr),
                       unit_y * (ct + cb), w, h);
}

/* H.265 §7.3.3 profile_tier_level(1, max_sub_layers_minus1): skipped. */
static void h265_skip_ptl(vg_bits *b, unsigned max_sub_layers_minus1)
{
    vg_bits_skip(b, 96); /* general profile/tier/flags (88 bits) + level_idc */
    bool prof[8] = {false}, lvl[8] = {false};
    for (unsigned i = 0; i < max_sub_layers_minus1; i++) {
        prof[i] = vg_bits_read(b, 1);
        lvl[i] = vg_bits_read(b, 1);
    }
    if (max_sub_layers_minus1 > 0)
        vg_bits_skip(b, 2 * (8 - max_sub_layers_minus1)); /* reserved_zero_2bits */
    for (unsigned i = 0; i < max_sub_layers_minus1; i++) {
        if (prof[i])
            vg_bits_skip(b, 88);
        if (lvl[i])
            vg_bits_skip(b, 8);
    }
}

int vg_h265_sps_dims(const uint8_t *sps, size_t len, uint16_t *w, uint16_t *h)
{
    if (!sps || len < 5 || (sps[0] & 0x80) || vg_h265_nal_type(sps[0]) != VG_H265_NAL_SPS)
        return VG_EINVAL;
    vg_bits b;
    vg_bits_init(&b, sps + 2, len - 2, true);
    vg_bits_skip(&b, 4); /* sps_video_parameter_set_id */
    unsigned msl = vg_bits_read(&b, 3);
    if (msl > 6) /* §7.4.3.2.1: sps_max_sub_layers_minus1 in 0..6 */
        return VG_EINVAL;
    vg_bits_skip(&b, 1); /* sps_temporal_id_nesting_flag */
    h265_skip_ptl(&b, msl);
    if (vg_bits_ue(&b) > 15) /* sps_seq_parameter_set_id */
        return VG_EINVAL;
    unsigned chroma = vg_bits_ue(&b);
    if (chroma > 3)
        return VG_EINVAL;
    bool separate = chroma == 3 && vg_bits_read(&b, 1);
    uint64_t pw = vg_bits_ue(&b), ph = vg_bits_ue(&b);
    uint64_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (vg_bits_read(&b, 1)) { /* conformance_window_flag */
        cl = vg_bits_ue(&b);
        cr = vg_bits_ue(&b);
        ct = vg_bits_ue(&b);
        cb = vg_bits_ue(&b);
    }
    if (b.err || pw == 0 || ph == 0)
        return VG_EINVAL;
    /* Table 6-1: SubWidthC/SubHeightC; 1 for monochrome or separate planes. */
    uint64_t sw = 1, sh = 1;
    if (!separate && chroma == 1)
        sw = sh = 2;
    else if (!separate && chroma == 2)
        sw = 2;
    return finish_dims(pw, ph, sw * (cl + cr), sh * (ct + cb), w, h);
}
