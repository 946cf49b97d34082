/* test_promotion.c - promotions on a fake clock, in the auto-promotion specification's
 * terms (seed_scenarios.json, "all five checks pass": control 500 of 5,000, treatment 600
 * of 5,000, an error rate of 0.01, 72 h against a minimum of 48): an experiment with
 * `safety.promotion` "full" goes to 100 % at once when the check (or its timer) finds the
 * winner, audited and in the history as a promotion, and not before its runtime; the
 * cooldown after an earlier step, the kill switch and manual approval still hold it; and
 * every promotion (full, manual, a step) tells its confidence, improvement and each
 * variant's sample, every rollback of the monitor its drop and threshold. */
#define _DEFAULT_SOURCE

#include "codec/api_json.h"
#include "fixture.h"
#include "flags_json.h"
#include "results_adapt.h"

#define HOUR_MS 3600000

static const char *const full_def =
    "{\"key\":\"e\",\"safety\":{\"promotion\":\"full\"},"
    "\"variants\":[{\"key\":\"control\",\"weight\":50,\"control\":true},"
    "{\"key\":\"treatment\",\"weight\":50}]}";

static void on_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)r;
    (void)err;
    *(int *)arg = rc;
}

/* Unit `id`'s events into ev[*k...]: its exposure to `variant`, an outcome of `success` (1
 * or 0; -1: none), an error if `err`. */
static void add_unit(sy_event_t *ev, size_t *k, const char *id, const char *variant, int success,
                     bool err)
{
    sy_event_t x = {.kind = SY_EVENT_EXPOSURE,
                    .experiment = "e",
                    .experiment_len = 1,
                    .unit = id,
                    .unit_len = strlen(id),
                    .variant = variant,
                    .variant_len = strlen(variant),
                    .success = -1};
    ev[(*k)++] = x;
    x.variant = NULL;
    x.variant_len = 0;
    if (success >= 0) {
        x.kind = SY_EVENT_OUTCOME;
        x.success = success;
        ev[(*k)++] = x;
    }
    if (err) {
        x.kind = SY_EVENT_ERROR;
        x.success = -1;
        ev[(*k)++] = x;
    }
}

/* Submits and commits `k` events. */
static void submit(struct fixture *f, const sy_event_t *ev, size_t k)
{
    for (size_t off = 0; off < k; off += SY_EVENTS_MAX) {
        int rc = -1;
        size_t m = k - off < SY_EVENTS_MAX ? k - off : SY_EVENTS_MAX;
        assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev + off, m, on_done, &rc, NULL),
                         0);
        sy_engine_events_commit(f->eng);
        assert_int_equal(rc, 0);
    }
}

/* The seed's five-checks-pass traffic: control 500 of 5,000, treatment 600 of 5,000 with
 * 50 errors (0.01), side by side as a 50/50 split sends it (all of control before any
 * treatment would be a sample ratio mismatch at the first look). */
static void seed_traffic(struct fixture *f)
{
    enum { N = 5000 };
    char(*id)[16] = calloc(2 * N, sizeof(*id));
    sy_event_t *ev = calloc(6 * N, sizeof(*ev));
    size_t k = 0;
    for (int i = 0; i < N; i++) {
        snprintf(id[2 * i], sizeof(id[0]), "c%d", i);
        snprintf(id[2 * i + 1], sizeof(id[0]), "t%d", i);
        add_unit(ev, &k, id[2 * i], "control", i % 10 == 0 ? 1 : -1, false);
        add_unit(ev, &k, id[2 * i + 1], "treatment", i % 25 < 3 ? 1 : -1, i % 100 == 99);
    }
    submit(f, ev, k);
    free(id);
    free(ev);
}

/* `n` units of variant "a" (ids from `first`), `success_pct` % of them successes. */
static void requests(struct fixture *f, int first, int n, int success_pct)
{
    char(*id)[16] = calloc((size_t)n, sizeof(*id));
    sy_event_t *ev = calloc(2 * (size_t)n, sizeof(*ev));
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        snprintf(id[i], sizeof(id[i]), "u%d", first + i);
        add_unit(ev, &k, id[i], "a", i < n * success_pct / 100, false); /* 1 or 0 */
    }
    submit(f, ev, k);
    free(id);
    free(ev);
}

/* A webhook channel taking everything, so that every notification is queued. */
static void channel(struct fixture *f)
{
    const sy_channel_spec_t spec = {
        .type = "webhook", .url = "http://127.0.0.1:9/", .secret = "0123456789abcdef"};
    sy_channel_t ch;
    sy_err_t err = {0};
    if (sy_engine_channel_create(f->eng, &f->who, &spec, &ch, &err) < 0)
        fail_msg("channel: %s", err.msg);
}

/* The payload of the newest notification of `event` (NULL: none), as the outbox holds it. */
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

static const char *title_of(const json_t *payload)
{
    return json_string_value(json_object_get(payload, "title"));
}

/* The flag's split as OFREP and the library serve it. */
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

/* The check's entry for "e", its first. */
static const sy_auto_outcome_t *entry(const sy_auto_report_t *report)
{
    assert_true(report->n >= 1);
    return &report->v[0];
}

static sy_auto_action_t action_of(const sy_auto_report_t *report)
{
    return entry(report)->action;
}

/* Variant `key`'s weight in `s`, or -1. */
static int64_t weight_in(const sy_exp_split_t *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].variant, key) == 0)
            return s->v[i].weight;
    return -1;
}

static json_t *history(struct fixture *f)
{
    json_t *h = NULL;
    assert_int_equal(history_json(f->eng, &f->who, "e", &h, NULL), 0);
    return h;
}

static void full_is_kept_in_the_definition_and_refused_when_unknown(void **state)
{
    struct fixture *f = *state;
    create_started(f, full_def, "e");
    json_t *out = exp_get_json(f, "e", NULL);
    assert_non_null(out);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "safety"), "promotion")), "full");
    json_decref(out);
    json_error_t je;
    json_t *def = json_loads("{\"key\":\"x\",\"safety\":{\"promotion\":\"fast\"},\"variants\":"
                             "[{\"key\":\"a\",\"weight\":1,\"control\":true},"
                             "{\"key\":\"b\",\"weight\":1}]}",
                             0, &je);
    sy_err_t err = {0};
    assert_int_equal(exp_create_json(f, def, &out, &err), -EINVAL);
    assert_string_equal(err.field, "safety.promotion");
    json_object_del(json_object_get(def, "safety"), "promotion");
    assert_int_equal(exp_create_json(f, def, &out, &err), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "safety"), "promotion")), "steps");
    json_decref(out);
    json_decref(def);
}

static void full_promotion_takes_the_seed_winner_to_100_at_once(void **state)
{
    struct fixture *f = *state;
    channel(f);
    create_started(f, full_def, "e");
    seed_traffic(f);
    /* 47.9 h: the runtime check fails, nothing moves */
    fake_ms += 479 * HOUR_MS / 10;
    sy_auto_report_t r;
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, &f->who, 0, &r, NULL), 0);
    assert_int_equal(action_of(&r), SY_AUTO_NONE);
    free(r.v);
    assert_int_equal(split_of(f, "treatment"), 50);
    /* 72 h: all five checks pass; a dry run says what it would do, and does nothing */
    fake_ms += 241 * HOUR_MS / 10;
    json_t *p = NULL;
    assert_int_equal(promotion_json(f->eng, &f->who, "e", &p, NULL), 0);
    assert_true(json_is_true(json_object_get(p, "eligible")));
    json_decref(p);
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, &f->who, 1, &r, NULL), 0);
    assert_int_equal(action_of(&r), SY_AUTO_WOULD_PROMOTE);
    free(r.v);
    assert_int_equal(split_of(f, "treatment"), 50);
    /* the timer: to 100 % at once, not a 20-point step */
    sy_engine_timers_t t = {.auto_promotion_ms = HOUR_MS};
    sy_engine_set_timers(f->eng, &t);
    fake_ms += HOUR_MS;
    sy_tick_report_t done;
    sy_engine_tick(f->eng, &done);
    assert_true(done.checked);
    const sy_auto_outcome_t *one = entry(&done.auto_promotion);
    assert_int_equal(one->action, SY_AUTO_PROMOTE);
    assert_true(one->has_split);
    assert_string_equal(one->state, "promoted");
    assert_int_equal(weight_in(&one->split, "treatment"), 100);
    assert_int_equal(weight_in(&one->split, "control"), 0);
    sy_tick_report_free(&done);
    assert_int_equal(split_of(f, "treatment"), 100);
    assert_int_equal(split_of(f, "control"), 0);
    /* in the history as a promotion, by the system, with what it was made on */
    json_t *h = history(f);
    json_t *row = json_array_get(json_object_get(h, "history"), 0);
    assert_int_equal(json_array_size(json_object_get(h, "history")), 1);
    assert_string_equal(json_string_value(json_object_get(row, "action")), "promote");
    assert_string_equal(json_string_value(json_object_get(row, "actor")), "system");
    json_t *d = json_object_get(row, "detail");
    assert_string_equal(json_string_value(json_object_get(d, "variant")), "treatment");
    assert_string_equal(json_string_value(json_object_get(d, "mode")), "full");
    assert_string_equal(json_string_value(json_object_get(d, "promoted_by")), "auto-promotion");
    /* the seed's z 3.196, confidence 0.99861 (one treatment: Holm changes nothing) */
    assert_close(json_number_value(json_object_get(d, "confidence")), 0.9986065958207945, 1e-9,
                 1e-9);
    assert_close(json_number_value(json_object_get(d, "improvement_pct")), 20, 1e-9, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "sample"), "control")),
                     5000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "sample"), "treatment")),
                     5000);
    json_decref(h);
    /* audited as a promotion */
    sy_store_audit_query_t q = {.resource = "experiment:e", .limit = 1};
    json_t *events = json_array();
    assert_int_equal(sy_engine_audit_list(f->eng, &f->who, &q, sy_audit_json_add, events, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "action")),
                        "experiment.promote");
    json_decref(events);
    /* told with its numbers (a fixed-horizon test: with a warning) */
    json_t *n = told("promotion_warning");
    assert_non_null(n);
    assert_string_equal(title_of(n), "Promoted treatment of e to 100% (confidence 99.86 %, "
                                     "improvement +20.00 %, sample control 5000 / treatment "
                                     "5000) (with warnings)");
    json_t *nd = json_object_get(n, "details");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(nd, "sample"), "treatment")), 5000);
    assert_close(json_number_value(json_object_get(nd, "improvement_pct")), 20, 1e-9, 1e-9);
    json_decref(n);
    /* promoted: one promotion; the check leaves it alone */
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, &f->who, 0, &r, NULL), 0);
    assert_int_equal(r.n, 0);
    free(r.v);
}

static void full_promotion_waits_out_the_cooldown_after_a_step(void **state)
{
    struct fixture *f = *state;
    create_started(f, full_def, "e");
    seed_traffic(f);
    fake_ms += 72 * HOUR_MS;
    /* a step by hand first: 50 -> 70 */
    json_t *body = json_pack("{sssfsf}", "winning_variant", "treatment", "confidence", 0.97,
                             "delta", 5.2),
           *out = NULL;
    assert_int_equal(apply_json(f->eng, &f->who, "e", body, &out, NULL), 0);
    json_decref(body);
    json_decref(out);
    assert_int_equal(split_of(f, "treatment"), 70);
    /* 23 h 59 min later: the cooldown between two changes holds the promotion */
    fake_ms += 24 * HOUR_MS - 60000;
    sy_auto_report_t r;
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, &f->who, 0, &r, NULL), 0);
    assert_int_equal(action_of(&r), SY_AUTO_REFUSED);
    assert_true(entry(&r)->has_refused_by);
    assert_string_equal(entry(&r)->refused_by, "cooldown");
    free(r.v);
    assert_int_equal(split_of(f, "treatment"), 70);
    /* 24 h: to 100 % at once, whatever max_step_pct says */
    fake_ms += 60000;
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, &f->who, 0, &r, NULL), 0);
    assert_int_equal(action_of(&r), SY_AUTO_PROMOTE);
    free(r.v);
    assert_int_equal(split_of(f, "treatment"), 100);
    json_t *h = history(f);
    json_t *list = json_object_get(h, "history");
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_array_get(list, 1), "before"), "treatment")),
                     70);
    json_decref(h);
}

static void the_kill_switch_and_manual_approval_hold_a_full_promotion(void **state)
{
    struct fixture *f = *state;
    create_started(f,
                   "{\"key\":\"e\",\"safety\":{\"promotion\":\"full\","
                   "\"require_manual_approval\":true},\"variants\":"
                   "[{\"key\":\"control\",\"weight\":50,\"control\":true},"
                   "{\"key\":\"treatment\",\"weight\":50}]}",
                   "e");
    seed_traffic(f);
    fake_ms += 72 * HOUR_MS;
    sy_auto_report_t r;
    sy_kill_switch_t ks;
    sy_kill_switch_change_t on = {.engaged = true, .reason = "drill"};
    assert_int_equal(sy_engine_kill_switch_put(f->eng, &f->who, &on, &ks, NULL), 0);
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, &f->who, 0, &r, NULL), 0);
    assert_int_equal(action_of(&r), SY_AUTO_HELD_BY_KILL_SWITCH);
    free(r.v);
    sy_kill_switch_change_t off = {.engaged = false, .reason = "drill over"};
    assert_int_equal(sy_engine_kill_switch_put(f->eng, &f->who, &off, &ks, NULL), 0);
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, &f->who, 0, &r, NULL), 0);
    assert_int_equal(action_of(&r), SY_AUTO_AWAITING_APPROVAL);
    free(r.v);
    assert_int_equal(split_of(f, "treatment"), 50);
    json_t *h = history(f);
    assert_int_equal(json_array_size(json_object_get(h, "history")), 0);
    json_decref(h);
}

static void a_manual_promotion_says_its_numbers(void **state)
{
    struct fixture *f = *state;
    channel(f);
    create_started(f,
                   "{\"key\":\"e\",\"safety\":{\"sequential\":true},\"variants\":"
                   "[{\"key\":\"control\",\"weight\":50,\"control\":true},"
                   "{\"key\":\"treatment\",\"weight\":50}]}",
                   "e");
    seed_traffic(f);
    fake_ms += 72 * HOUR_MS;
    json_t *results = NULL;
    assert_int_equal(results_json(f->eng, &f->who, "e", &results, NULL), 0);
    json_t *vs =
        json_object_get(json_array_get(json_object_get(results, "variants"), 1), "vs_control");
    double confidence = json_number_value(json_object_get(vs, "confidence"));
    json_decref(results);
    json_t *body = json_pack("{ssss}", "variant", "treatment", "promoted_by", "ops"), *out = NULL;
    assert_int_equal(promote_json(f->eng, &f->who, "e", body, &out, NULL), 0);
    json_decref(body);
    json_decref(out);
    /* the results' confidence (always valid: sequential) */
    json_t *h = history(f);
    json_t *d = json_object_get(json_array_get(json_object_get(h, "history"), 0), "detail");
    assert_string_equal(json_string_value(json_object_get(d, "mode")), "manual");
    assert_string_equal(json_string_value(json_object_get(d, "promoted_by")), "ops");
    assert_close(json_number_value(json_object_get(d, "confidence")), confidence, 1e-12, 0);
    json_decref(h);
    json_t *n = told("promotion");
    assert_non_null(n);
    char want[256];
    snprintf(want, sizeof(want),
             "Promoted treatment of e to 100%% (confidence %.2f %%, improvement +20.00 %%, "
             "sample control 5000 / treatment 5000)",
             100 * confidence);
    assert_string_equal(title_of(n), want);
    json_decref(n);
}

static void a_step_and_the_monitors_rollback_say_their_numbers(void **state)
{
    struct fixture *f = *state;
    channel(f);
    create_started(f,
                   "{\"key\":\"e\",\"health\":{\"min_events\":100},\"variants\":"
                   "[{\"key\":\"a\",\"weight\":60},{\"key\":\"b\",\"weight\":40,"
                   "\"control\":true}]}",
                   "e");
    requests(f, 0, 1000, 94); /* the baseline: 0.94 */
    json_t *body = json_pack("{sssfsf}", "winning_variant", "a", "confidence", 0.97, "delta", 5.2),
           *out = NULL;
    assert_int_equal(apply_json(f->eng, &f->who, "e", body, &out, NULL), 0);
    json_decref(body);
    json_decref(out);
    json_t *n = told("promotion_warning");
    assert_string_equal(title_of(n), "e: a stepped to 80% (confidence 97.00 %, improvement "
                                     "+5.20 %, sample a 1000 / b 0) (with warnings)");
    json_decref(n);
    /* the seed's rule: 0.94 -> 0.88 is a drop of 0.06 > 0.05 (health pushed) */
    sy_engine_timers_t t = {.health_ms = 1000};
    sy_engine_set_timers(f->eng, &t);
    sy_health_push_t push = {.success_rate = 0.88, .error_rate = 0.0};
    sy_exp_health_t h;
    assert_int_equal(sy_engine_experiment_health(f->eng, &f->who, "e", &push, &h, NULL), 0);
    fake_ms += 1000;
    sy_tick_report_t done;
    sy_engine_tick(f->eng, &done);
    assert_int_equal(done.n_rollbacks, 1);
    sy_tick_report_free(&done);
    assert_int_equal(split_of(f, "a"), 60);
    n = told("rollback");
    assert_non_null(n);
    assert_string_equal(title_of(n),
                        "Rolled back e: health of a: success rate 0.94 -> 0.88 (drop 0.06 > 0.05)");
    json_decref(n);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(full_is_kept_in_the_definition_and_refused_when_unknown,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(full_promotion_takes_the_seed_winner_to_100_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(full_promotion_waits_out_the_cooldown_after_a_step, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_kill_switch_and_manual_approval_hold_a_full_promotion,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_manual_promotion_says_its_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(a_step_and_the_monitors_rollback_say_their_numbers, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
