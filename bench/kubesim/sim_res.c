/* sim_res.c - the resource table (see sim_res.h). */
#include "bench/kubesim/sim_res.h"

#include "bench/kubesim/sim_schema.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *group, *version, *plural, *singular, *kind, *shorts;
    int namespaced;
    unsigned subres;
    sim_hook hook;
} builtin_row;

static const builtin_row builtin[] = {
    {"", "v1", "namespaces", "namespace", "Namespace", "ns", 0, SIM_SUB_STATUS | SIM_SUB_FINALIZE,
     SIM_HOOK_NAMESPACE},
    {"", "v1", "nodes", "node", "Node", "no", 0, SIM_SUB_STATUS, SIM_HOOK_NODE},
    {"", "v1", "pods", "pod", "Pod", "po", 1, SIM_SUB_STATUS | SIM_SUB_BINDING, SIM_HOOK_POD},
    {"", "v1", "services", "service", "Service", "svc", 1, SIM_SUB_STATUS, SIM_HOOK_SERVICE},
    {"", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", "pvc", 1,
     SIM_SUB_STATUS, SIM_HOOK_PVC},
    {"", "v1", "configmaps", "configmap", "ConfigMap", "cm", 1, 0, SIM_HOOK_CONFIGMAP},
    {"", "v1", "secrets", "secret", "Secret", "", 1, 0, SIM_HOOK_SECRET},
    {"", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", "sa", 1, 0,
     SIM_HOOK_SERVICEACCOUNT},
    {"", "v1", "events", "event", "Event", "ev", 1, 0, SIM_HOOK_EVENT},
    {"coordination.k8s.io", "v1", "leases", "lease", "Lease", "", 1, 0, SIM_HOOK_LEASE},
    {"networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", "netpol", 1, 0,
     SIM_HOOK_NETPOL},
    {"events.k8s.io", "v1", "events", "event", "Event", "ev", 1, 0, SIM_HOOK_EVENT_V1},
    {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
     "CustomResourceDefinition", "crd,crds", 0, SIM_SUB_STATUS, SIM_HOOK_CRD},
};

static char *
dup0(const char *s)
{
    return strdup(s ? s : "");
}

sim_res *
sim_res_new(const char *group, const char *version, const char *plural, const char *singular,
            const char *kind, int namespaced, unsigned subres, sim_hook hook)
{
    sim_res *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    char lk[256], sk[512];
    snprintf(lk, sizeof lk, "%sList", kind ? kind : "");
    snprintf(sk, sizeof sk, "%s/%s", group ? group : "", plural ? plural : "");
    r->group = dup0(group);
    r->version = dup0(version);
    r->plural = dup0(plural);
    r->singular = dup0(singular);
    r->kind = dup0(kind);
    r->list_kind = dup0(lk);
    r->short_names = dup0("");
    r->categories = dup0("");
    r->store_key = dup0(sk);
    char av[512];
    if (group && group[0])
        snprintf(av, sizeof av, "%s/%s", group, version ? version : "");
    else
        snprintf(av, sizeof av, "%s", version ? version : "");
    r->api_version = dup0(av);
    r->namespaced = namespaced;
    r->subres = subres;
    r->hook = hook;
    r->storage_version = 1;
    if (!r->group || !r->version || !r->plural || !r->singular || !r->kind || !r->list_kind ||
        !r->short_names || !r->categories || !r->store_key || !r->api_version) {
        sim_res_free(r);
        return NULL;
    }
    return r;
}

void
sim_res_free(sim_res *r)
{
    if (!r) return;
    free(r->group);
    free(r->version);
    free(r->plural);
    free(r->singular);
    free(r->kind);
    free(r->list_kind);
    free(r->short_names);
    free(r->categories);
    free(r->store_key);
    free(r->api_version);
    free(r->schema_clean);
    free(r->crd_name);
    free(r->scale_spec);
    free(r->scale_status);
    free(r->scale_selector);
    sim_schema_free(r->schema);
    free(r);
}

int
sim_res_add(sim_res_table *t, sim_res *r)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        sim_res **v = realloc(t->v, cap * sizeof *v);
        if (!v) {
            sim_res_free(r);
            return ERR_NOMEM;
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = r;
    return 0;
}

int
sim_res_builtin(sim_res_table *t)
{
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
        const builtin_row *b = &builtin[i];
        sim_res *r = sim_res_new(b->group, b->version, b->plural, b->singular, b->kind,
                                 b->namespaced, b->subres, b->hook);
        if (!r) return ERR_NOMEM;
        free(r->short_names);
        r->short_names = strdup(b->shorts);
        if (b->hook == SIM_HOOK_POD || b->hook == SIM_HOOK_SERVICE) {
            free(r->categories); /* `kubectl get all` */
            r->categories = strdup("all");
        }
        if (b->hook == SIM_HOOK_EVENT_V1) {
            /* one storage with core/v1 events, as the real server */
            free(r->store_key);
            r->store_key = strdup("/events");
            r->storage_version = 0;
        }
        if (!r->short_names || !r->store_key || !r->categories) {
            sim_res_free(r);
            return ERR_NOMEM;
        }
        if (sim_res_add(t, r) != 0) return ERR_NOMEM;
    }
    return 0;
}

void
sim_res_remove_crd(sim_res_table *t, const char *crd_name)
{
    size_t j = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i]->crd_name && strcmp(t->v[i]->crd_name, crd_name) == 0)
            sim_res_free(t->v[i]);
        else
            t->v[j++] = t->v[i];
    }
    t->n = j;
}

void
sim_res_table_free(sim_res_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        sim_res_free(t->v[i]);
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

sim_res *
sim_res_find(const sim_res_table *t, const char *group, const char *version, const char *plural)
{
    for (size_t i = 0; i < t->n; i++) {
        sim_res *r = t->v[i];
        if (!strcmp(r->plural, plural) && !strcmp(r->group, group) && !strcmp(r->version, version))
            return r;
    }
    return NULL;
}

int
sim_res_gv_known(const sim_res_table *t, const char *group, const char *version)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i]->group, group) && (!version || !strcmp(t->v[i]->version, version)))
            return 1;
    return 0;
}

sim_res *
sim_res_storage(const sim_res_table *t, const char *store_key)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i]->storage_version && !strcmp(t->v[i]->store_key, store_key)) return t->v[i];
    return NULL;
}

sim_res *
sim_res_by_kind(const sim_res_table *t, const char *api_version, const char *kind)
{
    if (!api_version || !kind) return NULL;
    const char *slash = strchr(api_version, '/');
    char group[256] = "";
    const char *version = api_version;
    if (slash) {
        size_t gl = (size_t)(slash - api_version);
        if (gl >= sizeof group) return NULL;
        memcpy(group, api_version, gl);
        group[gl] = '\0';
        version = slash + 1;
    }
    for (size_t i = 0; i < t->n; i++) {
        sim_res *r = t->v[i];
        if (!strcmp(r->kind, kind) && !strcmp(r->group, group) && !strcmp(r->version, version))
            return r;
    }
    return NULL;
}

const char *
sim_res_api_version(const sim_res *r, char *buf, size_t len)
{
    if (r->api_version && len > 0) { /* made once (this runs on every write) */
        size_t n = strlen(r->api_version);
        if (n >= len) n = len - 1;
        memcpy(buf, r->api_version, n);
        buf[n] = '\0';
        return buf;
    }
    if (r->group[0])
        snprintf(buf, len, "%s/%s", r->group, r->version);
    else
        snprintf(buf, len, "%s", r->version);
    return buf;
}

const char *
sim_res_qualified(const sim_res *r, char *buf, size_t len)
{
    if (r->group[0])
        snprintf(buf, len, "%s.%s", r->plural, r->group);
    else
        snprintf(buf, len, "%s", r->plural);
    return buf;
}

const char *
sim_res_qualified_kind(const sim_res *r, char *buf, size_t len)
{
    if (r->group[0])
        snprintf(buf, len, "%s.%s", r->kind, r->group);
    else
        snprintf(buf, len, "%s", r->kind);
    return buf;
}
