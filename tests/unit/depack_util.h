/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the depacketizer tests: build RTP packets and synthetic H.264
 * / H.265 streams, and record what the depacketizer delivers. */
#ifndef VG_TEST_DEPACK_UTIL_H
#define VG_TEST_DEPACK_UTIL_H

#include "core/buf.h"
#include "core/err.h"
#include "rtsp/depack.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXPKT 4096
#define MAXPKTS 4096

typedef struct pkt {
    uint8_t b[MAXPKT];
    size_t len;
} pkt;

typedef struct stream {
    pkt *p;           /* MAXPKTS, heap */
    unsigned n;
    uint16_t seq;
    uint32_t ssrc;
} stream;

static inline void stream_init(stream *s, uint16_t seq0)
{
    s->p = calloc(MAXPKTS, sizeof *s->p);
    s->n = 0;
    s->seq = seq0;
    s->ssrc = 0x11223344;
}
static inline void stream_free(stream *s) { free(s->p); }

/* Append one RTP packet: 12-byte header + payload parts a and b. */
static inline pkt *rtp(stream *s, uint32_t ts, bool marker, const uint8_t *a, size_t alen,
                       const uint8_t *b, size_t blen)
{
    pkt *p = &s->p[s->n++];
    p->b[0] = 0x80;
    p->b[1] = (uint8_t)((marker ? 0x80 : 0) | 96);
    vg_wr16(p->b + 2, s->seq++);
    vg_wr32(p->b + 4, ts);
    vg_wr32(p->b + 8, s->ssrc);
    if (alen)
        memcpy(p->b + 12, a, alen);
    if (blen)
        memcpy(p->b + 12 + alen, b, blen);
    p->len = 12 + alen + blen;
    return p;
}

/* Packetize one H.264 NAL: single NAL packet if it fits mtu, else FU-A. */
static inline void h264_nal(stream *s, uint32_t ts, bool last, const uint8_t *nal, size_t n,
                            size_t mtu)
{
    if (n <= mtu) {
        rtp(s, ts, last, nal, n, NULL, 0);
        return;
    }
    size_t off = 1;
    while (off < n) {
        size_t chunk = n - off < mtu - 2 ? n - off : mtu - 2;
        uint8_t h[2] = {(uint8_t)((nal[0] & 0xe0) | 28), (uint8_t)(nal[0] & 0x1f)};
        if (off == 1)
            h[1] |= 0x80;
        if (off + chunk == n)
            h[1] |= 0x40;
        rtp(s, ts, last && off + chunk == n, h, 2, nal + off, chunk);
        off += chunk;
    }
}

static inline void h265_nal(stream *s, uint32_t ts, bool last, const uint8_t *nal, size_t n,
                            size_t mtu)
{
    if (n <= mtu) {
        rtp(s, ts, last, nal, n, NULL, 0);
        return;
    }
    size_t off = 2;
    while (off < n) {
        size_t chunk = n - off < mtu - 3 ? n - off : mtu - 3;
        uint8_t h[3] = {(uint8_t)((nal[0] & 0x81) | 49 << 1), nal[1], (uint8_t)((nal[0] >> 1) & 0x3f)};
        if (off == 2)
            h[2] |= 0x80;
        if (off + chunk == n)
            h[2] |= 0x40;
        rtp(s, ts, last && off + chunk == n, h, 3, nal + off, chunk);
        off += chunk;
    }
}

/* A fake NAL unit of type/size with a recognisable body. */
static inline size_t fake_nal(uint8_t *out, unsigned h265, unsigned type, size_t n, unsigned seed)
{
    size_t hl = h265 ? 2 : 1;
    if (h265) {
        out[0] = (uint8_t)(type << 1);
        out[1] = 1;
    } else {
        out[0] = (uint8_t)(0x60 | type);
    }
    for (size_t i = hl; i < n; i++)
        out[i] = (uint8_t)(seed * 31 + i * 7 + 1) | 1; /* never 00 00 */
    return n;
}

/* Recorder of delivered frames. */
typedef struct got_frame {
    int64_t ts;
    uint32_t flags;
    size_t len;
    uint8_t *data;
    unsigned params_before; /* on_params calls seen before this frame */
} got_frame;

typedef struct sink {
    got_frame f[1024];
    unsigned n;
    unsigned params;
    vg_track last_track;
} sink;

static inline void sink_frame(void *arg, const vg_frame *f)
{
    sink *k = arg;
    if (k->n >= 1024)
        return;
    got_frame *g = &k->f[k->n++];
    g->ts = f->ts;
    g->flags = f->flags;
    g->len = f->len;
    g->data = malloc(f->len ? f->len : 1);
    memcpy(g->data, f->data, f->len);
    g->params_before = k->params;
}

static inline void sink_params(void *arg, unsigned idx, const vg_track *t)
{
    sink *k = arg;
    k->params++;
    k->last_track = *t;
}

static inline void sink_free(sink *k)
{
    for (unsigned i = 0; i < k->n; i++)
        free(k->f[i].data);
    k->n = 0;
    k->params = 0;
}

static const vg_depack_cbs sink_cbs = {sink_frame, sink_params};

#endif
