/* SPDX-License-Identifier: Apache-2.0 */
#include "core/buf.h"
#include "core/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void vg_buf_init(vg_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void vg_buf_free(vg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void vg_buf_free_wipe(vg_buf *b)
{
    if (b->data)
        sodium_memzero(b->data, b->cap);
    vg_buf_free(b);
}

int vg_buf_reserve(vg_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return VG_ETOOBIG;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > b->max / 2 ? b->max : ncap * 2;
    uint8_t *p = realloc(b->data, ncap);
    if (!p)
        return VG_ENOMEM;
    b->data = p;
    b->cap = ncap;
    return 0;
}

int vg_buf_append(vg_buf *b, const void *p, size_t n)
{
    if (!n)
        return 0;
    int rc = vg_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int vg_buf_append_u8(vg_buf *b, uint8_t v) { return vg_buf_append(b, &v, 1); }
int vg_buf_append_be16(vg_buf *b, uint16_t v) { uint8_t t[2]; vg_wr16(t, v); return vg_buf_append(b, t, 2); }
int vg_buf_append_be32(vg_buf *b, uint32_t v) { uint8_t t[4]; vg_wr32(t, v); return vg_buf_append(b, t, 4); }
int vg_buf_append_be64(vg_buf *b, uint64_t v) { uint8_t t[8]; vg_wr64(t, v); return vg_buf_append(b, t, 8); }

void vg_buf_consume(vg_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
