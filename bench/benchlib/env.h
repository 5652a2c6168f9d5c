/* env.h - the cluster a benchmark runs against: kubesim and the controller
 * started here, or a kubeconfig and a controller already running.
 *
 * Started here: a temporary directory holds the kubeconfig, both logs and
 * the controller's cache. kubesim runs as `kubesim --port 0
 * --kubeconfig-out F [kubesim_args]` and is ready at its `ready <url>` line;
 * the controller runs as `agent-sandbox-controller --kubeconfig F
 * --cache-dir D --leader-elect=false --metrics-bind-address=0
 * --health-probe-bind-address=127.0.0.1:<free port> [--extensions]
 * [controller_args]` and is ready when its /readyz answers 200 (caches
 * synced). bench_env_check() (a bench_check_fn) fails as soon as either
 * process has exited, naming it and its exit code.
 *
 * External (opts.kubeconfig set): nothing is started or stopped; if
 * opts.controller_pid is set, that local process is sampled for CPU and
 * memory and checked for liveness.
 *
 * Memory: bench_env is embedded by the caller; bench_env_stop removes the
 * temporary directory (kept with keep_tmp, or when BENCH_KEEP is set).
 * Returns: 0, ERR_CONFIG (a binary is missing), ERR_IO (a process exited),
 * ERR_TIMEOUT (not ready in time), -errno.
 */
#ifndef ASC_BENCH_ENV_H
#define ASC_BENCH_ENV_H

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

#include "bench/benchlib/proc.h"

typedef struct bench_env_opts {
    const char *kubeconfig;             /* external cluster: start nothing */
    const char *kubesim_bin;            /* NULL: kubesim next to this executable */
    const char *controller_bin;         /* NULL: agent-sandbox-controller next to this executable */
    const char *const *kubesim_args;    /* NULL-terminated, may be NULL */
    const char *const *controller_args; /* NULL-terminated, may be NULL */
    int extensions;
    pid_t controller_pid; /* external: a local controller to sample (0: none) */
    int ready_timeout_ms; /* 0: 30000 */
    int keep_tmp;
} bench_env_opts;

typedef struct bench_env {
    int own; /* the processes are ours */
    char tmpdir[PATH_MAX];
    char kubeconfig[PATH_MAX];
    char url[256];
    bench_child sim, ctl;
    pid_t ctl_pid; /* the controller to sample, 0 if none */
    int health_port;
    int keep_tmp;
} bench_env;

int bench_env_start(bench_env *e, const bench_env_opts *o, char *err, size_t errlen);
/* SIGINT and SIGTERM only set a flag (the one piece of global state here,
 * as a signal handler needs): bench_env_check then fails with
 * ERR_CANCELED, so an interrupted run stops its children and removes its
 * temporary directory on the normal path. */
void bench_env_catch_signals(void);

/* bench_check_fn: 0 while every process we depend on runs and no SIGINT or
 * SIGTERM arrived (then ERR_CANCELED). */
int bench_env_check(void *env, char *why, size_t whylen);
/* Tails of both logs (own processes only). */
void bench_env_print_logs(bench_env *e, FILE *out);
/* Stop the controller, then kubesim (SIGTERM, SIGKILL after 5 s). Returns 0
 * when both exited 0 on SIGTERM, else ERR_IO with the reason in why. */
int bench_env_stop(bench_env *e, char *why, size_t whylen);
/* "<dir of this executable>/<name>" into buf. */
const char *bench_sibling_path(const char *name, char *buf, size_t len);

#endif
