/* objects.c - benchmark objects and readiness tests (see objects.h). */
#include "bench/benchlib/objects.h"

#include <stdio.h>
#include <string.h>

#include "core/jx.h"

#define POD_SPEC                                                                                   \
    "{\"containers\":[{\"name\":\"main\",\"image\":\"busybox\","                                   \
    "\"ports\":[{\"containerPort\":8888}]}]}"

static size_t
out_len(int n)
{
    return n < 0 ? (size_t)-1 : (size_t)n;
}

size_t
bench_sandbox_json(char *buf, size_t cap, const char *ns, const char *name, const char *role)
{
    return out_len(snprintf(buf, cap,
                            "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\","
                            "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
                            "\"labels\":{\"" BENCH_ROLE_LABEL "\":\"%s\"}},"
                            "\"spec\":{\"service\":true,\"podTemplate\":{\"spec\":" POD_SPEC "}}}",
                            name, ns, role));
}

size_t
bench_template_json(char *buf, size_t cap, const char *ns, const char *name)
{
    return out_len(snprintf(buf, cap,
                            "{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\","
                            "\"kind\":\"SandboxTemplate\","
                            "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
                            "\"labels\":{\"" BENCH_ROLE_LABEL "\":\"template\"}},"
                            "\"spec\":{\"service\":true,\"podTemplate\":{\"spec\":" POD_SPEC "}}}",
                            name, ns));
}

size_t
bench_pool_json(char *buf, size_t cap, const char *ns, const char *name, const char *template_name,
                long replicas)
{
    return out_len(snprintf(buf, cap,
                            "{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\","
                            "\"kind\":\"SandboxWarmPool\","
                            "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
                            "\"labels\":{\"" BENCH_ROLE_LABEL "\":\"pool\"}},"
                            "\"spec\":{\"replicas\":%ld,\"sandboxTemplateRef\":{\"name\":\"%s\"}}}",
                            name, ns, replicas, template_name));
}

size_t
bench_claim_json(char *buf, size_t cap, const char *ns, const char *name, const char *pool,
                 const char *role)
{
    return out_len(snprintf(buf, cap,
                            "{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\","
                            "\"kind\":\"SandboxClaim\","
                            "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
                            "\"labels\":{\"" BENCH_ROLE_LABEL "\":\"%s\"}},"
                            "\"spec\":{\"warmPoolRef\":{\"name\":\"%s\"}}}",
                            name, ns, role, pool));
}

static json_object *
ready_cond(json_object *obj)
{
    json_object *conds = jx_arr(obj, "status.conditions");
    size_t n = conds ? json_object_array_length(conds) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        const char *t = jx_str(c, "type");
        if (t && strcmp(t, "Ready") == 0) return c;
    }
    return NULL;
}

int
bench_ready_condition(json_object *obj)
{
    const char *s = jx_str(ready_cond(obj), "status");
    return s && strcmp(s, "True") == 0;
}

const char *
bench_ready_reason(json_object *obj)
{
    return jx_str(ready_cond(obj), "reason");
}

const char *
bench_claim_ready(json_object *obj)
{
    const char *sb = jx_str(obj, "status.sandbox.name");
    return sb && *sb && bench_ready_condition(obj) ? sb : NULL;
}
