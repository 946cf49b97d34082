/* regression.c - business KPI events and the regression tripwires that watch them.
 *
 * KPI events wait for the group commit of ingest.c (on the writer thread when the server
 * runs one), which writes every KPI submission queued meanwhile in one transaction: the
 * answer comes after the commit. A policy per (domain, metric) says how many of the newest
 * events make the window, how many before them the baseline, and what to do when the rule
 * of core/tripwire.h triggers. Policies and their last evaluation live in the store only:
 * they are read by the API and by a timer every few minutes, never on a hot path.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tripwire.h"
#include "engine/internal.h"

#define KPI_MAX_BATCH 10000
#define KPI_QUEUE_MAX 1000000 /* KPI events waiting for their commit */
#define DETAIL_MAX    4096
#define NAME_MAX_LEN  64
#define TEXT_MAX      512

/* The specification's seed policies: every new workspace has them, disabled. */
static const struct seed {
    const char *domain, *metric;
    double max_drop;
    sy_trip_action_t action;
    sy_trip_measure_t measure;
} seeds[] = {
    {"WHOLESALE", "contract_rate", 0.20, SY_TRIP_THROTTLE, SY_TRIP_RATE},
    {"WHOLESALE", "offer_accept_rate", 0.15, SY_TRIP_THROTTLE, SY_TRIP_RATE},
    {"BUYER_MATCH", "match_success", 0.25, SY_TRIP_THROTTLE, SY_TRIP_RATE},
    {"CAPITAL", "roi_event", 0.30, SY_TRIP_KILL_SWITCH, SY_TRIP_MEAN},
};

/* A field's name inside a batch ("events[3].value") or alone ("value"). */
static const char *field_at(char *buf, size_t cap, long idx, const char *name)
{
    if (idx < 0)
        return name;
    snprintf(buf, cap, "events[%ld].%s", idx, name);
    return buf;
}

static int bad(sy_err_t *err, char *buf, size_t cap, long idx, const char *name, const char *msg)
{
    return sy_err_set(err, -EINVAL, field_at(buf, cap, idx, name), "%s", msg);
}

/* ---- KPI events ------------------------------------------------------------------------ */

/* Checks event `e` (number `idx` of a batch, -1 alone) as the store takes it. */
static int kpi_check(const sy_kpi_event_t *e, long idx, sy_err_t *err)
{
    char f[64];
    if (!sy_eng_valid_name(e->domain, NAME_MAX_LEN))
        return bad(err, f, sizeof(f), idx, "domain", "domain is 1 to 64 characters");
    if (!sy_eng_valid_name(e->metric, NAME_MAX_LEN))
        return bad(err, f, sizeof(f), idx, "metric", "metric is 1 to 64 characters");
    if (!sy_eng_valid_name(e->actor, SY_KPI_TEXT_MAX))
        return bad(err, f, sizeof(f), idx, "actor", "actor is 1 to 128 characters");
    if (e->has_value && !isfinite(e->value))
        return bad(err, f, sizeof(f), idx, "value", "value must be a finite number");
    if (!e->has_success && !e->has_value)
        return bad(err, f, sizeof(f), idx, "success", "an event needs success, value or both");
    if (e->correlation_id && !sy_eng_valid_name(e->correlation_id, SY_KPI_TEXT_MAX))
        return bad(err, f, sizeof(f), idx, "correlation_id",
                   "correlation_id is 1 to 128 characters");
    if (e->id && !sy_eng_valid_name(e->id, SY_KPI_TEXT_MAX))
        return bad(err, f, sizeof(f), idx, "id", "id is 1 to 128 characters");
    if (e->unit && !sy_eng_valid_name(e->unit, SY_KPI_UNIT_MAX))
        return bad(err, f, sizeof(f), idx, "unit",
                   "unit is a string of 1 to 256 bytes, no control characters");
    if (e->detail && strlen(e->detail) > DETAIL_MAX)
        return bad(err, f, sizeof(f), idx, "detail", "detail is at most 4096 bytes of JSON");
    return 0;
}

/* Writes w's events in the open transaction; how many were duplicates into w->dups. */
static int kpi_write(sy_store_t *store, struct kpi_wait *w, sy_err_t *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < w->n; i++) {
        const sy_kpi_event_t *e = &w->ev[i];
        sy_store_kpi_t k = {.workspace = w->ws,
                            .domain = e->domain,
                            .metric = e->metric,
                            .success = e->has_success ? e->success : -1,
                            .has_value = e->has_value,
                            .value = e->has_value ? e->value : 0,
                            .actor = e->actor,
                            .correlation_id = e->correlation_id,
                            .detail = e->detail,
                            .event_id = e->id,
                            .unit = e->unit,
                            .at_ms = w->at_ms};
        bool added = true;
        rc = sy_store_kpi_add(store, &k, &added, err);
        w->dups += !added; /* its id was taken: by a retry of this batch, or earlier in it */
    }
    return rc;
}

int sy_engine_kpi_submit(sy_engine_t *eng, const sy_principal_t *actor, const sy_kpi_event_t *ev,
                         size_t n, bool listed, sy_ingest_done_cb done, void *arg, sy_err_t *err)
{
    struct kpi_queue *q = &eng->kq;
    if (n == 0)
        return sy_err_set(err, -EINVAL, "events", "events is an array of 1 to 10000 events");
    if (n > KPI_MAX_BATCH)
        return sy_err_set(err, -E2BIG, "events", "at most 10000 events per request");
    /* every event is checked before anything is queued: a refusal changes nothing */
    for (size_t i = 0; i < n; i++) {
        int rc = kpi_check(&ev[i], listed ? (long)i : -1, err);
        if (rc < 0)
            return rc;
    }
    if (q->events + n > KPI_QUEUE_MAX)
        return sy_err_set(err, -EAGAIN, "events", "the KPI queue is full: retry in a moment");
    if (sy_eng_grow((void **)&q->w, &q->cap, q->n + 1, sizeof(*q->w)) < 0)
        return sy_eng_oom(err);
    q->w[q->n++] = (struct kpi_wait){.done = done,
                                     .arg = arg,
                                     .ev = ev,
                                     .n = n,
                                     .ws = actor->workspace,
                                     .at_ms = sy_engine_now_ms(eng)};
    q->events += n;
    sy_eng_commit_soon(eng);
    return 0;
}

void sy_eng_kpi_take(sy_engine_t *eng, struct kpi_queue *q)
{
    *q = eng->kq;
    eng->kq = (struct kpi_queue){0};
}

int sy_eng_kpi_write(struct kpi_queue *q, sy_store_t *store, sy_err_t *err)
{
    int rc = sy_store_begin(store, err);
    for (size_t i = 0; rc == 0 && i < q->n; i++)
        rc = kpi_write(store, &q->w[i], err);
    if (rc < 0) {
        sy_store_rollback(store);
        return rc;
    }
    return sy_store_commit(store, err);
}

void sy_eng_kpi_answer(struct kpi_queue *q, int rc, const sy_err_t *err)
{
    for (size_t i = 0; i < q->n; i++) {
        struct kpi_wait *w = &q->w[i];
        sy_ingest_result_t r = {.accepted = rc < 0 ? 0 : w->n - (size_t)w->dups,
                                .duplicates = rc < 0 ? 0 : (size_t)w->dups};
        w->done(w->arg, rc, &r, rc < 0 ? err : NULL); /* the caller's events are its own again */
    }
    free(q->w);
    *q = (struct kpi_queue){0};
}

/* ---- policies --------------------------------------------------------------------------- */

/* A policy as the engine works with it: the store row's strings copied. */
struct policy {
    char domain[NAME_MAX_LEN + 1], metric[NAME_MAX_LEN + 1];
    sy_trip_policy_t p;
    bool enabled;
    char changed_by[128 + 1];
    char *reason; /* owned, or NULL */
    int64_t updated_ms;
    json_t *state; /* owned, or NULL: never evaluated */
};

static void policy_free(struct policy *p)
{
    free(p->reason);
    json_decref(p->state);
}

static int policy_from_row(struct policy *p, const sy_store_regression_t *r)
{
    *p = (struct policy){.enabled = r->enabled, .updated_ms = r->updated_ms};
    snprintf(p->domain, sizeof(p->domain), "%s", r->domain);
    snprintf(p->metric, sizeof(p->metric), "%s", r->metric);
    snprintf(p->changed_by, sizeof(p->changed_by), "%s", r->changed_by ? r->changed_by : "");
    p->p = (sy_trip_policy_t){.window_events = r->window_events,
                              .baseline_events = r->baseline_events,
                              .min_events_to_enforce = r->min_events_to_enforce,
                              .max_drop_fraction = r->max_drop_fraction,
                              .action = sy_trip_action_parse(r->action),
                              .measure = sy_trip_measure_parse(r->measure)};
    json_error_t je;
    p->reason = r->reason ? strdup(r->reason) : NULL;
    p->state = r->state ? json_loads(r->state, 0, &je) : NULL;
    return (r->reason && !p->reason) || (r->state && !p->state) ? -ENOMEM : 0;
}

struct policies {
    struct policy *v;
    size_t n, cap;
};

static int add_policy(void *arg, const sy_store_regression_t *r)
{
    struct policies *ps = arg;
    if (sy_eng_grow((void **)&ps->v, &ps->cap, ps->n + 1, sizeof(*ps->v)) < 0)
        return -ENOMEM;
    int rc = policy_from_row(&ps->v[ps->n], r);
    ps->n++; /* freed with the others either way */
    return rc;
}

static void policies_free(struct policies *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        policy_free(&ps->v[i]);
    free(ps->v);
}

/* The policies of `ws` (only (domain, metric) when given) into *ps. */
static int load(sy_engine_t *eng, int64_t ws, const char *domain, const char *metric,
                struct policies *ps, sy_err_t *err)
{
    *ps = (struct policies){0};
    int rc = sy_store_regression_list(eng->store, ws, domain, metric, add_policy, ps, err);
    if (rc < 0)
        policies_free(ps);
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

static json_t *policy_json(const struct policy *p)
{
    return json_pack("{sssssIsIsIsfsssssbsssosI}", "domain", p->domain, "metric", p->metric,
                     "window_events", (json_int_t)p->p.window_events, "baseline_events",
                     (json_int_t)p->p.baseline_events, "min_events_to_enforce",
                     (json_int_t)p->p.min_events_to_enforce, "max_drop_fraction",
                     p->p.max_drop_fraction, "action", sy_trip_action_name(p->p.action), "measure",
                     sy_trip_measure_name(p->p.measure), "enabled", p->enabled, "changed_by",
                     p->changed_by, "reason", p->reason ? json_string(p->reason) : json_null(),
                     "updated_ms", (json_int_t)p->updated_ms);
}

static int write_policy(sy_engine_t *eng, int64_t ws, const struct policy *p, bool only_new,
                        bool *created, sy_err_t *err)
{
    char *state = p->state ? sy_json_dumps(p->state, JSON_COMPACT) : NULL;
    if (p->state && !state)
        return sy_eng_oom(err);
    sy_store_regression_t r = {.workspace = ws,
                               .domain = p->domain,
                               .metric = p->metric,
                               .window_events = p->p.window_events,
                               .baseline_events = p->p.baseline_events,
                               .min_events_to_enforce = p->p.min_events_to_enforce,
                               .max_drop_fraction = p->p.max_drop_fraction,
                               .action = sy_trip_action_name(p->p.action),
                               .measure = sy_trip_measure_name(p->p.measure),
                               .enabled = p->enabled,
                               .changed_by = p->changed_by,
                               .reason = p->reason,
                               .updated_ms = p->updated_ms,
                               .state = state};
    int rc = sy_store_regression_put(eng->store, &r, only_new, created, err);
    free(state);
    return rc;
}

static void resource_of(char *buf, size_t cap, const char *domain, const char *metric)
{
    snprintf(buf, cap, "regression:%s/%s", domain, metric);
}

/* The notification of a tripwire of `ws` that triggered (or was reset: `cleared`), with
 * its state as the details. In the open transaction. */
static int notify_tripwire(sy_engine_t *eng, int64_t ws, const struct policy *p, bool cleared,
                           sy_err_t *err)
{
    char res[160], title[TEXT_MAX + 256], when[24];
    resource_of(res, sizeof(res), p->domain, p->metric);
    const char *note = json_string_value(json_object_get(p->state, "note"));
    if (cleared)
        snprintf(title, sizeof(title), "Tripwire %s/%s reset: %s", p->domain, p->metric,
                 note ? note : "re-enabled");
    else
        snprintf(title, sizeof(title), "Tripwire %s/%s triggered (%s): %s", p->domain, p->metric,
                 p->p.action == SY_TRIP_THROTTLE ? "THROTTLE" : "KILL_SWITCH",
                 note ? note : "regression");
    snprintf(when, sizeof(when), "%lld", (long long)sy_engine_now_ms(eng));
    struct sy_eng_note n = {.event = "tripwire",
                            .level = "critical",
                            .resolve = cleared,
                            .condition = true,
                            .resource = res,
                            .occurrence = when,
                            .title = title,
                            .details = p->state};
    return sy_eng_notify(eng, ws, &n, err);
}

/* ---- what a tripwire sees ---------------------------------------------------------------- */

/* A place in a series as the state keeps it, {"at_ms", "id"}; and back (false: none). */
static json_t *place_json(const sy_store_kpi_place_t *p)
{
    return json_pack("{sIsI}", "at_ms", (json_int_t)p->at_ms, "id", (json_int_t)p->id);
}

static bool place_from(const json_t *o, sy_store_kpi_place_t *p)
{
    const json_t *at = json_object_get(o, "at_ms"), *id = json_object_get(o, "id");
    if (!json_is_integer(at) || !json_is_integer(id))
        return false;
    *p = (sy_store_kpi_place_t){json_integer_value(at), json_integer_value(id)};
    return true;
}

/* The events `p` sees since its last reset: none of those from its trip to the reset (the
 * state's "excluded"). Its window takes only events after them (`after_gap`); its baseline
 * the events before its window, the excluded left out. */
static sy_store_kpi_span_t span_of(const struct policy *p)
{
    sy_store_kpi_span_t span = {0};
    const json_t *x = json_object_get(p->state, "excluded");
    span.has_gap = place_from(json_object_get(x, "from"), &span.gap_from) &&
                   place_from(json_object_get(x, "to"), &span.gap_to);
    return span;
}

/* Resets a triggered `p` of `ws` (re-enabled with `reason`): not triggered, and the events
 * from the first event of the window that tripped it ("trip_from") to the newest one now
 * left out of what it sees, so that they cannot trip it again. The baseline it compares
 * with is what came before them. A state from before trips were placed leaves out
 * everything up to now. */
static int reset_state(sy_engine_t *eng, int64_t ws, struct policy *p, const char *reason,
                       sy_err_t *err)
{
    sy_store_kpi_place_t from = {INT64_MIN, INT64_MIN}, to;
    bool found;
    int rc = sy_store_kpi_place(eng->store, ws, p->domain, p->metric, p->p.measure == SY_TRIP_MEAN,
                                NULL, 0, &to, &found, err);
    if (rc < 0)
        return rc;
    (void)place_from(json_object_get(p->state, "trip_from"), &from); /* absent: from the first */
    char note[TEXT_MAX + 32];
    snprintf(note, sizeof(note), "RE-ENABLED: %s", reason);
    json_t *x = found ? json_pack("{soso}", "from", place_json(&from), "to", place_json(&to))
                      : json_incref(json_object_get(p->state, "excluded"));
    if ((found && !x) || json_object_set_new(p->state, "triggered", json_false()) < 0 ||
        json_object_set_new(p->state, "action", json_null()) < 0 ||
        json_object_set_new(p->state, "note", json_string(note)) < 0 ||
        json_object_set_new(p->state, "reset_at", json_integer(sy_engine_now_ms(eng))) < 0 ||
        json_object_set_new(p->state, "excluded", x ? x : json_null()) < 0)
        return sy_eng_oom(err);
    json_object_del(p->state, "trip_from");
    return 0;
}

int sy_eng_regression_seed(sy_engine_t *eng, int64_t ws, sy_err_t *err)
{
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        struct policy p = {
            .p = SY_TRIP_POLICY_DEFAULTS, .enabled = false, .updated_ms = sy_engine_now_ms(eng)};
        snprintf(p.domain, sizeof(p.domain), "%s", seeds[i].domain);
        snprintf(p.metric, sizeof(p.metric), "%s", seeds[i].metric);
        snprintf(p.changed_by, sizeof(p.changed_by), "system");
        p.p.max_drop_fraction = seeds[i].max_drop;
        p.p.action = seeds[i].action;
        p.p.measure = seeds[i].measure;
        p.reason = (char *)"seed policy";
        bool created;
        int rc = write_policy(eng, ws, &p, true, &created, err);
        json_t *after = rc == 0 && created ? policy_json(&p) : NULL;
        if (rc == 0 && created) {
            char res[160];
            resource_of(res, sizeof(res), p.domain, p.metric);
            rc = after ? sy_eng_audit(eng, NULL, ws, "regression.policy.create", res, NULL, after,
                                      err)
                       : sy_eng_oom(err);
        }
        json_decref(after);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* How many of the seeds each workspace has: one count per eng->ws, by index. */
struct seeded {
    sy_engine_t *eng;
    size_t *n;
};

static int count_seed(void *arg, const sy_store_regression_t *r)
{
    struct seeded *sd = arg;
    struct workspace *w = sy_eng_find_ws(sd->eng, r->workspace);
    for (size_t i = 0; w && i < sizeof(seeds) / sizeof(seeds[0]); i++)
        if (strcmp(r->domain, seeds[i].domain) == 0 && strcmp(r->metric, seeds[i].metric) == 0)
            sd->n[w - sd->eng->ws]++;
    return 0;
}

int sy_eng_regression_open(sy_engine_t *eng, sy_err_t *err)
{
    /* Workspaces made before policies existed get the seeds once (they are never
     * deleted, so a workspace that has them is left alone). Which have them all is read in
     * one statement: a start among thousands of workspaces writes nothing for them. */
    struct seeded sd = {.eng = eng, .n = calloc(eng->n_ws ? eng->n_ws : 1, sizeof(size_t))};
    if (!sd.n)
        return sy_eng_oom(err);
    int rc = sy_store_regression_list(eng->store, -1, NULL, NULL, count_seed, &sd, err);
    bool any = false;
    for (size_t i = 0; rc == 0 && i < eng->n_ws; i++)
        any |= sd.n[i] < sizeof(seeds) / sizeof(seeds[0]);
    if (rc < 0 || !any) {
        free(sd.n);
        return rc;
    }
    rc = sy_store_begin(eng->store, err);
    for (size_t i = 0; rc == 0 && i < eng->n_ws; i++)
        if (sd.n[i] < sizeof(seeds) / sizeof(seeds[0]))
            rc = sy_eng_regression_seed(eng, eng->ws[i].id, err);
    free(sd.n);
    if (rc < 0) {
        sy_store_rollback(eng->store);
        return rc;
    }
    return sy_store_commit(eng->store, err);
}

/* What the API answers of `p`: no pointer into it. */
static void policy_out(const struct policy *p, sy_regression_policy_t *o)
{
    *o = (sy_regression_policy_t){.p = p->p, .enabled = p->enabled, .updated_ms = p->updated_ms};
    snprintf(o->domain, sizeof(o->domain), "%s", p->domain);
    snprintf(o->metric, sizeof(o->metric), "%s", p->metric);
    snprintf(o->changed_by, sizeof(o->changed_by), "%s", p->changed_by);
    snprintf(o->reason, sizeof(o->reason), "%s", p->reason ? p->reason : "");
}

int sy_engine_regression_policies(sy_engine_t *eng, const sy_principal_t *actor,
                                  sy_regression_policy_t **out, size_t *n, sy_err_t *err)
{
    struct policies ps;
    int rc = load(eng, actor->workspace, NULL, NULL, &ps, err);
    if (rc < 0)
        return rc;
    sy_regression_policy_t *v = calloc(ps.n ? ps.n : 1, sizeof(*v));
    for (size_t i = 0; v && i < ps.n; i++)
        policy_out(&ps.v[i], &v[i]);
    *n = ps.n;
    policies_free(&ps);
    if (!v)
        return sy_eng_oom(err);
    *out = v;
    return 0;
}

/* Applies change `c` over *p (its current or default values). */
static int policy_fields(const sy_regression_policy_change_t *c, struct policy *p, sy_err_t *err)
{
    if (c->has_window_events)
        p->p.window_events = c->window_events;
    if (c->has_baseline_events)
        p->p.baseline_events = c->baseline_events;
    if (c->has_min_events_to_enforce)
        p->p.min_events_to_enforce = c->min_events_to_enforce;
    if (c->has_max_drop_fraction)
        p->p.max_drop_fraction = c->max_drop_fraction;
    if (c->action && !(p->p.action = sy_trip_action_parse(c->action)))
        return sy_err_set(err, -EINVAL, "action", "action must be THROTTLE or KILL_SWITCH");
    if (c->measure && !(p->p.measure = sy_trip_measure_parse(c->measure)))
        return sy_err_set(err, -EINVAL, "measure", "measure must be rate or mean");
    if (c->has_enabled)
        p->enabled = c->enabled;
    if (c->changed_by && !sy_eng_valid_name(c->changed_by, SY_KPI_TEXT_MAX))
        return sy_err_set(err, -EINVAL, "changed_by",
                          "changed_by is a string of 1 to 128 characters");
    if (c->reason && !sy_eng_valid_name(c->reason, TEXT_MAX))
        return sy_err_set(err, -EINVAL, "reason", "reason is a string of 1 to 512 characters");
    return sy_trip_policy_check(&p->p, err);
}

int sy_engine_regression_policy_put(sy_engine_t *eng, const sy_principal_t *actor,
                                    const sy_regression_policy_change_t *change,
                                    sy_regression_policy_t *out, sy_err_t *err)
{
    const char *domain = change->domain, *metric = change->metric;
    if (!sy_eng_valid_name(domain, NAME_MAX_LEN))
        return sy_err_set(err, -EINVAL, "domain", "domain is 1 to 64 characters");
    if (!sy_eng_valid_name(metric, NAME_MAX_LEN))
        return sy_err_set(err, -EINVAL, "metric", "metric is 1 to 64 characters");
    struct policies ps;
    int rc = load(eng, actor->workspace, domain, metric, &ps, err);
    if (rc < 0)
        return rc;
    bool existed = ps.n == 1;
    struct policy p = {.p = SY_TRIP_POLICY_DEFAULTS, .enabled = true};
    if (existed) {
        p = ps.v[0];
        ps.v[0] = (struct policy){0}; /* p owns its reason and state now */
    } else {
        snprintf(p.domain, sizeof(p.domain), "%s", domain);
        snprintf(p.metric, sizeof(p.metric), "%s", metric);
    }
    policies_free(&ps);
    json_t *before = existed ? policy_json(&p) : NULL, *after = NULL;
    const char *changed_by = change->changed_by ? change->changed_by : sy_eng_actor_name(actor);
    const char *reason = change->reason;
    bool was_enabled = p.enabled, tripped = json_is_true(json_object_get(p.state, "triggered"));
    if ((rc = policy_fields(change, &p, err)) < 0)
        goto out;
    /* Re-enabling (a disabled or a triggered tripwire) says why: the specification's step 7
     * re-enables "with a reason", and the reason is what the audit and the state keep. */
    bool enabling = existed && change->has_enabled && change->enabled;
    if (enabling && (!was_enabled || tripped) && !reason) {
        rc = sy_err_set(err, -EINVAL, "reason",
                        "re-enabling the tripwire %s/%s needs a reason (what was fixed)", p.domain,
                        p.metric);
        goto out;
    }
    snprintf(p.changed_by, sizeof(p.changed_by), "%s", changed_by);
    if (reason) {
        free(p.reason);
        if (!(p.reason = strdup(reason))) {
            rc = sy_eng_oom(err);
            goto out;
        }
    }
    p.updated_ms = sy_engine_now_ms(eng);
    /* Re-enabling a triggered tripwire, with a reason, resets it and restores what its
     * THROTTLE disabled. */
    bool reset = enabling && tripped;
    if (reset && (rc = reset_state(eng, actor->workspace, &p, reason, err)) < 0)
        goto out;
    char res[160];
    resource_of(res, sizeof(res), p.domain, p.metric);
    if (!(after = policy_json(&p)) || (existed && !before)) {
        rc = sy_eng_oom(err);
        goto out;
    }
    if ((rc = sy_store_begin(eng->store, err)) < 0)
        goto out;
    if ((rc = write_policy(eng, actor->workspace, &p, false, NULL, err)) < 0 ||
        (rc = sy_eng_audit(eng, actor, actor->workspace,
                           existed ? "regression.policy.update" : "regression.policy.create", res,
                           before, after, err)) < 0 ||
        (reset && (rc = notify_tripwire(eng, actor->workspace, &p, true, err)) < 0) ||
        (reset && p.p.action == SY_TRIP_THROTTLE &&
         (rc = sy_eng_risk_throttle(eng, actor, actor->workspace, p.domain, true, reason, err)) <
             0))
        sy_store_rollback(eng->store);
    else
        rc = sy_store_commit(eng->store, err);
    if (rc == 0)
        policy_out(&p, out);
out:
    json_decref(before);
    json_decref(after);
    policy_free(&p);
    return rc;
}

/* ---- evaluation ------------------------------------------------------------------------- */

/* Evaluates `p` of `ws` now: its new state into p->state, and whether it just triggered
 * (it was not triggered before) into *fired. */
static int evaluate(sy_engine_t *eng, int64_t ws, struct policy *p, bool *fired, sy_err_t *err)
{
    bool values = p->p.measure == SY_TRIP_MEAN;
    sy_kpi_window_t win, base;
    /* the window: the newest events since the last reset; the baseline: those before it */
    sy_store_kpi_span_t span = span_of(p), since = span;
    since.after_gap = true;
    int rc;
    if ((rc = sy_store_kpi_window(eng->store, ws, p->domain, p->metric, values, &since, 0,
                                  p->p.window_events, &win.events, &win.successes, &win.mean,
                                  err)) < 0 ||
        (rc = sy_store_kpi_window(eng->store, ws, p->domain, p->metric, values, &span, win.events,
                                  p->p.baseline_events, &base.events, &base.successes, &base.mean,
                                  err)) < 0)
        return rc;
    sy_trip_t t;
    if ((rc = sy_tripwire_eval(&base, &win, &p->p, &t, err)) < 0)
        return rc;
    int64_t now = sy_engine_now_ms(eng);
    const json_t *old = p->state;
    bool was = json_is_true(json_object_get(old, "triggered"));
    json_t *last = json_object_get(old, "last_triggered_at");
    char note[160];
    if (t.triggered)
        snprintf(note, sizeof(note), "TRIGGERED drop=%.3f action=%s", t.drop_fraction,
                 sy_trip_action_name(t.action));
    else if (t.enforced)
        snprintf(note, sizeof(note), "OK drop=%.3f threshold=%.3f", t.drop_fraction,
                 p->p.max_drop_fraction);
    else
        snprintf(
            note, sizeof(note), "NOT_ENFORCED window=%lld baseline=%lld min_events_to_enforce=%lld",
            (long long)win.events, (long long)base.events, (long long)p->p.min_events_to_enforce);
    json_t *st =
        json_pack("{sbsbsososososIsIsIso}", "triggered", t.triggered, "enforced", t.enforced,
                  "action", t.triggered ? json_string(sy_trip_action_name(t.action)) : json_null(),
                  "baseline", t.has_values ? json_real(t.baseline) : json_null(), "current",
                  t.has_values ? json_real(t.current) : json_null(), "drop_fraction",
                  t.has_values ? json_real(t.drop_fraction) : json_null(), "window_events",
                  (json_int_t)win.events, "baseline_events", (json_int_t)base.events,
                  "last_checked_at", (json_int_t)now, "last_triggered_at",
                  t.triggered ? json_integer(now)
                  : last      ? json_incref(last)
                              : json_null());
    if (!st || json_object_set_new(st, "note", json_string(note)) < 0) {
        json_decref(st);
        return sy_eng_oom(err);
    }
    /* Kept for a reset: what it leaves out (the last reset's), and where the window that
     * tripped it began (the first trip's, while it stays triggered). */
    const char *keep[] = {"excluded", "reset_at", t.triggered && was ? "trip_from" : NULL};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        const json_t *v = keep[i] ? json_object_get(old, keep[i]) : NULL;
        if (v && json_object_set(st, keep[i], (json_t *)v) < 0)
            rc = sy_eng_oom(err);
    }
    sy_store_kpi_place_t first;
    bool found = false;
    if (rc == 0 && t.triggered && !was &&
        (rc = sy_store_kpi_place(eng->store, ws, p->domain, p->metric, values, &since,
                                 win.events - 1, &first, &found, err)) == 0 &&
        found && json_object_set_new(st, "trip_from", place_json(&first)) < 0)
        rc = sy_eng_oom(err);
    if (rc < 0) {
        json_decref(st);
        return rc;
    }
    json_decref(p->state);
    p->state = st;
    *fired = t.triggered && !was;
    return 0;
}

/* A policy's state as the API answers it: which it is, and its last evaluation (or that
 * there was none), read from the state the store keeps. */
static void state_out(const struct policy *p, int64_t ws, sy_tripwire_state_t *o)
{
    *o = (sy_tripwire_state_t){.workspace = ws, .enabled = p->enabled};
    snprintf(o->domain, sizeof(o->domain), "%s", p->domain);
    snprintf(o->metric, sizeof(o->metric), "%s", p->metric);
    const json_t *st = p->state;
    if (!st) {
        snprintf(o->note, sizeof(o->note), "never evaluated");
        return;
    }
    o->evaluated = true;
    o->triggered = json_is_true(json_object_get(st, "triggered"));
    o->enforced = json_is_true(json_object_get(st, "enforced"));
    o->action = sy_trip_action_parse(json_string_value(json_object_get(st, "action")));
    const json_t *base = json_object_get(st, "baseline");
    o->has_values = json_is_number(base);
    o->baseline = json_number_value(base);
    o->current = json_number_value(json_object_get(st, "current"));
    o->drop_fraction = json_number_value(json_object_get(st, "drop_fraction"));
    o->window_events = json_integer_value(json_object_get(st, "window_events"));
    o->baseline_events = json_integer_value(json_object_get(st, "baseline_events"));
    o->last_checked_at = json_integer_value(json_object_get(st, "last_checked_at"));
    const json_t *last = json_object_get(st, "last_triggered_at");
    o->has_last_triggered = json_is_integer(last);
    o->last_triggered_at = json_integer_value(last);
    const char *note = json_string_value(json_object_get(st, "note"));
    snprintf(o->note, sizeof(o->note), "%s", note ? note : "");
    const json_t *reset = json_object_get(st, "reset_at");
    o->has_reset_at = json_is_integer(reset);
    o->reset_at = json_integer_value(reset);
    const json_t *x = json_object_get(st, "excluded");
    o->has_excluded = x != NULL;
    o->excluded_set = place_from(json_object_get(x, "from"), &o->excluded_from) &&
                      place_from(json_object_get(x, "to"), &o->excluded_to);
    o->has_trip_from = place_from(json_object_get(st, "trip_from"), &o->trip_from);
}

/* A growing list of states (an answer). */
struct states {
    sy_tripwire_state_t *v;
    size_t n, cap;
};

/* Evaluates the enabled policies of `ws` (or the one (domain, metric), enabled or not
 * SY_ECONFLICT) and stores their states, one transaction with the audit of each trigger.
 * Appends the states to `list` (nothing on a failure). */
static int evaluate_ws(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws,
                       const char *domain, const char *metric, struct states *list, sy_err_t *err)
{
    struct policies ps;
    int rc = load(eng, ws, domain, metric, &ps, err);
    if (rc < 0)
        return rc;
    if (domain && ps.n == 0)
        rc = sy_err_set(err, -ENOENT, "metric", "no regression policy for %s/%s", domain, metric);
    else if (domain && !ps.v[0].enabled)
        rc = sy_err_set(err, SY_ECONFLICT, "enabled", "the policy for %s/%s is disabled", domain,
                        metric);
    if (rc == 0)
        rc = sy_store_begin(eng->store, err);
    if (rc < 0) {
        policies_free(&ps);
        return rc;
    }
    struct kill_change killed = {0};
    bool kill = false; /* a KILL_SWITCH tripwire engaged it: set once committed */
    for (size_t i = 0; rc == 0 && i < ps.n; i++) {
        struct policy *p = &ps.v[i];
        if (!p->enabled)
            continue;
        bool fired = false;
        if ((rc = evaluate(eng, ws, p, &fired, err)) < 0 ||
            (rc = write_policy(eng, ws, p, false, NULL, err)) < 0)
            break;
        if (fired) {
            char res[160];
            resource_of(res, sizeof(res), p->domain, p->metric);
            rc = sy_eng_audit(eng, actor, ws, "regression.trigger", res, NULL, p->state, err);
            if (rc == 0)
                rc = notify_tripwire(eng, ws, p, false, err);
            char why[TEXT_MAX];
            snprintf(why, sizeof(why), "tripwire %s/%s: %s", p->domain, p->metric,
                     json_string_value(json_object_get(p->state, "note")));
            if (rc == 0 && p->p.action == SY_TRIP_THROTTLE)
                rc = sy_eng_risk_throttle(eng, actor, ws, p->domain, false, why, err);
            else if (rc == 0 && !kill && !sy_engine_kill_switch_engaged(eng, ws, NULL, 0) &&
                     (rc = sy_eng_kill_switch_write(eng, actor, ws, true, why, "tripwire", &killed,
                                                    err)) == 0)
                kill = true;
        }
    }
    /* the answer, before the commit: after it nothing may fail */
    size_t had = list->n;
    for (size_t i = 0; rc == 0 && i < ps.n; i++) {
        if (!ps.v[i].enabled)
            continue;
        if (sy_eng_grow((void **)&list->v, &list->cap, list->n + 1, sizeof(*list->v)) < 0)
            rc = sy_eng_oom(err);
        else
            state_out(&ps.v[i], ws, &list->v[list->n++]);
    }
    if (rc < 0)
        sy_store_rollback(eng->store);
    else
        rc = sy_store_commit(eng->store, err);
    if (rc == 0 && kill)
        sy_eng_kill_switch_set(eng, ws, &killed);
    else
        sy_eng_kill_switch_drop(&killed);
    if (rc < 0)
        list->n = had;
    policies_free(&ps);
    return rc;
}

/* The workspaces with an enabled policy, by id, each once (the store lists by workspace). */
static int take_enabled(void *arg, const sy_store_regression_t *r)
{
    return r->enabled ? sy_eng_ids_add(arg, r->workspace) : 0;
}

int sy_engine_regression_evaluate(sy_engine_t *eng, const sy_principal_t *actor, const char *domain,
                                  const char *metric, sy_tripwire_state_t **out, size_t *n,
                                  sy_err_t *err)
{
    if ((domain == NULL) != (metric == NULL))
        return sy_err_set(err, -EINVAL, domain ? "metric" : "domain",
                          "give both domain and metric, or neither for every policy");
    /* the answer's first place now: each workspace's states join it before its commit */
    struct states list = {0};
    int rc = sy_eng_grow((void **)&list.v, &list.cap, 1, sizeof(*list.v)) < 0 ? sy_eng_oom(err) : 0;
    /* The timer's evaluation of every workspace looks at those with an enabled policy only,
     * found in one read (each workspace's own read and transaction, every 5 minutes, were
     * thousands of statements on the leader); a workspace without one answers nothing. */
    struct sy_eng_ids on = {0};
    bool every = !actor && !domain;
    if (rc == 0 && every &&
        (rc = sy_store_regression_list(eng->store, -1, NULL, NULL, take_enabled, &on, err)) ==
            -ENOMEM)
        rc = sy_eng_oom(err);
    for (size_t i = 0; rc == 0 && i < eng->n_ws; i++)
        if ((!actor || eng->ws[i].id == actor->workspace) &&
            (!every || sy_eng_ids_has(&on, eng->ws[i].id)))
            rc = evaluate_ws(eng, actor, eng->ws[i].id, domain, metric, &list, err);
    free(on.v);
    if (rc < 0) {
        free(list.v);
        return rc;
    }
    *out = list.v;
    *n = list.n;
    return 0;
}

int sy_engine_regression_state(sy_engine_t *eng, const sy_principal_t *actor,
                               sy_tripwire_state_t **out, size_t *n, sy_err_t *err)
{
    struct policies ps;
    int rc = load(eng, actor->workspace, NULL, NULL, &ps, err);
    if (rc < 0)
        return rc;
    sy_tripwire_state_t *v = calloc(ps.n ? ps.n : 1, sizeof(*v));
    for (size_t i = 0; v && i < ps.n; i++)
        state_out(&ps.v[i], actor->workspace, &v[i]);
    *n = ps.n;
    policies_free(&ps);
    if (!v)
        return sy_eng_oom(err);
    *out = v;
    return 0;
}

/* Every workspace's states, in one read of the store (the board). */
struct all_states {
    sy_tripwire_state_t *v;
    size_t n, cap;
};

static int add_state(void *arg, const sy_store_regression_t *r)
{
    struct all_states *a = arg;
    if (sy_eng_grow((void **)&a->v, &a->cap, a->n + 1, sizeof(*a->v)) < 0)
        return -ENOMEM;
    struct policy p;
    int rc = policy_from_row(&p, r);
    if (rc == 0)
        state_out(&p, r->workspace, &a->v[a->n++]);
    policy_free(&p);
    return rc;
}

int sy_eng_regression_states(sy_engine_t *eng, sy_tripwire_state_t **out, size_t *n, sy_err_t *err)
{
    struct all_states a = {0};
    int rc = sy_store_regression_list(eng->store, -1, NULL, NULL, add_state, &a, err);
    if (rc < 0) {
        free(a.v);
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    }
    *out = a.v;
    *n = a.n;
    return 0;
}

/* ---- retention (retention.c) -------------------------------------------------------------- */

/* A tripwire reads at most the newest window_events + baseline_events events of its
 * series that its span lets through (its window the newest after the gap, its baseline
 * those before the window), and a reset only moves what it reads toward newer events,
 * except that its baseline then reads the events before "trip_from". So: a series with a
 * policy keeps its events from the oldest place the policy reads now, and whole while the
 * policy is triggered (its reset may reach before trip_from) or reads fewer events than
 * it would take; the other series keep nothing older than `before_ms`. */
int sy_eng_kpi_retention(sy_engine_t *eng, int64_t before_ms, int64_t limit, int64_t *pruned,
                         sy_err_t *err)
{
    *pruned = 0;
    int rc = 0;
    for (size_t w = 0; rc == 0 && w < eng->n_ws; w++) {
        struct policies ps;
        if ((rc = load(eng, eng->ws[w].id, NULL, NULL, &ps, err)) < 0)
            break;
        for (size_t i = 0; rc == 0 && i < ps.n; i++) {
            const struct policy *p = &ps.v[i];
            if (json_object_get(p->state, "trip_from") ||
                json_is_true(json_object_get(p->state, "triggered")))
                continue;
            sy_store_kpi_span_t span = span_of(p);
            sy_store_kpi_place_t keep;
            bool found;
            int64_t n = 0;
            rc = sy_store_kpi_place(
                eng->store, eng->ws[w].id, p->domain, p->metric, p->p.measure == SY_TRIP_MEAN,
                &span, p->p.window_events + p->p.baseline_events - 1, &keep, &found, err);
            if (rc == 0 && found)
                rc = sy_store_kpi_prune(eng->store, eng->ws[w].id, p->domain, p->metric, &keep,
                                        before_ms, limit, &n, err);
            *pruned += n;
        }
        policies_free(&ps);
    }
    int64_t n = 0;
    if (rc == 0)
        rc = sy_store_kpi_prune(eng->store, 0, NULL, NULL, NULL, before_ms, limit, &n, err);
    *pruned += n;
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}
