/* SPDX-License-Identifier: Apache-2.0 */
/* RTSP 1.0 client (RFC 2326) on vg_loop: connect -> DESCRIBE -> SETUP each
 * supported track -> PLAY -> stream, with keep-alive, auth, redirects, TCP
 * interleaved or UDP transport. See docs/design/rtsp.md.
 *
 * States (s->st) and the function that moves to each:
 *   IDLE --kick_cb/do_connect--> CONNECTING --on_connected--> DESCRIBE
 *   DESCRIBE --on_describe--> SETUP (or IDLE again on a redirect)
 *   SETUP --on_setup (last track)--> PLAY --on_play--> PLAYING
 *   any --fail()--> DEAD (on_state(rc<0) was called; nothing fires after)
 *
 * Invariants:
 *  1. At most one request is in flight (s->pending); a response is matched by
 *     CSeq, others are ignored. Every request and the connect have a timer.
 *  2. Callbacks into the user run only from loop entry points (io and timer
 *     callbacks) bracketed by enter()/leave(). vg_rtsp_free() inside a
 *     callback stops every watcher and timer at once but defers releasing
 *     memory to the outermost leave() (s->depth == 0): the depacketizer whose
 *     on_frame we are inside is never freed under its own feet.
 *  3. After fail() or vg_rtsp_free(), no user callback fires again
 *     (s->dead / s->freed are checked after every user callback).
 *  4. Media is accepted only in PLAYING, only on channels/sockets we set up,
 *     and on UDP only from the camera's address (or its Transport source=).
 *  5. The password lives in s->url.pass / the auth header only; it never
 *     reaches a log line, and s and the output buffer are wiped on free. */
#include "rtsp/rtsp.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/resolve.h"
#include "rtsp/depack.h"
#include "rtsp/rtsp_int.h"
#include "rtsp/sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_MAX (VG_RTSP_HEAD_MAX + VG_RTSP_BODY_MAX + 4 + 65535)
#define OUT_MAX 65536
#define UDP_REORDER 32
#define RR_INTERVAL_MS 5000
#define MAX_REDIRECTS 3
#define UDP_BATCH 64        /* datagrams per wakeup, for fairness between cameras */

enum state { ST_IDLE, ST_CONNECTING, ST_DESCRIBE, ST_SETUP, ST_PLAY, ST_PLAYING, ST_DEAD };

struct rtsp_track {
    vg_rtsp *s;
    unsigned idx;
    char url[VG_RTSP_URL_MAX];
    vg_depack *dp;
    int ch[2];                       /* TCP: interleaved RTP/RTCP channels */
    int fd[2];                       /* UDP: RTP/RTCP sockets, -1 if none */
    vg_io io[2];
    uint16_t cport;                  /* UDP: our RTP port (even) */
    int sport[2];                    /* UDP: server ports, -1 unknown */
    struct sockaddr_storage src;     /* UDP: address media must come from */
    int seen;                        /* RTCP RR bookkeeping (RFC 3550 A.1) */
    uint32_t ssrc, cycles;
    uint16_t max_seq;
};

struct vg_rtsp {
    vg_loop *loop;
    vg_source_cbs cbs;
    void *arg;
    char name[64];
    vg__rtsp_url url;                /* current target; user/pass are the credentials */
    int have_creds;
    enum vg_rtsp_transport transport;
    unsigned connect_ms, request_ms, stall_ms;
    enum state st;
    int fd;
    vg_io io;
    vg_buf in, out;                  /* out is wiped on free: Basic auth is in it */
    unsigned gen;                    /* bumped on reconnect: stale buffers are dropped */
    vg_timer kick_timer, req_timer, ka_timer, stall_timer, rr_timer;
    /* The request in flight (invariant 1), kept for a retry after 401. */
    int pending, auth_tries;
    uint32_t cseq;
    char method[16], req_url[VG_RTSP_URL_MAX], extra[256];
    vg__rtsp_auth auth;
    unsigned redirects;
    char base[VG_RTSP_URL_MAX], play_url[VG_RTSP_URL_MAX];
    char session[128];
    unsigned session_timeout;
    int ka_options;                  /* GET_PARAMETER refused: keep alive with OPTIONS */
    vg_sdp *sdp;
    struct rtsp_track trk[VG_MAX_TRACKS];
    unsigned ntrk, setup_idx;
    vg_track tracks[VG_MAX_TRACKS];
    unsigned media_of[VG_MAX_TRACKS];  /* track -> index in *sdp */
    uint64_t last_media;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    vg_resolve *dns;                 /* the connect's name lookup, while it runs */
    uint32_t our_ssrc;
    int depth, freed, dead;
    uint8_t *udpbuf;                 /* UDP receive scratch, 64 KiB */
};

static void send_setup(vg_rtsp *s);

/* ---- lifetime ------------------------------------------------------------ */

static void enter(vg_rtsp *s) { s->depth++; }

static void destroy(vg_rtsp *s)
{
    for (unsigned i = 0; i < VG_MAX_TRACKS; i++)
        if (s->trk[i].dp)
            vg_depack_free(s->trk[i].dp);
    vg_buf_free(&s->in);
    vg_buf_free_wipe(&s->out);
    free(s->sdp);
    free(s->udpbuf);
    sodium_memzero(s, sizeof *s);
    free(s);
}

static void leave(vg_rtsp *s)
{
    if (--s->depth == 0 && s->freed)
        destroy(s);
}

static void close_udp(vg_rtsp *s)
{
    for (unsigned i = 0; i < VG_MAX_TRACKS; i++)
        for (int k = 0; k < 2; k++)
            if (s->trk[i].fd[k] >= 0) {
                vg_io_stop(s->loop, &s->trk[i].io[k]);
                close(s->trk[i].fd[k]);
                s->trk[i].fd[k] = -1;
            }
}

static void close_conn(vg_rtsp *s)
{
    vg_resolve_cancel(s->dns);
    s->dns = NULL;
    if (s->fd >= 0) {
        vg_io_stop(s->loop, &s->io);
        close(s->fd);
        s->fd = -1;
    }
    vg_buf_reset(&s->in);
    if (s->out.data)
        sodium_memzero(s->out.data, s->out.cap);
    vg_buf_reset(&s->out);
    s->pending = 0;
    s->gen++;
}

static void stop_all(vg_rtsp *s)
{
    vg_timer *t[] = {&s->kick_timer, &s->req_timer, &s->ka_timer, &s->stall_timer, &s->rr_timer};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        vg_timer_stop(s->loop, t[i]);
    close_udp(s);
    close_conn(s);
}

/* End the session: one on_state(rc<0), then silence (invariant 3). */
__attribute__((format(printf, 3, 4))) static void fail(vg_rtsp *s, int rc, const char *fmt, ...)
{
    if (s->dead || s->freed)
        return;
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    s->dead = 1;
    s->st = ST_DEAD;
    stop_all(s);
    /* The owner reports the failure (and rate-limits repeats); here it is
     * only detail for debugging. */
    vg_debug("rtsp", "%s: %s", s->name, why);
    if (s->cbs.on_state)
        s->cbs.on_state(s->arg, rc, why);
}

/* ---- output -------------------------------------------------------------- */

static void flush_out(vg_rtsp *s)
{
    while (s->out.len) {
        ssize_t n = send(s->fd, s->out.data, s->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            fail(s, VG_EIO, "send: %s", strerror(errno));
            return;
        }
        sodium_memzero(s->out.data, (size_t)n);
        vg_buf_consume(&s->out, (size_t)n);
    }
    uint32_t ev = EPOLLIN | (s->out.len ? EPOLLOUT : 0);
    if (vg_io_modify(s->loop, &s->io, ev))
        fail(s, VG_EIO, "epoll: %s", strerror(errno));
}

/* Format one request into out[] (auth and session added here). */
static int format_request(vg_rtsp *s, char *out, size_t outsz)
{
    char authz[1024] = "", ah[1100] = "", sess[160] = "";
    int rc = 0;
    if (s->auth.scheme) {
        rc = vg__rtsp_auth_header(&s->auth, s->url.user, s->url.pass, s->method, s->req_url,
                                  NULL, authz, sizeof authz);
        if (!rc)
            snprintf(ah, sizeof ah, "Authorization: %s\r\n", authz);
    }
    if (s->session[0] && strcmp(s->method, "DESCRIBE") != 0)
        snprintf(sess, sizeof sess, "Session: %s\r\n", s->session);
    int n = rc ? -1
               : snprintf(out, outsz, "%s %s RTSP/1.0\r\nCSeq: %u\r\nUser-Agent: vigil\r\n%s%s%s\r\n",
                          s->method, s->req_url, (unsigned)s->cseq, ah, sess, s->extra);
    sodium_memzero(authz, sizeof authz);
    sodium_memzero(ah, sizeof ah);
    if (!rc && (n < 0 || (size_t)n >= outsz))
        rc = VG_ETOOBIG;
    return rc ? rc : n;
}

/* (Re)send the request described by s->method/req_url/extra. */
static void resend(vg_rtsp *s)
{
    char buf[4096];
    s->cseq++;
    int n = format_request(s, buf, sizeof buf);
    int rc = n < 0 ? n : vg_buf_append(&s->out, buf, (size_t)n);
    sodium_memzero(buf, sizeof buf);
    if (rc) {
        fail(s, rc, "%s: cannot build request: %s", s->method, vg_strerror(rc));
        return;
    }
    s->pending = 1;
    vg_timer_start(s->loop, &s->req_timer, s->request_ms);
    flush_out(s);
}

static void send_request(vg_rtsp *s, const char *method, const char *url, const char *extra)
{
    snprintf(s->method, sizeof s->method, "%s", method);
    snprintf(s->req_url, sizeof s->req_url, "%s", url);
    snprintf(s->extra, sizeof s->extra, "%s", extra);
    s->auth_tries = 0;
    resend(s);
}

/* Best effort at free: one non-blocking send, no wait (RFC 2326 §10.7). */
static void send_teardown(vg_rtsp *s)
{
    if (s->fd < 0 || !s->session[0] || s->st < ST_SETUP)
        return;
    send_request(s, "TEARDOWN", s->play_url[0] ? s->play_url : s->url.req, "");
}

/* ---- connecting ---------------------------------------------------------- */

static void on_ctl_io(vg_loop *loop, vg_io *io, uint32_t events);

/* Second half of connecting, once the host's address is known. */
static void on_resolved(void *arg, int rc, const struct sockaddr_storage *ss, socklen_t len)
{
    vg_rtsp *s = arg;
    s->dns = NULL;   /* the lookup ended; its handle is gone */
    enter(s);
    if (rc) {
        fail(s, VG_ENOTFOUND, "connect: cannot resolve host %s", s->url.host);
        goto out;
    }
    memcpy(&s->peer, ss, len);
    s->peerlen = len;
    s->fd = socket(s->peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        fail(s, VG_EIO, "connect: socket: %s", strerror(errno));
        goto out;
    }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s->fd, (struct sockaddr *)&s->peer, s->peerlen) < 0 && errno != EINPROGRESS) {
        fail(s, VG_EIO, "connect: %s", strerror(errno));
        goto out;
    }
    vg_io_init(&s->io, s->fd, on_ctl_io, s);
    if (vg_io_start(s->loop, &s->io, EPOLLOUT))
        fail(s, VG_EIO, "connect: epoll: %s", strerror(errno));
out:
    leave(s);
}

/* The connect timer covers the name lookup too: a DNS server that never
 * answers ends the attempt like a camera that never answers, and the lookup
 * runs off this thread (core/resolve.h), so it stalls no other camera. */
static void do_connect(vg_rtsp *s)
{
    s->st = ST_CONNECTING;
    vg_timer_start(s->loop, &s->req_timer, s->connect_ms);
    vg_debug("rtsp", "%s: connecting to %s", s->name, s->url.req);
    if (vg_resolve_start(s->loop, s->url.host, s->url.port, on_resolved, s, &s->dns))
        fail(s, VG_ENOMEM, "connect: cannot start name lookup for %s", s->url.host);
}

static void kick_cb(vg_loop *loop, vg_timer *t)
{
    vg_rtsp *s = t->data;
    enter(s);
    do_connect(s);
    leave(s);
}

static void on_connected(vg_rtsp *s)
{
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        err = errno;
    if (err) {
        fail(s, VG_EIO, "connect: %s", strerror(err));
        return;
    }
    vg_timer_stop(s->loop, &s->req_timer);
    s->st = ST_DESCRIBE;
    send_request(s, "DESCRIBE", s->url.req, "Accept: application/sdp\r\n");
}

/* ---- responses ----------------------------------------------------------- */

static int status_rc(int status)
{
    switch (status) {
    case 401: case 403: return VG_EAUTH;
    case 404: return VG_ENOTFOUND;
    case 461: return VG_EUNSUPPORTED;
    default: return VG_EPROTO;
    }
}

static void status_fail(vg_rtsp *s, const vg__rtsp_msg *m)
{
    int rl = m->reason.n > 80 ? 80 : (int)m->reason.n;
    fail(s, status_rc(m->status), "%s: %d %.*s", s->method, m->status, rl, m->reason.p);
}

static void on_redirect(vg_rtsp *s, const vg__rtsp_msg *m)
{
    char loc[VG_RTSP_URL_MAX];
    vg__rtsp_url nu;
    vg__span v = vg__rtsp_hdr(m, "Location");
    if (!v.p || vg__span_cstr(v, loc, sizeof loc) || vg__rtsp_url_parse(loc, &nu)) {
        fail(s, VG_EPROTO, "DESCRIBE: %d without a usable Location", m->status);
        return;
    }
    if (++s->redirects > MAX_REDIRECTS) {
        fail(s, VG_EPROTO, "DESCRIBE: more than %d redirects", MAX_REDIRECTS);
        return;
    }
    /* Credentials follow a redirect only to the same host, unless the new
     * URL carries its own: a camera must not be able to send them elsewhere. */
    if (!nu.has_userinfo && s->have_creds && strcmp(nu.host, s->url.host) == 0) {
        memcpy(nu.user, s->url.user, sizeof nu.user);
        memcpy(nu.pass, s->url.pass, sizeof nu.pass);
    } else if (!nu.has_userinfo)
        s->have_creds = 0;
    else
        s->have_creds = 1;
    vg_info("rtsp", "%s: redirected to %s", s->name, nu.req);
    sodium_memzero(&s->url, sizeof s->url);
    s->url = nu;
    sodium_memzero(&nu, sizeof nu);
    memset(&s->auth, 0, sizeof s->auth);
    close_conn(s);
    s->st = ST_IDLE;
    vg_timer_start(s->loop, &s->kick_timer, 0);
}

static void note_dims(vg_track *t)
{
    if (t->width || !t->sps_len)
        return;
    uint16_t w = 0, h = 0;
    int rc = t->codec == VG_CODEC_H264 ? vg_h264_sps_dims(t->sps, t->sps_len, &w, &h)
             : t->codec == VG_CODEC_H265 ? vg_h265_sps_dims(t->sps, t->sps_len, &w, &h)
                                         : VG_EUNSUPPORTED;
    if (!rc) {
        t->width = w;
        t->height = h;
    }
}

/* Pick the supported media of the SDP and resolve their control URLs. */
static int build_tracks(vg_rtsp *s)
{
    for (unsigned i = 0; i < s->sdp->nmedia && s->ntrk < VG_MAX_TRACKS; i++) {
        vg_sdp_media *m = &s->sdp->media[i];
        if (m->track.codec == VG_CODEC_NONE) {
            vg_info("rtsp", "%s: skipping %s track (%s)", s->name, m->media,
                    m->encoding[0] ? m->encoding : "no rtpmap");
            continue;
        }
        struct rtsp_track *t = &s->trk[s->ntrk];
        if (vg__rtsp_url_resolve(s->base, m->control, t->url, sizeof t->url))
            return VG_ETOOBIG;
        t->idx = s->ntrk;
        s->media_of[s->ntrk] = i;
        t->ch[0] = (int)(2 * s->ntrk);
        t->ch[1] = (int)(2 * s->ntrk + 1);
        s->tracks[s->ntrk] = m->track;
        note_dims(&s->tracks[s->ntrk]);
        s->ntrk++;
    }
    return vg__rtsp_url_resolve(s->base, s->sdp->session_control, s->play_url,
                                sizeof s->play_url);
}

static int set_base(vg_rtsp *s, const vg__rtsp_msg *m)
{
    /* RFC 2326 §C.1.1: Content-Base, else Content-Location, else the request URL. */
    vg__span b = vg__rtsp_hdr(m, "Content-Base");
    if (!b.p || !b.n)
        b = vg__rtsp_hdr(m, "Content-Location");
    if (b.p && b.n)
        return vg__span_cstr(b, s->base, sizeof s->base);
    snprintf(s->base, sizeof s->base, "%s", s->req_url);
    return 0;
}

static void on_describe(vg_rtsp *s, const vg__rtsp_msg *m)
{
    int st = m->status;
    if (st == 301 || st == 302 || st == 303 || st == 307 || st == 308) {
        on_redirect(s, m);
        return;
    }
    if (st / 100 != 2) {
        status_fail(s, m);
        return;
    }
    if (!s->sdp && !(s->sdp = calloc(1, sizeof *s->sdp))) {
        fail(s, VG_ENOMEM, "DESCRIBE: out of memory");
        return;
    }
    if (!m->body.n || vg_sdp_parse(m->body.p, m->body.n, s->sdp)) {
        fail(s, VG_EINVAL, "bad SDP: %s", m->body.n ? "malformed" : "empty DESCRIBE body");
        return;
    }
    if (set_base(s, m) || build_tracks(s)) {
        fail(s, VG_EPROTO, "bad SDP: control URL too long");
        return;
    }
    if (!s->ntrk) {
        fail(s, VG_EUNSUPPORTED, "bad SDP: no H.264, H.265 or AAC media");
        return;
    }
    s->st = ST_SETUP;
    s->setup_idx = 0;
    send_setup(s);
}

/* ---- UDP transport ------------------------------------------------------- */

static int bind_any(int family, uint16_t port, int *fdp)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return VG_EIO;
    struct sockaddr_storage a;
    memset(&a, 0, sizeof a);
    a.ss_family = (sa_family_t)family;
    if (family == AF_INET6)
        ((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&a)->sin_port = htons(port);
    socklen_t al = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (struct sockaddr *)&a, al) < 0) {
        close(fd);
        return VG_EIO;
    }
    int rcv = 1 << 20;   /* a keyframe arrives as a burst of datagrams */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    *fdp = fd;
    return 0;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_storage a;
    socklen_t al = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        return 0;
    return ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
                                         : ((struct sockaddr_in *)&a)->sin_port);
}

/* RTP on an even port, RTCP on the next (RFC 3550 §11). */
static int bind_pair(vg_rtsp *s, struct rtsp_track *t)
{
    for (int attempt = 0; attempt < 32; attempt++) {
        int a = -1, b = -1;
        if (bind_any(s->peer.ss_family, 0, &a))
            return VG_EIO;
        uint16_t p = local_port(a);
        if (p && !(p & 1) && p < 65535 && !bind_any(s->peer.ss_family, (uint16_t)(p + 1), &b)) {
            t->fd[0] = a;
            t->fd[1] = b;
            t->cport = p;
            return 0;
        }
        close(a);
    }
    return VG_EIO;
}

static void send_setup(vg_rtsp *s)
{
    struct rtsp_track *t = &s->trk[s->setup_idx];
    char tr[160];
    if (s->transport == VG_RTSP_UDP) {
        if (bind_pair(s, t)) {
            fail(s, VG_EIO, "SETUP: cannot bind a UDP port pair");
            return;
        }
        snprintf(tr, sizeof tr, "Transport: RTP/AVP;unicast;client_port=%u-%u\r\n", t->cport,
                 t->cport + 1u);
    } else
        snprintf(tr, sizeof tr, "Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d\r\n", t->ch[0],
                 t->ch[1]);
    send_request(s, "SETUP", t->url, tr);
}

static void set_source(vg_rtsp *s, struct rtsp_track *t, const vg__rtsp_transport *tr)
{
    t->src = s->peer;
    t->sport[0] = tr->server_port[0];
    t->sport[1] = tr->server_port[1];
    if (!tr->source[0])
        return;
    /* A numeric source= names where media comes from (RFC 2326 §12.39). */
    struct in_addr a4;
    struct in6_addr a6;
    if (s->peer.ss_family == AF_INET && inet_pton(AF_INET, tr->source, &a4) == 1)
        ((struct sockaddr_in *)&t->src)->sin_addr = a4;
    else if (s->peer.ss_family == AF_INET6 && inet_pton(AF_INET6, tr->source, &a6) == 1)
        ((struct sockaddr_in6 *)&t->src)->sin6_addr = a6;
}

static const char *codec_label(enum vg_codec c)
{
    return c == VG_CODEC_AAC ? "AAC" : c == VG_CODEC_H265 ? "H.265" : c == VG_CODEC_H264 ? "H.264" : "?";
}

static int have_video(const vg_rtsp *s)
{
    for (unsigned i = 0; i < s->ntrk; i++)
        if (s->tracks[i].codec == VG_CODEC_H264 || s->tracks[i].codec == VG_CODEC_H265)
            return 1;
    return 0;
}

/* A camera may refuse one track (an audio channel switched off answers 461
 * or 404 on many models) and still serve the others: drop that track and
 * record the rest, as long as video remains. Auth and session errors still
 * end the session. Returns 1 if the track was dropped. */
static int drop_refused_track(vg_rtsp *s, const vg__rtsp_msg *m)
{
    int st = m->status;
    if (st < 400 || st == 401 || st == 403 || st == 454)
        return 0;
    unsigned k = s->setup_idx;
    vg_track gone = s->tracks[k];
    struct rtsp_track *t = &s->trk[k];
    for (int j = 0; j < 2; j++)
        if (t->fd[j] >= 0) {
            close(t->fd[j]);
            t->fd[j] = -1;
        }
    for (unsigned i = k; i + 1 < s->ntrk; i++) {
        s->trk[i] = s->trk[i + 1];
        s->trk[i].idx = i;
        s->tracks[i] = s->tracks[i + 1];
        s->media_of[i] = s->media_of[i + 1];
    }
    s->ntrk--;
    memset(&s->trk[s->ntrk], 0, sizeof s->trk[s->ntrk]);
    s->trk[s->ntrk].s = s;
    s->trk[s->ntrk].fd[0] = s->trk[s->ntrk].fd[1] = -1;
    if (!have_video(s))
        return 0;
    int rl = m->reason.n > 80 ? 80 : (int)m->reason.n;
    vg_info("rtsp", "%s: camera refused the %s track (%d %.*s); recording without it", s->name,
            codec_label(gone.codec), st, rl, m->reason.p);
    return 1;
}

static void on_setup(vg_rtsp *s, const vg__rtsp_msg *m)
{
    if (m->status / 100 != 2) {
        if (!drop_refused_track(s, m)) {
            status_fail(s, m);
            return;
        }
        if (s->setup_idx < s->ntrk)
            send_setup(s);
        else if (!s->session[0])
            fail(s, VG_EPROTO, "SETUP: no track was accepted");
        else {
            s->st = ST_PLAY;
            send_request(s, "PLAY", s->play_url, "Range: npt=0.000-\r\n");
        }
        return;
    }
    struct rtsp_track *t = &s->trk[s->setup_idx];
    vg__span sv = vg__rtsp_hdr(m, "Session");
    if (sv.p && vg__rtsp_parse_session(sv, s->session, sizeof s->session, &s->session_timeout)) {
        fail(s, VG_EPROTO, "SETUP: bad Session header");
        return;
    }
    if (!s->session[0]) {
        fail(s, VG_EPROTO, "SETUP: no Session header");
        return;
    }
    vg__rtsp_transport tr;
    if (vg__rtsp_parse_transport(vg__rtsp_hdr(m, "Transport"), &tr)) {
        fail(s, VG_EPROTO, "SETUP: missing or bad Transport header");
        return;
    }
    if (s->transport == VG_RTSP_UDP) {
        if (tr.interleaved[0] >= 0) {
            fail(s, VG_EUNSUPPORTED, "SETUP: camera answered UDP with TCP interleaving");
            return;
        }
        set_source(s, t, &tr);
    } else if (tr.interleaved[0] >= 0) {
        /* The server may pick other channels (RFC 2326 §12.39). */
        t->ch[0] = tr.interleaved[0];
        t->ch[1] = tr.interleaved[1];
    }
    if (++s->setup_idx < s->ntrk) {
        send_setup(s);
        return;
    }
    s->st = ST_PLAY;
    send_request(s, "PLAY", s->play_url, "Range: npt=0.000-\r\n");
}

/* ---- streaming ------------------------------------------------------------- */

static void on_udp_io(vg_loop *loop, vg_io *io, uint32_t events);
static void ka_cb(vg_loop *loop, vg_timer *tm);

static void dp_frame(void *arg, const vg_frame *f)
{
    struct rtsp_track *t = arg;
    vg_rtsp *s = t->s;
    if (s->dead || s->freed || s->st != ST_PLAYING)
        return;
    vg_frame c = *f;
    c.track = t->idx;
    s->cbs.on_frame(s->arg, &c);
}

static void dp_params(void *arg, unsigned idx, const vg_track *nt)
{
    struct rtsp_track *t = arg;
    vg_rtsp *s = t->s;
    if (s->dead || s->freed || s->st != ST_PLAYING)
        return;
    s->tracks[t->idx] = *nt;
    s->tracks[t->idx].width = 0;
    note_dims(&s->tracks[t->idx]);
    if (!s->tracks[t->idx].width) {
        s->tracks[t->idx].width = nt->width;
        s->tracks[t->idx].height = nt->height;
    }
    if (s->cbs.on_tracks)
        s->cbs.on_tracks(s->arg, s->tracks, s->ntrk);
}

static int start_media(vg_rtsp *s)
{
    vg_depack_cbs dcb = {.on_frame = dp_frame, .on_params = dp_params};
    unsigned reorder = s->transport == VG_RTSP_UDP ? UDP_REORDER : 0;
    for (unsigned i = 0; i < s->ntrk; i++) {
        struct rtsp_track *t = &s->trk[i];
        const vg_sdp_media *m = &s->sdp->media[s->media_of[i]];
        int rc = vg_depack_new(&s->tracks[i], i, reorder, &dcb, t, &t->dp);
        if (!rc && m->track.codec == VG_CODEC_AAC)
            rc = vg_depack_set_aac_params(t->dp, m->aac_sizelength, m->aac_indexlength,
                                          m->aac_indexdeltalength);
        if (!rc && m->h265_max_don_diff)
            rc = vg_depack_set_h265_max_don_diff(t->dp, m->h265_max_don_diff);
        if (rc) {
            fail(s, rc, "depacketizer for track %u: %s", i, vg_strerror(rc));
            return rc;
        }
        for (int k = 0; k < 2 && t->fd[k] >= 0; k++) {
            vg_io_init(&t->io[k], t->fd[k], on_udp_io, t);
            if (vg_io_start(s->loop, &t->io[k], EPOLLIN)) {
                fail(s, VG_EIO, "UDP: epoll: %s", strerror(errno));
                return VG_EIO;
            }
        }
    }
    /* RFC 2326 §12.37: the server may drop the session after timeout s
     * (default 60) without a request; keep alive at half that. */
    unsigned to = s->session_timeout ? s->session_timeout : 60;
    vg_timer_start(s->loop, &s->ka_timer, to * 1000u / 2 < 1000 ? 1000 : to * 1000u / 2);
    s->last_media = vg_loop_now(s->loop);
    vg_timer_start(s->loop, &s->stall_timer, s->stall_ms);
    if (s->transport == VG_RTSP_UDP)
        vg_timer_start(s->loop, &s->rr_timer, 1000);
    return 0;
}

static void on_play(vg_rtsp *s, const vg__rtsp_msg *m)
{
    if (m->status / 100 != 2) {
        status_fail(s, m);
        return;
    }
    s->st = ST_PLAYING;
    if (start_media(s))
        return;
    vg_info("rtsp", "%s: playing %s (%u track%s, %s)", s->name, s->play_url, s->ntrk,
            s->ntrk == 1 ? "" : "s", s->transport == VG_RTSP_UDP ? "UDP" : "TCP");
    if (s->cbs.on_tracks)
        s->cbs.on_tracks(s->arg, s->tracks, s->ntrk);
    if (s->dead || s->freed)
        return;
    if (s->cbs.on_state)
        s->cbs.on_state(s->arg, 0, "playing");
}

static void on_keepalive(vg_rtsp *s, const vg__rtsp_msg *m)
{
    int st = m->status;
    if (st / 100 == 2)
        return;
    if (st == 454) {
        fail(s, VG_EPROTO, "%s: 454 Session Not Found (session expired)", s->method);
        return;
    }
    /* Many cameras do not implement GET_PARAMETER (405/501, some 400/451). */
    if (!s->ka_options) {
        vg_info("rtsp", "%s: GET_PARAMETER refused (%d), keeping alive with OPTIONS", s->name, st);
        s->ka_options = 1;
    }
}

static void on_response(vg_rtsp *s, const vg__rtsp_msg *m)
{
    long cseq = vg__rtsp_cseq(m);
    if (!s->pending || cseq != (long)s->cseq) {
        vg_debug("rtsp", "%s: ignoring response with CSeq %ld", s->name, cseq);
        return;
    }
    s->pending = 0;
    vg_timer_stop(s->loop, &s->req_timer);
    if (m->status == 401) {
        if (!s->have_creds)
            fail(s, VG_EAUTH, "%s: 401 Unauthorized (no credentials given)", s->method);
        else if (s->auth_tries++ > 0)
            fail(s, VG_EAUTH, "authentication refused");
        else if (vg__rtsp_auth_challenge(&s->auth, m))
            fail(s, VG_EAUTH, "%s: 401 with no supported authentication scheme", s->method);
        else
            resend(s);
        return;
    }
    if (!strcmp(s->method, "DESCRIBE"))
        on_describe(s, m);
    else if (!strcmp(s->method, "SETUP"))
        on_setup(s, m);
    else if (!strcmp(s->method, "PLAY"))
        on_play(s, m);
    else
        on_keepalive(s, m);
}

/* RFC 2326 §10: servers may send requests too; answer so they do not wait. */
static void on_server_request(vg_rtsp *s, const vg__rtsp_msg *m)
{
    long cseq = vg__rtsp_cseq(m);
    if (cseq < 0)
        return;
    int ok = vg__span_ieq(m->reason, "OPTIONS") || vg__span_ieq(m->reason, "GET_PARAMETER");
    char buf[96];
    int n = snprintf(buf, sizeof buf, "RTSP/1.0 %s\r\nCSeq: %ld\r\n\r\n",
                     ok ? "200 OK" : "501 Not Implemented", cseq);
    if (vg_buf_append(&s->out, buf, (size_t)n)) {
        fail(s, VG_EPROTO, "control connection: output overflow");
        return;
    }
    flush_out(s);
}

/* Track RTP sequence numbers for receiver reports (RFC 3550 §A.1, simplified). */
static void note_seq(struct rtsp_track *t, const uint8_t *p, size_t n)
{
    if (n < 12)
        return;
    uint16_t seq = vg_rd16(p + 2);
    if (!t->seen) {
        t->seen = 1;
        t->ssrc = vg_rd32(p + 8);
        t->max_seq = seq;
    } else if ((uint16_t)(seq - t->max_seq) < 0x8000 && seq != t->max_seq) {
        if (seq < t->max_seq)
            t->cycles += 65536;
        t->max_seq = seq;
    }
}

static void media_packet(vg_rtsp *s, struct rtsp_track *t, const uint8_t *p, size_t n)
{
    s->last_media = vg_loop_now(s->loop);
    note_seq(t, p, n);
    /* Malformed packets are dropped by the depacketizer (VG_EPROTO); the
     * stream goes on. */
    (void)vg_depack_push(t->dp, p, n);
}

static void on_interleaved(vg_rtsp *s, const vg__rtsp_frame *fr)
{
    if (s->st != ST_PLAYING)
        return;
    for (unsigned i = 0; i < s->ntrk; i++)
        if ((int)fr->channel == s->trk[i].ch[0]) {
            media_packet(s, &s->trk[i], fr->data, fr->len);
            return;
        }
    /* RTCP (odd channels) and channels we did not set up are ignored. */
}

static int same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

static void on_udp_io(vg_loop *loop, vg_io *io, uint32_t events)
{
    struct rtsp_track *t = io->data;
    vg_rtsp *s = t->s;
    int rtcp = io == &t->io[1];
    enter(s);
    for (int i = 0; i < UDP_BATCH && !s->dead && !s->freed; i++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(io->fd, s->udpbuf, 65536, 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            break;
        if (rtcp || !same_host(&from, &t->src))
            continue;   /* invariant 4; RTCP sender reports are not used */
        media_packet(s, t, s->udpbuf, (size_t)n);
    }
    leave(s);
}

/* ---- control connection input ----------------------------------------------- */

static void process_in(vg_rtsp *s)
{
    size_t off = 0;
    unsigned gen = s->gen;
    for (;;) {
        size_t used = 0;
        vg__rtsp_msg msg;
        vg__rtsp_frame fr;
        int k = vg__rtsp_next(s->in.data + off, s->in.len - off, &used, &msg, &fr);
        if (k < 0) {
            fail(s, VG_EPROTO, k == VG_ETOOBIG ? "oversized message on control connection"
                                               : "garbage on control connection");
            return;
        }
        if (k == VG__RTSP_MORE)
            break;
        if (k == VG__RTSP_FRAME)
            on_interleaved(s, &fr);
        else if (k == VG__RTSP_RESPONSE)
            on_response(s, &msg);
        else
            on_server_request(s, &msg);
        if (s->dead || s->freed || s->gen != gen)
            return;
        off += used;
    }
    vg_buf_consume(&s->in, off);
}

static void read_ctl(vg_rtsp *s)
{
    for (int i = 0; i < 4; i++) {
        size_t want = s->in.max - s->in.len;
        if (want > 65536)
            want = 65536;
        if (!want || vg_buf_reserve(&s->in, want)) {
            fail(s, VG_EPROTO, "oversized message on control connection");
            return;
        }
        ssize_t n = recv(s->fd, s->in.data + s->in.len, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            if (n == 0)
                fail(s, VG_ECLOSED, "%s: connection closed by camera",
                     s->st == ST_PLAYING ? "while playing" : s->method);
            else
                fail(s, VG_EIO, "recv: %s", strerror(errno));
            return;
        }
        s->in.len += (size_t)n;
        unsigned gen = s->gen;
        process_in(s);
        if (s->dead || s->freed || s->gen != gen || (size_t)n < want)
            return;
    }
}

static void on_ctl_io(vg_loop *loop, vg_io *io, uint32_t events)
{
    vg_rtsp *s = io->data;
    enter(s);
    if (s->st == ST_CONNECTING)
        on_connected(s);
    else {
        if (events & EPOLLOUT)
            flush_out(s);
        if (!s->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            read_ctl(s);
    }
    leave(s);
}

/* ---- timers ------------------------------------------------------------------ */

static void req_cb(vg_loop *loop, vg_timer *tm)
{
    vg_rtsp *s = tm->data;
    enter(s);
    if (s->st == ST_CONNECTING)
        fail(s, VG_ETIMEDOUT, "connect: timed out after %u ms", s->connect_ms);
    else if (s->pending && s->st == ST_PLAYING) {
        /* Some cameras never answer keep-alives yet stream on; the stall
         * timer catches a dead camera. Try the other method next time. */
        vg_info("rtsp", "%s: no answer to %s keep-alive", s->name, s->method);
        s->pending = 0;
        s->ka_options = !s->ka_options;
    } else if (s->pending)
        fail(s, VG_ETIMEDOUT, "%s: no response after %u ms", s->method, s->request_ms);
    leave(s);
}

static void ka_cb(vg_loop *loop, vg_timer *tm)
{
    vg_rtsp *s = tm->data;
    enter(s);
    if (s->st == ST_PLAYING && !s->pending)
        send_request(s, s->ka_options ? "OPTIONS" : "GET_PARAMETER", s->play_url, "");
    if (!s->dead && !s->freed) {
        unsigned to = s->session_timeout ? s->session_timeout : 60;
        vg_timer_start(loop, &s->ka_timer, to * 1000u / 2 < 1000 ? 1000 : to * 1000u / 2);
    }
    leave(s);
}

static void stall_cb(vg_loop *loop, vg_timer *tm)
{
    vg_rtsp *s = tm->data;
    enter(s);
    uint64_t idle = vg_loop_now(loop) - s->last_media;
    if (idle >= s->stall_ms)
        fail(s, VG_ETIMEDOUT, "no media for %u ms", s->stall_ms);
    else
        vg_timer_start(loop, &s->stall_timer, s->stall_ms - idle);
    leave(s);
}

/* Minimal receiver report + SDES CNAME (RFC 3550 §6.4.2, §6.5.1): some
 * cameras stop sending over UDP without them. Loss/jitter are reported as 0. */
static void send_rr(vg_rtsp *s, struct rtsp_track *t)
{
    uint8_t p[48];
    memset(p, 0, sizeof p);
    p[0] = 0x81;                   /* V=2, RC=1 */
    p[1] = 201;                    /* RR */
    vg_wr16(p + 2, 7);             /* 32 bytes */
    vg_wr32(p + 4, s->our_ssrc);
    vg_wr32(p + 8, t->ssrc);
    vg_wr32(p + 16, t->cycles + t->max_seq);
    p[32] = 0x81;                  /* SDES, 1 chunk */
    p[33] = 202;
    vg_wr16(p + 34, 3);            /* 16 bytes */
    vg_wr32(p + 36, s->our_ssrc);
    p[40] = 1;                     /* CNAME */
    p[41] = 5;
    memcpy(p + 42, "vigil", 5);    /* then a zero end item and padding */
    struct sockaddr_storage to = t->src;
    if (to.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)t->sport[1]);
    else
        ((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)t->sport[1]);
    (void)sendto(t->fd[1], p, sizeof p, MSG_DONTWAIT, (struct sockaddr *)&to, s->peerlen);
}

static void rr_cb(vg_loop *loop, vg_timer *tm)
{
    vg_rtsp *s = tm->data;
    enter(s);
    for (unsigned i = 0; i < s->ntrk; i++)
        if (s->trk[i].seen && s->trk[i].sport[1] > 0 && s->trk[i].fd[1] >= 0)
            send_rr(s, &s->trk[i]);
    vg_timer_start(loop, &s->rr_timer, RR_INTERVAL_MS);
    leave(s);
}

/* ---- public API ---------------------------------------------------------------- */

static void init_timers(vg_rtsp *s)
{
    vg_timer_init(&s->kick_timer, kick_cb, s);
    vg_timer_init(&s->req_timer, req_cb, s);
    vg_timer_init(&s->ka_timer, ka_cb, s);
    vg_timer_init(&s->stall_timer, stall_cb, s);
    vg_timer_init(&s->rr_timer, rr_cb, s);
}

static int set_creds(vg_rtsp *s, const vg_rtsp_opts *o)
{
    if (o->user && snprintf(s->url.user, sizeof s->url.user, "%s", o->user) >= (int)sizeof s->url.user)
        return VG_ETOOBIG;
    if (o->pass && snprintf(s->url.pass, sizeof s->url.pass, "%s", o->pass) >= (int)sizeof s->url.pass)
        return VG_ETOOBIG;
    s->have_creds = s->url.has_userinfo || o->user || o->pass;
    return 0;
}

int vg_rtsp_new(vg_loop *loop, const vg_rtsp_opts *o, const vg_source_cbs *cbs, void *arg,
                vg_rtsp **out)
{
    if (!loop || !o || !o->url || !cbs || !out)
        return VG_EINVAL;
    vg_rtsp *s = calloc(1, sizeof *s);
    if (!s)
        return VG_ENOMEM;
    int rc = vg__rtsp_url_parse(o->url, &s->url);
    if (!rc)
        rc = set_creds(s, o);
    if (!rc && !(s->udpbuf = malloc(65536)))
        rc = VG_ENOMEM;
    if (rc) {
        free(s->udpbuf);
        sodium_memzero(s, sizeof *s);
        free(s);
        return rc;
    }
    s->loop = loop;
    s->cbs = *cbs;
    s->arg = arg;
    if (o->name)
        snprintf(s->name, sizeof s->name, "%s", o->name);
    else
        vg_log_redact_url(o->url, s->name, sizeof s->name);
    s->transport = o->transport == VG_RTSP_UDP ? VG_RTSP_UDP : VG_RTSP_TCP;
    s->connect_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 3000;
    s->request_ms = o->request_timeout_ms ? o->request_timeout_ms : 5000;
    s->stall_ms = o->stall_timeout_ms ? o->stall_timeout_ms : 5000;
    s->fd = -1;
    for (unsigned i = 0; i < VG_MAX_TRACKS; i++) {
        s->trk[i].s = s;
        s->trk[i].fd[0] = s->trk[i].fd[1] = -1;
    }
    vg_buf_init(&s->in, IN_MAX);
    vg_buf_init(&s->out, OUT_MAX);
    init_timers(s);
    randombytes_buf(&s->our_ssrc, sizeof s->our_ssrc);
    *out = s;
    return 0;
}

int vg_rtsp_start(vg_rtsp *s)
{
    if (!s || s->st != ST_IDLE || s->dead)
        return VG_EINVAL;
    /* Connect from a timer so that every failure, even an immediate one,
     * reaches on_state from a loop callback, never from inside start(). */
    return vg_timer_start(s->loop, &s->kick_timer, 0);
}

void vg_rtsp_free(vg_rtsp *s)
{
    if (!s || s->freed)
        return;
    s->freed = 1;   /* first: a failing TEARDOWN send must not call on_state */
    if (!s->dead)
        send_teardown(s);
    stop_all(s);
    if (s->depth == 0)
        destroy(s);
}
