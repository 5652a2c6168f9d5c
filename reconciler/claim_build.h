/* claim_build.h - the bodies a SandboxClaim pass writes to its Sandbox
 * (spec/api.md §2.4 b–d). Pure; json arguments borrowed; every returned
 * object is a new reference the caller owns (normally handed to
 * rec_result_add_write). On failure they return NULL and, for user errors,
 * set *kind (a rec_claim_err) and the message in err; *kind stays
 * REC_CE_NONE for allocation failures. */
#ifndef ASC_RECONCILER_CLAIM_BUILD_H
#define ASC_RECONCILER_CLAIM_BUILD_H

#include <json-c/json.h>
#include <stddef.h>

#include "reconciler/claim_ready.h"

/* The Sandbox's podTemplate metadata a bound claim wants when the template
 * is known: template podTemplate labels/annotations + claim-uid +
 * template-ref-hash + created-by (the claim's raw value, absent when the
 * claim has none) + additionalPodMetadata (no-override merge).
 * *labels and *anns are new objects. Returns 0, ERR_INVALID (conflict:
 * *kind = REC_CE_OTHER) or ERR_NOMEM. */
int rec_claim_pod_meta(json_object *claim, json_object *tmpl, json_object **labels,
                       json_object **anns, enum rec_claim_err *kind, char *err, size_t errlen);

/* Cold create: Sandbox named like the claim, from the template blueprint,
 * VCT merge, env injection, labels, secure defaults, controller ownerRef
 * to the claim. */
json_object *rec_claim_cold_sandbox(json_object *claim, json_object *tmpl, enum rec_claim_err *kind,
                                    char *err, size_t errlen);

/* Write 1 of a warm adoption: ONE merge patch of the Sandbox carrying
 * metadata.resourceVersion = the candidate's cached resourceVersion, so the
 * API server applies it only if nobody changed the Sandbox since (a
 * compare-and-swap: two claims can never both get it). It moves the
 * controller ownerReference to the claim (ownerReferences replaced by that
 * single ref), drops the pool labels (warm-pool, pod-template-hash,
 * template-hash), sets launch-type=warm, claim-uid, created-by,
 * template-ref-hash, the pod-name annotation (= the Sandbox name) and the
 * claim's trace context, and rewrites spec.podTemplate.metadata: exactly
 * rec_claim_pod_meta() when tmpl is known (stale keys nulled), else the
 * existing metadata + template-ref-hash/claim-uid/created-by +
 * additionalPodMetadata, minus safe-to-evict when it is "true". */
json_object *rec_claim_adopt_patch(json_object *claim, json_object *sandbox, json_object *tmpl,
                                   enum rec_claim_err *kind, char *err, size_t errlen);

/* Metadata sync of an already bound Sandbox (§2.4 c): podTemplate metadata
 * = rec_claim_pod_meta() (only when tmpl is known), Sandbox labels
 * template-ref-hash and created-by, and launch-type = want_launch when the
 * label is missing (want_launch may be NULL). Returns NULL with *kind ==
 * REC_CE_NONE and err[0] == '\0' when nothing differs. The patch carries
 * the Sandbox's resourceVersion. */
json_object *rec_claim_sync_patch(json_object *claim, json_object *sandbox, json_object *tmpl,
                                  const char *want_launch, enum rec_claim_err *kind, char *err,
                                  size_t errlen);

#endif
