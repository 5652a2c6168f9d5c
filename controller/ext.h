/* ext.h - the extension controllers (SandboxTemplate, SandboxWarmPool,
 * SandboxClaim; spec/api.md §2.2-2.4) wired into the manager when
 * --extensions is given.
 *
 * Keys (reconcile key -> route hashed to pick the shard):
 *   "claim/<ns>/<c>"       -> "<ns>/<spec.warmPoolRef.name>" (own key if none)
 *   "pool/<ns>/<p>"        -> "<ns>/<p>"
 *   "poolmember/<ns>/<p>:<s>" -> "<ns>/<p>" (p: the pool controlling s, now
 *                             or before the change): feeds the shard's
 *                             pools/ set (pool_observe / pool_forget), then
 *                             and the pool's member set (ext.c mcache),
 *                             then queues "pool/<ns>/<p>" after the
 *                             coalescing window (ext.c queue_pool_after), so
 *                             the member events of a burst share one pool
 *                             pass; a claim's adoption queues the pool pass
 *                             the same way
 *   "template/<ns>/<t>"    -> the key itself
 * so a pool, its claims and its candidate set share one shard thread.
 *
 * State per shard (owned by that shard's worker thread, never locked): one
 * pool_set, one rec_wp_state per pool, one rec_claim_state per claim. The
 * routing state (ext_routes.h) belongs to the I/O thread.
 *
 * Each process function opens one store read txn, gathers the inputs the
 * pure pass documents (reconciler/claim.h, warmpool.h, template.h), runs
 * it, and ends the txn. Outcomes of the previous pass are handed through
 * unchanged: rec_outcome.object is the object the server returned, so the
 * claim's write 2 is built from write 1's answer with no cache wait. After
 * a claim pass whose report says pool_changed, the pool's key is queued
 * after the coalescing window (20-100 ms: the refill starts within it, and
 * a stream of claims does not turn into back-to-back pool passes). Pool
 * members are decoded and digested once per change (ext.c mcache), not
 * once per pass, and listed from the store only every
 * CTL_EXT_POOL_RELIST_MS (or when the pool or its template changed).
 *
 * Return codes: 0, or ERR_* from the store / ERR_NOMEM (the shard retries). */
#ifndef ASC_CONTROLLER_EXT_H
#define ASC_CONTROLLER_EXT_H

#include <stddef.h>

#include "controller/flags.h"
#include "reconciler/shard.h"
#include "reconciler/write.h"
#include "store/store.h"

struct ctl_manager;
typedef struct ctl_ext ctl_ext;

/* Member events of this window share one pool pass (see above). */
#define CTL_EXT_POOL_COALESCE_MS 20
/* See ext.c queue_pool_after: pool passes queued by claims and member
 * events wait DUTY x the last pool pass (within [COALESCE, COALESCE_MAX]). */
#define CTL_EXT_POOL_DUTY            4
#define CTL_EXT_POOL_COALESCE_MAX_MS 100
/* A pool pass lists its members from the store at least this often (and
 * when the pool's generation or its template changes); in between it uses
 * the members its member events keep current (ext.c mcache). */
#define CTL_EXT_POOL_RELIST_MS 10000

/* The file of allowed label domains (optional; spec/api.md §2.4 a). */
#define CTL_EXT_LABEL_DOMAINS_FILE "/etc/sandbox-config/allowed-label-domains"

/* shards: the manager's shard count. domains_file NULL: the default path.
 * NULL on allocation failure (err filled). */
ctl_ext *ctl_ext_new(const ctl_flags *f, int shards, const char *domains_file, char *err,
                     size_t errlen);
/* After the shard workers were joined. NULL is a no-op. */
void ctl_ext_free(ctl_ext *x);

/* Process functions with the manager's ctl_kind_process_fn signature
 * (worker thread of `shard`); they use m->ext, m->st and m->shards. */
int ctl_ext_process_claim(struct ctl_manager *m, int shard, const char *ns, const char *name,
                          const rec_outcome *oc, size_t n, rec_result *out);
int ctl_ext_process_pool(struct ctl_manager *m, int shard, const char *ns, const char *name,
                         const rec_outcome *oc, size_t n, rec_result *out);
int ctl_ext_process_poolmember(struct ctl_manager *m, int shard, const char *ns, const char *name,
                               const rec_outcome *oc, size_t n, rec_result *out);
int ctl_ext_process_template(struct ctl_manager *m, int shard, const char *ns, const char *name,
                             const rec_outcome *oc, size_t n, rec_result *out);

/* I/O thread: the change feed (after the Sandbox routes) and the first
 * full pass once the informers synced. See ext_routes.h. */
typedef int (*ctl_ext_emit_fn)(void *udata, const char *route, const char *key);
void ctl_ext_route_batch(ctl_ext *x, store *st, const store_change *c, size_t n,
                         ctl_ext_emit_fn emit, void *ud);
void ctl_ext_synced(ctl_ext *x, store *st, ctl_ext_emit_fn emit, void *ud);

/* The shards' priority lane (rec_shard_opts.priority): claim keys. A claim
 * waits on its pool's shard behind pool passes, member and Sandbox keys
 * otherwise; those wait at most rec_shard_opts.priority_max_wait_ms. Any
 * thread. */
int ctl_ext_key_priority(const char *key);

/* rec_shard_opts.followup_delay (udata: the ctl_manager): a pool pass with
 * writes consumes their outcomes after the pool's coalescing window instead
 * of at once, so a stream of claims (each pass creating the new deficit)
 * does not run the O(members) pool pass back to back. Other keys: 0. */
int64_t ctl_ext_followup_delay(void *manager, int shard, const char *key);

#endif
