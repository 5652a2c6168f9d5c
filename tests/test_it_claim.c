/* test_it_claim.c - SandboxClaim against kubesim with the real controller
 * (--extensions): warm adoption and the pool's refill, cold create from an
 * empty pool, WarmPoolNotFound until the pool appears, and a controller
 * killed between the Sandbox patch (write 1) and the claim status (write 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_it_claim_util.h"

#include "core/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *
sandbox_of(harness *h, json_object *claim)
{
    char path[512];
    const char *n = jx_str(claim, "status.sandbox.name");
    assert_non_null(n);
    snprintf(path, sizeof path, ITX_SBX "/%s", n);
    json_object *sb = it_get(h, path);
    assert_non_null(sb);
    return sb;
}

static void
test_warm_adoption_and_refill(void **state)
{
    (void)state;
    harness *h = itx_start(NULL, NULL);
    itx_template(h, "t1", "busybox");
    itx_pool(h, "p1", "t1", 2, NULL);
    itx_wait_pool(h, "p1", 2, 20000);
    json_object *l = itx_sandboxes(h);
    char before[2][254];
    assert_int_equal(itx_pool_members(l, "p1", before, 2), 2);
    json_object_put(l);

    itx_claim(h, "c1", "p1", NULL);
    json_object *c = itx_wait_claim(h, "c1", NULL, 20000);
    json_object *sb = sandbox_of(h, c);
    const char *sbn = jx_str(sb, "metadata.name");
    /* a pool member, not a cold Sandbox named like the claim */
    assert_true(strcmp(sbn, before[0]) == 0 || strcmp(sbn, before[1]) == 0);
    assert_string_equal(jx_label(sb, "agents.x-k8s.io/launch-type"), "warm");
    assert_null(jx_label(sb, "agents.x-k8s.io/warm-pool-sandbox"));
    assert_string_equal(jx_label(sb, "agents.x-k8s.io/claim-uid"), jx_str(c, "metadata.uid"));
    assert_non_null(jx_label(sb, "agents.x-k8s.io/sandbox-template-ref-hash"));
    assert_string_equal(jx_annotation(sb, "agents.x-k8s.io/pod-name"), sbn);
    json_object *refs = jx_arr(sb, "metadata.ownerReferences");
    assert_non_null(refs);
    assert_int_equal(json_object_array_length(refs), 1);
    const char *kind = NULL;
    assert_string_equal(itx_controller_uid(sb, &kind), jx_str(c, "metadata.uid"));
    assert_string_equal(kind, "SandboxClaim");

    /* write 3: the claim's annotations (poll: written after Ready) */
    int ok = 0;
    for (int i = 0; i < 200 && !ok; i++) {
        json_object *cc = it_get(h, ITX_CLAIMS "/c1");
        const char *a = jx_annotation(cc, "agents.x-k8s.io/sandbox-name");
        ok = a && strcmp(a, sbn) == 0 &&
             jx_annotation(cc, "agents.x-k8s.io/controller-first-observed-at") &&
             jx_annotation(cc, "agents.x-k8s.io/claim-first-ready-at");
        json_object_put(cc);
        if (!ok) harness_sleep(h, 25);
    }
    assert_true(ok);

    /* refill: back to 2 ready members, the adopted one not among them */
    itx_wait_pool(h, "p1", 2, 20000);
    l = itx_sandboxes(h);
    char after[4][254];
    assert_int_equal(itx_pool_members(l, "p1", after, 4), 2);
    for (int i = 0; i < 2; i++)
        assert_string_not_equal(after[i], sbn);
    json_object_put(l);
    /* the adoption took exactly one Sandbox patch, and no claim status retry storm */
    assert_true(itx_count_requests(h, "POST", "sandboxes", "", 201) == 3);
    json_object_put(sb);
    json_object_put(c);
    itx_finish(h);
}

static void
test_cold_when_pool_empty(void **state)
{
    (void)state;
    harness *h = itx_start(NULL, NULL);
    itx_template(h, "t1", "busybox");
    itx_pool(h, "p0", "t1", 0, NULL);
    itx_claim(h, "cold-1", "p0", NULL);
    json_object *c = itx_wait_claim(h, "cold-1", NULL, 20000);
    json_object *sb = sandbox_of(h, c);
    assert_string_equal(jx_str(sb, "metadata.name"), "cold-1");
    assert_string_equal(jx_label(sb, "agents.x-k8s.io/launch-type"), "cold");
    assert_string_equal(jx_label(sb, "agents.x-k8s.io/claim-uid"), jx_str(c, "metadata.uid"));
    assert_string_equal(jx_annotation(sb, "agents.x-k8s.io/sandbox-template-ref"), "t1");
    const char *kind = NULL;
    assert_string_equal(itx_controller_uid(sb, &kind), jx_str(c, "metadata.uid"));
    assert_string_equal(kind, "SandboxClaim");
    /* replicas 0: the pool itself created nothing */
    assert_int_equal(itx_count_requests(h, "POST", "sandboxes", "", 201), 1);
    json_object_put(sb);
    json_object_put(c);
    itx_finish(h);
}

static void
test_pool_not_found_recovers(void **state)
{
    (void)state;
    harness *h = itx_start(NULL, NULL);
    itx_claim(h, "early", "later-pool", NULL);
    json_object *c = itx_wait_claim(h, "early", "WarmPoolNotFound", 20000);
    assert_string_equal(itx_ready(c, "status"), "False");
    assert_string_equal(itx_ready(c, "message"), "SandboxWarmPool \"later-pool\" not found");
    json_object_put(c);
    itx_template(h, "t1", "busybox");
    itx_pool(h, "later-pool", "t1", 1, NULL);
    /* no 1-minute requeue: the pool's appearance re-runs the claim */
    c = itx_wait_claim(h, "early", NULL, 15000);
    assert_non_null(jx_str(c, "status.sandbox.name"));
    json_object_put(c);
    itx_finish(h);
}

static void
test_killed_between_writes(void **state)
{
    (void)state;
    harness *h = itx_start(NULL, NULL);
    itx_template(h, "t1", "busybox");
    itx_pool(h, "p1", "t1", 3, NULL);
    itx_wait_pool(h, "p1", 3, 20000);
    /* write 2 (claim status) always fails: the claim stays un-Ready */
    long st = 0;
    json_object *r = harness_send_json(
        h, "POST", "/kubesim/faults", "application/json",
        "{\"verb\":\"PATCH\",\"resource\":\"sandboxclaims\",\"subresource\":\"status\","
        "\"code\":500,\"count\":-1}",
        &st);
    json_object_put(r);
    assert_true(st == 200 || st == 201);
    itx_claim(h, "crash", "p1", NULL);
    json_object *claim = it_get(h, ITX_CLAIMS "/crash");
    assert_non_null(claim);
    char uid[64];
    snprintf(uid, sizeof uid, "%s", jx_str_or(claim, "metadata.uid", ""));
    json_object_put(claim);
    /* wait for write 1: a Sandbox controlled by the claim */
    char taken[254] = "";
    for (int i = 0; i < 400 && !*taken; i++) {
        json_object *l = itx_sandboxes(h);
        json_object *items = jx_arr(l, "items");
        for (size_t j = 0; items && j < json_object_array_length(items); j++) {
            json_object *sb = json_object_array_get_idx(items, j);
            const char *u = itx_controller_uid(sb, NULL);
            if (u && strcmp(u, uid) == 0)
                snprintf(taken, sizeof taken, "%s", jx_str_or(sb, "metadata.name", ""));
        }
        json_object_put(l);
        if (!*taken) harness_sleep(h, 25);
    }
    assert_true(*taken);
    assert_true(itx_count_requests(h, "PATCH", "sandboxclaims", "status", 500) >= 1);
    /* SIGKILL between write 1 and write 2 */
    itx_kill_controller(h);
    harness_resp del;
    harness_request(h, "DELETE", "/kubesim/faults", NULL, NULL, 0, NULL, &del);
    assert_true(del.status == 200 || del.status == 204);
    harness_resp_fini(&del);
    assert_int_equal(harness_start_controller(h, 1, NULL), 0);
    json_object *c = itx_wait_claim(h, "crash", NULL, 20000);
    assert_string_equal(jx_str(c, "status.sandbox.name"), taken);
    /* exactly one Sandbox controlled by the claim */
    json_object *l = itx_sandboxes(h);
    json_object *items = jx_arr(l, "items");
    int owned = 0;
    for (size_t j = 0; items && j < json_object_array_length(items); j++) {
        const char *u = itx_controller_uid(json_object_array_get_idx(items, j), NULL);
        if (u && strcmp(u, uid) == 0) owned++;
    }
    assert_int_equal(owned, 1);
    json_object_put(l);
    json_object_put(c);
    itx_finish(h);
}

static void
test_claim_metrics(void **state)
{
    (void)state;
    const char *args[] = {"--metrics-bind-address=127.0.0.1:0", NULL};
    harness *h = itx_start(NULL, args);
    itx_template(h, "t1", "busybox");
    itx_pool(h, "p1", "t1", 1, NULL);
    itx_wait_pool(h, "p1", 1, 20000);
    itx_claim(h, "m-warm", "p1", NULL);
    json_object_put(itx_wait_claim(h, "m-warm", NULL, 20000));
    itx_pool(h, "p0", "t1", 0, NULL);
    itx_claim(h, "m-cold", "p0", NULL);
    json_object_put(itx_wait_claim(h, "m-cold", NULL, 20000));
    char *text = itx_scrape_metrics(h);
    int ok = strstr(text, "agent_sandbox_claim_creation_total{namespace=\"default\","
                          "sandbox_template=\"t1\",launch_type=\"warm\",warmpool_name=\"p1\","
                          "pod_condition=\"ready\",created_by=\"unknown\"} 1") &&
             strstr(text, "agent_sandbox_claim_creation_total{namespace=\"default\","
                          "sandbox_template=\"t1\",launch_type=\"cold\",warmpool_name=\"p0\","
                          "pod_condition=\"not_ready\",created_by=\"unknown\"} 1") &&
             strstr(text, "agent_sandbox_claim_controller_startup_latency_ms_count{launch_type="
                          "\"warm\",sandbox_template=\"t1\"} 1") &&
             strstr(text, "agent_sandbox_claim_controller_startup_latency_ms_count{launch_type="
                          "\"cold\",sandbox_template=\"t1\"} 1");
    if (!ok) fprintf(stderr, "%s\n", text);
    free(text);
    assert_true(ok);
    itx_finish(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warm_adoption_and_refill),
        cmocka_unit_test(test_cold_when_pool_empty),
        cmocka_unit_test(test_pool_not_found_recovers),
        cmocka_unit_test(test_killed_between_writes),
        cmocka_unit_test(test_claim_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
