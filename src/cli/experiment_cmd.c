/* experiment_cmd.c - `switchyard experiment ...` and `switchyard events send` against a
 * running server (client.h). See docs/cli.md.
 *
 * Exit status: 0 done, 1 the server refused or could not be reached, 2 bad options.
 */
#include "cli/experiment_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/client.h"

/* ---- printers ----------------------------------------------------------------------------- */

/* The live split (the allocation's weights now, what OFREP serves), in the order of the
 * definition's variants; then the defined weights when a step, promotion or rollback has
 * moved it away from them. */
static void print_one(const json_t *e)
{
    printf("%-24s %-10s flag %s, metric %s:", json_string_value(json_object_get(e, "key")),
           json_string_value(json_object_get(e, "state")),
           json_string_value(json_object_get(e, "flag")),
           json_string_value(json_object_get(e, "metric")));
    const json_t *live = json_object_get(e, "weights"), *vs = json_object_get(e, "variants");
    size_t i;
    const json_t *v;
    bool moved = false;
    json_array_foreach(vs, i, v)
    {
        const char *key = json_string_value(json_object_get(v, "key"));
        const json_t *w = json_object_get(live, key ? key : "");
        json_int_t defined = json_integer_value(json_object_get(v, "weight"));
        json_int_t now = json_is_integer(w) ? json_integer_value(w) : defined;
        moved |= now != defined;
        printf(" %s=%lld%s", key, (long long)now,
               json_is_true(json_object_get(v, "control")) ? " (control)" : "");
    }
    if (moved) {
        printf("  [defined");
        json_array_foreach(vs, i, v)
            printf(" %s=%lld", json_string_value(json_object_get(v, "key")),
                   (long long)json_integer_value(json_object_get(v, "weight")));
        printf("]");
    }
    printf("\n");
}

static void print_list(const json_t *reply)
{
    sy_client_print_each(reply, "experiments", print_one, "no experiments");
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void print_results(const json_t *r)
{
    bool conv = strcmp(json_string_value(json_object_get(r, "metric")), "conversion") == 0;
    printf("experiment %s (%s, %s), %.1f h\n", json_string_value(json_object_get(r, "experiment")),
           json_string_value(json_object_get(r, "state")), conv ? "conversion" : "mean",
           num(r, "runtime_hours"));
    printf("%-16s %10s %12s %10s %16s %10s %10s\n", "variant", "units", conv ? "rate" : "mean",
           "lift", "95% interval", "p", "confidence");
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(r, "variants"), i, v)
    {
        const json_t *vs = json_object_get(v, "vs_control");
        const json_t *level = json_object_get(v, conv ? "rate" : "mean");
        printf("%-16s %10lld ", json_string_value(json_object_get(v, "key")),
               (long long)json_integer_value(json_object_get(v, "units")));
        if (json_is_number(level))
            printf("%12.6g ", json_number_value(level));
        else
            printf("%12s ", "-");
        if (!vs) {
            printf("%10s\n", "(control)");
        } else if (!json_is_true(json_object_get(vs, "compared"))) {
            printf("%10s\n", "not yet comparable");
        } else {
            const json_t *ci = json_object_get(vs, "lift_ci");
            if (json_is_number(json_object_get(vs, "lift")))
                printf("%+9.2f%% [%+6.1f%%,%+6.1f%%] ", 100 * num(vs, "lift"),
                       100 * json_number_value(json_array_get(ci, 0)),
                       100 * json_number_value(json_array_get(ci, 1)));
            else
                printf("%10s %16s ", "-", "-");
            printf("%10.3g %10.4f\n", num(vs, "p_adjusted"), num(vs, "confidence"));
        }
    }
    const json_t *srm = json_object_get(r, "srm");
    bool seq = json_is_number(json_object_get(srm, "sequential_p_value"));
    if (json_is_object(srm))
        printf("sample ratio: %s (%s p = %.3g; chi-square p = %.3g)\n",
               json_is_true(json_object_get(srm, "mismatch")) ? "MISMATCH" : "ok",
               seq ? "anytime-valid" : "chi-square",
               num(srm, seq ? "sequential_p_value" : "p_value"), num(srm, "p_value"));
    const json_t *winner = json_object_get(r, "winner");
    printf("decision: %s%s%s\n", json_string_value(json_object_get(r, "decision")),
           json_is_string(winner) ? ", winner " : "",
           json_is_string(winner) ? json_string_value(winner) : "");
    json_array_foreach(json_object_get(r, "reasons"), i, v)
        printf("  - %s\n", json_string_value(v));
}

static void print_promotion(const json_t *p)
{
    printf("%s: %s", json_string_value(json_object_get(p, "experiment")),
           json_is_true(json_object_get(p, "eligible")) ? "eligible" : "not eligible");
    if (json_is_string(json_object_get(p, "winner")))
        printf(" (best: %s)", json_string_value(json_object_get(p, "winner")));
    printf("\n");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(p, "checks"), k, v)
        printf("  %-16s %s\n", k, json_is_true(v) ? "pass" : "FAIL");
    size_t i;
    json_array_foreach(json_object_get(p, "warnings"), i, v)
        printf("  warning: %s\n", json_string_value(v));
}

/* ---- experiment create -------------------------------------------------------------------- */

/* "control=50,green=50": the first is the control unless --control names another. */
static int variants_of(const char *prog, const char *spec, const char *control, json_t *out)
{
    char *copy = strdup(spec), *save = NULL;
    int rc = copy ? 0 : -ENOMEM;
    size_t n = 0;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && rc == 0;
         tok = strtok_r(NULL, ",", &save), n++) {
        char *eq = strchr(tok, '=');
        char *end = NULL;
        long long w = eq ? strtoll(eq + 1, &end, 10) : -1;
        if (!eq || eq == tok || !end || *end || w < 0) {
            fprintf(stderr, "%s: --variants: \"%s\" is not NAME=WEIGHT\n", prog, tok);
            rc = -EINVAL;
            break;
        }
        *eq = '\0';
        bool is_control = control ? strcmp(control, tok) == 0 : n == 0;
        json_array_append_new(
            out, json_pack("{sssIsb}", "key", tok, "weight", (json_int_t)w, "control", is_control));
    }
    free(copy);
    return rc;
}

static int create(sy_client_t *c, struct sy_arg *a, const char *prog, const char *file)
{
    enum { O_KEY = SY_CA_FIRST_OWN, O_FLAG, O_VARIANTS, O_CONTROL, O_METRIC };
    json_t *def = NULL;
    if (file) {
        json_error_t je;
        def = strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &je) : json_load_file(file, 0, &je);
        if (!def) {
            fprintf(stderr, "%s: %s: %s (line %d)\n", prog, file, je.text, je.line);
            return 1;
        }
    } else {
        if (!a[O_KEY].value || !a[O_VARIANTS].value) {
            fprintf(stderr, "%s: give a definition FILE, or --key and --variants\n", prog);
            return SY_EXIT_USAGE;
        }
        json_t *vs = json_array();
        def = json_pack("{ssso}", "key", a[O_KEY].value, "variants", vs);
        if (!def || variants_of(prog, a[O_VARIANTS].value, a[O_CONTROL].value, vs) < 0) {
            json_decref(def);
            return SY_EXIT_USAGE;
        }
        if (a[O_FLAG].value)
            json_object_set_new(def, "flag", json_string(a[O_FLAG].value));
        if (a[O_METRIC].value)
            json_object_set_new(def, "metric", json_string(a[O_METRIC].value));
    }
    char *body = json_dumps(def, JSON_COMPACT);
    json_decref(def);
    int rc = body ? sy_client_run(c, a[SY_CA_JSON].value != NULL, "POST", "/v1/experiments", body,
                                  print_one)
                  : 1;
    free(body);
    return rc;
}

/* ---- experiment set ----------------------------------------------------------------------- */

/* `set`'s options after the client's: each sets one member of the merge patch. */
static const struct {
    const char *name, *object, *member; /* object NULL: a member of the definition itself */
    const char *meta, *help;
} set_opts[] = {
    {"min-sample-per-variant", "safety", "min_sample_per_variant", "N", "units each variant needs"},
    {"min-confidence", "safety", "min_confidence", "P", "confidence a winner needs"},
    {"min-improvement-pct", "safety", "min_improvement_pct", "PCT", "relative lift it needs"},
    {"min-runtime-hours", "safety", "min_runtime_hours", "HOURS", "hours before a promotion"},
    {"max-error-rate", "safety", "max_error_rate", "RATE", "the winner's error rate at most"},
    {"require-manual-approval", "safety", "require_manual_approval", "true|false",
     "a winner waits for a person"},
    {"max-latency-increase-pct", "safety", "max_latency_increase_pct", "PCT",
     "the latency guardrail"},
    {"planned-lift-pct", "safety", "planned_lift_pct", "PCT", "the lift power is planned for"},
    {"max-step-pct", "allocation", "max_step_pct", "PCT", "points one step moves at most"},
    {"cooldown-hours", "allocation", "cooldown_hours", "HOURS", "between two steps"},
    {"max-changes-per-day", "allocation", "max_changes_per_day", "N", "steps in a day at most"},
    {"step-min-confidence", "allocation", "min_confidence", "P", "confidence a step needs"},
    {"description", NULL, "description", "TEXT", "what the experiment is for"},
};
#define SET_OPTS (sizeof(set_opts) / sizeof(set_opts[0]))

/* PATCH /v1/experiments/KEY with --patch JSON (a merge patch) and the options over it. A
 * value is read as JSON (0.99, true, null: back to the server-wide default) or, if it is
 * not JSON, taken as a string. */
static int set(sy_client_t *c, const struct sy_arg *a, const char *prog, const char *path)
{
    json_t *patch = json_object();
    const char *raw = a[SY_CA_FIRST_OWN + SET_OPTS].value;
    if (raw) {
        json_error_t je;
        json_decref(patch);
        patch = json_loads(raw, 0, &je);
        if (!json_is_object(patch)) {
            fprintf(stderr, "%s: --patch: a JSON object (a merge patch), not %s\n", prog,
                    patch ? "another value" : je.text);
            json_decref(patch);
            return SY_EXIT_USAGE;
        }
    }
    size_t given = 0;
    for (size_t i = 0; patch && i < SET_OPTS; i++) {
        const char *text = a[SY_CA_FIRST_OWN + i].value;
        if (!text)
            continue;
        given++;
        json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
        if (!v || strcmp(set_opts[i].member, "description") == 0) {
            json_decref(v);
            v = json_string(text);
        }
        json_t *into = patch;
        if (set_opts[i].object) {
            into = json_object_get(patch, set_opts[i].object);
            if (!json_is_object(into)) {
                into = json_object();
                json_object_set_new(patch, set_opts[i].object, into);
            }
        }
        json_object_set_new(into, set_opts[i].member, v);
    }
    if (!patch || (!given && !raw)) {
        fprintf(stderr,
                "%s: nothing to change: give an option (--min-confidence 0.99) or --patch\n", prog);
        json_decref(patch);
        return SY_EXIT_USAGE;
    }
    char *body = json_dumps(patch, JSON_COMPACT);
    json_decref(patch);
    int rc =
        body ? sy_client_run(c, a[SY_CA_JSON].value != NULL, "PATCH", path, body, print_one) : 1;
    free(body);
    return rc;
}

static void experiment_usage(FILE *to)
{
    fprintf(to,
            "usage: switchyard experiment VERB [options]\n\n"
            "  create FILE|-            create a draft from a JSON definition (docs/api.md)\n"
            "  create --key K --variants control=50,b=50 [--control NAME] [--flag F]\n"
            "         [--metric conversion|mean]\n"
            "  list                     every experiment of the token's workspace, its live\n"
            "                           split (and the defined weights once they moved)\n"
            "  show KEY                 one experiment, as JSON\n"
            "  start|stop|terminate KEY move it along its life cycle\n"
            "  results KEY              per-variant numbers, tests and the decision\n"
            "  promotion KEY            the five safety checks of promotion\n"
            "  set KEY [--min-confidence P ...] [--patch JSON]\n"
            "                           change a draft's or running experiment's safety and\n"
            "                           allocation settings (a JSON merge patch; a value of\n"
            "                           null goes back to the server-wide default)\n\n"
            "Each verb takes --server URL, --token TOKEN (or SWITCHYARD_URL, SWITCHYARD_TOKEN)\n"
            "and --json.\n");
}

int sy_cli_experiment(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        experiment_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? SY_EXIT_USAGE : 0;
    }
    const char *verb = argv[0];
    static const char *const verbs[] = {"create",    "list",    "show",      "start", "stop",
                                        "terminate", "results", "promotion", "set"};
    size_t v = 0;
    while (v < 9 && strcmp(verbs[v], verb) != 0)
        v++;
    if (v == 9) {
        fprintf(stderr, "switchyard experiment: unknown verb '%s'\n", verb);
        experiment_usage(stderr);
        return SY_EXIT_USAGE;
    }
    char prog[64];
    snprintf(prog, sizeof(prog), "switchyard experiment %s", verb);
    argc--, argv++;
    const char *key = NULL;
    if (argc >= 1 && argv[0][0] != '-') { /* KEY, or create's FILE */
        key = argv[0];
        argc--, argv++;
    } else if (argc >= 1 && strcmp(argv[0], "-") == 0) {
        key = "-";
        argc--, argv++;
    }
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"key", "KEY", "create: the experiment's key", 0, NULL, NULL, 0},
        {"flag", "FLAG", "create: the flag it drives (default: the key)", 0, NULL, NULL, 0},
        {"variants", "N=W,...", "create: variants and weights, the first the control", 0, NULL,
         NULL, 0},
        {"control", "NAME", "create: which variant is the control", 0, NULL, NULL, 0},
        {"metric", "conversion|mean", "create: the primary metric", 0, NULL, NULL, 0},
    };
    struct sy_arg sa[SY_CA_FIRST_OWN + SET_OPTS + 1];
    memcpy(sa, a, SY_CA_FIRST_OWN * sizeof(*a));
    for (size_t i = 0; i < SET_OPTS; i++)
        sa[SY_CA_FIRST_OWN + i] =
            (struct sy_arg){set_opts[i].name, set_opts[i].meta, set_opts[i].help, 0, NULL, NULL, 0};
    sa[SY_CA_FIRST_OWN + SET_OPTS] =
        (struct sy_arg){"patch",
                        "JSON",
                        "a merge patch of the definition (health, ...); the "
                        "options go over it",
                        0,
                        NULL,
                        NULL,
                        0};
    size_t n = v == 0   ? sizeof(a) / sizeof(a[0])
               : v == 8 ? SY_CA_FIRST_OWN + SET_OPTS + 1
                        : SY_CA_FIRST_OWN;
    struct sy_arg *args = v == 8 ? sa : a;
    bool help = false;
    if (sy_args_parse(argc, argv, args, n, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help) {
        experiment_usage(stdout);
        printf("\n");
        sy_args_usage(args, n, stdout);
        return 0;
    }
    if (v >= 2 && !key) {
        fprintf(stderr, "%s: which experiment? (switchyard experiment %s KEY)\n", prog, verb);
        return SY_EXIT_USAGE;
    }
    sy_client_t *c = sy_client_new(prog, args[SY_CA_SERVER].value, args[SY_CA_TOKEN].value);
    if (!c)
        return SY_EXIT_USAGE;
    bool json = args[SY_CA_JSON].value != NULL;
    char path[700], esc[520];
    sy_client_escape(key ? key : "", esc, sizeof(esc));
    int rc;
    switch (v) {
    case 0:
        rc = create(c, a, prog, key);
        break;
    case 1:
        rc = sy_client_run(c, json, "GET", "/v1/experiments", NULL, print_list);
        break;
    case 2:
        snprintf(path, sizeof(path), "/v1/experiments/%s", esc);
        rc = sy_client_run(c, json, "GET", path, NULL, NULL);
        break;
    case 8:
        snprintf(path, sizeof(path), "/v1/experiments/%s", esc);
        rc = set(c, sa, prog, path);
        break;
    case 6:
    case 7:
        snprintf(path, sizeof(path), "/v1/experiments/%s/%s", esc, verb);
        rc = sy_client_run(c, json, "GET", path, NULL, v == 6 ? print_results : print_promotion);
        break;
    default:
        snprintf(path, sizeof(path), "/v1/experiments/%s/%s", esc, verb);
        rc = sy_client_run(c, json, "POST", path, NULL, print_one);
        break;
    }
    sy_client_free(c);
    return rc;
}

int sy_cli_events(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "send") != 0) {
        bool asked = argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0);
        fprintf(asked ? stdout : stderr,
                "usage: switchyard events send FILE|- [--batch N] [--retries N] [--server URL]"
                " [--token TOKEN]\n");
        return asked ? 0 : SY_EXIT_USAGE;
    }
    return sy_client_send_lines(
        "switchyard events send", "/v1/events",
        "Sends events, one JSON object per line ({\"type\":\"exposure\",\"unit\":...,\n"
        "\"experiment\":...,\"variant\":...,\"id\":...}), in batches. Each batch is\n"
        "acknowledged once committed, or refused whole (the line is named). A batch the\n"
        "server could not take is sent again: give every event an id so that a retry\n"
        "is never counted twice.\n",
        5, argc - 1, argv + 1);
}
