/* claim_ready.h - the SandboxClaim Ready condition table (spec/api.md §2.4
 * "Claim Ready condition table"), as a pure function of what the pass
 * found. Rows are tried top-down; the first that applies wins. */
#ifndef ASC_RECONCILER_CLAIM_READY_H
#define ASC_RECONCILER_CLAIM_READY_H

#include <json-c/json.h>
#include <stddef.h>

/* What went wrong in the pass (at most one). */
enum rec_claim_err {
    REC_CE_NONE = 0,
    REC_CE_TEMPLATE_NOT_FOUND, /* TemplateNotFound: name = template */
    REC_CE_POOL_NOT_FOUND,     /* WarmPoolNotFound: name = pool */
    REC_CE_ADOPTION_CONFLICT,  /* AdoptionConflict: detail in msg */
    REC_CE_CREATE_PENDING,     /* SandboxCreatePending */
    REC_CE_INVALID_METADATA,   /* InvalidMetadata: msg verbatim */
    REC_CE_ENV_REJECTED,       /* EnvVarsInjectionRejected: msg verbatim */
    REC_CE_EXPIRED_NOT_OURS,   /* ClaimExpired: "Claim expired. <msg>; deletion skipped." */
    REC_CE_VCT,                /* VolumeClaimTemplatesError: msg verbatim */
    REC_CE_OTHER,              /* ReconcilerError: "Error seen: <msg>" */
};

typedef struct rec_claim_ready_in {
    enum rec_claim_err err;
    const char *msg;      /* error text for the rows that carry one */
    const char *name;     /* template or pool name for the NotFound rows */
    int expired;          /* the claim is expired */
    json_object *sandbox; /* the claim's Sandbox or NULL */
} rec_claim_ready_in;

typedef struct rec_claim_ready_out {
    const char *status; /* static "True"/"False"/"Unknown" or borrowed from sandbox */
    const char *reason; /* static or borrowed from sandbox */
    char message[2048];
} rec_claim_ready_out;

/* Fill out from in. Borrowed strings live as long as in->sandbox. */
void rec_claim_ready(const rec_claim_ready_in *in, rec_claim_ready_out *out);

#endif
