/* SPDX-License-Identifier: Apache-2.0 */
/* H.265 RTP payload (RFC 7798): single NAL unit packets, aggregation
 * packets (AP, 48) and fragmentation units (FU, 49), without DONL fields
 * (sprop-max-don-diff = 0; see vg_depack_set_h265_max_don_diff). PACI (50)
 * is counted and dropped. Assembly and loss live in depack.c. */
#include "rtsp/depack_int.h"

#include "core/buf.h"
#include "media/h26x.h"

enum vg__nal_kind vg__h265_nal_kind(const uint8_t *nal, size_t n)
{
    if (n < 2)
        return VG__NAL_DROP; /* no room for the 2-byte NAL header */
    unsigned t = vg_h265_nal_type(nal[0]);
    if (t >= VG_H265_NAL_IRAP_FIRST && t <= VG_H265_NAL_IRAP_LAST)
        return VG__NAL_KEY;
    switch (t) {
    case VG_H265_NAL_VPS:
        return VG__NAL_VPS;
    case VG_H265_NAL_SPS:
        return VG__NAL_SPS;
    case VG_H265_NAL_PPS:
        return VG__NAL_PPS;
    case VG_H265_NAL_AUD:
    case VG_H265_NAL_FD:
        return VG__NAL_DROP;
    default:
        return t >= 48 ? VG__NAL_DROP : VG__NAL_KEEP; /* 48..63: RTP-only types */
    }
}

/* RFC 7798 §4.4.2: AP = PayloadHdr, then (16-bit size, NAL unit)*. */
static void ap(vg_depack *d, const uint8_t *p, size_t n)
{
    size_t off = 2;
    if (n <= off) {
        vg__depack_bad(d, "empty AP");
        return;
    }
    while (off < n) {
        if (n - off < 2) {
            vg__depack_bad(d, "AP size truncated");
            return;
        }
        size_t sz = vg_rd16(p + off);
        off += 2;
        if (sz < 2 || sz > n - off) {
            vg__depack_bad(d, "AP NAL size beyond packet");
            return;
        }
        vg__au_nal(d, p + off, sz);
        off += sz;
    }
}

/* RFC 7798 §4.4.3: PayloadHdr (type 49), FU header (S E type), fragment.
 * The NAL header keeps F, LayerId and TID from the PayloadHdr. */
static void fu(vg_depack *d, const uint8_t *p, size_t n)
{
    if (n < 4) {
        vg__depack_bad(d, "short FU");
        return;
    }
    uint8_t fuh = p[2];
    if (fuh & 0x80) {
        uint8_t hdr[2] = {(uint8_t)((p[0] & 0x81) | (fuh & 0x3f) << 1), p[1]};
        vg__au_fu_start(d, hdr, 2);
    }
    vg__au_fu_data(d, p + 3, n - 3);
    if (fuh & 0x40)
        vg__au_fu_end(d);
}

void vg__h265_payload(vg_depack *d, const vg__rtp *r, int64_t ts)
{
    const uint8_t *p = r->payload;
    size_t n = r->plen;
    if (n) {
        vg__au_begin(d, ts);
        unsigned type = n >= 2 ? vg_h265_nal_type(p[0]) : 0;
        if (n < 2 || (p[0] & 0x80)) {
            vg__depack_bad(d, "short payload or forbidden_zero_bit");
        } else if (type < 48) {
            vg__au_nal(d, p, n);
        } else if (type == 48) {
            ap(d, p, n);
        } else if (type == 49) {
            fu(d, p, n);
        } else if (type == 50) {
            d->st.unsupported++; /* PACI: its payload would be missing */
            d->au_bad = true;
        } else {
            d->st.unsupported++; /* 51..63: unspecified, ignore */
        }
    }
    if (r->marker)
        vg__au_finish(d);
}
