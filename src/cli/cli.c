/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommand dispatch and shared argument helpers (docs/cli.md). */
#include "cli/cli.h"
#include "cli/cli_int.h"
#include "core/err.h"
#include "web/web.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: vigil <command> [options]\n\n"
               "  keys new --out FILE          make a camera footage key pair\n"
               "  run --data DIR [options]     record cameras (the demo camera if none)\n"
               "  status --data DIR [--json]   what is recorded\n"
               "  export --data DIR --key FILE --camera NAME [--from T] [--to T] --out FILE.mp4\n"
               "  fsck --data DIR [--repair]   check the index, files and signatures\n"
               "  audit verify --data DIR      verify every organization's audit chain\n"
               "  serve --data DIR [--listen ADDR:PORT]  the web app alone (docs/api.md)\n"
               "  operator setup --data DIR    one-time link for the platform's first operator\n"
               "  api-routes                   every API route and the role it needs (JSON)\n\n"
               "See docs/cli.md.\n");
}

int vg_cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return VG_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return VG_EINVAL;
    *out = v;
    return 0;
}

int vg_cli_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return VG_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return VG_EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case 0: break;
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    case 'T': case 't': shift = 40; end++; break;
    default: return VG_EINVAL;
    }
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return VG_EINVAL;
    *out = (uint64_t)v << shift;
    return 0;
}

int vg_cli_path(char *out, size_t n, const char *dir, const char *name)
{
    int m = snprintf(out, n, "%s/%s", dir, name);
    return m < 0 || (size_t)m >= n ? VG_ETOOBIG : 0;
}

int vg_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "keys"))
        return vg_cmd_keys(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return vg_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "status"))
        return vg_cmd_status(argc - 1, argv + 1);
    if (!strcmp(cmd, "export"))
        return vg_cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "fsck"))
        return vg_cmd_fsck(argc - 1, argv + 1);
    if (!strcmp(cmd, "audit"))
        return vg_cmd_audit(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve"))
        return vg_cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "operator"))
        return vg_cmd_operator(argc - 1, argv + 1);
    if (!strcmp(cmd, "api-routes"))
        return vg_cmd_api_routes(argc - 1, argv + 1);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "vigil: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
