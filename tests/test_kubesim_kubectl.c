/* test_kubesim_kubectl.c - kubectl (v1.32, /usr/bin/kubectl) against kubesim without
 * extra flags: apply -f and apply -k of the CRDs, apply of custom resources, get with the
 * CRDs' printer columns (server-side Table), get --watch, scale, wait for a Ready pod,
 * describe and delete. Skipped visibly when kubectl is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "tests/test_kubesim_util.h"

static char kubeconfig[4096];

/* Run a shell command with KUBECONFIG set; output into out. Returns the exit status. */
static int
sh(char *out, size_t len, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[8400];
    snprintf(full, sizeof full, "export KUBECONFIG='%s'; { %s; } 2>&1", kubeconfig, cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run and require exit status want, printing the output when it differs. */
#define SH(want, out, ...)                                                                         \
    do {                                                                                           \
        int rc_ = sh(out, sizeof out, __VA_ARGS__);                                                \
        if (rc_ != (want)) fail_msg("exit %d (want %d): %s", rc_, (want), out);                    \
    } while (0)

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_kubectl(void **state)
{
    (void)state;
    if (access("/usr/bin/kubectl", X_OK) != 0) {
        fprintf(stderr, "SKIP test_kubectl: /usr/bin/kubectl is missing\n");
        skip();
    }
    harness *h;
    KS_START(h, NULL);
    snprintf(kubeconfig, sizeof kubeconfig, "%s", harness_kubeconfig(h));
    const char *src = getenv("ASC_SOURCE_DIR");
    char out[65536];
    if (src && *src) {
        SH(0, out, "kubectl apply -k %s/deploy/crds", src);
        assert_non_null(strstr(out, "sandboxwarmpools.extensions.agents.x-k8s.io"));
    }
    char f[4200];
    snprintf(f, sizeof f, "%s/objs.yaml", harness_tmpdir(h));
    write_file(f, "apiVersion: extensions.agents.x-k8s.io/v1beta1\n"
                  "kind: SandboxWarmPool\n"
                  "metadata:\n  name: pool\n"
                  "spec:\n  replicas: 2\n  sandboxTemplateRef:\n    name: t\n"
                  "---\n"
                  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
                  "spec:\n  containers:\n  - name: c\n    image: registry.k8s.io/pause:3.10\n");
    SH(0, out, "kubectl apply -f %s", f);
    assert_non_null(strstr(out, "sandboxwarmpool.extensions.agents.x-k8s.io/pool created"));
    SH(0, out, "kubectl apply -f %s", f);
    assert_non_null(strstr(out, "pool unchanged"));
    /* printer columns come from the CRD, through server-side Table output */
    SH(0, out, "kubectl get swp");
    assert_non_null(strstr(out, "DESIRED"));
    assert_non_null(strstr(out, "pool"));
    SH(0, out, "kubectl scale swp/pool --replicas 4");
    SH(0, out, "kubectl get swp pool -o jsonpath='{.spec.replicas}'");
    assert_string_equal(out, "4");
    SH(0, out, "kubectl wait --for=condition=Ready pod/web --timeout=10s");
    SH(0, out,
       "(timeout 3 kubectl get swp --watch &) ; sleep 1; kubectl label swp "
       "pool tier=gold >/dev/null; sleep 2.5");
    /* the listing, then the label change as a watch event */
    const char *first = strstr(out, "pool");
    assert_non_null(first);
    assert_non_null(strstr(first + 4, "pool"));
    SH(0, out, "kubectl describe swp pool");
    assert_non_null(strstr(out, "Replicas:  4"));
    SH(0, out, "kubectl delete -f %s", f);
    SH(1, out, "kubectl get swp pool");
    assert_non_null(strstr(out, "NotFound"));
    KS_STOP(h);
    harness_pass(h);
    harness_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kubectl)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
