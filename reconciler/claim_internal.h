/* claim_internal.h - private to reconciler/claim*.c: the context of one
 * claim pass and the helpers claim.c (settle, find, adopt, create) and
 * claim_status.c (status, annotations, expiry) share. Same thread and
 * ownership rules as claim.h; nothing here is part of the public API. */
#ifndef ASC_RECONCILER_CLAIM_INTERNAL_H
#define ASC_RECONCILER_CLAIM_INTERNAL_H

#include <json-c/json.h>
#include <stdint.h>

#include "reconciler/claim.h"
#include "reconciler/claim_ready.h"

typedef struct rec__claim_pass {
    const rec_claim_config *cfg;
    rec_claim_state *st;
    const rec_claim_input *in;
    rec_result *out;
    rec_claim_report *rep;
    json_object *claim; /* freshest of store copy and claim_view */
    const char *ns, *name, *uid, *pool_name, *tmpl_name;
    int64_t gen, now;
    enum rec_claim_err err;
    char msg[1536];
    int create_pending;
    int adopt_exhausted;
    int deleting_claim; /* expiry deletes the claim: no more claim writes */
} rec__claim_pass;

/* *slot = a new reference to v (NULL clears), the old one released. */
void rec__claim_ref_set(json_object **slot, json_object *v);
/* Record the pass's user-facing error (first one wins); fmt takes two %s. */
void rec__claim_fail(rec__claim_pass *p, enum rec_claim_err e, const char *fmt, const char *a,
                     const char *b);
/* Keep the smallest requested requeue (ms, clamped at 0). */
void rec__claim_requeue(rec__claim_pass *p, int64_t ms);
/* An Event about the claim, unless --disable-claim-events. */
void rec__claim_event(rec__claim_pass *p, const char *type, const char *reason, const char *action,
                      const char *note);
/* Freshest view of Sandbox `name` (store copy or the object a write of ours
 * returned); borrowed for the pass, NULL when absent. */
json_object *rec__claim_view(rec__claim_pass *p, const char *name);

/* claim_status.c */
/* expireAt = min(shutdownTime, Finished.lastTransitionTime + ttl), wall ms; 0 = never. */
int64_t rec__claim_expire_at(json_object *claim);
/* The status last sent, else the freshest claim's (borrowed). */
json_object *rec__claim_current_status(rec__claim_pass *p);
int rec__claim_ready_true(json_object *status);
/* Write 2 when the computed status differs. sb may be NULL; clear_sandbox
 * drops status.sandbox when sb is NULL. 0 or ERR_NOMEM. */
int rec__claim_write_status(rec__claim_pass *p, json_object *sb, int expired, int clear_sandbox);
/* Write 3 once no status write is pending. 0 or ERR_NOMEM. */
int rec__claim_write_meta(rec__claim_pass *p, json_object *sb);
/* The expired claim (§2.4 step 5): mark, delete the claim, or delete its
 * Sandbox (Retain). 0 or ERR_NOMEM. */
int rec__claim_expiry(rec__claim_pass *p, int64_t at, int *done);

#endif
