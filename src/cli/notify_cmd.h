/* notify_cmd.h - `switchyard notify channels|add|delete|test|list`: notification channels
 * and deliveries, client verbs against a running server. See docs/cli.md. */
#ifndef SY_CLI_NOTIFY_CMD_H
#define SY_CLI_NOTIFY_CMD_H

/* Runs the verb (argv[0] is the first word after `notify`) and returns the exit status:
 * 0 done, 1 refused or unreachable, 2 bad options. */
int sy_cli_notify(int argc, char **argv);

#endif
