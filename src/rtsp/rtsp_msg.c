/* SPDX-License-Identifier: Apache-2.0 */
/* RTSP control-connection framing: responses, server requests and '$'
 * interleaved frames (RFC 2326 §6-7, §10.12), plus Session/Transport values.
 *
 * Invariants:
 *  1. Every read is bounded by the caller's length; nothing is NUL-terminated.
 *  2. A message is reported only when complete (head and Content-Length body);
 *     until then VG__RTSP_MORE, and the bounds in rtsp_int.h are enforced on
 *     the partial data so a peer cannot make us buffer without limit.
 *  3. Bytes that cannot begin "RTSP/", a request line, or '$' are VG_EPROTO as
 *     soon as they are seen (garbage is an error, never a hang). */
#include "rtsp/rtsp_int.h"
#include "core/buf.h"
#include "core/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int vg__span_ieq(vg__span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.n == n && strncasecmp(s.p, lit, n) == 0;
}

int vg__span_cstr(vg__span s, char *out, size_t outsz)
{
    if (!outsz || s.n >= outsz)
        return VG_ETOOBIG;
    if (s.n)
        memcpy(out, s.p, s.n);
    out[s.n] = '\0';
    return 0;
}

static vg__span trim(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    return (vg__span){p, n};
}

/* Parse an unsigned decimal of at most 9 digits; -1 if s is not one. */
static long span_uint(vg__span s)
{
    if (!s.n || s.n > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (s.p[i] - '0');
    }
    return v;
}

vg__span vg__rtsp_hdr(const vg__rtsp_msg *m, const char *name)
{
    for (unsigned i = 0; i < m->nhdr; i++)
        if (vg__span_ieq(m->name[i], name))
            return m->value[i];
    return (vg__span){NULL, 0};
}

long vg__rtsp_cseq(const vg__rtsp_msg *m)
{
    vg__span v = vg__rtsp_hdr(m, "CSeq");
    return v.p ? span_uint(v) : -1;
}

/* Could the bytes seen so far begin a message? 1 response, 2 request, 0 no. */
static int start_kind(const uint8_t *p, size_t n)
{
    static const char rtsp[] = "RTSP/";
    size_t k = n < 5 ? n : 5;
    if (memcmp(p, rtsp, k) == 0)
        return 1;
    /* A method token: uppercase letters, '_' or '-', then a space. */
    for (size_t i = 0; i < n && i < 32; i++) {
        if (p[i] == ' ')
            return i ? 2 : 0;
        if (!isupper(p[i]) && p[i] != '_' && p[i] != '-')
            return 0;
    }
    return n < 32 ? 2 : 0;
}

static int parse_status_line(const char *p, size_t n, vg__rtsp_msg *m)
{
    /* "RTSP/1.0 200 OK" (RFC 2326 §7.1) */
    if (n < 12 || memcmp(p, "RTSP/", 5) != 0 || !isdigit((unsigned char)p[5]) || p[6] != '.' ||
        !isdigit((unsigned char)p[7]) || p[8] != ' ')
        return VG_EPROTO;
    long st = span_uint((vg__span){p + 9, 3});
    if (st < 100 || st > 599 || (n > 12 && p[12] != ' '))
        return VG_EPROTO;
    m->status = (int)st;
    m->reason = n > 13 ? trim(p + 13, n - 13) : (vg__span){p + n, 0};
    return 0;
}

static int parse_request_line(const char *p, size_t n, vg__rtsp_msg *m)
{
    /* "METHOD uri RTSP/1.0" (RFC 2326 §6.1) */
    const char *sp1 = memchr(p, ' ', n);
    if (!sp1 || sp1 == p)
        return VG_EPROTO;
    const char *rest = sp1 + 1;
    size_t rn = n - (size_t)(rest - p);
    const char *sp2 = memchr(rest, ' ', rn);
    if (!sp2 || sp2 == rest)
        return VG_EPROTO;
    size_t vn = rn - (size_t)(sp2 + 1 - rest);
    if (vn < 8 || memcmp(sp2 + 1, "RTSP/", 5) != 0)
        return VG_EPROTO;
    m->status = 0;
    m->reason = (vg__span){p, (size_t)(sp1 - p)};
    m->uri = (vg__span){rest, (size_t)(sp2 - rest)};
    return 0;
}

static int parse_header_line(const char *p, size_t n, vg__rtsp_msg *m)
{
    if (*p == ' ' || *p == '\t') {
        /* Folded continuation (RFC 2326 §4.2 via RFC 2616): extend the
         * previous value; it is contiguous in the buffer. */
        if (!m->nhdr)
            return VG_EPROTO;
        vg__span *v = &m->value[m->nhdr - 1];
        vg__span t = trim(p, n);
        if (t.n) {
            const char *start = v->n ? v->p : t.p;
            *v = (vg__span){start, (size_t)(t.p + t.n - start)};
        }
        return 0;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon || colon == p)
        return VG_EPROTO;
    if (m->nhdr >= VG_RTSP_HDRS_MAX)
        return VG_ETOOBIG;
    m->name[m->nhdr] = trim(p, (size_t)(colon - p));
    m->value[m->nhdr] = trim(colon + 1, n - (size_t)(colon + 1 - p));
    if (!m->name[m->nhdr].n)
        return VG_EPROTO;
    m->nhdr++;
    return 0;
}

/* Scan the head; returns bytes of head (through the blank line), 0 if
 * incomplete, or a negative error. */
static long parse_head(const char *p, size_t len, int kind, vg__rtsp_msg *m)
{
    size_t pos = 0;
    int first = 1;
    for (;;) {
        size_t avail = len - pos;
        size_t lim = avail < VG_RTSP_LINE_MAX ? avail : VG_RTSP_LINE_MAX;
        const char *nl = memchr(p + pos, '\n', lim);
        if (!nl) {
            if (avail >= VG_RTSP_LINE_MAX || len >= VG_RTSP_HEAD_MAX)
                return VG_ETOOBIG;
            if (first && kind == 1 && avail >= 13 && parse_status_line(p, avail, m))
                return VG_EPROTO;
            return 0;
        }
        size_t ll = (size_t)(nl - (p + pos));
        if (ll && p[pos + ll - 1] == '\r')
            ll--;
        size_t next = (size_t)(nl - p) + 1;
        if (next > VG_RTSP_HEAD_MAX)
            return VG_ETOOBIG;
        int rc;
        if (first)
            rc = kind == 1 ? parse_status_line(p + pos, ll, m) : parse_request_line(p + pos, ll, m);
        else if (!ll)
            return (long)next;
        else
            rc = parse_header_line(p + pos, ll, m);
        if (rc)
            return rc;
        first = 0;
        pos = next;
    }
}

int vg__rtsp_next(const uint8_t *buf, size_t len, size_t *used, vg__rtsp_msg *msg,
                  vg__rtsp_frame *fr)
{
    size_t i = 0;
    *used = 0;
    /* Some servers put a stray CRLF between messages; tolerate a few. */
    while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
        if (++i > 8)
            return VG_EPROTO;
    if (i == len)
        return VG__RTSP_MORE;
    if (buf[i] == '$') {
        if (len - i < 4)
            return VG__RTSP_MORE;
        size_t n = vg_rd16(buf + i + 2);
        if (len - i - 4 < n)
            return VG__RTSP_MORE;
        fr->channel = buf[i + 1];
        fr->data = buf + i + 4;
        fr->len = n;
        *used = i + 4 + n;
        return VG__RTSP_FRAME;
    }
    int kind = start_kind(buf + i, len - i);
    if (!kind)
        return VG_EPROTO;
    const char *p = (const char *)buf + i;
    size_t plen = len - i;
    memset(msg, 0, sizeof *msg);
    long head = parse_head(p, plen, kind, msg);
    if (head <= 0)
        return head < 0 ? (int)head : VG__RTSP_MORE;
    long clen = 0;
    vg__span cl = vg__rtsp_hdr(msg, "Content-Length");
    if (cl.p) {
        clen = span_uint(cl);
        if (clen < 0)
            return cl.n > 9 ? VG_ETOOBIG : VG_EPROTO;
        if (clen > VG_RTSP_BODY_MAX)
            return VG_ETOOBIG;
    }
    if (plen - (size_t)head < (size_t)clen)
        return VG__RTSP_MORE;
    msg->body = (vg__span){p + head, (size_t)clen};
    *used = i + (size_t)head + (size_t)clen;
    return kind == 1 ? VG__RTSP_RESPONSE : VG__RTSP_REQUEST;
}

int vg__rtsp_parse_session(vg__span v, char *id, size_t idsz, unsigned *timeout_s)
{
    *timeout_s = 0;
    const char *semi = v.p ? memchr(v.p, ';', v.n) : NULL;
    vg__span sid = trim(v.p, semi ? (size_t)(semi - v.p) : v.n);
    if (!sid.n)
        return VG_EPROTO;
    /* session-id = 1*( ALPHA / DIGIT / safe ) (RFC 2326 §3.4); reject bytes
     * that would let it inject a header when echoed back. */
    for (size_t i = 0; i < sid.n; i++)
        if ((unsigned char)sid.p[i] <= ' ' || sid.p[i] == 0x7f || sid.p[i] == ';')
            return VG_EPROTO;
    if (vg__span_cstr(sid, id, idsz))
        return VG_ETOOBIG;
    while (semi) {
        const char *start = semi + 1;
        size_t rest = v.n - (size_t)(start - v.p);
        semi = memchr(start, ';', rest);
        vg__span kv = trim(start, semi ? (size_t)(semi - start) : rest);
        if (kv.n > 8 && strncasecmp(kv.p, "timeout=", 8) == 0) {
            long t = span_uint(trim(kv.p + 8, kv.n - 8));
            if (t > 0)
                *timeout_s = t > 86400 ? 86400 : (unsigned)t;
        }
    }
    return 0;
}

/* "a-b" or "a" into two ints (0..65535); -1 for absent parts. */
static int parse_pair(vg__span v, int out[2])
{
    const char *dash = memchr(v.p, '-', v.n);
    long a = span_uint(trim(v.p, dash ? (size_t)(dash - v.p) : v.n));
    long b = dash ? span_uint(trim(dash + 1, v.n - (size_t)(dash + 1 - v.p))) : -1;
    if (a < 0 || a > 65535 || b > 65535 || (dash && b < 0))
        return VG_EPROTO;
    out[0] = (int)a;
    out[1] = dash ? (int)b : (int)a + 1;
    return 0;
}

static int transport_param(vg__span kv, vg__rtsp_transport *t)
{
    const char *eq = memchr(kv.p, '=', kv.n);
    if (!eq)
        return 0;
    vg__span k = trim(kv.p, (size_t)(eq - kv.p));
    vg__span v = trim(eq + 1, kv.n - (size_t)(eq + 1 - kv.p));
    if (vg__span_ieq(k, "interleaved"))
        return parse_pair(v, t->interleaved);
    if (vg__span_ieq(k, "server_port"))
        return parse_pair(v, t->server_port);
    if (vg__span_ieq(k, "client_port"))
        return parse_pair(v, t->client_port);
    if (vg__span_ieq(k, "source"))
        return vg__span_cstr(v, t->source, sizeof t->source) ? VG_EPROTO : 0;
    if (vg__span_ieq(k, "ssrc") && v.n && v.n <= 8) {
        uint32_t x = 0;
        for (size_t i = 0; i < v.n; i++) {
            int c = tolower((unsigned char)v.p[i]);
            int d = isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
            if (d < 0)
                return VG_EPROTO;
            x = x << 4 | (uint32_t)d;
        }
        t->ssrc = x;
        t->has_ssrc = 1;
    }
    return 0;
}

int vg__rtsp_parse_transport(vg__span v, vg__rtsp_transport *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < 2; i++)
        t->interleaved[i] = t->server_port[i] = t->client_port[i] = -1;
    if (!v.p || !v.n)
        return VG_EPROTO;
    const char *comma = memchr(v.p, ',', v.n);
    size_t n = comma ? (size_t)(comma - v.p) : v.n;
    const char *p = v.p, *end = v.p + n;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *e = semi ? semi : end;
        int rc = transport_param(trim(p, (size_t)(e - p)), t);
        if (rc)
            return rc;
        p = semi ? semi + 1 : end;
    }
    return 0;
}
