/* route_cmd.h - `switchyard route list|show|health|percentage|enable|disable|rollback`: the
 * proxy's routes, client verbs against a running server. See docs/cli.md. */
#ifndef SY_CLI_ROUTE_CMD_H
#define SY_CLI_ROUTE_CMD_H

/* Runs the verb (argv[0] is the first word after `route`) and returns the exit status:
 * 0 done, 1 refused or unreachable, 2 bad options. */
int sy_cli_route(int argc, char **argv);

#endif
