/* flags.h - the agent-sandbox-controller command line.
 *
 * Every flag of upstream's cmd/agent-sandbox-controller (spec/api.md §3.1),
 * with upstream's name, default and validation, plus the controller-runtime
 * zap flags and ours (--kubeconfig, --cache-dir, --shards, --log-level, -v,
 * --help). The syntax is Go's flag package: "-name" and "--name" are the
 * same; "--name=value" or "--name value"; a bool is "--name" (true) or
 * "--name=<bool>" (1 t T TRUE true True 0 f F FALSE false False), never
 * "--name false"; "--" ends the flags. A repeated flag: the last one wins.
 * Durations follow Go's time.ParseDuration ("300ms", "1m30s", "-1.5h", "0").
 *
 * Not thread-safe; used by main before any thread starts. Strings in
 * ctl_flags are owned by it and released by ctl_flags_fini.
 * Return codes: 0, or ERR_INVALID with a one-line message in err.
 */
#ifndef ASC_CONTROLLER_FLAGS_H
#define ASC_CONTROLLER_FLAGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_FLAGS_MAX 64 /* room for every flag of the table in flags.c */

typedef struct ctl_flags {
    /* upstream (spec/api.md §3.1) */
    int version;
    char *metrics_bind_address;      /* ":8080"; "0" disables */
    char *health_probe_bind_address; /* ":8081"; "0" disables */
    int leader_elect;                /* default true */
    char *leader_election_namespace;
    int extensions;
    char *cluster_domain;
    int enable_tracing;
    int enable_pprof, enable_pprof_debug;
    int pprof_block_profile_rate, pprof_mutex_profile_fraction;
    double kube_api_qps; /* < 0: no limit */
    int kube_api_burst;
    int api_connections;
    int separate_watch_connection;
    int sandbox_concurrent_workers, sandbox_claim_concurrent_workers;
    int sandbox_warm_pool_concurrent_workers, sandbox_template_concurrent_workers;
    int sandbox_warm_pool_max_batch_size;
    int64_t sandbox_warm_pool_replenish_delay_ns;
    double sandbox_warm_pool_max_refill_rate;
    int64_t sandbox_warm_pool_readiness_grace_period_ns;
    int64_t sandbox_warm_pool_unschedulable_recheck_interval_ns;
    int enable_warm_pool_eviction;
    int cache_label_selectors;
    int disable_claim_events, disable_claim_observability_annotations;
    int64_t sandbox_write_behind_window_ns;
    int webhook_port;
    char *webhook_cert_dir, *webhook_cert_name, *webhook_key_name;
    char *webhook_service_name, *webhook_namespace;
    int manage_webhook_certs;
    int enable_webhook;
    /* controller-runtime zap options */
    int zap_devel;
    char *zap_encoder, *zap_stacktrace_level, *zap_time_encoding;
    /* ours */
    int log_level; /* LOG_* of core/log.h; from --log-level, --zap-log-level or -v */
    char *kubeconfig;
    char *cache_dir;
    int shards; /* default: online CPUs */
    int help;
    /* which table rows were given on the command line (index = row) */
    unsigned char set[CTL_FLAGS_MAX];
} ctl_flags;

/* Fill every field with its default. Returns 0 or ERR_NOMEM (then nothing
 * needs releasing beyond ctl_flags_fini, which is safe to call). */
int ctl_flags_init(ctl_flags *f);
void ctl_flags_fini(ctl_flags *f);

/* Parse argv[1..argc-1] over the defaults, then validate. On error err names
 * the flag ("unknown flag: --foo", "--kube-api-burst must be > 0, got 0").
 * Stops early (0) after --help or --version so they work with other flags. */
int ctl_flags_parse(ctl_flags *f, int argc, char **argv, char *err, size_t errlen);

/* 1 if the flag (name without dashes) was given on the command line. */
int ctl_flags_was_set(const ctl_flags *f, const char *name);

/* The current value of a flag (name without dashes) as text: bools
 * "true"/"false", ints "%d", floats "%g", durations in nanoseconds "%lld",
 * levels as the LOG_* number, strings as they are. 0, or ERR_NOTFOUND. */
int ctl_flags_get(const ctl_flags *f, const char *name, char *buf, size_t buflen);

/* The usage text: every flag, its default and a line of help. */
void ctl_flags_usage(FILE *out);

/* Start-up notes, each reported once through cb:
 *   CTL_NOTE_WARN     upstream's warnings (total workers > 1000; total
 *                     workers > burst when qps > 0);
 *   CTL_NOTE_PENDING  a flag whose feature does not exist yet, when it was
 *                     set or its value turns a feature on (default-true
 *                     --enable-webhook: CRDs must then use conversion None);
 *   CTL_NOTE_SUPERSEDED  the per-controller worker counts (--shards rules).
 * flag is the flag name without dashes, msg a static or formatted line
 * valid during the call. Returns the number of notes. */
enum { CTL_NOTE_WARN = 1, CTL_NOTE_PENDING, CTL_NOTE_SUPERSEDED };
typedef void (*ctl_note_cb)(int kind, const char *flag, const char *msg, void *udata);
int ctl_flags_notes(const ctl_flags *f, ctl_note_cb cb, void *udata);

/* Go's time.ParseDuration: into nanoseconds. 0 or ERR_INVALID (bad syntax,
 * missing unit, overflow). */
int ctl_parse_duration(const char *s, int64_t *out_ns);
/* Go's strconv.ParseBool: 0 or ERR_INVALID. */
int ctl_parse_bool(const char *s, int *out);

#endif
