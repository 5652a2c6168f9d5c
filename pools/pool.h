/* pool.h - per warm pool, the set of adoptable Sandboxes a claim can take.
 *
 * One pool_set holds the pools of ONE shard. A SandboxWarmPool and every
 * claim that references it hash to the shard of "<ns>/<pool>", so all calls
 * for one pool come from that shard's thread: there is no lock inside, and
 * a pool_set must never be touched by two threads.
 *
 * Feeding it (the wiring): route every Sandbox cache event (ADDED,
 * MODIFIED, relist) whose object has a SandboxWarmPool controller
 * ownerReference to the shard of "<ns>/<that owner's name>" and call
 * pool_observe() there; DELETED events likewise, with pool_forget() (the
 * deleted object still names its pool). Events whose object names no pool
 * may be dropped: a member that left its pool by other means (adopted by a
 * claim: the claim pass calls pool_done itself; labels edited by hand) is
 * validated against the store when taken and dropped then. Call
 * pool_drop_pool() when the SandboxWarmPool is deleted.
 *
 * Membership ("adoptable", spec/api.md §2.4): not being deleted; labels
 * agents.x-k8s.io/warm-pool-sandbox and agents.x-k8s.io/sandbox-template-ref-hash
 * present; a controller ownerReference of group extensions.agents.x-k8s.io,
 * kind SandboxWarmPool (any version). The pool key is "<ns>/<owner name>".
 *
 * Take order (upstream's getCandidate, computed without a list or a GET):
 *  1. members that are Ready with podIPs; among them those on the node with
 *     the most queued (unreserved) members of this pool, spreading load;
 *     ties by age (oldest creationTimestamp first, then name), and between
 *     equally loaded nodes the node whose oldest Ready member is oldest;
 *  2. else members with podIPs that are not Ready (fallback), oldest first;
 *  3. members without podIPs are never taken; pool_take reports how many
 *     there are ("pending"), so a young claim can wait for them.
 * pool_take is O(log n); every update is O(log n) (indexed heaps: one per
 * node for Ready members, one per pool of nodes, one per pool for the
 * fallback).
 *
 * Parking: see pool_release_conflict().
 *
 * Reservation: a taken member is RESERVED: invisible to pool_take and not
 * counted as queued, until its adoption write returns: pool_release() puts
 * it back (409 Conflict: the store will deliver the fresher object),
 * pool_done() forgets it (adopted, or 404). Cache events for a reserved
 * member update its fields but keep it reserved; an event that shows it no
 * longer adoptable removes it whatever its state.
 *
 * Memory: every string is copied; nothing returned is borrowed except where
 * stated. Return codes: 0, ERR_NOTFOUND, ERR_INVALID, ERR_NOMEM. */
#ifndef ASC_POOLS_POOL_H
#define ASC_POOLS_POOL_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pool_set pool_set;

/* Facts about one adoptable member, as pool_upsert takes them. */
typedef struct pool_member_info {
    const char *pool;   /* owning SandboxWarmPool name (required) */
    int ready;          /* Sandbox Ready condition is True */
    int has_pod_ips;    /* status.podIPs non-empty */
    const char *node;   /* status.nodeName or NULL */
    int64_t created_ms; /* metadata.creationTimestamp (wall ms) */
    const char *rv;     /* metadata.resourceVersion or NULL (see pool_release_conflict) */
} pool_member_info;

typedef struct pool_pick {
    char name[254]; /* the Sandbox's name */
    int ready;      /* 1: Ready with podIPs; 0: the not-Ready fallback */
    size_t pending; /* members still without podIPs (also filled on ERR_NOTFOUND) */
} pool_pick;

typedef struct pool_stats {
    size_t members;  /* everything tracked, reserved included */
    size_t ready;    /* takeable: Ready with podIPs */
    size_t fallback; /* takeable: podIPs, not Ready */
    size_t pending;  /* without podIPs */
    size_t reserved;
    size_t parked; /* lost a compare-and-swap; waiting for a fresher cache event */
} pool_stats;

pool_set *pool_set_new(void);
void pool_set_free(pool_set *s); /* NULL is a no-op */

/* Feed one Sandbox from a cache event (ADDED / MODIFIED / relist): adds or
 * updates it when adoptable, removes it otherwise. A malformed object is
 * treated as not adoptable. Returns 0 or ERR_NOMEM. */
int pool_observe(pool_set *s, json_object *sandbox);
/* The Sandbox was deleted from the cache. No-op when unknown. */
void pool_forget(pool_set *s, const char *ns, const char *name);
/* The SandboxWarmPool was deleted: drop its members and state. */
void pool_drop_pool(pool_set *s, const char *ns, const char *pool);

/* Lower-level add/update (what pool_observe calls). ERR_INVALID when
 * info->pool is missing. A member that changes pool moves. */
int pool_upsert(pool_set *s, const char *ns, const char *name, const pool_member_info *info);

/* Take and reserve the next candidate of pool "<ns>/<pool>" into *out.
 * 0, or ERR_NOTFOUND when nothing is takeable (out->pending still set). */
int pool_take(pool_set *s, const char *ns, const char *pool, pool_pick *out);
/* End a reservation. release: back into the order (409 / transient error).
 * done: forget the member (adopted, or 404). Both no-ops when unknown. */
void pool_release(pool_set *s, const char *ns, const char *name);
void pool_done(pool_set *s, const char *ns, const char *name);
/* End a reservation whose compare-and-swap write failed with 409 while
 * carrying resourceVersion rv_tried. If a cache event with another
 * resourceVersion arrived meanwhile the member goes straight back into the
 * order; otherwise it is PARKED (not takeable, not queued) until the next
 * event brings a different resourceVersion, so claims do not retry a
 * version the server already refused. */
void pool_release_conflict(pool_set *s, const char *ns, const char *name, const char *rv_tried);

/* Counters of one pool (all zero when unknown). */
void pool_get_stats(const pool_set *s, const char *ns, const char *pool, pool_stats *out);
/* 1 when the member is tracked and reserved. */
int pool_is_reserved(const pool_set *s, const char *ns, const char *name);

/* Adoptability of a Sandbox object per the rules above: returns 1 and puts
 * the owning pool's name (borrowed from sandbox) in *pool_out, else 0. */
int pool_sandbox_adoptable(json_object *sandbox, const char **pool_out);

#endif
