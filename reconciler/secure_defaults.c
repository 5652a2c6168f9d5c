/* secure_defaults.c - see secure_defaults.h. */
#include "reconciler/secure_defaults.h"

#include "core/err.h"
#include "core/jx.h"

#include <string.h>

int
rec_secure_defaults_apply(json_object *pod_spec, json_object *tmpl_spec)
{
    if (pod_spec == NULL || !json_object_is_type(pod_spec, json_type_object)) return ERR_INVALID;
    json_object *amt = jx_child(pod_spec, "automountServiceAccountToken");
    if (amt == NULL || json_object_is_type(amt, json_type_null)) {
        if (json_object_object_add(pod_spec, "automountServiceAccountToken",
                                   json_object_new_boolean(0)) != 0)
            return ERR_NOMEM;
    }
    const char *mgmt = jx_str(tmpl_spec, "networkPolicyManagement");
    int managed = mgmt == NULL || *mgmt == '\0' || strcmp(mgmt, "Managed") == 0;
    json_object *np = jx_child(tmpl_spec, "networkPolicy");
    int np_set = np != NULL && !json_object_is_type(np, json_type_null);
    const char *dns = jx_str(pod_spec, "dnsPolicy");
    if (managed && !np_set && (dns == NULL || *dns == '\0')) {
        if (jx_set_str(pod_spec, "dnsPolicy", "None") != 0) return ERR_NOMEM;
        json_object *cfg = jx_ensure_obj(pod_spec, "dnsConfig");
        json_object *ns = json_object_new_array();
        if (cfg == NULL || ns == NULL) {
            json_object_put(ns);
            return ERR_NOMEM;
        }
        json_object_array_add(ns, json_object_new_string("8.8.8.8"));
        json_object_array_add(ns, json_object_new_string("1.1.1.1"));
        if (json_object_object_add(cfg, "nameservers", ns) != 0) return ERR_NOMEM;
    }
    return 0;
}
