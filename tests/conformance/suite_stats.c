/* suite_stats.c - the "stats" suite of sy-conformance: vectors in the format of
 * ../shared/conformance/stats/README.md, judged by its rules:
 *
 *   expected {"error": CODE}   the call must refuse with that code
 *   a real (1.0, 1e-300)       |got - want| <= max(absolute, relative * |want|), with the
 *                              pair of tolerance.fields.<leaf key> if listed, else the
 *                              file's; NaN and infinities never pass
 *   an integer                 must match exactly (and be produced as an integer)
 *   bool, string, null         must match exactly (null: the value must be absent)
 *   object / array             key by key / element by element, same length
 *
 * Each case's input goes through the same JSON codec the CLI and the API use.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/stats_json.h"
#include "runner.h"

struct tol {
    double rel; /* relative tolerance */
    double abs; /* absolute floor */
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

void sy_conf_show(char *buf, size_t cap, const json_t *v)
{
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    snprintf(buf, cap, "%s", v ? (s ? s : "?") : "(missing)");
    free(s);
    if (strlen(buf) > 200)
        strcpy(buf + 197, "...");
}

bool sy_conf_same(const json_t *want, const json_t *got, const char *path, const char *key,
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
            sy_conf_show(w, sizeof(w), want);
            sy_conf_show(g, sizeof(g), got);
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
            if (!sy_conf_same(v, json_object_get(got, k), sub, k, tolerance, why, cap))
                return false;
        }
        return true;
    }
    if (json_is_array(want) && json_is_array(got) &&
        json_array_size(want) == json_array_size(got)) {
        for (size_t i = 0; i < json_array_size(want); i++) {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (!sy_conf_same(json_array_get(want, i), json_array_get(got, i), sub, key, tolerance,
                              why, cap))
                return false;
        }
        return true;
    }
    /* Integers, strings, booleans and null compare exactly, type included. */
    ok = got && !json_is_object(want) && !json_is_array(want) && json_equal(want, got);
    if (!ok) {
        sy_conf_show(w, sizeof(w), want);
        sy_conf_show(g, sizeof(g), got);
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
        ok = sy_conf_same(expected, got, "", "", tolerance, why, sizeof(why));
    }
    if (!ok)
        printf("FAIL %s: %s [%s]: %s\n", file, label,
               sy_stats_kind_name(sy_stats_json_kind(hinted ? hinted : input)), why);
    json_decref(got);
    json_decref(hinted);
    return ok;
}

void sy_conf_stats_cases(const char *path, const json_t *doc, const json_t *cases,
                         struct sy_conf_tally *t)
{
    const json_t *tolerance = json_object_get(doc, "tolerance");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        if (run_case(path, i, json_array_get(cases, i), tolerance))
            t->passed++;
        else
            t->failed++;
    }
}
