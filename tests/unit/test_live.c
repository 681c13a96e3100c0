/* SPDX-License-Identifier: Apache-2.0 */
/* Range parser of the playback API and the live hub's subscribe/close
 * contract (docs/design/live.md). */
#include "core/err.h"
#include "rec/live.h"
#include "vg_test.h"
#include "web/web_int.h"

#include <string.h>

static void t_range_ok(void)
{
    uint64_t off = 0, len = 0;
    CHECK_EQ(vg_range_parse(NULL, 100, &off, &len), 1);
    CHECK_EQ(vg_range_parse("bytes=0-9", 100, &off, &len), 0);
    CHECK(off == 0 && len == 10);
    CHECK_EQ(vg_range_parse("bytes=90-", 100, &off, &len), 0);
    CHECK(off == 90 && len == 10);
    CHECK_EQ(vg_range_parse("bytes=-10", 100, &off, &len), 0);
    CHECK(off == 90 && len == 10);
    CHECK_EQ(vg_range_parse("bytes=-1000", 100, &off, &len), 0);
    CHECK(off == 0 && len == 100);
    CHECK_EQ(vg_range_parse("bytes=50-5000", 100, &off, &len), 0); /* end clamped */
    CHECK(off == 50 && len == 50);
}

static void t_range_bad(void)
{
    uint64_t off, len;
    const char *bad400[] = {"bytes=", "bytes=-", "bytes=a-1", "bytes=1-a", "bytes=5-1", "bytes= 1-2",
                            "bytes=+1-2", "bytes=-5-6", "items=1-2", "bytes=1",
                            "bytes=18446744073709551616-", "bytes=99999999999999999999-1"};
    for (size_t i = 0; i < sizeof bad400 / sizeof *bad400; i++)
        CHECK_EQ(vg_range_parse(bad400[i], 100, &off, &len), VG_EINVAL);
    const char *bad416[] = {"bytes=100-", "bytes=0-1,2-3", "bytes=-0", "bytes=9223372036854775807-"};
    for (size_t i = 0; i < sizeof bad416 / sizeof *bad416; i++)
        CHECK_EQ(vg_range_parse(bad416[i], 100, &off, &len), VG_ETOOBIG);
    CHECK_EQ(vg_range_parse("bytes=0-", 0, &off, &len), VG_ETOOBIG);
    char huge[200];
    memset(huge, '1', sizeof huge - 1);
    memcpy(huge, "bytes=", 6);
    huge[sizeof huge - 1] = 0;
    CHECK_EQ(vg_range_parse(huge, 100, &off, &len), VG_EINVAL);
}

static int ended, states;
static void cb(void *arg, int type, int key, const uint8_t *p, size_t n)
{
    if (type == VG_LIVE_END) ended++;
    if (type == VG_LIVE_STATE) states++;
}

static void t_hub_subscribe_close(void)
{
    vg_live l;
    vg_live_sub a = {.cb = cb}, b = {.cb = cb};
    vg_live_init(&l);
    CHECK(!vg_live_active(&l));
    CHECK_EQ(vg_live_subscribe(&l, &a), 0);
    CHECK_EQ(vg_live_subscribe(&l, &b), 0);
    CHECK(vg_live_active(&l));
    vg_live_state(&l, "offline", "x\"y");   /* not started yet: nothing sent */
    CHECK_EQ(states, 0);
    vg_live_unsubscribe(&l, &a);
    vg_live_unsubscribe(&l, &a);             /* twice: harmless */
    vg_live_close(&l);
    CHECK_EQ(ended, 1);
    CHECK(!vg_live_active(&l));
    CHECK_EQ(vg_live_subscribe(&l, &a), VG_EINVAL);
    vg_live_free(&l);
}

int main(void)
{
    RUN(t_range_ok);
    RUN(t_range_bad);
    RUN(t_hub_subscribe_close);
    return vg_test_done();
}
