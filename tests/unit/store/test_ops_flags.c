/* test_ops_flags.c - store.h's flags, flag set, audit trail, workspace settings, routes and
 * route minutes, on SQLite and (tests/integration/pg_unit.sh) on PostgreSQL: store_fixture.h. */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>

#include "store_fixture.h"

/* ---- what the lists hand out, copied ------------------------------------------------- */

#define MAX_ROWS 16

struct flags_seen {
    int n;
    int stop_at; /* > 0: the n-th call returns 7 */
    char key[MAX_ROWS][64];
    char *definition[MAX_ROWS]; /* owned */
    int64_t updated_ms[MAX_ROWS];
};

static int keep_flag(void *arg, const sy_store_flag_t *f)
{
    struct flags_seen *s = arg;
    if (s->n >= MAX_ROWS)
        return -E2BIG;
    snprintf(s->key[s->n], sizeof(s->key[0]), "%s", f->key);
    s->definition[s->n] = strdup(f->definition);
    s->updated_ms[s->n] = f->updated_ms;
    s->n++;
    return s->stop_at > 0 && s->n == s->stop_at ? 7 : 0;
}

static void flags_seen_free(struct flags_seen *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->definition[i]);
    memset(s, 0, sizeof(*s));
}

static int count_flags(void *arg, const sy_store_flag_t *f)
{
    (void)f;
    (*(int *)arg)++;
    return 0;
}

struct audits_seen {
    int n;
    int64_t id[MAX_ROWS], workspace[MAX_ROWS], at_ms[MAX_ROWS];
    char text[1024];                          /* "resource;" for each */
    char *before[MAX_ROWS], *after[MAX_ROWS]; /* owned; NULL as given */
    char actor[MAX_ROWS][64], action[MAX_ROWS][64];
};

static int keep_audit(void *arg, const sy_store_audit_t *a)
{
    struct audits_seen *s = arg;
    if (s->n >= MAX_ROWS)
        return -E2BIG;
    s->id[s->n] = a->id;
    s->workspace[s->n] = a->workspace;
    s->at_ms[s->n] = a->at_ms;
    s->before[s->n] = a->before ? strdup(a->before) : NULL;
    s->after[s->n] = a->after ? strdup(a->after) : NULL;
    snprintf(s->actor[s->n], sizeof(s->actor[0]), "%s", a->actor);
    snprintf(s->action[s->n], sizeof(s->action[0]), "%s", a->action);
    size_t len = strlen(s->text);
    snprintf(s->text + len, sizeof(s->text) - len, "%s;", a->resource);
    s->n++;
    return 0;
}

static void audits_seen_free(struct audits_seen *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->before[i]);
        free(s->after[i]);
    }
    memset(s, 0, sizeof(*s));
}

/* The resources of `q`'s audit events, "a;b;", into a fresh `got`. */
static void audit_texts(sy_store_t *s, const sy_store_audit_query_t *q, struct audits_seen *got)
{
    audits_seen_free(got);
    sy_err_t err = {0};
    if (sy_store_audit_list(s, q, keep_audit, got, &err) != 0)
        fail_msg("audit_list: %s", err.msg);
}

/* How many audit events workspace `ws` holds. */
static int audit_count(sy_store_t *s, int64_t ws)
{
    struct audits_seen got = {0};
    sy_store_audit_query_t q = {.workspace = ws, .limit = 1000};
    audit_texts(s, &q, &got);
    int n = got.n;
    audits_seen_free(&got);
    return n;
}

static void add_audit(sy_store_t *s, int64_t ws, int64_t at_ms, const char *resource)
{
    sy_store_audit_t a = {
        .workspace = ws, .at_ms = at_ms, .actor = "t", .action = "x", .resource = resource};
    sy_err_t err = {0};
    if (sy_store_audit_add(s, &a, &err) != 0)
        fail_msg("audit_add: %s", err.msg);
}

struct settings_seen {
    int n;
    int stop_at;
    int64_t ws[MAX_ROWS];
    char text[512]; /* "ws:name=value;" for each */
};

static int keep_setting(void *arg, int64_t ws, const char *name, const char *value)
{
    struct settings_seen *s = arg;
    if (s->n >= MAX_ROWS)
        return -E2BIG;
    s->ws[s->n++] = ws;
    size_t len = strlen(s->text);
    snprintf(s->text + len, sizeof(s->text) - len, "%" PRId64 ":%s=%s;", ws, name, value);
    return s->stop_at > 0 && s->n == s->stop_at ? 7 : 0;
}

struct routes_seen {
    int n;
    int stop_at;
    sy_store_route_t r[MAX_ROWS]; /* name and definition owned */
};

static int keep_route(void *arg, const sy_store_route_t *r)
{
    struct routes_seen *s = arg;
    if (s->n >= MAX_ROWS)
        return -E2BIG;
    s->r[s->n] = *r;
    s->r[s->n].name = strdup(r->name);
    s->r[s->n].definition = strdup(r->definition);
    s->n++;
    return s->stop_at > 0 && s->n == s->stop_at ? 7 : 0;
}

static void routes_seen_free(struct routes_seen *s)
{
    for (int i = 0; i < s->n; i++) {
        free((char *)s->r[i].name);
        free((char *)s->r[i].definition);
    }
    memset(s, 0, sizeof(*s));
}

struct minutes_seen {
    int n;
    sy_store_route_minute_t m[MAX_ROWS]; /* texts owned */
};

static int keep_minute(void *arg, const sy_store_route_minute_t *m)
{
    struct minutes_seen *s = arg;
    if (s->n >= MAX_ROWS)
        return -E2BIG;
    sy_store_route_minute_t *c = &s->m[s->n++];
    *c = *m;
    c->route = strdup(m->route);
    c->domain = strdup(m->domain);
    c->upstream = strdup(m->upstream);
    c->tried = strdup(m->tried);
    c->hist = strdup(m->hist);
    c->status = strdup(m->status);
    return 0;
}

static void minutes_seen_free(struct minutes_seen *s)
{
    for (int i = 0; i < s->n; i++) {
        sy_store_route_minute_t *c = &s->m[i];
        free((char *)c->route);
        free((char *)c->domain);
        free((char *)c->upstream);
        free((char *)c->tried);
        free((char *)c->hist);
        free((char *)c->status);
    }
    memset(s, 0, sizeof(*s));
}

static sy_store_route_minute_t minute_row(int64_t ws, const char *route, int64_t minute,
                                          const char *domain)
{
    return (sy_store_route_minute_t){.workspace = ws,
                                     .route = route,
                                     .minute = minute,
                                     .domain = domain,
                                     .upstream = "new",
                                     .tried = "",
                                     .requests = 10,
                                     .errors = 1,
                                     .total_ms = 12.5,
                                     .hist = "3:10",
                                     .status = "2:9,5:1"};
}

static void add_minute(sy_store_t *s, int64_t ws, const char *route, int64_t minute,
                       const char *domain)
{
    sy_store_route_minute_t m = minute_row(ws, route, minute, domain);
    sy_err_t err = {0};
    if (sy_store_route_minute_add(s, &m, &err) != 0)
        fail_msg("route_minute_add: %s", err.msg);
}

static int minute_count(sy_store_t *s, int64_t ws, const char *route)
{
    struct minutes_seen got = {0};
    assert_int_equal(sy_store_route_minute_list(s, ws, route, INT64_MIN, keep_minute, &got, NULL),
                     0);
    int n = got.n;
    minutes_seen_free(&got);
    return n;
}

/* Text of `len` bytes cycling through printable ASCII, quotes and backslashes included. */
static char *big_text(size_t len)
{
    char *t = malloc(len + 1);
    assert_non_null(t);
    for (size_t i = 0; i < len; i++)
        t[i] = (char)(' ' + i % 95);
    t[len] = '\0';
    return t;
}

static void assert_same_double(double got, double want)
{
    if (memcmp(&got, &want, sizeof(got)) != 0)
        fail_msg("got %.17g, want %.17g (not the same bits)", got, want);
}

/* ---- flags ------------------------------------------------------------------------------ */

static void flags_are_created_replaced_and_listed_by_key_bytes(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    /* Bytes order: 'B' 0x42 < '_' 0x5f < 'a' < 'b' < "\xc3\xa9" (é); a collation for people
     * would put them otherwise. */
    const char *keys[] = {"b", "\xc3\xa9", "a", "_", "B"};
    bool created = false;
    for (int i = 0; i < 5; i++) {
        sy_store_flag_t f = {.key = keys[i], .definition = "{\"v\":1}", .updated_ms = 10 + i};
        assert_int_equal(sy_store_flag_put(s, ws, &f, &created, &err), 0);
        assert_true(created);
    }
    sy_store_flag_t f = {.key = "a", .definition = "{\"v\":2}", .updated_ms = 99};
    assert_int_equal(sy_store_flag_put(s, ws, &f, &created, &err), 0);
    assert_false(created); /* replaced */
    struct flags_seen got = {0};
    assert_int_equal(sy_store_flag_list(s, ws, keep_flag, &got, &err), 0);
    assert_int_equal(got.n, 5);
    const char *want[] = {"B", "_", "a", "b", "\xc3\xa9"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(got.key[i], want[i]);
    assert_string_equal(got.definition[2], "{\"v\":2}");
    assert_int_equal(got.updated_ms[2], 99);
    assert_string_equal(got.definition[3], "{\"v\":1}");
    assert_int_equal(got.updated_ms[3], 10);
    flags_seen_free(&got);
    /* A callback's non-zero return stops the list and is its return. */
    got.stop_at = 2;
    assert_int_equal(sy_store_flag_list(s, ws, keep_flag, &got, &err), 7);
    assert_int_equal(got.n, 2);
    flags_seen_free(&got);
    fx_store_close(s);
}

static void a_flag_is_deleted_once_and_a_clear_takes_every_flag(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    bool created;
    const char *keys[] = {"x", "y", "z"};
    for (int i = 0; i < 3; i++) {
        sy_store_flag_t f = {.key = keys[i], .definition = "{}", .updated_ms = 1};
        assert_int_equal(sy_store_flag_put(s, ws, &f, &created, NULL), 0);
    }
    assert_int_equal(sy_store_flag_delete(s, ws, "y", &err), 0);
    assert_int_equal(sy_store_flag_delete(s, ws, "y", &err), -ENOENT);
    assert_int_equal(err.code, -ENOENT);
    assert_string_equal(err.field, "key");
    assert_int_equal(sy_store_flag_delete(s, ws, "nope", NULL), -ENOENT);
    int n = 0;
    assert_int_equal(sy_store_flag_list(s, ws, count_flags, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sy_store_flag_clear(s, ws, &err), 0);
    n = 0;
    assert_int_equal(sy_store_flag_list(s, ws, count_flags, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sy_store_flag_clear(s, ws, &err), 0); /* nothing to clear: fine */
    /* A deleted flag put again is created again. */
    sy_store_flag_t f = {.key = "x", .definition = "{}", .updated_ms = 2};
    assert_int_equal(sy_store_flag_put(s, ws, &f, &created, NULL), 0);
    assert_true(created);
    fx_store_close(s);
}

static void flag_set_is_empty_json_until_set_then_replaced(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a, b;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    char *ev = NULL, *md = NULL;
    assert_int_equal(sy_store_flagset_get(s, a, &ev, &md, &err), 0);
    assert_string_equal(ev, "{}");
    assert_string_equal(md, "{}");
    free(ev);
    free(md);
    assert_int_equal(sy_store_flagset_put(s, a, "{\"e\":1}", "{\"m\":1}", &err), 0);
    assert_int_equal(sy_store_flagset_put(s, a, "{\"e\":2}", "{\"m\":\"\xc3\xa9'\\\"\"}", &err), 0);
    assert_int_equal(sy_store_flagset_get(s, a, &ev, &md, &err), 0);
    assert_string_equal(ev, "{\"e\":2}");
    assert_string_equal(md, "{\"m\":\"\xc3\xa9'\\\"\"}");
    free(ev);
    free(md);
    assert_int_equal(sy_store_flagset_get(s, b, &ev, &md, &err), 0); /* b's own: none */
    assert_string_equal(ev, "{}");
    assert_string_equal(md, "{}");
    free(ev);
    free(md);
    fx_store_close(s);
}

struct ids_seen {
    int n;
    int64_t v[8];
};

static int keep_id(void *arg, int64_t id)
{
    struct ids_seen *s = arg;
    if (s->n == 8)
        return -E2BIG;
    s->v[s->n++] = id;
    return 0;
}

static int stop_at_first(void *arg, int64_t id)
{
    *(int64_t *)arg = id;
    return 5;
}

/* flag_workspaces names the workspaces with a flag or a flag set stored, each once, by id:
 * not one with neither, not one whose flags were all deleted; a callback's non-zero stops. */
static void flag_workspaces_are_those_with_a_flag_or_a_flag_set(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a, b, c, d;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "c", 1, &c, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "d", 1, &d, NULL), 0);
    struct ids_seen got = {0};
    assert_int_equal(sy_store_flag_workspaces(s, keep_id, &got, NULL), 0);
    assert_int_equal(got.n, 0);
    sy_store_flag_t f = {.key = "k", .definition = "{\"state\":\"ENABLED\"}", .updated_ms = 1};
    bool created;
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_flag_put(s, c, &f, &created, NULL), 0);
    assert_int_equal(sy_store_flag_put(s, a, &f, &created, NULL), 0);
    f.key = "j";
    assert_int_equal(sy_store_flag_put(s, a, &f, &created, NULL), 0);
    assert_int_equal(sy_store_flag_put(s, d, &f, &created, NULL), 0);
    assert_int_equal(sy_store_flag_delete(s, d, "j", NULL), 0);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    assert_int_equal(sy_store_flagset_put(s, b, "{}", "{\"m\":1}", NULL), 0);
    assert_int_equal(sy_store_flagset_put(s, c, "{}", "{}", NULL), 0);
    got = (struct ids_seen){0};
    assert_int_equal(sy_store_flag_workspaces(s, keep_id, &got, NULL), 0);
    assert_int_equal(got.n, 3); /* not d: its one flag deleted */
    assert_true(got.v[0] == a && got.v[1] == b && got.v[2] == c);
    int64_t first = 0;
    assert_int_equal(sy_store_flag_workspaces(s, stop_at_first, &first, NULL), 5);
    assert_int_equal(first, a);
    fx_store_close(s);
}

/* Moved from test_sqlite.c. */
static void rollback_leaves_nothing(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    bool created;
    sy_store_flag_t f = {.key = "k", .definition = "{}", .updated_ms = 2};
    assert_int_equal(sy_store_flag_put(s, ws, &f, &created, NULL), 0);
    assert_true(created);
    sy_store_rollback(s);
    assert_int_equal(sy_store_flag_delete(s, ws, "k", NULL), -ENOENT);
    fx_store_close(s);
}

/* Every write of the group in one transaction: a rollback leaves none of it, a commit all. */
static void every_write_lands_with_its_transaction_or_not_at_all(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t ws, old_route, id;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    bool created;
    sy_store_flag_t keep = {.key = "keep", .definition = "{\"v\":0}", .updated_ms = 1};
    assert_int_equal(sy_store_flag_put(s, ws, &keep, &created, NULL), 0);
    sy_store_route_t r = {.workspace = ws,
                          .name = "old",
                          .definition = "{}",
                          .percentage_bp = 5,
                          .enabled = true,
                          .created_ms = 1,
                          .updated_ms = 1};
    assert_int_equal(sy_store_route_put(s, &r, &old_route, NULL), 0);
    add_minute(s, ws, "old", 1, "d");
    add_audit(s, ws, 1, "flag:keep");
    for (int commit = 0; commit < 2; commit++) {
        assert_int_equal(sy_store_begin(s, &err), 0);
        sy_store_flag_t f = {.key = "k", .definition = "{}", .updated_ms = 2};
        assert_int_equal(sy_store_flag_put(s, ws, &f, &created, &err), 0);
        keep.definition = "{\"v\":1}";
        assert_int_equal(sy_store_flag_put(s, ws, &keep, &created, &err), 0);
        assert_int_equal(sy_store_flagset_put(s, ws, "{\"e\":1}", "{}", &err), 0);
        add_audit(s, ws, 2, "flag:k");
        assert_int_equal(sy_store_setting_put(s, ws, "kill_switch", "{}", &err), 0);
        r.name = "new";
        assert_int_equal(sy_store_route_put(s, &r, &id, &err), 0);
        assert_int_equal(sy_store_route_delete(s, ws, "old", &err), 0);
        add_minute(s, ws, "new", 2, "d");
        int64_t n;
        assert_int_equal(sy_store_audit_prune(s, 2, 10, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_int_equal(sy_store_route_minute_prune(s, 2, &n, &err), 0);
        assert_int_equal(n, 1);
        if (commit)
            assert_int_equal(sy_store_commit(s, &err), 0);
        else
            sy_store_rollback(s);
        struct flags_seen flags = {0};
        assert_int_equal(sy_store_flag_list(s, ws, keep_flag, &flags, NULL), 0);
        assert_int_equal(flags.n, commit ? 2 : 1);
        assert_string_equal(flags.definition[commit ? 1 : 0], commit ? "{\"v\":1}" : "{\"v\":0}");
        flags_seen_free(&flags);
        char *ev, *md;
        assert_int_equal(sy_store_flagset_get(s, ws, &ev, &md, NULL), 0);
        assert_string_equal(ev, commit ? "{\"e\":1}" : "{}");
        free(ev);
        free(md);
        struct audits_seen audits = {0};
        sy_store_audit_query_t q = {.workspace = ws, .limit = 10};
        audit_texts(s, &q, &audits);
        assert_string_equal(audits.text, commit ? "flag:k;" : "flag:keep;");
        audits_seen_free(&audits);
        struct settings_seen settings = {0};
        assert_int_equal(sy_store_setting_list(s, keep_setting, &settings, NULL), 0);
        assert_int_equal(settings.n, commit ? 1 : 0);
        struct routes_seen routes = {0};
        assert_int_equal(sy_store_route_list(s, keep_route, &routes, NULL), 0);
        assert_int_equal(routes.n, 1);
        assert_string_equal(routes.r[0].name, commit ? "new" : "old");
        routes_seen_free(&routes);
        assert_int_equal(minute_count(s, ws, "old"), commit ? 0 : 1);
        assert_int_equal(minute_count(s, ws, "new"), commit ? 1 : 0);
    }
    fx_store_close(s);
}

/* Moved from test_sqlite.c (its token part is test_ops_workspaces.c's). */
static void every_row_is_scoped_by_workspace(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a, b;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    bool created;
    sy_store_flag_t f = {.key = "k", .definition = "{\"state\":\"ENABLED\"}", .updated_ms = 2};
    assert_int_equal(sy_store_flag_put(s, a, &f, &created, NULL), 0);
    int n = 0;
    assert_int_equal(sy_store_flag_list(s, b, count_flags, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sy_store_flag_delete(s, b, "k", NULL), -ENOENT);
    fx_store_close(s);
}

/* A second workspace sees and changes nothing of the first's, through every operation. */
static void a_second_workspace_sees_and_changes_nothing_of_the_first(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a, b, ra, rb;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    bool created;
    sy_store_flag_t f = {.key = "k", .definition = "{\"of\":\"a\"}", .updated_ms = 2};
    assert_int_equal(sy_store_flag_put(s, a, &f, &created, NULL), 0);
    assert_int_equal(sy_store_flagset_put(s, a, "{\"of\":\"a\"}", "{}", NULL), 0);
    assert_int_equal(sy_store_setting_put(s, a, "n", "\"a\"", NULL), 0);
    add_audit(s, a, 5, "flag:k");
    sy_store_route_t r = {.workspace = a,
                          .name = "r",
                          .definition = "{\"of\":\"a\"}",
                          .percentage_bp = 10,
                          .enabled = true,
                          .created_ms = 1,
                          .updated_ms = 1};
    assert_int_equal(sy_store_route_put(s, &r, &ra, NULL), 0);
    add_minute(s, a, "r", 7, "d");

    /* b reads none of it */
    int n = 0;
    assert_int_equal(sy_store_flag_list(s, b, count_flags, &n, NULL), 0);
    assert_int_equal(n, 0);
    char *ev, *md;
    assert_int_equal(sy_store_flagset_get(s, b, &ev, &md, NULL), 0);
    assert_string_equal(ev, "{}");
    free(ev);
    free(md);
    assert_int_equal(audit_count(s, b), 0);
    assert_int_equal(minute_count(s, b, "r"), 0);
    /* and changes none of it: the same keys and names in b are b's own */
    assert_int_equal(sy_store_flag_delete(s, b, "k", &err), -ENOENT);
    assert_int_equal(sy_store_route_delete(s, b, "r", &err), -ENOENT);
    assert_int_equal(sy_store_flag_clear(s, b, NULL), 0);
    f.definition = "{\"of\":\"b\"}";
    assert_int_equal(sy_store_flag_put(s, b, &f, &created, NULL), 0);
    assert_true(created); /* a's "k" is not b's */
    assert_int_equal(sy_store_flagset_put(s, b, "{\"of\":\"b\"}", "{}", NULL), 0);
    assert_int_equal(sy_store_setting_put(s, b, "n", "\"b\"", NULL), 0);
    r.workspace = b;
    r.definition = "{\"of\":\"b\"}";
    assert_int_equal(sy_store_route_put(s, &r, &rb, NULL), 0);
    assert_true(rb != ra); /* a route of its own, not a's replaced */
    add_audit(s, b, 6, "flag:k");
    add_minute(s, b, "r", 8, "d");

    struct flags_seen flags = {0};
    assert_int_equal(sy_store_flag_list(s, a, keep_flag, &flags, NULL), 0);
    assert_int_equal(flags.n, 1);
    assert_string_equal(flags.definition[0], "{\"of\":\"a\"}");
    flags_seen_free(&flags);
    assert_int_equal(sy_store_flagset_get(s, a, &ev, &md, NULL), 0);
    assert_string_equal(ev, "{\"of\":\"a\"}");
    free(ev);
    free(md);
    struct settings_seen settings = {0};
    assert_int_equal(sy_store_setting_list(s, keep_setting, &settings, NULL), 0);
    assert_int_equal(settings.n, 2);
    char want[128];
    snprintf(want, sizeof(want), "%" PRId64 ":n=\"a\";", a);
    assert_non_null(strstr(settings.text, want));
    snprintf(want, sizeof(want), "%" PRId64 ":n=\"b\";", b);
    assert_non_null(strstr(settings.text, want));
    struct routes_seen routes = {0};
    assert_int_equal(sy_store_route_list(s, keep_route, &routes, NULL), 0);
    assert_int_equal(routes.n, 2);
    assert_int_equal(routes.r[0].workspace, a);
    assert_string_equal(routes.r[0].definition, "{\"of\":\"a\"}");
    assert_int_equal(routes.r[1].workspace, b);
    routes_seen_free(&routes);
    struct audits_seen audits = {0};
    sy_store_audit_query_t q = {.workspace = a, .limit = 10};
    audit_texts(s, &q, &audits);
    assert_int_equal(audits.n, 1);
    assert_int_equal(audits.workspace[0], a);
    assert_int_equal(audits.at_ms[0], 5);
    audits_seen_free(&audits);
    struct minutes_seen minutes = {0};
    assert_int_equal(sy_store_route_minute_list(s, a, "r", 0, keep_minute, &minutes, NULL), 0);
    assert_int_equal(minutes.n, 1);
    assert_int_equal(minutes.m[0].minute, 7);
    assert_int_equal(minutes.m[0].workspace, a);
    minutes_seen_free(&minutes);
    /* b's deletes reach only b's */
    assert_int_equal(sy_store_flag_clear(s, b, NULL), 0);
    assert_int_equal(sy_store_route_delete(s, b, "r", NULL), 0);
    n = 0;
    assert_int_equal(sy_store_flag_list(s, a, count_flags, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sy_store_route_delete(s, a, "r", NULL), 0);
    fx_store_close(s);
}

/* ---- audit trail ------------------------------------------------------------------------ */

static void audit_lists_newest_first_by_resource_action_time_and_cursor(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    struct {
        int64_t at;
        const char *action, *resource, *before, *after;
    } ev[] = {
        {10, "flag.create", "flag:a", NULL, "{\"v\":1}"},
        {20, "flag.update", "flag:a", "{\"v\":1}", "{\"v\":2}"},
        {30, "token.revoke", "token:7", "{}", NULL},
        {40, "flag.create", "flag:b", NULL, "{}"},
        {50, "flag.delete", "flag:a", "{\"v\":2}", NULL},
    };
    for (int i = 0; i < 5; i++) {
        sy_store_audit_t a = {.id = 999, /* ignored */
                              .workspace = ws,
                              .at_ms = ev[i].at,
                              .actor = i % 2 ? "system" : "alice",
                              .action = ev[i].action,
                              .resource = ev[i].resource,
                              .before = ev[i].before,
                              .after = ev[i].after};
        assert_int_equal(sy_store_audit_add(s, &a, &err), 0);
    }
    struct audits_seen got = {0};
    sy_store_audit_query_t q = {.workspace = ws, .limit = 10};
    audit_texts(s, &q, &got);
    assert_string_equal(got.text, "flag:a;flag:b;token:7;flag:a;flag:a;");
    for (int i = 1; i < got.n; i++)
        assert_true(got.id[i] < got.id[i - 1]);
    assert_true(got.id[4] != 999);
    /* NULL stays NULL, text stays text */
    assert_null(got.after[0]);
    assert_string_equal(got.before[0], "{\"v\":2}");
    assert_null(got.before[1]);
    assert_string_equal(got.after[4], "{\"v\":1}");
    assert_string_equal(got.actor[4], "alice");
    assert_string_equal(got.actor[3], "system");
    assert_string_equal(got.action[2], "token.revoke");
    int64_t newest = got.id[0], third = got.id[2];

    q.resource = "flag:a"; /* exact */
    audit_texts(s, &q, &got);
    assert_string_equal(got.text, "flag:a;flag:a;flag:a;");
    q.resource = "flag:"; /* a prefix */
    audit_texts(s, &q, &got);
    assert_string_equal(got.text, "flag:a;flag:b;flag:a;flag:a;");
    q.resource = "flag"; /* exact: no event's resource is "flag" */
    audit_texts(s, &q, &got);
    assert_string_equal(got.text, "");
    q.resource = "";
    audit_texts(s, &q, &got);
    assert_string_equal(got.text, "");
    q.resource = "flag:";
    q.action = "flag.create";
    audit_texts(s, &q, &got);
    assert_string_equal(got.text, "flag:b;flag:a;");
    assert_int_equal(got.at_ms[0], 40);
    q = (sy_store_audit_query_t){
        .workspace = ws, .action = "flag.create", .since_ms = 11, .limit = 10};
    audit_texts(s, &q, &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.at_ms[0], 40);
    q = (sy_store_audit_query_t){.workspace = ws, .since_ms = 30, .limit = 10};
    audit_texts(s, &q, &got); /* since is inclusive */
    assert_string_equal(got.text, "flag:a;flag:b;token:7;");
    /* pages: the cursor is exclusive, the limit cuts */
    q = (sy_store_audit_query_t){.workspace = ws, .limit = 2};
    audit_texts(s, &q, &got);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.id[0], newest);
    q.before_id = got.id[1];
    audit_texts(s, &q, &got);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.id[0], third);
    assert_int_equal(got.at_ms[1], 20);
    q.before_id = got.id[1];
    audit_texts(s, &q, &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.at_ms[0], 10);
    q.before_id = got.id[0];
    audit_texts(s, &q, &got);
    assert_int_equal(got.n, 0);
    q = (sy_store_audit_query_t){.workspace = ws, .before_id = INT64_MAX, .limit = 1};
    audit_texts(s, &q, &got);
    assert_int_equal(got.id[0], newest);
    q = (sy_store_audit_query_t){.workspace = ws, .since_ms = INT64_MAX, .limit = 1000};
    audit_texts(s, &q, &got);
    assert_int_equal(got.n, 0);
    audits_seen_free(&got);
    fx_store_close(s);
}

/* Moved from test_sqlite.c. */
static int collect_actions(void *arg, const sy_store_audit_t *a)
{
    strcat(arg, a->resource);
    strcat(arg, ";");
    return 0;
}

static void audit_prefix_filter_takes_keys_literally(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    const char *res[] = {"flag:a*b", "flag:ab", "flagx:a", "token:1", "flag:[x]"};
    for (int i = 0; i < 5; i++) {
        sy_store_audit_t a = {
            .workspace = ws, .at_ms = 10 + i, .actor = "t", .action = "x", .resource = res[i]};
        assert_int_equal(sy_store_audit_add(s, &a, NULL), 0);
    }
    char got[256] = "";
    sy_store_audit_query_t q = {.workspace = ws, .resource = "flag:", .limit = 10};
    assert_int_equal(sy_store_audit_list(s, &q, collect_actions, got, NULL), 0);
    assert_string_equal(got, "flag:[x];flag:ab;flag:a*b;");
    got[0] = '\0';
    q.resource = "flag:a*b";
    assert_int_equal(sy_store_audit_list(s, &q, collect_actions, got, NULL), 0);
    assert_string_equal(got, "flag:a*b;");
    got[0] = '\0';
    q = (sy_store_audit_query_t){.workspace = ws, .since_ms = 12, .limit = 2};
    assert_int_equal(sy_store_audit_list(s, &q, collect_actions, got, NULL), 0);
    assert_string_equal(got, "flag:[x];token:1;");
    got[0] = '\0';
    q.workspace = ws + 1; /* another workspace sees none of it */
    assert_int_equal(sy_store_audit_list(s, &q, collect_actions, got, NULL), 0);
    assert_string_equal(got, "");
    fx_store_close(s);
}

/* LIKE's wildcards ('%', '_', '\') and GLOB's ('*', '?', '[') mean themselves in a prefix. */
static void audit_prefix_filter_takes_every_wildcard_literally(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    const char *res[] = {"fl%g:1", "flag:1", "fl_g:1",     "flxg:1",    "f\\:1",
                         "f?:1",   "fx:1",   "\xc3\xa9:1", "\xc3\xa8:1"};
    for (int i = 0; i < 9; i++)
        add_audit(s, ws, i, res[i]);
    struct {
        const char *prefix, *want;
    } cases[] = {
        {"fl%g:", "fl%g:1;"}, {"fl_g:", "fl_g:1;"},         {"f\\:", "f\\:1;"}, {"f?:", "f?:1;"},
        {"f%:", ""},          {"\xc3\xa9:", "\xc3\xa9:1;"}, {"fl%g:1:", ""},
    };
    struct audits_seen got = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sy_store_audit_query_t q = {.workspace = ws, .resource = cases[i].prefix, .limit = 10};
        audit_texts(s, &q, &got);
        if (strcmp(got.text, cases[i].want) != 0)
            fail_msg("prefix %s: got \"%s\", want \"%s\"", cases[i].prefix, got.text,
                     cases[i].want);
    }
    audits_seen_free(&got);
    fx_store_close(s);
}

static void audit_prune_takes_the_oldest_of_every_workspace_up_to_the_limit_in_all(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a, b, c, n = -1;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "c", 1, &c, NULL), 0);
    /* In id order (the order "oldest" means): a@5 b@1 a@2 b@3 a@100 b@200; c has none. */
    add_audit(s, a, 5, "a1");
    add_audit(s, b, 1, "b1");
    add_audit(s, a, 2, "a2");
    add_audit(s, b, 3, "b2");
    add_audit(s, a, 100, "a3");
    add_audit(s, b, 200, "b3");
    assert_int_equal(sy_store_audit_prune(s, 50, 0, &n, &err), 0);
    assert_int_equal(n, 0);
    /* Inside a transaction rolled back: nothing. */
    assert_int_equal(sy_store_begin(s, &err), 0);
    assert_int_equal(sy_store_audit_prune(s, 50, 1000, &n, &err), 0);
    assert_int_equal(n, 4);
    sy_store_rollback(s);
    assert_int_equal(audit_count(s, a) + audit_count(s, b), 6);
    /* The three oldest of all: a1, b1, a2 (not a's two and b's one, nor two of each). */
    assert_int_equal(sy_store_audit_prune(s, 50, 3, &n, &err), 0);
    assert_int_equal(n, 3);
    struct audits_seen got = {0};
    sy_store_audit_query_t q = {.workspace = a, .limit = 10};
    audit_texts(s, &q, &got);
    assert_string_equal(got.text, "a3;");
    q.workspace = b;
    audit_texts(s, &q, &got);
    assert_string_equal(got.text, "b3;b2;");
    /* Only what is older than before_ms. */
    assert_int_equal(sy_store_audit_prune(s, 100, 10, &n, &err), 0);
    assert_int_equal(n, 1);
    audit_texts(s, &q, &got);
    assert_string_equal(got.text, "b3;");
    assert_int_equal(sy_store_audit_prune(s, 100, 10, &n, &err), 0);
    assert_int_equal(n, 0);
    /* A limit for one workspace's worth once, then again across workspaces, committed. */
    for (int i = 0; i < 5; i++) {
        add_audit(s, c, 1, "c");
        add_audit(s, a, 1, "a");
    }
    assert_int_equal(sy_store_begin(s, &err), 0);
    assert_int_equal(sy_store_audit_prune(s, 50, 4, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(sy_store_commit(s, &err), 0);
    assert_int_equal(audit_count(s, c), 3);
    assert_int_equal(audit_count(s, a), 4); /* a3 and three "a" */
    /* A negative limit is no limit (SQLite's LIMIT -1). */
    assert_int_equal(sy_store_audit_prune(s, 50, -1, &n, &err), 0);
    assert_int_equal(n, 6);
    assert_int_equal(audit_count(s, c), 0);
    assert_int_equal(audit_count(s, a), 1);
    audits_seen_free(&got);
    fx_store_close(s);
}

/* A prune that fails at any of its statements deletes nothing. */
static void a_prune_failing_at_any_statement_deletes_nothing(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a, b, n;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    for (int i = 0; i < 3; i++) {
        add_audit(s, a, 1, "a");
        add_audit(s, b, 1, "b");
        add_minute(s, a, "r", 1, "d");
        add_minute(s, b, "r", 1, "d");
    }
    int at = 1;
    for (;; at++) {
        assert_true(at < 100);
        sy_store_fail_at(s, at);
        n = -1;
        int rc = sy_store_audit_prune(s, 10, 5, &n, &err);
        sy_store_fail_at(s, 0);
        if (rc == 0)
            break;
        assert_int_equal(rc, -EIO);
        assert_int_equal(audit_count(s, a), 3);
        assert_int_equal(audit_count(s, b), 3);
    }
    assert_int_equal(n, 5);
    assert_int_equal(audit_count(s, a) + audit_count(s, b), 1);
    for (at = 1;; at++) {
        assert_true(at < 100);
        sy_store_fail_at(s, at);
        n = -1;
        int rc = sy_store_route_minute_prune(s, 5, &n, &err);
        sy_store_fail_at(s, 0);
        if (rc == 0)
            break;
        assert_int_equal(rc, -EIO);
        assert_int_equal(n, 0);
        assert_int_equal(minute_count(s, a, "r"), 3);
        assert_int_equal(minute_count(s, b, "r"), 3);
    }
    assert_int_equal(n, 6);
    assert_int_equal(minute_count(s, a, "r") + minute_count(s, b, "r"), 0);
    fx_store_close(s);
}

/* ---- workspace settings ----------------------------------------------------------------- */

static void settings_are_replaced_by_name_and_listed_for_every_workspace(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a, b;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    struct settings_seen got = {0};
    assert_int_equal(sy_store_setting_list(s, keep_setting, &got, &err), 0);
    assert_int_equal(got.n, 0);
    assert_int_equal(sy_store_setting_put(s, a, "x", "1", &err), 0);
    assert_int_equal(sy_store_setting_put(s, b, "x", "2", &err), 0);
    assert_int_equal(sy_store_setting_put(s, a, "y", "\"\xc3\xa9'\"", &err), 0);
    assert_int_equal(sy_store_setting_put(s, a, "x", "3", &err), 0); /* replaces */
    assert_int_equal(sy_store_setting_list(s, keep_setting, &got, &err), 0);
    assert_int_equal(got.n, 3);
    char want[64];
    snprintf(want, sizeof(want), "%" PRId64 ":x=3;", a);
    assert_non_null(strstr(got.text, want));
    snprintf(want, sizeof(want), "%" PRId64 ":x=2;", b);
    assert_non_null(strstr(got.text, want));
    snprintf(want, sizeof(want), "%" PRId64 ":y=\"\xc3\xa9'\";", a);
    assert_non_null(strstr(got.text, want));
    memset(&got, 0, sizeof(got));
    got.stop_at = 1;
    assert_int_equal(sy_store_setting_list(s, keep_setting, &got, &err), 7);
    assert_int_equal(got.n, 1);
    fx_store_close(s);
}

/* A delete takes its workspace's setting of that name only; deleting none is no error. */
static void a_setting_deleted_is_gone_from_its_workspace_only(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a, b;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    assert_int_equal(sy_store_setting_put(s, a, "layer:x", "1", &err), 0);
    assert_int_equal(sy_store_setting_put(s, a, "layer:y", "2", &err), 0);
    assert_int_equal(sy_store_setting_put(s, b, "layer:x", "3", &err), 0);
    assert_int_equal(sy_store_setting_delete(s, a, "layer:x", &err), 0);
    assert_int_equal(sy_store_setting_delete(s, a, "layer:x", &err), 0); /* none: no error */
    assert_int_equal(sy_store_setting_delete(s, b, "layer:nothing", &err), 0);
    struct settings_seen got = {0};
    assert_int_equal(sy_store_setting_list(s, keep_setting, &got, &err), 0);
    assert_int_equal(got.n, 2);
    char want[64];
    snprintf(want, sizeof(want), "%" PRId64 ":layer:x=", a);
    assert_null(strstr(got.text, want));
    snprintf(want, sizeof(want), "%" PRId64 ":layer:y=2;", a);
    assert_non_null(strstr(got.text, want));
    snprintf(want, sizeof(want), "%" PRId64 ":layer:x=3;", b);
    assert_non_null(strstr(got.text, want));
    /* a delete rolled back leaves the setting */
    assert_int_equal(sy_store_begin(s, &err), 0);
    assert_int_equal(sy_store_setting_delete(s, b, "layer:x", &err), 0);
    sy_store_rollback(s);
    memset(&got, 0, sizeof(got));
    assert_int_equal(sy_store_setting_list(s, keep_setting, &got, &err), 0);
    assert_int_equal(got.n, 2);
    fx_store_close(s);
}

/* What a list across workspaces does when another handle writes during it. */
struct snapshot_probe {
    sy_store_t *other; /* a second handle on the same store */
    int64_t later;     /* the workspace it writes to */
    struct settings_seen seen;
};

static int write_during_list(void *arg, int64_t ws, const char *name, const char *value)
{
    struct snapshot_probe *p = arg;
    if (p->seen.n == 0) {
        sy_err_t err = {0};
        if (sy_store_setting_put(p->other, p->later, "late", "1", &err) != 0)
            fail_msg("setting_put on the second handle: %s", err.msg);
    }
    return keep_setting(&p->seen, ws, name, value);
}

/* The settings of every workspace are read as of one moment, as SQLite's one statement
 * reads them: a setting committed by another handle while the list runs is not in it. */
static void settings_of_every_workspace_are_read_in_one_snapshot(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a, b;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    assert_int_equal(sy_store_setting_put(s, a, "x", "1", NULL), 0);
    assert_int_equal(sy_store_setting_put(s, b, "x", "2", NULL), 0);
    struct snapshot_probe p = {.other = fx_store_open_again(), .later = b};
    assert_int_equal(sy_store_setting_list(s, write_during_list, &p, &err), 0);
    assert_int_equal(p.seen.n, 2);
    assert_null(strstr(p.seen.text, "late"));
    sy_store_close(p.other);
    memset(&p.seen, 0, sizeof(p.seen));
    assert_int_equal(sy_store_setting_list(s, keep_setting, &p.seen, &err), 0);
    assert_int_equal(p.seen.n, 3); /* committed: there the next time */
    fx_store_close(s);
}

/* ---- routes ----------------------------------------------------------------------------- */

static void routes_keep_their_id_when_replaced_and_list_by_id_across_workspaces(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a, b, r1, r2, r3, again;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    sy_store_route_t r = {.workspace = a,
                          .name = "one",
                          .definition = "{\"listen\":\":1\"}",
                          .percentage_bp = 0,
                          .enabled = true,
                          .created_ms = 100,
                          .updated_ms = 100};
    assert_int_equal(sy_store_route_put(s, &r, &r1, &err), 0);
    r.workspace = b;
    r.name = "two";
    assert_int_equal(sy_store_route_put(s, &r, &r2, &err), 0);
    r.workspace = a;
    r.name = "three";
    r.percentage_bp = 10000;
    assert_int_equal(sy_store_route_put(s, &r, &r3, &err), 0);
    assert_true(r1 < r2 && r2 < r3);
    /* Replaced: its id and created_ms kept, the rest taken. */
    r = (sy_store_route_t){.id = 12345, /* ignored */
                           .workspace = a,
                           .name = "one",
                           .definition = "{\"listen\":\":2\"}",
                           .percentage_bp = 2500,
                           .enabled = false,
                           .created_ms = 999,
                           .updated_ms = 200};
    assert_int_equal(sy_store_route_put(s, &r, &again, &err), 0);
    assert_int_equal(again, r1);
    struct routes_seen got = {0};
    assert_int_equal(sy_store_route_list(s, keep_route, &got, &err), 0);
    assert_int_equal(got.n, 3);
    /* By id across workspaces: a's, b's, a's (not a's two, then b's). */
    assert_int_equal(got.r[0].id, r1);
    assert_int_equal(got.r[1].id, r2);
    assert_int_equal(got.r[2].id, r3);
    assert_int_equal(got.r[0].workspace, a);
    assert_int_equal(got.r[1].workspace, b);
    assert_int_equal(got.r[2].workspace, a);
    assert_string_equal(got.r[0].name, "one");
    assert_string_equal(got.r[0].definition, "{\"listen\":\":2\"}");
    assert_int_equal(got.r[0].percentage_bp, 2500);
    assert_false(got.r[0].enabled);
    assert_int_equal(got.r[0].created_ms, 100);
    assert_int_equal(got.r[0].updated_ms, 200);
    assert_true(got.r[1].enabled);
    assert_int_equal(got.r[2].percentage_bp, 10000);
    routes_seen_free(&got);
    got.stop_at = 2;
    assert_int_equal(sy_store_route_list(s, keep_route, &got, &err), 7);
    assert_int_equal(got.n, 2);
    routes_seen_free(&got);
    /* A percentage out of 0..10000 is refused and changes nothing. */
    r.percentage_bp = 10001;
    assert_true(sy_store_route_put(s, &r, &again, &err) < 0);
    r.percentage_bp = -1;
    r.name = "four";
    assert_true(sy_store_route_put(s, &r, &again, &err) < 0);
    assert_int_equal(sy_store_route_list(s, keep_route, &got, &err), 0);
    assert_int_equal(got.n, 3);
    assert_int_equal(got.r[0].percentage_bp, 2500);
    routes_seen_free(&got);
    /* Deleted once, by its workspace and name. */
    assert_int_equal(sy_store_route_delete(s, b, "one", &err), -ENOENT);
    assert_string_equal(err.field, "name");
    assert_int_equal(sy_store_route_delete(s, a, "one", &err), 0);
    assert_int_equal(sy_store_route_delete(s, a, "one", &err), -ENOENT);
    assert_int_equal(sy_store_route_list(s, keep_route, &got, &err), 0);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.r[0].id, r2);
    routes_seen_free(&got);
    fx_store_close(s);
}

/* ---- route minutes ---------------------------------------------------------------------- */

static void route_minutes_append_list_from_a_minute_and_prune_every_workspace(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a, b, n = -1;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    add_minute(s, a, "r", 12, "x");
    add_minute(s, a, "r", 10, "x");
    add_minute(s, a, "r", 11, "y");
    add_minute(s, a, "r", 11, "x");
    add_minute(s, a, "other", 11, "x");
    add_minute(s, b, "r", 5, "x");
    /* The same (route, minute, domain, upstream) again: a second row, not a merge. */
    sy_store_route_minute_t m = minute_row(a, "r", 11, "y");
    m.requests = 5;
    m.status = NULL; /* stored as "" */
    assert_int_equal(sy_store_route_minute_add(s, &m, &err), 0);
    struct minutes_seen got = {0};
    assert_int_equal(sy_store_route_minute_list(s, a, "r", 11, keep_minute, &got, &err), 0);
    /* minute by minute, each minute's rows in the order they were added */
    assert_int_equal(got.n, 4);
    assert_int_equal(got.m[0].minute, 11);
    assert_string_equal(got.m[0].domain, "y");
    assert_int_equal(got.m[0].requests, 10);
    assert_string_equal(got.m[1].domain, "x");
    assert_string_equal(got.m[2].domain, "y");
    assert_int_equal(got.m[2].requests, 5);
    assert_string_equal(got.m[2].status, "");
    assert_int_equal(got.m[3].minute, 12);
    assert_int_equal(got.m[0].workspace, a);
    assert_string_equal(got.m[0].route, "r");
    assert_string_equal(got.m[0].upstream, "new");
    assert_string_equal(got.m[0].tried, "");
    assert_int_equal(got.m[0].errors, 1);
    assert_same_double(got.m[0].total_ms, 12.5);
    assert_string_equal(got.m[0].hist, "3:10");
    assert_string_equal(got.m[0].status, "2:9,5:1");
    minutes_seen_free(&got);
    assert_int_equal(sy_store_route_minute_list(s, a, "r", 13, keep_minute, &got, &err), 0);
    assert_int_equal(got.n, 0);
    /* Before minute 11, in every workspace: a's minute 10 and b's minute 5. */
    assert_int_equal(sy_store_route_minute_prune(s, 11, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(minute_count(s, a, "r"), 4);
    assert_int_equal(minute_count(s, a, "other"), 1);
    assert_int_equal(minute_count(s, b, "r"), 0);
    assert_int_equal(sy_store_route_minute_prune(s, 11, &n, &err), 0);
    assert_int_equal(n, 0);
    /* In a transaction rolled back: nothing. */
    assert_int_equal(sy_store_begin(s, &err), 0);
    assert_int_equal(sy_store_route_minute_prune(s, INT64_MAX, &n, &err), 0);
    assert_int_equal(n, 5);
    sy_store_rollback(s);
    assert_int_equal(minute_count(s, a, "r"), 4);
    fx_store_close(s);
}

/* ---- odd values ------------------------------------------------------------------------- */

static void odd_values_come_back_exactly(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t ws, id;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    const char *key =
        "k\xc3\xa9y 'quoted' \"double\" \\ back; DROP TABLE flags; --\t\xf0\x9f\x9a\x80";
    char *mb = big_text(1 << 20);
    bool created;
    sy_store_flag_t f = {.key = key, .definition = mb, .updated_ms = INT64_MAX};
    assert_int_equal(sy_store_flag_put(s, ws, &f, &created, &err), 0);
    f.key = "min";
    f.updated_ms = INT64_MIN;
    assert_int_equal(sy_store_flag_put(s, ws, &f, &created, &err), 0);
    struct flags_seen flags = {0};
    assert_int_equal(sy_store_flag_list(s, ws, keep_flag, &flags, &err), 0);
    assert_int_equal(flags.n, 2);
    assert_string_equal(flags.key[0], key);
    assert_int_equal(strlen(flags.definition[0]), 1 << 20);
    assert_true(strcmp(flags.definition[0], mb) == 0);
    assert_true(flags.updated_ms[0] == INT64_MAX);
    assert_true(flags.updated_ms[1] == INT64_MIN);
    flags_seen_free(&flags);
    assert_int_equal(sy_store_flag_delete(s, ws, key, &err), 0);

    assert_int_equal(sy_store_flagset_put(s, ws, mb, key, &err), 0);
    char *ev, *md;
    assert_int_equal(sy_store_flagset_get(s, ws, &ev, &md, &err), 0);
    assert_true(strcmp(ev, mb) == 0);
    assert_string_equal(md, key);
    free(ev);
    free(md);

    sy_store_audit_t a = {.workspace = ws,
                          .at_ms = INT64_MIN,
                          .actor = key,
                          .action = "x",
                          .resource = key,
                          .before = mb,
                          .after = ""};
    assert_int_equal(sy_store_audit_add(s, &a, &err), 0);
    struct audits_seen audits = {0};
    sy_store_audit_query_t q = {
        .workspace = ws, .resource = key, .since_ms = INT64_MIN, .limit = 1};
    audit_texts(s, &q, &audits);
    assert_int_equal(audits.n, 1);
    assert_true(audits.at_ms[0] == INT64_MIN);
    assert_true(strcmp(audits.before[0], mb) == 0);
    assert_string_equal(audits.after[0], ""); /* empty, not NULL */
    audits_seen_free(&audits);

    assert_int_equal(sy_store_setting_put(s, ws, key, mb, &err), 0);
    sy_store_route_t r = {.workspace = ws,
                          .name = key,
                          .definition = mb,
                          .percentage_bp = 1,
                          .enabled = true,
                          .created_ms = INT64_MIN,
                          .updated_ms = INT64_MAX};
    assert_int_equal(sy_store_route_put(s, &r, &id, &err), 0);
    struct routes_seen routes = {0};
    assert_int_equal(sy_store_route_list(s, keep_route, &routes, &err), 0);
    assert_int_equal(routes.n, 1);
    assert_string_equal(routes.r[0].name, key);
    assert_true(strcmp(routes.r[0].definition, mb) == 0);
    assert_true(routes.r[0].created_ms == INT64_MIN);
    assert_true(routes.r[0].updated_ms == INT64_MAX);
    routes_seen_free(&routes);

    /* Doubles that must come back bit for bit (PostgreSQL prints its shortest exact form). */
    const double v[] = {0.1,
                        1.0 / 3.0,
                        1e-300,
                        4.9406564584124654e-324,
                        DBL_MAX,
                        -DBL_MIN,
                        123456789.123456789,
                        2.5e15 + 0.5,
                        INFINITY,
                        -INFINITY,
                        0.0};
    int nv = (int)(sizeof(v) / sizeof(v[0]));
    for (int i = 0; i < nv; i++) {
        sy_store_route_minute_t m = minute_row(ws, key, i, key);
        m.total_ms = v[i];
        m.requests = INT64_MAX;
        m.errors = INT64_MIN;
        m.hist = mb;
        assert_int_equal(sy_store_route_minute_add(s, &m, &err), 0);
    }
    struct minutes_seen got = {0};
    assert_int_equal(sy_store_route_minute_list(s, ws, key, INT64_MIN, keep_minute, &got, &err), 0);
    assert_int_equal(got.n, nv);
    for (int i = 0; i < nv; i++) {
        assert_same_double(got.m[i].total_ms, v[i]);
        assert_true(got.m[i].requests == INT64_MAX);
        assert_true(got.m[i].errors == INT64_MIN);
        assert_string_equal(got.m[i].domain, key);
        assert_true(strcmp(got.m[i].hist, mb) == 0);
    }
    minutes_seen_free(&got);
    free(mb);
    fx_store_close(s);
}

/* NULL where a text is required, and rows of a workspace that does not exist: refused on
 * both backends, nothing written (the codes differ: postgres_flags.c). */
static void a_null_text_or_an_unknown_workspace_is_refused_and_writes_nothing(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t ws, id;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    int64_t none = ws + 100;
    bool created;
    sy_store_flag_t f = {.key = "k", .definition = NULL, .updated_ms = 1};
    assert_true(sy_store_flag_put(s, ws, &f, &created, &err) < 0);
    f.definition = "{}";
    f.key = NULL;
    assert_true(sy_store_flag_put(s, ws, &f, &created, &err) < 0);
    f.key = "k";
    assert_true(sy_store_flag_put(s, none, &f, &created, &err) < 0);
    int n = 0;
    assert_int_equal(sy_store_flag_list(s, ws, count_flags, &n, NULL), 0);
    assert_int_equal(sy_store_flag_list(s, none, count_flags, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sy_store_flag_delete(s, ws, NULL, &err), -ENOENT);
    assert_int_equal(sy_store_flag_clear(s, none, &err), 0);

    assert_true(sy_store_flagset_put(s, ws, NULL, "{}", &err) < 0);
    assert_true(sy_store_flagset_put(s, none, "{}", "{}", &err) < 0);
    char *ev, *md;
    assert_int_equal(sy_store_flagset_get(s, ws, &ev, &md, NULL), 0);
    assert_string_equal(ev, "{}");
    free(ev);
    free(md);

    sy_store_audit_t a = {
        .workspace = ws, .at_ms = 1, .actor = NULL, .action = "x", .resource = "r"};
    assert_true(sy_store_audit_add(s, &a, &err) < 0);
    a.actor = "t";
    a.workspace = none;
    assert_true(sy_store_audit_add(s, &a, &err) < 0);
    assert_int_equal(audit_count(s, ws), 0);
    assert_int_equal(audit_count(s, none), 0);

    assert_true(sy_store_setting_put(s, ws, "n", NULL, &err) < 0);
    assert_true(sy_store_setting_put(s, none, "n", "1", &err) < 0);
    struct settings_seen settings = {0};
    assert_int_equal(sy_store_setting_list(s, keep_setting, &settings, NULL), 0);
    assert_int_equal(settings.n, 0);

    sy_store_route_t r = {
        .workspace = ws, .name = "r", .definition = NULL, .created_ms = 1, .updated_ms = 1};
    assert_true(sy_store_route_put(s, &r, &id, &err) < 0);
    r.definition = "{}";
    r.workspace = none;
    assert_true(sy_store_route_put(s, &r, &id, &err) < 0);
    struct routes_seen routes = {0};
    assert_int_equal(sy_store_route_list(s, keep_route, &routes, NULL), 0);
    assert_int_equal(routes.n, 0);
    assert_int_equal(sy_store_route_delete(s, ws, NULL, &err), -ENOENT);

    sy_store_route_minute_t m = minute_row(ws, "r", 1, "d");
    m.hist = NULL;
    assert_true(sy_store_route_minute_add(s, &m, &err) < 0);
    m = minute_row(ws, "r", 1, "d");
    m.total_ms = NAN; /* stored as NULL: refused */
    assert_true(sy_store_route_minute_add(s, &m, &err) < 0);
    m = minute_row(none, "r", 1, "d");
    assert_true(sy_store_route_minute_add(s, &m, &err) < 0);
    assert_int_equal(minute_count(s, ws, "r"), 0);
    fx_store_close(s);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flags_are_created_replaced_and_listed_by_key_bytes),
        cmocka_unit_test(a_flag_is_deleted_once_and_a_clear_takes_every_flag),
        cmocka_unit_test(flag_set_is_empty_json_until_set_then_replaced),
        cmocka_unit_test(flag_workspaces_are_those_with_a_flag_or_a_flag_set),
        cmocka_unit_test(rollback_leaves_nothing),
        cmocka_unit_test(every_write_lands_with_its_transaction_or_not_at_all),
        cmocka_unit_test(every_row_is_scoped_by_workspace),
        cmocka_unit_test(a_second_workspace_sees_and_changes_nothing_of_the_first),
        cmocka_unit_test(audit_lists_newest_first_by_resource_action_time_and_cursor),
        cmocka_unit_test(audit_prefix_filter_takes_keys_literally),
        cmocka_unit_test(audit_prefix_filter_takes_every_wildcard_literally),
        cmocka_unit_test(audit_prune_takes_the_oldest_of_every_workspace_up_to_the_limit_in_all),
        cmocka_unit_test(a_prune_failing_at_any_statement_deletes_nothing),
        cmocka_unit_test(settings_are_replaced_by_name_and_listed_for_every_workspace),
        cmocka_unit_test(a_setting_deleted_is_gone_from_its_workspace_only),
        cmocka_unit_test(settings_of_every_workspace_are_read_in_one_snapshot),
        cmocka_unit_test(routes_keep_their_id_when_replaced_and_list_by_id_across_workspaces),
        cmocka_unit_test(route_minutes_append_list_from_a_minute_and_prune_every_workspace),
        cmocka_unit_test(odd_values_come_back_exactly),
        cmocka_unit_test(a_null_text_or_an_unknown_workspace_is_refused_and_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
