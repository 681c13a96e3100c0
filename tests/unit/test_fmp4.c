/* SPDX-License-Identifier: Apache-2.0 */
/* fMP4 writer (src/media/fmp4.c) against the fMP4 parser (mp4read.c):
 * init and fragment round trips, header/prefix identity, codec strings,
 * parameter-set parsing, malformed input. */
#include "core/err.h"
#include "media/fmp4.h"
#include "media/mp4.h"
#include "media/mp4_int.h"
#include "vg_test.h"

#include <stdlib.h>

/* From x264 (the demo clip, Main@3.0, 640x360) and x265 (Main@2, 320x240). */
static const uint8_t h264_sps[] = {0x67, 0x4d, 0x40, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x28, 0x0f, 0x16, 0x2e, 0x48};
static const uint8_t h264_pps[] = {0x68, 0xeb, 0xcc, 0xb2};
static const uint8_t h265_vps[] = {0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x92, 0x80, 0x90};
static const uint8_t h265_sps[] = {0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x2a, 0x49, 0x32, 0xbc, 0x05, 0xa0, 0x20, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x03, 0x01, 0x41};
static const uint8_t h265_pps[] = {0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40};

static vg_track h264_track(void)
{
    vg_track t;
    memset(&t, 0, sizeof t);
    t.kind = VG_TRACK_VIDEO;
    t.codec = VG_CODEC_H264;
    t.clock_rate = 90000;
    memcpy(t.sps, h264_sps, sizeof h264_sps);
    t.sps_len = sizeof h264_sps;
    memcpy(t.pps, h264_pps, sizeof h264_pps);
    t.pps_len = sizeof h264_pps;
    t.width = 640;
    t.height = 360;
    return t;
}

static vg_track h265_track(void)
{
    vg_track t;
    memset(&t, 0, sizeof t);
    t.kind = VG_TRACK_VIDEO;
    t.codec = VG_CODEC_H265;
    t.clock_rate = 90000;
    memcpy(t.vps, h265_vps, sizeof h265_vps);
    t.vps_len = sizeof h265_vps;
    memcpy(t.sps, h265_sps, sizeof h265_sps);
    t.sps_len = sizeof h265_sps;
    memcpy(t.pps, h265_pps, sizeof h265_pps);
    t.pps_len = sizeof h265_pps;
    return t; /* width/height 0: the writer parses them from the SPS */
}

static vg_track aac_track(void)
{
    vg_track t;
    memset(&t, 0, sizeof t);
    t.kind = VG_TRACK_AUDIO;
    t.codec = VG_CODEC_AAC;
    t.clock_rate = 44100;
    t.sample_rate = 44100;
    t.channels = 2;
    t.asc[0] = 0x12; /* AAC-LC, 44.1 kHz, stereo */
    t.asc[1] = 0x10;
    t.asc_len = 2;
    return t;
}

static void t_init_roundtrip(void)
{
    vg_track in[3] = {h264_track(), aac_track(), h265_track()}, out[VG_MAX_TRACKS];
    uint32_t ts[VG_MAX_TRACKS];
    unsigned n = 0;
    vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ(vg_fmp4_init_segment(&b, in, 3), 0);
    CHECK(b.len > 100);
    CHECK_MEM(b.data + 4, "ftypiso6", 8);
    CHECK_EQ(vg_fmp4_parse_init(b.data, b.len, out, &n, ts), 0);
    CHECK_EQ(n, 3);
    CHECK_EQ(ts[0], 90000);
    CHECK_EQ(ts[1], 44100);
    CHECK_EQ(ts[2], 90000);
    CHECK_EQ(out[0].codec, VG_CODEC_H264);
    CHECK_EQ(out[0].sps_len, sizeof h264_sps);
    CHECK_MEM(out[0].sps, h264_sps, sizeof h264_sps);
    CHECK_EQ(out[0].pps_len, sizeof h264_pps);
    CHECK_MEM(out[0].pps, h264_pps, sizeof h264_pps);
    CHECK_EQ(out[0].width, 640);
    CHECK_EQ(out[0].height, 360);
    CHECK_EQ(out[0].clock_rate, 90000);
    CHECK_EQ(out[1].codec, VG_CODEC_AAC);
    CHECK_EQ(out[1].kind, VG_TRACK_AUDIO);
    CHECK_EQ(out[1].asc_len, 2);
    CHECK_MEM(out[1].asc, in[1].asc, 2);
    CHECK_EQ(out[1].sample_rate, 44100);
    CHECK_EQ(out[1].channels, 2);
    CHECK_EQ(out[2].codec, VG_CODEC_H265);
    CHECK_EQ(out[2].vps_len, sizeof h265_vps);
    CHECK_MEM(out[2].vps, h265_vps, sizeof h265_vps);
    CHECK_MEM(out[2].sps, h265_sps, sizeof h265_sps);
    CHECK_MEM(out[2].pps, h265_pps, sizeof h265_pps);
    CHECK_EQ(out[2].width, 320);
    CHECK_EQ(out[2].height, 240);
    /* Every truncation of a valid init fails cleanly. */
    for (size_t k = 0; k < b.len; k++)
        CHECK(vg_fmp4_parse_init(b.data, k, out, &n, ts) != 0);
    vg_buf_free(&b);
}

static void t_init_errors(void)
{
    vg_track t = h264_track(), out[VG_MAX_TRACKS];
    uint32_t ts[VG_MAX_TRACKS];
    unsigned n;
    vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ(vg_fmp4_init_segment(&b, &t, 0), VG_EINVAL);
    CHECK_EQ(vg_fmp4_init_segment(&b, &t, VG_MAX_TRACKS + 1), VG_EINVAL);
    t.sps_len = 0;
    CHECK_EQ(vg_fmp4_init_segment(&b, &t, 1), VG_EINVAL);
    CHECK_EQ(b.len, 0);
    t = h265_track();
    t.sps[2] = 0; /* mangle the HEVC SPS's sub-layer field: still parses? must not crash */
    t.sps_len = 5;
    CHECK(vg_fmp4_init_segment(&b, &t, 1) != 0);
    CHECK_EQ(b.len, 0);
    t = aac_track();
    t.kind = VG_TRACK_VIDEO;
    CHECK_EQ(vg_fmp4_init_segment(&b, &t, 1), VG_EINVAL);
    vg_buf_free(&b);
    /* A buffer too small for the init. */
    vg_buf_init(&b, 64);
    t = h264_track();
    CHECK_EQ(vg_fmp4_init_segment(&b, &t, 1), VG_ETOOBIG);
    CHECK_EQ(b.len, 0);
    vg_buf_free(&b);
    CHECK_EQ(vg_fmp4_parse_init((const uint8_t *)"", 0, out, &n, ts), VG_EINVAL);
    static const uint8_t junk[16] = {0, 0, 0, 16, 'm', 'o', 'o', 'v', 0, 0, 0, 8, 'f', 'r', 'e', 'e'};
    CHECK(vg_fmp4_parse_init(junk, sizeof junk, out, &n, ts) != 0);
}

typedef struct got {
    vg_fmp4_sample s[64];
    uint8_t data[64][32];
    unsigned n;
    int stop_at;
} got;

static int collect(void *arg, const vg_fmp4_sample *s)
{
    got *g = arg;
    if (g->n >= 64)
        return VG_ETOOBIG;
    g->s[g->n] = *s;
    memcpy(g->data[g->n], s->data, s->size < 32 ? s->size : 32);
    g->n++;
    return g->stop_at && (int)g->n == g->stop_at ? 42 : 0;
}

/* Video samples 0,1,2 interleaved with audio 0,1; track 0 grouped first. */
static unsigned make_samples(vg_fmp4_sample *s, uint8_t bufs[][16], int interleave)
{
    static const unsigned order_grouped[5] = {0, 0, 0, 1, 1};
    static const unsigned order_inter[5] = {0, 1, 0, 1, 0};
    const unsigned *ord = interleave ? order_inter : order_grouped;
    unsigned v = 0, a = 0;
    for (unsigned i = 0; i < 5; i++) {
        unsigned tr = ord[i];
        unsigned k = tr == 0 ? v++ : a++;
        memset(bufs[i], (int)(0x10 * tr + k + 1), 16);
        s[i] = (vg_fmp4_sample){.track = tr,
                                .dts = tr == 0 ? 1000000000000LL + 4500 * k : 44100LL * 5 + 1024 * k,
                                .duration = tr == 0 ? 4500 : 1024,
                                .cts_offset = tr == 0 && k == 1 ? 9000 : 0,
                                .key = tr == 1 || k == 0,
                                .data = bufs[i],
                                .size = 8 + i};
    }
    return 5;
}

static void check_frag(int interleave)
{
    vg_fmp4_sample s[5];
    uint8_t bufs[5][16];
    unsigned n = make_samples(s, bufs, interleave);
    vg_buf b, h;
    vg_buf_init(&b, 1 << 20);
    vg_buf_init(&h, 1 << 20);
    CHECK_EQ(vg_fmp4_fragment(&b, 7, s, n), 0);
    CHECK_EQ(vg_fmp4_fragment_header(&h, 7, s, n), 0);
    size_t data = 0;
    for (unsigned i = 0; i < n; i++)
        data += s[i].size;
    CHECK_EQ(h.len + data, b.len);
    CHECK_MEM(h.data, b.data, h.len);
    CHECK_MEM(h.data + h.len - 4, "mdat", 4);
    CHECK_EQ(vg_rd32(h.data + h.len - 8), 8 + data);
    got g = {0};
    CHECK_EQ(vg_fmp4_parse_fragment(b.data, b.len, collect, &g), 0);
    CHECK_EQ(g.n, n);
    /* The parser reports trafs in track order; match each input sample. */
    for (unsigned i = 0; i < n; i++) {
        int found = 0;
        for (unsigned j = 0; j < g.n; j++) {
            if (g.s[j].track != s[i].track || g.s[j].dts != s[i].dts)
                continue;
            found = 1;
            CHECK_EQ(g.s[j].duration, s[i].duration);
            CHECK_EQ(g.s[j].size, s[i].size);
            CHECK_EQ(g.s[j].cts_offset, s[i].cts_offset);
            CHECK_EQ(!!g.s[j].key, !!s[i].key);
            CHECK_MEM(g.data[j], s[i].data, s[i].size);
        }
        CHECK(found);
    }
    /* Callback stop value is returned. */
    got g2 = {.stop_at = 2};
    CHECK_EQ(vg_fmp4_parse_fragment(b.data, b.len, collect, &g2), 42);
    CHECK_EQ(g2.n, 2);
    /* Truncations: an error or fewer samples, never a read out of bounds. */
    for (size_t k = 0; k < b.len; k++) {
        got g3 = {0};
        int rc = vg_fmp4_parse_fragment(b.data, k, collect, &g3);
        CHECK(rc != 0 || g3.n < n);
    }
    vg_buf_free(&b);
    vg_buf_free(&h);
}

static void t_fragment_grouped(void) { check_frag(0); }
static void t_fragment_interleaved(void) { check_frag(1); }

static void t_fragment_errors(void)
{
    vg_fmp4_sample s[5];
    uint8_t bufs[5][16];
    make_samples(s, bufs, 0);
    vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ(vg_fmp4_fragment(&b, 1, s, 0), VG_EINVAL);
    vg_fmp4_sample bad = s[0];
    bad.track = VG_MAX_TRACKS;
    CHECK_EQ(vg_fmp4_fragment(&b, 1, &bad, 1), VG_EINVAL);
    bad = s[0];
    bad.dts = -1;
    CHECK_EQ(vg_fmp4_fragment(&b, 1, &bad, 1), VG_EINVAL);
    vg_fmp4_sample back[2] = {s[1], s[0]}; /* decode order broken */
    CHECK_EQ(vg_fmp4_fragment(&b, 1, back, 2), VG_EINVAL);
    bad = s[0];
    bad.data = NULL;
    CHECK_EQ(vg_fmp4_fragment(&b, 1, &bad, 1), VG_EINVAL);
    CHECK_EQ(vg_fmp4_fragment_header(&b, 1, &bad, 1), 0); /* data unused */
    CHECK(b.len > 0);
    vg_buf_free(&b);
    vg_buf_init(&b, 40);
    CHECK_EQ(vg_fmp4_fragment(&b, 1, s, 5), VG_ETOOBIG);
    CHECK_EQ(b.len, 0);
    vg_buf_free(&b);
    got g = {0};
    CHECK_EQ(vg_fmp4_parse_fragment((const uint8_t *)"", 0, collect, &g), VG_EINVAL);
    static const uint8_t nomoof[8] = {0, 0, 0, 8, 'm', 'd', 'a', 't'};
    CHECK_EQ(vg_fmp4_parse_fragment(nomoof, 8, collect, &g), VG_EINVAL);
}

/* A hand-made fragment: tfhd defaults, no tfdt, trun without data offset,
 * base from the moof, huge sample count with no per-sample fields. */
static void t_fragment_hostile(void)
{
    uint8_t f[] = {
        0, 0, 0, 60, 'm', 'o', 'o', 'f',
        0, 0, 0, 52, 't', 'r', 'a', 'f',
        0, 0, 0, 28, 't', 'f', 'h', 'd', 0, 0x02, 0, 0x38, 0, 0, 0, 1,
        0, 0, 0, 10, 0, 0, 0, 1, 0, 0x01, 0, 0, /* dur 10, size 1, non-sync */
        0, 0, 0, 16, 't', 'r', 'u', 'n', 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
        0, 0, 0, 9, 'm', 'd', 'a', 't', 0xab,
    };
    got g = {0};
    CHECK_EQ(vg_fmp4_parse_fragment(f, sizeof f, collect, &g), VG_EINVAL);
    f[59] = 2; /* sample count 2 with sizes 1: samples are the moof's first bytes */
    f[56] = f[57] = f[58] = 0;
    g.n = 0;
    CHECK_EQ(vg_fmp4_parse_fragment(f, sizeof f, collect, &g), 0);
    CHECK_EQ(g.n, 2);
    CHECK_EQ(g.s[1].dts, 10);
    CHECK_EQ(g.s[0].key, 0);
    f[31] = 9; /* track id beyond VG_MAX_TRACKS */
    CHECK_EQ(vg_fmp4_parse_fragment(f, sizeof f, collect, &g), VG_EINVAL);
}

static void t_codec_strings(void)
{
    char s[64];
    vg_track t = h264_track();
    CHECK_EQ(vg_fmp4_codec_string(&t, s, sizeof s), 0);
    CHECK(strcmp(s, "avc1.4d401e") == 0);
    t = h265_track();
    CHECK_EQ(vg_fmp4_codec_string(&t, s, sizeof s), 0);
    CHECK(strcmp(s, "hvc1.1.6.L60.90") == 0);
    t = aac_track();
    CHECK_EQ(vg_fmp4_codec_string(&t, s, sizeof s), 0);
    CHECK(strcmp(s, "mp4a.40.2") == 0);
    CHECK_EQ(vg_fmp4_codec_string(&t, s, 5), VG_ETOOBIG);
    t.asc_len = 0;
    CHECK_EQ(vg_fmp4_codec_string(&t, s, sizeof s), VG_EINVAL);
}

static void t_hevc_sps(void)
{
    vg__hevc_ptl p;
    CHECK_EQ(vg__hevc_parse_sps(h265_sps, sizeof h265_sps, &p), 0);
    CHECK_EQ(p.width, 320);
    CHECK_EQ(p.height, 240);
    CHECK_EQ(p.chroma_format_idc, 1);
    CHECK_EQ(p.ptl[0], 1);    /* Main */
    CHECK_EQ(p.ptl[11], 60);  /* level 2 */
    for (size_t k = 0; k < sizeof h265_sps; k++)
        CHECK(vg__hevc_parse_sps(h265_sps, k, &p) != 0 || k > 20);
}

int main(void)
{
    RUN(t_init_roundtrip);
    RUN(t_init_errors);
    RUN(t_fragment_grouped);
    RUN(t_fragment_interleaved);
    RUN(t_fragment_errors);
    RUN(t_fragment_hostile);
    RUN(t_codec_strings);
    RUN(t_hevc_sps);
    return vg_test_done();
}
