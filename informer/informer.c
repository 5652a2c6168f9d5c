/* informer.c - the set of reflectors: identity check, start/stop, the
 * synced barrier, the loop-turn commit watcher and deferred freeing.
 *
 * Start: GET customresourcedefinitions/sandboxes.agents.x-k8s.io. Its uid and
 * the server URL go to store_check_identity (a cache of another cluster is
 * discarded). A transport-level failure (no answer, 5xx, 429, timeout) is
 * retried with backoff, because reflectors must not resume from a cache
 * nobody has vouched for; any other answer (404, 403) discards the cache and
 * starts cold. Then every selected reflector starts.
 *
 * Lifetime: LIST and GET requests cannot be cancelled one by one, so each
 * holds the informer (inflight); informer_free on a busy informer only
 * marks it dead and the last callback frees it.
 */
#include "informer/internal.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CRD_NAME "sandboxes.agents.x-k8s.io"

static const kube_resource res_table[STORE_KIND_COUNT] = {
    [STORE_SANDBOX] = {"agents.x-k8s.io", "v1beta1", "sandboxes", "Sandbox", 1},
    [STORE_CLAIM] = {"extensions.agents.x-k8s.io", "v1beta1", "sandboxclaims", "SandboxClaim", 1},
    [STORE_POOL] = {"extensions.agents.x-k8s.io", "v1beta1", "sandboxwarmpools", "SandboxWarmPool",
                    1},
    [STORE_TEMPLATE] = {"extensions.agents.x-k8s.io", "v1beta1", "sandboxtemplates",
                        "SandboxTemplate", 1},
    [STORE_POD] = {"", "v1", "pods", "Pod", 1},
    [STORE_SERVICE] = {"", "v1", "services", "Service", 1},
    [STORE_PVC] = {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", 1},
    [STORE_NETPOL] = {"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", 1},
};
static const kube_resource res_crd = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                      "CustomResourceDefinition", 0};

const kube_resource *
informer_resource(enum store_kind kind)
{
    return (unsigned)kind < STORE_KIND_COUNT ? &res_table[kind] : &res_crd;
}

static int
running(const informer *inf, int k)
{
    return (inf->o.kinds & (1u << k)) != 0;
}

int
informer__backoff_ms(informer *inf, unsigned *rng, unsigned attempts)
{
    long d = inf->o.backoff_min_ms;
    for (unsigned i = 0; i < attempts && d < inf->o.backoff_max_ms; i++)
        d *= 2;
    if (d > inf->o.backoff_max_ms) d = inf->o.backoff_max_ms;
    /* Jitter to [d/2, d]: many reflectors failing together spread out. */
    return (int)(d / 2 + (long)(rand_r(rng) % (unsigned)(d / 2 + 1)));
}

static void
on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    informer *inf = w->data;
    (void)loop;
    (void)revents;
    informer_flush(inf);
}

informer *
informer_new_transport(struct ev_loop *loop, const informer_transport *t, store *st,
                       const informer_opts *o)
{
    informer *inf = calloc(1, sizeof *inf);
    if (!inf) return NULL;
    inf->loop = loop;
    inf->t = *t;
    inf->st = st;
    if (o) inf->o = *o;
    if (!inf->o.kinds) inf->o.kinds = (1u << STORE_KIND_COUNT) - 1;
    if (inf->o.page_size <= 0) inf->o.page_size = 500;
    if (inf->o.backoff_min_ms <= 0) inf->o.backoff_min_ms = 200;
    if (inf->o.backoff_max_ms <= 0) inf->o.backoff_max_ms = 30000;
    if (inf->o.backoff_max_ms < inf->o.backoff_min_ms)
        inf->o.backoff_max_ms = inf->o.backoff_min_ms;
    if (inf->o.max_batch <= 0) inf->o.max_batch = 10000;
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        informer__refl_init(&inf->refl[k], inf, k);
    ev_prepare_init(&inf->prepare, on_prepare);
    inf->prepare.data = inf;
    ev_timer_init(&inf->ident_timer, NULL, 0., 0.);
    return inf;
}

void
informer_on_synced(informer *inf, informer_synced_cb cb, void *udata)
{
    inf->synced_cb = cb;
    inf->synced_udata = udata;
}

int
informer_synced(const informer *inf, enum store_kind kind)
{
    return (unsigned)kind < STORE_KIND_COUNT && inf->refl[kind].synced;
}

int
informer_all_synced(const informer *inf)
{
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        if (running(inf, k) && !inf->refl[k].synced) return 0;
    return inf->started;
}

void
informer__check_synced(informer *inf)
{
    if (inf->synced_fired || !informer_all_synced(inf)) return;
    inf->synced_fired = 1;
    LOG_I("informer", "all resources synced", "lists=%llu watches=%llu",
          (unsigned long long)inf->stats.lists, (unsigned long long)inf->stats.watches);
    if (inf->synced_cb) inf->synced_cb(inf, inf->synced_udata);
}

static void
start_reflectors(informer *inf)
{
    for (int k = 0; k < STORE_KIND_COUNT && !inf->stopped; k++)
        if (running(inf, k)) informer__refl_start(&inf->refl[k]);
}

/* ---- identity -------------------------------------------------------------- */

static void ident_get(informer *inf);

static void
on_ident_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    ident_get(t->data);
}

static int
transient(int err)
{
    return err == ERR_IO || err == ERR_TIMEOUT || err == ERR_UNAVAILABLE || err == ERR_TOOMANY ||
           err == ERR_TLS || err == ERR_NOMEM;
}

static void
on_ident(const kube_result *res, void *udata)
{
    informer *inf = udata;
    const char *uid = NULL;
    const char *server;
    int rc, discarded = 0;

    if (informer__req_end(inf) || inf->stopped) return;
    if (!res->err) uid = jx_str(res->body, "metadata.uid");
    if (res->err && transient(res->err)) {
        unsigned rng = (unsigned)time(NULL);
        int ms = informer__backoff_ms(inf, &rng, inf->ident_attempts++);
        LOG_W("informer", "cannot read the Sandbox CRD yet: retrying", "err=%s message=%s",
              err_str(res->err), res->message);
        ev_timer_init(&inf->ident_timer, on_ident_timer, ms / 1000.0, 0.);
        inf->ident_timer.data = inf;
        ev_timer_start(inf->loop, &inf->ident_timer);
        return;
    }
    server = inf->t.server ? inf->t.server(inf->t.ctx) : NULL;
    if (!uid || !*uid || !server || !*server) {
        LOG_W("informer", "cluster identity unknown: discarding the cache",
              "crd=%s err=%s message=%s", CRD_NAME, err_str(res->err ? res->err : ERR_INVALID),
              res->message);
        rc = store_reset(inf->st);
    } else {
        rc = store_check_identity(inf->st, server, uid, &discarded);
        if (!rc && !discarded) LOG_I("informer", "cache belongs to this cluster", "uid=%s", uid);
    }
    if (rc) LOG_E("informer", "cannot reset the cache", "err=%s", err_str(rc));
    start_reflectors(inf);
}

static void
ident_get(informer *inf)
{
    int rc;
    informer__req_begin(inf);
    rc = inf->t.get(inf->t.ctx, &res_crd, NULL, CRD_NAME, on_ident, inf);
    if (rc) {
        kube_result res;
        informer__req_end(inf);
        memset(&res, 0, sizeof res);
        res.err = ERR_IO;
        res.message = "request not queued";
        informer__req_begin(inf);
        on_ident(&res, inf);
    }
}

int
informer_start(informer *inf)
{
    if (inf->started || inf->stopped) return ERR_INVALID;
    inf->started = 1;
    ev_prepare_start(inf->loop, &inf->prepare);
    /* The prepare watcher must not keep the loop alive by itself. */
    ev_unref(inf->loop);
    if (inf->o.skip_identity)
        start_reflectors(inf);
    else
        ident_get(inf);
    return 0;
}

void
informer_stop(informer *inf)
{
    if (inf->stopped) return;
    inf->stopped = 1;
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        informer__refl_stop(&inf->refl[k]);
    ev_timer_stop(inf->loop, &inf->ident_timer);
    informer_flush(inf);
    if (inf->started && ev_is_active(&inf->prepare)) {
        ev_ref(inf->loop);
        ev_prepare_stop(inf->loop, &inf->prepare);
    }
}

static void
destroy(informer *inf)
{
    informer__batch *b = &inf->batch;
    for (size_t i = 0; i < b->n; i++)
        free(b->items[i].buf);
    free(b->items);
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        informer__refl_fini(&inf->refl[k]);
    free(inf);
}

void
informer_free(informer *inf)
{
    if (!inf) return;
    informer_stop(inf);
    inf->dead = 1;
    if (inf->inflight == 0) destroy(inf);
}

void
informer__req_begin(informer *inf)
{
    inf->inflight++;
}

int
informer__req_end(informer *inf)
{
    inf->inflight--;
    if (inf->dead && inf->inflight == 0) {
        destroy(inf);
        return 1;
    }
    return inf->dead;
}

void
informer_get_stats(const informer *inf, informer_stats *out)
{
    *out = inf->stats;
}
