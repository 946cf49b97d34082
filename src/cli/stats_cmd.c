/* stats_cmd.c - `switchyard stats VERB`: the statistics of src/core/stats from a shell.
 *
 * Each verb parses its options into core inputs, calls core, and prints a short human
 * summary, or with --json the same object the API and the conformance runner use
 * (codec/stats_json.h). A bad option or an input core refuses prints one line naming the
 * option to stderr ({"error":...} to stdout with --json) and exits with status 2.
 */
#include "cli/stats_cmd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/args.h"
#include "codec/stats_json.h"

#define MAX_LOOKS 1000

struct verb {
    const char *name;
    const char *summary;
    int (*run)(const char *prog, int argc, char **argv);
};

/* ---- Shared by the verbs ---------------------------------------------------------- */

/* Reports an input core refused: names the option the failing field came from. */
static int refuse(const char *prog, const sy_err_t *err, bool json)
{
    char opt[64] = "";
    size_t len = strcspn(err->field, ".[");
    if (len > 0 && len < sizeof(opt) - 1) {
        memcpy(opt, err->field, len);
        opt[len] = '\0';
        for (char *c = opt; *c; c++)
            *c = *c == '_' ? '-' : *c;
        if (strcmp(opt, "looks") == 0)
            strcpy(opt, "look");
        else if (strcmp(opt, "p-values") == 0)
            strcpy(opt, "p");
    }
    fprintf(stderr, "%s: %s%s%s%s (%s)\n", prog, opt[0] ? "--" : "", opt, opt[0] ? ": " : "",
            err->msg, sy_err_name(err->code));
    if (json)
        sy_cli_print_json(sy_stats_json_error(err));
    return SY_EXIT_USAGE;
}

static int missing(const char *prog, const char *opt)
{
    fprintf(stderr, "%s: --%s is required (see --help)\n", prog, opt);
    return SY_EXIT_USAGE;
}

static int usage(const char *prog, const char *synopsis, const char *about,
                 const struct sy_arg *args, size_t n)
{
    printf("usage: %s %s\n\n%s\n\noptions:\n", prog, synopsis, about);
    sy_args_usage(args, n, stdout);
    printf("  %-26s %s\n", "--json", "print the result as JSON (docs/stats.md)");
    return 0;
}

/* Fetches an optional number option into *out, keeping the default when absent. */
static int opt_double(const char *prog, const struct sy_arg *a, double *out)
{
    return a->value ? sy_args_double(prog, a->name, a->value, out) : 0;
}

static int opt_alt(const char *prog, const struct sy_arg *a, sy_alt_t *out)
{
    *out = SY_ALT_TWO_SIDED;
    if (a->value && sy_stats_alt_parse(a->value, out) < 0) {
        fprintf(stderr, "%s: --%s: expected two-sided, larger or smaller, got '%s'\n", prog,
                a->name, a->value);
        return -EINVAL;
    }
    return 0;
}

static const char *yes(bool b)
{
    return b ? "yes" : "no";
}

#define N_ARGS(a) (sizeof(a) / sizeof((a)[0]))
#define ARG_JSON                                                                                   \
    {                                                                                              \
        "json", NULL, "print JSON", 0, NULL, NULL, 0                                               \
    }

/* ---- ztest ------------------------------------------------------------------------ */

static int run_ztest(const char *prog, int argc, char **argv)
{
    struct sy_arg a[] = {
        {"control", "S/N", "control conversions/exposures, e.g. 120/1000", 0, NULL, NULL, 0},
        {"treatment", "S/N", "treatment conversions/exposures", 0, NULL, NULL, 0},
        {"alternative", "ALT", "two-sided (default), larger or smaller", 0, NULL, NULL, 0},
        {"unpooled", NULL, "unpooled (Wald) SE for z; pooled is the default", 0, NULL, NULL, 0},
        {"confidence", "LEVEL", "level of the intervals (default 0.95)", 0, NULL, NULL, 0},
        ARG_JSON,
    };
    bool help;
    if (sy_args_parse(argc, argv, a, N_ARGS(a), prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help)
        return usage(prog, "--control S/N --treatment S/N [options]",
                     "Two-proportion z-test of treatment against control, with the Wald\n"
                     "interval of the difference and the delta-method interval of the lift.",
                     a, N_ARGS(a) - 1);
    if (!a[0].value || !a[1].value)
        return missing(prog, a[0].value ? "treatment" : "control");
    sy_binom_t c, t;
    sy_alt_t alt;
    double conf = 0.95;
    if (sy_args_binom(prog, "control", a[0].value, &c) < 0 ||
        sy_args_binom(prog, "treatment", a[1].value, &t) < 0 || opt_alt(prog, &a[2], &alt) < 0 ||
        opt_double(prog, &a[4], &conf) < 0)
        return SY_EXIT_USAGE;
    bool json = a[5].value, pooled = !a[3].value;

    sy_ztest_t r;
    sy_err_t err;
    if (sy_stats_ztest(&c, &t, alt, pooled, conf, &r, &err) < 0)
        return refuse(prog, &err, json);
    if (json)
        return sy_cli_print_json(sy_stats_json_ztest(&r));

    double pc = (double)c.successes / (double)c.trials, pt = (double)t.successes / (double)t.trials;
    printf("Two-proportion z-test (%s SE, alternative %s)\n", pooled ? "pooled" : "unpooled",
           sy_stats_alt_name(alt));
    printf("  control      %lld / %lld  = %.4f%%\n", (long long)c.successes, (long long)c.trials,
           100 * pc);
    printf("  treatment    %lld / %lld  = %.4f%%\n", (long long)t.successes, (long long)t.trials,
           100 * pt);
    printf("  difference   %+.4f pp, %g%% CI [%+.4f, %+.4f] pp\n", 100 * r.diff, 100 * conf,
           100 * r.diff_ci_low, 100 * r.diff_ci_high);
    if (r.has_lift)
        printf("  lift         %+.3f%%, %g%% CI [%+.3f%%, %+.3f%%]\n", 100 * r.lift, 100 * conf,
               100 * r.lift_ci_low, 100 * r.lift_ci_high);
    else
        printf("  lift         undefined (control rate is 0)\n");
    printf("  z = %.4f, p = %.6g\n", r.z, r.p_value);
    printf("  significant at alpha = %g: %s\n", 1 - conf, yes(r.p_value < 1 - conf));
    return 0;
}

/* ---- welch ------------------------------------------------------------------------ */

static int run_welch(const char *prog, int argc, char **argv)
{
    struct sy_arg a[] = {
        {"control", "MEAN:SD:N", "control mean, sample sd and size, e.g. 10.2:2.1:500", 0, NULL,
         NULL, 0},
        {"treatment", "MEAN:SD:N", "treatment mean, sample sd and size", 0, NULL, NULL, 0},
        {"alternative", "ALT", "two-sided (default), larger or smaller", 0, NULL, NULL, 0},
        {"confidence", "LEVEL", "level of the interval (default 0.95)", 0, NULL, NULL, 0},
        ARG_JSON,
    };
    bool help;
    if (sy_args_parse(argc, argv, a, N_ARGS(a), prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help)
        return usage(prog, "--control MEAN:SD:N --treatment MEAN:SD:N [options]",
                     "Welch's unequal-variance t-test from summary statistics.", a, N_ARGS(a) - 1);
    if (!a[0].value || !a[1].value)
        return missing(prog, a[0].value ? "treatment" : "control");
    sy_moments_t c, t;
    sy_alt_t alt;
    double conf = 0.95;
    if (sy_args_moments(prog, "control", a[0].value, &c) < 0 ||
        sy_args_moments(prog, "treatment", a[1].value, &t) < 0 || opt_alt(prog, &a[2], &alt) < 0 ||
        opt_double(prog, &a[3], &conf) < 0)
        return SY_EXIT_USAGE;
    bool json = a[4].value;

    sy_welch_t r;
    sy_err_t err;
    if (sy_stats_welch(&c, &t, alt, conf, &r, &err) < 0)
        return refuse(prog, &err, json);
    if (json)
        return sy_cli_print_json(sy_stats_json_welch(&r));
    printf("Welch's t-test (alternative %s)\n", sy_stats_alt_name(alt));
    printf("  control      mean %g, sd %g, n %lld\n", c.mean, c.sd, (long long)c.n);
    printf("  treatment    mean %g, sd %g, n %lld\n", t.mean, t.sd, (long long)t.n);
    printf("  difference   %+g, %g%% CI [%+g, %+g]\n", r.diff, 100 * conf, r.diff_ci_low,
           r.diff_ci_high);
    if (r.has_df)
        printf("  t = %.4f, df = %.2f, p = %.6g\n", r.t, r.df, r.p_value);
    else
        printf("  t = 0, df undefined (both sds are 0), p = 1\n");
    printf("  significant at alpha = %g: %s\n", 1 - conf, yes(r.p_value < 1 - conf));
    return 0;
}

/* ---- srm -------------------------------------------------------------------------- */

static int run_srm(const char *prog, int argc, char **argv)
{
    struct sy_arg a[] = {
        {"observed", "N,N,...", "units seen per variant, e.g. 5000,5300", 0, NULL, NULL, 0},
        {"weights", "W,W,...", "intended split, any scale (default equal)", 0, NULL, NULL, 0},
        {"alpha", "ALPHA", "mismatch threshold (default 0.001)", 0, NULL, NULL, 0},
        ARG_JSON,
    };
    bool help;
    if (sy_args_parse(argc, argv, a, N_ARGS(a), prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help)
        return usage(prog, "--observed N,N,... [--weights W,W,...] [options]",
                     "Sample-ratio mismatch: chi-square goodness of fit of the units each\n"
                     "variant received against the intended split.",
                     a, N_ARGS(a) - 1);
    if (!a[0].value)
        return missing(prog, "observed");
    double obs_d[SY_STATS_MAX_ARMS], weights[SY_STATS_MAX_ARMS], alpha = 0.001;
    int64_t observed[SY_STATS_MAX_ARMS];
    size_t n, nw;
    if (sy_args_doubles(prog, "observed", a[0].value, obs_d, SY_STATS_MAX_ARMS, &n) < 0 ||
        opt_double(prog, &a[2], &alpha) < 0)
        return SY_EXIT_USAGE;
    for (size_t i = 0; i < n; i++) {
        if (obs_d[i] != floor(obs_d[i]) || fabs(obs_d[i]) > 9007199254740992.0) {
            fprintf(stderr, "%s: --observed: expected whole numbers, got '%s'\n", prog, a[0].value);
            return SY_EXIT_USAGE;
        }
        observed[i] = (int64_t)obs_d[i];
        weights[i] = 1;
    }
    if (a[1].value) {
        if (sy_args_doubles(prog, "weights", a[1].value, weights, SY_STATS_MAX_ARMS, &nw) < 0)
            return SY_EXIT_USAGE;
        if (nw != n) {
            fprintf(stderr, "%s: --weights: %zu weights for %zu variants\n", prog, nw, n);
            return SY_EXIT_USAGE;
        }
    }
    bool json = a[3].value;

    sy_srm_t r;
    sy_err_t err;
    if (sy_stats_srm(observed, weights, n, alpha, &r, &err) < 0)
        return refuse(prog, &err, json);
    if (json)
        return sy_cli_print_json(sy_stats_json_srm(&r));
    double total = 0, sum_w = 0;
    for (size_t i = 0; i < n; i++) {
        total += (double)observed[i];
        sum_w += weights[i];
    }
    printf("Sample-ratio mismatch check (chi-square, alpha %g)\n", alpha);
    printf("  %-8s %14s %16s %10s\n", "variant", "observed", "expected", "weight");
    for (size_t i = 0; i < n; i++)
        printf("  %-8zu %14lld %16.1f %10g\n", i, (long long)observed[i],
               total * weights[i] / sum_w, weights[i]);
    printf("  chi2 = %.4f, df = %d, p = %.6g\n", r.chi2, r.df, r.p_value);
    printf("  %s\n",
           r.mismatch ? "MISMATCH: the split is not what was configured" : "no mismatch detected");
    return 0;
}

/* ---- power ------------------------------------------------------------------------ */

static int run_power(const char *prog, int argc, char **argv)
{
    struct sy_arg a[] = {
        {"baseline", "RATE", "control conversion rate, e.g. 0.10", 0, NULL, NULL, 0},
        {"mde-relative", "LIFT", "smallest relative change to detect, e.g. 0.05", 0, NULL, NULL, 0},
        {"alpha", "ALPHA", "two-sided significance level (default 0.05)", 0, NULL, NULL, 0},
        {"power", "POWER", "target power (default 0.8)", 0, NULL, NULL, 0},
        {"ratio", "R", "treatment units per control unit (default 1)", 0, NULL, NULL, 0},
        {"n-control", "N", "also report the power reached with N control units", 0, NULL, NULL, 0},
        ARG_JSON,
    };
    bool help;
    if (sy_args_parse(argc, argv, a, N_ARGS(a), prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help)
        return usage(prog, "--baseline RATE --mde-relative LIFT [options]",
                     "Units needed per arm to detect a relative change of a conversion rate\n"
                     "(Cohen's h and the pooled normal formula), and the power reached with\n"
                     "a given number of units.",
                     a, N_ARGS(a) - 1);
    if (!a[0].value || !a[1].value)
        return missing(prog, a[0].value ? "mde-relative" : "baseline");
    sy_power_plan_t plan = {.alpha = 0.05, .power = 0.8, .ratio = 1};
    double n_control = 0;
    if (sy_args_double(prog, "baseline", a[0].value, &plan.baseline) < 0 ||
        sy_args_double(prog, "mde-relative", a[1].value, &plan.mde_relative) < 0 ||
        opt_double(prog, &a[2], &plan.alpha) < 0 || opt_double(prog, &a[3], &plan.power) < 0 ||
        opt_double(prog, &a[4], &plan.ratio) < 0 || opt_double(prog, &a[5], &n_control) < 0)
        return SY_EXIT_USAGE;
    bool json = a[6].value, with_power = a[5].value;

    sy_sample_size_t size;
    sy_power_t power;
    sy_err_t err;
    if (sy_stats_sample_size(&plan, &size, &err) < 0 ||
        (with_power && sy_stats_power(&plan, n_control, &power, &err) < 0))
        return refuse(prog, &err, json);
    if (json)
        return sy_cli_print_json(sy_stats_json_power(&size, with_power ? &power : NULL));
    double p2 = plan.baseline * (1 + plan.mde_relative);
    printf("Sample size for two proportions: %.4f%% -> %.4f%% (%+g%% relative)\n",
           100 * plan.baseline, 100 * p2, 100 * plan.mde_relative);
    printf("  alpha %g (two-sided), power %g, %g treatment units per control unit\n", plan.alpha,
           plan.power, plan.ratio);
    printf("  Cohen's h = %.6f\n", size.effect_size_h);
    printf("  Cohen's h:      %.0f control + %.0f treatment units\n", ceil(size.n_control_cohen_h),
           ceil(size.n_control_cohen_h * plan.ratio));
    printf("  pooled normal:  %.0f control + %.0f treatment units\n",
           ceil(size.n_control_pooled_normal), ceil(size.n_control_pooled_normal * plan.ratio));
    if (with_power)
        printf("  power with %g control units: %.4f (Cohen's h), %.4f (pooled normal)\n", n_control,
               power.power_cohen_h, power.power_pooled_normal);
    return 0;
}

/* ---- plan ------------------------------------------------------------------------- */

/* One test's line of a plan: the units a variant for `target`, the days at `per_hour` units
 * an hour over all `variants`, into `out` (JSON) or printed. */
static int plan_one(const char *prog, sy_rule_plan_t *p, double target, double per_hour,
                    int variants, bool json, json_t *out)
{
    int64_t n;
    sy_err_t err;
    int64_t horizon = sy_stats_rule_horizon(p, target);
    int rc = sy_stats_rule_sample(p, target, horizon, &n, &err);
    if (rc < 0 && rc != -ERANGE)
        return refuse(prog, &err, json);
    double days = rc == 0 ? (double)n * variants / per_hour / 24 : NAN;
    const char *name = p->sequential ? "sequential" : "fixed_horizon";
    if (json) {
        json_object_set_new(
            out, name,
            rc == 0 ? json_pack("{sIsf}", "units_per_variant", (json_int_t)n, "days", days)
                    : json_null());
        return 0;
    }
    if (rc == 0)
        printf("  %-14s %10lld units a variant, %7.1f days\n",
               p->sequential ? "sequential" : "fixed horizon", (long long)n, days);
    else if (p->lift <= p->min_improvement)
        printf("  %-14s never: promotion stays under %.0f %% (the lift must clear the gate)\n",
               p->sequential ? "sequential" : "fixed horizon", 100 * target);
    else
        printf("  %-14s not within %lld units a variant\n",
               p->sequential ? "sequential" : "fixed horizon",
               (long long)(horizon ? horizon : (int64_t)1e12));
    return 0;
}

static int run_plan(const char *prog, int argc, char **argv)
{
    struct sy_arg a[] = {
        {"baseline", "RATE", "control conversion rate, e.g. 0.10", 0, NULL, NULL, 0},
        {"lift", "LIFT", "the true relative lift to plan for, e.g. 0.10", 0, NULL, NULL, 0},
        {"min-improvement", "PCT", "the rule's minimum observed lift in % (default 5)", 0, NULL,
         NULL, 0},
        {"confidence", "C", "min_confidence (default 0.95)", 0, NULL, NULL, 0},
        {"treatments", "K", "treatments besides the control (default 1; Holm)", 0, NULL, NULL, 0},
        {"units-per-hour", "N", "units an hour over all variants (default 1000)", 0, NULL, NULL, 0},
        {"min-sample", "N", "min_sample_per_variant (default 1000)", 0, NULL, NULL, 0},
        {"power", "P", "the promotion probability to plan for (default 0.8)", 0, NULL, NULL, 0},
        ARG_JSON,
    };
    bool help;
    if (sy_args_parse(argc, argv, a, N_ARGS(a), prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help)
        return usage(prog, "--baseline RATE --lift LIFT [options]",
                     "Units a variant (and days at the given traffic) for an experiment to be\n"
                     "promoted with the given probability if its true lift is LIFT, under the\n"
                     "rule the engine applies: significance at min_confidence (Holm over the\n"
                     "treatments) AND the observed lift reaching the minimum improvement at\n"
                     "the same look AND min_sample; for the fixed-horizon z-test read once,\n"
                     "and for the sequential test looked at every hour (docs/stats.md).",
                     a, N_ARGS(a) - 1);
    if (!a[0].value || !a[1].value)
        return missing(prog, a[0].value ? "lift" : "baseline");
    double m_pct = 5, conf = 0.95, k = 1, per_hour = 1000, min_sample = 1000, target = 0.8;
    sy_rule_plan_t p = {0};
    if (sy_args_double(prog, "baseline", a[0].value, &p.baseline) < 0 ||
        sy_args_double(prog, "lift", a[1].value, &p.lift) < 0 ||
        opt_double(prog, &a[2], &m_pct) < 0 || opt_double(prog, &a[3], &conf) < 0 ||
        opt_double(prog, &a[4], &k) < 0 || opt_double(prog, &a[5], &per_hour) < 0 ||
        opt_double(prog, &a[6], &min_sample) < 0 || opt_double(prog, &a[7], &target) < 0)
        return SY_EXIT_USAGE;
    bool json = a[8].value;
    /* each option's own range, named, before anything is printed */
    sy_err_t err = {0};
    if (!(conf > 0 && conf < 1))
        sy_err_set(&err, -EINVAL, "confidence", "must be in (0, 1)");
    else if (!(k >= 1 && k <= 15 && k == floor(k)))
        sy_err_set(&err, -EINVAL, "treatments", "must be a whole number from 1 to 15");
    else if (!(per_hour >= 2 && per_hour <= 1e9))
        sy_err_set(&err, -EINVAL, "units_per_hour", "must be from 2 to 1e9");
    else if (!(min_sample >= 0 && min_sample <= 1e9 && min_sample == floor(min_sample)))
        sy_err_set(&err, -EINVAL, "min_sample", "must be a whole number from 0 to 1e9");
    else if (!(target > 0 && target <= 0.99)) /* the paths resolve 1 % at best */
        sy_err_set(&err, -EINVAL, "power", "must be in (0, 0.99]");
    if (err.code)
        return refuse(prog, &err, json);
    int variants = (int)k + 1;
    p.min_improvement = m_pct / 100;
    p.alpha = (1 - conf) / k; /* Holm's first step */
    p.min_sample = (int64_t)min_sample;
    p.units_per_look = (int64_t)fmax(1, floor(per_hour / variants)); /* hourly */
    double probe;
    if (sy_stats_rule_power(&p, 1, &probe, &err) < 0) /* baseline, lift, gate: before printing */
        return refuse(prog, &err, json);
    json_t *out = json ? json_pack("{sfsfsfsf}", "baseline", p.baseline, "lift", p.lift,
                                   "min_improvement_pct", m_pct, "power", target)
                       : NULL;
    if (!json)
        printf("Promotion %g %% likely for a true lift of %+g%% (gate %+g%%, confidence %g, "
               "%d variants, %g units an hour):\n",
               100 * target, 100 * p.lift, m_pct, conf, variants, per_hour);
    int64_t hourly = p.units_per_look;
    p.units_per_look = 0; /* the fixed-horizon test: read once */
    int rc = plan_one(prog, &p, target, per_hour, variants, json, out);
    p.sequential = true;
    p.units_per_look = hourly;
    if (rc == 0)
        rc = plan_one(prog, &p, target, per_hour, variants, json, out);
    if (json && rc == 0)
        return sy_cli_print_json(out);
    json_decref(out);
    return rc;
}

/* ---- bayes ------------------------------------------------------------------------ */

static int run_bayes(const char *prog, int argc, char **argv)
{
    struct sy_arg a[] = {
        {"control", "S/N", "control conversions/exposures, e.g. 120/1000", 0, NULL, NULL, 0},
        {"treatment", "S/N", "treatment conversions/exposures", 0, NULL, NULL, 0},
        {"prior", "A,B", "Beta prior, whole numbers (default 1,1: uniform)", 0, NULL, NULL, 0},
        ARG_JSON,
    };
    bool help;
    if (sy_args_parse(argc, argv, a, N_ARGS(a), prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help)
        return usage(prog, "--control S/N --treatment S/N [--prior A,B]",
                     "Bayesian beta-binomial comparison: the chance the treatment's rate beats\n"
                     "control's, and the expected loss of shipping either.",
                     a, N_ARGS(a) - 1);
    if (!a[0].value || !a[1].value)
        return missing(prog, a[0].value ? "treatment" : "control");
    sy_binom_t c, t;
    double prior[2] = {1, 1};
    size_t np = 2;
    if (sy_args_binom(prog, "control", a[0].value, &c) < 0 ||
        sy_args_binom(prog, "treatment", a[1].value, &t) < 0 ||
        (a[2].value && sy_args_doubles(prog, "prior", a[2].value, prior, 2, &np) < 0))
        return SY_EXIT_USAGE;
    if (np != 2) {
        fprintf(stderr, "%s: --prior: expected A,B such as 1,1, got '%s'\n", prog, a[2].value);
        return SY_EXIT_USAGE;
    }
    bool json = a[3].value;

    sy_bayes_t r;
    sy_err_t err;
    if (sy_stats_bayes(&c, &t, prior[0], prior[1], &r, &err) < 0)
        return refuse(prog, &err, json);
    if (json)
        return sy_cli_print_json(sy_stats_json_bayes(&r));
    printf("Bayesian beta-binomial (prior Beta(%g, %g))\n", prior[0], prior[1]);
    printf("  chance treatment beats control   %.4f%%\n", 100 * r.chance_to_beat_control);
    printf("  expected loss, ship treatment    %.6g (%.4f pp of rate)\n", r.expected_loss_treatment,
           100 * r.expected_loss_treatment);
    printf("  expected loss, keep control      %.6g (%.4f pp of rate)\n", r.expected_loss_control,
           100 * r.expected_loss_control);
    return 0;
}

/* ---- sequential ------------------------------------------------------------------- */

static int run_sequential(const char *prog, int argc, char **argv)
{
    const char *looks[MAX_LOOKS];
    struct sy_arg a[] = {
        {"look", "C,T",
         "cumulative arms at one look, repeat in order: S/N,S/N for\n"
         "                             proportions, MEAN:SD:N,MEAN:SD:N for means",
         MAX_LOOKS, NULL, looks, 0},
        {"metric", "KIND", "proportion (default) or mean", 0, NULL, NULL, 0},
        {"tau-squared", "TAU2", "variance of the mixing prior on the effect (required)", 0, NULL,
         NULL, 0},
        {"theta0", "D", "null difference (default 0)", 0, NULL, NULL, 0},
        {"alpha", "ALPHA", "significance level (default 0.05)", 0, NULL, NULL, 0},
        {"gb-tuning-parameter", "S", "GrowthBook's tuning parameter (default 5000)", 0, NULL, NULL,
         0},
        ARG_JSON,
    };
    bool help;
    if (sy_args_parse(argc, argv, a, N_ARGS(a), prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help)
        return usage(prog, "--tau-squared TAU2 --look C,T [--look C,T ...] [options]",
                     "Always-valid sequential test (mixture SPRT) over successive looks at\n"
                     "cumulative data, with GrowthBook's sequential interval at each look.\n"
                     "Peeking at every look keeps the false-positive rate at alpha.",
                     a, N_ARGS(a) - 1);
    if (a[0].n_values == 0)
        return missing(prog, "look");
    if (!a[2].value)
        return missing(prog, "tau-squared");
    bool means = a[1].value && strcmp(a[1].value, "mean") == 0;
    if (a[1].value && !means && strcmp(a[1].value, "proportion") != 0) {
        fprintf(stderr, "%s: --metric: expected proportion or mean, got '%s'\n", prog, a[1].value);
        return SY_EXIT_USAGE;
    }
    sy_seq_cfg_t cfg = {.alpha = 0.05, .gb_tuning = 5000};
    if (sy_args_double(prog, "tau-squared", a[2].value, &cfg.tau_squared) < 0 ||
        opt_double(prog, &a[3], &cfg.theta0) < 0 || opt_double(prog, &a[4], &cfg.alpha) < 0 ||
        opt_double(prog, &a[5], &cfg.gb_tuning) < 0)
        return SY_EXIT_USAGE;
    bool json = a[6].value;

    json_t *arr = json ? json_array() : NULL;
    double p = 1;
    if (!json)
        printf("Always-valid sequential test (mSPRT, tau^2 = %g, theta0 = %g, alpha = %g)\n"
               "  %-4s %12s %12s %14s %14s   %s\n",
               cfg.tau_squared, cfg.theta0, cfg.alpha, "look", "difference", "log(Lambda)",
               "always-valid p", "GrowthBook p", "GrowthBook interval");
    for (size_t i = 0; i < a[0].n_values; i++) {
        char ctl[64];
        const char *trt = NULL;
        const char *s = looks[i], *comma = strchr(s, ',');
        if (comma && (size_t)(comma - s) < sizeof(ctl)) {
            memcpy(ctl, s, (size_t)(comma - s));
            ctl[comma - s] = '\0';
            trt = comma + 1;
        }
        sy_seq_look_t r;
        sy_err_t err;
        int rc;
        if (!trt) {
            fprintf(stderr, "%s: --look: expected CONTROL,TREATMENT, got '%s'\n", prog, s);
            rc = -EINVAL;
        } else if (means) {
            sy_moments_t c, t;
            rc = sy_args_moments(prog, "look", ctl, &c);
            if (rc == 0)
                rc = sy_args_moments(prog, "look", trt, &t);
            if (rc == 0 && sy_stats_seq_look_mean(&cfg, &c, &t, p, &r, &err) < 0)
                rc = 1;
        } else {
            sy_binom_t c, t;
            rc = sy_args_binom(prog, "look", ctl, &c);
            if (rc == 0)
                rc = sy_args_binom(prog, "look", trt, &t);
            if (rc == 0 && sy_stats_seq_look_prop(&cfg, &c, &t, p, &r, &err) < 0)
                rc = 1;
        }
        if (rc != 0) {
            json_decref(arr);
            if (rc > 0) {
                char base[32];
                snprintf(base, sizeof(base), "looks[%zu]", i);
                sy_stats_json_within(err.code, base, &err);
                return refuse(prog, &err, json);
            }
            return SY_EXIT_USAGE;
        }
        p = r.always_valid_p;
        if (json) {
            if (json_array_append_new(arr, sy_stats_json_seq_look(&r)) < 0) {
                json_decref(arr);
                return sy_cli_print_json(NULL);
            }
            continue;
        }
        char interval[64] = "-", gbp[24] = "-", diff[24] = "-";
        if (r.has_theta)
            snprintf(diff, sizeof(diff), "%+.6g", r.theta_hat);
        if (r.has_gb) {
            snprintf(interval, sizeof(interval), "[%+.6g, %+.6g]", r.gb_ci_low, r.gb_ci_high);
            snprintf(gbp, sizeof(gbp), "%.6g", r.gb_p_value);
        }
        printf("  %-4zu %12s %12.4f %14.6g %14s   %s\n", i + 1, diff, r.log_lambda,
               r.always_valid_p, gbp, interval);
    }
    if (json)
        return sy_cli_print_json(sy_stats_json_sequential(arr, p));
    printf("  reject the null at alpha = %g: %s\n", cfg.alpha, yes(p < cfg.alpha));
    return 0;
}

/* ---- holm ------------------------------------------------------------------------- */

static int run_holm(const char *prog, int argc, char **argv)
{
    struct sy_arg a[] = {
        {"p", "P,P,...", "p-values of each treatment against control", 0, NULL, NULL, 0},
        {"alpha", "ALPHA", "family-wise significance level (default 0.05)", 0, NULL, NULL, 0},
        ARG_JSON,
    };
    bool help;
    if (sy_args_parse(argc, argv, a, N_ARGS(a), prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help)
        return usage(prog, "--p P,P,... [--alpha ALPHA]",
                     "Holm-Bonferroni adjustment of the p-values of an A/B/n test.", a,
                     N_ARGS(a) - 1);
    if (!a[0].value)
        return missing(prog, "p");
    double p[SY_STATS_MAX_ARMS], adj[SY_STATS_MAX_ARMS], alpha = 0.05;
    size_t n;
    if (sy_args_doubles(prog, "p", a[0].value, p, SY_STATS_MAX_ARMS, &n) < 0 ||
        opt_double(prog, &a[1], &alpha) < 0)
        return SY_EXIT_USAGE;
    bool json = a[2].value;
    sy_err_t err;
    if (!(alpha > 0 && alpha < 1)) {
        sy_err_set(&err, -EINVAL, "alpha", "alpha must be in (0, 1)");
        return refuse(prog, &err, json);
    }
    if (sy_stats_holm(p, n, adj, &err) < 0)
        return refuse(prog, &err, json);
    if (json) {
        json_t *o = json_pack("{s:[], s:[]}", "adjusted", "reject");
        for (size_t i = 0; o && i < n; i++) {
            if (json_array_append_new(json_object_get(o, "adjusted"), json_real(adj[i])) < 0 ||
                json_array_append_new(json_object_get(o, "reject"), json_boolean(adj[i] < alpha)) <
                    0) {
                json_decref(o);
                o = NULL;
            }
        }
        return sy_cli_print_json(o);
    }
    printf("Holm-Bonferroni (family-wise alpha %g)\n  %-6s %12s %12s  %s\n", alpha, "arm", "p",
           "adjusted p", "reject");
    for (size_t i = 0; i < n; i++)
        printf("  %-6zu %12.6g %12.6g  %s\n", i + 1, p[i], adj[i], yes(adj[i] < alpha));
    return 0;
}

/* ---- Dispatch --------------------------------------------------------------------- */

static const struct verb verbs[] = {
    {"ztest", "two-proportion z-test with difference and lift intervals", run_ztest},
    {"welch", "Welch's t-test from mean, sd and n", run_welch},
    {"srm", "sample-ratio mismatch (chi-square) check", run_srm},
    {"power", "sample size and power for two proportions", run_power},
    {"plan", "units and days to a promotion, for the rule that decides", run_plan},
    {"bayes", "chance to beat control and expected loss (beta-binomial)", run_bayes},
    {"sequential", "always-valid p-values over looks (mSPRT, GrowthBook)", run_sequential},
    {"holm", "Holm-Bonferroni adjustment for A/B/n", run_holm},
};

void sy_cli_stats_usage(FILE *to)
{
    fprintf(to, "usage: switchyard stats VERB [options]   (switchyard stats VERB --help)\n\n"
                "verbs:\n");
    for (size_t i = 0; i < N_ARGS(verbs); i++)
        fprintf(to, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(to, "\nEvery verb takes --json to print the result as JSON. Differences are\n"
                "treatment minus control. Bad options exit with status 2.\n");
}

int sy_cli_stats(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        sy_cli_stats_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? SY_EXIT_USAGE : 0;
    }
    for (size_t i = 0; i < N_ARGS(verbs); i++) {
        if (strcmp(argv[0], verbs[i].name) == 0) {
            char prog[64];
            snprintf(prog, sizeof(prog), "switchyard stats %s", verbs[i].name);
            return verbs[i].run(prog, argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "switchyard stats: unknown verb '%s' (see switchyard stats --help)\n", argv[0]);
    return SY_EXIT_USAGE;
}
