/* blueprint.h - the SandboxBlueprint of a SandboxTemplate: hashes, staleness,
 * and the JSON helpers the template/warm-pool/claim reconcilers share.
 *
 * A blueprint is the part of a template spec that a Sandbox spec copies:
 * {podTemplate, volumeClaimTemplates, service}. Pool members carry two hash
 * labels computed from it (spec/api.md §1.7, §2.3):
 *   agents.x-k8s.io/sandbox-pod-template-hash = NameHash(canon(spec.podTemplate))
 *   agents.x-k8s.io/sandbox-template-hash     = NameHash(canon(blueprint))
 * canon() is OUR canonical JSON (object keys sorted bytewise, null members
 * dropped, no whitespace, ints as integers). Go's encoding/json emits struct
 * fields in declaration order, which we cannot reproduce from a schemaless
 * object, so the hash values differ from upstream's; they only need to be
 * deterministic, since only this controller compares them (a member labelled
 * by upstream simply takes the semantic comparison path once).
 *
 * All functions are pure and thread-agnostic; json_object arguments are
 * borrowed and never modified unless stated. */
#ifndef ASC_RECONCILER_BLUEPRINT_H
#define ASC_RECONCILER_BLUEPRINT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "reconciler/meta.h"

/* Well-known keys not already in reconciler/meta.h (spec/api.md §1.7). */
#define REC_ANN_FIRST_OBSERVED "agents.x-k8s.io/controller-first-observed-at"
#define REC_ANN_FIRST_READY    "agents.x-k8s.io/claim-first-ready-at"

/* Borrowed view of an object by name, e.g. a store read. Returns NULL when
 * absent. The pointer must stay valid for the rest of the reconcile pass. */
typedef json_object *(*rec_obj_lookup_fn)(void *ud, const char *ns, const char *name);

/* ---- canonical JSON -------------------------------------------------- */

/* Canonical encoding of v (see above) into a malloc'd NUL-terminated string
 * (caller frees); *len_out gets its length when non-NULL. NULL v encodes as
 * "null". Returns NULL on allocation failure. */
char *rec_json_canon(json_object *v, size_t *len_out);
/* NameHash of canon(v) into out (8 hex + NUL). Returns 0 or ERR_NOMEM. */
int rec_json_hash(json_object *v, char out[9]);

/* Semantic equality of two decoded API objects, as Go compares typed
 * structs after a JSON round trip: absent, null, "", [] and {} are all
 * "empty" and equal to each other; false and 0 are NOT empty (pointer
 * fields such as automountServiceAccountToken or service tell nil from
 * false); int and double compare numerically; arrays are ordered. */
int rec_json_sem_equal(json_object *a, json_object *b);

/* Deep copy (new reference, NULL on failure or NULL input). */
json_object *rec_json_copy(json_object *v);

/* ---- hashes ------------------------------------------------------------ */

/* Build the blueprint object {podTemplate, volumeClaimTemplates, service}
 * of a template or sandbox spec (new reference; absent members omitted). */
json_object *rec_bp_from_spec(json_object *spec);
/* Hash labels of a SandboxTemplate (whole object). Either out may be NULL.
 * Returns 0, ERR_INVALID (no spec.podTemplate) or ERR_NOMEM. */
int rec_bp_hashes(json_object *tmpl, char pod_template_hash[9], char blueprint_hash[9]);

/* ---- staleness (spec/api.md §2.3 step 4) ------------------------------ */

/* Memo of semantic comparisons for one pool, keyed by the member's
 * blueprint-hash label, valid for one current blueprint hash. Embed one per
 * pool (zero-initialise), release with rec_bp_memo_fini. Single-threaded. */
typedef struct rec_bp_memo {
    char current[9];
    size_t n, cap;
    struct rec_bp_memo_entry {
        char old[9];
        int stale;
    } * e;
} rec_bp_memo;
void rec_bp_memo_fini(rec_bp_memo *m);

/* 1 when the blueprint of sandbox->spec differs semantically from the
 * template's: podTemplate.spec equal after applying the secure defaults of
 * §2.5 to the template's copy; volumeClaimTemplates equal by index on
 * metadata.name + spec only; service equal (nil and false differ).
 * Metadata-only edits (pod labels/annotations, VCT labels) never differ.
 * Returns 1 (differs), 0 (same) or a negative ERR_* on allocation failure. */
int rec_bp_differs(json_object *sandbox, json_object *tmpl);

/* Staleness of a pool member against the current template:
 *  - template-ref-hash label != NameHash(template name) => stale;
 *  - owned_by_pool and blueprint-hash label == current hash => fresh;
 *  - otherwise the semantic comparison above (memoised per old hash label
 *    when memo != NULL and the member is pool-owned).
 * current_hash is rec_bp_hashes()'s blueprint hash. Returns 1/0 or ERR_*. */
int rec_bp_stale(json_object *sandbox, json_object *tmpl, const char *current_hash,
                 int owned_by_pool, rec_bp_memo *memo);

#endif
