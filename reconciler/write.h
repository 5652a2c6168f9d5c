/* write.h - what a reconcile pass asks the I/O thread to do.
 *
 * Reconcile functions are pure: (objects read from the store, now) ->
 * (rec_result: writes, events, requeue). They never talk to the API server.
 * A worker hands rec_writes to the I/O loop; each write's outcome
 * (0 / ERR_* + Status message) comes back to the owning shard, which
 * re-enqueues the key and passes the outcome into the next pass (rec_outcome),
 * so flows such as "create -> AlreadyExists -> treat as existing" stay pure.
 *
 * Ownership: every pointer inside rec_write/rec_event is owned by the struct
 * and released by rec_result_fini(). */
#ifndef ASC_RECONCILER_WRITE_H
#define ASC_RECONCILER_WRITE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/kube.h"

enum rec_op {
    REC_CREATE = 1,  /* POST body to the collection */
    REC_UPDATE,      /* PUT body (carries metadata.resourceVersion) */
    REC_PATCH_MERGE, /* application/merge-patch+json; a resourceVersion inside is a precondition */
    REC_PATCH_JSON,  /* application/json-patch+json */
    REC_DELETE,      /* DELETE with optional preconditions / propagation */
};

typedef struct rec_write {
    enum rec_op op;
    const kube_resource *res;
    char *ns;
    char *name;        /* NULL for REC_CREATE (taken from body or generateName) */
    char *subresource; /* "status", "scale" or NULL */
    json_object *body; /* owned; NULL for REC_DELETE */
    /* REC_DELETE only */
    char *precondition_uid;
    char *precondition_rv;
    const char *propagation; /* static string or NULL */
    /* Tag the reconciler uses to recognise the outcome on the next pass,
     * e.g. "pod-create", "claim-status". Static string. */
    const char *tag;
} rec_write;

typedef struct rec_event {
    /* events.k8s.io/v1 Event about an object */
    const kube_resource *regarding_res;
    char *ns, *name, *uid;
    const char *type;   /* "Normal" / "Warning" */
    const char *reason; /* static */
    const char *action; /* static */
    char *note;
} rec_event;

typedef struct rec_result {
    rec_write *writes;
    size_t n_writes, cap_writes;
    rec_event *events;
    size_t n_events, cap_events;
    int64_t requeue_after_ms; /* < 0: no timed requeue */
    int error;                /* != 0: the pass failed; the shard retries with backoff */
    char error_msg[512];
} rec_result;

/* Outcome of one write from the previous pass, handed to the next pass. */
typedef struct rec_outcome {
    const char *tag;
    int err; /* 0 or ERR_* */
    long http_status;
    const char *reason;  /* Status.reason or "" */
    const char *message; /* Status.message or transport text, never NULL */
    json_object *object; /* the object the server returned (borrowed), may be NULL */
} rec_outcome;

void rec_result_init(rec_result *r);
void rec_result_fini(rec_result *r);
/* Append a write; takes ownership of body; copies strings. Returns it or NULL (ERR_NOMEM). */
rec_write *rec_result_add_write(rec_result *r, enum rec_op op, const kube_resource *res,
                                const char *ns, const char *name, const char *subresource,
                                json_object *body, const char *tag);
rec_event *rec_result_add_event(rec_result *r, const kube_resource *res, const char *ns,
                                const char *name, const char *uid, const char *type,
                                const char *reason, const char *action, const char *note);
/* The events.k8s.io/v1 Event object for e (new reference), with reportingController
 * "agent-sandbox-controller", eventTime now_us. */
json_object *rec_event_to_json(const rec_event *e, int64_t now_us);

#endif
