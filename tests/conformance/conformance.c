/* conformance.c - checks src/core against the reference vectors in ../shared/conformance.
 *
 *   sy-conformance stats [FILE|DIR ...]
 *
 * With no path it reads every *.json of SY_SHARED_DIR/conformance/stats; a directory
 * means its *.json files, in name order. Each case's input goes through the same JSON
 * codec the CLI and the API use, and the output is judged by the rules of
 * ../shared/conformance/stats/README.md:
 *
 *   expected {"error": CODE}   the call must refuse with that code
 *   a real (1.0, 1e-300)       |got - want| <= max(absolute, relative * |want|), with the
 *                              pair of tolerance.fields.<leaf key> if listed, else the
 *                              file's; NaN and infinities never pass
 *   an integer                 must match exactly (and be produced as an integer)
 *   bool, string, null         must match exactly (null: the value must be absent)
 *   object / array             key by key / element by element, same length
 *
 * Prints each failing case with expected and got, a line per file, and last
 * "N passed, N failed". Exits 0 only when every case passed and there was at least one.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_errno.h>
#include <jansson.h>

#include "codec/stats_json.h"

#ifndef SY_SHARED_DIR
#error "SY_SHARED_DIR must name the shared/ folder (the build sets it)"
#endif

#define MAX_FILES 4096

struct tol {
    double rel; /* relative tolerance */
    double abs; /* absolute floor */
};

struct tally {
    unsigned passed, failed;
};

/* The tolerance for leaf `key`: tolerance.fields.<key> when listed, else the default. */
static struct tol tol_for(const json_t *tolerance, const char *key)
{
    const json_t *f = json_object_get(json_object_get(tolerance, "fields"), key);
    const json_t *t = f ? f : tolerance;
    struct tol r = {json_number_value(json_object_get(t, "relative")),
                    json_number_value(json_object_get(t, "absolute"))};
    return r;
}

static void show(char *buf, size_t cap, const json_t *v)
{
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    snprintf(buf, cap, "%s", v ? (s ? s : "?") : "(missing)");
    free(s);
    if (strlen(buf) > 200)
        strcpy(buf + 197, "...");
}

/* Compares `got` with `want` at `path` (leaf key `key`); on the first mismatch writes a
 * line to `why` and returns false. */
static bool same(const json_t *want, const json_t *got, const char *path, const char *key,
                 const json_t *tolerance, char *why, size_t cap)
{
    char w[256], g[256];
    bool ok = true;
    if (json_is_real(want)) {
        struct tol t = tol_for(tolerance, key);
        double x = json_number_value(want), y = json_number_value(got);
        double allowed = fmax(t.abs, t.rel * fabs(x));
        ok = json_is_number(got) && isfinite(y) && fabs(y - x) <= allowed;
        if (!ok) {
            show(w, sizeof(w), want);
            show(g, sizeof(g), got);
            snprintf(why, cap, "%s: expected %s, got %s (diff %.3g, allowed %.3g)", path, w, g,
                     fabs(y - x), allowed);
        }
        return ok;
    }
    if (json_is_object(want) && json_is_object(got)) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)want, k, v)
        {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
            if (!same(v, json_object_get(got, k), sub, k, tolerance, why, cap))
                return false;
        }
        return true;
    }
    if (json_is_array(want) && json_is_array(got) &&
        json_array_size(want) == json_array_size(got)) {
        for (size_t i = 0; i < json_array_size(want); i++) {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (!same(json_array_get(want, i), json_array_get(got, i), sub, key, tolerance, why,
                      cap))
                return false;
        }
        return true;
    }
    /* Integers, strings, booleans and null compare exactly, type included. */
    ok = got && !json_is_object(want) && !json_is_array(want) && json_equal(want, got);
    if (!ok) {
        show(w, sizeof(w), want);
        show(g, sizeof(g), got);
        snprintf(why, cap, "%s: expected %s, got %s", path[0] ? path : "result", w, g);
    }
    return ok;
}

/* Inputs tell their test by shape, except that a Bayes case without "prior" looks like a
 * z-test. A file whose name says "bayes" settles that one ambiguity. */
static json_t *with_hint(const char *file, const json_t *input)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (!strstr(base, "bayes") || sy_stats_json_kind(input) != SY_STATS_ZTEST)
        return json_incref((json_t *)input);
    json_t *copy = json_copy((json_t *)input);
    if (copy && json_object_set_new(copy, "test", json_string("bayes")) < 0) {
        json_decref(copy);
        copy = NULL;
    }
    return copy;
}

/* Runs one case; returns true when it passes, else prints why. */
static bool run_case(const char *file, size_t idx, const json_t *c, const json_t *tolerance)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    json_t *input = json_object_get(c, "input");
    const json_t *expected = json_object_get(c, "expected");
    char label[160], why[600] = "";
    snprintf(label, sizeof(label), "%s #%zu", name ? name : "(unnamed)", idx);
    if (!json_is_object(input) || !json_is_object(expected)) {
        printf("FAIL %s: %s: case needs an object \"input\" and \"expected\"\n", file, label);
        return false;
    }

    json_t *got = NULL, *hinted = with_hint(file, input);
    sy_err_t err = {0};
    int rc = hinted ? sy_stats_json_eval(hinted, &got, &err)
                    : sy_err_set(&err, -ENOMEM, NULL, "out of memory");
    const char *want_err = json_string_value(json_object_get(expected, "error"));
    bool ok;
    if (want_err) {
        ok = rc < 0 && strcmp(want_err, sy_err_name(rc)) == 0;
        if (!ok && rc < 0)
            snprintf(why, sizeof(why), "expected error %s, got error %s (%s)", want_err,
                     sy_err_name(rc), err.msg);
        else if (!ok)
            snprintf(why, sizeof(why), "expected error %s, got a result", want_err);
    } else if (rc < 0) {
        ok = false;
        snprintf(why, sizeof(why), "expected a result, got error %s: %s%s%s", sy_err_name(rc),
                 err.msg, err.field[0] ? " at " : "", err.field);
    } else {
        ok = same(expected, got, "", "", tolerance, why, sizeof(why));
    }
    if (!ok)
        printf("FAIL %s: %s [%s]: %s\n", file, label,
               sy_stats_kind_name(sy_stats_json_kind(hinted ? hinted : input)), why);
    json_decref(got);
    json_decref(hinted);
    return ok;
}

static void run_file(const char *path, struct tally *total)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    const json_t *cases = json_object_get(doc, "cases");
    if (!json_is_array(cases) || json_array_size(cases) == 0) {
        printf("FAIL %s: %s\n", path,
               doc ? "no \"cases\" array with at least one case" : jerr.text);
        total->failed++;
        json_decref(doc);
        return;
    }
    const json_t *tolerance = json_object_get(doc, "tolerance");
    struct tally t = {0, 0};
    for (size_t i = 0; i < json_array_size(cases); i++) {
        if (run_case(path, i, json_array_get(cases, i), tolerance))
            t.passed++;
        else
            t.failed++;
    }
    printf("%s: %u passed, %u failed\n", path, t.passed, t.failed);
    total->passed += t.passed;
    total->failed += t.failed;
    json_decref(doc);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_json(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static void run_path(const char *path, struct tally *total)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        printf("FAIL %s: cannot read it\n", path);
        total->failed++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path, total);
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        printf("FAIL %s: cannot open the folder\n", path);
        total->failed++;
        return;
    }
    char *names[MAX_FILES];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!is_json(de->d_name))
            continue;
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        if (n == MAX_FILES || !(names[n] = malloc(len))) {
            printf("FAIL %s: %s\n", path,
                   n == MAX_FILES ? "more than 4096 .json files" : "out of memory");
            total->failed++;
            break;
        }
        snprintf(names[n], len, "%s/%s", path, de->d_name);
        n++;
    }
    closedir(dir);
    if (n == 0) {
        printf("FAIL %s: no .json files in the folder\n", path);
        total->failed++;
    }
    qsort(names, n, sizeof(names[0]), by_name);
    for (size_t i = 0; i < n; i++) {
        run_file(names[i], total);
        free(names[i]);
    }
}

static int usage(FILE *to)
{
    fprintf(to,
            "usage: sy-conformance stats [FILE|DIR ...]\n"
            "  Checks src/core/stats against reference vectors: the *.json files given,\n"
            "  or by default those in %s/conformance/stats.\n",
            SY_SHARED_DIR);
    return to == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return usage(stdout);
    if (argc < 2 || strcmp(argv[1], "stats") != 0)
        return usage(stderr);
    gsl_set_error_handler_off();

    struct tally total = {0, 0};
    if (argc == 2)
        run_path(SY_SHARED_DIR "/conformance/stats", &total);
    for (int i = 2; i < argc; i++)
        run_path(argv[i], &total);
    printf("%u passed, %u failed\n", total.passed, total.failed);
    return total.failed == 0 && total.passed > 0 ? 0 : 1;
}
