/* simapi.h - kubesim's own counters, read over the API: the request log
 * (GET /kubesim/requests?since=) and the Prometheus counters (GET /metrics,
 * kubesim_requests_total{client,verb,resource,subresource,code}).
 *
 * These count what the API server saw, so a controller cannot under-report
 * its own writes. A cluster that is not kubesim answers 404 on both; the
 * helpers then return ERR_NOTFOUND and a benchmark reports those figures as
 * null.
 *
 * The log poller runs on the benchmark's loop: every interval it asks for
 * the entries after the last seq it holds (one request in flight at most)
 * and feeds them to a bench_reqlog; the ring holds 100,000 entries, so poll
 * at least a few times a second under load (losses are counted in
 * bench_reqlog.lost).
 *
 * Memory: bench_simcounts and bench_logpoll are embedded by the caller.
 * Returns: 0, ERR_NOTFOUND (not kubesim), ERR_HTTP, the transport error.
 */
#ifndef ASC_BENCH_SIMAPI_H
#define ASC_BENCH_SIMAPI_H

#include <ev.h>

#include "bench/benchlib/kc.h"
#include "bench/benchlib/reqlog.h"

#define BENCH_CONTROLLER_CLIENT "agent-sandbox-controller"

typedef struct bench_simcounts {
    double writes;   /* POST + PUT + PATCH + DELETE */
    double requests; /* every verb, watches included */
} bench_simcounts;

/* 1 when the server is kubesim (its admin endpoint /kubesim/requests
 * answers), 0 otherwise (a real cluster answers 404 or 403). */
int bench_sim_probe(bench_kc *k);

/* The counters of client from /metrics now. */
int bench_sim_counts(bench_kc *k, const char *client, bench_simcounts *out, char *err,
                     size_t errlen);
/* The raw /metrics text (caller frees). */
int bench_sim_metrics(bench_kc *k, char **text, size_t *len, char *err, size_t errlen);

/* The client's kubesim_requests_total series, keyed "VERB resource[/sub] code". */
typedef struct bench_series_ent {
    char key[160];
    int write;
    double v;
} bench_series_ent;
typedef struct bench_series {
    bench_series_ent *s;
    size_t n, cap;
} bench_series;
int bench_sim_series(bench_kc *k, const char *client, bench_series *out, char *err, size_t errlen);
/* The same from a /metrics text already read (tests). */
int bench_series_from_text(const char *text, size_t len, const char *client, bench_series *out);
void bench_series_fini(bench_series *s);
/* after - before per key (keys only in after count from 0), the non-zero
 * ones, as a new json object {key: delta} (caller puts; NULL on ENOMEM). */
json_object *bench_series_delta(const bench_series *before, const bench_series *after,
                                int writes_only);

/* After a measured phase: poll the client's write counter every 250 ms
 * until it has not moved for quiet_ms and extra(ud) (may be NULL) holds, or
 * max_ms passed (ERR_TIMEOUT: the figures are then taken anyway and the
 * caller says so). *waited_ms gets the time spent. */
int bench_sim_wait_quiet(bench_kc *k, const char *client, int quiet_ms, int max_ms,
                         bench_done_fn extra, void *ud, int64_t *waited_ms, char *why,
                         size_t whylen);

/* Set l->last_seq to the newest entry in the log now, without keeping
 * anything (the start of a measured phase). */
int bench_sim_log_skip(bench_kc *k, bench_reqlog *l, char *err, size_t errlen);
/* Fetch and feed everything after l->last_seq, blocking. */
int bench_sim_log_poll(bench_kc *k, bench_reqlog *l, char *err, size_t errlen);

typedef struct bench_logpoll {
    bench_kc *k;
    bench_reqlog *log;
    ev_timer timer;
    struct bench_logpoll_req *req; /* in flight, or NULL */
    unsigned polls, failures;
    char err[256];
} bench_logpoll;

void bench_logpoll_start(bench_logpoll *p, bench_kc *k, bench_reqlog *l, double interval_s);
void bench_logpoll_stop(bench_logpoll *p);

#endif
