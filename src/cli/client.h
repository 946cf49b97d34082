/* client.h - the HTTP client of the CLI verbs that talk to a running server.
 *
 * One request at a time to --server (or SWITCHYARD_URL, default http://127.0.0.1:8080)
 * with the bearer token --token (or SWITCHYARD_TOKEN). Replies are JSON; an error reply's
 * {"error": {...}} is printed as "PROG: message (field)" by sy_client_report.
 */
#ifndef SY_CLI_CLIENT_H
#define SY_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct sy_client sy_client_t; /* opaque */

/* `server` and `token` may be NULL: the environment, then the defaults. Returns NULL after
 * printing why (no token anywhere, out of memory). */
sy_client_t *sy_client_new(const char *prog, const char *server, const char *token);
void sy_client_free(sy_client_t *c); /* NULL is a no-op */

/* Sends METHOD PATH with `body` (JSON text, may be NULL) and waits for the answer. Returns
 * the HTTP status with the parsed reply in *reply (NULL when the body is not JSON), or 0
 * when the server could not be reached (printed). */
long sy_client_call(sy_client_t *c, const char *method, const char *path, const char *body,
                    size_t len, json_t **reply);

/* Prints each item of reply's array `key` with `each`, or the line `none` when it is empty. */
void sy_client_print_each(const json_t *reply, const char *key, void (*each)(const json_t *),
                          const char *none);

/* Prints an error reply (or a bare status) as one line on stderr, after `where` ("line 7")
 * when not NULL. */
void sy_client_report(const sy_client_t *c, const char *where, long status, const json_t *reply);

/* The options every client verb takes first in its sy_arg table, and their indexes. */
#define SY_CLIENT_ARGS                                                                             \
    {"server", "URL", "the server (default $SWITCHYARD_URL, else http://127.0.0.1:8080)", 0, NULL, \
     NULL,     0},                                                                                 \
        {"token", "TOKEN", "bearer token (default $SWITCHYARD_TOKEN)", 0, NULL, NULL, 0},          \
    {                                                                                              \
        "json", NULL, "print the server's JSON answer", 0, NULL, NULL, 0                           \
    }
enum { SY_CA_SERVER, SY_CA_TOKEN, SY_CA_JSON, SY_CA_FIRST_OWN };

/* Sends one request and handles the answer: the JSON on `json` (or when `print` is NULL),
 * `print` otherwise, an error line on a refusal. Returns the exit status: 0, or 1 for a
 * refusal or a server that cannot be reached. */
int sy_client_run(sy_client_t *c, bool json, const char *method, const char *path, const char *body,
                  void (*print)(const json_t *reply));

/* `PROG FILE|- [options]`: sends the JSON objects of FILE (one per line) to POST `path` as
 * {"events": [...]} batches (--batch, default 1000), retrying a batch the server could not
 * take --retries times (default `default_retries`), naming the line of a refused event.
 * `about` is --help's description. Returns the exit status. */
int sy_client_send_lines(const char *prog, const char *path, const char *about,
                         int64_t default_retries, int argc, char **argv);

struct sy_arg;
/* Parses `PROG [ARG] [options]`, the client options first in `a` (n entries). With
 * `arg_name` ("KEY", "ID") a leading positional ARG is required, into *arg; with NULL none
 * is taken. False with *status the exit status after --help (0), a bad option or a missing
 * ARG (usage printed). */
bool sy_client_parse(const char *prog, const char *arg_name, struct sy_arg *a, size_t n, int argc,
                     char **argv, const char **arg, int *status);
/* One request with the client options of `a` (sy_client_new, sy_client_run, free); takes
 * `body` (NULL for none). Returns the exit status. */
int sy_client_once(const char *prog, const struct sy_arg *a, const char *method, const char *path,
                   json_t *body, void (*print)(const json_t *reply));

/* Percent-encodes `s` into `out` for use as one path segment. */
void sy_client_escape(const char *s, char *out, size_t cap);

#endif
