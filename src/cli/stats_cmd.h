/* stats_cmd.h - the `switchyard stats` verbs (ztest, welch, srm, power, bayes,
 * sequential, holm). See docs/cli.md. */
#ifndef SY_CLI_STATS_CMD_H
#define SY_CLI_STATS_CMD_H

#include <stdio.h>

/* Runs `switchyard stats ARGS...`; argv[0] is the verb. Returns the exit status: 0, or 2
 * for bad options or input the statistics refuse. */
int sy_cli_stats(int argc, char **argv);

/* Prints the list of verbs. */
void sy_cli_stats_usage(FILE *to);

#endif
