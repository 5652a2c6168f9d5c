/* test_it_claim_lifecycle.c - claim expiry against kubesim with the real
 * controller (--extensions): shutdownTime with each shutdownPolicy (Delete
 * and DeleteForeground delete the claim, its Sandbox goes by garbage
 * collection; Retain keeps the claim as ClaimExpired and deletes the
 * Sandbox), and ttlSecondsAfterFinished counted from the mirrored Finished
 * condition once the pod completed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_it_claim_util.h"

#include "core/jx.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* RFC 3339 UTC, secs from now. */
static void
rfc3339_in(char *buf, size_t len, int secs)
{
    time_t t = time(NULL) + secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
wait_gone(harness *h, const char *path, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 50; i++) {
        long st = 0;
        json_object *o = harness_get_json(h, path, &st);
        json_object_put(o);
        if (st == 404) return 1;
        harness_sleep(h, 50);
    }
    return 0;
}

static harness *
setup(void)
{
    harness *h = itx_start(NULL, NULL);
    itx_template(h, "t1", "busybox");
    itx_pool(h, "p1", "t1", 1, NULL);
    itx_wait_pool(h, "p1", 1, 20000);
    return h;
}

static void
shutdown_with(const char *policy)
{
    harness *h = setup();
    char when[64], spec[256], path[512];
    rfc3339_in(when, sizeof when, 3);
    snprintf(spec, sizeof spec,
             ",\"lifecycle\":{\"shutdownTime\":\"%s\",\"shutdownPolicy\":\"%s\"}", when, policy);
    itx_claim(h, "life", "p1", spec);
    json_object *c = itx_wait_claim(h, "life", NULL, 20000);
    snprintf(path, sizeof path, ITX_SBX "/%s", jx_str(c, "status.sandbox.name"));
    json_object_put(c);
    if (strcmp(policy, "Retain") == 0) {
        c = itx_wait_claim(h, "life", "ClaimExpired", 20000);
        assert_string_equal(itx_ready(c, "status"), "False");
        json_object_put(c);
        assert_true(wait_gone(h, path, 20000)); /* the Sandbox is deleted, the claim kept */
        c = it_get(h, ITX_CLAIMS "/life");
        assert_non_null(c);
        assert_string_equal(itx_ready(c, "reason"), "ClaimExpired");
        json_object_put(c);
    } else {
        assert_true(wait_gone(h, ITX_CLAIMS "/life", 20000));
        assert_true(wait_gone(h, path, 20000)); /* garbage collected */
    }
    itx_finish(h);
}

static void
test_shutdown_delete(void **state)
{
    (void)state;
    shutdown_with("Delete");
}

static void
test_shutdown_delete_foreground(void **state)
{
    (void)state;
    shutdown_with("DeleteForeground");
}

static void
test_shutdown_retain(void **state)
{
    (void)state;
    shutdown_with("Retain");
}

static void
test_ttl_after_finished(void **state)
{
    (void)state;
    harness *h = setup();
    itx_claim(h, "ttl", "p1",
              ",\"lifecycle\":{\"ttlSecondsAfterFinished\":1,\"shutdownPolicy\":\"Delete\"}");
    json_object *c = itx_wait_claim(h, "ttl", NULL, 20000);
    char sbn[254], path[512];
    snprintf(sbn, sizeof sbn, "%s", jx_str(c, "status.sandbox.name"));
    json_object_put(c);
    harness_sleep(h, 1500);
    c = it_get(h, ITX_CLAIMS "/ttl"); /* not finished: still there after the TTL */
    assert_non_null(c);
    json_object_put(c);
    snprintf(path, sizeof path, "/kubesim/pods/" ITX_NS "/%s/finish?exitCode=0", sbn);
    harness_resp r;
    harness_request(h, "POST", path, NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    harness_resp_fini(&r);
    assert_true(wait_gone(h, ITX_CLAIMS "/ttl", 20000));
    itx_finish(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shutdown_delete),
        cmocka_unit_test(test_shutdown_delete_foreground),
        cmocka_unit_test(test_shutdown_retain),
        cmocka_unit_test(test_ttl_after_finished),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
