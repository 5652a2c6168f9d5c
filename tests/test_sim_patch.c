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

#include "bench/kubesim/sim_patch.h"
#include "core/err.h"

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

    struct CMUnitTest *tests = calloc(nh + ng, sizeof *tests);
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
    int rc = _cmocka_run_group_tests("sim_patch", tests, nh + ng, NULL, NULL);
    for (size_t i = 0; i < ng; i++) {
        json_object_put(gold[i].gdoc);
        json_object_put(gold[i].gpatch);
        json_object_put(gold[i].gwant);
    }
    free(tests);
    return rc;
}
