/* SPDX-License-Identifier: Apache-2.0 */
/* Recorder threads: cameras are spread round-robin over a few loop threads.
 * Invariants:
 *  1. A camera is touched only by its loop's thread once started.
 *  2. Stop posts a stop to every loop; each loop stops its cameras (closing
 *     their runs) and then itself; the threads are joined before the
 *     cameras are freed.
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
    int running;
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
    }
    *out = r;
    return 0;
}

int vg_recorder_add(vg_recorder *r, const vg_camera_cfg *cfg)
{
    if (r->running || !vg_camera_name_ok(cfg->name) || (!cfg->url && !cfg->file))
        return VG_EINVAL;
    for (unsigned i = 0; i < r->ncams; i++)
        if (!strcmp(r->cams[i]->name, cfg->name))
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
    vg_loop *loop = r->w[r->ncams % r->nthreads].loop;
    int rc = vg_camera_init(c, loop, r->o.store, cfg, r->pk, r->o.transport, r->o.fragment_ms);
    if (rc) {
        vg_camera_free(c);
        free(c);
        return rc;
    }
    r->cams[r->ncams++] = c;
    return 0;
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
    for (unsigned i = 0; i < r->ncams; i++)
        vg_camera_start(r->cams[i]);
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
    for (unsigned i = 0; i < r->ncams; i++)
        if (r->cams[i]->loop == w->loop)
            vg_camera_stop(r->cams[i]);
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
        vg_camera_free(r->cams[i]);
        free(r->cams[i]);
    }
    free(r->cams);
    for (unsigned i = 0; i < r->nthreads; i++)
        vg_loop_free(r->w[i].loop);
    free(r);
}
