/* test_store.c - store/: codec, slimming, indexes, change feed, resourceVersions,
 * identity, corrupt / foreign / stale files, map growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/jx.h"
#include "store/internal.h" /* white-box: the msgpack walker */
#include "store/store.h"

#include <dirent.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_) fail_msg("%s:%d: %s -> %d (%s)", __FILE__, __LINE__, #call, rc_, err_str(rc_));   \
    } while (0)

static json_object *
J(const char *s)
{
    const char *e = NULL;
    json_object *o = jx_parse(s, strlen(s), &e);
    if (!o) fail_msg("bad test JSON (%s): %s", e ? e : "?", s);
    return o;
}

static char *
tmpdir(void)
{
    char tmpl[] = "/tmp/test_store.XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void
rmdir_all(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4096];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
    free(dir);
}

static store *
open_store(const char *dir, size_t map, size_t max)
{
    store_open_opts o = {.map_size = map, .max_map_size = max};
    char err[256] = "";
    store *s = NULL;
    int rc = store_open(dir, &o, &s, err, sizeof err);
    if (rc) fail_msg("store_open: %s (%s)", err, err_str(rc));
    return s;
}

/* ---- codec ------------------------------------------------------------ */

static void
test_codec_roundtrip(void **state)
{
    (void)state;
    static const char *docs[] = {
        "{}",
        "{\"s\":\"h\\u00e9llo \\u2603 \\\"q\\\" \\\\ \\n\",\"empty\":\"\",\"nul\":\"a\\u0000b\"}",
        "{\"i\":0,\"n\":-1,\"big\":9223372036854775807,\"min\":-9223372036854775808,"
        "\"u\":18446744073709551615,\"small\":-33,\"pos\":127,\"mid\":4294967296}",
        "{\"t\":true,\"f\":false,\"z\":null,\"d\":1.5,\"neg\":-0.25,\"e\":1e300}",
        "{\"a\":[1,[2,[3,{\"x\":[]}]],null,\"s\",{}],\"m\":{\"a.b/c\":{\"d\":{\"e\":null}}}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        json_object *in = J(docs[i]), *out = NULL;
        char *buf;
        size_t len;
        CHECK(store_encode(STORE_KIND_COUNT, in, &buf, &len));
        CHECK(store_msgpack_to_json(buf, len, &out));
        if (!json_object_equal(in, out))
            fail_msg("round trip differs:\n in: %s\nout: %s", jx_dump(in), jx_dump(out));
        /* strings with embedded NUL keep their length */
        json_object *nul = jx_get(out, "nul");
        if (nul) assert_int_equal(json_object_get_string_len(nul), 3);
        json_object *u = jx_get(out, "u");
        if (u) assert_true(json_object_get_uint64(u) == UINT64_MAX);
        free(buf);
        json_object_put(in);
        json_object_put(out);
    }
    /* nesting: 32 containers (what msgpack-c reads back) round-trip, 33 are refused */
    for (int depth = 30; depth <= 34; depth++) {
        json_object *in = json_object_new_object(), *cur = json_object_new_int(1), *out = NULL;
        for (int i = 0; i < depth - 1; i++) {
            json_object *a = json_object_new_array();
            json_object_array_add(a, cur);
            cur = a;
        }
        json_object_object_add(in, "a", cur);
        char *buf;
        size_t len;
        int rc = store_encode(STORE_KIND_COUNT, in, &buf, &len);
        if (depth <= 32) {
            CHECK(rc);
            CHECK(store_msgpack_to_json(buf, len, &out));
            assert_true(json_object_equal(in, out));
            json_object_put(out);
            free(buf);
        } else {
            assert_int_equal(rc, ERR_TOOLARGE);
        }
        json_object_put(in);
    }
    /* garbage and truncated msgpack are refused */
    json_object *o = NULL;
    assert_int_equal(store_msgpack_to_json("\xc1", 1, &o), ERR_PARSE);
    assert_int_equal(store_msgpack_to_json("\x82\xa1x", 3, &o), ERR_PARSE);
    assert_int_equal(store_msgpack_to_json("\x81\xcc\xc8\x02", 4, &o),
                     ERR_PARSE); /* unknown key id */
    assert_null(o);
}

/* ---- slimming (table) ------------------------------------------------- */

typedef struct slim_row {
    const char *name;
    enum store_kind kind;
    const char *in, *want;
} slim_row;

#define MD_IN                                                                                      \
    "\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"uid\":\"u1\",\"labels\":{\"k\":\"v\"},"    \
    "\"managedFields\":[{\"manager\":\"m\",\"fieldsV1\":{}}],\"deletionTimestamp\":\"t\","         \
    "\"ownerReferences\":[{\"kind\":\"Sandbox\",\"name\":\"s\",\"uid\":\"o\",\"controller\":true}" \
    "]}"
#define MD_OUT                                                                                     \
    "\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"uid\":\"u1\",\"labels\":{\"k\":\"v\"},"    \
    "\"deletionTimestamp\":\"t\","                                                                 \
    "\"ownerReferences\":[{\"kind\":\"Sandbox\",\"name\":\"s\",\"uid\":\"o\",\"controller\":true}" \
    "]}"

static const slim_row slim_rows[] = {
    {"pod keeps nodeName, phase, conditions, podIPs", STORE_POD,
     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"," MD_IN
     ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\"}],\"volumes\":[]},"
     "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
     "\"podIPs\":[{\"ip\":\"10.0.0.1\"}],\"containerStatuses\":[{\"name\":\"c\"}],\"qosClass\":"
     "\"B\"}}",
     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"," MD_OUT ",\"spec\":{\"nodeName\":\"n1\"},"
     "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
     "\"podIPs\":[{\"ip\":\"10.0.0.1\"}]}}"},
    {"pod without spec or status", STORE_POD, "{" MD_IN "}", "{" MD_OUT "}"},
    {"service drops status", STORE_SERVICE,
     "{" MD_IN ",\"spec\":{\"clusterIP\":\"None\",\"ports\":[]},\"status\":{\"loadBalancer\":{}}}",
     "{" MD_OUT ",\"spec\":{\"clusterIP\":\"None\",\"ports\":[]}}"},
    {"pvc keeps metadata only", STORE_PVC,
     "{\"kind\":\"PersistentVolumeClaim\"," MD_IN
     ",\"spec\":{\"resources\":{}},\"status\":{\"phase\":\"Bound\"}}",
     "{\"kind\":\"PersistentVolumeClaim\"," MD_OUT "}"},
    {"networkpolicy keeps spec", STORE_NETPOL, "{" MD_IN ",\"spec\":{\"podSelector\":{}}}",
     "{" MD_OUT ",\"spec\":{\"podSelector\":{}}}"},
    {"sandbox keeps everything but managedFields", STORE_SANDBOX,
     "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\"," MD_IN
     ",\"spec\":{\"podTemplate\":{\"spec\":{}}},\"status\":{\"x\":1},\"extra\":[1]}",
     "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\"," MD_OUT
     ",\"spec\":{\"podTemplate\":{\"spec\":{}}},\"status\":{\"x\":1},\"extra\":[1]}"},
    {"claim keeps everything but managedFields", STORE_CLAIM,
     "{" MD_IN ",\"spec\":{\"warmPoolRef\":{\"name\":\"p\"}},\"status\":{}}",
     "{" MD_OUT ",\"spec\":{\"warmPoolRef\":{\"name\":\"p\"}},\"status\":{}}"},
    {"pod spec of a wrong type is kept as is", STORE_POD, "{" MD_IN ",\"spec\":5}",
     "{" MD_OUT ",\"spec\":5}"},
};

static void
test_slim(void **state)
{
    const slim_row *row = *state;
    json_object *in = J(row->in), *want = J(row->want), *got = NULL;
    char *buf;
    size_t len;
    CHECK(store_encode(row->kind, in, &buf, &len));
    CHECK(store_msgpack_to_json(buf, len, &got));
    if (!json_object_equal(want, got))
        fail_msg("%s:\nwant %s\n got %s", row->name, jx_dump(want), jx_dump(got));
    free(buf);
    json_object_put(in);
    json_object_put(want);
    json_object_put(got);
}

/* ---- helpers over a store --------------------------------------------- */

static json_object *
mkobj(const char *ns, const char *name, const char *uid, const char *owner_kind,
      const char *owner_uid, const char *lblkey, const char *lblval, const char *extra)
{
    char buf[2048];
    char owner[512] = "", lbl[256] = "";
    if (owner_uid)
        snprintf(owner, sizeof owner,
                 ",\"ownerReferences\":[{\"apiVersion\":\"x/v1\",\"kind\":\"Other\",\"name\":"
                 "\"nc\",\"uid\":\"nc-uid\"},{\"apiVersion\":\"x/v1\",\"kind\":\"%s\",\"name\":"
                 "\"%s-owner\",\"uid\":\"%s\",\"controller\":true}]",
                 owner_kind, owner_uid, owner_uid);
    if (lblkey)
        snprintf(lbl, sizeof lbl, ",\"labels\":{\"%s\":\"%s\",\"x\":\"y\"}", lblkey, lblval);
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"uid\":\"%s\"%s%s}%s%s}", ns,
             name, uid, owner, lbl, extra ? "," : "", extra ? extra : "");
    return J(buf);
}

static void
put(store *s, enum store_kind k, json_object *o)
{
    store_wtxn *w;
    CHECK(store_wtxn_begin(s, &w));
    CHECK(store_put(w, k, o));
    CHECK(store_wtxn_commit(w));
    json_object_put(o);
}

static void
del(store *s, enum store_kind k, const char *ns, const char *name)
{
    store_wtxn *w;
    CHECK(store_wtxn_begin(s, &w));
    CHECK(store_delete(w, k, ns, name));
    CHECK(store_wtxn_commit(w));
}

typedef struct names {
    char buf[4096];
    int n;
} names;

static int
collect(const store_item *it, void *udata)
{
    names *nm = udata;
    size_t l = strlen(nm->buf);
    snprintf(nm->buf + l, sizeof nm->buf - l, "%s%s/%s", l ? "," : "", it->ns, it->name);
    nm->n++;
    /* the view decodes and names the object it is listed under */
    json_object *o = NULL;
    CHECK(store_decode(it, &o));
    assert_string_equal(jx_str(o, "metadata.name"), it->name);
    assert_string_equal(jx_str(o, "metadata.namespace"), it->ns);
    json_object_put(o);
    return 0;
}

enum q { Q_CHILDREN, Q_PODHASH, Q_POOLSB, Q_CLAIMPOOL, Q_LIST };

static const char *
query(store *s, enum q q, enum store_kind kind, const char *ns, const char *key, names *nm)
{
    store_rtxn *r;
    memset(nm, 0, sizeof *nm);
    CHECK(store_rtxn_begin(s, &r));
    switch (q) {
    case Q_CHILDREN:
        CHECK(store_children(r, key, kind, collect, nm));
        break;
    case Q_PODHASH:
        CHECK(store_pods_by_hash(r, ns, key, collect, nm));
        break;
    case Q_POOLSB:
        CHECK(store_sandboxes_by_pool(r, ns, key, collect, nm));
        break;
    case Q_CLAIMPOOL:
        CHECK(store_claims_by_pool(r, ns, key, collect, nm));
        break;
    case Q_LIST:
        CHECK(store_list(r, kind, ns, collect, nm));
        break;
    }
    store_rtxn_end(r);
    return nm->buf;
}

/* ---- objects and indexes ---------------------------------------------- */

#define HASH "agents.x-k8s.io/sandbox-name-hash"
#define POOL "agents.x-k8s.io/warm-pool-sandbox"

static void
test_put_get(void **state)
{
    char *dir = tmpdir();
    store *s = open_store(dir, 0, 0);
    store_rtxn *r;
    json_object *o, *in;
    (void)state;

    in = mkobj("ns1", "sb1", "u-sb1", NULL, NULL, POOL, "h1",
               "\"spec\":{\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}}");
    json_object *want = json_object_get(in);
    put(s, STORE_SANDBOX, in);
    CHECK(store_rtxn_begin(s, &r));
    CHECK(store_get(r, STORE_SANDBOX, "ns1", "sb1", &o));
    assert_true(json_object_equal(o, want));
    json_object_put(o);
    assert_int_equal(store_get(r, STORE_SANDBOX, "ns1", "nope", &o), ERR_NOTFOUND);
    assert_int_equal(store_get(r, STORE_POD, "ns1", "sb1", &o), ERR_NOTFOUND);
    assert_int_equal(store_get(r, STORE_SANDBOX, "ns", "1sb1", &o), ERR_NOTFOUND);
    size_t n;
    CHECK(store_count(r, STORE_SANDBOX, &n));
    assert_int_equal(n, 1);
    store_rtxn_end(r);
    json_object_put(want);

    /* bad objects are refused and leave the txn usable */
    store_wtxn *w;
    CHECK(store_wtxn_begin(s, &w));
    json_object *bad[] = {J("{\"metadata\":{\"name\":\"x\"}}"),
                          J("{\"metadata\":{\"namespace\":\"n\"}}"),
                          J("{\"metadata\":{\"namespace\":\"\",\"name\":\"x\"}}"),
                          J("{\"metadata\":{\"namespace\":\"n\",\"name\":7}}"),
                          J("{\"metadata\":{\"namespace\":\"n\",\"name\":\"a\\u0000b\"}}"),
                          J("[1,2]"),
                          J("{}")};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(store_put(w, STORE_POD, bad[i]), ERR_INVALID);
        json_object_put(bad[i]);
    }
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(store_delete(w, STORE_POD, "n", longname), ERR_INVALID);
    CHECK(store_put(w, STORE_POD, (o = mkobj("ns1", "p1", "u-p1", NULL, NULL, NULL, NULL, NULL))));
    json_object_put(o);
    CHECK(store_wtxn_commit(w));
    names nm;
    assert_string_equal(query(s, Q_LIST, STORE_POD, NULL, NULL, &nm), "ns1/p1");
    store_close(s);
    rmdir_all(dir);
}

static void
test_list_namespaces(void **state)
{
    char *dir = tmpdir();
    store *s = open_store(dir, 0, 0);
    names nm;
    (void)state;
    /* "a" is a prefix of "ab": the NUL separator keeps them apart */
    put(s, STORE_SERVICE, mkobj("ab", "x", "1", NULL, NULL, NULL, NULL, NULL));
    put(s, STORE_SERVICE, mkobj("a", "y", "2", NULL, NULL, NULL, NULL, NULL));
    put(s, STORE_SERVICE, mkobj("a", "b", "3", NULL, NULL, NULL, NULL, NULL));
    put(s, STORE_SERVICE, mkobj("b", "a", "4", NULL, NULL, NULL, NULL, NULL));
    assert_string_equal(query(s, Q_LIST, STORE_SERVICE, "a", NULL, &nm), "a/b,a/y");
    assert_string_equal(query(s, Q_LIST, STORE_SERVICE, "ab", NULL, &nm), "ab/x");
    assert_string_equal(query(s, Q_LIST, STORE_SERVICE, "c", NULL, &nm), "");
    assert_string_equal(query(s, Q_LIST, STORE_SERVICE, NULL, NULL, &nm), "a/b,a/y,ab/x,b/a");
    store_close(s);
    rmdir_all(dir);
}

static void
test_indexes(void **state)
{
    char *dir = tmpdir();
    store *s = open_store(dir, 0, 0);
    names nm;
    (void)state;

    put(s, STORE_POD, mkobj("n", "p1", "u1", "Sandbox", "sbA", HASH, "h1", NULL));
    put(s, STORE_POD, mkobj("n", "p2", "u2", "Sandbox", "sbA", HASH, "h1", NULL));
    put(s, STORE_POD, mkobj("m", "p3", "u3", "Sandbox", "sbB", HASH, "h1", NULL));
    put(s, STORE_SERVICE, mkobj("n", "svc", "u4", "Sandbox", "sbA", HASH, "h1", NULL));
    put(s, STORE_SANDBOX, mkobj("n", "s1", "u5", "SandboxWarmPool", "poolA", POOL, "ph", NULL));
    put(s, STORE_SANDBOX, mkobj("n", "s2", "u6", "SandboxWarmPool", "poolA", POOL, "ph", NULL));
    put(s, STORE_CLAIM,
        mkobj("n", "c1", "u7", NULL, NULL, NULL, NULL,
              "\"spec\":{\"warmPoolRef\":{\"name\":\"pool\"}}"));
    put(s, STORE_CLAIM,
        mkobj("n", "c2", "u8", NULL, NULL, NULL, NULL,
              "\"spec\":{\"warmPoolRef\":{\"name\":\"pool\"}}"));

    assert_string_equal(query(s, Q_CHILDREN, STORE_KIND_COUNT, NULL, "sbA", &nm),
                        "n/p1,n/p2,n/svc");
    assert_string_equal(query(s, Q_CHILDREN, STORE_POD, NULL, "sbA", &nm), "n/p1,n/p2");
    assert_string_equal(query(s, Q_CHILDREN, STORE_SERVICE, NULL, "sbA", &nm), "n/svc");
    assert_string_equal(query(s, Q_CHILDREN, STORE_POD, NULL, "nc-uid", &nm),
                        ""); /* not controller */
    assert_string_equal(query(s, Q_PODHASH, 0, "n", "h1", &nm), "n/p1,n/p2");
    assert_string_equal(query(s, Q_PODHASH, 0, "m", "h1", &nm), "m/p3");
    assert_string_equal(query(s, Q_POOLSB, 0, "n", "ph", &nm), "n/s1,n/s2");
    assert_string_equal(query(s, Q_CLAIMPOOL, 0, "n", "pool", &nm), "n/c1,n/c2");
    assert_string_equal(query(s, Q_CLAIMPOOL, 0, "m", "pool", &nm), "");

    /* label change moves the entry; owner change moves the child */
    put(s, STORE_POD, mkobj("n", "p2", "u2", "Sandbox", "sbC", HASH, "h2", NULL));
    assert_string_equal(query(s, Q_PODHASH, 0, "n", "h1", &nm), "n/p1");
    assert_string_equal(query(s, Q_PODHASH, 0, "n", "h2", &nm), "n/p2");
    assert_string_equal(query(s, Q_CHILDREN, STORE_POD, NULL, "sbA", &nm), "n/p1");
    assert_string_equal(query(s, Q_CHILDREN, STORE_POD, NULL, "sbC", &nm), "n/p2");
    /* claim adoption: pool label removed, owner moves to the claim */
    put(s, STORE_SANDBOX, mkobj("n", "s1", "u5", "SandboxClaim", "u7", NULL, NULL, NULL));
    assert_string_equal(query(s, Q_POOLSB, 0, "n", "ph", &nm), "n/s2");
    assert_string_equal(query(s, Q_CHILDREN, STORE_SANDBOX, NULL, "poolA", &nm), "n/s2");
    assert_string_equal(query(s, Q_CHILDREN, STORE_SANDBOX, NULL, "u7", &nm), "n/s1");
    put(s, STORE_CLAIM,
        mkobj("n", "c2", "u8", NULL, NULL, NULL, NULL,
              "\"spec\":{\"warmPoolRef\":{\"name\":\"other\"}}"));
    assert_string_equal(query(s, Q_CLAIMPOOL, 0, "n", "pool", &nm), "n/c1");
    assert_string_equal(query(s, Q_CLAIMPOOL, 0, "n", "other", &nm), "n/c2");

    /* deletes remove every entry */
    del(s, STORE_POD, "n", "p1");
    del(s, STORE_POD, "n", "p1"); /* absent: fine */
    del(s, STORE_SERVICE, "n", "svc");
    del(s, STORE_SANDBOX, "n", "s2");
    del(s, STORE_CLAIM, "n", "c1");
    assert_string_equal(query(s, Q_PODHASH, 0, "n", "h1", &nm), "");
    assert_string_equal(query(s, Q_CHILDREN, STORE_KIND_COUNT, NULL, "sbA", &nm), "");
    assert_string_equal(query(s, Q_POOLSB, 0, "n", "ph", &nm), "");
    assert_string_equal(query(s, Q_CHILDREN, STORE_KIND_COUNT, NULL, "poolA", &nm), "");
    assert_string_equal(query(s, Q_CLAIMPOOL, 0, "n", "pool", &nm), "");
    assert_string_equal(query(s, Q_PODHASH, 0, "n", "h2", &nm), "n/p2");
    store_close(s);
    rmdir_all(dir);
}

/* Random operations against a model; after each batch every index matches a
 * brute-force scan of the objects. */
typedef struct model_obj {
    int present, owner, hash;
} model_obj;

typedef struct scan_ctx {
    const model_obj *m;
    int n;
    int seen;
    const char *want_owner;
    int want_hash;
} scan_ctx;

static int
check_child(const store_item *it, void *udata)
{
    scan_ctx *c = udata;
    int i = atoi(it->name + 1);
    char ou[16];
    assert_true(i >= 0 && i < c->n);
    assert_true(c->m[i].present);
    snprintf(ou, sizeof ou, "o%d", c->m[i].owner);
    assert_string_equal(ou, c->want_owner);
    c->seen++;
    return 0;
}

static int
check_hash(const store_item *it, void *udata)
{
    scan_ctx *c = udata;
    int i = atoi(it->name + 1);
    assert_true(c->m[i].present);
    assert_int_equal(c->m[i].hash, c->want_hash);
    c->seen++;
    return 0;
}

static void
test_random_consistency(void **state)
{
    enum { N = 120, OWNERS = 5, HASHES = 4, ROUNDS = 40 };
    char *dir = tmpdir();
    store *s = open_store(dir, 0, 0);
    model_obj m[N];
    unsigned seed = 12345;
    (void)state;
    memset(m, 0, sizeof m);

    for (int round = 0; round < ROUNDS; round++) {
        store_wtxn *w;
        CHECK(store_wtxn_begin(s, &w));
        for (int op = 0; op < 25; op++) {
            int i = (int)(rand_r(&seed) % N);
            char name[16], own[16], h[16], uid[16];
            snprintf(name, sizeof name, "p%d", i);
            if (m[i].present && rand_r(&seed) % 4 == 0) {
                CHECK(store_delete(w, STORE_POD, "ns", name));
                m[i].present = 0;
                continue;
            }
            m[i].present = 1;
            m[i].owner = (int)(rand_r(&seed) % OWNERS);
            m[i].hash = (int)(rand_r(&seed) % (HASHES + 1)); /* HASHES: no label */
            snprintf(own, sizeof own, "o%d", m[i].owner);
            snprintf(h, sizeof h, "h%d", m[i].hash);
            snprintf(uid, sizeof uid, "u%d", i);
            json_object *o =
                mkobj("ns", name, uid, "Sandbox", own, m[i].hash < HASHES ? HASH : NULL, h, NULL);
            CHECK(store_put(w, STORE_POD, o));
            json_object_put(o);
        }
        CHECK(store_wtxn_commit(w));

        store_rtxn *r;
        CHECK(store_rtxn_begin(s, &r));
        int present = 0, by_owner[OWNERS] = {0}, by_hash[HASHES] = {0};
        for (int i = 0; i < N; i++) {
            if (!m[i].present) continue;
            present++;
            by_owner[m[i].owner]++;
            if (m[i].hash < HASHES) by_hash[m[i].hash]++;
        }
        size_t cnt;
        CHECK(store_count(r, STORE_POD, &cnt));
        assert_int_equal(cnt, present);
        for (int o = 0; o < OWNERS; o++) {
            char ou[16];
            snprintf(ou, sizeof ou, "o%d", o);
            scan_ctx c = {m, N, 0, ou, 0};
            CHECK(store_children(r, ou, STORE_POD, check_child, &c));
            assert_int_equal(c.seen, by_owner[o]);
        }
        for (int h = 0; h < HASHES; h++) {
            char hs[16];
            snprintf(hs, sizeof hs, "h%d", h);
            scan_ctx c = {m, N, 0, NULL, h};
            CHECK(store_pods_by_hash(r, "ns", hs, check_hash, &c));
            assert_int_equal(c.seen, by_hash[h]);
        }
        store_rtxn_end(r);
    }
    store_close(s);
    rmdir_all(dir);
}

/* ---- change feed -------------------------------------------------------- */

typedef struct feed_log {
    char lines[32][256];
    int n, calls;
} feed_log;

static void
on_feed(const store_change *ch, size_t n, void *udata)
{
    feed_log *f = udata;
    static const char *t[] = {"", "ADDED", "MODIFIED", "DELETED"};
    f->calls++;
    for (size_t i = 0; i < n && f->n < 32; i++) {
        const store_change *c = &ch[i];
        snprintf(f->lines[f->n++], 256, "%s %s %s/%s uid=%s owner=%s/%s/%s old=%s/%s/%s",
                 t[c->type], store_kind_name(c->kind), c->ns, c->name, c->uid ? c->uid : "-",
                 c->owner_kind ? c->owner_kind : "-", c->owner_name ? c->owner_name : "-",
                 c->owner_uid ? c->owner_uid : "-", c->old_owner_kind ? c->old_owner_kind : "-",
                 c->old_owner_name ? c->old_owner_name : "-",
                 c->old_owner_uid ? c->old_owner_uid : "-");
    }
}

static void
test_feed(void **state)
{
    char *dir = tmpdir();
    store *s = open_store(dir, 0, 0);
    feed_log f;
    store_wtxn *w;
    json_object *o;
    (void)state;
    memset(&f, 0, sizeof f);
    store_set_feed(s, on_feed, &f);

    CHECK(store_wtxn_begin(s, &w));
    CHECK(store_put(w, STORE_SANDBOX,
                    (o = mkobj("n", "s1", "u1", "SandboxWarmPool", "P", POOL, "ph", NULL))));
    json_object_put(o);
    CHECK(store_put(w, STORE_POD, (o = mkobj("n", "s1", "u2", "Sandbox", "u1", HASH, "h", NULL))));
    json_object_put(o);
    assert_int_equal(store_wtxn_changes(w), 2);
    assert_int_equal(f.calls, 0); /* nothing before commit */
    CHECK(store_wtxn_commit(w));
    assert_int_equal(f.calls, 1);

    CHECK(store_wtxn_begin(s, &w));
    /* identical content: no change */
    CHECK(store_put(w, STORE_POD, (o = mkobj("n", "s1", "u2", "Sandbox", "u1", HASH, "h", NULL))));
    json_object_put(o);
    /* managedFields-only difference is slimmed away: no change either */
    o = mkobj("n", "s1", "u2", "Sandbox", "u1", HASH, "h", NULL);
    json_object_object_add(json_object_object_get(o, "metadata"), "managedFields", J("[{}]"));
    CHECK(store_put(w, STORE_POD, o));
    json_object_put(o);
    assert_int_equal(store_wtxn_changes(w), 0);
    /* owner moves (claim adoption) */
    CHECK(store_put(w, STORE_SANDBOX,
                    (o = mkobj("n", "s1", "u1", "SandboxClaim", "C", NULL, NULL, NULL))));
    json_object_put(o);
    CHECK(store_delete(w, STORE_POD, "n", "s1"));
    CHECK(store_delete(w, STORE_POD, "n", "never"));
    CHECK(store_wtxn_commit(w));
    assert_int_equal(f.calls, 2);

    /* aborted batches emit nothing */
    CHECK(store_wtxn_begin(s, &w));
    CHECK(store_put(w, STORE_POD, (o = mkobj("n", "zz", "u9", NULL, NULL, NULL, NULL, NULL))));
    json_object_put(o);
    store_wtxn_abort(w);
    /* an empty commit calls nothing */
    CHECK(store_wtxn_begin(s, &w));
    CHECK(store_wtxn_commit(w));
    assert_int_equal(f.calls, 2);

    static const char *want[] = {
        "ADDED sandbox n/s1 uid=u1 owner=SandboxWarmPool/P-owner/P old=-/-/-",
        "ADDED pod n/s1 uid=u2 owner=Sandbox/u1-owner/u1 old=-/-/-",
        "MODIFIED sandbox n/s1 uid=u1 owner=SandboxClaim/C-owner/C "
        "old=SandboxWarmPool/P-owner/P",
        "DELETED pod n/s1 uid=u2 owner=Sandbox/u1-owner/u1 old=-/-/-",
    };
    assert_int_equal(f.n, 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(f.lines[i], want[i]);
    store_rtxn *r;
    CHECK(store_rtxn_begin(s, &r));
    assert_int_equal(store_get(r, STORE_POD, "n", "zz", &o), ERR_NOTFOUND);
    store_rtxn_end(r);
    store_close(s);
    rmdir_all(dir);
}

/* ---- persistence, identity, damage ----------------------------------------- */

static void
test_rv_persisted(void **state)
{
    char *dir = tmpdir();
    store *s = open_store(dir, 0, 0);
    store_wtxn *w;
    store_rtxn *r;
    char rv[STORE_MAX_RV + 1];
    json_object *o;
    (void)state;

    CHECK(store_rtxn_begin(s, &r));
    assert_int_equal(store_get_rv(r, STORE_POD, rv, sizeof rv), ERR_NOTFOUND);
    store_rtxn_end(r);
    CHECK(store_wtxn_begin(s, &w));
    CHECK(store_put(w, STORE_POD, (o = mkobj("n", "p", "u", NULL, NULL, NULL, NULL, NULL))));
    json_object_put(o);
    CHECK(store_set_rv(w, STORE_POD, "1234"));
    CHECK(store_set_rv(w, STORE_SANDBOX, "77"));
    CHECK(store_set_rv(w, STORE_POD, "1240")); /* last one wins */
    CHECK(store_wtxn_commit(w));
    /* an aborted batch does not move the rv */
    CHECK(store_wtxn_begin(s, &w));
    CHECK(store_set_rv(w, STORE_POD, "9999"));
    store_wtxn_abort(w);
    store_close(s);

    s = open_store(dir, 0, 0);
    CHECK(store_rtxn_begin(s, &r));
    CHECK(store_get_rv(r, STORE_POD, rv, sizeof rv));
    assert_string_equal(rv, "1240");
    CHECK(store_get_rv(r, STORE_SANDBOX, rv, sizeof rv));
    assert_string_equal(rv, "77");
    assert_int_equal(store_get_rv(r, STORE_CLAIM, rv, sizeof rv), ERR_NOTFOUND);
    assert_int_equal(store_get_rv(r, STORE_POD, rv, 3), ERR_TOOLARGE);
    CHECK(store_get(r, STORE_POD, "n", "p", &o));
    json_object_put(o);
    store_rtxn_end(r);
    CHECK(store_wtxn_begin(s, &w));
    CHECK(store_set_rv(w, STORE_SANDBOX, NULL));
    CHECK(store_wtxn_commit(w));
    CHECK(store_rtxn_begin(s, &r));
    assert_int_equal(store_get_rv(r, STORE_SANDBOX, rv, sizeof rv), ERR_NOTFOUND);
    store_rtxn_end(r);
    store_close(s);
    rmdir_all(dir);
}

static size_t
count(store *s, enum store_kind k)
{
    store_rtxn *r;
    size_t n;
    CHECK(store_rtxn_begin(s, &r));
    CHECK(store_count(r, k, &n));
    store_rtxn_end(r);
    return n;
}

static void
fill(store *s)
{
    store_wtxn *w;
    json_object *o;
    CHECK(store_wtxn_begin(s, &w));
    CHECK(store_put(w, STORE_POD, (o = mkobj("n", "p", "u", "Sandbox", "S", HASH, "h", NULL))));
    json_object_put(o);
    CHECK(store_set_rv(w, STORE_POD, "5"));
    CHECK(store_wtxn_commit(w));
}

static void
test_identity(void **state)
{
    char *dir = tmpdir();
    store *s = open_store(dir, 0, 0);
    int discarded = -1;
    names nm;
    (void)state;

    CHECK(store_check_identity(s, "https://a:6443", "crd-1", &discarded));
    assert_int_equal(discarded, 1); /* nothing recorded yet */
    fill(s);
    CHECK(store_check_identity(s, "https://a:6443", "crd-1", &discarded));
    assert_int_equal(discarded, 0);
    assert_int_equal(count(s, STORE_POD), 1);
    store_close(s);

    s = open_store(dir, 0, 0);
    CHECK(store_check_identity(s, "https://a:6443", "crd-1", &discarded));
    assert_int_equal(discarded, 0);
    assert_int_equal(count(s, STORE_POD), 1);
    /* another CRD uid (cluster recreated): everything goes, indexes and rvs too */
    CHECK(store_check_identity(s, "https://a:6443", "crd-2", &discarded));
    assert_int_equal(discarded, 1);
    assert_int_equal(count(s, STORE_POD), 0);
    assert_string_equal(query(s, Q_PODHASH, 0, "n", "h", &nm), "");
    assert_string_equal(query(s, Q_CHILDREN, STORE_KIND_COUNT, NULL, "S", &nm), "");
    store_rtxn *r;
    char rv[32];
    CHECK(store_rtxn_begin(s, &r));
    assert_int_equal(store_get_rv(r, STORE_POD, rv, sizeof rv), ERR_NOTFOUND);
    store_rtxn_end(r);
    fill(s);
    /* another server */
    CHECK(store_check_identity(s, "https://b:6443", "crd-2", &discarded));
    assert_int_equal(discarded, 1);
    assert_int_equal(count(s, STORE_POD), 0);
    assert_int_equal(store_check_identity(s, "", "x", NULL), ERR_INVALID);
    fill(s);
    CHECK(store_reset(s));
    assert_int_equal(count(s, STORE_POD), 0);
    CHECK(store_check_identity(s, "https://b:6443", "crd-2", &discarded));
    assert_int_equal(discarded, 1); /* reset forgot the identity too */
    store_close(s);
    rmdir_all(dir);
}

static void
overwrite(const char *dir, const char *file, long off, const char *bytes, size_t n)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, off, SEEK_SET);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static void
test_corrupt_file(void **state)
{
    char *dir = tmpdir();
    store *s = open_store(dir, 0, 0);
    char garbage[8192];
    (void)state;
    fill(s);
    store_close(s);
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (char)(i * 7 + 3);
    overwrite(dir, "data.mdb", 0, garbage, sizeof garbage); /* both meta pages */
    s = open_store(dir, 0, 0);
    assert_int_equal(count(s, STORE_POD), 0);
    fill(s); /* usable after the rebuild */
    assert_int_equal(count(s, STORE_POD), 1);
    store_close(s);
    /* a file that is not LMDB at all */
    char p[4096];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    FILE *f = fopen(p, "wb");
    fputs("hello, not a database", f);
    fclose(f);
    s = open_store(dir, 0, 0);
    assert_int_equal(count(s, STORE_POD), 0);
    store_close(s);
    rmdir_all(dir);
}

/* A valid LMDB environment written by someone else, and one of ours with an
 * older schema version: both are discarded. */
static void
raw_env(const char *dir, const char *db, const char *key, const char *val)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {strlen(key), (void *)key}, v = {strlen(val), (void *)val};
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void
test_foreign_and_schema(void **state)
{
    char *dir = tmpdir();
    store *s;
    (void)state;
    raw_env(dir, NULL, "somebody", "else");
    s = open_store(dir, 0, 0);
    fill(s);
    assert_int_equal(count(s, STORE_POD), 1);
    store_close(s);
    raw_env(dir, "meta", "schema", "0"); /* pretend an older version wrote it */
    s = open_store(dir, 0, 0);
    assert_int_equal(count(s, STORE_POD), 0);
    fill(s);
    store_close(s);
    s = open_store(dir, 0, 0); /* our own schema: kept */
    assert_int_equal(count(s, STORE_POD), 1);
    store_close(s);
    rmdir_all(dir);
}

static void
test_map_grows(void **state)
{
    char *dir = tmpdir();
    store *s = open_store(dir, 64 << 10, 64 << 20); /* 64 KiB, may grow to 64 MiB */
    store_wtxn *w;
    store_stats st;
    char name[32], pad[600];
    names nm;
    (void)state;
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = 0;
    CHECK(store_wtxn_begin(s, &w));
    for (int i = 0; i < 3000; i++) {
        char extra[700];
        snprintf(name, sizeof name, "p%05d", i);
        snprintf(extra, sizeof extra, "\"spec\":{\"pad\":\"%s\"}", pad);
        json_object *o =
            mkobj("n", name, name, "Sandbox", i % 2 ? "odd" : "even", POOL, "ph", extra);
        CHECK(store_put(w, STORE_SANDBOX, o));
        json_object_put(o);
    }
    CHECK(store_set_rv(w, STORE_SANDBOX, "42"));
    assert_int_equal(store_wtxn_changes(w), 3000);
    CHECK(store_wtxn_commit(w));
    CHECK(store_get_stats(s, &st));
    assert_true(st.grows > 0);
    assert_true(st.map_size > (64 << 10));
    assert_int_equal(count(s, STORE_SANDBOX), 3000);
    query(s, Q_CHILDREN, STORE_SANDBOX, NULL, "odd", &nm);
    assert_int_equal(nm.n, 1500);
    store_close(s);
    rmdir_all(dir);

    /* a map that may not grow: a clear ERR_FULL, nothing half-written */
    dir = tmpdir();
    s = open_store(dir, 256 << 10, 256 << 10);
    fill(s);
    CHECK(store_wtxn_begin(s, &w));
    int rc = 0;
    for (int i = 0; i < 3000 && !rc; i++) {
        char extra[700];
        snprintf(name, sizeof name, "q%05d", i);
        snprintf(extra, sizeof extra, "\"spec\":{\"pad\":\"%s\"}", pad);
        json_object *o = mkobj("n", name, name, NULL, NULL, NULL, NULL, extra);
        rc = store_put(w, STORE_SANDBOX, o);
        json_object_put(o);
    }
    assert_int_equal(rc, ERR_FULL);
    assert_int_equal(store_wtxn_commit(w), ERR_INVALID); /* the batch is refused whole */
    assert_int_equal(count(s, STORE_SANDBOX), 0);
    assert_int_equal(count(s, STORE_POD), 1);
    fill(s); /* still usable */
    store_close(s);
    rmdir_all(dir);
}

static void
test_open_errors(void **state)
{
    store *s = (store *)1;
    char err[256] = "";
    (void)state;
    assert_int_equal(store_open("", NULL, &s, err, sizeof err), ERR_CONFIG);
    assert_null(s);
    assert_true(store_open("/proc/nonexistent/cache", NULL, &s, err, sizeof err) < 0);
    assert_null(s);
    assert_non_null(strstr(err, "/proc/nonexistent/cache"));
    store_close(NULL);
}

/* The walker reads stored bytes that may be damaged: every truncation and
 * random byte changes give an error or a result, never a crash or a read out
 * of bounds (ASan build). */
static int
count_items(const store_item *it, void *udata)
{
    (void)it;
    (*(int *)udata)++;
    return 0;
}

static void
test_walker_damage(void **state)
{
    json_object *o = mkobj("ns", "name", "uid-1", "SandboxWarmPool", "own", POOL, "ph",
                           "\"spec\":{\"warmPoolRef\":{\"name\":\"p\"},\"x\":[1,2.5,null,true,"
                           "\"s\",{\"k\":-70000}]}");
    char *buf;
    size_t len;
    store__keys k;
    unsigned seed = 99;
    (void)state;
    CHECK(store_encode(STORE_CLAIM, o, &buf, &len));
    CHECK(store__keys_extract(STORE_CLAIM, buf, len, &k));
    assert_int_equal(k.own_uid.n, 3);
    assert_memory_equal(k.own_uid.p, "own", 3);
    assert_int_equal(k.idx_val[STORE_IDX_CLAIMPOOL].n, 1);
    for (size_t n = 0; n < len; n++) {
        char *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        assert_int_not_equal(store__keys_extract(STORE_CLAIM, cut, n, &k), 0);
        free(cut);
    }
    for (int round = 0; round < 2000; round++) {
        char *bad = malloc(len);
        memcpy(bad, buf, len);
        for (int j = 0; j < 3; j++)
            bad[rand_r(&seed) % len] = (char)rand_r(&seed);
        (void)store__keys_extract(STORE_CLAIM, bad, len, &k);
        json_object *j = NULL;
        if (store_msgpack_to_json(bad, len, &j) == 0) json_object_put(j);
        free(bad);
    }
    free(buf);
    json_object_put(o);
}

/* Readers on worker threads while the writer commits batches and the map
 * grows under them: every read txn sees a whole batch (counts in steps of
 * 100, index in step with the objects), nothing fails. */
typedef struct reader_arg {
    store *s;
    atomic_int *stop;
    int reads, bad;
} reader_arg;

static void *
reader(void *p)
{
    reader_arg *a = p;
    while (!atomic_load(a->stop)) {
        store_rtxn *r;
        size_t n = 0;
        names nm;
        if (store_rtxn_begin(a->s, &r)) {
            a->bad++;
            continue;
        }
        if (store_count(r, STORE_POD, &n)) a->bad++;
        memset(&nm, 0, sizeof nm);
        int idx = 0;
        if (store_children(r, "owner", STORE_POD, count_items, &idx)) a->bad++;
        if (n % 100 != 0 || (size_t)idx != n) a->bad++;
        store_rtxn_end(r);
        a->reads++;
    }
    return NULL;
}

static void
test_concurrent_readers(void **state)
{
    char *dir = tmpdir();
    store *s = open_store(dir, 64 << 10, 256 << 20);
    atomic_int stop = 0;
    reader_arg args[3];
    pthread_t th[3];
    store_stats st;
    (void)state;
    for (int i = 0; i < 3; i++) {
        args[i] = (reader_arg){s, &stop, 0, 0};
        pthread_create(&th[i], NULL, reader, &args[i]);
    }
    for (int b = 0; b < 40; b++) {
        store_wtxn *w;
        CHECK(store_wtxn_begin(s, &w));
        for (int i = 0; i < 100; i++) {
            char name[32];
            snprintf(name, sizeof name, "p%d-%d", b, i);
            json_object *o =
                mkobj("ns", name, name, "Sandbox", "owner", HASH, "h",
                      "\"spec\":{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}");
            CHECK(store_put(w, STORE_POD, o));
            json_object_put(o);
        }
        CHECK(store_wtxn_commit(w));
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].bad, 0);
        assert_true(args[i].reads > 0);
    }
    CHECK(store_get_stats(s, &st));
    assert_true(st.grows > 0);
    assert_int_equal(count(s, STORE_POD), 4000);
    store_close(s);
    rmdir_all(dir);
}

int
main(void)
{
    struct CMUnitTest tests[64];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_codec_roundtrip);
    for (size_t i = 0; i < sizeof slim_rows / sizeof *slim_rows; i++) {
        tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_slim, (void *)&slim_rows[i]);
        tests[n++].name = slim_rows[i].name;
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_put_get);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_list_namespaces);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_indexes);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_random_consistency);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_feed);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_rv_persisted);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_identity);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_corrupt_file);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_foreign_and_schema);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_map_grows);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_open_errors);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_walker_damage);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_concurrent_readers);
    return _cmocka_run_group_tests("store", tests, n, NULL, NULL);
}
