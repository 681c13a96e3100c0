/* SPDX-License-Identifier: Apache-2.0 */
/* Core: buffers with a maximum, the loop's timers/posts/watchers, clocks. */
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "vg_test.h"

#include <pthread.h>
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

int main(void)
{
    RUN(t_buf_max);
    RUN(t_timers_order_and_cancel);
    RUN(t_post_cross_thread);
    RUN(t_io_stop_in_batch);
    RUN(t_time_parse);
    RUN(t_redact);
    return vg_test_done();
}
