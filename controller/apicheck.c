/* apicheck.c - see apicheck.h. */
#include "controller/apicheck.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

#define BACKOFF_FIRST_S 0.5
#define BACKOFF_MAX_S   30.0

static void on_version(const kube_result *res, void *udata);

static int
issue(ctl_apicheck *a)
{
    int rc = kube_request(a->client, "GET", "/version", NULL, NULL, 0, 1, on_version, a);
    if (rc == 0) {
        a->inflight = 1;
        a->attempts++;
    }
    return rc;
}

static void
on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    ctl_apicheck *a = w->data;
    (void)loop;
    (void)revents;
    if (a->stopped) return;
    int rc = issue(a);
    if (rc != 0) {
        /* Could not even queue (out of memory): try again later. */
        LOG_E("apicheck", "cannot queue GET /version", "server=%s err=%s",
              kube_client_server(a->client), err_str(rc));
        ev_timer_set(&a->retry, a->backoff_s, 0);
        ev_timer_start(a->loop, &a->retry);
    }
}

/* Failures that retrying cannot fix. */
static int
permanent(const kube_result *res)
{
    return res->err == ERR_TLS || res->err == ERR_FORBIDDEN || res->err == ERR_CONFIG ||
           res->http_status == 401 || res->http_status == 403;
}

static void
on_version(const kube_result *res, void *udata)
{
    ctl_apicheck *a = udata;
    a->inflight = 0;
    if (a->stopped || res->err == ERR_CANCELED) return;
    const char *server = kube_client_server(a->client);
    if (res->err == 0) {
        json_object *gv = NULL;
        const char *git = "";
        if (res->body && json_object_object_get_ex(res->body, "gitVersion", &gv) &&
            json_object_is_type(gv, json_type_string))
            git = json_object_get_string(gv);
        LOG_I("apicheck", "API server reachable", "server=%s version=%s attempts=%u", server, git,
              a->attempts);
        a->stopped = 1;
        a->cb(0, git, "", a->udata);
        return;
    }
    if (permanent(res)) {
        LOG_E("apicheck", "API server check failed; not retrying: fix the configuration",
              "server=%s status=%ld err=%s "
              "message=%s",
              server, res->http_status, err_str(res->err), res->message);
        a->stopped = 1;
        a->cb(res->err, "", res->message, a->udata);
        return;
    }
    /* Jitter of +-20% so a fleet of restarted controllers does not retry in step. */
    double jitter = 0.8 + 0.4 * ((double)rand_r(&a->seed) / RAND_MAX);
    double delay = a->backoff_s * jitter;
    LOG_E("apicheck", "API server not reachable; retrying",
          "server=%s status=%ld err=%s "
          "message=%s attempt=%u retry_in_s=%.1f",
          server, res->http_status, err_str(res->err), res->message, a->attempts, delay);
    a->backoff_s = a->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : a->backoff_s * 2;
    ev_timer_set(&a->retry, delay, 0);
    ev_timer_start(a->loop, &a->retry);
}

int
ctl_apicheck_start(ctl_apicheck *a, struct ev_loop *loop, kube_client *client, ctl_apicheck_cb cb,
                   void *udata)
{
    memset(a, 0, sizeof *a);
    a->loop = loop;
    a->client = client;
    a->cb = cb;
    a->udata = udata;
    a->backoff_s = BACKOFF_FIRST_S;
    a->seed = (unsigned)(uintptr_t)a ^ (unsigned)ev_time();
    ev_timer_init(&a->retry, on_retry, 0, 0);
    a->retry.data = a;
    return issue(a);
}

void
ctl_apicheck_stop(ctl_apicheck *a)
{
    a->stopped = 1;
    if (a->loop) ev_timer_stop(a->loop, &a->retry);
}
