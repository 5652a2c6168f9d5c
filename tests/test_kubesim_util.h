/* test_kubesim_util.h - small helpers shared by the kubesim tests (header-only). */
#ifndef ASC_TESTS_KUBESIM_UTIL_H
#define ASC_TESTS_KUBESIM_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jx.h"
#include "tests/harness/harness.h"

/* Start kubesim (binary from $ASC_BIN_DIR) with args; skip visibly if it is missing. */
#define KS_START(h, args)                                                                          \
    do {                                                                                           \
        char bin_[4096];                                                                           \
        if (access(harness_bin_path("kubesim", bin_, sizeof bin_), X_OK) != 0) {                   \
            fprintf(stderr, "SKIP %s: %s does not exist\n", __func__, bin_);                       \
            skip();                                                                                \
        }                                                                                          \
        (h) = harness_new();                                                                       \
        assert_non_null(h);                                                                        \
        if (getenv("TEST_KUBECONFIG")) harness_require_kubesim(h);                                 \
        assert_int_equal(harness_start_sim((h), (args)), 0);                                       \
    } while (0)

/* Stop kubesim with SIGTERM and require a clean exit (0: under ASan also no leak). */
#define KS_STOP(h)                                                                                 \
    do {                                                                                           \
        if (harness_is_kubesim(h)) {                                                               \
            int code_ = -1;                                                                        \
            assert_int_equal(harness_stop_sim((h), &code_), 0);                                    \
            assert_int_equal(code_, 0);                                                            \
        }                                                                                          \
    } while (0)

/* Send JSON text; fail the test unless the status is want. Returns the reply (caller puts). */
static inline json_object *
ks_send(harness *h, const char *method, const char *path, const char *ctype, const char *json,
        long want)
{
    long st = 0;
    json_object *o = harness_send_json(h, method, path, ctype, json, &st);
    if (st != want)
        fail_msg("%s %s: status %ld, want %ld: %s", method, path, st, want,
                 o ? jx_dump(o) : "(no JSON)");
    return o;
}

static inline json_object *
ks_get(harness *h, const char *path, long want)
{
    long st = 0;
    json_object *o = harness_get_json(h, path, &st);
    if (st != want) fail_msg("GET %s: status %ld, want %ld", path, st, want);
    return o;
}

/* Create a ConfigMap ns/name with labels (JSON object text or NULL); returns its RV. */
static inline unsigned long long
ks_cm(harness *h, const char *ns, const char *name, const char *labels)
{
    char path[512], body[1024];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", ns);
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"%s%s},"
             "\"data\":{\"k\":\"v\"}}",
             name, labels ? ",\"labels\":" : "", labels ? labels : "");
    json_object *o = ks_send(h, "POST", path, "application/json", body, 201);
    unsigned long long rv = strtoull(jx_str_or(o, "metadata.resourceVersion", "0"), NULL, 10);
    json_object_put(o);
    return rv;
}

static inline void
ks_ns(harness *h, const char *name)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", name);
    json_object_put(ks_send(h, "POST", "/api/v1/namespaces", "application/json", body, 201));
}

static inline unsigned long long
ks_list_rv(harness *h, const char *path)
{
    json_object *l = ks_get(h, path, 200);
    unsigned long long rv = strtoull(jx_str_or(l, "metadata.resourceVersion", "0"), NULL, 10);
    json_object_put(l);
    return rv;
}

static inline unsigned long long
ks_ev_rv(json_object *ev)
{
    return strtoull(jx_str_or(ev, "object.metadata.resourceVersion", "0"), NULL, 10);
}

#endif
