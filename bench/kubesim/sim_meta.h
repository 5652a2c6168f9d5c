/* sim_meta.h - ObjectMeta as the API server writes it: uids, timestamps,
 * generated names, name validation, managedFields. Pure helpers on json-c
 * trees; the random source is the caller's state (seeded per server). */
#ifndef ASC_SIM_META_H
#define ASC_SIM_META_H

#include "bench/kubesim/sim_schema.h"

#include <json-c/json.h>
#include <stdint.h>

uint64_t sim_rand(uint64_t *state);
void sim_meta_uid(uint64_t *state, char out[37]);
/* 5 characters of the generated-name alphabet. */
void sim_meta_suffix(uint64_t *state, char out[6]);
/* Current wall time, RFC 3339 seconds ("…Z"). */
void sim_meta_now(char out[32]);

/* Name checks: 0 if valid, else the validation message after
 * "Invalid value: \"<name>\": ". */
const char *sim_meta_check_subdomain(const char *name);
const char *sim_meta_check_label(const char *name);   /* RFC 1123 label */
const char *sim_meta_check_dns1035(const char *name); /* DNS-1035 label */
/* Add a metadata.name cause (invalid) when check fails. */
void sim_meta_name_cause(sim_causes *c, const char *field, const char *name,
                         const char *(*check)(const char *));

/* Record a write by manager in obj's metadata.managedFields.
 * fields_src: the object or patch whose fields the manager set (borrowed);
 * subresource: NULL or "status"/"scale"; api_version of the request. */
void sim_meta_managed(json_object *obj, json_object *fields_src, const char *manager,
                      const char *operation, const char *api_version, const char *subresource,
                      int merge_with_previous);

/* Deep copy (json-c), NULL-safe. */
json_object *sim_json_copy(json_object *o);
/* Put kind and apiVersion first (returns a new object, takes o). */
json_object *sim_meta_reorder(json_object *o, const char *kind, const char *api_version);

#endif
