/* manager.h - how main wires the kube client, the informers, the LMDB store
 * and the reconcile shards (controller/manager.c; the I/O side of the
 * writes is controller/dispatch.c, the change feed -> keys rules are
 * controller/routes.c). main.c calls ctl_manager_new/start after the
 * /version check, registers ctl_manager_collect, and calls
 * ctl_manager_stop/free after stopping the HTTP servers and before
 * kube_client_free.
 *
 * Threads
 *   I/O thread (main's libev loop): kube client, informer (sole store
 *     writer), the write dispatcher, timers. Owns every ev_* and curl call.
 *   N shard threads (--shards): each owns a dedup queue of keys, runs pure
 *     reconcile passes (reconciler/) inside its own store read txn, never
 *     touches the network.
 *   HTTP threads (httpserv.h): read ctl_manager_ready() and the metrics.
 *
 * Data flow
 *   informer --commit--> store --change feed (I/O thread)--> route(key)
 *     --> shard queue (mutex + condvar) --> worker: rtxn, reconcile -> rec_result
 *     --> writes queue (mutex) + ev_async_send --> I/O thread: kube_* calls
 *     --> completion: rec_outcome copied --> back to the SAME shard, key
 *         re-enqueued with the outcome attached (reconciler/write.h).
 *
 * Keys and routing (design.md): a key is kind/namespace/name. A Sandbox,
 * its Pod/Service/PVCs (found through the change's owner_* fields) go to
 * shard(hash("sandbox/ns/name")). A SandboxClaim goes to the shard of its
 * warm pool (route "<ns>/<spec.warmPoolRef.name>", the pool's own route;
 * see controller/ext.h) so the pool's
 * candidates (pools/ pool_set, one per shard), expectations and refill have
 * one owner and need no lock; a claim without a pool hashes on its own key.
 * Templates: shard of "template/ns/name". Hash: core/namehash (FNV-1a) mod N.
 *
 * Metrics: a collector (ctl_metrics_add_collector) walks STORE_SANDBOX in a
 * read txn on each scrape to rebuild the agent_sandboxes gauge (as upstream
 * lists Sandboxes); shards observe the latency histograms and the
 * claim_creation_total counter directly (the registry is thread-safe).
 *
 * Start-up order (ctl_manager_start)
 *   1. store_open(--cache-dir) (identity checked by the informer);
 *   2. shards created and started (idle until keys arrive);
 *   3. store_set_feed(route), informer_new(loop, client, store, opts with
 *      cache_label_selectors; kinds: core four, plus the extension four
 *      when --extensions), informer_on_synced -> enqueue every stored key
 *      once (full resync) and mark ready (/readyz 200);
 *   4. informer_start.
 * Shutdown (ctl_manager_stop, on SIGTERM, bounded by main's 5 s watchdog)
 *   1. informer_stop (commits what is queued: the store stays consistent,
 *      the last resourceVersion is on disk, so a restart resumes watches);
 *   2. shards: stop accepting, finish the pass in progress, join; writes
 *      already handed to the I/O thread are sent if the loop still runs
 *      for <= 1 s (ev_run with a timer), else dropped: every write is
 *      idempotent or precondition-guarded, so the next start redoes it;
 *   3. store_close after the last read txn ended.
 */
#ifndef ASC_CONTROLLER_MANAGER_H
#define ASC_CONTROLLER_MANAGER_H

#include "controller/flags.h"
#include "controller/metrics.h"
#include "kube/kube.h"

struct ev_loop;

typedef struct ctl_manager ctl_manager;

/* Everything it borrows must outlive it (main owns loop, client, flags,
 * metrics). Returns NULL and a one-line reason in err (store cannot open). */
ctl_manager *ctl_manager_new(struct ev_loop *loop, kube_client *client, const ctl_flags *flags,
                             ctl_agent_metrics *metrics, char *err, size_t errlen);
/* I/O thread. 0 or ERR_*. */
int ctl_manager_start(ctl_manager *m);
/* I/O thread; see "Shutdown" above. Safe before start and twice. */
void ctl_manager_stop(ctl_manager *m);
void ctl_manager_free(ctl_manager *m); /* NULL is a no-op */

/* Any thread (the health server's readiness callback): 1 once every
 * informer has synced and the shards run, else 0 with a reason in why. */
int ctl_manager_ready(const ctl_manager *m, char *why, size_t whylen);

/* ctl_collect_cb for ctl_metrics_add_collector (udata: the manager): sets the
 * agent_sandboxes gauge from the store. The HTTP servers must be stopped
 * before ctl_manager_free. */
void ctl_manager_collect(ctl_metrics *reg, void *udata);

#endif
