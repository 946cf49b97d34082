/* flags_json.h - the engine's flag API as the tests call it: JSON in and out, through
 * codec/flag_json.h as http/ does (a flag or document read into the engine's form, the
 * answers written from the texts it gives back and parsed as a client would). Each call
 * fails as the engine does, or with -ENOMEM and a message when the codec runs out. */
#ifndef SY_TEST_FLAGS_JSON_H
#define SY_TEST_FLAGS_JSON_H

#include <stdlib.h>
#include <string.h>

#include "codec/flag_json.h"
#include "engine/engine.h"

#define FLAGS_JSON_ARENA ((size_t)64 << 20)

static inline int flag_put_json(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                                const json_t *def, bool *created, sy_problems_t *problems,
                                sy_err_t *err)
{
    sy_arena_t arena;
    sy_arena_init(&arena, FLAGS_JSON_ARENA);
    sy_flag_src_t src;
    int rc = sy_flag_src_from_json(def, &arena, &src, err);
    if (rc == 0)
        rc = sy_engine_flag_put(eng, who, key, &src, created, problems, err);
    sy_arena_free(&arena);
    return rc;
}

static inline int flagset_put_json(sy_engine_t *eng, const sy_principal_t *who, const json_t *doc,
                                   sy_problems_t *problems, sy_err_t *err)
{
    sy_arena_t arena;
    sy_arena_init(&arena, FLAGS_JSON_ARENA);
    sy_flag_doc_t d;
    int rc = sy_flag_doc_from_json(doc, &arena, &d, err);
    if (rc == 0)
        rc = sy_engine_flagset_put(eng, who, &d, problems, err);
    sy_arena_free(&arena);
    return rc;
}

/* The text `t` (freed) parsed as a client would; NULL when it failed. */
static inline json_t *flags_json_parse(sy_text_t *t)
{
    json_error_t je;
    json_t *j = t->failed ? NULL : sy_json_loadb(t->p, t->len, 0, &je);
    sy_text_free(t);
    return j;
}

/* The flag's definition as JSON (a new reference), or the engine's error. */
static inline int flag_get_json(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                                json_t **out, sy_err_t *err)
{
    char *def = NULL;
    *out = NULL;
    int rc = sy_engine_flag_get(eng, who, key, &def, err);
    if (rc == 0) {
        json_error_t je;
        *out = sy_json_loadb(def, strlen(def), 0, &je);
        if (!*out)
            rc = sy_err_set(err, -ENOMEM, "", "out of memory");
    }
    free(def);
    return rc;
}

/* GET /v1/flags's answer, or NULL. */
static inline json_t *flag_list_json(sy_engine_t *eng, const sy_principal_t *who)
{
    sy_text_t t;
    sy_text_init(&t, (char[1]){0}, 0);
    sy_flag_list_json_t w;
    sy_flag_list_json_begin(&w, &t);
    int rc = sy_engine_flag_list(eng, who, sy_flag_list_json_add, &w, NULL);
    sy_flag_list_json_end(&w);
    if (rc < 0)
        t.failed = true;
    return flags_json_parse(&t);
}

/* GET /v1/flagset's answer, or NULL. */
static inline json_t *flagset_get_json(sy_engine_t *eng, const sy_principal_t *who)
{
    sy_text_t t;
    sy_text_init(&t, (char[1]){0}, 0);
    sy_flagset_json_t w;
    sy_flagset_json_begin(&w, &t);
    sy_flag_doc_sink_t sink = sy_flagset_json_sink(&w);
    int rc = sy_engine_flagset_get(eng, who, &sink, NULL);
    sy_flagset_json_end(&w);
    if (rc < 0)
        t.failed = true;
    return flags_json_parse(&t);
}

#endif
