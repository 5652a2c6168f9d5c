/* test_bench_smoke.c - the benchmark binaries end to end, kept short:
 * sandboxbench launching 50 Sandboxes against kubesim and the real
 * controller (every stable key present, figures consistent with what
 * kubesim counts), and claimbench failing clearly (non-zero exit, a reason
 * on stderr, no report) when a binary is missing, the controller dies at
 * start, or the flags are wrong. Binaries come from $ASC_BIN_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benchlib/proc.h"
#include "core/jx.h"
#include "core/timeutil.h"

typedef struct {
    char dir[64];
    char out[128], err[128], json[128];
} smoke_tmp;

static void
tmp_new(smoke_tmp *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/asc-test-benchsmoke-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->out, sizeof t->out, "%s/out", t->dir);
    snprintf(t->err, sizeof t->err, "%s/err", t->dir);
    snprintf(t->json, sizeof t->json, "%s/report.json", t->dir);
}

static void
tmp_free(smoke_tmp *t)
{
    unlink(t->out);
    unlink(t->err);
    unlink(t->json);
    rmdir(t->dir);
}

static const char *
bin(const char *name, char *buf, size_t len)
{
    const char *d = getenv("ASC_BIN_DIR");
    snprintf(buf, len, "%s/%s", d && *d ? d : ".", name);
    return buf;
}

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

/* Run argv to completion (bounded); returns its exit code. */
static int
run(char **argv, const smoke_tmp *t, int timeout_ms)
{
    bench_child c;
    assert_int_equal(bench_child_spawn(&c, "bench", argv, t->out, t->err), 0);
    int64_t end = time_mono_ms() + timeout_ms;
    while (bench_child_alive(&c) && time_mono_ms() < end)
        usleep(20000);
    int code = -1;
    if (!c.exited) fprintf(stderr, "timeout: stopping %s\n", argv[0]);
    bench_child_stop(&c, 5000, &code);
    return code;
}

static void
show(const smoke_tmp *t)
{
    char *o = slurp(t->out), *e = slurp(t->err);
    fprintf(stderr, "--- stdout ---\n%s\n--- stderr ---\n%s\n", o ? o : "", e ? e : "");
    free(o);
    free(e);
}

static int
have(const char *name)
{
    char p[PATH_MAX];
    if (access(bin(name, p, sizeof p), X_OK) == 0) return 1;
    fprintf(stderr, "SKIP: %s is not built\n", p);
    return 0;
}

static void
test_sandboxbench_50(void **state)
{
    (void)state;
    if (!have("sandboxbench") || !have("kubesim") || !have("agent-sandbox-controller")) skip();
    smoke_tmp t;
    tmp_new(&t);
    char b[PATH_MAX];
    char *argv[] = {(char *)bin("sandboxbench", b, sizeof b),
                    "--sandboxes",
                    "50",
                    "--json",
                    t.json,
                    "--timeout",
                    "20",
                    "--settle",
                    "2",
                    NULL};
    int code = run(argv, &t, 28000);
    if (code != 0) show(&t);
    assert_int_equal(code, 0);
    char *text = slurp(t.json);
    assert_non_null(text);
    const char *e;
    json_object *r = jx_parse(text, strlen(text), &e);
    assert_non_null(r);
    assert_int_equal(jx_int(r, "sandboxes.count", -1), 50);
    assert_int_equal(jx_int(r, "sandboxes.ready", -1), 50);
    assert_int_equal(jx_int(r, "sandboxes.errors", -1), 0);
    double rate = json_object_get_double(jx_get(r, "sandboxes.rate_per_s"));
    assert_true(rate > 0);
    static const char *const pcts[] = {"p50", "p90", "p99", "p999", "max"};
    double prev = 0;
    for (size_t i = 0; i < 5; i++) {
        char k[64];
        snprintf(k, sizeof k, "sandboxes.latency_ms.%s", pcts[i]);
        json_object *v = jx_get(r, k);
        assert_non_null(v);
        assert_true(json_object_get_double(v) >= prev); /* ordered percentiles */
        prev = json_object_get_double(v);
    }
    /* kubesim counted at least a pod create per launch, and the breakdown adds up */
    double w = json_object_get_double(jx_get(r, "api.writes_per_launch"));
    assert_true(w >= 1.0 && w < 20.0);
    json_object *by = jx_obj(r, "api.writes_by_kind");
    assert_non_null(by);
    int64_t sum = 0, pods = 0;
    json_object_object_foreach(by, key, val)
    {
        sum += json_object_get_int64(val);
        if (strcmp(key, "POST pods 201") == 0) pods = json_object_get_int64(val);
    }
    assert_int_equal(pods, 50);
    assert_true(sum > 0 && (double)sum / 50.0 - w < 1e-3 && w - (double)sum / 50.0 < 1e-3);
    assert_true(json_object_get_double(jx_get(r, "api.requests_per_launch")) >= w);
    assert_non_null(jx_get(r, "controller.cpu_seconds"));
    assert_true(jx_int(r, "controller.peak_rss_bytes", 0) > 1024 * 1024);
    assert_int_equal(jx_int(r, "config.sandboxes", 0), 50);
    assert_true(jx_int(r, "machine.cpus_online", 0) >= 1);
    json_object_put(r);
    free(text);
    tmp_free(&t);
}

typedef struct {
    const char *name;
    const char *args[8]; /* after the binary; "@JSON" is the report path */
    int want_exit;
    const char *want_err; /* substring of stderr */
} fail_row;

static const fail_row fail_rows[] = {
    {"missing kubesim binary",
     {"--kubesim-bin", "/nonexistent/kubesim", "--json", "@JSON", NULL},
     1,
     "kubesim binary /nonexistent/kubesim"},
    {"controller dies at start",
     {"--controller-bin", "/bin/false", "--json", "@JSON", NULL},
     1,
     "the controller exited with code 1 at start"},
    {"unknown flag", {"--pools", "3", NULL}, 1, "unknown flag"},
    {"bad number", {"--pool", "-1", NULL}, 1, "--pool must be in"},
    {"burst and rate together", {"--burst", "5", "--rate", "3", NULL}, 1, "--burst excludes"},
    {"sweep and rate together", {"--sweep", "10,20", "--rate", "3", NULL}, 1, "--sweep excludes"},
    {"bad sweep list", {"--sweep", "10,,x", NULL}, 1, "--sweep takes"},
};

static void
test_claimbench_fails_clearly(void **state)
{
    const fail_row *row = *state;
    if (!have("claimbench") || !have("kubesim")) skip();
    smoke_tmp t;
    tmp_new(&t);
    /* a stale report from an earlier run must not survive a failed one */
    FILE *f = fopen(t.json, "w");
    assert_non_null(f);
    fputs("{\"stale\":true}", f);
    fclose(f);
    char b[PATH_MAX];
    char *argv[12];
    size_t n = 0;
    argv[n++] = (char *)bin("claimbench", b, sizeof b);
    for (size_t i = 0; row->args[i]; i++)
        argv[n++] = strcmp(row->args[i], "@JSON") == 0 ? t.json : (char *)row->args[i];
    argv[n] = NULL;
    int code = run(argv, &t, 25000);
    char *err = slurp(t.err);
    if (code != row->want_exit || strstr(err ? err : "", row->want_err) == NULL) show(&t);
    assert_int_equal(code, row->want_exit);
    assert_non_null(strstr(err, row->want_err));
    free(err);
    int uses_json = 0;
    for (size_t i = 0; row->args[i]; i++)
        uses_json |= strcmp(row->args[i], "@JSON") == 0;
    if (uses_json) assert_int_equal(access(t.json, F_OK), -1);
    tmp_free(&t);
}

int
main(void)
{
    struct CMUnitTest t[16];
    size_t n = 0;
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_sandboxbench_50);
    for (size_t i = 0; i < sizeof fail_rows / sizeof *fail_rows; i++)
        t[n++] = (struct CMUnitTest){.name = fail_rows[i].name,
                                     .test_func = test_claimbench_fails_clearly,
                                     .initial_state = (void *)&fail_rows[i]};
    return _cmocka_run_group_tests("bench_smoke", t, n, NULL, NULL);
}
