/* engine.h - the control plane of one switchyard process.
 *
 * The contract of every call below:
 *
 * - Results. A call returns 0 or a negative code (core/err.h); on failure it fills the
 *   caller's optional sy_err_t (the field it names, a sentence) and its outputs say
 *   nothing. Codes: -EINVAL a bad value, SY_EUNKNOWN a member or parameter that does not
 *   exist, -ENOENT no such resource (another workspace's included), -EEXIST taken,
 *   SY_ECONFLICT the resource's state forbids it, -EIO the store failed, -ENOMEM out of
 *   memory; http/ maps them to statuses one-to-one.
 * - Ownership. Inputs are borrowed for the call only (strings need not outlive it). A
 *   result written into a caller's struct (sy_risk_policy_t, sy_kill_switch_t,
 *   sy_guardrails_t ...) is the caller's, with no pointer into the engine. An array
 *   returned as `T **out, size_t *n` is the caller's to free(). A walk (tokens, audit
 *   events, notifications) calls the caller's callback once per item with strings that
 *   live for that callback only; a negative return stops it and is returned. A snapshot
 *   (sy_engine_snapshot) is a counted reference, given back with sy_snapshot_release;
 *   sy_engine_routes_all's list is the caller's (sy_routes_free) and so are the routes
 *   route get/list/create answer; a flag's stored text (sy_engine_flag_get) and a tick's
 *   report (sy_tick_report_free) are the caller's to free. Nothing here takes or gives
 *   JSON: requests arrive as C structs read by codec/'s schemas, answers leave as C structs
 *   that codec/ writes (a flag's definition, a flagd document, is the exception by nature:
 *   it crosses as its value and its text; sy_flag_src_t).
 * - Atomicity. Every change either completes (committed with its audit event and
 *   notifications in one transaction, then published: what can fail is prepared before
 *   the commit, so after it only pointer swaps remain, and the answer is the change as
 *   committed) or changes nothing, in memory or on disk: a refusal, a store failure or an
 *   allocation that fails (tests/unit/engine/test_faults.c proves it for every write).
 *
 * The engine owns the store and the state derived from it: the workspaces, their API
 * tokens, and for each workspace its flags (compiled, each with the JSON text the store
 * holds) and the snapshot that evaluation reads. Every change is validated first, then
 * written through the store in one transaction together with its audit event, and only
 * once committed published: a new immutable snapshot replaces the old one with one
 * pointer swap. A change compiles only the flags it touches and the new snapshot shares
 * every other compiled flag with the old one (core/flagset.h), so its cost does not grow
 * with the workspace.
 *
 * Threads: every call except the snapshot readers runs on the engine's thread (the
 * server's event loop), the only writer. sy_engine_snapshot returns a counted reference
 * that a reader may keep while it evaluates; a published snapshot never changes, and the
 * last release (from any thread) frees a retired one with the flags only it held. Other
 * threads read snapshots through the published view (view.c). The engine may run a
 * thread of its own, the writer (sy_engine_writer_start), which commits ingested events
 * off the loop; no callback is ever called from it.
 *
 * Time comes from opts.now_ms (tests pass a fake clock); NULL reads CLOCK_REALTIME.
 */
#ifndef SY_ENGINE_ENGINE_H
#define SY_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/allocation.h"
#include "core/err.h"
#include "core/experiment.h"
#include "core/flagset.h"
#include "core/limit.h"
#include "engine/loopstat.h"
#include "core/route.h"
#include "core/route_series.h"
#include "core/route_spec.h"
#include "core/tripwire.h"
#include "store/store.h"

typedef struct sy_engine sy_engine_t; /* opaque */

/* Roles, from least to most privileged where they nest: sdk evaluates only; viewer also
 * reads; editor also changes flags (and, later, experiments); admin also manages tokens. */
typedef enum sy_role { SY_ROLE_SDK, SY_ROLE_VIEWER, SY_ROLE_EDITOR, SY_ROLE_ADMIN } sy_role_t;

/* "sdk" ... "admin"; sy_role_parse returns -EINVAL for anything else. */
const char *sy_role_name(sy_role_t r);
int sy_role_parse(const char *s, sy_role_t *out);

/* Who is acting: the workspace every call is confined to, and the token's name (the audit
 * trail's actor). */
typedef struct sy_principal {
    int64_t workspace;
    int64_t token_id; /* 0 for the system itself */
    sy_role_t role;
    char name[64];
} sy_principal_t;

/* Server-wide defaults of an experiment's "safety" settings: what an experiment that does
 * not set a field follows (serve: the --auto-promotion-* options and
 * SWITCHYARD_AUTO_PROMOTION_* variables). An experiment's own settings override them field
 * by field; those it does not set follow the defaults of the process that loads it. */
typedef struct sy_exp_defaults {
    sy_safety_t safety;              /* min_sample_per_variant ... planned_lift_pct */
    bool sequential;                 /* the always-valid (mSPRT) test */
    double sequential_tau_squared;   /* its mixing variance; 0: derived at each look */
    double max_latency_increase_pct; /* the latency guardrail, % over control's mean */
} sy_exp_defaults_t;

/* The specification's: 1000 per variant, 0.95, 5 %, 48 h, 0.05, not sequential, no
 * manual approval, latency +10 %. */
#define SY_EXP_DEFAULTS                                                                            \
    ((sy_exp_defaults_t){.safety = SY_SAFETY_DEFAULTS, .max_latency_increase_pct = 10})

/* (serve reads them as an experiment's "safety" is read: sy_exp_defaults_read in
 * codec/experiment_json.h.) */

/* Promotion curves kept across engines opened one after another (`switchyard simulate`'s
 * runs, each its own engine): an engine whose plan is in the table takes its curve instead
 * of computing it again (~10 ms a curve; a run's plans recur in the next). A curve is a
 * function of its plan alone, so no result changes, only the time. At most `cap` curves
 * (~0.9 KiB each, allocated at create); a full neighbourhood gives up a slot. Not
 * thread-safe: one engine at a time uses it. */
typedef struct sy_engine_curves sy_engine_curves_t;

/* An empty table of `cap` >= 1 curves into *out: 0, -EINVAL, -ENOMEM. */
int sy_engine_curves_create(sy_engine_curves_t **out, size_t cap);
void sy_engine_curves_free(sy_engine_curves_t *c); /* NULL is a no-op */

typedef struct sy_engine_opts {
    const char *db;             /* store URI (a file path for SQLite) */
    int64_t (*now_ms)(void);    /* NULL: the real clock (or the engine's own, below) */
    int64_t fake_start_ms;      /* with now_ms NULL and this > 0: a clock of the engine's own
                                   that starts here and moves only by sy_engine_advance */
    sy_fractional_t fractional; /* bucketing rule of every workspace's flags */
    uint32_t max_units;         /* distinct units one experiment may hold; 0: 32 Mi */
    const sy_exp_defaults_t *exp_defaults; /* copied; NULL: SY_EXP_DEFAULTS */
    bool no_hourly_timeline;    /* no hourly timeline points (a simulation's many runs: they
                                   cost a results computation an hour and decide nothing);
                                   the points of changes are still written */
    sy_engine_curves_t *curves; /* borrowed (outlives the engine); NULL: each experiment
                                   keeps only its last curve an arm */
} sy_engine_opts_t;

/* Opens the store and builds every workspace's snapshot from it. */
int sy_engine_open(sy_engine_t **out, const sy_engine_opts_t *opts, sy_err_t *err);
void sy_engine_close(sy_engine_t *eng); /* NULL is a no-op */

int64_t sy_engine_now_ms(const sy_engine_t *eng);
/* Moves the engine's own clock (fake_start_ms) forward by `ms`; a no-op on another clock.
 * What `switchyard simulate` runs days of traffic with. */
void sy_engine_advance(sy_engine_t *eng, int64_t ms);
sy_store_t *sy_engine_store(sy_engine_t *eng); /* borrowed, for readiness checks */

/* On a store without workspaces: creates workspace `workspace` and an admin token named
 * "bootstrap-admin", writing its secret (NUL-terminated) into `secret` and setting
 * *created. On a store that has workspaces it does nothing (*created false), nor when
 * another node on the same database made `workspace` meanwhile (then served as it is). */
int sy_engine_bootstrap(sy_engine_t *eng, const char *workspace, char *secret, size_t cap,
                        bool *created, sy_err_t *err);

/* ---- workspaces and tokens ----------------------------------------------------------- */

/* Creates a workspace (audited as "system"); its id into *id. */
int sy_engine_workspace_create(sy_engine_t *eng, const char *name, int64_t *id, sy_err_t *err);
/* The id of workspace `name`, or -ENOENT. */
int sy_engine_workspace_find(sy_engine_t *eng, const char *name, int64_t *id, sy_err_t *err);
/* The name of the caller's own workspace into `out` (`cap` bytes, cut to fit): 0, or
 * -ENOENT when the engine does not know it (never for an authenticated caller). */
int sy_engine_workspace_name(sy_engine_t *eng, const sy_principal_t *who, char *out, size_t cap,
                             sy_err_t *err);

/* Longest token secret, NUL included. */
#define SY_TOKEN_MAX 64

/* Resolves a presented secret to its principal: 0, or -EACCES for an unknown or revoked
 * token. Known tokens cost one SHA-256 and no database access; an unknown one is looked
 * up in the store once (a token made offline with `switchyard token create`, in a
 * workspace perhaps made offline too, is then served without a restart). */
int sy_engine_authenticate(sy_engine_t *eng, const char *secret, size_t len, sy_principal_t *out);

/* Creates a token of `role` named `name` in the actor's workspace (or in `ws` when `actor`
 * is NULL: offline and bootstrap use). The secret is written to `secret` once and never
 * stored; *id gets the token's id. */
int sy_engine_token_create(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws,
                           const char *name, sy_role_t role, char *secret, size_t cap, int64_t *id,
                           sy_err_t *err);
int sy_engine_token_revoke(sy_engine_t *eng, const sy_principal_t *actor, int64_t id,
                           sy_err_t *err);
/* A token as listed: never its secret or hash. Strings are borrowed for the callback. */
typedef struct sy_token_info {
    int64_t id;
    const char *name;
    sy_role_t role;
    const char *prefix; /* the secret's first characters, to recognise it */
    int64_t created_ms;
    int64_t revoked_ms; /* 0: active */
} sy_token_info_t;
typedef int (*sy_token_cb)(void *arg, const sy_token_info_t *t);
/* Calls `cb` for each token of the actor's workspace, by id; a negative return of `cb`
 * stops the walk and is returned (-ENOMEM with `err` filled). */
int sy_engine_token_list(sy_engine_t *eng, const sy_principal_t *actor, sy_token_cb cb, void *arg,
                         sy_err_t *err);

/* ---- flags --------------------------------------------------------------------------- */

/* A piece of a flag document as the engine takes it (a flag object, "$evaluators",
 * "metadata"): its value, which core checks and compiles, and the same value as compact
 * JSON text, which the store keeps and the API shows back as it is. The caller makes both
 * from one parse, so that they agree (codec/flag_json.h: sy_flag_src_from_json); the
 * text is what a restart compiles again. Borrowed for the call. */
typedef struct sy_flag_src {
    const sy_value_t *value;
    const char *json; /* `len` bytes and a NUL */
    size_t len;
} sy_flag_src_t;

/* Creates or replaces flag `key` with the flagd flag object `def`. The workspace's
 * document with this change must load as flagd would load it (the flag is checked and
 * compiled alone, against the document's evaluators and metadata); otherwise -EINVAL with
 * the first problem in `err` (field = its JSON path) and nothing changes; -EINVAL "" when
 * `def` is no object. `problems` (caller-owned, may be NULL) receives every problem of the
 * flag, the warnings of a change made too (members it does not have, with the member
 * meant). A flag an active experiment drives is SY_ECONFLICT. */
int sy_engine_flag_put(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                       const sy_flag_src_t *def, bool *created, sy_problems_t *problems,
                       sy_err_t *err);
int sy_engine_flag_delete(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                          sy_err_t *err);
/* Flag `key`'s definition as the store keeps it: compact JSON text, NUL-terminated, into
 * *json (the caller's to free()), or -ENOENT, -ENOMEM. */
int sy_engine_flag_get(sy_engine_t *eng, const sy_principal_t *actor, const char *key, char **json,
                       sy_err_t *err);
/* A flag as the engine gives it back: its key and its definition's JSON text (compact, as
 * stored; `len` bytes, NUL-terminated), both borrowed for the callback. A negative return
 * stops the walk and is returned. */
typedef int (*sy_flag_cb)(void *arg, const char *key, const char *json, size_t len);
/* Calls `cb` for each flag of the actor's workspace, by key (bytewise). -ENOMEM with
 * `err` filled, or what `cb` returned. */
int sy_engine_flag_list(sy_engine_t *eng, const sy_principal_t *actor, sy_flag_cb cb, void *arg,
                        sy_err_t *err);

/* A whole flagd document as the engine takes it: its flags in the document's order (keys
 * unique), and its "$evaluators" and "metadata" as written (NULL: absent). "$schema" is
 * no state: it is not taken. Borrowed for the call. */
typedef struct sy_flag_doc_entry {
    const char *key; /* NUL-terminated */
    sy_flag_src_t def;
} sy_flag_doc_entry_t;
typedef struct sy_flag_doc {
    const sy_flag_doc_entry_t *flags;
    size_t n;
    const sy_flag_src_t *evaluators;
    const sy_flag_src_t *metadata;
} sy_flag_doc_t;

/* Replaces the whole flag document (flags, $evaluators, metadata) of the actor's
 * workspace, atomically, after validating all of it as flagd would load it: -EINVAL with
 * the first problem in `err` ("flags" for a bad key), SY_ECONFLICT when it changes a flag
 * an active experiment drives. `problems` (optional) receives every problem. Flags whose
 * definition and evaluators did not change stay compiled as they were. */
int sy_engine_flagset_put(sy_engine_t *eng, const sy_principal_t *actor, const sy_flag_doc_t *doc,
                          sy_problems_t *problems, sy_err_t *err);
/* The document as written, loadable by flagd, as a walk: `flag` for each flag in the
 * document's order, then `member` with "$evaluators" and "metadata" when the document has
 * them; texts as sy_flag_cb's. A negative return stops the walk and is returned; -ENOENT,
 * -ENOMEM with `err` filled. */
typedef struct sy_flag_doc_sink {
    sy_flag_cb flag;
    sy_flag_cb member; /* its key is the member's name */
    void *arg;
} sy_flag_doc_sink_t;
int sy_engine_flagset_get(sy_engine_t *eng, const sy_principal_t *actor,
                          const sy_flag_doc_sink_t *sink, sy_err_t *err);

/* ---- snapshots: what evaluation reads ------------------------------------------------ */

typedef struct sy_snapshot {
    int64_t workspace;
    int64_t revision;        /* the workspace's flag configuration version */
    const sy_flagset_t *set; /* compiled flags (what is served: with the kill switch
                                engaged, every driven flag at its control) */
} sy_snapshot_t;

/* The current snapshot of workspace `ws` with a reference taken (NULL for an unknown
 * workspace); give it back with sy_snapshot_release. */
const sy_snapshot_t *sy_engine_snapshot(sy_engine_t *eng, int64_t ws);
void sy_snapshot_release(const sy_snapshot_t *snap); /* NULL is a no-op */

/* ---- readers on other threads ---------------------------------------------------------- */

/* A data-plane thread's view of the engine: the workspaces' current snapshots and the
 * tokens, as last published. Each thread that serves makes its own reader (not shared);
 * no call below takes a lock or waits for the engine, except a refresh after a change
 * (a mutex held for a pointer copy). */
typedef struct sy_engine_reader sy_engine_reader_t;

int sy_engine_reader_new(sy_engine_t *eng, sy_engine_reader_t **out);
void sy_engine_reader_free(sy_engine_reader_t *r); /* NULL is a no-op */
/* Takes what the engine published last: call it before each request. What the reader gave
 * out before (snapshots) stays valid until the next refresh. */
void sy_engine_reader_refresh(sy_engine_reader_t *r);
/* Workspace `ws`'s snapshot in the reader's view (borrowed until the next refresh), or
 * NULL. */
const sy_snapshot_t *sy_engine_reader_snapshot(const sy_engine_reader_t *r, int64_t ws);
/* As sy_engine_authenticate for the tokens the view holds: 0, -EACCES (unknown, revoked),
 * or -ENOENT: a token the view does not hold that the store might (made offline): only
 * the engine's thread can look (sy_engine_authenticate). */
int sy_engine_reader_authenticate(sy_engine_reader_t *r, const char *secret, size_t len,
                                  sy_principal_t *out);
/* Whether some running experiment records OFREP exposures (sy_engine_exposure_seen is
 * worth calling); any thread. */
bool sy_engine_records_exposures(const sy_engine_t *eng);

/* ---- the serving loops' stall gauges ---------------------------------------------------- */

/* The loops that serve register their gauge (engine/loopstat.h) so that the engine can tell
 * how long their iterations take (GET /v1/system/loops; the metrics, later). The gauge
 * stays the caller's and must be removed before it is freed, once no thread reads the
 * gauges any more. Any thread; at most SY_ENGINE_LOOPS_MAX (-ENOSPC). */
#define SY_ENGINE_LOOPS_MAX 256
int sy_engine_loop_add(sy_engine_t *eng, sy_loopstat_t *s);
void sy_engine_loop_remove(sy_engine_t *eng, sy_loopstat_t *s);
/* Copies of at most `cap` registered gauges into `out`; returns how many there are. Any
 * thread, so that a serving thread can tell while the engine's loop is stuck. */
size_t sy_engine_loops(sy_engine_t *eng, sy_loopstat_view_t *out, size_t cap);
/* Every registered gauge starts again from zero. Any thread. */
void sy_engine_loops_reset(sy_engine_t *eng);

/* What the engine's group commits did since it opened (GET /metrics). Any thread: each
 * figure is read on its own (relaxed), a sample rather than a transaction. */
#define SY_COMMIT_SIZE_BUCKETS 8
#define SY_COMMIT_TIME_BUCKETS 14
extern const int64_t sy_commit_size_le[SY_COMMIT_SIZE_BUCKETS]; /* events; last INT64_MAX */
extern const int64_t sy_commit_us_le[SY_COMMIT_TIME_BUCKETS];   /* µs; last INT64_MAX */

/* Why an allocation changed (the `reason` of switchyard_allocation_changes_total), a
 * bounded set: each change counts under one. */
typedef enum sy_change_reason {
    SY_CHANGE_RESULTS,      /* the results said so: the auto-promotion check's steps */
    SY_CHANGE_MANUAL,       /* a person's step, promotion or rollback */
    SY_CHANGE_EMERGENCY,    /* an emergency rollback (sy_engine_emergency_rollback) */
    SY_CHANGE_SUCCESS_RATE, /* the health monitor: the success rate dropped past its limit */
    SY_CHANGE_ERROR_RATE,   /* ... the error rate rose past it (when the success rate held) */
    SY_CHANGE_P95,          /* ... the p95 latency went over its limit (when both rates held) */
    SY_CHANGE_RETRY_RATE,   /* ... only the retry rate rose past its limit */
    SY_CHANGE_REASONS
} sy_change_reason_t;
extern const char *const sy_change_reason_names[SY_CHANGE_REASONS]; /* "results", ... */

/* Notification channel types, in the order the counters use. */
#define SY_CHANNEL_TYPES 4
extern const char *const sy_channel_type_names[SY_CHANNEL_TYPES]; /* "slack", "pagerduty", ... */
typedef struct sy_engine_counters {
    int64_t events_written[3]; /* by sy_event_kind_t: rows the event log gained */
    int64_t events_skipped[3]; /* an id the workspace had, or an exposure that changed nothing */
    int64_t commits, commit_failures; /* group commits of events and KPI events */
    int64_t pruned[4]; /* by retention (sy_engine_retention): events (deleted or thinned to their
                          ids), KPI events, audit events, experiments' timeline points */
    int64_t commit_size[SY_COMMIT_SIZE_BUCKETS]; /* commits by the events and KPI events in them */
    int64_t commit_size_sum;
    int64_t commit_us[SY_COMMIT_TIME_BUCKETS]; /* commits by how long they took */
    int64_t commit_us_sum;
    int64_t queued;        /* submissions waiting for the next commit, as the loop last saw them */
    int64_t changes[3][2]; /* allocation changes: [step, promote, rollback][auto, manual] */
    /* the same by why they were made: [action][auto, manual][sy_change_reason_t] */
    int64_t change_reasons[3][2][SY_CHANGE_REASONS];
    /* notification attempts by channel type (sy_channel_type_names) and outcome:
     * [delivered, retried, failed] (failed: given up after the last attempt) */
    int64_t deliveries[SY_CHANNEL_TYPES][3];
} sy_engine_counters_t;
void sy_engine_counters(sy_engine_t *eng, sy_engine_counters_t *out);
/* Counts one notification attempt the notifier made: `type` a channel type, `event`
 * "notification_delivered", "notification_retry" or "notification_failed" (anything else,
 * or a type of none, is not counted). Any thread (the notifier's log callback). */
void sy_engine_count_delivery(sy_engine_t *eng, const char *type, const char *event);

/* The engine's thread from now on: the calling one. Changes, compilation, ingest and
 * commits then assert (builds with assertions) that they run on it, never on a serving
 * thread. Unbound (the library, simulations), any one thread at a time may drive it. */
void sy_engine_bind_thread(sy_engine_t *eng);

/* Called on the engine thread after every published change of workspace `ws`. */
typedef void (*sy_engine_change_cb)(void *arg, int64_t ws, int64_t revision);
void sy_engine_on_change(sy_engine_t *eng, sy_engine_change_cb cb, void *arg);

/* ---- retention ------------------------------------------------------------------------- */

/* How long what is counted is kept (serve's --event-retention and --audit-retention). */
typedef struct sy_retention_opts {
    int64_t events_ms;   /* events and KPI events older than this are pruned; 0: kept */
    int64_t audit_ms;    /* audit events older than this are deleted; 0: kept */
    int64_t limit;       /* most rows a run prunes of each kind (the log's places a run
                            checkpoints: 10 times it); 0: 10,000 */
    int64_t group_units; /* units of the experiments a run replays with one scan of the log
                            (their copies in memory at once); 0: 4 Mi */
} sy_retention_opts_t;

typedef struct sy_retention_report {
    int64_t checkpointed;   /* experiments checkpointed */
    int64_t checkpoint_seq; /* the log's place their checkpoints hold the events through */
    int64_t events;         /* events pruned (deleted, or thinned to their ids) */
    int64_t kpi_events;     /* KPI events pruned */
    int64_t audit;          /* audit events deleted */
    int64_t timeline;       /* experiments' timeline points deleted (with events_ms) */
    bool more;              /* the run stopped at its bound: run it again soon */
} sy_retention_report_t;

/* One bounded run of retention at the engine's clock, in one transaction: a run that fails
 * changes nothing. Events older than events_ms are pruned once their experiment's
 * checkpoint holds them: every experiment with events since the last checkpoint is
 * checkpointed at the last event applied (its aggregates as a replay of the log rebuilds
 * them, replayed from its previous checkpoint), and the oldest events up to that place are
 * deleted, or thinned to their ids when they have one (a retried event stays a duplicate).
 * A restart restores each checkpoint and replays only what follows it: the same numbers as
 * before. KPI events older than events_ms are pruned too, never those a tripwire reads
 * (regression.c), experiments' timeline points older than events_ms, and audit events older
 * than audit_ms. Route counters and notifications have their own retention. */
int sy_engine_retention(sy_engine_t *eng, const sy_retention_opts_t *opts,
                        sy_retention_report_t *out, sy_err_t *err);

/* ---- experiments ----------------------------------------------------------------------- */

/* Units first exposed within this long after an allocation change are left out of the
 * anytime-valid SRM test (an app reports an exposure some time after it evaluated the
 * flag: part of them were assigned by the split before the change). */
#define SY_EXP_SRM_GRACE_MS (10 * 60 * 1000)

/* An experiment runs over one flag: its variants' weights drive the flag's `fractional`
 * split while it runs, so assignment is stable and OFREP serves it. Its life: draft ->
 * running -> stopped | terminated; any other transition is SY_ECONFLICT. Starting
 * replaces the flag's targeting by the split; ending puts the flag back as it was before
 * the start. Every transition is one transaction with its audit events. Definitions and
 * experiments are C (sy_exp_def_t, sy_experiment_t; codec/experiment_json.h reads and
 * writes their JSON, docs/api.md "Experiments"), and so are their results and promotion
 * (codec/results_json.h). */

/* Longest layer name (A-Z a-z 0-9 . _ -), and its description, in bytes. */
#define SY_LAYER_NAME_MAX        64
#define SY_LAYER_DESCRIPTION_MAX 1000

/* Longest experiment (and flag) key, variant key and description, in bytes. */
#define SY_EXP_KEY_MAX         256
#define SY_EXP_KPI_NAME_MAX    64  /* a CUPED covariate's KPI domain or metric, bytes */
#define SY_EXP_LOOKBACK_MAX    365 /* CUPED's KPI lookback, days */
#define SY_EXP_VARIANT_MAX     63
#define SY_EXP_DESCRIPTION_MAX 1000

/* The fields of a definition's "safety", as bits of sy_exp_def_t.safety_set (this order is
 * the API's). */
enum {
    SY_EXP_SAFETY_MIN_SAMPLE,
    SY_EXP_SAFETY_MIN_CONFIDENCE,
    SY_EXP_SAFETY_MIN_IMPROVEMENT,
    SY_EXP_SAFETY_MIN_RUNTIME,
    SY_EXP_SAFETY_MAX_ERROR_RATE,
    SY_EXP_SAFETY_SEQUENTIAL,
    SY_EXP_SAFETY_TAU,
    SY_EXP_SAFETY_MANUAL,
    SY_EXP_SAFETY_MAX_LATENCY,
    SY_EXP_SAFETY_PLANNED_LIFT,
    SY_EXP_SAFETY_PROMOTION,
    SY_EXP_SAFETY_N
};
/* The fields of its "allocation" (the steps' guardrails), as bits of allocation_set. */
enum {
    SY_EXP_ALLOC_MIN_CONFIDENCE = 1,
    SY_EXP_ALLOC_MAX_STEP = 2,
    SY_EXP_ALLOC_COOLDOWN = 4,
    SY_EXP_ALLOC_MAX_CHANGES = 8
};

/* One variant of a definition. */
typedef struct sy_exp_variant {
    char key[SY_EXP_VARIANT_MAX + 1];
    int64_t weight; /* a request's: 0 to 1000000, relative; an answer's: percentage points */
    bool control;   /* exactly one variant is the control */
    char *value;    /* a request's: the flag's value for it as JSON text, for a flag the
                       experiment creates (NULL: its key); the reader's (sy_exp_def_clear).
                       Answers: NULL */
} sy_exp_variant_t;

/* A bandit's settings (docs/api.md "Bandits", docs/stats.md "Bandits"): the experiment's
 * weights follow Thompson sampling over its primary metric instead of guarded steps. */
typedef struct sy_exp_bandit {
    bool on;                /* "bandit" given: the experiment runs as a bandit */
    int64_t update_minutes; /* between two re-weightings: 1 to 10080 (default 60) */
    int64_t min_weight_pct; /* each arm's floor, whole points: n * it <= 100 (default 5) */
    double burn_in_hours;   /* equal weights from the start for this long: 0 to 8784 (24) */
} sy_exp_bandit_t;

#define SY_EXP_BANDIT_DEFAULTS                                                                     \
    ((sy_exp_bandit_t){.on = true, .update_minutes = 60, .min_weight_pct = 5, .burn_in_hours = 24})

/* An experiment's definition (docs/api.md, "Experiments"): what a create takes, what an
 * update replaces, what an answer holds. A request fills what it gives over
 * sy_exp_def_init's defaults and marks its safety and allocation fields in *_set. */
typedef struct sy_exp_def {
    char key[SY_EXP_KEY_MAX + 1];
    char flag[SY_EXP_KEY_MAX + 1]; /* "": the key */
    size_t n_variants;             /* 2 to SY_EXP_MAX_ARMS */
    sy_exp_variant_t variants[SY_EXP_MAX_ARMS];
    sy_metric_t metric;
    bool latency_guardrail; /* "guardrails": "error_rate" always, "latency" too */
    bool record_exposures;  /* OFREP's evaluations are exposures */
    bool cuped;             /* "cuped": {"enabled": true}: CUPED-adjusted figures decide */
    /* "cuped": {"kpi": {domain, metric}, "lookback_days"}: a unit's covariate is the sum of
     * its KPI events of that metric in the lookback before its first exposure (ingest.c);
     * "" without one, and lookback_days 0 */
    char cuped_kpi_domain[SY_EXP_KPI_NAME_MAX + 1];
    char cuped_kpi_metric[SY_EXP_KPI_NAME_MAX + 1];
    int cuped_lookback_days; /* 1 to SY_EXP_LOOKBACK_MAX with a kpi (28 unless given) */
    bool has_description;
    char description[SY_EXP_DESCRIPTION_MAX + 1];
    sy_exp_defaults_t safety;      /* the fields safety_set names are the experiment's own; in an
                                      answer the others hold the server-wide defaults in force */
    unsigned safety_set;           /* 1u << SY_EXP_SAFETY_* */
    sy_guardrails_t allocation;    /* its own guardrails: those allocation_set names */
    unsigned allocation_set;       /* SY_EXP_ALLOC_* */
    sy_health_thresholds_t health; /* the health monitor's thresholds */
    int64_t health_min_events;     /* samples a window needs before it is judged */
    sy_exp_bandit_t bandit;        /* .on false: not a bandit */
    /* its exclusive layer ("Layers" below): "" for none */
    char layer[SY_LAYER_NAME_MAX + 1];
    int64_t layer_pct_bp;   /* its share of the layer's hash space, basis points (1..10000) */
    int64_t layer_range[2]; /* [start, end) in basis points, the engine's to assign: a
                               request's is not read; {0, 0} in a stored row of none yet */
} sy_exp_def_t;

/* The specification's defaults of what a definition does not give (no variants); a
 * health window is judged from 1000 samples (a 5-point drop is then 4 to 7 sds: noise does
 * not roll back). */
#define SY_EXP_HEALTH_MIN_EVENTS 1000
#define SY_EXP_DEF_DEFAULTS                                                                        \
    ((sy_exp_def_t){.metric = SY_METRIC_CONVERSION,                                                \
                    .safety = SY_EXP_DEFAULTS,                                                     \
                    .allocation = SY_GUARDRAILS_DEFAULTS,                                          \
                    .health = SY_HEALTH_THRESHOLDS_DEFAULTS,                                       \
                    .health_min_events = SY_EXP_HEALTH_MIN_EVENTS})

/* An experiment as answered: its definition as normalized (weights in points, the flag
 * named, every safety setting in force), its state and the live split. */
typedef struct sy_experiment {
    sy_exp_def_t def;
    char state[16]; /* "draft", "running", "stopped", "terminated", "promoting", "promoted",
                       "rolled_back" */
    int64_t weights[SY_EXP_MAX_ARMS]; /* now, by variant (def.variants' order), points */
    int64_t created_ms;
    int64_t started_ms; /* 0: not started */
    int64_t stopped_ms; /* 0: not ended */
} sy_experiment_t;

/* Creates a draft from `def`. A flag that does not exist is created (serving control) in
 * the same transaction; one that exists must have every variant (and the definition gives
 * no values). -EINVAL names the offending field ("variants[1].key", "safety.min_confidence");
 * -EEXIST for a taken key; SY_ECONFLICT when another draft or running experiment already
 * uses the flag. The experiment as created into *out. */
int sy_engine_experiment_create(sy_engine_t *eng, const sy_principal_t *actor,
                                const sy_exp_def_t *def, sy_experiment_t *out, sy_err_t *err);
/* The workspace's experiments by creation: *out an array of *n (owned: free()). */
int sy_engine_experiment_list(sy_engine_t *eng, const sy_principal_t *actor, sy_experiment_t **out,
                              size_t *n, sy_err_t *err);
/* Replaces experiment `key`'s settings by `def` (PATCH: the edge merges an RFC 7386 patch
 * into the current definition and reads the result; a safety field it removes follows the
 * server-wide default again). `def` is checked whole as a create checks it (-EINVAL naming
 * the field). Only a draft, running or promoting experiment changes (SY_ECONFLICT naming
 * "state"); its key, flag, variants, metric, guardrails and record_exposures never change
 * (SY_ECONFLICT naming the field), nor, once it has started, safety.sequential and
 * safety.sequential_tau_squared (the running always-valid p-value holds only for the test
 * it began with), nor whether it is a bandit or its bandit.burn_in_hours (SY_ECONFLICT
 * naming "bandit" or "bandit.burn_in_hours"; its update_minutes and min_weight_pct may).
 * Audited ("experiment.update", before and after). A definition that changes nothing
 * writes nothing. On a refusal nothing changes. The experiment after it into *out (may be
 * NULL). */
int sy_engine_experiment_update(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                const sy_exp_def_t *def, sy_experiment_t *out, sy_err_t *err);
/* The experiment into *out, or -ENOENT. */
int sy_engine_experiment_get(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                             sy_experiment_t *out, sy_err_t *err);
/* Moves experiment `key` to `state` ("running", "stopped" or "terminated"; -EINVAL for
 * another); the experiment after the change into *out. */
int sy_engine_experiment_transition(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                    const char *state, sy_experiment_t *out, sy_err_t *err);

/* Longest state name ("rolled_back"), NUL included. */
#define SY_EXP_STATE_LEN 16

/* ---- layers ---------------------------------------------------------------------------- */

/* A layer (namespace) of a workspace gives each of its experiments a disjoint range of one
 * layer-wide hash of the targeting key, so that a unit is in at most one of them; its
 * holdout, the range [0, holdout) of that hash, is in none of them and is served every
 * experiment's control (docs/api.md "Layers", docs/flags.md for the targeting it compiles
 * to). A layer is a workspace setting ("layer:NAME"): audited (layer.create, .update,
 * .delete), heard by the other nodes as every setting is. Its ranges are its experiments'
 * own: a draft or active experiment holds its range (assigned at its create), an ended one
 * frees it. Ranges are in basis points (hundredths of a percent) of SY_LAYER_BP. */
#define SY_LAYER_BP          10000
#define SY_LAYER_HOLDOUT_MAX 5000 /* basis points: half the space */
#define SY_LAYER_RANGES_MAX  100  /* draft and active experiments of one layer */
#define SY_LAYERS_MAX        100  /* layers of one workspace */

/* A range of a layer's space: the holdout, an experiment's, or free. */
typedef struct sy_layer_range {
    char kind[12];                       /* "holdout", "experiment", "free" */
    char experiment[SY_EXP_KEY_MAX + 1]; /* kind "experiment": its key */
    char state[SY_EXP_STATE_LEN];        /* ... and its state */
    int64_t start_bp, end_bp;            /* [start, end) */
} sy_layer_range_t;

typedef struct sy_layer {
    char name[SY_LAYER_NAME_MAX + 1];
    char description[SY_LAYER_DESCRIPTION_MAX + 1];
    int64_t holdout_bp;
    int64_t created_ms, updated_ms;
    size_t n_ranges; /* the whole space [0, SY_LAYER_BP) in order, every part once */
    sy_layer_range_t ranges[2 * SY_LAYER_RANGES_MAX + 2];
    int64_t free_bp; /* of the free ranges together */
} sy_layer_t;

/* A create (name required) or a change (name NULL: the path's) of a layer; strings
 * borrowed for the call. */
typedef struct sy_layer_change {
    const char *name;
    bool has_description;
    const char *description;
    bool has_holdout;
    double holdout_pct; /* 0 to 50, at most 2 decimals */
} sy_layer_change_t;

/* Creates layer c->name (holdout 0 unless given). -EINVAL naming "name", "holdout_pct" or
 * "description"; -EEXIST for a name taken; SY_ECONFLICT past SY_LAYERS_MAX. */
int sy_engine_layer_create(sy_engine_t *eng, const sy_principal_t *actor,
                           const sy_layer_change_t *c, sy_layer_t *out, sy_err_t *err);
/* The workspace's layers by name: *out an array of *n (owned: free()). */
int sy_engine_layer_list(sy_engine_t *eng, const sy_principal_t *actor, sy_layer_t **out, size_t *n,
                         sy_err_t *err);
/* Layer `name` with its ranges, or -ENOENT. */
int sy_engine_layer_get(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                        sy_layer_t *out, sy_err_t *err);
/* Changes layer `name`'s description and holdout. The holdout changes only while no
 * experiment of the layer is active (SY_ECONFLICT naming "holdout_pct" and the experiment:
 * it would move units), and never over a draft's range (the same). */
int sy_engine_layer_update(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                           const sy_layer_change_t *c, sy_layer_t *out, sy_err_t *err);
/* Deletes layer `name`: SY_ECONFLICT naming "name" while a draft or active experiment is
 * in it. */
int sy_engine_layer_delete(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                           sy_err_t *err);

/* A variant as the results show it: what the engine counts beside core's analysis. */
typedef struct sy_results_variant {
    char key[SY_EXP_VARIANT_MAX + 1];
    bool control;
    int64_t weight;      /* percentage points now */
    int64_t units;       /* distinct units exposed */
    int64_t errors;      /* units with an error */
    int64_t conversions; /* units with a successful outcome */
    int64_t crossovers;  /* its units later exposed to another variant (counted here) */
    int64_t latency_n;   /* events that carried a latency */
    int64_t covariates;  /* CUPED: its units whose exposure carried a covariate */
    /* treatments with a planned sample (core's has_sample): the units both arms still
     * need, and the hours that takes at the traffic so far (has_hours_left false: none
     * yet) */
    int64_t still_needed;
    bool has_hours_left;
    double hours_left;
} sy_results_variant_t;

/* An experiment of a layer: its layer's holdout, the units that reported exposures to the
 * variant "holdout" (counted apart: no arm of the analysis, not in SRM), against the
 * experiment's served traffic (every variant together, as served), as z-test (conversion)
 * or Welch's t-test (mean) of served against holdout (docs/stats.md, "Exclusive layers and
 * holdouts"). */
typedef struct sy_results_holdout {
    int64_t units, conversions; /* the holdout's units exposed, and converted */
    double mean;                /* their mean value per unit (metric mean) */
    int64_t served_units, served_conversions;
    double served_mean;
    bool compared; /* both sides hold enough units for the test (else the figures below
                      are not set) */
    double diff;   /* served minus holdout: rate (conversion) or mean */
    double diff_ci_low, diff_ci_high;       /* 95 % */
    bool has_lift;                          /* the holdout's level is not 0 */
    double lift, lift_ci_low, lift_ci_high; /* diff / the holdout's level (delta method) */
    double p_value;                         /* two-sided */
} sy_results_holdout_t;

/* The results: every variant's numbers, each treatment against control, SRM, and the
 * decision with its reasons. `r` is core/experiment's analysis, its arms by variant. */
typedef struct sy_exp_results {
    char experiment[SY_EXP_KEY_MAX + 1];
    char state[SY_EXP_STATE_LEN]; /* "draft", "running", ... */
    sy_metric_t metric;
    double runtime_hours;
    bool sequential;        /* safety.sequential */
    bool latency_guardrail; /* the latency guardrail is on */
    bool srm_sequential;    /* the anytime-valid SRM test runs: its p and log e-value */
    double srm_seq_p, srm_log_e;
    int64_t units; /* distinct units of the experiment */
    size_t n_variants;
    sy_results_variant_t variants[SY_EXP_MAX_ARMS];
    sy_experiment_result_t r;
    /* a bandit's state (has_bandit: it runs as one; docs/api.md "Bandits") */
    bool has_bandit;
    sy_exp_bandit_t bandit;           /* its settings */
    int64_t bandit_burn_in_until_ms;  /* equal weights until then (0: not started) */
    int64_t bandit_next_update_ms;    /* its next look (0: none: it no longer runs) */
    int64_t bandit_updates;           /* the re-weightings it made */
    int bandit_best;                  /* the variant most likely best */
    double bandit_p[SY_EXP_MAX_ARMS]; /* each variant's probability of being the best */
    double bandit_regret;             /* cumulative regret estimate (core/bandit.h) */
    char layer[SY_LAYER_NAME_MAX + 1]; /* its layer, "" for none */
    bool has_holdout;                  /* in a layer: the holdout's figures */
    sy_results_holdout_t holdout;
} sy_exp_results_t;

/* The results of experiment `key` into *out (owned: free()); -ENOENT, -ENOMEM, -EINVAL for
 * aggregates that contradict each other. */
int sy_engine_experiment_results(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                 sy_exp_results_t **out, sy_err_t *err);
/* The holdout's figures of every experiment of layer `name` that ran (results as
 * sy_engine_experiment_results answers them, *n of them into *out, owned: free()), by
 * creation, and the layer's pooled into *pooled: every experiment's served traffic and
 * holdout units summed, over those of the first one's metric (a unit reported by several
 * experiments counts in each). -ENOENT for no such layer. */
int sy_engine_layer_results(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                            sy_exp_results_t **out, size_t *n, sy_results_holdout_t *pooled,
                            sy_err_t *err);

/* Where a latency guardrail stands: not settled yet, passed, failed. */
typedef enum sy_latency_verdict {
    SY_LATENCY_UNSETTLED,
    SY_LATENCY_PASSED,
    SY_LATENCY_FAILED,
} sy_latency_verdict_t;

#define SY_PROMOTION_WARNINGS_MAX 8
#define SY_PROMOTION_WARNING_LEN  160

/* Promotion eligibility of the best treatment: the five safety checks and warnings. */
typedef struct sy_exp_promotion {
    char experiment[SY_EXP_KEY_MAX + 1];
    bool eligible;   /* the five checks hold, no SRM alarm, the latency guardrail passed */
    bool has_winner; /* the best treatment so far (core's candidate) */
    char winner[SY_EXP_VARIANT_MAX + 1];
    bool has_confidence;
    double confidence;
    bool has_improvement;
    double improvement_pct;
    sy_promotion_t checks;  /* all false without a candidate */
    bool latency_guardrail; /* the guardrail is on: `latency` says where it stands */
    sy_latency_verdict_t latency;
    size_t n_warnings;
    char warnings[SY_PROMOTION_WARNINGS_MAX][SY_PROMOTION_WARNING_LEN];
} sy_exp_promotion_t;

/* Promotion eligibility of experiment `key` into *out; as sy_engine_experiment_results. */
int sy_engine_experiment_promotion(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                   sy_exp_promotion_t *out, sy_err_t *err);

/* ---- timeline --------------------------------------------------------------------------- */

/* An experiment's results over time (engine/timeline.c): a point at its start, at every
 * hour on the hour of the engine's clock while it is running, promoting or promoted, and
 * at every allocation change (step, promotion, rollback: written in the change's own
 * transaction, with its cause). A point is its results as sy_engine_experiment_results
 * answers them at that moment, kept as compact JSON text (codec/timeline_json.h) and
 * pruned with the events (sy_retention_opts_t.events_ms). */
#define SY_TIMELINE_LIMIT_DEFAULT 1000
#define SY_TIMELINE_LIMIT_MAX     10000

typedef struct sy_timeline_query {
    int64_t since_ms; /* points at or after it (0: from the first) */
    int64_t until_ms; /* points at or before it (INT64_MAX: to the last) */
    int64_t limit;    /* 1 to SY_TIMELINE_LIMIT_MAX */
} sy_timeline_query_t;

/* One point: its time and JSON text, borrowed for the call; a non-zero return stops. */
typedef int (*sy_timeline_cb)(void *arg, int64_t at_ms, const char *point);

typedef struct sy_timeline_page {
    bool sequential;       /* the experiment's safety.sequential: which intervals points hold */
    bool has_next;         /* more points follow the page within the query's span */
    int64_t next_since_ms; /* then: the since_ms of the next page */
} sy_timeline_page_t;

/* The points of experiment `key` in the query's span, oldest first, to `cb`; *page says
 * what follows. -ENOENT, -EINVAL naming "limit" or "since_ms" (after until_ms). */
int sy_engine_experiment_timeline(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                  const sy_timeline_query_t *q, sy_timeline_cb cb, void *arg,
                                  sy_timeline_page_t *page, sy_err_t *err);

/* ---- allocation ------------------------------------------------------------------------- */

/* An experiment's traffic moves in guarded steps (core/allocation.h) toward a winner:
 * running -> promoting -> promoted at 100 %; a manual promotion moves the winner to 100 %
 * at once; a rollback sends everything to control (rolled_back). Every change is one
 * transaction with the flag's split, the experiment, a history row (with the winner's
 * health as the baseline) and its audit events. Weights are percentage points. */

/* A variant's share of the traffic. */
typedef struct sy_variant_weight {
    char key[SY_EXP_VARIANT_MAX + 1];
    int64_t weight; /* percentage points */
} sy_variant_weight_t;

/* The newest history rows GET .../allocation carries (GET .../history: all of them). */
#define SY_ALLOCATION_HISTORY_LIMIT 10

/* The rate limit of steps: the workspace's daily count (core/allocation.h: it resets 24 h
 * after its last step) and when the next step may come. */
typedef struct sy_rate_limit {
    int64_t changes_today;
    int64_t max_changes_per_day;
    bool has_resets_at; /* the count is not 0 */
    int64_t resets_at_ms;
    bool has_last_change;
    int64_t last_change_ms;
    int64_t next_allowed_ms; /* after the cooldown, and after the reset once used up */
    int64_t history_limit;   /* SY_ALLOCATION_HISTORY_LIMIT */
} sy_rate_limit_t;

/* An experiment's allocation now (its history: sy_engine_experiment_history). */
typedef struct sy_allocation {
    char experiment[SY_EXP_KEY_MAX + 1];
    char state[SY_EXP_STATE_LEN];
    size_t n; /* variants, in definition order; those of weight > 0 are the active ones */
    sy_variant_weight_t weights[SY_EXP_MAX_ARMS];
    sy_guardrails_t guardrails; /* the experiment's, over its workspace's */
    sy_rate_limit_t rate_limit;
} sy_allocation_t;

int sy_engine_allocation_get(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                             sy_allocation_t *out, sy_err_t *err);

/* A step toward a winner (POST .../allocation/apply). */
typedef struct sy_step_request {
    const char *winning_variant;
    double confidence;         /* 0..1 */
    double delta;              /* the winner's delta, in % */
    const char *evaluation_id; /* NULL: none; a retry of an applied one is not applied again */
} sy_step_request_t;

/* What a step did: applied (to `state`, `weights`; a duplicate evaluation id: applied
 * before, only `weights` told), or refused by the guardrail `refused_by`. */
typedef struct sy_step_answer {
    bool applied;
    bool duplicate;
    bool refused;
    char refused_by[32]; /* sy_refusal_name */
    int64_t step;        /* points moved */
    size_t n;
    sy_variant_weight_t weights[SY_EXP_MAX_ARMS];
    char state[SY_EXP_STATE_LEN];
    sy_rate_limit_t rate_limit; /* as it is after the step (not told of a duplicate) */
} sy_step_answer_t;

/* Applies one step of `req` to experiment `key`. 0 with *out applied (or a duplicate);
 * SY_ECONFLICT when a guardrail refuses it (then out->refused, out->refused_by and
 * out->rate_limit are set and err->field names the guardrail) or the experiment is not
 * running or promoting (out->refused false); -EINVAL naming "winning_variant" when it
 * names no variant, or "evaluation_id" (1 to 64 bytes). */
int sy_engine_allocation_apply(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                               const sy_step_request_t *req, sy_step_answer_t *out, sy_err_t *err);

/* A promotion to 100 % (POST .../promote). */
typedef struct sy_promote_request {
    const char *variant;     /* NULL: the results' winner */
    const char *promoted_by; /* NULL: the actor's name */
    const char *metadata;    /* a JSON object as text, kept in the history; NULL: none */
} sy_promote_request_t;

/* Moves the winner to 100 %: promoted (the experiment after it: sy_engine_experiment_get).
 * `req` NULL: all defaults. SY_ECONFLICT when promoted already, not running or
 * promoting, or without a winner to promote; -EINVAL naming "variant" or "metadata". */
int sy_engine_experiment_promote(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                 const sy_promote_request_t *req, sy_err_t *err);
/* The workspace's guardrails (core/allocation.h) into *out: what its experiments' steps are
 * held to except where an experiment's "allocation" sets its own. */
int sy_engine_guardrails_get(sy_engine_t *eng, const sy_principal_t *actor, sy_guardrails_t *out,
                             sy_err_t *err);
/* A change to some of them: those marked given take their value in `v`. */
typedef struct sy_guardrails_change {
    bool has_min_confidence, has_max_step_pct, has_cooldown_hours, has_max_changes_per_day;
    sy_guardrails_t v;
} sy_guardrails_change_t;
/* Changes them, durably and audited ("guardrails.update"); -EINVAL naming the field (the
 * bounds of sy_guardrails_check). The guardrails after it into *out. */
int sy_engine_guardrails_put(sy_engine_t *eng, const sy_principal_t *actor,
                             const sy_guardrails_change_t *change, sy_guardrails_t *out,
                             sy_err_t *err);
/* A rollback (DELETE .../promote). */
typedef struct sy_rollback_request {
    const char *reason;         /* NULL: "manual rollback"; at most 500 bytes */
    const char *rolled_back_by; /* NULL: the actor's name */
} sy_rollback_request_t;

/* Sends all traffic to control: rolled_back (the experiment after it:
 * sy_engine_experiment_get). `req` NULL: all defaults. SY_ECONFLICT when there is nothing
 * to roll back. */
int sy_engine_experiment_rollback(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                  const sy_rollback_request_t *req, sy_err_t *err);

/* One allocation change of the history. Strings are borrowed for the callback; before,
 * after ({variant: points}) and detail (winner, confidence, reason, baseline ...) are the
 * JSON texts the store holds. */
typedef struct sy_history_entry {
    int64_t id;
    int64_t at_ms;
    const char *action; /* "step", "promote", "rollback" */
    const char *actor;
    const char *before, *after, *detail;
} sy_history_entry_t;
typedef int (*sy_history_cb)(void *arg, const sy_history_entry_t *h);
/* Calls `cb` for each change of experiment `key` (steps, promotions and rollbacks), oldest
 * first: all of them, or the newest `newest` when not 0. A negative return of `cb` stops
 * the walk and is returned (-ENOMEM with `err` filled). */
int sy_engine_experiment_history(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                 size_t newest, sy_history_cb cb, void *arg, sy_err_t *err);

/* ---- auto-promotion and the timers --------------------------------------------------------- */

/* An experiment's current split: each variant's weight in percentage points, in the
 * definition's order. */
typedef struct sy_exp_split {
    size_t n; /* variants, 2..SY_EXP_MAX_ARMS */
    struct {
        char variant[SY_EXP_VARIANT_MAX + 1];
        int64_t weight; /* percentage points */
    } v[SY_EXP_MAX_ARMS];
} sy_exp_split_t;

/* What the auto-promotion check did with one experiment. */
typedef enum sy_auto_action {
    SY_AUTO_NONE,                /* its results do not say promote */
    SY_AUTO_STEP,                /* took its next guarded step */
    SY_AUTO_PROMOTE,             /* promoted to 100 % at once (safety.promotion "full") */
    SY_AUTO_REFUSED,             /* a guardrail refused the step or promotion */
    SY_AUTO_AWAITING_APPROVAL,   /* a winner that require_manual_approval holds */
    SY_AUTO_HELD_BY_KILL_SWITCH, /* a winner while its workspace's kill switch is engaged */
    SY_AUTO_WOULD_STEP,          /* dry run: what it would have done */
    SY_AUTO_WOULD_PROMOTE,
    SY_AUTO_ERROR, /* its analysis, step or promotion failed: `message` says why */
} sy_auto_action_t;

/* One experiment's entry of the check's report. Strings are "" where there is none. */
typedef struct sy_auto_outcome {
    char experiment[SY_EXP_KEY_MAX + 1];
    int64_t workspace;
    bool has_decision;      /* false when its analysis failed */
    sy_decision_t decision; /* its results' */
    bool has_winner;        /* the decision is promote */
    char winner[SY_EXP_VARIANT_MAX + 1];
    sy_auto_action_t action;
    bool has_split; /* stepped or promoted: the split and state after it */
    sy_exp_split_t split;
    char state[16];      /* "promoting", "promoted" (with has_split) */
    bool has_refused_by; /* SY_AUTO_REFUSED: the guardrail */
    char refused_by[64];
    bool has_message; /* SY_AUTO_REFUSED and SY_AUTO_ERROR: why */
    char message[160];
    bool has_reason; /* SY_AUTO_NONE: the results' first reason */
    char reason[SY_EXP_REASON_LEN];
} sy_auto_outcome_t;

/* The check's report: an entry per experiment checked, in the engine's order. */
typedef struct sy_auto_report {
    int64_t at_ms; /* the engine's clock when it ran */
    bool dry_run;
    sy_auto_outcome_t *v; /* the caller's to free() */
    size_t n;             /* the experiments checked */
} sy_auto_report_t;

/* Analyses every running or promoting experiment of the actor's workspace (of every
 * workspace when `actor` is NULL: the timer, acting as "system"). One whose results say
 * promote takes its next guarded step, with the winner's confidence and lift as its
 * evidence, or with safety.promotion "full" is promoted to 100 % at once (held only by the
 * cooldown after an earlier change); with require_manual_approval, or when `dry_run` (1; 0
 * steps, -1 as the timers are set), it is only reported. What it did into *report (its
 * array the caller's). A step or promotion that fails is its entry's SY_AUTO_ERROR (or
 * SY_AUTO_REFUSED), not the call's: the call fails (-ENOMEM) only when the report cannot
 * be made, and then before it checks anything. */
int sy_engine_auto_promotion_check(sy_engine_t *eng, const sy_principal_t *actor, int dry_run,
                                   sy_auto_report_t *report, sy_err_t *err);

typedef struct sy_engine_timers {
    int64_t auto_promotion_ms;   /* between two auto-promotion checks; 0: off */
    bool auto_promotion_dry_run; /* report what would be stepped, step nothing */
    int64_t health_ms;           /* between two health checks; 0: off */
    int64_t regression_ms;       /* between two evaluations of every tripwire; 0: off */
} sy_engine_timers_t;

/* Sets the timers; the first check comes one interval from now. */
void sy_engine_set_timers(sy_engine_t *eng, const sy_engine_timers_t *t);
/* The timers as set, and the server-wide safety defaults in force (GET
 * /v1/auto-promotion/config). */
sy_engine_timers_t sy_engine_timers(const sy_engine_t *eng);
sy_exp_defaults_t sy_engine_exp_defaults(const sy_engine_t *eng);

/* Where the current health the monitor judges comes from. */
typedef enum sy_health_source {
    SY_HEALTH_FROM_EVENTS, /* the watched variant's events since the last judgement */
    SY_HEALTH_PUSHED,      /* POST .../health: it stands until the next change */
} sy_health_source_t;

/* What the health monitor sees of an experiment. */
typedef struct sy_health_view {
    bool has_watched; /* a step or promotion moved traffic to a winner, not rolled back */
    char watched[SY_EXP_VARIANT_MAX + 1];
    bool has_baseline;    /* the watched variant's health in the window before the change */
    sy_health_t baseline; /* (its sample counts are not shown) */
    bool has_current;     /* pushed, or from at least health.min_events samples */
    sy_health_t current;
    sy_health_source_t source;
    bool rollback_due;
    unsigned reasons;  /* SY_ROLLBACK_* bits of the judgement (0 when none was made) */
    int64_t look;      /* the judgement one now would be (1, 2, ...; 0: nothing watched) */
    bool window_ready; /* the window holds enough samples to be judged at that look */
} sy_health_view_t;

/* An experiment's health, as GET and POST .../health answer it. */
typedef struct sy_exp_health {
    char experiment[SY_EXP_KEY_MAX + 1];
    char state[16]; /* "running", "promoting", ... */
    sy_health_view_t health;
} sy_exp_health_t;

/* A health pushed from outside (POST .../health). */
typedef struct sy_health_push {
    double success_rate, error_rate; /* 0..1 */
    bool has_p95_ms;
    double p95_ms; /* >= 0 */
    bool has_retry_rate;
    double retry_rate; /* 0..1 */
} sy_health_push_t;

/* The health monitor's view of an experiment into *out: the variant it watches (the last
 * step's or promotion's winner), the baseline (that variant's health in the window before
 * the change), the current health (pushed, or from the events since the change once there
 * are `health.min_events` of them), and whether a rollback is due. With a `push` the
 * health is pushed first: it stands for the watched variant until the next change
 * (-EINVAL naming a rate out of its bounds; SY_ECONFLICT when nothing is watched). A due
 * rollback happens at the monitor's next tick: traffic goes back to the allocation before
 * the last change, the state becomes rolled_back, and the history and audit say why. */
int sy_engine_experiment_health(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                const sy_health_push_t *push, sy_exp_health_t *out, sy_err_t *err);

/* A rollback the health monitor made (or tried to make). */
typedef struct sy_monitor_rollback {
    char experiment[SY_EXP_KEY_MAX + 1];
    int64_t workspace;
    bool rolled_back; /* false: the rollback failed and `reason` is why */
    char reason[400]; /* the numbers and thresholds: "health of b: success rate 0.94 -> ..." */
    sy_health_view_t health; /* what the monitor judged */
    bool has_split;          /* rolled back: the split it went back to */
    sy_exp_split_t split;
} sy_monitor_rollback_t;

/* A tripwire found triggered when the timer evaluated it. */
typedef struct sy_tick_trip {
    int64_t workspace;
    char domain[65], metric[65];
    char action[16]; /* "THROTTLE", "KILL_SWITCH" */
    char note[160];  /* "TRIGGERED drop=0.789 action=THROTTLE" */
} sy_tick_trip_t;

/* What one tick did, to log. Arrays are the report's: sy_tick_report_free. */
typedef struct sy_tick_report {
    sy_monitor_rollback_t *rollbacks; /* the monitor's, this tick's and since the last */
    size_t n_rollbacks;
    bool checked;                    /* the auto-promotion check ran */
    sy_auto_report_t auto_promotion; /* its report */
    sy_tick_trip_t *tripped;         /* the tripwires evaluated and found triggered */
    size_t n_tripped;
    size_t lost; /* what was done but could not be reported (out of memory) */
} sy_tick_report_t;

/* Runs what is due at the engine's clock (the loop calls it every second; simulate on its
 * fake clock): the health monitor, the auto-promotion check, the tripwires, the hourly
 * timeline points; on a node that leads (sy_engine_leads) only. What was done
 * into *out (zeroed first; nothing done: no rollback, no check, no trip); the caller frees
 * it with sy_tick_report_free. */
void sy_engine_tick(sy_engine_t *eng, sy_tick_report_t *out);
/* Frees what the report holds and zeroes it; NULL is a no-op. */
void sy_tick_report_free(sy_tick_report_t *r);

/* ---- many nodes on one database (PostgreSQL: sync.c) -------------------------------------- */

/* Makes this engine hear what other nodes sharing its store change: -ENOTSUP on a store
 * with one node (SQLite), which needs nothing of the kind. */
int sy_engine_listen(sy_engine_t *eng, sy_err_t *err);
/* Applies what other nodes changed since the last call, without waiting: a workspace whose
 * flags or kill switch changed is served as the store holds it (in one build, unchanged
 * flags kept as compiled), a new workspace loaded, a revoked token refused. How many
 * workspaces changed into *applied. Not yet: experiments and routes changed elsewhere. On
 * the engine's thread, often (serve: every 20 ms); a lost connection is -EIO. */
int sy_engine_sync(sy_engine_t *eng, size_t *applied, sy_err_t *err);
/* The descriptor to wait on for what other nodes announce (sy_engine_sync when it is
 * readable), -1 when there is none now. After a lost connection it is another socket,
 * maybe under the same number: *renewed says so (once) and the caller waits on it anew.
 * Ask every tick. */
int sy_engine_sync_fd(sy_engine_t *eng, bool *renewed);
/* Whether this node runs the timers: it holds the leaders' lock among the nodes of its
 * store (sy_store_lead, checked or tried at most once a second of the engine's clock;
 * always, on SQLite). */
bool sy_engine_leads(sy_engine_t *eng);

/* ---- events ----------------------------------------------------------------------------- */

/* Most events one submission may carry. */
#define SY_EVENTS_MAX 10000

typedef enum sy_event_kind {
    SY_EVENT_EXPOSURE, /* unit saw variant */
    SY_EVENT_OUTCOME,  /* unit succeeded (or not) and/or produced a value */
    SY_EVENT_ERROR,    /* unit hit an error */
} sy_event_kind_t;

/* One event as received. Strings are borrowed for the call only and need no NUL. */
typedef struct sy_event {
    sy_event_kind_t kind;
    const char *experiment;
    size_t experiment_len;
    const char *unit;
    size_t unit_len;
    const char *variant; /* exposure only */
    size_t variant_len;
    const char *id; /* optional: a repeated id is accepted once; NULL for none */
    size_t id_len;
    int success;    /* -1: not given, else 0 or 1 (outcome) */
    bool has_value; /* outcome */
    double value;
    bool has_latency; /* any kind: how long the unit's request took (latency guardrail) */
    double latency_ms;
    bool has_covariate; /* exposure: the unit's pre-period value of the metric (CUPED); the */
    double covariate;   /* unit keeps its first exposure's, |covariate| <= 1e15 */
} sy_event_t;

/* What a committed submission came to. */
typedef struct sy_ingest_result {
    size_t accepted;   /* new events written */
    size_t duplicates; /* events whose id was already in the log (written before) */
} sy_ingest_result_t;

/* Called once per accepted submission, after its events are committed (rc 0) or after the
 * commit failed (rc < 0 with `err`; none of its events were kept). */
typedef void (*sy_ingest_done_cb)(void *arg, int rc, const sy_ingest_result_t *r,
                                  const sy_err_t *err);

/* Checks every event (known running experiment of the actor's workspace, known variant,
 * a unit, the right fields for its kind) and queues the submission for the next group
 * commit. The batch is taken whole or refused whole: on a refusal nothing is queued, and
 * `err` names the field ("events[3].variant"): -EINVAL, -ENOENT (no such experiment),
 * SY_ECONFLICT (the experiment is not running), -EAGAIN (the queue is full), -ENOSPC (an
 * experiment holds as many units as it may, counting the new ones of the batch being
 * committed). On 0, `done` will be called exactly once, on the engine's thread, from
 * sy_engine_events_commit (or sy_engine_writer_stop, sy_engine_close). */
int sy_engine_events_submit(sy_engine_t *eng, const sy_principal_t *actor, const sy_event_t *ev,
                            size_t n, sy_ingest_done_cb done, void *arg, sy_err_t *err);

/* Group commit. Without the writer thread: commits everything queued (events, KPI events)
 * in one transaction each, updates the aggregates, and calls every queued submission's
 * `done` before it returns. With it: first lands the batch the writer has finished, if any
 * (updates the aggregates, calls its submissions' `done`), then hands what is queued to
 * the writer as the next batch and returns at once; it returns at once too while a batch
 * is still with the writer (what comes meanwhile waits for the next: one batch in flight).
 * Right after a landing, fewer submissions than it answered wait a little for the others
 * (as long as its commit took, 2 ms at most): the writer's descriptor or the submission
 * that makes the count asks for the next call.
 * The aggregates only ever hold committed events, and a submission is answered only after
 * its events are committed; a failed commit refuses its batch whole (rc < 0) and changes
 * nothing. A no-op when nothing is queued or in flight. */
void sy_engine_events_commit(sy_engine_t *eng);

/* Called on the engine thread when the queue goes from empty to not empty, so that the
 * owner of the loop schedules sy_engine_events_commit (after the requests at hand). */
void sy_engine_on_events(sy_engine_t *eng, void (*cb)(void *arg), void *arg);

/* Starts the writer thread, with a store handle of its own: from then on no group commit
 * (no fsync) runs on the engine's thread. *fd (owned by the engine) becomes readable when
 * the writer has finished a batch: the owner of the loop watches it and then calls
 * sy_engine_events_commit, as it does after sy_engine_on_events. With a database in memory
 * (which a second handle cannot share, and which has no fsync to hide) no thread starts
 * and *fd is -1: commits stay synchronous. -EALREADY when it runs; -EIO when the store
 * cannot be opened again, -EAGAIN when no thread can be made. */
int sy_engine_writer_start(sy_engine_t *eng, int *fd, sy_err_t *err);
/* Lands the batch in flight (waiting for the writer), commits everything still queued and
 * answers every waiting submission, then joins the writer thread: commits are synchronous
 * again and *fd is closed (stop watching it first). Without the thread it only commits
 * what is queued. sy_engine_close calls it. */
void sy_engine_writer_stop(sy_engine_t *eng);

/* OFREP saw flag `flag` of workspace `ws` evaluate to `variant` for `unit`: when a running
 * experiment drives the flag and records exposures, a unit's first exposure is queued for
 * the next commit (no acknowledgement is owed for it). Cheap when nothing records. */
void sy_engine_exposure_seen(sy_engine_t *eng, int64_t ws, const char *flag, size_t flag_len,
                             const char *unit, size_t unit_len, const char *variant,
                             size_t variant_len);

/* ---- audit --------------------------------------------------------------------------- */

/* One audit event. Strings are borrowed for the callback. */
typedef struct sy_audit_event {
    int64_t id;
    int64_t at_ms;
    const char *actor;    /* the token's name, or "system" */
    const char *action;   /* "flag.create", "experiment.promote", ... */
    const char *resource; /* "flag:checkout", "experiment:e" */
    const char *before;   /* the resource before and after, as JSON text; NULL: none */
    const char *after;
} sy_audit_event_t;
typedef int (*sy_audit_cb)(void *arg, const sy_audit_event_t *e);
/* Calls `cb` for each audit event of the actor's workspace that `q` matches
 * (q->workspace is overwritten), newest first; a negative return of `cb` stops the walk
 * and is returned (-ENOMEM with `err` filled). */
int sy_engine_audit_list(sy_engine_t *eng, const sy_principal_t *actor, sy_store_audit_query_t *q,
                         sy_audit_cb cb, void *arg, sy_err_t *err);

/* ---- KPI events and regression tripwires (regression.c) ------------------------------------ */

#define SY_KPI_NAME_MAX   64    /* a domain's or a metric's bytes */
#define SY_KPI_TEXT_MAX   128   /* an actor's, a correlation id's, an event id's bytes */
#define SY_KPI_DETAIL_MAX 4096  /* a detail's JSON text, bytes */
#define SY_KPI_BATCH_MAX  10000 /* events in one submission */
#define SY_KPI_REASON_MAX 512   /* a policy's reason, bytes */
#define SY_KPI_UNIT_MAX   256   /* a unit's bytes, as an event's */

/* One KPI event: `success` and/or `value` of (domain, metric). Strings are NUL-terminated. */
typedef struct sy_kpi_event {
    const char *domain;         /* 1 to SY_KPI_NAME_MAX characters */
    const char *metric;         /* 1 to SY_KPI_NAME_MAX characters */
    bool has_success, success;  /* given, and its value */
    bool has_value;             /* given: a finite number */
    double value;               /* the event's number (a mean measure's) */
    const char *actor;          /* 1 to SY_KPI_TEXT_MAX characters */
    const char *correlation_id; /* NULL or 1 to SY_KPI_TEXT_MAX characters */
    const char *detail;         /* NULL or JSON text of at most SY_KPI_DETAIL_MAX bytes, kept
                                   verbatim */
    const char *id;             /* NULL or 1 to SY_KPI_TEXT_MAX characters: a repeated id is
                                   written once per workspace */
    const char *unit;           /* NULL or 1 to SY_KPI_UNIT_MAX bytes: the unit (as events'
                                   `unit`) whose CUPED covariate it may make */
} sy_kpi_event_t;

/* Queues ev[0..n) (1 to SY_KPI_BATCH_MAX, -E2BIG above) of the caller's workspace for the
 * next group commit (sy_engine_events_commit, on the writer thread when it runs), which
 * writes every KPI submission queued meanwhile in one transaction: one fsync for all of
 * them. Every event is checked first, and the submission is taken whole or refused whole:
 * -EINVAL naming the field ("events[3].value" when `listed`, the body being
 * {"events": [...]}; "value" for a lone event), -EAGAIN when the queue is full; a refusal
 * queues nothing and calls nothing. On 0, `done` is called exactly once, on the engine's
 * thread, after the commit, with accepted and duplicates (events whose id the workspace
 * already had). `ev` and its strings are borrowed until `done` is called (the caller holds
 * them until its answer, so that this ingest path copies nothing); on a refusal, for the
 * call only. */
int sy_engine_kpi_submit(sy_engine_t *eng, const sy_principal_t *actor, const sy_kpi_event_t *ev,
                         size_t n, bool listed, sy_ingest_done_cb done, void *arg, sy_err_t *err);

/* A regression policy: the tripwire of (domain, metric). */
typedef struct sy_regression_policy {
    char domain[SY_KPI_NAME_MAX + 1];
    char metric[SY_KPI_NAME_MAX + 1];
    sy_trip_policy_t p; /* window_events ... action, measure */
    bool enabled;
    char changed_by[SY_KPI_TEXT_MAX + 1];
    char reason[SY_KPI_REASON_MAX + 1]; /* "" when none was given */
    int64_t updated_ms;
} sy_regression_policy_t;

/* A change to the policy of (domain, metric): what is given changes, the rest keeps its
 * value (a new policy: SY_TRIP_POLICY_DEFAULTS, enabled). Strings borrowed for the call. */
typedef struct sy_regression_policy_change {
    const char *domain, *metric; /* required: 1 to SY_KPI_NAME_MAX characters */
    bool has_window_events, has_baseline_events, has_min_events_to_enforce;
    bool has_max_drop_fraction, has_enabled;
    int64_t window_events, baseline_events, min_events_to_enforce; /* sy_trip_policy_check's */
    double max_drop_fraction;                                      /* bounds */
    const char *action;     /* NULL: not given; else "THROTTLE" or "KILL_SWITCH" */
    const char *measure;    /* NULL: not given; else "rate" or "mean" */
    bool enabled;           /* re-enabling a disabled or triggered one needs a reason */
    const char *changed_by; /* NULL: the actor's name; else 1 to SY_KPI_TEXT_MAX characters */
    const char *reason;     /* NULL or 1 to SY_KPI_REASON_MAX characters */
} sy_regression_policy_change_t;

/* The workspace's regression policies by (domain, metric): *out an array of *n (owned:
 * free()). */
int sy_engine_regression_policies(sy_engine_t *eng, const sy_principal_t *actor,
                                  sy_regression_policy_t **out, size_t *n, sy_err_t *err);
/* Creates or updates the policy of change's (domain, metric). Re-enabling a triggered one
 * (with its reason) resets it. Audited (regression.policy.create / .update, before and
 * after). -EINVAL names the field. The policy after it into *out. */
int sy_engine_regression_policy_put(sy_engine_t *eng, const sy_principal_t *actor,
                                    const sy_regression_policy_change_t *change,
                                    sy_regression_policy_t *out, sy_err_t *err);

/* A tripwire's last evaluation, and what a reset keeps. */
typedef struct sy_tripwire_state {
    int64_t workspace; /* whose it is */
    char domain[SY_KPI_NAME_MAX + 1];
    char metric[SY_KPI_NAME_MAX + 1];
    bool enabled;
    bool evaluated;          /* false: never evaluated (nothing below but note is set) */
    bool triggered;          /* the action below is called for */
    bool enforced;           /* both windows held min_events_to_enforce */
    sy_trip_action_t action; /* the trigger's, when triggered */
    bool has_values;         /* false while either window is empty: the three below say nothing */
    double baseline, current, drop_fraction;
    int64_t window_events, baseline_events; /* events in each window */
    int64_t last_checked_at;                /* ms */
    bool has_last_triggered;
    int64_t last_triggered_at; /* ms */
    char note[SY_KPI_REASON_MAX + 32];
    bool has_reset_at; /* re-enabled after a trigger: when */
    int64_t reset_at;
    bool has_excluded, excluded_set; /* the last reset's left-out events: member present, and
                                        not null */
    sy_store_kpi_place_t excluded_from, excluded_to;
    bool has_trip_from; /* while triggered: the first event of the window that tripped it */
    sy_store_kpi_place_t trip_from;
} sy_tripwire_state_t;

/* Evaluates the tripwire of (domain, metric) in the caller's workspace (-ENOENT none,
 * SY_ECONFLICT disabled), or with both NULL every enabled one; with a NULL `actor` (a
 * timer) in every workspace. States are stored; a trigger is audited
 * ("regression.trigger") and acted on. The states evaluated into *out, an array of *n
 * (owned: free()). */
int sy_engine_regression_evaluate(sy_engine_t *eng, const sy_principal_t *actor, const char *domain,
                                  const char *metric, sy_tripwire_state_t **out, size_t *n,
                                  sy_err_t *err);
/* Every policy's state (its last evaluation) by (domain, metric): *out an array of *n
 * (owned: free()). */
int sy_engine_regression_state(sy_engine_t *eng, const sy_principal_t *actor,
                               sy_tripwire_state_t **out, size_t *n, sy_err_t *err);

/* ---- the risk guard (risk.c) ------------------------------------------------------------- */

#define SY_RISK_DOMAIN_MAX 64
#define SY_RISK_TEXT_MAX   512
#define SY_RISK_NAME_MAX   128

/* A domain's policy: what production actions may reserve in it. */
typedef struct sy_risk_policy {
    char domain[SY_RISK_DOMAIN_MAX + 1];
    bool enabled;
    sy_limit_t max_per_action; /* unset: no limit */
    sy_limit_t max_per_day;
    char reason[SY_RISK_TEXT_MAX + 1];
    char changed_by[SY_RISK_NAME_MAX + 1];
    int64_t updated_ms;
} sy_risk_policy_t;

/* A change to a policy: what is given changes, the rest keeps its value (a new policy:
 * enabled, no limits). Strings are borrowed for the call. */
typedef struct sy_risk_policy_change {
    bool has_enabled, has_max_per_action, has_max_per_day;
    bool enabled;
    sy_limit_t max_per_action, max_per_day; /* set: a number above 0 */
    const char *reason;                     /* required: 1 to SY_RISK_TEXT_MAX characters */
    const char *changed_by;                 /* NULL: the actor's name */
} sy_risk_policy_change_t;

/* Creates or updates the policy of `domain` (1 to 64 characters), audited
 * (risk.policy.create / risk.policy.update); the policy after it into *out. -EINVAL names
 * the field. */
int sy_engine_risk_policy_put(sy_engine_t *eng, const sy_principal_t *actor, const char *domain,
                              const sy_risk_policy_change_t *change, sy_risk_policy_t *out,
                              sy_err_t *err);
/* The workspace's policies by domain: *out an array of *n (owned: free()). */
int sy_engine_risk_policies(sy_engine_t *eng, const sy_principal_t *actor, sy_risk_policy_t **out,
                            size_t *n, sy_err_t *err);

typedef struct sy_risk_request {
    const char *domain;         /* 1 to 64 characters */
    double amount;              /* above 0 */
    const char *actor;          /* who will act: 1 to 128 characters */
    const char *correlation_id; /* NULL or 1 to 128 characters */
} sy_risk_request_t;

/* The guard's answer: a reservation (ok, its id), or a denial with its reason:
 * "kill_switch", "no_policy", "policy_disabled" or "limit_exceeded" (the id is the ledger
 * entry's). Either is in the day's ledger. */
typedef struct sy_risk_answer {
    bool ok;
    const char *reason; /* static; NULL when ok */
    int64_t id;
    char day[11]; /* "YYYY-MM-DD", UTC */
    double amount;
} sy_risk_answer_t;

int sy_engine_risk_reserve(sy_engine_t *eng, const sy_principal_t *actor,
                           const sy_risk_request_t *req, sy_risk_answer_t *out, sy_err_t *err);
/* The reservation stops counting towards its day. `by` NULL or 1 to 128 characters.
 * -ENOENT none, SY_ECONFLICT denied or released already. */
int sy_engine_risk_release(sy_engine_t *eng, const sy_principal_t *actor, int64_t reservation_id,
                           const char *by, sy_err_t *err);

typedef struct sy_risk_entry {
    int64_t id;
    char domain[SY_RISK_DOMAIN_MAX + 1];
    double amount;
    char actor[SY_RISK_NAME_MAX + 1];
    char correlation_id[SY_RISK_NAME_MAX + 1]; /* "" for none */
    char outcome[16];                          /* "reserved" or "denied" */
    char reason[24];                           /* the denial's; "" when reserved */
    int64_t at_ms;
    int64_t released_ms; /* 0: not released */
} sy_risk_entry_t;

/* The reservations and denials of `day` ("YYYY-MM-DD", UTC; NULL: today), oldest first:
 * *out an array of *n (owned: free()), and the day read into `day_out`. */
int sy_engine_risk_ledger(sy_engine_t *eng, const sy_principal_t *actor, const char *day,
                          char day_out[11], sy_risk_entry_t **out, size_t *n, sy_err_t *err);

/* ---- the kill switch (golive.c) -------------------------------------------------------------- */

#define SY_KILL_TEXT_MAX 512

/* A workspace's kill switch. */
typedef struct sy_kill_switch {
    bool engaged;
    bool set; /* false: never moved (reason, actor and changed_ms say nothing) */
    char reason[SY_KILL_TEXT_MAX + 1];
    char actor[129];
    int64_t changed_ms;
} sy_kill_switch_t;

/* A move of it: `reason` required (1 to 512 characters); `actor` NULL for the caller's
 * name, else 1 to 128 characters. Strings borrowed for the call. */
typedef struct sy_kill_switch_change {
    bool engaged;
    const char *reason;
    const char *actor;
} sy_kill_switch_change_t;

/* The caller's workspace's kill switch into *out. */
int sy_engine_kill_switch_get(sy_engine_t *eng, const sy_principal_t *actor, sy_kill_switch_t *out,
                              sy_err_t *err);
/* Engages or disengages the caller's workspace's kill switch, audited (killswitch.engage /
 * killswitch.disengage) and notified; what it is then into *out (filled after the commit,
 * which nothing can fail). -EINVAL names the field. */
int sy_engine_kill_switch_put(sy_engine_t *eng, const sy_principal_t *actor,
                              const sy_kill_switch_change_t *change, sy_kill_switch_t *out,
                              sy_err_t *err);
/* Whether the kill switch of `ws` is engaged, with its reason into `reason` (cap bytes). */
bool sy_engine_kill_switch_engaged(sy_engine_t *eng, int64_t ws, char *reason, size_t cap);

/* ---- notification channels (notify.c) -------------------------------------------------------- */

#define SY_CHANNEL_NAME_MAX 64
#define SY_CHANNEL_URL_MAX  2048
#define SY_CHANNEL_LIST_MAX 16 /* names in a request's levels or events */

/* A new channel: every type's members (NULL when not given); the engine refuses, as
 * SY_EUNKNOWN naming it, a member the type does not take. Strings borrowed for the call. */
typedef struct sy_channel_spec {
    const char *type;          /* "slack", "pagerduty", "webhook" or "email" */
    const char *name;          /* NULL: the type's name; else 1 to SY_CHANNEL_NAME_MAX characters */
    bool has_enabled, enabled; /* default true */
    /* the levels (info, warning, critical) and events it takes, distinct; none given: all */
    bool has_levels, has_events;
    const char *levels[SY_CHANNEL_LIST_MAX];
    size_t n_levels;
    const char *events[SY_CHANNEL_LIST_MAX];
    size_t n_events;
    const char *url;         /* slack, webhook: required; pagerduty: optional */
    const char *secret;      /* webhook: 16 to 256 characters */
    const char *routing_key; /* pagerduty */
    const char *to, *from, *smtp_url, *username, *password; /* email */
} sy_channel_spec_t;

/* A channel as the API shows it: never a secret's value. Text members are "" when the type
 * has none; names (levels, events, secrets_set) are static strings. */
typedef struct sy_channel {
    int64_t id;
    char type[16];
    char name[SY_CHANNEL_NAME_MAX + 1];
    bool enabled;
    int64_t created_ms;
    char url[SY_CHANNEL_URL_MAX + 8]; /* a Slack URL (a credential): its scheme and host */
    char to[255], from[255];          /* email */
    char smtp_url[SY_CHANNEL_URL_MAX + 1];
    char username[257];
    const char *levels[SY_CHANNEL_LIST_MAX]; /* in the order given */
    size_t n_levels;
    const char *events[SY_CHANNEL_LIST_MAX];
    size_t n_events;
    const char *secrets_set[4]; /* the names of its secrets that are set */
    size_t n_secrets;
} sy_channel_t;

/* Creates a channel of the caller's workspace. -EINVAL names the field (a member its type
 * requires missing, a bad value), SY_EUNKNOWN a member of another type. Audited
 * (notification.channel.create, without the secrets). The channel as listed into *out. */
int sy_engine_channel_create(sy_engine_t *eng, const sy_principal_t *actor,
                             const sy_channel_spec_t *spec, sy_channel_t *out, sy_err_t *err);
/* The workspace's channels by id: *out an array of *n (owned: free()). */
int sy_engine_channel_list(sy_engine_t *eng, const sy_principal_t *actor, sy_channel_t **out,
                           size_t *n, sy_err_t *err);
/* Deletes channel `id`; -ENOENT when the caller's workspace has none such. Audited. */
int sy_engine_channel_delete(sy_engine_t *eng, const sy_principal_t *actor, int64_t id,
                             sy_err_t *err);
/* Queues a test message to channel `id` of the caller's workspace, whatever its filters:
 * the delivery's id into *delivery (sy_engine_notifications with q.id lists it). */
int sy_engine_channel_test(sy_engine_t *eng, const sy_principal_t *actor, int64_t id,
                           int64_t *delivery, sy_err_t *err);

/* ---- proxy routes (routes.c) --------------------------------------------------------------------
 */

/* A route's definition as creating and replacing it take it (codec/route_api_json.h reads
 * the API's body into it, with the defaults of what the body does not give): `spec` is the
 * whole route; its percentage and enabled count only where given (has_*), and its
 * workspace, kill switch and times are the engine's. Borrowed for the call. */
typedef struct sy_route_def {
    const sy_route_spec_t *spec;
    bool has_percentage; /* else: 0 for a new route, the route's own for a replacement */
    bool has_enabled;    /* else: true for a new route, the route's own for a replacement */
} sy_route_def_t;
/* Creates route def->spec->name of the caller's workspace. The spec must keep the contract
 * (sy_route_spec_check: -EINVAL names the field); -EEXIST for a taken name, SY_ECONFLICT for a
 * listen address (or path prefix) another route serves. Audited ("route.create"). The
 * route as it is then into *out (one route, returned owned: sy_routes_free). */
int sy_engine_route_create(sy_engine_t *eng, const sy_principal_t *actor, const sy_route_def_t *def,
                           sy_routes_t **out, sy_err_t *err);
/* Replaces route `name`'s definition (percentage and enabled kept unless given); the spec's
 * name must be `name` (-EINVAL "name"). Audited ("route.update"). -ENOENT; else as create. */
int sy_engine_route_replace(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                            const sy_route_def_t *def, sy_routes_t **out, sy_err_t *err);
/* A move of a route's percentage (0 to 100, at most two decimals) or of enabled, with why
 * (`reason`, 1 to 512 characters, required). Strings borrowed for the call. */
typedef struct sy_route_percentage_change {
    double percentage;
    const char *reason;
} sy_route_percentage_change_t;
typedef struct sy_route_enabled_change {
    bool enabled;
    const char *reason;
} sy_route_enabled_change_t;
/* Moves route `name`'s percentage or enabled, audited ("route.percentage", "route.enabled")
 * with the reason; the route as it is then into *out (one route, returned owned:
 * sy_routes_free). -EINVAL names the field ("percentage", "reason"), -ENOENT. */
int sy_engine_route_percentage(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                               const sy_route_percentage_change_t *change, sy_routes_t **out,
                               sy_err_t *err);
int sy_engine_route_enabled(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                            const sy_route_enabled_change_t *change, sy_routes_t **out,
                            sy_err_t *err);
/* Route `name` as it is in force (its definition with its percentage, enabled, created_ms
 * and updated_ms now, and its workspace's kill switch) into *out: one route, returned owned
 * (sy_routes_free). -ENOENT for no such route. codec/route_json.h writes it as the API
 * shows it. */
int sy_engine_route_get(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                        sy_routes_t **out, sy_err_t *err);
/* Every route of the caller's workspace, as route_get gives one, in the order they were
 * made, into *out (returned owned: sy_routes_free). */
int sy_engine_route_list(sy_engine_t *eng, const sy_principal_t *actor, sy_routes_t **out,
                         sy_err_t *err);
/* Deletes route `name`. Audited ("route.delete"). */
int sy_engine_route_delete(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                           sy_err_t *err);
/* Every route of every workspace, for the data plane, typed (core/route_spec.h): each
 * definition as it was accepted, with its workspace, its percentage and enabled now, and
 * its workspace's kill switch. Returns owned (sy_routes_free; the data plane's
 * sy_proxy_update takes it), NULL when out of memory. */
sy_routes_t *sy_engine_routes_all(sy_engine_t *eng);
/* The data plane says route (ws, name)'s circuit breaker moved to `state` ("open",
 * "half_open", "closed") at `at_ms`: a change of the route's last known state is audited
 * ("route.breaker", by the system) and notified (event "breaker": open critical, closed
 * its resolve). Repeats (another worker saying the same) change nothing. -ENOENT for a
 * route that is gone. */
int sy_engine_route_breaker(sy_engine_t *eng, int64_t ws, const char *name, const char *state,
                            int64_t at_ms, sy_err_t *err);
/* An address of the routes the data plane cannot listen on. */
typedef struct sy_route_listen_error {
    char listen[256]; /* HOST:PORT as the routes give it */
    int errnum;       /* errno of the failure (EADDRINUSE...) */
} sy_route_listen_error_t;
/* The data plane's word on the addresses it cannot listen on now, replacing its last:
 * GET /health/aggregate shows each route on one unhealthy ("cannot listen on ADDR: why")
 * until a later call leaves the address out. 0, or -ENOMEM with `err` (the last word
 * kept). */
int sy_engine_routes_listen_errors(sy_engine_t *eng, const sy_route_listen_error_t *v, size_t n,
                                   sy_err_t *err);
/* Why route `listen`'s address cannot be listened on (errno), 0 when nothing says so. */
int sy_engine_route_listen_errnum(const sy_engine_t *eng, const char *listen);
/* What the server's own data plane counted of a route's `new` (sy_route_health_t,
 * core/route.h); the plans add what proxy-only processes reported. */
typedef int (*sy_route_health_fn)(void *arg, int64_t ws, const char *name, sy_route_health_t *out);
/* One move of a rollout plan, as the tick made it. */
typedef struct sy_route_move {
    int64_t ws;                        /* the route's workspace */
    char route[SY_ROUTE_MAX_NAME + 1]; /* its name */
    bool back;                         /* "back" a step (the gates failed), else "advance" */
    uint32_t from_bp, to_bp;           /* the percentage before and after, basis points */
    char reason[256];                  /* why, as audited */
} sy_route_move_t;
/* Moves every enabled route that has a plan, its breaker not open and its kill switch off:
 * once the current step has been held `hold_s` with at least `min_requests` to `new` and
 * new's error rate over the step and p95 under the route's gates, to the next step; when
 * the gates fail (with that many requests), back one step. Each move is audited
 * (route.plan.advance, route.plan.back) with why. The moves made into *out (returned owned:
 * free(); NULL when none) and their count into *n. Returns 0, or -ENOMEM before it moves
 * anything (a route whose move cannot be written is left for the next tick). */
int sy_engine_routes_plan_tick(sy_engine_t *eng, sy_route_health_fn fn, void *arg,
                               sy_route_move_t **out, size_t *n);
/* Appends one flush of the data plane's counters (what changed since the last flush, per
 * (route, domain, upstream), at their minute) in one transaction. Measurement, not a
 * change: not audited. */
int sy_engine_route_minutes_add(sy_engine_t *eng, const sy_store_route_minute_t *rows, size_t n,
                                sy_err_t *err);
/* One row of a proxy-only process's counters of a route, for the current minute. */
typedef struct sy_route_counter {
    const char *domain;   /* "" (none) or one of the route's domains */
    const char *upstream; /* "legacy", "new" or "error" (the request failed) */
    const char *tried;    /* "legacy" or "new": where it was sent; NULL: `upstream` (required
                             for "error") */
    int64_t requests;     /* 1..10^12 */
    int64_t errors;       /* 0..requests */
    double total_ms;      /* their time summed, 0..requests x 86400000 */
    const int64_t *hist;  /* SY_LAT_BUCKETS latency counts (core/latency.h) summing to at most
                             requests, or NULL: none */
    int64_t status[6];    /* answers by class, [1] 1xx ... [5] 5xx, summing to at most
                             requests; [0] unused */
} sy_route_counter_t;
/* A proxy-only process's report on a route, as the server's own proxy would tell it. Borrowed
 * for the call. */
typedef struct sy_route_report {
    const char *breaker;                /* NULL, or its move: "open", "half_open", "closed" */
    const sy_route_counter_t *counters; /* n rows, at most 256 */
    size_t n;
} sy_route_report_t;
/* What a report did. */
typedef struct sy_route_report_answer {
    size_t counters;  /* rows stored */
    char breaker[16]; /* the breaker's state now */
} sy_route_report_answer_t;
/* Takes `report` on route `name` of the actor's workspace: checked whole first (a bad value
 * is -EINVAL naming its field, "breaker" or "counters[i]", and changes nothing); then the
 * counters are stored at this minute and the breaker's move handled as
 * sy_engine_route_breaker does, in one transaction. *out says what it did. -ENOENT for no
 * such route. */
int sy_engine_route_report(sy_engine_t *eng, const sy_principal_t *who, const char *name,
                           const sy_route_report_t *report, sy_route_report_answer_t *out,
                           sy_err_t *err);
/* Deletes the counters of minutes before `before_minute`. */
int sy_engine_route_minutes_prune(sy_engine_t *eng, int64_t before_minute, sy_err_t *err);
/* A route's stored counters over a window, summed per (domain, upstream, tried). */
typedef struct sy_route_window_row {
    char domain[SY_ROUTE_MAX_DOMAIN + 1]; /* "" for requests of no domain */
    char upstream[8];                     /* "legacy", "new" or "error" (it failed) */
    char tried[8];                        /* "legacy" or "new": where it was sent */
    int64_t requests, errors;
    int64_t status[6];                     /* answers by class: [1] 1xx ... [5] 5xx; [0] unused */
    double avg_ms, p50_ms, p95_ms, p99_ms; /* latency: the mean and quantiles, ms */
} sy_route_window_row_t;
/* The rows of route `name` over the last `window_ms` (whole minutes, the current one
 * included), from the stored counters, into *out (returned owned: free(); NULL when there
 * are none) and their count into *n. -ENOENT for no such route. */
int sy_engine_route_stats_window(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                                 int64_t window_ms, sy_route_window_row_t **out, size_t *n,
                                 sy_err_t *err);
/* A route's stored counters over time: per bucket (core/route_series.h), per upstream. */
typedef struct sy_route_series {
    int64_t first_ms;     /* the first bucket's start, Unix ms */
    int64_t step_ms;      /* a bucket's length, ms */
    size_t points;        /* buckets */
    sy_series_point_t *p; /* points x SY_SERIES_UPSTREAMS, bucket after bucket: p[i * 3 + u] */
} sy_route_series_t;
/* The counters of route `name` over the last `window_ms` in buckets of `step_ms` (both
 * whole minutes; the window rounded up to whole steps, buckets aligned to multiples of the
 * step, the last the current minute's), from the stored counters, into *out (its `p`
 * returned owned: free()). -ENOENT for no such route; -EINVAL naming "window" or "step"
 * (sy_series_plan's rules, or a length that is not whole minutes); -ENOMEM. */
int sy_engine_route_series(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                           int64_t window_ms, int64_t step_ms, sy_route_series_t *out,
                           sy_err_t *err);
/* Adds to *h what proxy-only processes reported (sy_engine_route_report) of route `name`'s
 * `upstream` (0 legacy, 1 new) since the start: requests, errors (with the failures meant
 * for it), and the larger of the two p95s. The rollout plans add it themselves. -ENOENT. */
int sy_engine_route_reported(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                             int upstream, sy_route_health_t *h);
/* The health gates of route `name` (what GET .../health and its plan judge new by) into
 * *out. 0, or -ENOENT (err names "name") for no such route. */
int sy_engine_route_gates(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                          sy_route_gates_t *out, sy_err_t *err);
/* The breaker state the data plane last reported for route `name` ("closed" by default):
 * one of the constants "open", "half_open", "closed". */
const char *sy_engine_route_breaker_state(sy_engine_t *eng, const sy_principal_t *actor,
                                          const char *name);
/* `fn(arg)` runs (on the engine's thread) after any route changes or a kill switch moves:
 * the data plane takes sy_engine_routes_all again. */
void sy_engine_on_routes(sy_engine_t *eng, void (*fn)(void *arg), void *arg);

/* ---- the notification outbox (notify.c) ------------------------------------------------------ */

/* How many deliveries of a workspace are in each state. */
typedef struct sy_notification_counts {
    int64_t pending, delivered, failed;
} sy_notification_counts_t;
/* Calls `cb` for each delivery of the caller's workspace that `q` filters (its workspace is
 * the caller's), newest first, its strings borrowed for the call (a negative return stops
 * the walk and is returned); then the workspace's counts into *counts. */
int sy_engine_notifications(sy_engine_t *eng, const sy_principal_t *actor,
                            const sy_store_notification_query_t *q, sy_store_notification_cb cb,
                            void *arg, sy_notification_counts_t *counts, sy_err_t *err);
/* `fn(arg)` runs (on the engine's thread, from sy_engine_tick) after a change queued a
 * notification: the notifier wakes up instead of waiting for its next poll. */
void sy_engine_on_notification(sy_engine_t *eng, void (*fn)(void *arg), void *arg);

/* ---- the board: the state /metrics shows (board.c) ------------------------------------------ */

typedef struct sy_board_arm {
    char key[SY_EXP_VARIANT_MAX + 1];
    int64_t weight; /* percentage points now */
    int64_t units, conversions, errors;
    bool compared;     /* a treatment compared with control: the two below hold */
    double confidence; /* 1 - the p used, Holm-adjusted (what min_confidence is checked against) */
    bool has_seq;
    double always_valid_p;
    bool has_lift;
    double lift;     /* relative to control */
    bool has_sample; /* a planned sample: the units both arms still need */
    int64_t still_needed;
} sy_board_arm_t;

typedef struct sy_board_exp {
    int64_t ws;
    char key[SY_EXP_KEY_MAX + 1];
    char state[SY_EXP_STATE_LEN];
    bool has_results; /* running or promoting, and its results computed */
    bool srm_mismatch;
    double srm_p;
    size_t n_arms;
    sy_board_arm_t arms[SY_EXP_MAX_ARMS];
} sy_board_exp_t;

typedef struct sy_board_route {
    int64_t ws;
    char name[SY_ROUTE_MAX_NAME + 1];
    double percentage;
    bool enabled;
    const char *breaker; /* "closed", "open", "half_open" (a constant) */
    bool has_plan;
    int plan_step; /* the plan's step the percentage is at: 0 below the first, 1.. */
    int plan_steps;
} sy_board_route_t;

typedef struct sy_board_trip {
    int64_t ws;
    char domain[SY_KPI_NAME_MAX + 1], metric[SY_KPI_NAME_MAX + 1];
    bool enabled, triggered, has_values;
    double drop_fraction;
    double baseline, current; /* the KPI's level in the baseline and the recent window */
} sy_board_trip_t;

/* The risk guard's answers, as counted: reserved, then each reason of a denial. */
#define SY_RISK_OUTCOMES 5
extern const char *const sy_risk_outcome_names[SY_RISK_OUTCOMES]; /* "none" (reserved), ... */

typedef struct sy_board_ws {
    int64_t ws;
    bool kill_switch;
    int64_t pending, delivered, failed; /* notifications */
    /* the same by channel type (sy_channel_type_names): [type][pending, delivered, failed] */
    int64_t notifications[SY_CHANNEL_TYPES][3];
    /* check-and-reserve answers since the process started, by sy_risk_outcome_names */
    int64_t risk[SY_RISK_OUTCOMES];
} sy_board_ws_t;

/* What the engine's state looked like at `built_ms`: built on the engine's thread by
 * sy_engine_tick every refresh (sy_engine_set_board_refresh), read by any thread.
 * Immutable; every array is the board's. */
typedef struct sy_board {
    int64_t built_ms;
    double build_seconds; /* how long building it took */
    sy_board_exp_t *exps;
    size_t n_exps;
    sy_board_route_t *routes;
    size_t n_routes;
    sy_board_trip_t *trips;
    size_t n_trips;
    sy_board_ws_t *wss;
    size_t n_ws;
} sy_board_t;

/* The last board built, a counted reference (given back with sy_board_release), or NULL
 * before the first. Any thread. */
const sy_board_t *sy_engine_board(sy_engine_t *eng);
void sy_board_release(const sy_board_t *b);
/* The tick builds a board every `ms` (at least 1,000) from now on; none is built before
 * this is called (serve calls it with --metrics-refresh). */
void sy_engine_set_board_refresh(sy_engine_t *eng, int64_t ms);

/* ---- emergency rollback (aggregate.c) ------------------------------------------------------- */

/* What an emergency rollback did: the experiments sent to control, the routes sent to
 * legacy, and those that failed (with the first failure). */
typedef struct sy_emergency_report {
    size_t experiments, routes;               /* rolled back, disabled */
    size_t experiments_failed, routes_failed; /* each left as it was */
    char first_failure[200];                  /* "" when none */
} sy_emergency_report_t;

/* Every running, promoting or promoted experiment of the caller's workspace back to its
 * control (rolled_back, as sy_engine_experiment_rollback) and every enabled route to legacy
 * (disabled, as sy_engine_route_enabled: its plan stops too), each its own audited and
 * notified change with `reason` ("emergency rollback: REASON"). A failure of one leaves it
 * as it was and the others go on; *out says what happened. -ENOMEM only when the lists
 * cannot be read. */
int sy_engine_emergency_rollback(sy_engine_t *eng, const sy_principal_t *actor, const char *reason,
                                 sy_emergency_report_t *out, sy_err_t *err);

/* ---- aggregate health (aggregate.c) ---------------------------------------------------------- */

typedef enum sy_health_state { SY_HEALTHY, SY_DEGRADED, SY_UNHEALTHY } sy_health_state_t;

/* One part of the service as an operator looks at it. */
typedef struct sy_health_component {
    char name[96]; /* "store", "ingest", "notifier", "kill_switch", "auto_promotion",
                      "tripwire:DOMAIN/METRIC", "route:NAME" */
    sy_health_state_t state;
    char reason[200]; /* why, in a sentence with its numbers */
} sy_health_component_t;

/* Every component's state for the caller's workspace (the store, the ingest queue and the
 * timers are the process's) into *out, an array of *n (owned: free()), and the worst of
 * them into *overall. The rules, each with its reason:
 * - store: unhealthy when it does not answer;
 * - ingest: degraded while more than 1,000 submissions wait, or when the last group commit
 *   failed;
 * - notifier: degraded with deliveries failed or more than 100 pending;
 * - kill_switch: degraded while engaged (production actions are refused);
 * - auto_promotion: degraded when its timer is off or in dry run;
 * - each tripwire: degraded while triggered;
 * - each route: unhealthy while its breaker is open, degraded half-open or disabled.
 * -ENOMEM. */
int sy_engine_health_aggregate(sy_engine_t *eng, const sy_principal_t *actor,
                               sy_health_component_t **out, size_t *n, sy_health_state_t *overall,
                               sy_err_t *err);

#endif
