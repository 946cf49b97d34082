/* test_writer.c - group commits on the writer thread (sy_engine_writer_start): a batch with
 * the writer is neither answered nor in the aggregates until it lands, and what is
 * submitted meanwhile is judged against the state that includes it: a unit's first
 * exposure, duplicate ids within and across batches, the unit cap, an experiment stopped,
 * an allocation step (placed before the batch, in memory as after a reopen), OFREP's
 * exposures; a failed batch refuses its submissions whole and changes nothing; KPI events
 * take the same road; a batch that lands with fewer queued than it answered makes the next
 * gather that many (or wait for the writer's alarm); stopping the writer answers everything
 * that waits. Most end with a reopen that rebuilds the same results. */
#define _DEFAULT_SOURCE
#include <poll.h>

#include "fixture.h"
#include "results_adapt.h"

struct ack {
    int calls, rc;
    sy_ingest_result_t r;
    char field[64];
};

static void on_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    struct ack *a = arg;
    a->calls++;
    a->rc = rc;
    a->r = *r;
    snprintf(a->field, sizeof(a->field), "%s", err ? err->field : "");
}

static sy_event_t exposure(const char *unit, const char *variant)
{
    return (sy_event_t){.kind = SY_EVENT_EXPOSURE,
                        .experiment = "e",
                        .experiment_len = 1,
                        .unit = unit,
                        .unit_len = strlen(unit),
                        .variant = variant,
                        .variant_len = strlen(variant),
                        .success = -1};
}

static sy_event_t outcome(const char *unit, int success)
{
    return (sy_event_t){.kind = SY_EVENT_OUTCOME,
                        .experiment = "e",
                        .experiment_len = 1,
                        .unit = unit,
                        .unit_len = strlen(unit),
                        .success = success};
}

static sy_event_t with_id(sy_event_t ev, const char *id)
{
    ev.id = id;
    ev.id_len = strlen(id);
    return ev;
}

static int submit(struct fixture *f, const sy_event_t *ev, size_t n, struct ack *a, sy_err_t *err)
{
    return sy_engine_events_submit(f->eng, &f->who, ev, n, on_done, a, err);
}

/* Starts the writer thread; its descriptor. */
static int writer(struct fixture *f)
{
    int fd = -1;
    sy_err_t err = {0};
    if (sy_engine_writer_start(f->eng, &fd, &err) < 0)
        fail_msg("writer: %s", err.msg);
    assert_true(fd >= 0);
    return fd;
}

/* Waits until the writer is done with the batch in flight: committed (or failed), not
 * landed. */
static void written(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
}

/* ... and lands it, handing over what is queued (or gathering more: then the writer's
 * alarm makes the descriptor readable). */
static void land(struct fixture *f, int fd)
{
    written(fd);
    sy_engine_events_commit(f->eng);
}

/* Lands batches, and hands the queue over when the gathering ends, until `a` has had
 * `calls` answers. */
static void until_answered(struct fixture *f, int fd, const struct ack *a, int calls)
{
    for (int i = 0; a->calls < calls && i < 100; i++)
        land(f, fd);
    assert_int_equal(a->calls, calls);
}

static void start_e(struct fixture *f, const char *extra)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"key\":\"e\",\"variants\":[{\"key\":\"a\",\"weight\":50,\"control\":true},"
             "{\"key\":\"b\",\"weight\":50}]%s}",
             extra);
    create_started(f, text, "e");
}

static json_t *results(struct fixture *f)
{
    json_t *out = NULL;
    sy_err_t err = {0};
    if (results_json(f->eng, &f->who, "e", &out, &err) < 0)
        fail_msg("results: %s", err.msg);
    json_object_del(out, "runtime_hours");
    return out;
}

static json_int_t arm_int(json_t *r, int arm, const char *field)
{
    return json_integer_value(
        json_object_get(json_array_get(json_object_get(r, "variants"), arm), field));
}

/* The results now equal those of a reopened engine (rebuilt from the log); the reopened
 * engine replaces the old one. */
static void same_after_reopen(struct fixture *f)
{
    json_t *before = results(f);
    sy_engine_close(f->eng);
    f->eng = open_engine();
    json_t *after = results(f);
    if (!json_equal(before, after)) {
        char *b = json_dumps(before, JSON_COMPACT), *a = json_dumps(after, JSON_COMPACT);
        fail_msg("before %s\nafter  %s", b, a);
    }
    json_decref(before);
    json_decref(after);
}

/* How many rows of the log are events of `unit`. */
static int logged(const char *unit)
{
    return (int)fx_sql_int64(fx_uri, "SELECT count(*) FROM events WHERE unit = ?1",
                             "SELECT count(*) FROM events WHERE unit = $1", unit);
}

static void a_batch_with_the_writer_is_answered_and_counted_only_once_it_lands(void **state)
{
    struct fixture *f = *state;
    start_e(f, "");
    int fd = writer(f);
    sy_event_t ev[2] = {exposure("u1", "a"), outcome("u1", 1)};
    struct ack a = {0};
    assert_int_equal(submit(f, ev, 2, &a, NULL), 0);
    sy_engine_events_commit(f->eng); /* handed over: returns at once */
    written(fd);                     /* committed ... */
    assert_int_equal(a.calls, 0);    /* ... but neither answered */
    json_t *r = results(f);
    assert_int_equal(arm_int(r, 0, "units"), 0); /* nor counted */
    json_decref(r);
    assert_int_equal(logged("u1"), 2);
    sy_engine_events_commit(f->eng); /* lands */
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.rc, 0);
    assert_int_equal(a.r.accepted, 2);
    r = results(f);
    assert_int_equal(arm_int(r, 0, "units"), 1);
    assert_int_equal(arm_int(r, 0, "conversions"), 1);
    json_decref(r);
    same_after_reopen(f);
}

static void a_first_exposure_in_flight_wins_over_one_submitted_meanwhile(void **state)
{
    struct fixture *f = *state;
    start_e(f, "");
    int fd = writer(f);
    sy_event_t first[1] = {exposure("u1", "a")};
    sy_event_t later[3] = {exposure("u1", "b"), outcome("u1", 1), exposure("u2", "b")};
    struct ack a = {0}, b = {0};
    assert_int_equal(submit(f, first, 1, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(submit(f, later, 3, &b, NULL), 0); /* while the first is in flight */
    sy_engine_events_commit(f->eng);                    /* still in flight: nothing happens */
    assert_int_equal(a.calls + b.calls, 0);
    land(f, fd); /* the first lands, the later is handed over */
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 0);
    land(f, fd);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.r.accepted, 3);
    json_t *r = results(f);
    assert_int_equal(arm_int(r, 0, "units"), 1); /* u1 stays in "a", where it came first */
    assert_int_equal(arm_int(r, 0, "conversions"), 1);
    assert_int_equal(arm_int(r, 0, "crossovers"), 1);
    assert_int_equal(arm_int(r, 1, "units"), 1); /* u2 */
    json_decref(r);
    same_after_reopen(f);
}

static void duplicate_ids_count_once_within_and_across_batches_in_flight(void **state)
{
    struct fixture *f = *state;
    start_e(f, "");
    int fd = writer(f);
    sy_event_t one[2] = {with_id(exposure("u1", "a"), "x"), with_id(exposure("u2", "b"), "y")};
    sy_event_t again[1] = {with_id(exposure("u1", "a"), "x")};
    sy_event_t later[2] = {with_id(exposure("u2", "b"), "y"), with_id(exposure("u3", "a"), "z")};
    struct ack a = {0}, b = {0}, c = {0}, d = {0};
    assert_int_equal(submit(f, one, 2, &a, NULL), 0);
    assert_int_equal(submit(f, again, 1, &b, NULL), 0); /* the same batch */
    sy_engine_events_commit(f->eng);
    assert_int_equal(submit(f, later, 2, &c, NULL), 0); /* the next, while it is in flight */
    assert_int_equal(submit(f, again, 1, &d, NULL), 0);
    land(f, fd);
    land(f, fd);
    assert_int_equal(a.r.accepted, 2);
    assert_int_equal(b.r.accepted, 0);
    assert_int_equal(b.r.duplicates, 1);
    assert_int_equal(c.r.accepted, 1);
    assert_int_equal(c.r.duplicates, 1);
    assert_int_equal(d.r.duplicates, 1);
    json_t *r = results(f);
    assert_int_equal(json_integer_value(json_object_get(r, "units")), 3);
    json_decref(r);
    same_after_reopen(f);
}

static void
a_failed_batch_in_flight_is_refused_whole_and_the_next_is_judged_without_it(void **state)
{
    struct fixture *f = *state;
    start_e(f, "");
    int fd = writer(f);
    sy_event_t ok[1] = {exposure("u1", "a")};
    struct ack a = {0};
    assert_int_equal(submit(f, ok, 1, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    land(f, fd);
    json_t *before = results(f);
    poison();
    sy_event_t bad[4] = {with_id(exposure("u2", "b"), "p1"), exposure("u1", "b"), outcome("u1", 1),
                         exposure("poison", "a")};
    sy_event_t retry[2] = {with_id(exposure("u2", "b"), "p1"), exposure("u3", "a")};
    struct ack b = {0}, c = {0};
    assert_int_equal(submit(f, bad, 4, &b, NULL), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(submit(f, retry, 2, &c, NULL), 0);
    land(f, fd);
    assert_int_equal(b.calls, 1);
    assert_true(b.rc < 0);
    assert_int_equal(b.r.accepted, 0);
    json_t *after = results(f); /* nothing of the failed batch */
    assert_true(json_equal(before, after));
    json_decref(after);
    json_decref(before);
    land(f, fd);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.r.accepted, 2); /* p1 was rolled back: it is new */
    assert_int_equal(c.r.duplicates, 0);
    json_t *r = results(f);
    assert_int_equal(arm_int(r, 0, "units"), 2);
    assert_int_equal(arm_int(r, 0, "crossovers"), 0);
    assert_int_equal(arm_int(r, 1, "units"), 1);
    json_decref(r);
    same_after_reopen(f);
}

static void the_unit_cap_counts_the_new_units_of_the_batch_in_flight(void **state)
{
    struct fixture *f = *state;
    sy_engine_close(f->eng);
    sy_engine_opts_t o = {.db = fx_uri, .now_ms = fake_now, .max_units = 2};
    assert_int_equal(sy_engine_open(&f->eng, &o, NULL), 0);
    start_e(f, "");
    int fd = writer(f);
    poison(); /* the batch in flight will fail: its units never arrive */
    sy_event_t two[2] = {exposure("u1", "a"), exposure("poison", "b")};
    sy_event_t third[1] = {exposure("u3", "a")};
    struct ack a = {0}, b = {0};
    sy_err_t err = {0};
    assert_int_equal(submit(f, two, 2, &a, NULL), 0);
    assert_int_equal(submit(f, third, 1, &b, NULL), 0); /* queued with them: not counted */
    sy_engine_events_commit(f->eng);
    assert_int_equal(submit(f, third, 1, &b, &err), -ENOSPC); /* in flight: counted */
    assert_string_equal(err.field, "events[0].experiment");
    land(f, fd);
    assert_true(a.rc < 0);
    assert_true(b.rc < 0); /* the whole batch */
    /* the failed batch's units are gone from the count */
    assert_int_equal(submit(f, third, 1, &b, NULL), 0);
    sy_engine_events_commit(f->eng);
    until_answered(f, fd, &b, 2);
    assert_int_equal(b.rc, 0);
    json_t *r = results(f);
    assert_int_equal(json_integer_value(json_object_get(r, "units")), 1);
    json_decref(r);
}

static void an_experiment_stopped_while_its_batch_is_in_flight_keeps_that_batch(void **state)
{
    struct fixture *f = *state;
    start_e(f, "");
    int fd = writer(f);
    sy_event_t ev[2] = {exposure("u1", "a"), exposure("u2", "b")};
    struct ack a = {0}, b = {0};
    assert_int_equal(submit(f, ev, 2, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    sy_err_t err = {0};
    /* on the engine's handle, while the writer's may hold the write lock */
    if (exp_transition(f, "e", "stopped", &err) < 0)
        fail_msg("stop: %s", err.msg);
    assert_int_equal(submit(f, ev, 1, &b, &err), SY_ECONFLICT);
    land(f, fd);
    assert_int_equal(a.rc, 0); /* taken while it ran: kept and counted */
    assert_int_equal(a.r.accepted, 2);
    json_t *r = results(f);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "stopped");
    assert_int_equal(json_integer_value(json_object_get(r, "units")), 2);
    json_decref(r);
    same_after_reopen(f);
}

static sy_exp_health_t health(struct fixture *f)
{
    sy_exp_health_t out;
    assert_int_equal(sy_engine_experiment_health(f->eng, &f->who, "e", NULL, &out, NULL), 0);
    return out;
}

/* Two healths as the API would tell them apart (their sample counts are not shown). */
static void assert_same_health(const sy_health_t *x, const sy_health_t *y)
{
    assert_true(x->success_rate == y->success_rate && x->error_rate == y->error_rate);
    assert_true(x->has_p95 == y->has_p95 && (!x->has_p95 || x->p95_ms == y->p95_ms));
    assert_true(x->has_retry_rate == y->has_retry_rate &&
                (!x->has_retry_rate || x->retry_rate == y->retry_rate));
}

static void assert_same_view(const sy_exp_health_t *x, const sy_exp_health_t *y)
{
    const sy_health_view_t *a = &x->health, *b = &y->health;
    assert_string_equal(x->experiment, y->experiment);
    assert_string_equal(x->state, y->state);
    assert_int_equal(a->has_watched, b->has_watched);
    assert_string_equal(a->watched, b->watched);
    assert_int_equal(a->has_baseline, b->has_baseline);
    assert_same_health(&a->baseline, &b->baseline);
    assert_int_equal(a->has_current, b->has_current);
    assert_same_health(&a->current, &b->current);
    assert_int_equal(a->source, b->source);
    assert_int_equal(a->rollback_due, b->rollback_due);
    assert_int_equal(a->reasons, b->reasons);
    assert_int_equal(a->look, b->look);
    assert_int_equal(a->window_ready, b->window_ready);
}

/* `n` units from `first` exposed to "a", each with an outcome, a failure when i % fail_mod
 * is 0. */
static void traffic(struct fixture *f, int first, int n, int fail_mod, struct ack *a)
{
    char(*units)[16] = calloc((size_t)n, sizeof(*units));
    sy_event_t *ev = calloc(2 * (size_t)n, sizeof(*ev));
    for (int i = 0; i < n; i++) {
        snprintf(units[i], sizeof(units[i]), "t%d", first + i);
        ev[2 * i] = exposure(units[i], "a");
        ev[2 * i + 1] = outcome(units[i], i % fail_mod != 0);
    }
    assert_int_equal(submit(f, ev, 2 * (size_t)n, a, NULL), 0);
    free(units);
    free(ev);
}

static void a_step_while_a_batch_is_in_flight_comes_before_it_after_a_reopen_too(void **state)
{
    struct fixture *f = *state;
    start_e(f, ",\"health\":{\"min_events\":100}");
    int fd = writer(f);
    struct ack a = {0}, b = {0};
    traffic(f, 0, 200, 50, &a); /* healthy: 2 % failures */
    sy_engine_events_commit(f->eng);
    land(f, fd);
    traffic(f, 200, 200, 2, &b); /* 50 % failures */
    sy_engine_events_commit(f->eng);
    written(fd); /* in the log, not in the aggregates yet: the step comes first */
    json_t *body = json_pack("{sssfsf}", "winning_variant", "a", "confidence", 0.97, "delta", 5.0),
           *out = NULL;
    sy_err_t err = {0};
    if (apply_json(f->eng, &f->who, "e", body, &out, &err) < 0)
        fail_msg("step: %s (%s)", err.msg, err.field);
    json_decref(body);
    json_decref(out);
    sy_engine_events_commit(f->eng); /* lands: after the step, in its window */
    assert_int_equal(b.r.accepted, 400);
    sy_exp_health_t before = health(f);
    assert_true(before.health.has_baseline); /* the healthy 200 */
    if (fx_is_pg()) {
        /* The log ordered for several nodes (tail.c): a change is placed after every row
         * its node committed, so the step waited for the batch, which landed first, in the
         * window before it (200 healthy, 200 failing): the same order after the reopen. */
        assert_false(before.health.has_current);
        assert_true(before.health.baseline.success_rate > 0.6 &&
                    before.health.baseline.success_rate < 0.9);
    } else {
        assert_true(before.health.has_current); /* the failing 200 */
        assert_true(before.health.current.success_rate < 0.6);
    }
    sy_engine_close(f->eng);
    f->eng = open_engine();
    sy_exp_health_t after = health(f);
    assert_same_view(&before, &after);
    same_after_reopen(f);
}

/* Two nodes on one database (PostgreSQL: tail.c). Node 2 ingests while node 1's commit is
 * in the log and not in its copies: its batch is sent back and made again after a tail, and
 * its units overlap node 1's (crossovers, decided by the log's order). Node 1 then steps,
 * holding the log's lock with node 2's rows applied, and ingests more; node 2 tails. Both
 * answer the same results and health, and so does a third opened on the log alone. */
static void two_nodes_apply_each_others_commits_in_the_logs_order(void **state)
{
    struct fixture *f = *state;
    start_e(f, ",\"health\":{\"min_events\":100},\"allocation\":{\"cooldown_hours\":0,"
               "\"max_changes_per_day\":100}");
    struct fixture g = {.eng = open_engine(), .who = f->who};
    sy_err_t err = {0};
    assert_int_equal(sy_engine_listen(g.eng, &err), 0);
    struct ack a1 = {0}, a2 = {0}, a3 = {0};
    traffic(f, 0, 200, 50, &a1);
    sy_engine_events_commit(f->eng);
    assert_int_equal(a1.r.accepted, 400);
    /* node 2: units t100..t299, exposed to "b" where node 1 exposed t100..t199 to "a" */
    char(*units)[16] = calloc(200, sizeof(*units));
    sy_event_t *ev = calloc(400, sizeof(*ev));
    for (int i = 0; i < 200; i++) {
        snprintf(units[i], sizeof(units[i]), "t%d", 100 + i);
        ev[2 * i] = exposure(units[i], "b");
        ev[2 * i + 1] = outcome(units[i], i % 2 != 0);
    }
    assert_int_equal(submit(&g, ev, 400, &a2, NULL), 0);
    sy_engine_events_commit(g.eng);
    assert_int_equal(a2.calls, 1);
    assert_int_equal(a2.rc, 0);
    assert_int_equal(a2.r.accepted, 400);
    free(units);
    free(ev);
    json_t *body = json_pack("{sssfsf}", "winning_variant", "a", "confidence", 0.97, "delta", 5.0),
           *out = NULL;
    if (apply_json(f->eng, &f->who, "e", body, &out, &err) < 0)
        fail_msg("step on node 1: %s (%s)", err.msg, err.field);
    json_decref(body);
    json_decref(out);
    traffic(f, 300, 100, 3, &a3);
    sy_engine_events_commit(f->eng);
    assert_int_equal(a3.r.accepted, 200);
    fake_ms += 2000; /* a tail a second, whatever was heard */
    size_t applied = 0;
    assert_int_equal(sy_engine_sync(g.eng, &applied, &err), 0);
    json_t *r1 = results(f), *r2 = results(&g);
    assert_int_equal(arm_int(r1, 1, "units"), 100); /* t200..t299: b first */
    assert_int_equal(arm_int(r1, 0, "crossovers"), 100); /* t100..t199: a, then b */
    if (!json_equal(r1, r2)) {
        char *x = json_dumps(r1, JSON_COMPACT), *y = json_dumps(r2, JSON_COMPACT);
        fail_msg("node 1 %s\nnode 2 %s", x, y);
    }
    struct fixture h = {.eng = open_engine(), .who = f->who};
    json_t *r3 = results(&h);
    assert_true(json_equal(r1, r3));
    sy_exp_health_t h1 = health(f), h2 = health(&g), h3 = health(&h);
    assert_same_view(&h1, &h2);
    assert_same_view(&h1, &h3);
    json_decref(r1);
    json_decref(r2);
    json_decref(r3);
    sy_engine_close(g.eng);
    sy_engine_close(h.eng);
}

/* Retention on node 1 prunes events node 2 (listening, but not tailing meanwhile: as if
 * stopped) never applied: node 2 says so at its next tail, and keeps what it had rather than
 * count less; a node opened now rebuilds the whole from the checkpoints. PostgreSQL only. */
static void a_node_behind_what_retention_pruned_says_so(void **state)
{
    struct fixture *f = *state;
    start_e(f, "");
    struct fixture g = {.eng = open_engine(), .who = f->who};
    sy_err_t err = {0};
    assert_int_equal(sy_engine_listen(g.eng, &err), 0);
    json_t *before = results(&g);
    struct ack a = {0};
    traffic(f, 0, 100, 7, &a);
    sy_engine_events_commit(f->eng);
    assert_int_equal(a.r.accepted, 200);
    fake_ms += 3600 * 1000; /* an hour later, retention keeps a minute */
    sy_retention_opts_t o = {.events_ms = 60 * 1000};
    sy_retention_report_t r = {0};
    int64_t pruned = 0;
    for (int run = 0; run < 3 && pruned == 0; run++) {
        if (sy_engine_retention(f->eng, &o, &r, &err) < 0)
            fail_msg("retention: %s", err.msg);
        pruned += r.events;
    }
    assert_true(pruned > 0);
    fake_ms += 2000; /* a tail a second, whatever was heard */
    size_t applied = 0;
    err = (sy_err_t){0};
    assert_int_equal(sy_engine_sync(g.eng, &applied, &err), -ESTALE);
    assert_non_null(strstr(err.msg, "restart it to rebuild its experiments"));
    json_t *now = results(&g), *rebuilt = NULL;
    assert_true(json_equal(before, now)); /* nothing of the log after the gap counted */
    struct fixture h = {.eng = open_engine(), .who = f->who};
    json_t *r1 = results(f);
    rebuilt = results(&h);
    assert_true(json_equal(r1, rebuilt));
    json_decref(before);
    json_decref(now);
    json_decref(r1);
    json_decref(rebuilt);
    sy_engine_close(g.eng);
    sy_engine_close(h.eng);
}

static void
exposures_seen_by_ofrep_meanwhile_are_written_only_when_they_change_something(void **state)
{
    struct fixture *f = *state;
    start_e(f, ",\"record_exposures\":true");
    int fd = writer(f);
    int64_t ws = f->who.workspace;
    sy_event_t ev[1] = {exposure("u1", "a")};
    struct ack a = {0};
    assert_int_equal(submit(f, ev, 1, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    /* in flight: the engine does not know u1 yet, and queues what OFREP saw */
    sy_engine_exposure_seen(f->eng, ws, "e", 1, "u1", 2, "a", 1);
    sy_engine_exposure_seen(f->eng, ws, "e", 1, "u2", 2, "b", 1);
    sy_engine_exposure_seen(f->eng, ws, "e", 1, "u2", 2, "b", 1);
    land(f, fd);
    sy_engine_writer_stop(f->eng);     /* what OFREP saw, committed: nobody waits for it */
    assert_int_equal(logged("u1"), 1); /* the exposure in flight said it already */
    assert_int_equal(logged("u2"), 1); /* its first exposure, once */
    json_t *r = results(f);
    assert_int_equal(arm_int(r, 0, "units"), 1);
    assert_int_equal(arm_int(r, 1, "units"), 1);
    json_decref(r);
    same_after_reopen(f);
}

/* The writer writes a batch's rows in one call, deciding which exposures OFREP saw to write
 * as if every row were accepted. Here a row comes back a duplicate (its id was logged for
 * another unit) and so its unit is not exposed after all: the exposure seen after it, which
 * the guess left out, is due. The batch is written again row by row, and lands as if it had
 * been from the start. */
static void a_duplicate_that_changes_what_ofrep_saw_is_written_again_one_by_one(void **state)
{
    struct fixture *f = *state;
    start_e(f, ",\"record_exposures\":true");
    int fd = writer(f);
    int64_t ws = f->who.workspace;
    sy_event_t first[1] = {with_id(exposure("u1", "a"), "x")};
    sy_event_t again[2] = {outcome("u1", 1), with_id(exposure("u2", "b"), "x")};
    struct ack a = {0}, b = {0};
    assert_int_equal(submit(f, first, 1, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    until_answered(f, fd, &a, 1);
    assert_int_equal(submit(f, again, 2, &b, NULL), 0);
    sy_engine_exposure_seen(f->eng, ws, "e", 1, "u2", 2, "b", 1); /* u2 is new to the engine */
    sy_engine_events_commit(f->eng);
    until_answered(f, fd, &b, 1);
    sy_engine_writer_stop(f->eng);
    assert_int_equal(b.rc, 0);
    assert_int_equal(b.r.accepted, 1);
    assert_int_equal(b.r.duplicates, 1);
    assert_int_equal(logged("u1"), 2);
    assert_int_equal(logged("u2"), 1); /* what OFREP saw */
    json_t *r = results(f);
    assert_int_equal(arm_int(r, 0, "units"), 1);
    assert_int_equal(arm_int(r, 0, "conversions"), 1);
    assert_int_equal(arm_int(r, 1, "units"), 1);
    json_decref(r);
    same_after_reopen(f);
}

static void kpi_events_commit_on_the_writer_and_their_ids_count_once_across_batches(void **state)
{
    struct fixture *f = *state;
    int fd = writer(f);
    /* held until both are answered, as the engine borrows them until then */
    const sy_kpi_event_t one = {.domain = "D",
                                .metric = "m",
                                .actor = "app",
                                .has_success = true,
                                .success = true,
                                .id = "k1"};
    struct ack a = {0}, b = {0};
    assert_int_equal(sy_engine_kpi_submit(f->eng, &f->who, &one, 1, false, on_done, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(sy_engine_kpi_submit(f->eng, &f->who, &one, 1, false, on_done, &b, NULL), 0);
    written(fd);
    assert_int_equal(a.calls, 0);
    land(f, fd);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.r.accepted, 1);
    land(f, fd);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.r.duplicates, 1);
}

/* An answer that submits again, and commits at once. */
struct again {
    struct fixture *f;
    bool commit;
    struct ack first, next;
};

static void again_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    struct again *g = arg;
    on_done(&g->first, rc, r, err);
    sy_event_t ev[1] = {exposure(g->commit ? "n1" : "n2", "b")};
    assert_int_equal(submit(g->f, ev, 1, &g->next, NULL), 0);
    if (g->commit)
        sy_engine_events_commit(g->f->eng);
}

static void an_answer_that_commits_again_hands_the_next_batch_over_once(void **state)
{
    struct fixture *f = *state;
    start_e(f, "");
    int fd = writer(f);
    struct again one = {.f = f, .commit = true}, two = {.f = f};
    sy_event_t a[1] = {exposure("u1", "a")}, b[1] = {exposure("u2", "a")};
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, a, 1, again_done, &one, NULL), 0);
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, b, 1, again_done, &two, NULL), 0);
    sy_engine_events_commit(f->eng);
    land(f, fd); /* the first answer hands n1 over; the second queues n2 behind it */
    assert_int_equal(one.first.calls + two.first.calls, 2);
    land(f, fd); /* n1 lands, n2 goes */
    land(f, fd);
    assert_int_equal(one.next.calls, 1);
    assert_int_equal(two.next.calls, 1);
    assert_int_equal(one.next.rc | two.next.rc, 0);
    json_t *r = results(f);
    assert_int_equal(json_integer_value(json_object_get(r, "units")), 4);
    json_decref(r);
}

static void
after_a_batch_lands_the_next_gathers_as_many_submissions_or_waits_its_commit(void **state)
{
    struct fixture *f = *state;
    start_e(f, "");
    int fd = writer(f);
    sy_event_t ev[6] = {exposure("u1", "a"), exposure("u2", "a"), exposure("u3", "a"),
                        exposure("u4", "b"), exposure("u5", "b"), exposure("u6", "b")};
    struct ack a[3] = {{0}}, b[3] = {{0}}, c = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(submit(f, &ev[i], 1, &a[i], NULL), 0);
    sy_engine_events_commit(f->eng);
    land(f, fd); /* three answered, none queued: the next batch gathers */
    assert_int_equal(a[0].calls + a[1].calls + a[2].calls, 3);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(submit(f, &ev[3 + i], 1, &b[i], NULL), 0);
        sy_engine_events_commit(f->eng); /* not yet: two of three */
    }
    assert_int_equal(submit(f, &ev[5], 1, &b[2], NULL), 0);
    sy_engine_events_commit(f->eng); /* the third: they go together */
    land(f, fd);
    assert_int_equal(b[0].calls + b[1].calls + b[2].calls, 3); /* one commit for the three */
    /* three answered again, one comes: it waits for the writer's alarm, not for ever */
    sy_event_t late[1] = {exposure("u7", "a")};
    assert_int_equal(submit(f, late, 1, &c, NULL), 0);
    sy_engine_events_commit(f->eng);
    land(f, fd); /* the alarm: handed over */
    land(f, fd); /* landed */
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.rc, 0);
    same_after_reopen(f);
}

static void stopping_the_writer_answers_the_batch_in_flight_and_the_queue(void **state)
{
    struct fixture *f = *state;
    start_e(f, "");
    writer(f);
    sy_event_t one[1] = {exposure("u1", "a")}, two[1] = {exposure("u2", "b")};
    struct ack a = {0}, b = {0};
    assert_int_equal(submit(f, one, 1, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(submit(f, two, 1, &b, NULL), 0);
    sy_engine_writer_stop(f->eng);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    /* synchronous again */
    struct ack c = {0};
    sy_event_t three[1] = {exposure("u3", "b")};
    assert_int_equal(submit(f, three, 1, &c, NULL), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(c.calls, 1);
    same_after_reopen(f);
    json_t *r = results(f);
    assert_int_equal(json_integer_value(json_object_get(r, "units")), 3);
    json_decref(r);
}

static void closing_the_engine_answers_what_waits_for_the_writer(void **state)
{
    struct fixture *f = *state;
    start_e(f, "");
    writer(f);
    sy_event_t one[1] = {exposure("u1", "a")}, two[1] = {exposure("u2", "b")};
    struct ack a = {0}, b = {0};
    assert_int_equal(submit(f, one, 1, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(submit(f, two, 1, &b, NULL), 0);
    sy_engine_close(f->eng);
    f->eng = open_engine();
    assert_int_equal(a.calls + b.calls, 2);
    assert_int_equal(a.rc | b.rc, 0);
    json_t *r = results(f);
    assert_int_equal(json_integer_value(json_object_get(r, "units")), 2);
    json_decref(r);
}

static void a_database_in_memory_keeps_its_commits_synchronous(void **state)
{
    (void)state;
    FX_SQLITE_ONLY("\":memory:\" is SQLite's own database, none of PostgreSQL's");
    sy_engine_opts_t o = {.db = ":memory:", .now_ms = fake_now};
    sy_engine_t *eng;
    assert_int_equal(sy_engine_open(&eng, &o, NULL), 0);
    int fd = 0;
    assert_int_equal(sy_engine_writer_start(eng, &fd, NULL), 0);
    assert_int_equal(fd, -1);
    sy_engine_close(eng);
}

static void the_writer_starts_once(void **state)
{
    struct fixture *f = *state;
    writer(f);
    int fd = 0;
    sy_err_t err = {0};
    assert_int_equal(sy_engine_writer_start(f->eng, &fd, &err), -EALREADY);
    assert_int_equal(fd, -1);
}

static void pipelined_batches_rebuild_every_aggregate_and_look_after_a_reopen(void **state)
{
    struct fixture *f = *state;
    start_e(f, ",\"safety\":{\"min_sample_per_variant\":10,\"sequential\":true}");
    int fd = writer(f);
    char units[400][8];
    sy_event_t ev[800];
    size_t n = 0;
    for (int i = 0; i < 400; i++) {
        snprintf(units[i], sizeof(units[i]), "u%d", i);
        ev[n++] = exposure(units[i], i % 2 ? "b" : "a");
        if (i % (i % 2 ? 4 : 7) == 0) {
            ev[n] = outcome(units[i], 1);
            ev[n].has_latency = true;
            ev[n++].latency_ms = 100 + i % 7;
        }
    }
    struct ack a = {0};
    for (size_t off = 0; off < n; off += 50) { /* each submitted while the last is in flight */
        size_t k = n - off < 50 ? n - off : 50;
        assert_int_equal(submit(f, ev + off, k, &a, NULL), 0);
        if (off == 0)
            sy_engine_events_commit(f->eng);
        else
            land(f, fd);
    }
    land(f, fd);
    assert_int_equal(a.calls, (int)((n + 49) / 50));
    json_t *r = results(f);
    json_t *vs = json_object_get(json_array_get(json_object_get(r, "variants"), 1), "vs_control");
    assert_true(json_is_real(json_object_get(vs, "always_valid_p")));
    json_decref(r);
    same_after_reopen(f);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            a_batch_with_the_writer_is_answered_and_counted_only_once_it_lands, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_first_exposure_in_flight_wins_over_one_submitted_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(
            duplicate_ids_count_once_within_and_across_batches_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_failed_batch_in_flight_is_refused_whole_and_the_next_is_judged_without_it, setup,
            teardown),
        cmocka_unit_test_setup_teardown(the_unit_cap_counts_the_new_units_of_the_batch_in_flight,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            an_experiment_stopped_while_its_batch_is_in_flight_keeps_that_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_step_while_a_batch_is_in_flight_comes_before_it_after_a_reopen_too, setup, teardown),
        cmocka_unit_test_setup_teardown(
            pipelined_batches_rebuild_every_aggregate_and_look_after_a_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(
            exposures_seen_by_ofrep_meanwhile_are_written_only_when_they_change_something, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_duplicate_that_changes_what_ofrep_saw_is_written_again_one_by_one, setup, teardown),
        cmocka_unit_test_setup_teardown(
            kpi_events_commit_on_the_writer_and_their_ids_count_once_across_batches, setup,
            teardown),
        cmocka_unit_test_setup_teardown(an_answer_that_commits_again_hands_the_next_batch_over_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            after_a_batch_lands_the_next_gathers_as_many_submissions_or_waits_its_commit, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            stopping_the_writer_answers_the_batch_in_flight_and_the_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(closing_the_engine_answers_what_waits_for_the_writer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_database_in_memory_keeps_its_commits_synchronous, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_writer_starts_once, setup, teardown),
        /* last: PostgreSQL's alone (several nodes on one database), both left out on SQLite */
        cmocka_unit_test_setup_teardown(two_nodes_apply_each_others_commits_in_the_logs_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_node_behind_what_retention_pruned_says_so, setup,
                                        teardown),
    };
    size_t n = sizeof(tests) / sizeof(tests[0]) - (fx_is_pg() ? 0 : 2);
    return _cmocka_run_group_tests("tests", tests, n, NULL, NULL);
}
