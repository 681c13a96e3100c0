/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTPS server: JSON API (docs/api.md) and the browser app (ui/), on
 * libmicrohttpd nested in a vg_loop (docs/design/web.md).
 *
 * Owner: vg_web_new's caller owns the vg_web and frees it with vg_web_free
 * (on the loop's thread, before the loop). The loop must outlive it. */
#ifndef VG_WEB_H
#define VG_WEB_H

#include "core/loop.h"

#include <stdint.h>

#define VG_WEB_DEFAULT_LISTEN "127.0.0.1:8443"

typedef struct vg_web vg_web;

typedef struct vg_web_opts {
    const char *data_dir;    /* required; app.db, secret.key, tls/ live here */
    const char *listen;      /* "ADDR:PORT" ("[v6]:PORT"); NULL = VG_WEB_DEFAULT_LISTEN */
    const char *cert_file;   /* PEM; NULL with key_file NULL = DATA/tls/ (made at first start) */
    const char *key_file;
    const char *ui_dir;      /* NULL = "ui" (relative to the working directory) */
    /* The public origin browsers use, e.g. "https://nvr.example:8443". Requests
     * whose Host or (state-changing) Origin match none of the allowed origins
     * are refused. NULL = https://localhost:PORT, https://127.0.0.1:PORT,
     * https://[::1]:PORT and https://LISTENADDR:PORT. */
    const char *origin;
    unsigned max_connections;  /* 0 = 256 */
} vg_web_opts;

int vg_web_new(vg_loop *loop, const vg_web_opts *o, vg_web **out);
void vg_web_free(vg_web *w);
/* Port actually bound (useful with port 0 in tests). */
uint16_t vg_web_port(const vg_web *w);

/* `vigil serve --data DIR [--listen ADDR:PORT] [--origin URL] [--ui DIR]
 *  [--cert FILE --key FILE]`: runs only the web server until SIGINT/SIGTERM.
 * argv[0] is "serve". Returns the exit code (0, 1 error, 2 usage). */
int vg_cmd_serve(int argc, char **argv);

/* Every API route as JSON [{"method","path","min_role"}] (path with "{id}";
 * min_role "public", "session" (any signed-in account) or a role name), from
 * the route tables themselves: `vigil api-routes`. Caller frees. */
char *vg_web_routes_json(void);

#endif
