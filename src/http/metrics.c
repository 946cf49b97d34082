/* metrics.c - GET /metrics: the Prometheus exposition of this process (docs/operations.md
 * lists every family with its labels and bounds).
 *
 * Written on the metrics thread (below) when a worker received it, else on the thread that
 * received it (the engine's loop without workers, the metrics thread's own listener), from
 * what any thread may read: the serving threads' evaluation counts (evalstats.h), the
 * serving loops' stall gauges, the board, the process's own figures and what
 * opts.metrics_more adds (serve's proxy). It never waits for the engine's loop, so a scrape
 * shows a stuck engine instead of timing out with it. The metrics thread's answers are
 * shared buffers, reused for a second while a connection is still being sent one
 * (struct scrape_cache), so clients that never read cost one answer, not one each.
 */
#define _GNU_SOURCE /* gettid */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "codec/prom.h"
#include "http/evalstats.h"
#include "http/internal.h"

#include <event2/event.h>

#ifndef SY_VERSION
#define SY_VERSION "0.1.0"
#endif

static void write_process(sy_prom_t *p, const sy_http_t *http)
{
    sy_prom_family(p, "switchyard_build_info", SY_PROM_GAUGE,
                   "The running build: always 1, its version as a label.");
    sy_prom_sample(p, "switchyard_build_info", (sy_prom_label_t[]){{"version", SY_VERSION}}, 1, 1);

    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    sy_prom_family(p, "switchyard_process_resident_memory_bytes", SY_PROM_GAUGE,
                   "Resident memory of the process.");
    sy_prom_sample(p, "switchyard_process_resident_memory_bytes", NULL, 0,
                   (double)resident * (double)sysconf(_SC_PAGESIZE));

    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));)
        fds += e->d_name[0] != '.';
    if (d) {
        closedir(d);
        fds--; /* the directory's own */
    }
    sy_prom_family(p, "switchyard_process_open_fds", SY_PROM_GAUGE,
                   "File descriptors the process has open.");
    sy_prom_sample(p, "switchyard_process_open_fds", NULL, 0, fds);

    sy_prom_family(p, "switchyard_process_max_fds", SY_PROM_GAUGE,
                   "The most file descriptors the process may open.");
    sy_prom_sample(p, "switchyard_process_max_fds", NULL, 0, (double)sysconf(_SC_OPEN_MAX));

    struct timespec cpu;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    sy_prom_family(p, "switchyard_process_cpu_seconds_total", SY_PROM_COUNTER,
                   "CPU time the process has used, user and system.");
    sy_prom_sample(p, "switchyard_process_cpu_seconds_total", NULL, 0,
                   (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9);

    sy_prom_family(p, "switchyard_process_start_time_seconds", SY_PROM_GAUGE,
                   "When the server started, in seconds since the Unix epoch.");
    sy_prom_sample(p, "switchyard_process_start_time_seconds", NULL, 0,
                   (double)sy_http_started_ms(http) / 1e3);
}

static void write_loops(sy_prom_t *p, sy_engine_t *eng)
{
    sy_loopstat_view_t v[64];
    size_t n = sy_engine_loops(eng, v, 64);
    if (n > 64)
        n = 64;
    double le[SY_LOOPSTAT_BUCKETS];
    for (int b = 0; b < SY_LOOPSTAT_BUCKETS; b++)
        le[b] = sy_loopstat_le_us[b] == INT64_MAX ? INFINITY : (double)sy_loopstat_le_us[b] / 1e6;
    sy_prom_family(p, "switchyard_loop_iteration_seconds", SY_PROM_HISTOGRAM,
                   "How long the serving loops' iterations took (loop: engine, or a worker). "
                   "POST /v1/system/loops/reset starts them from zero, as a restart would.");
    for (size_t i = 0; i < n; i++)
        sy_prom_histogram(p, "switchyard_loop_iteration_seconds",
                          (sy_prom_label_t[]){{"loop", v[i].name}}, 1, le, v[i].buckets,
                          SY_LOOPSTAT_BUCKETS, (double)v[i].sum_us / 1e6);
    sy_prom_family(p, "switchyard_loop_longest_iteration_seconds", SY_PROM_GAUGE,
                   "The longest iteration of each serving loop since it started or was reset.");
    for (size_t i = 0; i < n; i++)
        sy_prom_sample(p, "switchyard_loop_longest_iteration_seconds",
                       (sy_prom_label_t[]){{"loop", v[i].name}}, 1, (double)v[i].longest_us / 1e6);
}

static void write_retention(sy_prom_t *p, const sy_engine_counters_t *k)
{
    static const char *const kinds[] = {"event", "kpi_event", "audit", "timeline"};
    sy_prom_family(p, "switchyard_retention_pruned_total", SY_PROM_COUNTER,
                   "Rows retention pruned past --event-retention (events deleted or thinned to "
                   "their ids, KPI events, experiments' timeline points) and --audit-retention "
                   "(audit events).");
    for (int i = 0; i < 4; i++)
        sy_prom_sample(p, "switchyard_retention_pruned_total",
                       (sy_prom_label_t[]){{"kind", kinds[i]}}, 1, (double)k->pruned[i]);
}

static void write_ingest(sy_prom_t *p, sy_engine_t *eng)
{
    sy_engine_counters_t k;
    sy_engine_counters(eng, &k);
    write_retention(p, &k);
    static const char *const kinds[] = {"exposure", "outcome", "error"};
    sy_prom_family(p, "switchyard_ingest_events_total", SY_PROM_COUNTER,
                   "Experiment events group commits took, by kind and result: accepted (a row "
                   "of the event log) or skipped (an id the workspace had, or an exposure that "
                   "changed nothing).");
    for (int i = 0; i < 3; i++) {
        sy_prom_sample(p, "switchyard_ingest_events_total",
                       (sy_prom_label_t[]){{"kind", kinds[i]}, {"result", "accepted"}}, 2,
                       (double)k.events_written[i]);
        sy_prom_sample(p, "switchyard_ingest_events_total",
                       (sy_prom_label_t[]){{"kind", kinds[i]}, {"result", "skipped"}}, 2,
                       (double)k.events_skipped[i]);
    }
    sy_prom_family(p, "switchyard_ingest_commits_total", SY_PROM_COUNTER,
                   "Group commits of events and KPI events.");
    sy_prom_sample(p, "switchyard_ingest_commits_total", NULL, 0, (double)k.commits);
    sy_prom_family(p, "switchyard_ingest_commit_failures_total", SY_PROM_COUNTER,
                   "Group commits the store refused: every submission in them was answered "
                   "with the error and nothing of them was written.");
    sy_prom_sample(p, "switchyard_ingest_commit_failures_total", NULL, 0,
                   (double)k.commit_failures);
    double le[SY_COMMIT_TIME_BUCKETS];
    for (int b = 0; b < SY_COMMIT_SIZE_BUCKETS; b++)
        le[b] = sy_commit_size_le[b] == INT64_MAX ? INFINITY : (double)sy_commit_size_le[b];
    sy_prom_family(p, "switchyard_ingest_commit_events", SY_PROM_HISTOGRAM,
                   "Events and KPI events per group commit.");
    sy_prom_histogram(p, "switchyard_ingest_commit_events", NULL, 0, le, k.commit_size,
                      SY_COMMIT_SIZE_BUCKETS, (double)k.commit_size_sum);
    for (int b = 0; b < SY_COMMIT_TIME_BUCKETS; b++)
        le[b] = sy_commit_us_le[b] == INT64_MAX ? INFINITY : (double)sy_commit_us_le[b] / 1e6;
    sy_prom_family(p, "switchyard_ingest_commit_duration_seconds", SY_PROM_HISTOGRAM,
                   "How long a group commit took on the writer thread, fsync included.");
    sy_prom_histogram(p, "switchyard_ingest_commit_duration_seconds", NULL, 0, le, k.commit_us,
                      SY_COMMIT_TIME_BUCKETS, (double)k.commit_us_sum / 1e6);
    sy_prom_family(p, "switchyard_ingest_queued_submissions", SY_PROM_GAUGE,
                   "Submissions (event batches, KPI batches) waiting for the next group commit.");
    sy_prom_sample(p, "switchyard_ingest_queued_submissions", NULL, 0, (double)k.queued);
}

/* An experiment's labels: workspace, experiment (and variant). */
#define EXP_LABELS(e, ws)                                                                          \
    {"workspace", ws},                                                                             \
    {                                                                                              \
        "experiment", (e)->key                                                                     \
    }

static void write_changes(sy_prom_t *p, const sy_engine_counters_t *k)
{
    static const char *const actions[] = {"step", "promote", "rollback"};
    static const char *const by[] = {"auto", "manual"};
    /* the series that can happen, there from the start (an alert's increase() needs a
     * series before its first change); any other only once it counts */
    static const struct {
        int action, by;
        sy_change_reason_t why;
    } expected[] = {
        {0, 0, SY_CHANGE_RESULTS},   {0, 1, SY_CHANGE_MANUAL},       {1, 0, SY_CHANGE_RESULTS},
        {1, 1, SY_CHANGE_MANUAL},    {2, 0, SY_CHANGE_SUCCESS_RATE}, {2, 0, SY_CHANGE_ERROR_RATE},
        {2, 0, SY_CHANGE_P95},       {2, 0, SY_CHANGE_RETRY_RATE},   {2, 1, SY_CHANGE_MANUAL},
        {2, 1, SY_CHANGE_EMERGENCY},
    };
    sy_prom_family(p, "switchyard_allocation_changes_total", SY_PROM_COUNTER,
                   "Allocation changes of experiments: guarded steps, promotions and rollbacks, "
                   "by who made them (auto: the timers, the health monitor; manual: a token) "
                   "and why (results, manual, emergency, or the health metric that failed).");
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 2; b++)
            for (int r = 0; r < SY_CHANGE_REASONS; r++) {
                bool shown = k->change_reasons[a][b][r] > 0;
                for (size_t e = 0; !shown && e < sizeof(expected) / sizeof(expected[0]); e++)
                    shown = expected[e].action == a && expected[e].by == b &&
                            expected[e].why == (sy_change_reason_t)r;
                if (shown)
                    sy_prom_sample(p, "switchyard_allocation_changes_total",
                                   (sy_prom_label_t[]){{"action", actions[a]},
                                                       {"by", by[b]},
                                                       {"reason", sy_change_reason_names[r]}},
                                   3, (double)k->change_reasons[a][b][r]);
            }
}

static void write_deliveries(sy_prom_t *p, const sy_engine_counters_t *k)
{
    static const char *const results[] = {"delivered", "retried", "failed"};
    sy_prom_family(p, "switchyard_notification_deliveries_total", SY_PROM_COUNTER,
                   "Notification attempts since the process started, by channel type and "
                   "result: delivered, retried (an attempt failed, another is due) or failed "
                   "(the last attempt failed: given up).");
    for (int t = 0; t < SY_CHANNEL_TYPES; t++)
        for (int r = 0; r < 3; r++)
            sy_prom_sample(
                p, "switchyard_notification_deliveries_total",
                (sy_prom_label_t[]){{"type", sy_channel_type_names[t]}, {"result", results[r]}}, 2,
                (double)k->deliveries[t][r]);
}

static void write_board(sy_prom_t *p, const sy_board_t *b)
{
    char ws[24];
    static const char *const states[] = {"draft",     "running",  "stopped",    "terminated",
                                         "promoting", "promoted", "rolled_back"};
    sy_prom_family(p, "switchyard_experiment_state", SY_PROM_GAUGE,
                   "1 for the state each experiment is in (one series per state).");
    for (size_t i = 0; i < b->n_exps; i++) {
        const sy_board_exp_t *e = &b->exps[i];
        snprintf(ws, sizeof(ws), "%lld", (long long)e->ws);
        for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++)
            sy_prom_sample(p, "switchyard_experiment_state",
                           (sy_prom_label_t[]){EXP_LABELS(e, ws), {"state", states[s]}}, 3,
                           strcmp(e->state, states[s]) == 0);
    }
    sy_prom_family(p, "switchyard_experiment_weight_percent", SY_PROM_GAUGE,
                   "Each variant's share of its experiment's traffic now, in percent.");
    for (size_t i = 0; i < b->n_exps; i++) {
        const sy_board_exp_t *e = &b->exps[i];
        snprintf(ws, sizeof(ws), "%lld", (long long)e->ws);
        for (size_t a = 0; a < e->n_arms; a++)
            sy_prom_sample(p, "switchyard_experiment_weight_percent",
                           (sy_prom_label_t[]){EXP_LABELS(e, ws), {"variant", e->arms[a].key}}, 3,
                           (double)e->arms[a].weight);
    }
    static const struct {
        const char *name, *help;
        size_t at;
    } counts[] = {
        {"switchyard_experiment_units", "Distinct units exposed to each variant.",
         offsetof(sy_board_arm_t, units)},
        {"switchyard_experiment_conversions", "Units of each variant with a successful outcome.",
         offsetof(sy_board_arm_t, conversions)},
        {"switchyard_experiment_errors", "Units of each variant that hit an error.",
         offsetof(sy_board_arm_t, errors)},
    };
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        sy_prom_family(p, counts[c].name, SY_PROM_GAUGE, counts[c].help);
        for (size_t i = 0; i < b->n_exps; i++) {
            const sy_board_exp_t *e = &b->exps[i];
            snprintf(ws, sizeof(ws), "%lld", (long long)e->ws);
            for (size_t a = 0; e->has_results && a < e->n_arms; a++)
                sy_prom_sample(
                    p, counts[c].name,
                    (sy_prom_label_t[]){EXP_LABELS(e, ws), {"variant", e->arms[a].key}}, 3,
                    (double)*(const int64_t *)((const char *)&e->arms[a] + counts[c].at));
        }
    }
    sy_prom_family(p, "switchyard_experiment_confidence", SY_PROM_GAUGE,
                   "Each treatment's confidence against control (1 - the p-value used, Holm-"
                   "adjusted): what safety.min_confidence is checked against.");
    for (size_t i = 0; i < b->n_exps; i++) {
        const sy_board_exp_t *e = &b->exps[i];
        snprintf(ws, sizeof(ws), "%lld", (long long)e->ws);
        for (size_t a = 0; a < e->n_arms; a++)
            if (e->arms[a].compared)
                sy_prom_sample(p, "switchyard_experiment_confidence",
                               (sy_prom_label_t[]){EXP_LABELS(e, ws), {"variant", e->arms[a].key}},
                               3, e->arms[a].confidence);
    }
    sy_prom_family(p, "switchyard_experiment_always_valid_p", SY_PROM_GAUGE,
                   "Each treatment's always-valid p-value (experiments with safety.sequential).");
    for (size_t i = 0; i < b->n_exps; i++) {
        const sy_board_exp_t *e = &b->exps[i];
        snprintf(ws, sizeof(ws), "%lld", (long long)e->ws);
        for (size_t a = 0; a < e->n_arms; a++)
            if (e->arms[a].compared && e->arms[a].has_seq)
                sy_prom_sample(p, "switchyard_experiment_always_valid_p",
                               (sy_prom_label_t[]){EXP_LABELS(e, ws), {"variant", e->arms[a].key}},
                               3, e->arms[a].always_valid_p);
    }
    sy_prom_family(p, "switchyard_experiment_lift", SY_PROM_GAUGE,
                   "Each treatment's lift over control (a fraction: 0.1 is 10 % better).");
    for (size_t i = 0; i < b->n_exps; i++) {
        const sy_board_exp_t *e = &b->exps[i];
        snprintf(ws, sizeof(ws), "%lld", (long long)e->ws);
        for (size_t a = 0; a < e->n_arms; a++)
            if (e->arms[a].has_lift)
                sy_prom_sample(p, "switchyard_experiment_lift",
                               (sy_prom_label_t[]){EXP_LABELS(e, ws), {"variant", e->arms[a].key}},
                               3, e->arms[a].lift);
    }
    sy_prom_family(p, "switchyard_experiment_units_still_needed", SY_PROM_GAUGE,
                   "Units each treatment (and control) still needs for the planned sample: "
                   "progress toward sample_needed.");
    for (size_t i = 0; i < b->n_exps; i++) {
        const sy_board_exp_t *e = &b->exps[i];
        snprintf(ws, sizeof(ws), "%lld", (long long)e->ws);
        for (size_t a = 0; a < e->n_arms; a++)
            if (e->arms[a].has_sample)
                sy_prom_sample(p, "switchyard_experiment_units_still_needed",
                               (sy_prom_label_t[]){EXP_LABELS(e, ws), {"variant", e->arms[a].key}},
                               3, (double)e->arms[a].still_needed);
    }
    sy_prom_family(p, "switchyard_experiment_srm_mismatch", SY_PROM_GAUGE,
                   "1 while an experiment's sample ratio mismatch test rejects its split.");
    for (size_t i = 0; i < b->n_exps; i++) {
        const sy_board_exp_t *e = &b->exps[i];
        snprintf(ws, sizeof(ws), "%lld", (long long)e->ws);
        if (e->has_results)
            sy_prom_sample(p, "switchyard_experiment_srm_mismatch",
                           (sy_prom_label_t[]){EXP_LABELS(e, ws)}, 2, e->srm_mismatch);
    }
    sy_prom_family(p, "switchyard_route_percentage", SY_PROM_GAUGE,
                   "The share of each route's traffic set to go to new, in percent.");
    for (size_t i = 0; i < b->n_routes; i++) {
        snprintf(ws, sizeof(ws), "%lld", (long long)b->routes[i].ws);
        sy_prom_sample(p, "switchyard_route_percentage",
                       (sy_prom_label_t[]){{"workspace", ws}, {"route", b->routes[i].name}}, 2,
                       b->routes[i].enabled ? b->routes[i].percentage : 0);
    }
    static const char *const breaker[] = {"closed", "half_open", "open"};
    sy_prom_family(p, "switchyard_route_breaker_state", SY_PROM_GAUGE,
                   "1 for the state each route's circuit breaker is in.");
    for (size_t i = 0; i < b->n_routes; i++) {
        snprintf(ws, sizeof(ws), "%lld", (long long)b->routes[i].ws);
        for (int s = 0; s < 3; s++)
            sy_prom_sample(p, "switchyard_route_breaker_state",
                           (sy_prom_label_t[]){{"workspace", ws},
                                               {"route", b->routes[i].name},
                                               {"state", breaker[s]}},
                           3, strcmp(b->routes[i].breaker, breaker[s]) == 0);
    }
    sy_prom_family(p, "switchyard_route_plan_step", SY_PROM_GAUGE,
                   "The rollout-plan step each route with a plan is at (0: below its first).");
    for (size_t i = 0; i < b->n_routes; i++) {
        if (!b->routes[i].has_plan)
            continue;
        snprintf(ws, sizeof(ws), "%lld", (long long)b->routes[i].ws);
        sy_prom_sample(p, "switchyard_route_plan_step",
                       (sy_prom_label_t[]){{"workspace", ws}, {"route", b->routes[i].name}}, 2,
                       b->routes[i].plan_step);
    }
    sy_prom_family(p, "switchyard_tripwire_triggered", SY_PROM_GAUGE,
                   "1 while a regression tripwire is triggered.");
    for (size_t i = 0; i < b->n_trips; i++) {
        snprintf(ws, sizeof(ws), "%lld", (long long)b->trips[i].ws);
        sy_prom_sample(p, "switchyard_tripwire_triggered",
                       (sy_prom_label_t[]){{"workspace", ws},
                                           {"domain", b->trips[i].domain},
                                           {"metric", b->trips[i].metric}},
                       3, b->trips[i].triggered);
    }
    sy_prom_family(p, "switchyard_tripwire_drop_fraction", SY_PROM_GAUGE,
                   "How far each tripwire's recent window fell below its baseline at its last "
                   "evaluation (a fraction of the baseline).");
    for (size_t i = 0; i < b->n_trips; i++) {
        if (!b->trips[i].has_values)
            continue;
        snprintf(ws, sizeof(ws), "%lld", (long long)b->trips[i].ws);
        sy_prom_sample(p, "switchyard_tripwire_drop_fraction",
                       (sy_prom_label_t[]){{"workspace", ws},
                                           {"domain", b->trips[i].domain},
                                           {"metric", b->trips[i].metric}},
                       3, b->trips[i].drop_fraction);
    }
    static const struct {
        const char *name, *help;
        size_t at;
    } levels[] = {
        {"switchyard_kpi_baseline",
         "Each tripwire's KPI in its baseline window (a rate or a mean).",
         offsetof(sy_board_trip_t, baseline)},
        {"switchyard_kpi_current", "Each tripwire's KPI in its recent window (a rate or a mean).",
         offsetof(sy_board_trip_t, current)},
    };
    for (size_t l = 0; l < 2; l++) {
        sy_prom_family(p, levels[l].name, SY_PROM_GAUGE, levels[l].help);
        for (size_t i = 0; i < b->n_trips; i++) {
            if (!b->trips[i].has_values)
                continue;
            snprintf(ws, sizeof(ws), "%lld", (long long)b->trips[i].ws);
            sy_prom_sample(p, levels[l].name,
                           (sy_prom_label_t[]){{"workspace", ws},
                                               {"domain", b->trips[i].domain},
                                               {"metric", b->trips[i].metric}},
                           3, *(const double *)((const char *)&b->trips[i] + levels[l].at));
        }
    }
    sy_prom_family(p, "switchyard_kill_switch_engaged", SY_PROM_GAUGE,
                   "1 while a workspace's kill switch is engaged.");
    for (size_t i = 0; i < b->n_ws; i++) {
        snprintf(ws, sizeof(ws), "%lld", (long long)b->wss[i].ws);
        sy_prom_sample(p, "switchyard_kill_switch_engaged", (sy_prom_label_t[]){{"workspace", ws}},
                       1, b->wss[i].kill_switch);
    }
    sy_prom_family(p, "switchyard_notifications", SY_PROM_GAUGE,
                   "Notification deliveries of each workspace by channel type and status "
                   "(pending, delivered, failed; delivered and failed ones are kept "
                   "--notify-retention days).");
    for (size_t i = 0; i < b->n_ws; i++) {
        snprintf(ws, sizeof(ws), "%lld", (long long)b->wss[i].ws);
        static const char *const st[] = {"pending", "delivered", "failed"};
        for (int t = 0; t < SY_CHANNEL_TYPES; t++)
            for (int s = 0; s < 3; s++)
                sy_prom_sample(p, "switchyard_notifications",
                               (sy_prom_label_t[]){{"workspace", ws},
                                                   {"type", sy_channel_type_names[t]},
                                                   {"status", st[s]}},
                               3, (double)b->wss[i].notifications[t][s]);
    }
    sy_prom_family(p, "switchyard_risk_reservations_total", SY_PROM_COUNTER,
                   "The risk guard's check-and-reserve answers of each workspace since the "
                   "process started: reserved, or denied by reason (kill_switch, no_policy, "
                   "policy_disabled, limit_exceeded).");
    for (size_t i = 0; i < b->n_ws; i++) {
        snprintf(ws, sizeof(ws), "%lld", (long long)b->wss[i].ws);
        for (int o = 0; o < SY_RISK_OUTCOMES; o++)
            sy_prom_sample(p, "switchyard_risk_reservations_total",
                           (sy_prom_label_t[]){{"workspace", ws},
                                               {"result", o ? "denied" : "reserved"},
                                               {"reason", sy_risk_outcome_names[o]}},
                           3, (double)b->wss[i].risk[o]);
    }
    sy_prom_family(p, "switchyard_board_age_seconds", SY_PROM_GAUGE,
                   "How old the view of experiments, routes, tripwires and workspaces above is "
                   "(rebuilt every --metrics-refresh on the engine's loop: a value that keeps "
                   "growing means that loop is stuck).");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    sy_prom_sample(p, "switchyard_board_age_seconds", NULL, 0,
                   (double)now.tv_sec + (double)now.tv_nsec / 1e9 - (double)b->built_ms / 1e3);
    sy_prom_family(p, "switchyard_board_build_seconds", SY_PROM_GAUGE,
                   "How long building that view took on the engine's loop.");
    sy_prom_sample(p, "switchyard_board_build_seconds", NULL, 0, b->build_seconds);
}

static struct scrape_cache *scrape_cache(struct call *c);
static sy_h1_shared_t *cache_get(struct scrape_cache *k, int64_t ws, bool om);
static void cache_put(struct scrape_cache *k, int64_t ws, bool om, sy_h1_shared_t *body);

/* The whole exposition, answered on the calling thread: from the metrics thread's cache of
 * recent answers when it has one fresh enough for this scope and format, else rendered. */
static void write_metrics(struct call *c)
{
    /* a token sees its own workspace's series (and the process's, which have none);
     * --metrics-listen, whose caller is no workspace's (0), every workspace's */
    int64_t scope = c->who.workspace > 0 ? c->who.workspace : 0;
    bool om = sy_prom_wants_openmetrics(sy_h1_header(c->req, "Accept"));
    struct scrape_cache *cache = scrape_cache(c);
    sy_h1_shared_t *hit = cache ? cache_get(cache, scope, om) : NULL;
    if (hit) {
        sy_prom_t format = {.openmetrics = om};
        reply_shared(c, 200, sy_prom_content_type(&format), hit);
        sy_h1_shared_release(hit);
        return;
    }
    char buf[16384];
    sy_text_t t;
    sy_text_init(&t, buf, sizeof(buf));
    char ws[24];
    snprintf(ws, sizeof(ws), "%lld", (long long)scope);
    sy_prom_t p = {.t = &t, .openmetrics = om, .workspace = scope > 0 ? ws : NULL};
    write_process(&p, c->http);
    write_loops(&p, c->eng);
    write_ingest(&p, c->eng);
    sy_engine_counters_t k;
    sy_engine_counters(c->eng, &k);
    write_changes(&p, &k);
    write_deliveries(&p, &k);
    const sy_board_t *board = sy_engine_board(c->eng);
    if (board)
        write_board(&p, board);
    sy_board_release(board);
    sy_evalstats_write(sy_http_evalstats(c->http), &p);
    const sy_http_opts_t *o = sy_http_opts(c->http);
    if (o->metrics_more) /* serve's proxy, its counters read in place */
        o->metrics_more(o->metrics_more_arg, &p);
    sy_prom_end(&p);
    sy_h1_shared_t *body = !t.failed && cache ? sy_h1_shared_new(t.p, t.len) : NULL;
    if (t.failed || (cache && !body)) {
        reply_error(c, 500, "internal", "", "out of memory");
    } else if (body) {
        cache_put(cache, scope, om, body);
        reply_shared(c, 200, sy_prom_content_type(&p), body);
        sy_h1_shared_release(body);
    } else {
        reply_typed(c, 200, sy_prom_content_type(&p), t.p, t.len);
    }
    sy_text_free(&t);
}

static bool take_scrape(void *arg, sy_h1_req_t *copy, const sy_principal_t *who);

void sy_api_metrics(struct call *c)
{
    /* On a worker the metrics thread writes it: the worker only copies the answer out. */
    sy_metrics_srv_t *m = c->w ? sy_http_metrics_srv(c->http) : NULL;
    if (m && sy_worker_hand_to(c->w, c->req, take_scrape, m, &c->who))
        return;
    write_metrics(c);
}

/* ---- the metrics thread: scrapes handed over by the workers, and --metrics-listen ------- */

/* A scrape a worker handed over, waiting for the thread. */
struct job {
    struct job *next;
    sy_h1_req_t *copy; /* detached: its reply goes back to the worker */
    sy_principal_t who;
    struct timespec t0;
};

/* The latest answer of each (scope, format), reused while another scrape is still being
 * sent it and it is at most CACHE_FRESH_MS old: a scrape that does not read its answer
 * holds a reference to one of these, not a copy, so slow scrapers cost one body per scope
 * and second, however many they are (issue 23's tester held 800 copies of 1.5 MB). An
 * answer nobody is being sent is not reused: a scraper that reads (Prometheus, a test
 * after its traffic) always gets the figures of the moment it asked. */
#define CACHE_SLOTS    16
#define CACHE_FRESH_MS 1000

struct scrape_cache {
    pthread_mutex_t lock; /* any serving thread may answer a scrape */
    struct {
        int64_t ws;           /* scope: a workspace, or 0 for all of them */
        bool om;              /* OpenMetrics, else Prometheus text */
        int64_t made_ms;      /* CLOCK_MONOTONIC */
        sy_h1_shared_t *body; /* the cache's reference; NULL: slot free */
    } slot[CACHE_SLOTS];
};

struct sy_metrics_srv {
    sy_http_t *http;
    struct scrape_cache cache;
    int fd; /* -1: no listener */
    struct event_base *base;
    sy_h1_server_t *h1;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    struct job *head, *tail; /* under lock */
    struct event *jobs;      /* activated by the first job of an empty queue */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct scrape_cache *scrape_cache(struct call *c)
{
    sy_metrics_srv_t *m = sy_http_metrics_srv(c->http);
    return m ? &m->cache : NULL;
}

/* A reference to the cached answer of (ws, om) when another scrape still holds it and it
 * is fresh, else NULL. */
static sy_h1_shared_t *cache_get(struct scrape_cache *k, int64_t ws, bool om)
{
    int64_t now = mono_ms();
    sy_h1_shared_t *hit = NULL;
    pthread_mutex_lock(&k->lock);
    for (int i = 0; !hit && i < CACHE_SLOTS; i++)
        if (k->slot[i].body && k->slot[i].ws == ws && k->slot[i].om == om &&
            now - k->slot[i].made_ms <= CACHE_FRESH_MS && sy_h1_shared_is_held(k->slot[i].body))
            hit = sy_h1_shared_ref(k->slot[i].body);
    pthread_mutex_unlock(&k->lock);
    return hit;
}

/* Keeps `body` (a reference of its own) as the answer of (ws, om), in its scope's slot, a
 * free one, or the oldest. */
static void cache_put(struct scrape_cache *k, int64_t ws, bool om, sy_h1_shared_t *body)
{
    int64_t now = mono_ms();
    pthread_mutex_lock(&k->lock);
    int at = 0;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (k->slot[i].body && k->slot[i].ws == ws && k->slot[i].om == om) {
            at = i;
            break;
        }
        if (!k->slot[i].body || (k->slot[at].body && k->slot[i].made_ms < k->slot[at].made_ms))
            at = i;
    }
    sy_h1_shared_t *old = k->slot[at].body;
    k->slot[at].ws = ws;
    k->slot[at].om = om;
    k->slot[at].made_ms = now;
    k->slot[at].body = sy_h1_shared_ref(body);
    pthread_mutex_unlock(&k->lock);
    sy_h1_shared_release(old);
}

static void cache_free(struct scrape_cache *k)
{
    for (int i = 0; i < CACHE_SLOTS; i++)
        sy_h1_shared_release(k->slot[i].body);
    pthread_mutex_destroy(&k->lock);
}

static bool take_scrape(void *arg, sy_h1_req_t *copy, const sy_principal_t *who)
{
    sy_metrics_srv_t *m = arg;
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return false;
    j->copy = copy;
    j->who = *who;
    clock_gettime(CLOCK_MONOTONIC, &j->t0);
    pthread_mutex_lock(&m->lock);
    bool was_empty = !m->head;
    if (m->tail)
        m->tail->next = j;
    else
        m->head = j;
    m->tail = j;
    pthread_mutex_unlock(&m->lock);
    if (was_empty)
        event_active(m->jobs, EV_READ, 0);
    return true;
}

static struct job *take_all(sy_metrics_srv_t *m)
{
    pthread_mutex_lock(&m->lock);
    struct job *j = m->head;
    m->head = m->tail = NULL;
    pthread_mutex_unlock(&m->lock);
    return j;
}

static void on_jobs(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sy_metrics_srv_t *m = arg;
    for (struct job *j = take_all(m), *next; j; j = next) {
        next = j->next;
        struct call c = {.req = j->copy, .http = m->http, .eng = sy_http_engine(m->http)};
        c.t0 = j->t0;
        c.who = j->who;
        write_metrics(&c); /* the reply goes to the worker, and frees the copy */
        free(j);
    }
}

/* ---- --metrics-listen: /metrics without a token ------------------------------------------ */

static void metrics_request(sy_h1_req_t *req, void *arg)
{
    sy_metrics_srv_t *m = arg;
    struct call c = {.req = req, .http = m->http, .eng = sy_http_engine(m->http)};
    clock_gettime(CLOCK_MONOTONIC, &c.t0);
    snprintf(c.who.name, sizeof(c.who.name), "metrics-listen");
    const char *path = sy_h1_path(req);
    if (strcmp(path, "/metrics") != 0 && strcmp(path, "/metrics/") != 0) {
        reply_error(&c, 404, "not_found", "",
                    "this address serves GET /metrics only (--metrics-listen)");
    } else if (sy_h1_method(req) != SY_GET) {
        not_allowed(&c, "GET, HEAD");
    } else if (sy_h1_query(req)) {
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(sy_h1_query(req), "=&"),
                 sy_h1_query(req));
        reply_error(&c, 400, "unknown_field", name, "GET /metrics takes no query parameters");
    } else {
        sy_api_metrics(&c);
    }
}

static void *metrics_run(void *arg)
{
    sy_metrics_srv_t *m = arg;
    /* Below the serving threads: on a machine whose cores OFREP keeps busy, a scrape waits
     * for a free moment instead of taking a worker's core (a scrape may take longer; an
     * OFREP answer may not). Linux gives each thread its own nice value; where it cannot be
     * set the thread runs as before, so the failure is of no consequence. */
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
    /* without a listener the loop has no event added until a scrape comes */
    event_base_loop(m->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

int sy_metrics_listen(sy_metrics_srv_t **out, sy_http_t *http, int fd, const sy_h1_opts_t *opts,
                      sy_err_t *err)
{
    *out = NULL;
    sy_metrics_srv_t *m = calloc(1, sizeof(*m));
    if (!m) {
        if (fd >= 0)
            close(fd);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    m->http = http;
    m->fd = fd;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->cache.lock, NULL);
    sy_h1_opts_t o = *opts;
    o.max_body = 1024; /* a scrape has no body */
    o.max_conns = 64;
    o.on_head = NULL;
    o.loop = NULL;
    o.open = NULL;
    o.streams = NULL;
    o.max_streams = 0;
    int rc = (m->base = event_base_new()) && (m->jobs = event_new(m->base, -1, 0, on_jobs, m))
                 ? 0
                 : -ENOMEM;
    if (rc == 0 && fd >= 0)
        rc = sy_h1_listen_fd(&m->h1, m->base, fd, &o, metrics_request, m);
    if (rc == 0 && pthread_create(&m->thread, NULL, metrics_run, m) != 0)
        rc = -EAGAIN;
    if (rc < 0) {
        sy_metrics_srv_free(m);
        return sy_err_set(err, rc, "metrics-listen", "--metrics-listen: %s", strerror(-rc));
    }
    m->started = true;
    *out = m;
    return 0;
}

int sy_metrics_port(const sy_metrics_srv_t *m)
{
    return m->h1 ? sy_h1_port(m->h1) : 0;
}

void sy_metrics_srv_stop(sy_metrics_srv_t *m)
{
    if (!m || !m->started)
        return;
    event_base_loopbreak(m->base);
    pthread_join(m->thread, NULL);
    m->started = false;
}

void sy_metrics_srv_free(sy_metrics_srv_t *m)
{
    if (!m)
        return;
    sy_metrics_srv_stop(m);
    for (struct job *j = take_all(m), *next; j; j = next) {
        next = j->next;
        sy_h1_detached_free(j->copy);
        free(j);
    }
    sy_h1_free(m->h1);
    if (m->jobs)
        event_free(m->jobs);
    if (m->base)
        event_base_free(m->base);
    if (m->fd >= 0)
        close(m->fd);
    pthread_mutex_destroy(&m->lock);
    cache_free(&m->cache);
    free(m);
}
