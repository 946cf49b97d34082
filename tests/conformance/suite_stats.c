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
 *
 * A file of "kind" "srm_sequential" (../shared/conformance/srm_sequential/README.md) is
 * judged by that README instead: its periods' looks fed to sy_srm_seq_*, every look's
 * counts, log Bayes factor, log e-value and p compared.
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

/* One look's figures against its expected entry `want`; false with `why` on a mismatch. */
static bool same_look(const sy_srm_seq_t *s, const json_t *want, char *why, size_t cap)
{
    const json_t *counts = json_object_get(want, "cumulative_counts");
    if (json_array_size(counts) != s->n) {
        snprintf(why, cap, "cumulative_counts: %zu arms expected, the case has %zu",
                 json_array_size(counts), s->n);
        return false;
    }
    for (size_t i = 0; i < s->n; i++)
        if (json_integer_value(json_array_get(counts, i)) != s->counts[i]) {
            snprintf(why, cap, "cumulative_counts[%zu]: expected %lld, got %lld", i,
                     (long long)json_integer_value(json_array_get(counts, i)),
                     (long long)s->counts[i]);
            return false;
        }
    double tol = json_number_value(json_object_get(want, "tol_log"));
    struct {
        const char *key;
        double got, allowed_rel, allowed_abs;
    } f[] = {{"log_bayes_factor", s->log_bf, 0, tol},
             {"log_e_value", sy_srm_seq_log_e(s), 0, tol},
             {"p_value", s->p, tol, 1e-15}};
    for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
        double x = json_number_value(json_object_get(want, f[k].key));
        double allowed = fmax(f[k].allowed_abs, f[k].allowed_rel * fabs(x));
        if (!json_is_number(json_object_get(want, f[k].key)) || !isfinite(f[k].got) ||
            fabs(f[k].got - x) > allowed) {
            snprintf(why, cap, "%s: expected %.17g, got %.17g (diff %.3g, allowed %.3g)", f[k].key,
                     x, f[k].got, fabs(f[k].got - x), allowed);
            return false;
        }
    }
    return true;
}

/* One case of an srm_sequential file: true when every look matches. */
static bool run_srm_seq_case(const char *file, size_t idx, const json_t *c)
{
    const char *id = json_string_value(json_object_get(c, "id"));
    const json_t *periods = json_object_get(c, "periods"),
                 *expected = json_object_get(c, "expected");
    double conc = json_number_value(json_object_get(c, "concentration"));
    sy_srm_seq_t s;
    sy_err_t err = {0};
    char why[400] = "";
    size_t at = 0;
    bool ok = json_array_size(periods) > 0;
    if (!ok)
        snprintf(why, sizeof(why), "no periods");
    for (size_t p = 0; ok && p < json_array_size(periods); p++) {
        const json_t *period = json_array_get(periods, p);
        const json_t *split = json_object_get(period, "expected_split");
        double w[SY_STATS_MAX_ARMS];
        size_t n = json_array_size(split);
        for (size_t i = 0; i < n && i < SY_STATS_MAX_ARMS; i++)
            w[i] = json_number_value(json_array_get(split, i));
        int rc = p == 0 ? sy_srm_seq_start(&s, w, n, conc, &err)
                        : (n == s.n ? sy_srm_seq_period(&s, w, &err) : -EINVAL);
        if (rc < 0) {
            snprintf(why, sizeof(why), "period %zu: refused: %s", p, err.msg);
            ok = false;
            break;
        }
        const json_t *looks = json_object_get(period, "looks");
        for (size_t l = 0; ok && l < json_array_size(looks); l++, at++) {
            int64_t units[SY_STATS_MAX_ARMS] = {0};
            const json_t *look = json_array_get(looks, l);
            for (size_t i = 0; i < s.n && i < json_array_size(look); i++)
                units[i] = json_integer_value(json_array_get(look, i));
            if (sy_srm_seq_look(&s, units, &err) < 0) {
                snprintf(why, sizeof(why), "period %zu look %zu: refused: %s", p, l, err.msg);
                ok = false;
            } else if (!same_look(&s, json_array_get(expected, at), why, sizeof(why))) {
                char where[64];
                snprintf(where, sizeof(where), "period %zu look %zu: ", p, l);
                memmove(why + strlen(where), why, sizeof(why) - strlen(where));
                memcpy(why, where, strlen(where));
                why[sizeof(why) - 1] = '\0';
                ok = false;
            }
        }
    }
    if (ok && at != json_array_size(expected)) {
        snprintf(why, sizeof(why), "%zu looks, %zu expected entries", at,
                 json_array_size(expected));
        ok = false;
    }
    if (!ok)
        printf("FAIL %s: %s #%zu [srm_sequential]: %s\n", file, id ? id : "(no id)", idx, why);
    return ok;
}

void sy_conf_stats_cases(const char *path, const json_t *doc, const json_t *cases,
                         struct sy_conf_tally *t)
{
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    if (kind && strcmp(kind, "srm_sequential") == 0) {
        for (size_t i = 0; i < json_array_size(cases); i++) {
            if (run_srm_seq_case(path, i, json_array_get(cases, i)))
                t->passed++;
            else
                t->failed++;
        }
        return;
    }
    const json_t *tolerance = json_object_get(doc, "tolerance");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        if (run_case(path, i, json_array_get(cases, i), tolerance))
            t->passed++;
        else
            t->failed++;
    }
}
