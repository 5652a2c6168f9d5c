/* env.c - starting, watching and stopping kubesim and the controller (see env.h). */
#include "bench/benchlib/env.h"

#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/timeutil.h"

#define BENCH_ENV_STOP_GRACE_MS 5000
#define BENCH_ENV_MAX_ARGS      64

const char *
bench_sibling_path(const char *name, char *buf, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(buf, len, "./%s", name);
        return buf;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    if (snprintf(buf, len, "%s/%s", self, name) >= (int)len) snprintf(buf, len, "./%s", name);
    return buf;
}

static size_t
discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* GET http://127.0.0.1:port/readyz: its HTTP status, 0 when unreachable. */
static long
readyz(int port)
{
    CURL *c = curl_easy_init();
    if (c == NULL) return 0;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int
start_sim(bench_env *e, const bench_env_opts *o, int timeout_ms, char *err, size_t errlen)
{
    char bin[PATH_MAX], out[PATH_MAX + 16], log[PATH_MAX + 16];
    if (o->kubesim_bin)
        snprintf(bin, sizeof bin, "%s", o->kubesim_bin);
    else
        bench_sibling_path("kubesim", bin, sizeof bin);
    if (access(bin, X_OK) != 0) {
        snprintf(err, errlen, "kubesim binary %s: %s (build it, or pass --kubesim-bin)", bin,
                 strerror(errno));
        return ERR_CONFIG;
    }
    snprintf(out, sizeof out, "%s/kubesim.out", e->tmpdir);
    snprintf(log, sizeof log, "%s/kubesim.log", e->tmpdir);
    const char *argv[BENCH_ENV_MAX_ARGS + 8];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--kubeconfig-out";
    argv[n++] = e->kubeconfig;
    for (size_t i = 0; o->kubesim_args && o->kubesim_args[i] && n < BENCH_ENV_MAX_ARGS; i++)
        argv[n++] = o->kubesim_args[i];
    argv[n] = NULL;
    int rc = bench_child_spawn(&e->sim, "kubesim", (char *const *)argv, out, log);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start %s: %s", bin, err_str(rc));
        return rc;
    }
    rc = bench_child_wait_line(&e->sim, out, "ready ", e->url, sizeof e->url, timeout_ms);
    if (rc == ERR_IO)
        snprintf(err, errlen, "kubesim exited with code %d before it was ready", e->sim.exit_code);
    else if (rc != 0)
        snprintf(err, errlen, "kubesim printed no 'ready' line within %d ms", timeout_ms);
    return rc;
}

static int
start_controller(bench_env *e, const bench_env_opts *o, int timeout_ms, char *err, size_t errlen)
{
    char bin[PATH_MAX], log[PATH_MAX + 16], cache[PATH_MAX + 16], health[64];
    if (o->controller_bin)
        snprintf(bin, sizeof bin, "%s", o->controller_bin);
    else
        bench_sibling_path("agent-sandbox-controller", bin, sizeof bin);
    if (access(bin, X_OK) != 0) {
        snprintf(err, errlen, "controller binary %s: %s (build it, or pass --controller-bin)", bin,
                 strerror(errno));
        return ERR_CONFIG;
    }
    int rc = bench_free_port(&e->health_port);
    if (rc != 0) {
        snprintf(err, errlen, "no free port for the controller's /readyz: %s", err_str(rc));
        return rc;
    }
    snprintf(log, sizeof log, "%s/controller.log", e->tmpdir);
    snprintf(cache, sizeof cache, "%s/cache", e->tmpdir);
    snprintf(health, sizeof health, "--health-probe-bind-address=127.0.0.1:%d", e->health_port);
    mkdir(cache, 0755);
    const char *argv[BENCH_ENV_MAX_ARGS + 12];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--kubeconfig";
    argv[n++] = e->kubeconfig;
    argv[n++] = "--cache-dir";
    argv[n++] = cache;
    argv[n++] = "--leader-elect=false";
    argv[n++] = "--metrics-bind-address=0";
    argv[n++] = health;
    if (o->extensions) argv[n++] = "--extensions";
    for (size_t i = 0; o->controller_args && o->controller_args[i] && n < BENCH_ENV_MAX_ARGS; i++)
        argv[n++] = o->controller_args[i];
    argv[n] = NULL;
    rc = bench_child_spawn(&e->ctl, "controller", (char *const *)argv, log, log);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start %s: %s", bin, err_str(rc));
        return rc;
    }
    e->ctl_pid = e->ctl.pid;
    int64_t end = time_mono_ms() + timeout_ms;
    for (;;) {
        if (!bench_child_alive(&e->ctl)) {
            snprintf(err, errlen, "the controller exited with code %d at start", e->ctl.exit_code);
            return ERR_IO;
        }
        if (readyz(e->health_port) == 200) return 0;
        if (time_mono_ms() > end) {
            snprintf(err, errlen, "the controller's /readyz did not answer 200 within %d ms",
                     timeout_ms);
            return ERR_TIMEOUT;
        }
        sleep_ms(50);
    }
}

int
bench_env_start(bench_env *e, const bench_env_opts *o, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->keep_tmp = o->keep_tmp || getenv("BENCH_KEEP") != NULL;
    int timeout_ms = o->ready_timeout_ms > 0 ? o->ready_timeout_ms : 30000;
    if (o->kubeconfig) {
        snprintf(e->kubeconfig, sizeof e->kubeconfig, "%s", o->kubeconfig);
        e->ctl_pid = o->controller_pid;
        if (e->ctl_pid > 0 && kill(e->ctl_pid, 0) != 0) {
            snprintf(err, errlen, "--controller-pid %d: no such process", (int)e->ctl_pid);
            return ERR_CONFIG;
        }
        return 0;
    }
    e->own = 1;
    const char *tmp = getenv("TMPDIR");
    snprintf(e->tmpdir, sizeof e->tmpdir, "%s/asc-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(e->tmpdir) == NULL) {
        int rc = -errno;
        snprintf(err, errlen, "mkdtemp %s: %s", e->tmpdir, strerror(errno));
        e->tmpdir[0] = '\0';
        return rc;
    }
    if (snprintf(e->kubeconfig, sizeof e->kubeconfig, "%s/kubeconfig", e->tmpdir) >=
        (int)sizeof e->kubeconfig) {
        snprintf(err, errlen, "TMPDIR is too long");
        return ERR_CONFIG;
    }
    int rc = start_sim(e, o, timeout_ms, err, errlen);
    if (rc == 0) rc = start_controller(e, o, timeout_ms, err, errlen);
    return rc;
}

static volatile sig_atomic_t bench_env_signal;

static void
on_signal(int sig)
{
    bench_env_signal = sig;
}

void
bench_env_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int
bench_env_check(void *env, char *why, size_t whylen)
{
    bench_env *e = env;
    if (bench_env_signal) {
        snprintf(why, whylen, "interrupted by signal %d", (int)bench_env_signal);
        return ERR_CANCELED;
    }
    if (e->own) {
        if (!bench_child_alive(&e->sim)) {
            snprintf(why, whylen, "kubesim exited with code %d", e->sim.exit_code);
            return ERR_IO;
        }
        if (!bench_child_alive(&e->ctl)) {
            snprintf(why, whylen, "the controller exited with code %d", e->ctl.exit_code);
            return ERR_IO;
        }
    } else if (e->ctl_pid > 0 && kill(e->ctl_pid, 0) != 0 && errno == ESRCH) {
        snprintf(why, whylen, "the controller (pid %d) is gone", (int)e->ctl_pid);
        return ERR_IO;
    }
    return 0;
}

void
bench_env_print_logs(bench_env *e, FILE *out)
{
    if (!e->own) return;
    bench_child_tail(&e->sim, out, 16 * 1024);
    bench_child_tail(&e->ctl, out, 64 * 1024);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

int
bench_env_stop(bench_env *e, char *why, size_t whylen)
{
    if (!e->own) return 0;
    int ctl_was = e->ctl.pid > 0 || e->ctl.exited, sim_was = e->sim.pid > 0 || e->sim.exited;
    int ctl_alive = bench_child_alive(&e->ctl), sim_alive = bench_child_alive(&e->sim);
    int ctl_rc = 0, sim_rc = 0, rc = 0;
    bench_child_stop(&e->ctl, BENCH_ENV_STOP_GRACE_MS, &ctl_rc);
    bench_child_stop(&e->sim, BENCH_ENV_STOP_GRACE_MS, &sim_rc);
    if (ctl_was && (!ctl_alive || ctl_rc != 0)) {
        snprintf(why, whylen, "the controller %s with code %d",
                 ctl_alive ? "stopped" : "had exited", ctl_rc);
        rc = ERR_IO;
    } else if (sim_was && (!sim_alive || sim_rc != 0)) {
        snprintf(why, whylen, "kubesim %s with code %d", sim_alive ? "stopped" : "had exited",
                 sim_rc);
        rc = ERR_IO;
    }
    if (e->tmpdir[0]) {
        if (e->keep_tmp)
            fprintf(stderr, "bench: kept %s (kubeconfig, logs, cache)\n", e->tmpdir);
        else
            nftw(e->tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        e->tmpdir[0] = '\0';
    }
    e->own = 0;
    return rc;
}
