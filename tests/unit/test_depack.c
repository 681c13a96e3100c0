/* SPDX-License-Identifier: Apache-2.0 */
/* Depacketizer core + H.264 (RFC 6184): single NAL, STAP-A, FU-A,
 * multi-slice and marker-less frames, sequence and timestamp wrap, loss,
 * reordering, duplicates, malformed RTP headers, limits. */
#include "depack_util.h"
#include "vg_test.h"

static const uint8_t sps_a720[] = {
    0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
    0x10, 0x00, 0x00, 0x03, 0x02, 0x80, 0xf1, 0x83, 0x19, 0x60,
};
static const uint8_t sps_a360[] = {
    0x67, 0x42, 0xc0, 0x16, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01,
    0x00, 0x00, 0x03, 0x00, 0x28, 0x0f, 0x16, 0x2e, 0x48,
};
static const uint8_t pps264[] = {0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0};

static sink K;

static vg_depack *mk(unsigned reorder)
{
    vg_track t = {.kind = VG_TRACK_VIDEO, .codec = VG_CODEC_H264, .clock_rate = 90000};
    vg_depack *d = NULL;
    CHECK_EQ(vg_depack_new(&t, 0, reorder, &sink_cbs, &K, &d), 0);
    return d;
}

static void push_all(vg_depack *d, const stream *s)
{
    for (unsigned i = 0; i < s->n; i++)
        vg_depack_push(d, s->p[i].b, s->p[i].len);
}

/* Expected frame bytes: length-prefixed NALs. */
static size_t avcc(uint8_t *out, const uint8_t *const *nals, const size_t *lens, unsigned n)
{
    size_t o = 0;
    for (unsigned i = 0; i < n; i++) {
        vg_wr32(out + o, (uint32_t)lens[i]);
        memcpy(out + o + 4, nals[i], lens[i]);
        o += 4 + lens[i];
    }
    return o;
}

/* A GOP: IDR then P frames, each frame nslices slices of size sz, ts step 4500. */
static void gop(stream *s, uint32_t ts0, unsigned frames, unsigned nslices, size_t sz, bool marker)
{
    static uint8_t nal[20000];
    for (unsigned f = 0; f < frames; f++) {
        for (unsigned k = 0; k < nslices; k++) {
            fake_nal(nal, 0, f == 0 ? 5 : 1, sz, f * 16 + k);
            h264_nal(s, ts0 + f * 4500u, marker && k == nslices - 1, nal, sz, 1400);
        }
    }
}

static void t_single_nal(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 100);
    uint8_t idr[50];
    fake_nal(idr, 0, 5, sizeof idr, 1);
    rtp(&s, 1000, true, idr, sizeof idr, NULL, 0);
    push_all(d, &s);
    CHECK_EQ(K.n, 1);
    CHECK_EQ(K.f[0].ts, 1000);
    CHECK_EQ(K.f[0].flags, VG_FRAME_KEY);
    CHECK_EQ(K.f[0].len, 54);
    CHECK_EQ(vg_rd32(K.f[0].data), 50);
    CHECK_MEM(K.f[0].data + 4, idr, 50);
    CHECK_EQ(K.params, 0);
    vg_depack_stats st;
    vg_depack_get_stats(d, &st);
    CHECK_EQ(st.frames, 1);
    CHECK_EQ(st.packets, 1);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

static void stap(stream *s, uint32_t ts, bool marker, const uint8_t *const *nals, const size_t *lens,
                 unsigned n)
{
    uint8_t b[MAXPKT];
    size_t o = 1;
    b[0] = 0x78; /* F=0 NRI=3 type 24 */
    for (unsigned i = 0; i < n; i++) {
        vg_wr16(b + o, (uint16_t)lens[i]);
        memcpy(b + o + 2, nals[i], lens[i]);
        o += 2 + lens[i];
    }
    rtp(s, ts, marker, b, o, NULL, 0);
}

static void t_stap_a_params(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 0);
    uint8_t idr[300], sei[20], aud[2] = {0x09, 0xf0};
    fake_nal(idr, 0, 5, sizeof idr, 2);
    fake_nal(sei, 0, 6, sizeof sei, 3);
    const uint8_t *nals[] = {aud, sps_a720, pps264, sei, idr};
    const size_t lens[] = {sizeof aud, sizeof sps_a720, sizeof pps264, sizeof sei, sizeof idr};
    stap(&s, 0, true, nals, lens, 5);
    stap(&s, 3000, true, nals, lens, 5);       /* same parameter sets: no on_params */
    const uint8_t *nals2[] = {sps_a360, pps264, idr};
    const size_t lens2[] = {sizeof sps_a360, sizeof pps264, sizeof idr};
    stap(&s, 6000, true, nals2, lens2, 3);     /* new SPS: on_params again */
    push_all(d, &s);
    CHECK_EQ(K.n, 3);
    CHECK_EQ(K.params, 2);
    CHECK_EQ(K.f[0].params_before, 1);
    CHECK_EQ(K.f[1].params_before, 1);
    CHECK_EQ(K.f[2].params_before, 2);
    uint8_t exp[400];
    const uint8_t *en[] = {sei, idr};
    const size_t el[] = {sizeof sei, sizeof idr};
    size_t elen = avcc(exp, en, el, 2); /* AUD, SPS, PPS stripped; SEI kept */
    CHECK_EQ(K.f[0].len, elen);
    CHECK_MEM(K.f[0].data, exp, elen);
    CHECK_EQ(K.f[0].flags, VG_FRAME_KEY);
    CHECK_EQ(K.last_track.width, 640);
    CHECK_EQ(K.last_track.height, 360);
    CHECK_EQ(K.last_track.sps_len, sizeof sps_a360);
    CHECK_MEM(K.last_track.sps, sps_a360, sizeof sps_a360);
    CHECK_EQ(K.last_track.pps_len, sizeof pps264);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* A track whose SDP already carried the same SPS/PPS: no on_params. */
static void t_sdp_params_same(void)
{
    vg_track t = {.kind = VG_TRACK_VIDEO, .codec = VG_CODEC_H264, .clock_rate = 90000};
    memcpy(t.sps, sps_a720, sizeof sps_a720);
    t.sps_len = sizeof sps_a720;
    memcpy(t.pps, pps264, sizeof pps264);
    t.pps_len = sizeof pps264;
    vg_depack *d = NULL;
    CHECK_EQ(vg_depack_new(&t, 2, 0, &sink_cbs, &K, &d), 0);
    stream s;
    stream_init(&s, 0);
    uint8_t idr[30];
    fake_nal(idr, 0, 5, sizeof idr, 2);
    rtp(&s, 0, false, sps_a720, sizeof sps_a720, NULL, 0);
    rtp(&s, 0, false, pps264, sizeof pps264, NULL, 0);
    rtp(&s, 0, true, idr, sizeof idr, NULL, 0);
    push_all(d, &s);
    CHECK_EQ(K.n, 1);
    CHECK_EQ(K.params, 0);
    CHECK_EQ(K.f[0].len, 34);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

static void t_fu_a(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 65000);
    static uint8_t idr[10000];
    fake_nal(idr, 0, 5, sizeof idr, 4);
    h264_nal(&s, 90000, true, idr, sizeof idr, 1400);
    CHECK(s.n > 7);
    push_all(d, &s);
    CHECK_EQ(K.n, 1);
    CHECK_EQ(K.f[0].len, sizeof idr + 4);
    CHECK_EQ(vg_rd32(K.f[0].data), sizeof idr);
    CHECK_MEM(K.f[0].data + 4, idr, sizeof idr);
    CHECK_EQ(K.f[0].flags, VG_FRAME_KEY);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* Frames of 4 slices, some fragmented: one frame per timestamp. */
static void t_multi_slice(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 1);
    gop(&s, 0, 5, 4, 2000, true);
    push_all(d, &s);
    CHECK_EQ(K.n, 5);
    for (unsigned i = 0; i < K.n && i < 5; i++) {
        CHECK_EQ(K.f[i].len, 4 * 2004);
        CHECK_EQ(K.f[i].ts, i * 4500);
        CHECK_EQ(K.f[i].flags, i == 0 ? VG_FRAME_KEY : 0);
        /* Four NALs with correct prefixes. */
        size_t o = 0;
        unsigned nn = 0;
        while (o + 4 <= K.f[i].len) {
            o += 4 + vg_rd32(K.f[i].data + o);
            nn++;
        }
        CHECK_EQ(o, K.f[i].len);
        CHECK_EQ(nn, 4);
    }
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* No marker bits at all: a frame ends when the timestamp changes; the last
 * one comes out on flush. Output equals the marked stream's. */
static void t_markerless(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 1);
    gop(&s, 0, 5, 3, 1500, false);
    push_all(d, &s);
    CHECK_EQ(K.n, 4);
    vg_depack_flush(d);
    CHECK_EQ(K.n, 5);
    for (unsigned i = 0; i < K.n; i++) {
        CHECK_EQ(K.f[i].len, 3 * 1504);
        CHECK_EQ(K.f[i].ts, i * 4500);
    }
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

static void t_seq_and_ts_wrap(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 65530);
    gop(&s, 0xffffffffu - 9000u, 6, 2, 1500, true); /* crosses seq 65535 and ts 2^32 */
    push_all(d, &s);
    CHECK_EQ(K.n, 6);
    for (unsigned i = 0; i < K.n; i++) {
        CHECK_EQ(K.f[i].ts, (int64_t)0xffffffffu - 9000 + i * 4500);
        CHECK(!(K.f[i].flags & VG_FRAME_DISCONT));
    }
    vg_depack_stats st;
    vg_depack_get_stats(d, &st);
    CHECK_EQ(st.lost, 0);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* Backwards across the wrap: 5, then 2^32-100 -> ts goes negative. */
static void t_ts_wrap_backwards(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 0);
    uint8_t idr[20], p[20];
    fake_nal(idr, 0, 5, sizeof idr, 1);
    fake_nal(p, 0, 1, sizeof p, 1);
    rtp(&s, 5, true, idr, sizeof idr, NULL, 0);
    rtp(&s, 0xffffff9cu, true, p, sizeof p, NULL, 0);
    rtp(&s, 3000000000u, true, p, sizeof p, NULL, 0); /* a jump: reported as is */
    push_all(d, &s);
    CHECK_EQ(K.n, 3);
    CHECK_EQ(K.f[0].ts, 5);
    CHECK_EQ(K.f[1].ts, -100);
    CHECK_EQ(K.f[2].ts, 3000000000ll - 4294967296ll);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* Lose a middle FU-A fragment of frame 2 of GOP 1: frame 2 and the rest of
 * GOP 1 are dropped; GOP 2's IDR arrives with DISCONT. */
static void t_loss_mid_fu(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 10);
    gop(&s, 0, 4, 1, 5000, true);      /* 4 packets per frame */
    unsigned first2 = s.n;
    gop(&s, 18000, 3, 1, 5000, true);
    for (unsigned i = 0; i < s.n; i++)
        if (i != 5) /* frame 1, second fragment */
            vg_depack_push(d, s.p[i].b, s.p[i].len);
    CHECK(first2 == 16);
    CHECK_EQ(K.n, 4);
    CHECK_EQ(K.f[0].ts, 0);
    CHECK_EQ(K.f[0].flags, VG_FRAME_KEY);
    CHECK_EQ(K.f[1].ts, 18000);
    CHECK_EQ(K.f[1].flags, VG_FRAME_KEY | VG_FRAME_DISCONT);
    CHECK_EQ(K.f[2].flags, 0);
    CHECK_EQ(K.f[3].ts, 18000 + 9000);
    vg_depack_stats st;
    vg_depack_get_stats(d, &st);
    CHECK_EQ(st.lost, 1);
    CHECK_EQ(st.frames_dropped, 3);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* A whole P-frame lost between frames: later P-frames are dropped. */
static void t_p_after_loss(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 10);
    gop(&s, 0, 5, 1, 100, true);
    gop(&s, 22500, 2, 1, 100, true);
    for (unsigned i = 0; i < s.n; i++)
        if (i != 2)
            vg_depack_push(d, s.p[i].b, s.p[i].len);
    CHECK_EQ(K.n, 4);
    CHECK_EQ(K.f[1].ts, 4500);
    CHECK_EQ(K.f[2].ts, 22500);
    CHECK_EQ(K.f[2].flags, VG_FRAME_KEY | VG_FRAME_DISCONT);
    CHECK_EQ(K.f[3].flags, 0);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* FU-A fragments missing start or end with no sequence gap (sender bug). */
static void t_fu_missing_start_end(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 10);
    uint8_t idr[20];
    fake_nal(idr, 0, 5, sizeof idr, 1);
    uint8_t mid[3] = {0x7c, 0x05, 0xaa}; /* FU-A, no S/E bits */
    uint8_t end[3] = {0x7c, 0x45, 0xaa};
    uint8_t st0[3] = {0x7c, 0x85, 0xaa};
    rtp(&s, 0, true, mid, 3, NULL, 0);       /* no start */
    rtp(&s, 0, true, end, 3, NULL, 0);
    rtp(&s, 3000, false, st0, 3, NULL, 0);   /* start, then timestamp changes */
    rtp(&s, 6000, true, idr, sizeof idr, NULL, 0);
    rtp(&s, 9000, false, st0, 3, NULL, 0);   /* start, then start again */
    rtp(&s, 9000, false, st0, 3, NULL, 0);
    rtp(&s, 9000, true, end, 3, NULL, 0);
    rtp(&s, 12000, true, idr, sizeof idr, NULL, 0);
    unsigned eproto = 0;
    for (unsigned i = 0; i < s.n; i++)
        eproto += vg_depack_push(d, s.p[i].b, s.p[i].len) == VG_EPROTO;
    CHECK(eproto >= 3);
    CHECK_EQ(K.n, 2);
    CHECK_EQ(K.f[0].ts, 6000);
    CHECK_EQ(K.f[1].ts, 12000);
    CHECK(K.f[0].flags & VG_FRAME_DISCONT);
    CHECK(K.f[1].flags & VG_FRAME_DISCONT);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* Same stream in order and shuffled within the window: same frames. */
static void t_reorder(void)
{
    stream s;
    stream_init(&s, 65500); /* reorder across the sequence wrap too */
    gop(&s, 0, 10, 2, 3000, true);
    vg_depack *d = mk(8);
    push_all(d, &s);
    vg_depack_flush(d);
    sink ref = K;
    unsigned nref = K.n;
    memset(&K, 0, sizeof K);
    /* Shuffle: reverse blocks of 6 (displacement <= 5 < 8). */
    vg_depack *d2 = mk(8);
    for (unsigned b = 0; b < s.n; b += 6)
        for (unsigned j = 6; j-- > 0;)
            if (b + j < s.n)
                vg_depack_push(d2, s.p[b + j].b, s.p[b + j].len);
    vg_depack_flush(d2);
    CHECK_EQ(K.n, nref);
    CHECK_EQ(nref, 10);
    for (unsigned i = 0; i < K.n && i < nref; i++) {
        CHECK_EQ(K.f[i].ts, ref.f[i].ts);
        CHECK_EQ(K.f[i].flags, ref.f[i].flags);
        CHECK_EQ(K.f[i].len, ref.f[i].len);
        CHECK(K.f[i].len == ref.f[i].len && memcmp(K.f[i].data, ref.f[i].data, K.f[i].len) == 0);
    }
    vg_depack_stats st;
    vg_depack_get_stats(d2, &st);
    CHECK_EQ(st.lost, 0);
    sink_free(&K);
    K = ref;
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
    vg_depack_free(d2);
}

/* Window full: a gap is declared lost after `reorder` packets are held; the
 * missing packet arriving later is late and dropped. */
static void t_reorder_full_and_late(void)
{
    stream s;
    stream_init(&s, 0);
    gop(&s, 0, 8, 1, 100, true);
    gop(&s, 36000, 2, 1, 100, true);
    vg_depack *d = mk(4);
    for (unsigned i = 0; i < s.n; i++) {
        if (i == 3)
            continue;
        vg_depack_push(d, s.p[i].b, s.p[i].len);
        if (i == 8)
            vg_depack_push(d, s.p[3].b, s.p[3].len); /* too late now */
    }
    vg_depack_flush(d);
    vg_depack_stats st;
    vg_depack_get_stats(d, &st);
    CHECK_EQ(st.lost, 1);
    CHECK_EQ(st.late, 1);
    CHECK_EQ(K.n, 5); /* frames 0,1,2 then GOP 2's two frames */
    CHECK_EQ(K.f[3].ts, 36000);
    CHECK_EQ(K.f[3].flags, VG_FRAME_KEY | VG_FRAME_DISCONT);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

static void t_duplicates(void)
{
    stream s;
    stream_init(&s, 0);
    gop(&s, 0, 4, 2, 2000, true);
    for (unsigned reorder = 0; reorder <= 16; reorder += 16) {
        vg_depack *d = mk(reorder);
        for (unsigned i = 0; i < s.n; i++) {
            vg_depack_push(d, s.p[i].b, s.p[i].len);
            vg_depack_push(d, s.p[i].b, s.p[i].len);
            if (i > 2)
                vg_depack_push(d, s.p[i - 2].b, s.p[i - 2].len);
        }
        vg_depack_flush(d);
        CHECK_EQ(K.n, 4);
        for (unsigned i = 0; i < K.n; i++) {
            CHECK_EQ(K.f[i].len, 2 * 2004);
            CHECK(!(K.f[i].flags & VG_FRAME_DISCONT));
        }
        vg_depack_stats st;
        vg_depack_get_stats(d, &st);
        CHECK_EQ(st.lost, 0);
        CHECK_EQ(st.late + st.duplicates, 2ull * s.n - 3);
        sink_free(&K);
        vg_depack_free(d);
    }
    stream_free(&s);
}

/* Sequence restart (camera reboot, same SSRC): resync after a run of "late"
 * packets; SSRC change: resync at once. */
static void t_seq_restart(void)
{
    stream s;
    stream_init(&s, 30000);
    gop(&s, 0, 2, 1, 100, true);
    s.seq = 10;
    gop(&s, 9000, 40, 1, 100, true);
    s.ssrc = 0x55;
    gop(&s, 900000, 2, 1, 100, true);
    vg_depack *d = mk(0);
    push_all(d, &s);
    /* 2 + (40 - 32 resync packets, from a P-frame: dropped) + 2 */
    CHECK_EQ(K.n, 4);
    CHECK_EQ(K.f[2].ts, 900000);
    CHECK_EQ(K.f[2].flags, VG_FRAME_KEY | VG_FRAME_DISCONT);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

static void t_malformed_rtp(void)
{
    vg_depack *d = mk(0);
    uint8_t p[64] = {0x80, 0xe0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x65, 1, 2, 3};
    CHECK_EQ(vg_depack_push(d, p, 11), VG_EPROTO);            /* len < 12 */
    p[0] = 0x40;
    CHECK_EQ(vg_depack_push(d, p, 16), VG_EPROTO);            /* version 1 */
    p[0] = 0x82;                                              /* 2 CSRCs = 8 bytes */
    CHECK_EQ(vg_depack_push(d, p, 19), VG_EPROTO);
    p[0] = 0x90;                                              /* extension */
    CHECK_EQ(vg_depack_push(d, p, 15), VG_EPROTO);            /* no room for its header */
    vg_wr16(p + 14, 3);                                       /* 12 more bytes */
    CHECK_EQ(vg_depack_push(d, p, 20), VG_EPROTO);
    p[0] = 0xa0;                                              /* padding */
    p[15] = 0;
    CHECK_EQ(vg_depack_push(d, p, 16), VG_EPROTO);            /* pad count 0 */
    p[15] = 5;
    CHECK_EQ(vg_depack_push(d, p, 16), VG_EPROTO);            /* pad > payload */
    CHECK_EQ(vg_depack_push(d, NULL, 0), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, p, 70000), VG_EPROTO);         /* over max (not read) */
    vg_depack_stats st;
    vg_depack_get_stats(d, &st);
    CHECK_EQ(st.malformed, 9);
    CHECK_EQ(st.packets, 0);
    /* Everything valid at once: CSRC + extension + padding around an IDR. */
    uint8_t q[64] = {0xb1, 0xe0, 0, 2, 0, 0, 0, 9, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd};
    size_t o = 16;
    vg_wr16(q + o + 2, 1);
    o += 8;
    q[o++] = 0x65;
    q[o++] = 0x88;
    q[o++] = 0x99;
    q[o++] = 0;
    q[o++] = 2;
    CHECK_EQ(vg_depack_push(d, q, o), 0);
    CHECK_EQ(K.n, 1);
    CHECK_EQ(K.f[0].len, 7);
    CHECK_MEM(K.f[0].data, "\0\0\0\3\x65\x88\x99", 7);
    sink_free(&K);
    vg_depack_free(d);
}

static void t_malformed_payload(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 0);
    uint8_t bad1[] = {0x78, 0x00, 0x10, 0x65};          /* STAP-A size beyond */
    uint8_t bad2[] = {0x78, 0x00};                      /* STAP-A truncated size */
    uint8_t bad3[] = {0x7c};                            /* short FU-A */
    uint8_t bad4[] = {0xe5, 1, 2};                      /* forbidden bit */
    uint8_t bad5[] = {0x78};                            /* empty STAP-A */
    uint8_t stapb[] = {0x79, 0, 0, 0, 1, 0x65};         /* STAP-B: unsupported */
    uint8_t resv[] = {0x1e, 0};                         /* type 30: ignored */
    CHECK_EQ(vg_depack_push(d, rtp(&s, 0, true, bad1, sizeof bad1, NULL, 0)->b, 16), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 1, true, bad2, sizeof bad2, NULL, 0)->b, 14), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 2, true, bad3, sizeof bad3, NULL, 0)->b, 13), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 3, true, bad4, sizeof bad4, NULL, 0)->b, 15), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 4, true, bad5, sizeof bad5, NULL, 0)->b, 13), VG_EPROTO);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 5, true, stapb, sizeof stapb, NULL, 0)->b, 18), 0);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 6, true, resv, sizeof resv, NULL, 0)->b, 14), 0);
    CHECK_EQ(vg_depack_push(d, rtp(&s, 7, true, NULL, 0, NULL, 0)->b, 12), 0); /* empty */
    CHECK_EQ(K.n, 0);
    vg_depack_stats st;
    vg_depack_get_stats(d, &st);
    CHECK_EQ(st.malformed, 5);
    CHECK_EQ(st.unsupported, 2);
    stream_free(&s);
    vg_depack_free(d);
}

/* A frame over 8 MiB is dropped; the stream recovers at the next IDR. */
static void t_too_big(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 0);
    uint8_t chunk[1400];
    memset(chunk, 0xab, sizeof chunk);
    uint8_t h[2] = {0x7c, 0x85};
    uint32_t seq = 0;
    for (unsigned i = 0; i < 6100; i++) { /* ~8.5 MB in one FU-A */
        s.n = 0;
        s.seq = (uint16_t)seq++;
        h[1] = i == 0 ? 0x85 : i == 6099 ? 0x45 : 0x05;
        pkt *p = rtp(&s, 0, i == 6099, h, 2, chunk, sizeof chunk);
        vg_depack_push(d, p->b, p->len);
    }
    s.n = 0;
    s.seq = (uint16_t)seq;
    uint8_t idr[10];
    fake_nal(idr, 0, 5, sizeof idr, 0);
    pkt *p = rtp(&s, 3000, true, idr, sizeof idr, NULL, 0);
    vg_depack_push(d, p->b, p->len);
    CHECK_EQ(K.n, 1);
    CHECK_EQ(K.f[0].ts, 3000);
    vg_depack_stats st;
    vg_depack_get_stats(d, &st);
    CHECK_EQ(st.too_big, 1);
    CHECK_EQ(st.frames_dropped, 1);
    sink_free(&K);
    stream_free(&s);
    vg_depack_free(d);
}

/* Too many NAL units in one access unit. */
static void t_too_many_nals(void)
{
    vg_depack *d = mk(0);
    stream s;
    stream_init(&s, 0);
    uint8_t sl[3] = {0x61, 0x11, 0x22};
    for (unsigned i = 0; i < 4200; i++) {
        s.n = 0;
        pkt *p = rtp(&s, 0, i == 4199, sl, sizeof sl, NULL, 0);
        vg_depack_push(d, p->b, p->len);
    }
    CHECK_EQ(K.n, 0);
    vg_depack_stats st;
    vg_depack_get_stats(d, &st);
    CHECK_EQ(st.too_big, 1);
    stream_free(&s);
    vg_depack_free(d);
}

static void t_new_errors(void)
{
    vg_track t = {.kind = VG_TRACK_VIDEO, .codec = VG_CODEC_NONE};
    vg_depack *d = NULL;
    CHECK_EQ(vg_depack_new(&t, 0, 0, &sink_cbs, &K, &d), VG_EUNSUPPORTED);
    t.codec = VG_CODEC_H264;
    CHECK_EQ(vg_depack_new(&t, 0, 100000, &sink_cbs, &K, &d), VG_EINVAL);
    vg_depack_cbs none = {0};
    CHECK_EQ(vg_depack_new(&t, 0, 0, &none, &K, &d), VG_EINVAL);
    CHECK_EQ(vg_depack_new(NULL, 0, 0, &sink_cbs, &K, &d), VG_EINVAL);
    CHECK(d == NULL);
    vg_depack_free(NULL);
}

int main(void)
{
    RUN(t_single_nal);
    RUN(t_stap_a_params);
    RUN(t_sdp_params_same);
    RUN(t_fu_a);
    RUN(t_multi_slice);
    RUN(t_markerless);
    RUN(t_seq_and_ts_wrap);
    RUN(t_ts_wrap_backwards);
    RUN(t_loss_mid_fu);
    RUN(t_p_after_loss);
    RUN(t_fu_missing_start_end);
    RUN(t_reorder);
    RUN(t_reorder_full_and_late);
    RUN(t_duplicates);
    RUN(t_seq_restart);
    RUN(t_malformed_rtp);
    RUN(t_malformed_payload);
    RUN(t_too_big);
    RUN(t_too_many_nals);
    RUN(t_new_errors);
    return vg_test_done();
}
