/* test_retention.c - retention (sy_engine_retention) on a fake clock: events aged past the
 * limit are pruned once checkpointed, and every result is the same before the prune, after
 * it, after a reopen, and after more events (outcomes of units exposed before the prune,
 * crossovers, re-exposures, a retried event id) as those of an engine that never pruned;
 * a checkpoint that does not decode stops the start; KPI events a tripwire reads are kept
 * and its state is the same; audit events past their own limit go. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "../store/store_fixture.h"
#include "codec/experiment_json.h"
#include "codec/monitor_json.h"
#include "codec/regression_json.h"
#include "engine/engine.h"
#include "results_adapt.h"

#define DAY_MS (86400000LL)

static int64_t fake_ms = 1700000000000;

static int64_t fake_now(void)
{
    return fake_ms;
}

/* One engine on its own store, its workspace and admin. */
struct side {
    struct fx_place place; /* its store (store_fixture.h) */
    sy_engine_t *eng;
    sy_principal_t who;
};

struct pair {
    struct side pruned, kept; /* the one retention runs on, and one that never prunes */
};

static void side_open(struct side *s)
{
    sy_engine_opts_t o = {.db = s->place.uri, .now_ms = fake_now};
    sy_err_t err = {0};
    if (sy_engine_open(&s->eng, &o, &err) < 0)
        fail_msg("open: %s", err.msg);
}

static void side_reopen(struct side *s)
{
    sy_engine_close(s->eng);
    side_open(s);
}

static int setup(void **state)
{
    struct pair *p = calloc(1, sizeof(*p));
    struct side *both[2] = {&p->pruned, &p->kept};
    for (int i = 0; i < 2; i++) {
        struct side *s = both[i];
        fx_place_make(&s->place);
        side_open(s);
        int64_t ws, id;
        char secret[SY_TOKEN_MAX];
        if (sy_engine_workspace_create(s->eng, "w", &ws, NULL) < 0 ||
            sy_engine_token_create(s->eng, NULL, ws, "root", SY_ROLE_ADMIN, secret, sizeof(secret),
                                   &id, NULL) < 0 ||
            sy_engine_authenticate(s->eng, secret, strlen(secret), &s->who) < 0)
            return -1;
    }
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;
    sy_engine_close(p->pruned.eng);
    sy_engine_close(p->kept.eng);
    fx_place_drop(&p->pruned.place);
    fx_place_drop(&p->kept.place);
    free(p);
    return 0;
}

static void create_started(struct side *s, const char *key, const char *safety)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"key\":\"%s\",\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},"
             "{\"key\":\"b\",\"weight\":1}],\"safety\":%s}",
             key, safety);
    json_error_t je;
    json_t *def = json_loads(text, 0, &je);
    sy_exp_def_t d;
    sy_experiment_t x;
    sy_err_t err = {0};
    if (!def || sy_exp_def_read(def, &d, &err) < 0)
        fail_msg("definition: %s", err.msg);
    if (sy_engine_experiment_create(s->eng, &s->who, &d, &x, &err) < 0)
        fail_msg("create: %s", err.msg);
    sy_exp_def_clear(&d);
    json_decref(def);
    if (sy_engine_experiment_transition(s->eng, &s->who, key, "running", &x, &err) < 0)
        fail_msg("start: %s", err.msg);
}

/* The same experiment made and started on both sides of the pair. */
static void both_started(struct pair *p, const char *key, const char *safety)
{
    create_started(&p->pruned, key, safety);
    create_started(&p->kept, key, safety);
}

struct ack {
    int rc;
    sy_ingest_result_t r;
};

static void on_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)err;
    struct ack *a = arg;
    a->rc = rc;
    a->r.accepted += r->accepted;
    a->r.duplicates += r->duplicates;
}

/* Events are written as "kind unit [variant|success value] [cCOVARIATE] [#id]", one per
 * string. */
static sy_event_t event_of(const char *key, const char *text, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", text);
    char *kind = strtok(buf, " "), *unit = strtok(NULL, " "), *arg = strtok(NULL, " "), *id = NULL;
    sy_event_t ev = {.experiment = key,
                     .experiment_len = strlen(key),
                     .unit = unit,
                     .unit_len = strlen(unit),
                     .success = -1};
    for (char *t = arg; t; t = strtok(NULL, " ")) {
        if (t[0] == '#')
            id = t + 1;
        else if (t[0] == 'c' && t != arg) {
            ev.has_covariate = true;
            ev.covariate = atof(t + 1);
        } else if (strcmp(kind, "x") == 0) {
            ev.variant = t;
            ev.variant_len = strlen(t);
        } else if (strcmp(kind, "o") == 0 && (t[0] == '0' || t[0] == '1') && !t[1])
            ev.success = t[0] - '0';
        else if (t[0] == 'v') {
            ev.has_value = true;
            ev.value = atof(t + 1);
        } else if (t[0] == 'l') {
            ev.has_latency = true;
            ev.latency_ms = atof(t + 1);
        }
    }
    ev.kind = kind[0] == 'x'   ? SY_EVENT_EXPOSURE
              : kind[0] == 'o' ? SY_EVENT_OUTCOME
                               : SY_EVENT_ERROR;
    if (id) {
        ev.id = id;
        ev.id_len = strlen(id);
    }
    return ev;
}

/* Submits and commits `n` events of experiment `key` on both sides; the answers into
 * *pruned and *kept (added up). */
static void feed(struct pair *p, const char *key, char (*text)[64], size_t n, struct ack *pruned,
                 struct ack *kept)
{
    struct side *both[2] = {&p->pruned, &p->kept};
    struct ack *acks[2] = {pruned, kept};
    static char bufs[1000][64];
    sy_event_t *ev = calloc(n, sizeof(*ev));
    assert_true(n <= 1000);
    for (size_t i = 0; i < n; i++)
        ev[i] = event_of(key, text[i], bufs[i], sizeof(bufs[i]));
    for (int s = 0; s < 2; s++) {
        for (size_t off = 0; off < n; off += 100) {
            size_t k = n - off < 100 ? n - off : 100;
            sy_err_t err = {0};
            if (sy_engine_events_submit(both[s]->eng, &both[s]->who, ev + off, k, on_done, acks[s],
                                        &err) < 0)
                fail_msg("submit: %s (%s)", err.msg, err.field);
            sy_engine_events_commit(both[s]->eng);
            assert_int_equal(acks[s]->rc, 0);
        }
    }
    free(ev);
}

/* Everything a restart rebuilds of experiment `key`, as the API writes it: the results and
 * the health monitor's view (the watched variant, its baseline, the current health). */
static char *answers(struct side *s, const char *key)
{
    json_t *r = NULL;
    sy_err_t err = {0};
    if (results_json(s->eng, &s->who, key, &r, &err) < 0)
        fail_msg("results: %s", err.msg);
    sy_exp_health_t h;
    if (sy_engine_experiment_health(s->eng, &s->who, key, NULL, &h, &err) < 0)
        fail_msg("health: %s", err.msg);
    json_t *all = json_pack("{soso}", "results", r, "health", sy_exp_health_json(&h));
    char *text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    return text;
}

static void assert_same(char *a, char *b)
{
    if (strcmp(a, b) != 0)
        fail_msg("different:\n%s\n%s", a, b);
    free(a);
    free(b);
}

static int64_t count(struct side *s, const char *sql)
{
    return fx_sql_int64(s->place.uri, sql, NULL, NULL);
}

static void run(struct side *s, int64_t events_ms, int64_t audit_ms, sy_retention_report_t *out)
{
    sy_retention_opts_t o = {.events_ms = events_ms, .audit_ms = audit_ms};
    sy_err_t err = {0};
    if (sy_engine_retention(s->eng, &o, out, &err) < 0)
        fail_msg("retention: %s", err.msg);
}

/* Day 0: 300 units of "e" and 60 of "f", a third converting with values, some events with
 * ids; a step of "e" toward b at 1 h and units in its SRM grace; day 2: crossovers,
 * errors, latencies and outcomes of units exposed on day 0. */
static void first_days(struct pair *p)
{
    static char t[1000][64];
    size_t n = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(t[n++], 64, "x u%d %s%s", i, i % 2 ? "b" : "a", i % 5 == 0 ? " #x" : "");
        if (i % 5 == 0) /* the id made unique */
            snprintf(t[n - 1] + strlen(t[n - 1]), 16, "%d", i);
        if (i % 3 == 0)
            snprintf(t[n++], 64, "o u%d 1 v%d.25 l%d #o%d", i, i % 17, 50 + i % 9, i);
    }
    struct ack a = {0}, b = {0};
    feed(p, "e", t, n, &a, &b);
    assert_int_equal(a.r.accepted, b.r.accepted);
    n = 0;
    for (int i = 0; i < 60; i++)
        snprintf(t[n++], 64, "x f%d %s", i, i % 3 ? "a" : "b");
    for (int i = 0; i < 60; i += 4)
        snprintf(t[n++], 64, "o f%d 1", i);
    feed(p, "f", t, n, &a, &b);
    /* a step toward b an hour in: a new SRM period and health window */
    fake_ms += 3600000;
    struct side *both[2] = {&p->pruned, &p->kept};
    for (int s = 0; s < 2; s++) {
        sy_step_request_t req = {.winning_variant = "b", .confidence = 0.99, .delta = 5};
        sy_step_answer_t out;
        sy_err_t err = {0};
        if (sy_engine_allocation_apply(both[s]->eng, &both[s]->who, "e", &req, &out, &err) < 0)
            fail_msg("step: %s (%s)", err.msg, err.field);
        assert_true(out.applied);
    }
    fake_ms += 60000; /* in the grace */
    n = 0;
    for (int i = 300; i < 360; i++)
        snprintf(t[n++], 64, "x u%d %s", i, i % 3 ? "b" : "a");
    feed(p, "e", t, n, &a, &b);
    fake_ms += 2 * DAY_MS;
    n = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(t[n++], 64, "x u%d %s", i, i % 2 ? "a" : "b"); /* crossovers */
        snprintf(t[n++], 64, "o u%d 0 v-%d l%d", i + 40, i, 200 + i);
        snprintf(t[n++], 64, "e u%d l%d", i + 80, 900 + i);
    }
    feed(p, "e", t, n, &a, &b);
}

static void pruned_events_change_no_result_then_or_after_restarts(void **state)
{
    struct pair *p = *state;
    both_started(p, "e", "{\"sequential\":true,\"min_sample_per_variant\":10}");
    both_started(p, "f", "{}");
    first_days(p);
    int64_t events = count(&p->pruned, "SELECT count(*) FROM events");
    int64_t with_ids = count(&p->pruned, "SELECT count(*) FROM events WHERE event_id IS NOT NULL");
    assert_true(events > 500 && with_ids > 100);

    /* 89 days after day 0, nothing is old enough: nothing is checkpointed or pruned */
    fake_ms += 87 * DAY_MS;
    sy_retention_report_t r;
    run(&p->pruned, 90 * DAY_MS, 0, &r);
    assert_int_equal(r.events + r.checkpointed, 0);
    assert_int_equal(count(&p->pruned, "SELECT count(*) FROM experiment_checkpoints"), 0);

    /* 95 days after day 2, everything is: all pruned but the newest row (SQLite's next id) */
    fake_ms += 8 * DAY_MS;
    char *before = answers(&p->pruned, "e"), *before_f = answers(&p->pruned, "f");
    run(&p->pruned, 90 * DAY_MS, 0, &r);
    assert_int_equal(r.checkpointed, 2);
    assert_int_equal(r.events, events - 1);
    assert_false(r.more);
    assert_int_equal(count(&p->pruned, "SELECT count(*) FROM events WHERE kind != ''"), 1);
    /* those with an id are kept as their id, and nothing else */
    assert_int_equal(count(&p->pruned, "SELECT count(*) FROM events WHERE kind = '' AND"
                                       " event_id IS NOT NULL AND unit = '' AND value IS NULL"),
                     with_ids);
    sy_engine_counters_t c;
    sy_engine_counters(p->pruned.eng, &c);
    assert_int_equal(c.pruned[0], events - 1);
    assert_same(strdup(before), answers(&p->pruned, "e"));
    /* a second run finds nothing more to do */
    run(&p->pruned, 90 * DAY_MS, 0, &r);
    assert_int_equal(r.events + r.checkpointed, 0);

    /* a restart rebuilds the same numbers from the checkpoints: as the engine that never
     * pruned rebuilds them from its whole log */
    side_reopen(&p->pruned);
    side_reopen(&p->kept);
    assert_same(strdup(before), answers(&p->pruned, "e"));
    assert_same(strdup(before_f), answers(&p->pruned, "f"));
    assert_same(answers(&p->kept, "e"), before);
    assert_same(answers(&p->kept, "f"), before_f);

    /* more events: outcomes of units exposed before the prune, crossovers, a unit exposed
     * again to its variant, new units, and retries of pruned events with ids */
    static char t[200][64];
    size_t n = 0;
    for (int i = 0; i < 30; i++) {
        snprintf(t[n++], 64, "o u%d 1 v%d", 100 + i, i);
        snprintf(t[n++], 64, "x u%d %s", 200 + i, i % 2 ? "a" : "b");
        snprintf(t[n++], 64, "x n%d %s", i, i % 2 ? "a" : "b");
    }
    snprintf(t[n++], 64, "x u4 a");
    snprintf(t[n++], 64, "x u5 b #x5");           /* pruned, thinned: a duplicate */
    snprintf(t[n++], 64, "o u6 1 v1.25 l56 #o6"); /* likewise */
    struct ack a = {0}, b = {0};
    feed(p, "e", t, n, &a, &b);
    assert_int_equal(a.r.duplicates, 2);
    assert_int_equal(b.r.duplicates, 2);
    assert_int_equal(a.r.accepted, b.r.accepted);
    assert_same(answers(&p->pruned, "e"), answers(&p->kept, "e"));

    /* later, those go too: the checkpoint chain (the last one, then the events since) */
    fake_ms += 100 * DAY_MS;
    run(&p->pruned, 90 * DAY_MS, 0, &r);
    assert_int_equal(r.checkpointed, 1); /* f had no events since its checkpoint */
    assert_int_equal(r.events, n - 2);   /* the newest row stays; the duplicates were no rows */
    side_reopen(&p->pruned);
    side_reopen(&p->kept);
    assert_same(answers(&p->pruned, "e"), answers(&p->kept, "e"));
    assert_same(answers(&p->pruned, "f"), answers(&p->kept, "f"));
}

/* A run bounded by its limit prunes in steps, says there is more, and the steps come to
 * the same numbers; so do experiments replayed a group each. */
/* CUPED (issue 26): the covariates of exposures pruned live on in the checkpoint (each unit's,
 * each variant's co-moments), so the adjusted figures, and those of outcomes that come after
 * the prune for units exposed before it, are the same as an engine's that never pruned. */
static void cuped_figures_survive_pruning_and_restarts(void **state)
{
    struct pair *p = *state;
    /* the safety object, then the definition's other members */
    both_started(p, "c",
                 "{\"sequential\":true,\"min_sample_per_variant\":10},\"metric\":\"mean\","
                 "\"cuped\":{\"enabled\":true}");
    static char t[1000][64];
    size_t n = 0;
    for (int i = 0; i < 300; i++) {
        if (i % 7)
            snprintf(t[n++], 64, "x c%d %s c%d.5", i, i % 2 ? "b" : "a", i % 23);
        else /* no covariate: counted as 0 */
            snprintf(t[n++], 64, "x c%d %s", i, i % 2 ? "b" : "a");
        if (i % 3) /* outcomes for some now, the others after the prune */
            snprintf(t[n++], 64, "o c%d v%d", i, 2 * (i % 23) + i % 5);
    }
    struct ack a = {0}, b = {0};
    feed(p, "c", t, n, &a, &b);
    fake_ms += 95 * DAY_MS;
    char *before = answers(&p->pruned, "c");
    assert_non_null(strstr(before, "\"variance_reduction\":0."));
    assert_null(strstr(before, "\"theta\":null"));
    sy_retention_report_t r;
    run(&p->pruned, 90 * DAY_MS, 0, &r);
    assert_int_equal(r.checkpointed, 1);
    assert_true(r.events > 0);
    assert_same(strdup(before), answers(&p->pruned, "c"));
    side_reopen(&p->pruned);
    side_reopen(&p->kept);
    assert_same(strdup(before), answers(&p->pruned, "c"));
    assert_same(answers(&p->kept, "c"), before);
    /* outcomes of units exposed before the prune: their restored covariates count */
    n = 0;
    for (int i = 0; i < 300; i += 3)
        snprintf(t[n++], 64, "o c%d v%d", i, 2 * (i % 23) + 1);
    feed(p, "c", t, n, &a, &b);
    side_reopen(&p->pruned);
    assert_same(answers(&p->pruned, "c"), answers(&p->kept, "c"));
}

static void a_bounded_run_prunes_in_steps(void **state)
{
    struct pair *p = *state;
    both_started(p, "e", "{}");
    both_started(p, "f", "{}");
    first_days(p);
    fake_ms += 95 * DAY_MS;
    /* and one experiment a scan of the log: each its own group */
    sy_retention_opts_t o = {.events_ms = 90 * DAY_MS, .limit = 50, .group_units = 1};
    sy_retention_report_t r;
    int runs = 0;
    do {
        sy_err_t err = {0};
        if (sy_engine_retention(p->pruned.eng, &o, &r, &err) < 0)
            fail_msg("retention: %s", err.msg);
        assert_true(r.events <= 50);
        runs++;
        if (runs % 3 == 0)
            side_reopen(&p->pruned); /* a restart between steps */
    } while (r.more && runs < 100);
    assert_false(r.more);
    assert_true(runs > 5);
    assert_int_equal(count(&p->pruned, "SELECT count(*) FROM events WHERE kind != ''"), 1);
    side_reopen(&p->pruned);
    side_reopen(&p->kept);
    assert_same(answers(&p->pruned, "e"), answers(&p->kept, "e"));
    assert_same(answers(&p->pruned, "f"), answers(&p->kept, "f"));
}

/* An experiment that has ended takes no more events: its ids need not be kept. */
static void an_ended_experiments_ids_go_with_its_events(void **state)
{
    struct pair *p = *state;
    both_started(p, "e", "{}");
    both_started(p, "f", "{}");
    first_days(p);
    struct side *both[2] = {&p->pruned, &p->kept};
    for (int s = 0; s < 2; s++) {
        sy_experiment_t x;
        sy_err_t err = {0};
        if (sy_engine_experiment_transition(both[s]->eng, &both[s]->who, "e", "stopped", &x, &err) <
            0)
            fail_msg("stop: %s", err.msg);
    }
    fake_ms += 95 * DAY_MS;
    char *before = answers(&p->pruned, "e");
    sy_retention_report_t r;
    run(&p->pruned, 90 * DAY_MS, 0, &r);
    assert_int_equal(count(&p->pruned, "SELECT count(*) FROM events WHERE kind = ''"), 0);
    assert_int_equal(count(&p->pruned, "SELECT count(*) FROM events"), 1);
    side_reopen(&p->pruned);
    side_reopen(&p->kept);
    assert_same(strdup(before), answers(&p->pruned, "e"));
    assert_same(before, answers(&p->kept, "e"));
    assert_same(answers(&p->pruned, "f"), answers(&p->kept, "f"));
}

/* `--event-retention 0` keeps everything; an audit retention deletes only audit events. */
static void zero_keeps_everything_and_audit_has_its_own_limit(void **state)
{
    struct pair *p = *state;
    both_started(p, "e", "{}");
    both_started(p, "f", "{}");
    first_days(p);
    int64_t events = count(&p->pruned, "SELECT count(*) FROM events");
    int64_t audit = count(&p->pruned, "SELECT count(*) FROM audit");
    fake_ms += 400 * DAY_MS;
    sy_retention_report_t r;
    run(&p->pruned, 0, 0, &r);
    assert_int_equal(r.events + r.kpi_events + r.audit + r.checkpointed, 0);
    assert_int_equal(count(&p->pruned, "SELECT count(*) FROM events"), events);
    /* a change now, then audit older than a day goes, the change's stays */
    struct side *s = &p->pruned;
    sy_rollback_request_t rb = {.reason = "test"};
    assert_int_equal(sy_engine_experiment_rollback(s->eng, &s->who, "e", &rb, NULL), 0);
    int64_t audit_now = count(s, "SELECT count(*) FROM audit");
    assert_true(audit_now > audit);
    run(s, 0, DAY_MS, &r);
    assert_int_equal(r.audit, audit);
    assert_int_equal(count(s, "SELECT count(*) FROM audit"), audit_now - audit);
    assert_int_equal(count(s, "SELECT count(*) FROM events"), events);
}

/* A checkpoint that does not decode is an error at start-up, never other numbers. */
static void a_damaged_checkpoint_stops_the_start(void **state)
{
    struct pair *p = *state;
    both_started(p, "e", "{}");
    both_started(p, "f", "{}");
    first_days(p);
    fake_ms += 95 * DAY_MS;
    sy_retention_report_t r;
    run(&p->pruned, 90 * DAY_MS, 0, &r);
    assert_int_equal(r.checkpointed, 2);
    sy_engine_close(p->pruned.eng);
    p->pruned.eng = NULL;
    /* one byte of a unit's id changed: the check sum no longer holds */
    fx_sql_exec(p->pruned.place.uri,
                "UPDATE experiment_checkpoints SET state = substr(state, 1, 2000)"
                " || x'41' || substr(state, 2002)",
                "UPDATE experiment_checkpoints SET state = substring(state from 1 for 2000)"
                " || '\\x41'::bytea || substring(state from 2002)");
    sy_engine_opts_t o = {.db = p->pruned.place.uri, .now_ms = fake_now};
    sy_err_t err = {0};
    sy_engine_t *eng = NULL;
    assert_true(sy_engine_open(&eng, &o, &err) < 0);
    if (!strstr(err.msg, "checkpoint of experiment \"e\" does not decode"))
        fail_msg("%s", err.msg);
    assert_null(eng);
}

/* Two experiments of the same variants with their checkpoints swapped, or a checkpoint
 * moved to another place: each decodes well by itself, but its check covers the experiment
 * and the place, so the start stops instead of showing one's numbers as the other's. */
static void moved_checkpoint(void **state, const char *sql, const char *pg)
{
    struct pair *p = *state;
    /* two experiments alike but for their units and counts (no allocation change either) */
    static char t[2][40][64];
    for (int k = 0; k < 2; k++) {
        const char *key = k ? "h" : "g";
        both_started(p, key, "{}");
        size_t n = 0;
        for (int i = 0; i < 10 + 10 * k; i++) {
            snprintf(t[k][n++], 64, "x %s%d %s", key, i, i % 2 ? "b" : "a");
            if (i % 3 == 0)
                snprintf(t[k][n++], 64, "o %s%d 1", key, i);
        }
        struct ack a = {0}, b = {0};
        feed(p, key, t[k], n, &a, &b);
    }
    fake_ms += 95 * DAY_MS;
    sy_retention_report_t r;
    run(&p->pruned, 90 * DAY_MS, 0, &r);
    assert_int_equal(r.checkpointed, 2);
    sy_engine_close(p->pruned.eng);
    p->pruned.eng = NULL;
    fx_sql_exec(p->pruned.place.uri, sql, pg);
    sy_engine_opts_t o = {.db = p->pruned.place.uri, .now_ms = fake_now};
    sy_err_t err = {0};
    sy_engine_t *eng = NULL;
    assert_true(sy_engine_open(&eng, &o, &err) < 0);
    if (!strstr(err.msg, "does not decode") && !strstr(err.msg, "checkpoints were written"))
        fail_msg("%s", err.msg);
    assert_null(eng);
}

static void swapped_checkpoints_stop_the_start(void **state)
{
    /* ids a and b to -a and -b, then each to a + b - its own */
    moved_checkpoint(state,
                     "UPDATE experiment_checkpoints SET experiment_id = -experiment_id;"
                     " UPDATE experiment_checkpoints SET experiment_id = experiment_id +"
                     " (SELECT -min(experiment_id) - max(experiment_id) FROM"
                     " experiment_checkpoints)",
                     /* the key is checked row by row there, and is a foreign key: the rows
                      * swap what they hold instead */
                     "UPDATE experiment_checkpoints c SET seq = o.seq, state = o.state"
                     " FROM experiment_checkpoints o WHERE o.experiment_id <> c.experiment_id");
}

static void a_checkpoint_moved_to_another_place_stops_the_start(void **state)
{
    moved_checkpoint(state, "UPDATE experiment_checkpoints SET seq = seq - 1", NULL);
}

/* A checkpoint deleted: its experiment would replay only the events after it (zeros, here),
 * so the start counts them against the number the last run wrote. */
static void a_deleted_checkpoint_stops_the_start(void **state)
{
    moved_checkpoint(state,
                     "DELETE FROM experiment_checkpoints WHERE experiment_id ="
                     " (SELECT min(experiment_id) FROM experiment_checkpoints)",
                     NULL);
}

/* KPI events `n` of (D, metric), success but every `fail`-th, ids on the first `ids`, on
 * the pruned side only. */
static void kpi(struct side *s, const char *metric, int n, int fail, int ids)
{
    sy_kpi_event_t *ev = calloc((size_t)n, sizeof(*ev));
    char(*id)[16] = calloc((size_t)n, sizeof(*id));
    for (int i = 0; i < n; i++) {
        snprintf(id[i], sizeof(id[i]), "%s%d", metric, i);
        ev[i] = (sy_kpi_event_t){.domain = "D",
                                 .metric = metric,
                                 .has_success = true,
                                 .success = fail == 0 || i % fail != 0,
                                 .actor = "app",
                                 .id = i < ids ? id[i] : NULL};
    }
    struct ack a = {0};
    sy_err_t err = {0};
    if (sy_engine_kpi_submit(s->eng, &s->who, ev, (size_t)n, true, on_done, &a, &err) < 0)
        fail_msg("kpi: %s", err.msg);
    sy_engine_events_commit(s->eng);
    assert_int_equal(a.rc, 0);
    free(ev);
    free(id);
}

static void policy(struct side *s, const char *metric, int64_t window, int64_t baseline)
{
    sy_regression_policy_change_t ch = {.domain = "D",
                                        .metric = metric,
                                        .has_window_events = true,
                                        .window_events = window,
                                        .has_baseline_events = true,
                                        .baseline_events = baseline,
                                        .has_min_events_to_enforce = true,
                                        .min_events_to_enforce = 5,
                                        .has_enabled = true,
                                        .enabled = true,
                                        .reason = "watch"};
    sy_regression_policy_t out;
    sy_err_t err = {0};
    if (sy_engine_regression_policy_put(s->eng, &s->who, &ch, &out, &err) < 0)
        fail_msg("policy: %s (%s)", err.msg, err.field);
}

/* The tripwire of (D, metric) evaluated now, as the API writes it, without its times. */
static char *evaluated(struct side *s, const char *metric)
{
    sy_tripwire_state_t *v = NULL;
    size_t n = 0;
    sy_err_t err = {0};
    if (sy_engine_regression_evaluate(s->eng, &s->who, "D", metric, &v, &n, &err) < 0 || n != 1)
        fail_msg("evaluate: %s", err.msg);
    json_t *j = sy_tripwire_state_json(&v[0], false);
    json_object_del(j, "last_checked_at");
    json_object_del(j, "last_triggered_at");
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    free(v);
    return text;
}

static int64_t kpi_count(struct side *s, const char *metric)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM kpi_events WHERE metric = '%s'", metric);
    return count(s, sql);
}

/* A tripwire reads the newest window + baseline events of its series: those are kept, and
 * its evaluation is the same; a triggered one keeps its whole series (its reset reads
 * before the trip); a series without a policy keeps nothing past the limit but ids (and
 * the newest row of the table). */
static void kpi_events_a_tripwire_reads_are_kept(void **state)
{
    struct pair *p = *state;
    struct side *s = &p->pruned;
    policy(s, "ok", 10, 20);
    policy(s, "tripped", 10, 20);
    kpi(s, "ok", 100, 10, 5);     /* 90 %: not tripped */
    kpi(s, "tripped", 80, 10, 0); /* 90 % ... */
    kpi(s, "tripped", 10, 1, 0);  /* ... then 0 %: tripped */
    kpi(s, "nopolicy", 40, 0, 10);
    fake_ms += DAY_MS;
    kpi(s, "late", 3, 0, 0); /* young, and the newest row */
    char *ok = evaluated(s, "ok"), *tripped = evaluated(s, "tripped");
    assert_non_null(strstr(tripped, "\"triggered\":true"));
    assert_non_null(strstr(ok, "\"triggered\":false"));
    fake_ms += 90 * DAY_MS; /* the late ones are exactly 90 days old: kept */
    sy_retention_report_t r;
    run(s, 90 * DAY_MS, 0, &r);
    /* ok: 70 gone (5 of them kept as their ids); tripped: none; nopolicy: all (10 as ids) */
    assert_int_equal(r.kpi_events, 70 + 40);
    assert_int_equal(kpi_count(s, "ok"), 30);
    assert_int_equal(kpi_count(s, "tripped"), 90);
    assert_int_equal(kpi_count(s, "nopolicy"), 0);
    assert_int_equal(kpi_count(s, "late"), 3);
    assert_int_equal(count(s, "SELECT count(*) FROM kpi_events WHERE domain = '' AND event_id IS"
                              " NOT NULL AND success IS NULL"),
                     15);
    assert_same(ok, evaluated(s, "ok"));
    assert_same(tripped, evaluated(s, "tripped"));
    /* a retried KPI event whose row was thinned to its id is a duplicate */
    sy_kpi_event_t again = {.domain = "D",
                            .metric = "nopolicy",
                            .has_success = true,
                            .actor = "app",
                            .id = "nopolicy3"};
    struct ack a = {0};
    assert_int_equal(sy_engine_kpi_submit(s->eng, &s->who, &again, 1, false, on_done, &a, NULL), 0);
    sy_engine_events_commit(s->eng);
    assert_int_equal(a.r.duplicates, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pruned_events_change_no_result_then_or_after_restarts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_bounded_run_prunes_in_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(cuped_figures_survive_pruning_and_restarts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(zero_keeps_everything_and_audit_has_its_own_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(swapped_checkpoints_stop_the_start, setup, teardown),
        cmocka_unit_test_setup_teardown(a_checkpoint_moved_to_another_place_stops_the_start, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_deleted_checkpoint_stops_the_start, setup, teardown),
        cmocka_unit_test_setup_teardown(a_damaged_checkpoint_stops_the_start, setup, teardown),
        cmocka_unit_test_setup_teardown(kpi_events_a_tripwire_reads_are_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(an_ended_experiments_ids_go_with_its_events, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
