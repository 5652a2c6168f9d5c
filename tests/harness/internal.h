/* internal.h - state shared by the harness's files (process control in harness.c, the
 * kubeconfig reader in kubeconfig.c, HTTP and watches in http.c). Not for tests. */
#ifndef ASC_TESTS_HARNESS_INTERNAL_H
#define ASC_TESTS_HARNESS_INTERNAL_H

#include <curl/curl.h>
#include <limits.h>
#include <sys/types.h>

#include "tests/harness/harness.h"

typedef struct hh_xfer hh_xfer;

struct harness {
    char tmpdir[512];
    char kubeconfig[PATH_MAX]; /* ours (kubesim) or TEST_KUBECONFIG */
    char url[1024];
    int external; /* TEST_KUBECONFIG */
    int passed;

    pid_t sim_pid;
    /* In-process kubesim (inproc.c, asc_harness_sim): set by harness_use_inprocess_sim. */
    void *inproc;
    int (*inproc_start)(harness *h, const char *const *args);
    void (*inproc_stop)(harness *h);
    char sim_out[PATH_MAX]; /* stdout: the ready line */
    char sim_log[PATH_MAX]; /* stderr */
    pid_t ctl_pid;
    char ctl_log[PATH_MAX];
    char cache_dir[PATH_MAX];

    char *ua;
    /* credentials from the kubeconfig */
    char *token;
    char *ca_pem, *cert_pem, *key_pem;
    size_t ca_len, cert_len, key_len;
    int insecure;

    CURLM *multi;
    hh_xfer *xfers; /* every transfer in flight or held by a watch */
};

/* Read the kubeconfig at path: server URL (into h->url unless keep_url), token, CA, client
 * certificate. Returns 0 or ERR_CONFIG with a message on stderr. */
int hh__kubeconfig_load(harness *h, const char *path, int keep_url);
/* Release everything http.c holds (transfers, multi). */
void hh__http_fini(harness *h);

#endif
