/* loopstat.h - how long an event loop's iterations take: the stall gauge.
 *
 * A serving loop that runs one slow callback makes every client it serves wait for it,
 * whatever its throughput. The gauge keeps, for one loop, the number of iterations, the
 * longest one and a histogram of their lengths (SY_LOOPSTAT_BUCKETS upper bounds in µs,
 * the last unbounded). An iteration is measured from when the loop's wait for events
 * returned to the end of the last callback it ran.
 *
 * A wall-clock iteration also counts the time its thread was not on a CPU: on a busy
 * machine the scheduler's preemptions show up as long iterations however little the loop
 * did. A gauge made with `cpu` also keeps the longest iteration's time on the CPU (the
 * thread's CPU clock, read by the caller at each mark: a system call, so opt-in), which
 * tells work from waiting.
 *
 * The loop's own thread writes (sy_loopstat_mark); any thread may read (sy_loopstat_read)
 * or reset: every field is a relaxed atomic, so a read is a consistent-enough sample, not
 * a transaction. Times are passed in: it reads no clock.
 */
#ifndef SY_ENGINE_LOOPSTAT_H
#define SY_ENGINE_LOOPSTAT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SY_LOOPSTAT_BUCKETS 12

/* Upper bounds of the buckets in µs (the last is INT64_MAX). */
extern const int64_t sy_loopstat_le_us[SY_LOOPSTAT_BUCKETS];

typedef struct sy_loopstat {
    char name[32];
    bool cpu; /* the caller passes the thread's CPU time to each mark */
    /* the writer's own: the iteration being measured */
    int64_t iter_start_us; /* when its wait returned; 0: none yet */
    int64_t iter_us;       /* its length so far */
    int64_t cpu_base_us;   /* CPU time at the previous iteration's last mark */
    int64_t cpu_last_us;   /* CPU time at the last mark */
    int64_t dropping;      /* the start of an iteration a reset dropped; 0: none */
    /* what readers see */
    atomic_llong iterations;
    atomic_llong longest_us;
    atomic_llong longest_cpu_us;
    atomic_llong buckets[SY_LOOPSTAT_BUCKETS];
    atomic_llong sum_us;    /* of every counted iteration */
    atomic_llong reset_gen; /* bumped by sy_loopstat_reset: the writer drops its iteration */
    long long seen_gen;
} sy_loopstat_t;

/* A copy for readers. */
typedef struct sy_loopstat_view {
    char name[32];
    int64_t iterations;
    int64_t longest_us;
    int64_t longest_cpu_us; /* -1: the gauge does not measure it */
    int64_t buckets[SY_LOOPSTAT_BUCKETS];
    int64_t sum_us;
} sy_loopstat_view_t;

/* `cpu`: each mark will pass the thread's CPU time. */
void sy_loopstat_init(sy_loopstat_t *s, const char *name, bool cpu);

/* The loop's thread, at the end of a callback: the iteration that began at `start_us`
 * (when the loop's wait returned) has run until `now_us`. A new `start_us` closes the
 * previous iteration into the counts. Both on one clock, in µs. `cpu_us`: the thread's
 * CPU time now (a gauge made with `cpu`; ignored otherwise). An iteration's CPU time runs
 * from the previous iteration's last mark, so it also counts the wait's own system call:
 * microseconds. */
void sy_loopstat_mark(sy_loopstat_t *s, int64_t start_us, int64_t now_us, int64_t cpu_us);

/* Any thread. */
void sy_loopstat_read(const sy_loopstat_t *s, sy_loopstat_view_t *out);
/* Any thread: counts start again from zero (a benchmark's phases each get their own). */
void sy_loopstat_reset(sy_loopstat_t *s);

#endif
