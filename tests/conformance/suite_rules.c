/* suite_rules.c - the "rules" suite of sy-conformance: the decision-rule vectors of
 * ../shared/conformance/rules/ (format and judging as for the stats vectors), each case
 * run through the pure rule of src/core its input `kind` names and reported under that
 * kind. A case of an unknown kind fails.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/allocation.h"
#include "core/experiment.h"
#include "core/tripwire.h"
#include "runner.h"

/* A kind's runner: fills *got from `input`, or returns a negative code with `err`. */
typedef int (*rule_fn)(const json_t *input, json_t **got, sy_err_t *err);

static bool get_int(const json_t *o, const char *k, int64_t *out)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        return false;
    *out = json_integer_value(v);
    return true;
}

static bool get_num(const json_t *o, const char *k, double *out)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

static bool get_binom(const json_t *o, const char *k, sy_binom_t *out)
{
    const json_t *b = json_object_get(o, k);
    return get_int(b, "trials", &out->trials) && get_int(b, "successes", &out->successes);
}

static int promotion(const json_t *in, json_t **got, sy_err_t *err)
{
    sy_promotion_in_t p;
    sy_safety_t s;
    const json_t *set = json_object_get(in, "settings");
    if (!get_binom(in, "control", &p.control) || !get_binom(in, "treatment", &p.treatment) ||
        !get_num(in, "runtime_hours", &p.runtime_hours) ||
        !get_num(in, "treatment_error_rate", &p.treatment_error_rate) ||
        !get_int(set, "min_sample_per_variant", &s.min_sample_per_variant) ||
        !get_num(set, "min_confidence", &s.min_confidence) ||
        !get_num(set, "min_improvement_pct", &s.min_improvement_pct) ||
        !get_num(set, "min_runtime_hours", &s.min_runtime_hours) ||
        !get_num(set, "max_error_rate", &s.max_error_rate))
        return sy_err_set(err, -EINVAL, NULL, "a field is missing or of the wrong type");
    sy_promotion_t r;
    int rc = sy_promotion_eligibility(&p, &s, &r, err);
    if (rc < 0)
        return rc;
    *got = json_pack("{sbs{sbsbsbsbsb}sfsfso}", "eligible", r.eligible, "checks", "min_sample",
                     r.min_sample, "min_confidence", r.min_confidence, "min_improvement",
                     r.min_improvement, "min_runtime", r.min_runtime, "max_error_rate",
                     r.max_error_rate, "z", r.z, "confidence", r.confidence, "improvement_pct",
                     r.has_improvement ? json_real(r.improvement_pct) : json_null());
    return *got ? 0 : -ENOMEM;
}

static int allocation(const json_t *in, json_t **got, sy_err_t *err)
{
    const json_t *w = json_object_get(in, "weights"), *g = json_object_get(in, "guardrails");
    const char *winner = json_string_value(json_object_get(in, "winner"));
    const json_t *last = json_object_get(in, "hours_since_last_change");
    int64_t weights[SY_EXP_MAX_ARMS];
    const char *names[SY_EXP_MAX_ARMS];
    sy_step_in_t s = {.weights = weights, .n = json_object_size(w), .winner = SY_EXP_MAX_ARMS};
    sy_guardrails_t gr;
    if (!json_is_object(w) || s.n < 2 || s.n > SY_EXP_MAX_ARMS || !winner ||
        !get_num(in, "confidence", &s.confidence) || !get_num(in, "delta", &s.delta) ||
        !get_int(in, "changes_today", &s.changes_today) ||
        !(json_is_null(last) ||
          get_num(in, "hours_since_last_change", &s.hours_since_last_change)) ||
        !get_num(g, "min_confidence", &gr.min_confidence) ||
        !get_int(g, "max_step_pct", &gr.max_step_pct) ||
        !get_num(g, "cooldown_hours", &gr.cooldown_hours) ||
        !get_int(g, "max_changes_per_day", &gr.max_changes_per_day))
        return sy_err_set(err, -EINVAL, NULL, "a field is missing or of the wrong type");
    s.has_last_change = !json_is_null(last);
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)w, k, v)
    {
        if (!json_is_integer(v))
            return sy_err_set(err, -EINVAL, "weights", "weights are integers");
        names[i] = k;
        weights[i] = json_integer_value(v);
        if (strcmp(k, winner) == 0)
            s.winner = i;
        i++;
    }
    sy_step_t r;
    int rc = sy_allocation_step(&s, &gr, &r, err);
    if (rc < 0)
        return rc;
    json_t *after = json_object();
    for (i = 0; after && i < s.n; i++)
        json_object_set_new(after, names[i], json_integer(r.weights[i]));
    const char *by = sy_refusal_name(r.refused_by);
    *got =
        json_pack("{sbsosIso}", "applied", r.applied, "refused_by",
                  by ? json_string(by) : json_null(), "step", (json_int_t)r.step, "weights", after);
    return *got ? 0 : -ENOMEM;
}

static bool get_health(const json_t *o, sy_health_t *h)
{
    *h = (sy_health_t){0};
    /* retry_rate is optional (the traffic-allocation specification's example carries it) */
    h->has_retry_rate = json_object_get(o, "retry_rate") != NULL;
    return get_num(o, "success_rate", &h->success_rate) &&
           get_num(o, "error_rate", &h->error_rate) &&
           (!h->has_retry_rate || get_num(o, "retry_rate", &h->retry_rate));
}

static int health(const json_t *in, json_t **got, sy_err_t *err)
{
    sy_health_t base, cur;
    sy_health_thresholds_t t = {0};
    const json_t *th = json_object_get(in, "thresholds");
    if (!get_health(json_object_get(in, "baseline"), &base) ||
        !get_health(json_object_get(in, "current"), &cur) ||
        !get_num(th, "success_rate_drop", &t.success_rate_drop) ||
        !get_num(th, "error_rate_increase", &t.error_rate_increase))
        return sy_err_set(err, -EINVAL, NULL, "a field is missing or of the wrong type");
    t.retry_rate_increase = SY_HEALTH_THRESHOLDS_DEFAULTS.retry_rate_increase;
    if (json_object_get(th, "retry_rate_increase") &&
        !get_num(th, "retry_rate_increase", &t.retry_rate_increase))
        return sy_err_set(err, -EINVAL, NULL, "retry_rate_increase is not a number");
    sy_rollback_t r;
    int rc = sy_health_rollback(&base, &cur, &t, &r, err);
    if (rc < 0)
        return rc;
    json_t *reasons = json_array();
    for (unsigned bit = 1; reasons && bit <= SY_ROLLBACK_RETRY_RATE; bit <<= 1)
        if (r.reasons & bit)
            json_array_append_new(reasons, json_string(sy_rollback_reason_name(bit)));
    *got = json_pack("{sbsosfsf}", "rollback", r.rollback, "reasons", reasons, "success_rate_drop",
                     r.success_rate_drop, "error_rate_increase", r.error_rate_increase);
    if (*got && base.has_retry_rate && cur.has_retry_rate)
        json_object_set_new(*got, "retry_rate_increase", json_real(r.retry_rate_increase));
    return *got ? 0 : -ENOMEM;
}

/* A window is {events, successes} (a rate) or {events, mean} (a mean). */
static bool get_kpi(const json_t *o, sy_trip_measure_t m, sy_kpi_window_t *w)
{
    *w = (sy_kpi_window_t){0};
    return get_int(o, "events", &w->events) &&
           (m == SY_TRIP_RATE ? get_int(o, "successes", &w->successes)
                              : get_num(o, "mean", &w->mean));
}

static int tripwire(const json_t *in, json_t **got, sy_err_t *err)
{
    const json_t *b = json_object_get(in, "baseline"), *w = json_object_get(in, "window");
    const json_t *pol = json_object_get(in, "policy");
    sy_trip_policy_t p = SY_TRIP_POLICY_DEFAULTS;
    p.measure = json_object_get(b, "mean") ? SY_TRIP_MEAN : SY_TRIP_RATE;
    p.action = sy_trip_action_parse(json_string_value(json_object_get(pol, "action")));
    sy_kpi_window_t base, win;
    if (!get_kpi(b, p.measure, &base) || !get_kpi(w, p.measure, &win) ||
        !get_num(pol, "max_drop_fraction", &p.max_drop_fraction) ||
        !get_int(pol, "min_events_to_enforce", &p.min_events_to_enforce))
        return sy_err_set(err, -EINVAL, NULL, "a field is missing or of the wrong type");
    sy_trip_t r;
    int rc = sy_tripwire_eval(&base, &win, &p, &r, err);
    if (rc < 0)
        return rc;
    const char *action = sy_trip_action_name(r.action);
    *got = json_pack("{sbsbso}", "enforced", r.enforced, "triggered", r.triggered, "action",
                     action ? json_string(action) : json_null());
    if (*got && r.has_values) {
        json_object_set_new(*got, "baseline", json_real(r.baseline));
        json_object_set_new(*got, "current", json_real(r.current));
        json_object_set_new(*got, "drop_fraction", json_real(r.drop_fraction));
    }
    return *got ? 0 : -ENOMEM;
}

static const struct {
    const char *kind;
    rule_fn run;
} kinds[] = {
    {"promotion_eligibility", promotion},
    {"allocation_step", allocation},
    {"health_rollback", health},
    {"tripwire", tripwire},
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static bool run_case(const char *file, size_t idx, const json_t *c, const json_t *tolerance,
                     rule_fn run, const char *kind)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const json_t *expected = json_object_get(c, "expected");
    char why[600] = "";
    json_t *got = NULL;
    sy_err_t err = {0};
    int rc = run(json_object_get(c, "input"), &got, &err);
    const char *want_err = json_string_value(json_object_get(expected, "error"));
    bool ok;
    if (want_err) {
        ok = rc < 0 && strcmp(want_err, sy_err_name(rc)) == 0;
        snprintf(why, sizeof(why), "expected error %s, got %s", want_err,
                 rc < 0 ? sy_err_name(rc) : "a result");
    } else if (rc < 0) {
        ok = false;
        snprintf(why, sizeof(why), "expected a result, got error %s: %s", sy_err_name(rc), err.msg);
    } else {
        ok = sy_conf_same(expected, got, "", "", tolerance, why, sizeof(why));
    }
    if (!ok)
        printf("FAIL %s: %s #%zu [%s]: %s\n", file, name ? name : "(unnamed)", idx, kind, why);
    json_decref(got);
    return ok;
}

void sy_conf_rules_cases(const char *path, const json_t *doc, const json_t *cases,
                         struct sy_conf_tally *t)
{
    const json_t *tolerance = json_object_get(doc, "tolerance");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        const char *kind = json_string_value(json_object_get(json_object_get(c, "input"), "kind"));
        size_t k = 0;
        while (k < N_KINDS && (!kind || strcmp(kind, kinds[k].kind) != 0))
            k++;
        if (k == N_KINDS) {
            printf("FAIL %s: case #%zu: unknown kind \"%s\"\n", path, i, kind ? kind : "(none)");
            t->failed++;
        } else if (run_case(path, i, c, tolerance, kinds[k].run, kind)) {
            t->passed++;
        } else {
            t->failed++;
        }
    }
}
