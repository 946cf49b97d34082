/* cuped_core.c - core/stats's CUPED over units read from stdin, for tests/integration/cuped.sh
 * to hold against statsmodels' OLS.
 *
 * Input: one unit a line, "ARM X Y": ARM its arm's index (0 is control, up to 15), X its
 * covariate or "-" for none (counted as 0, as the engine counts it), Y its outcome.
 * Output: for each treatment with units, "ARM DIFF SE THETA" (%.17g), or "ARM error CODE"
 * when sy_stats_cuped refuses. Exits 2 on input it cannot read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "core/err.h"
#include "core/stats.h"

#define ARMS 16

int main(void)
{
    gsl_set_error_handler_off();
    static sy_comoments_t arms[ARMS];
    size_t n = 0;
    char line[256], xs[64];
    int arm;
    double y;
    while (fgets(line, sizeof(line), stdin)) {
        if (sscanf(line, "%d %63s %lf", &arm, xs, &y) != 3 || arm < 0 || arm >= ARMS) {
            fprintf(stderr, "cuped_core: cannot read: %s", line);
            return 2;
        }
        double x = strcmp(xs, "-") == 0 ? 0 : strtod(xs, NULL);
        sy_comoments_add(&arms[arm], x, y);
        if ((size_t)arm + 1 > n)
            n = (size_t)arm + 1;
    }
    if (n < 2) {
        fprintf(stderr, "cuped_core: fewer than 2 arms\n");
        return 2;
    }
    for (size_t t = 1; t < n; t++) {
        if (arms[t].n == 0)
            continue;
        sy_cuped_t r;
        sy_err_t err;
        int rc = sy_stats_cuped(arms, n, 0, t, 0.95, &r, &err);
        if (rc < 0)
            printf("%zu error %s\n", t, sy_err_name(rc));
        else
            printf("%zu %.17g %.17g %.17g\n", t, r.diff, r.se, r.theta);
    }
    return 0;
}
