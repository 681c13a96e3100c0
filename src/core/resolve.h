/* SPDX-License-Identifier: Apache-2.0 */
/* Host name lookup off the loop thread. getaddrinfo() can block for a DNS
 * timeout (seconds); on a loop thread that would stall every camera and
 * viewer it serves. Each lookup runs on a short-lived detached thread and
 * reports through an eventfd watched by the caller's loop.
 *
 * Invariants:
 *  1. cb runs on the loop's thread, from a loop callback, at most once.
 *  2. After vg_resolve_cancel() returns, cb never runs; the caller may free
 *     what arg points to at once. The lookup thread keeps its own reference
 *     to the request, so a lookup stuck in DNS never touches freed memory
 *     (the request is freed by whichever of thread and owner lets go last).
 *  3. The lookup thread never touches the loop: it only writes the eventfd. */
#ifndef VG_RESOLVE_H
#define VG_RESOLVE_H

#include "core/loop.h"

#include <stdint.h>
#include <sys/socket.h>

typedef struct vg_resolve vg_resolve;

/* rc: 0 (ss/len hold the first address) or VG_ENOTFOUND. */
typedef void (*vg_resolve_cb)(void *arg, int rc, const struct sockaddr_storage *ss, socklen_t len);

/* Numeric hosts ("192.0.2.7", "::1") are answered on the next loop
 * iteration without a thread. Returns 0 with *out set, VG_EINVAL for an
 * over-long host, VG_ENOMEM / VG_EIO when no thread or eventfd can be made. */
int vg_resolve_start(vg_loop *loop, const char *host, uint16_t port, vg_resolve_cb cb, void *arg,
                     vg_resolve **out);
/* Loop thread only; r may be NULL. */
void vg_resolve_cancel(vg_resolve *r);

#endif
