/* inproc.c - kubesim started in-process through bench/kubesim/sim_server.h. Kept apart from
 * harness.c (library asc_harness_sim) so the harness itself does not depend on the
 * simulator's library: tests that want it link asc_harness_sim. */
#include "tests/harness/internal.h"

#include <stdio.h>

#include "bench/kubesim/sim_server.h"
#include "core/err.h"

static int
inproc_start(harness *h, const char *const *args)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = "kubesim";
    argv[argc++] = "--port";
    argv[argc++] = "0";
    argv[argc++] = "--kubeconfig-out";
    argv[argc++] = h->kubeconfig;
    for (size_t i = 0; args && args[i] && argc < 63; i++)
        argv[argc++] = (char *)args[i]; /* sim_config_parse only reads them */
    argv[argc] = NULL;
    sim_config cfg;
    sim_config_defaults(&cfg);
    char err[256] = "";
    if (sim_config_parse(&cfg, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "harness: kubesim flags: %s\n", err);
        return ERR_CONFIG;
    }
    sim_server *s = sim_start(&cfg, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "harness: in-process kubesim: %s\n", err);
        return ERR_IO;
    }
    h->inproc = s;
    snprintf(h->url, sizeof h->url, "%s", sim_url(s));
    return hh__kubeconfig_load(h, h->kubeconfig, 1);
}

static void
inproc_stop(harness *h)
{
    sim_stop(h->inproc);
    h->inproc = NULL;
}

int
harness_use_inprocess_sim(harness *h)
{
    if (h->external) return ERR_CONFIG; /* TEST_KUBECONFIG: there is no kubesim to start */
    h->inproc_start = inproc_start;
    h->inproc_stop = inproc_stop;
    return 0;
}
