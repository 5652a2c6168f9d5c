/* test_informer.c - informer/ against an in-process fake API server (a
 * transport that keeps objects, a history of events with resourceVersions,
 * a compaction point for 410 Gone, paginated snapshots and watches), so the
 * reflector's list, watch, resume, relist-difference and backoff logic is
 * exercised deterministically without HTTP. The same checks against kubesim
 * over HTTP live in test_informer_sim.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/jx.h"
#include "informer/internal.h" /* white-box: options of a running informer */

#include <dirent.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_) fail_msg("%s:%d: %s -> %d (%s)", __FILE__, __LINE__, #call, rc_, err_str(rc_));   \
    } while (0)

/* ---- the fake server -------------------------------------------------------- */

#define MAXOBJ  4096
#define MAXHIST 65536
#define MAXW    256

typedef struct fobj {
    int kind;
    char ns[64], name[64];
    json_object *obj;
} fobj;

typedef struct fevent {
    int kind, rv;
    enum kube_event_type type;
    json_object *obj;
} fevent;

typedef struct fwatch {
    struct fake *f;
    int kind, from, caught_up, active, gone, selector;
    kube_event_cb on_event;
    kube_watch_end_cb on_end;
    void *udata;
    ev_timer t;
} fwatch;

typedef struct fsnap {
    json_object *items[MAXOBJ];
    int n, rv;
} fsnap;

typedef struct freq {
    struct fake *f;
    kube_done_cb cb;
    void *udata;
    json_object *body;
    int err;
    long status;
    ev_timer t;
} freq;

typedef struct fake {
    struct ev_loop *loop;
    fobj objs[MAXOBJ];
    int nobj;
    fevent hist[MAXHIST];
    int nhist, rv, compacted;
    fwatch *w[MAXW];
    int nw;
    fsnap *snaps[64];
    int nsnap;
    int lists, watches, gets;
    int fail_lists;      /* answer the next N lists with 503 */
    int expire_continue; /* answer the next continued page with 410 (token expired) */
    const char *crd_uid, *server;
} fake;

static void
req_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    freq *q = t->data;
    kube_result res;
    (void)loop;
    (void)revents;
    memset(&res, 0, sizeof res);
    res.err = q->err;
    res.http_status = q->status;
    res.body = q->body;
    res.message = q->err ? "fake failure" : "";
    res.reason = "";
    q->cb(&res, q->udata);
    json_object_put(q->body);
    free(q);
}

static void
answer(fake *f, kube_done_cb cb, void *udata, int err, long status, json_object *body)
{
    freq *q = calloc(1, sizeof *q);
    q->f = f;
    q->cb = cb;
    q->udata = udata;
    q->err = err;
    q->status = status;
    q->body = body;
    ev_timer_init(&q->t, req_cb, 0.0005, 0.);
    q->t.data = q;
    ev_timer_start(f->loop, &q->t);
}

static int
kind_of(const kube_resource *r)
{
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        if (informer_resource(k) == r) return k;
    return -1;
}

static int
selected_obj(json_object *o)
{
    return jx_label(o, INFORMER_NAMEHASH_LABEL) != NULL;
}

static int
f_list(void *ctx, const kube_resource *r, const kube_list_opts *o, kube_done_cb cb, void *udata)
{
    fake *f = ctx;
    int k = kind_of(r), snap, off = 0;
    char buf[64];
    f->lists++;
    if (f->fail_lists > 0) {
        f->fail_lists--;
        answer(f, cb, udata, ERR_UNAVAILABLE, 503, NULL);
        return 0;
    }
    if (o->continue_token && f->expire_continue > 0) {
        f->expire_continue--;
        answer(f, cb, udata, ERR_GONE, 410, NULL);
        return 0;
    }
    if (o->continue_token) {
        if (sscanf(o->continue_token, "%d:%d", &snap, &off) != 2 || snap >= f->nsnap) {
            answer(f, cb, udata, ERR_BADREQUEST, 400, NULL);
            return 0;
        }
    } else {
        fsnap *s = calloc(1, sizeof *s);
        for (int i = 0; i < f->nobj; i++)
            if (f->objs[i].kind == k && (!o->label_selector || selected_obj(f->objs[i].obj)))
                s->items[s->n++] = json_object_get(f->objs[i].obj);
        s->rv = f->rv;
        snap = f->nsnap;
        f->snaps[f->nsnap++] = s;
    }
    fsnap *s = f->snaps[snap];
    json_object *body = json_object_new_object(), *items = json_object_new_array();
    json_object *md = json_object_new_object();
    int end = off + (int)o->limit;
    if (o->limit <= 0 || end > s->n) end = s->n;
    for (int i = off; i < end; i++)
        json_object_array_add(items, json_object_get(s->items[i]));
    snprintf(buf, sizeof buf, "%d", s->rv);
    json_object_object_add(md, "resourceVersion", json_object_new_string(buf));
    if (end < s->n) {
        snprintf(buf, sizeof buf, "%d:%d", snap, end);
        json_object_object_add(md, "continue", json_object_new_string(buf));
    }
    json_object_object_add(body, "metadata", md);
    json_object_object_add(body, "items", items);
    answer(f, cb, udata, 0, 200, body);
    return 0;
}

static void
end_watch(fwatch *w, int err)
{
    if (!w->active) return;
    w->active = 0;
    ev_timer_stop(w->f->loop, &w->t);
    w->on_end(err, err == ERR_GONE ? 200 : 0, "ended", w->udata);
}

static void
deliver(fwatch *w, const fevent *e)
{
    if (!w->active || e->kind != w->kind || e->rv <= w->from) return;
    w->from = e->rv;
    w->on_event(e->type, e->obj, w->udata);
}

static void
watch_catch_up(struct ev_loop *loop, ev_timer *t, int revents)
{
    fwatch *w = t->data;
    fake *f = w->f;
    (void)loop;
    (void)revents;
    if (!w->active) return;
    if (w->gone || w->from < f->compacted) {
        static const char gone[] = "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}";
        json_object *st = jx_parse(gone, strlen(gone), NULL);
        w->on_event(KUBE_ERROR, st, w->udata);
        json_object_put(st);
        end_watch(w, ERR_GONE);
        return;
    }
    for (int i = 0; i < f->nhist && w->active; i++)
        deliver(w, &f->hist[i]);
    w->caught_up = 1;
}

static void *
f_watch_start(void *ctx, const kube_resource *r, const kube_list_opts *o, kube_event_cb on_event,
              kube_watch_end_cb on_end, void *udata)
{
    fake *f = ctx;
    fwatch *w;
    if (f->nw == MAXW) return NULL;
    w = calloc(1, sizeof *w);
    w->f = f;
    w->kind = kind_of(r);
    w->from = o->resource_version ? atoi(o->resource_version) : 0;
    w->selector = o->label_selector != NULL;
    w->on_event = on_event;
    w->on_end = on_end;
    w->udata = udata;
    w->active = 1;
    assert_true(o->allow_bookmarks);
    ev_timer_init(&w->t, watch_catch_up, 0.0005, 0.);
    w->t.data = w;
    ev_timer_start(f->loop, &w->t);
    f->w[f->nw++] = w;
    f->watches++;
    return w;
}

static void
f_watch_stop(void *ctx, void *wp)
{
    (void)ctx;
    end_watch(wp, ERR_CANCELED);
}

static int
f_get(void *ctx, const kube_resource *r, const char *ns, const char *name, kube_done_cb cb,
      void *udata)
{
    fake *f = ctx;
    char buf[256];
    (void)r;
    (void)ns;
    f->gets++;
    assert_string_equal(name, "sandboxes.agents.x-k8s.io");
    if (!f->crd_uid) {
        answer(f, cb, udata, ERR_NOTFOUND, 404, NULL);
        return 0;
    }
    snprintf(buf, sizeof buf, "{\"metadata\":{\"name\":\"%s\",\"uid\":\"%s\"}}", name, f->crd_uid);
    answer(f, cb, udata, 0, 200, jx_parse(buf, strlen(buf), NULL));
    return 0;
}

static const char *
f_server(void *ctx)
{
    return ((fake *)ctx)->server;
}

static fobj *
find(fake *f, int kind, const char *ns, const char *name)
{
    for (int i = 0; i < f->nobj; i++)
        if (f->objs[i].kind == kind && !strcmp(f->objs[i].ns, ns) && !strcmp(f->objs[i].name, name))
            return &f->objs[i];
    return NULL;
}

static void
emit(fake *f, int kind, enum kube_event_type type, json_object *obj)
{
    assert_true(f->nhist < MAXHIST);
    fevent *e = &f->hist[f->nhist++];
    e->kind = kind;
    e->rv = f->rv;
    e->type = type;
    e->obj = json_object_get(obj);
    for (int i = 0; i < f->nw; i++) {
        fwatch *w = f->w[i];
        if (!w->caught_up || (w->selector && !selected_obj(obj))) continue;
        deliver(w, e);
    }
}

/* Create or update (labels and a counter change) an object. */
static void
fput(fake *f, int kind, const char *ns, const char *name, const char *hash, int gen)
{
    char buf[1024], rv[32];
    fobj *o = find(f, kind, ns, name);
    f->rv++;
    snprintf(rv, sizeof rv, "%d", f->rv);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"X\",\"metadata\":{\"namespace\":\"%s\",\"name\":"
             "\"%s\",\"uid\":\"uid-%s-%s\",\"resourceVersion\":\"%s\",\"labels\":{%s%s%s\"g\":"
             "\"%d\"},\"managedFields\":[{\"manager\":\"x\"}]},\"spec\":{\"n\":%d}}",
             ns, name, ns, name, rv, hash ? "\"" INFORMER_NAMEHASH_LABEL "\":\"" : "",
             hash ? hash : "", hash ? "\"," : "", gen, gen);
    json_object *obj = jx_parse(buf, strlen(buf), NULL);
    assert_non_null(obj);
    if (o) {
        json_object_put(o->obj);
        o->obj = obj;
        emit(f, kind, KUBE_MODIFIED, obj);
    } else {
        assert_true(f->nobj < MAXOBJ);
        o = &f->objs[f->nobj++];
        o->kind = kind;
        snprintf(o->ns, sizeof o->ns, "%s", ns);
        snprintf(o->name, sizeof o->name, "%s", name);
        o->obj = obj;
        emit(f, kind, KUBE_ADDED, obj);
    }
}

static void
fdel(fake *f, int kind, const char *ns, const char *name)
{
    fobj *o = find(f, kind, ns, name);
    char rv[32];
    assert_non_null(o);
    f->rv++;
    snprintf(rv, sizeof rv, "%d", f->rv);
    json_object *md = json_object_object_get(o->obj, "metadata");
    json_object_object_add(md, "resourceVersion", json_object_new_string(rv));
    emit(f, kind, KUBE_DELETED, o->obj);
    json_object_put(o->obj);
    *o = f->objs[--f->nobj];
}

static void
fbookmark(fake *f, int kind)
{
    char buf[128];
    snprintf(buf, sizeof buf, "{\"kind\":\"X\",\"metadata\":{\"resourceVersion\":\"%d\"}}", f->rv);
    json_object *o = jx_parse(buf, strlen(buf), NULL);
    for (int i = 0; i < f->nw; i++)
        if (f->w[i]->active && f->w[i]->caught_up && f->w[i]->kind == kind)
            f->w[i]->on_event(KUBE_BOOKMARK, o, f->w[i]->udata);
    json_object_put(o);
}

static void
fdrop(fake *f, int err)
{
    for (int i = 0; i < f->nw; i++)
        end_watch(f->w[i], err);
}

static void
fcompact(fake *f)
{
    f->compacted = f->rv;
    for (int i = 0; i < f->nw; i++)
        if (f->w[i]->active) {
            f->w[i]->gone = 1;
            ev_timer_start(f->loop, &f->w[i]->t); /* ERROR 410 soon */
        }
}

static fake *
fake_new(struct ev_loop *loop)
{
    fake *f = calloc(1, sizeof *f);
    f->loop = loop;
    f->rv = 100;
    f->crd_uid = "crd-uid-1";
    f->server = "https://fake:6443";
    return f;
}

static void
fake_free(fake *f)
{
    for (int i = 0; i < f->nobj; i++)
        json_object_put(f->objs[i].obj);
    for (int i = 0; i < f->nhist; i++)
        json_object_put(f->hist[i].obj);
    for (int i = 0; i < f->nw; i++) {
        ev_timer_stop(f->loop, &f->w[i]->t);
        free(f->w[i]);
    }
    for (int i = 0; i < f->nsnap; i++) {
        for (int j = 0; j < f->snaps[i]->n; j++)
            json_object_put(f->snaps[i]->items[j]);
        free(f->snaps[i]);
    }
    free(f);
}

static informer_transport
fake_transport(fake *f)
{
    informer_transport t = {f_list, f_watch_start, f_watch_stop, f_get, f_server, f};
    return t;
}

/* ---- fixtures ------------------------------------------------------------- */

typedef struct env {
    struct ev_loop *loop;
    fake *f;
    char dir[64];
    store *st;
    informer *inf;
    int synced_calls;
} env;

static void
on_synced(informer *inf, void *udata)
{
    env *e = udata;
    (void)inf;
    e->synced_calls++;
}

static informer *
start(env *e, unsigned kinds, int selectors)
{
    informer_opts o = {.cache_label_selectors = selectors,
                       .kinds = kinds,
                       .page_size = 100,
                       .backoff_min_ms = 2,
                       .backoff_max_ms = 20};
    informer_transport t = fake_transport(e->f);
    e->synced_calls = 0;
    e->inf = informer_new_transport(e->loop, &t, e->st, &o);
    assert_non_null(e->inf);
    informer_on_synced(e->inf, on_synced, e);
    CHECK(informer_start(e->inf));
    return e->inf;
}

static void
stop(env *e)
{
    informer_free(e->inf);
    e->inf = NULL;
    /* let the fake answer what is still in flight (the dead informer ignores it) */
    for (int i = 0; i < 20; i++)
        ev_run(e->loop, EVRUN_NOWAIT);
}

static void
reopen_store(env *e)
{
    char err[256];
    store_close(e->st);
    CHECK(store_open(e->dir, NULL, &e->st, err, sizeof err));
}

static int
setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    char err[256];
    e->loop = ev_loop_new(EVFLAG_AUTO);
    e->f = fake_new(e->loop);
    snprintf(e->dir, sizeof e->dir, "/tmp/test_informer.XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    CHECK(store_open(e->dir, NULL, &e->st, err, sizeof err));
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    env *e = *state;
    char p[128];
    if (e->inf) stop(e);
    fake_free(e->f);
    store_close(e->st);
    /* nothing may be left on the loop: no watcher leaked */
    ev_run(e->loop, EVRUN_NOWAIT);
    ev_loop_destroy(e->loop);
    snprintf(p, sizeof p, "%s/data.mdb", e->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", e->dir);
    unlink(p);
    rmdir(e->dir);
    free(e);
    return 0;
}

/* Run the loop until pred holds (or fail after ~5 s). */
static void
run_until(env *e, int (*pred)(env *), const char *what)
{
    for (int i = 0; i < 50000; i++) {
        if (pred(e)) return;
        ev_run(e->loop, EVRUN_ONCE | EVRUN_NOWAIT);
        if (i % 50 == 49) usleep(100);
    }
    fail_msg("timed out waiting for %s", what);
}

static void
spin(env *e, int turns)
{
    for (int i = 0; i < turns; i++) {
        ev_run(e->loop, EVRUN_NOWAIT);
        usleep(200);
    }
}

static int
all_synced(env *e)
{
    return informer_all_synced(e->inf);
}

/* The store mirrors the fake exactly for kind: same keys, same slimmed bytes. */
typedef struct mirror_ctx {
    fake *f;
    int kind, n, bad, selectors, verbose;
} mirror_ctx;

static int
mirror_cb(const store_item *it, void *udata)
{
    mirror_ctx *c = udata;
    fobj *o = find(c->f, c->kind, it->ns, it->name);
    char *buf;
    size_t len;
    c->n++;
    if (!o || (c->selectors && !selected_obj(o->obj))) {
        c->bad++;
        if (c->verbose) fprintf(stderr, "phantom %s/%s\n", it->ns, it->name);
        return 0;
    }
    CHECK(store_encode(c->kind, o->obj, &buf, &len));
    if (len != it->len || memcmp(buf, it->data, len)) {
        c->bad++;
        if (c->verbose) fprintf(stderr, "stale %s/%s\n", it->ns, it->name);
    }
    free(buf);
    return 0;
}

static int
mirrors(env *e, int kind, int selectors)
{
    store_rtxn *r;
    mirror_ctx c = {e->f, kind, 0, 0, selectors, getenv("VERBOSE") != NULL};
    int want = 0;
    for (int i = 0; i < e->f->nobj; i++)
        if (e->f->objs[i].kind == kind && (!selectors || selected_obj(e->f->objs[i].obj))) want++;
    CHECK(store_rtxn_begin(e->st, &r));
    CHECK(store_list(r, kind, NULL, mirror_cb, &c));
    store_rtxn_end(r);
    return c.bad == 0 && c.n == want;
}

static int
mirror_pods(env *e)
{
    return mirrors(e, STORE_POD, 0);
}

static int
mirror_all(env *e)
{
    return mirrors(e, STORE_POD, 0) && mirrors(e, STORE_SANDBOX, 0);
}

static void
populate(fake *f, int pods, int sandboxes)
{
    char name[32];
    for (int i = 0; i < pods; i++) {
        snprintf(name, sizeof name, "pod-%d", i);
        fput(f, STORE_POD, i % 3 ? "ns-a" : "ns-b", name, i % 2 ? "abcd0123" : NULL, 0);
    }
    for (int i = 0; i < sandboxes; i++) {
        snprintf(name, sizeof name, "sb-%d", i);
        fput(f, STORE_SANDBOX, "ns-a", name, NULL, 0);
    }
}

static char *
stored_rv(env *e, int kind, char *buf, size_t len)
{
    store_rtxn *r;
    CHECK(store_rtxn_begin(e->st, &r));
    int rc = store_get_rv(r, kind, buf, len);
    store_rtxn_end(r);
    return rc ? NULL : buf;
}

static int
count_cb(const store_item *it, void *u)
{
    (void)it;
    (*(int *)u)++;
    return 0;
}

#define PODS_SANDBOXES ((1u << STORE_POD) | (1u << STORE_SANDBOX))

/* ---- tests ---------------------------------------------------------------- */

static void
test_cold_sync(void **state)
{
    env *e = *state;
    informer_stats st;
    char rv[64];
    populate(e->f, 1234, 10);
    start(e, PODS_SANDBOXES, 0);
    run_until(e, all_synced, "sync");
    assert_int_equal(e->synced_calls, 1);
    assert_true(mirror_all(e));
    informer_get_stats(e->inf, &st);
    assert_int_equal(st.lists, 13 + 1); /* 1234 pods in pages of 100, one sandbox page */
    assert_int_equal(e->f->gets, 1);    /* the CRD, for the identity */
    assert_int_equal(st.relists, 0);
    snprintf(rv, sizeof rv, "%d", e->f->rv);
    char got[64];
    assert_string_equal(stored_rv(e, STORE_POD, got, sizeof got), rv);
    /* live events flow in and move the stored rv */
    fput(e->f, STORE_POD, "ns-a", "pod-1", "ffff0000", 7);
    fdel(e->f, STORE_POD, "ns-a", "pod-2");
    fput(e->f, STORE_POD, "ns-c", "new", NULL, 1);
    run_until(e, mirror_pods, "mirror");
    snprintf(rv, sizeof rv, "%d", e->f->rv);
    assert_string_equal(stored_rv(e, STORE_POD, got, sizeof got), rv);
    /* the indexes follow the watch */
    store_rtxn *r;
    int n = 0;
    CHECK(store_rtxn_begin(e->st, &r));
    CHECK(store_pods_by_hash(r, "ns-a", "ffff0000", count_cb, &n));
    store_rtxn_end(r);
    assert_int_equal(n, 1);
}

/* Random creates, updates, deletes, dropped streams, bookmarks and
 * compactions: after each quiet period the store mirrors the fake. */
static void
test_random_mirror(void **state)
{
    env *e = *state;
    unsigned seed = 7;
    char name[32];
    informer_stats st;
    populate(e->f, 300, 50);
    start(e, PODS_SANDBOXES, 0);
    run_until(e, all_synced, "sync");
    for (int round = 0; round < 30; round++) {
        for (int op = 0; op < 40; op++) {
            int kind = rand_r(&seed) % 2 ? STORE_POD : STORE_SANDBOX;
            snprintf(name, sizeof name, "%s-%d", kind == STORE_POD ? "pod" : "sb",
                     (int)(rand_r(&seed) % 400));
            const char *ns = kind == STORE_POD ? (rand_r(&seed) % 2 ? "ns-a" : "ns-b") : "ns-a";
            if (find(e->f, kind, ns, name) && rand_r(&seed) % 3 == 0)
                fdel(e->f, kind, ns, name);
            else
                fput(e->f, kind, ns, name, rand_r(&seed) % 2 ? "h" : NULL, round);
            if (op % 10 == 0) spin(e, 1);
        }
        switch (round % 5) {
        case 1:
            fdrop(e->f, 0); /* server timeout: resume from rv */
            break;
        case 2:
            fdrop(e->f, ERR_IO); /* connection reset: backoff, resume */
            break;
        case 3:
            fcompact(e->f); /* 410: relist */
            /* changes inside the gap: deletes must show up as deletes */
            for (int i = 0; i < 5; i++) {
                snprintf(name, sizeof name, "pod-%d", (int)(rand_r(&seed) % 400));
                if (find(e->f, STORE_POD, "ns-a", name)) fdel(e->f, STORE_POD, "ns-a", name);
            }
            break;
        case 4:
            fbookmark(e->f, STORE_POD);
            break;
        }
        run_until(e, mirror_all, "mirror");
    }
    informer_get_stats(e->inf, &st);
    assert_true(st.relists >= 6);
    assert_true(st.gone >= 6);
    assert_int_equal(st.bad_events, 0);
}

/* Restart: no LIST when the stored rv is still valid; deletions made while
 * the controller was down arrive through the resumed watch. */
static void
test_warm_restart(void **state)
{
    env *e = *state;
    informer_stats st;
    populate(e->f, 250, 5);
    start(e, PODS_SANDBOXES, 0);
    run_until(e, all_synced, "sync");
    stop(e);
    reopen_store(e);
    /* while down */
    fdel(e->f, STORE_POD, "ns-a", "pod-1");
    fdel(e->f, STORE_SANDBOX, "ns-a", "sb-3");
    fput(e->f, STORE_POD, "ns-a", "pod-2", "zz", 9);
    fput(e->f, STORE_POD, "ns-z", "fresh", NULL, 0);
    int lists = e->f->lists;
    start(e, PODS_SANDBOXES, 0);
    run_until(e, all_synced, "warm sync");
    run_until(e, mirror_all, "mirror after restart");
    assert_int_equal(e->f->lists, lists); /* no LIST at all */
    informer_get_stats(e->inf, &st);
    assert_int_equal(st.lists, 0);
    assert_int_equal(st.events, 4);
}

/* Restart after the stored rv was compacted: one relist, vanished objects
 * deleted, nothing else lost. */
static void
test_restart_after_compaction(void **state)
{
    env *e = *state;
    informer_stats st;
    populate(e->f, 120, 0);
    start(e, 1u << STORE_POD, 0);
    run_until(e, all_synced, "sync");
    stop(e);
    for (int i = 0; i < 30; i++) {
        char name[32];
        snprintf(name, sizeof name, "pod-%d", i * 3 + 1);
        fdel(e->f, STORE_POD, "ns-a", name);
    }
    fput(e->f, STORE_POD, "ns-q", "later", NULL, 0);
    fcompact(e->f);
    start(e, 1u << STORE_POD, 0);
    run_until(e, mirror_pods, "mirror after 410");
    informer_get_stats(e->inf, &st);
    assert_int_equal(st.gone, 1);
    assert_int_equal(st.relists, 1);
}

/* A cache written for another cluster is discarded (and relisted). */
static void
test_identity_change(void **state)
{
    env *e = *state;
    informer_stats st;
    populate(e->f, 50, 0);
    start(e, 1u << STORE_POD, 0);
    run_until(e, all_synced, "sync");
    stop(e);
    /* "another cluster": new CRD uid, and a resourceVersion space far ahead */
    fake_free(e->f);
    e->f = fake_new(e->loop);
    e->f->crd_uid = "crd-uid-2";
    e->f->rv = 5;
    populate(e->f, 20, 0);
    start(e, 1u << STORE_POD, 0);
    run_until(e, all_synced, "sync");
    run_until(e, mirror_pods, "mirror of the new cluster");
    informer_get_stats(e->inf, &st);
    assert_true(st.lists >= 1);
    stop(e);
    /* CRD missing: the cache cannot be vouched for, so it is discarded too */
    e->f->crd_uid = NULL;
    int lists = e->f->lists;
    start(e, 1u << STORE_POD, 0);
    run_until(e, all_synced, "sync");
    assert_int_equal(e->f->lists, lists + 1);
}

/* Bad events are skipped with a log; the stream goes on. */
static void
test_bad_events(void **state)
{
    env *e = *state;
    informer_stats st;
    populate(e->f, 3, 0);
    start(e, 1u << STORE_POD, 0);
    run_until(e, all_synced, "sync");
    static const char *bad[] = {
        "{\"metadata\":{\"name\":\"x\",\"resourceVersion\":\"900\"}}",
        "{\"metadata\":{\"namespace\":\"n\"}}",
        "{\"metadata\":{\"namespace\":\"\",\"name\":\"x\"}}",
        "{\"metadata\":{\"namespace\":7,\"name\":\"x\"}}",
        "[1]",
    };
    fwatch *w = NULL;
    for (int i = 0; i < e->f->nw; i++)
        if (e->f->w[i]->active) w = e->f->w[i];
    assert_non_null(w);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_object *o = jx_parse(bad[i], strlen(bad[i]), NULL);
        w->on_event(i % 2 ? KUBE_ADDED : KUBE_DELETED, o, w->udata);
        json_object_put(o);
    }
    fput(e->f, STORE_POD, "ns-a", "after", NULL, 0);
    run_until(e, mirror_pods, "mirror");
    informer_get_stats(e->inf, &st);
    assert_int_equal(st.bad_events, 5);
    assert_int_equal(st.events, 1);
}

/* An object the cache cannot encode (nested deeper than msgpack-c reads back)
 * is skipped, and an older stored copy of it removed: nothing stale stays. */
static void
test_unencodable(void **state)
{
    env *e = *state;
    informer_stats st;
    store_rtxn *r;
    json_object *got = NULL;
    populate(e->f, 3, 0);
    start(e, 1u << STORE_POD, 0);
    run_until(e, all_synced, "sync");
    fwatch *w = NULL;
    for (int i = 0; i < e->f->nw; i++)
        if (e->f->w[i]->active) w = e->f->w[i];
    assert_non_null(w);
    static const char doc[] = "{\"metadata\":{\"namespace\":\"ns-a\",\"name\":\"pod-1\","
                              "\"resourceVersion\":\"5000\"}}";
    json_object *o = jx_parse(doc, strlen(doc), NULL);
    assert_non_null(o);
    json_object *cur = json_object_new_int(1);
    for (int i = 0; i < 40; i++) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, cur);
        cur = a;
    }
    json_object_object_add(o, "spec", cur);
    w->on_event(KUBE_MODIFIED, o, w->udata);
    json_object_put(o);
    spin(e, 3);
    CHECK(store_rtxn_begin(e->st, &r));
    assert_int_equal(store_get(r, STORE_POD, "ns-a", "pod-1", &got), ERR_NOTFOUND);
    CHECK(store_get(r, STORE_POD, "ns-a", "pod-2", &got));
    json_object_put(got);
    store_rtxn_end(r);
    informer_get_stats(e->inf, &st);
    assert_int_equal(st.bad_events, 1);
}

static int
continued(env *e)
{
    return e->f->lists >= 2;
}

/* A continue token that expired mid-LIST (410): the LIST starts over from
 * the first page, and objects changed in between are not lost. */
static void
test_continue_expired(void **state)
{
    env *e = *state;
    informer_stats st;
    populate(e->f, 350, 0);
    e->f->expire_continue = 1;
    start(e, 1u << STORE_POD, 0);
    run_until(e, continued, "the first page and its continuation");
    /* the first page's objects are in the store by now; change one of them */
    fdel(e->f, STORE_POD, "ns-a", "pod-2");
    fput(e->f, STORE_POD, "ns-a", "late", NULL, 0);
    run_until(e, all_synced, "sync");
    run_until(e, mirror_pods, "mirror");
    informer_get_stats(e->inf, &st);
    assert_int_equal(st.errors, 1);
    assert_true(st.lists >= 2 + 4); /* the failed continuation, then 4 full pages */
}

/* Failing LISTs back off and retry until they succeed. */
static void
test_list_backoff(void **state)
{
    env *e = *state;
    informer_stats st;
    populate(e->f, 10, 0);
    e->f->fail_lists = 4;
    ev_now_update(e->loop);
    double t0 = ev_now(e->loop);
    start(e, 1u << STORE_POD, 0);
    run_until(e, all_synced, "sync after failures");
    ev_now_update(e->loop);
    informer_get_stats(e->inf, &st);
    assert_int_equal(st.errors, 4);
    assert_int_equal(e->f->lists, 5);
    /* 1+2+4+8 ms halves at least (min 2 ms, jitter [d/2, d]) */
    assert_true(ev_now(e->loop) - t0 >= 0.001 + 0.002 + 0.004 + 0.008);
    assert_true(mirror_pods(e));
}

/* With label selectors only labelled pods are cached; switching the flag
 * relists instead of resuming a watch over another set. */
static int
mirror_selected(env *e)
{
    return mirrors(e, STORE_POD, 1);
}

static void
test_label_selectors(void **state)
{
    env *e = *state;
    char rv[64];
    populate(e->f, 40, 0);
    start(e, 1u << STORE_POD, 1);
    run_until(e, all_synced, "sync");
    assert_true(mirror_selected(e));
    assert_non_null(stored_rv(e, STORE_POD, rv, sizeof rv));
    assert_memory_equal(rv, "L|", 2);
    stop(e);
    int lists = e->f->lists;
    start(e, 1u << STORE_POD, 0);
    run_until(e, all_synced, "sync");
    assert_int_equal(e->f->lists, lists + 1);
    assert_true(mirror_pods(e));
}

/* The change feed after a relist: adds/updates for what changed, deletes for
 * what vanished, nothing for what stayed the same. */
typedef struct feedrec {
    int added, modified, deleted;
} feedrec;

static void
on_feed(const store_change *ch, size_t n, void *udata)
{
    feedrec *f = udata;
    for (size_t i = 0; i < n; i++) {
        if (ch[i].type == STORE_ADDED) f->added++;
        if (ch[i].type == STORE_MODIFIED) f->modified++;
        if (ch[i].type == STORE_DELETED) f->deleted++;
    }
}

static void
test_relist_feed(void **state)
{
    env *e = *state;
    feedrec fr = {0, 0, 0};
    populate(e->f, 100, 0);
    store_set_feed(e->st, on_feed, &fr);
    start(e, 1u << STORE_POD, 0);
    run_until(e, all_synced, "sync");
    assert_int_equal(fr.added, 100);
    stop(e);
    memset(&fr, 0, sizeof fr);
    fdel(e->f, STORE_POD, "ns-a", "pod-1");
    fdel(e->f, STORE_POD, "ns-a", "pod-2");
    fput(e->f, STORE_POD, "ns-a", "pod-4", NULL, 5);
    fput(e->f, STORE_POD, "ns-a", "brand-new", NULL, 0);
    fcompact(e->f);
    start(e, 1u << STORE_POD, 0);
    run_until(e, mirror_pods, "mirror");
    assert_int_equal(fr.deleted, 2);
    assert_int_equal(fr.modified, 1);
    assert_int_equal(fr.added, 1);
    store_set_feed(e->st, NULL, NULL);
}

/* A cache that cannot grow: commits fail clearly, nothing half-recorded (no
 * resourceVersion for a LIST whose items were lost), the reflector retries. */
static void
test_store_full(void **state)
{
    env *e = *state;
    char err[256], rv[64];
    store_open_opts so = {.map_size = 256 << 10, .max_map_size = 256 << 10};
    store_close(e->st);
    unlink(strcat(strcpy(err, e->dir), "/data.mdb"));
    CHECK(store_open(e->dir, &so, &e->st, err, sizeof err));
    populate(e->f, 2500, 0);
    start(e, 1u << STORE_POD, 0);
    informer_opts *o = &e->inf->o;
    o->max_batch = 300; /* several commits per LIST: the later ones fail */
    for (int i = 0; i < 200; i++)
        spin(e, 1);
    assert_false(informer_all_synced(e->inf));
    assert_null(stored_rv(e, STORE_POD, rv, sizeof rv));
    assert_true(e->f->lists > 25); /* retried (pages of 100) */
    stop(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cold_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_mirror, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warm_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_after_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unencodable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continue_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_selectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relist_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_full, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
