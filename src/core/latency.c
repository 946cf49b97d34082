/* latency.c - latency histograms; see latency.h. */
#include "core/latency.h"

#include <math.h>

int sy_lat_bucket(double ms)
{
    int b = ms > 0 ? (int)(log(ms * 1000 + 1) / log(1.1)) : 0;
    return b < 0 ? 0 : b >= SY_LAT_BUCKETS ? SY_LAT_BUCKETS - 1 : b;
}

double sy_lat_quantile(const int64_t *hist, int64_t n, double q)
{
    int64_t rank = (int64_t)ceil(q * (double)n), seen = 0;
    for (int b = 0; rank > 0 && b < SY_LAT_BUCKETS; b++) {
        seen += hist[b];
        if (seen >= rank)
            return (pow(1.1, b + 1) - 1) / 1000;
    }
    return 0;
}
