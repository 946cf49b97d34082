/* curves.c - promotion curves shared by engines opened one after another (engine.h's
 * sy_engine_curves_t): a table of (plan, n_max) -> curve, fixed in size, where an engine
 * that finds its plan takes the curve instead of computing it again.
 *
 * A curve is a function of its plan and n_max alone (core/stats.c seeds each path by its
 * index), so a curve taken from here is the one sy_stats_rule_curve would have made: the
 * table changes how long results take, never what they say. Which entry gives way when a
 * neighbourhood is full only changes how often a curve is computed again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "engine/experiment_int.h"

#define PROBES 4 /* slots a plan may sit in, from its hash on */

struct sy_engine_curves {
    struct power_plan *slot; /* cap entries; .has false: empty */
    size_t cap;
};

int sy_engine_curves_create(sy_engine_curves_t **out, size_t cap)
{
    *out = NULL;
    if (cap < 1)
        return -EINVAL;
    sy_engine_curves_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->slot = calloc(cap, sizeof(*c->slot)))) {
        free(c);
        return -ENOMEM;
    }
    c->cap = cap;
    *out = c;
    return 0;
}

void sy_engine_curves_free(sy_engine_curves_t *c)
{
    if (!c)
        return;
    free(c->slot);
    free(c);
}

bool sy_exp_same_plan(const sy_rule_plan_t *a, const sy_rule_plan_t *b)
{
    return a->baseline == b->baseline && a->lift == b->lift &&
           a->min_improvement == b->min_improvement && a->alpha == b->alpha &&
           a->sequential == b->sequential && a->tau_squared == b->tau_squared &&
           a->units_per_look == b->units_per_look && a->min_sample == b->min_sample &&
           a->mean == b->mean && a->sd_control == b->sd_control &&
           a->sd_treatment == b->sd_treatment && a->ratio == b->ratio && a->paths == b->paths;
}

/* The plan's first slot. Hashed field by field (a struct's padding is not its value); two
 * plans sy_exp_same_plan calls the same but with other bits (0.0 and -0.0) may hash apart:
 * then the curve is only computed twice. */
static size_t home(const sy_engine_curves_t *c, const sy_rule_plan_t *p, int64_t n_max)
{
    double d[] = {p->baseline,
                  p->lift,
                  p->min_improvement,
                  p->alpha,
                  p->tau_squared,
                  p->sd_control,
                  p->sd_treatment,
                  p->ratio,
                  (double)p->units_per_look,
                  (double)p->min_sample,
                  (double)n_max,
                  (double)p->paths + 2 * p->sequential + 4 * p->mean};
    return sy_hash_murmur3(d, sizeof(d)) % c->cap;
}

bool sy_exp_curve_find(const sy_engine_curves_t *c, const sy_rule_plan_t *plan, int64_t n_max,
                       sy_rule_curve_t *out)
{
    if (!c)
        return false;
    size_t h = home(c, plan, n_max);
    for (size_t k = 0; k < PROBES && k < c->cap; k++) {
        const struct power_plan *s = &c->slot[(h + k) % c->cap];
        if (s->has && s->n_max == n_max && sy_exp_same_plan(&s->plan, plan)) {
            *out = s->curve;
            return true;
        }
    }
    return false;
}

void sy_exp_curve_keep(sy_engine_curves_t *c, const sy_rule_plan_t *plan, int64_t n_max,
                       const sy_rule_curve_t *curve)
{
    if (!c)
        return;
    size_t h = home(c, plan, n_max), at = h;
    for (size_t k = 0; k < PROBES && k < c->cap; k++)
        if (!c->slot[(h + k) % c->cap].has) {
            at = (h + k) % c->cap;
            break;
        }
    c->slot[at] = (struct power_plan){.has = true, .plan = *plan, .n_max = n_max, .curve = *curve};
}
