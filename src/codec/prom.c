/* prom.c - the Prometheus and OpenMetrics text formats (prom.h). */
#include "codec/prom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"

static void put(sy_prom_t *p, const char *s)
{
    sy_text_put(p->t, s, strlen(s));
}

/* HELP text: backslash and newline escaped. */
static void put_help(sy_prom_t *p, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(p, "\\\\");
        else if (*s == '\n')
            put(p, "\\n");
        else
            sy_text_put(p->t, s, 1);
    }
}

/* A scrape writes tens of thousands of labels: runs of bytes that need no escape go out in
 * one copy, not a call a byte (a third of a scrape's time at 1,000 experiments). */
static void put_label_value(sy_prom_t *p, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t run = 0;
        while (i + run < n && (unsigned char)s[i + run] < 0x80 && s[i + run] != '\\' &&
               s[i + run] != '"' && s[i + run] != '\n')
            run++;
        if (run) {
            sy_text_put(p->t, s + i, run);
            i += run;
            continue;
        }
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x80) {
            size_t k = sy_utf8_seq(s + i, n - i);
            if (k == 0) {
                put(p, "\xef\xbf\xbd");
                i++;
            } else {
                sy_text_put(p->t, s + i, k);
                i += k;
            }
            continue;
        }
        put(p, ch == '\\' ? "\\\\" : ch == '"' ? "\\\"" : "\\n"); /* what ends a run */
        i++;
    }
}

/* The shortest decimal that reads back as `v` (0.0001, not 0.00010000000000000001). */
static void shortest(char *out, size_t cap, double v)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(out, cap, "%.*g", digits, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* An integer's decimal digits, written backwards from `end`; returns where they start.
 * Most samples are counts and 0/1 states: snprintf's cost for them was a tenth of a scrape. */
static char *integer(char *end, long long v)
{
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--end = '-';
    return end;
}

static void put_value(sy_prom_t *p, double v)
{
    char num[40];
    if (isnan(v)) {
        put(p, "NaN");
    } else if (isinf(v)) {
        put(p, v > 0 ? "+Inf" : "-Inf");
    } else if (v == trunc(v) && fabs(v) < 9007199254740992.0) {
        char *at = integer(num + sizeof(num), (long long)v);
        sy_text_put(p->t, at, (size_t)(num + sizeof(num) - at));
    } else {
        shortest(num, sizeof(num), v);
        put(p, num);
    }
}

static void put_labels(sy_prom_t *p, const sy_prom_label_t *labels, size_t n, const char *le)
{
    if (!n && !le)
        return;
    put(p, "{");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(p, ",");
        put(p, labels[i].name);
        put(p, "=\"");
        put_label_value(p, labels[i].value ? labels[i].value : "");
        put(p, "\"");
    }
    if (le) {
        if (n)
            put(p, ",");
        put(p, "le=\"");
        put(p, le);
        put(p, "\"");
    }
    put(p, "}");
}

/* Whether the sample with these labels is another workspace's than the one shown. */
static bool hidden(const sy_prom_t *p, const sy_prom_label_t *labels, size_t n)
{
    if (!p->workspace)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i].name, "workspace") == 0)
            return strcmp(labels[i].value ? labels[i].value : "", p->workspace) != 0;
    return false;
}

void sy_prom_family(sy_prom_t *p, const char *name, sy_prom_type_t type, const char *help)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    size_t n = strlen(name);
    /* OpenMetrics names a counter's family without the suffix its samples carry */
    if (p->openmetrics && type == SY_PROM_COUNTER && n > 6 && strcmp(name + n - 6, "_total") == 0)
        n -= 6;
    put(p, "# HELP ");
    sy_text_put(p->t, name, n);
    put(p, " ");
    put_help(p, help);
    put(p, "\n# TYPE ");
    sy_text_put(p->t, name, n);
    put(p, " ");
    put(p, types[type]);
    put(p, "\n");
}

void sy_prom_sample(sy_prom_t *p, const char *name, const sy_prom_label_t *labels, size_t n,
                    double value)
{
    if (hidden(p, labels, n))
        return;
    put(p, name);
    put_labels(p, labels, n, NULL);
    put(p, " ");
    put_value(p, value);
    put(p, "\n");
}

void sy_prom_histogram(sy_prom_t *p, const char *name, const sy_prom_label_t *labels, size_t n,
                       const double *le, const int64_t *counts, size_t buckets, double sum)
{
    char sample[128], bound[40];
    int64_t cum = 0;
    if (hidden(p, labels, n))
        return;
    for (size_t i = 0; i < buckets; i++) {
        cum += counts[i];
        if (isinf(le[i]))
            snprintf(bound, sizeof(bound), "+Inf");
        else
            shortest(bound, sizeof(bound), le[i]);
        snprintf(sample, sizeof(sample), "%s_bucket", name);
        put(p, sample);
        put_labels(p, labels, n, bound);
        put(p, " ");
        put_value(p, (double)cum);
        put(p, "\n");
    }
    if (!buckets || !isinf(le[buckets - 1])) {
        snprintf(sample, sizeof(sample), "%s_bucket", name);
        put(p, sample);
        put_labels(p, labels, n, "+Inf");
        put(p, " ");
        put_value(p, (double)cum);
        put(p, "\n");
    }
    snprintf(sample, sizeof(sample), "%s_sum", name);
    sy_prom_sample(p, sample, labels, n, sum);
    snprintf(sample, sizeof(sample), "%s_count", name);
    sy_prom_sample(p, sample, labels, n, (double)cum);
}

void sy_prom_end(sy_prom_t *p)
{
    if (p->openmetrics)
        put(p, "# EOF\n");
}

/* Whether s[0..n) is `word`, case aside. */
static bool is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

bool sy_prom_wants_openmetrics(const char *accept)
{
    /* each media range with its q (RFC 9110 12.5.1): OpenMetrics when it is acceptable
     * and liked at least as much as the text format (or anything) */
    double om = 0, text = 0;
    for (const char *p = accept; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *end = p + len, *t = p;
        while (t < end && (*t == ' ' || *t == '\t'))
            t++;
        size_t tl = strcspn(t, ";, \t");
        if (t + tl > end)
            tl = (size_t)(end - t);
        double q = 1;
        for (const char *a = t + tl; a < end; a++) {
            if (*a != ';')
                continue;
            const char *k = a + 1;
            while (k < end && *k == ' ')
                k++;
            if (end - k >= 2 && (k[0] == 'q' || k[0] == 'Q') && k[1] == '=')
                q = strtod(k + 2, NULL);
        }
        if (!(q >= 0 && q <= 1))
            q = 0;
        if (is(t, tl, "application/openmetrics-text"))
            om = q > om ? q : om;
        else if (is(t, tl, "text/plain") || is(t, tl, "text/*") || is(t, tl, "*/*"))
            text = q > text ? q : text;
        p = *end ? end + 1 : end;
    }
    return om > 0 && om >= text;
}

const char *sy_prom_content_type(const sy_prom_t *p)
{
    return p->openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                          : "text/plain; version=0.0.4; charset=utf-8";
}
