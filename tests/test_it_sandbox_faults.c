/* test_it_sandbox_faults.c - the controller process around the reconcile:
 *
 *   rejected write   the API server refuses pod creation (kubesim fault):
 *                    Ready=False/ReconcilerError carries the server's
 *                    message, the create is retried with backoff (a handful
 *                    of attempts, not a hot loop), and the Sandbox becomes
 *                    Ready once the server accepts it
 *   multiple pods    a second Pod controlled by the Sandbox: Ready
 *                    MultiplePods and one events.k8s.io/v1 Warning Event
 *                    (reason MultiplePods, action Reconciling)
 *   restart          SIGTERM ends the controller with 0 well within 5 s;
 *                    changes made while it was down (a new Sandbox, a deleted
 *                    Pod) are reconciled after it starts again on its cache */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/test_it_sandbox_util.h"

#include "core/jx.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POD_PATH "/api/v1/namespaces/" IT_NS "/pods/"
#define WAIT_MS  20000

static long
pod_posts(harness *h)
{
    /* every POST on pods, whatever the answer */
    return it_writes(h, "pods", "POST");
}

static void
test_rejected_pod_create(void **state)
{
    (void)state;
    harness *h = it_start(NULL, NULL);
    harness_require_kubesim(h);
    long st = 0;
    json_object *r = harness_send_json(
        h, "POST", "/kubesim/faults", "application/json",
        "{\"verb\":\"POST\",\"resource\":\"pods\",\"code\":500,\"count\":-1}", &st);
    json_object_put(r);
    assert_int_equal(st, 200);
    assert_int_equal(it_create(h, IT_SBX_PATH, it_sandbox_json("rej", 1)), 201);
    int ok = 0;
    json_object *sb =
        it_wait_sandbox(h, "rej", it_ready_reason_is, "ReconcilerError", WAIT_MS, &ok);
    if (!ok) fail_msg("no ReconcilerError: %s", sb ? jx_dump(jx_get(sb, "status")) : "(none)");
    const char *msg = it_cond(sb, "Ready", "message");
    assert_non_null(msg);
    if (strncmp(msg, "Error seen: ", 12) != 0 || strstr(msg, "injected fault (kubesim)") == NULL)
        fail_msg("Ready message lacks the server's message: %s", msg);
    json_object_put(sb);
    /* backoff, not a hot loop: base 5 ms doubling gives about 10 tries in 3 s */
    long p0 = pod_posts(h);
    harness_sleep(h, 3000);
    long tries = pod_posts(h) - p0;
    fprintf(stderr, "pod create attempts in 3 s of refusals: %ld\n", tries);
    it_check_or_fail(h, tries >= 1 && tries <= 20, "%ld pod creates in 3 s", tries);
    harness_resp rr;
    harness_request(h, "DELETE", "/kubesim/faults", NULL, NULL, 0, NULL, &rr);
    assert_int_equal(rr.status, 200);
    harness_resp_fini(&rr);
    /* the backoff may have grown to a few seconds by now */
    sb = it_wait_sandbox(h, "rej", it_is_ready, NULL, 30000, &ok);
    if (!ok) fail_msg("never Ready after the fault ended: %s", jx_dump(jx_get(sb, "status")));
    json_object_put(sb);
    harness_pass(h);
    harness_free(h);
}

static int
has_multiple_pods_event(long status, json_object *body, void *ud)
{
    (void)ud;
    json_object *items = status == 200 ? jx_arr(body, "items") : NULL;
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *e = json_object_array_get_idx(items, i);
        if (!strcmp(jx_str_or(e, "reason", ""), "MultiplePods")) return 1;
    }
    return 0;
}

static void
test_multiple_pods_event(void **state)
{
    (void)state;
    harness *h = it_start(NULL, NULL);
    harness_require_kubesim(h);
    assert_int_equal(it_create(h, IT_SBX_PATH, it_sandbox_json("twin", 1)), 201);
    int ok = 0;
    json_object *sb = it_wait_sandbox(h, "twin", it_is_ready, NULL, WAIT_MS, &ok);
    assert_true(ok);
    json_object *first = it_get(h, POD_PATH "twin");
    assert_non_null(first);
    char pod[2048];
    snprintf(pod, sizeof pod,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"twin-2\","
             "\"labels\":{\"agents.x-k8s.io/sandbox-name-hash\":\"%s\"},"
             "\"ownerReferences\":[{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":"
             "\"Sandbox\",\"name\":\"twin\",\"uid\":\"%s\",\"controller\":true,"
             "\"blockOwnerDeletion\":true}]},"
             "\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"busybox\"}]}}",
             jx_label(first, "agents.x-k8s.io/sandbox-name-hash"), jx_str(sb, "metadata.uid"));
    json_object_put(first);
    json_object_put(sb);
    long st = 0;
    json_object *r = harness_send_json(h, "POST", "/api/v1/namespaces/" IT_NS "/pods",
                                       "application/json", pod, &st);
    json_object_put(r);
    assert_int_equal(st, 201);
    sb = it_wait_sandbox(h, "twin", it_ready_reason_is, "MultiplePods", WAIT_MS, &ok);
    if (!ok) fail_msg("no MultiplePods: %s", sb ? jx_dump(jx_get(sb, "status")) : "(none)");
    const char *msg = it_cond(sb, "Ready", "message");
    assert_string_equal(msg, "multiple Pods (2) are controlled by this Sandbox; refusing to "
                             "choose or create a Pod");
    json_object_put(sb);
    json_object *last = NULL;
    int rc = harness_poll(h, "/apis/events.k8s.io/v1/namespaces/" IT_NS "/events",
                          has_multiple_pods_event, NULL, WAIT_MS, 100, &last);
    if (rc != 0) fail_msg("no MultiplePods event: %s", last ? jx_dump(last) : "(none)");
    json_object *items = jx_arr(last, "items");
    int n = 0;
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *e = json_object_array_get_idx(items, i);
        if (strcmp(jx_str_or(e, "reason", ""), "MultiplePods")) continue;
        n++;
        assert_string_equal(jx_str_or(e, "type", ""), "Warning");
        assert_string_equal(jx_str_or(e, "action", ""), "Reconciling");
        assert_string_equal(jx_str_or(e, "regarding.name", ""), "twin");
        assert_string_equal(jx_str_or(e, "reportingController", ""), "agent-sandbox-controller");
        assert_non_null(strstr(jx_str_or(e, "note", ""), "multiple Pods (2)"));
    }
    json_object_put(last);
    /* emitted once: not again while Ready already says MultiplePods */
    harness_sleep(h, 1000);
    last = it_get(h, "/apis/events.k8s.io/v1/namespaces/" IT_NS "/events");
    items = jx_arr(last, "items");
    int again = 0;
    for (size_t i = 0; items && i < json_object_array_length(items); i++)
        if (!strcmp(jx_str_or(json_object_array_get_idx(items, i), "reason", ""), "MultiplePods"))
            again++;
    json_object_put(last);
    assert_int_equal(n, 1);
    assert_int_equal(again, 1);
    harness_pass(h);
    harness_free(h);
}

static int
new_running_pod(long status, json_object *body, void *ud)
{
    return status == 200 && strcmp(jx_str_or(body, "metadata.uid", ""), (const char *)ud) != 0 &&
           !strcmp(jx_str_or(body, "status.phase", ""), "Running");
}

static void
test_restart(void **state)
{
    (void)state;
    harness *h = it_start(NULL, NULL);
    harness_require_kubesim(h);
    assert_int_equal(it_create(h, IT_SBX_PATH, it_sandbox_json("before", 1)), 201);
    int ok = 0;
    json_object *sb = it_wait_sandbox(h, "before", it_is_ready, NULL, WAIT_MS, &ok);
    assert_true(ok);
    json_object_put(sb);
    json_object *pod = it_get(h, POD_PATH "before");
    assert_non_null(pod);
    char uid[128];
    snprintf(uid, sizeof uid, "%s", jx_str_or(pod, "metadata.uid", ""));
    json_object_put(pod);

    int64_t t0 = time_mono_ms();
    int code = -1;
    assert_int_equal(harness_stop_controller(h, &code), 0);
    int64_t took = time_mono_ms() - t0;
    fprintf(stderr, "controller stopped in %lld ms with %d\n", (long long)took, code);
    assert_int_equal(code, 0);
    it_check_or_fail(h, took < 5000, "shutdown took %lld ms", (long long)took);

    /* while it is down */
    assert_int_equal(it_create(h, IT_SBX_PATH, it_sandbox_json("during", 1)), 201);
    long del = it_delete(h, POD_PATH "before");
    assert_true(del == 200 || del == 202);
    assert_int_equal(it_wait_status(h, POD_PATH "before", 404, WAIT_MS), 0);

    assert_int_equal(harness_start_controller(h, 0, NULL), 0);
    sb = it_wait_sandbox(h, "during", it_is_ready, NULL, WAIT_MS, &ok);
    if (!ok) fail_msg("not Ready after restart: %s", sb ? jx_dump(jx_get(sb, "status")) : "-");
    json_object_put(sb);
    assert_int_equal(harness_poll(h, POD_PATH "before", new_running_pod, uid, WAIT_MS, 50, NULL),
                     0);
    sb = it_wait_sandbox(h, "before", it_is_ready, NULL, WAIT_MS, &ok);
    assert_true(ok);
    json_object_put(sb);
    harness_pass(h);
    harness_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejected_pod_create),
        cmocka_unit_test(test_multiple_pods_event),
        cmocka_unit_test(test_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
