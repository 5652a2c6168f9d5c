/* test_rec_sandbox.c - table tests of the Sandbox reconcile (spec/api.md
 * §2.1): condition rules, Suspended matrix, transition times, adoption and
 * ownership, PVCs, Service ports, expiry, multiple pods, outcomes and write
 * economy. Each row is one pass over a small world (see the harness); rows
 * marked idem also check that a second pass after applying the writes is a
 * no-op. JSON in rows uses ' for " and $H for NameHash("sb"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "tests/test_rec_sandbox_harness.h"

#define OWNER_SB                                                                                   \
    "[{'apiVersion':'agents.x-k8s.io/v1beta1','kind':'Sandbox','name':'sb','uid':'sb-uid',"        \
    "'controller':true,'blockOwnerDeletion':true}]"
#define FOREIGN_OWNER                                                                              \
    "[{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'rs','uid':'rs-uid','controller':true}]"
#define ANN_POD "'metadata':{'annotations':{'agents.x-k8s.io/pod-name':'sb'}}"
#define T0      "'2026-01-01T00:00:00Z'"
#define TNOW    "'2026-01-01T00:10:00Z'"
#define C_SUSP_F                                                                                   \
    "{'type':'Suspended','status':'False','observedGeneration':1,'lastTransitionTime':" T0         \
    ",'reason':'NotSuspended','message':'Sandbox is not suspended'}"
#define C_SCHED_T                                                                                  \
    "{'type':'PodScheduled','status':'True','observedGeneration':1,'lastTransitionTime':" T0       \
    ",'reason':'PodScheduled','message':''}"
#define C_READY_T                                                                                  \
    "{'type':'Ready','status':'True','observedGeneration':1,'lastTransitionTime':" T0              \
    ",'reason':'DependenciesReady','message':'Pod is Ready; Service Exists'}"
#define ST_READY                                                                                   \
    "'status':{'serviceFQDN':'sb.ns.svc.cluster.local','service':'sb','conditions':[" C_SUSP_F     \
    "," C_SCHED_T "," C_READY_T "],'selector':'agents.x-k8s.io/sandbox-name-hash=$H',"             \
    "'podIPs':['10.0.0.1'],'nodeName':'node1'}"
#define SPEC_SVC "'spec':{'service':true}"
#define READY_CONDS                                                                                \
    "Suspended=False/NotSuspended PodScheduled=True/PodScheduled Ready=True/DependenciesReady"

static const sbx_row rows[] = {
    /* ---- launch and steady state ------------------------------------------- */
    {.name = "launch: pod + service created, no status in the create pass",
     .sb = "{" SPEC_SVC "}",
     .writes = "pod-create svc-create",
     .checks = "[['pod-create','/metadata/name','sb'],"
               "['pod-create','/metadata/labels',{'agents.x-k8s.io/sandbox-name-hash':'$H'}],"
               "['pod-create','/metadata/annotations','<absent>'],"
               "['pod-create','/metadata/ownerReferences'," OWNER_SB "],"
               "['pod-create','/spec',{'containers':[{'name':'c','image':'busybox'}]}],"
               "['svc-create','/spec/clusterIP','None'],"
               "['svc-create','/spec/selector',{'agents.x-k8s.io/sandbox-name-hash':'$H'}],"
               "['svc-create','/spec/ports',[]],"
               "['svc-create','/metadata/ownerReferences'," OWNER_SB "]]"},
    {.name = "launch without spec.service: pod only", .writes = "pod-create"},
    {.name = "pod observed Pending: pod-name annotation + first status",
     .sb = "{" SPEC_SVC "}",
     .pods = "[{'status':{'phase':'Pending','podIPs':null,'podIP':null,'conditions':null}}]",
     .svc = "{}",
     .writes = "sandbox-meta sandbox-status",
     .conds = "Suspended=False/NotSuspended PodScheduled=Unknown/PodSchedulingUnknown "
              "Ready=False/DependenciesNotReady",
     .ready_msg = "Pod exists with phase: Pending; Service Exists",
     .checks = "[['sandbox-meta','/metadata/annotations/agents.x-k8s.io~1pod-name','sb'],"
               "['status','/conditions/0/lastTransitionTime'," TNOW "],"
               "['status','/conditions/0/observedGeneration',1],"
               "['status','/service','sb'],"
               "['status','/serviceFQDN','sb.ns.svc.cluster.local'],"
               "['status','/selector','agents.x-k8s.io/sandbox-name-hash=$H'],"
               "['status','/nodeName','node1'],['status','/podIPs','<absent>'],"
               "['write:sandbox-status','/sub','status']]",
     .idem = 1},
    {.name = "steady Ready: no writes",
     .sb = "{" SPEC_SVC "," ANN_POD "," ST_READY "}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "",
     .conds = READY_CONDS},
    {.name = "pod Ready: one status patch, Ready True with service",
     .sb = "{" SPEC_SVC "," ANN_POD "}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "sandbox-status",
     .conds = READY_CONDS,
     .ready_msg = "Pod is Ready; Service Exists",
     .checks = "[['status','/podIPs',['10.0.0.1']],['status','/nodeName','node1'],"
               "['sandbox-status','/status/conditions/2/message','Pod is Ready; Service Exists']]",
     .idem = 1},
    /* ---- Ready message rules ---------------------------------------------------- */
    {.name = "Running not Ready",
     .sb = "{" SPEC_SVC "," ANN_POD "}",
     .pods = "[{'status':{'conditions':[{'type':'PodScheduled','status':'True'},"
             "{'type':'Ready','status':'False'}]}}]",
     .svc = "{}",
     .writes = "sandbox-status",
     .ready_msg = "Pod is Running but not Ready; Service Exists",
     .conds = "Suspended=False/NotSuspended PodScheduled=True/PodScheduled "
              "Ready=False/DependenciesNotReady"},
    {.name = "Ready without podIPs",
     .sb = "{" SPEC_SVC "," ANN_POD "}",
     .pods = "[{'status':{'podIPs':null,'podIP':null}}]",
     .svc = "{}",
     .writes = "sandbox-status",
     .ready_msg = "Pod is Ready but has no podIPs yet; Service Exists",
     .checks = "[['status','/podIPs','<absent>']]"},
    {.name = "empty phase",
     .sb = "{" ANN_POD "}",
     .pods = "[{'status':{'phase':null}}]",
     .writes = "sandbox-status",
     .ready_msg = "Pod exists with phase: "},
    {.name = "service unset, none found: not required",
     .sb = "{" ANN_POD "}",
     .pods = "[{}]",
     .writes = "sandbox-status",
     .conds = READY_CONDS,
     .ready_msg = "Pod is Ready",
     .checks = "[['status','/service','<absent>'],['status','/serviceFQDN','<absent>']]",
     .idem = 1},
    {.name = "service unset, owned Service found: required and reported",
     .sb = "{" ANN_POD "}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "sandbox-status",
     .ready_msg = "Pod is Ready; Service Exists",
     .checks = "[['status','/service','sb']]",
     .idem = 1},
    {.name = "service true, missing: created, status waits for the outcome",
     .sb = "{" SPEC_SVC "," ANN_POD "}",
     .pods = "[{}]",
     .writes = "svc-create"},
    {.name = "service create outcome: Service counted, status written",
     .sb = "{" SPEC_SVC "," ANN_POD "}",
     .pods = "[{}]",
     .outcomes = "[{'tag':'svc-create','object':{'metadata':{'name':'sb','namespace':'ns','uid':"
                 "'svc-uid','resourceVersion':'31','labels':{'agents.x-k8s.io/sandbox-name-hash':"
                 "'$H'},'ownerReferences':" OWNER_SB "},'spec':{'clusterIP':'None','selector':{"
                 "'agents.x-k8s.io/sandbox-name-hash':'$H'},'ports':[]}}}]",
     .writes = "sandbox-status",
     .conds = READY_CONDS,
     .ready_msg = "Pod is Ready; Service Exists"},
    {.name = "service create rejected: ReconcilerError written, create retried",
     .sb = "{" SPEC_SVC "," ANN_POD "}",
     .pods = "[{}]",
     .outcomes = "[{'tag':'svc-create','err':-1015,'http':422,'message':'Service \\\"sb\\\" is "
                 "invalid: metadata.name: Invalid value'}]",
     .writes = "svc-create sandbox-status",
     .ready_msg = "Error seen: Service \"sb\" is invalid: metadata.name: Invalid value",
     .error = 1},
    {.name = "pod Succeeded: Finished True, Ready PodSucceeded",
     .sb = "{" ANN_POD "}",
     .pods = "[{'status':{'phase':'Succeeded'}}]",
     .writes = "sandbox-status",
     .conds = "Suspended=False/NotSuspended Finished=True/PodSucceeded "
              "PodScheduled=True/PodScheduled Ready=False/PodSucceeded",
     .ready_msg = "Pod completed successfully",
     .checks = "[['status','/conditions/1/message','Pod completed successfully']]"},
    {.name = "pod Failed: Finished True, Ready PodFailed",
     .sb = "{" ANN_POD "}",
     .pods = "[{'status':{'phase':'Failed'}}]",
     .writes = "sandbox-status",
     .conds = "Suspended=False/NotSuspended Finished=True/PodFailed "
              "PodScheduled=True/PodScheduled Ready=False/PodFailed",
     .ready_msg = "Pod failed",
     .checks = "[['status','/conditions/1/message','Pod failed']]"},
    {.name = "Finished removed when the pod is no longer finished",
     .sb = "{" SPEC_SVC "," ANN_POD ",'status':{'conditions':[" C_SUSP_F
           ",{'type':'Finished','status':'True','lastTransitionTime':" T0
           ",'reason':'PodFailed','message':'Pod failed'}]}}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "sandbox-status",
     .conds = READY_CONDS},
    /* ---- PodScheduled mirroring ---------------------------------------------- */
    {.name = "PodScheduled mirrored verbatim",
     .sb = "{" ANN_POD "}",
     .pods = "[{'status':{'phase':'Pending','podIPs':null,'podIP':null,'conditions':[{'type':"
             "'PodScheduled','status':'False','reason':'Unschedulable','message':'0/3 nodes'}]}}]",
     .writes = "sandbox-status",
     .conds = "Suspended=False/NotSuspended PodScheduled=False/Unschedulable "
              "Ready=False/DependenciesNotReady",
     .checks = "[['status','/conditions/1/message','0/3 nodes']]"},
    {.name = "PodScheduled False with empty reason => PodSchedulingUnknown",
     .sb = "{" ANN_POD "}",
     .pods = "[{'status':{'phase':'Pending','conditions':[{'type':'PodScheduled','status':"
             "'False'}]}}]",
     .writes = "sandbox-status",
     .conds = "Suspended=False/NotSuspended PodScheduled=False/PodSchedulingUnknown "
              "Ready=False/DependenciesNotReady"},
    {.name = "pod without PodScheduled condition",
     .sb = "{" ANN_POD "}",
     .pods = "[{'status':{'phase':'Pending','conditions':[]}}]",
     .writes = "sandbox-status",
     .conds = "Suspended=False/NotSuspended PodScheduled=Unknown/PodSchedulingUnknown "
              "Ready=False/DependenciesNotReady",
     .checks = "[['status','/conditions/1/message','Pod has not reported a PodScheduled "
               "condition yet']]"},
    {.name = "pod lookup failed (Running)",
     .lookup_failed = 1,
     .writes = "sandbox-status",
     .conds = "Suspended=False/NotSuspended PodScheduled=Unknown/PodSchedulingUnknown "
              "Ready=False/ReconcilerError",
     .checks = "[['status','/conditions/1/message','Pod state is unknown. Pod scheduling "
               "cannot be determined']]",
     .error = 1},
    /* ---- Suspended matrix ------------------------------------------------------ */
    {.name = "suspend: owned pod deleted, annotation removed, service kept",
     .sb = "{'spec':{'operatingMode':'Suspended','service':true}," ANN_POD "," ST_READY "}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "pod-delete sandbox-meta sandbox-status",
     .conds = "Suspended=False/PodTerminating PodScheduled=True/PodScheduled "
              "Ready=False/SandboxSuspended",
     .ready_msg = "Sandbox is suspending",
     .checks = "[['write:pod-delete','/precondition_uid','pod-uid'],"
               "['write:pod-delete','/name','sb'],"
               "['sandbox-meta','/metadata/annotations/agents.x-k8s.io~1pod-name',null],"
               "['status','/conditions/0/message','Pod is terminating. Sandbox is suspending'],"
               "['status','/conditions/0/lastTransitionTime'," T0 "],"
               "['status','/service','sb'],['status','/podIPs',['10.0.0.1']]]"},
    {.name = "suspend: owned pod already terminating => wait",
     .sb = "{'spec':{'operatingMode':'Suspended'}}",
     .pods = "[{'metadata':{'deletionTimestamp':" T0 "}}]",
     .writes = "sandbox-status",
     .conds = "Suspended=False/PodTerminating PodScheduled=True/PodScheduled "
              "Ready=False/SandboxSuspended"},
    {.name = "suspend: no pod => PodTerminated, fields cleared, selector kept",
     .sb = "{'spec':{'operatingMode':'Suspended','service':true}," ST_READY "}",
     .svc = "{}",
     .writes = "sandbox-status",
     .conds = "Suspended=True/PodTerminated Ready=False/SandboxSuspended",
     .ready_msg = "Sandbox is suspended",
     .checks = "[['status','/conditions/0/lastTransitionTime'," TNOW "],"
               "['status','/conditions/0/message','Pod has been terminated. Sandbox is "
               "suspended'],"
               "['status','/podIPs','<absent>'],['status','/nodeName','<absent>'],"
               "['status','/selector','agents.x-k8s.io/sandbox-name-hash=$H'],"
               "['status','/service','sb']]",
     .idem = 1},
    {.name = "suspend: unowned pod never deleted => PodNotOwned",
     .sb = "{'spec':{'operatingMode':'Suspended'}}",
     .pods = "[{'metadata':{'ownerReferences':null}}]",
     .writes = "sandbox-status",
     .conds = "Suspended=False/PodNotOwned Ready=False/SandboxSuspended",
     .ready_msg = "Sandbox is suspending",
     .checks = "[['status','/conditions/0/message','Refused to delete pod because it is not "
               "owned by this sandbox']]"},
    {.name = "suspend: pod lookup failed => PodStateUnknown",
     .sb = "{'spec':{'operatingMode':'Suspended'}}",
     .lookup_failed = 1,
     .writes = "sandbox-status",
     .conds = "Suspended=Unknown/PodStateUnknown PodScheduled=Unknown/PodSchedulingUnknown "
              "Ready=False/ReconcilerError",
     .error = 1},
    {.name = "resume: pod recreated from the template",
     .sb = "{'spec':{'operatingMode':'Running'},'status':{'conditions':[{'type':'Suspended',"
           "'status':'True','lastTransitionTime':" T0 ",'reason':'PodTerminated','message':'x'}]}}",
     .writes = "pod-create"},
    {.name = "Suspended True->False: lastTransitionTime moves; same status keeps it",
     .sb = "{'metadata':{'generation':3,'annotations':{'agents.x-k8s.io/pod-name':'sb'}},"
           "'status':{'conditions':[{'type':'Suspended',"
           "'status':'True','observedGeneration':2,'lastTransitionTime':" T0 ",'reason':"
           "'PodTerminated','message':'x'},{'type':'Ready','status':'False','observedGeneration':2,"
           "'lastTransitionTime':" T0 ",'reason':'SandboxSuspended','message':'x'}]}}",
     .pods = "[{'status':{'conditions':[{'type':'Ready','status':'False'}]}}]",
     .writes = "sandbox-status",
     .conds = "Suspended=False/NotSuspended Ready=False/DependenciesNotReady "
              "PodScheduled=Unknown/PodSchedulingUnknown",
     .checks = "[['status','/conditions/0/lastTransitionTime'," TNOW "],"
               "['status','/conditions/0/observedGeneration',3],"
               "['status','/conditions/1/lastTransitionTime'," T0 "],"
               "['status','/conditions/1/observedGeneration',3]]"},
    /* ---- pod ownership and adoption --------------------------------------------- */
    {.name = "pod owned by another controller: refused",
     .sb = "{" ANN_POD "," ST_READY "}",
     .pods = "[{'metadata':{'ownerReferences':" FOREIGN_OWNER "}}]",
     .writes = "sandbox-meta sandbox-status",
     .conds = "Suspended=False/NotSuspended Ready=False/ReconcilerError",
     .ready_msg = "Error seen: pod \"sb\" is owned by ReplicaSet/rs (UID: rs-uid), not by "
                  "sandbox \"sb\"",
     .checks = "[['sandbox-meta','/metadata/annotations/agents.x-k8s.io~1pod-name',null],"
               "['status','/podIPs','<absent>'],['status','/nodeName','<absent>']]",
     .error = 1},
    {.name = "unowned pod without labels: cannot adopt",
     .pods = "[{'metadata':{'ownerReferences':null,'labels':null}}]",
     .writes = "sandbox-status",
     .ready_msg = "Error seen: cannot adopt unowned pod \"sb\": missing required pool "
                  "authorization label (\"agents.x-k8s.io/adoptable\") or sandbox tracking "
                  "label (\"agents.x-k8s.io/sandbox-name-hash\")",
     .error = 1},
    {.name = "unowned pod with adoptable=true: adopted in one patch with metadata",
     .pods = "[{'metadata':{'ownerReferences':null,'labels':{'agents.x-k8s.io/adoptable':'true',"
             "'agents.x-k8s.io/sandbox-name-hash':null}}}]",
     .writes = "pod-patch sandbox-meta sandbox-status",
     .conds = READY_CONDS,
     .ready_msg = "Pod is Ready",
     .checks = "[['pod-patch','/metadata/ownerReferences'," OWNER_SB "],"
               "['pod-patch','/metadata/labels',{'agents.x-k8s.io/sandbox-name-hash':'$H'}],"
               "['status','/podIPs',['10.0.0.1']]]",
     .idem = 1},
    {.name = "unowned pod with tracking label: adopted",
     .pods = "[{'metadata':{'ownerReferences':[{'apiVersion':'v1','kind':'ConfigMap','name':"
             "'x','uid':'cm'}]}}]",
     .writes = "pod-patch sandbox-meta sandbox-status",
     .checks = "[['pod-patch','/metadata/ownerReferences',[{'apiVersion':'v1','kind':'ConfigMap',"
               "'name':'x','uid':'cm'},{'apiVersion':'agents.x-k8s.io/v1beta1','kind':'Sandbox',"
               "'name':'sb','uid':'sb-uid','controller':true,'blockOwnerDeletion':true}]]]"},
    {.name = "pod-name annotation differs from the owned pod: owned pod wins",
     .sb = "{'metadata':{'annotations':{'agents.x-k8s.io/pod-name':'gone'}}}",
     .pods = "[{}]",
     .writes = "sandbox-meta sandbox-status",
     .checks = "[['sandbox-meta','/metadata/annotations/agents.x-k8s.io~1pod-name','sb']]"},
    {.name = "pod-name annotation names a missing pod and none owned: removed, pod created",
     .sb = "{'metadata':{'annotations':{'agents.x-k8s.io/pod-name':'gone'}}}",
     .writes = "pod-create sandbox-meta",
     .checks = "[['sandbox-meta','/metadata/annotations/agents.x-k8s.io~1pod-name',null]]"},
    {.name = "multiple owned pods: fail closed, event, no create, service untouched",
     .sb = "{" SPEC_SVC "}",
     .pods = "[{}, {'metadata':{'name':'sb-other','uid':'pod2'}}]",
     .writes = "sandbox-status",
     .conds = "Suspended=False/NotSuspended PodScheduled=Unknown/PodSchedulingUnknown "
              "Ready=False/MultiplePods",
     .ready_msg = "multiple Pods (2) are controlled by this Sandbox; refusing to choose or "
                  "create a Pod",
     .events = "MultiplePods",
     .idem = 1},
    {.name = "multiple owned pods already reported: no event, no write",
     .sb = "{'status':{'conditions':[" C_SUSP_F ",{'type':'PodScheduled','status':'Unknown',"
           "'observedGeneration':1,'lastTransitionTime':" T0 ",'reason':'PodSchedulingUnknown',"
           "'message':'Pod state is unknown. Pod scheduling cannot be determined'},{'type':"
           "'Ready','status':'False','observedGeneration':1,'lastTransitionTime':" T0 ",'reason':"
           "'MultiplePods','message':'multiple Pods (2) are controlled by this Sandbox; refusing "
           "to choose or create a Pod'}]}}",
     .pods = "[{}, {'metadata':{'name':'sb-other','uid':'pod2'}}]",
     .writes = ""},
    /* ---- metadata propagation ------------------------------------------------------ */
    {.name = "pod create: labels/annotations propagated, system keys filtered, ext labels",
     .sb = "{'metadata':{'labels':{'agents.x-k8s.io/created-by':'weird','agents.x-k8s.io/"
           "warm-pool-sandbox':'wp','agents.x-k8s.io/sandbox-template-ref-hash':'th'},"
           "'ownerReferences':[{'apiVersion':'extensions.agents.x-k8s.io/v1beta1','kind':"
           "'SandboxWarmPool','name':'pool','uid':'p','controller':true}]},'spec':{"
           "'podTemplate':{'metadata':{'labels':{'b':'2','a':'1','agents.x-k8s.io/claim-uid':'u'},"
           "'annotations':{'z':'1','opentelemetry.io/trace-context':'t','extensions.agents.x-k8s"
           ".io/x':'y'}}}}}",
     .writes = "pod-create",
     .checks = "[['pod-create','/metadata/labels',{'a':'1','b':'2','agents.x-k8s.io/"
               "sandbox-name-hash':'$H','agents.x-k8s.io/warm-pool-sandbox':'wp','agents.x-k8s.io/"
               "sandbox-template-ref-hash':'th','agents.x-k8s.io/created-by':'unknown'}],"
               "['pod-create','/metadata/annotations',{'z':'1','agents.x-k8s.io/"
               "propagated-labels':'a,b','agents.x-k8s.io/propagated-annotations':'z'}]]"},
    {.name = "existing pod: stale propagated keys removed, new ones added",
     .sb = "{'metadata':{'annotations':{'agents.x-k8s.io/pod-name':'sb'},'labels':{"
           "'agents.x-k8s.io/created-by':'python-client'}},"
           "'spec':{'podTemplate':{'metadata':{'labels':{'new':'v'},'annotations':{'an':'1'}}}}}",
     .pods = "[{'metadata':{'labels':{'old':'x','keep':'k','agents.x-k8s.io/warm-pool-sandbox':"
             "'wp','agents.x-k8s.io/claim-uid':'c'},'annotations':{'agents.x-k8s.io/"
             "propagated-labels':'agents.x-k8s.io/claim-uid,old','oa':'1','agents.x-k8s.io/"
             "propagated-annotations':'oa'}}}]",
     .writes = "pod-patch sandbox-status",
     .checks = "[['pod-patch','/metadata/labels',{'old':null,'agents.x-k8s.io/claim-uid':null,"
               "'new':'v','agents.x-k8s.io/warm-pool-sandbox':null,'agents.x-k8s.io/created-by':"
               "'python-client'}],"
               "['pod-patch','/metadata/annotations',{'oa':null,'an':'1','agents.x-k8s.io/"
               "propagated-labels':'new','agents.x-k8s.io/propagated-annotations':'an'}]]",
     .idem = 1},
    /* ---- PVCs ------------------------------------------------------------------------ */
    {.name = "PVC missing: created first, pod waits for it",
     .sb = "{'spec':{'volumeClaimTemplates':[{'metadata':{'name':'data','labels':{'l':'1'},"
           "'annotations':{'a':'2'}},'spec':{'accessModes':['ReadWriteOnce']}}]}}",
     .writes = "pvc-create",
     .requeue = "0",
     .checks = "[['pvc-create','/metadata/name','data-sb'],"
               "['pvc-create','/metadata/labels',{'l':'1','agents.x-k8s.io/sandbox-name-hash':"
               "'$H'}],['pvc-create','/metadata/annotations',{'a':'2'}],"
               "['pvc-create','/metadata/ownerReferences'," OWNER_SB "],"
               "['pvc-create','/spec',{'accessModes':['ReadWriteOnce']}]]"},
    {.name = "PVC present: pod volumes replace same-named and append",
     .sb = "{'spec':{'volumeClaimTemplates':[{'metadata':{'name':'data'},'spec':{}}],"
           "'podTemplate':{'spec':{'containers':[{'name':'c'}],'volumes':[{'name':'data',"
           "'emptyDir':{}},{'name':'cfg','emptyDir':{}}]}}}}",
     .pvcs = "[{}]",
     .writes = "pod-create",
     .checks = "[['pod-create','/spec/volumes',[{'name':'cfg','emptyDir':{}},{'name':'data',"
               "'persistentVolumeClaim':{'claimName':'data-sb'}}]]]"},
    {.name = "PVC owned by someone else: error, no pod",
     .sb = "{'spec':{'volumeClaimTemplates':[{'metadata':{'name':'data'},'spec':{}}]}}",
     .pvcs = "[{'metadata':{'ownerReferences':" FOREIGN_OWNER "}}]",
     .writes = "sandbox-status",
     .ready_msg = "Error seen: PVC \"data-sb\" is owned by ReplicaSet/rs (UID: rs-uid), not by "
                  "sandbox \"sb\"",
     .error = 1},
    {.name = "PVC unowned, adoptable: adopted by merge patch",
     .sb = "{'spec':{'volumeClaimTemplates':[{'metadata':{'name':'data'},'spec':{}}]}}",
     .pvcs = "[{'metadata':{'ownerReferences':null,'labels':{'agents.x-k8s.io/adoptable':"
             "'true'}}}]",
     .writes = "pvc-adopt",
     .requeue = "0",
     .checks = "[['pvc-adopt','/metadata/ownerReferences'," OWNER_SB "],"
               "['write:pvc-adopt','/name','data-sb']]"},
    {.name = "PVC unowned without labels: cannot adopt",
     .sb = "{'spec':{'volumeClaimTemplates':[{'metadata':{'name':'data'},'spec':{}}]}}",
     .pvcs = "[{'metadata':{'ownerReferences':null}}]",
     .writes = "sandbox-status",
     .ready_msg = "Error seen: cannot adopt unowned PVC \"data-sb\": missing required pool "
                  "authorization label (\"agents.x-k8s.io/adoptable\") or sandbox tracking "
                  "label (\"agents.x-k8s.io/sandbox-name-hash\")",
     .error = 1},
    /* ---- Service ---------------------------------------------------------------------- */
    {.name = "service owned by someone else: error",
     .sb = "{" SPEC_SVC "," ANN_POD "}",
     .pods = "[{}]",
     .svc = "{'metadata':{'ownerReferences':" FOREIGN_OWNER "}}",
     .writes = "sandbox-status",
     .ready_msg = "Error seen: service \"sb\" is owned by ReplicaSet/rs (UID: rs-uid), not by "
                  "sandbox \"sb\"",
     .checks = "[['status','/service','<absent>']]",
     .error = 1},
    {.name = "service unowned + true + adoptable + headless: adopted by Update",
     .sb = "{" SPEC_SVC "," ANN_POD "}",
     .pods = "[{'spec':{'containers':[{'name':'c','ports':[{'containerPort':80}]}]}}]",
     .svc = "{'metadata':{'ownerReferences':null,'labels':{'agents.x-k8s.io/adoptable':'true'}},"
            "'spec':{'selector':{'app':'x'}}}",
     .writes = "svc-update",
     .checks = "[['svc-update','/metadata/ownerReferences'," OWNER_SB "],"
               "['svc-update','/metadata/resourceVersion','30'],"
               "['svc-update','/spec/selector',{'agents.x-k8s.io/sandbox-name-hash':'$H'}],"
               "['svc-update','/metadata/labels/agents.x-k8s.io~1sandbox-name-hash','$H']]"},
    {.name = "service unowned with a ClusterIP: cannot adopt",
     .sb = "{" SPEC_SVC "," ANN_POD "}",
     .pods = "[{}]",
     .svc = "{'metadata':{'ownerReferences':null},'spec':{'clusterIP':'10.0.0.5'}}",
     .writes = "sandbox-status",
     .ready_msg = "Error seen: cannot adopt service \"sb\": ClusterIP is \"10.0.0.5\" (expected "
                  "\"None\", field is immutable)",
     .error = 1},
    {.name = "service unowned without labels: cannot adopt",
     .sb = "{" SPEC_SVC "," ANN_POD "}",
     .pods = "[{}]",
     .svc = "{'metadata':{'ownerReferences':null,'labels':null}}",
     .writes = "sandbox-status",
     .ready_msg = "Error seen: cannot adopt unowned service \"sb\": missing required pool "
                  "authorization label (\"agents.x-k8s.io/adoptable\") or sandbox tracking "
                  "label (\"agents.x-k8s.io/sandbox-name-hash\")",
     .error = 1},
    {.name = "service unset + unowned Service: ignored",
     .sb = "{" ANN_POD "}",
     .pods = "[{}]",
     .svc = "{'metadata':{'ownerReferences':null}}",
     .writes = "sandbox-status",
     .ready_msg = "Pod is Ready",
     .checks = "[['status','/service','<absent>']]"},
    {.name = "service false + owned Service: deleted, status cleared",
     .sb = "{'spec':{'service':false}," ANN_POD "," ST_READY "}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "svc-delete sandbox-status",
     .ready_msg = "Pod is Ready",
     .checks = "[['write:svc-delete','/precondition_uid','svc-uid'],"
               "['sandbox-status','/status/service',null],"
               "['sandbox-status','/status/serviceFQDN',null]]"},
    {.name = "service false + foreign Service: left alone",
     .sb = "{'spec':{'service':false}," ANN_POD "}",
     .pods = "[{}]",
     .svc = "{'metadata':{'ownerReferences':" FOREIGN_OWNER "}}",
     .writes = "sandbox-status",
     .ready_msg = "Pod is Ready"},
    {.name = "owned Service drift: label, selector and ports repaired",
     .sb = "{" ANN_POD "," ST_READY ",'spec':{'service':true,'podTemplate':{'spec':{"
           "'containers':[{'name':'c','ports':[{'containerPort':8080,'name':'http'}]}]}}}}",
     .pods = "[{}]",
     .svc = "{'metadata':{'labels':{'agents.x-k8s.io/sandbox-name-hash':'bad'}},'spec':{"
            "'selector':{'app':'x','agents.x-k8s.io/sandbox-name-hash':'$H'}}}",
     .writes = "svc-patch",
     .checks = "[['svc-patch','/metadata/labels',{'agents.x-k8s.io/sandbox-name-hash':'$H'}],"
               "['svc-patch','/spec/selector',{'agents.x-k8s.io/sandbox-name-hash':'$H',"
               "'app':null}],"
               "['svc-patch','/spec/ports',[{'name':'http','protocol':'TCP','port':8080,"
               "'targetPort':8080}]]]",
     .idem = 1},
    {.name = "owned Service, service unset: ports not repaired",
     .sb = "{" ANN_POD ",'spec':{'podTemplate':{'spec':{'containers':[{'name':'c','ports':[{"
           "'containerPort':8080}]}]}}}}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "sandbox-status"},
    {.name = "service ports: sidecars, dedupe, sort, names, collisions, port 0",
     .sb = "{'spec':{'service':true,'podTemplate':{'spec':{'containers':[{'name':'a','ports':[{"
           "'containerPort':9000,'protocol':'UDP'},{'containerPort':80},{'containerPort':0,"
           "'name':'zero'},{'containerPort':9000,'name':'p-9000-tcp'}]},{'name':'b','ports':[{"
           "'containerPort':80,'name':'web'},{'containerPort':9000}]}],'initContainers':[{"
           "'name':'side','restartPolicy':'Always','ports':[{'containerPort':70,'name':'web'}]},"
           "{'name':'init','ports':[{'containerPort':60}]}]}}}}",
     .writes = "pod-create svc-create",
     .checks = "[['svc-create','/spec/ports',["
               "{'name':'web','protocol':'TCP','port':70,'targetPort':70},"
               "{'name':'p-80-tcp','protocol':'TCP','port':80,'targetPort':80},"
               "{'name':'p-9000-tcp','protocol':'TCP','port':9000,'targetPort':9000},"
               "{'name':'p-9000-udp','protocol':'UDP','port':9000,'targetPort':9000}]]]"},
    {.name = "service ports: generated name collides with an explicit one",
     .sb = "{'spec':{'service':true,'podTemplate':{'spec':{'containers':[{'name':'a','ports':[{"
           "'containerPort':80,'name':'p-81-tcp'},{'containerPort':81}]}]}}}}",
     .writes = "pod-create svc-create",
     .checks = "[['svc-create','/spec/ports/1/name','p-81-tcp-2']]"},
    /* ---- expiry ------------------------------------------------------------------------- */
    {.name = "not expired: requeue at shutdownTime",
     .sb = "{'spec':{'shutdownTime':'2026-01-01T00:10:30Z'}," ANN_POD "}",
     .pods = "[{}]",
     .writes = "sandbox-status",
     .requeue = "30000"},
    {.name = "expired, first pass: mark only, requeue 1 ms",
     .sb =
         "{'spec':{'shutdownTime':'2026-01-01T00:05:00Z','service':true}," ANN_POD "," ST_READY "}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "sandbox-status",
     .conds = "Suspended=False/NotSuspended Ready=False/SandboxExpired",
     .ready_msg = "Sandbox has expired",
     .requeue = "1",
     .checks = "[['status','/podIPs',['10.0.0.1']],['status','/service','sb']]"},
    {.name = "expired, marked, Retain: children deleted, status reset",
     .sb = "{'spec':{'shutdownTime':'2026-01-01T00:05:00Z','service':true}," ANN_POD
           ",'status':{'service':'sb','serviceFQDN':'x','selector':'s','podIPs':['1'],"
           "'nodeName':'n','conditions':[" C_SUSP_F ",{'type':'Finished','status':'True',"
           "'lastTransitionTime':" T0 ",'reason':'PodSucceeded','message':'m'},{'type':'Ready',"
           "'status':'False','lastTransitionTime':" T0 ",'reason':'SandboxExpired','message':"
           "'Sandbox has expired'}]}}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "pod-delete svc-delete sandbox-status",
     .conds = "Suspended=False/NotSuspended Finished=True/PodSucceeded Ready=False/SandboxExpired",
     .checks = "[['status','/service','<absent>'],['status','/serviceFQDN','<absent>'],"
               "['status','/selector','<absent>'],['status','/podIPs','<absent>'],"
               "['status','/nodeName','<absent>'],['write:pod-delete','/precondition_uid',"
               "'pod-uid']]"},
    {.name = "expired, marked, Delete: children and Sandbox deleted, no status",
     .sb = "{'spec':{'shutdownTime':'2026-01-01T00:05:00Z','shutdownPolicy':'Delete'},"
           "'status':{'conditions':[{'type':'Ready','status':'False','lastTransitionTime':" T0
           ",'reason':'SandboxExpired','message':'Sandbox has expired'}]}}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "pod-delete svc-delete sandbox-delete",
     .checks = "[['write:sandbox-delete','/precondition_uid','sb-uid']]"},
    {.name = "expired, marked: foreign children skipped",
     .sb = "{'spec':{'shutdownTime':'2026-01-01T00:05:00Z'},'status':{'conditions':[{'type':"
           "'Ready','status':'False','observedGeneration':1,'lastTransitionTime':" T0 ",'reason':"
           "'SandboxExpired','message':'Sandbox has expired'}]}}",
     .pods = "[{'metadata':{'ownerReferences':" FOREIGN_OWNER "}}]",
     .svc = "{'metadata':{'ownerReferences':null}}",
     .writes = ""},
    /* ---- deletion, outcomes, write economy ---------------------------------------------- */
    {.name = "Sandbox being deleted: nothing",
     .sb = "{'metadata':{'deletionTimestamp':" T0 "}}",
     .writes = ""},
    {.name = "pod create rejected (422): ReconcilerError with server message, retried",
     .outcomes = "[{'tag':'pod-create','err':-1015,'http':422,'reason':'Invalid','message':"
                 "'Pod \\\"sb\\\" is invalid: spec.containers[0].image: Required value'}]",
     .writes = "pod-create sandbox-status",
     .conds = "Suspended=False/NotSuspended Ready=False/ReconcilerError",
     .ready_msg = "Error seen: Pod \"sb\" is invalid: spec.containers[0].image: Required value",
     .error = 1},
    {.name = "pod create AlreadyExists, not in cache: ReconcilerError, retried",
     .outcomes = "[{'tag':'pod-create','err':-1014,'http':409,'reason':'AlreadyExists',"
                 "'message':'pods \\\"sb\\\" already exists'}]",
     .writes = "pod-create sandbox-status",
     .ready_msg = "Error seen: pods \"sb\" already exists",
     .error = 1},
    {.name = "pod create succeeded, cache behind: returned object stands in",
     .outcomes = "[{'tag':'pod-create','object':{'apiVersion':'v1','kind':'Pod','metadata':{"
                 "'name':'sb','namespace':'ns','uid':'new','resourceVersion':'50','labels':{"
                 "'agents.x-k8s.io/sandbox-name-hash':'$H'},'ownerReferences':" OWNER_SB "},"
                 "'spec':{'containers':[{'name':'c','image':'busybox'}]},'status':{'phase':"
                 "'Pending'}}}]",
     .writes = "sandbox-meta sandbox-status",
     .ready_msg = "Pod exists with phase: Pending"},
    {.name = "status already written, cache behind: no second status write",
     .sb = "{" ANN_POD "}",
     .pods = "[{}]",
     .outcomes = "[{'tag':'sandbox-status','object':{'metadata':{'name':'sb','namespace':'ns',"
                 "'uid':'sb-uid','generation':1,'resourceVersion':'11','annotations':{"
                 "'agents.x-k8s.io/pod-name':'sb'}},'spec':{'podTemplate':{'spec':{'containers':"
                 "[{'name':'c'}]}}},'status':{'conditions':[" C_SUSP_F "," C_SCHED_T ","
                 "{'type':'Ready','status':'True','observedGeneration':1,'lastTransitionTime':" T0
                 ",'reason':'DependenciesReady','message':'Pod is Ready'}],'selector':"
                 "'agents.x-k8s.io/sandbox-name-hash=$H','podIPs':['10.0.0.1'],'nodeName':"
                 "'node1'}}}]",
     .writes = ""},
    {.name = "nodeName-only change while not Ready: skipped",
     .sb = "{" ANN_POD ",'status':{'conditions':[" C_SUSP_F ",{'type':'PodScheduled','status':"
           "'False','observedGeneration':1,'lastTransitionTime':" T0 ",'reason':'Unschedulable',"
           "'message':''},{'type':'Ready','status':'False','observedGeneration':1,"
           "'lastTransitionTime':" T0 ",'reason':'DependenciesNotReady','message':'Pod exists "
           "with phase: Pending'}],'selector':'agents.x-k8s.io/sandbox-name-hash=$H'}}",
     .pods = "[{'spec':{'nodeName':'node9'},'status':{'phase':'Pending','podIPs':null,'podIP':"
             "null,'conditions':[{'type':'PodScheduled','status':'False','reason':"
             "'Unschedulable'}]}}]",
     .writes = ""},
    {.name = "nodeName-only change while Ready: written",
     .sb = "{" SPEC_SVC "," ANN_POD "," ST_READY "}",
     .pods = "[{'spec':{'nodeName':'node2'}}]",
     .svc = "{}",
     .writes = "sandbox-status",
     .checks = "[['sandbox-status','/status',{'nodeName':'node2'}]]"},
    {.name = "settle window: young pending pod's status deferred",
     .sb = "{" ANN_POD "}",
     .pods = "[{'metadata':{'creationTimestamp':'2026-01-01T00:09:59Z'},'status':{'phase':"
             "'Pending','podIPs':null,'podIP':null}}]",
     .settle_ms = 1500,
     .writes = "",
     .requeue = "1500"},
    {.name = "settle window: Ready is written at once",
     .sb = "{" ANN_POD "}",
     .pods = "[{'metadata':{'creationTimestamp':'2026-01-01T00:09:59Z'}}]",
     .settle_ms = 1500,
     .writes = "sandbox-status"},
    /* ---- generation-only status (a claim's adoption bumped the generation).
     * These rows run in order: the window's start is the pass's memory. --- */
    {.name = "generation only, no settle window: written at once",
     .sb = "{'metadata':{'generation':2,'annotations':{'agents.x-k8s.io/pod-name':'sb'}}," SPEC_SVC
           "," ST_READY "}",
     .pods = "[{}]",
     .svc = "{}",
     .writes = "sandbox-status",
     .checks = "[['sandbox-status','/status/conditions/0/observedGeneration',2],"
               "['sandbox-status','/status/conditions/2/observedGeneration',2],"
               "['sandbox-status','/status/conditions/2/reason','DependenciesReady'],"
               "['sandbox-status','/status/nodeName','<absent>'],"
               "['sandbox-status','/status/selector','<absent>']]"},
    {.name = "generation only: held for the window",
     .sb = "{'metadata':{'generation':2,'annotations':{'agents.x-k8s.io/pod-name':'sb'}}," SPEC_SVC
           "," ST_READY "}",
     .pods = "[{}]",
     .svc = "{}",
     .settle_ms = 2500,
     .writes = "",
     .requeue = "2500"},
    {.name = "generation only: still held inside the window, same deadline",
     .sb = "{'metadata':{'generation':2,'annotations':{'agents.x-k8s.io/pod-name':'sb'}}," SPEC_SVC
           "," ST_READY "}",
     .pods = "[{}]",
     .svc = "{}",
     .now_offset_s = 2,
     .settle_ms = 2500,
     .writes = "",
     .requeue = "500"},
    {.name = "generation only: written once the window is over",
     .sb = "{'metadata':{'generation':2,'annotations':{'agents.x-k8s.io/pod-name':'sb'}}," SPEC_SVC
           "," ST_READY "}",
     .pods = "[{}]",
     .svc = "{}",
     .now_offset_s = 3,
     .settle_ms = 2500,
     .writes = "sandbox-status",
     .checks = "[['sandbox-status','/status/conditions/2/observedGeneration',2]]"},
    {.name = "generation plus a real change: written at once",
     .sb = "{'metadata':{'generation':2,'annotations':{'agents.x-k8s.io/pod-name':'sb'}}," SPEC_SVC
           "," ST_READY "}",
     .pods = "[{'spec':{'nodeName':'node2'}}]",
     .svc = "{}",
     .now_offset_s = 4,
     .settle_ms = 2500,
     .writes = "sandbox-status",
     .checks = "[['sandbox-status','/status/nodeName','node2'],"
               "['sandbox-status','/status/conditions/2/observedGeneration',2]]"},
    {.name = "generation only after a write: a new window",
     .sb = "{'metadata':{'generation':3,'annotations':{'agents.x-k8s.io/pod-name':'sb'}}," SPEC_SVC
           "," ST_READY "}",
     .pods = "[{}]",
     .svc = "{}",
     .now_offset_s = 5,
     .settle_ms = 2500,
     .writes = "",
     .requeue = "2500"},
};

static void
run(void **state)
{
    sbx_run_row(*state);
}

int
main(void)
{
    enum { N = sizeof rows / sizeof rows[0] };
    struct CMUnitTest tests[N];
    for (size_t i = 0; i < N; i++)
        tests[i] = (struct CMUnitTest){
            .name = rows[i].name, .test_func = run, .initial_state = (void *)&rows[i]};
    return cmocka_run_group_tests_name("rec_sandbox", tests, NULL, NULL);
}
