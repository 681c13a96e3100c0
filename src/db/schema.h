/* SPDX-License-Identifier: Apache-2.0 */
/* The app database schema (SQLite dialect), applied by vg_db_open. */
#ifndef VG_DB_SCHEMA_H
#define VG_DB_SCHEMA_H

extern const char vg_db_schema_sql[];

extern const char vg_db_schema_v2_sql[];
extern const char vg_db_schema_v3_sql[];
extern const char vg_db_schema_v4_sql[];
extern const char vg_db_schema_v5_sql[];
extern const char vg_db_schema_v8_sql[];
extern const char vg_db_schema_v6_sql[];
extern const char vg_db_schema_v9_sql[];
extern const char vg_db_schema_v7_sql[];

#endif
