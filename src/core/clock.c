/* SPDX-License-Identifier: Apache-2.0 */
#include "core/clock.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t vg_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t vg_mono_ms(void) { return vg_mono_us() / 1000u; }

int64_t vg_wall_90k(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * VG_HZ + (int64_t)ts.tv_nsec * 9 / 100000;
}

void vg_fmt_90k(int64_t t, char *out, unsigned outsz)
{
    int64_t sec = t >= 0 ? t / VG_HZ : -((-t + VG_HZ - 1) / VG_HZ);
    int64_t ms = (t - sec * VG_HZ) * 1000 / VG_HZ;
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}

int vg_parse_90k(const char *s, int64_t *out)
{
    if (!s || !*s)
        return VG_EINVAL;
    if (strchr(s, 'T')) {
        struct tm tm = {0};
        int y, mo, d, h, mi, sec, ms = 0;
        char z = 0;
        int n = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &sec, &ms, &z);
        if (n < 7) {
            ms = 0;
            n = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &z);
            if (n != 7 || z != 'Z')
                return VG_EINVAL;
        } else if (n != 8 || z != 'Z') {
            return VG_EINVAL;
        }
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || ms < 0)
            return VG_EINVAL;
        tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d;
        tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = sec;
        *out = (int64_t)timegm(&tm) * VG_HZ + (int64_t)ms * 90;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < 0 || v > 1e11)
        return VG_EINVAL;
    *out = (int64_t)(v * (double)VG_HZ);
    return 0;
}
