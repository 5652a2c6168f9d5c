/* poisson.c - xoshiro256** and exponential gaps (see poisson.h). */
#include "bench/benchlib/poisson.h"

#include <math.h>
#include <stdlib.h>

#include "core/err.h"

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void
bench_rng_seed(bench_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t
bench_rng_next(bench_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double
bench_rng_u01(bench_rng *r)
{
    /* 53 random bits -> (0, 1]: (k + 1) / 2^53 for k in [0, 2^53). */
    return (double)((bench_rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

int
bench_poisson_init(bench_poisson *p, double rate_per_s, uint64_t seed)
{
    if (!(rate_per_s > 0.0) || !isfinite(rate_per_s)) return ERR_INVALID;
    bench_rng_seed(&p->rng, seed);
    p->rate = rate_per_s;
    p->t = 0.0;
    return 0;
}

double
bench_poisson_next(bench_poisson *p)
{
    double gap = -log(bench_rng_u01(&p->rng)) / p->rate;
    /* u == 1 gives a gap of 0; keep the offsets strictly increasing. */
    double t = p->t + gap;
    p->t = t > p->t ? t : nextafter(p->t, INFINITY);
    return p->t;
}

int
bench_poisson_schedule(double rate_per_s, double duration_s, uint64_t seed, double **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    bench_poisson p;
    if (!(duration_s >= 0.0) || !isfinite(duration_s) || bench_poisson_init(&p, rate_per_s, seed))
        return ERR_INVALID;
    /* Room for the mean plus six standard deviations; grow if exceeded. */
    double mean = rate_per_s * duration_s;
    if (mean > 1e8) return ERR_INVALID; /* 800 MB of offsets: not a benchmark run */
    size_t cap = (size_t)(mean + 6.0 * sqrt(mean) + 16.0);
    double *v = malloc(cap * sizeof *v);
    if (v == NULL) return ERR_NOMEM;
    size_t k = 0;
    for (;;) {
        double t = bench_poisson_next(&p);
        if (t >= duration_s) break;
        if (k == cap) {
            double *nv = realloc(v, cap * 2 * sizeof *v);
            if (nv == NULL) {
                free(v);
                return ERR_NOMEM;
            }
            v = nv;
            cap *= 2;
        }
        v[k++] = t;
    }
    if (k == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = k;
    return 0;
}
