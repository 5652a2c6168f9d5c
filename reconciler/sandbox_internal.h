/* sandbox_internal.h - state of one Sandbox reconcile pass, shared by
 * sandbox.c (flow, status, conditions), sandbox_pod.c, sandbox_svc.c and
 * sandbox_pvc.c. Private to reconciler/. */
#ifndef ASC_RECONCILER_SANDBOX_INTERNAL_H
#define ASC_RECONCILER_SANDBOX_INTERNAL_H

#include "reconciler/sandbox.h"

#include <json-c/json.h>

#define SBX_ERR_MAX 2048

typedef struct sbx_ctx {
    const rec_sandbox_input *in;
    rec_result *out;
    int64_t now_ms;
    json_object *sb; /* freshest view of the Sandbox (borrowed) */
    const char *ns, *name, *uid;
    int64_t gen;
    char hash[9];
    int suspended; /* spec.operatingMode == Suspended */
    int want_svc;  /* spec.service: -1 unset, 0 false, 1 true */

    /* errors this pass, joined with "\n" like Go's errors.Join */
    char err[SBX_ERR_MAX];
    int retry; /* a write failed last time or a wait is needed: backoff */

    /* Sandbox metadata merge patch (pod-name annotation) */
    json_object *sb_patch;

    /* PVC step */
    int pvc_pending; /* created/adopted this pass: pod create waits */
    int pvc_error;

    /* pod step */
    json_object *pod; /* resolved pod for status (borrowed), NULL if none */
    int pod_owned;
    int pod_lookup_err; /* lookup failed or multiple owned pods */
    int n_owned;        /* > 1 => MultiplePods */
    int pod_creating;   /* pod create emitted this pass */
    int creating;       /* a create/adoption of a child was emitted: defer status */
    int pod_wait;       /* AlreadyExists, waiting for the cache */

    /* service step */
    int svc_exists;
    int svc_required;
} sbx_ctx;

/* Record an error (printf-style); joined with earlier ones. */
void sbx__error(sbx_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Outcome of the previous pass with this tag whose object (if any) is named
 * name (NULL: any). Borrowed from in->outcomes, or NULL. Failed outcomes
 * (err != 0) match on tag alone. */
const rec_outcome *sbx__outcome(const sbx_ctx *c, const char *tag, const char *name);
/* The fresher of the cached object and any successful outcome object of the
 * given tags named name. */
json_object *sbx__fresh(const sbx_ctx *c, json_object *cached, const char *name,
                        const char *const *tags);
/* A failed outcome for tag (not NotFound) => error "Error seen"-style text
 * and retry; returns 1 if it recorded one. */
int sbx__outcome_failed(sbx_ctx *c, const char *tag);
/* Emit a delete with a uid precondition. An object without a name cannot be
 * addressed and is skipped. 0 or ERR_NOMEM. */
int sbx__delete(sbx_ctx *c, const kube_resource *res, json_object *obj, const char *tag);
/* Adoption is authorised: adoptable=true or tracking label == hash. */
int sbx__adoptable(const sbx_ctx *c, json_object *obj);
/* Set pod-name annotation in the Sandbox patch (value NULL removes it). */
int sbx__set_pod_name_ann(sbx_ctx *c, const char *value);

int sbx__reconcile_pvcs(sbx_ctx *c);
int sbx__reconcile_pod(sbx_ctx *c);
int sbx__reconcile_service(sbx_ctx *c, json_object *status);
/* Service ports for a pod spec (containers + restartPolicy Always init
 * containers): a new array. */
json_object *sbx__service_ports(json_object *pod_spec);
/* Expiry teardown deletes (owned pods, owned Service). */
int sbx__teardown_children(sbx_ctx *c);

#endif
