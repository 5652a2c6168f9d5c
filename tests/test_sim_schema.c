/* test_sim_schema.c - CRD structural schemas: compile, prune, default,
 * validate, causes and messages.
 *
 * Rows: inline schemas for each keyword; the project's CRDs (deploy/crds)
 * replaying the golden crd-defaulting and invalid-enum exchanges; the
 * volumeClaimTemplates immutability rule; upstream's full CRDs from
 * /work/shared/upstream-crds (skipped visibly when absent) with the PodSpec
 * defaults they embed; RE2 -> ERE translation; and a throughput figure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/kubesim/sim_patch.h"
#include "bench/kubesim/sim_schema.h"
#include "bench/kubesim/sim_schema_internal.h"
#include "core/err.h"
#include "core/jx.h"
#include "core/yaml2json.h"

#define UPSTREAM_DIR "/work/shared/upstream-crds"

/* ---- helpers ------------------------------------------------------------- */

static json_object *
parse(const char *s)
{
    json_object *o = s ? json_tokener_parse(s) : NULL;
    if (s != NULL && o == NULL && strcmp(s, "null") != 0) fail_msg("bad test JSON: %s", s);
    return o;
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The openAPIV3Schema of version `version` of the CRD in a YAML file
 * (new reference), or NULL. */
static json_object *
crd_schema(const char *path, const char *version)
{
    size_t len;
    char *buf = read_file(path, &len), err[256];
    json_object *docs, *res = NULL;

    if (buf == NULL) return NULL;
    docs = yaml_to_json_docs(buf, len, err, sizeof err);
    free(buf);
    if (docs == NULL) fail_msg("%s: %s", path, err);
    for (size_t d = 0; d < json_object_array_length(docs) && res == NULL; d++) {
        json_object *crd = json_object_array_get_idx(docs, d), *spec, *vers;
        if (!json_object_object_get_ex(crd, "spec", &spec) ||
            !json_object_object_get_ex(spec, "versions", &vers))
            continue;
        for (size_t i = 0; i < json_object_array_length(vers); i++) {
            json_object *v = json_object_array_get_idx(vers, i), *nm, *sc, *oa;
            if (json_object_object_get_ex(v, "name", &nm) &&
                strcmp(json_object_get_string(nm), version) == 0 &&
                json_object_object_get_ex(v, "schema", &sc) &&
                json_object_object_get_ex(sc, "openAPIV3Schema", &oa))
                res = json_object_get(oa);
        }
    }
    json_object_put(docs);
    return res;
}

static sim_schema *
compile_or_fail(json_object *js)
{
    sim_schema *s = NULL;
    char err[512] = "";
    if (sim_schema_compile(js, &s, err, sizeof err) != 0) fail_msg("compile: %s", err);
    return s;
}

static char *
pruned_list(const sim_schema_report *r)
{
    static char buf[1024];
    buf[0] = '\0';
    for (size_t i = 0; i < r->npruned; i++) {
        if (i) strcat(buf, ",");
        strncat(buf, r->pruned[i], sizeof buf - strlen(buf) - 2);
    }
    return buf;
}

/* ---- inline schema rows ---------------------------------------------------- */

typedef struct {
    const char *name;
    const char *schema;
    const char *obj;
    const char *old;    /* stored object for an update, or NULL */
    const char *want;   /* object after apply, or NULL (not checked) */
    const char *pruned; /* comma-joined pruned paths */
    const char *msg;    /* aggregated message for kind Thing.example.com "x", or NULL */
} schema_row;

#define OBJ(props)  "{\"type\":\"object\",\"properties\":{" props "}}"
#define SPEC(props) OBJ("\"spec\":" OBJ(props))
#define INV         "Thing.example.com \"x\" is invalid: "

static const schema_row schema_rows[] = {
    {"default/applied", SPEC("\"mode\":{\"type\":\"string\",\"default\":\"Running\"}"),
     "{\"spec\":{}}", NULL, "{\"spec\":{\"mode\":\"Running\"}}", "", NULL},
    {"default/explicit-kept", SPEC("\"mode\":{\"type\":\"string\",\"default\":\"Running\"}"),
     "{\"spec\":{\"mode\":\"Suspended\"}}", NULL, "{\"spec\":{\"mode\":\"Suspended\"}}", "", NULL},
    {"default/zero-stays-zero", SPEC("\"replicas\":{\"type\":\"integer\",\"default\":1}"),
     "{\"spec\":{\"replicas\":0}}", NULL, "{\"spec\":{\"replicas\":0}}", "", NULL},
    {"default/null-gets-default", SPEC("\"mode\":{\"type\":\"string\",\"default\":\"Running\"}"),
     "{\"spec\":{\"mode\":null}}", NULL, "{\"spec\":{\"mode\":\"Running\"}}", "", NULL},
    {"default/null-without-default-dropped", SPEC("\"mode\":{\"type\":\"string\"}"),
     "{\"spec\":{\"mode\":null}}", NULL, "{\"spec\":{}}", "", NULL},
    {"default/nullable-null-kept",
     SPEC("\"mode\":{\"type\":\"string\",\"nullable\":true,\"default\":\"a\"}"),
     "{\"spec\":{\"mode\":null}}", NULL, "{\"spec\":{\"mode\":null}}", "", NULL},
    {"default/in-array-items",
     SPEC("\"ports\":{\"type\":\"array\",\"items\":" OBJ(
         "\"containerPort\":{\"type\":\"integer\"},\"protocol\":{\"type\":\"string\",\"default\":"
         "\"TCP\"}") "}"),
     "{\"spec\":{\"ports\":[{\"containerPort\":80},{\"containerPort\":53,\"protocol\":\"UDP\"}]}}",
     NULL,
     "{\"spec\":{\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"},{\"containerPort\":53,"
     "\"protocol\":\"UDP\"}]}}",
     "", NULL},
    {"default/in-additional-properties",
     SPEC("\"m\":{\"type\":\"object\",\"additionalProperties\":" OBJ(
         "\"w\":{\"type\":\"integer\",\"default\":7}") "}"),
     "{\"spec\":{\"m\":{\"a\":{},\"b\":{\"w\":1}}}}", NULL,
     "{\"spec\":{\"m\":{\"a\":{\"w\":7},\"b\":{\"w\":1}}}}", "", NULL},
    {"default/nested-in-defaulted-object",
     SPEC("\"o\":{\"type\":\"object\",\"default\":{},\"properties\":{\"k\":{\"type\":\"string\","
          "\"default\":\"v\"}}}"),
     "{\"spec\":{}}", NULL, "{\"spec\":{\"o\":{\"k\":\"v\"}}}", "", NULL},
    {"prune/unknown-field", SPEC("\"a\":{\"type\":\"string\"}"),
     "{\"apiVersion\":\"v\",\"kind\":\"K\",\"spec\":{\"a\":\"x\",\"bogusField\":\"y\"}}", NULL,
     "{\"apiVersion\":\"v\",\"kind\":\"K\",\"spec\":{\"a\":\"x\"}}", "spec.bogusField", NULL},
    {"prune/top-level", SPEC("\"a\":{\"type\":\"string\"}"), "{\"spec\":{},\"extra\":1}", NULL,
     "{\"spec\":{}}", "extra", NULL},
    {"prune/in-array",
     SPEC("\"items\":{\"type\":\"array\",\"items\":" OBJ("\"n\":{\"type\":\"string\"}") "}"),
     "{\"spec\":{\"items\":[{\"n\":\"a\"},{\"n\":\"b\",\"x\":1}]}}", NULL,
     "{\"spec\":{\"items\":[{\"n\":\"a\"},{\"n\":\"b\"}]}}", "spec.items[1].x", NULL},
    {"prune/metadata-to-objectmeta", SPEC("\"a\":{\"type\":\"string\"}"),
     "{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"b\"},\"foo\":1},\"spec\":{}}", NULL,
     "{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"b\"}},\"spec\":{}}", "metadata.foo", NULL},
    {"prune/preserve-unknown",
     SPEC("\"t\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}"),
     "{\"spec\":{\"t\":{\"anything\":{\"deep\":[1]}}}}", NULL,
     "{\"spec\":{\"t\":{\"anything\":{\"deep\":[1]}}}}", "", NULL},
    {"prune/preserve-unknown-still-prunes-known-props",
     SPEC("\"t\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true,\"properties\":"
          "{\"k\":" OBJ("\"a\":{\"type\":\"string\"}") "}}"),
     "{\"spec\":{\"t\":{\"free\":1,\"k\":{\"a\":\"x\",\"b\":2}}}}", NULL,
     "{\"spec\":{\"t\":{\"free\":1,\"k\":{\"a\":\"x\"}}}}", "spec.t.k.b", NULL},
    {"prune/embedded-resource-keeps-type-meta",
     SPEC("\"e\":{\"type\":\"object\",\"x-kubernetes-embedded-resource\":true,\"properties\":{"
          "\"spec\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}"),
     "{\"spec\":{\"e\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
     "\"zzz\":1},\"spec\":{\"a\":1},\"junk\":2}}}",
     NULL,
     "{\"spec\":{\"e\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},"
     "\"spec\":{\"a\":1}}}}",
     "spec.e.metadata.zzz,spec.e.junk", NULL},
    {"prune/additional-properties-false",
     SPEC("\"m\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"a\":{"
          "\"type\":\"integer\"}}}"),
     "{\"spec\":{\"m\":{\"a\":1,\"b\":2}}}", NULL, "{\"spec\":{\"m\":{\"a\":1}}}", "spec.m.b",
     NULL},
    {"prune/object-without-properties-empties", OBJ("\"status\":{\"type\":\"object\"}"),
     "{\"status\":{\"a\":1}}", NULL, "{\"status\":{}}", "status.a", NULL},
    {"validate/enum", SPEC("\"mode\":{\"type\":\"string\",\"enum\":[\"Running\",\"Suspended\"]}"),
     "{\"spec\":{\"mode\":\"Bogus\"}}", NULL, NULL, "",
     INV "spec.mode: Unsupported value: \"Bogus\": supported values: \"Running\", \"Suspended\""},
    {"validate/enum-ok",
     SPEC("\"mode\":{\"type\":\"string\",\"enum\":[\"Running\",\"Suspended\"]}"),
     "{\"spec\":{\"mode\":\"Running\"}}", NULL, NULL, "", NULL},
    {"validate/minimum", SPEC("\"replicas\":{\"type\":\"integer\",\"minimum\":0}"),
     "{\"spec\":{\"replicas\":-1}}", NULL, NULL, "",
     INV "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or "
         "equal to 0"},
    {"validate/maximum-exclusive",
     SPEC("\"n\":{\"type\":\"number\",\"maximum\":1.5,\"exclusiveMaximum\":true}"),
     "{\"spec\":{\"n\":1.5}}", NULL, NULL, "",
     INV "spec.n: Invalid value: 1.5: spec.n in body should be less than 1.5"},
    {"validate/type", SPEC("\"replicas\":{\"type\":\"integer\"}"),
     "{\"spec\":{\"replicas\":\"3\"}}", NULL, NULL, "",
     INV "spec.replicas: Invalid value: \"3\": spec.replicas in body must be of type integer: "
         "\"string\""},
    {"validate/integer-accepts-integral-double", SPEC("\"replicas\":{\"type\":\"integer\"}"),
     "{\"spec\":{\"replicas\":3.0}}", NULL, NULL, "", NULL},
    {"validate/required",
     OBJ("\"spec\":{\"type\":\"object\",\"required\":[\"podTemplate\"],"
         "\"properties\":{\"podTemplate\":{\"type\":\"object\"}}}"),
     "{\"spec\":{}}", NULL, NULL, "", INV "spec.podTemplate: Required value"},
    {"validate/required-root",
     "{\"type\":\"object\",\"required\":[\"spec\"],\"properties\":{"
     "\"spec\":{\"type\":\"object\"}}}",
     "{\"metadata\":{\"name\":\"x\"}}", NULL, NULL, "", INV "spec: Required value"},
    {"validate/max-length", SPEC("\"s\":{\"type\":\"string\",\"maxLength\":3}"),
     "{\"spec\":{\"s\":\"abcd\"}}", NULL, NULL, "",
     INV "spec.s: Too long: may not be more than 3 bytes"},
    {"validate/max-length-counts-characters", SPEC("\"s\":{\"type\":\"string\",\"maxLength\":2}"),
     "{\"spec\":{\"s\":\"\xc3\xa9\xc3\xa9\"}}", NULL, NULL, "", NULL},
    {"validate/min-length", SPEC("\"s\":{\"type\":\"string\",\"minLength\":1}"),
     "{\"spec\":{\"s\":\"\"}}", NULL, NULL, "",
     INV "spec.s: Invalid value: \"\": spec.s in body should be at least 1 chars long"},
    {"validate/pattern-quantity-ok",
     SPEC("\"q\":{\"type\":\"string\",\"pattern\":\"^(\\\\+|-)?(([0-9]+(\\\\.[0-9]*)?)|(\\\\.[0-"
          "9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\\\+|-)?(([0-9]+(\\\\.[0-9]*)?)|(\\\\.[0-9]+))))?"
          "$\"}"),
     "{\"spec\":{\"q\":\"100Mi\"}}", NULL, NULL, "", NULL},
    {"validate/pattern-fails", SPEC("\"q\":{\"type\":\"string\",\"pattern\":\"^\\\\d+$\"}"),
     "{\"spec\":{\"q\":\"12a\"}}", NULL, NULL, "",
     INV "spec.q: Invalid value: \"12a\": spec.q in body should match '^\\d+$'"},
    {"validate/date-time", SPEC("\"t\":{\"type\":\"string\",\"format\":\"date-time\"}"),
     "{\"spec\":{\"t\":\"yesterday\"}}", NULL, NULL, "",
     INV "spec.t: Invalid value: \"yesterday\": spec.t in body must be of type date-time: "
         "\"yesterday\""},
    {"validate/date-time-ok", SPEC("\"t\":{\"type\":\"string\",\"format\":\"date-time\"}"),
     "{\"spec\":{\"t\":\"2026-11-23T18:55:00Z\"}}", NULL, NULL, "", NULL},
    {"validate/max-items",
     SPEC("\"l\":{\"type\":\"array\",\"maxItems\":1,\"items\":{\"type\":\"integer\"}}"),
     "{\"spec\":{\"l\":[1,2]}}", NULL, NULL, "",
     INV "spec.l: Too many: 2: must have at most 1 items"},
    {"validate/min-items",
     SPEC("\"l\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"type\":\"integer\"}}"),
     "{\"spec\":{\"l\":[]}}", NULL, NULL, "",
     INV "spec.l: Invalid value: []interface {}{}: spec.l in body should have at least 1 items"},
    {"validate/item-type", SPEC("\"l\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}"),
     "{\"spec\":{\"l\":[1,\"x\"]}}", NULL, NULL, "",
     INV "spec.l[1]: Invalid value: \"x\": spec.l[1] in body must be of type integer: \"string\""},
    {"validate/int-or-string-int",
     SPEC("\"p\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}],\"x-kubernetes-int-or-"
          "string\":true}"),
     "{\"spec\":{\"p\":8080}}", NULL, NULL, "", NULL},
    {"validate/int-or-string-string",
     SPEC("\"p\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}],\"x-kubernetes-int-or-"
          "string\":true}"),
     "{\"spec\":{\"p\":\"http\"}}", NULL, NULL, "", NULL},
    {"validate/int-or-string-bool",
     SPEC("\"p\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}],\"x-kubernetes-int-or-"
          "string\":true}"),
     "{\"spec\":{\"p\":true}}", NULL, NULL, "",
     INV "spec.p: Invalid value: true: spec.p in body must be of type integer-or-string: "
         "\"boolean\""},
    {"validate/list-set-duplicate",
     SPEC("\"l\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"set\",\"items\":{\"type\":"
          "\"string\"}}"),
     "{\"spec\":{\"l\":[\"a\",\"b\",\"a\"]}}", NULL, NULL, "",
     INV "spec.l[2]: Duplicate value: \"a\""},
    {"validate/list-map-duplicate-key",
     SPEC("\"l\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"map\",\"x-kubernetes-list-map-"
          "keys\":[\"name\"],\"items\":" OBJ("\"name\":{\"type\":\"string\"},\"v\":{\"type\":"
                                             "\"integer\"}") "}"),
     "{\"spec\":{\"l\":[{\"name\":\"a\",\"v\":1},{\"name\":\"a\",\"v\":2}]}}", NULL, NULL, "",
     INV "spec.l[1]: Duplicate value: map[string]interface {}{\"name\":\"a\"}"},
    {"validate/two-causes-bracketed",
     SPEC(
         "\"a\":{\"type\":\"integer\",\"minimum\":0},\"b\":{\"type\":\"string\",\"enum\":[\"x\"]}"),
     "{\"spec\":{\"a\":-1,\"b\":\"y\"}}", NULL, NULL, "",
     INV "[spec.a: Invalid value: -1: spec.a in body should be greater than or equal to 0, spec.b: "
         "Unsupported value: \"y\": supported values: \"x\"]"},
    {"validate/nullable-null-ok", SPEC("\"s\":{\"type\":\"string\",\"nullable\":true}"),
     "{\"spec\":{\"s\":null}}", NULL, NULL, "", NULL},
    {"validate/null-in-array", SPEC("\"l\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}"),
     "{\"spec\":{\"l\":[null]}}", NULL, NULL, "",
     INV "spec.l[0]: Invalid value: null: spec.l[0] in body must be of type string: \"null\""},
    {"validate/one-of",
     SPEC("\"o\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":"
          "\"string\"}},\"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}"),
     "{\"spec\":{\"o\":{\"a\":\"1\",\"b\":\"2\"}}}", NULL, NULL, "",
     INV "spec.o: Invalid value: map[string]interface {}{\"a\":\"1\", \"b\":\"2\"}: spec.o in body "
         "must validate one and only one schema (oneOf)"},
    {"validate/any-of-none-matches",
     SPEC("\"o\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":"
          "\"string\"}},\"anyOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}"),
     "{\"spec\":{\"o\":{}}}", NULL, NULL, "",
     INV "spec.o: Invalid value: map[string]interface {}{}: spec.o in body must validate at least "
         "one schema (anyOf)"},
    {"validate/any-of-one-matches",
     SPEC("\"o\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":"
          "\"string\"}},\"anyOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}"),
     "{\"spec\":{\"o\":{\"b\":\"x\"}}}", NULL, NULL, "", NULL},
    {"validate/int-or-string-pattern",
     SPEC("\"q\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}],\"pattern\":\"^[0-9]+m?$"
          "\","
          "\"x-kubernetes-int-or-string\":true}"),
     "{\"spec\":{\"q\":\"5x\"}}", NULL, NULL, "",
     INV "spec.q: Invalid value: \"5x\": spec.q in body should match '^[0-9]+m?$'"},
    {"validate/prune-before-validate", SPEC("\"a\":{\"type\":\"string\"}"),
     "{\"spec\":{\"bogus\":5}}", NULL, "{\"spec\":{}}", "spec.bogus", NULL},
};

static void
test_schema_row(void **state)
{
    const schema_row *r = *state;
    json_object *js = parse(r->schema), *obj = parse(r->obj), *old = parse(r->old);
    sim_schema *s = compile_or_fail(js);
    sim_schema_report rep;
    int rc;

    sim_schema_report_init(&rep);
    rc = sim_schema_apply(s, obj, old, SIM_SCHEMA_ALL, &rep);
    if (r->msg == NULL) {
        if (rc != 0)
            fail_msg("%s: rc %d, first cause %s: %s", r->name, rc,
                     rep.causes.n ? rep.causes.v[0].field : "-",
                     rep.causes.n ? rep.causes.v[0].message : "-");
    } else {
        assert_int_equal(rc, ERR_UNPROCESSABLE);
        char *m = sim_causes_message(&rep.causes, "Thing", "example.com", "x");
        if (strcmp(m, r->msg) != 0) fail_msg("message\n got: %s\nwant: %s", m, r->msg);
        free(m);
    }
    assert_string_equal(pruned_list(&rep), r->pruned);
    if (r->want != NULL) {
        json_object *want = parse(r->want);
        if (!sim_json_equal(obj, want))
            fail_msg("object\n got: %s\nwant: %s", json_object_to_json_string(obj), r->want);
        json_object_put(want);
    }
    sim_schema_report_fini(&rep);
    sim_schema_free(s);
    json_object_put(js);
    json_object_put(obj);
    json_object_put(old);
}

/* ---- the project's CRDs and the golden exchanges ---------------------------- */

typedef struct {
    const char *plural;
    const char *file;
    sim_schema *s;
} crd_entry;

static crd_entry our_crds[] = {
    {"sandboxes", "agents.x-k8s.io_sandboxes.yaml", NULL},
    {"sandboxclaims", "extensions.agents.x-k8s.io_sandboxclaims.yaml", NULL},
    {"sandboxtemplates", "extensions.agents.x-k8s.io_sandboxtemplates.yaml", NULL},
    {"sandboxwarmpools", "extensions.agents.x-k8s.io_sandboxwarmpools.yaml", NULL},
};

static int
load_our_crds(void **state)
{
    (void)state;
    const char *src = getenv("ASC_SOURCE_DIR");
    char path[1024];

    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/deploy/crds/%s", src ? src : ".", our_crds[i].file);
        json_object *js = crd_schema(path, "v1beta1");
        if (js == NULL) {
            print_message("cannot read %s (set ASC_SOURCE_DIR)\n", path);
            return -1;
        }
        our_crds[i].s = compile_or_fail(js);
        json_object_put(js);
    }
    return 0;
}

static int
free_our_crds(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        sim_schema_free(our_crds[i].s);
        our_crds[i].s = NULL;
    }
    return 0;
}

static sim_schema *
schema_for_path(const char *path)
{
    for (size_t i = 0; i < 4; i++) {
        char seg[64];
        snprintf(seg, sizeof seg, "/%s", our_crds[i].plural);
        const char *p = strstr(path, seg);
        if (p != NULL && (p[strlen(seg)] == '\0' || p[strlen(seg)] == '/')) return our_crds[i].s;
    }
    return NULL;
}

static json_object *
load_golden(const char *file)
{
    char path[1024];
    const char *src = getenv("ASC_SOURCE_DIR");
    json_object *o = NULL;

    if (src != NULL) {
        snprintf(path, sizeof path, "%s/tests/golden/%s", src, file);
        o = json_object_from_file(path);
    }
    if (o == NULL) {
        snprintf(path, sizeof path, "/work/shared/golden/%s", file);
        o = json_object_from_file(path);
    }
    return o;
}

static const char *
jget(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* Replay one golden file's POST/PATCH writes of custom resources through
 * sim_schema_apply and compare with what the real server answered. */
static void
replay_golden(const char *file, int *checked)
{
    json_object *g = load_golden(file), *ex;
    json_object *last[16] = {0};
    char last_name[16][64] = {{0}};
    size_t nlast = 0;

    if (g == NULL) {
        print_message("SKIP: golden %s not found\n", file);
        return;
    }
    ex = json_object_object_get(g, "exchanges");
    for (size_t i = 0; i < json_object_array_length(ex); i++) {
        json_object *e = json_object_array_get_idx(ex, i);
        json_object *req = json_object_object_get(e, "request");
        json_object *resp = json_object_object_get(e, "response");
        json_object *body = json_object_object_get(req, "body");
        json_object *rbody = json_object_object_get(resp, "body");
        const char *method = jget(req, "method"), *path = jget(req, "path");
        int status = json_object_get_int(json_object_object_get(resp, "status"));
        sim_schema *s = schema_for_path(path);
        json_object *obj = NULL, *old = NULL;
        const char *name = NULL;

        if (s == NULL || (strcmp(method, "POST") != 0 && strcmp(method, "PATCH") != 0)) continue;
        if (strcmp(method, "POST") == 0) {
            json_object_deep_copy(body, &obj, NULL);
            name = jget(json_object_object_get(body, "metadata"), "name");
        } else {
            name = strrchr(path, '/') + 1;
            for (size_t k = 0; k < nlast; k++)
                if (strcmp(last_name[k], name) == 0) old = last[k];
            if (old == NULL) continue;
            obj = sim_merge_patch(old, body);
        }
        json_object *q = json_object_object_get(req, "query"), *fv = NULL;
        int strict = json_object_object_get_ex(q, "fieldValidation", &fv) &&
                     strcmp(json_object_get_string(fv), "Strict") == 0;
        sim_schema_report rep;
        sim_schema_report_init(&rep);
        int rc = sim_schema_apply(s, obj, old, SIM_SCHEMA_ALL, &rep);
        const char *kind = jget(obj, "kind");
        const char *av = jget(obj, "apiVersion");
        char group[128];
        snprintf(group, sizeof group, "%.*s", (int)(strchr(av, '/') - av), av);
        if (status == 201 || status == 200) {
            if (rc != 0)
                fail_msg("%s#%zu: rc %d: %s", file, i, rc,
                         rep.causes.n ? rep.causes.v[0].message : "");
            /* spec as the real server stored it */
            if (!sim_json_equal(json_object_object_get(obj, "spec"),
                                json_object_object_get(rbody, "spec")))
                fail_msg("%s#%zu spec\n got: %s\nwant: %s", file, i,
                         json_object_to_json_string(json_object_object_get(obj, "spec")),
                         json_object_to_json_string(json_object_object_get(rbody, "spec")));
            /* one Warning header per pruned field, as the server sent */
            json_object *hw = NULL;
            json_object_object_get_ex(json_object_object_get(resp, "headers"), "warning", &hw);
            if (hw != NULL) {
                assert_int_equal(rep.npruned, 1);
                char w[512];
                snprintf(w, sizeof w, "299 - \"unknown field \\\"%s\\\"\"", rep.pruned[0]);
                assert_string_equal(w, json_object_get_string(hw));
            } else {
                assert_int_equal(rep.npruned, 0);
            }
            if (nlast < 16) {
                last[nlast] = json_object_get(rbody);
                snprintf(last_name[nlast++], 64, "%s", name);
            }
        } else if (status == 400 && strict) {
            assert_true(rep.npruned > 0);
            char *m = sim_schema_strict_message(kind, strchr(av, '/') + 1, &rep);
            assert_string_equal(m, jget(rbody, "message"));
            free(m);
        } else if (status == 422) {
            assert_int_equal(rc, ERR_UNPROCESSABLE);
            json_object *gc =
                json_object_object_get(json_object_object_get(rbody, "details"), "causes");
            /* the schema's causes come first; the scale check (".spec.replicas")
             * is the server's own */
            json_object *c0 = json_object_array_get_idx(gc, 0);
            assert_string_equal(rep.causes.v[0].reason, jget(c0, "reason"));
            assert_string_equal(rep.causes.v[0].message, jget(c0, "message"));
            assert_string_equal(rep.causes.v[0].field, jget(c0, "field"));
            if (json_object_array_length(gc) == rep.causes.n) {
                json_object *st = sim_causes_status(&rep.causes, kind, group, name);
                if (!sim_json_equal(st, rbody))
                    fail_msg("%s#%zu status\n got: %s\nwant: %s", file, i,
                             json_object_to_json_string(st), json_object_to_json_string(rbody));
                json_object_put(st);
            }
        } else {
            continue;
        }
        (*checked)++;
        sim_schema_report_fini(&rep);
        json_object_put(obj);
    }
    for (size_t k = 0; k < nlast; k++)
        json_object_put(last[k]);
    json_object_put(g);
}

static void
test_golden_crd_defaulting(void **state)
{
    (void)state;
    int n = 0;
    replay_golden("crd-defaulting.json", &n);
    print_message("crd-defaulting: %d writes checked\n", n);
    assert_true(n >= 7 || n == 0);
}

static void
test_golden_invalid_enum(void **state)
{
    (void)state;
    int n = 0;
    replay_golden("invalid-enum.json", &n);
    print_message("invalid-enum: %d writes checked\n", n);
    assert_true(n >= 5 || n == 0);
}

/* volumeClaimTemplates immutability, the one CEL rule (natively). */
static void
test_vct_rule(void **state)
{
    (void)state;
    sim_schema *s = our_crds[0].s;
    const char *base = "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\","
                       "\"metadata\":{\"name\":\"x\"},\"spec\":{\"podTemplate\":{\"spec\":{"
                       "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}%s}}";
    const char *vct1 = ",\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"data\"},\"spec\":{"
                       "\"accessModes\":[\"ReadWriteOnce\"]}}]";
    const char *vct2 = ",\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"other\"},\"spec\":{"
                       "\"accessModes\":[\"ReadWriteOnce\"]}}]";
    char a[1024], b[1024], c[1024];
    snprintf(a, sizeof a, base, vct1);
    snprintf(b, sizeof b, base, vct2);
    snprintf(c, sizeof c, base, "");
    struct {
        const char *obj, *old;
        int bad;
    } cases[] = {
        {a, NULL, 0}, /* create: transition rules do not run */
        {a, a, 0},    /* unchanged */
        {b, a, 1},    /* changed */
        {c, a, 1},    /* removed */
        {a, c, 1},    /* added */
        {c, c, 0},    /* absent both times */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *obj = parse(cases[i].obj), *old = parse(cases[i].old);
        sim_schema_report rep;
        sim_schema_report_init(&rep);
        if (old != NULL) {
            sim_schema_report r2;
            sim_schema_report_init(&r2);
            sim_schema_apply(s, old, NULL, SIM_SCHEMA_ALL, &r2); /* stored = defaulted */
            sim_schema_report_fini(&r2);
        }
        int rc = sim_schema_apply(s, obj, old, SIM_SCHEMA_ALL, &rep);
        if (cases[i].bad) {
            assert_int_equal(rc, ERR_UNPROCESSABLE);
            char *m = sim_causes_message(&rep.causes, "Sandbox", "agents.x-k8s.io", "x");
            assert_string_equal(m, "Sandbox.agents.x-k8s.io \"x\" is invalid: spec: Invalid value: "
                                   "\"object\": volumeClaimTemplates is immutable");
            free(m);
        } else if (rc != 0) {
            fail_msg("case %zu: %s", i, rep.causes.v[0].message);
        }
        sim_schema_report_fini(&rep);
        json_object_put(obj);
        json_object_put(old);
    }
    /* the rule is enforced, so nothing is reported as unenforced */
    for (size_t i = 0; i < 4; i++) {
        const char *const *rules;
        size_t n = sim_schema_unenforced_rules(our_crds[i].s, &rules);
        for (size_t k = 0; k < n; k++)
            print_message("unenforced in %s: %s\n", our_crds[i].plural, rules[k]);
        assert_int_equal(n, 0);
    }
}

static void
test_unenforced_rules(void **state)
{
    (void)state;
    json_object *js = parse(SPEC("\"a\":{\"type\":\"string\",\"x-kubernetes-validations\":[{"
                                 "\"rule\":\"self.size() > 2\",\"message\":\"short\"}]},\"p\":{"
                                 "\"type\":\"string\",\"pattern\":\"\\\\bword\"}"));
    sim_schema *s = compile_or_fail(js);
    const char *const *rules;
    size_t n = sim_schema_unenforced_rules(s, &rules);
    assert_int_equal(n, 2);
    assert_string_equal(rules[0], ".spec.a: self.size() > 2");
    assert_string_equal(rules[1], ".spec.p: pattern \\bword (escape with no POSIX equivalent)");
    sim_schema_free(s);
    json_object_put(js);
    assert_int_equal(sim_schema_unenforced_rules(NULL, NULL), 0);
}

/* Malformed schemas are refused with a message, never a crash. */
static void
test_bad_schemas(void **state)
{
    (void)state;
    const char *bad[] = {"\"string\"", "[1]", "{\"properties\":{\"a\":5}}",
                         "{\"items\":{\"properties\":{\"b\":[]}}}", "{\"anyOf\":[3]}"};
    char err[256];
    sim_schema *s;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object *js = parse(bad[i]);
        s = (sim_schema *)1;
        err[0] = '\0';
        assert_int_equal(sim_schema_compile(js, &s, err, sizeof err), ERR_INVALID);
        assert_null(s);
        assert_true(err[0] != '\0');
        json_object_put(js);
    }
    /* nesting bomb (built by hand: json-c's parser stops at depth 32) */
    json_object *js = json_object_new_object(), *cur = js;
    for (int i = 0; i < 300; i++) {
        json_object *next = json_object_new_object();
        json_object_object_add(cur, "items", next);
        cur = next;
    }
    assert_int_equal(sim_schema_compile(js, &s, err, sizeof err), ERR_INVALID);
    assert_non_null(strstr(err, "nested too deeply"));
    json_object_put(js);
    /* apply with NULLs */
    sim_schema_report rep;
    sim_schema_report_init(&rep);
    assert_int_equal(sim_schema_apply(NULL, NULL, NULL, SIM_SCHEMA_ALL, &rep), ERR_INVALID);
    sim_schema_report_fini(&rep);
    sim_schema_free(NULL);
}

/* The Status body for the golden invalid-enum answer, built from causes. */
static void
test_causes_helpers(void **state)
{
    (void)state;
    sim_causes c;
    char *m;

    sim_causes_init(&c);
    json_object *v = json_object_new_string("0000");
    sim_causes_invalid(&c, "metadata.uid", v, "field is immutable");
    sim_causes_invalid(&c, "metadata.uid", v, "field is immutable");
    json_object_put(v);
    /* golden pod-status: listed twice, named once, no brackets, no group */
    m = sim_causes_message(&c, "Pod", NULL, "st");
    assert_string_equal(m, "Pod \"st\" is invalid: metadata.uid: Invalid value: \"0000\": field is "
                           "immutable");
    free(m);
    json_object *st = sim_causes_status(&c, "Pod", NULL, "st");
    json_object *details = json_object_object_get(st, "details");
    assert_null(json_object_object_get(details, "group"));
    assert_int_equal(json_object_array_length(json_object_object_get(details, "causes")), 2);
    assert_int_equal(json_object_get_int(json_object_object_get(st, "code")), 422);
    json_object_put(st);
    sim_causes_required(&c, "spec.containers", NULL);
    sim_causes_forbidden(&c, "spec", "not allowed");
    sim_causes_too_many(&c, "l", 3, 2);
    assert_string_equal(c.v[2].message, "Required value");
    assert_string_equal(c.v[2].reason, SIM_CAUSE_REQUIRED);
    assert_string_equal(c.v[3].message, "Forbidden: not allowed");
    assert_string_equal(c.v[4].message, "Too many: 3: must have at most 2 items");
    sim_causes_fini(&c);

    char buf[64];
    json_object *q = json_object_new_string("a\"b\\c\n");
    assert_string_equal(sim_value_text(q, buf, sizeof buf), "\"a\\\"b\\\\c\\n\"");
    json_object_put(q);
    assert_string_equal(sim_value_text(NULL, buf, sizeof buf), "null");
    /* Go's %#v of an unstructured map: sorted keys, ", " between entries */
    char big[256];
    json_object *mv = json_tokener_parse("{\"b\":[1,\"x\",true],\"a\":null,\"c\":{}}");
    assert_string_equal(sim_value_text(mv, big, sizeof big),
                        "map[string]interface {}{\"a\":interface {}(nil), \"b\":[]interface "
                        "{}{1, \"x\", true}, \"c\":map[string]interface {}{}}");
    json_object_put(mv);
    /* truncation stays terminated */
    json_object *longs = json_object_new_string("0123456789012345678901234567890123456789");
    assert_true(strlen(sim_value_text(longs, buf, 8)) == 7);
    json_object_put(longs);
}

/* ---- upstream's full CRDs -------------------------------------------------- */

static sim_schema *
upstream_schema(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", UPSTREAM_DIR, file);
    json_object *js = crd_schema(path, "v1beta1");
    if (js == NULL) return NULL;
    sim_schema *s = compile_or_fail(js);
    json_object_put(js);
    return s;
}

static void
test_upstream_crds(void **state)
{
    (void)state;
    const char *files[] = {"agents.x-k8s.io_sandboxes.yaml",
                           "extensions.agents.x-k8s.io_sandboxclaims.yaml",
                           "extensions.agents.x-k8s.io_sandboxtemplates.yaml",
                           "extensions.agents.x-k8s.io_sandboxwarmpools.yaml"};
    DIR *d = opendir(UPSTREAM_DIR);

    if (d == NULL) {
        print_message("SKIP: %s absent, upstream CRDs not tested\n", UPSTREAM_DIR);
        skip();
    }
    closedir(d);
    for (size_t i = 0; i < 4; i++) {
        sim_schema *s = upstream_schema(files[i]);
        assert_non_null(s);
        const char *const *rules;
        size_t n = sim_schema_unenforced_rules(s, &rules);
        for (size_t k = 0; k < n; k++)
            print_message("upstream %s unenforced: %s\n", files[i], rules[k]);
        assert_int_equal(n, 0);
        sim_schema_free(s);
    }

    sim_schema *s = upstream_schema(files[0]);
    json_object *obj = parse(
        "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\",\"metadata\":{\"name\":"
        "\"u\"},\"spec\":{\"podTemplate\":{\"metadata\":{\"name\":\"n\",\"labels\":{\"app\":\"a\"}}"
        ","
        "\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":"
        "\"busybox\",\"bogus\":1,\"ports\":[{\"containerPort\":8080}],\"env\":[{\"name\":\"A\","
        "\"valueFrom\":{\"configMapKeyRef\":{\"key\":\"k\"}}}],\"resources\":{\"limits\":{\"cpu\":"
        "\"500m\",\"memory\":\"1Gi\"}}}]}}}}");
    sim_schema_report rep;
    sim_schema_report_init(&rep);
    int rc = sim_schema_apply(s, obj, NULL, SIM_SCHEMA_ALL, &rep);
    if (rc != 0) fail_msg("upstream apply: %s: %s", rep.causes.v[0].field, rep.causes.v[0].message);
    /* the template's metadata keeps labels/annotations only, as upstream's
     * schema says (a real server prunes the same) */
    assert_string_equal(pruned_list(&rep),
                        "spec.podTemplate.metadata.name,spec.podTemplate.spec.containers[0].bogus");
    assert_string_equal(jget(jx_get(obj, "spec.podTemplate.metadata.labels"), "app"), "a");
    json_object *c0 = json_object_array_get_idx(jx_get(obj, "spec.podTemplate.spec.containers"), 0);
    json_object *port = json_object_array_get_idx(json_object_object_get(c0, "ports"), 0);
    /* the PodSpec default a real server adds inside the CR */
    assert_string_equal(jget(port, "protocol"), "TCP");
    json_object *ref = json_object_object_get(
        json_object_object_get(json_object_array_get_idx(json_object_object_get(c0, "env"), 0),
                               "valueFrom"),
        "configMapKeyRef");
    assert_string_equal(jget(ref, "name"), "");
    sim_schema_report_fini(&rep);

    /* the quantity pattern of resources.limits */
    json_object_object_add(
        json_object_object_get(json_object_object_get(c0, "resources"), "limits"), "cpu",
        json_object_new_string("lots"));
    sim_schema_report_init(&rep);
    assert_int_equal(sim_schema_apply(s, obj, NULL, SIM_SCHEMA_ALL, &rep), ERR_UNPROCESSABLE);
    assert_string_equal(rep.causes.v[0].field,
                        "spec.podTemplate.spec.containers[0].resources.limits.cpu");
    sim_schema_report_fini(&rep);
    json_object_put(obj);
    sim_schema_free(s);
}

/* ---- random objects ----------------------------------------------------------
 * Objects built from the schema's own field names (so the walk goes deep)
 * with random values: apply never crashes and answers 0 or 422, and it is
 * idempotent: a second apply prunes nothing and changes nothing. */

static uint64_t rs = 0xfeedfacecafebeefULL;

static unsigned
rnd(unsigned n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (unsigned)(rs % n);
}

static json_object *
rand_field_value(int depth)
{
    static const char *const names[] = {"spec",
                                        "podTemplate",
                                        "containers",
                                        "ports",
                                        "containerPort",
                                        "name",
                                        "image",
                                        "env",
                                        "valueFrom",
                                        "configMapKeyRef",
                                        "key",
                                        "resources",
                                        "limits",
                                        "cpu",
                                        "protocol",
                                        "metadata",
                                        "labels",
                                        "status",
                                        "conditions",
                                        "type",
                                        "replicas",
                                        "operatingMode",
                                        "shutdownPolicy",
                                        "bogus",
                                        "volumeClaimTemplates",
                                        "accessModes",
                                        "lifecycle",
                                        "shutdownTime",
                                        "volumes",
                                        "emptyDir"};
    unsigned k = depth > 6 ? rnd(5) : rnd(9);

    switch (k) {
    case 0:
        return NULL;
    case 1:
        return json_object_new_int((int)rnd(200) - 100);
    case 2:
        return json_object_new_string(rnd(2) ? "Running" : "2026-11-23T18:55:00Z");
    case 3:
        return json_object_new_boolean((int)rnd(2));
    case 4:
        return json_object_new_string("x");
    case 5:
    case 6:
    case 7: {
        json_object *o = json_object_new_object();
        for (unsigned i = rnd(5); i > 0; i--)
            json_object_object_add(o, names[rnd(sizeof names / sizeof names[0])],
                                   rand_field_value(depth + 1));
        return o;
    }
    default: {
        json_object *a = json_object_new_array();
        for (unsigned i = rnd(3); i > 0; i--)
            json_object_array_add(a, rand_field_value(depth + 1));
        return a;
    }
    }
}

static void
random_apply(sim_schema *s, int iterations)
{
    int valid = 0;

    for (int it = 0; it < iterations; it++) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "apiVersion",
                               json_object_new_string("agents.x-k8s.io/v1beta1"));
        json_object_object_add(obj, "kind", json_object_new_string("Sandbox"));
        json_object *spec = rand_field_value(1);
        if (rnd(2)) {
            /* a plausible core so the walk reaches the PodSpec */
            json_object *c = json_object_new_object(), *cs = json_object_new_array();
            json_object *ps = json_object_new_object(), *pt = json_object_new_object();
            json_object_object_add(c, "name", json_object_new_string("c"));
            json_object_object_add(c, "image", json_object_new_string("i"));
            json_object_object_add(c, "ports", rand_field_value(5));
            json_object_object_add(c, "env", rand_field_value(5));
            json_object_array_add(cs, c);
            json_object_object_add(ps, "containers", cs);
            json_object_object_add(pt, "spec", ps);
            json_object_put(spec);
            spec = json_object_new_object();
            json_object_object_add(spec, "podTemplate", pt);
        }
        json_object_object_add(obj, "spec", spec);
        if (rnd(2)) json_object_object_add(obj, "status", rand_field_value(1));
        json_object *old = rnd(3) == 0 ? rand_field_value(0) : NULL;
        sim_schema_report rep;
        sim_schema_report_init(&rep);
        int rc = sim_schema_apply(s, obj, old, SIM_SCHEMA_ALL, &rep);
        assert_true(rc == 0 || rc == ERR_UNPROCESSABLE);
        assert_true((rc == 0) == (rep.causes.n == 0));
        valid += rc == 0;
        sim_schema_report_fini(&rep);

        json_object *again = NULL;
        json_object_deep_copy(obj, &again, NULL);
        sim_schema_report_init(&rep);
        sim_schema_apply(s, again, NULL, SIM_SCHEMA_PRUNE | SIM_SCHEMA_DEFAULT, &rep);
        if (rep.npruned != 0 || !sim_json_equal(again, obj))
            fail_msg("second apply changed the object (iteration %d): pruned %s\n%s", it,
                     pruned_list(&rep), json_object_to_json_string(obj));
        sim_schema_report_fini(&rep);
        json_object_put(again);
        json_object_put(obj);
        json_object_put(old);
    }
    print_message("%d random objects, %d valid\n", iterations, valid);
}

static void
test_random_objects(void **state)
{
    (void)state;
    random_apply(our_crds[0].s, 3000);
    sim_schema *up = upstream_schema("agents.x-k8s.io_sandboxes.yaml");
    if (up == NULL) {
        print_message("SKIP: upstream CRD random objects (no %s)\n", UPSTREAM_DIR);
        return;
    }
    random_apply(up, 3000);
    sim_schema_free(up);
}

/* Long sets and map lists: duplicates found through the hash path. */
static void
test_large_sets(void **state)
{
    (void)state;
    json_object *js = parse(
        SPEC("\"l\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"set\",\"items\":{\"type\":"
             "\"string\"}},\"m\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"map\",\"x-"
             "kubernetes-list-map-keys\":[\"name\",\"port\"],\"items\":" OBJ(
                 "\"name\":{\"type\":\"string\"},\"port\":{\"type\":\"integer\"},\"v\":{"
                 "\"type\":\"integer\"}") "}"));
    sim_schema *s = compile_or_fail(js);
    json_object *obj = json_object_new_object(), *spec = json_object_new_object();
    json_object *l = json_object_new_array(), *m = json_object_new_array();
    char buf[32];

    for (int i = 0; i < 20000; i++) {
        snprintf(buf, sizeof buf, "s%d", i);
        json_object_array_add(l, json_object_new_string(buf));
    }
    json_object_array_add(l, json_object_new_string("s5"));
    for (int i = 0; i < 100; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(i == 99 ? "n7" : "n"));
        json_object_object_add(e, "port", json_object_new_int(i == 99 ? 7 : i));
        json_object_object_add(e, "v", json_object_new_int(i));
        json_object_array_add(m, e);
    }
    /* n7/7 is new: the duplicate is "n"/7 written again with another v */
    json_object *d = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string("n"));
    json_object_object_add(d, "port", json_object_new_int(7));
    json_object_object_add(d, "v", json_object_new_int(-1));
    json_object_array_add(m, d);
    json_object_object_add(spec, "l", l);
    json_object_object_add(spec, "m", m);
    json_object_object_add(obj, "spec", spec);

    sim_schema_report rep;
    sim_schema_report_init(&rep);
    assert_int_equal(sim_schema_apply(s, obj, NULL, SIM_SCHEMA_ALL, &rep), ERR_UNPROCESSABLE);
    assert_int_equal(rep.causes.n, 2);
    char *msg = sim_causes_message(&rep.causes, "Thing", "example.com", "x");
    assert_string_equal(msg, INV "[spec.l[20000]: Duplicate value: \"s5\", spec.m[100]: Duplicate "
                                 "value: map[string]interface {}{\"name\":\"n\", \"port\":7}]");
    free(msg);
    sim_schema_report_fini(&rep);
    json_object_put(obj);
    sim_schema_free(s);
    json_object_put(js);

    /* 20k nulls in a map of non-nullable strings all go, in one pass; 20k
     * causes still aggregate into one message quickly */
    js = parse(SPEC("\"m\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
                    "\"l\":{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"minimum\":0}}"));
    s = compile_or_fail(js);
    obj = json_object_new_object();
    spec = json_object_new_object();
    m = json_object_new_object();
    l = json_object_new_array();
    for (int i = 0; i < 20000; i++) {
        snprintf(buf, sizeof buf, "k%d", i);
        json_object_object_add(m, buf, i == 3 ? json_object_new_string("v") : NULL);
        json_object_array_add(l, json_object_new_int(-1));
    }
    json_object_object_add(spec, "m", m);
    json_object_object_add(spec, "l", l);
    json_object_object_add(obj, "spec", spec);
    sim_schema_report_init(&rep);
    assert_int_equal(sim_schema_apply(s, obj, NULL, SIM_SCHEMA_ALL, &rep), ERR_UNPROCESSABLE);
    assert_int_equal(json_object_object_length(m), 1);
    assert_int_equal(rep.causes.n, 20000);
    msg = sim_causes_message(&rep.causes, "Thing", "example.com", "x");
    assert_non_null(strstr(msg, "spec.l[19999]: Invalid value: -1: spec.l[19999] in body should be "
                                "greater than or equal to 0]"));
    free(msg);
    sim_schema_report_fini(&rep);
    json_object_put(obj);
    sim_schema_free(s);
    json_object_put(js);
}

/* ---- RE2 -> ERE ---------------------------------------------------------- */

static void
test_re2_translation(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } rows[] = {
        {"^[a-z]+$", "^[a-z]+$"},
        {"\\d+", "[0-9]+"},
        {"\\D\\w\\W\\s\\S", "[^0-9][A-Za-z0-9_][^A-Za-z0-9_][[:space:]][^[:space:]]"},
        {"(?:ab|c)+", "(ab|c)+"},
        {"a*?b+?c??", "a*b+c?"},
        {"[\\d.]", "[0-9.]"},
        {"[\\.\\-a]", "[.a-]"},
        {"[\\]x]", "[]x]"},
        {"\\Aabc\\z", "^abc$"},
        {"\\.\\+", "\\.\\+"},
        {"[[:alpha:]]", "[[:alpha:]]"},
        {"\\bword", NULL},
        {"(?i)abc", NULL},
        {"\\pL", NULL},
        {"[abc", NULL},
        {"abc\\", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *why = NULL;
        char *ere = sim__re2_to_ere(rows[i].in, &why);
        if (rows[i].out == NULL) {
            assert_null(ere);
            assert_non_null(why);
            continue;
        }
        if (ere == NULL || strcmp(ere, rows[i].out) != 0)
            fail_msg("%s -> %s, want %s", rows[i].in, ere ? ere : "NULL", rows[i].out);
        free(ere);
    }
}

/* ---- throughput ------------------------------------------------------------ */

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_apply(const char *label, sim_schema *s, const char *doc, int n)
{
    json_object *tmpl = parse(doc);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        json_object *o = NULL;
        json_object_deep_copy(tmpl, &o, NULL);
        sim_schema_report rep;
        sim_schema_report_init(&rep);
        assert_int_equal(sim_schema_apply(s, o, tmpl, SIM_SCHEMA_ALL, &rep), 0);
        sim_schema_report_fini(&rep);
        json_object_put(o);
    }
    double dt = now_s() - t0;
    print_message("%s: %d applies (copy + prune + default + validate) in %.3f s = %.0f/s\n", label,
                  n, dt, n / dt);
    json_object_put(tmpl);
    /* generous bound (ASan, shared cores); the Release figure is printed */
    assert_true(dt < 8.0);
}

static void
test_throughput(void **state)
{
    (void)state;
    const char *doc =
        "{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\",\"metadata\":{\"name\":"
        "\"s\",\"namespace\":\"ns\",\"labels\":{\"a\":\"b\"}},\"spec\":{\"podTemplate\":{\"spec\":{"
        "\"containers\":[{\"name\":\"main\",\"image\":\"busybox\",\"ports\":[{\"containerPort\":80,"
        "\"protocol\":\"TCP\"}]}]}},\"operatingMode\":\"Running\",\"shutdownPolicy\":\"Retain\"},"
        "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"R\","
        "\"message\":\"m\",\"lastTransitionTime\":\"2026-11-23T18:55:00Z\"}]}}";
    bench_apply("project CRD", our_crds[0].s, doc, 20000);
    char path[512];
    snprintf(path, sizeof path, "%s/agents.x-k8s.io_sandboxes.yaml", UPSTREAM_DIR);
    json_object *js = crd_schema(path, "v1beta1");
    if (js != NULL) {
        double t0 = now_s();
        sim_schema *c = NULL;
        for (int i = 0; i < 10; i++) {
            sim_schema_free(c);
            c = compile_or_fail(js);
        }
        print_message("upstream Sandbox schema compiles in %.2f ms\n", (now_s() - t0) * 100);
        sim_schema_free(c);
        json_object_put(js);
    }
    sim_schema *up = upstream_schema("agents.x-k8s.io_sandboxes.yaml");
    if (up == NULL) {
        print_message("SKIP: upstream CRD throughput (no %s)\n", UPSTREAM_DIR);
        return;
    }
    bench_apply("upstream CRD", up, doc, 20000);
    sim_schema_free(up);
}

int
main(void)
{
    size_t nr = sizeof schema_rows / sizeof schema_rows[0];
    struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_golden_crd_defaulting),
        cmocka_unit_test(test_golden_invalid_enum),
        cmocka_unit_test(test_vct_rule),
        cmocka_unit_test(test_unenforced_rules),
        cmocka_unit_test(test_bad_schemas),
        cmocka_unit_test(test_causes_helpers),
        cmocka_unit_test(test_upstream_crds),
        cmocka_unit_test(test_re2_translation),
        cmocka_unit_test(test_random_objects),
        cmocka_unit_test(test_large_sets),
        cmocka_unit_test(test_throughput),
    };
    size_t nf = sizeof fixed / sizeof fixed[0];
    struct CMUnitTest *tests = calloc(nr + nf, sizeof *tests);

    for (size_t i = 0; i < nr; i++) {
        tests[i].name = schema_rows[i].name;
        tests[i].test_func = test_schema_row;
        tests[i].initial_state = (void *)&schema_rows[i];
    }
    memcpy(tests + nr, fixed, sizeof fixed);
    int rc = _cmocka_run_group_tests("sim_schema", tests, nr + nf, load_our_crds, free_our_crds);
    free(tests);
    return rc;
}
