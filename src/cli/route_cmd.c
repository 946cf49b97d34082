/* route_cmd.c - `switchyard route ...`: the proxy's routes on a running server (client.h).
 * See docs/cli.md and docs/proxy.md.
 *
 * Exit status: 0 done, 1 the server refused or could not be reached, 2 bad options.
 */
#include "cli/route_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/client.h"

static void print_route(const json_t *r)
{
    const json_t *ups = json_object_get(r, "upstreams");
    const char *listen = json_string_value(json_object_get(r, "listen"));
    printf("%-16s %-8s %6.2f %% to new  %s -> legacy %s, new %s\n",
           json_string_value(json_object_get(r, "name")),
           json_is_true(json_object_get(r, "enabled")) ? "enabled" : "disabled",
           json_number_value(json_object_get(r, "percentage")), listen ? listen : "-",
           json_string_value(json_object_get(json_object_get(ups, "legacy"), "address")),
           json_string_value(json_object_get(json_object_get(ups, "new"), "address")));
}

static void print_routes(const json_t *reply)
{
    sy_client_print_each(reply, "routes", print_route, "no route");
}

static void print_health(const json_t *h)
{
    printf("%s: %s, breaker %s\n", json_string_value(json_object_get(h, "route")),
           json_is_true(json_object_get(h, "healthy")) ? "healthy" : "UNHEALTHY",
           json_string_value(json_object_get(h, "breaker")));
    const char *names[] = {"legacy", "new"};
    for (int i = 0; i < 2; i++) {
        const json_t *u = json_object_get(json_object_get(h, "upstreams"), names[i]);
        printf("  %-6s %8lld requests, error rate %.4f %%, p95 %.2f ms%s\n", names[i],
               (long long)json_integer_value(json_object_get(u, "requests")),
               100 * json_number_value(json_object_get(u, "error_rate")),
               json_number_value(json_object_get(u, "p95_ms")),
               json_is_true(json_object_get(u, "healthy")) ? "" : "  (past its gate)");
    }
}

/* GET .../requests: a line a request, newest first. */
static void print_requests(const json_t *r)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(r, "requests"), i, x)
    {
        const char *dom = json_string_value(json_object_get(x, "domain"));
        const char *msg = json_string_value(json_object_get(x, "error_message"));
        printf("%lld %-7s %-40s %-12s %-6s %3lld %9.2f ms%s%s%s\n",
               (long long)json_integer_value(json_object_get(x, "at_ms")),
               json_string_value(json_object_get(x, "method")),
               json_string_value(json_object_get(x, "path")), dom ? dom : "-",
               json_string_value(json_object_get(x, "upstream")),
               (long long)json_integer_value(json_object_get(x, "status")),
               json_number_value(json_object_get(x, "latency_ms")),
               json_is_true(json_object_get(x, "fallback")) ? "  fallback" : "", msg ? "  " : "",
               msg ? msg : "");
    }
}

/* `requests NAME [--limit N] [--upstream U] [--errors-only]`: the route's recent requests. */
static int requests(int argc, char **argv)
{
    const char *prog = "switchyard route requests";
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"limit", "N", "the newest N (1 to 1000, default 50)", 0, NULL, NULL, 0},
        {"upstream", "UPSTREAM", "only those legacy, new or error answered", 0, NULL, NULL, 0},
        {"errors-only", NULL, "only failures and fallbacks", 0, NULL, NULL, 0}};
    const char *name;
    int status;
    if (!sy_client_parse(prog, "NAME", a, 6, argc, argv, &name, &status))
        return status;
    char esc[200], path[512], v[64];
    sy_client_escape(name, esc, sizeof(esc));
    int n = snprintf(path, sizeof(path), "/v1/routes/%s/requests?errors_only=%s", esc,
                     a[5].value ? "true" : "false");
    if (a[3].value) {
        sy_client_escape(a[3].value, v, sizeof(v));
        n += snprintf(path + n, sizeof(path) - (size_t)n, "&limit=%s", v);
    }
    if (a[4].value) {
        sy_client_escape(a[4].value, v, sizeof(v));
        snprintf(path + n, sizeof(path) - (size_t)n, "&upstream=%s", v);
    }
    return sy_client_once(prog, a, "GET", path, NULL, print_requests);
}

/* POST /v1/routes/NAME/WHAT with {key: value, "reason": reason}. */
static int post_one(const char *prog, const struct sy_arg *a, const char *name, const char *what,
                    json_t *value, const char *reason)
{
    char esc[200], path[300];
    sy_client_escape(name, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/v1/routes/%s/%s", esc, what);
    json_t *body = json_pack("{soss}", what, value, "reason", reason);
    return sy_client_once(prog, a, "POST", path, body, print_route);
}

/* `rollback NAME|--all`: every named route (or every route) to 0 %, now. */
static int rollback(int argc, char **argv)
{
    const char *prog = "switchyard route rollback";
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"all", NULL, "every route of the workspace", 0, NULL, NULL, 0},
        {"reason", "TEXT", "why (default: emergency rollback)", 0, NULL, NULL, 0},
    };
    const char *name = NULL;
    int status;
    bool all = false;
    for (int i = 0; i < argc; i++)
        all |= strcmp(argv[i], "--all") == 0;
    if (!sy_client_parse(prog, all ? NULL : "NAME|--all", a, sizeof(a) / sizeof(a[0]), argc, argv,
                         all ? NULL : &name, &status))
        return status;
    const char *reason =
        a[SY_CA_FIRST_OWN + 1].value ? a[SY_CA_FIRST_OWN + 1].value : "emergency rollback";
    if (!all)
        return post_one(prog, a, name, "percentage", json_integer(0), reason);
    sy_client_t *c = sy_client_new(prog, a[SY_CA_SERVER].value, a[SY_CA_TOKEN].value);
    if (!c)
        return SY_EXIT_USAGE;
    json_t *list = NULL;
    long http = sy_client_call(c, "GET", "/v1/routes", NULL, 0, &list);
    int rc = http == 200 ? 0 : 1;
    if (http && http != 200)
        sy_client_report(c, NULL, http, list);
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(list, "routes"), i, r)
    {
        const char *n = json_string_value(json_object_get(r, "name"));
        char esc[200], path[300];
        sy_client_escape(n, esc, sizeof(esc));
        snprintf(path, sizeof(path), "/v1/routes/%s/percentage", esc);
        json_t *body = json_pack("{siss}", "percentage", 0, "reason", reason), *reply = NULL;
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        long one = text ? sy_client_call(c, "POST", path, text, strlen(text), &reply) : 0;
        if (one == 200) {
            printf("%s: 0 %% to new\n", n);
        } else {
            rc = 1;
            if (one)
                sy_client_report(c, n, one, reply);
        }
        free(text);
        json_decref(body);
        json_decref(reply);
    }
    json_decref(list);
    sy_client_free(c);
    return rc;
}

int sy_cli_route(int argc, char **argv)
{
    const char *verb = argc >= 1 ? argv[0] : "";
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"reason", "TEXT", "why (required for percentage, enable, disable)", 0, NULL, NULL, 0}};
    int status;
    if (strcmp(verb, "list") == 0) {
        if (!sy_client_parse("switchyard route list", NULL, a, 3, argc - 1, argv + 1, NULL,
                             &status))
            return status;
        return sy_client_once("switchyard route list", a, "GET", "/v1/routes", NULL, print_routes);
    }
    if (strcmp(verb, "show") == 0 || strcmp(verb, "health") == 0) {
        const char *prog = verb[0] == 's' ? "switchyard route show" : "switchyard route health";
        const char *name;
        if (!sy_client_parse(prog, "NAME", a, 3, argc - 1, argv + 1, &name, &status))
            return status;
        char esc[200], path[300];
        sy_client_escape(name, esc, sizeof(esc));
        snprintf(path, sizeof(path), "/v1/routes/%s%s", esc, verb[0] == 's' ? "" : "/health");
        return sy_client_once(prog, a, "GET", path, NULL,
                              verb[0] == 's' ? print_route : print_health);
    }
    if (strcmp(verb, "percentage") == 0) {
        const char *prog = "switchyard route percentage";
        /* NAME PERCENTAGE, then the options */
        bool two = argc >= 3 && argv[1][0] != '-' && argv[2][0] != '-';
        if (two && !sy_client_parse(prog, NULL, a, 4, argc - 3, argv + 3, NULL, &status))
            return status;
        double v;
        if (!two || sy_args_double(prog, "PERCENTAGE", argv[2], &v) < 0 || !a[3].value) {
            fprintf(stderr, "usage: %s NAME PERCENTAGE --reason TEXT\n", prog);
            return SY_EXIT_USAGE;
        }
        return post_one(prog, a, argv[1], "percentage", json_real(v), a[3].value);
    }
    if (strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0) {
        const char *prog = verb[0] == 'e' ? "switchyard route enable" : "switchyard route disable";
        const char *name;
        if (!sy_client_parse(prog, "NAME", a, 4, argc - 1, argv + 1, &name, &status))
            return status;
        if (!a[3].value) {
            fprintf(stderr, "%s: --reason TEXT is required\n", prog);
            return SY_EXIT_USAGE;
        }
        return post_one(prog, a, name, "enabled", json_boolean(verb[0] == 'e'), a[3].value);
    }
    if (strcmp(verb, "rollback") == 0)
        return rollback(argc - 1, argv + 1);
    if (strcmp(verb, "requests") == 0)
        return requests(argc - 1, argv + 1);
    bool asked = strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0;
    fprintf(
        asked ? stdout : stderr,
        "usage: switchyard route list\n"
        "       switchyard route show NAME\n"
        "       switchyard route health NAME\n"
        "       switchyard route requests NAME [--limit N] [--upstream legacy|new|error]\n"
        "                                      [--errors-only]   (recent requests, newest first)\n"
        "       switchyard route percentage NAME PERCENTAGE --reason TEXT\n"
        "       switchyard route enable|disable NAME --reason TEXT\n"
        "       switchyard route rollback NAME|--all [--reason TEXT]   (to 0 %% at once)\n"
        "Each takes --server URL, --token TOKEN and --json. Routes are created and\n"
        "replaced over the API (POST and PUT /v1/routes): docs/proxy.md.\n");
    return asked ? 0 : SY_EXIT_USAGE;
}
