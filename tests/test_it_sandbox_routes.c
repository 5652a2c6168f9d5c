/* test_it_sandbox_routes.c - controller/routes.c as a table: which Sandbox
 * keys one store change queues (no process, no server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "controller/routes.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    char keys[4][CTL_KEY_MAX];
    size_t n;
} sink;

static int
emit(void *ud, const char *route, const char *key)
{
    sink *s = ud;
    assert_null(route); /* Sandbox keys route on themselves */
    assert_true(s->n < 4);
    snprintf(s->keys[s->n++], CTL_KEY_MAX, "%s", key);
    return 0;
}

/* The store holds Sandboxes "a", "b" and "web" in namespace ns. */
static int
exists(void *ud, const char *ns, const char *name)
{
    (*(int *)ud)++;
    return !strcmp(ns, "ns") && (!strcmp(name, "a") || !strcmp(name, "b") || !strcmp(name, "web"));
}

typedef struct {
    const char *what;
    store_change c;
    const char *want[3]; /* NULL-terminated */
} row;

#define CH(k, t, n, ok, on, ook, oon)                                                              \
    {                                                                                              \
        .kind = k, .type = t, .ns = "ns", .name = n, .uid = "u", .owner_kind = ok,                 \
        .owner_name = on, .old_owner_kind = ook, .old_owner_name = oon                             \
    }

static const row rows[] = {
    {"sandbox added", CH(STORE_SANDBOX, STORE_ADDED, "a", 0, 0, 0, 0), {"sandbox/ns/a"}},
    {"sandbox deleted", CH(STORE_SANDBOX, STORE_DELETED, "zz", 0, 0, 0, 0), {"sandbox/ns/zz"}},
    {"sandbox owned by a claim",
     CH(STORE_SANDBOX, STORE_MODIFIED, "a", "SandboxClaim", "c", 0, 0),
     {"sandbox/ns/a"}},
    {"owned pod", CH(STORE_POD, STORE_MODIFIED, "a", "Sandbox", "a", 0, 0), {"sandbox/ns/a"}},
    {"owned pod, other name (pod-name annotation)",
     CH(STORE_POD, STORE_ADDED, "p1", "Sandbox", "a", 0, 0),
     {"sandbox/ns/a"}},
    {"owned pod named like another Sandbox",
     CH(STORE_POD, STORE_ADDED, "b", "Sandbox", "a", 0, 0),
     {"sandbox/ns/a", "sandbox/ns/b"}},
    {"owned service deleted",
     CH(STORE_SERVICE, STORE_DELETED, "web", "Sandbox", "web", 0, 0),
     {"sandbox/ns/web"}},
    {"owned pvc", CH(STORE_PVC, STORE_ADDED, "data-a", "Sandbox", "a", 0, 0), {"sandbox/ns/a"}},
    {"unowned pod named like a Sandbox (adoption)",
     CH(STORE_POD, STORE_ADDED, "a", 0, 0, 0, 0),
     {"sandbox/ns/a"}},
    {"unowned service named like a Sandbox",
     CH(STORE_SERVICE, STORE_ADDED, "web", 0, 0, 0, 0),
     {"sandbox/ns/web"}},
    {"unrelated pod", CH(STORE_POD, STORE_ADDED, "nginx", 0, 0, 0, 0), {NULL}},
    {"pod of a ReplicaSet", CH(STORE_POD, STORE_ADDED, "rs-1", "ReplicaSet", "rs", 0, 0), {NULL}},
    {"foreign-owned pod named like a Sandbox",
     CH(STORE_POD, STORE_MODIFIED, "a", "ReplicaSet", "rs", 0, 0),
     {"sandbox/ns/a"}},
    {"unowned pvc (no name shortcut)", CH(STORE_PVC, STORE_ADDED, "data-a", 0, 0, 0, 0), {NULL}},
    {"pod released by its Sandbox",
     CH(STORE_POD, STORE_MODIFIED, "x", 0, 0, "Sandbox", "a"),
     {"sandbox/ns/a"}},
    {"pod moved between Sandboxes",
     CH(STORE_POD, STORE_MODIFIED, "x", "Sandbox", "b", "Sandbox", "a"),
     {"sandbox/ns/b", "sandbox/ns/a"}},
    {"claim change (extension kinds route elsewhere)",
     CH(STORE_CLAIM, STORE_ADDED, "a", 0, 0, 0, 0),
     {NULL}},
    {"template change", CH(STORE_TEMPLATE, STORE_ADDED, "a", 0, 0, 0, 0), {NULL}},
};

static void
test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        sink s = {0};
        int lookups = 0;
        size_t n = ctl_route_change(&r->c, exists, &lookups, emit, &s);
        size_t want = 0;
        while (want < 3 && r->want[want])
            want++;
        if (n != s.n || n != want) fail_msg("%s: %zu keys, want %zu", r->what, n, want);
        for (size_t k = 0; k < want; k++)
            if (strcmp(s.keys[k], r->want[k]))
                fail_msg("%s: key %zu is %s, want %s", r->what, k, s.keys[k], r->want[k]);
    }
}

/* Owned children named like their Sandbox (the common case) cost no store lookup. */
static void
test_no_lookup_for_owned_same_name(void **state)
{
    (void)state;
    store_change c = CH(STORE_POD, STORE_MODIFIED, "a", "Sandbox", "a", 0, 0);
    sink s = {0};
    int lookups = 0;
    assert_int_equal(ctl_route_change(&c, exists, &lookups, emit, &s), 1);
    assert_int_equal(lookups, 0);
    /* without a lookup function, unowned objects route nowhere */
    store_change u = CH(STORE_POD, STORE_ADDED, "a", 0, 0, 0, 0);
    sink s2 = {0};
    assert_int_equal(ctl_route_change(&u, NULL, NULL, emit, &s2), 0);
}

static void
test_key_format(void **state)
{
    (void)state;
    char buf[CTL_KEY_MAX];
    assert_string_equal(ctl_route_key(buf, sizeof buf, "sandbox", "ns", "a"), "sandbox/ns/a");
    assert_null(ctl_route_key(buf, sizeof buf, "sandbox", "", "a"));
    assert_null(ctl_route_key(buf, sizeof buf, "sandbox", "ns", NULL));
    assert_null(ctl_route_key(buf, 8, "sandbox", "ns", "a")); /* does not fit */
    store_change bad = CH(STORE_SANDBOX, STORE_ADDED, "", 0, 0, 0, 0);
    sink s = {0};
    assert_int_equal(ctl_route_change(&bad, NULL, NULL, emit, &s), 0);
    assert_int_equal(ctl_route_change(NULL, NULL, NULL, emit, &s), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_no_lookup_for_owned_same_name),
        cmocka_unit_test(test_key_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
