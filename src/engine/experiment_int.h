/* experiment_int.h - what the experiment files of engine/ share: an experiment, its
 * variants' aggregates and its units, and the helpers one file lends the others. Not an
 * interface: only the experiment files of src/engine/ (below) include it.
 *
 *  - definition.c: definitions, checked and normalized;
 *  - experiment.c: the experiments of a process, start-up, the life cycle;
 *  - results.c: results and promotion eligibility;
 *  - ingest.c: the units table, applying events, the event log and group commit;
 *  - allocation.c: traffic steps, promotion and rollback, and their history;
 *  - checkpoint.c, retention.c: checkpoints of the aggregates, and pruning the event log;
 *  - curves.c: promotion curves shared by engines opened one after another.
 */
#ifndef SY_ENGINE_EXPERIMENT_INT_H
#define SY_ENGINE_EXPERIMENT_INT_H

#include "core/allocation.h"
#include "core/experiment.h"
#include "engine/internal.h"

#define UNIT_MAX    256         /* longest unit id, bytes */
#define VARIANT_MAX 63          /* longest variant key */
#define UNITS_MAX   (32u << 20) /* distinct units one experiment may hold */

enum state { DRAFT, RUNNING, STOPPED, TERMINATED, PROMOTING, PROMOTED, ROLLED_BACK };

/* "draft", "running", ... as the API spells a state. */
const char *sy_exp_state_name(enum state s);

/* Whether an experiment in state `s` drives its flag and takes events: running, promoting,
 * promoted or rolled back. */
bool sy_exp_is_active(enum state s);

enum { CONVERTED = 1, ERRED = 2, CROSSED = 4, COVARIATE = 8 };

struct unit {
    uint64_t hash;
    uint32_t off;   /* of its bytes in the pool */
    uint16_t len;   /* 0: an empty slot (units are never empty) */
    int8_t variant; /* of its first exposure; -1: not exposed yet */
    uint8_t flags;  /* CONVERTED, ERRED, CROSSED, COVARIATE (its first exposure had one) */
    double value;   /* total of its outcome values */
    double cov;     /* the covariate of its first exposure (0 without one: CUPED's x) */
};

/* What CUPED regresses on the covariate (struct agg.cuped): nothing (off), the unit's
 * conversion (0/1), or its total value; the experiment's metric. */
enum { CUPED_OFF = 0, CUPED_CONVERSION = 1, CUPED_MEAN = 2 };

struct units {
    struct unit *slots;
    size_t cap; /* a power of two, at least twice n */
    size_t n;
    char *pool;
    size_t pool_len, pool_cap;
};

/* Health of a variant's requests, from its events: what the health monitor compares. The
 * latency histogram's bucket b holds [1.1^b - 1, 1.1^(b+1) - 1) ms (10 % wide, to about
 * 2.7e6 ms); a p95 read from it is the upper bound of its bucket. */
#define HEALTH_BUCKETS 156

struct health_counts {
    int64_t served;    /* exposure events */
    int64_t outcomes;  /* outcome events that said success or failure */
    int64_t successes; /* of those, successes */
    int64_t errors;    /* error events */
    int64_t latencies; /* events with a latency */
    uint32_t hist[HEALTH_BUCKETS];
};

struct agg {
    int64_t units, conversions, errors, crossovers;
    sy_welford_t value; /* of each unit's total value, over its units (n == units) */
    double seq_p;
    uint8_t cuped;        /* CUPED_*: what cov's y is (the experiment's, set by definition.c) */
    sy_comoments_t cov;   /* CUPED: of (covariate, y) over its units (n == units) */
    int64_t covariates;   /* CUPED: its units whose first exposure carried a covariate */
    double cuped_seq_p;   /* CUPED with sequential: the adjusted always-valid p so far */
    sy_welford_t latency; /* of the events with a latency, counted for the unit's variant then */
    struct health_counts win;    /* since the last allocation change: the next baseline */
    struct health_counts recent; /* since the monitor last judged it: the current health
                                    (neither is stored: replayed from the log) */
};

struct arm {
    char key[VARIANT_MAX + 1];
    int64_t weight;         /* now, in percentage points */
    int64_t defined_weight; /* as the definition gave it (points) */
    struct agg a;
};

/* An experiment's place in its layer (layer.c): a range of the layer's hash space. */
struct exp_layer {
    char name[SY_LAYER_NAME_MAX + 1]; /* "": in no layer */
    int64_t pct_bp;                   /* its share, basis points of SY_LAYER_BP */
    int64_t start_bp, end_bp;         /* [start, end): held while a draft or active */
};

struct experiment {
    int64_t id, ws;
    char key[KEY_MAX + 1];
    char flag[KEY_MAX + 1];
    enum state state;
    int64_t created_ms, started_ms, stopped_ms;
    json_t *def;         /* the normalized definition, as stored */
    json_t *flag_before; /* the flag before start (running and ended), or NULL */
    sy_metric_t metric;
    sy_safety_t safety;
    unsigned safety_set; /* the "safety" fields it sets (definition.c's order); the others
                            are the server-wide defaults' (sy_engine_opts_t.exp_defaults) */
    bool sequential;
    double tau_squared; /* 0: derived (core/experiment.h) */
    bool cuped;         /* CUPED on (the definition's "cuped": {"enabled": true}) */
    /* CUPED's covariate from a KPI metric ("cuped": {"kpi"}): "" for none; the ingest
     * writer sums a new unit's events in [exposure - lookback_ms, exposure) */
    char cuped_kpi_domain[SY_EXP_KPI_NAME_MAX + 1];
    char cuped_kpi_metric[SY_EXP_KPI_NAME_MAX + 1];
    int64_t cuped_lookback_ms;
    bool record_exposures;
    bool latency_guardrail;
    double max_latency_increase_pct;
    size_t n_arms, control;
    struct arm *arms; /* n_arms of them (an arm's windows weigh 1.4 KB: not 16 of them) */
    struct units units;
    uint64_t batch;                /* the last batch that touched it */
    uint32_t batch_ix;             /* its place among that batch's experiments */
    uint32_t units_flight;         /* units new to it in the batch in flight: they count
                                      against the cap until it lands */
    sy_guardrails_t guardrails;    /* its own guardrails (the definition's "allocation"): the */
    unsigned guardrails_set;       /* GUARD_* fields it sets; the rest are its workspace's */
    sy_health_thresholds_t health; /* of the health monitor (the definition's "health") */
    int64_t health_min_events;     /* samples a window needs before it is judged */
    int watched;                   /* the variant the monitor watches (the last step's or
                                      promotion's winner), -1: none */
    bool has_baseline;
    sy_health_t baseline; /* the watched variant's health in the window before the change */
    bool has_pushed;      /* health pushed since the last change (POST .../health) */
    sy_health_t pushed;
    int64_t pushed_ms;
    int64_t health_checked_ms; /* when the monitor last judged it */
    size_t replayed_changes;   /* start-up: the changes whose window the replay has begun */
    /* the anytime-valid SRM test over its life, one period per allocation: looked at after
     * every commit that brings it units, and at every change */
    bool srm_on;                      /* started (2 or more variants of weight > 0) */
    sy_srm_mix_t srm;                 /* core/stats.h */
    int64_t srm_fed[SY_EXP_MAX_ARMS]; /* each variant's units the test has seen */
    int64_t srm_grace_until;          /* units first exposed before this time (ms), after a
                                         change, are left out of the test (SRM_GRACE_MS) */
    double srm_p_stored;              /* the running p the store holds (1: no row) */
    struct alloc_change *changes;     /* its allocation changes, oldest first */
    size_t n_changes, cap_changes;
    int64_t changes_upto;     /* the largest store id among them (tail.c) */
    struct power_plan *plans; /* by arm: the rule's promotion curves (results.c),
                                 NULL until the results are first asked for */
    int64_t ckpt_seq; /* start-up: the log's place its checkpoint was restored at (its events
                         up to it are in the aggregates already), 0: none */
    /* a bandit (bandit.c) */
    sy_exp_bandit_t bandit; /* the definition's "bandit" (.on false: not one) */
    int64_t bandit_due_ms;  /* its next look, engine clock (0: at its burn-in's end) */

    struct exp_layer layer; /* its exclusive layer, if any */
};

/* A treatment's promotion curve as the results last computed it, for the plan it was
 * computed for: reused while the plan (its inputs on a grid) stays the same. */
struct power_plan {
    bool has;
    sy_rule_plan_t plan;
    int64_t n_max;
    sy_rule_curve_t curve;
};

/* What the engine remembers of an allocation change (the store has all of it). */
struct alloc_change {
    int64_t at_ms;
    bool step;              /* a guarded step (what the daily limit counts) */
    char evaluation_id[65]; /* the step's evaluation_id, "" for none */
    int64_t units_at;       /* units exposed before the change took effect */
    int winner;             /* the variant it moved traffic to (step, promote), -1: rollback */
    bool bandit;            /* a bandit's re-weighting (never rate-limited) */
    int64_t events_at;      /* the log's last event the aggregates held when it was made
                               (the replay's boundary) */
    int64_t weights[SY_EXP_MAX_ARMS]; /* after it */
};

struct ingest; /* ingest.c's queue */

struct sy_experiments {
    struct experiment **all;
    size_t n, cap;
    _Atomic size_t n_recording; /* active experiments that record OFREP exposures (read by
                                 * serving threads: sy_engine_records_exposures) */
    struct ingest *in;          /* the queue of events waiting for their commit */
    int64_t next_timeline_ms;   /* the next hour on the hour a point of every active
                                   experiment is taken (timeline.c); 0: not scheduled yet */
    bool charting;              /* an hour's points are being taken, a slice a tick */
    size_t chart_next;          /* ... from this experiment on (an index of all) */
    int64_t changes_seen;       /* the largest id of an allocation change applied here (its
                                   row loaded, or made here): tail.c reads those after it */
    /* what sync.c heard that tail.c is to apply (sy_eng_tail_want) */
    bool tail_wanted;
    bool tail_all;    /* every workspace's experiment rows */
    int64_t *tail_ws; /* the workspaces whose experiment rows changed */
    size_t n_tail_ws, cap_tail_ws;
    int64_t tail_ms; /* when the last tail ran (the engine's clock) */
};

/* ---- definition.c --------------------------------------------------------------------- */

/* Fills `e` (fresh: no def yet) from definition `d` (codec/experiment_json.h read it) and
 * builds its normalized form (e->def: what the store keeps, its "safety" holding only the
 * fields it gives); -EINVAL naming the field. The safety settings it does not give are
 * `base`'s (the server-wide defaults). `stored`: a row of the store, whose weights are
 * taken as written. Variants' values are the caller's (a flag the experiment creates). */
int sy_exp_def_apply(const sy_exp_def_t *d, struct experiment *e, bool stored,
                     const sy_exp_defaults_t *base, sy_err_t *err);
/* `e` as the API answers it, with no pointer into it. */
void sy_exp_view(const struct experiment *e, sy_experiment_t *x);
/* Takes `from`'s settings (a definition of `e` applied again, sy_engine_experiment_update)
 * into `e`: safety, allocation, health, description and the normalized form; nothing of
 * its variants, weights, aggregates or health windows. `from`'s def moves to `e`, and
 * `e`'s old one is returned (the caller's). */
json_t *sy_exp_take_settings(struct experiment *e, struct experiment *from);

/* ---- experiment.c --------------------------------------------------------------------- */

/* Hours the experiment has run (to its stop once ended; 0 for a draft). */
double sy_exp_runtime_hours(const sy_engine_t *eng, const struct experiment *e);

struct experiment *sy_exp_find(const sy_engine_t *eng, int64_t ws, const char *key, size_t len);
struct experiment *sy_exp_find_by_id(const sy_engine_t *eng, int64_t id);
/* The experiment of the actor's workspace named `key`, or NULL with -ENOENT in `err`. */
struct experiment *sy_exp_lookup(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                 sy_err_t *err);
/* The active experiment on flag `flag` of `ws` (or also a draft), or NULL. */
struct experiment *sy_exp_on_flag(const sy_engine_t *eng, int64_t ws, const char *flag, size_t len,
                                  bool active_only);
/* The index of variant `key` (`len` bytes), or -1. */
int sy_exp_arm_index(const struct experiment *e, const char *key, size_t len);
/* What the analysis reads of a variant's aggregates `a`, its effective weight `weight`
 * given (results.c). */
void sy_exp_arm_counts(const struct agg *a, double weight, sy_arm_counts_t *c);
/* The analysis input over `e`'s aggregates; `counts` and `names` are caller arrays of
 * SY_EXP_MAX_ARMS. */
void sy_exp_analysis_in(const sy_engine_t *eng, const struct experiment *e, sy_arm_counts_t *counts,
                        const char **names, sy_experiment_in_t *in);
/* Whether two plans are the same (the same curve, for the same n_max) (curves.c). */
bool sy_exp_same_plan(const sy_rule_plan_t *a, const sy_rule_plan_t *b);
/* The curve of (plan, n_max) from `c` into *out: true when it was there (c NULL: false). */
bool sy_exp_curve_find(const sy_engine_curves_t *c, const sy_rule_plan_t *plan, int64_t n_max,
                       sy_rule_curve_t *out);
/* A copy of (plan, n_max)'s curve into `c` (NULL: a no-op). */
void sy_exp_curve_keep(sy_engine_curves_t *c, const sy_rule_plan_t *plan, int64_t n_max,
                       const sy_rule_curve_t *curve);
/* The results of `e` into *r (owned: free()); -EINVAL only for contradicting aggregates. */
int sy_exp_analyse(const sy_engine_t *eng, struct experiment *e, sy_experiment_result_t **r,
                   sy_err_t *err);
/* {variant: points} of the current allocation (new reference). */
json_t *sy_exp_weights_json(const struct experiment *e);
/* The experiment as the API shows it (sy_exp_view written by codec/experiment_json.c: the
 * audit's before and after; new reference, NULL when out of memory). */
json_t *sy_exp_to_json(const struct experiment *e);
/* The flag `before` with `e`'s current weights as its `fractional` split, gated by its
 * layer's range when it is in one (layer.c; new reference). */
json_t *sy_exp_split_flag(const sy_engine_t *eng, const struct experiment *e, const json_t *before);

/* Writes the experiment's row (inserting it when e->id is 0) and its audit event `action`
 * with `before`/`after`, in the open transaction: an sy_eng_write_fn argument. */
struct exp_write {
    struct experiment *e;
    const sy_principal_t *actor; /* NULL: the system (a timer) */
    const char *action;
    const json_t *before, *after;
    bool arms; /* also write every arm's aggregates (a new experiment) */
    int (*more)(sy_engine_t *eng, struct exp_write *xw, sy_err_t *err); /* or NULL */
    void *more_arg;
};
int sy_exp_write(sy_engine_t *eng, int64_t ws, void *arg, sy_err_t *err);
/* Writes variant `k`'s aggregates (in the open transaction). */
int sy_exp_put_arm(sy_engine_t *eng, const struct experiment *e, size_t k, sy_err_t *err);
/* The store row of the aggregates of `arm`, a variant of experiment `experiment` (its
 * strings point into `arm`). */
void sy_exp_arm_row(int64_t experiment, const struct arm *arm, sy_store_arm_t *row);

enum { GUARD_CONFIDENCE = 1, GUARD_STEP = 2, GUARD_COOLDOWN = 4, GUARD_CHANGES = 8 };

/* Brings the experiment of store row `row` to it: made when new here (*added), else its
 * state, times, flag before, weights and settings taken (its aggregates, units and changes
 * stay); a draft whose variants changed is made anew. -ENOMEM, -EIO for a row that does not
 * read. (Many nodes: tail.c.) */
int sy_exp_sync_row(sy_engine_t *eng, const sy_store_experiment_t *row, bool *added);
/* Takes each variant's sequential p-value (its running minimum) from the store's rows of
 * `experiment`: what the node that committed the last looks wrote. */
int sy_exp_arms_load(sy_engine_t *eng, int64_t experiment, sy_err_t *err);

/* ---- layer.c -------------------------------------------------------------------------- */

/* Whether `s` is a layer's name: 1 to SY_LAYER_NAME_MAX of A-Z a-z 0-9 . _ - */
bool sy_exp_layer_name_ok(const char *s);
/* Places `e` (in a layer, e->layer.pct_bp set) at the lowest free range of its size in
 * its layer, outside the holdout and the ranges of the layer's other draft and active
 * experiments (`e` itself and `skip` left out), and writes the range into e->def.
 * -EINVAL naming "layer.name" for a layer that does not exist; SY_ECONFLICT naming
 * "layer" when no free range is that large. Nothing changes on failure. */
int sy_exp_layer_place(sy_engine_t *eng, struct experiment *e, const struct experiment *skip,
                       sy_err_t *err);
/* Sets `e`'s range to [start, end) basis points, in e->def too: -ENOMEM changes nothing. */
int sy_exp_layer_set_range(struct experiment *e, int64_t start_bp, int64_t end_bp, sy_err_t *err);
/* The holdout of `e`'s layer in basis points; -1 when it is in none (or it is gone). */
int64_t sy_exp_layer_holdout(const sy_engine_t *eng, const struct experiment *e);
/* The place of variant `key` of an event of `e`: its index, or n_arms for "holdout" when
 * `e` is in a layer (the exposures of its holdout's units, counted apart: e->arms holds one
 * more arm past the variants, which no loop over the variants sees); -1 for none. */
int sy_exp_event_variant(const struct experiment *e, const char *key, size_t len);
/* The holdout's aggregates (e->arms[e->n_arms].a) made again from e's units (a checkpoint
 * restored: it holds the variants' sums, not the holdout's). */
void sy_exp_holdout_rebuild(struct experiment *e);
/* The holdout's figures of `e` (in a layer) against its served traffic (engine.h). */
void sy_exp_holdout_figures(const struct experiment *e, sy_results_holdout_t *out);
/* The same comparison over sums: h's served and holdout fields filled, the rest made. The
 * served and holdout value moments: `served_v`, `hold_v` (metric mean). */
void sy_exp_holdout_compare(sy_metric_t metric, const sy_welford_t *served_v,
                            const sy_welford_t *hold_v, sy_results_holdout_t *h);
/* Whether `e` holds its range: in a layer, and a draft or active. */
bool sy_exp_layer_holds(const struct experiment *e);
/* The running flag of `e` in a layer: `def` (a copy of the flag, changed in place) with
 * `split` (the experiment's own `fractional`, taken) served only to the units of its range,
 * a variant "holdout" of the control's value for the layer's holdout, and the control as
 * the default of everyone else (docs/flags.md, "Layers"). -ENOMEM. */
int sy_exp_layer_gate(const sy_engine_t *eng, const struct experiment *e, json_t *def,
                      json_t *split);

/* ---- tail.c --------------------------------------------------------------------------- */

/* Many nodes (issue 25): applies what other nodes committed that this one has not, in the
 * log's order: their allocation changes (after x->changes_seen: each experiment's rows
 * brought to the store's, the changes remembered to begin at their places), then the log's
 * events after the last applied place (an experiment met there that is new here is loaded
 * first), then the changes placed before the end, and each touched experiment's stored
 * p-values. One snapshot of the store. Not while a batch of this node is in flight (its
 * committed rows would be applied twice): call sy_eng_settle first. SQLite, or nothing new:
 * nothing happens. */
int sy_eng_tail(sy_engine_t *eng, sy_err_t *err);

/* ---- results.c, timeline.c ------------------------------------------------------------ */

/* `e`'s results as sy_engine_experiment_results answers them into *out (owned: free()). */
int sy_exp_results_of(const sy_engine_t *eng, struct experiment *e, sy_exp_results_t **out,
                      sy_err_t *err);
/* Writes a point of `e`'s timeline at the engine's clock, its results as they are now, with
 * `cause` ("start", "hourly", "step", "promote", "rollback", "bandit"), in the open
 * transaction. With `replace` it replaces a point at the same millisecond, else it leaves
 * one there. */
int sy_exp_timeline_put(sy_engine_t *eng, struct experiment *e, const char *cause, bool replace,
                        sy_err_t *err);
/* From sy_engine_tick: at each hour on the hour of the engine's clock, a point of every
 * running, promoting or promoted experiment, in one transaction (a failed one is tried
 * again a minute later). */
void sy_eng_timeline_tick(sy_engine_t *eng, int64_t now_ms);
/* What the health monitor sees of `e` now (GET .../health's view), judging nothing. */
void sy_eng_health_view(const sy_engine_t *eng, const struct experiment *e, sy_health_view_t *v);

/* ---- allocation.c --------------------------------------------------------------------- */

/* The guardrails `e`'s steps are held to: its workspace's, with its own fields over them. */
sy_guardrails_t sy_exp_guardrails(const sy_engine_t *eng, const struct experiment *e);
/* Loads every workspace's settings (start-up). */
int sy_exp_settings_open(sy_engine_t *eng, sy_err_t *err);

/* Moves `e` to `weights` and `state` in one transaction (flag split, experiment row,
 * history row with `detail`, audit event `audit_action`), toward `winner` (-1 for a
 * rollback), and starts a new health window; counted under `why` (GET /metrics). `actor`
 * NULL is the system. On failure nothing changes, in memory or in the store. With
 * `after_out`, the experiment as committed (made before the commit) into it on success: a
 * new reference. */
int sy_exp_change(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e,
                  const int64_t *weights, enum state state, int winner, const char *action,
                  sy_change_reason_t why, const char *audit_action, json_t *detail,
                  const char *evaluation_id, json_t **after_out, sy_err_t *err);
/* One guarded step of `e` toward `winner` (core/allocation.h), as allocation/apply
 * describes it in engine.h, into *out. */
int sy_exp_step(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e, size_t winner,
                double confidence, double delta, const char *eval_id, sy_change_reason_t why,
                sy_step_answer_t *out, sy_err_t *err);
/* sy_exp_step as the auto-promotion check reads it: *out (owned) {"applied": true,
 * "weights"} when taken, {"applied": false, "refused_by"} when a guardrail refuses it (the
 * return SY_ECONFLICT), NULL otherwise. */
int sy_exp_step_to(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e,
                   size_t winner, double confidence, double delta, const char *eval_id,
                   json_t **out, sy_err_t *err);
/* What a promotion is made on, as its history row, audit event and notification say it:
 * the promoted variant's confidence and improvement against control when the results
 * compare it (the results' own: Holm-adjusted, always valid when sequential). Every
 * variant's units go with it, from the experiment. */
struct promo_evidence {
    bool has_confidence;
    double confidence; /* 0..1 */
    bool has_improvement;
    double improvement_pct; /* relative lift, in % */
};
/* The evidence for variant `winner` in results `r`. */
struct promo_evidence sy_exp_evidence(const sy_experiment_result_t *r, size_t winner);
/* Promotes `winner` of `e` to 100 % (state promoted) as one change (sy_exp_change): the
 * history row "promote" with `mode` ("manual", "full"), who (`by`; NULL: the actor's
 * name), `metadata` (borrowed; may be NULL), the evidence, every variant's sample and the
 * winner's baseline; the audit event "experiment.promote"; the promotion's notification.
 * SY_ECONFLICT naming "state" unless `e` runs or is promoting; nothing changes then. */
int sy_exp_promote(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e,
                   size_t winner, const char *by, const char *mode, const json_t *metadata,
                   const struct promo_evidence *ev, json_t **out, sy_err_t *err);
/* The auto-promotion check's promotion of an eligible `winner` of an experiment whose
 * safety.promotion is "full": sy_exp_promote by the system, unless an earlier allocation
 * change of `e` is younger than its cooldown (SY_ECONFLICT naming "cooldown"). No other
 * guardrail of steps holds it (docs/spec-auto-promotion.md says why). */
int sy_exp_promote_full(sy_engine_t *eng, struct experiment *e, size_t winner,
                        const struct promo_evidence *ev, sy_err_t *err);

/* An allocation change's store row remembered by its experiment (not begun: the replay
 * begins it at its place); x->changes_seen follows its id. An sy_store_change_cb, `arg` the
 * engine. */
int sy_exp_change_row(void *arg, const sy_store_change_t *row);
/* Loads every experiment's allocation changes (start-up). */
int sy_exp_changes_open(sy_engine_t *eng, sy_err_t *err);
/* What each variant should have received, on the scale of units: every allocation period
 * counts with its own weights (units first exposed in it times its weight), so that SRM
 * is judged against the split each unit was assigned under. Into weights[n_arms]. */
void sy_exp_effective_weights(const struct experiment *e, double *weights);

/* Starts a new health window at a change toward `winner` (-1 for a rollback): the
 * watched variant's window becomes the baseline, and every window starts empty. */
void sy_exp_new_window(struct experiment *e, int winner);
/* An allocation change `c` takes effect (made now, or replayed at start-up): a new health
 * window, and a new period of the SRM test. */
void sy_exp_change_begins(struct experiment *e, const struct alloc_change *c);
/* The SRM test: started with the defined weights (a new experiment, or at start-up before
 * the replay); a look at the units since the last, whose events are of time `at_ms`
 * (INT64_MAX: whatever their time). Units first exposed within SY_EXP_SRM_GRACE_MS after an
 * allocation change are left out: an app evaluates, then reports the exposure seconds or a
 * minute later, so some of them were assigned by the split before, and counted against
 * the new one they would raise a false alarm at every step. */
void sy_exp_srm_start(struct experiment *e);
void sy_exp_srm_look(struct experiment *e, int64_t at_ms);
/* Start-up: begins the windows of the changes made before event `seq` of the log (all of
 * them for INT64_MAX), as they were begun when those changes were made. */
void sy_exp_replay_changes(struct experiment *e, int64_t seq);
/* The health in `h`, or false when it holds fewer than `min_events` samples. */
bool sy_exp_health_of(const struct health_counts *h, int64_t min_events, sy_health_t *out);

/* ---- bandit.c ------------------------------------------------------------------------- */

/* When `e`'s burn-in ends (its start plus burn_in_hours; 0 before it starts). */
int64_t sy_exp_bandit_burn_in_until(const struct experiment *e);
/* At start-up (the changes read): each running bandit past its burn-in resumes its
 * cadence, its next look the first point of it from now, counted from its last
 * re-weighting (or its burn-in's end): none at once, none made up (bandit.c). */
void sy_exp_bandit_resume(sy_engine_t *eng);
/* `e`'s bandit as the results show it, into x->bandit_* (x->has_bandit false when `e` is
 * not a bandit). -EINVAL only for aggregates that contradict each other. */
int sy_exp_bandit_view(const sy_engine_t *eng, const struct experiment *e, sy_exp_results_t *x,
                       sy_err_t *err);
/* From sy_engine_tick (the leader): every running bandit whose look is due past its
 * burn-in computes its weights (core/bandit.h) and, when they differ from the current
 * ones, moves to them as one change (sy_exp_change: action "bandit", audit
 * "experiment.bandit_update", notification "bandit_update"); held while the kill switch
 * of its workspace is engaged. The next look is update_minutes later. */
void sy_eng_bandit_tick(sy_engine_t *eng, int64_t now_ms);

/* ---- checkpoint.c --------------------------------------------------------------------- */

/* What a replay of the log up to place `seq` rebuilds of `e` (its units, its variants'
 * sums and health windows, the SRM test, the watched variant and baseline, the changes
 * begun) encoded into *out (owned: free()), *len bytes, version 4: the same bytes on any
 * host (little-endian); its check covers e's id and `seq`. -ENOMEM; -E2BIG past
 * SY_CKPT_MAX bytes; -ENOTSUP on a build whose sy_wide_t is not IEEE binary128. */
#define SY_CKPT_MAX ((size_t)1 << 30)
int sy_exp_ckpt_encode(const struct experiment *e, int64_t seq, unsigned char **out, size_t *len);
/* Restores into `e` (loaded, nothing replayed yet) the state `data` encodes (version 4 or 3, or
 * version 2 written by a host of this one's byte order), its row's place `seq`. -EIO for
 * anything that does not decode as a checkpoint of this experiment at this place (its
 * state is then undefined: the caller refuses to start), -ENOMEM. */
int sy_exp_ckpt_decode(struct experiment *e, int64_t seq, const void *data, size_t len);

/* ---- monitor.c ------------------------------------------------------------------------ */

/* A commit brought `e` new events: its watched variant is judged now if its last judgement
 * is an interval old (the rollback, if any, is reported by the next tick). */
void sy_exp_health_after_commit(sy_engine_t *eng, struct experiment *e);

/* ---- ingest.c ------------------------------------------------------------------------- */

void sy_exp_units_free(struct units *u);
/* Applies one logged event to its experiment (start-up): an sy_store_event_cb, `arg` the
 * engine. Events of an experiment up to its checkpoint (ckpt_seq) are left out. */
int sy_exp_replay(void *arg, const sy_store_event_t *ev);
/* Applies logged event `ev` of `e` to `e` as the start-up replay does (retention.c replays
 * a copy of an experiment to checkpoint it). -ENOMEM leaves `e` as it was. */
int sy_exp_replay_into(struct experiment *e, const sy_store_event_t *ev);
/* Adds unit `id` (`len` bytes) to `e` with its state (a checkpoint's): -EIO when it is
 * there already or its variant is not one of e's, -ENOMEM. */
int sy_exp_unit_restore(struct experiment *e, const char *id, size_t len, int variant,
                        unsigned flags, double value, double cov);
/* The log's place (sy_store_event_t.seq) of the last event the aggregates hold: what an
 * allocation change records, so that a replay puts the same events before it. Events
 * committed but not landed yet (a batch in flight) come after it, in memory as in the
 * log. */
int64_t sy_exp_events_applied(const sy_engine_t *eng);
/* Waits for the batch in flight and lands it (again, if it is made again), so that every
 * row this node committed is applied; answers its submissions. */
void sy_eng_settle(sy_engine_t *eng);
/* Whether a batch is with the writer. */
bool sy_eng_in_flight(const sy_engine_t *eng);
/* Start-up: the last applied place is at least `seq` (a checkpoint's). */
void sy_exp_events_applied_past(sy_engine_t *eng, int64_t seq);
/* Makes the ingest queue; frees it (after a last commit). */
int sy_exp_ingest_open(sy_engine_t *eng);
void sy_exp_ingest_free(sy_engine_t *eng);

#endif
