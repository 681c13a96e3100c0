/* SPDX-License-Identifier: Apache-2.0 */
/* rtsp:// URL parsing (RFC 2326 §3.2, RFC 3986 authority syntax) and SDP
 * control-URL resolution (RFC 2326 §C.1.1).
 *
 * Invariants:
 *  1. Every output is bounded by its field; a part that does not fit is
 *     VG_ETOOBIG, never truncated (a truncated URL would address another stream).
 *  2. vg__rtsp_url.req never contains userinfo, so it is safe to send and log. */
#include "rtsp/rtsp_int.h"
#include "core/err.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode p[0..n) into out (RFC 3986 §2.1). NUL bytes are refused:
 * they would truncate a credential silently. */
static int pct_decode(const char *p, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c == '%') {
            if (i + 2 >= n)
                return VG_EINVAL;
            int h = hexval(p[i + 1]), l = hexval(p[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return VG_EINVAL;
            c = h << 4 | l;
            i += 2;
        }
        if (o + 1 >= outsz)
            return VG_ETOOBIG;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int parse_userinfo(const char *p, size_t n, vg__rtsp_url *u)
{
    const char *colon = memchr(p, ':', n);
    size_t un = colon ? (size_t)(colon - p) : n;
    int rc = pct_decode(p, un, u->user, sizeof u->user);
    if (!rc && colon)
        rc = pct_decode(colon + 1, n - un - 1, u->pass, sizeof u->pass);
    u->has_userinfo = 1;
    return rc;
}

static int parse_port(const char *p, size_t n, uint16_t *port)
{
    if (!n || n > 5)
        return VG_EINVAL;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return VG_EINVAL;
        v = v * 10 + (p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return VG_EINVAL;
    *port = (uint16_t)v;
    return 0;
}

/* host[:port] or [v6]:port; fills host and port. */
static int parse_hostport(const char *p, size_t n, vg__rtsp_url *u)
{
    const char *hs = p, *he, *rest;
    if (n && *p == '[') {
        const char *rb = memchr(p, ']', n);
        if (!rb)
            return VG_EINVAL;
        hs = p + 1;
        he = rb;
        rest = rb + 1;
    } else {
        const char *colon = memchr(p, ':', n);
        he = colon ? colon : p + n;
        rest = he;
    }
    size_t rn = n - (size_t)(rest - p);
    if (he == hs)
        return VG_EINVAL;
    if ((size_t)(he - hs) >= sizeof u->host)
        return VG_ETOOBIG;
    for (const char *c = hs; c < he; c++)
        if ((unsigned char)*c <= ' ' || *c == '/' || *c == '@' || *c == '[' || *c == ']' ||
            *c == 0x7f)
            return VG_EINVAL;
    memcpy(u->host, hs, (size_t)(he - hs));
    u->host[he - hs] = '\0';
    u->port = 554;
    if (rn) {
        if (*rest != ':')
            return VG_EINVAL;
        return parse_port(rest + 1, rn - 1, &u->port);
    }
    return 0;
}

int vg__rtsp_url_parse(const char *url, vg__rtsp_url *u)
{
    memset(u, 0, sizeof *u);
    size_t len = strnlen(url, VG_RTSP_URL_MAX);
    if (len >= VG_RTSP_URL_MAX)
        return VG_ETOOBIG;
    if (len < 8 || strncasecmp(url, "rtsp://", 7) != 0)
        return VG_EINVAL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return VG_EINVAL;   /* would break the request line */
    const char *auth = url + 7;
    const char *path = strpbrk(auth, "/?");
    size_t an = path ? (size_t)(path - auth) : strlen(auth);
    /* The last '@' ends the userinfo: passwords may contain raw '@'. */
    const char *at = NULL;
    for (const char *c = auth; c < auth + an; c++)
        if (*c == '@')
            at = c;
    int rc = 0;
    if (at)
        rc = parse_userinfo(auth, (size_t)(at - auth), u);
    const char *hp = at ? at + 1 : auth;
    if (!rc)
        rc = parse_hostport(hp, an - (size_t)(hp - auth), u);
    if (!rc) {
        int n = snprintf(u->req, sizeof u->req, "rtsp://%.*s%s", (int)(an - (size_t)(hp - auth)),
                         hp, path ? path : "/");
        if (n < 0 || (size_t)n >= sizeof u->req)
            rc = VG_ETOOBIG;
    }
    if (rc)
        sodium_memzero(u, sizeof *u);
    return rc;
}

static int is_absolute(const char *s)
{
    return strncasecmp(s, "rtsp://", 7) == 0 || strncasecmp(s, "rtsps://", 8) == 0 ||
           strncasecmp(s, "rtspu://", 8) == 0;
}

int vg__rtsp_url_resolve(const char *base, const char *control, char *out, size_t outsz)
{
    int n;
    if (is_absolute(control))
        n = snprintf(out, outsz, "%s", control);
    else if (!*control || strcmp(control, "*") == 0)
        n = snprintf(out, outsz, "%s", base);
    else if (*control == '/') {
        /* Path-absolute: keep the base's scheme and authority. */
        const char *auth = strstr(base, "://");
        const char *slash = auth ? strchr(auth + 3, '/') : NULL;
        size_t keep = slash ? (size_t)(slash - base) : strlen(base);
        n = snprintf(out, outsz, "%.*s%s", (int)keep, base, control);
    } else {
        /* Relative: appended below the base (live555/ffmpeg behaviour, which
         * camera firmware is written against) rather than RFC 3986 merging,
         * which would drop the base's last segment when it lacks a '/'. */
        size_t bl = strlen(base);
        n = snprintf(out, outsz, "%s%s%s", base, bl && base[bl - 1] == '/' ? "" : "/", control);
    }
    if (n < 0 || (size_t)n >= outsz)
        return VG_ETOOBIG;
    return 0;
}
