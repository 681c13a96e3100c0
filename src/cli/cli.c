/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/cli.h"

#include <stdio.h>

int vg_cli_main(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "vigil: not yet\n");
    return 2;
}
