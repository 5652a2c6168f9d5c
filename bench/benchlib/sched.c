/* sched.c - the send timer (see sched.h). */
#include "bench/benchlib/sched.h"

#include "core/timeutil.h"

static void
pump(bench_sched *s)
{
    double el = (double)(time_mono_ns() - s->t0_ns) / 1e9;
    while (s->next < s->n && s->off[s->next] <= el) {
        double lag = el - s->off[s->next];
        if (lag > s->max_lag_s) s->max_lag_s = lag;
        size_t i = s->next++;
        s->send(i, s->ud);
    }
    if (s->next < s->n) {
        ev_now_update(s->loop); /* the timer is relative to the loop's cached time */
        ev_timer_set(&s->timer, s->off[s->next] - el, 0.0);
        ev_timer_start(s->loop, &s->timer);
    }
}

static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    pump(t->data);
}

void
bench_sched_start(bench_sched *s, struct ev_loop *loop, const double *off, size_t n,
                  bench_send_fn send, void *ud)
{
    s->loop = loop;
    s->off = off;
    s->n = n;
    s->next = 0;
    s->max_lag_s = 0.0;
    s->send = send;
    s->ud = ud;
    ev_timer_init(&s->timer, on_timer, 0.0, 0.0);
    s->timer.data = s;
    ev_now_update(loop);
    s->t0_ns = time_mono_ns();
    pump(s);
}

void
bench_sched_stop(bench_sched *s)
{
    if (s->loop) ev_timer_stop(s->loop, &s->timer);
    s->loop = NULL;
}

int
bench_sched_done(const bench_sched *s)
{
    return s->next >= s->n;
}
