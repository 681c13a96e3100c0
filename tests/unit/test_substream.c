/* SPDX-License-Identifier: Apache-2.0 */
/* Camera substreams (rec/substream.h): names, the demo's substream clip, and
 * a main stream and its substream added, re-keyed and removed as a pair. */
#include "vg_test.h"

#include "core/err.h"
#include "rec/recorder.h"
#include "rec/substream.h"
#include "store/store.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void t_names(void)
{
    char out[64];
    CHECK_EQ(vg_sub_name("cam-7", out), 0);
    CHECK(strcmp(out, "cam-7.sub") == 0);
    CHECK_EQ(vg_sub_name("demo", out), 0);
    CHECK(strcmp(out, "demo.sub") == 0);
    char longest[64];
    memset(longest, 'a', 59);
    longest[59] = 0;                 /* 59 + ".sub" = 63: the longest camera name */
    CHECK_EQ(vg_sub_name(longest, out), 0);
    longest[59] = 'a';
    longest[60] = 0;                 /* 64: too long */
    CHECK_EQ(vg_sub_name(longest, out), VG_EINVAL);
    CHECK_EQ(out[0], 0);
    CHECK_EQ(vg_sub_name("bad name", out), VG_EINVAL);
}

static void t_demo_clip(void)
{
    char out[256];
    /* Unit tests run in tests/unit: the bundled clips are two levels up. */
    CHECK_EQ(vg_sub_demo_clip("../../assets/demo.mp4", out, sizeof out), 0);
    CHECK(strcmp(out, "../../assets/demo-sub.mp4") == 0);
    CHECK_EQ(vg_sub_demo_clip("../../assets/none.mp4", out, sizeof out), VG_ENOTFOUND);
    CHECK_EQ(vg_sub_demo_clip("../../assets/demo.mkv", out, sizeof out), VG_ENOTFOUND);
    CHECK_EQ(vg_sub_demo_clip(".mp4", out, sizeof out), VG_ENOTFOUND);
    CHECK_EQ(vg_sub_demo_clip("../../assets/demo.mp4", out, 10), VG_ENOTFOUND);   /* does not fit */
}

static void t_pair(void)
{
    char dir[] = "/tmp/vg_sub_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    vg_store_opts so = {.dir = dir, .sync_interval_ms = 50};
    vg_store *st = NULL;
    CHECK_EQ(vg_store_open(&so, &st), 0);
    uint8_t pk[32] = {1}, pk2[32] = {2};
    vg_recorder_opts ro = {.store = st, .threads = 1, .footage_pk = pk};
    vg_recorder *r = NULL;
    CHECK_EQ(vg_recorder_new(&ro, &r), 0);
    vg_camera_cfg main = {.name = "cam-3", .file = "../../assets/demo.mp4", .footage_pk = pk2,
                          .retain_seconds = 3600};
    CHECK_EQ(vg_recorder_add(r, &main), 0);
    CHECK_EQ(vg_sub_add(r, &main, NULL, NULL), VG_EINVAL);         /* no source */
    CHECK_EQ(vg_sub_add(r, &main, NULL, "../../assets/demo-sub.mp4"), 0);
    CHECK(vg_recorder_has(r, "cam-3.sub"));
    /* Adding again replaces it (an edited camera), never a duplicate error. */
    CHECK_EQ(vg_sub_add(r, &main, "rtsp://127.0.0.1:9/sub", NULL), 0);
    CHECK(vg_recorder_has(r, "cam-3.sub"));
    vg_sub_set_key(r, "cam-3", pk);
    vg_sub_set_key(r, "cam-9", pk);                                 /* none: no-op */
    vg_sub_remove(r, "cam-3");
    CHECK(!vg_recorder_has(r, "cam-3.sub"));
    CHECK(vg_recorder_has(r, "cam-3"));
    vg_sub_remove(r, "cam-3");                                      /* twice: no-op */
    vg_recorder_free(r);
    vg_store_close(st);
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    waitpid(p, NULL, 0);
}

int main(void)
{
    RUN(t_names);
    RUN(t_demo_clip);
    RUN(t_pair);
    return vg_test_done();
}
