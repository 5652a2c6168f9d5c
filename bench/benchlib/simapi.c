/* simapi.c - kubesim's request log and counters (see simapi.h). */
#include "bench/benchlib/simapi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benchlib/promtext.h"
#include "core/err.h"
#include "core/timeutil.h"

#define BENCH_SIM_TIMEOUT_MS 30000

static int
get_text(bench_kc *k, const char *path, bench_reply *r, char *err, size_t errlen)
{
    int rc = bench_kc_call(k, "GET", path, NULL, BENCH_SIM_TIMEOUT_MS, r);
    if (rc != 0) {
        snprintf(err, errlen, "GET %s: %s", path, r->message[0] ? r->message : err_str(rc));
        bench_reply_fini(r);
        return rc;
    }
    if (r->status == 404) {
        snprintf(err, errlen, "GET %s: 404 (not kubesim?)", path);
        bench_reply_fini(r);
        return ERR_NOTFOUND;
    }
    if (r->status != 200 || r->raw == NULL) {
        snprintf(err, errlen, "GET %s: HTTP %ld %s", path, r->status, r->message);
        bench_reply_fini(r);
        return r->status ? ERR_HTTP : ERR_IO;
    }
    return 0;
}

int
bench_sim_probe(bench_kc *k)
{
    /* a "since" beyond any seq: kubesim answers 200 with nothing */
    bench_reply r;
    int rc = bench_kc_call(k, "GET", "/kubesim/requests?since=9223372036854775807", NULL,
                           BENCH_SIM_TIMEOUT_MS, &r);
    int is = rc == 0 && r.status == 200;
    bench_reply_fini(&r);
    return is;
}

int
bench_sim_metrics(bench_kc *k, char **text, size_t *len, char *err, size_t errlen)
{
    bench_reply r;
    int rc = get_text(k, "/metrics", &r, err, errlen);
    if (rc != 0) return rc;
    *text = r.raw;
    *len = r.len;
    r.raw = NULL;
    bench_reply_fini(&r);
    return 0;
}

int
bench_sim_counts(bench_kc *k, const char *client, bench_simcounts *out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = bench_sim_metrics(k, &text, &len, err, errlen);
    if (rc != 0) return rc;
    char cl[128];
    snprintf(cl, sizeof cl, "client=%s", client);
    const char *all[] = {cl, NULL};
    const char *wr[] = {cl, "verb=POST|PUT|PATCH|DELETE", NULL};
    out->requests = bench_prom_sum(text, len, "kubesim_requests_total", all);
    out->writes = bench_prom_sum(text, len, "kubesim_requests_total", wr);
    free(text);
    return 0;
}

typedef struct {
    const char *client;
    bench_series *out;
    int rc;
} series_ctx;

static void
series_cb(const bench_prom_sample *smp, void *ud)
{
    series_ctx *c = ud;
    const char *cl = bench_prom_label(smp, "client");
    if (c->rc != 0 || cl == NULL || strcmp(cl, c->client) != 0) return;
    const char *verb = bench_prom_label(smp, "verb"), *res = bench_prom_label(smp, "resource");
    const char *sub = bench_prom_label(smp, "subresource"), *code = bench_prom_label(smp, "code");
    bench_series *o = c->out;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 32;
        bench_series_ent *v = realloc(o->s, cap * sizeof *v);
        if (v == NULL) {
            c->rc = ERR_NOMEM;
            return;
        }
        o->s = v;
        o->cap = cap;
    }
    bench_series_ent *e = &o->s[o->n++];
    snprintf(e->key, sizeof e->key, "%s %s%s%s %s", verb ? verb : "?", res ? res : "?",
             sub && *sub ? "/" : "", sub ? sub : "", code ? code : "?");
    e->write = bench_verb_is_write(bench_verb_parse(verb));
    e->v = smp->value;
}

int
bench_series_from_text(const char *text, size_t len, const char *client, bench_series *out)
{
    memset(out, 0, sizeof *out);
    series_ctx c = {client, out, 0};
    bench_prom_each(text, len, "kubesim_requests_total", series_cb, &c);
    if (c.rc != 0) bench_series_fini(out);
    return c.rc;
}

int
bench_sim_series(bench_kc *k, const char *client, bench_series *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    int rc = bench_sim_metrics(k, &text, &len, err, errlen);
    if (rc != 0) return rc;
    rc = bench_series_from_text(text, len, client, out);
    free(text);
    return rc;
}

void
bench_series_fini(bench_series *s)
{
    free(s->s);
    memset(s, 0, sizeof *s);
}

json_object *
bench_series_delta(const bench_series *before, const bench_series *after, int writes_only)
{
    json_object *o = json_object_new_object();
    if (o == NULL) return NULL;
    for (size_t i = 0; i < after->n; i++) {
        const bench_series_ent *a = &after->s[i];
        if (writes_only && !a->write) continue;
        double b = 0;
        for (size_t j = 0; before && j < before->n; j++)
            if (strcmp(before->s[j].key, a->key) == 0) b = before->s[j].v;
        /* counters of requests: whole numbers */
        long long d = llround(a->v - b);
        if (d != 0) json_object_object_add(o, a->key, json_object_new_int64(d));
    }
    return o;
}

int
bench_sim_wait_quiet(bench_kc *k, const char *client, int quiet_ms, int max_ms, bench_done_fn extra,
                     void *ud, int64_t *waited_ms, char *why, size_t whylen)
{
    int64_t t0 = time_mono_ms(), end = t0 + max_ms, changed = t0;
    bench_simcounts prev, cur;
    int rc = bench_sim_counts(k, client, &prev, why, whylen);
    while (rc == 0) {
        rc = bench_kc_sleep(k, 250, why, whylen);
        if (rc != 0) break;
        rc = bench_sim_counts(k, client, &cur, why, whylen);
        if (rc != 0) break;
        int64_t now = time_mono_ms();
        if (cur.writes != prev.writes) changed = now;
        prev = cur;
        if (now - changed >= quiet_ms && (extra == NULL || extra(ud))) break;
        if (now >= end) {
            rc = ERR_TIMEOUT;
            snprintf(why, whylen, "still writing (or the extra condition unmet) after %d ms",
                     max_ms);
        }
    }
    if (waited_ms) *waited_ms = time_mono_ms() - t0;
    return rc;
}

int
bench_sim_log_skip(bench_kc *k, bench_reqlog *l, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof path, "/kubesim/requests?since=%llu", (unsigned long long)l->last_seq);
    bench_reply r;
    int rc = get_text(k, path, &r, err, errlen);
    if (rc != 0) return rc;
    /* only the last complete line matters */
    size_t end = r.len;
    while (end > 0 && r.raw[end - 1] == '\n')
        end--;
    size_t start = end;
    while (start > 0 && r.raw[start - 1] != '\n')
        start--;
    bench_logent e;
    if (end > start && bench_logent_parse(r.raw + start, end - start, &e) == 0 &&
        e.seq > l->last_seq)
        l->last_seq = e.seq;
    bench_reply_fini(&r);
    return 0;
}

int
bench_sim_log_poll(bench_kc *k, bench_reqlog *l, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof path, "/kubesim/requests?since=%llu", (unsigned long long)l->last_seq);
    bench_reply r;
    int rc = get_text(k, path, &r, err, errlen);
    if (rc != 0) return rc;
    rc = bench_reqlog_feed(l, r.raw, r.len);
    if (rc != 0) snprintf(err, errlen, "request log: %s", err_str(rc));
    bench_reply_fini(&r);
    return rc;
}

/* ---- the poller -------------------------------------------------------------- */

typedef struct bench_logpoll_req {
    bench_logpoll *p; /* NULL once orphaned by a stop */
} bench_logpoll_req;

static void
on_poll_done(const kube_result *res, void *udata)
{
    bench_logpoll_req *q = udata;
    bench_logpoll *p = q->p;
    free(q);
    if (p == NULL) return;
    p->req = NULL;
    p->polls++;
    /* the body is ndjson: kube/ calls it ERR_PARSE, which is fine on a 200 */
    if (res->http_status == 200) {
        int rc = bench_reqlog_feed(p->log, res->raw ? res->raw : "", res->raw_len);
        if (rc != 0) {
            p->failures++;
            snprintf(p->err, sizeof p->err, "request log: %s", err_str(rc));
        }
    } else {
        p->failures++;
        snprintf(p->err, sizeof p->err, "GET /kubesim/requests: HTTP %ld %s", res->http_status,
                 res->message ? res->message : "");
    }
}

static void
on_poll_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    bench_logpoll *p = t->data;
    if (p->req) return; /* the previous poll is still running */
    bench_logpoll_req *q = malloc(sizeof *q);
    if (q == NULL) return;
    q->p = p;
    char path[64];
    snprintf(path, sizeof path, "/kubesim/requests?since=%llu",
             (unsigned long long)p->log->last_seq);
    p->req = q;
    if (kube_request(p->k->c, "GET", path, NULL, NULL, 0, 1, on_poll_done, q) != 0) {
        p->req = NULL;
        free(q);
        p->failures++;
    }
}

void
bench_logpoll_start(bench_logpoll *p, bench_kc *k, bench_reqlog *l, double interval_s)
{
    memset(p, 0, sizeof *p);
    p->k = k;
    p->log = l;
    ev_timer_init(&p->timer, on_poll_tick, interval_s, interval_s);
    p->timer.data = p;
    ev_timer_start(k->loop, &p->timer);
}

void
bench_logpoll_stop(bench_logpoll *p)
{
    if (p->k == NULL) return;
    ev_timer_stop(p->k->loop, &p->timer);
    if (p->req) p->req->p = NULL;
    p->req = NULL;
    p->k = NULL;
}
