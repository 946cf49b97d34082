/* flagschema.h - flagd's JSON schema for flag-set documents, checked exactly.
 *
 * `--strict` means "what flagd's JSON schema accepts" (../shared/conformance/flagd/schema:
 * flags.json with targeting.json, draft-07, as ajv 8 validates them). The loader's own
 * checks (flag.h) follow flagd-core, which loads much the schema refuses; these functions
 * are the schema itself, definition by definition (the table atop flagschema.c), so that
 * strict mode agrees with a schema validator on every document. tests/integration/
 * schema_diff.sh proves it against ajv on the test-bed and thousands of mutations.
 *
 * Each check returns true when the value is valid; otherwise false with the first
 * violation found in `*err`: a path relative to the value (".variants.on", "[1][0]") and
 * one sentence. Pure: no allocation, no globals. Thread-safe.
 */
#ifndef SY_CORE_FLAGSCHEMA_H
#define SY_CORE_FLAGSCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/value.h"

typedef struct sy_schema_err {
    char path[128]; /* where, relative to the value checked ("" for the value itself) */
    char msg[160];  /* why, for a person */
} sy_schema_err_t;

/* The members a flag object may have, NULL-terminated (for unknown-member hints). */
extern const char *const sy_schema_flag_members[];
/* The members of a document the schema describes, NULL-terminated. */
extern const char *const sy_schema_document_members[];

/* A document's top level: an object with `flags`, an object whose keys match the
 * schema's key pattern (each flag is checked by sy_schema_flag), `$evaluators` (each
 * checked by sy_schema_rule), and `metadata` (sy_schema_set_metadata). Checks the keys
 * and types of those members only, not what they hold. */
bool sy_schema_document(const sy_value_t *doc, sy_schema_err_t *err);

/* True when `key` (`len` bytes) matches the schema's key pattern `^.{1,}$` as JavaScript
 * reads it (with the u flag): at least one character, and no line terminator (\n, \r,
 * U+2028, U+2029), since `.` matches none. Flag keys, variant names, evaluator names. */
bool sy_schema_key_ok(const char *key, size_t len);

/* One flag (flags.json's anyFlag): an object with `state` ENABLED or DISABLED and a
 * non-empty `variants` object whose values are all booleans, all strings, all numbers or
 * all objects; `defaultVariant` a string or null; `targeting` a rule (sy_schema_rule);
 * `metadata` an object of strings, numbers and booleans. Other members are allowed. */
bool sy_schema_flag(const sy_value_t *flag, sy_schema_err_t *err);

/* A targeting rule or an evaluator (targeting.json's root): an object that is empty or
 * one of its rules, operands checked operator by operator. */
bool sy_schema_rule(const sy_value_t *rule, sy_schema_err_t *err);

/* The document's `metadata`: an object of strings, numbers and booleans whose
 * `flagSetId` and `version`, when present, are strings. */
bool sy_schema_set_metadata(const sy_value_t *md, sy_schema_err_t *err);

#endif
