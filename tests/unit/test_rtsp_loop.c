/* SPDX-License-Identifier: Apache-2.0 */
/* RTSP client against a tiny scripted RTSP server running in the same
 * vg_loop on a loopback socket: auth, keep-alive fallback, TCP and UDP media,
 * redirects, timeouts, garbage, free from inside callbacks. (Real end-to-end
 * tests against gst-rtsp-server live in tests/integration.) */
#include "core/err.h"
#include "core/loop.h"
#include "rtsp/rtsp.h"
#include "vg_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

enum mode { M_OK, M_GARBAGE, M_SILENT, M_AUTHFAIL, M_404, M_REDIRECT, M_NOMEDIA, M_CLOSE,
            M_BADSDP, M_NOAUTH_SDP, M_AUDIO_REFUSED, M_ALL_REFUSED };

typedef struct srv {
    vg_loop *loop;
    enum mode mode;
    int udp;
    int lfd, cfd;
    vg_io lio, cio;
    uint16_t port;
    char in[16384];
    size_t inlen;
    int n_describe, n_setup, n_play, n_getparam, n_options, n_teardown, n_authed, n_client_resp;
    int saw_password;
    char redirect_to[128];
    vg_timer media;
    uint16_t seq;
    uint32_t ts;
    int ufd, ufd_rtcp;     /* UDP: server RTP/RTCP sockets */
    uint16_t cport;        /* UDP: client's RTP port */
    uint8_t rr[128];       /* UDP: first RTCP packet from the client */
    int rr_len;
} srv;

typedef struct res {
    vg_loop *loop;
    vg_rtsp *s;
    srv *sv;
    int rc, n_state, playing, n_tracks;
    char why[256];
    vg_track t0;
    unsigned ntracks;
    int frames, keyframes;
    int stop_after_ka;
} res;

static const char sdp_body[] =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=test\r\nt=0 0\r\na=control:*\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z2QAHqzZQKAv+XARAAADAAEAAAMAPA8WLZY=,"
    "aOvjyyLA\r\na=control:stream=0\r\n"
    "m=application 0 RTP/AVP 107\r\na=rtpmap:107 vnd.onvif.metadata/90000\r\na=control:stream=1\r\n";

/* Audio listed first, as some cameras do; the server refuses its SETUP. */
static const char sdp_audio_first[] =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=test\r\nt=0 0\r\na=control:*\r\n"
    "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/16000/1\r\n"
    "a=fmtp:97 streamtype=5;profile-level-id=15;mode=AAC-hbr;config=1408;sizelength=13;indexlength=3;"
    "indexdeltalength=3\r\na=control:audio\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z2QAHqzZQKAv+XARAAADAAEAAAMAPA8WLZY=,"
    "aOvjyyLA\r\na=control:stream=0\r\n";

static void srv_send(srv *v, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(v->cfd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void srv_reply(srv *v, int cseq, const char *status, const char *hdrs, const char *body)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "RTSP/1.0 %s\r\nCSeq: %d\r\n%s", status, cseq, hdrs);
    if (body)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "Content-Length: %zu\r\n\r\n%s",
                      strlen(body), body);
    else
        n += snprintf(buf + n, sizeof buf - (size_t)n, "\r\n");
    srv_send(v, buf, (size_t)n);
}

static void send_rtp(srv *v, int key)
{
    uint8_t p[4 + 12 + 40];
    uint8_t *r = p + 4;
    r[0] = 0x80;
    r[1] = 0x80 | 96;   /* marker: one NAL per frame */
    r[2] = (uint8_t)(v->seq >> 8);
    r[3] = (uint8_t)v->seq;
    r[4] = (uint8_t)(v->ts >> 24);
    r[5] = (uint8_t)(v->ts >> 16);
    r[6] = (uint8_t)(v->ts >> 8);
    r[7] = (uint8_t)v->ts;
    memcpy(r + 8, "\x11\x22\x33\x44", 4);
    r[12] = key ? 0x65 : 0x41;   /* IDR or non-IDR slice */
    for (int i = 13; i < 52; i++)
        r[i] = (uint8_t)(0x80 | i);
    v->seq++;
    v->ts += 3000;
    if (v->udp) {
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(v->cport)};
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sendto(v->ufd, r, 52, 0, (struct sockaddr *)&to, sizeof to);
        return;
    }
    p[0] = '$';
    p[1] = 0;
    p[2] = 0;
    p[3] = 52;
    srv_send(v, (const char *)p, sizeof p);
    /* A packet on a channel that was never set up must be ignored. */
    p[1] = 7;
    srv_send(v, (const char *)p, sizeof p);
}

static void media_cb(vg_loop *loop, vg_timer *t)
{
    srv *v = t->data;
    send_rtp(v, v->seq % 10 == 0);
    vg_timer_start(loop, &v->media, 20);
}

static int bind_udp(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void on_setup(srv *v, int cseq, const char *req)
{
    char tr[256];
    if (v->udp) {
        const char *cp = strstr(req, "client_port=");
        v->cport = cp ? (uint16_t)strtol(cp + 12, NULL, 10) : 0;
        uint16_t sp = 40000;
        for (; sp < 41000; sp += 2) {
            v->ufd = bind_udp(sp);
            if (v->ufd < 0)
                continue;
            v->ufd_rtcp = bind_udp((uint16_t)(sp + 1));
            if (v->ufd_rtcp >= 0)
                break;
            close(v->ufd);
        }
        snprintf(tr, sizeof tr,
                 "Transport: RTP/AVP;unicast;client_port=%u-%u;server_port=%u-%u;ssrc=11223344\r\n"
                 "Session: S1;timeout=2\r\n", v->cport, v->cport + 1, sp, sp + 1);
    } else
        snprintf(tr, sizeof tr, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"
                                "Session: S1;timeout=2\r\n");
    srv_reply(v, cseq, "200 OK", tr, NULL);
}

static void on_describe(srv *v, int cseq, int authed)
{
    char hdr[256];
    switch (v->mode) {
    case M_GARBAGE:
        srv_send(v, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
        return;
    case M_SILENT:
        return;
    case M_404:
        srv_reply(v, cseq, "404 Not Found", "", NULL);
        return;
    case M_REDIRECT:
        snprintf(hdr, sizeof hdr, "Location: %s\r\n", v->redirect_to);
        srv_reply(v, cseq, "302 Moved", hdr, NULL);
        return;
    case M_CLOSE:
        close(v->cfd);
        vg_io_stop(v->loop, &v->cio);
        v->cfd = -1;
        return;
    case M_BADSDP:
        srv_reply(v, cseq, "200 OK", "Content-Type: application/sdp\r\n", "not an sdp");
        return;
    default:
        break;
    }
    if ((v->mode == M_AUTHFAIL || !authed) && v->mode != M_NOAUTH_SDP) {
        srv_reply(v, cseq, "401 Unauthorized",
                  "WWW-Authenticate: Basic realm=\"cam\"\r\n"
                  "WWW-Authenticate: Digest realm=\"cam\", nonce=\"abc123\", qop=\"auth\"\r\n",
                  NULL);
        return;
    }
    snprintf(hdr, sizeof hdr, "Content-Type: application/sdp\r\nContent-Base: rtsp://127.0.0.1:%u/live/\r\n",
             v->port);
    srv_reply(v, cseq, "200 OK", hdr,
              v->mode == M_AUDIO_REFUSED || v->mode == M_ALL_REFUSED ? sdp_audio_first : sdp_body);
}

static void handle(srv *v, const char *req)
{
    const char *cs = strcasestr(req, "CSeq:");
    int cseq = cs ? (int)strtol(cs + 5, NULL, 10) : -1;
    int authed = strstr(req, "Authorization: Digest username=\"admin\"") != NULL;
    v->n_authed += authed;
    if (strstr(req, "secret"))
        v->saw_password = 1;
    if (!strncmp(req, "RTSP/1.0", 8))
        v->n_client_resp++;
    else if (!strncmp(req, "DESCRIBE ", 9)) {
        v->n_describe++;
        on_describe(v, cseq, authed);
    } else if (!strncmp(req, "SETUP ", 6) && strstr(req, "/live/audio RTSP/1.0")) {
        v->n_setup++;
        srv_reply(v, cseq, "461 Unsupported Transport", "", NULL);
    } else if (!strncmp(req, "SETUP ", 6) && v->mode == M_ALL_REFUSED) {
        v->n_setup++;
        srv_reply(v, cseq, "461 Unsupported Transport", "", NULL);
    } else if (!strncmp(req, "SETUP ", 6)) {
        v->n_setup++;
        CHECK(strstr(req, "SETUP rtsp://127.0.0.1:") && strstr(req, "/live/stream=0 RTSP/1.0"));
        on_setup(v, cseq, req);
    } else if (!strncmp(req, "PLAY ", 5)) {
        v->n_play++;
        CHECK(strstr(req, "Session: S1\r\n") != NULL);
        srv_reply(v, cseq, "200 OK", "Session: S1\r\nRTP-Info: url=stream=0;seq=0;rtptime=0\r\n",
                  NULL);
        /* A request from the server the client must answer. */
        srv_send(v, "OPTIONS * RTSP/1.0\r\nCSeq: 77\r\n\r\n", 32);
        if (v->mode != M_NOMEDIA) {
            send_rtp(v, 1);
            vg_timer_start(v->loop, &v->media, 20);
        }
    } else if (!strncmp(req, "GET_PARAMETER ", 14)) {
        v->n_getparam++;
        srv_reply(v, cseq, "405 Method Not Allowed", "", NULL);
    } else if (!strncmp(req, "OPTIONS ", 8)) {
        v->n_options++;
        srv_reply(v, cseq, "200 OK", "Public: DESCRIBE, SETUP, PLAY, TEARDOWN, OPTIONS\r\n", NULL);
    } else if (!strncmp(req, "TEARDOWN ", 9))
        v->n_teardown++;
}

static void srv_drain(srv *v)
{
    char *end;
    while ((end = strstr(v->in, "\r\n\r\n")) != NULL) {
        size_t n = (size_t)(end + 4 - v->in);
        char req[8192];
        memcpy(req, v->in, n);
        req[n] = '\0';
        memmove(v->in, v->in + n, v->inlen - n + 1);
        v->inlen -= n;
        handle(v, req);
        if (v->cfd < 0)
            return;
    }
}

static void srv_conn_cb(vg_loop *loop, vg_io *io, uint32_t ev)
{
    srv *v = io->data;
    ssize_t n = recv(v->cfd, v->in + v->inlen, sizeof v->in - 1 - v->inlen, 0);
    if (n <= 0) {
        vg_io_stop(loop, io);
        return;
    }
    v->inlen += (size_t)n;
    v->in[v->inlen] = '\0';
    srv_drain(v);
}

static void srv_accept_cb(vg_loop *loop, vg_io *io, uint32_t ev)
{
    srv *v = io->data;
    int fd = accept(v->lfd, NULL, NULL);
    if (fd < 0)
        return;
    if (v->cfd >= 0) {
        vg_io_stop(loop, &v->cio);
        close(v->cfd);
    }
    v->cfd = fd;
    v->inlen = 0;
    vg_io_init(&v->cio, fd, srv_conn_cb, v);
    vg_io_start(loop, &v->cio, EPOLLIN);
}

static void srv_start(srv *v, vg_loop *loop, enum mode m)
{
    memset(v, 0, sizeof *v);
    v->loop = loop;
    v->mode = m;
    v->cfd = v->ufd = v->ufd_rtcp = -1;
    v->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(v->lfd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(listen(v->lfd, 4), 0);
    socklen_t al = sizeof a;
    getsockname(v->lfd, (struct sockaddr *)&a, &al);
    v->port = ntohs(a.sin_port);
    vg_io_init(&v->lio, v->lfd, srv_accept_cb, v);
    vg_io_start(loop, &v->lio, EPOLLIN);
    vg_timer_init(&v->media, media_cb, v);
}

static void srv_stop(srv *v)
{
    vg_timer_stop(v->loop, &v->media);
    vg_io_stop(v->loop, &v->lio);
    close(v->lfd);
    if (v->cfd >= 0) {
        /* Collect a TEARDOWN sent by vg_rtsp_free (already in the socket). */
        struct pollfd p = {.fd = v->cfd, .events = POLLIN};
        if (poll(&p, 1, 500) > 0) {
            ssize_t n = recv(v->cfd, v->in + v->inlen, sizeof v->in - 1 - v->inlen, MSG_DONTWAIT);
            if (n > 0) {
                v->inlen += (size_t)n;
                v->in[v->inlen] = '\0';
                srv_drain(v);
            }
        }
        vg_io_stop(v->loop, &v->cio);
        close(v->cfd);
    }
    if (v->ufd >= 0)
        close(v->ufd);
    if (v->ufd_rtcp >= 0) {
        ssize_t n = recv(v->ufd_rtcp, v->rr, sizeof v->rr, MSG_DONTWAIT);
        v->rr_len = n > 0 ? (int)n : 0;
        close(v->ufd_rtcp);
    }
}

/* ---- client side ---- */

static void c_tracks(void *arg, const vg_track *t, unsigned n)
{
    res *r = arg;
    r->n_tracks++;
    r->ntracks = n;
    if (n)
        r->t0 = t[0];
}

static void c_frame(void *arg, const vg_frame *f)
{
    res *r = arg;
    CHECK_EQ(f->track, 0);
    CHECK(f->len >= 4);
    r->frames++;
    r->keyframes += !!(f->flags & VG_FRAME_KEY);
    /* Free from inside the depacketizer's callback (deferred free). */
    if (r->s && r->frames >= 5 && (!r->stop_after_ka || r->sv->n_options >= 1)) {
        vg_rtsp_free(r->s);
        r->s = NULL;
        vg_loop_stop(r->loop);
    }
}

static void c_state(void *arg, int rc, const char *why)
{
    res *r = arg;
    r->n_state++;
    snprintf(r->why, sizeof r->why, "%s", why);
    if (rc == 0) {
        r->playing = 1;
        return;
    }
    r->rc = rc;
    vg_rtsp_free(r->s);   /* from inside on_state */
    r->s = NULL;
    vg_loop_stop(r->loop);
}

static void guard_cb(vg_loop *loop, vg_timer *t)
{
    res *r = t->data;
    snprintf(r->why, sizeof r->why, "test guard timer fired");
    vg_loop_stop(loop);
}

static const vg_source_cbs cbs = {.on_tracks = c_tracks, .on_frame = c_frame, .on_state = c_state};

/* Run one session against a server in mode m; returns with r filled. */
static void run(enum mode m, int udp, const char *user, unsigned stall_ms, res *r, srv *v,
                srv *v2)
{
    vg_loop *loop;
    CHECK_EQ(vg_loop_new(&loop), 0);
    int wait_ka = r->stop_after_ka;
    memset(r, 0, sizeof *r);
    r->stop_after_ka = wait_ka;
    r->loop = loop;
    r->sv = v;
    srv_start(v, loop, m);
    v->udp = udp;
    char url[256];
    if (v2) {
        srv_start(v2, loop, M_OK);
        snprintf(v->redirect_to, sizeof v->redirect_to, "rtsp://127.0.0.1:%u/moved", v2->port);
        r->sv = v2;
    }
    snprintf(url, sizeof url, "rtsp://%s127.0.0.1:%u/live", user ? user : "", v->port);
    vg_rtsp_opts o = {.url = url, .transport = udp ? VG_RTSP_UDP : VG_RTSP_AUTO,
                      .request_timeout_ms = 300, .stall_timeout_ms = stall_ms, .name = "t"};
    CHECK_EQ(vg_rtsp_new(loop, &o, &cbs, r, &r->s), 0);
    CHECK_EQ(vg_rtsp_start(r->s), 0);
    vg_timer guard;
    vg_timer_init(&guard, guard_cb, r);
    vg_timer_start(loop, &guard, 8000);
    vg_loop_run(loop);
    vg_timer_stop(loop, &guard);
    if (r->s)
        vg_rtsp_free(r->s);
    srv_stop(v);
    if (v2)
        srv_stop(v2);
    vg_loop_free(loop);
}

static void t_play_tcp(void)
{
    res r;
    srv v;
    memset(&r, 0, sizeof r);
    run(M_OK, 0, "admin:secret@", 0, &r, &v, NULL);
    CHECK_EQ(r.playing, 1);
    CHECK_EQ(r.n_tracks, 1);
    CHECK_EQ(r.ntracks, 1);           /* the metadata track is skipped */
    CHECK_EQ(r.t0.codec, VG_CODEC_H264);
    CHECK_EQ(r.t0.sps_len, 26);
    CHECK_EQ(r.t0.pps_len, 6);
    CHECK(r.frames >= 5);
    CHECK(r.keyframes >= 1);
    CHECK_EQ(v.n_describe, 2);        /* 401 then authenticated */
    CHECK_EQ(v.n_setup, 1);
    CHECK_EQ(v.n_play, 1);
    CHECK_EQ(v.n_teardown, 1);
    CHECK_EQ(v.n_client_resp, 1);     /* answered the server's OPTIONS */
    CHECK_EQ(v.saw_password, 0);
    CHECK(v.n_authed >= 4);           /* auth carried on every later request */
    if (!r.playing)
        fprintf(stderr, "  why: %s\n", r.why);
}

static void t_keepalive_fallback(void)
{
    /* Session timeout=2 -> keep-alive every second: GET_PARAMETER gets 405,
     * the next keep-alive is OPTIONS. Frames stop the test once OPTIONS came. */
    res r;
    srv v;
    vg_loop *loop;
    CHECK_EQ(vg_loop_new(&loop), 0);
    memset(&r, 0, sizeof r);
    r.loop = loop;
    r.sv = &v;
    r.stop_after_ka = 1;
    srv_start(&v, loop, M_NOAUTH_SDP);
    char url[128];
    snprintf(url, sizeof url, "rtsp://127.0.0.1:%u/live", v.port);
    vg_rtsp_opts o = {.url = url, .name = "ka"};
    CHECK_EQ(vg_rtsp_new(loop, &o, &cbs, &r, &r.s), 0);
    CHECK_EQ(vg_rtsp_start(r.s), 0);
    vg_timer guard;
    vg_timer_init(&guard, guard_cb, &r);
    vg_timer_start(loop, &guard, 6000);
    vg_loop_run(loop);
    vg_timer_stop(loop, &guard);
    if (r.s)
        vg_rtsp_free(r.s);
    srv_stop(&v);
    vg_loop_free(loop);
    CHECK_EQ(r.playing, 1);
    CHECK_EQ(v.n_getparam, 1);
    CHECK(v.n_options >= 1);
    CHECK_EQ(r.n_state, 1);
    CHECK_EQ(v.n_teardown, 1);
}

static void t_play_udp(void)
{
    res r;
    srv v;
    memset(&r, 0, sizeof r);
    r.stop_after_ka = 1;   /* runs ~2 s: long enough for a receiver report */
    run(M_OK, 1, "admin:secret@", 0, &r, &v, NULL);
    CHECK_EQ(r.playing, 1);
    CHECK(r.frames >= 5);
    CHECK(v.cport > 0 && v.cport % 2 == 0);
    CHECK_EQ(v.rr_len, 48);
    CHECK_EQ(v.rr[1], 201);   /* RTCP RR */
    CHECK(!memcmp(v.rr + 8, "\x11\x22\x33\x44", 4));
    if (!r.playing)
        fprintf(stderr, "  why: %s\n", r.why);
}

static void t_failures(void)
{
    res r;
    srv v, v2;
    memset(&r, 0, sizeof r);
    run(M_GARBAGE, 0, NULL, 0, &r, &v, NULL);
    CHECK_EQ(r.rc, VG_EPROTO);
    CHECK(!strcmp(r.why, "garbage on control connection"));

    run(M_SILENT, 0, NULL, 0, &r, &v, NULL);
    CHECK_EQ(r.rc, VG_ETIMEDOUT);
    CHECK(!strcmp(r.why, "DESCRIBE: no response after 300 ms"));

    run(M_AUTHFAIL, 0, "admin:wrong@", 0, &r, &v, NULL);
    CHECK_EQ(r.rc, VG_EAUTH);
    CHECK(!strcmp(r.why, "authentication refused"));
    CHECK_EQ(v.n_describe, 2);

    run(M_OK, 0, NULL, 0, &r, &v, NULL);
    CHECK_EQ(r.rc, VG_EAUTH);
    CHECK(strstr(r.why, "401") != NULL);

    run(M_404, 0, NULL, 0, &r, &v, NULL);
    CHECK_EQ(r.rc, VG_ENOTFOUND);
    CHECK(!strcmp(r.why, "DESCRIBE: 404 Not Found"));

    run(M_CLOSE, 0, NULL, 0, &r, &v, NULL);
    CHECK_EQ(r.rc, VG_ECLOSED);
    CHECK(strstr(r.why, "closed") != NULL);

    run(M_BADSDP, 0, NULL, 0, &r, &v, NULL);
    CHECK_EQ(r.rc, VG_EINVAL);
    CHECK(!strncmp(r.why, "bad SDP", 7));

    run(M_NOMEDIA, 0, "admin:secret@", 300, &r, &v, NULL);
    CHECK_EQ(r.playing, 1);
    CHECK_EQ(r.rc, VG_ETIMEDOUT);
    CHECK(!strcmp(r.why, "no media for 300 ms"));

    /* Redirect to a second server; credentials follow to the same host. */
    run(M_REDIRECT, 0, "admin:secret@", 0, &r, &v, &v2);
    CHECK_EQ(r.playing, 1);
    CHECK_EQ(v.n_describe, 1);
    CHECK_EQ(v2.n_describe, 2);
    CHECK(r.frames >= 5);
}

static void t_connect_refused(void)
{
    /* A port nobody listens on: bind, read the port, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    vg_loop *loop;
    CHECK_EQ(vg_loop_new(&loop), 0);
    res r;
    memset(&r, 0, sizeof r);
    r.loop = loop;
    char url[64];
    snprintf(url, sizeof url, "rtsp://127.0.0.1:%u/x", ntohs(a.sin_port));
    vg_rtsp_opts o = {.url = url};
    CHECK_EQ(vg_rtsp_new(loop, &o, &cbs, &r, &r.s), 0);
    CHECK_EQ(vg_rtsp_start(r.s), 0);
    vg_loop_run(loop);
    CHECK_EQ(r.rc, VG_EIO);
    CHECK(!strcmp(r.why, "connect: Connection refused"));
    vg_loop_free(loop);
}

static void t_api_errors(void)
{
    vg_loop *loop;
    CHECK_EQ(vg_loop_new(&loop), 0);
    vg_rtsp *s = NULL;
    vg_rtsp_opts o = {.url = "http://x/"};
    CHECK_EQ(vg_rtsp_new(loop, &o, &cbs, NULL, &s), VG_EINVAL);
    o.url = NULL;
    CHECK_EQ(vg_rtsp_new(loop, &o, &cbs, NULL, &s), VG_EINVAL);
    /* Created and freed without starting; free(NULL) is a no-op. */
    o.url = "rtsp://u:p@10.0.0.1/x";
    CHECK_EQ(vg_rtsp_new(loop, &o, &cbs, NULL, &s), 0);
    vg_rtsp_free(s);
    vg_rtsp_free(NULL);
    vg_loop_free(loop);
}

/* A refused audio SETUP drops the audio track and plays the video; a
 * refused video SETUP (nothing left worth recording) ends the session. */
static void t_refused_track(void)
{
    res r;
    srv v;
    memset(&r, 0, sizeof r);
    run(M_AUDIO_REFUSED, 0, "admin:secret@", 0, &r, &v, NULL);
    CHECK_EQ(r.playing, 1);
    CHECK_EQ(r.ntracks, 1);
    CHECK_EQ(r.t0.codec, VG_CODEC_H264);
    CHECK(r.frames >= 5);
    CHECK_EQ(v.n_setup, 2);
    CHECK_EQ(v.n_play, 1);
    memset(&r, 0, sizeof r);
    run(M_ALL_REFUSED, 0, "admin:secret@", 0, &r, &v, NULL);
    CHECK_EQ(r.playing, 0);
    CHECK_EQ(r.rc, VG_EUNSUPPORTED);
    CHECK(strstr(r.why, "SETUP: 461") != NULL);
}

int main(void)
{
    RUN(t_api_errors);
    RUN(t_connect_refused);
    RUN(t_play_tcp);
    RUN(t_keepalive_fallback);
    RUN(t_play_udp);
    RUN(t_failures);
    RUN(t_refused_track);
    return vg_test_done();
}
