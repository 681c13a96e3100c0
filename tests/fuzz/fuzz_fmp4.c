/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: fMP4 init-segment and fragment parsers on arbitrary bytes.
 * The first byte picks the parser; reported sample data must lie inside the
 * input. Parsed tracks are fed back to the writer (codec string, init). */
#include "media/fmp4.h"
#include "media/mp4.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

static int check_sample(void *arg, const vg_fmp4_sample *s)
{
    const span *sp = arg;
    if (s->track >= VG_MAX_TRACKS || s->data < sp->p || (size_t)(s->data - sp->p) > sp->n ||
        s->size > sp->n - (size_t)(s->data - sp->p))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    span sp = {data + 1, size - 1};
    if (data[0] & 1) {
        (void)vg_fmp4_parse_fragment(sp.p, sp.n, check_sample, &sp);
        return 0;
    }
    vg_track t[VG_MAX_TRACKS];
    uint32_t ts[VG_MAX_TRACKS];
    unsigned n = 0;
    if (vg_fmp4_parse_init(sp.p, sp.n, t, &n, ts) != 0)
        return 0;
    if (n == 0 || n > VG_MAX_TRACKS)
        abort();
    char cs[64];
    for (unsigned i = 0; i < n; i++)
        (void)vg_fmp4_codec_string(&t[i], cs, sizeof cs);
    vg_buf b;
    vg_buf_init(&b, 1 << 20);
    (void)vg_fmp4_init_segment(&b, t, n);
    vg_buf_free(&b);
    return 0;
}
