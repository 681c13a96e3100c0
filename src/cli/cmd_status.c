/* SPDX-License-Identifier: Apache-2.0 */
/* `vigil status`: what is recorded, readable while a recorder runs. */
#include "cli/cli_int.h"
#include "core/clock.h"
#include "core/err.h"
#include "store/store.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_human(const char *json)
{
    json_error_t e;
    json_t *root = json_loads(json, 0, &e);
    json_t *cams = root ? json_object_get(root, "cameras") : NULL;
    if (!json_is_array(cams)) {
        printf("%s\n", json);
        json_decref(root);
        return;
    }
    printf("%-16s %-10s %9s %10s %12s %5s  %s\n", "camera", "state", "segments", "fragments",
           "bytes", "gaps", "last recorded");
    size_t i;
    json_t *c;
    json_array_foreach(cams, i, c)
    {
        char last[40] = "-";
        json_int_t l = json_integer_value(json_object_get(c, "last90k"));
        if (l > 0)
            vg_fmt_90k((int64_t)l, last, sizeof last);
        const char *detail = json_string_value(json_object_get(c, "detail"));
        printf("%-16s %-10s %9lld %10lld %12lld %5lld  %s%s%s\n",
               json_string_value(json_object_get(c, "name")) ?: "?",
               json_string_value(json_object_get(c, "state")) ?: "?",
               (long long)json_integer_value(json_object_get(c, "segments")),
               (long long)json_integer_value(json_object_get(c, "fragments")),
               (long long)json_integer_value(json_object_get(c, "bytes")),
               (long long)json_integer_value(json_object_get(c, "gaps")), last,
               detail && *detail ? "  " : "", detail ? detail : "");
    }
    json_decref(root);
}

int vg_cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"json", no_argument, 0, 'j'}, {0, 0, 0, 0}};
    const char *data = NULL;
    int as_json = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'd')
            data = optarg;
        else if (ch == 'j')
            as_json = 1;
        else
            goto usage;
    }
    if (!data || optind != argc)
        goto usage;
    char *json = NULL;
    int rc = vg_store_status_json(data, &json);
    if (rc) {
        fprintf(stderr, "vigil status: %s: %s\n", data, vg_strerror(rc));
        return 1;
    }
    if (as_json)
        printf("%s\n", json);
    else
        print_human(json);
    free(json);
    return 0;
usage:
    fprintf(stderr, "usage: vigil status --data DIR [--json]\n");
    return 2;
}
