/* SPDX-License-Identifier: Apache-2.0 */
/* `vigil operator setup` (the platform's first operator) and `vigil
 * api-routes` (every API route, from the route tables: the tenant-isolation
 * test walks them). docs/cli.md, docs/design/tenancy.md. */
#include "auth/auth.h"
#include "cli/cli_int.h"
#include "core/err.h"
#include "db/db.h"
#include "web/web.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int vg_cmd_api_routes(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: vigil api-routes\n");
        return 2;
    }
    char *js = vg_web_routes_json();
    if (!js) return 1;
    printf("%s\n", js);
    free(js);
    return 0;
}

/* The link goes to this terminal only, never to a log (like the first-start
 * setup link): whoever holds it creates the platform's first operator. */
static int operator_setup(const char *data, const char *origin)
{
    char path[4096], tok[VG_TOKEN_B64_MAX];
    vg_db *db = NULL;
    vg_auth *a = NULL;
    int rc;
    if (mkdir(data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "vigil: cannot create %s: %s\n", data, strerror(errno));
        return 1;
    }
    if (vg_cli_path(path, sizeof path, data, "app.db")) return 2;
    if ((rc = vg_db_open(path, &db)) || (rc = vg_auth_new(db, data, &a))) {
        fprintf(stderr, "vigil: cannot open %s: %s\n", path, vg_strerror(rc));
        vg_db_close(db);
        return 1;
    }
    rc = vg_auth_platform_token_new(a, (int64_t)time(NULL), tok, sizeof tok);
    if (rc == VG_EINVAL)
        fprintf(stderr, "vigil: the platform organization exists; operators invite further operators "
                        "from the operator console\n");
    else if (rc)
        fprintf(stderr, "vigil: cannot make a setup link: %s\n", vg_strerror(rc));
    else
        printf("Open this one-time link to create the platform organization and its first operator\n"
               "(valid 1 hour, single use):\n\n    %s/#setup=%s\n\n", origin, tok);
    sodium_memzero(tok, sizeof tok);
    vg_auth_free(a);
    vg_db_close(db);
    return rc ? 1 : 0;
}

int vg_cmd_operator(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"origin", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    const char *data = NULL, *origin = "https://localhost:8443";
    int ch;
    if (argc < 2 || strcmp(argv[1], "setup") != 0) goto usage;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'd') data = optarg;
        else if (ch == 'o') origin = optarg;
        else goto usage;
    }
    if (!data || optind != argc) goto usage;
    if (strncmp(origin, "https://", 8) != 0 || strlen(origin) > 200 || strchr(origin + 8, '/')) {
        fprintf(stderr, "vigil: --origin must be https://HOST[:PORT]\n");
        return 2;
    }
    if (sodium_init() < 0) return 1;
    return operator_setup(data, origin);
usage:
    fprintf(stderr, "usage: vigil operator setup --data DIR [--origin https://HOST:PORT]\n");
    return 2;
}
