/* test_kube_decoder.c - the incremental watch-stream decoder.
 * A recorded stream (shapes from a real kube-apiserver watch, see
 * ../shared/golden/) is fed whole, then split at every byte boundary, then a
 * byte at a time: the events must be identical every time. The same again
 * with a raw-event hook (the informer's path: object text first, json-c only
 * for what the hook declines), against the plain decoder's results. */
#include "kube/internal.h" /* kube__watch_decoder_set_raw */
#include "kube/kube.h"

#include "core/err.h"
#include "core/jx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char STREAM[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Sandbox\",\"apiVersion\":\"agents.x-k8s.io/"
    "v1beta1\",\"metadata\":{\"name\":\"sb-1\",\"namespace\":\"conf-golden\",\"uid\":\"u-1\","
    "\"resourceVersion\":\"101\",\"labels\":{\"app\":\"x\",\"a.b/c\":\"d\"}},\"spec\":{"
    "\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Sandbox\",\"metadata\":{\"name\":\"sb-1\","
    "\"resourceVersion\":\"102\",\"annotations\":{\"note\":\"caf\\u00e9 \\\"quoted\\\" "
    "\\n{not a brace}\"}},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}}"
    "\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Sandbox\",\"apiVersion\":\"agents.x-k8s.io/"
    "v1beta1\",\"metadata\":{\"resourceVersion\":\"103\",\"annotations\":{\"k8s.io/"
    "initial-events-end\":\"true\"}}}}\r\n"
    "\n"
    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Sandbox\",\"metadata\":{\"name\":\"sb-1\","
    "\"resourceVersion\":\"104\",\"deletionTimestamp\":\"2026-11-22T10:00:00Z\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
    "\"status\":\"Failure\",\"message\":\"too old resource version: 1 (104)\",\"reason\":"
    "\"Expired\",\"code\":410}}\n";

#define MAXEV 16
typedef struct rec {
    int n;
    enum kube_event_type type[MAXEV];
    char *json[MAXEV];
} rec;

static void
on_event(enum kube_event_type type, json_object *obj, void *udata)
{
    rec *r = udata;
    assert_true(r->n < MAXEV);
    r->type[r->n] = type;
    r->json[r->n] = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
    r->n++;
}

static void
rec_free(rec *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->json[i]);
    memset(r, 0, sizeof(*r));
}

/* Feed STREAM in pieces of the given sizes (cycling). */
static void
feed_split(rec *r, const size_t *cuts, size_t ncuts)
{
    char err[256] = "";
    kube_watch_decoder *d = kube_watch_decoder_new(0);
    assert_non_null(d);
    size_t len = sizeof(STREAM) - 1, off = 0, ci = 0;
    size_t prev = 0;
    while (off < len) {
        size_t end = ci < ncuts ? cuts[ci++] : len;
        if (end > len) end = len;
        assert_true(end >= prev);
        int rc = kube_watch_decoder_feed(d, STREAM + off, end - off, on_event, r, err, sizeof(err));
        if (rc != 0) fail_msg("feed at %zu..%zu: %s", off, end, err);
        off = prev = end;
    }
    assert_int_equal(kube_watch_decoder_finish(d, err, sizeof(err)), 0);
    kube_watch_decoder_free(d);
}

static void
test_whole(void **state)
{
    (void)state;
    rec r = {0};
    feed_split(&r, NULL, 0);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.type[0], KUBE_ADDED);
    assert_int_equal(r.type[1], KUBE_MODIFIED);
    assert_int_equal(r.type[2], KUBE_BOOKMARK);
    assert_int_equal(r.type[3], KUBE_DELETED);
    assert_int_equal(r.type[4], KUBE_ERROR);
    json_object *o = json_tokener_parse(r.json[1]);
    assert_string_equal(jx_str(o, "metadata.annotations.note"),
                        "caf\xc3\xa9 \"quoted\" \n{not a brace}");
    json_object_put(o);
    o = json_tokener_parse(r.json[4]);
    assert_int_equal(jx_int(o, "code", 0), 410);
    json_object_put(o);
    rec_free(&r);
}

static void
test_every_boundary(void **state)
{
    (void)state;
    rec want = {0};
    feed_split(&want, NULL, 0);
    size_t len = sizeof(STREAM) - 1;
    /* two pieces, cut at every byte */
    for (size_t cut = 0; cut <= len; cut++) {
        rec got = {0};
        size_t cuts[1] = {cut};
        feed_split(&got, cuts, 1);
        assert_int_equal(got.n, want.n);
        for (int i = 0; i < want.n; i++) {
            assert_int_equal(got.type[i], want.type[i]);
            if (strcmp(got.json[i], want.json[i]) != 0)
                fail_msg("cut %zu event %d differs", cut, i);
        }
        rec_free(&got);
    }
    /* three pieces around every pair of cuts near event borders, and one byte at a time */
    size_t *ones = malloc(len * sizeof(size_t));
    for (size_t i = 0; i < len; i++)
        ones[i] = i + 1;
    rec got = {0};
    feed_split(&got, ones, len);
    free(ones);
    assert_int_equal(got.n, want.n);
    for (int i = 0; i < want.n; i++)
        assert_string_equal(got.json[i], want.json[i]);
    rec_free(&got);
    rec_free(&want);
}

static int g_events;
static size_t g_big_len;
static void
count_event(enum kube_event_type type, json_object *obj, void *udata)
{
    (void)udata;
    assert_int_equal(type, KUBE_ADDED);
    const char *s = jx_str(obj, "data.blob");
    assert_non_null(s);
    g_big_len = strlen(s);
    g_events++;
}

/* A 5 MB object split in 16 KiB pieces (curl's write size). */
static void
test_huge_object(void **state)
{
    (void)state;
    size_t blob = 5u << 20;
    const char *pre =
        "{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"data\":{\"blob\":\"";
    const char *post = "\"}}}\n";
    size_t len = strlen(pre) + blob + strlen(post);
    char *buf = malloc(len * 2);
    size_t o = 0;
    for (int k = 0; k < 2; k++) {
        memcpy(buf + o, pre, strlen(pre));
        o += strlen(pre);
        memset(buf + o, 'x', blob);
        o += blob;
        memcpy(buf + o, post, strlen(post));
        o += strlen(post);
    }
    char err[256];
    kube_watch_decoder *d = kube_watch_decoder_new(0);
    g_events = 0;
    for (size_t off = 0; off < o; off += 16384) {
        size_t n = o - off < 16384 ? o - off : 16384;
        assert_int_equal(
            kube_watch_decoder_feed(d, buf + off, n, count_event, NULL, err, sizeof(err)), 0);
    }
    assert_int_equal(kube_watch_decoder_finish(d, err, sizeof(err)), 0);
    assert_int_equal(g_events, 2);
    assert_int_equal(g_big_len, blob);
    kube_watch_decoder_free(d);

    /* the same with a 1 MiB bound: refused, naming the limit */
    d = kube_watch_decoder_new(1u << 20);
    int rc = 0;
    g_events = 0;
    for (size_t off = 0; off < o && rc == 0; off += 16384) {
        size_t n = o - off < 16384 ? o - off : 16384;
        rc = kube_watch_decoder_feed(d, buf + off, n, count_event, NULL, err, sizeof(err));
    }
    assert_int_equal(rc, ERR_TOOLARGE);
    assert_int_equal(g_events, 0);
    assert_non_null(strstr(err, "1048576"));
    /* unusable afterwards */
    assert_int_equal(kube_watch_decoder_feed(d, "\n", 1, count_event, NULL, err, sizeof(err)),
                     ERR_PARSE);
    kube_watch_decoder_free(d);
    free(buf);
}

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

typedef struct bad_row {
    const char *name;
    const char *input;
    int want_rc;      /* from feed+finish */
    int want_events;  /* delivered before the error */
    const char *want; /* phrase in the message */
} bad_row;

static const bad_row bad_rows[] = {
    {"garbage_line", "{\"type\":\"ADDED\",\"object\":{}}\nnot json\n", ERR_PARSE, 1,
     "event #2 at byte 29: expected a JSON object, found 'n'"},
    {"trailing_junk", "{\"type\":\"ADDED\",\"object\":{}} x\n", ERR_PARSE, 1, "found 'x'"},
    {"broken_json", "{\"type\":\"ADDED\",\"object\":{\"a\":tru}}\n", ERR_PARSE, 0,
     "malformed JSON"},
    {"unknown_type", "{\"type\":\"EXPLODED\",\"object\":{}}\n", ERR_PARSE, 0,
     "unknown event type \"EXPLODED\""},
    {"no_type", "{\"object\":{}}\n", ERR_PARSE, 0, "no \"type\""},
    {"object_not_object", "{\"type\":\"ADDED\",\"object\":[1]}\n", ERR_PARSE, 0,
     "no \"object\" object"},
    {"bare_number", "42\n", ERR_PARSE, 0, "found '4'"},
    {"array_event", "[{\"type\":\"ADDED\"}]\n", ERR_PARSE, 0, "found '['"},
    {"truncated", "{\"type\":\"ADDED\",\"object\":{}}\n{\"type\":\"MODIFIED\",\"obj", ERR_PARSE, 1,
     "truncated"},
    {"binary", "\x01\x02\x03", ERR_PARSE, 0, "found '?'"},
    {"blank_only", "\n\r\n  \n", 0, 0, NULL},
};

static int g_bad_events;
static void
bad_event(enum kube_event_type type, json_object *obj, void *udata)
{
    (void)type;
    (void)obj;
    (void)udata;
    g_bad_events++;
}

static void
test_bad(void **state)
{
    const bad_row *r = *state;
    char err[256] = "";
    kube_watch_decoder *d = kube_watch_decoder_new(0);
    g_bad_events = 0;
    int rc =
        kube_watch_decoder_feed(d, r->input, strlen(r->input), bad_event, NULL, err, sizeof(err));
    if (rc == 0) rc = kube_watch_decoder_finish(d, err, sizeof(err));
    kube_watch_decoder_free(d);
    assert_int_equal(rc, r->want_rc);
    assert_int_equal(g_bad_events, r->want_events);
    if (r->want && strstr(err, r->want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err, r->want);
}

/* Nesting well past json-c's default depth of 32 (CRD schemas do this). */
static void
test_deep_nesting(void **state)
{
    (void)state;
    char buf[4096];
    size_t o = 0;
    o += (size_t)sprintf(buf + o, "{\"type\":\"ADDED\",\"object\":");
    for (int i = 0; i < 100; i++)
        o += (size_t)sprintf(buf + o, "{\"p\":");
    o += (size_t)sprintf(buf + o, "1");
    for (int i = 0; i < 101; i++)
        buf[o++] = '}';
    buf[o++] = '\n';
    char err[256];
    kube_watch_decoder *d = kube_watch_decoder_new(0);
    g_bad_events = 0;
    assert_int_equal(kube_watch_decoder_feed(d, buf, o, bad_event, NULL, err, sizeof(err)), 0);
    assert_int_equal(g_bad_events, 1);
    kube_watch_decoder_free(d);
}

/* Mutated streams: splitting never changes the outcome. Feeding a mutated
 * stream whole and in random pieces gives the same code and the same events
 * (and, under ASan, no memory error). Fixed seed: reproducible. */
typedef struct outcome {
    int rc;
    int n;
    unsigned long hash; /* over the delivered events' JSON */
} outcome;

static void
hash_event(enum kube_event_type type, json_object *obj, void *udata)
{
    outcome *o = udata;
    const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
    o->hash = o->hash * 31 + (unsigned long)type;
    for (; *s; s++)
        o->hash = o->hash * 131 + (unsigned char)*s;
    o->n++;
}

static outcome
run_pieces(const char *buf, size_t len, unsigned *seed, int random_split)
{
    outcome o = {0};
    char err[256];
    kube_watch_decoder *d = kube_watch_decoder_new(4096);
    size_t off = 0;
    while (off < len && o.rc == 0) {
        size_t n = random_split ? 1 + (size_t)rand_r(seed) % 64 : len;
        if (n > len - off) n = len - off;
        o.rc = kube_watch_decoder_feed(d, buf + off, n, hash_event, &o, err, sizeof(err));
        off += n;
    }
    if (o.rc == 0) o.rc = kube_watch_decoder_finish(d, err, sizeof(err));
    if (o.rc != 0) assert_true(strlen(err) > 0);
    kube_watch_decoder_free(d);
    return o;
}

static void
test_mutations(void **state)
{
    (void)state;
    unsigned seed = 12345;
    size_t len = sizeof(STREAM) - 1;
    char *buf = malloc(len);
    int errors = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, STREAM, len);
        int flips = 1 + rand_r(&seed) % 4;
        for (int k = 0; k < flips; k++) {
            static const char pool[] = "{}[]\":,\\\n 0aZ\x01\xff";
            buf[(size_t)rand_r(&seed) % len] = pool[(size_t)rand_r(&seed) % (sizeof(pool) - 1)];
        }
        size_t cut = (size_t)rand_r(&seed) % (len + 1); /* also truncate sometimes */
        size_t n = iter % 3 == 0 ? cut : len;
        outcome whole = run_pieces(buf, n, &seed, 0);
        outcome split = run_pieces(buf, n, &seed, 1);
        if (whole.rc != split.rc || whole.n != split.n || whole.hash != split.hash)
            fail_msg("iteration %d: whole rc %d/%d events, split rc %d/%d events", iter, whole.rc,
                     whole.n, split.rc, split.n);
        errors += whole.rc != 0;
    }
    /* the mutations did exercise the error paths */
    assert_true(errors > 100);
    free(buf);
}

/* ---- raw hook ------------------------------------------------------------ */

/* A hook like the informer's: takes the object text when it is one JSON
 * object (json-c reads it here, so events compare with the plain path),
 * declines every decline_every-th offer and whatever does not parse. */
typedef struct rawctx {
    kube_event_cb cb; /* where taken events go, as if delivered */
    void *udata;
    int offers, taken, decline_every;
} rawctx;

static int
raw_hook(enum kube_event_type type, const char *text, size_t len, void *udata)
{
    rawctx *x = udata;
    x->offers++;
    if (x->decline_every && x->offers % x->decline_every == 0) return -1;
    json_tokener *tok = json_tokener_new_ex(512);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    int whole = o && (size_t)json_tokener_get_parse_end(tok) == len &&
                json_object_is_type(o, json_type_object);
    json_tokener_free(tok);
    if (!whole) {
        json_object_put(o);
        return -1;
    }
    x->taken++;
    x->cb(type, o, x->udata);
    json_object_put(o);
    return 0;
}

static void
feed_split_raw(rec *r, const size_t *cuts, size_t ncuts, rawctx *x)
{
    char err[256] = "";
    kube_watch_decoder *d = kube_watch_decoder_new(0);
    x->cb = on_event;
    x->udata = r;
    kube__watch_decoder_set_raw(d, raw_hook, x);
    size_t len = sizeof(STREAM) - 1, off = 0, ci = 0;
    while (off < len) {
        size_t end = ci < ncuts ? cuts[ci++] : len;
        if (end > len) end = len;
        int rc = kube_watch_decoder_feed(d, STREAM + off, end - off, on_event, r, err, sizeof(err));
        if (rc != 0) fail_msg("raw feed at %zu..%zu: %s", off, end, err);
        off = end;
    }
    assert_int_equal(kube_watch_decoder_finish(d, err, sizeof(err)), 0);
    kube_watch_decoder_free(d);
}

static void
rec_same(const rec *got, const rec *want, const char *what, size_t at)
{
    if (got->n != want->n) fail_msg("%s %zu: %d events, want %d", what, at, got->n, want->n);
    for (int i = 0; i < want->n; i++)
        if (got->type[i] != want->type[i] || strcmp(got->json[i], want->json[i]) != 0)
            fail_msg("%s %zu: event %d differs", what, at, i);
}

static void
test_raw_every_boundary(void **state)
{
    (void)state;
    rec want = {0};
    feed_split(&want, NULL, 0);
    size_t len = sizeof(STREAM) - 1;
    for (int decline = 0; decline <= 2; decline++) {
        for (size_t cut = 0; cut <= len; cut++) {
            rec got = {0};
            rawctx x = {.decline_every = decline};
            size_t cuts[1] = {cut};
            feed_split_raw(&got, cuts, 1, &x);
            rec_same(&got, &want, "raw cut", cut);
            /* ADDED, MODIFIED, DELETED are offered; BOOKMARK and ERROR are not */
            assert_int_equal(x.offers, 3);
            assert_int_equal(x.taken, decline == 0 ? 3 : decline == 1 ? 0 : 2);
            rec_free(&got);
        }
    }
    size_t *ones = malloc(len * sizeof(size_t));
    for (size_t i = 0; i < len; i++)
        ones[i] = i + 1;
    rec got = {0};
    rawctx x = {0};
    feed_split_raw(&got, ones, len, &x);
    free(ones);
    rec_same(&got, &want, "raw bytewise", 0);
    assert_int_equal(x.taken, 3);
    rec_free(&got);
    rec_free(&want);
}

/* Envelopes the hook is not offered (json-c's path decides), and events
 * after an ERROR (the stream is ending). */
static void
test_raw_envelopes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int offers;
    } rows[] = {
        {"{\"object\":{\"a\":1},\"type\":\"ADDED\"}\n", 1},
        {" {\"type\" : \"MODIFIED\" , \"object\" : {} } \n", 1},
        /* offered as `{},"extra":1`: the hook refuses what is not one object */
        {"{\"type\":\"ADDED\",\"object\":{},\"extra\":1}\n", 1},
        {"{\"object\":{},\"type\":\"ADDED\",\"extra\":1}\n", 0},
        {"{\"type\":\"ADDED\",\"object\":{\"a\":1},\"b\":{\"c\":2}}\n", 1},
        {"{\"type\":\"ADD\\u0045D\",\"object\":{}}\n", 0},
        {"{\"type\":\"ADDED\",\"type\":\"ADDED\",\"object\":{}}\n", 0},
        {"{\"type\":\"BOOKMARK\",\"object\":{}}\n", 0},
        {"{\"type\":\"ADDED\",\n\"object\":{}}\n", 0},
        /* two events on a line: the line is declined whole, then the second
         * is offered alone; without newlines the scanner finds both */
        {"{\"type\":\"ADDED\",\"object\":{\"a\":1}}{\"type\":\"DELETED\",\"object\":{}}\n", 2},
        {"{\"type\":\"ADDED\",\"object\":{\"a\":1}}{\"type\":\"DELETED\",\"object\":{}}", 2},
        {"{\"type\":\"ADDED\",\"object\":{\"a\":\"}\"}} \r\n{\"type\":\"BOOKMARK\",\"object\":{}}",
         1},
        {"{\"type\":\"ERROR\",\"object\":{\"code\":410}}\n{\"type\":\"ADDED\",\"object\":{}}\n", 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char err[256] = "";
        rec want = {0}, got = {0};
        kube_watch_decoder *d = kube_watch_decoder_new(0);
        assert_int_equal(kube_watch_decoder_feed(d, rows[i].in, strlen(rows[i].in), on_event, &want,
                                                 err, sizeof(err)),
                         0);
        kube_watch_decoder_free(d);
        rawctx x = {.cb = on_event, .udata = &got};
        d = kube_watch_decoder_new(0);
        kube__watch_decoder_set_raw(d, raw_hook, &x);
        assert_int_equal(kube_watch_decoder_feed(d, rows[i].in, strlen(rows[i].in), on_event, &got,
                                                 err, sizeof(err)),
                         0);
        assert_int_equal(kube_watch_decoder_finish(d, err, sizeof(err)), 0);
        kube_watch_decoder_free(d);
        if (x.offers != rows[i].offers)
            fail_msg("row %zu: %d offers, want %d", i, x.offers, rows[i].offers);
        rec_same(&got, &want, "envelope row", i);
        rec_free(&want);
        rec_free(&got);
    }
}

static void
test_raw_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
        const bad_row *r = &bad_rows[i];
        char err[256] = "";
        rawctx x = {.cb = bad_event};
        kube_watch_decoder *d = kube_watch_decoder_new(0);
        kube__watch_decoder_set_raw(d, raw_hook, &x);
        g_bad_events = 0;
        int rc = kube_watch_decoder_feed(d, r->input, strlen(r->input), bad_event, NULL, err,
                                         sizeof(err));
        if (rc == 0) rc = kube_watch_decoder_finish(d, err, sizeof(err));
        kube_watch_decoder_free(d);
        if (rc != r->want_rc || g_bad_events != r->want_events)
            fail_msg("%s: rc %d, %d events", r->name, rc, g_bad_events);
        if (r->want && strstr(err, r->want) == NULL)
            fail_msg("%s: message \"%s\" lacks \"%s\"", r->name, err, r->want);
    }
}

static outcome
run_pieces_raw(const char *buf, size_t len, unsigned *seed, int random_split, int decline)
{
    outcome o = {0};
    char err[256];
    rawctx x = {.cb = hash_event, .udata = &o, .decline_every = decline};
    kube_watch_decoder *d = kube_watch_decoder_new(4096);
    kube__watch_decoder_set_raw(d, raw_hook, &x);
    size_t off = 0;
    while (off < len && o.rc == 0) {
        size_t n = random_split ? 1 + (size_t)rand_r(seed) % 64 : len;
        if (n > len - off) n = len - off;
        o.rc = kube_watch_decoder_feed(d, buf + off, n, hash_event, &o, err, sizeof(err));
        off += n;
    }
    if (o.rc == 0) o.rc = kube_watch_decoder_finish(d, err, sizeof(err));
    if (o.rc != 0) assert_true(strlen(err) > 0);
    kube_watch_decoder_free(d);
    return o;
}

/* Mutated streams: with the hook, whole or split, the same code and events
 * as the plain decoder. */
static void
test_raw_mutations(void **state)
{
    (void)state;
    unsigned seed = 54321;
    size_t len = sizeof(STREAM) - 1;
    char *buf = malloc(len);
    int errors = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, STREAM, len);
        int flips = 1 + rand_r(&seed) % 4;
        for (int k = 0; k < flips; k++) {
            static const char pool[] = "{}[]\":,\\\n 0aZ\x01\xff";
            buf[(size_t)rand_r(&seed) % len] = pool[(size_t)rand_r(&seed) % (sizeof(pool) - 1)];
        }
        size_t cut = (size_t)rand_r(&seed) % (len + 1);
        size_t n = iter % 3 == 0 ? cut : len;
        outcome plain = run_pieces(buf, n, &seed, 0);
        outcome whole = run_pieces_raw(buf, n, &seed, 0, iter % 4);
        outcome split = run_pieces_raw(buf, n, &seed, 1, iter % 4);
        if (whole.rc != plain.rc || whole.n != plain.n || whole.hash != plain.hash ||
            split.rc != plain.rc || split.n != plain.n || split.hash != plain.hash)
            fail_msg("iteration %d: plain rc %d/%d events, raw whole %d/%d, raw split %d/%d", iter,
                     plain.rc, plain.n, whole.rc, whole.n, split.rc, split.n);
        errors += plain.rc != 0;
    }
    assert_true(errors > 100);
    free(buf);
}

int
main(void)
{
    enum { NBAD = sizeof(bad_rows) / sizeof(bad_rows[0]) };
    struct CMUnitTest tests[NBAD + 9];
    tests[0] = (struct CMUnitTest)cmocka_unit_test(test_whole);
    tests[1] = (struct CMUnitTest)cmocka_unit_test(test_every_boundary);
    tests[2] = (struct CMUnitTest)cmocka_unit_test(test_huge_object);
    tests[3] = (struct CMUnitTest)cmocka_unit_test(test_deep_nesting);
    tests[NBAD + 4] = (struct CMUnitTest)cmocka_unit_test(test_mutations);
    tests[NBAD + 5] = (struct CMUnitTest)cmocka_unit_test(test_raw_every_boundary);
    tests[NBAD + 6] = (struct CMUnitTest)cmocka_unit_test(test_raw_envelopes);
    tests[NBAD + 7] = (struct CMUnitTest)cmocka_unit_test(test_raw_bad);
    tests[NBAD + 8] = (struct CMUnitTest)cmocka_unit_test(test_raw_mutations);
    for (size_t i = 0; i < NBAD; i++)
        tests[4 + i] =
            (struct CMUnitTest){bad_rows[i].name, test_bad, NULL, NULL, (void *)&bad_rows[i]};
    return _cmocka_run_group_tests("kube_decoder", tests, NBAD + 9, NULL, NULL);
}
