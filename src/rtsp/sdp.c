/* SPDX-License-Identifier: Apache-2.0 */
/* SDP parsing (RFC 8866) for DESCRIBE answers: session and media sections,
 * a=control, a=rtpmap, a=fmtp for H.264 (RFC 6184 §8.1), H.265 (RFC 7798
 * §7.1) and AAC mpeg4-generic (RFC 3640 §4.1).
 *
 * Invariants:
 *  1. Input is pointer+length; no byte past len is read; no allocation.
 *  2. On any error *out is all zero (no partial result).
 *  3. Structure errors (no "v=" first, a line without "x=", a bad m=/rtpmap,
 *     bad base64/hex in a parameter we use) are VG_EINVAL. Unknown lines and
 *     attributes are ignored; media beyond VG_SDP_MAX_MEDIA are ignored.
 *  4. A parameter set larger than VG_PS_MAX is skipped (the depacketizer will
 *     learn it in band), not an error: a camera must not be lost over it. */
#include "rtsp/sdp.h"
#include "core/err.h"
#include "rtsp/rtsp_int.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

typedef struct parse_state {
    vg_sdp *sdp;
    int skip;                            /* inside a media section we ignore */
    unsigned clock[VG_SDP_MAX_MEDIA], chans[VG_SDP_MAX_MEDIA];
    vg__span fmtp[VG_SDP_MAX_MEDIA];     /* parameters, applied after the section */
} parse_state;

static vg__span sp_trim(vg__span s)
{
    while (s.n && (*s.p == ' ' || *s.p == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

/* Split s at the first c: *head gets the part before, s advances past c. */
static vg__span split(vg__span *s, char c)
{
    const char *x = s->n ? memchr(s->p, c, s->n) : NULL;
    vg__span head = {s->p, x ? (size_t)(x - s->p) : s->n};
    if (x) {
        s->n -= (size_t)(x + 1 - s->p);
        s->p = x + 1;
    } else {
        s->p += s->n;
        s->n = 0;
    }
    return head;
}

static long sp_uint(vg__span s, long max)
{
    s = sp_trim(s);
    if (!s.n || s.n > 10)
        return -1;
    long v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!isdigit((unsigned char)s.p[i]))
            return -1;
        v = v * 10 + (s.p[i] - '0');
    }
    return v <= max ? v : -1;
}

static int sp_prefix(vg__span s, const char *lit, vg__span *rest)
{
    size_t n = strlen(lit);
    if (s.n < n || strncasecmp(s.p, lit, n) != 0)
        return 0;
    *rest = (vg__span){s.p + n, s.n - n};
    return 1;
}

/* Base64 (RFC 4648 §4, padding optional: cameras differ). Returns decoded
 * length, VG_ETOOBIG if it would exceed max, VG_EINVAL if malformed. */
static int b64_decode(vg__span s, uint8_t *out, size_t max)
{
    s = sp_trim(s);
    while (s.n && s.p[s.n - 1] == '=')
        s.n--;
    if (!s.n || s.n % 4 == 1)
        return VG_EINVAL;
    if (s.n / 4 * 3 + (s.n % 4 ? s.n % 4 - 1 : 0) > max)
        return VG_ETOOBIG;
    size_t olen = 0;
    if (sodium_base642bin(out, max, s.p, s.n, NULL, &olen, NULL,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
        return VG_EINVAL;
    return (int)olen;
}

/* One parameter set into dst; oversize is skipped (invariant 4). */
static int put_ps(vg__span b64, uint8_t *dst, uint16_t *dlen)
{
    uint8_t tmp[VG_PS_MAX];
    int n = b64_decode(b64, tmp, sizeof tmp);
    if (n == VG_ETOOBIG)
        return 0;
    if (n < 0)
        return n;
    if (!*dlen && n > 0) {
        memcpy(dst, tmp, (size_t)n);
        *dlen = (uint16_t)n;
    }
    return 0;
}

static int h264_sprops(vg__span v, vg_track *t)
{
    while (v.n) {
        vg__span one = sp_trim(split(&v, ','));
        if (!one.n)
            continue;
        uint8_t tmp[VG_PS_MAX];
        int n = b64_decode(one, tmp, sizeof tmp);
        if (n == VG_ETOOBIG)
            continue;
        if (n <= 0)
            return VG_EINVAL;
        unsigned type = tmp[0] & 0x1f;   /* RFC 6184 §1.3 */
        if (type == 7 && !t->sps_len) {
            memcpy(t->sps, tmp, (size_t)n);
            t->sps_len = (uint16_t)n;
        } else if (type == 8 && !t->pps_len) {
            memcpy(t->pps, tmp, (size_t)n);
            t->pps_len = (uint16_t)n;
        }
    }
    return 0;
}

static int hex_decode(vg__span s, uint8_t *out, size_t max, uint16_t *olen)
{
    s = sp_trim(s);
    if (!s.n || s.n % 2 || s.n / 2 > max)
        return VG_EINVAL;
    size_t bl = 0;
    if (sodium_hex2bin(out, max, s.p, s.n, NULL, &bl, NULL) != 0 || bl != s.n / 2)
        return VG_EINVAL;
    *olen = (uint16_t)bl;
    return 0;
}

static int fmtp_param(vg_sdp_media *m, vg__span k, vg__span v)
{
    vg_track *t = &m->track;
    long x;
    if (vg__span_ieq(k, "sprop-parameter-sets"))
        return h264_sprops(v, t);
    if (vg__span_ieq(k, "sprop-vps"))
        return put_ps(split(&v, ','), t->vps, &t->vps_len);
    if (vg__span_ieq(k, "sprop-sps"))
        return put_ps(split(&v, ','), t->sps, &t->sps_len);
    if (vg__span_ieq(k, "sprop-pps"))
        return put_ps(split(&v, ','), t->pps, &t->pps_len);
    if (vg__span_ieq(k, "config") && t->codec == VG_CODEC_AAC)
        return hex_decode(v, t->asc, sizeof t->asc, &t->asc_len);
    if (vg__span_ieq(k, "mode"))
        m->aac_hbr = vg__span_ieq(sp_trim(v), "AAC-hbr");
    else if (vg__span_ieq(k, "packetization-mode") && (x = sp_uint(v, 2)) >= 0)
        m->packetization_mode = (unsigned)x;
    else if (vg__span_ieq(k, "sprop-max-don-diff") && (x = sp_uint(v, 32767)) >= 0)
        m->h265_max_don_diff = (unsigned)x;
    else if (vg__span_ieq(k, "sizelength") && (x = sp_uint(v, 32)) >= 0)
        m->aac_sizelength = (unsigned)x;
    else if (vg__span_ieq(k, "indexlength") && (x = sp_uint(v, 32)) >= 0)
        m->aac_indexlength = (unsigned)x;
    else if (vg__span_ieq(k, "indexdeltalength") && (x = sp_uint(v, 32)) >= 0)
        m->aac_indexdeltalength = (unsigned)x;
    return 0;
}

/* "a=fmtp:<pt> k=v; k=v" (RFC 8866 §6.15); pt already matched. */
static int apply_fmtp(vg_sdp_media *m, vg__span params)
{
    while (params.n) {
        vg__span kv = sp_trim(split(&params, ';'));
        if (!kv.n)
            continue;
        vg__span k = sp_trim(split(&kv, '='));
        int rc = fmtp_param(m, k, sp_trim(kv));
        if (rc)
            return rc;
    }
    return 0;
}

static void classify(vg_sdp_media *m, unsigned clock, unsigned chans)
{
    vg_track *t = &m->track;
    if (!strcmp(m->media, "video"))
        t->kind = VG_TRACK_VIDEO;
    else if (!strcmp(m->media, "audio"))
        t->kind = VG_TRACK_AUDIO;
    t->clock_rate = clock;
    if (!clock)
        return;   /* no rtpmap: a static payload type; none we support */
    if (t->kind == VG_TRACK_VIDEO && !strcasecmp(m->encoding, "H264"))
        t->codec = VG_CODEC_H264;
    else if (t->kind == VG_TRACK_VIDEO &&
             (!strcasecmp(m->encoding, "H265") || !strcasecmp(m->encoding, "HEVC")))
        t->codec = VG_CODEC_H265;
    else if (t->kind == VG_TRACK_AUDIO && !strcasecmp(m->encoding, "MPEG4-GENERIC")) {
        t->codec = VG_CODEC_AAC;
        t->sample_rate = clock;
        t->channels = (uint8_t)(chans ? chans : 1);
    }
}

static int finish_media(parse_state *ps, unsigned i)
{
    vg_sdp_media *m = &ps->sdp->media[i];
    classify(m, ps->clock[i], ps->chans[i]);
    if (ps->fmtp[i].p) {
        int rc = apply_fmtp(m, ps->fmtp[i]);
        if (rc)
            return rc;
    }
    /* AAC without an AudioSpecificConfig or in a mode we cannot split
     * (RFC 3640 generic/CELP) is unsupported, not malformed. */
    if (m->track.codec == VG_CODEC_AAC && (!m->track.asc_len || !m->aac_sizelength))
        m->track.codec = VG_CODEC_NONE;
    return 0;
}

/* "m=<media> <port> <proto> <fmt> ..." (RFC 8866 §5.14) */
static int parse_m(parse_state *ps, vg__span v)
{
    vg_sdp *sdp = ps->sdp;
    if (sdp->nmedia >= VG_SDP_MAX_MEDIA) {
        ps->skip = 1;
        return 0;
    }
    vg__span media = split(&v, ' ');
    vg__span port = split(&v, ' ');
    vg__span proto = split(&v, ' ');
    vg__span fmt = sp_trim(split(&v, ' '));
    if (!media.n || !port.n || !proto.n || !fmt.n)
        return VG_EINVAL;
    vg_sdp_media *m = &sdp->media[sdp->nmedia];
    if (vg__span_cstr(media, m->media, sizeof m->media))
        return VG_EINVAL;
    long pt = sp_uint(fmt, 127);
    m->payload_type = pt < 0 ? 255u : (unsigned)pt;   /* 255: not RTP, never matches */
    sdp->nmedia++;
    ps->skip = 0;
    return 0;
}

/* "a=rtpmap:<pt> <enc>/<clock>[/<channels>]" (RFC 8866 §6.6) */
static int parse_rtpmap(parse_state *ps, vg_sdp_media *m, vg__span v)
{
    long pt = sp_uint(split(&v, ' '), 127);
    vg__span enc = split(&v, '/');
    long clock = sp_uint(split(&v, '/'), 10000000);
    long chans = v.n ? sp_uint(v, 255) : 0;
    if (pt < 0 || !enc.n || clock <= 0 || chans < 0)
        return VG_EINVAL;
    if ((unsigned)pt != m->payload_type)
        return 0;
    if (vg__span_cstr(sp_trim(enc), m->encoding, sizeof m->encoding))
        return VG_EINVAL;
    unsigned i = (unsigned)(m - ps->sdp->media);
    ps->clock[i] = (unsigned)clock;
    ps->chans[i] = (unsigned)chans;
    return 0;
}

static int parse_a(parse_state *ps, vg__span v)
{
    vg_sdp *sdp = ps->sdp;
    vg_sdp_media *m = sdp->nmedia ? &sdp->media[sdp->nmedia - 1] : NULL;
    vg__span rest;
    if (ps->skip)
        return 0;
    if (sp_prefix(v, "control:", &rest)) {
        char *dst = m ? m->control : sdp->session_control;
        return vg__span_cstr(sp_trim(rest), dst, sizeof m->control) ? VG_EINVAL : 0;
    }
    if (!m)
        return 0;
    if (sp_prefix(v, "rtpmap:", &rest))
        return parse_rtpmap(ps, m, rest);
    if (sp_prefix(v, "fmtp:", &rest)) {
        long pt = sp_uint(split(&rest, ' '), 127);
        if (pt < 0)
            return VG_EINVAL;
        if ((unsigned)pt == m->payload_type)
            ps->fmtp[m - sdp->media] = rest;
    }
    return 0;
}

static int parse_lines(parse_state *ps, const char *text, size_t len)
{
    vg__span all = {text, len};
    int first = 1;
    while (all.n) {
        vg__span line = split(&all, '\n');
        if (line.n && line.p[line.n - 1] == '\r')
            line.n--;
        if (!line.n)
            continue;
        if (line.n < 2 || line.p[1] != '=' || !isalpha((unsigned char)line.p[0]))
            return VG_EINVAL;
        vg__span v = {line.p + 2, line.n - 2};
        if (first && (line.p[0] != 'v' || sp_uint(v, 0) != 0))
            return VG_EINVAL;   /* RFC 8866 §5.1: "v=0" comes first */
        first = 0;
        int rc = 0;
        if (line.p[0] == 'm')
            rc = parse_m(ps, v);
        else if (line.p[0] == 'a')
            rc = parse_a(ps, v);
        if (rc)
            return rc;
    }
    return first ? VG_EINVAL : 0;
}

int vg_sdp_parse(const char *text, size_t len, vg_sdp *out)
{
    parse_state ps;
    memset(&ps, 0, sizeof ps);
    memset(out, 0, sizeof *out);
    ps.sdp = out;
    int rc = text ? parse_lines(&ps, text, len) : VG_EINVAL;
    for (unsigned i = 0; !rc && i < out->nmedia; i++)
        rc = finish_media(&ps, i);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
