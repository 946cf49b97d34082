/* test_settings.c - an experiment's settings in the engine: the server-wide safety defaults
 * (sy_engine_opts_t.exp_defaults) that the fields an experiment does not set follow, across
 * a reopen with other defaults; defaults out of range refused before a database is made;
 * and sy_engine_experiment_update given a merge patch as PATCH gives it (codec's
 * sy_exp_def_patch): applied and audited, every refusal (a bad field, a fixed one, an ended
 * experiment, a store that fails the write) changing nothing in memory or on disk. */
#define _DEFAULT_SOURCE
#include <unistd.h>

#include "codec/api_json.h"
#include "fixture.h"

static sy_engine_t *open_with(const sy_exp_defaults_t *d)
{
    sy_engine_opts_t o = {.db = fx_uri, .now_ms = fake_now, .exp_defaults = d};
    sy_engine_t *eng;
    sy_err_t err = {0};
    if (sy_engine_open(&eng, &o, &err) < 0)
        fail_msg("open: %s", err.msg);
    return eng;
}

/* Reopens f's engine with defaults `d` (NULL: the specification's). */
static void reopen(struct fixture *f, const sy_exp_defaults_t *d)
{
    sy_engine_close(f->eng);
    f->eng = open_with(d);
}

static json_t *get(struct fixture *f, const char *key)
{
    sy_err_t err = {0};
    json_t *out = exp_get_json(f, key, &err);
    if (!out)
        fail_msg("get %s: %s", key, err.msg);
    return out;
}

static double safety(json_t *e, const char *field)
{
    return json_number_value(json_object_get(json_object_get(e, "safety"), field));
}

static void create(struct fixture *f, const char *key, const char *safety_text)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"key\":\"%s\",\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},"
             "{\"key\":\"b\",\"weight\":1}]%s%s}",
             key, safety_text ? ",\"safety\":" : "", safety_text ? safety_text : "");
    json_t *def = json_loads(text, 0, NULL);
    sy_err_t err = {0};
    if (!def || exp_create_json(f, def, NULL, &err) < 0)
        fail_msg("create: %s", err.msg);
    json_decref(def);
}

/* As PATCH /v1/experiments/{key} does it: the patch merged into the definition as it
 * stands and read again (codec), the result handed to sy_engine_experiment_update. */
static int patch(struct fixture *f, const char *key, const char *text, sy_err_t *err)
{
    json_t *p = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(p);
    sy_experiment_t x;
    sy_exp_def_t d;
    int rc = sy_engine_experiment_get(f->eng, &f->who, key, &x, err);
    if (rc == 0)
        rc = sy_exp_def_patch(&x.def, p, &d, err);
    if (rc == 0) {
        rc = sy_engine_experiment_update(f->eng, &f->who, key, &d, &x, err);
        sy_exp_def_clear(&d);
    }
    json_decref(p);
    return rc;
}

static void unset_fields_follow_the_defaults_of_the_engine_that_loads_them(void **state)
{
    struct fixture *f = *state;
    sy_exp_defaults_t d = SY_EXP_DEFAULTS;
    d.safety.min_confidence = 0.99;
    d.safety.min_runtime_hours = 0;
    reopen(f, &d);
    create(f, "plain", NULL);
    create(f, "own", "{\"min_confidence\":0.9}");
    json_t *p = get(f, "plain"), *o = get(f, "own");
    assert_true(safety(p, "min_confidence") == 0.99);
    assert_true(safety(p, "min_runtime_hours") == 0);
    assert_true(safety(o, "min_confidence") == 0.9);
    assert_true(safety(o, "min_runtime_hours") == 0);
    json_decref(p);
    json_decref(o);
    d.safety.min_confidence = 0.97;
    d.safety.min_runtime_hours = 72;
    reopen(f, &d);
    p = get(f, "plain");
    o = get(f, "own");
    assert_true(safety(p, "min_confidence") == 0.97);
    assert_true(safety(p, "min_runtime_hours") == 72);
    assert_true(safety(o, "min_confidence") == 0.9); /* its own */
    assert_true(safety(o, "min_runtime_hours") == 72);
    json_t *inh = json_object_get(o, "safety_inherited");
    for (size_t i = 0; i < json_array_size(inh); i++)
        assert_string_not_equal(json_string_value(json_array_get(inh, i)), "min_confidence");
    json_decref(p);
    json_decref(o);
    reopen(f, NULL); /* the specification's */
    p = get(f, "plain");
    assert_true(safety(p, "min_confidence") == 0.95);
    assert_true(safety(p, "min_runtime_hours") == 48);
    json_decref(p);
}

static void defaults_out_of_range_are_refused_before_a_database_is_made(void **state)
{
    (void)state;
    /* a store nobody made: a file in the test's folder, or a database PostgreSQL has not */
    char fresh[600];
    if (fx_is_pg())
        snprintf(fresh, sizeof(fresh), "%.*s/%s_fresh", (int)(strrchr(fx_uri, '/') - fx_uri),
                 fx_uri, fx_db);
    else
        snprintf(fresh, sizeof(fresh), "%s/fresh.db", fx_main.dir);
    sy_exp_defaults_t d = SY_EXP_DEFAULTS;
    d.safety.min_confidence = 1.5;
    sy_engine_opts_t o = {.db = fresh, .now_ms = fake_now, .exp_defaults = &d};
    sy_engine_t *eng = NULL;
    sy_err_t err = {0};
    assert_int_equal(sy_engine_open(&eng, &o, &err), -EINVAL);
    assert_null(eng);
    assert_non_null(strstr(err.msg, "min_confidence"));
    if (fx_is_pg()) /* nothing was made or connected to: the database is still missing */
        assert_int_equal(fx_sql_int64(fx_uri, NULL,
                                      "SELECT count(*) FROM pg_database WHERE datname = $1",
                                      strrchr(fresh, '/') + 1),
                         0);
    else
        assert_int_equal(access(fresh, F_OK), -1);
    json_t *s = json_loads("{\"max_error_rate\":2}", 0, NULL);
    assert_int_equal(sy_exp_defaults_read(s, &d, &err), -EINVAL);
    assert_string_equal(err.field, "safety.max_error_rate");
    json_decref(s);
    s = json_loads("{\"min_confidence\":0.99,\"sequential\":true}", 0, NULL);
    assert_int_equal(sy_exp_defaults_read(s, &d, &err), 0);
    assert_true(d.safety.min_confidence == 0.99 && d.sequential &&
                d.safety.min_sample_per_variant == 1000);
    json_decref(s);
}

/* Every refusal leaves the experiment as it was, in memory and after a reopen. */
static void assert_unchanged(struct fixture *f, const char *before)
{
    json_t *now = get(f, "e");
    char *text = json_dumps(now, JSON_SORT_KEYS);
    assert_string_equal(text, before);
    free(text);
    json_decref(now);
}

static void a_patch_is_applied_audited_and_every_refusal_changes_nothing(void **state)
{
    struct fixture *f = *state;
    create_started(f,
                   "{\"key\":\"e\",\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},"
                   "{\"key\":\"b\",\"weight\":1}],\"safety\":{\"min_confidence\":0.99}}",
                   "e");
    json_t *b = get(f, "e");
    char *before = json_dumps(b, JSON_SORT_KEYS);
    json_decref(b);
    sy_err_t err = {0};
    assert_int_equal(patch(f, "e", "{\"safety\":{\"min_confidenc\":0.95}}", &err), SY_EUNKNOWN);
    assert_string_equal(err.field, "safety.min_confidenc");
    assert_int_equal(patch(f, "e", "{\"safety\":{\"min_confidence\":-1}}", &err), -EINVAL);
    assert_string_equal(err.field, "safety.min_confidence");
    assert_int_equal(patch(f, "e", "{\"metric\":\"mean\"}", &err), SY_ECONFLICT);
    assert_string_equal(err.field, "metric");
    assert_int_equal(patch(f, "e", "{\"record_exposures\":true}", &err), SY_ECONFLICT);
    assert_string_equal(err.field, "record_exposures");
    assert_int_equal(patch(f, "e", "{\"safety\":{\"sequential\":true}}", &err), SY_ECONFLICT);
    assert_string_equal(err.field, "safety.sequential");
    assert_int_equal(patch(f, "e", "[]", &err), -EINVAL);
    assert_int_equal(patch(f, "nope", "{}", &err), -ENOENT);
    assert_unchanged(f, before);

    /* a store that fails the write: nothing changes, in memory or on disk */
    fx_sql_exec(fx_uri,
                "CREATE TRIGGER refuse BEFORE UPDATE ON experiments BEGIN "
                "SELECT RAISE(ABORT, 'refused'); END;",
                "CREATE FUNCTION refused() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused'; END $$; "
                "CREATE TRIGGER refuse BEFORE UPDATE ON experiments "
                "FOR EACH ROW EXECUTE FUNCTION refused();");
    assert_true(patch(f, "e", "{\"safety\":{\"min_confidence\":0.95}}", &err) < 0);
    assert_unchanged(f, before);
    reopen(f, NULL);
    assert_unchanged(f, before);
    fx_sql_exec(fx_uri, "DROP TRIGGER refuse", "DROP TRIGGER refuse ON experiments");

    /* applied: the new gate, the rest kept; audited with before and after */
    assert_int_equal(
        patch(f, "e",
              "{\"safety\":{\"min_confidence\":0.95},\"allocation\":{\"cooldown_hours\":"
              "0},\"description\":\"relaxed\"}",
              &err),
        0);
    json_t *e = get(f, "e");
    assert_true(safety(e, "min_confidence") == 0.95);
    assert_string_equal(json_string_value(json_object_get(e, "state")), "running");
    assert_string_equal(json_string_value(json_object_get(e, "description")), "relaxed");
    assert_true(json_number_value(
                    json_object_get(json_object_get(e, "allocation"), "cooldown_hours")) == 0);
    json_decref(e);
    sy_store_audit_query_t q = {.limit = 10};
    json_t *audit = json_array();
    assert_int_equal(sy_engine_audit_list(f->eng, &f->who, &q, sy_audit_json_add, audit, &err), 0);
    json_t *last = json_array_get(audit, 0);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "experiment.update");
    assert_true(safety(json_object_get(last, "before"), "min_confidence") == 0.99);
    assert_true(safety(json_object_get(last, "after"), "min_confidence") == 0.95);
    json_decref(audit);
    /* null: the server-wide default again, and kept so across a reopen */
    assert_int_equal(patch(f, "e", "{\"safety\":{\"min_confidence\":null}}", &err), 0);
    reopen(f, NULL);
    e = get(f, "e");
    assert_true(safety(e, "min_confidence") == 0.95);
    assert_string_equal(json_string_value(json_object_get(e, "description")), "relaxed");
    json_decref(e);
    /* an ended experiment's settings no longer change */
    assert_int_equal(exp_transition(f, "e", "stopped", &err), 0);
    assert_int_equal(patch(f, "e", "{\"description\":\"late\"}", &err), SY_ECONFLICT);
    assert_string_equal(err.field, "state");
    free(before);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            unset_fields_follow_the_defaults_of_the_engine_that_loads_them, setup, teardown),
        cmocka_unit_test_setup_teardown(defaults_out_of_range_are_refused_before_a_database_is_made,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_patch_is_applied_audited_and_every_refusal_changes_nothing, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
