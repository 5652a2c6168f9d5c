/* test_kube_config.c - the kubeconfig and in-cluster loaders.
 * Each row is a kubeconfig document (with @DIR@ replaced by a temporary
 * folder holding certificate, key and token files) and what loading it must
 * give: the fields, or the error code and a phrase of the message. */
#include "kube/kube.h"

#include "core/err.h"

#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define CA_PEM   "-----BEGIN CERTIFICATE-----\nMIIBcaCAcert\n-----END CERTIFICATE-----\n"
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nMIIBclientcert\n-----END CERTIFICATE-----\n"
#define KEY_PEM  "-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----\n"

static char g_dir[256];

static void
write_file(const char *name, const char *content)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static char *
b64(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    return out;
}

/* Replace @DIR@, @CA64@, @CERT64@, @KEY64@ in a template. */
static char *
expand(const char *tmpl)
{
    char *ca = b64(CA_PEM), *cert = b64(CERT_PEM), *key = b64(KEY_PEM);
    const char *keys[] = {"@DIR@", "@CA64@", "@CERT64@", "@KEY64@"};
    const char *vals[] = {g_dir, ca, cert, key};
    size_t cap = strlen(tmpl) * 2 + 4096;
    char *out = malloc(cap);
    size_t o = 0;
    for (const char *p = tmpl; *p;) {
        int hit = 0;
        for (int k = 0; k < 4; k++) {
            size_t kl = strlen(keys[k]);
            if (strncmp(p, keys[k], kl) == 0) {
                size_t vl = strlen(vals[k]);
                memcpy(out + o, vals[k], vl);
                o += vl;
                p += kl;
                hit = 1;
                break;
            }
        }
        if (!hit) out[o++] = *p++;
    }
    out[o] = '\0';
    free(ca);
    free(cert);
    free(key);
    return out;
}

#define HEAD(user_block, cluster_block)                                                            \
    "apiVersion: v1\nkind: Config\ncurrent-context: main\n"                                        \
    "contexts:\n- name: main\n  context: {cluster: c1, user: u1, namespace: team-a}\n"             \
    "- name: other\n  context: {cluster: c2, user: u2}\n"                                          \
    "clusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443/\n" cluster_block        \
    "- name: c2\n  cluster:\n    server: http://127.0.0.1:8080\n"                                  \
    "users:\n- name: u1\n  user:\n" user_block "- name: u2\n  user: {token: tok-two}\n"

/* error rows leave the success fields out */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

typedef struct row {
    const char *name;
    const char *yaml;
    const char *context;
    int want_rc;
    const char *want_err; /* phrase in the error message */
    /* on success */
    const char *server, *token, *token_file_tail, *ca, *cert, *key, *ns, *ctx;
    int insecure;
} row;

static const row rows[] = {
    {"token", HEAD("    token: abc123\n", ""), NULL, 0, NULL, "https://10.0.0.1:6443", "abc123",
     NULL, NULL, NULL, NULL, "team-a", "main", 0},
    {"token_file_relative", HEAD("    tokenFile: token.txt\n", ""), NULL, 0, NULL,
     "https://10.0.0.1:6443", "file-token", "/token.txt", NULL, NULL, NULL, "team-a", "main", 0},
    {"client_cert_data",
     HEAD("    client-certificate-data: @CERT64@\n    client-key-data: @KEY64@\n", ""), NULL, 0,
     NULL, "https://10.0.0.1:6443", NULL, NULL, NULL, CERT_PEM, KEY_PEM, "team-a", "main", 0},
    {"client_cert_files",
     HEAD("    client-certificate: client.crt\n    client-key: @DIR@/client.key\n", ""), NULL, 0,
     NULL, "https://10.0.0.1:6443", NULL, NULL, NULL, CERT_PEM, KEY_PEM, "team-a", "main", 0},
    {"ca_data", HEAD("    token: t\n", "    certificate-authority-data: @CA64@\n"), NULL, 0, NULL,
     "https://10.0.0.1:6443", "t", NULL, CA_PEM, NULL, NULL, "team-a", "main", 0},
    {"ca_file", HEAD("    token: t\n", "    certificate-authority: ca.crt\n"), NULL, 0, NULL,
     "https://10.0.0.1:6443", "t", NULL, CA_PEM, NULL, NULL, "team-a", "main", 0},
    {"insecure", HEAD("    token: t\n", "    insecure-skip-tls-verify: true\n"), NULL, 0, NULL,
     "https://10.0.0.1:6443", "t", NULL, NULL, NULL, NULL, "team-a", "main", 1},
    {"context_override", HEAD("    token: t\n", ""), "other", 0, NULL, "http://127.0.0.1:8080",
     "tok-two", NULL, NULL, NULL, NULL, NULL, "other", 0},
    {"context_without_user",
     "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: "
     "c\n  cluster: {server: 'https://h:1'}\n",
     NULL, 0, NULL, "https://h:1", NULL, NULL, NULL, NULL, NULL, NULL, "x", 0},
    /* malformed */
    {"bad_yaml", "clusters: [unclosed\n  - {", NULL, ERR_CONFIG, "not valid YAML"},
    {"not_a_mapping", "- a\n- b\n", NULL, ERR_CONFIG, "not a mapping"},
    {"no_current_context", "apiVersion: v1\nkind: Config\n", NULL, ERR_CONFIG,
     "no current-context"},
    {"missing_context", HEAD("    token: t\n", ""), "nope", ERR_CONFIG,
     "context \"nope\" not found"},
    {"missing_cluster",
     "current-context: x\ncontexts:\n- name: x\n  context: {cluster: gone, user: u}\n"
     "users:\n- name: u\n  user: {token: t}\n",
     NULL, ERR_CONFIG, "cluster \"gone\" (of context \"x\") not found"},
    {"missing_user",
     "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: who}\n"
     "clusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n",
     NULL, ERR_CONFIG, "user \"who\" (of context \"x\") not found"},
    {"missing_server",
     "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
     "clusters:\n- name: c\n  cluster: {insecure-skip-tls-verify: true}\n",
     NULL, ERR_CONFIG, "cluster \"c\" has no server"},
    {"server_not_url",
     "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
     "clusters:\n- name: c\n  cluster: {server: 'h:6443'}\n",
     NULL, ERR_CONFIG, "is not an http(s):// URL"},
    {"bad_base64_ca", HEAD("    token: t\n", "    certificate-authority-data: 'abc$def'\n"), NULL,
     ERR_CONFIG, "certificate-authority-data is not valid base64 (at offset 3)"},
    {"ca_data_not_pem", HEAD("    token: t\n", "    certificate-authority-data: aGVsbG8=\n"), NULL,
     ERR_CONFIG, "does not contain PEM data"},
    {"bad_base64_key",
     HEAD("    client-certificate-data: @CERT64@\n    client-key-data: '!!'\n", ""), NULL,
     ERR_CONFIG, "user \"u1\": client-key-data is not valid base64"},
    {"ca_file_missing", HEAD("    token: t\n", "    certificate-authority: nope.crt\n"), NULL,
     ERR_CONFIG, "nope.crt"},
    {"token_file_missing", HEAD("    tokenFile: /nonexistent/tok\n", ""), NULL, ERR_CONFIG,
     "cannot read tokenFile /nonexistent/tok"},
    {"cert_without_key", HEAD("    client-certificate-data: @CERT64@\n", ""), NULL, ERR_CONFIG,
     "has a client certificate but no client key"},
    {"insecure_with_ca",
     HEAD("    token: t\n",
          "    certificate-authority-data: @CA64@\n    insecure-skip-tls-verify: true\n"),
     NULL, ERR_CONFIG, "are both set"},
    {"exec_plugin", HEAD("    exec: {command: aws}\n", ""), NULL, ERR_CONFIG, "credential plugin"},
};

static void
check_str(const char *what, const char *want, const char *got)
{
    if (want == NULL) {
        if (got != NULL) fail_msg("%s: want NULL, got \"%s\"", what, got);
        return;
    }
    if (got == NULL || strcmp(want, got) != 0)
        fail_msg("%s: want \"%s\", got \"%s\"", what, want, got ? got : "(null)");
}

static void
test_row(void **state)
{
    const row *r = *state;
    char *yaml = expand(r->yaml);
    char path[512], err[512] = "";
    snprintf(path, sizeof(path), "%s/kubeconfig-%s", g_dir, r->name);
    write_file(strrchr(path, '/') + 1, yaml);
    kube_config cfg;
    /* parse through the file loader, so relative paths resolve against g_dir */
    int rc = kube_config_load(path, &cfg, err, sizeof(err));
    if (r->context) {
        if (rc == 0) kube_config_fini(&cfg);
        rc = kube_config_parse(yaml, strlen(yaml), path, r->context, &cfg, err, sizeof(err));
    }
    free(yaml);
    if (rc != r->want_rc) fail_msg("rc %s (%s), want %s", err_str(rc), err, err_str(r->want_rc));
    if (rc != 0) {
        if (strstr(err, r->want_err) == NULL)
            fail_msg("error \"%s\" lacks \"%s\"", err, r->want_err);
        if (strstr(err, path) == NULL)
            fail_msg("error \"%s\" does not name the file %s", err, path);
        return;
    }
    check_str("server", r->server, cfg.server);
    check_str("token", r->token, cfg.token);
    if (r->token_file_tail) {
        assert_non_null(cfg.token_file);
        assert_non_null(strstr(cfg.token_file, g_dir));
        assert_non_null(strstr(cfg.token_file, r->token_file_tail));
    } else {
        check_str("token_file", NULL, cfg.token_file);
    }
    check_str("ca", r->ca, cfg.ca_pem);
    check_str("cert", r->cert, cfg.client_cert_pem);
    check_str("key", r->key, cfg.client_key_pem);
    check_str("namespace", r->ns, cfg.namespace);
    check_str("context", r->ctx, cfg.context);
    check_str("source", path, cfg.source);
    assert_int_equal(cfg.insecure_skip_tls_verify, r->insecure);
    kube_config_fini(&cfg);
}

static const char *GOOD = "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, "
                          "user: u}\nclusters:\n- name: c\n  cluster: {server: '%s'}\n"
                          "users:\n- name: u\n  user: {token: '%s'}\n";

static void
write_good(const char *name, const char *server, const char *token)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), GOOD, server, token);
    write_file(name, buf);
}

static void
test_explicit_missing(void **state)
{
    (void)state;
    kube_config cfg;
    char err[512];
    int rc = kube_config_load("/nonexistent/dir/kubeconfig", &cfg, err, sizeof(err));
    assert_int_equal(rc, ERR_CONFIG);
    assert_non_null(strstr(err, "/nonexistent/dir/kubeconfig"));
    assert_non_null(strstr(err, "No such file"));
    /* an explicit path never falls back, even when $KUBECONFIG is good */
    char p[512];
    snprintf(p, sizeof(p), "%s/env-a", g_dir);
    write_good("env-a", "https://from-env:1", "e");
    setenv("KUBECONFIG", p, 1);
    rc = kube_config_load("/nonexistent/x", &cfg, err, sizeof(err));
    unsetenv("KUBECONFIG");
    assert_int_equal(rc, ERR_CONFIG);
}

static void
test_kubeconfig_env(void **state)
{
    (void)state;
    write_good("env-a", "https://from-env-a:1", "ta");
    write_good("env-b", "https://from-env-b:1", "tb");
    char list[1024], err[512];
    kube_config cfg;
    /* first existing file of the list wins */
    snprintf(list, sizeof(list), "%s/missing:%s/env-b:%s/env-a", g_dir, g_dir, g_dir);
    setenv("KUBECONFIG", list, 1);
    assert_int_equal(kube_config_load(NULL, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://from-env-b:1");
    assert_string_equal(cfg.token, "tb");
    kube_config_fini(&cfg);
    snprintf(list, sizeof(list), "%s/env-a:%s/env-b", g_dir, g_dir);
    setenv("KUBECONFIG", list, 1);
    assert_int_equal(kube_config_load("", &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://from-env-a:1");
    kube_config_fini(&cfg);
    /* none exists: an error naming the variable */
    setenv("KUBECONFIG", "/nope/1:/nope/2", 1);
    assert_int_equal(kube_config_load(NULL, &cfg, err, sizeof(err)), ERR_CONFIG);
    assert_non_null(strstr(err, "/nope/1:/nope/2"));
    unsetenv("KUBECONFIG");
}

static void
test_home_config(void **state)
{
    (void)state;
    char home[512], p[600], err[512];
    snprintf(home, sizeof(home), "%s/home", g_dir);
    mkdir(home, 0700);
    snprintf(p, sizeof(p), "%s/.kube", home);
    mkdir(p, 0700);
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    setenv("HOME", home, 1);
    kube_config cfg;
    /* nothing anywhere: one line naming every place looked at */
    assert_int_equal(kube_config_load(NULL, &cfg, err, sizeof(err)), ERR_CONFIG);
    assert_non_null(strstr(err, ".kube/config"));
    assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
    write_good("home/.kube/config", "https://home:443", "h");
    assert_int_equal(kube_config_load(NULL, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://home:443");
    snprintf(p, sizeof(p), "%s/.kube/config", home);
    assert_string_equal(cfg.source, p);
    kube_config_fini(&cfg);
    if (old_home) {
        setenv("HOME", old_home, 1);
        free(old_home);
    }
}

static void
test_in_cluster(void **state)
{
    (void)state;
    char sa[512], err[512];
    snprintf(sa, sizeof(sa), "%s/sa", g_dir);
    mkdir(sa, 0700);
    setenv("ASC_SERVICEACCOUNT_DIR", sa, 1);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    kube_config cfg;
    /* no token yet */
    assert_int_equal(kube_config_in_cluster(&cfg, err, sizeof(err)), ERR_CONFIG);
    assert_non_null(strstr(err, "sa/token"));
    write_file("sa/token", "sa-token-value\n");
    /* no CA yet */
    assert_int_equal(kube_config_in_cluster(&cfg, err, sizeof(err)), ERR_CONFIG);
    assert_non_null(strstr(err, "sa/ca.crt"));
    write_file("sa/ca.crt", CA_PEM);
    write_file("sa/namespace", "agents\n");
    assert_int_equal(kube_config_in_cluster(&cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://10.96.0.1:443");
    assert_string_equal(cfg.token, "sa-token-value");
    assert_non_null(strstr(cfg.token_file, "sa/token"));
    assert_string_equal(cfg.ca_pem, CA_PEM);
    assert_string_equal(cfg.namespace, "agents");
    assert_string_equal(cfg.source, "in-cluster");
    kube_config_fini(&cfg);
    /* the fallback of kube_config_load when nothing else exists */
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", "/nonexistent-home", 1);
    unsetenv("KUBECONFIG");
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    assert_int_equal(kube_config_load(NULL, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://[fd00::1]:443");
    kube_config_fini(&cfg);
    if (old_home) {
        setenv("HOME", old_home, 1);
        free(old_home);
    }
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(kube_config_in_cluster(&cfg, err, sizeof(err)), ERR_CONFIG);
    assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
    unsetenv("KUBERNETES_SERVICE_PORT");
    unsetenv("ASC_SERVICEACCOUNT_DIR");
}

static void
test_parse_garbage(void **state)
{
    (void)state;
    /* arbitrary bytes never crash and always give an error or a config */
    static const char *inputs[] = {"",
                                   "\x00\x01\x02",
                                   "{{{{",
                                   "a: [",
                                   "- - - -",
                                   "key: *alias",
                                   "current-context: 5\ncontexts: 7\n",
                                   "current-context: a\ncontexts:\n- 1\n- {name: a}\n"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        kube_config cfg;
        char err[256];
        int rc =
            kube_config_parse(inputs[i], strlen(inputs[i]), "g.yaml", NULL, &cfg, err, sizeof(err));
        assert_int_equal(rc, ERR_CONFIG);
        assert_non_null(strstr(err, "g.yaml"));
    }
}

/* Random byte mutations of a complete kubeconfig: always a config or a
 * one-line error naming the file; never a crash (ASan runs this too). */
static void
test_mutations(void **state)
{
    (void)state;
    char *base =
        expand(HEAD("    client-certificate-data: @CERT64@\n    client-key-data: @KEY64@\n",
                    "    certificate-authority-data: @CA64@\n"));
    size_t len = strlen(base);
    char *buf = malloc(len + 1);
    unsigned seed = 777;
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 2000; iter++) {
        memcpy(buf, base, len + 1);
        int flips = 1 + rand_r(&seed) % 3;
        for (int k = 0; k < flips; k++) {
            static const char pool[] = ":-[]{}\"'&*!|> \n\tAz=%";
            buf[(size_t)rand_r(&seed) % len] = pool[(size_t)rand_r(&seed) % (sizeof(pool) - 1)];
        }
        kube_config cfg;
        char err[512] = "";
        int rc = kube_config_parse(buf, len, "m.yaml", NULL, &cfg, err, sizeof(err));
        if (rc == 0) {
            assert_non_null(cfg.server);
            kube_config_fini(&cfg);
            ok++;
        } else {
            assert_int_equal(rc, ERR_CONFIG);
            assert_non_null(strstr(err, "m.yaml"));
            assert_null(strchr(err, '\n'));
            bad++;
        }
    }
    assert_true(ok > 0 && bad > 0);
    free(buf);
    free(base);
}

static int
group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/test_kube_config.XXXXXX");
    if (mkdtemp(g_dir) == NULL) return -1;
    write_file("token.txt", "file-token\n\n");
    write_file("ca.crt", CA_PEM);
    write_file("client.crt", CERT_PEM);
    write_file("client.key", KEY_PEM);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    enum { NROWS = sizeof(rows) / sizeof(rows[0]) };
    struct CMUnitTest tests[NROWS + 7];
    for (size_t i = 0; i < NROWS; i++) {
        tests[i] = (struct CMUnitTest){rows[i].name, test_row, NULL, NULL, (void *)&rows[i]};
    }
    tests[NROWS + 0] = (struct CMUnitTest)cmocka_unit_test(test_explicit_missing);
    tests[NROWS + 1] = (struct CMUnitTest)cmocka_unit_test(test_kubeconfig_env);
    tests[NROWS + 2] = (struct CMUnitTest)cmocka_unit_test(test_home_config);
    tests[NROWS + 3] = (struct CMUnitTest)cmocka_unit_test(test_in_cluster);
    tests[NROWS + 4] = (struct CMUnitTest)cmocka_unit_test(test_parse_garbage);
    tests[NROWS + 5] = (struct CMUnitTest)cmocka_unit_test(test_mutations);
    return _cmocka_run_group_tests("kube_config", tests, NROWS + 6, group_setup, group_teardown);
}
