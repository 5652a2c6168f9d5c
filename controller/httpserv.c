/* httpserv.c - see httpserv.h.
 *
 * libmicrohttpd runs each daemon's accept and request handling on its own
 * internal thread (epoll where available), so nothing here touches libev.
 * Requests are GET/HEAD only and small; bodies are built in memory by the
 * handler and handed to MHD with free() as the release callback.
 */
#include "controller/httpserv.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/log.h"

struct ctl_httpserv {
    struct MHD_Daemon *d;
    ctl_http_handler handler;
    void *udata;
    char name[32];
    int port;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int
ctl_bind_address_parse(const char *addr, char *host, size_t hostlen, int *port)
{
    if (addr == NULL || *addr == '\0') return ERR_INVALID;
    if (strcmp(addr, "0") == 0) return 1;
    const char *colon;
    const char *h = addr;
    size_t hl;
    if (*addr == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL || close[1] != ':') return ERR_INVALID;
        h = addr + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL || memchr(addr, ':', (size_t)(colon - addr)) != NULL)
            return ERR_INVALID; /* no port, or an unbracketed IPv6 address */
        hl = (size_t)(colon - addr);
    }
    if (hl + 1 > hostlen) return ERR_INVALID;
    const char *ps = colon + 1;
    if (*ps == '\0' || strlen(ps) > 5) return ERR_INVALID;
    int p = 0;
    for (const char *c = ps; *c; c++) {
        if (*c < '0' || *c > '9') return ERR_INVALID; /* service names ("http") are not supported */
        p = p * 10 + (*c - '0');
    }
    if (p > 65535) return ERR_INVALID;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = p;
    return 0;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    ctl_httpserv *s = cls;
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    LOG_W("httpserv", "server error", "server=%s err=%s", s->name, line);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    ctl_httpserv *s = cls;
    (void)version;
    (void)upload_data;
    (void)con_cls;
    ctl_http_reply r = {0};

    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* ignore request bodies: we answer before reading them */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        r.status = 405;
        r.content_type = "text/plain; charset=utf-8";
        r.body = strdup("method not allowed\n");
        r.len = r.body ? strlen(r.body) : 0;
    } else {
        s->handler(method, url, &r, s->udata);
    }

    struct MHD_Response *resp;
    if (r.body)
        resp = MHD_create_response_from_buffer_with_free_callback(r.len, r.body, free);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(r.body);
        return MHD_NO;
    }
    if (r.content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)(r.status ? r.status : 500), resp);
    MHD_destroy_response(resp);
    return ret;
}

static struct MHD_Daemon *
start_daemon(ctl_httpserv *s, unsigned flags, int port, const struct sockaddr *sa)
{
    flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (sa)
        return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s,
                                MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_SOCK_ADDR, sa,
                                MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT,
                                256u, MHD_OPTION_END);
    return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_CONNECTION_TIMEOUT,
                            30u, MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_END);
}

ctl_httpserv *
ctl_httpserv_start(const char *name, const char *bind_address, ctl_http_handler h, void *udata,
                   char *err, size_t errlen)
{
    char host[256];
    int port = 0;
    if (err && errlen) err[0] = '\0';
    int rc = ctl_bind_address_parse(bind_address, host, sizeof host, &port);
    if (rc == 1) return NULL; /* disabled */
    if (rc != 0) {
        seterr(err, errlen, "%s server: bad bind address \"%s\" (want host:port, :port or 0)", name,
               bind_address ? bind_address : "");
        return NULL;
    }
    ctl_httpserv *s = calloc(1, sizeof *s);
    if (s == NULL) {
        seterr(err, errlen, "%s server: out of memory", name);
        return NULL;
    }
    s->handler = h;
    s->udata = udata;
    snprintf(s->name, sizeof s->name, "%s", name);

    if (host[0] == '\0') {
        /* Go's ":port": every address. Dual stack when the kernel has IPv6. */
        s->d = start_daemon(s, MHD_USE_DUAL_STACK, port, NULL);
        if (s->d == NULL) s->d = start_daemon(s, 0, port, NULL);
    } else {
        struct addrinfo hints = {
            .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
        struct addrinfo *res = NULL;
        char ps[8];
        snprintf(ps, sizeof ps, "%d", port);
        int gai = getaddrinfo(host, ps, &hints, &res);
        if (gai != 0) {
            seterr(err, errlen, "%s server: cannot resolve %s: %s", name, bind_address,
                   gai_strerror(gai));
            free(s);
            return NULL;
        }
        for (struct addrinfo *ai = res; ai && s->d == NULL; ai = ai->ai_next)
            s->d = start_daemon(s, ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0, port, ai->ai_addr);
        freeaddrinfo(res);
    }
    if (s->d == NULL) {
        seterr(err, errlen, "%s server: cannot listen on %s (address in use or not local?)", name,
               bind_address);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    LOG_I("httpserv", "serving", "server=%s address=%s port=%d", name, bind_address, s->port);
    return s;
}

int
ctl_httpserv_port(const ctl_httpserv *s)
{
    return s ? s->port : 0;
}

void
ctl_httpserv_stop(ctl_httpserv *s)
{
    if (s == NULL) return;
    MHD_stop_daemon(s->d); /* joins the server thread */
    free(s);
}

/* ---- health ------------------------------------------------------------- */

static void
reply_text(ctl_http_reply *out, int status, const char *text)
{
    out->status = status;
    out->content_type = "text/plain; charset=utf-8";
    out->body = strdup(text);
    out->len = out->body ? strlen(out->body) : 0;
    if (out->body == NULL) out->status = 500;
}

static int
path_is(const char *path, const char *base)
{
    size_t n = strlen(base);
    /* "/healthz", "/healthz/", "/healthz/ping" (controller-runtime's check name) */
    return strncmp(path, base, n) == 0 &&
           (path[n] == '\0' || strcmp(path + n, "/") == 0 || strcmp(path + n, "/ping") == 0);
}

static void
health_handler(const char *method, const char *path, ctl_http_reply *out, void *udata)
{
    ctl_health *h = udata;
    (void)method;
    if (path_is(path, "/healthz")) {
        reply_text(out, 200, "ok");
    } else if (path_is(path, "/readyz")) {
        char why[200] = "not ready";
        if (h->ready == NULL || h->ready(h->udata, why, sizeof why)) {
            reply_text(out, 200, "ok");
        } else {
            char body[256];
            snprintf(body, sizeof body, "[-]%s\nreadyz check failed\n", why);
            reply_text(out, 500, body);
        }
    } else {
        reply_text(out, 404, "404 page not found\n");
    }
}

ctl_httpserv *
ctl_health_start(const char *bind_address, ctl_health *h, char *err, size_t errlen)
{
    return ctl_httpserv_start("health", bind_address, health_handler, h, err, errlen);
}

/* ---- metrics ------------------------------------------------------------ */

static void
metrics_handler(const char *method, const char *path, ctl_http_reply *out, void *udata)
{
    ctl_metrics *m = udata;
    (void)method;
    if (strcmp(path, "/metrics") != 0) {
        reply_text(out, 404, "404 page not found\n");
        return;
    }
    char *text = NULL;
    size_t len = 0;
    if (ctl_metrics_render(m, &text, &len) != 0) {
        reply_text(out, 500, "cannot render metrics: out of memory\n");
        return;
    }
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
    out->body = text;
    out->len = len;
}

ctl_httpserv *
ctl_metrics_start(const char *bind_address, ctl_metrics *m, char *err, size_t errlen)
{
    return ctl_httpserv_start("metrics", bind_address, metrics_handler, m, err, errlen);
}
