/* cli.c - shared benchmark flags (see cli.h). */
#include "bench/benchlib/cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/err.h"

void
bench_cli_init(bench_cli *c, const char *default_ns, double default_timeout_s)
{
    memset(c, 0, sizeof *c);
    c->ns = default_ns;
    c->timeout_s = default_timeout_s;
    c->connections = 256;
}

void
bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int
bench_parse_long(const char *s, long min, long max, long *out)
{
    if (s == NULL || *s == '\0') return ERR_INVALID;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) return ERR_INVALID;
    *out = v;
    return 0;
}

int
bench_parse_double(const char *s, double min, double max, double *out)
{
    if (s == NULL || *s == '\0') return ERR_INVALID;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max) return ERR_INVALID;
    *out = v;
    return 0;
}

static int
add_extra(const char **v, size_t *n, const char *arg, const char *flag, char *err, size_t errlen)
{
    if (*n >= BENCH_CLI_MAX_EXTRA) {
        snprintf(err, errlen, "--%s: at most %d", flag, BENCH_CLI_MAX_EXTRA);
        return ERR_INVALID;
    }
    v[(*n)++] = arg;
    v[*n] = NULL;
    return 0;
}

int
bench_cli_opt(bench_cli *c, int opt, const char *arg, char *err, size_t errlen)
{
    long l;
    switch (opt) {
    case BENCH_OPT_JSON:
        c->json = arg;
        return 0;
    case BENCH_OPT_KUBECONFIG:
        c->kubeconfig = arg;
        return 0;
    case BENCH_OPT_CONTROLLER_PID:
        if (bench_parse_long(arg, 1, 1L << 30, &l) != 0) {
            snprintf(err, errlen, "--controller-pid must be a process id, got '%s'", arg);
            return ERR_INVALID;
        }
        c->controller_pid = (pid_t)l;
        return 0;
    case BENCH_OPT_NAMESPACE:
        if (arg[0] == '\0' || strlen(arg) > 63 ||
            strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(arg)) {
            snprintf(err, errlen, "--namespace must be a DNS label, got '%s'", arg);
            return ERR_INVALID;
        }
        c->ns = arg;
        return 0;
    case BENCH_OPT_CONTROLLER_BIN:
        c->controller_bin = arg;
        return 0;
    case BENCH_OPT_KUBESIM_BIN:
        c->kubesim_bin = arg;
        return 0;
    case BENCH_OPT_TIMEOUT:
        if (bench_parse_double(arg, 0.1, 86400, &c->timeout_s) != 0) {
            snprintf(err, errlen, "--timeout must be seconds in [0.1, 86400], got '%s'", arg);
            return ERR_INVALID;
        }
        return 0;
    case BENCH_OPT_EXTRA_CONTROLLER:
        return add_extra(c->ctl_args, &c->nctl, arg, "extra-controller-flag", err, errlen);
    case BENCH_OPT_EXTRA_KUBESIM:
        return add_extra(c->sim_args, &c->nsim, arg, "extra-kubesim-flag", err, errlen);
    case BENCH_OPT_KEEP:
        c->keep = 1;
        return 0;
    case BENCH_OPT_CONNECTIONS:
        if (bench_parse_long(arg, 0, 100000, &l) != 0) {
            snprintf(err, errlen, "--connections must be in [0, 100000] (0: no cap), got '%s'",
                     arg);
            return ERR_INVALID;
        }
        c->connections = (int)l;
        return 0;
    case BENCH_OPT_HELP:
        c->help = 1;
        return 0;
    default:
        return 1;
    }
}

void
bench_cli_usage(FILE *out)
{
    fputs(
        "  --json FILE                 write the report as JSON to FILE\n"
        "  --kubeconfig F              use this cluster and a controller already running there\n"
        "                              (default: start kubesim and the controller here)\n"
        "  --controller-pid P          with --kubeconfig: sample this local controller's CPU/RSS\n"
        "  --namespace NS              namespace of the benchmark's objects\n"
        "  --controller-bin P          agent-sandbox-controller binary (default: next to this)\n"
        "  --kubesim-bin P             kubesim binary (default: next to this one)\n"
        "  --timeout S                 bound of each waiting phase in seconds\n"
        "  --extra-controller-flag F   pass F to the controller (repeatable)\n"
        "  --extra-kubesim-flag F      pass F to kubesim (repeatable)\n"
        "  --keep                      keep the temporary directory (kubeconfig, logs, cache)\n"
        "  --connections N             this client's connections to the server at most\n"
        "                              (default 256; 0: one per request in flight)\n"
        "  --help\n",
        out);
}
