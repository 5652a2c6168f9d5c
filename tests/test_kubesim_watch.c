/* test_kubesim_watch.c - kubesim watch semantics against the real binary:
 * resume after a dropped connection (nothing lost, nothing twice), 410 as an
 * in-stream ERROR after /kubesim/compact and with --watch-window, selector
 * transitions, periodic bookmarks, synthetic ADDED, and a watcher that stops
 * reading being dropped while the server keeps serving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/test_kubesim_util.h"

#define CM "/api/v1/namespaces/w/configmaps"

/* Resume after the server drops every watch: the union of both streams is
 * exactly the writes, in order, each once. */
static void
test_resume_after_drop(void **state)
{
    (void)state;
    harness *h;
    KS_START(h, NULL);
    ks_ns(h, "w");
    unsigned long long rv0 = ks_list_rv(h, CM);
    char path[256];
    snprintf(path, sizeof path, CM "?watch=true&resourceVersion=%llu", rv0);
    harness_watch *w = harness_watch_open(h, path);
    assert_non_null(w);
    unsigned long long want[10];
    size_t nw = 0;
    for (int i = 0; i < 5; i++) {
        char n[32];
        snprintf(n, sizeof n, "a%d", i);
        want[nw++] = ks_cm(h, "w", n, NULL);
    }
    assert_int_equal(harness_watch_wait(w, 5, 5000), 5);
    unsigned long long last = ks_ev_rv(harness_watch_event(w, 4));
    assert_int_equal(last, want[4]);
    /* the server closes every watch: a clean end of stream */
    json_object_put(ks_send(h, "POST", "/kubesim/watches/close", "application/json", "{}", 200));
    assert_int_equal(harness_watch_wait_end(w, 5000), 0);
    int clean = 0;
    assert_true(harness_watch_ended(w, &clean));
    assert_true(clean);
    /* writes while nobody watches: modifications and creations */
    for (int i = 0; i < 2; i++) {
        char p[256];
        snprintf(p, sizeof p, CM "/a%d", i);
        json_object *o = ks_send(h, "PATCH", p, "application/merge-patch+json",
                                 "{\"data\":{\"k\":\"changed\"}}", 200);
        want[nw++] = strtoull(jx_str_or(o, "metadata.resourceVersion", "0"), NULL, 10);
        json_object_put(o);
    }
    for (int i = 5; i < 8; i++) {
        char n[32];
        snprintf(n, sizeof n, "a%d", i);
        want[nw++] = ks_cm(h, "w", n, NULL);
    }
    snprintf(path, sizeof path, CM "?watch=true&resourceVersion=%llu", last);
    harness_watch *w2 = harness_watch_open(h, path);
    assert_int_equal(harness_watch_wait(w2, 5, 5000), 5);
    harness_sleep(h, 200); /* nothing more may arrive */
    assert_int_equal(harness_watch_count(w2), 5);
    for (size_t i = 0; i < 5; i++) {
        json_object *ev = harness_watch_event(w2, i);
        assert_int_equal(ks_ev_rv(ev), want[5 + i]);
        assert_string_equal(jx_str_or(ev, "type", ""), i < 2 ? "MODIFIED" : "ADDED");
    }
    harness_watch_close(w);
    harness_watch_close(w2);
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

/* After /kubesim/compact an older resourceVersion is gone: 200 + one ERROR
 * event for a watch, a real 410 for an Exact list. */
static void
test_gone_after_compact(void **state)
{
    (void)state;
    harness *h;
    KS_START(h, NULL);
    ks_ns(h, "w");
    unsigned long long rv0 = ks_list_rv(h, CM);
    ks_cm(h, "w", "x", NULL);
    json_object_put(ks_send(h, "POST", "/kubesim/compact", "application/json", "{}", 200));
    char path[256];
    snprintf(path, sizeof path, CM "?watch=true&resourceVersion=%llu", rv0);
    harness_watch *w = harness_watch_open(h, path);
    assert_int_equal(harness_watch_wait_end(w, 5000), 0);
    assert_int_equal(harness_watch_status(w), 200);
    assert_true(harness_watch_chunked(w));
    assert_int_equal(harness_watch_count(w), 1);
    json_object *ev = harness_watch_event(w, 0);
    assert_string_equal(jx_str_or(ev, "type", ""), "ERROR");
    assert_int_equal(jx_int(ev, "object.code", 0), 410);
    assert_string_equal(jx_str_or(ev, "object.reason", ""), "Expired");
    harness_watch_close(w);
    snprintf(path, sizeof path, CM "?resourceVersion=%llu&resourceVersionMatch=Exact", rv0);
    long st = 0;
    json_object *o = harness_get_json(h, path, &st);
    assert_int_equal(st, 410);
    json_object_put(o);
    /* the current version still works */
    unsigned long long now = ks_list_rv(h, CM);
    snprintf(path, sizeof path, CM "?watch=true&resourceVersion=%llu&timeoutSeconds=1", now);
    w = harness_watch_open(h, path);
    assert_int_equal(harness_watch_wait_end(w, 5000), 0);
    assert_int_equal(harness_watch_count(w), 0);
    harness_watch_close(w);
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

/* --watch-window 3: exactly three events per resource are kept. */
static void
test_watch_window(void **state)
{
    (void)state;
    const char *args[] = {"--watch-window", "3", NULL};
    harness *h;
    KS_START(h, args);
    ks_ns(h, "w");
    unsigned long long rv[6];
    for (int i = 0; i < 6; i++) {
        char n[16];
        snprintf(n, sizeof n, "c%d", i);
        rv[i] = ks_cm(h, "w", n, NULL);
    }
    struct {
        unsigned long long from;
        int gone;
        size_t events;
    } rows[] = {{rv[2], 0, 3}, {rv[1], 1, 1}, {rv[5], 0, 0}};
    for (size_t i = 0; i < 3; i++) {
        char path[256];
        snprintf(path, sizeof path, CM "?watch=true&resourceVersion=%llu&timeoutSeconds=1",
                 rows[i].from);
        harness_watch *w = harness_watch_open(h, path);
        assert_int_equal(harness_watch_wait_end(w, 5000), 0);
        assert_int_equal(harness_watch_count(w), rows[i].events);
        if (rows[i].gone)
            assert_string_equal(jx_str_or(harness_watch_event(w, 0), "type", ""), "ERROR");
        harness_watch_close(w);
    }
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

/* A label-selected watch: leaving the selector is DELETED with the old
 * labels at the new resourceVersion, coming back is ADDED. A fresh watch
 * without resourceVersion starts with synthetic ADDED. */
static void
test_selector_transitions(void **state)
{
    (void)state;
    harness *h;
    KS_START(h, NULL);
    ks_ns(h, "w");
    ks_cm(h, "w", "pre", "{\"team\":\"a\"}");
    harness_watch *w = harness_watch_open(h, CM "?watch=true&labelSelector=team%3Da");
    assert_int_equal(harness_watch_wait(w, 1, 5000), 1);
    assert_string_equal(jx_str_or(harness_watch_event(w, 0), "type", ""), "ADDED");
    ks_cm(h, "w", "s", "{\"team\":\"a\"}");
    json_object *o = ks_send(h, "PATCH", CM "/s", "application/merge-patch+json",
                             "{\"metadata\":{\"labels\":{\"team\":\"b\"}}}", 200);
    unsigned long long moved = strtoull(jx_str_or(o, "metadata.resourceVersion", "0"), NULL, 10);
    json_object_put(o);
    json_object_put(ks_send(h, "PATCH", CM "/s", "application/merge-patch+json",
                            "{\"metadata\":{\"labels\":{\"team\":\"a\"}}}", 200));
    ks_cm(h, "w", "other", "{\"team\":\"c\"}"); /* never seen */
    assert_int_equal(harness_watch_wait(w, 4, 5000), 4);
    harness_sleep(h, 150);
    assert_int_equal(harness_watch_count(w), 4);
    const char *types[] = {"ADDED", "ADDED", "DELETED", "ADDED"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(jx_str_or(harness_watch_event(w, i), "type", ""), types[i]);
    json_object *del = harness_watch_event(w, 2);
    assert_string_equal(jx_str_or(del, "object.metadata.labels.team", ""), "a");
    assert_int_equal(ks_ev_rv(del), moved);
    harness_watch_close(w);
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

/* --bookmark-interval 1: BOOKMARKs with only a resourceVersion; without
 * allowWatchBookmarks none. sendInitialEvents ends its burst with the
 * initial-events-end bookmark. */
static void
test_bookmarks(void **state)
{
    (void)state;
    const char *args[] = {"--bookmark-interval", "1", NULL};
    harness *h;
    KS_START(h, args);
    ks_ns(h, "w");
    unsigned long long rv = ks_cm(h, "w", "b", NULL);
    char path[256];
    snprintf(path, sizeof path, CM "?watch=true&allowWatchBookmarks=true&resourceVersion=%llu", rv);
    harness_watch *w = harness_watch_open(h, path);
    harness_watch *plain = harness_watch_open(h, CM "?watch=true&resourceVersion=0");
    assert_true(harness_watch_wait(w, 1, 4000) >= 1);
    json_object *bm = harness_watch_event(w, 0);
    assert_string_equal(jx_str_or(bm, "type", ""), "BOOKMARK");
    assert_string_equal(jx_str_or(bm, "object.kind", ""), "ConfigMap");
    assert_null(jx_get(bm, "object.metadata.name"));
    assert_int_equal(ks_ev_rv(bm), rv);
    assert_int_equal(harness_watch_wait(plain, 1, 500), 1); /* the synthetic ADDED only */
    harness_sleep(h, 1200);
    assert_int_equal(harness_watch_count(plain), 1);
    harness_watch_close(w);
    harness_watch_close(plain);
    w = harness_watch_open(h, CM "?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
                                 "&resourceVersionMatch=NotOlderThan");
    assert_true(harness_watch_wait(w, 2, 4000) >= 2);
    assert_string_equal(jx_str_or(harness_watch_event(w, 0), "type", ""), "ADDED");
    json_object *end = harness_watch_event(w, 1);
    assert_string_equal(jx_str_or(end, "type", ""), "BOOKMARK");
    json_object *ann = jx_obj(end, "object.metadata.annotations");
    assert_non_null(ann);
    assert_string_equal(json_object_get_string(jx_child(ann, "k8s.io/initial-events-end")), "true");
    harness_watch_close(w);
    harness_resp r = {0};
    assert_int_equal(harness_request(h, "GET", "/metrics", NULL, NULL, 0, NULL, &r), 0);
    assert_non_null(strstr(r.body,
                           "apiserver_watch_list_duration_seconds_count{group=\"\","
                           "resource=\"configmaps\",scope=\"namespace\",version=\"v1\"} 1"));
    assert_non_null(strstr(r.body, "apiserver_watch_events_total{group=\"\",kind=\"ConfigMap\""));
    harness_resp_fini(&r);
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

/* A client that opens a watch and never reads: once its unsent output passes
 * the bound it is disconnected; the server keeps serving everyone else. */
static void
test_slow_reader_dropped(void **state)
{
    (void)state;
    harness *h;
    KS_START(h, NULL);
    ks_ns(h, "w");
    const char *url = harness_url(h);
    int port = atoi(strrchr(url, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *req = "GET " CM "?watch=true&resourceVersion=0 HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    harness_sleep(h, 200);
    /* ~48 MiB of events: more than the 32 MiB a watcher may fall behind */
    size_t big = 900 * 1024;
    char *body = malloc(big + 256);
    assert_non_null(body);
    int n = snprintf(body, 256,
                     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
                     "\"name\":\"big\"},\"data\":{\"k\":\"");
    memset(body + n, 'x', big);
    strcpy(body + n + big, "\"}}");
    json_object_put(ks_send(h, "POST", CM, "application/json", body, 201));
    for (int i = 0; i < 54; i++) {
        body[n] = (char)('a' + i % 26); /* every write a real change */
        harness_resp r = {0};
        assert_int_equal(
            harness_request(h, "PUT", CM "/big", "application/json", body, strlen(body), NULL, &r),
            0);
        assert_int_equal(r.status, 200);
        harness_resp_fini(&r);
    }
    free(body);
    harness_resp r = {0};
    assert_int_equal(harness_request(h, "GET", "/metrics", NULL, NULL, 0, NULL, &r), 0);
    assert_non_null(strstr(r.body, "kubesim_watches 0"));
    harness_resp_fini(&r);
    close(fd);
    json_object_put(ks_get(h, "/api/v1/namespaces/w", 200));
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_after_drop), cmocka_unit_test(test_gone_after_compact),
        cmocka_unit_test(test_watch_window),      cmocka_unit_test(test_selector_transitions),
        cmocka_unit_test(test_bookmarks),         cmocka_unit_test(test_slow_reader_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
