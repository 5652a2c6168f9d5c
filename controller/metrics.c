/* metrics.c - see metrics.h.
 *
 * Layout: the registry keeps its metrics in a declaration-ordered array
 * under one mutex (declarations are rare, renders take it briefly). Each
 * metric keeps its series in a first-use-ordered array plus an open-
 * addressing index (FNV-1a of the label values, linear probing, grown at
 * half load), so an update costs one hash and one or two compares under the
 * metric's own mutex, whatever the number of series.
 *
 * Histogram series count per bucket (not cumulative); the renderer sums them
 * into Prometheus' cumulative le="..." lines.
 */
#include "controller/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

enum mtype { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

typedef struct series {
    char **values;
    uint64_t hash;
    double value; /* counter / gauge */
    double sum;   /* histogram */
    uint64_t count;
    uint64_t *buckets; /* nbuckets + 1 (the last is +Inf) */
} series;

struct ctl_metric {
    pthread_mutex_t lock;
    enum mtype type;
    char *name, *help;
    char **labels;
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    series **s;
    size_t ns, cap;
    uint32_t *index; /* 0 empty, else series position + 1 */
    size_t index_cap;
};

typedef struct collector {
    ctl_collect_cb cb;
    void *udata;
} collector;

struct ctl_metrics {
    pthread_mutex_t lock;
    ctl_metric **m;
    size_t n, cap;
    collector *col;
    size_t ncol, capcol;
};

/* ---- small helpers ------------------------------------------------------ */

static int
grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*arr, nc * elem);
    if (p == NULL) return ERR_NOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

static int
valid_name(const char *s, int allow_colon)
{
    if (s == NULL || *s == '\0') return 0;
    for (const char *p = s; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                    (allow_colon && *p == ':');
        int digit = *p >= '0' && *p <= '9';
        if (!alpha && !(digit && p != s)) return 0;
    }
    return 1;
}

static uint64_t
hash_values(const char *const *v, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)(v[i] ? v[i] : ""); *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* separator: ("ab","") != ("a","b") */
    }
    return h;
}

static void
series_free(series *s, size_t nlabels)
{
    if (s == NULL) return;
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->buckets);
    free(s);
}

static void
metric_free(ctl_metric *mt)
{
    if (mt == NULL) return;
    for (size_t i = 0; i < mt->ns; i++)
        series_free(mt->s[i], mt->nlabels);
    for (size_t i = 0; i < mt->nlabels; i++)
        free(mt->labels[i]);
    free(mt->labels);
    free(mt->s);
    free(mt->index);
    free(mt->bounds);
    free(mt->name);
    free(mt->help);
    pthread_mutex_destroy(&mt->lock);
    free(mt);
}

/* ---- registry ----------------------------------------------------------- */

ctl_metrics *
ctl_metrics_new(void)
{
    ctl_metrics *m = calloc(1, sizeof *m);
    if (m == NULL) return NULL;
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void
ctl_metrics_free(ctl_metrics *m)
{
    if (m == NULL) return;
    for (size_t i = 0; i < m->n; i++)
        metric_free(m->m[i]);
    free(m->m);
    free(m->col);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

ctl_metric *
ctl_metrics_find(ctl_metrics *m, const char *name)
{
    ctl_metric *found = NULL;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n && !found; i++)
        if (strcmp(m->m[i]->name, name) == 0) found = m->m[i];
    pthread_mutex_unlock(&m->lock);
    return found;
}

static ctl_metric *
declare(ctl_metrics *m, enum mtype type, const char *name, const char *help,
        const char *const *label_names, size_t nlabels, const double *bounds, size_t nbounds)
{
    if (!valid_name(name, 1) || (nlabels > 0 && label_names == NULL)) return NULL;
    for (size_t i = 0; i < nlabels; i++) {
        if (!valid_name(label_names[i], 0) || strncmp(label_names[i], "__", 2) == 0 ||
            (type == MT_HISTOGRAM && strcmp(label_names[i], "le") == 0))
            return NULL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(label_names[i], label_names[j]) == 0) return NULL;
    }
    for (size_t i = 0; i < nbounds; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) return NULL;
    if (ctl_metrics_find(m, name) != NULL) return NULL;

    ctl_metric *mt = calloc(1, sizeof *mt);
    if (mt == NULL) return NULL;
    pthread_mutex_init(&mt->lock, NULL);
    mt->type = type;
    mt->name = strdup(name);
    mt->help = strdup(help ? help : "");
    mt->labels = calloc(nlabels ? nlabels : 1, sizeof *mt->labels);
    mt->bounds = calloc(nbounds ? nbounds : 1, sizeof *mt->bounds);
    if (!mt->name || !mt->help || !mt->labels || !mt->bounds) goto fail;
    for (mt->nlabels = 0; mt->nlabels < nlabels; mt->nlabels++)
        if ((mt->labels[mt->nlabels] = strdup(label_names[mt->nlabels])) == NULL) goto fail;
    if (nbounds) memcpy(mt->bounds, bounds, nbounds * sizeof *bounds);
    mt->nbounds = nbounds;

    pthread_mutex_lock(&m->lock);
    int rc = grow((void **)&m->m, &m->cap, m->n + 1, sizeof *m->m);
    if (rc == 0) m->m[m->n++] = mt;
    pthread_mutex_unlock(&m->lock);
    if (rc != 0) goto fail;
    return mt;
fail:
    metric_free(mt);
    return NULL;
}

ctl_metric *
ctl_metrics_counter(ctl_metrics *m, const char *name, const char *help,
                    const char *const *label_names, size_t nlabels)
{
    return declare(m, MT_COUNTER, name, help, label_names, nlabels, NULL, 0);
}

ctl_metric *
ctl_metrics_gauge(ctl_metrics *m, const char *name, const char *help,
                  const char *const *label_names, size_t nlabels)
{
    return declare(m, MT_GAUGE, name, help, label_names, nlabels, NULL, 0);
}

ctl_metric *
ctl_metrics_histogram(ctl_metrics *m, const char *name, const char *help,
                      const char *const *label_names, size_t nlabels, const double *buckets,
                      size_t nbuckets)
{
    if (nbuckets > 0 && buckets == NULL) return NULL;
    return declare(m, MT_HISTOGRAM, name, help, label_names, nlabels, buckets, nbuckets);
}

int
ctl_metrics_add_collector(ctl_metrics *m, ctl_collect_cb cb, void *udata)
{
    pthread_mutex_lock(&m->lock);
    int rc = grow((void **)&m->col, &m->capcol, m->ncol + 1, sizeof *m->col);
    if (rc == 0) m->col[m->ncol++] = (collector){cb, udata};
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ---- series ------------------------------------------------------------- */

static int
same_values(const series *s, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], v[i] ? v[i] : "") != 0) return 0;
    return 1;
}

static int
index_rebuild(ctl_metric *mt, size_t cap)
{
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (idx == NULL) return ERR_NOMEM;
    for (size_t i = 0; i < mt->ns; i++) {
        size_t pos = mt->s[i]->hash & (cap - 1);
        while (idx[pos])
            pos = (pos + 1) & (cap - 1);
        idx[pos] = (uint32_t)(i + 1);
    }
    free(mt->index);
    mt->index = idx;
    mt->index_cap = cap;
    return 0;
}

/* Find or create the series; caller holds mt->lock. NULL on ENOMEM. */
static series *
series_get(ctl_metric *mt, const char *const *v)
{
    uint64_t h = hash_values(v, mt->nlabels);
    if (mt->index_cap) {
        size_t pos = h & (mt->index_cap - 1);
        while (mt->index[pos]) {
            series *s = mt->s[mt->index[pos] - 1];
            if (s->hash == h && same_values(s, v, mt->nlabels)) return s;
            pos = (pos + 1) & (mt->index_cap - 1);
        }
    }
    if ((mt->ns + 1) * 2 > mt->index_cap &&
        index_rebuild(mt, mt->index_cap ? mt->index_cap * 2 : 16) != 0)
        return NULL;
    if (grow((void **)&mt->s, &mt->cap, mt->ns + 1, sizeof *mt->s) != 0) return NULL;
    series *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->hash = h;
    s->values = calloc(mt->nlabels ? mt->nlabels : 1, sizeof *s->values);
    if (mt->type == MT_HISTOGRAM) s->buckets = calloc(mt->nbounds + 1, sizeof *s->buckets);
    if (s->values == NULL || (mt->type == MT_HISTOGRAM && s->buckets == NULL)) goto fail;
    for (size_t i = 0; i < mt->nlabels; i++)
        if ((s->values[i] = strdup(v[i] ? v[i] : "")) == NULL) goto fail;
    mt->s[mt->ns++] = s;
    size_t pos = h & (mt->index_cap - 1);
    while (mt->index[pos])
        pos = (pos + 1) & (mt->index_cap - 1);
    mt->index[pos] = (uint32_t)mt->ns;
    return s;
fail:
    series_free(s, mt->nlabels);
    return NULL;
}

static int
update(ctl_metric *mt, enum mtype want, const char *const *v, double x, int op)
{
    if (mt == NULL || mt->type != want || (mt->nlabels > 0 && v == NULL)) return ERR_INVALID;
    if (want == MT_COUNTER && !(x >= 0)) return ERR_INVALID;
    pthread_mutex_lock(&mt->lock);
    series *s = series_get(mt, v);
    if (s == NULL) {
        pthread_mutex_unlock(&mt->lock);
        return ERR_NOMEM;
    }
    switch (op) {
    case 0:
        s->value += x;
        break;
    case 1:
        s->value = x;
        break;
    default: {
        size_t b = 0;
        while (b < mt->nbounds && x > mt->bounds[b])
            b++;
        s->buckets[b]++;
        s->count++;
        s->sum += x;
    }
    }
    pthread_mutex_unlock(&mt->lock);
    return 0;
}

int
ctl_counter_add(ctl_metric *c, const char *const *label_values, double delta)
{
    return update(c, MT_COUNTER, label_values, delta, 0);
}

int
ctl_gauge_set(ctl_metric *g, const char *const *label_values, double v)
{
    return update(g, MT_GAUGE, label_values, v, 1);
}

int
ctl_gauge_add(ctl_metric *g, const char *const *label_values, double delta)
{
    return update(g, MT_GAUGE, label_values, delta, 0);
}

int
ctl_histogram_observe(ctl_metric *h, const char *const *label_values, double v)
{
    return update(h, MT_HISTOGRAM, label_values, v, 2);
}

void
ctl_metric_reset(ctl_metric *mt)
{
    pthread_mutex_lock(&mt->lock);
    for (size_t i = 0; i < mt->ns; i++)
        series_free(mt->s[i], mt->nlabels);
    mt->ns = 0;
    if (mt->index) memset(mt->index, 0, mt->index_cap * sizeof *mt->index);
    pthread_mutex_unlock(&mt->lock);
}

int
ctl_metric_value(ctl_metric *mt, const char *const *v, double *value, double *sum)
{
    int rc = ERR_NOTFOUND;
    uint64_t h = hash_values(v, mt->nlabels);
    pthread_mutex_lock(&mt->lock);
    for (size_t i = 0; i < mt->ns; i++) {
        series *s = mt->s[i];
        if (s->hash == h && same_values(s, v, mt->nlabels)) {
            *value = mt->type == MT_HISTOGRAM ? (double)s->count : s->value;
            if (sum) *sum = s->sum;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&mt->lock);
    return rc;
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void
sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (grow((void **)&b->p, &b->cap, b->len + n + 1, 1) != 0) {
        b->oom = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Escapes of the text format: label values escape \ " and newline; HELP
 * escapes \ and newline. */
static void
sb_escaped(sbuf *b, const char *s, int quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            sb_put(b, "\\\\", 2);
        else if (*p == '\n')
            sb_put(b, "\\n", 2);
        else if (*p == '"' && quote)
            sb_put(b, "\\\"", 2);
        else
            sb_put(b, p, 1);
    }
}

const char *
ctl_metrics_fmt_value(double v, char *buf, size_t buflen)
{
    if (isnan(v)) {
        snprintf(buf, buflen, "NaN");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, buflen, v > 0 ? "+Inf" : "-Inf");
        return buf;
    }
    /* Go's strconv.FormatFloat(v, 'g', -1, 64), which client_golang uses:
     * the fewest digits that read back exactly, in exponent form when the
     * exponent is < -4 or >= 6 ("1e+06", "250", "0.0001"). */
    int p = 1;
    for (; p < 17; p++) {
        snprintf(buf, buflen, "%.*e", p - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    snprintf(buf, buflen, "%.*e", p - 1, v);
    const char *e = strchr(buf, 'e');
    int exp = e ? atoi(e + 1) : 0;
    if (exp < -4 || exp >= 6) {
        /* C already writes Go's exponent form (two digits at least); Go
         * drops a mantissa's trailing ".": %.0e gives "1e+06" as well. */
        return buf;
    }
    int decimals = p - 1 - exp;
    snprintf(buf, buflen, "%.*f", decimals > 0 ? decimals : 0, v);
    return buf;
}

static void
sb_labels(sbuf *b, const ctl_metric *mt, const series *s, const char *le)
{
    if (mt->nlabels == 0 && le == NULL) return;
    sb_put(b, "{", 1);
    for (size_t i = 0; i < mt->nlabels; i++) {
        if (i) sb_put(b, ",", 1);
        sb_str(b, mt->labels[i]);
        sb_put(b, "=\"", 2);
        sb_escaped(b, s->values[i], 1);
        sb_put(b, "\"", 1);
    }
    if (le) {
        if (mt->nlabels) sb_put(b, ",", 1);
        sb_str(b, "le=\"");
        sb_str(b, le);
        sb_put(b, "\"", 1);
    }
    sb_put(b, "}", 1);
}

static void
sb_sample(sbuf *b, const ctl_metric *mt, const char *suffix, const series *s, const char *le,
          double v)
{
    char num[48];
    sb_str(b, mt->name);
    sb_str(b, suffix);
    sb_labels(b, mt, s, le);
    sb_put(b, " ", 1);
    sb_str(b, ctl_metrics_fmt_value(v, num, sizeof num));
    sb_put(b, "\n", 1);
}

static void
render_metric(sbuf *b, ctl_metric *mt)
{
    static const char *const tname[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&mt->lock);
    if (mt->ns == 0) { /* Prometheus clients omit metrics without series */
        pthread_mutex_unlock(&mt->lock);
        return;
    }
    sb_str(b, "# HELP ");
    sb_str(b, mt->name);
    sb_put(b, " ", 1);
    sb_escaped(b, mt->help, 0);
    sb_str(b, "\n# TYPE ");
    sb_str(b, mt->name);
    sb_put(b, " ", 1);
    sb_str(b, tname[mt->type]);
    sb_put(b, "\n", 1);
    for (size_t i = 0; i < mt->ns; i++) {
        const series *s = mt->s[i];
        if (mt->type != MT_HISTOGRAM) {
            sb_sample(b, mt, "", s, NULL, s->value);
            continue;
        }
        uint64_t cum = 0;
        char le[48];
        for (size_t k = 0; k < mt->nbounds; k++) {
            cum += s->buckets[k];
            sb_sample(b, mt, "_bucket", s, ctl_metrics_fmt_value(mt->bounds[k], le, sizeof le),
                      (double)cum);
        }
        sb_sample(b, mt, "_bucket", s, "+Inf", (double)s->count);
        sb_sample(b, mt, "_sum", s, NULL, s->sum);
        sb_sample(b, mt, "_count", s, NULL, (double)s->count);
    }
    pthread_mutex_unlock(&mt->lock);
}

int
ctl_metrics_render(ctl_metrics *m, char **out, size_t *outlen)
{
    sbuf b = {0};
    /* Collectors may declare nothing but update freely; run them unlocked. */
    pthread_mutex_lock(&m->lock);
    size_t ncol = m->ncol;
    collector *col = ncol ? malloc(ncol * sizeof *col) : NULL;
    if (col) memcpy(col, m->col, ncol * sizeof *col);
    pthread_mutex_unlock(&m->lock);
    if (ncol && col == NULL) return ERR_NOMEM;
    for (size_t i = 0; i < ncol; i++)
        col[i].cb(m, col[i].udata);
    free(col);

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n; i++)
        render_metric(&b, m->m[i]);
    pthread_mutex_unlock(&m->lock);
    sb_put(&b, "", 0); /* an empty registry still yields "" */
    if (b.oom) {
        free(b.p);
        return ERR_NOMEM;
    }
    *out = b.p;
    if (outlen) *outlen = b.len;
    return 0;
}

/* ---- the agent-sandbox metrics (spec/api.md §3.3) ---------------------- */

static const double claim_buckets[] = {100,  250,  500,   750,   1000,  1250,   1500,  2000,
                                       2500, 5000, 10000, 30000, 60000, 120000, 240000};
static const double creation_buckets[] = {50,    100,   250,   500,    1000,   2500,   5000,
                                          10000, 30000, 60000, 120000, 240000, 300000, 600000};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int
ctl_metrics_declare_agent(ctl_metrics *m, ctl_agent_metrics *out)
{
    static const char *const claim_l[] = {"launch_type", "sandbox_template"};
    static const char *const creation_l[] = {"namespace", "launch_type", "sandbox_template"};
    static const char *const total_l[] = {"namespace",     "sandbox_template", "launch_type",
                                          "warmpool_name", "pod_condition",    "created_by"};
    static const char *const sandboxes_l[] = {"namespace",   "ready_condition",  "expired",
                                              "launch_type", "sandbox_template", "owned_by",
                                              "created_by"};
    static const char *const build_l[] = {"git_version", "git_commit", "build_date",
                                          "go_version",  "compiler",   "platform"};

    memset(out, 0, sizeof *out);
    out->claim_startup_latency_ms = ctl_metrics_histogram(
        m, "agent_sandbox_claim_startup_latency_ms",
        "Time from the claim first being observed by the webhook to its first Ready, in ms.",
        claim_l, NELEM(claim_l), claim_buckets, NELEM(claim_buckets));
    out->claim_controller_startup_latency_ms = ctl_metrics_histogram(
        m, "agent_sandbox_claim_controller_startup_latency_ms",
        "Time from the claim first being observed by the controller to its first Ready, in ms.",
        claim_l, NELEM(claim_l), claim_buckets, NELEM(claim_buckets));
    out->client_claim_startup_latency_ms = ctl_metrics_histogram(
        m, "agent_sandbox_client_claim_startup_latency_ms",
        "Time from the client's first request for the claim to its first Ready, in ms.", claim_l,
        NELEM(claim_l), claim_buckets, NELEM(claim_buckets));
    out->creation_latency_ms = ctl_metrics_histogram(
        m, "agent_sandbox_creation_latency_ms",
        "Time from a Sandbox's creation to its Ready condition, in ms.", creation_l,
        NELEM(creation_l), creation_buckets, NELEM(creation_buckets));
    out->claim_creation_total = ctl_metrics_counter(
        m, "agent_sandbox_claim_creation_total",
        "Sandboxes handed to claims, by warm adoption or cold creation.", total_l, NELEM(total_l));
    out->sandboxes = ctl_metrics_gauge(m, "agent_sandboxes", "Sandboxes by state and origin.",
                                       sandboxes_l, NELEM(sandboxes_l));
    out->build_info = ctl_metrics_gauge(m, "agent_sandbox_build_info",
                                        "Build information of the controller (value 1).", build_l,
                                        NELEM(build_l));
    if (!out->claim_startup_latency_ms || !out->claim_controller_startup_latency_ms ||
        !out->client_claim_startup_latency_ms || !out->creation_latency_ms ||
        !out->claim_creation_total || !out->sandboxes || !out->build_info)
        return ERR_INVALID;

#ifndef ASC_VERSION
#define ASC_VERSION "0.0.0"
#endif
#ifndef ASC_GIT_COMMIT
#define ASC_GIT_COMMIT "unknown"
#endif
#ifndef ASC_BUILD_DATE
#define ASC_BUILD_DATE "unknown" /* not __DATE__: builds stay reproducible */
#endif
#if defined(__x86_64__)
#define ASC_ARCH "amd64"
#elif defined(__aarch64__)
#define ASC_ARCH "arm64"
#else
#define ASC_ARCH "unknown"
#endif
#if defined(__clang__)
#define ASC_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define ASC_COMPILER "gcc " __VERSION__
#else
#define ASC_COMPILER "unknown"
#endif
    /* go_version keeps upstream's label set; there is no Go runtime here. */
    const char *build_v[] = {"v" ASC_VERSION, ASC_GIT_COMMIT, ASC_BUILD_DATE,
                             "none",          ASC_COMPILER,   "linux/" ASC_ARCH};
    return ctl_gauge_set(out->build_info, build_v, 1);
}
