/* flag.c - checking, compiling and evaluating one flagd flag; see flag.h. */
#include "core/flag.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flagschema.h"
#include "core/hash.h"
#include "core/semver.h"
#include "core/suggest.h"

#define COMPILE_ARENA_MAX ((size_t)1 << 30) /* memory compiling one flag may use */

/* A flag whose targeting is one static `fractional` (v2): bucketed without running the
 * rule, each bucket already resolved to its variant. The common rollout shape. */
struct fast_split {
    const sy_logic_split_t *split;
    sy_murmur3_t key_hash;       /* the hash state over the flag's key: a unit's key continues it */
    const sy_member_t **members; /* per bucket: the variant, or NULL for a null variant */
};

/* A problem the flag was compiled with, to report again (sy_flag_report_again). */
struct kept_problem {
    sy_severity_t sev;
    const char *path; /* in the flag's block */
    const char *msg;
};

struct sy_flag {
    struct sy_flag_head head; /* refs, and the key (in this block, NUL-terminated) */
    const char *src;          /* in this block, NUL-terminated; NULL: none given */
    uint32_t src_len;
    bool disabled;
    bool reads_time;
    sy_fractional_t fractional;
    const sy_value_t *variants;    /* object (in `variants_iv`) */
    const sy_member_t *dflt;       /* the default variant's member of `variants`, or NULL */
    const sy_logic_t *targeting;   /* NULL: no targeting (STATIC) or it did not compile */
    const char *parse_error;       /* non-NULL: the targeting failed to compile */
    const struct fast_split *fast; /* non-NULL: see struct fast_split */
    const sy_value_t *metadata;    /* flag-set metadata merged under the flag's */
    /* the references it holds */
    const sy_ival_t *variants_iv;
    const sy_ival_t *metadata_iv; /* NULL: the merged metadata is empty */
    const sy_ival_t *set_md;      /* the set metadata it was merged with, NULL: none */
    const sy_rule_t *rule;        /* NULL: no targeting */
    uint32_t n_problems;
    const struct kept_problem *problems;
};

static const sy_value_t empty_object = {.type = SY_OBJ};

/* ---- problems ----------------------------------------------------------------------- */

static void add_problem(sy_flag_env_t *env, bool error, const char *flag, const char *path,
                        const char *msg)
{
    sy_problems_t *p = env->problems;
    if (!p)
        return;
    p->total++;
    if (error)
        p->errors++;
    sy_problem_t *it = NULL;
    if (p->n < p->cap) {
        it = &p->items[p->n++];
    } else {
        /* Full: an error displaces the last warning kept, so callers see every error
         * that fits, whatever warnings came first. */
        for (size_t i = p->n; error && i-- > 0;)
            if (!p->items[i].error) {
                it = &p->items[i];
                break;
            }
        if (!it)
            return;
    }
    it->error = error;
    snprintf(it->flag, sizeof(it->flag), "%s", flag);
    snprintf(it->path, sizeof(it->path), "%s", path);
    snprintf(it->msg, sizeof(it->msg), "%s", msg);
}

static void report_msg(sy_flag_env_t *env, sy_severity_t sev, const char *flag, const char *path,
                       const char *msg)
{
    /* Strict: the schema itself (flagschema.h) decides and says why, as errors; the
     * loader's approximations of it would only repeat that, or be wrong where they are
     * not exact. */
    if (sev == SY_SEV_WARN && env->strict)
        return;
    bool error = sev == SY_SEV_ERROR;
    if (error)
        env->errors++;
    add_problem(env, error, flag, path, msg);
}

void sy_flag_report(sy_flag_env_t *env, sy_severity_t sev, const char *flag, const char *path,
                    const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report_msg(env, sev, flag, path, msg);
}

/* What compiling one flag (or checking a part of the document) needs besides env: the
 * flag's name for reports, and the problems it had, kept to store with it. */
struct checker {
    sy_flag_env_t *env;
    char flag[64];
    sy_arena_t *keep; /* where kept problems go; NULL: not kept */
    struct kept_problem *kept;
    uint32_t n_kept, cap_kept;
    bool oom;
};

static void report(struct checker *c, sy_severity_t sev, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct checker *c, sy_severity_t sev, const char *path, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report_msg(c->env, sev, c->flag, path, msg);
    if (!c->keep)
        return;
    if (c->n_kept == c->cap_kept) {
        uint32_t cap = c->cap_kept ? 2 * c->cap_kept : 4;
        struct kept_problem *k = sy_arena_alloc(c->keep, sizeof(*k) * cap);
        if (!k) {
            c->oom = true;
            return;
        }
        if (c->n_kept)
            memcpy(k, c->kept, sizeof(*k) * c->n_kept);
        c->kept = k;
        c->cap_kept = cap;
    }
    struct kept_problem *k = &c->kept[c->n_kept];
    k->sev = sev;
    k->path = sy_arena_strdup(c->keep, path, strlen(path));
    k->msg = sy_arena_strdup(c->keep, msg, strlen(msg));
    if (!k->path || !k->msg)
        c->oom = true;
    else
        c->n_kept++;
}

/* Appends ".key" or "[i]" to a path buffer; returns the old length for path_cut. */
static size_t path_key(char *path, size_t cap, const char *key, size_t klen)
{
    size_t len = strlen(path);
    snprintf(path + len, cap - len, ".%.*s", (int)(klen > 48 ? 48 : klen), key);
    return len;
}

static size_t path_index(char *path, size_t cap, uint32_t i)
{
    size_t len = strlen(path);
    snprintf(path + len, cap - len, "[%u]", i);
    return len;
}

/* dst = base + suffix, cut to `cap` (paths are for people; a cut one still helps). */
static void path_join(char *dst, size_t cap, const char *base, const char *suffix)
{
    size_t a = strlen(base), b = strlen(suffix);
    if (a >= cap)
        a = cap - 1;
    memmove(dst, base, a);
    if (b > cap - 1 - a)
        b = cap - 1 - a;
    memcpy(dst + a, suffix, b);
    dst[a + b] = '\0';
}

static bool key_is(const sy_member_t *m, const char *s)
{
    return m->klen == strlen(s) && memcmp(m->key, s, m->klen) == 0;
}

/* ---- members nobody reads ------------------------------------------------------------- */

void sy_flag_hint(const sy_value_t *obj, const char *const *known, const char *want, char *buf,
                  size_t cap)
{
    buf[0] = '\0';
    for (uint32_t i = 0; obj->type == SY_OBJ && i < obj->len; i++) {
        const sy_member_t *m = &obj->members[i];
        const char *s = sy_suggest(m->key, m->klen, known);
        if (s && strcmp(s, want) == 0 && !sy_value_get(obj, want, strlen(want))) {
            snprintf(buf, cap, " (unknown member '%.*s': did you mean '%s'?)",
                     (int)(m->klen > 40 ? 40 : m->klen), m->key, want);
            return;
        }
    }
}

/* A note per member of `obj` not in `known`, naming the member meant when one is close. */
static void check_members(struct checker *c, const sy_value_t *obj, const char *path,
                          const char *const *known)
{
    char p[128];
    for (uint32_t i = 0; obj->type == SY_OBJ && i < obj->len; i++) {
        const sy_member_t *m = &obj->members[i];
        bool listed = false;
        for (size_t k = 0; known[k] && !listed; k++)
            listed = key_is(m, known[k]);
        if (listed)
            continue;
        snprintf(p, sizeof(p), "%s", path);
        path_key(p, sizeof(p), m->key, m->klen);
        const char *s = sy_suggest(m->key, m->klen, known);
        int shown = (int)(m->klen > 40 ? 40 : m->klen);
        if (s)
            report(c, SY_SEV_NOTE, p, "unknown member '%.*s' (did you mean '%s'?)", shown, m->key,
                   s);
        else
            report(c, SY_SEV_NOTE, p, "unknown member '%.*s'", shown, m->key);
    }
}

void sy_flag_check_members(sy_flag_env_t *env, const sy_value_t *obj, const char *path,
                           const char *const *known)
{
    struct checker c = {.env = env};
    check_members(&c, obj, path, known);
}

/* ---- schema checks (warnings unless strict) ------------------------------------------ */

static bool is_primitive(const sy_value_t *v)
{
    return v->type == SY_BOOL || v->type == SY_NUM || v->type == SY_STR;
}

static void check_metadata(struct checker *c, const sy_value_t *md, const char *path, bool set)
{
    if (md->type != SY_OBJ) {
        report(c, SY_SEV_WARN, path, "metadata must be an object");
        return;
    }
    char p[128];
    for (uint32_t i = 0; i < md->len; i++) {
        const sy_member_t *m = &md->members[i];
        snprintf(p, sizeof(p), "%s", path);
        path_key(p, sizeof(p), m->key, m->klen);
        if (!is_primitive(&m->val))
            report(c, SY_SEV_WARN, p, "metadata values must be strings, numbers or booleans");
        else if (set && (key_is(m, "version") || key_is(m, "flagSetId")) && m->val.type != SY_STR)
            report(c, SY_SEV_WARN, p, "metadata.%.*s must be a string", (int)m->klen, m->key);
    }
}

static bool literal_is_full_semver(const sy_value_t *v)
{
    /* Strict semver: three numbers; sy_semver_test accepts partial ones too, so check the
     * dots of the core first. */
    if (v->type != SY_STR)
        return true; /* expressions are checked at run time */
    size_t dots = 0, i = 0;
    while (i < v->len && v->s[i] != '-' && v->s[i] != '+')
        dots += v->s[i++] == '.';
    bool ok;
    return dots == 2 && v->len > 0 && v->s[0] != 'v' && v->s[0] != 'V' &&
           sy_semver_test(v->s, v->len, "=", 1, v->s, v->len, &ok) == 0;
}

static void check_rule(struct checker *c, const sy_value_t *v, char *path, size_t cap, int depth);

static void check_args(struct checker *c, const sy_value_t *args, char *path, size_t cap, int depth)
{
    for (uint32_t i = 0; i < args->len; i++) {
        size_t cut = path_index(path, cap, i);
        check_rule(c, &args->items[i], path, cap, depth + 1);
        path[cut] = '\0';
    }
}

static void check_fractional(struct checker *c, const sy_value_t *args, char *path, size_t cap)
{
    for (uint32_t i = 0; i < args->len; i++) {
        const sy_value_t *e = &args->items[i];
        size_t cut = path_index(path, cap, i);
        if (i == 0 && e->type == SY_STR)
            report(c, SY_SEV_WARN, path,
                   "the bucketing value must be an expression, not a literal");
        else if (e->type == SY_ARR) {
            if (e->len < 1 || e->len > 2)
                report(c, SY_SEV_WARN, path, "a bucket is [variant] or [variant, weight]");
            if (e->len == 2 && e->items[1].type == SY_NUM &&
                (e->items[1].n < 0 || e->items[1].n != trunc(e->items[1].n)))
                report(c, SY_SEV_WARN, path, "a literal weight must be a non-negative integer");
            if (e->len == 2 && e->items[1].type != SY_NUM && e->items[1].type != SY_OBJ)
                report(c, SY_SEV_WARN, path, "a weight must be a number or an expression");
        } else if (i > 0 || e->type != SY_OBJ) {
            report(c, SY_SEV_WARN, path, "a bucket must be an array");
        }
        path[cut] = '\0';
    }
}

/* Operand counts from targeting.json: binary, binary-or-ternary, exact for flagd's own. */
static void check_arity(struct checker *c, const sy_member_t *m, const char *path)
{
    static const char *const binary[] = {"==", "===", "!=",  "!==",    ">",   ">=",   "%",
                                         "/",  "in",  "map", "filter", "all", "none", "some"};
    uint32_t n = m->val.type == SY_ARR ? m->val.len : 1;
    for (size_t i = 0; i < sizeof(binary) / sizeof(binary[0]); i++)
        if (key_is(m, binary[i]) && n != 2)
            report(c, SY_SEV_WARN, path, "%s takes exactly 2 operands, not %u", binary[i], n);
    if ((key_is(m, "<") || key_is(m, "<=")) && (n < 2 || n > 3))
        report(c, SY_SEV_WARN, path, "%.*s takes 2 or 3 operands, not %u", (int)m->klen, m->key, n);
    if ((key_is(m, "starts_with") || key_is(m, "ends_with")) && n != 2)
        report(c, SY_SEV_WARN, path, "%.*s takes exactly 2 operands, not %u", (int)m->klen, m->key,
               n);
    if (key_is(m, "sem_ver") && n != 3)
        report(c, SY_SEV_WARN, path, "sem_ver takes exactly 3 operands, not %u", n);
}

static void check_rule(struct checker *c, const sy_value_t *v, char *path, size_t cap, int depth)
{
    if (depth > SY_LOGIC_MAX_DEPTH)
        return; /* the compiler reports it */
    if (v->type == SY_ARR) {
        check_args(c, v, path, cap, depth);
        return;
    }
    if (v->type != SY_OBJ || v->len != 1)
        return;
    const sy_member_t *m = &v->members[0];
    if (key_is(m, "$ref"))
        return;
    size_t cut = path_key(path, cap, m->key, m->klen);
    check_arity(c, m, path);
    if (key_is(m, "var")) {
        const sy_value_t *p = m->val.type == SY_ARR && m->val.len ? &m->val.items[0] : &m->val;
        if (p->type == SY_STR && p->len > 7 && memcmp(p->s, "$flagd.", 7) == 0 &&
            !(p->len == 14 && memcmp(p->s + 7, "flagKey", 7) == 0) &&
            !(p->len == 16 && memcmp(p->s + 7, "timestamp", 9) == 0))
            report(c, SY_SEV_WARN, path, "$flagd has only flagKey and timestamp, not \"%.*s\"",
                   (int)(p->len > 40 ? 40 : p->len), p->s);
    }
    if (key_is(m, "sem_ver") && m->val.type == SY_ARR && m->val.len == 3) {
        if (!literal_is_full_semver(&m->val.items[0]) || !literal_is_full_semver(&m->val.items[2]))
            report(c, SY_SEV_WARN, path, "sem_ver literals must be full semantic versions (1.2.3)");
        const sy_value_t *op = &m->val.items[1];
        bool ok;
        if (op->type != SY_OBJ &&
            (op->type != SY_STR || sy_semver_test("1.0.0", 5, op->s, op->len, "1.0.0", 5, &ok) < 0))
            report(c, SY_SEV_WARN, path, "sem_ver operator must be one of = != < <= > >= ^ ~");
    }
    if (key_is(m, "fractional") && m->val.type == SY_ARR)
        check_fractional(c, &m->val, path, cap);
    if (m->val.type == SY_ARR)
        check_args(c, &m->val, path, cap, depth);
    else
        check_rule(c, &m->val, path, cap, depth + 1);
    path[cut] = '\0';
}

/* Same JSON type for every variant, one of boolean, string, number, object. */
static void check_variants(struct checker *c, const sy_value_t *variants, const char *path)
{
    char p[128];
    if (variants->len == 0)
        report(c, SY_SEV_WARN, path, "variants must not be empty");
    for (uint32_t i = 0; i < variants->len; i++) {
        const sy_member_t *m = &variants->members[i];
        snprintf(p, sizeof(p), "%s", path);
        path_key(p, sizeof(p), m->key, m->klen);
        if (m->klen == 0)
            report(c, SY_SEV_WARN, p, "variant names must not be empty");
        if (m->val.type == SY_NULL || m->val.type == SY_ARR)
            report(c, SY_SEV_WARN, p, "a variant must be a boolean, string, number or object");
        else if (m->val.type != variants->members[0].val.type)
            report(c, SY_SEV_WARN, p, "variants must all have the same type (%s, not %s)",
                   sy_vtype_name(variants->members[0].val.type), sy_vtype_name(m->val.type));
    }
}

void sy_flag_check_metadata(sy_flag_env_t *env, const sy_value_t *md, const char *path, bool set)
{
    struct checker c = {.env = env};
    check_metadata(&c, md, path, set);
}

void sy_flag_check_rule(sy_flag_env_t *env, const sy_value_t *rule, const char *path)
{
    struct checker c = {.env = env};
    char p[128];
    snprintf(p, sizeof(p), "%s", path);
    check_rule(&c, rule, p, sizeof(p), 0);
}

/* ---- compiling a flag ---------------------------------------------------------------- */

/* The set's metadata and the flag's own, merged (the flag's win), interned. NULL in
 * *out when both are empty. */
static int merge_metadata(sy_flag_env_t *env, const sy_value_t *own, sy_arena_t *tmp,
                          const sy_ival_t **out)
{
    const sy_value_t *set = env->metadata ? &env->metadata->v : NULL;
    uint32_t ns = set && set->type == SY_OBJ ? set->len : 0;
    uint32_t no = own && own->type == SY_OBJ ? own->len : 0;
    *out = NULL;
    if (ns + no == 0)
        return 0;
    sy_member_t *m = sy_arena_alloc(tmp, sizeof(*m) * (ns + no));
    if (!m)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < ns; i++)
        if (!sy_value_get(own, set->members[i].key, set->members[i].klen))
            m[k++] = set->members[i];
    for (uint32_t i = 0; i < no; i++)
        m[k++] = own->members[i];
    sy_value_t merged = {.type = SY_OBJ, .len = k, .members = m};
    *out = sy_ival_intern(env->pool, &merged);
    return *out ? 0 : -ENOMEM;
}

/* The variant member a targeting result names (JavaScript's String() of it), or NULL. */
static const sy_member_t *variant_named(const sy_value_t *variants, const sy_value_t *v)
{
    char num[40];
    const char *name = v->type == SY_STR ? v->s : num;
    size_t len = v->type == SY_STR ? v->len : 0;
    if (v->type == SY_BOOL)
        len = (size_t)snprintf(num, sizeof(num), "%s", v->b ? "true" : "false");
    else if (v->type == SY_NUM)
        len = sy_num_format(v->n, num, sizeof(num));
    for (uint32_t i = 0; variants && i < variants->len; i++)
        if (sy_bytes_eq(variants->members[i].key, variants->members[i].klen, name, len))
            return &variants->members[i];
    return NULL;
}

/* memcmp order of two members' keys, then their order in the object (so that of equal keys
 * the first, the one variant_named finds, sorts first). */
static int by_key(const void *a, const void *b)
{
    const sy_member_t *x = *(const sy_member_t *const *)a, *y = *(const sy_member_t *const *)b;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int d = n ? memcmp(x->key, y->key, n) : 0;
    if (d)
        return d;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* variant_named for each of the `n` values of `vs` (NULL for a null one), into `out`: with
 * many of both, through the variants sorted once in `tmp` (a split of thousands of buckets
 * over thousands of variants is otherwise quadratic: a minute of the engine's loop for
 * 50,000 of each). */
static void variants_named(const sy_value_t *variants, const sy_value_t *vs, uint32_t n,
                           sy_arena_t *tmp, const sy_member_t **out)
{
    uint32_t nv = variants ? variants->len : 0;
    const sy_member_t **sorted =
        n > 8 && nv > 8 ? sy_arena_alloc(tmp, sizeof(*sorted) * nv) : NULL;
    if (sorted) {
        for (uint32_t i = 0; i < nv; i++)
            sorted[i] = &variants->members[i];
        qsort(sorted, nv, sizeof(*sorted), by_key);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (vs[i].type == SY_NULL || !sorted) {
            out[i] = vs[i].type == SY_NULL ? NULL : variant_named(variants, &vs[i]);
            continue;
        }
        char num[40];
        const char *name = vs[i].type == SY_STR ? vs[i].s : num;
        size_t len = vs[i].type == SY_STR ? vs[i].len : 0;
        if (vs[i].type == SY_BOOL)
            len = (size_t)snprintf(num, sizeof(num), "%s", vs[i].b ? "true" : "false");
        else if (vs[i].type == SY_NUM)
            len = sy_num_format(vs[i].n, num, sizeof(num));
        /* the first of the sorted keys not below the name: the name's first member, if any */
        uint32_t lo = 0, hi = nv;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            const sy_member_t *m = sorted[mid];
            size_t k = m->klen < len ? m->klen : len;
            int d = k ? memcmp(m->key, name, k) : 0;
            if (d < 0 || (d == 0 && m->klen < len))
                lo = mid + 1;
            else
                hi = mid;
        }
        out[i] = lo < nv && sy_bytes_eq(sorted[lo]->key, sorted[lo]->klen, name, len) ? sorted[lo]
                                                                                     : NULL;
    }
}

/* What a flag is made of before it is laid out in its block. */
struct parts {
    bool disabled;
    const sy_ival_t *variants;
    const sy_member_t *dflt;
    const sy_ival_t *metadata;
    const sy_rule_t *rule;
    char parse_error[400]; /* "" unless the targeting failed to compile */
    bool fast;             /* the rule is a static split whose variants all exist */
    const sy_member_t **members; /* when fast: each bucket's variant (in the compile arena) */
};

static void parts_release(struct parts *p)
{
    sy_piece_release(p->variants ? &p->variants->piece : NULL);
    sy_piece_release(p->metadata ? &p->metadata->piece : NULL);
    sy_rule_release(p->rule);
}

static int check_and_compile(struct checker *c, const char *key, size_t klen, const sy_value_t *v,
                             sy_arena_t *tmp, struct parts *out)
{
    sy_flag_env_t *env = c->env;
    char path[128] = "flags";
    path_key(path, sizeof(path), key, klen);
    if (klen == 0)
        report(c, SY_SEV_WARN, path, "flag keys must not be empty");
    if (v->type != SY_OBJ) {
        report(c, SY_SEV_ERROR, path, "a flag must be an object");
        return 0;
    }
    char p[128], hint[96];
    size_t errors_before = env->errors;
    const sy_value_t *state = sy_value_get(v, "state", 5);
    path_join(p, sizeof(p), path, ".state");
    sy_flag_hint(v, sy_schema_flag_members, "state", hint, sizeof(hint));
    if (!state)
        report(c, SY_SEV_ERROR, p, "state is required (ENABLED or DISABLED)%s", hint);
    else if (state->type == SY_STR && state->len == 8 && memcmp(state->s, "DISABLED", 8) == 0)
        out->disabled = true;
    else if (!(state->type == SY_STR && state->len == 7 && memcmp(state->s, "ENABLED", 7) == 0))
        report(c, SY_SEV_ERROR, p, "state must be ENABLED or DISABLED");

    const sy_value_t *variants = sy_value_get(v, "variants", 8);
    path_join(p, sizeof(p), path, ".variants");
    sy_flag_hint(v, sy_schema_flag_members, "variants", hint, sizeof(hint));
    if (!variants || variants->type != SY_OBJ) {
        report(c, SY_SEV_ERROR, p, "%s%s",
               variants ? "variants must be an object" : "variants is required", hint);
        variants = NULL;
    } else {
        check_variants(c, variants, p);
    }

    const sy_value_t *dv = sy_value_get(v, "defaultVariant", 14);
    const sy_member_t *dflt = NULL;
    path_join(p, sizeof(p), path, ".defaultVariant");
    if (dv && dv->type == SY_STR && dv->len > 0) {
        for (uint32_t i = 0; variants && i < variants->len; i++)
            if (variants->members[i].klen == dv->len &&
                memcmp(variants->members[i].key, dv->s, dv->len) == 0)
                dflt = &variants->members[i];
        if (!dflt && variants)
            report(c, SY_SEV_ERROR, p, "defaultVariant \"%.*s\" names no variant",
                   (int)(dv->len > 48 ? 48 : dv->len), dv->s);
    } else if (dv && dv->type != SY_NULL && dv->type != SY_STR) {
        report(c, SY_SEV_ERROR, p, "defaultVariant must be a variant name or null");
    }

    check_members(c, v, path, sy_schema_flag_members);
    /* Strict: what the schema refuses, once the flag is not refused already. */
    sy_schema_err_t se;
    bool schema_failed = false;
    if (env->strict && env->errors == errors_before && !sy_schema_flag(v, &se)) {
        char where[128];
        path_join(where, sizeof(where), path, se.path);
        report(c, SY_SEV_ERROR, where, "%s", se.msg);
        schema_failed = true;
    }

    const sy_value_t *md = sy_value_get(v, "metadata", 8);
    if (md) {
        path_join(p, sizeof(p), path, ".metadata");
        check_metadata(c, md, p, false);
    }
    const sy_value_t *t = sy_value_get(v, "targeting", 9);
    path_join(p, sizeof(p), path, ".targeting");
    bool targeted = t && !(t->type == SY_OBJ && t->len == 0); /* else STATIC */
    if (targeted) {
        if (t->type != SY_OBJ)
            report(c, SY_SEV_WARN, p, "targeting must be an object");
        check_rule(c, t, p, sizeof(p), 0);
    }
    /* The pieces, shared through the pool. Without variants the flag is refused, but its
     * targeting is still compiled: what does not compile is reported too. */
    if (variants) {
        out->variants = sy_ival_intern(env->pool, variants);
        if (!out->variants)
            return -ENOMEM;
        if (dflt) /* the same member in the interned copy */
            out->dflt = &out->variants->v.members[dflt - variants->members];
    }
    int rc = merge_metadata(env, md, tmp, &out->metadata);
    if (rc < 0 || !targeted)
        return rc;
    if ((rc = sy_rule_get(env->pool, env->evaluators, env->fractional, t, &out->rule)) < 0)
        return rc;
    const sy_rule_t *r = out->rule;
    if (r->rc < 0) {
        char where[128];
        path_join(where, sizeof(where), p, r->err_field);
        /* Strict: a rule the schema accepts but flagd cannot run (say, two operators in
         * one object) loads, and answers PARSE_ERROR as flagd's does. */
        if (!schema_failed)
            report(c, r->rc == -ENOENT || env->strict ? SY_SEV_NOTE : SY_SEV_WARN, where, "%s",
                   r->err_msg);
        snprintf(out->parse_error, sizeof(out->parse_error),
                 "targeting of flag \"%.64s\" cannot be compiled: %.160s at %.128s", c->flag,
                 r->err_msg, where);
        return 0;
    }
    if (r->is_split && out->variants) {
        /* Every bucket's variant must exist (or be null); a missing one keeps the general
         * path, which reports it as GENERAL. */
        out->members = sy_arena_alloc(tmp, sizeof(*out->members) * (r->split.n ? r->split.n : 1));
        if (!out->members)
            return -ENOMEM;
        variants_named(&out->variants->v, r->split.variants, r->split.n, tmp, out->members);
        out->fast = true;
        for (uint32_t i = 0; i < r->split.n && out->fast; i++)
            if (r->split.variants[i].type != SY_NULL && !out->members[i])
                out->fast = false;
    }
    return 0;
}

static void flag_free(sy_flag_t *f)
{
    sy_piece_release(&f->variants_iv->piece);
    sy_piece_release(f->metadata_iv ? &f->metadata_iv->piece : NULL);
    sy_piece_release(f->set_md ? &f->set_md->piece : NULL);
    sy_rule_release(f->rule);
    sy_block_free(f);
}

static char *put_chars(char **cp, const char *s, size_t len)
{
    char *out = *cp;
    if (len)
        memcpy(out, s, len);
    out[len] = '\0';
    *cp += len + 1;
    return out;
}

/* Lays `parts` out in one block: the flag, its fast split's members, its kept problems,
 * then its strings. Takes the references in `parts`. */
static int build(const struct checker *c, const char *key, size_t klen, const char *src,
                 size_t src_len, struct parts *parts, sy_flag_t **out)
{
    const sy_rule_t *r = parts->rule;
    uint32_t nfast = parts->fast ? r->split.n : 0;
    size_t pe = strlen(parts->parse_error);
    size_t chars = klen + 1 + (src ? src_len + 1 : 0) + (pe ? pe + 1 : 0);
    for (uint32_t i = 0; i < c->n_kept; i++)
        chars += strlen(c->kept[i].path) + 1 + strlen(c->kept[i].msg) + 1;
    size_t size = sizeof(sy_flag_t) + (parts->fast ? sizeof(struct fast_split) : 0) +
                  sizeof(sy_member_t *) * nfast + sizeof(struct kept_problem) * c->n_kept + chars;
    sy_flag_t *f = sy_block_alloc(size);
    if (!f) {
        parts_release(parts);
        return -ENOMEM;
    }
    char *at = (char *)(f + 1);
    *f = (sy_flag_t){.head.klen = (uint32_t)klen,
                     .disabled = parts->disabled,
                     .fractional = c->env->fractional,
                     .variants = &parts->variants->v,
                     .dflt = parts->dflt,
                     .targeting = r ? r->logic : NULL,
                     .metadata = parts->metadata ? &parts->metadata->v : &empty_object,
                     .variants_iv = parts->variants,
                     .metadata_iv = parts->metadata,
                     .set_md = c->env->metadata,
                     .rule = r,
                     .n_problems = c->n_kept};
    atomic_init(&f->head.refs, 1);
    f->reads_time = f->targeting && sy_logic_reads_time(f->targeting);
    if (f->set_md)
        sy_piece_ref(&f->set_md->piece);
    if (parts->fast) {
        struct fast_split *fs = (struct fast_split *)at;
        at += sizeof(*fs);
        const sy_member_t **members = (const sy_member_t **)at;
        at += sizeof(*members) * nfast;
        for (uint32_t i = 0; i < nfast; i++)
            members[i] = parts->members[i];
        *fs = (struct fast_split){
            .split = &r->split, .members = members, .key_hash = SY_MURMUR3_INIT};
        sy_murmur3_add(&fs->key_hash, key, klen);
        f->fast = fs;
    }
    struct kept_problem *kept = (struct kept_problem *)at;
    at += sizeof(*kept) * c->n_kept;
    f->problems = kept;
    f->head.key = put_chars(&at, key, klen);
    if (src) {
        f->src = put_chars(&at, src, src_len);
        f->src_len = (uint32_t)src_len;
    }
    if (pe)
        f->parse_error = put_chars(&at, parts->parse_error, pe);
    for (uint32_t i = 0; i < c->n_kept; i++) {
        kept[i].sev = c->kept[i].sev;
        kept[i].path = put_chars(&at, c->kept[i].path, strlen(c->kept[i].path));
        kept[i].msg = put_chars(&at, c->kept[i].msg, strlen(c->kept[i].msg));
    }
    assert(at == (char *)f + size);
    *out = f;
    return 0;
}

int sy_flag_compile(sy_flag_t **out, sy_flag_env_t *env, const char *key, size_t klen,
                    const sy_value_t *def, const char *src, size_t src_len)
{
    if (klen > UINT32_MAX || src_len > UINT32_MAX)
        return -EINVAL;
    char buf[4096];
    sy_arena_t tmp;
    sy_arena_init_with(&tmp, buf, sizeof(buf), COMPILE_ARENA_MAX);
    struct checker c = {.env = env, .keep = &tmp};
    snprintf(c.flag, sizeof(c.flag), "%.*s", (int)(klen > 63 ? 63 : klen), key);
    size_t errors = env->errors;
    struct parts parts = {0};
    int rc = check_and_compile(&c, key, klen, def, &tmp, &parts);
    if (rc == 0 && c.oom)
        rc = -ENOMEM;
    if (rc == 0 && (env->errors > errors || !parts.variants))
        rc = -EINVAL;
    if (rc < 0)
        parts_release(&parts);
    else
        rc = build(&c, key, klen, src, src_len, &parts, out);
    sy_arena_free(&tmp);
    return rc;
}

bool sy_flag_still_valid(const sy_flag_t *f, const sy_flag_env_t *env)
{
    if (f->set_md != env->metadata || f->fractional != env->fractional)
        return false;
    for (uint32_t i = 0; f->rule && i < f->rule->n_deps; i++) {
        const struct sy_rule_dep *d = &f->rule->deps[i];
        if (sy_evaluators_get(env->evaluators, d->name, d->len) != d->val)
            return false;
    }
    return true;
}

void sy_flag_report_again(const sy_flag_t *f, sy_flag_env_t *env)
{
    char flag[64];
    snprintf(flag, sizeof(flag), "%.*s", (int)(f->head.klen > 63 ? 63 : f->head.klen), f->head.key);
    for (uint32_t i = 0; i < f->n_problems; i++)
        report_msg(env, f->problems[i].sev, flag, f->problems[i].path, f->problems[i].msg);
}

const sy_flag_t *sy_flag_ref(const sy_flag_t *f)
{
    atomic_fetch_add_explicit(&((sy_flag_t *)f)->head.refs, 1, memory_order_relaxed);
    return f;
}

void sy_flag_release(const sy_flag_t *f)
{
    if (f && atomic_fetch_sub_explicit(&((sy_flag_t *)f)->head.refs, 1, memory_order_acq_rel) == 1)
        flag_free((sy_flag_t *)f);
}

const char *sy_flag_source(const sy_flag_t *f, size_t *len)
{
    *len = f->src_len;
    return f->src;
}

bool sy_flag_is_disabled(const sy_flag_t *f)
{
    return f->disabled;
}

bool sy_flag_reads_time(const sy_flag_t *f)
{
    return f->reads_time;
}

bool sy_flag_uses_evaluator(const sy_flag_t *f, const char *name, size_t len)
{
    for (uint32_t i = 0; f->rule && i < f->rule->n_deps; i++)
        if (sy_bytes_eq(f->rule->deps[i].name, f->rule->deps[i].len, name, len))
            return true;
    return false;
}

/* ---- evaluation --------------------------------------------------------------------- */

static void fail_with(sy_flag_result_t *res, sy_flag_error_t e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_with(sy_flag_result_t *res, sy_flag_error_t e, const char *fmt, ...)
{
    res->has_value = false;
    res->value = SY_V_NULL;
    res->variant = NULL;
    res->variant_len = 0;
    res->reason = SY_REASON_ERROR;
    res->error = e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

static bool type_matches(sy_flag_type_t want, const sy_value_t *v)
{
    switch (want) {
    case SY_TYPE_BOOLEAN:
        return v->type == SY_BOOL;
    case SY_TYPE_STRING:
        return v->type == SY_STR;
    case SY_TYPE_NUMBER:
        return v->type == SY_NUM;
    case SY_TYPE_OBJECT:
        return v->type == SY_OBJ; /* flagd (Go): maps only, not arrays */
    default:
        return true;
    }
}

static const char *const type_names[] = {"any", "boolean", "string", "number", "object"};

/* Buckets by a static split (struct fast_split): the variant, or NULL for none (no
 * targeting key, a null variant, a bucket nobody owns), which means DEFAULT. */
static const sy_member_t *fast_pick(const sy_flag_t *f, const sy_value_t *ctx)
{
    const sy_logic_split_t *sp = f->fast->split;
    uint32_t h;
    if (sp->seed) {
        h = sy_hash_murmur3(sp->seed, sp->seed_len);
    } else {
        /* flag key + targeting key (sy_logic_bucketing_key), the key's part hashed at load;
         * no targeting key gives null, as the rule would */
        const sy_value_t *tk = sy_value_get(ctx, "targetingKey", 12);
        if (!tk || tk->type != SY_STR || tk->len == 0)
            return NULL;
        sy_murmur3_t m = f->fast->key_hash;
        sy_murmur3_add(&m, tk->s, tk->len);
        h = sy_murmur3_end(&m);
    }
    ptrdiff_t i = sy_hash_pick(sp->weights, sp->n, sy_hash_bucket(h, sp->total));
    return i >= 0 ? f->fast->members[i] : NULL;
}

static void eval_flag(const sy_flag_t *f, sy_flag_type_t type, const sy_value_t *ctx, int64_t now_s,
                      sy_arena_t *scratch, sy_flag_result_t *res)
{
    /* Field by field: zeroing the whole result (message included) costs more than a
     * static flag's evaluation. */
    res->has_value = false;
    res->value = SY_V_NULL;
    res->variant = NULL;
    res->variant_len = 0;
    res->reason = SY_REASON_STATIC;
    res->error = SY_FLAG_OK;
    res->metadata = f->metadata;
    res->message[0] = '\0';
    const char *key = f->head.key;
    int shown = f->head.klen > 64 ? 64 : (int)f->head.klen;
    if (f->disabled) {
        res->reason = SY_REASON_DISABLED;
        return;
    }
    if (f->parse_error) {
        fail_with(res, SY_FLAG_PARSE_ERROR, "%s", f->parse_error);
        return;
    }
    if (ctx && ctx->type != SY_OBJ) {
        fail_with(res, SY_FLAG_INVALID_CONTEXT, "the evaluation context must be an object");
        return;
    }

    const char *name = NULL;
    size_t name_len = 0;
    const sy_member_t *variant = NULL;
    if (f->fast) {
        variant = fast_pick(f, ctx ? ctx : &empty_object);
        res->reason = variant ? SY_REASON_TARGETING_MATCH : SY_REASON_DEFAULT;
    } else if (f->targeting) {
        sy_logic_env_t env = {.ctx = ctx ? ctx : &empty_object,
                              .flag_key = f->head.key,
                              .flag_key_len = f->head.klen,
                              .now_s = now_s,
                              .fractional = f->fractional};
        sy_value_t v;
        int rc = sy_logic_eval(f->targeting, &env, scratch, &v);
        if (rc == -ENOMEM) {
            fail_with(res, SY_FLAG_GENERAL, "targeting of flag \"%.*s\" needs more scratch memory",
                      shown, key);
            return;
        }
        if (rc < 0) {
            fail_with(res, SY_FLAG_PARSE_ERROR, "targeting of flag \"%.*s\" failed to evaluate",
                      shown, key);
            return;
        }
        if (v.type == SY_NULL) {
            res->reason = SY_REASON_DEFAULT;
        } else {
            res->reason = SY_REASON_TARGETING_MATCH;
            if (sy_value_to_string(&v, scratch, &name, &name_len) < 0) {
                fail_with(res, SY_FLAG_GENERAL, "variant name too long");
                return;
            }
        }
    }
    if (variant) {
        /* chosen by the fast split */
    } else if (name) {
        for (uint32_t i = 0; i < f->variants->len; i++)
            if (sy_bytes_eq(f->variants->members[i].key, f->variants->members[i].klen, name,
                            name_len)) {
                variant = &f->variants->members[i];
                break;
            }
        if (!variant) {
            fail_with(res, SY_FLAG_GENERAL, "variant \"%.*s\" not found in flag \"%.*s\"",
                      (int)(name_len > 48 ? 48 : name_len), name, shown, key);
            return;
        }
    } else {
        variant = f->dflt;
        if (!variant) {
            /* No default variant: the caller's default, no error (a "code default"). */
            res->reason = SY_REASON_DEFAULT;
            return;
        }
    }
    if (!type_matches(type, &variant->val)) {
        fail_with(res, SY_FLAG_TYPE_MISMATCH, "flag \"%.*s\" is %s, not %s", shown, key,
                  sy_vtype_name(variant->val.type), type_names[type]);
        return;
    }
    res->has_value = true;
    res->value = variant->val;
    res->variant = variant->key;
    res->variant_len = variant->klen;
}

void sy_flag_eval(const sy_flag_t *f, sy_flag_type_t type, const sy_value_t *ctx, int64_t now_s,
                  sy_arena_t *scratch, sy_flag_result_t *res)
{
    /* The result borrows only the flag, never the scratch: give the temporaries back. */
    sy_arena_mark_t mark = sy_arena_mark(scratch);
    eval_flag(f, type, ctx, now_s, scratch, res);
    sy_arena_rewind(scratch, mark);
}

const char *sy_reason_name(sy_reason_t r)
{
    static const char *const names[] = {"STATIC", "TARGETING_MATCH", "DEFAULT", "DISABLED",
                                        "ERROR"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "UNKNOWN";
}

const char *sy_flag_error_name(sy_flag_error_t e)
{
    static const char *const names[] = {"",
                                        "FLAG_NOT_FOUND",
                                        "TYPE_MISMATCH",
                                        "PARSE_ERROR",
                                        "TARGETING_KEY_MISSING",
                                        "INVALID_CONTEXT",
                                        "GENERAL"};
    return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "GENERAL";
}
