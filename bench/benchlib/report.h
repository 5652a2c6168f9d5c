/* report.h - a benchmark's JSON report and its printed table.
 *
 * Keys are dotted paths ("claims.latency_ms.p50") made into nested objects.
 * A figure that could not be measured is JSON null (a NaN double, a
 * negative count passed to bench_json_count), never 0, so a dashboard
 * cannot mistake "unknown" for "none".
 *
 * Memory: the root is the caller's json object. Returns 0 or ERR_NOMEM /
 * ERR_INVALID (path too long) / -errno (writing the file).
 */
#ifndef ASC_BENCH_REPORT_H
#define ASC_BENCH_REPORT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/benchlib/hist.h"

/* A double rounded to 3 decimals in the text (NULL, i.e. JSON null, for NaN/inf). */
json_object *bench_json_double(double v);
int bench_json_num(json_object *root, const char *path, double v);    /* NaN -> null */
int bench_json_count(json_object *root, const char *path, int64_t v); /* < 0 -> null */
/* path.p50 p90 p99 p999 max from a finished histogram (nulls when empty). */
int bench_json_pcts(json_object *root, const char *path, const bench_hist *h);
/* Pretty-printed, written to a temporary file then renamed into place. */
int bench_json_write(json_object *root, const char *file, char *err, size_t errlen);

/* "12.345" or "-" for NaN, into buf. */
const char *bench_fmt(double v, int decimals, char *buf, size_t len);

#endif
