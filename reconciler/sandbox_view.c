/* sandbox_view.c - store reads for one Sandbox pass (see sandbox_view.h). */
#include "reconciler/sandbox_view.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/namehash.h"

#include <stdlib.h>
#include <string.h>

static int
push(json_object ***arr, size_t *n, size_t *cap, json_object *o)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        json_object **a = realloc(*arr, c * sizeof *a);
        if (a == NULL) return ERR_NOMEM;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = o;
    return 0;
}

static int
collect_pod(const store_item *it, void *udata)
{
    rec_sandbox_view *v = udata;
    json_object *o = NULL;
    int rc = store_decode(it, &o);
    if (rc != 0) return rc;
    if ((rc = push(&v->pods, &v->n_pods, &v->cap_pods, o)) != 0) json_object_put(o);
    return rc;
}

int
rec_sandbox_view_load(rec_sandbox_view *v, store_rtxn *r, const char *ns, const char *name)
{
    char hash[9];
    int rc;
    memset(v, 0, sizeof *v);
    if ((rc = store_get(r, STORE_SANDBOX, ns, name, &v->sandbox)) != 0) return rc;
    namehash_hex(name, hash);
    if (store_pods_by_hash(r, ns, hash, collect_pod, v) != 0) v->in.pod_lookup_failed = 1;
    const char *pname = rec_sandbox_pod_name(v->sandbox);
    /* The named pod is nearly always one of the pods of the name hash, read
     * in this same txn: share that decoded object (inputs are read-only)
     * rather than decode the pod a second time. */
    for (size_t i = 0; pname && i < v->n_pods && v->named_pod == NULL; i++) {
        const char *pn = jx_str(v->pods[i], "metadata.name");
        if (pn && strcmp(pn, pname) == 0) v->named_pod = json_object_get(v->pods[i]);
    }
    if (pname && v->named_pod == NULL && store_get(r, STORE_POD, ns, pname, &v->named_pod) != 0)
        v->named_pod = NULL;
    if (store_get(r, STORE_SERVICE, ns, name, &v->service) != 0) v->service = NULL;
    json_object *vcts = jx_arr(v->sandbox, "spec.volumeClaimTemplates");
    size_t nv = vcts ? json_object_array_length(vcts) : 0;
    for (size_t i = 0; i < nv; i++) {
        char pvc[512];
        json_object *o = NULL;
        if (!rec_sandbox_pvc_name(json_object_array_get_idx(vcts, i), v->sandbox, pvc, sizeof pvc))
            continue;
        if (store_get(r, STORE_PVC, ns, pvc, &o) != 0) continue;
        if (push(&v->pvcs, &v->n_pvcs, &v->cap_pvcs, o) != 0) {
            json_object_put(o);
            return ERR_NOMEM;
        }
    }
    v->in.sandbox = v->sandbox;
    v->in.pods = v->pods;
    v->in.n_pods = v->n_pods;
    v->in.named_pod = v->named_pod;
    v->in.service = v->service;
    v->in.pvcs = v->pvcs;
    v->in.n_pvcs = v->n_pvcs;
    return 0;
}

void
rec_sandbox_view_fini(rec_sandbox_view *v)
{
    json_object_put(v->sandbox);
    json_object_put(v->named_pod);
    json_object_put(v->service);
    for (size_t i = 0; i < v->n_pods; i++)
        json_object_put(v->pods[i]);
    for (size_t i = 0; i < v->n_pvcs; i++)
        json_object_put(v->pvcs[i]);
    free(v->pods);
    free(v->pvcs);
    memset(v, 0, sizeof *v);
}

int
rec_sandbox_run(store *s, const char *ns, const char *name, const rec_outcome *outcomes,
                size_t n_outcomes, const rec_sandbox_opts *opts, int64_t now_ms, rec_result *out)
{
    store_rtxn *r = NULL;
    rec_sandbox_view v;
    int rc = store_rtxn_begin(s, &r);
    if (rc != 0) return rc;
    rc = rec_sandbox_view_load(&v, r, ns, name);
    store_rtxn_end(r); /* decoded copies outlive the txn */
    if (rc == ERR_NOTFOUND) {
        rec_sandbox_view_fini(&v);
        return 0;
    }
    if (rc == 0) {
        v.in.outcomes = outcomes;
        v.in.n_outcomes = n_outcomes;
        v.in.cluster_domain = opts ? opts->cluster_domain : NULL;
        v.in.status_settle_ms = opts ? opts->status_settle_ms : 0;
        rc = rec_sandbox_reconcile(&v.in, now_ms, out);
    }
    rec_sandbox_view_fini(&v);
    return rc;
}

int
rec_sandbox_key_split(const char *key, char *ns, size_t nslen, char *name, size_t namelen)
{
    if (key == NULL) return ERR_INVALID;
    if (strncmp(key, "sandbox/", 8) == 0) key += 8;
    const char *slash = strchr(key, '/');
    if (slash == NULL || slash == key || slash[1] == '\0' || strchr(slash + 1, '/'))
        return ERR_INVALID;
    size_t nl = (size_t)(slash - key), ml = strlen(slash + 1);
    if (nl >= nslen || ml >= namelen) return ERR_INVALID;
    memcpy(ns, key, nl);
    ns[nl] = '\0';
    memcpy(name, slash + 1, ml + 1);
    return 0;
}
