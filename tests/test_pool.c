/* test_pool.c - pools/: candidate ordering (table), reservations, cache-event
 * feed (pool_observe), pool moves and drops, and a randomised check of the
 * heap order against a brute-force reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/jx.h"
#include "pools/pool.h"

/* ---- ordering table ------------------------------------------------------ */

typedef struct mem {
    const char *name;
    int ready, ips;
    const char *node;
    int64_t created;
} mem;

typedef struct order_row {
    const char *name;
    mem m[8];
    const char *want; /* names taken in order, space separated; then NOTFOUND */
    size_t pending;   /* pending reported when exhausted */
} order_row;

static const order_row order_rows[] = {
    {"empty", {{0}}, "", 0},
    {"ready-before-fallback",
     {{"a", 0, 1, "n1", 1}, {"b", 1, 1, "n1", 5}, {"c", 1, 1, "n1", 3}},
     "c b a",
     0},
    {"no-ips-never-taken",
     {{"a", 1, 0, "n1", 1}, {"b", 0, 0, "", 2}, {"c", 1, 1, "n1", 3}},
     "c",
     2},
    {"busiest-node-first",
     /* n2 holds three queued members (one Ready), n1 two Ready: n2's Ready one first */
     {{"a", 1, 1, "n1", 1},
      {"b", 1, 1, "n1", 2},
      {"c", 1, 1, "n2", 9},
      {"d", 0, 1, "n2", 3},
      {"e", 0, 0, "n2", 4}},
     "c a b d",
     1},
    {"ties-by-age-across-nodes",
     {{"x", 1, 1, "n1", 7}, {"y", 1, 1, "n2", 4}, {"z", 1, 1, "n3", 6}},
     "y z x",
     0},
    {"ties-by-name-same-age",
     {{"b", 1, 1, "n1", 5}, {"a", 1, 1, "n1", 5}, {"c", 0, 1, "n1", 5}, {"d", 0, 1, "n2", 5}},
     "a b c d",
     0},
    {"unscheduled-ready-group",
     /* b first (n1 has 2 queued); then n1 and "" tie at 1: the oldest, a */
     {{"a", 1, 1, NULL, 1}, {"b", 1, 1, "n1", 2}, {"c", 1, 1, "n1", 3}},
     "b a c",
     0},
    {"fallback-oldest-first",
     {{"a", 0, 1, "n1", 9}, {"b", 0, 1, "n2", 2}, {"c", 0, 1, "n3", 5}},
     "b c a",
     0},
};

static void
test_order_row(void **state)
{
    const order_row *r = *state;
    pool_set *s = pool_set_new();
    assert_non_null(s);
    for (int i = 0; i < 8 && r->m[i].name; i++) {
        pool_member_info info = {"p",          r->m[i].ready,   r->m[i].ips,
                                 r->m[i].node, r->m[i].created, NULL};
        assert_int_equal(pool_upsert(s, "ns", r->m[i].name, &info), 0);
    }
    char want[256];
    snprintf(want, sizeof want, "%s", r->want);
    for (char *tok = strtok(want, " "); tok; tok = strtok(NULL, " ")) {
        pool_pick pick;
        assert_int_equal(pool_take(s, "ns", "p", &pick), 0);
        assert_string_equal(pick.name, tok);
        assert_true(pool_is_reserved(s, "ns", tok));
    }
    pool_pick pick;
    assert_int_equal(pool_take(s, "ns", "p", &pick), ERR_NOTFOUND);
    assert_int_equal(pick.pending, r->pending);
    /* another pool in the same namespace sees nothing */
    assert_int_equal(pool_take(s, "ns", "other", &pick), ERR_NOTFOUND);
    pool_set_free(s);
}

/* ---- reservations --------------------------------------------------------- */

static void
add(pool_set *s, const char *name, int ready, int ips, const char *node, int64_t created)
{
    pool_member_info info = {"p", ready, ips, node, created, NULL};
    assert_int_equal(pool_upsert(s, "ns", name, &info), 0);
}

static void
test_reserve_release_done(void **state)
{
    (void)state;
    pool_set *s = pool_set_new();
    add(s, "a", 1, 1, "n1", 1);
    add(s, "b", 1, 1, "n1", 2);
    pool_pick pk;
    assert_int_equal(pool_take(s, "ns", "p", &pk), 0);
    assert_string_equal(pk.name, "a");
    assert_int_equal(pk.ready, 1);
    pool_stats st;
    pool_get_stats(s, "ns", "p", &st);
    assert_int_equal(st.members, 2);
    assert_int_equal(st.reserved, 1);
    assert_int_equal(st.ready, 1);
    /* an update while reserved keeps it reserved */
    add(s, "a", 1, 1, "n2", 1);
    assert_true(pool_is_reserved(s, "ns", "a"));
    assert_int_equal(pool_take(s, "ns", "p", &pk), 0);
    assert_string_equal(pk.name, "b");
    assert_int_equal(pool_take(s, "ns", "p", &pk), ERR_NOTFOUND);
    /* 409: back in the order, with the fields of the last update */
    pool_release(s, "ns", "a");
    assert_false(pool_is_reserved(s, "ns", "a"));
    assert_int_equal(pool_take(s, "ns", "p", &pk), 0);
    assert_string_equal(pk.name, "a");
    /* adopted: forgotten */
    pool_done(s, "ns", "a");
    pool_done(s, "ns", "b");
    pool_get_stats(s, "ns", "p", &st);
    assert_int_equal(st.members, 0);
    /* releasing unknown names is harmless */
    pool_release(s, "ns", "zzz");
    pool_done(s, "ns", "zzz");
    pool_set_free(s);
}

static void
test_move_and_drop(void **state)
{
    (void)state;
    pool_set *s = pool_set_new();
    add(s, "a", 1, 1, "n1", 1);
    pool_member_info other = {"q", 1, 1, "n1", 1, NULL};
    assert_int_equal(pool_upsert(s, "ns", "a", &other), 0);
    pool_pick pk;
    assert_int_equal(pool_take(s, "ns", "p", &pk), ERR_NOTFOUND);
    assert_int_equal(pool_take(s, "ns", "q", &pk), 0);
    assert_string_equal(pk.name, "a");
    add(s, "b", 1, 1, "n1", 1);
    add(s, "c", 0, 0, "n1", 1);
    pool_drop_pool(s, "ns", "p");
    pool_stats st;
    pool_get_stats(s, "ns", "p", &st);
    assert_int_equal(st.members, 0);
    pool_get_stats(s, "ns", "q", &st);
    assert_int_equal(st.members, 1);
    pool_member_info bad = {NULL, 1, 1, NULL, 0, NULL};
    assert_int_equal(pool_upsert(s, "ns", "x", &bad), ERR_INVALID);
    pool_set_free(s);
}

/* 409 on a compare-and-swap: the member waits for a different resourceVersion */
static void
test_conflict_parking(void **state)
{
    (void)state;
    pool_set *s = pool_set_new();
    pool_member_info a = {"p", 1, 1, "n1", 1, "10"}, b = {"p", 1, 1, "n1", 2, "11"};
    assert_int_equal(pool_upsert(s, "ns", "a", &a), 0);
    assert_int_equal(pool_upsert(s, "ns", "b", &b), 0);
    pool_pick pk;
    assert_int_equal(pool_take(s, "ns", "p", &pk), 0);
    assert_string_equal(pk.name, "a");
    pool_release_conflict(s, "ns", "a", "10"); /* nothing fresher seen: parked */
    pool_stats st;
    pool_get_stats(s, "ns", "p", &st);
    assert_int_equal(st.parked, 1);
    assert_int_equal(st.ready, 1);
    assert_int_equal(pool_take(s, "ns", "p", &pk), 0);
    assert_string_equal(pk.name, "b");
    assert_int_equal(pool_take(s, "ns", "p", &pk), ERR_NOTFOUND);
    /* the same version again changes nothing; a new one unparks */
    assert_int_equal(pool_upsert(s, "ns", "a", &a), 0);
    assert_int_equal(pool_take(s, "ns", "p", &pk), ERR_NOTFOUND);
    a.rv = "12";
    assert_int_equal(pool_upsert(s, "ns", "a", &a), 0);
    assert_int_equal(pool_take(s, "ns", "p", &pk), 0);
    assert_string_equal(pk.name, "a");
    /* a fresher event that arrived while reserved: straight back on 409 */
    a.rv = "13";
    assert_int_equal(pool_upsert(s, "ns", "a", &a), 0);
    pool_release_conflict(s, "ns", "a", "12");
    pool_get_stats(s, "ns", "p", &st);
    assert_int_equal(st.parked, 0);
    assert_int_equal(pool_take(s, "ns", "p", &pk), 0);
    assert_string_equal(pk.name, "a");
    /* forgetting a parked member keeps the counters straight */
    pool_release_conflict(s, "ns", "a", "13");
    pool_forget(s, "ns", "a");
    pool_get_stats(s, "ns", "p", &st);
    assert_int_equal(st.parked, 0);
    assert_int_equal(st.members, 1);
    pool_set_free(s);
}

/* ---- cache events ------------------------------------------------------- */

typedef struct obs_row {
    const char *name;
    const char *json; /* a Sandbox */
    int adoptable;    /* 2: the event identifies no Sandbox, state unchanged */
    int ready;        /* when adoptable: taken as Ready (1) / fallback (0) / pending (-1) */
} obs_row;

#define SB_META(extra)                                                                             \
    "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\",\"creationTimestamp\":"                    \
    "\"2026-01-01T00:00:00Z\",\"labels\":{\"agents.x-k8s.io/warm-pool-sandbox\":\"h\","            \
    "\"agents.x-k8s.io/sandbox-template-ref-hash\":\"t\"},\"ownerReferences\":[{\"apiVersion\":"   \
    "\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":\"SandboxWarmPool\",\"name\":\"p\","          \
    "\"uid\":\"u\",\"controller\":true}]" extra "}"
#define READY                                                                                      \
    ",\"status\":{\"podIPs\":[\"10.0.0.1\"],\"nodeName\":\"n1\",\"conditions\":[{\"type\":"        \
    "\"Ready\",\"status\":\"True\"}]}"

static const obs_row obs_rows[] = {
    {"ready", SB_META("}" READY), 1, 1},
    {"not-ready-with-ips",
     SB_META("},\"status\":{\"podIPs\":[\"10.0.0.1\"],\"conditions\":[{\"type\":\"Ready\","
             "\"status\":\"False\"}]}"),
     1, 0},
    {"no-status", SB_META("}"), 1, -1},
    {"deleting", SB_META(",\"deletionTimestamp\":\"2026-01-01T00:00:01Z\"}" READY), 0, 0},
    {"claim-owned",
     "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\",\"labels\":{\"agents.x-k8s.io/"
     "warm-pool-sandbox\":\"h\",\"agents.x-k8s.io/sandbox-template-ref-hash\":\"t\"},"
     "\"ownerReferences\":[{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":"
     "\"SandboxClaim\",\"name\":\"c\",\"uid\":\"u\",\"controller\":true}]}" READY "}",
     0, 0},
    {"pool-ref-not-controller",
     "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\",\"labels\":{\"agents.x-k8s.io/"
     "warm-pool-sandbox\":\"h\",\"agents.x-k8s.io/sandbox-template-ref-hash\":\"t\"},"
     "\"ownerReferences\":[{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":"
     "\"SandboxWarmPool\",\"name\":\"p\",\"uid\":\"u\"}]}" READY "}",
     0, 0},
    {"other-group",
     "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\",\"labels\":{\"agents.x-k8s.io/"
     "warm-pool-sandbox\":\"h\",\"agents.x-k8s.io/sandbox-template-ref-hash\":\"t\"},"
     "\"ownerReferences\":[{\"apiVersion\":\"example.com/v1\",\"kind\":\"SandboxWarmPool\","
     "\"name\":\"p\",\"uid\":\"u\",\"controller\":true}]}" READY "}",
     0, 0},
    {"alpha-version-ok",
     "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\",\"labels\":{\"agents.x-k8s.io/"
     "warm-pool-sandbox\":\"h\",\"agents.x-k8s.io/sandbox-template-ref-hash\":\"t\"},"
     "\"ownerReferences\":[{\"apiVersion\":\"extensions.agents.x-k8s.io/v1alpha1\",\"kind\":"
     "\"SandboxWarmPool\",\"name\":\"p\",\"uid\":\"u\",\"controller\":true}]}" READY "}",
     1, 1},
    {"missing-template-label",
     "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\",\"labels\":{\"agents.x-k8s.io/"
     "warm-pool-sandbox\":\"h\"},\"ownerReferences\":[{\"apiVersion\":\"extensions.agents.x-k8s.io/"
     "v1beta1\",\"kind\":\"SandboxWarmPool\",\"name\":\"p\",\"uid\":\"u\",\"controller\":true}]"
     "}" READY "}",
     0, 0},
    /* names nothing, so it cannot remove anything: the earlier member stays */
    {"garbage", "[1,2,3]", 2, 0},
};

static void
test_observe_row(void **state)
{
    const obs_row *r = *state;
    const char *perr = NULL;
    json_object *o = jx_parse(r->json, strlen(r->json), &perr);
    assert_non_null(o);
    pool_set *s = pool_set_new();
    /* a member that was adoptable before this event */
    add(s, "s", 1, 1, "n1", 1);
    assert_int_equal(pool_observe(s, o), 0);
    pool_stats st;
    pool_get_stats(s, "ns", "p", &st);
    assert_int_equal(st.members, r->adoptable ? 1 : 0);
    if (r->adoptable == 1) {
        assert_int_equal(st.ready, r->ready == 1);
        assert_int_equal(st.fallback, r->ready == 0);
        assert_int_equal(st.pending, r->ready == -1);
    }
    pool_forget(s, "ns", "s");
    pool_get_stats(s, "ns", "p", &st);
    assert_int_equal(st.members, 0);
    json_object_put(o);
    pool_set_free(s);
}

/* ---- randomised reference check ------------------------------------------ */

typedef struct ref_m {
    char name[16];
    int ready, ips, node, alive, taken;
    int64_t created;
} ref_m;

/* Brute force of the documented order. */
static int
ref_pick(ref_m *v, int n)
{
    int queued[8] = {0};
    for (int i = 0; i < n; i++)
        if (v[i].alive && !v[i].taken) queued[v[i].node]++;
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (!v[i].alive || v[i].taken || !v[i].ready || !v[i].ips) continue;
        if (best < 0)
            best = i;
        else {
            ref_m *a = &v[i], *b = &v[best];
            int qa = queued[a->node], qb = queued[b->node];
            int better = qa != qb ? qa > qb
                                  : (a->created != b->created ? a->created < b->created
                                                              : strcmp(a->name, b->name) < 0);
            if (better) best = i;
        }
    }
    if (best >= 0) return best;
    for (int i = 0; i < n; i++) {
        if (!v[i].alive || v[i].taken || !v[i].ips || v[i].ready) continue;
        if (best < 0 || v[i].created < v[best].created ||
            (v[i].created == v[best].created && strcmp(v[i].name, v[best].name) < 0))
            best = i;
    }
    return best;
}

static void
test_random_vs_reference(void **state)
{
    (void)state;
    enum { N = 300, STEPS = 4000 };
    static ref_m v[N];
    unsigned seed = 12345;
    pool_set *s = pool_set_new();
    memset(v, 0, sizeof v);
    for (int i = 0; i < N; i++)
        snprintf(v[i].name, sizeof v[i].name, "m%03d", i);
    for (int step = 0; step < STEPS; step++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % N);
        int op = (int)((seed >> 20) % 6);
        ref_m *m = &v[i];
        char nodename[8];
        if (op <= 2) { /* upsert with new facts */
            m->alive = 1;
            m->ready = (int)((seed >> 4) & 1);
            m->ips = (int)((seed >> 5) & 3) != 0;
            m->node = (int)((seed >> 6) % 5);
            if (m->created == 0) m->created = 1 + (int64_t)((seed >> 9) % 50);
            snprintf(nodename, sizeof nodename, "n%d", m->node);
            pool_member_info info = {"p", m->ready, m->ips, nodename, m->created, NULL};
            assert_int_equal(pool_upsert(s, "ns", m->name, &info), 0);
        } else if (op == 3) {
            pool_forget(s, "ns", m->name);
            m->alive = m->taken = 0;
        } else if (op == 4) { /* take and compare */
            pool_pick pk;
            int want = ref_pick(v, N);
            int rc = pool_take(s, "ns", "p", &pk);
            if (want < 0) {
                assert_int_equal(rc, ERR_NOTFOUND);
            } else {
                assert_int_equal(rc, 0);
                assert_string_equal(pk.name, v[want].name);
                v[want].taken = 1;
            }
        } else if (m->alive && m->taken) { /* end the reservation */
            if ((seed >> 3) & 1) {
                pool_release(s, "ns", m->name);
                m->taken = 0;
            } else {
                pool_done(s, "ns", m->name);
                m->alive = m->taken = 0;
            }
        }
    }
    pool_set_free(s);
}

/* Scale: 100,000 members on 100 nodes; prints the cost per operation (the
 * bound is loose so sanitizer builds pass; Release is far below it). */
static void
test_scale(void **state)
{
    (void)state;
    enum { N = 100000 };
    pool_set *s = pool_set_new();
    char name[32], node[16];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "m%06d", i);
        snprintf(node, sizeof node, "n%d", i % 100);
        pool_member_info info = {"p", i % 3 != 0, 1, node, (int64_t)(i * 7919 % N), NULL};
        assert_int_equal(pool_upsert(s, "ns", name, &info), 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double up_ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / N;
    pool_pick pk;
    int taken = 0, ready_first = 1, seen_fallback = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    while (pool_take(s, "ns", "p", &pk) == 0) {
        if (pk.ready && seen_fallback) ready_first = 0;
        seen_fallback |= !pk.ready;
        taken++;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double take_ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / N;
    assert_int_equal(taken, N);
    assert_true(ready_first);
    printf("pool scale: %d members, upsert %.0f ns/op, take %.0f ns/op\n", N, up_ns, take_ns);
    assert_true(up_ns < 200000 && take_ns < 200000);
    pool_set_free(s);
}

int
main(void)
{
    struct CMUnitTest t[64];
    size_t n = 0;
    for (size_t i = 0; i < sizeof order_rows / sizeof order_rows[0]; i++)
        t[n++] = (struct CMUnitTest){order_rows[i].name, test_order_row, NULL, NULL,
                                     (void *)&order_rows[i]};
    for (size_t i = 0; i < sizeof obs_rows / sizeof obs_rows[0]; i++)
        t[n++] = (struct CMUnitTest){obs_rows[i].name, test_observe_row, NULL, NULL,
                                     (void *)&obs_rows[i]};
    t[n++] =
        (struct CMUnitTest){"reserve-release-done", test_reserve_release_done, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"move-and-drop", test_move_and_drop, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"scale-100k", test_scale, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"conflict-parking", test_conflict_parking, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"random-vs-reference", test_random_vs_reference, NULL, NULL, NULL};
    return _cmocka_run_group_tests("pool", t, n, NULL, NULL);
}
