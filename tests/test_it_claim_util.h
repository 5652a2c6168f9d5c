/* test_it_claim_util.h - helpers shared by the extension integration tests
 * (SandboxTemplate / SandboxWarmPool / SandboxClaim against kubesim, the
 * real controller binary with --extensions, through tests/harness).
 *
 * Every helper runs on the test thread and fails the current CMocka test
 * on a setup error; JSON returned is owned by the caller. */
#ifndef ASC_TEST_IT_CLAIM_UTIL_H
#define ASC_TEST_IT_CLAIM_UTIL_H

#include <json-c/json.h>
#include <stddef.h>

#include "tests/harness/harness.h"
#include "tests/test_it_sandbox_util.h" /* it_get, it_patch, it_delete, it_start_with */

#define ITX_NS     "default"
#define ITX_EXT    "/apis/extensions.agents.x-k8s.io/v1beta1/namespaces/" ITX_NS
#define ITX_SBX    "/apis/agents.x-k8s.io/v1beta1/namespaces/" ITX_NS "/sandboxes"
#define ITX_CLAIMS ITX_EXT "/sandboxclaims"
#define ITX_POOLS  ITX_EXT "/sandboxwarmpools"
#define ITX_TMPLS  ITX_EXT "/sandboxtemplates"
#define ITX_CLIENT "agent-sandbox-controller"

/* kubesim (extra args, may be NULL) + controller --extensions (extra args). */
harness *itx_start(const char *const *sim_args, const char *const *ctl_args);

/* POST a SandboxTemplate (one container "main", image). 201 or fail. */
void itx_template(harness *h, const char *name, const char *image);
/* POST a SandboxWarmPool; strategy NULL: unset. */
void itx_pool(harness *h, const char *name, const char *tmpl, int replicas, const char *strategy);
/* POST a SandboxClaim; spec_extra: JSON members added to spec (",..."), or NULL. */
void itx_claim(harness *h, const char *name, const char *pool, const char *spec_extra);

/* The Ready condition's field of a claim/sandbox, or NULL. */
const char *itx_ready(json_object *o, const char *field);

/* Poll the claim until Ready status == "True" (reason NULL) or its Ready
 * reason equals reason. Returns the claim (caller puts) or fails. */
json_object *itx_wait_claim(harness *h, const char *name, const char *reason, int timeout_ms);
/* Poll until the pool's status.readyReplicas == n and status.replicas == n. */
void itx_wait_pool(harness *h, const char *pool, int n, int timeout_ms);

/* Sandboxes of the namespace (GET list; caller puts the list object). */
json_object *itx_sandboxes(harness *h);
/* Sandboxes labelled agents.x-k8s.io/warm-pool-sandbox=NameHash(pool) in a list. */
size_t itx_pool_members(json_object *list, const char *pool, char names[][254], size_t max);
/* The uid of the controller ownerReference of o and its kind, or NULL. */
const char *itx_controller_uid(json_object *o, const char **kind);

/* Requests of the controller's client in kubesim's log: verb ("POST"...),
 * resource ("sandboxes"), subresource ("" for none, NULL: any); code 0: any. */
long itx_count_requests(harness *h, const char *verb, const char *resource, const char *subresource,
                        long code);

/* The controller's /metrics text (start it with
 * --metrics-bind-address=127.0.0.1:0; the port is read from its log).
 * malloc'd (caller frees), or fails the test. */
char *itx_scrape_metrics(harness *h);

/* End of a passing test: stop the controller (SIGTERM) and require exit
 * status 0 (a sanitizer report at exit fails the test), then pass and free. */
void itx_finish(harness *h);

/* SIGKILL the controller this harness started (found by its --cache-dir in
 * /proc, the harness exposes no pid) and reap it; the next
 * harness_start_controller reuses the same cache dir. */
void itx_kill_controller(harness *h);

#endif
