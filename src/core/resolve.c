/* SPDX-License-Identifier: Apache-2.0 */
/* See resolve.h. A thread per lookup rather than a pool: names are rare
 * (cameras are usually addressed by IP) and a lookup stuck in a DNS timeout
 * must not hold up the others behind it. The caller keeps at most one lookup
 * per connection attempt, so threads are bounded by the number of cameras. */
#include "core/resolve.h"
#include "core/err.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define HOST_MAX 255
#define THREAD_STACK (256 * 1024)

struct vg_resolve {
    atomic_int refs;             /* owner + lookup thread */
    vg_loop *loop;
    vg_io io;
    int efd;
    vg_resolve_cb cb;
    void *arg;
    char host[HOST_MAX + 1];
    char port[8];
    /* written by the lookup thread before the eventfd write, read after it */
    int rc;
    struct sockaddr_storage ss;
    socklen_t len;
};

static void unref(vg_resolve *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1) return;
    close(r->efd);
    free(r);
}

static int lookup(vg_resolve *r, int flags)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = flags};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(r->host, r->port, &hints, &res);
    if (rc || !res || res->ai_addrlen > sizeof r->ss) {
        if (res) freeaddrinfo(res);
        return rc == EAI_NONAME ? 1 : -1;
    }
    memcpy(&r->ss, res->ai_addr, res->ai_addrlen);
    r->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void *lookup_thread(void *p)
{
    vg_resolve *r = p;
    r->rc = lookup(r, AI_NUMERICSERV | AI_ADDRCONFIG) ? VG_ENOTFOUND : 0;
    uint64_t one = 1;
    ssize_t n = write(r->efd, &one, sizeof one);   /* eventfd: 8 bytes, never short */
    (void)n;
    unref(r);
    return NULL;
}

static void on_done(vg_loop *loop, vg_io *io, uint32_t events)
{
    (void)events;
    vg_resolve *r = io->data;
    uint64_t v;
    if (read(r->efd, &v, sizeof v) != sizeof v) return;   /* spurious: wait for the real one */
    vg_io_stop(loop, &r->io);
    vg_resolve_cb cb = r->cb;
    void *arg = r->arg;
    int rc = r->rc;
    struct sockaddr_storage ss = r->ss;
    socklen_t len = r->len;
    unref(r);   /* the owner's reference: the request is done before cb runs */
    cb(arg, rc, rc ? NULL : &ss, len);
}

int vg_resolve_start(vg_loop *loop, const char *host, uint16_t port, vg_resolve_cb cb, void *arg,
                     vg_resolve **out)
{
    *out = NULL;
    if (!host || strlen(host) > HOST_MAX) return VG_EINVAL;
    vg_resolve *r = calloc(1, sizeof *r);
    if (!r) return VG_ENOMEM;
    r->loop = loop;
    r->cb = cb;
    r->arg = arg;
    snprintf(r->host, sizeof r->host, "%s", host);
    snprintf(r->port, sizeof r->port, "%u", port);
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->efd < 0) { free(r); return VG_EIO; }
    vg_io_init(&r->io, r->efd, on_done, r);
    if (vg_io_start(loop, &r->io, EPOLLIN)) { close(r->efd); free(r); return VG_EIO; }
    uint64_t one = 1;
    switch (lookup(r, AI_NUMERICHOST | AI_NUMERICSERV)) {
    case 0:     /* an address literal: no thread, answered on the next iteration */
        atomic_init(&r->refs, 1);
        if (write(r->efd, &one, sizeof one) != sizeof one) goto fail;
        *out = r;
        return 0;
    case -1:    /* not a name and not an address */
        atomic_init(&r->refs, 1);
        r->rc = VG_ENOTFOUND;
        if (write(r->efd, &one, sizeof one) != sizeof one) goto fail;
        *out = r;
        return 0;
    default:
        break;
    }
    atomic_init(&r->refs, 2);
    pthread_attr_t at;
    pthread_t t;
    int prc = pthread_attr_init(&at);
    if (!prc) {
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, THREAD_STACK);
        prc = pthread_create(&t, &at, lookup_thread, r);
        pthread_attr_destroy(&at);
    }
    if (prc) { atomic_store(&r->refs, 1); goto fail; }
    *out = r;
    return 0;
fail:
    vg_io_stop(loop, &r->io);
    unref(r);
    return VG_ENOMEM;
}

void vg_resolve_cancel(vg_resolve *r)
{
    if (!r) return;
    vg_io_stop(r->loop, &r->io);
    unref(r);
}
