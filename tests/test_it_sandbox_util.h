/* test_it_sandbox_util.h - helpers shared by the Sandbox integration tests
 * (the real controller binary against kubesim, through tests/harness).
 *
 * Every helper runs on the test thread and fails the current CMocka test on
 * a setup error (via assert_*); JSON returned is owned by the caller. */
#ifndef ASC_TEST_IT_SANDBOX_UTIL_H
#define ASC_TEST_IT_SANDBOX_UTIL_H

#include <json-c/json.h>
#include <stddef.h>

#include "tests/harness/harness.h"

#define IT_NS       "default"
#define IT_SBX_PATH "/apis/agents.x-k8s.io/v1beta1/namespaces/" IT_NS "/sandboxes"
#define IT_CLIENT   "agent-sandbox-controller"

/* kubesim (extra args, may be NULL) + controller (extra args, may be NULL). */
harness *it_start(const char *const *sim_args, const char *const *ctl_args);
/* The same, with the extension controllers when extensions != 0. */
harness *it_start_with(const char *const *sim_args, const char *const *ctl_args, int extensions);

/* A Sandbox: one container "main" (image busybox, port 8888), spec.service
 * = service (< 0: unset). New reference. */
json_object *it_sandbox_json(const char *name, int service);
/* POST it (consumed); returns the HTTP status. */
long it_create(harness *h, const char *path, json_object *obj);
/* Merge patch path with the JSON text; returns the HTTP status. */
long it_patch(harness *h, const char *path, const char *json_text);
long it_delete(harness *h, const char *path);

/* GET the Sandbox / a core object (NULL when not 200). */
json_object *it_get(harness *h, const char *path);
json_object *it_sandbox(harness *h, const char *name);

/* A condition of a Sandbox: field of conditions[type==type] or NULL. */
const char *it_cond(json_object *sb, const char *type, const char *field);
long it_cond_gen(json_object *sb, const char *type);

/* Poll the Sandbox until check(sb, ud) != 0 (timeout_ms); returns the last
 * Sandbox seen (caller puts; NULL if never read) and sets *ok. */
typedef int (*it_check)(json_object *sb, void *ud);
json_object *it_wait_sandbox(harness *h, const char *name, it_check check, void *ud, int timeout_ms,
                             int *ok);
/* check: Ready True. ud unused. */
int it_is_ready(json_object *sb, void *ud);
/* check: Ready reason equals ud (a string). */
int it_ready_reason_is(json_object *sb, void *ud);

/* Wait until GET path answers want_status (200 / 404). 0 or ERR_TIMEOUT. */
int it_wait_status(harness *h, const char *path, long want_status, int timeout_ms);

/* Writes (POST/PUT/PATCH/DELETE) made so far by the controller's client,
 * from kubesim's kubesim_requests_total; resource "" counts every resource,
 * else only that one (e.g. "services"); verb NULL: any write verb. */
long it_writes(harness *h, const char *resource, const char *verb);

/* Print and fail with both logs when cond is false. */
#define it_check_or_fail(h, cond, ...)                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            fail_msg("%s", #cond);                                                                 \
        }                                                                                          \
    } while (0)

#endif
