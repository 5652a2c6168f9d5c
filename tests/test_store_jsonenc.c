/* test_store_jsonenc.c - store_encode_json (JSON text -> stored msgpack
 * without a json-c tree) against store_encode over json-c's tree of the same
 * text: byte-identical whenever the fast path answers, for every kind, over
 * the golden exchanges' objects, hand-written edge cases and a seeded random
 * generator of Kubernetes-like objects (plus mutations of them: whatever
 * json-c refuses, the fast path must refuse too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/err.h"
#include "store/store.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the watch decoder's tokener does (kube/: depth 512, default flags). */
static json_object *
tree_of(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(512);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    /* json-c returns the value at its end; text after it would be another event */
    if (o && (size_t)json_tokener_get_parse_end(tok) != len) {
        for (size_t i = (size_t)json_tokener_get_parse_end(tok); i < len; i++)
            if (!strchr(" \t\r\n", text[i])) {
                json_object_put(o);
                o = NULL;
                break;
            }
    }
    json_tokener_free(tok);
    return o;
}

typedef struct tally {
    size_t fast, fallback, refused, objects;
} tally;

/* One text, every kind: fast bytes == tree bytes, or the fast path declined. */
static void
check_text(const char *text, size_t len, tally *t)
{
    json_object *tree = tree_of(text, len);
    for (int k = 0; k <= STORE_KIND_COUNT; k++) {
        char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        store_json_meta m;
        int rb = store_encode_json((enum store_kind)k, text, len, &b, &bl, &m);
        if (!tree || !json_object_is_type(tree, json_type_object)) {
            if (rb == 0) fail_msg("fast path accepted what json-c refuses: %.*s", (int)len, text);
            assert_int_equal(rb, ERR_PARSE);
            t->refused++;
            continue;
        }
        int ra = store_encode((enum store_kind)k, tree, &a, &al);
        if (rb == 0) {
            if (ra != 0)
                fail_msg("kind %d: tree path refused (%d) a fast success: %.*s", k, ra, (int)len,
                         text);
            if (al != bl || memcmp(a, b, al) != 0)
                fail_msg("kind %d: encodings differ (%zu vs %zu bytes) for %.*s", k, al, bl,
                         (int)len, text);
            /* metadata slices are what json-c reads */
            const char *ns = NULL, *name = NULL, *rv = NULL;
            json_object *md, *v;
            if (json_object_object_get_ex(tree, "metadata", &md)) {
                if (json_object_object_get_ex(md, "namespace", &v) &&
                    json_object_is_type(v, json_type_string))
                    ns = json_object_get_string(v);
                if (json_object_object_get_ex(md, "name", &v) &&
                    json_object_is_type(v, json_type_string))
                    name = json_object_get_string(v);
                if (json_object_object_get_ex(md, "resourceVersion", &v) &&
                    json_object_is_type(v, json_type_string))
                    rv = json_object_get_string(v);
            }
            assert_int_equal(!ns, !m.ns);
            assert_int_equal(!name, !m.name);
            assert_int_equal(!rv, !m.rv);
            if (ns) assert_true(strlen(ns) == m.ns_len && !memcmp(ns, m.ns, m.ns_len));
            if (name) assert_true(strlen(name) == m.name_len && !memcmp(name, m.name, m.name_len));
            if (rv) assert_true(strlen(rv) == m.rv_len && !memcmp(rv, m.rv, m.rv_len));
            t->fast++;
        } else {
            assert_true(rb == ERR_PARSE);
            t->fallback++;
        }
        free(a);
        free(b);
    }
    json_object_put(tree);
}

static void
check_tree(json_object *o, tally *t)
{
    /* The API server does not escape '/'; json-c does unless told (escaped
     * keys are a fallback case, exercised once per object). */
    static const int flags[] = {JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
                                JSON_C_TO_STRING_PRETTY};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        size_t n;
        const char *s = json_object_to_json_string_length(o, flags[i], &n);
        check_text(s, n, t);
    }
}

/* ---- hand-written cases --------------------------------------------------- */

static void
test_cases(void **state)
{
    (void)state;
    static const char *ok[] = {
        "{}",
        " {\"a\":1} ",
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"n\","
        "\"resourceVersion\":\"12\",\"managedFields\":[{\"a\":{\"f:x\":{}}}],\"labels\":{\"a.b/c\":"
        "\"d\",\"agents.x-k8s.io/sandbox-name-hash\":\"h\"}},\"spec\":{\"nodeName\":\"n1\","
        "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]},\"status\":{\"phase\":\"Running\","
        "\"podIP\":\"1.2.3.4\",\"hostIP\":\"x\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
        "\"True\"}]}}",
        "{\"metadata\":\"str\",\"spec\":5,\"status\":[1,2]}",
        "{\"metadata\":null,\"spec\":null}",
        "{\"spec\":{\"nodeName\":null,\"x\":1},\"status\":{}}",
        "{\"a\":\"\\u00e9\\u4e2d\\ud83d\\ude00\\n\\t\\\"\\\\\\/\\b\\f\\r\"}",
        "{\"a\":\"caf\xc3\xa9 \xe2\x82\xac\"}",
        "{\"i\":[0,-0,1,-1,31,32,-32,-33,127,128,-128,-129,255,256,65535,65536,-32768,-32769,"
        "2147483647,2147483648,-2147483648,-2147483649,4294967295,4294967296,"
        "9223372036854775807,9223372036854775808,18446744073709551615,18446744073709551616,"
        "-9223372036854775808,-9223372036854775809,123456789012345678901234567890]}",
        "{\"d\":[0.0,-0.0,1.5,1e3,1E-3,-2.5e+10,1e400,-1e400,3.141592653589793,5e-324,0.1]}",
        "{\"e\":{},\"f\":[],\"g\":[[],[{}],{\"a\":[]}],\"t\":true,\"u\":false,\"n\":null}",
        "{\"k\":\"" /* a 40-byte, a 300-byte and a 70000-byte string come below */ "\"}",
        "{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\n",
        "{\"metadata\":{\"managedFields\":{\"dup\":1,\"dup\":2,\"esc\\u0041\":1}}}",
        "{\"a\\u0041\":1,\"k:{\\\"name\\\":\\\"main\\\"}\":{},\"x\\/y\":\"\\/\"}",
        "{\"meta\\u0064ata\":{\"n\\u0061me\":\"x\",\"managedFields\":[]},\"kin\\u0064\":1}",
    };
    static const char *fallback[] = {
        "{\"a\":1,\"a\":2}",
        "{\"a\":1,\"\\u0061\":2}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00x\"}",
        "{\"a\":01}",
        "{\"a\":True}",
        "{\"a\":NaN}",
        "{\"a\":[1,]}",
        "{\"a\":1,}",
        "{'a':1}",
        "{\"a\":\"x\ty\"}",
        "{\"a\":1}/*c*/",
        "{\"a\":Infinity}",
        "{\"a\":-}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":\"\\x\"}",
        "[1]",
        "\"s\"",
        "{\"a\":1} {",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":[1",
        "{\"a\":\"abc",
        "",
        "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{"
        "\"m\":{"
        "\"n\":{\"o\":{\"p\":{\"q\":{\"r\":{\"s\":{\"t\":{\"u\":{\"v\":{\"w\":{\"x\":{\"y\":{\"z\":"
        "{"
        "\"A\":{\"B\":{\"C\":{\"D\":{\"E\":{\"F\":{}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}",
    };
    tally t = {0, 0, 0, 0};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        size_t before = t.fast;
        check_text(ok[i], strlen(ok[i]), &t);
        if (t.fast == before) fail_msg("fast path declined: %s", ok[i]);
    }
    for (size_t n = 40; n <= 70000; n = n < 300 ? 300 : n < 70000 ? 70000 : 70001) {
        char *s = malloc(n + 16);
        strcpy(s, "{\"k\":\"");
        memset(s + 6, 'x', n);
        s[n / 2] = '\\', s[n / 2 + 1] = 'n';
        strcpy(s + 6 + n, "\"}");
        size_t before = t.fast;
        check_text(s, strlen(s), &t);
        assert_true(t.fast > before);
        free(s);
    }
    /* container headers: 16+ and 65536+ elements (array16/array32, map16); a map
     * with more keys than the duplicate check holds goes to json-c */
    {
        size_t cap = 70000 * 3 + 64, o = 0;
        char *s = malloc(cap);
        o += (size_t)sprintf(s + o, "{\"a\":[");
        for (int i = 0; i < 70000; i++)
            o += (size_t)sprintf(s + o, i ? ",%d" : "%d", i % 10);
        o += (size_t)sprintf(s + o, "],\"m\":{");
        for (int i = 0; i < 20; i++)
            o += (size_t)sprintf(s + o, i ? ",\"k%d\":%d" : "\"k%d\":%d", i, i);
        o += (size_t)sprintf(s + o, "}}");
        size_t before = t.fast;
        check_text(s, o, &t);
        assert_true(t.fast > before);
        o = (size_t)sprintf(s, "{\"m\":{");
        for (int i = 0; i < 300; i++)
            o += (size_t)sprintf(s + o, i ? ",\"k%d\":%d" : "\"k%d\":%d", i, i);
        o += (size_t)sprintf(s + o, "}}");
        check_text(s, o, &t); /* equal where taken */
        char *b = NULL;
        size_t bl;
        assert_int_equal(store_encode_json(STORE_SANDBOX, s, o, &b, &bl, NULL), ERR_PARSE);
        assert_int_equal(store_encode_json(STORE_POD, s, o, &b, &bl, NULL), 0); /* dropped */
        free(b);
        free(s);
    }
    for (size_t i = 0; i < sizeof fallback / sizeof *fallback; i++) {
        size_t before = t.fast;
        check_text(fallback[i], strlen(fallback[i]), &t);
        if (t.fast != before) fail_msg("fast path took: %s", fallback[i]);
    }
    /* escaped metadata names go to the json-c path (the informer needs them raw) */
    char *b = NULL;
    size_t bl;
    const char *esc = "{\"metadata\":{\"name\":\"a\\u0062\",\"namespace\":\"n\"}}";
    assert_int_equal(store_encode_json(STORE_POD, esc, strlen(esc), &b, &bl, NULL), 0);
    free(b);
    store_json_meta m;
    assert_int_equal(store_encode_json(STORE_POD, esc, strlen(esc), &b, &bl, &m), ERR_PARSE);
    assert_null(b);
}

/* ---- golden exchanges ------------------------------------------------------ */

static void
walk(json_object *o, tally *t)
{
    if (json_object_is_type(o, json_type_object)) {
        check_tree(o, t);
        json_object *md, *kd;
        if (json_object_object_get_ex(o, "metadata", &md) &&
            json_object_object_get_ex(o, "kind", &kd)) {
            /* an API object as the server writes it: always the fast path */
            size_t n;
            const char *s = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
            for (int k = 0; k < STORE_KIND_COUNT; k++) {
                char *b;
                size_t bl;
                if (store_encode_json((enum store_kind)k, s, n, &b, &bl, NULL))
                    fail_msg("API object not taken by the fast path: %.300s", s);
                free(b);
            }
            t->objects++;
        }
        json_object_object_foreach(o, k, v)
        {
            (void)k;
            walk(v, t);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            walk(json_object_array_get_idx(o, i), t);
    } else if (json_object_is_type(o, json_type_string)) {
        const char *s = json_object_get_string(o);
        if (s[0] == '{') check_text(s, (size_t)json_object_get_string_len(o), t);
    }
}

static void
test_golden(void **state)
{
    (void)state;
    const char *src = getenv("ASC_SOURCE_DIR");
    char dir[1024], path[2048];
    snprintf(dir, sizeof dir, "%s/tests/golden", src ? src : ".");
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(dir, sizeof dir, "%s/golden", src ? src : ".");
        d = opendir("/work/shared/golden");
        if (d) snprintf(dir, sizeof dir, "/work/shared/golden");
    }
    assert_non_null(d);
    tally t = {0, 0, 0, 0};
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_object *o = json_object_from_file(path);
        assert_non_null(o);
        walk(o, &t);
        json_object_put(o);
        files++;
    }
    closedir(d);
    print_message("golden: %d files, %zu API objects, %zu fast encodings equal, %zu fallbacks, "
                  "%zu refused\n",
                  files, t.objects, t.fast, t.fallback, t.refused);
    assert_true(files > 10);
    assert_true(t.fast > 1000);
    assert_true(t.objects > 100);
    assert_true(t.fallback * 100 < t.fast);
}

/* ---- seeded random Kubernetes-like objects --------------------------------- */

typedef struct gen {
    uint64_t s;
    char *p;
    size_t n, cap;
} gen;

static uint32_t
rnd(gen *g)
{
    g->s = g->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(g->s >> 33);
}

static void
out(gen *g, const char *s, size_t n)
{
    if (g->n + n + 1 > g->cap) {
        g->cap = (g->n + n + 1) * 2;
        g->p = realloc(g->p, g->cap);
        assert_non_null(g->p);
    }
    memcpy(g->p + g->n, s, n);
    g->n += n;
    g->p[g->n] = 0;
}

static void
OUTS(gen *g, const char *s) /* a function: arguments call rnd() */
{
    out(g, s, strlen(s));
}

static void
sp(gen *g)
{
    static const char *w[] = {"", "", "", " ", "\n  ", "\t", "\r\n"};
    OUTS(g, w[rnd(g) % 7]);
}

static void
gstr(gen *g)
{
    static const char *parts[] = {"a",
                                  "sandbox-1",
                                  "agents.x-k8s.io/sandbox-name-hash",
                                  "\\u00e9",
                                  "\\ud83d\\ude00",
                                  "\\n",
                                  "\\\"",
                                  "\\\\",
                                  "\\/",
                                  "\xc3\xa9",
                                  "\xe4\xb8\xad",
                                  "\xf0\x9f\x98\x80",
                                  "2024-01-01T00:00:00Z",
                                  "\\u001f",
                                  "\\t",
                                  " ",
                                  "x.y/z",
                                  "\\uD83D\\uDE00",
                                  "\\u20ac",
                                  "1234"};
    int n = (int)(rnd(g) % 5);
    OUTS(g, "\"");
    for (int i = 0; i < n; i++)
        OUTS(g, parts[rnd(g) % (sizeof parts / sizeof *parts)]);
    OUTS(g, "\"");
}

static void
gkey(gen *g)
{
    static const char *keys[] = {"name",
                                 "namespace",
                                 "uid",
                                 "labels",
                                 "annotations",
                                 "spec",
                                 "status",
                                 "nodeName",
                                 "phase",
                                 "conditions",
                                 "podIP",
                                 "podIPs",
                                 "x",
                                 "a.b/c-d",
                                 "kubernetes.io/x",
                                 "f:spec",
                                 "value",
                                 "items",
                                 "",
                                 "\xc3\xa9t\xc3\xa9",
                                 "port",
                                 "managedFields",
                                 "metadata",
                                 "containers",
                                 "image",
                                 "a\\u0041",
                                 "k:{\\\"name\\\":\\\"x\\\"}",
                                 "x\\/y",
                                 "n\\u0061me"};
    OUTS(g, "\"");
    OUTS(g, keys[rnd(g) % (sizeof keys / sizeof *keys)]);
    OUTS(g, "\"");
}

static void gval(gen *g, int depth);

static void
gmap(gen *g, int depth, int nkeys)
{
    /* keys drawn without repetition (duplicates are a fallback case of their own) */
    char used[32] = {0};
    OUTS(g, "{");
    for (int i = 0, first = 1; i < nkeys; i++) {
        size_t mark = g->n;
        gkey(g);
        char k[64];
        size_t kl = g->n - mark < sizeof k ? g->n - mark : sizeof k - 1;
        memcpy(k, g->p + mark, kl);
        g->n = mark;
        unsigned h = 0;
        for (size_t j = 0; j < kl; j++)
            h = h * 31 + (unsigned char)k[j];
        if (used[h % 32]) continue;
        used[h % 32] = 1;
        if (!first) OUTS(g, ",");
        first = 0;
        sp(g);
        out(g, k, kl);
        sp(g);
        OUTS(g, ":");
        sp(g);
        gval(g, depth + 1);
        sp(g);
    }
    OUTS(g, "}");
}

static void
gval(gen *g, int depth)
{
    static const char *nums[] = {"0",
                                 "-1",
                                 "42",
                                 "127",
                                 "128",
                                 "-33",
                                 "65536",
                                 "1.5",
                                 "-0.25",
                                 "1e9",
                                 "2E-7",
                                 "-0",
                                 "3.0",
                                 "255",
                                 "9223372036854775807",
                                 "18446744073709551615",
                                 "-9223372036854775808",
                                 "99999999999999999999",
                                 "4294967296",
                                 "0.1",
                                 "1e308"};
    unsigned r = rnd(g) % (depth > 6 ? 6 : 10);
    char b[32];
    switch (r) {
    case 0:
        OUTS(g, "null");
        break;
    case 1:
        OUTS(g, rnd(g) % 2 ? "true" : "false");
        break;
    case 2:
        OUTS(g, nums[rnd(g) % (sizeof nums / sizeof *nums)]);
        break;
    case 3:
        snprintf(b, sizeof b, "%d", (int)rnd(g) - (1 << 30));
        OUTS(g, b);
        break;
    case 4:
    case 5:
        gstr(g);
        break;
    case 6:
    case 7:
        gmap(g, depth, (int)(rnd(g) % 6));
        break;
    default: {
        int n = (int)(rnd(g) % 5);
        OUTS(g, "[");
        for (int i = 0; i < n; i++) {
            if (i) OUTS(g, ",");
            sp(g);
            gval(g, depth + 1);
        }
        OUTS(g, "]");
    }
    }
}

/* A Kubernetes-like object: the known top-level keys, metadata with names,
 * labels, owner references and managedFields, then random content. */
static void
gobject(gen *g)
{
    char b[128];
    OUTS(g, "{\"apiVersion\":\"v1\",");
    sp(g);
    OUTS(g, rnd(g) % 2 ? "\"kind\":\"Pod\"," : "\"kind\":\"Sandbox\",");
    snprintf(b, sizeof b, "\"metadata\":{\"name\":\"obj-%u\",\"namespace\":\"ns-%u\",",
             rnd(g) % 1000, rnd(g) % 10);
    OUTS(g, b);
    snprintf(b, sizeof b, "\"resourceVersion\":\"%u\",\"uid\":\"u-%u\",", rnd(g), rnd(g));
    OUTS(g, b);
    OUTS(g, "\"labels\":");
    gmap(g, 2, (int)(rnd(g) % 5));
    OUTS(g, ",\"ownerReferences\":[{\"apiVersion\":\"agents.x-k8s.io/v1alpha1\",\"kind\":"
            "\"Sandbox\",\"name\":\"s\",\"uid\":\"x\",\"controller\":true}],");
    OUTS(g, "\"managedFields\":[");
    gval(g, 3);
    OUTS(g, "]},");
    sp(g);
    OUTS(g, "\"spec\":");
    gmap(g, 1, (int)(rnd(g) % 8));
    OUTS(g, ",\"status\":");
    gval(g, 1);
    if (rnd(g) % 2) {
        OUTS(g, ",\"extra\":");
        gval(g, 1);
    }
    OUTS(g, "}");
    sp(g);
}

static void
test_random(void **state)
{
    (void)state;
    gen g = {20261123, NULL, 0, 0};
    tally t = {0, 0, 0, 0}, bad = {0, 0, 0, 0};
    for (int i = 0; i < 3000; i++) {
        g.n = 0;
        gobject(&g);
        check_text(g.p, g.n, &t);
        /* mutations: truncation, one byte changed, one byte dropped */
        char *m = malloc(g.n + 1);
        size_t at = rnd(&g) % g.n;
        memcpy(m, g.p, g.n);
        check_text(m, at, &bad);
        static const char subst[] = "{}[]\",:\\x0 \x01\xff";
        m[at] = subst[rnd(&g) % (sizeof subst - 1)];
        check_text(m, g.n, &bad);
        memcpy(m, g.p, g.n);
        memmove(m + at, m + at + 1, g.n - at - 1);
        check_text(m, g.n - 1, &bad);
        free(m);
    }
    print_message("random: %zu fast equal, %zu fallbacks; mutated: %zu fast equal, %zu "
                  "fallbacks, %zu refused by both\n",
                  t.fast, t.fallback, bad.fast, bad.fallback, bad.refused);
    assert_true(t.fast > 20 * t.fallback); /* generated objects take the fast path */
    assert_true(bad.refused > 1000);
    free(g.p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
