/* sim_patch.h - the three PATCH flavours kube-apiserver accepts, as pure
 * functions on json-c trees (no I/O, no globals, any thread).
 *
 *   application/merge-patch+json            sim_merge_patch      (RFC 7386)
 *   application/json-patch+json             sim_json_patch       (RFC 6902)
 *   application/strategic-merge-patch+json  sim_strategic_merge  (core kinds)
 *
 * Ownership: the inputs are never modified; every result is a NEW tree the
 * caller releases with json_object_put() (sim_merge_patch_shared's result
 * shares the nodes it did not change with its input, see there). Nothing here knows about
 * resourceVersions, uids or subresources: the server applies the patch to the
 * stored object, then runs its own checks (preconditions, immutable fields,
 * schema) on the result.
 *
 * Error texts: err (may be NULL, errlen 0) receives a short human description
 * for logs. The real server answers a failed JSON patch with its generic 422
 * ("the server rejected our request due to an error in our request",
 * details {}), so the server should not put err on the wire for that case.
 */
#ifndef ASC_BENCH_SIM_PATCH_H
#define ASC_BENCH_SIM_PATCH_H

#include <json-c/json.h>
#include <stddef.h>

/* RFC 7386 JSON merge patch: objects merge recursively, a null member
 * deletes the key, anything else (arrays included) replaces the target.
 * doc may be NULL (treated as absent). A patch that is not an object
 * replaces doc entirely: the result is a deep copy of patch (NULL when the
 * patch is JSON null). Returns a new tree, or NULL on allocation failure or
 * for a null patch. */
json_object *sim_merge_patch(json_object *doc, json_object *patch);

/* The same merge patch without copying what the patch leaves alone: the
 * result's containers along the patched paths are new, every other value is
 * a reference to doc's node (json_object_get), and the patch's own values
 * are copied. Same result and key order as sim_merge_patch. doc is not
 * modified, but the result SHARES nodes with it: the caller must not modify
 * a node it did not create (sim_json_unshare / sim_json_own_object make them
 * private first). Every shared node sits at the same path in the result as
 * in doc, which is what those helpers rely on. Returns a new tree or NULL
 * (allocation failure, null patch). */
json_object *sim_merge_patch_shared(json_object *doc, json_object *patch);

/* Make every node of n that is the very node found at the same path in base
 * (pointer equality, objects by key, arrays by index) a private deep copy,
 * so n can then be modified freely. n itself must not be base. Returns 0 or
 * ERR_NOMEM (n then still valid, some nodes still shared). */
int sim_json_unshare(json_object *n, json_object *base);

/* A new object holding the same keys as o in the same order, each value a
 * reference to o's (NULL when o is not an object or on allocation failure). */
json_object *sim_json_shallow_copy(json_object *o);

/* RFC 6902 JSON patch. ops must be an array of operation objects
 * {op, path, value|from}; op is add, remove, replace, move, copy or test.
 * Paths are JSON Pointers (RFC 6901: "~1" is '/', "~0" is '~'); "-" as the
 * last token of an add/copy/move target appends to an array. Operations
 * apply in order to a copy of doc; the first failure aborts the whole patch.
 * Numbers in `test` compare by value (1 == 1.0), objects ignoring key order.
 *
 * Returns 0 with *out = new tree;
 *   ERR_BADREQUEST    ops is not an array of objects (the server's 400
 *                     "json: cannot unmarshal ..." case);
 *   ERR_UNPROCESSABLE an operation failed: unknown op, missing path/from/
 *                     value, path not found (remove/replace/test/move/copy
 *                     source), array index out of range, failed test, a move
 *                     into its own child (golden json-patch-test-fail: 422);
 *   ERR_NOMEM.
 * *out is NULL on every error. */
int sim_json_patch(json_object *doc, json_object *ops, json_object **out, char *err, size_t errlen);

/* Kubernetes strategic merge patch for the core kinds the simulator serves
 * (kind is the Kind: "Pod", "Node", "Service", "ConfigMap", ...; NULL or an
 * unknown kind still gets the generic metadata rules).
 *
 * Semantics:
 *  - maps merge recursively, a null value deletes the key;
 *  - lists with a merge key merge element by element (a patch element
 *    updates the stored element with the same key; the result orders the
 *    patch's elements as the patch does and keeps the stored-only ones in
 *    their order, each before the first later patch element the server held
 *    further down, so elements new to the server come FIRST, as on the real
 *    server: golden strategic-merge-pod, pod-status):
 *    metadata.ownerReferences by uid; status.conditions by type;
 *    spec.containers / initContainers / ephemeralContainers by name;
 *    containers[].ports by containerPort; env by name; volumes by name;
 *    volumeMounts by mountPath; volumeDevices by devicePath;
 *    imagePullSecrets by name; hostAliases by ip; status.podIPs /
 *    status.hostIPs by ip; node status.addresses by type; Service spec.ports
 *    by port; topologySpreadConstraints by topologyKey; resourceClaims and
 *    schedulingGates by name;
 *  - metadata.finalizers is a set of primitives: merged like a keyed list
 *    (duplicates dropped, new values first);
 *  - every other list is replaced by the patch's list;
 *  - directives: {"$patch": "delete"} as a list element (with its merge key)
 *    removes the matching stored element, as a map deletes that map;
 *    {"$patch": "replace"} in a map replaces the map by the rest of the
 *    patch map, as a list element replaces the whole list by the other
 *    elements; "$deleteFromPrimitiveList/<field>": [v...] removes values
 *    from a primitive list; "$setElementOrder/<field>": [...] (kubectl
 *    apply) puts the listed elements of the merged list first in that
 *    order, the others after them in server order; "$retainKeys": [k...]
 *    drops the map's other keys. Directives never reach the result.
 *
 * Returns 0 with *out = new tree; ERR_BADREQUEST when patch is not an object
 * or a directive is malformed (unknown $patch value, a merge-keyed element
 * without its key); ERR_NOMEM. *out is NULL on error. */
int sim_strategic_merge(json_object *doc, json_object *patch, const char *kind, json_object **out,
                        char *err, size_t errlen);

/* Add member k (which o must not hold yet) with value v (taken, also on
 * failure). Well-known Kubernetes keys ("metadata", "name", "labels", ...)
 * point at static strings instead of being copied: ~200 instructions less
 * per member on the write path. Returns 0 or ERR_NOMEM. */
int sim_json_add_new(json_object *o, const char *k, json_object *v);

/* Deep equality of two JSON values (object key order ignored, numbers by
 * value). NULL equals NULL; a node equals itself (shared subtrees compare
 * in O(1)). Exposed because the server needs it to detect
 * no-op writes. Returns 1 when equal, else 0. */
int sim_json_equal(json_object *a, json_object *b);

#endif
