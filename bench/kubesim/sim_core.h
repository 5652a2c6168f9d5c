/* sim_core.h - behaviour of the built-in kinds: defaults and admission on
 * create (Pod defaults and ServiceAccount admission, Service, Namespace,
 * Node), validation as golden/core-validation.json, and pod helpers for the
 * simulated kubelet. Server thread only. */
#ifndef ASC_SIM_CORE_H
#define ASC_SIM_CORE_H

#include "bench/kubesim/sim_schema.h"
#include "bench/kubesim/sim_state.h"

#include <json-c/json.h>

/* Scheme defaults (the fields a create's managedFields record). */
void sim_core_defaults(const sim_res *r, json_object *obj);
/* Typed-object normalisation on every write (condition times as null). */
void sim_core_normalize(const sim_res *r, json_object *obj);
/* Defaults and admission before a create. Returns 0, or an HTTP code with
 * *status set (caller replies with it). */
int sim_core_admit_create(sim_state *S, const sim_res *r, json_object *obj, json_object **status);
/* Whether sim_core_admit_create or sim_core_normalize may change an object of
 * r's kind (defaults, server-set status, condition times): 0 means both
 * leave every object of the kind as it is. */
int sim_core_create_changes(const sim_res *r);
/* Defaults re-applied on update (e.g. Service type). */
void sim_core_admit_update(sim_state *S, const sim_res *r, json_object *obj, json_object *old);
/* Validation: causes appended to c (none = valid). old is NULL on create. */
void sim_core_validate(sim_state *S, const sim_res *r, json_object *obj, json_object *old,
                       const char *sub, sim_causes *c);
/* Set (or replace) a pod condition by type; lastTransitionTime = now. */
void sim_core_pod_condition(json_object *pod, const char *type, const char *status,
                            const char *reason);

#endif
