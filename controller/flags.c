/* flags.c - see flags.h.
 *
 * One table row per flag: name, type, where the value lands in ctl_flags,
 * the default as text (applied through the same parser as the command
 * line, so a default can never disagree with what the flag accepts), the
 * validation rule, and whether the feature behind it exists yet. Values are
 * checked after the whole command line is read, as upstream does after
 * flag.Parse(), so "--kube-api-burst=0 --kube-api-burst=5" is accepted.
 */
#include "controller/flags.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/httpserv.h"
#include "core/err.h"
#include "core/log.h"

enum fl_type { FT_BOOL, FT_INT, FT_FLOAT, FT_DURATION, FT_STRING, FT_LOGLEVEL };

enum fl_check {
    FC_NONE,
    FC_POSITIVE,      /* > 0 */
    FC_NONNEG,        /* >= 0 */
    FC_FINITE,        /* a finite number */
    FC_FINITE_NONNEG, /* a finite number >= 0 */
    FC_NONEMPTY,      /* a non-empty string */
    FC_PORT,          /* 1..65535 */
    FC_BINDADDR,      /* Go listen address (":8080", "host:port") or "0" */
};

enum {
    FF_PENDING = 1, /* parsed, but the feature is not there yet */
    FF_WORKERS = 2, /* a per-controller worker count: superseded by --shards */
    FF_STOP = 4,    /* --help / --version: stop parsing, act on it */
};

typedef struct fl_def {
    const char *name;
    enum fl_type type;
    size_t off;
    const char *def; /* NULL: computed in ctl_flags_init */
    enum fl_check check;
    unsigned flags;
    const char *help;
    const char *pending; /* FF_PENDING: what is missing, for the start-up note */
} fl_def;

#define F(field) offsetof(ctl_flags, field)

static const fl_def fl_table[] = {
    {"version", FT_BOOL, F(version), "false", FC_NONE, FF_STOP, "print the version and exit", 0},
    {"help", FT_BOOL, F(help), "false", FC_NONE, FF_STOP, "print this help and exit", 0},
    {"h", FT_BOOL, F(help), "false", FC_NONE, FF_STOP, "print this help and exit", 0},
    {"kubeconfig", FT_STRING, F(kubeconfig), "", FC_NONE, 0,
     "kubeconfig file (else $KUBECONFIG, ~/.kube/config, in-cluster)", 0},
    {"cache-dir", FT_STRING, F(cache_dir), "/var/cache/agent-sandbox-controller", FC_NONEMPTY, 0,
     "directory of the local object store (created if missing)", 0},
    {"shards", FT_INT, F(shards), NULL, FC_POSITIVE, 0,
     "reconcile worker threads (default: online CPUs)", 0},
    {"log-level", FT_LOGLEVEL, F(log_level), "info", FC_NONE, 0,
     "error|warn|info|debug|trace or a klog verbosity 0..9", 0},
    {"v", FT_LOGLEVEL, F(log_level), NULL, FC_NONE, 0, "klog-style verbosity, same as --log-level",
     0},
    {"zap-log-level", FT_LOGLEVEL, F(log_level), NULL, FC_NONE, 0,
     "controller-runtime zap level: debug|info|error|panic or verbosity N", 0},
    {"zap-devel", FT_BOOL, F(zap_devel), "false", FC_NONE, FF_PENDING,
     "zap development mode (accepted; logs stay JSON)", "development log mode"},
    {"zap-encoder", FT_STRING, F(zap_encoder), "json", FC_NONE, FF_PENDING,
     "zap encoder json|console (accepted; logs stay JSON)", "console log encoding"},
    {"zap-stacktrace-level", FT_STRING, F(zap_stacktrace_level), "error", FC_NONE, FF_PENDING,
     "zap stacktrace level (accepted)", "stack traces in logs"},
    {"zap-time-encoding", FT_STRING, F(zap_time_encoding), "rfc3339nano", FC_NONE, FF_PENDING,
     "zap time encoding (accepted; ts is RFC 3339 UTC)", "other time encodings"},
    {"metrics-bind-address", FT_STRING, F(metrics_bind_address), ":8080", FC_BINDADDR, 0,
     "address of the /metrics endpoint; 0 disables it", 0},
    {"health-probe-bind-address", FT_STRING, F(health_probe_bind_address), ":8081", FC_BINDADDR, 0,
     "address of /healthz and /readyz; 0 disables it", 0},
    {"leader-elect", FT_BOOL, F(leader_elect), "true", FC_NONE, 0,
     "leader election (not implemented yet: pass --leader-elect=false)", 0},
    {"leader-election-namespace", FT_STRING, F(leader_election_namespace), "", FC_NONE, FF_PENDING,
     "namespace of the leader-election Lease (empty: in-cluster namespace)", "leader election"},
    {"extensions", FT_BOOL, F(extensions), "false", FC_NONE, 0,
     "run the SandboxClaim, SandboxTemplate and SandboxWarmPool controllers",
     "the extensions controllers"},
    {"cluster-domain", FT_STRING, F(cluster_domain), "cluster.local", FC_NONE, 0,
     "cluster DNS domain (service FQDN, webhook certificate SAN)", "service FQDNs"},
    {"enable-tracing", FT_BOOL, F(enable_tracing), "false", FC_NONE, FF_PENDING,
     "OpenTelemetry tracing", "tracing"},
    {"enable-pprof", FT_BOOL, F(enable_pprof), "false", FC_NONE, FF_PENDING,
     "profiling handlers on the metrics server", "profiling handlers"},
    {"enable-pprof-debug", FT_BOOL, F(enable_pprof_debug), "false", FC_NONE, FF_PENDING,
     "block and mutex profiling", "profiling handlers"},
    {"pprof-block-profile-rate", FT_INT, F(pprof_block_profile_rate), "1000000", FC_NONE,
     FF_PENDING, "block profile rate", "profiling handlers"},
    {"pprof-mutex-profile-fraction", FT_INT, F(pprof_mutex_profile_fraction), "10", FC_NONE,
     FF_PENDING, "mutex profile fraction", "profiling handlers"},
    {"kube-api-qps", FT_FLOAT, F(kube_api_qps), "-1", FC_FINITE, 0,
     "client-side QPS limit to the API server (< 0: no limit)", 0},
    {"kube-api-burst", FT_INT, F(kube_api_burst), "10", FC_POSITIVE, 0,
     "client-side burst to the API server", 0},
    {"api-connections", FT_INT, F(api_connections), "1", FC_POSITIVE, FF_PENDING,
     "HTTP/2 connections for non-watch requests",
     "spreading requests over several HTTP/2 connections"},
    {"separate-watch-connection", FT_BOOL, F(separate_watch_connection), "false", FC_NONE,
     FF_PENDING, "put watches on their own connection", "a separate watch connection"},
    {"sandbox-concurrent-workers", FT_INT, F(sandbox_concurrent_workers), "100", FC_POSITIVE,
     FF_WORKERS, "Sandbox workers (superseded by --shards)", 0},
    {"sandbox-claim-concurrent-workers", FT_INT, F(sandbox_claim_concurrent_workers), "50",
     FC_POSITIVE, FF_WORKERS, "SandboxClaim workers (superseded by --shards)", 0},
    {"sandbox-warm-pool-concurrent-workers", FT_INT, F(sandbox_warm_pool_concurrent_workers), "1",
     FC_POSITIVE, FF_WORKERS, "SandboxWarmPool workers (superseded by --shards)", 0},
    /* upstream does not validate this one */
    {"sandbox-template-concurrent-workers", FT_INT, F(sandbox_template_concurrent_workers), "1",
     FC_NONE, FF_WORKERS, "SandboxTemplate workers (superseded by --shards)", 0},
    {"sandbox-warm-pool-max-batch-size", FT_INT, F(sandbox_warm_pool_max_batch_size), "300",
     FC_POSITIVE, 0, "most sandboxes a warm pool creates or deletes per pass",
     "warm-pool batching"},
    /* negative delays mean nothing; upstream would treat them as 0 */
    {"sandbox-warm-pool-replenish-delay", FT_DURATION, F(sandbox_warm_pool_replenish_delay_ns), "0",
     FC_NONNEG, 0, "delay before a warm pool refills a taken slot", "warm-pool replenish delay"},
    {"sandbox-warm-pool-max-refill-rate", FT_FLOAT, F(sandbox_warm_pool_max_refill_rate), "0",
     FC_FINITE_NONNEG, 0, "warm-pool refills per second (0: unlimited)",
     "warm-pool refill rate limit"},
    {"sandbox-warm-pool-readiness-grace-period", FT_DURATION,
     F(sandbox_warm_pool_readiness_grace_period_ns), "5m", FC_POSITIVE, 0,
     "how long a warm sandbox may stay unready before it is replaced", "warm-pool readiness grace"},
    {"sandbox-warm-pool-unschedulable-recheck-interval", FT_DURATION,
     F(sandbox_warm_pool_unschedulable_recheck_interval_ns), "1m", FC_POSITIVE, 0,
     "recheck interval for unschedulable warm pods", "warm-pool unschedulable recheck"},
    {"enable-warm-pool-eviction", FT_BOOL, F(enable_warm_pool_eviction), "true", FC_NONE, 0,
     "mark warm pods safe to evict", "the safe-to-evict annotation on warm pods"},
    {"cache-label-selectors", FT_BOOL, F(cache_label_selectors), "false", FC_NONE, 0,
     "cache only Pods/Services with the tracking label", "label-scoped informers"},
    {"disable-claim-events", FT_BOOL, F(disable_claim_events), "false", FC_NONE, 0,
     "the claim controller emits no Events", "claim Events"},
    {"disable-claim-observability-annotations", FT_BOOL, F(disable_claim_observability_annotations),
     "false", FC_NONE, 0, "no observability annotations on claims",
     "claim observability annotations"},
    {"sandbox-write-behind-window", FT_DURATION, F(sandbox_write_behind_window_ns), "0", FC_NONNEG,
     0, "coalesce Sandbox writes within this window", "write-behind"},
    {"webhook-port", FT_INT, F(webhook_port), "9443", FC_PORT, FF_PENDING,
     "conversion webhook TLS port", "the conversion webhook"},
    {"webhook-cert-dir", FT_STRING, F(webhook_cert_dir), "/tmp/k8s-webhook-server/serving-certs",
     FC_NONE, FF_PENDING, "webhook certificate directory", "the conversion webhook"},
    {"webhook-cert-name", FT_STRING, F(webhook_cert_name), "tls.crt", FC_NONEMPTY, FF_PENDING,
     "webhook certificate file name", "the conversion webhook"},
    {"webhook-key-name", FT_STRING, F(webhook_key_name), "tls.key", FC_NONEMPTY, FF_PENDING,
     "webhook key file name", "the conversion webhook"},
    {"webhook-service-name", FT_STRING, F(webhook_service_name), "agent-sandbox-webhook-service",
     FC_NONE, FF_PENDING, "webhook Service name", "the conversion webhook"},
    {"webhook-namespace", FT_STRING, F(webhook_namespace), "agent-sandbox-system", FC_NONE,
     FF_PENDING, "webhook Service namespace", "the conversion webhook"},
    {"manage-webhook-certs", FT_BOOL, F(manage_webhook_certs), "true", FC_NONE, FF_PENDING,
     "self-signed webhook certificates and CRD caBundle patching",
     "webhook certificate management"},
    {"enable-webhook", FT_BOOL, F(enable_webhook), "true", FC_NONE, FF_PENDING,
     "serve the CRD conversion webhook (false: CRDs must use conversion None)",
     "the conversion webhook: CRDs must use conversion strategy None"},
};

#define FL_N (sizeof fl_table / sizeof fl_table[0])
_Static_assert(sizeof fl_table / sizeof fl_table[0] <= CTL_FLAGS_MAX, "grow CTL_FLAGS_MAX");

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- value parsers ------------------------------------------------------ */

int
ctl_parse_bool(const char *s, int *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, t[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, f[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return ERR_INVALID;
}

static const struct {
    const char *name;
    uint64_t ns;
} dur_units[] = {
    {"ns", 1ULL},
    {"us", 1000ULL},
    {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000ULL}, /* U+03BC Greek mu */
    {"ms", 1000000ULL},
    {"s", 1000000000ULL},
    {"m", 60ULL * 1000000000ULL},
    {"h", 3600ULL * 1000000000ULL},
};

int
ctl_parse_duration(const char *s, int64_t *out_ns)
{
    const char *p = s;
    int neg = 0;
    uint64_t total = 0;
    const uint64_t max = (uint64_t)1 << 63;

    if (*p == '-' || *p == '+') neg = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *out_ns = 0;
        return 0;
    }
    if (*p == '\0') return ERR_INVALID;
    while (*p) {
        uint64_t v = 0, f = 0;
        double scale = 1;
        int digits = 0;

        if (!(*p == '.' || (*p >= '0' && *p <= '9'))) return ERR_INVALID;
        for (; *p >= '0' && *p <= '9'; p++, digits++) {
            if (v > (max - 1) / 10) return ERR_INVALID; /* overflow */
            v = v * 10 + (uint64_t)(*p - '0');
            if (v > max - 1) return ERR_INVALID;
        }
        if (*p == '.') {
            int overflowed = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
                /* Like Go: digits past what fits are dropped, not an error. */
                if (overflowed || f > (max - 1) / 10) {
                    overflowed = 1;
                    continue;
                }
                f = f * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
        if (digits == 0) return ERR_INVALID; /* "." or ".s" */
        const char *u = p;
        while (*p && *p != '.' && !(*p >= '0' && *p <= '9'))
            p++;
        size_t ulen = (size_t)(p - u);
        if (ulen == 0) return ERR_INVALID; /* missing unit */
        uint64_t unit = 0;
        for (size_t i = 0; i < sizeof dur_units / sizeof dur_units[0]; i++)
            if (strlen(dur_units[i].name) == ulen && memcmp(dur_units[i].name, u, ulen) == 0)
                unit = dur_units[i].ns;
        if (unit == 0) return ERR_INVALID;
        if (v > (max - 1) / unit) return ERR_INVALID;
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > max - 1) return ERR_INVALID;
        }
        total += v;
        if (total > max - 1) return ERR_INVALID;
    }
    *out_ns = neg ? -(int64_t)total : (int64_t)total;
    return 0;
}

static int
parse_int(const char *s, int *out)
{
    char *end;
    if (*s == '\0') return ERR_INVALID;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (*end != '\0' || errno != 0 || v < INT_MIN || v > INT_MAX) return ERR_INVALID;
    *out = (int)v;
    return 0;
}

static int
parse_float(const char *s, double *out)
{
    char *end;
    if (*s == '\0') return ERR_INVALID;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno == ERANGE) return ERR_INVALID;
    *out = v;
    return 0;
}

/* Like log_level_parse, plus zap's names that are coarser than ours. */
static int
parse_level(const char *s, int *out)
{
    int l = log_level_parse(s);
    if (l < 0 && (strcmp(s, "panic") == 0 || strcmp(s, "dpanic") == 0 || strcmp(s, "fatal") == 0))
        l = LOG_ERROR;
    if (l < 0) return ERR_INVALID;
    *out = l;
    return 0;
}

static const char *
type_word(enum fl_type t)
{
    switch (t) {
    case FT_BOOL:
        return "a boolean (true|false)";
    case FT_INT:
        return "an integer";
    case FT_FLOAT:
        return "a number";
    case FT_DURATION:
        return "a duration such as 500ms, 5m or 1m30s";
    case FT_LOGLEVEL:
        return "a level (error|warn|info|debug|trace or 0..9)";
    case FT_STRING:
        break;
    }
    return "a string";
}

static int
fl_set(ctl_flags *f, const fl_def *d, const char *val, char *err, size_t errlen)
{
    char *base = (char *)f;
    int rc = 0;
    switch (d->type) {
    case FT_BOOL:
        rc = ctl_parse_bool(val, (int *)(base + d->off));
        break;
    case FT_INT:
        rc = parse_int(val, (int *)(base + d->off));
        break;
    case FT_FLOAT:
        rc = parse_float(val, (double *)(base + d->off));
        break;
    case FT_DURATION:
        rc = ctl_parse_duration(val, (int64_t *)(base + d->off));
        break;
    case FT_LOGLEVEL:
        rc = parse_level(val, (int *)(base + d->off));
        break;
    case FT_STRING: {
        char *copy = strdup(val);
        if (copy == NULL) {
            seterr(err, errlen, "out of memory");
            return ERR_NOMEM;
        }
        char **slot = (char **)(base + d->off);
        free(*slot);
        *slot = copy;
        break;
    }
    }
    if (rc != 0)
        seterr(err, errlen, "invalid value \"%s\" for --%s: want %s", val, d->name,
               type_word(d->type));
    return rc;
}

/* ---- init / fini -------------------------------------------------------- */

int
ctl_flags_init(ctl_flags *f)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < FL_N; i++) {
        if (fl_table[i].def == NULL) continue;
        int rc = fl_set(f, &fl_table[i], fl_table[i].def, NULL, 0);
        if (rc != 0) return rc; /* only ERR_NOMEM: the defaults are tested */
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    f->shards = n > 0 ? (int)(n > 1024 ? 1024 : n) : 1;
    return 0;
}

void
ctl_flags_fini(ctl_flags *f)
{
    char *base = (char *)f;
    for (size_t i = 0; i < FL_N; i++) {
        if (fl_table[i].type != FT_STRING) continue;
        char **slot = (char **)(base + fl_table[i].off);
        free(*slot);
        *slot = NULL;
    }
}

/* ---- parse -------------------------------------------------------------- */

static const fl_def *
fl_find(const char *name, size_t len, size_t *idx)
{
    for (size_t i = 0; i < FL_N; i++)
        if (strlen(fl_table[i].name) == len && memcmp(fl_table[i].name, name, len) == 0) {
            *idx = i;
            return &fl_table[i];
        }
    return NULL;
}

static int
fl_validate(const ctl_flags *f, const fl_def *d, char *err, size_t errlen)
{
    const char *base = (const char *)f;
    const void *p = base + d->off;
    switch (d->check) {
    case FC_NONE:
        return 0;
    case FC_POSITIVE:
        if (d->type == FT_INT && *(const int *)p <= 0) {
            seterr(err, errlen, "--%s must be > 0, got %d", d->name, *(const int *)p);
            return ERR_INVALID;
        }
        if (d->type == FT_DURATION && *(const int64_t *)p <= 0) {
            seterr(err, errlen, "--%s must be > 0, got %lldns", d->name,
                   (long long)*(const int64_t *)p);
            return ERR_INVALID;
        }
        return 0;
    case FC_NONNEG:
        if (d->type == FT_DURATION && *(const int64_t *)p < 0) {
            seterr(err, errlen, "--%s must be >= 0, got %lldns", d->name,
                   (long long)*(const int64_t *)p);
            return ERR_INVALID;
        }
        return 0;
    case FC_FINITE:
    case FC_FINITE_NONNEG: {
        double v = *(const double *)p;
        if (!isfinite(v) || (d->check == FC_FINITE_NONNEG && v < 0)) {
            seterr(err, errlen, "--%s must be a finite number%s, got %g", d->name,
                   d->check == FC_FINITE_NONNEG ? " >= 0" : "", v);
            return ERR_INVALID;
        }
        return 0;
    }
    case FC_NONEMPTY:
        if (*(char *const *)p == NULL || **(char *const *)p == '\0') {
            seterr(err, errlen, "--%s must not be empty", d->name);
            return ERR_INVALID;
        }
        return 0;
    case FC_BINDADDR: {
        const char *v = *(char *const *)p;
        char host[256];
        int port;
        if (ctl_bind_address_parse(v, host, sizeof host, &port) < 0) {
            seterr(err, errlen, "--%s must be host:port, :port or 0, got \"%s\"", d->name,
                   v ? v : "");
            return ERR_INVALID;
        }
        return 0;
    }
    case FC_PORT: {
        int v = *(const int *)p;
        if (v < 1 || v > 65535) {
            seterr(err, errlen, "--%s must be a port 1..65535, got %d", d->name, v);
            return ERR_INVALID;
        }
        return 0;
    }
    }
    return 0;
}

int
ctl_flags_parse(ctl_flags *f, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc) {
                seterr(err, errlen, "unexpected argument: %s", argv[i + 1]);
                return ERR_INVALID;
            }
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            seterr(err, errlen, "unexpected argument: %s", a);
            return ERR_INVALID;
        }
        const char *name = a + (a[1] == '-' ? 2 : 1);
        if (*name == '-' || *name == '=' || *name == '\0') {
            seterr(err, errlen, "bad flag syntax: %s", a);
            return ERR_INVALID;
        }
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        size_t idx;
        const fl_def *d = fl_find(name, nlen, &idx);
        if (d == NULL) {
            seterr(err, errlen, "unknown flag: %.*s", (int)(name - a + nlen), a);
            return ERR_INVALID;
        }
        const char *val;
        if (eq)
            val = eq + 1;
        else if (d->type == FT_BOOL)
            val = "true";
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            seterr(err, errlen, "flag needs an argument: %s", a);
            return ERR_INVALID;
        }
        int rc = fl_set(f, d, val, err, errlen);
        if (rc != 0) return rc;
        f->set[idx] = 1;
        if ((d->flags & FF_STOP) && *(int *)((char *)f + d->off)) return 0;
    }
    for (size_t i = 0; i < FL_N; i++) {
        int rc = fl_validate(f, &fl_table[i], err, errlen);
        if (rc != 0) return rc;
    }
    if (f->shards > 1024) {
        seterr(err, errlen, "--shards must be <= 1024, got %d", f->shards);
        return ERR_INVALID;
    }
    return 0;
}

int
ctl_flags_was_set(const ctl_flags *f, const char *name)
{
    size_t idx;
    if (fl_find(name, strlen(name), &idx) == NULL) return 0;
    /* Aliases share a field: any of them counts. */
    for (size_t i = 0; i < FL_N; i++)
        if (fl_table[i].off == fl_table[idx].off && f->set[i]) return 1;
    return 0;
}

int
ctl_flags_get(const ctl_flags *f, const char *name, char *buf, size_t buflen)
{
    size_t idx;
    const fl_def *d = fl_find(name, strlen(name), &idx);
    if (d == NULL) return ERR_NOTFOUND;
    const void *p = (const char *)f + d->off;
    switch (d->type) {
    case FT_BOOL:
        snprintf(buf, buflen, "%s", *(const int *)p ? "true" : "false");
        break;
    case FT_INT:
    case FT_LOGLEVEL:
        snprintf(buf, buflen, "%d", *(const int *)p);
        break;
    case FT_FLOAT:
        snprintf(buf, buflen, "%g", *(const double *)p);
        break;
    case FT_DURATION:
        snprintf(buf, buflen, "%lld", (long long)*(const int64_t *)p);
        break;
    case FT_STRING: {
        const char *s = *(char *const *)p;
        snprintf(buf, buflen, "%s", s ? s : "");
        break;
    }
    }
    return 0;
}

/* ---- usage and notes ---------------------------------------------------- */

void
ctl_flags_usage(FILE *out)
{
    fprintf(out, "Usage: agent-sandbox-controller [flags]\n\n"
                 "Kubernetes controller for agent sandboxes (agents.x-k8s.io).\n"
                 "Tests and tools start it as:\n"
                 "  agent-sandbox-controller --kubeconfig F --cache-dir D --leader-elect=false \\\n"
                 "    --metrics-bind-address=0 --health-probe-bind-address=0 [--extensions]\n\n"
                 "Flags (-name and --name are the same; --name=value or --name value):\n");
    for (size_t i = 0; i < FL_N; i++) {
        const fl_def *d = &fl_table[i];
        if (strcmp(d->name, "h") == 0) continue;
        const char *arg = d->type == FT_BOOL       ? ""
                          : d->type == FT_INT      ? " int"
                          : d->type == FT_FLOAT    ? " float"
                          : d->type == FT_DURATION ? " duration"
                          : d->type == FT_LOGLEVEL ? " level"
                                                   : " string";
        fprintf(out, "  --%s%s\n        %s", d->name, arg, d->help);
        if (d->def && *d->def && strcmp(d->def, "false") != 0)
            fprintf(out, " (default %s)", d->def);
        if (d->flags & FF_PENDING) fprintf(out, " [not yet in effect]");
        fputc('\n', out);
    }
}

static int
fl_is_on(const ctl_flags *f, const fl_def *d)
{
    return d->type == FT_BOOL && *(const int *)((const char *)f + d->off);
}

int
ctl_flags_notes(const ctl_flags *f, ctl_note_cb cb, void *udata)
{
    char msg[256];
    int n = 0;
    long total = (long)f->sandbox_concurrent_workers + f->sandbox_claim_concurrent_workers +
                 f->sandbox_warm_pool_concurrent_workers + f->sandbox_template_concurrent_workers;

    if (total > 1000) {
        snprintf(msg, sizeof msg,
                 "total concurrent workers %ld exceed 1000; this can overload the API server",
                 total);
        cb(CTL_NOTE_WARN, "sandbox-concurrent-workers", msg, udata);
        n++;
    }
    if (f->kube_api_qps > 0 && total > f->kube_api_burst) {
        snprintf(msg, sizeof msg,
                 "total concurrent workers %ld exceed --kube-api-burst=%d; workers will wait on "
                 "the client rate limiter",
                 total, f->kube_api_burst);
        cb(CTL_NOTE_WARN, "kube-api-burst", msg, udata);
        n++;
    }
    for (size_t i = 0; i < FL_N; i++) {
        const fl_def *d = &fl_table[i];
        if ((d->flags & FF_WORKERS) && f->set[i]) {
            snprintf(msg, sizeof msg,
                     "--%s is accepted but superseded by --shards=%d: every controller shares "
                     "the shard workers",
                     d->name, f->shards);
            cb(CTL_NOTE_SUPERSEDED, d->name, msg, udata);
            n++;
        }
        /* A bool whose default is on still describes behaviour we do not
         * have (the webhook): say so even when it was not given. */
        if ((d->flags & FF_PENDING) && (f->set[i] || fl_is_on(f, d))) {
            snprintf(msg, sizeof msg, "--%s is accepted but not yet in effect: %s", d->name,
                     d->pending ? d->pending : "not implemented");
            if (d->type == FT_BOOL && !fl_is_on(f, d))
                snprintf(msg, sizeof msg, "--%s=false is accepted (the feature is not there yet)",
                         d->name);
            cb(CTL_NOTE_PENDING, d->name, msg, udata);
            n++;
        }
    }
    return n;
}
