/* sim_http.c - HTTP/1.1 server on libev (see sim_http.h).
 *
 * Each connection has an input buffer (bytes read, not yet parsed) and an
 * output buffer (bytes queued, not yet written). A connection is READING
 * until a whole request (headers and body) is buffered, then HANDLING until
 * the handler answers; a streaming answer keeps it in STREAMING until the
 * end chunk. Closing is deferred while a callback runs on the connection
 * (busy > 0) so no callback ever sees a freed connection. */
#include "bench/kubesim/sim_http.h"

#include "bench/kubesim/sim_buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEADER (1024 * 1024)

enum { ST_READING, ST_HANDLING, ST_STREAMING };

struct sim_conn {
    sim_http *srv;
    int fd;
    SSL *ssl;
    ev_io io;
    sim_buf in, out;
    int state;
    int busy;          /* callbacks on the stack */
    int dead;          /* close requested while busy */
    int close_after;   /* close once the output is flushed */
    int continue_sent; /* 100 Continue written for the current request */
    int ssl_want_write;
    int peer_eof; /* the client finished sending (half-close or gone) */
    int in_dirty;
    sim_conn *dirty_next;
    sim_req req;
    char *req_mem;
    sim_conn_close_cb close_cb;
    void *close_ud;
    sim_conn *prev, *next;
};

struct sim_http {
    struct ev_loop *loop;
    int fd, port;
    ev_io io;
    SSL_CTX *ssl_ctx;
    sim_http_handler handler;
    void *ud;
    sim_conn *conns;
    int nconns;
    uint64_t seq;
    ev_prepare prep; /* flushes streamed output once per loop iteration */
    sim_conn *dirty; /* connections with output queued outside a callback */
};

static void conn_process(sim_conn *c);
static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents);

static const char *
status_text(int code)
{
    switch (code) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Request Entity Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

/* "HTTP/1.1 <code> <text>\r\n" */
static void
status_line(sim_buf *b, int code)
{
    sim_buf_append(b, "HTTP/1.1 ", 9);
    sim_buf_dec(b, code);
    sim_buf_append(b, " ", 1);
    sim_buf_puts(b, status_text(code));
    sim_buf_append(b, "\r\n", 2);
}

static void
set_err(char *err, size_t errlen, const char *what)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s", what, strerror(errno));
}

static void
conn_update_events(sim_conn *c)
{
    int ev = c->peer_eof ? 0 : EV_READ;
    if ((c->out.len > c->out.off) || c->ssl_want_write) ev |= EV_WRITE;
    if ((c->io.events & (EV_READ | EV_WRITE)) != ev || (ev && !ev_is_active(&c->io))) {
        ev_io_stop(c->srv->loop, &c->io);
        ev_io_set(&c->io, c->fd, ev ? ev : EV_READ);
        if (ev) ev_io_start(c->srv->loop, &c->io);
    }
}

static void
conn_free(sim_conn *c)
{
    sim_http *s = c->srv;
    if (c->close_cb) {
        sim_conn_close_cb cb = c->close_cb;
        c->close_cb = NULL;
        cb(c->close_ud, c);
    }
    ev_io_stop(s->loop, &c->io);
    if (c->in_dirty) {
        for (sim_conn **pp = &s->dirty; *pp; pp = &(*pp)->dirty_next)
            if (*pp == c) {
                *pp = c->dirty_next;
                break;
            }
    }
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    sim_buf_free(&c->in);
    sim_buf_free(&c->out);
    free(c->req.body); /* a request still being answered (watch, delayed reply) */
    free(c->req_mem);
    free(c);
}

static void
conn_close(sim_conn *c)
{
    if (c->busy)
        c->dead = 1;
    else
        conn_free(c);
}

/* Write as much queued output as the socket takes. Returns -1 on a fatal error. */
static int
conn_flush(sim_conn *c)
{
    c->ssl_want_write = 0;
    while (c->out.len > c->out.off) {
        size_t n = c->out.len - c->out.off;
        const char *p = c->out.data + c->out.off;
        if (c->ssl) {
            ERR_clear_error();
            int w = SSL_write(c->ssl, p, n > 1 << 30 ? 1 << 30 : (int)n);
            if (w <= 0) {
                int e = SSL_get_error(c->ssl, w);
                if (e == SSL_ERROR_WANT_WRITE) {
                    c->ssl_want_write = 1;
                    break;
                }
                if (e == SSL_ERROR_WANT_READ) break;
                return -1;
            }
            c->out.off += (size_t)w;
        } else {
            ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
                return -1;
            }
            c->out.off += (size_t)w;
        }
    }
    sim_buf_compact(&c->out);
    return 0;
}

/* Read everything available. Returns 2 at end of input, 1 on error, 0 otherwise. */
static int
conn_read(sim_conn *c)
{
    char tmp[65536];
    for (;;) {
        /* Do not buffer unbounded input from a client that is not being served. */
        if (c->in.len - c->in.off > MAX_HEADER + SIM_HTTP_MAX_BODY + 65536) return 1;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, tmp, sizeof tmp);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ) return 0;
                if (e == SSL_ERROR_WANT_WRITE) {
                    c->ssl_want_write = 1;
                    return 0;
                }
                return e == SSL_ERROR_ZERO_RETURN ? 2 : 1;
            }
            sim_buf_append(&c->in, tmp, (size_t)r);
        } else {
            ssize_t r = recv(c->fd, tmp, sizeof tmp, 0);
            if (r == 0) return 2;
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
                if (errno == EINTR) continue;
                return 1;
            }
            sim_buf_append(&c->in, tmp, (size_t)r);
            /* a short read drained the socket: no second recv just to see
             * EAGAIN (the io watcher is level-triggered, later bytes or the
             * end of input wake it again) */
            if ((size_t)r < sizeof tmp) return c->in.oom ? 1 : 0;
        }
        if (c->in.oom) return 1;
    }
}

static void
simple_reply(sim_conn *c, int code, const char *msg)
{
    sim_buf_printf(&c->out,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   code, status_text(code), strlen(msg), msg);
    c->close_after = 1;
    c->state = ST_HANDLING; /* nothing more is parsed */
}

static int
hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static void
pct_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            *o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

/* Decode a chunked body starting at p (len bytes available). Returns the bytes
 * consumed when complete (body appended to out), 0 if more input is needed,
 * -1 if malformed, -2 if too large. */
static long
decode_chunked(const char *p, size_t len, sim_buf *out)
{
    size_t i = 0;
    for (;;) {
        const char *eol = memmem(p + i, len - i, "\r\n", 2);
        if (!eol) return len - i > 64 ? -1 : 0;
        char *end;
        unsigned long n = strtoul(p + i, &end, 16);
        if (end == p + i) return -1;
        if (n > SIM_HTTP_MAX_BODY || out->len + n > SIM_HTTP_MAX_BODY) return -2;
        size_t data = (size_t)(eol - p) + 2;
        if (n == 0) {
            /* trailers until an empty line */
            size_t j = data;
            for (;;) {
                const char *e2 = memmem(p + j, len - j, "\r\n", 2);
                if (!e2) return 0;
                if (e2 == p + j) return (long)(j + 2);
                j = (size_t)(e2 - p) + 2;
            }
        }
        if (len < data + n + 2) return 0;
        sim_buf_append(out, p + data, n);
        if (memcmp(p + data + n, "\r\n", 2) != 0) return -1;
        i = data + n + 2;
    }
}

/* The "\r\n\r\n" ending the head in p[0..n), or NULL: a memchr per line
 * (glibc's memmem was ~800 instructions for an ordinary head). */
static const char *
head_end(const char *p, size_t n)
{
    const char *end = p + n, *s = p + 3;
    while (s < end) {
        const char *lf = memchr(s, '\n', (size_t)(end - s));
        if (!lf) return NULL;
        if (lf[-1] == '\r' && lf[-2] == '\n' && lf[-3] == '\r') return lf - 3;
        s = lf + 1;
    }
    return NULL;
}

/* The next line of the head at *p: lines end at CR or LF, empty ones are
 * skipped (as strtok with "\r\n"). NULL at the end. */
static char *
next_line(char **p)
{
    char *s = *p;
    while (*s == '\r' || *s == '\n')
        s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *e = s + strcspn(s, "\r\n");
    if (*e) *e++ = '\0';
    *p = e;
    return s;
}

/* The next space-separated token of the request line (as strtok with " "). */
static char *
next_token(char **p)
{
    char *s = *p;
    while (*s == ' ')
        s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *e = strchr(s, ' ');
    if (e)
        *e++ = '\0';
    else
        e = s + strlen(s);
    *p = e;
    return s;
}

static void
head_free(char *h, char *stack)
{
    if (h != stack) free(h);
}

/* Try to take one complete request from the input. Returns 1 when a request
 * was dispatched, 0 when more input is needed, -1 when the connection must close. */
static int
conn_parse(sim_conn *c)
{
    if (!c->in.data || c->in.len == c->in.off) return 0;
    const char *base = c->in.data + c->in.off;
    size_t avail = c->in.len - c->in.off;
    /* Tolerate stray CRLFs between requests. */
    while (avail >= 2 && base[0] == '\r' && base[1] == '\n') {
        c->in.off += 2;
        base += 2;
        avail -= 2;
    }
    const char *hend = head_end(base, avail);
    if (!hend) {
        if (avail > MAX_HEADER) {
            simple_reply(c, 431, "request header too large");
            return -1;
        }
        return 0;
    }
    size_t hlen = (size_t)(hend - base) + 4;
    /* A mutable copy of the head (a stack buffer for ordinary requests); it ends at
     * the first NUL byte, as the C string the head is parsed as. */
    char hstack[4096];
    size_t hl = strnlen(base, hlen - 4);
    char *h = hl < sizeof hstack ? hstack : malloc(hl + 1);
    if (!h) return -1;
    memcpy(h, base, hl);
    h[hl] = '\0';
    char *hp = h, *line = next_line(&hp);
    /* request line: method, target and version separated by spaces */
    char *lp = line, *m = line ? next_token(&lp) : NULL;
    char *target = m ? next_token(&lp) : NULL;
    char *ver = target ? next_token(&lp) : NULL;
    if (!ver || strncmp(ver, "HTTP/1.", 7) != 0 || target[0] != '/') {
        head_free(h, hstack);
        simple_reply(c, 400, "400 Bad Request");
        return -1;
    }
    int http10 = strcmp(ver, "HTTP/1.0") == 0;
    const char *ctype = "", *accept = "", *ua = "", *te = "", *expect = "", *conn_hdr = "";
    long long clen = -1;
    char *l;
    while ((l = next_line(&hp))) {
        char *colon = strchr(l, ':');
        if (!colon) continue;
        *colon = '\0';
        size_t nl = (size_t)(colon - l);
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        /* dispatch on the name's length: one case-insensitive compare per line */
        switch (nl) {
        case 6:
            if (!strcasecmp(l, "accept"))
                accept = v;
            else if (!strcasecmp(l, "expect"))
                expect = v;
            break;
        case 10:
            if (!strcasecmp(l, "user-agent"))
                ua = v;
            else if (!strcasecmp(l, "connection"))
                conn_hdr = v;
            break;
        case 12:
            if (!strcasecmp(l, "content-type")) ctype = v;
            break;
        case 17:
            if (!strcasecmp(l, "transfer-encoding")) te = v;
            break;
        case 14:
            if (!strcasecmp(l, "content-length")) {
                char *end;
                errno = 0;
                clen = strtoll(v, &end, 10);
                if (errno || *end || clen < 0) {
                    head_free(h, hstack);
                    simple_reply(c, 400, "400 Bad Request: bad Content-Length");
                    return -1;
                }
            }
            break;
        default:
            break;
        }
    }
    sim_buf body = {0};
    size_t consumed = hlen;
    int chunked = te[0] && strcasestr(te, "chunked") != NULL;
    if (chunked) {
        long r = decode_chunked(base + hlen, avail - hlen, &body);
        if (r == -2 || (clen > (long long)SIM_HTTP_MAX_BODY)) {
            head_free(h, hstack);
            sim_buf_free(&body);
            simple_reply(c, 413, "Request entity too large");
            return -1;
        }
        if (r < 0) {
            head_free(h, hstack);
            sim_buf_free(&body);
            simple_reply(c, 400, "400 Bad Request: bad chunked body");
            return -1;
        }
        if (r == 0) {
            sim_buf_free(&body);
            goto need_more;
        }
        consumed += (size_t)r;
    } else if (clen > 0) {
        if (clen > (long long)SIM_HTTP_MAX_BODY) {
            head_free(h, hstack);
            simple_reply(c, 413, "Request entity too large");
            return -1;
        }
        if (avail - hlen < (size_t)clen) goto need_more;
        sim_buf_append(&body, base + hlen, (size_t)clen);
        consumed += (size_t)clen;
    }
    if (!body.data) sim_buf_append(&body, "", 0);
    if (body.oom) {
        head_free(h, hstack);
        sim_buf_free(&body);
        return -1;
    }

    /* Copy the strings into one block owned by the connection. */
    char *q = strchr(target, '?');
    if (q) *q++ = '\0';
    char mt[256];
    size_t k = 0;
    /* ASCII lower case inline (tolower was a call per character of every request) */
    for (const char *p = ctype; *p && *p != ';' && k + 1 < sizeof mt; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch != ' ') mt[k++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch);
    }
    mt[k] = '\0';
    size_t need = strlen(m) + strlen(target) + (q ? strlen(q) : 0) + strlen(mt) + strlen(accept) +
                  strlen(ua) + 6;
    free(c->req_mem);
    c->req_mem = malloc(need);
    if (!c->req_mem) {
        head_free(h, hstack);
        sim_buf_free(&body);
        return -1;
    }
    char *w = c->req_mem;
#define PUT(dst, src)                                                                              \
    do {                                                                                           \
        size_t n_ = strlen(src);                                                                   \
        memcpy(w, src, n_ + 1);                                                                    \
        dst = w;                                                                                   \
        w += n_ + 1;                                                                               \
    } while (0)
    PUT(c->req.method, m);
    PUT(c->req.path, target);
    PUT(c->req.query, q ? q : "");
    PUT(c->req.content_type, mt);
    PUT(c->req.accept, accept);
    PUT(c->req.user_agent, ua);
#undef PUT
    pct_decode(c->req.path);
    c->req.body_len = body.len;
    c->req.body = sim_buf_take(&body, NULL);
    c->req.seq = ++c->srv->seq;
    c->req.deferred = 0;
    if (http10 || (conn_hdr[0] && !strcasecmp(conn_hdr, "close"))) c->close_after = 1;
    head_free(h, hstack);
    c->in.off += consumed;
    sim_buf_compact(&c->in);
    c->state = ST_HANDLING;
    c->continue_sent = 0;
    c->srv->handler(c->srv->ud, c, &c->req);
    return 1;

need_more:
    if (!c->continue_sent && !strcasecmp(expect, "100-continue")) {
        sim_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        c->continue_sent = 1;
    }
    head_free(h, hstack);
    return 0;
}

static void
conn_process(sim_conn *c)
{
    c->busy++;
    while (!c->dead && c->state == ST_READING && !c->close_after) {
        int r = conn_parse(c);
        if (r <= 0) break;
    }
    if (!c->dead && conn_flush(c) < 0) c->dead = 1;
    if (!c->dead && c->peer_eof && c->state == ST_READING && c->out.len == c->out.off) c->dead = 1;
    /* a stream whose client already left (as Go's server cancels the request) */
    if (!c->dead && c->peer_eof && c->state == ST_STREAMING) c->dead = 1;
    if (!c->dead && c->close_after && c->state != ST_STREAMING && c->out.len == c->out.off &&
        c->state == ST_READING)
        c->dead = 1;
    if (!c->dead && c->close_after && c->out.len == c->out.off && c->state == ST_HANDLING &&
        c->req.method == NULL)
        c->dead = 1;
    c->busy--;
    if (c->dead && c->busy == 0) {
        conn_free(c);
        return;
    }
    if (!c->dead) conn_update_events(c);
}

static void
conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    sim_conn *c = w->data;
    if (c->dead) {
        conn_close(c);
        return;
    }
    c->busy++;
    if (!c->peer_eof && (revents & (EV_READ | EV_CUSTOM) || c->ssl)) {
        int rc = conn_read(c);
        if (rc == 1) c->dead = 1;
        if (rc == 2) {
            /* answer what was sent, then close; a watcher whose client left goes now */
            c->peer_eof = 1;
            if (c->state == ST_STREAMING) c->dead = 1;
        }
    }
    c->busy--;
    if (c->dead) {
        conn_close(c);
        return;
    }
    conn_process(c);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    sim_http *s = w->data;
    for (;;) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sim_conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = s;
        c->fd = fd;
        if (s->ssl_ctx) {
            c->ssl = SSL_new(s->ssl_ctx);
            if (!c->ssl) {
                close(fd);
                free(c);
                continue;
            }
            SSL_set_fd(c->ssl, fd);
            SSL_set_accept_state(c->ssl);
            SSL_set_mode(c->ssl,
                         SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        }
        c->next = s->conns;
        if (s->conns) s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        ev_io_init(&c->io, conn_cb, fd, EV_READ);
        c->io.data = c;
        ev_io_start(s->loop, &c->io);
    }
}

sim_http *
sim_http_new(struct ev_loop *loop, int port, SSL_CTX *ssl_ctx, sim_http_handler h, void *ud,
             char *err, size_t errlen)
{
    sim_http *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->ssl_ctx = ssl_ctx;
    s->handler = h;
    s->ud = ud;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        set_err(err, errlen, "socket");
        free(s);
        return NULL;
    }
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->fd, 1024) < 0) {
        set_err(err, errlen, "bind/listen 127.0.0.1");
        close(s->fd);
        free(s);
        return NULL;
    }
    socklen_t al = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    ev_io_init(&s->io, accept_cb, s->fd, EV_READ);
    s->io.data = s;
    ev_io_start(loop, &s->io);
    ev_prepare_init(&s->prep, prepare_cb);
    s->prep.data = s;
    ev_prepare_start(loop, &s->prep);
    return s;
}

int
sim_http_port(const sim_http *s)
{
    return s->port;
}
int
sim_http_conn_count(const sim_http *s)
{
    return s->nconns;
}

void
sim_http_free(sim_http *s)
{
    if (!s) return;
    while (s->conns)
        conn_free(s->conns);
    ev_io_stop(s->loop, &s->io);
    ev_prepare_stop(s->loop, &s->prep);
    close(s->fd);
    free(s);
}

/* Run the connection's callback on the next loop iteration: replies made
 * outside a callback never free the connection under their caller. */
static void
conn_defer(sim_conn *c)
{
    if (!c->busy) ev_feed_event(c->srv->loop, &c->io, EV_CUSTOM);
}

/* Flush now without ever freeing (callers may be iterating over watchers). */
static void
conn_kick(sim_conn *c)
{
    if (c->busy || c->in_dirty) return;
    /* written before the loop sleeps again: many events, one send */
    c->in_dirty = 1;
    c->dirty_next = c->srv->dirty;
    c->srv->dirty = c;
}

static void
prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    sim_http *s = w->data;
    while (s->dirty) {
        sim_conn *c = s->dirty;
        s->dirty = c->dirty_next;
        c->in_dirty = 0;
        c->dirty_next = NULL;
        if (c->dead) continue;
        if (conn_flush(c) < 0) {
            c->dead = 1;
            conn_defer(c);
            continue;
        }
        conn_update_events(c);
    }
}

static void
reply_done(sim_conn *c)
{
    c->state = ST_READING;
    free(c->req.body);
    c->req.body = NULL;
    c->req.method = NULL;
    conn_defer(c);
}

void
sim_conn_reply(sim_conn *c, int status, const char *content_type, const char *extra_headers,
               const char *body, size_t len)
{
    if (c->state != ST_HANDLING) return;
    /* The head and the body in one growth check and a run of memcpy (a printf per
     * reply was ~1.2k instructions of a write). */
    const char *text = status_text(status);
    char code[24], clen[24];
    size_t code_l = sim_fmt_dec(code, status), clen_l = sim_fmt_dec(clen, (long long)len);
    size_t text_l = strlen(text), ct_l = strlen(content_type);
    size_t extra_l = extra_headers ? strlen(extra_headers) : 0;
    size_t close_l = c->close_after ? sizeof "Connection: close\r\n" - 1 : 0;
    size_t total =
        9 + code_l + 1 + text_l + 2 + 14 + ct_l + 2 + extra_l + close_l + 16 + clen_l + 4 + len;
    if (sim_buf_reserve(&c->out, total) == 0) {
        char *w = c->out.data + c->out.len;
#define PUTN(p, n)                                                                                 \
    do {                                                                                           \
        memcpy(w, (p), (n));                                                                       \
        w += (n);                                                                                  \
    } while (0)
        PUTN("HTTP/1.1 ", 9);
        PUTN(code, code_l);
        PUTN(" ", 1);
        PUTN(text, text_l);
        PUTN("\r\nContent-Type: ", 16);
        PUTN(content_type, ct_l);
        PUTN("\r\n", 2);
        if (extra_l) PUTN(extra_headers, extra_l);
        if (close_l) PUTN("Connection: close\r\n", close_l);
        PUTN("Content-Length: ", 16);
        PUTN(clen, clen_l);
        PUTN("\r\n\r\n", 4);
        if (len) PUTN(body, len);
#undef PUTN
        c->out.len += total;
        c->out.data[c->out.len] = '\0';
    } else {
        c->close_after = 1; /* out of memory: no answer can follow, end the connection */
    }
    reply_done(c);
}

void
sim_conn_stream_begin(sim_conn *c, int status, const char *content_type)
{
    if (c->state != ST_HANDLING) return;
    status_line(&c->out, status);
    sim_buf_append(&c->out, "Content-Type: ", 14);
    sim_buf_puts(&c->out, content_type);
    sim_buf_puts(&c->out,
                 "\r\nCache-Control: no-cache, private\r\nTransfer-Encoding: chunked\r\n\r\n");
    c->state = ST_STREAMING;
    conn_kick(c);
}

size_t
sim_http_chunk_head(char *head, size_t len)
{
    size_t hl = sim_fmt_hex(head, len);
    head[hl++] = '\r';
    head[hl++] = '\n';
    return hl;
}

/* Append the parts of one chunk with a single growth check; aborts on OOM. */
static void
stream_put(sim_conn *c, const char *a, size_t al, const char *b, size_t bl, const char *t,
           size_t tl)
{
    if (sim_buf_reserve(&c->out, al + bl + tl) != 0) {
        sim_conn_abort(c);
        return;
    }
    char *w = c->out.data + c->out.len;
    memcpy(w, a, al);
    if (bl) memcpy(w + al, b, bl);
    if (tl) memcpy(w + al + bl, t, tl);
    c->out.len += al + bl + tl;
    c->out.data[c->out.len] = '\0';
    conn_kick(c);
}

void
sim_conn_stream_write(sim_conn *c, const char *data, size_t len)
{
    if (c->state != ST_STREAMING || len == 0) return;
    /* chunk size framing without printf */
    char head[SIM_HTTP_CHUNK_HEAD_MAX];
    size_t hl = sim_http_chunk_head(head, len);
    stream_put(c, head, hl, data, len, "\r\n", 2);
}

void
sim_conn_stream_write_chunk(sim_conn *c, const char *chunk, size_t len)
{
    if (c->state != ST_STREAMING || len == 0) return;
    stream_put(c, chunk, len, NULL, 0, NULL, 0);
}

void
sim_conn_stream_end(sim_conn *c)
{
    if (c->state != ST_STREAMING) return;
    sim_buf_puts(&c->out, "0\r\n\r\n");
    reply_done(c);
}

size_t
sim_conn_pending(const sim_conn *c)
{
    return c->out.len - c->out.off;
}

void
sim_conn_abort(sim_conn *c)
{
    c->close_cb = NULL;
    c->dead = 1;
    conn_defer(c);
}

void
sim_conn_on_close(sim_conn *c, sim_conn_close_cb cb, void *ud)
{
    c->close_cb = cb;
    c->close_ud = ud;
}
