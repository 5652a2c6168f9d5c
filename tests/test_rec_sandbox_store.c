/* test_rec_sandbox_store.c - the Sandbox pass reading a real LMDB store
 * (rec_sandbox_run), driven through a whole launch by a tiny fake API server
 * and kubelet, counting the writes a launch costs: pod create + service
 * create + pod-name annotation + one status patch to Ready with the settle
 * window, one more transitional status patch without it. Then suspend and
 * resume, and the shard key format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"
#include "reconciler/conditions.h"
#include "reconciler/sandbox_view.h"
#include "store/store.h"
#include "tests/test_rec_sandbox_harness.h"

typedef struct sim {
    store *st;
    char dir[64];
    int rv;
    int writes;
    char log[512];
    /* outcomes of the last pass, as the shard would park them */
    json_object *oc_objs[8];
    rec_outcome oc[8];
    size_t n_oc;
    int64_t now;
} sim;

static void
put(sim *s, enum store_kind k, json_object *o)
{
    store_wtxn *w = NULL;
    assert_int_equal(store_wtxn_begin(s->st, &w), 0);
    assert_int_equal(store_put(w, k, o), 0);
    assert_int_equal(store_wtxn_commit(w), 0);
}

static json_object *
get(sim *s, enum store_kind k, const char *name)
{
    store_rtxn *r = NULL;
    json_object *o = NULL;
    assert_int_equal(store_rtxn_begin(s->st, &r), 0);
    if (store_get(r, k, "ns", name, &o) != 0) o = NULL;
    store_rtxn_end(r);
    return o;
}

static void
bump_rv(sim *s, json_object *o)
{
    char rv[16];
    snprintf(rv, sizeof rv, "%d", ++s->rv);
    jx_set_str(jx_ensure_obj(o, "metadata"), "resourceVersion", rv);
}

static void
clear_outcomes(sim *s)
{
    for (size_t i = 0; i < s->n_oc; i++)
        json_object_put(s->oc_objs[i]);
    s->n_oc = 0;
}

/* The fake API server: apply each write to the store, record outcomes. */
static void
serve(sim *s, rec_result *out)
{
    clear_outcomes(s);
    for (size_t i = 0; i < out->n_writes; i++) {
        rec_write *w = &out->writes[i];
        json_object *obj = NULL;
        s->writes++;
        strncat(s->log, w->tag, sizeof s->log - strlen(s->log) - 2);
        strcat(s->log, " ");
        if (w->op == REC_CREATE) {
            json_object_deep_copy(w->body, &obj, NULL);
            const char *name = jx_str(obj, "metadata.name");
            char uid[64], ts[40];
            snprintf(uid, sizeof uid, "uid-%s-%d", name, s->rv + 1);
            jx_set_str(jx_ensure_obj(obj, "metadata"), "uid", uid);
            jx_set_str(jx_ensure_obj(obj, "metadata"), "creationTimestamp",
                       time_fmt_rfc3339(s->now, ts, sizeof ts));
            if (strcmp(w->tag, "pod-create") == 0) jx_set_str(obj, "status.phase", "Pending");
            bump_rv(s, obj);
            put(s, strcmp(w->tag, "pod-create") == 0 ? STORE_POD : STORE_SERVICE, obj);
        } else if (w->op == REC_PATCH_MERGE && w->res == &KUBE_SANDBOXES) {
            obj = get(s, STORE_SANDBOX, w->name);
            sbx_merge(&obj, w->body);
            bump_rv(s, obj);
            put(s, STORE_SANDBOX, obj);
        } else if (w->op == REC_DELETE && w->res == &KUBE_PODS) {
            store_wtxn *t = NULL;
            store_wtxn_begin(s->st, &t);
            store_delete(t, STORE_POD, "ns", w->name);
            store_wtxn_commit(t);
        } else {
            fail_msg("unexpected write %s", w->tag);
        }
        s->oc_objs[s->n_oc] = obj;
        s->oc[s->n_oc] = (rec_outcome){.tag = w->tag, .message = "", .reason = "", .object = obj};
        s->n_oc++;
    }
}

static int
pass(sim *s, int64_t settle, int use_outcomes)
{
    rec_result out;
    rec_result_init(&out);
    rec_sandbox_opts o = {.cluster_domain = "example.org", .status_settle_ms = settle};
    assert_int_equal(rec_sandbox_run(s->st, "ns", "sb", use_outcomes ? s->oc : NULL,
                                     use_outcomes ? s->n_oc : 0, &o, s->now, &out),
                     0);
    int n = (int)out.n_writes;
    serve(s, &out);
    rec_result_fini(&out);
    return n;
}

static void
kubelet_ready(sim *s)
{
    json_object *pod = get(s, STORE_POD, "sb");
    assert_non_null(pod);
    json_object *st =
        sbx_parse("{'status':{'phase':'Running','podIP':'10.1.0.7','podIPs':[{'ip':'10.1.0.7'}],"
                  "'conditions':[{'type':'PodScheduled','status':'True'},{'type':'Ready',"
                  "'status':'True'}]},'spec':{'nodeName':'n1'}}");
    sbx_merge(&pod, st);
    json_object_put(st);
    bump_rv(s, pod);
    put(s, STORE_POD, pod);
    json_object_put(pod);
}

static void
sim_open(sim *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/test_rec_sbx_XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    char err[256];
    assert_int_equal(store_open(s->dir, NULL, &s->st, err, sizeof err), 0);
    s->rv = 100;
    s->now = time_now_ms();
    json_object *sb = sbx_parse("{'apiVersion':'agents.x-k8s.io/v1beta1','kind':'Sandbox',"
                                "'metadata':{'name':'sb','namespace':'ns','uid':'sb-uid',"
                                "'generation':1,'resourceVersion':'100'},'spec':{'service':true,"
                                "'podTemplate':{'spec':{'containers':[{'name':'c','image':'x',"
                                "'ports':[{'containerPort':8888}]}]}},'operatingMode':'Running'}}");
    put(s, STORE_SANDBOX, sb);
    json_object_put(sb);
}

static void
sim_close(sim *s)
{
    clear_outcomes(s);
    store_close(s->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    assert_int_equal(system(cmd), 0);
}

static void
launch(int64_t settle, int want_writes)
{
    sim s;
    sim_open(&s);
    /* 1: creates, no status */
    assert_int_equal(pass(&s, settle, 0), 2);
    /* 2: the outcomes pass (shard re-runs after writes): pod seen Pending */
    pass(&s, settle, 1);
    /* 3: the pod's ADDED watch event: nothing new */
    pass(&s, settle, 1);
    /* kubelet (0 ms): Running + Ready, then the pod's MODIFIED event */
    kubelet_ready(&s);
    pass(&s, settle, 0);
    pass(&s, settle, 1); /* outcomes pass after the status write: converged */
    assert_int_equal(pass(&s, settle, 0), 0);
    print_message("settle=%lld: %d writes: %s\n", (long long)settle, s.writes, s.log);
    assert_int_equal(s.writes, want_writes);
    json_object *sb = get(&s, STORE_SANDBOX, "sb");
    json_object *conds = jx_arr(sb, "status.conditions");
    assert_true(rec_cond_is_true(conds, "Ready"));
    assert_string_equal(jx_str(rec_cond_find(conds, "Ready"), "message"),
                        "Pod is Ready; Service Exists");
    assert_string_equal(jx_str(sb, "status.serviceFQDN"), "sb.ns.svc.example.org");
    assert_string_equal(jx_annotation(sb, "agents.x-k8s.io/pod-name"), "sb");
    json_object_put(sb);
    sim_close(&s);
}

static void
test_launch_writes_settle(void **state)
{
    (void)state;
    launch(2000, 4); /* pod create, svc create, pod-name annotation, status Ready */
}

static void
test_launch_writes_upstream(void **state)
{
    (void)state;
    launch(0, 5); /* + the transitional "Pod exists with phase: Pending" status */
}

static void
test_suspend_resume(void **state)
{
    (void)state;
    sim s;
    sim_open(&s);
    pass(&s, 0, 0);
    pass(&s, 0, 1);
    kubelet_ready(&s);
    pass(&s, 0, 0);
    s.writes = 0;
    s.log[0] = '\0';
    json_object *sb = get(&s, STORE_SANDBOX, "sb");
    jx_set_str(jx_obj(sb, "spec"), "operatingMode", "Suspended");
    put(&s, STORE_SANDBOX, sb);
    json_object_put(sb);
    s.now += 5000;
    pass(&s, 0, 0); /* delete pod, drop annotation, status suspending */
    pass(&s, 0, 1); /* pod gone: PodTerminated */
    assert_int_equal(pass(&s, 0, 1), 0);
    assert_string_equal(s.log, "pod-delete sandbox-meta sandbox-status sandbox-status ");
    sb = get(&s, STORE_SANDBOX, "sb");
    json_object *conds = jx_arr(sb, "status.conditions");
    assert_string_equal(rec_cond_reason(conds, "Suspended"), "PodTerminated");
    assert_string_equal(rec_cond_reason(conds, "Ready"), "SandboxSuspended");
    assert_string_equal(jx_str(sb, "status.service"), "sb"); /* Service kept */
    assert_null(jx_get(sb, "status.podIPs"));
    const char *t_susp = jx_str(rec_cond_find(conds, "Suspended"), "lastTransitionTime");
    char first[40];
    snprintf(first, sizeof first, "%s", t_susp);
    /* resume 2 s later: pod recreated, Suspended flips with a later time */
    jx_set_str(jx_obj(sb, "spec"), "operatingMode", "Running");
    put(&s, STORE_SANDBOX, sb);
    json_object_put(sb);
    s.now += 2000;
    s.log[0] = '\0';
    pass(&s, 0, 0);
    pass(&s, 0, 1);
    kubelet_ready(&s);
    pass(&s, 0, 0);
    assert_int_equal(pass(&s, 0, 1), 0);
    assert_string_equal(s.log, "pod-create sandbox-meta sandbox-status sandbox-status ");
    sb = get(&s, STORE_SANDBOX, "sb");
    conds = jx_arr(sb, "status.conditions");
    assert_string_equal(rec_cond_reason(conds, "Suspended"), "NotSuspended");
    assert_true(rec_cond_is_true(conds, "Ready"));
    assert_true(strcmp(jx_str(rec_cond_find(conds, "Suspended"), "lastTransitionTime"), first) > 0);
    json_object_put(sb);
    sim_close(&s);
}

/* Printed, not asserted: CPU cost of one pass on a steady Ready Sandbox,
 * pure (objects already decoded) and with the store read + decode. */
static void
test_pass_cost(void **state)
{
    (void)state;
    sim s;
    sim_open(&s);
    pass(&s, 0, 0);
    pass(&s, 0, 1);
    kubelet_ready(&s);
    pass(&s, 0, 0);
    s.log[0] = '\0';
    assert_int_equal(pass(&s, 0, 1), 0); /* converged */
    rec_result out;
    rec_sandbox_opts o = {.cluster_domain = "example.org", .status_settle_ms = 0};
    const int n = 5000;
    int64_t t0 = time_mono_ns();
    for (int i = 0; i < n; i++) {
        rec_result_init(&out);
        assert_int_equal(rec_sandbox_run(s.st, "ns", "sb", NULL, 0, &o, s.now, &out), 0);
        assert_int_equal(out.n_writes, 0);
        rec_result_fini(&out);
    }
    int64_t t1 = time_mono_ns();
    store_rtxn *r = NULL;
    rec_sandbox_view v;
    assert_int_equal(store_rtxn_begin(s.st, &r), 0);
    assert_int_equal(rec_sandbox_view_load(&v, r, "ns", "sb"), 0);
    store_rtxn_end(r);
    v.in.cluster_domain = "example.org";
    int64_t t2 = time_mono_ns();
    for (int i = 0; i < n; i++) {
        rec_result_init(&out);
        assert_int_equal(rec_sandbox_reconcile(&v.in, s.now, &out), 0);
        assert_int_equal(out.n_writes, 0);
        rec_result_fini(&out);
    }
    int64_t t3 = time_mono_ns();
    rec_sandbox_view_fini(&v);
    print_message("steady pass: %.1f us with store read+decode, %.1f us pure\n",
                  (double)(t1 - t0) / n / 1000.0, (double)(t3 - t2) / n / 1000.0);
    sim_close(&s);
}

static void
test_missing_and_keys(void **state)
{
    (void)state;
    sim s;
    sim_open(&s);
    rec_result out;
    rec_result_init(&out);
    assert_int_equal(rec_sandbox_run(s.st, "ns", "nope", NULL, 0, NULL, s.now, &out), 0);
    assert_int_equal(out.n_writes, 0);
    rec_result_fini(&out);
    sim_close(&s);
    char ns[64], name[64];
    assert_int_equal(rec_sandbox_key_split("sandbox/ns1/sb-1", ns, sizeof ns, name, sizeof name),
                     0);
    assert_string_equal(ns, "ns1");
    assert_string_equal(name, "sb-1");
    assert_int_equal(rec_sandbox_key_split("ns2/x", ns, sizeof ns, name, sizeof name), 0);
    assert_string_equal(ns, "ns2");
    assert_int_equal(rec_sandbox_key_split("sandbox/ns", ns, sizeof ns, name, sizeof name),
                     ERR_INVALID);
    assert_int_equal(rec_sandbox_key_split("a/b/c", ns, sizeof ns, name, sizeof name), ERR_INVALID);
    assert_int_equal(rec_sandbox_key_split("/b", ns, sizeof ns, name, sizeof name), ERR_INVALID);
    assert_int_equal(rec_sandbox_key_split("ns/", ns, sizeof ns, name, sizeof name), ERR_INVALID);
    assert_int_equal(rec_sandbox_key_split("ns/b", ns, 2, name, sizeof name), ERR_INVALID);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_launch_writes_settle), cmocka_unit_test(test_launch_writes_upstream),
        cmocka_unit_test(test_suspend_resume),       cmocka_unit_test(test_pass_cost),
        cmocka_unit_test(test_missing_and_keys),
    };
    return cmocka_run_group_tests_name("rec_sandbox_store", tests, NULL, NULL);
}
