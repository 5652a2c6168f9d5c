/* test_rec_conditions.c - metav1 condition-set semantics (spec/api.md §2
 * intro) as a table, plus the shared metadata helpers of reconciler/meta.h.
 * JSON in rows uses ' for ". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jx.h"
#include "reconciler/conditions.h"
#include "reconciler/meta.h"

/* 2026-01-01T00:10:00Z */
#define NOW 1767226200000LL

static json_object *
pj(const char *s)
{
    char *b = strdup(s);
    for (char *p = b; *p; p++)
        if (*p == '\'') *p = '"';
    const char *err = NULL;
    json_object *j = jx_parse(b, strlen(b), &err);
    if (j == NULL) fail_msg("bad JSON: %s", b);
    free(b);
    return j;
}

typedef struct cond_row {
    const char *name;
    const char *before; /* conditions array */
    int remove;         /* 1: rec_cond_remove(type) */
    const char *type, *status, *reason, *message;
    int64_t gen;
    int64_t now_ms;
    int want_rc;
    const char *after;
} cond_row;

#define OLD_READY                                                                                  \
    "{'type':'Ready','status':'False','observedGeneration':1,'lastTransitionTime':"                \
    "'2026-01-01T00:00:00Z','reason':'DependenciesNotReady','message':'Pod does not exist'}"

static const cond_row cond_rows[] = {
    {"append new with now and Go key order", "[]", 0, "Ready", "True", "DependenciesReady",
     "Pod is Ready", 2, NOW, 1,
     "[{'type':'Ready','status':'True','observedGeneration':2,'lastTransitionTime':"
     "'2026-01-01T00:10:00Z','reason':'DependenciesReady','message':'Pod is Ready'}]"},
    {"status flip moves lastTransitionTime", "[" OLD_READY "]", 0, "Ready", "True",
     "DependenciesReady", "Pod is Ready", 1, NOW, 1,
     "[{'type':'Ready','status':'True','observedGeneration':1,'lastTransitionTime':"
     "'2026-01-01T00:10:00Z','reason':'DependenciesReady','message':'Pod is Ready'}]"},
    {"same status, new reason/message: time kept", "[" OLD_READY "]", 0, "Ready", "False",
     "ReconcilerError", "Error seen: x", 1, NOW, 1,
     "[{'type':'Ready','status':'False','observedGeneration':1,'lastTransitionTime':"
     "'2026-01-01T00:00:00Z','reason':'ReconcilerError','message':'Error seen: x'}]"},
    {"observedGeneration always overwritten", "[" OLD_READY "]", 0, "Ready", "False",
     "DependenciesNotReady", "Pod does not exist", 7, NOW, 1,
     "[{'type':'Ready','status':'False','observedGeneration':7,'lastTransitionTime':"
     "'2026-01-01T00:00:00Z','reason':'DependenciesNotReady','message':'Pod does not exist'}]"},
    {"identical: no change", "[" OLD_READY "]", 0, "Ready", "False", "DependenciesNotReady",
     "Pod does not exist", 1, NOW, 0, "[" OLD_READY "]"},
    {"one-second resolution: sub-second now truncated", "[]", 0, "Suspended", "False",
     "NotSuspended", "Sandbox is not suspended", 1, NOW + 999, 1,
     "[{'type':'Suspended','status':'False','observedGeneration':1,'lastTransitionTime':"
     "'2026-01-01T00:10:00Z','reason':'NotSuspended','message':'Sandbox is not suspended'}]"},
    {"generation 0 omitted (omitempty)", "[]", 0, "Finished", "True", "PodFailed", "Pod failed", 0,
     NOW, 1,
     "[{'type':'Finished','status':'True','lastTransitionTime':'2026-01-01T00:10:00Z',"
     "'reason':'PodFailed','message':'Pod failed'}]"},
    {"other types untouched, appended in order", "[" OLD_READY "]", 0, "Suspended", "False",
     "NotSuspended", "m", 1, NOW, 1,
     "[" OLD_READY ",{'type':'Suspended','status':'False','observedGeneration':1,"
     "'lastTransitionTime':'2026-01-01T00:10:00Z','reason':'NotSuspended','message':'m'}]"},
    {"remove present", "[" OLD_READY ",{'type':'PodScheduled','status':'True'}]", 1, "PodScheduled",
     NULL, NULL, NULL, 0, NOW, 1, "[" OLD_READY "]"},
    {"remove absent", "[" OLD_READY "]", 1, "Finished", NULL, NULL, NULL, 0, NOW, 0,
     "[" OLD_READY "]"},
    {"remove drops duplicates", "[{'type':'A'},{'type':'B'},{'type':'A'}]", 1, "A", NULL, NULL,
     NULL, 0, NOW, 1, "[{'type':'B'}]"},
};

static void
test_cond_row(void **state)
{
    const cond_row *r = *state;
    json_object *conds = pj(r->before);
    int rc = r->remove ? rec_cond_remove(conds, r->type)
                       : rec_cond_set(conds, r->type, r->status, r->reason, r->message, r->gen,
                                      r->now_ms);
    assert_int_equal(rc, r->want_rc);
    json_object *want = pj(r->after);
    if (!json_object_equal(conds, want)) fail_msg("%s: got %s", r->name, jx_dump(conds));
    /* key order too: the wire bytes must match Go's */
    assert_string_equal(jx_dump(conds), jx_dump(want));
    json_object_put(want);
    json_object_put(conds);
}

static void
test_cond_queries(void **state)
{
    (void)state;
    json_object *c = pj("[" OLD_READY ",{'type':'PodScheduled','status':'True','reason':''}]");
    assert_string_equal(rec_cond_reason(c, "Ready"), "DependenciesNotReady");
    assert_string_equal(rec_cond_status(c, "PodScheduled"), "True");
    assert_true(rec_cond_is_true(c, "PodScheduled"));
    assert_false(rec_cond_is_true(c, "Ready"));
    assert_null(rec_cond_find(c, "Finished"));
    assert_null(rec_cond_reason(c, "Finished"));
    json_object *notarr = pj("{}");
    assert_int_equal(rec_cond_set(notarr, "Ready", "True", "", "", 1, NOW), ERR_INVALID);
    assert_int_equal(rec_cond_remove(notarr, "Ready"), 0);
    assert_null(rec_cond_find(NULL, "Ready"));
    json_object_put(notarr);
    json_object_put(c);
}

/* ---- meta -------------------------------------------------------------------- */

static void
test_meta_system_keys(void **state)
{
    (void)state;
    assert_true(rec_meta_is_system_key("agents.x-k8s.io/pod-name"));
    assert_true(rec_meta_is_system_key("extensions.agents.x-k8s.io/x"));
    assert_false(rec_meta_is_system_key("x.agents.x-k8s.io/y"));
    assert_false(rec_meta_is_system_key("agents.x-k8s.io"));
    assert_false(rec_meta_is_system_key("opentelemetry.io/trace-context"));
    assert_true(rec_meta_is_system_annotation("opentelemetry.io/trace-context"));
    assert_false(rec_meta_is_system_annotation("app"));
    assert_string_equal(rec_meta_created_by_normalize("python-client"), "python-client");
    assert_string_equal(rec_meta_created_by_normalize("go-client"), "go-client");
    assert_string_equal(rec_meta_created_by_normalize("controller"), "controller");
    assert_string_equal(rec_meta_created_by_normalize("Controller"), "unknown");
    assert_string_equal(rec_meta_created_by_normalize(""), "unknown");
    assert_null(rec_meta_created_by_normalize(NULL));
}

static const kube_resource SB = {"agents.x-k8s.io", "v1beta1", "sandboxes", "Sandbox", 1};

static void
test_meta_owner_refs(void **state)
{
    (void)state;
    json_object *owner = pj("{'metadata':{'name':'sb','uid':'u1'}}");
    json_object *ref = rec_meta_owner_ref_new(&SB, owner);
    assert_string_equal(jx_dump(ref), "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":"
                                      "\"Sandbox\",\"name\":\"sb\",\"uid\":\"u1\",\"controller\":"
                                      "true,\"blockOwnerDeletion\":true}");
    json_object *pod = pj("{'metadata':{'ownerReferences':[{'apiVersion':'v1','kind':'X','name':"
                          "'x','uid':'ux'},{'apiVersion':'apps/v1','kind':'ReplicaSet','name':"
                          "'rs','uid':'urs','controller':true}]}}");
    json_object *c = rec_meta_controller_ref(pod);
    char buf[128];
    assert_string_equal(rec_meta_ref_describe(c, buf, sizeof buf), "ReplicaSet/rs (UID: urs)");
    assert_string_equal(rec_meta_ref_group(c, buf, sizeof buf), "apps");
    json_object *core = pj("{'apiVersion':'v1'}");
    assert_string_equal(rec_meta_ref_group(core, buf, sizeof buf), "");
    assert_true(rec_meta_is_controlled_by(pod, "urs"));
    assert_false(rec_meta_is_controlled_by(pod, "ux"));
    assert_false(rec_meta_is_controlled_by(pod, ""));
    json_object *refs = rec_meta_owner_refs_with(pod, ref); /* consumes ref */
    assert_int_equal(json_object_array_length(refs), 2);
    assert_string_equal(jx_str(json_object_array_get_idx(refs, 0), "uid"), "ux");
    assert_string_equal(jx_str(json_object_array_get_idx(refs, 1), "uid"), "u1");
    json_object *none = pj("{'metadata':{}}");
    assert_null(rec_meta_controller_ref(none));
    json_object_put(none);
    json_object_put(refs);
    json_object_put(core);
    json_object_put(pod);
    json_object_put(owner);
}

static void
test_meta_maps(void **state)
{
    (void)state;
    json_object *src = pj("{'b':'2','a':'1','agents.x-k8s.io/x':'s','n':3}");
    char *csv = rec_meta_keys_csv(src, NULL);
    assert_string_equal(csv, "a,agents.x-k8s.io/x,b,n");
    free(csv);
    json_object *dst = json_object_new_object();
    int (*keep)(const char *) = NULL;
    assert_int_equal(rec_meta_copy_map(dst, src, keep), 3); /* non-strings skipped */
    json_object_put(dst);
    csv = rec_meta_keys_csv(NULL, NULL);
    assert_string_equal(csv, "");
    free(csv);
    assert_true(rec_meta_csv_has("a,b,agents.x-k8s.io/x", "b"));
    assert_true(rec_meta_csv_has("a,b,agents.x-k8s.io/x", "agents.x-k8s.io/x"));
    assert_false(rec_meta_csv_has("ab,c", "a"));
    assert_false(rec_meta_csv_has("", "a"));
    assert_string_equal(rec_meta_map_str(src, "agents.x-k8s.io/x"), "s");
    assert_null(rec_meta_map_str(src, "n"));
    json_object *patch = NULL;
    assert_int_equal(rec_meta_patch_set(&patch, "annotations", "agents.x-k8s.io/pod-name", "p"), 0);
    assert_int_equal(rec_meta_patch_set(&patch, "labels", "gone", NULL), 0);
    assert_string_equal(jx_dump(patch), "{\"metadata\":{\"annotations\":{\"agents.x-k8s.io/"
                                        "pod-name\":\"p\"},\"labels\":{\"gone\":null}}}");
    json_object_put(patch);
    json_object *a = pj("{'metadata':{'resourceVersion':'10'}}");
    json_object *b = pj("{'metadata':{'resourceVersion':'9'}}");
    json_object *c = pj("{'metadata':{'resourceVersion':'x1'}}");
    assert_int_equal(rec_meta_rv_cmp(a, b), 1);
    assert_int_equal(rec_meta_rv_cmp(b, a), -1);
    assert_int_equal(rec_meta_rv_cmp(a, a), 0);
    assert_int_equal(rec_meta_rv_cmp(a, c), 0);
    json_object_put(a);
    json_object_put(b);
    json_object_put(c);
    json_object_put(src);
}

int
main(void)
{
    enum { N = sizeof cond_rows / sizeof cond_rows[0] };
    struct CMUnitTest tests[N + 4];
    for (size_t i = 0; i < N; i++)
        tests[i] = (struct CMUnitTest){.name = cond_rows[i].name,
                                       .test_func = test_cond_row,
                                       .initial_state = (void *)&cond_rows[i]};
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_cond_queries);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_meta_system_keys);
    tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_meta_owner_refs);
    tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_meta_maps);
    return cmocka_run_group_tests_name("rec_conditions", tests, NULL, NULL);
}
