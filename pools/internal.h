/* internal.h - containers private to pools/: a string-keyed hash map and an
 * indexed binary heap. Single-threaded like the rest of pools/. */
#ifndef ASC_POOLS_INTERNAL_H
#define ASC_POOLS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* ---- hash map: NUL-terminated string key (borrowed from the value) -> value */
typedef struct pool__hent {
    const char *key;
    void *val;
    struct pool__hent *next;
} pool__hent;

typedef struct pool__hmap {
    pool__hent **b;
    size_t nb, n;
} pool__hmap;

void pool__hmap_fini(pool__hmap *m); /* frees entries, not values */
void *pool__hmap_get(const pool__hmap *m, const char *key);
/* key must stay valid while the entry exists (it normally lives in val).
 * Replaces an existing value. Returns 0 or ERR_NOMEM. */
int pool__hmap_put(pool__hmap *m, const char *key, void *val);
void *pool__hmap_del(pool__hmap *m, const char *key); /* returns the value or NULL */

/* ---- indexed binary heap: each item knows its position, so removal and
 * re-ordering of an arbitrary item are O(log n). */
typedef int (*pool__less_fn)(const void *a, const void *b);
typedef void (*pool__setidx_fn)(void *item, size_t idx);

typedef struct pool__heap {
    void **a;
    size_t n, cap;
    pool__less_fn less;
    pool__setidx_fn setidx;
} pool__heap;

#define POOL__NOIDX SIZE_MAX

void pool__heap_init(pool__heap *h, pool__less_fn less, pool__setidx_fn setidx);
void pool__heap_fini(pool__heap *h);
int pool__heap_push(pool__heap *h, void *item); /* 0 or ERR_NOMEM */
void pool__heap_remove(pool__heap *h, size_t idx);
void pool__heap_fix(pool__heap *h, size_t idx); /* after the item's key changed */
static inline void *
pool__heap_top(const pool__heap *h)
{
    return h->n ? h->a[0] : NULL;
}

#endif
