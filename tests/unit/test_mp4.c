/* SPDX-License-Identifier: Apache-2.0 */
/* Progressive MP4 reader and writer (src/media/mp4read.c, mp4write.c) on
 * the bundled demo clip, plus truncated and corrupted inputs. Also writes
 * /tmp/vg_media_{frag,prog}.mp4 (demo remuxed to fMP4 and to progressive
 * MP4) for tests/media_check.sh to hand to ffprobe/ffmpeg; with
 * VG_MEDIA_IN=file it remuxes that file instead (e.g. H.265 + AAC). */
#include "core/buf.h"
#include "core/err.h"
#include "media/fmp4.h"
#include "media/mp4.h"
#include "vg_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEMO "../../assets/demo.mp4"

static uint8_t *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t *b = NULL;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0)
        goto out;
    b = malloc((size_t)st.st_size);
    if (b && read(fd, b, (size_t)st.st_size) != st.st_size) {
        free(b);
        b = NULL;
    }
    *len = (size_t)st.st_size;
out:
    if (fd >= 0)
        close(fd);
    return b;
}

static void t_demo_open(void)
{
    size_t len = 0;
    uint8_t *buf = slurp(DEMO, &len);
    CHECK(buf != NULL);
    if (!buf)
        return;
    CHECK(len < 1500000);
    vg_mp4 *m = NULL;
    CHECK_EQ(vg_mp4_open(buf, len, &m), 0);
    CHECK_EQ(vg_mp4_ntracks(m), 1);
    const vg_track *t = vg_mp4_track(m, 0);
    CHECK(t != NULL);
    CHECK_EQ(t->codec, VG_CODEC_H264);
    CHECK_EQ(t->kind, VG_TRACK_VIDEO);
    CHECK_EQ(t->width, 640);
    CHECK_EQ(t->height, 360);
    CHECK_EQ(t->sps[1], 77); /* Main */
    CHECK(t->pps_len > 0);
    uint32_t ts = vg_mp4_timescale(m, 0);
    CHECK(ts > 0);
    CHECK_EQ(t->clock_rate, ts);
    CHECK_EQ(vg_mp4_nal_length_size(m, 0), 4);
    size_t n = vg_mp4_nsamples(m, 0);
    CHECK(n >= 200 && n <= 400); /* 10-20 s at 20 fps */
    int64_t prev = -1, total = 0;
    size_t keys = 0;
    for (size_t k = 0; k < n; k++) {
        vg_mp4_sample s;
        CHECK_EQ(vg_mp4_get_sample(m, 0, k, &s), 0);
        CHECK(s.dts > prev);
        CHECK_EQ(s.cts_offset, 0); /* no B-frames */
        CHECK_EQ((uint64_t)s.duration * 20, ts);
        CHECK(s.offset + s.size <= len);
        CHECK(s.size > 4);
        /* Length prefixes tile the sample exactly. */
        size_t o = 0;
        while (o + 4 <= s.size)
            o += 4 + vg_rd32(buf + s.offset + o);
        CHECK_EQ(o, s.size);
        keys += s.key != 0;
        if (k == 0)
            CHECK(s.key);
        prev = s.dts;
        total += s.duration;
    }
    CHECK_EQ(keys, (n + 39) / 40); /* GOP 2 s */
    CHECK(total >= 10 * (int64_t)ts && total <= 20 * (int64_t)ts);
    vg_mp4_sample s;
    CHECK_EQ(vg_mp4_get_sample(m, 0, n, &s), VG_EINVAL);
    CHECK_EQ(vg_mp4_get_sample(m, 1, 0, &s), VG_EINVAL);
    CHECK(vg_mp4_track(m, 1) == NULL);
    vg_mp4_free(m);
    free(buf);
}

static int64_t rescale(int64_t v, uint32_t from, uint32_t to)
{
    return (int64_t)((__int128)v * to / from);
}

/* Remux an MP4 to fMP4 (one fragment per video GOP; video at 90 kHz since
 * an arbitrary epoch offset) and to a progressive MP4 via vg_mp4w. */
static int remux(const uint8_t *buf, size_t len, const char *frag_path, const char *prog_path)
{
    vg_mp4 *m = NULL;
    int rc = vg_mp4_open(buf, len, &m);
    if (rc)
        return rc;
    unsigned nt = vg_mp4_ntracks(m), vt = nt;
    vg_track tracks[VG_MAX_TRACKS];
    uint32_t ts[VG_MAX_TRACKS], fts[VG_MAX_TRACKS];
    size_t pos[VG_MAX_TRACKS] = {0};
    for (unsigned i = 0; i < nt; i++) {
        tracks[i] = *vg_mp4_track(m, i);
        ts[i] = vg_mp4_timescale(m, i);
        fts[i] = tracks[i].kind == VG_TRACK_VIDEO ? 90000 : ts[i];
        if (tracks[i].kind == VG_TRACK_VIDEO && vt == nt)
            vt = i;
    }
    const int64_t base90k = 1800000000LL * 90000; /* 2027, to exercise 64-bit tfdt */
    vg_buf out;
    vg_buf_init(&out, 256u << 20);
    vg_fmp4_sample *ss = calloc(VG_FMP4_MAX_SAMPLES, sizeof *ss);
    int pfd = open(prog_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    vg_mp4w *w = NULL;
    rc = !ss || pfd < 0 ? VG_EIO : vg_fmp4_init_segment(&out, tracks, nt);
    if (!rc)
        rc = vg_mp4w_new(pfd, tracks, nt, fts, &w);
    uint32_t seq = 1;
    while (!rc) {
        /* Fragment end: the next video key sample after the current one. */
        double end_s = 1e18;
        if (vt < nt) {
            size_t k = pos[vt] + 1;
            vg_mp4_sample s;
            while (k < vg_mp4_nsamples(m, vt) && vg_mp4_get_sample(m, vt, k, &s) == 0 && !s.key)
                k++;
            if (k < vg_mp4_nsamples(m, vt) && vg_mp4_get_sample(m, vt, k, &s) == 0)
                end_s = (double)s.dts / ts[vt];
        }
        unsigned n = 0;
        for (unsigned i = 0; i < nt; i++) {
            vg_mp4_sample s;
            while (pos[i] < vg_mp4_nsamples(m, i) && vg_mp4_get_sample(m, i, pos[i], &s) == 0 &&
                   (double)s.dts / ts[i] < end_s && n < VG_FMP4_MAX_SAMPLES) {
                int64_t d0 = rescale(s.dts, ts[i], fts[i]);
                int64_t d1 = rescale(s.dts + s.duration, ts[i], fts[i]);
                int64_t off = tracks[i].kind == VG_TRACK_VIDEO ? base90k : 0;
                ss[n++] = (vg_fmp4_sample){i, d0 + off, (uint32_t)(d1 - d0),
                                           (int32_t)rescale(s.cts_offset, ts[i], fts[i]), s.key,
                                           buf + s.offset, s.size};
                pos[i]++;
            }
        }
        if (n == 0)
            break;
        rc = vg_fmp4_fragment(&out, seq++, ss, n);
        for (unsigned k = 0; !rc && k < n; k++)
            rc = vg_mp4w_add(w, &ss[k]);
    }
    if (!rc)
        rc = vg_mp4w_finish(w);
    if (!rc) {
        int fd = open(frag_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        rc = fd >= 0 && write(fd, out.data, out.len) == (ssize_t)out.len ? 0 : VG_EIO;
        if (fd >= 0)
            close(fd);
    }
    vg_mp4w_free(w);
    if (pfd >= 0)
        close(pfd);
    free(ss);
    vg_buf_free(&out);
    vg_mp4_free(m);
    return rc;
}

static void t_remux_demo(void)
{
    size_t len = 0, plen = 0;
    const char *in = getenv("VG_MEDIA_IN");
    uint8_t *buf = slurp(in ? in : DEMO, &len);
    CHECK(buf != NULL);
    if (!buf)
        return;
    CHECK_EQ(remux(buf, len, "/tmp/vg_media_frag.mp4", "/tmp/vg_media_prog.mp4"), 0);
    /* The progressive output reads back with the same samples. */
    uint8_t *p = slurp("/tmp/vg_media_prog.mp4", &plen);
    vg_mp4 *a = NULL, *b = NULL;
    CHECK_EQ(vg_mp4_open(buf, len, &a), 0);
    CHECK(p != NULL);
    CHECK_EQ(p ? vg_mp4_open(p, plen, &b) : VG_EIO, 0);
    if (a && b) {
        CHECK_EQ(vg_mp4_ntracks(a), vg_mp4_ntracks(b));
        for (unsigned i = 0; i < vg_mp4_ntracks(a); i++) {
            const vg_track *ta = vg_mp4_track(a, i), *tb = vg_mp4_track(b, i);
            CHECK_EQ(ta->codec, tb->codec);
            CHECK_EQ(ta->sps_len, tb->sps_len);
            CHECK_MEM(ta->sps, tb->sps, ta->sps_len);
            CHECK_EQ(ta->width, tb->width);
            size_t n = vg_mp4_nsamples(a, i);
            CHECK_EQ(n, vg_mp4_nsamples(b, i));
            for (size_t k = 0; k < n && k < vg_mp4_nsamples(b, i); k++) {
                vg_mp4_sample x, y;
                vg_mp4_get_sample(a, i, k, &x);
                vg_mp4_get_sample(b, i, k, &y);
                CHECK_EQ(x.size, y.size);
                CHECK_EQ(!!x.key, !!y.key);
                CHECK_MEM(buf + x.offset, p + y.offset, x.size);
                if (k == 0)
                    CHECK_EQ(y.dts, 0);
            }
        }
    }
    vg_mp4_free(a);
    vg_mp4_free(b);
    free(p);
    free(buf);
}

/* Every truncation and many single-byte corruptions of the demo's moov:
 * an error or a consistent result, never out-of-bounds (ASan checks). */
static void t_corrupt(void)
{
    size_t len = 0;
    uint8_t *buf = slurp(DEMO, &len);
    if (!buf)
        return;
    vg_mp4 *m = NULL;
    CHECK_EQ(vg_mp4_open(buf, 0, &m), VG_EINVAL);
    CHECK_EQ(vg_mp4_open(buf, 7, &m), VG_EINVAL);
    CHECK_EQ(vg_mp4_open(buf, len - 1, &m), VG_EINVAL); /* last sample cut */
    CHECK(m == NULL);
    size_t moov_end = 0;
    for (size_t o = 0; o + 8 <= len;) {
        uint32_t sz = vg_rd32(buf + o);
        if (memcmp(buf + o + 4, "moov", 4) == 0)
            moov_end = o + sz;
        if (sz < 8)
            break;
        o += sz;
    }
    CHECK(moov_end > 0 && moov_end < 20000);
    for (size_t k = 0; k < moov_end; k += 7) {
        if (vg_mp4_open(buf, k, &m) == 0)
            vg_mp4_free(m);
    }
    uint8_t *c = malloc(len);
    unsigned seed = 1;
    for (int it = 0; c && it < 3000; it++) {
        memcpy(c, buf, len);
        for (int j = 0; j < 3; j++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % moov_end;
            seed = seed * 1103515245u + 12345u;
            c[at] = (uint8_t)(seed >> 16);
        }
        if (vg_mp4_open(c, len, &m) == 0) {
            for (unsigned i = 0; i < vg_mp4_ntracks(m); i++)
                for (size_t k = 0; k < vg_mp4_nsamples(m, i); k++) {
                    vg_mp4_sample s;
                    CHECK_EQ(vg_mp4_get_sample(m, i, k, &s), 0);
                    CHECK(s.offset + s.size <= len);
                }
            vg_mp4_free(m);
        }
    }
    free(c);
    free(buf);
}

/* Hand-built boxes: a 64-bit size, size 0 to the end, and a stsz whose
 * constant-size count would not fit in the file. */
static void t_boxes(void)
{
    vg_mp4 *m = NULL;
    static const uint8_t big[] = {0, 0, 0, 1, 'f', 'r', 'e', 'e', 0, 0, 0, 0, 0, 0, 0, 16,
                                  0, 0, 0, 0, 'm', 'o', 'o', 'v'};
    CHECK_EQ(vg_mp4_open(big, sizeof big, &m), VG_EUNSUPPORTED); /* moov without tracks */
    static const uint8_t over[] = {0, 0, 0, 1, 'f', 'r', 'e', 'e', 0xff, 0, 0, 0, 0, 0, 0, 16};
    CHECK_EQ(vg_mp4_open(over, sizeof over, &m), VG_EINVAL);
    static const uint8_t tiny[] = {0, 0, 0, 4, 'f', 'r', 'e', 'e'};
    CHECK_EQ(vg_mp4_open(tiny, sizeof tiny, &m), VG_EINVAL);
    CHECK_EQ(vg_mp4_open(NULL, 0, &m), VG_EINVAL);
}

static void t_writer_errors(void)
{
    vg_track t;
    memset(&t, 0, sizeof t);
    t.kind = VG_TRACK_VIDEO;
    t.codec = VG_CODEC_H264;
    static const uint8_t sps[] = {0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00};
    memcpy(t.sps, sps, sizeof sps);
    t.sps_len = sizeof sps;
    t.pps[0] = 0x68;
    t.pps_len = 1;
    uint32_t ts = 90000, zero = 0;
    vg_mp4w *w = NULL;
    CHECK_EQ(vg_mp4w_new(-1, &t, 1, &ts, &w), VG_EINVAL);
    CHECK_EQ(vg_mp4w_new(1, &t, 1, &zero, &w), VG_EINVAL);
    CHECK_EQ(vg_mp4w_new(1, &t, 0, &ts, &w), VG_EINVAL);
    char path[] = "/tmp/vg_mp4w_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(vg_mp4w_new(fd, &t, 1, &ts, &w), 0);
    uint8_t d[8] = {0, 0, 0, 4, 0x65, 1, 2, 3};
    vg_fmp4_sample s = {0, 1000, 3000, 0, 1, d, 8};
    CHECK_EQ(vg_mp4w_add(w, &s), 0);
    CHECK_EQ(vg_mp4w_add(w, &s), VG_EINVAL); /* same dts */
    s.track = 1;
    CHECK_EQ(vg_mp4w_add(w, &s), VG_EINVAL);
    s.track = 0;
    s.dts = 100000; /* a gap: the first sample lasts until here */
    s.key = 0;
    CHECK_EQ(vg_mp4w_add(w, &s), 0);
    CHECK_EQ(vg_mp4w_finish(w), 0);
    vg_mp4w_free(w);
    size_t len = 0;
    uint8_t *buf = slurp(path, &len);
    vg_mp4 *m = NULL;
    CHECK_EQ(buf ? vg_mp4_open(buf, len, &m) : VG_EIO, 0);
    vg_mp4_sample a, b;
    CHECK_EQ(vg_mp4_get_sample(m, 0, 0, &a), 0);
    CHECK_EQ(vg_mp4_get_sample(m, 0, 1, &b), 0);
    CHECK_EQ(a.dts, 0);
    CHECK_EQ(a.duration, 99000);
    CHECK_EQ(b.dts, 99000);
    CHECK_EQ(b.duration, 3000);
    CHECK(a.key && !b.key);
    vg_mp4_free(m);
    free(buf);
    close(fd);
    unlink(path);
    /* Writes to a pipe fail (pwrite: ESPIPE): the error is sticky. */
    int p[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(vg_mp4w_new(p[1], &t, 1, &ts, &w), VG_EIO);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    RUN(t_demo_open);
    RUN(t_remux_demo);
    RUN(t_corrupt);
    RUN(t_boxes);
    RUN(t_writer_errors);
    return vg_test_done();
}
