/* test_bench_claim.c - claimbench end to end against kubesim and a stand-in
 * controller whose writes are known exactly (tests/test_bench_fakectl.c):
 * the figures claimbench reports must equal that pattern. A warm claim
 * costs the fake 2 writes before Ready (Sandbox patch, claim status) and a
 * metadata patch after; a cold one 3 (Sandbox create, its status, claim
 * status); every taken member is refilled by exactly one create. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benchlib/proc.h"
#include "core/jx.h"
#include "core/timeutil.h"

typedef struct {
    const char *name;
    const char *args[12];
    int min_warm;       /* at least this many warm claims */
    int exact_critical; /* the pool never runs dry: every warm claim costs exactly 2 */
    int sweep_rounds;   /* --sweep: rounds expected in config.sweep.rounds */
} claim_row;

static const claim_row claim_rows[] = {
    {"poisson 40/s for 2 s on a pool of 60",
     {"--pool", "60", "--sandboxes", "30", "--rate", "40", "--duration", "2", NULL},
     1,
     1,
     0},
    {"burst of 30 on a pool of 10: the first 10 at least are warm",
     {"--pool", "10", "--sandboxes", "0", "--burst", "30", NULL},
     10,
     0,
     0},
    {"sweep of two rates on one setup",
     {"--pool", "60", "--sandboxes", "0", "--sweep", "20,60", "--duration", "1", NULL},
     1,
     1,
     2},
};

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t r = s ? fread(s, 1, (size_t)n, f) : 0;
    if (s) s[r] = '\0';
    fclose(f);
    return s;
}

static double
num(json_object *r, const char *path)
{
    json_object *v = jx_get(r, path);
    if (v == NULL || json_object_is_type(v, json_type_null)) {
        fprintf(stderr, "%s is null or missing\n", path);
        fail();
    }
    return json_object_get_double(v);
}

static void
test_claim_row(void **state)
{
    const claim_row *row = *state;
    const char *d = getenv("ASC_BIN_DIR");
    char cb[PATH_MAX], fake[PATH_MAX], sim[PATH_MAX];
    snprintf(cb, sizeof cb, "%s/claimbench", d && *d ? d : ".");
    snprintf(fake, sizeof fake, "%s/test_bench_fakectl", d && *d ? d : ".");
    snprintf(sim, sizeof sim, "%s/kubesim", d && *d ? d : ".");
    if (access(cb, X_OK) || access(fake, X_OK) || access(sim, X_OK)) {
        fprintf(stderr, "SKIP: claimbench, test_bench_fakectl or kubesim not built\n");
        skip();
    }
    char dir[] = "/tmp/asc-test-benchclaim-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[128], err[128], json[128];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(err, sizeof err, "%s/err", dir);
    snprintf(json, sizeof json, "%s/r.json", dir);
    char *argv[32];
    size_t n = 0;
    argv[n++] = cb;
    for (size_t i = 0; row->args[i]; i++)
        argv[n++] = (char *)row->args[i];
    const char *more[] = {"--controller-bin", fake, "--json", json, "--timeout", "15",
                          "--settle",         "5",  NULL};
    for (size_t i = 0; more[i]; i++)
        argv[n++] = (char *)more[i];
    argv[n] = NULL;
    bench_child c;
    assert_int_equal(bench_child_spawn(&c, "claimbench", argv, out, err), 0);
    int64_t end = time_mono_ms() + 40000;
    while (bench_child_alive(&c) && time_mono_ms() < end)
        usleep(20000);
    int code = -1;
    bench_child_stop(&c, 5000, &code);
    char *o = slurp(out), *e = slurp(err);
    if (code != 0) fprintf(stderr, "--- stdout ---\n%s\n--- stderr ---\n%s\n", o, e);
    assert_int_equal(code, 0);
    printf("%s", o); /* the table, for the log */
    free(o);
    free(e);
    char *text = slurp(json);
    assert_non_null(text);
    const char *perr;
    json_object *r = jx_parse(text, strlen(text), &perr);
    assert_non_null(r);
    double count = num(r, "claims.count"), warm = num(r, "claims.warm");
    double cold = num(r, "claims.cold");
    assert_true(count > 0);
    assert_true(warm + cold == count);
    assert_true(num(r, "claims.errors") == 0);
    assert_true(warm >= row->min_warm);
    /* the fake's exact write pattern, measured from kubesim's log */
    /* A claim that waited for a refill member also paid for that member's
     * create and status (both between its creation and its Ready): only a
     * pool that never runs dry gives exactly 2. */
    double crit = num(r, "api.writes_per_claim.critical_path");
    if (row->exact_critical)
        assert_true(crit == 2.0);
    else
        assert_true(crit >= 2.0 && crit <= 4.0);
    assert_true(num(r, "config.run.writes_after_ready_warm") == 1.0);
    if (cold > 0) assert_true(num(r, "config.run.critical_path_cold") == 3.0);
    /* every taken member refilled once: no over-creation */
    assert_true(num(r, "pool.deficit") == warm);
    assert_true(num(r, "pool.creates") == warm);
    /* total: warm 4 writes + the refill's status + pool status patches
     * (coalesced, at most 2 per claim); cold 3 */
    double total = num(r, "api.writes_per_claim.total");
    assert_true(total >= 3.0 && total <= 7.0);
    assert_true(num(r, "api.requests_per_claim") >= total);
    /* percentiles ordered, throughput positive, process figures present */
    assert_true(num(r, "claims.latency_ms.p50") <= num(r, "claims.latency_ms.p90"));
    assert_true(num(r, "claims.latency_ms.p90") <= num(r, "claims.latency_ms.p99"));
    assert_true(num(r, "claims.latency_ms.p99") <= num(r, "claims.latency_ms.p999"));
    assert_true(num(r, "claims.latency_ms.p999") <= num(r, "claims.latency_ms.max"));
    assert_true(num(r, "claims.throughput_per_s") > 0);
    assert_true(num(r, "controller.cpu_seconds") >= 0);
    assert_true(num(r, "controller.peak_rss_bytes") > 0);
    assert_true(jx_int(r, "config.run.request_log_lost", -1) == 0);
    assert_non_null(jx_obj(r, "machine"));
    if (row->sweep_rounds) {
        json_object *rounds = jx_arr(r, "config.sweep.rounds");
        assert_non_null(rounds);
        assert_int_equal(json_object_array_length(rounds), row->sweep_rounds);
        for (int i = 0; i < row->sweep_rounds; i++) {
            json_object *x = json_object_array_get_idx(rounds, (size_t)i);
            assert_true(jx_int(x, "count", 0) > 0);
            assert_int_equal(jx_int(x, "warm", -1) + jx_int(x, "cold", -1), jx_int(x, "count", 0));
            assert_non_null(jx_get(x, "meets_goal"));
        }
        /* the stable figures are the last round's (60/s for 1 s) */
        assert_true(json_object_get_double(jx_get(r, "config.rate")) == 60.0);
        assert_true(count == (double)jx_int(json_object_array_get_idx(rounds, 1), "count", 0));
    }
    json_object_put(r);
    free(text);
    unlink(out);
    unlink(err);
    unlink(json);
    rmdir(dir);
}

/* ---- failures: the controller dies, or claims never get Ready ------------------ */

typedef struct {
    const char *name;
    const char *env, *value; /* the fault, passed to the stand-in controller */
    int want_exit;
    const char *want_err;
    int want_report; /* 1: a report with the Ready claims counted */
} fault_row;

static const fault_row fault_rows[] = {
    {"controller dies mid-run: exit 1, named", "FAKECTL_EXIT_AFTER_CLAIMS", "5", 1,
     "the controller exited with code 9", 0},
    {"claims never Ready: stop at --timeout, report how many were", "FAKECTL_IGNORE_AFTER_CLAIMS",
     "10", 2, "only 10 of ", 1},
};

static void
test_fault_row(void **state)
{
    const fault_row *row = *state;
    const char *d = getenv("ASC_BIN_DIR");
    char cb[PATH_MAX], fake[PATH_MAX];
    snprintf(cb, sizeof cb, "%s/claimbench", d && *d ? d : ".");
    snprintf(fake, sizeof fake, "%s/test_bench_fakectl", d && *d ? d : ".");
    if (access(cb, X_OK) || access(fake, X_OK)) {
        fprintf(stderr, "SKIP: claimbench or test_bench_fakectl not built\n");
        skip();
    }
    char dir[] = "/tmp/asc-test-benchfault-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[128], err[128], json[128];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(err, sizeof err, "%s/err", dir);
    snprintf(json, sizeof json, "%s/r.json", dir);
    char *argv[] = {cb,   "--pool",           "30", "--sandboxes", "0",  "--rate",
                    "40", "--duration",       "1",  "--timeout",   "5",  "--settle",
                    "1",  "--controller-bin", fake, "--json",      json, NULL};
    setenv(row->env, row->value, 1);
    bench_child c;
    int rc = bench_child_spawn(&c, "claimbench", argv, out, err);
    unsetenv(row->env);
    assert_int_equal(rc, 0);
    int64_t end = time_mono_ms() + 40000;
    while (bench_child_alive(&c) && time_mono_ms() < end)
        usleep(20000);
    int code = -1;
    bench_child_stop(&c, 5000, &code);
    char *o = slurp(out), *e = slurp(err);
    if (code != row->want_exit || strstr(e ? e : "", row->want_err) == NULL)
        fprintf(stderr, "--- stdout ---\n%s\n--- stderr ---\n%s\n", o, e);
    assert_int_equal(code, row->want_exit);
    assert_non_null(strstr(e, row->want_err));
    free(o);
    free(e);
    char *text = slurp(json);
    if (row->want_report) {
        assert_non_null(text);
        const char *perr;
        json_object *r = jx_parse(text, strlen(text), &perr);
        assert_non_null(r);
        double count = num(r, "claims.count");
        assert_true(num(r, "claims.warm") + num(r, "claims.cold") == 10);
        assert_true(num(r, "claims.errors") == count - 10);
        json_object_put(r);
    } else {
        assert_null(text); /* no report from a run that broke */
    }
    free(text);
    unlink(out);
    unlink(err);
    unlink(json);
    rmdir(dir);
}

int
main(void)
{
    struct CMUnitTest t[8];
    size_t n = 0;
    for (size_t i = 0; i < sizeof claim_rows / sizeof *claim_rows; i++)
        t[n++] = (struct CMUnitTest){.name = claim_rows[i].name,
                                     .test_func = test_claim_row,
                                     .initial_state = (void *)&claim_rows[i]};
    for (size_t i = 0; i < sizeof fault_rows / sizeof *fault_rows; i++)
        t[n++] = (struct CMUnitTest){.name = fault_rows[i].name,
                                     .test_func = test_fault_row,
                                     .initial_state = (void *)&fault_rows[i]};
    return _cmocka_run_group_tests("bench_claim", t, n, NULL, NULL);
}
