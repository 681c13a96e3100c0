/* SPDX-License-Identifier: Apache-2.0 */
/* RTSP 1.0 client (RFC 2326): one camera session on a vg_loop, no threads.
 * DESCRIBE -> SETUP (each supported track) -> PLAY, keep-alive, TEARDOWN.
 * Reports tracks and depacketized frames through vg_source_cbs.
 * Reconnecting is the caller's job (src/rec/camera.c): after on_state(rc<0)
 * the session is dead; call vg_rtsp_free and make a new one.
 *
 * Ownership: the caller owns the vg_rtsp and frees it with vg_rtsp_free,
 * which may be called from inside any callback of this session. */
#ifndef VG_RTSP_H
#define VG_RTSP_H

#include "core/loop.h"
#include "media/media.h"

typedef struct vg_rtsp vg_rtsp;

enum vg_rtsp_transport { VG_RTSP_AUTO = 0, VG_RTSP_TCP, VG_RTSP_UDP };

typedef struct vg_rtsp_opts {
    const char *url;           /* rtsp://[user:pass@]host[:port]/path; copied */
    const char *user, *pass;   /* override URL userinfo when non-NULL; copied */
    enum vg_rtsp_transport transport;  /* AUTO: TCP interleaved (robust default) */
    unsigned connect_timeout_ms;       /* 0 -> 3000 */
    unsigned request_timeout_ms;       /* 0 -> 5000 per request */
    unsigned stall_timeout_ms;         /* 0 -> 5000: no media for this long -> ended */
    const char *name;          /* camera name for log lines; copied */
} vg_rtsp_opts;

int vg_rtsp_new(vg_loop *loop, const vg_rtsp_opts *opts, const vg_source_cbs *cbs, void *arg,
                vg_rtsp **out);
/* Start connecting. Failures after this are reported through on_state. */
int vg_rtsp_start(vg_rtsp *s);
/* Best-effort TEARDOWN, close sockets, cancel timers; no callbacks after. */
void vg_rtsp_free(vg_rtsp *s);

#endif
