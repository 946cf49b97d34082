/* pg_store_check.c - drives store/postgres (issue 25) through store.h against a real
 * PostgreSQL, for tests/integration/pg_store.sh, which checks what it prints.
 *
 *   pg_store_check migrate OWNER_URI APP_ROLE   sy_store_pg_migrate; "migrated"
 *   pg_store_check open URI                     sy_store_open; "version N" (its error else)
 *   pg_store_check tokens APP_URI               the two-workspace scenario below
 *   pg_store_check appenders APP_URI            concurrent appends, below
 *
 * `tokens`, as the application role: creates workspaces one and two and a token in each
 * (one in sy_store_begin's transaction, one in the call's own), finds each by its hash
 * with no workspace set (the SECURITY DEFINER path), lists each workspace's tokens, tries
 * to revoke two's token as workspace one, then on a plain libpq connection of the same role
 * counts two's token under no setting, workspace one's and workspace two's. One line per
 * fact; exit 1 on any failed call (its message on stderr).
 *
 * `appenders`, as the application role: APPENDERS threads, each on a store of its own (as
 * many nodes would be), append BATCHES batches of BATCH events of one experiment at once,
 * their ids drawn from one pool of IDS that every thread shares (each id sent by several
 * threads, some twice in one batch; one event in ten without an id), every fifth batch
 * rolled back. Then it prints what the threads were told landed (committed batches only)
 * against the rows in the log, counted on a plain connection: the log's lock and the
 * probe for duplicates (postgres_events.c) must keep every id once and land every event
 * they said landed, with no append refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres.h"
#include "store/store.h"

static int fail(const char *what, const sy_err_t *err)
{
    fprintf(stderr, "pg_store_check: %s: %d %s\n", what, err->code, err->msg);
    return 1;
}

struct seen {
    int n;              /* tokens seen */
    int64_t ws;         /* the last one's workspace */
    int64_t id;         /* the last one's id */
    int64_t revoked_ms; /* the last one's */
    char role[16];      /* the last one's role */
};

static int saw(void *arg, const sy_store_token_t *t)
{
    struct seen *s = arg;
    s->n++;
    s->ws = t->workspace;
    s->id = t->id;
    s->revoked_ms = t->revoked_ms;
    snprintf(s->role, sizeof(s->role), "%s", t->role);
    return 0;
}

/* count(*) of tokens with `hash` as the app role, workspace `ws` set (none for ws < 0). */
static int64_t raw_count(PGconn *db, int64_t ws, const char *hash)
{
    char w[24];
    snprintf(w, sizeof(w), "%" PRId64, ws);
    const char *pw[] = {w}, *ph[] = {hash};
    int64_t n = -1;
    PQclear(PQexec(db, "BEGIN"));
    if (ws >= 0)
        PQclear(PQexecParams(db, "SELECT set_config('app.workspace_id', $1, true)", 1, NULL, pw,
                             NULL, NULL, 0));
    PGresult *r =
        PQexecParams(db, "SELECT count(*) FROM tokens WHERE hash = $1", 1, NULL, ph, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        fprintf(stderr, "pg_store_check: count: %s", PQerrorMessage(db));
    PQclear(r);
    PQclear(PQexec(db, "ROLLBACK"));
    return n;
}

static int tokens(const char *uri)
{
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    int64_t one = 0, two = 0, t1 = 0, t2 = 0;
    if (sy_store_open(&s, uri, &err) < 0)
        return fail("open", &err);
    int rc = 1;
    if (sy_store_workspace_create(s, "one", 1000, &one, &err) < 0 ||
        sy_store_workspace_create(s, "two", 1000, &two, &err) < 0) {
        fail("workspace_create", &err);
        goto out_close;
    }
    printf("workspaces %" PRId64 " %" PRId64 "\n", one, two);
    sy_store_token_t a = {.workspace = one,
                          .name = "a",
                          .role = "admin",
                          .hash = "hash-one",
                          .prefix = "sy_1",
                          .created_ms = 1000};
    sy_store_token_t b = {.workspace = two,
                          .name = "b",
                          .role = "viewer",
                          .hash = "hash-two",
                          .prefix = "sy_2",
                          .created_ms = 1000};
    if (sy_store_begin(s, &err) < 0 || sy_store_token_create(s, &a, &t1, &err) < 0 ||
        sy_store_commit(s, &err) < 0) {
        fail("token_create in a transaction", &err);
        goto out_close;
    }
    if (sy_store_token_create(s, &b, &t2, &err) < 0) {
        fail("token_create on its own", &err);
        goto out_close;
    }
    printf("tokens %" PRId64 " %" PRId64 "\n", t1, t2);
    struct seen h1 = {0}, h2 = {0}, none = {0};
    if (sy_store_token_by_hash(s, "hash-one", saw, &h1, &err) < 0 ||
        sy_store_token_by_hash(s, "hash-two", saw, &h2, &err) < 0 ||
        sy_store_token_by_hash(s, "hash-none", saw, &none, &err) < 0) {
        fail("token_by_hash", &err);
        goto out_close;
    }
    printf("by_hash one: %d ws %s role %s\n", h1.n, h1.ws == one ? "one" : "other", h1.role);
    printf("by_hash two: %d ws %s role %s\n", h2.n, h2.ws == two ? "two" : "other", h2.role);
    printf("by_hash none: %d\n", none.n);
    struct seen l1 = {0}, l2 = {0}, all = {0};
    if (sy_store_token_list(s, one, saw, &l1, &err) < 0 ||
        sy_store_token_list(s, two, saw, &l2, &err) < 0 ||
        sy_store_token_list(s, -1, saw, &all, &err) < 0) {
        fail("token_list", &err);
        goto out_close;
    }
    printf("list one: %d, last %s\n", l1.n, l1.id == t1 ? "its own" : "another's");
    printf("list two: %d, last %s\n", l2.n, l2.id == t2 ? "its own" : "another's");
    printf("list all: %d\n", all.n);
    sy_err_t rerr = {0};
    int revoked = sy_store_token_revoke(s, one, t2, 2000, &rerr);
    printf("revoke two's token as one: %s\n", revoked == -ENOENT ? "ENOENT" : "other");
    struct seen after = {0};
    if (sy_store_token_by_hash(s, "hash-two", saw, &after, &err) < 0) {
        fail("token_by_hash after", &err);
        goto out_close;
    }
    printf("two's token revoked_ms still 0: %s\n",
           after.n == 1 && after.revoked_ms == 0 ? "yes" : "no");
    /* A transaction one of whose statements failed (a hash taken) does not commit. */
    sy_store_token_t dup = {.workspace = one,
                            .name = "dup",
                            .role = "admin",
                            .hash = "hash-one",
                            .prefix = "sy_3",
                            .created_ms = 1000};
    sy_err_t derr = {0}, cerr = {0};
    int64_t tdup = 0;
    int drc = sy_store_begin(s, &err);
    if (drc < 0) {
        fail("begin", &err);
        goto out_close;
    }
    drc = sy_store_token_create(s, &dup, &tdup, &derr);
    int crc = sy_store_commit(s, &cerr);
    printf("duplicate hash: %s, its commit: %s\n", drc == -EEXIST ? "EEXIST" : "other",
           crc == -EIO ? "EIO" : "other");

    PGconn *db = PQconnectdb(uri);
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "pg_store_check: connect: %s", PQerrorMessage(db));
        PQfinish(db);
        goto out_close;
    }
    printf("raw two's token, no workspace: %" PRId64 "\n", raw_count(db, -1, "hash-two"));
    printf("raw two's token, workspace one: %" PRId64 "\n", raw_count(db, one, "hash-two"));
    printf("raw two's token, workspace two: %" PRId64 "\n", raw_count(db, two, "hash-two"));
    PQfinish(db);
    rc = 0;
out_close:
    sy_store_close(s);
    return rc;
}

enum { APPENDERS = 4, BATCHES = 25, BATCH = 400, IDS = 6000 };

struct appender {
    const char *uri;
    int64_t ws, experiment;
    int k;                /* its index */
    int64_t landed, bare; /* events landed in committed batches; of them without an id */
    int64_t out_of_order; /* places of a batch not growing with its events */
    int failed;           /* calls that failed */
    char error[256];      /* the first one's message */
};

static void *append_all(void *arg)
{
    struct appender *a = arg;
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    if (sy_store_open(&s, a->uri, &err) < 0) {
        a->failed++;
        snprintf(a->error, sizeof(a->error), "open: %s", err.msg);
        return NULL;
    }
    sy_store_event_t ev[BATCH];
    int64_t seq[BATCH];
    char(*id)[16] = calloc(BATCH, sizeof(*id)), (*unit)[16] = calloc(BATCH, sizeof(*unit));
    for (int b = 0; id && unit && b < BATCHES; b++) {
        for (int i = 0; i < BATCH; i++) {
            /* threads walk the pool from different starts at different strides: each id
             * meets several of them; every 50th event repeats the one before it */
            int n = (a->k * 1500 + b * (BATCH - 37 * a->k) + i - (i % 50 == 49)) % IDS;
            snprintf(id[i], sizeof(id[i]), "e%d", n);
            snprintf(unit[i], sizeof(unit[i]), "u%d", n);
            bool bare = (i + b + a->k) % 10 == 0;
            ev[i] = (sy_store_event_t){.workspace = a->ws,
                                       .experiment = a->experiment,
                                       .id = bare ? NULL : id[i],
                                       .id_len = bare ? 0 : strlen(id[i]),
                                       .kind = "exposure",
                                       .unit = unit[i],
                                       .unit_len = strlen(unit[i]),
                                       .variant = "a",
                                       .variant_len = 1,
                                       .success = -1,
                                       .at_ms = 1000 + b};
        }
        bool keep = b % 5 != 4;
        if (sy_store_begin(s, &err) < 0 || sy_store_event_add_many(s, ev, BATCH, seq, &err) < 0 ||
            (keep ? sy_store_commit(s, &err) : (sy_store_rollback(s), 0)) < 0) {
            if (!a->failed++)
                snprintf(a->error, sizeof(a->error), "batch %d: %s", b, err.msg);
            continue;
        }
        int64_t last = 0;
        for (int i = 0; keep && i < BATCH; i++) {
            if (!seq[i])
                continue;
            a->out_of_order += seq[i] <= last;
            last = seq[i];
            a->landed++;
            a->bare += ev[i].id == NULL;
        }
    }
    free(id);
    free(unit);
    sy_store_close(s);
    return NULL;
}

/* One number a plain connection of the app role reads under workspace `ws`; -1 on error. */
static int64_t raw_number(PGconn *db, int64_t ws, const char *sql)
{
    char set[64];
    snprintf(set, sizeof(set), "SELECT set_config('app.workspace_id', '%" PRId64 "', false)", ws);
    PQclear(PQexec(db, set));
    PGresult *r = PQexec(db, sql);
    int64_t n = PQresultStatus(r) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return n;
}

static int appenders(const char *uri)
{
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    int64_t ws = 0;
    if (sy_store_open(&s, uri, &err) < 0)
        return fail("open", &err);
    int rc = sy_store_workspace_create(s, "appenders", 1000, &ws, &err);
    sy_store_close(s);
    if (rc < 0)
        return fail("workspace_create", &err);
    struct appender a[APPENDERS];
    pthread_t t[APPENDERS];
    for (int k = 0; k < APPENDERS; k++) {
        a[k] = (struct appender){.uri = uri, .ws = ws, .experiment = 77, .k = k};
        if (pthread_create(&t[k], NULL, append_all, &a[k]) != 0) {
            fprintf(stderr, "pg_store_check: pthread_create failed\n");
            return 1;
        }
    }
    int64_t landed = 0, bare = 0, disorder = 0;
    int failed = 0;
    for (int k = 0; k < APPENDERS; k++) {
        pthread_join(t[k], NULL);
        landed += a[k].landed;
        bare += a[k].bare;
        disorder += a[k].out_of_order;
        failed += a[k].failed;
        if (a[k].failed)
            fprintf(stderr, "pg_store_check: appender %d: %s\n", k, a[k].error);
    }
    PGconn *db = PQconnectdb(uri);
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "pg_store_check: connect: %s", PQerrorMessage(db));
        PQfinish(db);
        return 1;
    }
    printf("appenders %d, failed calls %d\n", APPENDERS, failed);
    printf("landed %" PRId64 ", rows %" PRId64 "\n", landed,
           raw_number(db, ws, "SELECT count(*) FROM events"));
    printf("without an id: landed %" PRId64 ", rows %" PRId64 "\n", bare,
           raw_number(db, ws, "SELECT count(*) FROM events WHERE event_id IS NULL"));
    printf("ids in the log %" PRId64 ", distinct %" PRId64 "\n",
           raw_number(db, ws, "SELECT count(event_id) FROM events"),
           raw_number(db, ws, "SELECT count(DISTINCT event_id) FROM events"));
    printf("places out of order in a batch: %" PRId64 "\n", disorder);
    /* The lock held across a rollback (the writer's batch written again one by one): another
     * connection cannot take it until the store lets it go. */
    int64_t head = 0;
    int held = -1, freed = -1;
    if (sy_store_open(&s, uri, &err) == 0) {
        if (sy_store_begin(s, &err) == 0 && sy_store_log_lock(s, &head, NULL, &err) == 0 &&
            sy_store_log_hold(s, &head, &err) == 0) {
            sy_store_rollback(s);
            held = raw_number(db, ws, "SELECT pg_try_advisory_xact_lock(2026, 2)::int") == 0;
            sy_store_log_unlock(s);
            freed = raw_number(db, ws, "SELECT pg_try_advisory_xact_lock(2026, 2)::int") == 1;
        }
        sy_store_close(s);
    }
    printf("the log's lock held across a rollback: %s, free after the unlock: %s\n",
           held == 1 ? "yes" : "no", freed == 1 ? "yes" : "no");
    /* A row placed by hand at the last bigint (the app role may): appends refuse, no place
     * past it overflows. */
    int64_t n = raw_number(db, ws,
                           "WITH r AS (INSERT INTO events (id, workspace_id, experiment_id, kind,"
                           " unit, at_ms) SELECT 9223372036854775807, id, 77, 'exposure', 'x', 0"
                           " FROM workspaces WHERE name = 'appenders' RETURNING id)"
                           " SELECT count(*) FROM r");
    int refused = 0;
    if (n == 1 && sy_store_open(&s, uri, &err) == 0) {
        sy_store_event_t e = {.workspace = ws,
                              .experiment = 77,
                              .kind = "exposure",
                              .unit = "u",
                              .unit_len = 1,
                              .success = -1,
                              .at_ms = 1};
        int64_t one = 0;
        sy_err_t oerr = {0};
        refused = sy_store_event_add_many(s, &e, 1, &one, &oerr) == -EOVERFLOW &&
                  sy_store_event_add(s, &e, &one, &oerr) == -EOVERFLOW;
        sy_store_close(s);
    }
    printf("a place at the last bigint: appends refused: %s\n", refused ? "yes" : "no");
    PQfinish(db);
    return 0;
}

int main(int argc, char **argv)
{
    sy_err_t err = {0};
    if (argc == 4 && strcmp(argv[1], "migrate") == 0) {
        if (sy_store_pg_migrate(argv[2], argv[3], &err) < 0)
            return fail("migrate", &err);
        printf("migrated\n");
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "open") == 0) {
        sy_store_t *s = NULL;
        if (sy_store_open(&s, argv[2], &err) < 0)
            return fail("open", &err);
        printf("version %d backend %s\n", sy_store_schema_version(s),
               sy_store_ping(s) ? "answers" : "silent");
        sy_store_close(s);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "tokens") == 0)
        return tokens(argv[2]);
    if (argc == 3 && strcmp(argv[1], "appenders") == 0)
        return appenders(argv[2]);
    fprintf(stderr, "usage: pg_store_check migrate OWNER_URI APP_ROLE | open URI | tokens URI"
                    " | appenders URI\n");
    return 2;
}
