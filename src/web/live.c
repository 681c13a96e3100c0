/* SPDX-License-Identifier: Apache-2.0 */
/* GET /api/live: one long streamed response per viewer multiplexing the
 * cameras it asked for (docs/design/live.md "Live"; records framed
 * [u32 len][u8 type][u32 camera][payload], big-endian).
 *
 * Invariants:
 *  1. The recorder's threads only append to a viewer's bounded queue (under
 *     v->mu) and set a wake flag; everything touching MHD runs on the web
 *     loop's thread (posted wake, timer, MHD callbacks).
 *  2. A viewer with nothing to send is suspended (MHD_suspend_connection),
 *     never given 0 bytes (0.9.75 spins on that), and resumed when data
 *     arrives or on the keepalive tick.
 *  3. A full queue drops that camera's chunks until its next keyframe
 *     (SEGMENT and STATE records are kept, up to twice the bound): a slow
 *     viewer never blocks the recorder or other viewers.
 *  4. A viewer is unsubscribed from every camera before it is freed (the
 *     response's free callback); the hub's lock makes that a barrier.
 *  5. Keepalive every 5 s; a viewer whose session ended, or that could not
 *     take a byte for 60 s, is ended. */
#include "web/web_int.h"
#include "core/err.h"
#include "core/log.h"
#include "rec/live.h"
#include "rec/recorder.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CAMS 16
#define QUEUE_MAX (8u << 20)      /* ~2 s of a few main streams */
#define KEEPALIVE_MS 5000
#define STALL_MS 60000
#define TICK_MS 1000

typedef struct vg_viewer vg_viewer;

typedef struct view_cam {
    vg_live_sub sub;
    vg_viewer *v;
    int64_t id;
    char name[64];
    int subscribed;
    int dropping;      /* queue overflowed: skip chunks to the next keyframe */
    int ended;
} view_cam;

struct vg_viewer {
    vg_web *w;
    struct MHD_Connection *conn;
    pthread_mutex_t mu;
    vg_buf q;          /* framed records not yet sent; bounded */
    size_t qoff;       /* bytes of q already sent */
    int suspended;     /* web thread */
    int ending;        /* end the stream once q is drained */
    uint64_t last_rec_ms, last_send_ms;
    char sid[VG_TOKEN_B64_MAX];
    char addr[64];
    unsigned ncam;
    view_cam cams[MAX_CAMS];
    vg_viewer *next;
};

static uint64_t now_ms(vg_web *w) { return vg_loop_now(w->loop); }

/* v->mu held. */
static void push_locked(vg_viewer *v, int type, uint32_t cam, const uint8_t *p, size_t n)
{
    if (n > UINT32_MAX - 16) return;
    if (v->qoff && v->qoff == v->q.len) { v->q.len = 0; v->qoff = 0; }
    if (v->qoff > (1u << 20)) { vg_buf_consume(&v->q, v->qoff); v->qoff = 0; }
    uint8_t hdr[9];
    vg_wr32(hdr, (uint32_t)(n + 5));
    hdr[4] = (uint8_t)type;
    vg_wr32(hdr + 5, cam);
    if (vg_buf_append(&v->q, hdr, sizeof hdr) == 0 && vg_buf_append(&v->q, p, n) != 0)
        v->q.len -= sizeof hdr;
}

static void wake(vg_web *w);

/* Recorder thread (hub lock held): copy in, flag the web thread (invariant 1). */
static void on_live(void *arg, int type, int key, const uint8_t *p, size_t n)
{
    view_cam *vc = arg;
    vg_viewer *v = vc->v;
    pthread_mutex_lock(&v->mu);
    size_t queued = v->q.len - v->qoff;
    if (type == VG_LIVE_END) {
        static const char gone[] = "{\"state\":\"offline\",\"detail\":\"camera removed\"}";
        vc->ended = 1;
        push_locked(v, VG_LIVE_STATE, (uint32_t)vc->id, (const uint8_t *)gone, sizeof gone - 1);
    } else if (type == VG_LIVE_CHUNK) {
        if (vc->dropping && key) vc->dropping = 0;
        if (!vc->dropping && queued + n + 9 > QUEUE_MAX) vc->dropping = 1;
        if (!vc->dropping) push_locked(v, type, (uint32_t)vc->id, p, n);
    } else if (queued + n + 9 <= 2 * (size_t)QUEUE_MAX) {
        push_locked(v, type, (uint32_t)vc->id, p, n);
    }
    pthread_mutex_unlock(&v->mu);
    wake(v->w);
}

static void resume_ready(vg_web *w)
{
    for (vg_viewer *v = w->viewers; v; v = v->next) {
        pthread_mutex_lock(&v->mu);
        int ready = v->q.len > v->qoff || v->ending;
        pthread_mutex_unlock(&v->mu);
        if (v->suspended && ready) {
            v->suspended = 0;
            MHD_resume_connection(v->conn);
        }
    }
}

static void on_wake(void *arg)
{
    vg_web *w = arg;
    atomic_store(&w->wake_pending, 0);
    resume_ready(w);
    vg_web_kick(w);
}

static void wake(vg_web *w)
{
    if (atomic_exchange(&w->wake_pending, 1) == 0 && vg_loop_post(w->loop, on_wake, w) != 0)
        atomic_store(&w->wake_pending, 0);   /* the keepalive tick resumes it instead */
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    vg_viewer *v = cls;
    size_t n = 0;
    int end = 0;
    pthread_mutex_lock(&v->mu);
    size_t avail = v->q.len - v->qoff;
    if (avail) {
        n = avail < max ? avail : max;
        memcpy(buf, v->q.data + v->qoff, n);
        v->qoff += n;
    } else {
        end = v->ending;
    }
    pthread_mutex_unlock(&v->mu);
    if (n) { v->last_send_ms = now_ms(v->w); return (ssize_t)n; }
    if (end) return MHD_CONTENT_READER_END_OF_STREAM;
    /* Invariant 2. */
    v->suspended = 1;
    MHD_suspend_connection(v->conn);
    return 0;
}

static void unsubscribe_all(vg_viewer *v)
{
    for (unsigned i = 0; i < v->ncam; i++)
        if (v->cams[i].subscribed && v->w->rec) {
            vg_recorder_live_unsubscribe(v->w->rec, v->cams[i].name, &v->cams[i].sub);
            v->cams[i].subscribed = 0;
        }
}

static void viewer_free(void *cls)
{
    vg_viewer *v = cls;
    unsubscribe_all(v);   /* invariant 4 */
    for (vg_viewer **p = &v->w->viewers; *p; p = &(*p)->next)
        if (*p == v) { *p = v->next; break; }
    vg_buf_free(&v->q);
    pthread_mutex_destroy(&v->mu);
    sodium_memzero(v->sid, sizeof v->sid);
    free(v);
}

static void tick(vg_loop *loop, vg_timer *t)
{
    vg_web *w = t->data;
    uint64_t now = now_ms(w);
    for (vg_viewer *v = w->viewers; v; v = v->next) {
        vg_ctx ctx;
        int gone = vg_auth_session(w->auth, v->sid, vg_web_now(), v->addr, &ctx) != 0;
        pthread_mutex_lock(&v->mu);
        if (gone || (v->q.len > v->qoff && now - v->last_send_ms > STALL_MS)) v->ending = 1;
        if (now - v->last_rec_ms >= KEEPALIVE_MS) {
            push_locked(v, VG_LIVE_KEEPALIVE, 0, NULL, 0);
            v->last_rec_ms = now;
        }
        pthread_mutex_unlock(&v->mu);
        sodium_memzero(&ctx, sizeof ctx);
    }
    resume_ready(w);
    if (w->viewers) vg_web_kick(w);
    vg_timer_start(loop, t, TICK_MS);
}

void vg_live_web_init(vg_web *w)
{
    atomic_init(&w->wake_pending, 0);
    vg_timer_init(&w->live_timer, tick, w);
}

void vg_live_web_shutdown(vg_web *w)
{
    vg_timer_stop(w->loop, &w->live_timer);
    for (vg_viewer *v = w->viewers; v; v = v->next) {
        unsubscribe_all(v);
        pthread_mutex_lock(&v->mu);
        v->ending = 1;
        v->qoff = v->q.len;
        pthread_mutex_unlock(&v->mu);
    }
    resume_ready(w);
    for (int i = 0; i < 3 && w->viewers; i++) MHD_run(w->d);
}

struct cam_args { int64_t ids[MAX_CAMS]; unsigned n; int bad; };

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *val)
{
    struct cam_args *a = cls;
    if (strcmp(key, "camera") != 0) return MHD_YES;
    size_t n = val ? strlen(val) : 0;
    int64_t v = 0;
    if (n == 0 || n > 15 || val[0] == '0' || a->n == MAX_CAMS) { a->bad = 1; return MHD_NO; }
    for (size_t i = 0; i < n; i++) {
        if (val[i] < '0' || val[i] > '9') { a->bad = 1; return MHD_NO; }
        v = v * 10 + (val[i] - '0');
    }
    for (unsigned i = 0; i < a->n; i++)
        if (a->ids[i] == v) return MHD_YES;
    a->ids[a->n++] = v;
    return MHD_YES;
}

static void initial_state(vg_viewer *v, view_cam *vc, const char *stream)
{
    vg_cam_status cs;
    char js[400];   /* detail (< 128 bytes, JSON-escaped) and the rest */
    if (vg_recorder_status(v->w->rec, vc->name, &cs) != 0) return;
    /* "stream" tells the browser which of the camera's streams it gets. */
    json_t *o = json_pack("{s:s,s:s,s:s}", "state", cs.state, "detail", cs.detail, "stream", stream);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!t) return;
    snprintf(js, sizeof js, "%s", t);
    free(t);
    pthread_mutex_lock(&v->mu);
    push_locked(v, VG_LIVE_STATE, (uint32_t)vc->id, (const uint8_t *)js, strlen(js));
    pthread_mutex_unlock(&v->mu);
}

enum MHD_Result vg_h_live(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    struct cam_args a = {0};
    if (!w->rec) return vg_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder");
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &a);
    if (a.bad || a.n == 0) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_camera");
    /* stream=sub: each camera's substream where it has one (the grid);
     * stream=main or none: the main streams (docs/design/live.md). */
    const char *sv = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "stream");
    if (sv && strcmp(sv, "main") != 0 && strcmp(sv, "sub") != 0)
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_stream");
    int want_sub = sv && strcmp(sv, "sub") == 0, is_sub[MAX_CAMS];
    char names[MAX_CAMS][64];
    for (unsigned i = 0; i < a.n; i++) {
        int rc = vg_cam_access(w, r, a.ids[i], "live", names[i]);
        if (rc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
        if (rc == VG_EAUTH) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "no_key");
        if (rc) return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
        is_sub[i] = vg_sub_live_pick(w, names[i], want_sub, names[i]);
    }
    vg_viewer *v = calloc(1, sizeof *v);
    if (!v) return MHD_NO;
    v->w = w;
    v->conn = c;
    pthread_mutex_init(&v->mu, NULL);
    vg_buf_init(&v->q, 2 * (size_t)QUEUE_MAX + (1u << 20));
    v->last_rec_ms = v->last_send_ms = now_ms(w);
    snprintf(v->sid, sizeof v->sid, "%s", r->sid);
    snprintf(v->addr, sizeof v->addr, "%s", r->addr);
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, reader, v, viewer_free);
    if (!resp) { vg_buf_free(&v->q); pthread_mutex_destroy(&v->mu); free(v); return MHD_NO; }
    v->next = w->viewers;
    w->viewers = v;
    for (unsigned i = 0; i < a.n; i++) {
        view_cam *vc = &v->cams[v->ncam++];
        vc->v = v;
        vc->id = a.ids[i];
        snprintf(vc->name, sizeof vc->name, "%s", names[i]);
        vc->sub.cb = on_live;
        vc->sub.arg = vc;
        initial_state(v, vc, is_sub[i] ? "sub" : "main");
        vc->subscribed = vg_recorder_live_subscribe(w->rec, vc->name, &vc->sub) == 0;
        vg_api_audit(r, "live.view", json_pack("{s:I,s:s}", "camera", (json_int_t)vc->id, "stream",
                                               is_sub[i] ? "sub" : "main"));
    }
    vg_web_headers(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result res = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);   /* viewer_free runs when MHD is done with it */
    if (!vg_timer_active(&w->live_timer)) vg_timer_start(w->loop, &w->live_timer, TICK_MS);
    return res;
}
