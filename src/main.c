/* SPDX-License-Identifier: Apache-2.0 */
/* vigil entry point: dispatches subcommands (src/cli/). Only wires. */
#include "cli/cli.h"

int main(int argc, char **argv) { return vg_cli_main(argc, argv); }
