/* logic.c - compiling and evaluating JSONLogic; see logic.h.
 *
 * A node is an operator and its operand nodes, stored contiguously. An operand written
 * as an array (`{"+": [a, b]}`) gives one node per item; an operand written as a single
 * expression (`{"+": {"var": "xs"}}`) gives one node and the `spread` flag: its value,
 * when an array, is the argument list (JSONLogic's rule). Literals, including arrays of
 * literals, stay one SY_LIT node that borrows the document's value.
 */
#include "core/logic.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/hash.h"
#include "core/semver.h"

enum op {
    OP_LIT,   /* a literal value */
    OP_ARRAY, /* an array literal with expressions inside */
    OP_VAR,
    OP_MISSING,
    OP_MISSING_SOME,
    OP_IF,
    OP_EQ,
    OP_STRICT_EQ,
    OP_NE,
    OP_STRICT_NE,
    OP_NOT,
    OP_NOTNOT,
    OP_OR,
    OP_AND,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_MAX,
    OP_MIN,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD,
    OP_IN,
    OP_CAT,
    OP_SUBSTR,
    OP_MERGE,
    OP_MAP,
    OP_FILTER,
    OP_REDUCE,
    OP_ALL,
    OP_NONE,
    OP_SOME,
    OP_FRACTIONAL,
    OP_SEM_VER,
    OP_STARTS_WITH,
    OP_ENDS_WITH,
};

static const struct {
    const char *name;
    enum op op;
} ops[] = {
    {"var", OP_VAR},
    {"missing", OP_MISSING},
    {"missing_some", OP_MISSING_SOME},
    {"if", OP_IF},
    {"==", OP_EQ},
    {"===", OP_STRICT_EQ},
    {"!=", OP_NE},
    {"!==", OP_STRICT_NE},
    {"!", OP_NOT},
    {"!!", OP_NOTNOT},
    {"or", OP_OR},
    {"and", OP_AND},
    {"<", OP_LT},
    {"<=", OP_LE},
    {">", OP_GT},
    {">=", OP_GE},
    {"max", OP_MAX},
    {"min", OP_MIN},
    {"+", OP_ADD},
    {"-", OP_SUB},
    {"*", OP_MUL},
    {"/", OP_DIV},
    {"%", OP_MOD},
    {"in", OP_IN},
    {"cat", OP_CAT},
    {"substr", OP_SUBSTR},
    {"merge", OP_MERGE},
    {"map", OP_MAP},
    {"filter", OP_FILTER},
    {"reduce", OP_REDUCE},
    {"all", OP_ALL},
    {"none", OP_NONE},
    {"some", OP_SOME},
    {"fractional", OP_FRACTIONAL},
    {"sem_ver", OP_SEM_VER},
    {"starts_with", OP_STARTS_WITH},
    {"ends_with", OP_ENDS_WITH},
};

/* A `var` path known at load time: "user.address.country" split at the dots. */
struct path {
    uint32_t n;                 /* segments; 0 means the whole scope ("" or null) */
    const sy_value_t *segments; /* strings */
};

/* A `fractional` whose buckets are all literals: weights summed once at load. */
struct split {
    uint32_t n;                 /* buckets */
    const uint32_t *weights;    /* clamped weights (v2) */
    const double *raw_weights;  /* weights as written (v1 keeps negatives, truncates) */
    const sy_value_t *variants; /* the variant of each bucket */
    uint64_t total;             /* sum of `weights` */
    bool valid;                 /* false: the buckets break a v2 rule, result null */
    bool v1_valid;              /* false: they break a v1 rule (v1 wants string variants) */
};

struct sy_logic {
    uint8_t op;      /* enum op */
    bool spread;     /* operand was one expression whose array value lists the arguments */
    bool reads_time; /* root only: some `var` may read $flagd.timestamp */
    uint32_t argc;   /* operand nodes in `args` */
    const struct sy_logic *args;
    union {
        sy_value_t lit;            /* OP_LIT */
        const struct path *path;   /* OP_VAR with a literal path, else NULL */
        const struct split *split; /* OP_FRACTIONAL with literal buckets, else NULL */
    } u;
};

/* ---- compiling ---------------------------------------------------------------------- */

struct compiler {
    sy_arena_t *arena;
    const sy_value_t *evaluators;
    sy_err_t *err;
    char path[192]; /* JSON path of the node being compiled, for messages */
    size_t path_len;
    int refs;        /* $ref expansions on the current branch */
    size_t expanded; /* nodes compiled inside a $ref's evaluator (SY_LOGIC_MAX_EXPANDED) */
    bool reads_time; /* a var may read $flagd.timestamp (or the whole context) */
};

static int compile(struct compiler *c, const sy_value_t *v, struct sy_logic *out, int depth);

static size_t path_push(struct compiler *c, const char *fmt, const char *key, size_t klen,
                        uint32_t index)
{
    size_t saved = c->path_len;
    char *p = c->path + c->path_len;
    size_t room = sizeof(c->path) - c->path_len;
    int n = key ? snprintf(p, room, fmt, (int)(klen > 64 ? 64 : klen), key)
                : snprintf(p, room, fmt, index);
    if (n > 0)
        c->path_len += (size_t)n < room ? (size_t)n : room - 1;
    return saved;
}

static void path_pop(struct compiler *c, size_t saved)
{
    c->path_len = saved;
    c->path[saved] = '\0';
}

static int fail(struct compiler *c, const char *fmt, const char *a, size_t alen)
{
    char msg[128];
    snprintf(msg, sizeof(msg), fmt, (int)(alen > 48 ? 48 : alen), a);
    return sy_err_set(c->err, -EINVAL, c->path, "%s", msg);
}

static bool is_literal(const struct sy_logic *n)
{
    return n->op == OP_LIT;
}

static int compile_list(struct compiler *c, const sy_value_t *items, uint32_t n,
                        struct sy_logic **out, int depth)
{
    struct sy_logic *nodes = NULL;
    if (n) {
        nodes = sy_arena_alloc(c->arena, sizeof(*nodes) * n);
        if (!nodes)
            return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        size_t saved = path_push(c, "[%u]", NULL, 0, i);
        int rc = compile(c, &items[i], &nodes[i], depth);
        path_pop(c, saved);
        if (rc < 0)
            return rc;
    }
    *out = nodes;
    return 0;
}

/* Splits a var path at its dots into *p (segments borrow `s`, the array comes from
 * `arena`); "" gives no segment (the whole scope). Returns 0 or -ENOMEM. */
static int split_path(const char *s, size_t len, sy_arena_t *arena, struct path *p)
{
    p->n = 0;
    p->segments = NULL;
    if (!len)
        return 0;
    uint32_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '.';
    sy_value_t *segs = sy_arena_alloc(arena, sizeof(*segs) * n);
    if (!segs)
        return -ENOMEM;
    size_t start = 0;
    for (uint32_t k = 0; k < n; k++) {
        size_t end = start;
        while (end < len && s[end] != '.')
            end++;
        segs[k] = SY_V_STR(s + start, end - start);
        start = end + 1;
    }
    p->n = n;
    p->segments = segs;
    return 0;
}

/* A literal var path: a string (or number) split at dots; "" and null select the scope. */
static int compile_path(struct compiler *c, const sy_value_t *v, const struct path **out)
{
    char num[40];
    const char *s;
    size_t len;
    if (v->type == SY_NULL) {
        s = "";
        len = 0;
    } else if (v->type == SY_STR) {
        s = v->s;
        len = v->len;
    } else if (v->type == SY_NUM) {
        len = sy_num_format(v->n, num, sizeof(num));
        s = sy_arena_strdup(c->arena, num, len);
        if (!s)
            return -ENOMEM;
    } else {
        *out = NULL; /* computed at run time */
        c->reads_time = true;
        return 0;
    }
    /* "", "$flagd" and "$flagd.timestamp..." can see the time; so can computed paths. */
    if (len == 0 || (len >= 6 && memcmp(s, "$flagd", 6) == 0 &&
                     (len == 6 || (len >= 16 && memcmp(s + 6, ".timestamp", 10) == 0))))
        c->reads_time = true;
    struct path *p = sy_arena_alloc(c->arena, sizeof(*p));
    if (!p || split_path(s, len, c->arena, p) < 0)
        return -ENOMEM;
    *out = p;
    return 0;
}

/* How one bucket entry [variant(, weight)] reads. */
enum bucket {
    BUCKET_OK,      /* valid under both rules */
    BUCKET_V1_ONLY, /* a weight that is not an integer: v1 truncated it, v2 refuses */
    BUCKET_BAD,     /* not an array, empty, an array or object variant, a non-number weight */
};

/* Reads entry `e` into its variant, its weight as written (`raw`, 1 when absent or null:
 * flagd (Go) counts a null weight as 1 and ignores items past the weight) and the v2
 * weight `w` (negative clamped to 0, saturated above 2^32 - 1: the total is checked). */
static enum bucket read_bucket(const sy_value_t *e, sy_value_t *var, double *raw, uint32_t *w)
{
    *var = SY_V_NULL;
    *raw = 0;
    *w = 0;
    if (e->type != SY_ARR || e->len == 0 || e->items[0].type > SY_STR)
        return BUCKET_BAD;
    *var = e->items[0];
    double weight = 1;
    if (e->len >= 2 && e->items[1].type != SY_NULL) {
        if (e->items[1].type != SY_NUM || !isfinite(e->items[1].n))
            return BUCKET_BAD;
        weight = e->items[1].n;
    }
    *raw = weight;
    if (weight > 0)
        *w = weight >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)weight;
    return weight == trunc(weight) ? BUCKET_OK : BUCKET_V1_ONLY;
}

/* Pre-sums a fractional whose bucket entries are literal arrays of literals. */
static int compile_split(struct compiler *c, struct sy_logic *n)
{
    uint32_t first = 0;
    if (n->spread || n->argc == 0)
        return 0;
    if (is_literal(&n->args[0]) && n->args[0].u.lit.type == SY_STR)
        first = 1; /* a literal bucketing string */
    else if (n->args[0].op != OP_LIT || n->args[0].u.lit.type != SY_ARR)
        return 0; /* a bucketing expression: its value decides at run time */
    uint32_t count = n->argc - first;
    for (uint32_t i = first; i < n->argc; i++)
        if (!is_literal(&n->args[i]))
            return 0;
    struct split *s = sy_arena_alloc(c->arena, sizeof(*s));
    uint32_t *w = sy_arena_alloc(c->arena, sizeof(*w) * (count ? count : 1));
    double *raw = sy_arena_alloc(c->arena, sizeof(*raw) * (count ? count : 1));
    sy_value_t *vars = sy_arena_alloc(c->arena, sizeof(*vars) * (count ? count : 1));
    if (!s || !w || !raw || !vars)
        return -ENOMEM;
    *s = (struct split){.n = count,
                        .weights = w,
                        .raw_weights = raw,
                        .variants = vars,
                        .valid = true,
                        .v1_valid = true};
    for (uint32_t i = 0; i < count; i++) {
        enum bucket b = read_bucket(&n->args[first + i].u.lit, &vars[i], &raw[i], &w[i]);
        s->valid = s->valid && b == BUCKET_OK;
        s->v1_valid = s->v1_valid && b != BUCKET_BAD && vars[i].type == SY_STR;
        s->total += w[i];
    }
    if (s->total > SY_HASH_MAX_TOTAL)
        s->valid = false;
    n->u.split = s;
    return 0;
}

static int compile_op(struct compiler *c, const sy_member_t *m, struct sy_logic *out, int depth)
{
    size_t nops = sizeof(ops) / sizeof(ops[0]);
    size_t i = 0;
    while (i < nops &&
           !(strlen(ops[i].name) == m->klen && memcmp(ops[i].name, m->key, m->klen) == 0))
        i++;
    if (i == nops)
        return fail(c, "unknown operator \"%.*s\"", m->key, m->klen);
    out->op = (uint8_t)ops[i].op;
    memset(&out->u, 0, sizeof(out->u));
    size_t saved = path_push(c, ".%.*s", m->key, m->klen, 0);
    int rc;
    struct sy_logic *args = NULL;
    if (m->val.type == SY_ARR) {
        out->argc = m->val.len;
        rc = compile_list(c, m->val.items, m->val.len, &args, depth);
    } else {
        out->argc = 1;
        out->spread = true;
        rc = compile_list(c, &m->val, 1, &args, depth);
    }
    path_pop(c, saved);
    if (rc < 0)
        return rc;
    out->args = args;
    if (out->op == OP_VAR && out->argc == 0)
        c->reads_time = true; /* {"var": []}: the whole context */
    if (out->op == OP_VAR && out->argc >= 1 && is_literal(&args[0]))
        return compile_path(c, &args[0].u.lit, &out->u.path);
    if (out->op == OP_VAR)
        c->reads_time = true;
    if (out->op == OP_FRACTIONAL)
        return compile_split(c, out);
    return 0;
}

static int compile(struct compiler *c, const sy_value_t *v, struct sy_logic *out, int depth)
{
    *out = (struct sy_logic){.op = OP_LIT, .u.lit = *v};
    if (depth > SY_LOGIC_MAX_DEPTH)
        return sy_err_set(c->err, -EINVAL, c->path, "rule nested deeper than %d levels",
                          SY_LOGIC_MAX_DEPTH);
    if (c->refs && ++c->expanded > SY_LOGIC_MAX_EXPANDED)
        return sy_err_set(c->err, -EINVAL, c->path,
                          "$ref evaluators expand the rule past %d operations",
                          SY_LOGIC_MAX_EXPANDED);
    if (v->type == SY_ARR) {
        struct sy_logic *items;
        int rc = compile_list(c, v->items, v->len, &items, depth + 1);
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < v->len; i++)
            if (!is_literal(&items[i])) {
                *out = (struct sy_logic){.op = OP_ARRAY, .argc = v->len, .args = items};
                return 0;
            }
        return 0; /* all literal: keep the document's array */
    }
    if (v->type != SY_OBJ || v->len == 0)
        return 0;
    if (v->len > 1)
        return fail(c, "an operator object must have exactly one key, not %.*s", "several", 7);
    const sy_member_t *m = &v->members[0];
    if (m->klen == 4 && memcmp(m->key, "$ref", 4) == 0 && m->val.type == SY_STR) {
        const sy_value_t *target = sy_value_get(c->evaluators, m->val.s, m->val.len);
        if (!target) {
            fail(c, "$ref names no evaluator \"%.*s\"", m->val.s, m->val.len);
            return c->err ? (c->err->code = -ENOENT) : -ENOENT;
        }
        if (c->refs >= 16)
            return fail(c, "$ref \"%.*s\" nests evaluators too deeply (a cycle?)", m->val.s,
                        m->val.len);
        c->refs++;
        int rc = compile(c, target, out, depth + 1);
        c->refs--;
        return rc;
    }
    return compile_op(c, m, out, depth + 1);
}

int sy_logic_compile(const sy_value_t *expr, const sy_value_t *evaluators, sy_arena_t *arena,
                     const sy_logic_t **out, sy_err_t *err)
{
    struct compiler c = {.arena = arena, .evaluators = evaluators, .err = err};
    struct sy_logic *root = sy_arena_alloc(arena, sizeof(*root));
    if (!root)
        return sy_err_set(err, -ENOMEM, "", "out of memory compiling the rule");
    int rc = compile(&c, expr, root, 0);
    if (rc == -ENOMEM)
        return sy_err_set(err, -ENOMEM, c.path, "out of memory compiling the rule");
    if (rc < 0)
        return rc;
    root->reads_time = c.reads_time;
    *out = root;
    return 0;
}

bool sy_logic_reads_time(const sy_logic_t *logic)
{
    return logic->reads_time;
}

bool sy_logic_as_split(const sy_logic_t *logic, sy_logic_split_t *out)
{
    const struct split *sp = logic->op == OP_FRACTIONAL ? logic->u.split : NULL;
    if (!sp || !sp->valid)
        return false;
    bool seeded = logic->args[0].op == OP_LIT && logic->args[0].u.lit.type == SY_STR;
    *out = (sy_logic_split_t){
        .seed = seeded ? logic->args[0].u.lit.s : NULL,
        .seed_len = seeded ? logic->args[0].u.lit.len : 0,
        .n = sp->n,
        .weights = sp->weights,
        .variants = sp->variants,
        .total = (uint32_t)sp->total,
    };
    return true;
}

/* ---- evaluating --------------------------------------------------------------------- */

struct eval {
    const sy_logic_env_t *env;
    sy_arena_t *scratch;
    sy_member_t flagd_members[2]; /* $flagd: flagKey, timestamp (built on first need) */
    sy_value_t flagd;
    bool flagd_built;
    sy_value_t root; /* the context as rules see it, built on first need */
    bool root_built;
};

/* The value rules see as their data: the context, or the current item in an iteration. */
struct scope {
    const sy_value_t *data;
    bool root; /* data is the context: `$flagd` is ours */
};

static int eval(struct eval *ev, const struct sy_logic *n, const struct scope *sc, sy_value_t *out);

/* Evaluated arguments: `v` points at `small`, the scratch, or a spread array's items. */
struct args {
    const sy_value_t *v;
    uint32_t n;
    sy_value_t small[6];
};

static int eval_args(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                     struct args *a)
{
    if (n->spread) {
        int rc = eval(ev, &n->args[0], sc, &a->small[0]);
        if (rc < 0)
            return rc;
        if (a->small[0].type == SY_ARR) {
            a->v = a->small[0].items;
            a->n = a->small[0].len;
        } else {
            a->v = a->small;
            a->n = 1;
        }
        return 0;
    }
    sy_value_t *dst = a->small;
    if (n->argc > sizeof(a->small) / sizeof(a->small[0])) {
        dst = sy_arena_alloc(ev->scratch, sizeof(*dst) * n->argc);
        if (!dst)
            return -ENOMEM;
    }
    for (uint32_t i = 0; i < n->argc; i++) {
        int rc = eval(ev, &n->args[i], sc, &dst[i]);
        if (rc < 0)
            return rc;
    }
    a->v = dst;
    a->n = n->argc;
    return 0;
}

/* The `$flagd` object rules see: {flagKey, timestamp}. */
static const sy_value_t *flagd(struct eval *ev)
{
    if (!ev->flagd_built) {
        const sy_logic_env_t *env = ev->env;
        ev->flagd_members[0] = (sy_member_t){
            .key = "flagKey", .klen = 7, .val = SY_V_STR(env->flag_key, env->flag_key_len)};
        ev->flagd_members[1] =
            (sy_member_t){.key = "timestamp", .klen = 9, .val = SY_V_NUM((double)env->now_s)};
        ev->flagd = (sy_value_t){.type = SY_OBJ, .len = 2, .members = ev->flagd_members};
        ev->flagd_built = true;
    }
    return &ev->flagd;
}

/* The context with `$flagd` replaced by ours, for `{"var": ""}` at the root. */
static int whole_root(struct eval *ev, sy_value_t *out)
{
    if (!ev->root_built) {
        const sy_value_t *ctx = ev->env->ctx;
        uint32_t n = ctx && ctx->type == SY_OBJ ? ctx->len : 0;
        sy_member_t *m = sy_arena_alloc(ev->scratch, sizeof(*m) * (n + 1));
        if (!m)
            return -ENOMEM;
        uint32_t k = 0;
        for (uint32_t i = 0; i < n; i++)
            if (!(ctx->members[i].klen == 6 && memcmp(ctx->members[i].key, "$flagd", 6) == 0))
                m[k++] = ctx->members[i];
        m[k++] = (sy_member_t){.key = "$flagd", .klen = 6, .val = *flagd(ev)};
        ev->root = (sy_value_t){.type = SY_OBJ, .len = k, .members = m};
        ev->root_built = true;
    }
    *out = ev->root;
    return 0;
}

/* One step of a path: a member of an object, an index or `length` of an array or string.
 * Returns NULL for undefined. */
static bool step(const sy_value_t *cur, const char *seg, size_t len, sy_value_t *next)
{
    if (cur->type == SY_OBJ) {
        const sy_value_t *v = sy_value_get(cur, seg, len);
        if (!v)
            return false;
        *next = *v;
        return true;
    }
    if (cur->type != SY_ARR && cur->type != SY_STR)
        return false;
    if (len == 6 && memcmp(seg, "length", 6) == 0) {
        *next = SY_V_NUM(cur->len);
        return true;
    }
    /* A canonical array index: digits, no leading zero. */
    if (len == 0 || len > 10 || (len > 1 && seg[0] == '0'))
        return false;
    uint64_t idx = 0;
    for (size_t i = 0; i < len; i++) {
        if (seg[i] < '0' || seg[i] > '9')
            return false;
        idx = idx * 10 + (uint64_t)(seg[i] - '0');
    }
    if (idx >= cur->len)
        return false;
    if (cur->type == SY_ARR)
        *next = cur->items[idx];
    else
        *next = SY_V_STR(cur->s + idx, 1);
    return true;
}

/* Looks `segs` up from the scope. Returns false for undefined (a missing member). */
static int lookup(struct eval *ev, const struct scope *sc, const sy_value_t *segs, uint32_t n,
                  sy_value_t *out, bool *found)
{
    *found = false;
    sy_value_t cur;
    if (n == 0) {
        if (sc->root) {
            int rc = whole_root(ev, out);
            *found = rc == 0;
            return rc;
        }
        *out = *sc->data;
        *found = true;
        return 0;
    }
    uint32_t i = 0;
    if (sc->root && segs[0].len == 6 && memcmp(segs[0].s, "$flagd", 6) == 0) {
        cur = *flagd(ev);
        i = 1;
    } else if (sc->data) {
        cur = *sc->data;
    } else {
        return 0;
    }
    for (; i < n; i++)
        if (!step(&cur, segs[i].s, segs[i].len, &cur))
            return 0;
    *out = cur;
    *found = true;
    return 0;
}

static int eval_var(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                    sy_value_t *out)
{
    const struct path *p = n->u.path;
    sy_value_t found_v;
    bool found = false;
    int rc;
    if (n->argc == 0) {
        rc = lookup(ev, sc, NULL, 0, &found_v, &found);
    } else if (p) {
        rc = lookup(ev, sc, p->segments, p->n, &found_v, &found);
    } else {
        /* A computed path: evaluate it, then split it as a literal path would be. */
        sy_value_t pv;
        rc = eval(ev, &n->args[0], sc, &pv);
        if (rc < 0)
            return rc;
        if (n->spread && pv.type == SY_ARR) {
            /* {"var": <expr>} whose value is [path, default]: JSONLogic reads it so. */
            if (pv.len == 0)
                return *out = SY_V_NULL, 0;
            sy_value_t path = pv.items[0];
            const char *s;
            size_t len;
            rc = sy_value_to_string(&path, ev->scratch, &s, &len);
            if (rc < 0)
                return rc;
            pv = path.type == SY_NULL ? SY_V_STR("", 0) : SY_V_STR(s, len);
        }
        const char *s = "";
        size_t len = 0;
        if (pv.type != SY_NULL) {
            rc = sy_value_to_string(&pv, ev->scratch, &s, &len);
            if (rc < 0)
                return rc;
        }
        struct path computed;
        if (split_path(s, len, ev->scratch, &computed) < 0)
            return -ENOMEM;
        rc = lookup(ev, sc, computed.segments, computed.n, &found_v, &found);
    }
    if (rc < 0)
        return rc;
    if (found && found_v.type != SY_NULL) {
        *out = found_v;
        return 0;
    }
    if (!n->spread && n->argc >= 2)
        return eval(ev, &n->args[1], sc, out);
    *out = SY_V_NULL;
    return 0;
}

/* Keys of `keys` whose var value is null or missing ("" counts as present, as in
 * json-logic-engine). */
static int missing_keys(struct eval *ev, const struct scope *sc, const sy_value_t *keys, uint32_t n,
                        sy_value_t *out)
{
    sy_value_t *res = sy_arena_alloc(ev->scratch, sizeof(*res) * (n ? n : 1));
    if (!res)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct sy_logic var = {.op = OP_VAR, .argc = 1};
        struct sy_logic arg = {.op = OP_LIT, .u.lit = keys[i]};
        var.args = &arg;
        sy_value_t v;
        int rc = eval_var(ev, &var, sc, &v);
        if (rc < 0)
            return rc;
        if (v.type == SY_NULL)
            res[k++] = keys[i];
    }
    *out = (sy_value_t){.type = SY_ARR, .len = k, .items = res};
    return 0;
}

static int eval_missing(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                        sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    /* Compile the var lookups on the fly: paths come from evaluated keys. */
    if (n->op == OP_MISSING) {
        if (a.n >= 1 && a.v[0].type == SY_ARR)
            return missing_keys(ev, sc, a.v[0].items, a.v[0].len, out);
        /* a.v may live in `a`; copy the keys so missing_keys can point at them. */
        sy_value_t *keys = sy_arena_alloc(ev->scratch, sizeof(*keys) * (a.n ? a.n : 1));
        if (!keys)
            return -ENOMEM;
        memcpy(keys, a.v, sizeof(*keys) * a.n);
        return missing_keys(ev, sc, keys, a.n, out);
    }
    if (a.n < 2 || a.v[1].type != SY_ARR)
        return -EINVAL;
    double need;
    if (!sy_value_to_number(&a.v[0], &need))
        return -EINVAL;
    sy_value_t miss;
    rc = missing_keys(ev, sc, a.v[1].items, a.v[1].len, &miss);
    if (rc < 0)
        return rc;
    if ((double)(a.v[1].len - miss.len) >= need)
        miss.len = 0;
    *out = miss;
    return 0;
}

static bool is_str_or_null(const sy_value_t *v)
{
    return v->type == SY_STR || v->type == SY_NULL;
}

static int cmp_bytes(const sy_value_t *a, const sy_value_t *b)
{
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->s, b->s, n) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return (a->len > b->len) - (a->len < b->len);
}

/* One comparison `a op b` as json-logic-engine makes it. Returns 0/1, or -EINVAL where
 * the engine throws (an array or object operand, a non-numeric string against a number). */
static int compare(enum op op, const sy_value_t *a, const sy_value_t *b)
{
    if (op == OP_STRICT_EQ || op == OP_STRICT_NE)
        return sy_value_strict_eq(a, b) == (op == OP_STRICT_EQ);
    if (is_str_or_null(a) && is_str_or_null(b)) {
        if (a->type == SY_STR && b->type == SY_STR) {
            int c = cmp_bytes(a, b);
            switch (op) {
            case OP_EQ:
                return c == 0;
            case OP_NE:
                return c != 0;
            case OP_LT:
                return c < 0;
            case OP_LE:
                return c <= 0;
            case OP_GT:
                return c > 0;
            default:
                return c >= 0;
            }
        }
        if (op == OP_EQ || op == OP_NE)
            return (a->type == b->type) == (op == OP_EQ);
        /* null against a string orders as numbers: null is 0, the string by ToNumber. */
    } else {
        double x, y;
        if (a->type >= SY_ARR || b->type >= SY_ARR || !sy_value_to_number(a, &x))
            return -EINVAL;
        if (!sy_value_to_number(b, &y) && a->type != SY_NULL)
            return -EINVAL;
    }
    double x, y;
    sy_value_to_number(a, &x);
    sy_value_to_number(b, &y);
    switch (op) {
    case OP_EQ:
        return x == y;
    case OP_NE:
        return x != y;
    case OP_LT:
        return x < y;
    case OP_LE:
        return x <= y;
    case OP_GT:
        return x > y;
    default:
        return x >= y;
    }
}

static int eval_compare(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                        sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    if (a.n < 2)
        return -EINVAL;
    /* Three arguments to < and <= test a between; the engine chains any count. */
    bool result = true;
    for (uint32_t i = 1; i < a.n && result; i++) {
        int r = compare((enum op)n->op, &a.v[i - 1], &a.v[i]);
        if (r < 0)
            return r;
        result = r;
        if (n->op != OP_LT && n->op != OP_LE && n->op != OP_GT && n->op != OP_GE)
            break; /* equality looks at its first two arguments only */
    }
    *out = SY_V_BOOL(result);
    return 0;
}

/* A numeric operand: ToNumber, refusing arrays, objects and NaN. */
static int operand(const sy_value_t *v, double *x)
{
    if (v->type >= SY_ARR)
        return -EINVAL;
    return sy_value_to_number(v, x) ? 0 : -EINVAL;
}

static int eval_arith(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                      sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    double acc, x;
    switch (n->op) {
    case OP_ADD:
    case OP_MUL:
        acc = n->op == OP_ADD ? 0 : 1;
        for (uint32_t i = 0; i < a.n; i++) {
            if (operand(&a.v[i], &x) < 0)
                return -EINVAL;
            acc = n->op == OP_ADD ? acc + x : acc * x;
        }
        break;
    case OP_SUB:
        if (a.n == 0 || operand(&a.v[0], &acc) < 0)
            return -EINVAL;
        if (a.n == 1)
            acc = -acc;
        for (uint32_t i = 1; i < a.n; i++) {
            if (operand(&a.v[i], &x) < 0)
                return -EINVAL;
            acc -= x;
        }
        break;
    case OP_DIV:
        if (a.n == 0 || operand(&a.v[0], &acc) < 0)
            return -EINVAL;
        if (a.n == 1) {
            if (acc == 0)
                return -EINVAL;
            acc = 1 / acc;
        }
        for (uint32_t i = 1; i < a.n; i++) {
            if (operand(&a.v[i], &x) < 0 || x == 0)
                return -EINVAL;
            acc /= x;
        }
        break;
    default: /* OP_MOD */
        if (a.n < 2 || operand(&a.v[0], &acc) < 0)
            return -EINVAL;
        for (uint32_t i = 1; i < a.n; i++) {
            if (operand(&a.v[i], &x) < 0)
                return -EINVAL;
            acc = fmod(acc, x);
        }
        break;
    }
    if (isnan(acc) || isinf(acc))
        return -EINVAL;
    *out = SY_V_NUM(acc == 0 ? 0 : acc); /* no -0: JSON has none */
    return 0;
}

static int eval_minmax(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                       sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    if (a.n == 0)
        return -EINVAL;
    double best = 0;
    for (uint32_t i = 0; i < a.n; i++) {
        if (a.v[i].type != SY_NUM)
            return -EINVAL;
        if (i == 0 || (n->op == OP_MAX ? a.v[i].n > best : a.v[i].n < best))
            best = a.v[i].n;
    }
    *out = SY_V_NUM(best);
    return 0;
}

static bool contains_bytes(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0)
        return true;
    for (size_t i = 0; i + nn <= hn; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
            return true;
    return false;
}

static int eval_in(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                   sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    sy_value_t item = a.n > 0 ? a.v[0] : SY_V_NULL;
    sy_value_t hay = a.n > 1 ? a.v[1] : SY_V_NULL;
    if (!sy_value_truthy(&hay) && hay.type != SY_ARR) {
        *out = SY_V_BOOL(false); /* (haystack || []).includes(item) */
        return 0;
    }
    if (hay.type == SY_ARR) {
        bool found = false;
        for (uint32_t i = 0; i < hay.len && !found; i++)
            found = sy_value_strict_eq(&item, &hay.items[i]);
        *out = SY_V_BOOL(found);
        return 0;
    }
    if (hay.type != SY_STR)
        return -EINVAL; /* numbers, true and objects have no includes() */
    const char *s;
    size_t len;
    rc = sy_value_to_string(&item, ev->scratch, &s, &len);
    if (rc < 0)
        return rc;
    *out = SY_V_BOOL(contains_bytes(hay.s, hay.len, s, len));
    return 0;
}

static int eval_cat(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                    sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    if (a.n == 1 && a.v[0].type == SY_STR) {
        *out = a.v[0];
        return 0;
    }
    /* Two passes over String() of each item: size, then copy into one scratch block. */
    size_t total = 0;
    sy_arena_mark_t mark = sy_arena_mark(ev->scratch);
    for (uint32_t i = 0; i < a.n; i++) {
        const char *s;
        size_t len;
        rc = sy_value_to_string(&a.v[i], ev->scratch, &s, &len);
        if (rc < 0)
            return rc;
        total += len;
    }
    if (total > SY_VALUE_MAX_LEN)
        return -ENOMEM;
    sy_arena_rewind(ev->scratch, mark);
    char *buf = sy_arena_alloc(ev->scratch, total + 1);
    if (!buf)
        return -ENOMEM;
    size_t at = 0;
    for (uint32_t i = 0; i < a.n; i++) {
        const char *s;
        size_t len;
        /* Strings need no scratch; other values are re-rendered after `buf`. */
        sy_arena_mark_t m2 = sy_arena_mark(ev->scratch);
        rc = sy_value_to_string(&a.v[i], ev->scratch, &s, &len);
        if (rc < 0)
            return rc;
        memcpy(buf + at, s, len);
        at += len;
        sy_arena_rewind(ev->scratch, m2);
    }
    buf[at] = '\0';
    *out = SY_V_STR(buf, at);
    return 0;
}

/* Byte offset of code point `cp` in UTF-8 `s` (clamped to `len`). */
static size_t cp_offset(const char *s, size_t len, size_t cp)
{
    size_t i = 0;
    while (i < len && cp > 0) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        cp--;
    }
    return i;
}

static size_t cp_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* ToIntegerOrInfinity, clamped to a range that cannot overflow below. */
static double to_integer(const sy_value_t *v)
{
    double x;
    if (!sy_value_to_number(v, &x))
        return 0;
    x = trunc(x);
    return x > 1e15 ? 1e15 : x < -1e15 ? -1e15 : x;
}

static int eval_substr(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                       sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    if (a.n == 0 || a.v[0].type != SY_STR)
        return -EINVAL; /* the engine calls .substr on it */
    const sy_value_t *str = &a.v[0];
    double size = (double)cp_count(str->s, str->len);
    double start = a.n > 1 ? to_integer(&a.v[1]) : 0;
    if (start < 0)
        start = fmax(size + start, 0);
    start = fmin(start, size);
    double end = size;
    if (a.n > 2 && a.v[2].type != SY_NULL) {
        double l = to_integer(&a.v[2]);
        end = l < 0 ? fmax(size + l, start) : fmin(start + l, size);
    } else if (a.n > 2) {
        end = start; /* substr(from, null): length 0 */
    }
    if (end < start)
        end = start;
    size_t b0 = cp_offset(str->s, str->len, (size_t)start);
    size_t b1 = cp_offset(str->s, str->len, (size_t)end);
    char *s = sy_arena_strdup(ev->scratch, str->s + b0, b1 - b0);
    if (!s)
        return -ENOMEM;
    *out = SY_V_STR(s, b1 - b0);
    return 0;
}

static int eval_merge(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                      sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    uint64_t total = 0;
    for (uint32_t i = 0; i < a.n; i++)
        total += a.v[i].type == SY_ARR ? a.v[i].len : 1;
    if (total > SY_VALUE_MAX_LEN)
        return -ENOMEM;
    sy_value_t *items = sy_arena_alloc(ev->scratch, sizeof(*items) * (total ? total : 1));
    if (!items)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < a.n; i++) {
        if (a.v[i].type == SY_ARR) {
            memcpy(items + k, a.v[i].items, sizeof(*items) * a.v[i].len);
            k += a.v[i].len;
        } else {
            items[k++] = a.v[i];
        }
    }
    *out = (sy_value_t){.type = SY_ARR, .len = k, .items = items};
    return 0;
}

/* map filter all none some reduce: [array, rule(, initial)]; the rule's data is each
 * item ({accumulator, current} for reduce). A falsy array is []; other non-arrays fail. */
static int eval_iter(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                     sy_value_t *out)
{
    if (n->spread || n->argc < 2)
        return -EINVAL;
    sy_value_t arr;
    int rc = eval(ev, &n->args[0], sc, &arr);
    if (rc < 0)
        return rc;
    if (arr.type != SY_ARR) {
        if (sy_value_truthy(&arr))
            return -EINVAL;
        arr = (sy_value_t){.type = SY_ARR};
    }
    const struct sy_logic *rule = &n->args[1];
    sy_value_t *res = NULL;
    uint32_t k = 0;
    if (n->op == OP_MAP || n->op == OP_FILTER) {
        res = sy_arena_alloc(ev->scratch, sizeof(*res) * (arr.len ? arr.len : 1));
        if (!res)
            return -ENOMEM;
    }
    sy_value_t acc = SY_V_NULL;
    uint32_t start = 0;
    if (n->op == OP_REDUCE) {
        if (n->argc >= 3) {
            rc = eval(ev, &n->args[2], sc, &acc);
            if (rc < 0)
                return rc;
        } else if (arr.len == 0) {
            return -EINVAL; /* reduce of an empty array with no initial value */
        } else {
            acc = arr.items[0];
            start = 1;
        }
    }
    if (n->op == OP_ALL && arr.len == 0) {
        *out = SY_V_BOOL(false);
        return 0;
    }
    for (uint32_t i = start; i < arr.len; i++) {
        sy_value_t v;
        sy_member_t m[2];
        struct scope inner = {.data = &arr.items[i]};
        sy_value_t obj;
        if (n->op == OP_REDUCE) {
            m[0] = (sy_member_t){.key = "current", .klen = 7, .val = arr.items[i]};
            m[1] = (sy_member_t){.key = "accumulator", .klen = 11, .val = acc};
            obj = (sy_value_t){.type = SY_OBJ, .len = 2, .members = m};
            inner.data = &obj;
        }
        rc = eval(ev, rule, &inner, &v);
        if (rc < 0)
            return rc;
        switch (n->op) {
        case OP_MAP:
            res[k++] = v;
            break;
        case OP_FILTER:
            if (sy_value_truthy(&v))
                res[k++] = arr.items[i];
            break;
        case OP_REDUCE:
            acc = v;
            break;
        case OP_ALL:
            if (!sy_value_truthy(&v))
                return *out = SY_V_BOOL(false), 0;
            break;
        default: /* some, none */
            if (sy_value_truthy(&v))
                return *out = SY_V_BOOL(n->op == OP_SOME), 0;
            break;
        }
    }
    switch (n->op) {
    case OP_MAP:
    case OP_FILTER:
        *out = (sy_value_t){.type = SY_ARR, .len = k, .items = res};
        break;
    case OP_REDUCE:
        *out = acc;
        break;
    default:
        *out = SY_V_BOOL(n->op != OP_SOME);
        break;
    }
    return 0;
}

static int eval_if(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                   sy_value_t *out)
{
    if (n->spread)
        return eval(ev, &n->args[0], sc, out);
    if (n->argc == 0) {
        *out = SY_V_NULL;
        return 0;
    }
    uint32_t i = 0;
    for (; i + 1 < n->argc; i += 2) {
        sy_value_t cond;
        int rc = eval(ev, &n->args[i], sc, &cond);
        if (rc < 0)
            return rc;
        if (sy_value_truthy(&cond))
            return eval(ev, &n->args[i + 1], sc, out);
    }
    if (i < n->argc)
        return eval(ev, &n->args[i], sc, out);
    *out = SY_V_NULL;
    return 0;
}

static int eval_andor(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                      sy_value_t *out)
{
    if (n->spread)
        return -EINVAL;
    *out = SY_V_NULL;
    for (uint32_t i = 0; i < n->argc; i++) {
        int rc = eval(ev, &n->args[i], sc, out);
        if (rc < 0)
            return rc;
        if (sy_value_truthy(out) == (n->op == OP_OR))
            return 0;
    }
    return 0;
}

static int eval_not(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                    sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    bool t = a.n > 0 && sy_value_truthy(&a.v[0]);
    *out = SY_V_BOOL(n->op == OP_NOT ? !t : t);
    return 0;
}

static int eval_strings(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                        sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    *out = SY_V_NULL;
    if (a.n != 2 || a.v[0].type != SY_STR || a.v[1].type != SY_STR)
        return 0;
    const sy_value_t *s = &a.v[0], *p = &a.v[1];
    if (p->len > s->len)
        return *out = SY_V_BOOL(false), 0;
    size_t off = n->op == OP_STARTS_WITH ? 0 : s->len - p->len;
    *out = SY_V_BOOL(p->len == 0 || memcmp(s->s + off, p->s, p->len) == 0);
    return 0;
}

static int eval_semver(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                       sy_value_t *out)
{
    struct args a;
    int rc = eval_args(ev, n, sc, &a);
    if (rc < 0)
        return rc;
    *out = SY_V_NULL;
    if (a.n != 3)
        return 0;
    const char *s[3];
    size_t len[3];
    for (int i = 0; i < 3; i++) {
        rc = sy_value_to_string(&a.v[i], ev->scratch, &s[i], &len[i]);
        if (rc < 0)
            return rc;
    }
    bool result;
    if (sy_semver_test(s[0], len[0], s[1], len[1], s[2], len[2], &result) == 0)
        *out = SY_V_BOOL(result);
    return 0;
}

/* ---- fractional --------------------------------------------------------------------- */

int sy_logic_bucketing_key(const sy_value_t *ctx, const char *flag_key, size_t flag_key_len,
                           char *buf, size_t cap, sy_arena_t *scratch, const char **s, size_t *len)
{
    const sy_value_t *tk = sy_value_get(ctx, "targetingKey", 12);
    /* flagd (Go) refuses a targeting key that is not a non-empty string. */
    if (!tk || tk->type != SY_STR || tk->len == 0)
        return 0;
    size_t n = flag_key_len + tk->len;
    char *at = n <= cap ? buf : sy_arena_alloc(scratch, n);
    if (!at)
        return -ENOMEM;
    memcpy(at, flag_key, flag_key_len);
    memcpy(at + flag_key_len, tk->s, tk->len);
    *s = at;
    *len = n;
    return 1;
}

/* v1 (flagd <= 0.14): percentages of |int32 hash| / (2^31 - 1); the first bucket whose
 * running percentage exceeds it; none gives "" (a variant no flag has). */
static int pick_v1(uint32_t h, const double *weights, const sy_value_t *variants, uint32_t n,
                   sy_value_t *out)
{
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += trunc(weights[i]);
    double bucket = fabs((double)(int32_t)h) / 2147483647.0 * 100;
    double end = 0;
    for (uint32_t i = 0; i < n; i++) {
        end += trunc(weights[i]) * 100 / total;
        if (bucket < end) {
            *out = variants[i];
            return 0;
        }
    }
    *out = SY_V_STR("", 0);
    return 0;
}

static int eval_fractional(struct eval *ev, const struct sy_logic *n, const struct scope *sc,
                           sy_value_t *out)
{
    *out = SY_V_NULL;
    const struct split *split = n->u.split;
    bool v1 = ev->env->fractional == SY_FRACTIONAL_V1;
    const sy_value_t *first = NULL;
    sy_value_t first_v;
    struct args a; /* not zeroed: its 100 bytes would cost more than the hash */
    a.n = 0;
    uint32_t skip = 0;
    if (split) {
        /* Buckets are literals: only the bucketing argument may need evaluating. */
        if (n->args[0].op == OP_LIT && n->args[0].u.lit.type == SY_STR)
            first = &n->args[0].u.lit;
    } else {
        int rc = eval_args(ev, n, sc, &a);
        if (rc < 0)
            return rc;
        if (a.n > 0 && a.v[0].type == SY_STR) {
            first_v = a.v[0];
            first = &first_v;
            skip = 1;
        } else if (a.n > 0 && a.v[0].type == SY_NULL) {
            skip = 1; /* flagd (Go) drops a null bucketing value: flag key + targeting key */
        }
    }
    /* The operator's own bucketing string, or flag key + targeting key. */
    const char *s = first ? first->s : NULL;
    size_t len = first ? first->len : 0;
    char buf[256];
    if (!first) {
        int rc = sy_logic_bucketing_key(ev->env->ctx, ev->env->flag_key, ev->env->flag_key_len, buf,
                                        sizeof(buf), ev->scratch, &s, &len);
        if (rc <= 0)
            return rc;
    }
    uint32_t h = sy_hash_murmur3(s, len);
    if (split) {
        if (v1) {
            if (!split->v1_valid || split->n + (first != NULL) < 2)
                return 0;
            return pick_v1(h, split->raw_weights, split->variants, split->n, out);
        }
        if (!split->valid)
            return 0;
        ptrdiff_t i =
            sy_hash_pick(split->weights, split->n, sy_hash_bucket(h, (uint32_t)split->total));
        if (i >= 0)
            *out = split->variants[i];
        return 0;
    }
    /* Buckets computed at run time: validate them as the literal path does at load. */
    uint32_t nb = a.n - skip;
    if (v1 && a.n < 2)
        return 0;
    uint32_t wsmall[8];
    double rsmall[8];
    sy_value_t vsmall[8];
    uint32_t *w = wsmall;
    double *raw = rsmall;
    sy_value_t *vars = vsmall;
    if (nb > 8) {
        w = sy_arena_alloc(ev->scratch, sizeof(*w) * nb);
        raw = sy_arena_alloc(ev->scratch, sizeof(*raw) * nb);
        vars = sy_arena_alloc(ev->scratch, sizeof(*vars) * nb);
        if (!w || !raw || !vars)
            return -ENOMEM;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < nb; i++) {
        enum bucket b = read_bucket(&a.v[skip + i], &vars[i], &raw[i], &w[i]);
        if (b == BUCKET_BAD || (b == BUCKET_V1_ONLY && !v1) || (v1 && vars[i].type != SY_STR))
            return 0;
        total += w[i];
    }
    if (v1)
        return pick_v1(h, raw, vars, nb, out);
    if (total > SY_HASH_MAX_TOTAL)
        return 0;
    ptrdiff_t i = sy_hash_pick(w, nb, sy_hash_bucket(h, (uint32_t)total));
    if (i >= 0)
        *out = vars[i];
    return 0;
}

/* ---- dispatch ----------------------------------------------------------------------- */

static int eval(struct eval *ev, const struct sy_logic *n, const struct scope *sc, sy_value_t *out)
{
    switch ((enum op)n->op) {
    case OP_LIT:
        *out = n->u.lit;
        return 0;
    case OP_ARRAY: {
        sy_value_t *items = sy_arena_alloc(ev->scratch, sizeof(*items) * n->argc);
        if (!items)
            return -ENOMEM;
        for (uint32_t i = 0; i < n->argc; i++) {
            int rc = eval(ev, &n->args[i], sc, &items[i]);
            if (rc < 0)
                return rc;
        }
        *out = (sy_value_t){.type = SY_ARR, .len = n->argc, .items = items};
        return 0;
    }
    case OP_VAR:
        return eval_var(ev, n, sc, out);
    case OP_MISSING:
    case OP_MISSING_SOME:
        return eval_missing(ev, n, sc, out);
    case OP_IF:
        return eval_if(ev, n, sc, out);
    case OP_EQ:
    case OP_STRICT_EQ:
    case OP_NE:
    case OP_STRICT_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        return eval_compare(ev, n, sc, out);
    case OP_NOT:
    case OP_NOTNOT:
        return eval_not(ev, n, sc, out);
    case OP_OR:
    case OP_AND:
        return eval_andor(ev, n, sc, out);
    case OP_MAX:
    case OP_MIN:
        return eval_minmax(ev, n, sc, out);
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MOD:
        return eval_arith(ev, n, sc, out);
    case OP_IN:
        return eval_in(ev, n, sc, out);
    case OP_CAT:
        return eval_cat(ev, n, sc, out);
    case OP_SUBSTR:
        return eval_substr(ev, n, sc, out);
    case OP_MERGE:
        return eval_merge(ev, n, sc, out);
    case OP_MAP:
    case OP_FILTER:
    case OP_REDUCE:
    case OP_ALL:
    case OP_NONE:
    case OP_SOME:
        return eval_iter(ev, n, sc, out);
    case OP_FRACTIONAL:
        return eval_fractional(ev, n, sc, out);
    case OP_SEM_VER:
        return eval_semver(ev, n, sc, out);
    case OP_STARTS_WITH:
    case OP_ENDS_WITH:
        return eval_strings(ev, n, sc, out);
    }
    return -EINVAL;
}

int sy_logic_eval(const sy_logic_t *logic, const sy_logic_env_t *env, sy_arena_t *scratch,
                  sy_value_t *out)
{
    struct eval ev; /* not zeroed: only these fields are read before being written */
    ev.env = env;
    ev.scratch = scratch;
    ev.flagd_built = false;
    ev.root_built = false;
    struct scope root = {.data = env->ctx, .root = true};
    return eval(&ev, logic, &root, out);
}
