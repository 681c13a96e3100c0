/* SPDX-License-Identifier: Apache-2.0 */
/* Live tap (live.h; wire contract in docs/design/live.md).
 *
 * Invariants:
 *  1. Nothing leaves the hub but sealed envelopes, sealed content keys and
 *     state text: a frame's plaintext exists only in l->scratch (and the
 *     fragmenter's buffer) and is encrypted in place before any callback.
 *  2. A subscriber sees, in order: STATE (if known), SEGMENT, the stored
 *     envelopes of the current GOP, the frames of the fragment not yet
 *     stored (as live chunks), then each new frame as it completes. So it
 *     starts at the most recent keyframe with no gap and no duplicate.
 *  3. Every chunk is preceded, for that subscriber, by the SEGMENT whose key
 *     sealed it (segment changes are broadcast before the first chunk of the
 *     new segment).
 *  4. Callbacks run with l->mu held, so unsubscribe is a barrier. */
#include "rec/live.h"
#include "core/err.h"
#include "core/log.h"
#include "crypt/crypt.h"
#include "media/fmp4.h"
#include "rec/fragmenter.h"

#include <stdio.h>
#include <string.h>

#define FRAME_MAX (32u << 20)
#define GOP_MAX (64u << 20)

void vg_live_init(vg_live *l)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    atomic_init(&l->nsubs, 0);
    vg_buf_init(&l->scratch, FRAME_MAX + VG_RECW_HEADROOM + VG_RECW_TAILROOM + 4096);
    vg_buf_init(&l->gop, GOP_MAX);
    l->last_dur = 3000;
}

void vg_live_free(vg_live *l)
{
    vg_buf_free_wipe(&l->scratch);
    vg_buf_free(&l->gop);
    pthread_mutex_destroy(&l->mu);
}

int vg_live_subscribe(vg_live *l, vg_live_sub *s)
{
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    if (l->closed) {
        rc = VG_EINVAL;
    } else {
        s->started = 0;
        s->next = l->subs;
        l->subs = s;
        atomic_fetch_add(&l->nsubs, 1);
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void vg_live_unsubscribe(vg_live *l, vg_live_sub *s)
{
    pthread_mutex_lock(&l->mu);
    for (vg_live_sub **p = &l->subs; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            atomic_fetch_sub(&l->nsubs, 1);
            break;
        }
    pthread_mutex_unlock(&l->mu);
}

/* One frame as a one-sample moof+mdat of track `track` (dts, dur in that
 * track's timescale; sync: a sync sample), sealed in place in l->scratch;
 * the envelope carries t90k/dur90k and the key flag `key` (a video
 * keyframe: where a viewer may start; audio chunks are never key). */
static int make_chunk(vg_live *l, vg_recw *w, unsigned track, int64_t dts, uint32_t dur, int sync,
                      int64_t t90k, uint32_t dur90k, int key, const uint8_t *data, size_t len,
                      uint8_t **env, size_t *env_len)
{
    if (len > FRAME_MAX)
        return VG_ETOOBIG;
    vg_buf_reset(&l->scratch);
    int rc = vg_buf_reserve(&l->scratch, VG_RECW_HEADROOM + len + 1024 + VG_RECW_TAILROOM);
    if (rc)
        return rc;
    l->scratch.len = VG_RECW_HEADROOM;
    vg_fmp4_sample s = {.track = track, .dts = dts, .duration = dur, .key = sync,
                        .data = data, .size = (uint32_t)len};
    if ((rc = vg_fmp4_fragment(&l->scratch, ++l->seq, &s, 1)) != 0 ||
        (rc = vg_buf_reserve(&l->scratch, VG_RECW_TAILROOM)) != 0)
        return rc;
    uint64_t seg;
    return vg_recw_live_seal(w, t90k, dur90k, key, l->scratch.data + VG_RECW_HEADROOM,
                             l->scratch.len - VG_RECW_HEADROOM, env, env_len, &seg);
}

/* An audio sample (track timescale `rate`) as an audio chunk. */
static int make_audio_chunk(vg_live *l, vg_recw *w, unsigned track, uint32_t rate, int64_t dts,
                            uint32_t dur, const uint8_t *data, size_t len, uint8_t **env,
                            size_t *env_len)
{
    if (!rate || dts < 0)
        return VG_EINVAL;
    int64_t t90k = dts / rate * 90000 + dts % rate * 90000 / rate;
    uint32_t dur90k = (uint32_t)((uint64_t)dur * 90000 / rate);
    return make_chunk(l, w, track, dts, dur, 1, t90k, dur90k, 0, data, len, env, env_len);
}

static int segment_payload(vg_recw *w, vg_buf *out, uint64_t *seg_id)
{
    vg_recw_live_info in;
    int rc = vg_recw_live_segment(w, &in);
    if (rc)
        return rc;
    vg_buf_reset(out);
    if ((rc = vg_buf_append_be64(out, in.segment_id)) || (rc = vg_buf_append(out, in.sealed_key, 80)) ||
        (rc = vg_buf_append(out, in.init_env, in.init_env_len)))
        return rc;
    *seg_id = in.segment_id;
    return 0;
}

/* Stored envelopes of the current GOP, each as a CHUNK to s. */
static void send_stored_gop(vg_live *l, vg_recw *w, vg_live_sub *s)
{
    vg_buf_reset(&l->gop);
    if (vg_recw_live_gop(w, &l->gop) != 0)
        return;
    size_t off = 0;
    while (off < l->gop.len) {
        vg_env_hdr h;
        size_t rl = 0;
        if (vg_env_parse(l->gop.data + off, l->gop.len - off, &h, &rl) != 0 || rl > l->gop.len - off)
            break;
        s->cb(s->arg, VG_LIVE_CHUNK, (h.flags & VG_ENV_F_KEY) != 0, l->gop.data + off, rl);
        off += rl;
    }
}

/* Invariant 2 for a new subscriber, at frame F (key: F is a keyframe). */
static void start_sub(vg_live *l, vg_recw *w, const vg_fragr *fr, vg_live_sub *s, int key)
{
    uint64_t seg;
    s->started = 1;
    if (l->state_json[0])
        s->cb(s->arg, VG_LIVE_STATE, 0, (const uint8_t *)l->state_json, strlen(l->state_json));
    if (segment_payload(w, &l->gop, &seg) != 0)
        return;
    s->cb(s->arg, VG_LIVE_SEGMENT, 1, l->gop.data, l->gop.len);
    if (key)
        return; /* the GOP starts with F itself */
    if (!(fr->nv > 0 && fr->smp[0].key))
        send_stored_gop(l, w, s);
    /* The open fragment's frames: their data is contiguous at the end of vbuf. */
    size_t end = fr->vbuf.len, total = 0;
    for (unsigned i = 0; i < fr->nv; i++)
        total += fr->smp[i].size;
    if (total > end)
        return;
    size_t at = end - total;
    for (unsigned i = 0; i < fr->nv; i++) {
        const vg_fmp4_sample *sm = &fr->smp[i];
        uint8_t *env;
        size_t el;
        uint32_t dur = i + 1 < fr->nv ? sm->duration : l->last_dur;
        if (make_chunk(l, w, fr->vtrack, sm->dts, dur, sm->key, sm->dts, dur, sm->key,
                       fr->vbuf.data + at, sm->size, &env, &el) == 0)
            s->cb(s->arg, VG_LIVE_CHUNK, sm->key, env, el);
        at += sm->size;
    }
    /* ... and its audio, kept apart in abuf in arrival order. */
    size_t aat = 0;
    for (unsigned i = 0; i < fr->na && l->arate; i++) {
        const vg_fmp4_sample *sm = &fr->asmp[i];
        uint8_t *env;
        size_t el;
        if (aat + sm->size > fr->abuf.len)
            break;
        if (make_audio_chunk(l, w, fr->atrack, l->arate, sm->dts, sm->duration, fr->abuf.data + aat,
                             sm->size, &env, &el) == 0)
            s->cb(s->arg, VG_LIVE_CHUNK, 0, env, el);
        aat += sm->size;
    }
}

/* Invariant 3: a new segment is announced before its first chunk. */
static void announce_segment(vg_live *l, vg_recw *w)
{
    uint64_t seg = 0;
    vg_recw_live_info in;
    if (vg_recw_live_segment(w, &in) == 0 && in.segment_id != l->seg_sent &&
        segment_payload(w, &l->gop, &seg) == 0) {
        for (vg_live_sub *s = l->subs; s; s = s->next)
            if (s->started)
                s->cb(s->arg, VG_LIVE_SEGMENT, 1, l->gop.data, l->gop.len);
        l->seg_sent = seg;
    }
}

void vg_live_frame(vg_live *l, vg_recw *w, const vg_fragr *fr, int64_t t90k, int key, const uint8_t *data,
                   size_t len)
{
    if (l->last_t90k && t90k > l->last_t90k && t90k - l->last_t90k < 90000 * 10)
        l->last_dur = (uint32_t)(t90k - l->last_t90k);
    l->last_t90k = t90k;
    if (!vg_live_active(l))
        return;
    pthread_mutex_lock(&l->mu);
    announce_segment(l, w);
    for (vg_live_sub *s = l->subs; s; s = s->next)
        if (!s->started)
            start_sub(l, w, fr, s, key);
    uint8_t *env;
    size_t el;
    if (make_chunk(l, w, fr->vtrack, t90k, l->last_dur, key, t90k, l->last_dur, key, data, len, &env,
                   &el) == 0)
        for (vg_live_sub *s = l->subs; s; s = s->next)
            s->cb(s->arg, VG_LIVE_CHUNK, key, env, el);
    pthread_mutex_unlock(&l->mu);
}

void vg_live_audio(vg_live *l, vg_recw *w, const vg_fragr *fr, uint32_t rate, int64_t dts,
                   uint32_t dur, const uint8_t *data, size_t len)
{
    l->arate = rate;
    if (!vg_live_active(l))
        return;
    pthread_mutex_lock(&l->mu);
    announce_segment(l, w);
    uint8_t *env;
    size_t el;
    /* Subscribers not started yet get this frame from the open fragment
     * when they start (at the next video frame). */
    if (make_audio_chunk(l, w, fr->atrack, rate, dts, dur, data, len, &env, &el) == 0)
        for (vg_live_sub *s = l->subs; s; s = s->next)
            if (s->started)
                s->cb(s->arg, VG_LIVE_CHUNK, 0, env, el);
    pthread_mutex_unlock(&l->mu);
}

/* JSON string body: the detail comes from our own code or a peer's reason
 * phrase; anything but printable ASCII becomes '?', quotes are escaped. */
static void json_text(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; s && *s && k + 3 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            out[k++] = '\\';
        out[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[k] = 0;
}

void vg_live_state(vg_live *l, const char *state, const char *detail)
{
    char st[32], de[160];
    json_text(st, sizeof st, state);
    json_text(de, sizeof de, detail);
    pthread_mutex_lock(&l->mu);
    snprintf(l->state_json, sizeof l->state_json, "{\"state\":\"%s\",\"detail\":\"%s\"}", st, de);
    for (vg_live_sub *s = l->subs; s; s = s->next)
        if (s->started)
            s->cb(s->arg, VG_LIVE_STATE, 0, (const uint8_t *)l->state_json, strlen(l->state_json));
    pthread_mutex_unlock(&l->mu);
}

void vg_live_close(vg_live *l)
{
    pthread_mutex_lock(&l->mu);
    l->closed = 1;
    for (vg_live_sub *s = l->subs; s;) {
        vg_live_sub *next = s->next;
        s->cb(s->arg, VG_LIVE_END, 0, NULL, 0);
        s = next;
    }
    l->subs = NULL;
    atomic_store(&l->nsubs, 0);
    pthread_mutex_unlock(&l->mu);
}
