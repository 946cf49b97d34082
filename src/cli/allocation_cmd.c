/* allocation_cmd.c - `switchyard allocation show|apply`, `switchyard promote`, `switchyard
 * rollback` and `switchyard history` against a running server (client.h). See docs/cli.md.
 *
 * Exit status: 0 done, 1 the server refused (a guardrail, a state) or could not be reached,
 * 2 bad options.
 */
#define _DEFAULT_SOURCE
#include "cli/allocation_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/client.h"

/* "2026-12-01T21:19:11Z" of Unix milliseconds. */
static void utc(int64_t ms, char *buf, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_weights(const json_t *w)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)w, k, v) printf(" %s=%lld", k, (long long)json_integer_value(v));
}

static void print_history(const json_t *list)
{
    size_t i;
    const json_t *c;
    json_array_foreach(list, i, c)
    {
        char when[32];
        utc(json_integer_value(json_object_get(c, "at_ms")), when, sizeof(when));
        const json_t *d = json_object_get(c, "detail");
        printf("  %s %-8s by %s:", when, json_string_value(json_object_get(c, "action")),
               json_string_value(json_object_get(c, "actor")));
        print_weights(json_object_get(c, "before"));
        printf(" ->");
        print_weights(json_object_get(c, "after"));
        const char *why = json_string_value(json_object_get(d, "reason"));
        const char *promoted = json_string_value(json_object_get(d, "variant"));
        if (why) {
            printf("  (%s)", why);
        } else if (promoted) { /* a promotion: by hand, or the check's full one */
            const char *mode = json_string_value(json_object_get(d, "mode")),
                       *by = json_string_value(json_object_get(d, "promoted_by"));
            printf("  (%s %s, by %s", mode ? mode : "manual", promoted, by ? by : "?");
            if (json_is_number(json_object_get(d, "confidence")))
                printf(", confidence %.4g", json_number_value(json_object_get(d, "confidence")));
            if (json_is_number(json_object_get(d, "improvement_pct")))
                printf(", improvement %+.2f %%",
                       json_number_value(json_object_get(d, "improvement_pct")));
            printf(")");
        } else if (json_is_number(json_object_get(d, "confidence")))
            printf("  (winner %s, confidence %.4g, delta %g)",
                   json_string_value(json_object_get(d, "winner")),
                   json_number_value(json_object_get(d, "confidence")),
                   json_number_value(json_object_get(d, "delta")));
        printf("\n");
    }
    if (json_array_size(list) == 0)
        printf("  no changes yet\n");
}

static void print_allocation(const json_t *a)
{
    const json_t *rl = json_object_get(a, "rate_limit"), *g = json_object_get(a, "guardrails");
    printf("%s (%s):", json_string_value(json_object_get(a, "experiment")),
           json_string_value(json_object_get(a, "state")));
    print_weights(json_object_get(a, "weights"));
    char next[32];
    utc(json_integer_value(json_object_get(rl, "next_allowed_ms")), next, sizeof(next));
    printf("\nguardrails: confidence >= %g, steps of %lld points, %g h apart, %lld a day\n",
           json_number_value(json_object_get(g, "min_confidence")),
           (long long)json_integer_value(json_object_get(g, "max_step_pct")),
           json_number_value(json_object_get(g, "cooldown_hours")),
           (long long)json_integer_value(json_object_get(g, "max_changes_per_day")));
    char resets[32] = "-";
    if (json_is_integer(json_object_get(rl, "resets_at_ms")))
        utc(json_integer_value(json_object_get(rl, "resets_at_ms")), resets, sizeof(resets));
    printf("changes today: %lld of %lld (the count resets 24 h after the last: %s); next step "
           "allowed from %s\nhistory (the newest %lld):\n",
           (long long)json_integer_value(json_object_get(rl, "changes_today")),
           (long long)json_integer_value(json_object_get(rl, "max_changes_per_day")), resets, next,
           (long long)json_integer_value(json_object_get(rl, "history_limit")));
    print_history(json_object_get(a, "history"));
}

static void print_applied(const json_t *r)
{
    if (json_is_true(json_object_get(r, "duplicate")))
        printf("already applied (the same evaluation id):");
    else
        printf("applied: %lld points to the winner, now %s:",
               (long long)json_integer_value(json_object_get(r, "step")),
               json_string_value(json_object_get(r, "state")));
    print_weights(json_object_get(r, "weights"));
    printf("\n");
}

static void print_state(const json_t *e)
{
    printf("%s is %s:", json_string_value(json_object_get(e, "key")),
           json_string_value(json_object_get(e, "state")));
    print_weights(json_object_get(e, "weights"));
    printf("\n");
}

static void print_history_reply(const json_t *h)
{
    printf("%s:\n", json_string_value(json_object_get(h, "experiment")));
    print_history(json_object_get(h, "history"));
}

/* Runs one request for experiment `key` at /v1/experiments/KEY/`what`. */
static int run(struct sy_arg *a, const char *prog, const char *key, const char *method,
               const char *what, json_t *body, void (*print)(const json_t *))
{
    char esc[520], path[700];
    sy_client_escape(key, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/v1/experiments/%s/%s", esc, what);
    return sy_client_once(prog, a, method, path, body, print);
}

static int apply(int argc, char **argv)
{
    const char *prog = "switchyard allocation apply", *key;
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"winner", "VARIANT", "the winning variant (required)", 0, NULL, NULL, 0},
        {"confidence", "C", "the evaluation's confidence, 0 to 1 (required)", 0, NULL, NULL, 0},
        {"delta", "PCT", "the winner's delta, in % (required)", 0, NULL, NULL, 0},
        {"evaluation-id", "ID", "applied once however often it is sent", 0, NULL, NULL, 0},
    };
    int status;
    if (!sy_client_parse(prog, "KEY", a, sizeof(a) / sizeof(a[0]), argc, argv, &key, &status))
        return status;
    double conf, delta;
    if (!a[3].value || !a[4].value || !a[5].value) {
        fprintf(stderr, "%s: --winner, --confidence and --delta are required\n", prog);
        return SY_EXIT_USAGE;
    }
    if (sy_args_double(prog, "confidence", a[4].value, &conf) < 0 ||
        sy_args_double(prog, "delta", a[5].value, &delta) < 0)
        return SY_EXIT_USAGE;
    json_t *body =
        json_pack("{sssfsf}", "winning_variant", a[3].value, "confidence", conf, "delta", delta);
    if (body && a[6].value)
        json_object_set_new(body, "evaluation_id", json_string(a[6].value));
    return run(a, prog, key, "POST", "allocation/apply", body, print_applied);
}

int sy_cli_allocation(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "apply") == 0)
        return apply(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "show") == 0) {
        const char *prog = "switchyard allocation show", *key;
        struct sy_arg a[] = {SY_CLIENT_ARGS};
        int status;
        if (!sy_client_parse(prog, "KEY", a, 3, argc - 1, argv + 1, &key, &status))
            return status;
        return run(a, prog, key, "GET", "allocation", NULL, print_allocation);
    }
    bool asked = argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0);
    fprintf(asked ? stdout : stderr,
            "usage: switchyard allocation show KEY\n"
            "       switchyard allocation apply KEY --winner V --confidence C --delta PCT"
            " [--evaluation-id ID]\n"
            "Each takes --server URL, --token TOKEN and --json.\n");
    return asked ? 0 : SY_EXIT_USAGE;
}

int sy_cli_promote(int argc, char **argv)
{
    const char *prog = "switchyard promote", *key;
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"variant", "V", "the variant to promote (default: the results' winner)", 0, NULL, NULL, 0},
        {"by", "NAME", "who promotes (default: the token's name)", 0, NULL, NULL, 0},
    };
    int status;
    if (!sy_client_parse(prog, "KEY", a, sizeof(a) / sizeof(a[0]), argc, argv, &key, &status))
        return status;
    json_t *body = json_object();
    if (body && a[3].value)
        json_object_set_new(body, "variant", json_string(a[3].value));
    if (body && a[4].value)
        json_object_set_new(body, "promoted_by", json_string(a[4].value));
    return run(a, prog, key, "POST", "promote", body, print_state);
}

int sy_cli_rollback(int argc, char **argv)
{
    const char *prog = "switchyard rollback", *key;
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"reason", "TEXT", "why, for the history and the audit trail", 0, NULL, NULL, 0},
        {"by", "NAME", "who rolls back (default: the token's name)", 0, NULL, NULL, 0},
    };
    int status;
    if (!sy_client_parse(prog, "KEY", a, sizeof(a) / sizeof(a[0]), argc, argv, &key, &status))
        return status;
    json_t *body = json_object();
    if (body && a[3].value)
        json_object_set_new(body, "reason", json_string(a[3].value));
    if (body && a[4].value)
        json_object_set_new(body, "rolled_back_by", json_string(a[4].value));
    return run(a, prog, key, "DELETE", "promote", body, print_state);
}

int sy_cli_history(int argc, char **argv)
{
    const char *prog = "switchyard history", *key;
    struct sy_arg a[] = {SY_CLIENT_ARGS};
    int status;
    if (!sy_client_parse(prog, "KEY", a, 3, argc, argv, &key, &status))
        return status;
    return run(a, prog, key, "GET", "history", NULL, print_history_reply);
}
