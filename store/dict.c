/* dict.c - the key dictionary of the stored encoding.
 *
 * Map keys that Kubernetes objects repeat in every object ("metadata",
 * "ownerReferences", "agents.x-k8s.io/sandbox-template-ref-hash"...) are
 * written as one-byte msgpack positive fixints (their index below) instead
 * of strings; any other key stays a string. This roughly halves the size of
 * a slimmed object. The table is part of the on-disk format: entries may
 * only be appended (at most 128), and any other change must bump
 * STORE_SCHEMA_VERSION so old caches are discarded.
 */
#include "store/internal.h"

#include <pthread.h>
#include <string.h>

static const char *const dict[] = {
    /* 0 */ "apiVersion",
    "kind",
    "metadata",
    "spec",
    "status",
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    /* 10 */ "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "generateName",
    "controller",
    "blockOwnerDeletion",
    /* 20 */ "type",
    "reason",
    "message",
    "lastTransitionTime",
    "lastProbeTime",
    "observedGeneration",
    "conditions",
    "phase",
    "podIPs",
    "podIP",
    /* 30 */ "ip",
    "nodeName",
    "containers",
    "initContainers",
    "image",
    "imagePullPolicy",
    "ports",
    "containerPort",
    "protocol",
    "port",
    /* 40 */ "targetPort",
    "resources",
    "requests",
    "limits",
    "cpu",
    "memory",
    "env",
    "value",
    "valueFrom",
    "volumeMounts",
    /* 50 */ "mountPath",
    "readOnly",
    "volumes",
    "command",
    "args",
    "securityContext",
    "podTemplate",
    "volumeClaimTemplates",
    "service",
    "serviceFQDN",
    /* 60 */ "selector",
    "replicas",
    "readyReplicas",
    "sandboxTemplateRef",
    "warmPoolRef",
    "updateStrategy",
    "lifecycle",
    "shutdownTime",
    "shutdownPolicy",
    "operatingMode",
    /* 70 */ "ttlSecondsAfterFinished",
    "sandbox",
    "networkPolicy",
    "networkPolicyManagement",
    "ingress",
    "egress",
    "podSelector",
    "namespaceSelector",
    "ipBlock",
    "cidr",
    /* 80 */ "except",
    "policyTypes",
    "matchLabels",
    "matchExpressions",
    "clusterIP",
    "clusterIPs",
    "ipFamilies",
    "ipFamilyPolicy",
    "internalTrafficPolicy",
    "sessionAffinity",
    /* 90 */ "automountServiceAccountToken",
    "restartPolicy",
    "accessModes",
    "storageClassName",
    "volumeName",
    "storage",
    "from",
    "to",
    "key",
    "operator",
    /* 100 */ "agents.x-k8s.io/sandbox-name-hash",
    "agents.x-k8s.io/pod-name",
    "agents.x-k8s.io/sandbox-template-ref",
    "agents.x-k8s.io/launch-type",
    "agents.x-k8s.io/created-by",
    "agents.x-k8s.io/sandbox-pod-template-hash",
    "agents.x-k8s.io/sandbox-template-hash",
    "agents.x-k8s.io/propagated-labels",
    "agents.x-k8s.io/propagated-annotations",
    "agents.x-k8s.io/adoptable",
    /* 110 */ "agents.x-k8s.io/warm-pool-sandbox",
    "agents.x-k8s.io/sandbox-template-ref-hash",
    "agents.x-k8s.io/claim-uid",
    "agents.x-k8s.io/sandbox-name",
    "agents.x-k8s.io/controller-first-observed-at",
    "agents.x-k8s.io/claim-first-ready-at",
    "opentelemetry.io/trace-context",
    "cluster-autoscaler.kubernetes.io/safe-to-evict",
    "kubectl.kubernetes.io/last-applied-configuration",
    "app",
    /* 120 */ "workingDir",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "tolerations",
    "affinity",
    "nodeSelector",
    "serviceAccountName"};

#define DICT_N    (sizeof dict / sizeof *dict)
#define HASH_SIZE 512 /* power of two, > 2 * DICT_N */

_Static_assert(DICT_N <= 128, "dictionary ids must stay one-byte fixints");

static short table[HASH_SIZE];
static unsigned char dict_len[DICT_N];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint32_t
hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void
build(void)
{
    for (size_t i = 0; i < HASH_SIZE; i++)
        table[i] = -1;
    for (size_t i = 0; i < DICT_N; i++) {
        dict_len[i] = (unsigned char)strlen(dict[i]);
        uint32_t j = hash(dict[i], dict_len[i]) & (HASH_SIZE - 1);
        while (table[j] >= 0)
            j = (j + 1) & (HASH_SIZE - 1);
        table[j] = (short)i;
    }
}

int
store__dict_id(const char *s, size_t n)
{
    pthread_once(&once, build);
    for (uint32_t j = hash(s, n) & (HASH_SIZE - 1); table[j] >= 0; j = (j + 1) & (HASH_SIZE - 1)) {
        if (dict_len[table[j]] == n && memcmp(dict[table[j]], s, n) == 0) return table[j];
    }
    return -1;
}

const char *
store__dict_key(uint64_t id)
{
    return id < DICT_N ? dict[id] : NULL;
}
