/* test_kubesim_api.c - kubesim started in-process (sim_start/sim_stop):
 * TLS with the CA written into the kubeconfig, targeted faults, the request
 * log, /metrics labels, CRDs created at run time, resourceVersion edge cases,
 * and malformed input of every kind (the server must answer or disconnect,
 * never crash, and keep serving). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/kubesim/sim_server.h"
#include "bench/kubesim/sim_store.h"
#include "core/err.h"
#include "core/jx.h"

typedef struct {
    long code;
    char *body;
    size_t len;
    char headers[8192];
    size_t hlen;
} resp;

static size_t
on_body(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    char *nb = realloc(r->body, r->len + sz * n + 1);
    if (!nb) return 0;
    memcpy(nb + r->len, p, sz * n);
    r->body = nb;
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    size_t k = sz * n;
    if (r->hlen + k < sizeof r->headers) {
        memcpy(r->headers + r->hlen, p, k);
        r->hlen += k;
        r->headers[r->hlen] = '\0';
    }
    return k;
}

/* One request; ca_pem (may be NULL) trusted for https. */
static resp
req(const char *base, const char *method, const char *path, const char *ctype, const char *body,
    const char *ua, const char *ca_pem)
{
    resp r = {0};
    CURL *c = curl_easy_init();
    char url[2048];
    snprintf(url, sizeof url, "%s%s", base, path);
    struct curl_slist *h = NULL;
    char ct[256];
    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, ua ? ua : "kstest/1.0");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (ca_pem) {
        struct curl_blob blob = {(void *)ca_pem, strlen(ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r.body) r.body = calloc(1, 1);
    return r;
}

static json_object *
rjson(const resp *r)
{
    const char *e = NULL;
    return jx_parse(r->body, r->len, &e);
}

static void
rfree(resp *r)
{
    free(r->body);
    r->body = NULL;
}

static sim_server *
start(sim_config *cfg)
{
    char err[256];
    cfg->quiet = 1;
    sim_server *s = sim_start(cfg, err, sizeof err);
    if (!s) fail_msg("sim_start: %s", err);
    return s;
}

/* --tls: self-signed certificate whose CA is in the kubeconfig. */
static void
test_tls_kubeconfig(void **state)
{
    (void)state;
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.tls = 1;
    sim_server *s = start(&cfg);
    assert_non_null(strstr(sim_url(s), "https://127.0.0.1:"));
    FILE *f = fopen(sim_kubeconfig(s), "r");
    assert_non_null(f);
    char kc[16384];
    size_t n = fread(kc, 1, sizeof kc - 1, f);
    kc[n] = '\0';
    fclose(f);
    char want[128];
    snprintf(want, sizeof want, "server: %s\n", sim_url(s));
    assert_non_null(strstr(kc, want));
    assert_non_null(strstr(kc, sim_token(s)));
    char *ca = strstr(kc, "certificate-authority-data: ");
    assert_non_null(ca);
    ca += strlen("certificate-authority-data: ");
    char *end = strchr(ca, '\n');
    *end = '\0';
    unsigned char pem[8192];
    int pl = EVP_DecodeBlock(pem, (unsigned char *)ca, (int)strlen(ca));
    assert_true(pl > 0);
    pem[pl] = '\0';
    assert_non_null(strstr((char *)pem, "BEGIN CERTIFICATE"));
    resp r = req(sim_url(s), "GET", "/version", NULL, NULL, NULL, (char *)pem);
    assert_int_equal(r.code, 200);
    json_object *v = rjson(&r);
    assert_string_equal(jx_str_or(v, "minor", ""), "32");
    json_object_put(v);
    rfree(&r);
    /* an untrusted client fails the handshake */
    r = req(sim_url(s), "GET", "/version", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 0);
    rfree(&r);
    char path[4096];
    snprintf(path, sizeof path, "%s", sim_kubeconfig(s));
    sim_stop(s);
    assert_int_not_equal(access(path, F_OK), 0); /* the temporary kubeconfig is removed */
}

/* --tls-cert/--tls-key: the given certificate is served and put into the kubeconfig. */
static void
test_tls_given_cert(void **state)
{
    (void)state;
    if (access("/usr/bin/openssl", X_OK) != 0) {
        fprintf(stderr, "SKIP test_tls_given_cert: no openssl command\n");
        skip();
    }
    char dir[] = "/tmp/kubesim-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[1024], cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/c.pem", dir);
    snprintf(key, sizeof key, "%s/k.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
             "-subj /CN=given -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s "
             ">/dev/null 2>&1",
             key, cert);
    assert_int_equal(system(cmd), 0);
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.tls_cert = cert;
    cfg.tls_key = key;
    sim_server *s = start(&cfg);
    FILE *f = fopen(cert, "r");
    char pem[8192];
    size_t n = fread(pem, 1, sizeof pem - 1, f);
    pem[n] = '\0';
    fclose(f);
    resp r = req(sim_url(s), "GET", "/api", NULL, NULL, NULL, pem);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body, "APIVersions"));
    rfree(&r);
    sim_stop(s);
    /* a key that is not the certificate's fails at start */
    char err[256];
    sim_config bad;
    sim_config_defaults(&bad);
    bad.quiet = 1;
    bad.tls_cert = cert;
    bad.tls_key = cert;
    assert_null(sim_start(&bad, err, sizeof err));
    assert_non_null(strstr(err, "--tls-cert"));
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

#define CMS "/api/v1/namespaces/default/configmaps"
#define CM_BODY(n)                                                                                 \
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" n "\"}}"

/* Faults hit only matching requests, count down, and are cleared. */
static void
test_faults(void **state)
{
    (void)state;
    sim_config cfg;
    sim_config_defaults(&cfg);
    sim_server *s = start(&cfg);
    const char *u = sim_url(s);
    resp r = req(u, "POST", CMS, "application/json", CM_BODY("f"), NULL, NULL);
    assert_int_equal(r.code, 201);
    rfree(&r);
    r = req(u, "POST", "/kubesim/faults", "application/json",
            "{\"verb\":\"PATCH\",\"resource\":\"configmaps\",\"code\":500,\"count\":2}", NULL,
            NULL);
    assert_int_equal(r.code, 200);
    rfree(&r);
    static const long want[] = {500, 500, 200};
    for (int i = 0; i < 3; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"data\":{\"i\":\"%d\"}}", i);
        r = req(u, "PATCH", CMS "/f", "application/merge-patch+json", body, NULL, NULL);
        assert_int_equal(r.code, want[i]);
        rfree(&r);
        r = req(u, "GET", CMS "/f", NULL, NULL, NULL, NULL); /* other verbs unaffected */
        assert_int_equal(r.code, 200);
        rfree(&r);
    }
    r = req(u, "POST", "/kubesim/faults", "application/json",
            "{\"verb\":\"GET\",\"resource\":\"configmaps\",\"code\":429,\"count\":-1}", NULL, NULL);
    rfree(&r);
    for (int i = 0; i < 3; i++) {
        r = req(u, "GET", CMS "/f", NULL, NULL, NULL, NULL);
        assert_int_equal(r.code, 429);
        assert_non_null(strcasestr(r.headers, "Retry-After: 1"));
        rfree(&r);
    }
    r = req(u, "GET", "/api/v1/namespaces/default", NULL, NULL, NULL, NULL); /* other resource */
    assert_int_equal(r.code, 200);
    rfree(&r);
    r = req(u, "DELETE", "/kubesim/faults", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    rfree(&r);
    r = req(u, "GET", CMS "/f", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    rfree(&r);
    r = req(u, "POST", "/kubesim/faults", "application/json", "not json", NULL, NULL);
    assert_int_equal(r.code, 400);
    rfree(&r);
    sim_stop(s);
}

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The outcome pattern of 40 GETs under a 50% fault seeded with seed. */
static void
percent_pattern(const char *u, int seed, char *pat)
{
    char spec[256];
    snprintf(spec, sizeof spec,
             "{\"verb\":\"GET\",\"resource\":\"configmaps\",\"code\":503,\"percent\":50,"
             "\"seed\":%d}",
             seed);
    resp r = req(u, "POST", "/kubesim/faults", "application/json", spec, NULL, NULL);
    assert_int_equal(r.code, 200);
    rfree(&r);
    for (int i = 0; i < 40; i++) {
        r = req(u, "GET", CMS "/f", NULL, NULL, NULL, NULL);
        assert_true(r.code == 200 || r.code == 503);
        pat[i] = r.code == 200 ? '.' : 'x';
        rfree(&r);
    }
    pat[40] = '\0';
    r = req(u, "DELETE", "/kubesim/faults", NULL, NULL, NULL, NULL);
    rfree(&r);
}

/* Part 2 faults: a seeded share of requests, latency, resets, a stalled
 * watch, watches closed periodically; all gone once cleared. */
static void
test_faults_part2(void **state)
{
    (void)state;
    sim_config cfg;
    sim_config_defaults(&cfg);
    const char *start_fault = "{\"verb\":\"DELETE\",\"resource\":\"configmaps\",\"code\":500}";
    cfg.faults[cfg.nfaults++] = start_fault; /* as --fault at start */
    sim_server *s = start(&cfg);
    const char *u = sim_url(s);
    resp r = req(u, "POST", CMS, "application/json", CM_BODY("f"), NULL, NULL);
    assert_int_equal(r.code, 201);
    rfree(&r);
    r = req(u, "DELETE", CMS "/f", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 500);
    rfree(&r);
    r = req(u, "DELETE", "/kubesim/faults", NULL, NULL, NULL, NULL);
    rfree(&r);
    char p1[41], p2[41], p3[41];
    percent_pattern(u, 7, p1);
    percent_pattern(u, 7, p2);
    percent_pattern(u, 8, p3);
    assert_string_equal(p1, p2); /* same seed, same run */
    assert_string_not_equal(p1, p3);
    int hits = 0;
    for (int i = 0; i < 40; i++)
        hits += p1[i] == 'x';
    assert_true(hits >= 8 && hits <= 32);
    /* latency */
    r = req(u, "POST", "/kubesim/faults", "application/json",
            "{\"verb\":\"GET\",\"resource\":\"configmaps\",\"latencyMs\":300,\"jitterMs\":50}",
            NULL, NULL);
    rfree(&r);
    double t0 = mono_s();
    r = req(u, "GET", CMS "/f", NULL, NULL, NULL, NULL);
    double dt = mono_s() - t0;
    assert_int_equal(r.code, 200);
    assert_true(dt >= 0.3 && dt < 2.0);
    rfree(&r);
    t0 = mono_s();
    r = req(u, "GET", "/api/v1/namespaces/default", NULL, NULL, NULL, NULL); /* not matching */
    assert_true(mono_s() - t0 < 0.25);
    rfree(&r);
    r = req(u, "DELETE", "/kubesim/faults", NULL, NULL, NULL, NULL);
    rfree(&r);
    /* connection resets */
    r = req(u, "POST", "/kubesim/faults", "application/json",
            "{\"verb\":\"PATCH\",\"resetPercent\":100}", NULL, NULL);
    rfree(&r);
    r = req(u, "PATCH", CMS "/f", "application/merge-patch+json", "{}", NULL, NULL);
    assert_int_equal(r.code, 0);
    rfree(&r);
    r = req(u, "DELETE", "/kubesim/faults", NULL, NULL, NULL, NULL);
    rfree(&r);
    /* a stalled watch: silent for a second, then the events */
    r = req(u, "POST", "/kubesim/faults", "application/json",
            "{\"verb\":\"WATCH\",\"resource\":\"configmaps\",\"watchStallSeconds\":1}", NULL, NULL);
    rfree(&r);
    t0 = mono_s();
    r = req(u, "GET", CMS "?watch=true&timeoutSeconds=2", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body, "\"ADDED\"")); /* the synthetic ADDED, late */
    rfree(&r);
    /* every watch closed every second */
    r = req(u, "POST", "/kubesim/faults", "application/json", "{\"watchCloseEverySeconds\":1}",
            NULL, NULL);
    rfree(&r);
    t0 = mono_s();
    r = req(u, "GET", CMS "?watch=true&timeoutSeconds=30&resourceVersion=0", NULL, NULL, NULL,
            NULL);
    dt = mono_s() - t0;
    assert_int_equal(r.code, 200);
    assert_true(dt < 5.0);
    rfree(&r);
    r = req(u, "DELETE", "/kubesim/faults", NULL, NULL, NULL, NULL);
    rfree(&r);
    t0 = mono_s();
    r = req(u, "GET", CMS "?watch=true&timeoutSeconds=2&resourceVersion=0", NULL, NULL, NULL, NULL);
    assert_true(mono_s() - t0 >= 1.9); /* recovered: the watch runs to its timeout */
    rfree(&r);
    r = req(u, "POST", "/kubesim/faults", "application/json", "{\"percent\":150}", NULL, NULL);
    assert_int_equal(r.code, 400);
    rfree(&r);
    sim_stop(s);
}

/* The request log attributes requests to clients; metrics carry the real labels. */
static void
test_request_log_and_metrics(void **state)
{
    (void)state;
    sim_config cfg;
    sim_config_defaults(&cfg);
    sim_server *s = start(&cfg);
    const char *u = sim_url(s);
    resp r = req(u, "GET", "/kubesim/requests", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    unsigned long long since = 0;
    for (char *l = r.body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        unsigned long long q = strtoull(l + 7, NULL, 10); /* {"seq": */
        if (q > since) since = q;
    }
    rfree(&r);
    r = req(u, "POST", CMS, "application/json", CM_BODY("logged"), "mytool/2.0 (linux)", NULL);
    rfree(&r);
    r = req(u, "GET", CMS "/nope", NULL, NULL, "mytool/2.0", NULL);
    rfree(&r);
    r = req(u, "GET", CMS, NULL, NULL, "other/1", NULL);
    rfree(&r);
    r = req(u, "GET", "/api/v1/configmaps", NULL, NULL, "other/1", NULL);
    rfree(&r);
    char path[128];
    snprintf(path, sizeof path, "/kubesim/requests?since=%llu", since);
    r = req(u, "GET", path, NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    const char *want[] = {"\"client\":\"mytool\",\"verb\":\"POST\",\"resource\":\"configmaps\"",
                          "\"namespace\":\"default\",\"name\":\"logged\",\"code\":201",
                          "\"client\":\"mytool\",\"verb\":\"GET\"",
                          "\"name\":\"nope\",\"code\":404",
                          "\"client\":\"other\",\"verb\":\"LIST\""};
    for (size_t i = 0; i < 5; i++)
        if (!strstr(r.body, want[i])) fail_msg("request log lacks %s:\n%s", want[i], r.body);
    int lines = 0;
    for (char *p = r.body; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4);
    rfree(&r);
    r = req(u, "GET", "/metrics", NULL, NULL, NULL, NULL);
    const char *series[] = {
        "apiserver_request_total{code=\"201\",component=\"apiserver\",dry_run=\"\",group=\"\","
        "resource=\"configmaps\",scope=\"resource\",subresource=\"\",system_client=\"\","
        "verb=\"POST\",version=\"v1\"} 1",
        "scope=\"namespace\",subresource=\"\",system_client=\"\",verb=\"LIST\"",
        "scope=\"cluster\",subresource=\"\",system_client=\"\",verb=\"LIST\"",
        "kubesim_requests_total{client=\"mytool\",verb=\"GET\",resource=\"configmaps\","
        "subresource=\"\",code=\"404\"} 1",
    };
    for (size_t i = 0; i < 4; i++)
        if (!strstr(r.body, series[i])) fail_msg("metrics lack %s:\n%.4000s", series[i], r.body);
    rfree(&r);
    sim_stop(s);
}

/* A CRD created at run time is served at once, listed in discovery, and
 * gone with its objects when the CRD is deleted. */
static void
test_runtime_crd(void **state)
{
    (void)state;
    sim_config cfg;
    sim_config_defaults(&cfg);
    sim_server *s = start(&cfg);
    const char *u = sim_url(s);
    const char *crd =
        "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
        "\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\","
        "\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\","
        "\"listKind\":\"WidgetList\"},\"scope\":\"Namespaced\",\"versions\":[{\"name\":\"v1\","
        "\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}},\"schema\":{"
        "\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\","
        "\"properties\":{\"size\":{\"type\":\"integer\",\"minimum\":1,\"default\":3}}},"
        "\"status\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}}}]}}";
    resp r = req(u, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                 "application/json", crd, NULL, NULL);
    assert_int_equal(r.code, 201);
    rfree(&r);
    const char *w = "/apis/example.com/v1/namespaces/default/widgets";
    r = req(u, "POST", w, "application/json",
            "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"a\"},"
            "\"spec\":{\"bogus\":1}}",
            NULL, NULL);
    assert_int_equal(r.code, 201);
    assert_non_null(strcasestr(r.headers, "Warning: 299 - \"unknown field \\\"spec.bogus\\\"\""));
    json_object *o = rjson(&r);
    assert_int_equal(jx_int(o, "spec.size", 0), 3);
    assert_int_equal(jx_int(o, "metadata.generation", 0), 1);
    json_object_put(o);
    rfree(&r);
    r = req(u, "POST", w, "application/json",
            "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"b\"},"
            "\"spec\":{\"size\":0}}",
            NULL, NULL);
    assert_int_equal(r.code, 422);
    rfree(&r);
    r = req(u, "GET", "/apis/example.com/v1", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body, "\"name\":\"widgets/status\""));
    rfree(&r);
    r = req(u, "DELETE",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com", NULL,
            NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    rfree(&r);
    r = req(u, "GET", w, NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 404);
    assert_string_equal(r.body, "404 page not found\n");
    rfree(&r);
    sim_stop(s);
}

/* Selector lists served from the label index agree with a plain reading:
 * namespaces, IN, EQ with other requirements, labels changed and removed. */
static void
test_label_index_lists(void **state)
{
    (void)state;
    sim_config cfg;
    sim_config_defaults(&cfg);
    sim_server *s = start(&cfg);
    const char *u = sim_url(s);
    resp r = req(u, "POST", "/api/v1/namespaces", "application/json",
                 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"other\"}}",
                 NULL, NULL);
    rfree(&r);
    static const char *const ns[] = {"default", "other"};
    for (int i = 0; i < 30; i++) {
        char path[128], body[256];
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", ns[i % 2]);
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c%02d\","
                 "\"labels\":{\"app\":\"%c\",\"tier\":\"%s\"}}}",
                 i, 'a' + i % 3, i % 5 ? "web" : "db");
        r = req(u, "POST", path, "application/json", body, NULL, NULL);
        assert_int_equal(r.code, 201);
        rfree(&r);
    }
    /* move one object out of app=a and strip another's labels */
    r = req(u, "PATCH", CMS "/c00", "application/merge-patch+json",
            "{\"metadata\":{\"labels\":{\"app\":\"z\"}}}", NULL, NULL);
    rfree(&r);
    r = req(u, "PATCH", CMS "/c06", "application/merge-patch+json",
            "{\"metadata\":{\"labels\":null}}", NULL, NULL);
    rfree(&r);
    static const struct {
        const char *path;
        int want;
    } rows[] = {
        /* app=a: i%3==0 -> 0,3,...,27 (10); c00 moved, c06 stripped */
        {"/api/v1/configmaps?labelSelector=app%3Da", 8},
        {CMS "?labelSelector=app%3Da", 3},                         /* 12,18,24 in default */
        {"/api/v1/configmaps?labelSelector=app+in+(a,b)", 18},     /* 20 - 2 */
        {"/api/v1/configmaps?labelSelector=app%3Db,tier%3Ddb", 2}, /* 10, 25 */
        {"/api/v1/configmaps?labelSelector=app%3Dz", 1},
        {"/api/v1/configmaps?labelSelector=app%21%3Da", 22}, /* != also matches unlabelled */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        r = req(u, "GET", rows[i].path, NULL, NULL, NULL, NULL);
        assert_int_equal(r.code, 200);
        json_object *l = rjson(&r);
        int n = (int)json_object_array_length(jx_arr(l, "items"));
        if (n != rows[i].want) fail_msg("%s: %d items, want %d", rows[i].path, n, rows[i].want);
        json_object_put(l);
        rfree(&r);
    }
    sim_stop(s);
}

/* dryRun=All answers without storing; server-side apply creates a missing object. */
static void
test_dry_run_and_apply(void **state)
{
    (void)state;
    sim_config cfg;
    sim_config_defaults(&cfg);
    sim_server *s = start(&cfg);
    const char *u = sim_url(s);
    resp r = req(u, "POST", CMS "?dryRun=All", "application/json", CM_BODY("dry"), NULL, NULL);
    assert_int_equal(r.code, 201);
    rfree(&r);
    r = req(u, "GET", CMS "/dry", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 404);
    rfree(&r);
    r = req(u, "POST", CMS "?dryRun=Some", "application/json", CM_BODY("dry"), NULL, NULL);
    assert_int_equal(r.code, 400);
    rfree(&r);
    r = req(u, "PATCH", CMS "/ssa?fieldManager=me", "application/apply-patch+yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: v\n", NULL, NULL);
    assert_int_equal(r.code, 201);
    rfree(&r);
    r = req(u, "PATCH", CMS "/ssa?fieldManager=me&dryRun=All", "application/merge-patch+json",
            "{\"data\":{\"k\":\"changed\"}}", NULL, NULL);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body, "changed"));
    rfree(&r);
    r = req(u, "GET", CMS "/ssa", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body, "\"k\":\"v\""));
    rfree(&r);
    r = req(u, "DELETE", CMS "/ssa?dryRun=All", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    rfree(&r);
    r = req(u, "GET", CMS "/ssa", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    rfree(&r);
    sim_stop(s);
}

/* resourceVersion edge cases on LIST and WATCH. */
static void
test_resource_versions(void **state)
{
    (void)state;
    sim_config cfg;
    sim_config_defaults(&cfg);
    sim_server *s = start(&cfg);
    const char *u = sim_url(s);
    resp r = req(u, "GET", CMS "?resourceVersion=abc", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 500);
    rfree(&r);
    r = req(u, "GET", CMS "?resourceVersion=-1", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 500);
    rfree(&r);
    r = req(u, "GET", CMS "?resourceVersion=99999999999999999999999", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 500);
    rfree(&r);
    r = req(u, "GET", CMS "?resourceVersion=999999", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 504);
    assert_non_null(strcasestr(r.headers, "Retry-After: 1"));
    rfree(&r);
    /* a watch from the future answers 200 and waits */
    r = req(u, "GET", CMS "?watch=true&resourceVersion=999999&timeoutSeconds=1", NULL, NULL, NULL,
            NULL);
    assert_int_equal(r.code, 200);
    assert_int_equal(r.len, 0);
    rfree(&r);
    r = req(u, "GET", CMS "?limit=1&continue=%21%21", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 400);
    rfree(&r);
    sim_stop(s);
}

/* Raw bytes on a socket: returns the reply's first line ("" when closed silently). */
static void
raw_exchange(int port, const char *data, size_t len, int close_early, char *first, size_t flen)
{
    first[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, data + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    if (close_early) {
        close(fd);
        return;
    }
    shutdown(fd, SHUT_WR);
    char buf[4096];
    size_t got = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (got < sizeof buf - 1 && poll(&p, 1, 3000) > 0) {
        ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    char *nl = strstr(buf, "\r\n");
    if (nl) *nl = '\0';
    snprintf(first, flen, "%.200s", buf);
    close(fd);
}

/* Malformed requests get an HTTP answer or a disconnect; the server survives. */
static void
test_malformed_input(void **state)
{
    (void)state;
    sim_config cfg;
    sim_config_defaults(&cfg);
    sim_server *s = start(&cfg);
    const char *u = sim_url(s);
    int port = sim_port(s);
    static const struct {
        const char *data, *want; /* want: prefix of the status line, "" = any */
    } rows[] = {
        {"GARBAGE\r\n\r\n", "HTTP/1.1 400"},
        {"GET / HTTP/9\r\n\r\n", "HTTP/1.1 400"},
        {"GET nopath HTTP/1.1\r\n\r\n", "HTTP/1.1 400"},
        {"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
         "HTTP/1.1 400"},
        {"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nContent-Length: "
         "99999999999999\r\n\r\n",
         "HTTP/1.1 413"},
        {"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
         "zz\r\n",
         "HTTP/1.1 400"},
        {"GET /version HTTP/1.0\r\n\r\n", "HTTP/1.1 200"},
        {"GET /version HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\n\r\n", "HTTP/1.1 200"},
        {"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nContent-Type: "
         "application/json\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n",
         "HTTP/1.1 400"},
        {"GET /api/v1/namespaces/default/configmaps?labelSelector=%ZZ(((&limit=-3 HTTP/1.1\r\n\r\n",
         "HTTP/1.1 400"},
        {"PATCH /api/v1/namespaces/default/configmaps/x HTTP/1.1\r\nContent-Type: "
         "application/json-patch+json\r\nContent-Length: 2\r\n\r\n{}",
         ""},
    };
    char first[512];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        raw_exchange(port, rows[i].data, strlen(rows[i].data), 0, first, sizeof first);
        if (strncmp(first, rows[i].want, strlen(rows[i].want)) != 0)
            fail_msg("row %zu: got \"%s\", want \"%s\"", i, first, rows[i].want);
    }
    /* an endless header and a client that vanishes mid-request */
    size_t big = 1100 * 1024;
    char *hdr = malloc(big);
    memcpy(hdr, "GET / HTTP/1.1\r\nX: ", 19);
    memset(hdr + 19, 'a', big - 19);
    raw_exchange(port, hdr, big, 0, first, sizeof first);
    assert_true(first[0] == '\0' || strncmp(first, "HTTP/1.1 431", 12) == 0);
    free(hdr);
    raw_exchange(port,
                 "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nContent-Length: 50\r\n"
                 "\r\n{\"a\":",
                 78, 1, first, sizeof first);
    /* random bytes, seeded */
    unsigned seed = 12345;
    char junk[512];
    for (int i = 0; i < 200; i++) {
        size_t n = (size_t)(rand_r(&seed) % (int)sizeof junk);
        for (size_t k = 0; k < n; k++)
            junk[k] = (char)rand_r(&seed);
        if (i % 2) memcpy(junk, "GET /api/v1/", n > 12 ? 12 : n);
        raw_exchange(port, junk, n, i % 3 == 0, first, sizeof first);
    }
    /* hostile JSON bodies through a normal client */
    static const struct {
        const char *method, *path, *ctype, *body;
        long want;
    } bodies[] = {
        {"POST", CMS, "application/json", "{", 400},
        {"POST", CMS, "application/json", "[1,2]", 400},
        {"POST", CMS, "application/json", "\"str\"", 400},
        {"POST", CMS, "application/json", "{\"metadata\":7}", 400},
        {"POST", CMS, "text/plain", "{}", 415},
        {"POST", CMS, "application/json", CM_BODY("ok"), 201},
        {"PATCH", CMS "/ok", "application/json-patch+json", "{\"op\":1}", 0},
        {"PATCH", CMS "/ok", "application/json-patch+json", "[{\"op\":\"move\",\"from\":\"/a\"}]",
         422},
        {"PATCH", CMS "/ok", "application/strategic-merge-patch+json",
         "{\"metadata\":{\"$patch\":\"explode\"}}", 0},
        {"PATCH", CMS "/ok", "application/merge-patch+json", "{\"metadata\":{\"name\":null}}", 0},
        {"PATCH", CMS "/ok", "application/merge-patch+json", "[]", 0},
        {"GET", "/api/v1/namespaces/default/nothings", NULL, NULL, 404},
        {"GET", "/apis/nope/v1/x", NULL, NULL, 404},
        {"GET", CMS "?fieldSelector=spec.x%3D1", NULL, NULL, 400},
        {"DELETE", CMS "/ok", "application/json", "{\"propagationPolicy\":\"Sideways\"}", 422},
        {"DELETE", CMS "/ok", "application/json", "{bad", 400},
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        resp r =
            req(u, bodies[i].method, bodies[i].path, bodies[i].ctype, bodies[i].body, NULL, NULL);
        if (bodies[i].want && r.code != bodies[i].want)
            fail_msg("%s %s %s: %ld, want %ld: %s", bodies[i].method, bodies[i].path,
                     bodies[i].body ? bodies[i].body : "", r.code, bodies[i].want, r.body);
        if (!bodies[i].want && (r.code < 200 || r.code >= 500))
            fail_msg("%s %s %s: %ld", bodies[i].method, bodies[i].path, bodies[i].body, r.code);
        rfree(&r);
    }
    /* nesting deeper than any parser should follow */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[depth * 2] = '\0';
    resp r = req(u, "POST", CMS, "application/json", deep, NULL, NULL);
    assert_int_equal(r.code, 400);
    rfree(&r);
    free(deep);
    r = req(u, "GET", "/version", NULL, NULL, NULL, NULL);
    assert_int_equal(r.code, 200);
    rfree(&r);
    sim_stop(s);
}

/* ---- paginated lists in the store: pages (any limit, namespace, an older
 * resourceVersion, writes between pages) concatenate to the snapshot ---- */

static int
odd_name(void *ud, sim_obj *o)
{
    (void)ud;
    size_t l = strlen(o->key);
    return l && (o->key[l - 1] - '0') % 2 == 1;
}

static sim_obj *
store_obj(const char *key, uint64_t rv)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, "kind", json_object_new_string("ConfigMap"));
    json_object_object_add(j, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(j, "rv", json_object_new_int64((int64_t)rv));
    return sim_obj_new(j, rv, key);
}

/* One random write at rv; live[k] tracks which of the keys exist. */
static void
store_write(sim_store *st, uint64_t rv, int *live, unsigned *seed)
{
    static const char *const nss[] = {"a", "b", "bb"};
    int k = (int)(rand_r(seed) % 60);
    char key[64];
    snprintf(key, sizeof key, "%s/n%02d", nss[k % 3], k);
    int type = !live[k] ? SIM_EV_ADDED : rand_r(seed) % 3 ? SIM_EV_MODIFIED : SIM_EV_DELETED;
    assert_non_null(sim_store_apply(st, type, store_obj(key, rv), 0));
    live[k] = type != SIM_EV_DELETED;
}

static void
test_store_pages(void **state)
{
    (void)state;
    unsigned seed = 7;
    sim_store *st = sim_store_new("/configmaps", 0);
    int live[60] = {0};
    uint64_t rv = 0;
    for (int round = 0; round < 300; round++) {
        for (int w = 0; w < 5; w++)
            store_write(st, ++rv, live, &seed);
        const char *ns = round % 4 == 0 ? NULL : round % 4 == 1 ? "a" : round % 4 == 2 ? "b" : "bb";
        uint64_t at = round % 2 ? rv - (uint64_t)(rand_r(&seed) % 40) : 0;
        int filt = round % 5 == 0;
        sim_obj **want = NULL;
        size_t nwant = 0;
        assert_int_equal(sim_store_snapshot(st, ns, at, &want, &nwant), 0);
        size_t k = 0;
        for (size_t i = 0; i < nwant; i++) {
            if (!filt || odd_name(NULL, want[i]))
                want[k++] = want[i];
            else
                sim_obj_unref(want[i]);
        }
        nwant = k;
        size_t limit = 1 + (size_t)(rand_r(&seed) % 7), got = 0;
        uint64_t page_rv = at ? at : rv; /* continue tokens keep the first page's version */
        char after[64] = "";
        for (;;) {
            sim_obj **v = NULL;
            size_t n = 0, more = 0;
            assert_int_equal(sim_store_page(st, ns, page_rv, after[0] ? after : NULL,
                                            filt ? odd_name : NULL, NULL, limit, &v, &n, &more),
                             0);
            assert_true(n <= limit);
            for (size_t i = 0; i < n; i++) {
                assert_true(got < nwant);
                assert_ptr_equal(v[i], want[got]);
                got++;
                sim_obj_unref(v[i]);
            }
            if (filt)
                assert_int_equal(more, got < nwant ? 1 : 0);
            else
                assert_int_equal(more, nwant - got);
            if (n) snprintf(after, sizeof after, "%s", v[n - 1]->key);
            free(v);
            if (!more) break;
            store_write(st, ++rv, live, &seed); /* writes between pages */
        }
        assert_int_equal(got, nwant);
        for (size_t i = 0; i < nwant; i++)
            sim_obj_unref(want[i]);
        free(want);
    }
    /* history compacted away: an older page is gone, a current one is not */
    sim_store_compact(st, rv);
    sim_obj **v = NULL;
    size_t n = 0, more = 0;
    assert_int_equal(sim_store_page(st, NULL, rv - 1, NULL, NULL, NULL, 1, &v, &n, &more),
                     ERR_GONE);
    assert_int_equal(sim_store_page(st, NULL, 0, NULL, NULL, NULL, 1, &v, &n, &more), 0);
    assert_int_equal(n, 1);
    sim_obj_unref(v[0]);
    free(v);
    sim_store_free(st);
}

/* A stored version whose tree was dropped (sim_tree_cache) parses again from
 * its text, however deep the object (a body may nest 128 levels and
 * managedFields mirror it deeper), and a bound cache drops trees on trim. */
static void
test_store_tree_reparse(void **state)
{
    (void)state;
    json_object *root = json_object_new_object(), *cur = root;
    json_object_object_add(root, "kind", json_object_new_string("ConfigMap"));
    json_object_object_add(root, "apiVersion", json_object_new_string("v1"));
    for (int i = 0; i < 200; i++) {
        json_object *n = json_object_new_object();
        json_object_object_add(cur, "d", n);
        cur = n;
    }
    json_object_object_add(cur, "leaf", json_object_new_int(7));
    sim_tree_cache cache = {0};
    sim_tree_cache_bind(&cache);
    sim_obj *o = sim_obj_new(root, 5, "ns/deep");
    assert_non_null(o);
    assert_int_equal(cache.n, 1);
    sim_tree_cache_trim(&cache, 0); /* the tree goes, the text stays */
    assert_null(o->tree_);
    json_object *t = sim_obj_tree(o);
    assert_non_null(t);
    assert_int_equal(cache.n, 1); /* parsed again: noted again */
    const char *txt =
        json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    assert_string_equal(txt, o->json);
    sim_tree_cache_bind(NULL);
    sim_tree_cache_free(&cache);
    assert_null(o->tree_);
    assert_non_null(sim_obj_tree(o)); /* unbound: parsed, kept, not noted */
    assert_int_equal(cache.n, 0);
    sim_obj_unref(o);
    sim_obj_parser_release();
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_kubeconfig),
        cmocka_unit_test(test_tls_given_cert),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_faults_part2),
        cmocka_unit_test(test_request_log_and_metrics),
        cmocka_unit_test(test_runtime_crd),
        cmocka_unit_test(test_label_index_lists),
        cmocka_unit_test(test_dry_run_and_apply),
        cmocka_unit_test(test_resource_versions),
        cmocka_unit_test(test_malformed_input),
        cmocka_unit_test(test_store_pages),
        cmocka_unit_test(test_store_tree_reparse),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
