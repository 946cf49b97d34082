/* bench_eval.c - nanoseconds per flag evaluation through the public library.
 *
 *   bench-eval FLAGS_JSON [KEYS]        (default 1000000 distinct targeting keys)
 *
 * Three cases, each timed in batches of 10,000 evaluations; the median batch gives the
 * figure (robust to a noisy neighbour on a shared machine):
 *   static   a flag without targeting
 *   rule     `if` over `and` of `==` and `>=` on context attributes
 *   split3   a 3-way `fractional`, a new targeting key for every evaluation (setting the
 *            key in the reused context is part of the cost, as it is for a caller)
 * It also checks that every key evaluated twice gets the same variant. Prints one line per
 * case, "name median_ns p90_ns evals", then "picks DIGEST" (the split3 variants of all
 * keys), for bench/eval.sh to compare with flagd-core.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "switchyard/switchyard.h"

#define BATCH 10000

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, double *batch_ns, size_t n)
{
    qsort(batch_ns, n, sizeof(*batch_ns), cmp_double);
    printf("%s %.1f %.1f %zu\n", name, batch_ns[n / 2] / BATCH, batch_ns[n * 9 / 10] / BATCH,
           n * BATCH);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-eval FLAGS_JSON [KEYS]\n");
        return 2;
    }
    size_t nkeys = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    nkeys = nkeys < BATCH ? BATCH : nkeys / BATCH * BATCH;
    sy_flags_t *flags;
    if (sy_flags_load_file(&flags, argv[1], 0, NULL) < 0) {
        fprintf(stderr, "bench-eval: cannot load %s\n", argv[1]);
        return 1;
    }
    sy_context_t *ctx;
    if (sy_context_new(&ctx) < 0)
        return 1;
    size_t nb = nkeys / BATCH;
    double *ns = calloc(nb, sizeof(*ns));
    char(*keys)[24] = malloc(nkeys * sizeof(*keys));
    char *first = malloc(nkeys);
    if (!ns || !keys || !first)
        return 1;
    if (getenv("SY_BENCH_FIXED_TIME"))
        sy_context_set_time(ctx, 1767225600);
    for (size_t i = 0; i < nkeys; i++)
        snprintf(keys[i], sizeof(keys[i]), "user-%zu", i * 7919 % 100000007);
    volatile unsigned sink = 0;

    for (size_t b = 0; b < nb; b++) {
        double t0 = now_ns();
        for (int i = 0; i < BATCH; i++)
            sink += sy_eval_bool(flags, "static", ctx, false, NULL);
        ns[b] = now_ns() - t0;
    }
    report("static", ns, nb);

    sy_context_set_string(ctx, "tier", "gold");
    for (size_t b = 0; b < nb; b++) {
        sy_context_set_number(ctx, "age", (double)(b % 40));
        double t0 = now_ns();
        for (int i = 0; i < BATCH; i++)
            sink += (unsigned)sy_eval_string(flags, "rule", ctx, "x", NULL)[0];
        ns[b] = now_ns() - t0;
    }
    report("rule", ns, nb);

    sy_context_clear(ctx);
    if (getenv("SY_BENCH_FIXED_TIME"))
        sy_context_set_time(ctx, 1767225600);
    for (size_t b = 0; b < nb; b++) {
        double t0 = now_ns();
        for (size_t i = b * BATCH; i < (b + 1) * BATCH; i++) {
            sy_context_set_targeting_key(ctx, keys[i]);
            first[i] = sy_eval_string(flags, "split3", ctx, "?", NULL)[0];
        }
        ns[b] = now_ns() - t0;
    }
    report("split3", ns, nb);

    /* FNV-1a 32 of the variant letters in key order: eval_flagd_core.js prints the same. */
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < nkeys; i++)
        h = (h ^ (unsigned char)first[i]) * 0x01000193u;
    printf("picks %08x\n", h);

    size_t counts[3] = {0}, moved = 0;
    for (size_t i = 0; i < nkeys; i++) {
        sy_context_set_targeting_key(ctx, keys[i]);
        char again = sy_eval_string(flags, "split3", ctx, "?", NULL)[0];
        moved += again != first[i];
        if (again >= 'a' && again <= 'c')
            counts[again - 'a']++;
    }
    fprintf(stderr, "split3: a %.2f%% b %.2f%% c %.2f%% (want 34/33/33), %zu keys moved\n",
            100.0 * (double)counts[0] / (double)nkeys, 100.0 * (double)counts[1] / (double)nkeys,
            100.0 * (double)counts[2] / (double)nkeys, moved);
    free(ns);
    free(keys);
    free(first);
    sy_context_free(ctx);
    sy_flags_free(flags);
    (void)sink;
    return moved ? 1 : 0;
}
