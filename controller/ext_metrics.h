/* ext_metrics.h - the claim metrics of spec/api.md §3.3, observed by the
 * claim's shard worker right after its pass (the registry is thread-safe):
 *   agent_sandbox_claim_creation_total  when a pass adopted (warm) or
 *     created (cold) the claim's Sandbox: {namespace, sandbox_template,
 *     launch_type, warmpool_name, pod_condition (warm: the adopted
 *     Sandbox's Ready; cold: not_ready), created_by (normalized)};
 *   agent_sandbox_claim_controller_startup_latency_ms  from the controller's
 *     first observation to the pass that writes the first Ready=True;
 *   agent_sandbox_claim_startup_latency_ms / client_claim_startup_latency_ms
 *     the same end, from the claim's webhook-first-observed-at /
 *     client-first-requested-at annotations when present (negative
 *     durations dropped).
 * Labels {launch_type, sandbox_template}: the bound Sandbox's launch-type
 * label and template-ref annotation ("__unknown__" when it has none). */
#ifndef ASC_CONTROLLER_EXT_METRICS_H
#define ASC_CONTROLLER_EXT_METRICS_H

#include <json-c/json.h>
#include <stdint.h>

#include "controller/metrics.h"
#include "reconciler/claim.h"

/* metrics NULL: no-op. claim: the claim the pass ran on; pool: its
 * spec.warmPoolRef.name (may be NULL); sandbox: the claim's Sandbox as the
 * adopt/create write returned it, or the freshest view (may be NULL). */
void ctl_ext_observe_claim(ctl_agent_metrics *metrics, json_object *claim, const char *pool,
                           json_object *sandbox, const rec_claim_state *cs,
                           const rec_claim_report *rep, int64_t now_ms);

/* "python-client", "go-client", "controller", else "unknown". */
const char *ctl_ext_created_by(const char *raw);

#endif
