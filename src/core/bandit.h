/* bandit.h - Thompson sampling's allocation: the probability that each arm is the best
 * under its posterior, the weights that follow from it with a floor per arm, and the
 * cumulative regret estimate (docs/stats.md, "Bandits").
 *
 * Posteriors: a conversion arm is Beta(1 + conversions, 1 + units - conversions) (a
 * uniform prior); a mean arm is N(mean, sd^2 / units) (the normal approximation), and an
 * arm with fewer than 2 units has a wide prior instead: N(pooled mean, pooled sd^2), the
 * information of one unit, from the arms that have 2 or more (every arm alike when none
 * has: each is then best with 1/n).
 *
 * P(arm i is best) = integral f_i(x) prod_{j != i} F_j(x) dx, computed by quadrature, not
 * by drawing: the union of a grid of SY_BANDIT_GRID points over each arm's
 * mean +- 10 sd (within its support), the trapezoid rule, each F_j started at its exact
 * value where its own grid begins and carried by the trapezoid of f_j between. The
 * probabilities are then scaled to sum to 1. Deterministic (no seed), within 1e-3 of the
 * exact value (tests/unit/core/test_bandit.c checks the closed forms), and cheap: n^2 *
 * SY_BANDIT_GRID densities, about 0.1 ms for 4 arms, where Monte Carlo needs some 40,000
 * draws an arm for +-0.005.
 *
 * Pure: no clock, no allocation, no I/O; safe from any thread.
 */
#ifndef SY_CORE_BANDIT_H
#define SY_CORE_BANDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/experiment.h"

#define SY_BANDIT_MAX_ARMS 16
#define SY_BANDIT_GRID     200 /* quadrature points over each arm's posterior */

/* What the posterior of one arm is made from. */
typedef struct sy_bandit_arm {
    int64_t units;       /* distinct units exposed */
    int64_t conversions; /* conversion: units with a success (0 to units) */
    double mean;         /* mean: the mean of the units' values */
    double variance;     /* mean: their sample variance (n - 1) */
} sy_bandit_arm_t;

/* The probability that each of the `n` arms (2 to SY_BANDIT_MAX_ARMS) is the best (the
 * highest rate or mean) into p[n], summing to 1. -EINVAL naming "arms" for n out of
 * range, or an arm whose counts contradict (conversions above units, negative counts, a
 * mean or variance not finite, a negative variance); p untouched then. */
int sy_bandit_prob_best(sy_metric_t metric, const sy_bandit_arm_t *arms, size_t n, double *p,
                        sy_err_t *err);

/* Whole percentage points from the probabilities p[n] (any non-negative numbers with a
 * positive sum; scaled to 1): floor_pct + (100 - n * floor_pct) * p_i each, rounded down,
 * the points left over to the largest remainders (the earlier arm on a tie). Every weight
 * is at least floor_pct; they sum to 100. -EINVAL naming "min_weight_pct" when
 * n * floor_pct > 100 or floor_pct < 0, naming "p" for probabilities that are not. */
int sy_bandit_weights(const double *p, size_t n, int64_t floor_pct, int64_t *weights,
                      sy_err_t *err);

/* The posterior mean of each arm into mean[n]: (1 + conversions) / (2 + units), or the
 * mean of the values (the wide prior's for an arm with fewer than 2 units). Arms as
 * sy_bandit_prob_best takes them (not checked again). */
void sy_bandit_means(sy_metric_t metric, const sy_bandit_arm_t *arms, size_t n, double *mean);

/* The cumulative regret estimate: sum over arms of units_a * (best posterior mean -
 * posterior mean of a), in conversions (or value units for the mean metric): what the
 * units sent to arms that are not the best cost, judged by what is known now. */
double sy_bandit_regret(sy_metric_t metric, const sy_bandit_arm_t *arms, size_t n);

#endif
