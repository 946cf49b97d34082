/* bench_stats.c - calls per second of each statistical test.
 *
 *   bench-stats [SECONDS_PER_CASE]     (default 0.3)
 *
 * Absolute times on a shared 2-core machine are noise; the "x ref" column is each test's
 * cost in units of one gsl_cdf_ugaussian_Q call measured in the same run, which is what
 * to compare between runs and machines. Inputs vary a little per call so nothing is
 * hoisted out of the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>

#include "core/stats.h"

static volatile double sink;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void ref_norm_q(uint64_t i)
{
    sink = gsl_cdf_ugaussian_Q(1.5 + (double)(i & 15) * 0.01);
}

static void ztest(uint64_t i)
{
    sy_binom_t c = {1200 + (int64_t)(i & 15), 10000}, t = {1300, 10000};
    sy_ztest_t r;
    sy_stats_ztest(&c, &t, SY_ALT_TWO_SIDED, true, 0.95, &r, NULL);
    sink = r.p_value;
}

static void welch(uint64_t i)
{
    sy_moments_t c = {10 + (double)(i & 15) * 1e-3, 2, 500, 0}, t = {10.3, 2.2, 480, 0};
    sy_welch_t r;
    sy_stats_welch(&c, &t, SY_ALT_TWO_SIDED, 0.95, &r, NULL);
    sink = r.p_value;
}

static void srm4(uint64_t i)
{
    int64_t obs[] = {2500 + (int64_t)(i & 15), 2480, 2530, 2490};
    double w[] = {25, 25, 25, 25};
    sy_srm_t r;
    sy_stats_srm(obs, w, 4, 0.001, &r, NULL);
    sink = r.p_value;
}

static void sample_size(uint64_t i)
{
    sy_power_plan_t plan = {0.1 + (double)(i & 15) * 1e-4, 0.05, 0.05, 0.8, 1};
    sy_sample_size_t r;
    sy_stats_sample_size(&plan, &r, NULL);
    sink = r.n_control_cohen_h;
}

static void bayes_1e3(uint64_t i)
{
    sy_binom_t c = {120 + (int64_t)(i & 15), 1000}, t = {150, 1000};
    sy_bayes_t r;
    sy_stats_bayes(&c, &t, 1, 1, &r, NULL);
    sink = r.chance_to_beat_control;
}

static void bayes_1e8(uint64_t i)
{
    sy_binom_t c = {10000000 + (int64_t)(i & 15), 100000000}, t = {10010000, 100000000};
    sy_bayes_t r;
    sy_stats_bayes(&c, &t, 1, 1, &r, NULL);
    sink = r.chance_to_beat_control;
}

static void seq_look(uint64_t i)
{
    sy_seq_cfg_t cfg = {1e-4, 0, 0.05, 5000};
    sy_binom_t c = {1000 + (int64_t)(i & 15), 10000}, t = {1100, 10000};
    sy_seq_look_t r;
    sy_stats_seq_look_prop(&cfg, &c, &t, 1, &r, NULL);
    sink = r.always_valid_p;
}

static void holm8(uint64_t i)
{
    double p[] = {0.01, 0.2, 0.03 + (double)(i & 15) * 1e-4, 0.5, 0.04, 0.001, 0.7, 0.06};
    double adj[8];
    sy_stats_holm(p, 8, adj, NULL);
    sink = adj[0];
}

struct bench {
    const char *name;
    void (*fn)(uint64_t);
};

/* Runs fn for about `seconds`; returns nanoseconds per call. */
static double measure(void (*fn)(uint64_t), double seconds)
{
    uint64_t calls = 0, batch = 16;
    double start = now_s(), elapsed;
    do {
        for (uint64_t k = 0; k < batch; k++)
            fn(calls + k);
        calls += batch;
        if (batch < (1u << 20))
            batch *= 2;
        elapsed = now_s() - start;
    } while (elapsed < seconds);
    return elapsed * 1e9 / (double)calls;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    double seconds = argc > 1 ? atof(argv[1]) : 0.3;
    if (!(seconds > 0 && seconds < 60)) {
        fprintf(stderr, "usage: bench-stats [SECONDS_PER_CASE in (0, 60)]\n");
        return 2;
    }
    static const struct bench benches[] = {
        {"ztest (pooled, two-sided)", ztest},
        {"welch", welch},
        {"srm (4 variants)", srm4},
        {"sample size (both methods)", sample_size},
        {"bayes (1e3 units/arm)", bayes_1e3},
        {"bayes (1e8 units/arm)", bayes_1e8},
        {"sequential look (proportion)", seq_look},
        {"holm (8 comparisons)", holm8},
    };
    double ref = measure(ref_norm_q, seconds);
    printf("%-32s %12s %14s %10s\n", "benchmark", "ns/call", "calls/s", "x ref");
    printf("%-32s %12.1f %14.0f %10.2f\n", "ref: gsl_cdf_ugaussian_Q", ref, 1e9 / ref, 1.0);
    for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        double ns = measure(benches[i].fn, seconds);
        printf("%-32s %12.1f %14.0f %10.2f\n", benches[i].name, ns, 1e9 / ns, ns / ref);
    }
    return 0;
}
