/* watch.c - watch streams over a long-lived streaming transfer.
 *
 * A watch is a kube__req with a kube_watch attached: GET ...?watch=1 with no
 * transfer timeout (the server ends it after timeoutSeconds). curl's write
 * callback feeds the bytes to the incremental decoder, which calls on_event
 * for each complete event as soon as it arrives. A non-200 reply is kept
 * (bounded) to read its Status at the end.
 *
 * Ending, exactly once, through on_end:
 *   server closes cleanly        -> 0 (or ERR_PARSE if it cut an event short)
 *   ERROR event                  -> delivered to on_event, then the stream is
 *                                   aborted: ERR_GONE for code 410, else the
 *                                   code's ERR_* (Status message passed on)
 *   malformed/oversized event    -> ERR_PARSE / ERR_TOOLARGE
 *   HTTP error reply             -> its ERR_* and Status message
 *   transport failure            -> ERR_IO / ERR_TLS with a message naming the server
 *   kube_watch_stop / client free -> ERR_CANCELED
 * Aborting from the write callback is done by returning 0 (curl then ends
 * the transfer); on_end runs later from the drain, outside curl. */
#include "kube/internal.h"

#include "core/err.h"
#include "core/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_ERRBODY_MAX (64u << 10)
#define WATCH_EVENT_MAX   ((size_t)64 << 20)

static void
on_decoded(enum kube_event_type type, json_object *obj, void *udata)
{
    kube__req *r = udata;
    kube_watch *w = r->watch;
    if (r->canceled || w->end_err) return; /* stopped from an earlier event of this chunk */
    w->events++;
    if (type == KUBE_ERROR) {
        long code = (long)jx_int(obj, "code", 0);
        const char *msg = jx_str(obj, "message");
        w->end_err = code == 410 ? ERR_GONE : (code ? err_from_http(code) : ERR_HTTP);
        if (w->end_err == 0) w->end_err = ERR_HTTP;
        w->end_status = code;
        snprintf(w->end_msg, sizeof(w->end_msg), "watch %.200s%.300s: ERROR event: %.400s",
                 r->c->server, r->path, msg ? msg : "(no message)");
    }
    w->on_event(type, obj, w->udata);
}

size_t
kube__watch_write(kube__req *r, const char *data, size_t n)
{
    kube_watch *w = r->watch;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        size_t room = r->resp.len < WATCH_ERRBODY_MAX ? WATCH_ERRBODY_MAX - r->resp.len : 0;
        kube__buf_add(&r->resp, data, n < room ? n : room);
        return n;
    }
    char err[512];
    int rc = kube_watch_decoder_feed(w->dec, data, n, on_decoded, r, err, sizeof(err));
    if (r->canceled || w->end_err) return 0;
    if (rc != 0) {
        w->end_err = rc;
        w->end_status = 200;
        snprintf(w->end_msg, sizeof(w->end_msg), "watch %.200s%.300s: %.480s", r->c->server,
                 r->path, err);
        return 0;
    }
    return n;
}

void
kube__watch_end(kube__req *r, int err, long status, const char *msg)
{
    kube_watch *w = r->watch;
    r->state = KREQ_DONE;
    if (err != 0 && err != ERR_CANCELED) r->c->stats.errors++;
    w->on_end(err, status, msg ? msg : "", w->udata);
    kube__req_free(r);
}

void
kube__watch_complete(kube__req *r, CURLcode code)
{
    kube_watch *w = r->watch;
    char msg[CURL_ERROR_SIZE + 512];
    if (w->end_err) {
        kube__watch_end(r, w->end_err, w->end_status, w->end_msg);
        return;
    }
    if (code != CURLE_OK) {
        int err = kube__transport_error(r, code, msg, sizeof(msg));
        kube__watch_end(r, err, r->status, msg);
        return;
    }
    if (r->status != 200) {
        json_object *st = r->resp.len ? kube__json_parse(r->resp.p, r->resp.len, NULL) : NULL;
        const char *m = jx_str(st, "message");
        snprintf(msg, sizeof(msg), "watch %s%s: HTTP %ld%s%s", r->c->server, r->path, r->status,
                 m ? ": " : "", m ? m : "");
        int err = err_from_http(r->status);
        kube__watch_end(r, err ? err : ERR_HTTP, r->status, msg);
        json_object_put(st);
        return;
    }
    char derr[512];
    if (kube_watch_decoder_finish(w->dec, derr, sizeof(derr)) != 0) {
        snprintf(msg, sizeof(msg), "watch %s%s: %s", r->c->server, r->path, derr);
        kube__watch_end(r, ERR_PARSE, 200, msg);
        return;
    }
    kube__watch_end(r, 0, 200, "watch closed by the server");
}

kube_watch *
kube_watch_start(kube_client *c, const kube_resource *res, const char *ns,
                 const kube_list_opts *opts, kube_event_cb on_event, kube_watch_end_cb on_end,
                 void *udata)
{
    char path[1024];
    if (c == NULL || c->closing || on_event == NULL || on_end == NULL) return NULL;
    if (kube_path(res, ns, NULL, NULL, path, sizeof(path)) != 0) return NULL;
    kube__buf q = {0};
    if (kube__buf_add(&q, path, strlen(path)) != 0 || kube__list_query(&q, opts, 1) != 0) {
        kube__buf_fini(&q);
        return NULL;
    }
    kube_watch *w = calloc(1, sizeof(*w));
    kube__req *r = w ? kube__req_new(c, "GET", q.p, NULL, NULL, 0, 1) : NULL;
    kube__buf_fini(&q);
    if (r == NULL) {
        free(w);
        return NULL;
    }
    w->dec = kube_watch_decoder_new(WATCH_EVENT_MAX);
    if (w->dec == NULL) {
        free(w);
        kube__req_free(r);
        return NULL;
    }
    w->req = r;
    w->on_event = on_event;
    w->on_end = on_end;
    w->udata = udata;
    r->watch = w;
    kube__req_enqueue(r);
    kube__dispatch(c);
    return w;
}

void
kube_watch_stop(kube_watch *w)
{
    if (w == NULL) return;
    kube__req *r = w->req;
    if (r->canceled || r->state == KREQ_DONE) return;
    int deferred = kube__req_cancel(r);
    w->on_end(ERR_CANCELED, 0, "watch stopped", w->udata);
    if (!deferred) kube__req_free(r);
}
