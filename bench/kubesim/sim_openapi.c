/* sim_openapi.c - the OpenAPI v3 documents kubectl reads: the root index
 * (/openapi/v3) and one document per group-version with, for every resource,
 * its paths (PATCH operations list the query parameters kubectl probes, such
 * as fieldValidation, and name the GroupVersionKind) and, for custom
 * resources, the CRD's structural schema. Built from the live resource table,
 * so CRDs created at run time appear. */
#include "bench/kubesim/sim_state.h"

#include "core/jx.h"

#include <stdio.h>
#include <string.h>

static void
gv_key(const sim_res *r, char *buf, size_t len)
{
    if (r->group[0])
        snprintf(buf, len, "apis/%s/%s", r->group, r->version);
    else
        snprintf(buf, len, "api/%s", r->version);
}

/* "io.x-k8s.agents.v1beta1.Sandbox": reversed group, version, kind. */
static void
schema_name(const sim_res *r, char *buf, size_t len)
{
    if (!r->group[0]) {
        snprintf(buf, len, "io.k8s.api.core.%s.%s", r->version, r->kind);
        return;
    }
    char rev[256] = "";
    const char *g = r->group;
    const char *end = g + strlen(g);
    while (end > g) {
        const char *dot = end - 1;
        while (dot > g && *dot != '.')
            dot--;
        const char *seg = *dot == '.' ? dot + 1 : dot;
        size_t l = strlen(rev);
        snprintf(rev + l, sizeof rev - l, "%s%.*s", l ? "." : "", (int)(end - seg), seg);
        end = dot;
    }
    snprintf(buf, len, "%s.%s.%s", rev, r->version, r->kind);
}

static void
gvk_ext(sim_buf *b, const sim_res *r)
{
    sim_buf_printf(b,
                   "\"x-kubernetes-group-version-kind\":{\"group\":\"%s\",\"version\":\"%s\","
                   "\"kind\":\"%s\"}",
                   r->group, r->version, r->kind);
}

static const char *const query_params[] = {"dryRun", "fieldManager", "fieldValidation", "force",
                                           "pretty"};

static void
operation(sim_buf *b, const char *verb, const sim_res *r, int patch)
{
    sim_buf_printf(b, "\"%s\":{\"operationId\":\"%s%s\",\"parameters\":[", verb, verb, r->kind);
    size_t n = patch ? 5 : 4;
    for (size_t i = 0; i < n; i++)
        sim_buf_printf(b,
                       "%s{\"name\":\"%s\",\"in\":\"query\",\"schema\":{\"type\":\"string\","
                       "\"uniqueItems\":true}}",
                       i ? "," : "", query_params[i]);
    sim_buf_puts(b, "],\"responses\":{\"200\":{\"description\":\"OK\"}},");
    gvk_ext(b, r);
    sim_buf_puts(b, "}");
}

static void
gv_document(sim_state *S, const char *group, const char *version, sim_buf *b)
{
    sim_buf_printf(b, "{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"Kubernetes\",\"version\":"
                      "\"v1.32.0\"},\"paths\":{");
    int first = 1;
    for (size_t i = 0; i < S->res.n; i++) {
        const sim_res *r = S->res.v[i];
        if (strcmp(r->group, group) || strcmp(r->version, version)) continue;
        char base[512];
        if (r->group[0])
            snprintf(base, sizeof base, "/apis/%s/%s/%s%s", r->group, r->version,
                     r->namespaced ? "namespaces/{namespace}/" : "", r->plural);
        else
            snprintf(base, sizeof base, "/api/%s/%s%s", r->version,
                     r->namespaced ? "namespaces/{namespace}/" : "", r->plural);
        sim_buf_printf(b, "%s\"%s\":{", first ? "" : ",", base);
        operation(b, "post", r, 0);
        sim_buf_printf(b, "},\"%s/{name}\":{", base);
        operation(b, "put", r, 0);
        sim_buf_puts(b, ",");
        operation(b, "patch", r, 1);
        sim_buf_puts(b, "}");
        if (r->subres & SIM_SUB_STATUS) {
            sim_buf_printf(b, ",\"%s/{name}/status\":{", base);
            operation(b, "patch", r, 1);
            sim_buf_puts(b, "}");
        }
        first = 0;
    }
    sim_buf_puts(b, "},\"components\":{\"schemas\":{");
    first = 1;
    for (size_t i = 0; i < S->res.n; i++) {
        const sim_res *r = S->res.v[i];
        if (strcmp(r->group, group) || strcmp(r->version, version) || r->hook != SIM_HOOK_CUSTOM)
            continue;
        /* the CRD's own schema, with the GroupVersionKind kubectl looks up */
        sim_res *crdr = sim_find_res(S, "apiextensions.k8s.io", "customresourcedefinitions");
        sim_obj *crd = crdr && r->crd_name ? sim_lookup(S, crdr, "", r->crd_name) : NULL;
        json_object *schema = NULL;
        json_object *vers = crd ? jx_arr(sim_obj_tree(crd), "spec.versions") : NULL;
        for (size_t k = 0; vers && k < json_object_array_length(vers); k++) {
            json_object *v = json_object_array_get_idx(vers, k);
            if (!strcmp(jx_str_or(v, "name", ""), r->version))
                schema = jx_obj(v, "schema.openAPIV3Schema");
        }
        char nm[512];
        schema_name(r, nm, sizeof nm);
        sim_buf_printf(b, "%s\"%s\":", first ? "" : ",", nm);
        json_object *s = NULL;
        if (schema) json_object_deep_copy(schema, &s, NULL);
        if (!s) s = json_object_new_object();
        json_object *ext = json_object_new_array();
        json_object *g = json_object_new_object();
        json_object_object_add(g, "group", json_object_new_string(r->group));
        json_object_object_add(g, "kind", json_object_new_string(r->kind));
        json_object_object_add(g, "version", json_object_new_string(r->version));
        json_object_array_add(ext, g);
        json_object_object_add(s, "x-kubernetes-group-version-kind", ext);
        sim_buf_puts(b, json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(s);
        first = 0;
    }
    sim_buf_puts(b, "}}}");
}

int
sim_openapi_handle(sim_rq *rq)
{
    sim_state *S = rq->S;
    const char *p = rq->r->path;
    if (strncmp(p, "/openapi/v3", 11) != 0 || strcmp(rq->r->method, "GET") != 0) return 0;
    sim_buf b = {0};
    if (!strcmp(p, "/openapi/v3") || !strcmp(p, "/openapi/v3/")) {
        sim_buf_puts(&b, "{\"paths\":{");
        int first = 1;
        for (size_t i = 0; i < S->res.n; i++) {
            char key[512];
            gv_key(S->res.v[i], key, sizeof key);
            int dup = 0;
            for (size_t k = 0; k < i; k++) {
                char k2[512];
                gv_key(S->res.v[k], k2, sizeof k2);
                if (!strcmp(k2, key)) dup = 1;
            }
            if (dup) continue;
            /* the hash changes with the table, so kubectl's cache follows CRD changes */
            sim_buf_printf(&b,
                           "%s\"%s\":{\"serverRelativeURL\":\"/openapi/v3/%s?hash=%016llX%04zu\"}",
                           first ? "" : ",", key, key, (unsigned long long)S->rv, S->res.n);
            first = 0;
        }
        sim_buf_puts(&b, "}}");
    } else {
        char group[256] = "", version[64] = "";
        if (!strncmp(p, "/openapi/v3/api/", 16))
            snprintf(version, sizeof version, "%s", p + 16);
        else if (sscanf(p, "/openapi/v3/apis/%255[^/]/%63s", group, version) != 2) {
            sim_buf_free(&b);
            return 0;
        }
        if (!sim_res_gv_known(&S->res, group, version)) {
            sim_buf_free(&b);
            return 0;
        }
        gv_document(S, group, version, &b);
    }
    sim_record(rq, 200);
    sim_conn_reply(rq->c, 200, "application/json", NULL, b.data ? b.data : "{}", b.len);
    sim_buf_free(&b);
    return 1;
}
