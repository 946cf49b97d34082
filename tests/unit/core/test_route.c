/* test_route.c - a proxied request's domain and upstream (core/route.h): each kind of
 * rule, the first matching domain, protected and routable domains, disabled and killed
 * routes, the split over 100,000 keys within binomial error, sticky keys that never leave
 * `new` while the percentage grows, and keyword matching on word boundaries. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../harness.h"
#include "core/route.h"

static const char *const job_words[] = {"job", "hiring"};
static const sy_route_rule_t jobs_rules[] = {
    {.kind = SY_RULE_BODY_KEYWORDS, .name = "message", .words = job_words, .n_words = 2}};
static const sy_route_rule_t mobility_rules[] = {
    {.kind = SY_RULE_PATH_PREFIX, .value = "/ride"},
    {.kind = SY_RULE_HEADER, .name = "X-Domain", .value = "mobility"}};
static const sy_route_rule_t buttons_rules[] = {
    {.kind = SY_RULE_BODY_FIELD, .name = "payload.actions"}};

static sy_route_domain_t domains[] = {
    {.name = "jobs", .rules = jobs_rules, .n_rules = 1, .routable = true},
    {.name = "mobility", .rules = mobility_rules, .n_rules = 2, .protected_domain = true},
    {.name = "buttons", .rules = buttons_rules, .n_rules = 1},
};

static sy_route_policy_t policy(uint32_t bp)
{
    return (sy_route_policy_t){.name = "webhooks",
                               .enabled = true,
                               .percentage_bp = bp,
                               .domains = domains,
                               .n_domains = 3};
}

struct headers {
    const char *name, *value;
};

static const char *header(void *arg, const char *name, size_t *len)
{
    const struct headers *h = arg;
    if (!h || strcasecmp(h->name, name) != 0)
        return NULL;
    *len = strlen(h->value);
    return h->value;
}

/* A request with `path`, an optional header and a body of one string member at
 * "message" and, when `actions`, an object "payload" holding "actions". */
struct req {
    sy_route_request_t r;
    sy_value_t body, payload, actions;
    sy_member_t members[2], inner[1];
    struct headers h;
};

static void make(struct req *q, const char *path, const char *message, bool actions,
                 const char *hname, const char *hvalue)
{
    memset(q, 0, sizeof(*q));
    size_t n = 0;
    if (message)
        q->members[n++] = (sy_member_t){.key = "message", .klen = 7, .val = sy_value_cstr(message)};
    if (actions) {
        q->actions = (sy_value_t){.type = SY_ARR};
        q->inner[0] = (sy_member_t){.key = "actions", .klen = 7, .val = q->actions};
        q->payload = (sy_value_t){.type = SY_OBJ, .len = 1, .members = q->inner};
        q->members[n++] = (sy_member_t){.key = "payload", .klen = 7, .val = q->payload};
    }
    q->body = (sy_value_t){.type = SY_OBJ, .len = (uint32_t)n, .members = q->members};
    q->h = (struct headers){hname, hvalue};
    q->r = (sy_route_request_t){.path = path,
                                .path_len = strlen(path),
                                .header = header,
                                .header_arg = hname ? &q->h : NULL,
                                .body = &q->body,
                                .sticky = "user-1",
                                .sticky_len = 6};
}

static void each_rule_kind_detects_its_domain(void **state)
{
    (void)state;
    sy_route_policy_t p = policy(SY_ROUTE_BP);
    struct req q;
    make(&q, "/hook", "We are HIRING now", false, NULL, NULL);
    assert_int_equal(sy_route_decide(&p, &q.r).domain, 0);
    make(&q, "/ride/42", NULL, false, NULL, NULL);
    assert_int_equal(sy_route_decide(&p, &q.r).domain, 1);
    make(&q, "/hook", NULL, false, "x-domain", "MOBILITY");
    assert_int_equal(sy_route_decide(&p, &q.r).domain, 1);
    make(&q, "/hook", NULL, true, NULL, NULL);
    assert_int_equal(sy_route_decide(&p, &q.r).domain, 2);
    make(&q, "/hook", "nothing here", false, NULL, NULL);
    assert_int_equal(sy_route_decide(&p, &q.r).domain, -1);
    /* the first domain in written order wins: jobs' words on a ride path */
    make(&q, "/ride", "a job", false, NULL, NULL);
    assert_int_equal(sy_route_decide(&p, &q.r).domain, 0);
    /* no body read: body rules do not match */
    make(&q, "/hook", "a job", true, NULL, NULL);
    q.r.body = NULL;
    assert_int_equal(sy_route_decide(&p, &q.r).domain, -1);
}

static void keywords_match_whole_words_only(void **state)
{
    (void)state;
    sy_route_policy_t p = policy(SY_ROUTE_BP);
    const char *yes[] = {"job", "Job!", "a job.", "(hiring)", "JOB offer"};
    const char *no[] = {"jobs", "blowjob", "jobless", "hirings", "", "jo b"};
    struct req q;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        make(&q, "/", yes[i], false, NULL, NULL);
        assert_int_equal(sy_route_decide(&p, &q.r).domain, 0);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        make(&q, "/", no[i], false, NULL, NULL);
        assert_int_equal(sy_route_decide(&p, &q.r).domain, -1);
    }
}

static void protected_and_routable_domains(void **state)
{
    (void)state;
    sy_route_policy_t p = policy(SY_ROUTE_BP); /* 100 %: only the rules keep a request */
    struct req q;
    make(&q, "/ride", NULL, false, NULL, NULL);
    sy_route_decision_t d = sy_route_decide(&p, &q.r);
    assert_false(d.to_new);
    assert_int_equal(d.why, SY_ROUTE_PROTECTED);
    make(&q, "/hook", NULL, false, NULL, NULL); /* no domain */
    assert_true(sy_route_decide(&p, &q.r).to_new);
    p.routable_only = true;
    d = sy_route_decide(&p, &q.r);
    assert_false(d.to_new);
    assert_int_equal(d.why, SY_ROUTE_NOT_ROUTABLE);
    make(&q, "/hook", "job", false, NULL, NULL);
    assert_true(sy_route_decide(&p, &q.r).to_new); /* jobs is routable */
    make(&q, "/hook", NULL, true, NULL, NULL);
    assert_false(sy_route_decide(&p, &q.r).to_new); /* buttons is not */
    p.routable_only = false;
    p.enabled = false;
    d = sy_route_decide(&p, &q.r);
    assert_false(d.to_new);
    assert_int_equal(d.why, SY_ROUTE_DISABLED);
    p.enabled = true;
    p.killed = true;
    d = sy_route_decide(&p, &q.r);
    assert_false(d.to_new);
    assert_string_equal(sy_route_why_name(d.why), "kill_switch");
}

static void the_split_is_within_binomial_error(void **state)
{
    (void)state;
    const uint32_t pcts[] = {0, 1, 1000, 2500, 3333, 5000, 9999, SY_ROUTE_BP};
    enum { N = 100000 };
    for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
        sy_route_policy_t p = policy(pcts[k]);
        struct req q;
        make(&q, "/hook", NULL, false, NULL, NULL);
        int hits = 0;
        char key[32];
        for (int i = 0; i < N; i++) {
            q.r.sticky_len = (size_t)snprintf(key, sizeof(key), "user-%d", i);
            q.r.sticky = key;
            hits += sy_route_decide(&p, &q.r).to_new;
        }
        double share = pcts[k] / (double)SY_ROUTE_BP, sd = sqrt(share * (1 - share) / N);
        if (fabs(hits / (double)N - share) > 4 * sd + 1e-12)
            fail_msg("%u bp: %d of %d to new", pcts[k], hits, N);
    }
    /* without a key, the random number decides the same way */
    sy_route_policy_t p = policy(5000);
    struct req q;
    make(&q, "/hook", NULL, false, NULL, NULL);
    q.r.sticky = NULL;
    q.r.random = 0x7fffffffu;
    assert_true(sy_route_decide(&p, &q.r).to_new);
    q.r.random = 0x80000000u;
    assert_false(sy_route_decide(&p, &q.r).to_new);
}

static void a_sticky_key_never_leaves_new_as_the_percentage_grows(void **state)
{
    (void)state;
    const uint32_t steps[] = {1000, 2500, 3500, 5000, 7500, SY_ROUTE_BP};
    struct req q;
    make(&q, "/hook", NULL, false, NULL, NULL);
    char key[32];
    for (int i = 0; i < 20000; i++) {
        q.r.sticky_len = (size_t)snprintf(key, sizeof(key), "u%d", i);
        q.r.sticky = key;
        bool was = false;
        for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
            sy_route_policy_t p = policy(steps[k]);
            bool now = sy_route_decide(&p, &q.r).to_new;
            if (was && !now)
                fail_msg("key %s left new at %u bp", key, steps[k]);
            was = now;
        }
        assert_true(was); /* everyone is on new at 100 % */
    }
    /* the bucket is the hash of name and key, as flags hash theirs */
    assert_int_equal(sy_route_bucket("webhooks", "u1", 2), sy_route_bucket("webhooks", "u1", 2));
    assert_int_not_equal(sy_route_bucket("webhooks", "u1", 2), sy_route_bucket("other", "u1", 2));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_rule_kind_detects_its_domain),
        cmocka_unit_test(keywords_match_whole_words_only),
        cmocka_unit_test(protected_and_routable_domains),
        cmocka_unit_test(the_split_is_within_binomial_error),
        cmocka_unit_test(a_sticky_key_never_leaves_new_as_the_percentage_grows),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
