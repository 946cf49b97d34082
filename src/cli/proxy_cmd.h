/* proxy_cmd.h - `switchyard proxy --server URL`: a proxy-only process following a server's
 * routes. See docs/proxy.md. */
#ifndef SY_CLI_PROXY_CMD_H
#define SY_CLI_PROXY_CMD_H

/* Runs until SIGTERM or SIGINT; returns the exit status (1 when the server's routes cannot
 * be read at the start, 2 for bad options). */
int sy_cli_proxy(int argc, char **argv);

#endif
