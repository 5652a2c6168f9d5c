/* manager_internal.h - the manager's state, shared by manager.c (wiring,
 * passes, shutdown) and manager_metrics.c (the agent_sandboxes collector and
 * the creation latency). Not for other modules. */
#ifndef ASC_CONTROLLER_MANAGER_INTERNAL_H
#define ASC_CONTROLLER_MANAGER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "controller/dispatch.h"
#include "controller/ext.h"
#include "controller/manager.h"
#include "controller/recall.h"
#include "informer/informer.h"
#include "reconciler/sandbox_view.h"
#include "reconciler/shard.h"
#include "store/store.h"

struct ctl_manager;
typedef int (*ctl_kind_process_fn)(struct ctl_manager *m, int shard, const char *ns,
                                   const char *name, const rec_outcome *oc, size_t n,
                                   rec_result *out);

typedef struct ctl_kind_ops {
    const char *prefix; /* key prefix, e.g. "sandbox" */
    ctl_kind_process_fn process;
} ctl_kind_ops;

struct ctl_manager {
    struct ev_loop *loop;
    kube_client *kc;
    const ctl_flags *flags;
    ctl_agent_metrics *metrics;
    store *st;
    rec_shard_set *shards;
    ctl_dispatch *disp; /* NULL once detached */
    informer *inf;
    rec_sandbox_opts sbx_opts;
    ctl_ext *ext;        /* --extensions: claims, pools, templates (controller/ext.h); else NULL */
    ctl_recall **recall; /* one per shard, used by that shard's worker only */
    int n_recall;
    int started, stopped, synced; /* I/O thread */
    atomic_int ready, stopping;
    pthread_mutex_t store_mu; /* the metrics collector vs store_close */
    int store_closed;
};

/* Worker thread, after a Sandbox pass: observe agent_sandbox_creation_latency_ms
 * when the pass's status patch turns Ready True. */
void ctl__observe_creation(ctl_manager *m, const char *ns, const char *name, const rec_outcome *oc,
                           size_t n, const rec_result *out);

#endif
