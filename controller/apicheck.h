/* apicheck.h - the start-up check of the API server: GET /version.
 *
 * A controller that exits when the API server is briefly unreachable only
 * restart-loops, so an unreachable server (connection refused, timeout,
 * 5xx) is logged with the server's address and retried with capped,
 * jittered exponential backoff (0.5 s doubling to 30 s) until it answers or
 * the check is stopped. A failure that waiting cannot fix - TLS (unknown
 * CA, bad certificate) or 401/403 - ends the check with the cause.
 *
 * Thread: the I/O thread (the client's loop). The ctl_apicheck is embedded
 * by the caller and must stay valid until kube_client_free of the client it
 * uses has returned (a pending request completes with ERR_CANCELED then).
 */
#ifndef ASC_CONTROLLER_APICHECK_H
#define ASC_CONTROLLER_APICHECK_H

#include <ev.h>

#include "kube/kube.h"

/* rc 0: server answered; git_version is its gitVersion ("" if absent).
 * rc < 0: a permanent failure (ERR_TLS, ERR_FORBIDDEN...), message says why.
 * Strings are borrowed for the call. Runs once per ctl_apicheck_start. */
typedef void (*ctl_apicheck_cb)(int rc, const char *git_version, const char *message, void *udata);

typedef struct ctl_apicheck {
    struct ev_loop *loop;
    kube_client *client;
    ev_timer retry;
    ctl_apicheck_cb cb;
    void *udata;
    double backoff_s;
    unsigned attempts;
    unsigned seed;
    int inflight, stopped;
} ctl_apicheck;

/* Issue the first GET /version. Returns 0, or the code of kube_request when
 * nothing could be queued (cb never runs). */
int ctl_apicheck_start(ctl_apicheck *a, struct ev_loop *loop, kube_client *client,
                       ctl_apicheck_cb cb, void *udata);
/* Stop retrying; cb will not run afterwards. Safe to call twice. */
void ctl_apicheck_stop(ctl_apicheck *a);

#endif
