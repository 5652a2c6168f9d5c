/* poisson.h - seeded Poisson arrivals for open-loop load.
 *
 * Arrivals of a Poisson process of rate r have independent exponential gaps
 * of mean 1/r: gap = -ln(U) / r with U uniform in (0, 1]. The generator is
 * xoshiro256** seeded through splitmix64, so a seed gives the same schedule
 * on every machine and run (a benchmark's load is reproducible; only the
 * system's answers vary).
 *
 * Open loop: the sender issues request i at offset t_i whatever happened to
 * earlier ones, and measures from the moment it actually sent, so a slow
 * server cannot slow the offered load down (no coordinated omission in the
 * rate; a late timer is reported as schedule lag by the caller).
 *
 * Memory: bench_poisson_schedule returns a malloc'd array the caller frees.
 * Returns: 0, ERR_INVALID (rate <= 0, duration < 0, not finite), ERR_NOMEM.
 */
#ifndef ASC_BENCH_POISSON_H
#define ASC_BENCH_POISSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_rng {
    uint64_t s[4];
} bench_rng;

void bench_rng_seed(bench_rng *r, uint64_t seed);
uint64_t bench_rng_next(bench_rng *r);
/* Uniform in (0, 1]: never 0, so -log() stays finite. */
double bench_rng_u01(bench_rng *r);

typedef struct bench_poisson {
    bench_rng rng;
    double rate; /* arrivals per second */
    double t;    /* offset of the last arrival, seconds */
} bench_poisson;

int bench_poisson_init(bench_poisson *p, double rate_per_s, uint64_t seed);
/* Offset in seconds (from 0) of the next arrival; strictly increasing. */
double bench_poisson_next(bench_poisson *p);

/* Every arrival offset in [0, duration_s): *out (malloc'd, may be NULL when
 * *n is 0) gets them in increasing order. */
int bench_poisson_schedule(double rate_per_s, double duration_s, uint64_t seed, double **out,
                           size_t *n);

#endif
