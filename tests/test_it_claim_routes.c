/* test_it_claim_routes.c - controller/ext_routes.c as a table: which
 * extension keys (and on which route, i.e. which shard) one store change
 * queues, against a real store holding claims, pools and templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "controller/ext_routes.h"
#include "controller/routes.h"
#include "core/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXK 8

typedef struct {
    char keys[MAXK][2 * CTL_KEY_MAX];
    size_t n;
} sink;

static int
emit(void *ud, const char *route, const char *key)
{
    sink *s = ud;
    if (s == NULL) return 0;
    assert_true(s->n < MAXK);
    snprintf(s->keys[s->n++], sizeof s->keys[0], "%s|%s", route ? route : "-", key);
    return 0;
}

typedef struct {
    const char *what;
    store_change c;
    const char *want[MAXK]; /* NULL-terminated, any order */
} row;

#define CH(k, t, n, ok, on, ook, oon)                                                              \
    {                                                                                              \
        .kind = k, .type = t, .ns = "ns", .name = n, .uid = "u", .owner_kind = ok,                 \
        .owner_name = on, .old_owner_kind = ook, .old_owner_name = oon                             \
    }

static const row rows[] = {
    {"claim added", CH(STORE_CLAIM, STORE_ADDED, "c1", 0, 0, 0, 0), {"ns/p1|claim/ns/c1"}},
    {"unknown claim deleted: own key",
     CH(STORE_CLAIM, STORE_DELETED, "c9", 0, 0, 0, 0),
     {"-|claim/ns/c9"}},
    {"known claim deleted: its pool's shard",
     CH(STORE_CLAIM, STORE_DELETED, "c1", 0, 0, 0, 0),
     {"ns/p1|claim/ns/c1"}},
    {"pool status update (same generation)",
     CH(STORE_POOL, STORE_MODIFIED, "p1", 0, 0, 0, 0),
     {"ns/p1|pool/ns/p1"}},
    {"pool deleted: its unbound claims",
     CH(STORE_POOL, STORE_DELETED, "p1", 0, 0, 0, 0),
     {"ns/p1|pool/ns/p1", "ns/p1|claim/ns/c1"}},
    {"pool appears", CH(STORE_POOL, STORE_ADDED, "p3", 0, 0, 0, 0), {"ns/p3|pool/ns/p3"}},
    {"template label patch (same generation)",
     CH(STORE_TEMPLATE, STORE_MODIFIED, "t1", 0, 0, 0, 0),
     {"-|template/ns/t1"}},
    {"template appears: its pools and their claims",
     CH(STORE_TEMPLATE, STORE_ADDED, "t2", 0, 0, 0, 0),
     {"-|template/ns/t2", "ns/p2|pool/ns/p2", "ns/p2|claim/ns/c3"}},
    {"pool member",
     CH(STORE_SANDBOX, STORE_MODIFIED, "s1", "SandboxWarmPool", "p1", 0, 0),
     {"ns/p1|poolmember/ns/p1:s1"}},
    {"member adopted by a claim",
     CH(STORE_SANDBOX, STORE_MODIFIED, "s1", "SandboxClaim", "c1", "SandboxWarmPool", "p1"),
     {"ns/p1|poolmember/ns/p1:s1", "ns/p1|claim/ns/c1"}},
    {"member deleted",
     CH(STORE_SANDBOX, STORE_DELETED, "s2", "SandboxWarmPool", "p2", 0, 0),
     {"ns/p2|poolmember/ns/p2:s2"}},
    {"foreign Sandbox named like a claim",
     CH(STORE_SANDBOX, STORE_ADDED, "c3", 0, 0, 0, 0),
     {"ns/p2|claim/ns/c3"}},
    {"cold Sandbox of its claim",
     CH(STORE_SANDBOX, STORE_ADDED, "c3", "SandboxClaim", "c3", 0, 0),
     {"ns/p2|claim/ns/c3"}},
    {"unrelated Sandbox", CH(STORE_SANDBOX, STORE_ADDED, "zz", 0, 0, 0, 0), {NULL}},
    {"template's NetworkPolicy",
     CH(STORE_NETPOL, STORE_MODIFIED, "t1-network-policy", "SandboxTemplate", "t1", 0, 0),
     {"-|template/ns/t1"}},
    {"foreign NetworkPolicy with a template's name",
     CH(STORE_NETPOL, STORE_ADDED, "t9-network-policy", 0, 0, 0, 0),
     {"-|template/ns/t9"}},
    {"pod: nothing here", CH(STORE_POD, STORE_ADDED, "c1", "Sandbox", "c1", 0, 0), {NULL}},
};

static char dir[64];
static store *st;

static void
put(store_wtxn *w, enum store_kind k, const char *txt)
{
    json_object *o = json_tokener_parse(txt);
    assert_non_null(o);
    assert_int_equal(store_put(w, k, o), 0);
    json_object_put(o);
}

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/asc-extroutes-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char err[256];
    assert_int_equal(store_open(dir, NULL, &st, err, sizeof err), 0);
    store_wtxn *w = NULL;
    assert_int_equal(store_wtxn_begin(st, &w), 0);
#define MD(n, extra)                                                                               \
    "\"metadata\":{\"name\":\"" n "\",\"namespace\":\"ns\",\"uid\":\"u-" n "\"" extra "}"
    put(w, STORE_CLAIM, "{" MD("c1", "") ",\"spec\":{\"warmPoolRef\":{\"name\":\"p1\"}}}");
    put(w, STORE_CLAIM,
        "{" MD("c2", "") ",\"spec\":{\"warmPoolRef\":{\"name\":\"p1\"}},"
                         "\"status\":{\"sandbox\":{\"name\":\"x\"}}}");
    put(w, STORE_CLAIM, "{" MD("c3", "") ",\"spec\":{\"warmPoolRef\":{\"name\":\"p2\"}}}");
    put(w, STORE_POOL,
        "{" MD("p1", ",\"generation\":1") ",\"spec\":{\"sandboxTemplateRef\":{\"name\":\"t1\"}}}");
    put(w, STORE_POOL,
        "{" MD("p2", ",\"generation\":1") ",\"spec\":{\"sandboxTemplateRef\":{\"name\":\"t2\"}}}");
    put(w, STORE_TEMPLATE, "{" MD("t1", ",\"generation\":1") ",\"spec\":{}}");
    assert_int_equal(store_wtxn_commit(w), 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int
has(const sink *s, const char *k)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], k) == 0) return 1;
    return 0;
}

static void
test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        ctl_ext_router *rt = ctl_ext_router_new();
        assert_non_null(rt);
        store_rtxn *tx = NULL;
        assert_int_equal(store_rtxn_begin(st, &tx), 0);
        ctl_ext_route_all(rt, tx, emit, NULL); /* what a synced controller knows */
        sink s = {.n = 0};
        size_t n = ctl_ext_route_change(rt, tx, &r->c, emit, &s);
        store_rtxn_end(tx);
        size_t want = 0;
        while (want < MAXK && r->want[want])
            want++;
        int ok = n == s.n && s.n == want;
        for (size_t j = 0; ok && j < want; j++)
            ok = has(&s, r->want[j]);
        if (!ok) {
            fprintf(stderr, "row \"%s\": got", r->what);
            for (size_t j = 0; j < s.n; j++)
                fprintf(stderr, " %s", s.keys[j]);
            fprintf(stderr, "\n");
        }
        assert_true(ok);
        ctl_ext_router_free(rt);
    }
}

static void
test_route_all(void **state)
{
    (void)state;
    ctl_ext_router *rt = ctl_ext_router_new();
    store_rtxn *tx = NULL;
    assert_int_equal(store_rtxn_begin(st, &tx), 0);
    sink s = {.n = 0};
    assert_int_equal(ctl_ext_route_all(rt, tx, emit, &s), 6);
    store_rtxn_end(tx);
    const char *want[] = {"-|template/ns/t1",  "ns/p1|pool/ns/p1",  "ns/p2|pool/ns/p2",
                          "ns/p1|claim/ns/c1", "ns/p1|claim/ns/c2", "ns/p2|claim/ns/c3"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(s.keys[i], want[i]); /* templates, pools, then claims */
    ctl_ext_router_free(rt);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_route_all),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
