/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the segment-file parser as recovery and fsck run it on whatever is on
 * disk: header, envelope records, trailer, torn tails (vg__seg_scan). */
#include "core/err.h"
#include "crypt/crypt.h"
#include "store/store_int.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct mem { const uint8_t *p; size_t n; } mem;

static int mem_read(void *ctx, uint64_t off, uint8_t *out, size_t n)
{
    const mem *m = ctx;
    if (off >= m->n)
        return 0;
    size_t k = m->n - (size_t)off < n ? m->n - (size_t)off : n;
    memcpy(out, m->p + off, k);
    return (int)k;
}

static int on_rec(void *arg, const vg_env_hdr *h, uint64_t off, size_t len)
{
    size_t *count = arg;
    (*count)++;
    return (h->seq == 0) == ((h->flags & VG_ENV_F_INIT) != 0) ? 0 : VG_EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mem m = {data, size};
    vg_segscan sc;
    size_t count = 0;
    if (vg__seg_scan(mem_read, &m, on_rec, &count, &sc) == 0) {
        /* the scan never claims more than it was given */
        if (sc.good_end > size || sc.file_end > size || count != sc.nrec)
            __builtin_trap();
        uint8_t zero[VG_SIGN_PK_LEN] = {0};
        if (sc.end == VG_SCAN_TRAILER)
            (void)vg_seg_verify(zero, sc.hdr_hash, sc.nrec, sc.chain, sc.sig);
    }
    vg_env_hdr h;
    size_t rl;
    (void)vg_env_parse(data, size, &h, &rl);
    return 0;
}
