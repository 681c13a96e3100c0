/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: H.264 and H.265 SPS parsing (vg_h264_sps_dims /
 * vg_h265_sps_dims) on arbitrary bytes, copied to an exact-size buffer. */
#include "core/err.h"
#include "media/h26x.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    if (size)
        memcpy(p, data, size);
    uint16_t w = 0, h = 0;
    if (vg_h264_sps_dims(p, size, &w, &h) == 0 && (w == 0 || h == 0))
        abort();
    if (vg_h265_sps_dims(p, size, &w, &h) == 0 && (w == 0 || h == 0))
        abort();
    free(p);
    return 0;
}
