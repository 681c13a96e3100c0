/* SPDX-License-Identifier: Apache-2.0 */
/* Camera substreams on the web side (docs/design/live.md "Substreams"):
 * what GET /api/cameras says about a camera's substream, and which of a
 * camera's streams a live viewer gets.
 * Invariant: a substream is reached only through its main camera's row and
 * access check (vg_cam_access); it has no id or route of its own, so every
 * rule that guards a camera guards its substream too. */
#include "web/web_int.h"
#include "rec/recorder.h"
#include "rec/substream.h"

#include <string.h>

void vg_sub_json(vg_web *w, json_t *o, const char *store_name, const char *sub_url)
{
    char sub[64];
    vg_cam_status cs;
    json_object_set_new(o, "sub_url", sub_url && sub_url[0] ? json_string(sub_url) : json_null());
    if (w->rec && vg_sub_name(store_name, sub) == 0 && vg_recorder_status(w->rec, sub, &cs) == 0)
        json_object_set_new(o, "sub_status", json_pack("{s:s,s:s,s:I,s:I,s:i,s:i,s:s}", "state", cs.state,
                            "detail", cs.detail, "since", (json_int_t)cs.since, "bitrate", (json_int_t)cs.bitrate,
                            "width", (int)cs.width, "height", (int)cs.height, "codec", cs.codec));
    else
        json_object_set_new(o, "sub_status", json_null());
}

int vg_sub_live_pick(vg_web *w, const char *store_name, int want_sub, char out[64])
{
    char sub[64];
    if (want_sub && w->rec && vg_sub_name(store_name, sub) == 0 && vg_recorder_has(w->rec, sub)) {
        memcpy(out, sub, sizeof sub);
        return 1;
    }
    /* No substream: the grid shows the main stream rather than nothing. */
    memmove(out, store_name, strlen(store_name) + 1);
    return 0;
}
