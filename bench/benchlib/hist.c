/* hist.c - exact percentiles over stored samples (see hist.h). */
#include "bench/benchlib/hist.h"

#include <math.h>
#include <stdlib.h>

#include "core/err.h"

void
bench_hist_init(bench_hist *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
    h->sorted = 1;
}

void
bench_hist_fini(bench_hist *h)
{
    free(h->v);
    bench_hist_init(h);
}

int
bench_hist_add(bench_hist *h, double x)
{
    if (isnan(x)) return ERR_INVALID;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        double *v = realloc(h->v, cap * sizeof *v);
        if (v == NULL) return ERR_NOMEM;
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n++] = x;
    h->sorted = h->n <= 1;
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void
bench_hist_finish(bench_hist *h)
{
    if (!h->sorted && h->n > 1) qsort(h->v, h->n, sizeof *h->v, cmp_double);
    h->sorted = 1;
}

double
bench_hist_pct(const bench_hist *h, double p)
{
    if (h->n == 0 || !h->sorted || !(p >= 0.0 && p <= 100.0)) return NAN;
    /* rank = ceil(p/100 * n), computed so that exact products (p 50, n 10)
     * do not round up through floating-point noise. */
    double r = p / 100.0 * (double)h->n;
    double rc = ceil(r);
    if (rc - r > 1.0 - 1e-9) rc -= 1.0;
    size_t rank = rc < 1.0 ? 1 : (size_t)rc;
    if (rank > h->n) rank = h->n;
    return h->v[rank - 1];
}

double
bench_hist_max(const bench_hist *h)
{
    if (h->n == 0) return NAN;
    if (h->sorted) return h->v[h->n - 1];
    double m = h->v[0];
    for (size_t i = 1; i < h->n; i++)
        if (h->v[i] > m) m = h->v[i];
    return m;
}

double
bench_hist_mean(const bench_hist *h)
{
    if (h->n == 0) return NAN;
    double s = 0;
    for (size_t i = 0; i < h->n; i++)
        s += h->v[i];
    return s / (double)h->n;
}

size_t
bench_hist_count(const bench_hist *h)
{
    return h->n;
}
