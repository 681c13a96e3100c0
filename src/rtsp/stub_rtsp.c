/* SPDX-License-Identifier: Apache-2.0 */
/* TEMPORARY link stubs; deleted by the module's owner when the real code lands. */
#include "core/err.h"
#include "rtsp/depack.h"
#include "rtsp/rtsp.h"
#include "rtsp/sdp.h"

int vg_rtsp_new(vg_loop *loop, const vg_rtsp_opts *opts, const vg_source_cbs *cbs, void *arg, vg_rtsp **out) { return VG_EUNSUPPORTED; }
int vg_rtsp_start(vg_rtsp *s) { return VG_EUNSUPPORTED; }
void vg_rtsp_free(vg_rtsp *s) {}
int vg_sdp_parse(const char *text, size_t len, vg_sdp *out) { return VG_EUNSUPPORTED; }
