/* testbed.c - runs the flagd test-bed's evaluator scenarios (Gherkin) against core/flag.
 *
 *   sy-testbed [--flags FILE] [FEATURE|DIR ...]
 *
 * With no path it reads every *.feature of ../shared/conformance/flagd/testbed/evaluator,
 * with the flags of testkit-flags.json beside them. A small reader for the subset of
 * Gherkin those files use: Feature, Background, Scenario, Scenario Outline with Examples
 * (each row one case), tags (@fractional-v1 loads the flags with the legacy bucketing
 * rule), steps with quoted parameters, and data tables. A step the runner does not know
 * fails its scenario by name: nothing is skipped in silence. Prints each failure, then
 * "N passed, N failed"; exit 1 on any failure.
 */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec/value_json.h"
#include "core/flagset.h"

#define MAX_LINE  2048
#define MAX_STEPS 32
#define MAX_ROWS  64
#define MAX_CELLS 8

struct row {
    int n;
    char *cells[MAX_CELLS];
};

struct table {
    int n; /* rows, the header included */
    struct row rows[MAX_ROWS];
};

struct step {
    char *text;         /* "a String-flag with key ..." without the keyword */
    struct table table; /* data table, n == 0 when none */
};

struct steps {
    int n;
    struct step s[MAX_STEPS];
};

struct examples {
    char tags[256];
    struct table table;
};

struct scenario {
    char name[256];
    char tags[256];
    int line;
    struct steps steps;
    int nex;
    struct examples ex[8];
};

/* The flag sets, loaded once per bucketing rule. */
static sy_flagset_t *sets[2];

/* ---- reading Gherkin ---------------------------------------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "| a | b\|c |" -> cells, with Gherkin's escapes \| \\ \n undone. */
static void parse_row(const char *line, struct row *r)
{
    r->n = 0;
    const char *p = strchr(line, '|');
    while (p && *p == '|' && r->n < MAX_CELLS) {
        p++;
        char cell[MAX_LINE];
        size_t k = 0;
        while (*p && *p != '|' && k < sizeof(cell) - 1) {
            if (*p == '\\' && (p[1] == '|' || p[1] == '\\')) {
                cell[k++] = p[1];
                p += 2;
            } else if (*p == '\\' && p[1] == 'n') {
                cell[k++] = '\n';
                p += 2;
            } else {
                cell[k++] = *p++;
            }
        }
        cell[k] = '\0';
        if (!*p)
            break; /* the text after the last | is not a cell */
        r->cells[r->n++] = strdup(trim(cell));
    }
}

static void free_table(struct table *t)
{
    for (int i = 0; i < t->n; i++)
        for (int j = 0; j < t->rows[i].n; j++)
            free(t->rows[i].cells[j]);
    t->n = 0;
}

/* ---- the steps ---------------------------------------------------------------------- */

struct world {
    const char *type; /* Boolean, String, Integer, Float, Object */
    char key[1024];
    char fallback[1024];
    json_t *ctx;
    sy_flag_result_t r;
    bool evaluated;
    bool v1;
    char why[4096];
};

/* The quoted parameters of a step ("..." with \" inside), unescaped, in order. */
static int params(const char *text, char out[][1024], int max)
{
    int n = 0;
    for (const char *p = strchr(text, '"'); p && n < max; p = strchr(p + 1, '"')) {
        size_t k = 0;
        const char *q = p + 1;
        while (*q && *q != '"' && k < 1023) {
            if (*q == '\\' && q[1] == '"')
                q++;
            out[n][k++] = *q++;
        }
        out[n][k] = '\0';
        n++;
        p = q;
        if (!*q)
            break;
    }
    return n;
}

static json_t *typed(const char *type, const char *v)
{
    if (strcmp(type, "Boolean") == 0)
        return json_boolean(strcmp(v, "true") == 0);
    if (strcmp(type, "Integer") == 0)
        return json_integer(strtoll(v, NULL, 10));
    if (strcmp(type, "Float") == 0)
        return json_real(strtod(v, NULL));
    if (strcmp(type, "Object") == 0)
        return json_loads(v, JSON_DECODE_ANY, NULL);
    return json_string(v);
}

static sy_flag_type_t flag_type(const char *t)
{
    if (strcmp(t, "Boolean") == 0)
        return SY_TYPE_BOOLEAN;
    if (strcmp(t, "String") == 0)
        return SY_TYPE_STRING;
    if (strcmp(t, "Object") == 0)
        return SY_TYPE_OBJECT;
    return SY_TYPE_NUMBER;
}

static void evaluate(struct world *w)
{
    sy_arena_t arena;
    sy_arena_init(&arena, 1 << 20);
    sy_value_t ctx;
    if (sy_value_from_json(w->ctx, &arena, &ctx) < 0)
        ctx = (sy_value_t){.type = SY_OBJ};
    char buf[16384];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, buf, sizeof(buf));
    sy_flagset_eval(sets[w->v1], w->key, strlen(w->key), flag_type(w->type), &ctx, 1767225600,
                    &scratch, &w->r);
    /* Integers: OpenFeature's integer accessor refuses a non-integral number. */
    if (w->r.has_value && strcmp(w->type, "Integer") == 0 && w->r.value.n != floor(w->r.value.n)) {
        w->r.has_value = false;
        w->r.reason = SY_REASON_ERROR;
        w->r.error = SY_FLAG_TYPE_MISMATCH;
    }
    w->evaluated = true;
    sy_arena_free(&arena);
}

/* The value the caller sees: the flag's, or the fallback. */
static json_t *resolved(const struct world *w)
{
    if (w->r.has_value)
        return sy_value_to_json(&w->r.value);
    return typed(w->type, w->fallback);
}

static bool same_value(const char *type, const json_t *got, const char *want)
{
    json_t *w = typed(type, want);
    bool ok;
    if (json_is_number(got) && json_is_number(w))
        ok = json_number_value(got) == json_number_value(w);
    else
        ok = w && json_equal((json_t *)got, w);
    json_decref(w);
    return ok;
}

static bool metadata_contains(struct world *w, const struct table *t)
{
    for (int i = 1; i < t->n; i++) {
        const struct row *r = &t->rows[i];
        if (r->n < 3)
            return false;
        const sy_value_t *v = sy_value_get(w->r.metadata, r->cells[0], strlen(r->cells[0]));
        json_t *got = v ? sy_value_to_json(v) : NULL;
        bool ok = got && same_value(r->cells[1], got, r->cells[2]);
        json_decref(got);
        if (!ok) {
            snprintf(w->why, sizeof(w->why), "metadata %s is not %s %s", r->cells[0], r->cells[1],
                     r->cells[2]);
            return false;
        }
    }
    return true;
}

/* Runs one step; false (with w->why) when it fails or is not understood. */
static bool run_step(struct world *w, const struct step *st)
{
    char p[4][1024];
    int np = params(st->text, p, 4);
    const char *t = st->text;
    if (strcmp(t, "an evaluator") == 0)
        return true;
    if (strstr(t, "-flag with key ") && np == 2) {
        const char *dash = strstr(t, "-flag");
        const char *type = starts(t, "a ") ? t + 2 : t;
        static char tbuf[32];
        snprintf(tbuf, sizeof(tbuf), "%.*s", (int)(dash - type), type);
        w->type = tbuf;
        snprintf(w->key, sizeof(w->key), "%s", p[0]);
        snprintf(w->fallback, sizeof(w->fallback), "%s", p[1]);
        return true;
    }
    if (starts(t, "a context containing a targeting key with value") && np == 1) {
        json_object_set_new(w->ctx, "targetingKey", json_string(p[0]));
        return true;
    }
    if (starts(t, "a context containing a key ") && np == 3) {
        json_object_set_new(w->ctx, p[0], typed(p[1], p[2]));
        return true;
    }
    if (starts(t, "a context containing a nested property") && np == 3) {
        json_t *inner = json_object_get(w->ctx, p[0]);
        if (!json_is_object(inner)) {
            inner = json_object();
            json_object_set_new(w->ctx, p[0], inner);
        }
        json_object_set_new(inner, p[1], json_string(p[2]));
        return true;
    }
    if (strcmp(t, "the flag was evaluated with details") == 0) {
        evaluate(w);
        return true;
    }
    bool assertion =
        starts(t, "the resolved ") || starts(t, "the reason ") || starts(t, "the error-code ");
    if (assertion && !w->evaluated) {
        snprintf(w->why, sizeof(w->why), "step before evaluation: %s", t);
        return false;
    }
    if (starts(t, "the resolved details value should be") && np == 1) {
        json_t *got = resolved(w);
        bool ok = same_value(w->type, got, p[0]);
        char *s = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(w->why, sizeof(w->why), "value %s, want %s (%s%s%s)", s ? s : "?", p[0],
                 sy_reason_name(w->r.reason), w->r.error ? " " : "",
                 sy_flag_error_name(w->r.error));
        free(s);
        json_decref(got);
        return ok;
    }
    if (starts(t, "the reason should be") && np == 1) {
        snprintf(w->why, sizeof(w->why), "reason %s, want %s", sy_reason_name(w->r.reason), p[0]);
        return strcmp(sy_reason_name(w->r.reason), p[0]) == 0;
    }
    if (starts(t, "the error-code should be") && np == 1) {
        snprintf(w->why, sizeof(w->why), "error code %s, want %s", sy_flag_error_name(w->r.error),
                 p[0]);
        return strcmp(sy_flag_error_name(w->r.error), p[0]) == 0;
    }
    if (strcmp(t, "the resolved metadata should contain") == 0 && st->table.n > 1)
        return metadata_contains(w, &st->table);
    if (strcmp(t, "the resolved metadata is empty") == 0) {
        snprintf(w->why, sizeof(w->why), "metadata has %u entries", w->r.metadata->len);
        return w->r.metadata->len == 0;
    }
    snprintf(w->why, sizeof(w->why), "unsupported step: %s", t);
    return false;
}

/* ---- running scenarios -------------------------------------------------------------- */

/* Replaces every <name> of the header by the row's cell. */
static char *substitute(const char *text, const struct row *head, const struct row *row)
{
    char out[MAX_LINE * 2];
    size_t k = 0;
    for (const char *p = text; *p && k < sizeof(out) - 1;) {
        bool done = false;
        if (*p == '<' && head) {
            for (int i = 0; i < head->n && i < row->n; i++) {
                size_t n = strlen(head->cells[i]);
                if (strncmp(p + 1, head->cells[i], n) == 0 && p[n + 1] == '>') {
                    size_t m = strlen(row->cells[i]);
                    if (k + m < sizeof(out) - 1) {
                        memcpy(out + k, row->cells[i], m);
                        k += m;
                    }
                    p += n + 2;
                    done = true;
                    break;
                }
            }
        }
        if (!done)
            out[k++] = *p++;
    }
    out[k] = '\0';
    return strdup(out);
}

static bool run_case(const struct steps *bg, const struct scenario *sc, const char *tags,
                     const struct row *head, const struct row *row, char *why, size_t cap)
{
    struct world w = {.ctx = json_object(), .v1 = strstr(tags, "@fractional-v1") != NULL};
    bool ok = true;
    const struct steps *lists[2] = {bg, &sc->steps};
    for (int l = 0; l < 2 && ok; l++)
        for (int i = 0; i < lists[l]->n && ok; i++) {
            struct step st = lists[l]->s[i];
            st.text = substitute(st.text, head, row);
            ok = run_step(&w, &st);
            free(st.text);
        }
    snprintf(why, cap, "%s", w.why);
    json_decref(w.ctx);
    return ok;
}

struct tally {
    unsigned passed, failed;
};

static void run_scenario(const char *file, const char *ftags, const struct steps *bg,
                         const struct scenario *sc, struct tally *t)
{
    char why[4096], tags[1024];
    if (sc->nex == 0) {
        snprintf(tags, sizeof(tags), "%s %s", ftags, sc->tags);
        bool ok = run_case(bg, sc, tags, NULL, NULL, why, sizeof(why));
        ok ? t->passed++ : t->failed++;
        if (!ok)
            printf("FAIL %s:%d: %s: %s\n", file, sc->line, sc->name, why);
        return;
    }
    for (int e = 0; e < sc->nex; e++) {
        const struct table *tb = &sc->ex[e].table;
        snprintf(tags, sizeof(tags), "%s %s %s", ftags, sc->tags, sc->ex[e].tags);
        for (int r = 1; r < tb->n; r++) {
            bool ok = run_case(bg, sc, tags, &tb->rows[0], &tb->rows[r], why, sizeof(why));
            ok ? t->passed++ : t->failed++;
            if (!ok)
                printf("FAIL %s:%d: %s [%s]: %s\n", file, sc->line, sc->name,
                       tb->rows[r].n ? tb->rows[r].cells[0] : "", why);
        }
    }
}

static void free_steps(struct steps *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->s[i].text);
        free_table(&s->s[i].table);
    }
    s->n = 0;
}

static void free_scenario(struct scenario *sc)
{
    free_steps(&sc->steps);
    for (int e = 0; e < sc->nex; e++)
        free_table(&sc->ex[e].table);
    memset(sc, 0, sizeof(*sc));
}

static void run_feature(const char *path, struct tally *total)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        printf("FAIL %s: cannot read\n", path);
        total->failed++;
        return;
    }
    char line[MAX_LINE], pending[256] = "", ftags[256] = "";
    struct steps bg = {0};
    static struct scenario sc;
    bool in_sc = false, in_bg = false;
    struct table *table = NULL; /* where table rows go */
    struct tally t = {0, 0};
    int lineno = 0;
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (*s == '@') {
            snprintf(pending + strlen(pending), sizeof(pending) - strlen(pending), " %s", s);
            continue;
        }
        if (*s == '|') {
            if (table && table->n < MAX_ROWS)
                parse_row(s, &table->rows[table->n++]);
            continue;
        }
        table = NULL;
        if (starts(s, "Feature:")) {
            snprintf(ftags, sizeof(ftags), "%s", pending);
        } else if (starts(s, "Background:")) {
            in_bg = true;
        } else if (starts(s, "Scenario")) {
            if (in_sc)
                run_scenario(path, ftags, &bg, &sc, &t);
            free_scenario(&sc);
            in_sc = true;
            in_bg = false;
            sc.line = lineno;
            snprintf(sc.name, sizeof(sc.name), "%s", trim(strchr(s, ':') ? strchr(s, ':') + 1 : s));
            snprintf(sc.tags, sizeof(sc.tags), "%s", pending);
        } else if (starts(s, "Examples:") || starts(s, "Scenarios:")) {
            if (in_sc && sc.nex < 8) {
                snprintf(sc.ex[sc.nex].tags, sizeof(sc.ex[0].tags), "%s", pending);
                table = &sc.ex[sc.nex++].table;
            }
        } else {
            static const char *const kw[] = {"Given ", "When ", "Then ", "And ", "But ", "* "};
            size_t k = 0;
            while (k < 6 && !starts(s, kw[k]))
                k++;
            struct steps *list = in_bg && !in_sc ? &bg : &sc.steps;
            if (k < 6 && list->n < MAX_STEPS) {
                struct step *st = &list->s[list->n++];
                st->text = strdup(s + strlen(kw[k]));
                st->table.n = 0;
                table = &st->table;
            } else if (k == 6) {
                printf("FAIL %s:%d: cannot read \"%s\"\n", path, lineno, s);
                t.failed++;
            }
        }
        pending[0] = '\0';
    }
    if (in_sc)
        run_scenario(path, ftags, &bg, &sc, &t);
    free_scenario(&sc);
    free_steps(&bg);
    fclose(fp);
    printf("%s: %u passed, %u failed\n", path, t.passed, t.failed);
    total->passed += t.passed;
    total->failed += t.failed;
}

static int load_sets(const char *path)
{
    for (int v1 = 0; v1 < 2; v1++) {
        json_error_t jerr;
        json_t *doc = json_load_file(path, 0, &jerr);
        if (!doc) {
            fprintf(stderr, "sy-testbed: %s: %s\n", path, jerr.text);
            return -1;
        }
        sy_arena_t arena;
        sy_arena_init(&arena, (size_t)64 << 20);
        sy_value_t v;
        int rc = sy_value_from_json(doc, &arena, &v);
        json_decref(doc);
        sy_flagset_opts_t opts = {.fractional = v1 ? SY_FRACTIONAL_V1 : SY_FRACTIONAL_V2};
        if (rc < 0 || sy_flagset_load(&sets[v1], &arena, &v, &opts, NULL) < 0) {
            if (rc < 0)
                sy_arena_free(&arena);
            fprintf(stderr, "sy-testbed: %s does not load\n", path);
            return -1;
        }
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path, struct tally *t)
{
    DIR *d = opendir(path);
    if (!d) {
        run_feature(path, t);
        return;
    }
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 8 && strcmp(e->d_name + len - 8, ".feature") == 0) {
            names[n] = malloc(strlen(path) + len + 2);
            sprintf(names[n++], "%s/%s", path, e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        run_feature(names[i], t);
        free(names[i]);
    }
}

int main(int argc, char **argv)
{
    const char *dir = SY_SHARED_DIR "/conformance/flagd/testbed/evaluator";
    char flags[1024];
    snprintf(flags, sizeof(flags), "%s/testkit-flags.json", dir);
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--flags") == 0) {
        snprintf(flags, sizeof(flags), "%s", argv[2]);
        first = 3;
    } else if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: sy-testbed [--flags FILE] [FEATURE|DIR ...]\n"
               "default: %s (flags: testkit-flags.json there)\n",
               dir);
        return 0;
    }
    if (load_sets(flags) < 0)
        return 1;
    struct tally t = {0, 0};
    if (first >= argc)
        run_path(dir, &t);
    for (int i = first; i < argc; i++)
        run_path(argv[i], &t);
    printf("%u passed, %u failed\n", t.passed, t.failed);
    sy_flagset_free(sets[0]);
    sy_flagset_free(sets[1]);
    return t.failed || !t.passed ? 1 : 0;
}
