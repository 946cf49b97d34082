/* notify_cmd.c - `switchyard notify ...`: notification channels and deliveries on a running
 * server (client.h). See docs/cli.md.
 *
 * A channel is added from a JSON file (or stdin), never from options: its secrets stay out
 * of the command line, where other users of the machine could read them.
 *
 * Exit status: 0 done, 1 the server refused or could not be reached, 2 bad options.
 */
#include "cli/notify_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/client.h"

static const char *text(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static void print_channel(const json_t *c)
{
    const char *target = json_string_value(json_object_get(c, "url"));
    if (!target)
        target = text(c, "to");
    char *levels = json_dumps(json_object_get(c, "levels"), JSON_COMPACT);
    printf("#%-4lld %-9s %-20s %-8s %s levels %s, %zu events\n",
           (long long)json_integer_value(json_object_get(c, "id")), text(c, "type"),
           text(c, "name"), json_is_true(json_object_get(c, "enabled")) ? "enabled" : "disabled",
           target, levels ? levels : "?", json_array_size(json_object_get(c, "events")));
    free(levels);
}

static void print_channels(const json_t *r)
{
    sy_client_print_each(r, "channels", print_channel, "no channel");
}

static void print_delivery(const json_t *d)
{
    const char *err = json_string_value(json_object_get(d, "last_error"));
    printf("#%-5lld channel %-4lld %-9s %-8s %-17s %lld attempt(s) %s%s%s\n",
           (long long)json_integer_value(json_object_get(d, "id")),
           (long long)json_integer_value(json_object_get(d, "channel")), text(d, "status"),
           text(d, "level"), text(d, "event"),
           (long long)json_integer_value(json_object_get(d, "attempts")), text(d, "title"),
           err ? " - " : "", err ? err : "");
}

static void print_deliveries(const json_t *r)
{
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(r, "notifications"), i, d) print_delivery(d);
    const json_t *n = json_object_get(r, "counts");
    printf("%lld pending, %lld delivered, %lld failed\n",
           (long long)json_integer_value(json_object_get(n, "pending")),
           (long long)json_integer_value(json_object_get(n, "delivered")),
           (long long)json_integer_value(json_object_get(n, "failed")));
}

static void print_deleted(const json_t *r)
{
    printf("deleted channel #%lld\n", (long long)json_integer_value(json_object_get(r, "id")));
}

static void print_queued(const json_t *d)
{
    printf("queued test #%lld to channel #%lld (see: switchyard notify list)\n",
           (long long)json_integer_value(json_object_get(d, "id")),
           (long long)json_integer_value(json_object_get(d, "channel")));
}

static int add(int argc, char **argv)
{
    const char *prog = "switchyard notify add";
    struct sy_arg a[] = {SY_CLIENT_ARGS};
    const char *file;
    int status;
    if (!sy_client_parse(prog, "FILE|-", a, 3, argc, argv, &file, &status))
        return status;
    json_error_t je;
    json_t *body =
        strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &je) : json_load_file(file, 0, &je);
    if (!body) {
        fprintf(stderr, "%s: %s: %s (line %d)\n", prog, file, je.text, je.line);
        return SY_EXIT_USAGE;
    }
    return sy_client_once(prog, a, "POST", "/v1/notifications/channels", body, print_channel);
}

/* `delete ID` and `test ID`. */
static int on_channel(const char *prog, bool test, int argc, char **argv)
{
    struct sy_arg a[] = {SY_CLIENT_ARGS};
    const char *id;
    int status;
    if (!sy_client_parse(prog, "ID", a, 3, argc, argv, &id, &status))
        return status;
    char esc[64], path[128];
    sy_client_escape(id, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/v1/notifications/channels/%s%s", esc, test ? "/test" : "");
    return sy_client_once(prog, a, test ? "POST" : "DELETE", path, NULL,
                          test ? print_queued : print_deleted);
}

static int list(int argc, char **argv)
{
    const char *prog = "switchyard notify list";
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"status", "STATUS", "pending, delivered or failed", 0, NULL, NULL, 0},
        {"channel", "ID", "this channel's only", 0, NULL, NULL, 0},
        {"limit", "N", "at most N, newest first (default 100)", 0, NULL, NULL, 0},
    };
    int status;
    if (!sy_client_parse(prog, NULL, a, sizeof(a) / sizeof(a[0]), argc, argv, NULL, &status))
        return status;
    char path[512] = "/v1/notifications";
    const char *keys[] = {"status", "channel", "limit"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = a[SY_CA_FIRST_OWN + i].value;
        if (!v)
            continue;
        char esc[128];
        sy_client_escape(v, esc, sizeof(esc));
        size_t n = strlen(path);
        snprintf(path + n, sizeof(path) - n, "%c%s=%s", strchr(path, '?') ? '&' : '?', keys[i],
                 esc);
    }
    return sy_client_once(prog, a, "GET", path, NULL, print_deliveries);
}

int sy_cli_notify(int argc, char **argv)
{
    const char *verb = argc >= 1 ? argv[0] : "";
    if (strcmp(verb, "channels") == 0) {
        struct sy_arg a[] = {SY_CLIENT_ARGS};
        int status;
        if (!sy_client_parse("switchyard notify channels", NULL, a, 3, argc - 1, argv + 1, NULL,
                             &status))
            return status;
        return sy_client_once("switchyard notify channels", a, "GET", "/v1/notifications/channels",
                              NULL, print_channels);
    }
    if (strcmp(verb, "add") == 0)
        return add(argc - 1, argv + 1);
    if (strcmp(verb, "delete") == 0 || strcmp(verb, "test") == 0)
        return on_channel(verb[0] == 't' ? "switchyard notify test" : "switchyard notify delete",
                          verb[0] == 't', argc - 1, argv + 1);
    if (strcmp(verb, "list") == 0)
        return list(argc - 1, argv + 1);
    bool asked = strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0;
    fprintf(asked ? stdout : stderr,
            "usage: switchyard notify channels\n"
            "       switchyard notify add FILE|-     (the channel as JSON: docs/api.md)\n"
            "       switchyard notify delete ID\n"
            "       switchyard notify test ID        (queues a test message to the channel)\n"
            "       switchyard notify list [--status pending|delivered|failed] [--channel ID]"
            " [--limit N]\n"
            "Each takes --server URL, --token TOKEN and --json.\n");
    return asked ? 0 : SY_EXIT_USAGE;
}
