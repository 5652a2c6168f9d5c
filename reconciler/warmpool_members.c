/* warmpool_members.c - see warmpool_members.h.
 *
 * Layout: the dense arrays objs[] / facts[] / ents[] (position i is one
 * member) and a chained hash of the entries by name. Removing member i
 * moves the last one into i (its entry learns the new position), so the
 * arrays never have holes. */
#include "reconciler/warmpool_members.h"

#include "core/err.h"
#include "core/namehash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct ent {
    struct ent *next; /* hash chain */
    size_t idx;       /* position in the dense arrays */
    uint32_t hash;
    unsigned seen; /* rec_wp_members.epoch of the last listing that had it */
    size_t len;
    unsigned char *raw;
    char name[];
} ent;

struct rec_wp_members {
    ent **b; /* buckets (power of two) */
    size_t nb;
    ent **ents;
    json_object **objs;
    rec_wp_mfacts *facts;
    size_t n, cap;
    unsigned epoch;
};

rec_wp_members *
rec_wp_members_new(void)
{
    return calloc(1, sizeof(rec_wp_members));
}

static void
ent_free(ent *e)
{
    free(e->raw);
    free(e);
}

void
rec_wp_members_free(rec_wp_members *m)
{
    if (m == NULL) return;
    for (size_t i = 0; i < m->n; i++) {
        json_object_put(m->objs[i]);
        ent_free(m->ents[i]);
    }
    free(m->b);
    free(m->ents);
    free(m->objs);
    free(m->facts);
    free(m);
}

static uint32_t
hash_of(const char *name)
{
    return namehash32(name, strlen(name));
}

static ent *
find(const rec_wp_members *m, const char *name, uint32_t h)
{
    if (m->nb == 0) return NULL;
    for (ent *e = m->b[h & (m->nb - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->name, name) == 0) return e;
    return NULL;
}

int
rec_wp_members_same(rec_wp_members *m, const char *name, const void *raw, size_t len)
{
    ent *e = find(m, name, hash_of(name));
    if (e == NULL || e->len != len || memcmp(e->raw, raw, len) != 0) return 0;
    e->seen = m->epoch;
    return 1;
}

json_object *
rec_wp_members_get(const rec_wp_members *m, const char *name)
{
    ent *e = find(m, name, hash_of(name));
    return e ? m->objs[e->idx] : NULL;
}

static int
grow_buckets(rec_wp_members *m)
{
    size_t nb = m->nb ? m->nb * 2 : 64;
    ent **b = calloc(nb, sizeof *b);
    if (b == NULL) return ERR_NOMEM;
    for (size_t i = 0; i < m->n; i++) {
        ent *e = m->ents[i];
        e->next = b[e->hash & (nb - 1)];
        b[e->hash & (nb - 1)] = e;
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
    return 0;
}

static int
grow_arrays(rec_wp_members *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    ent **ents = realloc(m->ents, cap * sizeof *ents);
    if (ents == NULL) return ERR_NOMEM;
    m->ents = ents;
    json_object **objs = realloc(m->objs, cap * sizeof *objs);
    if (objs == NULL) return ERR_NOMEM;
    m->objs = objs;
    rec_wp_mfacts *facts = realloc(m->facts, cap * sizeof *facts);
    if (facts == NULL) return ERR_NOMEM;
    m->facts = facts;
    m->cap = cap;
    return 0;
}

int
rec_wp_members_put(rec_wp_members *m, const char *name, const void *raw, size_t len,
                   json_object *obj)
{
    uint32_t h = hash_of(name);
    unsigned char *copy = malloc(len ? len : 1);
    if (copy == NULL) goto nomem;
    memcpy(copy, raw, len);
    ent *e = find(m, name, h);
    if (e != NULL) { /* a new version */
        free(e->raw);
        json_object_put(m->objs[e->idx]);
    } else {
        if (m->n == m->cap && grow_arrays(m) != 0) goto nomem;
        if ((m->n + 1) * 4 > m->nb * 3 && grow_buckets(m) != 0) goto nomem;
        size_t nl = strlen(name);
        if ((e = malloc(sizeof *e + nl + 1)) == NULL) goto nomem;
        memcpy(e->name, name, nl + 1);
        e->hash = h;
        e->idx = m->n++;
        e->next = m->b[h & (m->nb - 1)];
        m->b[h & (m->nb - 1)] = e;
        m->ents[e->idx] = e;
    }
    e->raw = copy;
    e->len = len;
    e->seen = m->epoch;
    m->objs[e->idx] = obj;
    rec_wp_member_digest(obj, &m->facts[e->idx]);
    return 0;
nomem:
    free(copy);
    json_object_put(obj);
    return ERR_NOMEM;
}

/* Unlink e from its chain, free it, and move the last member into its slot. */
static void
remove_ent(rec_wp_members *m, ent *e)
{
    for (ent **pp = &m->b[e->hash & (m->nb - 1)]; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    size_t i = e->idx, last = m->n - 1;
    json_object_put(m->objs[i]);
    if (i != last) {
        m->ents[i] = m->ents[last];
        m->objs[i] = m->objs[last];
        m->facts[i] = m->facts[last];
        m->ents[i]->idx = i;
    }
    m->n--;
    ent_free(e);
}

void
rec_wp_members_del(rec_wp_members *m, const char *name)
{
    ent *e = find(m, name, hash_of(name));
    if (e) remove_ent(m, e);
}

void
rec_wp_members_mark(rec_wp_members *m)
{
    m->epoch++;
}

size_t
rec_wp_members_sweep(rec_wp_members *m)
{
    size_t dropped = 0;
    for (size_t i = m->n; i-- > 0;) /* backwards: a move only brings in a visited member */
        if (m->ents[i]->seen != m->epoch) {
            remove_ent(m, m->ents[i]);
            dropped++;
        }
    return dropped;
}

size_t
rec_wp_members_count(const rec_wp_members *m)
{
    return m->n;
}

json_object *const *
rec_wp_members_objs(const rec_wp_members *m)
{
    return m->objs;
}

const rec_wp_mfacts *
rec_wp_members_facts(const rec_wp_members *m)
{
    return m->facts;
}
