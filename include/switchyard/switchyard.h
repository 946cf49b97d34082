/* switchyard.h - evaluate flagd feature flags in-process, bit for bit as flagd does.
 *
 * Load a flagd flag-set document once (sy_flags_load), then evaluate its flags as often
 * as you like from any number of threads (sy_eval_bool, sy_eval_string, ...). No server,
 * no JSON library needed in your code: contexts are built with sy_context_set_*.
 *
 *     sy_flags_t *flags;
 *     if (sy_flags_load_file(&flags, "flags.json", 0, NULL) < 0) ...
 *     sy_context_t *ctx;
 *     sy_context_new(&ctx);
 *     sy_context_set_targeting_key(ctx, "user-42");
 *     sy_context_set_string(ctx, "country", "DE");
 *     bool on = sy_eval_bool(flags, "new-checkout", ctx, false, NULL);
 *
 * Conventions: functions that can fail return 0 or a negative errno (-EINVAL bad input,
 * -ENOMEM out of memory, -ENOENT no such file); evaluation never fails, it returns the
 * flag's value or your default and says why in the optional sy_eval_details_t. Every
 * handle has one create and one free, and free accepts NULL.
 *
 * Threads: a loaded sy_flags_t is immutable and may be evaluated from many threads at
 * once. A sy_context_t belongs to one thread at a time. To change flags, load a new set
 * and swap your pointer; a failed load leaves your current set untouched.
 *
 * Link with `pkg-config --cflags --libs switchyard`.
 */
#ifndef SWITCHYARD_H
#define SWITCHYARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SY_API __attribute__((visibility("default")))
#else
#define SY_API
#endif

#define SWITCHYARD_VERSION "0.1.0"

/* ---- loading flags ------------------------------------------------------------------ */

typedef struct sy_flags sy_flags_t; /* a loaded flag set: immutable, thread-safe */

/* Options for sy_flags_load, or-ed together. */
#define SY_LOAD_STRICT        0x1u /* refuse exactly what flagd's JSON schema rejects, too */
#define SY_LOAD_FRACTIONAL_V1 0x2u /* bucket `fractional` as flagd <= 0.14 did */

#define SY_LOAD_MAX_ISSUES 32

typedef struct sy_load_issue {
    int is_error;      /* 1: this problem refused the document; 0: a warning */
    char flag[64];     /* the flag concerned, "" for the document */
    char path[128];    /* JSON path, e.g. flags.new-checkout.targeting.if[0] */
    char message[160]; /* one sentence for a person */
} sy_load_issue_t;

/* What a load found. `issues` holds the first SY_LOAD_MAX_ISSUES; the counts are complete. */
typedef struct sy_load_report {
    size_t errors;   /* problems that refuse the document */
    size_t warnings; /* problems that do not refuse it: what only flagd's schema rejects
                      * (under SY_LOAD_STRICT the schema's own errors replace these),
                      * members a flag does not have ("did you mean ...?") */
    size_t count;    /* entries used in `issues` */
    sy_load_issue_t issues[SY_LOAD_MAX_ISSUES];
} sy_load_report_t;

/* Loads a flagd document from `len` bytes of JSON. On success *out is a new set and
 * `report` (optional) lists warnings. Returns 0; -EINVAL when the document is invalid
 * (every problem in `report`); -ENOMEM. */
SY_API int sy_flags_load(sy_flags_t **out, const char *json, size_t len, unsigned options,
                         sy_load_report_t *report);

/* The same, reading the file at `path` (at most 64 MiB); -ENOENT and other errnos for
 * files that cannot be read. */
SY_API int sy_flags_load_file(sy_flags_t **out, const char *path, unsigned options,
                              sy_load_report_t *report);

SY_API void sy_flags_free(sy_flags_t *flags);

/* Number of flags, and the key of the i-th in document order (valid while `flags` lives). */
SY_API size_t sy_flags_count(const sy_flags_t *flags);
SY_API const char *sy_flags_key(const sy_flags_t *flags, size_t i);

/* ---- evaluation contexts ------------------------------------------------------------ */

typedef struct sy_context sy_context_t; /* attributes of who or what is evaluated */

SY_API int sy_context_new(sy_context_t **out);
SY_API void sy_context_free(sy_context_t *ctx);

/* Removes every attribute (and the time), keeping the memory for reuse. */
SY_API void sy_context_clear(sy_context_t *ctx);

/* Sets attribute `key` (replacing an earlier value of the same key at the same level).
 * Inside sy_context_begin_array, `key` is ignored and the value is appended. Strings are
 * copied as given (bytes; UTF-8 is not checked). Replacing an attribute's string reuses its
 * bytes: a context reused per request, with values of any lengths, stops growing. Returns
 * 0; -EINVAL for a NULL key outside an array, or a NaN or infinite number; -ENOMEM. */
SY_API int sy_context_set_string(sy_context_t *ctx, const char *key, const char *value);
SY_API int sy_context_set_number(sy_context_t *ctx, const char *key, double value);
SY_API int sy_context_set_bool(sy_context_t *ctx, const char *key, bool value);
SY_API int sy_context_set_null(sy_context_t *ctx, const char *key);

/* The targeting key (what `fractional` buckets by): "targetingKey" at the top level of the
 * context, whatever object or array is open. Cheap to call once per request on a reused
 * context. */
SY_API int sy_context_set_targeting_key(sy_context_t *ctx, const char *key);

/* Nested values: begin an object or array as attribute `key`, set its members, end it.
 * At most 16 levels. Returns -EINVAL for an end without a begin. */
SY_API int sy_context_begin_object(sy_context_t *ctx, const char *key);
SY_API int sy_context_begin_array(sy_context_t *ctx, const char *key);
SY_API int sy_context_end(sy_context_t *ctx);

/* The time `$flagd.timestamp` reports, in Unix seconds; 0 (the default) reads the clock
 * at each evaluation. */
SY_API void sy_context_set_time(sy_context_t *ctx, int64_t unix_seconds);

/* ---- evaluating --------------------------------------------------------------------- */

typedef enum sy_eval_reason {
    SY_EVAL_STATIC = 0,      /* no targeting: the default variant */
    SY_EVAL_TARGETING_MATCH, /* targeting chose the variant */
    SY_EVAL_DEFAULT,         /* targeting chose nothing: the default variant (or yours) */
    SY_EVAL_DISABLED,        /* the flag is disabled: your default */
    SY_EVAL_ERROR,           /* see `error`: your default */
} sy_eval_reason_t;

typedef enum sy_eval_error {
    SY_EVAL_OK = 0,
    SY_EVAL_FLAG_NOT_FOUND,
    SY_EVAL_TYPE_MISMATCH,
    SY_EVAL_PARSE_ERROR,
    SY_EVAL_TARGETING_KEY_MISSING,
    SY_EVAL_INVALID_CONTEXT,
    SY_EVAL_GENERAL,
} sy_eval_error_t;

/* Why an evaluation answered what it did. Pointers are valid while the sy_flags_t lives. */
typedef struct sy_eval_details {
    sy_eval_reason_t reason;
    sy_eval_error_t error;
    const char *variant;  /* the variant served, NULL when your default was returned */
    char message[160];    /* for errors, one sentence; "" otherwise */
    const void *metadata; /* read with sy_details_metadata_* */
} sy_eval_details_t;

/* Typed evaluation of flag `key` for `ctx` (NULL for an empty context). Each returns the
 * variant's value when the flag resolves to one of the requested type, else `dflt`, and
 * fills `details` when not NULL. sy_eval_int wants a number that is an integer in int64
 * range (else TYPE_MISMATCH). Strings returned are valid while `flags` lives (or are
 * `dflt`). */
SY_API bool sy_eval_bool(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                         bool dflt, sy_eval_details_t *details);
SY_API const char *sy_eval_string(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                                  const char *dflt, sy_eval_details_t *details);
SY_API int64_t sy_eval_int(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                           int64_t dflt, sy_eval_details_t *details);
SY_API double sy_eval_float(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                            double dflt, sy_eval_details_t *details);

/* An object flag, written as compact JSON into `buf` (`dflt_json` when the flag does not
 * resolve to an object). Returns the length of the whole JSON text; a result >= `cap`
 * means `buf` holds a truncated copy (snprintf's rule). */
SY_API size_t sy_eval_object(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                             const char *dflt_json, char *buf, size_t cap,
                             sy_eval_details_t *details);

/* Stable names: "STATIC", "TARGETING_MATCH", ...; "FLAG_NOT_FOUND", ... ("" for OK). */
SY_API const char *sy_eval_reason_name(sy_eval_reason_t reason);
SY_API const char *sy_eval_error_name(sy_eval_error_t error);

/* ---- metadata ----------------------------------------------------------------------- */

/* A metadata value: flagd allows strings, numbers and booleans. */
typedef struct sy_meta_value {
    enum { SY_META_STRING, SY_META_NUMBER, SY_META_BOOL, SY_META_OTHER } type;
    const char *string; /* SY_META_STRING (NUL-terminated) */
    double number;      /* SY_META_NUMBER */
    bool boolean;       /* SY_META_BOOL */
} sy_meta_value_t;

/* The flag's metadata (flag-set metadata merged under the flag's own) of an evaluation. */
SY_API size_t sy_details_metadata_count(const sy_eval_details_t *details);
/* The i-th entry: its key (returned) and value. NULL when i is out of range. */
SY_API const char *sy_details_metadata_entry(const sy_eval_details_t *details, size_t i,
                                             sy_meta_value_t *value);

#ifdef __cplusplus
}
#endif

#endif
