/* store.c - store.h's front: sy_store_open chooses a backend by the URI, and every other
 * call goes to the handle's backend (store_backend.h), one indirect call each. Also the
 * helpers that touch no database.
 *
 * The URI decides: libpq's two URI prefixes (compared as libpq compares them, case and
 * all), and libpq's keyword form ("host=... dbname=..."), mean PostgreSQL (issue 25:
 * store/postgres*.c); anything else (a path, ":memory:") is SQLite, as it always was. A
 * build without libpq refuses a PostgreSQL URI with -ENOTSUP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_backend.h"
#ifdef SY_HAVE_PQ
#include "store/postgres.h"
#endif

static bool is_postgres_uri(const char *uri)
{
    return strncmp(uri, "postgres://", strlen("postgres://")) == 0 ||
           strncmp(uri, "postgresql://", strlen("postgresql://")) == 0;
}

/* libpq's keyword form, "host=... dbname=...": a keyword of lower-case letters and '_',
 * then '='. Never taken for a SQLite path (it would make a file named after a password). */
static bool is_conninfo(const char *uri)
{
    while (*uri == ' ')
        uri++;
    size_t n = strspn(uri, "abcdefghijklmnopqrstuvwxyz_");
    while (n > 0 && uri[n] == ' ')
        n++;
    return n > 0 && uri[n] == '=';
}

int sy_store_open(sy_store_t **out, const char *uri, sy_err_t *err)
{
    *out = NULL;
    if (!uri || !*uri)
        return sy_err_set(err, -EINVAL, "db", "no database path given");
    if (!is_postgres_uri(uri) && !is_conninfo(uri))
        return sy_store_sqlite_ops.open(out, uri, err);
#ifdef SY_HAVE_PQ
    return sy_store_postgres_ops.open(out, uri, err);
#else
    /* The URI itself is not repeated: it may hold a password. */
    return sy_err_set(err, -ENOTSUP, "db",
                      "--db %.*s: this switchyard was built without libpq (scripts/deps.sh "
                      "installs libpq-dev)",
                      is_conninfo(uri) ? 0 : (int)(strchr(uri, ':') - uri + 3), uri);
#endif
}

/* Where `uri`'s password is: *at and *len (0: none). The URI form's is the userinfo's part
 * after ':' (before '@'); the keyword form's the value of `password=` (to a space). */
static void password_of(const char *uri, size_t *at, size_t *len)
{
    *at = *len = 0;
    if (is_postgres_uri(uri)) {
        const char *start = strstr(uri, "://") + 3;
        size_t auth = strcspn(start, "@/?");
        const char *colon = memchr(start, ':', auth);
        if (start[auth] == '@' && colon) {
            *at = (size_t)(colon + 1 - uri);
            *len = (size_t)(start + auth - (colon + 1));
        }
        return;
    }
    for (const char *p = strstr(uri, "password"); p; p = strstr(p + 1, "password")) {
        const char *v = p + strlen("password");
        while (*v == ' ')
            v++;
        if ((p == uri || p[-1] == ' ') && *v == '=') {
            v++;
            while (*v == ' ')
                v++;
            *at = (size_t)(v - uri);
            *len = *v == '\'' ? strcspn(v + 1, "'") + 2 : strcspn(v, " ");
            return;
        }
    }
}

void sy_store_redact(const char *uri, const char *msg, char *out, size_t cap)
{
    size_t at, len, n = 0;
    password_of(uri, &at, &len);
    if (cap == 0)
        return;
    for (const char *m = msg; *m && n + 1 < cap;) {
        if (len >= 3 && strncmp(m, uri + at, len) == 0) { /* a short one would hide words */
            n += (size_t)snprintf(out + n, cap - n, "****");
            n = n < cap ? n : cap - 1;
            m += len;
        } else {
            out[n++] = *m++;
        }
    }
    out[n] = '\0';
}

void sy_store_uri_shown(const char *uri, char *out, size_t cap)
{
    size_t at, len;
    password_of(uri, &at, &len);
    if (len == 0)
        snprintf(out, cap, "%s", uri);
    else
        snprintf(out, cap, "%.*s****%s", (int)at, uri, uri + at + len);
}

int sy_store_migrate(const char *uri, const char *app_role, int *version, sy_err_t *err)
{
    *version = 0;
    if (!uri || !*uri)
        return sy_err_set(err, -EINVAL, "db", "no database path given");
    if (is_postgres_uri(uri) || is_conninfo(uri)) {
#ifdef SY_HAVE_PQ
        int rc = sy_store_pg_migrate(uri, app_role ? app_role : "switchyard_app", err);
        if (rc == 0)
            *version = sy_store_pg_schema_version();
        return rc;
#else
        (void)app_role;
        return sy_err_set(err, -ENOTSUP, "db", "this switchyard was built without libpq");
#endif
    }
    sy_store_t *s;
    int rc = sy_store_sqlite_ops.open(&s, uri, err);
    if (rc < 0)
        return rc;
    *version = sy_store_schema_version(s);
    sy_store_close(s);
    return 0;
}

void sy_store_close(sy_store_t *store)
{
    if (store)
        store->ops->close(store);
}

int sy_store_schema_version(sy_store_t *store)
{
    return store->ops->schema_version(store);
}

bool sy_store_ping(sy_store_t *store)
{
    return store->ops->ping(store);
}

int sy_store_lazy_commits(sy_store_t *store, sy_err_t *err)
{
    return store->ops->lazy_commits(store, err);
}

void sy_store_fail_at(sy_store_t *store, int64_t at)
{
    store->ops->fail_at(store, at);
}

int64_t sy_store_calls(const sy_store_t *store)
{
    return store->ops->calls(store);
}

int sy_store_begin(sy_store_t *store, sy_err_t *err)
{
    return store->ops->begin(store, err);
}

int sy_store_commit(sy_store_t *store, sy_err_t *err)
{
    return store->ops->commit(store, err);
}

void sy_store_rollback(sy_store_t *store)
{
    store->ops->rollback(store);
}

int sy_store_workspace_create(sy_store_t *store, const char *name, int64_t now_ms, int64_t *id,
                              sy_err_t *err)
{
    return store->ops->workspace_create(store, name, now_ms, id, err);
}

int sy_store_workspace_list(sy_store_t *store, sy_store_workspace_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->workspace_list(store, cb, arg, err);
}

int sy_store_workspace_find(sy_store_t *store, const char *name, int64_t *id, sy_err_t *err)
{
    return store->ops->workspace_find(store, name, id, err);
}

int sy_store_workspace_bump(sy_store_t *store, int64_t ws, int64_t *revision, sy_err_t *err)
{
    return store->ops->workspace_bump(store, ws, revision, err);
}

int sy_store_token_create(sy_store_t *store, const sy_store_token_t *t, int64_t *id, sy_err_t *err)
{
    return store->ops->token_create(store, t, id, err);
}

int sy_store_token_revoke(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
    return store->ops->token_revoke(store, ws, id, now_ms, err);
}

int sy_store_token_list(sy_store_t *store, int64_t ws, sy_store_token_cb cb, void *arg,
                        sy_err_t *err)
{
    return store->ops->token_list(store, ws, cb, arg, err);
}

int sy_store_token_by_hash(sy_store_t *store, const char *hash, sy_store_token_cb cb, void *arg,
                           sy_err_t *err)
{
    return store->ops->token_by_hash(store, hash, cb, arg, err);
}

int sy_store_flag_put(sy_store_t *store, int64_t ws, const sy_store_flag_t *f, bool *created,
                      sy_err_t *err)
{
    return store->ops->flag_put(store, ws, f, created, err);
}

int sy_store_flag_delete(sy_store_t *store, int64_t ws, const char *key, sy_err_t *err)
{
    return store->ops->flag_delete(store, ws, key, err);
}

int sy_store_flag_clear(sy_store_t *store, int64_t ws, sy_err_t *err)
{
    return store->ops->flag_clear(store, ws, err);
}

int sy_store_flag_list(sy_store_t *store, int64_t ws, sy_store_flag_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->flag_list(store, ws, cb, arg, err);
}

int sy_store_flag_workspaces(sy_store_t *store, sy_store_id_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->flag_workspaces(store, cb, arg, err);
}

int sy_store_flagset_get(sy_store_t *store, int64_t ws, char **evaluators, char **metadata,
                         sy_err_t *err)
{
    return store->ops->flagset_get(store, ws, evaluators, metadata, err);
}

int sy_store_flagset_put(sy_store_t *store, int64_t ws, const char *evaluators,
                         const char *metadata, sy_err_t *err)
{
    return store->ops->flagset_put(store, ws, evaluators, metadata, err);
}

int sy_store_audit_add(sy_store_t *store, const sy_store_audit_t *a, sy_err_t *err)
{
    return store->ops->audit_add(store, a, err);
}

int sy_store_audit_list(sy_store_t *store, const sy_store_audit_query_t *q, sy_store_audit_cb cb,
                        void *arg, sy_err_t *err)
{
    return store->ops->audit_list(store, q, cb, arg, err);
}

int sy_store_experiment_put(sy_store_t *store, const sy_store_experiment_t *e, int64_t *id,
                            sy_err_t *err)
{
    return store->ops->experiment_put(store, e, id, err);
}

int sy_store_experiment_list(sy_store_t *store, int64_t ws, sy_store_experiment_cb cb, void *arg,
                             sy_err_t *err)
{
    return store->ops->experiment_list(store, ws, cb, arg, err);
}

int sy_store_arm_put(sy_store_t *store, const sy_store_arm_t *a, sy_err_t *err)
{
    return store->ops->arm_put(store, a, err);
}

int sy_store_arm_list(sy_store_t *store, int64_t experiment, sy_store_arm_cb cb, void *arg,
                      sy_err_t *err)
{
    return store->ops->arm_list(store, experiment, cb, arg, err);
}

int sy_store_srm_put(sy_store_t *store, int64_t experiment, double p, sy_err_t *err)
{
    return store->ops->srm_put(store, experiment, p, err);
}

int sy_store_srm_list(sy_store_t *store, sy_store_srm_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->srm_list(store, cb, arg, err);
}

int sy_store_change_add(sy_store_t *store, const sy_store_change_t *c, int64_t *id, sy_err_t *err)
{
    return store->ops->change_add(store, c, id, err);
}

int sy_store_change_list(sy_store_t *store, int64_t experiment, sy_store_change_cb cb, void *arg,
                         sy_err_t *err)
{
    return store->ops->change_list(store, experiment, cb, arg, err);
}

int sy_store_setting_put(sy_store_t *store, int64_t ws, const char *name, const char *value,
                         sy_err_t *err)
{
    return store->ops->setting_put(store, ws, name, value, err);
}

int sy_store_setting_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err)
{
    return store->ops->setting_delete(store, ws, name, err);
}

int sy_store_setting_list(sy_store_t *store, sy_store_setting_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->setting_list(store, cb, arg, err);
}

int sy_store_event_add(sy_store_t *store, const sy_store_event_t *e, int64_t *seq, sy_err_t *err)
{
    return store->ops->event_add(store, e, seq, err);
}

int sy_store_event_add_many(sy_store_t *store, const sy_store_event_t *ev, size_t n, int64_t *seq,
                            sy_err_t *err)
{
    return store->ops->event_add_many(store, ev, n, seq, err);
}

int sy_store_event_list(sy_store_t *store, sy_store_event_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->event_list(store, cb, arg, err);
}

int sy_store_event_last(sy_store_t *store, int64_t *seq, sy_err_t *err)
{
    return store->ops->event_last(store, seq, err);
}

int sy_store_change_after(sy_store_t *store, int64_t after, sy_store_change_cb cb, void *arg,
                          sy_err_t *err)
{
    return store->ops->change_after(store, after, cb, arg, err);
}

int sy_store_log_lock(sy_store_t *store, int64_t *head, int64_t *changes, sy_err_t *err)
{
    return store->ops->log_lock(store, head, changes, err);
}

int sy_store_log_hold(sy_store_t *store, int64_t *head, sy_err_t *err)
{
    return store->ops->log_hold(store, head, err);
}

void sy_store_log_unlock(sy_store_t *store)
{
    store->ops->log_unlock(store);
}

int sy_store_log_after(sy_store_t *store, int64_t after, int64_t limit, sy_store_event_cb cb,
                       void *arg, sy_err_t *err)
{
    return store->ops->log_after(store, after, limit, cb, arg, err);
}

int sy_store_begin_read(sy_store_t *store, sy_err_t *err)
{
    return store->ops->begin_read(store, err);
}

int sy_store_event_count(sy_store_t *store, int64_t experiment, int64_t *n, sy_err_t *err)
{
    return store->ops->event_count(store, experiment, n, err);
}

int sy_store_kpi_add(sy_store_t *store, const sy_store_kpi_t *k, bool *added, sy_err_t *err)
{
    return store->ops->kpi_add(store, k, added, err);
}

int sy_store_kpi_window(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                        bool of_values, const sy_store_kpi_span_t *span, int64_t skip,
                        int64_t limit, int64_t *events, int64_t *successes, double *mean,
                        sy_err_t *err)
{
    return store->ops->kpi_window(store, ws, domain, metric, of_values, span, skip, limit, events,
                                  successes, mean, err);
}

int sy_store_kpi_unit_sum(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                          const char *unit, int64_t from_ms, int64_t to_ms, double *sum,
                          sy_err_t *err)
{
    return store->ops->kpi_unit_sum(store, ws, domain, metric, unit, from_ms, to_ms, sum, err);
}

int sy_store_kpi_place(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                       bool of_values, const sy_store_kpi_span_t *span, int64_t skip,
                       sy_store_kpi_place_t *out, bool *found, sy_err_t *err)
{
    return store->ops->kpi_place(store, ws, domain, metric, of_values, span, skip, out, found, err);
}

int sy_store_regression_put(sy_store_t *store, const sy_store_regression_t *r, bool only_new,
                            bool *created, sy_err_t *err)
{
    return store->ops->regression_put(store, r, only_new, created, err);
}

int sy_store_regression_list(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                             sy_store_regression_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->regression_list(store, ws, domain, metric, cb, arg, err);
}

int sy_store_risk_policy_put(sy_store_t *store, const sy_store_risk_policy_t *p, sy_err_t *err)
{
    return store->ops->risk_policy_put(store, p, err);
}

int sy_store_risk_policy_list(sy_store_t *store, int64_t ws, const char *domain,
                              sy_store_risk_policy_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->risk_policy_list(store, ws, domain, cb, arg, err);
}

int sy_store_risk_add(sy_store_t *store, const sy_store_risk_entry_t *e, int64_t *id, sy_err_t *err)
{
    return store->ops->risk_add(store, e, id, err);
}

int sy_store_risk_reserved(sy_store_t *store, int64_t ws, const char *domain, const char *day,
                           double *sum, sy_err_t *err)
{
    return store->ops->risk_reserved(store, ws, domain, day, sum, err);
}

int sy_store_risk_release(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
    return store->ops->risk_release(store, ws, id, now_ms, err);
}

int sy_store_risk_list(sy_store_t *store, int64_t ws, const char *day, int64_t id,
                       sy_store_risk_entry_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->risk_list(store, ws, day, id, cb, arg, err);
}

int sy_store_channel_add(sy_store_t *store, const sy_store_channel_t *c, int64_t *id, sy_err_t *err)
{
    return store->ops->channel_add(store, c, id, err);
}

int sy_store_channel_delete(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms,
                            sy_err_t *err)
{
    return store->ops->channel_delete(store, ws, id, now_ms, err);
}

int sy_store_channel_list(sy_store_t *store, int64_t ws, int64_t id, sy_store_channel_cb cb,
                          void *arg, sy_err_t *err)
{
    return store->ops->channel_list(store, ws, id, cb, arg, err);
}

int sy_store_notification_add(sy_store_t *store, const sy_store_notification_t *n, int64_t *id,
                              sy_err_t *err)
{
    return store->ops->notification_add(store, n, id, err);
}

int sy_store_notification_list(sy_store_t *store, const sy_store_notification_query_t *q,
                               sy_store_notification_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->notification_list(store, q, cb, arg, err);
}

int sy_store_notification_due(sy_store_t *store, int64_t now_ms, int limit,
                              sy_store_notification_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->notification_due(store, now_ms, limit, cb, arg, err);
}

int sy_store_notification_next(sy_store_t *store, int64_t *next_ms, sy_err_t *err)
{
    return store->ops->notification_next(store, next_ms, err);
}

int sy_store_notification_update(sy_store_t *store, int64_t id, const char *status,
                                 int64_t attempts, const char *last_error, int64_t next_ms,
                                 int64_t done_ms, sy_err_t *err)
{
    return store->ops->notification_update(store, id, status, attempts, last_error, next_ms,
                                           done_ms, err);
}

int sy_store_notification_prune(sy_store_t *store, int64_t before_ms, int64_t *deleted,
                                sy_err_t *err)
{
    return store->ops->notification_prune(store, before_ms, deleted, err);
}

int sy_store_notification_counts(sy_store_t *store, int64_t ws, int64_t counts[3], sy_err_t *err)
{
    return store->ops->notification_counts(store, ws, counts, err);
}

int sy_store_notification_type_counts(sy_store_t *store, int64_t ws, const char *const *types,
                                      size_t n, int64_t (*counts)[3], sy_err_t *err)
{
    return store->ops->notification_type_counts(store, ws, types, n, counts, err);
}

int sy_store_notification_type_counts_each(sy_store_t *store, const char *const *types, size_t n,
                                           sy_store_type_counts_cb cb, void *arg, sy_err_t *err)
{
    if (n > SY_STORE_TYPES_MAX)
        return sy_err_set(err, -EINVAL, "types", "at most %d types", SY_STORE_TYPES_MAX);
    return store->ops->notification_type_counts_each(store, types, n, cb, arg, err);
}

int sy_store_route_put(sy_store_t *store, const sy_store_route_t *r, int64_t *id, sy_err_t *err)
{
    return store->ops->route_put(store, r, id, err);
}

int sy_store_route_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err)
{
    return store->ops->route_delete(store, ws, name, err);
}

int sy_store_route_list(sy_store_t *store, sy_store_route_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->route_list(store, cb, arg, err);
}

int sy_store_route_minute_add(sy_store_t *store, const sy_store_route_minute_t *m, sy_err_t *err)
{
    return store->ops->route_minute_add(store, m, err);
}

int sy_store_route_minute_list(sy_store_t *store, int64_t ws, const char *route, int64_t since,
                               sy_store_route_minute_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->route_minute_list(store, ws, route, since, cb, arg, err);
}

int sy_store_route_minute_prune(sy_store_t *store, int64_t before, int64_t *deleted, sy_err_t *err)
{
    return store->ops->route_minute_prune(store, before, deleted, err);
}

int sy_store_checkpoint_put(sy_store_t *store, int64_t experiment, int64_t seq, const void *data,
                            size_t len, sy_err_t *err)
{
    return store->ops->checkpoint_put(store, experiment, seq, data, len, err);
}

int sy_store_checkpoint_list(sy_store_t *store, sy_store_checkpoint_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->checkpoint_list(store, cb, arg, err);
}

int sy_store_checkpoint_count(sy_store_t *store, int64_t *n, sy_err_t *err)
{
    return store->ops->checkpoint_count(store, n, err);
}

int sy_store_checkpoint_get(sy_store_t *store, int64_t experiment, sy_store_checkpoint_cb cb,
                            void *arg, bool *found, sy_err_t *err)
{
    return store->ops->checkpoint_get(store, experiment, cb, arg, found, err);
}

int sy_store_retention_get(sy_store_t *store, const char *name, int64_t *value, sy_err_t *err)
{
    return store->ops->retention_get(store, name, value, err);
}

int sy_store_retention_put(sy_store_t *store, const char *name, int64_t value, sy_err_t *err)
{
    return store->ops->retention_put(store, name, value, err);
}

int sy_store_event_range(sy_store_t *store, int64_t experiment, int64_t after, int64_t upto,
                         sy_store_event_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->event_range(store, experiment, after, upto, cb, arg, err);
}

int sy_store_event_experiments(sy_store_t *store, int64_t after, int64_t upto, int64_t **out,
                               size_t *n, sy_err_t *err)
{
    return store->ops->event_experiments(store, after, upto, out, n, err);
}

int sy_store_event_prune(sy_store_t *store, int64_t after, int64_t upto, int64_t before_ms,
                         int64_t limit, int64_t *through, int64_t *n, sy_err_t *err)
{
    return store->ops->event_prune(store, after, upto, before_ms, limit, through, n, err);
}

int sy_store_kpi_prune(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                       const sy_store_kpi_place_t *keep_from, int64_t before_ms, int64_t limit,
                       int64_t *n, sy_err_t *err)
{
    return store->ops->kpi_prune(store, ws, domain, metric, keep_from, before_ms, limit, n, err);
}

int sy_store_audit_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                         sy_err_t *err)
{
    return store->ops->audit_prune(store, before_ms, limit, n, err);
}

int sy_store_timeline_put(sy_store_t *store, int64_t experiment, int64_t at_ms, const char *point,
                          bool replace, sy_err_t *err)
{
    return store->ops->timeline_put(store, experiment, at_ms, point, replace, err);
}

int sy_store_timeline_list(sy_store_t *store, int64_t experiment, int64_t since_ms,
                           int64_t until_ms, int64_t limit, sy_store_timeline_cb cb, void *arg,
                           sy_err_t *err)
{
    return store->ops->timeline_list(store, experiment, since_ms, until_ms, limit, cb, arg, err);
}

int sy_store_timeline_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                            sy_err_t *err)
{
    return store->ops->timeline_prune(store, before_ms, limit, n, err);
}

/* ---- the sparse texts (the columns' format; no SQL) ------------------------------------ */

void sy_store_sparse_put(char *out, size_t cap, const int64_t *v, int n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (v[i] <= 0)
            continue;
        char one[48];
        int k = snprintf(one, sizeof(one), "%s%d:%lld", len ? "," : "", i, (long long)v[i]);
        if (len + (size_t)k >= cap)
            return;
        memcpy(out + len, one, (size_t)k + 1);
        len += (size_t)k;
    }
}

int64_t sy_store_sparse_add(int64_t *v, int n, const char *text)
{
    int64_t total = 0;
    for (const char *p = text; p && *p;) {
        char *end;
        long b = strtol(p, &end, 10);
        if (*end != ':')
            break;
        long long c = strtoll(end + 1, &end, 10);
        if (b >= 0 && b < n && c > 0) {
            v[b] += c;
            total += c;
        }
        if (*end != ',')
            break;
        p = end + 1;
    }
    return total;
}

int sy_store_announce(sy_store_t *store, int64_t ws, const char *what, int64_t revision,
                      sy_err_t *err)
{
    return store->ops->announce(store, ws, what, revision, err);
}

int sy_store_listen(sy_store_t *store, sy_err_t *err)
{
    return store->ops->listen(store, err);
}

int sy_store_heard(sy_store_t *store, sy_store_heard_cb cb, void *arg, sy_err_t *err)
{
    return store->ops->heard(store, cb, arg, err);
}

int sy_store_heard_fd(sy_store_t *store)
{
    return store->ops->heard_fd(store);
}

int sy_store_lead(sy_store_t *store, bool *held, sy_err_t *err)
{
    return store->ops->lead(store, held, err);
}
