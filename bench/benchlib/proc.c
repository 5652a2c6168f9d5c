/* proc.c - spawning, reaping and sampling child processes (see proc.h). */
#include "bench/benchlib/proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/timeutil.h"

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int
exit_code_of(int st)
{
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

int
bench_child_spawn(bench_child *c, const char *name, char *const argv[], const char *out_path,
                  const char *err_path)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->out_path, sizeof c->out_path, "%s", out_path);
    snprintf(c->err_path, sizeof c->err_path, "%s", err_path);
    if (access(argv[0], X_OK) != 0) return -errno;
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) return -errno;
    int same = strcmp(out_path, err_path) == 0;
    int err = same ? out : open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
        if (!same) close(err);
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
        fprintf(stderr, "bench: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out);
    if (!same) close(err);
    c->pid = p;
    return 0;
}

int
bench_child_alive(bench_child *c)
{
    if (c->pid <= 0) return 0;
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == c->pid) {
        c->exited = 1;
        c->exit_code = exit_code_of(st);
        c->pid = 0;
        return 0;
    }
    return 1;
}

int
bench_child_stop(bench_child *c, int grace_ms, int *exit_code)
{
    if (!bench_child_alive(c)) {
        if (exit_code) *exit_code = c->exited ? c->exit_code : 0;
        return 0;
    }
    int st = 0;
    kill(c->pid, SIGTERM);
    int64_t end = time_mono_ms() + grace_ms;
    pid_t r;
    while ((r = waitpid(c->pid, &st, WNOHANG)) == 0 && time_mono_ms() < end)
        sleep_ms(10);
    if (r == 0) {
        fprintf(stderr, "bench: %s did not stop within %d ms of SIGTERM: SIGKILL\n", c->name,
                grace_ms);
        kill(c->pid, SIGKILL);
        r = waitpid(c->pid, &st, 0);
    }
    c->pid = 0;
    c->exited = 1;
    c->exit_code = r < 0 ? -1 : exit_code_of(st);
    if (exit_code) *exit_code = c->exit_code;
    return 0;
}

static void
tail_file(FILE *out, const char *title, const char *path, size_t max_bytes)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)max_bytes ? size - (long)max_bytes : 0;
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
bench_child_tail(const bench_child *c, FILE *out, size_t max_bytes)
{
    char title[64];
    if (strcmp(c->out_path, c->err_path) != 0) {
        snprintf(title, sizeof title, "%s stdout", c->name);
        tail_file(out, title, c->out_path, max_bytes);
    }
    snprintf(title, sizeof title, "%s log", c->name);
    tail_file(out, title, c->err_path, max_bytes);
}

/* 1 when path holds a complete line starting with prefix (rest copied). */
static int
find_line(const char *path, const char *prefix, char *buf, size_t buflen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    char line[2048];
    size_t pl = strlen(prefix);
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        if (n > pl && strncmp(line, prefix, pl) == 0 && line[n - 1] == '\n') {
            line[n - 1] = '\0';
            snprintf(buf, buflen, "%s", line + pl);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

int
bench_child_wait_line(bench_child *c, const char *path, const char *prefix, char *buf,
                      size_t buflen, int timeout_ms)
{
    int64_t end = time_mono_ms() + timeout_ms;
    while (!find_line(path, prefix, buf, buflen)) {
        if (!bench_child_alive(c)) return ERR_IO;
        if (time_mono_ms() > end) return ERR_TIMEOUT;
        sleep_ms(5);
    }
    return 0;
}

int
bench_free_port(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int rc = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        rc = -errno;
    else
        *port = ntohs(a.sin_port);
    close(fd);
    return rc;
}

/* ---- /proc ------------------------------------------------------------------- */

static int64_t
status_kb(const char *status, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
            char *end = NULL;
            long long v = strtoll(p + kl + 1, &end, 10);
            if (end == p + kl + 1 || v < 0) return -1;
            return (int64_t)v;
        }
    }
    return -1;
}

int
bench_procstat_parse(const char *stat, const char *status, long ticks_per_s, bench_procstat *out)
{
    memset(out, 0, sizeof *out);
    if (stat == NULL || ticks_per_s <= 0) return ERR_PARSE;
    /* "pid (comm) state ..." where comm may hold spaces and ')': the fields
     * resume after the LAST ')'. utime and stime are fields 14 and 15. */
    const char *p = strrchr(stat, ')');
    if (p == NULL) return ERR_PARSE;
    p++;
    unsigned long long ut = 0, st = 0;
    /* after ')': field 3 (state) is the first; utime is the 12th from there */
    int field = 2;
    while (*p && field < 15) {
        while (*p == ' ')
            p++;
        if (*p == '\0') break;
        field++;
        char *end = NULL;
        if (field == 14) ut = strtoull(p, &end, 10);
        if (field == 15) st = strtoull(p, &end, 10);
        if ((field == 14 || field == 15) && end == p) return ERR_PARSE;
        while (*p && *p != ' ')
            p++;
    }
    if (field < 15) return ERR_PARSE;
    out->cpu_seconds = (double)(ut + st) / (double)ticks_per_s;
    if (status) {
        int64_t rss = status_kb(status, "VmRSS"), hwm = status_kb(status, "VmHWM");
        out->rss_bytes = rss >= 0 ? rss * 1024 : -1;
        out->hwm_bytes = hwm >= 0 ? hwm * 1024 : -1;
    } else {
        out->rss_bytes = out->hwm_bytes = -1;
    }
    return 0;
}

static int
read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return 0;
}

int
bench_procstat_read(pid_t pid, bench_procstat *out)
{
    char path[64], stat[2048], status[8192];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int rc = read_small(path, stat, sizeof stat);
    if (rc != 0) return rc;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    rc = read_small(path, status, sizeof status);
    return bench_procstat_parse(stat, rc == 0 ? status : NULL, sysconf(_SC_CLK_TCK), out);
}
