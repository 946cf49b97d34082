/* allocation.c - moving an experiment's traffic: guarded steps to a winner, promotion to
 * 100 %, rollback to control, and their history; see engine.h ("allocation") and
 * core/allocation.h for the rules.
 *
 * Every change is one transaction: the flag's new `fractional` split (so OFREP and the
 * library serve it from the next request), the experiment's row with its new weights and
 * state, the change's history row (with the winner's health as the baseline the health
 * monitor compares against), and the audit events. A crash leaves the old allocation or
 * the new one, never a mix. The engine keeps each change's time (the cooldown and the
 * daily limit) and evaluation id (a retried step is applied once) in memory; the store has
 * the rest.
 */
#define _DEFAULT_SOURCE
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/api_json.h"
#include "engine/experiment_int.h"

#define ID_MAX     64 /* longest evaluation id */
#define REASON_MAX 500

/* ---- memory of changes ----------------------------------------------------------------- */

static int64_t exposed_units(const struct experiment *e)
{
    int64_t n = 0;
    for (size_t i = 0; i < e->n_arms; i++)
        n += e->arms[i].a.units;
    return n;
}

static int remember(struct experiment *e, int64_t at_ms, bool step, const char *evaluation_id,
                    int64_t units_at, int64_t events_at, const int64_t *weights, int winner)
{
    if (sy_eng_grow((void **)&e->changes, &e->cap_changes, e->n_changes + 1, sizeof(*e->changes)) <
        0)
        return -ENOMEM;
    struct alloc_change *c = &e->changes[e->n_changes++];
    *c = (struct alloc_change){.at_ms = at_ms,
                               .step = step,
                               .units_at = units_at,
                               .events_at = events_at,
                               .winner = winner};
    snprintf(c->evaluation_id, sizeof(c->evaluation_id), "%s", evaluation_id ? evaluation_id : "");
    for (size_t i = 0; i < e->n_arms; i++)
        c->weights[i] = weights[i];
    return 0;
}

void sy_exp_effective_weights(const struct experiment *e, double *w)
{
    if (e->n_changes == 0) { /* one period: the weights as they are */
        for (size_t i = 0; i < e->n_arms; i++)
            w[i] = (double)e->arms[i].weight;
        return;
    }
    /* units first exposed in each period, times that period's weights (points) */
    int64_t from = 0, now = exposed_units(e);
    for (size_t i = 0; i < e->n_arms; i++)
        w[i] = 0;
    for (size_t k = 0; k <= e->n_changes; k++) {
        int64_t to = k < e->n_changes ? e->changes[k].units_at : now;
        double n = (double)(to > from ? to - from : 0);
        for (size_t i = 0; i < e->n_arms; i++)
            w[i] += n * (double)(k == 0 ? e->arms[i].defined_weight : e->changes[k - 1].weights[i]);
        from = to > from ? to : from;
    }
    double sum = 0;
    for (size_t i = 0; i < e->n_arms; i++)
        sum += w[i];
    if (sum == 0) /* nobody exposed yet: the split as it is */
        for (size_t i = 0; i < e->n_arms; i++)
            w[i] = (double)e->arms[i].weight;
}

int sy_exp_change_row(void *arg, const sy_store_change_t *row)
{
    sy_engine_t *eng = arg;
    struct experiment *e = sy_exp_find_by_id(eng, row->experiment);
    if (!e) {
        if (row->id > eng->x->changes_seen)
            eng->x->changes_seen = row->id;
        return 0;
    }
    json_error_t je;
    json_t *detail = row->detail ? json_loads(row->detail, 0, &je) : NULL;
    json_t *after = row->after ? json_loads(row->after, 0, &je) : NULL;
    int64_t weights[SY_EXP_MAX_ARMS];
    for (size_t i = 0; i < e->n_arms; i++)
        weights[i] = json_integer_value(json_object_get(after, e->arms[i].key));
    const char *w = json_string_value(json_object_get(detail, "winner"));
    if (!w)
        w = json_string_value(json_object_get(detail, "variant")); /* a promotion */
    int winner = w && row->action && strcmp(row->action, "rollback") != 0
                     ? sy_exp_arm_index(e, w, strlen(w))
                     : -1;
    int rc = remember(e, row->at_ms, row->action && strcmp(row->action, "step") == 0,
                      json_string_value(json_object_get(detail, "evaluation_id")),
                      json_integer_value(json_object_get(detail, "units_at")),
                      json_integer_value(json_object_get(detail, "events_at")), weights, winner);
    if (rc == 0)
        e->changes[e->n_changes - 1].bandit = row->action && strcmp(row->action, "bandit") == 0;
    if (rc == 0 && row->id > e->changes_upto)
        e->changes_upto = row->id;
    if (rc == 0 && row->id > eng->x->changes_seen)
        eng->x->changes_seen = row->id;
    json_decref(detail);
    json_decref(after);
    return rc;
}

int sy_exp_changes_open(sy_engine_t *eng, sy_err_t *err)
{
    int rc = sy_store_change_list(eng->store, -1, sy_exp_change_row, eng, err);
    if (rc == 0)
        sy_exp_bandit_resume(eng);
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

/* Where the daily change limit of the workspace `ws` stands at `now_ms`: its steps (not
 * promotions or rollbacks, which are never rate-limited) under core/allocation.h's rule. */
static int daily(const sy_engine_t *eng, int64_t ws, int64_t now_ms, sy_daily_changes_t *out,
                 sy_err_t *err)
{
    size_t n = 0;
    for (size_t i = 0; i < eng->x->n; i++) {
        const struct experiment *e = eng->x->all[i];
        for (size_t k = 0; e->ws == ws && k < e->n_changes; k++)
            n += e->changes[k].step;
    }
    int64_t *at = n ? malloc(n * sizeof(*at)) : NULL;
    if (n && !at)
        return sy_eng_oom(err);
    n = 0;
    for (size_t i = 0; i < eng->x->n; i++) {
        const struct experiment *e = eng->x->all[i];
        for (size_t k = 0; e->ws == ws && k < e->n_changes; k++)
            if (e->changes[k].step)
                at[n++] = e->changes[k].at_ms;
    }
    int rc = sy_daily_changes(at, n, now_ms, out, err);
    free(at);
    return rc;
}

static const struct alloc_change *last_change(const struct experiment *e)
{
    return e->n_changes ? &e->changes[e->n_changes - 1] : NULL;
}

const char *const sy_change_reason_names[SY_CHANGE_REASONS] = {
    [SY_CHANGE_RESULTS] = "results",
    [SY_CHANGE_MANUAL] = "manual",
    [SY_CHANGE_EMERGENCY] = "emergency",
    [SY_CHANGE_SUCCESS_RATE] = "health_success_rate",
    [SY_CHANGE_ERROR_RATE] = "health_error_rate",
    [SY_CHANGE_P95] = "health_p95",
    [SY_CHANGE_RETRY_RATE] = "health_retry_rate",
};

/* ---- guardrails ----------------------------------------------------------------------------- */

sy_guardrails_t sy_exp_guardrails(const sy_engine_t *eng, const struct experiment *e)
{
    const struct workspace *w = sy_eng_find_ws((sy_engine_t *)eng, e->ws);
    sy_guardrails_t g = w ? w->guardrails : SY_GUARDRAILS_DEFAULTS;
    const sy_guardrails_t *own = &e->guardrails;
    if (e->guardrails_set & GUARD_CONFIDENCE)
        g.min_confidence = own->min_confidence;
    if (e->guardrails_set & GUARD_STEP)
        g.max_step_pct = own->max_step_pct;
    if (e->guardrails_set & GUARD_COOLDOWN)
        g.cooldown_hours = own->cooldown_hours;
    if (e->guardrails_set & GUARD_CHANGES)
        g.max_changes_per_day = own->max_changes_per_day;
    return g;
}

/* `c` over `g` (the given members); -EINVAL naming the field, `g` untouched. */
static int guardrails_apply(const sy_guardrails_change_t *c, sy_guardrails_t *g, sy_err_t *err)
{
    sy_guardrails_t n = *g;
    if (c->has_min_confidence)
        n.min_confidence = c->v.min_confidence;
    if (c->has_max_step_pct)
        n.max_step_pct = c->v.max_step_pct;
    if (c->has_cooldown_hours)
        n.cooldown_hours = c->v.cooldown_hours;
    if (c->has_max_changes_per_day)
        n.max_changes_per_day = c->v.max_changes_per_day;
    int rc = sy_guardrails_check(&n, err);
    if (rc == 0)
        *g = n;
    return rc;
}

static int load_setting(void *arg, int64_t ws, const char *name, const char *value)
{
    struct workspace *w = sy_eng_find_ws(arg, ws);
    if (!w || !name || strcmp(name, "guardrails") != 0)
        return 0;
    /* stored as the API writes them: read by the API's schema */
    json_error_t je;
    json_t *v = value ? json_loads(value, 0, &je) : NULL;
    sy_guardrails_change_t c = {0};
    int rc = v && sy_schema_read(&sy_guardrails_change_schema, v, &c, "", NULL) == 0 &&
                     guardrails_apply(&c, &w->guardrails, NULL) == 0
                 ? 0
                 : -EIO;
    json_decref(v);
    return rc;
}

int sy_exp_settings_open(sy_engine_t *eng, sy_err_t *err)
{
    int rc = sy_store_setting_list(eng->store, load_setting, eng, err);
    return rc == -EIO ? sy_err_set(err, rc, NULL, "store: a workspace's guardrails do not load")
                      : rc;
}

int sy_eng_guardrails_sync(sy_engine_t *eng, sy_err_t *err)
{
    return sy_exp_settings_open(eng, err);
}

int sy_engine_guardrails_get(sy_engine_t *eng, const sy_principal_t *actor, sy_guardrails_t *out,
                             sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    *out = w->guardrails;
    return 0;
}

static int write_guardrails(sy_engine_t *eng, int64_t ws, const sy_guardrails_t *g,
                            const sy_principal_t *actor, const json_t *before, sy_err_t *err)
{
    json_t *after = sy_guardrails_values_json(g);
    char *text = after ? sy_json_dumps(after, JSON_COMPACT) : NULL;
    int rc = text ? sy_store_setting_put(eng->store, ws, "guardrails", text, err) : sy_eng_oom(err);
    if (rc == 0)
        rc = sy_eng_audit(eng, actor, ws, "guardrails.update", "guardrails", before, after, err);
    if (rc == 0) /* the other nodes read them again (sync.c) */
        rc = sy_store_announce(eng->store, ws, "settings", 0, err);
    free(text);
    json_decref(after);
    return rc;
}

int sy_engine_guardrails_put(sy_engine_t *eng, const sy_principal_t *actor,
                             const sy_guardrails_change_t *c, sy_guardrails_t *out, sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    sy_guardrails_t g = w->guardrails;
    int rc = guardrails_apply(c, &g, err);
    if (rc < 0)
        return rc;
    json_t *before = sy_guardrails_values_json(&w->guardrails); /* the audit's, before the commit */
    if (!before)
        rc = sy_eng_oom(err);
    else if ((rc = sy_store_begin(eng->store, err)) == 0) {
        if ((rc = write_guardrails(eng, w->id, &g, actor, before, err)) < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    json_decref(before);
    if (rc < 0)
        return rc;
    w->guardrails = g;
    *out = g; /* a struct: nothing to fail after the commit */
    return 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* The rate limit's state into *out: the daily count (core/allocation.h: it resets 24 hours
 * after the workspace's last step), when it resets, and when the next step may come: after
 * the cooldown, and once the count is used up not before it resets; with `stepping`, as it
 * will be once the step at hand is taken (an answer made before its commit). -ENOMEM. */
static int rate_limit_at(const sy_engine_t *eng, const struct experiment *e, bool stepping,
                         sy_rate_limit_t *out, sy_err_t *err)
{
    int64_t now = sy_engine_now_ms(eng), next = now;
    sy_daily_changes_t d;
    int rc = daily(eng, e->ws, now, &d, err);
    if (rc < 0)
        return rc;
    if (stepping) {
        d.count++;
        d.resets_at_ms = now + SY_DAY_MS;
    }
    const struct alloc_change *last = last_change(e);
    sy_guardrails_t g = sy_exp_guardrails(eng, e);
    bool has_last = last || stepping;
    int64_t last_ms = stepping ? now : last ? last->at_ms : 0;
    if (has_last) {
        int64_t after = last_ms + (int64_t)(g.cooldown_hours * 3600000);
        next = after > next ? after : next;
    }
    if (d.count >= g.max_changes_per_day && d.resets_at_ms > next)
        next = d.resets_at_ms;
    *out = (sy_rate_limit_t){.changes_today = d.count,
                             .max_changes_per_day = g.max_changes_per_day,
                             .has_resets_at = d.count > 0,
                             .resets_at_ms = d.count ? d.resets_at_ms : 0,
                             .has_last_change = has_last,
                             .last_change_ms = has_last ? last_ms : 0,
                             .next_allowed_ms = next,
                             .history_limit = SY_ALLOCATION_HISTORY_LIMIT};
    return 0;
}

static void weights_of(const struct experiment *e, const int64_t *weights, sy_variant_weight_t *w)
{
    for (size_t i = 0; i < e->n_arms; i++) {
        snprintf(w[i].key, sizeof(w[i].key), "%s", e->arms[i].key);
        w[i].weight = weights ? weights[i] : e->arms[i].weight;
    }
}

/* A history walk: the caller's callback for the rows from `skip` on. */
struct history_walk {
    sy_history_cb cb;
    void *arg;
    size_t skip, seen;
};

static int count_row(void *arg, const sy_store_change_t *c)
{
    (void)c;
    ++*(size_t *)arg;
    return 0;
}

static int history_row(void *arg, const sy_store_change_t *c)
{
    struct history_walk *w = arg;
    if (w->seen++ < w->skip)
        return 0;
    sy_history_entry_t h = {.id = c->id,
                            .at_ms = c->at_ms,
                            .action = c->action,
                            .actor = c->actor,
                            .before = c->before,
                            .after = c->after,
                            .detail = c->detail};
    return w->cb(w->arg, &h);
}

int sy_engine_experiment_history(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                 size_t newest, sy_history_cb cb, void *arg, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return -ENOENT;
    struct history_walk w = {.cb = cb, .arg = arg};
    int rc = 0;
    if (newest) { /* the newest, oldest first: count them first */
        size_t n = 0;
        rc = sy_store_change_list(eng->store, e->id, count_row, &n, err);
        w.skip = n > newest ? n - newest : 0;
    }
    if (rc == 0)
        rc = sy_store_change_list(eng->store, e->id, history_row, &w, err);
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

int sy_engine_allocation_get(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                             sy_allocation_t *out, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return -ENOENT;
    sy_allocation_t a = {.n = e->n_arms, .guardrails = sy_exp_guardrails(eng, e)};
    int rc = rate_limit_at(eng, e, false, &a.rate_limit, err);
    if (rc < 0)
        return rc;
    snprintf(a.experiment, sizeof(a.experiment), "%s", e->key);
    snprintf(a.state, sizeof(a.state), "%s", sy_exp_state_name(e->state));
    weights_of(e, NULL, a.weights);
    *out = a;
    return 0;
}

/* ---- changing ----------------------------------------------------------------------------- */

/* The health of variant `i` so far: what a later health check compares against. */
static json_t *baseline_json(const struct experiment *e, size_t i)
{
    const struct agg *a = &e->arms[i].a;
    double n = (double)a->units;
    json_t *o =
        json_pack("{sssIsoso}", "variant", e->arms[i].key, "units", (json_int_t)a->units,
                  "success_rate", a->units ? json_real((double)a->conversions / n) : json_null(),
                  "error_rate", a->units ? json_real((double)a->errors / n) : json_null());
    if (o && a->latency.n &&
        json_object_set_new(o, "latency_mean_ms", json_real((double)a->latency.mean)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Every variant's units now, {variant: units}: the sample a promotion is made on. */
static json_t *sample_json(const struct experiment *e)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < e->n_arms; i++)
        if (json_object_set_new(o, e->arms[i].key, json_integer(e->arms[i].a.units)) < 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

/* A change being written: its history row, written after the experiment's row. */
struct change_write {
    const char *action; /* "step", "promote", "rollback", "bandit" */
    const json_t *before, *after, *detail;
    int64_t at_ms;
    int64_t id; /* the change's row, once written */
};

/* What a promotion leaves to doubt: the promotion API's warnings that hold of a step. */
static json_t *step_warnings(const struct experiment *e)
{
    json_t *w = json_array();
    int64_t crossed = 0;
    for (size_t i = 0; i < e->n_arms; i++)
        crossed += e->arms[i].a.crossovers;
    if ((!e->sequential &&
         json_array_append_new(w, json_string("fixed-horizon p-values: looking at them repeatedly "
                                              "raises false positives (set safety.sequential)")) <
             0) ||
        (crossed && json_array_append_new(
                        w, json_string("some units were exposed to more than one variant")) < 0)) {
        json_decref(w); /* a notification with a warning missing would understate it */
        return NULL;
    }
    return w;
}

/* Appends to the string of `cap` bytes at `buf` whose length is *at, as far as it fits. */
static void append(char *buf, size_t cap, size_t *at, const char *fmt, ...)
{
    if (*at >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, cap - *at, fmt, ap);
    va_end(ap);
    *at = n < 0 ? cap : *at + (size_t)n;
}

/* "confidence 99.86 %, improvement +20.00 %, sample control 5000 / treatment 5000" of a
 * promotion's details, as far as they carry them, into `buf`; its length (0: none). */
static size_t numbers_said(char *buf, size_t cap, const json_t *details)
{
    const json_t *c = json_object_get(details, "confidence"),
                 *i = json_object_get(details, "improvement_pct"),
                 *n = json_object_get(details, "sample");
    size_t at = 0;
    buf[0] = '\0';
    if (json_is_number(c))
        append(buf, cap, &at, "confidence %.2f %%", 100 * json_number_value(c));
    if (json_is_number(i))
        append(buf, cap, &at, "%simprovement %+.2f %%", at ? ", " : "", json_number_value(i));
    const char *k;
    const json_t *v;
    const char *sep = at ? ", sample " : "sample ";
    json_object_foreach((json_t *)n, k, v)
    {
        append(buf, cap, &at, "%s%s %lld", sep, k, (long long)json_integer_value(v));
        sep = " / ";
    }
    return at;
}

/* The notification of a bandit's re-weighting `cw` of `e` (its new weights in place):
 * "bandit_update", info, its weights and each variant's probability of being the best. */
static int notify_bandit(sy_engine_t *eng, const struct experiment *e,
                         const struct change_write *cw, sy_err_t *err)
{
    const json_t *d = cw->detail;
    const char *best = json_string_value(json_object_get(d, "winner"));
    const json_t *p = json_object_get(json_object_get(d, "probability_best"), best ? best : "");
    json_t *details =
        json_pack("{sssOsOsOsOsOsO}", "experiment", e->key, "before", cw->before, "weights",
                  cw->after, "best", json_object_get(d, "winner"), "probability_best",
                  json_object_get(d, "probability_best"), "regret", json_object_get(d, "regret"),
                  "sample_size", json_object_get(d, "units_at"));
    char title[1024], occurrence[48], res[KEY_MAX + 16];
    size_t at = 0;
    append(title, sizeof(title), &at, "%s: bandit re-weighted to", e->key);
    for (size_t i = 0; i < e->n_arms; i++)
        append(title, sizeof(title), &at, " %s=%lld", e->arms[i].key, (long long)e->arms[i].weight);
    if (best && json_is_number(p))
        append(title, sizeof(title), &at, " (best %s, probability %.1f %%)", best,
               100 * json_number_value(p));
    snprintf(occurrence, sizeof(occurrence), "%lld.%zu", (long long)e->id, e->n_changes + 1);
    snprintf(res, sizeof(res), "experiment:%s", e->key);
    struct sy_eng_note n = {.event = "bandit_update",
                            .level = "info",
                            .resource = res,
                            .occurrence = occurrence,
                            .title = title,
                            .details = details};
    int rc = details ? sy_eng_notify(eng, e->ws, &n, err) : sy_eng_oom(err);
    json_decref(details);
    return rc;
}

/* The notification of change `cw` of `xw->e` (its new state and weights in place): a
 * rollback (critical), or a promotion step or a promotion to 100 % (info; warning when it
 * has warnings). A promotion says its numbers (confidence, improvement, every variant's
 * sample) in its title and its details; a rollback its reason, which says the drop and
 * the threshold when the health monitor made it. */
static int notify_change(sy_engine_t *eng, const struct exp_write *xw,
                         const struct change_write *cw, sy_err_t *err)
{
    const struct experiment *e = xw->e;
    if (strcmp(cw->action, "bandit") == 0)
        return notify_bandit(eng, e, cw, err);
    bool rollback = strcmp(cw->action, "rollback") == 0;
    const json_t *d = cw->detail;
    const char *winner = json_string_value(json_object_get(d, "winner"));
    if (!winner)
        winner = json_string_value(json_object_get(d, "variant"));
    int w = winner ? sy_exp_arm_index(e, winner, strlen(winner)) : -1;
    /* a step's improvement is the delta it was given */
    const json_t *improvement = json_object_get(d, "improvement_pct");
    if (!improvement)
        improvement = json_object_get(d, "delta");
    json_t *warnings = rollback ? json_array() : step_warnings(e);
    json_t *details =
        warnings
            ? json_pack(
                  "{sssosOsOsOsssO}", "experiment", e->key, "winner",
                  winner ? json_string(winner) : json_null(), "confidence",
                  json_object_get(d, "confidence") ? json_object_get(d, "confidence") : json_null(),
                  "improvement_pct", improvement ? improvement : json_null(), "sample_size",
                  json_object_get(d, "units_at") ? json_object_get(d, "units_at") : json_null(),
                  "state", sy_exp_state_name(e->state), "weights", cw->after)
            : NULL;
    if (details && ((!rollback && json_object_get(d, "sample") &&
                     json_object_set(details, "sample", json_object_get(d, "sample")) < 0) ||
                    (rollback && json_object_get(d, "reason") &&
                     json_object_set(details, "reason", json_object_get(d, "reason")) < 0) ||
                    json_object_set_new(details, "warnings", json_incref(warnings)) < 0))
        json_decref(details), details = NULL;
    json_decref(warnings);
    char title[REASON_MAX + 1024], said[768], occurrence[48], res[KEY_MAX + 16];
    size_t nw = json_array_size(json_object_get(details, "warnings"));
    bool has_numbers = numbers_said(said, sizeof(said), details) > 0;
    if (rollback)
        snprintf(title, sizeof(title), "Rolled back %s: %s", e->key,
                 json_string_value(json_object_get(d, "reason")));
    else if (e->state == PROMOTED)
        snprintf(title, sizeof(title), "Promoted %s of %s to 100%%%s%s%s%s", winner, e->key,
                 has_numbers ? " (" : "", said, has_numbers ? ")" : "",
                 nw ? " (with warnings)" : "");
    else
        snprintf(title, sizeof(title), "%s: %s stepped to %lld%%%s%s%s%s", e->key, winner,
                 w >= 0 ? (long long)e->arms[w].weight : 0LL, has_numbers ? " (" : "", said,
                 has_numbers ? ")" : "", nw ? " (with warnings)" : "");
    snprintf(occurrence, sizeof(occurrence), "%lld.%zu", (long long)e->id, e->n_changes + 1);
    snprintf(res, sizeof(res), "experiment:%s", e->key);
    struct sy_eng_note n = {.event = rollback ? "rollback"
                                     : nw     ? "promotion_warning"
                                              : "promotion",
                            .level = rollback ? "critical"
                                     : nw     ? "warning"
                                              : "info",
                            .resource = res,
                            .occurrence = occurrence,
                            .title = title,
                            .details = details};
    int rc = details ? sy_eng_notify(eng, e->ws, &n, err) : sy_eng_oom(err);
    json_decref(details);
    return rc;
}

static int write_change(sy_engine_t *eng, struct exp_write *xw, sy_err_t *err)
{
    struct change_write *cw = xw->more_arg;
    char *b = sy_json_dumps(cw->before, JSON_COMPACT), *a = sy_json_dumps(cw->after, JSON_COMPACT);
    char *d = sy_json_dumps(cw->detail, JSON_COMPACT);
    int rc;
    if (!b || !a || !d) {
        rc = sy_eng_oom(err);
    } else {
        sy_store_change_t row = {.workspace = xw->e->ws,
                                 .experiment = xw->e->id,
                                 .at_ms = cw->at_ms,
                                 .action = cw->action,
                                 .actor = sy_eng_actor_name(xw->actor),
                                 .before = b,
                                 .after = a,
                                 .detail = d};
        rc = sy_store_change_add(eng->store, &row, &cw->id, err);
    }
    if (rc == 0) /* the results at the change, its weights in force: the timeline's point */
        rc = sy_exp_timeline_put(eng, xw->e, cw->action, true, err);
    if (rc == 0)
        rc = notify_change(eng, xw, cw, err);
    free(b);
    free(a);
    free(d);
    return rc;
}

static int change_once(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e,
                       const int64_t *weights, enum state state, int winner, const char *action,
                       sy_change_reason_t why, const char *audit_action, json_t *detail,
                       const char *evaluation_id, json_t **after_out, sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, e->ws);
    if (!sy_eng_flag_exists(w, e->flag))
        return sy_err_set(err, SY_ECONFLICT, "flag", "flag \"%.64s\" no longer exists", e->flag);
    /* Room for the change's memory first: `saved` must hold the array as it will stay. */
    if (sy_eng_grow((void **)&e->changes, &e->cap_changes, e->n_changes + 1, sizeof(*e->changes)) <
        0)
        return sy_eng_oom(err);
    struct experiment saved = *e; /* what a failure puts back (with the weights below) */
    int64_t saved_w[SY_EXP_MAX_ARMS];
    json_t *before_w = sy_exp_weights_json(e), *before = sy_exp_to_json(e);
    for (size_t i = 0; i < e->n_arms; i++) {
        saved_w[i] = e->arms[i].weight;
        e->arms[i].weight = weights[i];
    }
    enum state was = e->state;
    e->state = state;
    /* The events the aggregates hold: a batch in flight lands after the change, so that is
     * where a replay must put it too (the log may have it already). */
    int64_t now = sy_engine_now_ms(eng), units_at = exposed_units(e),
            events_at = sy_exp_events_applied(eng);
    bool ok = json_object_set_new(detail, "units_at", json_integer(units_at)) == 0 &&
              json_object_set_new(detail, "events_at", json_integer(events_at)) == 0;
    json_t *after_w = sy_exp_weights_json(e), *after = sy_exp_to_json(e);
    json_t *flag = e->flag_before ? NULL : sy_eng_flag_json(w, e->flag);
    json_t *def = sy_exp_split_flag(eng, e, e->flag_before ? e->flag_before : flag);
    json_decref(flag);
    struct change_write cw = {
        .action = action, .before = before_w, .after = after_w, .detail = detail, .at_ms = now};
    struct exp_write xw = {.e = e,
                           .actor = actor,
                           .action = audit_action,
                           .before = before,
                           .after = after,
                           .more = write_change,
                           .more_arg = &cw};
    int rc =
        ok && before_w && before && after_w && after && def
            ? sy_eng_flag_change(eng, actor, w, e->flag, def, "flag.update", sy_exp_write, &xw, err)
            : sy_eng_oom(err);
    if (rc < 0) {
        *e = saved;
        for (size_t i = 0; i < e->n_arms; i++)
            e->arms[i].weight = saved_w[i];
    } else {
        remember(e, now, strcmp(action, "step") == 0, evaluation_id, units_at, events_at, weights,
                 winner); /* room was made */
        e->changes[e->n_changes - 1].bandit = strcmp(action, "bandit") == 0;
        if (cw.id > eng->x->changes_seen)
            eng->x->changes_seen = cw.id;
        e->changes_upto = cw.id;
        sy_exp_change_begins(e, &e->changes[e->n_changes - 1]);
        e->replayed_changes = e->n_changes;
        /* counted by kind: a bandit's re-weighting is none of the three (its count is its
         * results' "updates") */
        int kind = strcmp(action, "step") == 0       ? 0
                   : strcmp(action, "promote") == 0  ? 1
                   : strcmp(action, "rollback") == 0 ? 2
                                                     : -1;
        int by = actor && actor->token_id ? 1 : 0;
        assert(why >= 0 && why < SY_CHANGE_REASONS);
        for (int k = 0; kind >= 0 && k < 2; k++) { /* the engine's thread alone writes them */
            atomic_llong *c =
                k ? &eng->counted.change_reasons[kind][by][why] : &eng->counted.changes[kind][by];
            atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
        }
        if (e->record_exposures && sy_exp_is_active(was) != sy_exp_is_active(state))
            eng->x->n_recording += sy_exp_is_active(state) ? 1 : -1;
        if (after_out) /* the experiment as committed, made before the commit */
            *after_out = json_incref(after);
    }
    json_decref(before_w);
    json_decref(before);
    json_decref(after_w);
    json_decref(after);
    json_decref(def);
    return rc;
}

/* The workspace's daily limit of steps, as the step was judged against it, again after a
 * tail: other nodes may have stepped other experiments of the workspace meanwhile.
 * SY_ECONFLICT naming max_changes_per_day when it is reached now. */
static int steps_left(sy_engine_t *eng, const struct experiment *e, sy_err_t *err)
{
    sy_daily_changes_t d;
    int rc = daily(eng, e->ws, sy_engine_now_ms(eng), &d, err);
    sy_guardrails_t g = sy_exp_guardrails(eng, e);
    if (rc == 0 && d.count >= g.max_changes_per_day)
        rc = sy_err_set(err, SY_ECONFLICT, "max_changes_per_day",
                        "the workspace made %lld of its %lld changes in a row less than 24 h "
                        "apart (some on another node meanwhile): the count resets 24 h after "
                        "the last",
                        (long long)d.count, (long long)g.max_changes_per_day);
    return rc;
}

/* Several nodes (tail.c): a change is placed in the log where it is made, so it is made
 * holding the log's lock, with every row and change the others committed applied first
 * and no batch of this node in flight; then its place (events_at) is the log's last, and no
 * event comes before it that a node applies after it. The experiment as the caller saw it
 * must still be: another node's change to it met here is SY_ECONFLICT (the caller's weights
 * were made from the old state). SQLite (one node): made at once. */
int sy_exp_change(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e,
                  const int64_t *weights, enum state state, int winner, const char *action,
                  sy_change_reason_t why, const char *audit_action, json_t *detail,
                  const char *evaluation_id, json_t **after_out, sy_err_t *err)
{
    int64_t head;
    int rc = sy_store_log_hold(eng->store, &head, err);
    if (rc < 0)
        return rc;
    if (head >= 0 && sy_eng_in_flight(eng)) {
        sy_store_log_unlock(eng->store); /* this node's writer may wait for it */
        sy_eng_settle(eng);
        if ((rc = sy_store_log_hold(eng->store, &head, err)) < 0)
            return rc;
    }
    if (head >= 0) {
        size_t n = e->n_changes;
        enum state was = e->state;
        int64_t w[SY_EXP_MAX_ARMS];
        for (size_t i = 0; i < e->n_arms; i++)
            w[i] = e->arms[i].weight;
        rc = sy_eng_tail(eng, err);
        bool moved = e->n_changes != n || e->state != was;
        for (size_t i = 0; i < e->n_arms; i++)
            moved |= e->arms[i].weight != w[i];
        if (rc == 0 && moved)
            rc = sy_err_set(err, SY_ECONFLICT, "state",
                            "experiment \"%.64s\" was changed on another node meanwhile (now %s):"
                            " look at it again",
                            e->key, sy_exp_state_name(e->state));
        if (rc == 0 && strcmp(action, "step") == 0)
            rc = steps_left(eng, e, err); /* other experiments' steps count too */
        if (rc < 0) {
            sy_store_log_unlock(eng->store);
            return rc;
        }
    }
    rc = change_once(eng, actor, e, weights, state, winner, action, why, audit_action, detail,
                     evaluation_id, after_out, err);
    if (head >= 0)
        sy_store_log_unlock(eng->store);
    return rc;
}

static int index_of(const struct experiment *e, const char *name, const char *field, size_t *out,
                    sy_err_t *err)
{
    int i = name ? sy_exp_arm_index(e, name, strlen(name)) : -1;
    if (i < 0)
        return sy_err_set(err, -EINVAL, field, "%s names no variant of the experiment", field);
    *out = (size_t)i;
    return 0;
}

/* An optional string of at most `max` bytes: NULL, or one of 1 to `max` bytes. */
static int opt_string(const char *v, const char *field, size_t max, sy_err_t *err)
{
    if (v && (!*v || strlen(v) > max))
        return sy_err_set(err, -EINVAL, field, "%s is a string of 1 to %zu bytes", field, max);
    return 0;
}

/* SY_ECONFLICT naming the guardrail, with a sentence saying why. */
static int refusal(sy_err_t *err, const sy_step_in_t *in, const sy_guardrails_t *g,
                   const char *winner, sy_refusal_t r)
{
    const char *by = sy_refusal_name(r);
    switch (r) {
    case SY_REFUSED_MIN_CONFIDENCE:
        return sy_err_set(err, SY_ECONFLICT, by, "confidence %.4g is below %.4g", in->confidence,
                          g->min_confidence);
    case SY_REFUSED_DELTA:
        return sy_err_set(err, SY_ECONFLICT, by, "delta %g is not above 0", in->delta);
    case SY_REFUSED_COOLDOWN:
        return sy_err_set(err, SY_ECONFLICT, by,
                          "the last change was %.2f h ago; the cooldown is %g h",
                          in->hours_since_last_change, g->cooldown_hours);
    case SY_REFUSED_MAX_CHANGES:
        return sy_err_set(err, SY_ECONFLICT, by,
                          "the workspace made %lld of its %lld changes in a row less than 24 h "
                          "apart: the count resets 24 h after the last",
                          (long long)in->changes_today, (long long)g->max_changes_per_day);
    default:
        return sy_err_set(err, SY_ECONFLICT, by, "variant \"%s\" has all the traffic already",
                          winner);
    }
}

int sy_engine_allocation_apply(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                               const sy_step_request_t *req, sy_step_answer_t *out, sy_err_t *err)
{
    *out = (sy_step_answer_t){0};
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return -ENOENT;
    size_t winner = 0;
    int rc = index_of(e, req->winning_variant, "winning_variant", &winner, err);
    if (rc == 0 && !(req->confidence >= 0 && req->confidence <= 1))
        rc = sy_err_set(err, -EINVAL, "confidence", "confidence is a number from 0 to 1");
    if (rc == 0 && !isfinite(req->delta))
        rc = sy_err_set(err, -EINVAL, "delta", "delta is a number (the winner's delta, in %%)");
    if (rc == 0)
        rc = opt_string(req->evaluation_id, "evaluation_id", ID_MAX, err);
    if (rc < 0)
        return rc;
    return sy_exp_step(eng, actor, e, winner, req->confidence, req->delta, req->evaluation_id,
                       SY_CHANGE_MANUAL, out, err);
}

int sy_exp_step_to(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e,
                   size_t winner, double confidence, double delta, const char *eval_id,
                   json_t **out, sy_err_t *err)
{
    sy_step_answer_t *a = malloc(sizeof(*a));
    if (!a)
        return sy_eng_oom(err);
    int rc =
        sy_exp_step(eng, actor, e, winner, confidence, delta, eval_id, SY_CHANGE_RESULTS, a, err);
    *out = NULL;
    if (rc == 0 || a->refused) {
        json_t *w = json_object();
        for (size_t i = 0; w && i < a->n; i++)
            if (json_object_set_new(w, a->weights[i].key, json_integer(a->weights[i].weight)) < 0)
                json_decref(w), w = NULL;
        *out = a->refused ? json_pack("{sbss}", "applied", 0, "refused_by", a->refused_by)
                          : json_pack("{sbso}", "applied", 1, "weights", w);
        if (a->refused)
            json_decref(w);
        if (!*out && rc == 0)
            rc = sy_eng_oom(err); /* the step is taken: the check tells it as an error */
    }
    free(a);
    return rc;
}

int sy_exp_step(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e, size_t winner,
                double confidence, double delta, const char *eval_id, sy_change_reason_t why,
                sy_step_answer_t *out, sy_err_t *err)
{
    int rc;
    *out = (sy_step_answer_t){.n = e->n_arms};
    if (e->state != RUNNING && e->state != PROMOTING)
        return sy_err_set(err, SY_ECONFLICT, "state",
                          "experiment \"%.64s\" is %s: steps are taken while it runs", e->key,
                          sy_exp_state_name(e->state));
    if (e->bandit.on) /* a step would fight the bandit's next look */
        return sy_err_set(err, SY_ECONFLICT, "bandit",
                          "experiment \"%.64s\" runs as a bandit: its weights follow Thompson "
                          "sampling (promote or roll it back instead)",
                          e->key);
    for (size_t i = 0; eval_id && i < e->n_changes; i++)
        if (strcmp(e->changes[i].evaluation_id, eval_id) == 0) { /* a retry: done already */
            out->applied = out->duplicate = true;
            weights_of(e, NULL, out->weights);
            return 0;
        }
    int64_t weights[SY_EXP_MAX_ARMS], now = sy_engine_now_ms(eng);
    for (size_t i = 0; i < e->n_arms; i++)
        weights[i] = e->arms[i].weight;
    const struct alloc_change *last = last_change(e);
    sy_daily_changes_t d;
    if ((rc = daily(eng, e->ws, now, &d, err)) < 0)
        return rc;
    sy_step_in_t in = {.weights = weights,
                       .n = e->n_arms,
                       .winner = winner,
                       .confidence = confidence,
                       .delta = delta,
                       .has_last_change = last != NULL,
                       .hours_since_last_change = last ? (double)(now - last->at_ms) / 3.6e6 : 0,
                       .changes_today = d.count};
    sy_step_t step;
    sy_guardrails_t g = sy_exp_guardrails(eng, e);
    if ((rc = sy_allocation_step(&in, &g, &step, err)) < 0)
        return rc;
    if (!step.applied) {
        if ((rc = rate_limit_at(eng, e, false, &out->rate_limit, err)) < 0)
            return rc;
        out->refused = true;
        snprintf(out->refused_by, sizeof(out->refused_by), "%s", sy_refusal_name(step.refused_by));
        return refusal(err, &in, &g, e->arms[winner].key, step.refused_by);
    }
    json_t *detail = json_pack("{sssfsfsIso}", "winner", e->arms[winner].key, "confidence",
                               in.confidence, "delta", in.delta, "step", (json_int_t)step.step,
                               "baseline", baseline_json(e, winner));
    if (detail &&
        (json_object_set_new(detail, "sample", sample_json(e)) < 0 ||
         (eval_id && json_object_set_new(detail, "evaluation_id", json_string(eval_id)) < 0)))
        json_decref(detail), detail = NULL;
    enum state to = step.weights[winner] == 100 ? PROMOTED : PROMOTING;
    /* The answer as it will be once committed, made before: after the commit nothing may
     * fail (an error answered for a step that was taken would have it taken again). */
    sy_step_answer_t a = {.applied = true, .step = step.step, .n = e->n_arms};
    weights_of(e, step.weights, a.weights);
    snprintf(a.state, sizeof(a.state), "%s", sy_exp_state_name(to));
    rc = detail ? rate_limit_at(eng, e, true, &a.rate_limit, err) : sy_eng_oom(err);
    if (rc == 0)
        rc = sy_exp_change(eng, actor, e, step.weights, to, (int)winner, "step", why,
                           "allocation.step", detail, eval_id, NULL, err);
    json_decref(detail);
    if (rc == 0)
        *out = a;
    return rc;
}

struct promo_evidence sy_exp_evidence(const sy_experiment_result_t *r, size_t winner)
{
    /* what the checks read: the CUPED-adjusted figures when they decide, else the raw ones
     * (the same numbers as the arm's confidence and lift) */
    const sy_arm_result_t *a = &r->arms[winner];
    return (struct promo_evidence){.has_confidence = a->compared,
                                   .confidence = a->checks.confidence,
                                   .has_improvement = a->compared && a->checks.has_improvement,
                                   .improvement_pct = a->checks.improvement_pct};
}

int sy_exp_promote(sy_engine_t *eng, const sy_principal_t *actor, struct experiment *e,
                   size_t winner, const char *by, const char *mode, const json_t *metadata,
                   const struct promo_evidence *ev, json_t **out, sy_err_t *err)
{
    if (e->state == PROMOTED)
        return sy_err_set(err, SY_ECONFLICT, "state",
                          "experiment \"%.64s\" is promoted already: one promotion at a time",
                          e->key);
    if (e->state != RUNNING && e->state != PROMOTING)
        return sy_err_set(err, SY_ECONFLICT, "state",
                          "experiment \"%.64s\" is %s: it cannot be promoted", e->key,
                          sy_exp_state_name(e->state));
    int64_t weights[SY_EXP_MAX_ARMS] = {0};
    weights[winner] = 100;
    json_t *detail =
        json_pack("{sssssssososo}", "variant", e->arms[winner].key, "promoted_by",
                  by ? by : sy_eng_actor_name(actor), "mode", mode, "confidence",
                  ev->has_confidence ? json_real(ev->confidence) : json_null(), "improvement_pct",
                  ev->has_improvement ? json_real(ev->improvement_pct) : json_null(), "sample",
                  sample_json(e));
    if (detail && ((metadata && json_object_set(detail, "metadata", (json_t *)metadata) < 0) ||
                   json_object_set_new(detail, "baseline", baseline_json(e, winner)) < 0))
        json_decref(detail), detail = NULL;
    sy_change_reason_t why = strcmp(mode, "full") == 0 ? SY_CHANGE_RESULTS : SY_CHANGE_MANUAL;
    int rc = detail ? sy_exp_change(eng, actor, e, weights, PROMOTED, (int)winner, "promote", why,
                                    "experiment.promote", detail, NULL, out, err)
                    : sy_eng_oom(err);
    json_decref(detail);
    return rc;
}

int sy_exp_promote_full(sy_engine_t *eng, struct experiment *e, size_t winner,
                        const struct promo_evidence *ev, sy_err_t *err)
{
    /* The traffic-allocation specification's cooldown is between two changes: it holds a
     * full promotion only after a change (steps taken before the experiment chose "full");
     * the auto-promotion specification's own promotion, of an experiment still at its
     * defined split, is never held by it. */
    const struct alloc_change *last = last_change(e);
    sy_guardrails_t g = sy_exp_guardrails(eng, e);
    double hours = last ? (double)(sy_engine_now_ms(eng) - last->at_ms) / 3.6e6 : 0;
    if (last && !sy_rule_ge(hours, g.cooldown_hours))
        return sy_err_set(err, SY_ECONFLICT, sy_refusal_name(SY_REFUSED_COOLDOWN),
                          "the last change was %.2f h ago; the cooldown is %g h", hours,
                          g.cooldown_hours);
    return sy_exp_promote(eng, NULL, e, winner, "auto-promotion", "full", NULL, ev, NULL, err);
}

int sy_engine_experiment_promote(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                 const sy_promote_request_t *req, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return -ENOENT;
    sy_promote_request_t q = req ? *req : (sy_promote_request_t){0};
    size_t winner = 0;
    int rc = opt_string(q.promoted_by, "promoted_by", 128, err);
    if (rc == 0 && q.variant)
        rc = index_of(e, q.variant, "variant", &winner, err);
    if (rc < 0)
        return rc;
    json_t *metadata = NULL; /* kept as given: the history's detail holds it */
    if (q.metadata) {
        json_error_t je;
        if (!(metadata = sy_json_loadb(q.metadata, strlen(q.metadata), 0, &je)))
            return json_error_code(&je) == json_error_out_of_memory
                       ? sy_eng_oom(err)
                       : sy_err_set(err, -EINVAL, "metadata", "metadata is an object");
        if (!json_is_object(metadata)) {
            json_decref(metadata);
            return sy_err_set(err, -EINVAL, "metadata", "metadata is an object");
        }
    }
    if (e->state != RUNNING && e->state != PROMOTING) { /* before the analysis: it says why */
        rc = sy_exp_promote(eng, actor, e, winner, q.promoted_by, "manual", metadata,
                            &(struct promo_evidence){0}, NULL, err);
        json_decref(metadata);
        return rc;
    }
    /* The results say what the promotion is made on, and name the winner when the request
     * does not. */
    sy_experiment_result_t *r = NULL;
    rc = sy_exp_analyse(eng, e, &r, err);
    /* a named variant is promoted without the numbers only when there are none to have */
    if (rc == -ENOMEM || (rc < 0 && !q.variant)) {
        json_decref(metadata);
        return rc;
    }
    if (!q.variant) {
        if (r->winner < 0) {
            free(r);
            json_decref(metadata);
            return sy_err_set(err, SY_ECONFLICT, "variant",
                              "the results name no winner yet: name the variant to promote");
        }
        winner = (size_t)r->winner;
    }
    struct promo_evidence ev = r ? sy_exp_evidence(r, winner) : (struct promo_evidence){0};
    free(r);
    rc = sy_exp_promote(eng, actor, e, winner, q.promoted_by, "manual", metadata, &ev, NULL, err);
    json_decref(metadata);
    return rc;
}

int sy_engine_experiment_rollback(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                  const sy_rollback_request_t *req, sy_err_t *err)
{
    return sy_eng_exp_rollback(eng, actor, key, req, SY_CHANGE_MANUAL, err);
}

int sy_eng_exp_rollback(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                        const sy_rollback_request_t *req, sy_change_reason_t why, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return -ENOENT;
    const char *reason = req ? req->reason : NULL, *by = req ? req->rolled_back_by : NULL;
    int rc = opt_string(reason, "reason", REASON_MAX, err);
    if (rc == 0)
        rc = opt_string(by, "rolled_back_by", 128, err);
    if (rc < 0)
        return rc;
    if (e->state != RUNNING && e->state != PROMOTING && e->state != PROMOTED)
        return sy_err_set(err, SY_ECONFLICT, "state",
                          "experiment \"%.64s\" is %s: there is nothing to roll back", e->key,
                          sy_exp_state_name(e->state));
    int64_t weights[SY_EXP_MAX_ARMS] = {0};
    weights[e->control] = 100;
    json_t *detail = json_pack("{ssss}", "reason", reason ? reason : "manual rollback",
                               "rolled_back_by", by ? by : sy_eng_actor_name(actor));
    rc = detail ? sy_exp_change(eng, actor, e, weights, ROLLED_BACK, -1, "rollback", why,
                                "experiment.rollback", detail, NULL, NULL, err)
                : sy_eng_oom(err);
    json_decref(detail);
    return rc;
}
