/* simulate_cmd.h - `switchyard simulate`: synthetic traffic through the real engine on a
 * fake clock. See docs/cli.md. */
#ifndef SY_CLI_SIMULATE_CMD_H
#define SY_CLI_SIMULATE_CMD_H

/* Runs `switchyard simulate [options]`. Returns 0, 1 when a run fails (a scenario the
 * engine refuses), 2 for bad options. */
int sy_cli_simulate(int argc, char **argv);

#endif
