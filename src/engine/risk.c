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
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/risk_json.h"
#include "engine/internal.h"

#define DOMAIN_MAX SY_RISK_DOMAIN_MAX
#define TEXT_MAX   SY_RISK_TEXT_MAX
#define TRIPWIRE   "tripwire" /* changed_by of a policy a tripwire disabled */

const char *const sy_risk_outcome_names[SY_RISK_OUTCOMES] = {"none", "kill_switch", "no_policy",
                                                             "policy_disabled", "limit_exceeded"};

/* Counts an answer of check-and-reserve in its workspace (GET /metrics, through the board):
 * `why` NULL for a reservation, else one of sy_risk_outcome_names. */
static void count_answer(sy_engine_t *eng, int64_t ws, const char *why)
{
    struct workspace *w = sy_eng_find_ws(eng, ws);
    size_t o = 0;
    for (size_t i = 1; why && i < SY_RISK_OUTCOMES; i++)
        if (strcmp(why, sy_risk_outcome_names[i]) == 0)
            o = i;
    assert(!why || o > 0); /* deny_reason() says only these */
    if (w)
        w->risk[o]++;
}

/* "YYYY-MM-DD" (UTC) of Unix milliseconds. */
static void day_of(int64_t ms, char out[11])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* "YYYY-MM-DD", a day the calendar has (2026-02-30 is none). */
static bool valid_day(const char *d)
{
    for (int i = 0; i < 10; i++)
        if (!d[i] || (i == 4 || i == 7 ? d[i] != '-' : (d[i] < '0' || d[i] > '9')))
            return false;
    int year = atoi(d), month = (d[5] - '0') * 10 + (d[6] - '0');
    int mday = (d[8] - '0') * 10 + (d[9] - '0');
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return d[10] == '\0' && month >= 1 && month <= 12 && mday >= 1 &&
           mday <= days[month - 1] + (month == 2 && leap);
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

/* The stored policy as the API shows it. */
static void policy_out(const sy_store_risk_policy_t *p, sy_risk_policy_t *out)
{
    *out =
        (sy_risk_policy_t){.enabled = p->enabled,
                           .max_per_action = {.set = p->has_max_per_action, .v = p->max_per_action},
                           .max_per_day = {.set = p->has_max_per_day, .v = p->max_per_day},
                           .updated_ms = p->updated_ms};
    snprintf(out->domain, sizeof(out->domain), "%s", p->domain);
    snprintf(out->reason, sizeof(out->reason), "%s", p->reason ? p->reason : "");
    snprintf(out->changed_by, sizeof(out->changed_by), "%s", p->changed_by ? p->changed_by : "");
}

/* As the audit trail shows it: the API's writer. */
static json_t *policy_json(const sy_store_risk_policy_t *p)
{
    sy_risk_policy_t t;
    policy_out(p, &t);
    return sy_risk_policy_json(&t);
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

static bool limit_ok(const sy_limit_t *l)
{
    return !l->set || (l->v > 0 && isfinite(l->v));
}

int sy_engine_risk_policy_put(sy_engine_t *eng, const sy_principal_t *actor, const char *domain,
                              const sy_risk_policy_change_t *c, sy_risk_policy_t *out,
                              sy_err_t *err)
{
    int rc;
    if (!sy_eng_valid_name(domain, DOMAIN_MAX))
        return sy_err_set(err, -EINVAL, "domain", "domain is 1 to 64 characters");
    if (c->has_max_per_action && !limit_ok(&c->max_per_action))
        return sy_err_set(err, -EINVAL, "max_per_action",
                          "max_per_action is a number above 0, or null for no limit");
    if (c->has_max_per_day && !limit_ok(&c->max_per_day))
        return sy_err_set(err, -EINVAL, "max_per_day",
                          "max_per_day is a number above 0, or null for no limit");
    if (!sy_eng_valid_name(c->reason, TEXT_MAX))
        return sy_err_set(err, -EINVAL, "reason",
                          "every change needs a reason (1 to 512 characters)");
    if (c->changed_by && !sy_eng_valid_name(c->changed_by, SY_RISK_NAME_MAX))
        return sy_err_set(err, -EINVAL, "changed_by", "changed_by is 1 to 128 characters");
    struct rpolicy old;
    if ((rc = find_policy(eng, actor->workspace, domain, &old, err)) < 0)
        return rc;
    sy_store_risk_policy_t p =
        old.found ? old.p : (sy_store_risk_policy_t){.domain = domain, .enabled = true};
    p.workspace = actor->workspace;
    if (c->has_enabled)
        p.enabled = c->enabled;
    if (c->has_max_per_action) {
        p.has_max_per_action = c->max_per_action.set;
        p.max_per_action = c->max_per_action.v;
    }
    if (c->has_max_per_day) {
        p.has_max_per_day = c->max_per_day.set;
        p.max_per_day = c->max_per_day.v;
    }
    p.reason = c->reason;
    p.changed_by = c->changed_by ? c->changed_by : sy_eng_actor_name(actor);
    p.updated_ms = sy_engine_now_ms(eng);
    if ((rc = sy_store_begin(eng->store, err)) < 0)
        return rc;
    /* The answer is a struct filled after the commit, which cannot fail: an error answered
     * for a change that was committed would be as wrong as a change lost. */
    if ((rc = write_policy(eng, actor, actor->workspace, &old, &p,
                           old.found ? "risk.policy.update" : "risk.policy.create", err)) < 0) {
        sy_store_rollback(eng->store);
        return rc;
    }
    if ((rc = sy_store_commit(eng->store, err)) < 0)
        return rc;
    policy_out(&p, out);
    return 0;
}

struct policy_list {
    sy_risk_policy_t *v;
    size_t n, cap;
};

static int add_policy(void *arg, const sy_store_risk_policy_t *p)
{
    struct policy_list *l = arg;
    if (sy_eng_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
        return -ENOMEM;
    policy_out(p, &l->v[l->n++]);
    return 0;
}

int sy_engine_risk_policies(sy_engine_t *eng, const sy_principal_t *actor, sy_risk_policy_t **out,
                            size_t *n, sy_err_t *err)
{
    struct policy_list l = {0};
    int rc = sy_store_risk_policy_list(eng->store, actor->workspace, NULL, add_policy, &l, err);
    if (rc < 0) {
        free(l.v);
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    }
    *out = l.v;
    *n = l.n;
    return 0;
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

int sy_engine_risk_reserve(sy_engine_t *eng, const sy_principal_t *actor,
                           const sy_risk_request_t *req, sy_risk_answer_t *out, sy_err_t *err)
{
    int rc;
    if (!sy_eng_valid_name(req->domain, DOMAIN_MAX))
        return sy_err_set(err, -EINVAL, "domain", "domain is 1 to 64 characters");
    if (!isfinite(req->amount) || !(req->amount > 0))
        return sy_err_set(err, -EINVAL, "amount", "amount is a number above 0");
    if (!sy_eng_valid_name(req->actor, SY_RISK_NAME_MAX))
        return sy_err_set(err, -EINVAL, "actor", "actor is 1 to 128 characters");
    if (req->correlation_id && !sy_eng_valid_name(req->correlation_id, SY_RISK_NAME_MAX))
        return sy_err_set(err, -EINVAL, "correlation_id", "correlation_id is 1 to 128 characters");
    sy_store_risk_entry_t e = {.workspace = actor->workspace,
                               .at_ms = sy_engine_now_ms(eng),
                               .domain = req->domain,
                               .actor = req->actor,
                               .correlation_id = req->correlation_id,
                               .amount = req->amount};
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
    /* the answer is a struct, filled after the commit (which nothing can fail): a
     * reservation committed but answered 500 would be retried, and counted twice */
    if (rc < 0) {
        sy_store_rollback(eng->store);
        return rc;
    }
    if ((rc = sy_store_commit(eng->store, err)) < 0)
        return rc;
    count_answer(eng, e.workspace, why);
    *out = (sy_risk_answer_t){.ok = !why, .reason = why, .id = id, .amount = e.amount};
    memcpy(out->day, day, sizeof(day));
    return 0;
}

int sy_engine_risk_release(sy_engine_t *eng, const sy_principal_t *actor, int64_t id,
                           const char *by, sy_err_t *err)
{
    int rc;
    if (id < 1)
        return sy_err_set(err, -EINVAL, "reservation_id", "reservation_id is the reservation's id");
    if (by && !sy_eng_valid_name(by, SY_RISK_NAME_MAX))
        return sy_err_set(err, -EINVAL, "actor", "actor is 1 to 128 characters");
    if ((rc = sy_store_begin(eng->store, err)) < 0)
        return rc;
    if ((rc = sy_store_risk_release(eng->store, actor->workspace, id, sy_engine_now_ms(eng), err)) <
        0) {
        sy_store_rollback(eng->store);
        return rc;
    }
    return sy_store_commit(eng->store, err);
}

struct entry_list {
    sy_risk_entry_t *v;
    size_t n, cap;
};

static int add_entry(void *arg, const sy_store_risk_entry_t *e)
{
    struct entry_list *l = arg;
    if (sy_eng_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
        return -ENOMEM;
    sy_risk_entry_t *o = &l->v[l->n++];
    *o = (sy_risk_entry_t){
        .id = e->id, .amount = e->amount, .at_ms = e->at_ms, .released_ms = e->released_ms};
    snprintf(o->domain, sizeof(o->domain), "%s", e->domain);
    snprintf(o->actor, sizeof(o->actor), "%s", e->actor);
    snprintf(o->correlation_id, sizeof(o->correlation_id), "%s",
             e->correlation_id ? e->correlation_id : "");
    snprintf(o->outcome, sizeof(o->outcome), "%s", e->outcome);
    snprintf(o->reason, sizeof(o->reason), "%s", e->reason ? e->reason : "");
    return 0;
}

int sy_engine_risk_ledger(sy_engine_t *eng, const sy_principal_t *actor, const char *day,
                          char day_out[11], sy_risk_entry_t **out, size_t *n, sy_err_t *err)
{
    char today[11];
    if (!day) {
        day_of(sy_engine_now_ms(eng), today);
        day = today;
    }
    if (!valid_day(day))
        return sy_err_set(err, -EINVAL, "day", "day is YYYY-MM-DD");
    struct entry_list l = {0};
    int rc = sy_store_risk_list(eng->store, actor->workspace, day, 0, add_entry, &l, err);
    if (rc < 0) {
        free(l.v);
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    }
    memcpy(day_out, day, 11);
    *out = l.v;
    *n = l.n;
    return 0;
}
