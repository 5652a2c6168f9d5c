/* claimbench - what an agent feels: SandboxClaim -> Ready sandbox from a warm pool.
 *
 *   claimbench [--pool W] [--sandboxes S] [--rate R --duration T | --burst N] [--json FILE]
 *              [shared flags: see --help]
 *
 * Setup: starts kubesim and the controller with --extensions (or uses
 * --kubeconfig and a controller already running), creates S other Sandboxes
 * (at most --inflight creates in flight) and waits until they are Ready, then
 * a SandboxTemplate and a SandboxWarmPool of W members, and waits until
 * status.readyReplicas == W. Each wait is bounded by --timeout.
 *
 * Claims: Poisson arrivals at R/s for T s (seeded: --seed), or N at once
 * (--burst). Each claim is timed on this process's CLOCK_MONOTONIC from
 * "create sent" to "Ready=True and status.sandbox.name seen" on its own
 * watch of sandboxclaims. A claim whose Sandbox is not named like the claim
 * is warm (taken from the pool; a cold Sandbox bears the claim's name).
 *
 * After the last claim is Ready (or --timeout after the last send), the run
 * settles: it waits (at most --settle s) until the pool is back to W Ready
 * members and the controller has stopped writing, then reads kubesim's
 * counters. API figures come from kubesim, never from the controller:
 *   critical_path  mean, over warm claims, of the controller's writes to the
 *                  claim and to its Sandbox between the claim's POST and the
 *                  status write that made it Ready (request log, see
 *                  bench/benchlib/reqlog.h);
 *   total          all the controller's writes during the claim phase
 *                  (settling included: refill, pool status) / claims;
 *   requests       all its requests (reads too) / claims.
 * pool.creates counts the pool's Sandbox creates in that phase, pool.deficit
 * the members it had to replace (taken by claims, or deleted); creates above
 * the deficit are over-creation.
 *
 * Exit: 0 when every claim became Ready; 2 when some did not (report
 * written, reason printed); 1 when setup failed or a process died. */
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
#include "bench/benchlib/poisson.h"
#include "bench/benchlib/proc.h"
#include "bench/benchlib/report.h"
#include "bench/benchlib/reqlog.h"
#include "bench/benchlib/sched.h"
#include "bench/benchlib/simapi.h"
#include "bench/benchlib/watch.h"
#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"

#define CB_UA       "claimbench/1.0"
#define CB_CLIENT   "claimbench" /* kubesim: the User-Agent up to '/' */
#define CB_TEMPLATE "bench-template"
#define CB_POOL     "bench-pool"

enum {
    OPT_POOL = BENCH_OPT_FIRST_OWN,
    OPT_SANDBOXES,
    OPT_RATE,
    OPT_DURATION,
    OPT_BURST,
    OPT_INFLIGHT,
    OPT_SEED,
    OPT_SETTLE,
    OPT_SWEEP,
};

#define CB_MAX_SWEEP 16
/* The sweep's goal (issue 16): the highest rate with >= 99% warm claims and
 * a warm p99 within 20 ms. */
#define CB_SWEEP_WARM_FRACTION 0.99
#define CB_SWEEP_P99_MS        20.0

typedef struct cb_opts {
    bench_cli cli;
    long pool, sandboxes, burst, inflight;
    double rate, duration, settle_s;
    long seed;
    double sweep[CB_MAX_SWEEP];
    size_t nsweep;
} cb_opts;

typedef struct cb_run {
    cb_opts *o;
    bench_env env;
    bench_kc k;
    bench_fleet bg, claims;
    bench_watch bg_watch, claim_watch;
    bench_sched sched;
    double *off;
    size_t n;
    int is_sim;
    bench_reqlog log;
    bench_logpoll poll;
    bench_series s0, s1;
    bench_procstat ps0, ps1, sim0, sim1; /* the controller; kubesim (own runs only) */
    int have_ps, have_sim;
    double setup_bg_s, setup_pool_s, settle_s;
    int settled;
    double rate_now; /* the rate of this round (--rate, or the sweep's) */
    int round;
    json_object *sweep_rows;
    double sweep_best;
    char why[512];
} cb_run;

/* ---- flags -------------------------------------------------------------------- */

static void
usage(FILE *out)
{
    fputs("usage: claimbench [flags]\n"
          "Claims Sandboxes from a warm pool and measures claim -> Ready latency, warm/cold,\n"
          "API writes per claim (counted by kubesim), pool over-creation, controller CPU/RSS.\n\n"
          "  --pool W                    warm pool replicas (default 50)\n"
          "  --sandboxes S               other Sandboxes created first (default 1000)\n"
          "  --rate R                    claims per second, Poisson arrivals (default 50)\n"
          "  --duration T                seconds of claims (default 10)\n"
          "  --burst N                   N claims at once instead of --rate/--duration\n"
          "  --inflight C                setup creates in flight at most (default 64)\n"
          "  --seed N                    seed of the arrival schedule (default 1)\n"
          "  --settle S                  after the claims, wait at most S s for the refill (10)\n"
          "  --sweep R1,R2,...           one round of --duration s per rate on the same setup;\n"
          "                              reports the highest rate with >= 99% warm and warm\n"
          "                              p99 <= 20 ms (the JSON's figures are the last round's)\n",
          out);
    bench_cli_usage(out);
}

static int
own_opt(cb_opts *o, int c, const char *arg, char *err, size_t errlen)
{
    switch (c) {
    case OPT_POOL:
        if (bench_parse_long(arg, 0, 1000000, &o->pool) == 0) return 0;
        snprintf(err, errlen, "--pool must be in [0, 1000000], got '%s'", arg);
        return ERR_INVALID;
    case OPT_SANDBOXES:
        if (bench_parse_long(arg, 0, 10000000, &o->sandboxes) == 0) return 0;
        snprintf(err, errlen, "--sandboxes must be in [0, 10000000], got '%s'", arg);
        return ERR_INVALID;
    case OPT_RATE:
        if (bench_parse_double(arg, 0.001, 1e6, &o->rate) == 0) return 0;
        snprintf(err, errlen, "--rate must be claims/s in [0.001, 1e6], got '%s'", arg);
        return ERR_INVALID;
    case OPT_DURATION:
        if (bench_parse_double(arg, 0.001, 86400, &o->duration) == 0) return 0;
        snprintf(err, errlen, "--duration must be seconds in [0.001, 86400], got '%s'", arg);
        return ERR_INVALID;
    case OPT_BURST:
        if (bench_parse_long(arg, 1, 10000000, &o->burst) == 0) return 0;
        snprintf(err, errlen, "--burst must be in [1, 10000000], got '%s'", arg);
        return ERR_INVALID;
    case OPT_INFLIGHT:
        if (bench_parse_long(arg, 1, 4096, &o->inflight) == 0) return 0;
        snprintf(err, errlen, "--inflight must be in [1, 4096], got '%s'", arg);
        return ERR_INVALID;
    case OPT_SEED:
        if (bench_parse_long(arg, 0, 0x7fffffffL, &o->seed) == 0) return 0;
        snprintf(err, errlen, "--seed must be in [0, 2147483647], got '%s'", arg);
        return ERR_INVALID;
    case OPT_SWEEP: {
        o->nsweep = 0;
        const char *p = arg;
        while (*p) {
            char item[64];
            size_t n = strcspn(p, ",");
            snprintf(item, sizeof item, "%.*s", (int)(n < 63 ? n : 63), p);
            if (o->nsweep == CB_MAX_SWEEP ||
                bench_parse_double(item, 0.001, 1e6, &o->sweep[o->nsweep]) != 0) {
                snprintf(err, errlen, "--sweep takes up to %d rates in [0.001, 1e6], got '%s'",
                         CB_MAX_SWEEP, arg);
                return ERR_INVALID;
            }
            o->nsweep++;
            p += n;
            if (*p == ',') p++;
        }
        if (o->nsweep == 0) {
            snprintf(err, errlen, "--sweep needs at least one rate");
            return ERR_INVALID;
        }
        return 0;
    }
    case OPT_SETTLE:
        if (bench_parse_double(arg, 0, 600, &o->settle_s) == 0) return 0;
        snprintf(err, errlen, "--settle must be seconds in [0, 600], got '%s'", arg);
        return ERR_INVALID;
    }
    return 1;
}

static int
parse(cb_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"pool", required_argument, NULL, OPT_POOL},
        {"sandboxes", required_argument, NULL, OPT_SANDBOXES},
        {"rate", required_argument, NULL, OPT_RATE},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"burst", required_argument, NULL, OPT_BURST},
        {"inflight", required_argument, NULL, OPT_INFLIGHT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"settle", required_argument, NULL, OPT_SETTLE},
        {"sweep", required_argument, NULL, OPT_SWEEP},
        BENCH_CLI_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    bench_cli_init(&o->cli, "claimbench", 30);
    o->pool = 50;
    o->sandboxes = 1000;
    o->rate = 50;
    o->duration = 10;
    o->burst = 0;
    o->inflight = 64;
    o->seed = 1;
    o->settle_s = 10;
    int rate_set = 0;
    char err[256] = "";
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc;
        if (c == '?') {
            snprintf(err, sizeof err, "unknown flag or missing value: %s", argv[optind - 1]);
            rc = ERR_INVALID;
        } else {
            rc = own_opt(o, c, optarg, err, sizeof err);
            if (rc == 1) rc = bench_cli_opt(&o->cli, c, optarg, err, sizeof err);
            if (rc == 1) rc = ERR_INVALID;
            if (c == OPT_RATE || c == OPT_DURATION) rate_set = 1;
            if (c == OPT_RATE) rate_set = 2;
        }
        if (rc != 0) {
            fprintf(stderr, "claimbench: %s\n", err);
            return ERR_INVALID;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "claimbench: unexpected argument '%s'\n", argv[optind]);
        return ERR_INVALID;
    }
    if (o->burst && rate_set) {
        fprintf(stderr, "claimbench: --burst excludes --rate/--duration\n");
        return ERR_INVALID;
    }
    if (o->nsweep && (o->burst || rate_set == 2)) {
        fprintf(stderr, "claimbench: --sweep excludes --burst and --rate\n");
        return ERR_INVALID;
    }
    return 0;
}

/* ---- setup ---------------------------------------------------------------------- */

static void
on_bg(int type, json_object *obj, void *ud)
{
    cb_run *r = ud;
    if (type == KUBE_ADDED || type == KUBE_MODIFIED) bench_fleet_observe(&r->bg, obj);
}

static size_t
bg_body(size_t i, char *buf, size_t cap, void *ud)
{
    cb_run *r = ud;
    char name[128];
    bench_fleet_name(&r->bg, i, name, sizeof name);
    bench_fleet_sent(&r->bg, i);
    return bench_sandbox_json(buf, cap, r->o->cli.ns, name, "background");
}

static void
bg_created(size_t i, const kube_result *res, void *ud)
{
    cb_run *r = ud;
    bench_fleet_answered(&r->bg, i, res);
}

static int
bg_settled(void *ud)
{
    cb_run *r = ud;
    return bench_fleet_settled(&r->bg) || r->bg_watch.failed;
}

/* S Sandboxes Ready, or a reason. */
static int
setup_background(cb_run *r, int tmo)
{
    const cb_opts *o = r->o;
    int rc = bench_fleet_init(&r->bg, BENCH_FLEET_SANDBOXES, "bg", (size_t)o->sandboxes);
    if (rc != 0 || o->sandboxes == 0) return rc;
    int64_t t0 = time_mono_ms();
    rc = bench_watch_start(&r->bg_watch, &r->k, &KUBE_SANDBOXES, o->cli.ns,
                           BENCH_ROLE_LABEL "=background", on_bg, r, tmo);
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "cannot watch Sandboxes: %s", r->bg_watch.err);
        return rc;
    }
    if (r->bg.ready > 0) {
        snprintf(r->why, sizeof r->why,
                 "namespace %s holds Sandboxes of an earlier run; use another --namespace",
                 o->cli.ns);
        return ERR_EXISTS;
    }
    printf("claimbench: creating %ld other Sandboxes\n", o->sandboxes);
    fflush(stdout);
    char path[256];
    size_t failed = 0;
    kube_path(&KUBE_SANDBOXES, o->cli.ns, NULL, NULL, path, sizeof path);
    rc = bench_kc_create_many(&r->k, path, (size_t)o->sandboxes, (size_t)o->inflight, bg_body,
                              bg_created, r, time_mono_ms() + tmo, &failed, r->why, sizeof r->why);
    if (rc == 0 && failed) rc = ERR_HTTP;
    if (rc == 0)
        rc = bench_kc_run_until(&r->k, bg_settled, r, time_mono_ms() + tmo, r->why, sizeof r->why);
    if (rc == 0 && r->bg_watch.failed) {
        snprintf(r->why, sizeof r->why, "the Sandbox watch failed: %s", r->bg_watch.err);
        rc = ERR_IO;
    }
    if (rc == ERR_TIMEOUT) {
        char reasons[256];
        bench_fleet_pending_reasons(&r->bg, reasons, sizeof reasons);
        snprintf(r->why, sizeof r->why,
                 "only %zu of %ld other Sandboxes Ready after %d s (not Ready: %s): is the "
                 "Sandbox controller running?",
                 r->bg.ready, o->sandboxes, tmo / 1000, reasons);
    }
    bench_watch_stop(&r->bg_watch); /* their events would only cost CPU from here on */
    r->setup_bg_s = (double)(time_mono_ms() - t0) / 1000.0;
    if (rc == 0)
        printf("claimbench: %ld other Sandboxes Ready in %.1f s\n", o->sandboxes, r->setup_bg_s);
    return rc;
}

/* GET the pool: readyReplicas and replicas from its status (-1 if absent). */
static int
pool_status(cb_run *r, long *ready, long *replicas, int tmo)
{
    char path[256];
    kube_path(&KUBE_SANDBOXWARMPOOLS, r->o->cli.ns, CB_POOL, NULL, path, sizeof path);
    bench_reply rep;
    int rc = bench_kc_call(&r->k, "GET", path, NULL, tmo, &rep);
    if (rc == 0 && rep.status != 200) {
        snprintf(r->why, sizeof r->why, "GET %s: HTTP %ld: %.200s", path, rep.status, rep.message);
        rc = rep.err ? rep.err : ERR_HTTP;
    } else if (rc != 0) {
        snprintf(r->why, sizeof r->why, "GET %s: %.200s", path, rep.message);
    }
    *ready = rc == 0 ? (long)jx_int(rep.json, "status.readyReplicas", 0) : -1;
    *replicas = rc == 0 ? (long)jx_int(rep.json, "status.replicas", 0) : -1;
    bench_reply_fini(&rep);
    return rc;
}

static int
setup_pool(cb_run *r, int tmo)
{
    const cb_opts *o = r->o;
    char path[256], body[4096];
    int64_t t0 = time_mono_ms();
    kube_path(&KUBE_SANDBOXTEMPLATES, o->cli.ns, NULL, NULL, path, sizeof path);
    bench_template_json(body, sizeof body, o->cli.ns, CB_TEMPLATE);
    int rc = bench_kc_post(&r->k, path, body, tmo, r->why, sizeof r->why);
    if (rc != 0) return rc;
    kube_path(&KUBE_SANDBOXWARMPOOLS, o->cli.ns, NULL, NULL, path, sizeof path);
    bench_pool_json(body, sizeof body, o->cli.ns, CB_POOL, CB_TEMPLATE, o->pool);
    rc = bench_kc_post(&r->k, path, body, tmo, r->why, sizeof r->why);
    if (rc != 0) return rc;
    printf("claimbench: waiting for the pool's %ld members to be Ready\n", o->pool);
    fflush(stdout);
    long ready = -1, replicas = -1;
    for (;;) {
        rc = pool_status(r, &ready, &replicas, tmo);
        if (rc != 0) return rc;
        if (ready >= o->pool) break;
        if (time_mono_ms() - t0 > tmo) {
            snprintf(r->why, sizeof r->why,
                     "pool %s: status.readyReplicas %ld, status.replicas %ld of %ld after %d s: "
                     "is the SandboxWarmPool controller running (--extensions)?",
                     CB_POOL, ready, replicas, o->pool, tmo / 1000);
            return ERR_TIMEOUT;
        }
        rc = bench_kc_sleep(&r->k, 100, r->why, sizeof r->why);
        if (rc != 0) return rc;
    }
    r->setup_pool_s = (double)(time_mono_ms() - t0) / 1000.0;
    printf("claimbench: pool of %ld Ready in %.1f s\n", o->pool, r->setup_pool_s);
    return 0;
}

/* ---- the claims ---------------------------------------------------------------- */

static void
on_claim(int type, json_object *obj, void *ud)
{
    cb_run *r = ud;
    if (type == KUBE_ADDED || type == KUBE_MODIFIED) bench_fleet_observe(&r->claims, obj);
}

static void
send_claim(size_t i, void *ud)
{
    cb_run *r = ud;
    char name[64], body[1024];
    bench_fleet_name(&r->claims, i, name, sizeof name);
    bench_claim_json(body, sizeof body, r->o->cli.ns, name, CB_POOL, "claim");
    bench_fleet_sent(&r->claims, i);
    int rc = kube_create(r->k.c, &KUBE_SANDBOXCLAIMS, r->o->cli.ns, body, bench_fleet_on_created,
                         bench_fleet_item_udata(&r->claims, i));
    if (rc != 0) {
        kube_result res = {.err = rc, .message = "not sent (client refused the request)"};
        bench_fleet_answered(&r->claims, i, &res);
    }
}

static int
claims_settled(void *ud)
{
    cb_run *r = ud;
    return (bench_sched_done(&r->sched) && bench_fleet_settled(&r->claims)) ||
           r->claim_watch.failed;
}

/* Keep the controller's writes and this bench's claim POSTs in our namespace. */
static int
keep_entry(const bench_logent *e, void *ud)
{
    const cb_run *r = ud;
    if (strcmp(e->ns, r->o->cli.ns) != 0) return 0;
    if (strcmp(e->client, BENCH_CONTROLLER_CLIENT) == 0) return bench_verb_is_write(e->verb);
    return strcmp(e->client, CB_CLIENT) == 0 && e->verb == BENCH_VERB_POST &&
           strcmp(e->resource, "sandboxclaims") == 0;
}

static int
pool_refilled(void *ud)
{
    cb_run *r = ud;
    long ready, replicas;
    return pool_status(r, &ready, &replicas, 10000) == 0 && ready >= r->o->pool;
}

static int
run_claims(cb_run *r, int tmo)
{
    const cb_opts *o = r->o;
    int rc;
    if (o->burst) {
        r->n = (size_t)o->burst;
        r->off = calloc(r->n, sizeof *r->off); /* every offset 0: all at once */
        rc = r->off ? 0 : ERR_NOMEM;
    } else {
        rc = bench_poisson_schedule(r->rate_now, o->duration, (uint64_t)o->seed, &r->off, &r->n);
    }
    if (rc == 0 && r->n == 0) {
        snprintf(r->why, sizeof r->why, "the schedule holds no claim (raise --rate or --duration)");
        return ERR_INVALID;
    }
    char prefix[32];
    if (r->round == 0)
        snprintf(prefix, sizeof prefix, "claim");
    else
        snprintf(prefix, sizeof prefix, "claim-r%d", r->round + 1);
    if (rc == 0) rc = bench_fleet_init(&r->claims, BENCH_FLEET_CLAIMS, prefix, r->n);
    if (rc != 0) return rc;
    rc = bench_watch_start(&r->claim_watch, &r->k, &KUBE_SANDBOXCLAIMS, o->cli.ns,
                           BENCH_ROLE_LABEL "=claim", on_claim, r, tmo);
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "cannot watch SandboxClaims: %s", r->claim_watch.err);
        return rc;
    }
    char err[256];
    bench_reqlog_init(&r->log, keep_entry, r);
    snprintf(err, sizeof err, "not kubesim");
    r->is_sim = bench_sim_probe(&r->k) &&
                bench_sim_series(&r->k, BENCH_CONTROLLER_CLIENT, &r->s0, err, sizeof err) == 0 &&
                bench_sim_log_skip(&r->k, &r->log, err, sizeof err) == 0;
    if (!r->is_sim)
        fprintf(stderr, "claimbench: no kubesim counters (%s): API and pool figures null\n", err);
    else
        bench_logpoll_start(&r->poll, &r->k, &r->log, 0.1);
    r->have_ps = r->env.ctl_pid > 0 && bench_procstat_read(r->env.ctl_pid, &r->ps0) == 0;
    r->have_sim = r->env.own && bench_procstat_read(r->env.sim.pid, &r->sim0) == 0;

    if (o->burst)
        printf("claimbench: %zu claims at once\n", r->n);
    else
        printf("claimbench: %zu claims, Poisson arrivals at %g/s for %g s\n", r->n, r->rate_now,
               o->duration);
    fflush(stdout);
    bench_sched_start(&r->sched, r->k.loop, r->off, r->n, send_claim, r);
    int64_t deadline = time_mono_ms() + (int64_t)(r->off[r->n - 1] * 1000.0) + tmo;
    rc = bench_kc_run_until(&r->k, claims_settled, r, deadline, r->why, sizeof r->why);
    bench_sched_stop(&r->sched);
    if (r->claim_watch.failed) {
        snprintf(r->why, sizeof r->why, "the SandboxClaim watch failed: %s", r->claim_watch.err);
        return ERR_IO;
    }
    if (rc != 0 && rc != ERR_TIMEOUT) return rc;
    int not_all = rc == ERR_TIMEOUT;
    if (not_all) {
        char reasons[256];
        bench_fleet_pending_reasons(&r->claims, reasons, sizeof reasons);
        snprintf(r->why, sizeof r->why,
                 "only %zu of %zu claims Ready %d s after the last send (%zu creates failed; "
                 "not Ready: %s)%s",
                 r->claims.ready, r->n, tmo / 1000, r->claims.failed, reasons,
                 r->claims.ready == 0 ? ": is the SandboxClaim controller running (--extensions)?"
                                      : "");
    }
    if (r->is_sim) {
        int64_t waited = 0;
        char qwhy[256];
        int q =
            bench_sim_wait_quiet(&r->k, BENCH_CONTROLLER_CLIENT, 1000, (int)(o->settle_s * 1000),
                                 pool_refilled, r, &waited, qwhy, sizeof qwhy);
        r->settle_s = (double)waited / 1000.0;
        r->settled = q == 0;
        if (q == ERR_TIMEOUT) {
            fprintf(stderr, "claimbench: note: settling: %s; counting anyway\n", qwhy);
        } else if (q != 0) {
            snprintf(r->why, sizeof r->why, "%s", qwhy);
            return q;
        }
        bench_logpoll_stop(&r->poll);
        int l = bench_sim_log_poll(&r->k, &r->log, err, sizeof err);
        if (l == 0) l = bench_sim_series(&r->k, BENCH_CONTROLLER_CLIENT, &r->s1, err, sizeof err);
        if (l != 0) {
            snprintf(r->why, sizeof r->why, "reading kubesim's counters: %s", err);
            return l;
        }
    }
    if (r->have_ps) r->have_ps = bench_procstat_read(r->env.ctl_pid, &r->ps1) == 0;
    if (r->have_sim) r->have_sim = bench_procstat_read(r->env.sim.pid, &r->sim1) == 0;
    return not_all ? ERR_TIMEOUT : 0;
}

/* ---- report -------------------------------------------------------------------- */

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

typedef struct cb_figures {
    size_t warm, cold;
    bench_hist warm_ms, cold_ms;
    double throughput, span_s;
    double crit_warm, crit_cold, after_warm, writes, requests;
    int64_t pool_creates, pool_deficit;
    double cpu;
    int64_t rss;
    json_object *by_kind;
    json_object *crit_by_kind; /* warm claims' critical-path writes by kind */
} cb_figures;

typedef struct {
    const bench_claim_attr *a;
    json_object *tally;
} crit_ctx;

static void
on_crit_write(size_t k, const bench_logent *e, void *ud)
{
    crit_ctx *c = ud;
    if (strcmp(c->a[k].sandbox, c->a[k].claim) == 0) return; /* cold */
    char key[128];
    snprintf(key, sizeof key, "%s %s%s%s", bench_verb_name(e->verb), e->resource,
             e->subresource[0] ? "/" : "", e->subresource);
    json_object *v = NULL;
    int64_t n = json_object_object_get_ex(c->tally, key, &v) ? json_object_get_int64(v) : 0;
    json_object_object_add(c->tally, key, json_object_new_int64(n + 1));
}

static int
attribute(cb_run *r, cb_figures *g)
{
    g->crit_warm = g->crit_cold = g->after_warm = NAN;
    if (!r->is_sim || r->claims.ready == 0) return 0;
    bench_claim_attr *a = calloc(r->claims.ready, sizeof *a);
    char(*names)[64] = calloc(r->claims.ready, sizeof *names);
    if (a == NULL || names == NULL) {
        free(a);
        free(names);
        return ERR_NOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++) {
        const bench_item *it = &r->claims.it[i];
        if (!it->ready_ns) continue;
        bench_fleet_name(&r->claims, i, names[m], sizeof names[m]);
        a[m].claim = names[m];
        a[m].sandbox = it->sandbox;
        a[m].ready_wall_ms = it->ready_wall_ms;
        m++;
    }
    crit_ctx kinds = {a, json_object_new_object()};
    int rc = bench_reqlog_attribute_ex(&r->log, BENCH_CONTROLLER_CLIENT, CB_CLIENT, a, m,
                                       on_crit_write, &kinds);
    g->crit_by_kind = kinds.tally;
    double cw = 0, cc = 0, aw = 0;
    size_t nw = 0, nc = 0;
    for (size_t j = 0; rc == 0 && j < m; j++) {
        if (a[j].critical < 0) continue;
        if (strcmp(a[j].sandbox, a[j].claim) != 0) {
            cw += a[j].critical;
            aw += a[j].after;
            nw++;
        } else {
            cc += a[j].critical;
            nc++;
        }
    }
    if (nw) g->crit_warm = cw / (double)nw, g->after_warm = aw / (double)nw;
    if (nc) g->crit_cold = cc / (double)nc;
    free(a);
    free(names);
    return rc;
}

static int
figures(cb_run *r, cb_figures *g)
{
    memset(g, 0, sizeof *g);
    bench_hist_init(&g->warm_ms);
    bench_hist_init(&g->cold_ms);
    char name[64];
    for (size_t i = 0; i < r->n; i++) {
        const bench_item *it = &r->claims.it[i];
        if (!it->ready_ns) continue;
        bench_fleet_name(&r->claims, i, name, sizeof name);
        double ms = (double)(it->ready_ns - it->send_ns) / 1e6;
        if (strcmp(it->sandbox, name) != 0) {
            g->warm++;
            bench_hist_add(&g->warm_ms, ms);
        } else {
            g->cold++;
            bench_hist_add(&g->cold_ms, ms);
        }
    }
    bench_hist_finish(&g->warm_ms);
    bench_hist_finish(&g->cold_ms);
    const bench_fleet *f = &r->claims;
    g->span_s = f->ready ? (double)(f->last_ready_ns - f->first_send_ns) / 1e9 : NAN;
    g->throughput = f->ready ? (double)f->ready / g->span_s : NAN;
    double n = (double)r->n;
    g->writes = g->requests = NAN;
    g->pool_creates = g->pool_deficit = -1;
    if (r->is_sim && r->s1.n) {
        g->writes = series_sum(&r->s0, &r->s1, 1) / n;
        g->requests = series_sum(&r->s0, &r->s1, 0) / n;
        g->by_kind = bench_series_delta(&r->s0, &r->s1, 1);
        g->pool_creates = (int64_t)bench_reqlog_count(
            &r->log, BENCH_CONTROLLER_CLIENT, BENCH_VERB_POST, "sandboxes", "", CB_POOL "-", 201);
        g->pool_deficit =
            (int64_t)g->warm + (int64_t)bench_reqlog_count(&r->log, BENCH_CONTROLLER_CLIENT,
                                                           BENCH_VERB_DELETE, "sandboxes", "",
                                                           CB_POOL "-", 200);
    }
    g->cpu = r->have_ps ? r->ps1.cpu_seconds - r->ps0.cpu_seconds : NAN;
    g->rss = r->have_ps ? r->ps1.hwm_bytes : -1;
    return attribute(r, g);
}

static void
figures_free(cb_figures *g)
{
    bench_hist_fini(&g->warm_ms);
    bench_hist_fini(&g->cold_ms);
    json_object_put(g->by_kind);
    g->by_kind = NULL;
    json_object_put(g->crit_by_kind);
    g->crit_by_kind = NULL;
}

static void
figures_json(const cb_run *r, const cb_figures *g, json_object *root)
{
    bench_json_count(root, "claims.count", (int64_t)r->n);
    bench_json_count(root, "claims.warm", (int64_t)g->warm);
    bench_json_count(root, "claims.cold", (int64_t)g->cold);
    bench_json_count(root, "claims.errors", (int64_t)(r->n - g->warm - g->cold));
    bench_json_pcts(root, "claims.latency_ms", &g->warm_ms);
    bench_json_num(root, "claims.cold_latency_ms.p50", bench_hist_pct(&g->cold_ms, 50));
    bench_json_num(root, "claims.cold_latency_ms.p99", bench_hist_pct(&g->cold_ms, 99));
    bench_json_num(root, "claims.throughput_per_s", g->throughput);
    bench_json_num(root, "api.writes_per_claim.critical_path", g->crit_warm);
    bench_json_num(root, "api.writes_per_claim.total", g->writes);
    bench_json_num(root, "api.requests_per_claim", g->requests);
    bench_json_count(root, "pool.creates", g->pool_creates);
    bench_json_count(root, "pool.deficit", g->pool_deficit);
    bench_json_num(root, "controller.cpu_seconds", g->cpu);
    bench_json_count(root, "controller.peak_rss_bytes", g->rss);
}

static void
print_table(const cb_run *r, const cb_figures *g)
{
    const cb_opts *o = r->o;
    char a[32], b[32], c[32], d[32], e[32];
    printf("\nclaimbench: %zu claims (", r->n);
    if (o->burst)
        printf("burst");
    else
        printf("Poisson %g/s for %g s", r->rate_now, o->duration);
    printf("), pool %ld, %ld other Sandboxes\n", o->pool, o->sandboxes);
    printf("  %-26s %zu Ready: warm %zu, cold %zu; errors %zu\n", "claims", g->warm + g->cold,
           g->warm, g->cold, r->n - g->warm - g->cold);
    printf("  %-26s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", "warm latency (ms)",
           bench_fmt(bench_hist_pct(&g->warm_ms, 50), 2, a, sizeof a),
           bench_fmt(bench_hist_pct(&g->warm_ms, 90), 2, b, sizeof b),
           bench_fmt(bench_hist_pct(&g->warm_ms, 99), 2, c, sizeof c),
           bench_fmt(bench_hist_pct(&g->warm_ms, 99.9), 2, d, sizeof d),
           bench_fmt(bench_hist_max(&g->warm_ms), 2, e, sizeof e));
    printf("  %-26s p50 %s  p99 %s\n", "cold latency (ms)",
           bench_fmt(bench_hist_pct(&g->cold_ms, 50), 2, a, sizeof a),
           bench_fmt(bench_hist_pct(&g->cold_ms, 99), 2, b, sizeof b));
    printf("  %-26s %s claims/s Ready (over %s s); sender lag max %.1f ms\n", "throughput",
           bench_fmt(g->throughput, 1, a, sizeof a), bench_fmt(g->span_s, 2, b, sizeof b),
           r->sched.max_lag_s * 1000.0);
    printf("  %-26s critical path %s per warm claim (target 2; cold %s; after Ready %s)\n",
           "API writes (kubesim)", bench_fmt(g->crit_warm, 2, a, sizeof a),
           bench_fmt(g->crit_cold, 2, b, sizeof b), bench_fmt(g->after_warm, 2, c, sizeof c));
    if (g->crit_by_kind && g->warm) {
        printf("  %-26s", "  critical, per warm claim");
        json_object_object_foreach(g->crit_by_kind, key, val)
        {
            printf(" %s %.2f;", key, (double)json_object_get_int64(val) / (double)g->warm);
        }
        printf("\n");
    }
    printf("  %-26s total %s per claim (target <= 10), requests %s per claim\n", "",
           bench_fmt(g->writes, 2, a, sizeof a), bench_fmt(g->requests, 2, b, sizeof b));
    if (g->by_kind) {
        json_object_object_foreach(g->by_kind, key, val)
        {
            printf("      %-40s %lld\n", key, (long long)json_object_get_int64(val));
        }
    }
    if (o->burst)
        printf("  %-26s %s s from the first create sent\n", "all Ready after",
               g->warm + g->cold == r->n ? bench_fmt(g->span_s, 3, a, sizeof a) : "- (not all)");
    if (g->pool_creates >= 0)
        printf("  %-26s creates %lld, deficit %lld, over-creation %lld (target 0)%s\n", "pool",
               (long long)g->pool_creates, (long long)g->pool_deficit,
               (long long)(g->pool_creates - g->pool_deficit),
               r->settled ? "" : " [pool not settled]");
    if (r->have_sim)
        printf("  %-26s CPU %.2f s over the claim phase\n", "kubesim",
               r->sim1.cpu_seconds - r->sim0.cpu_seconds);
    printf("  %-26s CPU %s s (%s ms per claim), peak RSS %s MiB\n", "controller",
           bench_fmt(g->cpu, 2, a, sizeof a),
           bench_fmt(g->cpu * 1000.0 / (double)r->n, 3, b, sizeof b),
           bench_fmt(g->rss >= 0 ? (double)g->rss / 1048576.0 : NAN, 1, c, sizeof c));
    if (r->log.lost)
        printf("  WARNING: kubesim's request log dropped %llu entries before they were read: the "
               "critical path and pool figures are incomplete\n",
               (unsigned long long)r->log.lost);
}

static json_object *
config_json(const cb_run *r, const cb_figures *g)
{
    const cb_opts *o = r->o;
    json_object *c = json_object_new_object();
    jx_set(c, "pool", json_object_new_int64(o->pool));
    jx_set(c, "sandboxes", json_object_new_int64(o->sandboxes));
    jx_set(c, "mode", json_object_new_string(o->burst ? "burst" : "poisson"));
    jx_set(c, "rate", o->burst ? NULL : bench_json_double(r->rate_now));
    jx_set(c, "duration_s", o->burst ? NULL : bench_json_double(o->duration));
    jx_set(c, "burst", o->burst ? json_object_new_int64(o->burst) : NULL);
    jx_set(c, "seed", json_object_new_int64(o->seed));
    jx_set(c, "inflight", json_object_new_int64(o->inflight));
    jx_set(c, "connections", json_object_new_int64(o->cli.connections));
    jx_set(c, "timeout_s", bench_json_double(o->cli.timeout_s));
    jx_set(c, "settle_s", bench_json_double(o->settle_s));
    jx_set(c, "namespace", json_object_new_string(o->cli.ns));
    jx_set(c, "cluster",
           json_object_new_string(o->cli.kubeconfig ? "kubeconfig" : "kubesim (started here)"));
    jx_set(c, "server", r->env.url[0] ? json_object_new_string(r->env.url) : NULL);
    json_object *ca = json_object_new_array(), *sa = json_object_new_array();
    for (size_t i = 0; i < o->cli.nctl; i++)
        json_object_array_add(ca, json_object_new_string(o->cli.ctl_args[i]));
    for (size_t i = 0; i < o->cli.nsim; i++)
        json_object_array_add(sa, json_object_new_string(o->cli.sim_args[i]));
    jx_set(c, "extra_controller_flags", ca);
    jx_set(c, "extra_kubesim_flags", sa);
    /* what the run itself observed, beside the stable figures */
    if (r->sweep_rows) {
        jx_set(c, "sweep.rounds", json_object_get(r->sweep_rows));
        jx_set(c, "sweep.best_rate", bench_json_double(r->sweep_best));
        jx_set(c, "sweep.goal", json_object_new_string("warm >= 99% and warm p99 <= 20 ms"));
    }
    jx_set(c, "run.setup_background_s", bench_json_double(r->setup_bg_s));
    jx_set(c, "run.setup_pool_s", bench_json_double(r->setup_pool_s));
    jx_set(c, "run.settle_s", bench_json_double(r->settle_s));
    jx_set(c, "run.settled", json_object_new_boolean(r->settled));
    jx_set(c, "run.sender_max_lag_ms", bench_json_double(r->sched.max_lag_s * 1000.0));
    jx_set(c, "run.request_log_lost", json_object_new_int64((int64_t)r->log.lost));
    jx_set(c, "run.kubesim_cpu_seconds",
           bench_json_double(r->have_sim ? r->sim1.cpu_seconds - r->sim0.cpu_seconds : NAN));
    if (g) {
        jx_set(c, "run.all_ready_s",
               bench_json_double(g->warm + g->cold == r->n ? g->span_s : NAN));
        jx_set(c, "run.critical_path_cold", bench_json_double(g->crit_cold));
        jx_set(c, "run.writes_after_ready_warm", bench_json_double(g->after_warm));
        jx_set(c, "run.critical_path_by_kind",
               g->crit_by_kind ? json_object_get(g->crit_by_kind) : NULL);
        jx_set(c, "run.writes_by_kind", g->by_kind ? json_object_get(g->by_kind) : NULL);
    }
    return c;
}

/* ---- sweep ----------------------------------------------------------------------- */

/* Release one round's state; the setup (pool, other Sandboxes) stays. */
static void
round_reset(cb_run *r)
{
    bench_logpoll_stop(&r->poll);
    bench_watch_stop(&r->claim_watch);
    bench_sched_stop(&r->sched);
    bench_series_fini(&r->s0);
    bench_series_fini(&r->s1);
    bench_reqlog_fini(&r->log);
    bench_fleet_fini(&r->claims);
    free(r->off);
    r->off = NULL;
    r->n = 0;
    r->settled = 0;
    r->settle_s = 0;
    r->why[0] = '\0';
}

static void figures_free(cb_figures *g);

static int
run_sweep(cb_run *r, int tmo)
{
    const cb_opts *o = r->o;
    r->sweep_rows = json_object_new_array();
    r->sweep_best = NAN;
    int rc = 0;
    for (size_t i = 0; i < o->nsweep; i++) {
        if (i) round_reset(r);
        r->round = (int)i;
        r->rate_now = o->sweep[i];
        rc = run_claims(r, tmo);
        if (rc != 0 && rc != ERR_TIMEOUT) break;
        cb_figures g;
        if (figures(r, &g) == 0) {
            print_table(r, &g);
            double p99 = bench_hist_pct(&g.warm_ms, 99);
            int ok = rc == 0 && (double)g.warm >= CB_SWEEP_WARM_FRACTION * (double)r->n &&
                     p99 <= CB_SWEEP_P99_MS;
            if (ok && !(r->sweep_best >= r->rate_now)) r->sweep_best = r->rate_now;
            json_object *row = json_object_new_object();
            jx_set(row, "rate", bench_json_double(r->rate_now));
            jx_set(row, "count", json_object_new_int64((int64_t)r->n));
            jx_set(row, "warm", json_object_new_int64((int64_t)g.warm));
            jx_set(row, "cold", json_object_new_int64((int64_t)g.cold));
            jx_set(row, "p50_ms", bench_json_double(bench_hist_pct(&g.warm_ms, 50)));
            jx_set(row, "p99_ms", bench_json_double(p99));
            jx_set(row, "throughput_per_s", bench_json_double(g.throughput));
            jx_set(row, "writes_critical_path", bench_json_double(g.crit_warm));
            jx_set(row, "writes_total", bench_json_double(g.writes));
            jx_set(row, "cpu_seconds", bench_json_double(g.cpu));
            jx_set(row, "meets_goal", json_object_new_boolean(ok));
            json_object_array_add(r->sweep_rows, row);
            figures_free(&g);
        }
        if (rc != 0) break; /* claims not Ready: higher rates will not do better */
    }
    printf("\nclaimbench sweep (%g s per rate; goal: >= 99%% warm, warm p99 <= 20 ms)\n",
           o->duration);
    printf("  %10s %8s %8s %10s %10s %12s %6s\n", "rate/s", "claims", "warm%", "p50 ms", "p99 ms",
           "claims/s", "goal");
    size_t nr = json_object_array_length(r->sweep_rows);
    for (size_t i = 0; i < nr; i++) {
        json_object *row = json_object_array_get_idx(r->sweep_rows, i);
        double cnt = (double)jx_int(row, "count", 0);
        printf("  %10.1f %8lld %7.1f%% %10.2f %10.2f %12.1f %6s\n",
               json_object_get_double(jx_get(row, "rate")), (long long)cnt,
               cnt > 0 ? 100.0 * (double)jx_int(row, "warm", 0) / cnt : 0.0,
               json_object_get_double(jx_get(row, "p50_ms")),
               json_object_get_double(jx_get(row, "p99_ms")),
               json_object_get_double(jx_get(row, "throughput_per_s")),
               jx_bool(row, "meets_goal", 0) ? "yes" : "no");
    }
    char b[32];
    printf("  highest rate meeting the goal: %s/s\n", bench_fmt(r->sweep_best, 1, b, sizeof b));
    return rc;
}

/* ---- main ----------------------------------------------------------------------- */

static int
run(cb_run *r, struct ev_loop *loop)
{
    const cb_opts *o = r->o;
    int tmo = (int)(o->cli.timeout_s * 1000);
    bench_env_opts eo = {.kubeconfig = o->cli.kubeconfig,
                         .kubesim_bin = o->cli.kubesim_bin,
                         .controller_bin = o->cli.controller_bin,
                         .kubesim_args = o->cli.sim_args,
                         .controller_args = o->cli.ctl_args,
                         .extensions = 1,
                         .controller_pid = o->cli.controller_pid,
                         .keep_tmp = o->cli.keep};
    int rc = bench_env_start(&r->env, &eo, r->why, sizeof r->why);
    if (rc == 0)
        rc = bench_kc_open(&r->k, loop, r->env.kubeconfig, CB_UA, o->cli.connections, r->why,
                           sizeof r->why);
    if (rc != 0) return rc;
    r->k.check = bench_env_check;
    r->k.check_ud = &r->env;
    if (r->env.own)
        printf("claimbench: kubesim at %s, controller pid %d (--extensions)\n", r->env.url,
               (int)r->env.ctl_pid);
    int created = 0;
    rc = bench_kc_ensure_namespace(&r->k, o->cli.ns, &created, tmo, r->why, sizeof r->why);
    if (rc == 0) rc = setup_background(r, tmo);
    if (rc == 0) rc = setup_pool(r, tmo);
    r->rate_now = o->rate;
    if (rc == 0 && o->nsweep) return run_sweep(r, tmo);
    if (rc == 0) rc = run_claims(r, tmo);
    return rc;
}

int
main(int argc, char **argv)
{
    cb_opts o;
    if (parse(&o, argc, argv) != 0) {
        usage(stderr);
        return 1;
    }
    if (o.cli.help) {
        usage(stdout);
        return 0;
    }
    json_object *machine = bench_run_begin("claimbench", o.cli.json);
    if (machine == NULL) return 1;
    cb_run r;
    memset(&r, 0, sizeof r);
    r.o = &o;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    int rc = loop ? run(&r, loop) : ERR_NOMEM;
    /* claims were sent: the figures are reported even when some never got Ready */
    int measured = r.claims.n > 0 && (rc == 0 || rc == ERR_TIMEOUT);
    json_object *root = json_object_new_object();
    cb_figures g;
    int have_g = 0;
    if (measured) {
        if (figures(&r, &g) == 0) {
            have_g = 1;
            figures_json(&r, &g, root);
            if (!o.nsweep) print_table(&r, &g); /* the sweep printed every round */
        }
    }
    jx_set(root, "config", config_json(&r, have_g ? &g : NULL));
    jx_set(root, "machine", machine);
    int exit_code = rc == 0 && have_g ? 0 : rc == ERR_TIMEOUT && measured ? 2 : 1;
    if (exit_code != 0) {
        fflush(stdout); /* the table first, then the verdict */
        fprintf(stderr, "claimbench: FAILED: %s\n", r.why[0] ? r.why : err_str(rc));
        if ((!measured || r.claims.ready == 0) && rc != ERR_CANCELED)
            bench_env_print_logs(&r.env, stderr);
    }
    exit_code = bench_run_write_report("claimbench", root, o.cli.json, measured, exit_code);
    json_object_put(root);
    if (have_g) figures_free(&g);
    json_object_put(r.sweep_rows);
    bench_logpoll_stop(&r.poll);
    bench_watch_stop(&r.claim_watch);
    bench_watch_stop(&r.bg_watch);
    bench_sched_stop(&r.sched);
    if (r.k.c) bench_kc_close(&r.k);
    char why[256] = "";
    if (bench_env_stop(&r.env, why, sizeof why) != 0 && exit_code == 0) {
        fprintf(stderr, "claimbench: FAILED at shutdown: %s\n", why);
        exit_code = 1;
    }
    bench_series_fini(&r.s0);
    bench_series_fini(&r.s1);
    bench_reqlog_fini(&r.log);
    bench_fleet_fini(&r.claims);
    bench_fleet_fini(&r.bg);
    free(r.off);
    if (loop) ev_loop_destroy(loop);
    curl_global_cleanup();
    return exit_code;
}
