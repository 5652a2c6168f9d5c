/* test_core.c - err, log fields, NameHash vectors, timestamps, jx, yaml2json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/namehash.h"
#include "core/timeutil.h"
#include "core/yaml2json.h"

typedef struct {
    const char *name;
    const char *in;
    const char *want;
} hash_row;

static const hash_row hash_rows[] = {
    {"empty", "", "811c9dc5"},
    {"my-sandbox", "my-sandbox", "374de8f5"},
    {"test-template", "test-template", "69155462"},
    {"test-pool", "test-pool", "59733166"},
};

static void
test_namehash_row(void **state)
{
    const hash_row *r = *state;
    char out[9];
    assert_string_equal(namehash_hex(r->in, out), r->want);
}

static void
test_time_roundtrip(void **state)
{
    (void)state;
    int64_t ms;
    char buf[64];
    assert_int_equal(time_parse_rfc3339("2026-11-23T18:55:00Z", &ms), 0);
    assert_string_equal(time_fmt_rfc3339(ms, buf, sizeof buf), "2026-11-23T18:55:00Z");
    assert_int_equal(time_parse_rfc3339("2026-11-23T18:55:00.250+01:00", &ms), 0);
    assert_string_equal(time_fmt_rfc3339(ms, buf, sizeof buf), "2026-11-23T17:55:00Z");
    assert_int_equal(ms % 1000, 250);
    assert_string_equal(
        time_fmt_rfc3339nano((int64_t)1700000000 * 1000000000 + 120000000, buf, sizeof buf),
        "2023-11-14T22:13:20.12Z");
    assert_string_equal(time_fmt_micro((int64_t)1700000000 * 1000000 + 5, buf, sizeof buf),
                        "2023-11-14T22:13:20.000005Z");
    assert_int_equal(time_parse_rfc3339("2026-13-01T00:00:00Z", &ms), ERR_INVALID);
    assert_int_equal(time_parse_rfc3339("garbage", &ms), ERR_INVALID);
    assert_int_equal(time_parse_rfc3339("2026-01-01T00:00:00", &ms), ERR_INVALID);
}

static void
test_jx_paths(void **state)
{
    (void)state;
    const char *e = NULL;
    const char *doc = "{\"metadata\":{\"name\":\"a\",\"labels\":{\"x.io/k\":\"v\"}},"
                      "\"spec\":{\"n\":3,\"b\":true}}";
    json_object *o = jx_parse(doc, strlen(doc), &e);
    assert_non_null(o);
    assert_string_equal(jx_str(o, "metadata.name"), "a");
    assert_string_equal(jx_label(o, "x.io/k"), "v");
    assert_null(jx_str(o, "spec.n"));
    assert_int_equal(jx_int(o, "spec.n", -1), 3);
    assert_int_equal(jx_bool(o, "spec.b", 0), 1);
    assert_int_equal(jx_set_str(o, "status.deep.x", "y"), 0);
    assert_string_equal(jx_str(o, "status.deep.x"), "y");
    json_object_put(o);
    assert_null(jx_parse("{\"a\":", 5, &e));
    assert_string_equal(e, "unexpected end of JSON input");
    assert_null(jx_parse("{} x", 4, &e));
    assert_non_null(o = jx_parse("{} \n", 4, &e));
    json_object_put(o);
}

static void
test_yaml(void **state)
{
    (void)state;
    char err[128];
    const char *y = "a: 1\nb: \"1\"\nc: [x, true, null, 1.5]\nd: &anc {k: v}\ne: *anc\n";
    json_object *o = yaml_to_json(y, strlen(y), err, sizeof err);
    assert_non_null(o);
    assert_string_equal(jx_dump(o), "{\"a\":1,\"b\":\"1\",\"c\":[\"x\",true,null,1.5],"
                                    "\"d\":{\"k\":\"v\"},\"e\":{\"k\":\"v\"}}");
    json_object_put(o);
    const char *bad = "a: [1, 2\nb: c";
    assert_null(yaml_to_json(bad, strlen(bad), err, sizeof err));
    assert_non_null(strstr(err, "line"));
    const char *multi = "---\na: 1\n---\nb: 2\n";
    o = yaml_to_json_docs(multi, strlen(multi), err, sizeof err);
    assert_int_equal(json_object_array_length(o), 2);
    json_object_put(o);
}

static void
test_log_fields(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    log_setup(f, LOG_INFO);
    LOG_I("core", "hello \"x\"", "name=%s n=%d big=%llu z=%zu", "a\nb", -3, 18446744073709551615ull,
          (size_t)7);
    LOG_D("core", "hidden");
    fflush(f);
    assert_non_null(strstr(buf,
                           "\"level\":\"info\",\"mod\":\"core\",\"msg\":\"hello \\\"x\\\"\","
                           "\"name\":\"a\\nb\",\"n\":-3,\"big\":18446744073709551615,\"z\":7}\n"));
    assert_null(strstr(buf, "hidden"));
    fclose(f);
    free(buf);
    log_setup(NULL, LOG_INFO);
    assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
    assert_int_equal(log_level_parse("0"), LOG_INFO);
    assert_int_equal(log_level_parse("nope"), -1);
    assert_string_equal(err_str(ERR_GONE), "resource version too old (gone)");
    assert_int_equal(err_from_http(409), ERR_CONFLICT);
}

int
main(void)
{
    struct CMUnitTest tests[16];
    size_t n = 0;
    for (size_t i = 0; i < sizeof hash_rows / sizeof hash_rows[0]; i++) {
        tests[n] = (struct CMUnitTest){.name = hash_rows[i].name,
                                       .test_func = test_namehash_row,
                                       .initial_state = (void *)&hash_rows[i]};
        n++;
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_time_roundtrip);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_jx_paths);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_yaml);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_log_fields);
    return _cmocka_run_group_tests("core", tests, n, NULL, NULL);
}
