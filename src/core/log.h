/* SPDX-License-Identifier: Apache-2.0 */
/* Logging: one line per event, "TIME LEVEL subsystem: message", to stderr and
 * optionally a file. Thread-safe (one write(2) per line). Never log secrets:
 * URLs go through vg_log_redact_url first. */
#ifndef VG_LOG_H
#define VG_LOG_H

#include <stddef.h>

enum vg_log_level { VG_LOG_DEBUG, VG_LOG_INFO, VG_LOG_WARN, VG_LOG_ERROR };

void vg_log_set_level(enum vg_log_level lvl);
/* Also append log lines to this file (opened O_APPEND). NULL closes it. */
int vg_log_set_file(const char *path);
void vg_log(enum vg_log_level lvl, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define vg_debug(sub, ...) vg_log(VG_LOG_DEBUG, sub, __VA_ARGS__)
#define vg_info(sub, ...)  vg_log(VG_LOG_INFO, sub, __VA_ARGS__)
#define vg_warn(sub, ...)  vg_log(VG_LOG_WARN, sub, __VA_ARGS__)
#define vg_error(sub, ...) vg_log(VG_LOG_ERROR, sub, __VA_ARGS__)

/* Copy url into out with any "user:password@" userinfo replaced by "***@". */
void vg_log_redact_url(const char *url, char *out, size_t outsz);

#endif
