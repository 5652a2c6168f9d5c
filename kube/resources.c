/* resources.c - the API resources the controller talks to, and URL paths.
 *
 * Core kinds live under /api/v1, everything else under
 * /apis/<group>/<version>. Namespaced resources get
 * /namespaces/<ns>/ before the plural when a namespace is given (without one
 * the path lists across all namespaces). */
#include "kube/kube.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>

const kube_resource KUBE_PODS = {"", "v1", "pods", "Pod", 1};
const kube_resource KUBE_SERVICES = {"", "v1", "services", "Service", 1};
const kube_resource KUBE_PVCS = {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", 1};
const kube_resource KUBE_EVENTS = {"", "v1", "events", "Event", 1};
const kube_resource KUBE_EVENTS_V1 = {"events.k8s.io", "v1", "events", "Event", 1};
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

/* Names, namespaces and subresources are DNS labels/subdomains in valid
 * objects; refuse anything that could change the path's structure. */
static int
segment_ok(const char *s)
{
    if (s == NULL || *s == '\0') return 0;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
    for (; *s; s++)
        if (*s == '/' || *s == '?' || *s == '#' || *s == '%' || (unsigned char)*s <= ' ') return 0;
    return 1;
}

int
kube_path(const kube_resource *r, const char *ns, const char *name, const char *sub, char *buf,
          size_t buflen)
{
    if (r == NULL || buf == NULL || buflen == 0) return ERR_INVALID;
    if ((ns && !segment_ok(ns)) || (name && !segment_ok(name)) || (sub && !segment_ok(sub)))
        return ERR_INVALID;
    if (sub && !name) return ERR_INVALID;
    int n;
    if (r->group == NULL || r->group[0] == '\0')
        n = snprintf(buf, buflen, "/api/%s", r->version);
    else
        n = snprintf(buf, buflen, "/apis/%s/%s", r->group, r->version);
    if (n < 0 || (size_t)n >= buflen) return ERR_TOOLARGE;
    size_t len = (size_t)n;
    if (r->namespaced && ns)
        n = snprintf(buf + len, buflen - len, "/namespaces/%s", ns);
    else
        n = 0;
    if (n < 0 || (len += (size_t)n) >= buflen) return ERR_TOOLARGE;
    n = snprintf(buf + len, buflen - len, "/%s%s%s%s%s", r->plural, name ? "/" : "",
                 name ? name : "", sub ? "/" : "", sub ? sub : "");
    if (n < 0 || len + (size_t)n >= buflen) return ERR_TOOLARGE;
    return 0;
}
