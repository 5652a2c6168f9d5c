/* ext.c - per-shard state and process functions of the extension
 * controllers (see ext.h). */
#include "controller/ext.h"

#include "controller/ext_map.h"
#include "controller/ext_metrics.h"
#include "controller/ext_routes.h"
#include "controller/manager_internal.h"
#include "controller/routes.h"
#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/namehash.h"
#include "core/timeutil.h"
#include "pools/pool.h"
#include "reconciler/claim.h"
#include "reconciler/template.h"
#include "reconciler/meta.h"
#include "reconciler/warmpool.h"
#include "reconciler/warmpool_members.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ext_shard {
    pool_set *pools;
    ctl_xmap wp;                  /* "ns/pool" -> rec_wp_state* */
    ctl_xmap claims;              /* "ns/claim" -> rec_claim_state* */
    ctl_xmap members;             /* "ns/pool" -> mcache* */
    _Atomic int64_t pool_pass_ms; /* the shard's last pool pass took this long */
} ext_shard;

/* A pool's members as its pass reads them (see reconciler/warmpool_members.h):
 * decoded and digested once per version. Between full listings of the
 * store's pool index it is kept current by the pool's member events
 * (ctl_ext_process_poolmember) and, in each pass, by re-reading the names
 * the pass's create expectations are about; a full listing runs on the
 * first pass, when the pool's generation or its template changed, and at
 * least every CTL_EXT_POOL_RELIST_MS (it finds what no member event
 * announces: orphans labelled for the pool, hand-made label changes).
 * Listing ~1,000 members on every pass was most of the pool pass's cost.
 * Only the shard's worker touches these objects (json-c counts are not
 * atomic). */
typedef struct mcache {
    rec_wp_members *m;
    int64_t listed_ms; /* monotonic ms of the last full listing (0: never / failed) */
    int64_t pool_gen;  /* the pool's metadata.generation then */
    char pool_uid[64]; /* and its metadata.uid (a new incarnation starts over) */
    char tmpl_rv[32];  /* its template's metadata.resourceVersion then */
    char hash[9];      /* NameHash of the pool's name (the members' label value) */
    int observed;      /* pools/ was fed with every member of a full listing */
} mcache;

struct ctl_ext {
    int n;
    ext_shard *sh;
    rec_claim_config ccfg;
    rec_wp_config wcfg;
    rec_domains domains;
    ctl_ext_router *router; /* I/O thread */
};

/* ---- setup ------------------------------------------------------------------- */

static void
load_domains(ctl_ext *x, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) return; /* optional: the default list applies */
    char buf[8192];
    size_t len = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[len] = '\0';
    if (rec_domains_parse(&x->domains, buf) != 0) {
        LOG_W("ext", "cannot parse the allowed label domains; using the default", "file=%s", path);
        return;
    }
    if (x->domains.n > 0) x->ccfg.label_domains = &x->domains;
    LOG_I("ext", "allowed label domains loaded", "file=%s domains=%zu", path, x->domains.n);
}

ctl_ext *
ctl_ext_new(const ctl_flags *f, int shards, const char *domains_file, char *err, size_t errlen)
{
    ctl_ext *x = calloc(1, sizeof *x);
    if (x == NULL || shards <= 0) goto fail;
    x->n = shards;
    x->sh = calloc((size_t)shards, sizeof *x->sh);
    x->router = ctl_ext_router_new();
    if (x->sh == NULL || x->router == NULL) goto fail;
    for (int i = 0; i < shards; i++)
        if ((x->sh[i].pools = pool_set_new()) == NULL) goto fail;
    rec_claim_config_default(&x->ccfg);
    x->ccfg.disable_events = f->disable_claim_events;
    x->ccfg.disable_observability_annotations = f->disable_claim_observability_annotations;
    rec_wp_config_default(&x->wcfg);
    x->wcfg.max_batch = f->sandbox_warm_pool_max_batch_size;
    x->wcfg.readiness_grace_ms = f->sandbox_warm_pool_readiness_grace_period_ns / 1000000;
    x->wcfg.unschedulable_recheck_ms =
        f->sandbox_warm_pool_unschedulable_recheck_interval_ns / 1000000;
    x->wcfg.enable_eviction = f->enable_warm_pool_eviction;
    x->wcfg.replenish_delay_ms = f->sandbox_warm_pool_replenish_delay_ns / 1000000;
    x->wcfg.max_refill_rate = f->sandbox_warm_pool_max_refill_rate;
    load_domains(x, domains_file ? domains_file : CTL_EXT_LABEL_DOMAINS_FILE);
    return x;
fail:
    snprintf(err, errlen, "out of memory");
    ctl_ext_free(x);
    return NULL;
}

static void
free_wp(void *v)
{
    rec_wp_state_fini(v);
    free(v);
}

static void
free_members(void *v)
{
    mcache *c = v;
    if (c) rec_wp_members_free(c->m);
    free(c);
}

static void
free_claim(void *v)
{
    rec_claim_state_fini(v);
    free(v);
}

void
ctl_ext_free(ctl_ext *x)
{
    if (x == NULL) return;
    for (int i = 0; x->sh && i < x->n; i++) {
        ctl_xmap_fini(&x->sh[i].wp, free_wp);
        ctl_xmap_fini(&x->sh[i].claims, free_claim);
        ctl_xmap_fini(&x->sh[i].members, free_members);
        pool_set_free(x->sh[i].pools);
    }
    free(x->sh);
    ctl_ext_router_free(x->router);
    rec_domains_fini(&x->domains);
    free(x);
}

/* ---- store reads ------------------------------------------------------------- */

/* Decoded objects a pass borrows; released after it. */
typedef struct bag {
    json_object **v;
    size_t n, cap;
    int nomem;
} bag;

static json_object *
bag_add(bag *b, json_object *o)
{
    if (o == NULL) return NULL;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        json_object **v = realloc(b->v, cap * sizeof *v);
        if (v == NULL) {
            b->nomem = 1;
            json_object_put(o);
            return NULL;
        }
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = o;
    return o;
}

static void
bag_fini(bag *b)
{
    for (size_t i = 0; i < b->n; i++)
        json_object_put(b->v[i]);
    free(b->v);
}

/* Sandboxes a pass already read (found or not), by "ns/name": a claim pass
 * asks for the same Sandbox several times (its status, its annotation, its
 * controlled list, the candidate), and each store read decodes a new copy.
 * One txn, so the answers cannot differ. */
#define RD_MEMO 8
typedef struct rd_memo {
    char key[2 * STORE_MAX_NAME + 2];
    json_object *obj; /* in the bag; NULL: not found */
} rd_memo;

typedef struct reader {
    store_rtxn *r;
    bag held;
    int err; /* first store error other than NOTFOUND */
    rd_memo memo[RD_MEMO];
    size_t n_memo;
} reader;

static void
rd_remember(reader *rd, const char *ns, const char *name, json_object *o)
{
    if (rd->n_memo == RD_MEMO) return;
    rd_memo *m = &rd->memo[rd->n_memo];
    int n = snprintf(m->key, sizeof m->key, "%s/%s", ns, name);
    if (n <= 0 || (size_t)n >= sizeof m->key) return;
    m->obj = o;
    rd->n_memo++;
}

static json_object *
rd_get(reader *rd, enum store_kind k, const char *ns, const char *name)
{
    json_object *o = NULL;
    if (!ns || !name || !*name) return NULL;
    int rc = store_get(rd->r, k, ns, name, &o);
    if (rc != 0) {
        if (rc != ERR_NOTFOUND && rd->err == 0) rd->err = rc;
        return NULL;
    }
    return bag_add(&rd->held, o);
}

static json_object *
lookup_sandbox(void *ud, const char *ns, const char *name)
{
    reader *rd = ud;
    if (!ns || !name || !*name) return NULL;
    char key[2 * STORE_MAX_NAME + 2];
    int n = snprintf(key, sizeof key, "%s/%s", ns, name);
    if (n > 0 && (size_t)n < sizeof key)
        for (size_t i = 0; i < rd->n_memo; i++)
            if (strcmp(rd->memo[i].key, key) == 0) return rd->memo[i].obj;
    int err = rd->err;
    json_object *o = rd_get(rd, STORE_SANDBOX, ns, name);
    if (o != NULL || rd->err == err) rd_remember(rd, ns, name, o); /* found, or NotFound */
    return o;
}

/* A list of decoded objects (pointers into the reader's bag). */
typedef struct objlist {
    reader *rd;
    json_object **v;
    size_t n, cap;
} objlist;

static int
on_item(const store_item *it, void *udata)
{
    objlist *l = udata;
    json_object *o = NULL;
    if (store_decode(it, &o) != 0) return 0; /* damaged entry: skip it */
    if (bag_add(&l->rd->held, o) == NULL) return ERR_NOMEM;
    if (it->kind == STORE_SANDBOX) rd_remember(l->rd, it->ns, it->name, o);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        json_object **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) return ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = o;
    return 0;
}

/* ---- pool members ------------------------------------------------------------- */

static mcache *
mcache_get(ext_shard *s, const char *key, const char *pool, int create)
{
    mcache *c = ctl_xmap_get(&s->members, key);
    if (c || !create) return c;
    if ((c = calloc(1, sizeof *c)) == NULL) return NULL;
    if ((c->m = rec_wp_members_new()) == NULL || ctl_xmap_put(&s->members, key, c, NULL) != 0) {
        free_members(c);
        return NULL;
    }
    namehash_hex(pool, c->hash);
    return c;
}

/* Decode a stored member and hold it (when it still carries the pool's
 * label) or drop it (when not). *obj_out (may be NULL): the decoded object,
 * borrowed from the cache or from the reader's bag. */
static int
mcache_take(reader *rd, mcache *c, const store_item *it, json_object **obj_out)
{
    json_object *o = NULL;
    if (obj_out) *obj_out = NULL;
    if (store_decode(it, &o) != 0) { /* damaged entry: not a member */
        rec_wp_members_del(c->m, it->name);
        return 0;
    }
    const char *l = jx_label(o, REC_LABEL_WARM_POOL);
    if (l == NULL || strcmp(l, c->hash) != 0) {
        rec_wp_members_del(c->m, it->name);
        if (obj_out)
            *obj_out = bag_add(&rd->held, o);
        else
            json_object_put(o);
        return 0;
    }
    int rc = rec_wp_members_put(c->m, it->name, it->data, it->len, o);
    if (obj_out) *obj_out = rc == 0 ? o : NULL;
    return rc;
}

static int
on_listed(const store_item *it, void *udata)
{
    void **a = udata;
    reader *rd = a[0];
    mcache *c = a[1];
    if (rec_wp_members_same(c->m, it->name, it->data, it->len)) return 0;
    return mcache_take(rd, c, it, NULL);
}

/* Bring member `name` up to the store's version (the reader's txn). */
static int
mcache_refresh(reader *rd, mcache *c, const char *ns, const char *name)
{
    store_item it;
    int rc = store_get_raw(rd->r, STORE_SANDBOX, ns, name, &it);
    if (rc == ERR_NOTFOUND) {
        rec_wp_members_del(c->m, name);
        return 0;
    }
    if (rc != 0) return rc;
    if (rec_wp_members_same(c->m, name, it.data, it.len)) return 0;
    return mcache_take(rd, c, &it, NULL);
}

/* The pool pass's members: a full listing when due, else the held ones
 * with the names the pass's create expectations are about (the created
 * names not yet seen, and this pass's create outcomes) re-read from the
 * store, so a member created by the pool is counted as soon as the store
 * has it, as a listing would count it (never an expectation dropped for
 * a member the set does not hold yet: that would over-create). */
static int
mcache_sync(reader *rd, mcache *c, const char *ns, const rec_wp_state *ws, json_object *pool,
            json_object *tmpl, const rec_outcome *oc, size_t n)
{
    int64_t now = time_mono_ms();
    int64_t gen = jx_int(pool, "metadata.generation", 0);
    const char *trv = jx_str_or(tmpl, "metadata.resourceVersion", "");
    const char *uid = jx_str_or(pool, "metadata.uid", "");
    if (strcmp(uid, c->pool_uid) != 0) { /* feed pools/ again from the new listing */
        c->listed_ms = 0;
        c->observed = 0;
        snprintf(c->pool_uid, sizeof c->pool_uid, "%s", uid);
    }
    if (c->listed_ms == 0 || now - c->listed_ms >= CTL_EXT_POOL_RELIST_MS || gen != c->pool_gen ||
        strcmp(trv, c->tmpl_rv) != 0) {
        void *a[2] = {rd, c};
        c->listed_ms = 0;
        rec_wp_members_mark(c->m);
        int rc = store_sandboxes_by_pool(rd->r, ns, c->hash, on_listed, a);
        if (rc != 0 && rc != ERR_NOTFOUND) return rc; /* the next pass lists again */
        rec_wp_members_sweep(c->m);
        c->listed_ms = now;
        c->pool_gen = gen;
        snprintf(c->tmpl_rv, sizeof c->tmpl_rv, "%s", trv);
        return 0;
    }
    for (size_t i = 0; i < ws->exp.n_created; i++) {
        int rc = mcache_refresh(rd, c, ns, ws->exp.created[i].name);
        if (rc != 0) return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = oc[i].err == 0 && oc[i].tag && !strcmp(oc[i].tag, "wp-create")
                               ? jx_str(oc[i].object, "metadata.name")
                               : NULL;
        int rc = name ? mcache_refresh(rd, c, ns, name) : 0;
        if (rc != 0) return rc;
    }
    return 0;
}

static int
rd_begin(ctl_manager *m, reader *rd)
{
    memset(rd, 0, sizeof *rd);
    return store_rtxn_begin(m->st, &rd->r);
}

static int
rd_end(reader *rd)
{
    store_rtxn_end(rd->r);
    rd->r = NULL;
    int rc = rd->held.nomem ? ERR_NOMEM : rd->err;
    bag_fini(&rd->held);
    return rc;
}

static ext_shard *
shard_of(ctl_manager *m, int shard)
{
    ctl_ext *x = m->ext;
    if (x == NULL || shard < 0 || shard >= x->n) return NULL;
    return &x->sh[shard];
}

/* Queue the pool's pass after the coalescing window: at least
 * CTL_EXT_POOL_COALESCE_MS, and CTL_EXT_POOL_DUTY x the shard's last pool
 * pass, so pool passes (O(members)) take at most ~1/(1+DUTY) of the shard
 * however many claims and member events ask for one (the claims on this
 * shard go first in between). Capped at CTL_EXT_POOL_COALESCE_MAX_MS: the
 * refill still starts within that. */
static int64_t
pool_window(ctl_manager *m, int shard)
{
    ext_shard *s = shard_of(m, shard);
    int64_t d = s ? atomic_load_explicit(&s->pool_pass_ms, memory_order_relaxed) : 0;
    d *= CTL_EXT_POOL_DUTY;
    if (d < CTL_EXT_POOL_COALESCE_MS) d = CTL_EXT_POOL_COALESCE_MS;
    if (d > CTL_EXT_POOL_COALESCE_MAX_MS) d = CTL_EXT_POOL_COALESCE_MAX_MS;
    return d;
}

int64_t
ctl_ext_followup_delay(void *manager, int shard, const char *key)
{
    ctl_manager *m = manager;
    if (m == NULL || key == NULL || strncmp(key, "pool/", 5) != 0) return 0;
    return pool_window(m, shard);
}

static void
queue_pool_after(ctl_manager *m, int shard, const char *ns, const char *pool)
{
    int64_t d = pool_window(m, shard);
    char key[CTL_KEY_MAX], route[CTL_KEY_MAX];
    if (ctl_route_key(key, sizeof key, "pool", ns, pool) &&
        ctl_ext_pool_route(route, sizeof route, ns, pool))
        rec_shards_add_after(m->shards, route, key, d);
}

/* ---- claims ------------------------------------------------------------------ */

int
ctl_ext_key_priority(const char *key)
{
    return key != NULL && strncmp(key, "claim/", 6) == 0;
}

int
ctl_ext_process_claim(ctl_manager *m, int shard, const char *ns, const char *name,
                      const rec_outcome *oc, size_t n, rec_result *out)
{
    ext_shard *s = shard_of(m, shard);
    if (s == NULL) return ERR_INVALID;
    char k[CTL_KEY_MAX];
    snprintf(k, sizeof k, "%s/%s", ns, name);
    reader rd;
    int rc = rd_begin(m, &rd);
    if (rc != 0) return rc;
    rec_claim_state *cs = ctl_xmap_get(&s->claims, k);
    json_object *claim = rd_get(&rd, STORE_CLAIM, ns, name);
    if (claim == NULL) {
        rc = rd_end(&rd);
        if (rc != 0) return rc; /* a store error: do not forget on a failed read */
        if (cs) {
            rec_claim_forget(cs, s->pools, ns);
            free(ctl_xmap_del(&s->claims, k));
        }
        return 0;
    }
    if (cs == NULL) {
        cs = malloc(sizeof *cs);
        if (cs == NULL || ctl_xmap_put(&s->claims, k, cs, NULL) != 0) {
            free(cs);
            rd_end(&rd);
            return ERR_NOMEM;
        }
        rec_claim_state_init(cs);
    }
    const char *pool_name = jx_str(claim, "spec.warmPoolRef.name");
    json_object *pool = rd_get(&rd, STORE_POOL, ns, pool_name);
    json_object *tmpl =
        pool ? rd_get(&rd, STORE_TEMPLATE, ns, jx_str(pool, "spec.sandboxTemplateRef.name")) : NULL;
    objlist ctl = {&rd, NULL, 0, 0};
    const char *uid = jx_str(claim, "metadata.uid");
    if (uid && *uid) {
        int lrc = store_children(rd.r, uid, STORE_SANDBOX, on_item, &ctl);
        if (lrc != 0 && lrc != ERR_NOTFOUND && rd.err == 0) rd.err = lrc;
    }
    char npn[CTL_KEY_MAX];
    snprintf(npn, sizeof npn, "%s-network-policy", name);
    json_object *np = rd_get(&rd, STORE_NETPOL, ns, npn);
    if (rd.err != 0) { /* a partial view could take a second sandbox */
        free(ctl.v);
        return rd_end(&rd);
    }
    rec_claim_input in = {.claim = claim,
                          .pool = pool,
                          .tmpl = tmpl,
                          .lookup = lookup_sandbox,
                          .lookup_ud = &rd,
                          .controlled = ctl.v,
                          .n_controlled = ctl.n,
                          .legacy_np = np,
                          .outcomes = oc,
                          .n_outcomes = n,
                          .pools = s->pools,
                          .now_ms = time_now_ms()};
    rec_claim_report rep;
    memset(&rep, 0, sizeof rep);
    rc = rec_claim_reconcile(&m->ext->ccfg, cs, &in, out, &rep);
    if (rc == 0 && m->metrics && (rep.launch || rep.became_ready)) {
        /* the Sandbox as the write returned it, else the freshest view */
        json_object *sb = NULL;
        for (size_t i = 0; i < n && !sb; i++)
            if (oc[i].err == 0 && oc[i].object && oc[i].tag &&
                (!strcmp(oc[i].tag, "claim-adopt") || !strcmp(oc[i].tag, "claim-create")))
                sb = oc[i].object;
        if (sb == NULL) sb = cs->bound;
        if (sb == NULL && rep.sandbox[0]) sb = rd_get(&rd, STORE_SANDBOX, ns, rep.sandbox);
        ctl_ext_observe_claim(m->metrics, claim, pool_name, sb, cs, &rep, in.now_ms);
    }
    char pool_copy[STORE_MAX_NAME + 1] = "";
    if (pool_name) snprintf(pool_copy, sizeof pool_copy, "%s", pool_name);
    free(ctl.v);
    int rrc = rd_end(&rd);
    if (rc == 0) rc = rrc;
    if (rep.pool_changed && *pool_copy) queue_pool_after(m, shard, ns, pool_copy);
    if (rep.became_ready)
        LOG_D("ext", "claim Ready", "ns=%s claim=%s sandbox=%s launch=%s", ns, name, rep.sandbox,
              rep.launch ? rep.launch : "");
    return rc;
}

/* ---- pools ------------------------------------------------------------------- */

int
ctl_ext_process_pool(ctl_manager *m, int shard, const char *ns, const char *name,
                     const rec_outcome *oc, size_t n, rec_result *out)
{
    ext_shard *s = shard_of(m, shard);
    if (s == NULL) return ERR_INVALID;
    int64_t t0 = time_mono_ms();
    char k[CTL_KEY_MAX];
    snprintf(k, sizeof k, "%s/%s", ns, name);
    reader rd;
    int rc = rd_begin(m, &rd);
    if (rc != 0) return rc;
    json_object *pool = rd_get(&rd, STORE_POOL, ns, name);
    if (pool == NULL) {
        rc = rd_end(&rd);
        if (rc != 0) return rc;
        rec_wp_state *ws = ctl_xmap_del(&s->wp, k);
        if (ws) free_wp(ws);
        free_members(ctl_xmap_del(&s->members, k));
        pool_drop_pool(s->pools, ns, name);
        return 0;
    }
    rec_wp_state *ws = ctl_xmap_get(&s->wp, k);
    if (ws == NULL) {
        ws = malloc(sizeof *ws);
        if (ws == NULL || ctl_xmap_put(&s->wp, k, ws, NULL) != 0) {
            free(ws);
            rd_end(&rd);
            return ERR_NOMEM;
        }
        rec_wp_state_init(ws);
    }
    json_object *tmpl =
        rd_get(&rd, STORE_TEMPLATE, ns, jx_str(pool, "spec.sandboxTemplateRef.name"));
    mcache *mc = mcache_get(s, k, name, 1);
    if (mc == NULL) {
        rd_end(&rd);
        return ERR_NOMEM;
    }
    int lrc = mcache_sync(&rd, mc, ns, ws, pool, tmpl, oc, n);
    if (lrc != 0 && rd.err == 0) rd.err = lrc;
    if (rd.err != 0) { /* a partial member list would over-create */
        mc->listed_ms = 0;
        return rd_end(&rd);
    }
    size_t n_mem = rec_wp_members_count(mc->m);
    json_object *const *mem = rec_wp_members_objs(mc->m);
    /* The pool's first full listing (start-up, or the pool just appeared)
     * feeds pools/ with every member; afterwards the poolmember keys keep
     * it current (a stale store read here could re-add a member a claim has
     * just adopted). */
    if (!mc->observed) {
        for (size_t i = 0; i < n_mem; i++)
            if (pool_observe(s->pools, mem[i]) != 0) rd.held.nomem = 1;
        mc->observed = !rd.held.nomem;
    }
    rec_wp_input in = {.pool = pool,
                       .tmpl = tmpl,
                       .members = mem,
                       .n_members = n_mem,
                       .lookup = lookup_sandbox,
                       .lookup_ud = &rd,
                       .outcomes = oc,
                       .n_outcomes = n,
                       .now_ms = time_now_ms(),
                       .facts = rec_wp_members_facts(mc->m)};
    rec_wp_report rep;
    memset(&rep, 0, sizeof rep);
    rc = rec_warmpool_reconcile(&m->ext->wcfg, ws, &in, out, &rep);
    int rrc = rd_end(&rd);
    atomic_store_explicit(&s->pool_pass_ms, time_mono_ms() - t0, memory_order_relaxed);
    if (rep.creates || rep.deletes)
        LOG_D("ext", "warm pool pass",
              "ns=%s pool=%s desired=%lld active=%lld creates=%d deletes=%d", ns, name,
              (long long)rep.desired, (long long)rep.active, rep.creates, rep.deletes);
    return rc ? rc : rrc;
}

int
ctl_ext_process_poolmember(ctl_manager *m, int shard, const char *ns, const char *name,
                           const rec_outcome *oc, size_t n, rec_result *out)
{
    (void)oc;
    (void)n;
    (void)out;
    ext_shard *s = shard_of(m, shard);
    const char *colon = strchr(name, ':');
    if (s == NULL || colon == NULL || colon == name || !colon[1]) return ERR_INVALID;
    char pool[STORE_MAX_NAME + 1];
    size_t pl = (size_t)(colon - name);
    if (pl >= sizeof pool) return ERR_INVALID;
    memcpy(pool, name, pl);
    pool[pl] = '\0';
    const char *sbname = colon + 1;
    char k[CTL_KEY_MAX];
    snprintf(k, sizeof k, "%s/%s", ns, pool);
    mcache *mc = mcache_get(s, k, pool, 0); /* held once the pool's first pass listed it */
    reader rd;
    int rc = rd_begin(m, &rd);
    if (rc != 0) return rc;
    store_item it;
    json_object *sb = NULL;
    int grc = store_get_raw(rd.r, STORE_SANDBOX, ns, sbname, &it);
    if (grc == 0 && mc && rec_wp_members_same(mc->m, sbname, it.data, it.len))
        sb = rec_wp_members_get(mc->m, sbname);
    else if (grc == 0 && mc)
        grc = mcache_take(&rd, mc, &it, &sb);
    else if (grc == 0 && store_decode(&it, &sb) == 0)
        bag_add(&rd.held, sb);
    if (sb) {
        if (pool_observe(s->pools, sb) != 0) rd.held.nomem = 1;
    } else if (grc == 0 || grc == ERR_NOTFOUND) { /* gone, or damaged: not adoptable */
        pool_forget(s->pools, ns, sbname);
        if (mc) rec_wp_members_del(mc->m, sbname);
    } else if (rd.err == 0) {
        rd.err = grc;
    }
    rc = rd_end(&rd);
    queue_pool_after(m, shard, ns, pool);
    return rc;
}

/* ---- templates --------------------------------------------------------------- */

int
ctl_ext_process_template(ctl_manager *m, int shard, const char *ns, const char *name,
                         const rec_outcome *oc, size_t n, rec_result *out)
{
    /* The NetworkPolicy a previous pass created stays visible to later
     * passes until the store has it (a template event in between would
     * otherwise create it again: 409). Before our read txn: one per thread. */
    char key[CTL_KEY_MAX];
    if (shard >= 0 && shard < m->n_recall && ctl_route_key(key, sizeof key, "template", ns, name))
        ctl_recall_outcomes(m->recall[shard], m->st, key, ns, oc, n, time_now_ms(), &oc, &n);
    reader rd;
    int rc = rd_begin(m, &rd);
    if (rc != 0) return rc;
    char npn[CTL_KEY_MAX];
    json_object *tmpl = rd_get(&rd, STORE_TEMPLATE, ns, name);
    json_object *np = rd_get(&rd, STORE_NETPOL, ns, rec_template_np_name(name, npn, sizeof npn));
    if (rd.err != 0) return rd_end(&rd);
    for (size_t i = 0; np == NULL && i < n; i++) /* created/updated, not in the store yet */
        if (oc[i].err == 0 && oc[i].object && oc[i].tag &&
            (!strcmp(oc[i].tag, "np-create") || !strcmp(oc[i].tag, "np-update")))
            np = oc[i].object;
    rec_tmpl_input in = {
        .tmpl = tmpl, .np = np, .outcomes = oc, .n_outcomes = n, .now_ms = time_now_ms()};
    rc = rec_template_reconcile(&in, out);
    int rrc = rd_end(&rd);
    return rc ? rc : rrc;
}

/* ---- routing (I/O thread) ---------------------------------------------------- */

void
ctl_ext_route_batch(ctl_ext *x, store *st, const store_change *c, size_t n, ctl_ext_emit_fn emit,
                    void *ud)
{
    if (x == NULL) return;
    store_rtxn *r = NULL;
    if (store_rtxn_begin(st, &r) != 0) r = NULL; /* routes that need no read still work */
    for (size_t i = 0; i < n; i++)
        ctl_ext_route_change(x->router, r, &c[i], emit, ud);
    store_rtxn_end(r);
}

void
ctl_ext_synced(ctl_ext *x, store *st, ctl_ext_emit_fn emit, void *ud)
{
    if (x == NULL) return;
    store_rtxn *r = NULL;
    if (store_rtxn_begin(st, &r) != 0) {
        LOG_E("ext", "cannot read the store for the first extension pass", "err=%s", "rtxn");
        return;
    }
    size_t k = ctl_ext_route_all(x->router, r, emit, ud);
    store_rtxn_end(r);
    LOG_I("ext", "extension controllers running", "keys=%zu", k);
}
