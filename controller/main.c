/* main.c - agent-sandbox-controller.
 *
 * Start-up order (configuration errors first, before anything is created):
 *   1. flags (syntax and values; exit 2 with the flag named);
 *   2. --help / --version (exit 0);
 *   3. configuration: the kubeconfig (exit 1 naming the file), then the
 *      --leader-elect guard (leader election does not exist yet);
 *   4. the cache directory (created if missing);
 *   5. the libev loop, the kube client, the manager (opens the store: exit 1
 *      when it cannot), the metrics and health servers;
 *   6. GET /version: unreachable -> logged and retried with backoff (a
 *      controller that exits only restart-loops); TLS failure or 401/403 ->
 *      exit 1 with the cause; reachable -> the manager starts (informers,
 *      shards, writes: manager.h) and /readyz turns 200 once caches synced;
 *   7. run until SIGTERM/SIGINT, then stop everything in reverse order.
 * Shutdown is bounded: a watchdog ends the process 5 s after the signal if
 * a step hangs. The store commits each batch with the resourceVersion it
 * ends at, so an interrupted shutdown leaves a consistent cache behind.
 */
#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/apicheck.h"
#include "controller/flags.h"
#include "controller/httpserv.h"
#include "controller/manager.h"
#include "controller/metrics.h"
#include "core/err.h"
#include "core/log.h"
#include "kube/kube.h"

#define CTL_MAX_ACTIVE_REQUESTS 256 /* requests in libcurl at once (watches aside) */

#define SHUTDOWN_BOUND_S 5

typedef struct app {
    ctl_flags flags;
    kube_config kcfg;
    struct ev_loop *loop;
    kube_client *client;
    ctl_apicheck check;
    ctl_metrics *metrics;
    ctl_agent_metrics am;
    ctl_httpserv *metrics_srv, *health_srv;
    ctl_manager *mgr;
    ctl_health health;
    ev_signal sigterm, sigint;
    atomic_int api_ok; /* read by the health server's thread */
    int exit_code;
} app;

/* ---- helpers ------------------------------------------------------------ */

static void
log_note(int kind, const char *flag, const char *msg, void *udata)
{
    (void)udata;
    if (kind == CTL_NOTE_WARN)
        LOG_W("flags", msg, "flag=%s", flag);
    else
        LOG_I("flags", msg, "flag=%s", flag);
}

/* mkdir -p, then check that we can write there. 0 or -errno; err names the
 * directory and the failing step. */
static int
cache_dir_prepare(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        snprintf(err, errlen, "cache directory path is empty or too long");
        return -ENAMETOOLONG;
    }
    memcpy(path, dir, n + 1);
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(path, 0750) != 0 && errno != EEXIST) {
                int e = errno;
                snprintf(err, errlen, "cannot create cache directory %s: %s", path, strerror(e));
                return -e;
            }
            *p = c;
            if (c == '\0') break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cache directory %s is not a directory", dir);
        return -ENOTDIR;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        int e = errno;
        snprintf(err, errlen, "cache directory %s is not writable: %s", dir, strerror(e));
        return -e;
    }
    return 0;
}

static void
watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "{\"level\":\"error\",\"mod\":\"main\",\"msg\":\"shutdown took "
                              "longer than 5s; exiting\"}\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

/* ---- callbacks (I/O thread, except ready_cb) ------------------------------ */

static int
ready_cb(void *udata, char *why, size_t whylen)
{
    app *a = udata;
    if (!atomic_load(&a->api_ok)) {
        snprintf(why, whylen, "apiserver: not reachable yet");
        return 0;
    }
    return ctl_manager_ready(a->mgr, why, whylen);
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    LOG_I("main", "signal received; shutting down", "signal=%s",
          w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
    signal(SIGALRM, watchdog);
    alarm(SHUTDOWN_BOUND_S);
    ev_break(loop, EVBREAK_ALL);
}

static void
on_apicheck(int rc, const char *git_version, const char *message, void *udata)
{
    app *a = udata;
    (void)git_version;
    if (rc == 0) {
        atomic_store(&a->api_ok, 1);
        rc = ctl_manager_start(a->mgr);
        if (rc == 0) return;
        LOG_E("main", "exiting: the controller cannot start", "err=%s", err_str(rc));
        a->exit_code = 1;
        ev_break(a->loop, EVBREAK_ALL);
        return;
    }
    LOG_E("main", "exiting: the API server cannot be used", "server=%s err=%s",
          kube_client_server(a->client), err_str(rc));
    (void)message; /* apicheck logged it with the status */
    a->exit_code = 1;
    ev_break(a->loop, EVBREAK_ALL);
}

/* ---- start / stop ------------------------------------------------------- */

static int
start_servers(app *a)
{
    char err[512];
    a->metrics = ctl_metrics_new();
    if (a->metrics == NULL || ctl_metrics_declare_agent(a->metrics, &a->am) != 0 ||
        ctl_metrics_add_collector(a->metrics, ctl_manager_collect, a->mgr) != 0) {
        LOG_E("main", "cannot set up metrics", "err=%s", err_str(ERR_NOMEM));
        return ERR_NOMEM;
    }
    a->metrics_srv = ctl_metrics_start(a->flags.metrics_bind_address, a->metrics, err, sizeof err);
    if (a->metrics_srv == NULL && err[0]) {
        LOG_E("main", "cannot start the metrics server", "err=%s", err);
        return ERR_CONFIG;
    }
    a->health.ready = ready_cb;
    a->health.udata = a;
    a->health_srv =
        ctl_health_start(a->flags.health_probe_bind_address, &a->health, err, sizeof err);
    if (a->health_srv == NULL && err[0]) {
        LOG_E("main", "cannot start the health probe server", "err=%s", err);
        return ERR_CONFIG;
    }
    return 0;
}

static int
run(app *a)
{
    char err[512];
    int rc = cache_dir_prepare(a->flags.cache_dir, err, sizeof err);
    if (rc != 0) {
        LOG_E("main", "cannot prepare the cache directory", "dir=%s err=%s", a->flags.cache_dir,
              err);
        return 1;
    }
    a->loop = ev_default_loop(EVFLAG_AUTO);
    if (a->loop == NULL) {
        LOG_E("main", "cannot create the event loop", "err=%s", "ev_default_loop failed");
        return 1;
    }
    kube_client_opts opts;
    kube_client_opts_init(&opts);
    opts.user_agent = "agent-sandbox-controller/" ASC_VERSION;
    opts.qps = a->flags.kube_api_qps; /* < 0: unlimited, as upstream's -1 */
    opts.burst = a->flags.kube_api_burst;
    /* A burst of writes (20,000 Sandboxes created at once) must not become
     * 20,000 transfers inside libcurl: removing a finished one costs time
     * linear in the transfers it holds (measured: 88% of the controller's CPU),
     * and over HTTP/1.1 each holds a connection (~1 GiB). The rest wait in the
     * client's queue, where their timeout has not started. */
    opts.max_active = CTL_MAX_ACTIVE_REQUESTS;
    a->client = kube_client_new(a->loop, &a->kcfg, &opts, err, sizeof err);
    if (a->client == NULL) {
        LOG_E("main", "cannot create the API client", "server=%s err=%s", a->kcfg.server, err);
        return 1;
    }
    a->mgr = ctl_manager_new(a->loop, a->client, &a->flags, &a->am, err, sizeof err);
    if (a->mgr == NULL) {
        LOG_E("main", "cannot open the cache", "dir=%s err=%s", a->flags.cache_dir, err);
        return 1;
    }
    if (start_servers(a) != 0) return 1;
    rc = ctl_apicheck_start(&a->check, a->loop, a->client, on_apicheck, a);
    if (rc != 0) {
        LOG_E("main", "cannot start the API check", "server=%s err=%s",
              kube_client_server(a->client), err_str(rc));
        return 1;
    }
    ev_signal_init(&a->sigterm, on_signal, SIGTERM);
    ev_signal_init(&a->sigint, on_signal, SIGINT);
    ev_signal_start(a->loop, &a->sigterm);
    ev_signal_start(a->loop, &a->sigint);
    LOG_I("main", "running", "server=%s", kube_client_server(a->client));
    ev_run(a->loop, 0);
    return a->exit_code;
}

static void
shutdown_all(app *a)
{
    /* Reverse order of start: servers (their threads read a->metrics and
     * the manager), the manager (informers, shards, writes in flight for up
     * to 1 s, then the store), the check, the client (cancels pending
     * requests), the loop. */
    ctl_httpserv_stop(a->health_srv);
    ctl_httpserv_stop(a->metrics_srv);
    ctl_manager_stop(a->mgr);
    ctl_manager_free(a->mgr);
    ctl_metrics_free(a->metrics);
    if (a->loop) {
        ctl_apicheck_stop(&a->check);
        ev_signal_stop(a->loop, &a->sigterm);
        ev_signal_stop(a->loop, &a->sigint);
    }
    kube_client_free(a->client);
    if (a->loop) ev_loop_destroy(a->loop);
    kube_config_fini(&a->kcfg);
}

int
main(int argc, char **argv)
{
    static app a; /* zeroed; large enough to keep off the stack */
    char err[512];

    if (ctl_flags_init(&a.flags) != 0) {
        fprintf(stderr, "agent-sandbox-controller: out of memory\n");
        return 1;
    }
    if (ctl_flags_parse(&a.flags, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr,
                "agent-sandbox-controller: %s\nRun 'agent-sandbox-controller --help' for usage.\n",
                err);
        ctl_flags_fini(&a.flags);
        return 2;
    }
    if (a.flags.help || a.flags.version) {
        if (a.flags.help)
            ctl_flags_usage(stdout);
        else
            printf("agent-sandbox-controller %s (commit %s)\n", ASC_VERSION, ASC_GIT_COMMIT);
        ctl_flags_fini(&a.flags);
        return 0;
    }
    log_setup(stderr, a.flags.log_level);

    /* Configuration errors, all of them, before anything is created. */
    int bad = 0;
    const char *kc = a.flags.kubeconfig[0] ? a.flags.kubeconfig : NULL;
    if (kube_config_load(kc, &a.kcfg, err, sizeof err) != 0) {
        LOG_E("main", "cannot load the kubeconfig", "kubeconfig=%s err=%s", kc ? kc : "(default)",
              err);
        bad = 1;
    }
    if (a.flags.leader_elect) {
        LOG_E("main",
              "leader election is not implemented yet: start with --leader-elect=false and run "
              "a single replica",
              "flag=%s", "leader-elect");
        bad = 1;
    }
    if (bad) {
        kube_config_fini(&a.kcfg);
        ctl_flags_fini(&a.flags);
        return 1;
    }

    LOG_I("main", "starting",
          "version=%s commit=%s kubeconfig=%s context=%s server=%s "
          "cache_dir=%s shards=%d",
          ASC_VERSION, ASC_GIT_COMMIT, a.kcfg.source, a.kcfg.context, a.kcfg.server,
          a.flags.cache_dir, a.flags.shards);
    ctl_flags_notes(&a.flags, log_note, NULL);

    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        LOG_E("main", "cannot initialise libcurl", "err=%s", "curl_global_init failed");
        kube_config_fini(&a.kcfg);
        ctl_flags_fini(&a.flags);
        return 1;
    }
    int code = run(&a);
    shutdown_all(&a);
    curl_global_cleanup();
    LOG_I("main", "stopped", "exit_code=%d", code);
    ctl_flags_fini(&a.flags);
    return code;
}
