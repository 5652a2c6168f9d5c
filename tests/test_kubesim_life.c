/* test_kubesim_life.c - what kubesim's simulated cluster does after a write:
 * the kubelet (bind, Running/Ready with IPs, graceful stop, finish), an
 * outside kubelet emulator with --no-kubelet, ServiceAccount admission,
 * namespace deletion, and the garbage collector's three propagation modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/test_kubesim_util.h"

#define POD_JSON(name)                                                                             \
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name "\"},\"spec\":{"      \
    "\"containers\":[{\"name\":\"main\",\"image\":\"registry.k8s.io/pause:3.10\"}]}}"

static int
pod_ready(long st, json_object *b, void *ud)
{
    (void)ud;
    if (st != 200 || strcmp(jx_str_or(b, "status.phase", ""), "Running") != 0) return 0;
    json_object *conds = jx_arr(b, "status.conditions");
    for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        if (!strcmp(jx_str_or(c, "type", ""), "Ready") &&
            !strcmp(jx_str_or(c, "status", ""), "True"))
            return 1;
    }
    return 0;
}

/* The managedFields entry of manager (operation Update), or NULL. */
static json_object *
mf_entry(json_object *pod, const char *manager)
{
    json_object *mf = jx_arr(pod, "metadata.managedFields");
    for (size_t i = 0; mf && i < json_object_array_length(mf); i++) {
        json_object *e = json_object_array_get_idx(mf, i);
        if (!strcmp(jx_str_or(e, "manager", ""), manager) &&
            !strcmp(jx_str_or(e, "operation", ""), "Update"))
            return e;
    }
    return NULL;
}

/* fieldsV1 of e holds f:spec.f:nodeName and the container by name, no status
 * (the scheduler's and kubelet's writes are plain updates of the whole pod). */
static void
assert_owns_spec(json_object *e)
{
    assert_non_null(e);
    json_object *fs = jx_obj(e, "fieldsV1.f:spec"), *c = NULL;
    assert_non_null(fs);
    assert_true(json_object_object_get_ex(fs, "f:nodeName", NULL));
    assert_true(json_object_object_get_ex(jx_obj(fs, "f:containers"), "k:{\"name\":\"main\"}", &c));
    assert_true(json_object_object_get_ex(c, "f:image", NULL));
    assert_null(jx_get(e, "fieldsV1.f:status"));
}

static int
is_404(long st, json_object *b, void *ud)
{
    (void)b;
    (void)ud;
    return st == 404;
}

/* The kubelet binds to a Ready fake node, gives a pod IP, makes it Ready;
 * DELETE is graceful and completes; finish?exitCode=N terminates it. */
static void
test_kubelet(void **state)
{
    (void)state;
    const char *args[] = {"--nodes", "2", "--pod-ready-delay-ms", "50", NULL};
    harness *h;
    KS_START(h, args);
    json_object *nodes = ks_get(h, "/api/v1/nodes", 200);
    assert_int_equal(json_object_array_length(jx_arr(nodes, "items")), 2);
    json_object_put(nodes);
    const char *pods = "/api/v1/namespaces/default/pods";
    json_object_put(ks_send(h, "POST", pods, "application/json", POD_JSON("p1"), 201));
    json_object_put(ks_send(h, "POST", pods, "application/json", POD_JSON("p2"), 201));
    json_object *p1 = NULL, *p2 = NULL;
    assert_int_equal(
        harness_poll(h, "/api/v1/namespaces/default/pods/p1", pod_ready, NULL, 5000, 20, &p1), 0);
    assert_int_equal(
        harness_poll(h, "/api/v1/namespaces/default/pods/p2", pod_ready, NULL, 5000, 20, &p2), 0);
    assert_non_null(strstr(jx_str_or(p1, "spec.nodeName", ""), "kubesim-node-"));
    assert_string_not_equal(jx_str_or(p1, "status.podIP", "a"), jx_str_or(p2, "status.podIP", "a"));
    assert_string_not_equal(jx_str_or(p1, "spec.nodeName", ""), jx_str_or(p2, "spec.nodeName", ""));
    /* the scheduler and the kubelet (their writes share the untouched parts
     * of the stored pod) each own the spec they wrote, the creator's entry
     * and the spec's text are left as they were */
    assert_owns_spec(mf_entry(p1, "kube-scheduler"));
    assert_owns_spec(mf_entry(p1, "kubelet"));
    assert_int_equal(json_object_array_length(jx_arr(p1, "metadata.managedFields")), 3);
    json_object *bound = ks_get(h, "/api/v1/namespaces/default/pods/p1", 200);
    assert_string_equal(json_object_to_json_string(jx_get(bound, "spec")),
                        json_object_to_json_string(jx_get(p1, "spec")));
    json_object_put(bound);
    json_object_put(p1);
    json_object_put(p2);
    /* graceful delete: the answer carries deletionTimestamp, the pod then goes */
    json_object *d = ks_send(h, "DELETE", "/api/v1/namespaces/default/pods/p1", NULL, NULL, 200);
    assert_non_null(jx_get(d, "metadata.deletionTimestamp"));
    assert_int_equal(jx_int(d, "metadata.deletionGracePeriodSeconds", -1), 30);
    json_object_put(d);
    assert_int_equal(
        harness_poll(h, "/api/v1/namespaces/default/pods/p1", is_404, NULL, 3000, 10, NULL), 0);
    /* the admin endpoint ends the containers */
    json_object *f = ks_send(h, "POST", "/kubesim/pods/default/p2/finish?exitCode=3",
                             "application/json", "{}", 200);
    assert_string_equal(jx_str_or(f, "status.phase", ""), "Failed");
    json_object *cs = json_object_array_get_idx(jx_arr(f, "status.containerStatuses"), 0);
    assert_int_equal(jx_int(cs, "state.terminated.exitCode", -1), 3);
    json_object_put(f);
    json_object_put(ks_send(h, "POST", "/kubesim/pods/default/nope/finish?exitCode=0",
                            "application/json", "{}", 404));
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

/* --no-kubelet: pods stay Pending; an outside program binds them and
 * writes their status, as a kubelet on a real cluster. */
static void
test_outside_kubelet(void **state)
{
    (void)state;
    const char *args[] = {"--no-kubelet", NULL};
    harness *h;
    KS_START(h, args);
    const char *pod = "/api/v1/namespaces/default/pods/e1";
    json_object *c = ks_send(h, "POST", "/api/v1/namespaces/default/pods", "application/json",
                             POD_JSON("e1"), 201);
    char uid[64];
    snprintf(uid, sizeof uid, "%s", jx_str_or(c, "metadata.uid", ""));
    json_object_put(c);
    harness_sleep(h, 300);
    json_object *p = ks_get(h, pod, 200);
    assert_null(jx_get(p, "spec.nodeName"));
    assert_string_equal(jx_str_or(p, "status.phase", ""), "Pending");
    json_object_put(p);
    /* the emulator: bind, then report Running/Ready through pods/status */
    json_object *b =
        ks_send(h, "POST", "/api/v1/namespaces/default/pods/e1/binding", "application/json",
                "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":"
                "\"e1\"},\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Node\","
                "\"name\":\"kubesim-node-1\"}}",
                201);
    assert_string_equal(jx_str_or(b, "status", ""), "Success");
    json_object_put(b);
    char st[512];
    snprintf(st, sizeof st,
             "{\"metadata\":{\"uid\":\"%s\"},\"status\":{\"phase\":\"Running\",\"podIP\":"
             "\"10.1.2.3\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
             uid);
    json_object_put(ks_send(h, "PATCH", "/api/v1/namespaces/default/pods/e1/status",
                            "application/merge-patch+json", st, 200));
    p = ks_get(h, pod, 200);
    assert_int_equal(pod_ready(200, p, NULL), 1);
    assert_string_equal(jx_str_or(p, "spec.nodeName", ""), "kubesim-node-1");
    assert_string_equal(jx_str_or(p, "status.podIP", ""), "10.1.2.3");
    json_object_put(p);
    /* a bound pod waits for its kubelet; the emulator finishes the deletion */
    json_object_put(ks_send(h, "DELETE", pod, NULL, NULL, 200));
    harness_sleep(h, 200);
    p = ks_get(h, pod, 200);
    assert_non_null(jx_get(p, "metadata.deletionTimestamp"));
    json_object_put(p);
    json_object_put(ks_send(h, "DELETE", "/api/v1/namespaces/default/pods/e1?gracePeriodSeconds=0",
                            NULL, NULL, 200));
    json_object_put(ks_get(h, pod, 404));
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

/* A pod naming a missing ServiceAccount is refused as the real server does. */
static void
test_service_account_admission(void **state)
{
    (void)state;
    harness *h;
    KS_START(h, NULL);
    json_object *o =
        ks_send(h, "POST", "/api/v1/namespaces/default/pods", "application/json",
                "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"},"
                "\"spec\":{\"serviceAccountName\":\"ghost\",\"containers\":[{\"name\":"
                "\"c\",\"image\":\"i:1\"}]}}",
                403);
    assert_string_equal(jx_str_or(o, "message", ""),
                        "pods \"x\" is forbidden: error looking up service account default/ghost: "
                        "serviceaccount \"ghost\" not found");
    json_object_put(o);
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

static int
has_default_sa(long st, json_object *b, void *ud)
{
    (void)b;
    (void)ud;
    return st == 200;
}

/* DELETE namespace: Terminating, new content refused, content deleted (a
 * finalizer holds one object until removed), then the namespace is gone. */
static void
test_namespace_deletion(void **state)
{
    (void)state;
    harness *h;
    KS_START(h, NULL);
    ks_ns(h, "doomed");
    assert_int_equal(harness_poll(h, "/api/v1/namespaces/doomed/serviceaccounts/default",
                                  has_default_sa, NULL, 3000, 10, NULL),
                     0);
    ks_cm(h, "doomed", "free", NULL);
    json_object_put(ks_send(h, "POST", "/api/v1/namespaces/doomed/configmaps", "application/json",
                            "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                            "\"held\",\"finalizers\":[\"example.com/hold\"]}}",
                            201));
    json_object_put(ks_send(h, "POST", "/api/v1/namespaces/doomed/pods", "application/json",
                            POD_JSON("p"), 201));
    json_object *d = ks_send(h, "DELETE", "/api/v1/namespaces/doomed", NULL, NULL, 200);
    assert_string_equal(jx_str_or(d, "status.phase", ""), "Terminating");
    json_object_put(d);
    json_object *f = ks_send(h, "POST", "/api/v1/namespaces/doomed/configmaps", "application/json",
                             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                             "\"late\"}}",
                             403);
    assert_string_equal(jx_str_or(f, "reason", ""), "Forbidden");
    json_object_put(f);
    assert_int_equal(
        harness_poll(h, "/api/v1/namespaces/doomed/configmaps/free", is_404, NULL, 3000, 10, NULL),
        0);
    assert_int_equal(
        harness_poll(h, "/api/v1/namespaces/doomed/pods/p", is_404, NULL, 3000, 10, NULL), 0);
    harness_sleep(h, 100);
    json_object_put(ks_get(h, "/api/v1/namespaces/doomed", 200)); /* held by the finalizer */
    json_object_put(ks_send(h, "PATCH", "/api/v1/namespaces/doomed/configmaps/held",
                            "application/merge-patch+json", "{\"metadata\":{\"finalizers\":null}}",
                            200));
    assert_int_equal(harness_poll(h, "/api/v1/namespaces/doomed", is_404, NULL, 3000, 10, NULL), 0);
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

static void
child(harness *h, const char *name, const char *owner_uid, int block)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
             "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":"
             "\"owner\",\"uid\":\"%s\",\"blockOwnerDeletion\":%s}]}}",
             name, owner_uid, block ? "true" : "false");
    json_object_put(
        ks_send(h, "POST", "/api/v1/namespaces/gc/configmaps", "application/json", body, 201));
}

static int
no_owner_refs(long st, json_object *b, void *ud)
{
    (void)ud;
    return st == 200 && jx_get(b, "metadata.ownerReferences") == NULL;
}

/* Background deletes dependents after the owner; Foreground keeps the owner
 * (foregroundDeletion) until blocking dependents are gone; Orphan strips
 * the owner reference and keeps the dependent. */
static void
test_garbage_collector(void **state)
{
    (void)state;
    harness *h;
    KS_START(h, NULL);
    ks_ns(h, "gc");
    static const char *modes[] = {"Background", "Foreground", "Orphan"};
    for (int m = 0; m < 3; m++) {
        json_object *o = ks_send(h, "POST", "/api/v1/namespaces/gc/configmaps", "application/json",
                                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
                                 "\"name\":\"owner\"}}",
                                 201);
        char uid[64];
        snprintf(uid, sizeof uid, "%s", jx_str_or(o, "metadata.uid", ""));
        json_object_put(o);
        child(h, "dep", uid, 1);
        /* the dependent holds itself with a finalizer in the Foreground case */
        if (m == 1)
            json_object_put(ks_send(h, "PATCH", "/api/v1/namespaces/gc/configmaps/dep",
                                    "application/merge-patch+json",
                                    "{\"metadata\":{\"finalizers\":[\"example.com/x\"]}}", 200));
        char path[256];
        snprintf(path, sizeof path, "/api/v1/namespaces/gc/configmaps/owner?propagationPolicy=%s",
                 modes[m]);
        json_object_put(ks_send(h, "DELETE", path, NULL, NULL, 200));
        const char *dep = "/api/v1/namespaces/gc/configmaps/dep";
        const char *own = "/api/v1/namespaces/gc/configmaps/owner";
        if (m == 0) {
            json_object_put(ks_get(h, own, 404));
            assert_int_equal(harness_poll(h, dep, is_404, NULL, 3000, 10, NULL), 0);
        } else if (m == 1) {
            harness_sleep(h, 200);
            json_object *ow = ks_get(h, own, 200);
            assert_string_equal(json_object_get_string(json_object_array_get_idx(
                                    jx_arr(ow, "metadata.finalizers"), 0)),
                                "foregroundDeletion");
            json_object_put(ow);
            json_object *dp = ks_get(h, dep, 200); /* being deleted, held */
            assert_non_null(jx_get(dp, "metadata.deletionTimestamp"));
            json_object_put(dp);
            json_object_put(ks_send(h, "PATCH", dep, "application/merge-patch+json",
                                    "{\"metadata\":{\"finalizers\":null}}", 200));
            assert_int_equal(harness_poll(h, own, is_404, NULL, 3000, 10, NULL), 0);
        } else {
            assert_int_equal(harness_poll(h, own, is_404, NULL, 3000, 10, NULL), 0);
            assert_int_equal(harness_poll(h, dep, no_owner_refs, NULL, 3000, 10, NULL), 0);
            json_object_put(ks_send(h, "DELETE", dep, NULL, NULL, 200));
        }
    }
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kubelet),
        cmocka_unit_test(test_outside_kubelet),
        cmocka_unit_test(test_service_account_admission),
        cmocka_unit_test(test_namespace_deletion),
        cmocka_unit_test(test_garbage_collector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
