/* SPDX-License-Identifier: Apache-2.0 */
/* `vigil keys new --out FILE`: a camera footage key pair. The secret half
 * goes to FILE (0600, never overwritten) for the organization's owner; the
 * recorder only ever gets FILE.pub. */
#include "cli/cli_int.h"
#include "core/err.h"
#include "crypt/crypt.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int vg_cmd_keys(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "new") != 0) {
        fprintf(stderr, "usage: vigil keys new --out FILE\n");
        return 2;
    }
    static const struct option opts[] = {{"out", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (ch != 'o') {
            fprintf(stderr, "usage: vigil keys new --out FILE\n");
            return 2;
        }
        out = optarg;
    }
    if (!out) {
        fprintf(stderr, "vigil keys new: --out FILE is required\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    uint8_t pk[VG_PK_LEN], sk[VG_SK_LEN];
    char pubpath[4096], fp[64];
    int rc = vg_footage_keypair(pk, sk);
    if (!rc && snprintf(pubpath, sizeof pubpath, "%s.pub", out) >= (int)sizeof pubpath)
        rc = VG_ETOOBIG;
    if (!rc && (rc = vg_key_write_secret(out, pk, sk)) != 0)
        fprintf(stderr, "vigil keys new: cannot create %s: %s (it is never overwritten)\n", out,
                vg_strerror(rc));
    else if (!rc && (rc = vg_key_write_public(pubpath, pk)) != 0)
        fprintf(stderr, "vigil keys new: cannot write %s: %s\n", pubpath, vg_strerror(rc));
    sodium_memzero(sk, sizeof sk);
    if (rc)
        return 1;
    vg_key_fingerprint(pk, fp, sizeof fp);
    printf("secret key: %s (keep it safe: it decrypts this camera's footage)\n"
           "public key: %s (give this one to the recorder: --camera-key)\n"
           "fingerprint: %s\n",
           out, pubpath, fp);
    return 0;
}
