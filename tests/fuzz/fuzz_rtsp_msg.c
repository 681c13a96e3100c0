/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the RTSP control-connection framing as the client drives it: the
 * input is cut into chunks (sizes taken from the first bytes), appended to a
 * bounded buffer, and parsed until MORE; every response also goes through
 * the Session, Transport and WWW-Authenticate parsers. */
#include "core/err.h"
#include "rtsp/rtsp_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inspect(const vg__rtsp_msg *m)
{
    char id[128];
    unsigned to;
    vg__rtsp_transport t;
    vg__rtsp_auth a;
    char out[1024];
    (void)vg__rtsp_cseq(m);
    vg__span v = vg__rtsp_hdr(m, "Session");
    if (v.p)
        (void)vg__rtsp_parse_session(v, id, sizeof id, &to);
    v = vg__rtsp_hdr(m, "Transport");
    if (v.p)
        (void)vg__rtsp_parse_transport(v, &t);
    memset(&a, 0, sizeof a);
    if (vg__rtsp_auth_challenge(&a, m) == 0)
        (void)vg__rtsp_auth_header(&a, "user", "pass", "DESCRIBE", "rtsp://h/x", "00", out,
                                   sizeof out);
    v = vg__rtsp_hdr(m, "Location");
    if (v.p && v.n < 2000) {
        char loc[2048];
        vg__rtsp_url u;
        if (!vg__span_cstr(v, loc, sizeof loc))
            (void)vg__rtsp_url_parse(loc, &u);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t chunk = (size_t)data[0] * 4 + 1;   /* 1..1021 bytes per read */
    data++;
    size--;
    size_t cap = VG_RTSP_HEAD_MAX + VG_RTSP_BODY_MAX + 4 + 65535;
    uint8_t *buf = malloc(cap);
    size_t have = 0, pos = 0;
    while (pos < size) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        if (n > cap - have)
            break;
        memcpy(buf + have, data + pos, n);
        have += n;
        pos += n;
        size_t off = 0;
        int k;
        do {
            vg__rtsp_msg m;
            vg__rtsp_frame f;
            size_t used = 0;
            k = vg__rtsp_next(buf + off, have - off, &used, &m, &f);
            if (k == VG__RTSP_RESPONSE || k == VG__RTSP_REQUEST)
                inspect(&m);
            if (k > 0)
                off += used;
        } while (k > 0);
        if (k < 0)
            break;
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    free(buf);
    return 0;
}
