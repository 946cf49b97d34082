/* timeline_json.h - a point of an experiment's timeline as the store keeps it and
 * GET /v1/experiments/{key}/timeline answers it (docs/api.md, "Timeline").
 *
 * The point is written from the same sy_exp_results_t the results answer: nothing here is
 * computed but the choice of the p-value and SRM p that match the test in use. Writers
 * return a new reference (NULL when out of memory); inputs are borrowed.
 */
#ifndef SY_CODEC_TIMELINE_JSON_H
#define SY_CODEC_TIMELINE_JSON_H

#include <jansson.h>

#include "engine/engine.h"

/* {"at_ms", "cause", "weights": {variant: points}, "variants": [{"key", "units",
 * "conversions", "rate", "interval": [lo, hi]}], "comparisons": [{"variant", "lift",
 * "interval": [lo, hi], "p_value", "confidence"}], "srm_p", "decision", "health"}: the rate is the
 * mean for a mean metric; intervals and p-values are the always-valid ones when the
 * experiment is sequential; null for what cannot be computed yet. "health" is the health
 * monitor's view as GET .../health gives it (codec/monitor_json.h), null while no variant
 * is watched. */
json_t *sy_timeline_point_json(const sy_exp_results_t *x, const sy_health_view_t *health,
                               int64_t at_ms, const char *cause);

#endif
