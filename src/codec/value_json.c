/* value_json.c - JSON <-> sy_value_t; see value_json.h. */
#include "codec/value_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

int sy_value_from_json(const json_t *j, sy_arena_t *arena, sy_value_t *out)
{
    switch (json_typeof(j)) {
    case JSON_NULL:
        *out = SY_V_NULL;
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        *out = SY_V_BOOL(json_is_true(j));
        return 0;
    case JSON_INTEGER:
        *out = SY_V_NUM((double)json_integer_value(j));
        return 0;
    case JSON_REAL:
        if (!isfinite(json_real_value(j)))
            return -EINVAL;
        *out = SY_V_NUM(json_real_value(j));
        return 0;
    case JSON_STRING: {
        size_t len = json_string_length(j);
        if (len > SY_VALUE_MAX_LEN)
            return -ENOMEM;
        char *s = sy_arena_strdup(arena, json_string_value(j), len);
        if (!s)
            return -ENOMEM;
        *out = SY_V_STR(s, len);
        return 0;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        if (n > SY_VALUE_MAX_LEN)
            return -ENOMEM;
        sy_value_t *items = sy_arena_alloc(arena, sizeof(*items) * (n ? n : 1));
        if (!items)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
            int rc = sy_value_from_json(json_array_get(j, i), arena, &items[i]);
            if (rc < 0)
                return rc;
        }
        *out = (sy_value_t){.type = SY_ARR, .len = (uint32_t)n, .items = items};
        return 0;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(j);
        if (n > SY_VALUE_MAX_LEN)
            return -ENOMEM;
        sy_member_t *m = sy_arena_alloc(arena, sizeof(*m) * (n ? n : 1));
        if (!m)
            return -ENOMEM;
        size_t k = 0;
        const char *key;
        size_t klen;
        json_t *val;
        json_object_keylen_foreach((json_t *)j, key, klen, val)
        {
            char *kc = sy_arena_strdup(arena, key, klen);
            if (!kc)
                return -ENOMEM;
            m[k] = (sy_member_t){.key = kc, .klen = (uint32_t)klen};
            int rc = sy_value_from_json(val, arena, &m[k].val);
            if (rc < 0)
                return rc;
            k++;
        }
        *out = (sy_value_t){.type = SY_OBJ, .len = (uint32_t)k, .members = m};
        return 0;
    }
    }
    return -EINVAL;
}

json_t *sy_json_loadb(const char *text, size_t len, size_t flags, json_error_t *e)
{
    json_t *j = json_loadb(text, len, flags, e);
    if (!j && json_error_code(e) == json_error_numeric_overflow)
        j = json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL, e);
    return j;
}

struct dump {
    char *p;
    size_t len, cap;
    bool failed; /* an append ran out of memory: jansson may not say so */
};

static int dump_append(const char *buf, size_t n, void *arg)
{
    struct dump *d = arg;
    if (d->failed)
        return -1;
    if (d->len + n + 1 > d->cap) {
        size_t cap = d->cap ? d->cap : 256;
        while (cap < d->len + n + 1)
            cap *= 2;
        char *p = realloc(d->p, cap);
        if (!p) {
            d->failed = true;
            return -1;
        }
        d->p = p;
        d->cap = cap;
    }
    memcpy(d->p + d->len, buf, n);
    d->len += n;
    d->p[d->len] = 0;
    return 0;
}

char *sy_json_dumps(const json_t *j, size_t flags)
{
    struct dump d = {0};
    if (json_dump_callback(j, dump_append, &d, flags) < 0 || d.failed || !d.p) {
        free(d.p);
        return NULL;
    }
    return d.p;
}

json_t *sy_value_to_json(const sy_value_t *v)
{
    switch (v->type) {
    case SY_NULL:
        return json_null();
    case SY_BOOL:
        return json_boolean(v->b);
    case SY_NUM:
        if (v->n == trunc(v->n) && fabs(v->n) < 9007199254740992.0)
            return json_integer((json_int_t)v->n);
        return json_real(v->n);
    case SY_STR:
        return json_stringn(v->s, v->len);
    case SY_ARR: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < v->len; i++)
            if (json_array_append_new(a, sy_value_to_json(&v->items[i])) < 0) {
                json_decref(a);
                return NULL;
            }
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint32_t i = 0; o && i < v->len; i++) {
            const sy_member_t *m = &v->members[i];
            if (json_object_setn_new(o, m->key, m->klen, sy_value_to_json(&m->val)) < 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    }
}

/* ---- JSON text ------------------------------------------------------------------------ */

void sy_text_init(sy_text_t *t, char *buf, size_t cap)
{
    *t = (sy_text_t){.p = buf, .cap = cap};
}

static bool text_room(sy_text_t *t, size_t n)
{
    if (t->failed)
        return false;
    if (t->cap - t->len >= n)
        return true;
    size_t cap = t->cap ? t->cap * 2 : 256;
    while (cap - t->len < n)
        cap *= 2;
    char *p = t->heap ? realloc(t->p, cap) : malloc(cap);
    if (!p) {
        t->failed = true;
        return false;
    }
    if (!t->heap && t->len) /* (a text started with no buffer has none to copy) */
        memcpy(p, t->p, t->len);
    t->p = p;
    t->cap = cap;
    t->heap = true;
    return true;
}

void sy_text_put(sy_text_t *t, const char *s, size_t n)
{
    if (!text_room(t, n))
        return;
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

void sy_text_string(sy_text_t *t, const char *s, size_t n)
{
    /* Worst case: every byte becomes \u00XX. */
    if (!text_room(t, n * 6 + 2))
        return;
    char *o = t->p + t->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x80) { /* a valid sequence as it is; a byte of none as U+FFFD */
            size_t k = sy_utf8_seq(s + i, n - i);
            if (k == 0) {
                memcpy(o, "\xef\xbf\xbd", 3);
                o += 3;
            } else {
                memcpy(o, s + i, k);
                o += k;
                i += k - 1;
            }
            continue;
        }
        if (ch >= 0x20 && ch != '"' && ch != '\\') {
            *o++ = (char)ch;
            continue;
        }
        *o++ = '\\';
        switch (ch) {
        case '"':
        case '\\':
            *o++ = (char)ch;
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = "0123456789abcdef"[ch >> 4];
            *o++ = "0123456789abcdef"[ch & 15];
            break;
        }
    }
    *o++ = '"';
    t->len = (size_t)(o - t->p);
}

void sy_text_value(sy_text_t *t, const sy_value_t *v)
{
    char num[40];
    switch (v->type) {
    case SY_NULL:
        sy_text_put(t, "null", 4);
        break;
    case SY_BOOL:
        v->b ? sy_text_put(t, "true", 4) : sy_text_put(t, "false", 5);
        break;
    case SY_NUM: {
        size_t n;
        if (v->n == trunc(v->n) && fabs(v->n) < 9007199254740992.0)
            n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)v->n);
        else
            n = sy_num_format(v->n, num, sizeof(num));
        sy_text_put(t, num, n);
        break;
    }
    case SY_STR:
        sy_text_string(t, v->s, v->len);
        break;
    case SY_ARR:
        sy_text_put(t, "[", 1);
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                sy_text_put(t, ",", 1);
            sy_text_value(t, &v->items[i]);
        }
        sy_text_put(t, "]", 1);
        break;
    default:
        sy_text_put(t, "{", 1);
        for (uint32_t i = 0; i < v->len; i++) {
            const sy_member_t *m = &v->members[i];
            if (i)
                sy_text_put(t, ",", 1);
            sy_text_string(t, m->key, m->klen);
            sy_text_put(t, ":", 1);
            sy_text_value(t, &m->val);
        }
        sy_text_put(t, "}", 1);
        break;
    }
}

void sy_text_free(sy_text_t *t)
{
    if (t->heap)
        free(t->p);
    *t = (sy_text_t){0};
}
