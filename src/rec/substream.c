/* SPDX-License-Identifier: Apache-2.0 */
/* Camera substreams: a main stream and its substream are two recorder
 * cameras that share a footage key and retention (rec/substream.h).
 * Invariant: "<main>.sub" exists in the recorder only while "<main>" does
 * or is being (re)applied by its owner (the web's camera sync or
 * `vigil run`); the owner adds and removes them together. */
#include "rec/substream.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int vg_sub_name(const char *main, char out[64])
{
    int n = snprintf(out, 64, "%s%s", main, VG_SUB_SUFFIX);
    if (n < 0 || n >= 64 || !vg_camera_name_ok(out)) {
        out[0] = 0;
        return VG_EINVAL;
    }
    return 0;
}

int vg_sub_add(vg_recorder *r, const vg_camera_cfg *main, const char *sub_url, const char *sub_file)
{
    char name[64];
    if ((!sub_url && !sub_file) || vg_sub_name(main->name, name))
        return VG_EINVAL;
    vg_sub_remove(r, main->name);
    /* Same credentials (cameras expose both streams to one account), same
     * key, same retention: the substream is another view of the camera. */
    vg_camera_cfg cfg = *main;
    cfg.name = name;
    cfg.url = sub_url;
    cfg.file = sub_url ? NULL : sub_file;
    return vg_recorder_add(r, &cfg);
}

void vg_sub_remove(vg_recorder *r, const char *main)
{
    char name[64];
    if (vg_sub_name(main, name) == 0 && vg_recorder_has(r, name))
        vg_recorder_remove(r, name);
}

void vg_sub_set_key(vg_recorder *r, const char *main, const unsigned char pk[32])
{
    char name[64];
    if (vg_sub_name(main, name) == 0 && vg_recorder_has(r, name))
        (void)vg_recorder_set_key(r, name, pk);
}

int vg_sub_demo_clip(const char *clip, char *out, size_t n)
{
    size_t len = strlen(clip);
    if (len < 4 || strcmp(clip + len - 4, ".mp4") != 0)
        return VG_ENOTFOUND;
    int k = snprintf(out, n, "%.*s-sub.mp4", (int)(len - 4), clip);
    if (k < 0 || (size_t)k >= n || access(out, R_OK) != 0) {
        if (n) out[0] = 0;
        return VG_ENOTFOUND;
    }
    return 0;
}
