/* sim_state.h - the simulator's internal state and the calls its modules
 * share. Everything here runs on the server thread (see sim_server.h).
 *
 * Modules: sim_api (routing, reads), sim_write (create/update/patch/delete),
 * sim_watch (watch streams), sim_meta (object metadata), sim_core (built-in
 * kinds' defaults and validation), sim_ctl (garbage collector, namespace
 * controller, ServiceAccounts, kubelet), sim_admin (/kubesim/..., /metrics),
 * sim_fault (fault injection), sim_crd (CustomResourceDefinitions),
 * sim_discovery, sim_openapi (/openapi/v3), sim_table (server-side printing). */
#ifndef ASC_SIM_STATE_H
#define ASC_SIM_STATE_H

#include "bench/kubesim/sim_buf.h"
#include "bench/kubesim/sim_http.h"
#include "bench/kubesim/sim_map.h"
#include "bench/kubesim/sim_res.h"
#include "bench/kubesim/sim_server.h"
#include "bench/kubesim/sim_store.h"

#include <ev.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdint.h>

struct sim_watch;

typedef struct sim_fault {
    char verb[16], resource[128], subresource[64];
    int code;             /* answer with this status (0: no error answer) */
    long count;           /* matching requests left; -1 = until cleared */
    double percent;       /* share of matching requests hit (100 = all) */
    int latency_ms;       /* delay matching requests by latency_ms ... */
    int jitter_ms;        /* ... plus a uniform 0..jitter_ms */
    double reset_percent; /* drop the connection without an answer */
    int watch_stall_s;    /* a matching watch sends nothing for this long */
} sim_fault;

typedef struct sim_logent {
    uint64_t seq;
    int64_t time_ms;
    char client[64], verb[24], resource[96], subresource[64], ns[256], name[256];
    int code;
} sim_logent;

#define SIM_LOG_CAP 100000
/* Parsed trees kept for recently written or read objects (the rest keep
 * their text alone: ~1.5 KB instead of ~15 KB for a small object). */
#define SIM_TREE_CACHE 4096

struct sim_server {
    sim_config cfg;
    char url[64];
    char kubeconfig[4096];
    int tmp_kubeconfig;
    char token[64];
    char crds_dir[4096];

    struct ev_loop *loop;
    pthread_t thread;
    int thread_started;
    ev_async stop_async;
    ev_timer housekeeping; /* history trimming, once a second */
    ev_timer ctl_timer;    /* controllers pass, scheduled after writes */
    ev_prepare tree_trim;  /* bounds the parsed trees kept (sim_tree_cache) */
    sim_tree_cache trees;
    int ctl_scheduled;
    sim_http *http;
    SSL_CTX *ssl;

    uint64_t rv; /* the one global resourceVersion counter */
    sim_res_table res;
    sim_map stores; /* store_key -> sim_store* */
    struct sim_watch *watches;
    int nwatches;

    sim_map metrics; /* "name{labels}" -> uint64_t* */
    sim_logent *log; /* ring of SIM_LOG_CAP */
    size_t log_n;
    uint64_t log_seq;
    sim_fault *faults;
    size_t nfaults;
    uint64_t fault_rand;   /* seeded: a run with faults can be repeated */
    ev_timer watch_closer; /* fault: close every watch every T seconds */

    struct sim_ctl_item *ctl_q; /* controller work queued by events */
    size_t ctl_n, ctl_cap;
    sim_map owner_refs; /* owner uid -> number of dependents naming it (as intptr) */
    sim_buf wline;      /* the current event's line, shared by its watchers */
    const sim_obj *wline_obj;
    const char *wline_type;
    const sim_res *wline_res;
    int wline_on;
    int dry_run;      /* the request being handled has dryRun=All */
    sim_obj *dry_obj; /* what it would have stored (freed after the reply) */
    unsigned pod_ip_seq;
    unsigned svc_ip_seq;
    unsigned node_rr;
    sim_map kubelet_timers; /* pod key -> struct kubelet timer */
    int64_t rand_state;
};

typedef struct sim_server sim_state;

/* ---- requests (sim_api.c) ---- */

typedef struct sim_rq {
    sim_state *S;
    sim_conn *c;
    sim_req *r;
    sim_res *res;
    char ns[256];
    char name[256];
    char sub[64];
    const char *verb; /* metrics verb: GET LIST WATCH POST PUT PATCH DELETE */
    const char *scope;
    char client[64];   /* User-Agent up to the first '/' */
    char manager[128]; /* fieldManager or User-Agent's first word */
    json_object *q;    /* query parameters (string values) */
    int done;
} sim_rq;

const char *sim_q(const sim_rq *rq, const char *key); /* query value or NULL */
/* Server-seeded random numbers (uids, names, timeouts). */
uint64_t sim_rand_u(sim_state *S);

/* Replies (record metrics and the request log). They take body. */
void sim_reply_json(sim_rq *rq, int code, json_object *body, const char *extra_headers);
void sim_reply_obj(sim_rq *rq, int code, const sim_obj *o, const char *extra_headers);
void sim_reply_text(sim_rq *rq, int code, const char *ctype, const char *text);
/* Record a request's outcome without replying (watches, delayed replies). */
void sim_record(sim_rq *rq, int code);

/* The object as the row rq->res serves it (version, events conversion):
 * new json (caller puts). */
json_object *sim_obj_view(sim_state *S, const sim_res *res, const sim_obj *o);
/* 1 when o must be converted to be served by res (other version, events.k8s.io). */
int sim_obj_needs_view(const sim_res *res, const sim_obj *o);
/* Text of o as served by res, with (tm=1) or without type meta; appended to b. */
void sim_obj_text(sim_state *S, const sim_res *res, const sim_obj *o, int tm, sim_buf *b);

/* ---- storage (sim_server.c) ---- */

sim_store *sim_store_of(sim_state *S, const sim_res *r);
/* Commit a write: a new resourceVersion is stamped into obj's metadata, the
 * store is updated and watchers are told. type SIM_EV_DELETED removes the
 * object (obj is its final state). Takes obj. Returns the stored object
 * (borrowed; valid until the next write) or NULL on OOM. */
const sim_obj *sim_commit(sim_state *S, sim_res *r, int type, json_object *obj);
sim_obj *sim_lookup(sim_state *S, const sim_res *r, const char *ns, const char *name);
void sim_key(const char *ns, const char *name, char *out, size_t len);
/* Ask for a controllers pass soon. */
void sim_ctl_kick(sim_state *S);
sim_res *sim_find_res(sim_state *S, const char *group, const char *plural);

/* ---- modules ---- */
void sim_api_handle(void *ud, sim_conn *c, sim_req *r); /* the HTTP handler */
void sim_write_create(sim_rq *rq);
void sim_write_update(sim_rq *rq); /* PUT (main, status, scale) */
void sim_write_patch(sim_rq *rq);
void sim_write_delete(sim_rq *rq);
void sim_write_binding(sim_rq *rq);
void sim_write_delete_collection(sim_rq *rq);
/* autoscaling/v1 Scale view of a custom resource with a scale subresource. */
json_object *sim_scale_of(const sim_res *r, json_object *obj);
/* Field selector labels a resource supports (NULL-terminated). */
const char *const *sim_field_labels(const sim_res *r);
/* events.k8s.io/v1 Event -> stored core/v1 form (new object). */
json_object *sim_event_from_v1(json_object *src);
/* Internal writers for controllers: apply fn to a copy of the stored object
 * and commit if it changed. Returns 0, ERR_NOTFOUND, or ERR_NOMEM. */
int sim_internal_update(sim_state *S, sim_res *r, const char *ns, const char *name,
                        int (*fn)(void *ud, json_object *obj), void *ud, const char *manager);
/* The same where fn modifies only the top-level members named in deep
 * (anywhere below them) and in shallow (only their own keys): fn gets an
 * object sharing every other member with the stored tree, which it must not
 * modify (read only). NULL-terminated lists; both NULL: a full copy. */
int sim_internal_update_keys(sim_state *S, sim_res *r, const char *ns, const char *name,
                             int (*fn)(void *ud, json_object *obj), void *ud, const char *manager,
                             const char *const *deep, const char *const *shallow);
/* Create obj (taken) as a controller would; 0, ERR_EXISTS, ERR_NOMEM. */
int sim_internal_create(sim_state *S, sim_res *r, json_object *obj, const char *manager);
/* Delete as a DELETE with the given propagation (NULL = default), grace -1 = default. */
int sim_internal_delete(sim_state *S, sim_res *r, const char *ns, const char *name,
                        const char *propagation, long grace);

void sim_watch_start(sim_rq *rq, uint64_t from_rv, int has_rv, int send_initial, void *label_sel,
                     void *field_sel);
void sim_watch_dispatch(sim_state *S, sim_store *st, const sim_event *e);
void sim_watch_close_all(sim_state *S);
void sim_watch_close_store(sim_state *S, sim_store *st);

void sim_ctl_run(sim_state *S);
void sim_ctl_on_event(sim_state *S, sim_res *r, const sim_event *e);
int sim_ctl_bootstrap(sim_state *S);
void sim_kubelet_finish(sim_rq *rq, const char *ns, const char *name, int exit_code);

int sim_admin_handle(sim_rq *rq); /* 1 if it answered */
void sim_metrics_inc(sim_state *S, const char *series);
/* Faults (sim_fault.c). sim_fault_match answers (error, reset) or defers
 * (latency) a matching request and returns 1; 0 lets it through. */
int sim_fault_match(sim_rq *rq);
int sim_fault_add(sim_state *S, json_object *spec, char *err, size_t errlen);
void sim_fault_post(sim_rq *rq);
void sim_fault_clear(sim_state *S);
void sim_fault_init(sim_state *S);
/* Seconds a new watch must stay silent (0: none). */
int sim_fault_watch_stall(sim_rq *rq);

int sim_crd_install_dir(sim_state *S, const char *dir, char *err, size_t errlen);
int sim_crd_install_builtin(sim_state *S, char *err, size_t errlen);
/* Make the rows of a stored CRD object served (and drop old ones). */
int sim_crd_serve(sim_state *S, json_object *crd, char *err, size_t errlen);
void sim_crd_unserve(sim_state *S, const char *crd_name);

int sim_discovery_handle(sim_rq *rq); /* 1 if it answered */
int sim_openapi_handle(sim_rq *rq);
/* Server-side printing (sim_table.c). */
int sim_table_wanted(const char *accept);
json_object *sim_table_build(sim_state *S, const sim_res *r, sim_obj *const *objs, size_t n,
                             const char *rv, const char *cont,
                             int64_t remaining); /* /openapi/v3...; 1 if it answered */

#endif
