/* json_merge.h - JSON Merge Patch (RFC 7386): what PATCH /v1/experiments/{key} applies to
 * a definition.
 *
 * A patch that is an object merges into the target member by member: a member whose value
 * is null removes the target's member, an object merges into the target's member (made an
 * object first if it is not one), anything else replaces it. A patch that is not an object
 * replaces the whole target. Arrays are values, not merged.
 */
#ifndef SY_CODEC_JSON_MERGE_H
#define SY_CODEC_JSON_MERGE_H

#include <jansson.h>

/* `target` with `patch` applied: a new reference (returns owned), NULL when out of memory.
 * Borrows both; changes neither. */
json_t *sy_json_merge_patch(const json_t *target, const json_t *patch);

#endif
