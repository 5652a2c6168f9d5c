/* test_golden_replay.c - replay every recorded kube-apiserver exchange of tests/golden/
 * against kubesim and compare the answers.
 *
 * One CMocka case per file (table below). Each case starts its own kubesim
 * ($ASC_BIN_DIR/kubesim --port 0 --no-kubelet [flags]; no kubelet, because the files play
 * kubelet themselves through pods/binding and pods/status), creates the namespaces
 * conf-golden-<check> its requests use (the recorder made them before each scenario and did
 * not record it; a namespace the file creates itself or expects to be missing is left
 * alone), runs the setup the recording omitted (objects that already existed when the
 * scenario started, listed per file below), then sends every request with User-Agent
 * kapi-conformance/1.0, as the recorder did, and compares:
 *   - the status code and Content-Type exactly, Warning and Retry-After when recorded;
 *   - the body: every value exactly (messages included) except placeholders, which are
 *     bound consistently within the file (tests/harness/jmatch.h); managedFields only for
 *     presence and managers.
 * Artefacts of the recorded build are normalised: /version is compared on major and minor
 * only (the build had no version stamp), and the `openshift-service-ca.crt` projected
 * volume source that OpenShift's ServiceAccount admission adds to pods (golden README #34)
 * is removed from expected pods.
 *
 * Watches: the stream opens at its exchange and collects events while the following
 * requests are made; after the last exchange (or at an ENDWATCH step) the events are
 * compared, after waiting (bounded) for as many events as recorded, or for the end of the
 * stream when the recording shows one (timeoutSeconds <= 5, or an ERROR event). The stream
 * must be chunked.
 *
 * Steps the files cannot show are driven explicitly (see golden_cases):
 *   bookmark               --bookmark-interval 2 instead of the real server's ~60 s;
 *   watch-gone-410-window  after the first watch ended: three more writes, then
 *                          POST /kubesim/compact instead of 210 writes and an 80 s pause;
 *   gc-cascade, delete-foreground
 *                          GETs that observe the garbage collector's work are polled until
 *                          they match (the recorder's polls were not recorded);
 *   namespace-lifecycle    the ServiceAccount, content deletion and namespace removal are
 *                          polled; before removing the finalizer, wait until the namespace
 *                          controller marked the held object deleted;
 *   watch-initial-events   the first watch is compared and closed before the second opens
 *                          (the recorder did so: it holds one MODIFIED only);
 *   watch-timeout          <rv:1> is the namespace's list resourceVersion at the start.
 *
 * kubesim runs as a child process per file by default: a crash or a leak (its exit status
 * under ASan) is attributed to one file, its log is printed with that file's differences,
 * and the other files still run. GOLDEN_INPROCESS=1 starts it in this process instead
 * (asc_sim on its own thread), when the test was built with asc_harness_sim.
 *
 * GOLDEN_ONLY=<file>[,<file>...] (with or without .json) runs only those files. Every
 * difference is printed as "golden <file> #<exchange> <METHOD> <path>: <json path>: expected
 * ..., got ..."; a summary of all files (first difference of each) ends the run.
 * With TEST_KUBECONFIG set the replay is skipped: it targets kubesim's fresh state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"
#include "tests/harness/harness.h"
#include "tests/harness/jmatch.h"

#define MAX_EXCHANGES     64
#define POLL_TIMEOUT_MS   10000
#define WATCH_WAIT_MS     3000
#define DIFF_LEN          2048
#define MAX_PRINTED_DIFFS 12
#define REPORT_SETUP      -1 /* report() about setup steps */
#define REPORT_END        -2 /* report() about the end of the run (kubesim's exit) */

/* ---- per-file table ---------------------------------------------------------------- */

typedef struct {
    int before; /* run before this exchange */
    /* "POST <path> <json>"          a setup write, must answer 2xx
     * "BIND <placeholder> <path> <field>"  GET path, bind the string at field (jx path)
     * "WAIT <path> <field>"         poll GET path until field is present
     * "ENDWATCH <exchange>"         compare and close the watch opened at that exchange
     * "ADMIN <path>"                POST to a kubesim admin endpoint, must answer 2xx */
    const char *step;
} golden_step;

typedef struct {
    const char *file;
    const char *const *sim_args; /* extra kubesim flags, NULL-terminated */
    const golden_step *steps;    /* terminated by a NULL step */
    const int *poll;             /* exchanges retried until they match, -1 terminated */
} golden_case;

#define SBX_BODY(meta)                                                                             \
    "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\",\"metadata\":{" meta         \
    "},\"spec\":{\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"main\","                   \
    "\"image\":\"registry.k8s.io/pause:3.10\"}]}}}}"
#define SBX(ns, meta)                                                                              \
    "POST /apis/agents.x-k8s.io/v1beta1/namespaces/" ns "/sandboxes " SBX_BODY(meta)
#define TPL(ns, name)                                                                              \
    "POST /apis/extensions.agents.x-k8s.io/v1beta1/namespaces/" ns "/sandboxtemplates "            \
    "{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":\"SandboxTemplate\","         \
    "\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"podTemplate\":{\"spec\":{\"containers\":"    \
    "[{\"name\":\"main\",\"image\":\"registry.k8s.io/pause:3.10\"}]}}}}"
#define NAME(n) "\"name\":\"" n "\""

static const char *const args_bookmark[] = {"--bookmark-interval", "2", NULL};

static const golden_step steps_bookmark[] = {
    {0, SBX("conf-golden-watch-bookmark", NAME("bm"))},
    {0, "POST /api/v1/namespaces/conf-golden-watch-bookmark/configmaps "
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"bm\"},"
        "\"data\":{\"k\":\"v\"}}"},
    {0, NULL}};

#define LS "conf-golden-label-selectors"
static const golden_step steps_label_selectors[] = {
    {0, SBX(LS, NAME("s1") ",\"labels\":{\"env\":\"prod\",\"tier\":\"web\"}")},
    {0, SBX(LS, NAME("s2") ",\"labels\":{\"env\":\"dev\",\"tier\":\"web\"}")},
    {0, SBX(LS, NAME("s3") ",\"labels\":{\"env\":\"prod\"}")},
    {0, SBX(LS, NAME("s4"))},
    {0, NULL}};

#define LP "conf-golden-list-pagination"
static const golden_step steps_list_pagination[] = {
    {0, SBX(LP, NAME("p-1"))}, {0, SBX(LP, NAME("p-2"))},
    {0, SBX(LP, NAME("p-3"))}, {0, SBX(LP, NAME("p-4"))},
    {0, SBX(LP, NAME("p-5"))}, {0, SBX(LP, NAME("p-6"))},
    {0, SBX(LP, NAME("p-7"))}, {0, NULL}};

static const golden_step steps_list_rv[] = {
    {0, SBX("conf-golden-list-resource-version", NAME("v-a"))}, {0, NULL}};

static const golden_step steps_watch_field_selector[] = {
    {0, SBX("conf-golden-watch-field-selector", NAME("f-a"))},
    {0, SBX("conf-golden-watch-field-selector", NAME("f-b"))},
    {0, NULL}};

static const golden_step steps_watch_from_rv[] = {{0, SBX("conf-golden-watch-from-rv", NAME("wa"))},
                                                  {0, NULL}};

#define GW "conf-golden-watch-gone-410-window"
static const golden_step steps_watch_gone_window[] = {{0, TPL(GW, "win")},
                                                      {2, "ENDWATCH 1"},
                                                      {2, TPL(GW, "win-fill-1")},
                                                      {2, TPL(GW, "win-fill-2")},
                                                      {2, TPL(GW, "win-fill-3")},
                                                      {2, "ADMIN /kubesim/compact"},
                                                      {0, NULL}};

static const golden_step steps_watch_initial_events_end[] = {
    {0, SBX("conf-golden-watch-list-initial-events-end", NAME("wl-a"))},
    {0, SBX("conf-golden-watch-list-initial-events-end", NAME("wl-b"))},
    {0, NULL}};

static const golden_step steps_watch_initial_events[] = {
    {0, SBX("conf-golden-watch-initial-events", NAME("i-a"))},
    {0, SBX("conf-golden-watch-initial-events", NAME("i-b"))},
    {2, "ENDWATCH 0"},
    {0, NULL}};

static const golden_step steps_watch_timeout[] = {
    {0, "BIND <rv:1> /apis/agents.x-k8s.io/v1beta1/namespaces/conf-golden-watch-timeout/sandboxes "
        "metadata.resourceVersion"},
    {0, NULL}};

static const golden_step steps_namespace_lifecycle[] = {
    {7, "WAIT /api/v1/namespaces/conf-golden-nslife/configmaps/held metadata.deletionTimestamp"},
    {0, NULL}};

static const int poll_gc_cascade[] = {3, 10, -1};
static const int poll_delete_foreground[] = {2, -1};
static const int poll_namespace_lifecycle[] = {1, 6, 8, -1};

static const golden_case golden_cases[] = {
    {"bookmark.json", args_bookmark, steps_bookmark, NULL},
    {"core-validation.json", NULL, NULL, NULL},
    {"crd-defaulting.json", NULL, NULL, NULL},
    {"create-conflict.json", NULL, NULL, NULL},
    {"create-missing-namespace.json", NULL, NULL, NULL},
    {"delete-finalizer.json", NULL, NULL, NULL},
    {"delete-foreground.json", NULL, NULL, poll_delete_foreground},
    {"delete-precondition.json", NULL, NULL, NULL},
    {"delete-responses.json", NULL, NULL, NULL},
    {"discovery-agents.json", NULL, NULL, NULL},
    {"field-selectors.json", NULL, steps_label_selectors, NULL},
    {"gc-cascade.json", NULL, NULL, poll_gc_cascade},
    {"generate-name.json", NULL, NULL, NULL},
    {"generation-rules.json", NULL, NULL, NULL},
    {"get-notfound.json", NULL, NULL, NULL},
    {"invalid-enum.json", NULL, NULL, NULL},
    {"invalid-names.json", NULL, NULL, NULL},
    {"invalid-selector.json", NULL, NULL, NULL},
    {"json-patch-test-fail.json", NULL, NULL, NULL},
    {"label-selectors.json", NULL, steps_label_selectors, NULL},
    {"lease-conflict.json", NULL, NULL, NULL},
    {"list-basic.json", NULL, NULL, NULL},
    {"list-pagination.json", NULL, steps_list_pagination, NULL},
    {"list-resource-version.json", NULL, steps_list_rv, NULL},
    {"malformed-body.json", NULL, NULL, NULL},
    {"merge-patch-precondition.json", NULL, NULL, NULL},
    {"merge-patch.json", NULL, NULL, NULL},
    {"namespace-lifecycle.json", NULL, steps_namespace_lifecycle, poll_namespace_lifecycle},
    {"node-status.json", NULL, NULL, NULL},
    {"pod-binding.json", NULL, NULL, NULL},
    {"pod-delete-grace.json", NULL, NULL, NULL},
    {"pod-status.json", NULL, NULL, NULL},
    {"scale-subresource.json", NULL, NULL, NULL},
    {"status-subresource.json", NULL, NULL, NULL},
    {"strategic-merge-pod.json", NULL, NULL, NULL},
    {"unknown-resource.json", NULL, NULL, NULL},
    {"unsupported-media-type.json", NULL, NULL, NULL},
    {"update-conflict.json", NULL, NULL, NULL},
    {"version.json", NULL, NULL, NULL},
    {"watch-field-selector.json", NULL, steps_watch_field_selector, NULL},
    {"watch-from-rv.json", NULL, steps_watch_from_rv, NULL},
    {"watch-gone-410-window.json", NULL, steps_watch_gone_window, NULL},
    {"watch-gone-410.json", NULL, NULL, NULL},
    {"watch-initial-events-end.json", NULL, steps_watch_initial_events_end, NULL},
    {"watch-initial-events.json", NULL, steps_watch_initial_events, NULL},
    {"watch-selector-transitions.json", NULL, NULL, NULL},
    {"watch-timeout.json", NULL, steps_watch_timeout, NULL},
};

enum { NCASES = sizeof golden_cases / sizeof golden_cases[0] };

/* ---- one file's run ---------------------------------------------------------------- */

typedef enum { R_NOT_RUN, R_PASS, R_FAIL, R_SKIP } run_result;

typedef struct {
    const golden_case *gc;
    run_result result;
    int ndiffs;
    char first[DIFF_LEN + 512];
    int64_t ms;
} case_state;

static case_state states[NCASES];

typedef struct {
    case_state *cs;
    harness *h;
    jm_binds *binds;
    json_object *doc;
    json_object *exchanges;
    harness_watch *watches[MAX_EXCHANGES];
} replay;

static void report(replay *r, int idx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
report(replay *r, int idx, const char *fmt, ...)
{
    char msg[DIFF_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char line[DIFF_LEN + 512];
    if (idx >= 0) {
        json_object *rq = jx_obj(json_object_array_get_idx(r->exchanges, (size_t)idx), "request");
        snprintf(line, sizeof line, "#%d %s %s: %s", idx, jx_str_or(rq, "method", "?"),
                 jx_str_or(rq, "path", "?"), msg);
    } else {
        snprintf(line, sizeof line, "%s: %s", idx == REPORT_END ? "end" : "setup", msg);
    }
    if (r->cs->ndiffs == 0) snprintf(r->cs->first, sizeof r->cs->first, "%s", line);
    if (r->cs->ndiffs < MAX_PRINTED_DIFFS)
        printf("golden %s %s\n", r->cs->gc->file, line);
    else if (r->cs->ndiffs == MAX_PRINTED_DIFFS)
        printf("golden %s (further differences not printed)\n", r->cs->gc->file);
    fflush(stdout);
    r->cs->ndiffs++;
}

/* Remove the OpenShift-only projected source from every projected volume (README #34). */
static void
strip_openshift(json_object *o)
{
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            strip_openshift(json_object_array_get_idx(o, i));
        return;
    }
    if (!json_object_is_type(o, json_type_object)) return;
    json_object *sources = jx_arr(o, "projected.sources");
    if (sources) {
        for (size_t i = json_object_array_length(sources); i-- > 0;) {
            const char *cm = jx_str(json_object_array_get_idx(sources, i), "configMap.name");
            if (cm && strcmp(cm, "openshift-service-ca.crt") == 0)
                json_object_array_del_idx(sources, i, 1);
        }
    }
    json_object_object_foreach(o, k, v)
    {
        (void)k;
        strip_openshift(v);
    }
}

static json_object *
expected_body(json_object *resp)
{
    json_object *b = jx_get(resp, "body");
    json_object *copy = NULL;
    if (b == NULL || json_object_deep_copy(b, &copy, NULL) != 0) return NULL;
    strip_openshift(copy);
    return copy;
}

static void
pct_encode(const char *s, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* Path plus encoded query, placeholders substituted. NULL on an unbound placeholder. */
static char *
request_url(replay *r, json_object *rq, char *err, size_t errlen)
{
    char *path = jm_subst(r->binds, jx_str_or(rq, "path", "/"), err, errlen);
    if (path == NULL) return NULL;
    size_t cap = strlen(path) + 4096;
    char *url = malloc(cap);
    if (url == NULL) {
        free(path);
        return NULL;
    }
    snprintf(url, cap, "%s", path);
    free(path);
    char sep = '?';
    json_object *q = jx_obj(rq, "query");
    if (q) {
        json_object_object_foreach(q, key, val)
        {
            char *v = jm_subst(r->binds, json_object_get_string(val), err, errlen);
            if (v == NULL) {
                free(url);
                return NULL;
            }
            /* Percent-encoding at most triples a value. */
            size_t need = strlen(url) + 3 * (strlen(key) + strlen(v)) + 3;
            char *ek = malloc(3 * strlen(key) + 5), *ev = malloc(3 * strlen(v) + 5);
            char *grown = need > cap ? realloc(url, need) : url;
            if (ek == NULL || ev == NULL || grown == NULL) {
                free(ek);
                free(ev);
                free(v);
                free(grown ? grown : url);
                snprintf(err, errlen, "out of memory");
                return NULL;
            }
            url = grown;
            cap = need > cap ? need : cap;
            pct_encode(key, ek, 3 * strlen(key) + 5);
            pct_encode(v, ev, 3 * strlen(v) + 5);
            free(v);
            size_t l = strlen(url);
            snprintf(url + l, cap - l, "%c%s=%s", sep, ek, ev);
            free(ek);
            free(ev);
            sep = '&';
        }
    }
    return url;
}

/* The body to send: a raw string as is, JSON serialised; placeholders substituted. */
static char *
request_body(replay *r, json_object *rq, char *err, size_t errlen)
{
    json_object *b = jx_get(rq, "body");
    if (b == NULL) return NULL;
    if (json_object_is_type(b, json_type_string))
        return jm_subst(r->binds, json_object_get_string(b), err, errlen);
    json_object *s = jm_subst_json(r->binds, b, err, errlen);
    if (s == NULL) return NULL;
    char *text = strdup(
        json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(s);
    return text;
}

static int
is_watch(json_object *rq)
{
    const char *w = jx_str(rq, "query.watch");
    return w && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0);
}

/* Compare one reply; returns 0 or 1 with diff filled. */
static int
compare_reply(replay *r, int idx, json_object *want_resp, const harness_resp *got, char *diff,
              size_t dl)
{
    long want_status = jx_int(want_resp, "status", 0);
    if (got->status != want_status) {
        snprintf(diff, dl, "status: expected %ld, got %ld (body: %.400s)", want_status, got->status,
                 got->body ? got->body : "");
        return 1;
    }
    const char *want_ct = jx_str_or(want_resp, "headers.content-type", "");
    if (strcmp(want_ct, got->content_type) != 0) {
        snprintf(diff, dl, "content-type: expected \"%s\", got \"%s\"", want_ct, got->content_type);
        return 1;
    }
    char hv[1024];
    const char *want_warn = jx_str(want_resp, "headers.warning");
    const char *got_warn = harness_resp_header(got, "warning", hv, sizeof hv);
    if ((want_warn || got_warn) &&
        (!want_warn || !got_warn ||
         jm_compare_str(r->binds, want_warn, got_warn, "header warning", diff, dl))) {
        snprintf(diff, dl, "header warning: expected %s%s%s, got %s%s%s", want_warn ? "\"" : "",
                 want_warn ? want_warn : "(none)", want_warn ? "\"" : "", got_warn ? "\"" : "",
                 got_warn ? got_warn : "(none)", got_warn ? "\"" : "");
        return 1;
    }
    const char *want_ra = jx_str(want_resp, "headers.retry-after");
    if (want_ra) {
        const char *got_ra = harness_resp_header(got, "retry-after", hv, sizeof hv);
        if (got_ra == NULL || strcmp(got_ra, want_ra) != 0) {
            snprintf(diff, dl, "header retry-after: expected \"%s\", got %s", want_ra,
                     got_ra ? got_ra : "(none)");
            return 1;
        }
    }
    json_object *want = expected_body(want_resp);
    int rc = 0;
    const char *path = jx_str_or(
        jx_obj(json_object_array_get_idx(r->exchanges, (size_t)idx), "request"), "path", "");
    if (want == NULL) {
        if (got->len > 0) {
            snprintf(diff, dl, "body: expected none, got %.300s", got->body);
            rc = 1;
        }
    } else if (json_object_is_type(want, json_type_string)) {
        rc = jm_compare_str(r->binds, json_object_get_string(want), got->body, "body", diff, dl);
    } else if (got->json == NULL) {
        snprintf(diff, dl, "body: expected JSON, got %.300s", got->body);
        rc = 1;
    } else if (strcmp(path, "/version") == 0) {
        /* The recorded build had no version stamp: only major and minor are meaningful. */
        json_object *w = json_object_new_object(), *g = json_object_new_object();
        const char *keys[] = {"major", "minor"};
        for (int k = 0; k < 2; k++) {
            json_object *wv = jx_get(want, keys[k]), *gv = jx_get(got->json, keys[k]);
            json_object_object_add(w, keys[k], json_object_get(wv));
            if (gv) json_object_object_add(g, keys[k], json_object_get(gv));
        }
        rc = jm_compare(r->binds, w, g, "body", diff, dl);
        json_object_put(w);
        json_object_put(g);
    } else {
        rc = jm_compare(r->binds, want, got->json, "body", diff, dl);
    }
    json_object_put(want);
    return rc;
}

static void
finish_watch(replay *r, int idx)
{
    harness_watch *w = r->watches[idx];
    if (w == NULL) return;
    r->watches[idx] = NULL;
    json_object *ex = json_object_array_get_idx(r->exchanges, (size_t)idx);
    json_object *want_resp = jx_obj(ex, "response");
    long want_status = jx_int(want_resp, "status", 0);
    json_object *want = expected_body(want_resp);
    char diff[DIFF_LEN] = "";
    if (want_status != 200) {
        /* An error Status instead of a stream: compare it like a plain reply. */
        harness_watch_wait_end(w, WATCH_WAIT_MS);
        harness_resp got = {0};
        size_t len;
        const char *body = harness_watch_body(w, &len);
        got.status = harness_watch_status(w);
        got.content_type = (char *)harness_watch_content_type(w);
        got.headers = "";
        got.body = (char *)body;
        got.len = len;
        const char *perr = NULL;
        got.json = jx_parse(body, len, &perr);
        if (compare_reply(r, idx, want_resp, &got, diff, sizeof diff)) report(r, idx, "%s", diff);
        json_object_put(got.json);
        goto out;
    }
    size_t n = json_object_is_type(want, json_type_array) ? json_object_array_length(want) : 0;
    const char *last_type = n ? jx_str(json_object_array_get_idx(want, n - 1), "type") : NULL;
    const char *tmo_s = jx_str(jx_obj(ex, "request"), "query.timeoutSeconds");
    int64_t tmo = tmo_s ? strtoll(tmo_s, NULL, 10) : 0;
    int error_end = last_type && strcmp(last_type, "ERROR") == 0;
    int should_end = (tmo > 0 && tmo <= 5) || error_end;
    if (should_end) {
        /* An ERROR event ends the stream at once; a short timeoutSeconds ends it on time. */
        int bound_ms = (int)(!error_end && tmo > 0 ? tmo * 1000 + WATCH_WAIT_MS : WATCH_WAIT_MS);
        if (harness_watch_wait_end(w, bound_ms) != 0) {
            report(r, idx, "watch: the server did not end the stream within %d ms", bound_ms);
        } else {
            int clean = 0;
            harness_watch_ended(w, &clean);
            if (!clean)
                report(r, idx, "watch: the stream ended with a transport error (not a clean end)");
        }
    } else {
        harness_watch_wait(w, n, WATCH_WAIT_MS);
        harness_sleep(r->h, 100); /* room for events that should not come */
    }
    if (harness_watch_status(w) != 200) {
        size_t len;
        const char *body = harness_watch_body(w, &len);
        report(r, idx, "watch status: expected 200, got %ld (body: %.400s)",
               harness_watch_status(w), body);
        goto out;
    }
    const char *want_ct = jx_str_or(want_resp, "headers.content-type", "");
    if (strcmp(want_ct, harness_watch_content_type(w)) != 0)
        report(r, idx, "watch content-type: expected \"%s\", got \"%s\"", want_ct,
               harness_watch_content_type(w));
    if (!harness_watch_chunked(w)) report(r, idx, "watch: expected Transfer-Encoding: chunked");
    json_object *got = json_object_new_array();
    for (size_t i = 0; i < harness_watch_count(w); i++)
        json_object_array_add(got, json_object_get(harness_watch_event(w, i)));
    if (jm_compare(r->binds, want, got, "events", diff, sizeof diff)) {
        report(r, idx, "%s", diff);
        jm_learn(r->binds, want, got);
    }
    json_object_put(got);
out:
    json_object_put(want);
    harness_watch_close(w);
}

static int
is_polled(const golden_case *gc, int idx)
{
    for (const int *p = gc->poll; p && *p >= 0; p++)
        if (*p == idx) return 1;
    return 0;
}

static void
run_exchange(replay *r, int idx)
{
    json_object *ex = json_object_array_get_idx(r->exchanges, (size_t)idx);
    json_object *rq = jx_obj(ex, "request");
    char err[512] = "";
    char *url = request_url(r, rq, err, sizeof err);
    if (url == NULL) {
        report(r, idx, "cannot build the request: %s", err);
        return;
    }
    if (is_watch(rq)) {
        r->watches[idx] = harness_watch_open(r->h, url);
        if (r->watches[idx] == NULL) report(r, idx, "cannot open the watch");
        free(url);
        return;
    }
    char *body = NULL;
    if (jx_get(rq, "body")) {
        body = request_body(r, rq, err, sizeof err);
        if (body == NULL) {
            report(r, idx, "cannot build the body: %s", err);
            free(url);
            return;
        }
    }
    const char *method = jx_str_or(rq, "method", "GET");
    const char *ct = jx_str(rq, "headers.content-type");
    int64_t end = time_mono_ms() + (is_polled(r->cs->gc, idx) ? POLL_TIMEOUT_MS : 0);
    char diff[DIFF_LEN];
    for (;;) {
        harness_resp got;
        harness_request(r->h, method, url, ct, body, body ? strlen(body) : 0, NULL, &got);
        int bad = compare_reply(r, idx, jx_obj(ex, "response"), &got, diff, sizeof diff);
        if (bad && time_mono_ms() >= end) {
            report(r, idx, "%s", diff);
            /* Keep binding what did match, so later exchanges can still be built. */
            json_object *want = expected_body(jx_obj(ex, "response"));
            if (want && got.json) jm_learn(r->binds, want, got.json);
            json_object_put(want);
        }
        harness_resp_fini(&got);
        if (!bad || time_mono_ms() >= end) break;
        harness_sleep(r->h, 100);
    }
    free(body);
    free(url);
}

static int
bind_pred(long status, json_object *body, void *ud)
{
    return status == 200 && jx_get(body, (const char *)ud) != NULL;
}

static void
run_step(replay *r, const char *step)
{
    char verb[16], a[1024], b[512];
    const char *rest = NULL;
    if (sscanf(step, "%15s %1023s", verb, a) != 2) {
        report(r, REPORT_SETUP, "bad step %s", step);
        return;
    }
    rest = strchr(strchr(step, ' ') + 1, ' ');
    if (strcmp(verb, "POST") == 0 || strcmp(verb, "ADMIN") == 0) {
        const char *body = strcmp(verb, "POST") == 0 && rest ? rest + 1 : NULL;
        harness_resp got;
        harness_request(r->h, "POST", a, body ? "application/json" : NULL, body,
                        body ? strlen(body) : 0, NULL, &got);
        if (got.status < 200 || got.status > 299)
            report(r, REPORT_SETUP, "%s %s answered %ld: %.300s", verb, a, got.status, got.body);
        harness_resp_fini(&got);
    } else if (strcmp(verb, "BIND") == 0) {
        char path[1024];
        if (sscanf(step, "BIND %1023s %1023s %511s", a, path, b) != 3) {
            report(r, REPORT_SETUP, "bad step %s", step);
            return;
        }
        long status;
        json_object *o = harness_get_json(r->h, path, &status);
        const char *v = jx_str(o, b);
        if (v == NULL || jm_bind(r->binds, a, v) != 0)
            report(r, REPORT_SETUP, "BIND %s: GET %s answered %ld without a usable %s", a, path,
                   status, b);
        json_object_put(o);
    } else if (strcmp(verb, "WAIT") == 0) {
        if (rest == NULL || sscanf(rest + 1, "%511s", b) != 1) {
            report(r, REPORT_SETUP, "bad step %s", step);
            return;
        }
        if (harness_poll(r->h, a, bind_pred, b, POLL_TIMEOUT_MS, 100, NULL) != 0)
            report(r, REPORT_SETUP, "WAIT: %s never showed %s within %d ms", a, b, POLL_TIMEOUT_MS);
    } else if (strcmp(verb, "ENDWATCH") == 0) {
        int idx = atoi(a);
        if (idx >= 0 && idx < MAX_EXCHANGES) finish_watch(r, idx);
    } else {
        report(r, REPORT_SETUP, "unknown step %s", step);
    }
}

/* Namespaces the requests use, minus those the file creates or expects to be missing. */
static void
create_namespaces(replay *r)
{
    char done[32][128];
    int ndone = 0;
    size_t n = json_object_array_length(r->exchanges);
    for (size_t i = 0; i < n; i++) {
        json_object *ex = json_object_array_get_idx(r->exchanges, i);
        const char *path = jx_str_or(ex, "request.path", "");
        const char *p = strstr(path, "/namespaces/");
        if (p == NULL) continue;
        char ns[128];
        snprintf(ns, sizeof ns, "%.*s", (int)strcspn(p + 12, "/?"), p + 12);
        int seen = 0;
        for (int k = 0; k < ndone; k++)
            seen |= strcmp(done[k], ns) == 0;
        if (seen || ndone == 32) continue;
        snprintf(done[ndone++], sizeof done[0], "%s", ns);
        int skip_it = 0;
        for (size_t j = 0; j < n; j++) {
            json_object *e2 = json_object_array_get_idx(r->exchanges, j);
            if (strcmp(jx_str_or(e2, "request.method", ""), "POST") == 0 &&
                strcmp(jx_str_or(e2, "request.path", ""), "/api/v1/namespaces") == 0 &&
                strcmp(jx_str_or(e2, "request.body.metadata.name", ""), ns) == 0)
                skip_it = 1;
        }
        /* The first exchange touching it expects "namespaces ... not found". */
        if (jx_int(ex, "response.status", 0) == 404 &&
            strcmp(jx_str_or(ex, "response.body.details.kind", ""), "namespaces") == 0)
            skip_it = 1;
        if (skip_it) continue;
        char body[512];
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
                 ns);
        harness_resp got;
        harness_request(r->h, "POST", "/api/v1/namespaces", "application/json", body, strlen(body),
                        NULL, &got);
        if (got.status != 201)
            report(r, REPORT_SETUP, "creating namespace %s answered %ld: %.300s", ns, got.status,
                   got.body);
        harness_resp_fini(&got);
    }
}

static json_object *
load_file(const char *file)
{
    const char *src = getenv("ASC_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/golden/%s", src ? src : ".", file);
    json_object *doc = json_object_from_file(path);
    if (doc == NULL) fail_msg("cannot read %s: %s", path, json_util_get_last_err());
    return doc;
}

static void
test_golden_file(void **state)
{
    case_state *cs = *state;
    const golden_case *gc = cs->gc;
    char bin[4096];
    cs->result = R_SKIP;
    if (getenv("TEST_KUBECONFIG")) {
        printf("golden %s: SKIP (TEST_KUBECONFIG: the replay needs a fresh kubesim)\n", gc->file);
        skip();
    }
    const char *inproc = getenv("GOLDEN_INPROCESS");
    int use_inproc = inproc && strcmp(inproc, "1") == 0;
#ifndef ASC_GOLDEN_HAVE_INPROC
    if (use_inproc) {
        printf("golden %s: SKIP (GOLDEN_INPROCESS=1 but built without asc_sim)\n", gc->file);
        skip();
    }
#endif
    if (!use_inproc && access(harness_bin_path("kubesim", bin, sizeof bin), X_OK) != 0) {
        printf("golden %s: SKIP (%s does not exist yet)\n", gc->file, bin);
        skip();
    }
    int64_t t0 = time_mono_ms();
    replay r = {.cs = cs};
    r.doc = load_file(gc->file);
    r.exchanges = jx_arr(r.doc, "exchanges");
    assert_non_null(r.exchanges);
    int nex = (int)json_object_array_length(r.exchanges);
    assert_true(nex <= MAX_EXCHANGES);
    r.h = harness_new();
    r.binds = jm_binds_new();
    assert_non_null(r.h);
    assert_non_null(r.binds);
    harness_set_user_agent(r.h, "kapi-conformance/1.0");
#ifdef ASC_GOLDEN_HAVE_INPROC
    if (use_inproc) assert_int_equal(harness_use_inprocess_sim(r.h), 0);
#endif
    const char *args[16];
    size_t na = 0;
    args[na++] = "--no-kubelet";
    for (size_t i = 0; gc->sim_args && gc->sim_args[i] && na < 15; i++)
        args[na++] = gc->sim_args[i];
    args[na] = NULL;
    cs->result = R_FAIL;
    if (harness_start_sim(r.h, args) != 0) {
        report(&r, REPORT_SETUP, "kubesim did not start");
    } else {
        create_namespaces(&r);
        for (int i = 0; i < nex; i++) {
            for (const golden_step *s = gc->steps; s && s->step; s++)
                if (s->before == i) run_step(&r, s->step);
            run_exchange(&r, i);
        }
        for (int i = 0; i < nex; i++)
            finish_watch(&r, i);
        int code = -1;
        harness_stop_sim(r.h, &code);
        if (code != 0)
            report(&r, REPORT_END, "kubesim exited with status %d after SIGTERM (its log follows)",
                   code);
    }
    cs->ms = time_mono_ms() - t0;
    if (cs->ndiffs == 0) {
        cs->result = R_PASS;
        harness_pass(r.h);
    }
    jm_binds_free(r.binds);
    harness_free(r.h);
    json_object_put(r.doc);
    if (cs->ndiffs) fail_msg("%s: %d difference(s); first: %s", gc->file, cs->ndiffs, cs->first);
}

/* Every file in tests/golden/ must have a row, so none is silently left out. */
static void
test_all_files_listed(void **state)
{
    (void)state;
    const char *src = getenv("ASC_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/golden", src ? src : ".");
    DIR *d = opendir(path);
    if (d == NULL) fail_msg("cannot open %s", path);
    struct dirent *e;
    int missing = 0, files = 0;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
        files++;
        int found = 0;
        for (int i = 0; i < NCASES; i++)
            found |= strcmp(golden_cases[i].file, e->d_name) == 0;
        if (!found) {
            printf("golden: %s has no row in golden_cases\n", e->d_name);
            missing++;
        }
    }
    closedir(d);
    assert_int_equal(missing, 0);
    assert_int_equal(files, NCASES);
}

static int
selected(const char *file)
{
    const char *only = getenv("GOLDEN_ONLY");
    if (only == NULL || *only == '\0') return 1;
    size_t fl = strlen(file) - 5; /* without .json */
    for (const char *p = only; *p;) {
        size_t l = strcspn(p, ",");
        size_t cmp = l >= 5 && strncmp(p + l - 5, ".json", 5) == 0 ? l - 5 : l;
        if (cmp == fl && strncmp(p, file, fl) == 0) return 1;
        p += l + (p[l] == ',');
    }
    return 0;
}

int
main(void)
{
    struct CMUnitTest tests[NCASES + 1];
    size_t n = 0;
    if (getenv("GOLDEN_ONLY") == NULL)
        tests[n++] =
            (struct CMUnitTest){.name = "all_files_listed", .test_func = test_all_files_listed};
    for (int i = 0; i < NCASES; i++) {
        states[i].gc = &golden_cases[i];
        if (!selected(golden_cases[i].file)) continue;
        tests[n++] = (struct CMUnitTest){.name = golden_cases[i].file,
                                         .test_func = test_golden_file,
                                         .initial_state = &states[i]};
    }
    int rc = _cmocka_run_group_tests("golden_replay", tests, n, NULL, NULL);
    int pass = 0, fail = 0, skipped = 0;
    printf("\n==== golden replay summary ====\n");
    for (int i = 0; i < NCASES; i++) {
        const case_state *cs = &states[i];
        switch (cs->result) {
        case R_PASS:
            pass++;
            printf("PASS %-34s %5lld ms\n", cs->gc->file, (long long)cs->ms);
            break;
        case R_FAIL:
            fail++;
            printf("FAIL %-34s %5lld ms  %d diff(s); first: %s\n", cs->gc->file, (long long)cs->ms,
                   cs->ndiffs, cs->first);
            break;
        case R_SKIP:
            skipped++;
            break;
        default:
            break;
        }
    }
    printf("==== %d passed, %d failed, %d skipped ====\n", pass, fail, skipped);
    return rc;
}
