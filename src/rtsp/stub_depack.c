/* SPDX-License-Identifier: Apache-2.0 */
/* TEMPORARY link stubs; deleted by the module's owner when the real code lands. */
#include "core/err.h"
#include "rtsp/depack.h"

int vg_depack_new(const vg_track *track, unsigned track_idx, unsigned reorder, const vg_depack_cbs *cbs, void *arg, vg_depack **out) { return VG_EUNSUPPORTED; }
int vg_depack_push(vg_depack *d, const uint8_t *pkt, size_t len) { return VG_EUNSUPPORTED; }
void vg_depack_flush(vg_depack *d) {}
void vg_depack_free(vg_depack *d) {}
int vg_h264_sps_dims(const uint8_t *sps, size_t len, uint16_t *w, uint16_t *h) { return VG_EUNSUPPORTED; }
int vg_h265_sps_dims(const uint8_t *sps, size_t len, uint16_t *w, uint16_t *h) { return VG_EUNSUPPORTED; }
