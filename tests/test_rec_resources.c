/* test_rec_resources.c - the kube_resource descriptors reconciler tests need,
 * used only while the kube/ library (asc_kube, kube/resources.c) is not
 * built in this tree. Same values as the API. */
#include "kube/kube.h"

const kube_resource KUBE_PODS = {"", "v1", "pods", "Pod", 1};
const kube_resource KUBE_SERVICES = {"", "v1", "services", "Service", 1};
const kube_resource KUBE_PVCS = {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", 1};
const kube_resource KUBE_EVENTS = {"events.k8s.io", "v1", "events", "Event", 1};
const kube_resource KUBE_LEASES = {"coordination.k8s.io", "v1", "leases", "Lease", 1};
const kube_resource KUBE_NETWORKPOLICIES = {"networking.k8s.io", "v1", "networkpolicies",
                                            "NetworkPolicy", 1};
const kube_resource KUBE_NAMESPACES = {"", "v1", "namespaces", "Namespace", 0};
const kube_resource KUBE_NODES = {"", "v1", "nodes", "Node", 0};
const kube_resource KUBE_CRDS = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                 "CustomResourceDefinition", 0};
const kube_resource KUBE_SANDBOXES = {"agents.x-k8s.io", "v1beta1", "sandboxes", "Sandbox", 1};
const kube_resource KUBE_SANDBOXTEMPLATES = {"extensions.agents.x-k8s.io", "v1beta1",
                                             "sandboxtemplates", "SandboxTemplate", 1};
const kube_resource KUBE_SANDBOXCLAIMS = {"extensions.agents.x-k8s.io", "v1beta1", "sandboxclaims",
                                          "SandboxClaim", 1};
const kube_resource KUBE_SANDBOXWARMPOOLS = {"extensions.agents.x-k8s.io", "v1beta1",
                                             "sandboxwarmpools", "SandboxWarmPool", 1};
