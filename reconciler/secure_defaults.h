/* secure_defaults.h - the secure pod defaults of spec/api.md §2.5.
 *
 * Applied to the pod spec of Sandboxes the extensions create (claim
 * cold-create and warm-pool members), never to Sandboxes users create, and
 * to the template's copy when the warm pool compares blueprints, so a
 * defaulted member is not stale against its own template:
 *  - automountServiceAccountToken unset => false;
 *  - template networkPolicyManagement Managed (or empty) AND template
 *    spec.networkPolicy unset AND pod dnsPolicy empty =>
 *    dnsPolicy "None", dnsConfig.nameservers ["8.8.8.8", "1.1.1.1"]
 *    (other dnsConfig members are kept). The managed default NetworkPolicy
 *    blocks cluster DNS, hence the public resolvers.
 * Pure; json arguments borrowed. */
#ifndef ASC_RECONCILER_SECURE_DEFAULTS_H
#define ASC_RECONCILER_SECURE_DEFAULTS_H

#include <json-c/json.h>

/* Modify pod_spec (a PodSpec object) in place. tmpl_spec is the template's
 * spec (may be NULL: treated as Managed without networkPolicy).
 * Returns 0, ERR_INVALID (pod_spec not an object) or ERR_NOMEM. */
int rec_secure_defaults_apply(json_object *pod_spec, json_object *tmpl_spec);

#endif
