/* test_rec_sandbox_malformed.c - every external input can be malformed: for
 * each node of a rich Sandbox / Pod / Service / PVC / outcome object, replace
 * it by each JSON type in turn and run the reconcile. It must return 0 or
 * ERR_INVALID, never crash, and (under ASan) never leak; the writes it asks
 * for must be well-formed (a resource, a tag, a body unless a delete). */
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
#include "reconciler/sandbox.h"
#include "tests/test_rec_sandbox_harness.h"

#define NOW 1767226200000LL

static const char *SB =
    "{'apiVersion':'agents.x-k8s.io/v1beta1','kind':'Sandbox','metadata':{'name':'sb',"
    "'namespace':'ns','uid':'sb-uid','generation':2,'resourceVersion':'10','labels':{"
    "'agents.x-k8s.io/created-by':'go-client','agents.x-k8s.io/warm-pool-sandbox':'w'},"
    "'annotations':{'agents.x-k8s.io/pod-name':'sb'},'ownerReferences':[{'apiVersion':"
    "'extensions.agents.x-k8s.io/v1beta1','kind':'SandboxWarmPool','name':'p','uid':'pu',"
    "'controller':true}]},'spec':{'service':true,'shutdownTime':'2026-01-01T01:00:00Z',"
    "'shutdownPolicy':'Retain','operatingMode':'Running','podTemplate':{'metadata':{'labels':{"
    "'a':'1'},'annotations':{'b':'2'}},'spec':{'containers':[{'name':'c','ports':[{"
    "'containerPort':80,'name':'http','protocol':'TCP'}]}],'initContainers':[{'name':'s',"
    "'restartPolicy':'Always','ports':[{'containerPort':90}]}],'volumes':[{'name':'data',"
    "'emptyDir':{}}]}},'volumeClaimTemplates':[{'metadata':{'name':'data','labels':{'l':'1'}},"
    "'spec':{'accessModes':['ReadWriteOnce']}}]},'status':{'service':'sb','conditions':[{"
    "'type':'Ready','status':'False','lastTransitionTime':'2026-01-01T00:00:00Z','reason':"
    "'DependenciesNotReady','message':'m'}],'podIPs':['1.2.3.4']}}";

static const char *POD =
    "{'metadata':{'name':'sb','namespace':'ns','uid':'pod-uid','resourceVersion':'20',"
    "'creationTimestamp':'2026-01-01T00:00:00Z','labels':{'agents.x-k8s.io/sandbox-name-hash':"
    "'$H','old':'x'},'annotations':{'agents.x-k8s.io/propagated-labels':'old,a'},"
    "'ownerReferences':[{'apiVersion':'agents.x-k8s.io/v1beta1','kind':'Sandbox','name':'sb',"
    "'uid':'sb-uid','controller':true}]},'spec':{'nodeName':'n'},'status':{'phase':'Running',"
    "'podIPs':[{'ip':'1.2.3.4'}],'conditions':[{'type':'Ready','status':'True'},{'type':"
    "'PodScheduled','status':'True'}]}}";

static const char *SVC =
    "{'metadata':{'name':'sb','namespace':'ns','uid':'svc-uid','resourceVersion':'30','labels':{"
    "'agents.x-k8s.io/sandbox-name-hash':'$H'},'ownerReferences':[{'apiVersion':"
    "'agents.x-k8s.io/v1beta1','kind':'Sandbox','name':'sb','uid':'sb-uid','controller':true}]},"
    "'spec':{'clusterIP':'None','selector':{'agents.x-k8s.io/sandbox-name-hash':'$H'},'ports':[{"
    "'name':'http','protocol':'TCP','port':80,'targetPort':80}]}}";

static const char *PVC = "{'metadata':{'name':'data-sb','namespace':'ns','uid':'pvc-uid',"
                         "'labels':{'agents.x-k8s.io/adoptable':'true'}}}";

static const char *OUTCOME_OBJ =
    "{'metadata':{'name':'sb','namespace':'ns','uid':'sb-uid','resourceVersion':'99'},"
    "'spec':{'operatingMode':'Suspended'},'status':{'conditions':[]}}";

enum { T_SB, T_POD, T_SVC, T_PVC, T_OUT, T_COUNT };

static long runs;

static void
run_once(json_object *objs[T_COUNT])
{
    json_object *pods[1] = {objs[T_POD]}, *pvcs[1] = {objs[T_PVC]};
    rec_outcome oc[2] = {
        {.tag = "sandbox-status", .message = "", .reason = "", .object = objs[T_OUT]},
        {.tag = "pod-create", .err = ERR_UNPROCESSABLE, .message = "bad", .reason = "Invalid"},
    };
    rec_sandbox_input in = {.sandbox = objs[T_SB],
                            .pods = pods,
                            .n_pods = 1,
                            .named_pod = objs[T_POD],
                            .service = objs[T_SVC],
                            .pvcs = pvcs,
                            .n_pvcs = 1,
                            .outcomes = oc,
                            .n_outcomes = 2,
                            .status_settle_ms = 1000};
    for (int mode = 0; mode < 2; mode++) {
        rec_result out;
        rec_result_init(&out);
        in.n_outcomes = mode ? 2 : 0;
        int rc = rec_sandbox_reconcile(&in, NOW, &out);
        if (rc != 0 && rc != ERR_INVALID) fail_msg("rc %d", rc);
        for (size_t i = 0; i < out.n_writes; i++) {
            assert_non_null(out.writes[i].res);
            assert_non_null(out.writes[i].tag);
            if (out.writes[i].op != REC_DELETE)
                assert_non_null(out.writes[i].body);
            else
                assert_non_null(out.writes[i].name);
        }
        rec_result_fini(&out);
        runs++;
    }
}

static json_object *VALUES[6];

/* Walk every node of objs[which]; at each, try every replacement value. */
static void
mutate_all(json_object *objs[T_COUNT], int which, json_object *node)
{
    if (json_object_is_type(node, json_type_object)) {
        /* keys first: deleting and re-adding a key moves it, which would
         * restart a foreach over the live object */
        size_t n = 0, cap = (size_t)json_object_object_length(node);
        char **keys = calloc(cap + 1, sizeof *keys);
        json_object_object_foreach(node, k0, v0)
        {
            (void)v0;
            keys[n++] = strdup(k0);
        }
        for (size_t ki = 0; ki < n; ki++) {
            const char *k = keys[ki];
            json_object *keep = json_object_get(jx_child(node, k));
            for (size_t i = 0; i < 6; i++) {
                json_object_object_add(node, k, json_object_get(VALUES[i]));
                run_once(objs);
            }
            json_object_object_del(node, k);
            run_once(objs);
            json_object_object_add(node, k, keep);
            if (keep) mutate_all(objs, which, keep);
        }
        for (size_t ki = 0; ki < n; ki++)
            free(keys[ki]);
        free(keys);
    } else if (json_object_is_type(node, json_type_array)) {
        for (size_t j = 0; j < json_object_array_length(node); j++) {
            json_object *keep = json_object_get(json_object_array_get_idx(node, j));
            for (size_t i = 0; i < 6; i++) {
                json_object_array_put_idx(node, j, json_object_get(VALUES[i]));
                run_once(objs);
            }
            json_object_array_put_idx(node, j, keep);
            if (keep) mutate_all(objs, which, keep);
        }
    }
}

static void
test_mutations(void **state)
{
    (void)state;
    const char *src[T_COUNT] = {SB, POD, SVC, PVC, OUTCOME_OBJ};
    VALUES[0] = NULL;
    VALUES[1] = json_object_new_int(0);
    VALUES[2] = json_object_new_string("x");
    VALUES[3] = json_object_new_array();
    VALUES[4] = json_object_new_object();
    VALUES[5] = json_object_new_boolean(1);
    for (int which = 0; which < T_COUNT; which++) {
        json_object *objs[T_COUNT];
        for (int i = 0; i < T_COUNT; i++)
            objs[i] = sbx_parse(src[i]);
        mutate_all(objs, which, objs[which]);
        /* whole objects of the wrong type */
        for (size_t i = 0; i < 6; i++) {
            json_object *keep = objs[which];
            objs[which] = VALUES[i];
            run_once(objs);
            objs[which] = keep;
        }
        for (int i = 0; i < T_COUNT; i++)
            json_object_put(objs[i]);
    }
    for (size_t i = 0; i < 6; i++)
        json_object_put(VALUES[i]);
    print_message("%ld reconcile passes over malformed input\n", runs);
    assert_true(runs > 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mutations)};
    return cmocka_run_group_tests_name("rec_sandbox_malformed", tests, NULL, NULL);
}
