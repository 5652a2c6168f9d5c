/* promtext.h - reading counters out of a Prometheus text exposition.
 *
 * Enough of the text format (version 0.0.4) for kubesim's /metrics: comment
 * lines, `name value`, `name{k="v",...} value [timestamp]`, label values
 * with \" \\ \n escapes. A malformed line is skipped, never fatal.
 *
 * Memory: nothing is kept; callbacks get borrowed views valid for the call.
 * Not thread-safe (no shared state either: any thread may use its own text).
 */
#ifndef ASC_BENCH_PROMTEXT_H
#define ASC_BENCH_PROMTEXT_H

#include <stddef.h>

#define BENCH_PROM_MAX_LABELS 16

typedef struct bench_prom_sample {
    const char *name;
    size_t nlabels;
    const char *key[BENCH_PROM_MAX_LABELS];
    const char *val[BENCH_PROM_MAX_LABELS]; /* unescaped */
    double value;
} bench_prom_sample;

/* Calls cb for each sample of metric `name` (NULL: every metric) in text.
 * Returns the number of samples passed to cb. */
typedef void (*bench_prom_cb)(const bench_prom_sample *s, void *ud);
size_t bench_prom_each(const char *text, size_t len, const char *name, bench_prom_cb cb, void *ud);

/* Value of label key in s, or NULL. */
const char *bench_prom_label(const bench_prom_sample *s, const char *key);

/* Sum of the samples of `name` whose labels include every "key=value" pair
 * of the NULL-terminated match list (NULL: all), where a value written as
 * "a|b|c" matches any of the alternatives. */
double bench_prom_sum(const char *text, size_t len, const char *name, const char *const *match);

#endif
