/* cli.h - the flags every benchmark shares, and strict number parsing.
 *
 * Shared flags (each bench adds its own to the same getopt_long table):
 *   --json FILE                 write the report there
 *   --kubeconfig F              use that cluster and a controller already running
 *   --controller-pid P          (with --kubeconfig) sample that local process
 *   --namespace NS              where the benchmark's objects go
 *   --controller-bin P, --kubesim-bin P   binaries (default: next to the bench)
 *   --timeout S                 bound of each waiting phase, seconds
 *   --extra-controller-flag F   one more controller argument (repeatable)
 *   --extra-kubesim-flag F      one more kubesim argument (repeatable)
 *   --keep                      keep the temporary directory (logs, cache)
 *   --connections N             the benchmark client's connections at most (256)
 * Memory: strings point into argv. Returns 0 or ERR_INVALID with a message.
 */
#ifndef ASC_BENCH_CLI_H
#define ASC_BENCH_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define BENCH_CLI_MAX_EXTRA 32

enum {
    BENCH_OPT_JSON = 1000,
    BENCH_OPT_KUBECONFIG,
    BENCH_OPT_CONTROLLER_PID,
    BENCH_OPT_NAMESPACE,
    BENCH_OPT_CONTROLLER_BIN,
    BENCH_OPT_KUBESIM_BIN,
    BENCH_OPT_TIMEOUT,
    BENCH_OPT_EXTRA_CONTROLLER,
    BENCH_OPT_EXTRA_KUBESIM,
    BENCH_OPT_KEEP,
    BENCH_OPT_HELP,
    BENCH_OPT_CONNECTIONS,
    BENCH_OPT_FIRST_OWN = 1100, /* a bench's own options start here */
};

/* getopt_long rows for the shared flags (spliced into each bench's table). */
#define BENCH_CLI_OPTIONS                                                                          \
    {"json", required_argument, NULL, BENCH_OPT_JSON},                                             \
        {"kubeconfig", required_argument, NULL, BENCH_OPT_KUBECONFIG},                             \
        {"controller-pid", required_argument, NULL, BENCH_OPT_CONTROLLER_PID},                     \
        {"namespace", required_argument, NULL, BENCH_OPT_NAMESPACE},                               \
        {"controller-bin", required_argument, NULL, BENCH_OPT_CONTROLLER_BIN},                     \
        {"kubesim-bin", required_argument, NULL, BENCH_OPT_KUBESIM_BIN},                           \
        {"timeout", required_argument, NULL, BENCH_OPT_TIMEOUT},                                   \
        {"extra-controller-flag", required_argument, NULL, BENCH_OPT_EXTRA_CONTROLLER},            \
        {"extra-kubesim-flag", required_argument, NULL, BENCH_OPT_EXTRA_KUBESIM},                  \
        {"keep", no_argument, NULL, BENCH_OPT_KEEP},                                               \
        {"connections", required_argument, NULL, BENCH_OPT_CONNECTIONS},                           \
    {                                                                                              \
        "help", no_argument, NULL, BENCH_OPT_HELP                                                  \
    }

typedef struct bench_cli {
    const char *json, *kubeconfig, *ns, *controller_bin, *kubesim_bin;
    pid_t controller_pid;
    double timeout_s;
    const char *ctl_args[BENCH_CLI_MAX_EXTRA + 1]; /* NULL-terminated */
    const char *sim_args[BENCH_CLI_MAX_EXTRA + 1];
    size_t nctl, nsim;
    int keep, help;
    int connections; /* the bench client's connection cap (default 256) */
} bench_cli;

void bench_cli_init(bench_cli *c, const char *default_ns, double default_timeout_s);
/* Handle one shared option: 0 (handled), 1 (not a shared option), ERR_INVALID. */
int bench_cli_opt(bench_cli *c, int opt, const char *arg, char *err, size_t errlen);
/* The shared part of --help. */
void bench_cli_usage(FILE *out);

/* Raise this process's soft limit of open files to the hard limit (the
 * children inherit it): a burst holds a socket per request in flight. */
void bench_raise_nofile(void);

/* Whole-string numbers in [min, max]. 0 or ERR_INVALID. */
int bench_parse_long(const char *s, long min, long max, long *out);
int bench_parse_double(const char *s, double min, double max, double *out);

#endif
