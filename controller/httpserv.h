/* httpserv.h - the controller's plain-HTTP endpoints: /metrics on
 * --metrics-bind-address, /healthz and /readyz on --health-probe-bind-address.
 *
 * Each server is a libmicrohttpd daemon with its own internal thread; the
 * handlers below run on that thread, never on the I/O (libev) thread, so a
 * slow scrape cannot delay a watch. Handlers only read thread-safe state:
 * the metrics registry (metrics.h) and the readiness callback.
 *
 * Bind addresses use Go's net.Listen form: ":8080" (every address, IPv6 and
 * IPv4), "127.0.0.1:8080", "[::1]:8080", "localhost:0" (port 0 picks a free
 * port; see ctl_httpserv_port). "0" disables the server (start returns NULL
 * with err[0] == '\0').
 *
 * Return codes: the start functions return NULL and write a one-line reason
 * naming the address into err (bad address, port in use).
 */
#ifndef ASC_CONTROLLER_HTTPSERV_H
#define ASC_CONTROLLER_HTTPSERV_H

#include <stddef.h>

#include "controller/metrics.h"

typedef struct ctl_httpserv ctl_httpserv;

/* A response. body is malloc'ed by the handler and freed by the server. */
typedef struct ctl_http_reply {
    int status;
    const char *content_type; /* static string */
    char *body;
    size_t len;
} ctl_http_reply;

/* Runs on the server's thread. method and path are borrowed for the call. */
typedef void (*ctl_http_handler)(const char *method, const char *path, ctl_http_reply *out,
                                 void *udata);

/* name is for logs ("metrics", "health"). */
ctl_httpserv *ctl_httpserv_start(const char *name, const char *bind_address, ctl_http_handler h,
                                 void *udata, char *err, size_t errlen);
/* The bound TCP port (useful after ":0"). */
int ctl_httpserv_port(const ctl_httpserv *s);
/* Stops accepting, waits for the handler thread to finish, frees. NULL ok. */
void ctl_httpserv_stop(ctl_httpserv *s);

/* Parse a Go-style bind address into host (may be "" for any) and port.
 * 0, 1 when the address is "0" (disabled), or ERR_INVALID. */
int ctl_bind_address_parse(const char *addr, char *host, size_t hostlen, int *port);

/* ---- the two servers ---------------------------------------------------- */

/* Readiness: return 1 when ready, else 0 with a short reason in why.
 * Called on the health server's thread: must be thread-safe. */
typedef int (*ctl_ready_cb)(void *udata, char *why, size_t whylen);

typedef struct ctl_health {
    ctl_ready_cb ready; /* NULL: always ready */
    void *udata;
} ctl_health;

/* /healthz: 200 "ok" while the process serves. /readyz: 200 "ok" once ready
 * says so, else 500 "[-]<reason>". Other paths 404. h must outlive the server. */
ctl_httpserv *ctl_health_start(const char *bind_address, ctl_health *h, char *err, size_t errlen);
/* /metrics: the registry in the Prometheus text format. m must outlive it. */
ctl_httpserv *ctl_metrics_start(const char *bind_address, ctl_metrics *m, char *err, size_t errlen);

#endif
