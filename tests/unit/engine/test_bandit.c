/* test_bandit.c - experiments that run as bandits, on a fake clock: equal weights through
 * the burn-in, then a look on the cadence that moves the split toward the arm most likely
 * best, each move one change (the flag's split as OFREP serves it, the history row
 * "bandit", the audit event experiment.bandit_update, the notification bandit_update), the
 * floor held when one arm is certain, no look between two; the results' "bandit"; the
 * definition's refusals naming the field and PATCH's rules (on/off and the burn-in fixed
 * once started, the cadence and the floor not); no guarded step for a bandit; the kill
 * switch holds its looks; a restart keeps the cadence (no look at once); a floor raised
 * above a weight holds from the next tick; in a layer, with CUPED, a re-weighting keeps the
 * flag's layer gate (after a restart too); two days of re-weightings raise no SRM alarm and
 * their history and audit counts agree; a floor of 0 takes arms to 0 with no SRM alarm;
 * rollbacks (an emergency one too) end the looks. */
#define _DEFAULT_SOURCE

#include "codec/api_json.h"
#include "fixture.h"
#include "flags_json.h"
#include "results_adapt.h"

#define MIN_MS  60000
#define HOUR_MS 3600000

static const char *const bandit_def =
    "{\"key\":\"e\",\"bandit\":{\"update_minutes\":60,\"min_weight_pct\":10,"
    "\"burn_in_hours\":2},\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},"
    "{\"key\":\"b\",\"weight\":1},{\"key\":\"c\",\"weight\":1}]}";

static void on_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)r;
    (void)err;
    *(int *)arg = rc;
}

static const char *traffic_to = "e"; /* the experiment traffic() sends to */

/* `n` units of `variant` (ids "<variant><first + i>"), `conv` of them converting. */
static void traffic(struct fixture *f, const char *variant, int first, int n, int conv)
{
    char(*id)[24] = calloc((size_t)n, sizeof(*id));
    sy_event_t *ev = calloc(2 * (size_t)n, sizeof(*ev));
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        snprintf(id[i], sizeof(id[i]), "%s%d", variant, first + i);
        sy_event_t x = {.kind = SY_EVENT_EXPOSURE,
                        .experiment = traffic_to,
                        .experiment_len = strlen(traffic_to),
                        .unit = id[i],
                        .unit_len = strlen(id[i]),
                        .variant = variant,
                        .variant_len = strlen(variant),
                        .success = -1};
        ev[k++] = x;
        x.kind = SY_EVENT_OUTCOME;
        x.variant = NULL;
        x.variant_len = 0;
        x.success = i < conv;
        ev[k++] = x;
    }
    for (size_t off = 0; off < k; off += SY_EVENTS_MAX) {
        int rc = -1;
        size_t m = k - off < SY_EVENTS_MAX ? k - off : SY_EVENTS_MAX;
        assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev + off, m, on_done, &rc, NULL),
                         0);
        sy_engine_events_commit(f->eng);
        assert_int_equal(rc, 0);
    }
    free(id);
    free(ev);
}

static void tick(struct fixture *f)
{
    sy_tick_report_t r;
    sy_engine_tick(f->eng, &r);
    sy_tick_report_free(&r);
}

/* The flag's split as OFREP and the library serve it: variant's points, -1 if absent. */
static json_int_t split_of(struct fixture *f, const char *variant)
{
    json_t *def = NULL;
    assert_int_equal(flag_get_json(f->eng, &f->who, "e", &def, NULL), 0);
    json_t *frac = json_object_get(json_object_get(def, "targeting"), "fractional");
    json_int_t w = -1;
    size_t i;
    json_t *pair;
    json_array_foreach(frac, i, pair)
    {
        if (strcmp(json_string_value(json_array_get(pair, 0)), variant) == 0)
            w = json_integer_value(json_array_get(pair, 1));
    }
    json_decref(def);
    return w;
}

static json_t *bandit_of(struct fixture *f)
{
    json_t *r = NULL;
    sy_err_t err = {0};
    if (results_json(f->eng, &f->who, "e", &r, &err) < 0)
        fail_msg("results: %s", err.msg);
    json_t *b = json_incref(json_object_get(r, "bandit"));
    json_decref(r);
    assert_non_null(b);
    return b;
}

static int64_t count_of(const char *sqlite, const char *pg, const char *arg)
{
    return fx_sql_int64(fx_uri, sqlite, pg, arg);
}

static int64_t audits(const char *action)
{
    return count_of("SELECT count(*) FROM audit WHERE action = ?1",
                    "SELECT count(*) FROM audit WHERE action = $1", action);
}

/* The payload of the newest notification of `event` (NULL: none). */
static json_t *told(const char *event)
{
    json_t *p = NULL;
    char *text = fx_sql_text(fx_uri,
                             "SELECT payload FROM notifications WHERE event = ?1 "
                             "ORDER BY id DESC LIMIT 1",
                             "SELECT payload FROM notifications WHERE event = $1 "
                             "ORDER BY id DESC LIMIT 1",
                             event);
    if (text) {
        json_error_t je;
        p = json_loads(text, 0, &je);
        free(text);
    }
    return p;
}

static void channel(struct fixture *f)
{
    const sy_channel_spec_t spec = {
        .type = "webhook", .url = "http://127.0.0.1:9/", .secret = "0123456789abcdef"};
    sy_channel_t ch;
    sy_err_t err = {0};
    if (sy_engine_channel_create(f->eng, &f->who, &spec, &ch, &err) < 0)
        fail_msg("channel: %s", err.msg);
}

/* The history's changes (a JSON array, new reference). */
static json_t *changes(struct fixture *f)
{
    json_t *h = NULL;
    assert_int_equal(history_array(f->eng, &f->who, "e", 0, &h, NULL), 0);
    return h;
}

static void burn_in_keeps_equal_weights_then_looks_on_the_cadence(void **state)
{
    struct fixture *f = *state;
    channel(f);
    int64_t start = fake_ms;
    create_started(f, bandit_def, "e");
    assert_int_equal(split_of(f, "a"), 34);
    assert_int_equal(split_of(f, "b"), 33);
    traffic(f, "a", 0, 300, 30);
    traffic(f, "b", 0, 300, 60);
    traffic(f, "c", 0, 300, 30);
    /* a minute before the burn-in ends: nothing moves, however clear the data */
    fake_ms = start + 2 * HOUR_MS - MIN_MS;
    tick(f);
    assert_int_equal(split_of(f, "b"), 33);
    json_t *b = bandit_of(f);
    assert_int_equal(json_integer_value(json_object_get(b, "burn_in_until_ms")),
                     start + 2 * HOUR_MS);
    assert_int_equal(json_integer_value(json_object_get(b, "next_update_ms")), start + 2 * HOUR_MS);
    assert_int_equal(json_integer_value(json_object_get(b, "updates")), 0);
    assert_string_equal(json_string_value(json_object_get(b, "best")), "b");
    assert_true(json_real_value(json_object_get(json_object_get(b, "probability_best"), "b")) >
                0.99);
    assert_true(json_real_value(json_object_get(b, "regret")) > 25); /* 600 * ~0.1 / 2 */
    json_decref(b);
    /* its end: the look moves b up, every arm at its floor of 10 at least */
    fake_ms = start + 2 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "b"), 80);
    assert_int_equal(split_of(f, "a"), 10);
    assert_int_equal(split_of(f, "c"), 10);
    b = bandit_of(f);
    assert_int_equal(json_integer_value(json_object_get(b, "updates")), 1);
    assert_int_equal(json_integer_value(json_object_get(b, "next_update_ms")), start + 3 * HOUR_MS);
    json_decref(b);
    json_t *h = changes(f);
    assert_int_equal(json_array_size(h), 1);
    json_t *row = json_array_get(h, 0);
    assert_string_equal(json_string_value(json_object_get(row, "action")), "bandit");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(row, "after"), "b")), 80);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(row, "before"), "b")), 33);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(row, "detail"), "winner")), "b");
    json_decref(h);
    assert_int_equal(audits("experiment.bandit_update"), 1);
    json_t *n = told("bandit_update");
    assert_non_null(n);
    assert_non_null(strstr(json_string_value(json_object_get(n, "title")),
                           "e: bandit re-weighted to a=10 b=80 c=10 (best b"));
    json_decref(n);
    /* the experiment still runs (no promotion), and nothing looks before the next hour */
    json_t *x = exp_get_json(f, "e", NULL);
    assert_string_equal(json_string_value(json_object_get(x, "state")), "running");
    json_decref(x);
    traffic(f, "c", 300, 3000, 900); /* c now clearly the best */
    fake_ms = start + 3 * HOUR_MS - MIN_MS;
    tick(f);
    assert_int_equal(split_of(f, "c"), 10);
    fake_ms = start + 3 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "c"), 80);
    assert_int_equal(audits("experiment.bandit_update"), 2);
    b = bandit_of(f);
    assert_int_equal(json_integer_value(json_object_get(b, "updates")), 2);
    assert_string_equal(json_string_value(json_object_get(b, "best")), "c");
    json_decref(b);
    /* a look whose weights are the current ones writes nothing */
    fake_ms = start + 4 * HOUR_MS;
    tick(f);
    assert_int_equal(audits("experiment.bandit_update"), 2);
    h = changes(f);
    assert_int_equal(json_array_size(h), 2);
    json_decref(h);
}

/* A restart mid-run: the next look stays where the cadence put it (an hour after the last
 * re-weighting), none at once because the engine forgot when it last looked. */
/* A first look that changed nothing (no data yet), then a restart: the next look on the
 * cadence from the burn-in's end, not one at once. */
static void a_restart_after_a_look_that_changed_nothing_waits(void **state)
{
    struct fixture *f = *state;
    int64_t start = fake_ms;
    create_started(f, bandit_def, "e");
    fake_ms = start + 2 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "b"), 33);
    traffic(f, "a", 0, 300, 30);
    traffic(f, "b", 0, 300, 60);
    traffic(f, "c", 0, 300, 30);
    fake_ms = start + 2 * HOUR_MS + 10 * MIN_MS;
    sy_engine_close(f->eng);
    f->eng = open_engine();
    tick(f);
    assert_int_equal(split_of(f, "b"), 33);
    json_t *b = bandit_of(f);
    assert_int_equal(json_integer_value(json_object_get(b, "next_update_ms")), start + 3 * HOUR_MS);
    json_decref(b);
    fake_ms = start + 3 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "b"), 80);
    assert_int_equal(audits("experiment.bandit_update"), 1);
}

static void a_restart_keeps_the_cadence(void **state)
{
    struct fixture *f = *state;
    int64_t start = fake_ms;
    create_started(f, bandit_def, "e");
    traffic(f, "a", 0, 300, 30);
    traffic(f, "b", 0, 300, 60);
    traffic(f, "c", 0, 300, 30);
    fake_ms = start + 2 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "b"), 80);
    traffic(f, "c", 300, 3000, 900); /* c now clearly the best */
    fake_ms = start + 2 * HOUR_MS + 10 * MIN_MS;
    sy_engine_close(f->eng);
    f->eng = open_engine();
    json_t *b = bandit_of(f);
    assert_int_equal(json_integer_value(json_object_get(b, "next_update_ms")), start + 3 * HOUR_MS);
    json_decref(b);
    tick(f);
    assert_int_equal(split_of(f, "c"), 10);
    fake_ms = start + 3 * HOUR_MS - MIN_MS;
    tick(f);
    assert_int_equal(split_of(f, "c"), 10);
    assert_int_equal(audits("experiment.bandit_update"), 1);
    fake_ms = start + 3 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "c"), 80);
    assert_int_equal(audits("experiment.bandit_update"), 2);
    /* down through a look: the next one on the cadence's grid, not one at once */
    fake_ms = start + 4 * HOUR_MS + 30 * MIN_MS;
    sy_engine_close(f->eng);
    f->eng = open_engine();
    traffic(f, "a", 300, 30000, 20000); /* a now clearly the best */
    tick(f);
    assert_int_equal(split_of(f, "a"), 10);
    fake_ms = start + 5 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "a"), 80);
    assert_int_equal(audits("experiment.bandit_update"), 3);
}

/* The flag's targeting (new reference). */
static json_t *targeting_of(struct fixture *f)
{
    json_t *def = NULL;
    assert_int_equal(flag_get_json(f->eng, &f->who, "e", &def, NULL), 0);
    json_t *t = json_incref(json_object_get(def, "targeting"));
    json_decref(def);
    return t;
}

/* A bandit in a layer, with CUPED: a re-weighting keeps the flag's layer gate (only the
 * split inside it moves), and its results hold no NaN. */
static void a_bandit_in_a_layer_keeps_its_gate(void **state)
{
    struct fixture *f = *state;
    int64_t start = fake_ms;
    sy_layer_change_t c = {.name = "L", .has_holdout = true, .holdout_pct = 10};
    sy_layer_t *l = malloc(sizeof(*l));
    sy_err_t err = {0};
    if (sy_engine_layer_create(f->eng, &f->who, &c, l, &err) < 0)
        fail_msg("layer create: %s (%s)", err.msg, err.field);
    free(l);
    create_started(f,
                   "{\"key\":\"e\",\"bandit\":{\"update_minutes\":60,\"min_weight_pct\":10,"
                   "\"burn_in_hours\":2},\"cuped\":{\"enabled\":true},\"layer\":{\"name\":\"L\","
                   "\"pct\":50},\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},"
                   "{\"key\":\"b\",\"weight\":1},{\"key\":\"c\",\"weight\":1}]}",
                   "e");
    json_t *before = targeting_of(f);
    traffic(f, "a", 0, 300, 30);
    traffic(f, "b", 0, 300, 60);
    traffic(f, "c", 0, 300, 30);
    fake_ms = start + 2 * HOUR_MS;
    tick(f);
    assert_int_equal(audits("experiment.bandit_update"), 1);
    /* the same targeting, the layer's gate and holdout in it, the split inside it moved */
    json_t *want = json_deep_copy(before);
    json_t *split = json_pack("{s[[si][si][si]]}", "fractional", "a", 10, "b", 80, "c", 10);
    json_t *branches = json_object_get(want, "if");
    assert_int_equal(json_array_size(branches), 7);
    assert_non_null(json_object_get(json_array_get(branches, 3), "fractional"));
    json_array_set_new(branches, 3, split);
    json_t *after = targeting_of(f);
    assert_true(json_equal(after, want));
    json_decref(after);
    /* and after a restart, from the store */
    sy_engine_close(f->eng);
    f->eng = open_engine();
    after = targeting_of(f);
    assert_true(json_equal(after, want));
    json_decref(after);
    json_decref(want);
    json_decref(before);
    json_t *r = NULL;
    if (results_json(f->eng, &f->who, "e", &r, &err) < 0)
        fail_msg("results: %s", err.msg);
    assert_non_null(json_object_get(r, "cuped"));
    assert_non_null(json_object_get(r, "bandit"));
    json_decref(r);
}

/* Two days of hourly looks, each hour's units split by the current weights (a seeded
 * draw of each unit's variant and its conversion, b the best at 14 % against 10 %): the
 * weights stay whole points summing to 100, never below the floor, and the results' SRM
 * raises no alarm however often the split moved. */
static void srm_keeps_quiet_over_many_reweightings(void **state)
{
    struct fixture *f = *state;
    int64_t start = fake_ms;
    create_started(f, bandit_def, "e");
    const char *const v[3] = {"a", "b", "c"};
    const double rate[3] = {0.10, 0.14, 0.10};
    int next[3] = {0, 0, 0};
    uint64_t s = 12345;
    for (int hour = 1; hour <= 48; hour++) {
        json_int_t w[3], sum = 0;
        for (int i = 0; i < 3; i++) {
            w[i] = split_of(f, v[i]);
            assert_true(w[i] >= (hour > 2 ? 10 : 33));
            sum += w[i];
        }
        assert_int_equal(sum, 100);
        /* the hour's units in the order they come, the variants interleaved (a batch of
         * one variant alone would be a mismatch the sequential test rightly sees) */
        char id[400][24];
        sy_event_t ev[800];
        size_t k = 0;
        for (int u = 0; u < 400; u++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            double x = (double)(s >> 11) / 9007199254740992.0 * 100;
            int i = x < (double)w[0] ? 0 : x < (double)(w[0] + w[1]) ? 1 : 2;
            s = s * 6364136223846793005u + 1442695040888963407u;
            bool converts = (double)(s >> 11) / 9007199254740992.0 < rate[i];
            snprintf(id[u], sizeof(id[u]), "%s%d", v[i], next[i]++);
            sy_event_t e = {.kind = SY_EVENT_EXPOSURE,
                            .experiment = "e",
                            .experiment_len = 1,
                            .unit = id[u],
                            .unit_len = strlen(id[u]),
                            .variant = v[i],
                            .variant_len = 1,
                            .success = -1};
            ev[k++] = e;
            e.kind = SY_EVENT_OUTCOME;
            e.variant = NULL;
            e.variant_len = 0;
            e.success = converts;
            ev[k++] = e;
        }
        fake_ms = start + (hour - 1) * HOUR_MS + 30 * MIN_MS; /* past the SRM's grace */
        for (size_t off = 0; off < k; off += SY_EVENTS_MAX) {
            int rc = -1;
            size_t m = k - off < SY_EVENTS_MAX ? k - off : SY_EVENTS_MAX;
            assert_int_equal(
                sy_engine_events_submit(f->eng, &f->who, ev + off, m, on_done, &rc, NULL), 0);
            sy_engine_events_commit(f->eng);
            assert_int_equal(rc, 0);
        }
        fake_ms = start + hour * HOUR_MS;
        tick(f);
    }
    assert_true(split_of(f, "b") > 50);
    json_t *r = NULL;
    sy_err_t err = {0};
    if (results_json(f->eng, &f->who, "e", &r, &err) < 0)
        fail_msg("results: %s", err.msg);
    json_t *srm = json_object_get(r, "srm");
    assert_true(json_is_false(json_object_get(srm, "mismatch")));
    json_decref(r);
    /* history and audit agree with the count of re-weightings */
    json_t *b = bandit_of(f);
    json_t *h = changes(f);
    assert_int_equal(json_integer_value(json_object_get(b, "updates")), json_array_size(h));
    assert_int_equal(audits("experiment.bandit_update"), (int64_t)json_array_size(h));
    assert_true(json_array_size(h) >= 2);
    json_decref(h);
    json_decref(b);
}

/* A rollback, and an emergency rollback, end the looks: no re-weighting after them. */
static void rollbacks_end_the_looks(void **state)
{
    struct fixture *f = *state;
    int64_t start = fake_ms;
    create_started(f, bandit_def, "e");
    traffic(f, "a", 0, 300, 30);
    traffic(f, "b", 0, 300, 60);
    traffic(f, "c", 0, 300, 30);
    sy_err_t err = {0};
    assert_int_equal(sy_engine_experiment_rollback(f->eng, &f->who, "e", NULL, &err), 0);
    fake_ms = start + 3 * HOUR_MS;
    tick(f);
    assert_int_equal(audits("experiment.bandit_update"), 0);
    assert_int_equal(split_of(f, "a"), 100);
    json_t *b = bandit_of(f);
    assert_true(json_is_null(json_object_get(b, "next_update_ms")));
    json_decref(b);
    /* another, rolled back with every running experiment */
    json_t *def = json_loads(bandit_def, 0, NULL);
    json_object_set_new(def, "key", json_string("e2"));
    json_object_set_new(def, "flag", json_string("e2"));
    assert_int_equal(exp_create_json(f, def, NULL, &err), 0);
    json_decref(def);
    assert_int_equal(exp_transition(f, "e2", "running", &err), 0);
    traffic_to = "e2";
    traffic(f, "a", 0, 300, 30);
    traffic(f, "b", 0, 300, 60);
    traffic(f, "c", 0, 300, 30);
    traffic_to = "e";
    sy_emergency_report_t rep;
    memset(&rep, 0, sizeof(rep));
    assert_int_equal(sy_engine_emergency_rollback(f->eng, &f->who, "drill", &rep, &err), 0);
    fake_ms = start + 10 * HOUR_MS;
    tick(f);
    assert_int_equal(audits("experiment.bandit_update"), 0);
}

/* A floor of 0: the arms far behind go to 0 points, and the units they had before raise no
 * "units reached a variant whose weight is 0" alarm (the SRM reads the weights each unit
 * was assigned under); late exposures to them neither. */
static void a_floor_of_0_takes_arms_to_0_without_an_srm_alarm(void **state)
{
    struct fixture *f = *state;
    int64_t start = fake_ms;
    create_started(f,
                   "{\"key\":\"e\",\"bandit\":{\"update_minutes\":60,\"min_weight_pct\":0,"
                   "\"burn_in_hours\":2},\"variants\":[{\"key\":\"a\",\"weight\":1,"
                   "\"control\":true},{\"key\":\"b\",\"weight\":1},{\"key\":\"c\",\"weight\":1}]}",
                   "e");
    for (int i = 0; i < 30; i++) { /* interleaved, as the units come */
        traffic(f, "a", 10 * i, 10, 1);
        traffic(f, "b", 10 * i, 10, 5);
        traffic(f, "c", 10 * i, 10, 1);
    }
    fake_ms = start + 2 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "b"), 100);
    fake_ms += 5 * MIN_MS;
    traffic(f, "a", 300, 2, 0); /* late, in the SRM's grace: assigned before the change */
    fake_ms += 25 * MIN_MS;
    traffic(f, "b", 300, 300, 150);
    json_t *r = NULL;
    sy_err_t err = {0};
    if (results_json(f->eng, &f->who, "e", &r, &err) < 0)
        fail_msg("results: %s", err.msg);
    json_t *srm = json_object_get(r, "srm");
    assert_true(json_is_false(json_object_get(srm, "units_in_zero_weight_variant")));
    assert_true(json_is_false(json_object_get(srm, "mismatch")));
    json_decref(r);
}

static void no_guarded_step_for_a_bandit(void **state)
{
    struct fixture *f = *state;
    create_started(f, bandit_def, "e");
    sy_step_request_t q = {.winning_variant = "b", .confidence = 0.99, .delta = 5};
    sy_step_answer_t a;
    sy_err_t err = {0};
    assert_int_equal(sy_engine_allocation_apply(f->eng, &f->who, "e", &q, &a, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "bandit");
    assert_int_equal(split_of(f, "b"), 33);
    /* a manual promotion still works */
    sy_promote_request_t p = {.variant = "b"};
    assert_int_equal(sy_engine_experiment_promote(f->eng, &f->who, "e", &p, &err), 0);
    assert_int_equal(split_of(f, "b"), 100);
    /* and a promoted bandit looks no more */
    fake_ms += 48 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "b"), 100);
    json_t *b = bandit_of(f);
    assert_true(json_is_null(json_object_get(b, "next_update_ms")));
    json_decref(b);
}

static void the_kill_switch_holds_the_looks(void **state)
{
    struct fixture *f = *state;
    int64_t start = fake_ms;
    create_started(f, bandit_def, "e");
    traffic(f, "b", 0, 300, 150);
    traffic(f, "a", 0, 300, 10);
    traffic(f, "c", 0, 300, 10);
    sy_kill_switch_change_t k = {.engaged = true, .reason = "incident"};
    sy_kill_switch_t ks;
    sy_err_t err = {0};
    assert_int_equal(sy_engine_kill_switch_put(f->eng, &f->who, &k, &ks, &err), 0);
    fake_ms = start + 2 * HOUR_MS;
    tick(f);
    assert_int_equal(audits("experiment.bandit_update"), 0);
    k.engaged = false;
    assert_int_equal(sy_engine_kill_switch_put(f->eng, &f->who, &k, &ks, &err), 0);
    fake_ms = start + 3 * HOUR_MS;
    tick(f);
    assert_int_equal(audits("experiment.bandit_update"), 1);
}

/* PATCH's body `patch` over e's definition: 0 or the refusal. */
static int patch(struct fixture *f, const char *patch_text, sy_err_t *err)
{
    sy_experiment_t x;
    assert_int_equal(sy_engine_experiment_get(f->eng, &f->who, "e", &x, NULL), 0);
    json_t *p = json_loads(patch_text, 0, NULL);
    sy_exp_def_t d;
    int rc = sy_exp_def_patch(&x.def, p, &d, err);
    json_decref(p);
    if (rc < 0)
        return rc;
    rc = sy_engine_experiment_update(f->eng, &f->who, "e", &d, NULL, err);
    sy_exp_def_clear(&d);
    return rc;
}

/* A floor raised above a variant's weight: the next tick looks (a split below the floor
 * served until the next look on the cadence, an hour, would break the floor), and the
 * cadence counts from that look. */
static void a_raised_floor_holds_at_the_next_tick(void **state)
{
    struct fixture *f = *state;
    int64_t start = fake_ms;
    create_started(f, bandit_def, "e");
    traffic(f, "a", 0, 300, 30);
    traffic(f, "b", 0, 300, 60);
    traffic(f, "c", 0, 300, 30);
    fake_ms = start + 2 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "a"), 10);
    fake_ms = start + 2 * HOUR_MS + 10 * MIN_MS;
    sy_err_t err = {0};
    assert_int_equal(patch(f, "{\"bandit\":{\"min_weight_pct\":20}}", &err), 0);
    json_t *b = bandit_of(f);
    assert_int_equal(json_integer_value(json_object_get(b, "next_update_ms")), fake_ms);
    json_decref(b);
    tick(f);
    assert_int_equal(split_of(f, "a"), 20);
    assert_int_equal(split_of(f, "b"), 60);
    assert_int_equal(split_of(f, "c"), 20);
    assert_int_equal(audits("experiment.bandit_update"), 2);
    b = bandit_of(f);
    assert_int_equal(json_integer_value(json_object_get(b, "next_update_ms")),
                     start + 3 * HOUR_MS + 10 * MIN_MS);
    json_decref(b);
    /* a floor lowered, or raised to no weight's harm, waits for the cadence */
    assert_int_equal(patch(f, "{\"bandit\":{\"min_weight_pct\":5}}", &err), 0);
    tick(f);
    assert_int_equal(split_of(f, "a"), 20);
    assert_int_equal(audits("experiment.bandit_update"), 2);
}

static void patch_changes_the_cadence_and_floor_not_the_rest(void **state)
{
    struct fixture *f = *state;
    int64_t start = fake_ms;
    create_started(f, bandit_def, "e");
    sy_err_t err = {0};
    assert_int_equal(patch(f, "{\"bandit\":null}", &err), SY_ECONFLICT);
    assert_string_equal(err.field, "bandit");
    assert_int_equal(patch(f, "{\"bandit\":{\"burn_in_hours\":1}}", &err), SY_ECONFLICT);
    assert_string_equal(err.field, "bandit.burn_in_hours");
    assert_int_equal(patch(f, "{\"bandit\":{\"min_weight_pct\":34}}", &err), -EINVAL);
    assert_string_equal(err.field, "bandit.min_weight_pct");
    assert_int_equal(patch(f, "{\"bandit\":{\"update_minutes\":1.5}}", &err), -EINVAL);
    assert_string_equal(err.field, "bandit.update_minutes");
    assert_int_equal(patch(f, "{\"bandit\":{\"every\":1}}", &err), SY_EUNKNOWN);
    assert_string_equal(err.field, "bandit.every");
    assert_int_equal(patch(f, "{\"bandit\":{\"update_minutes\":15,\"min_weight_pct\":20}}", &err),
                     0);
    json_t *x = exp_get_json(f, "e", NULL);
    json_t *bd = json_object_get(x, "bandit");
    assert_int_equal(json_integer_value(json_object_get(bd, "update_minutes")), 15);
    assert_int_equal(json_integer_value(json_object_get(bd, "min_weight_pct")), 20);
    assert_true(json_real_value(json_object_get(bd, "burn_in_hours")) == 2);
    json_decref(x);
    traffic(f, "b", 0, 400, 300);
    traffic(f, "a", 0, 400, 10);
    traffic(f, "c", 0, 400, 10);
    fake_ms = start + 2 * HOUR_MS;
    tick(f);
    assert_int_equal(split_of(f, "b"), 60); /* 20 + 40 * 1 */
    assert_int_equal(split_of(f, "a"), 20);
    json_t *b = bandit_of(f);
    assert_int_equal(json_integer_value(json_object_get(b, "next_update_ms")),
                     start + 2 * HOUR_MS + 15 * MIN_MS);
    json_decref(b);
}

static void definitions_that_cannot_run_are_refused_naming_the_field(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *def, *field;
        int code;
    } bad[] = {
        {"{\"key\":\"e\",\"bandit\":{},\"variants\":[{\"key\":\"a\",\"weight\":60,\"control\":"
         "true},{\"key\":\"b\",\"weight\":40}]}",
         "variants", -EINVAL},
        {"{\"key\":\"e\",\"bandit\":{\"update_minutes\":0},\"variants\":[{\"key\":\"a\",\"weight\":"
         "1,\"control\":true},{\"key\":\"b\",\"weight\":1}]}",
         "bandit.update_minutes", -EINVAL},
        {"{\"key\":\"e\",\"bandit\":{\"min_weight_pct\":51},\"variants\":[{\"key\":\"a\","
         "\"weight\":1,\"control\":true},{\"key\":\"b\",\"weight\":1}]}",
         "bandit.min_weight_pct", -EINVAL},
        {"{\"key\":\"e\",\"bandit\":{\"min_weight_pct\":26},\"variants\":[{\"key\":\"a\","
         "\"weight\":1,\"control\":true},{\"key\":\"b\",\"weight\":1},{\"key\":\"c\",\"weight\":1},"
         "{\"key\":\"d\",\"weight\":1}]}",
         "bandit.min_weight_pct", -EINVAL},
        {"{\"key\":\"e\",\"bandit\":{\"burn_in_hours\":-1},\"variants\":[{\"key\":\"a\","
         "\"weight\":1,\"control\":true},{\"key\":\"b\",\"weight\":1}]}",
         "bandit.burn_in_hours", -EINVAL},
        {"{\"key\":\"e\",\"bandit\":true,\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":"
         "true},{\"key\":\"b\",\"weight\":1}]}",
         "bandit", -EINVAL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *def = json_loads(bad[i].def, 0, NULL);
        sy_err_t err = {0};
        assert_int_equal(exp_create_json(f, def, NULL, &err), bad[i].code);
        assert_string_equal(err.field, bad[i].field);
        json_decref(def);
    }
    /* defaults when given empty, and stored as normalized */
    json_t *def = json_loads("{\"key\":\"e\",\"bandit\":{},\"variants\":[{\"key\":\"a\",\"weight\":"
                             "5,\"control\":true},{\"key\":\"b\",\"weight\":5}]}",
                             0, NULL);
    json_t *out = NULL;
    assert_int_equal(exp_create_json(f, def, &out, NULL), 0);
    json_t *bd = json_object_get(out, "bandit");
    assert_int_equal(json_integer_value(json_object_get(bd, "update_minutes")), 60);
    assert_int_equal(json_integer_value(json_object_get(bd, "min_weight_pct")), 5);
    assert_true(json_real_value(json_object_get(bd, "burn_in_hours")) == 24);
    json_decref(def);
    json_decref(out);
}

/* A 2-arm bandit whose b clearly wins (a 500 of 5,000, b 650 of 5,000), with `promotion`
 * ("steps" or "full"): what the auto-promotion check does with it. */
static sy_auto_action_t auto_check(struct fixture *f, const char *promotion, char *reason,
                                   size_t cap)
{
    char def[512];
    snprintf(def, sizeof(def),
             "{\"key\":\"e\",\"bandit\":{},\"safety\":{\"promotion\":\"%s\","
             "\"min_runtime_hours\":0},\"variants\":[{\"key\":\"a\",\"weight\":1,"
             "\"control\":true},{\"key\":\"b\",\"weight\":1}]}",
             promotion);
    create_started(f, def, "e");
    /* side by side, as the 50/50 split sends them (all of a before any of b would be a
     * sample ratio mismatch at the first look) */
    enum { N = 5000 };
    char(*id)[16] = calloc(2 * N, sizeof(*id));
    sy_event_t *ev = calloc(4 * N, sizeof(*ev));
    size_t k = 0;
    for (int i = 0; i < 2 * N; i++) {
        const char *v = i % 2 ? "b" : "a";
        snprintf(id[i], sizeof(id[i]), "%s%d", v, i / 2);
        sy_event_t x = {.kind = SY_EVENT_EXPOSURE,
                        .experiment = traffic_to,
                        .experiment_len = strlen(traffic_to),
                        .unit = id[i],
                        .unit_len = strlen(id[i]),
                        .variant = v,
                        .variant_len = 1,
                        .success = -1};
        ev[k++] = x;
        x.kind = SY_EVENT_OUTCOME;
        x.variant = NULL;
        x.variant_len = 0;
        x.success = i / 2 % 100 < (i % 2 ? 13 : 10);
        ev[k++] = x;
    }
    for (size_t off = 0; off < k; off += SY_EVENTS_MAX) {
        int rc = -1;
        size_t m = k - off < SY_EVENTS_MAX ? k - off : SY_EVENTS_MAX;
        assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev + off, m, on_done, &rc, NULL),
                         0);
        sy_engine_events_commit(f->eng);
        assert_int_equal(rc, 0);
    }
    free(id);
    free(ev);
    sy_auto_report_t r;
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, NULL, 0, &r, NULL), 0);
    assert_int_equal(r.n, 1);
    sy_auto_action_t a = r.v[0].action;
    if (!(r.v[0].has_decision && r.v[0].decision == SY_DECISION_PROMOTE))
        fail_msg("decision %d: %s", r.v[0].decision, r.v[0].has_reason ? r.v[0].reason : "");
    snprintf(reason, cap, "%s", r.v[0].has_reason ? r.v[0].reason : "");
    free(r.v);
    return a;
}

static void the_check_takes_no_step_for_a_bandit(void **state)
{
    struct fixture *f = *state;
    char reason[256];
    assert_int_equal(auto_check(f, "steps", reason, sizeof(reason)), SY_AUTO_NONE);
    assert_string_equal(reason, "runs as a bandit: no guarded steps");
    assert_int_equal(split_of(f, "b"), 50);
}

static void promotion_full_promotes_a_bandits_winner_at_once(void **state)
{
    struct fixture *f = *state;
    char reason[256];
    assert_int_equal(auto_check(f, "full", reason, sizeof(reason)), SY_AUTO_PROMOTE);
    assert_int_equal(split_of(f, "b"), 100);
    json_t *x = exp_get_json(f, "e", NULL);
    assert_string_equal(json_string_value(json_object_get(x, "state")), "promoted");
    json_decref(x);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(burn_in_keeps_equal_weights_then_looks_on_the_cadence,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_restart_keeps_the_cadence, setup, teardown),
        cmocka_unit_test_setup_teardown(a_restart_after_a_look_that_changed_nothing_waits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_raised_floor_holds_at_the_next_tick, setup, teardown),
        cmocka_unit_test_setup_teardown(a_bandit_in_a_layer_keeps_its_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(srm_keeps_quiet_over_many_reweightings, setup, teardown),
        cmocka_unit_test_setup_teardown(rollbacks_end_the_looks, setup, teardown),
        cmocka_unit_test_setup_teardown(a_floor_of_0_takes_arms_to_0_without_an_srm_alarm, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_guarded_step_for_a_bandit, setup, teardown),
        cmocka_unit_test_setup_teardown(the_kill_switch_holds_the_looks, setup, teardown),
        cmocka_unit_test_setup_teardown(patch_changes_the_cadence_and_floor_not_the_rest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(definitions_that_cannot_run_are_refused_naming_the_field,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_check_takes_no_step_for_a_bandit, setup, teardown),
        cmocka_unit_test_setup_teardown(promotion_full_promotes_a_bandits_winner_at_once, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
