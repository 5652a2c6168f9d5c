/* sim_main.c - the kubesim binary: parse flags, start the simulator, print
 * `ready <URL>` once the kubeconfig is written, stop cleanly on SIGTERM or
 * SIGINT. */
#include "bench/kubesim/sim_server.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void
usage(FILE *f)
{
    fputs("usage: kubesim --port N [--tls | --tls-cert F --tls-key F] [--kubeconfig-out FILE]\n"
          "               [--crds DIR] [--pod-ready-delay-ms N] [--pod-stop-delay-ms N]\n"
          "               [--nodes K] [--no-kubelet] [--watch-window N] [--bookmark-interval S]\n"
          "               [--fault JSON]... [--fault-seed N]\n",
          f);
}

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    sim_config cfg;
    sim_config_defaults(&cfg);
    char err[512];
    if (sim_config_parse(&cfg, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "kubesim: %s\n", err);
        usage(stderr);
        return 2;
    }
    /* block the stop signals before the server thread exists, then wait */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sim_server *s = sim_start(&cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "kubesim: %s\n", err);
        return 1;
    }
    printf("ready %s\n", sim_url(s));
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    sim_stop(s);
    return 0;
}
