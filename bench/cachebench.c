/* cachebench - how fast and how small the informer cache is.
 *
 * 1. replay: a watch stream of N Sandboxes + N Pods + N Services (ADDED) and
 *    then N Pod status updates (MODIFIED), realistic objects with
 *    managedFields, is written to a file and replayed through the watch
 *    decoder (kube/) into the reflectors and the store, one commit per
 *    256 KiB read (one "loop turn"). Prints decode-only and decode+commit
 *    events/s, so the simulator's write speed does not bound the figure.
 * 2. footprint: LMDB file size and bytes in use per cached object; VmRSS
 *    growth per object after a fresh process-like reopen that reads every
 *    object once (file-backed LMDB pages included), and during the replay.
 * 3. warm start: reopen the store and read the stored resourceVersions (what
 *    a restarted informer does before its first WATCH).
 *
 * 4. with -s KUBESIM: the same N+N+N objects created in a kubesim process,
 *    then start to synced through the real client, cold (empty cache) and
 *    warm (cache present: no LIST, watches resume from the stored RVs).
 *
 * Events are decoded as the informer does: each event's object text is
 * encoded for the store straight from the text (store_encode_json), json-c
 * only for what that path declines; -J forces the json-c tree path for every
 * event (the figures before the fast path). -V checks, for every event of
 * the stream, that both paths give the same bytes (and exits 1 otherwise).
 *
 * Usage: cachebench [-n N] [-d DIR] [-k] [-c KiB per commit, default 256]
 *                   [-J] [-V] [-s path/to/kubesim]   (-k keeps DIR)
 */
#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/namehash.h"
#include "core/timeutil.h"
#include "informer/internal.h"
#include "kube/internal.h" /* kube__watch_decoder_set_raw */
#include "kube/kube.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static double
cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

static const char *MF =
    "\"managedFields\":[{\"manager\":\"agent-sandbox-controller\",\"operation\":\"Update\","
    "\"apiVersion\":\"v1\",\"time\":\"2026-11-23T18:00:00Z\",\"fieldsType\":\"FieldsV1\","
    "\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:agents.x-k8s.io/sandbox-name-hash\":"
    "{}},\"f:ownerReferences\":{\".\":{},\"k:{\\\"uid\\\":\\\"x\\\"}\":{}}},\"f:spec\":{"
    "\"f:containers\":{\"k:{\\\"name\\\":\\\"main\\\"}\":{\".\":{},\"f:image\":{},\"f:name\":{},"
    "\"f:ports\":{}}}}}},{\"manager\":\"kubelet\",\"operation\":\"Update\",\"apiVersion\":\"v1\","
    "\"time\":\"2026-11-23T18:00:01Z\",\"fieldsType\":\"FieldsV1\",\"subresource\":\"status\","
    "\"fieldsV1\":{\"f:status\":{\"f:conditions\":{\"k:{\\\"type\\\":\\\"Ready\\\"}\":{}},"
    "\"f:podIP\":{},\"f:podIPs\":{},\"f:phase\":{}}}}]";

static int
gen_sandbox(char *b, size_t n, int i, int rv)
{
    char h[9], ph[9];
    char name[32];
    snprintf(name, sizeof name, "pool-%d-%05d", i % 50, i);
    namehash_hex(name, h);
    snprintf(ph, sizeof ph, "%08x", (unsigned)(i % 50) * 2654435761u);
    return snprintf(
        b, n,
        "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":"
        "\"Sandbox\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns-%d\",\"uid\":"
        "\"6f1c2a9e-0000-4000-8000-%012d\",\"resourceVersion\":\"%d\",\"generation\":1,"
        "\"creationTimestamp\":\"2026-11-23T18:00:00Z\",\"labels\":{"
        "\"agents.x-k8s.io/warm-pool-sandbox\":\"%s\",\"agents.x-k8s.io/"
        "sandbox-template-ref-hash\":"
        "\"%s\",\"agents.x-k8s.io/launch-type\":\"warm\",\"agents.x-k8s.io/sandbox-template-hash\":"
        "\"1a2b3c4d\",\"agents.x-k8s.io/created-by\":\"controller\"},\"annotations\":{"
        "\"agents.x-k8s.io/sandbox-template-ref\":\"tmpl-%d\",\"agents.x-k8s.io/pod-name\":\"%s\"},"
        "\"ownerReferences\":[{\"apiVersion\":\"extensions.agents.x-k8s.io/v1beta1\",\"kind\":"
        "\"SandboxWarmPool\",\"name\":\"pool-%d\",\"uid\":\"pool-uid-%d\",\"controller\":true,"
        "\"blockOwnerDeletion\":true}],%s},\"spec\":{\"podTemplate\":{\"metadata\":{\"labels\":{"
        "\"app\":\"agent\"}},\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":"
        "\"registry.example/agent:1.2\",\"ports\":[{\"containerPort\":8888,\"protocol\":\"TCP\"}],"
        "\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"512Mi\"}}}],"
        "\"automountServiceAccountToken\":false}},\"operatingMode\":\"Running\",\"shutdownPolicy\":"
        "\"Retain\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
        "\"reason\":"
        "\"DependenciesReady\",\"message\":\"Pod is Ready\",\"observedGeneration\":1,"
        "\"lastTransitionTime\":\"2026-11-23T18:00:02Z\"}],\"podIPs\":[\"10.%d.%d.%d\"],"
        "\"nodeName\":\"node-%d\",\"selector\":\"agents.x-k8s.io/sandbox-name-hash=%s\"}}}\n",
        name, i % 20, i, rv, ph, ph, i % 50, name, i % 50, i % 50, MF, (i >> 16) & 255,
        (i >> 8) & 255, i & 255, i % 3, h);
}

static int
gen_pod(char *b, size_t n, int i, int rv, int modified)
{
    char h[9], name[32];
    snprintf(name, sizeof name, "pool-%d-%05d", i % 50, i);
    namehash_hex(name, h);
    return snprintf(
        b, n,
        "{\"type\":\"%s\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{"
        "\"name\":\"%s\",\"namespace\":\"ns-%d\",\"uid\":\"0a0b0c0d-0000-4000-8000-%012d\","
        "\"resourceVersion\":\"%d\",\"creationTimestamp\":\"2026-11-23T18:00:00Z\",\"labels\":{"
        "\"agents.x-k8s.io/sandbox-name-hash\":\"%s\",\"app\":\"agent\"},\"annotations\":{"
        "\"agents.x-k8s.io/propagated-labels\":\"app\"},\"ownerReferences\":[{\"apiVersion\":"
        "\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\",\"name\":\"%s\",\"uid\":"
        "\"6f1c2a9e-0000-4000-8000-%012d\",\"controller\":true,\"blockOwnerDeletion\":true}],%s},"
        "\"spec\":{\"volumes\":[{\"name\":\"kube-api-access-x\",\"projected\":{\"sources\":[{"
        "\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},{\"configMap\":{"
        "\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}}],"
        "\"defaultMode\":420}}],\"containers\":[{\"name\":\"main\",\"image\":"
        "\"registry.example/agent:1.2\",\"ports\":[{\"containerPort\":8888,\"protocol\":\"TCP\"}],"
        "\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"512Mi\"}},\"volumeMounts\":[{"
        "\"name\":\"kube-api-access-x\",\"readOnly\":true,\"mountPath\":"
        "\"/var/run/secrets/kubernetes.io/serviceaccount\"}],\"terminationMessagePath\":"
        "\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":"
        "\"IfNotPresent\"}],\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,"
        "\"dnsPolicy\":\"ClusterFirst\",\"serviceAccountName\":\"default\",\"nodeName\":\"node-%"
        "d\","
        "\"schedulerName\":\"default-scheduler\",\"tolerations\":[{\"key\":"
        "\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\","
        "\"tolerationSeconds\":300}],\"priority\":0,\"enableServiceLinks\":true},\"status\":{"
        "\"phase\":\"Running\",\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\","
        "\"lastTransitionTime\":\"2026-11-23T18:00:00Z\"},{\"type\":\"Ready\",\"status\":\"%s\","
        "\"lastTransitionTime\":\"2026-11-23T18:00:01Z\"}],\"podIP\":\"10.%d.%d.%d\",\"podIPs\":[{"
        "\"ip\":\"10.%d.%d.%d\"}],\"hostIP\":\"192.168.0.%d\",\"startTime\":"
        "\"2026-11-23T18:00:00Z\",\"containerStatuses\":[{\"name\":\"main\",\"ready\":true,"
        "\"restartCount\":0,\"image\":\"registry.example/agent:1.2\",\"imageID\":"
        "\"registry.example/agent@sha256:0123456789abcdef\",\"containerID\":"
        "\"containerd://abcdef0123456789\",\"started\":true,\"state\":{\"running\":{\"startedAt\":"
        "\"2026-11-23T18:00:01Z\"}}}],\"qosClass\":\"Burstable\"}}}\n",
        modified ? "MODIFIED" : "ADDED", name, i % 20, i, rv, h, name, i, MF, i % 3,
        modified ? "False" : "True", (i >> 16) & 255, (i >> 8) & 255, i & 255, (i >> 16) & 255,
        (i >> 8) & 255, i & 255, i % 3);
}

static int
gen_service(char *b, size_t n, int i, int rv)
{
    char h[9], name[32];
    snprintf(name, sizeof name, "pool-%d-%05d", i % 50, i);
    namehash_hex(name, h);
    return snprintf(
        b, n,
        "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{"
        "\"name\":\"%s\",\"namespace\":\"ns-%d\",\"uid\":\"5e5e5e5e-0000-4000-8000-%012d\","
        "\"resourceVersion\":\"%d\",\"creationTimestamp\":\"2026-11-23T18:00:00Z\",\"labels\":{"
        "\"agents.x-k8s.io/sandbox-name-hash\":\"%s\"},\"ownerReferences\":[{\"apiVersion\":"
        "\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\",\"name\":\"%s\",\"uid\":"
        "\"6f1c2a9e-0000-4000-8000-%012d\",\"controller\":true,\"blockOwnerDeletion\":true}],%s},"
        "\"spec\":{\"ports\":[{\"name\":\"p-8888-tcp\",\"protocol\":\"TCP\",\"port\":8888,"
        "\"targetPort\":8888}],\"selector\":{\"agents.x-k8s.io/sandbox-name-hash\":\"%s\"},"
        "\"clusterIP\":\"None\",\"clusterIPs\":[\"None\"],\"type\":\"ClusterIP\","
        "\"sessionAffinity\":\"None\",\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":"
        "\"SingleStack\",\"internalTrafficPolicy\":\"Cluster\"},\"status\":{\"loadBalancer\":{}}}}"
        "\n",
        name, i % 20, i, rv, h, name, i, MF, h);
}

static int
write_stream(const char *path, int n, size_t *bytes, long *events)
{
    FILE *f = fopen(path, "w");
    static char buf[16384];
    int rv = 1000;
    if (!f) return -1;
    *bytes = 0;
    *events = 0;
    for (int i = 0; i < n; i++) {
        int l = gen_sandbox(buf, sizeof buf, i, ++rv);
        *bytes += fwrite(buf, 1, (size_t)l, f);
        l = gen_pod(buf, sizeof buf, i, ++rv, 0);
        *bytes += fwrite(buf, 1, (size_t)l, f);
        l = gen_service(buf, sizeof buf, i, ++rv);
        *bytes += fwrite(buf, 1, (size_t)l, f);
        *events += 3;
    }
    for (int i = 0; i < n; i++) {
        int l = gen_pod(buf, sizeof buf, i, ++rv, 1);
        *bytes += fwrite(buf, 1, (size_t)l, f);
        *events += 1;
    }
    return fclose(f);
}

static size_t chunk_bytes = 256 << 10; /* one "loop turn" of the replay (-c KiB) */
static double flush_cpu;               /* CPU seconds inside informer_flush (the LMDB commits) */

typedef struct replay {
    informer *inf;
    long events;
} replay;

static void
on_event(enum kube_event_type type, json_object *obj, void *udata)
{
    replay *r = udata;
    const char *kind = jx_str(obj, "kind");
    enum store_kind k = STORE_POD;
    r->events++;
    if (!r->inf) return; /* decode only */
    if (kind && !strcmp(kind, "Sandbox"))
        k = STORE_SANDBOX;
    else if (kind && !strcmp(kind, "Service"))
        k = STORE_SERVICE;
    informer__refl_event(&r->inf->refl[k], type, obj);
}

static int json_only, verify;
static long verified, mismatches, fast_events;

/* The stream mixes kinds on one decoder (the informer has one per resource):
 * the kind is read from the object's leading "kind" (every generated object
 * names it in its first 60 bytes). */
static enum store_kind
text_kind(const char *t, size_t n)
{
    const char *k = memmem(t, n < 128 ? n : 128, "\"kind\":\"", 8);
    if (k && !strncmp(k + 8, "Sandbox\"", 8)) return STORE_SANDBOX;
    if (k && !strncmp(k + 8, "Service\"", 8)) return STORE_SERVICE;
    return STORE_POD;
}

static int
on_raw(enum kube_event_type type, const char *text, size_t len, void *udata)
{
    replay *r = udata;
    enum store_kind k = text_kind(text, len);
    if (verify) {
        char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        json_tokener *tok = json_tokener_new_ex(512);
        json_object *o = json_tokener_parse_ex(tok, text, (int)len);
        int rb = store_encode_json(k, text, len, &b, &bl, NULL);
        int ra = o ? store_encode(k, o, &a, &al) : ERR_PARSE;
        verified++;
        if (rb == 0 && (ra != 0 || al != bl || memcmp(a, b, al))) mismatches++;
        json_object_put(o);
        json_tokener_free(tok);
        free(a);
        free(b);
    }
    if (!r->inf) {
        /* decode only: the fast path's decoding is the encoding */
        char *b;
        size_t bl;
        if (store_encode_json(k, text, len, &b, &bl, NULL)) return -1;
        free(b);
        r->events++;
        fast_events++;
        return 0;
    }
    if (informer__refl_raw_event(type, text, len, &r->inf->refl[k])) return -1;
    r->events++;
    fast_events++;
    return 0;
}

/* Feed the file through the decoder; with inf, commit once per chunk.
 * Returns wall seconds; *cpu gets the process CPU seconds (the machine may
 * be shared, so CPU time is the steadier figure). */
static double
run_replay(const char *path, informer *inf, long *events, double *cpu)
{
    static char buf[1 << 20];
    replay r = {inf, 0};
    char err[256];
    FILE *f = fopen(path, "r");
    kube_watch_decoder *d = kube_watch_decoder_new(0);
    if (!json_only) kube__watch_decoder_set_raw(d, on_raw, &r);
    int64_t t0 = time_mono_ns();
    double c0 = cpu_s();
    size_t n;
    while ((n = fread(buf, 1, chunk_bytes, f)) > 0) {
        if (kube_watch_decoder_feed(d, buf, n, on_event, &r, err, sizeof err)) {
            fprintf(stderr, "decode: %s\n", err);
            exit(1);
        }
        double f0 = cpu_s();
        if (inf && informer_flush(inf)) {
            fprintf(stderr, "commit failed\n");
            exit(1);
        }
        flush_cpu += cpu_s() - f0;
    }
    double s = (double)(time_mono_ns() - t0) / 1e9;
    *cpu = cpu_s() - c0;
    kube_watch_decoder_free(d);
    fclose(f);
    *events = r.events;
    return s;
}

static int
dummy_list(void *c, const kube_resource *r, const kube_list_opts *o, kube_done_cb cb, void *u)
{
    (void)c, (void)r, (void)o, (void)cb, (void)u;
    return ERR_INVALID;
}

typedef struct touch_ctx {
    size_t n, bytes;
    unsigned sum;
} touch_ctx;

static int
touch(const store_item *it, void *udata)
{
    touch_ctx *t = udata;
    const unsigned char *p = it->data;
    t->n++;
    t->bytes += it->len;
    for (size_t i = 0; i < it->len; i += 64)
        t->sum += p[i];
    return 0;
}

/* ---- against kubesim: start to synced, cold and warm ------------------ */

typedef struct simctx {
    struct ev_loop *loop;
    kube_client *kc;
    int inflight, done, failed, synced;
} simctx;

static void
on_created(const kube_result *res, void *udata)
{
    simctx *c = udata;
    c->inflight--;
    c->done++;
    if (res->err && res->err != ERR_EXISTS) {
        if (c->failed++ < 3)
            fprintf(stderr, "create failed: %s %s\n", err_str(res->err), res->message);
    }
}

static void
on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    ev_break(loop, EVBREAK_ONE);
}

static void
pump(struct ev_loop *loop, double s)
{
    ev_timer t;
    ev_timer_init(&t, on_tick, s, 0.);
    ev_timer_start(loop, &t);
    ev_run(loop, 0);
    ev_timer_stop(loop, &t);
}

/* CPU seconds used so far by another process (utime + stime). */
static double
proc_cpu_s(pid_t pid)
{
    char p[64], buf[1024];
    unsigned long ut = 0, st = 0;
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *q = strrchr(buf, ')');
    if (!q || sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static pid_t
spawn_sim(const char *bin, const char *kc, char *url, size_t urllen)
{
    int fd[2];
    pid_t pid;
    if (pipe(fd)) return -1;
    pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        execl(bin, bin, "--port", "0", "--kubeconfig-out", kc, "--no-kubelet", "--quiet", "--crds",
              CACHEBENCH_CRDS, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[512];
    url[0] = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "ready %255s", url) == 1) break;
    if (f) fclose(f);
    (void)urllen;
    return url[0] ? pid : -1;
}

static void
on_synced(informer *inf, void *udata)
{
    (void)inf;
    ((simctx *)udata)->synced = 1;
}

static double
sync_once(simctx *c, const char *sdir, long *rss_delta, int *lists, double *cpu)
{
    store *st;
    char err[256];
    long r0 = rss_kib();
    double c0 = cpu_s();
    int64_t t0 = time_mono_ns();
    if (store_open(sdir, NULL, &st, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    informer *inf = informer_new(c->loop, c->kc, st, NULL);
    informer_on_synced(inf, on_synced, c);
    c->synced = 0;
    informer_start(inf);
    while (!c->synced)
        pump(c->loop, 0.001);
    double s = (double)(time_mono_ns() - t0) / 1e9;
    *cpu = cpu_s() - c0;
    informer_stats is;
    informer_get_stats(inf, &is);
    *lists = (int)is.lists;
    *rss_delta = rss_kib() - r0;
    pump(c->loop, 0.05); /* let the watches open */
    informer_free(inf);
    store_close(st);
    return s;
}

static int
sim_bench(const char *bin, const char *dir, int n)
{
    char kc[512], url[256], err[256], body[1024], name[64];
    kube_config cfg;
    simctx c = {0};
    snprintf(kc, sizeof kc, "%s/kubeconfig", dir);
    pid_t pid = spawn_sim(bin, kc, url, sizeof url);
    if (pid < 0) {
        fprintf(stderr, "cannot start %s\n", bin);
        return 1;
    }
    c.loop = ev_loop_new(EVFLAG_AUTO);
    if (kube_config_load(kc, &cfg, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    c.kc = kube_client_new(c.loop, &cfg, NULL, err, sizeof err);
    if (!c.kc) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    c.inflight++;
    kube_create(c.kc, &KUBE_NAMESPACES, NULL,
                "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"bench\"}}",
                on_created, &c);
    while (c.inflight)
        pump(c.loop, 0.001);
    int64_t t0 = time_mono_ns();
    for (int i = 0; i < 3 * n; i++) {
        int k = i % 3, j = i / 3;
        snprintf(name, sizeof name, "pool-%d-%05d", j % 50, j);
        char h[9];
        namehash_hex(name, h);
        const kube_resource *r;
        if (k == 0) {
            r = informer_resource(STORE_SANDBOX);
            snprintf(
                body, sizeof body,
                "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\",\"metadata\":"
                "{\"name\":\"%s\",\"labels\":{\"agents.x-k8s.io/warm-pool-sandbox\":\"%08x\"}},"
                "\"spec\":{\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"main\","
                "\"image\":\"registry.example/agent:1.2\",\"ports\":[{\"containerPort\":8888}]"
                "}]}}}}",
                name, (unsigned)(j % 50));
        } else if (k == 1) {
            r = informer_resource(STORE_POD);
            snprintf(body, sizeof body,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
                     "\"labels\":{\"agents.x-k8s.io/sandbox-name-hash\":\"%s\"}},\"spec\":{"
                     "\"containers\":[{\"name\":\"main\",\"image\":\"registry.example/agent:1.2\","
                     "\"ports\":[{\"containerPort\":8888}]}]}}",
                     name, h);
        } else {
            r = informer_resource(STORE_SERVICE);
            snprintf(body, sizeof body,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\","
                     "\"labels\":{\"agents.x-k8s.io/sandbox-name-hash\":\"%s\"}},\"spec\":{"
                     "\"clusterIP\":\"None\",\"selector\":{\"agents.x-k8s.io/sandbox-name-hash\":"
                     "\"%s\"},\"ports\":[{\"port\":8888}]}}",
                     name, h, h);
        }
        while (c.inflight >= 64)
            ev_run(c.loop, EVRUN_ONCE);
        c.inflight++;
        if (kube_create(c.kc, r, "bench", body, on_created, &c)) {
            c.inflight--;
            c.failed++;
        }
    }
    while (c.inflight)
        ev_run(c.loop, EVRUN_ONCE);
    double cs = (double)(time_mono_ns() - t0) / 1e9;
    printf("kubesim: created %d objects in %.1f s (%d failed)\n", 3 * n, cs, c.failed);

    char sdir[512];
    snprintf(sdir, sizeof sdir, "%s/simcache", dir);
    long rss;
    int lists;
    double cpu, sim0 = proc_cpu_s(pid);
    double cold = sync_once(&c, sdir, &rss, &lists, &cpu);
    double simcpu = proc_cpu_s(pid) - sim0;
    printf("cold start to synced: %.2f s (%d LIST pages), %.0f objects/s; CPU: controller side "
           "%.2f s (%.0f objects/s), kubesim %.2f s; VmRSS +%.1f MiB = %.0f bytes/object\n",
           cold, lists, 3.0 * n / cold, cpu, 3.0 * n / cpu, simcpu, (double)rss / 1024,
           (double)rss * 1024 / (3.0 * n));
    double warm = sync_once(&c, sdir, &rss, &lists, &cpu);
    printf("warm start to synced: %.2f ms (%d LIST pages; store open + identity GET + resume "
           "from the stored RVs)\n",
           warm * 1e3, lists);
    kube_client_free(c.kc);
    kube_config_fini(&cfg);
    ev_loop_destroy(c.loop);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return 0;
}

int
main(int argc, char **argv)
{
    int n = 50000, keep = 0, opt;
    const char *sim = NULL;
    char dir[256] = "";
    char path[512], err[256];
    while ((opt = getopt(argc, argv, "n:d:ks:c:JV")) != -1) {
        if (opt == 'J') json_only = 1;
        if (opt == 'V') verify = 1;
        if (opt == 'c' && atoi(optarg) > 0 && atoi(optarg) <= 1024)
            chunk_bytes = (size_t)atoi(optarg) << 10;
        if (opt == 's') sim = optarg;
        if (opt == 'n') n = atoi(optarg);
        if (opt == 'd') snprintf(dir, sizeof dir, "%s", optarg);
        if (opt == 'k') keep = 1;
    }
    if (n <= 0) n = 1;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/cachebench.XXXXXX");
        if (!mkdtemp(dir)) return 1;
    }
    log_setup(stderr, getenv("CACHEBENCH_LOG") ? LOG_INFO : LOG_WARN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(path, sizeof path, "%s/stream.json", dir);
    size_t bytes;
    long events;
    if (write_stream(path, n, &bytes, &events)) return 1;
    printf("cachebench: %d Sandboxes + %d Pods + %d Services, then %d Pod updates\n", n, n, n, n);
    printf("stream file: %ld events, %.1f MiB (%.0f bytes/event)\n", events,
           (double)bytes / 1048576, (double)bytes / (double)events);

    long dec_events;
    double dec_cpu, dec_s = run_replay(path, NULL, &dec_events, &dec_cpu);
    printf("decode only:          %8.0f events/s wall, %8.0f events/s CPU (%.2f s; %s, %ld of "
           "%ld events on the fast path)\n",
           (double)dec_events / dec_s, (double)dec_events / dec_cpu, dec_s,
           json_only ? "json-c trees, -J" : "JSON text -> msgpack", fast_events, dec_events);
    if (verify) {
        printf("verify: %ld events, fast encoding == json-c tree encoding for all but %ld\n",
               verified, mismatches);
        if (mismatches || verified != dec_events) return 1;
        verify = 0;
    }

    char sdir[512];
    snprintf(sdir, sizeof sdir, "%s/cache", dir);
    store *st;
    if (store_open(sdir, NULL, &st, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    informer_transport t = {dummy_list, NULL, NULL, NULL, NULL, NULL};
    informer_opts o = {.skip_identity = 1, .max_batch = 1 << 30};
    informer *inf = informer_new_transport(loop, &t, st, &o);
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        inf->refl[k].state = REFL_WATCHING;
    long rss0 = rss_kib();
    long rep_events;
    double rep_cpu, rep_s = run_replay(path, inf, &rep_events, &rep_cpu);
    long rss1 = rss_kib();
    informer_stats ist;
    informer_get_stats(inf, &ist);
    printf("decode+commit:        %8.0f events/s wall, %8.0f events/s CPU (%.2f s, %llu commits, "
           "one per %zu KiB read)\n",
           (double)rep_events / rep_s, (double)rep_events / rep_cpu, rep_s,
           (unsigned long long)ist.commits, chunk_bytes >> 10);
    printf("store commits alone:  %8.0f events/s CPU (%.1f us/event: LMDB writes, indexes, "
           "change records; slimming+msgpack happen at decode time)\n",
           (double)rep_events / flush_cpu, flush_cpu * 1e6 / (double)rep_events);
    store_stats ss;
    store_get_stats(st, &ss);
    size_t objs = (size_t)3 * (size_t)n;
    printf("LMDB: file %.1f MiB, in use %.1f MiB = %.0f bytes/object\n",
           (double)ss.file_bytes / 1048576, (double)ss.used_bytes / 1048576,
           (double)ss.used_bytes / (double)objs);
    printf("VmRSS growth during replay: %.1f MiB = %.0f bytes/object\n",
           (double)(rss1 - rss0) / 1024, (double)(rss1 - rss0) * 1024 / (double)objs);
    informer_free(inf);
    ev_loop_destroy(loop);
    store_close(st);

    /* warm: reopen, read the rvs (what a restart does before watching),
     * then read every object once (what reconcilers touching everything cost). */
    long rss2 = rss_kib();
    int64_t t0 = time_mono_ns();
    if (store_open(sdir, NULL, &st, err, sizeof err)) return 1;
    store_rtxn *r;
    char rv[STORE_MAX_RV + 1];
    int have = 0;
    store_rtxn_begin(st, &r);
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        have += store_get_rv(r, k, rv, sizeof rv) == 0;
    store_rtxn_end(r);
    double warm_ms = (double)(time_mono_ns() - t0) / 1e6;
    printf("warm open + stored RVs: %.2f ms (%d resources resume without LIST)\n", warm_ms, have);
    touch_ctx tc = {0, 0, 0};
    t0 = time_mono_ns();
    store_rtxn_begin(st, &r);
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        store_list(r, k, NULL, touch, &tc);
    store_rtxn_end(r);
    double scan_ms = (double)(time_mono_ns() - t0) / 1e6;
    long rss3 = rss_kib();
    printf("full scan of %zu objects: %.1f ms; stored %.0f bytes/object (msgpack, slimmed)\n", tc.n,
           scan_ms, (double)tc.bytes / (double)tc.n);
    printf("VmRSS after reopen + full scan: +%.1f MiB = %.0f bytes/object (file-backed pages)\n",
           (double)(rss3 - rss2) / 1024, (double)(rss3 - rss2) * 1024 / (double)tc.n);
    store_close(st);
    if (sim && sim_bench(sim, dir, n)) return 1;
    if (!keep) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
    }
    return 0;
}
