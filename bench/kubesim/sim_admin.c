/* sim_admin.c - /kubesim/... admin endpoints, targeted faults, the request
 * log and /metrics (Prometheus text).
 *
 *   POST   /kubesim/pods/<ns>/<name>/finish?exitCode=N
 *   POST   /kubesim/watches/close
 *   POST   /kubesim/compact
 *   POST   /kubesim/faults   {"verb","resource","subresource","code","count"}
 *   DELETE /kubesim/faults
 *   GET    /kubesim/requests?since=<seq>   (JSON lines)
 *   GET    /metrics */
#include "bench/kubesim/sim_state.h"
#include "bench/kubesim/sim_status.h"
#include "bench/kubesim/sim_watch.h"

#include "core/jx.h"
#include "core/timeutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sim_metrics_inc(sim_state *S, const char *series)
{
    uint64_t *c = sim_map_get(&S->metrics, series);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) return;
        sim_map_put(&S->metrics, series, c);
        if (sim_map_get(&S->metrics, series) != c) {
            free(c);
            return;
        }
    }
    (*c)++;
}

static void
reply_ok(sim_rq *rq, const char *json)
{
    sim_record(rq, 200);
    sim_conn_reply(rq->c, 200, "application/json", NULL, json, strlen(json));
}

static void
requests_get(sim_rq *rq)
{
    sim_state *S = rq->S;
    const char *since_s = sim_q(rq, "since");
    uint64_t since = since_s ? strtoull(since_s, NULL, 10) : 0;
    sim_buf b = {0};
    uint64_t first = S->log_seq >= S->log_n ? S->log_seq - S->log_n + 1 : 1;
    if (since + 1 > first) first = since + 1;
    for (uint64_t s = first; s <= S->log_seq; s++) {
        const sim_logent *e = &S->log[(s - 1) % SIM_LOG_CAP];
        char ts[40];
        time_fmt_rfc3339nano(e->time_ms * 1000000LL, ts, sizeof ts);
        sim_buf_printf(&b, "{\"seq\":%llu,\"time\":\"%s\",\"client\":", (unsigned long long)e->seq,
                       ts);
        sim_buf_json_str(&b, e->client);
        sim_buf_puts(&b, ",\"verb\":");
        sim_buf_json_str(&b, e->verb);
        sim_buf_puts(&b, ",\"resource\":");
        sim_buf_json_str(&b, e->resource);
        sim_buf_puts(&b, ",\"subresource\":");
        sim_buf_json_str(&b, e->subresource);
        sim_buf_puts(&b, ",\"namespace\":");
        sim_buf_json_str(&b, e->ns);
        sim_buf_puts(&b, ",\"name\":");
        sim_buf_json_str(&b, e->name);
        sim_buf_printf(&b, ",\"code\":%d}\n", e->code);
    }
    /* not recorded itself: reading the log must not change it */
    rq->done = 1;
    sim_conn_reply(rq->c, 200, "application/x-ndjson", NULL, b.data ? b.data : "", b.len);
    sim_buf_free(&b);
}

typedef struct {
    char **v;
    size_t n, cap;
} strvec;

static int
collect_series(void *ud, const char *key, void *val)
{
    (void)val;
    strvec *sv = ud;
    if (key[0] == '\x01') return 0; /* sim_record's label shortcuts, not series */
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 64;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v) return 1;
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = (char *)key;
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
metrics_get(sim_rq *rq)
{
    sim_state *S = rq->S;
    strvec sv = {0};
    sim_map_each(&S->metrics, collect_series, &sv);
    if (sv.n > 1) qsort(sv.v, sv.n, sizeof *sv.v, cmp_str);
    sim_buf b = {0};
    const char *last = "";
    size_t last_len = 0;
    for (size_t i = 0; i < sv.n; i++) {
        const char *brace = strchr(sv.v[i], '{');
        size_t nl = brace ? (size_t)(brace - sv.v[i]) : strlen(sv.v[i]);
        if (last_len != nl || strncmp(last, sv.v[i], nl) != 0) {
            sim_buf_printf(&b, "# TYPE %.*s counter\n", (int)nl, sv.v[i]);
            last = sv.v[i];
            last_len = nl;
        }
        uint64_t *c = sim_map_get(&S->metrics, sv.v[i]);
        sim_buf_printf(&b, "%s %llu\n", sv.v[i], (unsigned long long)(c ? *c : 0));
    }
    free(sv.v);
    sim_buf_puts(&b, "# TYPE apiserver_watch_events_total counter\n");
    for (size_t i = 0; i < S->res.n; i++) {
        sim_res *r = S->res.v[i];
        if (r->watch_events)
            sim_buf_printf(&b,
                           "apiserver_watch_events_total{group=\"%s\",kind=\"%s\",version=\"%s\"} "
                           "%llu\n",
                           r->group, r->kind, r->version, r->watch_events);
    }
    sim_buf_puts(&b, "# TYPE apiserver_watch_list_duration_seconds histogram\n");
    for (size_t i = 0; i < S->res.n; i++) {
        sim_res *r = S->res.v[i];
        if (!r->watch_lists) continue;
        const char *scope = r->namespaced ? "namespace" : "cluster";
        sim_buf_printf(&b,
                       "apiserver_watch_list_duration_seconds_bucket{group=\"%s\",resource=\"%s\","
                       "scope=\"%s\",version=\"%s\",le=\"+Inf\"} %llu\n",
                       r->group, r->plural, scope, r->version, r->watch_lists);
        sim_buf_printf(&b,
                       "apiserver_watch_list_duration_seconds_sum{group=\"%s\",resource=\"%s\","
                       "scope=\"%s\",version=\"%s\"} 0\n",
                       r->group, r->plural, scope, r->version);
        sim_buf_printf(&b,
                       "apiserver_watch_list_duration_seconds_count{group=\"%s\",resource=\"%s\","
                       "scope=\"%s\",version=\"%s\"} %llu\n",
                       r->group, r->plural, scope, r->version, r->watch_lists);
    }
    sim_buf_printf(&b, "# TYPE kubesim_watches gauge\nkubesim_watches %d\n", S->nwatches);
    sim_buf_printf(&b, "# TYPE kubesim_connections gauge\nkubesim_connections %d\n",
                   sim_http_conn_count(S->http));
    sim_buf_printf(&b, "# TYPE kubesim_resource_version gauge\nkubesim_resource_version %llu\n",
                   (unsigned long long)S->rv);
    rq->done = 1;
    sim_conn_reply(rq->c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
                   b.data ? b.data : "", b.len);
    sim_buf_free(&b);
}

static int
compact_store(void *ud, const char *key, void *val)
{
    (void)key;
    sim_state *S = ud;
    sim_store_compact(val, S->rv);
    return 0;
}

int
sim_admin_handle(sim_rq *rq)
{
    sim_state *S = rq->S;
    const char *m = rq->r->method;
    const char *p = rq->r->path;
    if (!strcmp(p, "/metrics")) {
        metrics_get(rq);
        return 1;
    }
    if (!strcmp(p, "/kubesim/watches/close") && !strcmp(m, "POST")) {
        int n = S->nwatches;
        sim_watch_close_all(S);
        char buf[64];
        snprintf(buf, sizeof buf, "{\"closed\":%d}", n);
        reply_ok(rq, buf);
        return 1;
    }
    if (!strcmp(p, "/kubesim/compact") && !strcmp(m, "POST")) {
        sim_map_each(&S->stores, compact_store, S);
        char buf[64];
        snprintf(buf, sizeof buf, "{\"resourceVersion\":\"%llu\"}", (unsigned long long)S->rv);
        reply_ok(rq, buf);
        return 1;
    }
    if (!strcmp(p, "/kubesim/faults")) {
        if (!strcmp(m, "POST")) {
            sim_fault_post(rq);
            return 1;
        }
        if (!strcmp(m, "DELETE")) {
            sim_fault_clear(S);
            reply_ok(rq, "{\"ok\":true}");
            return 1;
        }
    }
    if (!strcmp(p, "/kubesim/requests") && !strcmp(m, "GET")) {
        requests_get(rq);
        return 1;
    }
    if (!strncmp(p, "/kubesim/pods/", 14) && !strcmp(m, "POST")) {
        char ns[256], name[256], verb[32];
        if (sscanf(p + 14, "%255[^/]/%255[^/]/%31s", ns, name, verb) == 3 &&
            !strcmp(verb, "finish")) {
            const char *ec = sim_q(rq, "exitCode");
            sim_kubelet_finish(rq, ns, name, ec ? atoi(ec) : 0);
            return 1;
        }
    }
    return 0;
}
