/* args.c - option parsing for the CLI verbs; see args.h. */
#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int bad(const char *prog, const char *opt, const char *why, const char *s)
{
    fprintf(stderr, "%s: --%s: %s, got '%s'\n", prog, opt, why, s);
    return -EINVAL;
}

static struct sy_arg *find(struct sy_arg *args, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(args[i].name) == len && strncmp(args[i].name, name, len) == 0)
            return &args[i];
    return NULL;
}

int sy_args_parse(int argc, char **argv, struct sy_arg *args, size_t n, const char *prog,
                  bool *help)
{
    *help = false;
    for (int i = 0; i < argc; i++) {
        const char *tok = argv[i];
        if (strcmp(tok, "--help") == 0 || strcmp(tok, "-h") == 0) {
            *help = true;
            return 0;
        }
        if (strncmp(tok, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, tok);
            return -EINVAL;
        }
        const char *name = tok + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        struct sy_arg *a = find(args, n, name, len);
        if (!a) {
            fprintf(stderr, "%s: unknown option --%.*s (see --help)\n", prog, (int)len, name);
            return -EINVAL;
        }
        const char *value = "";
        if (a->metavar && eq) {
            value = eq + 1;
        } else if (a->metavar) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: --%s needs a value %s\n", prog, a->name, a->metavar);
                return -EINVAL;
            }
            value = argv[++i];
        } else if (eq) {
            fprintf(stderr, "%s: --%s takes no value\n", prog, a->name);
            return -EINVAL;
        }
        if (a->max_values > 1) {
            if (a->n_values == a->max_values) {
                fprintf(stderr, "%s: --%s given more than %zu times\n", prog, a->name,
                        a->max_values);
                return -EINVAL;
            }
            a->values[a->n_values++] = value;
        }
        a->value = value;
    }
    return 0;
}

void sy_args_usage(const struct sy_arg *args, size_t n, FILE *to)
{
    for (size_t i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", args[i].name, args[i].metavar ? " " : "",
                 args[i].metavar ? args[i].metavar : "");
        fprintf(to, "  %-26s %s\n", left, args[i].help);
    }
}

/* Splits s at the first `sep` into a NUL-terminated head in buf and returns the tail, or
 * NULL when there is no separator or the head does not fit. */
static const char *split(const char *s, char sep, char *buf, size_t cap)
{
    const char *at = strchr(s, sep);
    if (!at || (size_t)(at - s) >= cap)
        return NULL;
    memcpy(buf, s, (size_t)(at - s));
    buf[at - s] = '\0';
    return at + 1;
}

static bool whole(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    *out = v;
    return end != s && !*end && errno != ERANGE;
}

static bool real(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return end != s && !*end && errno != ERANGE && isfinite(*out);
}

int sy_args_double(const char *prog, const char *opt, const char *s, double *out)
{
    double v;
    if (!real(s, &v))
        return bad(prog, opt, "expected a number", s);
    *out = v;
    return 0;
}

int sy_args_int64(const char *prog, const char *opt, const char *s, int64_t *out)
{
    int64_t v;
    if (!whole(s, &v))
        return bad(prog, opt, "expected a whole number", s);
    *out = v;
    return 0;
}

int sy_args_ranged(const char *prog, const char *opt, const char *s, int64_t lo, int64_t hi,
                   int64_t *out)
{
    if (s && sy_args_int64(prog, opt, s, out) < 0)
        return -EINVAL;
    if (*out < lo || *out > hi) {
        fprintf(stderr, "%s: --%s: between %lld and %lld\n", prog, opt, (long long)lo,
                (long long)hi);
        return -EINVAL;
    }
    return 0;
}

int sy_args_binom(const char *prog, const char *opt, const char *s, sy_binom_t *out)
{
    char head[32];
    const char *tail = split(s, '/', head, sizeof(head));
    if (!tail || !whole(head, &out->successes) || !whole(tail, &out->trials))
        return bad(prog, opt, "expected SUCCESSES/TRIALS such as 120/1000", s);
    return 0;
}

int sy_args_moments(const char *prog, const char *opt, const char *s, sy_moments_t *out)
{
    char mean[48], sd[48];
    *out = (sy_moments_t){0};
    const char *rest = split(s, ':', mean, sizeof(mean));
    const char *n = rest ? split(rest, ':', sd, sizeof(sd)) : NULL;
    if (!n || !real(mean, &out->mean) || !real(sd, &out->sd) || !whole(n, &out->n))
        return bad(prog, opt, "expected MEAN:SD:N such as 10.2:2.1:500", s);
    return 0;
}

int sy_args_doubles(const char *prog, const char *opt, const char *s, double *out, size_t cap,
                    size_t *n)
{
    char item[48];
    const char *p = s;
    *n = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n == cap)
            return bad(prog, opt, "too many values", s);
        if (len >= sizeof(item))
            return bad(prog, opt, "expected comma-separated numbers", s);
        memcpy(item, p, len);
        item[len] = '\0';
        if (!real(item, &out[*n]))
            return bad(prog, opt, "expected comma-separated numbers such as 50,50", s);
        (*n)++;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int sy_cli_print_json(json_t *o)
{
    if (!o) {
        fprintf(stderr, "switchyard: out of memory\n");
        return 1;
    }
    int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(o);
    if (rc < 0 || fputc('\n', stdout) == EOF) {
        fprintf(stderr, "switchyard: cannot write the result\n");
        return 1;
    }
    return 0;
}

int64_t sy_args_fd_budget(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024 - 128;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    int64_t n = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 24) ? (int64_t)1 << 24
                                                                         : (int64_t)rl.rlim_cur;
    return n - 128 >= 16 ? n - 128 : 16;
}
