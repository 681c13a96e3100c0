/* SPDX-License-Identifier: Apache-2.0 */
/* Live tap of one camera (docs/design/live.md "Live"): while a camera has at
 * least one subscriber, each completed video (and audio) frame is wrapped as a one-frame
 * moof+mdat, sealed by the store into a live envelope (flag VG_ENV_LIVE) under
 * the open segment's content key, and handed to every subscriber. Nobody
 * watching costs one atomic load per frame.
 *
 * Threads: vg_live_frame/_state/_close run on the camera's loop thread;
 * subscribe/unsubscribe on any thread. Subscriber callbacks run on the camera
 * thread with the hub's lock held: they copy and return at once, and must not
 * call back into the hub or the recorder. After vg_live_unsubscribe returns,
 * the callback is not running and never runs again.
 * Owner: the camera embeds its vg_live; subscribers own their vg_live_sub. */
#ifndef VG_LIVE_H
#define VG_LIVE_H

#include "core/buf.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* Record types on the wire (live.md); the hub produces the payloads, the web
 * adds the [u32 len][u8 type][u32 camera] framing. */
enum vg_live_type {
    VG_LIVE_SEGMENT = 1,   /* u64 segment id | sealed key[80] | init envelope */
    VG_LIVE_CHUNK = 2,     /* one envelope */
    VG_LIVE_STATE = 3,     /* UTF-8 JSON */
    VG_LIVE_KEEPALIVE = 4,
    VG_LIVE_END = 100,     /* not on the wire: the camera is gone; no calls after */
};

/* key: for CHUNK, the envelope's frame is a keyframe (or a SEGMENT record). */
typedef void (*vg_live_cb)(void *arg, int type, int key, const uint8_t *payload, size_t len);

typedef struct vg_live_sub {
    vg_live_cb cb;
    void *arg;
    int started;              /* hub-internal: start sequence sent */
    struct vg_live_sub *next; /* hub-internal */
} vg_live_sub;

struct vg_fragr;

typedef struct vg_live {
    pthread_mutex_t mu;
    vg_live_sub *subs;
    atomic_int nsubs;
    int closed;
    /* camera thread only */
    vg_buf scratch;           /* [headroom][moof+mdat][tailroom] of one frame */
    vg_buf gop;               /* stored envelopes of the current GOP (start sequence) */
    uint32_t seq;             /* mfhd sequence of live chunks */
    uint64_t seg_sent;        /* segment id of the last SEGMENT broadcast */
    int64_t last_t90k;
    uint32_t last_dur;
    uint32_t arate;           /* audio track timescale (0: no audio seen yet) */
    char state_json[256];     /* last STATE, sent to new subscribers */
} vg_live;

void vg_live_init(vg_live *l);
void vg_live_free(vg_live *l);
static inline int vg_live_active(vg_live *l) { return atomic_load_explicit(&l->nsubs, memory_order_relaxed) > 0; }

/* 0, or VG_EINVAL if the hub is closed (camera removed). */
int vg_live_subscribe(vg_live *l, vg_live_sub *s);
void vg_live_unsubscribe(vg_live *l, vg_live_sub *s);

/* A video frame about to be given to the fragmenter fr (its open fragment
 * holds the frames since the last stored fragment). Camera thread. */
void vg_live_frame(vg_live *l, vg_recw *w, const struct vg_fragr *fr, int64_t t90k, int key,
                   const uint8_t *data, size_t len);
/* An audio frame (dts, dur in the audio track's timescale `rate`) about to
 * be given to the fragmenter fr: sent at once, as its own chunk (a frame of
 * AAC is 1024 samples: waiting for the next video frame would add latency).
 * Audio chunks are never key and start no subscriber. Camera thread. */
void vg_live_audio(vg_live *l, vg_recw *w, const struct vg_fragr *fr, uint32_t rate, int64_t dts,
                   uint32_t dur, const uint8_t *data, size_t len);
/* The camera's state changed: a STATE record to every subscriber. */
void vg_live_state(vg_live *l, const char *state, const char *detail);
/* The camera is going away: VG_LIVE_END to every subscriber, no more after. */
void vg_live_close(vg_live *l);

#endif
