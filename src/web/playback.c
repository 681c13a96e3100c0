/* SPDX-License-Identifier: Apache-2.0 */
/* Playback API (docs/design/live.md "Playback"): recordings of a camera,
 * segment metadata, and segment bytes (ciphertext) with Range.
 *
 * Invariants:
 *  1. A segment is served by its integer id only; the file path comes from
 *     the store's ids (vg_store_segment_open), never from request text.
 *  2. Every read is scoped to the caller's organization and to cameras the
 *     caller holds a wrapped key for (vg_cam_access: 403 and audited).
 *  3. Only committed bytes are served (the store bounds the size), and the
 *     Range parser never trusts a number: digits only, at most 19, no
 *     overflow, one range, inside the resource (else 400/416).
 *  4. An export (decrypted in the browser) is audited only for a camera the
 *     caller holds a key for; anyone else gets 403 and `camera.denied`. */
#include "web/web_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Strict unsigned decimal: 1..19 digits, no sign, no space. */
static int parse_u64(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 19) return VG_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return VG_EINVAL;
        v = v * 10 + (uint64_t)(p[i] - '0');   /* 19 digits < 2^64: no overflow */
    }
    *out = v;
    return 0;
}

int vg_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
    if (!h) return 1;
    if (strncmp(h, "bytes=", 6) != 0) return VG_EINVAL;
    const char *p = h + 6;
    size_t n = strlen(p);
    if (n == 0 || n > 64) return VG_EINVAL;
    if (memchr(p, ',', n)) return VG_ETOOBIG;   /* several ranges: not served (416) */
    const char *dash = memchr(p, '-', n);
    if (!dash) return VG_EINVAL;
    size_t a_len = (size_t)(dash - p), b_len = n - a_len - 1;
    uint64_t a = 0, b = 0;
    if (a_len == 0) {   /* suffix: the last b bytes */
        if (parse_u64(dash + 1, b_len, &b)) return VG_EINVAL;
        if (b == 0 || size == 0) return VG_ETOOBIG;
        if (b > size) b = size;
        *off = size - b;
        *len = b;
        return 0;
    }
    if (parse_u64(p, a_len, &a)) return VG_EINVAL;
    if (b_len == 0) {
        b = size ? size - 1 : 0;
    } else {
        if (parse_u64(dash + 1, b_len, &b)) return VG_EINVAL;
        if (b < a) return VG_EINVAL;
        if (b >= size) b = size ? size - 1 : 0;
    }
    if (a >= size) return VG_ETOOBIG;
    *off = a;
    *len = b - a + 1;
    return 0;
}

/* Strict int64 query parameter; absent -> def. */
static int query_i64(struct MHD_Connection *c, const char *k, int64_t def, int64_t *out)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
    if (!v) { *out = def; return 0; }
    int neg = v[0] == '-';
    uint64_t u;
    if (parse_u64(v + neg, strlen(v + neg), &u) || u > (uint64_t)INT64_MAX) return VG_EINVAL;
    *out = neg ? -(int64_t)u : (int64_t)u;
    return 0;
}

static enum MHD_Result access_error(struct MHD_Connection *c, int rc)
{
    if (rc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (rc == VG_EAUTH) return vg_reply_error(c, MHD_HTTP_FORBIDDEN, "no_key");
    return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
}

static enum MHD_Result reply_text(struct MHD_Connection *c, char *text /* freed */)
{
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    return o ? vg_reply_json(c, MHD_HTTP_OK, o) : vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
}

enum MHD_Result vg_h_recordings(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    char name[64], *text = NULL;
    int64_t from, to;
    if (!w->store) return vg_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder");
    if (query_i64(c, "from", 0, &from) || query_i64(c, "to", INT64_MAX, &to) || from > to)
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_range");
    int rc = vg_cam_access(w, r, r->id, "recordings", name);
    if (rc) return access_error(c, rc);
    if (vg_store_recordings_json(w->data_dir, name, from, to, &text))
        return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    return reply_text(c, text);
}

/* The app camera of a segment, checked for the caller (invariant 2). */
static int segment_camera(vg_web *w, vg_req *r, const char *store_name, const char *what, int64_t *cam)
{
    *cam = vg_cam_by_store_name(r, store_name);
    if (!*cam) return VG_ENOTFOUND;   /* another organization's or an unmapped camera: as if absent */
    return vg_cam_access(w, r, *cam, what, NULL);
}

enum MHD_Result vg_h_segment(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    char name[64], *text = NULL;
    int64_t cam;
    if (!w->store) return vg_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder");
    int rc = vg_store_segment_json(w->data_dir, r->id, name, &text);
    if (rc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (rc) return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    if ((rc = segment_camera(w, r, name, "segment", &cam))) {
        free(text);
        return access_error(c, rc);
    }
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    if (!o) return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    json_object_set_new(o, "camera_id", json_integer(cam));
    vg_api_audit(r, "archive.view", json_pack("{s:I,s:I}", "camera", (json_int_t)cam, "segment", (json_int_t)r->id));
    return vg_reply_json(c, MHD_HTTP_OK, o);
}

/* Segment bytes, for this file's route and for grants.c and share.c; fd is
 * closed here on every path. An unsatisfiable range answers 416 with no body
 * and a Content-Range giving the size (docs/design/live.md), or with
 * json_416 {"error": "bad_range"}, as the grant and share routes answer. */
enum MHD_Result vg_serve_segment(struct MHD_Connection *c, int fd, uint64_t size, int json_416)
{
    char cr[96];
    uint64_t off = 0, len = 0;
    int rc = vg_range_parse(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE), size, &off, &len);
    if (rc < 0) {
        close(fd);
        if (rc == VG_EINVAL || json_416)
            return vg_reply_error(c, rc == VG_EINVAL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_RANGE_NOT_SATISFIABLE,
                                  "bad_range");
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
        vg_web_headers(resp, 0);
        MHD_add_response_header(resp, "Content-Range", cr);
        enum MHD_Result res = MHD_queue_response(c, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
        MHD_destroy_response(resp);
        return res;
    }
    if (rc == 1) { off = 0; len = size; }
    /* The fd is owned by the response from here (closed when it is destroyed). */
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
    if (!resp) { close(fd); return MHD_NO; }
    vg_web_headers(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    if (rc == 0) {
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off, off + len - 1, size);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    enum MHD_Result res = MHD_queue_response(c, rc == 0 ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return res;
}

enum MHD_Result vg_h_segment_data(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    char name[64];
    int64_t cam;
    int fd = -1;
    uint64_t size = 0;
    if (!w->store) return vg_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder");
    int rc = vg_store_segment_open(w->data_dir, r->id, name, &fd, &size);
    if (rc == VG_ENOTFOUND) return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    if (rc) return vg_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    if ((rc = segment_camera(w, r, name, "segment.data", &cam))) {
        close(fd);
        return access_error(c, rc);
    }
    return vg_serve_segment(c, fd, size, 0);
}

/* POST /api/audit/export {"camera_id", "from90k", "to90k"}: the browser says
 * it is about to decrypt and save this range (docs/design/ui.md "Export").
 * The server cannot see the export itself; it records the intent, and the
 * segment reads that follow are audited as archive.view anyway. */
enum MHD_Result vg_h_export(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    json_t *jc = json_object_get(b, "camera_id"), *jf = json_object_get(b, "from90k"), *jt = json_object_get(b, "to90k");
    if (!json_is_integer(jc) || !json_is_integer(jf) || !json_is_integer(jt))
        return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_input");
    json_int_t cam = json_integer_value(jc), from = json_integer_value(jf), to = json_integer_value(jt);
    if (cam <= 0 || from < 0 || to <= from) return vg_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_input");
    int rc = vg_cam_access(w, r, cam, "export", NULL);
    if (rc) return access_error(c, rc);
    vg_api_audit(r, "export", json_pack("{s:I,s:I,s:I}", "camera", cam, "from90k", from, "to90k", to));
    return vg_reply_json(c, MHD_HTTP_OK, json_object());
}
