/* client.c - the client: request lifecycle, QPS limiter, retries, results.
 *
 * A request is queued (FIFO) and leaves the queue when the token bucket
 * (qps, burst; default unlimited) has a token and no libcurl callback is on
 * the stack; then http.c runs its transfer. When it completes:
 *   - 429: retried on any verb (the server did not act on it), after
 *     Retry-After when sent, else jittered exponential backoff;
 *   - 500/502/503/504 and transport failures: retried on idempotent
 *     requests only (a connect failure on any verb: nothing was sent);
 *   - timeouts and TLS failures are not retried (they would only repeat);
 * up to max_retries times. Otherwise the callback runs once with a
 * kube_result: an API Status (reason, message) when the server sent one, or
 * a one-line transport error naming the method, URL and server. */
#include "kube/internal.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BACKOFF_BASE_MS 100
#define BACKOFF_CAP_MS  5000
#define TOKEN_CHECK_MS  1000
#define RETRY_AFTER_MAX 60 /* seconds; a larger value is a misbehaving server */

/* ---- small helpers ----------------------------------------------------- */

static uint64_t
rng_next(kube_client *c)
{
    /* xorshift64*: jitter only, not security */
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 2685821657736338717ULL;
}

char *
kube__url(const kube__req *r)
{
    size_t n = strlen(r->c->server) + strlen(r->path) + 1;
    char *u = malloc(n);
    if (u) snprintf(u, n, "%s%s", r->c->server, r->path);
    return u;
}

static void
arm_kick(kube_client *c, double after_s)
{
    ev_timer_stop(c->loop, &c->kick);
    ev_timer_set(&c->kick, after_s, 0.);
    ev_timer_start(c->loop, &c->kick);
}

static void
kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    kube_client *c = w->data;
    kube__reap(c);
    kube__dispatch(c);
}

/* Bound service-account tokens rotate (the kubelet swaps the file behind a
 * symlink). Look at the file at most once a second and re-read it when its
 * identity, size or mtime changed; a failed read keeps the old token. */
static void
refresh_token(kube_client *c)
{
    if (c->token_file == NULL) return;
    int64_t now = time_mono_ms();
    if (now - c->token_read_ms < TOKEN_CHECK_MS) return;
    c->token_read_ms = now;
    struct stat st;
    if (stat(c->token_file, &st) != 0) return;
    if (st.st_ino == c->token_ino && st.st_size == c->token_size &&
        st.st_mtim.tv_sec == c->token_mtime.tv_sec && st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
        return;
    char *t = NULL;
    int rc = kube__read_file(c->token_file, &t, NULL, 1u << 20);
    if (rc != 0) {
        LOG_W("kube", "cannot re-read token file, keeping the previous token", "file=%s err=%s",
              c->token_file, err_str(rc));
        return;
    }
    c->token_ino = st.st_ino;
    c->token_size = st.st_size;
    c->token_mtime = st.st_mtim;
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
        t[--n] = '\0';
    if (c->token) {
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    c->token = t;
}

/* ---- request lifecycle --------------------------------------------------- */

kube__req *
kube__req_new(kube_client *c, const char *method, const char *path, const char *content_type,
              const char *body, size_t body_len, int idempotent)
{
    kube__req *r = calloc(1, sizeof(*r));
    if (r == NULL) return NULL;
    r->c = c;
    r->method = strdup(method);
    r->path = strdup(path);
    r->content_type = content_type ? strdup(content_type) : NULL;
    if (body) {
        r->body = malloc(body_len + 1);
        if (r->body) {
            memcpy(r->body, body, body_len);
            r->body[body_len] = '\0';
        }
        r->body_len = body_len;
    }
    if (!r->method || !r->path || (content_type && !r->content_type) || (body && !r->body)) {
        free(r->method);
        free(r->path);
        free(r->content_type);
        free(r->body);
        free(r);
        return NULL;
    }
    r->idempotent = idempotent;
    c->inflight++;
    r->next = c->live;
    if (c->live) c->live->prev = r;
    c->live = r;
    return r;
}

void
kube__req_free(kube__req *r)
{
    kube_client *c = r->c;
    if (r->prev)
        r->prev->next = r->next;
    else if (c->live == r)
        c->live = r->next;
    if (r->next) r->next->prev = r->prev;
    ev_timer_stop(c->loop, &r->backoff);
    kube__http_detach(r);
    c->inflight--;
    if (r->watch) {
        kube_watch_decoder_free(r->watch->dec);
        free(r->watch);
    }
    free(r->method);
    free(r->path);
    free(r->content_type);
    free(r->body);
    free(r->warning);
    kube__buf_fini(&r->resp);
    free(r);
}

void
kube__kick(kube_client *c)
{
    arm_kick(c, 0.);
}

void
kube__req_enqueue(kube__req *r)
{
    kube_client *c = r->c;
    r->state = KREQ_QUEUED;
    r->qnext = NULL;
    if (c->q_tail)
        c->q_tail->qnext = r;
    else
        c->q_head = r;
    c->q_tail = r;
}

static void
queue_remove(kube_client *c, kube__req *r)
{
    kube__req *prev = NULL;
    for (kube__req *q = c->q_head; q; prev = q, q = q->qnext) {
        if (q != r) continue;
        if (prev)
            prev->qnext = q->qnext;
        else
            c->q_head = q->qnext;
        if (c->q_tail == q) c->q_tail = prev;
        q->qnext = NULL;
        return;
    }
}

int
kube__req_cancel(kube__req *r)
{
    kube_client *c = r->c;
    r->canceled = 1;
    switch (r->state) {
    case KREQ_QUEUED:
        queue_remove(c, r);
        break;
    case KREQ_BACKOFF:
        ev_timer_stop(c->loop, &r->backoff);
        break;
    case KREQ_ACTIVE:
        if (c->in_curl) {
            /* curl forbids removing a handle from inside its callbacks */
            if (!r->reaping) {
                r->reaping = 1;
                r->qnext = c->reap;
                c->reap = r;
            }
            arm_kick(c, 0.);
            return 1;
        }
        kube__http_detach(r);
        break;
    default:
        break;
    }
    r->state = KREQ_DONE;
    return 0;
}

void
kube__reap(kube_client *c)
{
    if (c->in_curl) return;
    while (c->reap) {
        kube__req *r = c->reap;
        c->reap = r->qnext;
        kube__req_free(r);
    }
}

/* Complete a plain request: run its callback once, then free it. */
static void
fail_req(kube__req *r, int err, long status, const char *message)
{
    if (r->watch)
        kube__watch_end(r, err, status, message);
    else
        kube__deliver(r, err, message);
}

static void
backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    kube__req *r = w->data;
    if (r->start_err) {
        /* a transfer that could not start fails here, never inside the call
         * that queued it (kube_watch_start has already returned its handle) */
        char msg[CURL_ERROR_SIZE + 256];
        snprintf(msg, sizeof(msg), "%s %s%s: %s", r->method, r->c->server, r->path, r->errbuf);
        fail_req(r, r->start_err, 0, msg);
        return;
    }
    kube__req_enqueue(r);
    kube__dispatch(r->c);
}

void
kube__dispatch(kube_client *c)
{
    while (c->q_head && !c->closing) {
        if (c->in_curl) {
            arm_kick(c, 0.);
            return;
        }
        /* a finished request frees a slot and kicks the queue (kube__http_detach) */
        if (c->q_head->watch == NULL && c->opts.max_active > 0 &&
            c->active >= (size_t)c->opts.max_active)
            return;
        if (c->opts.qps > 0) {
            int64_t now = time_mono_ns();
            c->tokens += (double)(now - c->tokens_ns) / 1e9 * c->opts.qps;
            if (c->tokens > c->opts.burst) c->tokens = c->opts.burst;
            c->tokens_ns = now;
            if (c->tokens < 1.0) {
                arm_kick(c, (1.0 - c->tokens) / c->opts.qps);
                return;
            }
            c->tokens -= 1.0;
        }
        kube__req *r = c->q_head;
        c->q_head = r->qnext;
        if (c->q_head == NULL) c->q_tail = NULL;
        r->qnext = NULL;
        refresh_token(c);
        r->state = KREQ_ACTIVE;
        int rc = kube__http_start(r);
        if (rc != 0) {
            r->start_err = rc;
            r->state = KREQ_BACKOFF;
            ev_timer_init(&r->backoff, backoff_cb, 0., 0.);
            r->backoff.data = r;
            ev_timer_start(c->loop, &r->backoff);
        }
    }
}

static int
transport_retryable(CURLcode code, int idempotent)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return 1; /* nothing reached the server */
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return idempotent;
    default:
        return 0;
    }
}

static int
backoff_ms(kube__req *r)
{
    if (r->retry_after_s > 0) { /* honoured as sent, plus a little spread */
        int s = r->retry_after_s < RETRY_AFTER_MAX ? r->retry_after_s : RETRY_AFTER_MAX;
        return s * 1000 + (int)(rng_next(r->c) % 100);
    }
    double d = BACKOFF_BASE_MS * pow(2.0, r->attempts - 1);
    if (d > BACKOFF_CAP_MS) d = BACKOFF_CAP_MS;
    double jitter = 0.5 + (double)(rng_next(r->c) % 1000) / 1000.0; /* [0.5, 1.5) */
    return (int)(d * jitter);
}

void
kube__req_complete(kube__req *r, CURLcode code)
{
    kube_client *c = r->c;
    long status = 0, version = 0, connects = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &version);
    curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &connects);
    r->status = status;
    /* curl's enum stays inside kube/: callers see 10, 11, 20, 30 */
    r->http_version = version == CURL_HTTP_VERSION_1_0   ? 10
                      : version == CURL_HTTP_VERSION_1_1 ? 11
                      : version == CURL_HTTP_VERSION_2_0 ? 20
                      : version == CURL_HTTP_VERSION_3   ? 30
                                                         : 0;
    c->stats.connects += (uint64_t)connects;
    kube__http_detach(r);
    if (r->watch) {
        kube__watch_complete(r, code);
        return;
    }
    char msg[CURL_ERROR_SIZE + 512];
    int err = 0, retry = 0;
    msg[0] = '\0';
    if (code != CURLE_OK) {
        err = kube__transport_error(r, code, msg, sizeof(msg));
        retry = transport_retryable(code, r->idempotent);
        r->status = 0;
    } else if (status < 200 || status >= 300) {
        err = err_from_http(status);
        retry =
            status == 429 ||
            (r->idempotent && (status == 500 || status == 502 || status == 503 || status == 504));
    }
    if (retry && r->attempts <= c->opts.max_retries && !c->closing) {
        int ms = backoff_ms(r);
        c->stats.retries++;
        LOG_D("kube", "retrying request", "method=%s path=%s status=%ld attempt=%d delay_ms=%d",
              r->method, r->path, status, r->attempts, ms);
        r->state = KREQ_BACKOFF;
        ev_timer_init(&r->backoff, backoff_cb, ms / 1000.0, 0.);
        r->backoff.data = r;
        ev_timer_start(c->loop, &r->backoff);
        return;
    }
    kube__deliver(r, err, msg);
}

/* ---- client ------------------------------------------------------------- */

void
kube_client_opts_init(kube_client_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->user_agent = NULL;
    o->qps = 0;
    o->burst = 10;
    o->timeout_ms = 30000;
    o->max_retries = 5;
    o->connections = 0;
    o->http2 = 1;
}

static char *
dup_or_null(const char *s, int *oom)
{
    if (s == NULL) return NULL;
    char *d = strdup(s);
    if (d == NULL) *oom = 1;
    return d;
}

kube_client *
kube_client_new(struct ev_loop *loop, const kube_config *cfg, const kube_client_opts *opts,
                char *err, size_t errlen)
{
    char dummy[8];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (loop == NULL || cfg == NULL || cfg->server == NULL || cfg->server[0] == '\0') {
        snprintf(err, errlen, "kube client: no server configured");
        return NULL;
    }
    kube_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "kube client: out of memory");
        return NULL;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT); /* reference counted; paired in kube_client_free */
    c->loop = loop;
    if (opts)
        c->opts = *opts;
    else
        kube_client_opts_init(&c->opts);
    if (c->opts.burst <= 0) c->opts.burst = 10;
    if (c->opts.timeout_ms <= 0) c->opts.timeout_ms = 30000;
    if (c->opts.max_retries < 0) c->opts.max_retries = 5;
    c->tokens = c->opts.burst;
    c->tokens_ns = time_mono_ns();
    c->rng = (uint64_t)time_mono_ns() ^ (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ULL;
    if (c->rng == 0) c->rng = 1;
    ev_timer_init(&c->kick, kick_cb, 0., 0.);
    c->kick.data = c;

    int oom = 0;
    c->server = dup_or_null(cfg->server, &oom);
    c->ca_pem = dup_or_null(cfg->ca_pem, &oom);
    c->cert_pem = dup_or_null(cfg->client_cert_pem, &oom);
    c->key_pem = dup_or_null(cfg->client_key_pem, &oom);
    c->token = dup_or_null(cfg->token, &oom);
    c->token_file = dup_or_null(cfg->token_file, &oom);
    c->insecure = cfg->insecure_skip_tls_verify;
    const char *v = getenv("ASC_KUBE_CURL_VERBOSE");
    c->verbose = v && v[0] && strcmp(v, "0") != 0;
    c->token_read_ms = time_mono_ms(); /* the config just read it */
    struct stat tst;
    if (c->token_file && stat(c->token_file, &tst) == 0) {
        c->token_ino = tst.st_ino;
        c->token_size = tst.st_size;
        c->token_mtime = tst.st_mtim;
    }
    if (c->opts.user_agent)
        c->user_agent = dup_or_null(c->opts.user_agent, &oom);
    else
        c->user_agent = dup_or_null("agent-sandbox-controller/" ASC_VERSION, &oom);
    c->opts.user_agent = c->user_agent;
    if (oom) {
        snprintf(err, errlen, "kube client: out of memory");
        goto fail;
    }
    size_t n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/')
        c->server[--n] = '\0';
    /* Proxies from the environment apply as for client-go, which never
     * proxies loopback addresses; curl would, so add them to NO_PROXY. */
    const char *np = getenv("NO_PROXY");
    if (np == NULL || np[0] == '\0') np = getenv("no_proxy");
    size_t nplen = (np ? strlen(np) : 0) + 64;
    if ((c->noproxy = malloc(nplen)) == NULL) {
        snprintf(err, errlen, "kube client: out of memory");
        goto fail;
    }
    snprintf(c->noproxy, nplen, "%s%slocalhost,127.0.0.1,::1", np ? np : "",
             np && np[0] ? "," : "");
    if (kube__http_init(c, err, errlen) != 0) goto fail;
    return c;
fail:
    kube_client_free(c);
    return NULL;
}

void
kube_client_free(kube_client *c)
{
    if (c == NULL) return;
    c->closing = 1;
    ev_timer_stop(c->loop, &c->kick);
    kube__reap(c);
    /* Callbacks may stop other watches (freeing them), so take the head anew. */
    while (c->live) {
        kube__req *r = c->live;
        int was_canceled = r->canceled;
        kube__req_cancel(r);
        if (was_canceled) {
            kube__req_free(r);
            continue;
        }
        r->status = 0;
        fail_req(r, ERR_CANCELED, 0, "canceled: the client was shut down");
    }
    c->reap = NULL;
    kube__http_fini(c);
    if (c->tok) json_tokener_free(c->tok);
    ev_timer_stop(c->loop, &c->kick);
    free(c->server);
    free(c->noproxy);
    free(c->user_agent);
    free(c->ca_pem);
    free(c->cert_pem);
    if (c->key_pem) memset(c->key_pem, 0, strlen(c->key_pem));
    free(c->key_pem);
    if (c->token) memset(c->token, 0, strlen(c->token));
    free(c->token);
    free(c->token_file);
    free(c);
    curl_global_cleanup();
}

size_t
kube_client_inflight(const kube_client *c)
{
    return c ? c->inflight : 0;
}

void
kube_client_slim_write_responses(kube_client *c, int on)
{
    if (c) c->slim_writes = on != 0;
}

const char *
kube_client_server(const kube_client *c)
{
    return c ? c->server : NULL;
}

void
kube_client_stats(const kube_client *c, kube_stats *out)
{
    if (c)
        *out = c->stats;
    else
        memset(out, 0, sizeof(*out));
}
