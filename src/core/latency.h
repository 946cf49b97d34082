/* latency.h - latency histograms: buckets 10 % wide, so that quantiles from them are
 * within 10 % of the truth at any scale, and histograms add bucket by bucket.
 *
 * Bucket b holds latencies of up to 1.1^(b+1) - 1 microseconds; SY_LAT_BUCKETS of them
 * reach about four hours. Pure; thread-safe.
 */
#ifndef SY_CORE_LATENCY_H
#define SY_CORE_LATENCY_H

#include <stdint.h>

#define SY_LAT_BUCKETS 160

/* The bucket of a latency of `ms` milliseconds (negative ones in bucket 0). */
int sy_lat_bucket(double ms);

/* The latency in ms at quantile q (0..1) of `hist` holding `n` latencies: the upper edge
 * of the bucket where it falls; 0 for an empty histogram. */
double sy_lat_quantile(const int64_t *hist, int64_t n, double q);

#endif
