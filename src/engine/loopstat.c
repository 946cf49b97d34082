/* loopstat.c - the stall gauge; see loopstat.h. */
#include "engine/loopstat.h"

#include <stdio.h>
#include <string.h>

const int64_t sy_loopstat_le_us[SY_LOOPSTAT_BUCKETS] = {
    50, 100, 250, 500, 1000, 2000, 5000, 10000, 50000, 100000, 1000000, INT64_MAX};

void sy_loopstat_init(sy_loopstat_t *s, const char *name, bool cpu)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->cpu = cpu;
}

/* Relaxed: a reader may see a maximum a moment late, never a torn one. */
static void raise_to(atomic_llong *max, int64_t v)
{
    if (v > atomic_load_explicit(max, memory_order_relaxed))
        atomic_store_explicit(max, v, memory_order_relaxed);
}

/* Counts the finished iteration of `us`. */
static void close_iteration(sy_loopstat_t *s, int64_t us)
{
    int b = 0;
    while (us > sy_loopstat_le_us[b])
        b++;
    atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->iterations, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, us, memory_order_relaxed);
}

void sy_loopstat_mark(sy_loopstat_t *s, int64_t start_us, int64_t now_us, int64_t cpu_us)
{
    long long gen = atomic_load_explicit(&s->reset_gen, memory_order_relaxed);
    if (gen != s->seen_gen) { /* reset meanwhile: the iteration under way is not counted */
        s->seen_gen = gen;
        s->dropping = start_us;
        s->iter_start_us = 0;
    }
    if (start_us == s->dropping) {
        s->cpu_last_us = cpu_us;
        return;
    }
    if (start_us != s->iter_start_us) {
        if (s->iter_start_us)
            close_iteration(s, s->iter_us);
        /* with no iteration before to start from, this one's CPU time starts now */
        s->cpu_base_us = s->iter_start_us || s->dropping ? s->cpu_last_us : cpu_us;
        s->dropping = 0;
        s->iter_start_us = start_us;
        s->iter_us = 0;
    }
    int64_t us = now_us - start_us;
    if (us > s->iter_us)
        s->iter_us = us;
    /* the longest is seen while it lasts, not only once the next iteration begins */
    raise_to(&s->longest_us, us);
    if (s->cpu) {
        s->cpu_last_us = cpu_us;
        raise_to(&s->longest_cpu_us, cpu_us - s->cpu_base_us);
    }
}

void sy_loopstat_read(const sy_loopstat_t *s, sy_loopstat_view_t *out)
{
    memcpy(out->name, s->name, sizeof(out->name));
    out->iterations = atomic_load_explicit(&s->iterations, memory_order_relaxed);
    out->longest_us = atomic_load_explicit(&s->longest_us, memory_order_relaxed);
    out->longest_cpu_us =
        s->cpu ? atomic_load_explicit(&s->longest_cpu_us, memory_order_relaxed) : -1;
    for (int b = 0; b < SY_LOOPSTAT_BUCKETS; b++)
        out->buckets[b] = atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
    out->sum_us = atomic_load_explicit(&s->sum_us, memory_order_relaxed);
}

void sy_loopstat_reset(sy_loopstat_t *s)
{
    atomic_store_explicit(&s->iterations, 0, memory_order_relaxed);
    atomic_store_explicit(&s->longest_us, 0, memory_order_relaxed);
    atomic_store_explicit(&s->longest_cpu_us, 0, memory_order_relaxed);
    atomic_store_explicit(&s->sum_us, 0, memory_order_relaxed);
    for (int b = 0; b < SY_LOOPSTAT_BUCKETS; b++)
        atomic_store_explicit(&s->buckets[b], 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->reset_gen, 1, memory_order_relaxed);
}
