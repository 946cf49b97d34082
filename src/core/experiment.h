/* experiment.h - the pure rules that judge an experiment: may its winner be promoted?
 *
 * No I/O, no clock: callers pass the counts, the runtime and the settings. Thresholds are
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

/* The safety settings of an experiment (the specification's defaults below). */
typedef struct sy_safety {
    int64_t min_sample_per_variant; /* trials each arm needs */
    double min_confidence;          /* 1 - two-sided p of the pooled z-test, in (0, 1) */
    double min_improvement_pct;     /* relative lift of the treatment's rate, in % */
    double min_runtime_hours;
    double max_error_rate; /* of the treatment, 0..1 */
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
 * and fails it too. Returns 0, or the z-test's error (-EINVAL for bad counts or settings,
 * SY_ENOTRIALS for an arm without trials, SY_EZEROVAR for rates 0 and 1) with `err`. */
int sy_promotion_eligibility(const sy_promotion_in_t *in, const sy_safety_t *s, sy_promotion_t *out,
                             sy_err_t *err);

#endif
