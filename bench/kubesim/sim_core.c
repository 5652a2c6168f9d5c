/* sim_core.c - built-in kinds' defaults, admission and validation. */
#include "bench/kubesim/sim_core.h"

#include "bench/kubesim/sim_meta.h"
#include "bench/kubesim/sim_patch.h"
#include "bench/kubesim/sim_status.h"

#include "core/jx.h"

#include <stdio.h>
#include <string.h>

static void
set_default(json_object *o, const char *key, json_object *v)
{
    if (!json_object_object_get_ex(o, key, NULL))
        json_object_object_add(o, key, v);
    else
        json_object_put(v);
}

void
sim_core_pod_condition(json_object *pod, const char *type, const char *status, const char *reason)
{
    json_object *st = jx_ensure_obj(pod, "status");
    json_object *conds = jx_arr(st, "conditions");
    if (!conds) {
        conds = json_object_new_array();
        json_object_object_add(st, "conditions", conds);
    }
    char now[32];
    sim_meta_now(now);
    size_t n = json_object_array_length(conds);
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        if (strcmp(jx_str_or(c, "type", ""), type) != 0) continue;
        if (strcmp(jx_str_or(c, "status", ""), status) != 0) {
            json_object_object_add(c, "status", json_object_new_string(status));
            json_object_object_add(c, "lastTransitionTime", json_object_new_string(now));
        }
        if (reason) json_object_object_add(c, "reason", json_object_new_string(reason));
        return;
    }
    json_object *c = json_object_new_object();
    json_object_object_add(c, "type", json_object_new_string(type));
    json_object_object_add(c, "status", json_object_new_string(status));
    json_object_object_add(c, "lastProbeTime", NULL);
    json_object_object_add(c, "lastTransitionTime", json_object_new_string(now));
    if (reason) json_object_object_add(c, "reason", json_object_new_string(reason));
    json_object_array_add(conds, c);
}

static void
container_defaults(json_object *cs)
{
    size_t n = cs ? json_object_array_length(cs) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(cs, i);
        if (!json_object_is_type(c, json_type_object)) continue;
        set_default(c, "resources", json_object_new_object());
        set_default(c, "terminationMessagePath", json_object_new_string("/dev/termination-log"));
        set_default(c, "terminationMessagePolicy", json_object_new_string("File"));
        const char *img = jx_str_or(c, "image", "");
        const char *tag = strrchr(img, ':');
        const char *slash = strrchr(img, '/');
        int latest = !tag || (slash && tag < slash) || !strcmp(tag, ":latest");
        if (strchr(img, '@')) latest = 0;
        set_default(c, "imagePullPolicy",
                    json_object_new_string(latest ? "Always" : "IfNotPresent"));
        json_object *ports = jx_arr(c, "ports");
        size_t np = ports ? json_object_array_length(ports) : 0;
        for (size_t k = 0; k < np; k++) {
            json_object *p = json_object_array_get_idx(ports, k);
            if (json_object_is_type(p, json_type_object))
                set_default(p, "protocol", json_object_new_string("TCP"));
        }
    }
}

static void
pod_defaults(sim_state *S, json_object *pod)
{
    json_object *spec = jx_ensure_obj(pod, "spec");
    const char *sa = jx_str(spec, "serviceAccountName");
    if (!sa || !sa[0]) sa = jx_str(spec, "serviceAccount");
    if (!sa || !sa[0]) sa = "default";
    char sab[256];
    snprintf(sab, sizeof sab, "%s", sa);
    container_defaults(jx_arr(spec, "containers"));
    container_defaults(jx_arr(spec, "initContainers"));
    set_default(spec, "restartPolicy", json_object_new_string("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json_object_new_int(30));
    set_default(spec, "dnsPolicy", json_object_new_string("ClusterFirst"));
    json_object_object_add(spec, "serviceAccountName", json_object_new_string(sab));
    json_object_object_add(spec, "serviceAccount", json_object_new_string(sab));
    set_default(spec, "securityContext", json_object_new_object());
    set_default(spec, "schedulerName", json_object_new_string("default-scheduler"));
    if (!jx_get(spec, "tolerations")) {
        json_object *t = json_object_new_array();
        static const char *keys[] = {"node.kubernetes.io/not-ready",
                                     "node.kubernetes.io/unreachable"};
        for (int i = 0; i < 2; i++) {
            json_object *x = json_object_new_object();
            json_object_object_add(x, "key", json_object_new_string(keys[i]));
            json_object_object_add(x, "operator", json_object_new_string("Exists"));
            json_object_object_add(x, "effect", json_object_new_string("NoExecute"));
            json_object_object_add(x, "tolerationSeconds", json_object_new_int(300));
            json_object_array_add(t, x);
        }
        json_object_object_add(spec, "tolerations", t);
    }
    set_default(spec, "priority", json_object_new_int(0));
    set_default(spec, "enableServiceLinks", json_object_new_boolean(1));
    set_default(spec, "preemptionPolicy", json_object_new_string("PreemptLowerPriority"));
    /* ServiceAccount admission: the projected token volume */
    int automount = jx_bool(spec, "automountServiceAccountToken", 1);
    if (automount) {
        char sfx[6], vname[64];
        sim_meta_suffix((uint64_t *)&S->rand_state, sfx);
        snprintf(vname, sizeof vname, "kube-api-access-%s", sfx);
        json_object *vols = jx_arr(spec, "volumes");
        if (!vols) {
            vols = json_object_new_array();
            json_object_object_add(spec, "volumes", vols);
        }
        json_object *v = NULL;
        const char *tmpl =
            "{\"name\":\"\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{"
            "\"expirationSeconds\":3607,\"path\":\"token\"}},{\"configMap\":{\"name\":\"kube-root-"
            "ca.crt\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}},{\"downwardAPI\":{"
            "\"items\":[{\"path\":\"namespace\",\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":"
            "\"metadata.namespace\"}}]}}],\"defaultMode\":420}}";
        v = json_tokener_parse(tmpl);
        if (v) {
            json_object_object_add(v, "name", json_object_new_string(vname));
            json_object_array_add(vols, v);
        }
        json_object *cs = jx_arr(spec, "containers");
        size_t n = cs ? json_object_array_length(cs) : 0;
        for (size_t i = 0; i < n; i++) {
            json_object *c = json_object_array_get_idx(cs, i);
            if (!json_object_is_type(c, json_type_object)) continue;
            json_object *vm = jx_arr(c, "volumeMounts");
            if (!vm) {
                vm = json_object_new_array();
                json_object_object_add(c, "volumeMounts", vm);
            }
            json_object *m = json_object_new_object();
            json_object_object_add(m, "name", json_object_new_string(vname));
            json_object_object_add(m, "readOnly", json_object_new_boolean(1));
            json_object_object_add(m, "mountPath",
                                   json_object_new_string("/var/run/secrets/kubernetes.io/"
                                                          "serviceaccount"));
            json_object_array_add(vm, m);
        }
    }
    /* status is the server's on create */
    json_object *st = json_object_new_object();
    json_object_object_add(st, "phase", json_object_new_string("Pending"));
    int has_res = 0;
    json_object *cs = jx_arr(spec, "containers");
    size_t n = cs ? json_object_array_length(cs) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *r = jx_obj(json_object_array_get_idx(cs, i), "resources");
        if (r && json_object_object_length(r) > 0) has_res = 1;
    }
    json_object_object_add(st, "qosClass",
                           json_object_new_string(has_res ? "Burstable" : "BestEffort"));
    json_object_object_add(pod, "status", st);
}

static void
service_defaults(sim_state *S, json_object *svc)
{
    json_object *spec = jx_ensure_obj(svc, "spec");
    set_default(spec, "type", json_object_new_string("ClusterIP"));
    set_default(spec, "sessionAffinity", json_object_new_string("None"));
    const char *cip = jx_str(spec, "clusterIP");
    if (!cip || !cip[0]) {
        char ip[32];
        unsigned ipn = 10 + ++S->svc_ip_seq; /* per server: several may share a process */
        snprintf(ip, sizeof ip, "10.96.%u.%u", (ipn >> 8) & 255, ipn & 255);
        json_object_object_add(spec, "clusterIP", json_object_new_string(ip));
    }
    if (!jx_get(spec, "clusterIPs")) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, json_object_new_string(jx_str_or(spec, "clusterIP", "None")));
        json_object_object_add(spec, "clusterIPs", a);
    }
    if (!jx_get(spec, "ipFamilies")) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, json_object_new_string("IPv4"));
        json_object_object_add(spec, "ipFamilies", a);
    }
    set_default(spec, "ipFamilyPolicy", json_object_new_string("SingleStack"));
    set_default(spec, "internalTrafficPolicy", json_object_new_string("Cluster"));
    json_object *ports = jx_arr(spec, "ports");
    size_t n = ports ? json_object_array_length(ports) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(ports, i);
        if (!json_object_is_type(p, json_type_object)) continue;
        set_default(p, "protocol", json_object_new_string("TCP"));
        json_object *port = jx_get(p, "port");
        if (port) set_default(p, "targetPort", json_object_get(port));
    }
    json_object *st = json_object_new_object();
    json_object_object_add(st, "loadBalancer", json_object_new_object());
    json_object_object_add(svc, "status", st);
}

void
sim_core_defaults(const sim_res *r, json_object *obj)
{
    json_object *spec;
    switch (r->hook) {
    case SIM_HOOK_POD:
        spec = jx_ensure_obj(obj, "spec");
        container_defaults(jx_arr(spec, "containers"));
        container_defaults(jx_arr(spec, "initContainers"));
        set_default(spec, "restartPolicy", json_object_new_string("Always"));
        set_default(spec, "terminationGracePeriodSeconds", json_object_new_int(30));
        set_default(spec, "dnsPolicy", json_object_new_string("ClusterFirst"));
        set_default(spec, "securityContext", json_object_new_object());
        set_default(spec, "schedulerName", json_object_new_string("default-scheduler"));
        set_default(spec, "enableServiceLinks", json_object_new_boolean(1));
        break;
    case SIM_HOOK_SERVICE: {
        spec = jx_ensure_obj(obj, "spec");
        set_default(spec, "type", json_object_new_string("ClusterIP"));
        set_default(spec, "sessionAffinity", json_object_new_string("None"));
        set_default(spec, "internalTrafficPolicy", json_object_new_string("Cluster"));
        json_object *ports = jx_arr(spec, "ports");
        size_t n = ports ? json_object_array_length(ports) : 0;
        for (size_t i = 0; i < n; i++) {
            json_object *p = json_object_array_get_idx(ports, i);
            if (!json_object_is_type(p, json_type_object)) continue;
            set_default(p, "protocol", json_object_new_string("TCP"));
            json_object *port = jx_get(p, "port");
            if (port) set_default(p, "targetPort", json_object_get(port));
        }
        break;
    }
    case SIM_HOOK_NAMESPACE: {
        json_object *m = jx_ensure_obj(obj, "metadata");
        json_object *labels = jx_ensure_obj(m, "labels");
        json_object_object_add(labels, "kubernetes.io/metadata.name",
                               json_object_new_string(jx_str_or(m, "name", "")));
        break;
    }
    case SIM_HOOK_PVC:
        spec = jx_ensure_obj(obj, "spec");
        set_default(spec, "volumeMode", json_object_new_string("Filesystem"));
        break;
    case SIM_HOOK_SECRET:
        set_default(obj, "type", json_object_new_string("Opaque"));
        break;
    default:
        break;
    }
}

/* Go serialises a zero metav1.Time as null: typed conditions always carry
 * their time fields. Copy on write: obj's status, its conditions and a
 * condition may be shared with the stored object (sim_merge_patch_shared),
 * so nothing is changed in place; the path to a condition that lacks a key
 * is copied (shallow) first. Most writes find every key there and copy
 * nothing. */
static int
condition_complete(json_object *c, const char *const *keys, size_t nkeys)
{
    if (!json_object_is_type(c, json_type_object)) return 1;
    for (size_t k = 0; k < nkeys; k++)
        if (!json_object_object_get_ex(c, keys[k], NULL)) return 0;
    return 1;
}

static void
condition_times(json_object *obj, const char *const *keys, size_t nkeys)
{
    json_object *conds = jx_arr(obj, "status.conditions");
    size_t n = conds ? json_object_array_length(conds) : 0, i = 0;
    while (i < n && condition_complete(json_object_array_get_idx(conds, i), keys, nkeys))
        i++;
    if (i == n) return;
    json_object *st = sim_json_shallow_copy(jx_obj(obj, "status"));
    json_object *nc = json_object_new_array_ext((int)n);
    if (!st || !nc || json_object_object_add(obj, "status", st) != 0) {
        json_object_put(st);
        json_object_put(nc);
        return;
    }
    for (i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        if (condition_complete(c, keys, nkeys)) {
            json_object_array_add(nc, json_object_get(c));
            continue;
        }
        json_object *cc = sim_json_shallow_copy(c);
        for (size_t k = 0; cc && k < nkeys; k++)
            if (!json_object_object_get_ex(cc, keys[k], NULL))
                json_object_object_add(cc, keys[k], NULL);
        json_object_array_add(nc, cc ? cc : json_object_get(c));
    }
    json_object_object_add(st, "conditions", nc);
}

void
sim_core_normalize(const sim_res *r, json_object *obj)
{
    static const char *const pod_keys[] = {"lastProbeTime", "lastTransitionTime"};
    static const char *const node_keys[] = {"lastHeartbeatTime", "lastTransitionTime"};
    if (r->hook == SIM_HOOK_POD)
        condition_times(obj, pod_keys, 2);
    else if (r->hook == SIM_HOOK_NODE)
        condition_times(obj, node_keys, 2);
}

int
sim_core_create_changes(const sim_res *r)
{
    /* the cases of sim_core_admit_create's switch that write to obj, and
     * sim_core_normalize's kinds */
    switch (r->hook) {
    case SIM_HOOK_POD:
    case SIM_HOOK_SERVICE:
    case SIM_HOOK_NAMESPACE:
    case SIM_HOOK_NODE:
    case SIM_HOOK_PVC:
    case SIM_HOOK_SECRET:
        return 1;
    default:
        return 0;
    }
}

int
sim_core_admit_create(sim_state *S, const sim_res *r, json_object *obj, json_object **status)
{
    *status = NULL;
    switch (r->hook) {
    case SIM_HOOK_POD: {
        json_object *spec = jx_obj(obj, "spec");
        const char *sa = spec ? jx_str(spec, "serviceAccountName") : NULL;
        if (!sa || !sa[0]) sa = spec ? jx_str(spec, "serviceAccount") : NULL;
        if (!sa || !sa[0]) sa = "default";
        const char *ns = jx_str_or(obj, "metadata.namespace", "");
        sim_res *sar = sim_find_res(S, "", "serviceaccounts");
        if (sar && !sim_lookup(S, sar, ns, sa)) {
            char msg[1024];
            snprintf(msg, sizeof msg,
                     "pods \"%s\" is forbidden: error looking up service account %s/%s: "
                     "serviceaccount \"%s\" not found",
                     jx_str_or(obj, "metadata.name", ""), ns, sa, sa);
            *status =
                sim_status(403, "Forbidden", msg,
                           sim_status_details(jx_str_or(obj, "metadata.name", ""), "", "pods"));
            return 403;
        }
        pod_defaults(S, obj);
        return 0;
    }
    case SIM_HOOK_SERVICE:
        service_defaults(S, obj);
        return 0;
    case SIM_HOOK_NAMESPACE: {
        json_object *m = jx_ensure_obj(obj, "metadata");
        json_object *labels = jx_ensure_obj(m, "labels");
        json_object_object_add(labels, "kubernetes.io/metadata.name",
                               json_object_new_string(jx_str_or(m, "name", "")));
        json_object *spec = jx_ensure_obj(obj, "spec");
        json_object *f = json_object_new_array();
        json_object_array_add(f, json_object_new_string("kubernetes"));
        json_object_object_add(spec, "finalizers", f);
        json_object *st = json_object_new_object();
        json_object_object_add(st, "phase", json_object_new_string("Active"));
        json_object_object_add(obj, "status", st);
        return 0;
    }
    case SIM_HOOK_NODE: {
        json_object *spec = jx_ensure_obj(obj, "spec");
        if (!jx_get(spec, "taints") && !jx_str(obj, "status.conditions")) {
            json_object *conds = jx_arr(obj, "status.conditions");
            int ready = 0;
            size_t n = conds ? json_object_array_length(conds) : 0;
            for (size_t i = 0; i < n; i++) {
                json_object *c = json_object_array_get_idx(conds, i);
                if (!strcmp(jx_str_or(c, "type", ""), "Ready") &&
                    !strcmp(jx_str_or(c, "status", ""), "True"))
                    ready = 1;
            }
            if (!ready) {
                json_object *t = json_object_new_array();
                json_object *x = json_object_new_object();
                json_object_object_add(x, "key",
                                       json_object_new_string("node.kubernetes.io/not-ready"));
                json_object_object_add(x, "effect", json_object_new_string("NoSchedule"));
                json_object_array_add(t, x);
                json_object_object_add(spec, "taints", t);
            }
        }
        json_object *st = jx_ensure_obj(obj, "status");
        if (!jx_get(st, "daemonEndpoints"))
            json_object_object_add(st, "daemonEndpoints",
                                   json_tokener_parse("{\"kubeletEndpoint\":{\"Port\":0}}"));
        if (!jx_get(st, "nodeInfo"))
            json_object_object_add(
                st, "nodeInfo",
                json_tokener_parse("{\"machineID\":\"\",\"systemUUID\":\"\",\"bootID\":\"\","
                                   "\"kernelVersion\":\"\",\"osImage\":\"\","
                                   "\"containerRuntimeVersion\":\"\",\"kubeletVersion\":\"\","
                                   "\"kubeProxyVersion\":\"\",\"operatingSystem\":\"\","
                                   "\"architecture\":\"\"}"));
        return 0;
    }
    case SIM_HOOK_PVC: {
        json_object *st = json_object_new_object();
        json_object_object_add(st, "phase", json_object_new_string("Pending"));
        json_object_object_add(obj, "status", st);
        json_object *spec = jx_ensure_obj(obj, "spec");
        set_default(spec, "volumeMode", json_object_new_string("Filesystem"));
        return 0;
    }
    case SIM_HOOK_SECRET: {
        set_default(obj, "type", json_object_new_string("Opaque"));
        return 0;
    }
    default:
        return 0;
    }
}

void
sim_core_admit_update(sim_state *S, const sim_res *r, json_object *obj, json_object *old)
{
    (void)S;
    if (r->hook == SIM_HOOK_NAMESPACE) {
        /* spec.finalizers and phase belong to the server */
        json_object *ospec = jx_get(old, "spec");
        if (ospec) json_object_object_add(obj, "spec", sim_json_copy(ospec));
        json_object *m = jx_ensure_obj(obj, "metadata");
        json_object *labels = jx_ensure_obj(m, "labels");
        json_object_object_add(labels, "kubernetes.io/metadata.name",
                               json_object_new_string(jx_str_or(m, "name", "")));
    }
    if (r->hook == SIM_HOOK_POD) {
        json_object *st = jx_get(obj, "status");
        if (!st) json_object_object_add(obj, "status", sim_json_copy(jx_get(old, "status")));
    }
}

/* ---- the Go cmp diff the real server appends to a pod update refusal ----
 * Rendered for changes of fields whose values print on one line (strings,
 * numbers, booleans, absent/empty values): the changed field with two
 * identical fields of context each side, the rest collapsed, as go-cmp. */
typedef struct {
    const char *go, *json;
    char kind; /* s string, p pointer scalar, l slice/map, o pointer struct */
} go_field;

static const go_field pod_fields_go[] = {
    {"Volumes", "volumes", 'l'},
    {"InitContainers", "initContainers", 'l'},
    {"Containers", "containers", 'l'},
    {"EphemeralContainers", "ephemeralContainers", 'l'},
    {"RestartPolicy", "restartPolicy", 's'},
    {"TerminationGracePeriodSeconds", "terminationGracePeriodSeconds", 'p'},
    {"ActiveDeadlineSeconds", "activeDeadlineSeconds", 'p'},
    {"DNSPolicy", "dnsPolicy", 's'},
    {"NodeSelector", "nodeSelector", 'l'},
    {"ServiceAccountName", "serviceAccountName", 's'},
    {"AutomountServiceAccountToken", "automountServiceAccountToken", 'p'},
    {"NodeName", "nodeName", 's'},
    {"SecurityContext", "securityContext", 'o'},
    {"ImagePullSecrets", "imagePullSecrets", 'l'},
    {"Hostname", "hostname", 's'},
    {"Subdomain", "subdomain", 's'},
    {"SetHostnameAsFQDN", "setHostnameAsFQDN", 'p'},
    {"Affinity", "affinity", 'o'},
    {"SchedulerName", "schedulerName", 's'},
    {"Tolerations", "tolerations", 'l'},
    {"HostAliases", "hostAliases", 'l'},
    {"PriorityClassName", "priorityClassName", 's'},
    {"Priority", "priority", 'p'},
    {"PreemptionPolicy", "preemptionPolicy", 'p'},
    {"DNSConfig", "dnsConfig", 'o'},
    {"ReadinessGates", "readinessGates", 'l'},
    {"RuntimeClassName", "runtimeClassName", 'p'},
    {"Overhead", "overhead", 'l'},
    {"EnableServiceLinks", "enableServiceLinks", 'p'},
    {"TopologySpreadConstraints", "topologySpreadConstraints", 'l'},
    {"OS", "os", 'o'},
    {"SchedulingGates", "schedulingGates", 'l'},
    {"ResourceClaims", "resourceClaims", 'l'},
    {"Resources", "resources", 'o'},
};

/* Go's rendering of one field value; 0 if it cannot be shown on one line. */
static int
go_value(const go_field *f, json_object *spec, char *out, size_t len)
{
    json_object *v = NULL;
    json_object_object_get_ex(spec, f->json, &v);
    if (f->kind == 's') {
        snprintf(out, len, "\"%s\"", v ? json_object_get_string(v) : "");
        return 1;
    }
    if (!v) {
        snprintf(out, len, "nil");
        return 1;
    }
    if (f->kind == 'p') {
        if (json_object_is_type(v, json_type_string))
            snprintf(out, len, "&\"%s\"", json_object_get_string(v));
        else
            snprintf(out, len, "&%s", json_object_to_json_string(v));
        return 1;
    }
    if (f->kind == 'o' && json_object_is_type(v, json_type_object) &&
        json_object_object_length(v) == 0) {
        snprintf(out, len, "&{}");
        return 1;
    }
    return 0;
}

static void
pod_spec_diff(json_object *old, json_object *new, sim_buf *b)
{
    const size_t n = sizeof pod_fields_go / sizeof pod_fields_go[0];
    int changed[sizeof pod_fields_go / sizeof pod_fields_go[0]];
    int nchanged = 0, first = -1, last = -1;
    for (size_t i = 0; i < n; i++) {
        json_object *a = NULL, *c = NULL;
        json_object_object_get_ex(old, pod_fields_go[i].json, &a);
        json_object_object_get_ex(new, pod_fields_go[i].json, &c);
        changed[i] = !sim_json_equal(a, c);
        if (changed[i]) {
            nchanged++;
            if (first < 0) first = (int)i;
            last = (int)i;
        }
    }
    if (nchanged != 1) return; /* only the one-field case is rendered */
    int lo = first - 2 < 0 ? 0 : first - 2, hi = last + 2 >= (int)n ? (int)n - 1 : last + 2;
    char va[256], vb[256];
    size_t width = 0;
    for (int i = lo; i <= hi; i++) {
        if (!go_value(&pod_fields_go[i], old, va, sizeof va) ||
            !go_value(&pod_fields_go[i], new, vb, sizeof vb))
            return;
        size_t l = strlen(pod_fields_go[i].go);
        if (l > width) width = l;
    }
    const char *nb = "\u00a0"; /* go-cmp's non-breaking space marker */
    sim_buf_printf(b, "\n%s%score.PodSpec{\n", nb, nb);
    if (lo > 0) sim_buf_printf(b, "%s%s\t... // %d identical fields\n", nb, nb, lo);
    for (int i = lo; i <= hi; i++) {
        const char *name = pod_fields_go[i].go;
        int pad = (int)(width - strlen(name));
        go_value(&pod_fields_go[i], old, va, sizeof va);
        if (changed[i]) {
            go_value(&pod_fields_go[i], new, vb, sizeof vb);
            sim_buf_printf(b, "-%s\t%s: %*s%s,\n", nb, name, pad, "", va);
            sim_buf_printf(b, "+%s\t%s: %*s%s,\n", nb, name, pad, "", vb);
        } else {
            sim_buf_printf(b, "%s%s\t%s: %*s%s,\n", nb, nb, name, pad, "", va);
        }
    }
    if (hi < (int)n - 1)
        sim_buf_printf(b, "%s%s\t... // %d identical fields\n", nb, nb, (int)n - 1 - hi);
    sim_buf_printf(b, "%s%s}\n", nb, nb);
}

static void
validate_pod(json_object *obj, json_object *old, const char *sub, sim_causes *c)
{
    if (sub && sub[0]) return;
    json_object *spec = jx_obj(obj, "spec");
    json_object *cs = spec ? jx_arr(spec, "containers") : NULL;
    if (!cs || json_object_array_length(cs) == 0) {
        sim_causes_required(c, "spec.containers", NULL);
        return;
    }
    size_t n = json_object_array_length(cs);
    for (size_t i = 0; i < n; i++) {
        json_object *ct = json_object_array_get_idx(cs, i);
        const char *nm = jx_str(ct, "name");
        char field[64];
        snprintf(field, sizeof field, "spec.containers[%zu].name", i);
        if (!nm || !nm[0])
            sim_causes_required(c, field, NULL);
        else
            sim_meta_name_cause(c, field, nm, sim_meta_check_label);
        snprintf(field, sizeof field, "spec.containers[%zu].image", i);
        const char *img = jx_str(ct, "image");
        if (!img || !img[0]) sim_causes_required(c, field, NULL);
    }
    if (old && jx_get(obj, "spec") != jx_get(old, "spec")) {
        /* pod spec is immutable apart from a few fields (a spec shared with
         * the stored object is that object's: nothing changed) */
        json_object *a = sim_json_copy(jx_get(obj, "spec"));
        json_object *b = sim_json_copy(jx_get(old, "spec"));
        if (a && b) {
            static const char *mut[] = {"activeDeadlineSeconds", "tolerations",
                                        "terminationGracePeriodSeconds"};
            for (size_t i = 0; i < 3; i++) {
                json_object_object_del(a, mut[i]);
                json_object_object_del(b, mut[i]);
            }
            static const char *lists[] = {"containers", "initContainers"};
            for (size_t l = 0; l < 2; l++) {
                json_object *ca = jx_arr(a, lists[l]), *cb = jx_arr(b, lists[l]);
                size_t na = ca ? json_object_array_length(ca) : 0;
                size_t nb = cb ? json_object_array_length(cb) : 0;
                for (size_t i = 0; i < na; i++)
                    json_object_object_del(json_object_array_get_idx(ca, i), "image");
                for (size_t i = 0; i < nb; i++)
                    json_object_object_del(json_object_array_get_idx(cb, i), "image");
            }
            if (!sim_json_equal(a, b)) {
                sim_buf msg = {0};
                sim_buf_puts(&msg,
                             "pod updates may not change fields other than "
                             "`spec.containers[*].image`,"
                             "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                             "`spec.tolerations` (only additions to existing tolerations),"
                             "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it "
                             "was previously negative)");
                pod_spec_diff(jx_obj(old, "spec"), jx_obj(obj, "spec"), &msg);
                sim_causes_forbidden(c, "spec", msg.data ? msg.data : "");
                sim_buf_free(&msg);
            }
        }
        json_object_put(a);
        json_object_put(b);
    }
}

void
sim_core_validate(sim_state *S, const sim_res *r, json_object *obj, json_object *old,
                  const char *sub, sim_causes *c)
{
    (void)S;
    switch (r->hook) {
    case SIM_HOOK_POD:
        validate_pod(obj, old, sub, c);
        break;
    case SIM_HOOK_PVC: {
        if (old || (sub && sub[0])) break;
        json_object *st = jx_get(obj, "spec.resources.requests");
        json_object *storage = st ? jx_child(st, "storage") : NULL;
        if (!storage) sim_causes_required(c, "spec.resources[storage]", NULL);
        break;
    }
    case SIM_HOOK_CONFIGMAP:
    case SIM_HOOK_SECRET: {
        json_object *d = jx_get(obj, "data");
        if (d && !json_object_is_type(d, json_type_object))
            sim_causes_invalid(c, "data", d, "must be an object");
        break;
    }
    default:
        break;
    }
}
