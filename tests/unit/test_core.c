/* SPDX-License-Identifier: Apache-2.0 */
/* Core: buffers with a maximum, the loop's timers/posts/watchers, clocks. */
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/resolve.h"
#include "vg_test.h"

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static void t_buf_max(void)
{
    vg_buf b;
    vg_buf_init(&b, 10);
    CHECK_EQ(vg_buf_append(&b, "0123456789", 10), 0);
    CHECK_EQ(vg_buf_append(&b, "x", 1), VG_ETOOBIG);
    CHECK_EQ(b.len, 10);
    vg_buf_consume(&b, 4);
    CHECK_EQ(b.len, 6);
    CHECK_MEM(b.data, "456789", 6);
    CHECK_EQ(vg_buf_append_be32(&b, 0x01020304), 0);
    CHECK_EQ(vg_rd32(b.data + 6), 0x01020304);
    CHECK_EQ(vg_buf_reserve(&b, (size_t)-1), VG_ETOOBIG);
    vg_buf_free(&b);
}

static int fired[4];
static void on_timer(vg_loop *l, vg_timer *t)
{
    int i = (int)(intptr_t)t->data;
    fired[i] = fired[0] + fired[1] + fired[2] + fired[3] + 1; /* order of firing */
    if (i == 2)
        vg_loop_stop(l);
}

static void t_timers_order_and_cancel(void)
{
    vg_loop *l;
    CHECK_EQ(vg_loop_new(&l), 0);
    vg_timer t[4];
    for (int i = 0; i < 4; i++)
        vg_timer_init(&t[i], on_timer, (void *)(intptr_t)i);
    vg_timer_start(l, &t[2], 30);
    vg_timer_start(l, &t[0], 10);
    vg_timer_start(l, &t[1], 20);
    vg_timer_start(l, &t[3], 15);
    vg_timer_stop(l, &t[3]);
    CHECK(!vg_timer_active(&t[3]));
    CHECK_EQ(vg_loop_run(l), 0);
    CHECK_EQ(fired[0], 1);
    CHECK_EQ(fired[1], 2);
    CHECK(fired[2] >= 3);
    CHECK_EQ(fired[3], 0);
    vg_loop_free(l);
}

static int posted;
static void on_post(void *arg) { posted = (int)(intptr_t)arg; }
static vg_loop *post_loop;
static void on_post_stop(void *arg) { (void)arg; vg_loop_stop(post_loop); }
static void *poster(void *arg)
{
    vg_loop_post(post_loop, on_post, (void *)(intptr_t)42);
    vg_loop_post(post_loop, on_post_stop, NULL);
    return NULL;
}

static void t_post_cross_thread(void)
{
    CHECK_EQ(vg_loop_new(&post_loop), 0);
    pthread_t th;
    pthread_create(&th, NULL, poster, NULL);
    CHECK_EQ(vg_loop_run(post_loop), 0);
    pthread_join(th, NULL);
    CHECK_EQ(posted, 42);
    vg_loop_free(post_loop);
}

/* Two watchers ready in one batch; the first stops (and "frees") the second:
 * the second's callback must not run (loop.h invariant 2). */
static int second_ran;
static vg_io io_a, io_b;
static void on_a(vg_loop *l, vg_io *io, uint32_t ev) { vg_io_stop(l, &io_b); vg_io_stop(l, io); vg_loop_stop(l); }
static void on_b(vg_loop *l, vg_io *io, uint32_t ev) { second_ran = 1; vg_io_stop(l, &io_a); vg_io_stop(l, io); vg_loop_stop(l); }

static void t_io_stop_in_batch(void)
{
    vg_loop *l;
    int pa[2], pb[2];
    CHECK_EQ(vg_loop_new(&l), 0);
    CHECK_EQ(pipe(pa), 0);
    CHECK_EQ(pipe(pb), 0);
    CHECK_EQ(write(pa[1], "a", 1), 1);
    CHECK_EQ(write(pb[1], "b", 1), 1);
    vg_io_init(&io_a, pa[0], on_a, NULL);
    vg_io_init(&io_b, pb[0], on_b, NULL);
    vg_io_start(l, &io_a, EPOLLIN);
    vg_io_start(l, &io_b, EPOLLIN);
    second_ran = 0;
    vg_loop_run(l);
    /* Exactly one of them ran; whichever ran first cancelled the other. */
    CHECK(!io_a.active && !io_b.active);
    vg_loop_free(l);
    close(pa[0]); close(pa[1]); close(pb[0]); close(pb[1]);
}

static void t_time_parse(void)
{
    int64_t t;
    CHECK_EQ(vg_parse_90k("1700000000.5", &t), 0);
    CHECK_EQ(t, 1700000000LL * 90000 + 45000);
    CHECK_EQ(vg_parse_90k("2023-11-14T22:13:20Z", &t), 0);
    CHECK_EQ(t, 1700000000LL * 90000);
    CHECK_EQ(vg_parse_90k("2023-11-14T22:13:20.250Z", &t), 0);
    CHECK_EQ(t, 1700000000LL * 90000 + 22500);
    CHECK(vg_parse_90k("2023-13-14T22:13:20Z", &t) != 0);
    CHECK(vg_parse_90k("abc", &t) != 0);
    CHECK(vg_parse_90k("", &t) != 0);
    char s[40];
    vg_fmt_90k(1700000000LL * 90000 + 22500, s, sizeof s);
    CHECK(strcmp(s, "2023-11-14T22:13:20.250Z") == 0);
}

static void t_redact(void)
{
    char out[128];
    vg_log_redact_url("rtsp://admin:hunter2@10.0.0.5:554/stream", out, sizeof out);
    CHECK(strcmp(out, "rtsp://***@10.0.0.5:554/stream") == 0);
    vg_log_redact_url("rtsp://cam/a@b", out, sizeof out);
    CHECK(strcmp(out, "rtsp://cam/a@b") == 0);
}

/* Name lookups answer on the loop thread; numeric hosts need no thread; a
 * cancelled lookup never calls back (its thread may still be running). */
typedef struct lk {
    vg_loop *loop;
    int calls, rc, family, ticks, pending;
    uint16_t port;
} lk;

static void lk_cb(void *arg, int rc, const struct sockaddr_storage *ss, socklen_t len)
{
    lk *l = arg;
    l->calls++;
    l->rc = rc;
    if (!rc) {
        CHECK(len > 0);
        l->family = ss->ss_family;
        l->port = ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port)
                                           : ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
    }
    if (--l->pending == 0) vg_loop_stop(l->loop);
}

static void lk_never(void *arg, int rc, const struct sockaddr_storage *ss, socklen_t len)
{
    (void)rc; (void)ss; (void)len;
    ((lk *)arg)->calls += 100;
}

static void lk_tick(vg_loop *loop, vg_timer *t)
{
    ((lk *)t->data)->ticks++;
    vg_timer_start(loop, t, 5);
}

static void t_resolve(void)
{
    vg_loop *loop;
    CHECK_EQ(vg_loop_new(&loop), 0);
    lk num = {.loop = loop, .pending = 1}, name = {.loop = loop, .pending = 1}, bad = {.loop = loop, .pending = 1};
    lk gone = {.loop = loop};
    vg_resolve *r1, *r2, *r3, *r4;
    CHECK_EQ(vg_resolve_start(loop, "127.0.0.1", 554, lk_cb, &num, &r1), 0);
    CHECK_EQ(num.calls, 0);   /* never from inside start */
    vg_loop_run(loop);
    vg_loop_free(loop);   /* a stopped loop stays stopped: a fresh one per phase */
    CHECK_EQ(vg_loop_new(&loop), 0);
    name.loop = gone.loop = bad.loop = loop;
    CHECK_EQ(num.calls, 1);
    CHECK_EQ(num.rc, 0);
    CHECK_EQ(num.family, AF_INET);
    CHECK_EQ(num.port, 554);

    CHECK_EQ(vg_resolve_start(loop, "localhost", 8554, lk_cb, &name, &r2), 0);
    CHECK_EQ(vg_resolve_start(loop, "localhost", 1, lk_never, &gone, &r4), 0);
    vg_resolve_cancel(r4);
    vg_timer tick;
    vg_timer_init(&tick, lk_tick, &name);
    vg_timer_start(loop, &tick, 5);
    vg_loop_run(loop);
    vg_timer_stop(loop, &tick);
    CHECK_EQ(name.calls, 1);
    CHECK_EQ(name.rc, 0);
    CHECK(name.family == AF_INET || name.family == AF_INET6);
    CHECK_EQ(name.port, 8554);
    vg_loop_free(loop);
    CHECK_EQ(vg_loop_new(&loop), 0);
    bad.loop = loop;

    /* Not an address and not a name a resolver can answer. */
    CHECK_EQ(vg_resolve_start(loop, "no such host.invalid", 1, lk_cb, &bad, &r3), 0);
    vg_loop_run(loop);
    CHECK_EQ(bad.calls, 1);
    CHECK_EQ(bad.rc, VG_ENOTFOUND);
    char huge[300];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    CHECK_EQ(vg_resolve_start(loop, huge, 1, lk_cb, &bad, &r3), VG_EINVAL);
    usleep(200 * 1000);   /* let the cancelled lookup's thread finish: it must not call back */
    CHECK_EQ(gone.calls, 0);
    vg_loop_free(loop);
}

int main(void)
{
    RUN(t_buf_max);
    RUN(t_timers_order_and_cancel);
    RUN(t_post_cross_thread);
    RUN(t_io_stop_in_batch);
    RUN(t_time_parse);
    RUN(t_redact);
    RUN(t_resolve);
    return vg_test_done();
}
