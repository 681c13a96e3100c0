/* SPDX-License-Identifier: Apache-2.0 */
/* The recorder: a few threads, each running one vg_loop over many cameras
 * (never a thread or process per camera). Each camera pulls its source
 * (RTSP or the demo file), maps camera time to t90k, cuts fMP4 fragments and
 * hands them to the store, which encrypts and writes them.
 * docs/design/recorder.md has the state machine and invariants. */
#ifndef VG_RECORDER_H
#define VG_RECORDER_H

#include "rtsp/rtsp.h"
#include "store/store.h"

#include <stdint.h>

typedef struct vg_recorder vg_recorder;

typedef struct vg_recorder_opts {
    vg_store *store;                   /* not owned */
    unsigned threads;                  /* loop threads; 0 -> min(nproc, 8) */
    enum vg_rtsp_transport transport;
    unsigned fragment_ms;              /* 0 -> 1000 */
    const uint8_t *footage_pk;         /* 32 bytes: every camera's footage public key */
} vg_recorder_opts;

typedef struct vg_camera_cfg {
    const char *name;                  /* unique; [A-Za-z0-9._-], at most 63 bytes */
    const char *url;                   /* RTSP URL, or NULL for a file source */
    const char *file;                  /* MP4 played in a loop (the demo camera) */
} vg_camera_cfg;

int vg_recorder_new(const vg_recorder_opts *o, vg_recorder **out);
/* Before vg_recorder_start only. */
int vg_recorder_add(vg_recorder *r, const vg_camera_cfg *c);
int vg_recorder_start(vg_recorder *r);
/* Stops every camera (each open run is flushed and closed), joins threads. */
void vg_recorder_stop(vg_recorder *r);
void vg_recorder_free(vg_recorder *r);

/* Camera names allowed in the store and on disk-facing logs. */
int vg_camera_name_ok(const char *name);

#endif
