/* sim_status.h - metav1.Status objects exactly as kube-apiserver writes them.
 *
 * Every builder returns a new json-c object (caller puts) with the keys in
 * the real server's order: kind, apiVersion, metadata {}, status, message,
 * reason, details, code. Core resources (group "") get no details.group key
 * (golden #10). NULL only on allocation failure. */
#ifndef ASC_SIM_STATUS_H
#define ASC_SIM_STATUS_H

#include "bench/kubesim/sim_res.h"
#include "bench/kubesim/sim_schema.h"

#include <json-c/json.h>

/* Generic: reason NULL = omitted; details taken (NULL = omitted). */
json_object *sim_status(int code, const char *reason, const char *message, json_object *details);
/* {name?, group?, kind?} (NULL/"" values omitted). */
json_object *sim_status_details(const char *name, const char *group, const char *kind);

json_object *sim_status_not_found(const sim_res *r, const char *name);
json_object *sim_status_already_exists(const sim_res *r, const char *name);
/* "the object has been modified; ..." 409 with plural details */
json_object *sim_status_conflict(const sim_res *r, const char *name);
/* 409 with a custom message after "Operation cannot be fulfilled on <what> \"name\": " */
json_object *sim_status_conflict_msg(const char *what, const char *group, const char *kind,
                                     const char *name, const char *msg);
json_object *sim_status_bad_request(const char *message);
json_object *sim_status_unsupported_media(const char *accepted);
json_object *sim_status_json_patch_invalid(void);
json_object *sim_status_forbidden_terminating(const sim_res *r, const char *name, const char *ns);
/* 422 with one cause, details.kind = the given kind text (plural or Kind). */
json_object *sim_status_invalid1(const char *msg_subject, const char *name, const char *group,
                                 const char *kind, const char *reason, const char *field,
                                 const char *message);

/* sim_causes_status with an empty name left out of details (422 Invalid). */
json_object *sim_status_invalid(const sim_causes *c, const char *kind, const char *group,
                                const char *name);

#endif
