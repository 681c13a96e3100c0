/* SPDX-License-Identifier: Apache-2.0 */
/* H.265 (RFC 7798: single NAL, AP, FU, DONL rejection) and AAC (RFC 3640
 * AAC-hbr / AAC-lbr, several AUs per packet, fragmented AUs) depacketizing. */
#include "depack_util.h"
#include "vg_test.h"

static const uint8_t sps_b1080[] = {
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x78, 0xa0, 0x03, 0xc0, 0x80, 0x10, 0xe5, 0x96, 0x56, 0x69, 0x24, 0xca, 0xf0, 0x16, 0x80,
    0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x0a, 0x04,
};
static const uint8_t vps265[] = {0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00};
static const uint8_t pps265[] = {0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40};

static sink K;

static vg_depack *mk265(void)
{
    vg_track t = {.kind = VG_TRACK_VIDEO, .codec = VG_CODEC_H265, .clock_rate = 90000};
    vg_depack *d = NULL;
    CHECK_EQ(vg_depack_new(&t, 1, 0, &sink_cbs, &K, &d), 0);
    return d;
}

static void push_all(vg_depack *d, const stream *s)
{
    for (unsigned i = 0; i < s->n; i++)
        vg_depack_push(d, s->p[i].b, s->p[i].len);
}

static void ap(stream *s, uint32_t ts, bool marker, const uint8_t *const *nals, const size_t *lens,
               unsigned n)
{
    uint8_t b[MAXPKT];
    size_t o = 2;
    b[0] = 48 << 1;
    b[1] = 1;
    for (unsigned i = 0; i < n; i++) {
        vg_wr16(b + o, (uint16_t)lens[i]);
        memcpy(b + o + 2, nals[i], lens[i]);
        o += 2 + lens[i];
    }
    rtp(s, ts, marker, b, o, NULL, 0);
}

static void t_h265_ap_fu(void)
{
    vg_depack *d = mk265();
    stream s;
    stream_init(&s, 65530);
    static uint8_t idr[6000], trail[3000];
    uint8_t aud[3] = {35 << 1, 1, 0x50};
    fake_nal(idr, 1, 19, sizeof idr, 1);   /* IDR_W_RADL */
    fake_nal(trail, 1, 1, sizeof trail, 2); /* TRAIL_R */
    const uint8_t *nals[] = {aud, vps265, sps_b1080, pps265};
    const size_t lens[] = {sizeof aud, sizeof vps265, sizeof sps_b1080, sizeof pps265};
    ap(&s, 0, false, nals, lens, 4);
    h265_nal(&s, 0, true, idr, sizeof idr, 1400);
    h265_nal(&s, 3000, false, trail, sizeof trail, 1400); /* two slices, marker on last */
    h265_nal(&s, 3000, true, trail, 100, 1400);
    ap(&s, 6000, false, nals, lens, 4);                   /* same sets: no on_params */
    h265_nal(&s, 6000, true, idr, sizeof idr, 1400);
    push_all(d, &s);
    CHECK_EQ(K.n, 3);
    CHECK_EQ(K.params, 1);
    CHECK_EQ(K.f[0].params_before, 1);
    CHECK_EQ(K.f[0].flags, VG_FRAME_KEY);
    CHECK_EQ(K.f[0].len, 4 + sizeof idr);
    CHECK_MEM(K.f[0].data + 4, idr, sizeof idr);
    CHECK_EQ(K.f[1].flags, 0);
    CHECK_EQ(K.f[1].len, 8 + sizeof trail + 100);
    CHECK_EQ(K.f[1].ts, 3000);
    CHECK_EQ(K.f[2].flags, VG_FRAME_KEY);
    CHECK_EQ(K.last_track.width, 1920);
    CHECK_EQ(K.last_track.height, 1080);
    CHECK_EQ(K.last_track.vps_len, sizeof vps265);
    CHECK_EQ(K.last_track.pps_len, sizeof pps265);
    vg_depack_stats st;
    vg_depack_get_stats(d, &st);
    CHECK_EQ(st.lost, 0);
    CHECK_EQ(st.malformed, 0);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* Loss inside an H.265 FU: drop to the next IRAP (CRA here), with DISCONT. */
static void t_h265_loss(void)
{
    vg_depack *d = mk265();
    stream s;
    stream_init(&s, 0);
    static uint8_t idr[4000], cra[200], tr[200];
    fake_nal(idr, 1, 20, sizeof idr, 1); /* IDR_N_LP */
    fake_nal(cra, 1, 21, sizeof cra, 2); /* CRA */
    fake_nal(tr, 1, 0, sizeof tr, 3);    /* TRAIL_N */
    h265_nal(&s, 0, true, idr, sizeof idr, 1400);
    h265_nal(&s, 3000, true, idr, sizeof idr, 1400);
    h265_nal(&s, 6000, true, tr, sizeof tr, 1400);
    h265_nal(&s, 9000, true, cra, sizeof cra, 1400);
    for (unsigned i = 0; i < s.n; i++)
        if (i != 4)
            vg_depack_push(d, s.p[i].b, s.p[i].len);
    CHECK_EQ(K.n, 2);
    CHECK_EQ(K.f[1].ts, 9000);
    CHECK_EQ(K.f[1].flags, VG_FRAME_KEY | VG_FRAME_DISCONT);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

static void t_h265_malformed(void)
{
    vg_depack *d = mk265();
    stream s;
    stream_init(&s, 0);
    uint8_t short1[] = {0x02};                       /* 1-byte payload */
    uint8_t apbad[] = {0x60, 0x01, 0x00, 0x09, 0x26}; /* AP size beyond */
    uint8_t apone[] = {0x60, 0x01, 0x00, 0x01, 0x26}; /* AP NAL of 1 byte */
    uint8_t fushort[] = {0x62, 0x01, 0x93};          /* FU without data */
    uint8_t paci[] = {0x64, 0x01, 0, 0};
    uint8_t resv[] = {0x66, 0x01, 0};
    CHECK_EQ(vg_depack_push(d, rtp(&s, 0, true, short1, sizeof short1, NULL, 0)->b, 13), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 1, true, apbad, sizeof apbad, NULL, 0)->b, 17), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 2, true, apone, sizeof apone, NULL, 0)->b, 17), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 3, true, fushort, 3, NULL, 0)->b, 15), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 4, true, paci, sizeof paci, NULL, 0)->b, 16), 0);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 5, true, resv, sizeof resv, NULL, 0)->b, 15), 0);
    vg_depack_stats st;
    vg_depack_get_stats(d, &st);
    CHECK_EQ(st.unsupported, 2);
    CHECK_EQ(K.n, 0);
    stream_free(&s);
    vg_depack_free(d);
}

static void t_h265_donl_rejected(void)
{
    vg_depack *d = mk265();
    CHECK_EQ(vg_depack_set_h265_max_don_diff(d, 0), 0);
    CHECK_EQ(vg_depack_set_h265_max_don_diff(d, 2), VG_EUNSUPPORTED);
    uint8_t p[20] = {0x80, 0xe0};
    p[12] = 0x26;
    p[13] = 1;
    CHECK_EQ(vg_depack_push(d, p, sizeof p), VG_EUNSUPPORTED);
    vg_depack_free(d);
}

/* ---- AAC ---- */

/* ASC: AAC-LC (2), 48 kHz (index 3), stereo; frameLengthFlag as given. */
static vg_depack *mkaac(bool f960, uint32_t clock)
{
    vg_track t = {.kind = VG_TRACK_AUDIO, .codec = VG_CODEC_AAC, .clock_rate = clock,
                  .sample_rate = 48000, .channels = 2};
    t.asc[0] = 0x11;
    t.asc[1] = (uint8_t)(0x90 | (f960 ? 0x04 : 0));
    t.asc_len = 2;
    vg_depack *d = NULL;
    CHECK_EQ(vg_depack_new(&t, 3, 0, &sink_cbs, &K, &d), 0);
    return d;
}

/* AAC-hbr packet: AU-headers (13-bit size, 3-bit index/delta = 0), AUs. */
static pkt *aac_hbr(stream *s, uint32_t ts, bool marker, const size_t *sizes, unsigned n,
                    const uint8_t *data, size_t dlen)
{
    uint8_t b[MAXPKT];
    vg_wr16(b, (uint16_t)(16 * n));
    for (unsigned i = 0; i < n; i++)
        vg_wr16(b + 2 + 2 * i, (uint16_t)(sizes[i] << 3));
    memcpy(b + 2 + 2 * n, data, dlen);
    return rtp(s, ts, marker, b, 2 + 2 * n + dlen, NULL, 0);
}

static void t_aac_hbr_multi(void)
{
    vg_depack *d = mkaac(false, 48000);
    stream s;
    stream_init(&s, 7);
    uint8_t au[600];
    for (unsigned i = 0; i < sizeof au; i++)
        au[i] = (uint8_t)i;
    const size_t sizes[3] = {100, 200, 300};
    aac_hbr(&s, 4294967000u, true, sizes, 3, au, 600);
    aac_hbr(&s, 4294967000u + 3072, true, sizes, 3, au, 600);
    push_all(d, &s);
    CHECK_EQ(K.n, 6);
    for (unsigned i = 0; i < K.n; i++) {
        CHECK_EQ(K.f[i].ts, 4294967000ll + 1024 * i);
        CHECK_EQ(K.f[i].flags, VG_FRAME_KEY);
        CHECK_EQ(K.f[i].len, sizes[i % 3]);
    }
    CHECK_MEM(K.f[1].data, au + 100, 200);
    CHECK_MEM(K.f[5].data, au + 300, 300);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* 960-sample frames, and an HE-AAC-style clock at twice the core rate. */
static void t_aac_durations(void)
{
    vg_depack *d = mkaac(true, 48000);
    stream s;
    stream_init(&s, 7);
    uint8_t au[20] = {0};
    const size_t sizes[2] = {10, 10};
    aac_hbr(&s, 0, true, sizes, 2, au, 20);
    push_all(d, &s);
    CHECK_EQ(K.n, 2);
    CHECK_EQ(K.f[1].ts, 960);
    sink_free(&K);
    vg_depack_free(d);
    d = mkaac(false, 96000);
    push_all(d, &s);
    CHECK_EQ(K.n, 2);
    CHECK_EQ(K.f[1].ts, 2048);
    sink_free(&K);
    vg_depack_free(d);
    stream_free(&s);
}

/* One 2500-byte AU over three packets (same ts, marker on the last). */
static void t_aac_fragmented(void)
{
    vg_depack *d = mkaac(false, 48000);
    stream s;
    stream_init(&s, 7);
    static uint8_t au[2500];
    for (unsigned i = 0; i < sizeof au; i++)
        au[i] = (uint8_t)(i * 3);
    const size_t size[1] = {sizeof au};
    aac_hbr(&s, 1000, false, size, 1, au, 1000);
    aac_hbr(&s, 1000, false, size, 1, au + 1000, 1000);
    aac_hbr(&s, 1000, true, size, 1, au + 2000, 500);
    const size_t small[1] = {50};
    aac_hbr(&s, 2024, true, small, 1, au, 50);
    push_all(d, &s);
    CHECK_EQ(K.n, 2);
    CHECK_EQ(K.f[0].ts, 1000);
    CHECK_EQ(K.f[0].len, sizeof au);
    CHECK_MEM(K.f[0].data, au, sizeof au);
    CHECK_EQ(K.f[1].len, 50);
    sink_free(&K);
    /* Lose the middle fragment: AU dropped, next frame DISCONT. */
    vg_depack *d2 = mkaac(false, 48000);
    for (unsigned i = 0; i < s.n; i++)
        if (i != 1)
            vg_depack_push(d2, s.p[i].b, s.p[i].len);
    CHECK_EQ(K.n, 1);
    CHECK_EQ(K.f[0].ts, 2024);
    CHECK_EQ(K.f[0].flags, VG_FRAME_KEY | VG_FRAME_DISCONT);
    vg_depack_stats st;
    vg_depack_get_stats(d2, &st);
    CHECK_EQ(st.frames_dropped, 1);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
    vg_depack_free(d2);
}

/* AAC-lbr: 6-bit size, 2-bit index; one byte per AU header. */
static void t_aac_lbr(void)
{
    vg_depack *d = mkaac(false, 48000);
    CHECK_EQ(vg_depack_set_aac_params(d, 6, 2, 2), 0);
    CHECK_EQ(vg_depack_set_aac_params(d, 0, 2, 2), VG_EINVAL);
    CHECK_EQ(vg_depack_set_aac_params(d, 17, 2, 2), VG_EINVAL);
    CHECK_EQ(vg_depack_set_aac_params(d, 6, 9, 2), VG_EINVAL);
    stream s;
    stream_init(&s, 7);
    /* 2 AUs of 10 and 20 bytes; the second has index delta 1 (one AU
     * skipped by interleaving): serial 0 and 2. */
    uint8_t b[40] = {0x00, 16, 10 << 2, (uint8_t)(20 << 2 | 1)};
    rtp(&s, 500, true, b, 4 + 30, NULL, 0);
    push_all(d, &s);
    CHECK_EQ(K.n, 2);
    CHECK_EQ(K.f[0].len, 10);
    CHECK_EQ(K.f[1].len, 20);
    CHECK_EQ(K.f[1].ts, 500 + 2048);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

static void t_aac_malformed(void)
{
    vg_depack *d = mkaac(false, 48000);
    stream s;
    stream_init(&s, 7);
    uint8_t p1[] = {0x00};                         /* no AU-headers-length */
    uint8_t p2[] = {0x00, 0x40, 0x00};             /* 64 bits of headers, 1 byte */
    uint8_t p3[] = {0x00, 0x00};                   /* zero headers */
    uint8_t p4[] = {0x00, 0x20, 0x00, 0x50, 0x00, 0x50, 1, 2}; /* 2 AUs of 10, 2 bytes */
    uint8_t p5[] = {0x00, 0x10, 0x00, 0x50, 1, 2};  /* lone AU of 10: fragment start */
    uint8_t p6[] = {0x00, 0x10, 0x00, 0x48, 1, 2};  /* continuation with other size */
    CHECK_EQ(vg_depack_push(d, rtp(&s, 0, true, p1, sizeof p1, NULL, 0)->b, 13), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 1, true, p2, sizeof p2, NULL, 0)->b, 15), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 2, true, p3, sizeof p3, NULL, 0)->b, 14), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 3, true, p4, sizeof p4, NULL, 0)->b, 20), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 4, false, p5, sizeof p5, NULL, 0)->b, 18), 0);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 4, true, p6, sizeof p6, NULL, 0)->b, 18), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 5, false, p5, sizeof p5, NULL, 0)->b, 18), 0);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 5, true, p5 + 0, 6, NULL, 0)->b, 18), VG_EPROTO); /* 4 of 8 left, marker */
    CHECK_EQ(vg_depack_push(d, rtp(&s, 6, false, p5, sizeof p5, NULL, 0)->b, 18), 0);
    vg_depack_flush(d); /* unfinished fragment dropped */
    CHECK_EQ(K.n, 0);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

int main(void)
{
    RUN(t_h265_ap_fu);
    RUN(t_h265_loss);
    RUN(t_h265_malformed);
    RUN(t_h265_donl_rejected);
    RUN(t_aac_hbr_multi);
    RUN(t_aac_durations);
    RUN(t_aac_fragmented);
    RUN(t_aac_lbr);
    RUN(t_aac_malformed);
    return vg_test_done();
}
