/* proxy_cmd.c - `switchyard proxy --server URL`: a proxy-only process. It serves the routes
 * of the token's workspace (proxy/proxy.h), following the server's configuration: every
 * --poll-ms it reads GET /v1/routes and GET /v1/go-live/state and, when they changed,
 * swaps the new routes in. Breaker transitions are logged; the counters stay in this
 * process. SIGTERM or SIGINT stops it.
 */
#define _DEFAULT_SOURCE
#include "cli/proxy_cmd.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/client.h"
#include "proxy/proxy.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* The workspace's routes as the data plane takes them (sy_engine_routes_all's shape), or
 * NULL when the server cannot be read (then the routes in force stay). */
static json_t *fetch(sy_client_t *c)
{
    json_t *routes = NULL, *state = NULL;
    long a = sy_client_call(c, "GET", "/v1/routes", NULL, 0, &routes);
    long b = a == 200 ? sy_client_call(c, "GET", "/v1/go-live/state", NULL, 0, &state) : 0;
    json_t *out = NULL;
    if (a == 200 && b == 200) {
        bool killed =
            json_is_true(json_object_get(json_object_get(state, "kill_switch"), "engaged"));
        out = json_incref(json_object_get(routes, "routes"));
        size_t i;
        json_t *r;
        json_array_foreach(out, i, r)
        {
            double pct = json_number_value(json_object_get(r, "percentage"));
            json_object_set_new(r, "percentage_bp", json_integer((json_int_t)llround(pct * 100)));
            json_object_set_new(r, "killed", json_boolean(killed));
            json_object_set_new(r, "workspace", json_integer(0));
        }
    } else if (a && a != 200) {
        sy_client_report(c, "GET /v1/routes", a, routes);
    } else if (b && b != 200) {
        sy_client_report(c, "GET /v1/go-live/state", b, state);
    }
    json_decref(routes);
    json_decref(state);
    return out;
}

int sy_cli_proxy(int argc, char **argv)
{
    const char *prog = "switchyard proxy";
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"workers", "N", "threads serving the routes (default 2)", 0, NULL, NULL, 0},
        {"poll-ms", "MS", "how often the server's routes are read (default 1000)", 0, NULL, NULL,
         0},
        {"max-body", "BYTES", "largest request body taken (default 16777216)", 0, NULL, NULL, 0},
    };
    int status;
    if (!sy_client_parse(prog, NULL, a, sizeof(a) / sizeof(a[0]), argc, argv, NULL, &status))
        return status;
    int64_t workers = 2, poll = 1000, max_body = 16777216;
    if ((a[3].value && sy_args_int64(prog, "workers", a[3].value, &workers) < 0) ||
        (a[4].value && sy_args_int64(prog, "poll-ms", a[4].value, &poll) < 0) ||
        (a[5].value && sy_args_int64(prog, "max-body", a[5].value, &max_body) < 0))
        return SY_EXIT_USAGE;
    if (workers < 1 || workers > 256 || poll < 10 || poll > 3600000 || max_body < 1024) {
        fprintf(stderr, "%s: --workers 1..256, --poll-ms 10..3600000, --max-body >= 1024\n", prog);
        return SY_EXIT_USAGE;
    }
    sy_client_t *c = sy_client_new(prog, a[SY_CA_SERVER].value, a[SY_CA_TOKEN].value);
    if (!c)
        return SY_EXIT_USAGE;
    json_t *current = fetch(c);
    if (!current) {
        sy_client_free(c);
        return 1; /* the first read must work: there is nothing to serve yet */
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    sy_proxy_t *p;
    sy_err_t err = {0};
    sy_proxy_opts_t o = {.workers = (int)workers, .max_body = (size_t)max_body};
    if (sy_proxy_start(&p, &o, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        json_decref(current);
        sy_client_free(c);
        return 1;
    }
    if (sy_proxy_update(p, current, &err) < 0)
        fprintf(stderr, "%s: %s\n", prog, err.msg);
    fprintf(stderr, "%s: serving %zu route(s) from %s\n", prog, json_array_size(current),
            a[SY_CA_SERVER].value ? a[SY_CA_SERVER].value : "the server");
    while (!stop) {
        struct timespec ts = {.tv_sec = poll / 1000, .tv_nsec = (poll % 1000) * 1000000};
        nanosleep(&ts, NULL);
        sy_proxy_event_t ev[64];
        size_t n = sy_proxy_events(p, ev, 64);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%s: route %s: breaker %s\n", prog, ev[i].route, ev[i].state);
        json_t *next = stop ? NULL : fetch(c);
        if (next && !json_equal(next, current)) {
            if (sy_proxy_update(p, next, &err) < 0)
                fprintf(stderr, "%s: %s\n", prog, err.msg);
            json_decref(current);
            current = next;
        } else {
            json_decref(next);
        }
    }
    sy_proxy_stop(p);
    json_decref(current);
    sy_client_free(c);
    return 0;
}
