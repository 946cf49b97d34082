/* proxy_cmd.c - `switchyard proxy --server URL`: a proxy-only process. It serves the routes
 * of the token's workspace (proxy/proxy.h), following the server's configuration: every
 * --poll-ms it reads GET /v1/routes and GET /v1/go-live/state and, when they changed,
 * turns them into typed routes (codec/route_json.h: strict, a key it does not know is an
 * error, never a default) and swaps them in; answers it refuses leave the routes in force
 * and are told on stderr, naming the key. It reports to the server what the server's own proxy
 * would tell its engine (POST /v1/routes/{name}/report): each breaker transition at the next poll,
 * and every --report-s what it counted since its last report. What the server could not take is
 * sent again at the next poll (transitions) or report (counters); what it refused (a 4xx) is told
 * and dropped. SIGTERM or SIGINT stops it, after a last report.
 */
#define _DEFAULT_SOURCE
#include "cli/proxy_cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/serve_cmd.h"
#include "codec/route_json.h"
#include "proxy/proxy.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

#define PENDING 64 /* breaker transitions waiting for the server */

static bool same_row(const sy_proxy_row_t *a, const sy_proxy_row_t *b)
{
    return a->upstream == b->upstream && a->tried == b->tried && strcmp(a->route, b->route) == 0 &&
           strcmp(a->domain, b->domain) == 0;
}

/* POSTs `body` (taken) as route `name`'s report; whether it is done with: the server took
 * it, or refused it for good (a 4xx, told on stderr: a route deleted since, a token that
 * may not report). An unreachable or failing server has it again later. */
static bool post_report(sy_client_t *c, const char *name, json_t *body)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/routes/%s/report", name);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    json_t *reply = NULL;
    long status = text ? sy_client_call(c, "POST", path, text, strlen(text), &reply) : 0;
    if (status && status != 200)
        sy_client_report(c, path, status, reply);
    free(text);
    json_decref(reply);
    return status == 200 || (status >= 400 && status < 500);
}

/* Reports the counters of `d` (k rows since the last report) whose route is `name`, 256
 * rows a call; whether they are all done with (post_report). */
static bool report_route(sy_client_t *c, const char *name, const sy_proxy_row_t *d, size_t k)
{
    bool ok = true;
    json_t *rows = json_array();
    for (size_t i = 0; i <= k; i++) {
        if (i < k && strcmp(d[i].route, name) == 0) {
            json_t *hist = json_object();
            for (int b = 0; b < SY_LAT_BUCKETS; b++)
                if (d[i].hist[b] > 0) {
                    char key[8];
                    snprintf(key, sizeof(key), "%d", b);
                    json_object_set_new(hist, key, json_integer(d[i].hist[b]));
                }
            json_t *status = sy_proxy_status_json(d[i].status);
            json_array_append_new(rows, json_pack("{sssssssIsIsfsoso}", "domain", d[i].domain,
                                                  "upstream", sy_proxy_upstream_name(d[i].upstream),
                                                  "tried", sy_proxy_upstream_name(d[i].tried),
                                                  "requests", (json_int_t)d[i].requests, "errors",
                                                  (json_int_t)d[i].errors, "total_ms",
                                                  d[i].total_ms, "hist", hist, "status", status));
        }
        if (json_array_size(rows) == 256 || (i == k && json_array_size(rows))) {
            ok &= post_report(c, name, json_pack("{so}", "counters", rows));
            rows = json_array();
        }
    }
    json_decref(rows);
    return ok;
}

/* Reports what p counted since `*prev` (*n_prev rows), route by route; *prev becomes what
 * is done with (a route the server could not take keeps its old rows, to be sent again). */
/* A failed request or fallback of the proxy's, as a log line on stderr. */
static void log_failure(void *arg, int64_t ws, const char *route, const sy_route_log_rec_t *r)
{
    (void)arg;
    (void)ws;
    sy_cli_log_request(SY_LOG_TEXT, route, r);
}

static void report_counters(sy_client_t *c, sy_proxy_t *p, sy_proxy_row_t **prev, size_t *n_prev)
{
    size_t n, k;
    sy_proxy_row_t *rows = sy_proxy_rows(p, -1, &n);
    sy_proxy_row_t *d = rows ? sy_proxy_rows_since(rows, n, *prev, *n_prev, &k) : NULL;
    if (!d) {
        free(rows);
        return;
    }
    for (size_t j = 0; j < k; j++) {
        bool seen = false; /* each route once */
        for (size_t q = 0; q < j && !seen; q++)
            seen = strcmp(d[q].route, d[j].route) == 0;
        if (seen || report_route(c, d[j].route, d, k))
            continue;
        for (size_t i = 0; i < n; i++) { /* refused: as it was before */
            if (strcmp(rows[i].route, d[j].route) != 0)
                continue;
            const sy_proxy_row_t *old = NULL;
            for (size_t q = 0; !old && q < *n_prev; q++)
                if (same_row(&(*prev)[q], &rows[i]))
                    old = &(*prev)[q];
            if (old) {
                rows[i] = *old;
            } else {
                rows[i].requests = rows[i].errors = 0;
                rows[i].total_ms = 0;
                memset(rows[i].hist, 0, sizeof(rows[i].hist));
                memset(rows[i].status, 0, sizeof(rows[i].status));
                memset(rows[i].fallbacks, 0, sizeof(rows[i].fallbacks));
            }
        }
    }
    free(*prev);
    *prev = rows;
    *n_prev = n;
    free(d);
}

/* The server's routes and go-live state, as it answered them: what the proxy serves is
 * decoded from these, and a poll that reads the same answers changes nothing. */
struct answers {
    json_t *routes, *state;
};

static void answers_free(struct answers *a)
{
    json_decref(a->routes);
    json_decref(a->state);
    *a = (struct answers){0};
}

/* Reads GET /v1/routes and GET /v1/go-live/state into *out; whether both answered 200
 * (then the caller frees *out; else *out is empty and the routes in force stay). */
static bool fetch(sy_client_t *c, struct answers *out)
{
    *out = (struct answers){0};
    long a = sy_client_call(c, "GET", "/v1/routes", NULL, 0, &out->routes);
    long b = a == 200 ? sy_client_call(c, "GET", "/v1/go-live/state", NULL, 0, &out->state) : 0;
    if (a == 200 && b == 200)
        return true;
    if (a && a != 200)
        sy_client_report(c, "GET /v1/routes", a, out->routes);
    else if (b && b != 200)
        sy_client_report(c, "GET /v1/go-live/state", b, out->state);
    answers_free(out);
    return false;
}

/* The routes of answers `a`, typed (owned), or NULL with the refusal told on stderr. */
static sy_routes_t *decode(const char *prog, const struct answers *a)
{
    sy_routes_t *rs = NULL;
    sy_err_t err = {0};
    if (sy_routes_from_json(a->routes, a->state, &rs, &err) < 0)
        fprintf(stderr, "%s: the server's routes are refused: %s%s%s\n", prog, err.msg,
                err.field[0] ? ": " : "", err.field);
    return rs;
}

/* --NAME's value into *out when it is given (else *out keeps its default), within lo..hi. */
enum {
    O_WORKERS = SY_CA_FIRST_OWN,
    O_POLL_MS,
    O_MAX_BODY,
    O_REPORT_S,
    O_HEADER_TIMEOUT,
    O_MIN_BODY_RATE,
    O_MAX_CONNECTIONS,
    O_COUNT
};

int sy_cli_proxy(int argc, char **argv)
{
    const char *prog = "switchyard proxy";
    struct sy_arg a[O_COUNT] = {
        SY_CLIENT_ARGS,
        [O_WORKERS] = {"workers", "N", "threads serving the routes (default 2)", 0, NULL, NULL, 0},
        [O_POLL_MS] = {"poll-ms", "MS", "how often the server's routes are read (default 1000)", 0,
                       NULL, NULL, 0},
        [O_MAX_BODY] = {"max-body", "BYTES", "largest request body taken (default 16777216)", 0,
                        NULL, NULL, 0},
        [O_REPORT_S] = {"report-s", "SECONDS",
                        "how often the counters are reported to the server (default 10)", 0, NULL,
                        NULL, 0},
        [O_HEADER_TIMEOUT] = {"header-timeout", "SECONDS",
                              "a request head must arrive whole within this, from the accept "
                              "(then from its first byte), or 408 (default 10)",
                              0, NULL, NULL, 0},
        [O_MIN_BODY_RATE] = {"min-body-rate", "BYTES",
                             "a request body slower than this many bytes per second, after "
                             "--header-timeout of grace, gets 408 (default 1024; 0: none)",
                             0, NULL, NULL, 0},
        [O_MAX_CONNECTIONS] = {"max-connections", "N",
                               "open client connections at most, all workers together "
                               "(default: half the RLIMIT_NOFILE share, as each may hold an "
                               "upstream one); past it the one waiting longest for its head is "
                               "closed, or the new one",
                               0, NULL, NULL, 0},
    };
    int status;
    if (!sy_client_parse(prog, NULL, a, O_COUNT, argc, argv, NULL, &status))
        return status;
    int64_t workers = 2, poll = 1000, max_body = 16777216, report_s = 10, header_s = 10,
            body_rate = 1024, max_conns = sy_args_fd_budget() / 2;
    if (sy_args_ranged(prog, "workers", a[O_WORKERS].value, 1, 256, &workers) < 0 ||
        sy_args_ranged(prog, "poll-ms", a[O_POLL_MS].value, 10, 3600000, &poll) < 0 ||
        sy_args_ranged(prog, "max-body", a[O_MAX_BODY].value, 1024, (int64_t)1 << 30, &max_body) <
            0 ||
        sy_args_ranged(prog, "report-s", a[O_REPORT_S].value, 1, 3600, &report_s) < 0 ||
        sy_args_ranged(prog, "header-timeout", a[O_HEADER_TIMEOUT].value, 1, 3600, &header_s) < 0 ||
        sy_args_ranged(prog, "min-body-rate", a[O_MIN_BODY_RATE].value, 0, (int64_t)1 << 30,
                       &body_rate) < 0 ||
        sy_args_ranged(prog, "max-connections", a[O_MAX_CONNECTIONS].value, 1, 1 << 24,
                       &max_conns) < 0)
        return SY_EXIT_USAGE;
    sy_client_t *c = sy_client_new(prog, a[SY_CA_SERVER].value, a[SY_CA_TOKEN].value);
    if (!c)
        return SY_EXIT_USAGE;
    struct answers current;
    sy_routes_t *first = NULL;
    if (!fetch(c, &current) || !(first = decode(prog, &current))) {
        answers_free(&current);
        sy_client_free(c);
        return 1; /* the first read must work: there is nothing to serve yet */
    }
    size_t n_first = first->n;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    sy_proxy_t *p;
    sy_err_t err = {0};
    sy_proxy_opts_t o = {.workers = (int)workers,
                         .max_body = (size_t)max_body,
                         .header_timeout_s = (int)header_s,
                         .min_body_rate = (size_t)body_rate,
                         .max_conns = (size_t)max_conns};
    if (sy_proxy_start(&p, &o, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        sy_routes_free(first);
        answers_free(&current);
        sy_client_free(c);
        return 1;
    }
    if (sy_proxy_update(p, first, &err) < 0) /* takes `first` */
        fprintf(stderr, "%s: %s\n", prog, err.msg);
    fprintf(stderr, "%s: serving %zu route(s) from %s\n", prog, n_first,
            a[SY_CA_SERVER].value ? a[SY_CA_SERVER].value : "the server");
    sy_proxy_event_t pending[PENDING];
    sy_proxy_listen_error_t failed[16]; /* the addresses it could not listen on, last poll */
    size_t n_failed = 0;
    size_t n_pending = 0, n_prev = 0;
    sy_proxy_row_t *prev = NULL;
    struct timespec reported;
    clock_gettime(CLOCK_MONOTONIC, &reported);
    for (bool last = false; !last;) {
        struct timespec ts = {.tv_sec = poll / 1000, .tv_nsec = (poll % 1000) * 1000000}, now;
        nanosleep(&ts, NULL);
        last = stop;
        /* the breaker's transitions, in order; the oldest ones go when too many wait */
        sy_proxy_event_t ev[PENDING];
        size_t n = sy_proxy_events(p, ev, PENDING);
        for (size_t i = 0; i < n; i++) {
            fprintf(stderr, "%s: route %s: breaker %s\n", prog, ev[i].route, ev[i].state);
            if (n_pending == PENDING)
                memmove(pending, pending + 1, --n_pending * sizeof(*pending));
            pending[n_pending++] = ev[i];
        }
        /* addresses it cannot listen on (its workers try again every second): a line when
         * one starts failing or fails otherwise, and when it is listened on again */
        sy_proxy_listen_error_t fails[16];
        size_t n_fails = sy_proxy_listen_errors(p, fails, 16);
        for (size_t i = 0; i < n_fails; i++) {
            bool known = false;
            for (size_t k = 0; !known && k < n_failed; k++)
                known = strcmp(failed[k].listen, fails[i].listen) == 0 &&
                        failed[k].errnum == fails[i].errnum;
            if (!known)
                fprintf(stderr, "%s: route %s: event=route_listen_error: cannot listen on %s: %s\n",
                        prog, fails[i].route, fails[i].listen, strerror(fails[i].errnum));
        }
        for (size_t k = 0; k < n_failed; k++) {
            bool still = false;
            for (size_t i = 0; !still && i < n_fails; i++)
                still = strcmp(failed[k].listen, fails[i].listen) == 0;
            if (!still)
                fprintf(stderr, "%s: route %s: listening on %s\n", prog, failed[k].route,
                        failed[k].listen);
        }
        memcpy(failed, fails, n_fails * sizeof(fails[0]));
        n_failed = n_fails;
        /* its failed requests and fallbacks, a line each (400 a poll at most) */
        uint64_t lost = 0;
        sy_proxy_failures(p, 400, log_failure, NULL, &lost);
        if (lost)
            fprintf(stderr,
                    "%s: %llu failed requests were not logged (more than 256 a route between two "
                    "polls)\n",
                    prog, (unsigned long long)lost);
        size_t sent = 0;
        while (sent < n_pending && post_report(c, pending[sent].route,
                                               json_pack("{ss}", "breaker", pending[sent].state)))
            sent++;
        memmove(pending, pending + sent, (n_pending - sent) * sizeof(*pending));
        n_pending -= sent;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (last || now.tv_sec - reported.tv_sec >= report_s) {
            reported = now;
            report_counters(c, p, &prev, &n_prev);
        }
        if (last)
            break;
        struct answers next;
        if (stop || !fetch(c, &next))
            continue;
        if (json_equal(next.routes, current.routes) && json_equal(next.state, current.state)) {
            answers_free(&next);
            continue;
        }
        /* what was refused is told once, and tried again only when the answers change */
        sy_routes_t *rs = decode(prog, &next);
        if (rs && sy_proxy_update(p, rs, &err) < 0) /* takes `rs` */
            fprintf(stderr, "%s: %s\n", prog, err.msg);
        answers_free(&current);
        current = next;
    }
    sy_proxy_stop(p);
    free(prev);
    answers_free(&current);
    sy_client_free(c);
    return 0;
}
