/* SPDX-License-Identifier: Apache-2.0 */
/* MP4 reader (ISO/IEC 14496-12/-14/-15): progressive files with a sample
 * table (the demo clip, test files) and fragmented MP4 init segments and
 * moof+mdat fragments (export re-reads what the recorder wrote).
 *
 * This parses untrusted bytes (a user's file, a fuzzer). Invariants:
 *  1. Every box is bounded by its parent: a size smaller than its header or
 *     larger than what is left of the parent is an error; size 0 runs to the
 *     end of the parent; size 1 takes the 64-bit largesize.
 *  2. No allocation is sized by a count field alone: table entry counts are
 *     checked against their box's length, and the sample count against
 *     VG_MP4_MAX_SAMPLES and against the file length (a sample of constant
 *     size must fit in the file).
 *  3. Every sample's byte range [offset, offset+size) lies inside the buffer
 *     handed to us, checked at open / before each callback.
 *  4. Loops over counts are bounded by the sample count or a box length, so
 *     a hostile count cannot make a tiny input spin.
 */
#include "media/mp4.h"
#include "core/err.h"
#include "media/mp4_int.h"
#include "rtsp/depack.h"

#include <stdlib.h>
#include <string.h>

typedef struct box {
    const uint8_t *start; /* the box header */
    char type[4];
    const uint8_t *p; /* body (after the header) */
    size_t n;
} box;

typedef struct mtrack {
    vg_track t;
    uint32_t timescale;
    uint32_t id;
    unsigned nal_len;    /* NAL length-prefix size of video samples: 1, 2 or 4 */
    vg_mp4_sample *s;    /* owned */
    size_t ns;
} mtrack;

struct vg_mp4 {
    mtrack tr[VG_MAX_TRACKS];
    unsigned n;
};

/* ---- boxes ---- */

/* Next box in [*p, *p + *n). 1: got one, 0: end, VG_EINVAL: malformed. */
static int next_box(const uint8_t **p, size_t *n, box *b)
{
    if (*n == 0)
        return 0;
    if (*n < 8)
        return VG_EINVAL;
    uint64_t size = vg_rd32(*p);
    size_t hdr = 8;
    if (size == 1) {
        if (*n < 16)
            return VG_EINVAL;
        size = vg_rd64(*p + 8);
        hdr = 16;
    } else if (size == 0) {
        size = *n;
    }
    if (size < hdr || size > *n)
        return VG_EINVAL;
    b->start = *p;
    memcpy(b->type, *p + 4, 4);
    b->p = *p + hdr;
    b->n = (size_t)size - hdr;
    *p += size;
    *n -= (size_t)size;
    return 1;
}

static int is(const box *b, const char *t) { return memcmp(b->type, t, 4) == 0; }

/* First child of type t within [p, p+n). 0 found, VG_ENOTFOUND, VG_EINVAL. */
static int find(const uint8_t *p, size_t n, const char *t, box *out)
{
    int r;
    while ((r = next_box(&p, &n, out)) == 1)
        if (is(out, t))
            return 0;
    return r < 0 ? r : VG_ENOTFOUND;
}

static int find_in(const box *parent, const char *t, box *out)
{
    return find(parent->p, parent->n, t, out);
}

/* ---- sample entries ---- */

static int copy_ps(uint8_t *dst, uint16_t *dlen, const uint8_t *src, size_t n, size_t min)
{
    if (n < min || n > VG_PS_MAX)
        return VG_EUNSUPPORTED;
    memcpy(dst, src, n);
    *dlen = (uint16_t)n;
    return 0;
}

/* 14496-15 §5.3.3.1 AVCDecoderConfigurationRecord. */
static int parse_avcc(const box *b, mtrack *m)
{
    const uint8_t *p = b->p;
    size_t n = b->n;
    if (n < 7 || p[0] != 1)
        return VG_EUNSUPPORTED;
    m->nal_len = (p[4] & 3u) + 1;
    unsigned nsps = p[5] & 0x1fu;
    size_t o = 6;
    for (unsigned i = 0; i < nsps; i++) {
        if (o + 2 > n || o + 2 + vg_rd16(p + o) > n)
            return VG_EINVAL;
        size_t l = vg_rd16(p + o);
        if (i == 0 && copy_ps(m->t.sps, &m->t.sps_len, p + o + 2, l, 4))
            return VG_EUNSUPPORTED;
        o += 2 + l;
    }
    if (o >= n)
        return VG_EINVAL;
    unsigned npps = p[o++];
    for (unsigned i = 0; i < npps; i++) {
        if (o + 2 > n || o + 2 + vg_rd16(p + o) > n)
            return VG_EINVAL;
        size_t l = vg_rd16(p + o);
        if (i == 0 && copy_ps(m->t.pps, &m->t.pps_len, p + o + 2, l, 1))
            return VG_EUNSUPPORTED;
        o += 2 + l;
    }
    return m->t.sps_len && m->t.pps_len ? 0 : VG_EUNSUPPORTED;
}

/* 14496-15 §8.3.3.1 HEVCDecoderConfigurationRecord: first VPS/SPS/PPS. */
static int parse_hvcc(const box *b, mtrack *m)
{
    const uint8_t *p = b->p;
    size_t n = b->n;
    if (n < 23 || p[0] != 1)
        return VG_EUNSUPPORTED;
    m->nal_len = (p[21] & 3u) + 1;
    unsigned narr = p[22];
    size_t o = 23;
    for (unsigned a = 0; a < narr; a++) {
        if (o + 3 > n)
            return VG_EINVAL;
        unsigned type = p[o] & 0x3fu, cnt = vg_rd16(p + o + 1);
        o += 3;
        for (unsigned i = 0; i < cnt; i++) {
            if (o + 2 > n || o + 2 + vg_rd16(p + o) > n)
                return VG_EINVAL;
            size_t l = vg_rd16(p + o);
            const uint8_t *d = p + o + 2;
            int r = 0;
            if (type == 32 && !m->t.vps_len)
                r = copy_ps(m->t.vps, &m->t.vps_len, d, l, 1);
            else if (type == 33 && !m->t.sps_len)
                r = copy_ps(m->t.sps, &m->t.sps_len, d, l, 3);
            else if (type == 34 && !m->t.pps_len)
                r = copy_ps(m->t.pps, &m->t.pps_len, d, l, 1);
            if (r)
                return r;
            o += 2 + l;
        }
    }
    return m->t.vps_len && m->t.sps_len && m->t.pps_len ? 0 : VG_EUNSUPPORTED;
}

static int parse_video_entry(const box *e, mtrack *m)
{
    if (e->n < 78)
        return VG_EINVAL;
    int hevc = is(e, "hvc1") || is(e, "hev1");
    m->t.kind = VG_TRACK_VIDEO;
    m->t.codec = hevc ? VG_CODEC_H265 : VG_CODEC_H264;
    uint16_t ew = vg_rd16(e->p + 24), eh = vg_rd16(e->p + 26);
    box c;
    int r = find(e->p + 78, e->n - 78, hevc ? "hvcC" : "avcC", &c);
    if (r)
        return r == VG_ENOTFOUND ? VG_EUNSUPPORTED : r;
    r = hevc ? parse_hvcc(&c, m) : parse_avcc(&c, m);
    if (r)
        return r;
    if (m->nal_len == 3)
        return VG_EUNSUPPORTED;
    uint16_t w = 0, h = 0;
    int dr = hevc ? VG_EUNSUPPORTED : vg_h264_sps_dims(m->t.sps, m->t.sps_len, &w, &h);
    if (hevc) {
        vg__hevc_ptl ptl;
        if (vg__hevc_parse_sps(m->t.sps, m->t.sps_len, &ptl) == 0) {
            w = ptl.width;
            h = ptl.height;
            dr = 0;
        }
    }
    m->t.width = dr == 0 && w ? w : ew;
    m->t.height = dr == 0 && h ? h : eh;
    return 0;
}

/* MPEG-4 descriptor (14496-1 §8.3.3): tag, 1-4 byte length. */
static int next_desc(const uint8_t **p, size_t *n, uint8_t *tag, const uint8_t **body, size_t *blen)
{
    if (*n < 2)
        return VG_EINVAL;
    *tag = (*p)[0];
    size_t len = 0, o = 1;
    for (int i = 0; i < 4; i++) {
        if (o >= *n)
            return VG_EINVAL;
        uint8_t c = (*p)[o++];
        len = len << 7 | (c & 0x7fu);
        if (!(c & 0x80))
            break;
    }
    if (len > *n - o)
        return VG_EINVAL;
    *body = *p + o;
    *blen = len;
    *p += o + len;
    *n -= o + len;
    return 0;
}

/* esds -> ES_Descriptor -> DecoderConfigDescriptor -> DecoderSpecificInfo. */
static int parse_esds(const box *b, mtrack *m)
{
    const uint8_t *p = b->p + 4, *d;
    size_t n, dn;
    uint8_t tag;
    if (b->n < 4)
        return VG_EINVAL;
    n = b->n - 4;
    if (next_desc(&p, &n, &tag, &d, &dn) || tag != 0x03 || dn < 3)
        return VG_EINVAL;
    uint8_t fl = d[2];
    size_t o = 3 + ((fl & 0x80) ? 2 : 0) + ((fl & 0x20) ? 2 : 0);
    if ((fl & 0x40) && o < dn)
        o += 1 + (size_t)d[o];
    if (o > dn)
        return VG_EINVAL;
    p = d + o;
    n = dn - o;
    if (next_desc(&p, &n, &tag, &d, &dn) || tag != 0x04 || dn < 13)
        return VG_EINVAL;
    if (d[0] != 0x40 && d[0] != 0x66 && d[0] != 0x67 && d[0] != 0x68)
        return VG_EUNSUPPORTED; /* not AAC */
    p = d + 13;
    n = dn - 13;
    if (next_desc(&p, &n, &tag, &d, &dn) || tag != 0x05 || dn < 2 || dn > sizeof m->t.asc)
        return VG_EUNSUPPORTED;
    memcpy(m->t.asc, d, dn);
    m->t.asc_len = (uint16_t)dn;
    return 0;
}

/* Sample rate and channels from an AudioSpecificConfig (14496-3 §1.6.2.1). */
static void asc_info(mtrack *m)
{
    static const uint32_t rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                       22050, 16000, 12000, 11025, 8000, 7350};
    const uint8_t *a = m->t.asc;
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v = v << 8 | (i < m->t.asc_len ? a[i] : 0);
    unsigned pos = 5;
    if ((v >> 59) == 31)
        pos += 6;
    unsigned fi = (unsigned)(v >> (60 - pos)) & 15u;
    pos += 4;
    uint32_t rate = 0;
    if (fi == 15) {
        rate = (uint32_t)(v >> (40 - pos)) & 0xffffffu;
        pos += 24;
    } else if (fi < 13) {
        rate = rates[fi];
    }
    unsigned ch = (unsigned)(v >> (60 - pos)) & 15u;
    if (rate)
        m->t.sample_rate = rate;
    if (ch >= 1 && ch <= 6)
        m->t.channels = (uint8_t)ch;
    else if (ch == 7)
        m->t.channels = 8;
}

static int parse_audio_entry(const box *e, mtrack *m)
{
    if (e->n < 28)
        return VG_EINVAL;
    unsigned ver = vg_rd16(e->p + 8);
    size_t skip = 28 + (ver == 1 ? 16 : ver == 2 ? 36 : 0);
    if (skip > e->n)
        return VG_EINVAL;
    m->t.kind = VG_TRACK_AUDIO;
    m->t.codec = VG_CODEC_AAC;
    m->t.channels = (uint8_t)vg_rd16(e->p + 16);
    m->t.sample_rate = vg_rd32(e->p + 24) >> 16;
    box c;
    int r = find(e->p + skip, e->n - skip, "esds", &c);
    if (r)
        return r == VG_ENOTFOUND ? VG_EUNSUPPORTED : r;
    r = parse_esds(&c, m);
    if (r)
        return r;
    asc_info(m);
    return 0;
}

static int parse_stsd(const box *stsd, mtrack *m)
{
    if (stsd->n < 8 || vg_rd32(stsd->p + 4) < 1)
        return VG_EINVAL;
    const uint8_t *p = stsd->p + 8;
    size_t n = stsd->n - 8;
    box e;
    int r = next_box(&p, &n, &e);
    if (r <= 0)
        return VG_EINVAL;
    if (is(&e, "avc1") || is(&e, "avc3") || is(&e, "hvc1") || is(&e, "hev1"))
        return parse_video_entry(&e, m);
    if (is(&e, "mp4a"))
        return parse_audio_entry(&e, m);
    return VG_EUNSUPPORTED;
}

/* ---- sample tables ---- */

typedef struct tables {
    box stts, ctts, stsc, stsz, stco, stss;
    int has_ctts, has_stss, co64, stz2;
} tables;

/* A table box: fullbox header + entry count + count*esz bytes. */
static int table(const box *b, size_t hdr, size_t esz, uint32_t *count)
{
    if (b->n < hdr)
        return VG_EINVAL;
    *count = vg_rd32(b->p + hdr - 4);
    if ((uint64_t)*count * esz > b->n - hdr)
        return VG_EINVAL;
    return 0;
}

static int load_sizes(const tables *tb, size_t file_len, mtrack *m)
{
    const box *b = &tb->stsz;
    uint32_t count, fixed = 0;
    unsigned fs = 32;
    if (b->n < 12)
        return VG_EINVAL;
    count = vg_rd32(b->p + 8);
    if (tb->stz2) {
        fs = b->p[7];
        if (fs != 4 && fs != 8 && fs != 16)
            return VG_EINVAL;
    } else {
        fixed = vg_rd32(b->p + 4);
    }
    if (count > VG_MP4_MAX_SAMPLES)
        return VG_ETOOBIG;
    if (fixed ? count > file_len / fixed : ((uint64_t)count * fs + 7) / 8 > b->n - 12)
        return VG_EINVAL;
    if (count == 0)
        return 0;
    m->s = calloc(count, sizeof *m->s);
    if (!m->s)
        return VG_ENOMEM;
    m->ns = count;
    const uint8_t *e = b->p + 12;
    for (size_t i = 0; i < count; i++) {
        if (fixed)
            m->s[i].size = fixed;
        else if (fs == 32)
            m->s[i].size = vg_rd32(e + 4 * i);
        else if (fs == 16)
            m->s[i].size = vg_rd16(e + 2 * i);
        else if (fs == 8)
            m->s[i].size = e[i];
        else
            m->s[i].size = (e[i / 2] >> ((i & 1) ? 0 : 4)) & 15u;
    }
    return 0;
}

static int load_times(const tables *tb, mtrack *m)
{
    uint32_t ne;
    int r = table(&tb->stts, 8, 8, &ne);
    if (r)
        return r;
    size_t i = 0;
    int64_t dts = 0;
    for (uint32_t e = 0; e < ne && i < m->ns; e++) {
        uint32_t cnt = vg_rd32(tb->stts.p + 8 + 8 * (size_t)e), d = vg_rd32(tb->stts.p + 12 + 8 * (size_t)e);
        for (uint32_t k = 0; k < cnt && i < m->ns; k++, i++) {
            m->s[i].dts = dts;
            m->s[i].duration = d;
            dts += d;
        }
    }
    if (i < m->ns)
        return VG_EINVAL;
    if (tb->has_ctts) {
        if ((r = table(&tb->ctts, 8, 8, &ne)))
            return r;
        i = 0;
        for (uint32_t e = 0; e < ne && i < m->ns; e++) {
            uint32_t cnt = vg_rd32(tb->ctts.p + 8 + 8 * (size_t)e);
            /* Version 0 is nominally unsigned; real files use it signed. */
            int32_t off = (int32_t)vg_rd32(tb->ctts.p + 12 + 8 * (size_t)e);
            for (uint32_t k = 0; k < cnt && i < m->ns; k++)
                m->s[i++].cts_offset = off;
        }
    }
    return 0;
}

static int load_sync(const tables *tb, mtrack *m)
{
    if (!tb->has_stss) {
        for (size_t i = 0; i < m->ns; i++)
            m->s[i].key = 1;
        return 0;
    }
    uint32_t ne;
    int r = table(&tb->stss, 8, 4, &ne);
    if (r)
        return r;
    for (uint32_t e = 0; e < ne; e++) {
        uint32_t k = vg_rd32(tb->stss.p + 8 + 4 * (size_t)e);
        if (k >= 1 && k <= m->ns)
            m->s[k - 1].key = 1;
    }
    return 0;
}

static int load_offsets(const tables *tb, size_t file_len, mtrack *m)
{
    uint32_t nchunks, nsc;
    int r = table(&tb->stco, 8, tb->co64 ? 8 : 4, &nchunks);
    if (r || (r = table(&tb->stsc, 8, 12, &nsc)))
        return r;
    size_t i = 0;
    uint32_t prev_first = 0;
    for (uint32_t e = 0; e < nsc && i < m->ns; e++) {
        const uint8_t *q = tb->stsc.p + 8 + 12 * (size_t)e;
        uint32_t first = vg_rd32(q), spc = vg_rd32(q + 4);
        uint32_t last = e + 1 < nsc ? vg_rd32(q + 12) - 1 : nchunks;
        if (first <= prev_first || first > nchunks + 1u)
            return VG_EINVAL;
        prev_first = first;
        if (last > nchunks)
            last = nchunks;
        for (uint32_t c = first; c <= last && i < m->ns; c++) {
            const uint8_t *co = tb->stco.p + 8 + (size_t)(c - 1) * (tb->co64 ? 8 : 4);
            uint64_t off = tb->co64 ? vg_rd64(co) : vg_rd32(co);
            for (uint32_t k = 0; k < spc && i < m->ns; k++, i++) {
                if (off > file_len || m->s[i].size > file_len - off)
                    return VG_EINVAL; /* sample outside the file */
                m->s[i].offset = off;
                off += m->s[i].size;
            }
        }
    }
    return i == m->ns ? 0 : VG_EINVAL;
}

static int find_tables(const box *stbl, tables *tb)
{
    int r;
    memset(tb, 0, sizeof *tb);
    if ((r = find_in(stbl, "stts", &tb->stts)) || (r = find_in(stbl, "stsc", &tb->stsc)))
        return r == VG_ENOTFOUND ? VG_EINVAL : r;
    r = find_in(stbl, "stsz", &tb->stsz);
    if (r == VG_ENOTFOUND) {
        r = find_in(stbl, "stz2", &tb->stsz);
        tb->stz2 = 1;
    }
    if (r)
        return r == VG_ENOTFOUND ? VG_EINVAL : r;
    r = find_in(stbl, "stco", &tb->stco);
    if (r == VG_ENOTFOUND) {
        r = find_in(stbl, "co64", &tb->stco);
        tb->co64 = 1;
    }
    if (r)
        return r == VG_ENOTFOUND ? VG_EINVAL : r;
    r = find_in(stbl, "ctts", &tb->ctts);
    tb->has_ctts = r == 0;
    if (r && r != VG_ENOTFOUND)
        return r;
    r = find_in(stbl, "stss", &tb->stss);
    tb->has_stss = r == 0;
    return r && r != VG_ENOTFOUND ? r : 0;
}

static int load_samples(const box *stbl, size_t file_len, mtrack *m)
{
    tables tb;
    int r = find_tables(stbl, &tb);
    if (!r)
        r = load_sizes(&tb, file_len, m);
    if (!r && m->ns)
        r = load_times(&tb, m);
    if (!r && m->ns)
        r = load_sync(&tb, m);
    if (!r && m->ns)
        r = load_offsets(&tb, file_len, m);
    return r;
}

/* ---- tracks ---- */

static int parse_header_boxes(const box *trak, const box *mdia, mtrack *m)
{
    box b;
    int r = find_in(trak, "tkhd", &b);
    if (r || b.n < 4)
        return r ? (r == VG_ENOTFOUND ? VG_EINVAL : r) : VG_EINVAL;
    size_t o = b.p[0] == 1 ? 20 : 12;
    if (b.n < o + 4)
        return VG_EINVAL;
    m->id = vg_rd32(b.p + o);
    r = find_in(mdia, "mdhd", &b);
    if (r || b.n < 4)
        return r ? (r == VG_ENOTFOUND ? VG_EINVAL : r) : VG_EINVAL;
    o = b.p[0] == 1 ? 20 : 12;
    if (b.n < o + 4)
        return VG_EINVAL;
    m->timescale = vg_rd32(b.p + o);
    return m->timescale ? 0 : VG_EINVAL;
}

/* One trak into *m. VG_EUNSUPPORTED: skip the track (codec we don't do). */
static int parse_trak(const box *trak, size_t file_len, int samples, mtrack *m)
{
    box mdia, minf, stbl, stsd;
    int r;
    memset(m, 0, sizeof *m);
    if ((r = find_in(trak, "mdia", &mdia)) || (r = find_in(&mdia, "minf", &minf)) ||
        (r = find_in(&minf, "stbl", &stbl)) || (r = find_in(&stbl, "stsd", &stsd)))
        return r == VG_ENOTFOUND ? VG_EUNSUPPORTED : r;
    if ((r = parse_header_boxes(trak, &mdia, m)) || (r = parse_stsd(&stsd, m)))
        return r;
    m->t.clock_rate = m->timescale;
    if (samples)
        r = load_samples(&stbl, file_len, m);
    return r;
}

static void free_tracks(vg_mp4 *m)
{
    for (unsigned i = 0; i < m->n; i++)
        free(m->tr[i].s);
}

/* Walks moov's traks; keeps the supported ones in file order. */
static int parse_moov(const box *moov, size_t file_len, int samples, vg_mp4 *m)
{
    const uint8_t *p = moov->p;
    size_t n = moov->n;
    box b;
    int r;
    while ((r = next_box(&p, &n, &b)) == 1) {
        if (!is(&b, "trak"))
            continue;
        if (m->n == VG_MAX_TRACKS)
            return VG_EUNSUPPORTED;
        r = parse_trak(&b, file_len, samples, &m->tr[m->n]);
        if (r == VG_EUNSUPPORTED) {
            free(m->tr[m->n].s);
            continue;
        }
        m->n++; /* owns tr[].s from here, even on error */
        if (r)
            return r;
    }
    if (r < 0)
        return r;
    return m->n ? 0 : VG_EUNSUPPORTED;
}

/* Top level: a damaged box after moov (a truncated mdat) ends the walk. */
static int find_moov(const uint8_t *buf, size_t len, box *moov)
{
    const uint8_t *p = buf;
    size_t n = len;
    int r;
    while ((r = next_box(&p, &n, moov)) == 1)
        if (is(moov, "moov"))
            return 0;
    return r < 0 ? VG_EINVAL : VG_ENOTFOUND;
}

int vg_mp4_open(const uint8_t *buf, size_t len, vg_mp4 **out)
{
    if (!buf || !out)
        return VG_EINVAL;
    *out = NULL;
    box moov;
    int r = find_moov(buf, len, &moov);
    if (r)
        return r == VG_ENOTFOUND ? VG_EINVAL : r;
    vg_mp4 *m = calloc(1, sizeof *m);
    if (!m)
        return VG_ENOMEM;
    r = parse_moov(&moov, len, 1, m);
    if (r) {
        vg_mp4_free(m);
        return r;
    }
    *out = m;
    return 0;
}

void vg_mp4_free(vg_mp4 *m)
{
    if (!m)
        return;
    free_tracks(m);
    free(m);
}

unsigned vg_mp4_ntracks(const vg_mp4 *m) { return m ? m->n : 0; }

const vg_track *vg_mp4_track(const vg_mp4 *m, unsigned i)
{
    return m && i < m->n ? &m->tr[i].t : NULL;
}

uint32_t vg_mp4_timescale(const vg_mp4 *m, unsigned i)
{
    return m && i < m->n ? m->tr[i].timescale : 0;
}

unsigned vg_mp4_nal_length_size(const vg_mp4 *m, unsigned i)
{
    return m && i < m->n && m->tr[i].t.kind == VG_TRACK_VIDEO ? m->tr[i].nal_len : 0;
}

size_t vg_mp4_nsamples(const vg_mp4 *m, unsigned i) { return m && i < m->n ? m->tr[i].ns : 0; }

int vg_mp4_get_sample(const vg_mp4 *m, unsigned i, size_t k, vg_mp4_sample *out)
{
    if (!m || i >= m->n || k >= m->tr[i].ns || !out)
        return VG_EINVAL;
    *out = m->tr[i].s[k];
    return 0;
}

/* ---- fragmented MP4 ---- */

int vg_fmp4_parse_init(const uint8_t *buf, size_t len, vg_track *tracks, unsigned *ntracks,
                       uint32_t *timescales)
{
    if (!buf || !tracks || !ntracks || !timescales)
        return VG_EINVAL;
    box moov;
    int r = find_moov(buf, len, &moov);
    if (r)
        return r == VG_ENOTFOUND ? VG_EINVAL : r;
    vg_mp4 m;
    memset(&m, 0, sizeof m);
    r = parse_moov(&moov, len, 0, &m);
    if (r)
        return r;
    /* Fragments name tracks by ID; we report them as index = ID - 1. */
    for (unsigned i = 0; i < m.n; i++)
        if (m.tr[i].id != i + 1)
            return VG_EUNSUPPORTED;
    for (unsigned i = 0; i < m.n; i++) {
        tracks[i] = m.tr[i].t;
        timescales[i] = m.tr[i].timescale;
    }
    *ntracks = m.n;
    return 0;
}

typedef struct tfhd {
    uint32_t flags, track_id, dur, size, sflags;
    uint64_t base;
} tfhd;

static int parse_tfhd(const box *b, uint64_t moof_off, uint64_t prev_end, tfhd *h)
{
    if (b->n < 8)
        return VG_EINVAL;
    memset(h, 0, sizeof *h);
    h->flags = vg_rd32(b->p) & 0xffffffu;
    h->track_id = vg_rd32(b->p + 4);
    if (h->track_id == 0 || h->track_id > VG_MAX_TRACKS)
        return VG_EINVAL;
    size_t o = 8;
    static const uint32_t bit[5] = {0x01, 0x02, 0x08, 0x10, 0x20};
    uint64_t v[5] = {0};
    for (int i = 0; i < 5; i++) {
        if (!(h->flags & bit[i]))
            continue;
        size_t w = i == 0 ? 8 : 4;
        if (b->n < o + w)
            return VG_EINVAL;
        v[i] = w == 8 ? vg_rd64(b->p + o) : vg_rd32(b->p + o);
        o += w;
    }
    h->dur = (uint32_t)v[2];
    h->size = (uint32_t)v[3];
    h->sflags = (uint32_t)v[4];
    /* 14496-12 §8.8.7.1: explicit base, else the moof (default-base-is-moof
     * or the first traf), else the end of the previous traf's data. */
    h->base = (h->flags & 1) ? v[0] : (h->flags & 0x020000) ? moof_off : prev_end;
    return 0;
}

typedef struct frag_ctx {
    const uint8_t *buf;
    size_t len;
    vg_fmp4_sample_cb cb;
    void *arg;
    unsigned total;
} frag_ctx;

/* One trun. *pos: data position (in, out); *dts likewise. */
static int parse_trun(frag_ctx *c, const box *b, const tfhd *h, uint64_t *pos, int64_t *dts)
{
    if (b->n < 8)
        return VG_EINVAL;
    unsigned ver = b->p[0];
    uint32_t fl = vg_rd32(b->p) & 0xffffffu, cnt = vg_rd32(b->p + 4);
    size_t o = 8;
    if (fl & 0x1) {
        if (b->n < o + 4)
            return VG_EINVAL;
        *pos = h->base + (uint64_t)(int64_t)(int32_t)vg_rd32(b->p + o);
        o += 4;
    }
    uint32_t first_flags = 0;
    int has_first = (fl & 0x4) != 0;
    if (has_first) {
        if (b->n < o + 4)
            return VG_EINVAL;
        first_flags = vg_rd32(b->p + o);
        o += 4;
    }
    size_t rs = 4u * (((fl >> 8) & 1) + ((fl >> 9) & 1) + ((fl >> 10) & 1) + ((fl >> 11) & 1));
    if ((uint64_t)cnt * rs > b->n - o || cnt > VG_FMP4_MAX_SAMPLES - c->total)
        return VG_EINVAL;
    c->total += cnt;
    for (uint32_t i = 0; i < cnt; i++) {
        vg_fmp4_sample s = {.track = h->track_id - 1, .dts = *dts, .duration = h->dur,
                            .size = h->size};
        uint32_t sf = i == 0 && has_first ? first_flags : h->sflags;
        const uint8_t *q = b->p + o + rs * i;
        if (fl & 0x100)
            s.duration = vg_rd32(q), q += 4;
        if (fl & 0x200)
            s.size = vg_rd32(q), q += 4;
        if (fl & 0x400) {
            uint32_t f = vg_rd32(q);
            q += 4;
            if (!(i == 0 && has_first))
                sf = f;
        }
        if (fl & 0x800) /* version 0 is unsigned; nobody writes > 2^31 */
            s.cts_offset = ver ? (int32_t)vg_rd32(q) : (int32_t)(vg_rd32(q) & 0x7fffffffu);
        s.key = !(sf & 0x10000u); /* sample_is_non_sync_sample */
        if (*pos > c->len || s.size > c->len - *pos)
            return VG_EINVAL;
        s.data = c->buf + *pos;
        *pos += s.size;
        if (*dts > INT64_MAX - s.duration)
            return VG_EINVAL;
        *dts += s.duration;
        int r = c->cb(c->arg, &s);
        if (r)
            return r;
    }
    return 0;
}

static int parse_traf(frag_ctx *c, const box *traf, uint64_t moof_off, uint64_t *prev_end)
{
    box b;
    tfhd h;
    int r = find_in(traf, "tfhd", &b);
    if (r || (r = parse_tfhd(&b, moof_off, *prev_end, &h)))
        return r == VG_ENOTFOUND ? VG_EINVAL : r;
    int64_t dts = 0;
    r = find_in(traf, "tfdt", &b);
    if (r == 0) {
        if (b.n < 8 || (b.p[0] == 1 && b.n < 12))
            return VG_EINVAL;
        uint64_t t = b.p[0] == 1 ? vg_rd64(b.p + 4) : vg_rd32(b.p + 4);
        if (t > INT64_MAX)
            return VG_EINVAL;
        dts = (int64_t)t;
    } else if (r != VG_ENOTFOUND) {
        return r;
    }
    uint64_t pos = h.base;
    const uint8_t *p = traf->p;
    size_t n = traf->n;
    while ((r = next_box(&p, &n, &b)) == 1)
        if (is(&b, "trun") && (r = parse_trun(c, &b, &h, &pos, &dts)))
            return r;
    *prev_end = pos;
    return r;
}

int vg_fmp4_parse_fragment(const uint8_t *buf, size_t len, vg_fmp4_sample_cb cb, void *arg)
{
    if (!buf || !cb)
        return VG_EINVAL;
    box moof, b;
    const uint8_t *p = buf;
    size_t n = len;
    int r;
    while ((r = next_box(&p, &n, &moof)) == 1 && !is(&moof, "moof"))
        ;
    if (r != 1)
        return VG_EINVAL;
    uint64_t moof_off = (uint64_t)(moof.start - buf);
    frag_ctx c = {buf, len, cb, arg, 0};
    uint64_t prev_end = moof_off;
    p = moof.p;
    n = moof.n;
    while ((r = next_box(&p, &n, &b)) == 1)
        if (is(&b, "traf") && (r = parse_traf(&c, &b, moof_off, &prev_end)))
            return r;
    return r;
}
