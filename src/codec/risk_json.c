/* risk_json.c - the risk guard's JSON; see risk_json.h. */
#include "codec/risk_json.h"

#include <float.h>
#include <stddef.h>

#define CHANGE(m) offsetof(sy_risk_policy_change_t, m)
static const sy_field_t change_fields[] = {
    {"enabled", SY_K_BOOL, CHANGE(enabled), CHANGE(has_enabled), .says = "true or false"},
    {"max_per_action", SY_K_LIMIT, CHANGE(max_per_action), CHANGE(has_max_per_action),
     .lo_open = true, .lo = 0, .hi = DBL_MAX, .says = "a number above 0, or null for no limit"},
    {"max_per_day", SY_K_LIMIT, CHANGE(max_per_day), CHANGE(has_max_per_day), .lo_open = true,
     .lo = 0, .hi = DBL_MAX, .says = "a number above 0, or null for no limit"},
    {"reason", SY_K_TEXT, CHANGE(reason), SY_UNTRACKED, .required = true, .hi = SY_RISK_TEXT_MAX,
     .says = "why: every change needs a reason (1 to 512 characters)"},
    {"changed_by", SY_K_TEXT, CHANGE(changed_by), SY_UNTRACKED, .hi = SY_RISK_NAME_MAX,
     .says = "1 to 128 characters"},
};
const sy_schema_t sy_risk_policy_change_schema = SY_SCHEMA(change_fields);

#define REQUEST(m) offsetof(sy_risk_request_t, m)
static const sy_field_t request_fields[] = {
    {"domain", SY_K_TEXT, REQUEST(domain), SY_UNTRACKED, .required = true, .hi = SY_RISK_DOMAIN_MAX,
     .says = "1 to 64 characters"},
    {"amount", SY_K_NUMBER, REQUEST(amount), SY_UNTRACKED, .required = true, .lo_open = true,
     .lo = 0, .hi = DBL_MAX, .says = "a number above 0"},
    {"actor", SY_K_TEXT, REQUEST(actor), SY_UNTRACKED, .required = true, .hi = SY_RISK_NAME_MAX,
     .says = "who will act, 1 to 128 characters"},
    {"correlation_id", SY_K_TEXT, REQUEST(correlation_id), SY_UNTRACKED, .hi = SY_RISK_NAME_MAX,
     .says = "1 to 128 characters"},
};
const sy_schema_t sy_risk_request_schema = SY_SCHEMA(request_fields);

#define RELEASE(m) offsetof(sy_risk_release_t, m)
static const sy_field_t release_fields[] = {
    {"reservation_id", SY_K_INT, RELEASE(reservation_id), SY_UNTRACKED, .required = true, .lo = 1,
     .hi = 9007199254740992.0, .says = "the reservation's id"},
    {"actor", SY_K_TEXT, RELEASE(actor), SY_UNTRACKED, .hi = SY_RISK_NAME_MAX,
     .says = "1 to 128 characters"},
};
const sy_schema_t sy_risk_release_schema = SY_SCHEMA(release_fields);

static json_t *limit(const sy_limit_t *l)
{
    return l->set ? json_real(l->v) : json_null();
}

json_t *sy_risk_policy_json(const sy_risk_policy_t *p)
{
    return json_pack("{sssbsososssssI}", "domain", p->domain, "enabled", p->enabled,
                     "max_per_action", limit(&p->max_per_action), "max_per_day",
                     limit(&p->max_per_day), "reason", p->reason, "changed_by", p->changed_by,
                     "updated_ms", (json_int_t)p->updated_ms);
}

json_t *sy_risk_policies_json(const sy_risk_policy_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, sy_risk_policy_json(&v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a ? json_pack("{so}", "policies", a) : NULL;
}

json_t *sy_risk_answer_json(const sy_risk_answer_t *a)
{
    return a->ok
               ? json_pack("{sbsIsssf}", "ok", 1, "reservation_id", (json_int_t)a->id, "day",
                           a->day, "amount", a->amount)
               : json_pack("{sbsssI}", "ok", 0, "reason", a->reason, "entry_id", (json_int_t)a->id);
}

static json_t *text_or_null(const char *s)
{
    return *s ? json_string(s) : json_null();
}

json_t *sy_risk_ledger_json(const char *day, const sy_risk_entry_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        const sy_risk_entry_t *e = &v[i];
        json_t *o = json_pack("{sIsssfsssosssosIso}", "id", (json_int_t)e->id, "domain", e->domain,
                              "amount", e->amount, "actor", e->actor, "correlation_id",
                              text_or_null(e->correlation_id), "outcome", e->outcome, "reason",
                              text_or_null(e->reason), "at_ms", (json_int_t)e->at_ms, "released_ms",
                              e->released_ms ? json_integer(e->released_ms) : json_null());
        if (json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a ? json_pack("{ssso}", "day", day, "entries", a) : NULL;
}
