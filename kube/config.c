/* config.c - where the client's configuration comes from.
 *
 * Order (as client-go's default loading rules, minus merging): an explicit
 * --kubeconfig path; else the first existing file named in $KUBECONFIG; else
 * ~/.kube/config; else in-cluster (service-account token, CA, namespace and
 * KUBERNETES_SERVICE_HOST/PORT). A file that was asked for but cannot be read
 * is an error, never a silent fallback.
 *
 * The kubeconfig is parsed with libyaml (core/yaml2json) into json-c and read
 * from there: current-context (or the given context) names a cluster and a
 * user; relative file paths in them are relative to the kubeconfig's folder.
 * Every message names the file and, where it helps, the entry at fault.
 *
 * ASC_SERVICEACCOUNT_DIR overrides /var/run/secrets/kubernetes.io/serviceaccount
 * (tests). */
#include "kube/internal.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/yaml2json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SA_DIR       "/var/run/secrets/kubernetes.io/serviceaccount"
#define MAX_CFG_FILE (16u << 20)

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return ERR_CONFIG;
}

int
kube__read_file(const char *path, char **out, size_t *outlen, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -errno;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return -EISDIR;
    }
    kube__buf b = {0};
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > max) {
            rc = ERR_TOOLARGE;
            break;
        }
        if ((rc = kube__buf_add(&b, chunk, n)) != 0) break;
    }
    if (rc == 0 && ferror(f)) rc = -EIO;
    fclose(f);
    if (rc == 0 && b.p == NULL) rc = kube__buf_add(&b, "", 0);
    if (rc != 0) {
        kube__buf_fini(&b);
        return rc;
    }
    *out = b.p;
    if (outlen) *outlen = b.len;
    return 0;
}

void
kube_config_fini(kube_config *cfg)
{
    if (cfg == NULL) return;
    free(cfg->server);
    free(cfg->ca_pem);
    free(cfg->client_cert_pem);
    if (cfg->client_key_pem) /* key material: do not leave it in freed memory */
        memset(cfg->client_key_pem, 0, strlen(cfg->client_key_pem));
    free(cfg->client_key_pem);
    if (cfg->token) memset(cfg->token, 0, strlen(cfg->token));
    free(cfg->token);
    free(cfg->token_file);
    free(cfg->namespace);
    free(cfg->source);
    free(cfg->context);
    memset(cfg, 0, sizeof(*cfg));
}

/* Trim trailing whitespace in place (token files end with a newline). */
static void
rtrim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* Resolve p against the kubeconfig's directory unless absolute. */
static char *
resolve_path(const char *cfg_path, const char *p)
{
    if (p[0] == '/' || cfg_path == NULL) return strdup(p);
    const char *slash = strrchr(cfg_path, '/');
    if (slash == NULL) return strdup(p);
    size_t dlen = (size_t)(slash - cfg_path);
    char *out = malloc(dlen + 1 + strlen(p) + 1);
    if (out) sprintf(out, "%.*s/%s", (int)dlen, cfg_path, p);
    return out;
}

/* Find the entry {name: name, <key>: {...}} in the list at path. */
static json_object *
named_entry(json_object *root, const char *list, const char *key, const char *name)
{
    json_object *arr = jx_arr(root, list);
    if (arr == NULL) return NULL;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *n = jx_str(e, "name");
        if (n && strcmp(n, name) == 0) return jx_obj(e, key);
    }
    return NULL;
}

/* Load PEM (or token) material given either inline (*-data, base64) or as a
 * file. what: "certificate-authority", ... for messages. */
static int
load_material(json_object *o, const char *what, const char *owner_kind, const char *owner,
              const char *cfg_path, int want_pem, char **out, char *err, size_t errlen)
{
    char key[64];
    snprintf(key, sizeof(key), "%s-data", what);
    json_object *data = jx_child(o, key);
    json_object *file = jx_child(o, what);
    if (data && json_object_get_type(data) != json_type_null) {
        if (!json_object_is_type(data, json_type_string))
            return fail(err, errlen, "%s: %s \"%s\": %s is not a string", cfg_path, owner_kind,
                        owner, key);
        const char *s = json_object_get_string(data);
        size_t len, bad = 0;
        int rc = kube__b64_decode(s, strlen(s), out, &len, &bad);
        if (rc == ERR_NOMEM) return fail(err, errlen, "%s: out of memory", cfg_path);
        if (rc != 0)
            return fail(err, errlen, "%s: %s \"%s\": %s is not valid base64 (at offset %zu)",
                        cfg_path, owner_kind, owner, key, bad);
        if (want_pem && strstr(*out, "-----BEGIN ") == NULL) {
            free(*out);
            *out = NULL;
            return fail(err, errlen, "%s: %s \"%s\": %s does not contain PEM data", cfg_path,
                        owner_kind, owner, key);
        }
        return 0;
    }
    if (file && json_object_get_type(file) != json_type_null) {
        const char *p = json_object_get_string(file);
        if (!json_object_is_type(file, json_type_string) || p[0] == '\0')
            return fail(err, errlen, "%s: %s \"%s\": %s is not a file name", cfg_path, owner_kind,
                        owner, what);
        char *full = resolve_path(cfg_path, p);
        if (full == NULL) return fail(err, errlen, "%s: out of memory", cfg_path);
        int rc = kube__read_file(full, out, NULL, MAX_CFG_FILE);
        if (rc != 0) {
            fail(err, errlen, "%s: %s \"%s\": cannot read %s %s: %s", cfg_path, owner_kind, owner,
                 what, full, err_str(rc));
            free(full);
            return ERR_CONFIG;
        }
        if (want_pem && strstr(*out, "-----BEGIN ") == NULL) {
            fail(err, errlen, "%s: %s \"%s\": %s %s does not contain PEM data", cfg_path,
                 owner_kind, owner, what, full);
            free(full);
            free(*out);
            *out = NULL;
            return ERR_CONFIG;
        }
        free(full);
    }
    return 0;
}

static int
check_server(const char *server, const char *where, char *err, size_t errlen)
{
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return fail(err, errlen, "%s: server \"%s\" is not an http(s):// URL", where, server);
    const char *host = strstr(server, "://") + 3;
    if (*host == '\0' || *host == '/')
        return fail(err, errlen, "%s: server \"%s\" has no host", where, server);
    return 0;
}

int
kube_config_parse(const char *yaml, size_t len, const char *path, const char *context,
                  kube_config *out, char *err, size_t errlen)
{
    const char *where = path ? path : "kubeconfig";
    char yerr[256] = "";
    memset(out, 0, sizeof(*out));
    json_object *root = yaml_to_json(yaml, len, yerr, sizeof(yerr));
    if (root == NULL) return fail(err, errlen, "%s: not valid YAML: %s", where, yerr);
    int rc = ERR_CONFIG;
    if (!json_object_is_type(root, json_type_object)) {
        fail(err, errlen, "%s: not a kubeconfig (the document is not a mapping)", where);
        goto out;
    }
    const char *ctx_name = context;
    if (ctx_name == NULL || ctx_name[0] == '\0') ctx_name = jx_str(root, "current-context");
    if (ctx_name == NULL || ctx_name[0] == '\0') {
        fail(err, errlen, "%s: no current-context is set and no context was given", where);
        goto out;
    }
    json_object *ctx = named_entry(root, "contexts", "context", ctx_name);
    if (ctx == NULL) {
        fail(err, errlen, "%s: context \"%s\" not found", where, ctx_name);
        goto out;
    }
    const char *cluster_name = jx_str(ctx, "cluster");
    const char *user_name = jx_str(ctx, "user");
    if (cluster_name == NULL || cluster_name[0] == '\0') {
        fail(err, errlen, "%s: context \"%s\" names no cluster", where, ctx_name);
        goto out;
    }
    json_object *cluster = named_entry(root, "clusters", "cluster", cluster_name);
    if (cluster == NULL) {
        fail(err, errlen, "%s: cluster \"%s\" (of context \"%s\") not found", where, cluster_name,
             ctx_name);
        goto out;
    }
    json_object *user = NULL;
    if (user_name && user_name[0]) {
        user = named_entry(root, "users", "user", user_name);
        if (user == NULL) {
            fail(err, errlen, "%s: user \"%s\" (of context \"%s\") not found", where, user_name,
                 ctx_name);
            goto out;
        }
    }
    const char *server = jx_str(cluster, "server");
    if (server == NULL || server[0] == '\0') {
        fail(err, errlen, "%s: cluster \"%s\" has no server", where, cluster_name);
        goto out;
    }
    if (check_server(server, where, err, errlen) != 0) goto out;
    if ((out->server = strdup(server)) == NULL) goto nomem;
    for (size_t n = strlen(out->server); n > 0 && out->server[n - 1] == '/'; n--)
        out->server[n - 1] = '\0';
    out->insecure_skip_tls_verify = jx_bool(cluster, "insecure-skip-tls-verify", 0);
    if (load_material(cluster, "certificate-authority", "cluster", cluster_name, path, 1,
                      &out->ca_pem, err, errlen) != 0)
        goto out;
    if (out->insecure_skip_tls_verify && out->ca_pem) {
        /* as client-go: trusting a CA and skipping verification contradict */
        fail(err, errlen,
             "%s: cluster \"%s\": certificate-authority and insecure-skip-tls-verify are both "
             "set; use one",
             where, cluster_name);
        goto out;
    }
    if (user) {
        if (jx_get(user, "exec") || jx_get(user, "auth-provider")) {
            fail(err, errlen,
                 "%s: user \"%s\" uses an exec or auth-provider credential plugin, which is "
                 "not supported (use a token, tokenFile or client certificate)",
                 where, user_name);
            goto out;
        }
        if (load_material(user, "client-certificate", "user", user_name, path, 1,
                          &out->client_cert_pem, err, errlen) != 0 ||
            load_material(user, "client-key", "user", user_name, path, 1, &out->client_key_pem, err,
                          errlen) != 0)
            goto out;
        if ((out->client_cert_pem == NULL) != (out->client_key_pem == NULL)) {
            fail(err, errlen, "%s: user \"%s\" has a client %s but no client %s", where, user_name,
                 out->client_cert_pem ? "certificate" : "key",
                 out->client_cert_pem ? "key" : "certificate");
            goto out;
        }
        const char *token = jx_str(user, "token");
        const char *token_file = jx_str(user, "tokenFile");
        if (token && token[0]) {
            if ((out->token = strdup(token)) == NULL) goto nomem;
        } else if (token_file && token_file[0]) {
            if ((out->token_file = resolve_path(path, token_file)) == NULL) goto nomem;
            int frc = kube__read_file(out->token_file, &out->token, NULL, 1u << 20);
            if (frc != 0) {
                fail(err, errlen, "%s: user \"%s\": cannot read tokenFile %s: %s", where, user_name,
                     out->token_file, err_str(frc));
                goto out;
            }
            rtrim(out->token);
        }
    }
    const char *ns = jx_str(ctx, "namespace");
    if (ns && ns[0] && (out->namespace = strdup(ns)) == NULL) goto nomem;
    if ((out->source = strdup(where)) == NULL || (out->context = strdup(ctx_name)) == NULL)
        goto nomem;
    rc = 0;
    goto out;
nomem:
    rc = fail(err, errlen, "%s: out of memory", where);
out:
    json_object_put(root);
    if (rc != 0) kube_config_fini(out);
    return rc;
}

static int
load_file(const char *path, kube_config *out, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = kube__read_file(path, &buf, &len, MAX_CFG_FILE);
    if (rc != 0) return fail(err, errlen, "cannot read kubeconfig %s: %s", path, err_str(rc));
    rc = kube_config_parse(buf, len, path, NULL, out, err, errlen);
    free(buf);
    return rc;
}

int
kube_config_in_cluster(kube_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0')
        return fail(err, errlen,
                    "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
    const char *dir = getenv("ASC_SERVICEACCOUNT_DIR");
    if (dir == NULL || dir[0] == '\0') dir = SA_DIR;
    char p[4096];
    size_t slen = strlen(host) + strlen(port) + 16;
    if ((out->server = malloc(slen)) == NULL) goto nomem;
    /* an IPv6 service address needs brackets in a URL */
    snprintf(out->server, slen, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
             port);
    snprintf(p, sizeof(p), "%s/token", dir);
    if ((out->token_file = strdup(p)) == NULL) goto nomem;
    int rc = kube__read_file(p, &out->token, NULL, 1u << 20);
    if (rc != 0) {
        fail(err, errlen, "in-cluster: cannot read service-account token %s: %s", p, err_str(rc));
        kube_config_fini(out);
        return ERR_CONFIG;
    }
    rtrim(out->token);
    snprintf(p, sizeof(p), "%s/ca.crt", dir);
    rc = kube__read_file(p, &out->ca_pem, NULL, MAX_CFG_FILE);
    if (rc != 0 || strstr(out->ca_pem, "-----BEGIN ") == NULL) {
        fail(err, errlen, "in-cluster: cannot read service-account CA %s: %s", p,
             rc ? err_str(rc) : "no PEM data");
        kube_config_fini(out);
        return ERR_CONFIG;
    }
    snprintf(p, sizeof(p), "%s/namespace", dir);
    if (kube__read_file(p, &out->namespace, NULL, 4096) == 0) {
        rtrim(out->namespace);
        if (out->namespace[0] == '\0') {
            free(out->namespace);
            out->namespace = NULL;
        }
    }
    if ((out->source = strdup("in-cluster")) == NULL || (out->context = strdup("")) == NULL)
        goto nomem;
    return 0;
nomem:
    kube_config_fini(out);
    return fail(err, errlen, "in-cluster: out of memory");
}

int
kube_config_load(const char *explicit_path, kube_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (explicit_path && explicit_path[0]) return load_file(explicit_path, out, err, errlen);
    const char *env = getenv("KUBECONFIG");
    if (env && env[0]) {
        /* client-go merges every listed file; we take the first that exists. */
        char *list = strdup(env);
        if (list == NULL) return fail(err, errlen, "out of memory");
        char *save = NULL;
        for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
            if (access(p, F_OK) == 0) {
                int rc = load_file(p, out, err, errlen);
                free(list);
                return rc;
            }
        }
        free(list);
        return fail(err, errlen, "$KUBECONFIG=%s: none of its files exists", env);
    }
    const char *home = getenv("HOME");
    char path[4096] = "";
    if (home && home[0]) {
        snprintf(path, sizeof(path), "%s/.kube/config", home);
        if (access(path, F_OK) == 0) return load_file(path, out, err, errlen);
    }
    if (getenv("KUBERNETES_SERVICE_HOST")) return kube_config_in_cluster(out, err, errlen);
    return fail(err, errlen,
                "no configuration: --kubeconfig not given, $KUBECONFIG unset, %s%s and not "
                "running in a cluster (KUBERNETES_SERVICE_HOST unset)",
                path[0] ? path : "$HOME unset", path[0] ? " does not exist," : ",");
}
