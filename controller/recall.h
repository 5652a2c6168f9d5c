/* recall.h - read-your-writes across passes, per shard.
 *
 * The shard hands a pass the outcomes of the previous pass's writes once
 * (reconciler/shard.h). When that pass writes again (the pod-name annotation
 * after a pod create), the pass after it no longer sees the created Pod's
 * outcome, and if the watch event has not reached the store yet it would
 * create the Pod a second time (409, then backoff: extra writes, slower
 * launches under load). A recall remembers each successful write's returned
 * object per key and hands it to later passes again, until the store has
 * caught up:
 *   - the store holds the object with the same uid: the entry is marked seen
 *     and still offered (the reconcile keeps the higher resourceVersion);
 *   - the store lost an object it had seen (deleted), or holds another uid
 *     (recreated): the entry is dropped, the store is the truth;
 *   - a DELETE answered with Status Success (the object went at once) is
 *     kept while the store still holds the object, and dropped once it
 *     does not (or holds another uid): a pass in between must not delete
 *     it again;
 *   - CTL_RECALL_TTL_MS after the write: dropped whatever happened.
 * A newer outcome with the same tag replaces the entry. Failed writes are
 * never recalled (a failure is reported by the pass that sees it).
 *
 * Threads: one recall per shard, used only by that shard's worker thread
 * (a key always runs on the same shard), so nothing is locked. */
#ifndef ASC_CONTROLLER_RECALL_H
#define ASC_CONTROLLER_RECALL_H

#include <stddef.h>
#include <stdint.h>

#include "reconciler/write.h"
#include "store/store.h"

#define CTL_RECALL_TTL_MS 10000

typedef struct ctl_recall ctl_recall;

ctl_recall *ctl_recall_new(void);    /* NULL: out of memory */
void ctl_recall_free(ctl_recall *r); /* NULL is a no-op */

/* Before a pass of key (its objects live in namespace ns; NULL or "" for
 * cluster-scoped keys): remember oc's successes, then return in *out the
 * outcomes to hand to the pass (oc first, then recalled ones whose tag oc
 * lacks). *out is valid until the next call for any key; *nout may be n.
 * st: the store checked in a read txn of its own, opened only when the key
 * has entries and ended before return (NULL: no checks, TTL only).
 * Returns 0 (on allocation failure oc itself is returned). */
int ctl_recall_outcomes(ctl_recall *r, store *st, const char *key, const char *ns,
                        const rec_outcome *oc, size_t n, int64_t now_ms, const rec_outcome **out,
                        size_t *nout);

/* Keys with entries (tests, stats). */
size_t ctl_recall_keys(const ctl_recall *r);

#endif
