/* message.h - what a queued notification looks like on each channel type: the request the
 * notifier sends for it (sender.h).
 *
 * A notification's payload is channel-neutral JSON (store.h, sy_store_notification_t):
 * {"event", "level", "action", "workspace", "resource", "title", "details", "at_ms"}. This
 * turns it, with its channel's config and secrets, into
 *   - slack: an incoming-webhook message: a header, the details as fields (experiment,
 *     winner, confidence, improvement, sample size, ...) and the warnings as context;
 *   - pagerduty: an Events API v2 event ("trigger", or "resolve" when the condition
 *     cleared) whose dedup_key is the condition's;
 *   - webhook: the payload with its idempotency key, delivery id and a Unix `timestamp`,
 *     signed: X-Switchyard-Signature: sha256=<hex HMAC-SHA256 of the exact body, keyed by
 *     the channel's secret>, and X-Switchyard-Timestamp (the same timestamp);
 *   - email: an RFC 5322 message (CRLF lines) for SMTP, Message-ID from the idempotency key.
 * Every HTTP request carries Idempotency-Key. Pure apart from allocating: the clock comes
 * in as `now_s`. Thread-safe.
 */
#ifndef SY_NOTIFY_MESSAGE_H
#define SY_NOTIFY_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

#define SY_NOTIFY_MAX_HEADERS 8

/* One outgoing request; every pointer owned (sy_notify_message_free). */
typedef struct sy_notify_message {
    char *url;
    char *body;                           /* the HTTP body, or the whole mail message */
    char *headers[SY_NOTIFY_MAX_HEADERS]; /* "Name: value"; NULL-terminated */
    bool smtp;                            /* email: mail_from, rcpt, username, password */
    char *mail_from, *rcpt, *username, *password;
} sy_notify_message_t;

/* Fills *out for notification `n` on channel `c` (its type, config and secrets), `n` being
 * attempt number `attempt` (1 for the first) at Unix time `now_s`. -EINVAL (`err` says
 * why) for a payload or config that does not parse; -ENOMEM. *out is empty on failure. */
int sy_notify_message(const sy_store_notification_t *n, const sy_store_channel_t *c,
                      int64_t attempt, int64_t now_s, sy_notify_message_t *out, sy_err_t *err);
void sy_notify_message_free(sy_notify_message_t *m); /* NULL and an empty one are no-ops */

/* The signature of `body` with `secret`: "sha256=" and 64 lowercase hex digits, into
 * out[72]. */
void sy_notify_sign(const char *secret, const char *body, char out[72]);

#endif
