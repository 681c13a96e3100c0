/* SPDX-License-Identifier: Apache-2.0 */
/* epoll event loop with a binary min-heap of timers and an eventfd for
 * cross-thread posts. See loop.h for the invariants. */
#include "core/loop.h"
#include "core/clock.h"
#include "core/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

struct post_item {
    vg_post_fn fn;
    void *arg;
    struct post_item *next;
};

struct vg_loop {
    int epfd;
    uint64_t now;
    unsigned coalesce_us;
    _Atomic int stop;
    /* The batch being dispatched, so vg_io_stop can cancel fetched events. */
    struct epoll_event events[MAX_EVENTS];
    int nevents, cur;
    vg_timer **heap;
    size_t nheap, capheap;
    /* Posts from other threads. */
    int efd;
    vg_io eio;
    pthread_mutex_t mu;
    struct post_item *head, *tail;
};

uint64_t vg_loop_now(const vg_loop *loop) { return loop->now; }
void vg_loop_set_coalesce(vg_loop *loop, unsigned us) { loop->coalesce_us = us; }
void vg_loop_update_now(vg_loop *loop) { loop->now = vg_mono_ms(); }

static void drain_posts(vg_loop *loop, vg_io *io, uint32_t ev);

int vg_loop_new(vg_loop **out)
{
    vg_loop *l = calloc(1, sizeof *l);
    if (!l)
        return VG_ENOMEM;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->epfd < 0 || l->efd < 0) {
        if (l->epfd >= 0) close(l->epfd);
        if (l->efd >= 0) close(l->efd);
        free(l);
        return VG_EIO;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->now = vg_mono_ms();
    vg_io_init(&l->eio, l->efd, drain_posts, NULL);
    if (vg_io_start(l, &l->eio, EPOLLIN)) {
        vg_loop_free(l);
        return VG_EIO;
    }
    *out = l;
    return 0;
}

void vg_loop_free(vg_loop *loop)
{
    if (!loop)
        return;
    struct post_item *p = loop->head;
    while (p) {
        struct post_item *n = p->next;
        free(p);
        p = n;
    }
    close(loop->efd);
    close(loop->epfd);
    pthread_mutex_destroy(&loop->mu);
    free(loop->heap);
    free(loop);
}

void vg_loop_stop(vg_loop *loop)
{
    loop->stop = 1;
    uint64_t one = 1;
    ssize_t w = write(loop->efd, &one, sizeof one);
    (void)w;
}

int vg_loop_post(vg_loop *loop, vg_post_fn fn, void *arg)
{
    struct post_item *it = malloc(sizeof *it);
    if (!it)
        return VG_ENOMEM;
    it->fn = fn;
    it->arg = arg;
    it->next = NULL;
    pthread_mutex_lock(&loop->mu);
    if (loop->tail)
        loop->tail->next = it;
    else
        loop->head = it;
    loop->tail = it;
    pthread_mutex_unlock(&loop->mu);
    uint64_t one = 1;
    ssize_t w = write(loop->efd, &one, sizeof one);
    (void)w;
    return 0;
}

static void drain_posts(vg_loop *loop, vg_io *io, uint32_t ev)
{
    uint64_t v;
    ssize_t r = read(loop->efd, &v, sizeof v);
    (void)r;
    pthread_mutex_lock(&loop->mu);
    struct post_item *p = loop->head;
    loop->head = loop->tail = NULL;
    pthread_mutex_unlock(&loop->mu);
    while (p) {
        struct post_item *n = p->next;
        p->fn(p->arg);
        free(p);
        p = n;
    }
}

/* ---- fd watchers ---- */

void vg_io_init(vg_io *io, int fd, vg_io_cb cb, void *data)
{
    io->fd = fd;
    io->events = 0;
    io->cb = cb;
    io->data = data;
    io->active = 0;
}

int vg_io_start(vg_loop *loop, vg_io *io, uint32_t events)
{
    if (io->active)
        return vg_io_modify(loop, io, events);
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
        return VG_EIO;
    io->events = events;
    io->active = 1;
    return 0;
}

int vg_io_modify(vg_loop *loop, vg_io *io, uint32_t events)
{
    if (!io->active)
        return vg_io_start(loop, io, events);
    if (io->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return VG_EIO;
    io->events = events;
    return 0;
}

void vg_io_stop(vg_loop *loop, vg_io *io)
{
    if (!io->active)
        return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->active = 0;
    /* Invariant 2: forget events of this watcher fetched in the current batch. */
    for (int i = loop->cur + 1; i < loop->nevents; i++)
        if (loop->events[i].data.ptr == io)
            loop->events[i].data.ptr = NULL;
}

/* ---- timers: binary min-heap on due ---- */

static void heap_swap(vg_loop *l, size_t a, size_t b)
{
    vg_timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_idx = a;
    l->heap[b]->heap_idx = b;
}

static void heap_up(vg_loop *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p]->due <= l->heap[i]->due)
            break;
        heap_swap(l, p, i);
        i = p;
    }
}

static void heap_down(vg_loop *l, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1, m = i;
        if (c < l->nheap && l->heap[c]->due < l->heap[m]->due)
            m = c;
        if (c + 1 < l->nheap && l->heap[c + 1]->due < l->heap[m]->due)
            m = c + 1;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

void vg_timer_init(vg_timer *t, vg_timer_cb cb, void *data)
{
    t->due = 0;
    t->heap_idx = (size_t)-1;
    t->cb = cb;
    t->data = data;
}

void vg_timer_stop(vg_loop *l, vg_timer *t)
{
    size_t i = t->heap_idx;
    if (i == (size_t)-1)
        return;
    t->heap_idx = (size_t)-1;
    l->nheap--;
    if (i == l->nheap)
        return;
    l->heap[i] = l->heap[l->nheap];
    l->heap[i]->heap_idx = i;
    heap_down(l, i);
    heap_up(l, i);
}

int vg_timer_start(vg_loop *l, vg_timer *t, uint64_t delay_ms)
{
    vg_timer_stop(l, t);
    if (l->nheap == l->capheap) {
        size_t nc = l->capheap ? l->capheap * 2 : 64;
        vg_timer **h = realloc(l->heap, nc * sizeof *h);
        if (!h)
            return VG_ENOMEM;
        l->heap = h;
        l->capheap = nc;
    }
    t->due = l->now + delay_ms;
    t->heap_idx = l->nheap;
    l->heap[l->nheap++] = t;
    heap_up(l, t->heap_idx);
    return 0;
}

static void run_timers(vg_loop *l)
{
    while (l->nheap && l->heap[0]->due <= l->now && !l->stop) {
        vg_timer *t = l->heap[0];
        vg_timer_stop(l, t);
        t->cb(l, t);
    }
}

int vg_loop_run(vg_loop *loop)
{
    while (!loop->stop) {
        int timeout = -1;
        loop->now = vg_mono_ms();
        if (loop->nheap) {
            uint64_t due = loop->heap[0]->due;
            timeout = due <= loop->now ? 0 : (int)(due - loop->now > 60000 ? 60000 : due - loop->now);
        }
        int n = epoll_wait(loop->epfd, loop->events, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return VG_EIO;
        }
        uint64_t woke_us = vg_mono_us();
        loop->now = woke_us / 1000;
        loop->nevents = n;
        for (loop->cur = 0; loop->cur < n && !loop->stop; loop->cur++) {
            vg_io *io = loop->events[loop->cur].data.ptr;
            if (io)
                io->cb(loop, io, loop->events[loop->cur].events);
        }
        loop->nevents = 0;
        loop->cur = 0;
        run_timers(loop);
        if (loop->coalesce_us && n > 0 && !loop->stop) {
            uint64_t spent = vg_mono_us() - woke_us;
            if (spent < loop->coalesce_us) {
                struct timespec ts = {0, (long)(loop->coalesce_us - spent) * 1000};
                nanosleep(&ts, NULL);
            }
        }
    }
    return 0;
}
