/* heap.c - indexed binary min-heap (by the caller's "less"). Every move
 * reports the item's new slot through setidx, which is what lets pools/
 * remove or re-rank one member in O(log n). */
#include "pools/internal.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

void
pool__heap_init(pool__heap *h, pool__less_fn less, pool__setidx_fn setidx)
{
    memset(h, 0, sizeof *h);
    h->less = less;
    h->setidx = setidx;
}

void
pool__heap_fini(pool__heap *h)
{
    free(h->a);
    h->a = NULL;
    h->n = h->cap = 0;
}

static void
place(pool__heap *h, size_t i, void *item)
{
    h->a[i] = item;
    h->setidx(item, i);
}

static size_t
up(pool__heap *h, size_t i)
{
    void *x = h->a[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!h->less(x, h->a[p])) break;
        place(h, i, h->a[p]);
        i = p;
    }
    place(h, i, x);
    return i;
}

static void
down(pool__heap *h, size_t i)
{
    void *x = h->a[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        void *best = x;
        if (l < h->n && h->less(h->a[l], best)) {
            m = l;
            best = h->a[l];
        }
        if (r < h->n && h->less(h->a[r], best)) m = r;
        if (m == i) break;
        place(h, i, h->a[m]);
        i = m;
    }
    place(h, i, x);
}

int
pool__heap_push(pool__heap *h, void *item)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        void **a = realloc(h->a, cap * sizeof *a);
        if (a == NULL) return ERR_NOMEM;
        h->a = a;
        h->cap = cap;
    }
    h->a[h->n++] = item;
    up(h, h->n - 1);
    return 0;
}

void
pool__heap_remove(pool__heap *h, size_t idx)
{
    if (idx >= h->n) return;
    h->setidx(h->a[idx], POOL__NOIDX);
    h->n--;
    if (idx == h->n) return;
    h->a[idx] = h->a[h->n];
    pool__heap_fix(h, idx);
}

void
pool__heap_fix(pool__heap *h, size_t idx)
{
    if (idx >= h->n) return;
    if (up(h, idx) == idx) down(h, idx);
}
