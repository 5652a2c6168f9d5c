/* informer.h - keep the store (store/) a mirror of the API server.
 *
 * One reflector per resource (Sandboxes, SandboxClaims, SandboxWarmPools,
 * SandboxTemplates, Pods, Services, PVCs, NetworkPolicies; all namespaces):
 * LIST in pages, then WATCH from the list's resourceVersion with bookmarks;
 * a dropped stream resumes from the last version seen; 410 Gone relists and
 * turns the difference into adds, updates and deletes; errors back off with
 * jitter. Warm start: a resource whose last resourceVersion is in the store
 * skips the LIST and watches from that version (relisting only on 410).
 *
 * Before any reflector starts, the cluster identity is read (GET of the CRD
 * sandboxes.agents.x-k8s.io: its uid, plus the server URL) and checked with
 * store_check_identity: a cache recorded for another cluster is discarded,
 * and so is one when the CRD cannot be read.
 *
 * Watch events over the kube client are encoded for the store straight from
 * their JSON text (store_encode_json, via the decoder's raw hook): no json-c
 * tree is built unless that path declines an event (then json-c decodes it
 * and the event is applied as before, with the same result).
 *
 * Events decoded in one loop turn are committed in ONE store write txn by an
 * ev_prepare watcher (before the loop sleeps), together with the last
 * resourceVersion of each resource; the store's change feed then runs.
 *
 * Threads: everything here runs on the I/O thread (the loop given to
 * informer_new), like the kube client it uses.
 *
 * Shutdown order: informer_stop (or informer_free) BEFORE kube_client_free,
 * so cancelled requests do not schedule retries on a freed client; the store
 * is closed last. informer_free may come before or after kube_client_free.
 *
 * Stored resourceVersions (store_get_rv) are "<rv>", or "L|<rv>" when the
 * resource was label-selected (--cache-label-selectors): a restart with the
 * other setting relists instead of resuming a watch over another set.
 * Returns: 0 or a negative ERR_* (core/err.h).
 */
#ifndef ASC_INFORMER_H
#define ASC_INFORMER_H

#include "kube/kube.h"
#include "store/store.h"

#include <stdint.h>

struct ev_loop;

typedef struct informer informer;

typedef struct informer_opts {
    /* --cache-label-selectors: Pods and Services only with the label
     * agents.x-k8s.io/sandbox-name-hash (default 0: every Pod and Service). */
    int cache_label_selectors;
    unsigned kinds;      /* bit (1u << store_kind) per resource to run; 0: all eight */
    long page_size;      /* LIST limit; 0: 500 */
    int backoff_min_ms;  /* 0: 200 */
    int backoff_max_ms;  /* 0: 30000 */
    int watch_timeout_s; /* server-side timeoutSeconds per watch; 0: 300..600 jittered */
    int max_batch;       /* commit early after this many queued events; 0: 10000 */
    int skip_identity;   /* tests/bench: do not GET the CRD (identity left as is) */
} informer_opts;

/* Called once (on the I/O thread) when every running resource has synced. */
typedef void (*informer_synced_cb)(informer *inf, void *udata);

/* Transport: how the reflectors reach the server. informer_new uses the kube
 * client; tests may pass their own (informer_new_transport). Calls follow the
 * kube.h contract: a 0 return means the callback will run exactly once. */
typedef struct informer_transport {
    int (*list)(void *ctx, const kube_resource *r, const kube_list_opts *o, kube_done_cb cb,
                void *udata);
    void *(*watch_start)(void *ctx, const kube_resource *r, const kube_list_opts *o,
                         kube_event_cb on_event, kube_watch_end_cb on_end, void *udata);
    void (*watch_stop)(void *ctx, void *watch); /* on_end runs with ERR_CANCELED before return */
    int (*get)(void *ctx, const kube_resource *r, const char *ns, const char *name, kube_done_cb cb,
               void *udata);
    const char *(*server)(void *ctx);
    void *ctx;
} informer_transport;

/* Build over a kube client (informer/kube_transport.c). Nothing runs until
 * informer_start. o may be NULL. The client and store must outlive it. */
informer *informer_new(struct ev_loop *loop, kube_client *kc, store *st, const informer_opts *o);
/* Same with an explicit transport (copied). */
informer *informer_new_transport(struct ev_loop *loop, const informer_transport *t, store *st,
                                 const informer_opts *o);
void informer_on_synced(informer *inf, informer_synced_cb cb, void *udata);
/* Identity check, then every reflector. */
int informer_start(informer *inf);
/* Stop watches and timers, commit what is queued. Pending LIST/GET requests
 * finish later and are ignored. Safe to call twice. */
void informer_stop(informer *inf);
/* Stops if needed; memory is released once no request is outstanding
 * (immediately when none is), so it may be called before the kube client is
 * freed. NULL is a no-op. */
void informer_free(informer *inf);

/* 1 once the resource's initial LIST is committed (warm start: once its
 * watch is started from the stored version). */
int informer_synced(const informer *inf, enum store_kind kind);
int informer_all_synced(const informer *inf);

/* Commit queued events now (normally done by the loop-turn watcher). */
int informer_flush(informer *inf);

typedef struct informer_stats {
    uint64_t lists;   /* LIST requests (pages) issued */
    uint64_t relists; /* full relists after 410 or errors */
    uint64_t watches; /* WATCH requests issued */
    uint64_t events;  /* watch events applied (ADDED/MODIFIED/DELETED) */
    uint64_t bookmarks;
    uint64_t bad_events; /* skipped: no name/namespace, not an object */
    uint64_t commits;    /* store write txns */
    uint64_t gone;       /* 410s seen */
    uint64_t errors;     /* failed lists/watches (before backoff) */
} informer_stats;
void informer_get_stats(const informer *inf, informer_stats *out);

/* The resource behind a store kind (KUBE_PODS for STORE_POD ...). */
const kube_resource *informer_resource(enum store_kind kind);

#define INFORMER_NAMEHASH_LABEL "agents.x-k8s.io/sandbox-name-hash"

#endif
