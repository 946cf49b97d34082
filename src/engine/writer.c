/* writer.c - the writer thread: one job at a time on a store handle of its own, off the
 * engine's loop; see internal.h ("writer.c").
 *
 * The engine's thread hands a job over (sy_eng_writer_put) and goes on serving; the writer
 * runs it and then makes its eventfd readable, which the loop watches, and the engine's
 * thread takes the job back (sy_eng_writer_idle). A job reads and writes only its own
 * memory and the writer's store handle: what it needs of the engine's state is copied into
 * it before it is handed over. The lock orders the two threads' use of a job: everything
 * the engine wrote into it before the hand-over is seen by the writer, and everything the
 * writer wrote is seen by the engine once sy_eng_writer_idle says it is done.
 *
 * The writer is also the loop's alarm clock (sy_eng_writer_alarm): while it has no job it
 * can wake the loop at a given time, through the same eventfd.
 *
 * Writes on the two handles (the engine's configuration changes on its loop, the writer's
 * group commits) take turns through SQLite's own lock, each waiting with its busy timeout
 * (store.h): no lock of ours spans a transaction. A change made on the loop while a batch
 * commits waits for that commit (milliseconds), as it would have waited for the loop.
 */
#define _GNU_SOURCE /* eventfd */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "engine/internal.h"

struct sy_eng_writer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    sy_store_t *store;                    /* the writer's own handle */
    int fd;                               /* eventfd: readable once a job has run */
    void (*run)(void *job, sy_store_t *); /* the job handed over and not run yet, or NULL */
    void *job;
    int64_t run_us;   /* how long the last job took */
    int64_t alarm_us; /* when to wake the loop, having no job (monotonic); 0: never */
    bool stop;
};

int64_t sy_eng_writer_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Adds one to the eventfd: the loop wakes up. Only a full counter (2^64 - 2, never
 * reached: the engine reads it after every job) or EINTR could refuse it. */
static void signal_loop(int fd)
{
    uint64_t one = 1;
    while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
        continue;
}

static void *writer_main(void *arg)
{
    struct sy_eng_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->run && !w->stop) {
            if (!w->alarm_us) {
                pthread_cond_wait(&w->cond, &w->lock);
                continue;
            }
            struct timespec at = {.tv_sec = w->alarm_us / 1000000,
                                  .tv_nsec = w->alarm_us % 1000000 * 1000};
            pthread_cond_timedwait(&w->cond, &w->lock, &at); /* the clock decides, below */
            if (w->alarm_us && !w->run && sy_eng_writer_now_us() >= w->alarm_us) {
                w->alarm_us = 0;
                signal_loop(w->fd);
            }
        }
        if (!w->run)
            break;
        void (*run)(void *, sy_store_t *) = w->run;
        void *job = w->job;
        pthread_mutex_unlock(&w->lock);
        int64_t t0 = sy_eng_writer_now_us();
        run(job, w->store);
        int64_t t1 = sy_eng_writer_now_us();
        pthread_mutex_lock(&w->lock);
        w->run = NULL;
        w->job = NULL;
        w->run_us = t1 - t0;
        signal_loop(w->fd); /* under the lock: sy_eng_writer_idle drains what it sees */
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int sy_eng_writer_start(struct sy_eng_writer **out, const char *db, int *fd, sy_err_t *err)
{
    *out = NULL;
    struct sy_eng_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return sy_eng_oom(err);
    w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->fd < 0) {
        int rc = sy_err_set(err, -errno, NULL, "writer: cannot make its eventfd");
        free(w);
        return rc;
    }
    int rc = sy_store_open(&w->store, db, err);
    if (rc < 0)
        goto out_fd;
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        rc = sy_eng_oom(err);
        goto out_store;
    }
    pthread_condattr_t attr; /* its timed waits on the monotonic clock */
    bool made = pthread_condattr_init(&attr) == 0;
    made = made && pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
           pthread_cond_init(&w->cond, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!made) {
        rc = sy_eng_oom(err);
        goto out_lock;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        rc = sy_err_set(err, -EAGAIN, NULL, "writer: cannot start its thread");
        goto out_cond;
    }
    *fd = w->fd;
    *out = w;
    return 0;
out_cond:
    pthread_cond_destroy(&w->cond);
out_lock:
    pthread_mutex_destroy(&w->lock);
out_store:
    sy_store_close(w->store);
out_fd:
    close(w->fd);
    free(w);
    return rc;
}

void sy_eng_writer_put(struct sy_eng_writer *w, void (*run)(void *job, sy_store_t *store),
                       void *job)
{
    pthread_mutex_lock(&w->lock);
    assert(!w->run); /* one job at a time: the caller takes the last one back first */
    w->run = run;
    w->job = job;
    w->alarm_us = 0; /* the job's end wakes the loop, and only that: an alarm's wake-up is */
    uint64_t n;      /* stale now, the eventfd is emptied of it */
    while (read(w->fd, &n, sizeof(n)) < 0 && errno == EINTR)
        continue;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

bool sy_eng_writer_idle(struct sy_eng_writer *w, bool wait, int64_t *run_us)
{
    pthread_mutex_lock(&w->lock);
    while (wait && w->run)
        pthread_cond_wait(&w->cond, &w->lock);
    bool idle = !w->run;
    /* The writer adds to the counter under the lock: this empties it of every wake-up up to
     * now (a job's end, an alarm), so that the loop is not woken again for them. */
    uint64_t n;
    while (read(w->fd, &n, sizeof(n)) < 0 && errno == EINTR)
        continue;
    if (run_us)
        *run_us = w->run_us;
    pthread_mutex_unlock(&w->lock);
    return idle;
}

void sy_eng_writer_alarm(struct sy_eng_writer *w, int64_t at_us)
{
    pthread_mutex_lock(&w->lock);
    w->alarm_us = at_us;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void sy_eng_writer_stop(struct sy_eng_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true; /* a job handed over still runs first */
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    sy_store_close(w->store);
    close(w->fd);
    free(w);
}
