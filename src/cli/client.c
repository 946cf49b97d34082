/* client.c - libcurl behind client.h. */
#define _DEFAULT_SOURCE
#include "cli/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/args.h"

#define REPLY_MAX      ((size_t)64 << 20)
#define LINE_MAX_BYTES (1 << 20) /* longest JSON line sy_client_send_lines reads */

struct sy_client {
    const char *prog;
    char base[512];
    char auth[128];
    CURL *curl;
};

sy_client_t *sy_client_new(const char *prog, const char *server, const char *token)
{
    if (!server)
        server = getenv("SWITCHYARD_URL");
    if (!token)
        token = getenv("SWITCHYARD_TOKEN");
    if (!token || !*token) {
        fprintf(stderr, "%s: no token: give --token or set SWITCHYARD_TOKEN\n", prog);
        return NULL;
    }
    sy_client_t *c = calloc(1, sizeof(*c));
    if (!c || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->curl = curl_easy_init())) {
        fprintf(stderr, "%s: cannot set up the HTTP client\n", prog);
        free(c);
        return NULL;
    }
    c->prog = prog;
    snprintf(c->base, sizeof(c->base), "%s", server && *server ? server : "http://127.0.0.1:8080");
    size_t n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", token);
    return c;
}

void sy_client_free(sy_client_t *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    curl_global_cleanup();
    free(c);
}

struct buf {
    char *p;
    size_t len;
    bool too_big;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t add = size * n;
    if (b->len + add > REPLY_MAX) {
        b->too_big = true;
        return 0;
    }
    char *p = realloc(b->p, b->len + add + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, data, add);
    b->p = p;
    b->len += add;
    p[b->len] = '\0';
    return add;
}

long sy_client_call(sy_client_t *c, const char *method, const char *path, const char *body,
                    size_t len, json_t **reply)
{
    *reply = NULL;
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", c->base, path);
    struct curl_slist *h = curl_slist_append(NULL, c->auth);
    struct curl_slist *h2 = h ? curl_slist_append(h, "Content-Type: application/json") : NULL;
    struct buf b = {0};
    CURL *k = c->curl;
    curl_easy_reset(k);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h2 ? h2 : h);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(k, CURLOPT_TIMEOUT, 60L);
    if (body) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, "");
    }
    long status = 0;
    CURLcode rc = curl_easy_perform(k);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
        json_error_t je;
        *reply = b.p ? json_loadb(b.p, b.len, 0, &je) : NULL;
    } else {
        fprintf(stderr, "%s: %s: %s\n", c->prog, c->base,
                b.too_big ? "the reply is over 64 MiB" : curl_easy_strerror(rc));
    }
    free(b.p);
    curl_slist_free_all(h2 ? h2 : h);
    return status;
}

int sy_client_run(sy_client_t *c, bool json, const char *method, const char *path, const char *body,
                  void (*print)(const json_t *reply))
{
    json_t *reply = NULL;
    long status = sy_client_call(c, method, path, body, body ? strlen(body) : 0, &reply);
    int rc = 1;
    if (status == 0) {
        /* printed by sy_client_call */
    } else if (status >= 300) {
        sy_client_report(c, NULL, status, reply);
    } else if (json || !print) {
        return sy_cli_print_json(reply);
    } else {
        print(reply);
        rc = 0;
    }
    json_decref(reply);
    return rc;
}

void sy_client_report(const sy_client_t *c, const char *where, long status, const json_t *reply)
{
    const json_t *e = json_object_get(reply, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *field = json_string_value(json_object_get(e, "field"));
    fprintf(stderr, "%s: %s%s", c->prog, where ? where : "", where ? ": " : "");
    if (msg)
        fprintf(stderr, "%s%s%s%s (HTTP %ld)\n", msg, field && *field ? " (" : "",
                field && *field ? field : "", field && *field ? ")" : "", status);
    else
        fprintf(stderr, "the server answered HTTP %ld\n", status);
}

void sy_client_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~", ch)) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

/* ---- sending JSON lines
 * -------------------------------------------------------------------------- */

struct batch {
    json_t *events;
    size_t first_line;   /* of its first event */
    size_t lines[10000]; /* line of each event */
};

/* Sends one batch, retrying while the server cannot be reached or is busy (ids make a
 * retry safe; events without one may then be counted twice, which `--help` says). */
static int send_batch(sy_client_t *c, const char *prog, const char *path, struct batch *b,
                      int retries, size_t *accepted, size_t *duplicates)
{
    json_t *body = json_pack("{sO}", "events", b->events);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    int rc = 1;
    for (int attempt = 0; attempt <= retries; attempt++) {
        json_t *reply = NULL;
        long status = sy_client_call(c, "POST", path, text, strlen(text), &reply);
        if (status == 200) {
            *accepted += (size_t)json_integer_value(json_object_get(reply, "accepted"));
            *duplicates += (size_t)json_integer_value(json_object_get(reply, "duplicates"));
            json_decref(reply);
            rc = 0;
            break;
        }
        if (status != 0 && status != 503 && status != 429) {
            /* "events[7].variant": say which line it came from */
            const char *field =
                json_string_value(json_object_get(json_object_get(reply, "error"), "field"));
            size_t i;
            char where[32] = "";
            if (field && sscanf(field, "events[%zu]", &i) == 1 && i < json_array_size(b->events))
                snprintf(where, sizeof(where), "line %zu", b->lines[i]);
            sy_client_report(c, *where ? where : NULL, status, reply);
            json_decref(reply);
            break;
        }
        json_decref(reply);
        if (attempt < retries)
            usleep(200000u << (attempt < 4 ? attempt : 4));
    }
    free(text);
    return rc;
}

int sy_client_send_lines(const char *prog, const char *path, const char *about,
                         int64_t default_retries, int argc, char **argv)
{
    const char *file = NULL;
    if (argc >= 1 && (argv[0][0] != '-' || strcmp(argv[0], "-") == 0)) {
        file = argv[0];
        argc--, argv++;
    }
    struct sy_arg a[] = {
        SY_CLIENT_ARGS,
        {"batch", "N", "events per request, 1 to 10000 (default 1000)", 0, NULL, NULL, 0},
        {"retries", "N", "retries of a batch the server could not take", 0, NULL, NULL, 0},
    };
    size_t n = sizeof(a) / sizeof(a[0]);
    bool help = false;
    if (sy_args_parse(argc, argv, a, n, prog, &help) < 0)
        return SY_EXIT_USAGE;
    if (help || !file) {
        printf("usage: %s FILE|- [options]\n\n%s\n--retries defaults to %lld.\n\n", prog, about,
               (long long)default_retries);
        sy_args_usage(a, n, stdout);
        return help ? 0 : SY_EXIT_USAGE;
    }
    int64_t size = 1000, retries = default_retries;
    if ((a[3].value && sy_args_int64(prog, "batch", a[3].value, &size) < 0) ||
        (a[4].value && sy_args_int64(prog, "retries", a[4].value, &retries) < 0))
        return SY_EXIT_USAGE;
    if (size < 1 || size > 10000 || retries < 0 || retries > 100) {
        fprintf(stderr, "%s: --batch is 1 to 10000 and --retries 0 to 100\n", prog);
        return SY_EXIT_USAGE;
    }
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!in) {
        fprintf(stderr, "%s: %s: %s\n", prog, file, strerror(errno));
        return 1;
    }
    sy_client_t *c = sy_client_new(prog, a[SY_CA_SERVER].value, a[SY_CA_TOKEN].value);
    struct batch *b = c ? calloc(1, sizeof(*b)) : NULL;
    char *line = b ? malloc(LINE_MAX_BYTES) : NULL;
    int rc = c && line ? 0 : 1;
    size_t lineno = 0, accepted = 0, duplicates = 0, sent = 0;
    if (line)
        b->events = json_array();
    while (rc == 0 && fgets(line, LINE_MAX_BYTES, in)) {
        lineno++;
        size_t len = strlen(line);
        if (len == LINE_MAX_BYTES - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "%s: line %zu: longer than 1 MiB\n", prog, lineno);
            rc = 1;
            break;
        }
        if (strspn(line, " \t\r\n") == len)
            continue;
        json_error_t je;
        json_t *ev = json_loads(line, 0, &je);
        if (!json_is_object(ev)) {
            fprintf(stderr, "%s: line %zu: %s\n", prog, lineno,
                    ev ? "an event is a JSON object" : je.text);
            json_decref(ev);
            rc = 1;
            break;
        }
        b->lines[json_array_size(b->events)] = lineno;
        json_array_append_new(b->events, ev);
        if (json_array_size(b->events) == (size_t)size) {
            sent += json_array_size(b->events);
            rc = send_batch(c, prog, path, b, (int)retries, &accepted, &duplicates);
            json_array_clear(b->events);
        }
    }
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "%s: %s: read error\n", prog, file);
        rc = 1;
    }
    if (rc == 0 && json_array_size(b->events)) {
        sent += json_array_size(b->events);
        rc = send_batch(c, prog, path, b, (int)retries, &accepted, &duplicates);
    }
    if (rc == 0)
        printf("%zu events sent: %zu accepted, %zu duplicates\n", sent, accepted, duplicates);
    if (in != stdin)
        fclose(in);
    if (b)
        json_decref(b->events);
    free(b);
    free(line);
    sy_client_free(c);
    return rc;
}

bool sy_client_parse(const char *prog, const char *arg_name, struct sy_arg *a, size_t n, int argc,
                     char **argv, const char **arg, int *status)
{
    bool help = false;
    if (arg)
        *arg = NULL;
    if (arg_name && argc >= 1 && (argv[0][0] != '-' || strcmp(argv[0], "-") == 0)) {
        *arg = argv[0];
        argc--, argv++;
    }
    if (sy_args_parse(argc, argv, a, n, prog, &help) < 0) {
        *status = SY_EXIT_USAGE;
        return false;
    }
    if (help || (arg_name && !*arg)) {
        FILE *to = help ? stdout : stderr;
        fprintf(to, "usage: %s%s%s [options]\n\n", prog, arg_name ? " " : "",
                arg_name ? arg_name : "");
        sy_args_usage(a, n, to);
        *status = help ? 0 : SY_EXIT_USAGE;
        return false;
    }
    return true;
}

int sy_client_once(const char *prog, const struct sy_arg *a, const char *method, const char *path,
                   json_t *body, void (*print)(const json_t *reply))
{
    sy_client_t *c = sy_client_new(prog, a[SY_CA_SERVER].value, a[SY_CA_TOKEN].value);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int rc = c ? sy_client_run(c, a[SY_CA_JSON].value != NULL, method, path, text, print)
               : SY_EXIT_USAGE;
    free(text);
    sy_client_free(c);
    return rc;
}

void sy_client_print_each(const json_t *reply, const char *key, void (*each)(const json_t *),
                          const char *none)
{
    const json_t *list = json_object_get(reply, key);
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item) each(item);
    if (json_array_size(list) == 0)
        printf("%s\n", none);
}
