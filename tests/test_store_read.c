/* test_store_read.c - store/ read path: decoded trees behave like any json-c
 * tree (free, deep copy, del, replace; dictionary keys inserted as constants),
 * the direct msgpack reader's edge cases (duplicate keys, every number form,
 * damage at every length), and read txns kept for reuse (renewed snapshots,
 * ended on another thread, more ended than kept, closed while kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/err.h"
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_) fail_msg("%s:%d: %s -> %d (%s)", __FILE__, __LINE__, #call, rc_, err_str(rc_));   \
    } while (0)

static const char *const SANDBOX =
    "{\"apiVersion\":\"agents.x-k8s.io/v1alpha1\",\"kind\":\"Sandbox\",\"metadata\":{\"name\":"
    "\"sb-%d\",\"namespace\":\"default\",\"uid\":\"u-%d\",\"resourceVersion\":\"%d\","
    "\"labels\":{\"agents.x-k8s.io/sandbox-name-hash\":\"abcd\",\"app\":\"x\",\"kind\":\"label\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"SandboxWarmPool\",\"name\":\"pool\","
    "\"uid\":\"p-1\",\"controller\":true}],\"finalizers\":[\"f\"]},\"spec\":{\"replicas\":1,"
    "\"nothing\":null,\"ratio\":0.5,\"big\":18446744073709551615,\"neg\":-9223372036854775808,"
    "\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"busybox\"}]}}},"
    "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}";

static json_object *
sandbox(int i)
{
    char buf[2048];
    snprintf(buf, sizeof buf, SANDBOX, i, i, i + 1);
    json_object *o = json_tokener_parse(buf);
    assert_non_null(o);
    return o;
}

/* Encode + decode through the public codec. */
static json_object *
roundtrip(json_object *in)
{
    char *buf;
    size_t len;
    json_object *out;
    CHECK(store_encode(STORE_SANDBOX, in, &buf, &len));
    CHECK(store_msgpack_to_json(buf, len, &out));
    free(buf);
    return out;
}

static void
test_tree_like_any(void **state)
{
    json_object *in = sandbox(1), *out = roundtrip(in), *copy = NULL, *meta, *v;
    (void)state;
    assert_true(json_object_equal(in, out));
    assert_string_equal(json_object_to_json_string_ext(in, JSON_C_TO_STRING_PLAIN),
                        json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
    /* deep copy of a tree holding constant keys, then edits on both */
    assert_int_equal(json_object_deep_copy(out, &copy, NULL), 0);
    assert_true(json_object_equal(out, copy));
    assert_true(json_object_object_get_ex(out, "metadata", &meta));
    json_object_object_del(meta, "labels");                                  /* a dictionary key */
    json_object_object_del(meta, "no-such-key");                             /* absent */
    json_object_object_add(meta, "name", json_object_new_string("renamed")); /* replace */
    json_object_object_add(meta, "labels", json_object_new_object());        /* re-add */
    json_object_object_add(meta, "extra", json_object_new_int(3));
    assert_true(json_object_object_get_ex(meta, "name", &v));
    assert_string_equal(json_object_get_string(v), "renamed");
    assert_int_equal(json_object_object_length(json_object_object_get(meta, "labels")), 0);
    assert_false(json_object_equal(out, copy));
    json_object_object_del(out, "spec");
    assert_null(json_object_object_get(out, "spec"));
    /* the copy kept everything, including a string key that equals a dictionary key */
    assert_true(json_object_equal(in, copy));
    assert_true(json_object_object_get_ex(copy, "metadata", &meta));
    v = json_object_object_get(json_object_object_get(meta, "labels"), "kind");
    assert_string_equal(json_object_get_string(v), "label");
    /* a subtree outliving its parent */
    json_object *spec = json_object_get(json_object_object_get(copy, "spec"));
    json_object_put(copy);
    assert_int_equal(json_object_get_int(json_object_object_get(spec, "replicas")), 1);
    json_object_put(spec);
    json_object_put(out);
    json_object_put(in);
}

/* A process that switched json-c's string hash still gets trees whose keys
 * look up (the decoder's precomputed hashes are for the default one). Runs
 * last: the switch is process-wide. */
static void
test_other_string_hash(void **state)
{
    json_object *in, *out, *meta;
    (void)state;
    assert_int_equal(json_global_set_string_hash(JSON_C_STR_HASH_PERLLIKE), 0);
    in = sandbox(3);
    out = roundtrip(in);
    assert_true(json_object_equal(in, out));
    assert_true(json_object_object_get_ex(out, "metadata", &meta));
    assert_string_equal(json_object_get_string(json_object_object_get(meta, "name")), "sb-3");
    json_object_object_del(meta, "name");
    assert_null(json_object_object_get(meta, "name"));
    json_object_put(out);
    json_object_put(in);
}

/* Hand-made msgpack: what the encoders never write must still read sanely. */
typedef struct dec_row {
    const char *what;
    const char *bytes;
    size_t len;
    const char *json; /* expected (plain), or NULL: ERR_PARSE */
} dec_row;

#define R(w, b, j)                                                                                 \
    {                                                                                              \
        w, b, sizeof(b) - 1, j                                                                     \
    }
static const dec_row dec_rows[] = {
    /* 0 = "apiVersion", 1 = "kind" in the dictionary */
    R("dict id twice: last wins", "\x82\x00\xa1\x61\x00\xa1\x62", "{\"apiVersion\":\"b\"}"),
    R("string then dict id", "\x82\xa4kind\xa1\x61\x01\xa1\x62", "{\"kind\":\"b\"}"),
    R("dict id then string", "\x82\x01\xa1\x61\xa4kind\xa1\x62", "{\"kind\":\"b\"}"),
    R("string key twice", "\x82\xa1x\x01\xa1x\x02", "{\"x\":2}"),
    R("id as uint8", "\x81\xcc\x01\xc0", "{\"kind\":null}"),
    R("id as int16", "\x81\xd1\x00\x01\xc3", "{\"kind\":true}"),
    R("negative key", "\x81\xd0\xff\xc0", NULL),
    R("unknown id", "\x81\xcc\xc8\xc0", NULL),
    R("bin key", "\x81\xc4\x01x\xc0", NULL),
    R("array key", "\x81\x90\xc0", NULL),
    R("float32", "\x91\xca\x3f\xc0\x00\x00", "[1.5]"),
    R("float64", "\x91\xcb\xc0\x04\x00\x00\x00\x00\x00\x00", "[-2.5]"),
    R("ints", "\x96\x7f\xe0\xd0\x80\xd1\xff\x00\xcd\xff\xff\xd3\x80\0\0\0\0\0\0\0",
      "[127,-32,-128,-256,65535,-9223372036854775808]"),
    R("uint64 max", "\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff", "[18446744073709551615]"),
    R("str8 with NUL", "\x91\xd9\x03\x61\x00\x62", "[\"a\\u0000b\"]"),
    R("nil at top", "\xc0", "null"),
    R("bin value", "\x91\xc4\x01x", NULL),
    R("ext value", "\x91\xd4\x01\x02", NULL),
    R("0xc1", "\x91\xc1", NULL),
    R("trailing byte", "\x90\x00", NULL),
    R("array count beyond the bytes", "\xdd\x7f\xff\xff\xff\x01", NULL),
    R("map count beyond the bytes", "\xdf\x7f\xff\xff\xff\x01\x02", NULL),
    R("truncated str",
      "\x91\xa5"
      "ab",
      NULL),
    R("truncated float", "\x91\xcb\x00\x00", NULL),
};

static void
test_decode_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dec_rows / sizeof *dec_rows; i++) {
        const dec_row *r = &dec_rows[i];
        json_object *o = (json_object *)1;
        int rc = store_msgpack_to_json(r->bytes, r->len, &o);
        if (!r->json) {
            if (rc != ERR_PARSE || o)
                fail_msg("%s: rc %d, want ERR_PARSE and no tree", r->what, rc);
            continue;
        }
        if (rc) fail_msg("%s: rc %d", r->what, rc);
        const char *got = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (strcmp(got, r->json)) fail_msg("%s: got %s want %s", r->what, got, r->json);
        if (json_object_is_type(o, json_type_object))
            assert_int_equal(json_object_object_length(o), 1); /* duplicates folded */
        json_object_put(o);
    }
}

/* Nesting: 32 containers read, 33 do not (msgpack-c's limit, kept). */
static void
test_decode_depth(void **state)
{
    unsigned char b[40];
    (void)state;
    for (int depth = 31; depth <= 34; depth++) {
        json_object *o = NULL;
        memset(b, 0x91, (size_t)depth - 1);
        b[depth - 1] = 0x90;
        int rc = store_msgpack_to_json(b, (size_t)depth, &o);
        if (depth <= 32) {
            assert_int_equal(rc, 0);
            assert_non_null(o);
        } else {
            assert_int_equal(rc, ERR_PARSE);
            assert_null(o);
        }
        json_object_put(o);
    }
}

/* Every truncation of a real encoding fails cleanly (ASan: no leak, no overread). */
static void
test_decode_truncated(void **state)
{
    json_object *in = sandbox(2);
    char *buf;
    size_t len;
    (void)state;
    CHECK(store_encode(STORE_SANDBOX, in, &buf, &len));
    for (size_t n = 0; n < len; n++) {
        char *cut = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        json_object *o = (json_object *)1;
        memcpy(cut, buf, n);
        assert_int_equal(store_msgpack_to_json(cut, n, &o), ERR_PARSE);
        assert_null(o);
        free(cut);
    }
    free(buf);
    json_object_put(in);
}

/* ---- read txns kept for reuse ------------------------------------------ */

static char *
tmpdir(void)
{
    char tmpl[] = "/tmp/test_store_read.XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void
rmdir_files(char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
    free(dir);
}

static void
put_sandbox(store *s, int i)
{
    store_wtxn *w;
    json_object *o = sandbox(i);
    CHECK(store_wtxn_begin(s, &w));
    CHECK(store_put(w, STORE_SANDBOX, o));
    CHECK(store_wtxn_commit(w));
    json_object_put(o);
}

static size_t
count(store *s)
{
    store_rtxn *r;
    size_t n;
    CHECK(store_rtxn_begin(s, &r));
    CHECK(store_count(r, STORE_SANDBOX, &n));
    store_rtxn_end(r);
    return n;
}

typedef struct end_arg {
    store_rtxn *r;
    size_t n;
} end_arg;

static void *
count_and_end(void *p)
{
    end_arg *a = p;
    CHECK(store_count(a->r, STORE_SANDBOX, &a->n));
    store_rtxn_end(a->r);
    return NULL;
}

static void
test_rtxn_reuse(void **state)
{
    char err[256], *dir = tmpdir();
    store *s;
    store_rtxn *many[40];
    (void)state;
    CHECK(store_open(dir, NULL, &s, err, sizeof err));
    /* each begin after an end sees what was committed in between */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(count(s), (size_t)i);
        put_sandbox(s, i);
    }
    /* a snapshot taken before a commit keeps its view; a new one sees the commit */
    store_rtxn *old;
    json_object *o;
    CHECK(store_rtxn_begin(s, &old));
    put_sandbox(s, 100);
    assert_int_equal(store_get(old, STORE_SANDBOX, "default", "sb-100", &o), ERR_NOTFOUND);
    /* begun here, used and ended on another thread, then reused here */
    end_arg a = {old, 0};
    pthread_t th;
    pthread_create(&th, NULL, count_and_end, &a);
    pthread_join(th, NULL);
    assert_int_equal(a.n, 5);
    assert_int_equal(count(s), 6);
    /* more open at once than are kept (no writer waits: nesting is safe here) */
    for (int i = 0; i < 40; i++)
        CHECK(store_rtxn_begin(s, &many[i]));
    for (int i = 0; i < 40; i++) {
        CHECK(store_get(many[i], STORE_SANDBOX, "default", "sb-100", &o));
        json_object_put(o);
    }
    for (int i = 0; i < 40; i++)
        store_rtxn_end(many[i]);
    put_sandbox(s, 101);
    assert_int_equal(count(s), 7);
    store_rtxn_end(NULL);
    store_close(s); /* frees the kept txns (ASan: no leak) */
    /* reopen: kept txns of the closed store are gone, new ones work */
    CHECK(store_open(dir, NULL, &s, err, sizeof err));
    assert_int_equal(count(s), 7);
    store_close(s);
    rmdir_files(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_like_any), cmocka_unit_test(test_decode_rows),
        cmocka_unit_test(test_decode_depth),  cmocka_unit_test(test_decode_truncated),
        cmocka_unit_test(test_rtxn_reuse),    cmocka_unit_test(test_other_string_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
