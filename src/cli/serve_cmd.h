/* serve_cmd.h - `switchyard serve`, `switchyard token` and `switchyard workspace`.
 * Each returns the process exit status (0 ok, 1 failure, 2 usage). */
#ifndef SY_CLI_SERVE_CMD_H
#define SY_CLI_SERVE_CMD_H

int sy_cli_serve(int argc, char **argv);
int sy_cli_token(int argc, char **argv);
int sy_cli_workspace(int argc, char **argv);

#endif
