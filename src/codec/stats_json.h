/* stats_json.h - the JSON shapes of the statistics: inputs in, results out.
 *
 * One place owns the JSON a person sees for a statistical test, so that the CLI's
 * `--json`, the conformance runner and the HTTP API all print the same keys. The input
 * shapes are those of ../shared/conformance/stats/ (documented in docs/stats.md); every
 * optional parameter has the default docs/stats.md gives. Which test an input asks for
 * follows from its shape, or from an explicit "test" member.
 *
 * Ownership: every json_t returned is a new reference the caller releases with
 * json_decref. Inputs are borrowed for the call. Thread-safe (no globals).
 */
#ifndef SY_CODEC_STATS_JSON_H
#define SY_CODEC_STATS_JSON_H

#include <jansson.h>

#include "core/stats.h"

typedef enum sy_stats_kind {
    SY_STATS_UNKNOWN = 0,
    SY_STATS_ZTEST,      /* {control, treatment: {successes, trials}, alternative, pooled, ...} */
    SY_STATS_WELCH,      /* {control, treatment: {mean, sd, n}, alternative, confidence} */
    SY_STATS_SRM,        /* {observed: [...], weights: [...], alpha} */
    SY_STATS_POWER,      /* {baseline, mde_relative, alpha, power, ratio, n_control} */
    SY_STATS_NORMAL,     /* {x} or {p} */
    SY_STATS_BAYES,      /* {control, treatment: {successes, trials}, prior: {alpha, beta}} */
    SY_STATS_SEQUENTIAL, /* {metric, tau_squared, theta0, alpha, gb_tuning_parameter, looks} */
} sy_stats_kind_t;

/* Which test `input` (a JSON object) describes: its "test" member when present (one of
 * the names sy_stats_kind_name gives), else its shape. SY_STATS_UNKNOWN when neither
 * tells. */
sy_stats_kind_t sy_stats_json_kind(const json_t *input);

/* "ztest", "welch", "srm", "power", "normal", "bayes", "sequential"; "unknown". Static. */
const char *sy_stats_kind_name(sy_stats_kind_t kind);

/* Runs the test `input` describes. On success stores a new result object in *out and
 * returns 0. On failure returns the negative code of stats.h (-EINVAL for a malformed
 * input as well), fills `err` with the JSON path of the offending member
 * ("looks[2].control.trials") and leaves *out alone. -ENOMEM when jansson cannot
 * allocate. */
int sy_stats_json_eval(const json_t *input, json_t **out, sy_err_t *err);

/* Result objects, NULL when out of memory. Absent values (`has_*` false) are JSON null. */
json_t *sy_stats_json_ztest(const sy_ztest_t *r);
json_t *sy_stats_json_welch(const sy_welch_t *r);
json_t *sy_stats_json_srm(const sy_srm_t *r);
json_t *sy_stats_json_bayes(const sy_bayes_t *r);
json_t *sy_stats_json_seq_look(const sy_seq_look_t *r);
/* The result of a whole sequential test: {"looks": looks, "always_valid_p": final_p}.
 * Takes the reference to `looks` (also on failure). */
json_t *sy_stats_json_sequential(json_t *looks, double final_p);
/* Sample size and power together; either may be NULL and its keys are then left out. */
json_t *sy_stats_json_power(const sy_sample_size_t *size, const sy_power_t *power);

/* Prefixes err->field with the JSON path `base` its input came from ("looks[2]" and
 * "control.trials" give "looks[2].control.trials"), cut to fit. Returns `rc`, so a call
 * can be wrapped: rc = sy_stats_json_within(sy_stats_x(..., err), "looks[2]", err). Does
 * nothing when rc >= 0, err is NULL or base is "". */
int sy_stats_json_within(int rc, const char *base, sy_err_t *err);

/* {"error":{"code","message","field"}}: the shape of every error switchyard prints.
 * "field" is null when err->field is empty. */
json_t *sy_stats_json_error(const sy_err_t *err);

#endif
