/* evalstats.h - what the serving threads evaluated: the counts /metrics exports.
 *
 * Each serving thread (the engine loop without workers, or each worker) counts into a
 * table of its own: per (workspace, flag), evaluations by reason; per workspace, errors by
 * code; per kind of OFREP request (single, bulk), a histogram of how long it took. Only
 * that thread writes its table, with relaxed atomic stores that compile to plain adds; a
 * scrape (any thread) reads every table under each one's lock, which its owner takes only
 * to add a row (the first evaluation of a flag on that thread).
 *
 * Cardinality is bounded: a flag is exported under its own name when it is among the
 * first `max_flags` of its workspace to be evaluated since the process started (a stable
 * choice: a series never moves between its name and "other"), and under flag="other"
 * otherwise (a flag named "other" always: a series of its own would be the overflow's). A
 * key that names no flag is counted as an error of its workspace (code
 * FLAG_NOT_FOUND), never as a row, so a client sending random keys adds no series.
 */
#ifndef SY_HTTP_EVALSTATS_H
#define SY_HTTP_EVALSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "codec/prom.h"
#include "core/flag.h"

typedef struct sy_evalstats sy_evalstats_t;         /* one serving thread's */
typedef struct sy_evalstats_set sy_evalstats_set_t; /* every thread's, and the names' order */

enum sy_ofrep_kind { SY_OFREP_SINGLE, SY_OFREP_BULK, SY_OFREP_KINDS };

/* A set exporting at most `max_flags` flags per workspace by name (0: none, all "other"). */
sy_evalstats_set_t *sy_evalstats_set_new(size_t max_flags);
void sy_evalstats_set_free(sy_evalstats_set_t *set);
/* A table for one more serving thread (owned by the set); NULL when out of memory. */
sy_evalstats_t *sy_evalstats_add(sy_evalstats_set_t *set);

/* The owner thread counts one evaluation of flag `key` in workspace `ws`. */
void sy_evalstats_count(sy_evalstats_t *s, int64_t ws, const char *key, size_t klen,
                        const sy_flag_result_t *r);
/* The same for flag `i` of the `n` of revision `revision` of the workspace's set (a bulk
 * evaluation), `flag` its compiled flag (alive while it is served): its row is found by
 * index after the first time, not by hashing the name. */
void sy_evalstats_count_at(sy_evalstats_t *s, int64_t ws, int64_t revision, size_t i, size_t n,
                           const void *flag, const char *key, size_t klen,
                           const sy_flag_result_t *r);
/* The owner thread counts one OFREP request of `kind` that took `ns`. */
void sy_evalstats_request(sy_evalstats_t *s, enum sy_ofrep_kind kind, int64_t ns);

/* Writes the families of every table, summed (any thread). */
void sy_evalstats_write(sy_evalstats_set_t *set, sy_prom_t *p);

#endif
