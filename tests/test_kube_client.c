/* test_kube_client.c - the request layer against a real local HTTP server
 * (tests/support/testsrv, libmicrohttpd), never a mock of libcurl:
 * verb paths and query encoding, Status errors, retries (500 on GET but not
 * POST, 429 with Retry-After), timeouts, transport errors, cancellation,
 * the QPS limiter, and watch streams (events delivered as they arrive, 410,
 * truncation, malformed lines, stopping from a callback). */
#include "kube/kube.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"
#include "tests/support/testsrv.h"

#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Set while teardown frees a client: a case that failed half-way leaves
 * requests whose udata lived on its (gone) stack; their ERR_CANCELED
 * callbacks must not touch it. */
static int g_teardown;

/* ---- fixture ------------------------------------------------------------- */

typedef struct fx {
    struct ev_loop *loop;
    testsrv *srv;
    kube_client *c;
    kube_config cfg;
    const void *row; /* the table row this case runs (cmocka initial_state) */
} fx;

typedef struct done {
    int called;
    int err;
    long status;
    int attempts;
    int retry_after_s;
    long http_version;
    char reason[64];
    char message[1024];
    char warning[256];
    char *body; /* compact JSON of the parsed body, or NULL */
    int64_t t_ms;
} done;

static void
on_done(const kube_result *res, void *udata)
{
    if (g_teardown) return;
    done *d = udata;
    d->called++;
    d->err = res->err;
    d->status = res->http_status;
    d->attempts = res->attempts;
    d->http_version = res->http_version;
    d->retry_after_s = res->retry_after_s;
    assert_non_null(res->message);
    assert_non_null(res->reason);
    snprintf(d->reason, sizeof(d->reason), "%s", res->reason);
    snprintf(d->message, sizeof(d->message), "%s", res->message);
    snprintf(d->warning, sizeof(d->warning), "%s", res->warning ? res->warning : "");
    free(d->body);
    d->body = res->body ? strdup(json_object_to_json_string_ext(res->body, JSON_C_TO_STRING_PLAIN))
                        : NULL;
    d->t_ms = time_mono_ms();
}

static void
guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    *(int *)w->data = 1;
    ev_break(loop, EVBREAK_ALL);
}

/* Run the loop until *flag >= want or timeout_ms passes (then fail). */
static void
run_until(fx *f, const int *flag, int want, int timeout_ms)
{
    int timed_out = 0;
    ev_timer guard;
    ev_timer_init(&guard, guard_cb, timeout_ms / 1000.0, 0.);
    guard.data = &timed_out;
    ev_timer_start(f->loop, &guard);
    while (*flag < want && !timed_out)
        ev_run(f->loop, EVRUN_ONCE);
    ev_timer_stop(f->loop, &guard);
    if (timed_out) fail_msg("timed out after %d ms waiting (%d of %d)", timeout_ms, *flag, want);
}

/* Run the loop for ms milliseconds. */
static void
run_for(fx *f, int ms)
{
    int flag = 0;
    ev_timer guard;
    ev_timer_init(&guard, guard_cb, ms / 1000.0, 0.);
    guard.data = &flag;
    ev_timer_start(f->loop, &guard);
    while (!flag)
        ev_run(f->loop, EVRUN_ONCE);
}

static void
client_with(fx *f, const char *server, const kube_client_opts *o)
{
    char err[256];
    kube_client_free(f->c);
    free(f->cfg.server);
    f->cfg.server = strdup(server);
    f->c = kube_client_new(f->loop, &f->cfg, o, err, sizeof(err));
    assert_non_null(f->c);
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->row = *state;
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->srv = testsrv_start();
    if (f->srv == NULL) return -1;
    f->cfg.token = strdup("s3cret");
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.timeout_ms = 5000;
    client_with(f, testsrv_url(f->srv), &o);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    g_teardown = 1;
    kube_client_free(f->c);
    g_teardown = 0;
    /* nothing of the client may be left on the loop: no watcher pending or active */
    assert_int_equal(ev_pending_count(f->loop), 0);
    assert_int_equal(ev_run(f->loop, EVRUN_NOWAIT), 0); /* 0: no active watcher left */
    testsrv_stop(f->srv);
    kube_config_fini(&f->cfg);
    ev_loop_destroy(f->loop);
    free(f);
    return 0;
}

static const char *STATUS_404 =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"sandboxes.agents.x-k8s.io \\\"nope\\\" not found\",\"reason\":\"NotFound\","
    "\"details\":{\"name\":\"nope\",\"group\":\"agents.x-k8s.io\",\"kind\":\"sandboxes\"},"
    "\"code\":404}";

/* ---- verbs: method, path, query, content type, body ---------------------- */

enum op { OP_GET, OP_LIST, OP_CREATE, OP_UPDATE, OP_PATCH, OP_DELETE };

typedef struct verb_row {
    const char *name;
    enum op op;
    const kube_resource *res;
    const char *ns, *obj, *sub, *body;
    enum kube_patch_type ptype;
    kube_list_opts list;
    kube_delete_opts del;
    int use_del;
    const char *want_method, *want_uri, *want_ctype, *want_body;
} verb_row;

static const verb_row verb_rows[] = {
    {"get_pod",
     OP_GET,
     &KUBE_PODS,
     "ns1",
     "p1",
     NULL,
     NULL,
     0,
     {0},
     {0},
     0,
     "GET",
     "/api/v1/namespaces/ns1/pods/p1",
     NULL,
     ""},
    {"get_sandbox_status",
     OP_GET,
     &KUBE_SANDBOXES,
     "ns1",
     "s1",
     "status",
     NULL,
     0,
     {0},
     {0},
     0,
     "GET",
     "/apis/agents.x-k8s.io/v1beta1/namespaces/ns1/sandboxes/s1/status",
     NULL,
     ""},
    {"get_node_cluster_scoped",
     OP_GET,
     &KUBE_NODES,
     "ignored",
     "n1",
     NULL,
     NULL,
     0,
     {0},
     {0},
     0,
     "GET",
     "/api/v1/nodes/n1",
     NULL,
     ""},
    {"list_selectors",
     OP_LIST,
     &KUBE_PODS,
     "ns1",
     NULL,
     NULL,
     NULL,
     0,
     {.label_selector = "app in (a,b),tier!=db,agents.x-k8s.io/pool",
      .field_selector = "status.phase=Running",
      .resource_version = "0",
      .resource_version_match = "NotOlderThan",
      .limit = 50,
      .continue_token = "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ=="},
     {0},
     0,
     "GET",
     "/api/v1/namespaces/ns1/pods?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb%2Cagents."
     "x-k8s.io%2Fpool&fieldSelector=status.phase%3DRunning&resourceVersion=0&"
     "resourceVersionMatch=NotOlderThan&limit=50&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ%3D%3D",
     NULL,
     ""},
    {"list_all_namespaces",
     OP_LIST,
     &KUBE_SANDBOXCLAIMS,
     NULL,
     NULL,
     NULL,
     NULL,
     0,
     {0},
     {0},
     0,
     "GET",
     "/apis/extensions.agents.x-k8s.io/v1beta1/sandboxclaims",
     NULL,
     ""},
    {"create_claim",
     OP_CREATE,
     &KUBE_SANDBOXCLAIMS,
     "ns1",
     NULL,
     NULL,
     "{\"kind\":\"SandboxClaim\"}",
     0,
     {0},
     {0},
     0,
     "POST",
     "/apis/extensions.agents.x-k8s.io/v1beta1/namespaces/ns1/sandboxclaims",
     "application/json",
     "{\"kind\":\"SandboxClaim\"}"},
    {"update",
     OP_UPDATE,
     &KUBE_SANDBOXES,
     "ns1",
     "s1",
     NULL,
     "{\"a\":1}",
     0,
     {0},
     {0},
     0,
     "PUT",
     "/apis/agents.x-k8s.io/v1beta1/namespaces/ns1/sandboxes/s1",
     "application/json",
     "{\"a\":1}"},
    {"update_status",
     OP_UPDATE,
     &KUBE_SANDBOXES,
     "ns1",
     "s1",
     "status",
     "{\"b\":2}",
     0,
     {0},
     {0},
     0,
     "PUT",
     "/apis/agents.x-k8s.io/v1beta1/namespaces/ns1/sandboxes/s1/status",
     "application/json",
     "{\"b\":2}"},
    {"merge_patch",
     OP_PATCH,
     &KUBE_SANDBOXES,
     "ns1",
     "s1",
     NULL,
     "{\"metadata\":{}}",
     KUBE_PATCH_MERGE,
     {0},
     {0},
     0,
     "PATCH",
     "/apis/agents.x-k8s.io/v1beta1/namespaces/ns1/sandboxes/s1",
     "application/merge-patch+json",
     "{\"metadata\":{}}"},
    {"json_patch",
     OP_PATCH,
     &KUBE_PODS,
     "ns1",
     "p1",
     NULL,
     "[{\"op\":\"remove\",\"path\":\"/a\"}]",
     KUBE_PATCH_JSON,
     {0},
     {0},
     0,
     "PATCH",
     "/api/v1/namespaces/ns1/pods/p1",
     "application/json-patch+json",
     "[{\"op\":\"remove\",\"path\":\"/a\"}]"},
    {"strategic_patch",
     OP_PATCH,
     &KUBE_PODS,
     "ns1",
     "p1",
     NULL,
     "{}",
     KUBE_PATCH_STRATEGIC,
     {0},
     {0},
     0,
     "PATCH",
     "/api/v1/namespaces/ns1/pods/p1",
     "application/strategic-merge-patch+json",
     "{}"},
    {"scale_patch",
     OP_PATCH,
     &KUBE_SANDBOXWARMPOOLS,
     "ns1",
     "w",
     "scale",
     "{\"spec\":{\"replicas\":3}}",
     KUBE_PATCH_MERGE,
     {0},
     {0},
     0,
     "PATCH",
     "/apis/extensions.agents.x-k8s.io/v1beta1/namespaces/ns1/sandboxwarmpools/w/scale",
     "application/merge-patch+json",
     "{\"spec\":{\"replicas\":3}}"},
    {"delete_plain",
     OP_DELETE,
     &KUBE_LEASES,
     "ns1",
     "l1",
     NULL,
     NULL,
     0,
     {0},
     {0},
     0,
     "DELETE",
     "/apis/coordination.k8s.io/v1/namespaces/ns1/leases/l1",
     NULL,
     ""},
    {"delete_options",
     OP_DELETE,
     &KUBE_PODS,
     "ns1",
     "p1",
     NULL,
     NULL,
     0,
     {0},
     {.precondition_uid = "u-1",
      .precondition_rv = "42",
      .propagation_policy = "Foreground",
      .grace_period_seconds = 0},
     1,
     "DELETE",
     "/api/v1/namespaces/ns1/pods/p1",
     "application/json",
     "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"preconditions\":{\"uid\":\"u-1\","
     "\"resourceVersion\":\"42\"},\"propagationPolicy\":\"Foreground\",\"gracePeriodSeconds\":0}"},
};

static void
test_verb(void **state)
{
    fx *f = *state;
    const verb_row *r = f->row;
    testsrv_add(f->srv, &(testsrv_rule){.body = "{\"kind\":\"Thing\"}"});
    done d = {0};
    int rc = -1;
    switch (r->op) {
    case OP_GET:
        rc = kube_get(f->c, r->res, r->ns, r->obj, r->sub, on_done, &d);
        break;
    case OP_LIST:
        rc = kube_list(f->c, r->res, r->ns, &r->list, on_done, &d);
        break;
    case OP_CREATE:
        rc = kube_create(f->c, r->res, r->ns, r->body, on_done, &d);
        break;
    case OP_UPDATE:
        rc = kube_update(f->c, r->res, r->ns, r->obj, r->sub, r->body, on_done, &d);
        break;
    case OP_PATCH:
        rc = kube_patch(f->c, r->res, r->ns, r->obj, r->sub, r->ptype, r->body, on_done, &d);
        break;
    case OP_DELETE:
        rc = kube_delete(f->c, r->res, r->ns, r->obj, r->use_del ? &r->del : NULL, on_done, &d);
        break;
    }
    assert_int_equal(rc, 0);
    run_until(f, &d.called, 1, 5000);
    assert_int_equal(d.called, 1);
    if (d.err != 0) fail_msg("err %s: %s", err_str(d.err), d.message);
    assert_int_equal(d.status, 200);
    assert_int_equal(d.http_version, 11); /* testsrv speaks HTTP/1.1 only */
    assert_string_equal(d.body, "{\"kind\":\"Thing\"}");
    assert_int_equal(testsrv_count(f->srv), 1);
    const testsrv_req *q = testsrv_get(f->srv, 0);
    assert_string_equal(q->method, r->want_method);
    assert_string_equal(q->uri, r->want_uri);
    assert_string_equal(q->body, r->want_body);
    const char *ct = testsrv_header(q, "Content-Type");
    if (r->want_ctype)
        assert_string_equal(ct ? ct : "(none)", r->want_ctype);
    else
        assert_null(ct);
    assert_string_equal(testsrv_header(q, "User-Agent"), "agent-sandbox-controller/" ASC_VERSION);
    assert_string_equal(testsrv_header(q, "Authorization"), "Bearer s3cret");
    assert_string_equal(testsrv_header(q, "Accept"), "application/json");
    if (r->list.label_selector) /* the server decodes exactly what was meant */
        assert_string_equal(testsrv_arg(q, "labelSelector"), r->list.label_selector);
    free(d.body);
}

/* invalid names never reach the wire, and the callback never runs */
static void
test_invalid_args(void **state)
{
    fx *f = *state;
    done d = {0};
    assert_int_equal(kube_get(f->c, &KUBE_PODS, "ns", "a/b", NULL, on_done, &d), ERR_INVALID);
    assert_int_equal(kube_get(f->c, &KUBE_PODS, "ns", "..", NULL, on_done, &d), ERR_INVALID);
    assert_int_equal(kube_get(f->c, &KUBE_PODS, "n s", "x", NULL, on_done, &d), ERR_INVALID);
    assert_int_equal(kube_get(f->c, &KUBE_PODS, "ns", NULL, NULL, on_done, &d), ERR_INVALID);
    assert_int_equal(kube_create(f->c, &KUBE_PODS, "ns", NULL, on_done, &d), ERR_INVALID);
    assert_int_equal(kube_request(f->c, "GET", "no-slash", NULL, NULL, 0, 1, on_done, &d),
                     ERR_INVALID);
    assert_null(kube_watch_start(f->c, &KUBE_PODS, "bad/ns", NULL, NULL, NULL, NULL));
    run_for(f, 50);
    assert_int_equal(d.called, 0);
    assert_int_equal(testsrv_count(f->srv), 0);
    char buf[16];
    assert_int_equal(kube_path(&KUBE_SANDBOXWARMPOOLS, "ns", "n", NULL, buf, sizeof(buf)),
                     ERR_TOOLARGE);
}

/* ---- Status errors --------------------------------------------------------- */

typedef struct status_row {
    const char *name;
    int status;
    const char *body;
    const char *ctype;
    int want_err;
    const char *want_reason;
    const char *want_message; /* substring */
} status_row;

static const status_row status_rows[] = {
    {"not_found", 404, NULL, NULL, ERR_NOTFOUND, "NotFound",
     "sandboxes.agents.x-k8s.io \"nope\" not found"},
    {"already_exists", 409,
     "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"sandboxes.agents.x-k8s.io "
     "\\\"a\\\" already exists\",\"reason\":\"AlreadyExists\",\"code\":409}",
     NULL, ERR_EXISTS, "AlreadyExists", "\"a\" already exists"},
    {"conflict", 409,
     "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"Operation cannot be fulfilled "
     "on sandboxes.agents.x-k8s.io \\\"a\\\": the object has been modified; please apply your "
     "changes to the latest version and try again\",\"reason\":\"Conflict\",\"code\":409}",
     NULL, ERR_CONFLICT, "Conflict", "the object has been modified"},
    {"invalid", 422,
     "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"Sandbox.agents.x-k8s.io "
     "\\\"A\\\" is invalid\",\"reason\":\"Invalid\",\"code\":422}",
     NULL, ERR_UNPROCESSABLE, "Invalid", "is invalid"},
    {"forbidden", 403,
     "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"pods is forbidden: User "
     "\\\"x\\\" cannot list\",\"reason\":\"Forbidden\",\"code\":403}",
     NULL, ERR_FORBIDDEN, "Forbidden", "cannot list"},
    {"plain_text_404", 404, "404 page not found\n", "text/plain", ERR_NOTFOUND, "",
     "HTTP 404: 404 page not found"},
    {"status_without_message", 400, "{\"kind\":\"Status\",\"reason\":\"BadRequest\"}", NULL,
     ERR_BADREQUEST, "BadRequest", "HTTP 400 BadRequest"},
    {"bad_json_200", 200, "{\"kind\":", NULL, ERR_PARSE, "", "response is not valid JSON"},
};

static void
test_status(void **state)
{
    fx *f = *state;
    const status_row *r = f->row;
    testsrv_add(f->srv, &(testsrv_rule){.status = r->status,
                                        .body = r->body ? r->body : STATUS_404,
                                        .content_type = r->ctype});
    done d = {0};
    assert_int_equal(kube_get(f->c, &KUBE_SANDBOXES, "ns", "nope", NULL, on_done, &d), 0);
    run_until(f, &d.called, 1, 5000);
    assert_int_equal(d.err, r->want_err);
    assert_int_equal(d.status, r->status);
    assert_string_equal(d.reason, r->want_reason);
    if (strstr(d.message, r->want_message) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", d.message, r->want_message);
    assert_int_equal(d.attempts, 1); /* 4xx is never retried */
    free(d.body);
}

/* ---- retries ----------------------------------------------------------------- */

static void
test_retry_500_get_not_post(void **state)
{
    fx *f = *state;
    testsrv_add(f->srv, &(testsrv_rule){.method = "GET",
                                        .status = 500,
                                        .times = 2,
                                        .body = "{\"kind\":\"Status\",\"code\":500}"});
    testsrv_add(f->srv, &(testsrv_rule){.method = "POST",
                                        .status = 500,
                                        .body = "{\"kind\":\"Status\",\"message\":\"boom\"}"});
    testsrv_add(f->srv, &(testsrv_rule){.body = "{\"ok\":true}"});
    done g = {0}, p = {0};
    assert_int_equal(kube_get(f->c, &KUBE_PODS, "ns", "p", NULL, on_done, &g), 0);
    run_until(f, &g.called, 1, 10000);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.attempts, 3);
    assert_int_equal(testsrv_count(f->srv), 3);
    assert_int_equal(kube_create(f->c, &KUBE_PODS, "ns", "{}", on_done, &p), 0);
    run_until(f, &p.called, 1, 10000);
    assert_int_equal(p.err, ERR_UNAVAILABLE);
    assert_int_equal(p.attempts, 1);
    assert_string_equal(p.message, "boom");
    run_for(f, 300); /* and no late retry */
    assert_int_equal(testsrv_count(f->srv), 4);
    kube_stats st;
    kube_client_stats(f->c, &st);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.errors, 1);
    free(g.body);
    free(p.body);
}

static void
test_patch_retry_only_conditional(void **state)
{
    fx *f = *state;
    testsrv_add(f->srv, &(testsrv_rule){.status = 503, .times = 1});
    testsrv_add(f->srv, &(testsrv_rule){.body = "{}", .times = 1});
    testsrv_add(f->srv, &(testsrv_rule){.status = 503});
    done a = {0}, b = {0};
    /* resourceVersion precondition: safe to repeat */
    kube_patch(f->c, &KUBE_SANDBOXES, "ns", "s", NULL, KUBE_PATCH_MERGE,
               "{\"metadata\":{\"resourceVersion\":\"7\"},\"spec\":{}}", on_done, &a);
    run_until(f, &a.called, 1, 10000);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.attempts, 2);
    /* unconditional: not repeated */
    kube_patch(f->c, &KUBE_SANDBOXES, "ns", "s", NULL, KUBE_PATCH_JSON,
               "[{\"op\":\"add\",\"path\":\"/x\",\"value\":1}]", on_done, &b);
    run_until(f, &b.called, 1, 10000);
    assert_int_equal(b.err, ERR_UNAVAILABLE);
    assert_int_equal(b.attempts, 1);
    free(a.body);
    free(b.body);
}

static void
test_429_retry_after(void **state)
{
    fx *f = *state;
    testsrv_add(f->srv,
                &(testsrv_rule){.status = 429,
                                .times = 1,
                                .headers = "Retry-After: 1",
                                .body = "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\"}"});
    testsrv_add(f->srv, &(testsrv_rule){.status = 201, .body = "{\"made\":1}"});
    done d = {0};
    int64_t t0 = time_mono_ms();
    /* a POST too: the server did not act on a 429 */
    assert_int_equal(kube_create(f->c, &KUBE_SANDBOXCLAIMS, "ns", "{}", on_done, &d), 0);
    run_until(f, &d.called, 1, 10000);
    int64_t elapsed = d.t_ms - t0;
    assert_int_equal(d.err, 0);
    assert_int_equal(d.status, 201);
    assert_int_equal(d.attempts, 2);
    assert_int_equal(testsrv_count(f->srv), 2);
    int64_t gap = testsrv_get(f->srv, 1)->t_ms - testsrv_get(f->srv, 0)->t_ms;
    if (elapsed < 1000 || gap < 1000)
        fail_msg("Retry-After: 1 not honoured: elapsed %lld ms, server gap %lld ms",
                 (long long)elapsed, (long long)gap);
    assert_true(elapsed < 3000);
    free(d.body);
}

static void
test_429_exhausted(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.max_retries = 2;
    client_with(f, testsrv_url(f->srv), &o);
    testsrv_add(f->srv, &(testsrv_rule){.status = 429,
                                        .headers = "Retry-After: 0\nWarning: 299 - \"slow down\"",
                                        .body = "{\"kind\":\"Status\",\"message\":\"too many "
                                                "requests\",\"reason\":\"TooManyRequests\"}"});
    done d = {0};
    kube_list(f->c, &KUBE_PODS, NULL, NULL, on_done, &d);
    run_until(f, &d.called, 1, 10000);
    assert_int_equal(d.err, ERR_TOOMANY);
    assert_int_equal(d.attempts, 3);
    assert_string_equal(d.reason, "TooManyRequests");
    assert_string_equal(d.warning, "299 - \"slow down\"");
    assert_int_equal(testsrv_count(f->srv), 3);
    free(d.body);
}

/* ---- timeouts, transport errors, cancellation ------------------------------- */

static void
test_timeout(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.timeout_ms = 300;
    client_with(f, testsrv_url(f->srv), &o);
    testsrv_add(f->srv, &(testsrv_rule){.delay_ms = 3000, .body = "{}"});
    done d = {0};
    int64_t t0 = time_mono_ms();
    kube_get(f->c, &KUBE_PODS, "ns", "slow", NULL, on_done, &d);
    run_until(f, &d.called, 1, 5000);
    int64_t elapsed = d.t_ms - t0;
    assert_int_equal(d.err, ERR_TIMEOUT);
    assert_int_equal(d.status, 0);
    assert_int_equal(d.attempts, 1); /* a timeout is not retried */
    assert_non_null(strstr(d.message, "timed out after 300 ms"));
    assert_non_null(strstr(d.message, testsrv_url(f->srv)));
    /* ended by our deadline, well before the server's 3 s (slack for a loaded CI box) */
    assert_true(elapsed >= 290 && elapsed < 2500);
    free(d.body);
}

static int
closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd); /* nobody listens there now */
    return ntohs(sa.sin_port);
}

static void
test_connection_refused(void **state)
{
    fx *f = *state;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.max_retries = 1;
    client_with(f, url, &o);
    done d = {0};
    kube_create(f->c, &KUBE_PODS, "ns", "{}", on_done, &d);
    run_until(f, &d.called, 1, 5000);
    assert_int_equal(d.err, ERR_IO);
    assert_int_equal(d.attempts, 2); /* retried: nothing was sent */
    assert_non_null(strstr(d.message, "cannot connect to the server"));
    assert_non_null(strstr(d.message, url));
    assert_null(strchr(d.message, '\n'));
    free(d.body);
}

static void
test_unresolvable(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.max_retries = 0;
    client_with(f, "https://no-such-host.invalid:6443", &o);
    done d = {0};
    kube_get(f->c, &KUBE_PODS, "ns", "p", NULL, on_done, &d);
    run_until(f, &d.called, 1, 10000);
    assert_int_equal(d.err, ERR_IO);
    assert_non_null(strstr(d.message, "no-such-host.invalid"));
    free(d.body);
}

typedef struct cancel_ctx {
    int done_calls, end_calls, late_rc;
    kube_client *c;
} cancel_ctx;

static void
cancel_done(const kube_result *res, void *udata)
{
    if (g_teardown) return;
    cancel_ctx *x = udata;
    assert_int_equal(res->err, ERR_CANCELED);
    x->done_calls++;
    /* the client is closing: nothing new is accepted */
    x->late_rc = kube_get(x->c, &KUBE_PODS, "ns", "late", NULL, cancel_done, x);
}

static void
cancel_event(enum kube_event_type type, json_object *obj, void *udata)
{
    if (g_teardown) return;
    (void)type;
    (void)obj;
    (void)udata;
}

static void
cancel_end(int err, long status, const char *message, void *udata)
{
    if (g_teardown) return;
    (void)status;
    cancel_ctx *x = udata;
    assert_int_equal(err, ERR_CANCELED);
    assert_non_null(message);
    x->end_calls++;
}

static void
test_cancel_on_free(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.qps = 1; /* the third request waits in the limiter queue */
    o.burst = 2;
    client_with(f, testsrv_url(f->srv), &o);
    testsrv_add(f->srv, &(testsrv_rule){.method = "GET",
                                        .path = "/api/v1/namespaces/ns/pods",
                                        .chunks = (testsrv_chunk[]){{.hold = 1, .data = "\n"}},
                                        .nchunks = 1});
    testsrv_add(f->srv, &(testsrv_rule){.delay_ms = 3000, .body = "{}"});
    cancel_ctx x = {.c = f->c};
    assert_non_null(kube_watch_start(f->c, &KUBE_PODS, "ns", NULL, cancel_event, cancel_end, &x));
    kube_get(f->c, &KUBE_PODS, "ns", "a", NULL, cancel_done, &x);
    kube_get(f->c, &KUBE_PODS, "ns", "b", NULL, cancel_done, &x);
    run_for(f, 200);
    assert_int_equal(x.done_calls + x.end_calls, 0);
    int64_t t0 = time_mono_ms();
    kube_client_free(f->c);
    f->c = NULL;
    assert_int_equal(x.done_calls, 2);
    assert_int_equal(x.end_calls, 1);
    assert_int_equal(x.late_rc, ERR_CANCELED);
    assert_true(time_mono_ms() - t0 < 1000); /* nothing waited for the server */
}

/* ---- QPS limiter --------------------------------------------------------------- */

static void
test_qps_limit(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.qps = 20;
    o.burst = 2;
    client_with(f, testsrv_url(f->srv), &o);
    testsrv_add(f->srv, &(testsrv_rule){.body = "{}"});
    done d[8] = {{0}};
    int count = 0;
    for (int i = 0; i < 8; i++)
        kube_get(f->c, &KUBE_PODS, "ns", "p", NULL, on_done, &d[i]);
    for (int i = 0; i < 8; i++) {
        run_until(f, &d[i].called, 1, 5000);
        count++;
    }
    assert_int_equal(count, 8);
    /* burst 2 go at once, then one every 50 ms: the 8th >= 6 * 50 ms after the first */
    int64_t span = testsrv_get(f->srv, 7)->t_ms - testsrv_get(f->srv, 0)->t_ms;
    if (span < 270 || span > 1500)
        fail_msg("8 requests at 20 QPS burst 2 took %lld ms", (long long)span);
    for (int i = 0; i < 8; i++)
        free(d[i].body);
}

/* HTTP/1.1 cannot multiplex: concurrent requests get connections of their
 * own instead of queueing behind each other (or behind an open watch). */
static void
test_http11_concurrency(void **state)
{
    fx *f = *state;
    testsrv_chunk hold[] = {{.hold = 1, .data = "\n"}};
    testsrv_add(
        f->srv,
        &(testsrv_rule){.path = "/api/v1/namespaces/ns/services", .chunks = hold, .nchunks = 1});
    testsrv_add(f->srv, &(testsrv_rule){.delay_ms = 400, .body = "{}"});
    enum { N = 16 };
    done d[N] = {{0}};
    cancel_ctx x = {0};
    kube_watch *w =
        kube_watch_start(f->c, &KUBE_SERVICES, "ns", NULL, cancel_event, cancel_end, &x);
    assert_non_null(w);
    int64_t t0 = time_mono_ms();
    for (int i = 0; i < N; i++)
        kube_get(f->c, &KUBE_PODS, "ns", "p", NULL, on_done, &d[i]);
    for (int i = 0; i < N; i++)
        run_until(f, &d[i].called, 1, 5000);
    int64_t elapsed = time_mono_ms() - t0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(d[i].err, 0);
        free(d[i].body);
    }
    kube_stats st;
    kube_client_stats(f->c, &st);
    if (elapsed > 2000) /* one connection at a time would take N * 400 ms */
        fail_msg("%d concurrent 400 ms requests took %lld ms", N, (long long)elapsed);
    assert_true(st.connects >= N); /* the watch's connection is busy too */
    kube_watch_stop(w);
    assert_int_equal(x.end_calls, 1);
}

/* connections = 1 caps the HTTP/1.1 connections: requests take turns. */
static void
test_connection_cap(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.connections = 1;
    client_with(f, testsrv_url(f->srv), &o);
    testsrv_add(f->srv, &(testsrv_rule){.delay_ms = 150, .body = "{}"});
    done d[3] = {{0}};
    int64_t t0 = time_mono_ms();
    for (int i = 0; i < 3; i++)
        kube_get(f->c, &KUBE_PODS, "ns", "p", NULL, on_done, &d[i]);
    for (int i = 0; i < 3; i++)
        run_until(f, &d[i].called, 1, 5000);
    int64_t elapsed = time_mono_ms() - t0;
    kube_stats st;
    kube_client_stats(f->c, &st);
    assert_int_equal(st.connects, 1); /* one connection, kept alive and reused */
    assert_true(elapsed >= 3 * 150 - 10);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(d[i].err, 0);
        free(d[i].body);
    }
}

/* max_active = 2: at most two requests are in libcurl at once, the rest wait
 * in the client's queue without their timeout running (6 requests of 150 ms
 * with a 400 ms timeout all succeed); an open watch takes no slot. */
static void
test_active_cap(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.max_active = 2;
    o.timeout_ms = 400;
    client_with(f, testsrv_url(f->srv), &o);
    testsrv_chunk hold[] = {{.hold = 1, .data = "\n"}};
    testsrv_add(
        f->srv,
        &(testsrv_rule){.path = "/api/v1/namespaces/ns/services", .chunks = hold, .nchunks = 1});
    testsrv_add(f->srv, &(testsrv_rule){.delay_ms = 150, .body = "{}"});
    cancel_ctx x = {0};
    kube_watch *w =
        kube_watch_start(f->c, &KUBE_SERVICES, "ns", NULL, cancel_event, cancel_end, &x);
    assert_non_null(w);
    enum { N = 6 };
    done d[N] = {{0}};
    int64_t t0 = time_mono_ms();
    for (int i = 0; i < N; i++)
        kube_get(f->c, &KUBE_PODS, "ns", "p", NULL, on_done, &d[i]);
    for (int i = 0; i < N; i++)
        run_until(f, &d[i].called, 1, 5000);
    int64_t elapsed = time_mono_ms() - t0;
    for (int i = 0; i < N; i++) {
        if (d[i].err != 0) fail_msg("request %d: %s", i, err_str(d[i].err));
        free(d[i].body);
    }
    if (elapsed < 3 * 150 - 10) /* three rounds of two */
        fail_msg("%d requests of 150 ms, two at a time, took %lld ms", N, (long long)elapsed);
    kube_stats st;
    kube_client_stats(f->c, &st);
    assert_true(st.connects <= 3); /* the watch's and two for requests */
    kube_watch_stop(w);
    assert_int_equal(x.end_calls, 1);
}

/* ---- watches ------------------------------------------------------------------- */

typedef struct wctx {
    fx *f;
    int events, ends;
    enum kube_event_type types[16];
    char names[16][32];
    int end_err;
    long end_status;
    char end_msg[512];
    int release_on_event; /* call testsrv_release from on_event */
    int stop_on_event;    /* stop the watch from inside on_event number N */
    kube_watch *w;
    done after; /* a GET started from on_end */
    int get_from_end;
} wctx;

static void
w_event(enum kube_event_type type, json_object *obj, void *udata)
{
    if (g_teardown) return;
    wctx *x = udata;
    assert_true(x->events < 16);
    x->types[x->events] = type;
    snprintf(x->names[x->events], sizeof(x->names[0]), "%s",
             jx_str_or(obj, "metadata.name", jx_str_or(obj, "reason", "")));
    x->events++;
    if (x->release_on_event) testsrv_release(x->f->srv);
    if (x->stop_on_event == x->events) kube_watch_stop(x->w);
}

static void
w_end(int err, long status, const char *message, void *udata)
{
    if (g_teardown) return;
    wctx *x = udata;
    x->ends++;
    x->end_err = err;
    x->end_status = status;
    snprintf(x->end_msg, sizeof(x->end_msg), "%s", message);
    if (x->get_from_end) /* new work from inside a callback must work */
        assert_int_equal(kube_get(x->f->c, &KUBE_PODS, "ns", "after", NULL, on_done, &x->after), 0);
}

#define EV(t, n)                                                                                   \
    "{\"type\":\"" t "\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"" n "\"}}}\n"

static void
test_watch_events_as_they_arrive(void **state)
{
    fx *f = *state;
    /* Each event after the first is only sent once the previous one was
     * delivered: the test hangs (and fails) if the client buffers. Events
     * are also split across chunks in awkward places. */
    testsrv_chunk ch[] = {
        {.data = EV("ADDED", "a")},
        {.hold = 1, .data = "{\"type\":\"MODIFIED\",\"obj"},
        {.delay_ms = 20, .data = "ect\":{\"metadata\":{\"name\":\"b\"}}}\n{\"type\":\"BOOK"},
        {.delay_ms = 20, .data = "MARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n"},
        {.hold = 1, .data = EV("DELETED", "c")},
    };
    testsrv_add(f->srv, &(testsrv_rule){.chunks = ch, .nchunks = 5});
    wctx x = {.f = f, .release_on_event = 1};
    kube_list_opts lo = {.resource_version = "5",
                         .allow_bookmarks = 1,
                         .timeout_seconds = 300,
                         .label_selector = "app=x"};
    x.w = kube_watch_start(f->c, &KUBE_SANDBOXES, "ns", &lo, w_event, w_end, &x);
    assert_non_null(x.w);
    run_until(f, &x.ends, 1, 5000);
    assert_int_equal(x.events, 4);
    assert_int_equal(x.types[0], KUBE_ADDED);
    assert_int_equal(x.types[1], KUBE_MODIFIED);
    assert_int_equal(x.types[2], KUBE_BOOKMARK);
    assert_int_equal(x.types[3], KUBE_DELETED);
    assert_string_equal(x.names[1], "b");
    assert_int_equal(x.end_err, 0);
    assert_int_equal(x.end_status, 200);
    const testsrv_req *q = testsrv_get(f->srv, 0);
    assert_string_equal(q->uri, "/apis/agents.x-k8s.io/v1beta1/namespaces/ns/sandboxes?watch=1&"
                                "labelSelector=app%3Dx&resourceVersion=5&allowWatchBookmarks=true&"
                                "timeoutSeconds=300");
}

static void
test_watch_410_in_stream(void **state)
{
    fx *f = *state;
    testsrv_chunk ch[] = {
        {.data = EV("ADDED", "a")},
        {.data = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                 "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource "
                 "version: 1 (2)\",\"reason\":\"Expired\",\"code\":410}}\n"},
        {.hold = 1, .data = EV("ADDED", "never")}, /* the server would keep the stream open */
    };
    testsrv_add(f->srv, &(testsrv_rule){.chunks = ch, .nchunks = 3, .times = 1});
    wctx x = {.f = f, .get_from_end = 1};
    testsrv_add(f->srv, &(testsrv_rule){.body = "{}"});
    x.w = kube_watch_start(f->c, &KUBE_PODS, "ns", &(kube_list_opts){.resource_version = "1"},
                           w_event, w_end, &x);
    run_until(f, &x.ends, 1, 5000);
    assert_int_equal(x.end_err, ERR_GONE);
    assert_int_equal(x.end_status, 410);
    assert_non_null(strstr(x.end_msg, "too old resource version"));
    assert_int_equal(x.events, 2);
    assert_int_equal(x.types[1], KUBE_ERROR);
    assert_string_equal(x.names[1], "Expired");
    run_until(f, &x.after.called, 1, 5000); /* the GET started inside on_end ran */
    assert_int_equal(x.after.err, 0);
    free(x.after.body);
}

typedef struct wend_row {
    const char *name;
    int status;
    const char *body;
    const testsrv_chunk *chunks;
    int nchunks;
    int abort_at_end;
    int want_err;
    int want_events;
    const char *want_msg;
} wend_row;

static const testsrv_chunk ch_trunc[] = {{.data = EV("ADDED", "a")},
                                         {.data = "{\"type\":\"MODIFIED\",\"object\":{\"me"}};
static const testsrv_chunk ch_bad[] = {{.data = EV("ADDED", "a")}, {.data = "<html>oops\n"}};
static const testsrv_chunk ch_drop[] = {{.data = EV("ADDED", "a")}};

static const wend_row wend_rows[] = {
    {"http_410", 410,
     "{\"kind\":\"Status\",\"message\":\"too old resource version: 1 (5)\",\"reason\":"
     "\"Expired\",\"code\":410}",
     NULL, 0, 0, ERR_GONE, 0, "HTTP 410: too old resource version"},
    {"http_403", 403, "{\"kind\":\"Status\",\"message\":\"forbidden here\"}", NULL, 0, 0,
     ERR_FORBIDDEN, 0, "HTTP 403: forbidden here"},
    {"truncated_clean_close", 200, NULL, ch_trunc, 2, 0, ERR_PARSE, 1, "truncated"},
    {"malformed_line", 200, NULL, ch_bad, 2, 0, ERR_PARSE, 1, "found '<'"},
    {"dropped_connection", 200, NULL, ch_drop, 1, 1, ERR_IO, 1, "/api/v1/namespaces/ns/pods"},
};

static void
test_watch_end(void **state)
{
    fx *f = *state;
    const wend_row *r = f->row;
    testsrv_add(f->srv, &(testsrv_rule){.status = r->status,
                                        .body = r->body,
                                        .chunks = r->chunks,
                                        .nchunks = r->nchunks,
                                        .abort_at_end = r->abort_at_end});
    wctx x = {.f = f};
    x.w = kube_watch_start(f->c, &KUBE_PODS, "ns", NULL, w_event, w_end, &x);
    run_until(f, &x.ends, 1, 5000);
    assert_int_equal(x.ends, 1);
    if (x.end_err != r->want_err)
        fail_msg("end %s (%s), want %s", err_str(x.end_err), x.end_msg, err_str(r->want_err));
    assert_int_equal(x.events, r->want_events);
    if (strstr(x.end_msg, r->want_msg) == NULL)
        fail_msg("end message \"%s\" lacks \"%s\"", x.end_msg, r->want_msg);
}

static void
test_watch_stop_inside_event(void **state)
{
    fx *f = *state;
    /* three events in one chunk: stopping at the first drops the rest */
    testsrv_chunk ch[] = {{.data = EV("ADDED", "a") EV("ADDED", "b") EV("ADDED", "c")},
                          {.hold = 1, .data = EV("ADDED", "d")}};
    testsrv_add(f->srv,
                &(testsrv_rule){.path = "/api/v1/namespaces/ns/pods", .chunks = ch, .nchunks = 2});
    testsrv_add(f->srv, &(testsrv_rule){.body = "{\"after\":1}"});
    wctx x = {.f = f, .stop_on_event = 1, .get_from_end = 1};
    x.w = kube_watch_start(f->c, &KUBE_PODS, "ns", NULL, w_event, w_end, &x);
    run_until(f, &x.ends, 1, 5000);
    assert_int_equal(x.events, 1);
    assert_int_equal(x.end_err, ERR_CANCELED);
    run_until(f, &x.after.called, 1, 5000);
    assert_int_equal(x.after.err, 0);
    assert_string_equal(x.after.body, "{\"after\":1}");
    run_for(f, 100);
    assert_int_equal(x.ends, 1);
    assert_int_equal(x.events, 1);
    free(x.after.body);
}

static void
test_watch_stop_outside(void **state)
{
    fx *f = *state;
    testsrv_chunk ch[] = {{.data = EV("ADDED", "a")}, {.hold = 1, .data = EV("ADDED", "b")}};
    testsrv_add(f->srv, &(testsrv_rule){.chunks = ch, .nchunks = 2, .times = 1});
    wctx x = {.f = f};
    x.w = kube_watch_start(f->c, &KUBE_PODS, "ns", NULL, w_event, w_end, &x);
    run_until(f, &x.events, 1, 5000);
    kube_watch_stop(x.w);
    assert_int_equal(x.ends, 1);
    assert_int_equal(x.end_err, ERR_CANCELED);
    /* the same client keeps working */
    testsrv_add(f->srv, &(testsrv_rule){.body = "{}"});
    done d = {0};
    kube_get(f->c, &KUBE_PODS, "ns", "x", NULL, on_done, &d);
    run_until(f, &d.called, 1, 5000);
    free(d.body);
}

/* A watch is not bounded by the request timeout, only by the server. */
static void
test_watch_outlives_request_timeout(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.timeout_ms = 200;
    client_with(f, testsrv_url(f->srv), &o);
    testsrv_chunk ch[] = {{.data = EV("ADDED", "a")}, {.delay_ms = 600, .data = EV("ADDED", "b")}};
    testsrv_add(f->srv, &(testsrv_rule){.chunks = ch, .nchunks = 2});
    wctx x = {.f = f};
    x.w = kube_watch_start(f->c, &KUBE_PODS, "ns", NULL, w_event, w_end, &x);
    run_until(f, &x.ends, 1, 5000);
    assert_int_equal(x.end_err, 0);
    assert_int_equal(x.events, 2);
}

/* kube_request: a raw path with its query kept as given; a body without a
 * content type is sent as JSON (not as curl's default form encoding). */
static void
test_raw_request(void **state)
{
    fx *f = *state;
    testsrv_add(f->srv, &(testsrv_rule){.status = 201, .body = "{\"ok\":1}"});
    done d = {0};
    const char body[] = "{\"kind\":\"TokenReview\"}";
    assert_int_equal(kube_request(f->c, "POST", "/apis/x.io/v1/things?dryRun=All&pretty=1", NULL,
                                  body, sizeof(body) - 1, 0, on_done, &d),
                     0);
    run_until(f, &d.called, 1, 5000);
    assert_int_equal(d.err, 0);
    assert_int_equal(d.status, 201);
    const testsrv_req *q = testsrv_get(f->srv, 0);
    assert_string_equal(q->uri, "/apis/x.io/v1/things?dryRun=All&pretty=1");
    assert_string_equal(testsrv_header(q, "Content-Type"), "application/json");
    assert_string_equal(q->body, body);
    free(d.body);
}

/* kube_result_take_body: the callback gets the only reference; the client
 * releases nothing it handed over, and a second take (or a result that is
 * not the running delivery's) gets NULL. */
typedef struct taken {
    int called;
    json_object *obj;
    int same_as_body, second_null, foreign_null;
} taken;

static void
on_take(const kube_result *res, void *udata)
{
    taken *t = udata;
    t->called++;
    t->obj = kube_result_take_body(res);
    t->same_as_body = t->obj != NULL && t->obj == res->body;
    t->second_null = kube_result_take_body(res) == NULL;
    kube_result copy = *res;
    t->foreign_null = kube_result_take_body(&copy) == NULL;
}

static void
test_take_body(void **state)
{
    fx *f = *state;
    testsrv_add(f->srv, &(testsrv_rule){.body = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}",
                                        .times = 1});
    taken t = {0};
    assert_int_equal(kube_get(f->c, &KUBE_PODS, "ns", "p", NULL, on_take, &t), 0);
    run_until(f, &t.called, 1, 5000);
    assert_non_null(t.obj);
    assert_true(t.same_as_body);
    assert_true(t.second_null);
    assert_true(t.foreign_null);
    /* still whole after the client is done with the request */
    assert_string_equal(json_object_get_string(json_object_object_get(
                            json_object_object_get(t.obj, "metadata"), "name")),
                        "p");
    json_object_put(t.obj);
    /* outside any callback: nothing to take */
    kube_result none = {.message = ""};
    assert_null(kube_result_take_body(&none));
    /* a response that is not JSON has no body to take */
    testsrv_add(f->srv, &(testsrv_rule){.status = 404,
                                        .body = "404 page not found\n",
                                        .content_type = "text/plain"});
    taken e = {0};
    assert_int_equal(kube_get(f->c, &KUBE_PODS, "ns", "q", NULL, on_take, &e), 0);
    run_until(f, &e.called, 1, 5000);
    assert_null(e.obj);
}

/* A JSON patch that tests the resourceVersion is conditional; a merge patch
 * whose "resourceVersion" is not metadata's is not. */
static void
test_patch_conditional_forms(void **state)
{
    fx *f = *state;
    testsrv_add(f->srv, &(testsrv_rule){.status = 503, .times = 1});
    testsrv_add(f->srv, &(testsrv_rule){.body = "{}", .times = 1});
    testsrv_add(f->srv, &(testsrv_rule){.status = 503});
    done a = {0}, b = {0};
    kube_patch(f->c, &KUBE_SANDBOXES, "ns", "s", NULL, KUBE_PATCH_JSON,
               "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"7\"},"
               "{\"op\":\"add\",\"path\":\"/x\",\"value\":1}]",
               on_done, &a);
    run_until(f, &a.called, 1, 10000);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.attempts, 2);
    kube_patch(f->c, &KUBE_SANDBOXES, "ns", "s", NULL, KUBE_PATCH_MERGE,
               "{\"metadata\":{\"annotations\":{\"resourceVersion\":\"7\"}}}", on_done, &b);
    run_until(f, &b.called, 1, 10000);
    assert_int_equal(b.err, ERR_UNAVAILABLE);
    assert_int_equal(b.attempts, 1);
    free(a.body);
    free(b.body);
}

/* kube_client_slim_write_responses: a write's parsed body lacks
 * metadata.managedFields (raw keeps it); a GET's body is whole. */
typedef struct rawdone {
    done d;
    int raw_has_managed;
} rawdone;

static void
on_rawdone(const kube_result *res, void *udata)
{
    rawdone *r = udata;
    r->raw_has_managed = res->raw && strstr(res->raw, "managedFields") != NULL;
    on_done(res, &r->d);
}

static void
test_slim_write_responses(void **state)
{
    fx *f = *state;
    const char *obj = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"managedFields\":[{"
                      "\"manager\":\"m\"}],\"resourceVersion\":\"5\"}}";
    testsrv_add(f->srv, &(testsrv_rule){.body = obj});
    kube_client_slim_write_responses(f->c, 1);
    rawdone p = {0}, g = {0};
    kube_patch(f->c, &KUBE_PODS, "ns", "p", NULL, KUBE_PATCH_MERGE, "{}", on_rawdone, &p);
    run_until(f, &p.d.called, 1, 5000);
    assert_int_equal(p.d.err, 0);
    assert_string_equal(
        p.d.body, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"resourceVersion\":\"5\"}}");
    assert_true(p.raw_has_managed);
    kube_get(f->c, &KUBE_PODS, "ns", "p", NULL, on_rawdone, &g);
    run_until(f, &g.d.called, 1, 5000);
    assert_non_null(strstr(g.d.body, "managedFields"));
    free(p.d.body);
    free(g.d.body);
}

/* Bodies nest far deeper than json-c's default of 32 (CRD schemas). */
static void
test_deep_body(void **state)
{
    fx *f = *state;
    char body[4096];
    size_t o = 0;
    o += (size_t)sprintf(body + o, "{\"kind\":\"CustomResourceDefinitionList\",\"items\":[");
    for (int i = 0; i < 120; i++)
        o += (size_t)sprintf(body + o, "{\"properties\":");
    o += (size_t)sprintf(body + o, "{\"type\":\"string\"}");
    for (int i = 0; i < 120; i++)
        body[o++] = '}';
    o += (size_t)sprintf(body + o, "]}");
    testsrv_add(f->srv, &(testsrv_rule){.body = body});
    done d = {0};
    kube_list(f->c, &KUBE_CRDS, NULL, NULL, on_done, &d);
    run_until(f, &d.called, 1, 5000);
    if (d.err) fail_msg("%s", d.message);
    assert_non_null(d.body);
    assert_non_null(strstr(d.body, "\"type\":\"string\""));
    free(d.body);
}

/* A rotated token file is picked up without a restart. */
static void
test_token_file_rotation(void **state)
{
    fx *f = *state;
    char path[] = "/tmp/test_kube_token.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "first\n", 6), 6);
    close(fd);
    free(f->cfg.token);
    f->cfg.token = strdup("first");
    f->cfg.token_file = strdup(path);
    client_with(f, testsrv_url(f->srv), NULL);
    testsrv_add(f->srv, &(testsrv_rule){.body = "{}"});
    done a = {0}, b = {0};
    assert_int_equal(kube_client_inflight(f->c), 0);
    kube_get(f->c, &KUBE_PODS, "ns", "p", NULL, on_done, &a);
    assert_int_equal(kube_client_inflight(f->c), 1);
    run_until(f, &a.called, 1, 5000);
    assert_int_equal(kube_client_inflight(f->c), 0);
    /* the kubelet replaces the file */
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    FILE *nf = fopen(tmp, "w");
    fputs("second-token\n", nf);
    fclose(nf);
    assert_int_equal(rename(tmp, path), 0);
    run_for(f, 1100);
    kube_get(f->c, &KUBE_PODS, "ns", "p", NULL, on_done, &b);
    run_until(f, &b.called, 1, 5000);
    assert_string_equal(testsrv_header(testsrv_get(f->srv, 0), "Authorization"), "Bearer first");
    assert_string_equal(testsrv_header(testsrv_get(f->srv, 1), "Authorization"),
                        "Bearer second-token");
    unlink(path);
    free(a.body);
    free(b.body);
}

/* ---- main ---------------------------------------------------------------------- */

#define ROWS(arr, fn)                                                                              \
    for (size_t i = 0; i < sizeof(arr) / sizeof(arr[0]); i++)                                      \
        tests[n++] = (struct CMUnitTest)                                                           \
        {                                                                                          \
            arr[i].name, fn, setup, teardown, (void *)&arr[i]                                      \
        }
#define ONE(fn) tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    struct CMUnitTest tests[64];
    size_t n = 0;
    ROWS(verb_rows, test_verb);
    ONE(test_invalid_args);
    ROWS(status_rows, test_status);
    ONE(test_retry_500_get_not_post);
    ONE(test_patch_retry_only_conditional);
    ONE(test_429_retry_after);
    ONE(test_429_exhausted);
    ONE(test_timeout);
    ONE(test_connection_refused);
    ONE(test_unresolvable);
    ONE(test_cancel_on_free);
    ONE(test_qps_limit);
    ONE(test_http11_concurrency);
    ONE(test_active_cap);
    ONE(test_connection_cap);
    ONE(test_watch_events_as_they_arrive);
    ONE(test_watch_410_in_stream);
    ROWS(wend_rows, test_watch_end);
    ONE(test_watch_stop_inside_event);
    ONE(test_watch_stop_outside);
    ONE(test_watch_outlives_request_timeout);
    ONE(test_deep_body);
    ONE(test_take_body);
    ONE(test_slim_write_responses);
    ONE(test_patch_conditional_forms);
    ONE(test_raw_request);
    ONE(test_token_file_rotation);
    return _cmocka_run_group_tests("kube_client", tests, n, NULL, NULL);
}
