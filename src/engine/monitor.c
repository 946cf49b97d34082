/* monitor.c - what the engine does on its own, on its clock: the auto-promotion check
 * (each running experiment whose results say promote takes its next guarded step) and the
 * health monitor (a promoted variant that degrades goes back at once); see engine.h
 * ("auto-promotion and the timers") and docs/api.md. sy_engine_tick runs them when due: the
 * server's loop calls it every second, simulate on its fake clock.
 */
#define _DEFAULT_SOURCE
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

/* What the check does with one experiment; the report's entry. */
static json_t *auto_one(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e,
                        bool dry_run)
{
    sy_experiment_result_t *r = NULL;
    sy_err_t err = {0};
    json_t *o = json_pack("{sssI}", "experiment", e->key, "workspace", (json_int_t)e->ws);
    if (!o)
        return NULL;
    if (sy_exp_analyse(eng, e, &r, &err) < 0) {
        json_object_set_new(o, "action", json_string("error"));
        json_object_set_new(o, "message", json_string(err.msg));
        return o;
    }
    json_object_set_new(o, "decision", json_string(sy_exp_decision_name(r->decision)));
    if (r->srm_alarm) {
        char title[KEY_MAX + 96];
        snprintf(title, sizeof(title), "Sample ratio mismatch in %s: promotion is blocked", e->key);
        notice(eng, e, "srm", "warning", title,
               json_pack("{sssfsfsIsf}", "experiment", e->key, "chi2", r->srm.chi2, "p_value",
                         e->srm_on ? e->srm.p : r->srm.p_value, "df", (json_int_t)r->srm.df,
                         "chi2_p_value", r->srm.p_value));
    }
    if (r->decision != SY_DECISION_PROMOTE) {
        json_object_set_new(o, "action", json_string("none"));
        if (r->n_reasons)
            json_object_set_new(o, "reason", json_string(r->reasons[0]));
        free(r);
        return o;
    }
    size_t w = (size_t)r->winner;
    const sy_arm_result_t *a = &r->arms[w];
    json_object_set_new(o, "winner", json_string(e->arms[w].key));
    /* the kill switch holds every production change, automatic ones first */
    bool killed = sy_engine_kill_switch_engaged(eng, e->ws, NULL, 0);
    bool full = e->safety.promotion == SY_PROMOTION_FULL;
    const char *action = killed                      ? "held_by_kill_switch"
                         : e->safety.manual_approval ? "awaiting_approval"
                         : dry_run && full           ? "would_promote"
                         : dry_run                   ? "would_step"
                                                     : NULL;
    if (action && strcmp(action, "awaiting_approval") == 0) {
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
    if (action) {
        json_object_set_new(o, "action", json_string(action));
        free(r);
        return o;
    }
    if (full) { /* to 100 % at once (the auto-promotion specification's promotion) */
        struct promo_evidence ev = sy_exp_evidence(r, w);
        free(r);
        int rc = sy_exp_promote_full(eng, e, w, &ev, &err);
        bool refused = rc == SY_ECONFLICT;
        json_object_set_new(o, "action",
                            json_string(rc == 0   ? "promote"
                                        : refused ? "refused"
                                                  : "error"));
        if (rc == 0) {
            json_object_set_new(o, "weights", sy_exp_weights_json(e));
            json_object_set_new(o, "state", json_string(sy_exp_state_name(e->state)));
        } else {
            if (refused)
                json_object_set_new(o, "refused_by", json_string(err.field));
            json_object_set_new(o, "message", json_string(err.msg));
        }
        return o;
    }
    /* The step's evidence is the results': the winner's confidence (Holm-adjusted, and
     * always valid when sequential) and its lift in %. */
    json_t *out = NULL;
    int rc = sy_exp_step_to(eng, actor, e, w, a->confidence, 100 * a->lift, NULL, &out, &err);
    free(r);
    if (rc == 0) {
        json_object_set_new(o, "action", json_string("step"));
        json_object_set_new(o, "weights", json_incref(json_object_get(out, "weights")));
        json_object_set_new(o, "state", json_string(sy_exp_state_name(e->state)));
    } else if (out) {
        json_object_set_new(o, "action", json_string("refused"));
        json_object_set_new(o, "refused_by", json_string(err.field));
        json_object_set_new(o, "message", json_string(err.msg));
    } else {
        json_object_set_new(o, "action", json_string("error"));
        json_object_set_new(o, "message", json_string(err.msg));
    }
    json_decref(out);
    return o;
}

int sy_engine_auto_promotion_check(sy_engine_t *eng, const sy_principal_t *actor, int dry,
                                   json_t **report, sy_err_t *err)
{
    bool dry_run = dry < 0 ? eng->timers.auto_promotion_dry_run : dry > 0;
    json_t *list = json_array();
    size_t checked = 0;
    for (size_t i = 0; list && i < eng->x->n; i++) {
        struct experiment *e = eng->x->all[i];
        if ((actor && e->ws != actor->workspace) || (e->state != RUNNING && e->state != PROMOTING))
            continue;
        checked++;
        json_t *o = auto_one(eng, actor, e, dry_run);
        if (!o || json_array_append_new(list, o) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    *report = list ? json_pack("{sIsbsIso}", "at_ms", (json_int_t)sy_engine_now_ms(eng), "dry_run",
                               dry_run, "checked", (json_int_t)checked, "experiments", list)
                   : NULL;
    return *report ? 0 : sy_eng_oom(err);
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

/* What the monitor sees of `e`: the watched variant, the baseline, the current health, and
 * whether it is due for a rollback (into *r when it could judge: a window of enough samples
 * for the look, sy_health_window_ready). */
static json_t *health_view(const sy_engine_t *eng, const struct experiment *e, bool *judged,
                           sy_rollback_t *r, sy_health_t *current)
{
    sy_health_t cur = {0};
    bool has_cur = false;
    const char *source = "events";
    if (e->has_pushed) {
        cur = e->pushed;
        has_cur = true;
        source = "pushed";
    } else if (e->watched >= 0) {
        has_cur = sy_exp_health_of(&e->arms[e->watched].a.recent, e->health_min_events, &cur);
    }
    int64_t look = e->watched >= 0 ? look_of(eng, e) : 0;
    bool can = e->watched >= 0 && e->has_baseline && has_cur;
    bool ready = can && sy_health_window_ready(&e->baseline, &cur, &e->health, look);
    /* judged (and the window begun anew) once it is big enough, or at once when it already
     * holds a rollback: a collapse or a p95 over its limit does not wait for the window */
    *judged = can && sy_health_rollback_at(&e->baseline, &cur, &e->health, look, r, NULL) == 0 &&
              (ready || r->rollback);
    *current = cur;
    json_t *reasons = json_array();
    for (unsigned bit = 1; *judged && reasons && bit <= SY_ROLLBACK_RETRY_RATE; bit <<= 1)
        if (r->reasons & bit)
            json_array_append_new(reasons, json_string(sy_rollback_reason_name(bit)));
    return json_pack("{sososososbsosIsb}", "watched",
                     e->watched >= 0 ? json_string(e->arms[e->watched].key) : json_null(),
                     "baseline", health_json(e->has_baseline, &e->baseline), "current",
                     health_json(has_cur, &cur), "source", json_string(source), "rollback_due",
                     *judged && r->rollback, "reasons", reasons, "look", (json_int_t)look,
                     "window_ready", ready);
}

int sy_engine_experiment_health(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                const json_t *body, json_t **out, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return -ENOENT;
    struct pushed {
        sy_health_t health;
        bool has;
        int64_t at_ms;
        bool set;
    } saved = {0}; /* what an answer that cannot be made puts back */
    if (body) {    /* pushed: it stands for the watched variant until the next change */
        static const char *const fields[] = {"success_rate", "error_rate", "p95_ms", "retry_rate",
                                             NULL};
        int rc = sy_exp_only_fields(body, fields, err);
        const json_t *s = json_object_get(body, "success_rate"),
                     *x = json_object_get(body, "error_rate"), *p = json_object_get(body, "p95_ms"),
                     *rr = json_object_get(body, "retry_rate");
        if (rc == 0 &&
            (!json_is_number(s) || !(json_number_value(s) >= 0) || !(json_number_value(s) <= 1)))
            rc = sy_err_set(err, -EINVAL, "success_rate", "success_rate is a number from 0 to 1");
        if (rc == 0 &&
            (!json_is_number(x) || !(json_number_value(x) >= 0) || !(json_number_value(x) <= 1)))
            rc = sy_err_set(err, -EINVAL, "error_rate", "error_rate is a number from 0 to 1");
        if (rc == 0 && p && (!json_is_number(p) || !(json_number_value(p) >= 0)))
            rc = sy_err_set(err, -EINVAL, "p95_ms", "p95_ms is a number of ms >= 0");
        if (rc == 0 && rr &&
            (!json_is_number(rr) || !(json_number_value(rr) >= 0) || !(json_number_value(rr) <= 1)))
            rc = sy_err_set(err, -EINVAL, "retry_rate", "retry_rate is a number from 0 to 1");
        if (rc < 0)
            return rc;
        if (e->watched < 0 || (e->state != PROMOTING && e->state != PROMOTED))
            return sy_err_set(err, SY_ECONFLICT, "state",
                              "experiment \"%.64s\" has no promoted variant to watch", e->key);
        saved = (struct pushed){e->pushed, e->has_pushed, e->pushed_ms, true};
        e->pushed = (sy_health_t){.success_rate = json_number_value(s),
                                  .error_rate = json_number_value(x),
                                  .has_p95 = p != NULL,
                                  .p95_ms = json_number_value(p),
                                  .has_retry_rate = rr != NULL,
                                  .retry_rate = json_number_value(rr)};
        e->has_pushed = true;
        e->pushed_ms = sy_engine_now_ms(eng);
    }
    bool judged;
    sy_rollback_t r;
    sy_health_t cur;
    json_t *view = health_view(eng, e, &judged, &r, &cur);
    *out = view ? json_pack("{ssssso}", "experiment", e->key, "state", sy_exp_state_name(e->state),
                            "health", view)
                : NULL;
    if (!*out && saved.set) { /* refused: the push did not happen */
        e->pushed = saved.health;
        e->has_pushed = saved.has;
        e->pushed_ms = saved.at_ms;
    }
    return *out ? 0 : sy_eng_oom(err);
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

/* The monitor's pass: every promoting or promoted experiment whose watched variant has
 * degraded past its thresholds goes back to the allocation before its last change, now. */
/* Judges `e` once: the rollback's report entry when it rolled back (or failed to), else
 * NULL. Notes when it judged, so that no variant is judged more often than the monitor's
 * interval: more looks at a noisy window would roll back healthy variants. */
static json_t *check_one(sy_engine_t *eng, struct experiment *e)
{
    if (e->state != PROMOTING && e->state != PROMOTED)
        return NULL;
    bool judged;
    sy_rollback_t r;
    sy_health_t cur;
    json_t *view = health_view(eng, e, &judged, &r, &cur);
    if (judged) { /* the next judgement looks at what comes after this one */
        e->health_checked_ms = sy_engine_now_ms(eng);
        e->arms[e->watched].a.recent = (struct health_counts){0};
    }
    /* past half a threshold, not past it: people hear of it before it rolls back */
    if (view && judged && !r.rollback &&
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
               json_pack("{sssO}", "experiment", e->key, "health", view));
    }
    if (!view || !judged || !r.rollback) {
        json_decref(view);
        return NULL;
    }
    /* the allocation before the last change */
    int64_t prev[SY_EXP_MAX_ARMS];
    for (size_t k = 0; k < e->n_arms; k++)
        prev[k] =
            e->n_changes >= 2 ? e->changes[e->n_changes - 2].weights[k] : e->arms[k].defined_weight;
    char reason[400];
    rollback_reason(e, &cur, &r, reason, sizeof(reason));
    json_t *detail = json_pack("{ssssso}", "reason", reason, "rolled_back_by", "health monitor",
                               "health", json_incref(view));
    sy_err_t err = {0};
    int rc = detail ? sy_exp_change(eng, NULL, e, prev, ROLLED_BACK, -1, "rollback",
                                    "allocation.rolled_back", detail, NULL, NULL, &err)
                    : -ENOMEM;
    json_decref(detail);
    json_t *o = json_pack("{sssIssssso}", "experiment", e->key, "workspace", (json_int_t)e->ws,
                          "action", rc == 0 ? "rolled_back" : "error", "reason",
                          rc == 0 ? reason : err.msg, "health", view);
    if (o && rc == 0)
        json_object_set_new(o, "weights", sy_exp_weights_json(e));
    return o;
}

/* Whether `e` is due for a judgement: watched, and not judged within the interval. Up to
 * 2 % early, so that the loop's tick (20 ms) does not push a judgement past the interval:
 * a breach is then acted on within the interval of being committed. */
static bool due(const sy_engine_t *eng, const struct experiment *e, int64_t now)
{
    int64_t every = judged_every(eng);
    return every > 0 && e->watched >= 0 && now - e->health_checked_ms >= every;
}

static void keep(sy_engine_t *eng, json_t *o)
{
    if (!o)
        return;
    if (!eng->health_done)
        eng->health_done = json_array();
    if (json_array_append_new(eng->health_done, o) < 0)
        json_decref(o);
}

/* The monitor's pass: every watched variant due for a judgement. */
static void health_check(sy_engine_t *eng)
{
    int64_t now = sy_engine_now_ms(eng);
    for (size_t i = 0; i < eng->x->n; i++)
        if (due(eng, eng->x->all[i], now))
            keep(eng, check_one(eng, eng->x->all[i]));
}

void sy_exp_health_after_commit(sy_engine_t *eng, struct experiment *e)
{
    /* New events for a watched variant are judged at once when its last judgement is an
     * interval old; otherwise the monitor's next pass judges them. Either way a breach is
     * acted on within one interval of being committed. */
    if (due(eng, e, sy_engine_now_ms(eng)))
        keep(eng, check_one(eng, e));
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

json_t *sy_engine_tick(sy_engine_t *eng)
{
    int64_t now = sy_engine_now_ms(eng);
    json_t *done = NULL;
    if (eng->view_stale)
        (void)sy_eng_view_publish(eng);
    /* health first: a variant going bad is rolled back before anything steps toward it */
    if (eng->timers.health_ms > 0)
        health_check(eng);
    json_t *rolled = eng->health_done; /* this pass's and those done after commits */
    eng->health_done = NULL;
    if (json_array_size(rolled) && (done || (done = json_object())))
        json_object_set_new(done, "health", json_pack("{so}", "experiments", rolled));
    else
        json_decref(rolled);
    if (eng->timers.auto_promotion_ms > 0 && now >= eng->next_auto_ms) {
        eng->next_auto_ms = next_after(eng->next_auto_ms, eng->timers.auto_promotion_ms, now);
        json_t *report = NULL;
        if (sy_engine_auto_promotion_check(eng, NULL, eng->timers.auto_promotion_dry_run ? 1 : 0,
                                           &report, NULL) == 0 &&
            (done || (done = json_object())))
            json_object_set_new(done, "auto_promotion", report);
        else
            json_decref(report);
    }
    if (eng->timers.regression_ms > 0 && now >= eng->next_regression_ms) {
        eng->next_regression_ms =
            next_after(eng->next_regression_ms, eng->timers.regression_ms, now);
        sy_tripwire_state_t *st = NULL;
        size_t n = 0;
        json_t *fired = json_array();
        /* what the log line names of each triggered tripwire */
        if (fired && sy_engine_regression_evaluate(eng, NULL, NULL, NULL, &st, &n, NULL) == 0)
            for (size_t i = 0; i < n; i++)
                if (st[i].triggered)
                    json_array_append_new(fired, json_pack("{sIsssssbss}", "workspace",
                                                           (json_int_t)st[i].workspace, "domain",
                                                           st[i].domain, "metric", st[i].metric,
                                                           "triggered", 1, "note", st[i].note));
        free(st);
        if (json_array_size(fired) && (done || (done = json_object())))
            json_object_set_new(done, "regression", json_pack("{so}", "triggered", fired));
        else
            json_decref(fired);
    }
    /* what the calls since the last tick and the jobs above queued is committed by now */
    if (eng->notify_queued && eng->notify_wake)
        eng->notify_wake(eng->notify_wake_arg);
    eng->notify_queued = false;
    return done;
}
