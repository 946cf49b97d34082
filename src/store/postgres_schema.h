/* postgres_schema.h - the PostgreSQL schema of store/postgres (issue 25), as SQL text.
 *
 * The same tables and columns as the SQLite store at its migration 14 (src/store/sqlite.c),
 * written once as a consolidated schema: a new PostgreSQL database starts at
 * SY_PG_SCHEMA_VERSION, and later versions will be added one by one after it, as SQLite's
 * are. Beyond SQLite's shape, every table that holds a workspace's data carries its own
 * `workspace_id` and is held by row-level security to the workspace of the transaction
 * (`SET LOCAL app.workspace_id`); postgres_schema.c says which tables are not, and why.
 *
 * How to apply it (what tests/pg_schema_apply.c does, and what the store will do): connected
 * as the role that is to own the tables, in one transaction, first
 *     SELECT set_config('switchyard.app_role', <the application role's name>, true)
 * (the statements grant that role its rights: its name is a parameter, never pasted into
 * SQL text), then every statement of sy_pg_schema in order, then
 *     INSERT INTO schema_version (version) VALUES (SY_PG_SCHEMA_VERSION).
 * The application role then connects without owning anything.
 *
 * Pure data: no I/O, no libpq. Constant, so safe from any thread.
 */
#ifndef SY_STORE_POSTGRES_SCHEMA_H
#define SY_STORE_POSTGRES_SCHEMA_H

#include <stddef.h>

/* The schema version sy_pg_schema makes: SQLite's number of migrations it matches. */
#define SY_PG_SCHEMA_VERSION 16

/* A database made at an earlier version (from SY_PG_UPGRADE_FROM on) is brought to
 * SY_PG_SCHEMA_VERSION by sy_pg_upgrades[v - SY_PG_UPGRADE_FROM], then the next ones, in
 * one transaction, as SQLite's migrations after it; sy_pg_schema ends with the same
 * statements, so that a new database and an upgraded one are the same. */
#define SY_PG_UPGRADE_FROM 14
extern const char *const sy_pg_upgrades[];
extern const size_t sy_pg_upgrade_count;

/* The statements that make a new database at SY_PG_SCHEMA_VERSION, in order (each entry
 * may hold several commands, separated by semicolons, as libpq's simple query runs them). */
extern const char *const sy_pg_schema[];
/* How many entries sy_pg_schema has. */
extern const size_t sy_pg_schema_count;

#endif
