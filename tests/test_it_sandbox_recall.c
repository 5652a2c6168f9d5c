/* test_it_sandbox_recall.c - controller/recall.c against a real store: a
 * successful write's object is offered to later passes until the store has
 * caught up (seen, then deleted or recreated) or the TTL ends; a delete
 * answered with Status Success until the store drops the object; failures
 * are never recalled; a newer outcome of the same tag wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "controller/recall.h"

#include "core/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/asc-recall-XXXXXX";
static store *st;

static json_object *
pod(const char *name, const char *uid, const char *rv)
{
    char txt[512];
    snprintf(txt, sizeof txt,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"ns\",\"uid\":\"%s\",\"resourceVersion\":\"%s\"}}",
             name, uid, rv);
    json_object *o = json_tokener_parse(txt);
    assert_non_null(o);
    return o;
}

/* Store o (consumed). */
static void
put(json_object *o)
{
    store_wtxn *w;
    assert_int_equal(store_wtxn_begin(st, &w), 0);
    assert_int_equal(store_put(w, STORE_POD, o), 0);
    assert_int_equal(store_wtxn_commit(w), 0);
    json_object_put(o);
}

static void
del(const char *name)
{
    store_wtxn *w;
    assert_int_equal(store_wtxn_begin(st, &w), 0);
    assert_int_equal(store_delete(w, STORE_POD, "ns", name), 0);
    assert_int_equal(store_wtxn_commit(w), 0);
}

static rec_outcome
ok_outcome(const char *tag, json_object *obj)
{
    return (rec_outcome){
        .tag = tag, .err = 0, .http_status = 201, .reason = "", .message = "", .object = obj};
}

/* Outcomes a pass would get for key with no new outcome of its own. */
static size_t
offered(ctl_recall *r, const char *key, int64_t now, const char *tag_want, const char *uid_want)
{
    const rec_outcome *out;
    size_t n;
    assert_int_equal(ctl_recall_outcomes(r, st, key, "ns", NULL, 0, now, &out, &n), 0);
    if (n && tag_want) {
        assert_string_equal(out[0].tag, tag_want);
        assert_string_equal(jx_str(out[0].object, "metadata.uid"), uid_want);
        assert_int_equal(out[0].err, 0);
    }
    return n;
}

static int
setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    char err[256];
    assert_int_equal(store_open(dir, NULL, &st, err, sizeof err), 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
test_until_seen_then_deleted(void **state)
{
    (void)state;
    ctl_recall *r = ctl_recall_new();
    json_object *p = pod("a", "u1", "10");
    rec_outcome oc = ok_outcome("pod-create", p);
    const rec_outcome *out;
    size_t n;
    /* the pass that gets the outcome from the shard sees it once, not twice */
    assert_int_equal(ctl_recall_outcomes(r, st, "sandbox/ns/a", "ns", &oc, 1, 1000, &out, &n), 0);
    assert_int_equal(n, 1);
    json_object_put(p); /* the recall holds its own reference */
    /* later passes without outcomes: the store has not seen the pod yet */
    assert_int_equal(offered(r, "sandbox/ns/a", 1100, "pod-create", "u1"), 1);
    assert_int_equal(offered(r, "sandbox/ns/other", 1100, NULL, NULL), 0);
    put(pod("a", "u1", "9")); /* the store is older than the write: still offered */
    assert_int_equal(offered(r, "sandbox/ns/a", 1200, "pod-create", "u1"), 1);
    del("a"); /* deleted after the store saw it: the store is the truth */
    assert_int_equal(offered(r, "sandbox/ns/a", 1300, NULL, NULL), 0);
    assert_int_equal(ctl_recall_keys(r), 0);
    ctl_recall_free(r);
}

static void
test_dropped_once_caught_up(void **state)
{
    (void)state;
    ctl_recall *r = ctl_recall_new();
    json_object *p = pod("c", "u4", "40");
    rec_outcome oc = ok_outcome("pod-create", p);
    const rec_outcome *out;
    size_t n;
    ctl_recall_outcomes(r, st, "sandbox/ns/c", "ns", &oc, 1, 0, &out, &n);
    json_object_put(p);
    assert_int_equal(offered(r, "sandbox/ns/c", 10, "pod-create", "u4"), 1);
    /* the watch brought the write's own version (or a newer one): the store
     * has it, so the copy is released long before the TTL */
    put(pod("c", "u4", "40"));
    assert_int_equal(offered(r, "sandbox/ns/c", 20, NULL, NULL), 0);
    assert_int_equal(ctl_recall_keys(r), 0);
    del("c");
    ctl_recall_free(r);
}

static void
test_recreated_and_ttl(void **state)
{
    (void)state;
    ctl_recall *r = ctl_recall_new();
    json_object *p = pod("b", "u2", "20");
    rec_outcome oc = ok_outcome("pod-create", p);
    const rec_outcome *out;
    size_t n;
    ctl_recall_outcomes(r, st, "sandbox/ns/b", "ns", &oc, 1, 0, &out, &n);
    put(pod("b", "u3", "30")); /* another pod of that name: drop */
    assert_int_equal(offered(r, "sandbox/ns/b", 10, NULL, NULL), 0);
    del("b");
    /* never seen: kept until the TTL, then dropped */
    ctl_recall_outcomes(r, st, "sandbox/ns/b", "ns", &oc, 1, 0, &out, &n);
    assert_int_equal(offered(r, "sandbox/ns/b", CTL_RECALL_TTL_MS - 1, "pod-create", "u2"), 1);
    assert_int_equal(offered(r, "sandbox/ns/b", CTL_RECALL_TTL_MS, NULL, NULL), 0);
    json_object_put(p);
    ctl_recall_free(r);
}

static json_object *
deleted_status(const char *plural, const char *name, const char *uid)
{
    char txt[512];
    snprintf(txt, sizeof txt,
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
             "\"Success\",\"details\":{\"name\":\"%s\",\"group\":\"\",\"kind\":\"%s\","
             "\"uid\":\"%s\"}}",
             name, plural, uid);
    json_object *o = json_tokener_parse(txt);
    assert_non_null(o);
    return o;
}

/* A DELETE that removed the object at once answers Status Success: later
 * passes keep seeing that outcome while the store still holds the object
 * (its DELETED event not yet applied), so they do not delete it again; the
 * entry goes once the store drops the object or holds another uid. */
static void
test_delete_until_gone(void **state)
{
    (void)state;
    ctl_recall *r = ctl_recall_new();
    const rec_outcome *out;
    size_t n;
    put(pod("d", "u5", "50"));
    json_object *stv = deleted_status("pods", "d", "u5");
    rec_outcome oc = ok_outcome("pod-delete", stv);
    ctl_recall_outcomes(r, st, "sandbox/ns/d", "ns", &oc, 1, 0, &out, &n);
    json_object_put(stv);
    for (int64_t t = 10; t < 40; t += 10) { /* the store still holds pod d, uid u5 */
        assert_int_equal(ctl_recall_outcomes(r, st, "sandbox/ns/d", "ns", NULL, 0, t, &out, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(out[0].tag, "pod-delete");
        assert_int_equal(out[0].err, 0);
        assert_string_equal(jx_str(out[0].object, "details.uid"), "u5");
    }
    del("d"); /* the DELETED event arrived */
    assert_int_equal(offered(r, "sandbox/ns/d", 50, NULL, NULL), 0);
    assert_int_equal(ctl_recall_keys(r), 0);

    /* recreated under another uid before the pass: the store is the truth */
    put(pod("e", "u6", "60"));
    stv = deleted_status("pods", "e", "u5");
    oc = ok_outcome("pod-delete", stv);
    ctl_recall_outcomes(r, st, "sandbox/ns/e", "ns", &oc, 1, 0, &out, &n);
    json_object_put(stv);
    assert_int_equal(offered(r, "sandbox/ns/e", 10, NULL, NULL), 0);
    del("e");

    /* a Status naming a kind the store does not hold, or with no namespace
     * for the key, is not recalled (the pass that gets it still sees it) */
    stv = deleted_status("configmaps", "f", "u7");
    oc = ok_outcome("cm-delete", stv);
    ctl_recall_outcomes(r, st, "sandbox/ns/f", "ns", &oc, 1, 0, &out, &n);
    assert_int_equal(n, 1);
    assert_int_equal(offered(r, "sandbox/ns/f", 10, NULL, NULL), 0);
    json_object_put(stv);
    stv = deleted_status("pods", "g", "u8");
    oc = ok_outcome("pod-delete", stv);
    ctl_recall_outcomes(r, st, "sandbox/g", NULL, &oc, 1, 0, &out, &n);
    assert_int_equal(offered(r, "sandbox/g", 10, NULL, NULL), 0);
    json_object_put(stv);

    /* never applied by the store: the TTL still ends it */
    put(pod("h", "u9", "90"));
    stv = deleted_status("pods", "h", "u9");
    oc = ok_outcome("pod-delete", stv);
    ctl_recall_outcomes(r, st, "sandbox/ns/h", "ns", &oc, 1, 0, &out, &n);
    json_object_put(stv);
    assert_int_equal(
        ctl_recall_outcomes(r, st, "sandbox/ns/h", "ns", NULL, 0, CTL_RECALL_TTL_MS - 1, &out, &n),
        0);
    assert_int_equal(n, 1);
    assert_int_equal(offered(r, "sandbox/ns/h", CTL_RECALL_TTL_MS, NULL, NULL), 0);
    del("h");
    ctl_recall_free(r);
}

static void
test_failures_and_supersede(void **state)
{
    (void)state;
    ctl_recall *r = ctl_recall_new();
    json_object *p1 = pod("c", "u4", "40"), *p2 = pod("c", "u4", "41");
    rec_outcome bad = {.tag = "pod-create",
                       .err = -1003,
                       .http_status = 409,
                       .reason = "AlreadyExists",
                       .message = "exists",
                       .object = NULL};
    const rec_outcome *out;
    size_t n;
    ctl_recall_outcomes(r, st, "sandbox/ns/c", "ns", &bad, 1, 0, &out, &n);
    assert_int_equal(n, 1);
    assert_int_equal(offered(r, "sandbox/ns/c", 1, NULL, NULL), 0); /* failures: never */
    rec_outcome a = ok_outcome("pod-create", p1);
    ctl_recall_outcomes(r, st, "sandbox/ns/c", "ns", &a, 1, 2, &out, &n);
    /* a pass with its own outcome of another tag gets both, its own first */
    rec_outcome b = ok_outcome("sandbox-meta", p2);
    assert_int_equal(ctl_recall_outcomes(r, st, "sandbox/ns/c", "ns", &b, 1, 3, &out, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].tag, "sandbox-meta");
    assert_string_equal(out[1].tag, "pod-create");
    /* the same tag again replaces the entry: one per tag */
    rec_outcome a2 = ok_outcome("pod-create", p2);
    assert_int_equal(ctl_recall_outcomes(r, st, "sandbox/ns/c", "ns", &a2, 1, 4, &out, &n), 0);
    assert_int_equal(n, 2); /* a2 itself + the recalled sandbox-meta */
    assert_int_equal(offered(r, "sandbox/ns/c", 5, NULL, NULL), 2);
    json_object_put(p1);
    json_object_put(p2);
    ctl_recall_free(r);
    ctl_recall_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_until_seen_then_deleted),
        cmocka_unit_test(test_dropped_once_caught_up),
        cmocka_unit_test(test_recreated_and_ttl),
        cmocka_unit_test(test_failures_and_supersede),
        cmocka_unit_test(test_delete_until_gone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
