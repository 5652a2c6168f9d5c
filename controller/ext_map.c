/* ext_map.c - see ext_map.h. */
#include "controller/ext_map.h"

#include "core/err.h"
#include "core/namehash.h"

#include <stdlib.h>
#include <string.h>

struct ctl_xmap_ent {
    ctl_xmap_ent *next;
    void *val;
    char key[];
};

static size_t
slot(const ctl_xmap *m, const char *key)
{
    return namehash32(key, strlen(key)) & (m->nb - 1);
}

void
ctl_xmap_fini(ctl_xmap *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->nb; i++) {
        ctl_xmap_ent *e = m->b[i];
        while (e) {
            ctl_xmap_ent *nx = e->next;
            if (free_val) free_val(e->val);
            free(e);
            e = nx;
        }
    }
    free(m->b);
    memset(m, 0, sizeof *m);
}

void *
ctl_xmap_get(const ctl_xmap *m, const char *key)
{
    if (m->nb == 0) return NULL;
    for (ctl_xmap_ent *e = m->b[slot(m, key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e->val;
    return NULL;
}

static int
grow(ctl_xmap *m)
{
    size_t nb = m->nb ? m->nb * 2 : 64;
    ctl_xmap_ent **b = calloc(nb, sizeof *b);
    if (b == NULL) return ERR_NOMEM;
    ctl_xmap old = *m;
    m->b = b;
    m->nb = nb;
    for (size_t i = 0; i < old.nb; i++) {
        ctl_xmap_ent *e = old.b[i];
        while (e) {
            ctl_xmap_ent *nx = e->next;
            size_t s = slot(m, e->key);
            e->next = m->b[s];
            m->b[s] = e;
            e = nx;
        }
    }
    free(old.b);
    return 0;
}

int
ctl_xmap_put(ctl_xmap *m, const char *key, void *val, void **old)
{
    if (old) *old = NULL;
    if (m->nb) {
        for (ctl_xmap_ent *e = m->b[slot(m, key)]; e; e = e->next) {
            if (strcmp(e->key, key) != 0) continue;
            if (old) *old = e->val;
            e->val = val;
            return 0;
        }
    }
    if ((m->n + 1) * 4 > m->nb * 3 && grow(m) != 0) return ERR_NOMEM;
    size_t kl = strlen(key);
    ctl_xmap_ent *e = malloc(sizeof *e + kl + 1);
    if (e == NULL) return ERR_NOMEM;
    memcpy(e->key, key, kl + 1);
    e->val = val;
    size_t s = slot(m, key);
    e->next = m->b[s];
    m->b[s] = e;
    m->n++;
    return 0;
}

void *
ctl_xmap_del(ctl_xmap *m, const char *key)
{
    if (m->nb == 0) return NULL;
    for (ctl_xmap_ent **pp = &m->b[slot(m, key)]; *pp; pp = &(*pp)->next) {
        ctl_xmap_ent *e = *pp;
        if (strcmp(e->key, key) != 0) continue;
        *pp = e->next;
        void *v = e->val;
        free(e);
        m->n--;
        return v;
    }
    return NULL;
}
