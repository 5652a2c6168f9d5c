/* ext_metrics.c - see ext_metrics.h. */
#include "controller/ext_metrics.h"

#include "core/jx.h"
#include "core/timeutil.h"
#include "reconciler/conditions.h"
#include "reconciler/meta.h"

#include <string.h>

#define ANN_WEBHOOK_FIRST "agents.x-k8s.io/webhook-first-observed-at"
#define ANN_CLIENT_FIRST  "agents.x-k8s.io/client-first-requested-at"
#define UNKNOWN_TEMPLATE  "__unknown__"

const char *
ctl_ext_created_by(const char *raw)
{
    static const char *const ok[] = {"python-client", "go-client", "controller"};
    for (size_t i = 0; raw && i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(raw, ok[i]) == 0) return ok[i];
    return "unknown";
}

static void
observe_since(ctl_metric *h, const char *const *lv, json_object *claim, const char *ann,
              int64_t now_ms)
{
    int64_t t = 0;
    const char *v = jx_annotation(claim, ann);
    if (h == NULL || v == NULL || time_parse_rfc3339(v, &t) != 0 || now_ms < t) return;
    ctl_histogram_observe(h, lv, (double)(now_ms - t));
}

void
ctl_ext_observe_claim(ctl_agent_metrics *metrics, json_object *claim, const char *pool,
                      json_object *sb, const rec_claim_state *cs, const rec_claim_report *rep,
                      int64_t now_ms)
{
    if (metrics == NULL || claim == NULL || cs == NULL || rep == NULL) return;
    const char *tpl = sb ? jx_annotation(sb, REC_ANN_TEMPLATE_REF) : NULL;
    if (tpl == NULL || *tpl == '\0') tpl = UNKNOWN_TEMPLATE;
    if (rep->launch && metrics->claim_creation_total) {
        int warm = strcmp(rep->launch, "warm") == 0;
        int ready = warm && sb && rec_cond_is_true(jx_arr(sb, "status.conditions"), "Ready");
        const char *lv[] = {jx_str_or(claim, "metadata.namespace", ""),
                            tpl,
                            rep->launch,
                            pool ? pool : "",
                            ready ? "ready" : "not_ready",
                            ctl_ext_created_by(jx_label(claim, REC_LABEL_CREATED_BY))};
        ctl_counter_add(metrics->claim_creation_total, lv, 1);
    }
    if (!rep->became_ready) return;
    const char *lt = sb ? jx_label(sb, REC_LABEL_LAUNCH_TYPE) : NULL;
    const char *lv[] = {lt && (!strcmp(lt, "warm") || !strcmp(lt, "cold")) ? lt : "unknown", tpl};
    if (metrics->claim_controller_startup_latency_ms && cs->first_observed_ns > 0 &&
        now_ms * 1000000 >= cs->first_observed_ns)
        ctl_histogram_observe(metrics->claim_controller_startup_latency_ms, lv,
                              (double)(now_ms - cs->first_observed_ns / 1000000));
    observe_since(metrics->claim_startup_latency_ms, lv, claim, ANN_WEBHOOK_FIRST, now_ms);
    observe_since(metrics->client_claim_startup_latency_ms, lv, claim, ANN_CLIENT_FIRST, now_ms);
}
