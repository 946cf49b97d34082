/* prom.h - the Prometheus text exposition format (version 0.0.4) and OpenMetrics 1.0.
 *
 * A writer of metric families over sy_text_t (codec/value_json.h): a family's HELP and
 * TYPE once, then its samples. The two formats differ in little that a writer sees:
 * OpenMetrics names a counter family without its "_total" suffix (the samples keep it),
 * and ends with "# EOF". Label values are escaped (\\, \", \n) and need not be valid
 * UTF-8 from us: a byte that starts no valid sequence becomes U+FFFD, as in JSON.
 *
 * Names are the caller's: [a-zA-Z_:][a-zA-Z0-9_:]*, base units, counters ending _total
 * (docs/operations.md lists ours).
 */
#ifndef SY_CODEC_PROM_H
#define SY_CODEC_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/value_json.h"

typedef enum sy_prom_type {
    SY_PROM_COUNTER,
    SY_PROM_GAUGE,
    SY_PROM_HISTOGRAM,
} sy_prom_type_t;

typedef struct sy_prom {
    sy_text_t *t;
    bool openmetrics;
    /* When set, a sample with a "workspace" label of another value is left out: what a
     * token's scrape shows of the workspaces (its own); NULL shows every one. */
    const char *workspace;
} sy_prom_t;

/* A label: name and value (NUL-terminated). */
typedef struct sy_prom_label {
    const char *name, *value;
} sy_prom_label_t;

/* Starts family `name` (a counter's with its "_total"). */
void sy_prom_family(sy_prom_t *p, const char *name, sy_prom_type_t type, const char *help);
/* One sample of family `name`: name, the labels, the value. */
void sy_prom_sample(sy_prom_t *p, const char *name, const sy_prom_label_t *labels, size_t n,
                    double value);
/* A histogram's samples: `counts[i]` observations in bucket i (not cumulative) whose upper
 * bounds are `le[i]` (the last may be INFINITY; if it is not, a +Inf bucket follows), their
 * `sum`. `labels` are every bucket's, before "le". */
void sy_prom_histogram(sy_prom_t *p, const char *name, const sy_prom_label_t *labels, size_t n,
                       const double *le, const int64_t *counts, size_t buckets, double sum);
/* Ends the exposition ("# EOF" in OpenMetrics). */
void sy_prom_end(sy_prom_t *p);

/* Whether an Accept header asks for OpenMetrics (application/openmetrics-text). */
bool sy_prom_wants_openmetrics(const char *accept);
/* The Content-Type of the exposition. */
const char *sy_prom_content_type(const sy_prom_t *p);

#endif
