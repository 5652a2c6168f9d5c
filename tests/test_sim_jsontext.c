/* test_sim_jsontext.c - sim_json_parse / sim_json_write against json-c.
 *
 * Differential: for every input text, json_tokener (depth 1024, must end in
 * success: what sim_store used) and sim_json_parse must agree on accepting
 * it; both trees must have the same shape (types, int64/uint64, double
 * values and their text, key order, array sizes), and each tree serialised
 * by json-c and by sim_json_write must give the same bytes (with and
 * without '/' escaping). Inputs: every request/response body of
 * tests/golden, hand-written tricky texts and trees (custom serializers,
 * NaN, doubles without text, huge ints), a seeded random generator of
 * documents, and mutations of all of those (truncations, flipped bytes) for
 * the accept/reject side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <glob.h>
#include <json-c/printbuf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/kubesim/sim_jsontext.h"
#include "bench/kubesim/sim_jsontext_internal.h"

static size_t n_checked, n_accepted;
static const char *cur_txt; /* the input being checked, for failure messages */
static int cur_len;

#define same_fail(fmt, ...)                                                                        \
    do {                                                                                           \
        fail_msg(fmt " in %.*s", __VA_ARGS__, cur_len, cur_txt);                                   \
    } while (0)

/* What sim_store did before: one tokener of depth 1024, success only. */
static json_object *
tokener_parse(const char *txt, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(1024);
    assert_non_null(tok);
    json_object *t = json_tokener_parse_ex(tok, txt, (int)len);
    if (t && json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(t);
        t = NULL;
    }
    json_tokener_free(tok);
    return t;
}

/* A request body as kubesim's server reads one: a new tokener of depth
 * depth, success, and only isspace() bytes after the value. */
static json_object *
tokener_parse_doc(const char *txt, size_t len, int depth)
{
    json_tokener *tok = json_tokener_new_ex(depth);
    assert_non_null(tok);
    json_object *t = json_tokener_parse_ex(tok, txt, (int)len);
    if (t && json_tokener_get_error(tok) == json_tokener_success) {
        size_t end = json_tokener_get_parse_end(tok);
        while (end < len && isspace((unsigned char)txt[end]))
            end++;
        if (end != len) {
            json_object_put(t);
            t = NULL;
        }
    } else {
        json_object_put(t);
        t = NULL;
    }
    json_tokener_free(tok);
    return t;
}

static char *
ours(json_object *o, int flags)
{
    sim_buf b = {0};
    int rc = sim_json_write(&b, o, flags);
    if (rc != 0) {
        free(b.data);
        return NULL;
    }
    assert_int_equal(strlen(b.data), b.len); /* NUL-terminated, no NUL inside */
    return b.data;
}

/* json-c's text and ours must be the same bytes (also via sim_json_text). */
static void
check_write(json_object *o, const char *what)
{
    static const int flags[] = {SIM_JSON_FLAGS, JSON_C_TO_STRING_PLAIN};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        const char *want = json_object_to_json_string_ext(o, flags[i]);
        char *got = ours(o, flags[i]);
        if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
            fail_msg("%s: flags %d: json-c %s\n ours %s", what, flags[i], want ? want : "(NULL)",
                     got ? got : "(NULL)");
        size_t len = 0;
        char *txt = sim_json_text(o, flags[i], &len);
        if (want) {
            assert_non_null(txt);
            assert_int_equal(len, strlen(want));
            assert_string_equal(txt, want);
        } else {
            assert_null(txt);
        }
        free(txt);
        free(got);
    }
}

/* Same shape: what json_tokener built and what sim_json_parse built. */
static void
check_same(json_object *a, json_object *b, const char *what)
{
    if (!a || !b) {
        if (a != b) same_fail("%s: null vs non-null", what);
        return;
    }
    json_type t = json_object_get_type(a);
    if (t != json_object_get_type(b))
        same_fail("%s: type %s vs %s", what, json_type_to_name(t),
                  json_type_to_name(json_object_get_type(b)));
    const char *ua = json_object_get_userdata(a), *ub = json_object_get_userdata(b);
    switch (t) {
    case json_type_object: {
        struct lh_entry *ea = json_object_get_object(a)->head;
        struct lh_entry *eb = json_object_get_object(b)->head;
        for (; ea && eb; ea = ea->next, eb = eb->next) {
            if (strcmp(lh_entry_k(ea), lh_entry_k(eb)))
                same_fail("%s: key %s vs %s", what, (char *)lh_entry_k(ea), (char *)lh_entry_k(eb));
            check_same(lh_entry_v(ea), lh_entry_v(eb), what);
        }
        if (ea || eb) same_fail("%s: key count differs", what);
        assert_int_equal(json_object_object_length(a), json_object_object_length(b));
        break;
    }
    case json_type_array: {
        const struct array_list *la = json_object_get_array(a), *lb = json_object_get_array(b);
        assert_int_equal(la->length, lb->length);
        assert_int_equal(la->size, lb->size); /* the tokener shrinks arrays to fit */
        for (size_t i = 0; i < la->length; i++)
            check_same(la->array[i], lb->array[i], what);
        break;
    }
    case json_type_string:
        assert_int_equal(json_object_get_string_len(a), json_object_get_string_len(b));
        assert_memory_equal(json_object_get_string(a), json_object_get_string(b),
                            (size_t)json_object_get_string_len(a));
        break;
    case json_type_int:
        assert_true(json_object_get_int64(a) == json_object_get_int64(b));
        assert_true(json_object_get_uint64(a) == json_object_get_uint64(b));
        break;
    case json_type_double: {
        double da = json_object_get_double(a), db = json_object_get_double(b);
        assert_memory_equal(&da, &db, sizeof da);
        if ((ua == NULL) != (ub == NULL) || (ua && strcmp(ua, ub)))
            same_fail("%s: double text %s vs %s", what, ua ? ua : "-", ub ? ub : "-");
        break;
    }
    case json_type_boolean:
        assert_int_equal(json_object_get_boolean(a), json_object_get_boolean(b));
        break;
    default:
        break;
    }
    if (t != json_type_double && (ua || ub)) same_fail("%s: unexpected userdata", what);
}

/* The four-way check on one input text. */
static void
check_text(const char *txt, size_t len, const char *what)
{
    cur_txt = txt;
    cur_len = (int)(len > 400 ? 400 : len);
    json_object *want = tokener_parse(txt, len);
    json_object *got = sim_json_parse(txt, len);
    n_checked++;
    if ((want == NULL) != (got == NULL))
        fail_msg("%s: tokener %s, sim_json_parse %s: %.*s", what, want ? "accepts" : "rejects",
                 got ? "accepts" : "rejects", (int)(len > 300 ? 300 : len), txt);
    if (want) {
        n_accepted++;
        check_same(want, got, what);
        check_write(want, what);
        check_write(got, what);
        const char *a = json_object_to_json_string_ext(want, SIM_JSON_FLAGS);
        const char *b = json_object_to_json_string_ext(got, SIM_JSON_FLAGS);
        assert_string_equal(a, b);
    }
    json_object_put(want);
    json_object_put(got);
    /* the same text as a whole document, at a body's depth and a small one */
    static const int depths[] = {128, 4};
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++) {
        json_object *dw = tokener_parse_doc(txt, len, depths[i]);
        json_object *dg = sim_json_parse_doc(txt, len, depths[i]);
        if ((dw == NULL) != (dg == NULL))
            fail_msg("%s: depth %d document: tokener %s, sim_json_parse_doc %s: %.*s", what,
                     depths[i], dw ? "accepts" : "rejects", dg ? "accepts" : "rejects", cur_len,
                     txt);
        check_same(dw, dg, what);
        json_object_put(dw);
        json_object_put(dg);
    }
}

/* Canonical json-c text (what kubesim stores) must take the fast pass. */
static void
check_canonical(const char *txt, const char *what)
{
    size_t f0, t0, f1, t1;
    sim_json_parse_counts(&f0, &t0);
    json_object_put(sim_json_parse(txt, strlen(txt)));
    sim_json_parse_counts(&f1, &t1);
    if (f1 != f0 + 1 || t1 != t0) fail_msg("%s: canonical text went to the tokener: %s", what, txt);
    check_text(txt, strlen(txt), what);
}

static void
check_str(const char *txt)
{
    check_text(txt, strlen(txt), txt);
}

/* ---- deterministic random numbers ---- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
    uint64_t x = rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static unsigned
rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* Flip, cut and splice bytes of txt: the accept/reject side. */
static void
check_mutations(const char *txt, size_t len, int count, const char *what)
{
    static const char bytes[] = "{}[]\",:\\-.eE0123456789 \t\nnutfalsx/u\x01\x80";
    char *m = malloc(len + 2);
    assert_non_null(m);
    for (int i = 0; i < count && len > 0; i++) {
        memcpy(m, txt, len);
        size_t n = len, at = rn((unsigned)len);
        switch (rn(4)) {
        case 0: /* truncate */
            n = at;
            break;
        case 1: /* replace a byte */
            m[at] = bytes[rn(sizeof bytes - 1)];
            break;
        case 2: /* drop a byte */
            memmove(m + at, m + at + 1, len - at - 1);
            n = len - 1;
            break;
        default: /* insert a byte */
            memmove(m + at + 1, m + at, len - at);
            m[at] = bytes[rn(sizeof bytes - 1)];
            n = len + 1;
            break;
        }
        check_text(m, n, what);
    }
    free(m);
}

/* ---- hand-written texts ---- */

static void
test_tricky_texts(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{}",
        "[]",
        "[[]]",
        "[{}]",
        "{\"a\":{}}",
        "{\"a\":[]}",
        "{\"a\":[[],{},[{}]]}",
        " {\"a\" : 1 ,\"b\" :\t[ 1 , 2 ]\n}\r\n",
        "{\"a\":1}x",
        "{\"a\":1} ",
        "{\"a\":1}{}",
        "{\"a\":1}\f",
        "\f{}",
        "/*c*/{}",
        "{/*c*/}",
        "{}//x",
        "{'a':1}",
        "['a']",
        "{\"a\":1,\"a\":2}",
        "{\"a\":{\"b\":1},\"a\":[2]}",
        "[1,2,]",
        "{\"a\":1,}",
        "[,]",
        "[01]",
        "[00]",
        "[-01]",
        "[-0]",
        "[0]",
        "[-0.0]",
        "[0.0]",
        "[1.0]",
        "[1.10]",
        "[1e400]",
        "[-1e400]",
        "[1e-400]",
        "[1E+2]",
        "[1e-2]",
        "[1e2]",
        "[0e0]",
        "[-0E-0]",
        "[1.5e308]",
        "[123456789012345678901234567890.5]",
        "[0.1,0.2,0.30000000000000004]",
        "[9223372036854775807]",
        "[9223372036854775808]",
        "[18446744073709551615]",
        "[18446744073709551616]",
        "[99999999999999999999]",
        "[-9223372036854775808]",
        "[-9223372036854775809]",
        "[-18446744073709551616]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[1e+]",
        "[1e-]",
        "[-]",
        "[- 1]",
        "[--1]",
        "[+1]",
        "[1 2]",
        "[1-2]",
        "[1.2.3]",
        "[1e5e5]",
        "[0x10]",
        "[1,2",
        "[NaN]",
        "[nan]",
        "[Infinity]",
        "[-Infinity]",
        "[infinity]",
        "[-inf]",
        "[TRUE]",
        "[True]",
        "[tru]",
        "[nul]",
        "[nulll]",
        "[truefalse]",
        "[true,false,null]",
        "{\"n\":null}",
        "\"str\"",
        "123",
        "-1",
        "1.5",
        "true",
        "null",
        "",
        " ",
        "[",
        "{",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":1",
        "{\"a\" 1}",
        "{1:2}",
        "{\"a\":1 \"b\":2}",
        "[\"\\ud83d\\ude00\"]",
        "[\"\\uD83D\\uDE00\"]",
        "[\"\\ud83d\"]",
        "[\"\\ude00\"]",
        "[\"\\ud83dx\"]",
        "[\"\\ud83d\\u0041\"]",
        "[\"\\ud83d\\n\"]",
        "[\"\\ud83d\\ud83d\"]",
        "[\"\\u0000\"]",
        "{\"a\\u0000b\":1}",
        "[\"\\u00e9\\u20ac\\u0041\\u007f\\u0080\"]",
        "[\"\\u12\"]",
        "[\"\\u12g4\"]",
        "[\"\\x\"]",
        "[\"\\'\"]",
        "[\"a\\/b\"]",
        "[\"a/b\"]",
        "[\"</script>\"]",
        "[\"\\u001f\\u0001\\b\\f\\n\\r\\t\\\"\\\\\"]",
        "[\"\x01\"]",
        "[\"tab\there\"]",
        "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]",
        "[\"\xff\xfe\"]",
        "[\"unterminated]",
        "[\"a\\\"]",
        "{\"\":\"\"}",
        "{\"\\\"k\\\\\":\"v\"}",
        "{\"k/slash\":\"v/slash\"}",
        ("{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"cm-1\","
         "\"namespace\":\"default\",\"labels\":{\"app\":\"bench\"}},\"data\":{\"k\":\"v\"}}"),
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        check_str(texts[i]);
    /* bytes the C strings above cannot hold: NUL inside and after */
    check_text("{}\0", 3, "nul after");
    check_str("{} \v");   /* isspace() but not JSON whitespace */
    check_str("[1]\f\n"); /* a body may end so */
    check_str("{}\n\n x");
    check_text("{\"a\":\"x\0y\"}", 11, "nul in string");
    check_text("{\"a\0\":1}", 8, "nul in key");
    check_text("[1,\0]", 5, "nul in array");
    check_text("{\"a\":1}", 5, "length cuts the text");
    /* a text ending inside a surrogate pair, then escapes: json_tokener_reset
     * would carry the pending surrogate over into the next text */
    check_str("[\"\\ud83d");
    check_str("[\"\\u007f\\u00e9\"]x"); /* accepted, by the tokener only */
    check_str("{\"\\ud83d");
    check_str("{\"\\u0041\":1}//");
    /* not NUL-terminated: a number right at the end of the buffer */
    char buf[8];
    memcpy(buf, "[1,2.5]", 7);
    check_text(buf, 7, "unterminated buffer");
    check_text(buf, 6, "cut before ]");
    check_text(buf, 5, "cut inside number");
}

static void
test_long_and_many_keys(void **state)
{
    (void)state;
    char txt[8192];
    /* keys of every length around the parser's inline key buffer */
    for (int klen = 0; klen < 140; klen += 7) {
        size_t n = (size_t)snprintf(txt, sizeof txt, "{\"");
        for (int i = 0; i < klen; i++)
            txt[n++] = (char)('a' + i % 26);
        n += (size_t)snprintf(txt + n, sizeof txt - n, "\\n\":{\"x\":[1]},\"z\":2}");
        check_text(txt, n, "long key");
    }
    /* objects of 1..40 keys, with and without a duplicate at the end */
    for (int keys = 1; keys <= 40; keys++) {
        for (int dup = 0; dup < 2; dup++) {
            size_t n = 0;
            txt[n++] = '{';
            for (int i = 0; i < keys; i++)
                n += (size_t)snprintf(txt + n, sizeof txt - n, "%s\"k%d\":%d", i ? "," : "", i, i);
            if (dup) n += (size_t)snprintf(txt + n, sizeof txt - n, ",\"k%d\":\"again\"", keys / 2);
            txt[n++] = '}';
            check_text(txt, n, dup ? "duplicate key" : "many keys");
        }
    }
    /* Kubernetes field names (the parser inserts those as constants), many
     * per object, with a repeat at each position */
    static const char *const names[] = {
        "kind",       "apiVersion", "metadata", "name",    "namespace",    "uid",    "labels",
        "spec",       "status",     "data",     "items",   "type",         "reason", "message",
        "f:metadata", ".",          "time",     "manager", "x-not-common", "image"};
    for (int keys = 1; keys <= 20; keys++) {
        for (int dup = -1; dup < keys; dup++) {
            size_t n = 0;
            txt[n++] = '{';
            for (int i = 0; i < keys; i++)
                n += (size_t)snprintf(txt + n, sizeof txt - n, "%s\"%s\":{\"name\":%d}",
                                      i ? "," : "", names[i], i);
            if (dup >= 0)
                n += (size_t)snprintf(txt + n, sizeof txt - n, ",\"%s\":null", names[dup]);
            txt[n++] = '}';
            check_text(txt, n, dup >= 0 ? "common key repeated" : "common keys");
        }
    }
    /* a long string with escapes spread over the serializer's chunks */
    json_object *s = json_object_new_object();
    char big[20000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i % 97 == 0 ? '\n' : i % 89 == 0 ? '/' : i % 83 == 0 ? 1 : 'a' + i % 26);
    json_object_object_add(s, "big", json_object_new_string_len(big, (int)sizeof big));
    check_write(s, "big string");
    const char *t = json_object_to_json_string_ext(s, SIM_JSON_FLAGS);
    check_text(t, strlen(t), "big string text");
    json_object_put(s);
}

static void
test_depth_limit(void **state)
{
    (void)state;
    /* the tokener (depth 1024) fails an element at 1024 open containers */
    static const int depths[] = {1,   2,    3,    4,    5,    126,  127,  128, 129,
                                 999, 1000, 1001, 1022, 1023, 1024, 1025, 1100};
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++) {
        int n = depths[d];
        for (int form = 0; form < 3; form++) {
            size_t cap = (size_t)n * 8 + 16, len = 0;
            char *t = malloc(cap);
            assert_non_null(t);
            for (int i = 0; i < n; i++) {
                if (form == 1 && i % 2)
                    len += (size_t)sprintf(t + len, "{\"k\":");
                else
                    t[len++] = '[';
            }
            if (form == 2) t[len++] = '1'; /* a value at the deepest level */
            for (int i = n - 1; i >= 0; i--)
                t[len++] = form == 1 && i % 2 ? '}' : ']';
            char what[64];
            snprintf(what, sizeof what, "depth %d form %d", n, form);
            check_text(t, len, what);
            free(t);
        }
    }
}

/* A document nested deeper than 1000 for a depth that allows it: the
 * tokener parses it (the fast pass recurses, so it stops at 1000; json-c
 * itself recurses when it frees, which bounds what a test can build). */
static void
test_very_deep_document(void **state)
{
    (void)state;
    size_t n = 3000, len = 0, f0, t0, f1, t1;
    char *t = malloc(2 * n + 1);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++)
        t[len++] = '[';
    for (size_t i = 0; i < n; i++)
        t[len++] = ']';
    json_object *want = tokener_parse_doc(t, len, (int)n + 8);
    sim_json_parse_counts(&f0, &t0);
    json_object *got = sim_json_parse_doc(t, len, (int)n + 8);
    sim_json_parse_counts(&f1, &t1);
    assert_non_null(want);
    assert_non_null(got);
    assert_int_equal(t1, t0 + 1);
    assert_int_equal(f1, f0);
    json_object_put(want);
    json_object_put(got);
    assert_null(sim_json_parse(t, len)); /* depth 1024 */
    free(t);
}

/* ---- hand-built trees: what the parser never makes ---- */

/* json-c is asked to print such a node by itself (which serializer a node
 * has is private to json-c), so it sees level 0: print no level. */
static int
custom_ser(json_object *o, struct printbuf *pb, int level, int flags)
{
    (void)o;
    (void)level;
    (void)flags;
    return printbuf_memappend(pb, "\"custom\"", 8);
}

static int
failing_ser(json_object *o, struct printbuf *pb, int level, int flags)
{
    (void)o;
    (void)pb;
    (void)level;
    (void)flags;
    return -1;
}

static void
free_ud(json_object *o, void *ud)
{
    (void)o;
    free(ud);
}

static void
test_trees(void **state)
{
    (void)state;
    static const double doubles[] = {0.0,         -0.0, 1.0,  -1.0, 0.1,    1e300, 1e-300,
                                     123456789.0, 1e15, 1e16, 1e17, 5e-324, 2.5,   -1234.5678};
    json_object *root = json_object_new_object();
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++)
        json_object_array_add(arr, json_object_new_double(doubles[i]));
    json_object_array_add(arr, json_object_new_double(NAN));
    json_object_array_add(arr, json_object_new_double(INFINITY));
    json_object_array_add(arr, json_object_new_double(-INFINITY));
    json_object_array_add(arr, json_object_new_double_s(2.5, "2.50"));
    json_object_array_add(arr, json_object_new_double_s(INFINITY, "1e400"));
    json_object_array_add(arr, json_object_new_int64(INT64_MIN));
    json_object_array_add(arr, json_object_new_int64(INT64_MAX));
    json_object_array_add(arr, json_object_new_uint64(UINT64_MAX));
    json_object_array_add(arr, json_object_new_uint64((uint64_t)INT64_MAX + 1));
    json_object_array_add(arr, json_object_new_uint64(5));
    json_object_array_add(arr, json_object_new_int(-7));
    json_object_array_add(arr, json_object_new_int(0));
    json_object_array_add(arr, NULL);
    json_object_array_add(arr, json_object_new_boolean(0));
    json_object_array_add(arr, json_object_new_string_len("a\0b\x1f\x7f", 5));
    json_object_array_add(arr, json_object_new_array());
    json_object_array_add(arr, json_object_new_object());
    json_object_object_add(root, "numbers", arr);
    json_object_object_add(root, "k\"\\/\x01\t", json_object_new_string("v\b\f/"));
    json_object_object_add(root, "", NULL);
    json_object_object_add(root, "\xc3\xa9", json_object_new_string("\xe2\x82\xac"));

    /* custom serializers, with and without userdata, at some depth */
    json_object *c1 = json_object_new_int(1), *c2 = json_object_new_string("x");
    json_object_set_serializer(c1, custom_ser, strdup("ud1"), free_ud);
    json_object_set_serializer(c2, custom_ser, strdup("ud"), free_ud);
    json_object *nest = json_object_new_object();
    json_object_object_add(nest, "c1", c1);
    json_object_object_add(nest, "c2", c2);
    json_object *fmt = json_object_new_double(3.14159);
    json_object_set_serializer(fmt, json_object_double_to_json_string, (void *)"%.2f", NULL);
    json_object_object_add(nest, "fmt", fmt);
    json_object *ud = json_object_new_string("plain");
    json_object_set_userdata(ud, strdup("not a serializer"), free_ud);
    json_object_object_add(nest, "userdata", ud);
    json_object *uds = json_object_new_string("shown as its userdata");
    json_object_set_serializer(uds, json_object_userdata_to_json_string, strdup("{\"raw\":1}"),
                               free_ud);
    json_object_object_add(nest, "uds", uds);
    json_object *reset = json_object_new_double_s(1.0, "1.000");
    json_object_set_double(reset, 2.0); /* drops the text: prints 2.0 */
    json_object_object_add(nest, "reset", reset);
    json_object *inner = json_object_new_array();
    json_object_array_add(inner, nest);
    json_object_object_add(root, "nested", inner);
    check_write(root, "hand-built tree");
    check_write(NULL, "null tree");
    check_write(c1, "custom root");
    check_write(json_object_array_get_idx(arr, 0), "double root");

    /* a failing serializer fails the whole text, as in json-c */
    json_object *bad = json_object_new_int(2);
    static int marker; /* only nodes with userdata are seen as custom */
    json_object_set_serializer(bad, failing_ser, &marker, NULL);
    json_object_object_add(nest, "bad", bad);
    check_write(root, "failing serializer");

    /* flags json-c handles as a whole */
    static const int other[] = {JSON_C_TO_STRING_SPACED, JSON_C_TO_STRING_PRETTY,
                                JSON_C_TO_STRING_NOZERO | JSON_C_TO_STRING_NOSLASHESCAPE};
    json_object_object_del(nest, "bad");
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        char *got = ours(root, other[i]);
        assert_non_null(got);
        assert_string_equal(got, json_object_to_json_string_ext(root, other[i]));
        free(got);
    }
    json_object_put(root);
}

/* ---- random documents ---- */

static void
gen_ws(char **p)
{
    static const char ws[] = " \t\n\r";
    if (rn(8) == 0) *(*p)++ = ws[rn(4)];
}

static void
gen_string(char **p)
{
    static const char *const pieces[] = {
        "a",
        "b",
        "Z",
        "0",
        " ",
        "/",
        "\\/",
        "\\\"",
        "\\\\",
        "\\n",
        "\\t",
        "\\b",
        "\\f",
        "\\r",
        "\\u0001",
        "\\u001F",
        "\\u00e9",
        "\\u20AC",
        "\\ud83d\\ude00",
        "\xc3\xa9",
        "\xe2\x82\xac",
        "\xf0\x9f\x98\x80",
        "<",
        "&",
        "\\u007f",
        "name",
        "metadata",
        "kubesim-1",
    };
    *(*p)++ = '"';
    unsigned n = rn(6);
    for (unsigned i = 0; i < n; i++) {
        const char *s = pieces[rn(sizeof pieces / sizeof *pieces)];
        size_t l = strlen(s);
        memcpy(*p, s, l);
        *p += l;
    }
    *(*p)++ = '"';
}

static void
gen_number(char **p)
{
    static const char *const special[] = {
        "0",
        "-0",
        "1",
        "-1",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "-9223372036854775808",
        "1.0",
        "-0.0",
        "1e400",
        "-1e400",
        "1e-400",
        "2.5E+3",
        "6.02e23",
        "1E2",
        "0.5",
        "123.456e-7",
        "1e0",
    };
    if (rn(3) == 0) {
        const char *s = special[rn(sizeof special / sizeof *special)];
        size_t l = strlen(s);
        memcpy(*p, s, l);
        *p += l;
        return;
    }
    uint64_t v = rnd() >> rn(64);
    *p += sprintf(*p, "%s%llu", rn(3) == 0 ? "-" : "", (unsigned long long)(v >> 1));
    if (rn(4) == 0) *p += sprintf(*p, ".%u", rn(1000));
    if (rn(6) == 0) *p += sprintf(*p, "e%s%u", rn(2) ? "-" : "", rn(30));
}

static void
gen_value(char **p, int depth)
{
    unsigned k = depth > 6 ? 3 + rn(5) : rn(9);
    switch (k) {
    case 0:
    case 1: {
        *(*p)++ = '{';
        unsigned n = rn(6);
        for (unsigned i = 0; i < n; i++) {
            if (i) *(*p)++ = ',';
            gen_ws(p);
            if (rn(3) == 0)
                *p += sprintf(*p, "\"k%u\"", i); /* unique */
            else
                gen_string(p); /* may repeat */
            gen_ws(p);
            *(*p)++ = ':';
            gen_ws(p);
            gen_value(p, depth + 1);
            gen_ws(p);
        }
        *(*p)++ = '}';
        break;
    }
    case 2: {
        *(*p)++ = '[';
        unsigned n = rn(5);
        for (unsigned i = 0; i < n; i++) {
            if (i) *(*p)++ = ',';
            gen_ws(p);
            gen_value(p, depth + 1);
            gen_ws(p);
        }
        *(*p)++ = ']';
        break;
    }
    case 3:
    case 4:
        gen_string(p);
        break;
    case 5:
    case 6:
        gen_number(p);
        break;
    default: {
        static const char *const lit[] = {"true", "false", "null"};
        const char *s = lit[rn(3)];
        memcpy(*p, s, strlen(s));
        *p += strlen(s);
    }
    }
}

static void
test_random_documents(void **state)
{
    (void)state;
    rng_state = 0x5eed5eed1234ULL;
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t before = n_accepted, checked = n_checked;
    for (int i = 0; i < 4000; i++) {
        char *p = buf;
        gen_ws(&p);
        if (rn(2)) { /* the top level kubesim stores */
            *p++ = '{';
            p += sprintf(p, "\"kind\":\"ConfigMap\",\"data\":");
            gen_value(&p, 1);
            *p++ = '}';
        } else {
            gen_value(&p, 0);
        }
        gen_ws(&p);
        size_t len = (size_t)(p - buf);
        check_text(buf, len, "random");
        /* the canonical text of it: the fast path proper */
        json_object *t = tokener_parse(buf, len);
        if (t) {
            const char *c = json_object_to_json_string_ext(t, SIM_JSON_FLAGS);
            if (json_object_is_type(t, json_type_object) || json_object_is_type(t, json_type_array))
                check_canonical(c, "random canonical");
            else
                check_text(c, strlen(c), "random canonical scalar");
            if (i % 8 == 1) {
                char *copy = strdup(c);
                assert_non_null(copy);
                check_mutations(copy, strlen(copy), 4, "random canonical mutated");
                free(copy);
            }
        }
        json_object_put(t);
        if (i % 4 == 0) check_mutations(buf, len, 4, "random mutated");
    }
    free(buf);
    print_message("random: %zu texts accepted of %zu checked\n", n_accepted - before,
                  n_checked - checked);
    assert_true(n_accepted - before > 4000); /* most of them are valid documents */
}

/* ---- golden exchanges ---- */

static void
check_body(json_object *body, const char *what)
{
    if (!json_object_is_type(body, json_type_object) && !json_object_is_type(body, json_type_array))
        return;
    const char *t = json_object_to_json_string_ext(body, SIM_JSON_FLAGS);
    char *copy = strdup(t);
    assert_non_null(copy);
    check_canonical(copy, what);
    check_mutations(copy, strlen(copy), 2, what);
    free(copy);
}

static void
test_golden_bodies(void **state)
{
    (void)state;
    const char *src = getenv("ASC_SOURCE_DIR");
    char pattern[1024];
    snprintf(pattern, sizeof pattern, "%s/tests/golden/*.json", src ? src : ".");
    glob_t gl;
    assert_int_equal(glob(pattern, 0, NULL, &gl), 0);
    size_t files = 0, bodies = 0;
    rng_state = 0x901de11ULL;
    for (size_t gi = 0; gi < gl.gl_pathc; gi++) {
        const char *path = gl.gl_pathv[gi];
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *txt = malloc((size_t)sz + 1);
        assert_non_null(txt);
        assert_int_equal(fread(txt, 1, (size_t)sz, f), (size_t)sz);
        fclose(f);
        check_text(txt, (size_t)sz, path); /* the whole pretty-printed file */
        json_object *g = tokener_parse(txt, (size_t)sz), *ex;
        free(txt);
        assert_non_null(g);
        files++;
        if (!json_object_object_get_ex(g, "exchanges", &ex)) ex = NULL;
        for (size_t i = 0; i < json_object_array_length(ex); i++) {
            json_object *x = json_object_array_get_idx(ex, i), *part, *body;
            static const char *const parts[] = {"request", "response"};
            for (int k = 0; k < 2; k++) {
                if (!json_object_object_get_ex(x, parts[k], &part) ||
                    !json_object_object_get_ex(part, "body", &body))
                    continue;
                check_body(body, path);
                bodies++;
                /* watch bodies: each event as its own line */
                if (json_object_is_type(body, json_type_array))
                    for (size_t e = 0; e < json_object_array_length(body); e++)
                        check_body(json_object_array_get_idx(body, e), path);
            }
        }
        json_object_put(g);
    }
    globfree(&gl);
    print_message("golden: %zu files, %zu bodies\n", files, bodies);
    assert_true(files >= 40);
    assert_true(bodies >= 300);
}

/* A parsed tree (constant keys) goes through json-c's editing calls like a
 * tokener's: copied, keys deleted and replaced, values swapped, freed. */
static void
test_parsed_tree_edits(void **state)
{
    (void)state;
    const char *txt =
        "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"cm-1\","
        "\"labels\":{\"app\":\"a1\"},\"namespace\":\"default\",\"managedFields\":[{\"manager\":"
        "\"curl\",\"fieldsV1\":{\"f:data\":{\".\":{},\"f:k\":{}}}}]},\"data\":{\"k\":\"v\"}}";
    json_object *want = tokener_parse(txt, strlen(txt));
    json_object *got = sim_json_parse(txt, strlen(txt));
    assert_non_null(got);
    json_object *copies[2] = {NULL, NULL};
    assert_int_equal(json_object_deep_copy(want, &copies[0], NULL), 0);
    assert_int_equal(json_object_deep_copy(got, &copies[1], NULL), 0);
    json_object *trees[4] = {want, got, copies[0], copies[1]};
    for (int i = 0; i < 4; i++) {
        json_object *m = json_object_object_get(trees[i], "metadata");
        json_object_object_del(m, "name");
        json_object_object_del(m, "labels");
        json_object_object_add(m, "namespace", json_object_new_string("other"));
        json_object_object_add(m, "uid", json_object_new_string("u"));
        json_object_object_add(trees[i], "kind", json_object_new_string("Other"));
        json_object_object_del(trees[i], "data");
    }
    const char *w = json_object_to_json_string_ext(want, SIM_JSON_FLAGS);
    for (int i = 1; i < 4; i++) {
        assert_string_equal(json_object_to_json_string_ext(trees[i], SIM_JSON_FLAGS), w);
        char *o = ours(trees[i], SIM_JSON_FLAGS);
        assert_string_equal(o, w);
        free(o);
    }
    for (int i = 0; i < 4; i++)
        json_object_put(trees[i]);
}

/* sim_json_get against json-c's lookup, on objects of 0..20 keys. */
static void
test_get(void **state)
{
    (void)state;
    rng_state = 0x6e7ULL;
    char key[16];
    for (int size = 0; size <= 20; size++) {
        json_object *o = json_object_new_object();
        for (int i = 0; i < size; i++) {
            snprintf(key, sizeof key, "%c%d", 'a' + (int)rn(3), i);
            json_object_object_add(o, key, rn(4) ? json_object_new_int(i) : NULL);
        }
        json_object_object_add(o, "", json_object_new_string("empty key"));
        for (int probe = 0; probe < 60; probe++) {
            snprintf(key, sizeof key, "%c%d", 'a' + (int)rn(3), (int)rn(24));
            if (probe == 0) key[0] = '\0';
            json_object *want = NULL;
            json_object_object_get_ex(o, key, &want);
            assert_ptr_equal(sim_json_get(o, key), want);
        }
        json_object_put(o);
    }
    json_object *a = json_object_new_array();
    assert_null(sim_json_get(a, "x"));
    assert_null(sim_json_get(NULL, "x"));
    json_object_put(a);
}

/* Tables made after json_global_set_string_hash hash keys another way: the
 * parser must not insert with the hashes it knows (lookups would miss). */
static void
test_other_string_hash(void **state)
{
    (void)state;
    assert_int_equal(json_global_set_string_hash(JSON_C_STR_HASH_PERLLIKE), 0);
    const char *txt = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":{\"app\":\"x\"}},"
                      "\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,"
                      "\"j\":10,\"k\":11,\"spec\":{},\"status\":{}}";
    check_canonical(txt, "perl-like hash");
    json_object *o = sim_json_parse(txt, strlen(txt)), *v;
    assert_non_null(o);
    static const char *const keys[] = {"kind", "metadata", "spec", "status", "k", "a"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        assert_true(json_object_object_get_ex(o, keys[i], &v));
    json_object_put(o);
    assert_int_equal(json_global_set_string_hash(JSON_C_STR_HASH_DFLT), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tricky_texts),       cmocka_unit_test(test_long_and_many_keys),
        cmocka_unit_test(test_depth_limit),        cmocka_unit_test(test_trees),
        cmocka_unit_test(test_random_documents),   cmocka_unit_test(test_golden_bodies),
        cmocka_unit_test(test_other_string_hash),  cmocka_unit_test(test_get),
        cmocka_unit_test(test_very_deep_document), cmocka_unit_test(test_parsed_tree_edits),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sim_json_release();
    return rc;
}
