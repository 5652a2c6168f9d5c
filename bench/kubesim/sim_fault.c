/* sim_fault.c - fault injection: targeted failures (status + count, or a
 * share of requests), added latency, connection resets, stalled watches and
 * periodic closing of every watch. Set at start (--fault JSON, repeatable;
 * --fault-seed N) or at run time (POST/DELETE /kubesim/faults). Random
 * choices come from one seeded generator, so a run can be repeated.
 *
 * Fault object (every field optional):
 *   {"verb":"PATCH","resource":"sandboxclaims","subresource":"status",
 *    "code":500,"count":N,"percent":P,"latencyMs":L,"jitterMs":J,
 *    "resetPercent":R,"watchStallSeconds":T,"watchCloseEverySeconds":T,"seed":S}
 * verb matches the HTTP method or the metrics verb (LIST, WATCH); empty
 * verb/resource match any; subresource must match exactly. */
#include "bench/kubesim/sim_meta.h"
#include "bench/kubesim/sim_state.h"
#include "bench/kubesim/sim_status.h"

#include "core/err.h"
#include "core/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static double
rand01(sim_state *S)
{
    return (double)(sim_rand(&S->fault_rand) >> 11) / 9007199254740992.0;
}

static void
closer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sim_watch_close_all(w->data);
}

void
sim_fault_init(sim_state *S)
{
    S->fault_rand = S->cfg.fault_seed ? S->cfg.fault_seed : 1;
    ev_timer_init(&S->watch_closer, closer_cb, 0., 0.);
    S->watch_closer.data = S;
}

int
sim_fault_add(sim_state *S, json_object *b, char *err, size_t errlen)
{
    if (!b || !json_object_is_type(b, json_type_object)) {
        snprintf(err, errlen, "fault: a JSON object is required");
        return ERR_INVALID;
    }
    int code = (int)jx_int(b, "code", 0);
    int has_other = jx_get(b, "latencyMs") || jx_get(b, "resetPercent") ||
                    jx_get(b, "watchStallSeconds") || jx_get(b, "watchCloseEverySeconds");
    if (!code && !has_other) code = 500; /* part 1's {"verb","resource","code"} default */
    if (code && (code < 100 || code > 599)) {
        snprintf(err, errlen, "fault: code must be an HTTP status");
        return ERR_INVALID;
    }
    double pct = jx_get(b, "percent") ? json_object_get_double(jx_get(b, "percent")) : 100.0;
    double rpct = jx_get(b, "resetPercent") ? json_object_get_double(jx_get(b, "resetPercent")) : 0;
    if (pct < 0 || pct > 100 || rpct < 0 || rpct > 100) {
        snprintf(err, errlen, "fault: percentages are 0..100");
        return ERR_INVALID;
    }
    if (jx_get(b, "seed")) S->fault_rand = (uint64_t)jx_int(b, "seed", 1);
    int every = (int)jx_int(b, "watchCloseEverySeconds", 0);
    if (every > 0) {
        ev_timer_stop(S->loop, &S->watch_closer);
        ev_timer_set(&S->watch_closer, (double)every, (double)every);
        ev_timer_start(S->loop, &S->watch_closer);
    }
    if (!code && !jx_get(b, "latencyMs") && rpct == 0 && !jx_get(b, "watchStallSeconds"))
        return 0; /* only the watch closer */
    sim_fault *nf = realloc(S->faults, (S->nfaults + 1) * sizeof *nf);
    if (!nf) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    S->faults = nf;
    sim_fault *f = &S->faults[S->nfaults++];
    memset(f, 0, sizeof *f);
    snprintf(f->verb, sizeof f->verb, "%s", jx_str_or(b, "verb", ""));
    snprintf(f->resource, sizeof f->resource, "%s", jx_str_or(b, "resource", ""));
    snprintf(f->subresource, sizeof f->subresource, "%s", jx_str_or(b, "subresource", ""));
    f->code = code;
    f->count = (long)jx_int(b, "count", -1);
    f->percent = pct;
    f->latency_ms = (int)jx_int(b, "latencyMs", 0);
    f->jitter_ms = (int)jx_int(b, "jitterMs", 0);
    f->reset_percent = rpct;
    f->watch_stall_s = (int)jx_int(b, "watchStallSeconds", 0);
    if (f->latency_ms < 0 || f->jitter_ms < 0 || f->watch_stall_s < 0) {
        S->nfaults--;
        snprintf(err, errlen, "fault: durations must be positive");
        return ERR_INVALID;
    }
    return 0;
}

void
sim_fault_post(sim_rq *rq)
{
    const char *e = NULL;
    json_object *b = jx_parse(rq->r->body, rq->r->body_len, &e);
    char err[256];
    int rc = sim_fault_add(rq->S, b, err, sizeof err);
    json_object_put(b);
    if (rc != 0) {
        sim_reply_json(rq, rc == ERR_NOMEM ? 500 : 400, sim_status_bad_request(err), NULL);
        return;
    }
    sim_record(rq, 200);
    sim_conn_reply(rq->c, 200, "application/json", NULL, "{\"ok\":true}", 11);
}

void
sim_fault_clear(sim_state *S)
{
    free(S->faults);
    S->faults = NULL;
    S->nfaults = 0;
    ev_timer_stop(S->loop, &S->watch_closer);
}

static int
matches(const sim_fault *f, const sim_rq *rq)
{
    if (f->count == 0) return 0;
    if (f->verb[0] && strcasecmp(f->verb, rq->r->method) != 0 &&
        strcasecmp(f->verb, rq->verb ? rq->verb : "") != 0)
        return 0;
    if (f->resource[0] && (!rq->res || strcmp(f->resource, rq->res->plural) != 0)) return 0;
    return strcmp(f->subresource, rq->sub) == 0;
}

typedef struct {
    sim_state *S;
    sim_conn *c;
    sim_req *r;
    ev_timer t;
} delayed;

static void
delayed_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    delayed *d = w->data;
    sim_conn_on_close(d->c, NULL, NULL);
    d->r->deferred = 1;
    sim_api_handle(d->S, d->c, d->r);
    free(d);
}

static void
delayed_closed(void *ud, sim_conn *c)
{
    (void)c;
    delayed *d = ud;
    ev_timer_stop(d->S->loop, &d->t);
    free(d);
}

int
sim_fault_match(sim_rq *rq)
{
    sim_state *S = rq->S;
    if (rq->r->deferred) return 0; /* its latency was already added */
    for (size_t i = 0; i < S->nfaults; i++) {
        sim_fault *f = &S->faults[i];
        if (!matches(f, rq)) continue;
        if (f->reset_percent > 0 && rand01(S) * 100.0 < f->reset_percent) {
            sim_record(rq, 0);
            sim_conn_abort(rq->c);
            return 1;
        }
        if (f->latency_ms > 0) {
            delayed *d = calloc(1, sizeof *d);
            if (!d) break;
            d->S = S;
            d->c = rq->c;
            d->r = rq->r;
            double ms = f->latency_ms + (f->jitter_ms ? rand01(S) * f->jitter_ms : 0);
            ev_timer_init(&d->t, delayed_cb, ms / 1000.0, 0.);
            d->t.data = d;
            ev_timer_start(S->loop, &d->t);
            sim_conn_on_close(rq->c, delayed_closed, d);
            rq->done = 1; /* recorded when it is answered */
            return 1;
        }
        if (!f->code) continue;
        if (f->percent < 100.0 && rand01(S) * 100.0 >= f->percent) continue;
        if (f->count > 0) f->count--;
        const char *reason = f->code == 500   ? "InternalError"
                             : f->code == 429 ? "TooManyRequests"
                             : f->code == 409 ? "Conflict"
                             : f->code == 503 ? "ServiceUnavailable"
                             : f->code == 504 ? "Timeout"
                             : f->code == 404 ? "NotFound"
                             : f->code == 403 ? "Forbidden"
                                              : "InternalError";
        json_object *st = sim_status(f->code, reason, "injected fault (kubesim)", NULL);
        sim_reply_json(rq, f->code, st, f->code == 429 ? "Retry-After: 1\r\n" : NULL);
        return 1;
    }
    return 0;
}

int
sim_fault_watch_stall(sim_rq *rq)
{
    sim_state *S = rq->S;
    for (size_t i = 0; i < S->nfaults; i++)
        if (S->faults[i].watch_stall_s > 0 && matches(&S->faults[i], rq))
            return S->faults[i].watch_stall_s;
    return 0;
}
