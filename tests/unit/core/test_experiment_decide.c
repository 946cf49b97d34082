/* test_experiment_decide.c - the analysis of an A/B/n experiment and the decision rule:
 * each safety threshold just below and just above (runtime in hours, as the engine's
 * clock gives it), SRM blocking a winner, Holm changing which treatment wins, worse,
 * harmful and futile treatments terminating, the mean metric, and sequential p-values. */
#include <string.h>

#include "../harness.h"
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "core/experiment.h"

static const char *const names[] = {"control", "b", "c", "d"};

struct exp {
    sy_arm_counts_t arms[4];
    sy_experiment_in_t in;
};

/* control 10 % of 5000, b 12 % of 5000, 72 h: b wins under the defaults (z 3.196). */
static struct exp ab(void)
{
    struct exp x = {.arms = {{.weight = 50, .units = 5000, .conversions = 500, .seq_p = 1},
                             {.weight = 50, .units = 5000, .conversions = 600, .seq_p = 1}}};
    x.in = (sy_experiment_in_t){.metric = SY_METRIC_CONVERSION,
                                .n_arms = 2,
                                .control = 0,
                                .names = names,
                                .safety = SY_SAFETY_DEFAULTS,
                                .runtime_hours = 72};
    return x;
}

static sy_experiment_result_t run(struct exp *x)
{
    x->in.arms = x->arms;
    sy_experiment_result_t r;
    sy_err_t err = {0};
    if (sy_experiment_analyze(&x->in, &r, &err) < 0)
        fail_msg("refused: %s (%s)", err.msg, err.field);
    return r;
}

static bool said(const sy_experiment_result_t *r, const char *needle)
{
    for (size_t i = 0; i < r->n_reasons; i++)
        if (strstr(r->reasons[i], needle))
            return true;
    return false;
}

/* Looked at 40 times as the units come (200 a variant a look), the lift interval of a
 * sequential experiment covers the true lift at every look in at least 95 % of runs; the
 * fixed-horizon interval, read the same way, misses it at some look far more often. The
 * reasons quote the always-valid one. Values normal, means 100 and 102 (true lift +2 %),
 * sd 15. */
static const sy_rule_curve_t *const no_curves[SY_EXP_MAX_ARMS];

static void always_valid_intervals_cover_at_every_look(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 424242);
    enum { RUNS = 300, LOOKS = 40, PER_LOOK = 200 };
    int covered = 0, fixed_covered = 0;
    for (int k_run = 0; k_run < RUNS; k_run++) {
        sy_welford_t wc = {0}, wt = {0};
        bool all = true, fixed_all = true;
        for (int l = 0; l < LOOKS; l++) {
            for (int k = 0; k < PER_LOOK; k++) {
                sy_welford_add(&wc, 100 + gsl_ran_gaussian(rng, 15));
                sy_welford_add(&wt, 102 + gsl_ran_gaussian(rng, 15));
            }
            sy_moments_t mc = sy_welford_moments(&wc), mt = sy_welford_moments(&wt);
            struct exp x = ab();
            x.in.metric = SY_METRIC_MEAN;
            x.in.sequential = true;
            x.in.curves = no_curves; /* the power is not what this looks at */
            x.arms[0] = (sy_arm_counts_t){.weight = 50,
                                          .units = mc.n,
                                          .value_mean = mc.mean,
                                          .value_sd = mc.sd,
                                          .value_mean_lo = mc.mean_lo,
                                          .seq_p = 1};
            x.arms[1] = (sy_arm_counts_t){.weight = 50,
                                          .units = mt.n,
                                          .value_mean = mt.mean,
                                          .value_sd = mt.sd,
                                          .value_mean_lo = mt.mean_lo,
                                          .seq_p = 1};
            sy_experiment_result_t r = run(&x);
            const sy_arm_result_t *t = &r.arms[1];
            assert_true(t->always_valid && t->has_lift);
            all &= t->lift_ci_low <= 0.02 && 0.02 <= t->lift_ci_high;
            fixed_all &= t->lift_ci_fixed_low <= 0.02 && 0.02 <= t->lift_ci_fixed_high;
            assert_true(t->lift_ci_high - t->lift_ci_low >
                        t->lift_ci_fixed_high - t->lift_ci_fixed_low);
        }
        covered += all;
        fixed_covered += fixed_all;
    }
    gsl_rng_free(rng);
    printf("# lift interval covering at all 40 looks: always-valid %d of %d runs, fixed-horizon "
           "%d\n",
           covered, RUNS, fixed_covered);
    assert_true(covered >= 0.95 * RUNS);
    assert_true(fixed_covered < 0.85 * RUNS);
    /* a winner's reason quotes the interval in use */
    struct exp x = ab();
    x.in.sequential = true;
    x.arms[0].seq_p = x.arms[1].seq_p = 1e-6;
    sy_experiment_result_t r = run(&x);
    if (r.decision == SY_DECISION_PROMOTE)
        assert_true(said(&r, "always-valid interval"));
    assert_true(r.arms[1].always_valid);
}

/* A metric whose control mean is negative (a loss per unit): the lift is relative to the
 * control's size, so a treatment losing less is a positive lift, and can win. */
static void a_negative_control_mean_has_a_lift(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.metric = SY_METRIC_MEAN;
    x.arms[0] = (sy_arm_counts_t){
        .weight = 50, .units = 5000, .value_mean = -10, .value_sd = 4, .seq_p = 1};
    x.arms[1] =
        (sy_arm_counts_t){.weight = 50, .units = 5000, .value_mean = -8, .value_sd = 4, .seq_p = 1};
    sy_experiment_result_t r = run(&x);
    assert_true(r.arms[1].has_lift);
    assert_close(r.arms[1].lift, 0.2, 1e-12, 0);
    assert_true(r.arms[1].lift_ci_low > 0.15 && r.arms[1].lift_ci_high < 0.25);
    assert_true(r.arms[1].has_power);
    assert_int_equal(r.decision, SY_DECISION_PROMOTE);
    assert_false(said(&r, "no lift can be measured"));
    /* and one losing more is a negative lift */
    x.arms[1].value_mean = -12;
    r = run(&x);
    assert_close(r.arms[1].lift, -0.2, 1e-12, 0);
    assert_true(r.decision != SY_DECISION_PROMOTE);
}

static void promotes_a_clear_winner_with_the_eligibility_numbers(void **state)
{
    (void)state;
    struct exp x = ab();
    sy_experiment_result_t r = run(&x);
    assert_int_equal(r.decision, SY_DECISION_PROMOTE);
    assert_int_equal(r.winner, 1);
    assert_int_equal(r.arms[1].verdict, SY_VERDICT_WINNER);
    /* the same numbers as the promotion rule of the conformance vectors */
    sy_promotion_in_t p = {.control = {500, 5000}, .treatment = {600, 5000}, .runtime_hours = 72};
    sy_promotion_t k;
    sy_safety_t s = SY_SAFETY_DEFAULTS;
    assert_int_equal(sy_promotion_eligibility(&p, &s, &k, NULL), 0);
    assert_close(r.arms[1].statistic, k.z, 1e-12, 0);
    assert_close(r.arms[1].confidence, k.confidence, 1e-12, 0);
    assert_close(100 * r.arms[1].lift, k.improvement_pct, 1e-12, 0);
    assert_true(r.arms[1].has_bayes && r.arms[1].chance_to_beat_control > 0.99);
    assert_true(r.arms[1].has_power && r.arms[1].power > 0 && r.arms[1].n_needed_control > 0);
    assert_true(r.arms[1].lift_ci_low < r.arms[1].lift && r.arms[1].lift < r.arms[1].lift_ci_high);
    assert_true(said(&r, "b beats control"));
}

static void runtime_boundary(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.runtime_hours = 48 - 1e-6;
    sy_experiment_result_t r = run(&x);
    assert_int_equal(r.decision, SY_DECISION_CONTINUE);
    assert_false(r.arms[1].checks.min_runtime);
    assert_true(said(&r, "48 h minimum"));
    x.in.runtime_hours = 48;
    assert_int_equal(run(&x).decision, SY_DECISION_PROMOTE);
}

static void min_sample_boundary(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.safety.min_sample_per_variant = 5000;
    assert_int_equal(run(&x).decision, SY_DECISION_PROMOTE);
    x.in.safety.min_sample_per_variant = 5001;
    sy_experiment_result_t r = run(&x);
    assert_int_equal(r.decision, SY_DECISION_CONTINUE);
    assert_false(r.arms[1].checks.min_sample);
    assert_true(said(&r, "5000 units in the smaller arm, 5001 needed"));
}

static void confidence_boundary(void **state)
{
    (void)state;
    struct exp x = ab();
    double conf = run(&x).arms[1].confidence;
    x.in.safety.min_confidence = conf; /* met exactly */
    assert_int_equal(run(&x).decision, SY_DECISION_PROMOTE);
    x.in.safety.min_confidence = conf + 1e-8;
    sy_experiment_result_t r = run(&x);
    assert_int_equal(r.decision, SY_DECISION_CONTINUE);
    assert_false(r.arms[1].checks.min_confidence);
}

static void improvement_boundary(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.safety.min_improvement_pct = 20; /* 12 % over 10 % is +20 % */
    assert_int_equal(run(&x).decision, SY_DECISION_PROMOTE);
    x.in.safety.min_improvement_pct = 20 + 1e-7;
    sy_experiment_result_t r = run(&x);
    /* significant, and its interval reaches past the minimum: keep running */
    assert_int_equal(r.decision, SY_DECISION_CONTINUE);
    assert_true(said(&r, "below the +20.00% minimum"));
    /* an interval wholly below the minimum is futile once sized */
    x.in.safety.min_improvement_pct = 40;
    r = run(&x);
    assert_true(100 * r.arms[1].lift_ci_high < 40);
    assert_int_equal(r.arms[1].verdict, SY_VERDICT_FUTILE);
}

static void error_rate_boundary_and_harm_terminates(void **state)
{
    (void)state;
    struct exp x = ab();
    x.arms[1].errors = 250; /* 0.05 exactly: allowed */
    assert_int_equal(run(&x).decision, SY_DECISION_PROMOTE);
    x.arms[1].errors = 251;
    sy_experiment_result_t r = run(&x);
    assert_int_equal(r.arms[1].verdict, SY_VERDICT_HARMFUL);
    assert_int_equal(r.decision, SY_DECISION_TERMINATE);
    assert_true(said(&r, "error rate 0.0502"));
}

static void srm_blocks_a_winner(void **state)
{
    (void)state;
    struct exp x = ab();
    x.arms[1].units = 5600; /* 50/50 intended: 5000 vs 5600 is p ~ 6e-9 */
    x.arms[1].conversions = 700;
    sy_experiment_result_t r = run(&x);
    assert_true(r.has_srm && r.srm.mismatch);
    assert_true(r.srm.p_value < SY_EXP_SRM_ALPHA);
    assert_true(r.arms[1].checks.eligible); /* the numbers alone would promote */
    assert_int_equal(r.decision, SY_DECISION_CONTINUE);
    assert_int_equal(r.winner, -1);
    assert_true(said(&r, "sample ratio mismatch"));
    assert_true(said(&r, "promotion is blocked"));
    /* the same split at weights 5000:5600 is no mismatch */
    x.arms[0].weight = 5000;
    x.arms[1].weight = 5600;
    r = run(&x);
    assert_false(r.srm.mismatch);
    assert_int_equal(r.decision, SY_DECISION_PROMOTE);
}

static void units_in_a_zero_weight_variant_are_a_mismatch(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.n_arms = 3;
    x.arms[2] = (sy_arm_counts_t){.weight = 0, .units = 3, .seq_p = 1};
    sy_experiment_result_t r = run(&x);
    assert_true(r.srm_zero_weight && r.srm.mismatch);
    assert_int_equal(r.decision, SY_DECISION_CONTINUE);
}

static void holm_decides_which_treatment_of_three_may_win(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.n_arms = 4;
    x.in.safety.min_sample_per_variant = 1000;
    x.arms[0] = (sy_arm_counts_t){.weight = 25, .units = 10000, .conversions = 1000, .seq_p = 1};
    x.arms[1] = (sy_arm_counts_t){.weight = 25, .units = 10000, .conversions = 1092, .seq_p = 1};
    x.arms[2] = (sy_arm_counts_t){.weight = 25, .units = 10000, .conversions = 1300, .seq_p = 1};
    x.arms[3] = (sy_arm_counts_t){.weight = 25, .units = 10000, .conversions = 1000, .seq_p = 1};
    sy_experiment_result_t r = run(&x);
    double raw[3] = {r.arms[1].p_value, r.arms[2].p_value, r.arms[3].p_value}, adj[3];
    assert_int_equal(sy_stats_holm(raw, 3, adj, NULL), 0);
    for (int i = 0; i < 3; i++)
        assert_close(r.arms[i + 1].p_adjusted, adj[i], 1e-15, 0);
    /* b alone would pass at 95 %; after Holm it does not */
    assert_true(raw[0] < 0.05);
    assert_true(r.arms[1].p_adjusted > 0.05);
    assert_false(r.arms[1].checks.min_confidence);
    assert_int_equal(r.decision, SY_DECISION_PROMOTE);
    assert_int_equal(r.winner, 2);
    assert_int_equal(r.arms[3].verdict, SY_VERDICT_PENDING);
    /* two winners: the larger lift is promoted */
    x.arms[1].conversions = 1400;
    r = run(&x);
    assert_int_equal(r.arms[1].verdict, SY_VERDICT_WINNER);
    assert_int_equal(r.arms[2].verdict, SY_VERDICT_WINNER);
    assert_int_equal(r.winner, 1);
}

static void significantly_worse_terminates(void **state)
{
    (void)state;
    struct exp x = ab();
    x.arms[1].conversions = 400;
    sy_experiment_result_t r = run(&x);
    assert_int_equal(r.arms[1].verdict, SY_VERDICT_WORSE);
    assert_int_equal(r.decision, SY_DECISION_TERMINATE);
    assert_true(said(&r, "b is worse than control"));
    /* below the minimum sample it is only pending */
    x.in.safety.min_sample_per_variant = 5001;
    assert_int_equal(run(&x).decision, SY_DECISION_CONTINUE);
}

static void flat_and_fully_sized_is_futile(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.safety.min_improvement_pct = 20;
    x.arms[0] = (sy_arm_counts_t){.weight = 50, .units = 20000, .conversions = 1000, .seq_p = 1};
    x.arms[1] = (sy_arm_counts_t){.weight = 50, .units = 20000, .conversions = 1005, .seq_p = 1};
    sy_experiment_result_t r = run(&x);
    assert_true(r.arms[1].has_power);
    assert_true(r.arms[1].n_needed_control < 20000 && r.arms[1].power > 0.8);
    assert_int_equal(r.arms[1].verdict, SY_VERDICT_FUTILE);
    assert_int_equal(r.decision, SY_DECISION_TERMINATE);
    assert_true(said(&r, "no lift of 20%"));
    assert_true(said(&r, "at a true lift of 40%"));
    x.in.runtime_hours = 47; /* not yet: the minimum runtime is not over */
    assert_int_equal(run(&x).decision, SY_DECISION_CONTINUE);
    x.in.runtime_hours = 72; /* not yet: too few units for the planned power */
    x.arms[0].units = x.arms[1].units = 1500;
    x.arms[0].conversions = 75;
    x.arms[1].conversions = 76;
    r = run(&x);
    assert_true(r.arms[1].n_needed_control > 1500 && r.arms[1].power < 0.8);
    assert_close(r.arms[1].planned_lift, 0.40, 0, 1e-12); /* twice the gate by default */
    assert_int_equal(r.decision, SY_DECISION_CONTINUE);
}

/* Unequal arms: the treatment's units reach min_sample too. 99:1, a minimum of 1,000: the
 * control needs 99,000 units before promotion can come, whatever the lift. */
static void power_waits_for_both_arms_minimum(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.safety.min_runtime_hours = 0;
    x.in.safety.planned_lift_pct = 50;
    x.arms[0] = (sy_arm_counts_t){.weight = 99, .units = 4950, .conversions = 1485, .seq_p = 1};
    x.arms[1] = (sy_arm_counts_t){.weight = 1, .units = 50, .conversions = 22, .seq_p = 1};
    sy_experiment_result_t r = run(&x);
    assert_true(r.arms[1].has_power && r.arms[1].has_sample);
    assert_true(r.arms[1].power < 0.01);
    assert_true(r.arms[1].n_needed_control >= 99000 && r.arms[1].n_needed_treatment >= 1000);
}

static void mean_metric_uses_welch(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.metric = SY_METRIC_MEAN;
    /* 1000 units each: control mean 10, treatment mean 11 */
    double sd_c = sqrt((104000 - 10000.0 * 10) / 999), sd_t = sqrt((125000 - 11000.0 * 11) / 999);
    x.arms[0] = (sy_arm_counts_t){
        .weight = 50, .units = 1000, .value_mean = 10, .value_sd = sd_c, .seq_p = 1};
    x.arms[1] = (sy_arm_counts_t){
        .weight = 50, .units = 1000, .value_mean = 11, .value_sd = sd_t, .seq_p = 1};
    sy_experiment_result_t r = run(&x);
    sy_moments_t mc = {.mean = 10, .sd = sd_c, .n = 1000};
    sy_moments_t mt = {.mean = 11, .sd = sd_t, .n = 1000};
    sy_welch_t w;
    assert_int_equal(sy_stats_welch(&mc, &mt, SY_ALT_TWO_SIDED, 0.95, &w, NULL), 0);
    assert_close(r.arms[1].statistic, w.t, 1e-12, 0);
    assert_close(r.arms[1].p_value, w.p_value, 1e-12, 1e-300);
    assert_close(r.arms[1].lift, 0.1, 1e-12, 0);
    assert_true(r.arms[1].has_sd && !r.arms[1].has_bayes && r.arms[1].has_power);
    assert_int_equal(r.decision, SY_DECISION_PROMOTE);
    /* three units an arm, [5, 5, 5] against [6, 7, 8]: Welch's p 0.074 and its difference's
     * interval [-0.48, 4.48] hold 0; so must the lift's (t with 2 df, not the normal's) */
    x.in.safety.min_sample_per_variant = 1;
    x.arms[0] = (sy_arm_counts_t){.weight = 50, .units = 3, .value_mean = 5, .seq_p = 1};
    x.arms[1] =
        (sy_arm_counts_t){.weight = 50, .units = 3, .value_mean = 7, .value_sd = 1, .seq_p = 1};
    r = run(&x);
    assert_true(r.arms[1].diff_ci_low < 0 && r.arms[1].p_value > 0.05);
    assert_true(r.arms[1].lift_ci_low < 0 && r.arms[1].lift_ci_high > 0.8);
    assert_close(r.arms[1].lift_ci_low, r.arms[1].diff_ci_low / 5, 1e-9, 0);
}

static void sequential_confidence_comes_from_the_always_valid_p(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.sequential = true;
    sy_experiment_result_t r = run(&x);
    assert_true(r.arms[1].has_seq);
    assert_close(r.arms[1].p_adjusted, r.arms[1].always_valid_p, 1e-15, 0);
    assert_true(r.arms[1].always_valid_p >= r.arms[1].p_value);
    /* the running minimum never goes up */
    x.arms[1].seq_p = 1e-9;
    double p;
    x.in.arms = x.arms;
    assert_int_equal(sy_experiment_seq_look(&x.in, 1, &p, NULL), 0);
    assert_true(p <= 1e-9);
    /* and with an explicit mixing variance the look is the mSPRT's */
    x.arms[1].seq_p = 1;
    x.in.tau_squared = 1e-4;
    sy_seq_cfg_t cfg = {.tau_squared = 1e-4, .alpha = 0.05, .gb_tuning = 5000};
    sy_binom_t c = {500, 5000}, t = {600, 5000};
    sy_seq_look_t look;
    assert_int_equal(sy_stats_seq_look_prop(&cfg, &c, &t, 1, &look, NULL), 0);
    assert_int_equal(sy_experiment_seq_look(&x.in, 1, &p, NULL), 0);
    assert_close(p, look.always_valid_p, 1e-15, 0);
}

static void latency_guardrail_is_non_inferiority(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.latency_guardrail = true;
    x.in.max_latency_increase_pct = 10;
    /* nothing measured: the guardrail blocks the winner */
    sy_experiment_result_t r = run(&x);
    assert_false(r.arms[1].latency_measured);
    assert_int_equal(r.decision, SY_DECISION_CONTINUE);
    assert_true(said(&r, "latency is not measured yet"));
    /* 5000 latencies each, mean 100 vs 102 ms, sd 10: +2 %, interval well under +10 % */
    double sd = 10;
    x.arms[0].latency_n = x.arms[1].latency_n = 5000;
    x.arms[0].latency_mean = 100;
    x.arms[1].latency_mean = 102;
    x.arms[0].latency_sd = x.arms[1].latency_sd = sd;
    r = run(&x);
    assert_true(r.arms[1].latency_measured && r.arms[1].latency_ok);
    assert_close(r.arms[1].latency_increase, 0.02, 1e-12, 0);
    assert_true(r.arms[1].latency_increase_ci_high < 0.1);
    assert_int_equal(r.decision, SY_DECISION_PROMOTE);
    assert_true(said(&r, "and the latency guardrail"));
    /* mean 120 ms: +20 %, interval wholly above +10 %: harmful, terminate */
    x.arms[1].latency_mean = 120;
    r = run(&x);
    assert_true(r.arms[1].latency_failed);
    assert_int_equal(r.arms[1].verdict, SY_VERDICT_HARMFUL);
    assert_int_equal(r.decision, SY_DECISION_TERMINATE);
    assert_true(said(&r, "over the +10% guardrail"));
    /* +10 % on the nose with a wide interval: unsettled, neither passes nor fails */
    x.arms[0].latency_n = x.arms[1].latency_n = 10;
    x.arms[0].latency_mean = 100;
    x.arms[1].latency_mean = 110;
    x.arms[0].latency_sd = x.arms[1].latency_sd = 20;
    r = run(&x);
    assert_true(r.arms[1].latency_measured);
    assert_false(r.arms[1].latency_ok || r.arms[1].latency_failed);
    assert_int_equal(r.decision, SY_DECISION_CONTINUE);
    /* without the guardrail latency changes nothing */
    x.in.latency_guardrail = false;
    assert_int_equal(run(&x).decision, SY_DECISION_PROMOTE);
}

static void manual_approval_is_said(void **state)
{
    (void)state;
    struct exp x = ab();
    x.in.safety.manual_approval = true;
    sy_experiment_result_t r = run(&x);
    assert_int_equal(r.decision, SY_DECISION_PROMOTE);
    assert_true(said(&r, "manual approval"));
}

static void a_treatment_without_units_is_not_compared(void **state)
{
    (void)state;
    struct exp x = ab();
    x.arms[0] = (sy_arm_counts_t){.weight = 50, .seq_p = 1};
    x.arms[1] = (sy_arm_counts_t){.weight = 50, .seq_p = 1};
    sy_experiment_result_t r = run(&x);
    assert_false(r.has_srm);
    assert_false(r.arms[1].compared);
    assert_int_equal(r.arms[1].test_error, SY_ENOTRIALS);
    assert_int_equal(r.decision, SY_DECISION_CONTINUE);
    assert_true(said(&r, "not comparable"));
}

static void refuses_malformed_input(void **state)
{
    (void)state;
    sy_experiment_result_t r;
    sy_err_t err = {0};
    struct exp x = ab();
    x.in.arms = x.arms;
    x.arms[1].conversions = 5001;
    assert_int_equal(sy_experiment_analyze(&x.in, &r, &err), -EINVAL);
    x = ab();
    x.in.arms = x.arms;
    x.in.n_arms = 1;
    assert_int_equal(sy_experiment_analyze(&x.in, &r, &err), -EINVAL);
    assert_string_equal(err.field, "variants");
    x.in.n_arms = 2;
    x.in.control = 2;
    assert_int_equal(sy_experiment_analyze(&x.in, &r, &err), -EINVAL);
    x.in.control = 0;
    x.in.safety.min_confidence = 1;
    assert_int_equal(sy_experiment_analyze(&x.in, &r, &err), -EINVAL);
    assert_string_equal(err.field, "min_confidence");
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(promotes_a_clear_winner_with_the_eligibility_numbers),
        cmocka_unit_test(always_valid_intervals_cover_at_every_look),
        cmocka_unit_test(a_negative_control_mean_has_a_lift),
        cmocka_unit_test(runtime_boundary),
        cmocka_unit_test(min_sample_boundary),
        cmocka_unit_test(confidence_boundary),
        cmocka_unit_test(improvement_boundary),
        cmocka_unit_test(error_rate_boundary_and_harm_terminates),
        cmocka_unit_test(srm_blocks_a_winner),
        cmocka_unit_test(units_in_a_zero_weight_variant_are_a_mismatch),
        cmocka_unit_test(holm_decides_which_treatment_of_three_may_win),
        cmocka_unit_test(significantly_worse_terminates),
        cmocka_unit_test(flat_and_fully_sized_is_futile),
        cmocka_unit_test(power_waits_for_both_arms_minimum),
        cmocka_unit_test(mean_metric_uses_welch),
        cmocka_unit_test(sequential_confidence_comes_from_the_always_valid_p),
        cmocka_unit_test(latency_guardrail_is_non_inferiority),
        cmocka_unit_test(manual_approval_is_said),
        cmocka_unit_test(a_treatment_without_units_is_not_compared),
        cmocka_unit_test(refuses_malformed_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
