/* postgres.h - store/postgres's calls beyond store.h (issue 25): the migration, run as the
 * database's owner role, never by the server (which connects as the application role).
 *
 * Built only when libpq is found; see postgres.c's opening comment.
 */
#ifndef SY_STORE_POSTGRES_H
#define SY_STORE_POSTGRES_H

#include "store/store.h"

/* Applies the schema (postgres_schema.h, SY_PG_SCHEMA_VERSION) to the database at
 * `owner_uri` (a postgres:// URI of the role that is to own the tables), in one transaction
 * under an advisory lock, granting `app_role` what the server needs. A database already at
 * that version is left as it is (0); one at another version is -ENOTSUP; a connection or
 * statement failure is -EIO (-EACCES for a privilege), and then nothing was changed. `err`
 * (field "db") never repeats the URI: it may hold a password. */
int sy_store_pg_migrate(const char *owner_uri, const char *app_role, sy_err_t *err);
/* The version sy_store_pg_migrate brings a database to. */
int sy_store_pg_schema_version(void);

/* The backend's table (store_backend.h): sy_store_open's for a PostgreSQL URI. */
extern const struct sy_store_ops sy_store_postgres_ops;

#endif
