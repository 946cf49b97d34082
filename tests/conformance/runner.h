/* runner.h - what the suites of sy-conformance share with its driver (conformance.c). */
#ifndef SY_CONFORMANCE_RUNNER_H
#define SY_CONFORMANCE_RUNNER_H

#include <stddef.h>

#include <jansson.h>

struct sy_conf_tally {
    unsigned passed, failed; /* cases */
};

/* Runs every case of one vector file, printing each failure and a line for the file. A
 * file that cannot be read or has no case counts as one failure. */
void sy_conf_stats_file(const char *path, struct sy_conf_tally *total);
void sy_conf_flagd_file(const char *path, struct sy_conf_tally *total);

/* Writes `v` as compact JSON (17 digits for reals) into buf, cut at 200 characters;
 * "(missing)" for NULL. */
void sy_conf_show(char *buf, size_t cap, const json_t *v);

#endif
