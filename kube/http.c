/* http.c - libcurl multi on libev (style.md §4 and §12).
 *
 * curl says which sockets and which single deadline it cares about; libev
 * watches them; each libev event goes back through curl_multi_socket_action,
 * then the drain (check_multi_info) completes finished transfers. No
 * curl_multi_perform, no polling.
 *
 *   sock_cb        curl -> which fd, which events: one kube__sock per fd,
 *                  attached with curl_multi_assign
 *   multi_timer_cb curl -> the one deadline: (re)arm c->curl_timer
 *   io_cb          libev fd ready -> curl_multi_socket_action(fd)
 *   timer_cb       libev deadline -> curl_multi_socket_action(TIMEOUT)
 *   check_multi_info  CURLMSG_DONE -> kube__req_complete
 *
 * Per transfer state rides in CURLOPT_PRIVATE (the kube__req). User code runs
 * from the drain (outside curl) except watch events, which are decoded in
 * the write callback; c->in_curl marks that window so that requests started
 * or stopped from an event callback are deferred (curl forbids adding or
 * removing handles inside its callbacks). */
#include "kube/internal.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
kube__buf_add(kube__buf *b, const char *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) return ERR_NOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

void
kube__buf_fini(kube__buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static void
check_multi_info(kube_client *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        kube__req *r = NULL;
        CURLcode code = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r == NULL || r->canceled) continue; /* the reap list removes it */
        kube__req_complete(r, code);
    }
    kube__reap(c);
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    kube__sock *s = w->data;
    kube_client *c = s->c;
    curl_socket_t fd = s->fd; /* s may be freed by sock_cb during the call */
    int action =
        (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running = 0;
    curl_multi_socket_action(c->multi, fd, action, &running);
    /* Unlike the curl demo we do not stop the timer when nothing runs: the
     * drain may have just added transfers, and curl re-arms it itself. */
    check_multi_info(c);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    kube_client *c = w->data;
    int running = 0;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(c);
}

static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    kube_client *c = userp;
    ev_timer_stop(c->loop, &c->curl_timer);
    if (timeout_ms >= 0) {
        /* ms / 1000.0: integer division would round deadlines down to seconds */
        ev_timer_set(&c->curl_timer, (double)timeout_ms / 1000.0, 0.);
        ev_timer_start(c->loop, &c->curl_timer);
    }
    return 0;
}

static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    (void)easy;
    kube_client *c = userp;
    kube__sock *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            ev_io_stop(c->loop, &s->io);
            if (s->prev)
                s->prev->next = s->next;
            else
                c->socks = s->next;
            if (s->next) s->next->prev = s->prev;
            free(s);
            curl_multi_assign(c->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL) return -1;
        s->fd = fd;
        s->c = c;
        s->next = c->socks;
        if (c->socks) c->socks->prev = s;
        c->socks = s;
        curl_multi_assign(c->multi, fd, s);
    } else {
        ev_io_stop(c->loop, &s->io); /* an active watcher must not be modified */
    }
    int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    ev_io_init(&s->io, io_cb, fd, events);
    s->io.data = s;
    if (events) ev_io_start(c->loop, &s->io);
    return 0;
}

int
kube__http_init(kube_client *c, char *err, size_t errlen)
{
    c->multi = curl_multi_init();
    if (c->multi == NULL) {
        snprintf(err, errlen, "curl_multi_init failed");
        return ERR_NOMEM;
    }
    ev_timer_init(&c->curl_timer, timer_cb, 0., 0.);
    c->curl_timer.data = c;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    if (c->opts.connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->opts.connections);
    return 0;
}

void
kube__http_fini(kube_client *c)
{
    /* The socket callback may still fire during cleanup: the loop and the
     * socket structs must outlive it; whatever curl did not remove goes after. */
    if (c->multi) curl_multi_cleanup(c->multi);
    c->multi = NULL;
    while (c->socks) {
        kube__sock *s = c->socks;
        c->socks = s->next;
        ev_io_stop(c->loop, &s->io);
        free(s);
    }
    ev_timer_stop(c->loop, &c->curl_timer);
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    kube__req *r = userp;
    size_t n = size * nmemb;
    if (r->canceled) return 0; /* aborts the transfer; the reap list frees it */
    r->c->stats.bytes_in += n;
    if (r->watch) {
        r->c->in_curl++;
        size_t rc = kube__watch_write(r, data, n);
        r->c->in_curl--;
        return rc;
    }
    if (kube__buf_add(&r->resp, data, n) != 0) return 0;
    return n;
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    kube__req *r = userp;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue or a redirect): forget the last */
        r->retry_after_s = 0;
        free(r->warning);
        r->warning = NULL;
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (colon == NULL) return n;
    size_t klen = (size_t)(colon - data);
    const char *v = colon + 1;
    const char *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    if (klen == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
        long s = 0;
        int digits = 0;
        for (const char *p = v; p < end && *p >= '0' && *p <= '9' && s < 86400; p++, digits++)
            s = s * 10 + (*p - '0');
        /* an HTTP-date instead of seconds: wait one second (as client-go) */
        r->retry_after_s = digits ? (int)s : 1;
    } else if (klen == 7 && strncasecmp(data, "Warning", 7) == 0 && r->warning == NULL) {
        r->warning = strndup(v, (size_t)(end - v));
    }
    return n;
}

int
kube__http_start(kube__req *r)
{
    kube_client *c = r->c;
    char *url = kube__url(r);
    CURL *e = curl_easy_init();
    if (url == NULL || e == NULL) {
        free(url);
        if (e) curl_easy_cleanup(e);
        snprintf(r->errbuf, sizeof(r->errbuf), "out of memory");
        return ERR_NOMEM;
    }
    r->easy = e;
    r->errbuf[0] = '\0';
    r->status = 0;
    r->http_version = 0;
    r->retry_after_s = 0;
    free(r->warning);
    r->warning = NULL;
    r->resp.len = 0;
    if (r->resp.p) r->resp.p[0] = '\0';

    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url); /* curl copies strings it is given */
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (c->verbose) /* ASC_KUBE_CURL_VERBOSE=1: curl's trace on stderr (may show tokens) */
        curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_NOPROXY, c->noproxy);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     c->opts.http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    /* Over TLS with h2 offered, wait for a connection that may multiplex
     * rather than open another. Plain http:// is HTTP/1.1 here: waiting
     * would only serialise connection set-up in a burst. */
    if (c->opts.http2 && strncmp(c->server, "https://", 8) == 0)
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->opts.timeout_ms);
    if (r->watch == NULL) {
        /* watches are bounded by the server's timeoutSeconds only */
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->opts.timeout_ms);
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    }
    if (strcmp(r->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
        if (r->body) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
            c->stats.bytes_out += r->body_len;
        } else if (strcmp(r->method, "POST") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        }
    }

    /* TLS material from memory: nothing is written to disk */
    if (c->ca_pem) {
        struct curl_blob b = {c->ca_pem, strlen(c->ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL); /* trust this CA only */
    }
    if (c->cert_pem && c->key_pem) {
        struct curl_blob cb = {c->cert_pem, strlen(c->cert_pem), CURL_BLOB_COPY};
        struct curl_blob kb = {c->key_pem, strlen(c->key_pem), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (c->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }

    struct curl_slist *h = NULL, *t;
    char line[256];
    h = curl_slist_append(h, "Accept: application/json");
    if (h && (r->content_type || r->body)) {
        /* a body without a type would go out as a form (curl's POST default) */
        snprintf(line, sizeof(line), "Content-Type: %s",
                 r->content_type ? r->content_type : "application/json");
        h = (t = curl_slist_append(h, line)) ? t : (curl_slist_free_all(h), NULL);
    }
    if (h) /* no "Expect: 100-continue" round trip for large bodies */
        h = (t = curl_slist_append(h, "Expect:")) ? t : (curl_slist_free_all(h), NULL);
    if (h && c->token && c->token[0]) {
        size_t n = strlen(c->token) + 32;
        char *auth = malloc(n);
        if (auth) {
            snprintf(auth, n, "Authorization: Bearer %s", c->token);
            h = (t = curl_slist_append(h, auth)) ? t : (curl_slist_free_all(h), NULL);
            memset(auth, 0, n);
            free(auth);
        } else {
            curl_slist_free_all(h);
            h = NULL;
        }
    }
    if (h == NULL) {
        curl_easy_cleanup(e);
        r->easy = NULL;
        snprintf(r->errbuf, sizeof(r->errbuf), "out of memory");
        return ERR_NOMEM;
    }
    r->hdrs = h;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);

    CURLMcode mc = curl_multi_add_handle(c->multi, e);
    if (mc != CURLM_OK) {
        snprintf(r->errbuf, sizeof(r->errbuf), "curl_multi_add_handle: %s",
                 curl_multi_strerror(mc));
        curl_easy_cleanup(e);
        curl_slist_free_all(h);
        r->easy = NULL;
        r->hdrs = NULL;
        return ERR_IO;
    }
    r->attempts++;
    c->stats.requests++;
    if (r->watch == NULL) {
        r->counted_active = 1;
        c->active++;
    }
    return 0;
}

void
kube__http_detach(kube__req *r)
{
    if (r->easy) {
        curl_multi_remove_handle(r->c->multi, r->easy);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    if (r->counted_active) {
        r->counted_active = 0;
        r->c->active--;
        if (r->c->q_head && !r->c->closing) kube__kick(r->c); /* a slot for the next queued one */
    }
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
}
