/* sim_watch.h - one open watch stream (internal to sim_watch.c, exposed for
 * sim_admin's counters). */
#ifndef ASC_SIM_WATCH_H
#define ASC_SIM_WATCH_H

#include "bench/kubesim/sim_selector.h"
#include "bench/kubesim/sim_state.h"

/* A watcher whose unsent output exceeds this is disconnected (the real
 * server closes a watcher that cannot keep up). */
#define SIM_WATCH_MAX_BUFFER (32u * 1024u * 1024u)

typedef struct sim_watch {
    sim_state *S;
    sim_conn *c;
    sim_res *res;
    sim_store *st;
    char ns[256];
    size_t ns_len; /* strlen(ns), 0: every namespace (checked per event) */
    sim_selector *ls;
    sim_fsel *fs;
    uint64_t last_rv; /* events at or below this were already covered */
    uint64_t from_rv; /* the client's resourceVersion (0 if none) */
    int table;        /* events as one-row Tables (kubectl get --watch) */
    int stalled;      /* fault: output held back until the stall timer fires */
    sim_buf held;
    ev_timer stall;
    ev_timer timeout, bookmark;
    struct sim_watch *next, *prev;   /* all watches */
    struct sim_watch *snext, *sprev; /* the store's watches */
} sim_watch;

#endif
