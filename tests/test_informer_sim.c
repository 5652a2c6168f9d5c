/* test_informer_sim.c - informer/ + store/ against kubesim over HTTP.
 *
 * kubesim runs as a process (tests/harness); the informer runs on this
 * thread's libev loop through the real kube client. Mutations and checks go
 * through the harness's blocking HTTP helpers while the informer's loop is
 * paused (its streams simply buffer), then the loop is pumped until the
 * store mirrors the server: same objects, same resourceVersions, nothing
 * missing, nothing extra. Skipped visibly while the kubesim binary is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "informer/informer.h"
#include "tests/harness/harness.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS "inf"

typedef struct ctx {
    harness *h;
    harness *h_old; /* the first cluster's harness (its tmpdir holds the cache) */
    struct ev_loop *loop;
    kube_config cfg;
    kube_client *kc;
    store *st;
    informer *inf;
    char cache[512];
} ctx;

static void
on_pump(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    ev_break(loop, EVBREAK_ONE);
}

static void
pump(ctx *c, int ms)
{
    ev_timer t;
    ev_timer_init(&t, on_pump, ms / 1000.0, 0.);
    ev_timer_start(c->loop, &t);
    ev_run(c->loop, 0);
    ev_timer_stop(c->loop, &t);
}

static void
client_up(ctx *c)
{
    char err[256];
    kube_client_opts o;
    memset(&o, 0, sizeof o);
    o.user_agent = "informer-test/1.0";
    if (kube_config_load(harness_kubeconfig(c->h), &c->cfg, err, sizeof err))
        fail_msg("kubeconfig: %s", err);
    c->kc = kube_client_new(c->loop, &c->cfg, &o, err, sizeof err);
    if (!c->kc) fail_msg("kube client: %s", err);
}

static void
client_down(ctx *c)
{
    if (c->inf) informer_free(c->inf);
    c->inf = NULL;
    kube_client_free(c->kc);
    c->kc = NULL;
    kube_config_fini(&c->cfg);
}

static void
store_up(ctx *c)
{
    char err[256];
    if (store_open(c->cache, NULL, &c->st, err, sizeof err)) fail_msg("store: %s", err);
}

static void
informer_up(ctx *c, unsigned kinds)
{
    informer_opts o = {
        .kinds = kinds, .page_size = 50, .backoff_min_ms = 20, .backoff_max_ms = 400};
    c->inf = informer_new(c->loop, c->kc, c->st, &o);
    assert_non_null(c->inf);
    assert_int_equal(informer_start(c->inf), 0);
    for (int i = 0; i < 500 && !informer_all_synced(c->inf); i++)
        pump(c, 20);
    if (!informer_all_synced(c->inf)) fail_msg("informer did not sync");
}

static int
setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    log_setup(stderr, LOG_WARN);
    c->h = harness_new();
    assert_non_null(c->h);
    int rc = harness_start_sim(c->h, NULL);
    if (rc == ERR_CONFIG || (rc == 0 && !harness_is_kubesim(c->h))) {
        fprintf(stderr, "SKIP: needs a kubesim started here (binary missing or TEST_KUBECONFIG)\n");
        harness_pass(c->h);
        harness_free(c->h);
        free(c);
        *state = NULL;
        return 0;
    }
    assert_int_equal(rc, 0);
    c->loop = ev_loop_new(EVFLAG_AUTO);
    snprintf(c->cache, sizeof c->cache, "%s/cache", harness_tmpdir(c->h));
    long status = 0;
    json_object *r = harness_send_json(c->h, "POST", "/api/v1/namespaces", "application/json",
                                       "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                                       "\"metadata\":{\"name\":\"" NS "\"}}",
                                       &status);
    json_object_put(r);
    assert_int_equal(status, 201);
    client_up(c);
    store_up(c);
    *state = c;
    return 0;
}

static int
teardown(void **state)
{
    ctx *c = *state;
    if (!c) return 0;
    client_down(c);
    store_close(c->st);
    ev_loop_destroy(c->loop);
    harness_free(c->h);
    harness_free(c->h_old);
    free(c);
    return 0;
}

#define SKIP_IF_NO_SIM()                                                                           \
    do {                                                                                           \
        if (!*state) skip();                                                                       \
    } while (0)

/* ---- server-side helpers ------------------------------------------------ */

static const char *
coll(enum store_kind k)
{
    switch (k) {
    case STORE_POD:
        return "/api/v1/namespaces/" NS "/pods";
    case STORE_SANDBOX:
        return "/apis/agents.x-k8s.io/v1beta1/namespaces/" NS "/sandboxes";
    default:
        return "/api/v1/namespaces/" NS "/services";
    }
}

static long
create(ctx *c, enum store_kind k, const char *name, int gen)
{
    char body[1024];
    long status = 0;
    if (k == STORE_POD)
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
                 "\"labels\":{\"g\":\"%d\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
                 "\"image\":\"pause\"}]}}",
                 name, gen);
    else if (k == STORE_SANDBOX)
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\",\"metadata\":"
                 "{\"name\":\"%s\",\"labels\":{\"g\":\"%d\"}},\"spec\":{\"podTemplate\":{\"spec\":"
                 "{\"containers\":[{\"name\":\"c\",\"image\":\"pause\"}]}}}}",
                 name, gen);
    else
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\","
                 "\"labels\":{\"g\":\"%d\"}},\"spec\":{\"clusterIP\":\"None\",\"selector\":"
                 "{\"a\":\"b\"}}}",
                 name, gen);
    json_object_put(harness_send_json(c->h, "POST", coll(k), "application/json", body, &status));
    return status;
}

static long
relabel(ctx *c, enum store_kind k, const char *name, int gen)
{
    char path[512], body[128];
    long status = 0;
    snprintf(path, sizeof path, "%s/%s", coll(k), name);
    snprintf(body, sizeof body, "{\"metadata\":{\"labels\":{\"g\":\"%d\"}}}", gen);
    json_object_put(
        harness_send_json(c->h, "PATCH", path, "application/merge-patch+json", body, &status));
    return status;
}

static long delete (ctx *c, enum store_kind k, const char *name)
{
    char path[512];
    long status = 0;
    snprintf(path, sizeof path, "%s/%s?gracePeriodSeconds=0", coll(k), name);
    json_object_put(harness_send_json(c->h, "DELETE", path, NULL, NULL, &status));
    return status;
}

static void
admin(ctx *c, const char *path)
{
    long status = 0;
    json_object_put(harness_send_json(c->h, "POST", path, "application/json", "{}", &status));
    assert_int_equal(status, 200);
}

/* Sum of kubesim_requests_total for our client, verb and resource. */
static long
requests(ctx *c, const char *verb, const char *resource)
{
    harness_resp r;
    char pat[256];
    long total = 0;
    assert_int_equal(harness_request(c->h, "GET", "/metrics", NULL, NULL, 0, NULL, &r), 0);
    snprintf(pat, sizeof pat,
             "kubesim_requests_total{client=\"informer-test\",verb=\"%s\",resource=\"%s\",", verb,
             resource);
    for (char *p = r.body; p && (p = strstr(p, pat)); p++) {
        char *sp = strchr(p, '}');
        if (sp) total += atol(sp + 1);
    }
    harness_resp_fini(&r);
    return total;
}

/* The store holds exactly the server's objects of kind in NS, at the same
 * resourceVersions. Returns 1, or 0 (with the first difference printed when
 * verbose). */
typedef struct cnt {
    int n;
} cnt;

static int
count_cb(const store_item *it, void *u)
{
    (void)it;
    ((cnt *)u)->n++;
    return 0;
}

static int
mirrors(ctx *c, enum store_kind k, int verbose)
{
    long status = 0;
    json_object *list = harness_get_json(c->h, coll(k), &status);
    json_object *items = jx_arr(list, "items");
    store_rtxn *r;
    int ok = items != NULL;
    cnt n = {0};
    assert_int_equal(store_rtxn_begin(c->st, &r), 0);
    for (size_t i = 0; ok && i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i), *got = NULL;
        const char *name = jx_str(it, "metadata.name");
        if (store_get(r, k, NS, name, &got)) {
            if (verbose) fprintf(stderr, "missing %s %s\n", store_kind_name(k), name);
            ok = 0;
        } else if (strcmp(jx_str_or(got, "metadata.resourceVersion", ""),
                          jx_str_or(it, "metadata.resourceVersion", "?"))) {
            if (verbose) fprintf(stderr, "stale %s %s\n", store_kind_name(k), name);
            ok = 0;
        }
        json_object_put(got);
    }
    assert_int_equal(store_list(r, k, NS, count_cb, &n), 0);
    store_rtxn_end(r);
    if (ok && (size_t)n.n != json_object_array_length(items)) {
        if (verbose)
            fprintf(stderr, "%s: store has %d, server %zu\n", store_kind_name(k), n.n,
                    json_object_array_length(items));
        ok = 0;
    }
    json_object_put(list);
    return ok;
}

static void
wait_mirror(ctx *c, unsigned kinds)
{
    for (int i = 0; i < 300; i++) {
        int ok = 1;
        for (int k = 0; k < STORE_KIND_COUNT; k++)
            if (kinds & (1u << k)) ok = ok && mirrors(c, k, 0);
        if (ok) return;
        pump(c, 20);
    }
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        if (kinds & (1u << k)) mirrors(c, k, 1);
    fail_msg("the cache does not mirror the server");
}

#define KINDS ((1u << STORE_SERVICE) | (1u << STORE_POD) | (1u << STORE_SANDBOX))

static void
populate(ctx *c, int n)
{
    char name[32];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "svc-%d", i);
        assert_int_equal(create(c, STORE_SERVICE, name, 0), 201);
        if (i % 4 == 0) {
            snprintf(name, sizeof name, "pod-%d", i);
            assert_int_equal(create(c, STORE_POD, name, 0), 201);
            snprintf(name, sizeof name, "sb-%d", i);
            assert_int_equal(create(c, STORE_SANDBOX, name, 0), 201);
        }
    }
}

/* ---- tests ------------------------------------------------------------------ */

/* LIST + WATCH mirror through random creates, updates, deletes, dropped
 * connections and compactions (410 -> relist): no lost, no phantom objects. */
static void
test_mirror(void **state)
{
    SKIP_IF_NO_SIM();
    ctx *c = *state;
    unsigned seed = 42;
    char name[32];
    informer_stats st;
    populate(c, 120);
    informer_up(c, KINDS);
    wait_mirror(c, KINDS);
    for (int round = 0; round < 8; round++) {
        for (int op = 0; op < 30; op++) {
            int i = (int)(rand_r(&seed) % 160);
            enum store_kind k =
                i % 4 == 0 ? (rand_r(&seed) % 2 ? STORE_POD : STORE_SANDBOX) : STORE_SERVICE;
            snprintf(name, sizeof name, "%s-%d",
                     k == STORE_POD       ? "pod"
                     : k == STORE_SANDBOX ? "sb"
                                          : "svc",
                     i);
            unsigned what = rand_r(&seed) % 3;
            if (what == 0)
                delete (c, k, name);
            else if (what == 1 || relabel(c, k, name, round * 100 + op) == 404)
                create(c, k, name, round);
            if (op % 10 == 0) pump(c, 5);
        }
        if (round % 3 == 1) admin(c, "/kubesim/watches/close");
        if (round % 3 == 2) {
            /* forget history, then drop the streams: the resumes get 410 */
            admin(c, "/kubesim/compact");
            for (int i = 0; i < 5; i++) {
                snprintf(name, sizeof name, "svc-%d", (int)(rand_r(&seed) % 160));
                delete (c, STORE_SERVICE, name);
            }
            admin(c, "/kubesim/watches/close");
        }
        wait_mirror(c, KINDS);
    }
    informer_get_stats(c->inf, &st);
    assert_true(st.gone >= 1);
    assert_true(st.relists >= 1);
    harness_pass(c->h);
}

/* Restart with the cache: no LIST; what changed while down (deletions
 * included) arrives through the resumed watches. */
static void
test_restart_resumes(void **state)
{
    SKIP_IF_NO_SIM();
    ctx *c = *state;
    informer_stats st;
    populate(c, 40);
    informer_up(c, KINDS);
    wait_mirror(c, KINDS);
    informer_free(c->inf);
    c->inf = NULL;
    store_close(c->st);
    /* while down */
    assert_int_equal(delete (c, STORE_SERVICE, "svc-1"), 200);
    assert_int_equal(delete (c, STORE_SANDBOX, "sb-4"), 200);
    assert_int_equal(relabel(c, STORE_SERVICE, "svc-2", 77), 200);
    assert_int_equal(create(c, STORE_SERVICE, "svc-new", 1), 201);
    long lists = requests(c, "LIST", "services") + requests(c, "LIST", "sandboxes") +
                 requests(c, "LIST", "pods");
    long watches = requests(c, "WATCH", "services");
    assert_true(lists >= 3); /* the first run did list */
    store_up(c);
    informer_up(c, KINDS);
    wait_mirror(c, KINDS);
    assert_true(requests(c, "WATCH", "services") > watches);
    long after = requests(c, "LIST", "services") + requests(c, "LIST", "sandboxes") +
                 requests(c, "LIST", "pods");
    assert_int_equal(after, lists);
    informer_get_stats(c->inf, &st);
    assert_int_equal(st.lists, 0);
    assert_true(st.events >= 4);
    harness_pass(c->h);
}

/* A cache from another kubesim run is discarded: its objects never show up. */
static void
test_other_cluster(void **state)
{
    SKIP_IF_NO_SIM();
    ctx *c = *state;
    populate(c, 20);
    informer_up(c, KINDS);
    wait_mirror(c, KINDS);
    client_down(c);
    /* a new cluster (new CRD uid, new URL), with other objects */
    assert_int_equal(harness_stop_sim(c->h, NULL), 0);
    harness_pass(c->h);
    c->h_old = c->h;
    c->h = harness_new();
    assert_non_null(c->h);
    assert_int_equal(harness_start_sim(c->h, NULL), 0);
    long status = 0;
    json_object_put(harness_send_json(c->h, "POST", "/api/v1/namespaces", "application/json",
                                      "{\"metadata\":{\"name\":\"" NS "\"}}", &status));
    assert_int_equal(create(c, STORE_SERVICE, "only-here", 0), 201);
    client_up(c);
    informer_up(c, KINDS);
    wait_mirror(c, KINDS);
    assert_true(requests(c, "LIST", "services") >= 1);
    harness_pass(c->h);
}

/* A corrupt cache file is rebuilt from a fresh LIST. */
static void
test_corrupt_cache(void **state)
{
    SKIP_IF_NO_SIM();
    ctx *c = *state;
    char p[600];
    populate(c, 20);
    informer_up(c, KINDS);
    wait_mirror(c, KINDS);
    informer_free(c->inf);
    c->inf = NULL;
    store_close(c->st);
    snprintf(p, sizeof p, "%s/data.mdb", c->cache);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    for (int i = 0; i < 16384; i++)
        fputc((i * 31) & 0xff, f);
    fclose(f);
    store_up(c);
    long lists = requests(c, "LIST", "services");
    informer_up(c, KINDS);
    wait_mirror(c, KINDS);
    assert_true(requests(c, "LIST", "services") > lists);
    harness_pass(c->h);
}

/* --cache-label-selectors: only labelled Pods/Services are cached; a pod
 * that loses the label leaves the cache (the server sends DELETED), and
 * comes back when labelled again. */
static void
test_label_selector(void **state)
{
    SKIP_IF_NO_SIM();
    ctx *c = *state;
    long status = 0;
    store_rtxn *r;
    json_object *o = NULL;
    assert_int_equal(create(c, STORE_POD, "plain", 0), 201);
    json_object_put(harness_send_json(
        c->h, "POST", coll(STORE_POD), "application/json",
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"tracked\","
        "\"labels\":{\"" INFORMER_NAMEHASH_LABEL "\":\"0a1b2c3d\"}},\"spec\":{\"containers\":"
        "[{\"name\":\"c\",\"image\":\"pause\"}]}}",
        &status));
    assert_int_equal(status, 201);
    informer_opts opts = {.kinds = 1u << STORE_POD, .cache_label_selectors = 1};
    c->inf = informer_new(c->loop, c->kc, c->st, &opts);
    assert_int_equal(informer_start(c->inf), 0);
    for (int i = 0; i < 500 && !informer_all_synced(c->inf); i++)
        pump(c, 20);
    assert_true(informer_all_synced(c->inf));
    pump(c, 50);
    assert_int_equal(store_rtxn_begin(c->st, &r), 0);
    assert_int_equal(store_get(r, STORE_POD, NS, "plain", &o), ERR_NOTFOUND);
    assert_int_equal(store_get(r, STORE_POD, NS, "tracked", &o), 0);
    json_object_put(o);
    store_rtxn_end(r);
    /* the label goes: DELETED; it comes back: ADDED */
    char path[256];
    snprintf(path, sizeof path, "%s/tracked", coll(STORE_POD));
    json_object_put(harness_send_json(
        c->h, "PATCH", path, "application/merge-patch+json",
        "{\"metadata\":{\"labels\":{\"" INFORMER_NAMEHASH_LABEL "\":null}}}", &status));
    assert_int_equal(status, 200);
    int gone = 0;
    for (int i = 0; i < 200 && !gone; i++) {
        pump(c, 10);
        assert_int_equal(store_rtxn_begin(c->st, &r), 0);
        gone = store_get(r, STORE_POD, NS, "tracked", &o) == ERR_NOTFOUND;
        if (!gone) json_object_put(o);
        store_rtxn_end(r);
    }
    assert_true(gone);
    json_object_put(harness_send_json(
        c->h, "PATCH", path, "application/merge-patch+json",
        "{\"metadata\":{\"labels\":{\"" INFORMER_NAMEHASH_LABEL "\":\"0a1b2c3d\"}}}", &status));
    assert_int_equal(status, 200);
    int back = 0;
    for (int i = 0; i < 200 && !back; i++) {
        pump(c, 10);
        assert_int_equal(store_rtxn_begin(c->st, &r), 0);
        back = store_get(r, STORE_POD, NS, "tracked", &o) == 0;
        if (back) json_object_put(o);
        store_rtxn_end(r);
    }
    assert_true(back);
    harness_pass(c->h);
}

/* Bookmarks move the stored resourceVersion while nothing of ours changes,
 * so a restart resumes from a recent version (kubesim sends them every
 * second here). */
static void
test_bookmarks(void **state)
{
    SKIP_IF_NO_SIM();
    ctx *c = *state;
    char before[STORE_MAX_RV + 1], after[STORE_MAX_RV + 1];
    store_rtxn *r;
    client_down(c);
    assert_int_equal(harness_stop_sim(c->h, NULL), 0);
    harness_pass(c->h);
    c->h_old = c->h; /* keeps the cache directory */
    c->h = harness_new();
    assert_non_null(c->h);
    static const char *const args[] = {"--bookmark-interval", "1", NULL};
    assert_int_equal(harness_start_sim(c->h, args), 0);
    long status = 0;
    json_object_put(harness_send_json(c->h, "POST", "/api/v1/namespaces", "application/json",
                                      "{\"metadata\":{\"name\":\"" NS "\"}}", &status));
    client_up(c);
    informer_up(c, 1u << STORE_SERVICE);
    assert_int_equal(store_rtxn_begin(c->st, &r), 0);
    assert_int_equal(store_get_rv(r, STORE_SERVICE, before, sizeof before), 0);
    store_rtxn_end(r);
    /* other resources move the server's resourceVersion */
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "p%d", i);
        assert_int_equal(create(c, STORE_POD, name, 0), 201);
    }
    int moved = 0;
    for (int i = 0; i < 300 && !moved; i++) {
        pump(c, 10);
        assert_int_equal(store_rtxn_begin(c->st, &r), 0);
        assert_int_equal(store_get_rv(r, STORE_SERVICE, after, sizeof after), 0);
        store_rtxn_end(r);
        moved = atoll(after) > atoll(before);
    }
    assert_true(moved);
    informer_stats st;
    informer_get_stats(c->inf, &st);
    assert_true(st.bookmarks >= 1);
    assert_int_equal(st.events, 0);
    harness_pass(c->h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mirror, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_cluster, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_selector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bookmarks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
