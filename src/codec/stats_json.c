/* stats_json.c - JSON in, statistics, JSON out; see stats_json.h.
 *
 * Input members and their defaults (docs/stats.md has the same table for users):
 *
 *   test         all         optional explicit kind, else told by shape
 *   control      ztest/bayes {successes, trials}             required
 *                welch       {mean, sd, n} or {values: [number, ...]}  required
 *   alternative  ztest/welch "two-sided" | "larger" | "smaller"   default "two-sided"
 *   pooled       ztest       bool                            default true
 *   confidence   ztest/welch interval level in (0, 1)        default 0.95
 *   observed     srm         [int, ...]                      required
 *   weights      srm         [number, ...]                   default equal weights
 *   alpha        srm 0.001, power 0.05, sequential 0.05
 *   baseline, mde_relative   power                           required
 *   power 0.8, ratio 1       power; n_control optional (power fields only when given)
 *   prior        bayes       {alpha, beta}                   default {1, 1}
 *   metric       sequential  "proportion" | "mean"           default "proportion"
 *   tau_squared  sequential  required; theta0 0; gb_tuning_parameter 5000
 *   looks        sequential  [{control, treatment}, ...]     1..SEQ_MAX_LOOKS
 */
#include "codec/stats_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SEQ_MAX_LOOKS 100000

static const char *const kind_names[] = {
    [SY_STATS_UNKNOWN] = "unknown", [SY_STATS_ZTEST] = "ztest",
    [SY_STATS_WELCH] = "welch",     [SY_STATS_SRM] = "srm",
    [SY_STATS_POWER] = "power",     [SY_STATS_NORMAL] = "normal",
    [SY_STATS_BAYES] = "bayes",     [SY_STATS_SEQUENTIAL] = "sequential",
};

const char *sy_stats_kind_name(sy_stats_kind_t kind)
{
    if ((size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
        return "unknown";
    return kind_names[kind];
}

sy_stats_kind_t sy_stats_json_kind(const json_t *input)
{
    if (!json_is_object(input))
        return SY_STATS_UNKNOWN;
    const char *test = json_string_value(json_object_get(input, "test"));
    if (test) {
        for (size_t k = 1; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
            if (strcmp(test, kind_names[k]) == 0)
                return (sy_stats_kind_t)k;
        return SY_STATS_UNKNOWN;
    }
    if (json_object_get(input, "looks"))
        return SY_STATS_SEQUENTIAL;
    if (json_object_get(input, "observed"))
        return SY_STATS_SRM;
    if (json_object_get(input, "baseline"))
        return SY_STATS_POWER;
    if (json_object_get(input, "x") || json_object_get(input, "p"))
        return SY_STATS_NORMAL;
    const json_t *control = json_object_get(input, "control");
    if (!json_is_object(control))
        return SY_STATS_UNKNOWN;
    if (json_object_get(control, "mean") || json_object_get(control, "values"))
        return SY_STATS_WELCH;
    if (json_object_get(input, "prior"))
        return SY_STATS_BAYES;
    return SY_STATS_ZTEST;
}

/* ---- Reading members, with the JSON path of the member in every error ------------- */

/* Joins `base` and `key` into a path: "" + "alpha" -> "alpha", "looks[2]" + "control"
 * -> "looks[2].control". */
static void join(char *buf, size_t cap, const char *base, const char *key)
{
    /* Paths are short (the deepest is "looks[99999].control.successes"); one that would
     * not fit is cut, which only shortens an error message. */
    if (snprintf(buf, cap, "%s%s%s", base, *base ? "." : "", key) >= (int)cap)
        buf[cap - 1] = '\0';
}

/* Fetches member `key` of `obj`: 1 when present, 0 when absent and `optional`, or a
 * negative code. */
static int member(const json_t *obj, const char *base, const char *key, bool optional,
                  const json_t **out, sy_err_t *err)
{
    char path[64];
    *out = json_object_get(obj, key);
    if (*out && !json_is_null(*out))
        return 1;
    if (optional)
        return 0;
    join(path, sizeof(path), base, key);
    return sy_err_set(err, -EINVAL, path, "%s is required", path);
}

static int get_number(const json_t *obj, const char *base, const char *key, double dflt,
                      bool optional, double *out, sy_err_t *err)
{
    const json_t *v;
    int rc = member(obj, base, key, optional, &v, err);
    if (rc <= 0) {
        *out = dflt;
        return rc;
    }
    if (!json_is_number(v)) {
        char path[64];
        join(path, sizeof(path), base, key);
        return sy_err_set(err, -EINVAL, path, "%s must be a number", path);
    }
    *out = json_number_value(v);
    return 0;
}

/* An integer member; a real with an integral value (2.0) is accepted as that integer. */
static int as_int(const json_t *v, const char *path, int64_t *out, sy_err_t *err)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    double d = json_number_value(v);
    if (json_is_real(v) && d == floor(d) && fabs(d) <= 9007199254740992.0) {
        *out = (int64_t)d;
        return 0;
    }
    return sy_err_set(err, -EINVAL, path, "%s must be a whole number", path);
}

static int get_int(const json_t *obj, const char *base, const char *key, int64_t *out,
                   sy_err_t *err)
{
    const json_t *v;
    char path[64];
    int rc = member(obj, base, key, false, &v, err);
    if (rc < 0)
        return rc;
    join(path, sizeof(path), base, key);
    return as_int(v, path, out, err);
}

static int get_bool(const json_t *obj, const char *key, bool dflt, bool *out, sy_err_t *err)
{
    const json_t *v;
    int rc = member(obj, "", key, true, &v, err);
    if (rc == 0) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v))
        return sy_err_set(err, -EINVAL, key, "%s must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

static int get_alt(const json_t *obj, sy_alt_t *out, sy_err_t *err)
{
    const json_t *v;
    *out = SY_ALT_TWO_SIDED;
    if (member(obj, "", "alternative", true, &v, err) == 0)
        return 0;
    const char *s = json_string_value(v);
    if (!s || sy_stats_alt_parse(s, out) < 0)
        return sy_err_set(err, -EINVAL, "alternative",
                          "alternative must be \"two-sided\", \"larger\" or \"smaller\"");
    return 0;
}

/* Reads the object member `key` of `obj` (an arm); `path` receives its path. */
static int get_object(const json_t *obj, const char *base, const char *key, char *path, size_t cap,
                      const json_t **out, sy_err_t *err)
{
    int rc = member(obj, base, key, false, out, err);
    if (rc < 0)
        return rc;
    join(path, cap, base, key);
    if (!json_is_object(*out))
        return sy_err_set(err, -EINVAL, path, "%s must be an object", path);
    return 0;
}

static int get_binom(const json_t *obj, const char *base, const char *key, sy_binom_t *out,
                     sy_err_t *err)
{
    const json_t *arm;
    char path[64];
    int rc = get_object(obj, base, key, path, sizeof(path), &arm, err);
    if (rc == 0)
        rc = get_int(arm, path, "successes", &out->successes, err);
    if (rc == 0)
        rc = get_int(arm, path, "trials", &out->trials, err);
    return rc;
}

static int get_moments(const json_t *obj, const char *base, const char *key, sy_moments_t *out,
                       sy_err_t *err)
{
    const json_t *arm;
    char path[64];
    *out = (sy_moments_t){0};
    int rc = get_object(obj, base, key, path, sizeof(path), &arm, err);
    const json_t *values = rc == 0 ? json_object_get(arm, "values") : NULL;
    if (values) { /* the values themselves: their moments, kept as they come */
        char at[96];
        join(at, sizeof(at), path, "values");
        if (!json_is_array(values))
            return sy_err_set(err, -EINVAL, at, "must be an array of numbers");
        sy_welford_t w = {0};
        for (size_t i = 0; i < json_array_size(values); i++) {
            const json_t *v = json_array_get(values, i);
            if (!json_is_number(v) || !isfinite(json_number_value(v))) {
                char item[128];
                snprintf(item, sizeof(item), "%s[%zu]", at, i);
                return sy_err_set(err, -EINVAL, item, "must be a finite number");
            }
            sy_welford_add(&w, json_number_value(v));
        }
        *out = sy_welford_moments(&w);
        return 0;
    }
    if (rc == 0)
        rc = get_number(arm, path, "mean", 0, false, &out->mean, err);
    if (rc == 0)
        rc = get_number(arm, path, "sd", 0, false, &out->sd, err);
    if (rc == 0)
        rc = get_int(arm, path, "n", &out->n, err);
    return rc;
}

int sy_stats_json_within(int rc, const char *base, sy_err_t *err)
{
    if (rc < 0 && err && *base) {
        char path[sizeof(err->field)];
        join(path, sizeof(path), base, err->field);
        memcpy(err->field, path, sizeof(path));
    }
    return rc;
}

static int oom(json_t *v, json_t **out, sy_err_t *err)
{
    if (!v)
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    *out = v;
    return 0;
}

/* ---- One function per kind ------------------------------------------------------- */

static int eval_ztest(const json_t *in, json_t **out, sy_err_t *err)
{
    sy_binom_t c, t;
    sy_alt_t alt;
    bool pooled = true;
    double conf;
    sy_ztest_t r;
    int rc = get_binom(in, "", "control", &c, err);
    if (rc == 0)
        rc = get_binom(in, "", "treatment", &t, err);
    if (rc == 0)
        rc = get_alt(in, &alt, err);
    if (rc == 0)
        rc = get_bool(in, "pooled", true, &pooled, err);
    if (rc == 0)
        rc = get_number(in, "", "confidence", 0.95, true, &conf, err);
    if (rc == 0)
        rc = sy_stats_ztest(&c, &t, alt, pooled, conf, &r, err);
    return rc < 0 ? rc : oom(sy_stats_json_ztest(&r), out, err);
}

static int eval_welch(const json_t *in, json_t **out, sy_err_t *err)
{
    sy_moments_t c, t;
    sy_alt_t alt;
    double conf;
    sy_welch_t r;
    int rc = get_moments(in, "", "control", &c, err);
    if (rc == 0)
        rc = get_moments(in, "", "treatment", &t, err);
    if (rc == 0)
        rc = get_alt(in, &alt, err);
    if (rc == 0)
        rc = get_number(in, "", "confidence", 0.95, true, &conf, err);
    if (rc == 0)
        rc = sy_stats_welch(&c, &t, alt, conf, &r, err);
    return rc < 0 ? rc : oom(sy_stats_json_welch(&r), out, err);
}

static int eval_srm(const json_t *in, json_t **out, sy_err_t *err)
{
    int64_t observed[SY_STATS_MAX_ARMS];
    double weights[SY_STATS_MAX_ARMS];
    const json_t *obs = json_object_get(in, "observed"), *w = json_object_get(in, "weights");
    if (!json_is_array(obs))
        return sy_err_set(err, -EINVAL, "observed", "observed must be an array of counts");
    if (w && !json_is_null(w) && !json_is_array(w))
        return sy_err_set(err, -EINVAL, "weights", "weights must be an array of numbers");
    size_t n = json_array_size(obs);
    if (n < 2 || n > SY_STATS_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "observed", "observed must have 2..%d counts",
                          SY_STATS_MAX_ARMS);
    if (json_is_array(w) && json_array_size(w) != n)
        return sy_err_set(err, -EINVAL, "weights", "weights has %zu entries but observed has %zu",
                          json_array_size(w), n);
    for (size_t i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof(path), "observed[%zu]", i);
        const json_t *o = json_array_get(obs, i);
        int rc = json_is_number(o) ? as_int(o, path, &observed[i], err)
                                   : sy_err_set(err, -EINVAL, path, "%s must be a count", path);
        if (rc < 0)
            return rc;
        weights[i] = 1;
        if (json_is_array(w)) {
            const json_t *wi = json_array_get(w, i);
            if (!json_is_number(wi)) {
                snprintf(path, sizeof(path), "weights[%zu]", i);
                return sy_err_set(err, -EINVAL, path, "%s must be a number", path);
            }
            weights[i] = json_number_value(wi);
        }
    }
    double alpha;
    sy_srm_t r;
    int rc = get_number(in, "", "alpha", 0.001, true, &alpha, err);
    if (rc == 0)
        rc = sy_stats_srm(observed, weights, n, alpha, &r, err);
    return rc < 0 ? rc : oom(sy_stats_json_srm(&r), out, err);
}

static int eval_power(const json_t *in, json_t **out, sy_err_t *err)
{
    sy_power_plan_t plan;
    double n_control;
    int rc = get_number(in, "", "baseline", 0, false, &plan.baseline, err);
    if (rc == 0)
        rc = get_number(in, "", "mde_relative", 0, false, &plan.mde_relative, err);
    if (rc == 0)
        rc = get_number(in, "", "alpha", 0.05, true, &plan.alpha, err);
    if (rc == 0)
        rc = get_number(in, "", "power", 0.8, true, &plan.power, err);
    if (rc == 0)
        rc = get_number(in, "", "ratio", 1, true, &plan.ratio, err);
    if (rc == 0)
        rc = get_number(in, "", "n_control", NAN, true, &n_control, err);
    if (rc < 0)
        return rc;
    sy_sample_size_t size;
    sy_power_t power;
    bool with_power = !isnan(n_control);
    rc = sy_stats_sample_size(&plan, &size, err);
    if (rc == 0 && with_power)
        rc = sy_stats_power(&plan, n_control, &power, err);
    return rc < 0 ? rc : oom(sy_stats_json_power(&size, with_power ? &power : NULL), out, err);
}

static int eval_normal(const json_t *in, json_t **out, sy_err_t *err)
{
    double v;
    if (json_object_get(in, "x")) {
        int rc = get_number(in, "", "x", 0, false, &v, err);
        if (rc == 0 && !isfinite(v))
            rc = sy_err_set(err, -EINVAL, "x", "x must be a finite number");
        if (rc < 0)
            return rc;
        return oom(json_pack("{s:f, s:f}", "cdf", sy_stats_norm_cdf(v), "sf", sy_stats_norm_sf(v)),
                   out, err);
    }
    int rc = get_number(in, "", "p", 0, false, &v, err);
    if (rc == 0 && !(v > 0 && v < 1))
        rc = sy_err_set(err, -EINVAL, "p", "p must be in (0, 1)");
    if (rc < 0)
        return rc;
    return oom(json_pack("{s:f, s:f}", "ppf", sy_stats_norm_ppf(v), "isf", sy_stats_norm_isf(v)),
               out, err);
}

static int eval_bayes(const json_t *in, json_t **out, sy_err_t *err)
{
    sy_binom_t c, t;
    double pa = 1, pb = 1;
    sy_bayes_t r;
    const json_t *prior;
    int rc = get_binom(in, "", "control", &c, err);
    if (rc == 0)
        rc = get_binom(in, "", "treatment", &t, err);
    if (rc == 0 && member(in, "", "prior", true, &prior, err) == 1) {
        if (!json_is_object(prior))
            return sy_err_set(err, -EINVAL, "prior", "prior must be an object");
        rc = get_number(prior, "prior", "alpha", 1, true, &pa, err);
        if (rc == 0)
            rc = get_number(prior, "prior", "beta", 1, true, &pb, err);
    }
    if (rc == 0)
        rc = sy_stats_bayes(&c, &t, pa, pb, &r, err);
    return rc < 0 ? rc : oom(sy_stats_json_bayes(&r), out, err);
}

static int eval_sequential(const json_t *in, json_t **out, sy_err_t *err)
{
    sy_seq_cfg_t cfg;
    const json_t *metric_v = json_object_get(in, "metric");
    const char *metric = metric_v ? json_string_value(metric_v) : "proportion";
    bool means = metric && strcmp(metric, "mean") == 0;
    if (!metric || (!means && strcmp(metric, "proportion") != 0))
        return sy_err_set(err, -EINVAL, "metric", "metric must be \"proportion\" or \"mean\"");
    int rc = get_number(in, "", "tau_squared", 0, false, &cfg.tau_squared, err);
    if (rc == 0)
        rc = get_number(in, "", "theta0", 0, true, &cfg.theta0, err);
    if (rc == 0)
        rc = get_number(in, "", "alpha", 0.05, true, &cfg.alpha, err);
    if (rc == 0)
        rc = get_number(in, "", "gb_tuning_parameter", 5000, true, &cfg.gb_tuning, err);
    if (rc < 0)
        return rc;
    const json_t *looks = json_object_get(in, "looks");
    size_t n = json_array_size(looks);
    if (!json_is_array(looks) || n == 0 || n > SEQ_MAX_LOOKS)
        return sy_err_set(err, -EINVAL, "looks", "looks must be an array of 1..%d looks",
                          SEQ_MAX_LOOKS);

    json_t *arr = json_array();
    if (!arr)
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    double p = 1;
    for (size_t i = 0; i < n; i++) {
        char base[32];
        snprintf(base, sizeof(base), "looks[%zu]", i);
        const json_t *look = json_array_get(looks, i);
        sy_seq_look_t r;
        if (!json_is_object(look)) {
            rc = sy_err_set(err, -EINVAL, base, "%s must be an object", base);
        } else if (means) {
            sy_moments_t c, t;
            rc = get_moments(look, base, "control", &c, err);
            if (rc == 0)
                rc = get_moments(look, base, "treatment", &t, err);
            if (rc == 0)
                rc = sy_stats_json_within(sy_stats_seq_look_mean(&cfg, &c, &t, p, &r, err), base,
                                          err);
        } else {
            sy_binom_t c, t;
            rc = get_binom(look, base, "control", &c, err);
            if (rc == 0)
                rc = get_binom(look, base, "treatment", &t, err);
            if (rc == 0)
                rc = sy_stats_json_within(sy_stats_seq_look_prop(&cfg, &c, &t, p, &r, err), base,
                                          err);
        }
        if (rc == 0 && json_array_append_new(arr, sy_stats_json_seq_look(&r)) < 0)
            rc = sy_err_set(err, -ENOMEM, NULL, "out of memory");
        if (rc < 0)
            goto out_free;
        p = r.always_valid_p;
    }
    return oom(sy_stats_json_sequential(arr, p), out, err);
out_free:
    json_decref(arr);
    return rc;
}

int sy_stats_json_eval(const json_t *input, json_t **out, sy_err_t *err)
{
    switch (sy_stats_json_kind(input)) {
    case SY_STATS_ZTEST:
        return eval_ztest(input, out, err);
    case SY_STATS_WELCH:
        return eval_welch(input, out, err);
    case SY_STATS_SRM:
        return eval_srm(input, out, err);
    case SY_STATS_POWER:
        return eval_power(input, out, err);
    case SY_STATS_NORMAL:
        return eval_normal(input, out, err);
    case SY_STATS_BAYES:
        return eval_bayes(input, out, err);
    case SY_STATS_SEQUENTIAL:
        return eval_sequential(input, out, err);
    case SY_STATS_UNKNOWN:
        break;
    }
    return sy_err_set(err, -EINVAL, "test",
                      "cannot tell which test the input asks for: give \"test\" (ztest, "
                      "welch, srm, power, normal, bayes, sequential)");
}

/* ---- Results -------------------------------------------------------------------- */

/* A real, or null when the value is absent. */
static json_t *opt(bool has, double v)
{
    return has ? json_real(v) : json_null();
}

json_t *sy_stats_json_ztest(const sy_ztest_t *r)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:o, s:o, s:o}", "z", r->z, "p_value", r->p_value,
                     "diff", r->diff, "diff_ci_low", r->diff_ci_low, "diff_ci_high",
                     r->diff_ci_high, "relative_lift", opt(r->has_lift, r->lift), "lift_ci_low",
                     opt(r->has_lift, r->lift_ci_low), "lift_ci_high",
                     opt(r->has_lift, r->lift_ci_high));
}

json_t *sy_stats_json_welch(const sy_welch_t *r)
{
    return json_pack("{s:f, s:o, s:f, s:f, s:f, s:f}", "t", r->t, "df", opt(r->has_df, r->df),
                     "p_value", r->p_value, "diff", r->diff, "diff_ci_low", r->diff_ci_low,
                     "diff_ci_high", r->diff_ci_high);
}

json_t *sy_stats_json_srm(const sy_srm_t *r)
{
    return json_pack("{s:f, s:i, s:f, s:b}", "chi2", r->chi2, "df", r->df, "p_value", r->p_value,
                     "mismatch", r->mismatch);
}

json_t *sy_stats_json_bayes(const sy_bayes_t *r)
{
    return json_pack("{s:f, s:f, s:f}", "chance_to_beat_control", r->chance_to_beat_control,
                     "expected_loss_treatment", r->expected_loss_treatment, "expected_loss_control",
                     r->expected_loss_control);
}

json_t *sy_stats_json_seq_look(const sy_seq_look_t *r)
{
    return json_pack("{s:o, s:o, s:f, s:f, s:o, s:o, s:o}", "theta_hat",
                     opt(r->has_theta, r->theta_hat), "variance", opt(r->has_variance, r->variance),
                     "log_lambda", r->log_lambda, "always_valid_p", r->always_valid_p, "gb_ci_low",
                     opt(r->has_gb, r->gb_ci_low), "gb_ci_high", opt(r->has_gb, r->gb_ci_high),
                     "gb_p_value", opt(r->has_gb, r->gb_p_value));
}

json_t *sy_stats_json_sequential(json_t *looks, double final_p)
{
    return json_pack("{s:o, s:f}", "looks", looks, "always_valid_p", final_p);
}

json_t *sy_stats_json_power(const sy_sample_size_t *size, const sy_power_t *power)
{
    json_t *o = json_object();
    int bad = !o;
    if (!bad && size) {
        bad |= json_object_set_new(o, "effect_size_h", json_real(size->effect_size_h));
        bad |= json_object_set_new(o, "n_control_cohen_h", json_real(size->n_control_cohen_h));
        bad |= json_object_set_new(o, "n_control_pooled_normal",
                                   json_real(size->n_control_pooled_normal));
    }
    if (!bad && power) {
        bad |= json_object_set_new(o, "effect_size_h", json_real(power->effect_size_h));
        bad |= json_object_set_new(o, "power_cohen_h", json_real(power->power_cohen_h));
        bad |= json_object_set_new(o, "power_pooled_normal", json_real(power->power_pooled_normal));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *sy_stats_json_error(const sy_err_t *err)
{
    return json_pack("{s:{s:s, s:s, s:o}}", "error", "code", sy_err_name(err->code), "message",
                     err->msg, "field", err->field[0] ? json_string(err->field) : json_null());
}
