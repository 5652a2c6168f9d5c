/* shard.h - N reconcile workers, each owning the keys that hash to it.
 *
 * Threads:
 *   - worker threads (one per shard) run rec_process_fn. They read the store
 *     and compute; they never touch the network, libev or curl. The only
 *     libev call they make is ev_async_send() to wake the I/O loop.
 *   - the I/O thread (the libev loop that runs the kube client) receives the
 *     passes that have writes/events through rec_submit_fn, executes them,
 *     and hands each ticket back with rec_shards_complete().
 *   - any thread may call rec_shards_add*() (informer event handlers do).
 *
 * A key always maps to the same shard: shard = FNV-1a(route) % n, route
 * being the caller's routing key or, when NULL, the key itself (claims use
 * "<ns>/<pool>" so a pool and its claims share one owner).
 *
 * Life of a pass for key K on shard S:
 *   1. K is taken from S's queue (de-duplicated FIFO; never two passes of K
 *      at once - K counts as in flight until step 4).
 *   2. process(udata, S, K, outcomes, n, &result) runs on S's worker. The
 *      outcomes are those of K's previous pass that had writes, delivered
 *      once (NULL/0 otherwise); they are borrowed for the call.
 *   3. If result has writes or events, a rec_ticket goes to the I/O thread:
 *      submit(udata, ticket) runs there. The I/O side executes the writes
 *      (in any order; results that need ordering say so with requeue 0),
 *      posts the events, records each write's outcome with
 *      rec_ticket_set_outcome() and then calls rec_shards_complete() exactly
 *      once (from any thread). Without writes/events step 4 follows at once.
 *   4. Completion: a pass whose result.error != 0, or one of whose writes
 *      failed (err other than ERR_NOTFOUND), is retried with per-key
 *      exponential backoff (and only that); otherwise K's backoff is reset,
 *      requeue_after_ms == 0 queues K again at once and > 0 sets a timer
 *      (earliest wins), and a pass that had writes runs once more right away
 *      to consume their outcomes (so outcomes never linger; after followup_delay ms when the
 *      option says so). Events for K
 *      that arrived during the pass queue it again now.
 *
 * With the environment variable ASC_SHARD_PROFILE set, each worker logs
 * every 5 s, per key kind (the key up to its first '/'), the passes, their
 * mean/max duration and the mean/max time the keys waited in the queue.
 *
 * Ownership: keys and routes are copied. Tickets belong to the shard set;
 * the I/O side may read and fill them between submit and complete, and must
 * not touch them after complete. Returns 0 or ERR_* as noted. */
#ifndef ASC_RECONCILER_SHARD_H
#define ASC_RECONCILER_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "reconciler/write.h"

struct ev_loop;
typedef struct rec_shard_set rec_shard_set;

typedef struct rec_ticket {
    int shard;
    const char *key;       /* the key of the pass (owned by the ticket) */
    rec_result result;     /* writes to execute, events to post */
    rec_outcome *outcomes; /* n = result.n_writes; filled by rec_ticket_set_outcome */
} rec_ticket;

/* Worker side: one pass for key. Must fill out (already rec_result_init'ed). */
typedef void (*rec_process_fn)(void *udata, int shard, const char *key, const rec_outcome *outcomes,
                               size_t n_outcomes, rec_result *out);
/* I/O side: execute t (see step 3). Runs on the loop's thread, or on the
 * worker thread when the set was created without a loop (tests, tools). */
typedef void (*rec_submit_fn)(void *udata, rec_ticket *t);

typedef struct rec_shard_opts {
    int shards;              /* <= 0: number of online CPUs */
    int64_t backoff_base_ms; /* <= 0: 5 */
    int64_t backoff_max_ms;  /* <= 0: 300000 (client-go uses 1000 s; capped lower) */
    rec_process_fn process;
    void *process_udata;
    rec_submit_fn submit;
    void *submit_udata;
    struct ev_loop *loop; /* I/O loop for the handoff; NULL: submit runs on the worker */
    /* Optional priority lane (rec_queue_set_lanes): keys for which
     * priority(key) != 0 are taken before the shard's other keys, which wait
     * at most priority_max_wait_ms (<= 0: 50) behind them. Called under the
     * shard's lock from any thread: pure and fast. */
    int (*priority)(const char *key);
    int64_t priority_max_wait_ms;
    /* Optional: delay (ms, <= 0: none) of the pass that consumes a
     * successful pass's outcomes (step 4), e.g. to coalesce an expensive
     * key's follow-ups. Called with process_udata on the completing thread
     * (the I/O thread), under the shard's lock: fast, no shard calls. */
    int64_t (*followup_delay)(void *udata, int shard, const char *key);
} rec_shard_opts;

/* Create and start the workers. With a loop, call on the loop's thread
 * (it starts an ev_async watcher there). NULL on failure (err filled). */
rec_shard_set *rec_shards_new(const rec_shard_opts *opts, char *err, size_t errlen);
/* Stop the workers (a pass in progress finishes) and join them. Tickets
 * already handed out may still be completed afterwards (e.g. with
 * ERR_CANCELED while the kube client shuts down). Idempotent. */
void rec_shards_stop(rec_shard_set *s);
/* Stop if needed, then free everything, including tickets still waiting in
 * the handoff queue. Call on the loop's thread when a loop was given, after
 * every submitted ticket has been completed. NULL is a no-op. */
void rec_shards_free(rec_shard_set *s);

int rec_shards_count(const rec_shard_set *s);
int rec_shards_route(const rec_shard_set *s, const char *route);

/* Queue key now / after delay_ms (monotonic). route may be NULL. */
int rec_shards_add(rec_shard_set *s, const char *route, const char *key);
int rec_shards_add_after(rec_shard_set *s, const char *route, const char *key, int64_t delay_ms);

/* I/O side: outcome of write i of t. reason/message copied (NULL => ""),
 * object: a reference is taken (may be NULL). Returns 0 or ERR_INVALID/ERR_NOMEM. */
int rec_ticket_set_outcome(rec_ticket *t, size_t i, int err, long http_status, const char *reason,
                           const char *message, json_object *object);
/* Hand t back to its shard (any thread). */
void rec_shards_complete(rec_shard_set *s, rec_ticket *t);

typedef struct rec_shard_stats {
    uint64_t passes, failures, tickets;
    size_t queued, timers, keys, in_io;
} rec_shard_stats;
/* Sum over shards (consistent per shard, not across shards). */
void rec_shards_stats(rec_shard_set *s, rec_shard_stats *out);

#endif
