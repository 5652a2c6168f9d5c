/* queue.c - de-duplicating FIFO + backoff + timer heap for one shard.
 *
 * Layout: every key the queue knows has one entry in a chained hash table
 * (FNV-1a). The FIFO is an intrusive singly linked list through the entries;
 * the timer heap is an array of entry pointers ordered by deadline, each
 * entry remembering its heap slot so a deadline can move in O(log n). An
 * entry is freed as soon as it carries no state (not queued, not processing,
 * no timer, no failures, nothing parked), so memory follows live work, not
 * the number of keys ever seen. */
#include "reconciler/queue.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

typedef struct qent {
    struct qent *hnext; /* hash chain */
    struct qent *fnext; /* FIFO */
    uint32_t hash;
    unsigned queued : 1, processing : 1, dirty : 1, lane : 1;
    int failures;
    int64_t enq_ms; /* when it joined its FIFO (the queue's clock) */
    long heap_idx;  /* -1: no timer */
    int64_t deadline;
    void *payload;
    void (*payload_free)(void *);
    char key[];
} qent;

struct rec_queue {
    qent **buckets;
    size_t nbuckets, nkeys;
    qent *head[2], *tail[2]; /* lane 0: priority, lane 1: the rest */
    size_t fifo_len;
    int (*lane_fn)(const char *key);
    int64_t max_wait_ms; /* lane 1's head waits at most this long */
    int64_t now_ms;      /* last rec_queue_tick/promote */
    int64_t last_wait_ms;
    qent **heap;
    size_t heap_len, heap_cap;
    int64_t base_ms, max_ms;
};

static uint32_t
fnv(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

rec_queue *
rec_queue_new(int64_t base_ms, int64_t max_ms)
{
    rec_queue *q = calloc(1, sizeof *q);
    if (q == NULL) return NULL;
    q->nbuckets = 64;
    q->buckets = calloc(q->nbuckets, sizeof *q->buckets);
    if (q->buckets == NULL) {
        free(q);
        return NULL;
    }
    q->base_ms = base_ms > 0 ? base_ms : 5;
    q->max_ms = max_ms > 0 ? max_ms : 1000 * 1000;
    return q;
}

void
rec_queue_free(rec_queue *q)
{
    if (q == NULL) return;
    for (size_t i = 0; i < q->nbuckets; i++) {
        qent *e = q->buckets[i];
        while (e) {
            qent *n = e->hnext;
            if (e->payload && e->payload_free) e->payload_free(e->payload);
            free(e);
            e = n;
        }
    }
    free(q->buckets);
    free(q->heap);
    free(q);
}

static qent *
find(const rec_queue *q, const char *key, uint32_t h)
{
    for (qent *e = q->buckets[h & (q->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->key, key) == 0) return e;
    return NULL;
}

static void
grow(rec_queue *q)
{
    size_t nb = q->nbuckets * 2;
    qent **b = calloc(nb, sizeof *b);
    if (b == NULL) return; /* keep working with longer chains */
    for (size_t i = 0; i < q->nbuckets; i++) {
        qent *e = q->buckets[i];
        while (e) {
            qent *n = e->hnext;
            e->hnext = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = n;
        }
    }
    free(q->buckets);
    q->buckets = b;
    q->nbuckets = nb;
}

static qent *
get_or_create(rec_queue *q, const char *key)
{
    uint32_t h = fnv(key);
    qent *e = find(q, key, h);
    if (e) return e;
    size_t l = strlen(key);
    e = calloc(1, sizeof *e + l + 1);
    if (e == NULL) return NULL;
    memcpy(e->key, key, l + 1);
    e->hash = h;
    e->heap_idx = -1;
    e->lane = q->lane_fn && q->lane_fn(e->key) ? 0 : 1;
    if (q->nkeys + 1 > q->nbuckets * 2) grow(q);
    e->hnext = q->buckets[h & (q->nbuckets - 1)];
    q->buckets[h & (q->nbuckets - 1)] = e;
    q->nkeys++;
    return e;
}

/* Free the entry if it carries no state. */
static void
maybe_release(rec_queue *q, qent *e)
{
    if (e->queued || e->processing || e->dirty || e->heap_idx >= 0 || e->failures || e->payload)
        return;
    qent **pp = &q->buckets[e->hash & (q->nbuckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp) *pp = e->hnext;
    q->nkeys--;
    free(e);
}

static void
fifo_push(rec_queue *q, qent *e)
{
    e->queued = 1;
    e->fnext = NULL;
    e->enq_ms = q->now_ms;
    if (q->tail[e->lane])
        q->tail[e->lane]->fnext = e;
    else
        q->head[e->lane] = e;
    q->tail[e->lane] = e;
    q->fifo_len++;
}

static void
enqueue(rec_queue *q, qent *e)
{
    if (e->processing) {
        e->dirty = 1;
        return;
    }
    if (!e->queued) fifo_push(q, e);
}

int
rec_queue_add(rec_queue *q, const char *key)
{
    qent *e = get_or_create(q, key);
    if (e == NULL) return ERR_NOMEM;
    enqueue(q, e);
    return 0;
}

/* ---- heap ------------------------------------------------------------------ */

static void
heap_swap(rec_queue *q, size_t a, size_t b)
{
    qent *t = q->heap[a];
    q->heap[a] = q->heap[b];
    q->heap[b] = t;
    q->heap[a]->heap_idx = (long)a;
    q->heap[b]->heap_idx = (long)b;
}

static void
heap_up(rec_queue *q, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (q->heap[p]->deadline <= q->heap[i]->deadline) break;
        heap_swap(q, p, i);
        i = p;
    }
}

static void
heap_down(rec_queue *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->heap_len && q->heap[l]->deadline < q->heap[m]->deadline) m = l;
        if (r < q->heap_len && q->heap[r]->deadline < q->heap[m]->deadline) m = r;
        if (m == i) return;
        heap_swap(q, i, m);
        i = m;
    }
}

static qent *
heap_pop(rec_queue *q)
{
    qent *top = q->heap[0];
    q->heap_len--;
    if (q->heap_len > 0) {
        q->heap[0] = q->heap[q->heap_len];
        q->heap[0]->heap_idx = 0;
        heap_down(q, 0);
    }
    top->heap_idx = -1;
    return top;
}

int
rec_queue_add_after(rec_queue *q, const char *key, int64_t delay_ms, int64_t now_ms)
{
    if (delay_ms <= 0) return rec_queue_add(q, key);
    qent *e = get_or_create(q, key);
    if (e == NULL) return ERR_NOMEM;
    int64_t at = now_ms + delay_ms;
    if (e->heap_idx >= 0) {
        if (at < e->deadline) {
            e->deadline = at;
            heap_up(q, (size_t)e->heap_idx);
        }
        return 0;
    }
    if (q->heap_len == q->heap_cap) {
        size_t cap = q->heap_cap ? q->heap_cap * 2 : 16;
        qent **h = realloc(q->heap, cap * sizeof *h);
        if (h == NULL) {
            maybe_release(q, e);
            return ERR_NOMEM;
        }
        q->heap = h;
        q->heap_cap = cap;
    }
    e->deadline = at;
    e->heap_idx = (long)q->heap_len;
    q->heap[q->heap_len++] = e;
    heap_up(q, (size_t)e->heap_idx);
    return 0;
}

int
rec_queue_add_rate_limited(rec_queue *q, const char *key, int64_t now_ms, int64_t *delay_out)
{
    qent *e = get_or_create(q, key);
    if (e == NULL) return ERR_NOMEM;
    int64_t d = q->base_ms;
    for (int i = 0; i < e->failures && d < q->max_ms; i++)
        d *= 2;
    if (d > q->max_ms) d = q->max_ms;
    if (e->failures < 64) e->failures++;
    if (delay_out) *delay_out = d;
    return rec_queue_add_after(q, key, d, now_ms);
}

void
rec_queue_forget(rec_queue *q, const char *key)
{
    qent *e = find(q, key, fnv(key));
    if (e == NULL) return;
    e->failures = 0;
    maybe_release(q, e);
}

int
rec_queue_failures(rec_queue *q, const char *key)
{
    qent *e = find(q, key, fnv(key));
    return e ? e->failures : 0;
}

void
rec_queue_set_lanes(rec_queue *q, int (*priority)(const char *key), int64_t max_wait_ms)
{
    q->lane_fn = priority;
    q->max_wait_ms = max_wait_ms > 0 ? max_wait_ms : 50;
}

void
rec_queue_tick(rec_queue *q, int64_t now_ms)
{
    if (now_ms > q->now_ms) q->now_ms = now_ms;
}

int64_t
rec_queue_promote(rec_queue *q, int64_t now_ms)
{
    rec_queue_tick(q, now_ms);
    while (q->heap_len > 0 && q->heap[0]->deadline <= now_ms)
        enqueue(q, heap_pop(q));
    return q->heap_len > 0 ? q->heap[0]->deadline - now_ms : -1;
}

const char *
rec_queue_get(rec_queue *q)
{
    /* The priority lane first, unless the other lane's head has waited
     * max_wait_ms and is older than the priority head (then plain FIFO
     * order between the two heads): a steady stream of priority keys never
     * starves the rest, and a priority key never waits behind a newer one. */
    int lane = 0;
    if (q->head[0] == NULL ||
        (q->head[1] != NULL && q->now_ms - q->head[1]->enq_ms >= q->max_wait_ms &&
         q->head[1]->enq_ms <= q->head[0]->enq_ms))
        lane = 1;
    qent *e = q->head[lane];
    if (e == NULL) return NULL;
    q->head[lane] = e->fnext;
    if (q->head[lane] == NULL) q->tail[lane] = NULL;
    q->fifo_len--;
    q->last_wait_ms = q->now_ms - e->enq_ms;
    e->queued = 0;
    e->processing = 1;
    return e->key;
}

void
rec_queue_done(rec_queue *q, const char *key)
{
    qent *e = find(q, key, fnv(key));
    if (e == NULL) return;
    e->processing = 0;
    if (e->dirty) {
        e->dirty = 0;
        fifo_push(q, e);
    }
    maybe_release(q, e);
}

int
rec_queue_park(rec_queue *q, const char *key, void *payload, void (*free_fn)(void *))
{
    qent *e = get_or_create(q, key);
    if (e == NULL) {
        if (payload && free_fn) free_fn(payload);
        return ERR_NOMEM;
    }
    if (e->payload && e->payload_free) e->payload_free(e->payload);
    e->payload = payload;
    e->payload_free = free_fn;
    maybe_release(q, e);
    return 0;
}

void *
rec_queue_unpark(rec_queue *q, const char *key)
{
    qent *e = find(q, key, fnv(key));
    if (e == NULL) return NULL;
    void *p = e->payload;
    e->payload = NULL;
    e->payload_free = NULL;
    maybe_release(q, e);
    return p;
}

size_t
rec_queue_len(const rec_queue *q)
{
    return q->fifo_len;
}

int64_t
rec_queue_last_wait(const rec_queue *q)
{
    return q->last_wait_ms;
}

size_t
rec_queue_timers(const rec_queue *q)
{
    return q->heap_len;
}

size_t
rec_queue_keys(const rec_queue *q)
{
    return q->nkeys;
}
