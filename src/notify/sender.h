/* sender.h - the notifier: a thread that delivers the outbox (store.h, "the notification
 * outbox") to its channels, at least once.
 *
 * It has its own handle on the store and never touches the engine: the engine queues rows
 * in the transactions of its changes and wakes the notifier (sy_notifier_wake); the
 * notifier sends each due row (message.h) with libcurl, up to SY_NOTIFIER_FLIGHTS at a
 * time and SY_NOTIFIER_PER_CHANNEL to one channel, each attempt bounded by `timeout_ms`,
 * and records the outcome on the row: delivered (an HTTP 2xx, or SMTP accepting the mail),
 * or pending again after a back-off that doubles from `backoff_ms` up to `backoff_max_ms`
 * with jitter (a random half of it), or failed once `max_attempts` attempts have failed.
 * A row being sent is leased (its next_ms moved past the attempt's timeout), so a restart
 * resumes every pending row, the ones in flight at a crash a timeout later. Receivers drop
 * repeats by the idempotency key. At start and hourly it deletes the rows done longer ago
 * than `retention_ms`.
 */
#ifndef SY_NOTIFY_SENDER_H
#define SY_NOTIFY_SENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define SY_NOTIFIER_FLIGHTS     16 /* deliveries in flight at once */
#define SY_NOTIFIER_PER_CHANNEL 4  /* of them to one channel: a hanging receiver holds no more */

typedef struct sy_notifier sy_notifier_t; /* opaque */

/* One line about one delivery: `event` is "notification_delivered", "notification_retry"
 * or "notification_failed"; `error` NULL when delivered. Never a secret: errors are
 * libcurl's words (host and port, not the URL) or "HTTP <status>". Called on the
 * notifier's thread. */
typedef void (*sy_notifier_log_fn)(void *arg, const char *event, int64_t id, int64_t channel,
                                   const char *type, int64_t attempts, const char *error);

typedef struct sy_notifier_opts {
    const char *db;         /* the store the engine uses */
    int64_t max_attempts;   /* >= 1 */
    int64_t backoff_ms;     /* the first retry's delay, >= 1 */
    int64_t backoff_max_ms; /* >= backoff_ms */
    int64_t timeout_ms;     /* one attempt, connecting included, >= 1 */
    int64_t poll_ms;        /* looks for due rows at least this often, >= 1 */
    int64_t retention_ms;   /* delivered and failed rows are kept this long; 0: forever */
    sy_notifier_log_fn log; /* optional */
    void *log_arg;
} sy_notifier_opts_t;

/* Opens its store handle and starts the thread. Call from the main thread before other
 * threads use libcurl (it initialises libcurl). -EINVAL for bad options, -EIO for a store
 * that does not open. */
int sy_notifier_start(sy_notifier_t **out, const sy_notifier_opts_t *o, sy_err_t *err);
/* Makes the thread look for due rows now. Any thread; `notifier` is a sy_notifier_t *
 * (void * so that it fits sy_engine_on_notification). NULL is a no-op. */
void sy_notifier_wake(void *notifier);
/* Whether this node sends (many nodes on one database: the one that leads, so that each
 * notification leaves once; sy_engine_leads). A notifier that does not send takes no due
 * row and prunes nothing; deliveries in flight finish. Starts sending. Any thread; NULL is
 * a no-op. */
void sy_notifier_set_sending(sy_notifier_t *n, bool sending);
/* Stops the thread (deliveries in flight are abandoned: they stay pending, and are sent
 * again after the next start) and frees everything. NULL is a no-op. */
void sy_notifier_stop(sy_notifier_t *n);

#endif
