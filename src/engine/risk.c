/* risk.c - the risk guard: a policy per domain that production actions reserve against.
 *
 * A service asks before it acts: check-and-reserve (domain, amount) answers ok with a
 * reservation, or a denial with its reason, and both go into the ledger of the day (UTC).
 * Everything is refused while the workspace's kill switch is engaged; a domain is refused
 * while its policy is disabled (by a person, or by a THROTTLE
 * tripwire), and past its limits per action and per day; reserved amounts count towards
 * the day until released. A domain with no policy is refused too ("no_policy"): the guard
 * fails closed.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/internal.h"

#define DOMAIN_MAX 64
#define TEXT_MAX   512
#define TRIPWIRE   "tripwire" /* changed_by of a policy a tripwire disabled */

/* "YYYY-MM-DD" (UTC) of Unix milliseconds. */
static void day_of(int64_t ms, char out[11])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* "YYYY-MM-DD" with a month 01..12 and a day 01..31. */
static bool valid_day(const char *d)
{
    for (int i = 0; i < 10; i++)
        if (!d[i] || (i == 4 || i == 7 ? d[i] != '-' : (d[i] < '0' || d[i] > '9')))
            return false;
    int month = (d[5] - '0') * 10 + (d[6] - '0'), mday = (d[8] - '0') * 10 + (d[9] - '0');
    return d[10] == '\0' && month >= 1 && month <= 12 && mday >= 1 && mday <= 31;
}

struct rpolicy {
    bool found;
    char domain[DOMAIN_MAX + 1];
    sy_store_risk_policy_t p; /* strings point into the copies below */
    char reason[TEXT_MAX + 1];
    char changed_by[128 + 1];
};

static int copy_policy(void *arg, const sy_store_risk_policy_t *p)
{
    struct rpolicy *r = arg;
    r->found = true;
    r->p = *p;
    snprintf(r->domain, sizeof(r->domain), "%s", p->domain);
    snprintf(r->reason, sizeof(r->reason), "%s", p->reason ? p->reason : "");
    snprintf(r->changed_by, sizeof(r->changed_by), "%s", p->changed_by ? p->changed_by : "");
    r->p.domain = r->domain;
    r->p.reason = r->reason;
    r->p.changed_by = r->changed_by;
    return 0;
}

static int find_policy(sy_engine_t *eng, int64_t ws, const char *domain, struct rpolicy *r,
                       sy_err_t *err)
{
    *r = (struct rpolicy){0};
    return sy_store_risk_policy_list(eng->store, ws, domain, copy_policy, r, err);
}

/* Commits the open transaction whose answer *out is made; on failure the answer goes. */
static int commit_answered(sy_engine_t *eng, json_t **out, sy_err_t *err)
{
    int rc = sy_store_commit(eng->store, err);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static json_t *limit_json(bool has, double v)
{
    return has ? json_real(v) : json_null();
}

static json_t *policy_json(const sy_store_risk_policy_t *p)
{
    return json_pack("{sssbsososssssI}", "domain", p->domain, "enabled", p->enabled,
                     "max_per_action", limit_json(p->has_max_per_action, p->max_per_action),
                     "max_per_day", limit_json(p->has_max_per_day, p->max_per_day), "reason",
                     p->reason, "changed_by", p->changed_by, "updated_ms",
                     (json_int_t)p->updated_ms);
}

/* Writes `p` with its audit event `action` (before: `old` when it existed). In the open
 * transaction. */
static int write_policy(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws,
                        const struct rpolicy *old, const sy_store_risk_policy_t *p,
                        const char *action, sy_err_t *err)
{
    json_t *before = old->found ? policy_json(&old->p) : NULL, *after = policy_json(p);
    char res[96];
    snprintf(res, sizeof(res), "risk:%s", p->domain);
    int rc = !after || (old->found && !before) ? sy_eng_oom(err)
                                               : sy_store_risk_policy_put(eng->store, p, err);
    if (rc == 0)
        rc = sy_eng_audit(eng, actor, ws, action, res, before, after, err);
    json_decref(before);
    json_decref(after);
    return rc;
}

int sy_eng_risk_throttle(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws,
                         const char *domain, bool enabled, const char *reason, sy_err_t *err)
{
    struct rpolicy old;
    int rc = find_policy(eng, ws, domain, &old, err);
    if (rc < 0)
        return rc;
    if (enabled && (!old.found || old.p.enabled || strcmp(old.changed_by, TRIPWIRE) != 0))
        return 0; /* nothing to restore, or a person disabled it: theirs to re-enable */
    if (!enabled && old.found && !old.p.enabled)
        return 0; /* disabled already */
    sy_store_risk_policy_t p = old.found ? old.p : (sy_store_risk_policy_t){.domain = domain};
    p.workspace = ws;
    p.enabled = enabled;
    p.reason = reason;
    p.changed_by = enabled ? sy_eng_actor_name(actor) : TRIPWIRE;
    p.updated_ms = sy_engine_now_ms(eng);
    rc = write_policy(eng, actor, ws, &old, &p,
                      enabled ? "risk.policy.restore" : "risk.policy.throttle", err);
    char res[96], title[TEXT_MAX + 128], when[24];
    snprintf(res, sizeof(res), "risk:%s", domain);
    snprintf(title, sizeof(title), "Domain %s %s: %s", domain,
             enabled ? "restored" : "throttled (production actions refused)", reason);
    snprintf(when, sizeof(when), "%lld", (long long)p.updated_ms);
    json_t *details = json_pack("{sssbss}", "domain", domain, "enabled", enabled, "reason", reason);
    struct sy_eng_note n = {.event = "throttle",
                            .level = "warning",
                            .resolve = enabled,
                            .condition = true,
                            .resource = res,
                            .occurrence = when,
                            .title = title,
                            .details = details};
    if (rc == 0)
        rc = details ? sy_eng_notify(eng, ws, &n, err) : sy_eng_oom(err);
    json_decref(details);
    return rc;
}

/* ---- the API ------------------------------------------------------------------------------ */

static int get_limit(const json_t *body, const char *k, bool *has, double *v, sy_err_t *err)
{
    const json_t *j = json_object_get(body, k);
    if (!j)
        return 0;
    if (json_is_null(j)) {
        *has = false;
        return 0;
    }
    if (!json_is_number(j) || !(json_number_value(j) > 0) || !isfinite(json_number_value(j)))
        return sy_err_set(err, -EINVAL, k, "%s is a number above 0, or null for no limit", k);
    *has = true;
    *v = json_number_value(j);
    return 0;
}

int sy_engine_risk_policy_put(sy_engine_t *eng, const sy_principal_t *actor, const char *domain,
                              const json_t *body, json_t **out, sy_err_t *err)
{
    static const char *const fields[] = {"enabled", "max_per_action", "max_per_day",
                                         "reason",  "changed_by",     NULL};
    int rc;
    if (!sy_eng_valid_name(domain, DOMAIN_MAX))
        return sy_err_set(err, -EINVAL, "domain", "domain is 1 to 64 characters");
    if ((rc = sy_eng_only_fields(body, fields, "", err)) < 0)
        return rc;
    struct rpolicy old;
    if ((rc = find_policy(eng, actor->workspace, domain, &old, err)) < 0)
        return rc;
    sy_store_risk_policy_t p =
        old.found ? old.p : (sy_store_risk_policy_t){.domain = domain, .enabled = true};
    p.workspace = actor->workspace;
    const json_t *en = json_object_get(body, "enabled");
    if (en && !json_is_boolean(en))
        return sy_err_set(err, -EINVAL, "enabled", "enabled must be true or false");
    if (en)
        p.enabled = json_is_true(en);
    if ((rc = get_limit(body, "max_per_action", &p.has_max_per_action, &p.max_per_action, err)) <
            0 ||
        (rc = get_limit(body, "max_per_day", &p.has_max_per_day, &p.max_per_day, err)) < 0)
        return rc;
    p.reason = json_string_value(json_object_get(body, "reason"));
    if (!sy_eng_valid_name(p.reason, TEXT_MAX))
        return sy_err_set(err, -EINVAL, "reason",
                          "every change needs a reason (1 to 512 characters)");
    p.changed_by = sy_eng_actor_name(actor);
    const json_t *by = json_object_get(body, "changed_by");
    if (by && !sy_eng_valid_name(json_string_value(by), 128))
        return sy_err_set(err, -EINVAL, "changed_by", "changed_by is 1 to 128 characters");
    if (by)
        p.changed_by = json_string_value(by);
    p.updated_ms = sy_engine_now_ms(eng);
    if ((rc = sy_store_begin(eng->store, err)) < 0)
        return rc;
    /* The answer is made before the commit: an error answered for a change that was
     * committed is as wrong as a change lost. */
    if ((rc = write_policy(eng, actor, actor->workspace, &old, &p,
                           old.found ? "risk.policy.update" : "risk.policy.create", err)) < 0 ||
        (!(*out = policy_json(&p)) && (rc = sy_eng_oom(err)) < 0)) {
        sy_store_rollback(eng->store);
        return rc;
    }
    return commit_answered(eng, out, err);
}

static int add_policy_json(void *arg, const sy_store_risk_policy_t *p)
{
    return json_array_append_new(arg, policy_json(p)) == 0 ? 0 : -ENOMEM;
}

int sy_engine_risk_policies(sy_engine_t *eng, const sy_principal_t *actor, json_t **out,
                            sy_err_t *err)
{
    json_t *a = json_array();
    int rc =
        a ? sy_store_risk_policy_list(eng->store, actor->workspace, NULL, add_policy_json, a, err)
          : -ENOMEM;
    if (rc < 0) {
        json_decref(a);
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    }
    *out = json_pack("{so}", "policies", a);
    return *out ? 0 : sy_eng_oom(err);
}

/* Why `amount` may not be reserved in `domain` today, or NULL when it may. */
static int deny_reason(sy_engine_t *eng, int64_t ws, const char *domain, const char *day,
                       double amount, const char **why, sy_err_t *err)
{
    if (sy_engine_kill_switch_engaged(eng, ws, NULL, 0)) {
        *why = "kill_switch";
        return 0;
    }
    struct rpolicy pol;
    int rc = find_policy(eng, ws, domain, &pol, err);
    if (rc < 0)
        return rc;
    *why = !pol.found                                                  ? "no_policy"
           : !pol.p.enabled                                            ? "policy_disabled"
           : pol.p.has_max_per_action && amount > pol.p.max_per_action ? "limit_exceeded"
                                                                       : NULL;
    if (*why || !pol.p.has_max_per_day)
        return 0;
    double reserved;
    if ((rc = sy_store_risk_reserved(eng->store, ws, domain, day, &reserved, err)) < 0)
        return rc;
    if (reserved + amount > pol.p.max_per_day)
        *why = "limit_exceeded";
    return 0;
}

int sy_engine_risk_reserve(sy_engine_t *eng, const sy_principal_t *actor, const json_t *body,
                           json_t **out, sy_err_t *err)
{
    static const char *const fields[] = {"domain", "amount", "actor", "correlation_id", NULL};
    int rc;
    if ((rc = sy_eng_only_fields(body, fields, "", err)) < 0)
        return rc;
    sy_store_risk_entry_t e = {.workspace = actor->workspace, .at_ms = sy_engine_now_ms(eng)};
    e.domain = json_string_value(json_object_get(body, "domain"));
    e.actor = json_string_value(json_object_get(body, "actor"));
    const json_t *amount = json_object_get(body, "amount"),
                 *cid = json_object_get(body, "correlation_id");
    if (!sy_eng_valid_name(e.domain, DOMAIN_MAX))
        return sy_err_set(err, -EINVAL, "domain", "domain is 1 to 64 characters");
    if (!json_is_number(amount) || !isfinite(json_number_value(amount)) ||
        !(json_number_value(amount) > 0))
        return sy_err_set(err, -EINVAL, "amount", "amount is a number above 0");
    if (!sy_eng_valid_name(e.actor, 128))
        return sy_err_set(err, -EINVAL, "actor", "actor is 1 to 128 characters");
    if (cid && !sy_eng_valid_name(json_string_value(cid), 128))
        return sy_err_set(err, -EINVAL, "correlation_id", "correlation_id is 1 to 128 characters");
    e.correlation_id = json_string_value(cid);
    e.amount = json_number_value(amount);
    char day[11];
    day_of(e.at_ms, day);
    e.day = day;
    const char *why = NULL;
    int64_t id = 0;
    if ((rc = sy_store_begin(eng->store, err)) < 0)
        return rc;
    /* the check and the reservation in one transaction: nothing reserves in between */
    if ((rc = deny_reason(eng, e.workspace, e.domain, day, e.amount, &why, err)) == 0) {
        e.outcome = why ? "denied" : "reserved";
        e.reason = why;
        rc = sy_store_risk_add(eng->store, &e, &id, err);
    }
    /* the answer before the commit: a reservation committed but answered 500 would be
     * retried, and counted twice against the day's limit */
    if (rc == 0 &&
        !(*out = why ? json_pack("{sbsssI}", "ok", 0, "reason", why, "entry_id", (json_int_t)id)
                     : json_pack("{sbsIsssf}", "ok", 1, "reservation_id", (json_int_t)id, "day",
                                 day, "amount", e.amount)))
        rc = sy_eng_oom(err);
    if (rc < 0) {
        sy_store_rollback(eng->store);
        return rc;
    }
    return commit_answered(eng, out, err);
}

int sy_engine_risk_release(sy_engine_t *eng, const sy_principal_t *actor, const json_t *body,
                           json_t **out, sy_err_t *err)
{
    static const char *const fields[] = {"reservation_id", "actor", NULL};
    int rc;
    if ((rc = sy_eng_only_fields(body, fields, "", err)) < 0)
        return rc;
    const json_t *id = json_object_get(body, "reservation_id");
    if (!json_is_integer(id) || json_integer_value(id) < 1)
        return sy_err_set(err, -EINVAL, "reservation_id", "reservation_id is the reservation's id");
    const json_t *who = json_object_get(body, "actor");
    if (who && !sy_eng_valid_name(json_string_value(who), 128))
        return sy_err_set(err, -EINVAL, "actor", "actor is 1 to 128 characters");
    if ((rc = sy_store_begin(eng->store, err)) < 0)
        return rc;
    if ((rc = sy_store_risk_release(eng->store, actor->workspace, json_integer_value(id),
                                    sy_engine_now_ms(eng), err)) < 0 ||
        (!(*out = json_pack("{sbsI}", "released", 1, "reservation_id",
                            (json_int_t)json_integer_value(id))) &&
         (rc = sy_eng_oom(err)) < 0)) {
        sy_store_rollback(eng->store);
        return rc;
    }
    return commit_answered(eng, out, err);
}

static int add_entry(void *arg, const sy_store_risk_entry_t *e)
{
    json_t *o = json_pack(
        "{sIsssfsssosssosIso}", "id", (json_int_t)e->id, "domain", e->domain, "amount", e->amount,
        "actor", e->actor, "correlation_id",
        e->correlation_id ? json_string(e->correlation_id) : json_null(), "outcome", e->outcome,
        "reason", e->reason ? json_string(e->reason) : json_null(), "at_ms", (json_int_t)e->at_ms,
        "released_ms", e->released_ms ? json_integer(e->released_ms) : json_null());
    return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

int sy_engine_risk_ledger(sy_engine_t *eng, const sy_principal_t *actor, const char *day,
                          json_t **out, sy_err_t *err)
{
    char today[11];
    if (!day) {
        day_of(sy_engine_now_ms(eng), today);
        day = today;
    }
    if (!valid_day(day))
        return sy_err_set(err, -EINVAL, "day", "day is YYYY-MM-DD");
    json_t *a = json_array();
    int rc =
        a ? sy_store_risk_list(eng->store, actor->workspace, day, 0, add_entry, a, err) : -ENOMEM;
    if (rc < 0) {
        json_decref(a);
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    }
    *out = json_pack("{ssso}", "day", day, "entries", a);
    return *out ? 0 : sy_eng_oom(err);
}
