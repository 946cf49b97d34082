/* flag_json.h - flagd flags and documents between JSON and the engine's forms of them
 * (engine.h, "flags"): requests read into sy_flag_src_t and sy_flag_doc_t, and the
 * answers of GET /v1/flags, /v1/flags/{key} and /v1/flagset written from the texts the
 * engine gives back.
 *
 * A piece's text is jansson's compact writing of the tree its request was parsed into
 * (sy_json_loadb: integers as written unless one overflows int64, then every number a
 * double; 1e400 refused), and its value that tree with every number a double: what the
 * store has always held, so that the answers are byte for byte what they were. Answers
 * put the stored texts in as they are, without parsing them again; they are written as
 * jansson writes compactly (keys are names with no control characters, which
 * sy_text_string writes as jansson does).
 */
#ifndef SY_CODEC_FLAG_JSON_H
#define SY_CODEC_FLAG_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "codec/value_json.h"
#include "core/arena.h"
#include "core/err.h"
#include "engine/engine.h"

/* What GET /v1/flagset names as the document's "$schema". */
#define SY_FLAGD_SCHEMA "https://flagd.dev/schema/v0/flags.json"

/* Reads `j` (a flag object, or any JSON value of a document) into *out: its value and its
 * compact text, both in `arena` (they live as long as it does). 0; -EINVAL for a number
 * JSON cannot hold (NaN, infinity); -ENOMEM (`arena`'s cap, or the allocator). `err`
 * says which. */
int sy_flag_src_from_json(const json_t *j, sy_arena_t *arena, sy_flag_src_t *out, sy_err_t *err);

/* Reads flagd document `doc` into *out, everything in `arena`: its "flags" in order, its
 * "$evaluators" and "metadata" when present (whatever they hold: the engine's load judges
 * them). "$schema" and any other member are not read (the router refuses members the
 * document does not take). -EINVAL "flags" when `doc` is no object with a "flags" object;
 * then as sy_flag_src_from_json. */
int sy_flag_doc_from_json(const json_t *doc, sy_arena_t *arena, sy_flag_doc_t *out, sy_err_t *err);

/* {"key": key, "definition": json}: GET /v1/flags/{key}. */
void sy_flag_json_write(sy_text_t *t, const char *key, const char *json, size_t len);

/* GET /v1/flags: {"flags": [{"key", "definition"}...]}. _begin, then
 * sy_flag_list_json_add as sy_engine_flag_list's callback (arg: the writer), then _end. */
typedef struct sy_flag_list_json {
    sy_text_t *t;
    size_t n; /* flags written */
} sy_flag_list_json_t;
void sy_flag_list_json_begin(sy_flag_list_json_t *w, sy_text_t *t);
int sy_flag_list_json_add(void *arg, const char *key, const char *json, size_t len);
void sy_flag_list_json_end(sy_flag_list_json_t *w);

/* GET /v1/flagset: {"$schema": SY_FLAGD_SCHEMA, "flags": {...}, "$evaluators"?,
 * "metadata"?}. _begin, sy_engine_flagset_get with the sink of _sink, then _end. Each
 * callback returns 0 (a failed write shows in t->failed). */
typedef struct sy_flagset_json {
    sy_text_t *t;
    size_t n;         /* flags written */
    bool flags_ended; /* the "flags" object is closed */
} sy_flagset_json_t;
void sy_flagset_json_begin(sy_flagset_json_t *w, sy_text_t *t);
sy_flag_doc_sink_t sy_flagset_json_sink(sy_flagset_json_t *w);
void sy_flagset_json_end(sy_flagset_json_t *w);

#endif
