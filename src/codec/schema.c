/* schema.c - reading a JSON object by its schema; see schema.h. */
#include "codec/schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"

const sy_field_t *sy_schema_field(const sy_schema_t *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return &s->fields[i];
    return NULL;
}

/* "at.name" (or "name" at the top) into `out`. */
static const char *path(char *out, size_t cap, const char *at, const char *name)
{
    snprintf(out, cap, "%.47s%s%.47s", at, *at ? "." : "", name);
    return out;
}

static bool text_ok(const char *s, size_t n, double lo, double hi)
{
    if ((double)n < lo || (double)n > hi)
        return false;
    bool ascii = true; /* most are: then one pass is all it takes */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        ascii = ascii && c < 0x80;
    }
    return ascii || sy_utf8_valid(s, n);
}

static bool number_ok(const sy_field_t *f, double v)
{
    return isfinite(v) && (f->lo_open ? v > f->lo : v >= f->lo) && v <= f->hi;
}

/* Member `f` of value `v` into `out`: 0 or -EINVAL. `at` is the path of the object that
 * holds it: the member's own path is made only when it is needed (an error, a nested
 * object), not for every member of every request (KPI batches read 10,000 objects). */
static int read_field(const sy_field_t *f, const json_t *v, void *out, const char *where,
                      sy_err_t *err)
{
    char name[96]; /* an error's field keeps what fits */
    char *at = (char *)out + f->at;
    switch (f->kind) {
    case SY_K_TEXT:
        if (!json_is_string(v) ||
            !text_ok(json_string_value(v), json_string_length(v), f->lo ? f->lo : 1, f->hi))
            break;
        *(const char **)at = json_string_value(v);
        return 0;
    case SY_K_BOOL:
        if (!json_is_boolean(v))
            break;
        *(bool *)at = json_is_true(v);
        return 0;
    case SY_K_NUMBER:
        if (!json_is_number(v) || !number_ok(f, json_number_value(v)))
            break;
        *(double *)at = json_number_value(v);
        return 0;
    case SY_K_INT: {
        /* 3 and 3.0 are one JSON number; a body holding an integer past int64 anywhere is
         * read with every number a double (sy_json_loadb), so an integral double is one */
        double d = json_number_value(v);
        if (!(json_is_integer(v) ||
              (json_is_real(v) && d == trunc(d) && fabs(d) <= 9007199254740992.0)) ||
            !number_ok(f, d))
            break;
        *(int64_t *)at = json_is_integer(v) ? json_integer_value(v) : (int64_t)d;
        return 0;
    }
    case SY_K_LIMIT:
        if (json_is_null(v)) {
            *(sy_limit_t *)at = (sy_limit_t){0};
            return 0;
        }
        if (!json_is_number(v) || !number_ok(f, json_number_value(v)))
            break;
        *(sy_limit_t *)at = (sy_limit_t){.set = true, .v = json_number_value(v)};
        return 0;
    case SY_K_OBJECT:
        if (!json_is_object(v))
            break;
        return sy_schema_read(f->sub, v, at, path(name, sizeof(name), where, f->name), err);
    case SY_K_JSON:
        *(const json_t **)at = v;
        return 0;
    }
    return sy_err_set(err, -EINVAL, path(name, sizeof(name), where, f->name), "%s is %s", f->name,
                      f->says);
}

int sy_schema_read(const sy_schema_t *s, const json_t *obj, void *out, const char *at,
                   sy_err_t *err)
{
    char name[96]; /* an error's field keeps what fits */
    if (!json_is_object(obj))
        return sy_err_set(err, -EINVAL, at, "%s is a JSON object", *at ? at : "the body");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (!sy_schema_field(s, k))
            return sy_err_set(err, SY_EUNKNOWN, path(name, sizeof(name), at, k),
                              "unknown field \"%.64s\"", k);
    }
    for (size_t i = 0; i < s->n; i++) {
        const sy_field_t *f = &s->fields[i];
        v = json_object_get(obj, f->name);
        if (!v) {
            if (f->required)
                return sy_err_set(err, -EINVAL, path(name, sizeof(name), at, f->name),
                                  "%s is required: %s", f->name, f->says);
            continue;
        }
        int rc = read_field(f, v, out, at, err);
        if (rc < 0)
            return rc;
        if (f->given != SY_UNTRACKED)
            *(bool *)((char *)out + f->given) = true;
    }
    return 0;
}
