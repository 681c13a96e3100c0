/* SPDX-License-Identifier: Apache-2.0 */
/* Export: the recorded fMP4 fragments of one camera over a time range,
 * decrypted and verified by vg_store_read, rewritten as one progressive MP4.
 *
 * Invariants:
 *  1. The output is created O_EXCL and removed again on any failure: the
 *     path either holds a complete MP4 or nothing we wrote.
 *  2. One timeline: video decode times are absolute t90k, which the writer
 *     rebases to 0; a gap lengthens the sample before it.
 *  3. The first init segment fixes the tracks. Segments whose init differs
 *     (codec or parameter sets, e.g. a new resolution) are skipped and
 *     counted, since one MP4 sample entry cannot describe both.
 *  4. The file starts at a key frame: fragments before the first key
 *     fragment are skipped, as are fragments of a segment whose init was
 *     skipped.
 */
#include "store/export.h"
#include "core/err.h"
#include "core/log.h"
#include "media/mp4.h"
#include "store/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct ectx {
    int fd;
    vg_mp4w *w;                       /* owned */
    vg_track tracks[VG_MAX_TRACKS];   /* the first init's */
    uint32_t ts[VG_MAX_TRACKS];
    unsigned nt;
    int have_init, seg_ok, keyed, pending_run;
    uint64_t skipped_segments, dropped_samples;
    vg_export_stats *st;
} ectx;

static int same_track(const vg_track *a, const vg_track *b)
{
    return a->kind == b->kind && a->codec == b->codec && a->sps_len == b->sps_len &&
           a->pps_len == b->pps_len && a->vps_len == b->vps_len && a->asc_len == b->asc_len &&
           memcmp(a->sps, b->sps, a->sps_len) == 0 && memcmp(a->pps, b->pps, a->pps_len) == 0 &&
           memcmp(a->vps, b->vps, a->vps_len) == 0 && memcmp(a->asc, b->asc, a->asc_len) == 0;
}

static int on_init(ectx *c, const vg_frag_info *fi, const uint8_t *p, size_t len)
{
    vg_track t[VG_MAX_TRACKS];
    uint32_t ts[VG_MAX_TRACKS];
    unsigned n = 0;
    int rc = vg_fmp4_parse_init(p, len, t, &n, ts);
    if (rc)
        return rc; /* the recorder wrote it: a bad one is corruption, stop */
    if (!c->have_init) {
        memcpy(c->tracks, t, sizeof t);
        memcpy(c->ts, ts, sizeof ts);
        c->nt = n;
        rc = vg_mp4w_new(c->fd, t, n, ts, &c->w);
        if (rc)
            return rc;
        c->have_init = 1;
        c->seg_ok = 1;
        return 0;
    }
    int same = n == c->nt;
    for (unsigned i = 0; same && i < n; i++)
        same = same_track(&t[i], &c->tracks[i]) && ts[i] == c->ts[i];
    if (!same) {
        c->skipped_segments++;
        fprintf(stderr, "export: skipping segment %lld: its tracks differ from the first "
                        "(codec or parameter sets changed)\n", (long long)fi->segment_id);
    }
    c->seg_ok = same;
    if (fi->run_start)
        c->pending_run = 1;
    return 0;
}

static int first_key_video(void *arg, const vg_fmp4_sample *s)
{
    ectx *c = arg;
    if (s->track < c->nt && c->tracks[s->track].kind == VG_TRACK_VIDEO)
        return s->key ? 1 : 2;
    return 0;
}

static int add_sample(void *arg, const vg_fmp4_sample *s)
{
    ectx *c = arg;
    if (s->track >= c->nt)
        return VG_EPROTO;
    int rc = vg_mp4w_add(c->w, s);
    if (rc == VG_EINVAL) { /* overlapping time (camera clock step): drop it */
        c->dropped_samples++;
        return 0;
    }
    if (rc)
        return rc;
    vg_export_stats *st = c->st;
    uint64_t dur90k = (uint64_t)s->duration * 90000u / c->ts[s->track];
    int64_t t90k = (int64_t)((__int128)s->dts * 90000 / c->ts[s->track]);
    if (c->tracks[s->track].kind == VG_TRACK_VIDEO) {
        if (st->frames == 0)
            st->first90k = t90k;
        st->frames++;
        if (t90k + (int64_t)dur90k > st->end90k)
            st->end90k = t90k + (int64_t)dur90k;
    } else {
        st->audio_frames++;
    }
    return 0;
}

static int on_chunk(void *arg, const vg_frag_info *fi, const uint8_t *p, size_t len)
{
    ectx *c = arg;
    if (fi->seq == 0)
        return on_init(c, fi, p, len);
    if (!c->have_init || !c->seg_ok)
        return 0;
    if (!c->keyed) {
        /* Starts with a key frame: the index flag, confirmed by the sample. */
        int r = fi->key ? vg_fmp4_parse_fragment(p, len, first_key_video, c) : 2;
        if (r != 1)
            return r < 0 ? r : 0;
        c->keyed = 1;
    }
    if (c->pending_run || c->st->runs == 0) {
        c->st->runs++;
        c->pending_run = 0;
    }
    return vg_fmp4_parse_fragment(p, len, add_sample, c);
}

int vg_export(const char *dir, const char *camera, const uint8_t pk[32], const uint8_t sk[32],
              int64_t from90k, int64_t to90k, const char *out_path, vg_export_stats *st)
{
    if (!dir || !camera || !pk || !sk || !out_path || !st || to90k <= from90k)
        return VG_EINVAL;
    memset(st, 0, sizeof *st);
    ectx c;
    memset(&c, 0, sizeof c);
    c.st = st;
    c.fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (c.fd < 0)
        return VG_EIO;
    int rc = vg_store_read(dir, camera, pk, sk, from90k, to90k, on_chunk, &c);
    if (rc == 0 && st->frames == 0 && st->audio_frames == 0)
        rc = VG_ENOTFOUND;
    if (rc == 0)
        rc = vg_mp4w_finish(c.w);
    if (rc == 0 && fsync(c.fd) != 0)
        rc = VG_EIO;
    vg_mp4w_free(c.w);
    if (close(c.fd) != 0 && rc == 0)
        rc = VG_EIO;
    if (c.dropped_samples)
        fprintf(stderr, "export: dropped %llu samples that overlapped earlier ones in time\n",
                (unsigned long long)c.dropped_samples);
    if (c.skipped_segments)
        fprintf(stderr, "export: skipped %llu segments with different tracks\n",
                (unsigned long long)c.skipped_segments);
    if (rc) {
        unlink(out_path);
        memset(st, 0, sizeof *st);
    }
    return rc;
}
