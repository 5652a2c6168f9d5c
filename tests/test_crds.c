/* test_crds.c - deploy/crds/: the embedded CRDs parse, equal the files on disk, and carry the
 * structure spec section 1 demands (one v1beta1 version, conversion None, names, printer
 * columns, subresources, defaults, enums, minimums, the volumeClaimTemplates CEL rule).
 *
 * Each row checks paths in a view {crd, ver, schema} built from one CRD: ver is its only
 * version, schema that version's openAPIV3Schema; expected values are JSON texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/yaml2json.h"
#include "deploy/crds.h"

#define MAX_CHECKS 40

typedef struct {
    const char *path;
    const char *want; /* JSON text */
} crd_check;

typedef struct {
    const char *name; /* test name */
    const char *file;
    crd_check checks[MAX_CHECKS];
} crd_row;

#define SP "schema.properties.spec.properties."
#define ST "schema.properties.status.properties."
#define READY_COLS                                                                                 \
    "{\"name\":\"Ready\",\"type\":\"string\","                                                     \
    "\"jsonPath\":\".status.conditions[?(@.type=='Ready')].status\"}"
#define REASON_COL                                                                                 \
    "{\"name\":\"Reason\",\"type\":\"string\","                                                    \
    "\"jsonPath\":\".status.conditions[?(@.type=='Ready')].reason\"}"
#define AGE_COL "{\"name\":\"Age\",\"type\":\"date\",\"jsonPath\":\".metadata.creationTimestamp\"}"
#define VCT_RULE                                                                                   \
    "[{\"rule\":\"has(self.volumeClaimTemplates) == has(oldSelf.volumeClaimTemplates) && "         \
    "(!has(self.volumeClaimTemplates) || self.volumeClaimTemplates == "                            \
    "oldSelf.volumeClaimTemplates)\",\"message\":\"volumeClaimTemplates is immutable\"}]"
#define COMMON(group)                                                                              \
    {"crd.apiVersion", "\"apiextensions.k8s.io/v1\""},                                             \
        {"crd.kind", "\"CustomResourceDefinition\""}, {"crd.spec.group", "\"" group "\""},         \
        {"crd.spec.scope", "\"Namespaced\""}, {"crd.spec.conversion", "{\"strategy\":\"None\"}"},  \
        {"ver.name", "\"v1beta1\""}, {"ver.served", "true"}, {"ver.storage", "true"},              \
        {"schema.type", "\"object\""},                                                             \
    {                                                                                              \
        "schema.required", "[\"spec\"]"                                                            \
    }
#define CONDITIONS(prefix)                                                                         \
    {prefix "conditions.items.required",                                                           \
     "[\"lastTransitionTime\",\"message\",\"reason\",\"status\",\"type\"]"},                       \
        {prefix "conditions.items.properties.status.enum", "[\"True\",\"False\",\"Unknown\"]"},    \
        {prefix "conditions.items.properties.lastTransitionTime.format", "\"date-time\""},         \
        {prefix "conditions.items.properties.reason.pattern",                                      \
         "\"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$\""},                                          \
    {                                                                                              \
        prefix "conditions.items.properties.observedGeneration.minimum", "0"                       \
    }

static const crd_row rows[] = {
    {"sandboxes",
     "agents.x-k8s.io_sandboxes.yaml",
     {COMMON("agents.x-k8s.io"),
      {"crd.metadata.name", "\"sandboxes.agents.x-k8s.io\""},
      {"crd.spec.names",
       "{\"kind\":\"Sandbox\",\"listKind\":\"SandboxList\",\"plural\":\"sandboxes\","
       "\"singular\":\"sandbox\",\"shortNames\":[\"sandbox\"]}"},
      {"ver.subresources", "{\"status\":{}}"},
      {"ver.additionalPrinterColumns", "[" READY_COLS "," REASON_COL "," AGE_COL "]"},
      {"schema.properties.spec.required", "[\"podTemplate\"]"},
      {"schema.properties.spec.x-kubernetes-validations", VCT_RULE},
      {SP "podTemplate.required", "[\"spec\"]"},
      {SP "podTemplate.properties.spec.x-kubernetes-preserve-unknown-fields", "true"},
      {SP "podTemplate.properties.spec.required", "[\"containers\"]"},
      {SP "podTemplate.properties.metadata.properties.labels.additionalProperties",
       "{\"type\":\"string\"}"},
      {SP "volumeClaimTemplates.x-kubernetes-list-type", "\"atomic\""},
      {SP "volumeClaimTemplates.items.required", "[\"spec\"]"},
      {SP "volumeClaimTemplates.items.properties.spec.x-kubernetes-preserve-unknown-fields",
       "true"},
      {SP "service.type", "\"boolean\""},
      {SP "shutdownTime.format", "\"date-time\""},
      {SP "shutdownPolicy.enum", "[\"Delete\",\"Retain\"]"},
      {SP "shutdownPolicy.default", "\"Retain\""},
      {SP "operatingMode.enum", "[\"Running\",\"Suspended\"]"},
      {SP "operatingMode.default", "\"Running\""},
      CONDITIONS(ST),
      {ST "podIPs.items.type", "\"string\""},
      {ST "nodeName.type", "\"string\""},
      {ST "selector.type", "\"string\""},
      {ST "serviceFQDN.type", "\"string\""}}},
    {"sandboxclaims",
     "extensions.agents.x-k8s.io_sandboxclaims.yaml",
     {COMMON("extensions.agents.x-k8s.io"),
      {"crd.metadata.name", "\"sandboxclaims.extensions.agents.x-k8s.io\""},
      {"crd.spec.names.shortNames", "[\"sandboxclaim\"]"},
      {"crd.spec.names.kind", "\"SandboxClaim\""},
      {"ver.subresources", "{\"status\":{}}"},
      {"ver.additionalPrinterColumns",
       "[" READY_COLS ",{\"name\":\"Sandbox\",\"type\":\"string\","
       "\"jsonPath\":\".status.sandbox.name\"}," REASON_COL "," AGE_COL "]"},
      {"schema.properties.spec.required", "[\"warmPoolRef\"]"},
      {SP "warmPoolRef.required", "[\"name\"]"},
      {SP "lifecycle.properties.shutdownPolicy.enum",
       "[\"Delete\",\"DeleteForeground\",\"Retain\"]"},
      {SP "lifecycle.properties.shutdownPolicy.default", "\"Retain\""},
      {SP "lifecycle.properties.ttlSecondsAfterFinished.minimum", "0"},
      {SP "lifecycle.properties.shutdownTime.format", "\"date-time\""},
      {SP "env.x-kubernetes-list-type", "\"atomic\""},
      {SP "env.items.required", "[\"name\",\"value\"]"},
      {SP "volumeClaimTemplates.x-kubernetes-list-type", "\"atomic\""},
      {SP "additionalPodMetadata.properties.annotations.additionalProperties",
       "{\"type\":\"string\"}"},
      CONDITIONS(ST),
      {ST "sandbox.properties.podIPs.items.type", "\"string\""}}},
    {"sandboxtemplates",
     "extensions.agents.x-k8s.io_sandboxtemplates.yaml",
     {COMMON("extensions.agents.x-k8s.io"),
      {"crd.metadata.name", "\"sandboxtemplates.extensions.agents.x-k8s.io\""},
      {"crd.spec.names.shortNames", "[\"sandboxtemplate\"]"},
      {"ver.subresources", "null"},
      {"ver.additionalPrinterColumns", "null"},
      {"schema.properties.status", "null"},
      {"schema.properties.spec.required", "[\"podTemplate\"]"},
      {SP "podTemplate.properties.spec.x-kubernetes-preserve-unknown-fields", "true"},
      {SP "podTemplate.properties.spec.required", "[\"containers\"]"},
      {SP "networkPolicyManagement.default", "\"Managed\""},
      {SP "envVarsInjectionPolicy.enum", "[\"Allowed\",\"Overrides\",\"Disallowed\"]"},
      {SP "envVarsInjectionPolicy.default", "\"Disallowed\""},
      {SP "volumeClaimTemplatesPolicy.default", "\"Disallowed\""},
      {SP "networkPolicy.properties.ingress.items.x-kubernetes-preserve-unknown-fields", "true"},
      {SP "networkPolicy.properties.egress.items.x-kubernetes-preserve-unknown-fields", "true"}}},
    {"sandboxwarmpools",
     "extensions.agents.x-k8s.io_sandboxwarmpools.yaml",
     {COMMON("extensions.agents.x-k8s.io"),
      {"crd.metadata.name", "\"sandboxwarmpools.extensions.agents.x-k8s.io\""},
      {"crd.spec.names.shortNames", "[\"swp\"]"},
      {"crd.spec.names.singular", "\"sandboxwarmpool\""},
      {"ver.subresources",
       "{\"status\":{},\"scale\":{\"specReplicasPath\":\".spec.replicas\","
       "\"statusReplicasPath\":\".status.replicas\",\"labelSelectorPath\":\".status.selector\"}}"},
      {"ver.additionalPrinterColumns",
       "[{\"name\":\"Ready\",\"type\":\"integer\",\"jsonPath\":\".status.readyReplicas\"},"
       "{\"name\":\"Desired\",\"type\":\"integer\",\"jsonPath\":\".spec.replicas\"}," AGE_COL "]"},
      {"schema.properties.spec.required", "[\"sandboxTemplateRef\"]"},
      {SP "replicas.default", "1"},
      {SP "replicas.minimum", "0"},
      {SP "replicas.format", "\"int32\""},
      {SP "sandboxTemplateRef.required", "[\"name\"]"},
      {SP "updateStrategy.default", "null"},
      {SP "updateStrategy.properties.type.enum", "[\"Recreate\",\"OnReplenish\"]"},
      {SP "updateStrategy.properties.type.default", "\"OnReplenish\""},
      {ST "observedGeneration.minimum", "0"},
      {ST "readyReplicas.type", "\"integer\""},
      {ST "selector.type", "\"string\""}}},
};

/* ---- agreement with upstream's CRDs (../shared/upstream-crds, data for tests) ---------- */

/* Keys whose values must agree between our schema node and upstream's v1beta1 node. */
static const char *const agree_keys[] = {"type",
                                         "enum",
                                         "default",
                                         "format",
                                         "minimum",
                                         "maximum",
                                         "minLength",
                                         "maxLength",
                                         "pattern",
                                         "required",
                                         "x-kubernetes-list-type",
                                         "x-kubernetes-validations"};

static int
agree(json_object *ours, json_object *up, const char *path)
{
    int bad = 0;
    if (up == NULL) {
        print_error("%s: not in upstream's schema\n", path);
        return 1;
    }
    int preserve = jx_bool(ours, "x-kubernetes-preserve-unknown-fields", 0);
    for (size_t i = 0; i < sizeof agree_keys / sizeof agree_keys[0]; i++) {
        json_object *a = jx_child(ours, agree_keys[i]), *b = jx_child(up, agree_keys[i]);
        if (!json_object_equal(a, b)) {
            print_error("%s: %s: ours %s, upstream %s\n", path, agree_keys[i],
                        a ? json_object_to_json_string(a) : "(none)",
                        b ? json_object_to_json_string(b) : "(none)");
            bad++;
        }
    }
    if (preserve) return bad; /* upstream spells out PodSpec/PVC spec/rules; we keep them opaque */
    char sub[1024];
    json_object *op = jx_obj(ours, "properties"), *upp = jx_obj(up, "properties");
    if (op) {
        json_object_object_foreach(op, k, v)
        {
            snprintf(sub, sizeof sub, "%s.%s", path, k);
            bad += agree(v, jx_child(upp, k), sub);
        }
    }
    if (upp) {
        json_object_object_foreach(upp, k, v)
        {
            (void)v;
            if (jx_child(op, k) == NULL) {
                print_error("%s.%s: in upstream's schema, not in ours\n", path, k);
                bad++;
            }
        }
    }
    if (jx_get(ours, "items")) {
        snprintf(sub, sizeof sub, "%s[]", path);
        bad += agree(jx_get(ours, "items"), jx_get(up, "items"), sub);
    }
    if (jx_obj(ours, "additionalProperties")) {
        snprintf(sub, sizeof sub, "%s{}", path);
        bad += agree(jx_get(ours, "additionalProperties"), jx_get(up, "additionalProperties"), sub);
    }
    return bad;
}

static json_object *
version_of(json_object *crd, const char *name)
{
    json_object *vers = jx_arr(crd, "spec.versions");
    for (size_t i = 0; vers && i < json_object_array_length(vers); i++)
        if (strcmp(jx_str_or(json_object_array_get_idx(vers, i), "name", ""), name) == 0)
            return json_object_array_get_idx(vers, i);
    return NULL;
}

static json_object *parse_embedded(const char *file);

/* Users may run the controller under upstream's CRDs: ours must be the same API (names,
 * columns, subresources, every field, type, enum, default and bound) at v1beta1. */
static void
test_upstream_agreement(void **state)
{
    const crd_row *r = *state;
    const char *dir = getenv("ASC_UPSTREAM_CRDS");
    const char *src = getenv("ASC_SOURCE_DIR");
    char path[2048];
    if (dir)
        snprintf(path, sizeof path, "%s/%s", dir, r->file);
    else
        snprintf(path, sizeof path, "%s/../shared/upstream-crds/%s", src ? src : ".", r->file);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "SKIP: upstream CRD %s not present\n", path);
        skip();
    }
    static char buf[1 << 21];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    char err[256];
    json_object *up = yaml_to_json(buf, n, err, sizeof err);
    if (up == NULL) fail_msg("%s: %s", path, err);
    json_object *ours = parse_embedded(r->file);
    json_object *ov = version_of(ours, "v1beta1"), *uv = version_of(up, "v1beta1");
    assert_non_null(ov);
    assert_non_null(uv);
    int bad = 0;
    const char *same[] = {"additionalPrinterColumns", "subresources"};
    for (size_t i = 0; i < 2; i++) {
        if (!json_object_equal(jx_get(ov, same[i]), jx_get(uv, same[i]))) {
            print_error("%s differs from upstream\n", same[i]);
            bad++;
        }
    }
    if (!json_object_equal(jx_get(ours, "spec.names"), jx_get(up, "spec.names")) ||
        !json_object_equal(jx_get(ours, "spec.group"), jx_get(up, "spec.group")) ||
        !json_object_equal(jx_get(ours, "metadata.name"), jx_get(up, "metadata.name"))) {
        print_error("names differ from upstream\n");
        bad++;
    }
    bad +=
        agree(jx_get(ov, "schema.openAPIV3Schema"), jx_get(uv, "schema.openAPIV3Schema"), "schema");
    json_object_put(ours);
    json_object_put(up);
    assert_int_equal(bad, 0);
}

static json_object *
parse_embedded(const char *file)
{
    for (size_t i = 0; i < asc_crd_count; i++) {
        if (strcmp(asc_crd_names[i], file) != 0) continue;
        char err[256] = "";
        json_object *doc = yaml_to_json(asc_crd_yaml[i], strlen(asc_crd_yaml[i]), err, sizeof err);
        if (doc == NULL) fail_msg("%s: %s", file, err);
        return doc;
    }
    fail_msg("%s is not embedded", file);
    return NULL;
}

static void
test_crd_row(void **state)
{
    const crd_row *r = *state;
    json_object *doc = parse_embedded(r->file);
    json_object *vers = jx_arr(doc, "spec.versions");
    assert_non_null(vers);
    assert_int_equal(json_object_array_length(vers), 1);
    json_object *view = json_object_new_object();
    json_object *ver = json_object_array_get_idx(vers, 0);
    json_object_object_add(view, "crd", json_object_get(doc));
    json_object_object_add(view, "ver", json_object_get(ver));
    json_object_object_add(view, "schema", json_object_get(jx_get(ver, "schema.openAPIV3Schema")));
    int bad = 0;
    for (size_t i = 0; i < MAX_CHECKS && r->checks[i].path; i++) {
        const crd_check *c = &r->checks[i];
        json_object *want = json_tokener_parse(c->want);
        json_object *got = jx_get(view, c->path);
        if (!json_object_equal(want, got)) {
            print_error("%s: %s: want %s, got %s\n", r->file, c->path, c->want,
                        got ? json_object_to_json_string(got) : "(absent)");
            bad++;
        }
        json_object_put(want);
    }
    json_object_put(view);
    json_object_put(doc);
    assert_int_equal(bad, 0);
}

/* The library must hold exactly the YAML files of deploy/crds/, byte for byte, so a stale
 * build (a file edited without regeneration) fails here. */
static void
test_embedded_match_files(void **state)
{
    (void)state;
    const char *src = getenv("ASC_SOURCE_DIR");
    if (src == NULL) skip();
    assert_int_equal(asc_crd_count, sizeof rows / sizeof rows[0]);
    for (size_t i = 0; i < asc_crd_count; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/deploy/crds/%s", src, asc_crd_names[i]);
        FILE *f = fopen(path, "rb");
        if (f == NULL) fail_msg("cannot open %s", path);
        size_t want = strlen(asc_crd_yaml[i]);
        char *buf = malloc(want + 2);
        assert_non_null(buf);
        size_t n = fread(buf, 1, want + 1, f);
        fclose(f);
        assert_int_equal(n, want);
        assert_memory_equal(buf, asc_crd_yaml[i], want);
        free(buf);
    }
    /* kustomization.yaml lists every CRD file (kubectl apply -k deploy/crds). */
    char path[1024];
    snprintf(path, sizeof path, "%s/deploy/crds/kustomization.yaml", src);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    char err[256];
    json_object *k = yaml_to_json(buf, n, err, sizeof err);
    assert_non_null(k);
    json_object *res = jx_arr(k, "resources");
    assert_non_null(res);
    assert_int_equal(json_object_array_length(res), asc_crd_count);
    for (size_t i = 0; i < asc_crd_count; i++)
        assert_string_equal(json_object_get_string(json_object_array_get_idx(res, i)),
                            asc_crd_names[i]);
    json_object_put(k);
}

int
main(void)
{
    enum { NROWS = sizeof rows / sizeof rows[0] };
    static char names[NROWS][64];
    struct CMUnitTest tests[2 * NROWS + 1];
    for (size_t i = 0; i < NROWS; i++) {
        tests[i] = (struct CMUnitTest){
            .name = rows[i].name, .test_func = test_crd_row, .initial_state = (void *)&rows[i]};
        snprintf(names[i], sizeof names[i], "%s_like_upstream", rows[i].name);
        tests[NROWS + i] = (struct CMUnitTest){.name = names[i],
                                               .test_func = test_upstream_agreement,
                                               .initial_state = (void *)&rows[i]};
    }
    tests[2 * NROWS] =
        (struct CMUnitTest){.name = "embedded_match_files", .test_func = test_embedded_match_files};
    return _cmocka_run_group_tests("test_crds", tests, 2 * NROWS + 1, NULL, NULL);
}
