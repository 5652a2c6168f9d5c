/* test_it_sandbox_util.c - see test_it_sandbox_util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/test_it_sandbox_util.h"

#include "core/err.h"
#include "core/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

harness *
it_start(const char *const *sim_args, const char *const *ctl_args)
{
    return it_start_with(sim_args, ctl_args, 0);
}

harness *
it_start_with(const char *const *sim_args, const char *const *ctl_args, int extensions)
{
    harness *h = harness_new();
    assert_non_null(h);
    int rc = harness_start_sim(h, sim_args);
    if (rc != 0) {
        harness_print_logs(h, stderr);
        fail_msg("kubesim did not start: %d", rc);
    }
    rc = harness_start_controller(h, extensions, ctl_args);
    if (rc != 0) {
        harness_print_logs(h, stderr);
        fail_msg("controller did not start: %d", rc);
    }
    return h;
}

json_object *
it_sandbox_json(const char *name, int service)
{
    char txt[1024];
    snprintf(txt, sizeof txt,
             "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\","
             "\"metadata\":{\"name\":\"%s\",\"namespace\":\"" IT_NS "\"},"
             "\"spec\":{%s\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"main\","
             "\"image\":\"busybox\",\"ports\":[{\"containerPort\":8888}]}]}}}}",
             name,
             service < 0 ? ""
             : service   ? "\"service\":true,"
                         : "\"service\":false,");
    json_object *o = json_tokener_parse(txt);
    assert_non_null(o);
    return o;
}

long
it_create(harness *h, const char *path, json_object *obj)
{
    long st = 0;
    json_object *r = harness_send_json(h, "POST", path, "application/json",
                                       json_object_to_json_string(obj), &st);
    json_object_put(r);
    json_object_put(obj);
    return st;
}

long
it_patch(harness *h, const char *path, const char *json_text)
{
    long st = 0;
    json_object *r =
        harness_send_json(h, "PATCH", path, "application/merge-patch+json", json_text, &st);
    json_object_put(r);
    return st;
}

long
it_delete(harness *h, const char *path)
{
    harness_resp r;
    harness_request(h, "DELETE", path, NULL, NULL, 0, NULL, &r);
    long st = r.status;
    harness_resp_fini(&r);
    return st;
}

json_object *
it_get(harness *h, const char *path)
{
    return harness_get_json(h, path, NULL);
}

json_object *
it_sandbox(harness *h, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, IT_SBX_PATH "/%s", name);
    return it_get(h, path);
}

static json_object *
cond_obj(json_object *sb, const char *type)
{
    json_object *conds = jx_arr(sb, "status.conditions");
    for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        const char *t = jx_str(c, "type");
        if (t && strcmp(t, type) == 0) return c;
    }
    return NULL;
}

const char *
it_cond(json_object *sb, const char *type, const char *field)
{
    json_object *c = cond_obj(sb, type);
    return c ? jx_str(c, field) : NULL;
}

long
it_cond_gen(json_object *sb, const char *type)
{
    json_object *c = cond_obj(sb, type);
    return c ? (long)jx_int(c, "observedGeneration", -1) : -1;
}

typedef struct {
    it_check check;
    void *ud;
} wait_ud;

static int
wait_pred(long status, json_object *body, void *ud)
{
    wait_ud *w = ud;
    return status == 200 && body && w->check(body, w->ud);
}

json_object *
it_wait_sandbox(harness *h, const char *name, it_check check, void *ud, int timeout_ms, int *ok)
{
    char path[512];
    snprintf(path, sizeof path, IT_SBX_PATH "/%s", name);
    wait_ud w = {check, ud};
    json_object *last = NULL;
    int rc = harness_poll(h, path, wait_pred, &w, timeout_ms, 50, &last);
    *ok = rc == 0;
    return last;
}

int
it_is_ready(json_object *sb, void *ud)
{
    (void)ud;
    const char *s = it_cond(sb, "Ready", "status");
    return s && strcmp(s, "True") == 0;
}

int
it_ready_reason_is(json_object *sb, void *ud)
{
    const char *r = it_cond(sb, "Ready", "reason");
    return r && strcmp(r, (const char *)ud) == 0;
}

static int
status_pred(long status, json_object *body, void *ud)
{
    (void)body;
    return status == *(long *)ud;
}

int
it_wait_status(harness *h, const char *path, long want_status, int timeout_ms)
{
    return harness_poll(h, path, status_pred, &want_status, timeout_ms, 50, NULL);
}

/* The value of label name in a Prometheus series line ({a="b",...}). */
static int
label_is(const char *line, const char *name, const char *value)
{
    char needle[160];
    snprintf(needle, sizeof needle, "%s=\"%s\"", name, value);
    return strstr(line, needle) != NULL;
}

long
it_writes(harness *h, const char *resource, const char *verb)
{
    harness_resp r;
    harness_request(h, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    long total = 0;
    static const char *const writes[] = {"POST", "PUT", "PATCH", "DELETE"};
    for (char *line = r.body; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (strncmp(line, "kubesim_requests_total{", 23) == 0 &&
            label_is(line, "client", IT_CLIENT) &&
            (resource == NULL || !*resource || label_is(line, "resource", resource))) {
            int is_write = 0;
            for (size_t i = 0; i < 4; i++)
                if (label_is(line, "verb", writes[i]) && (!verb || !strcmp(verb, writes[i])))
                    is_write = 1;
            const char *sp = strrchr(line, ' ');
            if (is_write && sp) total += strtol(sp + 1, NULL, 10);
        }
        line = nl ? nl + 1 : NULL;
    }
    harness_resp_fini(&r);
    return total;
}
