/* conditions.h - metav1.Condition list semantics on json-c arrays, shared by
 * every reconciler (Sandbox, SandboxClaim, SandboxWarmPool).
 *
 * Mirrors apimachinery meta.SetStatusCondition / RemoveStatusCondition
 * (spec/api.md §2 intro):
 *   - find by type; absent => append {type,status,observedGeneration,
 *     lastTransitionTime=now,reason,message};
 *   - present and status differs => status and lastTransitionTime=now updated;
 *   - reason, message, observedGeneration are always overwritten;
 *   - remove drops every entry of that type.
 * lastTransitionTime is metav1.Time: RFC 3339 with one-second resolution
 * ("2026-11-23T18:55:00Z"), so two flips inside one second share a time.
 * Keys are written in the order Go serialises metav1.Condition (type, status,
 * observedGeneration, lastTransitionTime, reason, message).
 *
 * Ownership: `conds` is a json array owned by the caller; returned condition
 * objects are borrowed from it and valid until the array is changed or freed.
 * Thread: pure functions, any thread. */
#ifndef ASC_RECONCILER_CONDITIONS_H
#define ASC_RECONCILER_CONDITIONS_H

#include <json-c/json.h>
#include <stdint.h>

/* Condition with that type in conds (an array; anything else => NULL). */
json_object *rec_cond_find(json_object *conds, const char *type);

/* 1 if the condition exists with status "True", else 0. */
int rec_cond_is_true(json_object *conds, const char *type);

/* Reason / status of the condition of that type, or NULL when absent. Borrowed. */
const char *rec_cond_reason(json_object *conds, const char *type);
const char *rec_cond_status(json_object *conds, const char *type);

/* SetStatusCondition. status is "True"/"False"/"Unknown"; reason and message
 * may be NULL (written as ""). observed_generation <= 0 omits the field (Go's
 * omitempty on an int64). now_ms is wall time in ms.
 * Returns 1 if the array changed, 0 if it already said exactly this,
 * ERR_INVALID if conds is not an array, ERR_NOMEM. */
int rec_cond_set(json_object *conds, const char *type, const char *status, const char *reason,
                 const char *message, int64_t observed_generation, int64_t now_ms);

/* RemoveStatusCondition. Returns 1 if something was removed, else 0. */
int rec_cond_remove(json_object *conds, const char *type);

#endif
