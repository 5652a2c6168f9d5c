/* kc.c - blocking helpers over the asynchronous kube client (see kc.h).
 *
 * A helper that gives up (deadline, failed health check) may leave its
 * requests in flight; their contexts are heap-allocated and marked
 * orphaned, and the completion callback (which kube_client_free runs with
 * ERR_CANCELED at the latest) frees them, so nothing dangles. */
#include "bench/benchlib/kc.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/timeutil.h"

#define BENCH_CHECK_EVERY_MS 50

int
bench_kc_open(bench_kc *k, struct ev_loop *loop, const char *kubeconfig, const char *user_agent,
              int connections, char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    k->loop = loop;
    int rc = kube_config_load(kubeconfig, &k->cfg, err, errlen);
    if (rc != 0) return rc;
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.user_agent = user_agent;
    o.max_retries = 0; /* a benchmark reports failures, it does not hide them */
    o.connections = connections > 0 ? connections : 0;
    k->c = kube_client_new(loop, &k->cfg, &o, err, errlen);
    if (k->c == NULL) {
        kube_config_fini(&k->cfg);
        return ERR_CONFIG;
    }
    return 0;
}

void
bench_kc_close(bench_kc *k)
{
    if (k->c) kube_client_free(k->c);
    k->c = NULL;
    kube_config_fini(&k->cfg);
}

void
bench_reply_fini(bench_reply *r)
{
    free(r->raw);
    json_object_put(r->json);
    memset(r, 0, sizeof *r);
}

/* ---- run until ------------------------------------------------------------- */

static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents; /* only wakes ev_run(EVRUN_ONCE) */
}

int
bench_kc_run_until(bench_kc *k, bench_done_fn done, void *ud, int64_t deadline_mono_ms, char *why,
                   size_t whylen)
{
    ev_timer tick;
    ev_timer_init(&tick, on_tick, BENCH_CHECK_EVERY_MS / 1000.0, BENCH_CHECK_EVERY_MS / 1000.0);
    ev_timer_start(k->loop, &tick);
    int rc = 0;
    int64_t next_check = 0;
    for (;;) {
        if (done(ud)) break;
        int64_t now = time_mono_ms();
        if (k->check && now >= next_check) {
            rc = k->check(k->check_ud, why, whylen);
            if (rc != 0) break;
            next_check = now + BENCH_CHECK_EVERY_MS;
        }
        if (now >= deadline_mono_ms) {
            rc = ERR_TIMEOUT;
            if (why && whylen) snprintf(why, whylen, "deadline passed");
            break;
        }
        ev_run(k->loop, EVRUN_ONCE);
    }
    ev_timer_stop(k->loop, &tick);
    return rc;
}

/* ---- one call ---------------------------------------------------------------- */

typedef struct call_ctx {
    int done, orphaned;
    bench_reply r;
} call_ctx;

static void
fill_reply(bench_reply *out, const kube_result *res)
{
    out->err = res->err;
    out->status = res->http_status;
    /* kube/ reports a 2xx whose body is not JSON (ndjson, Prometheus text)
     * as ERR_PARSE; here that is a normal reply with json NULL. */
    if (out->err == ERR_PARSE && res->http_status >= 200 && res->http_status < 300) out->err = 0;
    out->raw = malloc(res->raw_len + 1);
    if (out->raw) {
        memcpy(out->raw, res->raw ? res->raw : "", res->raw_len);
        out->raw[res->raw_len] = '\0';
        out->len = res->raw_len;
    }
    out->json = res->body ? json_object_get(res->body) : NULL;
    snprintf(out->message, sizeof out->message, "%s", res->message ? res->message : "");
}

static void
on_call_done(const kube_result *res, void *udata)
{
    call_ctx *c = udata;
    if (c->orphaned) {
        free(c);
        return;
    }
    fill_reply(&c->r, res);
    c->done = 1;
}

static int
call_done(void *ud)
{
    return ((call_ctx *)ud)->done;
}

int
bench_kc_call(bench_kc *k, const char *method, const char *path, const char *body, int timeout_ms,
              bench_reply *out)
{
    memset(out, 0, sizeof *out);
    call_ctx *c = calloc(1, sizeof *c);
    if (c == NULL) return ERR_NOMEM;
    const char *ct = NULL;
    if (body)
        ct = strcmp(method, "PATCH") == 0 ? "application/merge-patch+json" : "application/json";
    int idem = strcmp(method, "POST") != 0 && strcmp(method, "PATCH") != 0;
    int rc =
        kube_request(k->c, method, path, ct, body, body ? strlen(body) : 0, idem, on_call_done, c);
    if (rc != 0) {
        free(c);
        snprintf(out->message, sizeof out->message, "%s %s: not sent: %s", method, path,
                 err_str(rc));
        return rc;
    }
    rc = bench_kc_run_until(k, call_done, c, time_mono_ms() + timeout_ms, out->message,
                            sizeof out->message);
    if (rc != 0) {
        c->orphaned = 1;
        return rc;
    }
    *out = c->r;
    free(c);
    return 0;
}

static int
never(void *ud)
{
    (void)ud;
    return 0;
}

int
bench_kc_sleep(bench_kc *k, int ms, char *why, size_t whylen)
{
    int rc = bench_kc_run_until(k, never, NULL, time_mono_ms() + ms, why, whylen);
    return rc == ERR_TIMEOUT ? 0 : rc;
}

int
bench_kc_post(bench_kc *k, const char *path, const char *body, int timeout_ms, char *why,
              size_t whylen)
{
    bench_reply r;
    int rc = bench_kc_call(k, "POST", path, body, timeout_ms, &r);
    if (rc == 0 && r.status != 201) {
        rc = r.err ? r.err : ERR_HTTP;
        snprintf(why, whylen, "POST %s: HTTP %ld: %s", path, r.status, r.message);
    } else if (rc != 0) {
        snprintf(why, whylen, "POST %s: %s", path, r.message[0] ? r.message : err_str(rc));
    }
    bench_reply_fini(&r);
    return rc;
}

int
bench_kc_ensure_namespace(bench_kc *k, const char *ns, int *created, int timeout_ms, char *why,
                          size_t whylen)
{
    *created = 0;
    char path[256], body[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", ns);
    bench_reply r;
    int rc = bench_kc_call(k, "GET", path, NULL, timeout_ms, &r);
    long status = r.status;
    if (rc != 0 || (status != 200 && status != 404)) {
        snprintf(why, whylen, "GET %s: %s", path,
                 rc ? (r.message[0] ? r.message : err_str(rc)) : r.message);
        bench_reply_fini(&r);
        return rc ? rc : ERR_HTTP;
    }
    const char *phase = status == 200 && r.json
                            ? json_object_get_string(json_object_object_get(
                                  json_object_object_get(r.json, "status"), "phase"))
                            : NULL;
    int terminating = phase && strcmp(phase, "Terminating") == 0;
    bench_reply_fini(&r);
    if (terminating) {
        snprintf(why, whylen, "namespace %s is being deleted; pick another --namespace", ns);
        return ERR_CONFLICT;
    }
    if (status == 200) return 0;
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    rc = bench_kc_post(k, "/api/v1/namespaces", body, timeout_ms, why, whylen);
    if (rc == 0) *created = 1;
    return rc;
}

/* ---- many creates -------------------------------------------------------------- */

typedef struct many_ctx {
    bench_kc *k;
    const char *path;
    size_t n, next, inflight, max_inflight, answered, failed;
    bench_body_fn body;
    bench_created_fn on_done;
    void *ud;
    int orphaned;
    char first_err[256];
    char *buf;
    size_t cap;
} many_ctx;

typedef struct many_req {
    many_ctx *m;
    size_t i;
} many_req;

static void issue(many_ctx *m);

static void
many_free(many_ctx *m)
{
    free(m->buf);
    free(m);
}

static void
on_created(const kube_result *res, void *udata)
{
    many_req *q = udata;
    many_ctx *m = q->m;
    size_t i = q->i;
    free(q);
    m->inflight--;
    if (m->orphaned) {
        if (m->inflight == 0) many_free(m);
        return;
    }
    m->answered++;
    if (res->err != 0) {
        if (m->failed++ == 0)
            snprintf(m->first_err, sizeof m->first_err, "object %zu: HTTP %ld: %s", i,
                     res->http_status, res->message ? res->message : "");
    }
    if (m->on_done) m->on_done(i, res, m->ud);
    issue(m);
}

/* A create that never left: answered as failed, and on_done hears of it
 * like of any other (so per-object bookkeeping never waits for it). */
static void
fail_local(many_ctx *m, size_t i, int rc, const char *what)
{
    m->answered++;
    if (m->failed++ == 0)
        snprintf(m->first_err, sizeof m->first_err, "object %zu: %s: %s", i, what, err_str(rc));
    kube_result res = {.err = rc, .message = what, .reason = "", .raw = ""};
    if (m->on_done) m->on_done(i, &res, m->ud);
}

static void
issue(many_ctx *m)
{
    while (m->inflight < m->max_inflight && m->next < m->n) {
        size_t i = m->next++;
        size_t len = m->body(i, m->buf, m->cap, m->ud);
        if (len == 0 || len >= m->cap) {
            fail_local(m, i, ERR_TOOLARGE, "no body (empty or too large)");
            continue;
        }
        many_req *q = malloc(sizeof *q);
        int rc = q ? 0 : ERR_NOMEM;
        if (q) {
            q->m = m;
            q->i = i;
            rc = kube_request(m->k->c, "POST", m->path, "application/json", m->buf, len, 0,
                              on_created, q);
        }
        if (rc != 0) {
            free(q);
            fail_local(m, i, rc, "not sent");
            continue;
        }
        m->inflight++;
    }
}

static int
many_done(void *ud)
{
    many_ctx *m = ud;
    return m->answered >= m->n;
}

int
bench_kc_create_many(bench_kc *k, const char *path, size_t n, size_t inflight, bench_body_fn body,
                     bench_created_fn on_done, void *ud, int64_t deadline_mono_ms, size_t *failed,
                     char *why, size_t whylen)
{
    *failed = 0;
    many_ctx *m = calloc(1, sizeof *m);
    if (m == NULL) return ERR_NOMEM;
    m->cap = 256 * 1024;
    m->buf = malloc(m->cap);
    if (m->buf == NULL) {
        free(m);
        return ERR_NOMEM;
    }
    m->k = k;
    m->path = path;
    m->n = n;
    m->max_inflight = inflight ? inflight : 1;
    m->body = body;
    m->on_done = on_done;
    m->ud = ud;
    issue(m);
    int rc = bench_kc_run_until(k, many_done, m, deadline_mono_ms, why, whylen);
    *failed = m->failed;
    if (rc == 0 && m->failed && why) snprintf(why, whylen, "%s", m->first_err);
    if (rc == ERR_TIMEOUT && why)
        snprintf(why, whylen, "%zu of %zu creates answered before the deadline", m->answered, n);
    if (m->inflight > 0) {
        m->orphaned = 1; /* the last callback frees it */
    } else {
        many_free(m);
    }
    return rc;
}
