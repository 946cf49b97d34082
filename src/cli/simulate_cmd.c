/* simulate_cmd.c - `switchyard simulate`: days of synthetic traffic through the real
 * engine, on its own clock, in minutes.
 *
 * Same code paths as a server: an engine on an in-memory SQLite store, an experiment made
 * from the scenario, units assigned by evaluating its flag from the engine's snapshot
 * (flagd's hashing, as OFREP serves it), their events ingested and group-committed, and
 * the engine's timers (auto-promotion, health monitor) run by sy_engine_tick as the fake
 * clock advances. Each unit converts, errs and takes a latency by the variant's true
 * rates of the moment (a scenario may change them over time: a winner that degrades on day
 * 3). A scenario may give each unit a pre-period covariate correlated rho with its outcome
 * (a Gaussian copula), carried by its exposure, for CUPED. Prints the timeline and a
 * summary, or with --runs N the rates over N runs (seeds S, S+1, ...). See docs/cli.md for
 * the scenario's fields.
 */
#define _DEFAULT_SOURCE
#include "cli/simulate_cmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <jansson.h>
#include <unistd.h>

#include "cli/args.h"
#include "codec/experiment_json.h"
#include "codec/monitor_json.h"
#include "codec/stats_json.h"
#include "core/rng.h"
#include "engine/engine.h"

#define START_MS   1700006400000 /* a midnight, UTC: days in the timeline are whole */
#define MAX_ARMS   16
#define MAX_CHANGE 8
#define MAX_DAYS   367 /* days of a regret curve (366 and a part) */

/* ---- the scenario ----------------------------------------------------------------------- */

enum dist { DIST_NONE, DIST_NORMAL, DIST_LOGNORMAL, DIST_ZERO_INFLATED };

struct truth {
    double conversion, error_rate;
    /* latency, ms: lognormal by median and p95 (latency_ms alone: that median, a spread of
     * +-12.5 %), or normal by mean and sd (cut at 0) */
    bool latency_normal;
    double latency_ms, latency_p95_ms, latency_sd_ms;
    double exposure_loss; /* share of units whose exposure event is lost */
    enum dist dist;       /* the outcome's value (the mean metric), DIST_NONE: none */
    double value_mean, value_sd, zero_share;
    /* "covariate": {"rho"}: each unit's exposure carries a pre-period value whose normal
     * score has correlation rho with the one its outcome is drawn from (conversion: the
     * outcome is Phi(g) < rate; a normal value mean + sd g; a lognormal one its exp) */
    bool has_cov;
    double rho;
};

struct change {
    double at_hours;
    struct truth t;
};

struct variant {
    const char *key;
    struct truth t;
    struct change changes[MAX_CHANGE];
    size_t n_changes;
    size_t control_of; /* the control's index */
};

/* How the experiment allocates (--mode): as the scenario says (guarded steps, or a bandit
 * when it has "bandit"), guarded steps, a fixed split (no auto-promotion), a bandit. */
enum mode { MODE_SCENARIO, MODE_STEPS, MODE_EQUAL, MODE_BANDIT };

struct scenario {
    double days, units_per_hour, check_hours, health_minutes, step_minutes;
    enum mode mode;
    size_t n;
    struct variant v[MAX_ARMS];
    json_t *def; /* the experiment's definition */
};

/* The default scenario: a +10 % winner, sequential; a file's missing fields come from it. */
static const char default_scenario[] =
    "{\"days\":7,\"units_per_hour\":1000,\"safety\":{\"sequential\":true},"
    "\"variants\":[{\"key\":\"control\",\"control\":true,\"weight\":50,\"conversion\":0.10},"
    "{\"key\":\"treatment\",\"weight\":50,\"conversion\":0.11}]}";

/* -EINVAL with `msg`, naming `at`.k (or k at the top). */
static int refuse_at(sy_err_t *err, const char *at, const char *k, const char *msg)
{
    sy_err_set(err, -EINVAL, NULL, "%s", msg);
    if (snprintf(err->field, sizeof(err->field), "%s%s%s", at, at[0] ? "." : "", k) >=
        (int)sizeof(err->field))
        err->field[sizeof(err->field) - 1] = '\0'; /* a path too long: cut */
    return -EINVAL;
}

/* o[k] into *out when present: a number from lo to hi, else -EINVAL naming `at`.k. */
static int number(const json_t *o, const char *at, const char *k, double lo, double hi, double *out,
                  sy_err_t *err)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_number(v) || !(json_number_value(v) >= lo) || !(json_number_value(v) <= hi)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must be a number from %g to %g", lo, hi);
        return refuse_at(err, at, k, msg);
    }
    *out = json_number_value(v);
    return 0;
}

/* The index (from 1) of o["distribution"] among `names` (n of them, [0] unused); 0: none. */
static int distribution(const json_t *o, const char *const *names, int n)
{
    const char *d = json_string_value(json_object_get(o, "distribution"));
    for (int k = 1; d && k < n; k++)
        if (strcmp(d, names[k]) == 0)
            return k;
    return 0;
}

/* "value": {"distribution": "normal" | "lognormal" | "zero_inflated", "mean", "sd",
 * "zero_share"} (zero_inflated: 0 with that share, else lognormal). */
static int value_of(const json_t *o, const char *at, struct truth *t, sy_err_t *err)
{
    const json_t *v = json_object_get(o, "value");
    if (!v)
        return 0;
    static const char *const names[] = {"", "normal", "lognormal", "zero_inflated"};
    char here[160];
    snprintf(here, sizeof(here), "%s%svalue", at, at[0] ? "." : "");
    if (!json_is_object(v) || !(t->dist = (enum dist)distribution(v, names, 4)))
        return refuse_at(err, at, "value",
                         "is {\"distribution\": \"normal\", \"lognormal\" or \"zero_inflated\", "
                         "\"mean\", \"sd\", \"zero_share\"}");
    int rc;
    if ((rc = number(v, here, "mean", -1e12, 1e12, &t->value_mean, err)) < 0 ||
        (rc = number(v, here, "sd", 0, 1e12, &t->value_sd, err)) < 0 ||
        (rc = number(v, here, "zero_share", 0, 1, &t->zero_share, err)) < 0)
        return rc;
    if (t->dist != DIST_NORMAL && !(t->value_mean > 0))
        return refuse_at(err, here, "mean", "a lognormal value needs a mean > 0");
    return 0;
}

/* "latency": {"distribution": "lognormal", "median_ms", "p95_ms"} or {"distribution":
 * "normal", "mean_ms", "sd_ms"}. */
static int latency_of(const json_t *o, const char *at, struct truth *t, sy_err_t *err)
{
    const json_t *v = json_object_get(o, "latency");
    if (!v)
        return 0;
    static const char *const names[] = {"", "lognormal", "normal"};
    char here[160];
    snprintf(here, sizeof(here), "%s%slatency", at, at[0] ? "." : "");
    int d = json_is_object(v) ? distribution(v, names, 3) : 0;
    if (!d)
        return refuse_at(err, at, "latency",
                         "is {\"distribution\": \"lognormal\", \"median_ms\", \"p95_ms\"} or "
                         "{\"distribution\": \"normal\", \"mean_ms\", \"sd_ms\"}");
    t->latency_normal = d == 2;
    int rc;
    if (t->latency_normal)
        return (rc = number(v, here, "mean_ms", 0, 1e6, &t->latency_ms, err)) < 0 ||
                       (rc = number(v, here, "sd_ms", 0, 1e6, &t->latency_sd_ms, err)) < 0
                   ? rc
                   : 0;
    t->latency_p95_ms = 0;
    if ((rc = number(v, here, "median_ms", 0.001, 1e6, &t->latency_ms, err)) < 0 ||
        (rc = number(v, here, "p95_ms", 0.001, 1e7, &t->latency_p95_ms, err)) < 0)
        return rc;
    if (!(t->latency_p95_ms >= t->latency_ms))
        return refuse_at(err, here, "p95_ms", "a p95 at or above the median is required");
    return 0;
}

/* "covariate": {"rho": -1 to 1}. */
static int covariate_of(const json_t *o, const char *at, struct truth *t, sy_err_t *err)
{
    const json_t *v = json_object_get(o, "covariate");
    if (!v)
        return 0;
    char here[160];
    snprintf(here, sizeof(here), "%s%scovariate", at, at[0] ? "." : "");
    if (!json_is_object(v) || !json_object_get(v, "rho") || json_object_size(v) != 1)
        return refuse_at(err, at, "covariate", "is {\"rho\": a correlation from -1 to 1}");
    t->has_cov = true;
    return number(v, here, "rho", -1, 1, &t->rho, err);
}

static int truth_of(const json_t *o, const char *at, struct truth *t, sy_err_t *err)
{
    int rc;
    if ((rc = number(o, at, "conversion", 0, 1, &t->conversion, err)) < 0 ||
        (rc = number(o, at, "error_rate", 0, 1, &t->error_rate, err)) < 0 ||
        (rc = number(o, at, "exposure_loss", 0, 0.99, &t->exposure_loss, err)) < 0 ||
        (rc = value_of(o, at, t, err)) < 0 || (rc = covariate_of(o, at, t, err)) < 0)
        return rc;
    if (json_object_get(o, "latency_ms")) { /* the shorthand: a median, a narrow spread */
        t->latency_normal = false;
        t->latency_p95_ms = 0;
        if ((rc = number(o, at, "latency_ms", 0, 1e6, &t->latency_ms, err)) < 0)
            return rc;
    }
    return latency_of(o, at, t, err);
}

/* What a unit's value is worth on average: what "truly better" compares for the mean
 * metric. */
static double expected_value(const struct truth *t)
{
    return t->dist == DIST_ZERO_INFLATED ? (1 - t->zero_share) * t->value_mean : t->value_mean;
}

/* Reads the scenario; the experiment definition is every field but the simulation's own
 * and the variants' true rates. A field it lacks comes from the default scenario. */
static int scenario_of(const json_t *j, struct scenario *s, sy_err_t *err)
{
    *s = (struct scenario){.days = 7,
                           .units_per_hour = 1000,
                           .check_hours = 1,
                           .health_minutes = 1,
                           .step_minutes = 10};
    if (!json_is_object(j))
        return sy_err_set(err, -EINVAL, "", "a scenario is a JSON object");
    int rc;
    if ((rc = number(j, "", "days", 0.01, 366, &s->days, err)) < 0 ||
        (rc = number(j, "", "units_per_hour", 1, 1e7, &s->units_per_hour, err)) < 0 ||
        (rc = number(j, "", "check_every_hours", 0.01, 720, &s->check_hours, err)) < 0 ||
        (rc = number(j, "", "health_every_minutes", 1.0 / 60, 1440, &s->health_minutes, err)) < 0 ||
        (rc = number(j, "", "step_minutes", 1.0 / 60, 1440, &s->step_minutes, err)) < 0)
        return rc;
    struct truth base = {.conversion = 0.1, .error_rate = 0, .latency_ms = 100};
    if ((rc = covariate_of(j, "", &base, err)) < 0) /* every variant's, unless its own */
        return rc;
    if (!(s->def = json_deep_copy(j)))
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    json_t *dflt = json_loads(default_scenario, 0, NULL);
    if (dflt && !json_object_get(s->def, "variants"))
        json_object_set(s->def, "variants", json_object_get(dflt, "variants"));
    if (dflt && !json_object_get(s->def, "safety"))
        json_object_set(s->def, "safety", json_object_get(dflt, "safety"));
    json_decref(dflt);
    const json_t *vs = json_object_get(s->def, "variants");
    if (!json_is_array(vs) || json_array_size(vs) < 2 || json_array_size(vs) > MAX_ARMS)
        return sy_err_set(err, -EINVAL, "variants", "an array of 2 to %d variants", MAX_ARMS);
    vs = json_deep_copy(vs); /* the truths: s->def keeps the definition's part */
    static const char *const own[] = {
        "days",         "units_per_hour", "check_every_hours", "health_every_minutes",
        "step_minutes", "covariate"};
    for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++)
        json_object_del(s->def, own[k]);
    if (!json_object_get(s->def, "key"))
        json_object_set_new(s->def, "key", json_string("sim"));
    json_t *defvs = json_object_get(s->def, "variants");
    size_t control = 0;
    s->n = json_array_size(vs);
    rc = vs ? 0 : sy_err_set(err, -ENOMEM, NULL, "out of memory");
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        const json_t *v = json_array_get(vs, i);
        struct variant *x = &s->v[i];
        char at[64];
        snprintf(at, sizeof(at), "variants[%zu]", i);
        /* the key lives in s->def, which the scenario keeps (the caller frees `j`) */
        x->key = json_string_value(json_object_get(json_array_get(defvs, i), "key"));
        x->t = base;
        if (!x->key) {
            rc = refuse_at(err, at, "key", "every variant has a key");
            break;
        }
        if ((rc = truth_of(v, at, &x->t, err)) < 0)
            break;
        if (json_is_true(json_object_get(v, "control")))
            control = i;
        const json_t *ch = json_object_get(v, "changes");
        if (ch && (!json_is_array(ch) || json_array_size(ch) > MAX_CHANGE)) {
            rc = refuse_at(err, at, "changes", "an array of at most 8 changes");
            break;
        }
        for (size_t k = 0; rc == 0 && k < json_array_size(ch); k++) {
            const json_t *c = json_array_get(ch, k);
            char cat[96];
            snprintf(cat, sizeof(cat), "%s.changes[%zu]", at, k);
            x->changes[k].t = k ? x->changes[k - 1].t : x->t;
            if (!json_object_get(c, "at_hours"))
                rc = refuse_at(err, cat, "at_hours", "every change has its time");
            else if ((rc = number(c, cat, "at_hours", 0, 1e5, &x->changes[k].at_hours, err)) == 0 &&
                     k && x->changes[k].at_hours < x->changes[k - 1].at_hours)
                rc = refuse_at(err, cat, "at_hours", "changes come in time order");
            if (rc == 0 && (rc = truth_of(c, cat, &x->changes[k].t, err)) == 0)
                x->n_changes++;
        }
        json_t *d = json_array_get(defvs, i);
        static const char *const truth_fields[] = {"conversion", "error_rate",    "latency_ms",
                                                   "latency",    "exposure_loss", "value",
                                                   "changes",    "covariate"};
        for (size_t k = 0; k < sizeof(truth_fields) / sizeof(truth_fields[0]); k++)
            json_object_del(d, truth_fields[k]);
    }
    json_decref((json_t *)vs);
    for (size_t i = 0; i < s->n; i++)
        s->v[i].control_of = control;
    return rc;
}

/* The variant's true rates `hours` into the run. */
static struct truth truth_at(const struct variant *v, double hours)
{
    struct truth t = v->t;
    for (size_t k = 0; k < v->n_changes; k++)
        if (v->changes[k].at_hours <= hours)
            t = v->changes[k].t;
    return t;
}

/* ---- randomness: core/rng.h, seeded per run ----------------------------------------- */

/* A unit's value by the variant's distribution, from the normal score `g` (NAN: a draw of
 * its own). */
static double draw_value(const struct truth *t, double g, uint64_t *s)
{
    if (t->dist == DIST_NORMAL)
        return t->value_mean + t->value_sd * (isnan(g) ? sy_rng_gauss(s) : g);
    if (t->dist == DIST_ZERO_INFLATED && sy_rng_uniform(s) < t->zero_share)
        return 0;
    /* lognormal with that mean and sd */
    double cv2 = t->value_sd * t->value_sd / (t->value_mean * t->value_mean);
    double sigma2 = log1p(cv2), mu = log(t->value_mean) - sigma2 / 2;
    return exp(mu + sqrt(sigma2) * (isnan(g) ? sy_rng_gauss(s) : g));
}

/* A request's latency, ms, by the variant's distribution. */
static double draw_latency(const struct truth *t, uint64_t *s)
{
    if (t->latency_normal)
        return fmax(0, t->latency_ms + t->latency_sd_ms * sy_rng_gauss(s));
    if (t->latency_p95_ms > 0) /* lognormal: p95 = median e^(1.6449 sigma) */
        return t->latency_ms *
               exp(log(t->latency_p95_ms / t->latency_ms) / 1.6448536269514722 * sy_rng_gauss(s));
    return t->latency_ms * exp(0.25 * (sy_rng_uniform(s) - 0.5));
}

/* ---- one run ------------------------------------------------------------------------------ */

struct outcome {
    json_t *timeline; /* the engine's actions, with their time */
    int steps, refusals, rollbacks;
    bool reached_full;    /* a variant got 100 % */
    double hours_to_full; /* when */
    bool false_step;      /* traffic was moved toward a variant not truly better */
    json_t *weights;      /* at the end */
    const char *state;    /* at the end */
    bool srm_alarm;       /* the SRM test raised its alarm at some look */
    json_t *units;        /* units exposed per variant, at the end */
    /* the rule's power as the results print it (the first treatment with a sample_needed),
     * read at every check until PLAN_HOURS or the first step, whichever comes first */
    bool has_plan, plan_frozen;
    double planned_power;  /* the printed chance of promotion by planned_n */
    int64_t planned_n;     /* the printed sample_needed.control */
    int64_t control_units; /* the control's units so far (exposures not lost) */
    int checks;            /* auto-promotion checks so far */
    int step_check;        /* the check of the first step (0: none) */
    int due_check;         /* the first check with planned_n control units (0: none yet):
                              decisions come at checks, so "by the sample" is by this one */
    /* each treatment's lift intervals read at the checks (constant truth only): how many,
     * and whether one of them did not hold the true lift */
    int intervals[MAX_ARMS];
    bool missed[MAX_ARMS];
    /* CUPED on: the first treatment's raw and adjusted difference intervals at the end */
    bool has_width;
    double width_raw, width_cuped;
    bool oom; /* a record could not be made: the run is refused, never shown with a hole */
    /* what the allocation earned (a bandit's figures; any mode has them) */
    double expected;         /* sum over units of the true rate (or value) of their arm */
    double regret[MAX_DAYS]; /* by day: units * (best true rate - their arm's) */
    int days;                /* days in regret[] */
    int64_t min_weight;      /* the least weight any arm had at any traffic step */
    bool best_most;          /* the truly best arm ended with the most traffic, alone */
    int64_t bandit_updates;  /* the bandit's re-weightings (results' bandit.updates) */
};

/* promotion curves kept across runs (~0.9 KiB each): the plans of 1,000 A/A runs, or of
 * 40 runs of a winner, fit */
#define CURVES     4096
#define PLAN_HOURS 24 /* when a run's printed plan is taken (before its first step) */

/* What a unit of truth `t` is worth: its conversion rate, or its expected value (the mean
 * metric). */
static double worth(const struct truth *t)
{
    return t->dist != DIST_NONE ? expected_value(t) : t->conversion;
}

/* The best true worth among the variants `hours` into the run, and which has it. */
static double best_worth(const struct scenario *s, double hours, size_t *which)
{
    double best = -INFINITY;
    for (size_t i = 0; i < s->n; i++) {
        struct truth t = truth_at(&s->v[i], hours);
        if (worth(&t) > best) {
            best = worth(&t);
            if (which)
                *which = i;
        }
    }
    return best;
}

/* The variant the engine serves `unit`, from its current snapshot (as OFREP). */
static int assign(sy_engine_t *eng, int64_t ws, const char *flag, const char *unit,
                  const struct scenario *s)
{
    const sy_snapshot_t *snap = sy_engine_snapshot(eng, ws);
    char buf[4096];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, buf, sizeof(buf));
    sy_member_t m = {.key = "targetingKey", .klen = 12, .val = SY_V_STR(unit, strlen(unit))};
    sy_value_t ctx = {.type = SY_OBJ, .len = 1, .members = &m};
    sy_flag_result_t r;
    sy_flagset_eval(snap->set, flag, strlen(flag), SY_TYPE_ANY, &ctx, 0, &scratch, &r);
    int v = -1;
    for (size_t i = 0; r.has_value && i < s->n; i++)
        if (strlen(s->v[i].key) == r.variant_len &&
            memcmp(s->v[i].key, r.variant, r.variant_len) == 0)
            v = (int)i;
    sy_snapshot_release(snap);
    return v;
}

static void on_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)r;
    (void)err;
    *(int *)arg = rc;
}

static int ingest(sy_engine_t *eng, const sy_principal_t *who, sy_event_t *ev, size_t n)
{
    for (size_t off = 0; off < n; off += SY_EVENTS_MAX) {
        size_t k = n - off < SY_EVENTS_MAX ? n - off : SY_EVENTS_MAX;
        int rc = -1;
        sy_err_t err = {0};
        if (sy_engine_events_submit(eng, who, ev + off, k, on_done, &rc, &err) < 0) {
            fprintf(stderr, "switchyard simulate: events refused: %s (%s)\n", err.msg, err.field);
            return -1;
        }
        sy_engine_events_commit(eng);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Notes what the engine did in a tick; `hours` into the run. */
static void record(struct outcome *o, const sy_tick_report_t *done, double hours,
                   const struct scenario *s)
{
    for (size_t i = 0; i < done->n_rollbacks; i++) {
        const sy_monitor_rollback_t *rb = &done->rollbacks[i];
        o->rollbacks++;
        if (json_array_append_new(
                o->timeline, json_pack("{sfssssso*}", "hours", hours, "action", "rolled_back",
                                       "reason", rb->reason, "weights",
                                       rb->has_split ? sy_exp_split_json(&rb->split) : NULL)) < 0)
            o->oom = true;
    }
    for (size_t i = 0; done->checked && i < done->auto_promotion.n; i++) {
        const sy_auto_outcome_t *x = &done->auto_promotion.v[i];
        if (x->action == SY_AUTO_NONE)
            continue;
        const char *winner = x->has_winner ? x->winner : NULL;
        json_t *e = json_pack("{sfssss?}", "hours", hours, "action", sy_auto_action_name(x->action),
                              "winner", winner);
        /* a promotion to 100 % at once (safety.promotion "full") is a change like a step */
        if (x->action == SY_AUTO_STEP || x->action == SY_AUTO_PROMOTE) {
            if (!o->steps++) {
                o->step_check = o->checks;
                o->plan_frozen = true;
            }
            if (x->has_split && json_object_set_new(e, "weights", sy_exp_split_json(&x->split)) < 0)
                o->oom = true;
            for (size_t k = 0; winner && k < s->n; k++) {
                struct truth w = truth_at(&s->v[k], hours),
                             c = truth_at(&s->v[s->v[k].control_of], hours);
                bool mean = w.dist != DIST_NONE;
                if (strcmp(s->v[k].key, winner) == 0 &&
                    (mean ? expected_value(&w) <= expected_value(&c)
                          : w.conversion <= c.conversion))
                    o->false_step = true;
            }
            for (size_t k = 0; x->has_split && k < x->split.n; k++)
                if (x->split.v[k].weight == 100 && !o->reached_full) {
                    o->reached_full = true;
                    o->hours_to_full = hours;
                }
        } else if (x->action == SY_AUTO_REFUSED) {
            o->refusals++;
            if (x->has_refused_by &&
                json_object_set_new(e, "refused_by", json_string(x->refused_by)) < 0)
                o->oom = true;
        }
        if (json_array_append_new(o->timeline, e) < 0)
            o->oom = true;
    }
    if (done->lost)
        o->oom = true; /* a run with a hole is refused, never shown */
}

/* Whether the scenario's truth holds still (no changes): what the lift intervals can be
 * checked against. */
static bool constant_truth(const struct scenario *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].n_changes)
            return false;
    return true;
}

/* The variant's true lift over its control (of the rate, or of the expected value). */
static double true_lift(const struct scenario *s, size_t i)
{
    const struct truth *t = &s->v[i].t, *c = &s->v[s->v[i].control_of].t;
    if (t->dist != DIST_NONE)
        return (expected_value(t) - expected_value(c)) / fabs(expected_value(c));
    return t->conversion / c->conversion - 1;
}

/* What a person reads at a check: the power and sample_needed the results print (until the
 * plan is frozen), and whether every lift interval holds the true lift. */
static void read_check(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                       const struct scenario *s, struct outcome *o)
{
    sy_exp_results_t *res = NULL;
    if (sy_engine_experiment_results(eng, who, key, &res, NULL) < 0)
        return;
    bool plan = !o->plan_frozen, constant = constant_truth(s);
    if (plan)
        o->has_plan = false;
    for (size_t i = 0; i < res->n_variants; i++) {
        const sy_arm_result_t *r = &res->r.arms[i];
        if (res->variants[i].control || !r->compared)
            continue;
        if (plan && r->has_sample) {
            o->has_plan = true, plan = false;
            o->planned_n = r->n_needed_control;
            o->planned_power = r->power_needed;
        }
        if (i < s->n && constant && r->has_lift && isfinite(r->lift_ci_low)) {
            double lift = true_lift(s, i);
            o->intervals[i]++;
            o->missed[i] |= !(r->lift_ci_low <= lift && lift <= r->lift_ci_high);
        }
    }
    free(res);
}

/* One run into *o, its engine taking the promotion curves earlier runs computed from
 * `curves` (borrowed; NULL: none): 0, -EINVAL with *bad for a scenario whose experiment the
 * engine refuses, -1 for anything else (said on stderr). */
static int run(const struct scenario *s, uint64_t seed, sy_engine_curves_t *curves,
               struct outcome *o, sy_err_t *bad)
{
    *o = (struct outcome){.timeline = json_array()};
    sy_engine_t *eng;
    sy_err_t err = {0};
    sy_engine_opts_t opts = {
        .db = ":memory:", .fake_start_ms = START_MS, .no_hourly_timeline = true, .curves = curves};
    if (sy_engine_open(&eng, &opts, &err) < 0) {
        fprintf(stderr, "switchyard simulate: %s\n", err.msg);
        return -1;
    }
    int64_t ws, id;
    char secret[SY_TOKEN_MAX];
    sy_principal_t who;
    /* the scenario's experiment read as POST /v1/experiments reads one */
    sy_exp_def_t *def = malloc(sizeof(*def));
    sy_experiment_t *xp = malloc(sizeof(*xp));
    int rc = -1, read = -1;
    if (!def || !xp) {
        fprintf(stderr, "switchyard simulate: out of memory\n");
        goto out;
    }
    if (sy_engine_workspace_create(eng, "sim", &ws, &err) < 0 ||
        sy_engine_token_create(eng, NULL, ws, "simulate", SY_ROLE_ADMIN, secret, sizeof(secret),
                               &id, &err) < 0 ||
        sy_engine_authenticate(eng, secret, strlen(secret), &who) < 0 ||
        (read = sy_exp_def_read(s->def, def, &err)) < 0 ||
        sy_engine_experiment_create(eng, &who, def, xp, &err) < 0) {
        *bad = err;
        rc = err.code == -EINVAL || err.code == SY_EUNKNOWN || err.code == -EEXIST ? -EINVAL : -1;
        if (rc == -1)
            fprintf(stderr, "switchyard simulate: %s\n", err.msg);
        goto out;
    }
    if (sy_engine_experiment_transition(eng, &who, def->key, "running", xp, &err) < 0) {
        fprintf(stderr, "switchyard simulate: %s\n", err.msg);
        goto out;
    }
    const char *flag = xp->def.flag, *key = def->key;
    /* a fixed split: no auto-promotion check (nothing moves the traffic) */
    sy_engine_timers_t t = {.auto_promotion_ms =
                                s->mode == MODE_EQUAL ? 0 : (int64_t)(s->check_hours * 3600000),
                            .health_ms = (int64_t)(s->health_minutes * 60000)};
    sy_engine_set_timers(eng, &t);
    /* traffic arrives step by step; the clock moves in 1-minute ticks between them */
    double per_step = s->units_per_hour * s->step_minutes / 60, carry = 0;
    int64_t step_ms = (int64_t)(s->step_minutes * 60000), end_ms = (int64_t)(s->days * 86400000);
    size_t cap = (size_t)(per_step + 2) * 3;
    sy_event_t *ev = malloc(cap * sizeof(*ev));
    char(*units)[48] = malloc((size_t)(per_step + 2) * sizeof(*units));
    uint64_t rng = seed, ids = seed ^ 0x5eed1d5u;
    int64_t serial = 0;
    rc = ev && units ? 0 : -1;
    if (rc < 0)
        fprintf(stderr, "switchyard simulate: out of memory\n");
    o->min_weight = 100;
    o->days = (int)ceil(s->days);
    for (int64_t now = 0; rc == 0 && now < end_ms; now += step_ms) {
        double hours = (double)now / 3.6e6;
        double best = best_worth(s, hours, NULL);
        int day = (int)(hours / 24);
        sy_allocation_t split;
        if (sy_engine_allocation_get(eng, &who, key, &split, NULL) == 0)
            for (size_t i = 0; i < split.n; i++)
                if (split.weights[i].weight < o->min_weight)
                    o->min_weight = split.weights[i].weight;
        carry += per_step;
        size_t n_units = (size_t)carry, n = 0;
        carry -= (double)n_units;
        for (size_t u = 0; u < n_units; u++) {
            /* each run its own units, with random ids (as UUIDs are), drawn from its seed */
            snprintf(units[u], sizeof(units[u]), "u-%016llx-%llx",
                     (unsigned long long)sy_rng_next(&ids), (long long)serial++);
            int v = assign(eng, ws, flag, units[u], s);
            if (v < 0)
                continue;
            struct truth tr = truth_at(&s->v[v], hours);
            o->expected += worth(&tr);
            if (day < MAX_DAYS)
                o->regret[day] += best - worth(&tr);
            /* the covariate's normal score z, and the outcome's g correlated rho with it */
            double z = NAN, g = NAN;
            if (tr.has_cov) {
                z = sy_rng_gauss(&rng);
                g = tr.rho * z + sqrt(1 - tr.rho * tr.rho) * sy_rng_gauss(&rng);
            }
            sy_event_t base = {.experiment = key,
                               .experiment_len = strlen(key),
                               .unit = units[u],
                               .unit_len = strlen(units[u]),
                               .success = -1};
            if (!(sy_rng_uniform(&rng) < tr.exposure_loss)) { /* else its exposure is lost */
                o->control_units += (size_t)v == s->v[v].control_of;
                ev[n] = base;
                ev[n].kind = SY_EVENT_EXPOSURE;
                ev[n].variant = s->v[v].key;
                ev[n].variant_len = strlen(s->v[v].key);
                if (tr.has_cov) { /* on the control's scale: a pre-period knows no variant */
                    const struct truth *c = &s->v[s->v[v].control_of].t;
                    ev[n].has_covariate = true;
                    ev[n].covariate = c->dist == DIST_NORMAL ? c->value_mean + c->value_sd * z : z;
                }
                n++;
            }
            ev[n] = base;
            ev[n].kind = SY_EVENT_OUTCOME;
            ev[n].success = tr.has_cov ? sy_stats_norm_cdf(g) < tr.conversion
                                       : sy_rng_uniform(&rng) < tr.conversion;
            if (tr.dist != DIST_NONE) {
                ev[n].has_value = true;
                ev[n].value = draw_value(&tr, g, &rng);
            }
            ev[n].has_latency = true;
            ev[n++].latency_ms = draw_latency(&tr, &rng);
            if (sy_rng_uniform(&rng) < tr.error_rate) {
                ev[n] = base;
                ev[n++].kind = SY_EVENT_ERROR;
            }
        }
        if (n && ingest(eng, &who, ev, n) < 0) {
            rc = -1;
            break;
        }
        int64_t check_ms = t.auto_promotion_ms;
        for (int64_t m = 0; m < step_ms; m += 60000) { /* the timers, minute by minute */
            sy_engine_advance(eng, step_ms - m < 60000 ? step_ms - m : 60000);
            int64_t at = now + m + (step_ms - m < 60000 ? step_ms - m : 60000);
            if (check_ms > 0 && at % check_ms == 0) {
                o->checks++;
                read_check(eng, &who, key, s, o); /* what a person reads before the check */
                o->plan_frozen |= at >= PLAN_HOURS * 3600000LL;
                if (o->has_plan && !o->due_check && o->control_units >= o->planned_n)
                    o->due_check = o->checks;
            }
            sy_tick_report_t done;
            sy_engine_tick(eng, &done);
            record(o, &done, (double)(now + m + 60000) / 3.6e6, s);
            sy_tick_report_free(&done);
        }
    }
    free(ev);
    free(units);
    sy_exp_results_t *res = NULL;
    sy_allocation_t alloc;
    /* its p is the running minimum over every look: below 0.001 now if it ever was */
    if (rc == 0 && sy_engine_experiment_results(eng, &who, key, &res, &err) == 0) {
        o->srm_alarm = res->r.srm_alarm;
        o->bandit_updates = res->has_bandit ? res->bandit_updates : 0;
        for (size_t i = 0; res->r.cuped && !o->has_width && i < res->n_variants; i++) {
            const sy_arm_result_t *r = &res->r.arms[i];
            if (res->variants[i].control || !r->compared || !r->cuped.has)
                continue;
            o->has_width = true;
            o->width_raw = r->diff_ci_high - r->diff_ci_low;
            o->width_cuped = r->cuped.diff_ci_high - r->cuped.diff_ci_low;
        }
        if (!(o->units = json_object()))
            o->oom = true;
        for (size_t i = 0; o->units && i < res->n_variants; i++)
            if (json_object_set_new(o->units, res->variants[i].key,
                                    json_integer(res->variants[i].units)) < 0)
                o->oom = true;
    }
    free(res);
    if (rc == 0 && sy_engine_allocation_get(eng, &who, key, &alloc, &err) == 0) {
        o->weights = json_object();
        for (size_t i = 0; o->weights && i < alloc.n; i++)
            if (json_object_set_new(o->weights, alloc.weights[i].key,
                                    json_integer(alloc.weights[i].weight)) < 0)
                o->oom = true;
        if (!o->weights || !(o->state = strdup(alloc.state)))
            o->oom = true;
        size_t b = 0; /* the truly best at the end, alone with the most traffic? */
        (void)best_worth(s, s->days * 24, &b);
        o->best_most = b < alloc.n;
        for (size_t i = 0; o->best_most && i < alloc.n; i++)
            o->best_most = i == b || alloc.weights[i].weight < alloc.weights[b].weight;
    }
    if (rc == 0 && (o->oom || !o->timeline)) {
        fprintf(stderr, "switchyard simulate: out of memory\n");
        rc = -1;
    }
out:
    if (read == 0)
        sy_exp_def_clear(def);
    free(def);
    free(xp);
    sy_engine_close(eng);
    return rc;
}

static void outcome_free(struct outcome *o)
{
    json_decref(o->timeline);
    json_decref(o->weights);
    json_decref(o->units);
    free((char *)o->state);
}

/* ---- the command ---------------------------------------------------------------------------- */

/* A scenario (or --days, --runs) refused, by its field: on stderr, and with --json as the
 * error object on stdout; exit 2. */
static int bad_scenario(const char *prog, const sy_err_t *err, bool json)
{
    bool option = strcmp(err->field, "days") == 0 || strcmp(err->field, "runs") == 0;
    fprintf(stderr, "%s: %s%s%s%s\n", prog, option ? "" : "scenario: ", option ? "" : err->field,
            err->field[0] && !option ? ": " : "", err->msg);
    if (json)
        sy_cli_print_json(sy_stats_json_error(err));
    return SY_EXIT_USAGE;
}

static void print_timeline(const struct outcome *o)
{
    size_t i;
    json_t *e;
    const char *last = NULL;
    int repeats = 0;
    json_array_foreach(o->timeline, i, e)
    {
        const char *action = json_string_value(json_object_get(e, "action"));
        const char *by = json_string_value(json_object_get(e, "refused_by"));
        if (strcmp(action, "refused") == 0 && last && strcmp(last, by) == 0) {
            repeats++; /* hour after hour of the same refusal: counted, not listed */
            continue;
        }
        if (repeats)
            printf("               (and %d more like it)\n", repeats);
        repeats = 0;
        last = strcmp(action, "refused") == 0 ? by : NULL;
        double h = json_number_value(json_object_get(e, "hours"));
        printf("day %d %02d:%02d  %-18s", (int)(h / 24) + 1, (int)fmod(h, 24),
               (int)fmod(h * 60, 60), action);
        if (by)
            printf(" (%s)", by);
        const char *key;
        json_t *w;
        json_object_foreach(json_object_get(e, "weights"), key, w)
            printf(" %s=%lld", key, (long long)json_integer_value(w));
        const char *reason = json_string_value(json_object_get(e, "reason"));
        if (reason)
            printf(" %s", reason);
        printf("\n");
    }
    if (repeats)
        printf("               (and %d more like it)\n", repeats);
}

static const char *const mode_names[] = {"", "steps", "equal", "bandit"};

/* The name of the mode the scenario `s` runs in. */
static const char *mode_of(const struct scenario *s)
{
    if (s->mode != MODE_SCENARIO)
        return mode_names[s->mode];
    return json_object_get(s->def, "bandit") ? "bandit" : "steps";
}

/* The cumulative regret at the end of each day: [day 1, day 2, ...] of `regret` (by day,
 * `days` of them) divided by `runs`. */
static json_t *regret_curve(const double *regret, int days, double runs)
{
    json_t *a = json_array();
    double total = 0;
    for (int d = 0; a && d < days && d < MAX_DAYS; d++) {
        total += regret[d];
        if (json_array_append_new(a, json_real(total / runs)) < 0)
            a = (json_decref(a), NULL);
    }
    return a;
}

static double total_regret(const struct outcome *o)
{
    double t = 0;
    for (int d = 0; d < o->days && d < MAX_DAYS; d++)
        t += o->regret[d];
    return t;
}

/* What the allocation earned in run `o`, into `out` (beside its other fields). */
static json_t *earned_json(json_t *out, const struct outcome *o, const struct scenario *s)
{
    if (out && json_object_update_new(
                   out, json_pack("{sssfsosbsIsI}", "mode", mode_of(s), "expected_conversions",
                                  o->expected, "regret_by_day", regret_curve(o->regret, o->days, 1),
                                  "best_most_traffic", o->best_most, "min_weight",
                                  (json_int_t)o->min_weight, "bandit_updates",
                                  (json_int_t)o->bandit_updates)) < 0)
        out = (json_decref(out), NULL);
    return out;
}

static json_t *outcome_json(const struct outcome *o)
{
    return json_pack("{sisisisbsosbsO*sssbsO}", "steps", o->steps, "refusals", o->refusals,
                     "rollbacks", o->rollbacks, "reached_full", o->reached_full, "hours_to_full",
                     o->reached_full ? json_real(o->hours_to_full) : json_null(), "false_step",
                     o->false_step, "weights", o->weights, "state", o->state ? o->state : "?",
                     "srm_alarm", o->srm_alarm, "units", o->units ? o->units : json_null());
}

/* k of n as a rate with its exact (Clopper-Pearson) 95 % interval: {rate, ci: [lo, hi]}. */
static json_t *rate_json(int k, int64_t n)
{
    double lo = k == 0 ? 0 : gsl_cdf_beta_Pinv(0.025, k, (double)(n - k + 1));
    double hi = k == n ? 1 : gsl_cdf_beta_Pinv(0.975, k + 1, (double)(n - k));
    return json_pack("[ff]", lo, hi);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int sy_cli_simulate(int argc, char **argv)
{
    const char *prog = "switchyard simulate";
    struct sy_arg a[] = {
        {"scenario", "FILE", "the scenario (JSON; docs/cli.md); default: a +10 % winner", 0, NULL,
         NULL, 0},
        {"days", "N", "how long to simulate (overrides the scenario)", 0, NULL, NULL, 0},
        {"runs", "N", "repeat N times and print the rates (default 1: the timeline)", 0, NULL, NULL,
         0},
        {"seed", "S", "the first run's seed (default 1)", 0, NULL, NULL, 0},
        {"json", NULL, "print JSON", 0, NULL, NULL, 0},
        {"mode", "M",
         "steps (guarded steps), equal (a fixed split, no promotion) or bandit (Thompson "
         "sampling); default: the scenario's (a bandit when it has \"bandit\")",
         0, NULL, NULL, 0},
    };
    size_t n_args = sizeof(a) / sizeof(a[0]);
    bool help = false;
    if (sy_args_parse(argc, argv, a, n_args, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help) {
        printf("usage: %s [--scenario FILE] [--days N] [--runs N] [--seed S] [--mode M] "
               "[--json]\n\n"
               "Runs the real engine (an in-memory store, its own clock) over synthetic\n"
               "traffic and shows what it would have done: auto-promotion steps, refusals,\n"
               "rollbacks, a bandit's re-weightings. With --runs N, the rates over N runs:\n"
               "promotions, false promotions (traffic moved toward a variant that is not\n"
               "truly better), rollbacks, and the hours to 100 %%; and what the allocation\n"
               "earned: expected conversions, the regret by day, whether the best variant\n"
               "ended with the most traffic, the least weight any variant had. --mode runs\n"
               "the same scenario as guarded steps, a fixed split or a bandit. A scenario\n"
               "with a \"covariate\" and \"cuped\" on also shows the difference's interval,\n"
               "CUPED-adjusted and raw.\n\n",
               prog);
        sy_args_usage(a, n_args, stdout);
        return 0;
    }
    bool json = a[4].value != NULL;
    json_error_t je;
    sy_err_t err = {0};
    json_t *j =
        a[0].value ? json_load_file(a[0].value, 0, &je) : json_loads(default_scenario, 0, &je);
    if (!j) {
        sy_err_set(&err, -EINVAL, "", "%s: %s", a[0].value, je.text);
        if (je.line > 0) /* a file that does not open has no line */
            snprintf(err.msg + strlen(err.msg), sizeof(err.msg) - strlen(err.msg), " (line %d)",
                     je.line);
        return bad_scenario(prog, &err, json);
    }
    struct scenario s;
    int64_t runs = 1, seed = 1;
    double days = 0;
    int rc = scenario_of(j, &s, &err);
    json_decref(j);
    if (rc < 0) {
        json_decref(s.def);
        return bad_scenario(prog, &err, json);
    }
    if ((a[1].value && sy_args_double(prog, "days", a[1].value, &days) < 0) ||
        (a[2].value && sy_args_int64(prog, "runs", a[2].value, &runs) < 0) ||
        (a[3].value && sy_args_int64(prog, "seed", a[3].value, &seed) < 0)) {
        json_decref(s.def);
        return SY_EXIT_USAGE;
    }
    if (a[1].value && !(days >= 0.01 && days <= 366))
        sy_err_set(&err, -EINVAL, "days", "--days is 0.01 to 366");
    else if (runs < 1 || runs > 100000)
        sy_err_set(&err, -EINVAL, "runs", "--runs is 1 to 100000");
    if (err.code) {
        json_decref(s.def);
        return bad_scenario(prog, &err, json);
    }
    if (a[1].value)
        s.days = days;
    if (a[5].value) {
        for (int k = 1; k <= MODE_BANDIT; k++)
            if (strcmp(a[5].value, mode_names[k]) == 0)
                s.mode = (enum mode)k;
        if (s.mode == MODE_SCENARIO) {
            sy_err_set(&err, -EINVAL, "mode", "--mode is steps, equal or bandit");
            json_decref(s.def);
            return bad_scenario(prog, &err, json);
        }
        if (s.mode == MODE_BANDIT && !json_object_get(s.def, "bandit"))
            json_object_set_new(s.def, "bandit", json_object()); /* its defaults */
        else if (s.mode != MODE_BANDIT)
            json_object_del(s.def, "bandit");
    }
    int promoted = 0, falsely = 0, rolled = 0, full = 0, srm = 0, planned = 0, by_plan = 0;
    double printed = 0;           /* the sum of the powers the plans printed */
    int with_ci = 0, covered = 0; /* treatments' runs with lift intervals; those all of whose
                                     intervals held the truth */
    int truly = 0, widths = 0;    /* promoted toward a truly better variant; runs with CUPED's */
    double width_raw = 0, width_cuped = 0; /* the intervals' widths, summed over those runs */
    double *hours = calloc((size_t)runs, sizeof(*hours));
    double *needs = calloc((size_t)runs, sizeof(*needs));
    if (!hours || !needs) {
        fprintf(stderr, "%s: out of memory\n", prog);
        rc = -1;
    }
    /* the runs' plans recur (their inputs are on a grid): a curve computed once serves
     * every run that makes the same plan, with the same result (engine.h); without memory
     * for the table each run computes its own */
    sy_engine_curves_t *curves = NULL;
    if (sy_engine_curves_create(&curves, CURVES) < 0)
        curves = NULL;
    /* what the allocations earned, over the runs */
    double expected = 0, expected2 = 0, *regret = calloc(MAX_DAYS, sizeof(*regret));
    double final_w[MAX_ARMS] = {0}, updates = 0;
    int best_most = 0, curve_days = 0;
    int64_t min_weight = 100;
    if (!regret) {
        fprintf(stderr, "%s: out of memory\n", prog);
        rc = -1;
    }
    bool progress = runs > 1 && isatty(STDERR_FILENO); /* quiet when not a terminal */
    for (int64_t r = 0; r < runs && rc == 0; r++) {
        if (progress)
            fprintf(stderr, "\r%s: run %lld of %lld", prog, (long long)r + 1, (long long)runs);
        struct outcome o;
        rc = run(&s, (uint64_t)(seed + r), curves, &o, &err);
        if (rc == 0 && runs == 1) {
            if (json) {
                json_t *out = earned_json(outcome_json(&o), &o, &s);
                json_object_set(out, "timeline", o.timeline);
                if (o.has_width)
                    json_object_set_new(out, "interval_width",
                                        json_pack("{sfsfsf}", "raw", o.width_raw, "cuped",
                                                  o.width_cuped, "ratio",
                                                  o.width_cuped / o.width_raw));
                sy_cli_print_json(out);
            } else {
                print_timeline(&o);
                printf("summary: %d steps, %d refusals, %d rollbacks; %s", o.steps, o.refusals,
                       o.rollbacks, o.state ? o.state : "?");
                const char *k;
                json_t *w;
                json_object_foreach(o.weights, k, w)
                    printf(" %s=%lld", k, (long long)json_integer_value(w));
                if (o.reached_full)
                    printf("; 100 %% after %.1f h", o.hours_to_full);
                printf("%s\n", o.false_step ? "; moved traffic toward a variant that is not "
                                              "truly better"
                                            : "");
                printf("earned (%s): %.1f expected conversions, regret %.1f, least weight %lld "
                       "%%, the best variant %s the most traffic",
                       mode_of(&s), o.expected, total_regret(&o), (long long)o.min_weight,
                       o.best_most ? "ended with" : "did not end with");
                if (o.bandit_updates)
                    printf(", %lld bandit updates", (long long)o.bandit_updates);
                printf("\n");
                if (o.has_width)
                    printf("CUPED: the difference's interval %.4g wide, %.4g raw (%.3f of it)\n",
                           o.width_cuped, o.width_raw, o.width_cuped / o.width_raw);
            }
        }
        promoted += o.steps > 0;
        falsely += o.false_step;
        truly += o.steps > 0 && !o.false_step;
        if (o.has_width) {
            widths++;
            width_raw += o.width_raw;
            width_cuped += o.width_cuped;
        }
        srm += o.srm_alarm;
        rolled += o.rollbacks > 0;
        if (o.reached_full)
            hours[full++] = o.hours_to_full;
        if (o.has_plan) { /* promoted by the units the plan printed? */
            needs[planned++] = (double)o.planned_n;
            printed += o.planned_power;
            by_plan += o.step_check && (!o.due_check || o.step_check <= o.due_check);
        }
        if (rc == 0) {
            expected += o.expected;
            expected2 += o.expected * o.expected;
            for (int d = 0; d < o.days && d < MAX_DAYS; d++)
                regret[d] += o.regret[d];
            curve_days = o.days;
            best_most += o.best_most;
            min_weight = o.min_weight < min_weight ? o.min_weight : min_weight;
            updates += (double)o.bandit_updates;
            const char *k;
            json_t *w;
            size_t at = 0;
            json_object_foreach(o.weights, k, w) /* the variants' order */
                if (at < MAX_ARMS) final_w[at++] += (double)json_integer_value(w);
        }
        for (size_t k = 0; k < s.n; k++)
            if (o.intervals[k]) {
                with_ci++;
                covered += !o.missed[k];
            }
        outcome_free(&o);
    }
    if (progress)
        fprintf(stderr, "\r\033[K");
    if (rc == 0 && runs > 1) {
        qsort(hours, (size_t)full, sizeof(*hours), cmp_double);
        qsort(needs, (size_t)planned, sizeof(*needs), cmp_double);
        double median = full ? hours[full / 2] : NAN;
        double n = (double)runs;
        /* the rule's power, checked: the share of the runs with a printed plan promoted by
         * the control units it said, against the power it said them for */
        json_t *plan = planned
                           ? json_pack("{sisfsfsfso}", "runs", planned, "power", printed / planned,
                                       "median_sample_needed", needs[planned / 2],
                                       "promoted_by_sample_needed", by_plan / (double)planned,
                                       "promoted_by_sample_needed_ci", rate_json(by_plan, planned))
                           : json_null();
        /* the lift intervals: the share of a treatment's runs in which every one read at the
         * checks held the truth */
        json_t *coverage = with_ci ? json_pack("{sisfso}", "runs", with_ci, "at_every_check",
                                               covered / (double)with_ci, "at_every_check_ci",
                                               rate_json(covered, with_ci))
                                   : json_null();
        /* what the allocations earned: expected conversions (mean, sd), the mean regret
         * curve, the best variant alone with the most traffic at the end, the least weight
         * any variant had in any run, the mean final weights */
        double mean_x = expected / n,
               var_x = runs > 1 ? (expected2 - n * mean_x * mean_x) / (n - 1) : 0;
        json_t *fw = json_object();
        for (size_t k = 0; fw && k < s.n; k++)
            if (json_object_set_new(fw, s.v[k].key, json_real(final_w[k] / n)) < 0)
                fw = (json_decref(fw), NULL);
        json_t *earned =
            json_pack("{sss{sfsf}sosfsosIsosf}", "mode", mode_of(&s), "expected_conversions",
                      "mean", mean_x, "sd", sqrt(fmax(0, var_x)), "regret_by_day",
                      regret_curve(regret, curve_days, n), "best_most_traffic_rate", best_most / n,
                      "best_most_traffic_rate_ci", rate_json(best_most, runs), "min_weight",
                      (json_int_t)min_weight, "final_weights", fw, "bandit_updates", updates / n);
        /* CUPED: the difference's interval, adjusted and raw, on average at the runs' ends */
        json_t *width =
            widths ? json_pack("{sisfsfsf}", "runs", widths, "raw", width_raw / widths, "cuped",
                               width_cuped / widths, "ratio", width_cuped / width_raw)
                   : json_null();
        if (json) {
            json_t *out = json_pack(
                "{sIsfsosfsosfsosfsosfsosososo}", "runs", (json_int_t)runs, "promotion_rate",
                promoted / n, "promotion_rate_ci", rate_json(promoted, runs),
                "false_promotion_rate", falsely / n, "false_promotion_rate_ci",
                rate_json(falsely, runs), "rollback_rate", rolled / n, "rollback_rate_ci",
                rate_json(rolled, runs), "full_rate", full / n, "full_rate_ci",
                rate_json(full, runs), "srm_alarm_rate", srm / n, "srm_alarm_rate_ci",
                rate_json(srm, runs), "median_hours_to_full",
                full ? json_real(median) : json_null(), "plan", plan, "lift_interval", coverage);
            if (out) {
                json_object_set_new(out, "true_promotion_rate", json_real(truly / n));
                json_object_set_new(out, "true_promotion_rate_ci", rate_json(truly, runs));
                json_object_set_new(out, "interval_width", width);
                if (json_object_update_new(out, earned) < 0)
                    out = (json_decref(out), NULL);
            } else {
                json_decref(width);
                json_decref(earned);
            }
            sy_cli_print_json(out);
        } else {
            json_t *curve = json_object_get(earned, "regret_by_day");
            printf("earned (%s): %.1f expected conversions (sd %.1f), regret %.1f, the best "
                   "variant ended with the most traffic in %.1f %%, least weight %lld %%\n",
                   mode_of(&s), mean_x, sqrt(fmax(0, var_x)),
                   json_number_value(json_array_get(curve, json_array_size(curve) - 1)),
                   100 * best_most / n, (long long)min_weight);
            json_decref(earned);
            printf("%lld runs: promoted %.1f %%, falsely promoted %.1f %%, rolled back %.1f %%, "
                   "reached 100 %% %.1f %%, SRM alarm %.1f %%",
                   (long long)runs, 100 * promoted / n, 100 * falsely / n, 100 * rolled / n,
                   100 * full / n, 100 * srm / n);
            if (full)
                printf(" (median %.1f h)", median);
            printf("\n");
            if (planned)
                printf("plan: %d runs printed a sample (median %.0f control units) and a %.1f %% "
                       "chance of promotion by it (on average); promoted by it: %.1f %%\n",
                       planned, needs[planned / 2], 100 * printed / planned,
                       100.0 * by_plan / planned);
            if (with_ci)
                printf("lift intervals: every one a treatment showed at the checks held its "
                       "true lift in %.1f %% of %d (treatment, run)s\n",
                       100.0 * covered / with_ci, with_ci);
            if (widths)
                printf("CUPED: the difference's interval %.4g wide on average, %.4g raw (%.3f "
                       "of it), over %d runs; promoted toward a truly better variant %.1f %%\n",
                       width_cuped / widths, width_raw / widths, width_cuped / width_raw, widths,
                       100 * truly / n);
            json_decref(plan);
            json_decref(coverage);
            json_decref(width);
        }
    }
    sy_engine_curves_free(curves);
    free(regret);
    free(hours);
    free(needs);
    json_decref(s.def);
    if (rc == -EINVAL) /* the engine refused the scenario's experiment */
        return bad_scenario(prog, &err, json);
    return rc < 0 ? 1 : 0;
}
