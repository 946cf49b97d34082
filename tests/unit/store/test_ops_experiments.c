/* test_ops_experiments.c - store.h's experiments, arms, SRM p, allocation changes, checkpoints,
 * timelines and retention numbers, on SQLite and (tests/integration/pg_unit.sh) on PostgreSQL:
 * store_fixture.h. */
#include "store_fixture.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>

/* ---- collectors -------------------------------------------------------------------------- */

#define MAX_ROWS 16

struct experiments {
    int n;
    int64_t id[MAX_ROWS], ws[MAX_ROWS], started[MAX_ROWS];
    char key[MAX_ROWS][64], state[MAX_ROWS][16];
    bool before_null[MAX_ROWS], weights_null[MAX_ROWS];
    size_t definition_len[MAX_ROWS];
};

static int keep_experiment(void *arg, const sy_store_experiment_t *e)
{
    struct experiments *x = arg;
    if (x->n == MAX_ROWS)
        return -ENOSPC;
    x->id[x->n] = e->id;
    x->ws[x->n] = e->workspace;
    x->started[x->n] = e->started_ms;
    snprintf(x->key[x->n], sizeof(x->key[0]), "%s", e->key);
    snprintf(x->state[x->n], sizeof(x->state[0]), "%s", e->state);
    x->before_null[x->n] = e->flag_before == NULL;
    x->weights_null[x->n] = e->weights == NULL;
    x->definition_len[x->n] = strlen(e->definition);
    x->n++;
    return 0;
}

static struct experiments experiments_of(sy_store_t *s, int64_t ws)
{
    struct experiments x = {0};
    sy_err_t err = {0};
    assert_int_equal(sy_store_experiment_list(s, ws, keep_experiment, &x, &err), 0);
    return x;
}

struct arms {
    int n;
    sy_store_arm_t a[MAX_ROWS];
    char variant[MAX_ROWS][32];
};

static int keep_arm(void *arg, const sy_store_arm_t *a)
{
    struct arms *x = arg;
    if (x->n == MAX_ROWS)
        return -ENOSPC;
    x->a[x->n] = *a;
    snprintf(x->variant[x->n], sizeof(x->variant[0]), "%s", a->variant);
    x->a[x->n].variant = x->variant[x->n];
    x->n++;
    return 0;
}

static struct arms arms_of(sy_store_t *s, int64_t experiment)
{
    struct arms x = {0};
    assert_int_equal(sy_store_arm_list(s, experiment, keep_arm, &x, NULL), 0);
    return x;
}

struct srms {
    int n;
    int64_t experiment[MAX_ROWS];
    double p[MAX_ROWS];
};

static int keep_srm(void *arg, int64_t experiment, double p)
{
    struct srms *x = arg;
    if (x->n == MAX_ROWS)
        return -ENOSPC;
    x->experiment[x->n] = experiment;
    x->p[x->n++] = p;
    return 0;
}

struct changes {
    int n;
    sy_store_change_t c[MAX_ROWS];
    char detail[MAX_ROWS][64];
};

static int keep_change(void *arg, const sy_store_change_t *c)
{
    struct changes *x = arg;
    if (x->n == MAX_ROWS)
        return -ENOSPC;
    x->c[x->n] = *c;
    snprintf(x->detail[x->n], sizeof(x->detail[0]), "%s", c->detail);
    x->c[x->n].action = x->c[x->n].actor = x->c[x->n].before = x->c[x->n].after = NULL;
    x->c[x->n].detail = x->detail[x->n];
    x->n++;
    return 0;
}

static struct changes changes_of(sy_store_t *s, int64_t experiment)
{
    struct changes x = {0};
    assert_int_equal(sy_store_change_list(s, experiment, keep_change, &x, NULL), 0);
    return x;
}

struct checkpoints {
    int n;
    int64_t experiment[MAX_ROWS], seq[MAX_ROWS];
    size_t len[MAX_ROWS];
    unsigned char *data[MAX_ROWS]; /* owned */
};

static int keep_checkpoint(void *arg, int64_t experiment, int64_t seq, const void *data, size_t len)
{
    struct checkpoints *x = arg;
    if (x->n == MAX_ROWS)
        return -ENOSPC;
    assert_non_null(data);
    x->experiment[x->n] = experiment;
    x->seq[x->n] = seq;
    x->len[x->n] = len;
    x->data[x->n] = malloc(len + 1);
    assert_non_null(x->data[x->n]);
    memcpy(x->data[x->n], data, len);
    x->n++;
    return 0;
}

static void checkpoints_free(struct checkpoints *x)
{
    for (int i = 0; i < x->n; i++)
        free(x->data[i]);
    x->n = 0;
}

struct points {
    int n;
    int64_t at[MAX_ROWS];
    char point[MAX_ROWS][32];
    int stop_after; /* > 0: the n-th row returns 7 */
};

static int keep_point(void *arg, int64_t at_ms, const char *point)
{
    struct points *x = arg;
    if (x->n == MAX_ROWS)
        return -ENOSPC;
    x->at[x->n] = at_ms;
    snprintf(x->point[x->n], sizeof(x->point[0]), "%s", point);
    x->n++;
    return x->stop_after > 0 && x->n == x->stop_after ? 7 : 0;
}

static struct points points_of(sy_store_t *s, int64_t experiment, int64_t since, int64_t until,
                               int64_t limit)
{
    struct points x = {0};
    assert_int_equal(
        sy_store_timeline_list(s, experiment, since, until, limit, keep_point, &x, NULL), 0);
    return x;
}

static int stop_at_first_experiment(void *arg, const sy_store_experiment_t *e)
{
    (void)e;
    (*(int *)arg)++;
    return 5;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static int64_t workspace(sy_store_t *s, const char *name)
{
    int64_t id;
    sy_err_t err = {0};
    assert_int_equal(sy_store_workspace_create(s, name, 1, &id, &err), 0);
    return id;
}

static sy_store_experiment_t draft(int64_t ws, const char *key)
{
    return (sy_store_experiment_t){.workspace = ws,
                                   .key = key,
                                   .flag_key = "flag",
                                   .definition = "{\"variants\":[\"a\",\"b\"]}",
                                   .state = "draft",
                                   .created_ms = 100};
}

static int64_t experiment(sy_store_t *s, int64_t ws, const char *key)
{
    sy_store_experiment_t e = draft(ws, key);
    int64_t id = 0;
    sy_err_t err = {0};
    assert_int_equal(sy_store_experiment_put(s, &e, &id, &err), 0);
    assert_true(id > 0);
    return id;
}

static sy_store_arm_t arm(int64_t experiment, const char *variant, int64_t units)
{
    return (sy_store_arm_t){.experiment = experiment,
                            .variant = variant,
                            .units = units,
                            .conversions = units / 2,
                            .value_mean = 1.5,
                            .value_sd = 0.5,
                            .seq_p = 1,
                            .latency_n = 3,
                            .latency_mean = 12.25,
                            .latency_sd = 2};
}

static sy_store_change_t change(int64_t ws, int64_t experiment, int64_t at, const char *detail)
{
    return (sy_store_change_t){.workspace = ws,
                               .experiment = experiment,
                               .at_ms = at,
                               .action = "step",
                               .actor = "system",
                               .before = "{\"a\":5000,\"b\":5000}",
                               .after = "{\"a\":2500,\"b\":7500}",
                               .detail = detail};
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* ---- experiments ------------------------------------------------------------------------- */

static void experiments_are_keyed_per_workspace_and_updated_in_place(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t x = experiment(s, a, "checkout");
    sy_store_experiment_t e = draft(a, "checkout");
    int64_t id = 0;
    assert_int_equal(sy_store_experiment_put(s, &e, &id, &err), -EEXIST);
    assert_string_equal(err.field, "key");
    int64_t y = experiment(s, b, "checkout"); /* the same key in another workspace */
    assert_true(y > x);
    e = draft(999, "nowhere");
    assert_int_equal(sy_store_experiment_put(s, &e, &id, &err), -EEXIST); /* no workspace 999 */
    assert_string_equal(err.field, "key");

    e = draft(a, "checkout");
    e.id = x;
    e.state = "running";
    e.definition = "{\"v\":2}";
    e.started_ms = 200;
    e.flag_before = "{\"state\":\"ENABLED\"}";
    e.weights = "{\"a\":1,\"b\":9999}";
    id = 0;
    assert_int_equal(sy_store_experiment_put(s, &e, &id, &err), 0);
    assert_int_equal(id, x);
    e.id = 12345;
    assert_int_equal(sy_store_experiment_put(s, &e, &id, &err), -ENOENT);
    assert_string_equal(err.field, "key");

    struct experiments l = experiments_of(s, a);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.id[0], x);
    assert_int_equal(l.ws[0], a);
    assert_string_equal(l.state[0], "running");
    assert_int_equal(l.started[0], 200);
    assert_false(l.before_null[0]);
    assert_false(l.weights_null[0]);
    l = experiments_of(s, b);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.id[0], y);
    assert_true(l.before_null[0]); /* NULLs stay NULL */
    assert_true(l.weights_null[0]);
    assert_int_equal(experiments_of(s, 777).n, 0);

    sy_store_close(s);
    s = fx_store_open_again(); /* durable */
    assert_int_equal(experiments_of(s, a).n, 1);
    fx_store_close(s);
}

static void every_workspaces_experiments_are_listed_by_id(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t x1 = experiment(s, b, "one"), x2 = experiment(s, a, "two"),
            x3 = experiment(s, b, "three");
    struct experiments l = experiments_of(s, -1);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.id[0], x1);
    assert_int_equal(l.ws[0], b);
    assert_int_equal(l.id[1], x2);
    assert_int_equal(l.ws[1], a);
    assert_int_equal(l.id[2], x3);
    int calls = 0;
    assert_int_equal(sy_store_experiment_list(s, -1, stop_at_first_experiment, &calls, NULL), 5);
    assert_int_equal(calls, 1);
    fx_store_close(s);
}

static void experiment_text_keeps_utf8_quotes_and_a_megabyte(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a");
    size_t big = 1 << 20;
    char *def = malloc(big + 1);
    assert_non_null(def);
    def[0] = '"';
    for (size_t i = 1; i < big; i++)
        def[i] = (char)('a' + i % 26);
    def[big] = '\0';
    sy_store_experiment_t e = draft(a, "k'\"\\ é€😀 ;--");
    e.definition = def;
    int64_t id;
    assert_int_equal(sy_store_experiment_put(s, &e, &id, NULL), 0);
    struct experiments l = experiments_of(s, a);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.key[0], "k'\"\\ é€😀 ;--");
    assert_int_equal(l.definition_len[0], big);
    free(def);
    fx_store_close(s);
}

static void an_experiment_with_a_null_column_is_refused_and_unchanged(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a = workspace(s, "a");
    sy_store_experiment_t e = draft(a, "k");
    e.flag_key = NULL;
    int64_t id;
    assert_int_equal(sy_store_experiment_put(s, &e, &id, &err), -EEXIST);
    assert_string_equal(err.field, "key");
    int64_t x = experiment(s, a, "k");
    e = draft(a, "k");
    e.id = x;
    e.state = NULL;
    assert_int_equal(sy_store_experiment_put(s, &e, &id, &err), -EEXIST); /* NOT NULL */
    e.id = x + 100;
    assert_int_equal(sy_store_experiment_put(s, &e, &id, &err), -ENOENT); /* nothing to fail */
    struct experiments l = experiments_of(s, a);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.state[0], "draft");
    fx_store_close(s);
}

/* ---- arms and SRM ------------------------------------------------------------------------ */

static void arms_round_trip_their_doubles_bit_exactly(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t x = experiment(s, workspace(s, "a"), "k");
    const double values[][5] = {
        {0.1, 1.0 / 3, 1e-300, DBL_MAX, 4.9406564584124654e-324},
        {-DBL_MAX, DBL_MIN, 2.0 / 3, 123456789.123456789, 1e300},
        {M_PI, -1e-310, 0.30000000000000004, 1 - DBL_EPSILON, INFINITY},
    };
    for (size_t i = 0; i < 3; i++) {
        char v[8];
        snprintf(v, sizeof(v), "v%zu", i);
        sy_store_arm_t w = arm(x, v, INT64_MAX - (int64_t)i);
        w.value_mean = values[i][0];
        w.value_sd = values[i][1];
        w.seq_p = values[i][2];
        w.latency_mean = values[i][3];
        w.latency_sd = values[i][4];
        w.errors = INT64_MIN;
        assert_int_equal(sy_store_arm_put(s, &w, NULL), 0);
    }
    struct arms l = arms_of(s, x);
    assert_int_equal(l.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(l.a[i].units, INT64_MAX - i);
        assert_int_equal(l.a[i].errors, INT64_MIN);
        assert_true(same_bits(l.a[i].value_mean, values[i][0]));
        assert_true(same_bits(l.a[i].value_sd, values[i][1]));
        assert_true(same_bits(l.a[i].seq_p, values[i][2]));
        assert_true(same_bits(l.a[i].latency_mean, values[i][3]));
        assert_true(same_bits(l.a[i].latency_sd, values[i][4]));
    }
    /* -0.0: SQLite stores it as 0, and PostgreSQL is made to agree */
    sy_store_arm_t w = arm(x, "v0", 1);
    w.value_mean = -0.0;
    assert_int_equal(sy_store_arm_put(s, &w, NULL), 0);
    l = arms_of(s, x);
    assert_true(same_bits(l.a[0].value_mean, 0.0));
    fx_store_close(s);
}

static void arms_are_replaced_and_listed_by_experiment_then_variant(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t x = experiment(s, a, "x"), y = experiment(s, b, "y"), z = experiment(s, a, "z");
    const char *order[] = {"b", "a", "B", "é"};
    for (int i = 0; i < 4; i++) {
        sy_store_arm_t w = arm(z, order[i], i);
        assert_int_equal(sy_store_arm_put(s, &w, &err), 0);
    }
    sy_store_arm_t w = arm(y, "a", 1);
    assert_int_equal(sy_store_arm_put(s, &w, &err), 0);
    w = arm(x, "only", 1);
    assert_int_equal(sy_store_arm_put(s, &w, &err), 0);
    w = arm(x, "only", 42); /* replaced */
    w.seq_p = 0.25;
    assert_int_equal(sy_store_arm_put(s, &w, &err), 0);

    struct arms l = arms_of(s, -1);
    assert_int_equal(l.n, 6);
    assert_int_equal(l.a[0].experiment, x);
    assert_int_equal(l.a[0].units, 42);
    assert_true(l.a[0].seq_p == 0.25);
    assert_int_equal(l.a[1].experiment, y);
    const char *bytewise[] = {"B", "a", "b", "é"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(l.a[2 + i].experiment, z);
        assert_string_equal(l.variant[2 + i], bytewise[i]);
    }
    l = arms_of(s, z);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.variant[0], "B");
    assert_int_equal(arms_of(s, 9999).n, 0); /* no such experiment: no rows */

    w = arm(9999, "a", 1);
    assert_int_equal(sy_store_arm_put(s, &w, &err), -EIO); /* the foreign key */
    w = arm(x, NULL, 1);
    assert_int_equal(sy_store_arm_put(s, &w, &err), -EIO); /* NOT NULL */
    w = arm(x, "nan", 1);
    w.value_sd = NAN; /* SQLite binds it as NULL */
    assert_int_equal(sy_store_arm_put(s, &w, &err), -EIO);
    assert_int_equal(arms_of(s, x).n, 1);
    fx_store_close(s);
}

static void srm_p_is_replaced_and_listed_for_every_experiment(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t x = experiment(s, b, "x"), y = experiment(s, a, "y");
    assert_int_equal(sy_store_srm_put(s, y, 0.5, &err), 0);
    assert_int_equal(sy_store_srm_put(s, x, 1.0 / 3, &err), 0);
    assert_int_equal(sy_store_srm_put(s, y, 1e-300, &err), 0); /* replaced */
    assert_int_equal(sy_store_srm_put(s, 4242, 0.5, &err), -EIO);
    assert_int_equal(sy_store_srm_put(s, x, NAN, &err), -EIO);
    struct srms l = {0};
    assert_int_equal(sy_store_srm_list(s, keep_srm, &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.experiment[0], x);
    assert_true(same_bits(l.p[0], 1.0 / 3));
    assert_int_equal(l.experiment[1], y);
    assert_true(same_bits(l.p[1], 1e-300));
    fx_store_close(s);
}

/* ---- allocation changes ------------------------------------------------------------------ */

static void changes_are_appended_and_listed_oldest_first(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t x = experiment(s, a, "x"), y = experiment(s, b, "y");
    int64_t ids[3];
    sy_store_change_t c = change(a, x, 10, "{\"reason\":\"first\"}");
    assert_int_equal(sy_store_change_add(s, &c, &ids[0], &err), 0);
    c = change(b, y, 5, "{\"reason\":\"é \\\" '\"}");
    assert_int_equal(sy_store_change_add(s, &c, &ids[1], &err), 0);
    c = change(a, x, 1, "{}");
    assert_int_equal(sy_store_change_add(s, &c, &ids[2], &err), 0);
    assert_true(ids[0] < ids[1] && ids[1] < ids[2]);

    struct changes l = changes_of(s, x);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.c[0].id, ids[0]);
    assert_int_equal(l.c[0].workspace, a);
    assert_int_equal(l.c[0].at_ms, 10);
    assert_string_equal(l.detail[0], "{\"reason\":\"first\"}");
    assert_int_equal(l.c[1].id, ids[2]);
    l = changes_of(s, -1);
    assert_int_equal(l.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(l.c[i].id, ids[i]);
    assert_string_equal(l.detail[1], "{\"reason\":\"é \\\" '\"}");
    assert_int_equal(l.c[1].experiment, y);
    assert_int_equal(changes_of(s, 5555).n, 0);

    int64_t id = 0;
    c = change(a, 5555, 1, "{}");
    assert_int_equal(sy_store_change_add(s, &c, &id, &err), -EEXIST); /* no such experiment */
    c = change(a, x, 1, "{}");
    c.actor = NULL;
    assert_int_equal(sy_store_change_add(s, &c, &id, &err), -EEXIST); /* NOT NULL */
    assert_int_equal(changes_of(s, -1).n, 3);
    fx_store_close(s);
}

/* Every field of the changes a read gives, copied. */
struct whole_changes {
    int n;
    sy_store_change_t c[MAX_ROWS];
    char text[MAX_ROWS][5][64]; /* action, actor, before, after, detail */
};

static int keep_whole_change(void *arg, const sy_store_change_t *c)
{
    struct whole_changes *x = arg;
    if (x->n == MAX_ROWS)
        return -ENOSPC;
    const char *from[5] = {c->action, c->actor, c->before, c->after, c->detail};
    for (int i = 0; i < 5; i++) {
        assert_non_null(from[i]);
        assert_true(strlen(from[i]) < sizeof(x->text[0][0]));
        snprintf(x->text[x->n][i], sizeof(x->text[0][0]), "%s", from[i]);
    }
    x->c[x->n] = *c;
    x->n++;
    return x->n == 3 && x->c[0].at_ms == -7 ? 9 : 0; /* a read told to stop at its 3rd */
}

/* sy_store_change_after: every workspace's changes after an id, in the order of ids, each
 * field as written; in a transaction it sees the transaction's own, gone after a rollback. */
static void changes_after_an_id_are_every_workspaces_in_order(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t x = experiment(s, a, "x"), y = experiment(s, b, "y");
    const char *detail[4] = {"{\"reason\":\"é \\\" '\"}", "{}", "{\"n\":1}", "{\"n\":2}"};
    int64_t ids[4], ws[4] = {b, a, a, b}, exp[4] = {y, x, x, y};
    for (int i = 0; i < 4; i++) {
        sy_store_change_t c = change(ws[i], exp[i], 100 - i, detail[i]);
        if (i == 2) {
            c.action = "promote";
            c.actor = "tök'en";
            c.before = "{\"a\":0}";
            c.after = "{\"b\":10000}";
        }
        assert_int_equal(sy_store_change_add(s, &c, &ids[i], &err), 0);
    }
    struct whole_changes l = {0};
    assert_int_equal(sy_store_change_after(s, 0, keep_whole_change, &l, &err), 0);
    assert_int_equal(l.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(l.c[i].id, ids[i]);
        assert_int_equal(l.c[i].workspace, ws[i]);
        assert_int_equal(l.c[i].experiment, exp[i]);
        assert_int_equal(l.c[i].at_ms, 100 - i);
        assert_string_equal(l.text[i][0], i == 2 ? "promote" : "step");
        assert_string_equal(l.text[i][1], i == 2 ? "tök'en" : "system");
        assert_string_equal(l.text[i][2], i == 2 ? "{\"a\":0}" : "{\"a\":5000,\"b\":5000}");
        assert_string_equal(l.text[i][3], i == 2 ? "{\"b\":10000}" : "{\"a\":2500,\"b\":7500}");
        assert_string_equal(l.text[i][4], detail[i]);
    }
    l = (struct whole_changes){0};
    assert_int_equal(sy_store_change_after(s, ids[1], keep_whole_change, &l, &err), 0);
    assert_int_equal(l.n, 2); /* `after` is exclusive */
    assert_int_equal(l.c[0].id, ids[2]);
    assert_int_equal(l.c[1].id, ids[3]);
    assert_int_equal(l.c[1].workspace, b);
    l = (struct whole_changes){0};
    assert_int_equal(sy_store_change_after(s, ids[3], keep_whole_change, &l, &err), 0);
    assert_int_equal(l.n, 0);

    assert_int_equal(sy_store_begin(s, &err), 0);
    int64_t inside = 0;
    sy_store_change_t c = change(a, x, -7, "{}");
    assert_int_equal(sy_store_change_add(s, &c, &inside, &err), 0);
    c = change(b, y, -7, "{}");
    assert_int_equal(sy_store_change_add(s, &c, &inside, &err), 0);
    l = (struct whole_changes){0};
    assert_int_equal(sy_store_change_after(s, ids[3], keep_whole_change, &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.c[1].id, inside);
    assert_int_equal(l.c[1].workspace, b);
    sy_store_rollback(s);
    l = (struct whole_changes){0};
    assert_int_equal(sy_store_change_after(s, ids[3], keep_whole_change, &l, &err), 0);
    assert_int_equal(l.n, 0);

    /* the callback's code stops the read and is returned */
    for (int i = 0; i < 3; i++) {
        c = change(i % 2 ? b : a, i % 2 ? y : x, -7, "{}");
        assert_int_equal(sy_store_change_add(s, &c, &inside, &err), 0);
    }
    l = (struct whole_changes){0};
    assert_int_equal(sy_store_change_after(s, ids[3], keep_whole_change, &l, &err), 9);
    assert_int_equal(l.n, 3);
    fx_store_close(s);
}

/* ---- checkpoints ------------------------------------------------------------------------- */

static void checkpoints_keep_every_byte_and_are_replaced(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t x = experiment(s, b, "x"), y = experiment(s, a, "y"), z = experiment(s, a, "z");
    unsigned char bytes[512];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)(i % 256); /* NUL first, every value twice */
    size_t big = 1 << 20;
    unsigned char *mb = malloc(big);
    assert_non_null(mb);
    for (size_t i = 0; i < big; i++)
        mb[i] = (unsigned char)((i * 7919) >> 3);
    assert_int_equal(sy_store_checkpoint_put(s, y, 5, "old", 3, &err), 0);
    assert_int_equal(sy_store_checkpoint_put(s, y, INT64_MAX, bytes, sizeof(bytes), &err), 0);
    assert_int_equal(sy_store_checkpoint_put(s, x, 7, mb, big, &err), 0);
    assert_int_equal(sy_store_checkpoint_put(s, z, 0, "", 0, &err), 0); /* empty */
    assert_int_equal(sy_store_checkpoint_put(s, 8888, 1, "x", 1, &err), -EEXIST);
    assert_int_equal(sy_store_checkpoint_put(s, y, 1, NULL, 0, &err), -EEXIST); /* NOT NULL */

    int64_t n = -1;
    assert_int_equal(sy_store_checkpoint_count(s, &n, &err), 0);
    assert_int_equal(n, 3);
    struct checkpoints l = {0};
    assert_int_equal(sy_store_checkpoint_list(s, keep_checkpoint, &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.experiment[0], x); /* by experiment, whatever the workspace */
    assert_int_equal(l.seq[0], 7);
    assert_int_equal(l.len[0], big);
    assert_memory_equal(l.data[0], mb, big);
    assert_int_equal(l.experiment[1], y);
    assert_int_equal(l.seq[1], INT64_MAX);
    assert_int_equal(l.len[1], sizeof(bytes));
    assert_memory_equal(l.data[1], bytes, sizeof(bytes));
    assert_int_equal(l.experiment[2], z);
    assert_int_equal(l.len[2], 0);
    checkpoints_free(&l);

    bool found = false;
    assert_int_equal(sy_store_checkpoint_get(s, y, keep_checkpoint, &l, &found, &err), 0);
    assert_true(found);
    assert_int_equal(l.n, 1);
    assert_memory_equal(l.data[0], bytes, sizeof(bytes));
    checkpoints_free(&l);
    found = true;
    assert_int_equal(sy_store_checkpoint_get(s, 8888, keep_checkpoint, &l, &found, &err), 0);
    assert_false(found);
    int64_t w = experiment(s, a, "w");
    found = true;
    assert_int_equal(sy_store_checkpoint_get(s, w, keep_checkpoint, &l, &found, &err), 0);
    assert_false(found);
    assert_int_equal(l.n, 0);
    free(mb);
    fx_store_close(s);
}

/* ---- timelines --------------------------------------------------------------------------- */

static void timeline_points_are_kept_or_replaced_and_listed_in_a_window(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t x = experiment(s, workspace(s, "a"), "x");
    for (int64_t at = 50; at >= 10; at -= 10)
        assert_int_equal(sy_store_timeline_put(s, x, at, "{\"p\":1}", false, &err), 0);
    assert_int_equal(sy_store_timeline_put(s, x, 30, "{\"kept\":0}", false, &err), 0);
    assert_int_equal(sy_store_timeline_put(s, x, 40, "{\"new\":\"é\"}", true, &err), 0);
    assert_int_equal(sy_store_timeline_put(s, 7777, 1, "{}", false, &err), -EEXIST);
    assert_int_equal(sy_store_timeline_put(s, x, 60, NULL, false, &err), 0); /* dropped */
    assert_int_equal(sy_store_timeline_put(s, x, 60, NULL, true, &err), -EEXIST);

    struct points l = points_of(s, x, 20, 40, 100);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.at[0], 20);
    assert_string_equal(l.point[1], "{\"p\":1}");
    assert_int_equal(l.at[2], 40);
    assert_string_equal(l.point[2], "{\"new\":\"é\"}");
    l = points_of(s, x, INT64_MIN, INT64_MAX, 2);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.at[1], 20);
    assert_int_equal(points_of(s, x, INT64_MIN, INT64_MAX, -1).n, 5); /* no limit */
    assert_int_equal(points_of(s, x, INT64_MIN, INT64_MAX, 0).n, 0);
    assert_int_equal(points_of(s, 7777, INT64_MIN, INT64_MAX, 10).n, 0);
    struct points stop = {.stop_after = 2};
    assert_int_equal(sy_store_timeline_list(s, x, 0, 100, 10, keep_point, &stop, &err), 7);
    assert_int_equal(stop.n, 2);
    fx_store_close(s);
}

static void a_timeline_prune_takes_the_oldest_points_of_every_workspace(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t x = experiment(s, workspace(s, "a"), "x");
    int64_t y = experiment(s, workspace(s, "b"), "y");
    const int64_t xs[] = {10, 40, 70, 100}, ys[] = {20, 30, 80, 90};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sy_store_timeline_put(s, x, xs[i], "{}", false, &err), 0);
        assert_int_equal(sy_store_timeline_put(s, y, ys[i], "{}", false, &err), 0);
    }
    int64_t n = -1;
    assert_int_equal(sy_store_timeline_prune(s, 85, 0, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sy_store_timeline_prune(s, 85, 3, &n, &err), 0); /* 10, 20, 30 */
    assert_int_equal(n, 3);
    struct points l = points_of(s, x, INT64_MIN, INT64_MAX, -1);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.at[0], 40);
    l = points_of(s, y, INT64_MIN, INT64_MAX, -1);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.at[0], 80);
    assert_int_equal(sy_store_timeline_prune(s, 85, 100, &n, &err), 0); /* 40, 70, 80 */
    assert_int_equal(n, 3);
    assert_int_equal(sy_store_timeline_prune(s, 1000, -1, &n, &err), 0); /* 90, 100 */
    assert_int_equal(n, 2);
    assert_int_equal(points_of(s, x, INT64_MIN, INT64_MAX, -1).n, 0);
    assert_int_equal(points_of(s, y, INT64_MIN, INT64_MAX, -1).n, 0);
    fx_store_close(s);
}

/* ---- retention numbers ------------------------------------------------------------------- */

static void retention_numbers_start_at_zero_and_are_replaced(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t v = -1;
    assert_int_equal(sy_store_retention_get(s, "events_pruned", &v, &err), 0);
    assert_int_equal(v, 0);
    assert_int_equal(sy_store_retention_put(s, "events_pruned", 5, &err), 0);
    assert_int_equal(sy_store_retention_put(s, "events_pruned", INT64_MAX, &err), 0);
    assert_int_equal(sy_store_retention_put(s, "é'\"", INT64_MIN, &err), 0);
    assert_int_equal(sy_store_retention_get(s, "events_pruned", &v, &err), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(sy_store_retention_get(s, "é'\"", &v, &err), 0);
    assert_int_equal(v, INT64_MIN);
    assert_int_equal(sy_store_retention_put(s, NULL, 3, &err), 0);
    v = -1;
    assert_int_equal(sy_store_retention_get(s, NULL, &v, &err), 0);
    assert_int_equal(v, 0);
    sy_store_close(s);
    s = fx_store_open_again();
    assert_int_equal(sy_store_retention_get(s, "events_pruned", &v, &err), 0);
    assert_int_equal(v, INT64_MAX);
    fx_store_close(s);
}

/* ---- transactions and workspaces --------------------------------------------------------- */

static void a_rollback_leaves_nothing_and_the_handle_goes_on(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a = workspace(s, "a");
    int64_t kept = experiment(s, a, "kept");
    assert_int_equal(sy_store_begin(s, &err), 0);
    int64_t x = experiment(s, a, "gone");
    sy_store_arm_t w = arm(x, "a", 1);
    assert_int_equal(sy_store_arm_put(s, &w, &err), 0);
    w = arm(kept, "a", 1);
    assert_int_equal(sy_store_arm_put(s, &w, &err), 0);
    assert_int_equal(sy_store_srm_put(s, kept, 0.5, &err), 0);
    int64_t id;
    sy_store_change_t c = change(a, kept, 1, "{}");
    assert_int_equal(sy_store_change_add(s, &c, &id, &err), 0);
    assert_int_equal(sy_store_checkpoint_put(s, kept, 1, "abc", 3, &err), 0);
    assert_int_equal(sy_store_timeline_put(s, kept, 1, "{}", true, &err), 0);
    assert_int_equal(sy_store_retention_put(s, "checkpoints", 1, &err), 0);
    assert_int_equal(experiments_of(s, a).n, 2); /* seen inside */
    assert_int_equal(arms_of(s, -1).n, 2);
    sy_store_rollback(s);

    assert_int_equal(experiments_of(s, -1).n, 1);
    assert_int_equal(arms_of(s, -1).n, 0);
    struct srms srm = {0};
    assert_int_equal(sy_store_srm_list(s, keep_srm, &srm, &err), 0);
    assert_int_equal(srm.n, 0);
    assert_int_equal(changes_of(s, -1).n, 0);
    int64_t n = -1;
    assert_int_equal(sy_store_checkpoint_count(s, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(points_of(s, kept, INT64_MIN, INT64_MAX, -1).n, 0);
    int64_t v = -1;
    assert_int_equal(sy_store_retention_get(s, "checkpoints", &v, &err), 0);
    assert_int_equal(v, 0);

    /* the experiment whose insert was rolled back is no one's, though the handle saw it */
    w = arm(x, "a", 1);
    assert_int_equal(sy_store_arm_put(s, &w, &err), -EIO);
    assert_int_equal(sy_store_srm_put(s, x, 0.5, &err), -EIO);
    assert_int_equal(sy_store_checkpoint_put(s, x, 1, "abc", 3, &err), -EEXIST);
    assert_int_equal(sy_store_timeline_put(s, x, 1, "{}", true, &err), -EEXIST);
    assert_int_equal(sy_store_timeline_put(s, x, 1, "{}", false, &err), -EEXIST);
    c = change(a, x, 1, "{}");
    assert_int_equal(sy_store_change_add(s, &c, &id, &err), -EEXIST);
    assert_int_equal(arms_of(s, x).n, 0);
    bool found = true;
    struct checkpoints none = {0};
    assert_int_equal(sy_store_checkpoint_get(s, x, keep_checkpoint, &none, &found, &err), 0);
    assert_false(found);

    /* the same handle, in a transaction again, and committed */
    assert_int_equal(sy_store_begin(s, &err), 0);
    w = arm(kept, "b", 2);
    assert_int_equal(sy_store_arm_put(s, &w, &err), 0);
    assert_int_equal(sy_store_checkpoint_put(s, kept, 2, "de", 2, &err), 0);
    assert_int_equal(sy_store_commit(s, &err), 0);
    sy_store_close(s);
    s = fx_store_open_again();
    assert_int_equal(arms_of(s, kept).n, 1);
    assert_int_equal(sy_store_checkpoint_count(s, &n, &err), 0);
    assert_int_equal(n, 1);
    fx_store_close(s);
}

static void a_second_workspace_sees_and_changes_nothing_of_the_first(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t x = experiment(s, a, "x");
    sy_store_arm_t w = arm(x, "a", 1);
    assert_int_equal(sy_store_arm_put(s, &w, &err), 0);
    assert_int_equal(experiments_of(s, b).n, 0);
    sy_store_experiment_t e = draft(b, "x");
    e.id = x;
    e.state = "terminated";
    int64_t id;
    assert_int_equal(sy_store_experiment_put(s, &e, &id, &err), -ENOENT); /* not b's */
    assert_string_equal(experiments_of(s, a).state[0], "draft");

    /* A change naming b for a's experiment: SQLite's key is the experiment alone; PostgreSQL's
     * is (workspace, experiment), and refuses it as an unknown experiment. */
    sy_store_change_t c = change(b, x, 1, "{}");
    int rc = sy_store_change_add(s, &c, &id, &err);
    if (strcmp(fx_backend(), "postgres") == 0) {
        assert_int_equal(rc, -EEXIST);
        assert_int_equal(changes_of(s, -1).n, 0);
    } else {
        assert_int_equal(rc, 0);
    }

    /* a second handle has learned nothing yet: it finds each experiment's workspace */
    sy_store_t *t = fx_store_open_again();
    assert_int_equal(arms_of(t, x).n, 1);
    w = arm(x, "b", 3);
    assert_int_equal(sy_store_arm_put(t, &w, &err), 0);
    assert_int_equal(sy_store_srm_put(t, x, 0.125, &err), 0);
    assert_int_equal(sy_store_timeline_put(t, x, 5, "{}", false, &err), 0);
    assert_int_equal(points_of(t, x, 0, 10, 10).n, 1);
    sy_store_close(t);
    assert_int_equal(arms_of(s, x).n, 2);
    fx_store_close(s);
}

static void an_injected_failure_at_any_statement_changes_nothing(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a = workspace(s, "a");
    int64_t x = experiment(s, a, "x");
    sy_store_arm_t w = arm(x, "a", 1);
    assert_int_equal(sy_store_arm_put(s, &w, &err), 0);
    assert_int_equal(sy_store_checkpoint_put(s, x, 1, "one", 3, &err), 0);
    int rc = -EIO;
    for (int64_t at = 1; rc == -EIO && at < 20; at++) {
        sy_store_fail_at(s, at);
        w = arm(x, "a", 2);
        rc = sy_store_arm_put(s, &w, &err);
        sy_store_fail_at(s, 0);
        struct arms l = arms_of(s, x);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.a[0].units, rc == 0 ? 2 : 1);
    }
    assert_int_equal(rc, 0);
    rc = -EIO;
    for (int64_t at = 1; rc == -EIO && at < 20; at++) {
        sy_store_fail_at(s, at);
        rc = sy_store_checkpoint_put(s, x, 2, "two", 3, &err);
        sy_store_fail_at(s, 0);
        struct checkpoints l = {0};
        bool found = false;
        assert_int_equal(sy_store_checkpoint_get(s, x, keep_checkpoint, &l, &found, &err), 0);
        assert_int_equal(l.seq[0], rc == 0 ? 2 : 1);
        checkpoints_free(&l);
    }
    assert_int_equal(rc, 0);
    rc = -EIO;
    int64_t id = 0;
    for (int64_t at = 1; rc == -EIO && at < 20; at++) {
        sy_store_fail_at(s, at);
        sy_store_experiment_t e = draft(a, "y");
        rc = sy_store_experiment_put(s, &e, &id, &err);
        sy_store_fail_at(s, 0);
        assert_int_equal(experiments_of(s, -1).n, rc == 0 ? 2 : 1);
    }
    assert_int_equal(rc, 0);
    fx_store_close(s);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(experiments_are_keyed_per_workspace_and_updated_in_place),
        cmocka_unit_test(every_workspaces_experiments_are_listed_by_id),
        cmocka_unit_test(experiment_text_keeps_utf8_quotes_and_a_megabyte),
        cmocka_unit_test(an_experiment_with_a_null_column_is_refused_and_unchanged),
        cmocka_unit_test(arms_round_trip_their_doubles_bit_exactly),
        cmocka_unit_test(arms_are_replaced_and_listed_by_experiment_then_variant),
        cmocka_unit_test(srm_p_is_replaced_and_listed_for_every_experiment),
        cmocka_unit_test(changes_are_appended_and_listed_oldest_first),
        cmocka_unit_test(changes_after_an_id_are_every_workspaces_in_order),
        cmocka_unit_test(checkpoints_keep_every_byte_and_are_replaced),
        cmocka_unit_test(timeline_points_are_kept_or_replaced_and_listed_in_a_window),
        cmocka_unit_test(a_timeline_prune_takes_the_oldest_points_of_every_workspace),
        cmocka_unit_test(retention_numbers_start_at_zero_and_are_replaced),
        cmocka_unit_test(a_rollback_leaves_nothing_and_the_handle_goes_on),
        cmocka_unit_test(a_second_workspace_sees_and_changes_nothing_of_the_first),
        cmocka_unit_test(an_injected_failure_at_any_statement_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
