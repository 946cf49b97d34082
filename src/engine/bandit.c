/* bandit.c - experiments that run as multi-armed bandits: their weights follow Thompson
 * sampling over the primary metric (core/bandit.h) on a cadence, each re-weighting one
 * allocation change like a step (flag split, experiment row, history row "bandit", audit
 * event "experiment.bandit_update", notification "bandit_update", all in one transaction:
 * sy_exp_change); see engine.h ("experiments") and docs/api.md "Bandits".
 *
 * During the burn-in (burn_in_hours from the start) the arms keep their equal starting
 * weights. The first look is at its end, the next ones update_minutes apart; a look whose
 * weights are the current ones changes nothing. The leader's tick runs them (many nodes:
 * sync.c), on the engine's clock (simulate's and the tests' fake one too).
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bandit.h"
#include "engine/experiment_int.h"

_Static_assert(SY_BANDIT_MAX_ARMS >= SY_EXP_MAX_ARMS, "a bandit holds every variant");

int64_t sy_exp_bandit_burn_in_until(const struct experiment *e)
{
    if (!e->started_ms)
        return 0;
    return e->started_ms + (int64_t)llround(e->bandit.burn_in_hours * 3.6e6);
}

/* The arms of `e` as core/bandit.h takes them, from its aggregates. */
static void arms_of(const struct experiment *e, sy_bandit_arm_t *arms)
{
    for (size_t i = 0; i < e->n_arms; i++) {
        const struct agg *a = &e->arms[i].a;
        sy_moments_t v = sy_welford_moments(&a->value);
        arms[i] = (sy_bandit_arm_t){.units = a->units,
                                    .conversions = a->conversions,
                                    .mean = v.n ? v.mean : 0,
                                    .variance = v.sd * v.sd};
    }
}

/* Each variant's probability of being the best into p[], the most likely into *best. */
static int prob_best(const struct experiment *e, double *p, int *best, sy_err_t *err)
{
    sy_bandit_arm_t arms[SY_EXP_MAX_ARMS];
    arms_of(e, arms);
    int rc = sy_bandit_prob_best(e->metric, arms, e->n_arms, p, err);
    if (rc < 0)
        return rc;
    *best = 0;
    for (size_t i = 1; i < e->n_arms; i++)
        if (p[i] > p[*best])
            *best = (int)i;
    return 0;
}

static double regret_of(const struct experiment *e)
{
    sy_bandit_arm_t arms[SY_EXP_MAX_ARMS];
    arms_of(e, arms);
    return sy_bandit_regret(e->metric, arms, e->n_arms);
}

/* Whether the bandit of `e` looks on its own: it runs (not promoted or ended). */
static bool looks(const struct experiment *e)
{
    return e->bandit.on && e->state == RUNNING;
}

/* When its next look is due: its burn-in's end, then update_minutes after the last. */
static int64_t due_at(const struct experiment *e)
{
    return e->bandit_due_ms ? e->bandit_due_ms : sy_exp_bandit_burn_in_until(e);
}

void sy_exp_bandit_resume(sy_engine_t *eng)
{
    int64_t now = sy_engine_now_ms(eng);
    for (size_t i = 0; i < eng->x->n; i++) {
        struct experiment *e = eng->x->all[i];
        int64_t base = sy_exp_bandit_burn_in_until(e), every = e->bandit.update_minutes * 60000;
        if (!looks(e) || e->bandit_due_ms || every <= 0 || now <= base)
            continue; /* in its burn-in: the first look at its end */
        for (size_t k = e->n_changes; k-- > 0;)
            if (e->changes[k].bandit) {
                base = e->changes[k].at_ms > base ? e->changes[k].at_ms : base;
                break;
            }
        /* the first point of its cadence after now (at now: due now) */
        e->bandit_due_ms = base + (now - base + every - 1) / every * every;
        if (e->bandit_due_ms == base)
            e->bandit_due_ms += every;
    }
}

int sy_exp_bandit_view(const sy_engine_t *eng, const struct experiment *e, sy_exp_results_t *x,
                       sy_err_t *err)
{
    x->has_bandit = e->bandit.on;
    if (!e->bandit.on)
        return 0;
    x->bandit = e->bandit;
    x->bandit_burn_in_until_ms = sy_exp_bandit_burn_in_until(e);
    int64_t now = sy_engine_now_ms(eng), due = due_at(e);
    x->bandit_next_update_ms = !looks(e) ? 0 : due < now ? now : due; /* past: the next tick */
    x->bandit_updates = 0;
    for (size_t k = 0; k < e->n_changes; k++)
        x->bandit_updates += e->changes[k].bandit;
    x->bandit_regret = regret_of(e);
    return prob_best(e, x->bandit_p, &x->bandit_best, err);
}

/* {variant: value} of the n doubles `v` (new reference, NULL when out of memory). */
static json_t *by_variant(const struct experiment *e, const double *v)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < e->n_arms; i++)
        if (json_object_set_new(o, e->arms[i].key, json_real(v[i])) < 0)
            o = (json_decref(o), NULL);
    return o;
}

/* One look of `e`: its weights by its posteriors now, moved to when they differ. */
static int look(sy_engine_t *eng, struct experiment *e, sy_err_t *err)
{
    double p[SY_EXP_MAX_ARMS];
    int best;
    int64_t w[SY_EXP_MAX_ARMS];
    int rc = prob_best(e, p, &best, err);
    if (rc == 0)
        rc = sy_bandit_weights(p, e->n_arms, e->bandit.min_weight_pct, w, err);
    if (rc < 0)
        return rc;
    bool same = true;
    for (size_t i = 0; i < e->n_arms; i++)
        same &= w[i] == e->arms[i].weight;
    if (same)
        return 0;
    /* "winner": the arm the health monitor watches after it (as after a step) */
    json_t *detail =
        json_pack("{sssosfsIsI}", "winner", e->arms[best].key, "probability_best", by_variant(e, p),
                  "regret", regret_of(e), "min_weight_pct", (json_int_t)e->bandit.min_weight_pct,
                  "update_minutes", (json_int_t)e->bandit.update_minutes);
    if (!detail)
        return sy_eng_oom(err);
    rc = sy_exp_change(eng, NULL, e, w, e->state, best, "bandit", SY_CHANGE_RESULTS,
                       "experiment.bandit_update", detail, NULL, NULL, err);
    json_decref(detail);
    return rc;
}

void sy_eng_bandit_tick(sy_engine_t *eng, int64_t now_ms)
{
    for (size_t i = 0; i < eng->x->n; i++) {
        struct experiment *e = eng->x->all[i];
        if (!looks(e) || now_ms < due_at(e))
            continue;
        int64_t every = e->bandit.update_minutes * 60000, due = due_at(e);
        /* on its cadence; a look more than a period late runs again a period from now */
        e->bandit_due_ms = due + every > now_ms ? due + every : now_ms + every;
        if (sy_engine_kill_switch_engaged(eng, e->ws, NULL, 0))
            continue; /* the kill switch holds every automatic change */
        sy_err_t err = {0};
        /* a failure (another node's change met, the store) leaves the weights as they
         * were: the next look tries again */
        (void)look(eng, e, &err);
    }
}
