/* SPDX-License-Identifier: Apache-2.0 */
/* File source (src/media/filesrc.c): event order, real-time pace, looping
 * with increasing timestamps, NAL-length conversion and stripping of
 * in-band parameter sets, error paths. */
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/loop.h"
#include "media/filesrc.h"
#include "media/mp4.h"
#include "vg_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define NFRAMES 5
#define WANT 12 /* frames to collect: more than two loops */

typedef struct rec {
    vg_loop *loop;
    int tracks_calls, playing, order_ok;
    unsigned n;
    int64_t ts[WANT];
    uint32_t flags[WANT];
    size_t len[WANT];
    uint8_t first[WANT][16];
    uint64_t t_start, t_last;
} rec;

static void on_tracks(void *arg, const vg_track *t, unsigned n)
{
    rec *r = arg;
    r->tracks_calls++;
    r->order_ok = r->n == 0 && !r->playing && n == 1 && t[0].codec == VG_CODEC_H264 &&
                  t[0].clock_rate == 90000;
}

static void on_state(void *arg, int rc, const char *why)
{
    rec *r = arg;
    if (rc == 0 && strcmp(why, "playing") == 0)
        r->playing++;
    r->t_start = vg_mono_us();
}

static void on_frame(void *arg, const vg_frame *f)
{
    rec *r = arg;
    if (r->n < WANT) {
        r->ts[r->n] = f->ts;
        r->flags[r->n] = f->flags;
        r->len[r->n] = f->len;
        memcpy(r->first[r->n], f->data, f->len < 16 ? f->len : 16);
        r->n++;
        r->t_last = vg_mono_us();
    }
    if (r->n == WANT)
        vg_loop_stop(r->loop);
}

/* A 5-frame, 20 fps clip whose samples use 2-byte NAL lengths and carry an
 * AUD and an SPS in band before the slice. */
static void make_clip(const char *path)
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
    t.width = 16;
    t.height = 16;
    uint32_t ts = 90000;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    vg_mp4w *w = NULL;
    CHECK_EQ(vg_mp4w_new(fd, &t, 1, &ts, &w), 0);
    for (int i = 0; i < NFRAMES; i++) {
        uint8_t d[] = {0, 2, 0x09, 0xf0,               /* AUD */
                       0, 6, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, /* SPS */
                       0, 4, (uint8_t)(i ? 0x41 : 0x65), (uint8_t)i, 0xaa, 0xbb};
        vg_fmp4_sample s = {0, 4500 * i, 4500, 0, i == 0, d, sizeof d};
        CHECK_EQ(vg_mp4w_add(w, &s), 0);
    }
    CHECK_EQ(vg_mp4w_finish(w), 0);
    vg_mp4w_free(w);
    /* lengthSizeMinusOne 3 -> 1 in avcC (its 5th byte). */
    uint8_t buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    for (ssize_t i = 0; i + 8 < n; i++)
        if (memcmp(buf + i, "avcC", 4) == 0) {
            uint8_t v = 0xfd;
            CHECK_EQ(pwrite(fd, &v, 1, i + 8), 1);
        }
    close(fd);
}

static void t_play_loop(void)
{
    const char *path = "/tmp/vg_filesrc_test.mp4";
    make_clip(path);
    rec r = {0};
    CHECK_EQ(vg_loop_new(&r.loop), 0);
    vg_source_cbs cbs = {on_tracks, on_frame, on_state};
    vg_filesrc *f = NULL;
    CHECK_EQ(vg_filesrc_new(r.loop, path, &cbs, &r, &f), 0);
    CHECK_EQ(vg_filesrc_start(f), 0);
    CHECK_EQ(vg_filesrc_start(f), VG_EINVAL);
    CHECK_EQ(r.tracks_calls, 0); /* nothing from inside start */
    CHECK_EQ(vg_loop_run(r.loop), 0);
    CHECK_EQ(r.tracks_calls, 1);
    CHECK(r.order_ok);
    CHECK_EQ(r.playing, 1);
    CHECK_EQ(r.n, WANT);
    for (unsigned i = 0; i < WANT; i++) {
        CHECK_EQ(r.ts[i], 4500 * (int64_t)i); /* continues across loops */
        CHECK_EQ(!!(r.flags[i] & VG_FRAME_KEY), i % NFRAMES == 0);
        CHECK_EQ(r.len[i], 8);                /* AUD and SPS stripped */
        static const uint8_t want[4] = {0, 0, 0, 4};
        CHECK_MEM(r.first[i], want, 4);
        CHECK_EQ(r.first[i][4], i % NFRAMES ? 0x41 : 0x65);
        CHECK_EQ(r.first[i][5], i % NFRAMES);
    }
    /* Frame 11 is due 550 ms after the first: real-time pace. */
    uint64_t el = r.t_last - r.t_start;
    CHECK(el >= 540000 && el < 1500000);
    vg_filesrc_free(f);
    vg_loop_free(r.loop);
    unlink(path);
}

static void t_errors(void)
{
    vg_loop *loop = NULL;
    CHECK_EQ(vg_loop_new(&loop), 0);
    vg_source_cbs cbs = {on_tracks, on_frame, on_state};
    vg_filesrc *f = NULL;
    CHECK_EQ(vg_filesrc_new(loop, "/nonexistent/x.mp4", &cbs, NULL, &f), VG_ENOTFOUND);
    CHECK_EQ(vg_filesrc_new(loop, "/tmp", &cbs, NULL, &f), VG_EIO);
    const char *path = "/tmp/vg_filesrc_junk.mp4";
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(write(fd, "not an mp4 file at all", 22) == 22);
    close(fd);
    CHECK_EQ(vg_filesrc_new(loop, path, &cbs, NULL, &f), VG_EINVAL);
    unlink(path);
    CHECK_EQ(vg_filesrc_new(NULL, path, &cbs, NULL, &f), VG_EINVAL);
    CHECK(f == NULL);
    /* The demo clip opens; freeing an unstarted source is fine. */
    CHECK_EQ(vg_filesrc_new(loop, "../../assets/demo.mp4", &cbs, NULL, &f), 0);
    vg_filesrc_free(f);
    vg_filesrc_free(NULL);
    vg_loop_free(loop);
}

int main(void)
{
    RUN(t_play_loop);
    RUN(t_errors);
    return vg_test_done();
}
