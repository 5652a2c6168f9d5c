/* test_rec_claim_sim.c - the claim and warm-pool passes together against a
 * fake API server with compare-and-swap, a lagging cache and writes that
 * complete in random order: the "200 claims on a pool of 100" scenario of
 * issue 16, run as pure functions on one simulated shard.
 *
 * World: server (truth: Sandboxes and claims with resourceVersions), cache
 * (the store: receives the server's changes in order, some steps later),
 * pools/ (fed from cache events), a FIFO of keys with outcomes attached,
 * in-flight writes applied in random order, a kubelet that makes new
 * Sandboxes Ready after a while. Asserted at the end:
 *   - every claim Ready with its own Sandbox, no Sandbox given to two claims;
 *   - warm >= 1, warm + cold == claims, every cold Sandbox named like its claim;
 *   - the pool refilled exactly: creates after the start == warm adoptions,
 *     and the pool ends with exactly `replicas` members (no over-creation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"
#include "pools/pool.h"
#include "reconciler/claim.h"
#include "reconciler/meta.h"
#include "reconciler/warmpool.h"

#define MAXO   1024
#define MAXOUT 320
#define T0     1800000000000LL
#define NS     "default"

/* ---- objects ---------------------------------------------------------------- */

typedef struct objset {
    json_object *o[MAXO];
    size_t n;
} objset;

static json_object *
os_get(objset *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(jx_str_or(s->o[i], "metadata.name", ""), name) == 0) return s->o[i];
    return NULL;
}

static void
os_put(objset *s, json_object *obj) /* takes a reference */
{
    const char *name = jx_str_or(obj, "metadata.name", "");
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(jx_str_or(s->o[i], "metadata.name", ""), name) == 0) {
            json_object_put(s->o[i]);
            s->o[i] = obj;
            return;
        }
    assert_true(s->n < MAXO);
    s->o[s->n++] = obj;
}

static void
os_del(objset *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(jx_str_or(s->o[i], "metadata.name", ""), name) == 0) {
            json_object_put(s->o[i]);
            s->o[i] = s->o[--s->n];
            return;
        }
}

static void
os_fini(objset *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_object_put(s->o[i]);
    s->n = 0;
}

static json_object *
copy(json_object *o)
{
    json_object *c = NULL;
    json_object_deep_copy(o, &c, NULL);
    return c;
}

static void
merge(json_object *dst, json_object *patch)
{
    json_object_object_foreach(patch, k, v)
    {
        if (v == NULL || json_object_is_type(v, json_type_null)) {
            json_object_object_del(dst, k);
        } else if (json_object_is_type(v, json_type_object)) {
            json_object *d = jx_child(dst, k);
            if (d == NULL || !json_object_is_type(d, json_type_object)) {
                d = json_object_new_object();
                json_object_object_add(dst, k, d);
            }
            merge(d, v);
        } else {
            json_object_object_add(dst, k, copy(v));
        }
    }
}

static json_object *
J(const char *s)
{
    char *b = strdup(s);
    for (char *p = b; *p; p++)
        if (*p == '\'') *p = '"';
    const char *err = NULL;
    json_object *o = jx_parse(b, strlen(b), &err);
    free(b);
    assert_non_null(o);
    return o;
}

/* ---- the simulation ---------------------------------------------------------- */

typedef struct change {
    int kind; /* 0 sandbox, 1 claim */
    char name[64];
    json_object *obj; /* NULL: deleted */
} change;

typedef struct inflight {
    char key[80];
    int kind;   /* 0 sandbox, 1 claim */
    int orphan; /* sent by a process that has since restarted: no outcome */
    rec_write w;
} inflight;

typedef struct keyq {
    char key[80];
    rec_outcome outs[MAXOUT];
    json_object *objs[MAXOUT];
    size_t n_outs;
    int64_t due; /* 0: ready now */
    int queued;
} keyq;

typedef struct sim {
    unsigned seed;
    int64_t now;
    int rv;
    objset server_sb, server_claims, cache_sb, cache_claims;
    change *feed;
    size_t n_feed, cap_feed, fed;
    inflight fl[4096];
    size_t n_fl;
    keyq keys[300];
    size_t n_keys;
    pool_set *pools;
    rec_wp_state wp;
    rec_claim_state cs[256];
    json_object *pool, *tmpl;
    int pool_creates, gen;
    int noisy, restart_every, restarts, cas_conflicts;
} sim;

static unsigned
rnd(sim *s)
{
    s->seed = s->seed * 1103515245u + 12345u;
    return (s->seed >> 8) & 0xffffff;
}

static const char *
next_rv(sim *s)
{
    static char b[16];
    snprintf(b, sizeof b, "%d", ++s->rv);
    return b;
}

static void
publish(sim *s, int kind, json_object *obj, const char *name)
{
    if (s->n_feed == s->cap_feed) {
        s->cap_feed = s->cap_feed ? s->cap_feed * 2 : 256;
        s->feed = realloc(s->feed, s->cap_feed * sizeof *s->feed);
    }
    change *c = &s->feed[s->n_feed++];
    c->kind = kind;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->obj = obj ? copy(obj) : NULL;
}

static keyq *
key_get(sim *s, const char *key)
{
    for (size_t i = 0; i < s->n_keys; i++)
        if (strcmp(s->keys[i].key, key) == 0) return &s->keys[i];
    keyq *k = &s->keys[s->n_keys++];
    memset(k, 0, sizeof *k);
    snprintf(k->key, sizeof k->key, "%s", key);
    return k;
}

static void
enqueue(sim *s, const char *key, int64_t delay)
{
    keyq *k = key_get(s, key);
    int64_t due = delay > 0 ? s->now + delay : 0;
    if (!k->queued || due < k->due) k->due = due;
    k->queued = 1;
}

static json_object *
cache_lookup(void *ud, const char *ns, const char *name)
{
    (void)ns;
    return os_get(&((sim *)ud)->cache_sb, name);
}

/* The informer: deliver the next change to the cache, pools/ and queues. */
static void
deliver(sim *s)
{
    if (s->fed == s->n_feed) return;
    change *c = &s->feed[s->fed++];
    objset *set = c->kind ? &s->cache_claims : &s->cache_sb;
    json_object *old = os_get(set, c->name);
    char owner[80] = "";
    json_object *ref = rec_meta_controller_ref(c->obj ? c->obj : old);
    if (ref && strcmp(jx_str_or(ref, "kind", ""), "SandboxClaim") == 0)
        snprintf(owner, sizeof owner, "claim/%s", jx_str_or(ref, "name", ""));
    if (c->obj) {
        os_put(set, c->obj);
        c->obj = NULL;
        if (!c->kind) pool_observe(s->pools, os_get(set, c->name));
    } else {
        os_del(set, c->name);
        if (!c->kind) pool_forget(s->pools, NS, c->name);
    }
    if (c->kind) {
        char k[80];
        snprintf(k, sizeof k, "claim/%s", c->name);
        enqueue(s, k, 0);
    } else {
        enqueue(s, "pool", 0);
        if (owner[0]) enqueue(s, owner, 0);
    }
}

/* The API server applies one in-flight write and answers. */
static void
complete(sim *s, size_t idx)
{
    inflight f = s->fl[idx];
    s->fl[idx] = s->fl[--s->n_fl];
    rec_write *w = &f.w;
    objset *set = f.kind ? &s->server_claims : &s->server_sb;
    int err = 0;
    json_object *result = NULL;
    if (w->op == REC_CREATE) {
        json_object *o = copy(w->body);
        json_object *md = jx_obj(o, "metadata");
        char name[64];
        if (jx_str(md, "name") == NULL) {
            snprintf(name, sizeof name, "%s%05d", jx_str_or(md, "generateName", "x-"), ++s->gen);
            jx_set_str(md, "name", name);
        }
        snprintf(name, sizeof name, "%s", jx_str(md, "name"));
        if (os_get(set, name)) {
            err = ERR_EXISTS;
            json_object_put(o);
        } else {
            char uid[80], ts[40];
            snprintf(uid, sizeof uid, "uid-%s", name);
            jx_set_str(md, "uid", uid);
            jx_set_str(md, "resourceVersion", next_rv(s));
            jx_set_str(md, "creationTimestamp", time_fmt_rfc3339(s->now, ts, sizeof ts));
            os_put(set, o);
            result = copy(o);
            publish(s, f.kind, o, name);
        }
    } else if (w->op == REC_PATCH_MERGE) {
        json_object *cur = os_get(set, w->name);
        const char *want_rv = jx_str(w->body, "metadata.resourceVersion");
        if (cur == NULL) {
            err = ERR_NOTFOUND;
        } else if (want_rv &&
                   strcmp(want_rv, jx_str_or(cur, "metadata.resourceVersion", "")) != 0) {
            err = ERR_CONFLICT;
        } else {
            json_object *o = copy(cur);
            json_object *body = copy(w->body);
            json_object_object_del(jx_obj(body, "metadata"), "resourceVersion");
            if (w->subresource) { /* status: only status changes */
                json_object *st = jx_child(body, "status");
                json_object *p = json_object_new_object();
                if (st) json_object_object_add(p, "status", json_object_get(st));
                merge(o, p);
                json_object_put(p);
            } else {
                merge(o, body);
            }
            json_object_put(body);
            jx_set_str(jx_obj(o, "metadata"), "resourceVersion", next_rv(s));
            os_put(set, o);
            result = copy(o);
            publish(s, f.kind, o, w->name);
        }
    } else if (w->op == REC_DELETE) {
        if (os_get(set, w->name) == NULL) {
            err = ERR_NOTFOUND;
        } else {
            os_del(set, w->name);
            publish(s, f.kind, NULL, w->name);
        }
    }
    if (err == ERR_CONFLICT && strcmp(w->tag, "claim-adopt") == 0) s->cas_conflicts++;
    if (f.orphan) { /* the process that sent it is gone */
        json_object_put(result);
        result = NULL;
        goto out;
    }
    keyq *k = key_get(s, f.key);
    assert_true(k->n_outs < MAXOUT);
    rec_outcome *o = &k->outs[k->n_outs];
    memset(o, 0, sizeof *o);
    o->tag = w->tag;
    o->err = err;
    o->reason = "";
    o->message = err ? err_str(err) : "";
    o->object = result;
    k->objs[k->n_outs++] = result;
    enqueue(s, f.key, 0);
out:
    free(w->ns);
    free(w->name);
    free(w->subresource);
    free(w->precondition_uid);
    free(w->precondition_rv);
    json_object_put(w->body);
}

/* Take the writes of a pass into flight (ownership moves out of r). */
static void
launch(sim *s, const char *key, rec_result *r)
{
    for (size_t i = 0; i < r->n_writes; i++) {
        assert_true(s->n_fl < 4096);
        inflight *f = &s->fl[s->n_fl++];
        snprintf(f->key, sizeof f->key, "%s", key);
        f->kind = r->writes[i].res == &KUBE_SANDBOXCLAIMS;
        f->orphan = 0;
        f->w = r->writes[i];
        if (r->writes[i].res == &KUBE_SANDBOXES && r->writes[i].op == REC_CREATE &&
            strcmp(key, "pool") == 0)
            s->pool_creates++;
    }
    r->n_writes = 0;
}

static void
run_key(sim *s, keyq *k)
{
    rec_result r;
    rec_result_init(&r);
    k->queued = 0;
    if (strcmp(k->key, "pool") == 0) {
        json_object *members[MAXO];
        size_t n = 0;
        for (size_t i = 0; i < s->cache_sb.n; i++)
            if (jx_label(s->cache_sb.o[i], REC_LABEL_WARM_POOL)) members[n++] = s->cache_sb.o[i];
        rec_wp_config cfg;
        rec_wp_config_default(&cfg);
        rec_wp_input in = {s->pool, s->tmpl, members,   n,      cache_lookup,
                           s,       k->outs, k->n_outs, s->now, NULL};
        assert_int_equal(rec_warmpool_reconcile(&cfg, &s->wp, &in, &r, NULL), 0);
    } else {
        const char *cname = k->key + 6;
        int idx = atoi(cname + 1);
        json_object *claim = os_get(&s->cache_claims, cname);
        json_object *controlled[64];
        size_t nc = 0;
        const char *uid = jx_str_or(claim, "metadata.uid", "-");
        for (size_t i = 0; i < s->cache_sb.n && nc < 64; i++)
            if (rec_meta_is_controlled_by(s->cache_sb.o[i], uid))
                controlled[nc++] = s->cache_sb.o[i];
        rec_claim_config cfg;
        rec_claim_config_default(&cfg);
        rec_claim_input in = {claim, s->pool, s->tmpl, cache_lookup, s,        controlled,
                              nc,    NULL,    k->outs, k->n_outs,    s->pools, s->now};
        rec_claim_report rep;
        assert_int_equal(rec_claim_reconcile(&cfg, &s->cs[idx], &in, &r, &rep), 0);
        if (rep.pool_changed) enqueue(s, "pool", 0);
    }
    for (size_t i = 0; i < k->n_outs; i++)
        json_object_put(k->objs[i]);
    k->n_outs = 0;
    if (r.requeue_after_ms >= 0)
        enqueue(s, k->key, r.requeue_after_ms > 0 ? r.requeue_after_ms : 1);
    if (r.error) enqueue(s, k->key, 5);
    launch(s, k->key, &r);
    rec_result_fini(&r);
}

/* The kubelet + Sandbox controller: Sandboxes without status become Ready
 * with a pod IP a few ms after they appear on the server. */
static void
kubelet(sim *s)
{
    for (size_t i = 0; i < s->server_sb.n; i++) {
        json_object *sb = s->server_sb.o[i];
        if (jx_obj(sb, "status") != NULL) continue;
        int64_t born = 0;
        time_parse_rfc3339(jx_str_or(sb, "metadata.creationTimestamp", ""), &born);
        if (s->now < born + 1000 + (int64_t)(rnd(s) % 500)) continue;
        json_object *o = copy(sb);
        json_object_object_add(o, "status",
                               J("{'podIPs':['10.0.0.9'],'nodeName':'n1','conditions':[{'type':"
                                 "'Ready','status':'True','reason':'DependenciesReady','message':"
                                 "'Pod is Ready'}]}"));
        jx_set_str(jx_obj(o, "metadata"), "resourceVersion", next_rv(s));
        char name[64];
        snprintf(name, sizeof name, "%s", jx_str_or(o, "metadata.name", ""));
        os_put(&s->server_sb, o);
        publish(s, 0, o, name);
    }
}

static int
claim_ready(json_object *c)
{
    json_object *conds = jx_arr(c, "status.conditions");
    for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
        json_object *x = json_object_array_get_idx(conds, i);
        if (strcmp(jx_str_or(x, "type", ""), "Ready") == 0)
            return strcmp(jx_str_or(x, "status", ""), "True") == 0;
    }
    return 0;
}

/* Another writer (the Sandbox controller syncing pod labels, a status
 * update) changes a Sandbox: its resourceVersion moves, so a claim's
 * compare-and-swap prepared from the older version fails with 409. */
static void
noise(sim *s)
{
    if (s->server_sb.n == 0) return;
    json_object *o = copy(s->server_sb.o[rnd(s) % s->server_sb.n]);
    char name[64], v[16];
    snprintf(name, sizeof name, "%s", jx_str_or(o, "metadata.name", ""));
    snprintf(v, sizeof v, "%d", s->rv);
    json_object *ann = jx_ensure_obj(jx_obj(o, "metadata"), "annotations");
    json_object_object_add(ann, "touched", json_object_new_string(v));
    jx_set_str(jx_obj(o, "metadata"), "resourceVersion", next_rv(s));
    os_put(&s->server_sb, o);
    publish(s, 0, o, name);
}

/* The controller restarts: every in-memory state is lost (claim states,
 * pool expectations, pools/), outcomes of writes in flight never arrive;
 * the cache survives (LMDB) and the informer catches up before the shards
 * run (the manager enqueues every key once the informers have synced). */
static void
restart(sim *s)
{
    for (size_t i = 0; i < s->n_fl; i++)
        s->fl[i].orphan = 1;
    for (size_t i = 0; i < s->n_keys; i++) {
        for (size_t j = 0; j < s->keys[i].n_outs; j++)
            json_object_put(s->keys[i].objs[j]);
        s->keys[i].n_outs = 0;
    }
    for (int i = 0; i < 256; i++) {
        rec_claim_state_fini(&s->cs[i]);
        rec_claim_state_init(&s->cs[i]);
    }
    rec_wp_state_fini(&s->wp);
    rec_wp_state_init(&s->wp);
    pool_set_free(s->pools);
    s->pools = pool_set_new();
    while (s->fed < s->n_feed)
        deliver(s);
    for (size_t i = 0; i < s->cache_sb.n; i++)
        pool_observe(s->pools, s->cache_sb.o[i]);
    for (size_t i = 0; i < s->cache_claims.n; i++) {
        char k[80];
        snprintf(k, sizeof k, "claim/%s", jx_str_or(s->cache_claims.o[i], "metadata.name", ""));
        enqueue(s, k, 0);
    }
    enqueue(s, "pool", 0);
    s->restarts++;
}

static void
step(sim *s)
{
    s->now += 1;
    unsigned r = rnd(s) % 100;
    if (r < 30) { /* the cache lags: deliver a few changes */
        for (unsigned k = rnd(s) % 4; k > 0; k--)
            deliver(s);
    } else if (r < 60 && s->n_fl) { /* writes land in random order */
        complete(s, rnd(s) % s->n_fl);
    } else { /* a shard runs a due key (round robin from a random start) */
        size_t start = s->n_keys ? rnd(s) % s->n_keys : 0;
        for (size_t i = 0; i < s->n_keys; i++) {
            keyq *k = &s->keys[(start + i) % s->n_keys];
            if (k->queued && k->due <= s->now) {
                run_key(s, k);
                break;
            }
        }
    }
    if (rnd(s) % 50 == 0) kubelet(s);
    if (s->noisy && rnd(s) % 40 == 0) noise(s);
    if (s->restart_every && rnd(s) % s->restart_every == 0) restart(s);
}

static void
run_scenario(unsigned seed, int replicas, int claims, int noisy, int restart_every)
{
    sim *s = calloc(1, sizeof *s);
    s->seed = seed;
    s->now = T0;
    s->rv = 1000;
    s->pools = pool_set_new();
    rec_wp_state_init(&s->wp);
    s->pool = J("{'metadata':{'name':'test-pool','namespace':'default','uid':'pu','generation':1},"
                "'spec':{'sandboxTemplateRef':{'name':'test-template'}}}");
    json_object_object_add(jx_obj(s->pool, "spec"), "replicas", json_object_new_int(replicas));
    s->tmpl = J("{'metadata':{'name':'test-template','namespace':'default','uid':'tu'},'spec':{"
                "'podTemplate':{'spec':{'containers':[{'name':'main','image':'img'}]}}}}");
    /* fill the pool and let everything settle */
    enqueue(s, "pool", 0);
    for (int i = 0; i < 200000 && (int)s->server_sb.n < replicas; i++)
        step(s);
    for (int i = 0; i < 100000; i++) {
        step(s);
        int ready = 0;
        for (size_t k = 0; k < s->cache_sb.n; k++)
            ready += jx_obj(s->cache_sb.o[k], "status") != NULL;
        if (ready == replicas && s->fed == s->n_feed && s->n_fl == 0) break;
    }
    if (getenv("SIM_DEBUG"))
        fprintf(stderr,
                "fill: server %zu cache %zu creates %d inflight %zu feed %zu/%zu now %lld\n",
                s->server_sb.n, s->cache_sb.n, s->pool_creates, s->n_fl, s->fed, s->n_feed,
                (long long)(s->now - T0));
    assert_int_equal(s->cache_sb.n, replicas);
    int initial_creates = s->pool_creates;
    assert_int_equal(initial_creates, replicas);
    s->noisy = noisy;
    s->restart_every = restart_every;
    /* the claims arrive at once */
    for (int i = 0; i < claims; i++) {
        char cj[512], name[16];
        snprintf(name, sizeof name, "c%d", i);
        snprintf(cj, sizeof cj,
                 "{'metadata':{'name':'%s','namespace':'default','uid':'cu-%d','generation':1,"
                 "'creationTimestamp':'2027-01-15T08:00:00Z'},'spec':{'warmPoolRef':{'name':"
                 "'test-pool'}}}",
                 name, i);
        json_object *c = J(cj);
        jx_set_str(jx_obj(c, "metadata"), "resourceVersion", next_rv(s));
        char ts[40];
        jx_set_str(jx_obj(c, "metadata"), "creationTimestamp",
                   time_fmt_rfc3339(s->now, ts, sizeof ts));
        os_put(&s->server_claims, c);
        publish(s, 1, c, name);
    }
    int done = 0;
    for (int i = 0; i < 2000000 && !done; i++) {
        step(s);
        if (i % 1000 == 0) {
            int ready = 0;
            for (size_t k = 0; k < s->server_claims.n; k++)
                ready += claim_ready(s->server_claims.o[k]);
            int members = 0;
            for (size_t k = 0; k < s->server_sb.n; k++)
                members += jx_label(s->server_sb.o[k], REC_LABEL_WARM_POOL) != NULL &&
                           jx_obj(s->server_sb.o[k], "status") != NULL;
            done = ready == claims && members == replicas && s->n_fl == 0 && s->fed == s->n_feed;
        }
    }
    assert_true(done);

    /* every claim Ready with its own Sandbox; no Sandbox handed out twice */
    int warm = 0, cold = 0;
    for (int i = 0; i < claims; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        json_object *c = os_get(&s->server_claims, name);
        assert_true(claim_ready(c));
        const char *sbn = jx_str(c, "status.sandbox.name");
        assert_non_null(sbn);
        json_object *sb = os_get(&s->server_sb, sbn);
        assert_non_null(sb);
        char uid[32];
        snprintf(uid, sizeof uid, "cu-%d", i);
        assert_true(rec_meta_is_controlled_by(sb, uid));
        assert_string_equal(jx_annotation(c, "agents.x-k8s.io/sandbox-name"), sbn);
        for (int j = 0; j < i; j++) {
            char other[16];
            snprintf(other, sizeof other, "c%d", j);
            assert_string_not_equal(
                jx_str_or(os_get(&s->server_claims, other), "status.sandbox.name", ""), sbn);
        }
        if (strcmp(sbn, name) == 0) {
            cold++;
            assert_string_equal(jx_label(sb, REC_LABEL_LAUNCH_TYPE), "cold");
        } else {
            warm++;
            assert_string_equal(jx_label(sb, REC_LABEL_LAUNCH_TYPE), "warm");
            assert_null(jx_label(sb, REC_LABEL_WARM_POOL));
        }
    }
    /* no claim owns a second Sandbox */
    int owned = 0;
    for (size_t k = 0; k < s->server_sb.n; k++) {
        json_object *ref = rec_meta_controller_ref(s->server_sb.o[k]);
        owned += ref && strcmp(jx_str_or(ref, "kind", ""), "SandboxClaim") == 0;
    }
    assert_int_equal(owned, claims);
    assert_true(warm >= 1);
    assert_int_equal(warm + cold, claims);
    /* refill == deficit: one create per adopted member, final size exact
     * (checked by `done`). A restart loses the create expectations: creates
     * still in flight then land on top of the refill and the pool deletes
     * the excess, so only ">=" holds across restarts. */
    if (s->restarts == 0)
        assert_int_equal(s->pool_creates - initial_creates, warm);
    else
        assert_true(s->pool_creates - initial_creates >= warm);
    if (s->noisy) assert_true(s->cas_conflicts > 0); /* the 409 path really ran */
    fprintf(stderr,
            "sim seed %u: %d claims on %d members: warm %d cold %d, pool creates %d after "
            "start, restarts %d, write-1 conflicts %d\n",
            seed, claims, replicas, warm, cold, s->pool_creates - initial_creates, s->restarts,
            s->cas_conflicts);

    for (size_t i = 0; i < s->n_fl; i++)
        json_object_put(s->fl[i].w.body);
    for (size_t i = s->fed; i < s->n_feed; i++)
        json_object_put(s->feed[i].obj);
    for (size_t i = 0; i < s->n_keys; i++)
        for (size_t j = 0; j < s->keys[i].n_outs; j++)
            json_object_put(s->keys[i].objs[j]);
    free(s->feed);
    for (int i = 0; i < 256; i++)
        rec_claim_state_fini(&s->cs[i]);
    rec_wp_state_fini(&s->wp);
    pool_set_free(s->pools);
    os_fini(&s->server_sb);
    os_fini(&s->server_claims);
    os_fini(&s->cache_sb);
    os_fini(&s->cache_claims);
    json_object_put(s->pool);
    json_object_put(s->tmpl);
    free(s);
}

static void
test_200_claims_on_100(void **state)
{
    (void)state;
    run_scenario(1, 100, 200, 0, 0);
}

static void
test_seeds(void **state)
{
    (void)state;
    for (unsigned seed = 2; seed < 6; seed++)
        run_scenario(seed, 20, 30, 0, 0);
}

/* Other writers bump Sandboxes (409s on write 1) and the controller
 * restarts now and then (writes in flight lose their outcomes, possibly
 * between write 1 and write 2): still no Sandbox twice, no claim with two. */
static void
test_conflicts_and_restarts(void **state)
{
    (void)state;
    for (unsigned seed = 10; seed < 14; seed++)
        run_scenario(seed, 30, 60, 1, 3000);
}

int
main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_200_claims_on_100),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_conflicts_and_restarts),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
