/* objects.h - the objects a benchmark creates, as JSON text, and the
 * readiness tests it applies to what it watches.
 *
 * Builders write into the caller's buffer and return the length (>= cap
 * means it did not fit: the caller treats that as an error). Every object
 * carries the label BENCH_ROLE_LABEL=<role> so a watch can select one
 * benchmark's objects.
 *
 * Readiness (spec/api.md §1.2, §1.5): a Sandbox is ready when its Ready
 * condition has status "True"; a SandboxClaim when its Ready condition is
 * "True" and status.sandbox.name is set (the Sandbox it got).
 */
#ifndef ASC_BENCH_OBJECTS_H
#define ASC_BENCH_OBJECTS_H

#include <json-c/json.h>
#include <stddef.h>

#define BENCH_ROLE_LABEL "asc-bench/role"

/* A Sandbox running one container, with a headless Service (port 8888). */
size_t bench_sandbox_json(char *buf, size_t cap, const char *ns, const char *name,
                          const char *role);
/* A SandboxTemplate with the same pod, Service on. */
size_t bench_template_json(char *buf, size_t cap, const char *ns, const char *name);
size_t bench_pool_json(char *buf, size_t cap, const char *ns, const char *name,
                       const char *template_name, long replicas);
size_t bench_claim_json(char *buf, size_t cap, const char *ns, const char *name, const char *pool,
                        const char *role);

/* 1 when obj's status.conditions holds type Ready with status True. */
int bench_ready_condition(json_object *obj);
/* The Ready condition's reason, or NULL. */
const char *bench_ready_reason(json_object *obj);
/* Claim ready: Ready True and status.sandbox.name non-empty (returned,
 * borrowed from obj), else NULL. */
const char *bench_claim_ready(json_object *obj);

#endif
