/* test_loopstat.c - the stall gauge (engine/loopstat.h) on made-up clocks: iterations are
 * closed into the histogram when the next begins, the longest shows while it lasts, a
 * reset drops the iteration under way, and a gauge made with `cpu` keeps the longest
 * iteration's CPU time (from the previous iteration's last mark) while one without says
 * -1. */
#include "../harness.h"
#include "engine/loopstat.h"

static int64_t bucket_of(int64_t us)
{
    int b = 0;
    while (us > sy_loopstat_le_us[b])
        b++;
    return b;
}

static void iterations_close_into_the_histogram(void **state)
{
    (void)state;
    sy_loopstat_t s;
    sy_loopstat_init(&s, "worker-0", false);
    sy_loopstat_view_t v;
    /* iteration 1 from t=1000: callbacks end at 1040 and 1300 */
    sy_loopstat_mark(&s, 1000, 1040, 0);
    sy_loopstat_mark(&s, 1000, 1300, 0);
    sy_loopstat_read(&s, &v);
    assert_int_equal(v.iterations, 0);   /* still under way */
    assert_int_equal(v.longest_us, 300); /* ... but its length shows */
    /* iteration 2 from t=5000, 2500 µs: closes 1 */
    sy_loopstat_mark(&s, 5000, 7500, 0);
    /* iteration 3: closes 2 */
    sy_loopstat_mark(&s, 9000, 9010, 0);
    sy_loopstat_read(&s, &v);
    assert_string_equal(v.name, "worker-0");
    assert_int_equal(v.iterations, 2);
    assert_int_equal(v.longest_us, 2500);
    assert_int_equal(v.longest_cpu_us, -1); /* not measured */
    int64_t want[SY_LOOPSTAT_BUCKETS] = {0};
    want[bucket_of(300)]++;
    want[bucket_of(2500)]++;
    assert_memory_equal(v.buckets, want, sizeof(want));
    assert_int_equal(bucket_of(2500), 6); /* over 2 ms: the bucket the bars look past */
}

static void a_reset_starts_from_zero(void **state)
{
    (void)state;
    sy_loopstat_t s;
    sy_loopstat_init(&s, "engine", true);
    sy_loopstat_mark(&s, 100, 90000, 10);
    sy_loopstat_mark(&s, 100, 95000, 99000);
    sy_loopstat_reset(&s);
    sy_loopstat_view_t v;
    sy_loopstat_read(&s, &v);
    assert_int_equal(v.iterations, 0);
    assert_int_equal(v.longest_us, 0);
    assert_int_equal(v.longest_cpu_us, 0);
    /* the iteration that was under way is not counted when the next begins */
    sy_loopstat_mark(&s, 100, 95100, 99010);
    sy_loopstat_mark(&s, 200000, 200020, 99030);
    sy_loopstat_read(&s, &v);
    assert_int_equal(v.iterations, 0);
    assert_int_equal(v.longest_us, 20);
    assert_int_equal(v.longest_cpu_us, 20); /* from the dropped one's last mark */
}

static void cpu_time_tells_work_from_waiting(void **state)
{
    (void)state;
    sy_loopstat_t s;
    sy_loopstat_init(&s, "worker-1", true);
    sy_loopstat_view_t v;
    /* iteration 1: 5 ms on the wall clock, 200 µs on the CPU (preempted) */
    sy_loopstat_mark(&s, 1000, 1100, 50000);
    sy_loopstat_mark(&s, 1000, 6000, 50200);
    sy_loopstat_read(&s, &v);
    assert_int_equal(v.longest_us, 5000);
    assert_int_equal(v.longest_cpu_us, 200);
    /* iteration 2: 3 ms of work, counted from iteration 1's last mark (50200) */
    sy_loopstat_mark(&s, 10000, 11000, 51300);
    sy_loopstat_mark(&s, 10000, 13000, 53200);
    sy_loopstat_read(&s, &v);
    assert_int_equal(v.longest_us, 5000);
    assert_int_equal(v.longest_cpu_us, 3000);
    /* iteration 3, short: the longest stay */
    sy_loopstat_mark(&s, 20000, 20010, 53215);
    sy_loopstat_read(&s, &v);
    assert_int_equal(v.longest_cpu_us, 3000);
    assert_int_equal(v.iterations, 2);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iterations_close_into_the_histogram),
        cmocka_unit_test(a_reset_starts_from_zero),
        cmocka_unit_test(cpu_time_tells_work_from_waiting),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
