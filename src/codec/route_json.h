/* route_json.h - a proxy route's JSON, as the API shows it, into the typed contract of
 * core/route_spec.h.
 *
 * The one place where a route's JSON becomes what the data plane serves: the engine turns
 * each definition it accepts into a spec here, once, when it is defined (or loaded), and
 * `switchyard proxy` turns what the server's API lists into its routes here, once a
 * change. Strict, so that no typo becomes a default: every key of the shape is required
 * (but `path_prefix`, absent for none), an unknown or misspelt key is an error naming it,
 * every value has its exact JSON type, and the result must pass sy_route_spec_check.
 *
 * The shape is a route as GET /v1/routes/{name} shows it (docs/api.md, "Routes"):
 *
 *   key                    JSON                               spec
 *   name                   string                             name
 *   listen                 "HOST:PORT"                        listen
 *   path_prefix?           "/..."                             path_prefix ("" absent)
 *   upstreams              {legacy, new}: {address,           up[SY_ROUTE_LEGACY|NEW]
 *                          connect_timeout_ms, read_timeout_ms,
 *                          keepalive}
 *   percentage             number 0..100, two decimals        percentage_bp
 *   enabled                bool                               enabled
 *   domains                [{name, rules: [RULE]}]            domains
 *     RULE                 {path_prefix: "/.."} | {header: {name, value}} |
 *                          {body_keywords: {field, words}} | {body_field: PATH}
 *   protected_domains      [domain name]                      domains[i].protected_domain
 *   routable_domains       [domain name]                      domains[i].routable,
 *                                                             routable_only (non-empty)
 *   prod_exec_domains      [domain name]                      domains[i].prod_exec
 *   sticky                 null | {header|cookie|body_field}  sticky
 *   breaker                {consecutive_failures, error_rate, breaker
 *                          min_requests, window_ms, open_ms,
 *                          probes}
 *   health                 {max_error_rate, max_p95_ms}       health
 *   plan                   null | {steps: [percentage],       has_plan, plan
 *                          hold_s, min_requests}
 *   inspect_body_bytes     integer                            inspect_body_bytes
 *   retry_non_idempotent   bool                               retry_non_idempotent
 *   created_ms, updated_ms integer                            created_ms, updated_ms
 *
 * Not in the shape, given by the caller: the workspace and its kill switch.
 *
 * Ownership: inputs are borrowed for the call; what is decoded is copied into the caller's
 * sy_routes_t (core/route_spec.h). Thread-safe (no globals).
 */
#ifndef SY_CODEC_ROUTE_JSON_H
#define SY_CODEC_ROUTE_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "core/route_spec.h"

/* Decodes route `o` (the shape above) of workspace `ws`, its kill switch `killed`, and
 * appends it to `into`. Returns 0; -EINVAL with err naming the first offending key as the
 * API does ("domains[70].rules[0].header", "upstreams.new.keepalive", "plan", or the
 * unknown key itself, "upstream"); -ENOMEM. A failed call leaves `into` with the routes it
 * had. */
int sy_route_spec_from_json(const json_t *o, int64_t ws, bool killed, sy_routes_t *into,
                            sy_err_t *err);

/* What `switchyard proxy` serves: `routes` is GET /v1/routes' answer ({"routes": [route]},
 * nothing else), `state` GET /v1/go-live/state's ({"kill_switch": {"engaged": bool, ...}};
 * only `engaged` is read, and is required). Every route gets workspace 0 (the token's) and
 * the kill switch. *out is returned owned (sy_routes_free) on success, NULL otherwise.
 * Returns 0; -EINVAL with err naming the key ("routes[2].domains[1].name",
 * "kill_switch.engaged"); -ENOMEM. */
int sy_routes_from_json(const json_t *routes, const json_t *state, sy_routes_t **out,
                        sy_err_t *err);

/* Route `s` in the shape above, as the API answers it: the inverse of
 * sy_route_spec_from_json (what it writes decodes to the same spec). Members in the order
 * the API has always written them (the definition, then name, percentage, enabled,
 * created_ms, updated_ms); protected, routable and prod_exec domains listed in the order
 * of `domains`; path_prefix absent when "". Returns owned, NULL when out of memory. */
json_t *sy_route_spec_to_json(const sy_route_spec_t *s);
/* {"routes": [route...]} of every route of `rs` (GET /v1/routes), in its order: what
 * sy_routes_from_json reads. Returns owned, NULL when out of memory. */
json_t *sy_routes_to_json(const sy_routes_t *rs);

#endif
