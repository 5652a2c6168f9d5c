/* sim_map.c - string-keyed hash map (see sim_map.h). */
#include "bench/kubesim/sim_map.h"

#include <stdlib.h>
#include <string.h>

static unsigned
hash_str(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

void *
sim_map_get(const sim_map *m, const char *key)
{
    if (!m->nb) return NULL;
    unsigned h = hash_str(key);
    for (sim_map_ent *e = m->b[h & (m->nb - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0) return e->val;
    return NULL;
}

static int
grow(sim_map *m)
{
    size_t nb = m->nb ? m->nb * 2 : 16;
    sim_map_ent **b = calloc(nb, sizeof *b);
    if (!b) return -1;
    for (size_t i = 0; i < m->nb; i++) {
        sim_map_ent *e = m->b[i];
        while (e) {
            sim_map_ent *n = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = n;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
    return 0;
}

void *
sim_map_put(sim_map *m, const char *key, void *val)
{
    unsigned h = hash_str(key);
    if (m->nb) {
        for (sim_map_ent *e = m->b[h & (m->nb - 1)]; e; e = e->next)
            if (e->hash == h && strcmp(e->key, key) == 0) {
                void *old = e->val;
                e->val = val;
                return old;
            }
    }
    if ((m->n + 1) * 4 > m->nb * 3 && grow(m) != 0) return NULL;
    sim_map_ent *e = malloc(sizeof *e);
    if (!e) return NULL;
    e->key = strdup(key);
    if (!e->key) {
        free(e);
        return NULL;
    }
    e->val = val;
    e->hash = h;
    e->next = m->b[h & (m->nb - 1)];
    m->b[h & (m->nb - 1)] = e;
    m->n++;
    return NULL;
}

void *
sim_map_del(sim_map *m, const char *key)
{
    if (!m->nb) return NULL;
    unsigned h = hash_str(key);
    for (sim_map_ent **pe = &m->b[h & (m->nb - 1)]; *pe; pe = &(*pe)->next) {
        sim_map_ent *e = *pe;
        if (e->hash == h && strcmp(e->key, key) == 0) {
            void *v = e->val;
            *pe = e->next;
            free(e->key);
            free(e);
            m->n--;
            return v;
        }
    }
    return NULL;
}

void
sim_map_free(sim_map *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        sim_map_ent *e = m->b[i];
        while (e) {
            sim_map_ent *n = e->next;
            free(e->key);
            free(e);
            e = n;
        }
    }
    free(m->b);
    m->b = NULL;
    m->nb = m->n = 0;
}

void
sim_map_each(const sim_map *m, int (*fn)(void *ud, const char *key, void *val), void *ud)
{
    for (size_t i = 0; i < m->nb; i++)
        for (sim_map_ent *e = m->b[i]; e; e = e->next)
            if (fn(ud, e->key, e->val)) return;
}
