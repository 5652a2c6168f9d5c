/* claim_ready.c - see claim_ready.h. */
#include "reconciler/claim_ready.h"

#include "core/jx.h"
#include "reconciler/conditions.h"

#include <stdio.h>
#include <string.h>

static int
row(rec_claim_ready_out *out, const char *status, const char *reason, const char *fmt,
    const char *arg)
{
    out->status = status;
    out->reason = reason;
    snprintf(out->message, sizeof out->message, fmt, arg ? arg : "");
    return 0;
}

static int
fill(const rec_claim_ready_in *in, rec_claim_ready_out *out)
{
    switch (in->err) {
    case REC_CE_TEMPLATE_NOT_FOUND:
        return row(out, "False", "TemplateNotFound", "SandboxTemplate \"%s\" not found", in->name);
    case REC_CE_POOL_NOT_FOUND:
        return row(out, "False", "WarmPoolNotFound", "SandboxWarmPool \"%s\" not found", in->name);
    case REC_CE_ADOPTION_CONFLICT:
        return row(out, "False", "AdoptionConflict",
                   "%s; the next pass retries from a converged view", in->msg);
    case REC_CE_CREATE_PENDING:
        return row(out, "False", "SandboxCreatePending",
                   "Sandbox already created; waiting for cache to converge", NULL);
    case REC_CE_INVALID_METADATA:
        return row(out, "False", "InvalidMetadata", "%s", in->msg);
    case REC_CE_ENV_REJECTED:
        return row(out, "False", "EnvVarsInjectionRejected", "%s", in->msg);
    case REC_CE_EXPIRED_NOT_OURS:
        return row(out, "False", "ClaimExpired", "Claim expired. %s; deletion skipped.", in->msg);
    case REC_CE_VCT:
        return row(out, "False", "VolumeClaimTemplatesError", "%s", in->msg);
    case REC_CE_OTHER:
        return row(out, "False", "ReconcilerError", "Error seen: %s", in->msg);
    case REC_CE_NONE:
        break;
    }
    if (in->expired)
        return row(out, "False", "ClaimExpired", "Claim expired. Sandbox cleanup initiated.", NULL);
    if (in->sandbox == NULL)
        return row(out, "False", "SandboxMissing", "Sandbox does not exist", NULL);
    json_object *c = rec_cond_find(jx_arr(in->sandbox, "status.conditions"), "Ready");
    if (c == NULL) return row(out, "False", "SandboxNotReady", "Sandbox is not ready", NULL);
    const char *reason = jx_str_or(c, "reason", "");
    if (strcmp(reason, "SandboxExpired") == 0)
        return row(out, "False", "SandboxExpired",
                   "Underlying Sandbox resource has expired independently of the Claim.", NULL);
    out->status = jx_str_or(c, "status", "Unknown");
    out->reason = reason;
    snprintf(out->message, sizeof out->message, "%s", jx_str_or(c, "message", ""));
    return 0;
}

void
rec_claim_ready(const rec_claim_ready_in *in, rec_claim_ready_out *out)
{
    (void)fill(in, out);
}
