/* experiment.h - the pure rules that judge an experiment: what do its numbers say, may
 * its winner be promoted, and should it be promoted, continued or terminated?
 *
 * No I/O, no clock, no allocation: callers pass the counts, the runtime and the settings;
 * every number comes from core/stats. Thresholds are
 * compared as ../shared/conformance/rules/README.md says the specification means them:
 * the specification's numbers are decimals that doubles do not hold exactly, so a value
 * within 1e-9 of a threshold counts as equal to it ("x >= t" is x - t >= -1e-9).
 */
#ifndef SY_CORE_EXPERIMENT_H
#define SY_CORE_EXPERIMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/stats.h"

/* How near a threshold counts as on it. */
#define SY_RULE_EPSILON 1e-9

/* x >= t, and x <= t, with SY_RULE_EPSILON. */
bool sy_rule_ge(double x, double t);
bool sy_rule_le(double x, double t);

/* How the auto-promotion check moves an eligible winner's traffic. */
typedef enum sy_promotion_mode {
    SY_PROMOTION_STEPS, /* guarded steps (core/allocation.h): the traffic-allocation
                           specification's, and the default */
    SY_PROMOTION_FULL,  /* to 100 % at once: the auto-promotion specification's */
} sy_promotion_mode_t;

/* The safety settings of an experiment (the specification's defaults below). */
typedef struct sy_safety {
    int64_t min_sample_per_variant; /* trials each arm needs */
    double min_confidence;          /* 1 - two-sided p of the pooled z-test, in (0, 1) */
    double min_improvement_pct;     /* relative lift of the treatment's rate, in % */
    double min_runtime_hours;
    double max_error_rate;   /* of the treatment, 0..1 */
    bool manual_approval;    /* a promotion waits for a person (the decision says so) */
    double planned_lift_pct; /* the true relative lift power is planned for, in %; 0: twice
                                min_improvement_pct (the gate alone holds half the time at
                                a true lift equal to it) */
    /* what the auto-promotion check does with an eligible winner (steps by default) */
    sy_promotion_mode_t promotion;
} sy_safety_t;

#define SY_SAFETY_DEFAULTS                                                                         \
    ((sy_safety_t){.min_sample_per_variant = 1000,                                                 \
                   .min_confidence = 0.95,                                                         \
                   .min_improvement_pct = 5.0,                                                     \
                   .min_runtime_hours = 48,                                                        \
                   .max_error_rate = 0.05})

/* Checks that `s` holds sensible settings: -EINVAL with `err` naming the field if not. */
int sy_safety_check(const sy_safety_t *s, sy_err_t *err);

/* What promotion eligibility looks at: one treatment against control. */
typedef struct sy_promotion_in {
    sy_binom_t control, treatment;
    double runtime_hours;        /* since the experiment started */
    double treatment_error_rate; /* 0..1 */
} sy_promotion_in_t;

typedef struct sy_promotion {
    bool eligible; /* all five checks hold */
    /* the checks */
    bool min_sample, min_confidence, min_improvement, min_runtime, max_error_rate;
    double z;          /* pooled two-proportion z, treatment minus control */
    double confidence; /* 2 Phi(|z|) - 1 */
    bool has_improvement;
    double improvement_pct; /* 100 (p_t / p_c - 1); undefined when p_c = 0 */
} sy_promotion_t;

/* The five safety checks of auto-promotion. A treatment with no measurable improvement
 * (control rate 0) fails min_improvement; a significantly worse one has high confidence
 * and fails it too (a lift of 0 or below never passes it, even at a minimum of 0 %). Returns 0, or
 * the z-test's error (-EINVAL for bad counts or settings, SY_ENOTRIALS for an arm without trials,
 * SY_EZEROVAR for rates 0 and 1) with `err`. */
int sy_promotion_eligibility(const sy_promotion_in_t *in, const sy_safety_t *s, sy_promotion_t *out,
                             sy_err_t *err);

/* ---- analysis of an A/B/n experiment ------------------------------------------------ */

#define SY_EXP_MAX_ARMS     16    /* variants of one experiment, control included */
#define SY_EXP_MAX_REASONS  24    /* sentences a decision gives */
#define SY_EXP_REASON_LEN   200   /* bytes of one sentence, NUL included */
#define SY_EXP_TARGET_POWER 0.8   /* the power sample sizes are planned for */
#define SY_EXP_SRM_ALPHA    0.001 /* SRM threshold (GrowthBook, Eppo) */
#define SY_EXP_GB_TUNING    5000  /* GrowthBook's sequential tuning parameter S */
#define SY_EXP_CI_LEVEL     0.95  /* level of every interval reported */

typedef enum sy_metric {
    SY_METRIC_CONVERSION, /* share of units with a successful outcome: z-test */
    SY_METRIC_MEAN,       /* mean per unit of the outcomes' values: Welch's t-test */
} sy_metric_t;

/* One variant's aggregates, as the engine keeps them. */
typedef struct sy_arm_counts {
    double weight;        /* intended share, any positive scale (0: receives no traffic) */
    int64_t units;        /* distinct units exposed */
    int64_t conversions;  /* units with a successful outcome, <= units */
    int64_t errors;       /* units with an error, <= units */
    double value_mean;    /* mean over units of each unit's total value (mean metric) */
    double value_sd;      /* their sample sd (ddof = 1; 0 below 2 units): sy_welford_t */
    double value_mean_lo; /* sy_moments_t's mean_lo (0: not known) */
    double seq_p;         /* always-valid p so far (1 before the first look) */
    int64_t latency_n;    /* events that carried a latency (latency guardrail) */
    double latency_mean;  /* their mean, ms */
    double latency_sd;    /* their sample sd, ms */
    /* CUPED (sy_experiment_in_t.cuped): the co-moments over its units of (covariate,
     * outcome), the outcome the metric's (converted 0/1, or the unit's total value) */
    sy_comoments_t cov;
    int64_t covariates; /* of its units, those whose exposure carried a covariate */
    double cuped_seq_p; /* the CUPED-adjusted always-valid p so far (1 before a look) */
} sy_arm_counts_t;

typedef struct sy_experiment_in {
    sy_metric_t metric;
    size_t n_arms;  /* 2..SY_EXP_MAX_ARMS */
    size_t control; /* index of the control arm */
    const sy_arm_counts_t *arms;
    const char *const *names; /* the variants' keys, for the reasons (borrowed) */
    sy_safety_t safety;
    double runtime_hours;   /* since start; 0 for a draft */
    bool sequential;        /* confidence from the always-valid p-value (mSPRT) */
    double tau_squared;     /* mSPRT mixing variance; 0: (min improvement x control level)^2 */
    bool latency_guardrail; /* a treatment may not be slower than control by more */
    double max_latency_increase_pct; /* than this, relative, in % (non-inferiority) */
    /* The anytime-valid SRM test over the experiment's life (sy_srm_seq_t), kept by the
     * caller across looks; without it the chi-square decides, checked once. */
    bool has_srm_seq;
    double srm_seq_p;     /* its running p */
    double srm_seq_log_e; /* its log e-value now */
    double look_hours;    /* hours between the looks that decide (the auto-promotion checks);
                             0: one */
    /* The promotion curves of the rule's power (sy_experiment_rule_plan), by arm, when the
     * caller keeps them (the engine recomputes them hourly: a sequential one costs ~10 ms);
     * an entry NULL: no plan for that arm. NULL: computed here, at every call. */
    const sy_rule_curve_t *const *curves;
    /* CUPED: each treatment is also compared adjusted by the pre-period covariate (theta
     * pooled over the arms, sy_stats_cuped), and the decision reads the adjusted figures
     * where they can be computed (the raw ones otherwise). */
    bool cuped;
} sy_experiment_in_t;

/* What a treatment's numbers say, as the decision reads them. */
typedef enum sy_verdict {
    SY_VERDICT_PENDING, /* not enough evidence either way yet */
    SY_VERDICT_WINNER,  /* all five safety checks pass */
    SY_VERDICT_WORSE,   /* significantly worse than control on the primary metric */
    SY_VERDICT_HARMFUL, /* enough units, and an error rate above max_error_rate, or a
                           latency increase surely above the guardrail's maximum */
    SY_VERDICT_FUTILE,  /* sized for the minimum improvement, runtime done, not better */
} sy_verdict_t;

/* A treatment's CUPED-adjusted comparison, beside the raw one. */
typedef struct sy_cuped_arm {
    bool has;     /* computed (CUPED on and the data allow it) */
    int error;    /* why not: SY_ENOTRIALS, SY_ETOOFEW, SY_EZEROVAR (sy_stats_cuped) */
    sy_cuped_t c; /* the fixed-horizon figures (t test with N - k - 1 df) */
    /* the intervals in use: always-valid with `sequential` (the adjusted estimate -+ its se
     * times sy_stats_cs_multiplier), else c's fixed-horizon ones */
    bool always_valid;
    double diff_ci_low, diff_ci_high;
    double lift_ci_low, lift_ci_high;
    bool has_seq;          /* sequential: the adjusted always-valid p */
    double always_valid_p; /* running minimum, its own (sy_arm_counts_t.cuped_seq_p) */
    double p_adjusted;     /* Holm over the treatments' adjusted p's (sequential or not) */
    double confidence;     /* 1 - p_adjusted: what min_confidence is checked against */
} sy_cuped_arm_t;

typedef struct sy_arm_result {
    /* the variant on its own */
    int64_t n;
    bool has_level; /* false with no units */
    double level;   /* conversion rate, or mean value per unit */
    bool has_sd;    /* mean metric with n >= 2 */
    double sd;      /* per-unit sd of the value, ddof = 1 */
    /* the level's interval that matches the test in use: with `sequential` always-valid
     * (the level -+ se * sy_stats_cs_multiplier of the arm's units), else the fixed-horizon
     * normal one at SY_EXP_CI_LEVEL; se is the Wald one for a rate, sd / sqrt(n) for a
     * mean. has_level_ci false with fewer than 2 units (a mean) or no units (a rate). */
    bool has_level_ci;
    double level_ci_low, level_ci_high;
    double error_rate; /* errors / n (0 with no units) */
    /* against control: treatments only, when `compared` */
    bool compared;
    int test_error;   /* why not compared: the test's code (SY_ENOTRIALS, ...) */
    double statistic; /* z (conversion) or t (mean) */
    double p_value;   /* two-sided, fixed horizon */
    double diff;      /* treatment minus control */
    /* The intervals that match the test in use: with `sequential`, always-valid (the
     * confidence sequence of sy_stats_cs_multiplier, good at every look at once), else
     * fixed-horizon (good when read once). The fixed-horizon ones are always kept too. */
    bool always_valid;
    double diff_ci_low, diff_ci_high;
    double diff_ci_fixed_low, diff_ci_fixed_high;
    bool has_lift; /* false when the control level is 0 */
    double lift;   /* diff / |control level| (a negative mean: relative to its size) */
    double lift_ci_low, lift_ci_high;
    double lift_ci_fixed_low, lift_ci_fixed_high;
    bool has_seq; /* sequential: the always-valid p-value */
    double always_valid_p;
    double p_adjusted; /* Holm over the treatments of the p used (sequential or not) */
    double confidence; /* 1 - p_adjusted: what min_confidence is checked against */
    bool has_bayes;    /* conversion only */
    double chance_to_beat_control;
    double expected_loss; /* E[max(control - treatment, 0)] */
    /* The rule's power (sy_rule_plan_t): how likely promotion is by the units so far if
     * the true lift is `planned_lift`, and the units both arms need for the target power
     * (has_sample false: the rule does not reach it, as when the planned lift is at the
     * gate). Needs a control level (a rate in (0, 1), or a mean not 0 and an sd). */
    bool has_power;
    double planned_lift; /* relative */
    double power;
    bool has_sample;
    int64_t n_needed_control, n_needed_treatment;
    double power_needed;   /* the chance by then: the target, or more where a minimum (sample,
                              runtime) makes it jump past it */
    sy_promotion_t checks; /* the five safety checks */
    /* the latency guardrail (when asked): the relative increase of the mean latency over
     * control with its 95 % interval. It passes once the interval's top is at or below
     * the maximum, fails once its bottom is above it, and is unsettled in between. */
    bool has_latency; /* this arm's latency mean (>= 1 latency) */
    double latency_mean, latency_sd;
    bool latency_measured; /* both arms have 2 or more latencies and control's mean > 0 */
    double latency_increase, latency_increase_ci_low, latency_increase_ci_high; /* relative */
    bool latency_ok;      /* passes: the guardrail does not block promotion */
    bool latency_failed;  /* fails: the treatment is surely too slow */
    sy_cuped_arm_t cuped; /* treatments, with CUPED on */
    sy_verdict_t verdict;
} sy_arm_result_t;

typedef enum sy_decision {
    SY_DECISION_CONTINUE,
    SY_DECISION_PROMOTE,
    SY_DECISION_TERMINATE,
} sy_decision_t;

/* "continue", "promote", "terminate": the name the API and the logs give a decision. */
const char *sy_decision_name(sy_decision_t d);

typedef struct sy_experiment_result {
    bool has_srm;         /* false before any unit */
    sy_srm_t srm;         /* chi-square over every variant, against the weights now */
    bool srm_zero_weight; /* units reached a variant of weight 0: a mismatch by itself */
    bool srm_alarm;       /* what the decision reads: the sequential test's p < SY_EXP_SRM_ALPHA
                             when it runs (the chi-square, peeked at every look, would raise
                             false alarms), else the chi-square's; or the zero weight */
    sy_arm_result_t arms[SY_EXP_MAX_ARMS];
    bool cuped;             /* CUPED was on */
    bool has_theta;         /* its theta could be estimated */
    double theta;           /* pooled over the arms (sy_stats_cuped_theta) */
    int64_t with_covariate; /* units whose exposure carried a covariate, all arms */
    sy_decision_t decision;
    int winner;    /* promote: the arm to promote; else -1 */
    int candidate; /* the best treatment so far (the winner when there is one), -1 none */
    size_t n_reasons;
    char reasons[SY_EXP_MAX_REASONS][SY_EXP_REASON_LEN]; /* plain sentences, in order */
} sy_experiment_result_t;

/* The plan of treatment `arm`'s promotion curve, up to *n_max control units: the rule as
 * the analysis applies it (the test in use at Holm's first step, read at every look of
 * `look_hours` at the traffic so far, at most 256 of them; the gate; min_sample and
 * min_runtime), for the planned lift at the levels and sds seen so far. False when there is none
 * (no control level yet, no planned lift, a rate of 0 or 1). */
bool sy_experiment_rule_plan(const sy_experiment_in_t *in, size_t arm, sy_rule_plan_t *plan,
                             int64_t *n_max);

/* The results of an experiment: every variant's numbers, each treatment against control
 * (lift with intervals, p-values, always-valid p, Holm, Bayesian chance and loss, power),
 * SRM over all variants, then sy_experiment_decide. -EINVAL (with `err`) for malformed
 * input: a bad arm count or control, counts that contradict each other, bad settings. A
 * treatment whose test cannot run (no units yet) is reported as not compared. */
int sy_experiment_analyze(const sy_experiment_in_t *in, sy_experiment_result_t *out, sy_err_t *err);

/* The decision rule over analysed numbers (r->arms filled, verdicts included):
 *  - an SRM alarm (srm_alarm) blocks everything: continue, with no winner;
 *  - else promote when a treatment is a winner (all five checks, and the latency
 *    guardrail passed when there is one); with several, the one with the largest lift;
 *  - else terminate when every treatment is worse, harmful or futile;
 *  - else continue, saying what each treatment still lacks.
 * Fills decision, winner, candidate and reasons. */
void sy_experiment_decide(const sy_experiment_in_t *in, sy_experiment_result_t *r);

/* One look of the mixture SPRT for treatment `arm` against control: the new running
 * minimum of the always-valid p into *p (in->arms[arm].seq_p is the previous one). A look
 * that cannot be taken yet (an empty arm, no variance) leaves it unchanged. */
int sy_experiment_seq_look(const sy_experiment_in_t *in, size_t arm, double *p, sy_err_t *err);

/* As sy_experiment_seq_look, for the CUPED-adjusted difference (its estimate and OLS
 * variance, the same mixture): the new running minimum into *p from
 * in->arms[arm].cuped_seq_p. A look that cannot be taken leaves it unchanged. */
int sy_experiment_cuped_look(const sy_experiment_in_t *in, size_t arm, double *p, sy_err_t *err);

#endif
