/* SPDX-License-Identifier: Apache-2.0 */
/* fMP4 fragmenter; invariants in fragmenter.h. */
#include "rec/fragmenter.h"
#include "core/err.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* Room for the envelope header plus a moof of ~500 samples; a bigger moof
 * (rare: very high frame or audio rates) falls back to one memmove. */
#define MOOF_RESERVE 8192
#define RESERVE (VG_RECW_HEADROOM + MOOF_RESERVE)
#define MAX_FRAG_BYTES (32u << 20)
#define MAX_SAMPLES 1024

int vg_fragr_init(vg_fragr *f, unsigned target_ms, size_t max_bytes, vg_fragr_emit emit,
                  void *arg)
{
    memset(f, 0, sizeof *f);
    vg_buf_init(&f->vbuf, MAX_FRAG_BYTES);
    vg_buf_init(&f->abuf, MAX_FRAG_BYTES / 4);
    vg_buf_init(&f->hdr, 1u << 20);
    f->target90k = (uint32_t)(target_ms ? target_ms : 1000) * 90;
    f->max_bytes = max_bytes ? max_bytes : VG_FRAGR_MAX_BYTES;
    f->emit = emit;
    f->arg = arg;
    return 0;
}

void vg_fragr_free(vg_fragr *f)
{
    vg_buf_free_wipe(&f->vbuf);
    vg_buf_free_wipe(&f->abuf);
    vg_buf_free(&f->hdr);
    free(f->smp);
    free(f->asmp);
    f->smp = f->asmp = NULL;
    f->cap = f->acap = 0;
}

void vg_fragr_reset(vg_fragr *f, unsigned vtrack, unsigned atrack)
{
    f->nv = f->na = 0;
    f->vbuf.len = 0;
    f->abuf.len = 0;
    f->vtrack = vtrack;
    f->atrack = atrack;
    f->last_dur = 0;
    f->seq = 0;
    f->in_gop = 0;
}

/* Make room for one more sample in *arr (capacity *cap). */
static int grow(vg_fmp4_sample **arr, unsigned *cap, unsigned need)
{
    if (need <= *cap)
        return 0;
    if (need > MAX_SAMPLES)
        return VG_ETOOBIG;
    unsigned nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    vg_fmp4_sample *p = realloc(*arr, nc * sizeof *p);
    if (!p)
        return VG_ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

static int emit_fragment(vg_fragr *f)
{
    if (!f->nv)
        return 0;
    int rc = 0;
    /* Audio after video (invariant 3): append to the video array. */
    if (f->na) {
        if ((rc = grow(&f->smp, &f->cap, f->nv + f->na)))
            goto out;
        memcpy(&f->smp[f->nv], f->asmp, f->na * sizeof *f->asmp);
        if ((rc = vg_buf_append(&f->vbuf, f->abuf.data, f->abuf.len)))
            goto out;
    }
    if ((rc = vg_buf_reserve(&f->vbuf, VG_RECW_TAILROOM)))
        goto out;
    vg_buf_reset(&f->hdr);
    if ((rc = vg_fmp4_fragment_header(&f->hdr, ++f->seq, f->smp, f->nv + f->na)))
        goto out;
    size_t datalen = f->vbuf.len - RESERVE;
    uint8_t *start;
    if (f->hdr.len <= MOOF_RESERVE) {
        start = f->vbuf.data + RESERVE - f->hdr.len;
    } else {
        size_t need = VG_RECW_HEADROOM + f->hdr.len;
        if ((rc = vg_buf_reserve(&f->vbuf, need - RESERVE + VG_RECW_TAILROOM)))
            goto out;
        memmove(f->vbuf.data + need, f->vbuf.data + RESERVE, datalen);
        start = f->vbuf.data + VG_RECW_HEADROOM;
    }
    memcpy(start, f->hdr.data, f->hdr.len);
    uint32_t dur = (uint32_t)(f->last_v90k + f->last_dur - f->start90k);
    rc = f->emit(f->arg, f->start90k, dur, f->smp[0].key, start, f->hdr.len + datalen);
out:
    f->nv = f->na = 0;
    f->vbuf.len = 0;
    f->abuf.len = 0;
    return rc;
}

static int open_fragment(vg_fragr *f, int64_t t90k)
{
    vg_buf_reset(&f->vbuf);
    int rc = vg_buf_reserve(&f->vbuf, RESERVE);
    if (rc)
        return rc;
    f->vbuf.len = RESERVE;
    f->start90k = t90k;
    return 0;
}

int vg_fragr_video(vg_fragr *f, int64_t t90k, int key, const uint8_t *data, size_t len)
{
    int erc = 0;
    if (f->nv) {
        int64_t d = t90k - f->last_v90k;
        /* Equal timestamps (a broken camera) still need a non-zero duration. */
        f->last_dur = (uint32_t)(d > 0 ? (d > UINT32_MAX ? UINT32_MAX : d) : 1);
        f->smp[f->nv - 1].duration = f->last_dur;
        if (key || t90k - f->start90k >= f->target90k || f->nv + f->na + 2 >= MAX_SAMPLES ||
            f->vbuf.len - RESERVE + f->abuf.len + len > f->max_bytes)
            erc = emit_fragment(f);
    }
    if (!f->nv) {
        /* A fragment starts at a keyframe or continues the GOP of the
         * previous fragment (cut for time): never before the run's first key. */
        if (!key && !f->in_gop)
            return erc;
        int rc = open_fragment(f, t90k);
        if (rc)
            return rc;
    }
    if (len > UINT32_MAX || vg_buf_append(&f->vbuf, data, len))
        return VG_ETOOBIG;
    int rc = grow(&f->smp, &f->cap, f->nv + 1);
    if (rc) {
        f->vbuf.len -= len;
        return rc;
    }
    vg_fmp4_sample *s = &f->smp[f->nv++];
    memset(s, 0, sizeof *s);
    s->track = f->vtrack;
    s->dts = t90k;
    s->duration = f->last_dur ? f->last_dur : 3000; /* provisional */
    s->key = key;
    s->size = (uint32_t)len;
    f->last_v90k = t90k;
    f->in_gop |= key;
    return erc;
}

int vg_fragr_audio(vg_fragr *f, int64_t dts, uint32_t dur, const uint8_t *data, size_t len)
{
    if (!f->nv)
        return 0;
    int rc = grow(&f->asmp, &f->acap, f->na + 1);
    if (rc)
        return rc;
    if (len > UINT32_MAX || vg_buf_append(&f->abuf, data, len))
        return VG_ETOOBIG;
    vg_fmp4_sample *s = &f->asmp[f->na++];
    memset(s, 0, sizeof *s);
    s->track = f->atrack;
    s->dts = dts;
    s->duration = dur;
    s->key = 1;
    s->size = (uint32_t)len;
    return 0;
}

int vg_fragr_flush(vg_fragr *f)
{
    if (!f->nv)
        return 0;
    if (!f->last_dur)
        f->last_dur = f->smp[f->nv - 1].duration;
    f->smp[f->nv - 1].duration = f->last_dur;
    return emit_fragment(f);
}
