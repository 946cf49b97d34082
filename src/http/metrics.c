/* metrics.c - GET /metrics: the Prometheus exposition of this process (docs/operations.md
 * lists every family with its labels and bounds).
 *
 * Answered on the serving thread that received it, from what any thread may read: the
 * serving threads' evaluation counts (evalstats.h), the serving loops' stall gauges, and
 * the process's own figures. It never waits for the engine's loop, so a scrape shows a
 * stuck engine instead of timing out with it.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
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

static void write_ingest(sy_prom_t *p, sy_engine_t *eng)
{
    sy_engine_counters_t k;
    sy_engine_counters(eng, &k);
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

void sy_api_metrics(struct call *c)
{
    char buf[16384];
    sy_text_t t;
    sy_text_init(&t, buf, sizeof(buf));
    sy_prom_t p = {.t = &t,
                   .openmetrics = sy_prom_wants_openmetrics(sy_h1_header(c->req, "Accept"))};
    write_process(&p, c->http);
    write_loops(&p, c->eng);
    write_ingest(&p, c->eng);
    sy_evalstats_write(sy_http_evalstats(c->http), &p);
    sy_prom_end(&p);
    if (t.failed)
        reply_error(c, 500, "internal", "", "out of memory");
    else
        reply_typed(c, 200, sy_prom_content_type(&p), t.p, t.len);
    sy_text_free(&t);
}

/* ---- --metrics-listen: /metrics without a token, on a thread of its own ------------------ */

struct sy_metrics_srv {
    sy_http_t *http;
    int fd;
    struct event_base *base;
    sy_h1_server_t *h1;
    pthread_t thread;
    bool started;
};

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
    event_base_dispatch(m->base);
    return NULL;
}

int sy_metrics_listen(sy_metrics_srv_t **out, sy_http_t *http, int fd, const sy_h1_opts_t *opts,
                      sy_err_t *err)
{
    *out = NULL;
    sy_metrics_srv_t *m = calloc(1, sizeof(*m));
    if (!m) {
        close(fd);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    m->http = http;
    m->fd = fd;
    sy_h1_opts_t o = *opts;
    o.max_body = 1024; /* a scrape has no body */
    o.max_conns = 64;
    o.on_head = NULL;
    o.loop = NULL;
    o.open = NULL;
    o.streams = NULL;
    o.max_streams = 0;
    int rc = (m->base = event_base_new()) ? 0 : -ENOMEM;
    if (rc == 0)
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
    return sy_h1_port(m->h1);
}

void sy_metrics_srv_free(sy_metrics_srv_t *m)
{
    if (!m)
        return;
    if (m->started) {
        event_base_loopbreak(m->base);
        pthread_join(m->thread, NULL);
    }
    sy_h1_free(m->h1);
    if (m->base)
        event_base_free(m->base);
    close(m->fd);
    free(m);
}
