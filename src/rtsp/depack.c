/* SPDX-License-Identifier: Apache-2.0 */
/* RTP depacketizer core: RTP header validation (RFC 3550 §5.1), sequence
 * numbers (16-bit, wrapping), the reorder window, loss handling, timestamp
 * unwrapping, and assembly of video access units from NAL units. The codec
 * files parse payload formats and call back into the vg__au_* functions.
 *
 * Invariants:
 *  1. Packets reach the codec payload handler in strictly increasing
 *     (wrapping) sequence order, each at most once: the ring slot `head`
 *     always stands for next_seq, and next_seq only moves forward.
 *  2. held == number of used slots <= nslots - 1 between calls, so at most
 *     `reorder` packets wait for a missing one (nslots == reorder + 1).
 *     While priming (start-up, see prime()) nothing is released; priming
 *     ends when the window is full, on a packet beyond it, or on flush.
 *  3. After a sequence gap, no video frame is delivered until one holding an
 *     IDR/IRAP NAL unit, and that frame carries VG_FRAME_DISCONT.
 *  4. d->au never exceeds VG__DEPACK_MAX_FRAME (vg_buf max) nor
 *     VG__DEPACK_MAX_NALS NAL units; an access unit over either is dropped.
 *  5. A frame handed to on_frame holds only complete NAL units, each with a
 *     correct 4-byte length prefix, and no parameter set, AUD or filler.
 *  6. on_params runs, when a parameter set changed, right before on_frame of
 *     the next delivered frame, never more than once per change. */
#include "rtsp/depack_int.h"

#include "core/err.h"
#include "core/log.h"
#include "media/h26x.h"

#include <stdlib.h>
#include <string.h>

#define SUB "depack"

int vg__rtp_parse(const uint8_t *pkt, size_t len, vg__rtp *out)
{
    if (!pkt || len < 12 || (pkt[0] >> 6) != 2)
        return VG_EPROTO;
    size_t off = 12 + 4u * (pkt[0] & 0x0fu); /* CSRC list */
    if (off > len)
        return VG_EPROTO;
    if (pkt[0] & 0x10) { /* header extension: 16-bit profile, 16-bit length in words */
        if (len - off < 4)
            return VG_EPROTO;
        size_t ext = 4 + 4u * vg_rd16(pkt + off + 2);
        if (len - off < ext)
            return VG_EPROTO;
        off += ext;
    }
    size_t end = len;
    if (pkt[0] & 0x20) { /* padding: the last octet counts itself (§5.1) */
        uint8_t pad = pkt[len - 1];
        if (pad == 0 || pad > len - off)
            return VG_EPROTO;
        end -= pad;
    }
    out->marker = pkt[1] >> 7;
    out->pt = pkt[1] & 0x7f;
    out->seq = vg_rd16(pkt + 2);
    out->ts = vg_rd32(pkt + 4);
    out->ssrc = vg_rd32(pkt + 8);
    out->payload = pkt + off;
    out->plen = end - off;
    return 0;
}

void vg__depack_bad(vg_depack *d, const char *why)
{
    d->st.malformed++;
    d->push_rc = VG_EPROTO;
    d->au_bad = true;
    vg_debug(SUB, "track %u: malformed payload: %s", d->track_idx, why);
}

/* ---- Frame delivery ---- */

void vg__emit(vg_depack *d, const uint8_t *data, size_t len, int64_t ts, uint32_t flags)
{
    if (d->params_dirty) {
        d->params_dirty = false;
        d->st.param_changes++;
        if (d->cbs.on_params)
            d->cbs.on_params(d->arg, d->track_idx, &d->track);
    }
    if (d->discont)
        flags |= VG_FRAME_DISCONT;
    d->discont = d->lost = false;
    d->st.frames++;
    vg_frame f = {.track = d->track_idx, .ts = ts, .flags = flags, .data = data, .len = len};
    d->cbs.on_frame(d->arg, &f);
}

/* Something was lost before the next packet: drop partial state; video
 * waits for a keyframe since later frames reference what was lost. */
static void on_loss(vg_depack *d, uint64_t n)
{
    d->st.lost += n;
    d->discont = d->lost = true;
    if (d->track.kind == VG_TRACK_VIDEO) {
        /* Keep the AU open but poisoned, so the rest of its packets (same
         * timestamp) are swallowed and it is counted as dropped once. */
        if (d->au_open) {
            vg_buf_reset(&d->au);
            d->au_bad = true;
            d->fu_active = false;
        }
        d->wait_key = true;
    } else {
        vg__aac_reset(d);
    }
}

/* ---- Access-unit assembly (video) ---- */

void vg__au_discard(vg_depack *d)
{
    vg_buf_reset(&d->au);
    d->au_open = d->au_key = d->au_bad = d->fu_active = false;
    d->au_nals = 0;
}

void vg__au_begin(vg_depack *d, int64_t ts)
{
    /* A timestamp change ends the previous access unit even without a
     * marker bit (some cameras never set it; RFC 6184 §5.1 makes the marker
     * a hint for the last packet of an AU, the timestamp is the truth). */
    if (d->au_open && ts != d->au_ts)
        vg__au_finish(d);
    if (!d->au_open) {
        d->au_open = true;
        d->au_ts = ts;
    }
}

static void au_poison_big(vg_depack *d)
{
    if (!d->au_bad) {
        d->st.too_big++;
        vg_warn(SUB, "track %u: access unit over %u bytes / %u NAL units, dropped",
                d->track_idx, VG__DEPACK_MAX_FRAME, VG__DEPACK_MAX_NALS);
    }
    d->au_bad = true;
}

static void au_append(vg_depack *d, const void *p, size_t n)
{
    if (d->au_bad)
        return;
    if (vg_buf_append(&d->au, p, n))
        au_poison_big(d);
}

/* In-band parameter set: keep the newest in the track copy and report it
 * when its bytes differ (cameras repeat them before every IDR). */
static void set_ps(vg_depack *d, enum vg__nal_kind k, const uint8_t *nal, size_t n)
{
    uint8_t *dst = k == VG__NAL_VPS ? d->track.vps : k == VG__NAL_SPS ? d->track.sps : d->track.pps;
    uint16_t *dlen = k == VG__NAL_VPS ? &d->track.vps_len
                     : k == VG__NAL_SPS ? &d->track.sps_len : &d->track.pps_len;
    if (n > VG_PS_MAX) {
        vg_warn(SUB, "track %u: parameter set of %zu bytes ignored (max %d)", d->track_idx, n,
                VG_PS_MAX);
        return;
    }
    if (*dlen == n && memcmp(dst, nal, n) == 0)
        return;
    memcpy(dst, nal, n);
    *dlen = (uint16_t)n;
    d->params_dirty = true;
    if (k != VG__NAL_SPS)
        return;
    uint16_t w = 0, h = 0;
    int rc = d->track.codec == VG_CODEC_H265 ? vg_h265_sps_dims(nal, n, &w, &h)
                                             : vg_h264_sps_dims(nal, n, &w, &h);
    if (rc)
        vg_warn(SUB, "track %u: cannot parse SPS for the picture size", d->track_idx);
    d->track.width = rc ? 0 : w;
    d->track.height = rc ? 0 : h;
}

/* The NAL unit whose length prefix starts at off is complete. */
static void nal_done(vg_depack *d, size_t off)
{
    const uint8_t *nal = d->au.data + off + 4;
    size_t n = d->au.len - off - 4;
    vg_wr32(d->au.data + off, (uint32_t)n);
    enum vg__nal_kind k = d->nal_kind(nal, n);
    switch (k) {
    case VG__NAL_KEY:
        d->au_key = true;
        /* fall through */
    case VG__NAL_KEEP:
        if (++d->au_nals > VG__DEPACK_MAX_NALS)
            au_poison_big(d);
        return;
    case VG__NAL_VPS: case VG__NAL_SPS: case VG__NAL_PPS:
        set_ps(d, k, nal, n);
        break;
    case VG__NAL_DROP:
        break;
    }
    d->au.len = off; /* strip it from the frame */
}

void vg__au_nal(vg_depack *d, const uint8_t *nal, size_t n)
{
    if (d->au_bad)
        return;
    if (d->fu_active) { /* a fragmented NAL never got its end bit */
        vg__depack_bad(d, "FU without end");
        return;
    }
    size_t off = d->au.len;
    uint8_t pre[4] = {0};
    au_append(d, pre, 4);
    au_append(d, nal, n);
    if (!d->au_bad)
        nal_done(d, off);
}

void vg__au_fu_start(vg_depack *d, const uint8_t *hdr, size_t hlen)
{
    if (d->au_bad)
        return;
    if (d->fu_active) {
        vg__depack_bad(d, "FU start inside an FU");
        return;
    }
    d->fu_off = d->au.len;
    uint8_t pre[4] = {0};
    au_append(d, pre, 4);
    au_append(d, hdr, hlen);
    d->fu_active = !d->au_bad;
}

void vg__au_fu_data(vg_depack *d, const uint8_t *p, size_t n)
{
    if (d->au_bad)
        return;
    if (!d->fu_active) {
        /* Right after a loss the start was most likely in the lost packet:
         * not a protocol error, just an undeliverable NAL unit. */
        if (d->lost)
            d->au_bad = true;
        else
            vg__depack_bad(d, "FU fragment without start");
        return;
    }
    au_append(d, p, n);
}

void vg__au_fu_end(vg_depack *d)
{
    if (d->au_bad || !d->fu_active)
        return; /* vg__au_fu_data already reported it */
    d->fu_active = false;
    nal_done(d, d->fu_off);
}

void vg__au_finish(vg_depack *d)
{
    if (!d->au_open)
        return;
    if (d->fu_active)
        vg__depack_bad(d, "access unit ends inside an FU");
    if (d->au_bad) {
        d->st.frames_dropped++;
        /* Later frames reference this one: resume at a keyframe. */
        d->wait_key = true;
        d->discont = true;
    } else if (d->au.len) {
        if (d->wait_key && !d->au_key) {
            d->st.frames_dropped++;
        } else {
            d->wait_key = false;
            vg__emit(d, d->au.data, d->au.len, d->au_ts, d->au_key ? VG_FRAME_KEY : 0);
        }
    }
    vg__au_discard(d);
}

/* ---- Sequencing ---- */

static int64_t unwrap_ts(vg_depack *d, uint32_t ts)
{
    /* Nearest interpretation: a step of less than 2^31 either way. Handles
     * the 32-bit wrap in both directions (B-frames step back, too). */
    if (!d->have_ts) {
        d->have_ts = true;
        d->last_ts = ts;
    } else {
        d->last_ts += (int32_t)(ts - d->last_ts32);
    }
    d->last_ts32 = ts;
    return d->last_ts;
}

static void process(vg_depack *d, const uint8_t *pkt, size_t len)
{
    vg__rtp r;
    if (vg__rtp_parse(pkt, len, &r))
        return; /* validated on arrival; cannot happen */
    d->st.packets++;
    int64_t ts = unwrap_ts(d, r.ts);
    d->payload(d, &r, ts);
}

/* Release the packet at the head of the window, or declare it lost. */
static void skip_head(vg_depack *d)
{
    vg__slot *s = &d->slots[d->head];
    if (s->used) {
        s->used = false;
        d->held--;
        process(d, s->data, s->len);
    } else {
        on_loss(d, 1);
    }
    d->head = (d->head + 1) % d->nslots;
    d->next_seq++;
}

static void drain(vg_depack *d)
{
    while (d->slots[d->head].used)
        skip_head(d);
}

static int hold(vg_depack *d, unsigned idx, const uint8_t *pkt, size_t len)
{
    vg__slot *s = &d->slots[idx];
    if (s->cap < len) {
        uint8_t *p = realloc(s->data, len);
        if (!p)
            return VG_ENOMEM;
        s->data = p;
        s->cap = len;
    }
    memcpy(s->data, pkt, len);
    s->len = len;
    s->used = true;
    d->held++;
    return 0;
}

/* Make room so that a packet delta ahead of next_seq fits the window. */
static void advance(vg_depack *d, unsigned delta)
{
    unsigned adv = delta - (d->nslots - 1);
    if (adv > d->nslots) {
        /* A jump past the whole window: release everything, count the rest. */
        for (unsigned i = 0; i < d->nslots; i++)
            skip_head(d);
        on_loss(d, adv - d->nslots);
        d->next_seq = (uint16_t)(d->next_seq + (adv - d->nslots));
        return;
    }
    while (adv--)
        skip_head(d);
}

/* Flush what is held (gaps between held packets count as loss). */
static void flush_window(vg_depack *d)
{
    d->priming = false;
    while (d->held)
        skip_head(d);
}

/* Normal windowed path: hold the packet at its slot, release in order. */
static int window(vg_depack *d, const vg__rtp *r, const uint8_t *pkt, size_t len)
{
    uint16_t delta = (uint16_t)(r->seq - d->next_seq);
    if (delta >= d->nslots)
        advance(d, delta);
    delta = (uint16_t)(r->seq - d->next_seq);
    unsigned idx = (d->head + delta) % d->nslots;
    if (d->slots[idx].used) {
        d->st.duplicates++;
        return 0;
    }
    int rc = hold(d, idx, pkt, len);
    if (rc)
        return rc;
    if (delta > d->max_ahead)
        d->max_ahead = delta;
    if (!d->priming)
        drain(d);
    else if (d->held >= d->nslots - 1) {
        d->priming = false; /* window full: the lowest held packet is the start */
        drain(d);
    }
    return 0;
}

/* Start-up (and after a resync): the first packet to arrive need not be the
 * first sent, so nothing is released until the window fills, and an earlier
 * packet moves the start back if everything held still fits. */
static int prime(vg_depack *d, const vg__rtp *r, const uint8_t *pkt, size_t len)
{
    uint16_t delta = (uint16_t)(r->seq - d->next_seq);
    if (delta < 0x8000) {
        if (delta >= d->nslots)
            d->priming = false; /* too far ahead: normal path handles it */
        return window(d, r, pkt, len);
    }
    unsigned shift = (uint16_t)(d->next_seq - r->seq);
    if (shift + d->max_ahead >= d->nslots) {
        d->st.late++;
        return 0;
    }
    d->head = (d->head + d->nslots - shift) % d->nslots;
    d->next_seq = r->seq;
    d->max_ahead += shift;
    return window(d, r, pkt, len);
}

static void start_seq(vg_depack *d, const vg__rtp *r)
{
    d->have_seq = true;
    d->ssrc = r->ssrc;
    d->next_seq = r->seq;
    d->late_run = 0;
    d->max_ahead = 0;
    d->priming = d->nslots > 0;
}

static int sequence(vg_depack *d, const vg__rtp *r, const uint8_t *pkt, size_t len)
{
    if (d->have_seq && r->ssrc != d->ssrc) {
        vg_info(SUB, "track %u: SSRC changed %08x -> %08x", d->track_idx, d->ssrc, r->ssrc);
        flush_window(d);
        on_loss(d, 0);
        d->have_seq = false;
    }
    if (!d->have_seq)
        start_seq(d, r);
    if (d->priming)
        return prime(d, r, pkt, len);
    uint16_t delta = (uint16_t)(r->seq - d->next_seq);
    if (delta >= 0x8000) {
        if (++d->late_run <= VG__DEPACK_LATE_RESYNC) {
            d->st.late++;
            return 0;
        }
        /* Many "late" packets in a row: the sender restarted its sequence. */
        vg_info(SUB, "track %u: RTP sequence restarted at %u", d->track_idx, r->seq);
        flush_window(d);
        on_loss(d, 0);
        start_seq(d, r);
        delta = 0;
    }
    d->late_run = 0;
    if (d->nslots == 0) { /* pass-through (TCP): a gap is loss at once */
        if (delta)
            on_loss(d, delta);
        d->next_seq = (uint16_t)(r->seq + 1);
        process(d, pkt, len);
        return 0;
    }
    return window(d, r, pkt, len);
}

/* ---- Public API ---- */

int vg_depack_new(const vg_track *track, unsigned track_idx, unsigned reorder,
                  const vg_depack_cbs *cbs, void *arg, vg_depack **out)
{
    if (!track || !cbs || !cbs->on_frame || !out || reorder > VG__DEPACK_MAX_REORDER)
        return VG_EINVAL;
    *out = NULL;
    vg_depack *d = calloc(1, sizeof *d);
    if (!d)
        return VG_ENOMEM;
    d->track = *track;
    d->track_idx = track_idx;
    d->cbs = *cbs;
    d->arg = arg;
    d->wait_key = true; /* a stream joined mid-GOP starts at its first keyframe */
    vg_buf_init(&d->au, VG__DEPACK_MAX_FRAME);
    vg_buf_init(&d->frag, VG__AAC_MAX_AU);
    d->sizelength = 13;
    d->indexlength = d->indexdeltalength = 3;
    switch (track->codec) {
    case VG_CODEC_H264:
        d->payload = vg__h264_payload;
        d->nal_kind = vg__h264_nal_kind;
        d->track.kind = VG_TRACK_VIDEO;
        break;
    case VG_CODEC_H265:
        d->payload = vg__h265_payload;
        d->nal_kind = vg__h265_nal_kind;
        d->track.kind = VG_TRACK_VIDEO;
        break;
    case VG_CODEC_AAC:
        d->payload = vg__aac_payload;
        d->track.kind = VG_TRACK_AUDIO;
        d->aac_dur = vg__aac_au_duration(track->asc, track->asc_len < sizeof track->asc
                                         ? track->asc_len : sizeof track->asc, track->clock_rate);
        break;
    default:
        free(d);
        return VG_EUNSUPPORTED;
    }
    if (reorder) {
        d->nslots = reorder + 1;
        d->slots = calloc(d->nslots, sizeof *d->slots);
        if (!d->slots) {
            free(d);
            return VG_ENOMEM;
        }
    }
    *out = d;
    return 0;
}

int vg_depack_push(vg_depack *d, const uint8_t *pkt, size_t len)
{
    if (d->rejected)
        return VG_EUNSUPPORTED;
    if (len > VG__DEPACK_MAX_PKT) {
        d->st.malformed++;
        return VG_EPROTO;
    }
    vg__rtp r;
    if (vg__rtp_parse(pkt, len, &r)) {
        d->st.malformed++;
        return VG_EPROTO;
    }
    d->push_rc = 0;
    int rc = sequence(d, &r, pkt, len);
    return rc ? rc : d->push_rc;
}

void vg_depack_flush(vg_depack *d)
{
    if (d->nslots && d->have_seq)
        flush_window(d);
    /* Without a next timestamp we cannot know a marker-less AU is whole,
     * but at session end it is the best we have. */
    if (d->track.kind == VG_TRACK_VIDEO)
        vg__au_finish(d);
    else
        vg__aac_reset(d);
}

void vg_depack_free(vg_depack *d)
{
    if (!d)
        return;
    for (unsigned i = 0; i < d->nslots; i++)
        free(d->slots[i].data);
    free(d->slots);
    /* Plaintext media: wipe on free, like every other buffer of footage. */
    vg_buf_free_wipe(&d->au);
    vg_buf_free_wipe(&d->frag);
    free(d);
}

void vg_depack_get_stats(const vg_depack *d, vg_depack_stats *out) { *out = d->st; }

int vg_depack_set_aac_params(vg_depack *d, unsigned sizelength, unsigned indexlength,
                             unsigned indexdeltalength)
{
    if (sizelength < 1 || sizelength > 16 || indexlength > 8 || indexdeltalength > 8)
        return VG_EINVAL;
    d->sizelength = sizelength;
    d->indexlength = indexlength;
    d->indexdeltalength = indexdeltalength;
    return 0;
}

int vg_depack_set_h265_max_don_diff(vg_depack *d, unsigned max_don_diff)
{
    if (!max_don_diff)
        return 0;
    vg_error(SUB, "track %u: H.265 stream with DONL (sprop-max-don-diff=%u) is not supported",
             d->track_idx, max_don_diff);
    d->rejected = true;
    return VG_EUNSUPPORTED;
}
