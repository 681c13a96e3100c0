/* SPDX-License-Identifier: Apache-2.0 */
/* File source: plays an MP4 file (H.264, optional AAC) in a loop at real-time
 * pace as if it were a live camera; the built-in demo camera. Timestamps keep
 * increasing across loops (no discontinuity), in the track's timescale. */
#ifndef VG_FILESRC_H
#define VG_FILESRC_H

#include "core/loop.h"
#include "media/media.h"

typedef struct vg_filesrc vg_filesrc;

/* Reads the whole file at creation (a bounded demo clip: max 64 MiB; more
 * is VG_ETOOBIG). VG_ENOTFOUND if missing, VG_EINVAL if not a playable MP4.
 * Frames carry VG_FRAME_KEY on sync samples; the clip's tracks are reported
 * with clock_rate = the track's MP4 timescale (frame ts are in it).
 * Callbacks run from the loop (never inside start); do not call
 * vg_filesrc_free from inside one of them. */
int vg_filesrc_new(vg_loop *loop, const char *path, const vg_source_cbs *cbs, void *arg,
                   vg_filesrc **out);
int vg_filesrc_start(vg_filesrc *f);
void vg_filesrc_free(vg_filesrc *f);

#endif
