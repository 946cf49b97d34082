/* harness.h - what every cmocka unit test binary shares.
 *
 * SY_TEST_MAIN(tests) defines main(): an optional first argument is a glob that picks
 * the tests to run (`./test_stats 'ztest_*'`), and GSL's abort-on-error handler is
 * switched off as in every switchyard program (see core/stats.h).
 */
#ifndef SY_TEST_HARNESS_H
#define SY_TEST_HARNESS_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <gsl/gsl_errno.h>

/* |got - want| <= max(abs, rel * |want|), and got is finite. */
#define assert_close(got, want, rel, abs)                                                          \
    do {                                                                                           \
        double got_ = (got), want_ = (want);                                                       \
        double tol_ = fmax((abs), (rel)*fabs(want_));                                              \
        if (!isfinite(got_) || fabs(got_ - want_) > tol_)                                          \
            fail_msg("%s = %.17g, want %.17g (tolerance %.3g)", #got, got_, want_, tol_);          \
    } while (0)

#define SY_TEST_MAIN(tests)                                                                        \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        gsl_set_error_handler_off();                                                               \
        if (argc > 1)                                                                              \
            cmocka_set_test_filter(argv[1]);                                                       \
        return cmocka_run_group_tests(tests, NULL, NULL);                                          \
    }

#endif
