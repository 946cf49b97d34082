/* test_kpi.c - KPI submissions and their group commit (sy_engine_kpi_submit): nothing is
 * answered before the commit, every submission queued meanwhile is written in it, ids are
 * once per workspace across the submissions of one commit and of later ones, and a refused
 * submission queues nothing; and a tripwire re-enabled only with a reason, its reset
 * leaving the events of its trip out. */
#include "codec/regression_json.h"
#include "fixture.h"

struct answers {
    int n;
    int rc[8];
    sy_ingest_result_t r[8];
};

static void answered(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)err;
    struct answers *a = arg;
    assert_true(a->n < 8);
    a->rc[a->n] = rc;
    a->r[a->n++] = *r;
}

static void woken(void *arg)
{
    (*(int *)arg)++;
}

/* The submissions the engine borrows until their answers: freed after each commit. */
static struct held {
    json_t *body;
    sy_kpi_batch_t b;
} held[8];
static int n_held;

static void commit(struct fixture *f)
{
    sy_engine_events_commit(f->eng); /* every submission answered: the events are ours again */
    for (int i = 0; i < n_held; i++) {
        sy_kpi_batch_free(&held[i].b);
        json_decref(held[i].body);
    }
    n_held = 0;
}

/* `text` read as POST /v1/kpi reads it, then submitted. */
static int submit(struct fixture *f, const char *text, struct answers *a)
{
    json_error_t je;
    assert_true(n_held < 8);
    struct held *h = &held[n_held];
    h->body = json_loads(text, 0, &je);
    if (!h->body)
        fail_msg("bad JSON in the test: %s", je.text);
    sy_err_t err = {0};
    int rc = sy_kpi_batch_read(h->body, &h->b, &err);
    if (rc == 0)
        rc = sy_engine_kpi_submit(f->eng, &f->who, h->b.ev, h->b.n, h->b.listed, answered, a, &err);
    if (rc < 0) { /* nothing borrowed */
        sy_kpi_batch_free(&h->b);
        json_decref(h->body);
    } else {
        n_held++;
    }
    return rc;
}

#define EV(id) "{\"domain\":\"D\",\"metric\":\"m\",\"actor\":\"app\",\"success\":true" id "}"

static void one_commit_answers_every_submission(void **state)
{
    struct fixture *f = *state;
    int wakes = 0;
    sy_engine_on_events(f->eng, woken, &wakes);
    struct answers a = {0};
    assert_int_equal(
        submit(f, "{\"events\":[" EV(",\"id\":\"a1\"") "," EV(",\"id\":\"a2\"") "]}", &a), 0);
    assert_int_equal(submit(f, EV(",\"id\":\"a1\""), &a), 0); /* the first's id again */
    assert_int_equal(submit(f, EV(""), &a), 0);
    assert_true(wakes >= 1);
    assert_int_equal(a.n, 0); /* nothing answered before the commit */
    commit(f);
    assert_int_equal(a.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(a.rc[i], 0);
    assert_int_equal(a.r[0].accepted, 2);
    assert_int_equal(a.r[0].duplicates, 0);
    assert_int_equal(a.r[1].accepted, 0);
    assert_int_equal(a.r[1].duplicates, 1);
    assert_int_equal(a.r[2].accepted, 1);
    /* a later commit knows the ids too */
    struct answers b = {0};
    assert_int_equal(
        submit(f, "{\"events\":[" EV(",\"id\":\"a2\"") "," EV(",\"id\":\"a3\"") "]}", &b), 0);
    commit(f);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.r[0].accepted, 1);
    assert_int_equal(b.r[0].duplicates, 1);
    sy_engine_on_events(f->eng, NULL, NULL);
}

static void a_refusal_queues_nothing(void **state)
{
    struct fixture *f = *state;
    struct answers a = {0};
    assert_int_equal(submit(f, "{\"events\":[" EV("") ",{\"domain\":\"D\"}]}", &a), -EINVAL);
    /* the engine's own checks, on events no JSON came from */
    sy_kpi_event_t ev[2] = {{.domain = "D", .metric = "m", .actor = "app", .has_value = true},
                            {.domain = "D", .metric = "m", .actor = "app", .id = "r1"}};
    sy_err_t err = {0};
    assert_int_equal(sy_engine_kpi_submit(f->eng, &f->who, ev, 2, true, answered, &a, &err),
                     -EINVAL);
    assert_string_equal(err.field, "events[1].success"); /* neither success nor value */
    ev[1].has_success = true;
    ev[1].domain = "";
    assert_int_equal(sy_engine_kpi_submit(f->eng, &f->who, &ev[1], 1, false, answered, &a, &err),
                     -EINVAL);
    assert_string_equal(err.field, "domain");
    assert_int_equal(sy_engine_kpi_submit(f->eng, &f->who, ev, 0, true, answered, &a, &err),
                     -EINVAL);
    assert_int_equal(
        sy_engine_kpi_submit(f->eng, &f->who, ev, SY_KPI_BATCH_MAX + 1, true, answered, &a, &err),
        -E2BIG);
    assert_int_equal(submit(f, "{\"events\":[]}", &a), -EINVAL);
    commit(f);
    assert_int_equal(a.n, 0); /* never called for a refusal */
    /* and what was refused did not take its ids */
    assert_int_equal(submit(f, EV(",\"id\":\"r1\""), &a), 0);
    commit(f);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.r[0].accepted, 1);
}

/* The policy change `text` read as POST /v1/regression/policies reads it, then made: the
 * policy after it as the API answers it (owned), or NULL when refused. */
static json_t *put_policy(struct fixture *f, const char *text, int want, const char *field)
{
    json_error_t je;
    json_t *body = json_loads(text, 0, &je);
    sy_regression_policy_change_t change = {0};
    sy_regression_policy_t p;
    sy_err_t err = {0};
    assert_int_equal(sy_schema_read(&sy_regression_policy_change_schema, body, &change, "", &err),
                     0);
    assert_int_equal(sy_engine_regression_policy_put(f->eng, &f->who, &change, &p, &err), want);
    if (field)
        assert_string_equal(err.field, field);
    json_decref(body);
    return want == 0 ? sy_regression_policy_json(&p) : NULL;
}

/* CAPITAL/roi_event's evaluation now, as the API answers it (owned). */
static json_t *evaluate_roi(struct fixture *f)
{
    sy_tripwire_state_t *v = NULL;
    size_t n = 0;
    assert_int_equal(
        sy_engine_regression_evaluate(f->eng, &f->who, "CAPITAL", "roi_event", &v, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].workspace, f->who.workspace);
    json_t *st = sy_tripwire_state_json(&v[0], true);
    free(v);
    assert_non_null(st);
    return st;
}

static void values(struct fixture *f, int n, int value)
{
    char *text = malloc(64 + (size_t)n * 96);
    assert_non_null(text);
    size_t at = (size_t)sprintf(text, "{\"events\":[");
    for (int i = 0; i < n; i++)
        at += (size_t)sprintf(text + at,
                              "%s{\"domain\":\"CAPITAL\",\"metric\":\"roi_event\","
                              "\"actor\":\"app\",\"value\":%d}",
                              i ? "," : "", value);
    strcpy(text + at, "]}");
    struct answers a = {0};
    assert_int_equal(submit(f, text, &a), 0);
    commit(f);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.r[0].accepted, (size_t)n);
    free(text);
}

/* The ROI tripwire (a mean, KILL_SWITCH), every event in the same millisecond (the order is
 * the ids'): 200 at 500 and 50 at -300 trip it (drop 1.6); re-enabling without a reason is
 * refused and changes nothing; with one, the trip's 50 events are left out, so it is not
 * tripped again, and its baseline is still the 500 before them; 50 new events at -300 trip
 * it again. */
static void a_reset_tripwire_leaves_the_events_of_its_trip_out(void **state)
{
    struct fixture *f = *state;
    json_decref(put_policy(f,
                           "{\"domain\":\"CAPITAL\",\"metric\":\"roi_event\",\"enabled\":true,"
                           "\"reason\":\"watch ROI\"}",
                           0, NULL));
    values(f, 200, 500);
    values(f, 50, -300);
    json_t *st = evaluate_roi(f);
    assert_true(json_is_true(json_object_get(st, "triggered")));
    assert_true(json_real_value(json_object_get(st, "drop_fraction")) == 1.6);
    assert_non_null(json_object_get(st, "trip_from"));
    json_decref(st);
    assert_true(sy_engine_kill_switch_engaged(f->eng, f->who.workspace, NULL, 0));
    json_decref(put_policy(f, "{\"domain\":\"CAPITAL\",\"metric\":\"roi_event\",\"enabled\":true}",
                           -EINVAL, "reason"));
    st = evaluate_roi(f); /* the refusal changed nothing: still triggered */
    assert_true(json_is_true(json_object_get(st, "triggered")));
    json_decref(st);
    json_t *p = put_policy(f,
                           "{\"domain\":\"CAPITAL\",\"metric\":\"roi_event\",\"enabled\":true,"
                           "\"reason\":\"ROI model fixed\"}",
                           0, NULL);
    assert_string_equal(json_string_value(json_object_get(p, "reason")), "ROI model fixed");
    json_decref(p);
    st = evaluate_roi(f);
    assert_false(json_is_true(json_object_get(st, "triggered")));
    assert_int_equal(json_integer_value(json_object_get(st, "window_events")), 0);
    assert_int_equal(json_integer_value(json_object_get(st, "baseline_events")), 200);
    json_t *x = json_object_get(st, "excluded");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(x, "to"), "id")) -
                         json_integer_value(json_object_get(json_object_get(x, "from"), "id")),
                     49);
    json_decref(st);
    values(f, 60, 500); /* 50 make the window, 10 join the baseline before the gap's */
    st = evaluate_roi(f);
    assert_false(json_is_true(json_object_get(st, "triggered")));
    assert_int_equal(json_integer_value(json_object_get(st, "window_events")), 50);
    assert_int_equal(json_integer_value(json_object_get(st, "baseline_events")), 200);
    assert_true(json_real_value(json_object_get(st, "baseline")) == 500);
    json_decref(st);
    values(f, 50, -300);
    st = evaluate_roi(f);
    assert_true(json_is_true(json_object_get(st, "triggered")));
    assert_true(json_real_value(json_object_get(st, "baseline")) == 500);
    assert_true(json_real_value(json_object_get(st, "drop_fraction")) == 1.6);
    json_decref(st);
}

/* ---- CUPED's covariate from a KPI metric (issue 26) ------------------------------------ */

#define DAY_MS 86400000LL

/* A KPI event of unit `unit` now (the fake clock's), committed on its own. */
static void kpi_at(struct fixture *f, const char *domain, const char *metric, const char *unit,
                   const char *measure)
{
    char text[256];
    snprintf(text, sizeof(text), "{\"domain\":\"%s\",\"metric\":\"%s\",\"actor\":\"app\",%s%s%s%s}",
             domain, metric, measure, unit ? ",\"unit\":\"" : "", unit ? unit : "",
             unit ? "\"" : "");
    struct answers a = {0};
    assert_int_equal(submit(f, text, &a), 0);
    commit(f);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.rc[0], 0);
}

/* Exposures of experiment `key` now, one submission: units[i] to variant "a" or "b" by
 * turn, with covariate cov[i] when it is not NAN. */
static void expose(struct fixture *f, const char *key, const char *const *units, const double *cov,
                   size_t n)
{
    sy_event_t ev[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++)
        ev[i] = (sy_event_t){.experiment = key,
                             .experiment_len = strlen(key),
                             .kind = SY_EVENT_EXPOSURE,
                             .unit = units[i],
                             .unit_len = strlen(units[i]),
                             .variant = i % 2 ? "b" : "a",
                             .variant_len = 1,
                             .success = -1,
                             .has_covariate = cov && !isnan(cov[i]),
                             .covariate = cov && !isnan(cov[i]) ? cov[i] : 0};
    struct answers a = {0};
    sy_err_t err = {0};
    if (sy_engine_events_submit(f->eng, &f->who, ev, n, answered, &a, &err) < 0)
        fail_msg("events: %s (%s)", err.msg, err.field);
    sy_engine_events_commit(f->eng);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.rc[0], 0);
}

/* The value of the first exposure row of `unit` in experiment `key` ("null" for none). */
static char *first_exposure_value(const char *key, const char *unit)
{
    static char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(CAST(value AS TEXT), 'null') FROM events WHERE kind = 'exposure' AND"
             " unit = ?1 AND experiment_id = (SELECT id FROM experiments WHERE key = '%s')"
             " ORDER BY id LIMIT 1",
             key);
    char pg[512];
    snprintf(pg, sizeof(pg),
             "SELECT coalesce(value::text, 'null') FROM events WHERE kind = 'exposure' AND"
             " unit = $1 AND experiment_id = (SELECT id FROM experiments WHERE key = '%s')"
             " ORDER BY id LIMIT 1",
             key);
    char *t = fx_sql_text(fx_uri, sql, pg, unit);
    if (!t)
        fail_msg("no exposure of %s in %s", unit, key);
    return t;
}

static void assert_cov(const char *key, const char *unit, double want)
{
    char *t = first_exposure_value(key, unit);
    if (strcmp(t, "null") == 0 || strtod(t, NULL) != want)
        fail_msg("%s's covariate in %s: %s, want %g", unit, key, t, want);
    free(t);
}

/* "cuped": {"kpi"}: a unit's covariate is the sum of its KPI events of that metric (values;
 * an event without one counts its success) in [exposure - lookback, exposure), resolved at
 * its first exposure and kept in the log's row; a covariate sent wins; other units, other
 * metrics and domains, events after the exposure or before the lookback do not count. */
static void a_kpi_metric_gives_the_units_covariates(void **state)
{
    struct fixture *f = *state;
    int64_t t0 = fake_ms + 30 * DAY_MS;
    fake_ms = t0 - 10 * DAY_MS; /* before the lookback of 7 days */
    kpi_at(f, "D", "spend", "u1", "\"value\":100");
    fake_ms = t0 - 7 * DAY_MS; /* its first ms: counted */
    kpi_at(f, "D", "spend", "u7", "\"value\":4");
    fake_ms = t0 - 3 * DAY_MS;
    kpi_at(f, "D", "spend", "u1", "\"value\":5");
    kpi_at(f, "D", "spend", "u1", "\"value\":7.25");
    kpi_at(f, "D", "spend", "u2", "\"success\":true");  /* no value: its success, 1 */
    kpi_at(f, "D", "spend", "u2", "\"success\":false"); /* 0 */
    kpi_at(f, "D", "other", "u2", "\"value\":1000");    /* another metric */
    kpi_at(f, "E", "spend", "u3", "\"value\":50");      /* another domain */
    kpi_at(f, "D", "spend", NULL, "\"value\":999");     /* no unit */
    kpi_at(f, "D", "spend", "u4", "\"value\":3");       /* u4 sends its own */
    kpi_at(f, "D", "spend", "u1x", "\"value\":-1");     /* another unit, a prefix */
    fake_ms = t0;
    kpi_at(f, "D", "spend", "u7", "\"value\":8"); /* at the exposure's ms: not before it */
    create_started(f,
                   "{\"key\":\"k\",\"metric\":\"mean\",\"variants\":[{\"key\":\"a\","
                   "\"weight\":50,\"control\":true},{\"key\":\"b\",\"weight\":50}],"
                   "\"cuped\":{\"enabled\":true,\"kpi\":{\"domain\":\"D\",\"metric\":"
                   "\"spend\"},\"lookback_days\":7}}",
                   "k");
    create_started(f,
                   "{\"key\":\"plain\",\"flag\":\"plainflag\",\"metric\":\"mean\","
                   "\"variants\":[{\"key\":\"a\",\"weight\":50,\"control\":true},"
                   "{\"key\":\"b\",\"weight\":50}],\"cuped\":{\"enabled\":true}}",
                   "plain");
    const char *units[] = {"u1", "u2", "u3", "u4", "u5", "u7", "u1"};
    const double cov[] = {NAN, NAN, NAN, 42, NAN, NAN, NAN};
    expose(f, "k", units, cov, 7);
    expose(f, "plain", units, NULL, 2);
    assert_cov("k", "u1", 12.25);
    assert_cov("k", "u2", 1);
    assert_cov("k", "u3", 0);
    assert_cov("k", "u4", 42); /* sent: it wins */
    assert_cov("k", "u5", 0);
    assert_cov("k", "u7", 4);
    char *t = first_exposure_value("plain", "u1"); /* no kpi: nothing asked, nothing kept */
    assert_string_equal(t, "null");
    free(t);
    /* after the exposure: a known unit's covariate stays; a new unit's counts what came
     * before its own exposure */
    fake_ms = t0 + 3600000;
    kpi_at(f, "D", "spend", "u1", "\"value\":1000");
    kpi_at(f, "D", "spend", "u6", "\"value\":9");
    fake_ms = t0 + 7200000;
    const char *later[] = {"u1", "u6"};
    expose(f, "k", later, NULL, 2);
    assert_cov("k", "u1", 12.25);
    assert_cov("k", "u6", 9);
    int64_t rows =
        fx_sql_int64(fx_uri,
                     "SELECT count(*) FROM events WHERE kind = 'exposure' AND unit = 'u1'"
                     " AND value IS NOT NULL",
                     NULL, NULL);
    /* the two of the first batch carry it; the later one, of a unit known, asked nothing */
    assert_int_equal(rows, 2);
    /* the covariates count in CUPED's figures: each unit of k has one */
    sy_err_t err = {0};
    sy_exp_results_t *res = NULL;
    if (sy_engine_experiment_results(f->eng, &f->who, "k", &res, &err) < 0)
        fail_msg("results: %s", err.msg);
    int64_t covs = 0, n = 0;
    for (size_t i = 0; i < res->n_variants; i++) {
        covs += res->variants[i].covariates;
        n += res->variants[i].units;
    }
    free(res);
    assert_int_equal(n, 7);
    assert_int_equal(covs, 7);
    /* fixed once started: 409 naming the field; refused before it is started */
    sy_experiment_t x;
    assert_int_equal(sy_engine_experiment_get(f->eng, &f->who, "k", &x, NULL), 0);
    const char *patches[] = {"{\"cuped\":{\"enabled\":true,\"kpi\":{\"domain\":\"D\","
                             "\"metric\":\"other\"},\"lookback_days\":7}}",
                             "{\"cuped\":{\"enabled\":true,\"kpi\":{\"domain\":\"D\","
                             "\"metric\":\"spend\"},\"lookback_days\":8}}"};
    const char *fields[] = {"cuped.kpi", "cuped.lookback_days"};
    for (int i = 0; i < 2; i++) {
        json_t *p = json_loads(patches[i], 0, NULL);
        sy_exp_def_t d;
        assert_int_equal(sy_exp_def_patch(&x.def, p, &d, &err), 0);
        json_decref(p);
        assert_int_equal(sy_engine_experiment_update(f->eng, &f->who, "k", &d, NULL, &err),
                         SY_ECONFLICT);
        assert_string_equal(err.field, fields[i]);
        sy_exp_def_clear(&d);
    }
}

static int64_t kpi_rows_of(const char *unit)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM kpi_events WHERE unit = '%s'", unit);
    return fx_sql_int64(fx_uri, sql, NULL, NULL);
}

static int64_t prune(struct fixture *f, int64_t events_ms)
{
    sy_retention_opts_t o = {.events_ms = events_ms};
    sy_retention_report_t r;
    sy_err_t err = {0};
    if (sy_engine_retention(f->eng, &o, &r, &err) < 0)
        fail_msg("retention: %s", err.msg);
    return r.kpi_events;
}

/* Retention keeps the KPI events an experiment taking its covariates from them may still
 * read (its lookback's), and prunes them once it no longer takes new units. */
static void retention_keeps_a_running_lookbacks_kpi_events(void **state)
{
    struct fixture *f = *state;
    kpi_at(f, "D", "spend", "u1", "\"value\":5");
    create_started(f,
                   "{\"key\":\"k\",\"metric\":\"mean\",\"variants\":[{\"key\":\"a\","
                   "\"weight\":50,\"control\":true},{\"key\":\"b\",\"weight\":50}],"
                   "\"cuped\":{\"enabled\":true,\"kpi\":{\"domain\":\"D\",\"metric\":"
                   "\"spend\"},\"lookback_days\":28}}",
                   "k");
    fake_ms += 20 * DAY_MS;
    kpi_at(f, "D", "spend", "u2", "\"value\":1"); /* the newest: never pruned */
    assert_int_equal(prune(f, 10 * DAY_MS), 0);   /* 20 days old, within the 28 */
    assert_int_equal(kpi_rows_of("u1"), 1);
    const char *units[] = {"u1"};
    expose(f, "k", units, NULL, 1);
    assert_cov("k", "u1", 5);
    sy_err_t err = {0};
    assert_int_equal(exp_transition(f, "k", "stopped", &err), 0);
    assert_int_equal(prune(f, 10 * DAY_MS), 1); /* stopped: it takes no new unit */
    assert_int_equal(kpi_rows_of("u1"), 0);
    assert_int_equal(kpi_rows_of("u2"), 1);
}

/* The definition's bounds: 400 naming the field. */
static void a_kpi_covariates_definition_is_checked(void **state)
{
    struct fixture *f = *state;
    const char *bad[][2] = {
        {"\"cuped\":{\"enabled\":false,\"kpi\":{\"domain\":\"D\",\"metric\":\"m\"}}", "cuped.kpi"},
        {"\"cuped\":{\"enabled\":true,\"lookback_days\":7}", "cuped.lookback_days"},
        {"\"cuped\":{\"enabled\":true,\"kpi\":{\"domain\":\"D\",\"metric\":\"m\"},"
         "\"lookback_days\":366}",
         "cuped.lookback_days"},
        {"\"cuped\":{\"enabled\":true,\"kpi\":{\"domain\":\"D\",\"metric\":\"m\"},"
         "\"lookback_days\":0}",
         "cuped.lookback_days"},
        {"\"cuped\":{\"enabled\":true,\"kpi\":{\"domain\":\"D\"}}", "cuped.kpi.metric"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text),
                 "{\"key\":\"e%zu\",\"variants\":[{\"key\":\"a\",\"weight\":50,\"control\":"
                 "true},{\"key\":\"b\",\"weight\":50}],%s}",
                 i, bad[i][0]);
        json_t *def = json_loads(text, 0, NULL);
        sy_err_t err = {0};
        assert_int_equal(exp_create_json(f, def, NULL, &err), -EINVAL);
        assert_string_equal(err.field, bad[i][1]);
        json_decref(def);
    }
    /* the default lookback, as the definition answers it */
    json_t *def = json_loads("{\"key\":\"ok\",\"variants\":[{\"key\":\"a\",\"weight\":50,"
                             "\"control\":true},{\"key\":\"b\",\"weight\":50}],\"cuped\":"
                             "{\"enabled\":true,\"kpi\":{\"domain\":\"D\",\"metric\":\"m\"}}}",
                             0, NULL);
    json_t *out = NULL;
    sy_err_t err = {0};
    assert_int_equal(exp_create_json(f, def, &out, &err), 0);
    json_t *c = json_object_get(out, "cuped");
    assert_int_equal(json_integer_value(json_object_get(c, "lookback_days")), 28);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "kpi"), "metric")),
                        "m");
    json_decref(out);
    json_decref(def);
    /* a KPI event's unit: 1 to 256 bytes */
    struct answers a = {0};
    char text[600];
    char unit[258];
    memset(unit, 'u', 257);
    unit[257] = '\0';
    snprintf(text, sizeof(text),
             "{\"domain\":\"D\",\"metric\":\"m\",\"actor\":\"app\",\"value\":1,\"unit\":\"%s\"}",
             unit);
    assert_int_equal(submit(f, text, &a), -EINVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_commit_answers_every_submission, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refusal_queues_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reset_tripwire_leaves_the_events_of_its_trip_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_kpi_metric_gives_the_units_covariates, setup, teardown),
        cmocka_unit_test_setup_teardown(a_kpi_covariates_definition_is_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_keeps_a_running_lookbacks_kpi_events, setup,
                                        teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
