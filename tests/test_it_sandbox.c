/* test_it_sandbox.c - the real agent-sandbox-controller against kubesim
 * (tests/harness): the Sandbox controller end to end (spec/api.md §2.1).
 *
 *   create           Pod + headless Service + the exact status of upstream's
 *                    simple-sandbox case; <= 4 API writes for the launch
 *                    (kubesim's kubesim_requests_total for the controller)
 *   suspend/resume   twice: the Pod goes and comes back, the Service stays
 *                    (same uid, never deleted), Suspended lastTransitionTime
 *                    strictly later on each flip (flips >= 1.1 s apart)
 *   shutdownTime     Retain: expired, children deleted, status reset;
 *                    Delete: the Sandbox itself is deleted
 *   volumeClaimTemplates  PVC <vct>-<sandbox>, owned, named by the Pod's volume
 *   pod deleted      recreated with a new uid while Running
 *   upstream CRDs    the create case under ../shared/upstream-crds (which
 *                    default fields inside podTemplate); skipped visibly
 *                    without that directory */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/test_it_sandbox_util.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"

#include <curl/curl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POD_PATH "/api/v1/namespaces/" IT_NS "/pods/"
#define SVC_PATH "/api/v1/namespaces/" IT_NS "/services/"
#define PVC_PATH "/api/v1/namespaces/" IT_NS "/persistentvolumeclaims/"
#define WAIT_MS  20000

/* ---- shared checks ------------------------------------------------------------ */

static void
expect_cond(json_object *sb, const char *type, const char *status, const char *reason,
            const char *message)
{
    const char *s = it_cond(sb, type, "status"), *r = it_cond(sb, type, "reason"),
               *m = it_cond(sb, type, "message");
    if (!s || strcmp(s, status) || (reason && (!r || strcmp(r, reason))) ||
        (message && (!m || strcmp(m, message))))
        fail_msg("condition %s: got %s/%s/%s, want %s/%s/%s in %s", type, s ? s : "-", r ? r : "-",
                 m ? m : "-", status, reason ? reason : "*", message ? message : "*",
                 jx_dump(jx_get(sb, "status")));
}

static int
controlled_by(json_object *obj, const char *uid)
{
    json_object *refs = jx_arr(obj, "metadata.ownerReferences");
    for (size_t i = 0; refs && i < json_object_array_length(refs); i++) {
        json_object *r = json_object_array_get_idx(refs, i);
        if (jx_bool(r, "controller", 0) && !strcmp(jx_str_or(r, "uid", ""), uid) &&
            !strcmp(jx_str_or(r, "kind", ""), "Sandbox"))
            return 1;
    }
    return 0;
}

/* Create name, wait for Ready, check Pod, Service and status as upstream's
 * simple-sandbox e2e case does. Returns the Ready Sandbox (caller puts). */
static json_object *
create_and_check_basic(harness *h, const char *name)
{
    assert_int_equal(it_create(h, IT_SBX_PATH, it_sandbox_json(name, 1)), 201);
    int ok = 0;
    json_object *sb = it_wait_sandbox(h, name, it_is_ready, NULL, WAIT_MS, &ok);
    if (!ok) fail_msg("%s never Ready: %s", name, sb ? jx_dump(jx_get(sb, "status")) : "(none)");
    const char *uid = jx_str(sb, "metadata.uid");
    assert_non_null(uid);
    expect_cond(sb, "Suspended", "False", "NotSuspended", "Sandbox is not suspended");
    expect_cond(sb, "PodScheduled", "True", NULL, NULL);
    expect_cond(sb, "Ready", "True", "DependenciesReady", "Pod is Ready; Service Exists");
    assert_null(it_cond(sb, "Finished", "status"));
    assert_int_equal(it_cond_gen(sb, "Ready"), 1);
    assert_int_equal(it_cond_gen(sb, "Suspended"), 1);
    assert_int_equal(it_cond_gen(sb, "PodScheduled"), 1);
    char want[256];
    snprintf(want, sizeof want, "%s." IT_NS ".svc.cluster.local", name);
    assert_string_equal(jx_str_or(sb, "status.serviceFQDN", ""), want);
    assert_string_equal(jx_str_or(sb, "status.service", ""), name);
    assert_non_null(
        strstr(jx_str_or(sb, "status.selector", ""), "agents.x-k8s.io/sandbox-name-hash="));
    assert_non_null(jx_arr(sb, "status.podIPs"));
    assert_string_equal(jx_annotation(sb, "agents.x-k8s.io/pod-name"), name);

    char path[512];
    snprintf(path, sizeof path, POD_PATH "%s", name);
    json_object *pod = it_get(h, path);
    assert_non_null(pod);
    assert_true(controlled_by(pod, uid));
    assert_string_equal(jx_str_or(pod, "status.phase", ""), "Running");
    const char *hash = jx_label(pod, "agents.x-k8s.io/sandbox-name-hash");
    assert_non_null(hash);
    json_object_put(pod);

    snprintf(path, sizeof path, SVC_PATH "%s", name);
    json_object *svc = it_get(h, path);
    assert_non_null(svc);
    assert_true(controlled_by(svc, uid));
    assert_string_equal(jx_str_or(svc, "spec.clusterIP", ""), "None");
    json_object *ports = jx_arr(svc, "spec.ports");
    assert_non_null(ports);
    assert_int_equal(json_object_array_length(ports), 1);
    assert_int_equal(jx_int(json_object_array_get_idx(ports, 0), "port", 0), 8888);
    json_object_put(svc);
    return sb;
}

/* ---- create ---------------------------------------------------------------------- */

static void
test_create(void **state)
{
    (void)state;
    /* The write count is the property under test, not the default 1 s settle
     * window: 5 s keeps a slow sanitizer run on a busy machine from turning
     * a late Ready into one more status write. */
    const char *args[] = {"--sandbox-write-behind-window=5s", NULL};
    harness *h = it_start(NULL, args);
    harness_require_kubesim(h);
    long before = it_writes(h, "", NULL);
    json_object *sb = create_and_check_basic(h, "my-sandbox");
    assert_string_equal(jx_str_or(sb, "status.selector", ""),
                        "agents.x-k8s.io/sandbox-name-hash=374de8f5");
    json_object_put(sb);
    /* let anything still queued land, then count */
    harness_sleep(h, 1500);
    long writes = it_writes(h, "", NULL) - before;
    fprintf(stderr, "writes for one launch: %ld (pods %ld, services %ld, sandboxes %ld)\n", writes,
            it_writes(h, "pods", NULL), it_writes(h, "services", NULL),
            it_writes(h, "sandboxes", NULL));
    it_check_or_fail(h, writes <= 4 && writes >= 3, "writes per launch: %ld", writes);
    assert_int_equal(it_writes(h, "pods", "POST"), 1);
    assert_int_equal(it_writes(h, "services", "POST"), 1);
    harness_pass(h);
    harness_free(h);
}

/* --cache-label-selectors and --shards: the informers only see labelled Pods
 * and Services (ours carry the label), the shard count is the one given. */
static void
test_label_selectors_shards(void **state)
{
    (void)state;
    const char *args[] = {"--cache-label-selectors", "--shards", "3", NULL};
    harness *h = it_start(NULL, args);
    json_object *sb = create_and_check_basic(h, "scoped");
    json_object_put(sb);
    char path[1100];
    snprintf(path, sizeof path, "%s/controller.log", harness_tmpdir(h));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    int shards = 0, selector = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "\"msg\":\"started\"") && strstr(line, "\"shards\":3")) shards = 1;
        if (strstr(line, "labelSelector") || strstr(line, "\"cache_label_selectors\":1"))
            selector = 1;
    }
    fclose(f);
    assert_true(shards);
    assert_true(selector);
    harness_pass(h);
    harness_free(h);
}

/* ---- agent_sandboxes, rebuilt from the store on each scrape ----------------------------- */

static size_t
curl_sink(char *p, size_t sz, size_t n, void *ud)
{
    FILE *f = ud;
    return fwrite(p, sz, n, f);
}

/* GET http://127.0.0.1:port/metrics into a malloc'ed string (NULL on failure). */
static char *
scrape(int port)
{
    char url[64], *buf = NULL;
    size_t len = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    FILE *f = open_memstream(&buf, &len);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    fclose(f);
    if (rc != CURLE_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int
metrics_port(harness *h)
{
    char path[1100], line[4096];
    snprintf(path, sizeof path, "%s/controller.log", harness_tmpdir(h));
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            const char *s = strstr(line, "\"server\":\"metrics\",\"address\"");
            const char *q = s ? strstr(s, "\"port\":") : NULL;
            if (q) {
                fclose(f);
                return atoi(q + 7);
            }
        }
        if (f) fclose(f);
        harness_sleep(h, 50);
    }
    return -1;
}

static void
test_sandboxes_gauge(void **state)
{
    (void)state;
    const char *args[] = {"--metrics-bind-address=127.0.0.1:0", NULL};
    harness *h = it_start(NULL, args);
    int port = metrics_port(h);
    assert_true(port > 0);
    json_object *sb = create_and_check_basic(h, "gauged");
    json_object_put(sb);
    assert_int_equal(it_patch(h, IT_SBX_PATH "/gauged",
                              "{\"metadata\":{\"labels\":{\"agents.x-k8s.io/created-by\":"
                              "\"python-client\"}}}"),
                     200);
    const char *want = "agent_sandboxes{namespace=\"" IT_NS "\",ready_condition=\"true\","
                       "expired=\"false\",launch_type=\"cold\",sandbox_template=\"unknown\","
                       "owned_by=\"None\",created_by=\"python-client\"} 1";
    char *text = NULL;
    for (int i = 0; i < 100; i++) { /* the label reaches the store through the watch */
        free(text);
        text = scrape(port);
        if (text && strstr(text, want)) break;
        harness_sleep(h, 50);
    }
    if (!text || !strstr(text, want)) fail_msg("no %s in:\n%s", want, text ? text : "(none)");
    /* one launch, one creation latency (not one per status write) */
    const char *lat = "agent_sandbox_creation_latency_ms_count{namespace=\"" IT_NS "\","
                      "launch_type=\"cold\",sandbox_template=\"unknown\"} 1\n";
    if (!strstr(text, lat)) fail_msg("no %s in:\n%s", lat, text);
    free(text);
    harness_pass(h);
    harness_free(h);
}

/* ---- suspend / resume -------------------------------------------------------------- */

static int
suspended_is(json_object *sb, void *ud)
{
    const char *s = it_cond(sb, "Suspended", "status");
    return s && !strcmp(s, (const char *)ud) &&
           (!strcmp(ud, "True") ? !strcmp(jx_str_or(sb, "status.nodeName", ""), "")
                                : it_is_ready(sb, NULL));
}

static int64_t
suspended_ltt(json_object *sb)
{
    int64_t ms = 0;
    const char *t = it_cond(sb, "Suspended", "lastTransitionTime");
    assert_non_null(t);
    assert_int_equal(time_parse_rfc3339(t, &ms), 0);
    return ms;
}

static void
test_suspend_resume(void **state)
{
    (void)state;
    harness *h = it_start(NULL, NULL);
    harness_require_kubesim(h);
    const char *name = "sr";
    json_object *sb = create_and_check_basic(h, name);
    int64_t ltt = suspended_ltt(sb);
    json_object_put(sb);
    json_object *svc = it_get(h, SVC_PATH "sr");
    assert_non_null(svc);
    char svc_uid[128];
    snprintf(svc_uid, sizeof svc_uid, "%s", jx_str_or(svc, "metadata.uid", ""));
    json_object_put(svc);

    for (int round = 0; round < 2; round++) {
        for (int suspend = 1; suspend >= 0; suspend--) {
            harness_sleep(h, 1100); /* transition times have one-second resolution */
            char patch[128];
            snprintf(patch, sizeof patch, "{\"spec\":{\"operatingMode\":\"%s\"}}",
                     suspend ? "Suspended" : "Running");
            assert_int_equal(it_patch(h, IT_SBX_PATH "/sr", patch), 200);
            int ok = 0;
            sb = it_wait_sandbox(h, name, suspended_is, suspend ? "True" : "False", WAIT_MS, &ok);
            if (!ok)
                fail_msg("round %d %s: %s", round, suspend ? "suspend" : "resume",
                         sb ? jx_dump(jx_get(sb, "status")) : "(none)");
            if (suspend) {
                expect_cond(sb, "Suspended", "True", "PodTerminated",
                            "Pod has been terminated. Sandbox is suspended");
                expect_cond(sb, "Ready", "False", "SandboxSuspended", "Sandbox is suspended");
                assert_int_equal(it_wait_status(h, POD_PATH "sr", 404, WAIT_MS), 0);
                assert_null(jx_annotation(sb, "agents.x-k8s.io/pod-name"));
                assert_string_equal(jx_str_or(sb, "status.service", ""), name);
            } else {
                expect_cond(sb, "Suspended", "False", "NotSuspended", "Sandbox is not suspended");
                expect_cond(sb, "Ready", "True", "DependenciesReady",
                            "Pod is Ready; Service Exists");
            }
            int64_t t = suspended_ltt(sb);
            it_check_or_fail(h, t > ltt, "Suspended lastTransitionTime did not move: %lld -> %lld",
                             (long long)ltt, (long long)t);
            ltt = t;
            json_object_put(sb);
            svc = it_get(h, SVC_PATH "sr");
            assert_non_null(svc);
            assert_string_equal(jx_str_or(svc, "metadata.uid", ""), svc_uid);
            json_object_put(svc);
        }
    }
    assert_int_equal(it_writes(h, "services", "DELETE"), 0);
    assert_int_equal(it_writes(h, "pods", "DELETE"), 2);
    harness_pass(h);
    harness_free(h);
}

/* ---- shutdownTime ------------------------------------------------------------------- */

static json_object *
expiring_sandbox(const char *name, const char *policy, int in_s)
{
    json_object *o = it_sandbox_json(name, 1);
    char ts[40];
    time_fmt_rfc3339(time_now_ms() + in_s * 1000, ts, sizeof ts);
    assert_int_equal(jx_set_str(o, "spec.shutdownTime", ts), 0);
    assert_int_equal(jx_set_str(o, "spec.shutdownPolicy", policy), 0);
    return o;
}

static void
test_shutdown_retain(void **state)
{
    (void)state;
    harness *h = it_start(NULL, NULL);
    harness_require_kubesim(h);
    assert_int_equal(it_create(h, IT_SBX_PATH, expiring_sandbox("ret", "Retain", 3)), 201);
    int ok = 0;
    json_object *sb = it_wait_sandbox(h, "ret", it_is_ready, NULL, WAIT_MS, &ok);
    assert_true(ok); /* Ready before it expires */
    json_object_put(sb);
    sb = it_wait_sandbox(h, "ret", it_ready_reason_is, "SandboxExpired", WAIT_MS, &ok);
    if (!ok) fail_msg("never expired: %s", sb ? jx_dump(jx_get(sb, "status")) : "(none)");
    json_object_put(sb);
    assert_int_equal(it_wait_status(h, POD_PATH "ret", 404, WAIT_MS), 0);
    assert_int_equal(it_wait_status(h, SVC_PATH "ret", 404, WAIT_MS), 0);
    /* the teardown pass resets the status to conditions only */
    harness_sleep(h, 500);
    sb = it_sandbox(h, "ret");
    assert_non_null(sb);
    expect_cond(sb, "Ready", "False", "SandboxExpired", "Sandbox has expired");
    assert_null(it_cond(sb, "PodScheduled", "status"));
    assert_non_null(it_cond(sb, "Suspended", "status"));
    assert_null(jx_get(sb, "status.service"));
    assert_null(jx_get(sb, "status.serviceFQDN"));
    assert_null(jx_get(sb, "status.selector"));
    assert_null(jx_get(sb, "status.podIPs"));
    json_object_put(sb);
    harness_pass(h);
    harness_free(h);
}

static void
test_shutdown_delete(void **state)
{
    (void)state;
    harness *h = it_start(NULL, NULL);
    harness_require_kubesim(h);
    assert_int_equal(it_create(h, IT_SBX_PATH, expiring_sandbox("del", "Delete", 2)), 201);
    int ok = 0;
    json_object *sb = it_wait_sandbox(h, "del", it_is_ready, NULL, WAIT_MS, &ok);
    assert_true(ok);
    json_object_put(sb);
    assert_int_equal(it_wait_status(h, IT_SBX_PATH "/del", 404, WAIT_MS), 0);
    assert_int_equal(it_wait_status(h, POD_PATH "del", 404, WAIT_MS), 0);
    assert_int_equal(it_writes(h, "sandboxes", "DELETE"), 1);
    harness_pass(h);
    harness_free(h);
}

/* ---- volumeClaimTemplates ------------------------------------------------------------- */

static void
test_vct(void **state)
{
    (void)state;
    harness *h = it_start(NULL, NULL);
    harness_require_kubesim(h);
    json_object *o = it_sandbox_json("vol", 1);
    json_object *vct = json_tokener_parse(
        "[{\"metadata\":{\"name\":\"data\",\"labels\":{\"team\":\"a\"}},\"spec\":{\"accessModes\":"
        "[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}]");
    assert_non_null(vct);
    assert_int_equal(jx_set(o, "spec.volumeClaimTemplates", vct), 0);
    assert_int_equal(it_create(h, IT_SBX_PATH, o), 201);
    int ok = 0;
    json_object *sb = it_wait_sandbox(h, "vol", it_is_ready, NULL, WAIT_MS, &ok);
    if (!ok) fail_msg("never Ready: %s", sb ? jx_dump(jx_get(sb, "status")) : "(none)");
    const char *uid = jx_str(sb, "metadata.uid");
    json_object *pvc = it_get(h, PVC_PATH "data-vol");
    assert_non_null(pvc);
    assert_true(controlled_by(pvc, uid));
    assert_string_equal(jx_label(pvc, "team"), "a");
    assert_non_null(jx_label(pvc, "agents.x-k8s.io/sandbox-name-hash"));
    json_object_put(pvc);
    json_object *pod = it_get(h, POD_PATH "vol");
    assert_non_null(pod);
    json_object *vols = jx_arr(pod, "spec.volumes");
    int found = 0;
    for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
        json_object *v = json_object_array_get_idx(vols, i);
        if (!strcmp(jx_str_or(v, "name", ""), "data") &&
            !strcmp(jx_str_or(v, "persistentVolumeClaim.claimName", ""), "data-vol"))
            found = 1;
    }
    if (!found) fail_msg("pod volumes lack data -> data-vol: %s", jx_dump(vols));
    json_object_put(pod);
    json_object_put(sb);
    harness_pass(h);
    harness_free(h);
}

/* ---- pod deleted while Running ---------------------------------------------------------- */

static int
pod_recreated(long status, json_object *body, void *ud)
{
    return status == 200 && strcmp(jx_str_or(body, "metadata.uid", ""), (const char *)ud) != 0 &&
           !strcmp(jx_str_or(body, "status.phase", ""), "Running");
}

static void
test_pod_recreated(void **state)
{
    (void)state;
    harness *h = it_start(NULL, NULL);
    harness_require_kubesim(h);
    json_object *sb = create_and_check_basic(h, "phoenix");
    json_object_put(sb);
    json_object *pod = it_get(h, POD_PATH "phoenix");
    assert_non_null(pod);
    char old_uid[128];
    snprintf(old_uid, sizeof old_uid, "%s", jx_str_or(pod, "metadata.uid", ""));
    json_object_put(pod);
    long del = it_delete(h, POD_PATH "phoenix");
    assert_true(del == 200 || del == 202);
    assert_int_equal(harness_poll(h, POD_PATH "phoenix", pod_recreated, old_uid, WAIT_MS, 50, NULL),
                     0);
    int ok = 0;
    sb = it_wait_sandbox(h, "phoenix", it_is_ready, NULL, WAIT_MS, &ok);
    assert_true(ok);
    json_object_put(sb);
    assert_int_equal(it_writes(h, "pods", "POST"), 2);
    harness_pass(h);
    harness_free(h);
}

/* ---- upstream CRDs ------------------------------------------------------------------------- */

static void
test_upstream_crds(void **state)
{
    (void)state;
    char src[1024];
    const char *sd = getenv("ASC_SOURCE_DIR");
    snprintf(src, sizeof src, "%s/../shared/upstream-crds", sd ? sd : ".");
    DIR *d = opendir(src);
    if (d == NULL) {
        fprintf(stderr, "SKIP %s: %s is absent\n", __func__, src);
        skip();
    }
    harness *h = harness_new();
    assert_non_null(h);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/crds", harness_tmpdir(h));
    assert_int_equal(mkdir(dir, 0755), 0);
    int copied = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0) continue;
        char from[1400], to[1400];
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        assert_int_equal(symlink(from, to), 0);
        copied++;
    }
    closedir(d);
    assert_true(copied >= 1);
    const char *sim_args[] = {"--crds", dir, NULL};
    int rc = harness_start_sim(h, sim_args);
    if (rc == 0) rc = harness_start_controller(h, 0, NULL);
    if (rc != 0) {
        harness_print_logs(h, stderr);
        fail_msg("start: %d", rc);
    }
    harness_require_kubesim(h);
    json_object *sb = create_and_check_basic(h, "upstream");
    /* the upstream schema defaulted the container port's protocol in the stored spec */
    const char *proto = jx_str(
        json_object_array_get_idx(
            jx_arr(json_object_array_get_idx(jx_arr(sb, "spec.podTemplate.spec.containers"), 0),
                   "ports"),
            0),
        "protocol");
    assert_non_null(proto);
    assert_string_equal(proto, "TCP");
    json_object_put(sb);
    harness_pass(h);
    harness_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_suspend_resume),
        cmocka_unit_test(test_shutdown_retain),
        cmocka_unit_test(test_shutdown_delete),
        cmocka_unit_test(test_vct),
        cmocka_unit_test(test_pod_recreated),
        cmocka_unit_test(test_upstream_crds),
        cmocka_unit_test(test_label_selectors_shards),
        cmocka_unit_test(test_sandboxes_gauge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
