/* SPDX-License-Identifier: Apache-2.0 */
/* H.264 RTP payload (RFC 6184): single NAL unit packets (types 1..23),
 * STAP-A (24) and FU-A (28), i.e. packetization-mode 0 and 1. Interleaved
 * mode (STAP-B 25, MTAP16 26, MTAP24 27, FU-B 29) is counted and dropped.
 * Access-unit assembly, parameter sets and loss live in depack.c. */
#include "rtsp/depack_int.h"

#include "core/buf.h"
#include "media/h26x.h"

enum vg__nal_kind vg__h264_nal_kind(const uint8_t *nal, size_t n)
{
    if (n < 1)
        return VG__NAL_DROP;
    switch (vg_h264_nal_type(nal[0])) {
    case VG_H264_NAL_IDR:
        return VG__NAL_KEY;
    case VG_H264_NAL_SPS:
        return VG__NAL_SPS;
    case VG_H264_NAL_PPS:
        return VG__NAL_PPS;
    case 0:                      /* unspecified: nothing a decoder uses */
    case VG_H264_NAL_AUD:        /* the sample format implies AU boundaries */
    case VG_H264_NAL_FILLER:
        return VG__NAL_DROP;
    default:
        return VG__NAL_KEEP;     /* slices, SEI, end of sequence, ... */
    }
}

/* RFC 6184 §5.7.1: STAP-A = header, then (16-bit size, NAL unit)*. */
static void stap_a(vg_depack *d, const uint8_t *p, size_t n)
{
    size_t off = 1;
    if (n <= off) {
        vg__depack_bad(d, "empty STAP-A");
        return;
    }
    while (off < n) {
        if (n - off < 2) {
            vg__depack_bad(d, "STAP-A size truncated");
            return;
        }
        size_t sz = vg_rd16(p + off);
        off += 2;
        if (sz == 0 || sz > n - off) {
            vg__depack_bad(d, "STAP-A NAL size beyond packet");
            return;
        }
        vg__au_nal(d, p + off, sz);
        off += sz;
    }
}

/* RFC 6184 §5.8: FU indicator, FU header (S E R type), fragment. The NAL
 * header is rebuilt from the indicator's F/NRI and the FU header's type. */
static void fu_a(vg_depack *d, const uint8_t *p, size_t n)
{
    if (n < 3) {
        vg__depack_bad(d, "short FU-A");
        return;
    }
    uint8_t fu = p[1];
    if (fu & 0x80) {
        uint8_t hdr = (uint8_t)((p[0] & 0xe0) | (fu & 0x1f));
        vg__au_fu_start(d, &hdr, 1);
    }
    vg__au_fu_data(d, p + 2, n - 2);
    if (fu & 0x40)
        vg__au_fu_end(d);
}

void vg__h264_payload(vg_depack *d, const vg__rtp *r, int64_t ts)
{
    const uint8_t *p = r->payload;
    size_t n = r->plen;
    if (n) {
        vg__au_begin(d, ts);
        unsigned type = vg_h264_nal_type(p[0]);
        if (p[0] & 0x80) {
            vg__depack_bad(d, "forbidden_zero_bit set");
        } else if (type >= 1 && type <= 23) {
            vg__au_nal(d, p, n);
        } else if (type == 24) {
            stap_a(d, p, n);
        } else if (type == 28) {
            fu_a(d, p, n);
        } else if (type >= 25 && type <= 29) {
            /* Interleaved mode: frames would come out incomplete. */
            d->st.unsupported++;
            d->au_bad = true;
        } else {
            d->st.unsupported++; /* 0, 30, 31: RFC 6184 §5.4 says ignore */
        }
    }
    if (r->marker)
        vg__au_finish(d);
}
