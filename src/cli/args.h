/* args.h - command-line options of the switchyard verbs.
 *
 * A verb declares its options in a table of sy_arg; sy_args_parse fills it from argv.
 * Options are "--name VALUE", "--name=VALUE" or a bare "--flag". Values borrow argv.
 * Every parse error prints one line naming the option to stderr and returns -EINVAL, so a
 * verb can exit with status 2 at once. The value parsers below follow the same rule.
 */
#ifndef SY_CLI_ARGS_H
#define SY_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/stats.h"

/* Exit status of a command that was used wrongly (bad option, bad value). */
#define SY_EXIT_USAGE 2

struct sy_arg {
    const char *name;    /* long name without "--" */
    const char *metavar; /* value placeholder for --help; NULL for a flag */
    const char *help;    /* one line for --help */
    size_t max_values;   /* 0 or 1: the last one wins; more: repeatable, up to this many */
    /* Filled by sy_args_parse: */
    const char *value;   /* the (last) value; "" for a flag given; NULL if absent */
    const char **values; /* repeatable only: caller's array of max_values entries */
    size_t n_values;
};

/* Parses argv[0..argc) (argv[0] is the first option, not the program). `prog` prefixes
 * messages ("switchyard stats ztest"). "--help" sets *help and stops parsing. Returns 0 or
 * -EINVAL after printing why. */
int sy_args_parse(int argc, char **argv, struct sy_arg *args, size_t n, const char *prog,
                  bool *help);

/* Prints "--name METAVAR  help" lines for the table. */
void sy_args_usage(const struct sy_arg *args, size_t n, FILE *to);

/* Value parsers: each returns 0, or prints "PROG: --OPT: why" and returns -EINVAL. */
int sy_args_double(const char *prog, const char *opt, const char *s, double *out);
int sy_args_int64(const char *prog, const char *opt, const char *s, int64_t *out);
/* A whole number in [lo, hi] into *out; NULL `s` keeps *out (the default) and checks it. */
int sy_args_ranged(const char *prog, const char *opt, const char *s, int64_t lo, int64_t hi,
                   int64_t *out);
/* "SUCCESSES/TRIALS", e.g. "120/1000". */
int sy_args_binom(const char *prog, const char *opt, const char *s, sy_binom_t *out);
/* "MEAN:SD:N", e.g. "10.2:2.1:500". */
int sy_args_moments(const char *prog, const char *opt, const char *s, sy_moments_t *out);
/* Comma-separated numbers, at most `cap`; *n receives the count. */
int sy_args_doubles(const char *prog, const char *opt, const char *s, double *out, size_t cap,
                    size_t *n);

/* Descriptors left for connections once the process's own are set aside: raises the soft
 * RLIMIT_NOFILE to the hard one (as servers do), keeps 128 for the store, logs,
 * listeners and notifications, and returns the rest (at least 16). The default
 * --max-connections of serve and proxy are shares of it. */
int64_t sy_args_fd_budget(void);

/* Prints a result object as indented JSON on stdout and takes the reference. NULL (out
 * of memory while building it) and a failed write print why to stderr and return 1 (the
 * exit status); otherwise 0. Shared by every verb's --json. */
int sy_cli_print_json(json_t *o);

#endif
