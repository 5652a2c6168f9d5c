/* template.h - the SandboxTemplate reconcile pass (spec/api.md §2.2).
 *
 * Pure: (template, its NetworkPolicy, outcomes, now) -> rec_result.
 * Writes (tags): "tmpl-label" merge patch of the template adding
 * agents.x-k8s.io/sandbox-template-ref-hash = NameHash(name);
 * "np-create" / "np-update" (merge patch guarded by the cached
 * resourceVersion; the store may hold a slimmed copy, so no PUT) /
 * "np-delete" (uid precondition) of NetworkPolicy <template>-network-policy.
 *
 * What the wiring gathers for each pass: the SandboxTemplate (NULL when
 * NotFound), the NetworkPolicy "<template>-network-policy" in the same
 * namespace (NULL when absent), and the outcomes of this template's
 * previous pass. Re-run the pass when the template or that NetworkPolicy
 * changes (the NP's controller ownerRef names the template), and on
 * outcomes / requeue. Threads: any; no state between passes.
 *
 * A NetworkPolicy with that name that is not controlled by the template is
 * never touched: Managed reports the error
 *   refusing to update NetworkPolicy "<ns>/<name>": not controlled by SandboxTemplate "<t>"
 * (out->error = ERR_CONFLICT, retried with backoff); Unmanaged leaves it. */
#ifndef ASC_RECONCILER_TEMPLATE_H
#define ASC_RECONCILER_TEMPLATE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "reconciler/write.h"

typedef struct rec_tmpl_input {
    json_object *tmpl;
    json_object *np;
    const rec_outcome *outcomes;
    size_t n_outcomes;
    int64_t now_ms;
} rec_tmpl_input;

/* Run one pass into out (rec_result_init()ed). Returns 0 or ERR_NOMEM. */
int rec_template_reconcile(const rec_tmpl_input *in, rec_result *out);

/* "<template>-network-policy" into buf; returns buf. */
char *rec_template_np_name(const char *tmpl_name, char *buf, size_t len);

/* The desired NetworkPolicy spec of a Managed template (new reference):
 * podSelector on the template-ref-hash label, policyTypes [Ingress, Egress],
 * the template's ingress/egress rules verbatim or the secure default, with
 * ports[].protocol defaulted to TCP as the API server stores it (so the
 * comparison with the stored object does not flap). NULL on OOM. */
json_object *rec_template_np_spec(json_object *tmpl);

#endif
