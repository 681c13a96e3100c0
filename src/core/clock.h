/* SPDX-License-Identifier: Apache-2.0 */
/* Clocks. Timers use the monotonic clock only. Media time everywhere in
 * vigil (index, API, envelopes) is int64 in 90 kHz units since the Unix
 * epoch ("t90k"); camera RTP clocks are only mapped into it (docs/design/time.md). */
#ifndef VG_CLOCK_H
#define VG_CLOCK_H

#include <stdint.h>

#define VG_HZ 90000LL

uint64_t vg_mono_ms(void);
uint64_t vg_mono_us(void);
/* Wall clock now, in 90 kHz units since the epoch. */
int64_t vg_wall_90k(void);
/* Format t90k as ISO 8601 UTC with milliseconds into out (>= 32 bytes). */
void vg_fmt_90k(int64_t t90k, char *out, unsigned outsz);
/* Parse "unix seconds[.frac]" or "YYYY-MM-DDTHH:MM:SS[.fff]Z"; 0 on success. */
int vg_parse_90k(const char *s, int64_t *out);

#endif
