/* sandbox.h - the Sandbox reconcile (spec/api.md §2.1) as a pure function.
 *
 *   rec_sandbox_reconcile(in, now_ms, out)
 *
 * takes the objects the cache holds for one Sandbox plus the outcomes of the
 * previous pass's writes, and fills a rec_result (write.h) with the writes to
 * make, the Events to emit and when to run again. It never talks to the API
 * server and keeps no state between calls (everything it needs is in `in`)
 * but one: when a generation-only status change was first seen (below).
 *
 * What the caller (a shard worker) puts into rec_sandbox_input, all borrowed
 * for the duration of the call (nothing is retained or modified):
 *   sandbox     the Sandbox from the cache (required; v1beta1 JSON).
 *   pods        the Pods of the Sandbox's namespace whose label
 *               agents.x-k8s.io/sandbox-name-hash == NameHash(sandbox name)
 *               (the store's tracking-label index), any order, may be empty.
 *   named_pod   the Pod named rec_sandbox_pod_name(sandbox) in that namespace,
 *               or NULL when the cache has none (it may also be in `pods`).
 *   service     the Service named like the Sandbox, or NULL.
 *   pvcs        the PVCs named rec_sandbox_pvc_name() for each of the
 *               Sandbox's volumeClaimTemplates that the cache has (others
 *               are ignored).
 *   outcomes    the outcomes of the writes of this key's most recent pass
 *               that had writes (see "outcomes" below); may be empty.
 *   cluster_domain  for status.serviceFQDN; NULL => "cluster.local".
 *   pod_lookup_failed  1 when the store could not be read for pods (yields
 *               the PodStateUnknown / PodSchedulingUnknown conditions).
 *   status_settle_ms  0 = off (exactly upstream). > 0: a transitional status
 *               (owned pod created less than this long ago, not yet Ready,
 *               Ready was not True before) is not written; the pass asks to
 *               run again when the window ends. This is what makes a launch
 *               cost pod create + service create + pod-name annotation + one
 *               status patch. Likewise a status whose only change is the
 *               conditions' observedGeneration (a spec edit such as a claim's
 *               adoption patch) waits the window from the first pass that saw
 *               it, so it stays off the claim's critical path; that start is
 *               kept per thread, keyed by the Sandbox uid (a key always runs
 *               on the shard that owns it; a fixed table of 1024, when full
 *               the write goes out at once).
 *
 * Outcomes (read-your-writes without extra GETs). Every write carries a
 * static tag; the shard hands the outcomes of a pass's writes to the next
 * pass and keeps them until a later pass has writes of its own. The
 * reconcile uses them so:
 *   - a successful create/update/patch returns the object: it stands in for
 *     the cached copy while the cache has not seen it yet (picked by the
 *     higher resourceVersion), so a pass that runs before the watch event
 *     neither creates twice nor rewrites an unchanged status;
 *   - a failed write of an action the pass decides to take again becomes
 *     Ready=False/ReconcilerError/"Error seen: <server message>" and the pass
 *     returns out->error != 0, so the shard retries with exponential backoff
 *     (an invalid pod template is not retried in a hot loop);
 *   - "pod-create" AlreadyExists while the cache has no such pod (a foreign
 *     pod the cache cannot see) is such a failure too: ReconcilerError with
 *     the server's message, create retried with backoff;
 *   - successful / NotFound deletes are not repeated while the cache lags.
 *
 * Write tags: "pvc-create", "pvc-adopt", "pod-create", "pod-patch",
 * "pod-delete", "svc-create", "svc-update", "svc-patch", "svc-delete",
 * "sandbox-meta" (pod-name annotation merge patch), "sandbox-status" (merge
 * patch on the status subresource), "sandbox-delete". Creates should be sent
 * with fieldManager=sandbox-controller (REC_FIELD_MANAGER).
 *
 * out->requeue_after_ms: < 0 none; 0 = run again as soon as this pass's
 * writes have completed (e.g. PVCs created, pod create waits for them);
 * > 0 = run again after that delay (shutdownTime - now exactly, where
 * upstream floors it at 2 s; 1 ms between expiry mark and teardown; the
 * settle window). out->error != 0 asks for a retry with backoff. The
 * controller passes --sandbox-write-behind-window as status_settle_ms
 * (controller/manager.c). Not implemented: the tracing annotation stamp.
 *
 * Returns 0, ERR_INVALID (no sandbox / not an object), ERR_NOMEM. On a
 * non-zero return `out` holds no writes. Thread: any; reentrant (the
 * settle table is thread-local). */
#ifndef ASC_RECONCILER_SANDBOX_H
#define ASC_RECONCILER_SANDBOX_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "reconciler/write.h"

typedef struct rec_sandbox_input {
    json_object *sandbox;
    json_object *const *pods;
    size_t n_pods;
    json_object *named_pod;
    json_object *service;
    json_object *const *pvcs;
    size_t n_pvcs;
    const rec_outcome *outcomes;
    size_t n_outcomes;
    const char *cluster_domain;
    int pod_lookup_failed;
    int64_t status_settle_ms;
} rec_sandbox_input;

int rec_sandbox_reconcile(const rec_sandbox_input *in, int64_t now_ms, rec_result *out);

/* Name of the Pod to look up for this Sandbox: the non-empty
 * agents.x-k8s.io/pod-name annotation, else the Sandbox name. Borrowed from
 * sandbox; NULL if the Sandbox has no name. */
const char *rec_sandbox_pod_name(json_object *sandbox);

/* "<vct.metadata.name>-<sandbox name>" into buf; returns buf, or NULL when
 * the template has no name or buf is too small. */
char *rec_sandbox_pvc_name(json_object *vct, json_object *sandbox, char *buf, size_t len);

#endif
