/* experiment.c - promotion eligibility; see experiment.h. */
#include "core/experiment.h"

#include <math.h>

bool sy_rule_ge(double x, double t)
{
    return x - t >= -SY_RULE_EPSILON;
}

bool sy_rule_le(double x, double t)
{
    return t - x >= -SY_RULE_EPSILON;
}

int sy_safety_check(const sy_safety_t *s, sy_err_t *err)
{
    if (s->min_sample_per_variant < 1)
        return sy_err_set(err, -EINVAL, "min_sample_per_variant", "must be at least 1");
    if (!(s->min_confidence > 0 && s->min_confidence < 1))
        return sy_err_set(err, -EINVAL, "min_confidence", "must be between 0 and 1 (exclusive)");
    if (!(s->min_improvement_pct >= 0 && s->min_improvement_pct <= 1e6))
        return sy_err_set(err, -EINVAL, "min_improvement_pct",
                          "must be a percentage of at least 0");
    if (!(s->min_runtime_hours >= 0 && s->min_runtime_hours <= 24.0 * 366 * 10))
        return sy_err_set(err, -EINVAL, "min_runtime_hours", "must be 0 to 87840 hours");
    if (!(s->max_error_rate >= 0 && s->max_error_rate <= 1))
        return sy_err_set(err, -EINVAL, "max_error_rate", "must be between 0 and 1");
    return 0;
}

int sy_promotion_eligibility(const sy_promotion_in_t *in, const sy_safety_t *s, sy_promotion_t *out,
                             sy_err_t *err)
{
    *out = (sy_promotion_t){0};
    int rc = sy_safety_check(s, err);
    if (rc < 0)
        return rc;
    if (!(in->runtime_hours >= 0) || !(in->treatment_error_rate >= 0) ||
        !(in->treatment_error_rate <= 1))
        return sy_err_set(err, -EINVAL,
                          in->runtime_hours >= 0 ? "treatment_error_rate" : "runtime_hours",
                          "runtime must be >= 0 and the error rate within 0..1");
    sy_ztest_t zt;
    rc = sy_stats_ztest(&in->control, &in->treatment, SY_ALT_TWO_SIDED, true, 0.95, &zt, err);
    if (rc < 0)
        return rc;
    out->z = zt.z;
    out->confidence = 1 - zt.p_value;
    out->has_improvement = zt.has_lift;
    out->improvement_pct = zt.has_lift ? 100 * zt.lift : NAN;

    out->min_sample = in->control.trials >= s->min_sample_per_variant &&
                      in->treatment.trials >= s->min_sample_per_variant;
    out->min_confidence = sy_rule_ge(out->confidence, s->min_confidence);
    out->min_improvement = zt.has_lift && sy_rule_ge(out->improvement_pct, s->min_improvement_pct);
    out->min_runtime = sy_rule_ge(in->runtime_hours, s->min_runtime_hours);
    out->max_error_rate = sy_rule_le(in->treatment_error_rate, s->max_error_rate);
    out->eligible = out->min_sample && out->min_confidence && out->min_improvement &&
                    out->min_runtime && out->max_error_rate;
    return 0;
}
