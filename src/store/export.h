/* SPDX-License-Identifier: Apache-2.0 */
/* Export: decrypt a camera's recordings over a time range (verifying the
 * recorder's signatures) and write one progressive MP4 that standard players
 * open. Used by `vigil export`; the browser does the same client-side. */
#ifndef VG_EXPORT_H
#define VG_EXPORT_H

#include <stdint.h>

typedef struct vg_export_stats {
    uint64_t frames;          /* video samples written */
    uint64_t audio_frames;
    int64_t first90k, end90k; /* media time covered */
    unsigned runs;            /* runs of continuous recording included */
} vg_export_stats;

/* Writes out_path (created O_EXCL; removed again on failure). Returns
 * VG_ENOTFOUND if nothing is recorded in range, VG_ECRYPTO on a bad key,
 * tag or signature. Across a gap or a parameter-set change the MP4 keeps
 * one timeline (gaps become a longer last sample before them). */
int vg_export(const char *dir, const char *camera, const uint8_t pk[32], const uint8_t sk[32],
              int64_t from90k, int64_t to90k, const char *out_path, vg_export_stats *st);

#endif
