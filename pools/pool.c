/* pool.c - adoptable-candidate sets, one per warm pool (see pool.h).
 *
 * Layout of one pool:
 *
 *   pool_pool ── nodes: hmap nodeName -> pool_node
 *     │          node_heap: nodes holding >= 1 Ready member, best first
 *     │                     (most queued members, then oldest Ready member)
 *     │          fallback: heap of not-Ready members with podIPs, oldest first
 *     └ pending: count of members without podIPs
 *   pool_node ── ready: heap of its Ready-with-podIPs members, oldest first
 *                queued: its unreserved members (any state)
 *
 * A member sits in at most one heap (node->ready or pool->fallback), and
 * m->slot tells where; every state change is "unlink, update, link". The
 * set-wide map "ns/name" -> member finds a member from a cache event. */
#include "pools/pool.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"
#include "pools/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_pool pool_pool;
typedef struct pool_node pool_node;

enum slot { SLOT_NONE = 0, SLOT_READY, SLOT_FALLBACK, SLOT_PENDING };

typedef struct pool_member {
    char *key;       /* "ns/name" */
    char *name;      /* points into key */
    char *node_name; /* status.nodeName, "" when unscheduled */
    pool_pool *pool;
    pool_node *node;
    int ready, has_ips, reserved, parked;
    char rv[32]; /* last resourceVersion seen ("" if unknown) */
    int64_t created_ms;
    enum slot slot;
    size_t hidx;
} pool_member;

struct pool_node {
    char *name;
    pool_pool *pool;
    size_t queued;
    pool__heap ready;
    size_t gidx;
};

struct pool_pool {
    char *key; /* "ns/pool" */
    pool__hmap nodes;
    pool__heap node_heap;
    pool__heap fallback;
    size_t pending, members, reserved, parked;
};

struct pool_set {
    pool__hmap members; /* "ns/name" -> pool_member */
    pool__hmap pools;   /* "ns/pool" -> pool_pool */
};

/* ---- orderings ------------------------------------------------------- */

static int
member_less(const void *a, const void *b)
{
    const pool_member *x = a, *y = b;
    if (x->created_ms != y->created_ms) return x->created_ms < y->created_ms;
    return strcmp(x->name, y->name) < 0;
}

static void
member_setidx(void *item, size_t idx)
{
    ((pool_member *)item)->hidx = idx;
}

static int
node_less(const void *a, const void *b)
{
    const pool_node *x = a, *y = b;
    if (x->queued != y->queued) return x->queued > y->queued;
    const pool_member *mx = pool__heap_top(&x->ready), *my = pool__heap_top(&y->ready);
    if (mx && my && (mx->created_ms != my->created_ms || strcmp(mx->name, my->name) != 0))
        return member_less(mx, my);
    return strcmp(x->name, y->name) < 0;
}

static void
node_setidx(void *item, size_t idx)
{
    ((pool_node *)item)->gidx = idx;
}

/* ---- pools and nodes ------------------------------------------------- */

static pool_pool *
pool_get(pool_set *s, const char *ns, const char *pool, int create)
{
    char key[512];
    if (snprintf(key, sizeof key, "%s/%s", ns, pool) >= (int)sizeof key) return NULL;
    pool_pool *p = pool__hmap_get(&s->pools, key);
    if (p || !create) return p;
    p = calloc(1, sizeof *p);
    if (p == NULL || (p->key = strdup(key)) == NULL) goto fail;
    pool__heap_init(&p->node_heap, node_less, node_setidx);
    pool__heap_init(&p->fallback, member_less, member_setidx);
    if (pool__hmap_put(&s->pools, p->key, p) != 0) goto fail;
    return p;
fail:
    if (p) free(p->key);
    free(p);
    return NULL;
}

static pool_node *
node_get(pool_pool *p, const char *name)
{
    pool_node *n = pool__hmap_get(&p->nodes, name);
    if (n) return n;
    n = calloc(1, sizeof *n);
    if (n == NULL || (n->name = strdup(name)) == NULL) goto fail;
    n->pool = p;
    n->gidx = POOL__NOIDX;
    pool__heap_init(&n->ready, member_less, member_setidx);
    if (pool__hmap_put(&p->nodes, n->name, n) != 0) goto fail;
    return n;
fail:
    if (n) free(n->name);
    free(n);
    return NULL;
}

static void
node_free(pool_node *n)
{
    pool__heap_fini(&n->ready);
    free(n->name);
    free(n);
}

/* Re-rank n in its pool's node heap after its queue or Ready set changed. */
static void
node_rerank(pool_node *n)
{
    pool_pool *p = n->pool;
    int want = n->ready.n > 0;
    if (n->gidx != POOL__NOIDX && !want)
        pool__heap_remove(&p->node_heap, n->gidx);
    else if (n->gidx != POOL__NOIDX)
        pool__heap_fix(&p->node_heap, n->gidx);
    else if (want && pool__heap_push(&p->node_heap, n) != 0)
        n->gidx = POOL__NOIDX; /* OOM: the node stays out of the order; its members still count */
    if (n->queued == 0 && n->ready.n == 0 && n->gidx == POOL__NOIDX) {
        pool__hmap_del(&p->nodes, n->name);
        node_free(n);
    }
}

/* ---- linking ----------------------------------------------------------- */

/* Take m out of every heap and counter (it stays in the maps). */
static void
unlink_member(pool_member *m)
{
    pool_pool *p = m->pool;
    pool_node *n = m->node;
    if (m->slot == SLOT_READY)
        pool__heap_remove(&n->ready, m->hidx);
    else if (m->slot == SLOT_FALLBACK)
        pool__heap_remove(&p->fallback, m->hidx);
    else if (m->slot == SLOT_PENDING)
        p->pending--;
    if (m->slot != SLOT_NONE) {
        n->queued--;
        m->slot = SLOT_NONE;
        node_rerank(n);
    }
    m->node = NULL;
}

/* Put m where its state says; a reserved member is linked nowhere. */
static int
link_member(pool_member *m)
{
    pool_pool *p = m->pool;
    if (m->reserved || m->parked) return 0;
    pool_node *n = node_get(p, m->node_name);
    if (n == NULL) return ERR_NOMEM;
    m->node = n;
    int rc = 0;
    if (m->has_ips && m->ready) {
        rc = pool__heap_push(&n->ready, m);
        m->slot = SLOT_READY;
    } else if (m->has_ips) {
        rc = pool__heap_push(&p->fallback, m);
        m->slot = SLOT_FALLBACK;
    } else {
        p->pending++;
        m->slot = SLOT_PENDING;
    }
    if (rc != 0) {
        m->slot = SLOT_NONE;
        m->node = NULL;
        node_rerank(n);
        return rc;
    }
    n->queued++;
    node_rerank(n);
    return 0;
}

static void
pool_maybe_free(pool_set *s, pool_pool *p)
{
    if (p->members != 0) return;
    pool__hmap_del(&s->pools, p->key);
    pool__hmap_fini(&p->nodes); /* empty: every node left with its last member */
    pool__heap_fini(&p->node_heap);
    pool__heap_fini(&p->fallback);
    free(p->key);
    free(p);
}

static void
member_destroy(pool_set *s, pool_member *m)
{
    pool_pool *p = m->pool;
    unlink_member(m);
    pool__hmap_del(&s->members, m->key);
    p->members--;
    if (m->reserved) p->reserved--;
    if (m->parked) p->parked--;
    free(m->node_name);
    free(m->key);
    free(m);
    pool_maybe_free(s, p);
}

/* ---- public API -------------------------------------------------------- */

pool_set *
pool_set_new(void)
{
    return calloc(1, sizeof(pool_set));
}

void
pool_set_free(pool_set *s)
{
    if (s == NULL) return;
    for (size_t i = 0; i < s->members.nb; i++)
        for (pool__hent *e = s->members.b[i]; e; e = e->next) {
            pool_member *m = e->val;
            free(m->node_name);
            free(m->key);
            free(m);
        }
    for (size_t i = 0; i < s->pools.nb; i++)
        for (pool__hent *e = s->pools.b[i]; e; e = e->next) {
            pool_pool *p = e->val;
            for (size_t j = 0; j < p->nodes.nb; j++)
                for (pool__hent *ne = p->nodes.b[j]; ne; ne = ne->next)
                    node_free(ne->val);
            pool__hmap_fini(&p->nodes);
            pool__heap_fini(&p->node_heap);
            pool__heap_fini(&p->fallback);
            free(p->key);
            free(p);
        }
    pool__hmap_fini(&s->members);
    pool__hmap_fini(&s->pools);
    free(s);
}

static pool_member *
member_find(const pool_set *s, const char *ns, const char *name)
{
    char key[512];
    if (snprintf(key, sizeof key, "%s/%s", ns, name) >= (int)sizeof key) return NULL;
    return pool__hmap_get(&s->members, key);
}

int
pool_upsert(pool_set *s, const char *ns, const char *name, const pool_member_info *info)
{
    if (ns == NULL || name == NULL || info == NULL || info->pool == NULL || *name == '\0')
        return ERR_INVALID;
    pool_pool *p = pool_get(s, ns, info->pool, 1);
    if (p == NULL) return ERR_NOMEM;
    pool_member *m = member_find(s, ns, name);
    if (m && m->pool != p) { /* moved to another pool: start over there */
        member_destroy(s, m);
        m = NULL;
        p = pool_get(s, ns, info->pool, 1);
        if (p == NULL) return ERR_NOMEM;
    }
    if (m == NULL) {
        m = calloc(1, sizeof *m);
        size_t kl = strlen(ns) + 1 + strlen(name) + 1;
        if (m == NULL || (m->key = malloc(kl)) == NULL) {
            free(m);
            pool_maybe_free(s, p);
            return ERR_NOMEM;
        }
        snprintf(m->key, kl, "%s/%s", ns, name);
        m->name = m->key + strlen(ns) + 1;
        m->pool = p;
        m->hidx = POOL__NOIDX;
        if (pool__hmap_put(&s->members, m->key, m) != 0) {
            free(m->key);
            free(m);
            pool_maybe_free(s, p);
            return ERR_NOMEM;
        }
        p->members++;
    } else {
        unlink_member(m);
    }
    char *node = strdup(info->node ? info->node : "");
    if (node == NULL) {
        member_destroy(s, m);
        return ERR_NOMEM;
    }
    free(m->node_name);
    m->node_name = node;
    if (info->rv == NULL || strcmp(info->rv, m->rv) != 0) {
        if (m->parked) { /* a fresher version: worth another compare-and-swap */
            m->parked = 0;
            p->parked--;
        }
        snprintf(m->rv, sizeof m->rv, "%s", info->rv ? info->rv : "");
    }
    m->ready = info->ready != 0;
    m->has_ips = info->has_pod_ips != 0;
    m->created_ms = info->created_ms;
    int rc = link_member(m);
    if (rc != 0) member_destroy(s, m);
    return rc;
}

int
pool_sandbox_adoptable(json_object *sb, const char **pool_out)
{
    if (jx_str(sb, "metadata.deletionTimestamp") != NULL) return 0;
    if (jx_label(sb, "agents.x-k8s.io/warm-pool-sandbox") == NULL ||
        jx_label(sb, "agents.x-k8s.io/sandbox-template-ref-hash") == NULL)
        return 0;
    json_object *refs = jx_arr(sb, "metadata.ownerReferences");
    size_t n = refs ? json_object_array_length(refs) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(refs, i);
        if (jx_bool(r, "controller", 0) != 1) continue;
        const char *av = jx_str(r, "apiVersion"), *kind = jx_str(r, "kind");
        const char *name = jx_str(r, "name");
        const char *slash = av ? strchr(av, '/') : NULL;
        if (kind == NULL || name == NULL || *name == '\0' || slash == NULL) return 0;
        if (strcmp(kind, "SandboxWarmPool") != 0 ||
            (size_t)(slash - av) != strlen("extensions.agents.x-k8s.io") ||
            strncmp(av, "extensions.agents.x-k8s.io", (size_t)(slash - av)) != 0)
            return 0;
        if (pool_out) *pool_out = name;
        return 1;
    }
    return 0;
}

static int
sandbox_ready(json_object *sb)
{
    json_object *conds = jx_arr(sb, "status.conditions");
    size_t n = conds ? json_object_array_length(conds) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        const char *t = jx_str(c, "type");
        if (t && strcmp(t, "Ready") == 0) return strcmp(jx_str_or(c, "status", ""), "True") == 0;
    }
    return 0;
}

int
pool_observe(pool_set *s, json_object *sb)
{
    const char *ns = jx_str(sb, "metadata.namespace");
    const char *name = jx_str(sb, "metadata.name");
    const char *pool = NULL;
    if (ns == NULL || name == NULL) return 0;
    if (!pool_sandbox_adoptable(sb, &pool)) {
        pool_forget(s, ns, name);
        return 0;
    }
    json_object *ips = jx_arr(sb, "status.podIPs");
    int64_t created = 0;
    const char *ct = jx_str(sb, "metadata.creationTimestamp");
    if (ct == NULL || time_parse_rfc3339(ct, &created) != 0)
        created = 0; /* unknown age sorts as oldest; harmless */
    pool_member_info info = {
        .pool = pool,
        .ready = sandbox_ready(sb),
        .has_pod_ips = ips != NULL && json_object_array_length(ips) > 0,
        .node = jx_str(sb, "status.nodeName"),
        .created_ms = created,
        .rv = jx_str(sb, "metadata.resourceVersion"),
    };
    return pool_upsert(s, ns, name, &info);
}

void
pool_forget(pool_set *s, const char *ns, const char *name)
{
    pool_member *m = member_find(s, ns, name);
    if (m) member_destroy(s, m);
}

void
pool_drop_pool(pool_set *s, const char *ns, const char *pool)
{
    pool_pool *p = pool_get(s, ns, pool, 0);
    if (p == NULL) return;
    /* Collect first: member_destroy frees the pool with its last member. */
    size_t n = 0, cap = p->members;
    pool_member **v = cap ? malloc(cap * sizeof *v) : NULL;
    if (cap && v == NULL) return;
    for (size_t i = 0; i < s->members.nb && n < cap; i++)
        for (pool__hent *e = s->members.b[i]; e; e = e->next)
            if (((pool_member *)e->val)->pool == p && n < cap) v[n++] = e->val;
    for (size_t i = 0; i < n; i++)
        member_destroy(s, v[i]);
    free(v);
}

int
pool_take(pool_set *s, const char *ns, const char *pool, pool_pick *out)
{
    memset(out, 0, sizeof *out);
    pool_pool *p = pool_get(s, ns, pool, 0);
    if (p == NULL) return ERR_NOTFOUND;
    out->pending = p->pending;
    pool_member *m = NULL;
    pool_node *best = pool__heap_top(&p->node_heap);
    if (best) m = pool__heap_top(&best->ready);
    if (m == NULL) m = pool__heap_top(&p->fallback);
    if (m == NULL) return ERR_NOTFOUND;
    out->ready = m->ready && m->has_ips;
    snprintf(out->name, sizeof out->name, "%s", m->name);
    unlink_member(m);
    m->reserved = 1;
    p->reserved++;
    return 0;
}

void
pool_release(pool_set *s, const char *ns, const char *name)
{
    pool_member *m = member_find(s, ns, name);
    if (m == NULL || !m->reserved) return;
    m->reserved = 0;
    m->pool->reserved--;
    if (link_member(m) != 0) member_destroy(s, m);
}

void
pool_release_conflict(pool_set *s, const char *ns, const char *name, const char *rv_tried)
{
    pool_member *m = member_find(s, ns, name);
    if (m == NULL || !m->reserved) return;
    if (rv_tried != NULL && *rv_tried && strcmp(m->rv, rv_tried) == 0) {
        m->reserved = 0;
        m->pool->reserved--;
        m->parked = 1;
        m->pool->parked++;
        return;
    }
    pool_release(s, ns, name);
}

void
pool_done(pool_set *s, const char *ns, const char *name)
{
    pool_forget(s, ns, name);
}

void
pool_get_stats(const pool_set *s, const char *ns, const char *pool, pool_stats *out)
{
    memset(out, 0, sizeof *out);
    char key[512];
    if (snprintf(key, sizeof key, "%s/%s", ns, pool) >= (int)sizeof key) return;
    pool_pool *p = pool__hmap_get(&s->pools, key);
    if (p == NULL) return;
    out->members = p->members;
    out->reserved = p->reserved;
    out->parked = p->parked;
    out->pending = p->pending;
    out->fallback = p->fallback.n;
    for (size_t i = 0; i < p->nodes.nb; i++)
        for (pool__hent *e = p->nodes.b[i]; e; e = e->next)
            out->ready += ((pool_node *)e->val)->ready.n;
}

int
pool_is_reserved(const pool_set *s, const char *ns, const char *name)
{
    pool_member *m = member_find(s, ns, name);
    return m != NULL && m->reserved;
}
