/* ext_routes.c - see ext_routes.h. */
#include "controller/ext_routes.h"

#include "controller/ext_map.h"
#include "controller/routes.h"
#include "core/jx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_ext_router {
    ctl_xmap claim_pool; /* "ns/claim" -> malloc'd pool name ("" when none) */
    ctl_xmap pool_gen;   /* "ns/pool" -> malloc'd int64 generation */
    ctl_xmap tmpl_gen;   /* "ns/template" -> malloc'd int64 generation */
};

ctl_ext_router *
ctl_ext_router_new(void)
{
    return calloc(1, sizeof(ctl_ext_router));
}

void
ctl_ext_router_free(ctl_ext_router *r)
{
    if (r == NULL) return;
    ctl_xmap_fini(&r->claim_pool, free);
    ctl_xmap_fini(&r->pool_gen, free);
    ctl_xmap_fini(&r->tmpl_gen, free);
    free(r);
}

char *
ctl_ext_pool_route(char *buf, size_t len, const char *ns, const char *pool)
{
    if (!ns || !pool || !*ns || !*pool) return NULL;
    int n = snprintf(buf, len, "%s/%s", ns, pool);
    return n > 0 && (size_t)n < len ? buf : NULL;
}

static int
nsname(char *buf, size_t len, const char *ns, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", ns ? ns : "", name ? name : "");
    return n > 0 && (size_t)n < len;
}

static size_t
emit_on(ctl_ext_router_emit_fn emit, void *ud, const char *kind, const char *ns, const char *name,
        const char *pool)
{
    char key[CTL_KEY_MAX], route[CTL_KEY_MAX];
    if (!ctl_route_key(key, sizeof key, kind, ns, name)) return 0;
    emit(ud, ctl_ext_pool_route(route, sizeof route, ns, pool), key);
    return 1;
}

/* Remember claim ns/name -> pool. */
static void
learn_claim(ctl_ext_router *rt, const char *ns, const char *name, const char *pool)
{
    char k[CTL_KEY_MAX];
    if (!nsname(k, sizeof k, ns, name)) return;
    const char *cur = ctl_xmap_get(&rt->claim_pool, k);
    if (cur && strcmp(cur, pool ? pool : "") == 0) return;
    char *v = strdup(pool ? pool : "");
    void *old = NULL;
    if (v == NULL || ctl_xmap_put(&rt->claim_pool, k, v, &old) != 0) {
        free(v);
        return;
    }
    free(old);
}

/* The pool a claim routes to: the map, else the store. NULL: none known. */
static const char *
claim_pool(ctl_ext_router *rt, store_rtxn *r, const char *ns, const char *name)
{
    char k[CTL_KEY_MAX];
    if (!nsname(k, sizeof k, ns, name)) return NULL;
    const char *p = ctl_xmap_get(&rt->claim_pool, k);
    if (p) return *p ? p : NULL;
    json_object *c = NULL;
    if (r == NULL || store_get(r, STORE_CLAIM, ns, name, &c) != 0) return NULL;
    learn_claim(rt, ns, name, jx_str(c, "spec.warmPoolRef.name"));
    json_object_put(c);
    p = ctl_xmap_get(&rt->claim_pool, k);
    return p && *p ? p : NULL;
}

static size_t
emit_claim(ctl_ext_router *rt, store_rtxn *r, const char *ns, const char *name,
           ctl_ext_router_emit_fn emit, void *ud)
{
    return emit_on(emit, ud, "claim", ns, name, claim_pool(rt, r, ns, name));
}

/* Generation bookkeeping: returns 1 when the object appeared, disappeared
 * (gen < 0) or its generation changed. */
static int
gen_changed(ctl_xmap *m, const char *ns, const char *name, int64_t gen)
{
    char k[CTL_KEY_MAX];
    if (!nsname(k, sizeof k, ns, name)) return 1;
    int64_t *cur = ctl_xmap_get(m, k);
    if (gen < 0) {
        free(ctl_xmap_del(m, k));
        return 1;
    }
    if (cur && *cur == gen) return 0;
    if (cur) {
        *cur = gen;
        return 1;
    }
    int64_t *v = malloc(sizeof *v);
    if (v == NULL) return 1;
    *v = gen;
    if (ctl_xmap_put(m, k, v, NULL) != 0) free(v);
    return 1;
}

typedef struct claims_ctx {
    ctl_ext_router *rt;
    const char *pool;
    int unbound_only;
    ctl_ext_router_emit_fn emit;
    void *ud;
    size_t n;
} claims_ctx;

static int
on_pool_claim(const store_item *it, void *udata)
{
    claims_ctx *c = udata;
    json_object *o = NULL;
    if (store_decode(it, &o) != 0) return 0;
    const char *bound = jx_str(o, "status.sandbox.name");
    int skip =
        jx_get(o, "metadata.deletionTimestamp") != NULL || (c->unbound_only && bound && *bound);
    learn_claim(c->rt, it->ns, it->name, c->pool);
    json_object_put(o);
    if (!skip) c->n += emit_on(c->emit, c->ud, "claim", it->ns, it->name, c->pool);
    return 0;
}

static size_t
emit_pool_claims(ctl_ext_router *rt, store_rtxn *r, const char *ns, const char *pool,
                 int unbound_only, ctl_ext_router_emit_fn emit, void *ud)
{
    claims_ctx c = {rt, pool, unbound_only, emit, ud, 0};
    if (r) store_claims_by_pool(r, ns, pool, on_pool_claim, &c);
    return c.n;
}

typedef struct tpools_ctx {
    ctl_ext_router *rt;
    store_rtxn *r;
    const char *tmpl;
    int with_claims;
    ctl_ext_router_emit_fn emit;
    void *ud;
    size_t n;
} tpools_ctx;

static int
on_ns_pool(const store_item *it, void *udata)
{
    tpools_ctx *t = udata;
    json_object *o = NULL;
    if (store_decode(it, &o) != 0) return 0;
    const char *ref = jx_str(o, "spec.sandboxTemplateRef.name");
    int match = ref && strcmp(ref, t->tmpl) == 0;
    json_object_put(o);
    if (!match) return 0;
    t->n += emit_on(t->emit, t->ud, "pool", it->ns, it->name, it->name);
    if (t->with_claims) t->n += emit_pool_claims(t->rt, t->r, it->ns, it->name, 0, t->emit, t->ud);
    return 0;
}

static int
is_kind(const char *k, const char *want)
{
    return k && strcmp(k, want) == 0;
}

static size_t
route_sandbox(ctl_ext_router *rt, store_rtxn *r, const store_change *c, ctl_ext_router_emit_fn emit,
              void *ud)
{
    size_t n = 0;
    const char *pools[2] = {NULL, NULL}, *claims[2] = {NULL, NULL};
    if (is_kind(c->owner_kind, "SandboxWarmPool")) pools[0] = c->owner_name;
    if (is_kind(c->old_owner_kind, "SandboxWarmPool")) pools[1] = c->old_owner_name;
    if (is_kind(c->owner_kind, "SandboxClaim")) claims[0] = c->owner_name;
    if (is_kind(c->old_owner_kind, "SandboxClaim")) claims[1] = c->old_owner_name;
    for (int i = 0; i < 2; i++) {
        if (!pools[i] || (i == 1 && pools[0] && !strcmp(pools[0], pools[1]))) continue;
        /* "<pool>:<sandbox>": ':' is never part of a name; the pool pass
         * itself is queued by the member's process function (coalesced). */
        char member[2 * STORE_MAX_NAME + 2];
        int ml = snprintf(member, sizeof member, "%s:%s", pools[i], c->name);
        if (ml > 0 && (size_t)ml < sizeof member)
            n += emit_on(emit, ud, "poolmember", c->ns, member, pools[i]);
    }
    for (int i = 0; i < 2; i++) {
        if (!claims[i] || (i == 1 && claims[0] && !strcmp(claims[0], claims[1]))) continue;
        n += emit_claim(rt, r, c->ns, claims[i], emit, ud);
    }
    /* A Sandbox named like a claim it is not controlled by (yet). */
    char k[CTL_KEY_MAX];
    if (!(claims[0] && !strcmp(claims[0], c->name)) && nsname(k, sizeof k, c->ns, c->name) &&
        ctl_xmap_get(&rt->claim_pool, k))
        n += emit_claim(rt, r, c->ns, c->name, emit, ud);
    return n;
}

#define NP_SUFFIX "-network-policy"

static size_t
route_netpol(ctl_ext_router *rt, store_rtxn *r, const store_change *c, ctl_ext_router_emit_fn emit,
             void *ud)
{
    size_t n = 0;
    char t[CTL_KEY_MAX];
    if (is_kind(c->owner_kind, "SandboxTemplate"))
        n += emit_on(emit, ud, "template", c->ns, c->owner_name, NULL);
    size_t l = strlen(c->name), sl = strlen(NP_SUFFIX);
    if (l > sl && l - sl < sizeof t && strcmp(c->name + l - sl, NP_SUFFIX) == 0) {
        memcpy(t, c->name, l - sl);
        t[l - sl] = '\0';
        if (!(is_kind(c->owner_kind, "SandboxTemplate") && !strcmp(c->owner_name, t)))
            n += emit_on(emit, ud, "template", c->ns, t, NULL);
    }
    if (is_kind(c->owner_kind, "SandboxClaim"))
        n += emit_claim(rt, r, c->ns, c->owner_name, emit, ud);
    return n;
}

size_t
ctl_ext_route_change(ctl_ext_router *rt, store_rtxn *r, const store_change *c,
                     ctl_ext_router_emit_fn emit, void *ud)
{
    if (rt == NULL || c == NULL || emit == NULL || !c->ns || !c->name) return 0;
    size_t n = 0;
    json_object *o = NULL;
    switch (c->kind) {
    case STORE_CLAIM: {
        char k[CTL_KEY_MAX];
        if (c->type == STORE_DELETED) {
            n = emit_claim(rt, r, c->ns, c->name, emit, ud);
            if (nsname(k, sizeof k, c->ns, c->name)) free(ctl_xmap_del(&rt->claim_pool, k));
            return n;
        }
        if (r && store_get(r, STORE_CLAIM, c->ns, c->name, &o) == 0) {
            learn_claim(rt, c->ns, c->name, jx_str(o, "spec.warmPoolRef.name"));
            json_object_put(o);
        }
        return emit_claim(rt, r, c->ns, c->name, emit, ud);
    }
    case STORE_POOL: {
        int64_t gen = -1;
        if (c->type != STORE_DELETED && r && store_get(r, STORE_POOL, c->ns, c->name, &o) == 0) {
            gen = jx_int(o, "metadata.generation", 0);
            json_object_put(o);
        }
        n = emit_on(emit, ud, "pool", c->ns, c->name, c->name);
        if (gen_changed(&rt->pool_gen, c->ns, c->name, gen))
            n += emit_pool_claims(rt, r, c->ns, c->name, 1, emit, ud);
        return n;
    }
    case STORE_TEMPLATE: {
        int64_t gen = -1;
        if (c->type != STORE_DELETED && r &&
            store_get(r, STORE_TEMPLATE, c->ns, c->name, &o) == 0) {
            gen = jx_int(o, "metadata.generation", 0);
            json_object_put(o);
        }
        n = emit_on(emit, ud, "template", c->ns, c->name, NULL);
        if (gen_changed(&rt->tmpl_gen, c->ns, c->name, gen) && r) {
            tpools_ctx t = {rt, r, c->name, c->type == STORE_ADDED, emit, ud, 0};
            store_list(r, STORE_POOL, c->ns, on_ns_pool, &t);
            n += t.n;
        }
        return n;
    }
    case STORE_SANDBOX:
        return route_sandbox(rt, r, c, emit, ud);
    case STORE_NETPOL:
        return route_netpol(rt, r, c, emit, ud);
    default:
        return 0;
    }
}

typedef struct all_ctx {
    ctl_ext_router *rt;
    ctl_ext_router_emit_fn emit;
    void *ud;
    size_t n;
} all_ctx;

static int
on_all_claim(const store_item *it, void *udata)
{
    all_ctx *a = udata;
    json_object *o = NULL;
    if (store_decode(it, &o) != 0) return 0;
    learn_claim(a->rt, it->ns, it->name, jx_str(o, "spec.warmPoolRef.name"));
    json_object_put(o);
    a->n += emit_claim(a->rt, NULL, it->ns, it->name, a->emit, a->ud);
    return 0;
}

static int
on_all_pool(const store_item *it, void *udata)
{
    all_ctx *a = udata;
    json_object *o = NULL;
    if (store_decode(it, &o) != 0) return 0;
    gen_changed(&a->rt->pool_gen, it->ns, it->name, jx_int(o, "metadata.generation", 0));
    json_object_put(o);
    a->n += emit_on(a->emit, a->ud, "pool", it->ns, it->name, it->name);
    return 0;
}

static int
on_all_tmpl(const store_item *it, void *udata)
{
    all_ctx *a = udata;
    json_object *o = NULL;
    if (store_decode(it, &o) != 0) return 0;
    gen_changed(&a->rt->tmpl_gen, it->ns, it->name, jx_int(o, "metadata.generation", 0));
    json_object_put(o);
    a->n += emit_on(a->emit, a->ud, "template", it->ns, it->name, NULL);
    return 0;
}

size_t
ctl_ext_route_all(ctl_ext_router *rt, store_rtxn *r, ctl_ext_router_emit_fn emit, void *ud)
{
    if (rt == NULL || r == NULL || emit == NULL) return 0;
    all_ctx a = {rt, emit, ud, 0};
    /* Templates and pools first: a pool's first pass feeds pools/ before
     * the claims of the same shard run. */
    store_list(r, STORE_TEMPLATE, NULL, on_all_tmpl, &a);
    store_list(r, STORE_POOL, NULL, on_all_pool, &a);
    store_list(r, STORE_CLAIM, NULL, on_all_claim, &a);
    return a.n;
}
