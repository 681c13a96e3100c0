/* SPDX-License-Identifier: Apache-2.0 */
/* Logging. A line is formatted into a stack buffer and written with one
 * write(2) so lines from several threads never interleave. */
#include "core/log.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level = VG_LOG_INFO;
static _Atomic int log_fd = -1;

void vg_log_set_level(enum vg_log_level lvl) { log_level = lvl; }

int vg_log_set_file(const char *path)
{
    int fd = -1;
    if (path) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
            return VG_EIO;
    }
    int old = atomic_exchange(&log_fd, fd);
    if (old >= 0)
        close(old);
    return 0;
}

static const char *level_name[] = {"debug", "info", "warn", "error"};

void vg_log(enum vg_log_level lvl, const char *subsys, const char *fmt, ...)
{
    if ((int)lvl < log_level)
        return;
    int saved = errno;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_name[lvl], subsys);
    if (n < 0)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    /* Control characters from peers (camera-supplied strings) must not forge lines. */
    for (size_t i = (size_t)n; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    int fd = log_fd;
    if (fd >= 0)
        w = write(fd, line, len);
    (void)w;
    errno = saved;
}

void vg_log_redact_url(const char *url, char *out, size_t outsz)
{
    if (!outsz)
        return;
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *slash = strchr(host, '/');
    const char *at = NULL;
    for (const char *p = host; *p && (!slash || p < slash); p++)
        if (*p == '@')
            at = p;
    if (!at) {
        snprintf(out, outsz, "%s", url);
        return;
    }
    snprintf(out, outsz, "%.*s***%s", (int)(host - url), url, at);
}

const char *vg_strerror(int rc)
{
    switch (rc) {
    case VG_OK: return "ok";
    case VG_EINVAL: return "invalid input";
    case VG_ENOMEM: return "out of memory";
    case VG_EIO: return "i/o error";
    case VG_EPROTO: return "protocol error";
    case VG_EAGAIN: return "try again";
    case VG_ETIMEDOUT: return "timed out";
    case VG_EAUTH: return "authentication failed";
    case VG_ENOSPC: return "no space left on device";
    case VG_ECRYPTO: return "cryptographic check failed";
    case VG_ENOTFOUND: return "not found";
    case VG_EUNSUPPORTED: return "unsupported";
    case VG_ECLOSED: return "connection closed";
    case VG_ETOOBIG: return "too big";
    default: return "unknown error";
    }
}
