/* manager.c - the store, the informers, the shards and the write dispatcher
 * wired together (the design is in manager.h).
 *
 * Kinds plug in through kind_table: a key "<kind>/<ns>/<name>" is passed to
 * the entry whose prefix is <kind>. The Sandbox controller always; with
 * --extensions the claim/pool/template controllers of controller/ext.h
 * (their informer kinds, routes and per-shard state too).
 *
 * The change feed is ignored until every informer has synced: a pass that
 * ran on a half-listed cache would create children that already exist.
 * The synced callback then queues every stored Sandbox once, which covers
 * whatever the feed skipped. */
#include "controller/manager.h"
#include "controller/manager_internal.h"

#include "controller/dispatch.h"
#include "controller/recall.h"
#include "controller/routes.h"
#include "core/err.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "informer/informer.h"
#include "reconciler/sandbox_view.h"
#include "reconciler/shard.h"
#include "store/store.h"

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Without --sandbox-write-behind-window on the command line, a launch's
 * transitional status (pod created, not Ready yet) is held this long, so a
 * launch costs pod create + service create + pod-name annotation + one
 * status patch (reconciler/sandbox.h, status_settle_ms). An explicit
 * --sandbox-write-behind-window=0 gives upstream's write-every-change. */
#define CTL_DEFAULT_SETTLE_MS 1000
#define CTL_DRAIN_MS          1000 /* shutdown: how long handed-over writes may take */

/* ---- worker side ------------------------------------------------------------- */

static int
process_sandbox(ctl_manager *m, int shard, const char *ns, const char *name, const rec_outcome *oc,
                size_t n, rec_result *out)
{
    int64_t now = time_now_ms();
    if (shard >= 0 && shard < m->n_recall) {
        char key[CTL_KEY_MAX];
        if (ctl_route_key(key, sizeof key, "sandbox", ns, name))
            ctl_recall_outcomes(m->recall[shard], m->st, key, ns, oc, n, now, &oc, &n);
    }
    int rc = rec_sandbox_run(m->st, ns, name, oc, n, &m->sbx_opts, now, out);
    if (rc == 0) ctl__observe_creation(m, ns, name, oc, n, out);
    return rc;
}

static const ctl_kind_ops kind_table[] = {
    {"sandbox", process_sandbox},
    /* --extensions (controller/ext.h) */
    {"claim", ctl_ext_process_claim},
    {"pool", ctl_ext_process_pool},
    {"poolmember", ctl_ext_process_poolmember}, /* feeds the shard's pools/ set */
    {"template", ctl_ext_process_template},
};

/* Split "<kind>/<ns>/<name>" in place into buffers. */
static int
key_split(const char *key, char *kind, size_t kl, char *ns, size_t nl, char *name, size_t ml)
{
    const char *a = strchr(key, '/');
    const char *b = a ? strchr(a + 1, '/') : NULL;
    if (!a || !b || a == key || b == a + 1 || !b[1] || strchr(b + 1, '/')) return ERR_INVALID;
    if ((size_t)(a - key) >= kl || (size_t)(b - a - 1) >= nl || strlen(b + 1) >= ml)
        return ERR_INVALID;
    memcpy(kind, key, (size_t)(a - key));
    kind[a - key] = '\0';
    memcpy(ns, a + 1, (size_t)(b - a - 1));
    ns[b - a - 1] = '\0';
    strcpy(name, b + 1);
    return 0;
}

/* json-c reference counts are not atomic, and a write body may share
 * sub-objects (template volumes, ownerReferences) with objects this worker
 * still holds (the store view is gone, but recalled and parked outcomes are
 * not). Give the I/O thread bodies that share nothing. */
static void
own_bodies(rec_result *out)
{
    for (size_t i = 0; i < out->n_writes; i++) {
        json_object *b = out->writes[i].body, *copy = NULL;
        if (b == NULL) continue;
        if (json_object_deep_copy(b, &copy, NULL) != 0) {
            out->error = ERR_NOMEM;
            snprintf(out->error_msg, sizeof out->error_msg, "out of memory");
            copy = NULL; /* the dispatcher refuses a NULL body: the pass is retried */
        }
        out->writes[i].body = copy;
        json_object_put(b);
    }
}

static void
on_process(void *udata, int shard, const char *key, const rec_outcome *oc, size_t n,
           rec_result *out)
{
    ctl_manager *m = udata;
    char kind[32], ns[STORE_MAX_NAME + 1], name[STORE_MAX_NAME + 1];
    if (key_split(key, kind, sizeof kind, ns, sizeof ns, name, sizeof name) != 0) {
        LOG_E("manager", "malformed key dropped", "key=%s", key);
        return;
    }
    for (size_t i = 0; i < sizeof kind_table / sizeof kind_table[0]; i++) {
        if (strcmp(kind_table[i].prefix, kind) != 0) continue;
        int rc = kind_table[i].process(m, shard, ns, name, oc, n, out);
        own_bodies(out);
        if (rc != 0) {
            out->error = rc;
            snprintf(out->error_msg, sizeof out->error_msg, "%s", err_str(rc));
            LOG_W("manager", "reconcile failed; retrying with backoff", "key=%s shard=%d err=%s",
                  key, shard, err_str(rc));
        }
        return;
    }
    LOG_E("manager", "no controller for key", "key=%s kind=%s", key, kind);
}

/* ---- I/O side -------------------------------------------------------------- */

static void
on_submit(void *udata, rec_ticket *t)
{
    ctl_manager *m = udata;
    if (m->disp) {
        ctl_dispatch_submit(m->disp, t);
        return;
    }
    rec_shards_complete(m->shards, t); /* shutting down: outcomes default to ERR_CANCELED */
}

typedef struct feed_ctx {
    ctl_manager *m;
    store_rtxn *r;
    int rtxn_failed;
} feed_ctx;

static int
feed_exists(void *udata, const char *ns, const char *name)
{
    feed_ctx *f = udata;
    store_item it;
    if (f->r == NULL && !f->rtxn_failed && store_rtxn_begin(f->m->st, &f->r) != 0)
        f->rtxn_failed = 1;
    if (f->r == NULL) return 0;
    return store_get_raw(f->r, STORE_SANDBOX, ns, name, &it) == 0;
}

static int
feed_emit(void *udata, const char *route, const char *key)
{
    feed_ctx *f = udata;
    int rc = rec_shards_add(f->m->shards, route, key);
    if (rc != 0) LOG_E("manager", "cannot queue a key", "key=%s err=%s", key, err_str(rc));
    return 0;
}

static void
on_feed(const store_change *changes, size_t n, void *udata)
{
    ctl_manager *m = udata;
    if (!m->synced || m->stopped) return;
    feed_ctx f = {m, NULL, 0};
    for (size_t i = 0; i < n; i++)
        ctl_route_change(&changes[i], feed_exists, &f, feed_emit, &f);
    store_rtxn_end(f.r);
    if (m->ext) ctl_ext_route_batch(m->ext, m->st, changes, n, feed_emit, &f);
}

static int
enqueue_sandbox(const store_item *it, void *udata)
{
    ctl_manager *m = udata;
    char key[CTL_KEY_MAX];
    if (ctl_route_key(key, sizeof key, "sandbox", it->ns, it->name))
        rec_shards_add(m->shards, NULL, key);
    return 0;
}

static void
on_synced(informer *inf, void *udata)
{
    ctl_manager *m = udata;
    (void)inf;
    if (m->stopped) return;
    m->synced = 1;
    store_rtxn *r = NULL;
    size_t n = 0;
    int rc = store_rtxn_begin(m->st, &r);
    if (rc == 0) {
        store_count(r, STORE_SANDBOX, &n);
        rc = store_list(r, STORE_SANDBOX, NULL, enqueue_sandbox, m);
        store_rtxn_end(r);
    }
    if (rc != 0)
        LOG_E("manager", "cannot list the cached Sandboxes for the first pass", "err=%s",
              err_str(rc));
    if (m->ext) {
        feed_ctx f = {m, NULL, 0};
        ctl_ext_synced(m->ext, m->st, feed_emit, &f);
    }
    atomic_store(&m->ready, 1);
    LOG_I("manager", "caches synced; reconciling", "sandboxes=%zu shards=%d", n,
          rec_shards_count(m->shards));
}

/* ---- public ------------------------------------------------------------------ */

ctl_manager *
ctl_manager_new(struct ev_loop *loop, kube_client *client, const ctl_flags *flags,
                ctl_agent_metrics *metrics, char *err, size_t errlen)
{
    ctl_manager *m = calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->loop = loop;
    m->kc = client;
    m->flags = flags;
    m->metrics = metrics;
    pthread_mutex_init(&m->store_mu, NULL);
    m->sbx_opts.cluster_domain = flags->cluster_domain;
    m->sbx_opts.status_settle_ms = ctl_flags_was_set(flags, "sandbox-write-behind-window")
                                       ? flags->sandbox_write_behind_window_ns / 1000000
                                       : CTL_DEFAULT_SETTLE_MS;
    char serr[256];
    if (store_open(flags->cache_dir, NULL, &m->st, serr, sizeof serr) != 0) {
        snprintf(err, errlen, "cannot open the cache in %s: %s", flags->cache_dir, serr);
        pthread_mutex_destroy(&m->store_mu);
        free(m);
        return NULL;
    }
    m->disp = ctl_dispatch_new(client);
    if (m->disp == NULL) {
        snprintf(err, errlen, "out of memory");
        ctl_manager_free(m);
        return NULL;
    }
    return m;
}

int
ctl_manager_start(ctl_manager *m)
{
    char err[256];
    if (m == NULL || m->started || m->stopped) return ERR_INVALID;
    m->started = 1;
    m->recall = calloc((size_t)m->flags->shards, sizeof *m->recall);
    if (m->recall == NULL) return ERR_NOMEM;
    for (int i = 0; i < m->flags->shards; i++)
        if ((m->recall[i] = ctl_recall_new()) == NULL) return ERR_NOMEM;
    m->n_recall = m->flags->shards;
    if (m->flags->extensions &&
        (m->ext = ctl_ext_new(m->flags, m->flags->shards, NULL, err, sizeof err)) == NULL)
        return ERR_NOMEM;
    rec_shard_opts so = {.shards = m->flags->shards,
                         .process = on_process,
                         .process_udata = m,
                         .submit = on_submit,
                         .submit_udata = m,
                         .loop = m->loop,
                         .priority = m->ext ? ctl_ext_key_priority : NULL,
                         .followup_delay = m->ext ? ctl_ext_followup_delay : NULL};
    m->shards = rec_shards_new(&so, err, sizeof err);
    if (m->shards == NULL) {
        LOG_E("manager", "cannot start the shard workers", "err=%s", err);
        return ERR_NOMEM;
    }
    ctl_dispatch_set_shards(m->disp, m->shards);
    store_set_feed(m->st, on_feed, m);
    informer_opts io = {.cache_label_selectors = m->flags->cache_label_selectors,
                        .kinds = 1u << STORE_SANDBOX | 1u << STORE_POD | 1u << STORE_SERVICE |
                                 1u << STORE_PVC};
    if (m->flags->extensions)
        io.kinds |=
            1u << STORE_CLAIM | 1u << STORE_POOL | 1u << STORE_TEMPLATE | 1u << STORE_NETPOL;
    m->inf = informer_new(m->loop, m->kc, m->st, &io);
    if (m->inf == NULL) {
        LOG_E("manager", "cannot create the informers", "err=%s", err_str(ERR_NOMEM));
        return ERR_NOMEM;
    }
    informer_on_synced(m->inf, on_synced, m);
    int rc = informer_start(m->inf);
    if (rc != 0) {
        LOG_E("manager", "cannot start the informers", "err=%s", err_str(rc));
        return rc;
    }
    LOG_I("manager", "started", "shards=%d cache_dir=%s cache_label_selectors=%d settle_ms=%lld",
          rec_shards_count(m->shards), store_path(m->st), m->flags->cache_label_selectors,
          (long long)m->sbx_opts.status_settle_ms);
    return 0;
}

static void
on_drain_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents; /* only wakes ev_run(EVRUN_ONCE) */
}

void
ctl_manager_stop(ctl_manager *m)
{
    if (m == NULL || m->stopped) return;
    m->stopped = 1;
    atomic_store(&m->stopping, 1);
    atomic_store(&m->ready, 0);
    if (m->inf) informer_stop(m->inf);
    if (m->shards) {
        rec_shards_stop(m->shards);
        /* Let writes already handed over go out while the loop still runs. */
        ev_timer tick;
        ev_timer_init(&tick, on_drain_tick, 0.02, 0.02);
        ev_timer_start(m->loop, &tick);
        int64_t t0 = time_mono_ms();
        rec_shard_stats st;
        for (;;) {
            rec_shards_stats(m->shards, &st);
            if ((st.in_io == 0 && ctl_dispatch_requests(m->disp) == 0) ||
                time_mono_ms() - t0 >= CTL_DRAIN_MS)
                break;
            ev_run(m->loop, EVRUN_ONCE);
        }
        ev_timer_stop(m->loop, &tick);
        if (st.in_io > 0)
            LOG_W("manager",
                  "shutdown: writes still in flight are dropped (the next start redoes "
                  "them)",
                  "tickets=%zu", st.in_io);
    }
    if (m->shards) {
        rec_shard_stats ss;
        ctl_dispatch_stats ds;
        rec_shards_stats(m->shards, &ss);
        ctl_dispatch_stats_get(m->disp, &ds);
        LOG_I("manager", "stopped",
              "passes=%llu failed_passes=%llu tickets=%llu writes=%llu failed_writes=%llu "
              "events=%llu failed_events=%llu",
              (unsigned long long)ss.passes, (unsigned long long)ss.failures,
              (unsigned long long)ss.tickets, (unsigned long long)ds.writes,
              (unsigned long long)ds.write_failures, (unsigned long long)ds.events,
              (unsigned long long)ds.event_failures);
    }
    ctl_dispatch_detach(m->disp);
    m->disp = NULL;
}

void
ctl_manager_free(ctl_manager *m)
{
    if (m == NULL) return;
    ctl_manager_stop(m);
    informer_free(m->inf);
    rec_shards_free(m->shards);
    ctl_ext_free(m->ext); /* after the workers were joined */
    for (int i = 0; m->recall && i < m->flags->shards; i++)
        ctl_recall_free(m->recall[i]);
    free(m->recall);
    pthread_mutex_lock(&m->store_mu);
    store_close(m->st);
    m->st = NULL;
    m->store_closed = 1;
    pthread_mutex_unlock(&m->store_mu);
    pthread_mutex_destroy(&m->store_mu);
    free(m);
}

int
ctl_manager_ready(const ctl_manager *m, char *why, size_t whylen)
{
    if (m == NULL) {
        snprintf(why, whylen, "controller: not started");
        return 0;
    }
    if (atomic_load(&m->stopping)) {
        snprintf(why, whylen, "controller: shutting down");
        return 0;
    }
    if (!atomic_load(&m->ready)) {
        snprintf(why, whylen, "informers: caches not synced yet");
        return 0;
    }
    return 1;
}
