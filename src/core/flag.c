/* flag.c - loading and evaluating flagd flag sets; see flag.h. */
#include "core/flag.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/semver.h"

/* A flag whose targeting is one static `fractional` (v2): bucketed without running the
 * rule, each bucket already resolved to its variant. The common rollout shape. */
struct fast_split {
    sy_logic_split_t split;
    const sy_member_t **members; /* per bucket: the variant, or NULL for a null variant */
};

struct flag {
    const char *key; /* borrows the document */
    uint32_t klen;
    bool disabled;
    const sy_value_t *variants;    /* object */
    const sy_member_t *dflt;       /* the default variant's member of `variants`, or NULL */
    const sy_logic_t *targeting;   /* NULL: no targeting (STATIC) */
    const char *parse_error;       /* non-NULL: the targeting failed to compile */
    const struct fast_split *fast; /* non-NULL: see struct fast_split */
    sy_value_t metadata;           /* flag-set metadata merged under the flag's */
};

struct sy_flagset {
    sy_arena_t arena; /* owns the document, the flags and the compiled rules */
    uint32_t n;
    struct flag *flags;        /* document order */
    const struct flag **table; /* open addressing by key hash, `mask + 1` slots */
    uint32_t mask;
    bool reads_time; /* some rule reads $flagd.timestamp */
    sy_value_t metadata;
    sy_fractional_t fractional;
};

/* ---- problems ----------------------------------------------------------------------- */

/* How bad a problem is: refuses the document; refuses it in strict mode only (what only
 * flagd's schema rejects); or never (the flag will answer PARSE_ERROR). */
enum severity { WARN, ERROR, NOTE };

struct loader {
    sy_arena_t *arena;
    sy_fractional_t fractional;
    sy_problems_t *problems;
    bool strict;
    const sy_value_t *evaluators;
    char flag[64];
    size_t errors;
};

static void report(struct loader *l, enum severity sev, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct loader *l, enum severity sev, const char *path, const char *fmt, ...)
{
    bool error = sev == ERROR || (sev == WARN && l->strict);
    if (error)
        l->errors++;
    sy_problems_t *p = l->problems;
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
    snprintf(it->flag, sizeof(it->flag), "%s", l->flag);
    snprintf(it->path, sizeof(it->path), "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
    va_end(ap);
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

/* ---- schema checks (warnings unless strict) ------------------------------------------ */

static bool is_primitive(const sy_value_t *v)
{
    return v->type == SY_BOOL || v->type == SY_NUM || v->type == SY_STR;
}

static void check_metadata(struct loader *l, const sy_value_t *md, const char *path, bool set)
{
    if (md->type != SY_OBJ) {
        report(l, WARN, path, "metadata must be an object");
        return;
    }
    char p[128];
    for (uint32_t i = 0; i < md->len; i++) {
        const sy_member_t *m = &md->members[i];
        snprintf(p, sizeof(p), "%s", path);
        path_key(p, sizeof(p), m->key, m->klen);
        if (!is_primitive(&m->val))
            report(l, WARN, p, "metadata values must be strings, numbers or booleans");
        else if (set && (key_is(m, "version") || key_is(m, "flagSetId")) && m->val.type != SY_STR)
            report(l, WARN, p, "metadata.%.*s must be a string", (int)m->klen, m->key);
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

static void check_rule(struct loader *l, const sy_value_t *v, char *path, size_t cap, int depth);

static void check_args(struct loader *l, const sy_value_t *args, char *path, size_t cap, int depth)
{
    for (uint32_t i = 0; i < args->len; i++) {
        size_t cut = path_index(path, cap, i);
        check_rule(l, &args->items[i], path, cap, depth + 1);
        path[cut] = '\0';
    }
}

static void check_fractional(struct loader *l, const sy_value_t *args, char *path, size_t cap)
{
    for (uint32_t i = 0; i < args->len; i++) {
        const sy_value_t *e = &args->items[i];
        size_t cut = path_index(path, cap, i);
        if (i == 0 && e->type == SY_STR)
            report(l, WARN, path, "the bucketing value must be an expression, not a literal");
        else if (e->type == SY_ARR) {
            if (e->len < 1 || e->len > 2)
                report(l, WARN, path, "a bucket is [variant] or [variant, weight]");
            if (e->len == 2 && e->items[1].type == SY_NUM &&
                (e->items[1].n < 0 || e->items[1].n != trunc(e->items[1].n)))
                report(l, WARN, path, "a literal weight must be a non-negative integer");
            if (e->len == 2 && e->items[1].type != SY_NUM && e->items[1].type != SY_OBJ)
                report(l, WARN, path, "a weight must be a number or an expression");
        } else if (i > 0 || e->type != SY_OBJ) {
            report(l, WARN, path, "a bucket must be an array");
        }
        path[cut] = '\0';
    }
}

/* Operand counts from targeting.json: binary, binary-or-ternary, exact for flagd's own. */
static void check_arity(struct loader *l, const sy_member_t *m, const char *path)
{
    static const char *const binary[] = {"==", "===", "!=",  "!==",    ">",   ">=",   "%",
                                         "/",  "in",  "map", "filter", "all", "none", "some"};
    uint32_t n = m->val.type == SY_ARR ? m->val.len : 1;
    for (size_t i = 0; i < sizeof(binary) / sizeof(binary[0]); i++)
        if (key_is(m, binary[i]) && n != 2)
            report(l, WARN, path, "%s takes exactly 2 operands, not %u", binary[i], n);
    if ((key_is(m, "<") || key_is(m, "<=")) && (n < 2 || n > 3))
        report(l, WARN, path, "%.*s takes 2 or 3 operands, not %u", (int)m->klen, m->key, n);
    if ((key_is(m, "starts_with") || key_is(m, "ends_with")) && n != 2)
        report(l, WARN, path, "%.*s takes exactly 2 operands, not %u", (int)m->klen, m->key, n);
    if (key_is(m, "sem_ver") && n != 3)
        report(l, WARN, path, "sem_ver takes exactly 3 operands, not %u", n);
}

static void check_rule(struct loader *l, const sy_value_t *v, char *path, size_t cap, int depth)
{
    if (depth > SY_LOGIC_MAX_DEPTH)
        return; /* the compiler reports it */
    if (v->type == SY_ARR) {
        check_args(l, v, path, cap, depth);
        return;
    }
    if (v->type != SY_OBJ || v->len != 1)
        return;
    const sy_member_t *m = &v->members[0];
    if (key_is(m, "$ref"))
        return;
    size_t cut = path_key(path, cap, m->key, m->klen);
    check_arity(l, m, path);
    if (key_is(m, "var")) {
        const sy_value_t *p = m->val.type == SY_ARR && m->val.len ? &m->val.items[0] : &m->val;
        if (p->type == SY_STR && p->len > 7 && memcmp(p->s, "$flagd.", 7) == 0 &&
            !(p->len == 14 && memcmp(p->s + 7, "flagKey", 7) == 0) &&
            !(p->len == 16 && memcmp(p->s + 7, "timestamp", 9) == 0))
            report(l, WARN, path, "$flagd has only flagKey and timestamp, not \"%.*s\"",
                   (int)(p->len > 40 ? 40 : p->len), p->s);
    }
    if (key_is(m, "sem_ver") && m->val.type == SY_ARR && m->val.len == 3) {
        if (!literal_is_full_semver(&m->val.items[0]) || !literal_is_full_semver(&m->val.items[2]))
            report(l, WARN, path, "sem_ver literals must be full semantic versions (1.2.3)");
        const sy_value_t *op = &m->val.items[1];
        bool ok;
        if (op->type != SY_OBJ &&
            (op->type != SY_STR || sy_semver_test("1.0.0", 5, op->s, op->len, "1.0.0", 5, &ok) < 0))
            report(l, WARN, path, "sem_ver operator must be one of = != < <= > >= ^ ~");
    }
    if (key_is(m, "fractional") && m->val.type == SY_ARR)
        check_fractional(l, &m->val, path, cap);
    if (m->val.type == SY_ARR)
        check_args(l, &m->val, path, cap, depth);
    else
        check_rule(l, &m->val, path, cap, depth + 1);
    path[cut] = '\0';
}

/* Same JSON type for every variant, one of boolean, string, number, object. */
static void check_variants(struct loader *l, const sy_value_t *variants, const char *path)
{
    char p[128];
    if (variants->len == 0)
        report(l, WARN, path, "variants must not be empty");
    for (uint32_t i = 0; i < variants->len; i++) {
        const sy_member_t *m = &variants->members[i];
        snprintf(p, sizeof(p), "%s", path);
        path_key(p, sizeof(p), m->key, m->klen);
        if (m->klen == 0)
            report(l, WARN, p, "variant names must not be empty");
        if (m->val.type == SY_NULL || m->val.type == SY_ARR)
            report(l, WARN, p, "a variant must be a boolean, string, number or object");
        else if (m->val.type != variants->members[0].val.type)
            report(l, WARN, p, "variants must all have the same type (%s, not %s)",
                   sy_vtype_name(variants->members[0].val.type), sy_vtype_name(m->val.type));
    }
}

/* ---- loading ------------------------------------------------------------------------ */

static int merge_metadata(sy_arena_t *arena, const sy_value_t *set, const sy_value_t *own,
                          sy_value_t *out)
{
    uint32_t ns = set && set->type == SY_OBJ ? set->len : 0;
    uint32_t no = own && own->type == SY_OBJ ? own->len : 0;
    *out = (sy_value_t){.type = SY_OBJ};
    if (ns + no == 0)
        return 0;
    sy_member_t *m = sy_arena_alloc(arena, sizeof(*m) * (ns + no));
    if (!m)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < ns; i++)
        if (!sy_value_get(own, set->members[i].key, set->members[i].klen))
            m[k++] = set->members[i];
    for (uint32_t i = 0; i < no; i++)
        m[k++] = own->members[i];
    *out = (sy_value_t){.type = SY_OBJ, .len = k, .members = m};
    return 0;
}

/* The variant member a targeting result names (JavaScript's String() of it), or NULL. */
static const sy_member_t *variant_named(const struct flag *f, const sy_value_t *v)
{
    char num[40];
    const char *name = v->type == SY_STR ? v->s : num;
    size_t len = v->type == SY_STR ? v->len : 0;
    if (v->type == SY_BOOL)
        len = (size_t)snprintf(num, sizeof(num), "%s", v->b ? "true" : "false");
    else if (v->type == SY_NUM)
        len = sy_num_format(v->n, num, sizeof(num));
    for (uint32_t i = 0; f->variants && i < f->variants->len; i++)
        if (sy_bytes_eq(f->variants->members[i].key, f->variants->members[i].klen, name, len))
            return &f->variants->members[i];
    return NULL;
}

/* Sets up f->fast when the targeting is a static split whose variants all exist (a
 * missing one keeps the general path, which reports it as GENERAL). */
static int build_fast(sy_arena_t *arena, struct flag *f)
{
    sy_logic_split_t split;
    if (!f->variants || !sy_logic_as_split(f->targeting, &split))
        return 0;
    const sy_member_t **members = sy_arena_alloc(arena, sizeof(*members) * (split.n ? split.n : 1));
    struct fast_split *fast = sy_arena_alloc(arena, sizeof(*fast));
    if (!members || !fast)
        return -ENOMEM;
    for (uint32_t i = 0; i < split.n; i++) {
        members[i] = NULL;
        if (split.variants[i].type == SY_NULL)
            continue;
        members[i] = variant_named(f, &split.variants[i]);
        if (!members[i])
            return 0;
    }
    *fast = (struct fast_split){.split = split, .members = members};
    f->fast = fast;
    return 0;
}

static int load_flag(struct loader *l, const sy_member_t *fm, const sy_value_t *set_md,
                     struct flag *f)
{
    char path[128] = "flags";
    path_key(path, sizeof(path), fm->key, fm->klen);
    snprintf(l->flag, sizeof(l->flag), "%.*s", (int)(fm->klen > 63 ? 63 : fm->klen), fm->key);
    *f = (struct flag){.key = fm->key, .klen = fm->klen};
    if (fm->klen == 0)
        report(l, WARN, path, "flag keys must not be empty");
    const sy_value_t *v = &fm->val;
    if (v->type != SY_OBJ) {
        report(l, ERROR, path, "a flag must be an object");
        return 0;
    }
    char p[128];
    const sy_value_t *state = sy_value_get(v, "state", 5);
    path_join(p, sizeof(p), path, ".state");
    if (!state)
        report(l, ERROR, p, "state is required (ENABLED or DISABLED)");
    else if (state->type == SY_STR && state->len == 8 && memcmp(state->s, "DISABLED", 8) == 0)
        f->disabled = true;
    else if (!(state->type == SY_STR && state->len == 7 && memcmp(state->s, "ENABLED", 7) == 0))
        report(l, ERROR, p, "state must be ENABLED or DISABLED");

    const sy_value_t *variants = sy_value_get(v, "variants", 8);
    path_join(p, sizeof(p), path, ".variants");
    if (!variants || variants->type != SY_OBJ) {
        report(l, ERROR, p, variants ? "variants must be an object" : "variants is required");
        variants = NULL;
    } else {
        check_variants(l, variants, p);
        f->variants = variants;
    }

    const sy_value_t *dv = sy_value_get(v, "defaultVariant", 14);
    path_join(p, sizeof(p), path, ".defaultVariant");
    if (dv && dv->type == SY_STR && dv->len > 0) {
        for (uint32_t i = 0; variants && i < variants->len; i++)
            if (variants->members[i].klen == dv->len &&
                memcmp(variants->members[i].key, dv->s, dv->len) == 0)
                f->dflt = &variants->members[i];
        if (!f->dflt && variants)
            report(l, ERROR, p, "defaultVariant \"%.*s\" names no variant",
                   (int)(dv->len > 48 ? 48 : dv->len), dv->s);
    } else if (dv && dv->type != SY_NULL && dv->type != SY_STR) {
        report(l, ERROR, p, "defaultVariant must be a variant name or null");
    }

    const sy_value_t *md = sy_value_get(v, "metadata", 8);
    if (md) {
        path_join(p, sizeof(p), path, ".metadata");
        check_metadata(l, md, p, false);
    }
    int rc = merge_metadata(l->arena, set_md, md, &f->metadata);
    if (rc < 0)
        return rc;

    const sy_value_t *t = sy_value_get(v, "targeting", 9);
    path_join(p, sizeof(p), path, ".targeting");
    if (!t || (t->type == SY_OBJ && t->len == 0))
        return 0; /* STATIC */
    if (t->type != SY_OBJ)
        report(l, WARN, p, "targeting must be an object");
    check_rule(l, t, p, sizeof(p), 0);
    sy_err_t err = {0};
    rc = sy_logic_compile(t, l->evaluators, l->arena, &f->targeting, &err);
    if (rc == -ENOMEM)
        return rc;
    if (rc == 0 && l->fractional == SY_FRACTIONAL_V2)
        return build_fast(l->arena, f);
    if (rc < 0) {
        char where[128];
        path_join(where, sizeof(where), p, err.field);
        report(l, rc == -ENOENT ? NOTE : WARN, where, "%s", err.msg);
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "targeting of flag \"%.64s\" cannot be compiled: %.160s at %.128s", l->flag,
                 err.msg, where);
        f->parse_error = sy_arena_strdup(l->arena, msg, strlen(msg));
        if (!f->parse_error)
            return -ENOMEM;
        f->targeting = NULL;
    }
    return 0;
}

/* A cheap hash of a flag key: its length and its first and last 8 bytes (or fewer), mixed
 * by multiplication. Keys alike at both ends only cost a longer probe, never a wrong
 * answer (every candidate is compared in full), and this runs on every evaluation. */
static uint32_t key_hash(const char *k, size_t n)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, k, 8);
        memcpy(&b, k + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, k, 4);
        memcpy(&y, k + n - 4, 4);
        a = x;
        b = y;
    } else if (n > 0) {
        a = (uint64_t)(unsigned char)k[0] | (uint64_t)(unsigned char)k[n / 2] << 8 |
            (uint64_t)(unsigned char)k[n - 1] << 16;
    }
    uint64_t h = a * 0x9e3779b97f4a7c15u ^ (b + n) * 0xc2b2ae3d27d4eb4fu;
    return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

static int build_table(sy_arena_t *arena, sy_flagset_t *set)
{
    uint32_t slots = 4;
    while (slots < 2 * set->n)
        slots *= 2;
    set->table = sy_arena_alloc(arena, sizeof(*set->table) * slots);
    if (!set->table)
        return -ENOMEM;
    memset(set->table, 0, sizeof(*set->table) * slots);
    set->mask = slots - 1;
    for (uint32_t i = 0; i < set->n; i++) {
        const struct flag *f = &set->flags[i];
        uint32_t at = key_hash(f->key, f->klen) & set->mask;
        while (set->table[at])
            at = (at + 1) & set->mask;
        set->table[at] = f;
    }
    return 0;
}

static int load(struct loader *l, sy_flagset_t *set, const sy_value_t *doc)
{
    static const sy_value_t empty = {.type = SY_OBJ};
    set->metadata = empty;
    if (doc->type != SY_OBJ) {
        report(l, WARN, "$", "a flag set must be a JSON object");
        return 0; /* flagd loads it as a set without flags */
    }
    const sy_value_t *md = sy_value_get(doc, "metadata", 8);
    if (md) {
        check_metadata(l, md, "metadata", true);
        if (md->type == SY_OBJ)
            set->metadata = *md;
    }
    const sy_value_t *ev = sy_value_get(doc, "$evaluators", 11);
    if (ev && ev->type != SY_OBJ)
        report(l, WARN, "$evaluators", "$evaluators must be an object");
    else if (ev) {
        l->evaluators = ev;
        char p[128];
        for (uint32_t i = 0; i < ev->len; i++) {
            snprintf(p, sizeof(p), "$evaluators");
            path_key(p, sizeof(p), ev->members[i].key, ev->members[i].klen);
            check_rule(l, &ev->members[i].val, p, sizeof(p), 0);
        }
    }
    const sy_value_t *flags = sy_value_get(doc, "flags", 5);
    if (!flags) {
        report(l, WARN, "flags", "flags is required");
        return 0;
    }
    if (flags->type != SY_OBJ) {
        report(l, ERROR, "flags", "flags must be an object of flags by key");
        return 0;
    }
    set->n = flags->len;
    set->flags = sy_arena_alloc(l->arena, sizeof(*set->flags) * (flags->len ? flags->len : 1));
    if (!set->flags)
        return -ENOMEM;
    for (uint32_t i = 0; i < flags->len; i++) {
        int rc = load_flag(l, &flags->members[i], &set->metadata, &set->flags[i]);
        if (rc < 0)
            return rc;
        if (set->flags[i].targeting && sy_logic_reads_time(set->flags[i].targeting))
            set->reads_time = true;
    }
    l->flag[0] = '\0';
    return build_table(l->arena, set);
}

int sy_flagset_load(sy_flagset_t **out, sy_arena_t *arena, const sy_value_t *doc,
                    const sy_flagset_opts_t *opts, sy_problems_t *problems)
{
    static const sy_flagset_opts_t lenient = {0};
    if (!opts)
        opts = &lenient;
    sy_flagset_t *set = sy_arena_alloc(arena, sizeof(*set));
    if (!set) {
        sy_arena_free(arena);
        return -ENOMEM;
    }
    *set = (sy_flagset_t){.fractional = opts->fractional};
    struct loader l = {.arena = arena,
                       .fractional = opts->fractional,
                       .problems = problems,
                       .strict = opts->strict};
    int rc = load(&l, set, doc);
    if (rc == 0 && l.errors)
        rc = -EINVAL;
    if (rc < 0) {
        sy_arena_free(arena);
        return rc;
    }
    set->arena = *arena; /* the set now owns the chunks, itself included */
    *arena = (sy_arena_t){0};
    *out = set;
    return 0;
}

void sy_flagset_free(sy_flagset_t *set)
{
    if (!set)
        return;
    sy_arena_t a = set->arena; /* `set` lives in the arena: copy before freeing */
    sy_arena_free(&a);
}

size_t sy_flagset_count(const sy_flagset_t *set)
{
    return set->n;
}

const char *sy_flagset_key(const sy_flagset_t *set, size_t i, size_t *len)
{
    *len = set->flags[i].klen;
    return set->flags[i].key;
}

bool sy_flagset_is_disabled(const sy_flagset_t *set, size_t i)
{
    return set->flags[i].disabled;
}

const sy_value_t *sy_flagset_metadata(const sy_flagset_t *set)
{
    return &set->metadata;
}

/* ---- evaluation --------------------------------------------------------------------- */

static const struct flag *find(const sy_flagset_t *set, const char *key, size_t klen)
{
    if (!set->table)
        return NULL; /* a set without flags */
    for (uint32_t at = key_hash(key, klen) & set->mask;; at = (at + 1) & set->mask) {
        const struct flag *f = set->table[at];
        if (!f)
            return NULL;
        if (sy_bytes_eq(f->key, f->klen, key, klen))
            return f;
    }
}

bool sy_flagset_reads_time(const sy_flagset_t *set)
{
    return set->reads_time;
}

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
static const sy_member_t *fast_pick(const struct flag *f, const sy_value_t *ctx,
                                    sy_arena_t *scratch)
{
    const sy_logic_split_t *sp = &f->fast->split;
    const char *s = sp->seed;
    size_t len = sp->seed_len;
    char buf[256];
    /* No targeting key (or no room for a very long one) gives null, as the rule would. */
    if (!s &&
        sy_logic_bucketing_key(ctx, f->key, f->klen, buf, sizeof(buf), scratch, &s, &len) <= 0)
        return NULL;
    uint32_t h = sy_hash_murmur3(s, len);
    ptrdiff_t i = sy_hash_pick(sp->weights, sp->n, sy_hash_bucket(h, sp->total));
    return i >= 0 ? f->fast->members[i] : NULL;
}

static void eval_flag(const sy_flagset_t *set, const char *key, size_t klen, sy_flag_type_t type,
                      const sy_value_t *ctx, int64_t now_s, sy_arena_t *scratch,
                      sy_flag_result_t *res)
{
    static const sy_value_t empty = {.type = SY_OBJ};
    /* Field by field: zeroing the whole result (message included) costs more than a
     * static flag's evaluation. */
    res->has_value = false;
    res->value = SY_V_NULL;
    res->variant = NULL;
    res->variant_len = 0;
    res->reason = SY_REASON_STATIC;
    res->error = SY_FLAG_OK;
    res->metadata = &set->metadata;
    res->message[0] = '\0';
    const struct flag *f = find(set, key, klen);
    int shown = klen > 64 ? 64 : (int)klen;
    if (!f) {
        fail_with(res, SY_FLAG_NOT_FOUND, "flag \"%.*s\" not found", shown, key);
        return;
    }
    res->metadata = &f->metadata;
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
    res->reason = SY_REASON_STATIC;
    const sy_member_t *variant = NULL;
    if (f->fast) {
        variant = fast_pick(f, ctx ? ctx : &empty, scratch);
        res->reason = variant ? SY_REASON_TARGETING_MATCH : SY_REASON_DEFAULT;
    } else if (f->targeting) {
        sy_logic_env_t env = {.ctx = ctx ? ctx : &empty,
                              .flag_key = f->key,
                              .flag_key_len = f->klen,
                              .now_s = now_s,
                              .fractional = set->fractional};
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

void sy_flagset_eval(const sy_flagset_t *set, const char *key, size_t klen, sy_flag_type_t type,
                     const sy_value_t *ctx, int64_t now_s, sy_arena_t *scratch,
                     sy_flag_result_t *res)
{
    /* The result borrows only the set, never the scratch: give the temporaries back. */
    sy_arena_mark_t mark = sy_arena_mark(scratch);
    eval_flag(set, key, klen, type, ctx, now_s, scratch, res);
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
