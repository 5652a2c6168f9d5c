/* test_kube_client_slim.c - kube__json_parse_slim: a write response parsed
 * without the object's metadata.managedFields, and nothing else changed. */
#include "kube/internal.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct slim_row {
    const char *name;
    const char *in;
    const char *want; /* the full parse of this text; NULL: an error is expected */
} slim_row;

#define MF "\"managedFields\":[{\"manager\":\"m\",\"fieldsV1\":{\"f:spec\":{\".\":{}}}}]"

static const slim_row rows[] = {
    {"middle", "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"," MF ",\"uid\":\"u\"},\"spec\":{}}",
     "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{}}"},
    {"last", "{\"metadata\":{\"name\":\"p\"," MF "},\"x\":1}",
     "{\"metadata\":{\"name\":\"p\"},\"x\":1}"},
    {"only", "{\"metadata\":{" MF "}}", "{\"metadata\":{}}"},
    {"first", "{\"metadata\":{" MF ",\"name\":\"p\"}}", "{\"metadata\":{\"name\":\"p\"}}"},
    {"pretty",
     "{\n  \"metadata\" : {\n    \"name\" : \"p\" ,\n    \"managedFields\" : [ { \"a\" : 1 } ] \n  "
     "} ,\n  \"n\" : -1.5e3 \n}\n",
     "{\"metadata\":{\"name\":\"p\"},\"n\":-1.5e3}"},
    {"tricky_strings",
     "{\"metadata\":{\"managedFields\":[{\"k\":\"}]\\\"{[\"}],\"name\":\"a\\\"}b\"},\"s\":"
     "\"\\\\\"}",
     "{\"metadata\":{\"name\":\"a\\\"}b\"},\"s\":\"\\\\\"}"},
    {"absent", "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}",
     "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}"},
    {"not_in_metadata", "{\"metadata\":{\"name\":\"p\"},\"spec\":{" MF "}}",
     "{\"metadata\":{\"name\":\"p\"},\"spec\":{" MF "}}"},
    {"nested_in_annotations",
     "{\"metadata\":{\"annotations\":{\"managedFields\":\"x\"},\"name\":\"p\"}}",
     "{\"metadata\":{\"annotations\":{\"managedFields\":\"x\"},\"name\":\"p\"}}"},
    {"key_text_as_value", "{\"metadata\":{\"name\":\"\\\"managedFields\\\"\",\"uid\":\"u\"}}",
     "{\"metadata\":{\"name\":\"\\\"managedFields\\\"\",\"uid\":\"u\"}}"},
    {"metadata_not_object", "{\"metadata\":[\"managedFields\",{\"managedFields\":1}]}",
     "{\"metadata\":[\"managedFields\",{\"managedFields\":1}]}"},
    {"array", "[{\"metadata\":{" MF "}}]", "[{\"metadata\":{" MF "}}]"},
    {"status", "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}",
     "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}"},
    {"truncated", "{\"metadata\":{\"name\":\"p\"," MF ",\"uid\":\"u\"", NULL},
    {"truncated_in_managed", "{\"metadata\":{\"name\":\"p\",\"managedFields\":[{\"a\":", NULL},
    {"trailing_garbage", "{\"metadata\":{" MF ",\"name\":\"p\"}} x", NULL},
    {"two_documents", "{\"metadata\":{" MF "}}{}", NULL},
    {"empty", "", NULL},
};

static void
test_slim(void **state)
{
    const slim_row *r = *state;
    json_tokener *tok = json_tokener_new_ex(KUBE__JSON_DEPTH);
    assert_non_null(tok);
    for (int round = 0; round < 2; round++) { /* the tokener is reused */
        const char *err = NULL;
        json_object *got = kube__json_parse_slim(tok, r->in, strlen(r->in), &err);
        if (r->want == NULL) {
            /* the error the whole-document parse gives */
            const char *want_err = NULL;
            json_object *full = kube__json_parse(r->in, strlen(r->in), &want_err);
            assert_null(got);
            assert_null(full);
            assert_non_null(err);
            assert_string_equal(err, want_err);
            json_object_put(full);
            json_object_put(got);
            continue;
        }
        json_object *want = kube__json_parse(r->want, strlen(r->want), NULL);
        assert_non_null(want);
        if (got == NULL) fail_msg("%s: no object (%s)", r->name, err ? err : "?");
        if (!json_object_equal(got, want))
            fail_msg("%s: got %s", r->name, json_object_to_json_string(got));
        json_object_put(want);
        json_object_put(got);
    }
    json_tokener_free(tok);
}

/* Every response body of the recorded kube-apiserver exchanges
 * (tests/golden), printed compact and pretty: the slim parse equals the
 * whole parse with metadata.managedFields deleted. */
static int
check_body(json_tokener *tok, json_object *body, int flags)
{
    const char *text = json_object_to_json_string_ext(body, flags);
    const char *err = NULL;
    json_object *got = kube__json_parse_slim(tok, text, strlen(text), &err);
    json_object *want = kube__json_parse(text, strlen(text), NULL);
    assert_non_null(want);
    if (got == NULL) fail_msg("no object (%s) for %.200s", err ? err : "?", text);
    json_object *md = NULL;
    int had = json_object_object_get_ex(want, "metadata", &md) &&
              json_object_is_type(md, json_type_object) &&
              json_object_object_get_ex(md, "managedFields", NULL);
    if (had) json_object_object_del(md, "managedFields");
    if (!json_object_equal(got, want)) fail_msg("slim parse differs for %.200s", text);
    json_object_put(got);
    json_object_put(want);
    return had;
}

static void
test_golden_bodies(void **state)
{
    (void)state;
    const char *src = getenv("ASC_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/golden", src ? src : ".");
    DIR *d = opendir(dir);
    if (d == NULL) fail_msg("cannot open %s", dir);
    json_tokener *tok = json_tokener_new_ex(KUBE__JSON_DEPTH);
    int bodies = 0, slimmed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_object *doc = json_object_from_file(path);
        json_object *ex = NULL;
        if (doc == NULL || !json_object_object_get_ex(doc, "exchanges", &ex) ||
            !json_object_is_type(ex, json_type_array)) {
            json_object_put(doc);
            continue;
        }
        for (size_t i = 0; i < json_object_array_length(ex); i++) {
            json_object *resp = NULL, *body = NULL;
            if (!json_object_object_get_ex(json_object_array_get_idx(ex, i), "response", &resp) ||
                !json_object_object_get_ex(resp, "body", &body) ||
                !json_object_is_type(body, json_type_object))
                continue;
            bodies++;
            slimmed += check_body(tok, body, JSON_C_TO_STRING_PLAIN);
            check_body(tok, body, JSON_C_TO_STRING_PRETTY);
        }
        json_object_put(doc);
    }
    closedir(d);
    json_tokener_free(tok);
    /* the recordings hold many objects with managedFields */
    if (bodies < 20 || slimmed < 10) fail_msg("only %d bodies, %d slimmed", bodies, slimmed);
}

int
main(void)
{
    struct CMUnitTest tests[sizeof rows / sizeof rows[0]];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        tests[i] = (struct CMUnitTest){rows[i].name, test_slim, NULL, NULL, (void *)&rows[i]};
    int rc = _cmocka_run_group_tests("kube_client_slim", tests, sizeof rows / sizeof rows[0], NULL,
                                     NULL);
    const struct CMUnitTest golden[] = {cmocka_unit_test(test_golden_bodies)};
    return rc + cmocka_run_group_tests_name("kube_client_slim_golden", golden, NULL, NULL);
}
