/* test_bench_stats.c - the benchmarks' arithmetic: exact percentiles
 * (bench/benchlib/hist.h), the seeded Poisson schedule (poisson.h) and the
 * send timer that follows it (sched.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benchlib/hist.h"
#include "bench/benchlib/poisson.h"
#include "bench/benchlib/sched.h"
#include "core/err.h"
#include "core/timeutil.h"

/* ---- percentiles: nearest rank over every sample ------------------------------ */

typedef struct {
    const char *name;
    size_t n;       /* samples 1..n (in a shuffled order), or the list below */
    double list[8]; /* used when n == 0 */
    size_t nlist;
    double p;
    double want; /* NAN: expect NAN */
} pct_row;

static const pct_row pct_rows[] = {
    {"1..10 p50 is the 5th", 10, {0}, 0, 50, 5},
    {"1..10 p90 is the 9th", 10, {0}, 0, 90, 9},
    {"1..10 p91 rounds up to the 10th", 10, {0}, 0, 91, 10},
    {"1..10 p99 is the max", 10, {0}, 0, 99, 10},
    {"1..10 p0 is the min", 10, {0}, 0, 0, 1},
    {"1..10 p100 is the max", 10, {0}, 0, 100, 10},
    {"1..1000 p99.9 is the 999th (no float round-up)", 1000, {0}, 0, 99.9, 999},
    {"1..1000 p99 is the 990th", 1000, {0}, 0, 99, 990},
    {"1..1000 p50 is the 500th", 1000, {0}, 0, 50, 500},
    {"1..3 p50 is the 2nd", 3, {0}, 0, 50, 2},
    {"1..3 p66.67 is the 3rd", 3, {0}, 0, 66.67, 3},
    {"single sample at any p", 0, {7.5}, 1, 99.9, 7.5},
    {"duplicates", 0, {3, 1, 3, 3, 2}, 5, 50, 3},
    {"negative values sort", 0, {-1, -5, 2}, 3, 0, -5},
    {"empty is NaN", 0, {0}, 0, 50, NAN},
    {"p above 100 is NaN", 10, {0}, 0, 100.5, NAN},
    {"p below 0 is NaN", 10, {0}, 0, -1, NAN},
};

static void
test_pct_row(void **state)
{
    const pct_row *r = *state;
    bench_hist h;
    bench_hist_init(&h);
    if (r->n) {
        /* add in a scrambled order: 7 is coprime with the sizes used */
        for (size_t i = 0; i < r->n; i++)
            assert_int_equal(bench_hist_add(&h, (double)((i * 7) % r->n + 1)), 0);
    } else {
        for (size_t i = 0; i < r->nlist; i++)
            assert_int_equal(bench_hist_add(&h, r->list[i]), 0);
    }
    bench_hist_finish(&h);
    double got = bench_hist_pct(&h, r->p);
    if (isnan(r->want))
        assert_true(isnan(got));
    else
        assert_true(got == r->want);
    bench_hist_fini(&h);
}

static void
test_hist_misc(void **state)
{
    (void)state;
    bench_hist h;
    bench_hist_init(&h);
    assert_true(isnan(bench_hist_max(&h)));
    assert_true(isnan(bench_hist_mean(&h)));
    assert_int_equal(bench_hist_add(&h, NAN), ERR_INVALID);
    for (int i = 0; i < 5000; i++) /* grows past the first allocation */
        assert_int_equal(bench_hist_add(&h, (double)(5000 - i)), 0);
    assert_int_equal(bench_hist_count(&h), 5000);
    /* before finish: max and mean work, percentiles refuse (unsorted) */
    assert_true(bench_hist_max(&h) == 5000);
    assert_true(fabs(bench_hist_mean(&h) - 2500.5) < 1e-9);
    assert_true(isnan(bench_hist_pct(&h, 50)));
    bench_hist_finish(&h);
    assert_true(bench_hist_pct(&h, 50) == 2500);
    assert_true(bench_hist_pct(&h, 99.9) == 4995);
    /* adding unsorts again */
    assert_int_equal(bench_hist_add(&h, 0.5), 0);
    assert_true(isnan(bench_hist_pct(&h, 50)));
    bench_hist_finish(&h);
    assert_true(bench_hist_pct(&h, 0) == 0.5);
    bench_hist_fini(&h);
    assert_int_equal(bench_hist_count(&h), 0);
}

/* ---- Poisson arrivals ------------------------------------------------------------ */

typedef struct {
    const char *name;
    double rate, duration;
    uint64_t seed;
} poisson_row;

static const poisson_row poisson_rows[] = {
    {"1000/s for 100 s, seed 1", 1000, 100, 1},
    {"1000/s for 100 s, seed 42", 1000, 100, 42},
    {"50/s for 10 s (claimbench default)", 50, 10, 1},
    {"75/s for 60 s (upstream's gate)", 75, 60, 7},
    {"0.5/s for 2000 s (slow)", 0.5, 2000, 3},
};

static void
test_poisson_row(void **state)
{
    const poisson_row *r = *state;
    double *off = NULL;
    size_t n = 0;
    assert_int_equal(bench_poisson_schedule(r->rate, r->duration, r->seed, &off, &n), 0);
    double mean = r->rate * r->duration, sd = sqrt(mean);
    /* the count of a Poisson process: within 5 standard deviations */
    assert_true(fabs((double)n - mean) < 5 * sd);
    /* offsets strictly increasing, inside [0, duration) */
    for (size_t i = 0; i < n; i++) {
        assert_true(off[i] >= 0 && off[i] < r->duration);
        if (i) assert_true(off[i] > off[i - 1]);
    }
    /* exponential gaps: mean 1/rate and standard deviation 1/rate (CV 1), each
     * within 5% with this many samples */
    double s = 0, s2 = 0, prev = 0;
    for (size_t i = 0; i < n; i++) {
        double g = off[i] - prev;
        prev = off[i];
        s += g;
        s2 += g * g;
    }
    double gm = s / (double)n, gsd = sqrt(s2 / (double)n - gm * gm);
    assert_true(fabs(gm * r->rate - 1.0) < 0.05 + 5.0 / sqrt((double)n));
    assert_true(fabs(gsd / gm - 1.0) < 0.05 + 5.0 / sqrt((double)n));
    /* same seed, same schedule */
    double *again = NULL;
    size_t n2 = 0;
    assert_int_equal(bench_poisson_schedule(r->rate, r->duration, r->seed, &again, &n2), 0);
    assert_int_equal(n2, n);
    assert_memory_equal(again, off, n * sizeof *off);
    free(again);
    /* another seed, another schedule */
    assert_int_equal(bench_poisson_schedule(r->rate, r->duration, r->seed + 1, &again, &n2), 0);
    assert_true(n2 != n || memcmp(again, off, n * sizeof *off) != 0);
    free(again);
    free(off);
}

static void
test_poisson_bad_input(void **state)
{
    (void)state;
    double *off = (double *)1;
    size_t n = 99;
    assert_int_equal(bench_poisson_schedule(0, 10, 1, &off, &n), ERR_INVALID);
    assert_null(off);
    assert_int_equal(n, 0);
    assert_int_equal(bench_poisson_schedule(-1, 10, 1, &off, &n), ERR_INVALID);
    assert_int_equal(bench_poisson_schedule(NAN, 10, 1, &off, &n), ERR_INVALID);
    assert_int_equal(bench_poisson_schedule(INFINITY, 10, 1, &off, &n), ERR_INVALID);
    assert_int_equal(bench_poisson_schedule(10, -1, 1, &off, &n), ERR_INVALID);
    assert_int_equal(bench_poisson_schedule(1e9, 1e9, 1, &off, &n), ERR_INVALID);
    /* zero duration: an empty schedule, not an error */
    assert_int_equal(bench_poisson_schedule(10, 0, 1, &off, &n), 0);
    assert_int_equal(n, 0);
    assert_null(off);
    /* u01 never returns 0 (the log stays finite) and stays in (0, 1] */
    bench_rng rng;
    bench_rng_seed(&rng, 5);
    for (int i = 0; i < 100000; i++) {
        double u = bench_rng_u01(&rng);
        assert_true(u > 0.0 && u <= 1.0);
    }
}

/* ---- the send timer ------------------------------------------------------------- */

typedef struct {
    size_t order[16];
    int64_t at_ns[16];
    size_t k;
} sent_log;

static void
on_send(size_t i, void *ud)
{
    sent_log *l = ud;
    l->order[l->k] = i;
    l->at_ns[l->k] = time_mono_ns();
    l->k++;
}

static void
test_sched_follows_offsets(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(loop);
    static const double off[] = {0, 0, 0.02, 0.05, 0.05, 0.08};
    sent_log l = {0};
    bench_sched s;
    bench_sched_start(&s, loop, off, 6, on_send, &l);
    /* offset 0 items go out at start, synchronously */
    assert_int_equal(l.k, 2);
    while (!bench_sched_done(&s))
        ev_run(loop, EVRUN_ONCE);
    assert_int_equal(l.k, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(l.order[i], i);
        /* never early; late by less than a generous 200 ms on a loaded box */
        double at = (double)(l.at_ns[i] - s.t0_ns) / 1e9;
        assert_true(at >= off[i] - 1e-3);
        assert_true(at < off[i] + 0.2);
    }
    assert_true(s.max_lag_s >= 0 && s.max_lag_s < 0.2);
    bench_sched_stop(&s);
    /* a stopped schedule leaves no active watcher behind */
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0);
    ev_loop_destroy(loop);
}

#define ROWS(arr, fn)                                                                              \
    for (size_t i = 0; i < sizeof(arr) / sizeof(arr)[0]; i++)                                      \
        t[n++] = (struct CMUnitTest)                                                               \
        {                                                                                          \
            .name = (arr)[i].name, .test_func = fn, .initial_state = (void *)&(arr)[i]             \
        }

int
main(void)
{
    struct CMUnitTest t[64];
    size_t n = 0;
    ROWS(pct_rows, test_pct_row);
    ROWS(poisson_rows, test_poisson_row);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_hist_misc);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_poisson_bad_input);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_sched_follows_offsets);
    return _cmocka_run_group_tests("bench_stats", t, n, NULL, NULL);
}
