/* manager_metrics.c - the manager's metrics (manager.h "Metrics"): the
 * agent_sandboxes gauge rebuilt from the store on each scrape (HTTP thread)
 * and agent_sandbox_creation_latency_ms observed by the worker that turns a
 * Sandbox Ready. */
#include "controller/manager_internal.h"

#include "core/jx.h"
#include "core/timeutil.h"
#include "reconciler/conditions.h"
#include "reconciler/meta.h"

#include <string.h>

/* agent_sandbox_creation_latency_ms: creationTimestamp -> the Ready
 * lastTransitionTime, observed by the pass whose status patch turns Ready
 * True (Ready was not True in the freshest view: the store or this pass's
 * outcomes). A failed patch is redone by a later pass, which observes again:
 * rare enough to accept over a second read per launch. */
void
ctl__observe_creation(ctl_manager *m, const char *ns, const char *name, const rec_outcome *oc,
                      size_t n, const rec_result *out)
{
    ctl_metric *h = m->metrics ? m->metrics->creation_latency_ms : NULL;
    json_object *patch = NULL;
    for (size_t i = 0; h && i < out->n_writes && !patch; i++)
        if (out->writes[i].tag && !strcmp(out->writes[i].tag, "sandbox-status"))
            patch = out->writes[i].body;
    json_object *pconds = patch ? jx_arr(patch, "status.conditions") : NULL;
    if (!pconds || !rec_cond_is_true(pconds, "Ready")) return;
    json_object *cached = NULL, *old = NULL;
    store_rtxn *r = NULL;
    if (store_rtxn_begin(m->st, &r) != 0) return;
    int rc = store_get(r, STORE_SANDBOX, ns, name, &cached);
    store_rtxn_end(r);
    if (rc != 0) return;
    old = cached;
    for (size_t i = 0; i < n; i++)
        if (oc[i].err == 0 && oc[i].object && oc[i].tag && !strncmp(oc[i].tag, "sandbox-", 8) &&
            !strcmp(jx_str_or(oc[i].object, "metadata.uid", ""),
                    jx_str_or(cached, "metadata.uid", "")) &&
            rec_meta_rv_cmp(oc[i].object, old) > 0)
            old = oc[i].object;
    int64_t created = 0, ready = 0;
    json_object *ltt = jx_get(rec_cond_find(pconds, "Ready"), "lastTransitionTime");
    if (!rec_cond_is_true(jx_arr(old, "status.conditions"), "Ready") && ltt &&
        time_parse_rfc3339(json_object_get_string(ltt), &ready) == 0 &&
        time_parse_rfc3339(jx_str_or(old, "metadata.creationTimestamp", ""), &created) == 0 &&
        ready >= created) {
        const char *lt = jx_label(old, REC_LABEL_LAUNCH_TYPE);
        const char *tpl = jx_annotation(old, REC_ANN_TEMPLATE_REF);
        const char *lv[] = {ns, lt && !strcmp(lt, "warm") ? "warm" : "cold",
                            tpl && *tpl ? tpl : "unknown"};
        ctl_histogram_observe(h, lv, (double)(ready - created));
    }
    json_object_put(cached);
}

/* ---- metrics: agent_sandboxes, rebuilt from the store on each scrape ---------- */

static int
count_sandbox(const store_item *it, void *udata)
{
    ctl_metric *g = udata;
    json_object *o = NULL;
    if (store_decode(it, &o) != 0) return 0;
    json_object *conds = NULL;
    json_object_object_get_ex(json_object_object_get(o, "status"), "conditions", &conds);
    const char *reason = rec_cond_reason(conds, "Ready");
    json_object *labels = rec_meta_map(o, "labels"), *anns = rec_meta_map(o, "annotations");
    const char *lt = rec_meta_map_str(labels, REC_LABEL_LAUNCH_TYPE);
    const char *tpl = rec_meta_map_str(anns, REC_ANN_TEMPLATE_REF);
    const char *cb = rec_meta_created_by_normalize(rec_meta_map_str(labels, REC_LABEL_CREATED_BY));
    json_object *ref = rec_meta_controller_ref(o), *k = NULL;
    const char *owner =
        ref && json_object_object_get_ex(ref, "kind", &k) ? json_object_get_string(k) : NULL;
    if (!owner || (strcmp(owner, "SandboxClaim") && strcmp(owner, "SandboxWarmPool")))
        owner = "None";
    const char *lv[] = {it->ns,
                        rec_cond_is_true(conds, "Ready") ? "true" : "false",
                        reason && !strcmp(reason, "SandboxExpired") ? "true" : "false",
                        lt && !strcmp(lt, "warm") ? "warm" : "cold",
                        tpl && *tpl ? tpl : "unknown",
                        owner,
                        cb ? cb : "unknown"};
    ctl_gauge_add(g, lv, 1);
    json_object_put(o);
    return 0;
}

void
ctl_manager_collect(ctl_metrics *reg, void *udata)
{
    ctl_manager *m = udata;
    (void)reg;
    ctl_metric *g = m->metrics ? m->metrics->sandboxes : NULL;
    if (g == NULL) return;
    pthread_mutex_lock(&m->store_mu);
    if (!m->store_closed) {
        store_rtxn *r = NULL;
        ctl_metric_reset(g);
        if (store_rtxn_begin(m->st, &r) == 0) {
            store_list(r, STORE_SANDBOX, NULL, count_sandbox, g);
            store_rtxn_end(r);
        }
    }
    pthread_mutex_unlock(&m->store_mu);
}
