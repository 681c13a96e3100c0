/* SPDX-License-Identifier: Apache-2.0 */
/* The browser app's files, served from a fixed table: the request path is
 * only ever compared against the table, never used to build a file path, so
 * no traversal (../, %2e%2e, encoded slashes) can reach another file. Add a
 * row here when ui/ gains a file. */
#include "web/web_int.h"
#include "core/err.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATIC_MAX (4 * 1024 * 1024)

static const struct {
    const char *url, *file, *type;
} files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/api.js", "api.js", "text/javascript; charset=utf-8"},
    {"/keys.js", "keys.js", "text/javascript; charset=utf-8"},
    {"/totp.js", "totp.js", "text/javascript; charset=utf-8"},
    {"/pages.js", "pages.js", "text/javascript; charset=utf-8"},
    {"/password.js", "password.js", "text/javascript; charset=utf-8"},
    {"/footage.js", "footage.js", "text/javascript; charset=utf-8"},
    {"/mp4.js", "mp4.js", "text/javascript; charset=utf-8"},
    {"/liveproto.js", "liveproto.js", "text/javascript; charset=utf-8"},
    {"/camkeys.js", "camkeys.js", "text/javascript; charset=utf-8"},
    {"/player.js", "player.js", "text/javascript; charset=utf-8"},
    {"/livemp4.js", "livemp4.js", "text/javascript; charset=utf-8"},
    {"/live.js", "live.js", "text/javascript; charset=utf-8"},
    {"/archive.js", "archive.js", "text/javascript; charset=utf-8"},
    {"/segsig.js", "segsig.js", "text/javascript; charset=utf-8"},
    {"/playback.js", "playback.js", "text/javascript; charset=utf-8"},
    {"/grants.js", "grants.js", "text/javascript; charset=utf-8"},
    {"/share.js", "share.js", "text/javascript; charset=utf-8"},
    {"/clip.js", "clip.js", "text/javascript; charset=utf-8"},
    {"/platform.js", "platform.js", "text/javascript; charset=utf-8"},
    {"/security.js", "security.js", "text/javascript; charset=utf-8"},
    {"/rotation.js", "rotation.js", "text/javascript; charset=utf-8"},
    {"/auditlog.js", "auditlog.js", "text/javascript; charset=utf-8"},
    {"/alerts.js", "alerts.js", "text/javascript; charset=utf-8"},
    {"/blocklist.txt", "blocklist.txt", "text/plain; charset=utf-8"},
    {"/favicon.svg", "favicon.svg", "image/svg+xml"},
    {"/vendor/libsodium-wrappers.mjs", "vendor/libsodium-wrappers.mjs", "text/javascript; charset=utf-8"},
    {"/vendor/libsodium-sumo.mjs", "vendor/libsodium-sumo.mjs", "text/javascript; charset=utf-8"},
};

static int load(const char *path, char **out, size_t *len)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return VG_ENOTFOUND;
    int rc = VG_EIO;
    char *p = NULL;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > STATIC_MAX) goto out;
    p = malloc((size_t)sb.st_size + 1);
    if (!p) { rc = VG_ENOMEM; goto out; }
    size_t n = 0;
    ssize_t r = 0;
    while (n < (size_t)sb.st_size && (r = read(fd, p + n, (size_t)sb.st_size - n)) > 0) n += (size_t)r;
    if (r < 0 || n != (size_t)sb.st_size) goto out;
    *out = p;
    *len = n;
    p = NULL;
    rc = 0;
out:
    free(p);
    close(fd);
    return rc;
}

enum MHD_Result vg_static_serve(vg_web *w, struct MHD_Connection *c, const char *url, int head)
{
    char path[1200];
    char *data = NULL;
    size_t len = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (strcmp(url, files[i].url) != 0) continue;
        snprintf(path, sizeof path, "%s/%s", w->ui_dir, files[i].file);
        if (load(path, &data, &len)) break;
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        if (!resp) { free(data); return MHD_NO; }
        vg_web_headers(resp, 1);
        MHD_add_response_header(resp, "Content-Type", files[i].type);
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        (void)head;   /* libmicrohttpd omits the body of a HEAD response itself */
        enum MHD_Result r = MHD_queue_response(c, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return r;
    }
    return vg_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found");
}
