/* allocation_cmd.h - `switchyard allocation`, `promote`, `rollback` and `history`: client
 * verbs against a running server. See docs/cli.md. */
#ifndef SY_CLI_ALLOCATION_CMD_H
#define SY_CLI_ALLOCATION_CMD_H

/* Each runs its verb (argv[0] is the first word after it) and returns the exit status:
 * 0 done, 1 refused or unreachable, 2 bad options. */
int sy_cli_allocation(int argc, char **argv); /* show KEY | apply KEY ... */
int sy_cli_promote(int argc, char **argv);    /* KEY [--variant V] [--by NAME] */
int sy_cli_rollback(int argc, char **argv);   /* KEY [--reason TEXT] [--by NAME] */
int sy_cli_history(int argc, char **argv);    /* KEY */

#endif
