/* sandbox_view.h - what a shard worker reads from the store for one Sandbox
 * pass, and the whole pass in one call.
 *
 *   rec_sandbox_view_load(&v, rtxn, ns, name)  fills v.in (rec_sandbox_input,
 *       sandbox.h) with decoded copies of: the Sandbox; the Pods of ns
 *       labelled agents.x-k8s.io/sandbox-name-hash=NameHash(name) (index
 *       store_pods_by_hash); the Pod named rec_sandbox_pod_name(); the
 *       Service named like the Sandbox; the PVCs <vct>-<name>.
 *   rec_sandbox_run(store, ns, name, outcomes, opts, now, out)  opens a read
 *       txn, loads, ends the txn, reconciles, frees the view.
 *
 * The objects are owned by the view (rec_sandbox_view_fini puts them); the
 * outcomes are borrowed. Thread: any worker thread; at most one read txn per
 * thread (store.h). Returns 0, ERR_NOTFOUND when the Sandbox is not in the
 * store (rec_sandbox_run then returns 0 with an empty result: a deleted
 * Sandbox needs nothing, GC removes its children), or a store/ERR_NOMEM code.
 * A failed pod index read is not fatal: it sets in.pod_lookup_failed, which
 * the reconcile reports as PodStateUnknown / ReconcilerError. */
#ifndef ASC_RECONCILER_SANDBOX_VIEW_H
#define ASC_RECONCILER_SANDBOX_VIEW_H

#include "reconciler/sandbox.h"
#include "store/store.h"

typedef struct rec_sandbox_view {
    rec_sandbox_input in; /* points into the fields below */
    json_object *sandbox, *named_pod, *service;
    json_object **pods;
    size_t n_pods, cap_pods;
    json_object **pvcs;
    size_t n_pvcs, cap_pvcs;
} rec_sandbox_view;

/* Options a pass takes from the controller's flags. */
typedef struct rec_sandbox_opts {
    const char *cluster_domain; /* --cluster-domain; NULL: cluster.local */
    int64_t status_settle_ms;   /* see rec_sandbox_input; 0: off */
} rec_sandbox_opts;

int rec_sandbox_view_load(rec_sandbox_view *v, store_rtxn *r, const char *ns, const char *name);
void rec_sandbox_view_fini(rec_sandbox_view *v);

/* out must be rec_result_init'ed (the shard does that). now_ms: wall clock. */
int rec_sandbox_run(store *s, const char *ns, const char *name, const rec_outcome *outcomes,
                    size_t n_outcomes, const rec_sandbox_opts *opts, int64_t now_ms,
                    rec_result *out);

/* Split a shard key "sandbox/<ns>/<name>" (the "sandbox/" prefix optional)
 * into ns and name buffers. Returns 0 or ERR_INVALID. */
int rec_sandbox_key_split(const char *key, char *ns, size_t nslen, char *name, size_t namelen);

#endif
