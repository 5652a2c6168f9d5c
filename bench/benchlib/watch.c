/* watch.c - list, watch, resume, relist (see watch.h).
 *
 * States: LISTING (a LIST in flight, its context on the heap so that a stop
 * while it runs only orphans it) -> WATCHING (kube_watch from rv) -> on a
 * clean end: WATCHING again from the last rv; on 410: LISTING; on another
 * failure: a 200 ms retry timer, then WATCHING (or LISTING after a failed
 * LIST). */
#include "bench/benchlib/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"

#define BENCH_WATCH_MAX_FAILURES 20
#define BENCH_WATCH_RETRY_S      0.2

typedef struct bench_watch_list {
    bench_watch *w; /* NULL once orphaned */
} bench_watch_list;

static void start_list(bench_watch *w);
static void start_watch(bench_watch *w);

static void
note_rv(bench_watch *w, json_object *obj)
{
    const char *rv = jx_str(obj, "metadata.resourceVersion");
    if (rv && *rv) snprintf(w->rv, sizeof w->rv, "%s", rv);
}

static void
fail(bench_watch *w, const char *what, const char *msg)
{
    if (++w->failures > BENCH_WATCH_MAX_FAILURES) {
        w->failed = 1;
        snprintf(w->err, sizeof w->err, "%s failed %d times in a row, last: %s", what,
                 w->failures - 1, msg);
        return;
    }
    snprintf(w->err, sizeof w->err, "%s: %s", what, msg);
    ev_timer_set(&w->retry, BENCH_WATCH_RETRY_S, 0.0);
    ev_timer_start(w->k->loop, &w->retry);
}

static void
on_list(const kube_result *res, void *udata)
{
    bench_watch_list *l = udata;
    bench_watch *w = l->w;
    if (w == NULL) { /* orphaned by a stop */
        free(l);
        return;
    }
    w->list = NULL;
    free(l);
    if (w->stopped) return;
    if (res->err != 0) {
        fail(w, "LIST", res->message);
        return;
    }
    json_object *items = jx_arr(res->body, "items");
    size_t n = items ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < n; i++)
        w->cb(KUBE_ADDED, json_object_array_get_idx(items, i), w->ud);
    const char *rv = jx_str(res->body, "metadata.resourceVersion");
    snprintf(w->rv, sizeof w->rv, "%s", rv ? rv : "");
    w->relists++;
    start_watch(w);
}

static void
start_list(bench_watch *w)
{
    bench_watch_list *l = calloc(1, sizeof *l);
    if (l == NULL) {
        fail(w, "LIST", "out of memory");
        return;
    }
    l->w = w;
    kube_list_opts o = {0};
    o.label_selector = w->selector[0] ? w->selector : NULL;
    w->list = l;
    int rc = kube_list(w->k->c, w->res, w->ns[0] ? w->ns : NULL, &o, on_list, l);
    if (rc != 0) {
        w->list = NULL;
        free(l);
        fail(w, "LIST", err_str(rc));
    }
}

static void
on_event(enum kube_event_type type, json_object *obj, void *udata)
{
    bench_watch *w = udata;
    if (w->stopped) return;
    w->failures = 0;
    if (type == KUBE_BOOKMARK) {
        note_rv(w, obj);
        return;
    }
    if (type == KUBE_ERROR) return; /* the end callback follows with the code */
    note_rv(w, obj);
    w->events++;
    w->cb((int)type, obj, w->ud);
}

static void
on_end(int err, long http_status, const char *message, void *udata)
{
    bench_watch *w = udata;
    (void)http_status;
    w->w = NULL;
    if (w->stopped || err == ERR_CANCELED) return;
    w->restarts++;
    if (err == 0) {
        start_watch(w);
    } else if (err == ERR_GONE) {
        start_list(w);
    } else {
        fail(w, "WATCH", message);
    }
}

static void
start_watch(bench_watch *w)
{
    kube_list_opts o = {0};
    o.label_selector = w->selector[0] ? w->selector : NULL;
    o.resource_version = w->rv[0] ? w->rv : NULL;
    o.allow_bookmarks = 1;
    w->w = kube_watch_start(w->k->c, w->res, w->ns[0] ? w->ns : NULL, &o, on_event, on_end, w);
    if (w->w == NULL) fail(w, "WATCH", "could not start");
}

static void
on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    bench_watch *w = t->data;
    if (w->stopped) return;
    if (w->rv[0])
        start_watch(w);
    else
        start_list(w);
}

static int
watching(void *ud)
{
    bench_watch *w = ud;
    return w->w != NULL || w->failed;
}

int
bench_watch_start(bench_watch *w, bench_kc *k, const kube_resource *res, const char *ns,
                  const char *selector, bench_watch_cb cb, void *ud, int timeout_ms)
{
    memset(w, 0, sizeof *w);
    w->k = k;
    w->res = res;
    snprintf(w->ns, sizeof w->ns, "%s", ns ? ns : "");
    snprintf(w->selector, sizeof w->selector, "%s", selector ? selector : "");
    w->cb = cb;
    w->ud = ud;
    ev_timer_init(&w->retry, on_retry, BENCH_WATCH_RETRY_S, 0.0);
    w->retry.data = w;
    start_list(w);
    char why[256] = "";
    int rc = bench_kc_run_until(k, watching, w, time_mono_ms() + timeout_ms, why, sizeof why);
    if (rc == 0 && w->failed) rc = ERR_IO;
    if (rc != 0) {
        if (w->err[0] == '\0') snprintf(w->err, sizeof w->err, "%s", why);
        bench_watch_stop(w);
    }
    return rc;
}

void
bench_watch_stop(bench_watch *w)
{
    if (w->k == NULL || w->stopped) return;
    w->stopped = 1;
    ev_timer_stop(w->k->loop, &w->retry);
    if (w->list) {
        w->list->w = NULL;
        w->list = NULL;
    }
    if (w->w) kube_watch_stop(w->w); /* on_end runs now with ERR_CANCELED */
    w->w = NULL;
}
