/* reflector.c - one resource's LIST/WATCH loop.
 *
 * States (enum informer__state):
 *
 *   IDLE --start--> (stored rv for this selector mode?) --yes--> WATCHING from it (synced at once)
 *                                                       --no---> LISTING
 *   LISTING: pages of `limit` items with `continue`, all at one resourceVersion.
 *       Every item is queued as a put and its key remembered. After the last
 *       page: commit, then delete from the store every object of this kind
 *       the LIST did not return (so objects deleted while we were away, or
 *       during a 410 gap, leave with a DELETED change), record the list's
 *       resourceVersion in the same txn as those deletes, mark synced, WATCH.
 *       Error: BACKOFF, then LIST again from the first page (410 on a stale
 *       continue token included).
 *   WATCHING from rv, allowWatchBookmarks=true, timeoutSeconds jittered:
 *       ADDED/MODIFIED -> put, DELETED -> delete, BOOKMARK -> only the rv moves;
 *       every event's resourceVersion becomes the rv recorded with the next
 *       commit (one per loop turn, batch.c).
 *       Clean end (server timeout) -> WATCH again from rv at once (after a
 *       backoff if the stream lived under a second).
 *       410 Gone (ERROR event with code 410, or HTTP 410) -> LISTING (relist).
 *       Other failure -> BACKOFF -> WATCH again from rv.
 *   BACKOFF: a timer of min(max, min * 2^attempts) ms, jittered to [d/2, d];
 *       attempts resets after a successful LIST or a watch that delivered.
 *
 * The stored rv is prefixed with the selector mode ("L|" when Pods/Services
 * are label-selected), so a restart with another --cache-label-selectors
 * value relists instead of resuming a watch over a different set.
 */
#include "informer/internal.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELECTED_PREFIX "L|"

static int
selected(const informer__reflector *r)
{
    return r->inf->o.cache_label_selectors && (r->kind == STORE_POD || r->kind == STORE_SERVICE);
}

void
informer__rv_encode(const informer__reflector *r, const char *rv, char *out, size_t len)
{
    snprintf(out, len, "%s%s", selected(r) ? SELECTED_PREFIX : "", rv);
}

int
informer__rv_decode(const informer__reflector *r, const char *stored, char *out, size_t len)
{
    size_t pl = strlen(SELECTED_PREFIX);
    int has = strncmp(stored, SELECTED_PREFIX, pl) == 0;
    if (has != selected(r)) return ERR_NOTFOUND;
    if (has) stored += pl;
    if (!*stored || strlen(stored) >= len) return ERR_NOTFOUND;
    memcpy(out, stored, strlen(stored) + 1);
    return 0;
}

static void list_page(informer__reflector *r);
static void watch_start(informer__reflector *r);

static void
schedule(informer__reflector *r, int ms)
{
    ev_timer_stop(r->inf->loop, &r->timer);
    ev_timer_set(&r->timer, ms / 1000.0, 0.);
    ev_timer_start(r->inf->loop, &r->timer);
    r->state = REFL_BACKOFF;
}

static void
backoff(informer__reflector *r)
{
    int ms = informer__backoff_ms(r->inf, &r->rng, r->attempts);
    if (r->attempts < 30) r->attempts++;
    schedule(r, ms);
}

static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    informer__reflector *r = t->data;
    (void)loop;
    (void)revents;
    if (r->inf->stopped) return;
    if (r->watch) {
        /* A stream abandoned from inside its own callback is stopped here. */
        void *w = r->watch;
        r->watch = NULL;
        r->inf->t.watch_stop(r->inf->t.ctx, w);
    }
    if (r->relist)
        list_page(r);
    else
        watch_start(r);
}

void
informer__refl_init(informer__reflector *r, informer *inf, enum store_kind kind)
{
    memset(r, 0, sizeof *r);
    r->inf = inf;
    r->kind = kind;
    r->res = informer_resource(kind);
    r->rng = 0x9e3779b9u * (unsigned)(kind + 1) ^ (unsigned)(uintptr_t)inf;
    informer__keyset_init(&r->seen);
    ev_timer_init(&r->timer, on_timer, 0., 0.);
    r->timer.data = r;
}

void
informer__refl_fini(informer__reflector *r)
{
    informer__keyset_fini(&r->seen);
}

/* ---- objects from the wire ---------------------------------------------- */

/* The object's key, or NULL (logged, counted) when it cannot be stored. */
static int
usable(informer__reflector *r, json_object *obj, const char *what, const char **ns,
       const char **name)
{
    *ns = jx_str(obj, "metadata.namespace");
    *name = jx_str(obj, "metadata.name");
    if (!json_object_is_type(obj, json_type_object) || !*ns || !**ns || !*name || !**name ||
        strlen(*ns) > STORE_MAX_NAME || strlen(*name) > STORE_MAX_NAME) {
        r->inf->stats.bad_events++;
        LOG_W("informer", "skipping an object without a usable name/namespace",
              "resource=%s "
              "from=%s ns=%s name=%s",
              r->res->plural, what, *ns, *name);
        return 0;
    }
    return 1;
}

static void
unencodable(informer__reflector *r, const char *ns, const char *name)
{
    r->inf->stats.bad_events++;
    LOG_W("informer", "skipping an object the cache cannot encode (nested too deeply?)",
          "resource=%s ns=%s name=%s", r->res->plural, ns, name);
}

static void take_rv(informer__reflector *r, json_object *obj);

/* ---- LIST ---------------------------------------------------------------- */

static void list_finish(informer__reflector *r);

static void
on_list(const kube_result *res, void *udata)
{
    informer__reflector *r = udata;
    informer *inf = r->inf;
    json_object *items, *body = res->body;
    const char *cont;

    if (informer__req_end(inf)) return;
    if (inf->stopped || r->state != REFL_LISTING) return;
    if (res->err) {
        inf->stats.errors++;
        if (res->err == ERR_GONE) inf->stats.gone++;
        LOG_W("informer", "list failed", "resource=%s err=%s status=%ld message=%s", r->res->plural,
              err_str(res->err), res->http_status, res->message);
        r->cont[0] = 0; /* a continue token may have expired: start over */
        informer__keyset_fini(&r->seen);
        backoff(r);
        return;
    }
    items = jx_arr(body, "items");
    if (!json_object_is_type(body, json_type_object) || !items) {
        inf->stats.errors++;
        LOG_W("informer", "list answer without items", "resource=%s", r->res->plural);
        r->cont[0] = 0;
        informer__keyset_fini(&r->seen);
        backoff(r);
        return;
    }
    if (!r->cont[0]) {
        const char *lrv = jx_str(body, "metadata.resourceVersion");
        snprintf(r->list_rv, sizeof r->list_rv, "%s", lrv ? lrv : "");
    }
    for (size_t i = 0, n = json_object_array_length(items); i < n; i++) {
        json_object *it = json_object_array_get_idx(items, i);
        const char *ns, *name;
        if (!usable(r, it, "list", &ns, &name)) continue;
        int rc = informer__queue_put(inf, r->kind, it);
        if (rc == ERR_INVALID) {
            /* Not remembered as seen: an older stored copy goes with the sweep. */
            unencodable(r, ns, name);
            continue;
        }
        if (rc || informer__keyset_add(&r->seen, ns, name)) {
            LOG_E("informer", "out of memory during list", "resource=%s", r->res->plural);
            r->cont[0] = 0;
            informer__keyset_fini(&r->seen);
            backoff(r);
            return;
        }
    }
    cont = jx_str(body, "metadata.continue");
    if (cont && *cont) {
        if (strlen(cont) >= sizeof r->cont) {
            LOG_W("informer", "continue token too long: listing without pages", "resource=%s",
                  r->res->plural);
            r->cont[0] = 0;
            informer__keyset_fini(&r->seen);
            backoff(r);
            return;
        }
        memcpy(r->cont, cont, strlen(cont) + 1);
        list_page(r);
        return;
    }
    list_finish(r);
}

typedef struct sweep_ctx {
    informer__reflector *r;
    char **keys; /* ns\0name\0 of objects the LIST did not return */
    size_t n, cap;
    int oom;
} sweep_ctx;

static int
sweep_cb(const store_item *it, void *udata)
{
    sweep_ctx *c = udata;
    if (informer__keyset_has(&c->r->seen, it->ns, it->name)) return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        char **k = realloc(c->keys, cap * sizeof *k);
        if (!k) {
            c->oom = 1;
            return 1;
        }
        c->keys = k;
        c->cap = cap;
    }
    size_t nsl = strlen(it->ns), nl = strlen(it->name);
    char *k = malloc(nsl + nl + 2);
    if (!k) {
        c->oom = 1;
        return 1;
    }
    memcpy(k, it->ns, nsl + 1);
    memcpy(k + nsl + 1, it->name, nl + 1);
    c->keys[c->n++] = k;
    return 0;
}

/* After the last page: commit the puts, delete what vanished, record the
 * list's rv with those deletes, then watch. */
static void
list_finish(informer__reflector *r)
{
    informer *inf = r->inf;
    sweep_ctx c = {r, NULL, 0, 0, 0};
    store_rtxn *rt;
    int rc = informer_flush(inf);

    if (!rc && r->damaged) rc = ERR_IO; /* some of its items never reached the store */
    if (!rc) rc = store_rtxn_begin(inf->st, &rt);
    if (!rc) {
        rc = store_list(rt, r->kind, NULL, sweep_cb, &c);
        store_rtxn_end(rt);
        if (c.oom) rc = ERR_NOMEM;
    }
    for (size_t i = 0; i < c.n; i++) {
        if (!rc)
            rc = informer__queue_del(inf, r->kind, c.keys[i], c.keys[i] + strlen(c.keys[i]) + 1);
        free(c.keys[i]);
    }
    free(c.keys);
    informer__keyset_fini(&r->seen);
    if (rc) {
        LOG_E("informer", "cannot apply the list to the cache", "resource=%s err=%s",
              r->res->plural, err_str(rc));
        backoff(r);
        return;
    }
    if (c.n)
        LOG_I("informer", "relist removed vanished objects", "resource=%s count=%zu",
              r->res->plural, c.n);
    snprintf(r->rv, sizeof r->rv, "%s", r->list_rv);
    r->rv_dirty = 1;
    rc = informer_flush(inf);
    if (rc) {
        backoff(r);
        return;
    }
    r->attempts = 0;
    r->relist = 0;
    if (!r->synced) {
        r->synced = 1;
        LOG_I("informer", "synced", "resource=%s rv=%s", r->res->plural, r->rv);
        informer__check_synced(inf);
        if (inf->stopped) return;
    }
    watch_start(r);
}

static void
list_page(informer__reflector *r)
{
    informer *inf = r->inf;
    kube_list_opts o;
    int rc;

    memset(&o, 0, sizeof o);
    o.limit = inf->o.page_size;
    o.continue_token = r->cont[0] ? r->cont : NULL;
    if (selected(r)) o.label_selector = INFORMER_NAMEHASH_LABEL;
    if (!r->cont[0]) {
        if (r->synced || r->rv[0]) inf->stats.relists++;
        informer__keyset_fini(&r->seen);
        r->damaged = 0;
    }
    r->state = REFL_LISTING;
    r->relist = 1;
    inf->stats.lists++;
    informer__req_begin(inf);
    rc = inf->t.list(inf->t.ctx, r->res, &o, on_list, r);
    if (rc) {
        informer__req_end(inf);
        inf->stats.errors++;
        LOG_W("informer", "cannot start list", "resource=%s err=%s", r->res->plural, err_str(rc));
        r->cont[0] = 0;
        backoff(r);
    }
}

/* ---- WATCH --------------------------------------------------------------- */

static void
take_rv_str(informer__reflector *r, const char *rv, size_t n)
{
    if (!rv || !n || n >= sizeof r->rv - 2) return;
    if (strlen(r->rv) != n || memcmp(rv, r->rv, n) != 0) {
        memcpy(r->rv, rv, n);
        r->rv[n] = 0;
        r->rv_dirty = 1;
    }
}

static void
take_rv(informer__reflector *r, json_object *obj)
{
    const char *rv = jx_str(obj, "metadata.resourceVersion");
    take_rv_str(r, rv, rv ? strlen(rv) : 0);
}

/* Queue an ADDED/MODIFIED (obj, or its encoding enc when obj is NULL: taken)
 * or a DELETED of a usable key. Returns 0, or 1 when the event is lost and a
 * relist was scheduled. */
static int
queue_event(informer__reflector *r, enum kube_event_type type, const char *ns, const char *name,
            json_object *obj, char *enc, size_t enclen)
{
    informer *inf = r->inf;
    int rc;
    if (type == KUBE_DELETED) {
        free(enc);
        rc = informer__queue_del(inf, r->kind, ns, name);
    } else if (obj) {
        rc = informer__queue_put(inf, r->kind, obj);
    } else {
        rc = informer__queue_put_encoded(inf, r->kind, enc, enclen);
    }
    if (rc == ERR_INVALID) {
        /* Cannot be stored: forget any older copy so nothing stale stays. */
        unencodable(r, ns, name);
        rc = informer__queue_del(inf, r->kind, ns, name);
        if (!rc) return -1;
    }
    if (rc) {
        /* The event is lost: ignore the rest of this stream (its rv must
         * not be recorded past the gap) and relist at once. */
        LOG_E("informer", "out of memory queueing an event: relisting", "resource=%s",
              r->res->plural);
        r->relist = 1;
        schedule(r, 0);
        return 1;
    }
    inf->stats.events++;
    r->attempts = 0;
    return 0;
}

void
informer__refl_event(informer__reflector *r, enum kube_event_type type, json_object *obj)
{
    informer *inf = r->inf;
    const char *ns, *name;
    switch (type) {
    case KUBE_ADDED:
    case KUBE_MODIFIED:
    case KUBE_DELETED:
        if (!usable(r, obj, "watch", &ns, &name)) {
            take_rv(r, obj); /* the stream did move past it */
            return;
        }
        if (queue_event(r, type, ns, name, obj, NULL, 0) <= 0) take_rv(r, obj);
        return;
    case KUBE_BOOKMARK:
        inf->stats.bookmarks++;
        take_rv(r, obj);
        return;
    case KUBE_ERROR: {
        long code = (long)jx_int(obj, "code", 0);
        if (code == 410) {
            r->relist = 1;
            return;
        }
        LOG_W("informer", "watch error event", "resource=%s code=%ld message=%s", r->res->plural,
              code, jx_str(obj, "message"));
        return;
    }
    }
}

int
informer__refl_raw_event(enum kube_event_type type, const char *text, size_t len, void *udata)
{
    informer__reflector *r = udata;
    store_json_meta m;
    char *enc, ns[STORE_MAX_NAME + 1], name[STORE_MAX_NAME + 1];
    size_t enclen;
    if (r->inf->stopped || r->state != REFL_WATCHING) return 0; /* what on_event does */
    /* Anything unusual (unusable key, unencodable, not strict JSON) takes
     * the json-c path, which logs and counts it as before. */
    if (store_encode_json(r->kind, text, len, &enc, &enclen, &m)) return -1;
    if (!m.ns || !m.name || !m.ns_len || !m.name_len || m.ns_len > STORE_MAX_NAME ||
        m.name_len > STORE_MAX_NAME) {
        free(enc);
        return -1;
    }
    memcpy(ns, m.ns, m.ns_len);
    ns[m.ns_len] = 0;
    memcpy(name, m.name, m.name_len);
    name[m.name_len] = 0;
    /* m's slices point into text, which outlives this call */
    if (queue_event(r, type, ns, name, NULL, enc, enclen) <= 0) take_rv_str(r, m.rv, m.rv_len);
    return 0;
}

static void
on_event(enum kube_event_type type, json_object *obj, void *udata)
{
    informer__reflector *r = udata;
    if (r->inf->stopped || r->state != REFL_WATCHING) return;
    informer__refl_event(r, type, obj);
}

static void
on_watch_end(int err, long http_status, const char *message, void *udata)
{
    informer__reflector *r = udata;
    informer *inf = r->inf;
    int gone = err == ERR_GONE || http_status == 410 || r->relist;
    double lived = ev_now(inf->loop) - r->watch_started;

    r->watch = NULL;
    if (err == ERR_CANCELED || inf->stopped) {
        if (r->state == REFL_WATCHING) r->state = REFL_IDLE;
        return;
    }
    if (r->state != REFL_WATCHING) return; /* a timer already owns the next step */
    if (gone) {
        inf->stats.gone++;
        LOG_I("informer", "watch expired (410 Gone): relisting", "resource=%s rv=%s",
              r->res->plural, r->rv);
        r->relist = 1;
        r->cont[0] = 0;
        /* Commit what this stream delivered before the relist compares. */
        list_page(r);
        return;
    }
    if (err) {
        inf->stats.errors++;
        LOG_W("informer", "watch failed", "resource=%s err=%s status=%ld message=%s rv=%s",
              r->res->plural, err_str(err), http_status, message, r->rv);
        backoff(r);
        return;
    }
    if (lived < 1.0) {
        backoff(r);
        return;
    }
    watch_start(r);
}

static void
watch_start(informer__reflector *r)
{
    informer *inf = r->inf;
    kube_list_opts o;

    if (!r->rv[0]) {
        r->relist = 1;
        list_page(r);
        return;
    }
    memset(&o, 0, sizeof o);
    o.resource_version = r->rv;
    o.allow_bookmarks = 1;
    o.timeout_seconds =
        inf->o.watch_timeout_s ? inf->o.watch_timeout_s : 300 + (int)(rand_r(&r->rng) % 300);
    if (selected(r)) o.label_selector = INFORMER_NAMEHASH_LABEL;
    r->state = REFL_WATCHING;
    r->relist = 0;
    r->watch_started = ev_now(inf->loop);
    inf->stats.watches++;
    r->watch = inf->t.watch_start(inf->t.ctx, r->res, &o, on_event, on_watch_end, r);
    if (!r->watch && r->state == REFL_WATCHING) {
        inf->stats.errors++;
        LOG_W("informer", "cannot start watch", "resource=%s", r->res->plural);
        backoff(r);
    }
}

/* ---- start / stop --------------------------------------------------------- */

void
informer__refl_start(informer__reflector *r)
{
    informer *inf = r->inf;
    store_rtxn *rt;
    char stored[STORE_MAX_RV + 1];
    int rc = store_rtxn_begin(inf->st, &rt);

    if (!rc) {
        rc = store_get_rv(rt, r->kind, stored, sizeof stored);
        store_rtxn_end(rt);
    }
    if (!rc) rc = informer__rv_decode(r, stored, r->rv, sizeof r->rv);
    if (rc) {
        r->rv[0] = 0;
        r->relist = 1;
        list_page(r);
        return;
    }
    /* Warm: the store holds a consistent state as of rv; the watch brings
     * what changed since (or 410 -> relist). */
    LOG_I("informer", "resuming from the cache", "resource=%s rv=%s", r->res->plural, r->rv);
    r->synced = 1;
    informer__check_synced(inf);
    if (!inf->stopped) watch_start(r);
}

void
informer__refl_stop(informer__reflector *r)
{
    informer *inf = r->inf;
    ev_timer_stop(inf->loop, &r->timer);
    if (r->watch) {
        void *w = r->watch;
        r->watch = NULL;
        inf->t.watch_stop(inf->t.ctx, w);
    }
    r->state = REFL_IDLE;
}
