/* claim.h - the SandboxClaim reconcile pass (spec/api.md §2.4), with our
 * two-write critical path.
 *
 * Pure: (claim, its pool and template, Sandbox views, outcomes of the
 * previous pass's writes, the shard's pools/ set, per-claim state, now)
 * -> rec_result. No HTTP, no waiting.
 *
 * THE WRITES OF A WARM CLAIM, in order (each in its own pass, the next one
 * triggered by the previous write's outcome):
 *   1. "claim-adopt": ONE merge patch of the Sandbox carrying its cached
 *      metadata.resourceVersion (compare-and-swap) that moves the controller
 *      ownerReference to the claim and rewrites labels/annotations/pod-name
 *      (claim_build.h). 409 => the candidate is parked in pools/ until a
 *      fresher version of it arrives; 404 => dropped; either way the claim
 *      takes the next candidate in the same pass.
 *   2. "claim-status": the claim's status (Ready copied from the Sandbox,
 *      status.sandbox.name, podIPs), a merge patch of /status carrying the
 *      claim's resourceVersion. The Sandbox view used is the object write 1
 *      returned, so no cache wait.
 *   3. "claim-meta": after write 2 succeeded, one merge patch of the
 *      claim's annotations: agents.x-k8s.io/sandbox-name,
 *      controller-first-observed-at, claim-first-ready-at (only the first
 *      with --disable-claim-observability-annotations).
 * The Sandbox's controller ownerReference is the crash record: a restarted
 * controller finds the claim's Sandbox among `controlled` and finishes
 * with writes 2 and 3, never taking a second sandbox.
 * After a successful write 1 the claim never takes another Sandbox until a
 * view (the returned object or the store) shows that one as its own (30 s
 * limit, then it starts over). A write-1 error other than 409/404 sets
 * out->error (backoff) and parks the candidate: the patch may have landed.
 * Ready reason AdoptionConflict is not written: a pass that meets
 * max_adopt_attempts invalid candidates while more remain requeues at once
 * (no status write on the critical path).
 * Cold claims: "claim-create" (Sandbox named like the claim) then 2 and 3.
 * Other tags: "claim-sandbox-patch" (metadata sync / launch-type of a bound
 * Sandbox), "claim-sandbox-delete" (Retain expiry), "claim-delete"
 * (Delete / DeleteForeground expiry), "claim-np-delete" (legacy NP).
 *
 * Threading and state: one rec_claim_state per claim key, and the pool_set
 * of the shard, both owned by the shard the claim hashes to: the shard of
 * "<ns>/<spec.warmPoolRef.name>" (so a pool's claims, its candidate set and
 * its refill share one thread; no locks).
 *
 * What the wiring gathers from the store for each pass (rec_claim_input):
 *   claim       the SandboxClaim (NULL when NotFound: state is released);
 *   pool        SandboxWarmPool <ns>/<spec.warmPoolRef.name> or NULL;
 *   tmpl        SandboxTemplate <ns>/<pool.spec.sandboxTemplateRef.name> or
 *               NULL (NULL when pool is NULL);
 *   lookup      Sandbox by name in the claim's namespace (store read);
 *   controlled  every Sandbox whose controller ownerReference UID is the
 *               claim's UID (the store's owner index);
 *   legacy_np   NetworkPolicy "<claim>-network-policy" or NULL;
 *   outcomes    outcomes of the writes of this claim's previous pass; on
 *               success rec_outcome.object MUST be the object the server
 *               returned (write 2 is built from write 1's answer; without
 *               it the pass waits for the cache, up to 30 s);
 *   pools       the shard's pool_set, fed with every Sandbox cache event;
 *   now_ms      wall clock.
 * Re-run the pass: on claim events; on events of Sandboxes it controls
 * (deletionTimestamp, podIPs, Ready/Finished changes); for unbound claims
 * of a pool when the pool appears/changes and when the template appears;
 * on outcomes; after requeue_after_ms. After a pass with
 * report.pool_changed, enqueue the pool's reconcile (refill at once).
 */
#ifndef ASC_RECONCILER_CLAIM_H
#define ASC_RECONCILER_CLAIM_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "pools/pool.h"
#include "reconciler/blueprint.h"
#include "reconciler/claim_policy.h"
#include "reconciler/write.h"

typedef struct rec_claim_config {
    const rec_domains *label_domains; /* NULL => {"sandbox.users.io"} */
    int disable_observability_annotations;
    int disable_events;
    int64_t warm_grace_ms;  /* wait for pending warm members this long (2000) */
    int max_adopt_attempts; /* candidates tried per pass (3) */
} rec_claim_config;

void rec_claim_config_default(rec_claim_config *c);

typedef struct rec_claim_state {
    char uid[64];              /* the claim UID this state belongs to */
    char ns[254];              /* the claim's namespace */
    int64_t first_observed_ns; /* wall ns the controller first saw the claim */
    int64_t ready_at_ns;       /* wall ns of our first Ready=True status write, 0 if none */
    char reserved[254];        /* candidate of the write 1 in flight ("" if none) */
    char reserved_pool[254];   /* its pool */
    char reserved_rv[32];      /* the resourceVersion write 1 carries */
    int write1_inflight;       /* "claim-adopt" or "claim-create" sent, outcome not seen */
    char adopted[254]; /* Sandbox write 1 adopted/created; cleared once the store shows it */
    int64_t adopted_at_ms;
    json_object *bound;       /* freshest Sandbox view from a write outcome (owned ref) */
    json_object *claim_view;  /* freshest claim view from a write outcome (owned ref) */
    int status_inflight;      /* write 2 sent, outcome not seen */
    json_object *last_status; /* the status last sent (owned), NULL if unknown */
    json_object *meta_sent;   /* annotations last sent by write 3 (owned) */
    int meta_inflight;
} rec_claim_state;

void rec_claim_state_init(rec_claim_state *s);
/* Releases memory; does NOT touch pools/ (see rec_claim_forget). */
void rec_claim_state_fini(rec_claim_state *s);
/* The claim is gone: release a reservation it still holds, then fini. */
void rec_claim_forget(rec_claim_state *s, pool_set *pools, const char *ns);

typedef struct rec_claim_input {
    json_object *claim;
    json_object *pool;
    json_object *tmpl;
    rec_obj_lookup_fn lookup;
    void *lookup_ud;
    json_object *const *controlled;
    size_t n_controlled;
    json_object *legacy_np;
    const rec_outcome *outcomes;
    size_t n_outcomes;
    pool_set *pools;
    int64_t now_ms;
} rec_claim_input;

typedef struct rec_claim_report {
    const char *launch;       /* "warm", "cold" or NULL: what this pass started/finished */
    char sandbox[254];        /* the claim's Sandbox, "" if none */
    const char *ready_reason; /* Ready reason computed ("" when status untouched) */
    int pool_changed;         /* a member left the pool: run the pool's pass */
    int adopt_conflicts;      /* write-1 409/404s settled this pass */
    int became_ready;         /* this pass wrote the first Ready=True */
} rec_claim_report;

/* Run one pass into out (rec_result_init()ed); report may be NULL.
 * Returns 0 or ERR_NOMEM. User errors never set out->error (no retry
 * storm: they requeue or wait for an event); transient write failures do. */
int rec_claim_reconcile(const rec_claim_config *cfg, rec_claim_state *st, const rec_claim_input *in,
                        rec_result *out, rec_claim_report *report);

#endif
