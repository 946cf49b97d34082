/* serve_cmd.h - `switchyard serve`, `switchyard token` and `switchyard workspace`.
 * Each returns the process exit status (0 ok, 1 failure, 2 usage). */
#ifndef SY_CLI_SERVE_CMD_H
#define SY_CLI_SERVE_CMD_H

#include <stdint.h>

#include "core/route_log.h"
#include "http/server.h"

int sy_cli_serve(int argc, char **argv);
/* The structured log line of a proxied request that failed or fell back to legacy
 * (event=route_request), for serve's proxy and `switchyard proxy` alike. */
void sy_cli_log_request(sy_log_format_t fmt, const char *route, const sy_route_log_rec_t *r);
int sy_cli_token(int argc, char **argv);
int sy_cli_workspace(int argc, char **argv);
int sy_cli_migrate(int argc, char **argv);

#endif
