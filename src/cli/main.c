/* main.c - the `switchyard` command: dispatches to its verbs. */
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "cli/allocation_cmd.h"
#include "cli/notify_cmd.h"
#include "cli/proxy_cmd.h"
#include "cli/regression_cmd.h"
#include "cli/route_cmd.h"
#include "cli/args.h"
#include "cli/experiment_cmd.h"
#include "cli/flag_cmd.h"
#include "cli/serve_cmd.h"
#include "cli/simulate_cmd.h"
#include "cli/stats_cmd.h"

#ifndef SY_VERSION
#define SY_VERSION "0.1.0"
#endif

static void usage(FILE *to)
{
    fprintf(to, "usage: switchyard [--help] [--version] COMMAND [options]\n"
                "\n"
                "switchyard is a self-hosted progressive-delivery and experimentation engine.\n"
                "\n"
                "commands:\n"
                "  allocation   an experiment's traffic: show, apply a guarded step\n"
                "  emergency-rollback\n"
                "               every running experiment to control, every route to legacy\n"
                "  eval         evaluate one flag of a flagd document for a context\n"
                "  events       send experiment events to a server (switchyard events --help)\n"
                "  experiment   experiments on a server: create, list, show, start, stop,\n"
                "               terminate, results, promotion, set (switchyard experiment\n"
                "               --help)\n"
                "  flags        flag documents: validate (switchyard flags --help)\n"
                "  history      an experiment's steps, promotions and rollbacks\n"
                "  killswitch   the workspace's kill switch: on, off, status\n"
                "  kpi          send business KPI events to a server (switchyard kpi --help)\n"
                "  migrate      bring a store (SQLite, PostgreSQL) to this version's schema\n"
                "  notify       notification channels and deliveries: channels, add, delete,\n"
                "               test, list\n"
                "  promote      move an experiment's winner to 100 %%\n"
                "  proxy        a proxy-only process serving a server's routes\n"
                "  risk         the risk guard: reserve, ledger (switchyard risk --help)\n"
                "  rollback     send all of an experiment's traffic back to control\n"
                "  route        the proxy's routes: list, show, health, requests, percentage,\n"
                "               enable, disable, rollback (switchyard route --help)\n"
                "  serve        run the server: flags, OFREP, experiments, events, audit\n"
                "  simulate     days of synthetic traffic through the engine, on a fake clock\n"
                "  stats        statistical tests: ztest, welch, srm, power, plan, bayes,\n"
                "               sequential, holm (switchyard stats --help)\n"
                "  token        create an API token in a store (switchyard token --help)\n"
                "  tripwire     regression tripwires on a server: policies, set, evaluate,\n"
                "               state (switchyard tripwire --help)\n"
                "  workspace    create a workspace in a store (switchyard workspace --help)\n"
                "\n"
                "Each command takes --help. Docs: docs/cli.md, docs/api.md, docs/stats.md,\n"
                "docs/flags.md.\n");
}

int main(int argc, char **argv)
{
    /* GSL aborts the process on underflow deep in a tail unless told not to; core/stats
     * checks every status itself (see stats.h). */
    gsl_set_error_handler_off();

    if (argc < 2) {
        usage(stderr);
        return SY_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("switchyard %s\n", SY_VERSION);
        return 0;
    }
    if (strcmp(cmd, "eval") == 0)
        return sy_cli_eval(argc - 2, argv + 2);
    if (strcmp(cmd, "allocation") == 0)
        return sy_cli_allocation(argc - 2, argv + 2);
    if (strcmp(cmd, "promote") == 0)
        return sy_cli_promote(argc - 2, argv + 2);
    if (strcmp(cmd, "rollback") == 0)
        return sy_cli_rollback(argc - 2, argv + 2);
    if (strcmp(cmd, "history") == 0)
        return sy_cli_history(argc - 2, argv + 2);
    if (strcmp(cmd, "experiment") == 0)
        return sy_cli_experiment(argc - 2, argv + 2);
    if (strcmp(cmd, "kpi") == 0)
        return sy_cli_kpi(argc - 2, argv + 2);
    if (strcmp(cmd, "tripwire") == 0)
        return sy_cli_tripwire(argc - 2, argv + 2);
    if (strcmp(cmd, "risk") == 0)
        return sy_cli_risk(argc - 2, argv + 2);
    if (strcmp(cmd, "killswitch") == 0)
        return sy_cli_killswitch(argc - 2, argv + 2);
    if (strcmp(cmd, "emergency-rollback") == 0)
        return sy_cli_emergency_rollback(argc - 2, argv + 2);
    if (strcmp(cmd, "notify") == 0)
        return sy_cli_notify(argc - 2, argv + 2);
    if (strcmp(cmd, "proxy") == 0)
        return sy_cli_proxy(argc - 2, argv + 2);
    if (strcmp(cmd, "route") == 0)
        return sy_cli_route(argc - 2, argv + 2);
    if (strcmp(cmd, "events") == 0)
        return sy_cli_events(argc - 2, argv + 2);
    if (strcmp(cmd, "flags") == 0)
        return sy_cli_flags(argc - 2, argv + 2);
    if (strcmp(cmd, "simulate") == 0)
        return sy_cli_simulate(argc - 2, argv + 2);
    if (strcmp(cmd, "stats") == 0)
        return sy_cli_stats(argc - 2, argv + 2);
    if (strcmp(cmd, "serve") == 0)
        return sy_cli_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "token") == 0)
        return sy_cli_token(argc - 2, argv + 2);
    if (strcmp(cmd, "workspace") == 0)
        return sy_cli_workspace(argc - 2, argv + 2);
    if (strcmp(cmd, "migrate") == 0)
        return sy_cli_migrate(argc - 2, argv + 2);
    fprintf(stderr, "switchyard: unknown command '%s' (see switchyard --help)\n", cmd);
    return SY_EXIT_USAGE;
}
