/* monitor.c - what the engine does on its own, on its clock: the auto-promotion check
 * (each running experiment whose results say promote takes its next guarded step) and the
 * health monitor (a promoted variant that degrades goes back at once); see engine.h
 * ("auto-promotion and the timers") and docs/api.md. sy_engine_tick runs them when due: the
 * server's loop calls it every second, simulate on its fake clock.
 */
#define _DEFAULT_SOURCE
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

/* ---- auto-promotion ------------------------------------------------------------------------- */

/* Tells once per allocation of `e` (so at most once between two of its changes, however
 * often it is seen) what the engine noticed but did not change: `event` at `level`. */
static void notice(sy_engine_t *eng, const struct experiment *e, const char *event,
                   const char *level, const char *title, json_t *details)
{
    char res[KEY_MAX + 16], occurrence[48];
    snprintf(res, sizeof(res), "experiment:%s", e->key);
    snprintf(occurrence, sizeof(occurrence), "%lld.%zu", (long long)e->id, e->n_changes);
    struct sy_eng_note n = {.event = event,
                            .level = level,
                            .resource = res,
                            .occurrence = occurrence,
                            .title = title,
                            .details = details};
    sy_err_t err = {0};
    if (details) /* best effort: the next check tells again what fails to queue now */
        (void)sy_eng_notify_now(eng, e->ws, &n, &err);
    json_decref(details);
}

/* The answers' copies of keys hold every key a definition may have. */
_Static_assert(SY_EXP_KEY_MAX == KEY_MAX, "experiment keys");
_Static_assert(SY_EXP_VARIANT_MAX == VARIANT_MAX, "variant keys");

/* `src` (NULL: "") into `dst` of `cap` bytes, cut to fit (keys fit: above). */
static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* `e`'s current split. */
static void split_of(const struct experiment *e, sy_exp_split_t *s)
{
    s->n = e->n_arms;
    for (size_t i = 0; i < e->n_arms; i++) {
        copy(s->v[i].variant, sizeof(s->v[i].variant), e->arms[i].key);
        s->v[i].weight = e->arms[i].weight;
    }
}

/* `e` after a change of it: its split and state into `o`. */
static void changed(const struct experiment *e, sy_auto_outcome_t *o)
{
    o->has_split = true;
    split_of(e, &o->split);
    copy(o->state, sizeof(o->state), sy_exp_state_name(e->state));
}

/* Why `o` failed or was refused. */
static void failed(sy_auto_outcome_t *o, sy_auto_action_t action, const sy_err_t *err)
{
    o->action = action;
    if (action == SY_AUTO_REFUSED) {
        o->has_refused_by = true;
        copy(o->refused_by, sizeof(o->refused_by), err->field);
    }
    o->has_message = true;
    copy(o->message, sizeof(o->message), err->msg);
}

/* What the check does with one experiment: its report entry into `o`. */
static void auto_one(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e,
                     bool dry_run, sy_auto_outcome_t *o)
{
    sy_experiment_result_t *r = NULL;
    sy_err_t err = {0};
    *o = (sy_auto_outcome_t){.workspace = e->ws};
    copy(o->experiment, sizeof(o->experiment), e->key);
    if (sy_exp_analyse(eng, e, &r, &err) < 0) {
        failed(o, SY_AUTO_ERROR, &err);
        return;
    }
    o->has_decision = true;
    o->decision = r->decision;
    if (r->srm_alarm) {
        char title[KEY_MAX + 96];
        snprintf(title, sizeof(title), "Sample ratio mismatch in %s: promotion is blocked", e->key);
        notice(eng, e, "srm", "warning", title,
               json_pack("{sssfsfsIsf}", "experiment", e->key, "chi2", r->srm.chi2, "p_value",
                         e->srm_on ? e->srm.p : r->srm.p_value, "df", (json_int_t)r->srm.df,
                         "chi2_p_value", r->srm.p_value));
    }
    if (r->decision != SY_DECISION_PROMOTE) {
        o->action = SY_AUTO_NONE;
        if (r->n_reasons) {
            o->has_reason = true;
            copy(o->reason, sizeof(o->reason), r->reasons[0]);
        }
        free(r);
        return;
    }
    size_t w = (size_t)r->winner;
    const sy_arm_result_t *a = &r->arms[w];
    o->has_winner = true;
    copy(o->winner, sizeof(o->winner), e->arms[w].key);
    /* the kill switch holds every production change, automatic ones first */
    bool killed = sy_engine_kill_switch_engaged(eng, e->ws, NULL, 0);
    bool full = e->safety.promotion == SY_PROMOTION_FULL;
    bool held = killed || e->safety.manual_approval || dry_run;
    o->action = killed                      ? SY_AUTO_HELD_BY_KILL_SWITCH
                : e->safety.manual_approval ? SY_AUTO_AWAITING_APPROVAL
                : dry_run && full           ? SY_AUTO_WOULD_PROMOTE
                : dry_run                   ? SY_AUTO_WOULD_STEP
                                            : SY_AUTO_NONE;
    if (o->action == SY_AUTO_AWAITING_APPROVAL) {
        int64_t units = 0;
        for (size_t i = 0; i < e->n_arms; i++)
            units += r->arms[i].n;
        char title[2 * KEY_MAX + 96];
        snprintf(title, sizeof(title), "%s: %s wins and awaits manual approval", e->key,
                 e->arms[w].key);
        notice(eng, e, "awaiting_approval", "info", title,
               json_pack("{sssssfsfsI}", "experiment", e->key, "winner", e->arms[w].key,
                         "confidence", a->confidence, "improvement_pct", 100 * a->lift,
                         "sample_size", (json_int_t)units));
    }
    if (held) {
        free(r);
        return;
    }
    if (e->bandit.on && !full) { /* a step would fight the bandit: its weights are its own */
        o->has_reason = true;
        copy(o->reason, sizeof(o->reason), "runs as a bandit: no guarded steps");
        free(r);
        return;
    }
    if (full) { /* to 100 % at once (the auto-promotion specification's promotion) */
        struct promo_evidence ev = sy_exp_evidence(r, w);
        free(r);
        int rc = sy_exp_promote_full(eng, e, w, &ev, &err);
        if (rc == 0) {
            o->action = SY_AUTO_PROMOTE;
            changed(e, o);
        } else {
            failed(o, rc == SY_ECONFLICT ? SY_AUTO_REFUSED : SY_AUTO_ERROR, &err);
        }
        return;
    }
    /* The step's evidence is the results': the winner's confidence (Holm-adjusted, and
     * always valid when sequential) and its lift in %, as its checks read them (CUPED's when
     * it decides). A refusal answers the rate limit
     * (out) beside its error; a failure nothing. */
    json_t *out = NULL;
    int rc = sy_exp_step_to(eng, actor, e, w, a->checks.confidence, a->checks.improvement_pct, NULL,
                            &out, &err);
    free(r);
    if (rc == 0) {
        o->action = SY_AUTO_STEP;
        changed(e, o); /* the step's weights, as committed */
    } else {
        failed(o, out ? SY_AUTO_REFUSED : SY_AUTO_ERROR, &err);
    }
    json_decref(out);
}

/* Whether the check looks at `e`: running or promoting, in the actor's workspace. */
static bool checked(const sy_principal_t *actor, const struct experiment *e)
{
    return (!actor || e->ws == actor->workspace) && (e->state == RUNNING || e->state == PROMOTING);
}

int sy_engine_auto_promotion_check(sy_engine_t *eng, const sy_principal_t *actor, int dry,
                                   sy_auto_report_t *report, sy_err_t *err)
{
    bool dry_run = dry < 0 ? eng->timers.auto_promotion_dry_run : dry > 0;
    *report = (sy_auto_report_t){.dry_run = dry_run};
    size_t n = 0;
    for (size_t i = 0; i < eng->x->n; i++)
        n += checked(actor, eng->x->all[i]);
    /* room for every entry before anything is done: what is done is always reported */
    if (n && !(report->v = calloc(n, sizeof(*report->v))))
        return sy_eng_oom(err);
    for (size_t i = 0; i < eng->x->n && report->n < n; i++)
        if (checked(actor, eng->x->all[i]))
            auto_one(eng, actor, eng->x->all[i], dry_run, &report->v[report->n++]);
    report->at_ms = sy_engine_now_ms(eng);
    return 0;
}

/* ---- health --------------------------------------------------------------------------------- */

bool sy_exp_health_of(const struct health_counts *h, int64_t min_events, sy_health_t *out)
{
    /* samples: outcomes (what the success rate is of), or requests served where no outcome
     * comes; not every event (1,000 "events" were some 500 outcomes) */
    int64_t samples = h->outcomes > h->served ? h->outcomes : h->served;
    if (samples < min_events || samples == 0)
        return false;
    /* errors per request served (capped at 1: errors may come without their exposure) */
    int64_t requests = h->served > h->errors ? h->served : h->errors;
    *out =
        (sy_health_t){.success_rate = h->outcomes ? (double)h->successes / (double)h->outcomes : 1,
                      .error_rate = requests > 0 ? (double)h->errors / (double)requests : 0,
                      .outcomes = h->outcomes,
                      .requests = requests};
    if (h->latencies) {
        int64_t rank = (h->latencies * 95 + 99) / 100, seen = 0; /* ceil(0.95 n) */
        for (size_t b = 0; b < HEALTH_BUCKETS; b++) {
            seen += h->hist[b];
            if (seen >= rank) {
                out->has_p95 = true;
                out->p95_ms = pow(1.1, (double)(b + 1)) - 1;
                break;
            }
        }
    }
    return true;
}

void sy_exp_new_window(struct experiment *e, int winner)
{
    /* Events carry no retries: the retry rate is pushed (POST .../health), and the one pushed
     * last for the variant before its change is its baseline's. */
    bool retries = e->has_pushed && e->pushed.has_retry_rate && winner >= 0 && winner == e->watched;
    double retry_rate = e->pushed.retry_rate;
    e->watched = winner;
    e->has_baseline =
        winner >= 0 && sy_exp_health_of(&e->arms[winner].a.win, e->health_min_events, &e->baseline);
    if (e->has_baseline && retries) {
        e->baseline.has_retry_rate = true;
        e->baseline.retry_rate = retry_rate;
    }
    e->has_pushed = false;
    for (size_t i = 0; i < e->n_arms; i++)
        e->arms[i].a.win = e->arms[i].a.recent = (struct health_counts){0};
}

void sy_exp_srm_start(struct experiment *e)
{
    double w[SY_EXP_MAX_ARMS];
    for (size_t i = 0; i < e->n_arms; i++) {
        w[i] = (double)e->arms[i].defined_weight;
        e->srm_fed[i] = 0;
    }
    e->srm_on = sy_srm_mix_start(&e->srm, w, e->n_arms, NULL) == 0;
}

void sy_exp_srm_look(struct experiment *e, int64_t at_ms)
{
    if (!e->srm_on)
        return;
    int64_t more[SY_EXP_MAX_ARMS];
    for (size_t i = 0; i < e->n_arms; i++) {
        more[i] = e->arms[i].a.units - e->srm_fed[i];
        e->srm_fed[i] = e->arms[i].a.units;
    }
    if (at_ms < e->srm_grace_until)
        return;                                 /* in the grace after a change: seen, not tested */
    (void)sy_srm_mix_look(&e->srm, more, NULL); /* counts only grow: it cannot refuse */
}

void sy_exp_change_begins(struct experiment *e, const struct alloc_change *c)
{
    sy_exp_new_window(e, c->winner);
    if (!e->srm_on)
        return;
    sy_exp_srm_look(e, c->at_ms); /* the units so far were assigned by the old split */
    double w[SY_EXP_MAX_ARMS];
    for (size_t i = 0; i < e->n_arms; i++)
        w[i] = (double)c->weights[i];
    (void)sy_srm_mix_period(&e->srm, w, NULL); /* weights >= 0: it cannot refuse */
    e->srm_grace_until = c->at_ms + SY_EXP_SRM_GRACE_MS;
}

void sy_exp_replay_changes(struct experiment *e, int64_t seq)
{
    while (e->replayed_changes < e->n_changes && e->changes[e->replayed_changes].events_at < seq)
        sy_exp_change_begins(e, &e->changes[e->replayed_changes++]);
}

static json_t *health_json(bool has, const sy_health_t *h)
{
    if (!has)
        return json_null();
    json_t *o = json_pack("{sfsf}", "success_rate", h->success_rate, "error_rate", h->error_rate);
    if (o && h->has_p95)
        json_object_set_new(o, "p95_ms", json_real(h->p95_ms));
    if (o && h->has_retry_rate)
        json_object_set_new(o, "retry_rate", json_real(h->retry_rate));
    return o;
}

/* The least time between two judgements of a variant: the monitor's interval less 2 %, so
 * that the loop's tick (20 ms) does not push a judgement past the interval. 0: no monitor. */
static int64_t judged_every(const sy_engine_t *eng)
{
    int64_t every = eng->timers.health_ms;
    return every - every / 50;
}

/* The judgement of e's watched variant that one now would be: 1 in the first monitor
 * interval after it began to be watched, 2 in the second, ... Judgements are at least an
 * interval less 2 % apart (due()), and so is the count: two never share a look, and the
 * looks are never fewer than the judgements made, so the life-long guard of
 * sy_health_rollback_at holds, across restarts too. 0 without a monitor. */
static int64_t look_of(const sy_engine_t *eng, const struct experiment *e)
{
    /* the watch began with the last change begun (live: the last change; at start-up the
     * replay begins them all, in order) */
    int64_t began = e->replayed_changes ? e->changes[e->replayed_changes - 1].at_ms : 0;
    int64_t every = judged_every(eng), since = sy_engine_now_ms(eng) - began;
    return every > 0 ? 1 + (since > 0 ? since : 0) / every : 0;
}

/* What the monitor sees of `e` into *v: the watched variant, the baseline, the current
 * health, and whether it is due for a rollback (into *r when it could judge: a window of
 * enough samples for the look, sy_health_window_ready). */
static void health_view(const sy_engine_t *eng, const struct experiment *e, bool *judged,
                        sy_rollback_t *r, sy_health_view_t *v)
{
    *v = (sy_health_view_t){.source = SY_HEALTH_FROM_EVENTS};
    if (e->has_pushed) {
        v->current = e->pushed;
        v->has_current = true;
        v->source = SY_HEALTH_PUSHED;
    } else if (e->watched >= 0) {
        v->has_current =
            sy_exp_health_of(&e->arms[e->watched].a.recent, e->health_min_events, &v->current);
    }
    v->has_watched = e->watched >= 0;
    if (v->has_watched)
        copy(v->watched, sizeof(v->watched), e->arms[e->watched].key);
    v->has_baseline = e->has_baseline;
    v->baseline = e->baseline;
    v->look = e->watched >= 0 ? look_of(eng, e) : 0;
    bool can = e->watched >= 0 && e->has_baseline && v->has_current;
    v->window_ready = can && sy_health_window_ready(&e->baseline, &v->current, &e->health, v->look);
    /* judged (and the window begun anew) once it is big enough, or at once when it already
     * holds a rollback: a collapse or a p95 over its limit does not wait for the window */
    *judged = can &&
              sy_health_rollback_at(&e->baseline, &v->current, &e->health, v->look, r, NULL) == 0 &&
              (v->window_ready || r->rollback);
    v->rollback_due = *judged && r->rollback;
    v->reasons = *judged ? r->reasons : 0;
}

void sy_eng_health_view(const sy_engine_t *eng, const struct experiment *e, sy_health_view_t *v)
{
    bool judged;
    sy_rollback_t r = {0};
    health_view(eng, e, &judged, &r, v);
}

/* The view as the history's rollback detail and the health warning's notification hold
 * it: the same members as the API's (codec/monitor_json.c), which docs/api.md shows. */
static json_t *view_json(const sy_health_view_t *v)
{
    json_t *reasons = json_array();
    for (unsigned bit = 1; reasons && bit <= SY_ROLLBACK_RETRY_RATE; bit <<= 1)
        if (v->reasons & bit)
            json_array_append_new(reasons, json_string(sy_rollback_reason_name(bit)));
    return json_pack("{sososososbsosIsb}", "watched",
                     v->has_watched ? json_string(v->watched) : json_null(), "baseline",
                     health_json(v->has_baseline, &v->baseline), "current",
                     health_json(v->has_current, &v->current), "source",
                     json_string(v->source == SY_HEALTH_PUSHED ? "pushed" : "events"),
                     "rollback_due", v->rollback_due, "reasons", reasons, "look",
                     (json_int_t)v->look, "window_ready", v->window_ready);
}

/* The bounds of a pushed health, with the sentences the API answers. */
static int push_check(const sy_health_push_t *p, sy_err_t *err)
{
    if (!(p->success_rate >= 0) || !(p->success_rate <= 1))
        return sy_err_set(err, -EINVAL, "success_rate", "success_rate is a number from 0 to 1");
    if (!(p->error_rate >= 0) || !(p->error_rate <= 1))
        return sy_err_set(err, -EINVAL, "error_rate", "error_rate is a number from 0 to 1");
    if (p->has_p95_ms && !(p->p95_ms >= 0 && p->p95_ms <= DBL_MAX))
        return sy_err_set(err, -EINVAL, "p95_ms", "p95_ms is a number of ms >= 0");
    if (p->has_retry_rate && (!(p->retry_rate >= 0) || !(p->retry_rate <= 1)))
        return sy_err_set(err, -EINVAL, "retry_rate", "retry_rate is a number from 0 to 1");
    return 0;
}

int sy_engine_experiment_health(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                const sy_health_push_t *push, sy_exp_health_t *out, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return -ENOENT;
    if (push) { /* pushed: it stands for the watched variant until the next change */
        int rc = push_check(push, err);
        if (rc < 0)
            return rc;
        if (e->watched < 0 || (e->state != PROMOTING && e->state != PROMOTED))
            return sy_err_set(err, SY_ECONFLICT, "state",
                              "experiment \"%.64s\" has no promoted variant to watch", e->key);
        e->pushed = (sy_health_t){.success_rate = push->success_rate,
                                  .error_rate = push->error_rate,
                                  .has_p95 = push->has_p95_ms,
                                  .p95_ms = push->has_p95_ms ? push->p95_ms : 0,
                                  .has_retry_rate = push->has_retry_rate,
                                  .retry_rate = push->has_retry_rate ? push->retry_rate : 0};
        e->has_pushed = true;
        e->pushed_ms = sy_engine_now_ms(eng);
    }
    bool judged;
    sy_rollback_t r;
    copy(out->experiment, sizeof(out->experiment), e->key);
    copy(out->state, sizeof(out->state), sy_exp_state_name(e->state));
    health_view(eng, e, &judged, &r, &out->health);
    return 0;
}

/* Why the monitor rolls `e` back, with the numbers and the thresholds that made it: "health
 * of b: success rate 0.94 -> 0.88 (drop 0.06 > 0.05), error rate 0.02 -> 0.06 (rise 0.04 >
 * 0.03), p95 412.3 ms over its limit of 300 ms". The rates are as the rule compared them. */
static void rollback_reason(const struct experiment *e, const sy_health_t *cur,
                            const sy_rollback_t *r, char *buf, size_t cap)
{
    const sy_health_t *base = &e->baseline;
    const sy_health_thresholds_t *t = &e->health;
    size_t at = 0;
    int n = snprintf(buf, cap, "health of %s:", e->arms[e->watched].key);
    at = n < 0 ? cap : (size_t)n;
    const char *sep = " ";
    if ((r->reasons & SY_ROLLBACK_SUCCESS_RATE) && at < cap) {
        n = snprintf(buf + at, cap - at, "%ssuccess rate %.4g -> %.4g (drop %.4g > %.4g)", sep,
                     base->success_rate, cur->success_rate, r->success_rate_drop,
                     t->success_rate_drop);
        at = n < 0 ? cap : at + (size_t)n;
        sep = ", ";
    }
    if ((r->reasons & SY_ROLLBACK_ERROR_RATE) && at < cap) {
        n = snprintf(buf + at, cap - at, "%serror rate %.4g -> %.4g (rise %.4g > %.4g)", sep,
                     base->error_rate, cur->error_rate, r->error_rate_increase,
                     t->error_rate_increase);
        at = n < 0 ? cap : at + (size_t)n;
        sep = ", ";
    }
    if ((r->reasons & SY_ROLLBACK_P95) && at < cap) {
        n = snprintf(buf + at, cap - at, "%sp95 %.1f ms over its limit of %g ms", sep, cur->p95_ms,
                     t->max_p95_ms);
        at = n < 0 ? cap : at + (size_t)n;
        sep = ", ";
    }
    if ((r->reasons & SY_ROLLBACK_RETRY_RATE) && at < cap)
        snprintf(buf + at, cap - at, "%sretry rate %.4g -> %.4g (rise %.4g > %.4g)", sep,
                 base->retry_rate, cur->retry_rate, r->retry_rate_increase, t->retry_rate_increase);
}

/* The counted reason of a health rollback: the first metric past its limit, in the order
 * rollback_reason() writes them (one rollback, one count). */
static sy_change_reason_t health_reason(unsigned reasons)
{
    return reasons & SY_ROLLBACK_SUCCESS_RATE ? SY_CHANGE_SUCCESS_RATE
           : reasons & SY_ROLLBACK_ERROR_RATE ? SY_CHANGE_ERROR_RATE
           : reasons & SY_ROLLBACK_P95        ? SY_CHANGE_P95
                                              : SY_CHANGE_RETRY_RATE;
}

/* Judges `e` once: true with the rollback's report entry in *rb when it rolled back (or
 * failed to). Notes when it judged, so that no variant is judged more often than the
 * monitor's interval: more looks at a noisy window would roll back healthy variants. */
static bool check_one(sy_engine_t *eng, struct experiment *e, sy_monitor_rollback_t *rb)
{
    if (e->state != PROMOTING && e->state != PROMOTED)
        return false;
    bool judged;
    sy_rollback_t r;
    sy_health_view_t v;
    health_view(eng, e, &judged, &r, &v);
    if (judged) { /* the next judgement looks at what comes after this one */
        e->health_checked_ms = sy_engine_now_ms(eng);
        e->arms[e->watched].a.recent = (struct health_counts){0};
    }
    /* past half a threshold, not past it: people hear of it before it rolls back */
    if (judged && !r.rollback &&
        (r.success_rate_drop > e->health.success_rate_drop / 2 ||
         r.error_rate_increase > e->health.error_rate_increase / 2 ||
         r.retry_rate_increase > e->health.retry_rate_increase / 2)) {
        char title[2 * KEY_MAX + 160], retry[48] = "";
        if (e->baseline.has_retry_rate && e->has_pushed && e->pushed.has_retry_rate)
            snprintf(retry, sizeof(retry), ", retry rate +%.2f points",
                     100 * r.retry_rate_increase);
        snprintf(title, sizeof(title),
                 "Health of %s in %s is degrading (success rate -%.2f points, error rate "
                 "+%.2f points%s)",
                 e->arms[e->watched].key, e->key, 100 * r.success_rate_drop,
                 100 * r.error_rate_increase, retry);
        notice(eng, e, "health_warning", "warning", title,
               json_pack("{ssso}", "experiment", e->key, "health", view_json(&v)));
    }
    if (!judged || !r.rollback)
        return false;
    /* the allocation before the last change */
    int64_t prev[SY_EXP_MAX_ARMS];
    for (size_t k = 0; k < e->n_arms; k++)
        prev[k] =
            e->n_changes >= 2 ? e->changes[e->n_changes - 2].weights[k] : e->arms[k].defined_weight;
    char reason[sizeof(rb->reason)];
    rollback_reason(e, &v.current, &r, reason, sizeof(reason));
    json_t *detail = json_pack("{ssssso}", "reason", reason, "rolled_back_by", "health monitor",
                               "health", view_json(&v));
    sy_err_t err = {0};
    int rc = detail ? sy_exp_change(eng, NULL, e, prev, ROLLED_BACK, -1, "rollback",
                                    health_reason(r.reasons), "allocation.rolled_back", detail,
                                    NULL, NULL, &err)
                    : sy_eng_oom(&err);
    json_decref(detail);
    *rb = (sy_monitor_rollback_t){.workspace = e->ws, .rolled_back = rc == 0, .health = v};
    copy(rb->experiment, sizeof(rb->experiment), e->key);
    copy(rb->reason, sizeof(rb->reason), rc == 0 ? reason : err.msg);
    if (rc == 0) {
        rb->has_split = true;
        split_of(e, &rb->split);
    }
    return true;
}

/* Whether `e` is due for a judgement: watched, and not judged within the interval. Up to
 * 2 % early, so that the loop's tick (20 ms) does not push a judgement past the interval:
 * a breach is then acted on within the interval of being committed. */
static bool due(const sy_engine_t *eng, const struct experiment *e, int64_t now)
{
    int64_t every = judged_every(eng);
    return every > 0 && e->watched >= 0 && now - e->health_checked_ms >= every;
}

/* Keeps a rollback for the next tick's report; one it has no room for is counted. */
static void keep(sy_engine_t *eng, const sy_monitor_rollback_t *rb)
{
    sy_monitor_rollback_t *v =
        realloc(eng->health_done, (eng->n_health_done + 1) * sizeof(*eng->health_done));
    if (!v) {
        eng->health_lost++;
        return;
    }
    eng->health_done = v;
    v[eng->n_health_done++] = *rb;
}

/* The monitor's pass: every watched variant due for a judgement. */
static void health_check(sy_engine_t *eng)
{
    int64_t now = sy_engine_now_ms(eng);
    sy_monitor_rollback_t rb;
    for (size_t i = 0; i < eng->x->n; i++)
        if (due(eng, eng->x->all[i], now) && check_one(eng, eng->x->all[i], &rb))
            keep(eng, &rb);
}

void sy_exp_health_after_commit(sy_engine_t *eng, struct experiment *e)
{
    /* New events for a watched variant are judged at once when its last judgement is an
     * interval old; otherwise the monitor's next pass judges them. Either way a breach is
     * acted on within one interval of being committed. */
    sy_monitor_rollback_t rb;
    if (due(eng, e, sy_engine_now_ms(eng)) && check_one(eng, e, &rb))
        keep(eng, &rb);
}

/* ---- timers ------------------------------------------------------------------------------------
 */

void sy_engine_set_timers(sy_engine_t *eng, const sy_engine_timers_t *t)
{
    eng->timers = *t;
    int64_t now = sy_engine_now_ms(eng);
    eng->next_auto_ms = t->auto_promotion_ms > 0 ? now + t->auto_promotion_ms : 0;
    eng->next_regression_ms = t->regression_ms > 0 ? now + t->regression_ms : 0;
}

sy_engine_timers_t sy_engine_timers(const sy_engine_t *eng)
{
    return eng->timers;
}

sy_exp_defaults_t sy_engine_exp_defaults(const sy_engine_t *eng)
{
    return eng->exp_defaults;
}

/* The next run of a job due at `due` every `every` ms: on its cadence, so that a loop
 * ticking at about the same period cannot skip a run; a job more than a period late runs
 * again one period from now. */
static int64_t next_after(int64_t due, int64_t every, int64_t now)
{
    int64_t next = due + every;
    return next > now ? next : now + every;
}

/* The triggered ones of the `n` tripwire states just evaluated into out->tripped: what the
 * log says of a trip. */
static void trips_of(const sy_tripwire_state_t *st, size_t n, sy_tick_report_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += st[i].triggered;
    if (!k)
        return;
    out->tripped = calloc(k, sizeof(*out->tripped));
    if (!out->tripped) {
        out->lost += k;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!st[i].triggered)
            continue;
        sy_tick_trip_t *t = &out->tripped[out->n_tripped++];
        t->workspace = st[i].workspace;
        copy(t->domain, sizeof(t->domain), st[i].domain);
        copy(t->metric, sizeof(t->metric), st[i].metric);
        copy(t->action, sizeof(t->action), sy_trip_action_name(st[i].action));
        copy(t->note, sizeof(t->note), st[i].note);
    }
}

void sy_engine_tick(sy_engine_t *eng, sy_tick_report_t *out)
{
    int64_t now = sy_engine_now_ms(eng);
    *out = (sy_tick_report_t){0};
    if (eng->view_stale)
        (void)sy_eng_view_publish(eng);
    /* Many nodes: the timers run on the one that leads (sync.c); the others publish their
     * board only. */
    bool leads = sy_engine_leads(eng);
    /* health first: a variant going bad is rolled back before anything steps toward it */
    if (leads && eng->timers.health_ms > 0)
        health_check(eng);
    /* this pass's and those done after commits */
    out->rollbacks = eng->health_done;
    out->n_rollbacks = eng->n_health_done;
    out->lost = eng->health_lost;
    eng->health_done = NULL;
    eng->n_health_done = eng->health_lost = 0;
    if (leads && eng->timers.auto_promotion_ms > 0 && now >= eng->next_auto_ms) {
        eng->next_auto_ms = next_after(eng->next_auto_ms, eng->timers.auto_promotion_ms, now);
        out->checked =
            sy_engine_auto_promotion_check(eng, NULL, eng->timers.auto_promotion_dry_run ? 1 : 0,
                                           &out->auto_promotion, NULL) == 0;
    }
    if (leads) /* bandits: each on its own cadence (bandit.c) */
        sy_eng_bandit_tick(eng, now);
    if (leads && eng->timers.regression_ms > 0 && now >= eng->next_regression_ms) {
        eng->next_regression_ms =
            next_after(eng->next_regression_ms, eng->timers.regression_ms, now);
        sy_tripwire_state_t *st = NULL;
        size_t n = 0;
        if (sy_engine_regression_evaluate(eng, NULL, NULL, NULL, &st, &n, NULL) == 0)
            trips_of(st, n, out);
        free(st);
    }
    /* what the calls since the last tick and the jobs above queued is committed by now */
    if (eng->notify_queued && eng->notify_wake)
        eng->notify_wake(eng->notify_wake_arg);
    eng->notify_queued = false;
    if (leads)
        sy_eng_timeline_tick(eng, now); /* after the jobs above: an hour shows what they did */
    sy_eng_board_tick(eng, now);        /* after the above: it shows what they did */
}

void sy_tick_report_free(sy_tick_report_t *r)
{
    if (!r)
        return;
    free(r->rollbacks);
    free(r->auto_promotion.v);
    free(r->tripped);
    *r = (sy_tick_report_t){0};
}
