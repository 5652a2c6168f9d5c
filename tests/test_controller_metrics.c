/* test_controller_metrics.c - the Prometheus registry: exposition text,
 * escaping, validation, the spec §3.3 metrics, collectors, thread safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/metrics.h"
#include "core/err.h"

static char *
render(ctl_metrics *m)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(ctl_metrics_render(m, &out, &len), 0);
    assert_int_equal(strlen(out), len);
    return out;
}

static void
test_exposition_exact(void **state)
{
    (void)state;
    ctl_metrics *m = ctl_metrics_new();
    const char *ln[] = {"code"};
    const double b[] = {1, 2.5};
    ctl_metric *c = ctl_metrics_counter(m, "req_total", "Requests.", ln, 1);
    ctl_metric *g = ctl_metrics_gauge(m, "temp", "Temp.", NULL, 0);
    ctl_metric *h = ctl_metrics_histogram(m, "lat_ms", "Latency.", ln, 1, b, 2);
    assert_non_null(c);
    assert_non_null(g);
    assert_non_null(h);
    const char *v200[] = {"200"}, *v500[] = {"500"};
    assert_int_equal(ctl_counter_add(c, v200, 1), 0);
    assert_int_equal(ctl_counter_add(c, v500, 2), 0);
    assert_int_equal(ctl_counter_add(c, v200, 0.5), 0);
    assert_int_equal(ctl_gauge_set(g, NULL, 3), 0);
    assert_int_equal(ctl_gauge_add(g, NULL, -4.25), 0);
    /* 0.5 and 1 land in le=1 (upper bounds are inclusive), 2 in le=2.5, 7 only in +Inf */
    assert_int_equal(ctl_histogram_observe(h, v200, 0.5), 0);
    assert_int_equal(ctl_histogram_observe(h, v200, 1), 0);
    assert_int_equal(ctl_histogram_observe(h, v200, 2), 0);
    assert_int_equal(ctl_histogram_observe(h, v200, 7), 0);
    char *out = render(m);
    assert_string_equal(out, "# HELP req_total Requests.\n"
                             "# TYPE req_total counter\n"
                             "req_total{code=\"200\"} 1.5\n"
                             "req_total{code=\"500\"} 2\n"
                             "# HELP temp Temp.\n"
                             "# TYPE temp gauge\n"
                             "temp -1.25\n"
                             "# HELP lat_ms Latency.\n"
                             "# TYPE lat_ms histogram\n"
                             "lat_ms_bucket{code=\"200\",le=\"1\"} 2\n"
                             "lat_ms_bucket{code=\"200\",le=\"2.5\"} 3\n"
                             "lat_ms_bucket{code=\"200\",le=\"+Inf\"} 4\n"
                             "lat_ms_sum{code=\"200\"} 10.5\n"
                             "lat_ms_count{code=\"200\"} 4\n");
    free(out);
    double v, sum;
    assert_int_equal(ctl_metric_value(h, v200, &v, &sum), 0);
    assert_true(v == 4 && sum == 10.5);
    assert_int_equal(ctl_metric_value(h, v500, &v, &sum), ERR_NOTFOUND);
    ctl_metric_reset(c);
    out = render(m);
    assert_null(strstr(out, "req_total")); /* no series, no metric */
    free(out);
    ctl_metrics_free(m);
}

static void
test_escaping(void **state)
{
    (void)state;
    ctl_metrics *m = ctl_metrics_new();
    const char *ln[] = {"a", "b"};
    ctl_metric *g = ctl_metrics_gauge(m, "esc", "Help with \\ and\nnewline \"kept\".", ln, 2);
    const char *vals[] = {"q\"uote\\back\nline", NULL};
    assert_int_equal(ctl_gauge_set(g, vals, 1), 0);
    char *out = render(m);
    assert_string_equal(out, "# HELP esc Help with \\\\ and\\nnewline \"kept\".\n"
                             "# TYPE esc gauge\n"
                             "esc{a=\"q\\\"uote\\\\back\\nline\",b=\"\"} 1\n");
    free(out);
    ctl_metrics_free(m);
}

typedef struct {
    const char *name;
    double v;
    const char *want;
} fmt_row;

static const fmt_row fmt_rows[] = {
    {"zero", 0, "0"},
    {"one", 1, "1"},
    {"tenth", 0.1, "0.1"},
    {"250", 250, "250"},
    {"600000", 600000, "600000"},
    {"1.5", 1.5, "1.5"},
    {"big", 1e21, "1e+21"},
    {"third", 1.0 / 3, "0.3333333333333333"},
    {"neg", -2.75, "-2.75"},
    {"2^53", 9007199254740992.0, "9.007199254740992e+15"},
    {"million", 1e6, "1e+06"},
    {"1234567", 1234567, "1.234567e+06"},
    {"small", 0.0001, "0.0001"},
    {"smaller", 0.00001, "1e-05"},
    {"999999", 999999, "999999"},
};

static void
test_fmt(void **state)
{
    const fmt_row *r = *state;
    char buf[48];
    assert_string_equal(ctl_metrics_fmt_value(r->v, buf, sizeof buf), r->want);
}

static void
test_fmt_special(void **state)
{
    (void)state;
    char buf[48];
    assert_string_equal(ctl_metrics_fmt_value(INFINITY, buf, sizeof buf), "+Inf");
    assert_string_equal(ctl_metrics_fmt_value(-INFINITY, buf, sizeof buf), "-Inf");
    assert_string_equal(ctl_metrics_fmt_value(NAN, buf, sizeof buf), "NaN");
}

static void
test_validation(void **state)
{
    (void)state;
    ctl_metrics *m = ctl_metrics_new();
    const char *ok[] = {"a"};
    const char *dup[] = {"a", "a"};
    const char *reserved[] = {"__x"};
    const char *le[] = {"le"};
    const char *badl[] = {"a-b"};
    const double up[] = {1, 2}, down[] = {2, 1}, inf[] = {1, INFINITY};
    assert_null(ctl_metrics_counter(m, "", "", NULL, 0));
    assert_null(ctl_metrics_counter(m, "9abc", "", NULL, 0));
    assert_null(ctl_metrics_counter(m, "a-b", "", NULL, 0));
    assert_null(ctl_metrics_counter(m, "x", "", dup, 2));
    assert_null(ctl_metrics_counter(m, "x", "", reserved, 1));
    assert_null(ctl_metrics_counter(m, "x", "", badl, 1));
    assert_null(ctl_metrics_counter(m, "x", "", NULL, 1));
    assert_null(ctl_metrics_histogram(m, "h", "", le, 1, up, 2));
    assert_null(ctl_metrics_histogram(m, "h", "", NULL, 0, down, 2));
    assert_null(ctl_metrics_histogram(m, "h", "", NULL, 0, inf, 2));
    ctl_metric *c = ctl_metrics_counter(m, "ns:x_total", "", ok, 1);
    assert_non_null(c);
    assert_null(ctl_metrics_gauge(m, "ns:x_total", "", NULL, 0)); /* redeclared */
    assert_ptr_equal(ctl_metrics_find(m, "ns:x_total"), c);
    assert_null(ctl_metrics_find(m, "absent"));
    const char *v[] = {"v"};
    assert_int_equal(ctl_counter_add(c, v, -1), ERR_INVALID);
    assert_int_equal(ctl_counter_add(c, v, NAN), ERR_INVALID);
    assert_int_equal(ctl_counter_add(c, NULL, 1), ERR_INVALID); /* labels missing */
    assert_int_equal(ctl_gauge_set(c, v, 1), ERR_INVALID);      /* wrong type */
    assert_int_equal(ctl_histogram_observe(c, v, 1), ERR_INVALID);
    ctl_metrics_free(m);
    ctl_metrics_free(NULL);
}

static void
test_many_series(void **state)
{
    (void)state;
    ctl_metrics *m = ctl_metrics_new();
    const char *ln[] = {"ns", "name"};
    ctl_metric *g = ctl_metrics_gauge(m, "objs", "", ln, 2);
    char a[32], b[32];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3000; i++) {
            snprintf(a, sizeof a, "ns-%d", i % 7);
            snprintf(b, sizeof b, "obj-%d", i);
            const char *v[] = {a, b};
            assert_int_equal(ctl_gauge_add(g, v, i), 0);
        }
    for (int i = 0; i < 3000; i += 37) {
        snprintf(a, sizeof a, "ns-%d", i % 7);
        snprintf(b, sizeof b, "obj-%d", i);
        const char *v[] = {a, b};
        double x;
        assert_int_equal(ctl_metric_value(g, v, &x, NULL), 0);
        assert_true(x == 2.0 * i);
    }
    /* ("ab","") and ("a","b") are different series */
    const char *p1[] = {"ab", ""}, *p2[] = {"a", "b"};
    ctl_gauge_set(g, p1, 1);
    ctl_gauge_set(g, p2, 2);
    double x;
    assert_int_equal(ctl_metric_value(g, p1, &x, NULL), 0);
    assert_true(x == 1);
    char *out = render(m);
    size_t lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3002 + 2);
    free(out);
    ctl_metric_reset(g);
    assert_int_equal(ctl_metric_value(g, p1, &x, NULL), ERR_NOTFOUND);
    ctl_gauge_set(g, p1, 5);
    assert_int_equal(ctl_metric_value(g, p1, &x, NULL), 0);
    assert_true(x == 5);
    ctl_metrics_free(m);
}

typedef struct {
    ctl_metric *c;
    ctl_metric *h;
} thr_arg;

static void *
hammer(void *p)
{
    thr_arg *a = p;
    const char *v[] = {"x"};
    for (int i = 0; i < 20000; i++) {
        ctl_counter_add(a->c, v, 1);
        ctl_histogram_observe(a->h, NULL, i % 3);
    }
    return NULL;
}

static void
test_threads(void **state)
{
    (void)state;
    ctl_metrics *m = ctl_metrics_new();
    const char *ln[] = {"k"};
    const double b[] = {0, 1};
    thr_arg a = {ctl_metrics_counter(m, "c", "", ln, 1),
                 ctl_metrics_histogram(m, "h", "", NULL, 0, b, 2)};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &a), 0);
    for (int k = 0; k < 50; k++) { /* render while writers run */
        char *out = render(m);
        free(out);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    const char *v[] = {"x"};
    double x, sum;
    assert_int_equal(ctl_metric_value(a.c, v, &x, NULL), 0);
    assert_true(x == 80000);
    assert_int_equal(ctl_metric_value(a.h, NULL, &x, &sum), 0);
    assert_true(x == 80000);
    /* i % 3 over 0..19999: 6667 zeros, 6667 ones, 6666 twos per thread */
    assert_true(sum == 4 * (6667.0 + 2 * 6666.0));
    char *out = render(m);
    assert_non_null(strstr(out, "h_bucket{le=\"0\"} 26668\n"));
    assert_non_null(strstr(out, "h_bucket{le=\"1\"} 53336\n"));
    assert_non_null(strstr(out, "h_bucket{le=\"+Inf\"} 80000\n"));
    free(out);
    ctl_metrics_free(m);
}

static int collected;

static void
collect(ctl_metrics *m, void *udata)
{
    ctl_metric *g = ctl_metrics_find(m, "agent_sandboxes");
    const char *v[] = {"default", "true", "false", "warm", "tmpl", "SandboxWarmPool", "unknown"};
    collected++;
    ctl_metric_reset(g);
    ctl_gauge_set(g, v, *(int *)udata);
}

static void
test_agent_metrics(void **state)
{
    (void)state;
    ctl_metrics *m = ctl_metrics_new();
    ctl_agent_metrics am;
    assert_int_equal(ctl_metrics_declare_agent(m, &am), 0);
    int n = 3;
    assert_int_equal(ctl_metrics_add_collector(m, collect, &n), 0);
    const char *claim_v[] = {"warm", "python"};
    const char *creation_v[] = {"default", "cold", "python"};
    const char *total_v[] = {"default", "python", "warm", "pool-a", "ready", "unknown"};
    assert_int_equal(ctl_histogram_observe(am.claim_startup_latency_ms, claim_v, 120), 0);
    assert_int_equal(ctl_histogram_observe(am.claim_controller_startup_latency_ms, claim_v, 5), 0);
    assert_int_equal(ctl_histogram_observe(am.client_claim_startup_latency_ms, claim_v, 1e6), 0);
    assert_int_equal(ctl_histogram_observe(am.creation_latency_ms, creation_v, 700), 0);
    assert_int_equal(ctl_counter_add(am.claim_creation_total, total_v, 1), 0);
    char *out = render(m);
    assert_int_equal(collected, 1);
    /* spec §3.3 claim buckets, cumulative: 120 is above 100 and within 250 */
    assert_non_null(strstr(out,
                           "# TYPE agent_sandbox_claim_startup_latency_ms histogram\n"
                           "agent_sandbox_claim_startup_latency_ms_bucket{launch_type=\"warm\","
                           "sandbox_template=\"python\",le=\"100\"} 0\n"
                           "agent_sandbox_claim_startup_latency_ms_bucket{launch_type=\"warm\","
                           "sandbox_template=\"python\",le=\"250\"} 1\n"));
    const char *claim_le[] = {"100",   "250",    "500",    "750",  "1000",  "1250",
                              "1500",  "2000",   "2500",   "5000", "10000", "30000",
                              "60000", "120000", "240000", "+Inf"};
    for (size_t i = 0; i < 16; i++) {
        char want[256];
        snprintf(want, sizeof want,
                 "agent_sandbox_client_claim_startup_latency_ms_bucket{launch_type=\"warm\","
                 "sandbox_template=\"python\",le=\"%s\"} %d\n",
                 claim_le[i], i == 15 ? 1 : 0);
        if (strstr(out, want) == NULL) fail_msg("missing %s", want);
    }
    const char *creation_le[] = {"50",     "100",    "250",    "500",    "1000",
                                 "2500",   "5000",   "10000",  "30000",  "60000",
                                 "120000", "240000", "300000", "600000", "+Inf"};
    for (size_t i = 0; i < 15; i++) {
        char want[256];
        snprintf(want, sizeof want,
                 "agent_sandbox_creation_latency_ms_bucket{namespace=\"default\","
                 "launch_type=\"cold\",sandbox_template=\"python\",le=\"%s\"} %d\n",
                 creation_le[i], i >= 4 ? 1 : 0);
        if (strstr(out, want) == NULL) fail_msg("missing %s", want);
    }
    assert_non_null(strstr(out, "agent_sandbox_claim_creation_total{namespace=\"default\","
                                "sandbox_template=\"python\",launch_type=\"warm\","
                                "warmpool_name=\"pool-a\",pod_condition=\"ready\","
                                "created_by=\"unknown\"} 1\n"));
    assert_non_null(strstr(out, "agent_sandboxes{namespace=\"default\",ready_condition=\"true\","
                                "expired=\"false\",launch_type=\"warm\",sandbox_template=\"tmpl\","
                                "owned_by=\"SandboxWarmPool\",created_by=\"unknown\"} 3\n"));
    char want[256];
    snprintf(want, sizeof want, "agent_sandbox_build_info{git_version=\"v%s\",git_commit=\"",
             ASC_VERSION);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "platform=\"linux/"));
    free(out);
    n = 4; /* the collector re-lists on each scrape */
    out = render(m);
    assert_int_equal(collected, 2);
    assert_non_null(strstr(out, "created_by=\"unknown\"} 4\n"));
    free(out);
    ctl_metrics_free(m);
}

#define ROWS(arr, fn)                                                                              \
    for (size_t i = 0; i < sizeof(arr) / sizeof((arr)[0]); i++)                                    \
        tests[n++] = (struct CMUnitTest)                                                           \
        {                                                                                          \
            .name = (arr)[i].name, .test_func = fn, .initial_state = (void *)&(arr)[i]             \
        }

int
main(void)
{
    static struct CMUnitTest tests[64];
    size_t n = 0;
    ROWS(fmt_rows, test_fmt);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fmt_special);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_exposition_exact);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_escaping);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_validation);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_many_series);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_threads);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_agent_metrics);
    return _cmocka_run_group_tests("controller_metrics", tests, n, NULL, NULL);
}
