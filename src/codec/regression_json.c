/* regression_json.c - KPI events and tripwires as JSON; see regression_json.h. */
#include "codec/regression_json.h"

#include <float.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/value_json.h"

/* ---- KPI events --------------------------------------------------------------------------- */

/* One event as read: the engine's event and its detail, which is any JSON (kept as text). */
struct kpi_in {
    sy_kpi_event_t ev;
    const json_t *detail;
};

/* The bounds are the engine's too (kpi_check, with its sentences), which also refuses an
 * event with neither success nor value. */
#define KPI(m) offsetof(struct kpi_in, m)
static const sy_field_t kpi_body_fields[] = {
    {"domain", SY_K_TEXT, KPI(ev.domain), SY_UNTRACKED, .required = true, .hi = SY_KPI_NAME_MAX,
     .says = "1 to 64 characters"},
    {"metric", SY_K_TEXT, KPI(ev.metric), SY_UNTRACKED, .required = true, .hi = SY_KPI_NAME_MAX,
     .says = "1 to 64 characters"},
    {"actor", SY_K_TEXT, KPI(ev.actor), SY_UNTRACKED, .required = true, .hi = SY_KPI_TEXT_MAX,
     .says = "1 to 128 characters"},
    {"success", SY_K_BOOL, KPI(ev.success), KPI(ev.has_success), .says = "true or false"},
    {"value", SY_K_NUMBER, KPI(ev.value), KPI(ev.has_value), .lo = -DBL_MAX, .hi = DBL_MAX,
     .says = "a finite number"},
    {"correlation_id", SY_K_TEXT, KPI(ev.correlation_id), SY_UNTRACKED, .hi = SY_KPI_TEXT_MAX,
     .says = "1 to 128 characters"},
    {"id", SY_K_TEXT, KPI(ev.id), SY_UNTRACKED, .hi = SY_KPI_TEXT_MAX,
     .says = "1 to 128 characters"},
    {"unit", SY_K_TEXT, KPI(ev.unit), SY_UNTRACKED, .hi = SY_KPI_UNIT_MAX,
     .says = "a string of 1 to 256 bytes, no control characters"},
    {"detail", SY_K_JSON, KPI(detail), SY_UNTRACKED, .says = "any JSON"},
    /* last: an event is the fields above it; a body may be a batch of them instead */
    {"events", SY_K_JSON, SY_UNTRACKED, SY_UNTRACKED, .says = "an array of 1 to 10000 events"},
};
static const sy_schema_t kpi_schema = {kpi_body_fields,
                                       sizeof(kpi_body_fields) / sizeof(kpi_body_fields[0]) - 1};
const sy_schema_t sy_kpi_body_schema = SY_SCHEMA(kpi_body_fields);

void sy_kpi_batch_free(sy_kpi_batch_t *b)
{
    for (size_t i = 0; b->details && i < b->n; i++)
        free(b->details[i]);
    free(b->details);
    free(b->ev);
    *b = (sy_kpi_batch_t){0};
}

/* Event `o` (number `i` of a batch, or the body alone) into b->ev[i]. An event is read at
 * the top, and an error's field is placed in the batch afterwards: no path is made for
 * the events that are good. */
static int read_event(const json_t *o, sy_kpi_batch_t *b, size_t i, sy_err_t *err)
{
    if (b->listed && !json_is_object(o)) {
        char at[32];
        snprintf(at, sizeof(at), "events[%zu]", i);
        return sy_err_set(err, -EINVAL, at, "a KPI event is a JSON object");
    }
    struct kpi_in in = {0};
    int rc = sy_schema_read(&kpi_schema, o, &in, "", err);
    if (rc < 0) {
        if (b->listed && err) { /* i is at most SY_KPI_BATCH_MAX: it all fits */
            char f[sizeof(err->field)];
            snprintf(f, sizeof(f), "events[%u].%.40s", (unsigned)i, err->field);
            memcpy(err->field, f, sizeof(f));
        }
        return rc;
    }
    b->ev[i] = in.ev;
    if (!in.detail || json_is_null(in.detail))
        return 0;
    if (!b->details && !(b->details = calloc(b->n, sizeof(*b->details))))
        return sy_err_set(err, -ENOMEM, "", "out of memory");
    b->details[i] = sy_json_dumps(in.detail, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!b->details[i])
        return sy_err_set(err, -ENOMEM, "", "out of memory");
    b->ev[i].detail = b->details[i];
    return 0;
}

int sy_kpi_batch_read(const json_t *body, sy_kpi_batch_t *b, sy_err_t *err)
{
    const json_t *list = json_object_get(body, "events");
    *b = (sy_kpi_batch_t){.n = 1, .listed = list != NULL};
    if (list) {
        if (json_object_size(body) != 1)
            return sy_err_set(err, -EINVAL, "events", "a batch is {\"events\": [...]} alone");
        if (!json_is_array(list) || json_array_size(list) == 0)
            return sy_err_set(err, -EINVAL, "events", "events is an array of 1 to 10000 events");
        if (json_array_size(list) > SY_KPI_BATCH_MAX)
            return sy_err_set(err, -E2BIG, "events", "at most 10000 events per request");
        b->n = json_array_size(list);
    }
    int rc =
        (b->ev = calloc(b->n, sizeof(*b->ev))) ? 0 : sy_err_set(err, -ENOMEM, "", "out of memory");
    for (size_t i = 0; rc == 0 && i < b->n; i++)
        rc = read_event(list ? json_array_get(list, i) : body, b, i, err);
    if (rc < 0)
        sy_kpi_batch_free(b);
    return rc;
}

/* ---- policies ------------------------------------------------------------------------------ */

/* The bounds are sy_trip_policy_check's, which the engine applies with its sentences: the
 * schema asks for the kinds. */
#define POLICY(m) offsetof(sy_regression_policy_change_t, m)
static const sy_field_t policy_fields[] = {
    {"domain", SY_K_TEXT, POLICY(domain), SY_UNTRACKED, .required = true, .hi = SY_KPI_NAME_MAX,
     .says = "1 to 64 characters"},
    {"metric", SY_K_TEXT, POLICY(metric), SY_UNTRACKED, .required = true, .hi = SY_KPI_NAME_MAX,
     .says = "1 to 64 characters"},
    {"window_events", SY_K_INT, POLICY(window_events), POLICY(has_window_events), .lo = -1e18,
     .hi = 1e18, .says = "an integer, 1 to 1000000"},
    {"baseline_events", SY_K_INT, POLICY(baseline_events), POLICY(has_baseline_events), .lo = -1e18,
     .hi = 1e18, .says = "an integer, window_events to 10000000"},
    {"min_events_to_enforce", SY_K_INT, POLICY(min_events_to_enforce),
     POLICY(has_min_events_to_enforce), .lo = -1e18, .hi = 1e18,
     .says = "an integer, 1 to window_events"},
    {"max_drop_fraction", SY_K_NUMBER, POLICY(max_drop_fraction), POLICY(has_max_drop_fraction),
     .lo = -DBL_MAX, .hi = DBL_MAX, .says = "a number in (0, 100]"},
    {"action", SY_K_TEXT, POLICY(action), SY_UNTRACKED, .hi = 32,
     .says = "THROTTLE or KILL_SWITCH"},
    {"measure", SY_K_TEXT, POLICY(measure), SY_UNTRACKED, .hi = 32, .says = "rate or mean"},
    {"enabled", SY_K_BOOL, POLICY(enabled), POLICY(has_enabled), .says = "true or false"},
    {"changed_by", SY_K_TEXT, POLICY(changed_by), SY_UNTRACKED, .hi = SY_KPI_TEXT_MAX,
     .says = "1 to 128 characters"},
    {"reason", SY_K_TEXT, POLICY(reason), SY_UNTRACKED, .hi = SY_KPI_REASON_MAX,
     .says = "1 to 512 characters"},
};
const sy_schema_t sy_regression_policy_change_schema = SY_SCHEMA(policy_fields);

#define EVAL(m) offsetof(sy_regression_evaluate_req_t, m)
static const sy_field_t evaluate_fields[] = {
    {"domain", SY_K_TEXT, EVAL(domain), SY_UNTRACKED, .hi = SY_KPI_NAME_MAX,
     .says = "1 to 64 characters"},
    {"metric", SY_K_TEXT, EVAL(metric), SY_UNTRACKED, .hi = SY_KPI_NAME_MAX,
     .says = "1 to 64 characters"},
    {"actor", SY_K_TEXT, EVAL(actor), SY_UNTRACKED, .hi = SY_KPI_TEXT_MAX,
     .says = "whom the caller acts for, 1 to 128 characters"},
};
const sy_schema_t sy_regression_evaluate_schema = SY_SCHEMA(evaluate_fields);

json_t *sy_regression_policy_json(const sy_regression_policy_t *p)
{
    return json_pack("{sssssIsIsIsfsssssbsssosI}", "domain", p->domain, "metric", p->metric,
                     "window_events", (json_int_t)p->p.window_events, "baseline_events",
                     (json_int_t)p->p.baseline_events, "min_events_to_enforce",
                     (json_int_t)p->p.min_events_to_enforce, "max_drop_fraction",
                     p->p.max_drop_fraction, "action", sy_trip_action_name(p->p.action), "measure",
                     sy_trip_measure_name(p->p.measure), "enabled", p->enabled, "changed_by",
                     p->changed_by, "reason", *p->reason ? json_string(p->reason) : json_null(),
                     "updated_ms", (json_int_t)p->updated_ms);
}

json_t *sy_regression_policies_json(const sy_regression_policy_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, sy_regression_policy_json(&v[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a ? json_pack("{so}", "policies", a) : NULL;
}

/* ---- states -------------------------------------------------------------------------------- */

static json_t *place(const sy_store_kpi_place_t *p)
{
    return json_pack("{sIsI}", "at_ms", (json_int_t)p->at_ms, "id", (json_int_t)p->id);
}

static json_t *real_or_null(bool set, double v)
{
    return set ? json_real(v) : json_null();
}

/* Sets o[k] = v (taken), failing when either is NULL. */
static int set(json_t *o, const char *k, json_t *v)
{
    return o && v ? json_object_set_new(o, k, v) : (json_decref(v), -1);
}

json_t *sy_tripwire_state_json(const sy_tripwire_state_t *s, bool workspace)
{
    json_t *o =
        json_pack("{sssssb}", "domain", s->domain, "metric", s->metric, "enabled", s->enabled);
    int rc = 0;
    if (!s->evaluated) {
        rc |= set(o, "triggered", json_false());
        rc |= set(o, "action", json_null());
        rc |= set(o, "last_checked_at", json_null());
    } else {
        rc |= set(o, "triggered", json_boolean(s->triggered));
        rc |= set(o, "enforced", json_boolean(s->enforced));
        rc |=
            set(o, "action", s->action ? json_string(sy_trip_action_name(s->action)) : json_null());
        rc |= set(o, "baseline", real_or_null(s->has_values, s->baseline));
        rc |= set(o, "current", real_or_null(s->has_values, s->current));
        rc |= set(o, "drop_fraction", real_or_null(s->has_values, s->drop_fraction));
        rc |= set(o, "window_events", json_integer(s->window_events));
        rc |= set(o, "baseline_events", json_integer(s->baseline_events));
        rc |= set(o, "last_checked_at", json_integer(s->last_checked_at));
        rc |= set(o, "last_triggered_at",
                  s->has_last_triggered ? json_integer(s->last_triggered_at) : json_null());
    }
    rc |= set(o, "note", json_string(s->note));
    if (s->has_excluded)
        rc |= set(o, "excluded",
                  s->excluded_set ? json_pack("{soso}", "from", place(&s->excluded_from), "to",
                                              place(&s->excluded_to))
                                  : json_null());
    if (s->has_reset_at)
        rc |= set(o, "reset_at", json_integer(s->reset_at));
    if (s->has_trip_from)
        rc |= set(o, "trip_from", place(&s->trip_from));
    if (workspace)
        rc |= set(o, "workspace", json_integer(s->workspace));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *sy_tripwire_states_json(const char *key, const sy_tripwire_state_t *v, size_t n,
                                bool workspace)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, sy_tripwire_state_json(&v[i], workspace)) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a ? json_pack("{so}", key, a) : NULL;
}
