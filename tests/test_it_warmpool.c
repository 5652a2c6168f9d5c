/* test_it_warmpool.c - SandboxWarmPool and SandboxTemplate against kubesim
 * with the real controller (--extensions): OnReplenish keeps stale members
 * and refills with the new template, Recreate replaces them, a
 * metadata-only template edit replaces nothing, scaling through /scale,
 * and the template's managed NetworkPolicy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_it_claim_util.h"

#include "core/jx.h"

#include <stdio.h>
#include <string.h>

#define NP_PATH "/apis/networking.k8s.io/v1/namespaces/" ITX_NS "/networkpolicies"

static const char *
image_of(json_object *list, const char *name)
{
    json_object *items = jx_arr(list, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *sb = json_object_array_get_idx(items, i);
        if (strcmp(jx_str_or(sb, "metadata.name", ""), name) != 0) continue;
        json_object *c = jx_arr(sb, "spec.podTemplate.spec.containers");
        return c ? jx_str(json_object_array_get_idx(c, 0), "image") : NULL;
    }
    return NULL;
}

static int
contains(char names[][254], size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) return 1;
    return 0;
}

static void
set_image(harness *h, const char *tmpl, const char *image)
{
    char path[256], body[256];
    snprintf(path, sizeof path, ITX_TMPLS "/%s", tmpl);
    snprintf(body, sizeof body,
             "{\"spec\":{\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"main\","
             "\"image\":\"%s\"}]}}}}",
             image);
    assert_int_equal(it_patch(h, path, body), 200);
}

static void
test_on_replenish_keeps_stale_members(void **state)
{
    (void)state;
    harness *h = itx_start(NULL, NULL);
    itx_template(h, "t1", "busybox");
    itx_pool(h, "p1", "t1", 2, NULL); /* unset strategy: OnReplenish */
    itx_wait_pool(h, "p1", 2, 20000);
    json_object *l = itx_sandboxes(h);
    char before[2][254];
    assert_int_equal(itx_pool_members(l, "p1", before, 2), 2);
    json_object_put(l);
    set_image(h, "t1", "alpine");
    harness_sleep(h, 1500);
    l = itx_sandboxes(h);
    char now[4][254];
    assert_int_equal(itx_pool_members(l, "p1", now, 4), 2);
    assert_true(contains(now, 2, before[0]) && contains(now, 2, before[1]));
    assert_string_equal(image_of(l, before[0]), "busybox");
    json_object_put(l);
    /* a claim takes one; its replacement uses the new template */
    itx_claim(h, "c1", "p1", NULL);
    json_object *c = itx_wait_claim(h, "c1", NULL, 20000);
    json_object_put(c);
    itx_wait_pool(h, "p1", 2, 20000);
    l = itx_sandboxes(h);
    assert_int_equal(itx_pool_members(l, "p1", now, 4), 2);
    int fresh = 0;
    for (int i = 0; i < 2; i++)
        if (!contains(before, 2, now[i])) {
            assert_string_equal(image_of(l, now[i]), "alpine");
            fresh++;
        }
    assert_int_equal(fresh, 1);
    json_object_put(l);
    itx_finish(h);
}

static void
test_recreate_replaces_stale_members(void **state)
{
    (void)state;
    harness *h = itx_start(NULL, NULL);
    itx_template(h, "t1", "busybox");
    itx_pool(h, "p1", "t1", 2, "Recreate");
    itx_wait_pool(h, "p1", 2, 20000);
    json_object *l = itx_sandboxes(h);
    char before[2][254];
    assert_int_equal(itx_pool_members(l, "p1", before, 2), 2);
    json_object_put(l);

    /* metadata only: nothing replaced */
    assert_int_equal(it_patch(h, ITX_TMPLS "/t1",
                              "{\"spec\":{\"podTemplate\":{\"metadata\":{\"labels\":"
                              "{\"team\":\"a\"}}}}}"),
                     200);
    harness_sleep(h, 1500);
    l = itx_sandboxes(h);
    char now[4][254];
    assert_int_equal(itx_pool_members(l, "p1", now, 4), 2);
    assert_true(contains(now, 2, before[0]) && contains(now, 2, before[1]));
    json_object_put(l);

    /* spec change: both replaced by members of the new blueprint */
    set_image(h, "t1", "alpine");
    int done = 0;
    for (int i = 0; i < 400 && !done; i++) {
        harness_sleep(h, 50);
        l = itx_sandboxes(h);
        size_t n = itx_pool_members(l, "p1", now, 4);
        done = n == 2 && !contains(before, 2, now[0]) && !contains(before, 2, now[1]) &&
               image_of(l, now[0]) && strcmp(image_of(l, now[0]), "alpine") == 0 &&
               image_of(l, now[1]) && strcmp(image_of(l, now[1]), "alpine") == 0;
        json_object_put(l);
    }
    if (!done) harness_print_logs(h, stderr);
    assert_true(done);
    itx_wait_pool(h, "p1", 2, 20000);
    itx_finish(h);
}

static void
test_scale_and_network_policy(void **state)
{
    (void)state;
    harness *h = itx_start(NULL, NULL);
    itx_template(h, "t1", "busybox");
    itx_pool(h, "p1", "t1", 3, NULL);
    itx_wait_pool(h, "p1", 3, 20000);
    /* the HPA's way: the /scale subresource */
    long st = 0;
    json_object *r =
        harness_send_json(h, "PATCH", ITX_POOLS "/p1/scale", "application/merge-patch+json",
                          "{\"spec\":{\"replicas\":1}}", &st);
    json_object_put(r);
    assert_int_equal(st, 200);
    itx_wait_pool(h, "p1", 1, 20000);
    json_object *l = itx_sandboxes(h);
    assert_int_equal(itx_pool_members(l, "p1", NULL, 0), 1);
    json_object_put(l);
    json_object *p = it_get(h, ITX_POOLS "/p1");
    assert_non_null(p);
    assert_int_equal(jx_int(p, "status.observedGeneration", -1),
                     jx_int(p, "metadata.generation", 0));
    assert_non_null(
        strstr(jx_str_or(p, "status.selector", ""), "agents.x-k8s.io/warm-pool-sandbox="));
    json_object_put(p);

    /* the template: its hash label and the managed NetworkPolicy */
    json_object *np = NULL;
    for (int i = 0; i < 200 && !np; i++) {
        np = it_get(h, NP_PATH "/t1-network-policy");
        if (!np) harness_sleep(h, 25);
    }
    assert_non_null(np);
    const char *kind = NULL;
    json_object *t = it_get(h, ITX_TMPLS "/t1");
    assert_string_equal(itx_controller_uid(np, &kind), jx_str(t, "metadata.uid"));
    assert_string_equal(kind, "SandboxTemplate");
    assert_non_null(jx_label(t, "agents.x-k8s.io/sandbox-template-ref-hash"));
    json_object *types = jx_arr(np, "spec.policyTypes");
    assert_non_null(types);
    assert_int_equal(json_object_array_length(types), 2);
    json_object_put(np);
    json_object_put(t);
    /* Unmanaged: the owned policy is deleted */
    assert_int_equal(
        it_patch(h, ITX_TMPLS "/t1", "{\"spec\":{\"networkPolicyManagement\":\"Unmanaged\"}}"),
        200);
    int gone = 0;
    for (int i = 0; i < 200 && !gone; i++) {
        long s2 = 0;
        json_object *o = harness_get_json(h, NP_PATH "/t1-network-policy", &s2);
        json_object_put(o);
        gone = s2 == 404;
        if (!gone) harness_sleep(h, 25);
    }
    assert_true(gone);
    itx_finish(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_replenish_keeps_stale_members),
        cmocka_unit_test(test_recreate_replaces_stale_members),
        cmocka_unit_test(test_scale_and_network_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
