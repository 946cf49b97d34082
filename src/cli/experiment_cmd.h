/* experiment_cmd.h - `switchyard experiment ...` and `switchyard events send`: client verbs
 * against a running server. See docs/cli.md. */
#ifndef SY_CLI_EXPERIMENT_CMD_H
#define SY_CLI_EXPERIMENT_CMD_H

/* Runs `switchyard experiment VERB ...` (argv[0] is the verb). Returns the exit status:
 * 0 done, 1 refused or unreachable, 2 bad options. */
int sy_cli_experiment(int argc, char **argv);

/* Runs `switchyard events send FILE ...` (argv[0] is "send"). Same exit statuses. */
int sy_cli_events(int argc, char **argv);

#endif
