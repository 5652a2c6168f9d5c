/* kc.h - the benchmark's API client: kube/ on one libev loop, with
 * blocking helpers for the sequential parts of a run.
 *
 * A benchmark is a single thread. Its loop carries the kube client, the
 * watches (bench_watch) and the load generator's timers; the blocking
 * helpers below run that same loop until their request is answered, so
 * watches keep receiving while a benchmark waits for a reply. Every wait is
 * bounded (a deadline on CLOCK_MONOTONIC) and calls the caller's health
 * check (bench_check_fn, e.g. "are kubesim and the controller still
 * alive?") every 50 ms, so a crashed process fails the run at once with its
 * reason instead of at the deadline.
 *
 * Memory: bench_kc and bench_reply are embedded by the caller (open/close,
 * fini). Returns: 0 or a negative ERR_* (the HTTP status of a reply is in
 * bench_reply.status; the call's return code is only about transport).
 */
#ifndef ASC_BENCH_KC_H
#define ASC_BENCH_KC_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/kube.h"

struct ev_loop;

/* 0 while healthy; else a negative ERR_* and a reason in why. */
typedef int (*bench_check_fn)(void *ud, char *why, size_t whylen);

typedef struct bench_kc {
    struct ev_loop *loop;
    kube_client *c;
    kube_config cfg;
    bench_check_fn check;
    void *check_ud;
} bench_kc;

/* user_agent "claimbench/1.0": kubesim names the client "claimbench".
 * connections caps the connections to the server (<= 0: none). Over
 * HTTP/1.1 each request in flight holds one, so a burst of N requests
 * would open N sockets: with a cap the excess waits in the client for a
 * free connection (as in any client's pool), and that wait is part of the
 * latency measured from "sent". Each open watch holds one for good. */
int bench_kc_open(bench_kc *k, struct ev_loop *loop, const char *kubeconfig, const char *user_agent,
                  int connections, char *err, size_t errlen);
void bench_kc_close(bench_kc *k);

typedef struct bench_reply {
    int err;     /* kube_result.err (0 on 2xx) */
    long status; /* HTTP status, 0 when nothing arrived */
    char *raw;   /* the body, NUL-terminated (malloc'd) */
    size_t len;
    json_object *json; /* the parsed body, or NULL when it is not JSON */
    char message[512]; /* Status message or transport error */
} bench_reply;

void bench_reply_fini(bench_reply *r);

/* One request (body may be NULL; sent as application/json, or as a merge
 * patch for PATCH), run to completion. Returns 0 once a reply or a
 * transport error arrived (see out->status / out->err), ERR_TIMEOUT after
 * timeout_ms, or the health check's code. */
int bench_kc_call(bench_kc *k, const char *method, const char *path, const char *body,
                  int timeout_ms, bench_reply *out);

/* Run the loop until done(ud) returns non-zero (0), the deadline passes
 * (ERR_TIMEOUT) or the health check fails (its code, reason in why). */
typedef int (*bench_done_fn)(void *ud);
int bench_kc_run_until(bench_kc *k, bench_done_fn done, void *ud, int64_t deadline_mono_ms,
                       char *why, size_t whylen);

/* Let the loop run for ms (watches and timers keep going). 0, or the
 * health check's code. */
int bench_kc_sleep(bench_kc *k, int ms, char *why, size_t whylen);

/* POST a JSON object to path and expect 201. 0, or ERR_* with the reason
 * ("POST <path>: HTTP 409 AlreadyExists: ...") in why. */
int bench_kc_post(bench_kc *k, const char *path, const char *body, int timeout_ms, char *why,
                  size_t whylen);
/* Make namespace ns exist: *created = 1 when this call created it. */
int bench_kc_ensure_namespace(bench_kc *k, const char *ns, int *created, int timeout_ms, char *why,
                              size_t whylen);

/* POST n objects to path with at most inflight requests at once. body(i)
 * writes object i's JSON into buf and returns its length (0, or >= cap
 * when it does not fit: object i then fails without being sent).
 * on_done (may be NULL) gets each result. Returns 0 when all answered (the
 * number of failed creates in *failed, the first failure's message in why),
 * ERR_TIMEOUT, or the health check's code. */
typedef size_t (*bench_body_fn)(size_t i, char *buf, size_t cap, void *ud);
typedef void (*bench_created_fn)(size_t i, const kube_result *res, void *ud);
int bench_kc_create_many(bench_kc *k, const char *path, size_t n, size_t inflight,
                         bench_body_fn body, bench_created_fn on_done, void *ud,
                         int64_t deadline_mono_ms, size_t *failed, char *why, size_t whylen);

#endif
