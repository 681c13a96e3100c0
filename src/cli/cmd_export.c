/* SPDX-License-Identifier: Apache-2.0 */
/* `vigil export` and `vigil fsck`: the owner's tools over the store. */
#include "cli/cli_int.h"
#include "core/clock.h"
#include "core/err.h"
#include "crypt/crypt.h"
#include "store/export.h"
#include "store/store.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int vg_cmd_export(int argc, char **argv)
{
    enum { O_DATA = 1, O_KEY, O_CAM, O_FROM, O_TO, O_OUT };
    static const struct option opts[] = {
        {"data", required_argument, 0, O_DATA}, {"key", required_argument, 0, O_KEY},
        {"camera", required_argument, 0, O_CAM}, {"from", required_argument, 0, O_FROM},
        {"to", required_argument, 0, O_TO}, {"out", required_argument, 0, O_OUT}, {0, 0, 0, 0}};
    const char *data = NULL, *key = NULL, *cam = NULL, *out = NULL;
    int64_t from = 0, to = INT64_MAX;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_DATA: data = optarg; break;
        case O_KEY: key = optarg; break;
        case O_CAM: cam = optarg; break;
        case O_OUT: out = optarg; break;
        case O_FROM:
            if (vg_parse_90k(optarg, &from)) {
                fprintf(stderr, "vigil export: bad --from time '%s'\n", optarg);
                return 2;
            }
            break;
        case O_TO:
            if (vg_parse_90k(optarg, &to)) {
                fprintf(stderr, "vigil export: bad --to time '%s'\n", optarg);
                return 2;
            }
            break;
        default: goto usage;
        }
    }
    if (!data || !key || !cam || !out || optind != argc)
        goto usage;
    if (sodium_init() < 0)
        return 1;
    uint8_t pk[VG_PK_LEN], sk[VG_SK_LEN];
    int rc = vg_key_read_secret(key, pk, sk);
    if (rc) {
        fprintf(stderr, "vigil export: cannot read secret key %s: %s\n", key, vg_strerror(rc));
        return 1;
    }
    vg_export_stats st = {0};
    rc = vg_export(data, cam, pk, sk, from, to, out, &st);
    sodium_memzero(sk, sizeof sk);
    if (rc) {
        const char *why = rc == VG_ENOTFOUND  ? "nothing recorded for that camera and range"
                          : rc == VG_ECRYPTO ? "footage failed verification (wrong key, or "
                                               "tampered/corrupt segment); nothing written"
                                             : vg_strerror(rc);
        fprintf(stderr, "vigil export: %s\n", why);
        return 1;
    }
    char a[40], b[40];
    vg_fmt_90k(st.first90k, a, sizeof a);
    vg_fmt_90k(st.end90k, b, sizeof b);
    printf("frames=%llu audio_frames=%llu duration=%.3f runs=%u from=%s to=%s first90k=%lld "
           "end90k=%lld\n",
           (unsigned long long)st.frames, (unsigned long long)st.audio_frames,
           (double)(st.end90k - st.first90k) / 90000.0, st.runs, a, b, (long long)st.first90k,
           (long long)st.end90k);
    return 0;
usage:
    fprintf(stderr, "usage: vigil export --data DIR --key FILE --camera NAME [--from T] [--to T] "
                    "--out FILE.mp4\n");
    return 2;
}

int vg_cmd_fsck(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"repair", no_argument, 0, 'r'}, {0, 0, 0, 0}};
    const char *data = NULL;
    int repair = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'd')
            data = optarg;
        else if (ch == 'r')
            repair = 1;
        else
            goto usage;
    }
    if (!data || optind != argc)
        goto usage;
    if (sodium_init() < 0)
        return 1;
    int rc = vg_store_fsck(data, repair);
    if (rc) {
        fprintf(stderr, "vigil fsck: %s: %s\n", data, vg_strerror(rc));
        return 1;
    }
    printf("fsck: ok\n");
    return 0;
usage:
    fprintf(stderr, "usage: vigil fsck --data DIR [--repair]\n");
    return 2;
}
