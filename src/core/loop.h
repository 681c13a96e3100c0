/* SPDX-License-Identifier: Apache-2.0 */
/* Event loop: one per thread, epoll-based (in the manner of Redis's ae.c and
 * libuv). Watchers and timers are structs owned and embedded by the caller,
 * so the loop allocates nothing per camera or connection.
 *
 * Invariants:
 *  1. A loop is only touched from its own thread, except vg_loop_post() and
 *     vg_loop_stop(), which are thread-safe.
 *  2. After vg_io_stop() / vg_timer_stop() returns, the callback does not fire,
 *     even for events already fetched in the current epoll batch; the caller
 *     may then free the struct (also from inside a callback).
 *  3. "now" is cached once per iteration (vg_loop_now), monotonic milliseconds.
 */
#ifndef VG_LOOP_H
#define VG_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

typedef struct vg_loop vg_loop;
typedef struct vg_io vg_io;
typedef struct vg_timer vg_timer;

typedef void (*vg_io_cb)(vg_loop *loop, vg_io *io, uint32_t events);
typedef void (*vg_timer_cb)(vg_loop *loop, vg_timer *t);
typedef void (*vg_post_fn)(void *arg);

struct vg_io {
    int fd;
    uint32_t events;   /* EPOLLIN, EPOLLOUT, ... */
    vg_io_cb cb;
    void *data;        /* caller's */
    int active;
};

struct vg_timer {
    uint64_t due;      /* monotonic ms */
    size_t heap_idx;   /* position in the loop's heap; SIZE_MAX when stopped */
    vg_timer_cb cb;
    void *data;        /* caller's */
};

int vg_loop_new(vg_loop **out);
/* Stops nothing: callers stop their watchers first. Pending posts are dropped. */
void vg_loop_free(vg_loop *loop);
/* Runs until vg_loop_stop(). Returns 0, or VG_EIO if epoll fails. */
int vg_loop_run(vg_loop *loop);
void vg_loop_stop(vg_loop *loop);
uint64_t vg_loop_now(const vg_loop *loop);
/* Refresh the cached now (for long callbacks). */
void vg_loop_update_now(vg_loop *loop);
/* Event coalescing (interrupt moderation): after a batch of I/O events,
 * wait until `us` microseconds have passed since the loop woke before
 * polling again, so one wake reads whole frames from many sockets instead of
 * a packet or two from one. Adds at most `us` of latency; 0 (default) is off. */
void vg_loop_set_coalesce(vg_loop *loop, unsigned us);

void vg_io_init(vg_io *io, int fd, vg_io_cb cb, void *data);
int vg_io_start(vg_loop *loop, vg_io *io, uint32_t events);
int vg_io_modify(vg_loop *loop, vg_io *io, uint32_t events);
void vg_io_stop(vg_loop *loop, vg_io *io);

void vg_timer_init(vg_timer *t, vg_timer_cb cb, void *data);
/* (Re)arm the timer to fire once after delay_ms. */
int vg_timer_start(vg_loop *loop, vg_timer *t, uint64_t delay_ms);
void vg_timer_stop(vg_loop *loop, vg_timer *t);
static inline int vg_timer_active(const vg_timer *t) { return t->heap_idx != (size_t)-1; }

/* Run fn(arg) on the loop's thread at its next iteration. Thread-safe.
 * Returns VG_ENOMEM if the item cannot be queued (then fn never runs). */
int vg_loop_post(vg_loop *loop, vg_post_fn fn, void *arg);

#endif
