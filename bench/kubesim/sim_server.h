/* sim_server.h - kubesim, the Kubernetes API server simulator: public API.
 *
 * Tests and benchmarks start a simulator in-process:
 *
 *     sim_config cfg;
 *     sim_config_defaults(&cfg);
 *     cfg.port = 0;                      // any free port
 *     char err[256];
 *     sim_server *s = sim_start(&cfg, err, sizeof err);
 *     ... curl sim_url(s) ... or a client on sim_kubeconfig(s) ...
 *     sim_stop(s);
 *
 * sim_start runs the server on its own thread (one libev loop; every piece
 * of simulator state lives on that thread, so nothing is locked) and
 * returns once it accepts connections and the kubeconfig is written. The
 * calls here are for the thread that started it. The `kubesim` binary is
 * sim_main.c around the same calls. */
#ifndef ASC_SIM_SERVER_H
#define ASC_SIM_SERVER_H

#include <stddef.h>

typedef struct sim_config {
    int port;             /* 0 = pick a free port */
    int tls;              /* self-signed certificate made at start */
    const char *tls_cert; /* PEM files (both or neither) */
    const char *tls_key;
    const char *kubeconfig_out; /* NULL: a temporary file is written (sim_kubeconfig) */
    const char *crds_dir;       /* NULL: built-in CRDs (asc_crds or ASC_SOURCE_DIR/deploy/crds) */
    int pod_ready_delay_ms;     /* default 0 */
    int pod_stop_delay_ms;      /* default 20 */
    int nodes;                  /* fake Ready nodes, default 3 */
    int no_kubelet;             /* 1: pods stay Pending, nothing binds them */
    int watch_window;           /* 0: the real rule (75 s, >= 100 events); N: exactly N per type */
    int bookmark_interval_s;    /* default 60 */
    int quiet;                  /* 1: no info logs */
    int tree_cache;         /* parsed trees kept (default 4096, see sim_tree_cache); 0: keep all */
    const char *faults[16]; /* --fault JSON (repeatable): faults active from the start */
    int nfaults;
    unsigned long long fault_seed; /* --fault-seed N (default 1) */
} sim_config;

typedef struct sim_server sim_server;

void sim_config_defaults(sim_config *cfg);
/* Parse the kubesim command line into cfg (strings borrowed from argv).
 * Returns 0, or -1 with a message in err. */
int sim_config_parse(sim_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* Start on a new thread. NULL with a message in err on failure. */
sim_server *sim_start(const sim_config *cfg, char *err, size_t errlen);
/* "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT" (borrowed). */
const char *sim_url(const sim_server *s);
int sim_port(const sim_server *s);
/* Path of the kubeconfig file written at start (borrowed). */
const char *sim_kubeconfig(const sim_server *s);
/* Bearer token accepted (any token is accepted; this one is in the kubeconfig). */
const char *sim_token(const sim_server *s);
/* Stop the loop, close every connection, free everything (and remove the
 * temporary kubeconfig if sim_start made one). NULL is a no-op. */
void sim_stop(sim_server *s);

#endif
