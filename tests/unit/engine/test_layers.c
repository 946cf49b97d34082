/* test_layers.c - exclusive layers and holdouts (engine/layer.c): ranges placed, freed and
 * refused; the layer and its ranges kept across a restart; and over 1,000,000 targeting
 * keys through the evaluator the library and OFREP use (core/flagset), the flags the engine
 * compiled put no unit in two experiments of a layer, give each experiment its range's
 * share to within 0.1 point, and give the holdout no experiment's treatment. */
#include <math.h>

#include "fixture.h"
#include "codec/results_json.h"
#include "codec/value_json.h"
#include "core/flagset.h"

static void layer_make(struct fixture *f, const char *name, double holdout_pct)
{
    sy_layer_change_t c = {.name = name, .has_holdout = true, .holdout_pct = holdout_pct};
    sy_layer_t *l = malloc(sizeof(*l));
    sy_err_t err = {0};
    if (sy_engine_layer_create(f->eng, &f->who, &c, l, &err) < 0)
        fail_msg("layer create: %s (%s)", err.msg, err.field);
    free(l);
}

/* Creates experiment `key` of layer `layer` with `pct` % of it and `arms` variants (the
 * first the control): 0 or the refusal. */
static int exp_in_layer(struct fixture *f, const char *key, const char *layer, double pct, int arms,
                        sy_err_t *err)
{
    char text[1024];
    int n = snprintf(text, sizeof(text), "{\"key\":\"%s\",\"variants\":[", key);
    for (int i = 0; i < arms; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "%s{\"key\":\"v%d\",\"weight\":1%s}",
                      i ? "," : "", i, i == 0 ? ",\"control\":true" : "");
    snprintf(text + n, sizeof(text) - (size_t)n, "],\"layer\":{\"name\":\"%s\",\"pct\":%g}}", layer,
             pct);
    json_t *def = json_loads(text, 0, NULL);
    assert_non_null(def);
    int rc = exp_create_json(f, def, NULL, err);
    json_decref(def);
    return rc;
}

/* [start, end) of experiment `key`'s range, in basis points. */
static void range_of(struct fixture *f, const char *key, int64_t *start, int64_t *end)
{
    sy_experiment_t x;
    sy_err_t err = {0};
    assert_int_equal(sy_engine_experiment_get(f->eng, &f->who, key, &x, &err), 0);
    *start = x.def.layer_range[0];
    *end = x.def.layer_range[1];
}

static void experiments_take_the_lowest_free_range_outside_the_holdout(void **state)
{
    struct fixture *f = *state;
    sy_err_t err = {0};
    layer_make(f, "checkout", 10);
    int64_t s, e;
    assert_int_equal(exp_in_layer(f, "a", "checkout", 30, 2, &err), 0);
    range_of(f, "a", &s, &e);
    assert_int_equal(s, 1000);
    assert_int_equal(e, 4000);
    assert_int_equal(exp_in_layer(f, "b", "checkout", 33.33, 2, &err), 0);
    range_of(f, "b", &s, &e);
    assert_int_equal(s, 4000);
    assert_int_equal(e, 7333);
    /* 26.67 % is left: 30 does not fit, and nothing was made */
    assert_int_equal(exp_in_layer(f, "c", "checkout", 30, 2, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "layer");
    assert_int_equal(sy_engine_experiment_get(f->eng, &f->who, "c", &(sy_experiment_t){0}, &err),
                     -ENOENT);
    /* a layer that does not exist */
    assert_int_equal(exp_in_layer(f, "d", "nowhere", 10, 2, &err), -EINVAL);
    assert_string_equal(err.field, "layer.name");
    /* a stopped experiment frees its range: the next takes the lowest gap that fits */
    assert_int_equal(exp_transition(f, "a", "running", &err), 0);
    assert_int_equal(exp_transition(f, "a", "stopped", &err), 0);
    assert_int_equal(exp_in_layer(f, "c", "checkout", 20, 2, &err), 0);
    range_of(f, "c", &s, &e);
    assert_int_equal(s, 1000);
    assert_int_equal(e, 3000);
    sy_layer_t *l = malloc(sizeof(*l));
    assert_int_equal(sy_engine_layer_get(f->eng, &f->who, "checkout", l, &err), 0);
    /* holdout, c, free [30, 40), b, free [73.33, 100) */
    assert_int_equal(l->n_ranges, 5);
    assert_string_equal(l->ranges[0].kind, "holdout");
    assert_string_equal(l->ranges[1].experiment, "c");
    assert_string_equal(l->ranges[2].kind, "free");
    assert_int_equal(l->ranges[2].end_bp, 4000);
    assert_string_equal(l->ranges[3].experiment, "b");
    assert_int_equal(l->free_bp, 1000 + 2667);
    free(l);
}

static void a_running_layer_keeps_its_holdout_and_a_used_one_is_not_deleted(void **state)
{
    struct fixture *f = *state;
    sy_err_t err = {0};
    layer_make(f, "L", 5);
    assert_int_equal(exp_in_layer(f, "a", "L", 50, 2, &err), 0);
    sy_layer_t *l = malloc(sizeof(*l));
    /* a draft at [5, 55): a holdout over it is refused, one under it is not */
    sy_layer_change_t c = {.has_holdout = true, .holdout_pct = 10};
    assert_int_equal(sy_engine_layer_update(f->eng, &f->who, "L", &c, l, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "holdout_pct");
    c.holdout_pct = 2.5;
    assert_int_equal(sy_engine_layer_update(f->eng, &f->who, "L", &c, l, &err), 0);
    assert_int_equal(l->holdout_bp, 250);
    c.holdout_pct = 2.555; /* three decimals */
    assert_int_equal(sy_engine_layer_update(f->eng, &f->who, "L", &c, l, &err), -EINVAL);
    assert_int_equal(exp_transition(f, "a", "running", &err), 0);
    c.holdout_pct = 1;
    assert_int_equal(sy_engine_layer_update(f->eng, &f->who, "L", &c, l, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "holdout_pct");
    c = (sy_layer_change_t){.has_description = true, .description = "checkout tests"};
    assert_int_equal(sy_engine_layer_update(f->eng, &f->who, "L", &c, l, &err), 0);
    assert_string_equal(l->description, "checkout tests");
    assert_int_equal(l->holdout_bp, 250);
    assert_int_equal(sy_engine_layer_delete(f->eng, &f->who, "L", &err), SY_ECONFLICT);
    assert_int_equal(exp_transition(f, "a", "terminated", &err), 0);
    assert_int_equal(sy_engine_layer_delete(f->eng, &f->who, "L", &err), 0);
    assert_int_equal(sy_engine_layer_get(f->eng, &f->who, "L", l, &err), -ENOENT);
    free(l);
}

static void layers_and_ranges_outlive_a_restart_and_a_deleted_layer_stays_deleted(void **state)
{
    struct fixture *f = *state;
    sy_err_t err = {0};
    layer_make(f, "kept", 20);
    layer_make(f, "gone", 0);
    assert_int_equal(exp_in_layer(f, "a", "kept", 12.5, 3, &err), 0);
    assert_int_equal(sy_engine_layer_delete(f->eng, &f->who, "gone", &err), 0);
    sy_engine_close(f->eng);
    f->eng = open_engine();
    sy_layer_t *ls = NULL;
    size_t n = 0;
    assert_int_equal(sy_engine_layer_list(f->eng, &f->who, &ls, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ls[0].name, "kept");
    assert_int_equal(ls[0].holdout_bp, 2000);
    assert_int_equal(ls[0].n_ranges, 3);
    assert_string_equal(ls[0].ranges[1].experiment, "a");
    assert_int_equal(ls[0].ranges[1].start_bp, 2000);
    assert_int_equal(ls[0].ranges[1].end_bp, 3250);
    free(ls);
    /* the next experiment is placed after it, as before the restart */
    assert_int_equal(exp_in_layer(f, "b", "kept", 10, 2, &err), 0);
    int64_t s, e;
    range_of(f, "b", &s, &e);
    assert_int_equal(s, 3250);
    assert_int_equal(e, 4250);
}

/* ---- the holdout measured ---------------------------------------------------------------- */

static int acked;
static void on_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)arg;
    (void)r;
    (void)err;
    acked = rc;
}

/* Exposures of units PREFIX0.. to `variant` of experiment `key`, `conv` of them converting
 * with a value of 2, committed. */
static int feed(struct fixture *f, const char *key, const char *prefix, const char *variant, int n,
                int conv, sy_err_t *err)
{
    static char units[400][32];
    sy_event_t ev[400];
    int k = 0;
    for (int i = 0; i < n && k + 2 <= 400; i++) {
        int len = snprintf(units[i], sizeof(units[i]), "%s%d", prefix, i);
        ev[k++] = (sy_event_t){.kind = SY_EVENT_EXPOSURE,
                               .experiment = key,
                               .experiment_len = strlen(key),
                               .unit = units[i],
                               .unit_len = (size_t)len,
                               .variant = variant,
                               .variant_len = strlen(variant),
                               .success = -1};
        if (i < conv)
            ev[k++] = (sy_event_t){.kind = SY_EVENT_OUTCOME,
                                   .experiment = key,
                                   .experiment_len = strlen(key),
                                   .unit = units[i],
                                   .unit_len = (size_t)len,
                                   .success = 1,
                                   .has_value = true,
                                   .value = 2};
    }
    acked = 1;
    int rc = sy_engine_events_submit(f->eng, &f->who, ev, (size_t)k, on_done, NULL, err);
    if (rc < 0)
        return rc;
    sy_engine_events_commit(f->eng);
    assert_int_equal(acked, 0);
    return 0;
}

/* The results' "holdout" of experiment `key` (new reference). */
static json_t *holdout_of(struct fixture *f, const char *key)
{
    sy_exp_results_t *x = NULL;
    sy_err_t err = {0};
    assert_int_equal(sy_engine_experiment_results(f->eng, &f->who, key, &x, &err), 0);
    json_t *j = sy_results_json(x);
    free(x);
    json_t *h = json_incref(json_object_get(j, "holdout"));
    json_decref(j);
    assert_non_null(h);
    return h;
}

static void the_holdout_is_counted_apart_and_outlives_a_checkpoint_and_a_restart(void **state)
{
    struct fixture *f = *state;
    sy_err_t err = {0};
    layer_make(f, "H", 20);
    layer_make(f, "none", 0);
    assert_int_equal(exp_in_layer(f, "e", "H", 50, 2, &err), 0);
    assert_int_equal(exp_in_layer(f, "n", "none", 50, 2, &err), 0);
    assert_int_equal(exp_transition(f, "e", "running", &err), 0);
    assert_int_equal(exp_transition(f, "n", "running", &err), 0);
    assert_int_equal(feed(f, "e", "h", "holdout", 30, 10, &err), 0);
    assert_int_equal(feed(f, "e", "c", "v0", 40, 10, &err), 0);
    assert_int_equal(feed(f, "e", "t", "v1", 40, 20, &err), 0);
    /* a layer without a holdout serves no unit "holdout": refused, naming the variant */
    assert_int_equal(feed(f, "n", "h", "holdout", 1, 0, &err), -EINVAL);
    assert_string_equal(err.field, "events[0].variant");
    sy_exp_results_t *x = NULL;
    assert_int_equal(sy_engine_experiment_results(f->eng, &f->who, "e", &x, &err), 0);
    assert_true(x->has_holdout);
    assert_int_equal(x->units, 80); /* the experiment's: the holdout's are not */
    assert_int_equal(x->variants[0].units, 40);
    assert_int_equal(x->holdout.units, 30);
    assert_int_equal(x->holdout.conversions, 10);
    assert_int_equal(x->holdout.served_units, 80);
    assert_int_equal(x->holdout.served_conversions, 30);
    assert_true(x->holdout.compared);
    assert_true(fabs(x->holdout.diff - (30.0 / 80 - 10.0 / 30)) < 1e-12);
    free(x);
    json_t *before = holdout_of(f, "e");
    /* a checkpoint holds the units, the log before it pruned: the holdout's sums are made
     * again from its units at the next start */
    fake_ms += 200LL * 24 * 3600 * 1000;
    sy_retention_opts_t o = {.events_ms = 1, .audit_ms = 0};
    sy_retention_report_t rep;
    assert_int_equal(sy_engine_retention(f->eng, &o, &rep, &err), 0);
    assert_true(rep.checkpointed >= 1);
    assert_true(rep.events > 0);
    sy_engine_close(f->eng);
    f->eng = open_engine();
    json_t *after = holdout_of(f, "e");
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    /* a mean: Welch's t-test of served against holdout, the means as they are */
    json_t *def = json_loads("{\"key\":\"m\",\"metric\":\"mean\",\"layer\":{\"name\":\"H\","
                             "\"pct\":20},\"variants\":[{\"key\":\"v0\",\"weight\":1,"
                             "\"control\":true},{\"key\":\"v1\",\"weight\":1}]}",
                             0, NULL);
    assert_int_equal(exp_create_json(f, def, NULL, &err), 0);
    json_decref(def);
    assert_int_equal(exp_transition(f, "m", "running", &err), 0);
    assert_int_equal(feed(f, "m", "h", "holdout", 20, 5, &err), 0); /* 5 of 20 units: 2 */
    assert_int_equal(feed(f, "m", "s", "v1", 30, 30, &err), 0);     /* every unit: 2 */
    assert_int_equal(feed(f, "m", "r", "v0", 10, 0, &err), 0);      /* none */
    assert_int_equal(sy_engine_experiment_results(f->eng, &f->who, "m", &x, &err), 0);
    assert_int_equal(x->holdout.units, 20);
    assert_int_equal(x->holdout.served_units, 40);
    assert_true(fabs(x->holdout.mean - 0.5) < 1e-12);
    assert_true(fabs(x->holdout.served_mean - 1.5) < 1e-12);
    assert_true(x->holdout.compared);
    assert_true(fabs(x->holdout.diff - 1.0) < 1e-12);
    assert_true(x->holdout.has_lift && fabs(x->holdout.lift - 2.0) < 1e-12);
    assert_true(x->holdout.diff_ci_low < 1.0 && x->holdout.diff_ci_high > 1.0);
    free(x);
    /* and what comes after the checkpoint adds to them */
    assert_int_equal(feed(f, "e", "g", "holdout", 5, 5, &err), 0);
    assert_int_equal(sy_engine_experiment_results(f->eng, &f->who, "e", &x, &err), 0);
    assert_int_equal(x->holdout.units, 35);
    assert_int_equal(x->holdout.conversions, 15);
    free(x);
}

/* ---- a million keys ------------------------------------------------------------------- */

struct doc {
    json_t *flags;
};

static int keep_flag(void *arg, const char *key, const char *json, size_t len)
{
    struct doc *d = arg;
    json_t *j = json_loadb(json, len, 0, NULL);
    return j && json_object_set_new(d->flags, key, j) == 0 ? 0 : -ENOMEM;
}

/* The workspace's flags loaded as the library loads a document. */
static sy_flagset_t *served_flags(struct fixture *f)
{
    struct doc d = {.flags = json_object()};
    sy_err_t err = {0};
    assert_int_equal(sy_engine_flag_list(f->eng, &f->who, keep_flag, &d, &err), 0);
    json_t *doc = json_pack("{so}", "flags", d.flags);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    sy_arena_t arena;
    sy_arena_init(&arena, (size_t)16 << 20);
    sy_value_t v;
    assert_int_equal(sy_value_parse(text, strlen(text), &arena, &v, &err), 0);
    sy_flagset_t *set = NULL;
    assert_int_equal(sy_flagset_load(&set, &arena, &v, NULL, NULL), 0);
    free(text);
    return set;
}

#define KEYS 1000000
#define NEXP 3

static void a_million_keys_are_each_in_one_experiment_at_most_and_the_holdout_in_none(void **state)
{
    struct fixture *f = *state;
    sy_err_t err = {0};
    layer_make(f, "big", 10);
    const char *keys[NEXP] = {"x0", "x1", "x2"};
    const double pct[NEXP] = {30, 25.55, 20};
    const int arms[NEXP] = {2, 3, 2};
    int64_t start[NEXP], end[NEXP];
    for (int i = 0; i < NEXP; i++) {
        assert_int_equal(exp_in_layer(f, keys[i], "big", pct[i], arms[i], &err), 0);
        assert_int_equal(exp_transition(f, keys[i], "running", &err), 0);
        range_of(f, keys[i], &start[i], &end[i]);
    }
    sy_flagset_t *set = served_flags(f);
    char scratch_buf[16384];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, scratch_buf, sizeof(scratch_buf));
    int64_t in[NEXP] = {0}, holdout = 0, twice = 0, treated_holdout = 0, out_not_control = 0;
    int64_t arm_units[NEXP][3] = {{0}};
    char tk[32];
    sy_member_t m = {.key = "targetingKey", .klen = 12};
    sy_value_t ctx = {.type = SY_OBJ, .len = 1, .members = &m};
    for (int k = 0; k < KEYS; k++) {
        int len = snprintf(tk, sizeof(tk), "user-%d", k);
        m.val = SY_V_STR(tk, len);
        int where = -1, holds = 0;
        for (int i = 0; i < NEXP; i++) {
            sy_flag_result_t r;
            sy_flagset_eval(set, keys[i], 2, SY_TYPE_ANY, &ctx, 0, &scratch, &r);
            bool is_holdout = r.variant && r.variant_len == 7 && !memcmp(r.variant, "holdout", 7);
            bool is_control = r.has_value && r.value.type == SY_STR && r.value.len == 2 &&
                              !memcmp(r.value.s, "v0", 2);
            if (r.reason == SY_REASON_TARGETING_MATCH && !is_holdout) {
                if (where >= 0)
                    twice++;
                where = i;
                in[i]++;
                arm_units[i][r.variant[1] - '0']++;
            } else if (is_holdout) {
                holds++;
                treated_holdout += !is_control; /* its value is the control's */
            } else {
                out_not_control += !(r.reason == SY_REASON_DEFAULT && is_control);
            }
        }
        /* a holdout unit is the holdout of every flag of the layer, and in none of them */
        if (holds) {
            holdout++;
            treated_holdout += holds != NEXP || where >= 0;
        }
    }
    sy_flagset_free(set);
    assert_int_equal(twice, 0);
    assert_int_equal(treated_holdout, 0);
    assert_int_equal(out_not_control, 0);
    double share = 100.0 * (double)holdout / KEYS;
    print_message("# holdout: %.3f %% of %d keys (range 10 %%)\n", share, KEYS);
    assert_true(fabs(share - 10) < 0.1);
    for (int i = 0; i < NEXP; i++) {
        share = 100.0 * (double)in[i] / KEYS;
        double want = (double)(end[i] - start[i]) / 100.0;
        print_message("# %s: %.3f %% of the keys in its range [%.2f, %.2f) (%.2f %%)\n", keys[i],
                      share, start[i] / 100.0, end[i] / 100.0, want);
        assert_true(fabs(share - want) < 0.1);
        for (int a = 0; a < arms[i]; a++) /* every arm served inside the range */
            assert_true(arm_units[i][a] > in[i] / arms[i] * 9 / 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(experiments_take_the_lowest_free_range_outside_the_holdout,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_running_layer_keeps_its_holdout_and_a_used_one_is_not_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(
            layers_and_ranges_outlive_a_restart_and_a_deleted_layer_stays_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(
            the_holdout_is_counted_apart_and_outlives_a_checkpoint_and_a_restart, setup, teardown),
        /* last: SQLite's alone (the keys are evaluated, not stored: PostgreSQL would only
         * run the same million evaluations again, 30 s under ASan) */
        cmocka_unit_test_setup_teardown(
            a_million_keys_are_each_in_one_experiment_at_most_and_the_holdout_in_none, setup,
            teardown),
    };
    size_t n = sizeof(tests) / sizeof(tests[0]) - (fx_is_pg() ? 1 : 0);
    return _cmocka_run_group_tests("tests", tests, n, NULL, NULL);
}
