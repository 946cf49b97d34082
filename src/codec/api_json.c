/* api_json.c - tokens and audit events as JSON; see api_json.h. */
#include "codec/api_json.h"

#include <float.h>
#include <stddef.h>
#include <string.h>

#include "codec/value_json.h"

int sy_token_json_add(void *arg, const sy_token_info_t *t)
{
    json_t *o = json_pack("{sIsssssssI}", "id", (json_int_t)t->id, "name", t->name, "role",
                          sy_role_name(t->role), "prefix", t->prefix, "created_ms",
                          (json_int_t)t->created_ms);
    if (o && t->revoked_ms && json_object_set_new(o, "revoked_ms", json_integer(t->revoked_ms)) < 0)
        o = (json_decref(o), NULL);
    return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

static json_t *parse_or_null(const char *text)
{
    json_error_t je;
    json_t *j = text ? sy_json_loadb(text, strlen(text), JSON_DECODE_ANY, &je) : NULL;
    return j ? j : json_null();
}

int sy_audit_json_add(void *arg, const sy_audit_event_t *e)
{
    json_t *o =
        json_pack("{sIsIssssssso*so*}", "id", (json_int_t)e->id, "at_ms", (json_int_t)e->at_ms,
                  "actor", e->actor, "action", e->action, "resource", e->resource, "before",
                  parse_or_null(e->before), "after", parse_or_null(e->after));
    return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

#define KILL(m) offsetof(sy_kill_switch_change_t, m)
static const sy_field_t kill_fields[] = {
    {"engaged", SY_K_BOOL, KILL(engaged), SY_UNTRACKED, .required = true, .says = "true or false"},
    {"reason", SY_K_TEXT, KILL(reason), SY_UNTRACKED, .required = true, .hi = SY_KILL_TEXT_MAX,
     .says = "why, 1 to 512 characters"},
    {"actor", SY_K_TEXT, KILL(actor), SY_UNTRACKED, .hi = 128, .says = "1 to 128 characters"},
};
const sy_schema_t sy_kill_switch_change_schema = SY_SCHEMA(kill_fields);

json_t *sy_kill_switch_state_json(const sy_kill_switch_t *k)
{
    return json_pack("{sbsososo}", "engaged", k->engaged, "reason",
                     k->set ? json_string(k->reason) : json_null(), "actor",
                     k->set ? json_string(k->actor) : json_null(), "changed_ms",
                     k->set ? json_integer(k->changed_ms) : json_null());
}

json_t *sy_kill_switch_json(const sy_kill_switch_t *k)
{
    json_t *state = sy_kill_switch_state_json(k);
    return state ? json_pack("{so}", "kill_switch", state) : NULL;
}

/* The bounds are sy_guardrails_check's, which the engine applies with its sentences: the
 * schema asks for the kinds. */
#define GUARD(m) offsetof(sy_guardrails_change_t, m)
static const sy_field_t guard_fields[] = {
    {"min_confidence", SY_K_NUMBER, GUARD(v.min_confidence), GUARD(has_min_confidence),
     .lo = -DBL_MAX, .hi = DBL_MAX, .says = "a number in (0, 1)"},
    {"max_step_pct", SY_K_INT, GUARD(v.max_step_pct), GUARD(has_max_step_pct), .lo = -1e15,
     .hi = 1e15, .says = "a whole number of percentage points, 1 to 100"},
    {"cooldown_hours", SY_K_NUMBER, GUARD(v.cooldown_hours), GUARD(has_cooldown_hours),
     .lo = -DBL_MAX, .hi = DBL_MAX, .says = "a number of hours >= 0"},
    {"max_changes_per_day", SY_K_INT, GUARD(v.max_changes_per_day), GUARD(has_max_changes_per_day),
     .lo = -1e15, .hi = 1e15, .says = "a whole number >= 1"},
};
const sy_schema_t sy_guardrails_change_schema = SY_SCHEMA(guard_fields);

json_t *sy_guardrails_values_json(const sy_guardrails_t *g)
{
    return json_pack("{sfsIsfsI}", "min_confidence", g->min_confidence, "max_step_pct",
                     (json_int_t)g->max_step_pct, "cooldown_hours", g->cooldown_hours,
                     "max_changes_per_day", (json_int_t)g->max_changes_per_day);
}

json_t *sy_guardrails_json(const sy_guardrails_t *g)
{
    json_t *values = sy_guardrails_values_json(g);
    return values ? json_pack("{so}", "guardrails", values) : NULL;
}

int sy_notification_json_add(void *arg, const sy_store_notification_t *n)
{
    json_t *payload = sy_json_loadb(n->payload, strlen(n->payload), 0, &(json_error_t){0});
    const json_t *title = json_object_get(payload, "title");
    json_t *o =
        json_pack("{sIsIsssssssssOsssssIsosIsoso}", "id", (json_int_t)n->id, "channel",
                  (json_int_t)n->channel, "event", n->event, "level", n->level, "action", n->action,
                  "resource", n->resource, "title", title ? title : json_null(), "key", n->key,
                  "status", n->status, "attempts", (json_int_t)n->attempts, "last_error",
                  n->last_error ? json_string(n->last_error) : json_null(), "created_ms",
                  (json_int_t)n->created_ms, "next_attempt_ms",
                  strcmp(n->status, "pending") == 0 ? json_integer(n->next_ms) : json_null(),
                  "done_ms", n->done_ms ? json_integer(n->done_ms) : json_null());
    json_decref(payload);
    return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

json_t *sy_notifications_json(json_t *list, const sy_notification_counts_t *c)
{
    return json_pack("{sos{sIsIsI}}", "notifications", list, "counts", "pending",
                     (json_int_t)c->pending, "delivered", (json_int_t)c->delivered, "failed",
                     (json_int_t)c->failed);
}

const char *sy_health_state_name(sy_health_state_t s)
{
    return s == SY_HEALTHY ? "healthy" : s == SY_DEGRADED ? "degraded" : "unhealthy";
}

json_t *sy_health_aggregate_json(const sy_health_component_t *v, size_t n,
                                 sy_health_state_t overall)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        if (json_array_append_new(list, json_pack("{ssssss}", "name", v[i].name, "state",
                                                  sy_health_state_name(v[i].state), "reason",
                                                  v[i].reason)) < 0) {
            json_decref(list);
            return NULL;
        }
    return list ? json_pack("{ssso}", "overall", sy_health_state_name(overall), "components", list)
                : NULL;
}

#define EMERG(m) offsetof(sy_emergency_request_t, m)
static const sy_field_t emergency_fields[] = {
    {"reason", SY_K_TEXT, EMERG(reason), SY_UNTRACKED, .required = true, .hi = 400,
     .says = "why, 1 to 400 characters"},
    {"workspace", SY_K_TEXT, EMERG(workspace), SY_UNTRACKED, .hi = 64,
     .says = "the workspace's name, 1 to 64 characters"},
};
const sy_schema_t sy_emergency_request_schema = SY_SCHEMA(emergency_fields);

json_t *sy_emergency_report_json(const sy_emergency_report_t *r, double took_ms)
{
    return json_pack(
        "{sIsIsIsIsosf}", "experiments_rolled_back", (json_int_t)r->experiments, "routes_disabled",
        (json_int_t)r->routes, "experiments_failed", (json_int_t)r->experiments_failed,
        "routes_failed", (json_int_t)r->routes_failed, "first_failure",
        r->first_failure[0] ? json_string(r->first_failure) : json_null(), "took_ms", took_ms);
}
