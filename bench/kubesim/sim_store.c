/* sim_store.c - object storage with event history (see sim_store.h). */
#include "bench/kubesim/sim_store.h"

#include "bench/kubesim/sim_jsontext.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define WINDOW_MIN      100
#define WINDOW_AGE_MS   75000
#define WINDOW_HARD_MAX (100 * 1024) /* the real watch cache's upper bound */

static _Thread_local sim_tree_cache *tree_cache;

void
sim_tree_cache_bind(sim_tree_cache *c)
{
    tree_cache = c;
}

static void
tree_note(sim_obj *o)
{
    sim_tree_cache *c = tree_cache;
    if (!c) return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        sim_obj **v = malloc(cap * sizeof *v);
        if (!v) return; /* not noted: this tree stays, nothing breaks */
        for (size_t i = 0; i < c->n; i++)
            v[i] = c->v[(c->head + i) % c->cap];
        free(c->v);
        c->v = v;
        c->head = 0;
        c->cap = cap;
    }
    c->v[(c->head + c->n) % c->cap] = sim_obj_ref(o);
    c->n++;
}

void
sim_tree_cache_trim(sim_tree_cache *c, size_t keep)
{
    while (c->n > keep) {
        sim_obj *o = c->v[c->head];
        c->head = (c->head + 1) % c->cap;
        c->n--;
        sim_obj_drop_tree(o);
        sim_obj_unref(o);
    }
}

void
sim_tree_cache_free(sim_tree_cache *c)
{
    sim_tree_cache_trim(c, 0);
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Length of `"kind":"<kind>","apiVersion":"<apiVersion>",` after the '{' of
 * txt, or 0 when txt does not start that way (or the prefix would exceed
 * 511 bytes). */
static size_t
type_meta_len(const char *txt, size_t len, json_object *obj)
{
    static const char k1[] = "{\"kind\":\"", k2[] = "\",\"apiVersion\":\"", k3[] = "\",";
    json_object *k = sim_json_get(obj, "kind"), *av = sim_json_get(obj, "apiVersion");
    if (!k || !av || !json_object_is_type(k, json_type_string) ||
        !json_object_is_type(av, json_type_string))
        return 0;
    const char *ks = json_object_get_string(k), *as = json_object_get_string(av);
    size_t kl = strlen(ks), al = strlen(as);
    size_t n = sizeof k1 - 1 + kl + sizeof k2 - 1 + al + sizeof k3 - 1;
    if (n >= 512 || n > len) return 0;
    const char *p = txt;
    if (memcmp(p, k1, sizeof k1 - 1)) return 0;
    p += sizeof k1 - 1;
    if (memcmp(p, ks, kl)) return 0;
    p += kl;
    if (memcmp(p, k2, sizeof k2 - 1)) return 0;
    p += sizeof k2 - 1;
    if (memcmp(p, as, al)) return 0;
    p += al;
    if (memcmp(p, k3, sizeof k3 - 1)) return 0;
    return n - 1;
}

sim_obj *
sim_obj_new(json_object *obj, uint64_t rv, const char *key)
{
    sim_obj *o = calloc(1, sizeof *o);
    if (!o) {
        json_object_put(obj);
        return NULL;
    }
    o->refs = 1;
    o->tree_ = obj;
    o->rv = rv;
    o->key = strdup(key);
    /* json_object_to_json_string_ext's exact text, several times cheaper */
    o->json = sim_json_text(obj, SIM_JSON_FLAGS, &o->len);
    if (!o->json || !o->key) {
        sim_obj_unref(o);
        return NULL;
    }
    /* Where the type meta ends, so core list items can be written without it. */
    o->tm_len = type_meta_len(o->json, o->len, obj);
    tree_note(o);
    return o;
}

/* Stored text is re-parsed often (trees are dropped, sim_tree_cache):
 * sim_json_parse gives json_tokener's tree (depth 1024: a body may nest 128
 * levels, managedFields mirror it a few levels deeper) in one fast pass over
 * the canonical text json-c wrote. */
void
sim_obj_parser_release(void)
{
    sim_json_release();
}

json_object *
sim_obj_tree(const sim_obj *o)
{
    sim_obj *m = (sim_obj *)o; /* a cache: the version itself never changes */
    if (!m->tree_ && m->json) {
        m->tree_ = sim_json_parse(m->json, m->len);
        if (m->tree_) tree_note(m);
    }
    return m->tree_;
}

void
sim_obj_drop_tree(sim_obj *o)
{
    json_object_put(o->tree_);
    o->tree_ = NULL;
}

sim_obj *
sim_obj_ref(sim_obj *o)
{
    if (o) o->refs++;
    return o;
}

void
sim_obj_unref(sim_obj *o)
{
    if (!o || --o->refs > 0) return;
    json_object_put(o->tree_);
    free(o->json);
    free(o->key);
    free(o);
}

sim_store *
sim_store_new(const char *key, uint64_t start_rv)
{
    sim_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->key = strdup(key);
    if (!s->key) {
        free(s);
        return NULL;
    }
    s->expired_rv = start_rv;
    return s;
}

static int
free_obj(void *ud, const char *key, void *val)
{
    (void)ud;
    (void)key;
    sim_obj_unref(val);
    return 0;
}

static int
free_nsmap(void *ud, const char *key, void *val)
{
    (void)ud;
    (void)key;
    sim_map_free(val);
    free(val);
    return 0;
}

static void
event_clear(sim_event *e)
{
    sim_obj_unref(e->obj);
    sim_obj_unref(e->prev);
    memset(e, 0, sizeof *e);
}

void
sim_store_free(sim_store *s)
{
    if (!s) return;
    sim_map_each(&s->objs, free_obj, NULL);
    sim_map_free(&s->objs);
    sim_map_each(&s->by_ns, free_nsmap, NULL);
    sim_map_free(&s->by_ns);
    sim_map_each(&s->by_label, free_nsmap, NULL);
    sim_map_free(&s->by_label);
    for (size_t i = 0; i < s->n; i++)
        event_clear(&s->ring[(s->head + i) % s->cap]);
    free(s->ring);
    sim_store_keys_free(s);
    free(s->key);
    free(s);
}

sim_obj *
sim_store_get(const sim_store *s, const char *key)
{
    return sim_map_get(&s->objs, key);
}

size_t
sim_store_count(const sim_store *s)
{
    return s->objs.n;
}

const sim_event *
sim_store_event(const sim_store *s, size_t i)
{
    if (i >= s->n) return NULL;
    return &s->ring[(s->head + i) % s->cap];
}

static void
ns_of(const char *key, char *ns, size_t len)
{
    const char *slash = strchr(key, '/');
    size_t n = slash ? (size_t)(slash - key) : 0;
    if (n >= len) n = len - 1;
    memcpy(ns, key, n);
    ns[n] = '\0';
}

/* idx[ikey] is a map of object key -> sim_obj; o NULL removes. */
static int
index_put(sim_map *idx, const char *ikey, const char *key, sim_obj *o)
{
    sim_map *m = sim_map_get(idx, ikey);
    if (!m) {
        if (!o) return 0;
        m = calloc(1, sizeof *m);
        if (!m) return ERR_NOMEM;
        sim_map_put(idx, ikey, m);
        if (sim_map_get(idx, ikey) != m) {
            free(m);
            return ERR_NOMEM;
        }
    }
    if (o) {
        sim_map_put(m, key, o);
        if (sim_map_get(m, key) != o) return ERR_NOMEM;
    } else {
        sim_map_del(m, key);
        if (m->n == 0) {
            sim_map_del(idx, ikey);
            sim_map_free(m);
            free(m);
        }
    }
    return 0;
}

static int
ns_index_put(sim_store *s, const char *key, sim_obj *o)
{
    char ns[256];
    ns_of(key, ns, sizeof ns);
    return index_put(&s->by_ns, ns, key, o);
}

/* "key=value" into ik (truncated like snprintf) without printf: this runs
 * for every label of every write. */
static void
label_ik(char *ik, size_t cap, const char *k, const char *v)
{
    size_t n = 0;
    if (!v) v = "(null)"; /* what glibc's printf wrote (a label with a null value) */
    for (; *k && n + 1 < cap; k++)
        ik[n++] = *k;
    if (n + 1 < cap) ik[n++] = '=';
    for (; *v && n + 1 < cap; v++)
        ik[n++] = *v;
    ik[n] = '\0';
}

/* Label index: "key=value" -> objects carrying that label. prev's labels
 * are dropped, o's added (either may be NULL). */
static void
label_index_update(sim_store *s, const char *key, sim_obj *prev, sim_obj *o)
{
    json_object *pl =
        prev ? sim_json_get(sim_json_get(sim_obj_tree(prev), "metadata"), "labels") : NULL;
    json_object *nl = o ? sim_json_get(sim_json_get(sim_obj_tree(o), "metadata"), "labels") : NULL;
    char ik[640];
    if (pl && json_object_is_type(pl, json_type_object)) {
        json_object_object_foreach(pl, k, v)
        {
            const char *nvs = json_object_get_string(sim_json_get(nl, k));
            const char *vs = json_object_get_string(v);
            if (nvs && vs && !strcmp(nvs, vs)) continue; /* unchanged: replaced below */
            label_ik(ik, sizeof ik, k, json_object_get_string(v));
            index_put(&s->by_label, ik, key, NULL);
        }
    }
    if (nl && json_object_is_type(nl, json_type_object)) {
        json_object_object_foreach(nl, k, v)
        {
            label_ik(ik, sizeof ik, k, json_object_get_string(v));
            index_put(&s->by_label, ik, key, o);
        }
    }
}

size_t
sim_store_label_count(const sim_store *s, const char *label_key, const char *value)
{
    char ik[640];
    label_ik(ik, sizeof ik, label_key, value);
    const sim_map *m = sim_map_get(&s->by_label, ik);
    return m ? m->n : 0;
}

typedef struct {
    sim_obj **v;
    size_t n, cap;
    int oom;
    const char *ns; /* filter: "<ns>/" prefix, or NULL */
} objvec;

static int collect(void *ud, const char *key, void *val);
static int cmp_key(const void *a, const void *b);

int
sim_store_select(const sim_store *s, const char *ns, const char *label_key,
                 const char *const *values, size_t nvalues, sim_obj ***out, size_t *n)
{
    objvec ov = {.ns = ns};
    for (size_t i = 0; i < nvalues && !ov.oom; i++) {
        char ik[640];
        label_ik(ik, sizeof ik, label_key, values[i]);
        const sim_map *m = sim_map_get(&s->by_label, ik);
        if (m) sim_map_each(m, collect, &ov);
    }
    if (ov.oom) {
        for (size_t i = 0; i < ov.n; i++)
            sim_obj_unref(ov.v[i]);
        free(ov.v);
        return ERR_NOMEM;
    }
    if (ov.n > 1) qsort(ov.v, ov.n, sizeof *ov.v, cmp_key);
    *out = ov.v;
    *n = ov.n;
    return 0;
}

static int
ring_push(sim_store *s, sim_event *e)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 128;
        sim_event *r = malloc(cap * sizeof *r);
        if (!r) return ERR_NOMEM;
        for (size_t i = 0; i < s->n; i++)
            r[i] = s->ring[(s->head + i) % s->cap];
        free(s->ring);
        s->ring = r;
        s->head = 0;
        s->cap = cap;
    }
    s->ring[(s->head + s->n) % s->cap] = *e;
    s->n++;
    return 0;
}

static void
ring_pop(sim_store *s)
{
    sim_event *e = &s->ring[s->head];
    if (e->rv > s->expired_rv) s->expired_rv = e->rv;
    event_clear(e);
    s->head = (s->head + 1) % s->cap;
    s->n--;
}

const sim_event *
sim_store_apply(sim_store *s, int type, sim_obj *o, int64_t mono_ms)
{
    sim_obj *prev = sim_map_get(&s->objs, o->key);
    sim_event e = {.type = type, .rv = o->rv, .obj = o, .prev = prev, .mono_ms = mono_ms};
    if (type == SIM_EV_DELETED) {
        sim_map_del(&s->objs, o->key);
        ns_index_put(s, o->key, NULL);
        label_index_update(s, o->key, prev, NULL);
        /* the map's reference to prev moves into the event */
    } else {
        sim_map_put(&s->objs, o->key, sim_obj_ref(o));
        if (sim_map_get(&s->objs, o->key) != o) {
            o->refs--; /* the map's reference that was not kept */
            sim_obj_unref(o);
            return NULL;
        }
        if (ns_index_put(s, o->key, o) != 0) {
            /* index out of sync would be worse than failing the write */
            sim_map_put(&s->objs, o->key, prev);
            o->refs--; /* the map's reference that was not kept */
            sim_obj_unref(o);
            return NULL;
        }
        label_index_update(s, o->key, prev, o);
        /* the map's reference to prev moves into the event */
    }
    if (type == SIM_EV_DELETED && prev)
        sim_store_keys_note(s, o->key, 0);
    else if (type != SIM_EV_DELETED && !prev)
        sim_store_keys_note(s, o->key, 1);
    if (ring_push(s, &e) != 0) {
        /* history lost: make older versions expire instead of lying */
        s->expired_rv = o->rv;
        sim_obj_unref(o);
        sim_obj_unref(prev);
        return NULL;
    }
    return &s->ring[(s->head + s->n - 1) % s->cap];
}

void
sim_store_trim(sim_store *s, size_t max_events, int64_t now_mono_ms)
{
    if (max_events) {
        while (s->n > max_events)
            ring_pop(s);
        return;
    }
    while (s->n > WINDOW_MIN &&
           (s->n > WINDOW_HARD_MAX || now_mono_ms - s->ring[s->head].mono_ms > WINDOW_AGE_MS))
        ring_pop(s);
}

void
sim_store_compact(sim_store *s, uint64_t rv)
{
    while (s->n)
        ring_pop(s);
    if (rv > s->expired_rv) s->expired_rv = rv;
}

int
sim_store_since(const sim_store *s, uint64_t from_rv, size_t *first)
{
    if (from_rv < s->expired_rv) return ERR_GONE;
    /* binary search over the ring for the first rv > from_rv */
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sim_store_event(s, mid)->rv <= from_rv)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    return 0;
}

static int
collect(void *ud, const char *key, void *val)
{
    (void)key;
    objvec *ov = ud;
    if (ov->ns) {
        size_t l = strlen(ov->ns);
        if (strncmp(key, ov->ns, l) != 0 || key[l] != '/') return 0;
    }
    if (ov->n == ov->cap) {
        size_t cap = ov->cap ? ov->cap * 2 : 64;
        sim_obj **v = realloc(ov->v, cap * sizeof *v);
        if (!v) {
            ov->oom = 1;
            return 1;
        }
        ov->v = v;
        ov->cap = cap;
    }
    ov->v[ov->n++] = sim_obj_ref(val);
    return 0;
}

static int
cmp_key(const void *a, const void *b)
{
    const sim_obj *x = *(sim_obj *const *)a, *y = *(sim_obj *const *)b;
    return strcmp(x->key, y->key);
}

int
sim_store_snapshot(const sim_store *s, const char *ns, uint64_t at_rv, sim_obj ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t first = s->n;
    if (at_rv) {
        int rc = sim_store_since(s, at_rv, &first);
        if (rc) return rc;
    }
    objvec ov = {0};
    if (first < s->n) {
        /* Rebuild the state at at_rv: start from now, undo newer events. */
        sim_map tmp = {0};
        const sim_map *src = &s->objs;
        if (ns) {
            const sim_map *m = sim_map_get(&s->by_ns, ns);
            src = m;
        }
        if (src) sim_map_each(src, collect, &ov);
        for (size_t i = 0; i < ov.n && !ov.oom; i++)
            if (!sim_map_get(&tmp, ov.v[i]->key)) {
                sim_map_put(&tmp, ov.v[i]->key, ov.v[i]);
                if (sim_map_get(&tmp, ov.v[i]->key) != ov.v[i]) ov.oom = 1;
            }
        for (size_t i = s->n; i-- > first && !ov.oom;) {
            const sim_event *e = sim_store_event(s, i);
            const char *key = e->obj->key;
            if (ns) {
                char ens[256];
                ns_of(key, ens, sizeof ens);
                if (strcmp(ens, ns) != 0) continue;
            }
            sim_obj *cur = sim_map_del(&tmp, key);
            sim_obj_unref(cur);
            if (e->type != SIM_EV_ADDED && e->prev) {
                sim_map_put(&tmp, key, sim_obj_ref(e->prev));
                if (sim_map_get(&tmp, key) != e->prev) {
                    sim_obj_unref(e->prev);
                    ov.oom = 1;
                }
            }
        }
        free(ov.v);
        ov = (objvec){.oom = ov.oom};
        if (!ov.oom) sim_map_each(&tmp, collect, &ov);
        sim_map_each(&tmp, free_obj, NULL);
        sim_map_free(&tmp);
    } else {
        const sim_map *src = &s->objs;
        if (ns) src = sim_map_get(&s->by_ns, ns);
        if (src) sim_map_each(src, collect, &ov);
    }
    if (ov.oom) {
        for (size_t i = 0; i < ov.n; i++)
            sim_obj_unref(ov.v[i]);
        free(ov.v);
        return ERR_NOMEM;
    }
    if (ov.n > 1) qsort(ov.v, ov.n, sizeof *ov.v, cmp_key);
    *out = ov.v;
    *n = ov.n;
    return 0;
}
