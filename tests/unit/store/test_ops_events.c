/* test_ops_events.c - store.h's event log (its order across nodes too: sy_store_log_lock, log_hold,
 * log_after, begin_read), KPI events and regression tripwires, on SQLite and
 * (tests/integration/pg_unit.sh) on PostgreSQL: store_fixture.h. A test that needs an
 * operation of another group (experiments, retention marks) skips when that backend does
 * not have it yet. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "store_fixture.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static int64_t workspace(sy_store_t *s, const char *name)
{
    int64_t id;
    assert_int_equal(sy_store_workspace_create(s, name, 1, &id, NULL), 0);
    return id;
}

/* Appends an event of `ws`/`exp` for `unit` (client id `id` or NULL) at `at_ms`; its place. */
static int64_t add(sy_store_t *s, int64_t ws, int64_t exp, const char *id, const char *unit,
                   int64_t at_ms)
{
    sy_store_event_t e = {.workspace = ws,
                          .experiment = exp,
                          .id = id,
                          .id_len = id ? strlen(id) : 0,
                          .kind = "exposure",
                          .unit = unit,
                          .unit_len = strlen(unit),
                          .variant = "on",
                          .variant_len = 2,
                          .success = -1,
                          .at_ms = at_ms};
    int64_t seq = -1;
    sy_err_t err = {0};
    if (sy_store_event_add(s, &e, &seq, &err) < 0)
        fail_msg("event_add: %s", err.msg);
    return seq;
}

/* A copy of the events a read gives, in the order given. */
#define KEEP_MAX 64
struct kept {
    size_t n;
    int stop_at; /* > 0: the callback returns 7 at that row (1-based) */
    struct {
        int64_t seq, workspace, experiment, at_ms;
        char kind[16], unit[64], variant[16];
        bool has_variant;
        int success;
        bool has_value, has_latency;
        double value, latency;
    } e[KEEP_MAX];
};

static int keep(void *arg, const sy_store_event_t *ev)
{
    struct kept *k = arg;
    assert_true(k->n < KEEP_MAX);
    k->e[k->n].seq = ev->seq;
    k->e[k->n].workspace = ev->workspace;
    k->e[k->n].experiment = ev->experiment;
    k->e[k->n].at_ms = ev->at_ms;
    snprintf(k->e[k->n].kind, sizeof(k->e[k->n].kind), "%s", ev->kind);
    assert_true(ev->unit_len < sizeof(k->e[k->n].unit));
    memcpy(k->e[k->n].unit, ev->unit, ev->unit_len);
    k->e[k->n].unit[ev->unit_len] = '\0';
    k->e[k->n].has_variant = ev->variant != NULL;
    if (ev->variant)
        snprintf(k->e[k->n].variant, sizeof(k->e[k->n].variant), "%.*s", (int)ev->variant_len,
                 ev->variant);
    k->e[k->n].success = ev->success;
    k->e[k->n].has_value = ev->has_value;
    k->e[k->n].value = ev->value;
    k->e[k->n].has_latency = ev->has_latency;
    k->e[k->n].latency = ev->latency_ms;
    k->n++;
    return k->stop_at > 0 && (int)k->n == k->stop_at ? 7 : 0;
}

static int count_events(void *arg, const sy_store_event_t *ev)
{
    (void)ev;
    (*(int64_t *)arg)++;
    return 0;
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* ---- the event log ----------------------------------------------------------------------- */

/* Places grow; an id already in the log of that experiment gives place 0 and writes
 * nothing; the same id in another experiment, or no id, is a new event. */
static void an_event_id_is_written_once_per_experiment(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    int64_t a = add(s, ws, 1, "e-1", "u1", 10);
    assert_true(a > 0);
    assert_int_equal(add(s, ws, 1, "e-1", "u2", 11), 0); /* a retry */
    int64_t b = add(s, ws, 2, "e-1", "u1", 12);          /* another experiment's */
    int64_t c = add(s, ws, 1, NULL, "u1", 13);
    int64_t d = add(s, ws, 1, NULL, "u1", 13); /* no id: always new */
    assert_true(a < b && b < c && c < d);
    int64_t last = 0, n = 0;
    assert_int_equal(sy_store_event_last(s, &last, NULL), 0);
    assert_int_equal(last, d);
    assert_int_equal(sy_store_event_count(s, 1, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_int_equal(sy_store_event_count(s, 2, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sy_store_event_count(s, 3, &n, NULL), 0);
    assert_int_equal(n, 0);
    struct kept k = {0};
    assert_int_equal(sy_store_event_list(s, keep, &k, NULL), 0);
    assert_int_equal(k.n, 4);
    assert_string_equal(k.e[0].unit, "u1"); /* the retry wrote nothing */
    fx_store_close(s);
}

static void an_empty_log_has_place_0_and_no_rows(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    workspace(s, "w");
    int64_t last = -1, n = -1;
    assert_int_equal(sy_store_event_last(s, &last, NULL), 0);
    assert_int_equal(last, 0);
    assert_int_equal(sy_store_event_count(s, 1, &n, NULL), 0);
    assert_int_equal(n, 0);
    struct kept k = {0};
    assert_int_equal(sy_store_event_list(s, keep, &k, NULL), 0);
    assert_int_equal(sy_store_event_range(s, -1, 0, INT64_MAX, keep, &k, NULL), 0);
    assert_int_equal(k.n, 0);
    int64_t *ids = (int64_t *)1;
    size_t n_ids = 9;
    assert_int_equal(sy_store_event_experiments(s, 0, INT64_MAX, &ids, &n_ids, NULL), 0);
    assert_null(ids);
    assert_int_equal(n_ids, 0);
    fx_store_close(s);
}

/* Every field comes back as written: NULLs as "not given", strings by their lengths. */
static void an_event_comes_back_field_by_field(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    const char unit[] = "üñí'\"\\;--xYYYY"; /* UTF-8, quotes; 13 bytes of it read */
    sy_store_event_t e = {.workspace = ws,
                          .experiment = 5,
                          .id = "idXXXX",
                          .id_len = 2, /* "id": never read past the length */
                          .kind = "outcome",
                          .unit = unit,
                          .unit_len = 13,
                          .variant = "treatmentZZZ",
                          .variant_len = 9,
                          .success = 1,
                          .has_value = true,
                          .value = 0.1,
                          .has_latency = true,
                          .latency_ms = 12.5,
                          .at_ms = INT64_MAX};
    int64_t seq;
    assert_int_equal(sy_store_event_add(s, &e, &seq, NULL), 0);
    assert_true(seq > 0);
    e.id = "id"; /* the same id, read by its length above */
    assert_int_equal(sy_store_event_add(s, &e, &seq, NULL), 0);
    assert_int_equal(seq, 0);
    sy_store_event_t bare = {.workspace = ws,
                             .experiment = 5,
                             .kind = "error",
                             .unit = "",
                             .unit_len = 0,
                             .success = 0,
                             .at_ms = INT64_MIN};
    assert_int_equal(sy_store_event_add(s, &bare, &seq, NULL), 0);
    bare.success = -1;
    assert_int_equal(sy_store_event_add(s, &bare, &seq, NULL), 0);
    struct kept k = {0};
    assert_int_equal(sy_store_event_list(s, keep, &k, NULL), 0);
    assert_int_equal(k.n, 3);
    assert_int_equal(k.e[0].workspace, ws);
    assert_int_equal(k.e[0].experiment, 5);
    assert_string_equal(k.e[0].kind, "outcome");
    assert_int_equal(strlen(k.e[0].unit), 13);
    assert_memory_equal(k.e[0].unit, unit, 13);
    assert_true(k.e[0].has_variant);
    assert_string_equal(k.e[0].variant, "treatment");
    assert_int_equal(k.e[0].success, 1);
    assert_true(k.e[0].has_value && same_bits(k.e[0].value, 0.1));
    assert_true(k.e[0].has_latency && same_bits(k.e[0].latency, 12.5));
    assert_true(k.e[0].at_ms == INT64_MAX);
    assert_string_equal(k.e[1].kind, "error");
    assert_string_equal(k.e[1].unit, "");
    assert_false(k.e[1].has_variant);
    assert_int_equal(k.e[1].success, 0);
    assert_false(k.e[1].has_value);
    assert_false(k.e[1].has_latency);
    assert_true(k.e[1].at_ms == INT64_MIN);
    assert_int_equal(k.e[2].success, -1);
    fx_store_close(s);
}

/* Values and latencies come back bit for bit, whatever their size. */
static void event_doubles_round_trip_exactly(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    const double v[] = {0.1,
                        1.0 / 3,
                        2.0 / 3,
                        3.141592653589793,
                        1e-300,
                        DBL_MAX,
                        -DBL_MAX,
                        DBL_MIN,
                        4.9406564584124654e-324,
                        1e15 + 0.3,
                        123456789.123456789,
                        -2.5e-10,
                        nextafter(1.0, 2.0),
                        INFINITY,
                        -INFINITY};
    const size_t n = sizeof(v) / sizeof(v[0]);
    for (size_t i = 0; i < n; i++) {
        sy_store_event_t e = {.workspace = ws,
                              .experiment = 1,
                              .kind = "outcome",
                              .unit = "u",
                              .unit_len = 1,
                              .success = -1,
                              .has_value = true,
                              .value = v[i],
                              .has_latency = true,
                              .latency_ms = v[n - 1 - i],
                              .at_ms = 1};
        int64_t seq;
        assert_int_equal(sy_store_event_add(s, &e, &seq, NULL), 0);
    }
    sy_store_event_t nan = {.workspace = ws,
                            .experiment = 1,
                            .kind = "outcome",
                            .unit = "u",
                            .unit_len = 1,
                            .success = -1,
                            .has_value = true,
                            .value = NAN,
                            .at_ms = 1};
    int64_t seq;
    assert_int_equal(sy_store_event_add(s, &nan, &seq, NULL), 0);
    struct kept k = {0};
    assert_int_equal(sy_store_event_list(s, keep, &k, NULL), 0);
    assert_int_equal(k.n, n + 1);
    for (size_t i = 0; i < n; i++) {
        if (!same_bits(k.e[i].value, v[i]) || !same_bits(k.e[i].latency, v[n - 1 - i]))
            fail_msg("value %zu: %.17g came back as %.17g, latency %.17g as %.17g", i, v[i],
                     k.e[i].value, v[n - 1 - i], k.e[i].latency);
    }
    assert_false(k.e[n].has_value); /* NaN is stored as no value, by both */
    fx_store_close(s);
}

/* A read that checks each event's unit against `want` (len bytes). */
struct whole {
    const char *want;
    size_t len;
    int rows;
};

static int check_whole(void *arg, const sy_store_event_t *ev)
{
    struct whole *w = arg;
    w->rows++;
    assert_int_equal(ev->unit_len, w->len);
    assert_memory_equal(ev->unit, w->want, w->len);
    return 0;
}

/* A unit of 1 MB is written and read whole. */
static void a_megabyte_unit_is_kept_whole(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    size_t len = 1 << 20;
    char *unit = malloc(len);
    assert_non_null(unit);
    for (size_t i = 0; i < len; i++)
        unit[i] = (char)('a' + i % 26);
    sy_store_event_t e = {.workspace = ws,
                          .experiment = 1,
                          .kind = "exposure",
                          .unit = unit,
                          .unit_len = len,
                          .success = -1,
                          .at_ms = 1};
    int64_t seq;
    assert_int_equal(sy_store_event_add(s, &e, &seq, NULL), 0);
    assert_true(seq > 0);
    struct whole w = {unit, len, 0};
    assert_int_equal(sy_store_event_list(s, check_whole, &w, NULL), 0);
    assert_int_equal(w.rows, 1);
    free(unit);
    fx_store_close(s);
}

/* Events of two workspaces and three experiments, interleaved: one order, the log's, in
 * every read across them; a range is (after, upto]; a stop is returned. */
static void reads_across_workspaces_keep_the_order_of_the_log(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b"), c = workspace(s, "c");
    (void)c; /* a workspace without events */
    int64_t seq[12];
    for (int i = 0; i < 12; i++) {
        char unit[8];
        snprintf(unit, sizeof(unit), "u%d", i);
        /* b a a b b a b b a a b a: experiments 1 (a), 2 and 3 (b) */
        int64_t ws = (0x9B2 >> (11 - i)) & 1 ? b : a;
        seq[i] = add(s, ws, ws == a ? 1 : 2 + i % 2, NULL, unit, 100 + i);
    }
    struct kept k = {0};
    assert_int_equal(sy_store_event_list(s, keep, &k, NULL), 0);
    assert_int_equal(k.n, 12);
    for (int i = 0; i < 12; i++) {
        char unit[8];
        snprintf(unit, sizeof(unit), "u%d", i);
        assert_int_equal(k.e[i].seq, seq[i]);
        assert_string_equal(k.e[i].unit, unit);
        assert_int_equal(k.e[i].workspace, (0x9B2 >> (11 - i)) & 1 ? b : a);
    }
    k = (struct kept){0};
    assert_int_equal(sy_store_event_range(s, -1, seq[2], seq[9], keep, &k, NULL), 0);
    assert_int_equal(k.n, 7); /* 3 to 9 */
    for (int i = 0; i < 7; i++)
        assert_int_equal(k.e[i].seq, seq[3 + i]);
    k = (struct kept){0};
    assert_int_equal(sy_store_event_range(s, 2, 0, INT64_MAX, keep, &k, NULL), 0);
    for (size_t i = 0; i < k.n; i++)
        assert_int_equal(k.e[i].experiment, 2);
    int64_t n2;
    assert_int_equal(sy_store_event_count(s, 2, &n2, NULL), 0);
    assert_int_equal((int64_t)k.n, n2);
    k = (struct kept){.stop_at = 4};
    assert_int_equal(sy_store_event_range(s, -1, 0, INT64_MAX, keep, &k, NULL), 7);
    assert_int_equal(k.n, 4);
    k = (struct kept){.stop_at = 5};
    assert_int_equal(sy_store_event_list(s, keep, &k, NULL), 7);
    assert_int_equal(k.n, 5);
    int64_t *ids;
    size_t n;
    assert_int_equal(sy_store_event_experiments(s, 0, INT64_MAX, &ids, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_true(ids[0] == 1 && ids[1] == 2 && ids[2] == 3);
    free(ids);
    assert_int_equal(sy_store_event_experiments(s, seq[2], seq[4], &ids, &n, NULL), 0);
    assert_int_equal(n, 2); /* the 4th and 5th: b's experiments 3 and 2 */
    assert_true(ids[0] == 2 && ids[1] == 3);
    free(ids);
    fx_store_close(s);
}

/* Counts the events of a read into arg[1], failing when a place does not grow past arg[0]. */
static int grows(void *arg, const sy_store_event_t *ev)
{
    int64_t *last = arg;
    if (ev->seq <= last[0])
        fail_msg("place %lld after %lld", (long long)ev->seq, (long long)last[0]);
    last[0] = ev->seq;
    last[1]++;
    return 0;
}

/* More events than one read of a workspace takes at once (PostgreSQL reads the log a chunk
 * at a time): still every one, in order. */
static void a_long_log_is_read_whole_and_in_order(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    assert_int_equal(sy_store_begin(s, NULL), 0);
    for (int i = 0; i < 25000; i++)
        add(s, i % 3 ? a : b, 1 + i % 3, NULL, "u", i);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    int64_t st[2] = {0, 0};
    assert_int_equal(sy_store_event_list(s, grows, st, NULL), 0);
    assert_int_equal(st[1], 25000);
    fx_store_close(s);
}

static void a_long_log_of_many_workspaces_comes_in_one_order(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws[40];
    for (int i = 0; i < 40; i++) {
        char name[8];
        snprintf(name, sizeof(name), "w%d", i);
        ws[i] = workspace(s, name);
    }
    assert_int_equal(sy_store_begin(s, NULL), 0);
    for (int i = 0; i < 12000; i++) /* uneven: workspace i*i % 40 */
        add(s, ws[(i * i) % 40], 1 + (i * i) % 40, NULL, "u", i);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    int64_t st[2] = {0, 0};
    assert_int_equal(sy_store_event_list(s, grows, st, NULL), 0);
    assert_int_equal(st[1], 12000);
    st[0] = st[1] = 0;
    assert_int_equal(sy_store_event_range(s, -1, 100, 11000, grows, st, NULL), 0);
    assert_int_equal(st[1], 10900);
    fx_store_close(s);
}

/* A rolled back append leaves nothing: not listed, not counted, and its id free again. */
static void a_rollback_leaves_no_event(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    int64_t first = add(s, ws, 1, "keep", "u", 1);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_true(add(s, ws, 1, "gone", "u", 2) > first);
    sy_store_rollback(s);
    int64_t n, last;
    assert_int_equal(sy_store_event_count(s, 1, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sy_store_event_last(s, &last, NULL), 0);
    assert_int_equal(last, first);
    int64_t again = add(s, ws, 1, "gone", "u", 3); /* not a duplicate: it never landed */
    assert_true(again > first);
    struct kept k = {0};
    assert_int_equal(sy_store_event_list(s, keep, &k, NULL), 0);
    assert_int_equal(k.n, 2);
    assert_int_equal(k.e[1].at_ms, 3);
    fx_store_close(s);
}

/* A failed append inside a transaction leaves it to the caller to roll back, and nothing of
 * it lands. */
static void a_failed_append_writes_nothing(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    sy_store_event_t e = {
        .workspace = ws, .experiment = 1, .kind = NULL, .unit = "u", .unit_len = 1, .at_ms = 1};
    int64_t seq = 5;
    sy_err_t err = {0};
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_true(sy_store_event_add(s, &e, &seq, &err) < 0); /* kind is NOT NULL */
    assert_int_equal(seq, 0);
    assert_true(err.code < 0);
    sy_store_rollback(s);
    int64_t last;
    assert_int_equal(sy_store_event_last(s, &last, NULL), 0);
    assert_int_equal(last, 0);
    fx_store_close(s);
}

/* The log of one workspace's experiments is not another's: counts and ranges by
 * experiment see only it, and the same client id in two experiments is two events. */
static void events_of_experiments_are_read_in_their_workspace(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    sy_store_experiment_t x = {.workspace = a,
                               .key = "x",
                               .flag_key = "f",
                               .definition = "{}",
                               .state = "running",
                               .created_ms = 1};
    int64_t xa, xb;
    int rc = sy_store_experiment_put(s, &x, &xa, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(rc, 0);
    x.workspace = b;
    assert_int_equal(sy_store_experiment_put(s, &x, &xb, NULL), 0);
    for (int i = 0; i < 5; i++) {
        add(s, a, xa, "same", "u", i); /* once */
        add(s, b, xb, i < 3 ? "same" : NULL, "u", i);
    }
    int64_t n;
    assert_int_equal(sy_store_event_count(s, xa, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sy_store_event_count(s, xb, &n, NULL), 0);
    assert_int_equal(n, 3);
    struct kept k = {0};
    assert_int_equal(sy_store_event_range(s, xb, 0, INT64_MAX, keep, &k, NULL), 0);
    assert_int_equal(k.n, 3);
    for (size_t i = 0; i < k.n; i++)
        assert_int_equal(k.e[i].workspace, b);
    fx_store_close(s);
}

/* A prune takes old events in the log's order across workspaces, up to its limit and the
 * first event not older; thins those with an id (still duplicates), deletes the others; never
 * touches the newest row of the log. */
static void a_prune_thins_ids_deletes_the_rest_and_spares_the_newest(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t p[8];
    p[0] = add(s, a, 1, "i0", "u", 10);
    p[1] = add(s, b, 2, NULL, "u", 11);
    p[2] = add(s, a, 1, NULL, "u", 12);
    p[3] = add(s, b, 2, "i3", "u", 13);
    p[4] = add(s, a, 1, NULL, "u", 50); /* not older than 40: stops the prune */
    p[5] = add(s, b, 2, NULL, "u", 14);
    p[6] = add(s, a, 1, NULL, "u", 15);
    p[7] = add(s, b, 2, NULL, "u", 16); /* old, but the newest row */
    int64_t through = -1, n = -1;
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_event_prune(s, 0, INT64_MAX, 40, 3, &through, &n, NULL), 0);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    assert_int_equal(through, p[2]); /* the limit: 3 */
    assert_int_equal(n, 3);
    assert_int_equal(sy_store_event_prune(s, through, INT64_MAX, 40, 100, &through, &n, NULL), 0);
    assert_int_equal(through, p[3]); /* the event at 50 stops it */
    assert_int_equal(n, 1);
    assert_int_equal(sy_store_event_prune(s, p[4], INT64_MAX, 40, 100, &through, &n, NULL), 0);
    assert_int_equal(through, p[6]); /* not the newest row, old as it is */
    assert_int_equal(n, 2);
    assert_int_equal(sy_store_event_prune(s, p[6], INT64_MAX, 40, 100, &through, &n, NULL), 0);
    assert_int_equal(through, p[6]); /* nothing handled: `after` */
    assert_int_equal(n, 0);
    assert_int_equal(sy_store_event_prune(s, 0, p[1], 40, 100, &through, &n, NULL), 0);
    assert_int_equal(through, p[0]); /* `upto` bounds it; p[0] is thinned already */
    struct kept k = {0};
    assert_int_equal(sy_store_event_range(s, -1, 0, INT64_MAX, keep, &k, NULL), 0);
    assert_int_equal(k.n, 4); /* the two thinned, p[4], the newest */
    assert_int_equal(k.e[0].seq, p[0]);
    assert_string_equal(k.e[0].kind, "");
    assert_string_equal(k.e[0].unit, "");
    assert_false(k.e[0].has_variant);
    assert_int_equal(k.e[1].seq, p[3]);
    assert_string_equal(k.e[1].kind, "");
    assert_int_equal(k.e[2].seq, p[4]);
    assert_string_equal(k.e[2].kind, "exposure");
    assert_int_equal(k.e[3].seq, p[7]);
    int64_t c;
    assert_int_equal(sy_store_event_count(s, 1, &c, NULL), 0);
    assert_int_equal(c, 1);                           /* the thinned are not counted */
    assert_int_equal(add(s, a, 1, "i0", "u", 60), 0); /* a retry of a thinned one: a duplicate */
    assert_int_equal(sy_store_event_prune(s, 0, INT64_MAX, 40, 0, &through, &n, NULL), 0);
    assert_int_equal(through, 0); /* limit 0 */
    assert_int_equal(n, 0);
    fx_store_close(s);
}

/* An ended experiment takes no more events: its events are deleted, ids and all. */
static void a_prune_deletes_the_ids_of_an_ended_experiment(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    sy_store_experiment_t x = {.workspace = ws,
                               .key = "x",
                               .flag_key = "f",
                               .definition = "{}",
                               .state = "stopped",
                               .created_ms = 1};
    int64_t ended, running;
    int rc = sy_store_experiment_put(s, &x, &ended, NULL);
    assert_int_equal(rc, 0);
    x.key = "y";
    x.state = "running";
    assert_int_equal(sy_store_experiment_put(s, &x, &running, NULL), 0);
    add(s, ws, ended, "e1", "u", 1);
    add(s, ws, running, "r1", "u", 2);
    add(s, ws, running, NULL, "u", 3);
    int64_t through, n;
    assert_int_equal(sy_store_event_prune(s, 0, INT64_MAX, 10, 100, &through, &n, NULL), 0);
    assert_int_equal(n, 2);
    int64_t count = 0;
    assert_int_equal(sy_store_event_range(s, -1, 0, INT64_MAX, count_events, &count, NULL), 0);
    assert_int_equal(count, 2); /* r1 thinned, the newest */
    fx_store_close(s);
}

/* event_list starts after the place retention marked pruned. */
static void the_list_leaves_out_what_retention_pruned(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    int64_t p1 = add(s, ws, 1, NULL, "u", 1);
    add(s, ws, 1, NULL, "u", 2);
    int rc = sy_store_retention_put(s, "events_pruned", p1, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(rc, 0);
    struct kept k = {0};
    assert_int_equal(sy_store_event_list(s, keep, &k, NULL), 0);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.e[0].at_ms, 2);
    fx_store_close(s);
}

/* Appends in one transaction of 1,000: the rate, printed (not asserted). */
static void event_add_rate_in_a_transaction_of_1000(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    add(s, ws, 1, NULL, "warm", 0); /* the statement prepared */
    struct timespec t0, t1;
    char id[32];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "evt-%d", i);
        assert_true(add(s, ws, 1, id, "unit-0123456789", i) > 0);
    }
    assert_int_equal(sy_store_commit(s, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("# event_add on %s: %.0f per second (1,000 in one transaction, %.1f ms)\n", fx_backend(),
           1000 / sec, sec * 1e3);
    fflush(stdout);
    int64_t n;
    assert_int_equal(sy_store_event_count(s, 1, &n, NULL), 0);
    assert_int_equal(n, 1001);
    fx_store_close(s);
}

/* ---- appends in a batch ------------------------------------------------------------------- */

/* Event `i` of a batch: exposure of unit "u<i>" in `ws`/`exp`, client id `id` (or NULL). */
static sy_store_event_t batch_event(int64_t ws, int64_t exp, const char *id, const char *unit,
                                    int64_t at_ms)
{
    return (sy_store_event_t){.workspace = ws,
                              .experiment = exp,
                              .id = id,
                              .id_len = id ? strlen(id) : 0,
                              .kind = "outcome",
                              .unit = unit,
                              .unit_len = strlen(unit),
                              .success = 1,
                              .has_value = true,
                              .value = 0.1 * (double)at_ms,
                              .at_ms = at_ms};
}

/* A batch of two workspaces' events is written as one call each would be: the places grow in
 * order, an id already logged or met earlier in the batch gives 0 and writes nothing, and
 * every field comes back. */
static void a_batch_is_written_as_its_events_one_by_one(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t w1 = workspace(s, "w1"), w2 = workspace(s, "w2");
    int64_t before = add(s, w1, 1, "old", "u0", 1);
    char unit[8][8];
    for (int i = 0; i < 8; i++)
        snprintf(unit[i], sizeof(unit[i]), "u%d", i + 1);
    sy_store_event_t ev[8] = {
        batch_event(w1, 1, "a", unit[0], 10),  batch_event(w1, 1, "old", unit[1], 11),
        batch_event(w2, 2, "a", unit[2], 12),  batch_event(w2, 2, NULL, unit[3], 13),
        batch_event(w1, 1, NULL, unit[4], 14), batch_event(w1, 1, "a", unit[5], 15),
        batch_event(w2, 2, "b", unit[6], 16),  batch_event(w1, 3, "b", unit[7], 17),
    };
    ev[3].kind = "exposure";
    ev[3].variant = "on";
    ev[3].variant_len = 2;
    ev[3].success = -1;
    ev[3].has_value = false;
    ev[3].has_latency = true;
    ev[3].latency_ms = 12.5;
    int64_t seq[8];
    memset(seq, 0xff, sizeof(seq));
    sy_err_t err = {0};
    assert_int_equal(sy_store_begin(s, NULL), 0);
    if (sy_store_event_add_many(s, ev, 8, seq, &err) < 0)
        fail_msg("event_add_many: %s", err.msg);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    bool written[8] = {true, false, true, true, true, false, true, true};
    int64_t last = before;
    for (int i = 0; i < 8; i++) {
        if (!written[i]) {
            assert_int_equal(seq[i], 0);
            continue;
        }
        assert_true(seq[i] > last);
        last = seq[i];
    }
    struct kept k = {0};
    assert_int_equal(sy_store_event_list(s, keep, &k, NULL), 0);
    assert_int_equal(k.n, 7);
    for (size_t i = 0, j = 1; i < 8; i++) {
        if (!written[i])
            continue;
        assert_int_equal(k.e[j].seq, seq[i]);
        assert_int_equal(k.e[j].workspace, ev[i].workspace);
        assert_int_equal(k.e[j].experiment, ev[i].experiment);
        assert_string_equal(k.e[j].unit, ev[i].unit);
        assert_string_equal(k.e[j].kind, ev[i].kind);
        assert_int_equal(k.e[j].success, ev[i].success);
        assert_int_equal(k.e[j].has_value, ev[i].has_value);
        assert_true(!ev[i].has_value || same_bits(k.e[j].value, ev[i].value));
        assert_int_equal(k.e[j].has_latency, ev[i].has_latency);
        assert_int_equal(k.e[j].has_variant, ev[i].variant != NULL);
        assert_int_equal(k.e[j].at_ms, ev[i].at_ms);
        j++;
    }
    assert_string_equal(k.e[3].variant, "on"); /* ev[3] */
    assert_true(same_bits(k.e[3].latency, 12.5));
    /* the batch's ids are in the log now: the same batch again writes nothing new */
    int64_t n1, n2;
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_event_add_many(s, ev, 8, seq, NULL), 0);
    assert_int_equal(sy_store_event_add_many(s, ev, 0, seq, NULL), 0);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    for (int i = 0; i < 8; i++)
        assert_true(ev[i].id ? seq[i] == 0 : seq[i] > last);
    assert_int_equal(sy_store_event_count(s, 1, &n1, NULL), 0);
    assert_int_equal(sy_store_event_count(s, 2, &n2, NULL), 0);
    assert_int_equal(n1, 4); /* old, a, and the id-less one twice */
    assert_int_equal(n2, 4); /* a, b, and the id-less one twice */
    fx_store_close(s);
}

/* A batch longer than one statement takes (PostgreSQL: 5,000 events or 8 MB of strings), and
 * switching workspace often: every event once, in order, each in its workspace; an id
 * repeated statements later is a duplicate still. */
static void a_long_batch_of_many_workspaces_lands_whole_and_in_order(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws[3] = {workspace(s, "a"), workspace(s, "b"), workspace(s, "c")};
    enum { N = 12000, REPEAT = 11000 };
    sy_store_event_t *ev = calloc(N, sizeof(*ev));
    int64_t *seq = calloc(N, sizeof(*seq));
    char(*ids)[16] = calloc(N, sizeof(*ids));
    size_t big_len = 1 << 20;
    char *big = malloc(big_len + 1);
    assert_non_null(ev);
    assert_non_null(seq);
    assert_non_null(ids);
    assert_non_null(big);
    memset(big, 'x', big_len);
    big[big_len] = '\0';
    for (int i = 0; i < N; i++) {
        /* 6,000 of one workspace, then runs of 7, shifted every 300 */
        int w = i < 6000 ? 0 : (i / 7 + i / 300) % 3;
        snprintf(ids[i], sizeof(ids[i]), "e%d", i % REPEAT); /* the last 1,000 repeat */
        ev[i] = batch_event(ws[w], 10 + w, ids[i], i >= 100 && i < 112 ? big : "unit", i);
    }
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_event_add_many(s, ev, N, seq, NULL), 0);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    int64_t last = 0, written = 0;
    for (int i = 0; i < N; i++) {
        /* a repeat in the same experiment is a duplicate; in another, a new event */
        bool dup = i >= REPEAT && ev[i].experiment == ev[i - REPEAT].experiment;
        if (dup) {
            assert_int_equal(seq[i], 0);
            continue;
        }
        assert_true(seq[i] > last);
        last = seq[i];
        written++;
    }
    int64_t n = 0;
    assert_int_equal(sy_store_event_list(s, count_events, &n, NULL), 0);
    assert_int_equal(n, written);
    for (int w = 0; w < 3; w++) {
        int64_t want = 0, got = 0;
        for (int i = 0; i < N; i++)
            want += seq[i] && ev[i].workspace == ws[w];
        assert_int_equal(sy_store_event_count(s, 10 + w, &got, NULL), 0);
        assert_int_equal(got, want);
    }
    free(ev);
    free(seq);
    free(ids);
    free(big);
    fx_store_close(s);
}

/* Strings and doubles of a batch come back byte for byte and bit for bit, as one call each
 * writes them: quotes, backslashes, commas and braces (PostgreSQL's array syntax), "NULL",
 * an empty string, UTF-8, a megabyte; every double that round-trips, NaN as no value. */
static void a_batch_keeps_odd_strings_and_doubles_exactly(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    size_t big_len = 1 << 20;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = "\"\\,{} ab"[i % 8];
    big[big_len] = '\0';
    const char *unit[] = {"a\"b\\c,{d}", "NULL", "", "ünït ✓ 𝄞", " lead and trail ", "\\", "\""};
    const double v[] = {0.1,      1.0 / 3,   -2.5e-10, DBL_MAX,   -DBL_MIN, 4.9406564584124654e-324,
                        INFINITY, -INFINITY, NAN,      1e15 + 0.3};
    enum { N = 10 };
    sy_store_event_t ev[N];
    char ids[N][8];
    for (int i = 0; i < N; i++) {
        const char *u = i < 7 ? unit[i] : i == 7 ? big : "u";
        snprintf(ids[i], sizeof(ids[i]), "%c\"%d", i % 2 ? '\\' : '{', i);
        ev[i] = batch_event(ws, 1, ids[i], u, i);
        ev[i].unit_len = i == 7 ? big_len : strlen(u);
        ev[i].value = v[i];
        ev[i].has_latency = true;
        ev[i].latency_ms = v[N - 1 - i];
        if (i == 8) { /* an exposure: its variant a string of its own */
            ev[i].kind = "exposure";
            ev[i].variant = "\"on\", {1}";
            ev[i].variant_len = strlen(ev[i].variant);
        }
    }
    int64_t seq[N];
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_event_add_many(s, ev, N, seq, NULL), 0);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    for (int i = 1; i < N; i++)
        assert_true(seq[i] > seq[i - 1]);
    struct kept k = {0};
    for (int i = 0; i < N; i++) {
        if (i == 7)
            continue; /* kept's copy is too small: read whole below */
        struct kept one = {0};
        assert_int_equal(sy_store_event_range(s, 1, seq[i] - 1, seq[i], keep, &one, NULL), 0);
        assert_int_equal(one.n, 1);
        k.e[i] = one.e[0];
        assert_string_equal(k.e[i].unit, ev[i].unit);
        bool has = !isnan(v[i]);
        assert_int_equal(k.e[i].has_value, has);
        assert_true(!has || same_bits(k.e[i].value, v[i]));
        has = !isnan(v[N - 1 - i]);
        assert_int_equal(k.e[i].has_latency, has);
        assert_true(!has || same_bits(k.e[i].latency, v[N - 1 - i]));
    }
    assert_string_equal(k.e[8].variant, "\"on\", {1}");
    struct whole w = {.want = big, .len = big_len};
    assert_int_equal(sy_store_event_range(s, 1, seq[7] - 1, seq[7], check_whole, &w, NULL), 0);
    assert_int_equal(w.rows, 1);
    /* the ids, quotes and all, are the log's: the same batch again is all duplicates */
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_event_add_many(s, ev, N, seq, NULL), 0);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(seq[i], 0);
    free(big);
    fx_store_close(s);
}

/* A batch with an event the database refuses fails; the rollback leaves none of it and the
 * handle goes on working. */
static void a_failed_batch_rolls_back_whole(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    sy_store_event_t ev[6];
    for (int i = 0; i < 6; i++)
        ev[i] = batch_event(ws, 1, NULL, "u", i);
    ev[4].kind = NULL; /* NOT NULL */
    int64_t seq[6];
    sy_err_t err = {0};
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_true(sy_store_event_add_many(s, ev, 6, seq, &err) < 0);
    assert_true(err.code < 0);
    sy_store_rollback(s);
    int64_t last = -1;
    assert_int_equal(sy_store_event_last(s, &last, NULL), 0);
    assert_int_equal(last, 0);
    ev[4].kind = "error";
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_event_add_many(s, ev, 6, seq, NULL), 0);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    int64_t n;
    assert_int_equal(sy_store_event_count(s, 1, &n, NULL), 0);
    assert_int_equal(n, 6);
    fx_store_close(s);
}

/* Fault injection counts a batch's statements one by one: each of them in turn can fail it,
 * and after the rollback nothing of it is left and the handle goes on working. */
static void each_statement_of_a_batch_can_fail_it(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws[2] = {workspace(s, "a"), workspace(s, "b")};
    sy_store_event_t ev[6];
    for (int i = 0; i < 6; i++)
        ev[i] = batch_event(ws[i / 3], 1 + i / 3, NULL, "u", i);
    int64_t seq[6];
    sy_store_fail_at(s, 0);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_event_add_many(s, ev, 6, seq, NULL), 0);
    int64_t calls = sy_store_calls(s);
    sy_store_rollback(s);
    assert_true(calls >= 2); /* the begin, and the batch's */
    for (int64_t at = 2; at <= calls; at++) {
        sy_store_fail_at(s, at);
        sy_err_t err = {0};
        assert_int_equal(sy_store_begin(s, NULL), 0);
        assert_int_equal(sy_store_event_add_many(s, ev, 6, seq, &err), -EIO);
        assert_int_equal(err.code, -EIO);
        sy_store_rollback(s);
        sy_store_fail_at(s, 0);
        int64_t last = -1;
        assert_int_equal(sy_store_event_last(s, &last, NULL), 0);
        assert_int_equal(last, 0);
    }
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_event_add_many(s, ev, 6, seq, NULL), 0);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    assert_true(seq[0] > 0 && seq[5] > seq[0]);
    fx_store_close(s);
}

/* 1,000 appends in one transaction one by one, then as one batch: the rates, printed (not
 * asserted). */
static void event_add_many_rate_against_one_by_one(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    enum { N = 1000, ROUNDS = 5 };
    sy_store_event_t *ev = calloc(N, sizeof(*ev));
    int64_t *seq = calloc(N, sizeof(*seq));
    char(*ids)[24] = calloc(N, sizeof(*ids));
    assert_non_null(ev);
    assert_non_null(seq);
    assert_non_null(ids);
    add(s, ws, 1, NULL, "warm", 0); /* the statement prepared */
    double best[2] = {0, 0};
    for (int round = 0; round < ROUNDS; round++) {
        for (int way = 0; way < 2; way++) {
            for (int i = 0; i < N; i++) {
                snprintf(ids[i], sizeof(ids[i]), "r%d-%d-%d", round, way, i);
                ev[i] = batch_event(ws, 1, ids[i], "unit-0123456789", i);
            }
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            assert_int_equal(sy_store_begin(s, NULL), 0);
            if (way == 0) {
                for (int i = 0; i < N; i++)
                    assert_int_equal(sy_store_event_add(s, &ev[i], &seq[i], NULL), 0);
            } else {
                assert_int_equal(sy_store_event_add_many(s, ev, N, seq, NULL), 0);
            }
            assert_int_equal(sy_store_commit(s, NULL), 0);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            assert_true(seq[N - 1] > seq[0]);
            double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
            if (N / sec > best[way])
                best[way] = N / sec;
        }
    }
    printf("# events on %s, batches of 1,000 in a transaction (best of %d): one by one %.0f/s, "
           "event_add_many %.0f/s (%.1fx)\n",
           fx_backend(), ROUNDS, best[0], best[1], best[1] / best[0]);
    fflush(stdout);
    int64_t n;
    assert_int_equal(sy_store_event_count(s, 1, &n, NULL), 0);
    assert_int_equal(n, 1 + 2 * ROUNDS * N);
    free(ev);
    free(seq);
    free(ids);
    fx_store_close(s);
}

/* ---- KPI events ------------------------------------------------------------------------- */

static void kpi(sy_store_t *s, int64_t ws, const char *metric, int success, bool has_value,
                double value, const char *id, int64_t at_ms, bool want_added)
{
    sy_store_kpi_t k = {.workspace = ws,
                        .domain = "d",
                        .metric = metric,
                        .success = success,
                        .has_value = has_value,
                        .value = value,
                        .actor = "t",
                        .event_id = id,
                        .at_ms = at_ms};
    bool added = !want_added;
    sy_err_t err = {0};
    if (sy_store_kpi_add(s, &k, &added, &err) < 0)
        fail_msg("kpi_add: %s", err.msg);
    assert_int_equal(added, want_added);
}

/* A KPI window's mean of values at an offset of 1e12: kept as the values come, not summed
 * (10,000 values of 1e12 sum to 1e16, whose rounding moves the mean by about 0.01). */
static void a_kpi_window_mean_keeps_its_digits(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    for (int k = 0; k < 10000; k++) {
        sy_store_kpi_t e = {.workspace = ws,
                            .domain = "d",
                            .metric = "m",
                            .success = -1,
                            .has_value = true,
                            .value = 1e12 + 0.25 * k + (k % 2 ? 0.1 : -0.1),
                            .actor = "t",
                            .at_ms = k};
        bool added;
        assert_int_equal(sy_store_kpi_add(s, &e, &added, NULL), 0);
    }
    assert_int_equal(sy_store_commit(s, NULL), 0);
    int64_t events, successes;
    double mean;
    assert_int_equal(sy_store_kpi_window(s, ws, "d", "m", true, NULL, 0, 10000, &events, &successes,
                                         &mean, NULL),
                     0);
    assert_int_equal(events, 10000);
    assert_close(mean - 1e12, 0.25 * 4999.5, 0, 1e-6);
    /* the newest 4,000 after skipping 1,000: k from 5,000 to 8,999 */
    assert_int_equal(sy_store_kpi_window(s, ws, "d", "m", true, NULL, 1000, 4000, &events,
                                         &successes, &mean, NULL),
                     0);
    assert_int_equal(events, 4000);
    assert_close(mean - 1e12, 0.25 * 6999.5, 0, 1e-6);
    fx_store_close(s);
}

/* A span leaves a gap out of a series: the window after it sees only what came after the
 * gap, the baseline skips it and goes on before it; a place names an event by (at_ms, id). */
static void a_kpi_span_leaves_its_gap_out(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    for (int k = 0; k < 100; k++) { /* success for k < 60 and k >= 80: the gap is 60..79 */
        sy_store_kpi_t e = {.workspace = ws,
                            .domain = "d",
                            .metric = "m",
                            .success = k < 60 || k >= 80,
                            .actor = "t",
                            .at_ms = 1000 + k};
        bool added;
        assert_int_equal(sy_store_kpi_add(s, &e, &added, NULL), 0);
    }
    assert_int_equal(sy_store_commit(s, NULL), 0);
    sy_store_kpi_place_t from, to, p;
    bool found;
    assert_int_equal(sy_store_kpi_place(s, ws, "d", "m", false, NULL, 40, &from, &found, NULL), 0);
    assert_true(found);
    assert_int_equal(from.at_ms, 1000 + 59); /* the 41st newest */
    assert_int_equal(sy_store_kpi_place(s, ws, "d", "m", false, NULL, 20, &to, &found, NULL), 0);
    assert_int_equal(to.at_ms, 1000 + 79);
    from.at_ms++; /* the gap: 60..79 */
    from.id++;
    sy_store_kpi_span_t after = {
        .has_gap = true, .after_gap = true, .gap_from = from, .gap_to = to};
    sy_store_kpi_span_t around = after;
    around.after_gap = false;
    int64_t events, successes;
    double mean;
    assert_int_equal(sy_store_kpi_window(s, ws, "d", "m", false, &after, 0, 50, &events, &successes,
                                         &mean, NULL),
                     0);
    assert_int_equal(events, 20); /* 80..99 only */
    assert_int_equal(successes, 20);
    assert_int_equal(sy_store_kpi_window(s, ws, "d", "m", false, &around, 20, 50, &events,
                                         &successes, &mean, NULL),
                     0);
    assert_int_equal(events, 50); /* 59 down to 10: the gap left out */
    assert_int_equal(successes, 50);
    assert_int_equal(
        sy_store_kpi_window(s, ws, "d", "m", false, NULL, 20, 50, &events, &successes, &mean, NULL),
        0);
    assert_int_equal(successes, 30); /* without the span the gap's 20 failures count */
    assert_int_equal(sy_store_kpi_place(s, ws, "d", "m", false, &after, 20, &p, &found, NULL), 0);
    assert_false(found); /* nothing after the gap past the 20 */
    assert_int_equal(sy_store_kpi_place(s, ws, "d", "m", true, NULL, 0, &p, &found, NULL), 0);
    assert_false(found); /* no event carries a value */
    fx_store_close(s);
}

/* A KPI event id is once per workspace; another workspace's series, ids and windows are its
 * own; a negative limit is no limit and a negative skip none. */
static void kpi_series_and_ids_belong_to_their_workspace(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    kpi(s, a, "m", 1, true, 2.0, "k1", 1, true);
    kpi(s, a, "m", 0, true, 4.0, "k1", 2, false); /* a retry */
    kpi(s, b, "m", 0, true, 8.0, "k1", 3, true);  /* b's own id */
    kpi(s, a, "m", 1, false, 0, NULL, 4, true);
    kpi(s, a, "m", -1, true, 5.0, NULL, 5, true);
    sy_store_kpi_t k = {
        .workspace = a, .domain = "d", .metric = "m", .success = 1, .actor = "t", .at_ms = 6};
    assert_int_equal(sy_store_kpi_add(s, &k, NULL, NULL), 0); /* `added` may be NULL */
    int64_t events, successes;
    double mean;
    assert_int_equal(
        sy_store_kpi_window(s, a, "d", "m", false, NULL, -3, -1, &events, &successes, &mean, NULL),
        0);
    assert_int_equal(events, 3); /* 1, 4, 6 */
    assert_int_equal(successes, 3);
    assert_int_equal(
        sy_store_kpi_window(s, a, "d", "m", true, NULL, 0, 100, &events, &successes, &mean, NULL),
        0);
    assert_int_equal(events, 2);
    assert_true(same_bits(mean, 3.5));
    assert_int_equal(
        sy_store_kpi_window(s, b, "d", "m", true, NULL, 0, 100, &events, &successes, &mean, NULL),
        0);
    assert_int_equal(events, 1);
    assert_true(same_bits(mean, 8.0));
    assert_int_equal(
        sy_store_kpi_window(s, a, "d", "x", false, NULL, 0, 100, &events, &successes, &mean, NULL),
        0);
    assert_int_equal(events, 0);
    sy_store_kpi_place_t p;
    bool found;
    assert_int_equal(sy_store_kpi_place(s, a, "d", "m", false, NULL, 0, &p, &found, NULL), 0);
    assert_true(found);
    assert_int_equal(p.at_ms, 6);
    assert_int_equal(sy_store_kpi_place(s, b, "d", "m", false, NULL, 1, &p, &found, NULL), 0);
    assert_false(found);
    fx_store_close(s);
}

/* A rolled back KPI event is gone, its id free. */
static void a_rollback_leaves_no_kpi_event(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    assert_int_equal(sy_store_begin(s, NULL), 0);
    kpi(s, ws, "m", 1, false, 0, "k", 1, true);
    sy_store_rollback(s);
    int64_t events, successes;
    double mean;
    assert_int_equal(
        sy_store_kpi_window(s, ws, "d", "m", false, NULL, 0, 10, &events, &successes, &mean, NULL),
        0);
    assert_int_equal(events, 0);
    kpi(s, ws, "m", 1, false, 0, "k", 1, true);
    fx_store_close(s);
}

/* The KPI values' mean is computed from the exact doubles stored. */
static void kpi_values_round_trip_exactly(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    const double v[] = {0.1, 1.0 / 3, -DBL_MAX / 4, 4.9406564584124654e-324, 1e-310, 2.0 / 3};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char metric[8];
        snprintf(metric, sizeof(metric), "m%zu", i);
        kpi(s, ws, metric, -1, true, v[i], NULL, 1, true);
        int64_t events, successes;
        double mean;
        assert_int_equal(sy_store_kpi_window(s, ws, "d", metric, true, NULL, 0, 1, &events,
                                             &successes, &mean, NULL),
                         0);
        assert_int_equal(events, 1);
        if (!same_bits(mean, v[i]))
            fail_msg("%.17g came back as %.17g", v[i], mean);
    }
    fx_store_close(s);
}

static int64_t kpi_count(sy_store_t *s, int64_t ws, const char *metric)
{
    int64_t events, successes;
    double mean;
    assert_int_equal(sy_store_kpi_window(s, ws, "d", metric, false, NULL, 0, -1, &events,
                                         &successes, &mean, NULL),
                     0);
    return events;
}

/* A prune of the series without a policy takes the oldest by id across every workspace, up
 * to its limit, deletes those without an id and thins the others (their ids still taken);
 * the newest row of all is never touched. */
static void a_kpi_prune_takes_the_first_across_workspaces(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    for (int i = 0; i < 4; i++) {
        kpi(s, a, "m", 1, false, 0, NULL, 10 + i, true);
        kpi(s, b, "m", 1, false, 0, NULL, 10 + i, true);
    }
    int64_t n = -1;
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_kpi_prune(s, 0, NULL, NULL, NULL, 100, 3, &n, NULL), 0);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    assert_int_equal(n, 3); /* a's first, b's first, a's second */
    assert_int_equal(kpi_count(s, a, "m"), 2);
    assert_int_equal(kpi_count(s, b, "m"), 3);
    assert_int_equal(sy_store_kpi_prune(s, 0, NULL, NULL, NULL, 100, -1, &n, NULL), 0);
    assert_int_equal(n, 4); /* all but b's last: the newest row */
    assert_int_equal(kpi_count(s, a, "m"), 0);
    assert_int_equal(kpi_count(s, b, "m"), 1);
    /* with ids: thinned, not deleted, and so still taken */
    kpi(s, a, "n", 1, false, 0, "x", 20, true);
    kpi(s, a, "n", 1, false, 0, NULL, 21, true);
    kpi(s, b, "n", 1, false, 0, NULL, 99, true);
    assert_int_equal(sy_store_kpi_prune(s, 0, NULL, NULL, NULL, 50, 10, &n, NULL), 0);
    assert_int_equal(n, 3); /* b's old last row, a's two; b's at 99 is not old */
    assert_int_equal(kpi_count(s, a, "n"), 0);
    kpi(s, a, "n", 1, false, 0, "x", 22, false);
    assert_int_equal(sy_store_kpi_prune(s, 0, NULL, NULL, NULL, 50, 0, &n, NULL), 0);
    assert_int_equal(n, 0);
    fx_store_close(s);
}

/* A series with a policy is left to its own prune: only before `keep_from`, only its own. */
static void a_kpi_prune_of_one_series_keeps_its_window(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    sy_store_regression_t r = {.workspace = a,
                               .domain = "d",
                               .metric = "m",
                               .window_events = 2,
                               .baseline_events = 2,
                               .min_events_to_enforce = 1,
                               .max_drop_fraction = 0.5,
                               .action = "THROTTLE",
                               .measure = "rate",
                               .enabled = true,
                               .changed_by = "t",
                               .updated_ms = 1};
    assert_int_equal(sy_store_regression_put(s, &r, false, NULL, NULL), 0);
    for (int i = 0; i < 6; i++) {
        kpi(s, a, "m", 1, false, 0, NULL, 10 + i, true);
        kpi(s, b, "m", 1, false, 0, NULL, 10 + i, true);
    }
    int64_t n;
    assert_int_equal(sy_store_kpi_prune(s, 0, NULL, NULL, NULL, 100, -1, &n, NULL), 0);
    assert_int_equal(n, 5); /* b's (no policy), but its newest: the newest row */
    assert_int_equal(kpi_count(s, a, "m"), 6);
    sy_store_kpi_place_t keep;
    bool found;
    assert_int_equal(sy_store_kpi_place(s, a, "d", "m", false, NULL, 3, &keep, &found, NULL), 0);
    assert_true(found); /* the 4th newest: at 12 */
    assert_int_equal(sy_store_kpi_prune(s, a, "d", "m", &keep, 100, -1, &n, NULL), 0);
    assert_int_equal(n, 2); /* at 10 and 11 */
    assert_int_equal(kpi_count(s, a, "m"), 4);
    assert_int_equal(kpi_count(s, b, "m"), 1);
    assert_int_equal(sy_store_kpi_prune(s, a, "d", "m", &keep, 100, -1, &n, NULL), 0);
    assert_int_equal(n, 0);
    fx_store_close(s);
}

/* ---- regression tripwires ------------------------------------------------------------- */

struct policies {
    int n;
    char names[8][32];
    sy_store_regression_t last;
    char state[64];
    size_t state_len;
};

static int keep_policy(void *arg, const sy_store_regression_t *r)
{
    struct policies *p = arg;
    assert_true(p->n < 8);
    snprintf(p->names[p->n++], sizeof(p->names[0]), "%s/%s", r->domain, r->metric);
    p->last = *r;
    p->last.domain = p->last.metric = p->last.action = p->last.measure = NULL;
    p->last.changed_by = p->last.reason = NULL;
    p->state_len = r->state ? strlen(r->state) : 0;
    snprintf(p->state, sizeof(p->state), "%s", r->state ? r->state : "(null)");
    return 0;
}

static sy_store_regression_t policy(int64_t ws, const char *domain, const char *metric)
{
    return (sy_store_regression_t){.workspace = ws,
                                   .domain = domain,
                                   .metric = metric,
                                   .window_events = 100,
                                   .baseline_events = 1000,
                                   .min_events_to_enforce = 50,
                                   .max_drop_fraction = 0.1,
                                   .action = "KILL_SWITCH",
                                   .measure = "mean",
                                   .enabled = false,
                                   .changed_by = "ops",
                                   .updated_ms = 7};
}

/* only_new leaves a policy alone and says so; a put replaces it, state and all; every field
 * comes back; a list is by (domain, metric) in byte order, one workspace's only. */
static void regression_policies_are_put_once_or_replaced(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    sy_store_regression_t r = policy(a, "pay", "rate");
    bool created = false;
    assert_int_equal(sy_store_regression_put(s, &r, true, &created, NULL), 0);
    assert_true(created);
    r.window_events = 5;
    assert_int_equal(sy_store_regression_put(s, &r, true, &created, NULL), 0);
    assert_false(created); /* left alone */
    struct policies p = {0};
    assert_int_equal(sy_store_regression_list(s, a, "pay", "rate", keep_policy, &p, NULL), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.last.window_events, 100);
    assert_int_equal(p.last.baseline_events, 1000);
    assert_int_equal(p.last.min_events_to_enforce, 50);
    assert_true(same_bits(p.last.max_drop_fraction, 0.1));
    assert_false(p.last.enabled);
    assert_int_equal(p.last.updated_ms, 7);
    assert_int_equal(p.last.workspace, a);
    assert_string_equal(p.state, "(null)");
    r.state = "{\"triggered\":true,\"note\":\"it's \\\"ok\\\" ü\"}";
    r.reason = "why";
    r.enabled = true;
    r.max_drop_fraction = 1.0 / 3;
    assert_int_equal(sy_store_regression_put(s, &r, false, &created, NULL), 0);
    assert_true(created); /* SQLite's INSERT OR REPLACE counts a row either way */
    p = (struct policies){0};
    assert_int_equal(sy_store_regression_list(s, a, "pay", "rate", keep_policy, &p, NULL), 0);
    assert_int_equal(p.last.window_events, 5);
    assert_true(p.last.enabled);
    assert_true(same_bits(p.last.max_drop_fraction, 1.0 / 3));
    assert_string_equal(p.state, r.state);
    sy_store_regression_t more[] = {policy(a, "b", "z"), policy(a, "B", "a"), policy(a, "b", "a"),
                                    policy(a, "_", "a")};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(sy_store_regression_put(s, &more[i], false, NULL, NULL), 0);
    p = (struct policies){0};
    assert_int_equal(sy_store_regression_list(s, a, NULL, NULL, keep_policy, &p, NULL), 0);
    assert_int_equal(p.n, 5);
    assert_string_equal(p.names[0], "B/a"); /* bytes: 'B' < '_' < 'b' < 'p' */
    assert_string_equal(p.names[1], "_/a");
    assert_string_equal(p.names[2], "b/a");
    assert_string_equal(p.names[3], "b/z");
    assert_string_equal(p.names[4], "pay/rate");
    p = (struct policies){0};
    assert_int_equal(sy_store_regression_list(s, a, "pay", NULL, keep_policy, &p, NULL), 0);
    assert_int_equal(p.n, 5); /* one of the two: every one */
    p = (struct policies){0};
    assert_int_equal(sy_store_regression_list(s, b, NULL, NULL, keep_policy, &p, NULL), 0);
    assert_int_equal(p.n, 0); /* b sees none of a's */
    sy_store_regression_t mine = policy(b, "pay", "rate");
    assert_int_equal(sy_store_regression_put(s, &mine, true, &created, NULL), 0);
    assert_true(created); /* b's own, a's untouched */
    p = (struct policies){0};
    assert_int_equal(sy_store_regression_list(s, a, "pay", "rate", keep_policy, &p, NULL), 0);
    assert_int_equal(p.last.window_events, 5);
    fx_store_close(s);
}

/* ws < 0 lists every workspace's policies in one read: by workspace, then (domain, metric) in
 * byte order; with both of domain and metric, that series of every workspace. */
static void regression_policies_of_every_workspace_come_by_workspace_then_name(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    sy_store_regression_t rows[] = {policy(b, "pay", "rate"), policy(a, "pay", "rate"),
                                    policy(b, "B", "a"), policy(a, "b", "z")};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(sy_store_regression_put(s, &rows[i], false, NULL, NULL), 0);
    struct policies p = {0};
    assert_int_equal(sy_store_regression_list(s, -1, NULL, NULL, keep_policy, &p, NULL), 0);
    assert_int_equal(p.n, 4);
    assert_string_equal(p.names[0], "b/z"); /* a's first: a < b */
    assert_string_equal(p.names[1], "pay/rate");
    assert_string_equal(p.names[2], "B/a");
    assert_string_equal(p.names[3], "pay/rate");
    assert_int_equal(p.last.workspace, b);
    p = (struct policies){0};
    assert_int_equal(sy_store_regression_list(s, -1, "pay", "rate", keep_policy, &p, NULL), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.last.workspace, b);
    fx_store_close(s);
}

/* A policy's state of 1 MB is kept whole; a rolled back put leaves nothing. */
static int state_len(void *arg, const sy_store_regression_t *r)
{
    *(size_t *)arg = r->state ? strlen(r->state) : 0;
    return 0;
}

static void a_regression_state_of_a_megabyte_and_a_rollback(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t ws = workspace(s, "w");
    size_t len = 1 << 20;
    char *big = malloc(len + 1);
    assert_non_null(big);
    memset(big, 'x', len);
    big[0] = '"';
    big[len - 1] = '"';
    big[len] = '\0';
    sy_store_regression_t r = policy(ws, "d", "m");
    r.state = big;
    assert_int_equal(sy_store_regression_put(s, &r, false, NULL, NULL), 0);
    size_t got = 0;
    assert_int_equal(sy_store_regression_list(s, ws, "d", "m", state_len, &got, NULL), 0);
    assert_int_equal(got, len);
    free(big);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    r = policy(ws, "d", "other");
    assert_int_equal(sy_store_regression_put(s, &r, false, NULL, NULL), 0);
    sy_store_rollback(s);
    struct policies p = {0};
    assert_int_equal(sy_store_regression_list(s, ws, NULL, NULL, keep_policy, &p, NULL), 0);
    assert_int_equal(p.n, 1);
    fx_store_close(s);
}

/* ---- the log's order across nodes (store.h: sy_store_log_lock) ------------------------------ */

/* Whether another connection could take the log's lock now: "t" or "f" (PostgreSQL). */
static bool log_lock_is_free(void)
{
    char *t = fx_sql_text(fx_uri, "SELECT 1", "SELECT pg_try_advisory_xact_lock(2026, 2)", NULL);
    assert_non_null(t);
    bool free_now = strcmp(t, "t") == 0;
    free(t);
    return free_now;
}

/* Appends an outcome of `ws`/`exp` with every field given; its place. */
static int64_t add_outcome(sy_store_t *s, int64_t ws, int64_t exp, const char *unit, double value,
                           int64_t at_ms)
{
    sy_store_event_t e = {.workspace = ws,
                          .experiment = exp,
                          .id = "client-id",
                          .id_len = 9,
                          .kind = "outcome",
                          .unit = unit,
                          .unit_len = strlen(unit),
                          .success = 0,
                          .has_value = true,
                          .value = value,
                          .has_latency = true,
                          .latency_ms = value / 3,
                          .at_ms = at_ms};
    int64_t seq = -1;
    sy_err_t err = {0};
    if (sy_store_event_add(s, &e, &seq, &err) < 0)
        fail_msg("event_add: %s", err.msg);
    assert_true(seq > 0);
    return seq;
}

/* Two workspaces' events, appended interleaved, come back from sy_store_log_after in the
 * order of places, each as appended; `after` is exclusive and `limit` caps the rows. */
static void the_log_after_a_place_is_every_workspaces_in_order(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t seq[6], ws[6];
    for (int i = 0; i < 6; i++) {
        char unit[16];
        snprintf(unit, sizeof(unit), "u%d-é'", i);
        ws[i] = (0x2D >> (5 - i)) & 1 ? b : a; /* b a b b a b */
        if (i % 2)
            seq[i] = add_outcome(s, ws[i], 10 + i, unit, 0.1 * i, 1000 + i);
        else
            seq[i] = add(s, ws[i], 10 + i, NULL, unit, 1000 + i);
    }
    struct kept k = {0};
    assert_int_equal(sy_store_log_after(s, 0, 100, keep, &k, NULL), 0);
    assert_int_equal(k.n, 6);
    for (int i = 0; i < 6; i++) {
        char unit[16];
        snprintf(unit, sizeof(unit), "u%d-é'", i);
        assert_int_equal(k.e[i].seq, seq[i]);
        assert_int_equal(k.e[i].workspace, ws[i]);
        assert_int_equal(k.e[i].experiment, 10 + i);
        assert_int_equal(k.e[i].at_ms, 1000 + i);
        assert_string_equal(k.e[i].unit, unit);
        if (i % 2) {
            assert_string_equal(k.e[i].kind, "outcome");
            assert_false(k.e[i].has_variant);
            assert_int_equal(k.e[i].success, 0);
            assert_true(k.e[i].has_value && same_bits(k.e[i].value, 0.1 * i));
            assert_true(k.e[i].has_latency && same_bits(k.e[i].latency, 0.1 * i / 3));
        } else {
            assert_string_equal(k.e[i].kind, "exposure");
            assert_true(k.e[i].has_variant);
            assert_string_equal(k.e[i].variant, "on");
            assert_int_equal(k.e[i].success, -1);
            assert_false(k.e[i].has_value);
            assert_false(k.e[i].has_latency);
        }
    }
    k = (struct kept){0};
    assert_int_equal(sy_store_log_after(s, seq[1], 100, keep, &k, NULL), 0);
    assert_int_equal(k.n, 4); /* after the 2nd: the 3rd to the 6th */
    for (int i = 0; i < 4; i++)
        assert_int_equal(k.e[i].seq, seq[2 + i]);
    k = (struct kept){0};
    assert_int_equal(sy_store_log_after(s, seq[1], 3, keep, &k, NULL), 0);
    assert_int_equal(k.n, 3);
    assert_int_equal(k.e[0].seq, seq[2]);
    assert_int_equal(k.e[2].seq, seq[4]);
    k = (struct kept){0};
    assert_int_equal(sy_store_log_after(s, 0, 1, keep, &k, NULL), 0);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.e[0].seq, seq[0]);
    k = (struct kept){0};
    assert_int_equal(sy_store_log_after(s, 0, 0, keep, &k, NULL), 0);
    assert_int_equal(sy_store_log_after(s, seq[5], 100, keep, &k, NULL), 0);
    assert_int_equal(k.n, 0); /* limit 0; nothing after the last */
    k = (struct kept){.stop_at = 2};
    assert_int_equal(sy_store_log_after(s, 0, 100, keep, &k, NULL), 7); /* the callback's */
    assert_int_equal(k.n, 2);
    fx_store_close(s);
}

/* In a transaction, sy_store_log_after sees its own appends; a rollback takes them back. The
 * rows retention thinned to their ids come with kind "". */
static void the_log_after_reads_in_the_transaction_and_shows_thinned_rows(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t old = add(s, a, 1, "i0", "u", 10); /* thinned below: it has an id */
    int64_t young = add(s, b, 2, NULL, "v", 100);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    int64_t inside = add(s, b, 2, NULL, "w", 101);
    struct kept k = {0};
    assert_int_equal(sy_store_log_after(s, young, 10, keep, &k, NULL), 0);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.e[0].seq, inside);
    sy_store_rollback(s);
    k = (struct kept){0};
    assert_int_equal(sy_store_log_after(s, young, 10, keep, &k, NULL), 0);
    assert_int_equal(k.n, 0);

    int64_t through = -1, n = -1;
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_event_prune(s, 0, INT64_MAX, 40, 100, &through, &n, NULL), 0);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    assert_int_equal(through, old);
    k = (struct kept){0};
    assert_int_equal(sy_store_log_after(s, 0, 10, keep, &k, NULL), 0);
    assert_int_equal(k.n, 2);
    assert_int_equal(k.e[0].seq, old);
    assert_int_equal(k.e[0].workspace, a);
    assert_string_equal(k.e[0].kind, "");
    assert_int_equal(k.e[1].seq, young);
    assert_string_equal(k.e[1].kind, "exposure");
    fx_store_close(s);
}

/* sy_store_log_lock and sy_store_log_hold give the log's last place over every workspace on
 * PostgreSQL (the last event is workspace a's here, the one before b's), -1 on SQLite. */
static void the_log_lock_gives_the_last_place_of_every_workspace(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t head = -2;
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_log_lock(s, &head, NULL, NULL), 0);
    assert_int_equal(head, fx_is_pg() ? 0 : -1); /* an empty log */
    sy_store_rollback(s);
    add(s, b, 2, NULL, "u", 1);
    int64_t last_b = add(s, b, 2, NULL, "u", 2);
    int64_t last = add(s, a, 1, NULL, "u", 3);
    assert_true(last > last_b);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_log_lock(s, &head, NULL, NULL), 0);
    assert_int_equal(head, fx_is_pg() ? last : -1);
    int64_t inside = add(s, b, 2, NULL, "u", 4); /* the lock's holder appends */
    assert_int_equal(sy_store_commit(s, NULL), 0);
    head = -2;
    assert_int_equal(sy_store_log_hold(s, &head, NULL), 0);
    assert_int_equal(head, fx_is_pg() ? inside : -1);
    sy_store_log_unlock(s);
    sy_store_log_unlock(s); /* twice: nothing */
    fx_store_close(s);
}

/* While a handle has the log's lock, in its transaction (sy_store_log_lock) or across them
 * (sy_store_log_hold), no other connection gets it; the transaction's end, or
 * sy_store_log_unlock, frees it. SQLite takes nothing: another handle appends meanwhile. */
static void the_log_lock_is_held_to_the_end_of_the_transaction_or_the_unlock(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_store_t *other = fx_store_open_again();
    int64_t a = workspace(s, "a");
    int64_t head;
    if (!fx_is_pg()) {
        assert_int_equal(sy_store_log_hold(s, &head, NULL), 0);
        assert_int_equal(head, -1);
        assert_int_equal(sy_store_begin(other, NULL), 0);
        assert_true(add(other, a, 1, NULL, "u", 1) > 0);
        assert_int_equal(sy_store_commit(other, NULL), 0);
        sy_store_log_unlock(s);
        sy_store_close(other);
        fx_store_close(s);
        return;
    }
    assert_true(log_lock_is_free());
    for (int end = 0; end < 2; end++) { /* committed, rolled back */
        assert_int_equal(sy_store_begin(s, NULL), 0);
        assert_int_equal(sy_store_log_lock(s, &head, NULL, NULL), 0);
        assert_false(log_lock_is_free());
        add(s, a, 1, NULL, "u", 1);
        assert_false(log_lock_is_free());
        if (end == 0)
            assert_int_equal(sy_store_commit(s, NULL), 0);
        else
            sy_store_rollback(s);
        assert_true(log_lock_is_free());
    }
    assert_int_equal(sy_store_log_hold(s, &head, NULL), 0);
    assert_false(log_lock_is_free());
    assert_int_equal(sy_store_begin(s, NULL), 0); /* held across transactions */
    add(s, a, 1, NULL, "u", 2);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    assert_false(log_lock_is_free());
    assert_int_equal(sy_store_begin(s, NULL), 0);
    sy_store_rollback(s);
    assert_false(log_lock_is_free());
    sy_store_log_unlock(s);
    assert_true(log_lock_is_free());
    assert_int_equal(sy_store_begin(other, NULL), 0); /* the other handle has it now */
    assert_int_equal(sy_store_log_lock(other, &head, NULL, NULL), 0);
    assert_false(log_lock_is_free());
    assert_int_equal(sy_store_commit(other, NULL), 0);
    assert_true(log_lock_is_free());
    sy_store_close(other);
    fx_store_close(s);
}

/* A handle waiting for the log's lock reads the last place once it has it: an append the
 * holder committed meanwhile is counted (PostgreSQL: sy_log_lock reads in a snapshot of its
 * own, taken after the wait). SQLite takes nothing: a second handle's lock does not wait. */
struct waiter {
    sy_store_t *s;
    int rc;
    int64_t head;
};

static void *wait_for_the_lock(void *arg)
{
    struct waiter *w = arg;
    w->rc = sy_store_begin(w->s, NULL);
    if (w->rc == 0)
        w->rc = sy_store_log_lock(w->s, &w->head, NULL, NULL);
    if (w->rc == 0)
        w->rc = sy_store_commit(w->s, NULL);
    return NULL;
}

static void a_waiter_for_the_log_lock_reads_what_the_holder_committed(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    add(s, a, 1, NULL, "u", 1);
    int64_t head;
    if (!fx_is_pg()) {
        /* nothing taken: a second handle's lock does not wait (held outside a transaction:
         * SQLite's sy_store_begin, BEGIN IMMEDIATE, is the one writer's lock itself) */
        assert_int_equal(sy_store_log_hold(s, &head, NULL), 0);
        sy_store_t *other = fx_store_open_again();
        assert_int_equal(sy_store_begin(other, NULL), 0);
        assert_int_equal(sy_store_log_lock(other, &head, NULL, NULL), 0);
        assert_int_equal(head, -1);
        assert_int_equal(sy_store_commit(other, NULL), 0);
        sy_store_close(other);
        sy_store_log_unlock(s);
        fx_store_close(s);
        return;
    }
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_log_lock(s, &head, NULL, NULL), 0);
    struct waiter w = {.s = fx_store_open_again(), .rc = -1, .head = -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_for_the_lock, &w), 0);
    /* until the waiter waits: an advisory lock not granted */
    int64_t waiting = 0;
    for (int i = 0; i < 500 && waiting == 0; i++) {
        waiting = fx_sql_int64(fx_uri, "SELECT 0",
                               "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                               " AND NOT granted AND database = (SELECT oid FROM pg_database"
                               " WHERE datname = current_database())",
                               NULL);
        if (waiting == 0)
            nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    assert_int_equal(waiting, 1);
    int64_t last = add(s, b, 2, NULL, "u", 2);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.head, last);
    sy_store_close(w.s);
    fx_store_close(s);
}

/* sy_store_begin_read reads one snapshot: once it has read, an event another handle appends
 * and commits is not seen until the transaction ends. Both backends: PostgreSQL's REPEATABLE
 * READ, and SQLite's deferred BEGIN, whose first read fixes what it sees (WAL). */
static void a_read_transaction_sees_one_snapshot(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_store_t *other = fx_store_open_again();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    int64_t first = add(s, a, 1, NULL, "u", 1);
    assert_int_equal(sy_store_begin_read(s, NULL), 0);
    struct kept k = {0};
    assert_int_equal(sy_store_log_after(s, 0, 10, keep, &k, NULL), 0);
    assert_int_equal(k.n, 1);
    assert_int_equal(sy_store_begin(other, NULL), 0);
    int64_t later = add(other, b, 2, NULL, "v", 2);
    assert_int_equal(sy_store_commit(other, NULL), 0);
    assert_true(later > first);
    k = (struct kept){0};
    assert_int_equal(sy_store_log_after(s, 0, 10, keep, &k, NULL), 0);
    assert_int_equal(k.n, 1); /* the snapshot of the first read */
    int64_t last = -1;
    assert_int_equal(sy_store_event_last(s, &last, NULL), 0);
    assert_int_equal(last, first);
    sy_store_rollback(s);
    k = (struct kept){0};
    assert_int_equal(sy_store_log_after(s, 0, 10, keep, &k, NULL), 0);
    assert_int_equal(k.n, 2);
    assert_int_equal(k.e[1].seq, later);
    assert_int_equal(k.e[1].workspace, b);
    sy_store_close(other);
    fx_store_close(s);
}

/* Row-level security holds: the application role's own read of the events, no workspace
 * set, sees none of them, where sy_store_log_after (through the owner's function) sees every
 * workspace's. */
static void the_log_is_read_whole_yet_the_table_stays_hidden(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = workspace(s, "a"), b = workspace(s, "b");
    add(s, a, 1, NULL, "u", 1);
    add(s, b, 2, NULL, "u", 2);
    add(s, a, 1, NULL, "u", 3);
    struct kept k = {0};
    assert_int_equal(sy_store_log_after(s, 0, 10, keep, &k, NULL), 0);
    assert_int_equal(k.n, 3);
    assert_int_equal(fx_sql_int64(fx_uri, "SELECT count(*) FROM events", NULL, NULL), 3);
#ifdef SY_HAVE_PQ
    if (!fx_is_pg()) /* SQLite has no roles */
        goto out;
    PGconn *c = PQconnectdb(fx_uri); /* the application role, as the store connects */
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, "SELECT count(*) FROM events");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    r = PQexec(c, "SELECT count(*) FROM allocation_changes");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    /* its workspace's rows only, once set */
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT set_config('app.workspace_id', '%lld', false)",
             (long long)a);
    PQclear(PQexec(c, sql));
    r = PQexec(c, "SELECT count(*) FROM events");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "2");
    PQclear(r);
    PQfinish(c);
out:
#endif
    fx_store_close(s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_event_id_is_written_once_per_experiment),
        cmocka_unit_test(an_empty_log_has_place_0_and_no_rows),
        cmocka_unit_test(an_event_comes_back_field_by_field),
        cmocka_unit_test(event_doubles_round_trip_exactly),
        cmocka_unit_test(a_megabyte_unit_is_kept_whole),
        cmocka_unit_test(reads_across_workspaces_keep_the_order_of_the_log),
        cmocka_unit_test(a_long_log_is_read_whole_and_in_order),
        cmocka_unit_test(a_long_log_of_many_workspaces_comes_in_one_order),
        cmocka_unit_test(a_rollback_leaves_no_event),
        cmocka_unit_test(a_failed_append_writes_nothing),
        cmocka_unit_test(events_of_experiments_are_read_in_their_workspace),
        cmocka_unit_test(a_prune_thins_ids_deletes_the_rest_and_spares_the_newest),
        cmocka_unit_test(a_prune_deletes_the_ids_of_an_ended_experiment),
        cmocka_unit_test(the_list_leaves_out_what_retention_pruned),
        cmocka_unit_test(event_add_rate_in_a_transaction_of_1000),
        cmocka_unit_test(a_batch_is_written_as_its_events_one_by_one),
        cmocka_unit_test(a_long_batch_of_many_workspaces_lands_whole_and_in_order),
        cmocka_unit_test(a_batch_keeps_odd_strings_and_doubles_exactly),
        cmocka_unit_test(a_failed_batch_rolls_back_whole),
        cmocka_unit_test(each_statement_of_a_batch_can_fail_it),
        cmocka_unit_test(event_add_many_rate_against_one_by_one),
        cmocka_unit_test(a_kpi_window_mean_keeps_its_digits),
        cmocka_unit_test(a_kpi_span_leaves_its_gap_out),
        cmocka_unit_test(kpi_series_and_ids_belong_to_their_workspace),
        cmocka_unit_test(a_rollback_leaves_no_kpi_event),
        cmocka_unit_test(kpi_values_round_trip_exactly),
        cmocka_unit_test(a_kpi_prune_takes_the_first_across_workspaces),
        cmocka_unit_test(a_kpi_prune_of_one_series_keeps_its_window),
        cmocka_unit_test(regression_policies_are_put_once_or_replaced),
        cmocka_unit_test(regression_policies_of_every_workspace_come_by_workspace_then_name),
        cmocka_unit_test(a_regression_state_of_a_megabyte_and_a_rollback),
        cmocka_unit_test(the_log_after_a_place_is_every_workspaces_in_order),
        cmocka_unit_test(the_log_after_reads_in_the_transaction_and_shows_thinned_rows),
        cmocka_unit_test(the_log_lock_gives_the_last_place_of_every_workspace),
        cmocka_unit_test(the_log_lock_is_held_to_the_end_of_the_transaction_or_the_unlock),
        cmocka_unit_test(a_waiter_for_the_log_lock_reads_what_the_holder_committed),
        cmocka_unit_test(a_read_transaction_sees_one_snapshot),
        cmocka_unit_test(the_log_is_read_whole_yet_the_table_stays_hidden),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
