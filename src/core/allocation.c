/* allocation.c - guardrails, the progressive step and the health rule; see allocation.h. */
#include "core/allocation.h"

#include <math.h>
#include <stdlib.h>

#include "core/stats.h"

int sy_guardrails_check(const sy_guardrails_t *g, sy_err_t *err)
{
    if (!(g->min_confidence > 0 && g->min_confidence < 1))
        return sy_err_set(err, -EINVAL, "min_confidence", "must be between 0 and 1 (exclusive)");
    if (g->max_step_pct < 1 || g->max_step_pct > 100)
        return sy_err_set(err, -EINVAL, "max_step_pct", "must be 1 to 100 points");
    if (!(g->cooldown_hours >= 0 && g->cooldown_hours <= 24.0 * 366))
        return sy_err_set(err, -EINVAL, "cooldown_hours", "must be 0 to 8784 hours");
    if (g->max_changes_per_day < 1 || g->max_changes_per_day > 1000)
        return sy_err_set(err, -EINVAL, "max_changes_per_day", "must be 1 to 1000");
    return 0;
}

const char *sy_refusal_name(sy_refusal_t r)
{
    switch (r) {
    case SY_REFUSED_MIN_CONFIDENCE:
        return "min_confidence";
    case SY_REFUSED_DELTA:
        return "delta";
    case SY_REFUSED_COOLDOWN:
        return "cooldown";
    case SY_REFUSED_MAX_CHANGES:
        return "max_changes_per_day";
    case SY_REFUSED_COMPLETE:
        return "complete";
    default:
        return NULL;
    }
}

static int check_step_in(const sy_step_in_t *in, sy_err_t *err)
{
    if (in->n < 2 || in->n > SY_EXP_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "weights", "a step needs 2 to %d variants",
                          SY_EXP_MAX_ARMS);
    if (in->winner >= in->n)
        return sy_err_set(err, -EINVAL, "winner", "the winner is not one of the variants");
    int64_t sum = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (in->weights[i] < 0 || in->weights[i] > 100)
            return sy_err_set(err, -EINVAL, "weights", "a weight is 0 to 100 points");
        sum += in->weights[i];
    }
    if (sum != 100)
        return sy_err_set(err, -EINVAL, "weights", "the weights sum to %lld, not 100",
                          (long long)sum);
    if (!(in->confidence >= 0 && in->confidence <= 1) || !isfinite(in->delta) ||
        (in->has_last_change && !(in->hours_since_last_change >= 0)) || in->changes_today < 0)
        return sy_err_set(err, -EINVAL,
                          !(in->confidence >= 0 && in->confidence <= 1) ? "confidence"
                          : !isfinite(in->delta)                        ? "delta"
                          : in->changes_today < 0                       ? "changes_today"
                                                                        : "hours_since_last_change",
                          "out of range");
    return 0;
}

static sy_refusal_t guardrail(const sy_step_in_t *in, const sy_guardrails_t *g)
{
    if (!sy_rule_ge(in->confidence, g->min_confidence))
        return SY_REFUSED_MIN_CONFIDENCE;
    if (!(in->delta > SY_RULE_EPSILON)) /* "x > t" is x - t > 1e-9 */
        return SY_REFUSED_DELTA;
    if (in->has_last_change && !sy_rule_ge(in->hours_since_last_change, g->cooldown_hours))
        return SY_REFUSED_COOLDOWN;
    if (in->changes_today >= g->max_changes_per_day)
        return SY_REFUSED_MAX_CHANGES;
    if (in->weights[in->winner] == 100)
        return SY_REFUSED_COMPLETE;
    return SY_REFUSED_NONE;
}

int sy_allocation_step(const sy_step_in_t *in, const sy_guardrails_t *g, sy_step_t *out,
                       sy_err_t *err)
{
    int rc = sy_guardrails_check(g, err);
    if (rc < 0 || (rc = check_step_in(in, err)) < 0)
        return rc;
    sy_step_t r = {0};
    for (size_t i = 0; i < in->n; i++)
        r.weights[i] = in->weights[i];
    r.refused_by = guardrail(in, g);
    if (r.refused_by != SY_REFUSED_NONE) {
        *out = r;
        return 0;
    }
    int64_t others = 100 - in->weights[in->winner]; /* the room left, > 0 here */
    int64_t step = g->max_step_pct < others ? g->max_step_pct : others;
    /* Each other variant gives up step * w_i / others: the whole parts first, then the odd
     * points to the largest remainders (earlier variants first on a tie). */
    int64_t taken = 0, rem[SY_EXP_MAX_ARMS];
    for (size_t i = 0; i < in->n; i++) {
        if (i == in->winner)
            continue;
        int64_t share = step * in->weights[i] / others;
        rem[i] = step * in->weights[i] % others;
        r.weights[i] -= share;
        taken += share;
    }
    while (taken < step) {
        size_t best = in->n;
        for (size_t i = 0; i < in->n; i++)
            if (i != in->winner && rem[i] > 0 && (best == in->n || rem[i] > rem[best]))
                best = i;
        r.weights[best]--; /* a remainder > 0 means the whole share left it a point */
        rem[best] = 0;
        taken++;
    }
    r.weights[in->winner] += step;
    r.applied = true;
    r.step = step;
    *out = r;
    return 0;
}

/* ---- the daily change limit --------------------------------------------------------------- */

static int by_time(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int sy_daily_changes(int64_t *at_ms, size_t n, int64_t now_ms, sy_daily_changes_t *out,
                     sy_err_t *err)
{
    if (n > 0 && !at_ms)
        return sy_err_set(err, -EINVAL, "at_ms", "no times for %zu steps", n);
    *out = (sy_daily_changes_t){0};
    if (n == 0)
        return 0;
    qsort(at_ms, n, sizeof(*at_ms), by_time);
    int64_t count = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t t = at_ms[i] < now_ms ? at_ms[i] : now_ms;
        if (i > 0 && t - out->last_ms >= SY_DAY_MS) /* 24 h after the last: a new count */
            count = 0;
        count++;
        out->last_ms = t;
    }
    if (now_ms - out->last_ms >= SY_DAY_MS) {
        *out = (sy_daily_changes_t){0};
        return 0;
    }
    out->count = count;
    out->resets_at_ms = out->last_ms + SY_DAY_MS;
    return 0;
}

/* ---- health rollback ------------------------------------------------------------------- */

static bool is_rate(double x)
{
    return x >= 0 && x <= 1;
}

/* The standard error of the difference of rates p_b of n_b and p_c of n_c samples; -1 when
 * a count is not known (0). */
static double rate_diff_se(double p_b, int64_t n_b, double p_c, int64_t n_c)
{
    if (n_b <= 0 || n_c <= 0)
        return -1;
    return hypot(sqrt(p_b * (1 - p_b) / (double)n_b), sqrt(p_c * (1 - p_c) / (double)n_c));
}

double sy_health_life_z(double confidence, int64_t look)
{
    double k = (double)look;
    return sy_stats_norm_isf((1 - confidence) / (k * (k + 1)));
}

/* Whether a worsening `by` (current worse than baseline by that much: a drop, or a rise)
 * past `threshold` is evident: beyond it with one-sided `confidence` and, at a look > 0,
 * worse at all past the life-long z of that look. With a count unknown, no confidence
 * asked, or a standard error of 0, the point estimate decides. */
static bool evident(double by, double threshold, double se, const sy_health_thresholds_t *t,
                    int64_t look)
{
    if (t->confidence <= 0 || se <= 0)
        return true;
    if (!((by - threshold) / se > sy_stats_norm_isf(1 - t->confidence)))
        return false;
    return look <= 0 || by / se > sy_health_life_z(t->confidence, look);
}

static int check_health(const sy_health_t *baseline, const sy_health_t *current,
                        const sy_health_thresholds_t *t, sy_err_t *err)
{
    if (!is_rate(baseline->success_rate) || !is_rate(baseline->error_rate) ||
        (baseline->has_retry_rate && !is_rate(baseline->retry_rate)))
        return sy_err_set(err, -EINVAL, "baseline", "rates are 0 to 1");
    if (!is_rate(current->success_rate) || !is_rate(current->error_rate) ||
        (current->has_retry_rate && !is_rate(current->retry_rate)))
        return sy_err_set(err, -EINVAL, "current", "rates are 0 to 1");
    if (!is_rate(t->success_rate_drop) || !is_rate(t->error_rate_increase) ||
        !is_rate(t->retry_rate_increase) || (t->has_max_p95 && !(t->max_p95_ms > 0)) ||
        !(t->confidence >= 0 && t->confidence < 1))
        return sy_err_set(err, -EINVAL, "thresholds",
                          "thresholds are 0 to 1 (rates), a p95 limit above 0 ms and a "
                          "confidence from 0 to under 1");
    return 0;
}

int sy_health_rollback_at(const sy_health_t *baseline, const sy_health_t *current,
                          const sy_health_thresholds_t *t, int64_t look, sy_rollback_t *out,
                          sy_err_t *err)
{
    int rc = check_health(baseline, current, t, err);
    if (rc < 0)
        return rc;
    sy_rollback_t r = {.success_rate_drop = baseline->success_rate - current->success_rate,
                       .error_rate_increase = current->error_rate - baseline->error_rate};
    double se_s = rate_diff_se(baseline->success_rate, baseline->outcomes, current->success_rate,
                               current->outcomes);
    double se_e = rate_diff_se(baseline->error_rate, baseline->requests, current->error_rate,
                               current->requests);
    /* "exceeds": x - t > 1e-9, so that 0.05 - 0.02 = 0.030000000000000002 is on 0.03 */
    if (r.success_rate_drop - t->success_rate_drop > SY_RULE_EPSILON &&
        evident(r.success_rate_drop, t->success_rate_drop, se_s, t, look))
        r.reasons |= SY_ROLLBACK_SUCCESS_RATE;
    if (r.error_rate_increase - t->error_rate_increase > SY_RULE_EPSILON &&
        evident(r.error_rate_increase, t->error_rate_increase, se_e, t, look))
        r.reasons |= SY_ROLLBACK_ERROR_RATE;
    if (t->has_max_p95 && current->has_p95 && current->p95_ms - t->max_p95_ms > SY_RULE_EPSILON)
        r.reasons |= SY_ROLLBACK_P95;
    /* Retries are judged as errors are: per request, with the same evidence and guard. */
    if (baseline->has_retry_rate && current->has_retry_rate) {
        r.retry_rate_increase = current->retry_rate - baseline->retry_rate;
        double se_r = rate_diff_se(baseline->retry_rate, baseline->requests, current->retry_rate,
                                   current->requests);
        if (r.retry_rate_increase - t->retry_rate_increase > SY_RULE_EPSILON &&
            evident(r.retry_rate_increase, t->retry_rate_increase, se_r, t, look))
            r.reasons |= SY_ROLLBACK_RETRY_RATE;
    }
    r.rollback = r.reasons != 0;
    *out = r;
    return 0;
}

int sy_health_rollback(const sy_health_t *baseline, const sy_health_t *current,
                       const sy_health_thresholds_t *t, sy_rollback_t *out, sy_err_t *err)
{
    return sy_health_rollback_at(baseline, current, t, 0, out, err);
}

/* One rate's window: big enough when its difference's standard error is at most
 * threshold / (z_life - z_confidence); or when growing it cannot get there (its own
 * variance already at or under the baseline's, which bounds the SE from below); or when
 * nothing bounds it (a count unknown, a threshold of 0). In the last two the life-long z
 * is part of the test itself (sy_health_rollback_at). */
static bool rate_ready(double p_b, int64_t n_b, double p_w, int64_t n_w, double threshold,
                       double z_life, double z_conf)
{
    double se = rate_diff_se(p_b, n_b, p_w, n_w);
    if (se < 0 || threshold <= 0 || z_life <= z_conf || se * (z_life - z_conf) <= threshold)
        return true;
    return p_w * (1 - p_w) / (double)n_w <= p_b * (1 - p_b) / (double)n_b;
}

bool sy_health_window_ready(const sy_health_t *baseline, const sy_health_t *window,
                            const sy_health_thresholds_t *t, int64_t look)
{
    if (look <= 0 || t->confidence <= 0 || !(t->confidence < 1))
        return true;
    double z_life = sy_health_life_z(t->confidence, look);
    double z_conf = sy_stats_norm_isf(1 - t->confidence);
    return rate_ready(baseline->success_rate, baseline->outcomes, window->success_rate,
                      window->outcomes, t->success_rate_drop, z_life, z_conf) &&
           rate_ready(baseline->error_rate, baseline->requests, window->error_rate,
                      window->requests, t->error_rate_increase, z_life, z_conf) &&
           (!baseline->has_retry_rate || !window->has_retry_rate ||
            rate_ready(baseline->retry_rate, baseline->requests, window->retry_rate,
                       window->requests, t->retry_rate_increase, z_life, z_conf));
}

const char *sy_rollback_reason_name(unsigned bit)
{
    return bit == SY_ROLLBACK_SUCCESS_RATE ? "success_rate_drop"
           : bit == SY_ROLLBACK_ERROR_RATE ? "error_rate_increase"
           : bit == SY_ROLLBACK_P95        ? "p95_latency"
           : bit == SY_ROLLBACK_RETRY_RATE ? "retry_rate_increase"
                                           : "?";
}
