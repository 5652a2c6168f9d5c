/* test_sim_patch.c - merge patch, JSON patch and strategic merge patch.
 *
 * Two kinds of rows: hand-written cases for each rule, and rows taken from
 * the golden exchanges of a real kube-apiserver (merge-patch,
 * json-patch-test-fail, strategic-merge-pod, pod-status, node-status): the
 * object the server held before a PATCH (its previous answer) is patched
 * here and compared with the server's answer, ignoring what the server
 * itself changes on every write (resourceVersion, generation,
 * managedFields) and the null members Go's structs print. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/kubesim/sim_patch.h"
#include "bench/kubesim/sim_schema.h"
#include "core/err.h"
#include "core/yaml2json.h"

enum { MERGE, JSONP, SMP };

typedef struct {
    const char *name;
    int flavour;
    const char *kind; /* SMP only */
    const char *doc;
    const char *patch;
    const char *want; /* NULL when an error is expected */
    int want_rc;
} patch_row;

/* A row built from a golden file at start (owns its JSON). */
typedef struct {
    const char *name;
    int flavour;
    const char *kind;
    json_object *gdoc, *gpatch, *gwant;
    int want_rc;
    int status_only; /* a /status write: the server keeps only .status */
} gold_row;

static json_object *
parse(const char *s)
{
    json_object *o;
    if (s == NULL) return NULL;
    o = json_tokener_parse(s);
    if (o == NULL && strcmp(s, "null") != 0) fail_msg("bad test JSON: %s", s);
    return o;
}

/* Drop null members recursively, and the fields the server rewrites. */
static void
normalise(json_object *o, int top)
{
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            normalise(json_object_array_get_idx(o, i), 0);
        return;
    }
    if (!json_object_is_type(o, json_type_object)) return;
    if (top) {
        json_object *md = NULL;
        if (json_object_object_get_ex(o, "metadata", &md) && md != NULL) {
            json_object_object_del(md, "resourceVersion");
            json_object_object_del(md, "generation");
            json_object_object_del(md, "managedFields");
        }
    }
    for (int again = 1; again;) {
        again = 0;
        json_object_object_foreach(o, k, v)
        {
            if (v == NULL) {
                json_object_object_del(o, k);
                again = 1;
                break;
            }
            normalise(v, 0);
        }
    }
}

/* Apply one patch; all JSON arguments are consumed. */
static void
run_case(const char *name, int flavour, const char *kind, json_object *doc, json_object *patch,
         json_object *want, int want_rc, int norm)
{
    json_object *out = NULL, *before = NULL;
    char err[256] = "";
    int rc = 0;

    /* inputs must stay untouched */
    if (doc != NULL) assert_int_equal(json_object_deep_copy(doc, &before, NULL), 0);
    switch (flavour) {
    case MERGE:
        out = sim_merge_patch(doc, patch);
        break;
    case JSONP:
        rc = sim_json_patch(doc, patch, &out, err, sizeof err);
        break;
    case SMP:
        rc = sim_strategic_merge(doc, patch, kind, &out, err, sizeof err);
        break;
    }
    if (rc != want_rc) fail_msg("%s: rc %d (%s), want %d", name, rc, err, want_rc);
    if (want_rc != 0) assert_null(out);
    if (want != NULL || want_rc == 0) {
        if (norm) {
            normalise(out, 1);
            normalise(want, 1);
        }
        if (!sim_json_equal(out, want))
            fail_msg("%s\n got: %s\nwant: %s\n err: %s", name,
                     out ? json_object_to_json_string(out) : "NULL",
                     want ? json_object_to_json_string(want) : "NULL", err);
    }
    if (doc != NULL && !sim_json_equal(doc, before)) fail_msg("input document modified");
    json_object_put(before);
    json_object_put(out);
    json_object_put(doc);
    json_object_put(patch);
    json_object_put(want);
}

static void
test_patch_row(void **state)
{
    const patch_row *r = *state;
    run_case(r->name, r->flavour, r->kind, parse(r->doc), parse(r->patch), parse(r->want),
             r->want_rc, 0);
}

static void
test_gold_row(void **state)
{
    const gold_row *r = *state;
    json_object *want = json_object_get(r->gwant), *out = NULL;
    char err[256] = "";

    if (!r->status_only) {
        run_case(r->name, r->flavour, r->kind, json_object_get(r->gdoc), json_object_get(r->gpatch),
                 want, r->want_rc, 1);
        return;
    }
    /* Status writes: the server keeps the patched .status only (and the
     * binding in between changed spec), so compare .status. */
    int rc = r->flavour == SMP
                 ? sim_strategic_merge(r->gdoc, r->gpatch, r->kind, &out, err, sizeof err)
             : (out = sim_merge_patch(r->gdoc, r->gpatch)) != NULL ? 0
                                                                   : ERR_NOMEM;
    assert_int_equal(rc, 0);
    json_object *got = json_object_get(json_object_object_get(out, "status"));
    json_object *exp = json_object_get(json_object_object_get(want, "status"));
    normalise(got, 0);
    normalise(exp, 0);
    if (!sim_json_equal(got, exp))
        fail_msg("%s\n got: %s\nwant: %s", r->name, json_object_to_json_string(got),
                 json_object_to_json_string(exp));
    json_object_put(got);
    json_object_put(exp);
    json_object_put(out);
    json_object_put(want);
}

static const patch_row rows[] = {
    /* RFC 7386 appendix A */
    {"merge/replace-value", MERGE, 0, "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}", 0},
    {"merge/add", MERGE, 0, "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}", 0},
    {"merge/null-deletes", MERGE, 0, "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}",
     0},
    {"merge/array-replaced", MERGE, 0, "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}", 0},
    {"merge/value-to-array", MERGE, 0, "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}", 0},
    {"merge/nested", MERGE, 0, "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
     "{\"a\":{\"b\":\"d\"}}", 0},
    {"merge/list-of-maps-replaced", MERGE, 0, "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}",
     "{\"a\":[1]}", 0},
    {"merge/non-object-patch", MERGE, 0, "{\"a\":\"foo\"}", "[\"c\"]", "[\"c\"]", 0},
    {"merge/null-patch", MERGE, 0, "{\"a\":\"foo\"}", "null", NULL, 0},
    {"merge/new-object-nulls-dropped", MERGE, 0, "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}",
     "{\"a\":{\"bb\":{}}}", 0},
    {"merge/into-non-object", MERGE, 0, "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}", 0},

    /* RFC 6902 */
    {"json/add-member", JSONP, 0, "{\"foo\":\"bar\"}",
     "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]", "{\"foo\":\"bar\",\"baz\":\"qux\"}",
     0},
    {"json/add-array-index", JSONP, 0, "{\"foo\":[\"bar\",\"baz\"]}",
     "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
     "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", 0},
    {"json/add-array-end-dash", JSONP, 0, "{\"foo\":[1]}",
     "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":2}]", "{\"foo\":[1,2]}", 0},
    {"json/add-index-at-length", JSONP, 0, "{\"foo\":[1]}",
     "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":2}]", "{\"foo\":[1,2]}", 0},
    {"json/add-index-out-of-range", JSONP, 0, "{\"foo\":[1]}",
     "[{\"op\":\"add\",\"path\":\"/foo/5\",\"value\":2}]", NULL, ERR_UNPROCESSABLE},
    {"json/add-leading-zero-index", JSONP, 0, "{\"foo\":[1,2]}",
     "[{\"op\":\"add\",\"path\":\"/foo/01\",\"value\":2}]", NULL, ERR_UNPROCESSABLE},
    {"json/add-missing-parent", JSONP, 0, "{}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]",
     NULL, ERR_UNPROCESSABLE},
    {"json/add-null-value", JSONP, 0, "{}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":null}]",
     "{\"a\":null}", 0},
    {"json/add-whole-doc", JSONP, 0, "{\"a\":1}",
     "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}", 0},
    {"json/remove-member", JSONP, 0, "{\"baz\":\"qux\",\"foo\":\"bar\"}",
     "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}", 0},
    {"json/remove-array-element", JSONP, 0, "{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
     "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}", 0},
    {"json/remove-missing", JSONP, 0, "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]", NULL,
     ERR_UNPROCESSABLE},
    {"json/replace", JSONP, 0, "{\"baz\":\"qux\",\"foo\":\"bar\"}",
     "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
     "{\"baz\":\"boo\",\"foo\":\"bar\"}", 0},
    {"json/replace-missing", JSONP, 0, "{\"a\":{}}",
     "[{\"op\":\"replace\",\"path\":\"/a/missing\",\"value\":\"x\"}]", NULL, ERR_UNPROCESSABLE},
    {"json/replace-without-value", JSONP, 0, "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\"}]",
     NULL, ERR_UNPROCESSABLE},
    {"json/move", JSONP, 0,
     "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
     "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
     "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}", 0},
    {"json/move-array", JSONP, 0, "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
     "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
     "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}", 0},
    {"json/move-into-own-child", JSONP, 0, "{\"a\":{\"b\":{}}}",
     "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]", NULL, ERR_UNPROCESSABLE},
    {"json/copy", JSONP, 0, "{\"a\":{\"x\":1}}",
     "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}]", "{\"a\":{\"x\":1},\"b\":{\"x\":1}}", 0},
    {"json/copy-missing-from", JSONP, 0, "{}",
     "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}]", NULL, ERR_UNPROCESSABLE},
    {"json/test-pass-number-value", JSONP, 0, "{\"n\":1}",
     "[{\"op\":\"test\",\"path\":\"/n\",\"value\":1.0}]", "{\"n\":1}", 0},
    {"json/test-object-key-order", JSONP, 0, "{\"o\":{\"a\":1,\"b\":2}}",
     "[{\"op\":\"test\",\"path\":\"/o\",\"value\":{\"b\":2,\"a\":1}}]", "{\"o\":{\"a\":1,\"b\":2}}",
     0},
    {"json/test-fail-aborts-all", JSONP, 0, "{\"a\":1}",
     "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2},{\"op\":\"test\",\"path\":\"/"
     "a\",\"value\":1}]",
     NULL, ERR_UNPROCESSABLE},
    {"json/test-missing-path", JSONP, 0, "{}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":null}]",
     NULL, ERR_UNPROCESSABLE},
    {"json/escapes", JSONP, 0, "{\"a/b\":1,\"m~n\":2}",
     "[{\"op\":\"test\",\"path\":\"/a~1b\",\"value\":1},{\"op\":\"remove\",\"path\":\"/m~0n\"}]",
     "{\"a/b\":1}", 0},
    {"json/label-key-with-slash", JSONP, 0, "{\"metadata\":{\"labels\":{}}}",
     "[{\"op\":\"add\",\"path\":\"/metadata/labels/app.kubernetes.io~1name\",\"value\":\"x\"}]",
     "{\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"x\"}}}", 0},
    {"json/bad-escape", JSONP, 0, "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/~2\"}]", NULL,
     ERR_UNPROCESSABLE},
    {"json/unknown-op", JSONP, 0, "{\"a\":1}", "[{\"op\":\"bogus\",\"path\":\"/a\"}]", NULL,
     ERR_UNPROCESSABLE},
    {"json/missing-op", JSONP, 0, "{\"a\":1}", "[{\"path\":\"/a\"}]", NULL, ERR_UNPROCESSABLE},
    {"json/not-an-array", JSONP, 0, "{\"a\":1}", "{\"op\":\"remove\",\"path\":\"/a\"}", NULL,
     ERR_BADREQUEST},
    {"json/element-not-object", JSONP, 0, "{\"a\":1}", "[1]", NULL, ERR_BADREQUEST},
    {"json/pointer-without-slash", JSONP, 0, "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"a\"}]",
     NULL, ERR_UNPROCESSABLE},
    {"json/empty-ops", JSONP, 0, "{\"a\":1}", "[]", "{\"a\":1}", 0},

    /* Strategic merge patch */
    {"smp/labels-merge-null-deletes", SMP, "Pod",
     "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
     "{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"3\"}}}",
     "{\"metadata\":{\"labels\":{\"b\":\"2\",\"c\":\"3\"}}}", 0},
    {"smp/ownerrefs-new-uid-goes-first", SMP, "ConfigMap",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\"}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"2\",\"name\":\"b\"}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"2\",\"name\":\"b\"},{\"uid\":\"1\",\"name\":"
     "\"a\"}]}}",
     0},
    {"smp/ownerrefs-delete-by-uid", SMP, "Pod",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\"},{\"uid\":\"2\"}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"$patch\":\"delete\",\"uid\":\"1\"}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"2\"}]}}", 0},
    {"smp/merge-middle-keeps-order", SMP, "Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"image\":\"x\"},{\"name\":\"c\"}"
     "]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"image\":\"y\"},{\"name\":\"c\"}"
     "]}}",
     0},
    {"smp/container-ports-by-containerPort", SMP, "Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,\"name\":"
     "\"http\"}]}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,\"protocol\":"
     "\"TCP\"}]}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,\"name\":"
     "\"http\","
     "\"protocol\":\"TCP\"}]}]}}",
     0},
    {"smp/env-by-name", SMP, "Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"X\",\"value\":\"1\"},{"
     "\"name\":"
     "\"Y\",\"value\":\"2\"}]}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"Y\",\"value\":\"3\"}]}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"X\",\"value\":\"1\"},{"
     "\"name\":"
     "\"Y\",\"value\":\"3\"}]}]}}",
     0},
    {"smp/service-ports-by-port", SMP, "Service",
     "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"a\"},{\"port\":443,\"name\":\"b\"}]}}",
     "{\"spec\":{\"ports\":[{\"port\":443,\"targetPort\":8443}]}}",
     "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"a\"},{\"port\":443,\"name\":\"b\","
     "\"targetPort\":"
     "8443}]}}",
     0},
    {"smp/ports-of-other-kinds-replaced", SMP, "ConfigMap",
     "{\"spec\":{\"ports\":[{\"port\":80}]}}", "{\"spec\":{\"ports\":[{\"port\":443}]}}",
     "{\"spec\":{\"ports\":[{\"port\":443}]}}", 0},
    {"smp/volumes-and-mounts", SMP, "Pod",
     "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}],\"containers\":[{\"name\":\"c\","
     "\"volumeMounts\":[{\"mountPath\":\"/a\",\"name\":\"v\"}]}]}}",
     "{\"spec\":{\"volumes\":[{\"name\":\"w\",\"emptyDir\":{}}],\"containers\":[{\"name\":\"c\","
     "\"volumeMounts\":[{\"mountPath\":\"/a\",\"readOnly\":true}]}]}}",
     "{\"spec\":{\"volumes\":[{\"name\":\"w\",\"emptyDir\":{}},{\"name\":\"v\",\"emptyDir\":{}}],"
     "\"containers\":[{\"name\":\"c\",\"volumeMounts\":[{\"mountPath\":\"/a\",\"name\":\"v\","
     "\"readOnly\":true}]}]}}",
     0},
    {"smp/conditions-by-type", SMP, "Pod",
     "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}",
     "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":"
     "\"PodScheduled\","
     "\"status\":\"True\"}]}}",
     "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":"
     "\"PodScheduled\","
     "\"status\":\"True\"}]}}",
     0},
    {"smp/finalizers-set-merge", SMP, "ConfigMap", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
     "{\"metadata\":{\"finalizers\":[\"b\",\"c\"]}}",
     "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}", 0},
    {"smp/finalizers-delete-from-primitive-list", SMP, "ConfigMap",
     "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
     "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}",
     "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}", 0},
    {"smp/other-lists-replaced", SMP, "Pod", "{\"spec\":{\"tolerations\":[{\"key\":\"a\"}]}}",
     "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}]}}",
     "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}]}}", 0},
    {"smp/list-replace-directive", SMP, "Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
     "{\"spec\":{\"containers\":[{\"$patch\":\"replace\"},{\"name\":\"c\"}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}", 0},
    {"smp/map-replace-directive", SMP, "ConfigMap", "{\"data\":{\"a\":\"1\",\"b\":\"2\"}}",
     "{\"data\":{\"$patch\":\"replace\",\"c\":\"3\"}}", "{\"data\":{\"c\":\"3\"}}", 0},
    {"smp/map-delete-directive", SMP, "ConfigMap", "{\"data\":{\"a\":\"1\"},\"x\":1}",
     "{\"data\":{\"$patch\":\"delete\"}}", "{\"x\":1}", 0},
    {"smp/set-element-order-and-retain-keys-ignored", SMP, "Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
     "{\"spec\":{\"$setElementOrder/"
     "containers\":[{\"name\":\"a\"}],\"containers\":[{\"name\":\"a\","
     "\"image\":\"i\"}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}", 0},
    {"smp/set-element-order-reorders", SMP, "Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}}",
     "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"c\"},{\"name\":\"b\"},{\"name\":"
     "\"a\"}],\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"c\"},{\"name\":\"b\"},{\"name\":\"a\",\"image\":"
     "\"i\"}]}}",
     0},
    {"smp/set-element-order-primitives", SMP, "ConfigMap",
     "{\"metadata\":{\"finalizers\":[\"x\",\"y\"]}}",
     "{\"metadata\":{\"$setElementOrder/finalizers\":[\"y\",\"z\",\"x\"],\"finalizers\":[\"z\"]}}",
     "{\"metadata\":{\"finalizers\":[\"y\",\"z\",\"x\"]}}", 0},
    {"smp/retain-keys", SMP, "Pod",
     "{\"spec\":{\"strategy\":{\"type\":\"Rolling\",\"rolling\":{\"max\":1}}}}",
     "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
     "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"}}}", 0},
    {"smp/merge-then-delete-same-key", SMP, "Pod",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"b\":1},{\"uid\":\"2\"}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"a\":1},{\"$patch\":\"delete\",\"uid\":"
     "\"1\"}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"2\"}]}}", 0},
    {"smp/delete-then-recreate-same-key", SMP, "Pod",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"b\":1},{\"uid\":\"2\"}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"$patch\":\"delete\",\"uid\":\"1\"},{\"uid\":\"1\","
     "\"a\":1}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"a\":1},{\"uid\":\"2\"}]}}", 0},
    {"smp/duplicate-key-in-patch-merges", SMP, "Pod", "{\"metadata\":{}}",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"a\":1},{\"uid\":\"1\",\"b\":2}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"a\":1,\"b\":2}]}}", 0},
    {"smp/numeric-key-1-equals-1.0", SMP, "Service", "{\"spec\":{\"ports\":[{\"port\":80}]}}",
     "{\"spec\":{\"ports\":[{\"port\":80.0,\"name\":\"h\"}]}}",
     "{\"spec\":{\"ports\":[{\"port\":80.0,\"name\":\"h\"}]}}", 0},
    {"smp/missing-merge-key", SMP, "Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
     "{\"spec\":{\"containers\":[{\"image\":\"i\"}]}}", NULL, ERR_BADREQUEST},
    {"smp/bad-patch-directive", SMP, "Pod", "{\"spec\":{}}", "{\"spec\":{\"$patch\":\"explode\"}}",
     NULL, ERR_BADREQUEST},
    {"smp/not-an-object", SMP, "Pod", "{}", "[1]", NULL, ERR_BADREQUEST},
    {"smp/null-deletes-list", SMP, "Pod", "{\"metadata\":{\"finalizers\":[\"a\"]}}",
     "{\"metadata\":{\"finalizers\":null}}", "{\"metadata\":{}}", 0},
    {"smp/node-addresses-by-type", SMP, "Node",
     "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"1\"}]}}",
     "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"2\"}]}}",
     "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"2\"}]}}", 0},
};

/* ---- randomised invariants -------------------------------------------------
 * Seeded, so a failure reproduces. Each iteration builds a random document
 * and patch and checks properties that hold whatever the input:
 *  - a merge patch is idempotent: M(M(d, p), p) == M(d, p);
 *  - with no list rule and no directive in play, a strategic merge patch is
 *    a merge patch (keys a..e match no rule);
 *  - JSON patch: copy x to a new key then remove it is the identity; test of
 *    a value just read passes; add then remove of a fresh key is the
 *    identity;
 *  - no input is modified. */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned
rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static json_object *
rand_value(int depth)
{
    static const char *const keys[] = {"a", "b", "c", "d", "e"};
    unsigned kind = depth > 3 ? rnd(4) : rnd(7);

    switch (kind) {
    case 0:
        return NULL;
    case 1:
        return json_object_new_boolean((int)rnd(2));
    case 2:
        return json_object_new_int64((int64_t)rnd(5) - 2);
    case 3: {
        char s[4] = {(char)('p' + rnd(3)), 0, 0, 0};
        return json_object_new_string(s);
    }
    case 4:
    case 5: {
        json_object *o = json_object_new_object();
        for (unsigned i = rnd(4); i > 0; i--)
            json_object_object_add(o, keys[rnd(5)], rand_value(depth + 1));
        return o;
    }
    default: {
        json_object *a = json_object_new_array();
        for (unsigned i = rnd(3); i > 0; i--)
            json_object_array_add(a, rand_value(depth + 1));
        return a;
    }
    }
}

static json_object *
rand_object(void)
{
    json_object *o = rand_value(0);
    if (!json_object_is_type(o, json_type_object)) {
        json_object *w = json_object_new_object();
        json_object_object_add(w, "a", o);
        return w;
    }
    return o;
}

static json_object *
ops1(const char *json)
{
    return json_tokener_parse(json);
}

static void
test_random_invariants(void **state)
{
    (void)state;
    char err[256], buf[512];

    for (int it = 0; it < 3000; it++) {
        json_object *d = rand_object(), *p = rand_object(), *dc = NULL, *pc = NULL;
        json_object_deep_copy(d, &dc, NULL);
        json_object_deep_copy(p, &pc, NULL);

        json_object *m1 = sim_merge_patch(d, p), *m2 = sim_merge_patch(m1, p);
        if (!sim_json_equal(m1, m2))
            fail_msg("merge patch not idempotent (iteration %d): %s", it,
                     json_object_to_json_string(p));

        json_object *sm = NULL;
        assert_int_equal(sim_strategic_merge(d, p, NULL, &sm, err, sizeof err), 0);
        if (!sim_json_equal(sm, m1))
            fail_msg("SMP without rules != merge patch (iteration %d)\n doc %s\npatch %s", it,
                     json_object_to_json_string(dc), json_object_to_json_string(pc));

        /* JSON patch identities on the first key of d */
        json_object *out = NULL;
        json_object_object_foreach(d, k, v)
        {
            (void)v;
            snprintf(buf, sizeof buf,
                     "[{\"op\":\"copy\",\"from\":\"/%s\",\"path\":\"/zz\"},"
                     "{\"op\":\"remove\",\"path\":\"/zz\"}]",
                     k);
            json_object *ops = ops1(buf);
            assert_int_equal(sim_json_patch(d, ops, &out, err, sizeof err), 0);
            assert_true(sim_json_equal(out, d));
            json_object_put(out);
            json_object_put(ops);
            /* test against the value read */
            ops = json_object_new_array();
            json_object *t = json_object_new_object();
            json_object_object_add(t, "op", json_object_new_string("test"));
            snprintf(buf, sizeof buf, "/%s", k);
            json_object_object_add(t, "path", json_object_new_string(buf));
            json_object *vc = NULL;
            json_object_deep_copy(v, &vc, NULL);
            json_object_object_add(t, "value", vc);
            json_object_array_add(ops, t);
            assert_int_equal(sim_json_patch(d, ops, &out, err, sizeof err), 0);
            json_object_put(out);
            json_object_put(ops);
            break;
        }
        json_object *ops = ops1("[{\"op\":\"add\",\"path\":\"/fresh\",\"value\":[1,{\"x\":null}]},"
                                "{\"op\":\"add\",\"path\":\"/fresh/0\",\"value\":0},"
                                "{\"op\":\"remove\",\"path\":\"/fresh\"}]");
        assert_int_equal(sim_json_patch(d, ops, &out, err, sizeof err), 0);
        assert_true(sim_json_equal(out, d));
        json_object_put(out);
        json_object_put(ops);

        assert_true(sim_json_equal(d, dc));
        assert_true(sim_json_equal(p, pc));
        json_object_put(m1);
        json_object_put(m2);
        json_object_put(sm);
        json_object_put(d);
        json_object_put(p);
        json_object_put(dc);
        json_object_put(pc);
    }
}

/* ---- the sharing merge patch (the server's write path) -------------------- */

static char *
dump(json_object *o)
{
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    return strdup(t ? t : "NULL");
}

/* Change every object and array of o in place (what a careless writer of the
 * result could do): a key added, a member deleted, an element appended. */
static void
scribble(json_object *o, int depth)
{
    if (depth > 8) return;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v)
        {
            (void)k;
            scribble(v, depth + 1);
        }
        json_object_object_del(o, "a");
        json_object_object_add(o, "scribbled", json_object_new_int(depth));
    } else if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            scribble(json_object_array_get_idx(o, i), depth + 1);
        json_object_array_add(o, json_object_new_string("scribbled"));
    }
}

/* sim_merge_patch_shared == sim_merge_patch byte for byte (key order
 * included); doc stays as it was, also after the unshared result is
 * scribbled over. */
static void
check_shared(const char *what, json_object *doc, json_object *patch)
{
    char *before = dump(doc);
    json_object *deep = sim_merge_patch(doc, patch);
    json_object *sh = sim_merge_patch_shared(doc, patch);
    char *a = dump(deep), *b = dump(sh);
    if (strcmp(a, b) != 0) fail_msg("%s: shared merge differs\n deep: %s\nshared: %s", what, a, b);
    char *mid = dump(doc);
    if (strcmp(before, mid) != 0) fail_msg("%s: doc modified by the merge", what);
    if (sh != NULL && sh != doc) {
        assert_int_equal(sim_json_unshare(sh, doc), 0);
        scribble(sh, 0);
        char *after = dump(doc);
        if (strcmp(before, after) != 0)
            fail_msg("%s: doc modified through the unshared result\nbefore %s\n after %s", what,
                     before, after);
        free(after);
    }
    free(before);
    free(mid);
    free(a);
    free(b);
    json_object_put(deep);
    json_object_put(sh);
}

static void
test_merge_shared(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].flavour != MERGE) continue;
        json_object *d = parse(rows[i].doc), *p = parse(rows[i].patch);
        check_shared(rows[i].name, d, p);
        json_object_put(d);
        json_object_put(p);
    }
    for (int it = 0; it < 3000; it++) {
        json_object *d = rand_object(), *p = rand_object();
        char name[64];
        snprintf(name, sizeof name, "random %d", it);
        check_shared(name, d, p);
        json_object_put(d);
        json_object_put(p);
    }
}

/* What the server relies on: untouched members are the doc's own nodes (no
 * copy), patched containers are new, unshare leaves nothing shared. */
static void
test_merge_shared_nodes(void **state)
{
    (void)state;
    json_object *doc = parse("{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\",\"labels\":"
                             "{\"a\":\"1\"},\"managedFields\":[{\"manager\":\"m\"}]},"
                             "\"data\":{\"k\":\"v\",\"big\":{\"deep\":[1,2,{\"z\":true}]}}}");
    json_object *patch = parse("{\"data\":{\"k\":\"w\"}}");
    json_object *res = sim_merge_patch_shared(doc, patch);
    json_object *dm = json_object_object_get(doc, "metadata");
    json_object *dd = json_object_object_get(doc, "data");
    json_object *rd = json_object_object_get(res, "data");
    assert_ptr_equal(json_object_object_get(res, "metadata"), dm);
    assert_ptr_equal(json_object_object_get(res, "kind"), json_object_object_get(doc, "kind"));
    assert_ptr_not_equal(rd, dd);
    assert_ptr_equal(json_object_object_get(rd, "big"), json_object_object_get(dd, "big"));
    assert_string_equal(json_object_get_string(json_object_object_get(rd, "k")), "w");
    /* equality short-cuts on shared nodes, and still compares the rest */
    assert_false(sim_json_equal(res, doc));
    assert_true(sim_json_equal(json_object_object_get(res, "metadata"), dm));

    assert_int_equal(sim_json_unshare(res, doc), 0);
    assert_ptr_not_equal(json_object_object_get(res, "metadata"), dm);
    assert_ptr_not_equal(json_object_object_get(rd, "big"), json_object_object_get(dd, "big"));
    assert_true(sim_json_equal(json_object_object_get(res, "metadata"), dm));

    /* a shallow copy has the same members in the same order, by reference */
    json_object *sc = sim_json_shallow_copy(dm);
    char *x = dump(sc), *y = dump(dm);
    assert_string_equal(x, y);
    assert_ptr_equal(json_object_object_get(sc, "labels"), json_object_object_get(dm, "labels"));
    assert_null(sim_json_shallow_copy(json_object_object_get(dm, "managedFields")));
    free(x);
    free(y);
    json_object_put(sc);
    json_object_put(res);
    json_object_put(doc);
    json_object_put(patch);
}

/* ---- schema fixed points (kubesim skips copying shared subtrees of a
 * custom resource when the stored version is one) -------------------------- */

/* A schema with every kind of node that prunes or defaults. */
static const char *fp_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"spec\":{\"type\":\"object\",\"properties\":{"
    "\"a\":{\"type\":\"string\",\"default\":\"x\"},"
    "\"b\":{\"type\":\"object\",\"properties\":{\"c\":{\"type\":\"integer\",\"default\":1},"
    "\"d\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"default\":{\"e\":\"z\"},"
    "\"properties\":{\"e\":{\"type\":\"string\",\"default\":\"e\"},\"f\":{\"type\":\"string\"}}}}}}"
    ","
    "\"m\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"object\","
    "\"properties\":{\"g\":{\"type\":\"string\",\"default\":\"g\"}}}},"
    "\"p\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true,"
    "\"properties\":{\"c\":{\"type\":\"integer\",\"default\":2}}},"
    "\"n\":{\"type\":\"string\",\"nullable\":true},"
    "\"emb\":{\"type\":\"object\",\"x-kubernetes-embedded-resource\":true,"
    "\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\","
    "\"default\":\"y\"}}}}}}},"
    "\"status\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},"
    "\"d\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"e\":{\"type\":"
    "\"string\",\"default\":\"s\"}}}}}}}}";

/* Random values over the schema's own keys, unknown keys and nulls. */
static json_object *
fp_value(int depth)
{
    static const char *const keys[] = {"spec", "status", "a", "b",   "c", "d",  "e",       "f",
                                       "m",    "p",      "n", "emb", "g", "zz", "metadata"};
    unsigned kind = depth > 4 ? rnd(4) : rnd(8);
    switch (kind) {
    case 0:
        return NULL;
    case 1:
        return json_object_new_int64((int64_t)rnd(3));
    case 2:
    case 3: {
        char t[2] = {(char)('p' + rnd(3)), 0};
        return json_object_new_string(t);
    }
    case 7: {
        json_object *a = json_object_new_array();
        for (unsigned i = rnd(3); i > 0; i--)
            json_object_array_add(a, fp_value(depth + 1));
        return a;
    }
    default: {
        json_object *o = json_object_new_object();
        for (unsigned i = rnd(5); i > 0; i--)
            json_object_object_add(o, keys[rnd(15)], fp_value(depth + 1));
        return o;
    }
    }
}

static json_object *
fp_object(void)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "apiVersion", json_object_new_string("t.example/v1"));
    json_object_object_add(o, "kind", json_object_new_string("T"));
    json_object *m = json_object_new_object();
    json_object_object_add(m, "name", json_object_new_string("n"));
    json_object_object_add(o, "metadata", m);
    json_object_object_add(o, "spec", fp_value(1));
    json_object_object_add(o, "status", fp_value(1));
    if (rnd(3) == 0) json_object_object_add(o, "zz", fp_value(1));
    return o;
}

/* doc = schema(X) is a fixed point (a second pass changes no byte); a merge
 * patch of it, shared or deep-copied, comes out of the schema the same, and
 * the schema pass on the shared result leaves doc untouched. When doc is
 * also valid, the pass that skips doc's shared nodes (SIM_SCHEMA_OLD_CLEAN)
 * gives the same bytes, return code, causes and pruned paths as the full
 * pass on the deep copy. Returns 1 when that last check ran. */
static int
fp_check(const sim_schema *sc, int it, const char *base)
{
    sim_schema_report rep;
    json_object *doc = base ? parse(base) : fp_object(), *patch = json_object_new_object();
    if (base && rnd(2))
        json_object_object_add(json_object_object_get(doc, "status"), "zz", fp_value(2));
    sim_schema_report_init(&rep);
    sim_schema_apply(sc, doc, NULL, SIM_SCHEMA_PRUNE | SIM_SCHEMA_DEFAULT, &rep);
    sim_schema_report_fini(&rep);
    char *once = dump(doc);
    json_object *again = NULL;
    json_object_deep_copy(doc, &again, NULL);
    sim_schema_report_init(&rep);
    sim_schema_apply(sc, again, NULL, SIM_SCHEMA_PRUNE | SIM_SCHEMA_DEFAULT, &rep);
    sim_schema_report_fini(&rep);
    char *twice = dump(again);
    if (strcmp(once, twice) != 0)
        fail_msg("iteration %d: schema pass not idempotent\n once %s\ntwice %s", it, once, twice);

    json_object_object_add(patch, rnd(2) ? "spec" : "status", fp_value(1));
    if (rnd(2)) json_object_object_add(patch, "spec", fp_value(1));
    json_object *sh = sim_merge_patch_shared(doc, patch), *deep = sim_merge_patch(doc, patch);
    json_object *sh2 = sim_merge_patch_shared(doc, patch);
    sim_schema_report_init(&rep);
    sim_schema_apply(sc, sh, doc, SIM_SCHEMA_ALL, &rep);
    sim_schema_report_fini(&rep);
    sim_schema_report drep;
    sim_schema_report_init(&drep);
    int drc = sim_schema_apply(sc, deep, doc, SIM_SCHEMA_ALL, &drep);
    json_object *vcopy = NULL;
    json_object_deep_copy(doc, &vcopy, NULL);
    sim_schema_report_init(&rep);
    int doc_valid = sim_schema_apply(sc, vcopy, NULL, SIM_SCHEMA_ALL, &rep) == 0;
    sim_schema_report_fini(&rep);
    json_object_put(vcopy);
    if (doc_valid) {
        sim_schema_report_init(&rep);
        int crc = sim_schema_apply(sc, sh2, doc, SIM_SCHEMA_ALL | SIM_SCHEMA_OLD_CLEAN, &rep);
        char *c = dump(sh2), *d = dump(deep);
        if (crc != drc || rep.causes.n != drep.causes.n || rep.npruned != drep.npruned ||
            strcmp(c, d) != 0)
            fail_msg("iteration %d: clean pass rc %d causes %zu pruned %zu %s\n"
                     "full pass rc %d causes %zu pruned %zu %s\npatch %s",
                     it, crc, rep.causes.n, (size_t)rep.npruned, c, drc, drep.causes.n,
                     (size_t)drep.npruned, d, json_object_to_json_string(patch));
        for (size_t i = 0; i < rep.causes.n && i < drep.causes.n; i++) {
            const sim_cause *x = &rep.causes.v[i], *y = &drep.causes.v[i];
            if (strcmp(x->reason, y->reason) || strcmp(x->field, y->field) ||
                strcmp(x->message, y->message))
                fail_msg("iteration %d: cause %s %s\n vs %s %s", it, x->field, x->message, y->field,
                         y->message);
        }
        for (size_t i = 0; i < rep.npruned && i < drep.npruned; i++)
            if (strcmp(rep.pruned[i], drep.pruned[i]) != 0)
                fail_msg("iteration %d: pruned %s vs %s", it, rep.pruned[i], drep.pruned[i]);
        free(c);
        free(d);
        sim_schema_report_fini(&rep);
    }
    sim_schema_report_fini(&drep);
    char *after = dump(doc), *a = dump(sh), *b = dump(deep);
    if (strcmp(once, after) != 0)
        fail_msg("iteration %d: stored doc changed by the schema pass on a shared result\n"
                 "before %s\n after %s\npatch %s",
                 it, once, after, json_object_to_json_string(patch));
    if (strcmp(a, b) != 0) fail_msg("iteration %d: shared %s\n deep %s", it, a, b);
    free(once);
    free(twice);
    free(after);
    free(a);
    free(b);
    json_object_put(again);
    json_object_put(sh);
    json_object_put(sh2);
    json_object_put(deep);
    json_object_put(doc);
    json_object_put(patch);
    return doc_valid;
}

static void
test_schema_fixed_point(void **state)
{
    (void)state;
    sim_schema *sc = NULL;
    char err[256];
    json_object *js = parse(fp_schema);
    assert_int_equal(sim_schema_compile(js, &sc, err, sizeof err), 0);
    json_object_put(js);
    int clean = 0;
    for (int it = 0; it < 3000; it++)
        clean += fp_check(sc, it, NULL);
    assert_true(clean > 300); /* the clean pass was compared often enough */
    sim_schema_free(sc);

    /* and the real Sandbox CRD */
    char path[1024];
    const char *src = getenv("ASC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/deploy/crds/agents.x-k8s.io_sandboxes.yaml", src ? src : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_message("no %s: Sandbox rows skipped\n", path);
        return;
    }
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    json_object *crd = yaml_to_json(buf, n, err, sizeof err);
    assert_non_null(crd);
    json_object *v0 = json_object_array_get_idx(
        json_object_object_get(json_object_object_get(crd, "spec"), "versions"), 0);
    json_object *oas =
        json_object_object_get(json_object_object_get(v0, "schema"), "openAPIV3Schema");
    assert_int_equal(sim_schema_compile(oas, &sc, err, sizeof err), 0);
    /* random documents, then a valid Sandbox under random patches */
    for (int it = 0; it < 1000; it++)
        fp_check(sc, it, NULL);
    static const char *sandbox =
        "{\"apiVersion\":\"agents.x-k8s.io/v1alpha1\",\"kind\":\"Sandbox\",\"metadata\":{"
        "\"name\":\"s\"},\"spec\":{\"replicas\":1,\"podTemplate\":{\"metadata\":{\"labels\":{"
        "\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\","
        "\"ports\":[{\"containerPort\":80}]}]}}},\"status\":{\"replicas\":1,\"conditions\":[{"
        "\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"R\",\"message\":\"m\","
        "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"observedGeneration\":1}]}}";
    clean = 0;
    for (int it = 0; it < 1000; it++)
        clean += fp_check(sc, it, sandbox);
    assert_true(clean > 300);
    sim_schema_free(sc);
    json_object_put(crd);
}

/* sim_json_add_new inserts well-known keys with a cached hash and constant
 * key memory: the object must behave exactly like one built with
 * json_object_object_add (lookup, replace, delete, copy, text). */
static void
test_add_new_keys(void **state)
{
    (void)state;
    static const char *const keys[] = {"kind",       "apiVersion",
                                       "metadata",   "name",
                                       "zz-unknown", "deletionGracePeriodSeconds",
                                       "k",          "status",
                                       "labels",     "resourceVersion",
                                       "fieldsV1",   ""};
    const size_t n = sizeof keys / sizeof keys[0];
    json_object *a = json_object_new_object(), *b = json_object_new_object();
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sim_json_add_new(a, keys[i], json_object_new_int((int)i)), 0);
        json_object_object_add(b, keys[i], json_object_new_int((int)i));
    }
    char *x = dump(a), *y = dump(b);
    assert_string_equal(x, y);
    free(x);
    free(y);
    for (size_t i = 0; i < n; i++) {
        json_object *v = NULL;
        assert_true(json_object_object_get_ex(a, keys[i], &v));
        assert_int_equal(json_object_get_int(v), (int)i);
    }
    /* replace in place, delete, deep copy */
    json_object_object_add(a, "metadata", json_object_new_string("m"));
    json_object_object_add(b, "metadata", json_object_new_string("m"));
    json_object_object_del(a, "name");
    json_object_object_del(b, "name");
    json_object *c = NULL;
    assert_int_equal(json_object_deep_copy(a, &c, NULL), 0);
    x = dump(c);
    y = dump(b);
    assert_string_equal(x, y);
    assert_false(json_object_object_get_ex(c, "name", NULL));
    free(x);
    free(y);
    json_object_put(c);
    json_object_put(a);
    json_object_put(b);
}

/* Equality details the server relies on for no-op detection. */
static void
test_json_equal(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int eq;
    } rows[] = {
        {"{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}", 1},
        {"[1,2]", "[2,1]", 0},
        {"{\"a\":1}", "{\"a\":1.0}", 1},
        {"{\"a\":1}", "{\"a\":\"1\"}", 0},
        {"{\"a\":null}", "{}", 0},
        {"{\"a\":\"x\\u0000y\"}", "{\"a\":\"x\"}", 0},
        {"{\"a\":true}", "{\"a\":1}", 0},
        {"{\"a\":{}}", "{\"a\":[]}", 0},
        {"{\"a\":18446744073709551615}", "{\"a\":-1}", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_object *a = json_tokener_parse(rows[i].a), *b = json_tokener_parse(rows[i].b);
        assert_non_null(a);
        assert_non_null(b);
        if (sim_json_equal(a, b) != rows[i].eq || sim_json_equal(b, a) != rows[i].eq)
            fail_msg("row %zu: %s vs %s", i, rows[i].a, rows[i].b);
        json_object_put(a);
        json_object_put(b);
    }
    assert_true(sim_json_equal(NULL, NULL));
}

/* Long lists stay linear: 100k-element merges finish in well under a
 * second (a quadratic merge would take minutes). */
static void
test_large_lists(void **state)
{
    (void)state;
    const size_t n = 100000;
    json_object *doc = json_object_new_object(), *md = json_object_new_object();
    json_object *fins = json_object_new_array(), *refs = json_object_new_array();
    json_object *patch = json_object_new_object(), *pmd = json_object_new_object();
    json_object *pf = json_object_new_array(), *pr = json_object_new_array(),
                *del = json_object_new_array();
    char buf[32];

    for (size_t i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "f%zu", i);
        json_object_array_add(fins, json_object_new_string(buf));
        snprintf(buf, sizeof buf, "f%zu", i + n / 2);
        json_object_array_add(pf, json_object_new_string(buf));
        if (i % 2 == 0) {
            snprintf(buf, sizeof buf, "f%zu", i);
            json_object_array_add(del, json_object_new_string(buf));
        }
        json_object *r = json_object_new_object();
        snprintf(buf, sizeof buf, "u%zu", i);
        json_object_object_add(r, "uid", json_object_new_string(buf));
        json_object_array_add(refs, r);
        r = json_object_new_object();
        snprintf(buf, sizeof buf, "u%zu", n - 1 - i);
        json_object_object_add(r, "uid", json_object_new_string(buf));
        json_object_object_add(r, "controller", json_object_new_boolean(1));
        json_object_array_add(pr, r);
    }
    json_object_object_add(md, "finalizers", fins);
    json_object_object_add(md, "ownerReferences", refs);
    json_object_object_add(doc, "metadata", md);
    json_object_object_add(pmd, "finalizers", pf);
    json_object_object_add(pmd, "ownerReferences", pr);
    json_object_object_add(pmd, "$deleteFromPrimitiveList/finalizers", del);
    json_object_object_add(patch, "metadata", pmd);

    struct timespec t0, t1;
    json_object *out = NULL;
    char err[128];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(sim_strategic_merge(doc, patch, "Pod", &out, err, sizeof err), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("strategic merge of %zu finalizers + %zu ownerReferences: %.3f s\n", n, n, dt);
    /* odd f0..f(n-1) kept, plus f(n)..f(n+n/2-1) added: n/2 + n/2 distinct */
    json_object *of = json_object_object_get(json_object_object_get(out, "metadata"), "finalizers");
    json_object *orf =
        json_object_object_get(json_object_object_get(out, "metadata"), "ownerReferences");
    assert_int_equal(json_object_array_length(orf), n);
    /* every ownerReference merged (controller set), in the patch's order */
    json_object *first = json_object_array_get_idx(orf, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(first, "uid")), "u99999");
    assert_true(json_object_get_boolean(json_object_object_get(first, "controller")));
    /* deleted values gone, patch values present once */
    size_t expect = 0;
    for (size_t i = 0; i < n + n / 2; i++)
        expect += (i >= n / 2) || (i % 2 == 1);
    assert_int_equal(json_object_array_length(of), expect);
    assert_true(dt < 5.0);
    json_object_put(out);
    json_object_put(doc);
    json_object_put(patch);
}

/* Throughput of the three patch kinds on a small Pod-like object. */
static void
test_patch_throughput(void **state)
{
    (void)state;
    json_object *doc = json_tokener_parse("{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"1\"},"
                                          "\"ownerReferences\":[{\"uid\":\"u1\"}]},"
                                          "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
                                          "\"i\",\"ports\":[{\"containerPort\":80}]}]},"
                                          "\"status\":{\"phase\":\"Pending\",\"conditions\":[{"
                                          "\"type\":\"Ready\",\"status\":\"False\"}]}}");
    json_object *mp = json_tokener_parse("{\"metadata\":{\"labels\":{\"b\":\"2\"}}}");
    json_object *jp = json_tokener_parse(
        "[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\"p\"},{\"op\":\"replace\","
        "\"path\":\"/status/phase\",\"value\":\"Running\"}]");
    json_object *sp = json_tokener_parse(
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
    struct timespec t0, t1;
    char err[128];
    const int n = 20000;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        json_object *o = sim_merge_patch(doc, mp), *o2 = NULL, *o3 = NULL;
        assert_int_equal(sim_json_patch(doc, jp, &o2, err, sizeof err), 0);
        assert_int_equal(sim_strategic_merge(doc, sp, "Pod", &o3, err, sizeof err), 0);
        json_object_put(o);
        json_object_put(o2);
        json_object_put(o3);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("%d x (merge + json + strategic) patches in %.3f s = %.0f patches/s\n", n, dt,
                  3 * n / dt);
    assert_true(dt < 8.0);
    json_object_put(doc);
    json_object_put(mp);
    json_object_put(jp);
    json_object_put(sp);
}

/* ---- golden rows ---------------------------------------------------------- */

static json_object *
load_golden(const char *file)
{
    char path[1024];
    const char *src = getenv("ASC_SOURCE_DIR");
    json_object *o = NULL;

    if (src != NULL) {
        snprintf(path, sizeof path, "%s/tests/golden/%s", src, file);
        o = json_object_from_file(path);
    }
    if (o == NULL) {
        snprintf(path, sizeof path, "/work/shared/golden/%s", file);
        o = json_object_from_file(path);
    }
    return o;
}

static const char *
header(json_object *msg, const char *name)
{
    json_object *h = NULL, *v = NULL;
    if (!json_object_object_get_ex(msg, "headers", &h) || !json_object_object_get_ex(h, name, &v))
        return NULL;
    return json_object_get_string(v);
}

/* One row per PATCH of the file, against the last 2xx object answer for
 * that path. */
static size_t
golden_rows(const char *file, gold_row *out, size_t max, char names[][128])
{
    json_object *g = load_golden(file), *ex = NULL;
    json_object *last = NULL; /* borrowed from g */
    const char *last_path = NULL;
    size_t n = 0;

    if (g == NULL) {
        print_message("golden file %s not found: its rows are skipped\n", file);
        return 0;
    }
    json_object_object_get_ex(g, "exchanges", &ex);
    for (size_t i = 0; i < json_object_array_length(ex) && n < max; i++) {
        json_object *e = json_object_array_get_idx(ex, i), *req, *resp, *st, *body = NULL,
                    *rbody = NULL, *mth, *pth;
        json_object_object_get_ex(e, "request", &req);
        json_object_object_get_ex(e, "response", &resp);
        json_object_object_get_ex(resp, "status", &st);
        json_object_object_get_ex(resp, "body", &rbody);
        json_object_object_get_ex(req, "body", &body);
        json_object_object_get_ex(req, "method", &mth);
        json_object_object_get_ex(req, "path", &pth);
        const char *method = json_object_get_string(mth), *path = json_object_get_string(pth);
        int status = json_object_get_int(st);
        /* the object the server held: the path without a subresource */
        char objpath[512];
        snprintf(objpath, sizeof objpath, "%s", path);
        char *sub = strstr(objpath, "/status");
        if (sub != NULL && sub[7] == '\0') *sub = '\0';
        if (strcmp(method, "PATCH") == 0 && last != NULL && last_path != NULL &&
            strcmp(objpath, last_path) == 0) {
            const char *ct = header(req, "content-type");
            gold_row *r = &out[n];
            memset(r, 0, sizeof *r);
            if (strcmp(ct, "application/merge-patch+json") == 0)
                r->flavour = MERGE;
            else if (strcmp(ct, "application/json-patch+json") == 0)
                r->flavour = JSONP;
            else if (strcmp(ct, "application/strategic-merge-patch+json") == 0)
                r->flavour = SMP;
            else
                continue;
            if (status != 200 && status != 422)
                continue; /* 409/415 are decided by the server, not the patch */
            const char *kind = json_object_get_string(json_object_object_get(last, "kind"));
            snprintf(names[n], 128, "golden/%s#%zu", file, i);
            r->name = names[n];
            r->kind = kind;
            r->status_only = strlen(path) > 7 && strcmp(path + strlen(path) - 7, "/status") == 0;
            r->gdoc = json_object_get(last);
            r->gpatch = json_object_get(body);
            if (status == 200) {
                r->gwant = json_object_get(rbody);
                r->want_rc = 0;
            } else {
                r->want_rc = ERR_UNPROCESSABLE;
            }
            /* a patch of metadata.uid is refused by the server, not here */
            json_object *md = NULL, *uid = NULL, *luid = NULL;
            if (status == 422 && json_object_object_get_ex(body, "metadata", &md) &&
                json_object_object_get_ex(md, "uid", &uid)) {
                json_object_object_get_ex(json_object_object_get(last, "metadata"), "uid", &luid);
                if (!sim_json_equal(uid, luid)) {
                    json_object_put(r->gdoc);
                    json_object_put(r->gpatch);
                    continue;
                }
            }
            n++;
        }
        if (status >= 200 && status < 300 && json_object_is_type(rbody, json_type_object) &&
            json_object_object_get(rbody, "metadata") != NULL &&
            strcmp(json_object_get_string(json_object_object_get(rbody, "kind")), "Status") != 0) {
            last = rbody;
            const char *p = path;
            if (strcmp(method, "POST") == 0) {
                /* created objects live at <collection>/<name> */
                static char created[8][512];
                static int ci;
                const char *nm = json_object_get_string(
                    json_object_object_get(json_object_object_get(rbody, "metadata"), "name"));
                snprintf(created[ci], sizeof created[ci], "%s/%s", path, nm);
                p = created[ci];
                ci = (ci + 1) % 8;
            }
            static char keep[8][512];
            static int ki;
            snprintf(keep[ki], sizeof keep[ki], "%s", p);
            char *s2 = strstr(keep[ki], "/status");
            if (s2 != NULL && s2[7] == '\0') *s2 = '\0';
            last_path = keep[ki];
            ki = (ki + 1) % 8;
        }
    }
    /* rows keep references into g */
    json_object_put(g);
    return n;
}

int
main(void)
{
    enum { NGOLD = 64 };
    static gold_row gold[NGOLD];
    static char gnames[NGOLD][128];
    const char *files[] = {"merge-patch.json", "json-patch-test-fail.json",
                           "strategic-merge-pod.json", "pod-status.json", "node-status.json"};
    size_t ng = 0, nh = sizeof rows / sizeof rows[0];

    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++)
        ng += golden_rows(files[f], gold + ng, NGOLD - ng, gnames + ng);
    print_message("%zu golden patch rows\n", ng);
    if (getenv("ASC_SOURCE_DIR") != NULL || ng > 0)
        assert_true(ng >= 10); /* the files hold at least that many patches */

    struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_random_invariants),  cmocka_unit_test(test_merge_shared),
        cmocka_unit_test(test_merge_shared_nodes), cmocka_unit_test(test_schema_fixed_point),
        cmocka_unit_test(test_add_new_keys),       cmocka_unit_test(test_json_equal),
        cmocka_unit_test(test_patch_throughput),   cmocka_unit_test(test_large_lists),
    };
    size_t nf = sizeof fixed / sizeof fixed[0];
    struct CMUnitTest *tests = calloc(nh + ng + nf, sizeof *tests);
    for (size_t i = 0; i < nh; i++) {
        tests[i].name = rows[i].name;
        tests[i].test_func = test_patch_row;
        tests[i].initial_state = (void *)&rows[i];
    }
    for (size_t i = 0; i < ng; i++) {
        tests[nh + i].name = gold[i].name;
        tests[nh + i].test_func = test_gold_row;
        tests[nh + i].initial_state = &gold[i];
    }
    memcpy(tests + nh + ng, fixed, sizeof fixed);
    int rc = _cmocka_run_group_tests("sim_patch", tests, nh + ng + nf, NULL, NULL);
    for (size_t i = 0; i < ng; i++) {
        json_object_put(gold[i].gdoc);
        json_object_put(gold[i].gpatch);
        json_object_put(gold[i].gwant);
    }
    free(tests);
    return rc;
}
