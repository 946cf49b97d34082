/* regression_cmd.h - `switchyard kpi send` and `switchyard tripwire
 * policies|set|evaluate|state`: client verbs against a running server. See docs/cli.md. */
#ifndef SY_CLI_REGRESSION_CMD_H
#define SY_CLI_REGRESSION_CMD_H

/* Each runs its verb (argv[0] is the first word after it) and returns the exit status:
 * 0 done, 1 refused or unreachable, 2 bad options. */
int sy_cli_kpi(int argc, char **argv);      /* send FILE|- */
int sy_cli_tripwire(int argc, char **argv); /* policies | set ... | evaluate ... | state */

#endif
