/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the progressive MP4 reader (vg_mp4_open) on arbitrary bytes;
 * every sample it reports must lie inside the input. Seed with
 * assets/demo.mp4 and /tmp/vg_media_prog.mp4 from test_mp4. */
#include "media/mp4.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_mp4 *m = NULL;
    if (vg_mp4_open(data, size, &m) != 0)
        return 0;
    for (unsigned i = 0; i < vg_mp4_ntracks(m); i++) {
        (void)vg_mp4_track(m, i);
        (void)vg_mp4_nal_length_size(m, i);
        size_t n = vg_mp4_nsamples(m, i);
        for (size_t k = 0; k < n; k++) {
            vg_mp4_sample s;
            if (vg_mp4_get_sample(m, i, k, &s) != 0 || s.offset > size || s.size > size - s.offset)
                abort();
        }
    }
    vg_mp4_free(m);
    return 0;
}
