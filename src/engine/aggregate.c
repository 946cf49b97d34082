/* aggregate.c - the service's health at a glance (GET /health/aggregate): one component per
 * part an operator watches, each with its state and why, and the worst of them. Read from
 * what the engine holds; nothing here changes anything. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

/* Thresholds of the rules (engine.h). */
#define INGEST_QUEUED_MAX  1000
#define NOTIFY_PENDING_MAX 100

struct list {
    sy_health_component_t *v;
    size_t n, cap;
    sy_health_state_t worst;
};

static int put(struct list *l, sy_health_state_t state, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int put(struct list *l, sy_health_state_t state, const char *name, const char *fmt, ...)
{
    if (sy_eng_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
        return -ENOMEM;
    sy_health_component_t *c = &l->v[l->n++];
    *c = (sy_health_component_t){.state = state};
    snprintf(c->name, sizeof(c->name), "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
    va_end(ap);
    if (state > l->worst)
        l->worst = state;
    return 0;
}

static int ingest_of(sy_engine_t *eng, struct list *l)
{
    sy_engine_counters_t k;
    sy_engine_counters(eng, &k);
    if (atomic_load_explicit(&eng->counted.last_failed, memory_order_relaxed))
        return put(l, SY_DEGRADED, "ingest",
                   "the last group commit failed (%lld failed since the start): its submissions "
                   "were answered with the error",
                   (long long)k.commit_failures);
    if (k.queued > INGEST_QUEUED_MAX)
        return put(l, SY_DEGRADED, "ingest", "%lld submissions wait for a commit (over %d)",
                   (long long)k.queued, INGEST_QUEUED_MAX);
    return put(l, SY_HEALTHY, "ingest", "%lld commits, %lld submissions waiting",
               (long long)k.commits, (long long)k.queued);
}

static int notifier_of(sy_engine_t *eng, const sy_principal_t *actor, struct list *l)
{
    int64_t v[3];
    sy_err_t err = {0};
    if (sy_store_notification_counts(eng->store, actor->workspace, v, &err) < 0)
        return put(l, SY_UNHEALTHY, "notifier", "its outbox does not read: %s", err.msg);
    sy_notification_counts_t c = {v[0], v[1], v[2]};
    if (c.failed > 0)
        return put(l, SY_DEGRADED, "notifier",
                   "%lld deliveries failed (GET /v1/notifications?status=failed), %lld pending",
                   (long long)c.failed, (long long)c.pending);
    if (c.pending > NOTIFY_PENDING_MAX)
        return put(l, SY_DEGRADED, "notifier", "%lld deliveries pending (over %d)",
                   (long long)c.pending, NOTIFY_PENDING_MAX);
    return put(l, SY_HEALTHY, "notifier", "%lld delivered, %lld pending", (long long)c.delivered,
               (long long)c.pending);
}

static int tripwires_of(sy_engine_t *eng, const sy_principal_t *actor, struct list *l)
{
    sy_tripwire_state_t *st = NULL;
    size_t n = 0;
    sy_err_t err = {0};
    int rc = sy_engine_regression_state(eng, actor, &st, &n, &err);
    if (rc < 0)
        return rc == -ENOMEM ? rc : put(l, SY_UNHEALTHY, "tripwires", "%s", err.msg);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char name[96];
        snprintf(name, sizeof(name), "tripwire:%.40s/%.40s", st[i].domain, st[i].metric);
        if (st[i].triggered)
            rc = put(l, SY_DEGRADED, name, "triggered: %s", st[i].note);
        else
            rc = put(l, SY_HEALTHY, name, "%s",
                     !st[i].enabled    ? "disabled"
                     : st[i].evaluated ? st[i].note
                                       : "not evaluated yet");
    }
    free(st);
    return rc;
}

static int routes_of(sy_engine_t *eng, const sy_principal_t *actor, struct list *l)
{
    sy_routes_t *rs = NULL;
    sy_err_t err = {0};
    int rc = sy_engine_route_list(eng, actor, &rs, &err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < rs->n; i++) {
        const sy_route_spec_t *r = &rs->r[i];
        const char *breaker = sy_engine_route_breaker_state(eng, actor, r->name);
        char name[96];
        snprintf(name, sizeof(name), "route:%.80s", r->name);
        double pct = r->percentage_bp / 100.0;
        int cannot = sy_engine_route_listen_errnum(eng, r->listen);
        if (cannot)
            rc = put(l, SY_UNHEALTHY, name, "cannot listen on %.120s: %s", r->listen,
                     strerror(cannot));
        else if (strcmp(breaker, "open") == 0)
            rc = put(l, SY_UNHEALTHY, name,
                     "the breaker is open: new gets no traffic but probes (%.2f %% set)", pct);
        else if (strcmp(breaker, "half_open") == 0)
            rc = put(l, SY_DEGRADED, name, "the breaker is half open: new is being probed");
        else if (!r->enabled)
            rc = put(l, SY_DEGRADED, name, "disabled: everything goes to legacy");
        else
            rc = put(l, SY_HEALTHY, name, "%.2f %% to new, the breaker closed", pct);
    }
    sy_routes_free(rs);
    return rc;
}

int sy_engine_health_aggregate(sy_engine_t *eng, const sy_principal_t *actor,
                               sy_health_component_t **out, size_t *n, sy_health_state_t *overall,
                               sy_err_t *err)
{
    struct list l = {0};
    int rc = sy_store_ping(eng->store)
                 ? put(&l, SY_HEALTHY, "store", "answers")
                 : put(&l, SY_UNHEALTHY, "store", "does not answer: no change can be made");
    if (rc == 0 && eng->listening) /* many nodes on one database (sync.c) */
        rc = put(&l, SY_HEALTHY, "node",
                 eng->leads ? "leads: runs the timers for every node of the store"
                            : "follows: another node of the store runs the timers");
    if (rc == 0)
        rc = ingest_of(eng, &l);
    if (rc == 0)
        rc = notifier_of(eng, actor, &l);
    sy_kill_switch_t k;
    if (rc == 0 && (rc = sy_engine_kill_switch_get(eng, actor, &k, err)) == 0)
        rc = k.engaged
                 ? put(&l, SY_DEGRADED, "kill_switch",
                       "engaged by %.64s: %.100s (production actions refused)", k.actor, k.reason)
                 : put(&l, SY_HEALTHY, "kill_switch", "off");
    sy_engine_timers_t t = sy_engine_timers(eng);
    if (rc == 0)
        rc = t.auto_promotion_ms <= 0 ? put(&l, SY_DEGRADED, "auto_promotion",
                                            "the timer is off: nothing steps by itself")
             : t.auto_promotion_dry_run
                 ? put(&l, SY_DEGRADED, "auto_promotion",
                       "dry run every %lld s: steps are reported, not taken",
                       (long long)(t.auto_promotion_ms / 1000))
                 : put(&l, SY_HEALTHY, "auto_promotion", "checks every %lld s",
                       (long long)(t.auto_promotion_ms / 1000));
    if (rc == 0)
        rc = tripwires_of(eng, actor, &l);
    if (rc == 0)
        rc = routes_of(eng, actor, &l);
    if (rc < 0) {
        free(l.v);
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    }
    *out = l.v;
    *n = l.n;
    *overall = l.worst;
    return 0;
}

/* ---- emergency rollback --------------------------------------------------------------------- */

static void failed(sy_emergency_report_t *out, const char *what, const char *name,
                   const sy_err_t *e)
{
    if (!out->first_failure[0])
        snprintf(out->first_failure, sizeof(out->first_failure), "%s %.64s: %.120s", what, name,
                 e->msg);
}

int sy_engine_emergency_rollback(sy_engine_t *eng, const sy_principal_t *actor, const char *reason,
                                 sy_emergency_report_t *out, sy_err_t *err)
{
    *out = (sy_emergency_report_t){0};
    char why[600];
    snprintf(why, sizeof(why), "emergency rollback: %.400s", reason && *reason ? reason : "-");
    sy_experiment_t *x = NULL;
    size_t n = 0;
    int rc = sy_engine_experiment_list(eng, actor, &x, &n, err);
    if (rc < 0)
        return rc;
    sy_rollback_request_t req = {.reason = why};
    for (size_t i = 0; i < n; i++) {
        if (!sy_eng_state_live(x[i].state))
            continue;
        sy_err_t e = {0};
        if (sy_eng_exp_rollback(eng, actor, x[i].def.key, &req, SY_CHANGE_EMERGENCY, &e) == 0) {
            out->experiments++;
        } else {
            out->experiments_failed++;
            failed(out, "experiment", x[i].def.key, &e);
        }
    }
    free(x);
    sy_routes_t *rs = NULL;
    if ((rc = sy_engine_route_list(eng, actor, &rs, err)) < 0)
        return rc;
    sy_route_enabled_change_t off = {.enabled = false, .reason = why};
    for (size_t i = 0; i < rs->n; i++) {
        if (!rs->r[i].enabled)
            continue;
        sy_err_t e = {0};
        sy_routes_t *after = NULL;
        if (sy_engine_route_enabled(eng, actor, rs->r[i].name, &off, &after, &e) == 0) {
            out->routes++;
        } else {
            out->routes_failed++;
            failed(out, "route", rs->r[i].name, &e);
        }
        sy_routes_free(after);
    }
    sy_routes_free(rs);
    return 0;
}
