/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffer with a hard maximum set at creation (curl's dynbuf).
 * Owner: whoever embeds the struct; vg_buf_free releases the storage. */
#ifndef VG_BUF_H
#define VG_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct vg_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;   /* appends that would exceed this fail with VG_ETOOBIG */
} vg_buf;

void vg_buf_init(vg_buf *b, size_t max);
void vg_buf_free(vg_buf *b);
/* Like free, but wipes the bytes first (for secrets and plaintext media). */
void vg_buf_free_wipe(vg_buf *b);
int vg_buf_reserve(vg_buf *b, size_t extra);
int vg_buf_append(vg_buf *b, const void *p, size_t n);
int vg_buf_append_u8(vg_buf *b, uint8_t v);
int vg_buf_append_be16(vg_buf *b, uint16_t v);
int vg_buf_append_be32(vg_buf *b, uint32_t v);
int vg_buf_append_be64(vg_buf *b, uint64_t v);
/* Drop the first n bytes (n <= len). */
void vg_buf_consume(vg_buf *b, size_t n);
static inline void vg_buf_reset(vg_buf *b) { b->len = 0; }

/* Big-endian helpers for parsers; callers check lengths first. */
static inline uint16_t vg_rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t vg_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t vg_rd64(const uint8_t *p) { return (uint64_t)vg_rd32(p) << 32 | vg_rd32(p + 4); }
static inline void vg_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void vg_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void vg_wr64(uint8_t *p, uint64_t v) { vg_wr32(p, (uint32_t)(v >> 32)); vg_wr32(p + 4, (uint32_t)v); }

#endif
