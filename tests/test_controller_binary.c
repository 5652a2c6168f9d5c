/* test_controller_binary.c - the real agent-sandbox-controller process:
 * --version, --help, flag and kubeconfig errors, the --leader-elect guard,
 * the start-up API check against a small fake API server started here
 * (200, 401, plain HTTP where TLS was expected, nothing listening; after a
 * 200 it serves empty lists so the informers sync), the health endpoint, the User-Agent, and a
 * clean, bounded SIGTERM shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char bin[1024];
static char tmpdir[256];

/* ---- helpers -------------------------------------------------------------- */

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return calloc(1, 1);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (buf == NULL) return calloc(1, 1);
    buf[len] = '\0';
    return buf;
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Every child started, so the group teardown can reap what a failed
 * assertion left running. */
static pid_t children[64];
static int nchildren;

typedef struct proc {
    pid_t pid;
    char out[300], err[300];
} proc;

/* Start the binary with args (NULL-terminated), stdout/stderr into files. */
static void
proc_start(proc *p, const char *const *args)
{
    static int seq;
    char *argv[32];
    int argc = 0;
    argv[argc++] = bin;
    for (int i = 0; args[i] && argc < 31; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    seq++;
    snprintf(p->out, sizeof p->out, "%s/out.%d", tmpdir, seq);
    snprintf(p->err, sizeof p->err, "%s/err.%d", tmpdir, seq);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid > 0 && nchildren < 64) children[nchildren++] = p->pid;
    if (p->pid == 0) {
        int o = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(p->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0) _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        execv(bin, argv);
        _exit(127);
    }
}

/* Wait up to timeout_s. Returns the exit code, 128+signal, or -1 on timeout
 * (the process is then killed). */
static void
forget_child(pid_t pid)
{
    for (int i = 0; i < nchildren; i++)
        if (children[i] == pid) children[i] = 0; /* reaped: never signal a pid that may be reused */
}

static int
proc_wait(proc *p, double timeout_s)
{
    double end = now_s() + timeout_s;
    int st;
    for (;;) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            forget_child(p->pid);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (now_s() > end) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            forget_child(p->pid);
            return -1;
        }
        usleep(10000);
    }
}

/* Wait until the process's stderr contains needle (or timeout). */
static int
proc_wait_log(proc *p, const char *needle, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        char *e = slurp(p->err);
        int found = strstr(e, needle) != NULL;
        free(e);
        if (found) return 1;
        usleep(20000);
    }
    return 0;
}

/* Every line of a log file must be a JSON object with ts, level, mod, msg. */
static void
assert_json_lines(const char *text)
{
    const char *p = text;
    int lines = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_tokener *tok = json_tokener_new();
        json_object *o = json_tokener_parse_ex(tok, p, (int)n);
        if (o == NULL || json_tokener_get_error(tok) != json_tokener_success)
            fail_msg("not a JSON line: %.*s", (int)n, p);
        json_object *v;
        assert_true(json_object_object_get_ex(o, "ts", &v));
        assert_true(json_object_object_get_ex(o, "level", &v));
        assert_true(json_object_object_get_ex(o, "mod", &v));
        assert_true(json_object_object_get_ex(o, "msg", &v));
        json_object_put(o);
        json_tokener_free(tok);
        lines++;
        p += n + (nl ? 1 : 0);
    }
    assert_true(lines > 0);
}

static void
kubeconfig(const char *path, const char *server)
{
    char text[1024];
    snprintf(text, sizeof text,
             "apiVersion: v1\nkind: Config\n"
             "clusters:\n- name: c\n  cluster:\n    server: %s\n"
             "users:\n- name: u\n  user:\n    token: t0ken\n"
             "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
             "current-context: x\n",
             server);
    write_file(path, text);
}

/* ---- a fake API server: one connection at a time, HTTP/1.1, then close ---- */

typedef struct fake_api {
    int fd, port;
    int status;
    const char *body;
    atomic_int stop, hits;
    char user_agent[256];
    pthread_mutex_t lock;
    pthread_t thr;
} fake_api;

static void *
fake_run(void *arg)
{
    fake_api *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd pfd = {f->fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0) continue;
        int c = accept(f->fd, NULL, NULL);
        if (c < 0) continue;
        char req[8192];
        size_t len = 0;
        while (len < sizeof req - 1) {
            struct pollfd cp = {c, POLLIN, 0};
            if (poll(&cp, 1, 2000) <= 0) break;
            ssize_t n = read(c, req + len, sizeof req - 1 - len);
            if (n <= 0) break;
            len += (size_t)n;
            req[len] = '\0';
            if (strstr(req, "\r\n\r\n")) break;
        }
        req[len] = '\0';
        const char *ua = strcasestr(req, "\r\nUser-Agent: ");
        if (ua) {
            ua += 14;
            size_t n = strcspn(ua, "\r\n");
            pthread_mutex_lock(&f->lock);
            snprintf(f->user_agent, sizeof f->user_agent, "%.*s", (int)n, ua);
            pthread_mutex_unlock(&f->lock);
        }
        atomic_fetch_add(&f->hits, 1);
        /* Once /version answers 200 the informers start: LISTs get an empty
         * list, WATCHes an empty stream (the reflector backs off and
         * rewatches), so the caches sync and /readyz can turn 200. */
        const char *body = f->body;
        if (f->status == 200 && strncmp(req, "GET /version", 12) != 0) {
            const char *eol = strstr(req, "\r\n");
            const char *w = strstr(req, "watch=");
            body = w && eol && w < eol ? ""
                                       : "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"metadata\":"
                                         "{\"resourceVersion\":\"1\"},\"items\":[]}";
        }
        char resp[2048];
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         f->status, strlen(body), body);
        ssize_t w = write(c, resp, (size_t)n);
        (void)w;
        close(c);
    }
    return NULL;
}

/* Bind a loopback port; with listen_now 0 connections are refused until
 * fake_listen (a server that comes up late). */
static void
fake_bind(fake_api *f, int status, const char *body)
{
    memset(f, 0, sizeof *f);
    f->status = status;
    f->body = body;
    pthread_mutex_init(&f->lock, NULL);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(f->fd, (struct sockaddr *)&sa, &sl);
    f->port = ntohs(sa.sin_port);
}

static void
fake_listen(fake_api *f)
{
    assert_int_equal(listen(f->fd, 16), 0);
    assert_int_equal(pthread_create(&f->thr, NULL, fake_run, f), 0);
}

static void
fake_start(fake_api *f, int status, const char *body)
{
    fake_bind(f, status, body);
    fake_listen(f);
}

static void
fake_stop(fake_api *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thr, NULL);
    close(f->fd);
    pthread_mutex_destroy(&f->lock);
}

/* ---- one-shot rows: args, exit code, text expected in stdout / stderr ------ */

typedef struct {
    const char *name;
    const char *args[8]; /* "@KC" = a valid kubeconfig, "@BAD" = malformed */
    int code;            /* -2: any non-zero */
    const char *out_sub, *err_sub;
} run_row;

static const run_row run_rows[] = {
    {"--help", {"--help"}, 0, "--kube-api-burst int", NULL},
    {"-h", {"-h"}, 0, "--leader-elect", NULL},
    {"kubeconfig missing", {"--kubeconfig", "/nonexistent"}, -2, NULL, "/nonexistent"},
    {"kubeconfig missing, leader-elect off",
     {"--kubeconfig", "/nonexistent", "--leader-elect=false"},
     -2,
     NULL,
     "/nonexistent"},
    {"kubeconfig malformed",
     {"--kubeconfig", "@BAD", "--leader-elect=false"},
     -2,
     NULL,
     "kubeconfig.bad"},
    {"unknown flag", {"--bogus-flag"}, 2, NULL, "unknown flag: --bogus-flag"},
    {"unknown flag wins over kubeconfig",
     {"--kubeconfig", "/nonexistent", "--nope"},
     2,
     NULL,
     "unknown flag: --nope"},
    {"bad burst", {"--kube-api-burst=0"}, 2, NULL, "--kube-api-burst must be > 0"},
    {"bad duration",
     {"--sandbox-warm-pool-readiness-grace-period=soon"},
     2,
     NULL,
     "--sandbox-warm-pool-readiness-grace-period"},
    {"leader-elect default refused", {"--kubeconfig", "@KC"}, 1, NULL, "--leader-elect=false"},
    {"leader-elect=true refused",
     {"--kubeconfig", "@KC", "--leader-elect=true"},
     1,
     NULL,
     "leader election is not implemented yet"},
    {"bad metrics address",
     {"--kubeconfig", "/nonexistent", "--metrics-bind-address=nonsense"},
     2,
     NULL,
     "--metrics-bind-address must be host:port, :port or 0, got \"nonsense\""},
    {"cache dir is a file",
     {"--kubeconfig", "@KC", "--leader-elect=false", "--cache-dir", "@KC",
      "--metrics-bind-address=0", "--health-probe-bind-address=0"},
     1,
     NULL,
     "is not a directory"},
};

static void
test_run(void **state)
{
    const run_row *r = *state;
    char kc[300], bad[300], cache[300];
    snprintf(kc, sizeof kc, "%s/kubeconfig", tmpdir);
    snprintf(bad, sizeof bad, "%s/kubeconfig.bad", tmpdir);
    snprintf(cache, sizeof cache, "%s/cache-run", tmpdir);
    kubeconfig(kc, "https://127.0.0.1:1");
    write_file(bad, "clusters: [unterminated\n  - {{\n");
    const char *args[8] = {0};
    for (int i = 0; r->args[i]; i++)
        args[i] = strcmp(r->args[i], "@KC") == 0      ? kc
                  : strcmp(r->args[i], "@BAD") == 0   ? bad
                  : strcmp(r->args[i], "@CACHE") == 0 ? cache
                                                      : r->args[i];
    proc p;
    proc_start(&p, args);
    int code = proc_wait(&p, 10);
    char *out = slurp(p.out), *err = slurp(p.err);
    if (strstr(err, "Sanitizer") != NULL) fail_msg("sanitizer report: %s", err);
    if (r->code == -2 ? (code <= 0) : (code != r->code))
        fail_msg("exit %d, want %d; stderr: %s", code, r->code, err);
    if (r->out_sub && strstr(out, r->out_sub) == NULL)
        fail_msg("stdout lacks \"%s\": %s", r->out_sub, out);
    if (r->err_sub && strstr(err, r->err_sub) == NULL)
        fail_msg("stderr lacks \"%s\": %s", r->err_sub, err);
    free(out);
    free(err);
}

static void
test_version(void **state)
{
    (void)state;
    const char *args[] = {"--version", NULL};
    proc p;
    proc_start(&p, args);
    assert_int_equal(proc_wait(&p, 10), 0);
    char *out = slurp(p.out);
    /* The commit is stamped at configure time; a partial rebuild may leave
     * this test and the binary with different stamps, so check the shape. */
    const char *prefix = "agent-sandbox-controller " ASC_VERSION " (commit ";
    if (strncmp(out, prefix, strlen(prefix)) != 0) fail_msg("--version printed: %s", out);
    const char *c = out + strlen(prefix);
    size_t n = strspn(c, "0123456789abcdefunknown");
    assert_true(n > 0);
    assert_string_equal(c + n, ")\n");
    free(out);
}

static int server_port(proc *p, const char *server);
static long get_status(int port, const char *path);
static long get_body(int port, const char *path, char **body);

/* Nothing listens on 127.0.0.1:1: the controller logs, keeps retrying, and
 * stops cleanly and quickly on SIGTERM (and SIGINT). */
static void
sigterm_case(int sig)
{
    char kc[300], cache[300];
    snprintf(kc, sizeof kc, "%s/kubeconfig.unreach", tmpdir);
    snprintf(cache, sizeof cache, "%s/cache-%d/a/b", tmpdir, sig);
    kubeconfig(kc, "https://127.0.0.1:1");
    const char *args[] = {"--kubeconfig", kc, "--cache-dir", cache, "--leader-elect=false",
                          /* SIGTERM: both servers on ephemeral ports; SIGINT: both off */
                          sig == SIGTERM ? "--metrics-bind-address=127.0.0.1:0"
                                         : "--metrics-bind-address=0",
                          sig == SIGTERM ? "--health-probe-bind-address=127.0.0.1:0"
                                         : "--health-probe-bind-address=0",
                          NULL};
    proc p;
    proc_start(&p, args);
    if (!proc_wait_log(&p, "\"msg\":\"running\"", 10)) {
        char *err = slurp(p.err);
        proc_wait(&p, 0);
        fail_msg("never reached running: %s", err);
    }
    struct stat st;
    assert_int_equal(stat(cache, &st), 0); /* created, parents included */
    assert_true(S_ISDIR(st.st_mode));
    if (sig == SIGTERM) {
        int hp = server_port(&p, "health"), mp = server_port(&p, "metrics");
        assert_true(hp > 0 && mp > 0);
        assert_int_equal(get_status(hp, "/healthz"), 200);
        assert_int_equal(get_status(hp, "/readyz"), 500); /* the API server is unreachable */
        char *body = NULL;
        assert_int_equal(get_body(mp, "/metrics", &body), 200);
        assert_non_null(strstr(body, "agent_sandbox_build_info{git_version=\"v" ASC_VERSION));
        free(body);
    } else {
        char *err = slurp(p.err);
        assert_null(strstr(err, "\"mod\":\"httpserv\"")); /* "0" disables both */
        free(err);
    }
    usleep(300000);
    double t0 = now_s();
    kill(p.pid, sig);
    int code = proc_wait(&p, 5);
    double took = now_s() - t0;
    char *err = slurp(p.err);
    if (code != 0) fail_msg("exit %d after signal %d; stderr: %s", code, sig, err);
    assert_true(took < 5);
    assert_non_null(strstr(err, "shutting down"));
    assert_non_null(strstr(err, "\"msg\":\"stopped\""));
    assert_json_lines(err);
    free(err);
}

static void
test_sigterm_unreachable(void **state)
{
    (void)state;
    sigterm_case(SIGTERM);
}

static void
test_sigint_unreachable(void **state)
{
    (void)state;
    sigterm_case(SIGINT);
}

/* Read "port":N of a server ("health", "metrics") from the log. */
static int
server_port(proc *p, const char *server)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"server\":\"%s\",\"address\"", server);
    if (!proc_wait_log(p, needle, 10)) return -1;
    char *err = slurp(p->err);
    const char *s = strstr(err, needle);
    const char *q = s ? strstr(s, "\"port\":") : NULL;
    int port = q ? atoi(q + 7) : -1;
    free(err);
    return port;
}

static int
health_port(proc *p)
{
    return server_port(p, "health");
}

static long
get_status(int port, const char *path)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static size_t
collect_body(char *ptr, size_t sz, size_t n, void *ud)
{
    char **b = ud;
    size_t old = *b ? strlen(*b) : 0;
    char *nb = realloc(*b, old + sz * n + 1);
    if (nb == NULL) return 0;
    memcpy(nb + old, ptr, sz * n);
    nb[old + sz * n] = '\0';
    *b = nb;
    return sz * n;
}

static long
get_body(int port, const char *path, char **body)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    *body = calloc(1, 1);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

/* /readyz turns 200 once the informers synced, shortly after /version
 * answered: poll for it (bounded). */
static long
wait_ready(int port, double timeout_s)
{
    long code = 0;
    for (int i = 0; i < (int)(timeout_s * 20); i++) {
        if ((code = get_status(port, "/readyz")) == 200) break;
        usleep(50000);
    }
    return code;
}

static void
test_api_ok_ready(void **state)
{
    (void)state;
    fake_api f;
    fake_start(&f, 200, "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.9-fake\"}");
    char kc[300], cache[300], server[64];
    snprintf(kc, sizeof kc, "%s/kubeconfig.ok", tmpdir);
    snprintf(cache, sizeof cache, "%s/cache-ok", tmpdir);
    snprintf(server, sizeof server, "http://127.0.0.1:%d", f.port);
    kubeconfig(kc, server);
    const char *args[] = {"--kubeconfig",
                          kc,
                          "--cache-dir",
                          cache,
                          "--leader-elect=false",
                          "--metrics-bind-address=0",
                          "--health-probe-bind-address=127.0.0.1:0",
                          NULL};
    proc p;
    proc_start(&p, args);
    int port = health_port(&p);
    assert_true(port > 0);
    assert_true(proc_wait_log(&p, "v1.32.9-fake", 10));
    assert_int_equal(get_status(port, "/healthz"), 200);
    assert_int_equal(wait_ready(port, 10), 200);
    pthread_mutex_lock(&f.lock);
    assert_string_equal(f.user_agent, "agent-sandbox-controller/" ASC_VERSION);
    pthread_mutex_unlock(&f.lock);
    kill(p.pid, SIGTERM);
    assert_int_equal(proc_wait(&p, 5), 0);
    fake_stop(&f);
}

/* The API server comes up after the controller: it logs the failure with
 * the server's address, retries, and becomes ready without a restart. */
static void
test_api_late_server(void **state)
{
    (void)state;
    fake_api f;
    fake_bind(&f, 200, "{\"gitVersion\":\"v1.32.1-late\"}");
    char kc[300], cache[300], server[64];
    snprintf(kc, sizeof kc, "%s/kubeconfig.late", tmpdir);
    snprintf(cache, sizeof cache, "%s/cache-late", tmpdir);
    snprintf(server, sizeof server, "http://127.0.0.1:%d", f.port);
    kubeconfig(kc, server);
    const char *args[] = {"--kubeconfig",
                          kc,
                          "--cache-dir",
                          cache,
                          "--leader-elect=false",
                          "--metrics-bind-address=0",
                          "--health-probe-bind-address=127.0.0.1:0",
                          NULL};
    proc p;
    proc_start(&p, args);
    int port = health_port(&p);
    assert_true(port > 0);
    if (!proc_wait_log(&p, "API server not reachable; retrying", 30)) {
        char *err = slurp(p.err);
        fail_msg("no retry logged: %s", err);
    }
    char *err = slurp(p.err);
    assert_non_null(strstr(err, server)); /* the line names the server */
    free(err);
    assert_int_equal(get_status(port, "/readyz"), 500);
    fake_listen(&f);
    assert_true(proc_wait_log(&p, "v1.32.1-late", 40));
    assert_int_equal(wait_ready(port, 10), 200);
    kill(p.pid, SIGTERM);
    assert_int_equal(proc_wait(&p, 5), 0);
    fake_stop(&f);
}

/* Errors that waiting cannot fix end the process with the cause. */
typedef struct {
    const char *name;
    int status;
    const char *scheme;
    const char *err_sub;
} fatal_row;

static const fatal_row fatal_rows[] = {
    {"401 Unauthorized", 401, "http", "\"status\":401"},
    {"403 Forbidden", 403, "http", "\"status\":403"},
    {"TLS to a plain HTTP server", 200, "https", "TLS"},
};

static void
test_api_fatal(void **state)
{
    const fatal_row *r = *state;
    fake_api f;
    fake_start(&f, r->status,
               "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
               "\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}");
    char kc[300], cache[300], server[64];
    snprintf(kc, sizeof kc, "%s/kubeconfig.fatal", tmpdir);
    snprintf(cache, sizeof cache, "%s/cache-fatal", tmpdir);
    snprintf(server, sizeof server, "%s://127.0.0.1:%d", r->scheme, f.port);
    kubeconfig(kc, server);
    const char *args[] = {"--kubeconfig",
                          kc,
                          "--cache-dir",
                          cache,
                          "--leader-elect=false",
                          "--metrics-bind-address=0",
                          "--health-probe-bind-address=0",
                          NULL};
    proc p;
    proc_start(&p, args);
    int code = proc_wait(&p, 20);
    char *err = slurp(p.err);
    if (code != 1) fail_msg("exit %d, want 1; stderr: %s", code, err);
    if (strstr(err, r->err_sub) == NULL || strstr(err, server) == NULL)
        fail_msg("stderr lacks \"%s\" or the server %s: %s", r->err_sub, server, err);
    assert_json_lines(err);
    free(err);
    fake_stop(&f);
}

static int
setup(void **state)
{
    (void)state;
    const char *dir = getenv("ASC_BIN_DIR");
    snprintf(bin, sizeof bin, "%s/agent-sandbox-controller", dir ? dir : ".");
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "no binary at %s (set ASC_BIN_DIR)\n", bin);
        return -1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/asc-ctl-bin-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) return -1;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    for (int i = 0; i < nchildren; i++)
        if (children[i] > 0 && kill(children[i], SIGKILL) == 0) waitpid(children[i], NULL, 0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    static struct CMUnitTest tests[64];
    size_t n = 0;
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t i = 0; i < sizeof run_rows / sizeof run_rows[0]; i++)
        tests[n++] = (struct CMUnitTest){
            .name = run_rows[i].name, .test_func = test_run, .initial_state = (void *)&run_rows[i]};
    for (size_t i = 0; i < sizeof fatal_rows / sizeof fatal_rows[0]; i++)
        tests[n++] = (struct CMUnitTest){.name = fatal_rows[i].name,
                                         .test_func = test_api_fatal,
                                         .initial_state = (void *)&fatal_rows[i]};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_version);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sigterm_unreachable);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sigint_unreachable);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_api_ok_ready);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_api_late_server);
    int rc = _cmocka_run_group_tests("controller_binary", tests, n, setup, teardown);
    curl_global_cleanup();
    return rc;
}
