/* serve_cmd.c - `switchyard serve` (the server), `switchyard token create` and
 * `switchyard workspace create` (offline administration of a store).
 *
 * Options come, strongest first, from the command line, SWITCHYARD_<NAME> environment
 * variables (NAME upper-cased, '-' as '_'), a --config file of "name = value" lines, and
 * the defaults.
 */
#define _DEFAULT_SOURCE
#include "cli/serve_cmd.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "cli/args.h"
#include "codec/flag_json.h"
#include "codec/experiment_json.h"
#include "codec/monitor_json.h"
#include "engine/engine.h"
#include "http/server.h"
#include "notify/sender.h"
#include "proxy/proxy.h"

enum {
    O_LISTEN,
    O_DB,
    O_CONFIG,
    O_LOG_FORMAT,
    O_MAX_BODY,
    O_ADMIN_TOKEN_FILE,
    O_WORKSPACE,
    O_SEED_FLAGS,
    O_QUIET,
    O_RATE_LIMIT,
    O_IDLE_TIMEOUT,
    O_AUTO_INTERVAL,
    O_AUTO_DRY_RUN,
    O_AUTO_SECRET,
    O_HEALTH_INTERVAL,
    O_REGRESSION_INTERVAL,
    O_NOTIFY_ATTEMPTS,
    O_NOTIFY_BACKOFF,
    O_NOTIFY_BACKOFF_MAX,
    O_NOTIFY_TIMEOUT,
    O_NOTIFY_RETENTION,
    O_PROXY_WORKERS,
    O_PROXY_MAX_BODY,
    O_ROUTE_STATS_FLUSH,
    O_ROUTE_STATS_RETENTION,
    O_HEADER_TIMEOUT,
    O_MIN_BODY_RATE,
    O_MAX_CONNECTIONS,
    O_PROXY_MAX_CONNECTIONS,
    O_WORKERS,
    O_CORS_ORIGINS,
    O_PUBLIC_URL,
    O_LOOP_CPU,
    O_METRICS_MAX_FLAGS,
    O_METRICS_LISTEN,
    O_METRICS_REFRESH,
    /* the server-wide defaults of experiments' safety settings (safety_opts below) */
    O_AP_MIN_SAMPLE,
    O_AP_MIN_CONFIDENCE,
    O_AP_MIN_IMPROVEMENT,
    O_AP_MIN_RUNTIME,
    O_AP_MAX_ERROR_RATE,
    O_AP_SEQUENTIAL,
    O_AP_TAU,
    O_AP_MANUAL,
    O_AP_MAX_LATENCY,
    O_AP_PLANNED_LIFT,
    O_EVENT_RETENTION,
    O_AUDIT_RETENTION,
    O_RETENTION_INTERVAL,
    O_COUNT
};

/* Each server-wide safety default and the field of an experiment's "safety" it stands for:
 * read as a definition's "safety" is, by its schema (sy_exp_defaults_read). */
static const struct {
    int opt;
    const char *field;
} safety_opts[] = {
    {O_AP_MIN_SAMPLE, "min_sample_per_variant"},    {O_AP_MIN_CONFIDENCE, "min_confidence"},
    {O_AP_MIN_IMPROVEMENT, "min_improvement_pct"},  {O_AP_MIN_RUNTIME, "min_runtime_hours"},
    {O_AP_MAX_ERROR_RATE, "max_error_rate"},        {O_AP_SEQUENTIAL, "sequential"},
    {O_AP_TAU, "sequential_tau_squared"},           {O_AP_MANUAL, "require_manual_approval"},
    {O_AP_MAX_LATENCY, "max_latency_increase_pct"}, {O_AP_PLANNED_LIFT, "planned_lift_pct"},
};

static const char *const defaults[O_COUNT] = {
    [O_LISTEN] = "127.0.0.1:8080",
    [O_DB] = "./switchyard.db",
    [O_LOG_FORMAT] = "text",
    [O_MAX_BODY] = "16777216",
    [O_RATE_LIMIT] = "0",
    [O_METRICS_MAX_FLAGS] = "500",
    [O_METRICS_REFRESH] = "5",
    [O_WORKSPACE] = "default",
    [O_IDLE_TIMEOUT] = "60",
    [O_HEADER_TIMEOUT] = "10",
    [O_MIN_BODY_RATE] = "1024",
    [O_AUTO_INTERVAL] = "3600",
    [O_HEALTH_INTERVAL] = "30",
    [O_REGRESSION_INTERVAL] = "300",
    [O_NOTIFY_ATTEMPTS] = "8",
    [O_NOTIFY_BACKOFF] = "1000",
    [O_NOTIFY_BACKOFF_MAX] = "300000",
    [O_NOTIFY_TIMEOUT] = "10000",
    [O_NOTIFY_RETENTION] = "30",
    [O_PROXY_WORKERS] = "2",
    [O_PROXY_MAX_BODY] = "16777216",
    [O_ROUTE_STATS_FLUSH] = "60",
    [O_ROUTE_STATS_RETENTION] = "90",
    [O_EVENT_RETENTION] = "90",
    [O_AUDIT_RETENTION] = "0",
    [O_RETENTION_INTERVAL] = "3600",
};

/* Fills options not given on the command line from the environment, then `file`; each
 * one's origin into from[i]: "flag", "environment", "config" (NULL: the default). */
static int fill_from_env_and_config(const char *prog, struct sy_arg *args, size_t n,
                                    char store[][512], const char **from)
{
    for (size_t i = 0; i < n; i++) {
        from[i] = args[i].value ? "flag" : NULL;
        if (args[i].value || i == O_CONFIG)
            continue;
        char env[64] = "SWITCHYARD_";
        size_t o = strlen(env);
        for (const char *p = args[i].name; *p && o + 1 < sizeof(env); p++)
            env[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        env[o] = '\0';
        const char *v = getenv(env);
        if (v) {
            args[i].value = v;
            from[i] = "environment";
        }
    }
    const char *path = args[O_CONFIG].value ? args[O_CONFIG].value : getenv("SWITCHYARD_CONFIG");
    if (!path)
        return 0;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "%s: --config %s: %s\n", prog, path, strerror(errno));
        return -EINVAL;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), fp)) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        char *eq = strchr(p, '=');
        char *end = eq;
        while (end && end > p && isspace((unsigned char)end[-1]))
            end--;
        if (!eq || end == p) {
            fprintf(stderr, "%s: %s:%d: expected \"name = value\"\n", prog, path, lineno);
            rc = -EINVAL;
            break;
        }
        *end = '\0';
        char *v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
        v[strcspn(v, "\r\n")] = '\0';
        for (char *t = v + strlen(v); t > v && isspace((unsigned char)t[-1]);)
            *--t = '\0';
        size_t i = 0;
        while (i < n && (strcmp(args[i].name, p) != 0 || i == O_CONFIG))
            i++;
        if (i == n) {
            fprintf(stderr, "%s: %s:%d: unknown option \"%s\"\n", prog, path, lineno, p);
            rc = -EINVAL;
        } else if (!args[i].value) {
            snprintf(store[i], sizeof(store[i]), "%s", v);
            args[i].value = store[i];
            from[i] = "config";
        }
    }
    fclose(fp);
    return rc;
}

/* A flag's value from the environment or a config file that means "off". */
static bool is_off(const char *v)
{
    return strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0;
}

/* http:// or https://, a host, and (with `path`) maybe a path; printable ASCII without
 * spaces or quotes, at most 400 bytes. */
static bool is_url(const char *s, bool path)
{
    size_t n = strlen(s), skip = strncmp(s, "https://", 8) == 0  ? 8
                                 : strncmp(s, "http://", 7) == 0 ? 7
                                                                 : 0;
    if (!skip || n == skip || n > 400 || s[skip] == '/')
        return false;
    for (size_t i = skip; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\' || (!path && s[i] == '/'))
            return false;
    return true;
}

/* "*" or a list of origins (scheme://host[:port], no path), comma-separated. */
static bool origins_ok(const char *list)
{
    if (strcmp(list, "*") == 0)
        return true;
    char one[512];
    int n = 0;
    for (const char *p = list;; p += strcspn(p, ",") + 1) {
        size_t len = strcspn(p, ",");
        while (len && *p == ' ')
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (!len || len >= sizeof(one))
            return false;
        memcpy(one, p, len);
        one[len] = '\0';
        if (!is_url(one, false))
            return false;
        n++;
        if (!p[strcspn(p, ",")])
            break;
    }
    return n > 0;
}

#define LISTEN_ERRORS 64 /* addresses the proxy cannot listen on, told at most */

struct server {
    struct event_base *base;
    sy_notifier_t *notifier; /* NULL: none (an in-memory database) */
    bool listening;          /* hears other nodes' changes (PostgreSQL: sy_engine_sync) */
    struct event *heard;     /* readable when another node may have announced a change */
    int heard_fd;            /* what `heard` waits on; -1: nothing */
    bool sync_failing;       /* the last sync failed: its error is logged every 10 s only */
    time_t sync_logged_s;    /* when it was last logged (CLOCK_MONOTONIC seconds) */
    sy_http_t *http;
    sy_engine_t *eng;
    sy_proxy_t *proxy;               /* NULL: --proxy-workers 0 */
    time_t plan_s;                   /* the second the rollout plans were last looked at */
    int64_t flush_s, retention_days; /* of the proxy's counters per minute */
    time_t flushed_s, pruned_s;
    sy_proxy_row_t *prev; /* the counters at the last flush */
    size_t n_prev;
    sy_log_format_t log;
    bool stopping;
    uint64_t unlogged; /* failed requests the proxy's rings dropped before they were logged */
    sy_retention_opts_t retention; /* --event-retention, --audit-retention */
    int64_t retention_every_s;     /* --retention-interval; 0: never */
    time_t retention_s;            /* when retention runs next (CLOCK_MONOTONIC seconds) */
    sy_proxy_listen_error_t listen_errs[LISTEN_ERRORS]; /* the proxy's, at the last look */
    size_t n_listen_errs;
};

/* The engine's routes changed: the proxy takes them. */
static void routes_changed(void *arg)
{
    struct server *s = arg;
    /* typed, as the engine accepted them: the proxy reads no JSON (core/route_spec.h) */
    sy_routes_t *all = sy_engine_routes_all(s->eng);
    sy_err_t err = {0};
    if (!all) /* the routes in force stay */
        sy_log(s->log, "proxy_route_error", "message", "out of memory", NULL);
    else if (sy_proxy_update(s->proxy, all, &err) < 0) /* takes `all` */
        sy_log(s->log, "proxy_route_error", "message", err.msg, NULL);
}

static json_t *route_stats(void *arg, int64_t ws)
{
    return sy_proxy_stats(arg, ws);
}

/* Writes what the proxy counted since the last flush, per (route, domain, upstream), at
 * this minute; once an hour, deletes the minutes past the retention. */
static void flush_counters(struct server *s, time_t now)
{
    size_t n, k;
    sy_proxy_row_t *rows = sy_proxy_rows(s->proxy, -1, &n);
    sy_proxy_row_t *d = rows ? sy_proxy_rows_since(rows, n, s->prev, s->n_prev, &k) : NULL;
    sy_store_route_minute_t *out = d ? calloc(k + 1, sizeof(*out)) : NULL;
    sy_store_minute_text_t *text = d ? calloc(k + 1, sizeof(*text)) : NULL;
    if (!rows || !d || !out || !text) {
        free(rows);
        free(d);
        free(out);
        free(text);
        return;
    }
    int64_t minute = (int64_t)time(NULL) / 60;
    for (size_t i = 0; i < k; i++) {
        const sy_proxy_row_t *r = &d[i];
        sy_store_sparse_put(text[i].hist, sizeof(text[i].hist), r->hist, SY_LAT_BUCKETS);
        sy_store_sparse_put(text[i].status, sizeof(text[i].status), r->status, 6);
        out[i] = (sy_store_route_minute_t){.workspace = r->ws,
                                           .route = r->route,
                                           .minute = minute,
                                           .domain = r->domain,
                                           .upstream = sy_proxy_upstream_name(r->upstream),
                                           .tried = sy_proxy_upstream_name(r->tried),
                                           .requests = r->requests,
                                           .errors = r->errors,
                                           .total_ms = r->total_ms,
                                           .hist = text[i].hist,
                                           .status = text[i].status};
    }
    sy_err_t err = {0};
    if (sy_engine_route_minutes_add(s->eng, out, k, &err) < 0) {
        sy_log(s->log, "route_counters_error", "message", err.msg, NULL);
        free(rows); /* kept for the next flush: the deltas are not lost */
    } else {
        free(s->prev);
        s->prev = rows;
        s->n_prev = n;
    }
    free(d);
    free(out);
    free(text);
    if (now - s->pruned_s >= 3600) {
        s->pruned_s = now;
        /* tried again in an hour; said, so that a table that no longer shrinks is seen */
        if (sy_engine_route_minutes_prune(s->eng, minute - s->retention_days * 1440, &err) < 0)
            sy_log(s->log, "route_counters_prune_error", "message", err.msg, NULL);
    }
}

void sy_cli_log_request(sy_log_format_t fmt, const char *route, const sy_route_log_rec_t *r)
{
    char status[16], ms[32], at[24];
    snprintf(status, sizeof(status), "%d", (int)r->status);
    snprintf(ms, sizeof(ms), "%.1f", r->latency_ms);
    snprintf(at, sizeof(at), "%lld", (long long)r->at_ms);
    sy_log(fmt, "route_request", "route", route, "#at_ms", at, "method", r->method, "path", r->path,
           "domain", r->domain, "upstream", sy_route_log_upstream_name(r->upstream), "?fallback",
           r->fallback ? "true" : "false", "#status", status, "#latency_ms", ms, "error_message",
           r->error_message, NULL);
}

static void log_failure(void *arg, int64_t ws, const char *route, const sy_route_log_rec_t *r)
{
    (void)ws;
    sy_cli_log_request(((const struct server *)arg)->log, route, r);
}

static int route_requests(void *arg, int64_t ws, const char *name, const sy_route_log_query_t *q,
                          sy_route_log_rec_t *out, size_t *n)
{
    return sy_proxy_requests(arg, ws, name, q, out, n);
}

/* The proxy's families of GET /metrics (any thread). */
static void proxy_metrics(void *arg, struct sy_prom *out)
{
    sy_proxy_metrics(arg, out);
}

/* What the proxy counted of route `name`'s new, for the rollout plans. */
static int route_health(void *arg, int64_t ws, const char *name, sy_route_health_t *out)
{
    *out = (sy_route_health_t){0}; /* none without a proxy: only what proxy-only ones report */
    return arg ? sy_proxy_health(arg, ws, name, 1, out) : 0;
}

/* ... and of either upstream, for GET /v1/routes/{name}/health. */
static int upstream_health(void *arg, int64_t ws, const char *name, int upstream,
                           sy_route_health_t *out)
{
    return sy_proxy_health(arg, ws, name, upstream, out);
}

/* `v` as compact JSON text (owned; NULL, logged as "", when out of memory). */
static char *json_text(json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    return text;
}

/* A log line for each thing a tick did: each member named by its field, so that no line
 * depends on a key of the engine's. */
static void log_tick(const struct server *s, const sy_tick_report_t *t)
{
    for (size_t i = 0; i < t->n_rollbacks; i++) {
        const sy_monitor_rollback_t *rb = &t->rollbacks[i];
        char *health = json_text(sy_health_view_json(&rb->health));
        char *weights = rb->has_split ? json_text(sy_exp_split_json(&rb->split)) : NULL;
        sy_log(s->log, "allocation_rolled_back", "experiment", rb->experiment, "reason", rb->reason,
               "@weights", weights, "@health", health, NULL);
        free(health);
        free(weights);
    }
    for (size_t i = 0; t->checked && i < t->auto_promotion.n; i++) {
        const sy_auto_outcome_t *o = &t->auto_promotion.v[i];
        if (o->action == SY_AUTO_NONE)
            continue;
        char *weights = o->has_split ? json_text(sy_exp_split_json(&o->split)) : NULL;
        sy_log(s->log, "auto_promotion", "experiment", o->experiment, "action",
               sy_auto_action_name(o->action), "winner", o->has_winner ? o->winner : NULL,
               "@weights", weights, "refused_by", o->has_refused_by ? o->refused_by : NULL, NULL);
        free(weights);
    }
    for (size_t i = 0; i < t->n_tripped; i++) {
        const sy_tick_trip_t *x = &t->tripped[i];
        char ws[32];
        snprintf(ws, sizeof(ws), "%lld", (long long)x->workspace);
        sy_log(s->log, "tripwire_triggered", "#workspace", ws, "domain", x->domain, "metric",
               x->metric, "note", x->note, NULL);
    }
    if (t->lost) { /* done, and said: only its line is missing */
        char count[24];
        snprintf(count, sizeof(count), "%zu", t->lost);
        sy_log(s->log, "tick_unreported", "#count", count, NULL);
    }
}

/* A retention period: whole days ("90"), or a number and a unit s, m, h or d ("36h"), up to
 * 100 years; 0 keeps everything. Into *ms. */
static int period_ms(const char *prog, const char *name, const char *text, int64_t *ms)
{
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
    size_t len = strlen(text);
    int64_t per = 86400000;
    char digits[24];
    for (size_t i = 0; len > 1 && i < sizeof(units) / sizeof(units[0]); i++)
        if (text[len - 1] == units[i].unit) {
            per = units[i].ms;
            len--;
            break;
        }
    int64_t n = -1;
    if (len > 0 && len < sizeof(digits) && strspn(text, "0123456789") == len) {
        memcpy(digits, text, len);
        digits[len] = 0;
        n = strtoll(digits, NULL, 10);
    }
    if (n < 0 || n > 36500 * (86400000 / per)) {
        fprintf(stderr,
                "%s: --%s: whole days (90), or a number and a unit s, m, h or d (36h), up to "
                "36500 days; 0 keeps everything; not \"%.64s\"\n",
                prog, name, text);
        return -1;
    }
    *ms = n * per;
    return 0;
}

/* Retention (engine.h): a bounded run, again a second later while it stops short (the loop
 * serves in between), else after --retention-interval; what it did logged. */
static void run_retention(struct server *s, time_t now)
{
    sy_retention_report_t r;
    sy_err_t err = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = sy_engine_retention(s->eng, &s->retention, &r, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->retention_s = now + (rc == 0 && r.more ? 1 : s->retention_every_s);
    if (rc < 0) { /* tried again at the next interval; said, so a log that grows is seen */
        sy_log(s->log, "retention_error", "message", err.msg, NULL);
        return;
    }
    if (!r.checkpointed && !r.events && !r.kpi_events && !r.audit && !r.timeline)
        return;
    char n[7][24];
    snprintf(n[0], sizeof(n[0]), "%lld", (long long)r.events);
    snprintf(n[1], sizeof(n[1]), "%lld", (long long)r.kpi_events);
    snprintf(n[2], sizeof(n[2]), "%lld", (long long)r.audit);
    snprintf(n[3], sizeof(n[3]), "%lld", (long long)r.checkpointed);
    snprintf(n[4], sizeof(n[4]), "%lld", (long long)r.checkpoint_seq);
    snprintf(n[5], sizeof(n[5]), "%.1f",
             (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    snprintf(n[6], sizeof(n[6]), "%lld", (long long)r.timeline);
    sy_log(s->log, "retention", "#events", n[0], "#kpi_events", n[1], "#audit", n[2], "#timeline",
           n[6], "#checkpointed", n[3], "#checkpoint_seq", n[4], "#ms", n[5], "?more",
           r.more ? "true" : "false", NULL);
}

static bool same_listen_error(const sy_proxy_listen_error_t *v, size_t n,
                              const sy_proxy_listen_error_t *e)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].listen, e->listen) == 0)
            return v[i].errnum == e->errnum;
    return false;
}

/* Once a second: the addresses the proxy cannot listen on (its workers try again every
 * second), a line when one starts failing (event=route_listen_error) or can be listened
 * on again (event=route_listening), and the engine told, so that /health/aggregate shows
 * the routes on them unhealthy meanwhile. */
static void check_listens(struct server *s)
{
    sy_proxy_listen_error_t now[LISTEN_ERRORS];
    size_t n = sy_proxy_listen_errors(s->proxy, now, LISTEN_ERRORS);
    bool changed = n != s->n_listen_errs;
    for (size_t i = 0; i < n; i++) {
        if (same_listen_error(s->listen_errs, s->n_listen_errs, &now[i]))
            continue;
        changed = true;
        sy_log(s->log, "route_listen_error", "route", now[i].route, "listen", now[i].listen,
               "message", strerror(now[i].errnum), NULL);
    }
    for (size_t i = 0; i < s->n_listen_errs; i++) {
        bool still = false;
        for (size_t k = 0; !still && k < n; k++)
            still = strcmp(now[k].listen, s->listen_errs[i].listen) == 0;
        if (!still) {
            changed = true;
            sy_log(s->log, "route_listening", "route", s->listen_errs[i].route, "listen",
                   s->listen_errs[i].listen, NULL);
        }
    }
    if (!changed)
        return;
    sy_route_listen_error_t told[LISTEN_ERRORS];
    _Static_assert(sizeof(told[0].listen) == sizeof(now[0].listen), "one address, one size");
    for (size_t i = 0; i < n; i++) {
        memcpy(told[i].listen, now[i].listen, sizeof(told[i].listen));
        told[i].errnum = now[i].errnum;
    }
    sy_err_t err = {0};
    if (sy_engine_routes_listen_errors(s->eng, told, n, &err) < 0) {
        sy_log(s->log, "route_listen_error", "message", err.msg, NULL);
        return; /* told again at the next look */
    }
    memcpy(s->listen_errs, now, n * sizeof(now[0]));
    s->n_listen_errs = n;
}

/* Another node announced a change: applied at once (the tick would within 20 ms). */
static void sync_now(struct server *s)
{
    size_t applied = 0;
    sy_err_t err = {0};
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (sy_engine_sync(s->eng, &applied, &err) == 0) {
        if (s->sync_failing) /* a line when it works again, none while it goes on working */
            sy_log(s->log, "sync_ok", NULL);
        s->sync_failing = false;
        return;
    }
    /* Failing (the database gone): a line at the first failure, then one every 10 s, not
     * fifty a second. */
    if (!s->sync_failing || now.tv_sec - s->sync_logged_s >= 10) {
        sy_log(s->log, "sync_error", "message", err.msg, NULL);
        s->sync_logged_s = now.tv_sec;
    }
    s->sync_failing = true;
}

static void on_heard(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sync_now(arg);
}

/* Waits on the store's descriptor for announcements; again when a reconnection changed it.
 * A new socket under the old number may be folded away by epoll's change list (the
 * closed one was never deleted): the tick's sync then hears what it would have, 20 ms
 * later at most. */
static void watch_heard(struct server *s)
{
    bool renewed;
    int fd = sy_engine_sync_fd(s->eng, &renewed);
    if (fd == s->heard_fd && !renewed)
        return;
    if (s->heard)
        event_free(s->heard);
    s->heard = fd >= 0 ? event_new(s->base, fd, EV_READ | EV_PERSIST, on_heard, s) : NULL;
    if (s->heard)
        event_add(s->heard, NULL);
    s->heard_fd = s->heard ? fd : -1;
}

/* Fifty times a second: the engine's timers (each on its own interval; a tick with nothing
 * due is a few comparisons), and a log line for each thing they did. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct server *s = arg;
    /* other nodes' changes first: what this tick serves and decides includes them (what
     * libpq read while answering a query never makes the descriptor readable) */
    if (s->listening) {
        sync_now(s);
        watch_heard(s);
    }
    sy_proxy_event_t ev[64];
    size_t n = s->proxy ? sy_proxy_events(s->proxy, ev, 64) : 0;
    for (size_t k = 0; k < n; k++) {
        sy_err_t err = {0};
        sy_log(s->log, "route_breaker", "route", ev[k].route, "state", ev[k].state, NULL);
        if (sy_engine_route_breaker(s->eng, ev[k].ws, ev[k].route, ev[k].state, ev[k].at_ms, &err) <
                0 &&
            err.code != -ENOENT)
            sy_log(s->log, "route_breaker_error", "route", ev[k].route, "message", err.msg, NULL);
    }
    /* the proxy's failed requests and fallbacks, a line each (at most 8 a tick: 400 a
     * second; the rest wait in the rings, or are counted once a second when overwritten) */
    if (s->proxy)
        sy_proxy_failures(s->proxy, 8, log_failure, s, &s->unlogged);
    /* rollout plans, once a second */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (s->proxy && now.tv_sec - s->flushed_s >= s->flush_s) {
        s->flushed_s = now.tv_sec;
        flush_counters(s, now.tv_sec);
    }
    if (now.tv_sec != s->plan_s) {
        s->plan_s = now.tv_sec;
        /* many nodes: retention, rollout plans and notifications on the one that leads */
        bool leads = sy_engine_leads(s->eng);
        sy_notifier_set_sending(s->notifier, leads);
        if (s->proxy)
            check_listens(s);
        if (leads && s->retention_every_s && now.tv_sec >= s->retention_s)
            run_retention(s, now.tv_sec);
        if (s->unlogged) {
            char count[24];
            snprintf(count, sizeof(count), "%llu", (unsigned long long)s->unlogged);
            sy_log(s->log, "route_requests_unlogged", "#count", count, NULL);
            s->unlogged = 0;
        }
        sy_route_move_t *moves = NULL;
        size_t n_moves = 0;
        if (leads &&
            sy_engine_routes_plan_tick(s->eng, route_health, s->proxy, &moves, &n_moves) < 0)
            sy_log(s->log, "route_plan_error", "message", "out of memory", NULL);
        for (size_t k = 0; k < n_moves; k++) {
            const sy_route_move_t *m = &moves[k];
            char from[32], to[32];
            snprintf(from, sizeof(from), "%g", (double)m->from_bp / 100);
            snprintf(to, sizeof(to), "%g", (double)m->to_bp / 100);
            sy_log(s->log, "route_plan", "route", m->route, "action", m->back ? "back" : "advance",
                   "#from", from, "#to", to, "reason", m->reason, NULL);
        }
        free(moves);
    }
    sy_tick_report_t done;
    sy_engine_tick(s->eng, &done);
    log_tick(s, &done);
    sy_tick_report_free(&done);
}

static void stopped(void *arg)
{
    struct server *s = arg;
    event_base_loopbreak(s->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct server *s = arg;
    if (s->stopping)
        return;
    s->stopping = true;
    sy_log(s->log, "shutdown", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    sy_http_drain(s->http, 10, stopped, s);
}

/* Imports `path` into the bootstrap workspace, as its admin. */
static int seed_flags(const char *prog, sy_engine_t *eng, const char *secret, const char *path)
{
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc && json_error_code(&je) == json_error_numeric_overflow)
        doc = json_load_file(path, JSON_DECODE_INT_AS_REAL, &je);
    if (!doc) {
        fprintf(stderr, "%s: --seed-flags %s: %s (line %d)\n", prog, path, je.text, je.line);
        return -EINVAL;
    }
    sy_principal_t admin;
    sy_err_t err = {0};
    sy_arena_t arena;
    sy_arena_init(&arena, (size_t)1 << 30);
    sy_flag_doc_t d;
    int rc = sy_engine_authenticate(eng, secret, strlen(secret), &admin);
    if (rc == 0)
        rc = sy_flag_doc_from_json(doc, &arena, &d, &err);
    if (rc == 0)
        rc = sy_engine_flagset_put(eng, &admin, &d, NULL, &err);
    if (rc < 0)
        fprintf(stderr, "%s: --seed-flags %s: %s%s%s\n", prog, path, err.msg,
                err.field[0] ? " at " : "", err.field);
    sy_arena_free(&arena);
    json_decref(doc);
    return rc;
}

static int write_secret_file(const char *prog, const char *path, const char *secret)
{
    FILE *fp = fopen(path, "w");
    if (!fp || fprintf(fp, "%s\n", secret) < 0 || fclose(fp) != 0) {
        fprintf(stderr, "%s: --admin-token-file %s: %s\n", prog, path, strerror(errno));
        return -EIO;
    }
    return 0;
}

/* An integer option from `lo` to `hi`, or a message and -EINVAL. */
/* What the notifier's callback needs: the log's format, and the engine that counts. */
struct notifier_log_arg {
    const sy_log_format_t *log;
    sy_engine_t *eng; /* set once it is open, before the notifier starts */
};

/* The notifier's lines in the server's log, each attempt counted (GET /metrics). */
static void notifier_log(void *arg, const char *event, int64_t id, int64_t channel,
                         const char *type, int64_t attempts, const char *error)
{
    const struct notifier_log_arg *a = arg;
    sy_engine_count_delivery(a->eng, type, event);
    char ids[24], chs[24], att[24];
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    snprintf(chs, sizeof(chs), "%lld", (long long)channel);
    snprintf(att, sizeof(att), "%lld", (long long)attempts);
    sy_log(*a->log, event, "#notification", ids, "#channel", chs, "type", type, "#attempts", att,
           error ? "error" : NULL, error, NULL);
}

int sy_cli_serve(int argc, char **argv)
{
    const char *prog = "switchyard serve";
    struct sy_arg args[O_COUNT] = {
        [O_LISTEN] = {"listen", "ADDR:PORT", "where to serve HTTP (default 127.0.0.1:8080)", 0,
                      NULL, NULL, 0},
        [O_DB] =
            {"db", "PATH",
             "SQLite database file (default ./switchyard.db), or a postgres:// URI (several nodes share one)",
             0, NULL, NULL, 0},
        [O_CONFIG] = {"config", "FILE", "read options from FILE (\"name = value\" lines)", 0, NULL,
                      NULL, 0},
        [O_LOG_FORMAT] = {"log-format", "text|json", "log lines as key=value (default) or JSON", 0,
                          NULL, NULL, 0},
        [O_MAX_BODY] = {"max-body", "BYTES", "largest request body (default 16777216)", 0, NULL,
                        NULL, 0},
        [O_ADMIN_TOKEN_FILE] = {"admin-token-file", "FILE",
                                "on a new database, write the admin token here, not to stdout", 0,
                                NULL, NULL, 0},
        [O_WORKSPACE] = {"workspace", "NAME",
                         "name of the workspace a new database starts with (default default)", 0,
                         NULL, NULL, 0},
        [O_SEED_FLAGS] = {"seed-flags", "FILE",
                          "on a new database, import this flagd document into that workspace", 0,
                          NULL, NULL, 0},
        [O_QUIET] = {"quiet", NULL, "no log line per request", 0, NULL, NULL, 0},
        [O_RATE_LIMIT] = {"rate-limit", "RPS",
                          "requests per second per token, then 429 (default 0: no limit)", 0, NULL,
                          NULL, 0},
        [O_AUTO_INTERVAL] = {"auto-promotion-interval", "SECONDS",
                             "check running experiments for a step this often (default 3600; "
                             "0: never)",
                             0, NULL, NULL, 0},
        [O_AUTO_DRY_RUN] = {"auto-promotion-dry-run", NULL,
                            "report what auto-promotion would step or promote, move nothing", 0,
                            NULL, NULL, 0},
        [O_AUTO_SECRET] = {"auto-promotion-secret", "SECRET",
                           "X-Cron-Secret that lets a scheduler call POST /v1/auto-promotion/check",
                           0, NULL, NULL, 0},
        [O_HEALTH_INTERVAL] = {"health-interval", "SECONDS",
                               "check promoted variants' health this often, rolling back at "
                               "once on a breach (default 30; 0: never)",
                               0, NULL, NULL, 0},
        [O_REGRESSION_INTERVAL] = {"regression-interval", "SECONDS",
                                   "evaluate every enabled regression tripwire this often "
                                   "(default 300; 0: never)",
                                   0, NULL, NULL, 0},
        [O_NOTIFY_ATTEMPTS] = {"notify-attempts", "N",
                               "attempts at a notification before it is marked failed "
                               "(default 8)",
                               0, NULL, NULL, 0},
        [O_NOTIFY_BACKOFF] = {"notify-backoff", "MS",
                              "delay before a notification's first retry, doubling after "
                              "(default 1000)",
                              0, NULL, NULL, 0},
        [O_NOTIFY_BACKOFF_MAX] = {"notify-backoff-max", "MS",
                                  "longest delay between two attempts (default 300000)", 0, NULL,
                                  NULL, 0},
        [O_NOTIFY_TIMEOUT] = {"notify-timeout", "MS",
                              "one delivery attempt, connecting included (default 10000)", 0, NULL,
                              NULL, 0},
        [O_NOTIFY_RETENTION] = {"notify-retention", "DAYS",
                                "keep delivered and failed notifications this long (default 30; "
                                "0: forever)",
                                0, NULL, NULL, 0},
        [O_PROXY_WORKERS] = {"proxy-workers", "N",
                             "threads serving the routes' listen addresses (default 2; 0: no "
                             "proxy)",
                             0, NULL, NULL, 0},
        [O_PROXY_MAX_BODY] = {"proxy-max-body", "BYTES",
                              "largest request body the proxy takes (default 16777216)", 0, NULL,
                              NULL, 0},
        [O_ROUTE_STATS_FLUSH] = {"route-stats-flush", "SECONDS",
                                 "write the proxy's counters per minute this often (default 60)", 0,
                                 NULL, NULL, 0},
        [O_ROUTE_STATS_RETENTION] = {"route-stats-retention", "DAYS",
                                     "keep the proxy's counters per minute this long (default "
                                     "90)",
                                     0, NULL, NULL, 0},
        [O_EVENT_RETENTION] = {"event-retention", "DAYS",
                               "prune experiment and KPI events older than this once their "
                               "aggregates are checkpointed; results never change (default 90; "
                               "0: keep all; a unit may follow: 12h, 30m, 10s)",
                               0, NULL, NULL, 0},
        [O_AUDIT_RETENTION] = {"audit-retention", "DAYS",
                               "delete audit events older than this (default 0: keep all; a "
                               "unit may follow as for --event-retention)",
                               0, NULL, NULL, 0},
        [O_RETENTION_INTERVAL] = {"retention-interval", "SECONDS",
                                  "run retention this often, the first time a minute after the "
                                  "start (or sooner, at this interval), at once again while a "
                                  "run stops at its bound (default 3600; 0: never)",
                                  0, NULL, NULL, 0},
        [O_IDLE_TIMEOUT] = {"idle-timeout", "SECONDS",
                            "close a keep-alive connection idle this long (default 60)", 0, NULL,
                            NULL, 0},
        [O_HEADER_TIMEOUT] = {"header-timeout", "SECONDS",
                              "a request head must arrive whole within this, from its first "
                              "byte (a connection's first: from the accept), or 408 (default "
                              "10; the API and the proxy)",
                              0, NULL, NULL, 0},
        [O_MIN_BODY_RATE] =
            {"min-body-rate", "BYTES",
             "a request body slower than this many bytes per second, after "
             "--header-timeout of grace, gets 408 (default 1024; 0: no floor, but a body "
             "stalled for --idle-timeout still does)",
             0, NULL, NULL, 0},
        [O_MAX_CONNECTIONS] = {"max-connections", "N",
                               "open API connections at most (default: a share of "
                               "RLIMIT_NOFILE); past it the oldest still sending its head "
                               "is closed, or the new one refused",
                               0, NULL, NULL, 0},
        [O_PROXY_MAX_CONNECTIONS] = {"proxy-max-connections", "N",
                                     "open client connections of the proxy at most, all "
                                     "workers together (default: a share of RLIMIT_NOFILE)",
                                     0, NULL, NULL, 0},
        [O_WORKERS] = {"workers", "N",
                       "threads serving OFREP, its streams, /healthz and /readyz, each with its "
                       "own event loop (default: the number of cores; 0: the engine's loop "
                       "serves everything)",
                       0, NULL, NULL, 0},
        [O_CORS_ORIGINS] = {"cors-origins", "LIST",
                            "origins a web page may call the API and OFREP from, comma-"
                            "separated (https://app.example.com,http://localhost:3000), or * "
                            "for any (default: none)",
                            0, NULL, NULL, 0},
        [O_PUBLIC_URL] = {"public-url", "URL",
                          "how clients reach this server (https://flags.example.com), for the "
                          "event-stream URLs OFREP advertises (default: from each request's "
                          "Host and X-Forwarded-Proto)",
                          0, NULL, NULL, 0},
        [O_AP_MIN_SAMPLE] = {"auto-promotion-min-sample-per-variant", "N",
                             "units each variant needs before a promotion, for experiments "
                             "that do not set safety.min_sample_per_variant (default 1000)",
                             0, NULL, NULL, 0},
        [O_AP_MIN_CONFIDENCE] = {"auto-promotion-min-confidence", "P",
                                 "confidence a winner needs (default 0.95)", 0, NULL, NULL, 0},
        [O_AP_MIN_IMPROVEMENT] = {"auto-promotion-min-improvement-pct", "PCT",
                                  "relative lift a winner needs, in % (default 5)", 0, NULL, NULL,
                                  0},
        [O_AP_MIN_RUNTIME] = {"auto-promotion-min-runtime-hours", "HOURS",
                              "hours an experiment runs before a promotion (default 48)", 0, NULL,
                              NULL, 0},
        [O_AP_MAX_ERROR_RATE] = {"auto-promotion-max-error-rate", "RATE",
                                 "the winner's error rate at most, 0..1 (default 0.05)", 0, NULL,
                                 NULL, 0},
        [O_AP_SEQUENTIAL] = {"auto-promotion-sequential", "true|false",
                             "judge with the always-valid sequential test (default false)", 0, NULL,
                             NULL, 0},
        [O_AP_TAU] = {"auto-promotion-sequential-tau-squared", "X",
                      "the sequential test's mixing variance (default: derived at each look)", 0,
                      NULL, NULL, 0},
        [O_AP_MANUAL] = {"auto-promotion-require-manual-approval", "true|false",
                         "an eligible winner waits for a person (default false)", 0, NULL, NULL, 0},
        [O_AP_MAX_LATENCY] = {"auto-promotion-max-latency-increase-pct", "PCT",
                              "the latency guardrail: % over control's mean at most (default "
                              "10)",
                              0, NULL, NULL, 0},
        [O_AP_PLANNED_LIFT] = {"auto-promotion-planned-lift-pct", "PCT",
                               "the lift power is planned for, in % (default: twice the "
                               "minimum improvement)",
                               0, NULL, NULL, 0},
        [O_LOOP_CPU] = {"loop-cpu", NULL,
                        "also measure each event loop iteration's time on the CPU, for GET "
                        "/v1/system/loops to tell work from preemption (a clock read per "
                        "callback: costs throughput)",
                        0, NULL, NULL, 0},
        [O_METRICS_LISTEN] = {"metrics-listen", "ADDR:PORT",
                              "also serve GET /metrics here without a token, on a thread of its "
                              "own (bind it where only your scrapers reach it; default: none)",
                              0, NULL, NULL, 0},
        [O_METRICS_REFRESH] = {"metrics-refresh", "SECONDS",
                               "how often /metrics' view of experiments, routes, tripwires "
                               "and workspaces is rebuilt (default 5; 1 to 3600)",
                               0, NULL, NULL, 0},
        [O_METRICS_MAX_FLAGS] = {"metrics-max-flags", "N",
                                 "flags per workspace that /metrics names; the others are summed "
                                 "as flag=\"other\" (default 500; 0 to 100000)",
                                 0, NULL, NULL, 0},
    };
    bool help = false;
    if (sy_args_parse(argc, argv, args, O_COUNT, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help) {
        printf("usage: %s [options]\n\n"
               "Serves the flag API, OFREP, experiments, event ingest, traffic allocation,\n"
               "tripwires, notifications and the audit trail over HTTP from a durable store;\n"
               "checks running experiments for their next guarded step (or, with\n"
               "safety.promotion \"full\", their promotion to 100 %%) every\n"
               "--auto-promotion-interval; delivers notifications from their outbox; and\n"
               "proxies each route's listen address (--proxy-workers; docs/proxy.md).\n"
               "Every option can also be set as SWITCHYARD_<NAME> (SWITCHYARD_LISTEN,\n"
               "SWITCHYARD_DB, SWITCHYARD_MAX_BODY, ...) or as \"name = value\" in --config.\n"
               "On an empty database it creates the first workspace and an admin token and\n"
               "prints the token once. SIGTERM or SIGINT stops it cleanly.\n\n",
               prog);
        sy_args_usage(args, O_COUNT, stdout);
        return 0;
    }
    static char store[O_COUNT][512];
    const char *from[O_COUNT];
    if (fill_from_env_and_config(prog, args, O_COUNT, store, from) < 0)
        return SY_EXIT_USAGE;
    const char *opt[O_COUNT];
    for (int i = 0; i < O_COUNT; i++)
        opt[i] = args[i].value ? args[i].value : defaults[i];
    /* A flag set from the environment or a file may say it is off. */
    if (opt[O_QUIET] && is_off(opt[O_QUIET]))
        opt[O_QUIET] = NULL;
    if (opt[O_LOOP_CPU] && is_off(opt[O_LOOP_CPU]))
        opt[O_LOOP_CPU] = NULL;

    sy_http_opts_t hopts = {.listen = opt[O_LISTEN],
                            .quiet = opt[O_QUIET] != NULL,
                            .loop_cpu = opt[O_LOOP_CPU] != NULL};
    if (strcmp(opt[O_LOG_FORMAT], "json") == 0) {
        hopts.log = SY_LOG_JSON;
    } else if (strcmp(opt[O_LOG_FORMAT], "text") != 0) {
        fprintf(stderr, "%s: --log-format: text or json, not \"%s\"\n", prog, opt[O_LOG_FORMAT]);
        return SY_EXIT_USAGE;
    }
    int64_t max_body;
    if (sy_args_int64(prog, "max-body", opt[O_MAX_BODY], &max_body) < 0)
        return SY_EXIT_USAGE;
    if (max_body < 1024 || max_body > ((int64_t)64 << 20)) {
        fprintf(stderr, "%s: --max-body: between 1024 and 67108864 bytes\n", prog);
        return SY_EXIT_USAGE;
    }
    hopts.max_body = (size_t)max_body;
    int64_t max_flags;
    if (sy_args_int64(prog, "metrics-max-flags", opt[O_METRICS_MAX_FLAGS], &max_flags) < 0)
        return SY_EXIT_USAGE;
    if (max_flags < 0 || max_flags > 100000) {
        fprintf(stderr, "%s: --metrics-max-flags: between 0 and 100000\n", prog);
        return SY_EXIT_USAGE;
    }
    hopts.metrics_max_flags = (size_t)max_flags;
    int64_t metrics_refresh;
    if (sy_args_int64(prog, "metrics-refresh", opt[O_METRICS_REFRESH], &metrics_refresh) < 0)
        return SY_EXIT_USAGE;
    if (metrics_refresh < 1 || metrics_refresh > 3600) {
        fprintf(stderr, "%s: --metrics-refresh: between 1 and 3600 seconds\n", prog);
        return SY_EXIT_USAGE;
    }
    if (sy_args_double(prog, "rate-limit", opt[O_RATE_LIMIT], &hopts.rate_limit) < 0)
        return SY_EXIT_USAGE;
    if (!(hopts.rate_limit >= 0 && hopts.rate_limit <= 1e9)) {
        fprintf(stderr, "%s: --rate-limit: between 0 (none) and 1e9 requests per second\n", prog);
        return SY_EXIT_USAGE;
    }

    int64_t idle;
    if (sy_args_int64(prog, "idle-timeout", opt[O_IDLE_TIMEOUT], &idle) < 0)
        return SY_EXIT_USAGE;
    if (idle < 1 || idle > 86400) {
        fprintf(stderr, "%s: --idle-timeout: between 1 and 86400 seconds\n", prog);
        return SY_EXIT_USAGE;
    }
    hopts.timeout_s = (int)idle;
    int64_t header_s, body_rate;
    if (sy_args_ranged(prog, "header-timeout", opt[O_HEADER_TIMEOUT], 1, 3600, &header_s) < 0 ||
        sy_args_ranged(prog, "min-body-rate", opt[O_MIN_BODY_RATE], 0, (int64_t)1 << 30,
                       &body_rate) < 0)
        return SY_EXIT_USAGE;
    hopts.header_timeout_s = (int)header_s;
    hopts.min_body_rate = (size_t)body_rate;

    int64_t auto_s;
    if (sy_args_int64(prog, "auto-promotion-interval", opt[O_AUTO_INTERVAL], &auto_s) < 0)
        return SY_EXIT_USAGE;
    if (auto_s < 0 || auto_s > 7 * 86400) {
        fprintf(stderr, "%s: --auto-promotion-interval: between 0 (never) and 604800 seconds\n",
                prog);
        return SY_EXIT_USAGE;
    }
    int64_t health_s;
    if (sy_args_int64(prog, "health-interval", opt[O_HEALTH_INTERVAL], &health_s) < 0)
        return SY_EXIT_USAGE;
    if (health_s < 0 || health_s > 86400) {
        fprintf(stderr, "%s: --health-interval: between 0 (never) and 86400 seconds\n", prog);
        return SY_EXIT_USAGE;
    }
    int64_t regression_s;
    if (sy_args_int64(prog, "regression-interval", opt[O_REGRESSION_INTERVAL], &regression_s) < 0)
        return SY_EXIT_USAGE;
    if (regression_s < 0 || regression_s > 86400) {
        fprintf(stderr, "%s: --regression-interval: between 0 (never) and 86400 seconds\n", prog);
        return SY_EXIT_USAGE;
    }
    struct notifier_log_arg nlog = {.log = &hopts.log};
    sy_notifier_opts_t nopts = {
        .db = opt[O_DB], .poll_ms = 1000, .log = notifier_log, .log_arg = &nlog};
    if (sy_args_ranged(prog, "notify-attempts", opt[O_NOTIFY_ATTEMPTS], 1, 1000,
                       &nopts.max_attempts) < 0 ||
        sy_args_ranged(prog, "notify-backoff", opt[O_NOTIFY_BACKOFF], 1, 86400000,
                       &nopts.backoff_ms) < 0 ||
        sy_args_ranged(prog, "notify-backoff-max", opt[O_NOTIFY_BACKOFF_MAX], nopts.backoff_ms,
                       86400000, &nopts.backoff_max_ms) < 0 ||
        sy_args_ranged(prog, "notify-timeout", opt[O_NOTIFY_TIMEOUT], 1, 600000,
                       &nopts.timeout_ms) < 0 ||
        sy_args_ranged(prog, "notify-retention", opt[O_NOTIFY_RETENTION], 0, 36500,
                       &nopts.retention_ms) < 0)
        return SY_EXIT_USAGE;
    nopts.retention_ms *= 86400000;
    int64_t proxy_workers, proxy_max_body;
    if (sy_args_ranged(prog, "proxy-workers", opt[O_PROXY_WORKERS], 0, 256, &proxy_workers) < 0 ||
        sy_args_ranged(prog, "proxy-max-body", opt[O_PROXY_MAX_BODY], 1024, (int64_t)1 << 30,
                       &proxy_max_body) < 0)
        return SY_EXIT_USAGE;
    /* Each proxied connection may hold one upstream connection too: the proxy's share
     * counts double. */
    int64_t budget = sy_args_fd_budget();
    int64_t max_conns = proxy_workers > 0 ? budget / 4 : budget;
    int64_t proxy_max_conns = budget * 3 / 8;
    if ((opt[O_MAX_CONNECTIONS] && sy_args_ranged(prog, "max-connections", opt[O_MAX_CONNECTIONS],
                                                  1, 1 << 24, &max_conns) < 0) ||
        (opt[O_PROXY_MAX_CONNECTIONS] &&
         sy_args_ranged(prog, "proxy-max-connections", opt[O_PROXY_MAX_CONNECTIONS], 1, 1 << 24,
                        &proxy_max_conns) < 0))
        return SY_EXIT_USAGE;
    hopts.max_conns = (size_t)max_conns;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t workers = cores > 0 ? (cores < 64 ? cores : 64) : 1;
    if (opt[O_WORKERS] && sy_args_ranged(prog, "workers", opt[O_WORKERS], 0, 256, &workers) < 0)
        return SY_EXIT_USAGE;
    hopts.workers = (int)workers;
    if (opt[O_PUBLIC_URL] && !is_url(opt[O_PUBLIC_URL], true)) {
        fprintf(stderr, "%s: --public-url: http:// or https:// and a host, not \"%.80s\"\n", prog,
                opt[O_PUBLIC_URL]);
        return SY_EXIT_USAGE;
    }
    if (opt[O_CORS_ORIGINS] && !origins_ok(opt[O_CORS_ORIGINS])) {
        fprintf(stderr,
                "%s: --cors-origins: a comma-separated list of scheme://host[:port] origins, or "
                "*, not \"%.80s\"\n",
                prog, opt[O_CORS_ORIGINS]);
        return SY_EXIT_USAGE;
    }
    hopts.public_url = opt[O_PUBLIC_URL];
    hopts.cors_origins = opt[O_CORS_ORIGINS];
    int64_t stats_flush, stats_retention;
    if (sy_args_ranged(prog, "route-stats-flush", opt[O_ROUTE_STATS_FLUSH], 1, 3600, &stats_flush) <
            0 ||
        sy_args_ranged(prog, "route-stats-retention", opt[O_ROUTE_STATS_RETENTION], 1, 36500,
                       &stats_retention) < 0)
        return SY_EXIT_USAGE;
    sy_retention_opts_t retention = {0};
    int64_t retention_every_s;
    if (period_ms(prog, "event-retention", opt[O_EVENT_RETENTION], &retention.events_ms) < 0 ||
        period_ms(prog, "audit-retention", opt[O_AUDIT_RETENTION], &retention.audit_ms) < 0 ||
        sy_args_ranged(prog, "retention-interval", opt[O_RETENTION_INTERVAL], 0, 86400,
                       &retention_every_s) < 0)
        return SY_EXIT_USAGE;
    if (opt[O_AUTO_DRY_RUN] && is_off(opt[O_AUTO_DRY_RUN]))
        opt[O_AUTO_DRY_RUN] = NULL;
    hopts.cron_secret = opt[O_AUTO_SECRET];
    if (hopts.cron_secret && strlen(hopts.cron_secret) < 16) {
        fprintf(stderr, "%s: --auto-promotion-secret: at least 16 characters\n", prog);
        return SY_EXIT_USAGE;
    }

    /* The safety defaults, checked as a definition's "safety" is: each option's text read
     * as JSON (0.99, true, 1000), else taken as a string. */
    json_t *safety = json_object(), *sources = json_object();
    sy_exp_defaults_t exp_defaults;
    sy_err_t err = {0};
    int bad = !safety || !sources;
    for (size_t i = 0; !bad && i < sizeof(safety_opts) / sizeof(safety_opts[0]); i++) {
        int o = safety_opts[i].opt;
        json_object_set_new(sources, safety_opts[i].field,
                            json_string(from[o] ? from[o] : "default"));
        if (!opt[o])
            continue;
        json_t *v = json_loads(opt[o], JSON_DECODE_ANY, NULL);
        json_object_set_new(safety, safety_opts[i].field, v ? v : json_string(opt[o]));
    }
    json_object_set_new(sources, "interval_s",
                        json_string(from[O_AUTO_INTERVAL] ? from[O_AUTO_INTERVAL] : "default"));
    json_object_set_new(sources, "dry_run",
                        json_string(from[O_AUTO_DRY_RUN] ? from[O_AUTO_DRY_RUN] : "default"));
    json_object_set_new(sources, "cron_secret",
                        json_string(from[O_AUTO_SECRET] ? from[O_AUTO_SECRET] : "default"));
    if (!bad && sy_exp_defaults_read(safety, &exp_defaults, &err) < 0) {
        const char *field = strchr(err.field, '.') ? strchr(err.field, '.') + 1 : err.field;
        size_t i = 0;
        while (i + 1 < sizeof(safety_opts) / sizeof(safety_opts[0]) &&
               strcmp(safety_opts[i].field, field) != 0)
            i++;
        char env[64] = "SWITCHYARD_";
        for (const char *p = args[safety_opts[i].opt].name; *p && strlen(env) + 1 < sizeof(env);
             p++)
            env[strlen(env)] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        fprintf(stderr, "%s: --%s (%s): %s, not \"%.64s\"\n", prog, args[safety_opts[i].opt].name,
                env, err.msg, opt[safety_opts[i].opt] ? opt[safety_opts[i].opt] : "");
        bad = 1;
    }
    json_decref(safety);
    if (bad) {
        json_decref(sources);
        return SY_EXIT_USAGE;
    }
    hopts.auto_promotion_sources = sources;

    /* The port first: one in use must fail before a database is made or a token shown. */
    hopts.bound_fd = sy_http_bind(opt[O_LISTEN], "listen", &err);
    if (hopts.bound_fd < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        json_decref(sources);
        return 1;
    }
    hopts.bound = true;
    if (opt[O_METRICS_LISTEN]) {
        hopts.metrics_fd = sy_http_bind(opt[O_METRICS_LISTEN], "metrics-listen", &err);
        if (hopts.metrics_fd < 0) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            close(hopts.bound_fd);
            json_decref(sources);
            return 1;
        }
        hopts.metrics_bound = true;
    }
    sy_engine_t *eng;
    sy_engine_opts_t eopts = {.db = opt[O_DB], .exp_defaults = &exp_defaults};
    if (sy_engine_open(&eng, &eopts, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        close(hopts.bound_fd);
        if (hopts.metrics_bound)
            close(hopts.metrics_fd);
        json_decref(sources);
        return 1;
    }
    int status = 1;
    struct server s = {.log = hopts.log, .eng = eng, .heard_fd = -1};
    sy_engine_timers_t timers = {.auto_promotion_ms = auto_s * 1000,
                                 .auto_promotion_dry_run = opt[O_AUTO_DRY_RUN] != NULL,
                                 .health_ms = health_s * 1000,
                                 .regression_ms = regression_s * 1000};
    sy_engine_set_timers(eng, &timers);
    sy_engine_set_board_refresh(eng, metrics_refresh * 1000);
    char secret[SY_TOKEN_MAX];
    bool created;
    if (sy_engine_bootstrap(eng, opt[O_WORKSPACE], secret, sizeof(secret), &created, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        goto out_engine;
    }
    if (created && opt[O_SEED_FLAGS] && seed_flags(prog, eng, secret, opt[O_SEED_FLAGS]) < 0)
        goto out_engine;
    if (created) {
        if (opt[O_ADMIN_TOKEN_FILE]) {
            if (write_secret_file(prog, opt[O_ADMIN_TOKEN_FILE], secret) < 0)
                goto out_engine;
        } else {
            printf("switchyard: new database: workspace \"%s\", admin token (shown once):\n%s\n",
                   opt[O_WORKSPACE], secret);
            fflush(stdout);
        }
    }
    /* Threads first: every loop another thread wakes (the engine's, the workers', the
     * proxy's) must be made after libevent's locking is on. */
    if (evthread_use_pthreads() < 0) {
        fprintf(stderr, "%s: libevent has no thread support\n", prog);
        goto out_engine;
    }
    s.flush_s = stats_flush;
    s.retention_days = stats_retention;
    s.retention = retention;
    s.retention_every_s = retention_every_s;
    {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        s.retention_s = t.tv_sec + (retention_every_s < 60 ? retention_every_s : 60);
    }
    if (proxy_workers > 0) {
        sy_proxy_opts_t popts = {.workers = (int)proxy_workers,
                                 .max_body = (size_t)proxy_max_body,
                                 .header_timeout_s = (int)header_s,
                                 .min_body_rate = (size_t)body_rate,
                                 .max_conns = (size_t)proxy_max_conns};
        if (sy_proxy_start(&s.proxy, &popts, &err) < 0) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            goto out_engine;
        }
        sy_engine_on_routes(eng, routes_changed, &s);
        routes_changed(&s);
        hopts.route_stats = route_stats;
        hopts.route_stats_arg = s.proxy;
        hopts.route_health = upstream_health;
        hopts.route_requests = route_requests;
        hopts.metrics_more = proxy_metrics;
        hopts.metrics_more_arg = s.proxy;
    }
    /* Keep-alive requests change no event (http/h1.c); with epoll's change list the
     * del/add pairs of a pending request, a stream's start or a lingering close fold into
     * one epoll_ctl. We never dup() sockets, the one case the change list mishandles. */
    struct event_config *cfg = event_config_new();
    if (cfg)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    /* Back to the wait after a few callbacks: the workers' handed-over requests activate
     * an event from their threads, which libevent 2.1 runs in the pass under way, so under
     * a steady load of them the loop never waited again and its signals (SIGTERM), timers
     * and the writer's descriptor starved until the load ended. */
    if (cfg)
        event_config_set_max_dispatch_interval(cfg, NULL, 4, 0);
    s.base = cfg ? event_base_new_with_config(cfg) : NULL;
    if (cfg)
        event_config_free(cfg);
    if (!s.base)
        goto out_engine;
    int rc_http = sy_http_start(&s.http, s.base, eng, &hopts, &err);
    hopts.bound = hopts.metrics_bound = false; /* the server took the sockets, even when it
                                                * failed */
    if (rc_http < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        goto out_base;
    }
    signal(SIGPIPE, SIG_IGN);
    /* The notifier needs a second handle on the same database: not one in memory. */
    sy_notifier_t *notifier = NULL;
    nlog.eng = eng;
    if (strcmp(opt[O_DB], ":memory:") == 0 || strstr(opt[O_DB], "mode=memory")) {
        sy_log(hopts.log, "notifier_off", "reason", "an in-memory database: nothing is sent", NULL);
    } else if (sy_notifier_start(&notifier, &nopts, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        goto out_http;
    }
    sy_engine_on_notification(eng, sy_notifier_wake, notifier);
    s.notifier = notifier;
    /* many nodes on one database (PostgreSQL): what the others change is served here too */
    if (sy_engine_listen(eng, &err) == 0) {
        s.listening = true;
        sy_log(hopts.log, "many_nodes", "leads", sy_engine_leads(eng) ? "yes" : "no", NULL);
    } else if (err.code != -ENOTSUP) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        goto out_notifier;
    }
    struct event *tick = event_new(s.base, -1, EV_PERSIST, on_tick, &s);
    if (tick)
        event_add(tick, &(struct timeval){.tv_usec = 20000}); /* timers are due to 20 ms */
    struct event *term = evsignal_new(s.base, SIGTERM, on_signal, &s);
    struct event *intr = evsignal_new(s.base, SIGINT, on_signal, &s);
    if (!term || !intr || evsignal_add(term, NULL) < 0 || evsignal_add(intr, NULL) < 0) {
        fprintf(stderr, "%s: cannot install signal handlers\n", prog);
    } else {
        char port[8], metrics_port[8];
        snprintf(port, sizeof(port), "%d", sy_http_port(s.http));
        snprintf(metrics_port, sizeof(metrics_port), "%d", sy_http_metrics_port(s.http));
        char db_shown[512]; /* a postgres:// URI's password never in the log */
        sy_store_uri_shown(opt[O_DB], db_shown, sizeof(db_shown));
        sy_log(hopts.log, "listening", "listen", opt[O_LISTEN], "#port", port, "db", db_shown,
               NULL);
        if (opt[O_METRICS_LISTEN])
            sy_log(hopts.log, "metrics_listening", "listen", opt[O_METRICS_LISTEN], "#port",
                   metrics_port, NULL);
        status = event_base_dispatch(s.base) < 0 ? 1 : 0;
        sy_log(hopts.log, "stopped", NULL);
    }
    if (tick)
        event_free(tick);
    if (s.heard)
        event_free(s.heard);
    if (term)
        event_free(term);
    if (intr)
        event_free(intr);
out_notifier:
    sy_engine_on_notification(eng, NULL, NULL);
    sy_notifier_stop(notifier);
out_http:
    sy_http_free(s.http);
out_base:
    event_base_free(s.base);
out_engine:
    if (hopts.bound)
        close(hopts.bound_fd);
    if (hopts.metrics_bound)
        close(hopts.metrics_fd);
    sy_engine_on_routes(eng, NULL, NULL);
    if (s.proxy)
        flush_counters(&s, 0); /* what was counted since the last flush */
    sy_proxy_stop(s.proxy);
    free(s.prev);
    sy_engine_close(eng);
    json_decref(sources);
    return status;
}

/* ---- offline administration ---------------------------------------------------------- */

static int open_engine(const char *prog, const char *db, sy_engine_t **eng)
{
    sy_err_t err = {0};
    sy_engine_opts_t eopts = {.db = db};
    if (sy_engine_open(eng, &eopts, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return -1;
    }
    return 0;
}

static int token_create(int argc, char **argv)
{
    const char *prog = "switchyard token create";
    struct sy_arg args[] = {
        {"db", "PATH",
         "SQLite database file (default ./switchyard.db), or a postgres:// URI (several nodes share one)", 0,
         NULL, NULL, 0},
        {"workspace", "NAME", "the token's workspace (default default)", 0, NULL, NULL, 0},
        {"role", "ROLE", "admin, editor, viewer or sdk (required)", 0, NULL, NULL, 0},
        {"name", "NAME", "what the audit trail calls its holder (default: ROLE-token)", 0, NULL,
         NULL, 0},
    };
    size_t n = sizeof(args) / sizeof(args[0]);
    bool help = false;
    if (sy_args_parse(argc, argv, args, n, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help) {
        printf("usage: %s --role ROLE [options]\n\n"
               "Creates an API token in a store directly and prints its secret once. A server\n"
               "running on the same database accepts it at its first use.\n\n",
               prog);
        sy_args_usage(args, n, stdout);
        return 0;
    }
    sy_role_t role;
    if (!args[2].value || sy_role_parse(args[2].value, &role) < 0) {
        fprintf(stderr, "%s: --role: admin, editor, viewer or sdk\n", prog);
        return SY_EXIT_USAGE;
    }
    char name[64];
    snprintf(name, sizeof(name), "%s", args[3].value ? args[3].value : "");
    if (!args[3].value)
        snprintf(name, sizeof(name), "%s-token", args[2].value);
    sy_engine_t *eng;
    if (open_engine(prog, args[0].value ? args[0].value : "./switchyard.db", &eng) < 0)
        return 1;
    sy_err_t err = {0};
    int64_t ws, id;
    char secret[SY_TOKEN_MAX];
    int rc = sy_engine_workspace_find(eng, args[1].value ? args[1].value : "default", &ws, &err);
    if (rc == 0)
        rc = sy_engine_token_create(eng, NULL, ws, name, role, secret, sizeof(secret), &id, &err);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", prog, err.msg);
    else
        printf("%s\n", secret);
    sy_engine_close(eng);
    return rc < 0 ? 1 : 0;
}

static int workspace_create(int argc, char **argv)
{
    const char *prog = "switchyard workspace create";
    struct sy_arg args[] = {
        {"db", "PATH",
         "SQLite database file (default ./switchyard.db), or a postgres:// URI (several nodes share one)", 0,
         NULL, NULL, 0},
    };
    bool help = false;
    const char *name = NULL;
    if (argc >= 1 && argv[0][0] != '-') {
        name = argv[0];
        argc--, argv++;
    }
    if (sy_args_parse(argc, argv, args, 1, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help || !name) {
        printf("usage: %s NAME [--db PATH]\n\nCreates a workspace in a store directly.\n\n", prog);
        sy_args_usage(args, 1, stdout);
        return help ? 0 : SY_EXIT_USAGE;
    }
    sy_engine_t *eng;
    if (open_engine(prog, args[0].value ? args[0].value : "./switchyard.db", &eng) < 0)
        return 1;
    sy_err_t err = {0};
    int64_t id;
    int rc = sy_engine_workspace_create(eng, name, &id, &err);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", prog, err.msg);
    else
        printf("workspace \"%s\" created (id %lld)\n", name, (long long)id);
    sy_engine_close(eng);
    return rc < 0 ? 1 : 0;
}

int sy_cli_token(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "create") == 0)
        return token_create(argc - 1, argv + 1);
    FILE *to = argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) ? stdout
                                                                                           : stderr;
    fprintf(to, "usage: switchyard token create --role ROLE [--db PATH] [--workspace NAME]"
                " [--name NAME]\n");
    return to == stdout ? 0 : SY_EXIT_USAGE;
}

/* switchyard migrate: the schema alone, for operators who migrate before they deploy. */
int sy_cli_migrate(int argc, char **argv)
{
    const char *prog = "switchyard migrate";
    struct sy_arg args[] = {
        {"db", "URI",
         "the store: a SQLite file (default ./switchyard.db) or a postgres:// URI "
         "of the role that is to own the tables",
         0, NULL, NULL, 0},
        {"app-role", "ROLE",
         "PostgreSQL: the role the servers connect as, granted what they "
         "need (default switchyard_app)",
         0, NULL, NULL, 0},
    };
    bool help = false;
    if (sy_args_parse(argc, argv, args, 2, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help) {
        printf("usage: %s [--db URI] [--app-role ROLE]\n\nBrings a store to this switchyard's "
               "schema and does nothing else. A server\nmigrates a SQLite store itself; a "
               "PostgreSQL one only this way (the server\nconnects as a role that may not "
               "create tables). Safe to run again, and from\nseveral machines at once.\n\n",
               prog);
        sy_args_usage(args, 2, stdout);
        return 0;
    }
    sy_err_t err = {0};
    int version;
    int rc = sy_store_migrate(args[0].value ? args[0].value : "./switchyard.db", args[1].value,
                              &version, &err);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return 1;
    }
    printf("migrated: schema version %d\n", version);
    return 0;
}

int sy_cli_workspace(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "create") == 0)
        return workspace_create(argc - 1, argv + 1);
    FILE *to = argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) ? stdout
                                                                                           : stderr;
    fprintf(to, "usage: switchyard workspace create NAME [--db PATH]\n");
    return to == stdout ? 0 : SY_EXIT_USAGE;
}
