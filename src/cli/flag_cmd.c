/* flag_cmd.c - `switchyard eval` and `switchyard flags validate`: flagd documents from a
 * shell, through the same loader and evaluator the library and the server use.
 */
#include "cli/flag_cmd.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/args.h"
#include "codec/value_json.h"
#include "core/flagset.h"

#define DOC_MAX       ((size_t)64 << 20)
#define MAX_PROBLEMS  1000
#define SCRATCH_BYTES 16384

/* Reads a whole file into a new buffer (NUL-terminated). Returns 0 or prints why. */
static int read_file(const char *prog, const char *path, char **out, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -errno;
    }
    /* Room for the file as it is now (a file that grows meanwhile is read up to the cap):
     * a buffer of the cap for every file made validating thousands slow. */
    long size = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    size_t cap = size < 0 || (size_t)size > DOC_MAX ? DOC_MAX + 1 : (size_t)size + 1;
    rewind(fp);
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap, fp) : 0;
    int bad = !buf ? ENOMEM : ferror(fp) ? EIO : n > DOC_MAX ? EFBIG : 0;
    fclose(fp);
    if (bad) {
        fprintf(stderr, "%s: %s: %s\n", prog, path,
                bad == EFBIG ? "larger than 64 MiB" : strerror(bad));
        free(buf);
        return -bad;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

struct loaded {
    sy_flagset_t *set; /* NULL when refused */
    sy_problem_t *items;
    sy_problems_t problems;
    char parse_error[200]; /* non-empty: not JSON */
};

/* Parses and loads `path`. Returns 0 when loaded, 1 when refused (problems filled), or -1
 * when the file cannot be read (already reported). */
static int load_file(const char *prog, const char *path, bool strict, sy_fractional_t fr,
                     struct loaded *l)
{
    *l = (struct loaded){0};
    char *text = NULL;
    size_t len = 0;
    if (read_file(prog, path, &text, &len) < 0)
        return -1;
    l->items = calloc(MAX_PROBLEMS, sizeof(*l->items));
    if (!l->items) {
        free(text);
        fprintf(stderr, "%s: out of memory\n", prog);
        return -1;
    }
    l->problems = (sy_problems_t){.items = l->items, .cap = MAX_PROBLEMS};
    sy_arena_t arena;
    sy_arena_init(&arena, (size_t)1 << 30);
    sy_value_t doc;
    sy_err_t err = {0};
    int rc = sy_value_parse(text, len, &arena, &doc, &err);
    free(text);
    if (rc < 0) {
        sy_arena_free(&arena);
        snprintf(l->parse_error, sizeof(l->parse_error), "%s", err.msg);
        return 1;
    }
    sy_flagset_opts_t opts = {.strict = strict, .fractional = fr};
    rc = sy_flagset_load(&l->set, &arena, &doc, &opts, &l->problems);
    if (rc == -ENOMEM) {
        fprintf(stderr, "%s: out of memory loading %s\n", prog, path);
        free(l->items);
        return -1;
    }
    return rc < 0 ? 1 : 0;
}

static void unload(struct loaded *l)
{
    sy_flagset_free(l->set);
    free(l->items);
}

static void print_problems(FILE *to, const char *path, const struct loaded *l)
{
    if (l->parse_error[0])
        fprintf(to, "%s: error: %s\n", path, l->parse_error);
    for (size_t i = 0; i < l->problems.n; i++) {
        const sy_problem_t *p = &l->items[i];
        fprintf(to, "%s: %s: %s: %s\n", path, p->error ? "error" : "warning", p->path, p->msg);
    }
    if (l->problems.total > l->problems.n)
        fprintf(to, "%s: ... and %zu more\n", path, l->problems.total - l->problems.n);
}

static json_t *problems_json(const struct loaded *l)
{
    json_t *a = json_array();
    if (l->parse_error[0])
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "severity", "error", "flag", "",
                                           "path", "$", "message", l->parse_error));
    for (size_t i = 0; i < l->problems.n; i++) {
        const sy_problem_t *p = &l->items[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "severity",
                                           p->error ? "error" : "warning", "flag", p->flag, "path",
                                           p->path, "message", p->msg));
    }
    return a;
}

static int parse_fractional(const char *prog, const char *s, sy_fractional_t *out)
{
    if (!s || strcmp(s, "v2") == 0)
        *out = SY_FRACTIONAL_V2;
    else if (strcmp(s, "v1") == 0)
        *out = SY_FRACTIONAL_V1;
    else {
        fprintf(stderr, "%s: --fractional: must be v1 or v2, not '%s'\n", prog, s);
        return -EINVAL;
    }
    return 0;
}

/* ---- switchyard flags validate ------------------------------------------------------ */

/* Validates one file and prints its verdict; returns 0 when it loads, 1 when refused or
 * unreadable. */
static int validate_one(const char *prog, const char *file, bool strict, sy_fractional_t fr,
                        bool as_json)
{
    struct loaded l;
    int rc = load_file(prog, file, strict, fr, &l);
    if (rc < 0)
        return 1;
    size_t nflags = l.set ? sy_flagset_count(l.set) : 0;
    size_t errors = l.problems.errors + (l.parse_error[0] ? 1 : 0);
    size_t warnings = l.problems.total - l.problems.errors;
    int status = rc == 0 ? 0 : 1;
    if (as_json) {
        if (sy_cli_print_json(json_pack("{s:s, s:b, s:I, s:I, s:I, s:o}", "file", file, "valid",
                                        rc == 0, "flags", (json_int_t)nflags, "errors",
                                        (json_int_t)errors, "warnings", (json_int_t)warnings,
                                        "problems", problems_json(&l))))
            status = 1;
    } else {
        print_problems(rc == 0 ? stdout : stderr, file, &l);
        if (rc == 0)
            printf("%s: valid: %zu flag%s, %zu warning%s\n", file, nflags, nflags == 1 ? "" : "s",
                   warnings, warnings == 1 ? "" : "s");
        else
            fprintf(stderr, "%s: invalid: %zu error%s, %zu warning%s\n", file, errors,
                    errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
    }
    unload(&l);
    return status;
}

static int validate(int argc, char **argv)
{
    const char *prog = "switchyard flags validate";
    struct sy_arg args[] = {
        {"strict", NULL, "refuse whatever flagd's JSON schema refuses", 0, NULL, NULL, 0},
        {"fractional", "v1|v2", "fractional bucketing rule (default v2)", 0, NULL, NULL, 0},
        {"json", NULL, "print {\"file\", \"valid\", \"flags\", \"problems\"} as JSON", 0, NULL,
         NULL, 0},
    };
    size_t nargs = sizeof(args) / sizeof(args[0]);
    bool help = false;
    int nfiles = 0; /* the files come first: argv[0..nfiles) */
    while (nfiles < argc && argv[nfiles][0] != '-')
        nfiles++;
    if (sy_args_parse(argc - nfiles, argv + nfiles, args, nargs, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help) {
        printf("usage: %s FILE... [options]\n\n"
               "Loads each flagd flag-set document as switchyard would and lists every problem\n"
               "by flag and JSON path: errors refuse the document; warnings (among them members\n"
               "a flag does not have, with the member meant: \"did you mean 'defaultVariant'?\")\n"
               "do not. Lenient by default, loading what flagd loads; --strict refuses what\n"
               "flagd's JSON schema refuses. Exit status 0 when every file loads, 1 when one is\n"
               "refused.\n\n",
               prog);
        sy_args_usage(args, nargs, stdout);
        return 0;
    }
    if (nfiles == 0) {
        fprintf(stderr, "usage: %s FILE... [--strict] [--fractional v1|v2] [--json]\n", prog);
        return SY_EXIT_USAGE;
    }
    sy_fractional_t fr;
    if (parse_fractional(prog, args[1].value, &fr) < 0)
        return SY_EXIT_USAGE;
    int status = 0;
    for (int i = 0; i < nfiles; i++)
        if (validate_one(prog, argv[i], args[0].value != NULL, fr, args[2].value != NULL))
            status = 1;
    return status;
}

int sy_cli_flags(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fprintf(argc < 1 ? stderr : stdout,
                "usage: switchyard flags VERB [options]\n\n"
                "verbs:\n"
                "  validate FILE...   load flagd documents and list every problem\n");
        return argc < 1 ? SY_EXIT_USAGE : 0;
    }
    if (strcmp(argv[0], "validate") == 0)
        return validate(argc - 1, argv + 1);
    fprintf(stderr, "switchyard flags: unknown verb '%s' (see switchyard flags --help)\n", argv[0]);
    return SY_EXIT_USAGE;
}

/* ---- switchyard eval ---------------------------------------------------------------- */

static int parse_type(const char *s, sy_flag_type_t *out)
{
    static const char *const names[] = {"any", "boolean", "string", "number", "object"};
    for (int i = 0; i < 5; i++)
        if (s && strcmp(s, names[i]) == 0) {
            *out = (sy_flag_type_t)i;
            return 0;
        }
    if (!s) {
        *out = SY_TYPE_ANY;
        return 0;
    }
    fprintf(stderr, "switchyard eval: --type: must be boolean, string, number, object or any\n");
    return -EINVAL;
}

static void print_value(const sy_value_t *v)
{
    json_t *j = sy_value_to_json(v);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) : NULL;
    fputs(s ? s : "?", stdout);
    free(s);
    json_decref(j);
}

int sy_cli_eval(int argc, char **argv)
{
    const char *prog = "switchyard eval";
    struct sy_arg args[] = {
        {"flags", "FILE", "flagd flag-set document (required)", 0, NULL, NULL, 0},
        {"flag", "KEY", "flag to evaluate (required)", 0, NULL, NULL, 0},
        {"context", "JSON", "evaluation context object, e.g. '{\"targetingKey\":\"u1\"}'", 0, NULL,
         NULL, 0},
        {"type", "TYPE", "boolean, string, number, object or any (default any)", 0, NULL, NULL, 0},
        {"default", "JSON", "the caller's default value, shown when the flag gives none", 0, NULL,
         NULL, 0},
        {"now", "SECONDS", "Unix time for $flagd.timestamp (default: the clock)", 0, NULL, NULL, 0},
        {"strict", NULL, "refuse documents only flagd's schema rejects", 0, NULL, NULL, 0},
        {"fractional", "v1|v2", "fractional bucketing rule (default v2)", 0, NULL, NULL, 0},
        {"json", NULL, "print the result as JSON", 0, NULL, NULL, 0},
    };
    size_t nargs = sizeof(args) / sizeof(args[0]);
    bool help = false;
    if (sy_args_parse(argc, argv, args, nargs, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help) {
        printf("usage: %s --flags FILE --flag KEY [options]\n\n"
               "Evaluates one flag of a flagd document for a context, exactly as flagd would.\n"
               "Exit status 0 when the flag resolves, 1 when the result is an ERROR or the\n"
               "document is refused, 2 for bad options.\n\n",
               prog);
        sy_args_usage(args, nargs, stdout);
        return 0;
    }
    if (!args[0].value || !args[1].value) {
        fprintf(stderr, "%s: --%s is required\n", prog, !args[0].value ? "flags" : "flag");
        return SY_EXIT_USAGE;
    }
    sy_flag_type_t type;
    sy_fractional_t fr;
    int64_t now = (int64_t)time(NULL);
    if (parse_type(args[3].value, &type) < 0 || parse_fractional(prog, args[7].value, &fr) < 0 ||
        (args[5].value && sy_args_int64(prog, "now", args[5].value, &now) < 0))
        return SY_EXIT_USAGE;

    sy_arena_t ctx_arena;
    sy_arena_init(&ctx_arena, (size_t)64 << 20);
    sy_value_t ctx = {.type = SY_OBJ}, dflt = SY_V_NULL;
    sy_err_t err = {0};
    int status = SY_EXIT_USAGE;
    if (args[2].value) {
        if (sy_value_parse(args[2].value, strlen(args[2].value), &ctx_arena, &ctx, &err) < 0) {
            fprintf(stderr, "%s: --context: %s\n", prog, err.msg);
            goto out_ctx;
        }
        if (ctx.type != SY_OBJ) {
            fprintf(stderr, "%s: --context: must be a JSON object\n", prog);
            goto out_ctx;
        }
    }
    if (args[4].value &&
        sy_value_parse(args[4].value, strlen(args[4].value), &ctx_arena, &dflt, &err) < 0) {
        fprintf(stderr, "%s: --default: %s\n", prog, err.msg);
        goto out_ctx;
    }

    struct loaded l;
    int rc = load_file(prog, args[0].value, args[6].value != NULL, fr, &l);
    status = 1;
    if (rc < 0)
        goto out_ctx;
    if (rc > 0) {
        print_problems(stderr, args[0].value, &l);
        goto out_load;
    }
    char scratch_buf[SCRATCH_BYTES];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, scratch_buf, sizeof(scratch_buf));
    sy_flag_result_t r;
    const char *key = args[1].value;
    sy_flagset_eval(l.set, key, strlen(key), type, &ctx, now, &scratch, &r);
    status = r.reason == SY_REASON_ERROR ? 1 : 0;
    const sy_value_t *value = r.has_value ? &r.value : &dflt;
    if (args[8].value) {
        json_t *o = json_pack("{s:s, s:o, s:s}", "key", key, "value", sy_value_to_json(value),
                              "reason", sy_reason_name(r.reason));
        if (r.variant)
            json_object_set_new(o, "variant", json_stringn(r.variant, r.variant_len));
        if (r.error != SY_FLAG_OK) {
            json_object_set_new(o, "errorCode", json_string(sy_flag_error_name(r.error)));
            json_object_set_new(o, "errorMessage", json_string(r.message));
        }
        json_object_set_new(o, "metadata", sy_value_to_json(r.metadata));
        if (sy_cli_print_json(o))
            status = 1;
    } else {
        printf("%s = ", key);
        print_value(value);
        printf(" (%s", sy_reason_name(r.reason));
        if (r.variant)
            printf(", variant %.*s", (int)r.variant_len, r.variant);
        if (r.error != SY_FLAG_OK)
            printf(", %s: %s", sy_flag_error_name(r.error), r.message);
        printf(")\n");
    }
out_load:
    unload(&l);
out_ctx:
    sy_arena_free(&ctx_arena);
    return status;
}
