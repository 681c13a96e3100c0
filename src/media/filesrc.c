/* SPDX-License-Identifier: Apache-2.0 */
/* File source: the demo camera. Plays an MP4's samples on a loop timer at
 * real-time pace, forever, as a live source would deliver them.
 *
 * Invariants:
 *  1. Pace is scheduled against the monotonic clock from one start instant
 *     t0: sample k of loop L is due at t0 + L*period + offset(k); nothing is
 *     accumulated, so the schedule cannot drift.
 *  2. Timestamps only increase: loop L adds L*period (in each track's
 *     timescale, computed from L each time, not summed) to the clip's times.
 *  3. Frames leave in vg_frame convention (media.h): 4-byte NAL length
 *     prefixes, no SPS/PPS/VPS/AUD (they live in vg_track only).
 *  4. Order of events: on_tracks once, on_state(0, "playing"), then frames;
 *     all from the loop's timer, never from inside vg_filesrc_start.
 */
#include "media/filesrc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "media/mp4.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAX (64u << 20)
#define BATCH_MAX 64            /* frames per timer tick, so a stall can't hog the loop */

typedef struct fev {
    int64_t t_us;               /* due time within one loop, from the clip start */
    uint32_t track, k;
} fev;

struct vg_filesrc {
    vg_loop *loop;              /* not owned */
    vg_source_cbs cbs;
    void *arg;
    uint8_t *file;              /* owned: the whole MP4 */
    size_t len;
    vg_mp4 *mp4;                /* owned */
    unsigned nt;
    int64_t first_dts[VG_MAX_TRACKS];
    fev *ev;                    /* owned: every sample of every track, in due order */
    size_t nev, next;
    int64_t period_us;          /* clip length: the longest track */
    uint64_t loopno;
    uint64_t t0_us;
    int started, announced;
    vg_timer timer;
    vg_buf scratch;             /* the converted frame being delivered */
};

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return VG_ENOTFOUND;
    struct stat st;
    uint8_t *b = NULL;
    int rc = VG_EIO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    rc = VG_ETOOBIG;
    if (st.st_size > (off_t)FILE_MAX)
        goto out;
    rc = VG_ENOMEM;
    size_t n = (size_t)st.st_size;
    if (!(b = malloc(n ? n : 1)))
        goto out;
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, b + got, n - got);
        if (k <= 0) {
            rc = VG_EIO;
            goto out;
        }
        got += (size_t)k;
    }
    *out = b;
    *len = n;
    b = NULL;
    rc = 0;
out:
    free(b);
    close(fd);
    return rc;
}

static int cmp_ev(const void *a, const void *b)
{
    const fev *x = a, *y = b;
    if (x->t_us != y->t_us)
        return x->t_us < y->t_us ? -1 : 1;
    if (x->track != y->track)
        return x->track < y->track ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* Builds the merged schedule and the clip period. */
static int build_schedule(vg_filesrc *f)
{
    size_t total = 0;
    for (unsigned i = 0; i < f->nt; i++)
        total += vg_mp4_nsamples(f->mp4, i);
    if (total == 0)
        return VG_EINVAL;
    if (!(f->ev = calloc(total, sizeof *f->ev)))
        return VG_ENOMEM;
    for (unsigned i = 0; i < f->nt; i++) {
        uint32_t ts = vg_mp4_timescale(f->mp4, i);
        size_t n = vg_mp4_nsamples(f->mp4, i);
        vg_mp4_sample s;
        for (size_t k = 0; k < n; k++) {
            vg_mp4_get_sample(f->mp4, i, k, &s);
            if (k == 0)
                f->first_dts[i] = s.dts;
            int64_t rel = s.dts - f->first_dts[i];
            f->ev[f->nev++] = (fev){rel * 1000000 / ts, i, (uint32_t)k};
            if (k + 1 == n) {
                int64_t end = (rel + s.duration) * 1000000 / ts;
                if (end > f->period_us)
                    f->period_us = end;
            }
        }
    }
    qsort(f->ev, f->nev, sizeof *f->ev, cmp_ev);
    return f->period_us > 0 ? 0 : VG_EINVAL;
}

int vg_filesrc_new(vg_loop *loop, const char *path, const vg_source_cbs *cbs, void *arg,
                   vg_filesrc **out)
{
    if (!loop || !path || !cbs || !cbs->on_frame || !out)
        return VG_EINVAL;
    vg_filesrc *f = calloc(1, sizeof *f);
    if (!f)
        return VG_ENOMEM;
    f->loop = loop;
    f->cbs = *cbs;
    f->arg = arg;
    vg_timer_init(&f->timer, NULL, f);
    vg_buf_init(&f->scratch, FILE_MAX);
    int rc = read_file(path, &f->file, &f->len);
    if (!rc)
        rc = vg_mp4_open(f->file, f->len, &f->mp4);
    if (!rc) {
        f->nt = vg_mp4_ntracks(f->mp4);
        rc = build_schedule(f);
    }
    if (rc) {
        vg_warn("filesrc", "%s: %s", path, vg_strerror(rc));
        vg_filesrc_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* Is this NAL a parameter set or delimiter (kept out of frames)? */
static int strip_nal(enum vg_codec c, uint8_t h)
{
    if (c == VG_CODEC_H264) {
        unsigned t = h & 0x1fu;
        return t == 7 || t == 8 || t == 9 || t == 13 || t == 15;
    }
    unsigned t = (h >> 1) & 0x3fu;
    return t == 32 || t == 33 || t == 34 || t == 35;
}

/* Sample -> vg_frame convention in f->scratch. VG_EINVAL on bad NAL lengths. */
static int convert(vg_filesrc *f, unsigned tr, const uint8_t *p, size_t n)
{
    const vg_track *t = vg_mp4_track(f->mp4, tr);
    unsigned L = vg_mp4_nal_length_size(f->mp4, tr);
    vg_buf_reset(&f->scratch);
    if (t->kind != VG_TRACK_VIDEO)
        return vg_buf_append(&f->scratch, p, n);
    size_t o = 0;
    while (o < n) {
        if (n - o < L)
            return VG_EINVAL;
        size_t nl = 0;
        for (unsigned i = 0; i < L; i++)
            nl = nl << 8 | p[o + i];
        o += L;
        if (nl == 0 || nl > n - o)
            return VG_EINVAL;
        if (!strip_nal(t->codec, p[o])) {
            int rc = vg_buf_append_be32(&f->scratch, (uint32_t)nl);
            if (rc || (rc = vg_buf_append(&f->scratch, p + o, nl)))
                return rc;
        }
        o += nl;
    }
    return 0;
}

static void deliver(vg_filesrc *f, const fev *e)
{
    vg_mp4_sample s;
    if (vg_mp4_get_sample(f->mp4, e->track, e->k, &s) != 0)
        return;
    if (convert(f, e->track, f->file + s.offset, s.size) != 0 || f->scratch.len == 0) {
        vg_debug("filesrc", "skipping malformed sample %u of track %u", e->k, e->track);
        return;
    }
    uint32_t ts = vg_mp4_timescale(f->mp4, e->track);
    int64_t loop_off = (int64_t)((__int128)f->loopno * f->period_us * ts / 1000000);
    vg_frame fr = {
        .track = e->track,
        .ts = s.dts - f->first_dts[e->track] + s.cts_offset + loop_off,
        .flags = s.key ? VG_FRAME_KEY : 0,
        .data = f->scratch.data,
        .len = f->scratch.len,
    };
    f->cbs.on_frame(f->arg, &fr);
}

static uint64_t due_us(const vg_filesrc *f)
{
    return f->t0_us + f->loopno * (uint64_t)f->period_us + (uint64_t)f->ev[f->next].t_us;
}

static void on_timer(vg_loop *loop, vg_timer *t)
{
    vg_filesrc *f = t->data;
    if (!f->announced) {
        f->announced = 1;
        vg_track tracks[VG_MAX_TRACKS];
        for (unsigned i = 0; i < f->nt; i++)
            tracks[i] = *vg_mp4_track(f->mp4, i);
        if (f->cbs.on_tracks)
            f->cbs.on_tracks(f->arg, tracks, f->nt);
        if (f->cbs.on_state)
            f->cbs.on_state(f->arg, 0, "playing");
        f->t0_us = vg_mono_us();
    }
    uint64_t now = vg_mono_us();
    for (int i = 0; i < BATCH_MAX && due_us(f) <= now; i++) {
        deliver(f, &f->ev[f->next]);
        if (++f->next == f->nev) {
            f->next = 0;
            f->loopno++;
        }
    }
    uint64_t due = due_us(f);
    uint64_t delay_ms = due > now ? (due - now + 999) / 1000 : 0;
    vg_timer_start(loop, &f->timer, delay_ms);
}

int vg_filesrc_start(vg_filesrc *f)
{
    if (!f || f->started)
        return VG_EINVAL;
    f->started = 1;
    f->timer.cb = on_timer;
    return vg_timer_start(f->loop, &f->timer, 0);
}

void vg_filesrc_free(vg_filesrc *f)
{
    if (!f)
        return;
    if (f->started)
        vg_timer_stop(f->loop, &f->timer);
    vg_buf_free(&f->scratch);
    vg_mp4_free(f->mp4);
    free(f->ev);
    free(f->file);
    free(f);
}
