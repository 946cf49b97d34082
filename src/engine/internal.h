/* internal.h - what the files of engine/ share: the engine's state and the helpers that
 * write a change with its audit event. Not an interface: only src/engine/ includes it.
 *
 * engine.c owns workspaces and tokens; flags.c a workspace's flags and what it serves;
 * experiment.c owns experiments, their aggregates and event ingest (struct
 * sy_experiments), and reaches the flags of a workspace only through the helpers below,
 * so that a flag change made for an experiment is validated, audited and published
 * exactly as one made through the flag API.
 */
#ifndef SY_ENGINE_INTERNAL_H
#define SY_ENGINE_INTERNAL_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/allocation.h"
#include "core/latency.h"
#include "codec/value_json.h"
#include "engine/engine.h"

#define KEY_MAX 256 /* longest flag or experiment key */

/* A published snapshot and its reference count (the engine holds one while current).
 * Immutable once published; the last release (on any thread) frees it and drops its
 * reference to the set. */
struct snap {
    sy_snapshot_t pub; /* first: readers get &snap->pub */
    atomic_int refs;
    sy_flagset_t *set; /* a reference */
};

#define KILL_TEXT_MAX SY_KILL_TEXT_MAX

/* A workspace's kill switch (golive.c). */
struct kill_switch {
    bool engaged;
    char reason[KILL_TEXT_MAX + 1];
    char actor[129];
    int64_t changed_ms; /* 0: never changed */
    int64_t revision;   /* the workspace's flag revision the change bumped to (not stored) */
};

struct workspace {
    int64_t id;
    char *name;
    int64_t revision;
    sy_flagset_t *flags;        /* its flags as written, compiled, each with its JSON text */
    char *evaluators;           /* the document's "$evaluators" as written (JSON), or NULL */
    char *metadata;             /* the document's "metadata" as written (JSON), or NULL */
    sy_pool_t *pool;            /* what its compiled flags share (flags.c's builds only) */
    struct snap *current;       /* what is served: `flags`, or with the kill switch engaged
                                   `flags` with each driven flag at its control (the engine's
                                   thread reads it here, other threads in the view: view.c) */
    sy_guardrails_t guardrails; /* of its allocation steps, unless an experiment overrides */
    struct kill_switch kill;
    int64_t risk[SY_RISK_OUTCOMES]; /* check-and-reserve answers by outcome (risk.c, board.c) */
};

struct token {
    int64_t id;
    int64_t workspace;
    sy_role_t role;
    bool revoked;
    char name[64];
    unsigned char hash[32]; /* SHA-256 of the secret */
};

/* A proxy route (routes.c). */
struct route {
    int64_t id;
    int64_t ws;
    char name[65];
    /* its definition, typed (spec->r[0]), as it was accepted (or loaded: codec/route_json.h);
     * what the data plane gets (sy_engine_routes_all), the engine reads, and the store holds
     * as JSON. Its percentage, enabled, times and kill switch are not the ones in force: the
     * fields below and the workspace's are. Shared by the copies of the route a change makes. */
    sy_routes_t *spec;
    int64_t bp; /* percentage to `new`, in hundredths of a percent */
    bool enabled;
    int64_t created_ms, updated_ms;
    char breaker[16]; /* the state its data plane last reported: "" (closed), "open", ... */
    /* what proxy-only processes reported of legacy [0] and new [1] since the start (the
     * server's own proxy counts in it): their health and plans read it too */
    struct {
        int64_t requests, errors, answered;
        int64_t hist[SY_LAT_BUCKETS];
    } reported[2];
    /* its plan's progress (in memory: a restart holds the current step again) */
    int64_t step_ms;        /* when the percentage last moved; 0: not looked at yet */
    int64_t base_n, base_e; /* new's requests and errors then */
};

/* A KPI submission waiting for the group commit (regression.c). */
struct kpi_wait {
    sy_ingest_done_cb done;
    void *arg;
    const sy_kpi_event_t *ev; /* the caller's, held by it until `done` */
    size_t n;
    int64_t ws;    /* the workspace they are written to */
    int64_t at_ms; /* when they were received */
    int64_t dups;  /* of its events, those whose id was taken */
};

struct kpi_queue {
    struct kpi_wait *w;
    size_t n, cap;
    size_t events; /* in all of them */
};

struct sy_engine {
    sy_store_t *store;
    char *db;                   /* the store's URI: the writer thread opens a handle of its own */
    uint32_t max_units;         /* distinct units one experiment may hold (opts.max_units) */
    bool no_hourly_timeline;    /* opts.no_hourly_timeline */
    sy_engine_curves_t *curves; /* opts.curves: borrowed, NULL: none */
    int64_t (*now_ms)(void);    /* NULL: the engine's own fake clock */
    int64_t fake_ms;
    sy_fractional_t fractional;
    struct workspace *ws;
    size_t n_ws, cap_ws;
    struct token *tokens;
    size_t n_tokens, cap_tokens;
    sy_engine_change_cb on_change;
    void *on_change_arg;
    EVP_MD *sha256;           /* fetched once: a per-call fetch costs more than the hash */
    EVP_MD_CTX *digest;       /* reused by every authentication */
    struct sy_experiments *x; /* experiments, their aggregates and the ingest queue */
    sy_engine_timers_t timers;
    sy_exp_defaults_t exp_defaults; /* what experiments' unset safety fields follow */
    int64_t next_auto_ms;           /* when the auto-promotion check runs next; 0: off */
    int64_t next_regression_ms;     /* when the tripwires are evaluated next; 0: off */
    /* many nodes on one database (sync.c) */
    bool listening;          /* hears other nodes' announcements */
    bool sync_renewed;       /* resynced after a reconnection: sy_engine_sync_fd says so */
    int64_t node_id;         /* drawn at open: the revision of its "events" and "experiments"
                                announcements, so that it skips its own (sync.c) */
    bool leads;              /* runs the timers: holds the leaders' lock (always, on SQLite) */
    int64_t lead_checked_ms; /* when the lock was last checked or tried; 0: never */
    /* the rollbacks the monitor made since the last tick (to log), and how many it had no
     * room for */
    sy_monitor_rollback_t *health_done;
    size_t n_health_done, health_lost;
    void (*notify_wake)(void *arg); /* the notifier's: something was queued */
    void *notify_wake_arg;
    bool notify_queued;    /* since the last tick */
    uint64_t notify_tests; /* test notifications queued: each its own occurrence */
    struct layer *layers;  /* of every workspace (layer.c) */
    size_t n_layers, cap_layers;
    struct route *routes; /* of every workspace */
    size_t n_routes, cap_routes;
    sy_route_listen_error_t *listen_errs; /* the data plane's, last told */
    size_t n_listen_errs;
    void (*routes_changed)(void *arg); /* the data plane's */
    void *routes_changed_arg;
    struct kpi_queue kq; /* KPI events waiting for the next commit */
    /* what other threads read (view.c) */
    pthread_mutex_t view_lock; /* held only to swap `view` or take a reference to it */
    struct sy_eng_view *view;
    atomic_llong view_gen;     /* bumped with each new view */
    bool view_stale;           /* the last view could not be made: sy_engine_tick tries again */
    bool view_held;            /* workspaces opened together: one view once all are (their
                                  snapshot swaps publish none; sy_eng_flags_open_from) */
    struct sy_eng_view *spare; /* made by sy_eng_view_reserve before a change commits */
    _Atomic(sy_loopstat_t *) loops[SY_ENGINE_LOOPS_MAX]; /* the loops' gauges (view.c) */
    struct sy_eng_counters {                             /* sy_engine_counters: ingest.c */
        atomic_llong events_written[3], events_skipped[3];
        atomic_llong commits, commit_failures;
        atomic_llong commit_size[SY_COMMIT_SIZE_BUCKETS], commit_size_sum;
        atomic_llong commit_us[SY_COMMIT_TIME_BUCKETS], commit_us_sum;
        atomic_llong queued;
        atomic_llong pruned[4];  /* by retention: events, KPI events, audit, timeline points */
        atomic_bool last_failed; /* the last group commit failed */
        /* allocation changes by action (step, promote, rollback) and by whom (a timer, a
         * person): sy_engine_counters */
        atomic_llong changes[3][2];
        atomic_llong change_reasons[3][2][SY_CHANGE_REASONS]; /* the same, by reason */
        atomic_llong deliveries[SY_CHANNEL_TYPES][3];         /* written by the notifier's thread */
    } counted;
    /* what /metrics shows of the state (board.c): the last board built, and when */
    pthread_mutex_t board_lock;
    const struct sy_board *board;
    int64_t board_ms, board_refresh_ms;
    bool bound;      /* sy_engine_bind_thread: */
    pthread_t owner; /* the only thread that may change anything */
};

/* Whether an experiment in state `name` serves a split that can go back to control:
 * running, promoting or promoted (what a rollback takes; the board's "active"). */
static inline bool sy_eng_state_live(const char *name)
{
    return strcmp(name, "running") == 0 || strcmp(name, "promoting") == 0 ||
           strcmp(name, "promoted") == 0;
}

/* board.c: builds a new board when the last is `board_refresh_ms` old (the tick's); frees
 * the last one (close). */
void sy_eng_board_tick(sy_engine_t *eng, int64_t now);
void sy_eng_board_close(sy_engine_t *eng);

/* Asserts that the caller is the engine's thread, if it has one (sy_engine_bind_thread). */
#define SY_ENG_OWNED(eng) assert(!(eng)->bound || pthread_equal((eng)->owner, pthread_self()))

/* sy_store_workspace_list's sink that adds a workspace the engine does not hold yet (its
 * flags not loaded: sy_eng_flags_open). */
int sy_eng_workspace_add_if_new(void *arg, const sy_store_workspace_t *row);

struct workspace *sy_eng_find_ws(sy_engine_t *eng, int64_t id);

/* view.c: publishes a new view of the workspaces' snapshots and the tokens for readers on
 * other threads; after every change of either. -ENOMEM keeps the previous one and marks
 * it stale (a revoked token must not stay valid there): the next tick tries again. */
int sy_eng_view_publish(sy_engine_t *eng);
/* Before a change commits: makes sure the view that will publish it needs no allocation
 * (room for one more workspace and one more token than there are), so that publishing it
 * once committed cannot fail. -ENOMEM. */
int sy_eng_view_reserve(sy_engine_t *eng);
void sy_eng_view_close(sy_engine_t *eng);

/* The KPI half of a group commit (regression.c); sy_engine_events_commit drives it. Takes
 * the queued KPI submissions into *q, leaving the queue empty. */
void sy_eng_kpi_take(sy_engine_t *eng, struct kpi_queue *q);
/* Writes them in one transaction on `store`, each one's duplicates into its `dups`. Runs
 * on the writer thread: touches `q` and `store` only. */
int sy_eng_kpi_write(struct kpi_queue *q, sy_store_t *store, sy_err_t *err);
/* Answers each with the commit's outcome `rc` (and `err`), and empties *q. */
void sy_eng_kpi_answer(struct kpi_queue *q, int rc, const sy_err_t *err);
/* Prunes KPI events older than `before_ms` that no tripwire reads (regression.c says which),
 * up to about `limit` a series, in the open transaction; how many into *pruned. */
int sy_eng_kpi_retention(sy_engine_t *eng, int64_t before_ms, int64_t limit, int64_t *pruned,
                         sy_err_t *err);
/* Asks the server for a commit once its loop has handled what is ready (ingest.c). */
void sy_eng_commit_soon(sy_engine_t *eng);

/* ---- writer.c ------------------------------------------------------------------------------ */

/* The writer thread, with its own handle on the store (opened on `db`): it runs one job at
 * a time off the engine's loop. Every call below is made on the engine's thread. */
struct sy_eng_writer;

/* Starts it; *fd (an eventfd, owned by the writer) becomes readable each time a job has run:
 * the loop watches it and then takes the job back with sy_eng_writer_idle. */
int sy_eng_writer_start(struct sy_eng_writer **out, const char *db, int *fd, sy_err_t *err);
/* Hands `job` over: `run(job, store)` runs on the writer thread with the writer's store and
 * may touch nothing else. The last job must have been taken back. From here until the job
 * has run, the eventfd is readable only once it has. */
void sy_eng_writer_put(struct sy_eng_writer *w, void (*run)(void *job, sy_store_t *store),
                       void *job);
/* Whether the job last handed over has run (true when there is none): then it is the
 * caller's again, with everything `run` wrote into it, and how long it took (µs) goes into
 * *run_us (optional). With `wait`, waits until it has. Empties the eventfd. */
bool sy_eng_writer_idle(struct sy_eng_writer *w, bool wait, int64_t *run_us);
/* While it has no job, the writer makes the eventfd readable at `at_us` (monotonic µs, as
 * sy_eng_writer_now_us reads it); a job handed over first cancels it. */
void sy_eng_writer_alarm(struct sy_eng_writer *w, int64_t at_us);
/* CLOCK_MONOTONIC in µs: the writer's time, not the engine's clock (which tests move). */
int64_t sy_eng_writer_now_us(void);
/* Lets a job handed over finish, then joins the thread and closes its store and eventfd.
 * NULL is a no-op. */
void sy_eng_writer_stop(struct sy_eng_writer *w);

/* ---- flags.c ------------------------------------------------------------------------------- */

/* Loads `w`'s flags from the store, compiles them as flagd would load the document, and
 * publishes its first snapshot at w->revision. */
int sy_eng_flags_open(sy_engine_t *eng, struct workspace *w, sy_err_t *err);
/* sy_eng_flags_open of eng->ws[from] and every one after it, reading the store only for the
 * workspaces that have a flag or a flag set stored (found in one read): a start among
 * thousands of workspaces, or thousands made elsewhere, costs a statement, not two each. */
int sy_eng_flags_open_from(sy_engine_t *eng, size_t from, sy_err_t *err);
/* Gives a new workspace `w` no flags, and returns the snapshot it will serve, for
 * sy_eng_snap_swap once it is committed (NULL: out of memory; sy_eng_flags_close undoes
 * what was made). */
struct snap *sy_eng_flags_empty(sy_engine_t *eng, struct workspace *w);
/* Brings `w`'s flags to what the store holds (another node changed them: sync.c), serving
 * them from `revision` on with the kill switch `kill` (the store's): one build, in which
 * each flag whose text (and "$evaluators" and metadata) did not change is kept as
 * compiled. A stored flag this node cannot compile refuses the whole (-EINVAL, `err`
 * saying which): the flags served stay as they were. */
int sy_eng_flags_sync(sy_engine_t *eng, struct workspace *w, int64_t revision,
                      const struct kill_switch *kill, sy_err_t *err);
/* Releases what `w` holds of flags and snapshots. */
void sy_eng_flags_close(struct workspace *w);
/* What `w` would serve from its flags as written under kill switch `kill` (about to
 * change), as a snapshot not yet served: the cost of the flags its experiments drive, not
 * of all of them. NULL when out of memory. Made before the change commits; then either
 * sy_eng_snap_swap (committed: cannot fail) or sy_eng_snap_drop. */
struct snap *sy_eng_served_prepare(sy_engine_t *eng, struct workspace *w,
                                   const struct kill_switch *kill);
/* Makes prepared snapshot `s` (taken) what `w` serves from `revision` on. Cannot fail. */
void sy_eng_snap_swap(sy_engine_t *eng, struct workspace *w, struct snap *s, int64_t revision);
/* Drops a prepared snapshot never served. NULL is a no-op. */
void sy_eng_snap_drop(struct snap *s);
/* Flag `key` of `w` as written (parsed from its text: a new reference), or NULL. */
json_t *sy_eng_flag_json(const struct workspace *w, const char *key);
bool sy_eng_flag_exists(const struct workspace *w, const char *key);

/* Loads every workspace's layers (layer.c) from the store's settings, replacing those held
 * (start-up, and when another node changed a setting). -EIO for one that does not read. */
int sy_eng_layers_open(sy_engine_t *eng, sy_err_t *err);
void sy_eng_layers_close(sy_engine_t *eng);

/* Fills `err` for an allocation that failed; returns -ENOMEM. */
int sy_eng_oom(sy_err_t *err);

/* Room in the array *p (*cap elements of `size` bytes) for `need`: doubles as needed.
 * -ENOMEM leaves it as it was. */
int sy_eng_grow(void **p, size_t *cap, size_t need, size_t size);

/* A set of ids read in ascending order from the store (the workspaces with flags, with an
 * enabled tripwire): added in that order, a repeat of the last one skipped; looked up by
 * bisection. Zeroed: empty; free(v) ends it. */
struct sy_eng_ids {
    int64_t *v;
    size_t n, cap;
};
int sy_eng_ids_add(struct sy_eng_ids *s, int64_t id); /* -ENOMEM */
bool sy_eng_ids_has(const struct sy_eng_ids *s, int64_t id);

/* 1 to `max` bytes, no control characters. */
bool sy_eng_valid_name(const char *s, size_t max);

/* Who `actor` is in the audit trail and in changed_by fields: its name, or "system" for
 * NULL (a timer). */
const char *sy_eng_actor_name(const sy_principal_t *actor);

/* Writes the audit event of a change in its open transaction. `before`/`after` may be
 * NULL. */
int sy_eng_audit(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws, const char *action,
                 const char *resource, const json_t *before, const json_t *after, sy_err_t *err);

/* Writes the store half of a flag change inside its transaction. */
typedef int (*sy_eng_write_fn)(sy_engine_t *eng, int64_t ws, void *arg, sy_err_t *err);

/* Replaces flag `key` of `w` by `def` (NULL deletes it), in one transaction with the
 * flag's audit event (`action`); `also` (optional) writes more in the same transaction (an
 * experiment's row and audit event). Checks and compiles that flag alone, against the
 * document's evaluators and metadata (the rest of the document loaded already, so it
 * would load with the change exactly when the flag does), and publishes a new snapshot
 * sharing every other compiled flag once committed: its cost does not grow with the
 * workspace. Nothing changes on failure. */
int sy_eng_flag_change(sy_engine_t *eng, const sy_principal_t *actor, struct workspace *w,
                       const char *key, const json_t *def, const char *action, sy_eng_write_fn also,
                       void *also_arg, sy_err_t *err);

/* ---- notify.c ------------------------------------------------------------------------------ */

/* What a notification tells: `event` (one of a channel's event names) at `level`; `resolve`
 * when the condition it raised has cleared (PagerDuty "resolve"); the resource it is about;
 * `occurrence`, which with the workspace, event and resource makes the idempotency key (so
 * the same occurrence is queued once, however often it is seen); a one-line title and its
 * details (borrowed; NULL for none). `condition` notes (a tripwire, a throttle, the kill
 * switch) share one dedup key per resource, so that a resolve closes what a trigger opened. */
struct sy_eng_note {
    const char *event;
    const char *level;
    bool resolve;
    bool condition;
    const char *resource;
    const char *occurrence;
    const char *title;
    const json_t *details;
};

/* Queues `n` for every enabled channel of `ws` whose levels and events take it, in the open
 * transaction of the change it tells of. */
int sy_eng_notify(sy_engine_t *eng, int64_t ws, const struct sy_eng_note *n, sy_err_t *err);
/* The same in a transaction of its own (for what the engine notices but does not change:
 * an experiment awaiting approval, an SRM, a health warning). */
int sy_eng_notify_now(sy_engine_t *eng, int64_t ws, const struct sy_eng_note *n, sy_err_t *err);

/* ---- routes.c ------------------------------------------------------------------------------ */

/* The route (ws, name), or NULL. */
struct route *sy_eng_route_find(sy_engine_t *eng, int64_t ws, const char *name);
/* A move of a route's breaker written in the open transaction (audit, notification, a
 * rollout plan sent back to 0 when it opens), applied to memory once committed. */
struct breaker_move {
    struct route *r; /* NULL: the breaker was in that state already */
    char state[16];  /* its new state */
    bool abort_plan; /* the plan went back to 0 */
    int64_t now_ms;  /* when */
};
int sy_eng_route_breaker_write(sy_engine_t *eng, int64_t ws, const char *name, const char *state,
                               int64_t at_ms, struct breaker_move *m, sy_err_t *err);
/* Committed: the route takes the move. Cannot fail. */
void sy_eng_route_breaker_apply(sy_engine_t *eng, const struct breaker_move *m);

/* At start-up: every route from the store. */
int sy_eng_routes_open(sy_engine_t *eng, sy_err_t *err);
void sy_eng_routes_close(sy_engine_t *eng);
/* Tells the data plane its routes changed (a kill switch moved). */
void sy_eng_routes_changed(sy_engine_t *eng);

/* ---- regression.c ---------------------------------------------------------------------- */

/* Writes the seed policies (disabled) that workspace `ws` lacks, with their audit events,
 * in the open transaction. */
int sy_eng_regression_seed(sy_engine_t *eng, int64_t ws, sy_err_t *err);
/* At start-up: seeds the workspaces made before tripwires existed. */
int sy_eng_regression_open(sy_engine_t *eng, sy_err_t *err);
/* The tripwire states of every workspace's policies (sy_engine_regression_state's, each with
 * its workspace), by workspace, then domain and metric, in one read of the store: *out
 * returned owned (free()), NULL with *n 0 when there are none. */
int sy_eng_regression_states(sy_engine_t *eng, sy_tripwire_state_t **out, size_t *n, sy_err_t *err);

/* ---- risk.c ------------------------------------------------------------------------------ */

/* A THROTTLE tripwire's effect on the risk policy of (ws, domain), with `reason`, audited
 * (risk.policy.throttle / risk.policy.restore), in the open transaction. Disabling
 * creates a policy without limits when there is none; enabling restores only a policy a
 * tripwire disabled (one a person disabled stays theirs to re-enable). */
int sy_eng_risk_throttle(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws,
                         const char *domain, bool enabled, const char *reason, sy_err_t *err);

/* ---- allocation.c ------------------------------------------------------------------------ */

/* sy_engine_experiment_rollback, counted under `why` (an emergency rollback's own). */
int sy_eng_exp_rollback(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                        const sy_rollback_request_t *req, sy_change_reason_t why, sy_err_t *err);

/* ---- golive.c ---------------------------------------------------------------------------- */

/* At start-up: every workspace's kill switch from its setting. */
int sy_eng_kill_switch_open(sy_engine_t *eng, sy_err_t *err);
/* Workspace `ws`'s kill switch as the store holds it, into *out (another node may have
 * changed it: sync.c); the one in force is not touched. */
int sy_eng_kill_switch_read(sy_engine_t *eng, int64_t ws, struct kill_switch *out, sy_err_t *err);
/* sy_eng_kill_switch_read of every workspace from eng->ws[from] on, into out[0 ..
 * eng->n_ws - from], in one read of the store: workspaces loaded together (another node's). */
int sy_eng_kill_switch_read_from(sy_engine_t *eng, size_t from, struct kill_switch *out,
                                 sy_err_t *err);
/* A kill switch change written but not yet committed: the new state, and the snapshot the
 * workspace will serve under it, made before the commit. */
struct kill_change {
    struct kill_switch next;
    struct snap *served; /* owned until sy_eng_kill_switch_set or _drop */
};
/* Writes the kill switch of `ws` (engaged or not, why, by whom) and its audit event in the
 * open transaction, and prepares what is served under it: into *c, for
 * sy_eng_kill_switch_set once committed or sy_eng_kill_switch_drop if not. On an error *c
 * holds nothing. */
int sy_eng_kill_switch_write(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws,
                             bool engaged, const char *reason, const char *by,
                             struct kill_change *c, sy_err_t *err);
/* Committed: the new state and its snapshot take effect. Cannot fail. */
void sy_eng_kill_switch_set(sy_engine_t *eng, int64_t ws, struct kill_change *c);
/* Not committed: drops what sy_eng_kill_switch_write prepared. */
void sy_eng_kill_switch_drop(struct kill_change *c);

/* ---- experiment.c ---------------------------------------------------------------------- */

/* When an active experiment of `ws` drives flag `key` (defined by `def`): its definition
 * serving the experiment's control to everyone (no targeting), with `why` as the flag's
 * metadata "killSwitch", into *out (a new reference). *out is NULL when nothing drives
 * it. Returns 0 or -ENOMEM. */
int sy_eng_serve_control(const sy_engine_t *eng, int64_t ws, const char *key, const json_t *def,
                         const char *why, json_t **out);
/* Calls fn(arg, flag) for the flag of each active experiment of `ws`; stops at the first
 * negative return, which it returns. */
int sy_eng_driven_flags(const sy_engine_t *eng, int64_t ws, int (*fn)(void *arg, const char *flag),
                        void *arg);

/* Loads every experiment and rebuilds its aggregates from the event log. */
int sy_eng_experiments_open(sy_engine_t *eng, sy_err_t *err);
void sy_eng_experiments_close(sy_engine_t *eng); /* NULL state is a no-op */
/* Whether flag `key` of workspace `ws` is driven by a running experiment (then the flag
 * API may not change or delete it). */
bool sy_eng_flag_is_driven(const sy_engine_t *eng, int64_t ws, const char *key);
/* 0 when the `flags` of an imported document keep every driven flag of `ws` as it is;
 * otherwise SY_ECONFLICT naming the first one. */
int sy_eng_flagset_keeps_driven(const sy_engine_t *eng, int64_t ws, const json_t *flags,
                                sy_err_t *err);

/* tail.c: what another node committed of experiments, to be applied here. `ws` > 0: that
 * workspace's experiment rows changed; 0: the log or the changes grew; -1: anything may have
 * (a lost connection): every workspace. Out of memory, every workspace. */
void sy_eng_tail_want(sy_engine_t *eng, int64_t ws);
/* Applies what is wanted, unless a batch is in flight (then later); every TAIL_EVERY_MS in
 * any case while the engine listens. */
int sy_eng_tail_due(sy_engine_t *eng, sy_err_t *err);

/* routes.c: every route as the store holds them now (another node changed one: sync.c's
 * "routes"), what this node's data plane reported of each and its plan's progress kept; the
 * data plane told. On failure the routes stay as they were. */
int sy_eng_routes_sync(sy_engine_t *eng, sy_err_t *err);

/* allocation.c: every workspace's guardrails as the store holds them (another node changed
 * some: sync.c's "settings"). */
int sy_eng_guardrails_sync(sy_engine_t *eng, sy_err_t *err);

#endif
