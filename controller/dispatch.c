/* dispatch.c - rec_ticket writes and events through the kube client (see
 * dispatch.h).
 *
 * Bookkeeping: one tctx per ticket (on a list, so detach can find the ones
 * still waiting), one wreq per write request pointing at its tctx, one ereq
 * per event. Every request holds the dispatcher (d->requests); a detached
 * dispatcher is freed by whichever callback brings that count to zero. */
#include "controller/dispatch.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "reconciler/meta.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tctx {
    struct tctx *prev, *next;
    rec_ticket *t; /* NULL once completed (detach) */
    size_t remaining;
} tctx;

struct ctl_dispatch {
    kube_client *kc;
    rec_shard_set *shards;
    tctx *head;
    size_t tickets, requests;
    int detached;
    _Atomic uint64_t n_writes, n_write_failures, n_events, n_event_failures, n_tickets;
};

typedef struct wreq {
    ctl_dispatch *d;
    tctx *tc;
    size_t i;
} wreq;

typedef struct ereq {
    ctl_dispatch *d;
    char what[320]; /* "reason ns/name" for the log */
} ereq;

const char *
ctl_dispatch_op_name(int op)
{
    switch (op) {
    case REC_CREATE:
        return "create";
    case REC_UPDATE:
        return "update";
    case REC_PATCH_MERGE:
        return "patch";
    case REC_PATCH_JSON:
        return "json-patch";
    case REC_DELETE:
        return "delete";
    default:
        return "unknown";
    }
}

ctl_dispatch *
ctl_dispatch_new(kube_client *kc)
{
    ctl_dispatch *d = calloc(1, sizeof *d);
    if (d == NULL) return NULL;
    d->kc = kc;
    /* A write's returned object stands in for the cached one on the next
     * pass; the cache has no managedFields either, so they are not parsed. */
    kube_client_slim_write_responses(kc, 1);
    return d;
}

void
ctl_dispatch_set_shards(ctl_dispatch *d, rec_shard_set *s)
{
    d->shards = s;
}

size_t
ctl_dispatch_tickets(const ctl_dispatch *d)
{
    return d ? d->tickets : 0;
}

size_t
ctl_dispatch_requests(const ctl_dispatch *d)
{
    return d ? d->requests : 0;
}

void
ctl_dispatch_stats_get(const ctl_dispatch *d, ctl_dispatch_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!d) return;
    out->writes = atomic_load(&d->n_writes);
    out->write_failures = atomic_load(&d->n_write_failures);
    out->events = atomic_load(&d->n_events);
    out->event_failures = atomic_load(&d->n_event_failures);
    out->tickets = atomic_load(&d->n_tickets);
}

/* ---- request accounting ------------------------------------------------------ */

static void
request_end(ctl_dispatch *d)
{
    d->requests--;
    if (d->detached && d->requests == 0) free(d);
}

static void
tctx_unlink(ctl_dispatch *d, tctx *tc)
{
    if (tc->prev)
        tc->prev->next = tc->next;
    else
        d->head = tc->next;
    if (tc->next) tc->next->prev = tc->prev;
    tc->prev = tc->next = NULL;
    d->tickets--;
}

/* One write of tc is back (or never left). Completes the ticket after the last. */
static void
write_done(ctl_dispatch *d, tctx *tc)
{
    if (--tc->remaining > 0) return;
    if (tc->t) {
        rec_ticket *t = tc->t;
        tctx_unlink(d, tc);
        tc->t = NULL;
        rec_shards_complete(d->shards, t);
    }
    free(tc);
}

/* ---- writes ------------------------------------------------------------------ */

static const char *
write_name(const rec_write *w)
{
    if (w->name) return w->name;
    const char *n = jx_str(w->body, "metadata.name");
    return n ? n : jx_str_or(w->body, "metadata.generateName", "");
}

static void
log_write_failure(const rec_write *w, const char *key, const kube_result *res)
{
    const char *kind = w->res ? w->res->kind : "?";
    /* A delete of something already gone is what the pass wanted. */
    if (w->op == REC_DELETE && res->err == ERR_NOTFOUND) {
        LOG_I("dispatch", "delete: already gone", "kind=%s ns=%s name=%s tag=%s key=%s", kind,
              w->ns ? w->ns : "", write_name(w), w->tag ? w->tag : "", key);
        return;
    }
    LOG_W("dispatch", "write failed",
          "op=%s kind=%s ns=%s name=%s subresource=%s tag=%s key=%s code=%ld reason=%s err=%s "
          "message=%s",
          ctl_dispatch_op_name(w->op), kind, w->ns ? w->ns : "", write_name(w),
          w->subresource ? w->subresource : "", w->tag ? w->tag : "", key, res->http_status,
          res->reason ? res->reason : "", err_str(res->err), res->message ? res->message : "");
}

static void
on_write(const kube_result *res, void *udata)
{
    wreq *r = udata;
    ctl_dispatch *d = r->d;
    tctx *tc = r->tc;
    size_t i = r->i;
    free(r);
    if (tc->t) {
        const rec_write *w = &tc->t->result.writes[i];
        if (res->err) {
            atomic_fetch_add(&d->n_write_failures, 1);
            log_write_failure(w, tc->t->key, res);
        }
        /* The returned object (not a Status) stands in for the cache on the
         * next pass. It goes to a worker thread, and json-c's reference
         * counts are not atomic: the body is taken from the kube client (no
         * reference stays on this thread), so the worker owns the only one
         * and no copy is made. */
        json_object *obj = NULL;
        if (!res->err && res->body && json_object_is_type(res->body, json_type_object) &&
            strcmp(jx_str_or(res->body, "kind", ""), "Status") != 0) {
            obj = kube_result_take_body(res);
            /* not a delivery of the client's (cannot happen from kube/): copy */
            if (obj == NULL && json_object_deep_copy(res->body, &obj, NULL) != 0) obj = NULL;
        }
        if (rec_ticket_set_outcome(tc->t, i, res->err, res->http_status, res->reason, res->message,
                                   obj) != 0)
            LOG_E("dispatch", "cannot record a write outcome", "key=%s tag=%s err=%s", tc->t->key,
                  w->tag ? w->tag : "", err_str(ERR_NOMEM));
        json_object_put(obj); /* the outcome holds its own reference */
    }
    write_done(d, tc);
    request_end(d);
}

static int
send_write(ctl_dispatch *d, const rec_write *w, wreq *r)
{
    const char *body = NULL;
    if (w->op != REC_DELETE) {
        body = w->body ? json_object_to_json_string_ext(w->body, JSON_C_TO_STRING_PLAIN |
                                                                     JSON_C_TO_STRING_NOSLASHESCAPE)
                       : NULL;
        if (body == NULL) return ERR_INVALID;
    }
    if (w->res == NULL) return ERR_INVALID;
    switch (w->op) {
    case REC_CREATE: {
        char path[1024];
        int rc = kube_path(w->res, w->ns, NULL, NULL, path, sizeof path);
        if (rc != 0) return rc;
        size_t n = strlen(path);
        if (snprintf(path + n, sizeof path - n, "?fieldManager=%s", REC_FIELD_MANAGER) >=
            (int)(sizeof path - n))
            return ERR_TOOLARGE;
        return kube_request(d->kc, "POST", path, "application/json", body, strlen(body), 0,
                            on_write, r);
    }
    case REC_UPDATE:
        return kube_update(d->kc, w->res, w->ns, w->name, w->subresource, body, on_write, r);
    case REC_PATCH_MERGE:
        return kube_patch(d->kc, w->res, w->ns, w->name, w->subresource, KUBE_PATCH_MERGE, body,
                          on_write, r);
    case REC_PATCH_JSON:
        return kube_patch(d->kc, w->res, w->ns, w->name, w->subresource, KUBE_PATCH_JSON, body,
                          on_write, r);
    case REC_DELETE: {
        kube_delete_opts o = {.precondition_uid = w->precondition_uid,
                              .precondition_rv = w->precondition_rv,
                              .propagation_policy = w->propagation,
                              .grace_period_seconds = -1};
        int any = o.precondition_uid || o.precondition_rv || o.propagation_policy;
        return kube_delete(d->kc, w->res, w->ns, w->name, any ? &o : NULL, on_write, r);
    }
    default:
        return ERR_INVALID;
    }
}

/* ---- events ------------------------------------------------------------------ */

static void
on_event(const kube_result *res, void *udata)
{
    ereq *e = udata;
    ctl_dispatch *d = e->d;
    if (res->err && res->err != ERR_CANCELED) {
        atomic_fetch_add(&d->n_event_failures, 1);
        LOG_W("dispatch", "cannot post an event (dropped)",
              "event=%s code=%ld reason=%s message=%s", e->what, res->http_status,
              res->reason ? res->reason : "", res->message ? res->message : "");
    }
    free(e);
    request_end(d);
}

static void
post_event(ctl_dispatch *d, const rec_event *ev)
{
    ereq *e = calloc(1, sizeof *e);
    json_object *o = rec_event_to_json(ev, time_now_ms() * 1000);
    const char *body = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
    int rc = ERR_NOMEM;
    if (e && body) {
        e->d = d;
        snprintf(e->what, sizeof e->what, "%s %s/%s", ev->reason ? ev->reason : "",
                 ev->ns ? ev->ns : "", ev->name ? ev->name : "");
        d->requests++;
        atomic_fetch_add(&d->n_events, 1);
        rc = kube_create(d->kc, &KUBE_EVENTS_V1,
                         /* rec_event_to_json makes events.k8s.io/v1 */ ev->ns, body, on_event, e);
        if (rc != 0) d->requests--;
    }
    if (rc != 0) {
        atomic_fetch_add(&d->n_event_failures, 1);
        LOG_W("dispatch", "cannot post an event (dropped)", "reason=%s ns=%s name=%s err=%s",
              ev->reason ? ev->reason : "", ev->ns ? ev->ns : "", ev->name ? ev->name : "",
              err_str(rc));
        free(e);
    }
    json_object_put(o);
}

/* ---- submit / detach ------------------------------------------------------------ */

void
ctl_dispatch_submit(void *udata, rec_ticket *t)
{
    ctl_dispatch *d = udata;
    atomic_fetch_add(&d->n_tickets, 1);
    for (size_t i = 0; i < t->result.n_events; i++)
        post_event(d, &t->result.events[i]);
    size_t n = t->result.n_writes;
    tctx *tc = n ? calloc(1, sizeof *tc) : NULL;
    if (n == 0 || tc == NULL) {
        if (n) {
            LOG_E("dispatch", "out of memory: writes not sent", "key=%s", t->key);
            for (size_t i = 0; i < n; i++)
                rec_ticket_set_outcome(t, i, ERR_NOMEM, 0, "", "out of memory", NULL);
        }
        rec_shards_complete(d->shards, t);
        return;
    }
    tc->t = t;
    tc->remaining = n + 1; /* +1: held while sending, so a synchronous failure cannot finish it */
    tc->next = d->head;
    if (d->head) d->head->prev = tc;
    d->head = tc;
    d->tickets++;
    for (size_t i = 0; i < n; i++) {
        const rec_write *w = &t->result.writes[i];
        wreq *r = malloc(sizeof *r);
        int rc = ERR_NOMEM;
        if (r) {
            *r = (wreq){d, tc, i};
            d->requests++;
            atomic_fetch_add(&d->n_writes, 1);
            rc = send_write(d, w, r);
            if (rc != 0) {
                d->requests--;
                free(r);
            }
        }
        if (rc != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "request not sent: %s", err_str(rc));
            kube_result res = {.err = rc, .reason = "", .message = msg};
            atomic_fetch_add(&d->n_write_failures, 1);
            log_write_failure(w, t->key, &res);
            rec_ticket_set_outcome(t, i, rc, 0, "", msg, NULL);
            write_done(d, tc);
        }
    }
    write_done(d, tc); /* the sending hold */
}

void
ctl_dispatch_detach(ctl_dispatch *d)
{
    if (d == NULL) return;
    while (d->head) {
        tctx *tc = d->head;
        rec_ticket *t = tc->t;
        tctx_unlink(d, tc);
        tc->t = NULL;
        for (size_t i = 0; i < t->result.n_writes; i++)
            if (t->outcomes[i].tag == NULL)
                rec_ticket_set_outcome(t, i, ERR_CANCELED, 0, "", "controller shutting down", NULL);
        rec_shards_complete(d->shards, t);
        /* tc stays until its requests are back (write_done frees it) */
    }
    d->shards = NULL;
    d->detached = 1;
    if (d->requests == 0) free(d);
}
