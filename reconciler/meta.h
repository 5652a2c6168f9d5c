/* meta.h - object-metadata helpers shared by every reconciler: well-known
 * keys (spec/api.md §1.7), controller ownerReferences, the system-key filter,
 * created-by normalisation, label/annotation copying and metadata merge
 * patches.
 *
 * All functions are pure and thread-agnostic. json_object arguments are
 * borrowed; a function returning json_object* says whether the reference is
 * new (caller puts it) or borrowed (owned by the argument it came from). */
#ifndef ASC_RECONCILER_META_H
#define ASC_RECONCILER_META_H

#include <json-c/json.h>
#include <stddef.h>

#include "kube/kube.h"

/* ---- well-known keys (exact wire strings) ------------------------------ */
#define REC_LABEL_NAME_HASH         "agents.x-k8s.io/sandbox-name-hash"
#define REC_ANN_POD_NAME            "agents.x-k8s.io/pod-name"
#define REC_ANN_TEMPLATE_REF        "agents.x-k8s.io/sandbox-template-ref"
#define REC_LABEL_LAUNCH_TYPE       "agents.x-k8s.io/launch-type"
#define REC_LABEL_CREATED_BY        "agents.x-k8s.io/created-by"
#define REC_LABEL_POD_TEMPLATE_HASH "agents.x-k8s.io/sandbox-pod-template-hash"
#define REC_LABEL_TEMPLATE_HASH     "agents.x-k8s.io/sandbox-template-hash"
#define REC_ANN_PROPAGATED_LABELS   "agents.x-k8s.io/propagated-labels"
#define REC_ANN_PROPAGATED_ANNS     "agents.x-k8s.io/propagated-annotations"
#define REC_LABEL_ADOPTABLE         "agents.x-k8s.io/adoptable"
#define REC_LABEL_WARM_POOL         "agents.x-k8s.io/warm-pool-sandbox"
#define REC_LABEL_TEMPLATE_REF_HASH "agents.x-k8s.io/sandbox-template-ref-hash"
#define REC_LABEL_CLAIM_UID         "agents.x-k8s.io/claim-uid"
#define REC_ANN_SANDBOX_NAME        "agents.x-k8s.io/sandbox-name"
#define REC_ANN_TRACE_CONTEXT       "opentelemetry.io/trace-context"
#define REC_ANN_SAFE_TO_EVICT       "cluster-autoscaler.kubernetes.io/safe-to-evict"
#define REC_GROUP_AGENTS            "agents.x-k8s.io"
#define REC_GROUP_EXTENSIONS        "extensions.agents.x-k8s.io"
#define REC_FIELD_MANAGER           "sandbox-controller"

/* ---- system keys -------------------------------------------------------- */

/* 1 if key starts with "agents.x-k8s.io/" or "extensions.agents.x-k8s.io/". */
int rec_meta_is_system_key(const char *key);
/* rec_meta_is_system_key(), plus "opentelemetry.io/trace-context". */
int rec_meta_is_system_annotation(const char *key);

/* created-by label value normalised to the allow-list "python-client",
 * "go-client", "controller"; anything else (including "") => "unknown";
 * NULL => NULL (label absent). Returns a static string. */
const char *rec_meta_created_by_normalize(const char *v);

/* ---- owner references --------------------------------------------------- */

/* The ownerReferences entry with controller == true, or NULL. Borrowed from obj. */
json_object *rec_meta_controller_ref(json_object *obj);
/* 1 if obj's controller ref has this uid (uid non-empty), else 0. */
int rec_meta_is_controlled_by(json_object *obj, const char *uid);
/* Group part of a ref's apiVersion ("" for core "v1") into buf; returns buf. */
char *rec_meta_ref_group(json_object *ref, char *buf, size_t len);
/* "<Kind>/<Name> (UID: <uid>)" as used in ownership error messages; returns buf. */
char *rec_meta_ref_describe(json_object *ref, char *buf, size_t len);

/* New controller ownerReference for owner (an object of resource res):
 * {apiVersion, kind, name, uid, controller:true, blockOwnerDeletion:true}
 * (SetControllerReference). New reference, NULL on allocation failure. */
json_object *rec_meta_owner_ref_new(const kube_resource *res, json_object *owner);

/* Copy of obj's ownerReferences with every controller ref replaced by
 * ref (which is consumed); other refs kept. New reference (an array). */
json_object *rec_meta_owner_refs_with(json_object *obj, json_object *ref);

/* ---- labels / annotations ----------------------------------------------- */

/* metadata.<section> of obj ("labels" or "annotations"), NULL when absent. Borrowed. */
json_object *rec_meta_map(json_object *obj, const char *section);

/* String value of one key of a map (dots in the key are literal, unlike
 * jx_str paths). NULL when absent or not a string. Borrowed. */
const char *rec_meta_map_str(json_object *map, const char *key);

/* Copy string entries of src into dst (objects) whose key passes keep()
 * (NULL keep = all), overwriting. Returns the number copied or ERR_NOMEM. */
int rec_meta_copy_map(json_object *dst, json_object *src, int (*keep)(const char *key));

/* Sorted keys of map that pass keep(), comma-joined, into a malloc'd string
 * ("" when none). Caller frees. NULL on allocation failure. */
char *rec_meta_keys_csv(json_object *map, int (*keep)(const char *key));

/* 1 if the comma-separated list csv contains key exactly. */
int rec_meta_csv_has(const char *csv, const char *key);

/* Add {"metadata":{"<section>":{key: value}}} to a merge patch, creating
 * *patch on first use. value NULL means delete (JSON null). Returns 0 or ERR_NOMEM. */
int rec_meta_patch_set(json_object **patch, const char *section, const char *key,
                       const char *value);

/* resourceVersion comparison for picking the fresher of two views of one
 * object: 1 if a is newer than b, -1 if older, 0 if equal or not comparable
 * (non-numeric or missing). Kubernetes calls rv opaque; both the apiserver
 * (etcd revision) and the simulator use integers, and callers fall back to
 * the cached copy when this returns 0. */
int rec_meta_rv_cmp(json_object *a, json_object *b);

#endif
