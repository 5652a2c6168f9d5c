/* sim_res.h - the resource table: one row per served resource.
 *
 * A row names the REST path (group, version, plural), the object (kind),
 * scope, subresources and the hook set that gives the kind its behaviour
 * (defaults, validation, special subresources). Built-in rows are static;
 * rows for custom resources are made from CustomResourceDefinitions
 * (sim_crd.c) and owned by the table. Rows that share one storage (core/v1
 * and events.k8s.io/v1 events; the versions of one CRD) share a store_key.
 * Single-threaded, like the rest of the simulator. */
#ifndef ASC_SIM_RES_H
#define ASC_SIM_RES_H

#include <stddef.h>

struct sim_schema;
struct sim_store;

enum {
    SIM_SUB_STATUS = 1 << 0,
    SIM_SUB_SCALE = 1 << 1,
    SIM_SUB_BINDING = 1 << 2,
    SIM_SUB_FINALIZE = 1 << 3,
};

typedef enum {
    SIM_HOOK_NONE,
    SIM_HOOK_NAMESPACE,
    SIM_HOOK_NODE,
    SIM_HOOK_POD,
    SIM_HOOK_SERVICE,
    SIM_HOOK_PVC,
    SIM_HOOK_CONFIGMAP,
    SIM_HOOK_SECRET,
    SIM_HOOK_SERVICEACCOUNT,
    SIM_HOOK_EVENT,    /* core/v1 Event (the stored form) */
    SIM_HOOK_EVENT_V1, /* events.k8s.io/v1 view of the same store */
    SIM_HOOK_LEASE,
    SIM_HOOK_NETPOL,
    SIM_HOOK_CRD,
    SIM_HOOK_CUSTOM, /* a custom resource served from a CRD */
} sim_hook;

typedef struct sim_res {
    char *group; /* "" for core */
    char *version;
    char *plural;
    char *singular;
    char *kind;
    char *list_kind;
    char *short_names; /* comma-separated, may be "" */
    char *categories;  /* comma-separated, may be "" */
    char *store_key;   /* "<group>/<plural>" of the shared storage */
    int namespaced;
    unsigned subres; /* SIM_SUB_* */
    sim_hook hook;
    int storage_version; /* this row's version is the one stored */
    /* custom resources */
    struct sim_schema *schema;       /* may be NULL (no schema / preserve all) */
    char *crd_name;                  /* "<plural>.<group>" */
    char *scale_spec;                /* ".spec.replicas" */
    char *scale_status;              /* ".status.replicas" */
    char *scale_selector;            /* ".status.selector" or NULL */
    struct sim_store *store;         /* set by the server */
    unsigned long long watch_events; /* events sent to watchers (metrics) */
    unsigned long long watch_lists;  /* watches with sendInitialEvents (metrics) */
    char *api_version;               /* "v1" or "group/version" (sim_res_new) */
    /* custom resources: versions known to be fixed points of schema, by
     * resourceVersion in one slot per key hash (sim_write.c; NULL until used) */
    unsigned long long *schema_clean;
} sim_res;

typedef struct sim_res_table {
    sim_res **v;
    size_t n, cap;
} sim_res_table;

/* Add the built-in rows. Returns 0 or ERR_NOMEM. */
int sim_res_builtin(sim_res_table *t);
/* A new heap row with copies of the given strings (NULL -> ""). */
sim_res *sim_res_new(const char *group, const char *version, const char *plural,
                     const char *singular, const char *kind, int namespaced, unsigned subres,
                     sim_hook hook);
void sim_res_free(sim_res *r);
int sim_res_add(sim_res_table *t, sim_res *r); /* takes r; 0 or ERR_NOMEM */
/* Remove and free every row whose crd_name equals name. */
void sim_res_remove_crd(sim_res_table *t, const char *crd_name);
void sim_res_table_free(sim_res_table *t);

sim_res *sim_res_find(const sim_res_table *t, const char *group, const char *version,
                      const char *plural);
/* Is group/version served at all (for the 404 flavour)? */
int sim_res_gv_known(const sim_res_table *t, const char *group, const char *version);
/* The storage-version row of a store key. */
sim_res *sim_res_storage(const sim_res_table *t, const char *store_key);
/* Plural for a kind in a group (owner references), or NULL. */
sim_res *sim_res_by_kind(const sim_res_table *t, const char *api_version, const char *kind);

/* "v1" or "group/version". Writes into buf. */
const char *sim_res_api_version(const sim_res *r, char *buf, size_t len);
/* "sandboxes.agents.x-k8s.io" or "pods" (resource qualified by group). */
const char *sim_res_qualified(const sim_res *r, char *buf, size_t len);
/* "Sandbox.agents.x-k8s.io" or "Pod" (kind qualified by group). */
const char *sim_res_qualified_kind(const sim_res *r, char *buf, size_t len);

#endif
