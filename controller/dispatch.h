/* dispatch.h - the I/O side of the shards: execute a pass's writes with the
 * kube client, post its Events, hand the outcomes back.
 *
 * For each rec_ticket (reconciler/shard.h) given to ctl_dispatch_submit:
 *   - every rec_write becomes one request, all sent at once:
 *       REC_CREATE       POST ?fieldManager=sandbox-controller
 *       REC_UPDATE       PUT (subresource when set)
 *       REC_PATCH_MERGE  merge patch (a resourceVersion inside is a precondition)
 *       REC_PATCH_JSON   JSON patch
 *       REC_DELETE       DELETE with preconditions (uid, resourceVersion) and
 *                        propagationPolicy
 *     and its result is recorded with rec_ticket_set_outcome (err, HTTP
 *     status, the Status reason and message, the returned object on
 *     success); when the last one is back the ticket is completed
 *     (rec_shards_complete). A failed write is logged once with its
 *     context (op, kind, namespace, name, tag, HTTP code, reason, message);
 *     retrying is the shard's business (backoff), never this module's.
 *   - every rec_event is POSTed as an events.k8s.io/v1 Event. Events do
 *     not hold the ticket back; a failed post is logged and dropped.
 *
 * Threads: everything here runs on the I/O thread (the kube client's loop),
 * except ctl_dispatch_stats (any thread).
 *
 * Lifetime: requests cannot be cancelled one by one, so the dispatcher
 * lives until its last request is back. ctl_dispatch_detach completes every
 * ticket still waiting with ERR_CANCELED (legal after rec_shards_stop),
 * forgets the shard set, and frees the dispatcher at once or when the last
 * outstanding request ends (kube_client_free ends them all). */
#ifndef ASC_CONTROLLER_DISPATCH_H
#define ASC_CONTROLLER_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "kube/kube.h"
#include "reconciler/shard.h"

typedef struct ctl_dispatch ctl_dispatch;

/* The client must outlive every request (kube_client_free ends them). NULL
 * on allocation failure. Turns on kube_client_slim_write_responses(kc): a
 * write's returned object reaches the pass without metadata.managedFields,
 * like the cached objects it stands in for. */
ctl_dispatch *ctl_dispatch_new(kube_client *kc);
/* The set whose tickets this completes; set once, before any submit. */
void ctl_dispatch_set_shards(ctl_dispatch *d, rec_shard_set *s);
/* rec_submit_fn: udata is the ctl_dispatch. */
void ctl_dispatch_submit(void *udata, rec_ticket *t);
/* Tickets waiting for their writes, and requests (writes + events) in flight. */
size_t ctl_dispatch_tickets(const ctl_dispatch *d);
size_t ctl_dispatch_requests(const ctl_dispatch *d);
/* See "Lifetime". d must not be used afterwards. NULL is a no-op. */
void ctl_dispatch_detach(ctl_dispatch *d);

typedef struct ctl_dispatch_stats {
    uint64_t writes, write_failures; /* requests sent / failed (404 on delete included) */
    uint64_t events, event_failures;
    uint64_t tickets;
} ctl_dispatch_stats;
void ctl_dispatch_stats_get(const ctl_dispatch *d, ctl_dispatch_stats *out);

/* "create", "update", "patch", "json-patch", "delete" (logs). */
const char *ctl_dispatch_op_name(int op);

#endif
