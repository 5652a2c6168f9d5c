/* testsrv.c - see testsrv.h. libmicrohttpd with a thread per connection, so
 * a delayed or held reply blocks only its own connection. The raw request
 * URI is captured by the URI log callback (MHD decodes the path before the
 * access handler sees it) and becomes the per-request state. */
#include "tests/support/testsrv.h"

#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct srule {
    testsrv_rule r; /* strings below are owned copies */
    int used;
    struct srule *next;
} srule;

struct testsrv {
    struct MHD_Daemon *d;
    int port;
    char url[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    unsigned long released, consumed;
    srule *rules, *rules_tail;
    testsrv_req **reqs;
    int nreqs, capreqs;
};

typedef struct conn_state {
    testsrv *s;
    char *uri;
    char *body;
    size_t body_len;
    int started;
} conn_state;

typedef struct stream_state {
    testsrv *s;
    testsrv_chunk *chunks; /* copied */
    int nchunks, idx;
    size_t off;
    int waited; /* the current chunk's delay/hold is done */
    int abort_at_end;
} stream_state;

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static char *
dupn(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n) memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static char *
dups(const char *p)
{
    return p ? dupn(p, strlen(p)) : NULL;
}

/* Wait for one release; 0 when released, -1 when the server stops. */
static int
wait_release(testsrv *s)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping && s->released <= s->consumed)
        pthread_cond_wait(&s->cv, &s->mu);
    if (s->stopping)
        rc = -1;
    else
        s->consumed++;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_state *st = cls;
    while (st->idx < st->nchunks) {
        testsrv_chunk *ch = &st->chunks[st->idx];
        if (!st->waited) {
            sleep_ms(ch->delay_ms);
            if (ch->hold && wait_release(st->s) != 0) return MHD_CONTENT_READER_END_WITH_ERROR;
            st->waited = 1;
        }
        if (st->off < ch->len) {
            size_t n = ch->len - st->off;
            if (n > max) n = max;
            memcpy(buf, ch->data + st->off, n);
            st->off += n;
            return (ssize_t)n;
        }
        st->idx++;
        st->off = 0;
        st->waited = 0;
    }
    return st->abort_at_end ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
}

static void
stream_free(void *cls)
{
    stream_state *st = cls;
    for (int i = 0; i < st->nchunks; i++)
        free((char *)st->chunks[i].data);
    free(st->chunks);
    free(st);
}

static void
req_free(testsrv_req *q)
{
    if (q == NULL) return;
    free(q->method);
    free(q->uri);
    free(q->path);
    free(q->body);
    for (int i = 0; i < q->nheaders; i++) {
        free(q->hname[i]);
        free(q->hval[i]);
    }
    for (int i = 0; i < q->nargs; i++) {
        free(q->aname[i]);
        free(q->aval[i]);
    }
    free(q->hname);
    free(q->hval);
    free(q->aname);
    free(q->aval);
    free(q);
}

static enum MHD_Result
collect_kv(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    testsrv_req *q = cls;
    int *n = kind == MHD_HEADER_KIND ? &q->nheaders : &q->nargs;
    char ***names = kind == MHD_HEADER_KIND ? &q->hname : &q->aname;
    char ***vals = kind == MHD_HEADER_KIND ? &q->hval : &q->aval;
    char **nn = realloc(*names, sizeof(char *) * (size_t)(*n + 1));
    if (nn == NULL) return MHD_NO;
    *names = nn;
    char **nv = realloc(*vals, sizeof(char *) * (size_t)(*n + 1));
    if (nv == NULL) return MHD_NO;
    *vals = nv;
    (*names)[*n] = dups(key);
    (*vals)[*n] = dups(value ? value : "");
    (*n)++;
    return MHD_YES;
}

static int
rule_matches(const srule *sr, const char *method, const char *path)
{
    if (sr->r.times > 0 && sr->used >= sr->r.times) return 0;
    if (sr->r.method && strcmp(sr->r.method, method) != 0) return 0;
    if (sr->r.path && strcmp(sr->r.path, path) != 0) return 0;
    return 1;
}

static void
add_headers(struct MHD_Response *resp, const char *hdrs)
{
    if (hdrs == NULL) return;
    char *copy = dups(hdrs), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        if (colon == NULL) continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        MHD_add_response_header(resp, line, v);
    }
    free(copy);
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
        const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    testsrv *s = cls;
    conn_state *cs = *con_cls;
    if (cs == NULL) return MHD_NO;
    if (!cs->started) {
        cs->started = 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        char *nb = realloc(cs->body, cs->body_len + *upload_data_size + 1);
        if (nb == NULL) return MHD_NO;
        memcpy(nb + cs->body_len, upload_data, *upload_data_size);
        cs->body = nb;
        cs->body_len += *upload_data_size;
        cs->body[cs->body_len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }

    /* the request is complete: record it */
    testsrv_req *q = calloc(1, sizeof(*q));
    if (q == NULL) return MHD_NO;
    q->method = dups(method);
    q->uri = dups(cs->uri ? cs->uri : url);
    q->path = dups(url);
    q->body = cs->body ? cs->body : dups("");
    q->body_len = cs->body_len;
    cs->body = NULL;
    q->t_ms = mono_ms();
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_kv, q);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_kv, q);

    testsrv_rule r = {0};
    int matched = 0;
    testsrv_chunk *chunks = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->nreqs == s->capreqs) {
        int cap = s->capreqs ? s->capreqs * 2 : 64;
        testsrv_req **nr = realloc(s->reqs, sizeof(*nr) * (size_t)cap);
        if (nr) {
            s->reqs = nr;
            s->capreqs = cap;
        }
    }
    if (s->nreqs < s->capreqs)
        s->reqs[s->nreqs++] = q;
    else
        req_free(q);
    for (srule *sr = s->rules; sr; sr = sr->next) {
        if (rule_matches(sr, method, url)) {
            sr->used++;
            r = sr->r;
            matched = 1;
            /* copy what the reply needs outside the lock */
            r.body = r.body ? dupn(r.body, r.body_len) : NULL;
            r.headers = dups(r.headers);
            r.content_type = dups(r.content_type);
            if (r.nchunks) {
                chunks = calloc((size_t)r.nchunks, sizeof(*chunks));
                for (int i = 0; chunks && i < r.nchunks; i++) {
                    chunks[i] = r.chunks[i];
                    chunks[i].data = dupn(r.chunks[i].data, r.chunks[i].len);
                }
            }
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);

    struct MHD_Response *resp;
    int status;
    if (!matched) {
        static const char nf[] = "no rule\n";
        resp = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
        status = 404;
    } else {
        sleep_ms(r.delay_ms);
        status = r.status ? r.status : 200;
        if (r.nchunks && chunks) {
            stream_state *st = calloc(1, sizeof(*st));
            st->s = s;
            st->chunks = chunks;
            st->nchunks = r.nchunks;
            st->abort_at_end = r.abort_at_end;
            chunks = NULL;
            resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, st,
                                                     stream_free);
        } else {
            resp = MHD_create_response_from_buffer(r.body ? r.body_len : 0,
                                                   r.body ? (void *)(uintptr_t)r.body : (void *)"",
                                                   MHD_RESPMEM_MUST_COPY);
        }
        MHD_add_response_header(resp, "Content-Type",
                                r.content_type ? r.content_type : "application/json");
        add_headers(resp, r.headers);
        free((char *)r.body);
        free((char *)r.headers);
        free((char *)r.content_type);
    }
    free(chunks);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void *
uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
    (void)con;
    conn_state *cs = calloc(1, sizeof(*cs));
    if (cs) {
        cs->s = cls;
        cs->uri = dups(uri);
    }
    return cs;
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
          enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    conn_state *cs = *con_cls;
    if (cs) {
        free(cs->uri);
        free(cs->body);
        free(cs);
    }
    *con_cls = NULL;
}

testsrv *
testsrv_start(void)
{
    testsrv *s = calloc(1, sizeof(*s));
    if (s == NULL) return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    s->d =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, handler, s, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_URI_LOG_CALLBACK,
                         uri_log, s, MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
    if (s->d == NULL) {
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
    return s;
}

void
testsrv_stop(testsrv *s)
{
    if (s == NULL) return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    MHD_stop_daemon(s->d);
    for (srule *sr = s->rules; sr;) {
        srule *next = sr->next;
        free((char *)sr->r.method);
        free((char *)sr->r.path);
        free((char *)sr->r.content_type);
        free((char *)sr->r.headers);
        free((char *)sr->r.body);
        for (int i = 0; i < sr->r.nchunks; i++)
            free((char *)sr->r.chunks[i].data);
        free((void *)sr->r.chunks);
        free(sr);
        sr = next;
    }
    for (int i = 0; i < s->nreqs; i++)
        req_free(s->reqs[i]);
    free(s->reqs);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

int
testsrv_port(const testsrv *s)
{
    return s->port;
}

const char *
testsrv_url(const testsrv *s)
{
    return s->url;
}

int
testsrv_add(testsrv *s, const testsrv_rule *r)
{
    srule *sr = calloc(1, sizeof(*sr));
    if (sr == NULL) return -1;
    sr->r = *r;
    sr->r.method = dups(r->method);
    sr->r.path = dups(r->path);
    sr->r.content_type = dups(r->content_type);
    sr->r.headers = dups(r->headers);
    if (r->body) {
        sr->r.body_len = r->body_len ? r->body_len : strlen(r->body);
        sr->r.body = dupn(r->body, sr->r.body_len);
    }
    if (r->nchunks > 0) {
        testsrv_chunk *ch = calloc((size_t)r->nchunks, sizeof(*ch));
        for (int i = 0; ch && i < r->nchunks; i++) {
            ch[i] = r->chunks[i];
            ch[i].len = r->chunks[i].len ? r->chunks[i].len
                                         : (r->chunks[i].data ? strlen(r->chunks[i].data) : 0);
            ch[i].data = dupn(r->chunks[i].data ? r->chunks[i].data : "", ch[i].len);
        }
        sr->r.chunks = ch;
    }
    pthread_mutex_lock(&s->mu);
    if (s->rules_tail)
        s->rules_tail->next = sr;
    else
        s->rules = sr;
    s->rules_tail = sr;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void
testsrv_release(testsrv *s)
{
    pthread_mutex_lock(&s->mu);
    s->released++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int
testsrv_count(testsrv *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->nreqs;
    pthread_mutex_unlock(&s->mu);
    return n;
}

const testsrv_req *
testsrv_get(testsrv *s, int i)
{
    pthread_mutex_lock(&s->mu);
    const testsrv_req *q = i >= 0 && i < s->nreqs ? s->reqs[i] : NULL;
    pthread_mutex_unlock(&s->mu);
    return q;
}

const char *
testsrv_header(const testsrv_req *q, const char *name)
{
    for (int i = 0; q && i < q->nheaders; i++)
        if (strcasecmp(q->hname[i], name) == 0) return q->hval[i];
    return NULL;
}

const char *
testsrv_arg(const testsrv_req *q, const char *name)
{
    for (int i = 0; q && i < q->nargs; i++)
        if (strcmp(q->aname[i], name) == 0) return q->aval[i];
    return NULL;
}
