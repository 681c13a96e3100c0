/* SPDX-License-Identifier: Apache-2.0 */
/* TEMPORARY link stubs; deleted by the module's owner when the real code lands. */
#include "core/err.h"
#include "crypt/crypt.h"
#include "store/store.h"

int vg_store_open(const vg_store_opts *o, vg_store **out) { return VG_EUNSUPPORTED; }
void vg_store_close(vg_store *st) {}
int vg_store_camera(vg_store *st, const char *name, const uint8_t footage_pk[32], int64_t retain_seconds, uint64_t retain_bytes, int64_t *camera_id) { return VG_EUNSUPPORTED; }
void vg_store_camera_state(vg_store *st, int64_t camera_id, const char *state, const char *detail) {}
int vg_recw_open(vg_store *st, int64_t camera_id, vg_recw **out) { return VG_EUNSUPPORTED; }
int vg_recw_start_run(vg_recw *w, const uint8_t *init, size_t init_len) { return VG_EUNSUPPORTED; }
int vg_recw_fragment(vg_recw *w, int64_t start90k, uint32_t dur90k, unsigned flags, uint8_t *frag, size_t len) { return VG_EUNSUPPORTED; }
int vg_recw_end_run(vg_recw *w) { return VG_EUNSUPPORTED; }
void vg_recw_free(vg_recw *w) {}
int vg_store_read(const char *dir, const char *name, const uint8_t pk[32], const uint8_t sk[32], int64_t from90k, int64_t to90k, vg_store_read_cb cb, void *arg) { return VG_EUNSUPPORTED; }
int vg_store_status_json(const char *dir, char **out) { return VG_EUNSUPPORTED; }
int vg_store_fsck(const char *dir, int repair) { return VG_EUNSUPPORTED; }
int vg_footage_keypair(uint8_t pk[VG_PK_LEN], uint8_t sk[VG_SK_LEN]) { return VG_EUNSUPPORTED; }
int vg_key_write_secret(const char *path, const uint8_t pk[VG_PK_LEN], const uint8_t sk[VG_SK_LEN]) { return VG_EUNSUPPORTED; }
int vg_key_write_public(const char *path, const uint8_t pk[VG_PK_LEN]) { return VG_EUNSUPPORTED; }
int vg_key_read_secret(const char *path, uint8_t pk[VG_PK_LEN], uint8_t sk[VG_SK_LEN]) { return VG_EUNSUPPORTED; }
int vg_key_read_public(const char *path, uint8_t pk[VG_PK_LEN]) { return VG_EUNSUPPORTED; }
void vg_key_fingerprint(const uint8_t pk[VG_PK_LEN], char *out, size_t outsz) {}
