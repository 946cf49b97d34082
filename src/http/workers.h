/* workers.h - the HTTP server's data-plane threads (server.c's; private to http/).
 *
 * N threads, each with its own event loop and h1 server, accept from one shared listening
 * socket (an idle worker wakes first, so connections spread to whoever has time). A worker
 * answers the data plane itself (sy_http_worker_request: OFREP, its streams, /healthz,
 * /readyz) from its engine reader, and hands every other request to the engine's loop: a
 * detached copy (h1.h) goes through a queue, the engine runs the API on it, and its answer
 * comes back through the worker's own queue to be written on the worker's connection. The
 * original request stays pending meanwhile, so its connection reads nothing more and no
 * byte of it moves. Exposures that OFREP saw go to the engine the same way, batched per
 * request.
 *
 * Every function here runs on the engine's thread.
 */
#ifndef SY_HTTP_WORKERS_H
#define SY_HTTP_WORKERS_H

#include <event2/event.h>

#include "http/h1.h"
#include "http/server.h"

typedef struct sy_workers sy_workers_t;

/* Starts `n` workers on the listening socket `fd` (not taken) with the h1 options `opts`
 * (max_conns is shared out among them). `engine` is the engine's loop, where handed-over
 * requests are served; it and the workers' loops need libevent's threads (made after
 * evthread_use_pthreads). Returns 0 or a negative errno. */
int sy_workers_start(sy_workers_t **out, sy_http_t *http, struct event_base *engine, int n, int fd,
                     const sy_h1_opts_t *opts);

/* Workspace `ws` changed: every worker tells its streams. */
void sy_workers_changed(sy_workers_t *ws, int64_t workspace);

/* Every worker stops accepting, ends its streams and answers what is in flight (those at
 * the engine too); `done` runs on the engine's thread once all have, or after `grace_s`
 * seconds and the answers the engine still owes. */
void sy_workers_drain(sy_workers_t *ws, int grace_s, void (*done)(void *arg), void *arg);

/* Stops and joins the workers and frees them; requests still pending are dropped with
 * their connections. NULL is a no-op. */
void sy_workers_free(sy_workers_t *ws);

#endif
