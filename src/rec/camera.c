/* SPDX-License-Identifier: Apache-2.0 */
/* One camera: source lifecycle, reconnect with backoff, runs, time mapping
 * and fragmenting. Everything here runs on the camera's loop thread.
 *
 * States: idle --start--> connecting --playing--> recording
 *         recording/connecting --session ends--> offline --backoff--> connecting
 *
 * Invariants:
 *  1. A run starts only at a video keyframe, with an init segment describing
 *     exactly the tracks of the fragments that follow (on_tracks ends the
 *     run when they change; start_run builds the init from them).
 *  2. A run ends (closing the segment) on: session end, a timeline break
 *     (timemap.h invariant 4), packet loss (VG_FRAME_DISCONT: the depacketizer
 *     dropped to this keyframe, so the lost span becomes a visible gap), new
 *     parameter sets, disk full, and stop.
 *  3. Backoff after a failed session: 100 ms doubling to a 1 s cap; reset when
 *     a session delivers a frame. A camera that comes back is therefore
 *     probed within a second, and recording resumes at its next keyframe.
 */
#include "rec/camera_int.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "media/fmp4.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000

static void connect_source(vg_camera *c);

/* State for `vigil status` (store), the web's snapshot and live viewers. */
static void set_state(vg_camera *c, const char *state, const char *detail)
{
    vg_store_camera_state(c->store, c->id, state, detail);
    int changed;
    pthread_mutex_lock(&c->smu);
    changed = strcmp(c->st.state, state) != 0 || strcmp(c->st.detail, detail) != 0;
    /* "offline since" survives the retry loop (offline -> connecting -> offline). */
    int down_before = strcmp(c->st.state, "recording") != 0, down_now = strcmp(state, "recording") != 0;
    if (down_before != down_now)
        c->st.since = (int64_t)time(NULL);
    snprintf(c->st.state, sizeof c->st.state, "%s", state);
    snprintf(c->st.detail, sizeof c->st.detail, "%s", detail);
    pthread_mutex_unlock(&c->smu);
    if (changed)
        vg_live_state(&c->live, state, detail);
}

/* Bytes received, in a ring of one-second buckets (the bitrate shown is the
 * sum over the last ten seconds). */
static void count_bytes(vg_camera *c, size_t n)
{
    int64_t now = (int64_t)time(NULL);
    unsigned i = (unsigned)(now % 10);
    pthread_mutex_lock(&c->smu);
    if (c->bucket_sec[i] != now) {
        c->bucket_sec[i] = now;
        c->bucket_bytes[i] = 0;
    }
    c->bucket_bytes[i] += n;
    pthread_mutex_unlock(&c->smu);
}

static int emit(void *arg, int64_t start90k, uint32_t dur90k, int key, uint8_t *frag, size_t len)
{
    vg_camera *c = arg;
    int rc = vg_recw_fragment(c->w, start90k, dur90k, key ? VG_FRAG_KEY : 0, frag, len);
    if (rc == 0) {
        c->fragments++;
        c->last_end90k = start90k + dur90k;
        c->logged_enospc = 0;
        return 0;
    }
    /* The store ended the run on a write failure (store.h); committed footage
     * is untouched. Start again at the next keyframe. */
    c->in_run = 0;
    if (rc == VG_ENOSPC) {
        if (!c->logged_enospc)
            vg_error("rec", "%s: disk full: fragment dropped, recording resumes when space is freed",
                     c->name);
        c->logged_enospc = 1;
        set_state(c, "recording", "disk full: dropping footage");
    } else {
        vg_error("rec", "%s: writing footage failed: %s", c->name, vg_strerror(rc));
    }
    return rc;
}

static void end_run(vg_camera *c)
{
    if (!c->in_run)
        return;
    vg_fragr_flush(&c->fr);
    if (c->in_run) {
        int rc = vg_recw_end_run(c->w);
        if (rc)
            vg_warn("rec", "%s: closing segment: %s", c->name, vg_strerror(rc));
    }
    c->in_run = 0;
}

static int start_run(vg_camera *c)
{
    vg_track t[2];
    unsigned n = 0;
    t[n++] = c->tracks[c->vsrc];
    if (c->asrc >= 0)
        t[n++] = c->tracks[c->asrc];
    vg_buf init;
    vg_buf_init(&init, 1u << 20);
    int rc = vg_fmp4_init_segment(&init, t, n);
    if (!rc)
        rc = vg_recw_start_run(c->w, init.data, init.len);
    vg_buf_free(&init);
    if (rc) {
        if (rc != VG_ENOSPC || !c->logged_enospc)
            vg_error("rec", "%s: cannot start recording: %s", c->name, vg_strerror(rc));
        c->logged_enospc = rc == VG_ENOSPC;
        return rc;
    }
    vg_fragr_reset(&c->fr, 0, 1);
    c->in_run = 1;
    return 0;
}

static int same_params(const vg_track *a, const vg_track *b)
{
    return a->codec == b->codec && a->sps_len == b->sps_len && a->pps_len == b->pps_len &&
           a->vps_len == b->vps_len && a->asc_len == b->asc_len &&
           !memcmp(a->sps, b->sps, a->sps_len) && !memcmp(a->pps, b->pps, a->pps_len) &&
           !memcmp(a->vps, b->vps, a->vps_len) && !memcmp(a->asc, b->asc, a->asc_len);
}

static void on_tracks(void *arg, const vg_track *tracks, unsigned n)
{
    vg_camera *c = arg;
    int vsrc = -1, asrc = -1;
    if (n > VG_MAX_TRACKS)
        n = VG_MAX_TRACKS;
    for (unsigned i = 0; i < n; i++) {
        if (vsrc < 0 && tracks[i].kind == VG_TRACK_VIDEO &&
            (tracks[i].codec == VG_CODEC_H264 || tracks[i].codec == VG_CODEC_H265))
            vsrc = (int)i;
        else if (asrc < 0 && tracks[i].kind == VG_TRACK_AUDIO && tracks[i].codec == VG_CODEC_AAC &&
                 tracks[i].asc_len)
            asrc = (int)i;
    }
    int changed = vsrc != c->vsrc || asrc != c->asrc ||
                  (vsrc >= 0 && !same_params(&tracks[vsrc], &c->tracks[vsrc])) ||
                  (asrc >= 0 && !same_params(&tracks[asrc], &c->tracks[asrc]));
    memcpy(c->tracks, tracks, n * sizeof *tracks);
    c->ntracks = n;
    c->vsrc = vsrc;
    c->asrc = asrc;
    if (vsrc < 0) {
        vg_warn("rec", "%s: no H.264/H.265 video track; nothing to record", c->name);
        end_run(c);
        return;
    }
    pthread_mutex_lock(&c->smu);
    c->st.width = tracks[vsrc].width;
    c->st.height = tracks[vsrc].height;
    snprintf(c->st.codec, sizeof c->st.codec, "%s", tracks[vsrc].codec == VG_CODEC_H264 ? "h264" : "h265");
    c->st.audio = asrc >= 0;
    pthread_mutex_unlock(&c->smu);
    if (changed) {
        /* Invariant 1: fragments after this point need a new init segment,
         * which start_run makes from the current tracks. */
        end_run(c);
        vg_info("rec", "%s: video %s %ux%u%s", c->name,
                tracks[vsrc].codec == VG_CODEC_H264 ? "H.264" : "H.265", tracks[vsrc].width,
                tracks[vsrc].height, asrc >= 0 ? ", audio AAC" : "");
    }
}

static void on_video(vg_camera *c, const vg_frame *f, uint64_t now_us)
{
    const vg_track *t = &c->tracks[c->vsrc];
    int key = (f->flags & VG_FRAME_KEY) != 0;
    int64_t t90k = 0;
    int have = 0;
    if (c->vtm.anchored) {
        if (vg_tm_map(&c->vtm, f->ts, now_us, &t90k) == 0) {
            have = 1;
        } else {
            if (c->in_run)
                vg_warn("rec", "%s: camera timeline jumped (reboot or timestamp reset); new run",
                        c->name);
            end_run(c);
            c->vtm.anchored = 0;
        }
    }
    if (c->in_run && (f->flags & VG_FRAME_DISCONT)) {
        /* Loss (invariant 2): the depacketizer dropped to this keyframe. The
         * RTP clock still places it exactly, so the gap has the right length. */
        vg_info("rec", "%s: packet loss; gap in recording until this keyframe", c->name);
        end_run(c);
    }
    if (!c->in_run) {
        if (!key) {
            c->dropped++;
            return;
        }
        /* Timemap invariant 3: never before the end of what is recorded. */
        vg_tm_anchor(&c->vtm, t->clock_rate, f->ts, have ? t90k : vg_wall_90k(), c->last_end90k,
                     now_us);
        t90k = c->vtm.t90k;
        if (start_run(c) != 0) {
            c->vtm.anchored = 0;
            return;
        }
        c->atm.anchored = 0;
    }
    c->last_video_mono_us = now_us;
    c->frames++;
    /* Live viewers get the frame now, before the fragmenter holds it until
     * the next one (live.h invariant 2 relies on this order). */
    vg_live_frame(&c->live, c->w, &c->fr, t90k, key, f->data, f->len);
    int rc = vg_fragr_video(&c->fr, t90k, key, f->data, f->len);
    if (rc == VG_ETOOBIG)
        vg_warn("rec", "%s: frame of %zu bytes dropped (too big)", c->name, f->len);
}

static void on_audio(vg_camera *c, const vg_frame *f, uint64_t now_us)
{
    if (!c->in_run || !vg_fragr_open(&c->fr))
        return;
    const vg_track *t = &c->tracks[c->asrc];
    int64_t t90k;
    if (!c->atm.anchored || vg_tm_map(&c->atm, f->ts, now_us, &t90k) != 0) {
        /* Audio joins the video timeline where video is now; a small offset
         * is possible without RTCP sender reports (docs/design/time.md). */
        int64_t now90k = c->vtm.t90k + (int64_t)(now_us - c->last_video_mono_us) * 9 / 100;
        vg_tm_anchor(&c->atm, t->clock_rate, f->ts, now90k, 0, now_us);
        t90k = c->atm.t90k;
    }
    uint32_t rate = t->clock_rate ? t->clock_rate : 48000;
    int64_t dts = t90k * rate / VG_HZ;
    vg_live_audio(&c->live, c->w, &c->fr, rate, dts, 1024, f->data, f->len);
    vg_fragr_audio(&c->fr, dts, 1024, f->data, f->len);
}

static void on_frame(void *arg, const vg_frame *f)
{
    vg_camera *c = arg;
    if (c->stopping || c->vsrc < 0)
        return;
    uint64_t now_us = vg_mono_us();
    count_bytes(c, f->len);
    if (c->backoff_ms) {
        c->backoff_ms = 0; /* invariant 3: a working session resets the backoff */
        if (c->last_why[0])
            vg_info("rec", "%s: receiving video again", c->name);
        c->last_why[0] = 0;
        set_state(c, "recording", "");
    }
    if ((int)f->track == c->vsrc)
        on_video(c, f, now_us);
    else if ((int)f->track == c->asrc)
        on_audio(c, f, now_us);
}

static void on_state(void *arg, int rc, const char *why)
{
    vg_camera *c = arg;
    if (rc == 0) {
        vg_info("rec", "%s: %s", c->name, why);
        set_state(c, "recording", "");
        return;
    }
    end_run(c);
    c->vtm.anchored = 0;
    if (c->stopping)
        return;
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (c->backoff_ms > BACKOFF_MAX_MS)
        c->backoff_ms = BACKOFF_MAX_MS;
    /* A camera that stays down is retried every second: log the first
     * failure, a change of reason, and then once a minute. */
    uint64_t now = vg_mono_ms();
    if (strcmp(why, c->last_why) != 0 || now - c->last_why_ms >= 60000) {
        vg_warn("rec", "%s: %s; retrying every %u ms or less", c->name, why, BACKOFF_MAX_MS);
        snprintf(c->last_why, sizeof c->last_why, "%s", why);
        c->last_why_ms = now;
    }
    set_state(c, "offline", why);
    /* The session is freed from the timer, never inside its own callback. */
    vg_timer_start(c->loop, &c->retry, c->backoff_ms);
}

static const vg_source_cbs source_cbs = {on_tracks, on_frame, on_state};

static void close_source(vg_camera *c)
{
    if (c->rtsp) {
        vg_rtsp_free(c->rtsp);
        c->rtsp = NULL;
    }
    if (c->fsrc) {
        vg_filesrc_free(c->fsrc);
        c->fsrc = NULL;
    }
}

static void connect_source(vg_camera *c)
{
    int rc;
    close_source(c);
    /* Keep the last failure visible while retrying: a camera that never
     * answers would otherwise show "connecting" with no reason, forever. */
    char detail[160] = "";
    if (c->last_why[0])
        snprintf(detail, sizeof detail, "retrying after: %s", c->last_why);
    set_state(c, "connecting", detail);
    if (c->file) {
        rc = vg_filesrc_new(c->loop, c->file, &source_cbs, c, &c->fsrc);
        if (!rc)
            rc = vg_filesrc_start(c->fsrc);
    } else {
        /* 10 s per request: an overloaded camera or server answers late, and
         * giving up early only adds a reconnect's load to it. Media stalls
         * are still noticed after the client's 5 s stall timeout. */
        vg_rtsp_opts o = {.url = c->url, .user = c->user, .pass = c->pass,
                          .transport = c->transport, .name = c->name,
                          .request_timeout_ms = 10000};
        rc = vg_rtsp_new(c->loop, &o, &source_cbs, c, &c->rtsp);
        if (!rc)
            rc = vg_rtsp_start(c->rtsp);
    }
    if (rc)
        on_state(c, rc, vg_strerror(rc));
}

static void on_retry(vg_loop *loop, vg_timer *t)
{
    vg_camera *c = t->data;
    if (!c->stopping)
        connect_source(c);
}

int vg_camera_init(vg_camera *c, vg_loop *loop, vg_store *st, const vg_camera_cfg *cfg,
                   const uint8_t *pk, enum vg_rtsp_transport tr, unsigned fragment_ms)
{
    memset(c, 0, sizeof *c);
    c->loop = loop;
    c->store = st;
    c->transport = tr;
    c->vsrc = c->asrc = -1;
    snprintf(c->name, sizeof c->name, "%s", cfg->name);
    vg_timer_init(&c->retry, on_retry, c);
    pthread_mutex_init(&c->smu, NULL);
    vg_live_init(&c->live);
    snprintf(c->st.state, sizeof c->st.state, "connecting");
    c->st.since = (int64_t)time(NULL);
    memcpy(c->pk, cfg->footage_pk ? cfg->footage_pk : pk, sizeof c->pk);
    c->retain_s = cfg->retain_seconds;
    c->retain_b = cfg->retain_bytes;
    if (cfg->user && !(c->user = strdup(cfg->user)))
        return VG_ENOMEM;
    if (cfg->password && !(c->pass = strdup(cfg->password)))
        return VG_ENOMEM;
    if (cfg->url && !(c->url = strdup(cfg->url)))
        return VG_ENOMEM;
    if (cfg->file && !(c->file = strdup(cfg->file)))
        return VG_ENOMEM;
    int rc = vg_fragr_init(&c->fr, fragment_ms, 0, emit, c);
    if (!rc)
        rc = vg_store_camera(st, c->name, c->pk, c->retain_s, c->retain_b, &c->id);
    if (!rc)
        rc = vg_recw_open(st, c->id, &c->w);
    return rc;
}

void vg_camera_start(vg_camera *c, unsigned delay_ms)
{
    if (!delay_ms)
        connect_source(c);
    else
        vg_timer_start(c->loop, &c->retry, delay_ms);
}

void vg_camera_stop(vg_camera *c)
{
    c->stopping = 1;
    vg_timer_stop(c->loop, &c->retry);
    close_source(c);
    end_run(c);
    set_state(c, "offline", "recorder stopped");
}

void vg_camera_free(vg_camera *c)
{
    if (c->w)
        vg_recw_free(c->w);
    vg_fragr_free(&c->fr);
    free(c->url);
    free(c->file);
    c->url = c->file = NULL;
    if (c->user) {
        sodium_memzero(c->user, strlen(c->user));
        free(c->user);
    }
    if (c->pass) {
        sodium_memzero(c->pass, strlen(c->pass));
        free(c->pass);
    }
    c->user = c->pass = NULL;
    vg_live_free(&c->live);
    pthread_mutex_destroy(&c->smu);
}

void vg_camera_status(vg_camera *c, vg_cam_status *out)
{
    int64_t now = (int64_t)time(NULL);
    uint64_t sum = 0;
    pthread_mutex_lock(&c->smu);
    *out = c->st;
    for (unsigned i = 0; i < 10; i++)
        if (now - c->bucket_sec[i] < 10 && now - c->bucket_sec[i] >= 0)
            sum += c->bucket_bytes[i];
    pthread_mutex_unlock(&c->smu);
    out->bitrate = sum * 8 / 10;
}
