/* flagschema.c - flagd's JSON schema as code; see flagschema.h.
 *
 * One function per definition of flags.json and targeting.json. Where the schema has a
 * union (anyOf, oneOf), the branches are told apart by the value's JSON type or by which
 * operator group its keys belong to, so no branch is ever tried and undone:
 *
 *   definition            what it accepts                          here
 *   --------------------  ---------------------------------------  ---------------------
 *   providerConfig        object with `flags` (flagsMap)           sy_schema_document
 *   flagsMap, variants,   keys matching ^.{1,}$ (no line            sy_schema_key_ok
 *     $evaluators           terminator, not empty)
 *   anyFlag               baseFlag + variants of one type          sy_schema_flag
 *   metadata              values string, number or boolean         metadata()
 *   targeting.json root   {} or anyRule                            sy_schema_rule
 *   anyRule               {} or keys of ONE operator group, each   any_rule()
 *                           operand valid for its operator
 *   args (oneOf)          reference {"$ref": string} | anyRule |   args()
 *                           primitive (any non-object, arrays of
 *                           anything); {} matches two: refused
 *   varRule.var           any non-string; a string unless it is    var_ok()
 *                           "$flagd.x" with x not flagKey or
 *                           timestamp (and no line terminator)
 *   unaryOp (! !!)        any array, or one args                   operand()
 *   fractionalOp          [anyRule, weightArg...] or               fractional()
 *     / shorthand           [weightArg, ...] (at least one)
 *   fractionalWeightArg   [args] or [args, integer >= 0 | anyRule] weight_arg()
 *   ruleSemVer            [semver string | varRule, one of         sem_ver()
 *                           = != > < >= <= ~ ^, semver | varRule]
 *   semVerString          the schema's semver 2.0 pattern          semver_ok()
 *
 * JavaScript's view of numbers: "integer" is any number without a fraction (2.0 is one),
 * as ajv checks it.
 */
#include "core/flagschema.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Deeper than any document the JSON parser accepts (2,048 levels): a guard, not a rule. */
#define MAX_DEPTH 4096

const char *const sy_schema_flag_members[] = {"state",     "variants", "defaultVariant",
                                              "targeting", "metadata", NULL};
const char *const sy_schema_document_members[] = {"flags", "$evaluators", "metadata", "$schema",
                                                  NULL};

struct walk {
    sy_schema_err_t *err;
    char path[128]; /* relative to the value checked */
    size_t len;
    int depth;
};

static bool fail(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(struct walk *w, const char *fmt, ...)
{
    snprintf(w->err->path, sizeof(w->err->path), "%s", w->path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err->msg, sizeof(w->err->msg), fmt, ap);
    va_end(ap);
    return false;
}

/* Path steps: push returns the length to pop back to. Paths are for people; a cut one
 * still helps. */
static size_t push_key(struct walk *w, const char *key, size_t klen)
{
    size_t was = w->len;
    int n =
        snprintf(w->path + was, sizeof(w->path) - was, ".%.*s", (int)(klen > 48 ? 48 : klen), key);
    if (n > 0)
        w->len = was + (size_t)n < sizeof(w->path) ? was + (size_t)n : sizeof(w->path) - 1;
    return was;
}

static size_t push_index(struct walk *w, uint32_t i)
{
    size_t was = w->len;
    int n = snprintf(w->path + was, sizeof(w->path) - was, "[%u]", i);
    if (n > 0)
        w->len = was + (size_t)n < sizeof(w->path) ? was + (size_t)n : sizeof(w->path) - 1;
    return was;
}

static void pop(struct walk *w, size_t to)
{
    w->len = to;
    w->path[to] = '\0';
}

static bool key_is(const sy_member_t *m, const char *s)
{
    return m->klen == strlen(s) && memcmp(m->key, s, m->klen) == 0;
}

static bool str_is(const sy_value_t *v, const char *s)
{
    return v->type == SY_STR && v->len == strlen(s) && memcmp(v->s, s, v->len) == 0;
}

/* JavaScript's line terminators, which `.` in a pattern never matches. */
static bool has_line_terminator(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r')
            return true;
        if (c == 0xe2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
            ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9))
            return true;
    }
    return false;
}

bool sy_schema_key_ok(const char *key, size_t len)
{
    return len > 0 && !has_line_terminator(key, len);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* (0|[1-9]\d*) at s[*i]. */
static bool semver_number(const char *s, size_t len, size_t *i)
{
    size_t start = *i;
    while (*i < len && is_digit(s[*i]))
        (*i)++;
    return *i > start && (s[start] != '0' || *i - start == 1);
}

/* Dot-separated identifiers of [0-9A-Za-z-] at s[*i]; `pre`: an all-digit one must be
 * 0 or start with 1-9 (the prerelease rule), a build identifier may be anything. */
static bool semver_idents(const char *s, size_t len, size_t *i, bool pre)
{
    for (;;) {
        size_t start = *i;
        bool digits = true;
        for (; *i < len && is_ident(s[*i]); (*i)++)
            if (!is_digit(s[*i]))
                digits = false;
        if (*i == start || (pre && digits && s[start] == '0' && *i - start > 1))
            return false;
        if (*i == len || s[*i] != '.')
            return true;
        (*i)++;
    }
}

/* targeting.json's semVerString pattern: MAJOR.MINOR.PATCH[-PRE][+BUILD], no "v". */
static bool semver_ok(const char *s, size_t len)
{
    size_t i = 0;
    for (int part = 0; part < 3; part++) {
        if (part && (i == len || s[i++] != '.'))
            return false;
        if (!semver_number(s, len, &i))
            return false;
    }
    if (i < len && s[i] == '-') {
        i++;
        if (!semver_idents(s, len, &i, true))
            return false;
    }
    if (i < len && s[i] == '+') {
        i++;
        if (!semver_idents(s, len, &i, false))
            return false;
    }
    return i == len;
}

/* ---- targeting.json ------------------------------------------------------------------ */

enum group {
    G_NONE,
    G_VAR,
    G_MISSING,
    G_MISSING_SOME,
    G_BINARY,
    G_BIN_OR_TERN,
    G_ASSOC,
    G_UNARY,
    G_VARIADIC,
    G_REDUCE,
    G_STRCMP,
    G_SEMVER,
    G_FRACTIONAL,
};

/* The operators of targeting.json, by the rule (group) that lists them. An object may
 * combine operators of one group only: each group's rule allows no other property. */
static const struct op {
    const char *name;
    enum group group;
    uint8_t min, max; /* operand count when given as an array (0: no bound) */
} ops[] = {
    {"var", G_VAR, 0, 0},
    {"missing", G_MISSING, 0, 0},
    {"missing_some", G_MISSING_SOME, 2, 2},
    {"if", G_BINARY, 1, 0},
    {"==", G_BINARY, 2, 2},
    {"===", G_BINARY, 2, 2},
    {"!=", G_BINARY, 2, 2},
    {"!==", G_BINARY, 2, 2},
    {">", G_BINARY, 2, 2},
    {">=", G_BINARY, 2, 2},
    {"%", G_BINARY, 2, 2},
    {"/", G_BINARY, 2, 2},
    {"map", G_BINARY, 2, 2},
    {"filter", G_BINARY, 2, 2},
    {"all", G_BINARY, 2, 2},
    {"none", G_BINARY, 2, 2},
    {"some", G_BINARY, 2, 2},
    {"in", G_BINARY, 2, 2},
    {"substr", G_BIN_OR_TERN, 2, 3},
    {"<", G_BIN_OR_TERN, 2, 3},
    {"<=", G_BIN_OR_TERN, 2, 3},
    {"*", G_ASSOC, 2, 0},
    {"!", G_UNARY, 1, 1},
    {"!!", G_UNARY, 1, 1},
    {"or", G_VARIADIC, 1, 0},
    {"and", G_VARIADIC, 1, 0},
    {"+", G_VARIADIC, 1, 0},
    {"-", G_VARIADIC, 1, 0},
    {"max", G_VARIADIC, 1, 0},
    {"min", G_VARIADIC, 1, 0},
    {"merge", G_VARIADIC, 1, 0},
    {"cat", G_VARIADIC, 1, 0},
    {"reduce", G_REDUCE, 3, 3},
    {"starts_with", G_STRCMP, 2, 2},
    {"ends_with", G_STRCMP, 2, 2},
    {"sem_ver", G_SEMVER, 3, 3},
    {"fractional", G_FRACTIONAL, 1, 0},
};

static const struct op *find_op(const sy_member_t *m)
{
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (key_is(m, ops[i].name))
            return &ops[i];
    return NULL;
}

static bool any_rule(struct walk *w, const sy_value_t *v);

/* targeting.json's args: a reference, a rule or any primitive (arrays included). */
static bool args(struct walk *w, const sy_value_t *v)
{
    if (v->type != SY_OBJ)
        return true;
    if (v->len == 0)
        return fail(w, "{} is not an operand: it is both an empty rule and an empty reference");
    if (v->len == 1 && key_is(&v->members[0], "$ref")) {
        if (v->members[0].val.type == SY_STR)
            return true;
        size_t was = push_key(w, "$ref", 4);
        fail(w, "$ref must be a string (an evaluator's name)");
        pop(w, was);
        return false;
    }
    for (uint32_t i = 0; i < v->len; i++)
        if (key_is(&v->members[i], "$ref"))
            return fail(w, "a {\"$ref\"} object can have no other member");
    return any_rule(w, v);
}

/* Every item of array `v` from `from` on through `fn`. */
static bool items(struct walk *w, const sy_value_t *v, uint32_t from,
                  bool (*fn)(struct walk *, const sy_value_t *))
{
    for (uint32_t i = from; i < v->len; i++) {
        size_t was = push_index(w, i);
        bool ok = fn(w, &v->items[i]);
        pop(w, was);
        if (!ok)
            return false;
    }
    return true;
}

static bool count_ok(struct walk *w, const struct op *op, const sy_value_t *v)
{
    if (v->type != SY_ARR)
        return fail(w, "%s takes an array of operands, not %s", op->name, sy_vtype_name(v->type));
    if (op->max && op->min == op->max && v->len != op->min)
        return fail(w, "%s takes exactly %u operand%s, not %u", op->name, op->min,
                    op->min == 1 ? "" : "s", v->len);
    if (v->len < op->min)
        return fail(w, "%s takes at least %u operand%s, not %u", op->name, op->min,
                    op->min == 1 ? "" : "s", v->len);
    if (op->max && v->len > op->max)
        return fail(w, "%s takes %u to %u operands, not %u", op->name, op->min, op->max, v->len);
    return true;
}

static bool var_ok(struct walk *w, const sy_value_t *v)
{
    if (v->type != SY_STR || v->len < 7 || memcmp(v->s, "$flagd.", 7) != 0 ||
        has_line_terminator(v->s + 7, v->len - 7) || str_is(v, "$flagd.timestamp") ||
        str_is(v, "$flagd.flagKey"))
        return true;
    return fail(w, "$flagd has only flagKey and timestamp, not \"%.*s\"",
                (int)(v->len > 40 ? 40 : v->len), v->s);
}

static bool string_item(struct walk *w, const sy_value_t *v)
{
    return v->type == SY_STR ? true : fail(w, "must be a string, not %s", sy_vtype_name(v->type));
}

/* varRule: an object whose only member may be `var`. */
static bool var_rule(struct walk *w, const sy_value_t *v)
{
    for (uint32_t i = 0; i < v->len; i++)
        if (!key_is(&v->members[i], "var"))
            return fail(w, "must be a semantic version string or a {\"var\"}, not \"%.*s\"",
                        (int)(v->members[i].klen > 32 ? 32 : v->members[i].klen),
                        v->members[i].key);
    if (v->len == 0)
        return true;
    size_t was = push_key(w, "var", 3);
    bool ok = var_ok(w, &v->members[0].val);
    pop(w, was);
    return ok;
}

static bool semver_operand(struct walk *w, const sy_value_t *v)
{
    if (v->type == SY_OBJ)
        return var_rule(w, v);
    if (v->type == SY_STR && semver_ok(v->s, v->len))
        return true;
    if (v->type == SY_STR)
        return fail(w, "sem_ver literals must be full semantic versions (1.2.3), not \"%.*s\"",
                    (int)(v->len > 40 ? 40 : v->len), v->s);
    return fail(w, "sem_ver operands must be version strings or {\"var\"}, not %s",
                sy_vtype_name(v->type));
}

static bool sem_ver(struct walk *w, const sy_value_t *v)
{
    static const char *const cmp[] = {"=", "!=", ">", "<", ">=", "<=", "~", "^"};
    size_t was = push_index(w, 0);
    bool ok = semver_operand(w, &v->items[0]);
    pop(w, was);
    if (!ok)
        return false;
    was = push_index(w, 1);
    ok = false;
    for (size_t i = 0; i < sizeof(cmp) / sizeof(cmp[0]); i++)
        ok = ok || str_is(&v->items[1], cmp[i]);
    if (!ok)
        fail(w, "sem_ver operator must be one of = != < <= > >= ^ ~");
    pop(w, was);
    if (!ok)
        return false;
    was = push_index(w, 2);
    ok = semver_operand(w, &v->items[2]);
    pop(w, was);
    return ok;
}

static bool string_compare_arg(struct walk *w, const sy_value_t *v)
{
    if (v->type == SY_STR)
        return true;
    if (v->type == SY_OBJ)
        return any_rule(w, v);
    return fail(w, "must be a string or a rule, not %s", sy_vtype_name(v->type));
}

/* fractionalWeightArg: [variant] or [variant, weight]. */
static bool weight_arg(struct walk *w, const sy_value_t *v)
{
    if (v->type != SY_ARR)
        return fail(w, "a bucket must be an array, not %s", sy_vtype_name(v->type));
    if (v->len < 1 || v->len > 2)
        return fail(w, "a bucket is [variant] or [variant, weight], not %u items", v->len);
    size_t was = push_index(w, 0);
    bool ok = args(w, &v->items[0]);
    pop(w, was);
    if (!ok || v->len == 1)
        return ok;
    const sy_value_t *wt = &v->items[1];
    was = push_index(w, 1);
    if (wt->type == SY_OBJ)
        ok = any_rule(w, wt);
    else if (wt->type != SY_NUM)
        ok = fail(w, "a weight must be a number or an expression, not %s", sy_vtype_name(wt->type));
    else if (wt->n < 0 || wt->n != trunc(wt->n))
        ok = fail(w, "a literal weight must be a non-negative integer");
    pop(w, was);
    return ok;
}

static bool fractional(struct walk *w, const sy_value_t *v)
{
    const sy_value_t *first = &v->items[0];
    if (first->type == SY_ARR) /* the shorthand: buckets only */
        return items(w, v, 0, weight_arg);
    size_t was = push_index(w, 0);
    bool ok = first->type == SY_OBJ
                  ? any_rule(w, first)
                  : fail(w, "the bucketing value must be an expression, not a literal %s",
                         sy_vtype_name(first->type));
    pop(w, was);
    return ok && items(w, v, 1, weight_arg);
}

static bool operand_list(struct walk *w, const struct op *op, const sy_value_t *v)
{
    switch (op->group) {
    case G_VAR:
        return var_ok(w, v);
    case G_MISSING:
        if (v->type != SY_ARR)
            return fail(w, "missing takes an array of keys, not %s", sy_vtype_name(v->type));
        return items(w, v, 0, string_item);
    case G_MISSING_SOME:
        if (!count_ok(w, op, v))
            return false;
        if (v->items[0].type != SY_NUM) {
            size_t was = push_index(w, 0);
            fail(w, "missing_some's first operand must be a number");
            pop(w, was);
            return false;
        }
        if (v->items[1].type != SY_ARR) {
            size_t was = push_index(w, 1);
            fail(w, "missing_some's second operand must be an array of keys");
            pop(w, was);
            return false;
        }
        {
            size_t was = push_index(w, 1);
            bool ok = items(w, &v->items[1], 0, string_item);
            pop(w, was);
            return ok;
        }
    case G_UNARY:
        /* unaryOp: [args] or args; and any array is an args (a primitive). */
        return v->type == SY_ARR ? true : args(w, v);
    case G_STRCMP:
        return count_ok(w, op, v) && items(w, v, 0, string_compare_arg);
    case G_SEMVER:
        return count_ok(w, op, v) && sem_ver(w, v);
    case G_FRACTIONAL:
        return count_ok(w, op, v) && fractional(w, v);
    default:
        return count_ok(w, op, v) && items(w, v, 0, args);
    }
}

/* anyRule: {} or an object of operators of one group. */
static bool any_rule(struct walk *w, const sy_value_t *v)
{
    if (v->type != SY_OBJ)
        return fail(w, "a rule must be an object, not %s", sy_vtype_name(v->type));
    if (++w->depth > MAX_DEPTH) {
        w->depth--;
        return fail(w, "rules nested deeper than %d levels", MAX_DEPTH);
    }
    bool ok = true;
    enum group group = G_NONE;
    const char *first = NULL;
    for (uint32_t i = 0; ok && i < v->len; i++) {
        const sy_member_t *m = &v->members[i];
        const struct op *op = find_op(m);
        if (!op && key_is(m, "$ref")) {
            ok = fail(w, "a {\"$ref\"} is an operand, not a rule: the schema does not take one here");
            break;
        }
        if (!op) {
            ok = fail(w, "unknown operator \"%.*s\"", (int)(m->klen > 40 ? 40 : m->klen), m->key);
            break;
        }
        if (group != G_NONE && op->group != group) {
            ok = fail(w, "\"%s\" and \"%s\" cannot be in one rule object", first, op->name);
            break;
        }
        group = op->group;
        first = first ? first : op->name;
        size_t was = push_key(w, m->key, m->klen);
        ok = operand_list(w, op, &m->val);
        pop(w, was);
    }
    w->depth--;
    return ok;
}

bool sy_schema_rule(const sy_value_t *rule, sy_schema_err_t *err)
{
    struct walk w = {.err = err};
    if (rule->type != SY_OBJ)
        return fail(&w, "targeting must be an object, not %s", sy_vtype_name(rule->type));
    return any_rule(&w, rule);
}

/* ---- flags.json --------------------------------------------------------------------- */

static bool metadata(struct walk *w, const sy_value_t *md, bool set)
{
    if (md->type != SY_OBJ)
        return fail(w, "metadata must be an object, not %s", sy_vtype_name(md->type));
    for (uint32_t i = 0; i < md->len; i++) {
        const sy_member_t *m = &md->members[i];
        size_t was = push_key(w, m->key, m->klen);
        bool ok = true;
        if (set && (key_is(m, "version") || key_is(m, "flagSetId")) && m->val.type != SY_STR)
            ok =
                fail(w, "metadata.%s must be a string", m->key[0] == 'v' ? "version" : "flagSetId");
        else if (m->val.type != SY_BOOL && m->val.type != SY_NUM && m->val.type != SY_STR)
            ok = fail(w, "metadata values must be strings, numbers or booleans");
        pop(w, was);
        if (!ok)
            return false;
    }
    return true;
}

bool sy_schema_set_metadata(const sy_value_t *md, sy_schema_err_t *err)
{
    struct walk w = {.err = err};
    return metadata(&w, md, true);
}

static bool variants(struct walk *w, const sy_value_t *v)
{
    if (v->type != SY_OBJ)
        return fail(w, "variants must be an object, not %s", sy_vtype_name(v->type));
    if (v->len == 0)
        return fail(w, "variants must not be empty");
    sy_vtype_t t = (sy_vtype_t)v->members[0].val.type;
    for (uint32_t i = 0; i < v->len; i++) {
        const sy_member_t *m = &v->members[i];
        size_t was = push_key(w, m->key, m->klen);
        bool ok = true;
        if (!sy_schema_key_ok(m->key, m->klen))
            ok = fail(w, "a variant name must be 1 character or more, without line breaks");
        else if (m->val.type == SY_NULL || m->val.type == SY_ARR)
            ok = fail(w, "a variant must be a boolean, string, number or object, not %s",
                      sy_vtype_name(m->val.type));
        else if (m->val.type != t)
            ok = fail(w, "variants must all have the same type (%s, not %s)", sy_vtype_name(t),
                      sy_vtype_name(m->val.type));
        pop(w, was);
        if (!ok)
            return false;
    }
    return true;
}

bool sy_schema_flag(const sy_value_t *flag, sy_schema_err_t *err)
{
    struct walk w = {.err = err};
    if (flag->type != SY_OBJ)
        return fail(&w, "a flag must be an object, not %s", sy_vtype_name(flag->type));
    const sy_value_t *state = sy_value_get(flag, "state", 5);
    const sy_value_t *vars = sy_value_get(flag, "variants", 8);
    if (!state)
        return fail(&w, "state is required (ENABLED or DISABLED)");
    if (!vars)
        return fail(&w, "variants is required");
    bool ok = true;
    for (uint32_t i = 0; ok && i < flag->len; i++) {
        const sy_member_t *m = &flag->members[i];
        const sy_value_t *v = &m->val;
        size_t was = push_key(&w, m->key, m->klen);
        if (key_is(m, "state") && !str_is(v, "ENABLED") && !str_is(v, "DISABLED"))
            ok = fail(&w, "state must be ENABLED or DISABLED");
        else if (key_is(m, "defaultVariant") && v->type != SY_STR && v->type != SY_NULL)
            ok = fail(&w, "defaultVariant must be a variant name or null");
        else if (key_is(m, "variants"))
            ok = variants(&w, v);
        else if (key_is(m, "metadata"))
            ok = metadata(&w, v, false);
        else if (key_is(m, "targeting"))
            ok = v->type == SY_OBJ
                     ? any_rule(&w, v)
                     : fail(&w, "targeting must be an object, not %s", sy_vtype_name(v->type));
        pop(&w, was);
    }
    return ok;
}

bool sy_schema_document(const sy_value_t *doc, sy_schema_err_t *err)
{
    struct walk w = {.err = err};
    if (doc->type != SY_OBJ)
        return fail(&w, "a flag set must be a JSON object, not %s", sy_vtype_name(doc->type));
    const sy_value_t *flags = sy_value_get(doc, "flags", 5);
    if (!flags)
        return fail(&w, "flags is required");
    for (uint32_t i = 0; i < doc->len; i++) {
        const sy_member_t *m = &doc->members[i];
        bool map = key_is(m, "flags") || key_is(m, "$evaluators");
        if (!map)
            continue;
        size_t was = push_key(&w, m->key, m->klen);
        if (m->val.type != SY_OBJ)
            return fail(&w, "%s must be an object, not %s",
                        m->key[0] == 'f' ? "flags" : "$evaluators", sy_vtype_name(m->val.type));
        for (uint32_t k = 0; k < m->val.len; k++) {
            const sy_member_t *e = &m->val.members[k];
            if (!sy_schema_key_ok(e->key, e->klen)) {
                push_key(&w, e->key, e->klen);
                return fail(&w, "a key must be 1 character or more, without line breaks");
            }
        }
        pop(&w, was);
    }
    return true;
}
