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
    int64_t camera_retain_seconds;     /* each camera keeps at most this much (0: no limit) */
    uint64_t camera_retain_bytes;      /* ... and at most this many bytes (0: no limit) */
} vg_recorder_opts;

typedef struct vg_camera_cfg {
    const char *name;                  /* unique; [A-Za-z0-9._-], at most 63 bytes */
    const char *url;                   /* RTSP URL, or NULL for a file source */
    const char *file;                  /* MP4 played in a loop (the demo camera) */
    const char *user, *password;       /* RTSP credentials (NULL: none or in the URL); copied */
    const uint8_t *footage_pk;         /* 32 bytes; NULL: the recorder's footage_pk */
    int64_t retain_seconds;            /* 0: the recorder's camera_retain_seconds */
    uint64_t retain_bytes;             /* 0: the recorder's camera_retain_bytes */
} vg_camera_cfg;

/* Thread-safe snapshot of a camera for the web (docs/api.md GET /api/cameras). */
typedef struct vg_cam_status {
    char state[16];                    /* connecting, recording, offline */
    char detail[128];
    int64_t since;                     /* Unix seconds the state began */
    uint64_t bitrate;                  /* bits per second over the last ~10 s */
    unsigned width, height;            /* 0 if unknown */
    char codec[8];                     /* "h264", "h265", "" */
    int audio;
} vg_cam_status;

int vg_recorder_new(const vg_recorder_opts *o, vg_recorder **out);
/* Before or after vg_recorder_start (then the camera starts at once on its
 * loop). Thread-safe. VG_EINVAL for a bad or duplicate name. */
int vg_recorder_add(vg_recorder *r, const vg_camera_cfg *c);
/* Stops (closing its run) and frees the camera on its loop; its live
 * subscribers get VG_LIVE_END. Thread-safe. VG_ENOTFOUND if unknown. */
int vg_recorder_remove(vg_recorder *r, const char *name);
int vg_recorder_has(vg_recorder *r, const char *name);
/* New footage public key for a camera: the next key fragment starts a new
 * segment sealed to it. Thread-safe. */
int vg_recorder_set_key(vg_recorder *r, const char *name, const uint8_t pk[32]);
int vg_recorder_status(vg_recorder *r, const char *name, vg_cam_status *out);
/* Live tap (rec/live.h); thread-safe. VG_ENOTFOUND if no such camera. */
struct vg_live_sub;
int vg_recorder_live_subscribe(vg_recorder *r, const char *name, struct vg_live_sub *s);
void vg_recorder_live_unsubscribe(vg_recorder *r, const char *name, struct vg_live_sub *s);
int vg_recorder_start(vg_recorder *r);
/* Stops every camera (each open run is flushed and closed), joins threads. */
void vg_recorder_stop(vg_recorder *r);
void vg_recorder_free(vg_recorder *r);

/* Camera names allowed in the store and on disk-facing logs. */
int vg_camera_name_ok(const char *name);

#endif
