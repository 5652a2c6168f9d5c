/* sandboxbench - Sandbox launches per second, and what each one costs.
 *
 *   sandboxbench [--sandboxes N] [--inflight C] [--json FILE] [shared flags]
 *
 * Starts kubesim (kubelet at 0 ms: --pod-ready-delay-ms 0) and the
 * controller (or uses --kubeconfig and a controller already running),
 * creates N Sandboxes (a pod with one container and a headless Service)
 * with at most C creates in flight, and times each one on its own
 * CLOCK_MONOTONIC from "create sent" to "Ready=True seen" on its own watch.
 * Then it waits until the controller stops writing (bounded by --settle)
 * and reads what the API server counted for the controller's client
 * (kubesim_requests_total{client="agent-sandbox-controller"}), not what the
 * controller says about itself.
 *
 * Figures (printed and in --json):
 *   sandboxes.{count,ready,errors}, sandboxes.rate_per_s (ready / (last
 *   Ready seen - first create sent)), sandboxes.latency_ms.{p50,p90,p99,
 *   p999,max}, api.writes_per_launch, api.requests_per_launch,
 *   api.writes_by_kind{"VERB resource[/sub] code": n}, controller.cpu_seconds
 *   (during the run), controller.cpu_seconds_per_1000, controller.peak_rss_bytes,
 *   config, machine. Unmeasurable figures are null.
 *
 * Exit: 0 when every Sandbox became Ready; 2 when some did not by
 * --timeout (the report still says how many did); 1 when the run could not
 * be set up or a process died. */
#include <curl/curl.h>
#include <ev.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benchlib/cli.h"
#include "bench/benchlib/env.h"
#include "bench/benchlib/run.h"
#include "bench/benchlib/fleet.h"
#include "bench/benchlib/hist.h"
#include "bench/benchlib/kc.h"
#include "bench/benchlib/machine.h"
#include "bench/benchlib/objects.h"
#include "bench/benchlib/proc.h"
#include "bench/benchlib/report.h"
#include "bench/benchlib/simapi.h"
#include "bench/benchlib/watch.h"
#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"

#define SB_UA     "sandboxbench/1.0"
#define SB_ROLE   "launch"
#define SB_PREFIX "sbx"

enum { OPT_SANDBOXES = BENCH_OPT_FIRST_OWN, OPT_INFLIGHT, OPT_SETTLE };

typedef struct sb_opts {
    bench_cli cli;
    long n, inflight;
    double settle_s;
} sb_opts;

typedef struct sb_run {
    sb_opts *o;
    bench_env env;
    bench_kc k;
    bench_fleet fleet;
    bench_watch watch;
    int is_sim;
    bench_series before, after;
    bench_procstat ps0, ps1, sim0, sim1; /* the controller; kubesim (own runs only) */
    int have_ps, have_sim;
    char why[512];
} sb_run;

static void
usage(FILE *out)
{
    fputs(
        "usage: sandboxbench [flags]\n"
        "Creates N Sandboxes and measures create -> Ready, API writes per launch (counted\n"
        "by kubesim), controller CPU and memory.\n\n"
        "  --sandboxes N               Sandboxes to launch (default 2000; the issue's run: 10000)\n"
        "  --inflight C                creates in flight at most (default 64)\n"
        "  --settle S                  wait at most S s for the controller's last writes (3)\n",
        out);
    bench_cli_usage(out);
}

static int
parse(sb_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"sandboxes", required_argument, NULL, OPT_SANDBOXES},
        {"inflight", required_argument, NULL, OPT_INFLIGHT},
        {"settle", required_argument, NULL, OPT_SETTLE},
        BENCH_CLI_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    bench_cli_init(&o->cli, "sandboxbench", 60);
    o->n = 2000;
    o->inflight = 64;
    o->settle_s = 3;
    char err[256] = "";
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case OPT_SANDBOXES:
            rc = bench_parse_long(optarg, 1, 10000000, &o->n);
            if (rc) snprintf(err, sizeof err, "--sandboxes must be in [1, 10000000]");
            break;
        case OPT_INFLIGHT:
            rc = bench_parse_long(optarg, 1, 4096, &o->inflight);
            if (rc) snprintf(err, sizeof err, "--inflight must be in [1, 4096]");
            break;
        case OPT_SETTLE:
            rc = bench_parse_double(optarg, 0, 600, &o->settle_s);
            if (rc) snprintf(err, sizeof err, "--settle must be seconds in [0, 600]");
            break;
        case '?':
            snprintf(err, sizeof err, "unknown flag or missing value: %s", argv[optind - 1]);
            rc = ERR_INVALID;
            break;
        default:
            rc = bench_cli_opt(&o->cli, c, optarg, err, sizeof err);
            if (rc == 1) rc = ERR_INVALID;
        }
        if (rc != 0) {
            fprintf(stderr, "sandboxbench: %s\n", err);
            return ERR_INVALID;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sandboxbench: unexpected argument '%s'\n", argv[optind]);
        return ERR_INVALID;
    }
    return 0;
}

static void
on_sandbox(int type, json_object *obj, void *ud)
{
    sb_run *r = ud;
    if (type == KUBE_ADDED || type == KUBE_MODIFIED) bench_fleet_observe(&r->fleet, obj);
}

static size_t
sandbox_body(size_t i, char *buf, size_t cap, void *ud)
{
    sb_run *r = ud;
    char name[128];
    bench_fleet_name(&r->fleet, i, name, sizeof name);
    bench_fleet_sent(&r->fleet, i);
    return bench_sandbox_json(buf, cap, r->o->cli.ns, name, SB_ROLE);
}

static void
on_created(size_t i, const kube_result *res, void *ud)
{
    sb_run *r = ud;
    bench_fleet_answered(&r->fleet, i, res);
}

static int
fleet_settled(void *ud)
{
    sb_run *r = ud;
    return bench_fleet_settled(&r->fleet) || r->watch.failed;
}

static int
sample(sb_run *r, bench_procstat *ps)
{
    return r->env.ctl_pid > 0 && bench_procstat_read(r->env.ctl_pid, ps) == 0;
}

/* The measured part: create, wait for Ready, settle, count. 0, ERR_TIMEOUT
 * (not all Ready: a result, reported), or a setup/health failure. */
static int
measure(sb_run *r)
{
    sb_opts *o = r->o;
    int tmo = (int)(o->cli.timeout_s * 1000);
    int created_ns = 0;
    int rc = bench_kc_ensure_namespace(&r->k, o->cli.ns, &created_ns, tmo, r->why, sizeof r->why);
    if (rc != 0) return rc;
    rc = bench_fleet_init(&r->fleet, BENCH_FLEET_SANDBOXES, SB_PREFIX, (size_t)o->n);
    if (rc != 0) return rc;
    rc = bench_watch_start(&r->watch, &r->k, &KUBE_SANDBOXES, o->cli.ns,
                           BENCH_ROLE_LABEL "=" SB_ROLE, on_sandbox, r, tmo);
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "cannot watch Sandboxes: %s", r->watch.err);
        return rc;
    }
    if (r->fleet.ready > 0) {
        snprintf(r->why, sizeof r->why,
                 "namespace %s already holds Sandboxes of an earlier run; use another --namespace",
                 o->cli.ns);
        return ERR_EXISTS;
    }
    char err[256];
    snprintf(err, sizeof err, "not kubesim");
    r->is_sim = bench_sim_probe(&r->k) &&
                bench_sim_series(&r->k, BENCH_CONTROLLER_CLIENT, &r->before, err, sizeof err) == 0;
    if (!r->is_sim)
        fprintf(stderr, "sandboxbench: no kubesim counters (%s): API figures null\n", err);
    r->have_ps = sample(r, &r->ps0);
    r->have_sim = r->env.own && bench_procstat_read(r->env.sim.pid, &r->sim0) == 0;

    printf("sandboxbench: creating %ld Sandboxes in %s (%ld in flight)\n", o->n, o->cli.ns,
           o->inflight);
    fflush(stdout);
    size_t failed = 0;
    char path[256];
    kube_path(&KUBE_SANDBOXES, o->cli.ns, NULL, NULL, path, sizeof path);
    rc = bench_kc_create_many(&r->k, path, (size_t)o->n, (size_t)o->inflight, sandbox_body,
                              on_created, r, time_mono_ms() + tmo, &failed, r->why, sizeof r->why);
    if (rc != 0) return rc;
    if (failed) fprintf(stderr, "sandboxbench: %zu creates failed; first: %s\n", failed, r->why);
    r->why[0] = '\0';
    rc = bench_kc_run_until(&r->k, fleet_settled, r, time_mono_ms() + tmo, r->why, sizeof r->why);
    if (r->watch.failed) {
        snprintf(r->why, sizeof r->why, "the Sandbox watch failed: %s", r->watch.err);
        return ERR_IO;
    }
    int not_all = rc == ERR_TIMEOUT;
    if (rc != 0 && !not_all) return rc;
    if (r->is_sim) {
        int64_t waited = 0;
        char qwhy[256];
        int q =
            bench_sim_wait_quiet(&r->k, BENCH_CONTROLLER_CLIENT, 1000, (int)(o->settle_s * 1000),
                                 NULL, NULL, &waited, qwhy, sizeof qwhy);
        if (q == ERR_TIMEOUT)
            fprintf(stderr, "sandboxbench: note: %s; counting anyway\n", qwhy);
        else if (q != 0) {
            snprintf(r->why, sizeof r->why, "%s", qwhy);
            return q;
        }
        if (bench_sim_series(&r->k, BENCH_CONTROLLER_CLIENT, &r->after, err, sizeof err) != 0) {
            snprintf(r->why, sizeof r->why, "reading kubesim's counters: %s", err);
            return ERR_IO;
        }
    }
    if (r->have_ps) r->have_ps = sample(r, &r->ps1);
    if (r->have_sim) r->have_sim = bench_procstat_read(r->env.sim.pid, &r->sim1) == 0;
    if (not_all) {
        char reasons[256];
        bench_fleet_pending_reasons(&r->fleet, reasons, sizeof reasons);
        snprintf(r->why, sizeof r->why,
                 "only %zu of %ld Sandboxes Ready %.0f s after the last create (not Ready: %s)",
                 r->fleet.ready, o->n, o->cli.timeout_s, reasons);
        return ERR_TIMEOUT;
    }
    return 0;
}

static double
series_sum(const bench_series *before, const bench_series *after, int writes_only)
{
    json_object *d = bench_series_delta(before, after, writes_only);
    double s = 0;
    json_object_object_foreach(d, key, val)
    {
        (void)key;
        s += json_object_get_double(val);
    }
    json_object_put(d);
    return s;
}

static void
report(sb_run *r, json_object *root)
{
    sb_opts *o = r->o;
    bench_fleet *f = &r->fleet;
    bench_hist h;
    bench_hist_init(&h);
    for (size_t i = 0; i < f->n; i++)
        if (f->it[i].ready_ns && f->it[i].send_ns)
            bench_hist_add(&h, (double)(f->it[i].ready_ns - f->it[i].send_ns) / 1e6);
    bench_hist_finish(&h);
    double span = f->ready && f->last_ready_ns > f->first_send_ns
                      ? (double)(f->last_ready_ns - f->first_send_ns) / 1e9
                      : NAN;
    double rate = f->ready ? (double)f->ready / span : NAN;
    double writes = NAN, requests = NAN;
    json_object *by_kind = NULL;
    if (r->is_sim && r->after.n) {
        writes = series_sum(&r->before, &r->after, 1);
        requests = series_sum(&r->before, &r->after, 0);
        by_kind = bench_series_delta(&r->before, &r->after, 1);
    }
    double n = (double)o->n;
    double cpu = r->have_ps ? r->ps1.cpu_seconds - r->ps0.cpu_seconds : NAN;
    int64_t rss = r->have_ps ? r->ps1.hwm_bytes : -1;

    bench_json_count(root, "sandboxes.count", o->n);
    bench_json_count(root, "sandboxes.ready", (int64_t)f->ready);
    bench_json_count(root, "sandboxes.errors", o->n - (int64_t)f->ready);
    bench_json_num(root, "sandboxes.rate_per_s", rate);
    bench_json_pcts(root, "sandboxes.latency_ms", &h);
    bench_json_num(root, "api.writes_per_launch", writes / n);
    bench_json_num(root, "api.requests_per_launch", requests / n);
    jx_set(root, "api.writes_by_kind", by_kind);
    bench_json_num(root, "controller.cpu_seconds", cpu);
    bench_json_num(root, "controller.cpu_seconds_per_1000", cpu / n * 1000.0);
    bench_json_count(root, "controller.peak_rss_bytes", rss);
    /* kubesim shares the machine: its CPU is part of the picture */
    double sim_cpu = r->have_sim ? r->sim1.cpu_seconds - r->sim0.cpu_seconds : NAN;
    bench_json_num(root, "kubesim.cpu_seconds", sim_cpu);
    bench_json_count(root, "kubesim.peak_rss_bytes", r->have_sim ? r->sim1.hwm_bytes : -1);

    char a[32], b[32], c[32], d[32], e[32];
    printf("\nsandboxbench: %ld Sandboxes, %zu Ready, %zu create errors\n", o->n, f->ready,
           f->failed);
    printf("  %-34s %s /s (over %s s)\n", "created -> Ready rate", bench_fmt(rate, 1, a, sizeof a),
           bench_fmt(span, 2, b, sizeof b));
    printf("  %-34s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", "create -> Ready latency (ms)",
           bench_fmt(bench_hist_pct(&h, 50), 1, a, sizeof a),
           bench_fmt(bench_hist_pct(&h, 90), 1, b, sizeof b),
           bench_fmt(bench_hist_pct(&h, 99), 1, c, sizeof c),
           bench_fmt(bench_hist_pct(&h, 99.9), 1, d, sizeof d),
           bench_fmt(bench_hist_max(&h), 1, e, sizeof e));
    printf("  %-34s %s (target <= 4)\n", "API writes per launch (kubesim)",
           bench_fmt(writes / n, 2, a, sizeof a));
    printf("  %-34s %s\n", "API requests per launch", bench_fmt(requests / n, 2, a, sizeof a));
    if (by_kind) {
        json_object_object_foreach(by_kind, key, val)
        {
            printf("      %-40s %lld\n", key, (long long)json_object_get_int64(val));
        }
    }
    printf("  %-34s %s (%s per 1,000 launches)\n", "controller CPU seconds",
           bench_fmt(cpu, 2, a, sizeof a), bench_fmt(cpu / n * 1000.0, 2, b, sizeof b));
    printf("  %-34s %s MiB\n", "controller peak RSS",
           bench_fmt(rss >= 0 ? (double)rss / 1048576.0 : NAN, 1, a, sizeof a));
    printf("  %-34s %s (%s per 1,000 launches), peak RSS %s MiB\n", "kubesim CPU seconds",
           bench_fmt(sim_cpu, 2, a, sizeof a), bench_fmt(sim_cpu / n * 1000.0, 2, b, sizeof b),
           bench_fmt(r->have_sim ? (double)r->sim1.hwm_bytes / 1048576.0 : NAN, 1, c, sizeof c));
    bench_hist_fini(&h);
}

static json_object *
config_json(const sb_opts *o, const bench_env *env)
{
    json_object *c = json_object_new_object();
    jx_set(c, "sandboxes", json_object_new_int64(o->n));
    jx_set(c, "inflight", json_object_new_int64(o->inflight));
    jx_set(c, "connections", json_object_new_int64(o->cli.connections));
    jx_set(c, "timeout_s", bench_json_double(o->cli.timeout_s));
    jx_set(c, "settle_s", bench_json_double(o->settle_s));
    jx_set(c, "namespace", json_object_new_string(o->cli.ns));
    jx_set(c, "cluster",
           json_object_new_string(o->cli.kubeconfig ? "kubeconfig" : "kubesim (started here)"));
    jx_set(c, "server", env->url[0] ? json_object_new_string(env->url) : NULL);
    json_object *ca = json_object_new_array(), *sa = json_object_new_array();
    for (size_t i = 0; i < o->cli.nctl; i++)
        json_object_array_add(ca, json_object_new_string(o->cli.ctl_args[i]));
    for (size_t i = 0; i < o->cli.nsim; i++)
        json_object_array_add(sa, json_object_new_string(o->cli.sim_args[i]));
    jx_set(c, "extra_controller_flags", ca);
    jx_set(c, "extra_kubesim_flags", sa);
    return c;
}

int
main(int argc, char **argv)
{
    sb_opts o;
    if (parse(&o, argc, argv) != 0) {
        usage(stderr);
        return 1;
    }
    if (o.cli.help) {
        usage(stdout);
        return 0;
    }
    json_object *machine = bench_run_begin("sandboxbench", o.cli.json);
    if (machine == NULL) return 1;
    sb_run r;
    memset(&r, 0, sizeof r);
    r.o = &o;

    /* kubesim's kubelet at 0 ms unless the caller says otherwise */
    const char *sim_args[BENCH_CLI_MAX_EXTRA + 3] = {"--pod-ready-delay-ms", "0"};
    for (size_t i = 0; i < o.cli.nsim; i++)
        sim_args[2 + i] = o.cli.sim_args[i];
    bench_env_opts eo = {.kubeconfig = o.cli.kubeconfig,
                         .kubesim_bin = o.cli.kubesim_bin,
                         .controller_bin = o.cli.controller_bin,
                         .kubesim_args = sim_args,
                         .controller_args = o.cli.ctl_args,
                         .controller_pid = o.cli.controller_pid,
                         .keep_tmp = o.cli.keep};
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    int rc = loop ? bench_env_start(&r.env, &eo, r.why, sizeof r.why) : ERR_NOMEM;
    if (rc == 0)
        rc = bench_kc_open(&r.k, loop, r.env.kubeconfig, SB_UA, o.cli.connections, r.why,
                           sizeof r.why);
    if (rc == 0) {
        r.k.check = bench_env_check;
        r.k.check_ud = &r.env;
        if (r.env.own)
            printf("sandboxbench: kubesim at %s, controller pid %d\n", r.env.url,
                   (int)r.env.ctl_pid);
        rc = measure(&r);
    }
    int measured = r.fleet.n > 0 && (rc == 0 || rc == ERR_TIMEOUT);
    json_object *root = json_object_new_object();
    if (measured) report(&r, root);
    jx_set(root, "config", config_json(&o, &r.env));
    jx_set(root, "machine", machine);
    int exit_code = rc == 0 ? 0 : rc == ERR_TIMEOUT && measured ? 2 : 1;
    if (rc != 0) {
        fflush(stdout); /* the table first, then the verdict */
        fprintf(stderr, "sandboxbench: FAILED: %s\n", r.why[0] ? r.why : err_str(rc));
        if ((!measured || r.fleet.ready == 0) && rc != ERR_CANCELED)
            bench_env_print_logs(&r.env, stderr);
    }
    exit_code = bench_run_write_report("sandboxbench", root, o.cli.json, measured, exit_code);
    json_object_put(root);
    bench_watch_stop(&r.watch);
    if (r.k.c) bench_kc_close(&r.k);
    char why[256] = "";
    if (bench_env_stop(&r.env, why, sizeof why) != 0 && rc == 0) {
        fprintf(stderr, "sandboxbench: FAILED at shutdown: %s\n", why);
        exit_code = 1;
    }
    bench_series_fini(&r.before);
    bench_series_fini(&r.after);
    bench_fleet_fini(&r.fleet);
    if (loop) ev_loop_destroy(loop);
    curl_global_cleanup();
    return exit_code;
}
