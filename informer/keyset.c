/* keyset.c - a set of object keys (ns NUL name) for the relist difference:
 * open addressing with linear probing, grown at 50% load. Keys are copied. */
#include "informer/internal.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static uint64_t
hash_key(const char *ns, const char *name)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = ns; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0xffu) * 1099511628211ULL; /* separator: "a","bc" != "ab","c" */
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static int
slot_eq(const char *slot, const char *ns, const char *name)
{
    size_t nsl = strlen(ns);
    return memcmp(slot, ns, nsl + 1) == 0 && strcmp(slot + nsl + 1, name) == 0;
}

void
informer__keyset_init(informer__keyset *ks)
{
    memset(ks, 0, sizeof *ks);
}

void
informer__keyset_fini(informer__keyset *ks)
{
    for (size_t i = 0; i < ks->cap; i++)
        free(ks->slots[i]);
    free(ks->slots);
    memset(ks, 0, sizeof *ks);
}

static int
grow(informer__keyset *ks)
{
    size_t cap = ks->cap ? ks->cap * 2 : 1024;
    char **slots = calloc(cap, sizeof *slots);
    if (!slots) return ERR_NOMEM;
    for (size_t i = 0; i < ks->cap; i++) {
        char *k = ks->slots[i];
        if (!k) continue;
        size_t j = hash_key(k, k + strlen(k) + 1) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = k;
    }
    free(ks->slots);
    ks->slots = slots;
    ks->cap = cap;
    return 0;
}

int
informer__keyset_has(const informer__keyset *ks, const char *ns, const char *name)
{
    if (!ks->cap) return 0;
    for (size_t j = hash_key(ns, name) & (ks->cap - 1); ks->slots[j]; j = (j + 1) & (ks->cap - 1))
        if (slot_eq(ks->slots[j], ns, name)) return 1;
    return 0;
}

int
informer__keyset_add(informer__keyset *ks, const char *ns, const char *name)
{
    size_t nsl = strlen(ns), nl = strlen(name), j;
    char *k;
    if ((ks->n + 1) * 2 > ks->cap && grow(ks)) return ERR_NOMEM;
    for (j = hash_key(ns, name) & (ks->cap - 1); ks->slots[j]; j = (j + 1) & (ks->cap - 1))
        if (slot_eq(ks->slots[j], ns, name)) return 0;
    k = malloc(nsl + nl + 2);
    if (!k) return ERR_NOMEM;
    memcpy(k, ns, nsl + 1);
    memcpy(k + nsl + 1, name, nl + 1);
    ks->slots[j] = k;
    ks->n++;
    return 0;
}
