/* SPDX-License-Identifier: Apache-2.0 */
/* One camera's recording session; used only by recorder.c. */
#ifndef VG_CAMERA_INT_H
#define VG_CAMERA_INT_H

#include "core/loop.h"
#include "media/filesrc.h"
#include "rec/fragmenter.h"
#include "rec/live.h"
#include "rec/recorder.h"
#include "rec/timemap.h"

#include <pthread.h>

typedef struct vg_camera {
    vg_loop *loop;
    vg_store *store;
    vg_recw *w;
    int64_t id;
    char name[64];
    char *url;                 /* owned */
    char *file;                /* owned */
    char *user, *pass;         /* owned, wiped when freed; never logged */
    uint8_t pk[32];            /* footage public key this camera records to */
    enum vg_rtsp_transport transport;
    vg_rtsp *rtsp;             /* current session, or NULL */
    vg_filesrc *fsrc;
    vg_timer retry;
    unsigned backoff_ms;
    int stopping;

    vg_track tracks[VG_MAX_TRACKS];
    unsigned ntracks;
    int vsrc, asrc;            /* source track indexes of the recorded tracks, -1 none */
    int in_run;
    int64_t last_end90k;       /* end of the camera's last recorded fragment */
    vg_timemap vtm, atm;
    uint64_t last_video_mono_us;
    vg_fragr fr;
    uint64_t frames, fragments, dropped;
    int logged_enospc;
    int64_t retain_s;          /* per-camera retention (store.h), 0 = none */
    uint64_t retain_b;
    char last_why[128];        /* last failure logged, to rate-limit repeats */
    uint64_t last_why_ms;

    vg_live live;              /* live tap (live.h) */
    /* Status snapshot for the web (vg_recorder_status): written on the loop
     * thread, read anywhere, under smu. */
    pthread_mutex_t smu;
    vg_cam_status st;
    uint64_t bucket_bytes[10]; /* bytes received per wall second, ring by second */
    int64_t bucket_sec[10];
} vg_camera;

int vg_camera_init(vg_camera *c, vg_loop *loop, vg_store *st, const vg_camera_cfg *cfg,
                   const uint8_t *pk, enum vg_rtsp_transport tr, unsigned fragment_ms);
/* Connect now, or after delay_ms (the recorder spreads first connects). */
void vg_camera_start(vg_camera *c, unsigned delay_ms);
/* On the camera's loop thread: flush and close the open run, free sources. */
void vg_camera_stop(vg_camera *c);
void vg_camera_free(vg_camera *c);
/* Thread-safe snapshot (bitrate over the last ten seconds). */
void vg_camera_status(vg_camera *c, vg_cam_status *out);

#endif
