/* claim_policy.h - the SandboxClaim's user-input policies (spec/api.md §2.4
 * a, d, e): additionalPodMetadata validation, the no-override metadata
 * merge, env injection and the volumeClaimTemplates merge. Pure functions;
 * json arguments borrowed unless stated. Each failing call writes the exact
 * user-facing text into err (errlen bytes) and returns an ERR_* code; the
 * Ready reason it maps to is given per function. */
#ifndef ASC_RECONCILER_CLAIM_POLICY_H
#define ASC_RECONCILER_CLAIM_POLICY_H

#include <json-c/json.h>
#include <stddef.h>

/* Allowed label domains (lower-case). The default list is {"sandbox.users.io"}. */
typedef struct rec_domains {
    char **v;
    size_t n;
} rec_domains;

/* Parse the contents of /etc/sandbox-config/allowed-label-domains (comma or
 * newline separated, blanks ignored, lower-cased) into d (rec_domains_fini
 * releases it). An empty list means the default. Returns 0 or ERR_NOMEM. */
int rec_domains_parse(rec_domains *d, const char *text);
void rec_domains_fini(rec_domains *d);

/* Validate claim.spec.additionalPodMetadata (apm may be NULL). Ready reason
 * InvalidMetadata; message
 *   invalid additionalPodMetadata: failed to validate label "<k>": <reason>
 * (or ... annotation "<k>": <reason>). Keys are checked in sorted order,
 * labels first. domains NULL or empty => {"sandbox.users.io"}.
 * Returns 0 or ERR_INVALID. */
int rec_claim_validate_metadata(json_object *apm, const rec_domains *domains, char *err,
                                size_t errlen);

/* No-override merge of src (a string map) into dst (a string map object):
 * a key already in dst with a different value is an error
 *   metadata override conflict: <section> "<k>" is set to "<v1>" by the template, the claim asks
 * for "<v2>" (Ready reason ReconcilerError). section is "label" or "annotation". Returns 0,
 * ERR_INVALID (conflict) or ERR_NOMEM. */
int rec_claim_merge_no_override(json_object *dst, json_object *src, const char *section, char *err,
                                size_t errlen);

/* Env injection into pod_spec (modified in place) per the template's
 * envVarsInjectionPolicy (NULL/"" => Disallowed). Returns 0, or
 *   ERR_FORBIDDEN  reason EnvVarsInjectionRejected: "environment variable
 *                  injection rejected: environment variable injection is not
 *                  allowed by the template policy", or (Allowed, target has
 *                  envFrom) "environment variable injection rejected:
 *                  container "<c>" uses EnvFrom sources; ..."
 *   ERR_INVALID    reason ReconcilerError: "target container "<c>" not found
 *                  in template for environment variable "<n>"" or
 *                  "environment variable override is not allowed by the
 *                  template policy for variable "<n>""
 *   ERR_NOMEM. */
int rec_claim_inject_env(json_object *pod_spec, json_object *env, const char *policy, char *err,
                         size_t errlen);

/* The Sandbox's volumeClaimTemplates from the template's and the claim's
 * lists under the template's volumeClaimTemplatesPolicy (NULL/"" =>
 * Disallowed). *out gets a new reference (NULL when the result is empty).
 * Returns 0, ERR_INVALID (Ready reason VolumeClaimTemplatesError, err set)
 * or ERR_NOMEM. */
int rec_claim_merge_vcts(json_object *tmpl_vcts, json_object *claim_vcts, const char *policy,
                         json_object **out, char *err, size_t errlen);

#endif
