/* regression_cmd.c - `switchyard kpi send` and `switchyard tripwire ...` against a running
 * server (client.h). See docs/cli.md.
 *
 * Exit status: 0 done, 1 the server refused or could not be reached, 2 bad options.
 */
#include "cli/regression_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/client.h"

int sy_cli_kpi(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "send") != 0) {
        bool asked = argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0);
        fprintf(asked ? stdout : stderr,
                "usage: switchyard kpi send FILE|- [--batch N] [--retries N] [--server URL]"
                " [--token TOKEN]\n");
        return asked ? 0 : SY_EXIT_USAGE;
    }
    return sy_client_send_lines(
        "switchyard kpi send", "/v1/kpi",
        "Sends business KPI events, one JSON object per line ({\"domain\":...,\"metric\":...,\n"
        "\"success\":true,\"value\":...,\"actor\":...}), in batches, each acknowledged once\n"
        "committed or refused whole (the line is named). KPI events have no ids: a retried\n"
        "batch may count twice, so retries are off unless asked for.",
        0, argc - 1, argv + 1);
}

static void print_policies(const json_t *r)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(r, "policies"), i, p)
    {
        printf("%-12s %-20s %-8s %-11s %s window %lld, baseline %lld, enforce from %lld, "
               "max drop %g\n",
               json_string_value(json_object_get(p, "domain")),
               json_string_value(json_object_get(p, "metric")),
               json_is_true(json_object_get(p, "enabled")) ? "enabled" : "disabled",
               json_string_value(json_object_get(p, "action")),
               json_string_value(json_object_get(p, "measure")),
               (long long)json_integer_value(json_object_get(p, "window_events")),
               (long long)json_integer_value(json_object_get(p, "baseline_events")),
               (long long)json_integer_value(json_object_get(p, "min_events_to_enforce")),
               json_number_value(json_object_get(p, "max_drop_fraction")));
    }
}

static void print_states(const json_t *list)
{
    size_t i;
    const json_t *s;
    json_array_foreach(list, i, s)
    {
        printf("%-12s %-20s %s\n", json_string_value(json_object_get(s, "domain")),
               json_string_value(json_object_get(s, "metric")),
               json_string_value(json_object_get(s, "note")));
    }
}

static void print_state(const json_t *r)
{
    print_states(json_object_get(r, "tripwires"));
}

static void print_evaluated(const json_t *r)
{
    const json_t *list = json_object_get(r, "evaluated");
    print_states(list);
    if (json_array_size(list) == 0)
        printf("no enabled tripwire\n");
}

static void print_policy(const json_t *p)
{
    json_t *wrap = json_pack("{s[O]}", "policies", p);
    print_policies(wrap);
    json_decref(wrap);
}

/* Parses the options `a` (client options first); false with *status set after --help or
 * a bad option. */
static bool parse(const char *prog, struct sy_arg *a, size_t n, int argc, char **argv, int *status)
{
    bool help = false;
    if (sy_args_parse(argc, argv, a, n, prog, &help) < 0) {
        *status = SY_EXIT_USAGE;
        return false;
    }
    if (help) {
        printf("usage: %s [options]\n\n", prog);
        sy_args_usage(a, n, stdout);
        *status = 0;
        return false;
    }
    return true;
}

/* Sends one request with the client options of `a`; takes `body`. */
static int call(const char *prog, const struct sy_arg *a, const char *method, const char *path,
                json_t *body, void (*print)(const json_t *))
{
    sy_client_t *c = sy_client_new(prog, a[SY_CA_SERVER].value, a[SY_CA_TOKEN].value);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int rc = c ? sy_client_run(c, a[SY_CA_JSON].value != NULL, method, path, text, print)
               : SY_EXIT_USAGE;
    free(text);
    sy_client_free(c);
    return rc;
}

/* Adds option `name` of `a` to `body` as an integer, number, boolean or string. */
static int put_opt(json_t *body, const char *prog, const struct sy_arg *a, const char *key,
                   char kind)
{
    if (!a->value)
        return 0;
    int64_t i;
    double d;
    json_t *v = NULL;
    if (kind == 'i' && sy_args_int64(prog, a->name, a->value, &i) == 0)
        v = json_integer(i);
    else if (kind == 'd' && sy_args_double(prog, a->name, a->value, &d) == 0)
        v = json_real(d);
    else if (kind == 'b' && (strcmp(a->value, "true") == 0 || strcmp(a->value, "false") == 0))
        v = json_boolean(strcmp(a->value, "true") == 0);
    else if (kind == 's')
        v = json_string(a->value);
    if (!v) {
        if (kind == 'b')
            fprintf(stderr, "%s: --%s: true or false\n", prog, a->name);
        return -1;
    }
    return json_object_set_new(body, key, v);
}

static int set(int argc, char **argv)
{
    const char *prog = "switchyard tripwire set";
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"domain", "DOMAIN", "the policy's domain (required)", 0, NULL, NULL, 0},
        {"metric", "METRIC", "the policy's metric (required)", 0, NULL, NULL, 0},
        {"window-events", "N", "the newest N events are the window", 0, NULL, NULL, 0},
        {"baseline-events", "N", "the N events before them the baseline", 0, NULL, NULL, 0},
        {"min-events", "N", "enforced once both hold N events", 0, NULL, NULL, 0},
        {"max-drop", "FRACTION", "trigger at this relative drop (0.2: 20 %)", 0, NULL, NULL, 0},
        {"action", "ACTION", "THROTTLE or KILL_SWITCH", 0, NULL, NULL, 0},
        {"measure", "MEASURE", "rate (of success) or mean (of value)", 0, NULL, NULL, 0},
        {"enabled", "BOOL", "true or false", 0, NULL, NULL, 0},
        {"changed-by", "NAME", "who changes it (default: the token's name)", 0, NULL, NULL, 0},
        {"reason", "TEXT", "why", 0, NULL, NULL, 0},
    };
    static const struct {
        const char *key;
        char kind;
    } fields[] = {{"domain", 's'},
                  {"metric", 's'},
                  {"window_events", 'i'},
                  {"baseline_events", 'i'},
                  {"min_events_to_enforce", 'i'},
                  {"max_drop_fraction", 'd'},
                  {"action", 's'},
                  {"measure", 's'},
                  {"enabled", 'b'},
                  {"changed_by", 's'},
                  {"reason", 's'}};
    size_t n = sizeof(a) / sizeof(a[0]);
    bool help = false;
    if (sy_args_parse(argc, argv, a, n, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help || !a[SY_CA_FIRST_OWN].value || !a[SY_CA_FIRST_OWN + 1].value) {
        FILE *to = help ? stdout : stderr;
        fprintf(to, "usage: %s --domain DOMAIN --metric METRIC [options]\n\n", prog);
        sy_args_usage(a, n, to);
        return help ? 0 : SY_EXIT_USAGE;
    }
    json_t *body = json_object();
    for (size_t i = 0; body && i < sizeof(fields) / sizeof(fields[0]); i++)
        if (put_opt(body, prog, &a[SY_CA_FIRST_OWN + i], fields[i].key, fields[i].kind) < 0) {
            json_decref(body);
            return SY_EXIT_USAGE;
        }
    return call(prog, a, "POST", "/v1/regression/policies", body, print_policy);
}

int sy_cli_tripwire(int argc, char **argv)
{
    const char *verb = argc >= 1 ? argv[0] : "";
    if (strcmp(verb, "set") == 0)
        return set(argc - 1, argv + 1);
    if (strcmp(verb, "policies") == 0 || strcmp(verb, "state") == 0) {
        struct sy_arg a[] = {SY_CLIENT_ARGS};
        bool policies = verb[0] == 'p';
        const char *prog = policies ? "switchyard tripwire policies" : "switchyard tripwire state";
        int status;
        if (!parse(prog, a, 3, argc - 1, argv + 1, &status))
            return status;
        return call(prog, a, "GET", policies ? "/v1/regression/policies" : "/v1/regression/state",
                    NULL, policies ? print_policies : print_state);
    }
    if (strcmp(verb, "evaluate") == 0) {
        const char *prog = "switchyard tripwire evaluate";
        struct sy_arg a[] = {
            SY_CLIENT_ARGS,
            {"domain", "DOMAIN", "with --metric: this tripwire only (else every enabled one)", 0,
             NULL, NULL, 0},
            {"metric", "METRIC", "with --domain: this tripwire only", 0, NULL, NULL, 0},
            {"actor", "NAME", "whom the evaluation is for (in the audit trail)", 0, NULL, NULL, 0},
        };
        int status;
        if (!parse(prog, a, sizeof(a) / sizeof(a[0]), argc - 1, argv + 1, &status))
            return status;
        json_t *body = json_object();
        for (size_t i = SY_CA_FIRST_OWN; body && i < sizeof(a) / sizeof(a[0]); i++)
            if (put_opt(body, prog, &a[i], a[i].name, 's') < 0) {
                json_decref(body);
                return SY_EXIT_USAGE;
            }
        return call(prog, a, "POST", "/v1/regression/evaluate", body, print_evaluated);
    }
    bool asked = strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0;
    fprintf(asked ? stdout : stderr,
            "usage: switchyard tripwire policies\n"
            "       switchyard tripwire set --domain D --metric M [--window-events N]"
            " [--baseline-events N]\n"
            "           [--min-events N] [--max-drop F] [--action THROTTLE|KILL_SWITCH]"
            " [--measure rate|mean]\n"
            "           [--enabled true|false] [--changed-by NAME] [--reason TEXT]\n"
            "       switchyard tripwire evaluate [--domain D --metric M] [--actor NAME]\n"
            "       switchyard tripwire state\n"
            "Each takes --server URL, --token TOKEN and --json.\n");
    return asked ? 0 : SY_EXIT_USAGE;
}
