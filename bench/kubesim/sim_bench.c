/* sim_bench.c - kubesimbench: how fast is kubesim? (issue 13's figures)
 *
 *   kubesimbench [--objects N] [--writes M] [--watchers W] [--conns C] [--hot K]
 *                [--tree-cache N] [--kubesim PATH]
 *
 * Starts the kubesim binary (default $ASC_BIN_DIR/kubesim, else ./kubesim) as a child,
 * stores N small ConfigMaps over C keep-alive connections, pages through them once
 * (limit=500 with continue tokens, as an informer's first list), opens W watchers on the
 * namespace (each event is fanned out to all of them), then makes M merge-patch writes
 * and prints: create, LIST and write throughput, p50/p99 write latency, kubesim
 * CPU-seconds per 1,000 writes, its user/system split per write (from /proc) and RSS per
 * stored object. --tree-cache is passed to kubesim (0: every stored object keeps its parsed
 * tree); --hot K writes only the first K objects (round-robin over all N by default). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

typedef struct {
    int fd;
    char in[65536];
    size_t inlen;
    double sent_at;
    int busy;
} conn;

/* A complete response in c->in? Returns its length or 0. Handles Content-Length only. */
static size_t
response_len(conn *c, int *status)
{
    char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t hl = (size_t)(end - c->in) + 4;
    char *cl = memmem(c->in, hl, "Content-Length: ", 16);
    size_t bl = cl ? strtoul(cl + 16, NULL, 10) : 0;
    if (c->inlen < hl + bl) return 0;
    *status = atoi(c->in + 9);
    return hl + bl;
}

static int
cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef int (*make_req)(void *ud, long i, char *buf, size_t len);

/* Run n requests over nc connections; latencies (s) into lat (may be NULL). */
static int
run(int port, int nc, long n, make_req mk, void *ud, double *lat, long *errors)
{
    conn *cs = calloc((size_t)nc, sizeof *cs);
    struct pollfd *pf = calloc((size_t)nc, sizeof *pf);
    long next = 0, done = 0;
    *errors = 0;
    for (int i = 0; i < nc; i++) {
        cs[i].fd = dial(port);
        if (cs[i].fd < 0) return -1;
    }
    char req[8192];
    while (done < n) {
        for (int i = 0; i < nc; i++) {
            if (!cs[i].busy && next < n) {
                int l = mk(ud, next++, req, sizeof req);
                if (send(cs[i].fd, req, (size_t)l, MSG_NOSIGNAL) != l) return -1;
                cs[i].busy = 1;
                cs[i].sent_at = now_s();
            }
            pf[i].fd = cs[i].fd;
            pf[i].events = cs[i].busy ? POLLIN : 0;
        }
        if (poll(pf, (nfds_t)nc, 10000) <= 0) return -1;
        for (int i = 0; i < nc; i++) {
            if (!(pf[i].revents & POLLIN)) continue;
            ssize_t r = recv(cs[i].fd, cs[i].in + cs[i].inlen, sizeof cs[i].in - cs[i].inlen, 0);
            if (r <= 0) return -1;
            cs[i].inlen += (size_t)r;
            int st = 0;
            size_t rl = response_len(&cs[i], &st);
            if (rl) {
                if (st >= 300) (*errors)++;
                if (lat) lat[done] = now_s() - cs[i].sent_at;
                memmove(cs[i].in, cs[i].in + rl, cs[i].inlen - rl);
                cs[i].inlen -= rl;
                cs[i].busy = 0;
                done++;
            }
        }
    }
    for (int i = 0; i < nc; i++)
        close(cs[i].fd);
    free(cs);
    free(pf);
    return 0;
}

static int
mk_create(void *ud, long i, char *buf, size_t len)
{
    (void)ud;
    char body[256];
    int bl = snprintf(body, sizeof body,
                      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                      "\"cm-%ld\",\"labels\":{\"app\":\"a%ld\"}},\"data\":{\"k\":\"v\"}}",
                      i, i % 16);
    return snprintf(
        buf, len,
        "POST /api/v1/namespaces/bench/configmaps HTTP/1.1\r\nHost: x\r\nUser-Agent: "
        "kubesimbench/1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
        bl, body);
}

static int
mk_patch(void *ud, long i, char *buf, size_t len)
{
    long n = *(long *)ud;
    char body[128];
    int bl = snprintf(body, sizeof body, "{\"data\":{\"k\":\"w%ld\"}}", i);
    return snprintf(buf, len,
                    "PATCH /api/v1/namespaces/bench/configmaps/cm-%ld HTTP/1.1\r\nHost: x\r\n"
                    "User-Agent: kubesimbench/1\r\nContent-Type: application/merge-patch+json\r\n"
                    "Content-Length: %d\r\n\r\n%s",
                    i % n, bl, body);
}

/* CPU seconds of pid so far, user and system apart (/proc/<pid>/stat utime, stime). */
typedef struct {
    double user, sys;
} cpu_times;

static cpu_times
proc_times(pid_t pid)
{
    cpu_times t = {0, 0};
    char p[64], b[1024];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f) return t;
    size_t n = fread(b, 1, sizeof b - 1, f);
    fclose(f);
    b[n] = '\0';
    char *s = strrchr(b, ')');
    unsigned long ut = 0, st = 0;
    if (s) sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    double tck = (double)sysconf(_SC_CLK_TCK);
    t.user = (double)ut / tck;
    t.sys = (double)st / tck;
    return t;
}

static double
proc_cpu(pid_t pid)
{
    cpu_times t = proc_times(pid);
    return t.user + t.sys;
}

static long
proc_rss_kb(pid_t pid)
{
    char p[64], b[4096];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    size_t n = fread(b, 1, sizeof b - 1, f);
    fclose(f);
    b[n] = '\0';
    char *r = strstr(b, "VmRSS:");
    return r ? strtol(r + 6, NULL, 10) : 0;
}

/* One blocking GET on fd; the body (malloc'd, NUL-terminated) or NULL. */
static char *
get_body(int fd, const char *path)
{
    char req[4096];
    int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    if (send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl) return NULL;
    size_t cap = 1 << 20, len = 0, want = 0, hl = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        if (len == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) break;
            b = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, b + len, cap - len, 0);
        if (r <= 0) break;
        len += (size_t)r;
        b[len] = '\0';
        if (!hl) {
            char *e = strstr(b, "\r\n\r\n");
            if (!e) continue;
            hl = (size_t)(e - b) + 4;
            char *cl = strstr(b, "Content-Length: ");
            want = cl ? strtoul(cl + 16, NULL, 10) : 0;
        }
        if (len >= hl + want) {
            memmove(b, b + hl, want);
            b[want] = '\0';
            return b;
        }
    }
    free(b);
    return NULL;
}

/* Page through the namespace with limit=500 continue tokens; returns the pages or -1. */
static long
paginate(int port, long *items)
{
    int fd = dial(port);
    char path[2048] = "/api/v1/namespaces/bench/configmaps?limit=500";
    long pages = 0;
    *items = 0;
    for (;;) {
        char *b = get_body(fd, path);
        if (!b) {
            close(fd);
            return -1;
        }
        pages++;
        for (char *p = strstr(b, "\"name\":\"cm-"); p; p = strstr(p + 1, "\"name\":\"cm-"))
            (*items)++;
        char *c = strstr(b, "\"continue\":\"");
        char tok[1024] = "";
        if (c) sscanf(c + 12, "%1023[^\"]", tok);
        free(b);
        if (!tok[0]) break;
        snprintf(path, sizeof path, "/api/v1/namespaces/bench/configmaps?limit=500&continue=%s",
                 tok);
    }
    close(fd);
    return pages;
}

int
main(int argc, char **argv)
{
    long nobj = 100000, nwrites = 200000, hot = 0;
    int nwatch = 10, nconn = 16;
    char bin[4096], tree_cache[32] = "4096";
    const char *dir = getenv("ASC_BIN_DIR");
    snprintf(bin, sizeof bin, "%s/kubesim", dir && *dir ? dir : ".");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--objects"))
            nobj = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--writes"))
            nwrites = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--watchers"))
            nwatch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--conns"))
            nconn = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hot"))
            hot = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--tree-cache"))
            snprintf(tree_cache, sizeof tree_cache, "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--kubesim"))
            snprintf(bin, sizeof bin, "%s", argv[i + 1]);
        else {
            fprintf(stderr, "usage: kubesimbench [--objects N] [--writes M] [--watchers W] "
                            "[--conns C] [--hot K] [--tree-cache N] [--kubesim PATH]\n");
            return 2;
        }
    }
    if (nobj < 1 || nwrites < 1 || nconn < 1 || nwatch < 0) return 2;
    int out[2];
    if (pipe(out) != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 2);
        execl(bin, bin, "--port", "0", "--no-kubelet", "--nodes", "1", "--tree-cache", tree_cache,
              (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[256] = "";
    FILE *f = fdopen(out[0], "r");
    if (!fgets(line, sizeof line, f) || strncmp(line, "ready ", 6) != 0) {
        fprintf(stderr, "kubesimbench: %s did not start\n", bin);
        return 1;
    }
    int port = atoi(strrchr(line, ':') + 1);
    /* the namespace */
    int fd = dial(port);
    const char *ns =
        "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"bench\"}}";
    char req[1024];
    int rl = snprintf(req, sizeof req,
                      "POST /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                      strlen(ns), ns);
    send(fd, req, (size_t)rl, 0);
    char tmp[4096];
    (void)!recv(fd, tmp, sizeof tmp, 0);
    close(fd);
    long rss0 = proc_rss_kb(pid);
    long errs = 0;
    double t0 = now_s();
    if (run(port, nconn, nobj, mk_create, NULL, NULL, &errs) != 0) {
        fprintf(stderr, "kubesimbench: create phase failed\n");
        kill(pid, SIGKILL);
        return 1;
    }
    double t_create = now_s() - t0;
    long rss1 = proc_rss_kb(pid);
    /* a full paginated LIST (limit=500 with continue tokens), as an informer's first list */
    double lcpu0 = proc_cpu(pid);
    t0 = now_s();
    long litems = 0;
    long lpages = paginate(port, &litems);
    double t_list = now_s() - t0, lcpu = proc_cpu(pid) - lcpu0;
    /* the current resourceVersion, so the watchers get every later event */
    char rv[32] = "0";
    fd = dial(port);
    rl = snprintf(req, sizeof req,
                  "GET /api/v1/namespaces/bench/configmaps?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    send(fd, req, (size_t)rl, 0);
    ssize_t got = recv(fd, tmp, sizeof tmp - 1, 0);
    tmp[got > 0 ? got : 0] = '\0';
    char *rvp = strstr(tmp, "\"resourceVersion\":\"");
    if (rvp) sscanf(rvp + 19, "%31[0-9]", rv);
    close(fd);
    /* watchers that read and count */
    int *wf = calloc((size_t)nwatch + 1, sizeof *wf);
    for (int i = 0; i < nwatch; i++) {
        wf[i] = dial(port);
        rl = snprintf(req, sizeof req,
                      "GET /api/v1/namespaces/bench/configmaps?watch=true&resourceVersion=%s "
                      "HTTP/1.1\r\nHost: x\r\nUser-Agent: kubesimbench-watch/1\r\n\r\n",
                      rv);
        send(wf[i], req, (size_t)rl, 0);
        fcntl(wf[i], F_SETFL, O_NONBLOCK);
    }
    /* drain watchers from a child process so they never fall behind */
    pid_t drainer = fork();
    if (drainer == 0) {
        for (;;) {
            for (int i = 0; i < nwatch; i++)
                while (recv(wf[i], tmp, sizeof tmp, 0) > 0) {
                }
            usleep(200);
        }
    }
    cpu_times cpu0 = proc_times(pid);
    double *lat = malloc((size_t)nwrites * sizeof *lat);
    t0 = now_s();
    long werrs = 0;
    long wset = hot > 0 && hot < nobj ? hot : nobj; /* the objects written, round-robin */
    if (run(port, nconn, nwrites, mk_patch, &wset, lat, &werrs) != 0) {
        fprintf(stderr, "kubesimbench: write phase failed\n");
        kill(pid, SIGKILL);
        kill(drainer, SIGKILL);
        return 1;
    }
    double t_write = now_s() - t0;
    cpu_times cpu1 = proc_times(pid);
    double wuser = cpu1.user - cpu0.user, wsys = cpu1.sys - cpu0.sys;
    qsort(lat, (size_t)nwrites, sizeof *lat, cmp_d);
    printf("kubesimbench: %ld objects, %ld writes to %ld of them, %d watchers, %d connections\n",
           nobj, nwrites, wset, nwatch, nconn);
    printf("creates/s             %.0f (%ld errors)\n", (double)nobj / t_create, errs);
    printf("paginated LIST        %.2f s, %.2f kubesim CPU-s (%ld pages, %ld items)\n", t_list,
           lcpu, lpages, litems);
    printf("writes/s              %.0f (%ld errors), each fanned out to %d watchers\n",
           (double)nwrites / t_write, werrs, nwatch);
    printf("write latency p50     %.3f ms\n", lat[nwrites / 2] * 1e3);
    printf("write latency p99     %.3f ms\n", lat[(long)((double)nwrites * 0.99)] * 1e3);
    printf("CPU-s per 1000 writes %.4f (kubesim: %.2f CPU-s for %.2f s)\n",
           (wuser + wsys) * 1000.0 / (double)nwrites, wuser + wsys, t_write);
    /* where a write's time goes: kubesim's own code (user) or the kernel's sockets (sys);
     * /proc counts in clock ticks (10 ms), so short runs are coarse */
    printf("kubesim CPU per write %.1f us user + %.1f us sys\n", wuser * 1e6 / (double)nwrites,
           wsys * 1e6 / (double)nwrites);
    printf("RSS per stored object %.0f bytes (RSS %ld MiB)\n",
           (double)(rss1 - rss0) * 1024.0 / (double)nobj, proc_rss_kb(pid) / 1024);
    kill(drainer, SIGKILL);
    waitpid(drainer, NULL, 0);
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    free(lat);
    free(wf);
    return 0;
}
