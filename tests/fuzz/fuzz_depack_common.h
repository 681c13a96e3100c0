/* SPDX-License-Identifier: Apache-2.0 */
/* Shared driver for the depacketizer fuzz targets. Input: one config byte
 * (reorder window = b % 40; bit 7 selects AAC-lbr for AAC), then packets as
 * [u16 big-endian length][bytes]. Frames delivered are checked for the
 * length-prefix invariant (video) so a broken frame is a crash. */
#ifndef VG_FUZZ_DEPACK_COMMON_H
#define VG_FUZZ_DEPACK_COMMON_H

#include "core/log.h"
#include "rtsp/depack.h"

#include <stdint.h>
#include <stdlib.h>

static enum vg_codec fuzz_codec;
static volatile uint8_t fuzz_sink;

static void fuzz_on_frame(void *arg, const vg_frame *f)
{
    for (size_t i = 0; i < f->len; i++)
        fuzz_sink ^= f->data[i];
    if (fuzz_codec == VG_CODEC_AAC)
        return;
    size_t o = 0;
    while (o < f->len) {
        if (f->len - o < 4)
            abort();
        uint32_t n = (uint32_t)f->data[o] << 24 | (uint32_t)f->data[o + 1] << 16 |
                     (uint32_t)f->data[o + 2] << 8 | f->data[o + 3];
        if (n == 0 || n > f->len - o - 4)
            abort();
        o += 4 + n;
    }
}

static void fuzz_on_params(void *arg, unsigned idx, const vg_track *t)
{
    if (t->sps_len > VG_PS_MAX || t->pps_len > VG_PS_MAX || t->vps_len > VG_PS_MAX)
        abort();
}

static int fuzz_depack(enum vg_codec codec, const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        vg_log_set_level(VG_LOG_ERROR);
        quiet = 1;
    }
    if (size < 1)
        return 0;
    fuzz_codec = codec;
    vg_track t = {.codec = codec, .clock_rate = codec == VG_CODEC_AAC ? 48000 : 90000,
                  .kind = codec == VG_CODEC_AAC ? VG_TRACK_AUDIO : VG_TRACK_VIDEO};
    if (codec == VG_CODEC_AAC) {
        t.asc[0] = 0x11;
        t.asc[1] = 0x90;
        t.asc_len = 2;
    }
    vg_depack_cbs cbs = {fuzz_on_frame, fuzz_on_params};
    vg_depack *d;
    if (vg_depack_new(&t, 0, data[0] % 40, &cbs, NULL, &d))
        return 0;
    if (codec == VG_CODEC_AAC && (data[0] & 0x80))
        vg_depack_set_aac_params(d, 6, 2, 2);
    size_t o = 1;
    while (size - o >= 2) {
        size_t n = (size_t)data[o] << 8 | data[o + 1];
        o += 2;
        if (n > size - o)
            n = size - o;
        /* Exact-size copy so ASan sees any over-read of the packet. */
        uint8_t *p = malloc(n ? n : 1);
        if (!p)
            break;
        for (size_t i = 0; i < n; i++)
            p[i] = data[o + i];
        vg_depack_push(d, p, n);
        free(p);
        o += n;
    }
    vg_depack_flush(d);
    vg_depack_free(d);
    return 0;
}

#endif
