/* log.h - structured logs: one JSON object per line on stderr (or a chosen FILE).
 *
 * Fixed keys first (ts, level, mod, msg), then the fields named by a small
 * format: "key=%s key2=%d ..." where each conversion is one of
 * %s (JSON-escaped string, NULL prints null), %d %ld %lld %u %lu %llu %zu %x %g %f.
 * Levels follow klog: error, warning, info, and verbosity 1..9 for debug.
 * Thread-safe: each line is written with one fwrite under a lock.
 * Never log tokens or Secret data.
 */
#ifndef ASC_CORE_LOG_H
#define ASC_CORE_LOG_H

#include <stdio.h>

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3, LOG_TRACE = 4 };

/* Set the sink and the most verbose level printed (default: stderr, LOG_INFO). */
void log_setup(FILE *sink, int max_level);
int log_level(void);
/* Parse "error|warn|info|debug|trace" or a number 0..9 (klog -v style). -1 if unknown. */
int log_level_parse(const char *s);

void log_emit(int level, const char *mod, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 4, 5)));

#define LOG_E(mod, msg, ...) log_emit(LOG_ERROR, mod, msg, " " __VA_ARGS__)
#define LOG_W(mod, msg, ...) log_emit(LOG_WARN, mod, msg, " " __VA_ARGS__)
#define LOG_I(mod, msg, ...) log_emit(LOG_INFO, mod, msg, " " __VA_ARGS__)
#define LOG_D(mod, msg, ...)                                                                       \
    do {                                                                                           \
        if (log_level() >= LOG_DEBUG) log_emit(LOG_DEBUG, mod, msg, " " __VA_ARGS__);              \
    } while (0)

#endif
