/* proc.h - child processes of a benchmark (kubesim, the controller) and
 * what the kernel says about them.
 *
 * Children are started with fork+exec, stdout and stderr redirected to
 * files (never a pipe: a chatty child can never block on us), with
 * PR_SET_PDEATHSIG so that a benchmark killed by a timeout leaves no server
 * behind. bench_child_alive() reaps without blocking, so a caller polling
 * it notices a crash at once and can say how the child ended.
 *
 * /proc sampling (bench_procstat_*): CPU seconds (utime + stime of
 * /proc/<pid>/stat, in clock ticks) and memory (VmRSS, VmHWM of
 * /proc/<pid>/status: VmHWM is the peak resident set, which is gone once
 * the process is reaped, so read it before stopping the child).
 *
 * Memory: bench_child is embedded by the caller; nothing is allocated.
 * Returns: 0, -errno from the system, ERR_PARSE (a /proc file that does not
 * read as expected), ERR_TIMEOUT.
 */
#ifndef ASC_BENCH_PROC_H
#define ASC_BENCH_PROC_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct bench_child {
    pid_t pid; /* 0 when not running */
    char name[32];
    char out_path[PATH_MAX]; /* stdout */
    char err_path[PATH_MAX]; /* stderr (may equal out_path) */
    int exited;              /* reaped: exit_code is valid */
    int exit_code;           /* exit status, or 128 + signal */
} bench_child;

/* argv[0] is the binary's path. Paths must fit PATH_MAX. */
int bench_child_spawn(bench_child *c, const char *name, char *const argv[], const char *out_path,
                      const char *err_path);
/* 1 while running; 0 once it exited (reaped here, exit_code set) or never ran. */
int bench_child_alive(bench_child *c);
/* SIGTERM, SIGKILL after grace_ms; *exit_code (may be NULL) as in the struct. */
int bench_child_stop(bench_child *c, int grace_ms, int *exit_code);
/* Print the last max_bytes of the child's stderr (and stdout if separate). */
void bench_child_tail(const bench_child *c, FILE *out, size_t max_bytes);
/* Poll path for a line "<prefix><rest>\n"; copy <rest> into buf. 0, or
 * ERR_TIMEOUT, or ERR_IO when the child exited first. */
int bench_child_wait_line(bench_child *c, const char *path, const char *prefix, char *buf,
                          size_t buflen, int timeout_ms);

/* A TCP port on 127.0.0.1 free right now (bind to 0, read, close). */
int bench_free_port(int *port);

typedef struct bench_procstat {
    double cpu_seconds; /* user + system */
    int64_t rss_bytes;  /* VmRSS */
    int64_t hwm_bytes;  /* VmHWM: the peak RSS so far */
} bench_procstat;

int bench_procstat_read(pid_t pid, bench_procstat *out);
/* Pure parts (tests): stat is /proc/<pid>/stat text, status /proc/<pid>/status. */
int bench_procstat_parse(const char *stat, const char *status, long ticks_per_s,
                         bench_procstat *out);

#endif
