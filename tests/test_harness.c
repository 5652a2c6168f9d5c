/* test_harness.c - the integration harness itself.
 *
 * - kubeconfig: TEST_KUBECONFIG files are read (server, token, CA data), bad ones refused;
 * - fake_server: requests and a streaming watch against a small in-test HTTP server (a
 *   thread per connection), so the harness's HTTP and line splitting are checked without
 *   kubesim: a watch keeps receiving while other requests run;
 * - kubesim_smoke: start $ASC_BIN_DIR/kubesim, list namespaces, stop it cleanly (skipped
 *   visibly while the binary does not exist). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jx.h"
#include "tests/harness/harness.h"
#include "tests/harness/jmatch.h"

static char *
write_tmp(const char *text)
{
    char *path = strdup("/tmp/asc-test-harness-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* A harness on the kubeconfig at path; the caller's TEST_KUBECONFIG is restored after. */
static harness *
harness_on(const char *path)
{
    const char *old = getenv("TEST_KUBECONFIG");
    char *saved = old ? strdup(old) : NULL;
    setenv("TEST_KUBECONFIG", path, 1);
    harness *h = harness_new();
    if (saved) {
        setenv("TEST_KUBECONFIG", saved, 1);
        free(saved);
    } else {
        unsetenv("TEST_KUBECONFIG");
    }
    return h;
}

/* ---- kubeconfig -------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *yaml;
    int want_rc;
    const char *want_url;
} kc_row;

static const kc_row kc_rows[] = {
    {"kubeconfig_token_ca",
     "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
     "clusters:\n- name: other\n  cluster: {server: 'https://wrong:1'}\n"
     "- name: c\n  cluster:\n    server: https://example.invalid:6443/\n"
     "    certificate-authority-data: UEVNREFUQQ==\n"
     "contexts:\n- name: a\n  context: {cluster: other, user: u}\n"
     "- name: b\n  context: {cluster: c, user: u}\n"
     "users:\n- name: u\n  user: {token: abc}\n",
     0, "https://example.invalid:6443"},
    {"kubeconfig_insecure_no_context",
     "clusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:1', "
     "insecure-skip-tls-verify: true}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
     "users:\n- name: u\n  user: {}\n",
     0, "http://127.0.0.1:1"},
    {"kubeconfig_no_server", "clusters: []\ncontexts: []\n", ERR_CONFIG, NULL},
    {"kubeconfig_bad_ca",
     "clusters:\n- name: c\n  cluster: {server: 'https://x', certificate-authority-data: '*!'}\n"
     "contexts:\n- name: x\n  context: {cluster: c, user: u}\nusers: []\n",
     ERR_CONFIG, NULL},
    {"kubeconfig_not_yaml", "{{{", ERR_CONFIG, NULL},
};

static void
test_kubeconfig(void **state)
{
    const kc_row *r = *state;
    char *path = write_tmp(r->yaml);
    harness *h = harness_on(path);
    assert_non_null(h);
    assert_int_equal(harness_is_kubesim(h), 0);
    assert_int_equal(harness_start_sim(h, NULL), r->want_rc);
    if (r->want_url) assert_string_equal(harness_url(h), r->want_url);
    assert_string_equal(harness_kubeconfig(h), path);
    harness_pass(h);
    harness_free(h);
    unlink(path);
    free(path);
}

/* ---- fake server ------------------------------------------------------------------- */

enum { FAKE_MAX_CONNS = 16 };

typedef struct {
    int lfd;
    int port;
    pthread_t accept_thread;
    pthread_t conns[FAKE_MAX_CONNS];
    int nconns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int released; /* /release was called: the watch sends its last event and ends */
    char last_ua[256];
    char last_auth[256];
} fake_server;

typedef struct {
    fake_server *s;
    int fd;
} fake_conn;

static void
send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void
send_chunk(int fd, const char *s)
{
    char head[32];
    snprintf(head, sizeof head, "%zx\r\n", strlen(s));
    send_all(fd, head, strlen(head));
    send_all(fd, s, strlen(s));
    send_all(fd, "\r\n", 2);
}

static void
header_value(const char *req, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    const char *p = strcasestr(req, name);
    if (p == NULL) return;
    p += strlen(name);
    size_t n = strcspn(p, "\r\n");
    if (n >= len) n = len - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static void *
fake_conn_main(void *arg)
{
    fake_conn *c = arg;
    fake_server *s = c->s;
    char req[8192];
    size_t n = 0;
    /* Requests here have no body: read up to the blank line. */
    while (n < sizeof req - 1) {
        ssize_t r = recv(c->fd, req + n, sizeof req - 1 - n, 0);
        if (r <= 0) break;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n")) break;
    }
    req[n] = '\0';
    pthread_mutex_lock(&s->mu);
    header_value(req, "\nUser-Agent: ", s->last_ua, sizeof s->last_ua);
    header_value(req, "\nAuthorization: ", s->last_auth, sizeof s->last_auth);
    pthread_mutex_unlock(&s->mu);
    if (strncmp(req, "GET /plain ", 11) == 0) {
        const char *body = "{\"kind\":\"Thing\",\"n\":1}";
        char head[256];
        snprintf(head, sizeof head,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "Warning: 299 - \"x\"\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                 strlen(body));
        send_all(c->fd, head, strlen(head));
        send_all(c->fd, body, strlen(body));
    } else if (strncmp(req, "GET /release ", 13) == 0) {
        pthread_mutex_lock(&s->mu);
        s->released = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        const char *r = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: 19\r\nConnection: close\r\n\r\n404 page not found\n";
        send_all(c->fd, r, strlen(r));
    } else if (strncmp(req, "GET /watch?", 11) == 0) {
        const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        send_all(c->fd, h, strlen(h));
        send_chunk(c->fd, "{\"type\":\"ADDED\",\"object\":{\"n\":1}}\n{\"type\":\"MOD");
        send_chunk(c->fd, "IFIED\",\"object\":{\"n\":2}}\n");
        pthread_mutex_lock(&s->mu);
        while (!s->released)
            pthread_cond_wait(&s->cv, &s->mu);
        pthread_mutex_unlock(&s->mu);
        send_chunk(c->fd, "{\"type\":\"DELETED\",\"object\":{\"n\":3}}\n");
        send_all(c->fd, "0\r\n\r\n", 5);
    } else {
        const char *r = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                        "Connection: close\r\n\r\n";
        send_all(c->fd, r, strlen(r));
    }
    close(c->fd);
    free(c);
    return NULL;
}

static void *
fake_accept_main(void *arg)
{
    fake_server *s = arg;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) return NULL; /* listener shut down */
        fake_conn *c = malloc(sizeof *c);
        pthread_mutex_lock(&s->mu);
        if (c == NULL || s->nconns == FAKE_MAX_CONNS) {
            pthread_mutex_unlock(&s->mu);
            free(c);
            close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
        pthread_create(&s->conns[s->nconns++], NULL, fake_conn_main, c);
        pthread_mutex_unlock(&s->mu);
    }
}

static void
fake_start(fake_server *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    socklen_t al = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->accept_thread, NULL, fake_accept_main, s);
}

static void
fake_stop(fake_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->released = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    shutdown(s->lfd, SHUT_RDWR);
    close(s->lfd);
    pthread_join(s->accept_thread, NULL);
    for (int i = 0; i < s->nconns; i++)
        pthread_join(s->conns[i], NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

static void
test_fake_server(void **state)
{
    (void)state;
    fake_server s;
    fake_start(&s);
    char kc[512];
    snprintf(kc, sizeof kc,
             "clusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:%d'}\n"
             "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
             "current-context: x\nusers:\n- name: u\n  user: {token: sekret}\n",
             s.port);
    char *path = write_tmp(kc);
    harness *h = harness_on(path);
    assert_non_null(h);
    assert_int_equal(harness_start_sim(h, NULL), 0);
    assert_int_equal(harness_set_user_agent(h, "kapi-conformance/1.0"), 0);

    harness_watch *w = harness_watch_open(h, "/watch?watch=true");
    assert_non_null(w);
    /* The first event is split across two chunks; both arrive before /release. */
    assert_int_equal(harness_watch_wait(w, 2, 5000), 2);
    assert_int_equal(harness_watch_status(w), 200);
    assert_int_equal(harness_watch_chunked(w), 1);
    assert_string_equal(harness_watch_content_type(w), "application/json");
    assert_int_equal(harness_watch_ended(w, NULL), 0);

    harness_resp r;
    assert_int_equal(harness_request(h, "GET", "/plain", NULL, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_int_equal(r.chunked, 0);
    assert_non_null(r.json);
    assert_int_equal(jx_int(r.json, "n", 0), 1);
    char buf[64];
    assert_string_equal(harness_resp_header(&r, "Warning", buf, sizeof buf), "299 - \"x\"");
    assert_null(harness_resp_header(&r, "Retry-After", buf, sizeof buf));
    harness_resp_fini(&r);
    pthread_mutex_lock(&s.mu);
    assert_string_equal(s.last_ua, "kapi-conformance/1.0");
    assert_string_equal(s.last_auth, "Bearer sekret");
    pthread_mutex_unlock(&s.mu);

    assert_int_equal(harness_request(h, "GET", "/release", NULL, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found\n");
    assert_null(r.json);
    harness_resp_fini(&r);

    assert_int_equal(harness_watch_wait_end(w, 5000), 0);
    int clean = 0;
    assert_int_equal(harness_watch_ended(w, &clean), 1);
    assert_int_equal(clean, 1);
    assert_int_equal(harness_watch_count(w), 3);
    assert_string_equal(jx_str(harness_watch_event(w, 1), "type"), "MODIFIED");
    assert_int_equal(jx_int(harness_watch_event(w, 2), "object.n", 0), 3);
    size_t rest;
    harness_watch_body(w, &rest);
    assert_int_equal(rest, 0);
    harness_watch_close(w);

    harness_pass(h);
    harness_free(h);
    fake_stop(&s);
    unlink(path);
    free(path);
}

/* ---- jmatch: placeholder-aware comparison -------------------------------------------- */

typedef struct {
    const char *want, *got; /* JSON texts */
    int match;
    const char *diff_has; /* a substring the diff must contain when it does not match */
} jm_step;

typedef struct {
    const char *name;
    jm_step steps[4]; /* run in order on one set of bindings */
} jm_row;

static const jm_row jm_rows[] = {
    {"jm_bind_consistent",
     {{"{\"a\":\"<rv:1>\",\"b\":\"<rv:1>\"}", "{\"a\":\"5\",\"b\":\"5\"}", 1, NULL}}},
    {"jm_bind_inconsistent",
     {{"{\"a\":\"<rv:1>\",\"b\":\"<rv:1>\"}", "{\"a\":\"5\",\"b\":\"6\"}", 0, "body.b: expected"}}},
    {"jm_value_binds_once",
     {{"{\"a\":\"<rv:1>\",\"b\":\"<rv:2>\"}", "{\"a\":\"5\",\"b\":\"5\"}", 0, "body.b"}}},
    {"jm_families_independent",
     {{"{\"a\":\"<rv:1>\",\"b\":\"<continue:1>\"}", "{\"a\":\"5\",\"b\":\"5\"}", 1, NULL}}},
    {"jm_inside_message",
     {{"\"Too large resource version: <rv:4>, current: <rv:3>\"",
       "\"Too large resource version: 100, current: 42\"", 1, NULL},
      {"\"too old resource version: <rv:3> (<rv:4>)\"", "\"too old resource version: 42 (100)\"", 1,
       NULL},
      {"\"<rv:3>\"", "\"43\"", 0, "expected \"<rv:3>\", got \"43\""}}},
    {"jm_time",
     {{"[\"<time>\",\"<time>\"]", "[\"2026-11-23T10:00:00Z\",\"2026-11-23T10:00:01.5Z\"]", 1, NULL},
      {"[\"<time>\"]", "[\"yesterday\"]", 0, "body[0]"}}},
    {"jm_generated",
     {{"{\"n\":\"<generated:gen-a->\"}", "{\"n\":\"gen-a-x7k2b\"}", 1, NULL},
      {"{\"n\":\"<generated:gen-a->\"}", "{\"n\":\"gen-a-x7k2c\"}", 0, "body.n"},
      {"[\"<generated:kube-api-access->\",\"<generated:kube-api-access->\"]",
       "[\"kube-api-access-bcdfg\",\"kube-api-access-hjklm\"]", 1, NULL},
      {"\"<generated:x->\"", "\"x-AAAAA\"", 0, "body"}}},
    {"jm_managed_fields",
     {{"{\"managedFields\":[{\"manager\":\"kapi-conformance\",\"time\":\"<time>\",\"fieldsV1\":{"
       "\"f:a\":{}}},"
       "{\"manager\":\"kapi-conformance\",\"subresource\":\"status\"}]}",
       "{\"managedFields\":[{\"manager\":\"kapi-conformance\"}]}", 1, NULL},
      {"{\"managedFields\":[{\"manager\":\"a\"}]}", "{}", 0, "body.managedFields: expected"},
      {"{\"managedFields\":[{\"manager\":\"a\"}]}", "{\"managedFields\":[{\"manager\":\"b\"}]}", 0,
       "managers: expected [a], got [b]"}}},
    {"jm_extra_key", {{"{\"a\":1}", "{\"a\":1,\"z\":{}}", 0, "body.z: unexpected key"}}},
    {"jm_array_length",
     {{"{\"items\":[1,2]}", "{\"items\":[1]}", 0, "body.items[1]: 2 items expected, 1 received"}}},
    {"jm_types",
     {{"[1,true,null,\"s\"]", "[1.0,true,null,\"s\"]", 1, NULL},
      {"[1]", "[\"1\"]", 0, "type differs"}}},
    {"jm_transactional",
     {{"{\"a\":\"<rv:1>\",\"b\":\"x\"}", "{\"a\":\"5\",\"b\":\"y\"}", 0, "body.b"},
      {"{\"a\":\"<rv:1>\"}", "{\"a\":\"6\"}", 1, NULL},
      {"{\"a\":\"<rv:1>\"}", "{\"a\":\"5\"}", 0, "body.a"}}},
};

static void
test_jmatch(void **state)
{
    const jm_row *r = *state;
    jm_binds *b = jm_binds_new();
    assert_non_null(b);
    for (size_t i = 0; i < 4 && r->steps[i].want; i++) {
        const jm_step *s = &r->steps[i];
        json_object *w = json_tokener_parse(s->want), *g = json_tokener_parse(s->got);
        assert_non_null(w);
        char diff[1024];
        int rc = jm_compare(b, w, g, "body", diff, sizeof diff);
        if (rc != !s->match) fail_msg("step %zu: want match=%d, diff: %s", i, s->match, diff);
        if (!s->match && strstr(diff, s->diff_has) == NULL)
            fail_msg("step %zu: diff \"%s\" lacks \"%s\"", i, diff, s->diff_has);
        json_object_put(w);
        json_object_put(g);
    }
    jm_binds_free(b);
}

static void
test_jmatch_subst(void **state)
{
    (void)state;
    jm_binds *b = jm_binds_new();
    char err[256];
    assert_int_equal(jm_bind(b, "<rv:2>", "77"), 0);
    assert_int_equal(jm_bind(b, "<rv:3>", "77"), ERR_CONFLICT);
    char *s = jm_subst(b, "/x?resourceVersion=<rv:2>&t=<time>", err, sizeof err);
    assert_string_equal(s, "/x?resourceVersion=77&t=2026-11-22T00:00:00Z");
    free(s);
    assert_null(jm_subst(b, "<continue:9>", err, sizeof err));
    assert_non_null(strstr(err, "<continue:9>"));
    /* A version nobody returned is a client's "future" one, beyond all bound so far. */
    char *fut = jm_subst(b, "<rv:9>", err, sizeof err);
    assert_string_equal(fut, "1000077");
    free(fut);
    /* A uid nobody returned yet is made up once and then stays bound. */
    char *u1 = jm_subst(b, "<uid:1>", err, sizeof err);
    char *u2 = jm_subst(b, "k:{\"uid\":\"<uid:1>\"}", err, sizeof err);
    assert_non_null(u1);
    assert_int_equal(strlen(u1), 36);
    assert_non_null(strstr(u2, u1));
    free(u1);
    free(u2);
    json_object *body = json_tokener_parse("{\"m\":{\"resourceVersion\":\"<rv:2>\",\"n\":1.5},"
                                           "\"l\":[\"<rv:2>\",null]}");
    json_object *out = jm_subst_json(b, body, err, sizeof err);
    assert_string_equal(jx_dump(out),
                        "{\"m\":{\"resourceVersion\":\"77\",\"n\":1.5},\"l\":[\"77\",null]}");
    json_object_put(out);
    json_object_put(body);
    jm_binds_free(b);
}

/* ---- kubesim ----------------------------------------------------------------------- */

/* kubesim over HTTP and over HTTPS (its CA comes through the kubeconfig it writes). */
static const char *const smoke_plain[] = {NULL};
static const char *const smoke_tls[] = {"--tls", NULL};

static void
test_kubesim_smoke(void **state)
{
    const char *const *args = *state;
    char bin[4096];
    if (getenv("TEST_KUBECONFIG") == NULL &&
        access(harness_bin_path("kubesim", bin, sizeof bin), X_OK) != 0) {
        fprintf(stderr, "SKIP kubesim_smoke: %s does not exist (yet)\n", bin);
        skip();
    }
    harness *h = harness_new();
    assert_non_null(h);
    if (args[0] != NULL) harness_require_kubesim(h); /* flags need our own kubesim */
    assert_int_equal(harness_start_sim(h, args), 0);
    if (args[0] != NULL) assert_non_null(strstr(harness_url(h), "https://"));
    long status = 0;
    json_object *list = harness_get_json(h, "/api/v1/namespaces", &status);
    assert_int_equal(status, 200);
    assert_non_null(list);
    assert_string_equal(jx_str_or(list, "kind", ""), "NamespaceList");
    const char *want[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
    json_object *items = jx_arr(list, "items");
    assert_non_null(items);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int found = 0;
        for (size_t j = 0; j < json_object_array_length(items); j++)
            found |= strcmp(jx_str_or(json_object_array_get_idx(items, j), "metadata.name", ""),
                            want[i]) == 0;
        if (!found) fail_msg("namespace %s missing from %s", want[i], jx_dump(list));
    }
    json_object_put(list);
    if (harness_is_kubesim(h)) {
        /* Request counters (kubesim's own metric; the real server has apiserver_* only). */
        double n = 0;
        const char *lbl[] = {"verb=\"LIST\"", "resource=\"namespaces\"", "code=\"200\"", NULL};
        assert_int_equal(harness_metric(h, "apiserver_request_total", lbl, &n), 0);
        assert_true(n >= 1);
        const char *none[] = {"verb=\"NOSUCHVERB\"", NULL};
        assert_int_equal(harness_metric(h, "apiserver_request_total", none, &n), 0);
        assert_true(n == 0);
        const char *ua[] = {"client=\"asc-harness\"", NULL};
        assert_int_equal(harness_metric(h, "kubesim_requests_total", ua, &n), 0);
        assert_true(n >= 1); /* the LIST above */
        int code = -1;
        assert_int_equal(harness_stop_sim(h, &code), 0);
        assert_int_equal(code, 0); /* SIGTERM stops it cleanly (and leak-free under ASan) */
    }
    harness_pass(h);
    harness_free(h);
}

/* The controller runs against kubesim, keeps running, and stops cleanly on SIGTERM. */
static void
test_controller_lifecycle(void **state)
{
    (void)state;
    char bin[4096];
    if (access(harness_bin_path("agent-sandbox-controller", bin, sizeof bin), X_OK) != 0) {
        fprintf(stderr, "SKIP controller_lifecycle: %s does not exist (yet)\n", bin);
        skip();
    }
    if (getenv("TEST_KUBECONFIG") == NULL &&
        access(harness_bin_path("kubesim", bin, sizeof bin), X_OK) != 0) {
        fprintf(stderr, "SKIP controller_lifecycle: %s does not exist (yet)\n", bin);
        skip();
    }
    harness *h = harness_new();
    assert_non_null(h);
    assert_int_equal(harness_start_sim(h, NULL), 0);
    assert_int_equal(harness_start_controller(h, 1, NULL), 0);
    assert_int_equal(harness_start_controller(h, 1, NULL), ERR_INVALID); /* one at a time */
    harness_sleep(h, 1000);
    assert_int_equal(harness_controller_running(h), 1);
    int code = -1;
    assert_int_equal(harness_stop_controller(h, &code), 0);
    assert_int_equal(code, 0);
    assert_int_equal(harness_controller_running(h), 0);
    harness_pass(h);
    harness_free(h);
}

int
main(void)
{
    enum { NKC = sizeof kc_rows / sizeof kc_rows[0], NJM = sizeof jm_rows / sizeof jm_rows[0] };
    struct CMUnitTest tests[NKC + NJM + 5];
    size_t n = 0;
    for (size_t i = 0; i < NKC; i++)
        tests[n++] = (struct CMUnitTest){.name = kc_rows[i].name,
                                         .test_func = test_kubeconfig,
                                         .initial_state = (void *)&kc_rows[i]};
    for (size_t i = 0; i < NJM; i++)
        tests[n++] = (struct CMUnitTest){.name = jm_rows[i].name,
                                         .test_func = test_jmatch,
                                         .initial_state = (void *)&jm_rows[i]};
    tests[n++] = (struct CMUnitTest){.name = "jmatch_subst", .test_func = test_jmatch_subst};
    tests[n++] = (struct CMUnitTest){.name = "fake_server", .test_func = test_fake_server};
    tests[n++] = (struct CMUnitTest){.name = "kubesim_smoke",
                                     .test_func = test_kubesim_smoke,
                                     .initial_state = (void *)smoke_plain};
    tests[n++] = (struct CMUnitTest){.name = "kubesim_smoke_tls",
                                     .test_func = test_kubesim_smoke,
                                     .initial_state = (void *)smoke_tls};
    tests[n++] =
        (struct CMUnitTest){.name = "controller_lifecycle", .test_func = test_controller_lifecycle};
    return _cmocka_run_group_tests("test_harness", tests, n, NULL, NULL);
}
