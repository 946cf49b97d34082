/* switchyard.c - the embeddable library: include/switchyard/switchyard.h over core/flag.
 *
 * This layer owns what core must not do: reading files, reading the clock, the C
 * allocator for contexts, and the translation between the public types and core's.
 * Evaluation itself stays allocation-free: each call gives core a 16 KiB scratch on
 * its own stack, so any number of threads can evaluate one set at once.
 */
#define _DEFAULT_SOURCE
#include "switchyard/switchyard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "codec/value_json.h"
#include "core/flagset.h"

_Static_assert((int)SY_EVAL_ERROR == (int)SY_REASON_ERROR, "reasons line up with core");
_Static_assert((int)SY_EVAL_GENERAL == (int)SY_FLAG_GENERAL, "error codes line up with core");

#define DOC_MAX       ((size_t)64 << 20) /* largest flag document */
#define DOC_ARENA_MAX ((size_t)1 << 30)  /* memory a document's parse may use */
#define SCRATCH_BYTES 16384
#define CTX_MAX_DEPTH 16

struct sy_flags {
    sy_flagset_t *set;
    const char **keys; /* NUL-terminated keys in document order, for sy_flags_key */
};

/* ---- loading ------------------------------------------------------------------------ */

static void fill_report(sy_load_report_t *report, const sy_problems_t *p, const sy_err_t *parse)
{
    if (!report)
        return;
    memset(report, 0, sizeof(*report));
    if (parse) {
        report->errors = 1;
        report->count = 1;
        report->issues[0].is_error = 1;
        snprintf(report->issues[0].path, sizeof(report->issues[0].path), "$");
        snprintf(report->issues[0].message, sizeof(report->issues[0].message), "%s", parse->msg);
        return;
    }
    report->errors = p->errors;
    report->warnings = p->total - p->errors;
    report->count = p->n;
    for (size_t i = 0; i < p->n; i++) {
        sy_load_issue_t *it = &report->issues[i];
        it->is_error = p->items[i].error;
        snprintf(it->flag, sizeof(it->flag), "%s", p->items[i].flag);
        snprintf(it->path, sizeof(it->path), "%s", p->items[i].path);
        snprintf(it->message, sizeof(it->message), "%s", p->items[i].msg);
    }
}

SY_API int sy_flags_load(sy_flags_t **out, const char *json, size_t len, unsigned options,
                         sy_load_report_t *report)
{
    if (!out || (!json && len))
        return -EINVAL;
    sy_arena_t arena;
    sy_arena_init(&arena, DOC_ARENA_MAX);
    sy_value_t doc;
    sy_err_t err = {0};
    int rc = sy_value_parse(json ? json : "", len, &arena, &doc, &err);
    if (rc < 0) {
        sy_arena_free(&arena);
        fill_report(report, NULL, &err);
        return rc;
    }
    sy_problem_t items[SY_LOAD_MAX_ISSUES];
    sy_problems_t problems = {.items = items, .cap = SY_LOAD_MAX_ISSUES};
    sy_flagset_opts_t opts = {
        .strict = options & SY_LOAD_STRICT,
        .fractional = options & SY_LOAD_FRACTIONAL_V1 ? SY_FRACTIONAL_V1 : SY_FRACTIONAL_V2,
    };
    sy_flagset_t *set;
    rc = sy_flagset_load(&set, &arena, &doc, &opts, &problems); /* takes the arena */
    fill_report(report, &problems, NULL);
    if (rc < 0)
        return rc;
    sy_flags_t *f = calloc(1, sizeof(*f));
    size_t n = sy_flagset_count(set);
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    if (!f || !keys) {
        free(f);
        free(keys);
        sy_flagset_free(set);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t klen;
        keys[i] = sy_flagset_key(set, i, &klen); /* the loader NUL-terminates every string */
    }
    f->set = set;
    f->keys = keys;
    *out = f;
    return 0;
}

SY_API int sy_flags_load_file(sy_flags_t **out, const char *path, unsigned options,
                              sy_load_report_t *report)
{
    if (!out || !path)
        return -EINVAL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -errno;
    char *buf = malloc(DOC_MAX + 1);
    if (!buf) {
        fclose(fp);
        return -ENOMEM;
    }
    size_t len = fread(buf, 1, DOC_MAX + 1, fp);
    int rc = ferror(fp) ? -EIO : len > DOC_MAX ? -EFBIG : 0;
    fclose(fp);
    if (rc == 0)
        rc = sy_flags_load(out, buf, len, options, report);
    free(buf);
    return rc;
}

SY_API void sy_flags_free(sy_flags_t *flags)
{
    if (!flags)
        return;
    sy_flagset_free(flags->set);
    free(flags->keys);
    free(flags);
}

SY_API size_t sy_flags_count(const sy_flags_t *flags)
{
    return sy_flagset_count(flags->set);
}

SY_API const char *sy_flags_key(const sy_flags_t *flags, size_t i)
{
    return i < sy_flagset_count(flags->set) ? flags->keys[i] : NULL;
}

/* ---- contexts ----------------------------------------------------------------------- */

/* String bytes of ours that a member's next string value may overwrite: a context reused
 * per request (a new targeting key each time) then stops growing, whatever the order of
 * the values' lengths. */
struct room {
    char *buf; /* in `strings`; NULL: none yet */
    size_t size;
};

/* A level being built: the root object, or an object or array begun and not yet ended. */
struct frame {
    bool is_array;
    char *key;            /* the key this level gets in its parent (heap) */
    sy_member_t *members; /* object members (heap); keys and strings live in `strings` */
    struct room *rooms;   /* per member (heap) */
    sy_value_t *items;    /* array items (heap) */
    size_t n, cap, rooms_cap;
};

struct sy_context {
    struct frame frames[CTX_MAX_DEPTH + 1]; /* [0] is the root object */
    int depth;
    sy_arena_t strings; /* keys, string values and finished nested levels */
    sy_value_t root;    /* the root object as core reads it (frames[0]) */
    int64_t now_s;      /* 0: read the clock */
    size_t tk_slot;     /* index of targetingKey among the root's members, if set */
};

SY_API int sy_context_new(sy_context_t **out)
{
    sy_context_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    sy_arena_init(&c->strings, (size_t)64 << 20);
    c->root = (sy_value_t){.type = SY_OBJ};
    *out = c;
    return 0;
}

static void free_frame(struct frame *f)
{
    free(f->key);
    free(f->members);
    free(f->rooms);
    free(f->items);
    *f = (struct frame){0};
}

SY_API void sy_context_free(sy_context_t *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i <= CTX_MAX_DEPTH; i++)
        free_frame(&ctx->frames[i]);
    sy_arena_free(&ctx->strings);
    free(ctx);
}

SY_API void sy_context_clear(sy_context_t *ctx)
{
    for (int i = 1; i <= CTX_MAX_DEPTH; i++)
        free_frame(&ctx->frames[i]);
    ctx->frames[0].n = 0;
    ctx->depth = 0;
    sy_arena_free(&ctx->strings);
    ctx->root = (sy_value_t){.type = SY_OBJ, .members = ctx->frames[0].members};
    ctx->now_s = 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* The index of `key` among the current object's members, or -1. */
static ptrdiff_t member_index(const struct frame *f, const char *key, size_t klen)
{
    for (size_t i = 0; i < f->n; i++)
        if (sy_bytes_eq(f->members[i].key, f->members[i].klen, key, klen))
            return (ptrdiff_t)i;
    return -1;
}

/* Stores `v` under `key` in the current level (replacing an existing key of an object).
 * Returns the member's or item's index, or a negative errno. */
static ptrdiff_t put(sy_context_t *ctx, const char *key, sy_value_t v)
{
    struct frame *f = &ctx->frames[ctx->depth];
    if (f->is_array) {
        if (f->n >= SY_VALUE_MAX_LEN ||
            grow((void **)&f->items, &f->cap, f->n + 1, sizeof(*f->items)))
            return -ENOMEM;
        f->items[f->n++] = v;
        return (ptrdiff_t)f->n - 1;
    }
    if (!key)
        return -EINVAL;
    size_t klen = strlen(key);
    ptrdiff_t i = member_index(f, key, klen);
    if (i >= 0) {
        f->members[i].val = v;
        return i;
    }
    size_t cap = f->cap;
    if (klen > SY_VALUE_MAX_LEN || f->n >= SY_VALUE_MAX_LEN ||
        grow((void **)&f->members, &f->cap, f->n + 1, sizeof(*f->members)) ||
        grow((void **)&f->rooms, &cap, f->n + 1, sizeof(*f->rooms)))
        return -ENOMEM;
    char *k = sy_arena_strdup(&ctx->strings, key, klen);
    if (!k)
        return -ENOMEM;
    f->rooms[f->n] = (struct room){0};
    f->members[f->n++] = (sy_member_t){.key = k, .klen = (uint32_t)klen, .val = v};
    if (ctx->depth == 0)
        ctx->root = (sy_value_t){.type = SY_OBJ, .len = (uint32_t)f->n, .members = f->members};
    return (ptrdiff_t)f->n - 1;
}

SY_API int sy_context_set_string(sy_context_t *ctx, const char *key, const char *value)
{
    if (!value)
        return sy_context_set_null(ctx, key);
    size_t len = strlen(value);
    if (len > SY_VALUE_MAX_LEN)
        return -EINVAL;
    struct frame *f = &ctx->frames[ctx->depth];
    ptrdiff_t i = key && !f->is_array ? member_index(f, key, strlen(key)) : -1;
    if (i >= 0 && f->rooms[i].size > len) {
        memcpy(f->rooms[i].buf, value, len + 1);
        f->members[i].val = SY_V_STR(f->rooms[i].buf, len);
        return 0;
    }
    /* Room to spare, doubling: however the lengths of a member's values go up and down,
     * it is reallocated O(log longest) times. */
    size_t size = 16;
    while (size <= len)
        size *= 2;
    char *s = sy_arena_alloc(&ctx->strings, size);
    if (!s)
        return -ENOMEM;
    memcpy(s, value, len + 1);
    i = put(ctx, key, SY_V_STR(s, len));
    if (i < 0)
        return (int)i;
    if (!f->is_array)
        f->rooms[i] = (struct room){.buf = s, .size = size};
    return 0;
}

SY_API int sy_context_set_number(sy_context_t *ctx, const char *key, double value)
{
    if (value != value || value - value != 0)
        return -EINVAL; /* NaN and infinities are not JSON */
    ptrdiff_t rc = put(ctx, key, SY_V_NUM(value));
    return rc < 0 ? (int)rc : 0;
}

SY_API int sy_context_set_bool(sy_context_t *ctx, const char *key, bool value)
{
    ptrdiff_t rc = put(ctx, key, SY_V_BOOL(value));
    return rc < 0 ? (int)rc : 0;
}

SY_API int sy_context_set_null(sy_context_t *ctx, const char *key)
{
    ptrdiff_t rc = put(ctx, key, SY_V_NULL);
    return rc < 0 ? (int)rc : 0;
}

SY_API int sy_context_set_targeting_key(sy_context_t *ctx, const char *key)
{
    /* The per-request call of a reused context: overwrite the root's targetingKey in place
     * when it fits, without looking for it by name. */
    struct frame *root = &ctx->frames[0];
    size_t i = ctx->tk_slot;
    if (key && i < root->n &&
        sy_bytes_eq(root->members[i].key, root->members[i].klen, "targetingKey", 12)) {
        size_t len = strlen(key);
        if (root->rooms[i].size > len) {
            memcpy(root->rooms[i].buf, key, len + 1);
            root->members[i].val = SY_V_STR(root->rooms[i].buf, len);
            return 0;
        }
    }
    int depth = ctx->depth;
    ctx->depth = 0; /* the targeting key always belongs to the root */
    int rc = sy_context_set_string(ctx, "targetingKey", key);
    ctx->depth = depth;
    ptrdiff_t at = member_index(root, "targetingKey", 12);
    if (rc == 0 && at >= 0)
        ctx->tk_slot = (size_t)at;
    return rc;
}

static int begin(sy_context_t *ctx, const char *key, bool is_array)
{
    if (ctx->depth >= CTX_MAX_DEPTH)
        return -EINVAL;
    if (!key && !ctx->frames[ctx->depth].is_array)
        return -EINVAL;
    struct frame *f = &ctx->frames[ctx->depth + 1];
    free_frame(f);
    f->is_array = is_array;
    if (key) {
        f->key = strdup(key);
        if (!f->key)
            return -ENOMEM;
    }
    ctx->depth++;
    return 0;
}

SY_API int sy_context_begin_object(sy_context_t *ctx, const char *key)
{
    return begin(ctx, key, false);
}

SY_API int sy_context_begin_array(sy_context_t *ctx, const char *key)
{
    return begin(ctx, key, true);
}

SY_API int sy_context_end(sy_context_t *ctx)
{
    if (ctx->depth == 0)
        return -EINVAL;
    struct frame *f = &ctx->frames[ctx->depth];
    size_t size = f->is_array ? sizeof(*f->items) : sizeof(*f->members);
    void *copy = sy_arena_alloc(&ctx->strings, size * (f->n ? f->n : 1));
    if (!copy)
        return -ENOMEM;
    if (f->n)
        memcpy(copy, f->is_array ? (void *)f->items : (void *)f->members, size * f->n);
    sy_value_t v = f->is_array
                       ? (sy_value_t){.type = SY_ARR, .len = (uint32_t)f->n, .items = copy}
                       : (sy_value_t){.type = SY_OBJ, .len = (uint32_t)f->n, .members = copy};
    char *key = f->key;
    f->key = NULL;
    free_frame(f);
    ctx->depth--;
    ptrdiff_t rc = put(ctx, key, v);
    free(key);
    return rc < 0 ? (int)rc : 0;
}

SY_API void sy_context_set_time(sy_context_t *ctx, int64_t unix_seconds)
{
    ctx->now_s = unix_seconds;
}

/* ---- evaluating --------------------------------------------------------------------- */

static int64_t now_of(const sy_flags_t *flags, const sy_context_t *ctx)
{
    if (ctx && ctx->now_s)
        return ctx->now_s;
    if (!sy_flagset_reads_time(flags->set))
        return 0; /* no rule can see it: spare the clock read */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

/* Evaluates into `r` with a scratch on this stack frame; fills `d` when given. */
static void evaluate(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                     sy_flag_type_t type, sy_flag_result_t *r, sy_eval_details_t *d)
{
    char scratch_buf[SCRATCH_BYTES];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, scratch_buf, sizeof(scratch_buf));
    const char *k = key ? key : "";
    sy_flagset_eval(flags->set, k, strlen(k), type, ctx ? &ctx->root : NULL, now_of(flags, ctx),
                    &scratch, r);
    if (!d)
        return;
    d->reason = (sy_eval_reason_t)r->reason;
    d->error = (sy_eval_error_t)r->error;
    d->variant = r->has_value ? r->variant : NULL; /* variant keys are NUL-terminated */
    d->message[0] = '\0';
    if (r->message[0])
        snprintf(d->message, sizeof(d->message), "%s", r->message);
    d->metadata = r->metadata;
}

/* An integer accessor's refusal: the value exists but is not an int64. */
static void mismatch(sy_flag_result_t *r, sy_eval_details_t *d, const char *key, const char *why)
{
    r->has_value = false;
    if (!d)
        return;
    d->reason = SY_EVAL_ERROR;
    d->error = SY_EVAL_TYPE_MISMATCH;
    d->variant = NULL;
    snprintf(d->message, sizeof(d->message), "flag \"%.64s\" %s", key, why);
}

SY_API bool sy_eval_bool(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                         bool dflt, sy_eval_details_t *details)
{
    sy_flag_result_t r;
    evaluate(flags, key, ctx, SY_TYPE_BOOLEAN, &r, details);
    return r.has_value ? r.value.b : dflt;
}

SY_API const char *sy_eval_string(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                                  const char *dflt, sy_eval_details_t *details)
{
    sy_flag_result_t r;
    evaluate(flags, key, ctx, SY_TYPE_STRING, &r, details);
    return r.has_value ? r.value.s : dflt; /* loaded strings are NUL-terminated */
}

SY_API int64_t sy_eval_int(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                           int64_t dflt, sy_eval_details_t *details)
{
    sy_flag_result_t r;
    evaluate(flags, key, ctx, SY_TYPE_NUMBER, &r, details);
    if (!r.has_value)
        return dflt;
    double x = r.value.n;
    if (x != (double)(int64_t)x || x < -9223372036854775808.0 || x >= 9223372036854775808.0) {
        mismatch(&r, details, key ? key : "", "is not an integer");
        return dflt;
    }
    return (int64_t)x;
}

SY_API double sy_eval_float(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                            double dflt, sy_eval_details_t *details)
{
    sy_flag_result_t r;
    evaluate(flags, key, ctx, SY_TYPE_NUMBER, &r, details);
    return r.has_value ? r.value.n : dflt;
}

SY_API size_t sy_eval_object(const sy_flags_t *flags, const char *key, const sy_context_t *ctx,
                             const char *dflt_json, char *buf, size_t cap,
                             sy_eval_details_t *details)
{
    sy_flag_result_t r;
    evaluate(flags, key, ctx, SY_TYPE_OBJECT, &r, details);
    const char *dflt = dflt_json ? dflt_json : "{}";
    char *text = NULL;
    if (r.has_value) {
        json_t *j = sy_value_to_json(&r.value);
        text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
    }
    size_t need = strlen(text ? text : dflt);
    if (cap)
        snprintf(buf, cap, "%s", text ? text : dflt);
    free(text);
    return need;
}

SY_API const char *sy_eval_reason_name(sy_eval_reason_t reason)
{
    return sy_reason_name((sy_reason_t)reason);
}

SY_API const char *sy_eval_error_name(sy_eval_error_t error)
{
    return sy_flag_error_name((sy_flag_error_t)error);
}

SY_API size_t sy_details_metadata_count(const sy_eval_details_t *details)
{
    const sy_value_t *md = details ? details->metadata : NULL;
    return md ? md->len : 0;
}

SY_API const char *sy_details_metadata_entry(const sy_eval_details_t *details, size_t i,
                                             sy_meta_value_t *value)
{
    const sy_value_t *md = details ? details->metadata : NULL;
    if (!md || i >= md->len)
        return NULL;
    const sy_member_t *m = &md->members[i];
    *value = (sy_meta_value_t){.type = SY_META_OTHER};
    if (m->val.type == SY_STR)
        *value = (sy_meta_value_t){.type = SY_META_STRING, .string = m->val.s};
    else if (m->val.type == SY_NUM)
        *value = (sy_meta_value_t){.type = SY_META_NUMBER, .number = m->val.n};
    else if (m->val.type == SY_BOOL)
        *value = (sy_meta_value_t){.type = SY_META_BOOL, .boolean = m->val.b};
    return m->key; /* keys of loaded documents are NUL-terminated */
}
