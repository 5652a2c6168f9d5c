/* harness.c - lifecycle of a harness: its temporary directory, the kubesim and controller
 * child processes, and their logs.
 *
 * Children are started with fork+exec, stdout and stderr redirected to files in the temp
 * dir, and PR_SET_PDEATHSIG so that a test killed by its timeout does not leave servers
 * behind. kubesim's readiness is its `ready <url>` stdout line, which it prints only after
 * the kubeconfig is written; the harness polls the stdout file for it (no pipe, so a child
 * that writes much output can never block on us). */
#include "tests/harness/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/timeutil.h"

#define HH_READY_TIMEOUT_MS 20000
#define HH_STOP_GRACE_MS    5000
#define HH_LOG_TAIL_BYTES   (256 * 1024)

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

const char *
harness_bin_path(const char *name, char *buf, size_t len)
{
    const char *dir = getenv("ASC_BIN_DIR");
    snprintf(buf, len, "%s/%s", dir && *dir ? dir : ".", name);
    return buf;
}

harness *
harness_new(void)
{
    static int curl_ready;
    if (!curl_ready) {
        /* Tests are single-threaded here; curl_global_init once per process. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
        curl_ready = 1;
    }
    harness *h = calloc(1, sizeof *h);
    if (h == NULL) return NULL;
    const char *tmp = getenv("TMPDIR");
    snprintf(h->tmpdir, sizeof h->tmpdir, "%s/asc-harness-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(h->tmpdir) == NULL) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", h->tmpdir, strerror(errno));
        free(h);
        return NULL;
    }
    snprintf(h->sim_out, sizeof h->sim_out, "%s/kubesim.out", h->tmpdir);
    snprintf(h->sim_log, sizeof h->sim_log, "%s/kubesim.log", h->tmpdir);
    snprintf(h->ctl_log, sizeof h->ctl_log, "%s/controller.log", h->tmpdir);
    snprintf(h->cache_dir, sizeof h->cache_dir, "%s/cache", h->tmpdir);
    const char *ext = getenv("TEST_KUBECONFIG");
    if (ext && *ext) {
        h->external = 1;
        snprintf(h->kubeconfig, sizeof h->kubeconfig, "%s", ext);
    } else {
        snprintf(h->kubeconfig, sizeof h->kubeconfig, "%s/kubeconfig", h->tmpdir);
    }
    return h;
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

void
harness_free(harness *h)
{
    if (h == NULL) return;
    hh__http_fini(h);
    harness_stop_controller(h, NULL);
    harness_stop_sim(h, NULL);
    if (!h->passed) harness_print_logs(h, stderr);
    if (getenv("ASC_HARNESS_KEEP") == NULL)
        nftw(h->tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "harness: kept %s\n", h->tmpdir);
    free(h->ua);
    free(h->token);
    free(h->ca_pem);
    free(h->cert_pem);
    free(h->key_pem);
    free(h);
}

void
harness_pass(harness *h)
{
    h->passed = 1;
}

int
harness_is_kubesim(const harness *h)
{
    return !h->external;
}

const char *
harness_url(const harness *h)
{
    return h->url;
}

const char *
harness_kubeconfig(const harness *h)
{
    return h->kubeconfig;
}

const char *
harness_tmpdir(const harness *h)
{
    return h->tmpdir;
}

pid_t
harness_sim_pid(const harness *h)
{
    return h->sim_pid;
}

int
harness_set_user_agent(harness *h, const char *ua)
{
    char *c = strdup(ua);
    if (c == NULL) return ERR_NOMEM;
    free(h->ua);
    h->ua = c;
    return 0;
}

/* fork+exec argv with stdout to out_path and stderr to err_path (may be equal). */
static int
spawn(char *const argv[], const char *out_path, const char *err_path, pid_t *pid)
{
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) return -errno;
    int err = strcmp(out_path, err_path) == 0
                  ? out
                  : open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (err < 0) {
        int e = -errno;
        close(out);
        return e;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t p = fork();
    if (p < 0) {
        int e = -errno;
        close(out);
        if (err != out) close(err);
        return e;
    }
    if (p == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, STDIN_FILENO);
        execv(argv[0], argv);
        fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out);
    if (err != out) close(err);
    *pid = p;
    return 0;
}

static int
exit_code(int st)
{
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

/* SIGTERM, wait up to the grace period, then SIGKILL. */
static int
stop_child(pid_t *pid, const char *what, int *exit_status)
{
    if (*pid <= 0) {
        if (exit_status) *exit_status = 0;
        return 0;
    }
    int st = 0;
    kill(*pid, SIGTERM);
    int64_t end = time_mono_ms() + HH_STOP_GRACE_MS;
    pid_t r;
    while ((r = waitpid(*pid, &st, WNOHANG)) == 0 && time_mono_ms() < end)
        sleep_ms(10);
    if (r == 0) {
        fprintf(stderr, "harness: %s did not stop within %d ms of SIGTERM: SIGKILL\n", what,
                HH_STOP_GRACE_MS);
        kill(*pid, SIGKILL);
        waitpid(*pid, &st, 0);
    }
    *pid = 0;
    if (exit_status) *exit_status = r < 0 ? -1 : exit_code(st);
    return 0;
}

/* Look for "ready <url>\n" in the child's stdout file. 1 found, 0 not yet. */
static int
read_ready(const char *path, char *url, size_t len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        if (n > 6 && strncmp(line, "ready ", 6) == 0 && line[n - 1] == '\n') {
            line[n - 1] = '\0';
            snprintf(url, len, "%s", line + 6);
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

int
harness_start_sim(harness *h, const char *const *args)
{
    if (h->external) return h->url[0] ? 0 : hh__kubeconfig_load(h, h->kubeconfig, 0);
    if (h->sim_pid > 0 || h->inproc) return ERR_INVALID;
    if (h->inproc_start) return h->inproc_start(h, args);
    char bin[PATH_MAX];
    harness_bin_path("kubesim", bin, sizeof bin);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "harness: %s is missing\n", bin);
        return ERR_CONFIG;
    }
    const char *argv[64];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--kubeconfig-out";
    argv[n++] = h->kubeconfig;
    for (size_t i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    unlink(h->kubeconfig);
    int rc = spawn((char *const *)argv, h->sim_out, h->sim_log, &h->sim_pid);
    if (rc != 0) return rc;
    int64_t end = time_mono_ms() + HH_READY_TIMEOUT_MS;
    char url[sizeof h->url] = "";
    while (!read_ready(h->sim_out, url, sizeof url)) {
        int st;
        if (waitpid(h->sim_pid, &st, WNOHANG) == h->sim_pid) {
            fprintf(stderr, "harness: kubesim exited (%d) before ready\n", exit_code(st));
            h->sim_pid = 0;
            harness_print_logs(h, stderr);
            return ERR_IO;
        }
        if (time_mono_ms() > end) {
            fprintf(stderr, "harness: kubesim not ready after %d ms\n", HH_READY_TIMEOUT_MS);
            harness_stop_sim(h, NULL);
            harness_print_logs(h, stderr);
            return ERR_TIMEOUT;
        }
        sleep_ms(5);
    }
    snprintf(h->url, sizeof h->url, "%s", url);
    /* The ready line names the URL; the kubeconfig adds token and CA. */
    return hh__kubeconfig_load(h, h->kubeconfig, 1);
}

int
harness_stop_sim(harness *h, int *exit_status)
{
    if (h->inproc) {
        h->inproc_stop(h);
        if (exit_status) *exit_status = 0;
        return 0;
    }
    return stop_child(&h->sim_pid, "kubesim", exit_status);
}

int
harness_start_controller(harness *h, int extensions, const char *const *args)
{
    if (h->ctl_pid > 0) return ERR_INVALID;
    if (h->url[0] == '\0') {
        fprintf(stderr, "harness: start the API server before the controller\n");
        return ERR_CONFIG;
    }
    char bin[PATH_MAX];
    harness_bin_path("agent-sandbox-controller", bin, sizeof bin);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "harness: %s is missing\n", bin);
        return ERR_CONFIG;
    }
    mkdir(h->cache_dir, 0755);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--kubeconfig";
    argv[n++] = h->kubeconfig;
    argv[n++] = "--cache-dir";
    argv[n++] = h->cache_dir;
    argv[n++] = "--leader-elect=false";
    argv[n++] = "--metrics-bind-address=0";
    argv[n++] = "--health-probe-bind-address=0";
    if (extensions) argv[n++] = "--extensions";
    for (size_t i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return spawn((char *const *)argv, h->ctl_log, h->ctl_log, &h->ctl_pid);
}

int
harness_stop_controller(harness *h, int *exit_status)
{
    return stop_child(&h->ctl_pid, "controller", exit_status);
}

int
harness_controller_running(harness *h)
{
    if (h->ctl_pid <= 0) return 0;
    int st;
    if (waitpid(h->ctl_pid, &st, WNOHANG) == h->ctl_pid) {
        fprintf(stderr, "harness: controller exited (%d)\n", exit_code(st));
        h->ctl_pid = 0;
        return 0;
    }
    return 1;
}

static void
print_file(FILE *out, const char *title, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > HH_LOG_TAIL_BYTES ? size - HH_LOG_TAIL_BYTES : 0;
    fseek(f, from, SEEK_SET);
    fprintf(out, "----- %s (%s, %ld bytes%s) -----\n", title, path, size, from ? ", tail" : "");
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, out);
    fprintf(out, "----- end of %s -----\n", title);
    fclose(f);
}

void
harness_print_logs(harness *h, FILE *out)
{
    print_file(out, "kubesim stdout", h->sim_out);
    print_file(out, "kubesim stderr", h->sim_log);
    print_file(out, "controller log", h->ctl_log);
}
