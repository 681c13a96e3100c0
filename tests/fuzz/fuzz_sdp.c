/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the SDP parser and control-URL resolution on its output. */
#include "core/err.h"
#include "rtsp/rtsp_int.h"
#include "rtsp/sdp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vg_sdp sdp;
    /* Exact-size copy so ASan sees any read past len. */
    char *copy = malloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    if (vg_sdp_parse(copy, size, &sdp) == 0) {
        char out[VG_RTSP_URL_MAX];
        (void)vg__rtsp_url_resolve("rtsp://10.0.0.1/live", sdp.session_control, out, sizeof out);
        for (unsigned i = 0; i < sdp.nmedia; i++)
            (void)vg__rtsp_url_resolve("rtsp://10.0.0.1/live/", sdp.media[i].control, out,
                                       sizeof out);
    }
    free(copy);
    return 0;
}
