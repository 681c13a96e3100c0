/* SPDX-License-Identifier: Apache-2.0 */
/* AAC RTP payload (RFC 3640 mpeg4-generic, AAC-hbr / AAC-lbr): the
 * AU-headers section (§3.2.1) then the AUs back to back; no auxiliary
 * section (auxiliarydatasizelength is 0 in both modes). One frame per AU,
 * at packet ts + AU serial offset * AU duration. An AU larger than its
 * packet is fragmented over packets with the same timestamp (§3.2.3): each
 * fragment's AU-size is the whole AU's; we reassemble up to VG__AAC_MAX_AU.
 *
 * Invariant: d->frag holds the first d->frag.len bytes of exactly one AU
 * of d->frag_size bytes at d->frag_ts while frag_active. */
#include "rtsp/depack_int.h"

#include "core/log.h"
#include "media/h26x.h"

#define SUB "depack"

void vg__aac_reset(vg_depack *d)
{
    if (d->frag_active) {
        d->st.frames_dropped++;
        /* The rest of this AU's fragments (same timestamp) are skipped. */
        d->skip_ts = d->frag_ts;
        d->skip_valid = true;
    }
    d->frag_active = false;
    vg_buf_reset(&d->frag);
}

uint32_t vg__aac_au_duration(const uint8_t *asc, size_t len, uint32_t clock_rate)
{
    static const uint32_t rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                       22050, 16000, 12000, 11025, 8000,  7350};
    vg_bits b;
    vg_bits_init(&b, asc, len, false);
    unsigned aot = vg_bits_read(&b, 5);
    if (aot == 31)
        aot = 32 + vg_bits_read(&b, 6);
    unsigned fi = vg_bits_read(&b, 4);
    uint32_t rate = fi == 15 ? vg_bits_read(&b, 24) : fi < 13 ? rates[fi] : 0;
    vg_bits_skip(&b, 4); /* channelConfiguration */
    if (aot == 5 || aot == 29) {
        /* Explicit SBR/PS (§1.6.2.1): extension rate, then the core AOT;
         * the RTP clock may be either rate, so we scale below. */
        unsigned ei = vg_bits_read(&b, 4);
        if (ei == 15)
            vg_bits_skip(&b, 24);
        aot = vg_bits_read(&b, 5);
        if (aot == 31)
            aot = 32 + vg_bits_read(&b, 6);
    }
    unsigned samples = 1024;
    /* GASpecificConfig's frameLengthFlag: 960-sample frames (§4.4.1). */
    bool ga = aot == 1 || aot == 2 || aot == 3 || aot == 4 || aot == 6 || aot == 7 ||
              (aot >= 17 && aot <= 23);
    if (ga && vg_bits_read(&b, 1))
        samples = 960;
    if (b.err || len == 0)
        return 1024;
    if (rate && clock_rate && clock_rate != rate)
        return (uint32_t)((uint64_t)samples * clock_rate / rate);
    return samples;
}

static void emit_au(vg_depack *d, const uint8_t *p, size_t n, int64_t ts)
{
    vg__emit(d, p, n, ts, VG_FRAME_KEY); /* every AAC AU decodes on its own */
}

static void bad(vg_depack *d, const char *why)
{
    vg__aac_reset(d);
    d->discont = true;
    vg__depack_bad(d, why);
}

/* A broken fragmented AU: after a loss that is expected (the lost packet
 * held the start or the end), otherwise the sender is at fault. */
static void frag_drop(vg_depack *d, const char *why)
{
    if (d->lost)
        vg__aac_reset(d);
    else
        bad(d, why);
}

/* A continuation fragment of the AU in d->frag. */
static void frag_more(vg_depack *d, const vg__rtp *r, size_t size, const uint8_t *p, size_t n)
{
    if (size != d->frag_size || n > size - d->frag.len) {
        frag_drop(d, "AAC fragment does not match its AU");
        return;
    }
    if (vg_buf_append(&d->frag, p, n)) {
        bad(d, "AAC AU too big");
        return;
    }
    if (d->frag.len == d->frag_size) {
        d->frag_active = false;
        emit_au(d, d->frag.data, d->frag.len, d->frag_ts);
        vg_buf_reset(&d->frag);
    } else if (r->marker) {
        frag_drop(d, "AAC fragment ends short");
    }
}

static void frag_start(vg_depack *d, int64_t ts, size_t size, const uint8_t *p, size_t n)
{
    vg_buf_reset(&d->frag);
    if (size > VG__AAC_MAX_AU || vg_buf_append(&d->frag, p, n)) {
        bad(d, "AAC AU too big");
        return;
    }
    d->frag_active = true;
    d->frag_ts = ts;
    d->frag_size = size;
}

void vg__aac_payload(vg_depack *d, const vg__rtp *r, int64_t ts)
{
    const uint8_t *p = r->payload;
    size_t n = r->plen;
    if (n < 2) {
        bad(d, "AAC payload without AU-headers-length");
        return;
    }
    size_t hbits = vg_rd16(p), hbytes = (hbits + 7) / 8;
    if (hbytes > n - 2) {
        bad(d, "AU headers beyond packet");
        return;
    }
    vg_bits b;
    vg_bits_init(&b, p + 2, hbytes, false);
    const uint8_t *data = p + 2 + hbytes;
    size_t left = n - 2 - hbytes, used = 0;
    int64_t serial = 0;
    unsigned nau = 0;
    if (d->skip_valid && ts == d->skip_ts)
        return;
    d->skip_valid = false;
    if (d->frag_active && ts != d->frag_ts)
        frag_drop(d, "AAC fragment interrupted");
    while (used + d->sizelength + (nau ? d->indexdeltalength : d->indexlength) <= hbits) {
        size_t size = vg_bits_read(&b, d->sizelength);
        unsigned ilen = nau ? d->indexdeltalength : d->indexlength;
        used += d->sizelength + ilen;
        /* AU-Index-delta: serial = previous + 1 + delta (§3.2.1.1). */
        uint32_t idx = vg_bits_read(&b, ilen);
        serial += nau ? 1 + (int64_t)idx : 0;
        nau++;
        if (d->frag_active) {
            frag_more(d, r, size, data, left);
            return;
        }
        if (size > left) {
            if (nau == 1 && used + d->sizelength + d->indexdeltalength > hbits)
                frag_start(d, ts, size, data, left); /* a lone AU: first fragment */
            else
                bad(d, "AU beyond packet");
            return;
        }
        emit_au(d, data, size, ts + serial * (int64_t)d->aac_dur);
        data += size;
        left -= size;
    }
    if (!nau)
        bad(d, "AAC packet without AU headers");
}
