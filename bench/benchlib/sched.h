/* sched.h - sends on a schedule: item i at offset off[i] seconds after
 * bench_sched_start, from a libev timer on the benchmark's loop.
 *
 * Each time the timer fires, every item whose offset has passed is sent
 * (open loop: a late timer never drops or delays the rest of the schedule,
 * it sends what is due at once) and the timer is re-armed for the next
 * offset. The largest lateness is kept in max_lag_s, so a report can show
 * when the sender itself could not keep up.
 *
 * Memory: embedded by the caller; off is borrowed and must outlive the
 * schedule. The loop's thread only.
 */
#ifndef ASC_BENCH_SCHED_H
#define ASC_BENCH_SCHED_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*bench_send_fn)(size_t i, void *ud);

typedef struct bench_sched {
    struct ev_loop *loop;
    ev_timer timer;
    const double *off;
    size_t n, next;
    int64_t t0_ns; /* CLOCK_MONOTONIC at start */
    double max_lag_s;
    bench_send_fn send;
    void *ud;
} bench_sched;

void bench_sched_start(bench_sched *s, struct ev_loop *loop, const double *off, size_t n,
                       bench_send_fn send, void *ud);
void bench_sched_stop(bench_sched *s);
/* 1 once every item was sent. */
int bench_sched_done(const bench_sched *s);

#endif
