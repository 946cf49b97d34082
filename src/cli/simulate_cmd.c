/* simulate_cmd.c - `switchyard simulate`: days of synthetic traffic through the real
 * engine, on its own clock, in minutes.
 *
 * Same code paths as a server: an engine on an in-memory SQLite store, an experiment made
 * from the scenario, units assigned by evaluating its flag from the engine's snapshot
 * (flagd's hashing, as OFREP serves it), their events ingested and group-committed, and
 * the engine's timers (auto-promotion, health monitor) run by sy_engine_tick as the fake
 * clock advances. Each unit converts, errs and takes a latency by the variant's true
 * rates of the moment (a scenario may change them over time: a winner that degrades on day
 * 3). Prints the timeline and a summary, or with --runs N the rates over N runs (seeds
 * S, S+1, ...). See docs/cli.md for the scenario's fields.
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
#include "core/experiment.h"
#include "core/rng.h"
#include "engine/engine.h"

#define START_MS   1700006400000 /* a midnight, UTC: days in the timeline are whole */
#define MAX_ARMS   16
#define MAX_CHANGE 8

/* ---- the scenario ----------------------------------------------------------------------- */

enum dist { DIST_NONE, DIST_NORMAL, DIST_LOGNORMAL, DIST_ZERO_INFLATED };

struct truth {
    double conversion, error_rate, latency_ms;
    double exposure_loss; /* share of units whose exposure event is lost */
    enum dist dist;       /* the outcome's value (the mean metric), DIST_NONE: none */
    double value_mean, value_sd, zero_share;
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

struct scenario {
    double days, units_per_hour, check_hours, health_minutes, step_minutes;
    size_t n;
    struct variant v[MAX_ARMS];
    json_t *def; /* the experiment's definition */
};

static int number(const char *prog, const json_t *o, const char *k, double lo, double hi,
                  double *out)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_number(v) || !(json_number_value(v) >= lo) || !(json_number_value(v) <= hi)) {
        fprintf(stderr, "%s: scenario: %s must be a number from %g to %g\n", prog, k, lo, hi);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* "value": {"distribution": "normal" | "lognormal" | "zero_inflated", "mean", "sd",
 * "zero_share"} (zero_inflated: 0 with that share, else lognormal). */
static int value_of(const char *prog, const json_t *o, struct truth *t)
{
    const json_t *v = json_object_get(o, "value");
    if (!v)
        return 0;
    static const char *const names[] = {"", "normal", "lognormal", "zero_inflated"};
    const char *d = json_string_value(json_object_get(v, "distribution"));
    t->dist = DIST_NONE;
    for (int k = 1; d && k < 4; k++)
        if (strcmp(d, names[k]) == 0)
            t->dist = (enum dist)k;
    if (!json_is_object(v) || t->dist == DIST_NONE) {
        fprintf(stderr,
                "%s: scenario: value is {\"distribution\": \"normal\", \"lognormal\" or "
                "\"zero_inflated\", \"mean\", \"sd\", \"zero_share\"}\n",
                prog);
        return -1;
    }
    if (number(prog, v, "mean", -1e12, 1e12, &t->value_mean) < 0 ||
        number(prog, v, "sd", 0, 1e12, &t->value_sd) < 0 ||
        number(prog, v, "zero_share", 0, 1, &t->zero_share) < 0)
        return -1;
    if (t->dist != DIST_NORMAL && !(t->value_mean > 0)) {
        fprintf(stderr, "%s: scenario: a lognormal value needs a mean > 0\n", prog);
        return -1;
    }
    return 0;
}

static int truth_of(const char *prog, const json_t *o, struct truth *t)
{
    return number(prog, o, "conversion", 0, 1, &t->conversion) < 0 ||
                   number(prog, o, "error_rate", 0, 1, &t->error_rate) < 0 ||
                   number(prog, o, "latency_ms", 0, 1e6, &t->latency_ms) < 0 ||
                   number(prog, o, "exposure_loss", 0, 0.99, &t->exposure_loss) < 0 ||
                   value_of(prog, o, t) < 0
               ? -1
               : 0;
}

/* What a unit's value is worth on average: what "truly better" compares for the mean
 * metric. */
static double expected_value(const struct truth *t)
{
    return t->dist == DIST_ZERO_INFLATED ? (1 - t->zero_share) * t->value_mean : t->value_mean;
}

/* Reads the scenario; the experiment definition is every field but the simulation's own
 * and the variants' true rates. */
static int scenario_of(const char *prog, const json_t *j, struct scenario *s)
{
    *s = (struct scenario){.days = 7,
                           .units_per_hour = 1000,
                           .check_hours = 1,
                           .health_minutes = 1,
                           .step_minutes = 10};
    if (!json_is_object(j)) {
        fprintf(stderr, "%s: a scenario is a JSON object\n", prog);
        return -1;
    }
    if (number(prog, j, "days", 0.01, 366, &s->days) < 0 ||
        number(prog, j, "units_per_hour", 1, 1e7, &s->units_per_hour) < 0 ||
        number(prog, j, "check_every_hours", 0.01, 720, &s->check_hours) < 0 ||
        number(prog, j, "health_every_minutes", 1.0 / 60, 1440, &s->health_minutes) < 0 ||
        number(prog, j, "step_minutes", 1.0 / 60, 1440, &s->step_minutes) < 0)
        return -1;
    const json_t *vs = json_object_get(j, "variants");
    if (!json_is_array(vs) || json_array_size(vs) < 2 || json_array_size(vs) > MAX_ARMS) {
        fprintf(stderr, "%s: scenario: variants is an array of 2 to %d variants\n", prog, MAX_ARMS);
        return -1;
    }
    s->def = json_deep_copy(j);
    static const char *const own[] = {"days", "units_per_hour", "check_every_hours",
                                      "health_every_minutes", "step_minutes"};
    for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++)
        json_object_del(s->def, own[k]);
    if (!json_object_get(s->def, "key"))
        json_object_set_new(s->def, "key", json_string("sim"));
    json_t *defvs = json_object_get(s->def, "variants");
    size_t control = 0;
    s->n = json_array_size(vs);
    for (size_t i = 0; i < s->n; i++) {
        const json_t *v = json_array_get(vs, i);
        struct variant *x = &s->v[i];
        /* the key lives in s->def, which the scenario keeps (the caller frees `j`) */
        x->key = json_string_value(json_object_get(json_array_get(defvs, i), "key"));
        x->t = (struct truth){.conversion = 0.1, .error_rate = 0, .latency_ms = 100};
        if (!x->key || truth_of(prog, v, &x->t) < 0) {
            if (!x->key)
                fprintf(stderr, "%s: scenario: variants[%zu] has no key\n", prog, i);
            return -1;
        }
        if (json_is_true(json_object_get(v, "control")))
            control = i;
        const json_t *ch = json_object_get(v, "changes");
        for (size_t k = 0; k < json_array_size(ch) && k < MAX_CHANGE; k++) {
            const json_t *c = json_array_get(ch, k);
            x->changes[k].t = x->t;
            if (number(prog, c, "at_hours", 0, 1e5, &x->changes[k].at_hours) < 0 ||
                truth_of(prog, c, &x->changes[k].t) < 0)
                return -1;
            x->n_changes++;
        }
        json_t *d = json_array_get(defvs, i);
        static const char *const truth_fields[] = {"conversion",    "error_rate", "latency_ms",
                                                   "exposure_loss", "value",      "changes"};
        for (size_t k = 0; k < sizeof(truth_fields) / sizeof(truth_fields[0]); k++)
            json_object_del(d, truth_fields[k]);
    }
    for (size_t i = 0; i < s->n; i++)
        s->v[i].control_of = control;
    return 0;
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

/* A unit's value by the variant's distribution. */
static double draw_value(const struct truth *t, uint64_t *s)
{
    if (t->dist == DIST_NORMAL)
        return t->value_mean + t->value_sd * sy_rng_gauss(s);
    if (t->dist == DIST_ZERO_INFLATED && sy_rng_uniform(s) < t->zero_share)
        return 0;
    /* lognormal with that mean and sd */
    double cv2 = t->value_sd * t->value_sd / (t->value_mean * t->value_mean);
    double sigma2 = log1p(cv2), mu = log(t->value_mean) - sigma2 / 2;
    return exp(mu + sqrt(sigma2) * sy_rng_gauss(s));
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
    double planned_power;    /* the printed power then (by the units then) */
    int64_t planned_n;       /* the printed sample_needed.control */
    int64_t control_units;   /* the control's units so far (exposures not lost) */
    int64_t control_at_step; /* ... when the first step came (-1: none) */
};

#define PLAN_HOURS 24 /* when a run's printed plan is taken (before its first step) */

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
static void record(struct outcome *o, json_t *done, double hours, const struct scenario *s)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(json_object_get(done, "health"), "experiments"), i, x)
    {
        o->rollbacks++;
        json_array_append_new(o->timeline,
                              json_pack("{sfssss?sO*}", "hours", hours, "action", "rolled_back",
                                        "reason", json_string_value(json_object_get(x, "reason")),
                                        "weights", json_object_get(x, "weights")));
    }
    json_array_foreach(json_object_get(json_object_get(done, "auto_promotion"), "experiments"), i,
                       x)
    {
        const char *action = json_string_value(json_object_get(x, "action"));
        if (!action || strcmp(action, "none") == 0)
            continue;
        const char *winner = json_string_value(json_object_get(x, "winner"));
        json_t *e = json_pack("{sfssss?}", "hours", hours, "action", action, "winner", winner);
        if (strcmp(action, "step") == 0) {
            if (!o->steps++) {
                o->control_at_step = o->control_units;
                o->plan_frozen = true;
            }
            json_object_set(e, "weights", json_object_get(x, "weights"));
            for (size_t k = 0; winner && k < s->n; k++) {
                struct truth w = truth_at(&s->v[k], hours),
                             c = truth_at(&s->v[s->v[k].control_of], hours);
                bool mean = w.dist != DIST_NONE;
                if (strcmp(s->v[k].key, winner) == 0 &&
                    (mean ? expected_value(&w) <= expected_value(&c)
                          : w.conversion <= c.conversion))
                    o->false_step = true;
            }
            json_t *w = json_object_get(x, "weights");
            const char *key;
            json_t *val;
            json_object_foreach(w, key, val)
            {
                if (json_integer_value(val) == 100 && !o->reached_full) {
                    o->reached_full = true;
                    o->hours_to_full = hours;
                }
            }
        } else if (strcmp(action, "refused") == 0) {
            o->refusals++;
            json_object_set(e, "refused_by", json_object_get(x, "refused_by"));
        }
        json_array_append_new(o->timeline, e);
    }
}

/* The power and sample_needed the results print now, into o. */
static void read_plan(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                      struct outcome *o)
{
    json_t *res = NULL, *v;
    size_t i;
    if (sy_engine_experiment_results(eng, who, key, &res, NULL) < 0)
        return;
    o->has_plan = false;
    json_array_foreach(json_object_get(res, "variants"), i, v)
    {
        json_t *vs = json_object_get(v, "vs_control");
        json_t *need = json_object_get(json_object_get(vs, "sample_needed"), "control");
        if (json_is_integer(need)) {
            o->has_plan = true;
            o->planned_n = json_integer_value(need);
            o->planned_power = json_number_value(json_object_get(vs, "power"));
            break;
        }
    }
    json_decref(res);
}

static int run(const struct scenario *s, uint64_t seed, struct outcome *o)
{
    *o = (struct outcome){.timeline = json_array(), .control_at_step = -1};
    sy_engine_t *eng;
    sy_err_t err = {0};
    sy_engine_opts_t opts = {.db = ":memory:", .fake_start_ms = START_MS};
    if (sy_engine_open(&eng, &opts, &err) < 0) {
        fprintf(stderr, "switchyard simulate: %s\n", err.msg);
        return -1;
    }
    int64_t ws, id;
    char secret[SY_TOKEN_MAX];
    sy_principal_t who;
    json_t *xp = NULL;
    const char *key = json_string_value(json_object_get(s->def, "key"));
    int rc = -1;
    if (sy_engine_workspace_create(eng, "sim", &ws, &err) < 0 ||
        sy_engine_token_create(eng, NULL, ws, "simulate", SY_ROLE_ADMIN, secret, sizeof(secret),
                               &id, &err) < 0 ||
        sy_engine_authenticate(eng, secret, strlen(secret), &who) < 0 ||
        sy_engine_experiment_create(eng, &who, s->def, &xp, &err) < 0) {
        fprintf(stderr, "switchyard simulate: the scenario's experiment: %s%s%s\n", err.msg,
                err.field[0] ? " at " : "", err.field);
        goto out;
    }
    json_decref(xp);
    xp = NULL;
    if (sy_engine_experiment_transition(eng, &who, key, "running", &xp, &err) < 0)
        goto out;
    const char *flag = json_string_value(json_object_get(xp, "flag"));
    sy_engine_timers_t t = {.auto_promotion_ms = (int64_t)(s->check_hours * 3600000),
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
    for (int64_t now = 0; rc == 0 && now < end_ms; now += step_ms) {
        double hours = (double)now / 3.6e6;
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
                ev[n++].variant_len = strlen(s->v[v].key);
            }
            ev[n] = base;
            ev[n].kind = SY_EVENT_OUTCOME;
            ev[n].success = sy_rng_uniform(&rng) < tr.conversion;
            if (tr.dist != DIST_NONE) {
                ev[n].has_value = true;
                ev[n].value = draw_value(&tr, &rng);
            }
            ev[n].has_latency = true;
            ev[n++].latency_ms = tr.latency_ms * exp(0.25 * (sy_rng_uniform(&rng) - 0.5));
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
            if (!o->plan_frozen && check_ms > 0 && at % check_ms == 0) {
                read_plan(eng, &who, key, o); /* what a person reads before the check */
                o->plan_frozen = at >= PLAN_HOURS * 3600000LL;
            }
            json_t *done = sy_engine_tick(eng);
            if (done)
                record(o, done, (double)(now + m + 60000) / 3.6e6, s);
            json_decref(done);
        }
    }
    free(ev);
    free(units);
    json_t *alloc = NULL, *res = NULL;
    /* its p is the running minimum over every look: below 0.001 now if it ever was */
    if (rc == 0 && sy_engine_experiment_results(eng, &who, key, &res, &err) == 0) {
        o->srm_alarm = json_is_true(json_object_get(json_object_get(res, "srm"), "mismatch"));
        o->units = json_object();
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(res, "variants"), i, v) json_object_set(
            o->units, json_string_value(json_object_get(v, "key")), json_object_get(v, "units"));
    }
    json_decref(res);
    if (rc == 0 && sy_engine_allocation_get(eng, &who, key, &alloc, &err) == 0) {
        o->weights = json_incref(json_object_get(alloc, "weights"));
        o->state = strdup(json_string_value(json_object_get(alloc, "state")));
    }
    json_decref(alloc);
out:
    json_decref(xp);
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
    };
    size_t n_args = sizeof(a) / sizeof(a[0]);
    bool help = false;
    if (sy_args_parse(argc, argv, a, n_args, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help) {
        printf("usage: %s [--scenario FILE] [--days N] [--runs N] [--seed S] [--json]\n\n"
               "Runs the real engine (an in-memory store, its own clock) over synthetic\n"
               "traffic and shows what it would have done: auto-promotion steps, refusals,\n"
               "rollbacks. With --runs N, the rates over N runs: promotions, false\n"
               "promotions (traffic moved toward a variant that is not truly better),\n"
               "rollbacks, and the hours to 100 %%.\n\n",
               prog);
        sy_args_usage(a, n_args, stdout);
        return 0;
    }
    json_error_t je;
    json_t *j = a[0].value ? json_load_file(a[0].value, 0, &je)
                           : json_loads("{\"days\":7,\"units_per_hour\":1000,"
                                        "\"safety\":{\"sequential\":true},"
                                        "\"variants\":[{\"key\":\"control\",\"control\":true,"
                                        "\"weight\":50,\"conversion\":0.10},"
                                        "{\"key\":\"treatment\",\"weight\":50,"
                                        "\"conversion\":0.11}]}",
                                        0, &je);
    if (!j) {
        fprintf(stderr, "%s: --scenario %s: %s (line %d)\n", prog, a[0].value, je.text, je.line);
        return 1;
    }
    struct scenario s;
    int64_t runs = 1, seed = 1;
    double days = 0;
    int rc = scenario_of(prog, j, &s);
    json_decref(j);
    if (rc < 0 || (a[1].value && sy_args_double(prog, "days", a[1].value, &days) < 0) ||
        (a[2].value && sy_args_int64(prog, "runs", a[2].value, &runs) < 0) ||
        (a[3].value && sy_args_int64(prog, "seed", a[3].value, &seed) < 0)) {
        json_decref(s.def);
        return rc < 0 ? 1 : SY_EXIT_USAGE;
    }
    if (days)
        s.days = days;
    if (runs < 1 || runs > 100000 || !(s.days > 0 && s.days <= 366)) {
        fprintf(stderr, "%s: --runs is 1 to 100000 and --days up to 366\n", prog);
        json_decref(s.def);
        return SY_EXIT_USAGE;
    }
    bool json = a[4].value != NULL;
    int promoted = 0, falsely = 0, rolled = 0, full = 0, srm = 0, planned = 0, by_plan = 0;
    double *hours = calloc((size_t)runs, sizeof(*hours));
    double *needs = calloc((size_t)runs, sizeof(*needs));
    if (!hours || !needs)
        rc = -1;
    bool progress = runs > 1 && isatty(STDERR_FILENO); /* quiet when not a terminal */
    for (int64_t r = 0; r < runs && rc == 0; r++) {
        if (progress)
            fprintf(stderr, "\r%s: run %lld of %lld", prog, (long long)r + 1, (long long)runs);
        struct outcome o;
        rc = run(&s, (uint64_t)(seed + r), &o);
        if (rc == 0 && runs == 1) {
            if (json) {
                json_t *out = outcome_json(&o);
                json_object_set(out, "timeline", o.timeline);
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
            }
        }
        promoted += o.steps > 0;
        falsely += o.false_step;
        srm += o.srm_alarm;
        rolled += o.rollbacks > 0;
        if (o.reached_full)
            hours[full++] = o.hours_to_full;
        if (o.has_plan) { /* promoted by the units the plan printed? */
            needs[planned++] = (double)o.planned_n;
            by_plan += o.control_at_step >= 0 && o.control_at_step <= o.planned_n;
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
        json_t *plan =
            planned ? json_pack("{sisfsfsfso}", "runs", planned, "power", SY_EXP_TARGET_POWER,
                                "median_sample_needed", needs[planned / 2],
                                "promoted_by_sample_needed", by_plan / (double)planned,
                                "promoted_by_sample_needed_ci", rate_json(by_plan, planned))
                    : json_null();
        if (json) {
            sy_cli_print_json(json_pack(
                "{sIsfsosfsosfsosfsosfsososo}", "runs", (json_int_t)runs, "promotion_rate",
                promoted / n, "promotion_rate_ci", rate_json(promoted, runs),
                "false_promotion_rate", falsely / n, "false_promotion_rate_ci",
                rate_json(falsely, runs), "rollback_rate", rolled / n, "rollback_rate_ci",
                rate_json(rolled, runs), "full_rate", full / n, "full_rate_ci",
                rate_json(full, runs), "srm_alarm_rate", srm / n, "srm_alarm_rate_ci",
                rate_json(srm, runs), "median_hours_to_full",
                full ? json_real(median) : json_null(), "plan", plan));
        } else {
            printf("%lld runs: promoted %.1f %%, falsely promoted %.1f %%, rolled back %.1f %%, "
                   "reached 100 %% %.1f %%, SRM alarm %.1f %%",
                   (long long)runs, 100 * promoted / n, 100 * falsely / n, 100 * rolled / n,
                   100 * full / n, 100 * srm / n);
            if (full)
                printf(" (median %.1f h)", median);
            printf("\n");
            if (planned)
                printf("plan: %d runs printed a sample (median %.0f control units) for %.0f %% "
                       "power; promoted by it: %.1f %%\n",
                       planned, needs[planned / 2], 100 * SY_EXP_TARGET_POWER,
                       100.0 * by_plan / planned);
            json_decref(plan);
        }
    }
    free(hours);
    free(needs);
    json_decref(s.def);
    return rc < 0 ? 1 : 0;
}
