/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommand entry points and helpers shared by them. */
#ifndef VG_CLI_INT_H
#define VG_CLI_INT_H

#include <stddef.h>
#include <stdint.h>

int vg_cmd_keys(int argc, char **argv);
int vg_cmd_run(int argc, char **argv);
int vg_cmd_status(int argc, char **argv);
int vg_cmd_export(int argc, char **argv);
int vg_cmd_fsck(int argc, char **argv);
int vg_cmd_audit(int argc, char **argv);
int vg_cmd_operator(int argc, char **argv);
int vg_cmd_api_routes(int argc, char **argv);

/* "123", "10K", "5M", "2G" -> bytes; 0 on success. */
int vg_cli_parse_size(const char *s, uint64_t *out);
/* Parse a non-negative decimal integer in [min, max]. */
int vg_cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* dir + "/" + name into out; VG_ETOOBIG if it does not fit. */
int vg_cli_path(char *out, size_t n, const char *dir, const char *name);

#endif
