/* rule.c - targeting rules compiled once, and the evaluators they name; see rule.h. */
#include "core/rule.h"

#include <assert.h>
#include <string.h>

#define COMPILE_ARENA_MAX ((size_t)1 << 30) /* memory one rule's compilation may use */

static bool key_is(const sy_member_t *m, const char *s)
{
    return m->klen == strlen(s) && memcmp(m->key, s, m->klen) == 0;
}

/* ---- evaluators ------------------------------------------------------------------------ */

static void evaluators_drop(sy_piece_t *p)
{
    sy_evaluators_t *ev = (sy_evaluators_t *)p;
    for (uint32_t i = 0; i < ev->n; i++)
        sy_piece_release(&ev->items[i].val->piece);
    sy_block_free(ev);
}

sy_evaluators_t *sy_evaluators_new(sy_pool_t *pool, const sy_value_t *ev)
{
    uint32_t n = ev && ev->type == SY_OBJ ? ev->len : 0;
    size_t chars = 0;
    for (uint32_t i = 0; i < n; i++)
        chars += (size_t)ev->members[i].klen + 1;
    sy_evaluators_t *out = sy_block_alloc(sizeof(*out) + sizeof(out->items[0]) * n + chars);
    if (!out)
        return NULL;
    sy_piece_init(&out->piece, SY_PIECE_EVALUATORS, 0, evaluators_drop);
    out->n = 0;
    char *cp = (char *)&out->items[n];
    for (uint32_t i = 0; i < n; i++) {
        const sy_member_t *m = &ev->members[i];
        const sy_ival_t *val = sy_ival_intern(pool, &m->val);
        if (!val) {
            evaluators_drop(&out->piece);
            return NULL;
        }
        memcpy(cp, m->key, m->klen);
        cp[m->klen] = '\0';
        out->items[i] = (struct sy_evaluator){.name = cp, .len = m->klen, .val = val};
        cp += m->klen + 1;
        out->n++;
    }
    return out;
}

const sy_ival_t *sy_evaluators_get(const sy_evaluators_t *ev, const char *name, size_t len)
{
    for (uint32_t i = 0; ev && i < ev->n; i++)
        if (sy_bytes_eq(ev->items[i].name, ev->items[i].len, name, len))
            return ev->items[i].val;
    return NULL;
}

/* ---- rules ---------------------------------------------------------------------------- */

/* The evaluators a rule names, gathered as the compiler would meet them: every object
 * {"$ref": "name"} in it, and in the evaluators those name (each once). Wider than the
 * compiler when a rule fails early, which only means a needless recompilation later. */
struct deps {
    sy_arena_t *arena;
    const sy_evaluators_t *ev;
    struct sy_rule_dep *items;
    uint32_t n, cap;
};

static int collect_deps(struct deps *d, const sy_value_t *v)
{
    if (v->type == SY_ARR) {
        for (uint32_t i = 0; i < v->len; i++) {
            int rc = collect_deps(d, &v->items[i]);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    if (v->type != SY_OBJ)
        return 0;
    if (v->len == 1 && key_is(&v->members[0], "$ref") && v->members[0].val.type == SY_STR) {
        const sy_value_t *name = &v->members[0].val;
        for (uint32_t i = 0; i < d->n; i++)
            if (sy_bytes_eq(d->items[i].name, d->items[i].len, name->s, name->len))
                return 0;
        if (d->n == d->cap) {
            uint32_t cap = d->cap ? 2 * d->cap : 4;
            struct sy_rule_dep *items = sy_arena_alloc(d->arena, sizeof(*items) * cap);
            if (!items)
                return -ENOMEM;
            if (d->n)
                memcpy(items, d->items, sizeof(*items) * d->n);
            d->items = items;
            d->cap = cap;
        }
        const sy_ival_t *val = sy_evaluators_get(d->ev, name->s, name->len);
        d->items[d->n++] = (struct sy_rule_dep){.name = name->s, .len = name->len, .val = val};
        return val ? collect_deps(d, &val->v) : 0;
    }
    for (uint32_t i = 0; i < v->len; i++) {
        int rc = collect_deps(d, &v->members[i].val);
        if (rc < 0)
            return rc;
    }
    return 0;
}

struct rule_key {
    const sy_ival_t *expr;
    sy_fractional_t fractional;
    uint32_t n_deps;
    const struct sy_rule_dep *deps;
};

static uint32_t rule_hash(const struct rule_key *k)
{
    uint64_t h = sy_pool_mix(0xcbf29ce484222325u, &k->expr, sizeof(k->expr));
    h = sy_pool_mix(h, &k->fractional, sizeof(k->fractional));
    for (uint32_t i = 0; i < k->n_deps; i++) {
        h = sy_pool_mix(h, k->deps[i].name, k->deps[i].len);
        h = sy_pool_mix(h, &k->deps[i].val, sizeof(k->deps[i].val));
    }
    return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

static bool rule_same(const sy_piece_t *p, const void *key)
{
    const sy_rule_t *r = (const sy_rule_t *)p;
    const struct rule_key *k = key;
    if (r->expr != k->expr || r->fractional != k->fractional || r->n_deps != k->n_deps)
        return false;
    for (uint32_t i = 0; i < k->n_deps; i++)
        if (r->deps[i].val != k->deps[i].val ||
            !sy_bytes_eq(r->deps[i].name, r->deps[i].len, k->deps[i].name, k->deps[i].len))
            return false;
    return true;
}

static void rule_drop(sy_piece_t *p)
{
    sy_rule_t *r = (sy_rule_t *)p;
    for (uint32_t i = 0; i < r->n_deps; i++)
        sy_piece_release(r->deps[i].val ? &r->deps[i].val->piece : NULL);
    sy_piece_release(&r->expr->piece);
    sy_block_free(r);
}

/* Compiles `k` into a new rule piece (one reference). The logic is compiled twice: once
 * into a growable arena to learn its size, once into the rule's own block of exactly that
 * size, so that a shared rule costs what it holds and no chunk's tail. */
static int rule_compile(const struct rule_key *k, sy_rule_t **out)
{
    /* The evaluators the compiler may look up: exactly those the rule names. */
    char tmp_buf[2048], sized_buf[8192];
    sy_arena_t tmp;
    sy_arena_init_with(&tmp, tmp_buf, sizeof(tmp_buf), COMPILE_ARENA_MAX);
    sy_member_t *evm = sy_arena_alloc(&tmp, sizeof(*evm) * (k->n_deps ? k->n_deps : 1));
    if (!evm) {
        sy_arena_free(&tmp);
        return -ENOMEM;
    }
    uint32_t nev = 0;
    for (uint32_t i = 0; i < k->n_deps; i++)
        if (k->deps[i].val)
            evm[nev++] = (sy_member_t){
                .key = k->deps[i].name, .klen = k->deps[i].len, .val = k->deps[i].val->v};
    sy_value_t evaluators = {.type = SY_OBJ, .len = nev, .members = evm};

    const sy_logic_t *logic;
    sy_err_t err = {0};
    sy_arena_t sized;
    sy_arena_init_with(&sized, sized_buf, sizeof(sized_buf), COMPILE_ARENA_MAX);
    int rc = sy_logic_compile(&k->expr->v, &evaluators, &sized, &logic, &err);
    size_t logic_bytes = rc == 0 ? sized.used : 0;
    sy_arena_free(&sized);
    if (rc == -ENOMEM) {
        sy_arena_free(&tmp);
        return rc;
    }
    size_t chars = 0;
    for (uint32_t i = 0; i < k->n_deps; i++)
        chars += (size_t)k->deps[i].len + 1;
    if (rc < 0)
        chars += strlen(err.field) + 1 + strlen(err.msg) + 1;
    size_t head = sizeof(sy_rule_t) + sizeof(struct sy_rule_dep) * k->n_deps;
    head = (head + 15) & ~(size_t)15; /* the logic's arena starts aligned */
    sy_rule_t *r = sy_block_alloc(head + logic_bytes + chars);
    if (!r) {
        sy_arena_free(&tmp);
        return -ENOMEM;
    }
    struct sy_rule_dep *deps = (struct sy_rule_dep *)(r + 1);
    char *cp = (char *)r + head + logic_bytes;
    *r = (sy_rule_t){
        .expr = k->expr, .fractional = k->fractional, .n_deps = k->n_deps, .deps = deps, .rc = rc};
    sy_piece_init(&r->piece, SY_PIECE_RULE, rule_hash(k), rule_drop);
    sy_piece_ref(&k->expr->piece);
    for (uint32_t i = 0; i < k->n_deps; i++) {
        memcpy(cp, k->deps[i].name, k->deps[i].len);
        cp[k->deps[i].len] = '\0';
        deps[i] = (struct sy_rule_dep){.name = cp, .len = k->deps[i].len, .val = k->deps[i].val};
        if (deps[i].val)
            sy_piece_ref(&deps[i].val->piece);
        cp += k->deps[i].len + 1;
    }
    if (rc < 0) {
        size_t fl = strlen(err.field), ml = strlen(err.msg);
        memcpy(cp, err.field, fl + 1);
        r->err_field = cp;
        cp += fl + 1;
        memcpy(cp, err.msg, ml + 1);
        r->err_msg = cp;
    } else {
        sy_arena_t fixed;
        sy_arena_init_fixed(&fixed, (char *)r + head, logic_bytes);
        rc = sy_logic_compile(&k->expr->v, &evaluators, &fixed, &r->logic, &err);
        assert(rc == 0); /* the same compilation into as many bytes as it took */
        if (rc < 0) {
            sy_arena_free(&tmp);
            rule_drop(&r->piece);
            return -ENOMEM;
        }
        r->is_split = k->fractional == SY_FRACTIONAL_V2 && sy_logic_as_split(r->logic, &r->split);
    }
    sy_arena_free(&tmp);
    *out = r;
    return 0;
}

const sy_rule_t *sy_rule_ref(const sy_rule_t *r)
{
    return (const sy_rule_t *)sy_piece_ref(&r->piece);
}

void sy_rule_release(const sy_rule_t *r)
{
    sy_piece_release(r ? &r->piece : NULL);
}

int sy_rule_get(sy_pool_t *pool, const sy_evaluators_t *ev, sy_fractional_t fractional,
                const sy_value_t *t, const sy_rule_t **out)
{
    const sy_ival_t *expr = sy_ival_intern(pool, t);
    if (!expr)
        return -ENOMEM;
    char buf[2048];
    sy_arena_t tmp;
    sy_arena_init_with(&tmp, buf, sizeof(buf), COMPILE_ARENA_MAX);
    struct deps d = {.arena = &tmp, .ev = ev};
    int rc = collect_deps(&d, &expr->v);
    struct rule_key k = {.expr = expr, .fractional = fractional, .n_deps = d.n, .deps = d.items};
    const sy_piece_t *found =
        rc == 0 && pool ? sy_pool_find(pool, SY_PIECE_RULE, rule_hash(&k), rule_same, &k) : NULL;
    sy_rule_t *r = NULL;
    if (rc == 0 && !found && (rc = rule_compile(&k, &r)) == 0 && pool &&
        sy_pool_add(pool, &r->piece) < 0) {
        /* Not shared, still valid. */
    }
    sy_arena_free(&tmp);
    sy_piece_release(&expr->piece); /* the rule holds its own */
    if (rc < 0)
        return rc;
    *out = found ? (const sy_rule_t *)found : r;
    return 0;
}
