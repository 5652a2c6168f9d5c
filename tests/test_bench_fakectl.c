/* test_bench_fakectl.c - a stand-in controller with a KNOWN write pattern,
 * so claimbench's measurements can be checked against the truth
 * (tests/test_bench_claim.c runs claimbench with --controller-bin pointing
 * here). Not a controller to learn from: no store, no retries, one thread.
 *
 * It accepts the real controller's command line, reads --kubeconfig and
 * --health-probe-bind-address (serves /readyz 200 once its watches run),
 * talks as User-Agent agent-sandbox-controller/fake (so kubesim attributes
 * its requests to the controller's client), and exits 0 on SIGTERM.
 *
 * Writes, exactly:
 *   every Sandbox without Ready=True: 1 status patch (Ready True);
 *   a SandboxWarmPool of R replicas: R Sandbox creates (generateName
 *     "<pool>-", label asc-fake/pool=<pool>; a 409 from a generateName
 *     collision is retried), and a pool status patch when
 *     readyReplicas changed (coalesced per loop turn);
 *   a SandboxClaim, warm (a Ready member queued): 1 Sandbox patch (pool
 *     label off, launch-type warm, owner the claim), then 1 claim status
 *     patch (Ready True, status.sandbox.name): the critical path is 2
 *     writes; then 1 claim metadata patch and 1 refill create;
 *   a SandboxClaim, cold (no member queued): 1 Sandbox create named like
 *     the claim, its status patch, then the claim's status patch.
 *
 * Faults, for the failure tests (environment, inherited through claimbench):
 *   FAKECTL_EXIT_AFTER_CLAIMS=N   exit with code 9 when claim N+1 arrives;
 *   FAKECTL_IGNORE_AFTER_CLAIMS=N answer only the first N claims.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <ev.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benchlib/kc.h"
#include "bench/benchlib/objects.h"
#include "bench/benchlib/watch.h"
#include "core/err.h"
#include "core/jx.h"

#define FK_POOL_LABEL "asc-fake/pool"
#define FK_MAX_QUEUE  65536

typedef struct fk {
    bench_kc k;
    bench_watch ws, wp, wc;
    json_object *patched; /* "ns/name" of Sandboxes whose status we set */
    json_object *seen;    /* claims handled */
    json_object *cold;    /* cold Sandbox "ns/name" -> its claim */
    json_object *members; /* pool members counted Ready once */
    char pool_ns[64], pool[64], pool_uid[64];
    long replicas, ready, ready_written;
    int status_inflight;       /* one pool status patch at a time: two in flight on two
                                * connections can land in either order, and a stale
                                * count that lands last would stay */
    char *queue[FK_MAX_QUEUE]; /* Ready members not taken, FIFO ring */
    size_t qh, qt;
    ev_prepare flush;
    atomic_int up;
    unsigned long failures;
} fk;

static fk F;

static void
on_write(const kube_result *res, void *ud)
{
    (void)ud;
    if (res->err && res->err != ERR_CANCELED) {
        F.failures++;
        fprintf(stderr, "fakectl: write failed: HTTP %ld %s\n", res->http_status, res->message);
    }
}

/* Writes retried on transient failures (no reply, 429, 5xx), up to 6
 * attempts: a loaded CI machine must not turn into a stuck pool here.
 * Creates only when the server surely did not act (429, 503): a retried
 * POST after a lost reply could create twice. */
typedef struct fk_write {
    const kube_resource *res;
    char ns[64], name[96], sub[16];
    char *body;
    int create, attempts;
    kube_done_cb cb;
    void *ud;
} fk_write;

static void fk_send(fk_write *w);

static void
on_fk_done(const kube_result *res, void *ud)
{
    fk_write *w = ud;
    long st = res->http_status;
    int transient = res->err && res->err != ERR_CANCELED &&
                    (w->create ? (st == 429 || st == 503) : (st == 0 || st == 429 || st >= 500));
    if (transient && ++w->attempts < 6) {
        fprintf(stderr, "fakectl: retrying %s %s/%s: HTTP %ld %s\n", w->create ? "create" : "patch",
                w->res->plural, w->name, st, res->message);
        fk_send(w);
        return;
    }
    if (w->cb)
        w->cb(res, w->ud);
    else
        on_write(res, NULL);
    free(w->body);
    free(w);
}

static void
fk_send(fk_write *w)
{
    int rc = w->create ? kube_create(F.k.c, w->res, w->ns, w->body, on_fk_done, w)
                       : kube_patch(F.k.c, w->res, w->ns, w->name, w->sub[0] ? w->sub : NULL,
                                    KUBE_PATCH_MERGE, w->body, on_fk_done, w);
    if (rc != 0) {
        kube_result r = {.err = rc, .message = "not sent", .reason = "", .raw = ""};
        w->attempts = 6;
        on_fk_done(&r, w);
    }
}

static void
fk_write_new(int create, const kube_resource *res, const char *ns, const char *name,
             const char *sub, const char *body, kube_done_cb cb, void *ud)
{
    fk_write *w = calloc(1, sizeof *w);
    w->res = res;
    w->create = create;
    snprintf(w->ns, sizeof w->ns, "%s", ns);
    snprintf(w->name, sizeof w->name, "%s", name ? name : "");
    snprintf(w->sub, sizeof w->sub, "%s", sub ? sub : "");
    w->body = strdup(body);
    w->cb = cb;
    w->ud = ud;
    fk_send(w);
}

static void
key(char *buf, size_t len, const char *ns, const char *name)
{
    snprintf(buf, len, "%s/%s", ns ? ns : "", name ? name : "");
}

static void
set_ready_status(const char *ns, const char *name)
{
    fk_write_new(0, &KUBE_SANDBOXES, ns, name, "status",
                 "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
                 "\"reason\":\"DependenciesReady\",\"message\":\"fake\","
                 "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"observedGeneration\":1}]}}",
                 NULL, NULL);
}

static void
claim_ready(const char *ns, const char *claim, const char *sandbox, kube_done_cb cb, void *ud)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"status\":{\"sandbox\":{\"name\":\"%s\"},\"conditions\":[{\"type\":\"Ready\","
             "\"status\":\"True\",\"reason\":\"DependenciesReady\",\"message\":\"fake\","
             "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"observedGeneration\":1}]}}",
             sandbox);
    fk_write_new(0, &KUBE_SANDBOXCLAIMS, ns, claim, "status", body, cb, ud);
}

static void create_member(void);

/* generateName can collide (kubesim, like kube-apiserver, answers 409 and
 * leaves the retry to the client): create another one. */
static void
on_member_created(const kube_result *res, void *ud)
{
    (void)ud;
    if (res->err == ERR_EXISTS)
        create_member();
    else
        on_write(res, NULL);
}

static void
create_member(void)
{
    char body[2048];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\",\"metadata\":{"
             "\"generateName\":\"%s-\",\"labels\":{\"" FK_POOL_LABEL "\":\"%s\"},"
             "\"ownerReferences\":[{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\","
             "\"kind\":\"SandboxWarmPool\",\"name\":\"%s\",\"uid\":\"%s\",\"controller\":true}]},"
             "\"spec\":{\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"main\","
             "\"image\":\"busybox\"}]}}}}",
             F.pool, F.pool, F.pool, F.pool_uid);
    fk_write_new(1, &KUBE_SANDBOXES, F.pool_ns, NULL, NULL, body, on_member_created, NULL);
}

/* ---- watches ------------------------------------------------------------------- */

static void
on_sandbox(int type, json_object *obj, void *ud)
{
    (void)ud;
    if (type == KUBE_DELETED) return;
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    if (ns == NULL || name == NULL) return;
    char k[256];
    key(k, sizeof k, ns, name);
    if (!bench_ready_condition(obj)) {
        if (!json_object_object_get_ex(F.patched, k, NULL)) {
            json_object_object_add(F.patched, k, NULL);
            set_ready_status(ns, name);
        }
        return;
    }
    const char *pool = jx_label(obj, FK_POOL_LABEL);
    if (pool && F.pool[0] && strcmp(pool, F.pool) == 0 && strcmp(ns, F.pool_ns) == 0 &&
        !json_object_object_get_ex(F.members, k, NULL) && F.qt - F.qh < FK_MAX_QUEUE) {
        json_object_object_add(F.members, k, NULL);
        F.queue[F.qt++ % FK_MAX_QUEUE] = strdup(name);
        F.ready++;
    }
    json_object *claim = NULL;
    if (json_object_object_get_ex(F.cold, k, &claim)) {
        claim_ready(ns, json_object_get_string(claim), name, NULL, NULL);
        json_object_object_del(F.cold, k);
    }
}

static void
on_pool(int type, json_object *obj, void *ud)
{
    (void)ud;
    if (type != KUBE_ADDED || F.pool[0]) return;
    snprintf(F.pool_ns, sizeof F.pool_ns, "%s", jx_str_or(obj, "metadata.namespace", ""));
    snprintf(F.pool, sizeof F.pool, "%s", jx_str_or(obj, "metadata.name", ""));
    snprintf(F.pool_uid, sizeof F.pool_uid, "%s", jx_str_or(obj, "metadata.uid", ""));
    F.replicas = (long)jx_int(obj, "spec.replicas", 1);
    F.ready_written = -1; /* write the first status even at 0 */
    for (long i = 0; i < F.replicas; i++)
        create_member();
}

typedef struct adopt {
    char ns[64], claim[96], sandbox[96];
} adopt;

/* Write 3, strictly after write 2 answered (as the real design orders it). */
static void
on_claim_status(const kube_result *res, void *ud)
{
    adopt *a = ud;
    if (res->err == 0) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"metadata\":{\"annotations\":{\"agents.x-k8s.io/sandbox-name\":\"%s\"}}}",
                 a->sandbox);
        fk_write_new(0, &KUBE_SANDBOXCLAIMS, a->ns, a->claim, NULL, body, NULL, NULL);
    } else {
        on_write(res, NULL);
    }
    free(a);
}

/* Write 2 after write 1 answered. */
static void
on_adopted(const kube_result *res, void *ud)
{
    adopt *a = ud;
    if (res->err != 0) {
        on_write(res, NULL);
        free(a);
        return;
    }
    claim_ready(a->ns, a->claim, a->sandbox, on_claim_status, a);
}

static void
on_claim(int type, json_object *obj, void *ud)
{
    (void)ud;
    if (type == KUBE_DELETED || jx_str(obj, "status.sandbox.name")) return;
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    const char *uid = jx_str(obj, "metadata.uid");
    if (ns == NULL || name == NULL || uid == NULL) return;
    char k[256], body[2048];
    key(k, sizeof k, ns, name);
    if (json_object_object_get_ex(F.seen, k, NULL)) return;
    json_object_object_add(F.seen, k, NULL);
    const char *ex = getenv("FAKECTL_EXIT_AFTER_CLAIMS");
    const char *ig = getenv("FAKECTL_IGNORE_AFTER_CLAIMS");
    int handled = json_object_object_length(F.seen) - 1;
    if (ex && handled >= atoi(ex)) {
        fprintf(stderr, "fakectl: exiting after %d claims (FAKECTL_EXIT_AFTER_CLAIMS)\n", handled);
        exit(9);
    }
    if (ig && handled >= atoi(ig)) return;
    if (F.qt > F.qh && strcmp(ns, F.pool_ns) == 0) {
        char *m = F.queue[F.qh++ % FK_MAX_QUEUE];
        F.ready--;
        adopt *a = calloc(1, sizeof *a);
        snprintf(a->ns, sizeof a->ns, "%s", ns);
        snprintf(a->claim, sizeof a->claim, "%s", name);
        snprintf(a->sandbox, sizeof a->sandbox, "%s", m);
        snprintf(body, sizeof body,
                 "{\"metadata\":{\"labels\":{\"" FK_POOL_LABEL "\":null,"
                 "\"agents.x-k8s.io/launch-type\":\"warm\"},\"ownerReferences\":[{"
                 "\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":\"SandboxClaim\","
                 "\"name\":\"%s\",\"uid\":\"%s\",\"controller\":true}]}}",
                 name, uid);
        fk_write_new(0, &KUBE_SANDBOXES, ns, m, NULL, body, on_adopted, a);
        free(m);
        create_member(); /* the refill, off the critical path */
        return;
    }
    json_object_object_add(F.cold, k, json_object_new_string(name));
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\",\"metadata\":{"
             "\"name\":\"%s\",\"labels\":{\"agents.x-k8s.io/launch-type\":\"cold\"},"
             "\"ownerReferences\":[{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\","
             "\"kind\":\"SandboxClaim\",\"name\":\"%s\",\"uid\":\"%s\",\"controller\":true}]},"
             "\"spec\":{\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"main\","
             "\"image\":\"busybox\"}]}}}}",
             name, name, uid);
    fk_write_new(1, &KUBE_SANDBOXES, ns, NULL, NULL, body, NULL, NULL);
}

static void
on_pool_status(const kube_result *res, void *ud)
{
    (void)ud;
    F.status_inflight = 0;
    if (res->err) {
        on_write(res, NULL);
        F.ready_written = -1; /* write it again */
    }
}

/* Once per loop turn: the pool's status when its Ready count changed. */
static void
on_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    if (!F.pool[0] || F.ready == F.ready_written || F.status_inflight) return;
    F.status_inflight = 1;
    char body[256];
    snprintf(body, sizeof body, "{\"status\":{\"replicas\":%ld,\"readyReplicas\":%ld}}", F.replicas,
             F.ready);
    fk_write_new(0, &KUBE_SANDBOXWARMPOOLS, F.pool_ns, F.pool, "status", body, on_pool_status,
                 NULL);
    F.ready_written = F.ready;
}

/* ---- process ------------------------------------------------------------------- */

static enum MHD_Result
on_http(void *cls, struct MHD_Connection *c, const char *url, const char *method,
        const char *version, const char *data, size_t *size, void **con_cls)
{
    (void)cls;
    (void)method;
    (void)version;
    (void)data;
    (void)size;
    (void)con_cls;
    int ok = strcmp(url, "/readyz") != 0 || atomic_load(&F.up);
    const char *text = ok ? "ok" : "not ready";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(c, ok ? 200 : 500, r);
    MHD_destroy_response(r);
    return rc;
}

static void
on_term(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

int
main(int argc, char **argv)
{
    const char *kubeconfig = NULL;
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc) kubeconfig = argv[++i];
        const char *h = "--health-probe-bind-address=";
        if (strncmp(argv[i], h, strlen(h)) == 0) {
            const char *colon = strrchr(argv[i], ':');
            port = colon ? atoi(colon + 1) : 0;
        }
    }
    if (kubeconfig == NULL || port <= 0) {
        fprintf(stderr, "fakectl: need --kubeconfig F and --health-probe-bind-address=H:P\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, on_http, NULL,
                         MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "fakectl: cannot serve port %d\n", port);
        return 2;
    }
    struct ev_loop *loop = ev_default_loop(0); /* signal watchers */
    char err[256];
    if (bench_kc_open(&F.k, loop, kubeconfig, "agent-sandbox-controller/fake", 64, err,
                      sizeof err)) {
        fprintf(stderr, "fakectl: %s\n", err);
        return 2;
    }
    F.patched = json_object_new_object();
    F.seen = json_object_new_object();
    F.cold = json_object_new_object();
    F.members = json_object_new_object();
    ev_signal term;
    ev_signal_init(&term, on_term, SIGTERM);
    ev_signal_start(loop, &term);
    ev_prepare_init(&F.flush, on_flush);
    ev_prepare_start(loop, &F.flush);
    if (bench_watch_start(&F.ws, &F.k, &KUBE_SANDBOXES, NULL, NULL, on_sandbox, NULL, 10000) ||
        bench_watch_start(&F.wp, &F.k, &KUBE_SANDBOXWARMPOOLS, NULL, NULL, on_pool, NULL, 10000) ||
        bench_watch_start(&F.wc, &F.k, &KUBE_SANDBOXCLAIMS, NULL, NULL, on_claim, NULL, 10000)) {
        fprintf(stderr, "fakectl: cannot watch: %s%s%s\n", F.ws.err, F.wp.err, F.wc.err);
        return 2;
    }
    atomic_store(&F.up, 1);
    fprintf(stderr, "fakectl: up\n");
    ev_run(loop, 0);
    fprintf(stderr, "fakectl: stopping (%lu failed writes)\n", F.failures);
    bench_watch_stop(&F.ws);
    bench_watch_stop(&F.wp);
    bench_watch_stop(&F.wc);
    ev_prepare_stop(loop, &F.flush);
    ev_signal_stop(loop, &term);
    bench_kc_close(&F.k);
    MHD_stop_daemon(d);
    while (F.qt > F.qh)
        free(F.queue[F.qh++ % FK_MAX_QUEUE]);
    json_object_put(F.patched);
    json_object_put(F.seen);
    json_object_put(F.cold);
    json_object_put(F.members);
    ev_loop_destroy(loop);
    curl_global_cleanup();
    return F.failures ? 3 : 0;
}
