/* SPDX-License-Identifier: Apache-2.0 */
/* RTSP client internals shared by src/rtsp/rtsp*.c and the unit/fuzz tests.
 * Not a public API: the "vg__" prefix marks non-static helpers (libuv's uv__).
 * Everything here is pointer+length and bounded; nothing here allocates. */
#ifndef VG_RTSP_INT_H
#define VG_RTSP_INT_H

#include <stddef.h>
#include <stdint.h>

/* A view into a buffer owned by someone else (nginx's ngx_str_t). */
typedef struct vg__span {
    const char *p;
    size_t n;
} vg__span;

int vg__span_ieq(vg__span s, const char *lit);
/* Copy into a NUL-terminated buffer; VG_ETOOBIG if it does not fit. */
int vg__span_cstr(vg__span s, char *out, size_t outsz);

/* ---- message framing: rtsp_msg.c ---------------------------------------- */

#define VG_RTSP_LINE_MAX 4096     /* one status/header line */
#define VG_RTSP_HEAD_MAX 16384    /* status line + all headers */
#define VG_RTSP_BODY_MAX 65536    /* Content-Length */
#define VG_RTSP_HDRS_MAX 48       /* header lines per message */

typedef struct vg__rtsp_msg {
    int status;        /* response status (100..599); 0 for a request from the server */
    vg__span reason;   /* response reason phrase, or the request's method */
    vg__span uri;      /* request URI (requests only) */
    unsigned nhdr;
    vg__span name[VG_RTSP_HDRS_MAX];
    vg__span value[VG_RTSP_HDRS_MAX];  /* trimmed; may span folded lines */
    vg__span body;
} vg__rtsp_msg;

typedef struct vg__rtsp_frame {
    unsigned channel;
    const uint8_t *data;
    size_t len;
} vg__rtsp_frame;

enum {
    VG__RTSP_MORE = 0,      /* incomplete: read more and call again */
    VG__RTSP_RESPONSE = 1,  /* *msg filled */
    VG__RTSP_REQUEST = 2,   /* server-to-client request; *msg filled */
    VG__RTSP_FRAME = 3,     /* "$" interleaved frame (RFC 2326 §10.12); *fr filled */
};

/* Parse the next message at the front of buf[0..len). Returns a kind > 0 and
 * sets *used (bytes to consume), VG__RTSP_MORE, or VG_EPROTO (bytes that
 * cannot start an RTSP message or a '$' frame) / VG_ETOOBIG (a bound above was
 * exceeded). Spans in *msg and *fr point into buf. Stateless: call again with
 * the same (grown) buffer after MORE. */
int vg__rtsp_next(const uint8_t *buf, size_t len, size_t *used, vg__rtsp_msg *msg,
                  vg__rtsp_frame *fr);

/* First header with this name (case-insensitive); .p == NULL if absent. */
vg__span vg__rtsp_hdr(const vg__rtsp_msg *m, const char *name);
/* CSeq of a message, or -1 if missing/bad. */
long vg__rtsp_cseq(const vg__rtsp_msg *m);

/* Session header (RFC 2326 §12.37): "id[;timeout=N]". timeout 0 if absent. */
int vg__rtsp_parse_session(vg__span v, char *id, size_t idsz, unsigned *timeout_s);

typedef struct vg__rtsp_transport {
    int interleaved[2];   /* -1 if absent */
    int server_port[2];   /* -1 if absent */
    int client_port[2];   /* -1 if absent */
    char source[64];      /* "" if absent */
    uint32_t ssrc;
    int has_ssrc;
} vg__rtsp_transport;

/* Transport header (RFC 2326 §12.39), first transport spec only. */
int vg__rtsp_parse_transport(vg__span v, vg__rtsp_transport *t);

/* ---- URLs: rtsp_url.c ------------------------------------------------------ */

#define VG_RTSP_URL_MAX 1024

typedef struct vg__rtsp_url {
    char host[256];              /* without IPv6 brackets */
    uint16_t port;               /* 554 if absent */
    int has_userinfo;
    char user[128], pass[128];   /* percent-decoded; wiped by the owner */
    char req[VG_RTSP_URL_MAX];   /* the URL as sent in requests: no userinfo */
} vg__rtsp_url;

/* rtsp://[user[:pass]@]host[:port][/path]. VG_EINVAL if malformed, VG_ETOOBIG
 * if a part exceeds its field. */
int vg__rtsp_url_parse(const char *url, vg__rtsp_url *out);
/* Resolve an SDP a=control against a base URL (RFC 2326 §C.1.1): absolute
 * controls are used as is, "*" or "" mean the base, "/x" replaces the path,
 * anything else is appended after a '/' (what cameras expect). */
int vg__rtsp_url_resolve(const char *base, const char *control, char *out, size_t outsz);

/* ---- authentication: rtsp_auth.c ------------------------------------------ */

enum { VG__AUTH_NONE = 0, VG__AUTH_BASIC = 1, VG__AUTH_DIGEST = 2 };

typedef struct vg__rtsp_auth {
    int scheme;
    int qop_auth;      /* server offered qop including "auth" (RFC 2617 §3.2.1) */
    int sha256;        /* algorithm=SHA-256 (RFC 7616) instead of MD5 */
    uint32_t nc;       /* nonce count, per nonce */
    char realm[256], nonce[256], opaque[256];
} vg__rtsp_auth;

/* Pick the strongest challenge among the message's WWW-Authenticate headers
 * (Digest over Basic). VG_EUNSUPPORTED if none is usable. */
int vg__rtsp_auth_challenge(vg__rtsp_auth *a, const vg__rtsp_msg *m);
/* Authorization header value for one request. cnonce NULL -> random.
 * VG_ETOOBIG if out is too small. The output holds no password for Digest;
 * for Basic it does (base64) and the caller wipes it. */
int vg__rtsp_auth_header(vg__rtsp_auth *a, const char *user, const char *pass,
                         const char *method, const char *uri, const char *cnonce, char *out,
                         size_t outsz);

#endif
