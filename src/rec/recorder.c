/* SPDX-License-Identifier: Apache-2.0 */
/* Recorder threads: cameras are spread round-robin over a few loop threads.
 * Invariants:
 *  1. A camera is touched only by its loop's thread once started.
 *  2. Stop posts a stop to every loop; each loop stops its cameras (closing
 *     their runs) and then itself; the threads are joined before the
 *     cameras are freed.
 *  3. r->mu guards the camera array (add/remove/lookups from the web's
 *     thread while recording). A removed camera leaves the array under r->mu
 *     first, then its stop+free is posted to its loop; anything posted for it
 *     earlier (FIFO per loop) runs before the free.
 *  4. Lock order: r->mu, then a camera's live hub lock, then a subscriber's.
 */
#include "rec/recorder.h"
#include "core/err.h"
#include "core/log.h"
#include "rec/camera_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 8
#define VG_RECORDER_COALESCE_US 4000
#define MAX_CAMERAS 4096

struct worker {
    vg_recorder *rec;
    vg_loop *loop;
    pthread_t th;
    int started;
};

struct vg_recorder {
    vg_recorder_opts o;
    uint8_t pk[32];
    struct worker w[MAX_THREADS];
    unsigned nthreads;
    vg_camera **cams;
    unsigned ncams, capcams;
    unsigned next_loop;
    int running;
    pthread_mutex_t mu;
};

int vg_camera_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63 || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

int vg_recorder_new(const vg_recorder_opts *o, vg_recorder **out)
{
    vg_recorder *r = calloc(1, sizeof *r);
    if (!r)
        return VG_ENOMEM;
    r->o = *o;
    pthread_mutex_init(&r->mu, NULL);
    memcpy(r->pk, o->footage_pk, 32);
    r->o.footage_pk = r->pk;
    unsigned n = o->threads;
    if (!n) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (unsigned)cpus : 1;
    }
    r->nthreads = n > MAX_THREADS ? MAX_THREADS : n;
    for (unsigned i = 0; i < r->nthreads; i++) {
        r->w[i].rec = r;
        if (vg_loop_new(&r->w[i].loop)) {
            vg_recorder_free(r);
            return VG_EIO;
        }
        /* Recorder loops batch socket reads (loop.h): measured in
         * docs/design/recorder.md; live view gains at most this latency. */
        vg_loop_set_coalesce(r->w[i].loop, VG_RECORDER_COALESCE_US);
    }
    *out = r;
    return 0;
}

static vg_camera *find_locked(vg_recorder *r, const char *name, unsigned *idx)
{
    for (unsigned i = 0; i < r->ncams; i++)
        if (!strcmp(r->cams[i]->name, name)) {
            if (idx)
                *idx = i;
            return r->cams[i];
        }
    return NULL;
}

static void start_on_loop(void *arg) { vg_camera_start(arg, 0); }

static int add_locked(vg_recorder *r, const vg_camera_cfg *cfg)
{
    if (!vg_camera_name_ok(cfg->name) || (!cfg->url && !cfg->file) || find_locked(r, cfg->name, NULL))
        return VG_EINVAL;
    if (r->ncams == r->capcams) {
        if (r->capcams >= MAX_CAMERAS)
            return VG_ETOOBIG;
        unsigned nc = r->capcams ? r->capcams * 2 : 16;
        vg_camera **p = realloc(r->cams, nc * sizeof *p);
        if (!p)
            return VG_ENOMEM;
        r->cams = p;
        r->capcams = nc;
    }
    vg_camera *c = calloc(1, sizeof *c);
    if (!c)
        return VG_ENOMEM;
    vg_loop *loop = r->w[r->next_loop++ % r->nthreads].loop;
    vg_camera_cfg cc = *cfg;
    if (!cc.retain_seconds)
        cc.retain_seconds = r->o.camera_retain_seconds;
    if (!cc.retain_bytes)
        cc.retain_bytes = r->o.camera_retain_bytes;
    int rc = vg_camera_init(c, loop, r->o.store, &cc, r->pk, r->o.transport, r->o.fragment_ms);
    if (!rc && r->running && vg_loop_post(loop, start_on_loop, c) != 0)
        rc = VG_ENOMEM;
    if (rc) {
        vg_camera_free(c);
        free(c);
        return rc;
    }
    r->cams[r->ncams++] = c;
    return 0;
}

int vg_recorder_add(vg_recorder *r, const vg_camera_cfg *cfg)
{
    pthread_mutex_lock(&r->mu);
    int rc = add_locked(r, cfg);
    pthread_mutex_unlock(&r->mu);
    if (rc == 0 && r->running)
        vg_info("rec", "%s: camera added", cfg->name);
    return rc;
}

static void remove_on_loop(void *arg)
{
    vg_camera *c = arg;
    vg_camera_stop(c);
    vg_camera_free(c);
    free(c);
}

int vg_recorder_remove(vg_recorder *r, const char *name)
{
    unsigned i;
    pthread_mutex_lock(&r->mu);
    vg_camera *c = find_locked(r, name, &i);
    if (c) {
        r->cams[i] = r->cams[--r->ncams];
        vg_live_close(&c->live);
    }
    pthread_mutex_unlock(&r->mu);
    if (!c)
        return VG_ENOTFOUND;
    if (!r->running || vg_loop_post(c->loop, remove_on_loop, c) != 0)
        remove_on_loop(c); /* no loop thread runs it (not started): safe here */
    vg_info("rec", "%s: camera removed", name);
    return 0;
}

int vg_recorder_has(vg_recorder *r, const char *name)
{
    pthread_mutex_lock(&r->mu);
    int has = find_locked(r, name, NULL) != NULL;
    pthread_mutex_unlock(&r->mu);
    return has;
}

static void cut_on_loop(void *arg)
{
    vg_camera *c = arg;
    vg_recw_cut(c->w);
}

int vg_recorder_set_key(vg_recorder *r, const char *name, const uint8_t pk[32])
{
    int rc = VG_ENOTFOUND;
    pthread_mutex_lock(&r->mu);
    vg_camera *c = find_locked(r, name, NULL);
    if (c) {
        rc = vg_store_camera(r->o.store, name, pk, c->retain_s, c->retain_b, NULL);
        if (rc == 0) {
            memcpy(c->pk, pk, 32);
            if (r->running)
                vg_loop_post(c->loop, cut_on_loop, c); /* invariant 3: before any free */
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int vg_recorder_status(vg_recorder *r, const char *name, vg_cam_status *out)
{
    pthread_mutex_lock(&r->mu);
    vg_camera *c = find_locked(r, name, NULL);
    if (c)
        vg_camera_status(c, out);
    pthread_mutex_unlock(&r->mu);
    return c ? 0 : VG_ENOTFOUND;
}

int vg_recorder_live_subscribe(vg_recorder *r, const char *name, vg_live_sub *s)
{
    pthread_mutex_lock(&r->mu);
    vg_camera *c = find_locked(r, name, NULL);
    int rc = c ? vg_live_subscribe(&c->live, s) : VG_ENOTFOUND;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void vg_recorder_live_unsubscribe(vg_recorder *r, const char *name, vg_live_sub *s)
{
    pthread_mutex_lock(&r->mu);
    vg_camera *c = find_locked(r, name, NULL);
    if (c)
        vg_live_unsubscribe(&c->live, s);
    pthread_mutex_unlock(&r->mu);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int rc = vg_loop_run(w->loop);
    if (rc)
        vg_error("rec", "event loop failed: %s", vg_strerror(rc));
    return NULL;
}

int vg_recorder_start(vg_recorder *r)
{
    /* Sources are created before the threads run (invariant 1 holds from
     * the moment each loop starts). */
    pthread_mutex_lock(&r->mu);
    /* First connects are spread over up to a second: hundreds of sessions
     * opened in the same millisecond make a camera server (or an NVR's own
     * switch) answer the last of them late. */
    unsigned step = r->ncams > 1 ? 1000 / r->ncams : 0;
    if (step > 4)
        step = 4;
    for (unsigned i = 0; i < r->ncams; i++)
        vg_camera_start(r->cams[i], i * step);
    r->running = 1; /* from now on an added camera is started by a post to its loop */
    pthread_mutex_unlock(&r->mu);
    for (unsigned i = 0; i < r->nthreads; i++) {
        if (pthread_create(&r->w[i].th, NULL, worker_main, &r->w[i]) != 0) {
            vg_recorder_stop(r);
            return VG_EIO;
        }
        r->w[i].started = 1;
    }
    r->running = 1;
    vg_info("rec", "recording %u camera%s on %u thread%s", r->ncams, r->ncams == 1 ? "" : "s",
            r->nthreads, r->nthreads == 1 ? "" : "s");
    return 0;
}

static void stop_on_loop(void *arg)
{
    struct worker *w = arg;
    vg_recorder *r = w->rec;
    pthread_mutex_lock(&r->mu);
    for (unsigned i = 0; i < r->ncams; i++)
        if (r->cams[i]->loop == w->loop)
            vg_camera_stop(r->cams[i]);
    pthread_mutex_unlock(&r->mu);
    vg_loop_stop(w->loop);
}

void vg_recorder_stop(vg_recorder *r)
{
    for (unsigned i = 0; i < r->nthreads; i++) {
        struct worker *w = &r->w[i];
        if (!w->started) {
            stop_on_loop(w);
            continue;
        }
        if (vg_loop_post(w->loop, stop_on_loop, w) != 0)
            vg_loop_stop(w->loop);
        pthread_join(w->th, NULL);
        w->started = 0;
    }
    r->running = 0;
}

void vg_recorder_free(vg_recorder *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < r->ncams; i++) {
        vg_live_close(&r->cams[i]->live);
        vg_camera_free(r->cams[i]);
        free(r->cams[i]);
    }
    free(r->cams);
    pthread_mutex_destroy(&r->mu);
    for (unsigned i = 0; i < r->nthreads; i++)
        vg_loop_free(r->w[i].loop);
    free(r);
}
