/* test_it_claim_burst.c - 200 claims sent at once against a warm pool of
 * 100 (real controller with --extensions, kubesim): every claim Ready, warm
 * and cold add up, no Sandbox ever given to two claims, cold Sandboxes named
 * like their claims, and the pool creates exactly its deficit. Pods become
 * Ready after 4 s, so about half the claims are warm and half cold. */
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

#define POOL   100
#define CLAIMS 200

static int
all_ready(long status, json_object *body, void *ud)
{
    (void)ud;
    if (status != 200) return 0;
    json_object *items = jx_arr(body, "items");
    if (!items || json_object_array_length(items) != CLAIMS) return 0;
    for (size_t i = 0; i < CLAIMS; i++) {
        const char *s = itx_ready(json_object_array_get_idx(items, i), "status");
        if (!s || strcmp(s, "True") != 0) return 0;
    }
    return 1;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
test_burst_200_on_pool_100(void **state)
{
    (void)state;
    /* Pods take 4 s to become Ready, so the refill cannot catch up with
     * the burst: claims beyond the ready members go cold after the 2 s
     * warm grace (both paths run concurrently). */
    const char *sim[] = {"--pod-ready-delay-ms", "4000", NULL};
    harness *h = itx_start(sim, NULL);
    itx_template(h, "t1", "busybox");
    itx_pool(h, "big", "t1", POOL, NULL);
    itx_wait_pool(h, "big", POOL, 30000);
    long posts0 = itx_count_requests(h, "POST", "sandboxes", "", 201);
    assert_int_equal(posts0, POOL);

    for (int i = 0; i < CLAIMS; i++) {
        char name[32];
        snprintf(name, sizeof name, "b-%03d", i);
        itx_claim(h, name, "big", NULL);
    }
    json_object *claims = NULL;
    int rc = harness_poll(h, ITX_CLAIMS, all_ready, NULL, 40000, 50, &claims);
    if (rc != 0) harness_print_logs(h, stderr);
    assert_int_equal(rc, 0);

    /* bound names unique; warm + cold = 200; cold named like the claim */
    json_object *items = jx_arr(claims, "items");
    const char *bound[CLAIMS];
    int warm = 0, cold = 0;
    json_object *sbl = itx_sandboxes(h);
    json_object *sbs = jx_arr(sbl, "items");
    for (size_t i = 0; i < CLAIMS; i++) {
        json_object *c = json_object_array_get_idx(items, i);
        const char *cn = jx_str(c, "metadata.name"), *uid = jx_str(c, "metadata.uid");
        bound[i] = jx_str(c, "status.sandbox.name");
        assert_non_null(bound[i]);
        json_object *sb = NULL;
        for (size_t j = 0; j < json_object_array_length(sbs); j++) {
            json_object *s = json_object_array_get_idx(sbs, j);
            if (strcmp(jx_str_or(s, "metadata.name", ""), bound[i]) == 0) sb = s;
        }
        assert_non_null(sb);
        const char *kind = NULL, *owner = itx_controller_uid(sb, &kind);
        assert_non_null(owner);
        assert_string_equal(owner, uid);
        assert_string_equal(kind, "SandboxClaim");
        const char *lt = jx_label(sb, "agents.x-k8s.io/launch-type");
        assert_non_null(lt);
        if (strcmp(lt, "warm") == 0) {
            warm++;
            assert_string_not_equal(bound[i], cn);
        } else {
            assert_string_equal(lt, "cold");
            assert_string_equal(bound[i], cn); /* every cold Sandbox is named like its claim */
            cold++;
        }
    }
    fprintf(stderr, "burst: warm %d cold %d\n", warm, cold);
    assert_true(warm >= 1);
    assert_int_equal(warm + cold, CLAIMS);
    qsort(bound, CLAIMS, sizeof bound[0], cmp_str);
    for (int i = 1; i < CLAIMS; i++)
        assert_string_not_equal(bound[i - 1], bound[i]);
    /* no Sandbox carries two claim ownerReferences */
    for (size_t j = 0; j < json_object_array_length(sbs); j++) {
        json_object *refs = jx_arr(json_object_array_get_idx(sbs, j), "metadata.ownerReferences");
        int claims_refs = 0, ctl = 0;
        for (size_t k = 0; refs && k < json_object_array_length(refs); k++) {
            json_object *r = json_object_array_get_idx(refs, k);
            if (strcmp(jx_str_or(r, "kind", ""), "SandboxClaim") == 0) claims_refs++;
            if (jx_bool(r, "controller", 0)) ctl++;
        }
        assert_true(claims_refs <= 1);
        assert_true(ctl <= 1);
    }
    json_object_put(sbl);

    /* the pool refills to 100 and creates exactly its deficit: one member
     * per adopted Sandbox; the other POSTs are the cold Sandboxes */
    itx_wait_pool(h, "big", POOL, 30000);
    harness_sleep(h, 500); /* a late over-create would show up here */
    sbl = itx_sandboxes(h);
    assert_int_equal(itx_pool_members(sbl, "big", NULL, 0), POOL);
    json_object_put(sbl);
    long posts = itx_count_requests(h, "POST", "sandboxes", "", 0);
    fprintf(stderr, "burst: sandbox POSTs %ld (initial %ld + refill %d + cold %d)\n", posts, posts0,
            warm, cold);
    assert_int_equal(posts, posts0 + warm + cold);
    json_object_put(claims);
    itx_finish(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_200_on_pool_100),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
