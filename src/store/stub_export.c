/* SPDX-License-Identifier: Apache-2.0 */
/* TEMPORARY link stub; deleted by the module's owner when the real code lands. */
#include "core/err.h"
#include "store/export.h"

int vg_export(const char *dir, const char *camera, const uint8_t pk[32], const uint8_t sk[32], int64_t from90k, int64_t to90k, const char *out_path, vg_export_stats *st) { return VG_EUNSUPPORTED; }
