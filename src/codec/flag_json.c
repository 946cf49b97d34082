/* flag_json.c - flagd flags and documents as the engine takes and gives them; see
 * flag_json.h. */
#include "codec/flag_json.h"

#include <stdlib.h>
#include <string.h>

int sy_flag_src_from_json(const json_t *j, sy_arena_t *arena, sy_flag_src_t *out, sy_err_t *err)
{
    char *text = sy_json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = text ? strlen(text) : 0;
    sy_value_t *v = text ? sy_arena_alloc(arena, sizeof(*v)) : NULL;
    char *kept = v ? sy_arena_strdup(arena, text, len) : NULL;
    int rc = kept ? sy_value_from_json(j, arena, v) : -ENOMEM;
    free(text);
    if (rc == -EINVAL)
        return sy_err_set(err, rc, "", "a number JSON cannot hold");
    if (rc < 0)
        return sy_err_set(err, rc, "", "out of memory");
    *out = (sy_flag_src_t){.value = v, .json = kept, .len = len};
    return 0;
}

/* Member `name` of `doc` into a new sy_flag_src_t of `arena` (*out NULL when absent). */
static int member(const json_t *doc, const char *name, sy_arena_t *arena, const sy_flag_src_t **out,
                  sy_err_t *err)
{
    const json_t *j = json_object_get(doc, name);
    *out = NULL;
    if (!j)
        return 0;
    sy_flag_src_t *s = sy_arena_alloc(arena, sizeof(*s));
    if (!s)
        return sy_err_set(err, -ENOMEM, "", "out of memory");
    int rc = sy_flag_src_from_json(j, arena, s, err);
    if (rc == 0)
        *out = s;
    return rc;
}

int sy_flag_doc_from_json(const json_t *doc, sy_arena_t *arena, sy_flag_doc_t *out, sy_err_t *err)
{
    const json_t *flags = json_object_get(doc, "flags");
    if (!json_is_object(doc) || !json_is_object(flags))
        return sy_err_set(err, -EINVAL, "flags", "a flagd document is an object with \"flags\"");
    size_t n = json_object_size(flags), i = 0;
    sy_flag_doc_entry_t *e = sy_arena_alloc(arena, sizeof(*e) * (n ? n : 1));
    if (!e)
        return sy_err_set(err, -ENOMEM, "", "out of memory");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)flags, k, v)
    {
        if (!(e[i].key = sy_arena_strdup(arena, k, strlen(k))))
            return sy_err_set(err, -ENOMEM, "", "out of memory");
        int rc = sy_flag_src_from_json(v, arena, &e[i].def, err);
        if (rc < 0)
            return rc;
        i++;
    }
    *out = (sy_flag_doc_t){.flags = e, .n = n};
    int rc = member(doc, "$evaluators", arena, &out->evaluators, err);
    return rc < 0 ? rc : member(doc, "metadata", arena, &out->metadata, err);
}

/* ---- answers --------------------------------------------------------------------------- */

static void put_s(sy_text_t *t, const char *s)
{
    sy_text_put(t, s, strlen(s));
}

void sy_flag_json_write(sy_text_t *t, const char *key, const char *json, size_t len)
{
    put_s(t, "{\"key\":");
    sy_text_string(t, key, strlen(key));
    put_s(t, ",\"definition\":");
    sy_text_put(t, json, len);
    put_s(t, "}");
}

void sy_flag_list_json_begin(sy_flag_list_json_t *w, sy_text_t *t)
{
    *w = (sy_flag_list_json_t){.t = t};
    put_s(t, "{\"flags\":[");
}

int sy_flag_list_json_add(void *arg, const char *key, const char *json, size_t len)
{
    sy_flag_list_json_t *w = arg;
    if (w->n++)
        put_s(w->t, ",");
    sy_flag_json_write(w->t, key, json, len);
    return 0;
}

void sy_flag_list_json_end(sy_flag_list_json_t *w)
{
    put_s(w->t, "]}");
}

void sy_flagset_json_begin(sy_flagset_json_t *w, sy_text_t *t)
{
    *w = (sy_flagset_json_t){.t = t};
    put_s(t, "{\"$schema\":");
    sy_text_string(t, SY_FLAGD_SCHEMA, strlen(SY_FLAGD_SCHEMA));
    put_s(t, ",\"flags\":{");
}

/* "key":json, after a comma unless first. */
static void pair(sy_text_t *t, bool first, const char *key, const char *json, size_t len)
{
    if (!first)
        put_s(t, ",");
    sy_text_string(t, key, strlen(key));
    put_s(t, ":");
    sy_text_put(t, json, len);
}

static int flagset_flag(void *arg, const char *key, const char *json, size_t len)
{
    sy_flagset_json_t *w = arg;
    pair(w->t, w->n++ == 0, key, json, len);
    return 0;
}

static void end_flags(sy_flagset_json_t *w)
{
    if (!w->flags_ended)
        put_s(w->t, "}");
    w->flags_ended = true;
}

static int flagset_member(void *arg, const char *name, const char *json, size_t len)
{
    sy_flagset_json_t *w = arg;
    end_flags(w);
    pair(w->t, false, name, json, len);
    return 0;
}

sy_flag_doc_sink_t sy_flagset_json_sink(sy_flagset_json_t *w)
{
    return (sy_flag_doc_sink_t){.flag = flagset_flag, .member = flagset_member, .arg = w};
}

void sy_flagset_json_end(sy_flagset_json_t *w)
{
    end_flags(w);
    put_s(w->t, "}");
}
