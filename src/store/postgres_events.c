/* postgres_events.c - store/postgres: the event log, KPI events and regression tripwires
 * (store.h's contract; postgres.c says how statements, transactions and the workspace setting
 * work here). Each operation gives what SQLite's gives (sqlite_experiments.c, sqlite_kpi.c,
 * sqlite_retention.c): the same rows in the same order, the same errors and counts.
 *
 * Ingest. event_add and kpi_add are prepared once per connection (libpq keeps a flag for
 * it beside the connection: prepared_of) and run under the event's workspace, set by the
 * statement before them. An event's unit, id and variant go with their lengths, as binary
 * text parameters (libpq ignores a text parameter's length and reads to a NUL). The place
 * of an event is given under the log's lock (sy_log_lock), which every append takes: the
 * log's last + 1, as SQLite's rowid (next_place). A batch (event_add_many, the writer's
 * group commit) is one statement per run of events of one workspace, over arrays
 * (ADD_ARRAY_SQL): a round trip per statement, not per event, is what ingest costs over a
 * network.
 *
 * One log across workspaces. events holds every workspace's events and its id orders them
 * all (SQLite's rowid), but row-level security shows a statement one workspace only. The
 * reads of the log across workspaces (event_list, event_range of every experiment,
 * event_prune's scan) read every workspace's events at once through sy_log_range (a reader
 * across workspaces, postgres_schema.c), LOG_CHUNK places a statement, in the log's one
 * order, as from SQLite (engine/ingest.c keeps the last place replayed as "applied", and
 * retention's first row of a range must be the oldest). Outside a caller's transaction such
 * a read is one REPEATABLE READ transaction: one snapshot, as SQLite's one statement reads.
 * The log's last place (sy_log_head), the experiments of a range (sy_log_experiments), the
 * KPI events' last id (sy_kpi_head) and the KPI sweep's choice (sy_kpi_unwatched) are one
 * statement each too; the sweep's deletes then run in the workspaces it chose only. An
 * experiment's own reads (event_count, event_range of one) run under its workspace; an id
 * no experiment has (events have no foreign key) is read across workspaces, or (a count)
 * looked for in every workspace.
 *
 * What a caller can tell from SQLite:
 * - Places are given as SQLite's are, the log's last + 1, in the order of commits on any
 *   number of nodes (the log's lock). A batch's duplicate leaves its place unused (a gap),
 *   where SQLite gives the next row that place.
 * - A string must be valid UTF-8 without NUL (PostgreSQL's text): -EIO otherwise, where
 *   SQLite stores any bytes.
 * - Cost: an append is three statements (the log's lock, the workspace setting, the insert),
 *   a batch the lock and two per run of one workspace's events (and per 5,000 of them),
 *   the lock spared when the caller's transaction holds it; a read across workspaces is a
 *   statement per chunk, scanning the id index.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-events.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/stats.h"
#include "store/postgres_internal.h"

/* PostgreSQL's type oids (pg_type.dat), for the prepared statements' parameters. */
#define OID_BOOL   16
#define OID_INT8   20
#define OID_TEXT   25
#define OID_FLOAT8 701

/* Runs a statement whose result is a count of changed rows; adds it to *n. */
static int run_counted(struct pg_store *s, const char *sql, int np, const char *const *p,
                       int64_t *n, sy_err_t *err)
{
    int rc = 0;
    PGresult *r = sy_pg_run(s, sql, np, p, PGRES_COMMAND_OK, &rc, err);
    if (!r)
        return rc;
    *n += strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The workspace of `experiment` into *ws and *found. An id no experiment has is not an
 * error (SQLite's reads find no row, or the rows written for it): *found false, 0. */
static int experiment_ws(struct pg_store *s, int64_t experiment, int64_t *ws, bool *found,
                         sy_err_t *err)
{
    sy_err_t mine = {0};
    int rc = sy_pg_experiment_ws(s, experiment, ws, &mine);
    *found = rc == 0;
    if (rc == -ENOENT)
        return 0;
    if (rc < 0 && err)
        *err = mine;
    return rc;
}

/* ---- statements prepared once per connection ------------------------------------------ */

/* Which of this file's statements the connection has prepared. It lives beside the PGconn
 * as libpq's instance data of prepared_events (the handle's struct is postgres_internal.h's,
 * shared by every file), created by the first prepare, cleared by a reset (the server forgot
 * them) and freed with the connection. A prepared statement outlives a rollback. */
struct prepared {
    bool event_add;
    bool event_add_many;
    bool kpi_add;
    bool kpi_unit_sum;
};

static int prepared_events(PGEventId id, void *info, void *pass)
{
    (void)pass;
    if (id == PGEVT_CONNRESET) {
        struct prepared *p = PQinstanceData(((PGEventConnReset *)info)->conn, prepared_events);
        if (p)
            *p = (struct prepared){0};
    } else if (id == PGEVT_CONNDESTROY) {
        free(PQinstanceData(((PGEventConnDestroy *)info)->conn, prepared_events));
    }
    return 1;
}

/* The connection's flags; NULL when they cannot be kept (out of memory): the call then
 * fails with -ENOMEM, as every allocation that fails in the store does (the engine's
 * fault injection holds every backend to it). */
static struct prepared *prepared_of(PGconn *db)
{
    struct prepared *p = PQinstanceData(db, prepared_events);
    if (p)
        return p;
    if (!(p = calloc(1, sizeof(*p))))
        return NULL;
    if (!PQregisterEventProc(db, prepared_events, "switchyard store events", NULL) ||
        !PQsetInstanceData(db, prepared_events, p)) {
        free(p);
        return NULL;
    }
    return p;
}

/* Runs statement `name` (`sql`, parameters typed by `types`), preparing it first when the
 * connection has not; as sy_pg_run_bin otherwise: counted once, fault injection included. */
static PGresult *run_prepared(struct pg_store *s, bool *done, const char *name, const char *sql,
                              int n, const Oid *types, const char *const *params,
                              const int *lengths, const int *formats, int *rc, sy_err_t *err)
{
    s->calls++;
    if (s->fail_at > 0 && s->calls == s->fail_at) {
        *rc = sy_err_set(err, -EIO, "db", "injected failure at call %" PRId64, s->calls);
        return NULL;
    }
    PGresult *r;
    if (done && !*done) {
        r = PQprepare(s->db, name, sql, n, types);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            *rc = sy_pg_error(s, r, err);
            PQclear(r);
            return NULL;
        }
        PQclear(r);
        *done = true;
    }
    r = done ? PQexecPrepared(s->db, name, n, params, lengths, formats, 0)
             : PQexecParams(s->db, sql, n, types, params, lengths, formats, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    *rc = sy_pg_error(s, r, err);
    PQclear(r);
    return NULL;
}

/* ---- the event log --------------------------------------------------------------------- */

#define EVENT_COLUMNS                                                                              \
    "workspace_id, experiment_id, kind, unit, variant, success, value, latency_ms, at_ms, id"

/* Row `i` of `r` (EVENT_COLUMNS) as an event; its strings borrowed from `r`. */
static sy_store_event_t event_at(const PGresult *r, int i)
{
    bool has_variant = !PQgetisnull(r, i, 4);
    return (sy_store_event_t){.workspace = sy_pg_int_at(r, i, 0),
                              .experiment = sy_pg_int_at(r, i, 1),
                              .kind = PQgetvalue(r, i, 2),
                              .unit = PQgetvalue(r, i, 3),
                              .unit_len = (size_t)PQgetlength(r, i, 3),
                              .variant = has_variant ? PQgetvalue(r, i, 4) : NULL,
                              .variant_len = has_variant ? (size_t)PQgetlength(r, i, 4) : 0,
                              .success = PQgetisnull(r, i, 5) ? -1 : PQgetvalue(r, i, 5)[0] == 't',
                              .has_value = !PQgetisnull(r, i, 6),
                              .value = sy_pg_double_at(r, i, 6),
                              .has_latency = !PQgetisnull(r, i, 7),
                              .latency_ms = sy_pg_double_at(r, i, 7),
                              .at_ms = sy_pg_int_at(r, i, 8),
                              .seq = sy_pg_int_at(r, i, 9)};
}

/* A string of the event as a binary text parameter: its bytes, its length. */
static int text_param(const char **p, int *len, int *format, const char *s, size_t n,
                      const char *field, sy_err_t *err)
{
    if (n > INT_MAX)
        return sy_err_set(err, -EIO, NULL, "store: the event's %s is too long", field);
    *p = s;
    *len = s ? (int)n : 0;
    *format = 1;
    return 0;
}

#define EVENT_ADD_SQL                                                                              \
    "INSERT INTO events (workspace_id, experiment_id, event_id, kind, unit, variant, success,"     \
    " value, latency_ms, at_ms, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"         \
    " ON CONFLICT (experiment_id, event_id) WHERE event_id IS NOT NULL DO NOTHING RETURNING id"

static const Oid event_add_types[11] = {OID_INT8,   OID_INT8, OID_TEXT, OID_TEXT,
                                        OID_TEXT,   OID_TEXT, OID_BOOL, OID_FLOAT8,
                                        OID_FLOAT8, OID_INT8, OID_INT8};

/* EVENT_ADD_SQL's parameters for one event: its numbers formatted here, its strings borrowed
 * from the event. */
struct event_params {
    char ws[SY_PG_INT_TEXT], exp[SY_PG_INT_TEXT], at[SY_PG_INT_TEXT], place[SY_PG_INT_TEXT];
    char value[SY_PG_DOUBLE_TEXT], latency[SY_PG_DOUBLE_TEXT];
    const char *p[11];
    int lengths[11], formats[11];
};

static int event_params(struct event_params *ep, const sy_store_event_t *e, sy_err_t *err)
{
    *ep = (struct event_params){0};
    ep->p[0] = sy_pg_i64(ep->ws, e->workspace);
    ep->p[1] = sy_pg_i64(ep->exp, e->experiment);
    ep->p[3] = e->kind;
    ep->p[6] = e->success < 0 ? NULL : e->success ? "1" : "0";
    ep->p[7] = sy_pg_double(ep->value, e->has_value, e->value);
    ep->p[8] = sy_pg_double(ep->latency, e->has_latency, e->latency_ms);
    ep->p[9] = sy_pg_i64(ep->at, e->at_ms);
    int rc;
    if ((rc = text_param(&ep->p[2], &ep->lengths[2], &ep->formats[2], e->id, e->id_len, "id",
                         err)) < 0 ||
        (rc = text_param(&ep->p[4], &ep->lengths[4], &ep->formats[4], e->unit, e->unit_len, "unit",
                         err)) < 0 ||
        (rc = text_param(&ep->p[5], &ep->lengths[5], &ep->formats[5], e->variant, e->variant_len,
                         "variant", err)) < 0)
        return rc;
    return 0;
}

/* The last place an append may give: a log whose last place is past it (a row written
 * there by hand: appends never come near) is refused, so that no place + k overflows. */
#define PLACE_MAX (INT64_MAX / 2)

/* The log's lock in the transaction open, the log's last place and the last allocation
 * change (NULL: not wanted) read after it (postgres_schema.c's sy_log_lock). */
static int lock_log(struct pg_store *s, int64_t *head, int64_t *changes, sy_err_t *err)
{
    int rc = 0;
    PGresult *r =
        sy_pg_run(s, "SELECT head, changes FROM sy_log_lock()", 0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    *head = sy_pg_int_at(r, 0, 0);
    if (changes)
        *changes = sy_pg_int_at(r, 0, 1);
    PQclear(r);
    if (*head < 0 || *head > PLACE_MAX)
        return sy_err_set(err, -EOVERFLOW, "db",
                          "PostgreSQL: the event log's last place, %" PRId64 ", is out of range",
                          *head);
    return 0;
}

/* The log's next place, for an append in the transaction open (`own`: the append's own, else
 * the caller's). Every appender holds the log's lock, under which the places go on from the
 * log's last, as SQLite's rowids do: a place is given once the lock is had, in the order of
 * commits, and no sequence is drawn (a nextval a row took 9 us of the 35 an append cost). The
 * caller's transaction keeps the next place from one append to the next (and from
 * sy_pg_log_lock): `placed` sets it. */
static int next_place(struct pg_store *s, bool own, int64_t *next, sy_err_t *err)
{
    if (!own && s->log_next > 0) {
        *next = s->log_next;
        return 0;
    }
    int64_t head = 0;
    int rc = lock_log(s, &head, NULL, err);
    if (rc == 0)
        *next = head + 1;
    return rc;
}

static void placed(struct pg_store *s, bool own, int64_t next)
{
    if (!own)
        s->log_next = next;
}

int sy_pg_event_add(sy_store_t *store, const sy_store_event_t *e, int64_t *seq, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    struct event_params ep;
    *seq = 0;
    int rc = event_params(&ep, e, err);
    if (rc < 0)
        return rc;
    bool own;
    if ((rc = sy_pg_own_begin(s, &own, err)) < 0)
        return rc;
    int64_t next = 0;
    if ((rc = next_place(s, own, &next, err)) < 0 ||
        (rc = sy_pg_set_workspace(s, e->workspace, err)) < 0)
        return sy_pg_own_end(s, own, rc, err);
    ep.p[10] = sy_pg_i64(ep.place, next);
    struct prepared *prep = prepared_of(s->db);
    if (!prep)
        return sy_pg_own_end(s, own, sy_err_set(err, -ENOMEM, NULL, "out of memory"), err);
    PGresult *r = run_prepared(s, &prep->event_add, "sy_event_add", EVENT_ADD_SQL, 11,
                               event_add_types, ep.p, ep.lengths, ep.formats, &rc, err);
    if (r) {
        /* no row: the id is in the log already (ON CONFLICT DO NOTHING): the place is not used */
        if (PQntuples(r) == 1) {
            *seq = next;
            placed(s, own, next + 1);
        }
        PQclear(r);
    }
    return sy_pg_own_end(s, own, rc, err);
}

/* ---- appends in a batch: one statement over arrays ---------------------------------------- */

/* Events per statement, and bytes of their strings: a statement's arrays are built in memory
 * (a single event longer goes alone). */
#define ARRAY_ROWS  5000
#define ARRAY_BYTES (8u << 20)

/* An array parameter in PostgreSQL's text form ("{1,NULL,\"a\\\"b\"}"), growing. */
struct array {
    char *p;
    size_t len, cap;
    bool oom;
};

static void array_put(struct array *a, const char *s, size_t n)
{
    if (a->oom)
        return;
    if (a->len + n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap < a->len + n + 2)
            cap *= 2;
        char *g = realloc(a->p, cap);
        if (!g) {
            a->oom = true;
            return;
        }
        a->p = g;
        a->cap = cap;
    }
    memcpy(a->p + a->len, s, n);
    a->len += n;
    a->p[a->len] = '\0';
}

/* Appends an element (NULL: SQL NULL), quoted when `quote`: its '"' and '\' escaped. */
static void array_add(struct array *a, const char *s, size_t n, bool quote)
{
    array_put(a, a->len ? "," : "{", 1);
    if (!s) {
        array_put(a, "NULL", 4);
        return;
    }
    if (!quote) {
        array_put(a, s, n);
        return;
    }
    array_put(a, "\"", 1);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != '"' && s[j] != '\\')
            j++;
        array_put(a, s + i, j - i);
        if (j < n) {
            char esc[2] = {'\\', s[j]};
            array_put(a, esc, 2);
            j++;
        }
        i = j;
    }
    array_put(a, "\"", 1);
}

static const char *array_end(struct array *a)
{
    array_put(a, a->len ? "}" : "{}", a->len ? 1 : 2);
    return a->oom ? NULL : a->p;
}

/* The statement's k-th event takes the place first + k; RETURNING gives the places taken. An
 * event whose id the experiment's log has already is not inserted (a duplicate: no place),
 * found by a probe of the client ids' index, not by ON CONFLICT: a speculative insertion
 * costs half as much again as a plain one (a token, a second WAL record a row), and the
 * probe is as sure here, as every appender holds the log's lock: nothing can insert between
 * the probe and the insert (should anything, the unique index refuses the statement: an
 * error, never an event dropped). The probe does not see the statement's own rows: two
 * events of one id in a statement are told apart before (dup_of), the first sent. */
#define ADD_ARRAY_SQL                                                                              \
    "INSERT INTO events (id, workspace_id, experiment_id, event_id, kind, unit, variant, success," \
    " value, latency_ms, at_ms) SELECT $1::bigint + t.ord - 1, $2::bigint, t.experiment_id,"       \
    " t.event_id, t.kind, t.unit, t.variant, t.success, t.value, t.latency_ms, t.at_ms"            \
    " FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[],"    \
    " $9::float8[], $10::float8[], $11::bigint[]) WITH ORDINALITY AS t(experiment_id, event_id,"   \
    " kind, unit, variant, success, value, latency_ms, at_ms, ord) WHERE t.event_id IS NULL OR"    \
    " NOT EXISTS (SELECT 1 FROM events e WHERE e.experiment_id = t.experiment_id"                  \
    " AND e.event_id = t.event_id) RETURNING id"

/* The slots of dup_of's table: a power of two, at least twice ARRAY_ROWS. */
#define DUP_SLOTS 16384

/* Whether event i has the experiment and id of an event before it in `slot` (DUP_SLOTS
 * indexes into ev, -1 empty: open addressing); if not, it is put there. */
static bool dup_of(int32_t *slot, const sy_store_event_t *ev, size_t i)
{
    const sy_store_event_t *e = &ev[i];
    uint32_t h = sy_hash_murmur3(e->id, e->id_len) ^
                 (uint32_t)(((uint64_t)e->experiment * 0x9e3779b97f4a7c15u) >> 32);
    for (size_t k = h & (DUP_SLOTS - 1);; k = (k + 1) & (DUP_SLOTS - 1)) {
        if (slot[k] < 0) {
            slot[k] = (int32_t)i;
            return false;
        }
        const sy_store_event_t *o = &ev[slot[k]];
        if (o->experiment == e->experiment && o->id_len == e->id_len &&
            memcmp(o->id, e->id, e->id_len) == 0)
            return true;
    }
}

/* A string of an event for an array: refused when it holds a NUL (PostgreSQL's text cannot,
 * and the array's text form would end there). */
static int array_text(struct array *a, const char *s, size_t n, const char *field, sy_err_t *err)
{
    if (s && memchr(s, '\0', n))
        return sy_err_set(err, -EIO, "db", "PostgreSQL: the event's %s holds a NUL byte", field);
    array_add(a, s, n, true);
    return 0;
}

/* One statement for events ev[0..n) of one workspace, from the first, at places from *next
 * on (*next then past the last given): as many as ARRAY_ROWS and ARRAY_BYTES let, how many
 * into *took. */
static int add_arrays(struct pg_store *s, const sy_store_event_t *ev, size_t n, int64_t *next,
                      int64_t *seq, size_t *took, sy_err_t *err)
{
    _Static_assert(DUP_SLOTS >= 2 * ARRAY_ROWS && (DUP_SLOTS & (DUP_SLOTS - 1)) == 0,
                   "dup_of's table: a power of two, at most half full");
    struct array a[9] = {{0}};
    int32_t *slot = malloc(DUP_SLOTS * sizeof(*slot)), *sent = malloc(ARRAY_ROWS * sizeof(*sent));
    size_t i = 0, m = 0, bytes = 0; /* events taken, sent */
    int rc = 0;
    if (!slot || !sent) {
        rc = sy_err_set(err, -ENOMEM, NULL, "out of memory");
        goto out_free;
    }
    memset(slot, 0xff, DUP_SLOTS * sizeof(*slot));
    for (; i < n && i < ARRAY_ROWS; i++) {
        const sy_store_event_t *e = &ev[i];
        size_t size = e->id_len + e->unit_len + e->variant_len;
        if (i > 0 && (e->workspace != ev[0].workspace || bytes + size > ARRAY_BYTES))
            break;
        bytes += size;
        if (e->id && dup_of(slot, ev, i))
            continue;
        sent[m++] = (int32_t)i;
        char num[SY_PG_DOUBLE_TEXT];
        const char *v;
        v = sy_pg_i64(num, e->experiment);
        array_add(&a[0], v, strlen(v), false);
        if ((rc = array_text(&a[1], e->id, e->id_len, "id", err)) < 0 ||
            (rc = array_text(&a[2], e->kind, e->kind ? strlen(e->kind) : 0, "kind", err)) < 0 ||
            (rc = array_text(&a[3], e->unit, e->unit_len, "unit", err)) < 0 ||
            (rc = array_text(&a[4], e->variant, e->variant_len, "variant", err)) < 0)
            goto out_free;
        array_add(&a[5], e->success < 0 ? NULL : e->success ? "t" : "f", 1, false);
        v = sy_pg_double(num, e->has_value, e->value);
        array_add(&a[6], v, v ? strlen(v) : 0, false);
        v = sy_pg_double(num, e->has_latency, e->latency_ms);
        array_add(&a[7], v, v ? strlen(v) : 0, false);
        v = sy_pg_i64(num, e->at_ms);
        array_add(&a[8], v, strlen(v), false);
    }
    *took = i;
    char first[SY_PG_INT_TEXT], ws[SY_PG_INT_TEXT];
    const char *p[11] = {sy_pg_i64(first, *next), sy_pg_i64(ws, ev[0].workspace)};
    for (int k = 0; k < 9; k++)
        if (!(p[2 + k] = array_end(&a[k]))) {
            rc = sy_err_set(err, -ENOMEM, NULL, "out of memory");
            goto out_free;
        }
    struct prepared *prep = prepared_of(s->db);
    if (!prep) {
        rc = sy_err_set(err, -ENOMEM, NULL, "out of memory");
        goto out_free;
    }
    PGresult *r = run_prepared(s, &prep->event_add_many, "sy_event_add_many", ADD_ARRAY_SQL, 11,
                               NULL, p, NULL, NULL, &rc, err);
    if (!r)
        goto out_free;
    for (int k = 0; rc == 0 && k < PQntuples(r); k++) {
        int64_t at = sy_pg_int_at(r, k, 0), j = at - *next;
        if (j < 0 || (size_t)j >= m || seq[sent[j]])
            rc = sy_err_set(err, -EIO, "db",
                            "PostgreSQL: place %" PRId64 " for %zu events from %" PRId64, at, m,
                            *next);
        else
            seq[sent[j]] = at;
    }
    *next += (int64_t)m;
    PQclear(r);
out_free:
    for (int k = 0; k < 9; k++)
        free(a[k].p);
    free(slot);
    free(sent);
    return rc;
}

int sy_pg_event_add_many(sy_store_t *store, const sy_store_event_t *ev, size_t n, int64_t *seq,
                         sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    for (size_t i = 0; i < n; i++)
        seq[i] = 0;
    if (n == 0)
        return 0;
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    int64_t next = 0;
    if ((rc = next_place(s, own, &next, err)) < 0)
        return sy_pg_own_end(s, own, rc, err);
    for (size_t i = 0, took = 0; rc == 0 && i < n; i += took)
        if ((rc = sy_pg_set_workspace(s, ev[i].workspace, err)) == 0)
            rc = add_arrays(s, &ev[i], n - i, &next, &seq[i], &took, err);
    if (rc == 0)
        placed(s, own, next);
    return sy_pg_own_end(s, own, rc, err);
}

/* A chunk of the events of `experiment` (< 0: of every one) with a place in (after, upto],
 * at most `chunk` of them in the log's order, into *r: under workspace `ws`'s setting, or
 * every workspace's through sy_log_range (ws 0: an experiment no workspace has, or every
 * experiment). */
static int read_chunk(struct pg_store *s, int64_t ws, int64_t experiment, int64_t after,
                      int64_t upto, int64_t chunk, PGresult **r, sy_err_t *err)
{
    char a[SY_PG_INT_TEXT], u[SY_PG_INT_TEXT], x[SY_PG_INT_TEXT], l[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(a, after), sy_pg_i64(u, upto), sy_pg_i64(x, experiment),
                       sy_pg_i64(l, chunk)};
    int rc = ws ? sy_pg_set_workspace(s, ws, err) : 0; /* again: a callback may have moved it */
    if (rc < 0)
        return rc;
    *r = sy_pg_run(s,
                   ws ? "SELECT " EVENT_COLUMNS " FROM events WHERE id > $1::bigint AND"
                        " id <= $2::bigint AND ($3::bigint < 0 OR experiment_id = $3::bigint)"
                        " ORDER BY id LIMIT $4::bigint"
                      : "SELECT " EVENT_COLUMNS " FROM sy_log_range($1::bigint, $2::bigint,"
                        " $3::bigint, $4::bigint)",
                   4, p, PGRES_TUPLES_OK, &rc, err);
    return *r ? 0 : rc;
}

/* Calls `cb` for every event of `experiment` (< 0: of every one) with a place in (after,
 * upto], in the log's order: an experiment's under its workspace's setting, else every
 * workspace's at once; in the transaction open. `chunk` rows per statement at most. A
 * non-zero return of `cb` stops and is returned. */
static int read_events(struct pg_store *s, int64_t experiment, int64_t after, int64_t upto,
                       int64_t chunk, sy_store_event_cb cb, void *arg, sy_err_t *err)
{
    int64_t ws = 0;
    bool found = false;
    int rc = 0;
    if (experiment >= 0 && (rc = experiment_ws(s, experiment, &ws, &found, err)) < 0)
        return rc;
    if (!found)
        ws = 0;
    for (bool more = true; rc == 0 && more;) {
        PGresult *r = NULL;
        if ((rc = read_chunk(s, ws, experiment, after, upto, chunk, &r, err)) < 0)
            break;
        int n = PQntuples(r);
        more = n == chunk;
        for (int i = 0; rc == 0 && i < n; i++) {
            sy_store_event_t e = event_at(r, i);
            after = e.seq;
            rc = cb(arg, &e);
        }
        PQclear(r);
    }
    return rc;
}

/* Rows per statement of a read of the log: a few MB at once. */
#define LOG_CHUNK 10000

int sy_pg_event_list(sy_store_t *store, sy_store_event_cb cb, void *arg, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    bool own;
    int rc = sy_pg_read_begin(s, &own, err);
    if (rc < 0)
        return rc;
    int64_t pruned = 0;
    PGresult *r = sy_pg_run(s,
                            "SELECT coalesce((SELECT value FROM retention WHERE"
                            " name = 'events_pruned'), 0)",
                            0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (r) {
        pruned = sy_pg_int_at(r, 0, 0);
        PQclear(r);
        rc = read_events(s, -1, pruned, INT64_MAX, LOG_CHUNK, cb, arg, err);
    }
    return sy_pg_own_end(s, own, rc, err);
}

int sy_pg_event_range(sy_store_t *store, int64_t experiment, int64_t after, int64_t upto,
                      sy_store_event_cb cb, void *arg, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    bool own;
    int rc = sy_pg_read_begin(s, &own, err);
    if (rc < 0)
        return rc;
    rc = read_events(s, experiment, after, upto, LOG_CHUNK, cb, arg, err);
    return sy_pg_own_end(s, own, rc, err);
}

/* The log's last place, every workspace's (sy_log_head), into *last. */
static int log_last(struct pg_store *s, int64_t *last, sy_err_t *err)
{
    int rc = 0;
    PGresult *r = sy_pg_run(s, "SELECT sy_log_head()", 0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    *last = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return 0;
}

int sy_pg_event_last(sy_store_t *store, int64_t *seq, sy_err_t *err)
{
    int64_t last = 0;
    int rc = log_last(sy_pg(store), &last, err);
    if (rc == 0)
        *seq = last;
    return rc;
}

/* ---- the log's order across nodes (postgres_schema.c: sy_log_lock) ---------------------- */

/* Runs `sql`, a call of one of the log's functions returning its last place, into *head. */
static int log_head(struct pg_store *s, const char *sql, int64_t *head, sy_err_t *err)
{
    int rc = 0;
    PGresult *r = sy_pg_run(s, sql, 0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    *head = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return 0;
}

int sy_pg_log_lock(sy_store_t *store, int64_t *head, int64_t *changes, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    int rc = lock_log(s, head, changes, err);
    if (rc == 0 && s->in_tx) /* outside a transaction the lock went with the statement */
        s->log_next = *head + 1;
    return rc;
}

int sy_pg_log_hold(sy_store_t *store, int64_t *head, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    int rc = log_head(s, "SELECT sy_log_hold()", head, err);
    s->log_held = rc == 0;
    return rc;
}

void sy_pg_log_unlock(sy_store_t *store)
{
    struct pg_store *s = sy_pg(store);
    if (!s->log_held)
        return;
    s->log_held = false;
    /* not counted, never failed by injection: a lock kept would stop every appender (a
     * connection lost has released it already) */
    PQclear(PQexec(s->db, "SELECT pg_advisory_unlock(2026, 2)"));
}

int sy_pg_log_after(sy_store_t *store, int64_t after, int64_t limit, sy_store_event_cb cb,
                    void *arg, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    char a[SY_PG_INT_TEXT], l[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(a, after), sy_pg_limit(l, limit)}; /* < 0: none, as SQLite */
    int rc = 0;
    PGresult *r = sy_pg_run(s, "SELECT " EVENT_COLUMNS " FROM sy_log_after($1::bigint, $2::bigint)",
                            2, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        sy_store_event_t e = event_at(r, i);
        rc = cb(arg, &e);
    }
    PQclear(r);
    return rc;
}

/* Adds the events of experiment arg[0] in workspace `ws`, not thinned, to *arg[1]. */
static int count_of(struct pg_store *s, int64_t ws, void *arg, sy_err_t *err)
{
    (void)ws;
    int64_t *a = arg;
    char x[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(x, a[0])};
    int rc = 0;
    PGresult *r = sy_pg_run(s,
                            "SELECT count(*) FROM events WHERE experiment_id = $1::bigint AND"
                            " kind != ''",
                            1, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    a[1] += sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return 0;
}

int sy_pg_event_count(sy_store_t *store, int64_t experiment, int64_t *n, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    int64_t a[2] = {experiment, 0}, ws;
    bool found, own;
    int rc = experiment_ws(s, experiment, &ws, &found, err);
    if (rc < 0)
        return rc;
    if ((rc = sy_pg_read_begin(s, &own, err)) < 0)
        return rc;
    if (found) {
        if ((rc = sy_pg_set_workspace(s, ws, err)) == 0)
            rc = count_of(s, ws, a, err);
    } else {
        rc = sy_pg_each_workspace(s, count_of, a, err);
    }
    if ((rc = sy_pg_own_end(s, own, rc, err)) == 0)
        *n = a[1];
    return rc;
}

int sy_pg_event_experiments(sy_store_t *store, int64_t after, int64_t upto, int64_t **out,
                            size_t *n, sy_err_t *err)
{
    *out = NULL;
    *n = 0;
    char a[SY_PG_INT_TEXT], u[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(a, after), sy_pg_i64(u, upto)};
    int rc = 0;
    /* by id, each once (SQLite's DISTINCT ... ORDER BY), every workspace's in one statement */
    PGresult *r = sy_pg_run(sy_pg(store), "SELECT sy_log_experiments($1::bigint, $2::bigint)", 2, p,
                            PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    size_t rows = (size_t)PQntuples(r);
    int64_t *v = rows ? malloc(rows * sizeof(*v)) : NULL;
    if (rows && !v) {
        PQclear(r);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < rows; i++)
        v[i] = sy_pg_int_at(r, (int)i, 0);
    PQclear(r);
    *out = v;
    *n = rows;
    return 0;
}

/* event_prune's scan: the events it takes, each older than before_ms, `limit` at most
 * (< 0: no limit), and the workspaces they are of. */
struct prune_scan {
    int64_t before_ms, limit, taken, last;
    int64_t *ws; /* distinct, in the order first met */
    size_t n_ws, cap_ws;
    sy_err_t *err;
};

static int prune_row(void *arg, const sy_store_event_t *e)
{
    struct prune_scan *p = arg;
    if ((p->limit >= 0 && p->taken >= p->limit) || e->at_ms >= p->before_ms)
        return 1; /* the first event not older stops it: the log is in time order */
    p->taken++;
    p->last = e->seq;
    for (size_t i = 0; i < p->n_ws; i++)
        if (p->ws[i] == e->workspace)
            return 0;
    if (p->n_ws == p->cap_ws) {
        size_t cap = p->cap_ws ? 2 * p->cap_ws : 8;
        int64_t *g = realloc(p->ws, cap * sizeof(*g));
        if (!g)
            return sy_err_set(p->err, -ENOMEM, NULL, "out of memory");
        p->ws = g;
        p->cap_ws = cap;
    }
    p->ws[p->n_ws++] = e->workspace;
    return 0;
}

int sy_pg_event_prune(sy_store_t *store, int64_t after, int64_t upto, int64_t before_ms,
                      int64_t limit, int64_t *through, int64_t *n, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    *through = after;
    *n = 0;
    struct prune_scan scan = {.before_ms = before_ms, .limit = limit, .last = after, .err = err};
    int64_t max = 0, chunk = LOG_CHUNK;
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    /* the newest row of the log (every workspace's) is never touched, as in SQLite */
    if ((rc = log_last(s, &max, err)) < 0)
        goto out;
    if (limit >= 0 && limit < chunk - 1)
        chunk = limit + 1; /* the scan reads one past its limit at most */
    if (max > 0 && (rc = read_events(s, -1, after, upto < max - 1 ? upto : max - 1, chunk,
                                     prune_row, &scan, err)) < 0)
        goto out;
    rc = 0;
    char a[SY_PG_INT_TEXT], l[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(a, after), sy_pg_i64(l, scan.last)};
    for (size_t i = 0; scan.last > after && rc == 0 && i < scan.n_ws; i++) {
        if ((rc = sy_pg_set_workspace(s, scan.ws[i], err)) < 0 ||
            (rc = run_counted(s,
                              "DELETE FROM events WHERE id > $1::bigint AND id <= $2::bigint AND"
                              " (event_id IS NULL OR experiment_id IN (SELECT id FROM experiments"
                              " WHERE state IN ('stopped', 'terminated')))",
                              2, p, n, err)) < 0)
            break;
        rc = run_counted(s,
                         "UPDATE events SET kind = '', unit = '', variant = NULL, success = NULL,"
                         " value = NULL, latency_ms = NULL WHERE id > $1::bigint AND"
                         " id <= $2::bigint AND event_id IS NOT NULL AND kind != ''",
                         2, p, n, err);
    }
    if (rc == 0)
        *through = scan.last;
out:
    free(scan.ws);
    rc = sy_pg_own_end(s, own, rc, err);
    if (rc < 0) {
        *through = after;
        *n = 0;
    }
    return rc;
}

/* ---- KPI events ------------------------------------------------------------------------ */

#define KPI_ADD_SQL                                                                                \
    "INSERT INTO kpi_events (workspace_id, domain, metric, success, value, actor,"                 \
    " correlation_id, detail, at_ms, event_id, unit) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"  \
    " $10, $11) ON CONFLICT DO NOTHING RETURNING id"

int sy_pg_kpi_add(sy_store_t *store, const sy_store_kpi_t *k, bool *added, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    static const Oid types[11] = {OID_INT8, OID_TEXT, OID_TEXT, OID_INT8, OID_FLOAT8, OID_TEXT,
                                  OID_TEXT, OID_TEXT, OID_INT8, OID_TEXT, OID_TEXT};
    char ws[SY_PG_INT_TEXT], success[SY_PG_INT_TEXT], at[SY_PG_INT_TEXT], value[SY_PG_DOUBLE_TEXT];
    const char *p[11] = {sy_pg_i64(ws, k->workspace),
                         k->domain,
                         k->metric,
                         k->success < 0 ? NULL : sy_pg_i64(success, k->success),
                         sy_pg_double(value, k->has_value, k->value),
                         k->actor,
                         k->correlation_id,
                         k->detail,
                         sy_pg_i64(at, k->at_ms),
                         k->event_id,
                         k->unit};
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    if ((rc = sy_pg_set_workspace(s, k->workspace, err)) < 0)
        return sy_pg_own_end(s, own, rc, err);
    struct prepared *prep = prepared_of(s->db);
    if (!prep)
        return sy_pg_own_end(s, own, sy_err_set(err, -ENOMEM, NULL, "out of memory"), err);
    PGresult *r = run_prepared(s, &prep->kpi_add, "sy_kpi_add", KPI_ADD_SQL, 11, types, p, NULL,
                               NULL, &rc, err);
    if (r) {
        if (added) /* no row: its workspace has the event_id already */
            *added = PQntuples(r) == 1;
        PQclear(r);
    }
    return sy_pg_own_end(s, own, rc, err);
}

#define KPI_UNIT_SUM_SQL                                                                           \
    "SELECT coalesce(sum(coalesce(value, success)), 0) FROM kpi_events WHERE workspace_id = $1"    \
    " AND domain = $2 AND metric = $3 AND unit = $4 AND at_ms >= $5 AND at_ms < $6"                \
    " AND unit IS NOT NULL"

int sy_pg_kpi_unit_sum(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                       const char *unit, int64_t from_ms, int64_t to_ms, double *sum, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    *sum = 0;
    static const Oid types[6] = {OID_INT8, OID_TEXT, OID_TEXT, OID_TEXT, OID_INT8, OID_INT8};
    char w[SY_PG_INT_TEXT], f[SY_PG_INT_TEXT], t[SY_PG_INT_TEXT];
    const char *p[6] = {sy_pg_i64(w, ws), domain, metric, unit};
    p[4] = sy_pg_i64(f, from_ms);
    p[5] = sy_pg_i64(t, to_ms);
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    if ((rc = sy_pg_set_workspace(s, ws, err)) < 0)
        return sy_pg_own_end(s, own, rc, err);
    struct prepared *prep = prepared_of(s->db);
    if (!prep)
        return sy_pg_own_end(s, own, sy_err_set(err, -ENOMEM, NULL, "out of memory"), err);
    /* prepared once: the ingest writer asks it for each new unit of a batch */
    PGresult *r = run_prepared(s, &prep->kpi_unit_sum, "sy_kpi_unit_sum", KPI_UNIT_SUM_SQL, 6,
                               types, p, NULL, NULL, &rc, err);
    if (r) {
        if (PQntuples(r) == 1)
            *sum = sy_pg_double_at(r, 0, 0);
        PQclear(r);
    }
    return sy_pg_own_end(s, own, rc, err);
}

/* The span's condition (SQLite's SPAN_SQL) on parameters $4 to $9: events after ($4, $5),
 * and none from ($6, $7) to ($8, $9). */
#define SPAN_SQL                                                                                   \
    " AND (at_ms, id) > ($4::bigint, $5::bigint) AND NOT ((at_ms, id) >= ($6::bigint,"             \
    " $7::bigint) AND (at_ms, id) <= ($8::bigint, $9::bigint))"
#define SERIES_SQL " WHERE workspace_id = $1::bigint AND domain = $2 AND metric = $3"

/* The span's six bounds as parameters into p[3..8] (buf: 6 of SY_PG_INT_TEXT). Without a gap
 * every event passes: after the least place, and a gap that holds none. */
static void span_params(const sy_store_kpi_span_t *span, char (*buf)[SY_PG_INT_TEXT],
                        const char **p)
{
    const sy_store_kpi_place_t none_from = {INT64_MAX, INT64_MAX}, none_to = {INT64_MIN, INT64_MIN};
    bool gap = span && span->has_gap;
    const sy_store_kpi_place_t *after = gap && span->after_gap ? &span->gap_to : &none_to;
    const sy_store_kpi_place_t *from = gap ? &span->gap_from : &none_from;
    const sy_store_kpi_place_t *to = gap ? &span->gap_to : &none_to;
    const int64_t v[6] = {after->at_ms, after->id, from->at_ms, from->id, to->at_ms, to->id};
    for (int i = 0; i < 6; i++)
        p[3 + i] = sy_pg_i64(buf[i], v[i]);
}

int sy_pg_kpi_window(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                     bool of_values, const sy_store_kpi_span_t *span, int64_t skip, int64_t limit,
                     int64_t *events, int64_t *successes, double *mean, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    *events = *successes = 0;
    *mean = 0;
    char w[SY_PG_INT_TEXT], b[6][SY_PG_INT_TEXT], l[SY_PG_INT_TEXT], o[SY_PG_INT_TEXT];
    const char *p[11] = {sy_pg_i64(w, ws), domain, metric};
    span_params(span, b, p);
    p[9] = sy_pg_limit(l, limit);
    p[10] = sy_pg_i64(o, skip < 0 ? 0 : skip); /* SQLite reads a negative OFFSET as 0 */
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    if ((rc = sy_pg_set_workspace(s, ws, err)) < 0)
        return sy_pg_own_end(s, own, rc, err);
    /* the newest first by the series index; the values averaged here as they come
     * (Welford, in SQLite's order: the same mean to the last bit) */
    PGresult *r = sy_pg_run(
        s,
        of_values ? "SELECT value FROM kpi_events" SERIES_SQL " AND value IS NOT NULL" SPAN_SQL
                    " ORDER BY at_ms DESC, id DESC LIMIT $10::bigint OFFSET $11::bigint"
                  : "SELECT count(*), coalesce(sum(success), 0) FROM (SELECT success FROM"
                    " kpi_events" SERIES_SQL " AND success IS NOT NULL" SPAN_SQL
                    " ORDER BY at_ms DESC, id DESC LIMIT $10::bigint OFFSET $11::bigint) w",
        11, p, PGRES_TUPLES_OK, &rc, err);
    if (r && of_values) {
        sy_welford_t acc = {0};
        for (int i = 0; i < PQntuples(r); i++)
            sy_welford_add(&acc, sy_pg_double_at(r, i, 0));
        *events = acc.n;
        *mean = sy_welford_moments(&acc).mean;
    } else if (r) {
        *events = sy_pg_int_at(r, 0, 0);
        *successes = sy_pg_int_at(r, 0, 1);
    }
    PQclear(r);
    return sy_pg_own_end(s, own, rc, err);
}

int sy_pg_kpi_place(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                    bool of_values, const sy_store_kpi_span_t *span, int64_t skip,
                    sy_store_kpi_place_t *out, bool *found, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    *found = false;
    char w[SY_PG_INT_TEXT], b[6][SY_PG_INT_TEXT], o[SY_PG_INT_TEXT];
    const char *p[10] = {sy_pg_i64(w, ws), domain, metric};
    span_params(span, b, p);
    p[9] = sy_pg_i64(o, skip < 0 ? 0 : skip);
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    if ((rc = sy_pg_set_workspace(s, ws, err)) < 0)
        return sy_pg_own_end(s, own, rc, err);
    PGresult *r = sy_pg_run(s,
                            of_values ? "SELECT at_ms, id FROM kpi_events" SERIES_SQL
                                        " AND value IS NOT NULL" SPAN_SQL
                                        " ORDER BY at_ms DESC, id DESC LIMIT 1 OFFSET $10::bigint"
                                      : "SELECT at_ms, id FROM kpi_events" SERIES_SQL
                                        " AND success IS NOT NULL" SPAN_SQL
                                        " ORDER BY at_ms DESC, id DESC LIMIT 1 OFFSET $10::bigint",
                            10, p, PGRES_TUPLES_OK, &rc, err);
    if (r && PQntuples(r) == 1) {
        *out = (sy_store_kpi_place_t){sy_pg_int_at(r, 0, 0), sy_pg_int_at(r, 0, 1)};
        *found = true;
    }
    PQclear(r);
    return sy_pg_own_end(s, own, rc, err);
}

/* The KPI events a prune takes ($1 before_ms, $2 the newest id of every workspace's): SQLite's
 * KPI_OLD, under the workspace's setting. */
#define KPI_OLD                                                                                    \
    "SELECT id FROM kpi_events k WHERE at_ms < $1::bigint AND domain != '' AND id < $2::bigint"    \
    " AND "
/* ... of the series without a policy, $3 the last id to take (every workspace's limit) */
#define KPI_NO_POLICY                                                                              \
    "NOT EXISTS (SELECT 1 FROM regression_policies p WHERE p.workspace_id = k.workspace_id AND"    \
    " p.domain = k.domain AND p.metric = k.metric) AND id <= $3::bigint"
/* ... of one series: $3 ws, $4 domain, $5 metric, before ($6, $7), `limit` $8 */
#define KPI_SERIES                                                                                 \
    "workspace_id = $3::bigint AND domain = $4 AND metric = $5 AND (at_ms < $6::bigint OR"         \
    " (at_ms = $6::bigint AND id < $7::bigint)) ORDER BY id LIMIT $8::bigint"
#define KPI_DELETE "DELETE FROM kpi_events WHERE event_id IS NULL AND id IN ("
#define KPI_THIN                                                                                   \
    "UPDATE kpi_events SET domain = '', metric = '', actor = '', success = NULL, value = NULL,"    \
    " correlation_id = NULL, detail = NULL WHERE event_id IS NOT NULL AND id IN ("

/* A prune of the series without a policy, across workspaces: SQLite takes the first `limit`
 * of every workspace's candidates by id. Here they are chosen in one statement
 * (sy_kpi_unwatched), and each workspace that has some runs the statement `sql` (KPI_DELETE
 * or KPI_THIN, up to the last id chosen) under its setting. */
struct kpi_sweep {
    const char *before, *max; /* $1 and $2 of KPI_OLD */
    const char *limit;        /* NULL: none */
    const char *sql;          /* the sweep's statement */
    const char *last;         /* $3: the last id chosen */
    int64_t n;                /* rows changed */
};

static int kpi_sweep_in(struct pg_store *s, int64_t ws, void *arg, sy_err_t *err)
{
    (void)ws;
    struct kpi_sweep *k = arg;
    const char *p[] = {k->before, k->max, k->last};
    return run_counted(s, k->sql, 3, p, &k->n, err);
}

static int kpi_sweep_run(struct pg_store *s, struct kpi_sweep *k, const char *head, sy_err_t *err)
{
    const char *p[] = {k->before, k->max, k->limit};
    int rc = 0;
    PGresult *r = sy_pg_run(s,
                            "SELECT kpi, ws FROM sy_kpi_unwatched($1::bigint, $2::bigint,"
                            " $3::bigint)",
                            3, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    int rows = PQntuples(r);
    if (rows == 0) {
        PQclear(r);
        return 0;
    }
    char sql[1024], last[SY_PG_INT_TEXT];
    snprintf(sql, sizeof(sql), "%s" KPI_OLD KPI_NO_POLICY ")", head);
    k->sql = sql;
    k->last = sy_pg_i64(last, sy_pg_int_at(r, rows - 1, 0));
    /* the workspaces of the rows chosen, each once, in id order */
    int64_t *ws = malloc((size_t)rows * sizeof(*ws));
    if (!ws) {
        PQclear(r);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    for (int i = 0; i < rows; i++)
        ws[i] = sy_pg_int_at(r, i, 1);
    PQclear(r);
    qsort(ws, (size_t)rows, sizeof(*ws), cmp_i64);
    for (int i = 0; rc == 0 && i < rows; i++)
        if ((i == 0 || ws[i] != ws[i - 1]) && (rc = sy_pg_set_workspace(s, ws[i], err)) == 0)
            rc = kpi_sweep_in(s, ws[i], k, err);
    free(ws);
    return rc;
}

int sy_pg_kpi_prune(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                    const sy_store_kpi_place_t *keep_from, int64_t before_ms, int64_t limit,
                    int64_t *n, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    *n = 0;
    int64_t max = 0;
    char b[SY_PG_INT_TEXT], m[SY_PG_INT_TEXT], l[SY_PG_INT_TEXT];
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    /* the newest row of every workspace's is never touched, as in SQLite */
    PGresult *r = sy_pg_run(s, "SELECT sy_kpi_head()", 0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        goto out;
    max = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    if (!domain) {
        struct kpi_sweep k = {.before = sy_pg_i64(b, before_ms),
                              .max = sy_pg_i64(m, max),
                              .limit = sy_pg_limit(l, limit)};
        if (limit != 0 && (rc = kpi_sweep_run(s, &k, KPI_DELETE, err)) == 0)
            rc = kpi_sweep_run(s, &k, KPI_THIN, err);
        *n += k.n;
        goto out;
    }
    char w[SY_PG_INT_TEXT], at[SY_PG_INT_TEXT], id[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(b, before_ms),
                       sy_pg_i64(m, max),
                       sy_pg_i64(w, ws),
                       domain,
                       metric,
                       sy_pg_i64(at, keep_from->at_ms),
                       sy_pg_i64(id, keep_from->id),
                       sy_pg_limit(l, limit)};
    if ((rc = sy_pg_set_workspace(s, ws, err)) == 0 &&
        (rc = run_counted(s, KPI_DELETE KPI_OLD KPI_SERIES ")", 8, p, n, err)) == 0)
        rc = run_counted(s, KPI_THIN KPI_OLD KPI_SERIES ")", 8, p, n, err);
out:
    rc = sy_pg_own_end(s, own, rc, err);
    if (rc < 0)
        *n = 0;
    return rc;
}

/* ---- regression tripwires ------------------------------------------------------------- */

#define REGRESSION_COLUMNS                                                                         \
    "workspace_id, domain, metric, window_events, baseline_events, min_events_to_enforce,"         \
    " max_drop_fraction, action, measure, enabled, changed_by, reason, updated_ms, state"

int sy_pg_regression_put(sy_store_t *store, const sy_store_regression_t *r, bool only_new,
                         bool *created, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    char ws[SY_PG_INT_TEXT], win[SY_PG_INT_TEXT], base[SY_PG_INT_TEXT], min[SY_PG_INT_TEXT],
        at[SY_PG_INT_TEXT], drop[SY_PG_DOUBLE_TEXT];
    const char *p[] = {sy_pg_i64(ws, r->workspace),
                       r->domain,
                       r->metric,
                       sy_pg_i64(win, r->window_events),
                       sy_pg_i64(base, r->baseline_events),
                       sy_pg_i64(min, r->min_events_to_enforce),
                       sy_pg_double(drop, true, r->max_drop_fraction),
                       r->action,
                       r->measure,
                       r->enabled ? "1" : "0",
                       r->changed_by,
                       r->reason,
                       sy_pg_i64(at, r->updated_ms),
                       r->state};
    if (created)
        *created = false;
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    if ((rc = sy_pg_set_workspace(s, r->workspace, err)) < 0)
        return sy_pg_own_end(s, own, rc, err);
    /* SQLite's INSERT OR IGNORE and INSERT OR REPLACE, on the primary key */
    PGresult *res = sy_pg_run(
        s,
        only_new ? "INSERT INTO regression_policies (" REGRESSION_COLUMNS ")"
                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                   " ON CONFLICT DO NOTHING"
                 : "INSERT INTO regression_policies (" REGRESSION_COLUMNS ")"
                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                   " ON CONFLICT (workspace_id, domain, metric) DO UPDATE SET"
                   " window_events = excluded.window_events,"
                   " baseline_events = excluded.baseline_events,"
                   " min_events_to_enforce = excluded.min_events_to_enforce,"
                   " max_drop_fraction = excluded.max_drop_fraction, action = excluded.action,"
                   " measure = excluded.measure, enabled = excluded.enabled,"
                   " changed_by = excluded.changed_by, reason = excluded.reason,"
                   " updated_ms = excluded.updated_ms, state = excluded.state",
        14, p, PGRES_COMMAND_OK, &rc, err);
    if (res) {
        if (created)
            *created = strcmp(PQcmdTuples(res), "0") != 0;
        PQclear(res);
    }
    rc = sy_pg_own_end(s, own, rc, err);
    if (rc < 0 && created)
        *created = false;
    return rc;
}

/* Calls `cb` for each row of `r` (REGRESSION_COLUMNS); its first non-zero return. */
static int regression_rows(const PGresult *r, sy_store_regression_cb cb, void *arg)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        sy_store_regression_t g = {.workspace = sy_pg_int_at(r, i, 0),
                                   .domain = PQgetvalue(r, i, 1),
                                   .metric = PQgetvalue(r, i, 2),
                                   .window_events = sy_pg_int_at(r, i, 3),
                                   .baseline_events = sy_pg_int_at(r, i, 4),
                                   .min_events_to_enforce = sy_pg_int_at(r, i, 5),
                                   .max_drop_fraction = sy_pg_double_at(r, i, 6),
                                   .action = PQgetvalue(r, i, 7),
                                   .measure = PQgetvalue(r, i, 8),
                                   .enabled = PQgetvalue(r, i, 9)[0] == 't',
                                   .changed_by = PQgetvalue(r, i, 10),
                                   .reason = sy_pg_text_at(r, i, 11),
                                   .updated_ms = sy_pg_int_at(r, i, 12),
                                   .state = sy_pg_text_at(r, i, 13)};
        rc = cb(arg, &g);
    }
    return rc;
}

int sy_pg_regression_list(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                          sy_store_regression_cb cb, void *arg, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    bool one = domain && metric;
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), domain, metric};
    int rc = 0;
    PGresult *r = NULL;
    /* by bytes, as SQLite compares text, whatever the database's collation */
    if (ws < 0) { /* every workspace's, in one statement (sy_regressions_all) */
        r = sy_pg_run(s,
                      one ? "SELECT " REGRESSION_COLUMNS " FROM sy_regressions_all()"
                            " WHERE domain = $1 AND metric = $2 ORDER BY workspace_id"
                          : "SELECT " REGRESSION_COLUMNS " FROM sy_regressions_all()"
                            " ORDER BY workspace_id, domain COLLATE \"C\", metric COLLATE \"C\"",
                      one ? 2 : 0, p + 1, PGRES_TUPLES_OK, &rc, err);
    } else {
        r = sy_pg_run_in(s, ws,
                         one ? "SELECT " REGRESSION_COLUMNS " FROM regression_policies"
                               " WHERE workspace_id = $1::bigint AND domain = $2 AND metric = $3"
                             : "SELECT " REGRESSION_COLUMNS " FROM regression_policies"
                               " WHERE workspace_id = $1::bigint"
                               " ORDER BY domain COLLATE \"C\", metric COLLATE \"C\"",
                         one ? 3 : 1, p, PGRES_TUPLES_OK, &rc, err);
    }
    if (!r)
        return rc;
    rc = regression_rows(r, cb, arg);
    PQclear(r);
    return rc;
}
