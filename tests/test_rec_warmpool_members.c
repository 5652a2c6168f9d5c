/* test_rec_warmpool_members.c - the warm pool's member set kept from pass to
 * pass (reconciler/warmpool_members.h): same/put/del/get, the dense arrays
 * always matching the held members (facts[i] digests objs[i]), a full
 * listing's mark/sweep, and a seeded random run against a plain model
 * (thousands of operations over a few hundred names, through rehashes and
 * swap-removals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "reconciler/warmpool.h"
#include "reconciler/warmpool_members.h"

/* A member object whose bytes are its JSON text (version v). */
static json_object *
member(const char *name, int v, int ready)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"resourceVersion\":\"%d\","
             "\"ownerReferences\":[{\"controller\":true,\"uid\":\"pool-uid\"}]},"
             "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
             name, v, ready ? "True" : "False");
    const char *err = NULL;
    json_object *o = jx_parse(buf, strlen(buf), &err);
    assert_non_null(o);
    return o;
}

static void
raw_of(const char *name, int v, char *buf, size_t len)
{
    snprintf(buf, len, "%s@%d", name, v);
}

static void
put(rec_wp_members *m, const char *name, int v, int ready)
{
    char raw[300];
    raw_of(name, v, raw, sizeof raw);
    assert_int_equal(rec_wp_members_put(m, name, raw, strlen(raw), member(name, v, ready)), 0);
}

static int
same(rec_wp_members *m, const char *name, int v)
{
    char raw[300];
    raw_of(name, v, raw, sizeof raw);
    return rec_wp_members_same(m, name, raw, strlen(raw));
}

/* Every array slot is a held member, its facts digest its object, and
 * get() finds each by name. */
static void
check_arrays(const rec_wp_members *m)
{
    size_t n = rec_wp_members_count(m);
    json_object *const *o = rec_wp_members_objs(m);
    const rec_wp_mfacts *f = rec_wp_members_facts(m);
    for (size_t i = 0; i < n; i++) {
        rec_wp_mfacts want;
        rec_wp_member_digest(o[i], &want);
        assert_string_equal(f[i].name, want.name);
        assert_ptr_equal(f[i].name, want.name); /* borrowed from this very object */
        assert_int_equal(f[i].ready, want.ready);
        assert_ptr_equal(rec_wp_members_get(m, f[i].name), o[i]);
    }
}

static void
test_basics(void **state)
{
    (void)state;
    rec_wp_members *m = rec_wp_members_new();
    assert_non_null(m);
    assert_int_equal(rec_wp_members_count(m), 0);
    assert_false(same(m, "a", 1));
    assert_null(rec_wp_members_get(m, "a"));
    rec_wp_members_del(m, "a"); /* unknown: no-op */
    put(m, "a", 1, 0);
    put(m, "b", 1, 1);
    put(m, "c", 1, 0);
    assert_int_equal(rec_wp_members_count(m), 3);
    assert_true(same(m, "a", 1));
    assert_false(same(m, "a", 2)); /* other bytes */
    assert_false(same(m, "ab", 1));
    check_arrays(m);
    /* a new version replaces object and facts in place */
    json_object *old = rec_wp_members_get(m, "a");
    put(m, "a", 2, 1);
    assert_int_equal(rec_wp_members_count(m), 3);
    assert_ptr_not_equal(rec_wp_members_get(m, "a"), old);
    assert_true(same(m, "a", 2));
    assert_false(same(m, "a", 1));
    check_arrays(m);
    int ready = 0;
    for (size_t i = 0; i < rec_wp_members_count(m); i++)
        ready += rec_wp_members_facts(m)[i].ready;
    assert_int_equal(ready, 2);
    /* removing the first slot moves the last one in */
    rec_wp_members_del(m, rec_wp_members_facts(m)[0].name);
    assert_int_equal(rec_wp_members_count(m), 2);
    check_arrays(m);
    rec_wp_members_free(m);
    rec_wp_members_free(NULL);
}

static void
test_listing(void **state)
{
    (void)state;
    rec_wp_members *m = rec_wp_members_new();
    char name[32];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "m-%d", i);
        put(m, name, 1, i % 2);
    }
    /* A listing that names 0..4 unchanged, 5 changed, and 10 new. */
    rec_wp_members_mark(m);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "m-%d", i);
        assert_true(same(m, name, 1));
    }
    assert_false(same(m, "m-5", 2));
    put(m, "m-5", 2, 1);
    put(m, "m-10", 1, 1);
    assert_int_equal(rec_wp_members_sweep(m), 4); /* 6..9 */
    assert_int_equal(rec_wp_members_count(m), 7);
    for (int i = 0; i <= 10; i++) {
        snprintf(name, sizeof name, "m-%d", i);
        int held = i <= 5 || i == 10;
        assert_int_equal(rec_wp_members_get(m, name) != NULL, held);
    }
    check_arrays(m);
    /* an empty listing drops everything; a sweep without a listing since
     * the last mark keeps what the single updates put in meanwhile */
    rec_wp_members_mark(m);
    put(m, "late", 1, 0);
    assert_int_equal(rec_wp_members_sweep(m), 7);
    assert_int_equal(rec_wp_members_count(m), 1);
    assert_non_null(rec_wp_members_get(m, "late"));
    rec_wp_members_free(m);
}

/* ---- seeded random run against a model ------------------------------------- */

#define NAMES 300

static uint32_t
rnd(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void
test_random_model(void **state)
{
    (void)state;
    rec_wp_members *m = rec_wp_members_new();
    int ver[NAMES] = {0}; /* 0: not held; else the held version */
    int listed[NAMES];
    uint32_t seed = 42;
    char name[32];
    for (int step = 0; step < 20000; step++) {
        int i = (int)(rnd(&seed) % NAMES), op = (int)(rnd(&seed) % 10);
        snprintf(name, sizeof name, "sandbox-%d", i);
        if (op < 5) { /* an event: a new version */
            put(m, name, ver[i] + 1, op % 2);
            ver[i]++;
        } else if (op < 7) { /* gone */
            rec_wp_members_del(m, name);
            ver[i] = 0;
        } else if (op < 9) {
            assert_int_equal(same(m, name, ver[i]), ver[i] > 0);
            assert_false(same(m, name, ver[i] + 1));
        } else { /* a full listing of a random half, some of it changed */
            rec_wp_members_mark(m);
            for (int j = 0; j < NAMES; j++) {
                listed[j] = rnd(&seed) % 2;
                if (!listed[j]) continue;
                snprintf(name, sizeof name, "sandbox-%d", j);
                if (ver[j] > 0 && rnd(&seed) % 4 && same(m, name, ver[j])) continue;
                put(m, name, ver[j] + 1, 1);
                ver[j]++;
            }
            size_t want_drop = 0;
            for (int j = 0; j < NAMES; j++)
                if (!listed[j] && ver[j] > 0) {
                    want_drop++;
                    ver[j] = 0;
                }
            assert_int_equal(rec_wp_members_sweep(m), want_drop);
        }
        if (step % 997 == 0 || op == 9) {
            size_t held = 0;
            for (int j = 0; j < NAMES; j++) {
                snprintf(name, sizeof name, "sandbox-%d", j);
                held += ver[j] > 0;
                assert_int_equal(rec_wp_members_get(m, name) != NULL, ver[j] > 0);
                if (ver[j] > 0) assert_true(same(m, name, ver[j]));
            }
            assert_int_equal(rec_wp_members_count(m), held);
            check_arrays(m);
        }
    }
    rec_wp_members_free(m);
}

int
main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_listing),
        cmocka_unit_test(test_random_model),
    };
    return cmocka_run_group_tests_name("rec_warmpool_members", t, NULL, NULL);
}
