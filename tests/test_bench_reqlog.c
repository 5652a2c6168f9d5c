/* test_bench_reqlog.c - what the benchmarks read from kubesim: the request
 * log (parsing, incremental feeding, losses, attribution of writes to a
 * claim's critical path) and the Prometheus counters. Canned inputs in
 * kubesim's exact formats (bench/kubesim/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benchlib/promtext.h"
#include "bench/benchlib/reqlog.h"
#include "bench/benchlib/simapi.h"
#include "core/err.h"
#include "core/jx.h"

#define CTL "agent-sandbox-controller"
#define BEN "claimbench"

/* One log line; t is the millisecond within 2026-11-23T19:00:01. */
static int
line(char *buf, size_t cap, unsigned seq, int t, const char *client, const char *verb,
     const char *res, const char *sub, const char *name, int code)
{
    return snprintf(buf, cap,
                    "{\"seq\":%u,\"time\":\"2026-11-23T19:00:01.%03dZ\",\"client\":\"%s\","
                    "\"verb\":\"%s\",\"resource\":\"%s\",\"subresource\":\"%s\","
                    "\"namespace\":\"ns\",\"name\":\"%s\",\"code\":%d}\n",
                    seq, t, client, verb, res, sub, name, code);
}

typedef struct {
    int t;
    const char *client, *verb, *res, *sub, *name;
    int code;
} canned;

/* seq = index + 1. Times are milliseconds. */
static const canned LOG[] = {
    /* before the claims: the pool fills (never counted) */
    {100, CTL, "POST", "sandboxes", "", "bench-pool-abcde", 201},
    {101, CTL, "PATCH", "sandboxes", "status", "bench-pool-abcde", 200},
    /* warm claim 0 -> bench-pool-abcde, Ready seen at 205 */
    {200, BEN, "POST", "sandboxclaims", "", "claim-0000000", 201},
    {201, CTL, "GET", "sandboxes", "", "bench-pool-abcde", 200},          /* a read: not a write */
    {202, CTL, "PATCH", "sandboxes", "", "bench-pool-abcde", 200},        /* write 1 */
    {203, "kubectl", "PATCH", "sandboxclaims", "", "claim-0000000", 200}, /* not the controller */
    {204, CTL, "PATCH", "sandboxclaims", "status", "claim-0000000", 200}, /* write 2: Ready */
    {205, CTL, "PATCH", "sandboxclaims", "", "claim-0000000", 200},       /* stamp: after */
    {205, CTL, "POST", "sandboxes", "", "bench-pool-fghij", 201},         /* refill */
    {207, CTL, "PATCH", "sandboxes", "", "bench-pool-abcde", 200},        /* pod labels: after */
    /* cold claim 1: Ready False first, then the Sandbox, then Ready at 215 */
    {210, BEN, "POST", "sandboxclaims", "", "claim-0000001", 201},
    {211, CTL, "PATCH", "sandboxclaims", "status", "claim-0000001", 200},
    {211, CTL, "POST", "sandboxes", "", "claim-0000001", 201},
    {212, CTL, "PATCH", "sandboxes", "status", "claim-0000001", 200},
    {215, CTL, "PATCH", "sandboxclaims", "status", "claim-0000001", 200},
    {215, CTL, "PATCH", "sandboxclaims", "", "claim-0000001", 200},
    /* claim 2: Ready without any status write by the controller (a controller
     * that writes status some other way): everything up to Ready counts */
    {220, BEN, "POST", "sandboxclaims", "", "claim-0000002", 201},
    {221, CTL, "PATCH", "sandboxes", "", "bench-pool-fghij", 200},
    {222, CTL, "PUT", "sandboxclaims", "", "claim-0000002", 200},
    {240, CTL, "PATCH", "sandboxes", "", "bench-pool-fghij", 200},
    /* claim 3: created, never Ready */
    {230, BEN, "POST", "sandboxclaims", "", "claim-0000003", 201},
    {231, CTL, "PATCH", "sandboxclaims", "status", "claim-0000003", 200},
    /* claim 4: the bench's POST failed (409): no create in the log */
    {232, BEN, "POST", "sandboxclaims", "", "claim-0000004", 409},
    /* the pool replaces a stuck member */
    {250, CTL, "DELETE", "sandboxes", "", "bench-pool-zzzzz", 200},
};

static char *
canned_text(size_t from, size_t to, size_t *len)
{
    size_t cap = 512 * (to - from) + 1, off = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[0] = '\0';
    for (size_t i = from; i < to; i++) {
        const canned *c = &LOG[i];
        off += (size_t)line(buf + off, cap - off, (unsigned)(i + 1), c->t, c->client, c->verb,
                            c->res, c->sub, c->name, c->code);
    }
    *len = off;
    return buf;
}

#define NLOG (sizeof LOG / sizeof LOG[0])

static void
feed_all(bench_reqlog *l)
{
    size_t len;
    /* in three polls, the second overlapping the first (kubesim answers
     * "since" inclusive of nothing old; a repeat must not double count) */
    char *a = canned_text(0, 9, &len);
    assert_int_equal(bench_reqlog_feed(l, a, len), 0);
    free(a);
    a = canned_text(5, 17, &len);
    assert_int_equal(bench_reqlog_feed(l, a, len), 0);
    free(a);
    a = canned_text(17, NLOG, &len);
    assert_int_equal(bench_reqlog_feed(l, a, len), 0);
    free(a);
}

static void
test_parse_line(void **state)
{
    (void)state;
    char buf[1024];
    int n = line(buf, sizeof buf, 42, 7, CTL, "PATCH", "sandboxclaims", "status", "c-1", 200);
    bench_logent e;
    assert_int_equal(bench_logent_parse(buf, (size_t)n - 1, &e), 0);
    assert_int_equal(e.seq, 42);
    assert_int_equal(e.code, 200);
    assert_int_equal(e.verb, BENCH_VERB_PATCH);
    assert_string_equal(e.client, CTL);
    assert_string_equal(e.resource, "sandboxclaims");
    assert_string_equal(e.subresource, "status");
    assert_string_equal(e.ns, "ns");
    assert_string_equal(e.name, "c-1");
    assert_int_equal(e.time_ms % 1000, 7);
    assert_true(bench_verb_is_write(e.verb));
    assert_false(bench_verb_is_write(bench_verb_parse("WATCH")));
    assert_string_equal(bench_verb_name(BENCH_VERB_DELETE), "DELETE");
    assert_int_equal(bench_verb_parse("BREW"), BENCH_VERB_OTHER);
    /* malformed: not JSON, no seq, seq 0, a string seq, a bad time, an array */
    static const char *const bad[] = {
        "nope",
        "{\"time\":\"2026-11-23T19:00:01Z\"}",
        "{\"seq\":0,\"time\":\"2026-11-23T19:00:01Z\"}",
        "{\"seq\":\"5\",\"time\":\"2026-11-23T19:00:01Z\"}",
        "{\"seq\":5,\"time\":\"yesterday\"}",
        "[1,2]",
        "{\"seq\":5,",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(bench_logent_parse(bad[i], strlen(bad[i]), &e), ERR_PARSE);
    /* overlong names are truncated, never overflow */
    char longname[400];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    n = line(buf, sizeof buf, 1, 0, CTL, "POST", "pods", "", longname, 201);
    assert_true(n < (int)sizeof buf);
    assert_int_equal(bench_logent_parse(buf, (size_t)n, &e), 0);
    assert_int_equal(strlen(e.name), sizeof e.name - 1);
}

static void
test_feed_dedup_loss_malformed(void **state)
{
    (void)state;
    bench_reqlog l;
    bench_reqlog_init(&l, NULL, NULL);
    feed_all(&l);
    assert_int_equal(l.n, NLOG); /* the overlap was skipped */
    assert_int_equal(l.last_seq, NLOG);
    assert_int_equal(l.lost, 0);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(l.e[i].seq, i + 1);
    /* a gap: the ring dropped seqs before we read them */
    char buf[1024];
    size_t off =
        (size_t)line(buf, sizeof buf, (unsigned)NLOG + 11, 0, CTL, "POST", "pods", "", "p", 201);
    off += (size_t)snprintf(buf + off, sizeof buf - off, "garbage line\n\n");
    off += (size_t)line(buf + off, sizeof buf - off, (unsigned)NLOG + 12, 0, CTL, "POST", "pods",
                        "", "q", 201);
    buf[off - 1] = '\0'; /* last line without its newline */
    assert_int_equal(bench_reqlog_feed(&l, buf, off - 1), 0);
    assert_int_equal(l.lost, 10);
    assert_int_equal(l.malformed, 1);
    assert_int_equal(l.n, NLOG + 2);
    assert_string_equal(l.e[l.n - 1].name, "q");
    bench_reqlog_fini(&l);
}

static int
keep_ctl_writes(const bench_logent *e, void *ud)
{
    (void)ud;
    return strcmp(e->client, CTL) == 0 && bench_verb_is_write(e->verb);
}

static void
test_keep_filter_and_count(void **state)
{
    (void)state;
    bench_reqlog l;
    bench_reqlog_init(&l, keep_ctl_writes, NULL);
    feed_all(&l);
    assert_int_equal(l.last_seq, NLOG); /* dropped entries still advance */
    size_t want = 0;
    for (size_t i = 0; i < NLOG; i++)
        want += strcmp(LOG[i].client, CTL) == 0 && strcmp(LOG[i].verb, "GET") != 0;
    assert_int_equal(l.n, want);
    /* pool creates: POST sandboxes named bench-pool-* with 201 */
    assert_int_equal(
        bench_reqlog_count(&l, CTL, BENCH_VERB_POST, "sandboxes", "", "bench-pool-", 201), 2);
    assert_int_equal(
        bench_reqlog_count(&l, CTL, BENCH_VERB_DELETE, "sandboxes", "", "bench-pool-", 200), 1);
    assert_int_equal(bench_reqlog_count(&l, CTL, 0, "sandboxclaims", "status", NULL, 0), 4);
    assert_int_equal(bench_reqlog_count(&l, NULL, 0, NULL, NULL, NULL, 0), l.n);
    assert_int_equal(bench_reqlog_count(&l, BEN, 0, NULL, NULL, NULL, 0), 0);
    bench_reqlog_fini(&l);
}

typedef struct {
    const char *name;
    const char *claim, *sandbox;
    int ready_ms; /* ms within the canned second; -1: never Ready */
    unsigned want_create_seq;
    int want_critical, want_after;
} attr_row;

static const attr_row attr_rows[] = {
    {"warm: Sandbox patch + status patch, stamp and follow-up after", "claim-0000000",
     "bench-pool-abcde", 205, 3, 2, 2},
    {"cold: status False, create, Sandbox status, status True", "claim-0000001", "claim-0000001",
     215, 11, 4, 1},
    {"no status write: every write up to Ready", "claim-0000002", "bench-pool-fghij", 222, 17, 2,
     1},
    {"Ready seen before the status write landed in the log clock: fallback", "claim-0000000",
     "bench-pool-abcde", 203, 3, 1, 3},
    {"never Ready: unknown", "claim-0000003", NULL, -1, 21, -1, 0},
    {"failed create: not in the log", "claim-0000004", NULL, -1, 0, -1, 0},
    {"unknown claim", "claim-0000099", "bench-pool-abcde", 205, 0, -1, 0},
};

static void
count_crit(size_t k, const bench_logent *e, void *ud)
{
    int *heard = ud;
    assert_true(k < 2);
    assert_string_equal(e->client, CTL);
    assert_true(bench_verb_is_write(e->verb));
    heard[k]++;
}

static void
test_attr_row(void **state)
{
    const attr_row *r = *state;
    bench_reqlog l;
    bench_reqlog_init(&l, NULL, NULL);
    feed_all(&l);
    /* the wall ms of the canned second */
    int64_t base = l.e[0].time_ms - LOG[0].t;
    bench_claim_attr a = {.claim = r->claim,
                          .sandbox = r->sandbox,
                          .ready_wall_ms = r->ready_ms < 0 ? 0 : base + r->ready_ms};
    /* attribute among other claims: the index must separate them */
    bench_claim_attr other = {
        .claim = "claim-0000001", .sandbox = "claim-0000001", .ready_wall_ms = base + 215};
    bench_claim_attr both[2] = {other, a};
    int heard[2] = {0, 0};
    assert_int_equal(bench_reqlog_attribute_ex(&l, CTL, BEN, both, 2, count_crit, heard), 0);
    /* the callback hears exactly the critical-path writes, of the right claim */
    assert_int_equal(heard[0], 4);
    assert_int_equal(heard[1], r->want_critical < 0 ? 0 : r->want_critical);
    assert_int_equal(both[1].create_seq, r->want_create_seq);
    assert_int_equal(both[1].critical, r->want_critical);
    assert_int_equal(both[1].after, r->want_after);
    assert_int_equal(both[0].critical, 4);
    bench_reqlog_fini(&l);
}

static void
test_attr_empty_log(void **state)
{
    (void)state;
    bench_reqlog l;
    bench_reqlog_init(&l, NULL, NULL);
    bench_claim_attr a = {.claim = "c", .sandbox = "s", .ready_wall_ms = 5};
    assert_int_equal(bench_reqlog_attribute(&l, CTL, BEN, &a, 1), 0);
    assert_int_equal(a.critical, -1);
    assert_int_equal(bench_reqlog_attribute(&l, CTL, BEN, NULL, 0), 0);
    bench_reqlog_fini(&l);
}

/* ---- Prometheus text ------------------------------------------------------------ */

static const char METRICS[] =
    "# HELP kubesim_requests_total Requests by client.\n"
    "# TYPE kubesim_requests_total counter\n"
    "kubesim_requests_total{client=\"agent-sandbox-controller\",verb=\"POST\",resource=\"pods\","
    "subresource=\"\",code=\"201\"} 500\n"
    "kubesim_requests_total{client=\"agent-sandbox-controller\",verb=\"PATCH\",resource="
    "\"sandboxes\",subresource=\"status\",code=\"200\"} 498\n"
    "kubesim_requests_total{client=\"agent-sandbox-controller\",verb=\"WATCH\",resource=\"pods\","
    "subresource=\"\",code=\"200\"} 4\n"
    "kubesim_requests_total{client=\"agent-sandbox-controller\",verb=\"POST\",resource=\"pods\","
    "subresource=\"\",code=\"409\"} 2\r\n"
    "kubesim_requests_total{client=\"sandboxbench\",verb=\"POST\",resource=\"sandboxes\","
    "subresource=\"\",code=\"201\"} 500\n"
    "kubesim_requests_total_other{client=\"agent-sandbox-controller\",verb=\"POST\"} 1e6\n"
    "kubesim_requests_total{client=\"we\\\"ird\\\\\",verb=\"DELETE\",resource=\"x\\ny\"} 3 "
    "1700000000000\n"
    "kubesim_requests_total{client=\"broken\",verb=\"POST\" 7\n"
    "kubesim_requests_total{client=\"novalue\"}\n"
    "kubesim_watches 12\n"
    "apiserver_request_total{verb=\"POST\"} 9.5e2\n";

static void
prom_count(const bench_prom_sample *s, void *ud)
{
    (void)s;
    (*(int *)ud)++;
}

static void
find_weird(const bench_prom_sample *s, void *ud)
{
    const char *c = bench_prom_label(s, "client");
    if (c && strcmp(c, "we\"ird\\") == 0) {
        assert_string_equal(bench_prom_label(s, "resource"), "x\ny");
        assert_true(s->value == 3);
        (*(int *)ud)++;
    }
}

static void
test_promtext(void **state)
{
    (void)state;
    size_t len = strlen(METRICS);
    const char *ctl[] = {"client=" CTL, NULL};
    const char *ctl_w[] = {"client=" CTL, "verb=POST|PUT|PATCH|DELETE", NULL};
    const char *post201[] = {"client=" CTL, "verb=POST", "code=201", NULL};
    const char *nobody[] = {"client=nobody", NULL};
    const char *partial[] = {"verb=POS", NULL}; /* alternatives match whole values only */
    assert_true(bench_prom_sum(METRICS, len, "kubesim_requests_total", ctl) == 1004);
    assert_true(bench_prom_sum(METRICS, len, "kubesim_requests_total", ctl_w) == 1000);
    assert_true(bench_prom_sum(METRICS, len, "kubesim_requests_total", post201) == 500);
    assert_true(bench_prom_sum(METRICS, len, "kubesim_requests_total", nobody) == 0);
    assert_true(bench_prom_sum(METRICS, len, "kubesim_requests_total", partial) == 0);
    assert_true(bench_prom_sum(METRICS, len, "kubesim_watches", NULL) == 12);
    assert_true(bench_prom_sum(METRICS, len, "apiserver_request_total", NULL) == 950);
    int count = 0;
    /* 6 good samples of the name; the broken and value-less lines are skipped */
    assert_int_equal(bench_prom_each(METRICS, len, "kubesim_requests_total", prom_count, &count),
                     6);
    assert_int_equal(count, 6);
    count = 0;
    bench_prom_each(METRICS, len, NULL, find_weird, &count);
    assert_int_equal(count, 1);
    /* empty and garbage input */
    assert_true(bench_prom_sum("", 0, "x", NULL) == 0);
    assert_int_equal(bench_prom_each("{{{\n}}}", 7, NULL, prom_count, &count), 0);
}

static void
test_series_delta(void **state)
{
    (void)state;
    bench_series before, after;
    const char *b = "kubesim_requests_total{client=\"c\",verb=\"POST\",resource=\"pods\","
                    "subresource=\"\",code=\"201\"} 10\n"
                    "kubesim_requests_total{client=\"c\",verb=\"GET\",resource=\"pods\","
                    "subresource=\"\",code=\"200\"} 5\n";
    const char *a = "kubesim_requests_total{client=\"c\",verb=\"POST\",resource=\"pods\","
                    "subresource=\"\",code=\"201\"} 25\n"
                    "kubesim_requests_total{client=\"c\",verb=\"GET\",resource=\"pods\","
                    "subresource=\"\",code=\"200\"} 5\n"
                    "kubesim_requests_total{client=\"c\",verb=\"PATCH\",resource=\"sandboxes\","
                    "subresource=\"status\",code=\"200\"} 7\n"
                    "kubesim_requests_total{client=\"d\",verb=\"PATCH\",resource=\"sandboxes\","
                    "subresource=\"status\",code=\"200\"} 70\n";
    assert_int_equal(bench_series_from_text(b, strlen(b), "c", &before), 0);
    assert_int_equal(bench_series_from_text(a, strlen(a), "c", &after), 0);
    assert_int_equal(after.n, 3);
    json_object *d = bench_series_delta(&before, &after, 1);
    assert_int_equal(json_object_object_length(d), 2);
    assert_int_equal(json_object_get_int64(jx_child(d, "POST pods 201")), 15);
    assert_int_equal(json_object_get_int64(jx_child(d, "PATCH sandboxes/status 200")), 7);
    json_object_put(d);
    d = bench_series_delta(&before, &after, 0); /* GET unchanged: absent */
    assert_int_equal(json_object_object_length(d), 2);
    json_object_put(d);
    bench_series_fini(&before);
    bench_series_fini(&after);
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
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_parse_line);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_feed_dedup_loss_malformed);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_keep_filter_and_count);
    ROWS(attr_rows, test_attr_row);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_attr_empty_log);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_promtext);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_series_delta);
    return _cmocka_run_group_tests("bench_reqlog", t, n, NULL, NULL);
}
