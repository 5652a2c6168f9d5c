/* test_it_claim_util.c - see test_it_claim_util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_it_claim_util.h"

#include "core/jx.h"
#include "core/namehash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <dirent.h>
#include <signal.h>
#include <strings.h>
#include <unistd.h>

harness *
itx_start(const char *const *sim_args, const char *const *ctl_args)
{
    return it_start_with(sim_args, ctl_args, 1);
}

static void
post(harness *h, const char *path, const char *txt)
{
    long st = 0;
    json_object *r = harness_send_json(h, "POST", path, "application/json", txt, &st);
    if (st != 201) {
        fprintf(stderr, "POST %s -> %ld %s\n", path, st, r ? jx_dump(r) : "");
        harness_print_logs(h, stderr);
    }
    json_object_put(r);
    assert_int_equal(st, 201);
}

void
itx_template(harness *h, const char *name, const char *image)
{
    char txt[1024];
    snprintf(txt, sizeof txt,
             "{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":\"SandboxTemplate\","
             "\"metadata\":{\"name\":\"%s\",\"namespace\":\"" ITX_NS "\"},"
             "\"spec\":{\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"main\","
             "\"image\":\"%s\"}]}}}}",
             name, image);
    post(h, ITX_TMPLS, txt);
}

void
itx_pool(harness *h, const char *name, const char *tmpl, int replicas, const char *strategy)
{
    char txt[1024], strat[128] = "";
    if (strategy) snprintf(strat, sizeof strat, ",\"updateStrategy\":{\"type\":\"%s\"}", strategy);
    snprintf(txt, sizeof txt,
             "{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":\"SandboxWarmPool\","
             "\"metadata\":{\"name\":\"%s\",\"namespace\":\"" ITX_NS "\"},"
             "\"spec\":{\"replicas\":%d,\"sandboxTemplateRef\":{\"name\":\"%s\"}%s}}",
             name, replicas, tmpl, strat);
    post(h, ITX_POOLS, txt);
}

void
itx_claim(harness *h, const char *name, const char *pool, const char *spec_extra)
{
    char txt[2048];
    snprintf(txt, sizeof txt,
             "{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":\"SandboxClaim\","
             "\"metadata\":{\"name\":\"%s\",\"namespace\":\"" ITX_NS "\"},"
             "\"spec\":{\"warmPoolRef\":{\"name\":\"%s\"}%s}}",
             name, pool, spec_extra ? spec_extra : "");
    post(h, ITX_CLAIMS, txt);
}

const char *
itx_ready(json_object *o, const char *field)
{
    json_object *conds = jx_arr(o, "status.conditions");
    for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        const char *t = jx_str(c, "type");
        if (t && strcmp(t, "Ready") == 0) return jx_str(c, field);
    }
    return NULL;
}

typedef struct claim_want {
    const char *reason;
} claim_want;

static int
claim_pred(long status, json_object *body, void *ud)
{
    claim_want *w = ud;
    if (status != 200) return 0;
    if (w->reason == NULL) {
        const char *s = itx_ready(body, "status");
        return s && strcmp(s, "True") == 0 && jx_str(body, "status.sandbox.name");
    }
    const char *r = itx_ready(body, "reason");
    return r && strcmp(r, w->reason) == 0;
}

json_object *
itx_wait_claim(harness *h, const char *name, const char *reason, int timeout_ms)
{
    char path[512];
    snprintf(path, sizeof path, ITX_CLAIMS "/%s", name);
    claim_want w = {reason};
    json_object *last = NULL;
    int rc = harness_poll(h, path, claim_pred, &w, timeout_ms, 20, &last);
    if (rc != 0) {
        fprintf(stderr, "claim %s never reached %s; last: %s\n", name, reason ? reason : "Ready",
                last ? jx_dump(last) : "(none)");
        harness_print_logs(h, stderr);
        json_object_put(last);
        fail_msg("claim %s: wait failed", name);
    }
    return last;
}

static int
pool_pred(long status, json_object *body, void *ud)
{
    int n = *(int *)ud;
    return status == 200 && jx_int(body, "status.readyReplicas", -1) == n &&
           jx_int(body, "status.replicas", -1) == n;
}

void
itx_wait_pool(harness *h, const char *pool, int n, int timeout_ms)
{
    char path[512];
    snprintf(path, sizeof path, ITX_POOLS "/%s", pool);
    json_object *last = NULL;
    if (harness_poll(h, path, pool_pred, &n, timeout_ms, 20, &last) != 0) {
        fprintf(stderr, "pool %s never had %d ready; last: %s\n", pool, n,
                last ? jx_dump(last) : "(none)");
        harness_print_logs(h, stderr);
        json_object_put(last);
        fail_msg("pool %s: wait failed", pool);
    }
    json_object_put(last);
    /* The pool's status settles count-only changes (a member leaving and its
     * refill becoming Ready net out to no write), so it may already say n
     * while the refill is not listed yet: wait for the listing as well. */
    for (int waited = 0;; waited += 20) {
        json_object *l = itx_sandboxes(h);
        size_t listed = itx_pool_members(l, pool, NULL, 0), ready = 0;
        char hash[9];
        namehash_hex(pool, hash);
        json_object *items = jx_arr(l, "items");
        for (size_t i = 0; items && i < json_object_array_length(items); i++) {
            json_object *sb = json_object_array_get_idx(items, i);
            const char *v = jx_label(sb, "agents.x-k8s.io/warm-pool-sandbox");
            if (!v || strcmp(v, hash) != 0 || jx_get(sb, "metadata.deletionTimestamp")) continue;
            json_object *conds = jx_arr(sb, "status.conditions");
            for (size_t j = 0; conds && j < json_object_array_length(conds); j++) {
                json_object *c = json_object_array_get_idx(conds, j);
                if (strcmp(jx_str_or(c, "type", ""), "Ready") == 0 &&
                    strcmp(jx_str_or(c, "status", ""), "True") == 0)
                    ready++;
            }
        }
        json_object_put(l);
        if (listed == (size_t)n && ready == (size_t)n) return;
        if (waited >= timeout_ms) {
            harness_print_logs(h, stderr);
            fail_msg("pool %s: %zu listed, %zu Ready, want %d", pool, listed, ready, n);
        }
        harness_sleep(h, 20);
    }
}

json_object *
itx_sandboxes(harness *h)
{
    json_object *l = it_get(h, ITX_SBX);
    assert_non_null(l);
    return l;
}

size_t
itx_pool_members(json_object *list, const char *pool, char names[][254], size_t max)
{
    char hash[9];
    namehash_hex(pool, hash);
    json_object *items = jx_arr(list, "items");
    size_t n = 0;
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *sb = json_object_array_get_idx(items, i);
        const char *v = jx_label(sb, "agents.x-k8s.io/warm-pool-sandbox");
        if (!v || strcmp(v, hash) != 0 || jx_get(sb, "metadata.deletionTimestamp")) continue;
        if (names && n < max) snprintf(names[n], 254, "%s", jx_str_or(sb, "metadata.name", ""));
        n++;
    }
    return n;
}

const char *
itx_controller_uid(json_object *o, const char **kind)
{
    json_object *refs = jx_arr(o, "metadata.ownerReferences");
    for (size_t i = 0; refs && i < json_object_array_length(refs); i++) {
        json_object *r = json_object_array_get_idx(refs, i);
        if (!jx_bool(r, "controller", 0)) continue;
        if (kind) *kind = jx_str(r, "kind");
        return jx_str(r, "uid");
    }
    if (kind) *kind = NULL;
    return NULL;
}

long
itx_count_requests(harness *h, const char *verb, const char *resource, const char *subresource,
                   long code)
{
    harness_resp r;
    harness_request(h, "GET", "/kubesim/requests?since=0", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    long n = 0;
    char *save = NULL;
    for (char *line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_object *e = json_tokener_parse(line);
        if (e == NULL) continue;
        const char *c = jx_str_or(e, "client", ""), *v = jx_str_or(e, "verb", ""),
                   *res = jx_str_or(e, "resource", ""), *sub = jx_str_or(e, "subresource", "");
        if (strcmp(c, ITX_CLIENT) == 0 && strcasecmp(v, verb) == 0 && strcmp(res, resource) == 0 &&
            (subresource == NULL || strcmp(sub, subresource) == 0) &&
            (code == 0 || jx_int(e, "code", 0) == code))
            n++;
        json_object_put(e);
    }
    harness_resp_fini(&r);
    return n;
}

void
itx_kill_controller(harness *h)
{
    const char *dir = harness_tmpdir(h);
    DIR *d = opendir("/proc");
    assert_non_null(d);
    int killed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;
        long pid = strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end) continue;
        char path[64], buf[8192];
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        FILE *fp = fopen(path, "r");
        if (fp == NULL) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        for (size_t i = 0; i + 1 < n; i++)
            if (buf[i] == '\0') buf[i] = ' ';
        if (strstr(buf, "agent-sandbox-controller") && strstr(buf, "--cache-dir") &&
            strstr(buf, dir) && kill((pid_t)pid, SIGKILL) == 0)
            killed++;
    }
    closedir(d);
    assert_int_equal(killed, 1);
    for (int i = 0; i < 200 && harness_controller_running(h); i++)
        usleep(10000);
    assert_false(harness_controller_running(h));
    harness_stop_controller(h, NULL);
}

void
itx_finish(harness *h)
{
    int status = -1;
    harness_stop_controller(h, &status);
    if (status != 0) harness_print_logs(h, stderr);
    assert_int_equal(status, 0);
    harness_pass(h);
    harness_free(h);
}

static size_t
curl_sink(char *p, size_t sz, size_t n, void *ud)
{
    return fwrite(p, sz, n, ud);
}

char *
itx_scrape_metrics(harness *h)
{
    char path[1100], line[4096];
    int port = -1;
    snprintf(path, sizeof path, "%s/controller.log", harness_tmpdir(h));
    for (int i = 0; i < 100 && port < 0; i++) {
        FILE *f = fopen(path, "r");
        while (f && port < 0 && fgets(line, sizeof line, f)) {
            const char *s = strstr(line, "\"server\":\"metrics\",\"address\"");
            const char *q = s ? strstr(s, "\"port\":") : NULL;
            if (q) port = atoi(q + 7);
        }
        if (f) fclose(f);
        if (port < 0) harness_sleep(h, 50);
    }
    assert_true(port > 0);
    char url[64], *buf = NULL;
    size_t len = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    fclose(f);
    if (rc != CURLE_OK) free(buf);
    assert_int_equal(rc, CURLE_OK);
    return buf;
}
