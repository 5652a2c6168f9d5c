/* metrics.h - a small Prometheus registry: counters, gauges, histograms with
 * fixed buckets, rendered in the text exposition format (version 0.0.4).
 *
 * Threads: every call is safe from any thread. A metric has one mutex, held
 * for a series lookup and update (a few hundred ns), and by the renderer
 * while it copies that metric's series out. Collectors run on the thread
 * that renders (the HTTP server's thread), before any metric is read.
 *
 * Lifetime: metrics belong to the registry and stay valid until
 * ctl_metrics_free. Names, help and label names are copied at declaration.
 * Label values are copied on first use of a series.
 *
 * Return codes: 0, ERR_INVALID (bad name, wrong label count, redeclared
 * name, non-finite bucket), ERR_NOMEM.
 */
#ifndef ASC_CONTROLLER_METRICS_H
#define ASC_CONTROLLER_METRICS_H

#include <stddef.h>

typedef struct ctl_metrics ctl_metrics;
typedef struct ctl_metric ctl_metric;

ctl_metrics *ctl_metrics_new(void);
void ctl_metrics_free(ctl_metrics *m);

/* Declare a metric. label_names has nlabels entries (may be NULL if 0).
 * Returns the metric, or NULL (invalid name/labels, duplicate, no memory). */
ctl_metric *ctl_metrics_counter(ctl_metrics *m, const char *name, const char *help,
                                const char *const *label_names, size_t nlabels);
ctl_metric *ctl_metrics_gauge(ctl_metrics *m, const char *name, const char *help,
                              const char *const *label_names, size_t nlabels);
/* buckets: strictly increasing upper bounds, +Inf implied. */
ctl_metric *ctl_metrics_histogram(ctl_metrics *m, const char *name, const char *help,
                                  const char *const *label_names, size_t nlabels,
                                  const double *buckets, size_t nbuckets);
/* Look a metric up by name (NULL if absent). */
ctl_metric *ctl_metrics_find(ctl_metrics *m, const char *name);

/* Updates. label_values has as many entries as the metric has labels; a NULL
 * value is rendered as "". Counters reject negative deltas (ERR_INVALID). */
int ctl_counter_add(ctl_metric *c, const char *const *label_values, double delta);
int ctl_gauge_set(ctl_metric *g, const char *const *label_values, double v);
int ctl_gauge_add(ctl_metric *g, const char *const *label_values, double delta);
int ctl_histogram_observe(ctl_metric *h, const char *const *label_values, double v);
/* Drop every series (a collector that re-lists on each scrape starts here). */
void ctl_metric_reset(ctl_metric *mt);
/* Read back one series (tests, collectors): value of a counter/gauge, or the
 * count of a histogram (sum in *sum when non-NULL). ERR_NOTFOUND if the
 * series does not exist. */
int ctl_metric_value(ctl_metric *mt, const char *const *label_values, double *value, double *sum);

/* A collector runs at the start of every render, e.g. to set the
 * agent_sandboxes gauge from the store. Registered before serving. */
typedef void (*ctl_collect_cb)(ctl_metrics *m, void *udata);
int ctl_metrics_add_collector(ctl_metrics *m, ctl_collect_cb cb, void *udata);

/* Render everything, metrics in declaration order, series in first-use
 * order. *out is malloc'ed and NUL-terminated; the caller frees it. */
int ctl_metrics_render(ctl_metrics *m, char **out, size_t *outlen);

/* The metrics of spec/api.md §3.3, declared with upstream's names, labels and
 * buckets, plus agent_sandbox_build_info (= 1). */
typedef struct ctl_agent_metrics {
    ctl_metric *claim_startup_latency_ms;            /* {launch_type, sandbox_template} */
    ctl_metric *claim_controller_startup_latency_ms; /* {launch_type, sandbox_template} */
    ctl_metric *client_claim_startup_latency_ms;     /* {launch_type, sandbox_template} */
    ctl_metric *creation_latency_ms; /* {namespace, launch_type, sandbox_template} */
    ctl_metric *claim_creation_total;
    /* {namespace, sandbox_template, launch_type, warmpool_name, pod_condition, created_by} */
    ctl_metric *sandboxes;
    /* {namespace, ready_condition, expired, launch_type, sandbox_template, owned_by, created_by} */
    ctl_metric *build_info;
} ctl_agent_metrics;

int ctl_metrics_declare_agent(ctl_metrics *m, ctl_agent_metrics *out);

/* Format a sample value as Prometheus does: shortest text that reads back
 * to the same double; "+Inf", "-Inf", "NaN". buf >= 32 bytes. */
const char *ctl_metrics_fmt_value(double v, char *buf, size_t buflen);

#endif
