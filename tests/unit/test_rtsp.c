/* SPDX-License-Identifier: Apache-2.0 */
/* RTSP client pieces with canned data: response/interleaved framing (split at
 * every byte), bounds, garbage, Session/Transport, URLs, Basic/Digest auth. */
#include "core/err.h"
#include "rtsp/rtsp_int.h"
#include "vg_test.h"

#include <stdlib.h>

static vg__rtsp_msg msg;
static vg__rtsp_frame fr;

static int next(const char *s, size_t n, size_t *used)
{
    return vg__rtsp_next((const uint8_t *)s, n, used, &msg, &fr);
}

static void t_response_basic(void)
{
    const char r[] = "RTSP/1.0 200 OK\r\nCSeq: 2\r\ncontent-base: rtsp://cam/x/\r\n"
                     "Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
    size_t used;
    CHECK_EQ(next(r, sizeof r - 1, &used), VG__RTSP_RESPONSE);
    CHECK_EQ(used, sizeof r - 1 - 5);
    CHECK_EQ(msg.status, 200);
    CHECK(vg__span_ieq(msg.reason, "ok"));
    CHECK_EQ(vg__rtsp_cseq(&msg), 2);
    vg__span b = vg__rtsp_hdr(&msg, "Content-Base");
    CHECK(vg__span_ieq(b, "rtsp://cam/x/"));
    CHECK(msg.body.n == 5 && !memcmp(msg.body.p, "hello", 5));
    CHECK(vg__rtsp_hdr(&msg, "Session").p == NULL);
    /* LF-only, no reason phrase, folded header, stray CRLF before. */
    const char r2[] = "\r\nRTSP/1.0 404\nCSeq: 7\nWWW-Authenticate: Digest realm=\"a\",\n nonce=\"b\"\n\n";
    CHECK_EQ(next(r2, sizeof r2 - 1, &used), VG__RTSP_RESPONSE);
    CHECK_EQ(used, sizeof r2 - 1);
    CHECK_EQ(msg.status, 404);
    CHECK_EQ(msg.reason.n, 0);
    vg__span w = vg__rtsp_hdr(&msg, "www-authenticate");
    CHECK(w.n > 20 && !memcmp(w.p + w.n - 9, "nonce=\"b\"", 9));
    /* A request from the server. */
    const char q[] = "GET_PARAMETER rtsp://10.0.0.1/ RTSP/1.0\r\nCSeq: 9\r\n\r\n";
    CHECK_EQ(next(q, sizeof q - 1, &used), VG__RTSP_REQUEST);
    CHECK(vg__span_ieq(msg.reason, "GET_PARAMETER"));
    CHECK_EQ(vg__rtsp_cseq(&msg), 9);
}

/* A stream mixing responses and interleaved frames, as during PLAY with a
 * keep-alive answer between RTP packets. */
static size_t build_stream(uint8_t *out)
{
    size_t n = 0;
    const char r1[] = "RTSP/1.0 200 OK\r\nCSeq: 5\r\nSession: ABC;timeout=60\r\n\r\n";
    memcpy(out + n, r1, sizeof r1 - 1);
    n += sizeof r1 - 1;
    for (int i = 0; i < 3; i++) {
        uint16_t len = (uint16_t)(12 + i * 100);
        out[n++] = '$';
        out[n++] = (uint8_t)i;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
        for (uint16_t k = 0; k < len; k++)
            out[n++] = (uint8_t)(k + i);
        if (i == 1) {
            const char r2[] = "RTSP/1.0 200 OK\r\nCSeq: 6\r\nContent-Length: 3\r\n\r\nabc";
            memcpy(out + n, r2, sizeof r2 - 1);
            n += sizeof r2 - 1;
        }
    }
    out[n++] = '$';   /* empty frame */
    out[n++] = 4;
    out[n++] = 0;
    out[n++] = 0;
    return n;
}

/* Feed data in chunks as the client does: append, parse all, consume.
 * Records "R<cseq>" or "F<channel>:<len>" per event. */
static int feed(const uint8_t *data, size_t len, const size_t *cuts, size_t ncuts, char *log,
                size_t logsz)
{
    uint8_t *buf = malloc(len + 1);
    size_t have = 0, pos = 0, lo = 0;
    log[0] = '\0';
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        memcpy(buf + have, data + pos, end - pos);
        have += end - pos;
        pos = end;
        size_t off = 0;
        for (;;) {
            size_t used;
            /* Exact-size heap copy so ASan sees any overread. */
            uint8_t *view = malloc(have - off + 1);
            memcpy(view, buf + off, have - off);
            int k = vg__rtsp_next(view, have - off, &used, &msg, &fr);
            if (k == VG__RTSP_RESPONSE)
                lo += (size_t)snprintf(log + lo, logsz - lo, "R%ld ", vg__rtsp_cseq(&msg));
            else if (k == VG__RTSP_FRAME)
                lo += (size_t)snprintf(log + lo, logsz - lo, "F%u:%zu ", fr.channel, fr.len);
            free(view);
            if (k < 0) {
                free(buf);
                return k;
            }
            if (k == VG__RTSP_MORE)
                break;
            off += used;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    free(buf);
    return have ? -100 : 0;
}

static void t_split_every_byte(void)
{
    uint8_t s[2048];
    size_t n = build_stream(s);
    char want[256], got[256];
    CHECK_EQ(feed(s, n, NULL, 0, want, sizeof want), 0);
    CHECK(!strcmp(want, "R5 F0:12 F1:112 R6 F2:212 F4:0 "));
    for (size_t cut = 1; cut < n; cut++) {
        size_t cuts[1] = {cut};
        CHECK_EQ(feed(s, n, cuts, 1, got, sizeof got), 0);
        CHECK(!strcmp(got, want));
    }
    size_t *all = malloc(n * sizeof *all);
    for (size_t i = 0; i < n - 1; i++)
        all[i] = i + 1;
    CHECK_EQ(feed(s, n, all, n - 1, got, sizeof got), 0);
    CHECK(!strcmp(got, want));
    free(all);
}

static void t_bounds(void)
{
    size_t used;
    static char big[80000];
    /* A header line longer than 4 KiB. */
    int n = snprintf(big, sizeof big, "RTSP/1.0 200 OK\r\nX-Long: ");
    memset(big + n, 'a', 5000);
    CHECK_EQ(next(big, (size_t)n + 5000, &used), VG_ETOOBIG);
    /* A header block over 16 KiB made of short lines (also > 48 headers). */
    n = snprintf(big, sizeof big, "RTSP/1.0 200 OK\r\n");
    for (int i = 0; i < 40; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "X-H%d: %0400d\r\n", i, 0);
    CHECK_EQ(next(big, (size_t)n, &used), VG__RTSP_MORE);
    for (int i = 0; i < 10; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "X-H%d: %0400d\r\n", i, 0);
    CHECK_EQ(next(big, (size_t)n, &used), VG_ETOOBIG);
    n = snprintf(big, sizeof big, "RTSP/1.0 200 OK\r\n");
    for (int i = 0; i < VG_RTSP_HDRS_MAX + 1; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "X: y\r\n");
    n += snprintf(big + n, sizeof big - (size_t)n, "\r\n");
    CHECK_EQ(next(big, (size_t)n, &used), VG_ETOOBIG);
    /* Content-Length bounds and syntax. */
    const char cl1[] = "RTSP/1.0 200 OK\r\nContent-Length: 65537\r\n\r\n";
    CHECK_EQ(next(cl1, sizeof cl1 - 1, &used), VG_ETOOBIG);
    const char cl2[] = "RTSP/1.0 200 OK\r\nContent-Length: 99999999999999\r\n\r\n";
    CHECK_EQ(next(cl2, sizeof cl2 - 1, &used), VG_ETOOBIG);
    const char cl3[] = "RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n";
    CHECK_EQ(next(cl3, sizeof cl3 - 1, &used), VG_EPROTO);
    const char cl4[] = "RTSP/1.0 200 OK\r\nContent-Length: 65536\r\n\r\n";
    CHECK_EQ(next(cl4, sizeof cl4 - 1, &used), VG__RTSP_MORE);
    /* An incomplete first line that will never end. */
    n = snprintf(big, sizeof big, "RTSP/1.0 200 ");
    memset(big + n, 'x', 4200);
    CHECK_EQ(next(big, (size_t)n + 4200, &used), VG_ETOOBIG);
    /* A 64 KiB interleaved frame is fine. */
    big[0] = '$';
    big[1] = 0;
    big[2] = (char)0xff;
    big[3] = (char)0xff;
    CHECK_EQ(next(big, 4 + 65535, &used), VG__RTSP_FRAME);
    CHECK_EQ(fr.len, 65535);
    CHECK_EQ(next(big, 4 + 65534, &used), VG__RTSP_MORE);
}

static void t_garbage(void)
{
    static const char *bad[] = {
        "HTTP/1.1 200 OK\r\n\r\n",
        "x",
        "rtsp/1.0 200 OK\r\n\r\n",
        "\x00\x01\x02\x03",
        "RTSP/1.0 2x0 OK\r\n\r\n",
        "RTSP/1.0 200OK\r\n\r\n",
        "RTSP/1.0 099 Low\r\n\r\n",
        "RTSP/1.0 200 OK\r\nNoColonHere\r\n\r\n",
        "RTSP/1.0 200 OK\r\n: empty name\r\n\r\n",
        "RTSP/1.0 200 OK\r\n folded first\r\n\r\n",
        "RTSP/1.0 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "PLAY\r\n\r\n",
        "\r\n\r\n\r\n\r\n\r\n",
        "\xff\xfe",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t used;
        int rc = next(bad[i], strlen(bad[i]) ? strlen(bad[i]) : 4, &used);
        if (rc != VG_EPROTO)
            fprintf(stderr, "  garbage case %zu -> %d\n", i, rc);
        CHECK_EQ(rc, VG_EPROTO);
    }
}

static void t_session_transport(void)
{
    char id[32];
    unsigned to;
    vg__span v = {"12345678;timeout=60", 19};
    CHECK_EQ(vg__rtsp_parse_session(v, id, sizeof id, &to), 0);
    CHECK(!strcmp(id, "12345678"));
    CHECK_EQ(to, 60);
    v = (vg__span){" 0xDEAD ", 8};
    CHECK_EQ(vg__rtsp_parse_session(v, id, sizeof id, &to), 0);
    CHECK(!strcmp(id, "0xDEAD"));
    CHECK_EQ(to, 0);
    v = (vg__span){"abc\x01\r\nX: y", 10};
    CHECK_EQ(vg__rtsp_parse_session(v, id, sizeof id, &to), VG_EPROTO);
    v = (vg__span){";timeout=5", 10};
    CHECK_EQ(vg__rtsp_parse_session(v, id, sizeof id, &to), VG_EPROTO);
    v = (vg__span){"0123456789012345678901234567890123456789", 40};
    CHECK_EQ(vg__rtsp_parse_session(v, id, sizeof id, &to), VG_ETOOBIG);

    vg__rtsp_transport t;
    const char *a = "RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=1A2B3C4D;mode=\"PLAY\"";
    CHECK_EQ(vg__rtsp_parse_transport((vg__span){a, strlen(a)}, &t), 0);
    CHECK_EQ(t.interleaved[0], 2);
    CHECK_EQ(t.interleaved[1], 3);
    CHECK_EQ(t.has_ssrc, 1);
    CHECK_EQ(t.ssrc, 0x1A2B3C4D);
    CHECK_EQ(t.server_port[0], -1);
    a = "RTP/AVP;unicast;client_port=5000-5001;source=192.168.1.64;server_port=6970-6971,"
        "RTP/AVP;multicast";
    CHECK_EQ(vg__rtsp_parse_transport((vg__span){a, strlen(a)}, &t), 0);
    CHECK_EQ(t.client_port[0], 5000);
    CHECK_EQ(t.server_port[0], 6970);
    CHECK_EQ(t.server_port[1], 6971);
    CHECK(!strcmp(t.source, "192.168.1.64"));
    a = "RTP/AVP;server_port=70000-70001";
    CHECK_EQ(vg__rtsp_parse_transport((vg__span){a, strlen(a)}, &t), VG_EPROTO);
    a = "RTP/AVP;interleaved=a-b";
    CHECK_EQ(vg__rtsp_parse_transport((vg__span){a, strlen(a)}, &t), VG_EPROTO);
    CHECK_EQ(vg__rtsp_parse_transport((vg__span){NULL, 0}, &t), VG_EPROTO);
}

static void t_url(void)
{
    vg__rtsp_url u;
    CHECK_EQ(vg__rtsp_url_parse("rtsp://192.168.1.64/Streaming/Channels/101", &u), 0);
    CHECK(!strcmp(u.host, "192.168.1.64"));
    CHECK_EQ(u.port, 554);
    CHECK_EQ(u.has_userinfo, 0);
    CHECK(!strcmp(u.req, "rtsp://192.168.1.64/Streaming/Channels/101"));
    CHECK_EQ(vg__rtsp_url_parse("RTSP://admin:p%40ss:w@rd@cam.local:8554/a?b=c", &u), 0);
    CHECK(!strcmp(u.user, "admin"));
    CHECK(!strcmp(u.pass, "p@ss:w@rd"));
    CHECK(!strcmp(u.host, "cam.local"));
    CHECK_EQ(u.port, 8554);
    CHECK(!strcmp(u.req, "rtsp://cam.local:8554/a?b=c"));
    CHECK_EQ(vg__rtsp_url_parse("rtsp://u%3Ax@[::1]:10554", &u), 0);
    CHECK(!strcmp(u.user, "u:x"));
    CHECK(!strcmp(u.pass, ""));
    CHECK(!strcmp(u.host, "::1"));
    CHECK_EQ(u.port, 10554);
    CHECK(!strcmp(u.req, "rtsp://[::1]:10554/"));
    static const char *bad[] = {
        "http://1.2.3.4/", "rtsp://", "rtsp:///x", "rtsp://h:0/", "rtsp://h:65536/",
        "rtsp://h:12a/", "rtsp://[::1/", "rtsp://[::1]x/", "rtsp://u:%zz@h/",
        "rtsp://u:%00@h/", "rtsp://u:%4@h/", "rtsp://h /x", "rtsp://h/x\r\nX: y", "rtsp://h:/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = vg__rtsp_url_parse(bad[i], &u);
        if (rc != VG_EINVAL)
            fprintf(stderr, "  url case %zu -> %d\n", i, rc);
        CHECK_EQ(rc, VG_EINVAL);
    }
    char lng[1200] = "rtsp://h/";
    memset(lng + 9, 'a', 1100);
    lng[1109] = '\0';
    CHECK_EQ(vg__rtsp_url_parse(lng, &u), VG_ETOOBIG);
    char user[200] = "rtsp://";
    memset(user + 7, 'u', 150);
    memcpy(user + 157, "@h/", 4);
    CHECK_EQ(vg__rtsp_url_parse(user, &u), VG_ETOOBIG);
}

static void t_resolve(void)
{
    char out[256];
    CHECK_EQ(vg__rtsp_url_resolve("rtsp://h/live/", "trackID=1", out, sizeof out), 0);
    CHECK(!strcmp(out, "rtsp://h/live/trackID=1"));
    CHECK_EQ(vg__rtsp_url_resolve("rtsp://h/live", "stream=0", out, sizeof out), 0);
    CHECK(!strcmp(out, "rtsp://h/live/stream=0"));
    CHECK_EQ(vg__rtsp_url_resolve("rtsp://h/live", "*", out, sizeof out), 0);
    CHECK(!strcmp(out, "rtsp://h/live"));
    CHECK_EQ(vg__rtsp_url_resolve("rtsp://h/live", "", out, sizeof out), 0);
    CHECK(!strcmp(out, "rtsp://h/live"));
    CHECK_EQ(vg__rtsp_url_resolve("rtsp://h/live", "RTSP://other/x", out, sizeof out), 0);
    CHECK(!strcmp(out, "RTSP://other/x"));
    CHECK_EQ(vg__rtsp_url_resolve("rtsp://h:554/a/b", "/c/d", out, sizeof out), 0);
    CHECK(!strcmp(out, "rtsp://h:554/c/d"));
    CHECK_EQ(vg__rtsp_url_resolve("rtsp://h/live/", "trackID=1", out, 20), VG_ETOOBIG);
}

static void digest_msg(const char *challenge)
{
    static char buf[1024];
    int n = snprintf(buf, sizeof buf, "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n%s\r\n", challenge);
    size_t used;
    CHECK_EQ(next(buf, (size_t)n, &used), VG__RTSP_RESPONSE);
}

static void t_digest_rfc2617(void)
{
    /* RFC 2617 §3.5, plus a Basic offer the client must not prefer. */
    digest_msg("WWW-Authenticate: Basic realm=\"x\"\r\n"
               "WWW-Authenticate: Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
               "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
               "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\n");
    vg__rtsp_auth a = {0};
    CHECK_EQ(vg__rtsp_auth_challenge(&a, &msg), 0);
    CHECK_EQ(a.scheme, VG__AUTH_DIGEST);
    CHECK_EQ(a.qop_auth, 1);
    char out[1024];
    CHECK_EQ(vg__rtsp_auth_header(&a, "Mufasa", "Circle Of Life", "GET", "/dir/index.html",
                                  "0a4f113b", out, sizeof out), 0);
    CHECK(strstr(out, "response=\"6629fae49393a05397450978507c4ef1\"") != NULL);
    CHECK(strstr(out, "nc=00000001") != NULL);
    CHECK(strstr(out, "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"") != NULL);
    CHECK(strstr(out, "Circle") == NULL);
    /* The nonce count advances for the next request with the same nonce. */
    CHECK_EQ(vg__rtsp_auth_header(&a, "Mufasa", "Circle Of Life", "GET", "/dir/index.html",
                                  NULL, out, sizeof out), 0);
    CHECK(strstr(out, "nc=00000002") != NULL);
    /* Legacy RFC 2069 form (no qop). */
    digest_msg("WWW-Authenticate: Digest realm=\"testrealm@host.com\", "
               "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"\r\n");
    vg__rtsp_auth b = {0};
    CHECK_EQ(vg__rtsp_auth_challenge(&b, &msg), 0);
    CHECK_EQ(b.qop_auth, 0);
    CHECK_EQ(vg__rtsp_auth_header(&b, "Mufasa", "Circle Of Life", "GET", "/dir/index.html",
                                  NULL, out, sizeof out), 0);
    CHECK(strstr(out, "response=\"670fd8c2df070c60b045671b8b24ff02\"") != NULL);
    CHECK(strstr(out, "qop") == NULL);
    CHECK_EQ(vg__rtsp_auth_header(&b, "Muf\"asa", "x", "GET", "/", NULL, out, sizeof out),
             VG_EINVAL);
    CHECK_EQ(vg__rtsp_auth_header(&b, "Mufasa", "x", "GET", "/", NULL, out, 40), VG_ETOOBIG);
}

static void t_digest_rfc7616(void)
{
    /* RFC 7616 §3.9.1: SHA-256 and MD5 variants of the same exchange. */
    const char *ch = "realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
                     "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
                     "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    char hdr[512], out[1024];
    snprintf(hdr, sizeof hdr, "WWW-Authenticate: Digest %s, algorithm=SHA-256\r\n", ch);
    digest_msg(hdr);
    vg__rtsp_auth a = {0};
    CHECK_EQ(vg__rtsp_auth_challenge(&a, &msg), 0);
    CHECK_EQ(a.sha256, 1);
    CHECK_EQ(vg__rtsp_auth_header(&a, "Mufasa", "Circle of Life", "GET", "/dir/index.html",
                                  "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", out, sizeof out),
             0);
    CHECK(strstr(out, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1") != NULL);
    CHECK(strstr(out, "algorithm=SHA-256") != NULL);
    snprintf(hdr, sizeof hdr, "WWW-Authenticate: Digest %s, algorithm=MD5\r\n", ch);
    digest_msg(hdr);
    vg__rtsp_auth b = {0};
    CHECK_EQ(vg__rtsp_auth_challenge(&b, &msg), 0);
    CHECK_EQ(vg__rtsp_auth_header(&b, "Mufasa", "Circle of Life", "GET", "/dir/index.html",
                                  "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", out, sizeof out),
             0);
    CHECK(strstr(out, "8ca523f5e9506fed4657c9700eebdbec") != NULL);
}

static void t_basic_and_bad_challenges(void)
{
    digest_msg("WWW-Authenticate: Basic realm=\"IP Camera\"\r\n");
    vg__rtsp_auth a = {0};
    CHECK_EQ(vg__rtsp_auth_challenge(&a, &msg), 0);
    CHECK_EQ(a.scheme, VG__AUTH_BASIC);
    char out[256];
    CHECK_EQ(vg__rtsp_auth_header(&a, "Aladdin", "open sesame", "DESCRIBE", "rtsp://h/", NULL,
                                  out, sizeof out), 0);
    CHECK(!strcmp(out, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
    static const char *bad[] = {
        "WWW-Authenticate: Negotiate abc\r\n",
        "WWW-Authenticate: Digest realm=\"x\"\r\n",                         /* no nonce */
        "WWW-Authenticate: Digest realm=\"x\", nonce=\"y\", algorithm=MD5-sess\r\n",
        "WWW-Authenticate: Digest realm=\"x\", nonce=\"y\", qop=\"auth-int\"\r\n",
        "WWW-Authenticate: Digest realm=\"x, nonce=\"y\r\n",                 /* unterminated */
        "WWW-Authenticate: Digest realm=\"a\\\"b\", nonce=\"y\"\r\n",       /* quote inside */
        "X-Other: 1\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        digest_msg(bad[i]);
        vg__rtsp_auth b = {0};
        int rc = vg__rtsp_auth_challenge(&b, &msg);
        if (rc != VG_EUNSUPPORTED)
            fprintf(stderr, "  challenge case %zu -> %d\n", i, rc);
        CHECK_EQ(rc, VG_EUNSUPPORTED);
    }
}

int main(void)
{
    RUN(t_response_basic);
    RUN(t_split_every_byte);
    RUN(t_bounds);
    RUN(t_garbage);
    RUN(t_session_transport);
    RUN(t_url);
    RUN(t_resolve);
    RUN(t_digest_rfc2617);
    RUN(t_digest_rfc7616);
    RUN(t_basic_and_bad_challenges);
    return vg_test_done();
}
