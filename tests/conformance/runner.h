/* runner.h - what the suites of sy-conformance share with its driver (conformance.c). */
#ifndef SY_CONFORMANCE_RUNNER_H
#define SY_CONFORMANCE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct sy_conf_tally {
    unsigned passed, failed; /* cases */
};

/* Judges every case of one loaded vector file `doc` (its "cases", a non-empty array),
 * adding to `t` and printing each failure. The driver loads the file, refuses one
 * without cases, and prints the line for the file. */
void sy_conf_stats_cases(const char *path, const json_t *doc, const json_t *cases,
                         struct sy_conf_tally *t);
void sy_conf_flagd_cases(const char *path, const json_t *doc, const json_t *cases,
                         struct sy_conf_tally *t);

void sy_conf_rules_cases(const char *path, const json_t *doc, const json_t *cases,
                         struct sy_conf_tally *t);

/* Compares `got` with `want` by the stats README's rules ("How a case is judged") at
 * `path` (leaf key `key`, for tolerance.fields); on the first mismatch writes a line to
 * `why` and returns false. */
bool sy_conf_same(const json_t *want, const json_t *got, const char *path, const char *key,
                  const json_t *tolerance, char *why, size_t cap);

/* Writes `v` as compact JSON (17 digits for reals) into buf, cut at 200 characters;
 * "(missing)" for NULL. */
void sy_conf_show(char *buf, size_t cap, const json_t *v);

#endif
