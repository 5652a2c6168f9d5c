/* test_bench_util.c - the benchmarks' plumbing: /proc parsing, child
 * processes (exit codes, stop), per-object timelines (fleet), readiness
 * predicates, strict flag parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benchlib/cli.h"
#include "bench/benchlib/fleet.h"
#include "bench/benchlib/machine.h"
#include "bench/benchlib/objects.h"
#include "bench/benchlib/proc.h"
#include "bench/benchlib/report.h"
#include "core/err.h"
#include "core/jx.h"

/* ---- /proc/<pid>/stat and status ----------------------------------------------- */

typedef struct {
    const char *name;
    const char *stat, *status;
    long ticks;
    int want_rc;
    double want_cpu;
    long long want_rss, want_hwm;
} procstat_row;

#define STAT_TAIL " S 1 2 3 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 12345 1000 200\n"

static const procstat_row procstat_rows[] = {
    {"plain", "4242 (agent-sandbox-c)" STAT_TAIL,
     "Name:\tx\nVmHWM:\t  98504 kB\nVmRSS:\t 65536 kB\n", 100, 0, 3.0, 65536LL * 1024,
     98504LL * 1024},
    {"comm with spaces and parentheses", "7 (a) b (c d)" STAT_TAIL, "VmRSS:\t1 kB\nVmHWM:\t2 kB\n",
     100, 0, 3.0, 1024, 2048},
    {"no status file: memory unknown", "7 (x)" STAT_TAIL, NULL, 100, 0, 3.0, -1, -1},
    {"status without Vm lines (a zombie)", "7 (x)" STAT_TAIL, "Name:\tx\nState:\tZ\n", 1000, 0, 0.3,
     -1, -1},
    {"truncated stat", "7 (x) S 1 2 3", NULL, 100, ERR_PARSE, 0, 0, 0},
    {"no closing parenthesis", "7 (x S 1 2", NULL, 100, ERR_PARSE, 0, 0, 0},
    {"non-numeric utime", "7 (x) S 1 2 3 0 -1 4 1 0 0 0 zz 50 0", NULL, 100, ERR_PARSE, 0, 0, 0},
    {"zero ticks", "7 (x)" STAT_TAIL, NULL, 0, ERR_PARSE, 0, 0, 0},
};

static void
test_procstat_row(void **state)
{
    const procstat_row *r = *state;
    bench_procstat ps;
    assert_int_equal(bench_procstat_parse(r->stat, r->status, r->ticks, &ps), r->want_rc);
    if (r->want_rc != 0) return;
    assert_true(fabs(ps.cpu_seconds - r->want_cpu) < 1e-9);
    assert_int_equal(ps.rss_bytes, r->want_rss);
    assert_int_equal(ps.hwm_bytes, r->want_hwm);
}

static void
test_procstat_self(void **state)
{
    (void)state;
    bench_procstat ps;
    assert_int_equal(bench_procstat_read(getpid(), &ps), 0);
    assert_true(ps.cpu_seconds >= 0);
    assert_true(ps.hwm_bytes >= ps.rss_bytes && ps.rss_bytes > 0);
    assert_true(bench_procstat_read(0x7ffffff0, &ps) < 0); /* no such process: -errno */
}

/* ---- children -------------------------------------------------------------------- */

static void
test_child_exit_and_stop(void **state)
{
    (void)state;
    char dir[] = "/tmp/asc-test-bench-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[256], err[256];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(err, sizeof err, "%s/err", dir);
    /* prints a line, then exits 3 */
    char *argv1[] = {"/bin/sh", "-c", "echo ready http://x; echo oops >&2; exit 3", NULL};
    bench_child c;
    assert_int_equal(bench_child_spawn(&c, "sh", argv1, out, err), 0);
    char url[64];
    int rc = bench_child_wait_line(&c, out, "ready ", url, sizeof url, 5000);
    assert_true(rc == 0 || rc == ERR_IO); /* it may exit right after the line */
    for (int i = 0; i < 500 && bench_child_alive(&c); i++)
        usleep(10000);
    assert_false(bench_child_alive(&c));
    assert_int_equal(c.exited, 1);
    assert_int_equal(c.exit_code, 3);
    /* the line was there */
    assert_int_equal(bench_child_wait_line(&c, out, "ready ", url, sizeof url, 100), 0);
    assert_string_equal(url, "http://x");
    /* a line that never comes from a dead child: ERR_IO, not a hang */
    assert_int_equal(bench_child_wait_line(&c, out, "nope ", url, sizeof url, 5000), ERR_IO);
    int code = -1;
    assert_int_equal(bench_child_stop(&c, 100, &code), 0);
    assert_int_equal(code, 3);
    /* SIGTERM stops a sleeper: 128 + 15 */
    char *argv2[] = {"/bin/sleep", "30", NULL};
    assert_int_equal(bench_child_spawn(&c, "sleep", argv2, out, out), 0);
    assert_true(bench_child_alive(&c));
    assert_int_equal(bench_child_wait_line(&c, out, "never ", url, sizeof url, 50), ERR_TIMEOUT);
    assert_int_equal(bench_child_stop(&c, 5000, &code), 0);
    assert_int_equal(code, 128 + 15);
    assert_false(bench_child_alive(&c));
    /* a missing binary is refused before fork */
    char *argv3[] = {"/nonexistent/bin", NULL};
    assert_true(bench_child_spawn(&c, "x", argv3, out, out) < 0);
    unlink(out);
    unlink(err);
    rmdir(dir);
    int port = 0;
    assert_int_equal(bench_free_port(&port), 0);
    assert_true(port > 0 && port < 65536);
}

/* ---- fleet ------------------------------------------------------------------------ */

static json_object *
obj(const char *text)
{
    const char *e;
    json_object *o = jx_parse(text, strlen(text), &e);
    assert_non_null(o);
    return o;
}

static void
test_fleet_names(void **state)
{
    (void)state;
    bench_fleet f;
    assert_int_equal(bench_fleet_init(&f, BENCH_FLEET_CLAIMS, "claim", 20), 0);
    char name[64];
    bench_fleet_name(&f, 7, name, sizeof name);
    assert_string_equal(name, "claim-0000007");
    assert_int_equal(bench_fleet_index(&f, "claim-0000007"), 7);
    assert_int_equal(bench_fleet_index(&f, "claim-0000019"), 19);
    assert_int_equal(bench_fleet_index(&f, "claim-0000020"), -1);  /* out of range */
    assert_int_equal(bench_fleet_index(&f, "claim-000007"), -1);   /* too few digits */
    assert_int_equal(bench_fleet_index(&f, "claim-00000007"), -1); /* not canonical */
    assert_int_equal(bench_fleet_index(&f, "claim-0000007x"), -1);
    assert_int_equal(bench_fleet_index(&f, "claimx0000007"), -1);
    assert_int_equal(bench_fleet_index(&f, "other-0000007"), -1);
    assert_int_equal(bench_fleet_index(&f, "claim--000007"), -1);
    assert_int_equal(bench_fleet_index(&f, NULL), -1);
    bench_fleet_fini(&f);
    assert_int_equal(bench_fleet_init(&f, BENCH_FLEET_CLAIMS,
                                      "a-prefix-far-too-long-for-the-field-"
                                      "of-forty-eight-bytes",
                                      1),
                     ERR_INVALID);
}

static void
test_fleet_claims(void **state)
{
    (void)state;
    bench_fleet f;
    assert_int_equal(bench_fleet_init(&f, BENCH_FLEET_CLAIMS, "claim", 3), 0);
    for (size_t i = 0; i < 3; i++)
        bench_fleet_sent(&f, i);
    assert_int_equal(f.sent, 3);
    kube_result ok = {.http_status = 201, .message = ""};
    kube_result bad = {.err = ERR_EXISTS, .http_status = 409, .message = "already exists"};
    bench_fleet_on_created(&ok, bench_fleet_item_udata(&f, 0));
    bench_fleet_on_created(&ok, bench_fleet_item_udata(&f, 1));
    bench_fleet_answered(&f, 2, &bad);
    bench_fleet_answered(&f, 2, &ok); /* a second answer is ignored */
    assert_int_equal(f.created, 2);
    assert_int_equal(f.failed, 1);
    assert_non_null(strstr(f.first_err, "claim-0000002"));
    assert_non_null(strstr(f.first_err, "409"));
    assert_false(bench_fleet_settled(&f));
    /* Ready without a sandbox name is not ready; the reason is kept */
    json_object *o = obj("{\"metadata\":{\"name\":\"claim-0000000\"},\"status\":{\"conditions\":"
                         "[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"X\"}]}}");
    assert_int_equal(bench_fleet_observe(&f, o), 0);
    json_object_put(o);
    o = obj("{\"metadata\":{\"name\":\"claim-0000000\"},\"status\":{\"conditions\":"
            "[{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"WarmPoolNotFound\"}]}}");
    assert_int_equal(bench_fleet_observe(&f, o), 0);
    json_object_put(o);
    char reasons[128];
    bench_fleet_pending_reasons(&f, reasons, sizeof reasons);
    assert_string_equal(reasons, "WarmPoolNotFound x1, (no Ready condition) x1");
    o = obj("{\"metadata\":{\"name\":\"claim-0000000\"},\"status\":{\"sandbox\":{\"name\":"
            "\"bench-pool-x1\"},\"conditions\":[{\"type\":\"Finished\",\"status\":\"True\"},"
            "{\"type\":\"Ready\",\"status\":\"True\"}]}}");
    assert_int_equal(bench_fleet_observe(&f, o), 1);
    assert_int_equal(bench_fleet_observe(&f, o), 0); /* stays ready, time unchanged */
    json_object_put(o);
    assert_string_equal(f.it[0].sandbox, "bench-pool-x1");
    assert_true(f.it[0].ready_ns >= f.it[0].send_ns && f.it[0].ready_wall_ms > 0);
    o = obj("{\"metadata\":{\"name\":\"claim-0000001\"},\"status\":{\"sandbox\":{\"name\":"
            "\"claim-0000001\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
    assert_int_equal(bench_fleet_observe(&f, o), 1);
    json_object_put(o);
    /* foreign and malformed objects are ignored */
    o = obj("{\"metadata\":{\"name\":\"someone-else\"},\"status\":{\"sandbox\":{\"name\":\"s\"},"
            "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
    assert_int_equal(bench_fleet_observe(&f, o), 0);
    json_object_put(o);
    o = obj("{\"metadata\":{\"name\":\"claim-0000002\"},\"status\":{\"conditions\":\"x\"}}");
    assert_int_equal(bench_fleet_observe(&f, o), 0);
    json_object_put(o);
    o = obj("[]");
    assert_int_equal(bench_fleet_observe(&f, o), 0);
    json_object_put(o);
    assert_int_equal(f.ready, 2);
    assert_true(bench_fleet_settled(&f)); /* 2 ready + 1 failed */
    bench_fleet_fini(&f);
}

static void
test_sandbox_ready_and_bodies(void **state)
{
    (void)state;
    json_object *o = obj("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
                         "\"reason\":\"DependenciesReady\"}]}}");
    assert_true(bench_ready_condition(o));
    assert_string_equal(bench_ready_reason(o), "DependenciesReady");
    assert_null(bench_claim_ready(o));
    json_object_put(o);
    char buf[2048];
    const char *e;
    size_t n = bench_sandbox_json(buf, sizeof buf, "ns", "sbx-0000001", "launch");
    assert_true(n < sizeof buf);
    o = jx_parse(buf, n, &e);
    assert_non_null(o);
    assert_string_equal(jx_str(o, "kind"), "Sandbox");
    assert_string_equal(jx_label(o, BENCH_ROLE_LABEL), "launch");
    assert_true(jx_bool(o, "spec.service", 0));
    json_object_put(o);
    n = bench_pool_json(buf, sizeof buf, "ns", "p", "t", 7);
    o = jx_parse(buf, n, &e);
    assert_non_null(o);
    assert_int_equal(jx_int(o, "spec.replicas", 0), 7);
    assert_string_equal(jx_str(o, "spec.sandboxTemplateRef.name"), "t");
    json_object_put(o);
    n = bench_claim_json(buf, sizeof buf, "ns", "c", "p", "claim");
    o = jx_parse(buf, n, &e);
    assert_non_null(o);
    assert_string_equal(jx_str(o, "spec.warmPoolRef.name"), "p");
    json_object_put(o);
    n = bench_template_json(buf, sizeof buf, "ns", "t");
    o = jx_parse(buf, n, &e);
    assert_non_null(o);
    assert_string_equal(jx_str(o, "kind"), "SandboxTemplate");
    json_object_put(o);
    /* too small a buffer is reported, never overrun */
    assert_true(bench_claim_json(buf, 16, "ns", "c", "p", "claim") >= 16);
}

/* ---- flags, report ----------------------------------------------------------------- */

static void
test_cli_and_report(void **state)
{
    (void)state;
    long l;
    double d;
    assert_int_equal(bench_parse_long("50", 0, 100, &l), 0);
    assert_int_equal(l, 50);
    assert_int_equal(bench_parse_long("101", 0, 100, &l), ERR_INVALID);
    assert_int_equal(bench_parse_long("5x", 0, 100, &l), ERR_INVALID);
    assert_int_equal(bench_parse_long("", 0, 100, &l), ERR_INVALID);
    assert_int_equal(bench_parse_long("99999999999999999999", 0, 100, &l), ERR_INVALID);
    assert_int_equal(bench_parse_double("0.5", 0, 1, &d), 0);
    assert_int_equal(bench_parse_double("nan", 0, 1, &d), ERR_INVALID);
    assert_int_equal(bench_parse_double("inf", 0, 1e300, &d), ERR_INVALID);
    assert_int_equal(bench_parse_double("1e3", 0, 100, &d), ERR_INVALID);
    bench_cli c;
    char err[256];
    bench_cli_init(&c, "ns0", 30);
    assert_int_equal(bench_cli_opt(&c, BENCH_OPT_NAMESPACE, "good-ns1", err, sizeof err), 0);
    assert_string_equal(c.ns, "good-ns1");
    assert_int_equal(bench_cli_opt(&c, BENCH_OPT_NAMESPACE, "Bad_NS", err, sizeof err),
                     ERR_INVALID);
    assert_int_equal(bench_cli_opt(&c, BENCH_OPT_TIMEOUT, "0", err, sizeof err), ERR_INVALID);
    assert_int_equal(bench_cli_opt(&c, BENCH_OPT_EXTRA_CONTROLLER, "--shards=1", err, sizeof err),
                     0);
    assert_int_equal(bench_cli_opt(&c, BENCH_OPT_EXTRA_CONTROLLER, "-v=2", err, sizeof err), 0);
    assert_int_equal(c.nctl, 2);
    assert_string_equal(c.ctl_args[1], "-v=2");
    assert_null(c.ctl_args[2]);
    assert_int_equal(bench_cli_opt(&c, 4242, "x", err, sizeof err), 1);
    /* JSON: NaN and negative counts are null; doubles rounded to 3 decimals */
    json_object *root = json_object_new_object();
    assert_int_equal(bench_json_num(root, "a.b", NAN), 0);
    assert_int_equal(bench_json_num(root, "a.c", 1.23456), 0);
    assert_int_equal(bench_json_count(root, "a.d", -1), 0);
    assert_int_equal(bench_json_count(root, "a.e", 7), 0);
    bench_hist h;
    bench_hist_init(&h);
    bench_hist_finish(&h);
    assert_int_equal(bench_json_pcts(root, "p", &h), 0);
    bench_hist_fini(&h);
    assert_string_equal(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN),
                        "{\"a\":{\"b\":null,\"c\":1.235,\"d\":null,\"e\":7},\"p\":{\"p50\":null,"
                        "\"p90\":null,\"p99\":null,\"p999\":null,\"max\":null}}");
    json_object_put(root);
    char buf[32];
    assert_string_equal(bench_fmt(NAN, 2, buf, sizeof buf), "-");
    assert_string_equal(bench_fmt(2.0, 2, buf, sizeof buf), "2.00");
    json_object *m = bench_machine_describe();
    assert_non_null(m);
    assert_true(jx_int(m, "cpus_online", 0) >= 1);
    json_object_put(m);
}

#define ROWS(arr, fn)                                                                              \
    for (size_t i = 0; i < sizeof(arr) / sizeof(arr)[0]; i++)                                      \
        t[n++] = (struct CMUnitTest)                                                               \
        {                                                                                          \
            .name = (arr)[i].name, .test_func = fn, .initial_state = (void *)&(arr)[i]             \
        }

int
main(void)
{
    struct CMUnitTest t[32];
    size_t n = 0;
    ROWS(procstat_rows, test_procstat_row);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_procstat_self);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_child_exit_and_stop);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_fleet_names);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_fleet_claims);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_sandbox_ready_and_bodies);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_cli_and_report);
    return _cmocka_run_group_tests("bench_util", t, n, NULL, NULL);
}
