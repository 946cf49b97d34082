/* store.h - the durable state of switchyard, behind one narrow interface.
 *
 * Everything switchyard must not forget lives here: workspaces, API tokens (as hashes),
 * flag definitions, experiments with their event log and per-variant aggregates, and the
 * audit trail. The engine is the only caller. Every change goes
 * through a transaction (sy_store_begin .. sy_store_commit) so a change and its audit
 * event land together or not at all; reads need none. Every row belongs to a workspace and
 * every call that touches rows takes the workspace id: there is no call that reads or
 * writes across workspaces, except finding a token by its hash (which yields the
 * workspace) and listing workspaces at start-up.
 *
 * Implementations: SQLite (store/sqlite*.c, the default: a file path or ":memory:") and
 * PostgreSQL (store/postgres*.c: a postgres:// URI), chosen by sy_store_open from the URI
 * alone; callers never see which. Each is a table of functions (store_backend.h) that every call
 * here reaches through its handle (store.c). Rows reach callers through callbacks whose
 * pointers are borrowed for the duration of the call only.
 *
 * Threads: a handle is not thread-safe and belongs to one thread at a time. Several handles
 * on one database may be used at once from their own threads (the engine's loop, its
 * writer thread, the notifier): reads never wait, and writes take turns, each handle
 * waiting up to 5 s (SQLite's busy timeout) for the one writing before sy_store_begin or
 * a write outside a transaction fails with -EIO.
 */
#ifndef SY_STORE_STORE_H
#define SY_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct sy_store sy_store_t; /* opaque */

/* Opens (creating and migrating when needed) the store at `uri`: a file path (or
 * ":memory:") for SQLite; a postgres:// or postgresql:// URI, or libpq's keyword form,
 * for PostgreSQL (store/postgres: postgres.h; -ENOTSUP naming libpq in a build without it).
 * Returns 0, or a negative code with `err` saying why (an unreadable file, a schema newer
 * than this binary knows; -EINVAL for no `uri`). *out is NULL on failure. */
int sy_store_open(sy_store_t **out, const char *uri, sy_err_t *err);
void sy_store_close(sy_store_t *store); /* NULL is a no-op */

/* `uri` as it may be shown (a log line, a message): a postgres:// URI's password, or a
 * keyword form's `password=...`, replaced by "****"; a path as it is. Into `out` (`cap`
 * bytes, cut to fit). */
void sy_store_uri_shown(const char *uri, char *out, size_t cap);

/* Brings the store at `uri` to this binary's schema and does nothing else (`switchyard
 * migrate`): SQLite is opened (which migrates) and closed; PostgreSQL is migrated as the
 * role `uri` connects as, which is to own the tables, granting `app_role` (NULL:
 * "switchyard_app"), the role the servers connect as, what they need (postgres.h). The
 * version reached into *version. Errors as sy_store_open's; a PostgreSQL URI without libpq
 * built in is -ENOTSUP. */
int sy_store_migrate(const char *uri, const char *app_role, int *version, sy_err_t *err);

/* The schema version the store is at (the number of migrations applied). */
int sy_store_schema_version(sy_store_t *store);

/* Whether the store answers a trivial query (for /readyz). */
bool sy_store_ping(sy_store_t *store);

/* Lets this handle's commits skip the disk flush: one lost to a power failure (never to a
 * crash of the process) is lost. For the notifier's bookkeeping, where a lost "delivered"
 * means a delivery is repeated, which idempotency keys make harmless. */
int sy_store_lazy_commits(sy_store_t *store, sy_err_t *err);

/* Fault injection, for tests (tests/unit/engine/test_faults.c): every statement the
 * handle runs from now on counts one call (begin and commit included, rollback not), and
 * with `at` > 0 the at-th fails with -EIO before it reaches the database, as a full disk
 * or a lost file would (a failed commit rolls back). `at` 0 disarms. Costs one compare per
 * statement. Other handles on the same database (the writer's) are not affected. */
void sy_store_fail_at(sy_store_t *store, int64_t at);
/* The statements counted since the last sy_store_fail_at. */
int64_t sy_store_calls(const sy_store_t *store);

/* One transaction at a time. A failed call inside leaves the transaction open: the caller
 * rolls back. sy_store_commit returns a negative code when the commit itself fails (and
 * then has rolled back). */
int sy_store_begin(sy_store_t *store, sy_err_t *err);
int sy_store_commit(sy_store_t *store, sy_err_t *err);
void sy_store_rollback(sy_store_t *store);

/* ---- workspaces ---------------------------------------------------------------------- */

typedef struct sy_store_workspace {
    int64_t id;
    const char *name;
    int64_t revision; /* bumped by every flag change: the flag configuration's version */
    int64_t created_ms;
} sy_store_workspace_t;

typedef int (*sy_store_workspace_cb)(void *arg, const sy_store_workspace_t *ws);

/* Creates workspace `name` (in a transaction); -EEXIST if the name is taken. */
int sy_store_workspace_create(sy_store_t *store, const char *name, int64_t now_ms, int64_t *id,
                              sy_err_t *err);
/* Calls `cb` for every workspace in id order; a non-zero return of `cb` stops and is
 * returned. */
int sy_store_workspace_list(sy_store_t *store, sy_store_workspace_cb cb, void *arg, sy_err_t *err);
/* The workspace named `name` into *id; -ENOENT if none. */
int sy_store_workspace_find(sy_store_t *store, const char *name, int64_t *id, sy_err_t *err);
/* Adds one to the workspace's revision (in a transaction) and returns the new one. */
int sy_store_workspace_bump(sy_store_t *store, int64_t ws, int64_t *revision, sy_err_t *err);

/* ---- tokens -------------------------------------------------------------------------- */

typedef struct sy_store_token {
    int64_t id;
    int64_t workspace;
    const char *name;
    const char *role;   /* "admin", "editor", "viewer", "sdk" */
    const char *hash;   /* hex SHA-256 of the secret; the secret itself is never stored */
    const char *prefix; /* the secret's first characters, to recognise it in a list */
    int64_t created_ms;
    int64_t revoked_ms; /* 0: active */
} sy_store_token_t;

typedef int (*sy_store_token_cb)(void *arg, const sy_store_token_t *t);

/* Inserts a token (id ignored; the new id into *id). In a transaction. */
int sy_store_token_create(sy_store_t *store, const sy_store_token_t *t, int64_t *id, sy_err_t *err);
/* Marks token `id` of workspace `ws` revoked; -ENOENT if it has none such active. */
int sy_store_token_revoke(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err);
/* Every token of workspace `ws` (or of all workspaces for ws < 0, at start-up), revoked
 * ones included, in id order. */
int sy_store_token_list(sy_store_t *store, int64_t ws, sy_store_token_cb cb, void *arg,
                        sy_err_t *err);

/* The token whose hash is `hash` (hex), revoked or not, through `cb`; 0 without a call
 * when there is none. */
int sy_store_token_by_hash(sy_store_t *store, const char *hash, sy_store_token_cb cb, void *arg,
                           sy_err_t *err);

/* ---- flags --------------------------------------------------------------------------- */

typedef struct sy_store_flag {
    const char *key;
    const char *definition; /* the flagd flag object, JSON text */
    int64_t updated_ms;
} sy_store_flag_t;

typedef int (*sy_store_flag_cb)(void *arg, const sy_store_flag_t *f);

/* Creates or replaces flag `key` of `ws`; *created says which. In a transaction. */
int sy_store_flag_put(sy_store_t *store, int64_t ws, const sy_store_flag_t *f, bool *created,
                      sy_err_t *err);
/* Deletes flag `key` of `ws`; -ENOENT if it has none such. In a transaction. */
int sy_store_flag_delete(sy_store_t *store, int64_t ws, const char *key, sy_err_t *err);
/* Deletes every flag of `ws` (an import's first step). In a transaction. */
int sy_store_flag_clear(sy_store_t *store, int64_t ws, sy_err_t *err);
/* Every flag of `ws`, by key. */
int sy_store_flag_list(sy_store_t *store, int64_t ws, sy_store_flag_cb cb, void *arg,
                       sy_err_t *err);

/* Calls `cb` with the id of each workspace that has a flag or a flag set stored, in id order,
 * in one read: the others have no flag and a flag set of "{}" (a start, or workspaces made
 * elsewhere, reads only the workspaces with something to read). A non-zero return of `cb`
 * stops and is returned. */
typedef int (*sy_store_id_cb)(void *arg, int64_t id);
int sy_store_flag_workspaces(sy_store_t *store, sy_store_id_cb cb, void *arg, sy_err_t *err);

/* The parts of a flagd document that are not flags: `$evaluators` and `metadata`, JSON
 * text ("{}" when never set), each returned owned (free()). */
int sy_store_flagset_get(sy_store_t *store, int64_t ws, char **evaluators, char **metadata,
                         sy_err_t *err);
/* Sets them (in a transaction). */
int sy_store_flagset_put(sy_store_t *store, int64_t ws, const char *evaluators,
                         const char *metadata, sy_err_t *err);

/* ---- audit trail --------------------------------------------------------------------- */

typedef struct sy_store_audit {
    int64_t id;
    int64_t workspace;
    int64_t at_ms;
    const char *actor;    /* the token's name, or "system" */
    const char *action;   /* "flag.create", "flag.update", "token.revoke", ... */
    const char *resource; /* "flag:checkout", "token:7" */
    const char *before;   /* JSON text or NULL */
    const char *after;    /* JSON text or NULL */
} sy_store_audit_t;

typedef int (*sy_store_audit_cb)(void *arg, const sy_store_audit_t *a);

/* Appends an audit event (id and nothing else ignored). In the change's transaction. */
int sy_store_audit_add(sy_store_t *store, const sy_store_audit_t *a, sy_err_t *err);

typedef struct sy_store_audit_query {
    int64_t workspace;
    const char *resource; /* exact, or a prefix ending in ':' ("flag:"); NULL: any */
    const char *action;   /* exact; NULL: any */
    int64_t since_ms;     /* 0: from the start */
    int64_t before_id;    /* cursor: only ids below it, newest first; 0: from the newest */
    int limit;            /* 1..1000 */
} sy_store_audit_query_t;

/* Audit events of one workspace matching `q`, newest first. */
int sy_store_audit_list(sy_store_t *store, const sy_store_audit_query_t *q, sy_store_audit_cb cb,
                        void *arg, sy_err_t *err);

/* ---- experiments --------------------------------------------------------------------- */

typedef struct sy_store_experiment {
    int64_t id;
    int64_t workspace;
    const char *key;
    const char *flag_key;
    const char *definition; /* JSON text: variants, metric, guardrails, safety, options */
    const char *state;      /* "draft", "running", "stopped", "terminated" */
    int64_t created_ms;
    int64_t started_ms;      /* 0: never started */
    int64_t stopped_ms;      /* 0: not ended */
    const char *flag_before; /* JSON text of the flag as it was before start, or NULL */
    const char *weights;     /* JSON text {variant: points} of the current allocation, or
                                NULL while it is the definition's */
} sy_store_experiment_t;

typedef int (*sy_store_experiment_cb)(void *arg, const sy_store_experiment_t *e);

/* Inserts experiment `e` of e->workspace when e->id is 0 (its new id into *id; -EEXIST if
 * the key is taken), else updates its definition (PATCH), state, times, flag_before and
 * weights. In a transaction. */
int sy_store_experiment_put(sy_store_t *store, const sy_store_experiment_t *e, int64_t *id,
                            sy_err_t *err);
/* Every experiment of workspace `ws` (of all workspaces for ws < 0, at start-up), by id. */
int sy_store_experiment_list(sy_store_t *store, int64_t ws, sy_store_experiment_cb cb, void *arg,
                             sy_err_t *err);

/* One variant's aggregates: what the results are computed from. */
typedef struct sy_store_arm {
    int64_t experiment;
    const char *variant;
    int64_t units;       /* distinct units exposed to it (first exposure wins) */
    int64_t conversions; /* of those, units with a successful outcome */
    double value_mean;   /* mean over its units of each unit's total outcome value */
    double value_sd;     /* their sample sd (ddof = 1) */
    int64_t errors;      /* units with at least one error event */
    int64_t crossovers;  /* units later exposed to another variant too */
    double seq_p;        /* always-valid p-value so far (running minimum), 1 at start */
    double cuped_seq_p;  /* its CUPED-adjusted twin (experiments with CUPED), 1 at start */
    int64_t latency_n;   /* events with a latency counted for it */
    double latency_mean; /* their mean, ms */
    double latency_sd;   /* their sample sd, ms */
} sy_store_arm_t;

typedef int (*sy_store_arm_cb)(void *arg, const sy_store_arm_t *a);

/* Creates or replaces the aggregates of (a->experiment, a->variant). In a transaction. */
int sy_store_arm_put(sy_store_t *store, const sy_store_arm_t *a, sy_err_t *err);
/* Every arm of experiment `experiment` (of all experiments for < 0), by experiment. */
int sy_store_arm_list(sy_store_t *store, int64_t experiment, sy_store_arm_cb cb, void *arg,
                      sy_err_t *err);

/* The running p of an experiment's anytime-valid SRM test, the one thing about it the log
 * cannot replay (the looks it was taken at). Put: in a transaction. */
int sy_store_srm_put(sy_store_t *store, int64_t experiment, double p, sy_err_t *err);
typedef int (*sy_store_srm_cb)(void *arg, int64_t experiment, double p);
int sy_store_srm_list(sy_store_t *store, sy_store_srm_cb cb, void *arg, sy_err_t *err);

/* ---- allocation changes ------------------------------------------------------------------ */

/* One change of an experiment's traffic: a step, a promotion or a rollback. */
typedef struct sy_store_change {
    int64_t id;
    int64_t workspace;
    int64_t experiment;
    int64_t at_ms;
    const char *action; /* "step", "promote", "rollback" */
    const char *actor;  /* token name, or "system" for a timer */
    const char *before; /* JSON {variant: points} */
    const char *after;  /* JSON {variant: points} */
    const char *detail; /* JSON: winner, confidence, delta, reason, baseline health, ... */
} sy_store_change_t;

typedef int (*sy_store_change_cb)(void *arg, const sy_store_change_t *c);

/* Every workspace's changes with ids after `after`, in the order of ids: what a node applies
 * of the changes other nodes made (its ids grow in the order of commits: a change is made
 * holding the log's lock, sy_store_log_hold). In the transaction open, else its own. */
int sy_store_change_after(sy_store_t *store, int64_t after, sy_store_change_cb cb, void *arg,
                          sy_err_t *err);
/* Appends a change (id ignored; the new id into *id). In a transaction. */
int sy_store_change_add(sy_store_t *store, const sy_store_change_t *c, int64_t *id, sy_err_t *err);
/* The changes of experiment `experiment` (of all experiments for < 0), oldest first. */
int sy_store_change_list(sy_store_t *store, int64_t experiment, sy_store_change_cb cb, void *arg,
                         sy_err_t *err);

/* ---- workspace settings ----------------------------------------------------------------- */

/* Sets setting `name` of workspace `ws` to the JSON text `value`. In a transaction. */
int sy_store_setting_put(sy_store_t *store, int64_t ws, const char *name, const char *value,
                         sy_err_t *err);
/* Removes setting `name` of workspace `ws` (none: nothing happens). In a transaction. */
int sy_store_setting_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err);
typedef int (*sy_store_setting_cb)(void *arg, int64_t ws, const char *name, const char *value);
/* Every setting of every workspace (start-up). */
int sy_store_setting_list(sy_store_t *store, sy_store_setting_cb cb, void *arg, sy_err_t *err);

/* ---- the event log -------------------------------------------------------------------- */

typedef struct sy_store_event {
    int64_t seq; /* its place in the log (filled by sy_store_event_list only) */
    int64_t workspace;
    int64_t experiment;
    const char *id; /* the client's event id, or NULL */
    size_t id_len;
    const char *kind; /* "exposure", "outcome", "error" */
    const char *unit;
    size_t unit_len;
    const char *variant; /* exposures only, else NULL */
    size_t variant_len;
    int success;    /* -1: not given, else 0 or 1 */
    bool has_value; /* value given: an outcome's value; an exposure's covariate (CUPED: the
                       unit's pre-period value, which an exposure row's value column, unused
                       before, holds; a replay reads it back as the covariate) */
    double value;
    bool has_latency; /* latency_ms given */
    double latency_ms;
    int64_t at_ms;
} sy_store_event_t;

typedef int (*sy_store_event_cb)(void *arg, const sy_store_event_t *e);

/* Appends one event (strings are bound by length and need no NUL); its place in the log
 * (the seq sy_store_event_list gives it) into *seq, or 0, and nothing is written, when e->id
 * is already in the log for that experiment. Places only grow: an event appended later,
 * through any handle, has a higher one. In a transaction; the statement is prepared once
 * per store. */
int sy_store_event_add(sy_store_t *store, const sy_store_event_t *e, int64_t *seq, sy_err_t *err);
/* Appends the `n` events of `ev` in order, exactly as `n` calls of sy_store_event_add would:
 * seq[i] (room for `n`) the place of ev[i], or 0 for an id already in the log (an earlier
 * event of the same call included); the places grow with i. The events may belong to several
 * workspaces. In the caller's transaction: a negative code leaves it to be rolled back, and
 * seq[] then says nothing. What it saves is
 * round trips: PostgreSQL writes the lot in one statement per run of events of one workspace
 * (postgres_events.c); SQLite, whose appends cost no round trip, loops. n 0 does nothing. */
int sy_store_event_add_many(sy_store_t *store, const sy_store_event_t *ev, size_t n, int64_t *seq,
                            sy_err_t *err);
/* Every event of every experiment in the order they were committed (start-up rebuild), but
 * those retention pruned (its "events_pruned" place: every row up to it deleted, or thinned
 * to its id); the ids are not read. */
int sy_store_event_list(sy_store_t *store, sy_store_event_cb cb, void *arg, sy_err_t *err);
/* The place of the last event in the log (0 for an empty log): what a change records so
 * that a replay knows which events came before it. */
int sy_store_event_last(sy_store_t *store, int64_t *seq, sy_err_t *err);

/* The log's order across nodes (issue 25). Several nodes append to one log; a node applies
 * the log in the order of places, its own rows and the others' (sy_store_log_after), so
 * places must be committed in their order: appenders take the log's lock.
 *
 * sy_store_log_lock takes it for the open transaction (to its end) and gives the log's last
 * place over every workspace, read once the lock is had, into *head: while one holds it no
 * other handle appends or holds it, so a reader never sees a place before one committed
 * later. sy_store_log_hold takes the same lock in a transaction or outside one, held across
 * the handle's transactions (a rollback too) until sy_store_log_unlock (or the connection's
 * end): for a change placed in the log (an allocation change's events_at) after what it
 * read of it, and for a batch written again after a rollback (engine/ingest.c).
 * sy_store_log_lock also gives, unless `changes` is NULL, the largest id of an allocation
 * change (sy_store_change_after), read with it: a change is made holding the lock too.
 * SQLite (one node, one writer: nothing to order): *head (and *changes) -1, nothing taken. */
int sy_store_log_lock(sy_store_t *store, int64_t *head, int64_t *changes, sy_err_t *err);
int sy_store_log_hold(sy_store_t *store, int64_t *head, sy_err_t *err);
void sy_store_log_unlock(sy_store_t *store);
/* The log's events with places after `after`, every workspace's, in the order of places, at
 * most `limit` of them, ids not read: what a node applies of what the others appended (the
 * rows retention thinned come with kind ""). In the transaction open, else its own. */
int sy_store_log_after(sy_store_t *store, int64_t after, int64_t limit, sy_store_event_cb cb,
                       void *arg, sy_err_t *err);
/* Opens a transaction that only reads, one snapshot of the store for all of it (PostgreSQL's
 * REPEATABLE READ; SQLite's deferred BEGIN); ended by sy_store_rollback. */
int sy_store_begin_read(sy_store_t *store, sy_err_t *err);
/* How many events the log holds for `experiment` (not counting those retention thinned to
 * their ids). */
int sy_store_event_count(sy_store_t *store, int64_t experiment, int64_t *n, sy_err_t *err);

/* ---- KPI events and regression tripwires ------------------------------------------------ */

/* A business KPI event: `success` and/or `value` of one (domain, metric). */
typedef struct sy_store_kpi {
    int64_t workspace;
    const char *domain;
    const char *metric;
    int success;    /* -1: not given, else 0 or 1 */
    bool has_value; /* value given */
    double value;
    const char *actor;
    const char *correlation_id; /* or NULL */
    const char *detail;         /* JSON text, or NULL */
    const char *event_id;       /* the client's id, or NULL */
    const char *unit;           /* the unit it is of (CUPED's covariate), or NULL */
    int64_t at_ms;
} sy_store_kpi_t;

/* Appends a KPI event, unless its workspace has one with the same event_id: then *added
 * is false and nothing is written. In a transaction. */
int sy_store_kpi_add(sy_store_t *store, const sy_store_kpi_t *k, bool *added, sy_err_t *err);

/* An event's place in its series: series are ordered by (at_ms, id). */
typedef struct sy_store_kpi_place {
    int64_t at_ms;
    int64_t id;
} sy_store_kpi_place_t;

/* Which events of a series a reader sees: with `has_gap`, none from `gap_from` to `gap_to`
 * (both included), and with `after_gap` too only those after gap_to. A tripwire's reset
 * leaves out the events of its trip this way (engine/regression.c). */
typedef struct sy_store_kpi_span {
    bool has_gap;
    bool after_gap;
    sy_store_kpi_place_t gap_from, gap_to;
} sy_store_kpi_span_t;

/* Aggregates `limit` events of (ws, domain, metric) that carry a value (`of_values`) or a
 * success and that `span` lets through (NULL: every one), newest first after skipping the
 * `skip` newest: their count into *events, the successes into *successes, the mean value
 * into *mean (0 for none). */
int sy_store_kpi_window(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                        bool of_values, const sy_store_kpi_span_t *span, int64_t skip,
                        int64_t limit, int64_t *events, int64_t *successes, double *mean,
                        sy_err_t *err);

/* The place of the event that sy_store_kpi_window would read first after skipping `skip`
 * (newest first, through `span`) into *out, and *found; *found false when there is none. */
int sy_store_kpi_place(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                       bool of_values, const sy_store_kpi_span_t *span, int64_t skip,
                       sy_store_kpi_place_t *out, bool *found, sy_err_t *err);

/* CUPED's covariate of a unit from a KPI metric (issue 26): the sum of the `value`s of the
 * events of (ws, domain, metric) of `unit` with from_ms <= at_ms < to_ms, an event without a
 * value counting its success (0 or 1), into *sum (0 for none). One read over the index
 * kpi_events_unit. In the caller's transaction or on its own. */
int sy_store_kpi_unit_sum(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                          const char *unit, int64_t from_ms, int64_t to_ms, double *sum,
                          sy_err_t *err);

/* A regression policy of one (domain, metric), and its last evaluation. */
typedef struct sy_store_regression {
    int64_t workspace;
    const char *domain;
    const char *metric;
    int64_t window_events;
    int64_t baseline_events;
    int64_t min_events_to_enforce;
    double max_drop_fraction;
    const char *action;  /* "THROTTLE", "KILL_SWITCH" */
    const char *measure; /* "rate", "mean" */
    bool enabled;
    const char *changed_by;
    const char *reason; /* or NULL */
    int64_t updated_ms;
    const char *state; /* JSON text of the last evaluation, or NULL: never evaluated */
} sy_store_regression_t;

typedef int (*sy_store_regression_cb)(void *arg, const sy_store_regression_t *r);

/* Creates or replaces the policy of (r->workspace, r->domain, r->metric), its state
 * included. With `only_new`, an existing policy is left alone and *created says whether
 * one was written. In a transaction. */
int sy_store_regression_put(sy_store_t *store, const sy_store_regression_t *r, bool only_new,
                            bool *created, sy_err_t *err);
/* The policies of `ws` by (domain, metric); only (domain, metric) when both are given. For
 * ws < 0, every workspace's, by workspace, then (domain, metric), in one read. */
int sy_store_regression_list(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                             sy_store_regression_cb cb, void *arg, sy_err_t *err);

/* ---- the risk guard ----------------------------------------------------------------------- */

typedef struct sy_store_risk_policy {
    int64_t workspace;
    const char *domain;
    bool enabled;
    bool has_max_per_action;
    double max_per_action;
    bool has_max_per_day;
    double max_per_day;
    const char *reason;
    const char *changed_by;
    int64_t updated_ms;
} sy_store_risk_policy_t;

typedef int (*sy_store_risk_policy_cb)(void *arg, const sy_store_risk_policy_t *p);

/* Creates or replaces the risk policy of (p->workspace, p->domain). In a transaction. */
int sy_store_risk_policy_put(sy_store_t *store, const sy_store_risk_policy_t *p, sy_err_t *err);
/* The risk policies of `ws` by domain; only `domain`'s when it is not NULL. */
int sy_store_risk_policy_list(sy_store_t *store, int64_t ws, const char *domain,
                              sy_store_risk_policy_cb cb, void *arg, sy_err_t *err);

typedef struct sy_store_risk_entry {
    int64_t id;
    int64_t workspace;
    const char *domain;
    const char *day; /* "YYYY-MM-DD", UTC */
    double amount;
    const char *actor;
    const char *correlation_id; /* or NULL */
    const char *outcome;        /* "reserved", "released", "denied" */
    const char *reason;         /* a denial's reason, or NULL */
    int64_t at_ms;
    int64_t released_ms; /* 0 unless released */
} sy_store_risk_entry_t;

typedef int (*sy_store_risk_entry_cb)(void *arg, const sy_store_risk_entry_t *e);

/* Appends a ledger entry; its id into *id. In a transaction. */
int sy_store_risk_add(sy_store_t *store, const sy_store_risk_entry_t *e, int64_t *id,
                      sy_err_t *err);
/* The sum of the amounts still reserved in (ws, domain, day). */
int sy_store_risk_reserved(sy_store_t *store, int64_t ws, const char *domain, const char *day,
                           double *sum, sy_err_t *err);
/* Marks reservation `id` of `ws` released at `now_ms`: -ENOENT when `ws` has no such entry,
 * SY_ECONFLICT when it is not reserved (denied, or released already). In a transaction. */
int sy_store_risk_release(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err);
/* The entries of (ws, day), oldest first; entry `id` alone when day is NULL. */
int sy_store_risk_list(sy_store_t *store, int64_t ws, const char *day, int64_t id,
                       sy_store_risk_entry_cb cb, void *arg, sy_err_t *err);

/* ---- notification channels ----------------------------------------------------------------- */

typedef struct sy_store_channel {
    int64_t id;
    int64_t workspace;
    const char *type; /* "slack", "pagerduty", "webhook", "email" */
    const char *name;
    const char *config;  /* JSON text: what the API shows */
    const char *secrets; /* JSON text: never shown */
    bool enabled;
    int64_t created_ms;
} sy_store_channel_t;

typedef int (*sy_store_channel_cb)(void *arg, const sy_store_channel_t *c);

/* Inserts a channel (id ignored; the new id into *id). In a transaction. */
int sy_store_channel_add(sy_store_t *store, const sy_store_channel_t *c, int64_t *id,
                         sy_err_t *err);
/* Marks channel `id` of `ws` deleted; -ENOENT when `ws` has no such live channel. In a
 * transaction. */
int sy_store_channel_delete(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms,
                            sy_err_t *err);
/* The live channels of `ws` by id (of every workspace for ws < 0); channel `id` alone when
 * id > 0. */
int sy_store_channel_list(sy_store_t *store, int64_t ws, int64_t id, sy_store_channel_cb cb,
                          void *arg, sy_err_t *err);

/* ---- the notification outbox ------------------------------------------------------------- */

typedef struct sy_store_notification {
    int64_t id;
    int64_t workspace;
    int64_t channel;
    const char *event;    /* "promotion", "rollback", ... or "test" */
    const char *level;    /* "info", "warning", "critical" */
    const char *action;   /* "trigger", or "resolve" when the condition cleared */
    const char *resource; /* "experiment:checkout", "kill_switch", ... */
    const char *key;      /* the idempotency key: one delivery per (channel, key) */
    const char *dedup;    /* the condition's key (PagerDuty's dedup_key) */
    const char *payload;  /* JSON text: the message, the same for every channel type */
    const char *status;   /* "pending", "delivered", "failed" */
    int64_t attempts;
    const char *last_error; /* NULL: none */
    int64_t created_ms;
    int64_t next_ms; /* when a pending one is (re)tried */
    int64_t done_ms; /* when it was delivered or given up; 0 while pending */
} sy_store_notification_t;

typedef int (*sy_store_notification_cb)(void *arg, const sy_store_notification_t *n);

/* Queues `n` (id, status, attempts, last_error and done_ms ignored: pending, none yet)
 * unless (channel, key) is queued already: its id into *id, or 0 when it was. In the
 * change's transaction. */
int sy_store_notification_add(sy_store_t *store, const sy_store_notification_t *n, int64_t *id,
                              sy_err_t *err);

typedef struct sy_store_notification_query {
    int64_t workspace;
    int64_t id;         /* > 0: that one alone */
    int64_t channel;    /* > 0: that channel's only */
    const char *status; /* NULL: any */
    int64_t before_id;  /* cursor: ids below it; 0: from the newest */
    int limit;          /* 1..1000 */
} sy_store_notification_query_t;

/* The notifications of one workspace matching `q`, newest first. */
int sy_store_notification_list(sy_store_t *store, const sy_store_notification_query_t *q,
                               sy_store_notification_cb cb, void *arg, sy_err_t *err);
/* Up to `limit` pending notifications of every workspace due at `now_ms`, the most overdue
 * first. */
int sy_store_notification_due(sy_store_t *store, int64_t now_ms, int limit,
                              sy_store_notification_cb cb, void *arg, sy_err_t *err);
/* When the next pending notification is due (*next_ms 0: none is pending). */
int sy_store_notification_next(sy_store_t *store, int64_t *next_ms, sy_err_t *err);
/* Records an attempt's outcome on notification `id`: its status, attempts, last error,
 * next try and done time. Its own statement (no transaction needed). */
int sy_store_notification_update(sy_store_t *store, int64_t id, const char *status,
                                 int64_t attempts, const char *last_error, int64_t next_ms,
                                 int64_t done_ms, sy_err_t *err);
/* Deletes the notifications delivered or given up before `before_ms` (never a pending
 * one); how many into *deleted. */
int sy_store_notification_prune(sy_store_t *store, int64_t before_ms, int64_t *deleted,
                                sy_err_t *err);
/* How many notifications of `ws` (every workspace for ws < 0) are pending, delivered and
 * failed, in that order. */
int sy_store_notification_counts(sy_store_t *store, int64_t ws, int64_t counts[3], sy_err_t *err);
/* The same by the type of their channel: counts[i] for `types[i]` (i < n), whatever the
 * channel's state; a type not in `types` is not counted. */
int sy_store_notification_type_counts(sy_store_t *store, int64_t ws, const char *const *types,
                                      size_t n, int64_t (*counts)[3], sy_err_t *err);
/* Called once for each workspace that has notifications of a type in `types`: counts[i] (i < n)
 * as sy_store_notification_type_counts gives them for that workspace (borrowed: valid during
 * the call). A non-zero return stops and is returned. */
typedef int (*sy_store_type_counts_cb)(void *arg, int64_t ws, const int64_t (*counts)[3]);
/* sy_store_notification_type_counts of every workspace, by workspace id, in one read of the
 * store (a board of a thousand workspaces: one statement, not a thousand). n is at most
 * SY_STORE_TYPES_MAX: -EINVAL beyond. */
#define SY_STORE_TYPES_MAX 16
int sy_store_notification_type_counts_each(sy_store_t *store, const char *const *types, size_t n,
                                           sy_store_type_counts_cb cb, void *arg, sy_err_t *err);

/* ---- proxy routes ------------------------------------------------------------------------ */

typedef struct sy_store_route {
    int64_t id;
    int64_t workspace;
    const char *name;
    const char *definition; /* JSON text: listen, upstreams, domains, sticky, ... */
    int64_t percentage_bp;  /* 0..10000 */
    bool enabled;
    int64_t created_ms;
    int64_t updated_ms;
} sy_store_route_t;

typedef int (*sy_store_route_cb)(void *arg, const sy_store_route_t *r);

/* Writes route (workspace, name), inserting it or replacing what it held (id ignored; its
 * id into *id). In a transaction. */
int sy_store_route_put(sy_store_t *store, const sy_store_route_t *r, int64_t *id, sy_err_t *err);
/* Deletes route (ws, name): -ENOENT when there is none. In a transaction. */
int sy_store_route_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err);
/* Every route of every workspace, by id. */
int sy_store_route_list(sy_store_t *store, sy_store_route_cb cb, void *arg, sy_err_t *err);

/* One minute of a route's counters for one (domain, upstream). */
typedef struct sy_store_route_minute {
    int64_t workspace;
    const char *route;
    int64_t minute; /* Unix minutes */
    const char *domain, *upstream, *tried;
    int64_t requests, errors;
    double total_ms;
    const char *hist;   /* "bucket:count,..." */
    const char *status; /* "class:count,...", 2 for the 2xx ("" for none) */
} sy_store_route_minute_t;

typedef int (*sy_store_route_minute_cb)(void *arg, const sy_store_route_minute_t *m);

/* Appends a minute's row. In a transaction. */
int sy_store_route_minute_add(sy_store_t *store, const sy_store_route_minute_t *m, sy_err_t *err);
/* The rows of route (ws, name) from minute `since` on. */
int sy_store_route_minute_list(sy_store_t *store, int64_t ws, const char *route, int64_t since,
                               sy_store_route_minute_cb cb, void *arg, sy_err_t *err);
/* Room for a route minute's two sparse texts: 160 buckets and 5 classes of 20 bytes fit. */
typedef struct sy_store_minute_text {
    char hist[4096], status[128];
} sy_store_minute_text_t;

/* The sparse text of a route minute's hist or status: "index:count,..." of the positive
 * counts of v[0..n), in order, into out (cap bytes; 20 a count is room for any count up to
 * 10^12). What does not fit is left out. */
void sy_store_sparse_put(char *out, size_t cap, const int64_t *v, int n);
/* Adds such a text's counts to v[0..n) (an index outside it is skipped); their total. */
int64_t sy_store_sparse_add(int64_t *v, int n, const char *text);
/* Deletes the rows of minutes before `before`; how many into *deleted. */
int sy_store_route_minute_prune(sy_store_t *store, int64_t before, int64_t *deleted, sy_err_t *err);

/* ---- retention (engine/retention.c) -------------------------------------------------- */

/* An experiment's checkpoint: its aggregates as a replay of the log through event `seq`
 * rebuilds them, in the engine's encoding (engine/checkpoint.c). */
typedef int (*sy_store_checkpoint_cb)(void *arg, int64_t experiment, int64_t seq, const void *data,
                                      size_t len);
/* Writes (or replaces) the checkpoint of `experiment`. In a transaction. */
int sy_store_checkpoint_put(sy_store_t *store, int64_t experiment, int64_t seq, const void *data,
                            size_t len, sy_err_t *err);
/* Every checkpoint (start-up). */
int sy_store_checkpoint_list(sy_store_t *store, sy_store_checkpoint_cb cb, void *arg,
                             sy_err_t *err);
/* How many checkpoints there are, into *n. */
int sy_store_checkpoint_count(sy_store_t *store, int64_t *n, sy_err_t *err);
/* The checkpoint of one experiment: *found false when it has none. `cb` as above. */
int sy_store_checkpoint_get(sy_store_t *store, int64_t experiment, sy_store_checkpoint_cb cb,
                            void *arg, bool *found, sy_err_t *err);
/* A number the retention job keeps ("events_checkpointed", "events_pruned"): 0 when never
 * set. The put is in a transaction. */
int sy_store_retention_get(sy_store_t *store, const char *name, int64_t *value, sy_err_t *err);
int sy_store_retention_put(sy_store_t *store, const char *name, int64_t value, sy_err_t *err);
/* The events of `experiment` (< 0: of every one) with places in (after, upto], in order (a
 * checkpoint's replay); `cb` as sy_store_event_list's. */
int sy_store_event_range(sy_store_t *store, int64_t experiment, int64_t after, int64_t upto,
                         sy_store_event_cb cb, void *arg, sy_err_t *err);
/* The experiments with events in (after, upto], into *out (owned: free()), *n of them. */
int sy_store_event_experiments(sy_store_t *store, int64_t after, int64_t upto, int64_t **out,
                               size_t *n, sy_err_t *err);
/* Prunes the log from place `after` on, in order, up to `limit` events of places at most
 * `upto` and older than `before_ms`; stops at the first event not older (the log is in
 * time order). An event with an id is thinned to its id (kind "", so no replay reads it)
 * so that a retry of it is still a duplicate, unless its experiment has ended (stopped or
 * terminated: it takes no more events); the others are deleted. The newest row of
 * the log is never touched: SQLite gives a new row the largest id + 1. The place of the
 * last event handled into *through (`after` when none), the deleted and thinned into *n.
 * In a transaction. */
int sy_store_event_prune(sy_store_t *store, int64_t after, int64_t upto, int64_t before_ms,
                         int64_t limit, int64_t *through, int64_t *n, sy_err_t *err);
/* Prunes up to `limit` KPI events older than `before_ms` of series (ws, domain, metric):
 * `domain` NULL: of every series without a regression policy; else of that series, only
 * those before place `keep_from` too. Thinned to their id (domain "") or deleted as
 * events are; the newest row is never touched. How many into *n. In a transaction. */
int sy_store_kpi_prune(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                       const sy_store_kpi_place_t *keep_from, int64_t before_ms, int64_t limit,
                       int64_t *n, sy_err_t *err);
/* Deletes up to `limit` audit events older than `before_ms`, oldest first (their ids are
 * never given again: AUTOINCREMENT). How many into *n. In a transaction. */
int sy_store_audit_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                         sy_err_t *err);

/* ---- experiment timelines (engine/timeline.c) ----------------------------------------- */

/* A point of `experiment`'s timeline at `at_ms`, `point` its JSON text. With `replace` an
 * earlier point at the same at_ms is replaced, else kept (the new one dropped). In a
 * transaction. */
int sy_store_timeline_put(sy_store_t *store, int64_t experiment, int64_t at_ms, const char *point,
                          bool replace, sy_err_t *err);
/* A point as listed: `point` borrowed for the call. A non-zero return stops the list. */
typedef int (*sy_store_timeline_cb)(void *arg, int64_t at_ms, const char *point);
/* The points of `experiment` with since_ms <= at_ms <= until_ms, oldest first, at most
 * `limit` of them. */
int sy_store_timeline_list(sy_store_t *store, int64_t experiment, int64_t since_ms,
                           int64_t until_ms, int64_t limit, sy_store_timeline_cb cb, void *arg,
                           sy_err_t *err);
/* Deletes up to `limit` points older than `before_ms`, oldest first. How many into *n. In a
 * transaction. */
int sy_store_timeline_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                            sy_err_t *err);

/* ---- many nodes on one database (PostgreSQL; a SQLite store has one node) ------------ */

/* Announces to every node listening (sy_store_listen) that `what` of workspace `ws`
 * changed, at `revision`. A hint only: any session that may connect to the database can
 * announce (PostgreSQL's NOTIFY), so a listener reads what changed from the store.
 * Inside a transaction the announcement leaves at its commit and not at all on a rollback.
 * `what` is a short word ("flags", "workspace", "tokens"; at most 32 bytes, no space).
 * SQLite: nothing to tell (0). */
int sy_store_announce(sy_store_t *store, int64_t ws, const char *what, int64_t revision,
                      sy_err_t *err);
/* Makes this handle hear the announcements of every handle on the database, its own
 * included, from now on. SQLite: -ENOTSUP (no other node can change it). */
int sy_store_listen(sy_store_t *store, sy_err_t *err);
/* One announcement heard: `what` borrowed for the call. A non-zero return stops. */
typedef int (*sy_store_heard_cb)(void *arg, int64_t ws, const char *what, int64_t revision);
/* The descriptor that turns readable when something may have been heard (to wait on it in
 * an event loop; sy_store_heard still reads without waiting), or -1: none (SQLite, or the
 * connection lost). It changes when a lost connection is made again: ask again. */
int sy_store_heard_fd(sy_store_t *store);
/* Calls `cb` for each announcement heard since the last call, oldest first, without
 * waiting for any (an idle handle only; a call inside a transaction hears nothing new);
 * `ws` is positive, but once after a lost connection came back: (-1, "resync", 0), for
 * what was announced meanwhile is lost and the caller rereads. A lost connection is -EIO.
 * SQLite: 0 and no call. */
int sy_store_heard(sy_store_t *store, sy_store_heard_cb cb, void *arg, sy_err_t *err);
/* Leadership among the nodes: the first call that finds no other handle holding it takes
 * it, for this handle's life (a session-level advisory lock, released when the handle is
 * closed or its connection is lost, as when its process dies); *held says whether this
 * handle holds it now. Holding, each call checks that the connection still is (*held false
 * and -EIO when it is not: another node may take it). SQLite: always held. Outside a
 * transaction. */
int sy_store_lead(sy_store_t *store, bool *held, sy_err_t *err);

#endif
