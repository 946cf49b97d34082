/* test_evalstats.c - the serving threads' evaluation counts (http/evalstats.h): exact sums
 * over threads counting while another scrapes, the per-workspace cap with its stable
 * "other", keys that name no flag adding no series, and the request histogram. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "http/evalstats.h"

static char *scrape(sy_evalstats_set_t *set)
{
    sy_text_t t;
    sy_text_init(&t, NULL, 0);
    sy_prom_t p = {.t = &t};
    sy_evalstats_write(set, &p);
    assert_false(t.failed);
    sy_text_put(&t, "", 1);
    return t.p;
}

/* The value of the sample line that starts with `prefix`, or -1. */
static double sample(const char *text, const char *prefix)
{
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t n = strlen(prefix);
        if (strncmp(l, prefix, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    }
    return -1;
}

static sy_flag_result_t result(sy_reason_t reason, sy_flag_error_t error)
{
    return (sy_flag_result_t){.reason = reason, .error = error};
}

struct job {
    sy_evalstats_t *s;
    int n;
};

static void *count_many(void *arg)
{
    struct job *j = arg;
    sy_flag_result_t st = result(SY_REASON_STATIC, SY_FLAG_OK);
    sy_flag_result_t nf = result(SY_REASON_ERROR, SY_FLAG_NOT_FOUND);
    char key[16];
    for (int i = 0; i < j->n; i++) {
        snprintf(key, sizeof(key), "f%d", i % 50);
        sy_evalstats_count(j->s, 1 + i % 2, key, strlen(key), &st);
        if (i % 10 == 0)
            sy_evalstats_count(j->s, 1, "gone", 4, &nf);
        sy_evalstats_request(j->s, SY_OFREP_SINGLE, 1500);
    }
    return NULL;
}

static void *scrape_often(void *arg)
{
    for (int i = 0; i < 50; i++)
        free(scrape(arg));
    return NULL;
}

static void threads_sum_exactly(void **state)
{
    (void)state;
    sy_evalstats_set_t *set = sy_evalstats_set_new(1000);
    struct job jobs[3];
    pthread_t th[4];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (struct job){sy_evalstats_add(set), 20000};
        assert_non_null(jobs[i].s);
        pthread_create(&th[i], NULL, count_many, &jobs[i]);
    }
    pthread_create(&th[3], NULL, scrape_often, set);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    char *text = scrape(set);
    /* f0: i % 50 == 0 -> even i -> workspace 1; 400 per thread */
    assert_close(sample(text, "switchyard_flag_evaluations_total{workspace=\"1\",flag=\"f0\","
                              "reason=\"STATIC\"}"),
                 1200, 0, 0);
    assert_close(sample(text, "switchyard_flag_evaluations_total{workspace=\"2\",flag=\"f1\","
                              "reason=\"STATIC\"}"),
                 1200, 0, 0);
    assert_close(sample(text, "switchyard_flag_evaluation_errors_total{workspace=\"1\","
                              "code=\"FLAG_NOT_FOUND\"}"),
                 6000, 0, 0);
    assert_null(strstr(text, "flag=\"gone\"")); /* no series for a key that names no flag */
    assert_close(sample(text, "switchyard_decision_latency_seconds_count{kind=\"single\"}"), 60000,
                 0, 0);
    assert_close(sample(text, "switchyard_decision_latency_seconds_bucket{kind=\"single\","
                              "le=\"1e-06\"}"),
                 0, 0, 0);
    assert_close(sample(text, "switchyard_decision_latency_seconds_bucket{kind=\"single\","
                              "le=\"2.5e-06\"}"),
                 60000, 0, 0);
    assert_close(sample(text, "switchyard_decision_latency_seconds_sum{kind=\"single\"}"), 0.09,
                 1e-12, 0);
    free(text);
    sy_evalstats_set_free(set);
}

static void the_cap_keeps_first_comers_and_sums_the_rest(void **state)
{
    (void)state;
    sy_evalstats_set_t *set = sy_evalstats_set_new(2);
    sy_evalstats_t *a = sy_evalstats_add(set), *b = sy_evalstats_add(set);
    sy_flag_result_t st = result(SY_REASON_STATIC, SY_FLAG_OK);
    sy_flag_result_t tm = result(SY_REASON_TARGETING_MATCH, SY_FLAG_OK);
    sy_flag_result_t te = result(SY_REASON_ERROR, SY_FLAG_TYPE_MISMATCH);
    sy_evalstats_count(a, 7, "first", 5, &st);
    sy_evalstats_count(b, 7, "second", 6, &st);
    sy_evalstats_count(b, 7, "third", 5, &tm);
    sy_evalstats_count(a, 7, "fourth", 6, &tm);
    sy_evalstats_count(a, 7, "fourth", 6, &te);
    sy_evalstats_count(a, 8, "third", 5, &st); /* another workspace has its own cap */
    /* a later evaluation of "first" by another thread keeps its name */
    sy_evalstats_count(b, 7, "first", 5, &st);
    char *text = scrape(set);
    assert_close(sample(text, "switchyard_flag_evaluations_total{workspace=\"7\",flag=\"first\","
                              "reason=\"STATIC\"}"),
                 2, 0, 0);
    assert_close(sample(text, "switchyard_flag_evaluations_total{workspace=\"7\",flag=\"second\","
                              "reason=\"STATIC\"}"),
                 1, 0, 0);
    assert_close(sample(text, "switchyard_flag_evaluations_total{workspace=\"7\",flag=\"other\","
                              "reason=\"TARGETING_MATCH\"}"),
                 2, 0, 0);
    assert_close(sample(text, "switchyard_flag_evaluations_total{workspace=\"7\",flag=\"other\","
                              "reason=\"ERROR\"}"),
                 1, 0, 0);
    assert_close(sample(text, "switchyard_flag_evaluations_total{workspace=\"8\",flag=\"third\","
                              "reason=\"STATIC\"}"),
                 1, 0, 0);
    assert_close(sample(text, "switchyard_flag_evaluation_errors_total{workspace=\"7\","
                              "code=\"TYPE_MISMATCH\"}"),
                 1, 0, 0);
    assert_null(strstr(text, "flag=\"third\",reason=\"TARGETING_MATCH\""));
    assert_null(strstr(text, "flag=\"fourth\""));
    free(text);
    sy_evalstats_set_free(set);
}

static void a_flag_named_other_joins_the_others(void **state)
{
    (void)state;
    sy_evalstats_set_t *set = sy_evalstats_set_new(1);
    sy_evalstats_t *a = sy_evalstats_add(set);
    sy_flag_result_t st = result(SY_REASON_STATIC, SY_FLAG_OK);
    sy_evalstats_count(a, 1, "other", 5, &st); /* first: within the cap, still not named */
    sy_evalstats_count(a, 1, "x", 1, &st);
    sy_evalstats_count(a, 1, "x", 1, &st);
    char *text = scrape(set);
    /* one series of flag="other": "other" (1) and "x" past the cap (2) */
    const char *s =
        "switchyard_flag_evaluations_total{workspace=\"1\",flag=\"other\",reason=\"STATIC\"}";
    assert_close(sample(text, s), 3, 0, 0);
    const char *first = strstr(text, s);
    assert_null(strstr(first + 1, s));
    free(text);
    sy_evalstats_set_free(set);
}

static void a_zero_cap_names_no_flag(void **state)
{
    (void)state;
    sy_evalstats_set_t *set = sy_evalstats_set_new(0);
    sy_evalstats_t *a = sy_evalstats_add(set);
    sy_flag_result_t st = result(SY_REASON_STATIC, SY_FLAG_OK);
    for (int i = 0; i < 300; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        sy_evalstats_count(a, 1, key, strlen(key), &st);
    }
    char *text = scrape(set);
    assert_close(sample(text, "switchyard_flag_evaluations_total{workspace=\"1\",flag=\"other\","
                              "reason=\"STATIC\"}"),
                 300, 0, 0);
    assert_null(strstr(text, "flag=\"k"));
    free(text);
    sy_evalstats_set_free(set);
}

static void bulk_rows_by_index_follow_the_set(void **state)
{
    (void)state;
    sy_evalstats_set_t *set = sy_evalstats_set_new(100);
    sy_evalstats_t *a = sy_evalstats_add(set);
    sy_flag_result_t st = result(SY_REASON_STATIC, SY_FLAG_OK);
    const char *v1[] = {"a", "b", "c"}, *v2[] = {"b", "c", "d"};
    for (int round = 0; round < 10; round++)
        for (size_t i = 0; i < 3; i++)
            sy_evalstats_count_at(a, 1, 5, i, 3, v1[i], v1[i], 1, &st);
    /* the next revision moved every flag one place; so does one under the same revision
     * (the cache is checked by the flag, not trusted) */
    for (size_t i = 0; i < 3; i++)
        sy_evalstats_count_at(a, 1, 6, i, 3, v2[i], v2[i], 1, &st);
    for (size_t i = 0; i < 3; i++)
        sy_evalstats_count_at(a, 1, 6, i, 3, v1[i], v1[i], 1, &st);
    /* other workspaces in between, more than the caches */
    for (int64_t ws = 2; ws < 8; ws++)
        sy_evalstats_count_at(a, ws, 1, 0, 1, v1[0], "a", 1, &st);
    sy_evalstats_count_at(a, 1, 6, 0, 3, v1[0], "a", 1, &st);
    sy_evalstats_count(a, 1, "a", 1, &st);
    char *text = scrape(set);
    const char *want[][2] = {{"a", "13"}, {"b", "12"}, {"c", "12"}, {"d", "1"}};
    for (size_t k = 0; k < 4; k++) {
        char name[160];
        snprintf(name, sizeof(name),
                 "switchyard_flag_evaluations_total{workspace=\"1\",flag=\"%s\",reason=\"STATIC\"}",
                 want[k][0]);
        assert_close(sample(text, name), atof(want[k][1]), 0, 0);
    }
    assert_close(sample(text, "switchyard_flag_evaluations_total{workspace=\"7\",flag=\"a\","
                              "reason=\"STATIC\"}"),
                 1, 0, 0);
    free(text);
    sy_evalstats_set_free(set);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_sum_exactly),
        cmocka_unit_test(the_cap_keeps_first_comers_and_sums_the_rest),
        cmocka_unit_test(a_zero_cap_names_no_flag),
        cmocka_unit_test(a_flag_named_other_joins_the_others),
        cmocka_unit_test(bulk_rows_by_index_follow_the_set),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
