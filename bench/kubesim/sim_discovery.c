/* sim_discovery.c - /version, /api, /apis, /apis/<group>[/<version>],
 * /api/v1 resource lists (from the live resource table, so CRDs created at
 * run time appear), and the health endpoints. */
#include "bench/kubesim/sim_state.h"

#include "core/jx.h"

#include <openssl/sha.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void
reply_buf(sim_rq *rq, sim_buf *b)
{
    sim_record(rq, 200);
    sim_conn_reply(rq->c, 200, "application/json", NULL, b->data ? b->data : "{}", b->len);
    sim_buf_free(b);
}

static void
version_hash(const sim_res *r, char out[16])
{
    char in[512];
    snprintf(in, sizeof in, "%s/%s/%s", r->group, r->version, r->kind);
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)in, strlen(in), d);
    EVP_EncodeBlock((unsigned char *)out, d, 8);
}

static void
str_list(sim_buf *b, const char *csv)
{
    sim_buf_puts(b, "[");
    int first = 1;
    const char *p = csv;
    while (p && *p) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        sim_buf_printf(b, "%s\"%.*s\"", first ? "" : ",", (int)n, p);
        first = 0;
        p = c ? c + 1 : NULL;
    }
    sim_buf_puts(b, "]");
}

static void
sub_entry(sim_buf *b, const sim_res *r, const char *sub, const char *verbs, const char *group,
          const char *version, const char *kind)
{
    sim_buf_printf(b, ",{\"name\":\"%s/%s\",\"singularName\":\"\",\"namespaced\":%s,", r->plural,
                   sub, r->namespaced ? "true" : "false");
    if (group) sim_buf_printf(b, "\"group\":\"%s\",\"version\":\"%s\",", group, version);
    sim_buf_printf(b, "\"kind\":\"%s\",\"verbs\":%s}", kind ? kind : r->kind, verbs);
}

static void
resource_list(sim_rq *rq, const char *group, const char *version)
{
    sim_state *S = rq->S;
    sim_buf b = {0};
    char gv[256];
    if (group[0])
        snprintf(gv, sizeof gv, "%s/%s", group, version);
    else
        snprintf(gv, sizeof gv, "%s", version);
    sim_buf_printf(&b,
                   "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"%s\","
                   "\"resources\":[",
                   gv);
    int first = 1;
    for (size_t i = 0; i < S->res.n; i++) {
        const sim_res *r = S->res.v[i];
        if (strcmp(r->group, group) || strcmp(r->version, version)) continue;
        char h[16];
        version_hash(r, h);
        sim_buf_printf(
            &b,
            "%s{\"name\":\"%s\",\"singularName\":\"%s\",\"namespaced\":%s,\"kind\":\"%s\","
            "\"verbs\":[\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\","
            "\"create\",\"update\",\"watch\"]",
            first ? "" : ",", r->plural, r->singular, r->namespaced ? "true" : "false", r->kind);
        if (r->short_names[0]) {
            sim_buf_puts(&b, ",\"shortNames\":");
            str_list(&b, r->short_names);
        }
        if (r->categories[0]) {
            sim_buf_puts(&b, ",\"categories\":");
            str_list(&b, r->categories);
        }
        sim_buf_printf(&b, ",\"storageVersionHash\":\"%s\"}", h);
        first = 0;
        if (r->subres & SIM_SUB_BINDING)
            sub_entry(&b, r, "binding", "[\"create\"]", NULL, NULL, "Binding");
        if (r->subres & SIM_SUB_FINALIZE)
            sub_entry(&b, r, "finalize", "[\"update\"]", NULL, NULL, NULL);
        if (r->subres & SIM_SUB_STATUS)
            sub_entry(&b, r, "status", "[\"get\",\"patch\",\"update\"]", NULL, NULL, NULL);
        if (r->subres & SIM_SUB_SCALE)
            sub_entry(&b, r, "scale", "[\"get\",\"patch\",\"update\"]", "autoscaling", "v1",
                      "Scale");
    }
    sim_buf_puts(&b, "]}");
    reply_buf(rq, &b);
}

/* Versions of a group, storage version preferred. */
static void
group_entry(sim_state *S, sim_buf *b, const char *group)
{
    const char *pref = NULL;
    sim_buf_printf(b, "{\"name\":\"%s\",\"versions\":[", group);
    int first = 1;
    char seen[8][64];
    int ns = 0;
    for (size_t i = 0; i < S->res.n; i++) {
        const sim_res *r = S->res.v[i];
        if (strcmp(r->group, group)) continue;
        int dup = 0;
        for (int k = 0; k < ns; k++)
            if (!strcmp(seen[k], r->version)) dup = 1;
        if (dup || ns >= 8) continue;
        snprintf(seen[ns++], 64, "%s", r->version);
        sim_buf_printf(b, "%s{\"groupVersion\":\"%s/%s\",\"version\":\"%s\"}", first ? "" : ",",
                       group, r->version, r->version);
        first = 0;
        if (r->storage_version && !pref) pref = r->version;
    }
    if (!pref && ns) pref = seen[0];
    sim_buf_printf(b, "],\"preferredVersion\":{\"groupVersion\":\"%s/%s\",\"version\":\"%s\"}}",
                   group, pref ? pref : "", pref ? pref : "");
}

int
sim_discovery_handle(sim_rq *rq)
{
    sim_state *S = rq->S;
    const char *p = rq->r->path;
    if (strcmp(rq->r->method, "GET") != 0) return 0;
    sim_buf b = {0};
    if (!strcmp(p, "/version") || !strcmp(p, "/version/")) {
        sim_buf_puts(&b, "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.0-kubesim\","
                         "\"gitCommit\":\"" ASC_GIT_COMMIT "\",\"gitTreeState\":\"clean\","
                         "\"buildDate\":\"2026-01-01T00:00:00Z\",\"goVersion\":\"go1.23.5\","
                         "\"compiler\":\"gc\",\"platform\":\"linux/amd64\"}");
        reply_buf(rq, &b);
        return 1;
    }
    if (!strcmp(p, "/healthz") || !strcmp(p, "/readyz") || !strcmp(p, "/livez")) {
        sim_reply_text(rq, 200, "text/plain; charset=utf-8", "ok");
        return 1;
    }
    if (!strcmp(p, "/api") || !strcmp(p, "/api/")) {
        sim_buf_printf(&b,
                       "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
                       "\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\","
                       "\"serverAddress\":\"127.0.0.1:%d\"}]}",
                       sim_http_port(S->http));
        reply_buf(rq, &b);
        return 1;
    }
    if (!strcmp(p, "/api/v1") || !strcmp(p, "/api/v1/")) {
        resource_list(rq, "", "v1");
        return 1;
    }
    if (!strcmp(p, "/apis") || !strcmp(p, "/apis/")) {
        sim_buf_puts(&b, "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[");
        int first = 1;
        for (size_t i = 0; i < S->res.n; i++) {
            const sim_res *r = S->res.v[i];
            if (!r->group[0]) continue;
            int dup = 0;
            for (size_t k = 0; k < i; k++)
                if (!strcmp(S->res.v[k]->group, r->group)) dup = 1;
            if (dup) continue;
            if (!first) sim_buf_puts(&b, ",");
            group_entry(S, &b, r->group);
            first = 0;
        }
        sim_buf_puts(&b, "]}");
        reply_buf(rq, &b);
        return 1;
    }
    if (!strncmp(p, "/apis/", 6)) {
        char group[256] = "", version[64] = "";
        int n = sscanf(p + 6, "%255[^/]/%63[^/]", group, version);
        if (n == 1 && sim_res_gv_known(&S->res, group, NULL)) {
            sim_buf_puts(&b, "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",");
            sim_buf b2 = {0};
            group_entry(S, &b2, group);
            sim_buf_append(&b, b2.data + 1, b2.len - 1); /* drop '{' */
            sim_buf_free(&b2);
            reply_buf(rq, &b);
            return 1;
        }
        if (n == 2 && sim_res_gv_known(&S->res, group, version)) {
            resource_list(rq, group, version);
            return 1;
        }
    }
    return 0;
}
