/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the files of src/web. Not a public header. */
#ifndef VG_WEB_INT_H
#define VG_WEB_INT_H

#include "auth/auth.h"
#include "core/buf.h"
#include "web/web.h"

#include <jansson.h>
#include <microhttpd.h>

#define VG_WEB_BODY_MAX (64 * 1024)
#define VG_WEB_MAX_ORIGINS 4
#define VG_SESSION_COOKIE "__Host-vg_session"

typedef struct vg_web_route vg_web_route;

/* One request; owned by libmicrohttpd's per-request pointer, freed in the
 * completion callback. */
typedef struct vg_req {
    const vg_web_route *route;
    vg_buf body;
    int64_t id;            /* the {id} path segment, when the route has one */
    int has_ctx;
    int refused;           /* answered from the headers alone */
    int too_big;           /* body exceeded VG_WEB_BODY_MAX; rest dropped */
    int done;              /* the final call has run */
    vg_ctx ctx;
    char addr[64];
    char sid[VG_TOKEN_B64_MAX];   /* session cookie text, if any */
} vg_req;

struct vg_web {
    vg_loop *loop;
    struct MHD_Daemon *d;
    vg_io io;
    vg_timer timer;
    vg_db *db;
    vg_auth *auth;
    uint16_t port;
    char ui_dir[1024];
    char origins[VG_WEB_MAX_ORIGINS][160];
    int n_origins;
    char *cert_pem, *key_pem;
};

typedef enum MHD_Result (*vg_web_handler)(vg_web *w, vg_req *r, json_t *body, struct MHD_Connection *c);

enum vg_access { VG_PUBLIC, VG_SESSION };

struct vg_web_route {
    const char *method;
    const char *path;        /* exact, or prefix ending in '/' followed by {id} when has_id */
    int has_id;
    enum vg_access access;
    enum vg_role min_role;
    vg_web_handler fn;
};

/* api.c */
const vg_web_route *vg_api_routes(size_t *n);

/* http.c: responses (every response gets the security headers) */
enum MHD_Result vg_reply_json(struct MHD_Connection *c, unsigned status, json_t *obj /* stolen */);
enum MHD_Result vg_reply_json_cookie(struct MHD_Connection *c, unsigned status, json_t *obj,
                                     const char *set_cookie);
enum MHD_Result vg_reply_error(struct MHD_Connection *c, unsigned status, const char *code);
enum MHD_Result vg_reply_retry(struct MHD_Connection *c, int retry_after);
void vg_web_headers(struct MHD_Response *resp, int html);
int64_t vg_web_now(void);

/* static.c */
enum MHD_Result vg_static_serve(vg_web *w, struct MHD_Connection *c, const char *url, int head);

/* tls.c: load or create the certificate and key PEM texts. */
int vg_tls_load(const vg_web_opts *o, const char *listen_host, char **cert_pem, char **key_pem);

#endif
