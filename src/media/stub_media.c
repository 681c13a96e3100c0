/* SPDX-License-Identifier: Apache-2.0 */
/* TEMPORARY link stubs; deleted by the module's owner when the real code lands. */
#include "core/err.h"
#include "media/filesrc.h"
#include "media/fmp4.h"
#include "media/mp4.h"

int vg_fmp4_init_segment(vg_buf *out, const vg_track *tracks, unsigned ntracks) { return VG_EUNSUPPORTED; }
int vg_fmp4_fragment(vg_buf *out, uint32_t seq, const vg_fmp4_sample *s, unsigned n) { return VG_EUNSUPPORTED; }
int vg_fmp4_fragment_header(vg_buf *out, uint32_t seq, const vg_fmp4_sample *s, unsigned n) { return VG_EUNSUPPORTED; }
int vg_mp4_open(const uint8_t *buf, size_t len, vg_mp4 **out) { return VG_EUNSUPPORTED; }
void vg_mp4_free(vg_mp4 *m) {}
unsigned vg_mp4_ntracks(const vg_mp4 *m) { return 0; }
const vg_track *vg_mp4_track(const vg_mp4 *m, unsigned i) { return 0; }
uint32_t vg_mp4_timescale(const vg_mp4 *m, unsigned i) { return 0; }
size_t vg_mp4_nsamples(const vg_mp4 *m, unsigned i) { return 0; }
int vg_mp4_get_sample(const vg_mp4 *m, unsigned i, size_t k, vg_mp4_sample *out) { return VG_EUNSUPPORTED; }
int vg_fmp4_parse_init(const uint8_t *buf, size_t len, vg_track *tracks, unsigned *ntracks, uint32_t *timescales) { return VG_EUNSUPPORTED; }
int vg_fmp4_parse_fragment(const uint8_t *buf, size_t len, vg_fmp4_sample_cb cb, void *arg) { return VG_EUNSUPPORTED; }
int vg_mp4w_new(int fd, const vg_track *tracks, unsigned ntracks, const uint32_t *timescales, vg_mp4w **out) { return VG_EUNSUPPORTED; }
int vg_mp4w_add(vg_mp4w *w, const vg_fmp4_sample *s) { return VG_EUNSUPPORTED; }
int vg_mp4w_finish(vg_mp4w *w) { return VG_EUNSUPPORTED; }
void vg_mp4w_free(vg_mp4w *w) {}
int vg_filesrc_new(vg_loop *loop, const char *path, const vg_source_cbs *cbs, void *arg, vg_filesrc **out) { return VG_EUNSUPPORTED; }
int vg_filesrc_start(vg_filesrc *f) { return VG_EUNSUPPORTED; }
void vg_filesrc_free(vg_filesrc *f) {}
