/* flag_cmd.h - `switchyard eval` and `switchyard flags validate`. See docs/cli.md. */
#ifndef SY_CLI_FLAG_CMD_H
#define SY_CLI_FLAG_CMD_H

/* Runs `switchyard eval OPTIONS...` (argv[0] is the first option). Returns the exit
 * status: 0 resolved, 1 an ERROR result or a refused document, 2 bad options. */
int sy_cli_eval(int argc, char **argv);

/* Runs `switchyard flags VERB ...` (argv[0] is the verb). Returns 0 valid, 1 refused,
 * 2 bad options. */
int sy_cli_flags(int argc, char **argv);

#endif
