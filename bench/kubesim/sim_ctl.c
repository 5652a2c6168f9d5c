/* sim_ctl.c - the controllers a cluster runs next to its API server, as far
 * as clients can observe them: the namespace controller (default
 * ServiceAccount, deletion of a Terminating namespace's content), the
 * garbage collector (Background, Foreground with blockOwnerDeletion, Orphan)
 * and a fast kubelet+scheduler (bind, Running/Ready, graceful stop).
 *
 * Events queue work items (sim_ctl_on_event); a zero-delay timer runs them
 * (sim_ctl_run) so a write's reply never waits for its consequences, as on
 * a real cluster. Everything is written through the same write paths the
 * API uses (resourceVersions, events, managedFields). */
#include "bench/kubesim/sim_core.h"
#include "bench/kubesim/sim_meta.h"
#include "bench/kubesim/sim_patch.h"
#include "bench/kubesim/sim_state.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CTL_NS_SA = 1, CTL_NS_TERM, CTL_GC_GONE, CTL_OWNER, CTL_POD };

typedef struct sim_ctl_item {
    int kind;
    char store_key[192];
    char ns[256];
    char name[256];
    char uid[64];
} sim_ctl_item;

#define MANAGER_GC      NULL /* the GC's patches add no managedFields entry */
#define MANAGER_KUBELET "kubelet"
#define MANAGER_SCHED   "kube-scheduler"

static void
push(sim_state *S, int kind, const char *store_key, const char *ns, const char *name,
     const char *uid)
{
    if (S->ctl_n == S->ctl_cap) {
        size_t cap = S->ctl_cap ? S->ctl_cap * 2 : 64;
        sim_ctl_item *q = realloc(S->ctl_q, cap * sizeof *q);
        if (!q) return;
        S->ctl_q = q;
        S->ctl_cap = cap;
    }
    sim_ctl_item *it = &S->ctl_q[S->ctl_n++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    snprintf(it->store_key, sizeof it->store_key, "%s", store_key ? store_key : "");
    snprintf(it->ns, sizeof it->ns, "%s", ns ? ns : "");
    snprintf(it->name, sizeof it->name, "%s", name ? name : "");
    snprintf(it->uid, sizeof it->uid, "%s", uid ? uid : "");
    sim_ctl_kick(S);
}

static int
has_str(json_object *arr, const char *s)
{
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = json_object_get_string(json_object_array_get_idx(arr, i));
        if (v && !strcmp(v, s)) return 1;
    }
    return 0;
}

/* o.<key> (NULL when absent or o is not an object); no path parsing: the
 * event hook runs on every write. */
static json_object *
member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static json_object *
owner_refs_of(const sim_obj *o)
{
    json_object *refs = o ? member(member(sim_obj_tree(o), "metadata"), "ownerReferences") : NULL;
    return json_object_is_type(refs, json_type_array) ? refs : NULL;
}

static void
owner_count(sim_state *S, json_object *refs, int delta)
{
    size_t n = refs ? json_object_array_length(refs) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *uid = jx_str(json_object_array_get_idx(refs, i), "uid");
        if (!uid) continue;
        intptr_t c = (intptr_t)sim_map_get(&S->owner_refs, uid) + delta;
        if (c <= 0)
            sim_map_del(&S->owner_refs, uid);
        else
            sim_map_put(&S->owner_refs, uid, (void *)c);
    }
}

static void kubelet_on_pod(sim_state *S, const sim_event *e);

void
sim_ctl_on_event(sim_state *S, sim_res *r, const sim_event *e)
{
    json_object *m = member(sim_obj_tree(e->obj), "metadata");
    if (!json_object_is_type(m, json_type_object)) m = NULL;
    int deleting = member(m, "deletionTimestamp") != NULL;
    const char *ns = "", *name = ""; /* only the branches below that use them */
    if (r->hook == SIM_HOOK_NAMESPACE || r->hook == SIM_HOOK_CRD || e->type == SIM_EV_DELETED ||
        deleting) {
        ns = jx_str_or(m, "namespace", "");
        name = jx_str_or(m, "name", "");
    }
    /* owner reference counts (nothing to do when a write kept the same list:
     * merge patches share untouched subtrees with the previous version) */
    json_object *prev_refs = owner_refs_of(e->prev);
    json_object *refs = e->type != SIM_EV_DELETED ? member(m, "ownerReferences") : NULL;
    if (!json_object_is_type(refs, json_type_array)) refs = NULL;
    if (prev_refs != refs) {
        owner_count(S, prev_refs, -1);
        owner_count(S, refs, +1);
    }

    if (r->hook == SIM_HOOK_NAMESPACE) {
        if (e->type == SIM_EV_ADDED)
            push(S, CTL_NS_SA, r->store_key, name, name, NULL);
        else if (e->type == SIM_EV_MODIFIED && deleting)
            push(S, CTL_NS_TERM, r->store_key, name, name, NULL);
    }
    if (e->type == SIM_EV_DELETED) {
        const char *uid = jx_str(m, "uid");
        if (uid && sim_map_get(&S->owner_refs, uid))
            push(S, CTL_GC_GONE, r->store_key, ns, name, uid);
        if (ns[0]) {
            sim_res *nr = sim_find_res(S, "", "namespaces");
            sim_obj *nso = nr ? sim_lookup(S, nr, "", ns) : NULL;
            if (nso && jx_get(sim_obj_tree(nso), "metadata.deletionTimestamp"))
                push(S, CTL_NS_TERM, nr->store_key, ns, ns, NULL);
        }
        /* a dependent gone may release a foreground owner */
        json_object *refs = jx_arr(m, "ownerReferences");
        size_t n = refs ? json_object_array_length(refs) : 0;
        for (size_t i = 0; i < n; i++) {
            json_object *ref = json_object_array_get_idx(refs, i);
            sim_res *orr = sim_res_by_kind(&S->res, jx_str(ref, "apiVersion"), jx_str(ref, "kind"));
            if (orr)
                push(S, CTL_OWNER, orr->store_key, orr->namespaced ? ns : "",
                     jx_str_or(ref, "name", ""), jx_str(ref, "uid"));
        }
    } else if (deleting) {
        json_object *f = jx_arr(m, "finalizers");
        if (has_str(f, "foregroundDeletion") || has_str(f, "orphan"))
            push(S, CTL_OWNER, r->store_key, ns, name, jx_str(m, "uid"));
    }
    if (r->hook == SIM_HOOK_POD) kubelet_on_pod(S, e);
    if (r->hook == SIM_HOOK_CRD) {
        char err[256];
        if (e->type == SIM_EV_DELETED) {
            sim_crd_unserve(S, name);
        } else if (e->type == SIM_EV_ADDED ||
                   !sim_json_equal(jx_get(sim_obj_tree(e->obj), "spec"),
                                   jx_get(sim_obj_tree(e->prev), "spec"))) {
            if (sim_crd_serve(S, sim_obj_tree(e->obj), err, sizeof err) != 0)
                LOG_W("kubesim", "CRD not served", "crd=%s err=%s", name, err);
        }
    }
}

static sim_res *
res_by_store(sim_state *S, const char *store_key)
{
    return sim_res_storage(&S->res, store_key);
}

/* Every object in namespace ns (NULL: all) of every store, as references. */
typedef struct {
    sim_res *r;
    sim_obj *o;
} objref;

static objref *
all_objects(sim_state *S, const char *ns, size_t *count)
{
    objref *out = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < S->res.n; i++) {
        sim_res *r = S->res.v[i];
        if (!r->storage_version || (ns && ns[0] && !r->namespaced)) continue;
        sim_store *st = sim_store_of(S, r);
        sim_obj **v = NULL;
        size_t k = 0;
        if (!st || sim_store_snapshot(st, ns && ns[0] ? ns : NULL, 0, &v, &k) != 0) continue;
        for (size_t j = 0; j < k; j++) {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                objref *no = realloc(out, nc * sizeof *no);
                if (!no) {
                    sim_obj_unref(v[j]);
                    continue;
                }
                out = no;
                cap = nc;
            }
            out[n].r = r;
            out[n].o = v[j];
            n++;
        }
        free(v);
    }
    *count = n;
    return out;
}

static void
free_objects(objref *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sim_obj_unref(v[i].o);
    free(v);
}

static json_object *
ref_to(json_object *obj, const char *uid)
{
    json_object *refs = jx_arr(obj, "metadata.ownerReferences");
    size_t n = refs ? json_object_array_length(refs) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *ref = json_object_array_get_idx(refs, i);
        const char *u = jx_str(ref, "uid");
        if (u && !strcmp(u, uid)) return ref;
    }
    return NULL;
}

static int
drop_ref_fn(void *ud, json_object *obj)
{
    const char *uid = ud;
    json_object *refs = jx_arr(obj, "metadata.ownerReferences");
    if (!refs) return 1;
    json_object *keep = json_object_new_array();
    size_t n = json_object_array_length(refs);
    for (size_t i = 0; i < n; i++) {
        json_object *ref = json_object_array_get_idx(refs, i);
        const char *u = jx_str(ref, "uid");
        if (!u || strcmp(u, uid) != 0) json_object_array_add(keep, json_object_get(ref));
    }
    if (json_object_array_length(keep) == 0) {
        json_object_put(keep);
        json_object_object_del(jx_obj(obj, "metadata"), "ownerReferences");
    } else {
        json_object_object_add(jx_obj(obj, "metadata"), "ownerReferences", keep);
    }
    return 0;
}

static int
drop_finalizer_fn(void *ud, json_object *obj)
{
    const char *fin = ud;
    json_object *m = jx_obj(obj, "metadata");
    json_object *f = jx_arr(m, "finalizers");
    if (!has_str(f, fin)) return 1;
    json_object *keep = json_object_new_array();
    size_t n = json_object_array_length(f);
    for (size_t i = 0; i < n; i++) {
        const char *v = json_object_get_string(json_object_array_get_idx(f, i));
        if (v && strcmp(v, fin) != 0) json_object_array_add(keep, json_object_new_string(v));
    }
    if (json_object_array_length(keep) == 0) {
        json_object_put(keep);
        json_object_object_del(m, "finalizers");
    } else {
        json_object_object_add(m, "finalizers", keep);
    }
    return 0;
}

static int
owner_alive(sim_state *S, json_object *ref, const char *ns)
{
    sim_res *r = sim_res_by_kind(&S->res, jx_str(ref, "apiVersion"), jx_str(ref, "kind"));
    if (!r) return 0;
    sim_obj *o = sim_lookup(S, r, r->namespaced ? ns : "", jx_str_or(ref, "name", ""));
    const char *uid = o ? jx_str(sim_obj_tree(o), "metadata.uid") : NULL;
    return uid && jx_str(ref, "uid") && !strcmp(uid, jx_str(ref, "uid"));
}

/* Owner uid is gone: dependents with no other live owner are deleted. */
static void
gc_gone(sim_state *S, const sim_ctl_item *it)
{
    size_t n = 0;
    objref *v = all_objects(S, it->ns[0] ? it->ns : NULL, &n);
    for (size_t i = 0; i < n; i++) {
        json_object *obj = sim_obj_tree(v[i].o);
        if (!ref_to(obj, it->uid)) continue;
        /* copies: a write below replaces (and may free) the tree they come from */
        char ns[256], name[256];
        snprintf(ns, sizeof ns, "%s", jx_str_or(obj, "metadata.namespace", ""));
        snprintf(name, sizeof name, "%s", jx_str_or(obj, "metadata.name", ""));
        json_object *refs = jx_arr(obj, "metadata.ownerReferences");
        int other = 0;
        size_t nr = json_object_array_length(refs);
        for (size_t k = 0; k < nr; k++) {
            json_object *ref = json_object_array_get_idx(refs, k);
            const char *u = jx_str(ref, "uid");
            if (u && strcmp(u, it->uid) != 0 && owner_alive(S, ref, ns)) other = 1;
        }
        if (other)
            sim_internal_update(S, v[i].r, ns, name, drop_ref_fn, (void *)it->uid, MANAGER_GC);
        else if (!jx_get(obj, "metadata.deletionTimestamp"))
            sim_internal_delete(S, v[i].r, ns, name, "Background", -1);
    }
    free_objects(v, n);
}

/* An owner being deleted with foregroundDeletion or orphan. */
static void
gc_owner(sim_state *S, const sim_ctl_item *it)
{
    sim_res *r = res_by_store(S, it->store_key);
    if (!r) return;
    sim_obj *o = sim_lookup(S, r, it->ns, it->name);
    if (!o || !jx_get(sim_obj_tree(o), "metadata.deletionTimestamp")) return;
    const char *uid = jx_str(sim_obj_tree(o), "metadata.uid");
    if (!uid || (it->uid[0] && strcmp(uid, it->uid) != 0)) return;
    char uidb[64];
    snprintf(uidb, sizeof uidb, "%s", uid);
    json_object *f = jx_arr(sim_obj_tree(o), "metadata.finalizers");
    int orphan = has_str(f, "orphan"), fg = has_str(f, "foregroundDeletion");
    if (!orphan && !fg) return;
    size_t n = 0;
    objref *v = all_objects(S, r->namespaced ? it->ns : NULL, &n);
    int blocking = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *obj = sim_obj_tree(v[i].o);
        json_object *ref = ref_to(obj, uidb);
        if (!ref) continue;
        /* copies: a write below replaces (and may free) the tree they come from */
        char ns[256], name[256];
        snprintf(ns, sizeof ns, "%s", jx_str_or(obj, "metadata.namespace", ""));
        snprintf(name, sizeof name, "%s", jx_str_or(obj, "metadata.name", ""));
        if (orphan) {
            sim_internal_update(S, v[i].r, ns, name, drop_ref_fn, uidb, MANAGER_GC);
            continue;
        }
        if (jx_bool(ref, "blockOwnerDeletion", 0)) blocking++;
        if (!jx_get(obj, "metadata.deletionTimestamp"))
            sim_internal_delete(S, v[i].r, ns, name, "Foreground", -1);
    }
    free_objects(v, n);
    if (orphan) {
        sim_internal_update(S, r, it->ns, it->name, drop_finalizer_fn, "orphan", MANAGER_GC);
        return;
    }
    if (fg && blocking == 0) {
        /* re-check after the deletes above: blocking dependents still there? */
        size_t m = 0;
        objref *w = all_objects(S, r->namespaced ? it->ns : NULL, &m);
        for (size_t i = 0; i < m; i++) {
            json_object *ref = ref_to(sim_obj_tree(w[i].o), uidb);
            if (ref && jx_bool(ref, "blockOwnerDeletion", 0)) blocking++;
        }
        free_objects(w, m);
        if (blocking == 0)
            sim_internal_update(S, r, it->ns, it->name, drop_finalizer_fn, "foregroundDeletion",
                                MANAGER_GC);
    }
}

static void
ns_sa(sim_state *S, const sim_ctl_item *it)
{
    sim_res *nr = sim_find_res(S, "", "namespaces");
    sim_res *sar = sim_find_res(S, "", "serviceaccounts");
    sim_obj *nso = sim_lookup(S, nr, "", it->ns);
    if (!nso || jx_get(sim_obj_tree(nso), "metadata.deletionTimestamp") ||
        sim_lookup(S, sar, it->ns, "default"))
        return;
    json_object *sa = json_object_new_object();
    json_object_object_add(sa, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(sa, "kind", json_object_new_string("ServiceAccount"));
    json_object *m = json_object_new_object();
    json_object_object_add(m, "name", json_object_new_string("default"));
    json_object_object_add(m, "namespace", json_object_new_string(it->ns));
    json_object_object_add(sa, "metadata", m);
    sim_internal_create(S, sar, sa, NULL);
}

static int
drop_ns_finalizer(void *ud, json_object *obj)
{
    (void)ud;
    json_object_object_add(jx_ensure_obj(obj, "spec"), "finalizers", json_object_new_array());
    return 0;
}

static void
ns_term(sim_state *S, const sim_ctl_item *it)
{
    sim_res *nr = sim_find_res(S, "", "namespaces");
    sim_obj *nso = sim_lookup(S, nr, "", it->ns);
    if (!nso || !jx_get(sim_obj_tree(nso), "metadata.deletionTimestamp")) return;
    size_t n = 0;
    objref *v = all_objects(S, it->ns, &n);
    size_t left = n;
    for (size_t i = 0; i < n; i++) {
        json_object *obj = sim_obj_tree(v[i].o);
        if (!jx_get(obj, "metadata.deletionTimestamp")) {
            char name[256];
            snprintf(name, sizeof name, "%s", jx_str_or(obj, "metadata.name", ""));
            sim_internal_delete(S, v[i].r, it->ns, name, "Background", -1);
        }
    }
    free_objects(v, n);
    if (left) {
        /* deletions above may have finished at once: count again */
        v = all_objects(S, it->ns, &n);
        left = n;
        free_objects(v, n);
    }
    if (left) return;
    /* empty: the namespace goes */
    sim_obj *cur = sim_lookup(S, nr, "", it->ns);
    if (!cur) return;
    json_object *fin = sim_json_copy(sim_obj_tree(cur));
    drop_ns_finalizer(NULL, fin);
    sim_commit(S, nr, SIM_EV_DELETED, fin);
}

/* ---- kubelet ---- */

enum { KL_BIND = 1, KL_START, KL_STOP };

typedef struct kl_timer {
    ev_timer t;
    sim_state *S;
    int kind;
    char ns[256], name[256], uid[64];
    char key[600];
} kl_timer;

static void
kl_cancel(sim_state *S, const char *key)
{
    kl_timer *k = sim_map_del(&S->kubelet_timers, key);
    if (k) {
        ev_timer_stop(S->loop, &k->t);
        free(k);
    }
}

static int
bind_fn(void *ud, json_object *pod)
{
    sim_state *S = ud;
    if (jx_str(pod, "spec.nodeName") && jx_str(pod, "spec.nodeName")[0]) return 1;
    char node[64];
    unsigned nn = S->cfg.nodes > 0 ? (unsigned)S->cfg.nodes : 1;
    snprintf(node, sizeof node, "kubesim-node-%u", S->node_rr++ % nn + 1);
    jx_set_str(pod, "spec.nodeName", node);
    sim_core_pod_condition(pod, "PodScheduled", "True", NULL);
    return 0;
}

static int
start_fn(void *ud, json_object *pod)
{
    sim_state *S = ud;
    if (strcmp(jx_str_or(pod, "status.phase", ""), "Pending") != 0) return 1;
    char now[32], ip[32], host[32];
    sim_meta_now(now);
    unsigned n = ++S->pod_ip_seq;
    snprintf(ip, sizeof ip, "10.244.%u.%u", (n >> 8) & 255, n & 255);
    const char *node = jx_str_or(pod, "spec.nodeName", "kubesim-node-1");
    unsigned idx = 1;
    sscanf(node, "kubesim-node-%u", &idx);
    snprintf(host, sizeof host, "10.0.0.%u", idx & 255);
    json_object *st = jx_ensure_obj(pod, "status");
    json_object_object_add(st, "phase", json_object_new_string("Running"));
    sim_core_pod_condition(pod, "PodReadyToStartContainers", "True", NULL);
    sim_core_pod_condition(pod, "Initialized", "True", NULL);
    sim_core_pod_condition(pod, "Ready", "True", NULL);
    sim_core_pod_condition(pod, "ContainersReady", "True", NULL);
    sim_core_pod_condition(pod, "PodScheduled", "True", NULL);
    json_object_object_add(st, "hostIP", json_object_new_string(host));
    json_object *his = json_object_new_array();
    json_object *hi = json_object_new_object();
    json_object_object_add(hi, "ip", json_object_new_string(host));
    json_object_array_add(his, hi);
    json_object_object_add(st, "hostIPs", his);
    json_object_object_add(st, "podIP", json_object_new_string(ip));
    json_object *pis = json_object_new_array();
    json_object *pi = json_object_new_object();
    json_object_object_add(pi, "ip", json_object_new_string(ip));
    json_object_array_add(pis, pi);
    json_object_object_add(st, "podIPs", pis);
    json_object_object_add(st, "startTime", json_object_new_string(now));
    json_object *css = json_object_new_array();
    json_object *cs = jx_arr(pod, "spec.containers");
    size_t nc = cs ? json_object_array_length(cs) : 0;
    for (size_t i = 0; i < nc; i++) {
        json_object *c = json_object_array_get_idx(cs, i);
        json_object *x = json_object_new_object();
        json_object_object_add(x, "name", json_object_new_string(jx_str_or(c, "name", "")));
        json_object *state = json_object_new_object();
        json_object *run = json_object_new_object();
        json_object_object_add(run, "startedAt", json_object_new_string(now));
        json_object_object_add(state, "running", run);
        json_object_object_add(x, "state", state);
        json_object_object_add(x, "lastState", json_object_new_object());
        json_object_object_add(x, "ready", json_object_new_boolean(1));
        json_object_object_add(x, "restartCount", json_object_new_int(0));
        json_object_object_add(x, "image", json_object_new_string(jx_str_or(c, "image", "")));
        json_object_object_add(x, "imageID", json_object_new_string(""));
        char cid[96];
        snprintf(cid, sizeof cid, "containerd://%016llx%016llx", (unsigned long long)sim_rand_u(S),
                 (unsigned long long)sim_rand_u(S));
        json_object_object_add(x, "containerID", json_object_new_string(cid));
        json_object_object_add(x, "started", json_object_new_boolean(1));
        json_object_array_add(css, x);
    }
    json_object_object_add(st, "containerStatuses", css);
    return 0;
}

/* the kubelet's and scheduler's writes change only these members of a pod
 * (sim_internal_update_keys shares the rest with the stored version) */
static const char *const status_only[] = {"status", NULL};
static const char *const spec_keys[] = {"spec", NULL};

static void kl_schedule(sim_state *S, int kind, const char *key, const char *ns, const char *name,
                        double delay_s);

static void
kl_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    kl_timer *k = w->data;
    sim_state *S = k->S;
    sim_map_del(&S->kubelet_timers, k->key);
    ev_timer_stop(S->loop, &k->t);
    sim_res *pr = sim_find_res(S, "", "pods");
    sim_obj *o = sim_lookup(S, pr, k->ns, k->name);
    if (o) {
        if (k->kind == KL_BIND) {
            /* bind_fn sets spec.nodeName and a status condition */
            sim_internal_update_keys(S, pr, k->ns, k->name, bind_fn, S, MANAGER_SCHED, status_only,
                                     spec_keys);
        } else if (k->kind == KL_START) {
            sim_internal_update_keys(S, pr, k->ns, k->name, start_fn, S, MANAGER_KUBELET,
                                     status_only, NULL);
        } else if (k->kind == KL_STOP) {
            sim_internal_delete(S, pr, k->ns, k->name, NULL, 0);
        }
    }
    free(k);
}

static void
kl_schedule(sim_state *S, int kind, const char *key, const char *ns, const char *name,
            double delay_s)
{
    kl_timer *old = sim_map_get(&S->kubelet_timers, key);
    if (old) {
        if (old->kind >= kind) return; /* already on its way (stop outranks start outranks bind) */
        kl_cancel(S, key);
    }
    kl_timer *k = calloc(1, sizeof *k);
    if (!k) return;
    k->S = S;
    k->kind = kind;
    snprintf(k->ns, sizeof k->ns, "%s", ns);
    snprintf(k->name, sizeof k->name, "%s", name);
    snprintf(k->key, sizeof k->key, "%s", key);
    ev_timer_init(&k->t, kl_cb, delay_s, 0.);
    k->t.data = k;
    sim_map_put(&S->kubelet_timers, key, k);
    if (sim_map_get(&S->kubelet_timers, key) != k) {
        free(k);
        return;
    }
    ev_timer_start(S->loop, &k->t);
}

static void
kubelet_on_pod(sim_state *S, const sim_event *e)
{
    const sim_obj *o = e->obj;
    if (e->type == SIM_EV_DELETED) {
        kl_cancel(S, o->key);
        return;
    }
    if (S->cfg.no_kubelet) return;
    json_object *pod = sim_obj_tree(o);
    const char *ns = jx_str_or(pod, "metadata.namespace", "");
    const char *name = jx_str_or(pod, "metadata.name", "");
    const char *node = jx_str(pod, "spec.nodeName");
    int bound = node && node[0];
    if (jx_get(pod, "metadata.deletionTimestamp")) {
        if (bound) {
            double grace = (double)jx_int(pod, "metadata.deletionGracePeriodSeconds", 0);
            double d = S->cfg.pod_stop_delay_ms / 1000.0;
            if (d > grace) d = grace;
            kl_schedule(S, KL_STOP, o->key, ns, name, d);
        }
        return;
    }
    const char *phase = jx_str_or(pod, "status.phase", "");
    if (!bound)
        kl_schedule(S, KL_BIND, o->key, ns, name, 0.);
    else if (!strcmp(phase, "Pending"))
        kl_schedule(S, KL_START, o->key, ns, name, S->cfg.pod_ready_delay_ms / 1000.0);
}

static int
free_kl(void *ud, const char *key, void *val)
{
    (void)key;
    sim_state *S = ud;
    kl_timer *k = val;
    ev_timer_stop(S->loop, &k->t);
    free(k);
    return 0;
}

void
sim_kubelet_free_all(sim_state *S)
{
    sim_map_each(&S->kubelet_timers, free_kl, S);
    sim_map_free(&S->kubelet_timers);
    sim_map_free(&S->owner_refs);
    free(S->ctl_q);
    S->ctl_q = NULL;
    S->ctl_n = S->ctl_cap = 0;
}

typedef struct {
    int code;
} finish_ud;

static int
finish_fn(void *ud, json_object *pod)
{
    finish_ud *f = ud;
    char now[32];
    sim_meta_now(now);
    json_object *st = jx_ensure_obj(pod, "status");
    json_object_object_add(st, "phase",
                           json_object_new_string(f->code == 0 ? "Succeeded" : "Failed"));
    sim_core_pod_condition(pod, "Ready", "False", f->code == 0 ? "PodCompleted" : "PodFailed");
    sim_core_pod_condition(pod, "ContainersReady", "False",
                           f->code == 0 ? "PodCompleted" : "PodFailed");
    json_object *css = jx_arr(st, "containerStatuses");
    json_object *cs = jx_arr(pod, "spec.containers");
    if (!css) {
        css = json_object_new_array();
        size_t nc = cs ? json_object_array_length(cs) : 0;
        for (size_t i = 0; i < nc; i++) {
            json_object *x = json_object_new_object();
            json_object_object_add(
                x, "name",
                json_object_new_string(jx_str_or(json_object_array_get_idx(cs, i), "name", "")));
            json_object_array_add(css, x);
        }
        json_object_object_add(st, "containerStatuses", css);
    }
    size_t n = json_object_array_length(css);
    for (size_t i = 0; i < n; i++) {
        json_object *x = json_object_array_get_idx(css, i);
        const char *started = jx_str(x, "state.running.startedAt");
        json_object *state = json_object_new_object();
        json_object *term = json_object_new_object();
        json_object_object_add(term, "exitCode", json_object_new_int(f->code));
        json_object_object_add(term, "reason",
                               json_object_new_string(f->code == 0 ? "Completed" : "Error"));
        json_object_object_add(term, "startedAt", json_object_new_string(started ? started : now));
        json_object_object_add(term, "finishedAt", json_object_new_string(now));
        json_object_object_add(state, "terminated", term);
        json_object_object_add(x, "state", state);
        json_object_object_add(x, "ready", json_object_new_boolean(0));
        json_object_object_add(x, "started", json_object_new_boolean(0));
    }
    return 0;
}

void
sim_kubelet_finish(sim_rq *rq, const char *ns, const char *name, int exit_code)
{
    sim_state *S = rq->S;
    sim_res *pr = sim_find_res(S, "", "pods");
    char key[600];
    sim_key(ns, name, key, sizeof key);
    kl_cancel(S, key);
    finish_ud f = {exit_code};
    int rc = sim_internal_update_keys(S, pr, ns, name, finish_fn, &f, MANAGER_KUBELET, status_only,
                                      NULL);
    sim_obj *o = sim_lookup(S, pr, ns, name);
    if (rc == ERR_NOTFOUND || !o) {
        sim_reply_text(rq, 404, "application/json", "{\"error\":\"pod not found\"}");
        return;
    }
    /* an admin request: answered with the pod, counted only as an admin call */
    sim_buf b = {0};
    sim_obj_text(S, pr, o, 1, &b);
    sim_record(rq, 200);
    sim_conn_reply(rq->c, 200, "application/json", NULL, b.data ? b.data : "{}", b.len);
    sim_buf_free(&b);
}

/* ---- the pass ---- */

void
sim_ctl_run(sim_state *S)
{
    for (int round = 0; round < 64 && S->ctl_n; round++) {
        sim_ctl_item *q = S->ctl_q;
        size_t n = S->ctl_n;
        S->ctl_q = NULL;
        S->ctl_n = S->ctl_cap = 0;
        for (size_t i = 0; i < n; i++) {
            switch (q[i].kind) {
            case CTL_NS_SA:
                ns_sa(S, &q[i]);
                break;
            case CTL_NS_TERM:
                ns_term(S, &q[i]);
                break;
            case CTL_GC_GONE:
                gc_gone(S, &q[i]);
                break;
            case CTL_OWNER:
                gc_owner(S, &q[i]);
                break;
            default:
                break;
            }
        }
        free(q);
    }
    if (S->ctl_n) sim_ctl_kick(S);
}

static int
node_ready(sim_state *S, unsigned i)
{
    sim_res *nr = sim_find_res(S, "", "nodes");
    char name[64], ip[32], now[32];
    snprintf(name, sizeof name, "kubesim-node-%u", i);
    snprintf(ip, sizeof ip, "10.0.0.%u", i & 255);
    sim_meta_now(now);
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":{"
             "\"kubernetes.io/hostname\":\"%s\",\"kubernetes.io/os\":\"linux\","
             "\"kubernetes.io/arch\":\"amd64\",\"type\":\"kubesim\"}},\"spec\":{\"podCIDR\":\"10."
             "244.%u.0/24\"},\"status\":{\"capacity\":{\"cpu\":\"64\",\"memory\":\"256Gi\","
             "\"pods\":\"1000\"},\"allocatable\":{\"cpu\":\"64\",\"memory\":\"256Gi\",\"pods\":"
             "\"1000\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
             "\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\",\"reason\":"
             "\"KubeletReady\",\"message\":\"kubelet is posting ready status\"}],\"addresses\":[{"
             "\"type\":\"InternalIP\",\"address\":\"%s\"},{\"type\":\"Hostname\",\"address\":\"%s\""
             "}],\"nodeInfo\":{\"kubeletVersion\":\"v1.32.0\",\"operatingSystem\":\"linux\","
             "\"architecture\":\"amd64\"}}}",
             name, name, i & 255, now, now, ip, name);
    json_object *o = json_tokener_parse(buf);
    if (!o) return ERR_NOMEM;
    int rc = sim_internal_create(S, nr, o, "kubelet");
    return rc == ERR_EXISTS ? 0 : rc;
}

int
sim_ctl_bootstrap(sim_state *S)
{
    sim_res *nr = sim_find_res(S, "", "namespaces");
    static const char *nss[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
    for (size_t i = 0; i < 4; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "apiVersion", json_object_new_string("v1"));
        json_object_object_add(o, "kind", json_object_new_string("Namespace"));
        json_object *m = json_object_new_object();
        json_object_object_add(m, "name", json_object_new_string(nss[i]));
        json_object_object_add(o, "metadata", m);
        if (sim_internal_create(S, nr, o, NULL) != 0) return ERR_NOMEM;
    }
    for (int i = 1; i <= S->cfg.nodes; i++)
        if (node_ready(S, (unsigned)i) != 0) return ERR_NOMEM;
    sim_ctl_run(S);
    return 0;
}
