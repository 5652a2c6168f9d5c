/* sim_store_page.c - paginated lists in key order (see sim_store.h).
 *
 * A LIST with limit/continue must not cost a sort of the whole store per
 * page (that made paging through 150,000 objects quadratic). The store keeps
 * its live keys sorted; writes only note keys that appeared or vanished, and
 * the next LIST merges them in one linear pass. A page at an older
 * resourceVersion (continue token after later writes) overlays the states
 * before the retained newer events on the current key order. */
#include "bench/kubesim/sim_store.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
push_key(char ***v, size_t *n, size_t *cap, const char *key)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        char **nv = realloc(*v, c * sizeof *nv);
        if (!nv) return ERR_NOMEM;
        *v = nv;
        *cap = c;
    }
    char *k = strdup(key);
    if (!k) return ERR_NOMEM;
    (*v)[(*n)++] = k;
    return 0;
}

static void
free_keys(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
}

void
sim_store_keys_note(sim_store *s, const char *key, int live)
{
    if (s->keys_lost) return; /* rebuilt from objs anyway */
    int rc = live ? push_key(&s->added, &s->nadded, &s->capadded, key)
                  : push_key(&s->gone, &s->ngone, &s->capgone, key);
    if (rc) s->keys_lost = 1;
}

void
sim_store_keys_free(sim_store *s)
{
    free_keys(s->sorted, s->nsorted);
    free_keys(s->added, s->nadded);
    free_keys(s->gone, s->ngone);
    free(s->sorted);
    free(s->added);
    free(s->gone);
    s->sorted = s->added = s->gone = NULL;
    s->nsorted = s->nadded = s->ngone = s->capadded = s->capgone = 0;
}

typedef struct {
    char **v;
    size_t n;
    int oom;
} keyvec;

static int
collect_key(void *ud, const char *key, void *val)
{
    (void)val;
    keyvec *kv = ud;
    if (!(kv->v[kv->n] = strdup(key))) {
        kv->oom = 1;
        return 1;
    }
    kv->n++;
    return 0;
}

/* After a lost note: every live key, sorted (O(n log n), rare). */
static int
keys_rebuild(sim_store *s)
{
    keyvec kv = {.v = malloc((s->objs.n + 1) * sizeof *kv.v)};
    if (!kv.v) return ERR_NOMEM;
    sim_map_each(&s->objs, collect_key, &kv);
    if (kv.oom) {
        free_keys(kv.v, kv.n);
        free(kv.v);
        return ERR_NOMEM;
    }
    qsort(kv.v, kv.n, sizeof *kv.v, cmp_str);
    sim_store_keys_free(s);
    s->sorted = kv.v;
    s->nsorted = kv.n;
    s->keys_lost = 0;
    return 0;
}

/* Merge the noted changes into sorted: O(n + changes log changes). A key in
 * gone is checked against objs (it may have come back since). */
static int
keys_sync(sim_store *s)
{
    if (s->keys_lost) return keys_rebuild(s);
    if (!s->nadded && !s->ngone) return 0;
    char **nv = malloc((s->nsorted + s->nadded + 1) * sizeof *nv);
    if (!nv) return ERR_NOMEM;
    /* qsort with a NULL base is undefined even for zero elements. */
    if (s->nadded) qsort(s->added, s->nadded, sizeof *s->added, cmp_str);
    if (s->ngone) qsort(s->gone, s->ngone, sizeof *s->gone, cmp_str);
    size_t i = 0, j = 0, g = 0, k = 0;
    while (i < s->nsorted || j < s->nadded) {
        char *key;
        if (j >= s->nadded || (i < s->nsorted && strcmp(s->sorted[i], s->added[j]) <= 0))
            key = s->sorted[i++];
        else
            key = s->added[j++];
        if (k && !strcmp(nv[k - 1], key)) { /* deleted and created again */
            free(key);
            continue;
        }
        while (g < s->ngone && strcmp(s->gone[g], key) < 0)
            g++;
        if (g < s->ngone && !strcmp(s->gone[g], key) && !sim_map_get(&s->objs, key)) {
            free(key);
            continue;
        }
        nv[k++] = key;
    }
    free_keys(s->gone, s->ngone);
    free(s->sorted);
    s->sorted = nv;
    s->nsorted = k;
    s->nadded = s->ngone = 0;
    return 0;
}

/* First index in sorted whose key is >= key (strict: > key). */
static size_t
lower_bound(const sim_store *s, const char *key, int strict)
{
    size_t lo = 0, hi = s->nsorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->sorted[mid], key);
        if (c < 0 || (strict && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The state before the newer events, for keys in range. */
static char absent_; /* marks "did not exist at at_rv" */
#define ABSENT ((void *)&absent_)

typedef struct {
    const char *key;
    sim_obj *obj; /* NULL: absent at at_rv */
} hist_ent;

typedef struct {
    hist_ent *v;
    size_t n;
} histvec;

static int
collect_hist(void *ud, const char *key, void *val)
{
    histvec *h = ud;
    h->v[h->n].key = key;
    h->v[h->n].obj = val == ABSENT ? NULL : val;
    h->n++;
    return 0;
}

static int
cmp_hist(const void *a, const void *b)
{
    return strcmp(((const hist_ent *)a)->key, ((const hist_ent *)b)->key);
}

typedef struct {
    sim_obj **v;
    size_t n, cap;
} outvec;

static int
out_push(outvec *o, sim_obj *obj)
{
    if (o->n == o->cap) {
        size_t c = o->cap ? o->cap * 2 : 64;
        sim_obj **nv = realloc(o->v, c * sizeof *nv);
        if (!nv) return ERR_NOMEM;
        o->v = nv;
        o->cap = c;
    }
    o->v[o->n++] = sim_obj_ref(obj);
    return 0;
}

static int
in_range(const char *key, const char *prefix, size_t plen, const char *after)
{
    if (plen && strncmp(key, prefix, plen) != 0) return 0;
    return !after || strcmp(key, after) > 0;
}

int
sim_store_page(sim_store *s, const char *ns, uint64_t at_rv, const char *after,
               int (*want)(void *ud, sim_obj *o), void *ud, size_t limit, sim_obj ***out, size_t *n,
               size_t *more)
{
    *out = NULL;
    *n = 0;
    *more = 0;
    size_t first = s->n;
    if (at_rv) {
        int rc = sim_store_since(s, at_rv, &first);
        if (rc) return rc;
    }
    if (keys_sync(s) != 0) return ERR_NOMEM;
    /* the key range: "<ns>/" up to "<ns>0" ('0' follows '/') */
    char prefix[260] = "";
    size_t plen = 0, lo = 0, hi = s->nsorted;
    if (ns) {
        plen = strlen(ns) + 1;
        if (plen >= sizeof prefix) return 0; /* no such namespace can exist */
        memcpy(prefix, ns, plen - 1);
        prefix[plen - 1] = '/';
        prefix[plen] = '\0';
        lo = lower_bound(s, prefix, 0);
        prefix[plen - 1] = '0';
        hi = lower_bound(s, prefix, 0);
        prefix[plen - 1] = '/';
    }
    if (after) {
        size_t a = lower_bound(s, after, 1);
        if (a > lo) lo = a;
    }
    if (lo > hi) lo = hi;
    /* keys written after at_rv, with their state at at_rv (oldest event wins) */
    sim_map hist = {0};
    histvec hv = {0};
    int rc = 0;
    for (size_t i = s->n; i-- > first;) {
        const sim_event *e = sim_store_event(s, i);
        if (!in_range(e->obj->key, prefix, plen, after)) continue;
        void *val = e->type == SIM_EV_ADDED || !e->prev ? ABSENT : (void *)e->prev;
        sim_map_put(&hist, e->obj->key, val);
        if (sim_map_get(&hist, e->obj->key) != val) {
            rc = ERR_NOMEM;
            break;
        }
    }
    if (!rc && hist.n) {
        hv.v = malloc(hist.n * sizeof *hv.v);
        if (!hv.v)
            rc = ERR_NOMEM;
        else {
            sim_map_each(&hist, collect_hist, &hv);
            qsort(hv.v, hv.n, sizeof *hv.v, cmp_hist);
        }
    }
    outvec ov = {0};
    size_t i = lo, j = 0;
    while (!rc && (i < hi || j < hv.n)) {
        sim_obj *o;
        if (j >= hv.n || (i < hi && strcmp(s->sorted[i], hv.v[j].key) < 0)) {
            const char *key = s->sorted[i++];
            if (hist.n && sim_map_get(&hist, key)) continue; /* its older state comes from hv */
            o = sim_map_get(&s->objs, key);
        } else {
            o = hv.v[j++].obj;
        }
        if (!o || (want && !want(ud, o))) continue;
        if (limit && ov.n >= limit) {
            if (want) {
                *more = 1;
                break;
            }
            /* count the rest without visiting it: live keys left, minus those
             * whose state comes from the history, plus history states left */
            size_t rest = 1 + (hi - i);
            for (size_t h = 0; h < hv.n; h++)
                if (i < hi && strcmp(hv.v[h].key, s->sorted[i]) >= 0 &&
                    sim_map_get(&s->objs, hv.v[h].key))
                    rest--;
            for (size_t h = j; h < hv.n; h++)
                if (hv.v[h].obj) rest++;
            *more = rest;
            break;
        }
        rc = out_push(&ov, o);
    }
    free(hv.v);
    sim_map_free(&hist);
    if (rc) {
        for (size_t k = 0; k < ov.n; k++)
            sim_obj_unref(ov.v[k]);
        free(ov.v);
        return rc;
    }
    *out = ov.v;
    *n = ov.n;
    return 0;
}
