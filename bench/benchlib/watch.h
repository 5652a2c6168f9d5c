/* watch.h - a benchmark's own view of one resource: LIST, then WATCH from
 * the list's resourceVersion, resumed from the last seen resourceVersion
 * when the server ends the stream, re-listed after 410 Gone.
 *
 * The callback gets every object (KUBE_ADDED / KUBE_MODIFIED / KUBE_DELETED;
 * a relist delivers each listed object as KUBE_ADDED), on the loop's thread,
 * with the time the event was decoded; obj is borrowed for the call. A
 * stream that fails in any other way is retried after 200 ms, up to 20
 * consecutive failures, then the watch reports itself failed (bench_watch
 * .failed, message in .err) and stays stopped.
 *
 * Memory: bench_watch is embedded by the caller; bench_watch_stop must run
 * before it goes away (and before the client is closed).
 * Returns: 0, ERR_NOMEM, or the LIST's error from bench_watch_start.
 */
#ifndef ASC_BENCH_WATCH_H
#define ASC_BENCH_WATCH_H

#include <ev.h>

#include "bench/benchlib/kc.h"

typedef void (*bench_watch_cb)(int type, json_object *obj, void *ud);

typedef struct bench_watch {
    bench_kc *k;
    const kube_resource *res;
    char ns[64];
    char selector[256];
    bench_watch_cb cb;
    void *ud;
    kube_watch *w;
    struct bench_watch_list *list; /* the LIST in flight, or NULL */
    int stopped, failed, failures;
    unsigned restarts, relists;
    uint64_t events;
    char rv[64];
    char err[256];
    ev_timer retry;
} bench_watch;

/* Blocking: the first LIST (delivered through cb) runs to completion, then
 * the watch starts. selector may be NULL. */
int bench_watch_start(bench_watch *w, bench_kc *k, const kube_resource *res, const char *ns,
                      const char *selector, bench_watch_cb cb, void *ud, int timeout_ms);
void bench_watch_stop(bench_watch *w);

#endif
