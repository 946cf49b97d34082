/* message.c - a notification as each channel type wants it; see message.h. */
#define _DEFAULT_SOURCE
#include "notify/message.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void sy_notify_sign(const char *secret, const char *body, char out[72])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body),
              mac, &n))
        n = 0;
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < n && i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    out[7 + 2 * (n < 32 ? n : 32)] = '\0';
}

void sy_notify_message_free(sy_notify_message_t *m)
{
    if (!m)
        return;
    free(m->url);
    free(m->body);
    for (size_t i = 0; i < SY_NOTIFY_MAX_HEADERS; i++)
        free(m->headers[i]);
    free(m->mail_from);
    free(m->rcpt);
    free(m->username);
    free(m->password);
    *m = (sy_notify_message_t){0};
}

/* Appends "Name: value" to m's headers; -ENOMEM (or no room). */
static int header(sy_notify_message_t *m, const char *name, const char *value)
{
    size_t i = 0;
    while (i < SY_NOTIFY_MAX_HEADERS - 1 && m->headers[i])
        i++;
    if (i == SY_NOTIFY_MAX_HEADERS - 1)
        return -ENOMEM;
    size_t n = strlen(name) + strlen(value) + 3;
    if (!(m->headers[i] = malloc(n)))
        return -ENOMEM;
    snprintf(m->headers[i], n, "%s: %s", name, value);
    /* a header is one line: nothing that ends it early */
    for (char *p = m->headers[i]; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The first bytes of `s` that fit `max` bytes without cutting a UTF-8 sequence. */
static size_t fit(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static const char *severity_mark(const char *level)
{
    return strcmp(level, "critical") == 0  ? ":rotating_light:"
           : strcmp(level, "warning") == 0 ? ":warning:"
                                           : ":information_source:";
}

/* {variant: units} as "control 5000 · treatment 5000" (NULL when out of memory). */
static char *per_variant(const json_t *sample)
{
    size_t cap = 1, at = 0;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)sample, k, v) cap += strlen(k) + 32;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    json_object_foreach((json_t *)sample, k, v)
    {
        int n = snprintf(out + at, cap - at, "%s%s %lld", at ? " \xc2\xb7 " : "", k,
                         (long long)json_integer_value(v));
        at += n > 0 ? (size_t)n : 0;
    }
    return out;
}

/* A detail as a person reads it: confidences as percentages, lifts with a sign, a sample
 * per variant. */
static char *shown(const char *key, const json_t *v)
{
    char buf[64];
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_number(v)) {
        double x = json_number_value(v);
        if (strcmp(key, "confidence") == 0)
            snprintf(buf, sizeof(buf), "%.2f%%", 100 * x);
        else if (strcmp(key, "improvement_pct") == 0)
            snprintf(buf, sizeof(buf), "%+.2f%%", x);
        else if (json_is_integer(v))
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        else
            snprintf(buf, sizeof(buf), "%.6g", x);
        return strdup(buf);
    }
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? "yes" : "no");
    if (strcmp(key, "sample") == 0 && json_object_size(v) > 0)
        return per_variant(v);
    return NULL; /* null, other objects and arrays are not fields */
}

static const struct {
    const char *key, *label;
} labels[] = {{"experiment", "Experiment"},
              {"winner", "Winner"},
              {"confidence", "Confidence"},
              {"improvement_pct", "Improvement"},
              {"sample_size", "Sample size"},
              {"sample", "Sample"},
              {"state", "State"},
              {"domain", "Domain"},
              {"metric", "Metric"},
              {"current", "Current"},
              {"baseline", "Baseline"},
              {"drop_fraction", "Drop"},
              {"reason", "Reason"}};

/* Slack's section fields: the labelled details that are there, in the order above. */
static json_t *slack_fields(const json_t *details)
{
    json_t *fields = json_array();
    for (size_t i = 0; fields && i < sizeof(labels) / sizeof(labels[0]); i++) {
        if (json_array_size(fields) == 10) /* Slack's limit per section */
            break;
        char *v = shown(labels[i].key, json_object_get(details, labels[i].key));
        if (!v)
            continue;
        json_array_append_new(fields, json_pack("{ssss+++}", "type", "mrkdwn", "text", "*",
                                                labels[i].label, "*\n", v));
        free(v);
    }
    return fields;
}

static json_t *slack_body(const json_t *p, const sy_store_notification_t *n)
{
    const char *title = json_string_value(json_object_get(p, "title"));
    const json_t *details = json_object_get(p, "details");
    char head[160];
    snprintf(head, sizeof(head), "%s%.*s", strcmp(n->action, "resolve") == 0 ? "Resolved: " : "",
             (int)fit(title, 140), title);
    json_t *blocks = json_array(), *fields = slack_fields(details), *context = json_array();
    if (!blocks || !fields || !context) {
        json_decref(blocks);
        json_decref(fields);
        json_decref(context);
        return NULL;
    }
    json_array_append_new(blocks, json_pack("{sss{sssssb}}", "type", "header", "text", "type",
                                            "plain_text", "text", head, "emoji", 1));
    if (json_array_size(fields))
        json_array_append_new(blocks, json_pack("{ssso}", "type", "section", "fields", fields));
    else
        json_decref(fields);
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(details, "warnings"), i, w)
    {
        if (json_is_string(w) && json_array_size(context) < 9)
            json_array_append_new(context, json_pack("{ssss+}", "type", "mrkdwn", "text",
                                                     ":warning: ", json_string_value(w)));
    }
    json_array_append_new(context,
                          json_pack("{ssss+++++++}", "type", "mrkdwn", "text", "workspace `",
                                    json_string_value(json_object_get(p, "workspace")), "` · ",
                                    n->resource, " · ", n->level, " · key `", n->key));
    json_array_append_new(blocks, json_pack("{ssso}", "type", "context", "elements", context));
    return json_pack("{ss++so}", "text", severity_mark(n->level), " ", head, "blocks", blocks);
}

static json_t *pagerduty_body(const json_t *p, const sy_store_notification_t *n,
                              const char *routing_key)
{
    if (strcmp(n->action, "resolve") == 0)
        return json_pack("{sssssssss{ss}}", "routing_key", routing_key, "event_action", "resolve",
                         "dedup_key", n->dedup, "client", "switchyard", "payload", "summary",
                         json_string_value(json_object_get(p, "title")));
    const char *title = json_string_value(json_object_get(p, "title"));
    char summary[1024];
    snprintf(summary, sizeof(summary), "%.*s", (int)fit(title, 1000), title);
    return json_pack("{sssssssss{sssssssssssssO}}", "routing_key", routing_key, "event_action",
                     "trigger", "dedup_key", n->dedup, "client", "switchyard", "payload", "summary",
                     summary, "source", "switchyard", "severity", n->level, "component",
                     n->resource, "group", json_string_value(json_object_get(p, "workspace")),
                     "class", n->event, "custom_details", json_object_get(p, "details"));
}

static json_t *webhook_body(const json_t *p, const sy_store_notification_t *n, int64_t attempt,
                            int64_t now_s)
{
    json_t *o = json_deep_copy(p);
    if (o && json_object_update_new(o, json_pack("{sssssIsIsI}", "id", n->key, "dedup_key",
                                                 n->dedup, "delivery", (json_int_t)n->id, "attempt",
                                                 (json_int_t)attempt, "timestamp",
                                                 (json_int_t)now_s)) < 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* RFC 2047 for a subject that is not all ASCII. */
static char *subject(const char *text)
{
    bool ascii = true;
    for (const char *c = text; *c; c++)
        ascii &= (unsigned char)*c < 0x80;
    if (ascii)
        return strdup(text);
    size_t n = strlen(text), cap = 4 * ((n + 2) / 3) + 1;
    char *b64 = malloc(cap), *out = malloc(cap + 16);
    if (b64 && out) {
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)text, (int)n);
        snprintf(out, cap + 16, "=?UTF-8?B?%s?=", b64);
    } else {
        free(out);
        out = NULL;
    }
    free(b64);
    return out;
}

/* `s` with every line ending as CRLF. */
static char *crlf(const char *s)
{
    size_t lf = 0, n = strlen(s);
    for (const char *c = s; *c; c++)
        lf += *c == '\n';
    char *out = malloc(n + lf + 1), *o = out;
    for (const char *c = s; out && *c; c++) {
        if (*c == '\n' && (c == s || c[-1] != '\r'))
            *o++ = '\r';
        *o++ = *c;
    }
    if (out)
        *o = '\0';
    return out;
}

static char *email_text(const json_t *p, const sy_store_notification_t *n, const char *from,
                        const char *to, int64_t now_s)
{
    const char *title = json_string_value(json_object_get(p, "title"));
    const char *ws = json_string_value(json_object_get(p, "workspace"));
    char subj_text[256], date[64], mid[600];
    snprintf(subj_text, sizeof(subj_text), "[switchyard] %s%s: %.*s",
             strcmp(n->action, "resolve") == 0 ? "resolved " : "", n->level, (int)fit(title, 180),
             title);
    for (char *c = subj_text; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    time_t t = (time_t)now_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    /* a Message-ID is dot-atoms: the key with anything else as '.' */
    snprintf(mid, sizeof(mid), "%.500s", n->key);
    for (char *c = mid; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            *c = '.';
    char *subj = subject(subj_text);
    char *details = json_dumps(json_object_get(p, "details"), JSON_INDENT(2) | JSON_ENCODE_ANY);
    char *text = NULL;
    size_t cap = strlen(title) + (details ? strlen(details) : 0) + strlen(mid) + 1024 +
                 (subj ? strlen(subj) : 0) + strlen(n->resource) + strlen(ws);
    char *raw = subj && details ? malloc(cap) : NULL;
    if (raw) {
        snprintf(raw, cap,
                 "Date: %s\nFrom: <%s>\nTo: <%s>\nSubject: %s\nMessage-ID: <%s@switchyard>\n"
                 "X-Switchyard-Idempotency-Key: %s\nX-Switchyard-Event: %s\nMIME-Version: 1.0\n"
                 "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                 "%s%s\n\nWorkspace: %s\nResource:  %s\nEvent:     %s (%s)\n\nDetails:\n%s\n\n"
                 "-- \nswitchyard\n",
                 date, from, to, subj, mid, mid, n->event,
                 strcmp(n->action, "resolve") == 0 ? "Resolved: " : "", title, ws, n->resource,
                 n->event, n->level, details);
        text = crlf(raw);
    }
    free(raw);
    free(subj);
    free(details);
    return text;
}

/* String `k` of object `o` (NULL when absent or not a string). */
static const char *get(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int sy_notify_message(const sy_store_notification_t *n, const sy_store_channel_t *c,
                      int64_t attempt, int64_t now_s, sy_notify_message_t *out, sy_err_t *err)
{
    *out = (sy_notify_message_t){0};
    json_error_t je;
    json_t *p = json_loads(n->payload, 0, &je), *config = json_loads(c->config, 0, &je),
           *secrets = json_loads(c->secrets, 0, &je), *body = NULL;
    int rc = 0;
    if (!json_is_object(p) || !json_is_string(json_object_get(p, "title")) ||
        !json_is_object(config) || !json_is_object(secrets)) {
        rc = sy_err_set(err, -EINVAL, NULL, "notification %lld: its payload or channel is bad",
                        (long long)n->id);
        goto out;
    }
    rc = -ENOMEM;
    if (strcmp(c->type, "email") == 0) {
        out->smtp = true;
        if (!(out->url = dup_or_null(get(config, "smtp_url"))) ||
            !(out->mail_from = dup_or_null(get(config, "from"))) ||
            !(out->rcpt = dup_or_null(get(config, "to"))) ||
            !(out->body = email_text(p, n, out->mail_from, out->rcpt, now_s)) ||
            (get(config, "username") && !(out->username = strdup(get(config, "username")))) ||
            (get(secrets, "password") && !(out->password = strdup(get(secrets, "password")))))
            goto out;
        rc = 0;
        goto out;
    }
    bool webhook = strcmp(c->type, "webhook") == 0;
    if (strcmp(c->type, "slack") == 0)
        body = slack_body(p, n);
    else if (strcmp(c->type, "pagerduty") == 0)
        body = pagerduty_body(p, n, get(secrets, "routing_key") ? get(secrets, "routing_key") : "");
    else if (webhook)
        body = webhook_body(p, n, attempt, now_s);
    char ts[24];
    snprintf(ts, sizeof(ts), "%lld", (long long)now_s);
    if (!body || !(out->body = json_dumps(body, JSON_COMPACT)) ||
        !(out->url = dup_or_null(get(strcmp(c->type, "slack") == 0 ? secrets : config, "url"))) ||
        header(out, "Content-Type", "application/json") < 0 ||
        header(out, "User-Agent", "switchyard") < 0 || header(out, "Idempotency-Key", n->key) < 0 ||
        header(out, "X-Switchyard-Event", n->event) < 0)
        goto out;
    if (webhook) {
        char sig[72];
        sy_notify_sign(get(secrets, "secret") ? get(secrets, "secret") : "", out->body, sig);
        if (header(out, "X-Switchyard-Signature", sig) < 0 ||
            header(out, "X-Switchyard-Timestamp", ts) < 0)
            goto out;
    }
    rc = 0;
out:
    if (rc == -ENOMEM)
        sy_err_set(err, rc, NULL, "out of memory");
    if (rc < 0)
        sy_notify_message_free(out);
    json_decref(p);
    json_decref(config);
    json_decref(secrets);
    json_decref(body);
    return rc;
}
