/* SPDX-License-Identifier: Apache-2.0 */
/* Camera substreams (docs/design/recorder.md "Substreams"): a camera's
 * second, smaller stream is recorded as a camera of its own in the store,
 * named "<main>.sub", sealed to the same footage key and kept under the same
 * retention limits as the main stream. These helpers keep the pair together. */
#ifndef VG_REC_SUBSTREAM_H
#define VG_REC_SUBSTREAM_H

#include "rec/recorder.h"

#include <stddef.h>

#define VG_SUB_SUFFIX ".sub"

/* The substream's store name for a main stream's; VG_EINVAL if the result is
 * not a valid camera name (too long). */
int vg_sub_name(const char *main, char out[64]);
/* Records main's substream: the same credentials, footage key and retention
 * as `main`, from sub_url (RTSP) or sub_file (a clip in a loop). An existing
 * substream of that camera is replaced. */
int vg_sub_add(vg_recorder *r, const vg_camera_cfg *main, const char *sub_url, const char *sub_file);
/* Stops recording main's substream, if it is recorded. */
void vg_sub_remove(vg_recorder *r, const char *main);
/* main's substream follows main's new footage key (no-op without one). */
void vg_sub_set_key(vg_recorder *r, const char *main, const unsigned char pk[32]);
/* The substream clip of a demo clip: "DIR/NAME.mp4" -> "DIR/NAME-sub.mp4",
 * 0 if that file is readable, VG_ENOTFOUND otherwise. */
int vg_sub_demo_clip(const char *clip, char *out, size_t n);

#endif
