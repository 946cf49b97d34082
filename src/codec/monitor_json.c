/* monitor_json.c - the health monitor's and the auto-promotion check's JSON; see
 * monitor_json.h. */
#include "codec/monitor_json.h"

#include <float.h>
#include <stddef.h>

/* The bounds are the engine's (sy_engine_experiment_health), which it checks with these
 * sentences: the schema asks for the kinds. */
#define PUSH(m) offsetof(sy_health_push_t, m)
static const sy_field_t push_fields[] = {
    {"success_rate", SY_K_NUMBER, PUSH(success_rate), SY_UNTRACKED, .required = true,
     .lo = -DBL_MAX, .hi = DBL_MAX, .says = "a number from 0 to 1"},
    {"error_rate", SY_K_NUMBER, PUSH(error_rate), SY_UNTRACKED, .required = true, .lo = -DBL_MAX,
     .hi = DBL_MAX, .says = "a number from 0 to 1"},
    {"p95_ms", SY_K_NUMBER, PUSH(p95_ms), PUSH(has_p95_ms), .lo = -DBL_MAX, .hi = DBL_MAX,
     .says = "a number of ms >= 0"},
    {"retry_rate", SY_K_NUMBER, PUSH(retry_rate), PUSH(has_retry_rate), .lo = -DBL_MAX,
     .hi = DBL_MAX, .says = "a number from 0 to 1"},
};
const sy_schema_t sy_health_push_schema = SY_SCHEMA(push_fields);

#define CHECK(m) offsetof(sy_auto_check_body_t, m)
static const sy_field_t check_fields[] = {
    {"dry_run", SY_K_BOOL, CHECK(dry_run), CHECK(has_dry_run), .says = "true or false"},
};
const sy_schema_t sy_auto_check_body_schema = SY_SCHEMA(check_fields);

/* Sets `key` of `o` to `v` (taken): false, with `o` released, when either is missing. */
static bool set(json_t **o, const char *key, json_t *v)
{
    if (*o && v && json_object_set_new(*o, key, v) == 0)
        return true;
    if (!*o || !v)
        json_decref(v);
    json_decref(*o);
    *o = NULL;
    return false;
}

static json_t *health_json(bool has, const sy_health_t *h)
{
    if (!has)
        return json_null();
    json_t *o = json_pack("{sfsf}", "success_rate", h->success_rate, "error_rate", h->error_rate);
    if (h->has_p95)
        set(&o, "p95_ms", json_real(h->p95_ms));
    if (h->has_retry_rate)
        set(&o, "retry_rate", json_real(h->retry_rate));
    return o;
}

json_t *sy_health_view_json(const sy_health_view_t *v)
{
    json_t *reasons = json_array();
    for (unsigned bit = 1; reasons && bit <= SY_ROLLBACK_RETRY_RATE; bit <<= 1)
        if ((v->reasons & bit) &&
            json_array_append_new(reasons, json_string(sy_rollback_reason_name(bit))) < 0) {
            json_decref(reasons);
            reasons = NULL;
        }
    return json_pack("{sososososbsosIsb}", "watched",
                     v->has_watched ? json_string(v->watched) : json_null(), "baseline",
                     health_json(v->has_baseline, &v->baseline), "current",
                     health_json(v->has_current, &v->current), "source",
                     json_string(v->source == SY_HEALTH_PUSHED ? "pushed" : "events"),
                     "rollback_due", v->rollback_due, "reasons", reasons, "look",
                     (json_int_t)v->look, "window_ready", v->window_ready);
}

json_t *sy_exp_health_json(const sy_exp_health_t *h)
{
    return json_pack("{ssssso}", "experiment", h->experiment, "state", h->state, "health",
                     sy_health_view_json(&h->health));
}

const char *sy_auto_action_name(sy_auto_action_t a)
{
    static const char *const names[] = {
        [SY_AUTO_NONE] = "none",
        [SY_AUTO_STEP] = "step",
        [SY_AUTO_PROMOTE] = "promote",
        [SY_AUTO_REFUSED] = "refused",
        [SY_AUTO_AWAITING_APPROVAL] = "awaiting_approval",
        [SY_AUTO_HELD_BY_KILL_SWITCH] = "held_by_kill_switch",
        [SY_AUTO_WOULD_STEP] = "would_step",
        [SY_AUTO_WOULD_PROMOTE] = "would_promote",
        [SY_AUTO_ERROR] = "error",
    };
    return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "error";
}

json_t *sy_exp_split_json(const sy_exp_split_t *s)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < s->n; i++)
        set(&o, s->v[i].variant, json_integer(s->v[i].weight));
    return o;
}

/* One entry of the report, its members in the order docs/api.md shows them. */
static json_t *outcome_json(const sy_auto_outcome_t *x)
{
    json_t *o =
        json_pack("{sssI}", "experiment", x->experiment, "workspace", (json_int_t)x->workspace);
    if (x->has_decision)
        set(&o, "decision", json_string(sy_decision_name(x->decision)));
    if (x->has_winner)
        set(&o, "winner", json_string(x->winner));
    set(&o, "action", json_string(sy_auto_action_name(x->action)));
    if (x->has_split) {
        set(&o, "weights", sy_exp_split_json(&x->split));
        set(&o, "state", json_string(x->state));
    }
    if (x->has_refused_by)
        set(&o, "refused_by", json_string(x->refused_by));
    if (x->has_message)
        set(&o, "message", json_string(x->message));
    if (x->has_reason)
        set(&o, "reason", json_string(x->reason));
    return o;
}

json_t *sy_auto_report_json(const sy_auto_report_t *r)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < r->n; i++)
        if (json_array_append_new(list, outcome_json(&r->v[i])) < 0) {
            json_decref(list);
            list = NULL;
        }
    return json_pack("{sIsbsIso}", "at_ms", (json_int_t)r->at_ms, "dry_run", r->dry_run, "checked",
                     (json_int_t)r->n, "experiments", list);
}
