/* kubeconfig.c - the subset of a kubeconfig the harness needs: the current context's server,
 * its CA (inline data or file) or insecure flag, and the user's bearer token (inline or file)
 * or client certificate and key (inline or files). Anything else (exec plugins, auth
 * providers) is reported and refused, since a test cannot go on without credentials. */
#include "tests/harness/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/yaml2json.h"

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        if (len) *len = n;
    }
    return buf;
}

static int
b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Standard base64 (whitespace and padding tolerated). NULL on bad input. */
static char *
b64_decode(const char *s, size_t *outlen)
{
    size_t n = strlen(s);
    char *out = malloc(n * 3 / 4 + 4);
    if (out == NULL) return NULL;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
        int v = b64val(c);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

static json_object *
named(json_object *doc, const char *list, const char *name, const char *inner)
{
    json_object *arr = jx_arr(doc, list);
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(arr, i);
        if (name == NULL || strcmp(jx_str_or(it, "name", ""), name) == 0) return jx_obj(it, inner);
    }
    return NULL;
}

/* Inline "<key>-data" (base64) or file "<key>"; 0 if neither, -1 on a bad value. */
static int
load_blob(json_object *obj, const char *key, char **out, size_t *len)
{
    char dkey[128];
    snprintf(dkey, sizeof dkey, "%s-data", key);
    const char *data = jx_str(jx_child(obj, dkey), "");
    const char *file = jx_str(jx_child(obj, key), "");
    if (data != NULL) {
        *out = b64_decode(data, len);
        return *out ? 1 : -1;
    }
    if (file != NULL) {
        *out = slurp(file, len);
        return *out ? 1 : -1;
    }
    return 0;
}

int
hh__kubeconfig_load(harness *h, const char *path, int keep_url)
{
    /* A harness that starts kubesim again reloads its kubeconfig: release
     * what the previous load kept. */
    free(h->token);
    free(h->ca_pem);
    free(h->cert_pem);
    free(h->key_pem);
    h->token = h->ca_pem = h->cert_pem = h->key_pem = NULL;
    h->ca_len = h->cert_len = h->key_len = 0;
    size_t len = 0;
    char *text = slurp(path, &len);
    if (text == NULL) {
        fprintf(stderr, "harness: cannot read kubeconfig %s\n", path);
        return ERR_CONFIG;
    }
    char err[256] = "";
    json_object *doc = yaml_to_json(text, len, err, sizeof err);
    free(text);
    if (doc == NULL) {
        fprintf(stderr, "harness: kubeconfig %s: %s\n", path, err);
        return ERR_CONFIG;
    }
    int rc = ERR_CONFIG;
    const char *cur = jx_str(doc, "current-context");
    json_object *ctx = named(doc, "contexts", cur, "context");
    const char *cluster_name = jx_str(ctx, "cluster");
    const char *user_name = jx_str(ctx, "user");
    json_object *cluster = named(doc, "clusters", cluster_name, "cluster");
    json_object *user = named(doc, "users", user_name, "user");
    const char *server = jx_str(cluster, "server");
    if (server == NULL) {
        fprintf(stderr, "harness: kubeconfig %s: no server for context %s\n", path,
                cur ? cur : "(first)");
        goto out;
    }
    if (!keep_url) snprintf(h->url, sizeof h->url, "%s", server);
    /* A trailing slash would double the one every request path starts with. */
    size_t ul = strlen(h->url);
    if (ul > 0 && h->url[ul - 1] == '/') h->url[ul - 1] = '\0';
    h->insecure = jx_bool(jx_child(cluster, "insecure-skip-tls-verify"), "", 0);
    if (load_blob(cluster, "certificate-authority", &h->ca_pem, &h->ca_len) < 0 ||
        load_blob(user, "client-certificate", &h->cert_pem, &h->cert_len) < 0 ||
        load_blob(user, "client-key", &h->key_pem, &h->key_len) < 0) {
        fprintf(stderr, "harness: kubeconfig %s: unreadable certificate data\n", path);
        goto out;
    }
    const char *token = jx_str(user, "token");
    const char *token_file = jx_str(jx_child(user, "tokenFile"), "");
    if (token != NULL) {
        h->token = strdup(token);
    } else if (token_file != NULL) {
        h->token = slurp(token_file, NULL);
        if (h->token) h->token[strcspn(h->token, "\r\n")] = '\0';
    }
    if (user != NULL && (jx_get(user, "exec") || jx_get(user, "auth-provider")) &&
        h->token == NULL && h->cert_pem == NULL) {
        fprintf(stderr, "harness: kubeconfig %s: exec/auth-provider users are not supported\n",
                path);
        goto out;
    }
    rc = 0;
out:
    json_object_put(doc);
    return rc;
}
