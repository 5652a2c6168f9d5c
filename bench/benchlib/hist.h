/* hist.h - latency samples with exact percentiles.
 *
 * Every sample is stored (a double, in the caller's unit, e.g. ms), so a
 * percentile is an order statistic, not a bucket estimate: after
 * bench_hist_finish() sorts the samples, bench_hist_pct(h, p) returns the
 * nearest-rank percentile, the smallest sample x such that at least p% of
 * the samples are <= x (the sample at 1-based rank ceil(p/100 * n)). p 0
 * gives the minimum, p 100 the maximum. With no samples every statistic is
 * NAN, which the JSON writer turns into null.
 *
 * Memory: the struct is embedded by the caller (bench_hist_init/_fini);
 * the sample array grows by doubling. Not thread-safe.
 * Returns: 0 or ERR_NOMEM (bench_hist_add), ERR_INVALID for a NaN sample.
 */
#ifndef ASC_BENCH_HIST_H
#define ASC_BENCH_HIST_H

#include <stddef.h>

typedef struct bench_hist {
    double *v;
    size_t n, cap;
    int sorted;
} bench_hist;

void bench_hist_init(bench_hist *h);
void bench_hist_fini(bench_hist *h);
int bench_hist_add(bench_hist *h, double x);
/* Sort the samples (needed once before bench_hist_pct; adding unsorts). */
void bench_hist_finish(bench_hist *h);
/* Nearest-rank percentile, p in [0, 100]; NAN when empty, p out of range or unsorted. */
double bench_hist_pct(const bench_hist *h, double p);
double bench_hist_max(const bench_hist *h);
double bench_hist_mean(const bench_hist *h);
size_t bench_hist_count(const bench_hist *h);

#endif
