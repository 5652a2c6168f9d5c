/* hmap.c - chained hash map with FNV-1a and power-of-two buckets that
 * doubles at load factor 1. Keys are borrowed from the stored values. */
#include "pools/internal.h"

#include "core/err.h"
#include "core/namehash.h"

#include <stdlib.h>
#include <string.h>

static size_t
slot(const pool__hmap *m, const char *key)
{
    return namehash32(key, strlen(key)) & (m->nb - 1);
}

void
pool__hmap_fini(pool__hmap *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        pool__hent *e = m->b[i];
        while (e) {
            pool__hent *n = e->next;
            free(e);
            e = n;
        }
    }
    free(m->b);
    memset(m, 0, sizeof *m);
}

static pool__hent **
find(const pool__hmap *m, const char *key)
{
    if (m->nb == 0) return NULL;
    pool__hent **pp = &m->b[slot(m, key)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

void *
pool__hmap_get(const pool__hmap *m, const char *key)
{
    pool__hent **pp = find(m, key);
    return pp && *pp ? (*pp)->val : NULL;
}

static int
grow(pool__hmap *m)
{
    size_t nb = m->nb ? m->nb * 2 : 16;
    pool__hent **b = calloc(nb, sizeof *b);
    if (b == NULL) return ERR_NOMEM;
    pool__hmap old = *m;
    m->b = b;
    m->nb = nb;
    for (size_t i = 0; i < old.nb; i++) {
        pool__hent *e = old.b[i];
        while (e) {
            pool__hent *n = e->next;
            size_t s = slot(m, e->key);
            e->next = m->b[s];
            m->b[s] = e;
            e = n;
        }
    }
    free(old.b);
    return 0;
}

int
pool__hmap_put(pool__hmap *m, const char *key, void *val)
{
    pool__hent **pp = find(m, key);
    if (pp && *pp) {
        (*pp)->key = key;
        (*pp)->val = val;
        return 0;
    }
    if (m->n + 1 > m->nb && grow(m) != 0) return ERR_NOMEM;
    pool__hent *e = malloc(sizeof *e);
    if (e == NULL) return ERR_NOMEM;
    size_t s = slot(m, key);
    e->key = key;
    e->val = val;
    e->next = m->b[s];
    m->b[s] = e;
    m->n++;
    return 0;
}

void *
pool__hmap_del(pool__hmap *m, const char *key)
{
    pool__hent **pp = find(m, key);
    if (pp == NULL || *pp == NULL) return NULL;
    pool__hent *e = *pp;
    void *v = e->val;
    *pp = e->next;
    free(e);
    m->n--;
    return v;
}
