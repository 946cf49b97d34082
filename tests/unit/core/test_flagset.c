/* test_flagset.c - core/flagset and core/flag: sets changed a flag at a time share every
 * flag they did not touch, an evaluator's change recompiles exactly the flags that name it,
 * a refused change makes nothing, equal pieces are shared, and whatever the changes, a set
 * answers exactly what a fresh load of the same document answers. */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "codec/value_json.h"
#include "core/flagset.h"

#define SCRATCH 16384

/* A deterministic generator, so that a failure replays. */
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(rng_state >> 33) % n;
}

static sy_value_t parse(sy_arena_t *a, const char *text)
{
    sy_value_t v;
    if (sy_value_parse(text, strlen(text), a, &v, NULL) < 0)
        fail_msg("bad JSON in the test: %s", text);
    return v;
}

/* A whole-document build of `doc` (JSON text) on `base`, every flag with its text as its
 * source, as the engine makes one. */
static int build_doc(sy_pool_t *pool, const sy_flagset_t *base, const char *doc,
                     sy_problems_t *problems, sy_flagset_t **out)
{
    sy_arena_t a;
    sy_arena_init(&a, 1 << 26);
    sy_value_t d = parse(&a, doc);
    sy_flagset_build_t *b;
    int rc =
        sy_flagset_build_begin(&b, base, pool, SY_BUILD_DOCUMENT, sy_value_get(&d, "metadata", 8),
                               sy_value_get(&d, "$evaluators", 11), NULL, problems);
    assert_int_equal(rc, 0);
    const sy_value_t *flags = sy_value_get(&d, "flags", 5);
    char text[2048];
    for (uint32_t i = 0; flags && i < flags->len; i++) {
        sy_text_t t;
        sy_text_init(&t, text, sizeof(text));
        sy_text_value(&t, &flags->members[i].val);
        int put = sy_flagset_build_put(b, flags->members[i].key, flags->members[i].klen,
                                       &flags->members[i].val, t.p, t.len);
        assert_true(put == 0 || put == -EINVAL);
        sy_text_free(&t);
    }
    rc = sy_flagset_build_end(b, out);
    sy_arena_free(&a);
    return rc;
}

/* A change build on `base` putting flag `key` as `def` (JSON text, its own source). */
static int put_one(sy_pool_t *pool, const sy_flagset_t *base, const char *key, const char *def,
                   sy_problems_t *problems, sy_flagset_t **out)
{
    sy_arena_t a;
    sy_arena_init(&a, 1 << 26);
    sy_value_t v = parse(&a, def);
    sy_flagset_build_t *b;
    assert_int_equal(
        sy_flagset_build_begin(&b, base, pool, SY_BUILD_CHANGE, NULL, NULL, NULL, problems), 0);
    int rc = sy_flagset_build_put(b, key, strlen(key), &v, def, strlen(def));
    if (rc == 0 || rc == -EINVAL)
        rc = sy_flagset_build_end(b, out);
    else
        sy_flagset_build_abort(b);
    sy_arena_free(&a);
    return rc;
}

static const sy_flag_t *find(const sy_flagset_t *s, const char *key)
{
    return sy_flagset_find(s, key, strlen(key));
}

static void eval(const sy_flagset_t *s, const char *key, const sy_value_t *ctx, int64_t now,
                 sy_flag_result_t *r)
{
    char buf[SCRATCH];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, buf, sizeof(buf));
    sy_flagset_eval(s, key, strlen(key), SY_TYPE_ANY, ctx, now, &scratch, r);
}

static const char doc3[] =
    "{\"metadata\": {\"flagSetId\": \"shop\"},"
    " \"$evaluators\": {\"adult\": {\">=\": [{\"var\": \"age\"}, 18]},"
    "                  \"gold\": {\"==\": [{\"var\": \"tier\"}, \"gold\"]},"
    "                  \"adult-gold\": {\"and\": [{\"$ref\": \"adult\"}, {\"$ref\": \"gold\"}]}},"
    " \"flags\": {"
    "  \"plain\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false},"
    "            \"defaultVariant\": \"off\"},"
    "  \"for-adults\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false},"
    "            \"defaultVariant\": \"off\", \"targeting\": {\"if\": [{\"$ref\": \"adult\"},"
    "            \"on\", \"off\"]}},"
    "  \"for-gold\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false},"
    "            \"defaultVariant\": \"off\", \"targeting\": {\"if\": [{\"$ref\": \"gold\"},"
    "            \"on\", \"off\"]}},"
    "  \"for-both\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false},"
    "            \"defaultVariant\": \"off\", \"targeting\": {\"if\": [{\"$ref\": \"adult-gold\"},"
    "            \"on\", \"off\"]}},"
    "  \"split\": {\"state\": \"ENABLED\", \"variants\": {\"a\": \"a\", \"b\": \"b\"},"
    "            \"defaultVariant\": \"a\", \"targeting\": {\"fractional\": [[\"a\", 50],"
    "            [\"b\", 50]]}}}}";

static void a_change_keeps_every_other_flag_pointer_for_pointer(void **state)
{
    (void)state;
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    sy_flagset_t *s1, *s2;
    assert_int_equal(build_doc(pool, NULL, doc3, NULL, &s1), 0);
    const char def[] = "{\"state\": \"ENABLED\", \"variants\": {\"a\": \"a\", \"b\": \"b\"},"
                       " \"defaultVariant\": \"a\", \"targeting\": {\"fractional\": [[\"a\", 10],"
                       " [\"b\", 90]]}}";
    assert_int_equal(put_one(pool, s1, "split", def, NULL, &s2), 0);
    assert_int_equal(sy_flagset_count(s2), 5);
    const char *same[] = {"plain", "for-adults", "for-gold", "for-both"};
    for (size_t i = 0; i < 4; i++)
        assert_ptr_equal(find(s1, same[i]), find(s2, same[i]));
    assert_ptr_not_equal(find(s1, "split"), find(s2, "split"));
    size_t len;
    assert_string_equal(sy_flagset_key(s2, 4, &len), "split"); /* kept its place */
    /* The old set still answers as it did: a reader holding it sees no change. */
    sy_value_t ctx;
    sy_arena_t a;
    sy_arena_init(&a, 1 << 16);
    ctx = parse(&a, "{\"targetingKey\": \"user-1\"}");
    sy_flag_result_t r1, r2;
    int differ = 0;
    for (int u = 0; u < 50; u++) {
        char k[32];
        snprintf(k, sizeof(k), "{\"targetingKey\": \"user-%d\"}", u);
        ctx = parse(&a, k);
        eval(s1, "split", &ctx, 0, &r1);
        eval(s2, "split", &ctx, 0, &r2);
        differ += r1.variant[0] != r2.variant[0];
    }
    assert_true(differ > 0);
    sy_arena_free(&a);
    sy_flagset_free(s1);
    sy_flagset_free(s2);
    sy_pool_free(pool);
}

static void an_evaluator_change_recompiles_exactly_its_referrers(void **state)
{
    (void)state;
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    sy_flagset_t *s1, *s2;
    assert_int_equal(build_doc(pool, NULL, doc3, NULL, &s1), 0);
    /* "gold" becomes "platinum": for-gold names it, for-both through adult-gold. */
    char doc[sizeof(doc3) + 16];
    const char *at = strstr(doc3, "\"gold\"]}");
    snprintf(doc, sizeof(doc), "%.*s\"platinum\"]}%s", (int)(at - doc3), doc3,
             at + strlen("\"gold\"]}"));
    assert_int_equal(build_doc(pool, s1, doc, NULL, &s2), 0);
    assert_ptr_equal(find(s1, "plain"), find(s2, "plain"));
    assert_ptr_equal(find(s1, "for-adults"), find(s2, "for-adults"));
    assert_ptr_equal(find(s1, "split"), find(s2, "split"));
    assert_ptr_not_equal(find(s1, "for-gold"), find(s2, "for-gold"));
    assert_ptr_not_equal(find(s1, "for-both"), find(s2, "for-both"));
    assert_true(sy_flag_uses_evaluator(find(s2, "for-both"), "gold", 4));
    assert_false(sy_flag_uses_evaluator(find(s2, "for-adults"), "gold", 4));
    sy_arena_t a;
    sy_arena_init(&a, 1 << 16);
    sy_value_t ctx = parse(&a, "{\"tier\": \"platinum\", \"age\": 30}");
    sy_flag_result_t r;
    eval(s2, "for-both", &ctx, 0, &r);
    assert_true(r.value.b);
    eval(s1, "for-both", &ctx, 0, &r);
    assert_false(r.value.b);
    sy_arena_free(&a);
    sy_flagset_free(s1);
    sy_flagset_free(s2);
    sy_pool_free(pool);
}

static void a_metadata_change_rebuilds_every_flag_sharing_the_rules(void **state)
{
    (void)state;
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    sy_flagset_t *s1, *s2;
    assert_int_equal(build_doc(pool, NULL, doc3, NULL, &s1), 0);
    char doc[sizeof(doc3) + 16];
    const char *at = strstr(doc3, "\"shop\"");
    snprintf(doc, sizeof(doc), "%.*s\"shoe\"%s", (int)(at - doc3), doc3, at + 6);
    assert_int_equal(build_doc(pool, s1, doc, NULL, &s2), 0);
    sy_flag_result_t r;
    eval(s2, "plain", NULL, 0, &r);
    assert_ptr_not_equal(find(s1, "plain"), find(s2, "plain"));
    const sy_value_t *id = sy_value_get(r.metadata, "flagSetId", 9);
    assert_non_null(id);
    assert_memory_equal(id->s, "shoe", 4);
    sy_flagset_free(s1);
    sy_flagset_free(s2);
    sy_pool_free(pool);
}

static void a_refused_change_makes_nothing_and_says_where(void **state)
{
    (void)state;
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    sy_flagset_t *s1, *s2 = NULL;
    assert_int_equal(build_doc(pool, NULL, doc3, NULL, &s1), 0);
    sy_problem_t items[4];
    sy_problems_t p = {.items = items, .cap = 4};
    const char bad[] = "{\"state\": \"ENABLED\", \"variants\": {\"on\": true},"
                       " \"defaultVariant\": \"nope\"}";
    assert_int_equal(put_one(pool, s1, "plain", bad, &p, &s2), -EINVAL);
    assert_null(s2);
    assert_int_equal(p.errors, 1);
    assert_string_equal(items[0].flag, "plain");
    assert_string_equal(items[0].path, "flags.plain.defaultVariant");
    assert_int_equal(sy_flagset_count(s1), 5);
    sy_flag_result_t r;
    eval(s1, "plain", NULL, 0, &r);
    assert_int_equal(r.reason, SY_REASON_STATIC);
    assert_false(r.value.b);
    /* Deleting what is not there is refused too, before anything is made. */
    sy_flagset_build_t *b;
    assert_int_equal(sy_flagset_build_begin(&b, s1, pool, SY_BUILD_CHANGE, NULL, NULL, NULL, NULL),
                     0);
    assert_int_equal(sy_flagset_build_delete(b, "ghost", 5), -ENOENT);
    sy_flagset_build_abort(b);
    sy_flagset_free(s1);
    sy_pool_free(pool);
}

static void equal_variants_metadata_and_rules_are_one_copy(void **state)
{
    (void)state;
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    sy_flagset_t *s;
    assert_int_equal(build_doc(pool, NULL, doc3, NULL, &s), 0);
    sy_flag_result_t a, b;
    eval(s, "plain", NULL, 0, &a);
    eval(s, "for-gold", NULL, 0, &b);
    /* The same variant set and merged metadata: the same bytes, not equal copies. */
    assert_ptr_equal(a.variant, b.variant);
    assert_ptr_equal(a.metadata, b.metadata);
    /* 5 flags, 3 variant sets ({on, off} once), 1 merged metadata, 3 evaluators, 4 rules
     * as written, 4 compiled rules: far fewer pieces than 5 flags' worth. */
    size_t pieces = sy_pool_count(pool);
    sy_flagset_t *s2;
    assert_int_equal(build_doc(pool, NULL, doc3, NULL, &s2), 0); /* all shared again */
    assert_int_equal(sy_pool_count(pool), pieces);
    for (size_t i = 0; i < sy_flagset_count(s); i++) {
        size_t len;
        const char *k = sy_flagset_key(s, i, &len);
        eval(s, k, NULL, 0, &a);
        eval(s2, k, NULL, 0, &b);
        assert_ptr_equal(a.metadata, b.metadata);
    }
    sy_flagset_free(s);
    sy_flagset_free(s2);
    sy_pool_free(pool);
}

static void an_unchanged_document_is_the_same_flags(void **state)
{
    (void)state;
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    sy_flagset_t *s1, *s2;
    assert_int_equal(build_doc(pool, NULL, doc3, NULL, &s1), 0);
    assert_int_equal(build_doc(pool, s1, doc3, NULL, &s2), 0);
    for (size_t i = 0; i < sy_flagset_count(s1); i++)
        assert_ptr_equal(sy_flagset_at(s1, i), sy_flagset_at(s2, i));
    sy_flagset_free(s1);
    sy_flagset_free(s2);
    sy_pool_free(pool);
}

static void a_kept_flag_reports_its_problems_again(void **state)
{
    (void)state;
    const char doc[] = "{\"flags\": {\"w\": {\"state\": \"ENABLED\", \"variants\": {\"x\": 1},"
                       " \"defaultVariant\": \"x\", \"targeting\": {\"frob\": [1]}},"
                       " \"r\": {\"state\": \"ENABLED\", \"variants\": {\"x\": 1},"
                       " \"defaultVariant\": \"x\", \"targeting\": {\"$ref\": \"none\"}}}}";
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    sy_problem_t i1[8], i2[8];
    sy_problems_t p1 = {.items = i1, .cap = 8}, p2 = {.items = i2, .cap = 8};
    sy_flagset_t *s1, *s2;
    assert_int_equal(build_doc(pool, NULL, doc, &p1, &s1), 0);
    assert_int_equal(build_doc(pool, s1, doc, &p2, &s2), 0);
    assert_ptr_equal(find(s1, "w"), find(s2, "w"));
    assert_int_equal(p1.total, 2);
    assert_int_equal(p2.total, p1.total);
    for (size_t i = 0; i < p1.n; i++) {
        assert_string_equal(i1[i].flag, i2[i].flag);
        assert_string_equal(i1[i].path, i2[i].path);
        assert_string_equal(i1[i].msg, i2[i].msg);
    }
    sy_flagset_free(s1);
    sy_flagset_free(s2);
    sy_pool_free(pool);
}

/* ---- the same answers as a fresh load, whatever the changes --------------------------------- */

#define MAXF 4096

struct model {
    uint32_t n;
    char (*key)[24];
    char (*def)[400];
    uint32_t next_key;
    char ev_gold[64]; /* the tier "gold" compares with */
    int adult_age;
    bool has_c;
    int version;
};

static void random_def(char *out, size_t cap)
{
    static const char *const states[] = {"ENABLED", "ENABLED", "ENABLED", "DISABLED"};
    switch (rnd(8)) {
    case 0:
        snprintf(out, cap,
                 "{\"state\":\"%s\",\"variants\":{\"on\":true,\"off\":false},"
                 "\"defaultVariant\":\"%s\"}",
                 states[rnd(4)], rnd(2) ? "on" : "off");
        break;
    case 1:
        snprintf(out, cap,
                 "{\"state\":\"ENABLED\",\"variants\":{\"a\":\"a\",\"b\":\"b\",\"c\":\"c\"},"
                 "\"defaultVariant\":\"a\",\"targeting\":{\"fractional\":[[\"a\",%u],[\"b\",%u],"
                 "[\"c\",10]]}}",
                 rnd(60), rnd(60));
        break;
    case 2:
        snprintf(out, cap,
                 "{\"state\":\"ENABLED\",\"variants\":{\"gold\":\"gold\",\"std\":\"std\"},"
                 "\"defaultVariant\":\"std\",\"targeting\":{\"if\":[{\"$ref\":\"gold\"},"
                 "\"gold\",null]}}");
        break;
    case 3:
        snprintf(out, cap,
                 "{\"state\":\"%s\",\"variants\":{\"x\":1,\"y\":2},\"defaultVariant\":\"x\","
                 "\"targeting\":{\"if\":[{\"$ref\":\"adult-gold\"},\"y\",\"x\"]},"
                 "\"metadata\":{\"team\":\"t%u\"}}",
                 states[rnd(4)], rnd(3));
        break;
    case 4:
        snprintf(out, cap,
                 "{\"state\":\"ENABLED\",\"variants\":{\"x\":1},\"defaultVariant\":\"x\","
                 "\"targeting\":{\"if\":[{\"$ref\":\"c\"},\"x\",null]}}");
        break;
    case 5:
        snprintf(out, cap,
                 "{\"state\":\"ENABLED\",\"variants\":{\"old\":\"o\",\"new\":\"n\"},"
                 "\"defaultVariant\":\"old\",\"targeting\":{\"if\":[{\">\":[{\"var\":"
                 "\"$flagd.timestamp\"},%u]},\"new\",\"old\"]}}",
                 1000 + rnd(4000));
        break;
    case 6:
        snprintf(out, cap,
                 "{\"state\":\"ENABLED\",\"variants\":{\"x\":true},\"defaultVariant\":\"x\","
                 "\"targeting\":{\"nope\":[1]}}");
        break;
    default:
        snprintf(out, cap,
                 "{\"state\":\"ENABLED\",\"variants\":{\"on\":true,\"off\":false},"
                 "\"defaultVariant\":\"off\",\"targeting\":{\"fractional\":[{\"var\":\"tier\"},"
                 "[\"on\",%u],[\"off\",50]]},\"metadata\":{\"owner\":\"o%u\"}}",
                 rnd(50), rnd(2));
        break;
    }
}

/* The model as one document's text (malloc'ed). */
static char *model_doc(const struct model *m)
{
    size_t cap = 1024 + (size_t)m->n * 440;
    char *d = malloc(cap);
    size_t len = (size_t)snprintf(
        d, cap,
        "{\"metadata\":{\"flagSetId\":\"s\",\"version\":\"%d\"},\"$evaluators\":{"
        "\"gold\":{\"==\":[{\"var\":\"tier\"},\"%s\"]},"
        "\"adult\":{\">=\":[{\"var\":\"age\"},%d]},"
        "\"adult-gold\":{\"and\":[{\"$ref\":\"adult\"},{\"$ref\":\"gold\"}]}%s},\"flags\":{",
        m->version, m->ev_gold, m->adult_age,
        m->has_c ? ",\"c\":{\"in\":[{\"var\":\"tier\"},[\"gold\",\"silver\"]]}" : "");
    for (uint32_t i = 0; i < m->n; i++)
        len +=
            (size_t)snprintf(d + len, cap - len, "%s\"%s\":%s", i ? "," : "", m->key[i], m->def[i]);
    snprintf(d + len, cap - len, "}}");
    return d;
}

static void same_result(const sy_flag_result_t *a, const sy_flag_result_t *b, const char *key)
{
    if (a->has_value != b->has_value || a->reason != b->reason || a->error != b->error ||
        a->variant_len != b->variant_len ||
        (a->variant && memcmp(a->variant, b->variant, a->variant_len) != 0) ||
        (a->has_value && !sy_value_same(&a->value, &b->value)) ||
        !sy_value_same(a->metadata, b->metadata) || strcmp(a->message, b->message) != 0)
        fail_msg("flag %s: %s/%s %.*s vs %s/%s %.*s (%s | %s)", key, sy_reason_name(a->reason),
                 sy_flag_error_name(a->error), (int)a->variant_len, a->variant ? a->variant : "",
                 sy_reason_name(b->reason), sy_flag_error_name(b->error), (int)b->variant_len,
                 b->variant ? b->variant : "", a->message, b->message);
}

/* Every flag of `s`, in order, evaluates as in a fresh load of the model's document. */
static void check_against_fresh_load(const sy_flagset_t *s, const struct model *m)
{
    char *doc = model_doc(m);
    sy_arena_t arena;
    sy_arena_init(&arena, 1 << 28);
    sy_value_t d = parse(&arena, doc);
    sy_flagset_t *fresh;
    assert_int_equal(sy_flagset_load(&fresh, &arena, &d, NULL, NULL), 0);
    assert_int_equal(sy_flagset_count(s), m->n);
    assert_int_equal(sy_flagset_count(fresh), m->n);
    assert_int_equal(sy_flagset_reads_time(s), sy_flagset_reads_time(fresh));
    assert_true(sy_value_same(sy_flagset_metadata(s), sy_flagset_metadata(fresh)));
    static const char *const ctxs[] = {
        "{}", "{\"targetingKey\":\"u1\",\"tier\":\"gold\",\"age\":30}",
        "{\"targetingKey\":\"u2\",\"tier\":\"silver\",\"age\":10}",
        "{\"targetingKey\":\"u3\",\"tier\":\"platinum\",\"age\":70}"};
    sy_arena_t ca;
    sy_arena_init(&ca, 1 << 16);
    sy_value_t ctx[4];
    for (int c = 0; c < 4; c++)
        ctx[c] = parse(&ca, ctxs[c]);
    for (uint32_t i = 0; i < m->n; i++) {
        size_t len;
        assert_string_equal(sy_flagset_key(s, i, &len), m->key[i]);
        assert_int_equal(sy_flagset_is_disabled(s, i), sy_flagset_is_disabled(fresh, i));
        for (int c = 0; c < 4; c++)
            for (int64_t now = 1000; now <= 6000; now += 2500) {
                sy_flag_result_t a, b;
                eval(s, m->key[i], &ctx[c], now, &a);
                eval(fresh, m->key[i], &ctx[c], now, &b);
                same_result(&a, &b, m->key[i]);
            }
    }
    sy_flag_result_t a, b;
    eval(s, "missing", NULL, 0, &a);
    eval(fresh, "missing", NULL, 0, &b);
    same_result(&a, &b, "missing");
    sy_arena_free(&ca);
    sy_flagset_free(fresh);
    free(doc);
}

/* One random change build of 1 to 4 operations on the flags, mirrored in the model.
 * Flags the build does not name must be the same objects afterwards. */
static sy_flagset_t *random_change(sy_pool_t *pool, sy_flagset_t *s, struct model *m,
                                   uint32_t grow_bias)
{
    sy_arena_t a;
    sy_arena_init(&a, 1 << 22);
    sy_flagset_build_t *b;
    assert_int_equal(sy_flagset_build_begin(&b, s, pool, SY_BUILD_CHANGE, NULL, NULL, NULL, NULL),
                     0);
    char touched[8][24];
    uint32_t nt = 0, ops = 1 + rnd(4);
    for (uint32_t k = 0; k < ops; k++) {
        uint32_t what = rnd(100);
        char key[24], def[400];
        if (m->n == 0 || what < grow_bias) { /* a new flag */
            if (m->n == MAXF)
                continue;
            snprintf(key, sizeof(key), "f%u", m->next_key++);
            random_def(def, sizeof(def));
            sy_value_t v = parse(&a, def);
            assert_int_equal(sy_flagset_build_put(b, key, strlen(key), &v, def, strlen(def)), 0);
            snprintf(m->key[m->n], sizeof(m->key[0]), "%s", key);
            snprintf(m->def[m->n++], sizeof(m->def[0]), "%s", def);
        } else if (what < grow_bias + 20) { /* a deletion */
            uint32_t i = rnd(m->n);
            snprintf(key, sizeof(key), "%s", m->key[i]);
            assert_int_equal(sy_flagset_build_delete(b, key, strlen(key)), 0);
            memmove(m->key[i], m->key[i + 1], sizeof(m->key[0]) * (m->n - i - 1));
            memmove(m->def[i], m->def[i + 1], sizeof(m->def[0]) * (m->n - i - 1));
            m->n--;
        } else { /* a replacement, in its place */
            uint32_t i = rnd(m->n);
            snprintf(key, sizeof(key), "%s", m->key[i]);
            random_def(def, sizeof(def));
            sy_value_t v = parse(&a, def);
            assert_int_equal(sy_flagset_build_put(b, key, strlen(key), &v, def, strlen(def)), 0);
            snprintf(m->def[i], sizeof(m->def[0]), "%s", def);
        }
        snprintf(touched[nt++], sizeof(touched[0]), "%s", key);
    }
    sy_flagset_t *next;
    assert_int_equal(sy_flagset_build_end(b, &next), 0);
    for (uint32_t i = 0; i < m->n; i++) {
        bool named = false;
        for (uint32_t t = 0; t < nt; t++)
            named = named || strcmp(touched[t], m->key[i]) == 0;
        if (!named)
            assert_ptr_equal(find(s, m->key[i]), find(next, m->key[i]));
    }
    sy_arena_free(&a);
    sy_flagset_free(s);
    return next;
}

/* A change of the document around the flags (an evaluator or the metadata), as a whole
 * document build on `s`: exactly the flags that name a changed evaluator are new, or all
 * of them when the metadata changed. */
static sy_flagset_t *random_document_change(sy_pool_t *pool, sy_flagset_t *s, struct model *m)
{
    const char *changed;
    switch (rnd(4)) {
    case 0:
        snprintf(m->ev_gold, sizeof(m->ev_gold), "%s",
                 strcmp(m->ev_gold, "gold") == 0 ? "silver" : "gold");
        changed = "gold";
        break;
    case 1:
        m->adult_age = m->adult_age == 18 ? 10 + (int)rnd(8) : 18;
        changed = "adult";
        break;
    case 2:
        m->has_c = !m->has_c;
        changed = "c";
        break;
    default:
        m->version++;
        changed = NULL;
        break;
    }
    char *doc = model_doc(m);
    sy_flagset_t *next;
    assert_int_equal(build_doc(pool, s, doc, NULL, &next), 0);
    for (uint32_t i = 0; i < m->n; i++) {
        const sy_flag_t *was = find(s, m->key[i]), *now = find(next, m->key[i]);
        bool names = changed && sy_flag_uses_evaluator(was, changed, strlen(changed));
        if (!changed || names)
            assert_ptr_not_equal(was, now);
        else
            assert_ptr_equal(was, now);
    }
    free(doc);
    sy_flagset_free(s);
    return next;
}

static void random_changes_answer_as_a_fresh_load(void **state)
{
    (void)state;
    rng_state = 20;
    struct model m = {
        .key = calloc(MAXF, sizeof(*m.key)), .def = calloc(MAXF, sizeof(*m.def)), .adult_age = 18};
    snprintf(m.ev_gold, sizeof(m.ev_gold), "gold");
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    for (; m.n < 200; m.n++) {
        snprintf(m.key[m.n], sizeof(m.key[0]), "f%u", m.next_key++);
        random_def(m.def[m.n], sizeof(m.def[0]));
    }
    char *doc = model_doc(&m);
    sy_flagset_t *s;
    assert_int_equal(build_doc(pool, NULL, doc, NULL, &s), 0);
    free(doc);
    check_against_fresh_load(s, &m);
    for (int step = 0; step < 300; step++) {
        s = rnd(10) == 0 ? random_document_change(pool, s, &m) : random_change(pool, s, &m, 20);
        if (step % 10 == 0)
            check_against_fresh_load(s, &m);
    }
    check_against_fresh_load(s, &m);
    sy_flagset_free(s);
    sy_pool_sweep(pool, true);
    assert_int_equal(sy_pool_count(pool), 0); /* nothing holds a piece any more */
    sy_pool_free(pool);
    free(m.key);
    free(m.def);
}

static void growing_to_thousands_and_back_keeps_order_and_answers(void **state)
{
    (void)state;
    rng_state = 7;
    struct model m = {
        .key = calloc(MAXF, sizeof(*m.key)), .def = calloc(MAXF, sizeof(*m.def)), .adult_age = 18};
    snprintf(m.ev_gold, sizeof(m.ev_gold), "gold");
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    sy_flagset_t *s;
    assert_int_equal(build_doc(pool, NULL, "{\"flags\": {}}", NULL, &s), 0);
    /* Built a few flags at a time, shards outgrow their size and are made again. */
    m.version = 0;
    while (m.n < 3000)
        s = random_change(pool, s, &m, 90);
    m.version = 0;
    char *doc = model_doc(&m);
    sy_flagset_t *same; /* the set's own metadata and evaluators are those of no document */
    assert_int_equal(build_doc(pool, s, doc, NULL, &same), 0);
    free(doc);
    sy_flagset_free(s);
    s = same;
    check_against_fresh_load(s, &m);
    /* Deleted down to a few, pages empty out and are packed again. */
    while (m.n > 100)
        s = random_change(pool, s, &m, 0);
    check_against_fresh_load(s, &m);
    sy_flagset_free(s);
    sy_pool_free(pool);
    free(m.key);
    free(m.def);
}

/* ---- readers on other threads -----------------------------------------------------------------
 */

struct shared {
    pthread_mutex_t lock;
    sy_flagset_t *current; /* under lock; readers take a reference and evaluate without it */
    bool done;
    long evaluations;
};

static void *reader(void *arg)
{
    struct shared *sh = arg;
    long n = 0;
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        bool done = sh->done;
        sy_flagset_t *s = done ? NULL : sy_flagset_ref(sh->current);
        pthread_mutex_unlock(&sh->lock);
        if (done)
            break;
        for (size_t i = 0; i < sy_flagset_count(s); i++) {
            size_t len;
            const char *k = sy_flagset_key(s, i, &len);
            sy_flag_result_t r;
            eval(s, k, NULL, 0, &r);
            n++;
        }
        sy_flagset_free(s); /* often the last reference: the set is freed here */
    }
    pthread_mutex_lock(&sh->lock);
    sh->evaluations += n;
    pthread_mutex_unlock(&sh->lock);
    return NULL;
}

static void sets_are_read_and_freed_on_other_threads(void **state)
{
    (void)state;
    rng_state = 99;
    struct model m = {
        .key = calloc(MAXF, sizeof(*m.key)), .def = calloc(MAXF, sizeof(*m.def)), .adult_age = 18};
    snprintf(m.ev_gold, sizeof(m.ev_gold), "gold");
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    struct shared sh = {.lock = PTHREAD_MUTEX_INITIALIZER};
    assert_int_equal(build_doc(pool, NULL, "{\"flags\": {}}", NULL, &sh.current), 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &sh), 0);
    for (int step = 0; step < 400; step++) {
        sy_flagset_t *next = random_change(pool, sy_flagset_ref(sh.current), &m, 40);
        pthread_mutex_lock(&sh.lock);
        sy_flagset_t *old = sh.current;
        sh.current = next;
        pthread_mutex_unlock(&sh.lock);
        sy_flagset_free(old);
    }
    pthread_mutex_lock(&sh.lock);
    sh.done = true;
    pthread_mutex_unlock(&sh.lock);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_true(sh.evaluations > 0);
    sy_flagset_free(sh.current);
    sy_pool_free(pool);
    free(m.key);
    free(m.def);
}

/* A static split over many variants finds each bucket's variant through the sorted index
 * (flag.c, variants_named): every evaluation's variant is one of the split's, and its
 * value is that variant's own (each value is its name); numbers and booleans name variants
 * as JavaScript's String() does, an empty name is a variant too, and a bucket naming no
 * variant keeps the general path. Thousands of each compile at once (not quadratic). */
static void a_wide_split_serves_each_buckets_own_variant(void **state)
{
    (void)state;
    sy_pool_t *pool;
    assert_int_equal(sy_pool_new(&pool), 0);
    enum { N = 40 };
    char *def = malloc(1 << 16);
    size_t at = (size_t)sprintf(def, "{\"state\": \"ENABLED\", \"variants\": {\"\": \"\", \"7\": \"7\", "
                                      "\"true\": \"true\"");
    for (int i = N - 1; i >= 0; i--)
        at += (size_t)sprintf(def + at, ", \"v%02d\": \"v%02d\"", i, i);
    at += (size_t)sprintf(def + at, "}, \"defaultVariant\": \"v00\", \"targeting\": {\"fractional\": "
                                    "[[\"\", 1], [7, 1], [true, 1]");
    for (int i = 0; i < N; i++)
        at += (size_t)sprintf(def + at, ", [\"v%02d\", 1]", (i * 7) % N);
    sprintf(def + at, "]}}");
    sy_flagset_t *s;
    assert_int_equal(put_one(pool, NULL, "wide", def, NULL, &s), 0);
    sy_arena_t a;
    sy_arena_init(&a, 1 << 20);
    int seen = 0;
    for (int u = 0; u < 400; u++) {
        char k[64];
        snprintf(k, sizeof(k), "{\"targetingKey\": \"user-%d\"}", u);
        sy_value_t ctx = parse(&a, k);
        sy_flag_result_t r;
        eval(s, "wide", &ctx, 0, &r);
        assert_int_equal(r.reason, SY_REASON_TARGETING_MATCH);
        assert_non_null(r.variant);
        assert_int_equal(r.value.type, SY_STR);
        assert_int_equal(r.value.len, r.variant_len);
        assert_memory_equal(r.value.s, r.variant, r.variant_len);
        seen |= r.variant_len == 0 ? 1 : r.variant_len == 1 ? 2 : r.variant_len == 4 ? 4 : 8;
    }
    assert_int_equal(seen, 15);
    sy_flagset_free(s);
    /* 20,000 variants and buckets: compiled in well under the quadratic path's seconds */
    at = 0;
    char *big = malloc(1 << 20);
    at += (size_t)sprintf(big, "{\"state\": \"ENABLED\", \"variants\": {");
    for (int i = 0; i < 20000; i++)
        at += (size_t)sprintf(big + at, "%s\"w%d\": %d", i ? ", " : "", i, i);
    at += (size_t)sprintf(big + at, "}, \"defaultVariant\": \"w0\", \"targeting\": {\"fractional\": [");
    for (int i = 0; i < 20000; i++)
        at += (size_t)sprintf(big + at, "%s[\"w%d\", 1]", i ? ", " : "", 19999 - i);
    sprintf(big + at, "]}}");
    assert_int_equal(put_one(pool, NULL, "big", big, NULL, &s), 0);
    sy_value_t ctx = parse(&a, "{\"targetingKey\": \"user-1\"}");
    sy_flag_result_t r;
    eval(s, "big", &ctx, 0, &r);
    assert_int_equal(r.reason, SY_REASON_TARGETING_MATCH);
    assert_int_equal(r.value.type, SY_NUM);
    char name[32];
    snprintf(name, sizeof(name), "w%d", (int)r.value.n);
    assert_int_equal(strlen(name), r.variant_len);
    assert_memory_equal(name, r.variant, r.variant_len);
    sy_flagset_free(s);
    sy_arena_free(&a);
    free(big);
    free(def);
    sy_pool_free(pool);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_change_keeps_every_other_flag_pointer_for_pointer),
        cmocka_unit_test(an_evaluator_change_recompiles_exactly_its_referrers),
        cmocka_unit_test(a_metadata_change_rebuilds_every_flag_sharing_the_rules),
        cmocka_unit_test(a_refused_change_makes_nothing_and_says_where),
        cmocka_unit_test(equal_variants_metadata_and_rules_are_one_copy),
        cmocka_unit_test(an_unchanged_document_is_the_same_flags),
        cmocka_unit_test(a_kept_flag_reports_its_problems_again),
        cmocka_unit_test(random_changes_answer_as_a_fresh_load),
        cmocka_unit_test(growing_to_thousands_and_back_keeps_order_and_answers),
        cmocka_unit_test(sets_are_read_and_freed_on_other_threads),
        cmocka_unit_test(a_wide_split_serves_each_buckets_own_variant),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
