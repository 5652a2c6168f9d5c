/* test_controller_httpserv.c - bind addresses, and the metrics and health
 * servers on ephemeral ports, scraped with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/httpserv.h"
#include "controller/metrics.h"
#include "core/err.h"
#include "core/log.h"

typedef struct {
    const char *in;
    int rc;
    const char *host;
    int port;
} addr_row;

static const addr_row addr_rows[] = {
    {":8080", 0, "", 8080},
    {":0", 0, "", 0},
    {"127.0.0.1:9090", 0, "127.0.0.1", 9090},
    {"localhost:1", 0, "localhost", 1},
    {"[::1]:8443", 0, "::1", 8443},
    {"[::]:65535", 0, "::", 65535},
    {"0", 1, NULL, 0},
    {"", ERR_INVALID, NULL, 0},
    {"8080", ERR_INVALID, NULL, 0},
    {":", ERR_INVALID, NULL, 0},
    {":65536", ERR_INVALID, NULL, 0},
    {":-1", ERR_INVALID, NULL, 0},
    {":http", ERR_INVALID, NULL, 0},
    {"::1:80", ERR_INVALID, NULL, 0},
    {"[::1]", ERR_INVALID, NULL, 0},
    {"[::1:80", ERR_INVALID, NULL, 0},
    {"host:123456", ERR_INVALID, NULL, 0},
};

static void
test_addr(void **state)
{
    const addr_row *r = *state;
    char host[64] = "unchanged";
    int port = -7;
    assert_int_equal(ctl_bind_address_parse(r->in, host, sizeof host, &port), r->rc);
    if (r->rc == 0) {
        assert_string_equal(host, r->host);
        assert_int_equal(port, r->port);
    }
}

/* ---- scraping ------------------------------------------------------------ */

typedef struct {
    long status;
    char ctype[128];
    char *body;
    size_t len;
} resp;

static size_t
on_body(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    char *nb = realloc(r->body, r->len + sz * n + 1);
    assert_non_null(nb);
    r->body = nb;
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static void
fetch(int port, const char *method, const char *path, resp *r)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (strcmp(method, "POST") == 0) curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) fail_msg("GET %s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    if (r->body == NULL) r->body = calloc(1, 1);
}

static void
test_metrics_server(void **state)
{
    (void)state;
    char err[256];
    ctl_metrics *m = ctl_metrics_new();
    ctl_agent_metrics am;
    assert_int_equal(ctl_metrics_declare_agent(m, &am), 0);
    ctl_httpserv *s = ctl_metrics_start("127.0.0.1:0", m, err, sizeof err);
    if (s == NULL) fail_msg("%s", err);
    int port = ctl_httpserv_port(s);
    assert_true(port > 0);

    resp r;
    fetch(port, "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "# TYPE agent_sandbox_build_info gauge\n"));
    /* every sample line is "name{labels} value" or "name value" */
    char *save = NULL;
    int samples = 0;
    for (char *line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
            continue;
        }
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        char *end;
        strtod(sp + 1, &end);
        assert_int_equal(*end, '\0');
        samples++;
    }
    assert_int_equal(samples, 1); /* only build_info has a series yet */
    free(r.body);

    const char *v[] = {"ns", "cold", "t"};
    assert_int_equal(ctl_histogram_observe(am.creation_latency_ms, v, 42), 0);
    fetch(port, "GET", "/metrics", &r);
    assert_non_null(strstr(r.body, "agent_sandbox_creation_latency_ms_count{namespace=\"ns\","
                                   "launch_type=\"cold\",sandbox_template=\"t\"} 1\n"));
    free(r.body);
    fetch(port, "HEAD", "/metrics", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    fetch(port, "GET", "/other", &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    fetch(port, "POST", "/metrics", &r);
    assert_int_equal(r.status, 405);
    free(r.body);

    /* the port is taken now: a second server must fail, naming the address */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    assert_null(ctl_metrics_start(addr, m, err, sizeof err));
    assert_non_null(strstr(err, addr));
    ctl_httpserv_stop(s);
    ctl_metrics_free(m);
}

static atomic_int ready_flag;

static int
ready(void *udata, char *why, size_t whylen)
{
    (void)udata;
    if (atomic_load(&ready_flag)) return 1;
    snprintf(why, whylen, "informers: caches not synced");
    return 0;
}

static void
test_health_server(void **state)
{
    (void)state;
    char err[256];
    ctl_health h = {ready, NULL};
    ctl_httpserv *s = ctl_health_start(":0", &h, err, sizeof err);
    if (s == NULL) fail_msg("%s", err);
    int port = ctl_httpserv_port(s);
    resp r;
    fetch(port, "GET", "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    free(r.body);
    fetch(port, "GET", "/healthz/ping", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    fetch(port, "GET", "/readyz", &r);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "[-]informers: caches not synced"));
    free(r.body);
    atomic_store(&ready_flag, 1);
    fetch(port, "GET", "/readyz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    free(r.body);
    fetch(port, "GET", "/readyzz", &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    ctl_httpserv_stop(s);
}

static void
test_disabled_and_bad(void **state)
{
    (void)state;
    char err[256] = "x";
    ctl_health h = {NULL, NULL};
    assert_null(ctl_health_start("0", &h, err, sizeof err));
    assert_string_equal(err, ""); /* disabled is not an error */
    assert_null(ctl_health_start("nope", &h, err, sizeof err));
    assert_non_null(strstr(err, "bad bind address \"nope\""));
    assert_null(ctl_health_start("no-such-host.invalid:0", &h, err, sizeof err));
    assert_non_null(strstr(err, "no-such-host.invalid:0"));
    ctl_httpserv_stop(NULL);
}

int
main(void)
{
    static struct CMUnitTest tests[64];
    size_t n = 0;
    log_setup(stderr, LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t i = 0; i < sizeof addr_rows / sizeof addr_rows[0]; i++)
        tests[n++] = (struct CMUnitTest){.name = addr_rows[i].in[0] ? addr_rows[i].in : "(empty)",
                                         .test_func = test_addr,
                                         .initial_state = (void *)&addr_rows[i]};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_metrics_server);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_health_server);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_disabled_and_bad);
    int rc = _cmocka_run_group_tests("controller_httpserv", tests, n, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
