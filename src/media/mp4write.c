/* SPDX-License-Identifier: Apache-2.0 */
/* Progressive MP4 writer for export (ISO/IEC 14496-12): ftyp, one mdat
 * streamed to the fd as samples arrive, moov with the sample tables at
 * finish. Memory is ~24 bytes per sample, never the media.
 *
 * Invariants:
 *  1. The mdat header is 16 bytes with a 64-bit largesize, written as a
 *     placeholder at creation and patched by vg_mp4w_finish, so an export
 *     may exceed 4 GiB and the header never moves.
 *  2. A track's decode times strictly increase; a sample's duration is the
 *     next sample's dts minus its own (a recording gap becomes a longer
 *     sample before it), the last sample keeps the duration it was given.
 *     Times are rebased per track: the first sample decodes at 0.
 *  3. A chunk is a run of consecutive samples of one track in mdat; chunk
 *     offsets switch to co64 when any exceeds 32 bits.
 *  4. After any write error the writer is failed: every call returns the
 *     first error and finish writes nothing.
 */
#include "core/err.h"
#include "media/mp4.h"
#include "media/mp4_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MOOV_MAX (1024u * 1024u * 1024u)

typedef struct wsample {
    uint32_t size, dur;
    int32_t cts;
    uint8_t key;
} wsample;

typedef struct wchunk {
    uint64_t off;
    uint32_t n;
} wchunk;

typedef struct wtrack {
    vg_track t;
    uint32_t ts;
    int64_t last_dts;
    wsample *s;   /* owned */
    size_t ns, cap;
    wchunk *c;    /* owned */
    size_t nc, ccap;
} wtrack;

struct vg_mp4w {
    int fd;            /* not owned */
    int rc;            /* first error, sticky */
    uint64_t pos;      /* bytes written so far */
    uint64_t mdat_at;  /* offset of the mdat box */
    int last_track;    /* track of the previous sample, -1 at start */
    unsigned n;
    wtrack tr[VG_MAX_TRACKS];
};

/* pwrite at explicit offsets: the file layout never depends on the fd's
 * position. */
static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno == ENOSPC ? VG_ENOSPC : VG_EIO;
        p += k;
        off += (uint64_t)k;
        n -= (size_t)k;
    }
    return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t esz)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 256;
    void *q = reallocarray(*p, nc, esz);
    if (!q)
        return VG_ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

int vg_mp4w_new(int fd, const vg_track *tracks, unsigned ntracks, const uint32_t *timescales,
                vg_mp4w **out)
{
    if (fd < 0 || !tracks || !timescales || !out || ntracks == 0 || ntracks > VG_MAX_TRACKS)
        return VG_EINVAL;
    for (unsigned i = 0; i < ntracks; i++)
        if (timescales[i] == 0)
            return VG_EINVAL;
    vg_mp4w *w = calloc(1, sizeof *w);
    if (!w)
        return VG_ENOMEM;
    w->fd = fd;
    w->n = ntracks;
    w->last_track = -1;
    for (unsigned i = 0; i < ntracks; i++) {
        w->tr[i].t = tracks[i];
        w->tr[i].ts = timescales[i];
    }
    /* ftyp (isom family; avc1 brand for players that look for it), then the
     * mdat header with a largesize placeholder. */
    uint8_t hdr[32 + 16] = {0, 0, 0, 32, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 2, 0,
                            'i', 's', 'o', 'm', 'i', 's', 'o', '2', 'a', 'v', 'c', '1',
                            'm', 'p', '4', '1', 0, 0, 0, 1, 'm', 'd', 'a', 't'};
    int rc = write_all(fd, hdr, sizeof hdr, 0);
    if (rc) {
        free(w);
        return rc;
    }
    w->mdat_at = 32;
    w->pos = sizeof hdr;
    *out = w;
    return 0;
}

int vg_mp4w_add(vg_mp4w *w, const vg_fmp4_sample *s)
{
    if (!w || !s || s->track >= w->n || (s->size && !s->data))
        return VG_EINVAL;
    if (w->rc)
        return w->rc;
    wtrack *t = &w->tr[s->track];
    if (t->ns && s->dts <= t->last_dts)
        return VG_EINVAL;
    if (t->ns >= VG_MP4_MAX_SAMPLES)
        return VG_ETOOBIG;
    int rc = grow((void **)&t->s, &t->cap, t->ns + 1, sizeof *t->s);
    if (!rc && w->last_track != (int)s->track)
        rc = grow((void **)&t->c, &t->ccap, t->nc + 1, sizeof *t->c);
    if (rc)
        return rc; /* nothing written: the writer stays usable */
    rc = write_all(w->fd, s->data, s->size, w->pos);
    if (rc)
        return w->rc = rc;
    if (t->ns) {
        uint64_t d = (uint64_t)(s->dts - t->last_dts);
        t->s[t->ns - 1].dur = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    }
    t->s[t->ns++] = (wsample){s->size, s->duration, s->cts_offset, (uint8_t)(s->key != 0)};
    t->last_dts = s->dts;
    if (w->last_track != (int)s->track)
        t->c[t->nc++] = (wchunk){w->pos, 0};
    t->c[t->nc - 1].n++;
    w->last_track = (int)s->track;
    w->pos += s->size;
    return 0;
}

/* ---- sample tables ---- */

static void write_stts(vg__bw *b, const wtrack *t)
{
    size_t box = vg__fullbox_open(b, "stts", 0, 0), cnt_at = b->b->len;
    uint32_t entries = 0;
    vg__w32(b, 0);
    for (size_t i = 0; i < t->ns;) {
        size_t j = i + 1;
        while (j < t->ns && t->s[j].dur == t->s[i].dur)
            j++;
        vg__w32(b, (uint32_t)(j - i));
        vg__w32(b, t->s[i].dur);
        entries++;
        i = j;
    }
    if (b->rc == 0)
        vg_wr32(b->b->data + cnt_at, entries);
    vg__box_close(b, box);
}

static void write_ctts(vg__bw *b, const wtrack *t)
{
    int any = 0, neg = 0;
    for (size_t i = 0; i < t->ns; i++) {
        any |= t->s[i].cts != 0;
        neg |= t->s[i].cts < 0;
    }
    if (!any)
        return;
    size_t box = vg__fullbox_open(b, "ctts", neg ? 1 : 0, 0), cnt_at = b->b->len;
    uint32_t entries = 0;
    vg__w32(b, 0);
    for (size_t i = 0; i < t->ns;) {
        size_t j = i + 1;
        while (j < t->ns && t->s[j].cts == t->s[i].cts)
            j++;
        vg__w32(b, (uint32_t)(j - i));
        vg__w32(b, (uint32_t)t->s[i].cts);
        entries++;
        i = j;
    }
    if (b->rc == 0)
        vg_wr32(b->b->data + cnt_at, entries);
    vg__box_close(b, box);
}

static void write_stss(vg__bw *b, const wtrack *t)
{
    size_t nkey = 0;
    for (size_t i = 0; i < t->ns; i++)
        nkey += t->s[i].key;
    if (nkey == t->ns)
        return; /* no stss: every sample is a sync sample */
    size_t box = vg__fullbox_open(b, "stss", 0, 0);
    vg__w32(b, (uint32_t)nkey);
    for (size_t i = 0; i < t->ns; i++)
        if (t->s[i].key)
            vg__w32(b, (uint32_t)(i + 1));
    vg__box_close(b, box);
}

static void write_stsz(vg__bw *b, const wtrack *t)
{
    int same = t->ns > 0;
    for (size_t i = 1; i < t->ns && same; i++)
        same = t->s[i].size == t->s[0].size;
    size_t box = vg__fullbox_open(b, "stsz", 0, 0);
    vg__w32(b, same ? t->s[0].size : 0);
    vg__w32(b, (uint32_t)t->ns);
    for (size_t i = 0; !same && i < t->ns; i++)
        vg__w32(b, t->s[i].size);
    vg__box_close(b, box);
}

static void write_chunks(vg__bw *b, const wtrack *t)
{
    size_t box = vg__fullbox_open(b, "stsc", 0, 0), cnt_at = b->b->len;
    uint32_t entries = 0;
    vg__w32(b, 0);
    for (size_t i = 0; i < t->nc; i++) {
        if (i > 0 && t->c[i].n == t->c[i - 1].n)
            continue;
        vg__w32(b, (uint32_t)(i + 1)); /* first_chunk */
        vg__w32(b, t->c[i].n);
        vg__w32(b, 1);                 /* sample_description_index */
        entries++;
    }
    if (b->rc == 0)
        vg_wr32(b->b->data + cnt_at, entries);
    vg__box_close(b, box);
    int big = t->nc && t->c[t->nc - 1].off > UINT32_MAX;
    box = vg__fullbox_open(b, big ? "co64" : "stco", 0, 0);
    vg__w32(b, (uint32_t)t->nc);
    for (size_t i = 0; i < t->nc; i++) {
        if (big)
            vg__w64(b, t->c[i].off);
        else
            vg__w32(b, (uint32_t)t->c[i].off);
    }
    vg__box_close(b, box);
}

static void write_tables(vg__bw *b, void *arg)
{
    const wtrack *t = arg;
    write_stts(b, t);
    write_ctts(b, t);
    if (t->t.kind == VG_TRACK_VIDEO)
        write_stss(b, t);
    write_stsz(b, t);
    write_chunks(b, t);
}

static uint64_t track_duration(const wtrack *t)
{
    uint64_t d = 0;
    for (size_t i = 0; i < t->ns; i++)
        d += t->s[i].dur;
    return d;
}

static int build_moov(const vg_mp4w *w, vg_buf *out)
{
    vg__bw b = {out, 0};
    uint64_t max_ms = 0, ms[VG_MAX_TRACKS];
    for (unsigned i = 0; i < w->n; i++) {
        ms[i] = track_duration(&w->tr[i]) * 1000u / w->tr[i].ts;
        if (ms[i] > max_ms)
            max_ms = ms[i];
    }
    size_t moov = vg__box_open(&b, "moov");
    vg__write_mvhd(&b, max_ms, w->n + 1);
    for (unsigned i = 0; i < w->n; i++)
        vg__write_trak(&b, &w->tr[i].t, i + 1, w->tr[i].ts, ms[i], track_duration(&w->tr[i]),
                       write_tables, (void *)&w->tr[i]);
    vg__box_close(&b, moov);
    return b.rc;
}

int vg_mp4w_finish(vg_mp4w *w)
{
    if (!w)
        return VG_EINVAL;
    if (w->rc)
        return w->rc;
    uint8_t large[8];
    vg_wr64(large, w->pos - w->mdat_at);
    vg_buf moov;
    vg_buf_init(&moov, MOOV_MAX);
    int rc = build_moov(w, &moov);
    if (rc)
        goto out;
    rc = write_all(w->fd, large, 8, w->mdat_at + 8);
    if (rc == 0)
        rc = write_all(w->fd, moov.data, moov.len, w->pos);
    if (rc == 0)
        w->pos += moov.len;
out:
    vg_buf_free(&moov);
    if (rc)
        w->rc = rc;
    return rc;
}

void vg_mp4w_free(vg_mp4w *w)
{
    if (!w)
        return;
    for (unsigned i = 0; i < w->n; i++) {
        free(w->tr[i].s);
        free(w->tr[i].c);
    }
    free(w);
}
