/* queue.h - one shard's workqueue: client-go's workqueue semantics in one
 * small structure.
 *
 *   - a de-duplicating FIFO: adding a key that is already queued is a no-op;
 *   - processing state: rec_queue_get() marks a key "processing" until
 *     rec_queue_done(); adding it meanwhile marks it dirty and it is queued
 *     again at done, so one key is never handed out twice at once;
 *   - per-key exponential backoff (rec_queue_add_rate_limited): base * 2^n
 *     capped at max, n = failures so far; rec_queue_forget() resets it
 *     (client-go's ItemExponentialFailureRateLimiter);
 *   - a min-heap of "add at T" timers (rec_queue_add_after): one timer per
 *     key, the earliest deadline wins; rec_queue_promote(now) moves due keys
 *     into the FIFO and says how long until the next one.
 *   - two lanes (rec_queue_set_lanes): keys the priority function accepts
 *     are handed out before the others, except that the other lane's head
 *     is taken once it has waited max_wait_ms and is older than the
 *     priority lane's head (no starvation; a priority key never waits
 *     behind a key queued after it). A key's lane
 *     is fixed while the queue tracks it; dedup, processing/dirty, backoff
 *     and timers work per key whatever its lane.
 *   - per-key parking of outcomes for the key's next pass (opaque pointer +
 *     free function), used by shard.c.
 *
 * Times are monotonic ms supplied by the caller, so tests drive the clock.
 * Not thread-safe: the owning shard serialises calls with its mutex. Keys
 * are copied; a key returned by rec_queue_get() stays valid until the
 * matching rec_queue_done(). Returns 0 or ERR_NOMEM unless said otherwise. */
#ifndef ASC_RECONCILER_QUEUE_H
#define ASC_RECONCILER_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rec_queue rec_queue;

/* base_ms <= 0 => 5; max_ms <= 0 => 1000 s (client-go's default). NULL on ERR_NOMEM. */
rec_queue *rec_queue_new(int64_t base_ms, int64_t max_ms);
/* Frees everything, including parked payloads. NULL is a no-op. */
void rec_queue_free(rec_queue *q);

int rec_queue_add(rec_queue *q, const char *key);
/* Add at now_ms + delay_ms (delay <= 0 => rec_queue_add). An earlier pending
 * deadline for the key is kept; a later one is moved earlier. */
int rec_queue_add_after(rec_queue *q, const char *key, int64_t delay_ms, int64_t now_ms);
/* Failure: add after the key's backoff, then double it. *delay_out (may be
 * NULL) receives the delay used. */
int rec_queue_add_rate_limited(rec_queue *q, const char *key, int64_t now_ms, int64_t *delay_out);
/* Success: reset the key's backoff. */
void rec_queue_forget(rec_queue *q, const char *key);
/* Failures recorded for key (0 if unknown). */
int rec_queue_failures(rec_queue *q, const char *key);

/* Move keys whose deadline <= now_ms into the FIFO. Returns ms until the
 * next deadline, or -1 when no timer is pending. */
int64_t rec_queue_promote(rec_queue *q, int64_t now_ms);
/* Two lanes: priority(key) != 0 puts a key in the priority lane. Set it
 * before the first add. max_wait_ms <= 0 => 50. NULL priority: one lane. */
void rec_queue_set_lanes(rec_queue *q, int (*priority)(const char *key), int64_t max_wait_ms);
/* Advance the queue's clock (it never goes back); rec_queue_promote does too.
 * FIFO entries are stamped with it: the lanes' aging and rec_queue_last_wait. */
void rec_queue_tick(rec_queue *q, int64_t now_ms);
/* Next ready key (marked processing) or NULL when the FIFO is empty. */
const char *rec_queue_get(rec_queue *q);
/* Processing finished; re-queues the key if it was added meanwhile. */
void rec_queue_done(rec_queue *q, const char *key);

/* Park a payload for the key's next pass (replaces and frees an older one
 * with its own free function). Creates the key's entry if needed. */
int rec_queue_park(rec_queue *q, const char *key, void *payload, void (*free_fn)(void *));
/* Take the parked payload (caller now owns it) or NULL. */
void *rec_queue_unpark(rec_queue *q, const char *key);

size_t rec_queue_len(const rec_queue *q);    /* keys in the FIFO */
size_t rec_queue_timers(const rec_queue *q); /* keys waiting on a deadline */
/* ms the key last returned by rec_queue_get waited in its FIFO (queue clock). */
int64_t rec_queue_last_wait(const rec_queue *q);
size_t rec_queue_keys(const rec_queue *q); /* tracked keys (leak checks) */

#endif
