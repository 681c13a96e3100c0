/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal unit-test harness: each tests/unit/test_*.c is one binary, run
 * under ASan+UBSan by `make unit`. A failing CHECK reports and marks the
 * test failed; the binary exits non-zero if any test failed.
 *
 *   static void t_parse_ok(void) { CHECK(parse("x") == 0); CHECK_EQ(n, 3); }
 *   int main(void) { RUN(t_parse_ok); return vg_test_done(); }
 */
#ifndef VG_TEST_H
#define VG_TEST_H

#include <stdio.h>
#include <string.h>

static int vg_t_failed_checks, vg_t_pass, vg_t_fail;
static const char *vg_t_name;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "  %s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,    \
                    vg_t_name, #cond);                                                \
            vg_t_failed_checks++;                                                     \
        }                                                                             \
    } while (0)

#define CHECK_EQ(a, b)                                                                \
    do {                                                                              \
        long long vg_a_ = (long long)(a), vg_b_ = (long long)(b);                     \
        if (vg_a_ != vg_b_) {                                                         \
            fprintf(stderr, "  %s:%d: %s: %s == %s failed (%lld != %lld)\n", __FILE__, \
                    __LINE__, vg_t_name, #a, #b, vg_a_, vg_b_);                       \
            vg_t_failed_checks++;                                                     \
        }                                                                             \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define RUN(fn)                                                                       \
    do {                                                                              \
        int vg_before_ = vg_t_failed_checks;                                          \
        vg_t_name = #fn;                                                              \
        fn();                                                                         \
        if (vg_t_failed_checks == vg_before_) {                                       \
            vg_t_pass++;                                                              \
            fprintf(stderr, "ok   %s\n", #fn);                                        \
        } else {                                                                      \
            vg_t_fail++;                                                              \
            fprintf(stderr, "FAIL %s\n", #fn);                                        \
        }                                                                             \
    } while (0)

static inline int vg_test_done(void)
{
    fprintf(stderr, "%d passed, %d failed\n", vg_t_pass, vg_t_fail);
    return vg_t_fail ? 1 : 0;
}

#endif
