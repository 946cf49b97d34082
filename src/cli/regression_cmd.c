/* regression_cmd.c - `switchyard kpi send`, `tripwire ...`, `risk ...` and `killswitch ...`
 * against a running server (client.h). See docs/cli.md.
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
        "committed or refused whole (the line is named). An event with an \"id\" is written\n"
        "once, so a batch of such events may be retried (--retries); retries are off\n"
        "unless asked for, since an event without one would count twice.",
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
        {"reason", "TEXT", "why (required to re-enable a disabled or triggered tripwire)", 0, NULL,
         NULL, 0},
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
    return sy_client_once(prog, a, "POST", "/v1/regression/policies", body, print_policy);
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
        if (!sy_client_parse(prog, NULL, a, 3, argc - 1, argv + 1, NULL, &status))
            return status;
        return sy_client_once(prog, a, "GET",
                              policies ? "/v1/regression/policies" : "/v1/regression/state", NULL,
                              policies ? print_policies : print_state);
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
        if (!sy_client_parse(prog, NULL, a, sizeof(a) / sizeof(a[0]), argc - 1, argv + 1, NULL,
                             &status))
            return status;
        json_t *body = json_object();
        for (size_t i = SY_CA_FIRST_OWN; body && i < sizeof(a) / sizeof(a[0]); i++)
            if (put_opt(body, prog, &a[i], a[i].name, 's') < 0) {
                json_decref(body);
                return SY_EXIT_USAGE;
            }
        return sy_client_once(prog, a, "POST", "/v1/regression/evaluate", body, print_evaluated);
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

/* ---- risk ------------------------------------------------------------------------------------ */

static void print_ledger(const json_t *r)
{
    size_t i;
    const json_t *e;
    printf("%s:\n", json_string_value(json_object_get(r, "day")));
    json_array_foreach(json_object_get(r, "entries"), i, e)
    {
        const char *why = json_string_value(json_object_get(e, "reason"));
        printf("  #%lld %-12s %12.2f %-9s %s%s%s\n",
               (long long)json_integer_value(json_object_get(e, "id")),
               json_string_value(json_object_get(e, "domain")),
               json_number_value(json_object_get(e, "amount")),
               json_string_value(json_object_get(e, "outcome")),
               json_string_value(json_object_get(e, "actor")), why ? " " : "", why ? why : "");
    }
    if (json_array_size(json_object_get(r, "entries")) == 0)
        printf("  nothing\n");
}

/* check-and-reserve: exit 0 when reserved, 1 when denied (so a script can gate on it). */
static int reserve(int argc, char **argv)
{
    const char *prog = "switchyard risk reserve";
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"domain", "DOMAIN", "the domain (required)", 0, NULL, NULL, 0},
        {"amount", "AMOUNT", "the exposure, above 0 (required)", 0, NULL, NULL, 0},
        {"actor", "NAME", "who acts (required)", 0, NULL, NULL, 0},
        {"correlation-id", "ID", "ties the reservation to the action", 0, NULL, NULL, 0},
    };
    size_t n = sizeof(a) / sizeof(a[0]);
    int status;
    if (!sy_client_parse(prog, NULL, a, n, argc, argv, NULL, &status))
        return status;
    if (!a[3].value || !a[4].value || !a[5].value) {
        fprintf(stderr, "%s: --domain, --amount and --actor are required\n", prog);
        return SY_EXIT_USAGE;
    }
    json_t *body = json_object();
    if (!body || put_opt(body, prog, &a[3], "domain", 's') < 0 ||
        put_opt(body, prog, &a[4], "amount", 'd') < 0 ||
        put_opt(body, prog, &a[5], "actor", 's') < 0 ||
        put_opt(body, prog, &a[6], "correlation_id", 's') < 0) {
        json_decref(body);
        return SY_EXIT_USAGE;
    }
    sy_client_t *c = sy_client_new(prog, a[SY_CA_SERVER].value, a[SY_CA_TOKEN].value);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int rc = 1;
    json_t *reply = NULL;
    long http = c && text ? sy_client_call(c, "POST", "/v1/risk/check-and-reserve", text,
                                           strlen(text), &reply)
                          : 0;
    if (http == 200 && a[SY_CA_JSON].value) {
        char *out = json_dumps(reply, JSON_INDENT(2));
        printf("%s\n", out ? out : "");
        free(out);
        rc = json_is_true(json_object_get(reply, "ok")) ? 0 : 1;
    } else if (http == 200 && json_is_true(json_object_get(reply, "ok"))) {
        printf("reserved #%lld\n",
               (long long)json_integer_value(json_object_get(reply, "reservation_id")));
        rc = 0;
    } else if (http == 200) {
        printf("denied: %s\n", json_string_value(json_object_get(reply, "reason")));
    } else if (http) {
        sy_client_report(c, NULL, http, reply);
    }
    if (!c)
        rc = SY_EXIT_USAGE;
    json_decref(reply);
    free(text);
    sy_client_free(c);
    return rc;
}

int sy_cli_risk(int argc, char **argv)
{
    const char *verb = argc >= 1 ? argv[0] : "";
    if (strcmp(verb, "reserve") == 0)
        return reserve(argc - 1, argv + 1);
    if (strcmp(verb, "ledger") == 0) {
        const char *prog = "switchyard risk ledger";
        struct sy_arg a[] = {
            SY_CLIENT_ARGS,
            {"day", "YYYY-MM-DD", "the day (default today, UTC)", 0, NULL, NULL, 0}};
        int status;
        if (!sy_client_parse(prog, NULL, a, 4, argc - 1, argv + 1, NULL, &status))
            return status;
        char path[128] = "/v1/risk/ledger";
        if (a[3].value) {
            char esc[64];
            sy_client_escape(a[3].value, esc, sizeof(esc));
            snprintf(path, sizeof(path), "/v1/risk/ledger?day=%s", esc);
        }
        return sy_client_once(prog, a, "GET", path, NULL, print_ledger);
    }
    bool asked = strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0;
    fprintf(asked ? stdout : stderr,
            "usage: switchyard risk reserve --domain D --amount N --actor NAME"
            " [--correlation-id ID]\n"
            "       switchyard risk ledger [--day YYYY-MM-DD]\n"
            "Each takes --server URL, --token TOKEN and --json. reserve exits 1 when denied.\n");
    return asked ? 0 : SY_EXIT_USAGE;
}

/* ---- killswitch ------------------------------------------------------------------------------ */

static void print_switch(const json_t *r)
{
    const json_t *k = json_object_get(r, "kill_switch");
    const char *why = json_string_value(json_object_get(k, "reason"));
    printf("kill switch %s", json_is_true(json_object_get(k, "engaged")) ? "ENGAGED" : "off");
    if (why)
        printf(" (%s, by %s)", why, json_string_value(json_object_get(k, "actor")));
    printf("\n");
}

int sy_cli_killswitch(int argc, char **argv)
{
    const char *verb = argc >= 1 ? argv[0] : "";
    bool on = strcmp(verb, "on") == 0, off = strcmp(verb, "off") == 0;
    if (on || off || strcmp(verb, "status") == 0) {
        const char *prog = on    ? "switchyard killswitch on"
                           : off ? "switchyard killswitch off"
                                 : "switchyard killswitch status";
        struct sy_arg a[] = {
            SY_CLIENT_ARGS,
            {"reason", "TEXT", "why (required for on and off)", 0, NULL, NULL, 0},
            {"actor", "NAME", "who (default: the token's name)", 0, NULL, NULL, 0},
        };
        int status;
        if (!sy_client_parse(prog, NULL, a, 5, argc - 1, argv + 1, NULL, &status))
            return status;
        if (!on && !off)
            return sy_client_once(prog, a, "GET", "/v1/go-live/state", NULL, print_switch);
        if (!a[3].value) {
            fprintf(stderr, "%s: --reason is required\n", prog);
            return SY_EXIT_USAGE;
        }
        json_t *body = json_pack("{sbss}", "engaged", on, "reason", a[3].value);
        if (body && a[4].value)
            json_object_set_new(body, "actor", json_string(a[4].value));
        return sy_client_once(prog, a, "POST", "/v1/go-live/kill-switch", body, print_switch);
    }
    bool asked = strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0;
    fprintf(asked ? stdout : stderr,
            "usage: switchyard killswitch on --reason TEXT [--actor NAME]\n"
            "       switchyard killswitch off --reason TEXT [--actor NAME]\n"
            "       switchyard killswitch status\n"
            "Each takes --server URL, --token TOKEN and --json.\n");
    return asked ? 0 : SY_EXIT_USAGE;
}

/* ---- emergency-rollback ------------------------------------------------------------------------
 */

int sy_cli_emergency_rollback(int argc, char **argv)
{
    const char *prog = "switchyard emergency-rollback";
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"reason", "TEXT", "why (required)", 0, NULL, NULL, 0},
        {"workspace", "NAME", "refuse unless the token is of this workspace", 0, NULL, NULL, 0},
    };
    int status;
    if (!sy_client_parse(prog, NULL, a, 5, argc, argv, NULL, &status))
        return status;
    if (!a[3].value || !*a[3].value) {
        fprintf(stderr, "%s: --reason is required (1 to 400 characters)\n", prog);
        return SY_EXIT_USAGE;
    }
    sy_client_t *c = sy_client_new(prog, a[SY_CA_SERVER].value, a[SY_CA_TOKEN].value);
    json_t *body = c ? json_pack("{ss}", "reason", a[3].value) : NULL;
    if (body && a[4].value)
        json_object_set_new(body, "workspace", json_string(a[4].value));
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    json_t *r = NULL;
    long code =
        text ? sy_client_call(c, "POST", "/v1/emergency-rollback", text, strlen(text), &r) : 0;
    free(text);
    int rc = code == 200 ? 0 : 1;
    if (!c) {
        rc = SY_EXIT_USAGE;
    } else if (a[SY_CA_JSON].value && r) {
        char *out = json_dumps(r, JSON_INDENT(2));
        printf("%s\n", out ? out : "");
        free(out);
    } else if (code == 200 || (code == 500 && json_object_get(r, "took_ms"))) {
        printf("rolled back %lld experiments to control and %lld routes to legacy in %.0f ms\n",
               (long long)json_integer_value(json_object_get(r, "experiments_rolled_back")),
               (long long)json_integer_value(json_object_get(r, "routes_disabled")),
               json_number_value(json_object_get(r, "took_ms")));
        if (code != 200)
            fprintf(stderr, "%s: %lld experiments and %lld routes could not: %s\n", prog,
                    (long long)json_integer_value(json_object_get(r, "experiments_failed")),
                    (long long)json_integer_value(json_object_get(r, "routes_failed")),
                    json_string_value(json_object_get(r, "first_failure")));
    } else if (code) {
        sy_client_report(c, NULL, code, r);
    }
    json_decref(r);
    sy_client_free(c);
    return rc;
}
