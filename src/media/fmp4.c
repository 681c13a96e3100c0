/* SPDX-License-Identifier: Apache-2.0 */
/* Fragmented MP4 writer (ISO/IEC 14496-12 "ISO BMFF", 14496-15 for the
 * avcC/hvcC sample entries, 14496-1 §7.2.6 for esds) and the box-writing
 * helpers the progressive writer shares (mp4_int.h).
 *
 * Invariants:
 *  1. Track IDs are index + 1; trafs appear in ascending track index.
 *  2. Each traf holds one trun per maximal run of consecutive samples of its
 *     track in the caller's array, so mdat is exactly the sample data in the
 *     order given and every trun's data_offset points at its first sample.
 *  3. tfdt is version 1 (64-bit): video decode times are t90k since 1970,
 *     which passes 2^32 after 13 hours.
 *  4. vg_fmp4_fragment_header() output is byte-identical to the prefix of
 *     vg_fmp4_fragment() for the same samples (one code path writes both).
 */
#include "media/fmp4.h"
#include "media/h26x.h"
#include "core/err.h"
#include "media/mp4_int.h"
#include "rtsp/depack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- box writer ---- */

static void wput(vg__bw *w, const void *p, size_t n)
{
    if (w->rc == 0)
        w->rc = vg_buf_append(w->b, p, n);
}
void vg__wbytes(vg__bw *w, const void *p, size_t n) { wput(w, p, n); }
void vg__w8(vg__bw *w, uint8_t v) { wput(w, &v, 1); }
void vg__w16(vg__bw *w, uint16_t v)
{
    uint8_t b[2];
    vg_wr16(b, v);
    wput(w, b, 2);
}
void vg__w32(vg__bw *w, uint32_t v)
{
    uint8_t b[4];
    vg_wr32(b, v);
    wput(w, b, 4);
}
void vg__w64(vg__bw *w, uint64_t v)
{
    uint8_t b[8];
    vg_wr64(b, v);
    wput(w, b, 8);
}
void vg__wzero(vg__bw *w, size_t n)
{
    static const uint8_t z[64];
    while (n > 0 && w->rc == 0) {
        size_t k = n < sizeof z ? n : sizeof z;
        wput(w, z, k);
        n -= k;
    }
}

size_t vg__box_open(vg__bw *w, const char type[4])
{
    size_t start = w->b->len;
    vg__w32(w, 0);
    wput(w, type, 4);
    return start;
}

size_t vg__fullbox_open(vg__bw *w, const char type[4], uint8_t version, uint32_t flags)
{
    size_t start = vg__box_open(w, type);
    vg__w32(w, (uint32_t)version << 24 | (flags & 0xffffffu));
    return start;
}

void vg__box_close(vg__bw *w, size_t start)
{
    if (w->rc)
        return;
    size_t sz = w->b->len - start;
    if (sz > UINT32_MAX) {
        w->rc = VG_ETOOBIG;
        return;
    }
    vg_wr32(w->b->data + start, (uint32_t)sz);
}

/* ---- parameter-set parsing (only what the sample entries need) ---- */

static void skip_sub_layers(vg_bits *b, unsigned max_sub_layers_minus1)
{
    unsigned prof[8] = {0}, lvl[8] = {0};
    for (unsigned i = 0; i < max_sub_layers_minus1; i++) {
        prof[i] = vg_bits_read(b, 1);
        lvl[i] = vg_bits_read(b, 1);
    }
    if (max_sub_layers_minus1 > 0)
        for (unsigned i = max_sub_layers_minus1; i < 8; i++)
            vg_bits_skip(b, 2);
    for (unsigned i = 0; i < max_sub_layers_minus1; i++) {
        if (prof[i]) {
            vg_bits_skip(b, 88); /* sub_layer profile: space..constraint flags */
        }
        if (lvl[i])
            vg_bits_skip(b, 8);
    }
}

int vg__hevc_parse_sps(const uint8_t *sps, size_t len, vg__hevc_ptl *out)
{
    uint8_t rbsp[VG_PS_MAX];
    if (len < 3 || len > VG_PS_MAX)
        return VG_EINVAL;
    long n = vg_h26x_unescape(sps + 2, len - 2, rbsp, sizeof rbsp); /* skip the NAL header */
    if (n < 14)
        return VG_EINVAL;
    memset(out, 0, sizeof *out);
    /* §7.3.2.2: vps_id(4) max_sub_layers_minus1(3) nesting(1), then the
     * general profile_tier_level, which is byte-aligned: 12 bytes. */
    out->max_sub_layers_minus1 = (rbsp[0] >> 1) & 7;
    out->temporal_id_nesting = rbsp[0] & 1;
    memcpy(out->ptl, rbsp + 1, 12);
    vg_bits b;
    vg_bits_init(&b, rbsp, (size_t)n, false);
    vg_bits_skip(&b, 13 * 8);
    skip_sub_layers(&b, out->max_sub_layers_minus1);
    vg_bits_ue(&b); /* sps_seq_parameter_set_id */
    uint32_t cf = vg_bits_ue(&b);
    if (cf > 3)
        return VG_EINVAL;
    if (cf == 3)
        vg_bits_read(&b, 1); /* separate_colour_plane_flag */
    uint32_t w = vg_bits_ue(&b), h = vg_bits_ue(&b);
    uint32_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (vg_bits_read(&b, 1)) {
        cl = vg_bits_ue(&b);
        cr = vg_bits_ue(&b);
        ct = vg_bits_ue(&b);
        cb = vg_bits_ue(&b);
    }
    uint32_t bl = vg_bits_ue(&b), bc = vg_bits_ue(&b);
    if (b.err || bl > 8 || bc > 8)
        return VG_EINVAL;
    uint32_t sw = (cf == 1 || cf == 2) ? 2 : 1, sh = cf == 1 ? 2 : 1;
    uint64_t cw = (uint64_t)sw * (cl + (uint64_t)cr), ch = (uint64_t)sh * (ct + (uint64_t)cb);
    if (w > 65535 || h > 65535 || cw >= w || ch >= h)
        return VG_EINVAL;
    out->chroma_format_idc = (uint8_t)cf;
    out->bit_depth_luma_minus8 = (uint8_t)bl;
    out->bit_depth_chroma_minus8 = (uint8_t)bc;
    out->width = (uint16_t)(w - cw);
    out->height = (uint16_t)(h - ch);
    return 0;
}

/* chroma_format_idc and bit depths of an H.264 High-family SPS (§7.3.2.1.1),
 * for the avcC extension fields. */
static int avc_high_fields(const vg_track *t, uint8_t *cf, uint8_t *bl, uint8_t *bc)
{
    uint8_t rbsp[VG_PS_MAX];
    long n = vg_h26x_unescape(t->sps + 1, t->sps_len - 1u, rbsp, sizeof rbsp);
    if (n < 0)
        return VG_EINVAL;
    vg_bits b;
    vg_bits_init(&b, rbsp, (size_t)n, false);
    vg_bits_skip(&b, 24); /* profile_idc, constraint flags, level_idc */
    vg_bits_ue(&b); /* seq_parameter_set_id */
    uint32_t c = vg_bits_ue(&b);
    if (c == 3)
        vg_bits_read(&b, 1);
    uint32_t l = vg_bits_ue(&b), k = vg_bits_ue(&b);
    if (b.err || c > 3 || l > 6 || k > 6)
        return VG_EINVAL;
    *cf = (uint8_t)c;
    *bl = (uint8_t)l;
    *bc = (uint8_t)k;
    return 0;
}

static int avc_high_profile(uint8_t p)
{
    return p == 100 || p == 110 || p == 122 || p == 144 || p == 244 || p == 44 || p == 83 ||
           p == 86 || p == 118 || p == 128 || p == 138 || p == 139 || p == 134 || p == 135;
}

void vg__track_dims(const vg_track *t, uint16_t *w, uint16_t *h)
{
    *w = t->width;
    *h = t->height;
    if (*w && *h)
        return;
    uint16_t pw = 0, ph = 0;
    if (t->codec == VG_CODEC_H264 && vg_h264_sps_dims(t->sps, t->sps_len, &pw, &ph) == 0) {
        *w = pw;
        *h = ph;
    } else if (t->codec == VG_CODEC_H265) {
        vg__hevc_ptl p;
        if (vg__hevc_parse_sps(t->sps, t->sps_len, &p) == 0) {
            *w = p.width;
            *h = p.height;
        }
    }
}

/* ---- sample entries ---- */

static void write_avcc(vg__bw *w, const vg_track *t)
{
    size_t box = vg__box_open(w, "avcC");
    vg__w8(w, 1);           /* configurationVersion */
    vg__w8(w, t->sps[1]);   /* AVCProfileIndication = profile_idc */
    vg__w8(w, t->sps[2]);   /* profile_compatibility = constraint flags */
    vg__w8(w, t->sps[3]);   /* AVCLevelIndication */
    vg__w8(w, 0xff);        /* reserved 6 bits + lengthSizeMinusOne = 3 */
    vg__w8(w, 0xe1);        /* reserved 3 bits + numOfSequenceParameterSets = 1 */
    vg__w16(w, t->sps_len);
    vg__wbytes(w, t->sps, t->sps_len);
    vg__w8(w, 1);
    vg__w16(w, t->pps_len);
    vg__wbytes(w, t->pps, t->pps_len);
    uint8_t cf, bl, bc;
    /* 14496-15 §5.3.3.1: High profiles carry chroma/bit-depth fields. */
    if (avc_high_profile(t->sps[1]) && avc_high_fields(t, &cf, &bl, &bc) == 0) {
        vg__w8(w, 0xfc | cf);
        vg__w8(w, 0xf8 | bl);
        vg__w8(w, 0xf8 | bc);
        vg__w8(w, 0); /* numOfSequenceParameterSetExt */
    }
    vg__box_close(w, box);
}

static void hvcc_array(vg__bw *w, uint8_t type, const uint8_t *p, uint16_t n)
{
    vg__w8(w, 0x80 | type); /* array_completeness = 1: no in-band sets needed */
    vg__w16(w, 1);
    vg__w16(w, n);
    vg__wbytes(w, p, n);
}

static void write_hvcc(vg__bw *w, const vg_track *t)
{
    vg__hevc_ptl p;
    if (vg__hevc_parse_sps(t->sps, t->sps_len, &p)) {
        w->rc = w->rc ? w->rc : VG_EINVAL;
        return;
    }
    size_t box = vg__box_open(w, "hvcC");
    vg__w8(w, 1);
    vg__wbytes(w, p.ptl, 12); /* profile_space..constraint flags..level_idc */
    vg__w16(w, 0xf000);       /* min_spatial_segmentation_idc = 0 */
    vg__w8(w, 0xfc);          /* parallelismType = 0 (unknown) */
    vg__w8(w, 0xfc | p.chroma_format_idc);
    vg__w8(w, 0xf8 | p.bit_depth_luma_minus8);
    vg__w8(w, 0xf8 | p.bit_depth_chroma_minus8);
    vg__w16(w, 0); /* avgFrameRate unknown */
    /* constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3 */
    vg__w8(w, (uint8_t)(((p.max_sub_layers_minus1 + 1u) & 7u) << 3 |
                        (unsigned)p.temporal_id_nesting << 2 | 3u));
    vg__w8(w, 3);
    hvcc_array(w, 32, t->vps, t->vps_len);
    hvcc_array(w, 33, t->sps, t->sps_len);
    hvcc_array(w, 34, t->pps, t->pps_len);
    vg__box_close(w, box);
}

static void write_visual_entry(vg__bw *w, const vg_track *t)
{
    uint16_t wd, ht;
    vg__track_dims(t, &wd, &ht);
    size_t box = vg__box_open(w, t->codec == VG_CODEC_H264 ? "avc1" : "hvc1");
    vg__wzero(w, 6);
    vg__w16(w, 1);  /* data_reference_index */
    vg__wzero(w, 16); /* pre_defined, reserved, pre_defined[3] */
    vg__w16(w, wd);
    vg__w16(w, ht);
    vg__w32(w, 0x00480000); /* 72 dpi */
    vg__w32(w, 0x00480000);
    vg__w32(w, 0);
    vg__w16(w, 1);          /* frame_count */
    vg__wzero(w, 32);       /* compressorname */
    vg__w16(w, 0x0018);     /* depth */
    vg__w16(w, 0xffff);     /* pre_defined = -1 */
    if (t->codec == VG_CODEC_H264)
        write_avcc(w, t);
    else
        write_hvcc(w, t);
    vg__box_close(w, box);
}

/* MPEG-4 descriptor header with a one-byte length (all ours are < 128). */
static void desc(vg__bw *w, uint8_t tag, size_t len)
{
    vg__w8(w, tag);
    vg__w8(w, (uint8_t)len);
}

static void write_audio_entry(vg__bw *w, const vg_track *t, uint32_t timescale)
{
    uint32_t rate = t->sample_rate ? t->sample_rate : timescale;
    size_t box = vg__box_open(w, "mp4a");
    vg__wzero(w, 6);
    vg__w16(w, 1);
    vg__wzero(w, 8);
    vg__w16(w, t->channels ? t->channels : 2);
    vg__w16(w, 16);         /* samplesize */
    vg__w32(w, 0);          /* pre_defined, reserved */
    vg__w32(w, rate <= 0xffff ? rate << 16 : 0);
    size_t esds = vg__fullbox_open(w, "esds", 0, 0);
    size_t asc = t->asc_len;
    desc(w, 0x03, 3 + 2 + 13 + 2 + asc + 3); /* ES_Descriptor */
    vg__w16(w, 0);                            /* ES_ID */
    vg__w8(w, 0);                             /* no dependence/URL/OCR */
    desc(w, 0x04, 13 + 2 + asc);              /* DecoderConfigDescriptor */
    vg__w8(w, 0x40);                          /* objectTypeIndication: MPEG-4 audio */
    vg__w8(w, 0x15);                          /* streamType audio(5) << 2 | 1 */
    vg__wzero(w, 3 + 4 + 4);                  /* bufferSizeDB, maxBitrate, avgBitrate */
    desc(w, 0x05, asc);                       /* DecoderSpecificInfo */
    vg__wbytes(w, t->asc, asc);
    desc(w, 0x06, 1);                         /* SLConfigDescriptor: predefined 2 */
    vg__w8(w, 0x02);
    vg__box_close(w, esds);
    vg__box_close(w, box);
}

static int track_valid(const vg_track *t)
{
    switch (t->codec) {
    case VG_CODEC_H264:
        return t->kind == VG_TRACK_VIDEO && t->sps_len >= 4 && t->pps_len >= 1 &&
               t->sps_len <= VG_PS_MAX && t->pps_len <= VG_PS_MAX;
    case VG_CODEC_H265:
        return t->kind == VG_TRACK_VIDEO && t->sps_len >= 3 && t->pps_len >= 1 &&
               t->vps_len >= 1 && t->sps_len <= VG_PS_MAX && t->pps_len <= VG_PS_MAX &&
               t->vps_len <= VG_PS_MAX;
    case VG_CODEC_AAC:
        return t->kind == VG_TRACK_AUDIO && t->asc_len >= 2 && t->asc_len <= sizeof t->asc;
    default:
        return 0;
    }
}

/* ---- moov pieces shared with the progressive writer ---- */

static const uint32_t unity_matrix[9] = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};

static void write_matrix(vg__bw *w)
{
    for (int i = 0; i < 9; i++)
        vg__w32(w, unity_matrix[i]);
}

void vg__write_mvhd(vg__bw *w, uint64_t duration_ms, uint32_t next_track_id)
{
    size_t box = vg__fullbox_open(w, "mvhd", 1, 0);
    vg__w64(w, 0);          /* creation_time */
    vg__w64(w, 0);          /* modification_time */
    vg__w32(w, 1000);       /* timescale */
    vg__w64(w, duration_ms);
    vg__w32(w, 0x00010000); /* rate 1.0 */
    vg__w16(w, 0x0100);     /* volume 1.0 */
    vg__wzero(w, 10);
    write_matrix(w);
    vg__wzero(w, 24);       /* pre_defined */
    vg__w32(w, next_track_id);
    vg__box_close(w, box);
}

static void write_tkhd(vg__bw *w, const vg_track *t, uint32_t id, uint64_t duration_ms)
{
    uint16_t wd = 0, ht = 0;
    if (t->kind == VG_TRACK_VIDEO)
        vg__track_dims(t, &wd, &ht);
    size_t box = vg__fullbox_open(w, "tkhd", 1, 3); /* enabled | in_movie */
    vg__w64(w, 0);
    vg__w64(w, 0);
    vg__w32(w, id);
    vg__w32(w, 0);
    vg__w64(w, duration_ms);
    vg__wzero(w, 8);
    vg__w16(w, 0);  /* layer */
    vg__w16(w, t->kind == VG_TRACK_AUDIO ? 1 : 0); /* alternate_group */
    vg__w16(w, t->kind == VG_TRACK_AUDIO ? 0x0100 : 0);
    vg__w16(w, 0);
    write_matrix(w);
    vg__w32(w, (uint32_t)wd << 16);
    vg__w32(w, (uint32_t)ht << 16);
    vg__box_close(w, box);
}

static void write_empty_tables(vg__bw *w)
{
    static const char *const names[] = {"stts", "stsc", "stsz", "stco"};
    for (int i = 0; i < 4; i++) {
        size_t b = vg__fullbox_open(w, names[i], 0, 0);
        if (i == 2)
            vg__w32(w, 0); /* stsz: sample_size, then sample_count */
        vg__w32(w, 0);
        vg__box_close(w, b);
    }
}

static void write_minf(vg__bw *w, const vg_track *t, uint32_t timescale, vg__stbl_fn tables,
                       void *arg)
{
    size_t minf = vg__box_open(w, "minf");
    if (t->kind == VG_TRACK_VIDEO) {
        size_t b = vg__fullbox_open(w, "vmhd", 0, 1);
        vg__wzero(w, 8); /* graphicsmode, opcolor */
        vg__box_close(w, b);
    } else {
        size_t b = vg__fullbox_open(w, "smhd", 0, 0);
        vg__w32(w, 0);
        vg__box_close(w, b);
    }
    size_t dinf = vg__box_open(w, "dinf");
    size_t dref = vg__fullbox_open(w, "dref", 0, 0);
    vg__w32(w, 1);
    vg__box_close(w, vg__fullbox_open(w, "url ", 0, 1)); /* media in this file */
    vg__box_close(w, dref);
    vg__box_close(w, dinf);
    size_t stbl = vg__box_open(w, "stbl");
    size_t stsd = vg__fullbox_open(w, "stsd", 0, 0);
    vg__w32(w, 1);
    if (t->kind == VG_TRACK_VIDEO)
        write_visual_entry(w, t);
    else
        write_audio_entry(w, t, timescale);
    vg__box_close(w, stsd);
    if (tables)
        tables(w, arg);
    else
        write_empty_tables(w);
    vg__box_close(w, stbl);
    vg__box_close(w, minf);
}

void vg__write_trak(vg__bw *w, const vg_track *t, uint32_t track_id, uint32_t timescale,
                    uint64_t duration_ms, uint64_t duration, vg__stbl_fn tables, void *arg)
{
    if (w->rc == 0 && !track_valid(t))
        w->rc = VG_EINVAL;
    size_t trak = vg__box_open(w, "trak");
    write_tkhd(w, t, track_id, duration_ms);
    size_t mdia = vg__box_open(w, "mdia");
    size_t mdhd = vg__fullbox_open(w, "mdhd", 1, 0);
    vg__w64(w, 0);
    vg__w64(w, 0);
    vg__w32(w, timescale);
    vg__w64(w, duration);
    vg__w16(w, 0x55c4); /* ISO-639-2/T "und", packed 5 bits per letter */
    vg__w16(w, 0);
    vg__box_close(w, mdhd);
    size_t hdlr = vg__fullbox_open(w, "hdlr", 0, 0);
    vg__w32(w, 0);
    vg__wbytes(w, t->kind == VG_TRACK_VIDEO ? "vide" : "soun", 4);
    vg__wzero(w, 12);
    const char *name = t->kind == VG_TRACK_VIDEO ? "VideoHandler" : "SoundHandler";
    vg__wbytes(w, name, strlen(name) + 1);
    vg__box_close(w, hdlr);
    write_minf(w, t, timescale, tables, arg);
    vg__box_close(w, mdia);
    vg__box_close(w, trak);
}

/* ---- init segment ---- */

static uint32_t frag_timescale(const vg_track *t)
{
    if (t->kind == VG_TRACK_VIDEO)
        return 90000;
    if (t->sample_rate)
        return t->sample_rate;
    return t->clock_rate ? t->clock_rate : 48000;
}

int vg_fmp4_init_segment(vg_buf *out, const vg_track *tracks, unsigned ntracks)
{
    if (!out || !tracks || ntracks == 0 || ntracks > VG_MAX_TRACKS)
        return VG_EINVAL;
    size_t start_len = out->len;
    vg__bw w = {out, 0};
    size_t ftyp = vg__box_open(&w, "ftyp");
    vg__wbytes(&w, "iso6", 4);
    vg__w32(&w, 0);
    vg__wbytes(&w, "iso6isommp41dash", 16);
    vg__box_close(&w, ftyp);
    size_t moov = vg__box_open(&w, "moov");
    vg__write_mvhd(&w, 0, ntracks + 1);
    for (unsigned i = 0; i < ntracks; i++)
        vg__write_trak(&w, &tracks[i], i + 1, frag_timescale(&tracks[i]), 0, 0, NULL, NULL);
    size_t mvex = vg__box_open(&w, "mvex");
    for (unsigned i = 0; i < ntracks; i++) {
        size_t trex = vg__fullbox_open(&w, "trex", 0, 0);
        vg__w32(&w, i + 1);
        vg__w32(&w, 1); /* default_sample_description_index */
        vg__wzero(&w, 12);
        vg__box_close(&w, trex);
    }
    vg__box_close(&w, mvex);
    vg__box_close(&w, moov);
    if (w.rc)
        out->len = start_len;
    return w.rc;
}

/* ---- fragments ---- */

/* 14496-12 §8.8.3.1 sample flags: sample_depends_on (2 bits at 24),
 * sample_is_non_sync_sample (bit 16). */
#define SF_SYNC 0x02000000u
#define SF_NONSYNC 0x01010000u

static void write_trun(vg__bw *w, const vg_fmp4_sample *s, unsigned from, unsigned to,
                       uint32_t data_offset)
{
    int cts = 0;
    for (unsigned i = from; i < to; i++)
        cts |= s[i].cts_offset != 0;
    /* data-offset | duration | size | flags [| cts offsets] */
    uint32_t flags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | (cts ? 0x000800u : 0u);
    size_t b = vg__fullbox_open(w, "trun", cts ? 1 : 0, flags);
    vg__w32(w, to - from);
    vg__w32(w, data_offset);
    for (unsigned i = from; i < to; i++) {
        vg__w32(w, s[i].duration);
        vg__w32(w, s[i].size);
        vg__w32(w, s[i].key ? SF_SYNC : SF_NONSYNC);
        if (cts)
            vg__w32(w, (uint32_t)s[i].cts_offset); /* version 1: signed */
    }
    vg__box_close(w, b);
}

/* Writes the moof. off[i] is sample i's offset within mdat's payload;
 * moof_size is the final moof size (0 on the sizing pass). */
static void write_moof(vg__bw *w, uint32_t seq, const vg_fmp4_sample *s, unsigned n,
                       const uint64_t *off, uint64_t moof_size)
{
    size_t moof = vg__box_open(w, "moof");
    size_t mfhd = vg__fullbox_open(w, "mfhd", 0, 0);
    vg__w32(w, seq);
    vg__box_close(w, mfhd);
    for (unsigned t = 0; t < VG_MAX_TRACKS; t++) {
        unsigned first = n;
        for (unsigned i = 0; i < n && first == n; i++)
            if (s[i].track == t)
                first = i;
        if (first == n)
            continue;
        size_t traf = vg__box_open(w, "traf");
        size_t tfhd = vg__fullbox_open(w, "tfhd", 0, 0x020000); /* default-base-is-moof */
        vg__w32(w, t + 1);
        vg__box_close(w, tfhd);
        size_t tfdt = vg__fullbox_open(w, "tfdt", 1, 0);
        vg__w64(w, (uint64_t)s[first].dts);
        vg__box_close(w, tfdt);
        for (unsigned i = first; i < n;) {
            unsigned j = i + 1;
            while (j < n && s[j].track == t)
                j++;
            write_trun(w, s, i, j, (uint32_t)(moof_size + 8 + off[i]));
            for (i = j; i < n && s[i].track != t; i++)
                ;
        }
        vg__box_close(w, traf);
    }
    vg__box_close(w, moof);
}

static int check_samples(const vg_fmp4_sample *s, unsigned n, uint64_t *off, uint64_t *total)
{
    int64_t last[VG_MAX_TRACKS];
    int seen[VG_MAX_TRACKS] = {0};
    uint64_t o = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned t = s[i].track;
        if (t >= VG_MAX_TRACKS || s[i].dts < 0 || (seen[t] && s[i].dts < last[t]))
            return VG_EINVAL;
        seen[t] = 1;
        last[t] = s[i].dts;
        off[i] = o;
        o += s[i].size;
    }
    *total = o;
    return o > UINT32_MAX - 16 ? VG_ETOOBIG : 0;
}

/* Writes moof + mdat header, and the sample data if with_data. */
static int fragment(vg_buf *out, uint32_t seq, const vg_fmp4_sample *s, unsigned n, int with_data)
{
    if (!out || !s || n == 0 || n > VG_FMP4_MAX_SAMPLES)
        return VG_EINVAL;
    uint64_t *off = malloc(n * sizeof *off);
    if (!off)
        return VG_ENOMEM;
    uint64_t total;
    size_t start = out->len;
    int rc = check_samples(s, n, off, &total);
    if (rc)
        goto out;
    vg__bw w = {out, 0};
    /* Two passes: the moof's size is needed for the trun data offsets and
     * does not depend on their values. */
    write_moof(&w, seq, s, n, off, 0);
    uint64_t moof_size = out->len - start;
    out->len = start;
    write_moof(&w, seq, s, n, off, moof_size);
    vg__w32(&w, (uint32_t)(8 + total));
    vg__wbytes(&w, "mdat", 4);
    for (unsigned i = 0; with_data && i < n; i++) {
        if (s[i].size && !s[i].data && w.rc == 0)
            w.rc = VG_EINVAL;
        vg__wbytes(&w, s[i].data, s[i].size);
    }
    rc = w.rc;
out:
    if (rc)
        out->len = start;
    free(off);
    return rc;
}

int vg_fmp4_fragment(vg_buf *out, uint32_t seq, const vg_fmp4_sample *s, unsigned n)
{
    return fragment(out, seq, s, n, 1);
}

int vg_fmp4_fragment_header(vg_buf *out, uint32_t seq, const vg_fmp4_sample *s, unsigned n)
{
    return fragment(out, seq, s, n, 0);
}

/* ---- RFC 6381 codec strings ---- */

static int hevc_codec_string(const vg_track *t, char *out, size_t n)
{
    vg__hevc_ptl p;
    if (vg__hevc_parse_sps(t->sps, t->sps_len, &p))
        return VG_EINVAL;
    static const char *const space[] = {"", "A", "B", "C"};
    uint32_t compat = vg_rd32(p.ptl + 1), rev = 0;
    for (int i = 0; i < 32; i++) /* ISO/IEC 14496-15 §E.3: reverse bit order */
        rev |= ((compat >> i) & 1u) << (31 - i);
    int k = snprintf(out, n, "hvc1.%s%u.%X.%c%u", space[p.ptl[0] >> 6], p.ptl[0] & 0x1fu, rev,
                     (p.ptl[0] & 0x20) ? 'H' : 'L', p.ptl[11]);
    /* Constraint bytes, trailing zero bytes omitted. */
    int last = 5;
    while (last >= 0 && p.ptl[5 + last] == 0)
        last--;
    for (int i = 0; i <= last && k > 0 && (size_t)k < n; i++)
        k += snprintf(out + k, n - (size_t)k, ".%X", p.ptl[5 + i]);
    return k > 0 && (size_t)k < n ? 0 : VG_ETOOBIG;
}

int vg_fmp4_codec_string(const vg_track *t, char *out, size_t n)
{
    if (!t || !out || n == 0 || !track_valid(t))
        return VG_EINVAL;
    int k;
    if (t->codec == VG_CODEC_H264) {
        k = snprintf(out, n, "avc1.%02x%02x%02x", t->sps[1], t->sps[2], t->sps[3]);
    } else if (t->codec == VG_CODEC_H265) {
        return hevc_codec_string(t, out, n);
    } else {
        unsigned aot = t->asc[0] >> 3; /* 14496-3 §1.6.2.1; 31 escapes to 32 + 6 bits */
        if (aot == 31)
            aot = 32 + (((t->asc[0] & 7u) << 3) | (t->asc[1] >> 5));
        k = snprintf(out, n, "mp4a.40.%u", aot);
    }
    return k > 0 && (size_t)k < n ? 0 : VG_ETOOBIG;
}
