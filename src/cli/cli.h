/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommands of the vigil binary (docs/cli.md). */
#ifndef VG_CLI_H
#define VG_CLI_H

int vg_cli_main(int argc, char **argv);

#endif
