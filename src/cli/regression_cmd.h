/* regression_cmd.h - `switchyard kpi send`, `switchyard tripwire
 * policies|set|evaluate|state`, `switchyard risk reserve|ledger` and `switchyard killswitch
 * on|off|status`: client verbs against a running server. See docs/cli.md. */
#ifndef SY_CLI_REGRESSION_CMD_H
#define SY_CLI_REGRESSION_CMD_H

/* Each runs its verb (argv[0] is the first word after it) and returns the exit status:
 * 0 done, 1 refused or unreachable, 2 bad options. */
int sy_cli_kpi(int argc, char **argv);        /* send FILE|- */
int sy_cli_tripwire(int argc, char **argv);   /* policies | set ... | evaluate ... | state */
int sy_cli_risk(int argc, char **argv);       /* reserve ... | ledger [--day D] */
int sy_cli_killswitch(int argc, char **argv); /* on | off | status */
/* `switchyard emergency-rollback --reason TEXT`: every experiment to control, every route
 * to legacy. */
int sy_cli_emergency_rollback(int argc, char **argv);

#endif
