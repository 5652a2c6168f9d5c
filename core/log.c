/* log.c - see log.h. The field format is parsed here, one conversion at a
 * time, so values become typed JSON (numbers stay numbers, strings are
 * escaped) without the caller building JSON by hand. */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static FILE *log_sink;
static int log_max = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warning", "info", "debug", "trace"};

void
log_setup(FILE *sink, int max_level)
{
    log_sink = sink;
    log_max = max_level;
}

int
log_level(void)
{
    return log_max;
}

int
log_level_parse(const char *s)
{
    if (s == NULL || *s == '\0') return -1;
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, level_names[i]) == 0) return i;
    if (strcasecmp(s, "warn") == 0) return LOG_WARN;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || v > 9) return -1;
    /* klog: 0 is info; anything above is debug or chattier. */
    return v == 0 ? LOG_INFO : (v < 4 ? LOG_DEBUG : LOG_TRACE);
}

typedef struct {
    char *buf;
    size_t len, cap;
} sbuf;

static void
sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (nb == NULL) return; /* drop the tail rather than crash */
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void
sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void
sb_json_str(sbuf *b, const char *s)
{
    if (s == NULL) {
        sb_str(b, "null");
        return;
    }
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            sb_put(b, "\\\"", 2);
            break;
        case '\\':
            sb_put(b, "\\\\", 2);
            break;
        case '\n':
            sb_put(b, "\\n", 2);
            break;
        case '\r':
            sb_put(b, "\\r", 2);
            break;
        case '\t':
            sb_put(b, "\\t", 2);
            break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                sb_str(b, esc);
            } else {
                sb_put(b, (const char *)p, 1);
            }
        }
    }
    sb_put(b, "\"", 1);
}

/* Emit fields described by fmt ("k=%s k2=%d"). Unknown conversions end the
 * field list: a bad format must never read past the arguments given. */
static void
emit_fields(sbuf *b, const char *fmt, va_list ap)
{
    const char *p = fmt;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *key = p;
        while (*p && *p != '=')
            p++;
        if (*p != '=' || p == key) return;
        size_t klen = (size_t)(p - key);
        p++;
        if (*p != '%') return;
        p++;
        char num[64];
        int is_num = 1;
        const char *sval = NULL;
        if (*p == 's') {
            sval = va_arg(ap, const char *);
            is_num = 0;
            p++;
        } else if (*p == 'd' || *p == 'i') {
            snprintf(num, sizeof num, "%d", va_arg(ap, int));
            p++;
        } else if (*p == 'u') {
            snprintf(num, sizeof num, "%u", va_arg(ap, unsigned));
            p++;
        } else if (*p == 'x') {
            snprintf(num, sizeof num, "\"%x\"", va_arg(ap, unsigned));
            p++;
        } else if (*p == 'z' && p[1] == 'u') {
            snprintf(num, sizeof num, "%zu", va_arg(ap, size_t));
            p += 2;
        } else if (*p == 'l' && p[1] == 'l' && (p[2] == 'd' || p[2] == 'u')) {
            if (p[2] == 'd')
                snprintf(num, sizeof num, "%lld", va_arg(ap, long long));
            else
                snprintf(num, sizeof num, "%llu", va_arg(ap, unsigned long long));
            p += 3;
        } else if (*p == 'l' && (p[1] == 'd' || p[1] == 'u')) {
            if (p[1] == 'd')
                snprintf(num, sizeof num, "%ld", va_arg(ap, long));
            else
                snprintf(num, sizeof num, "%lu", va_arg(ap, unsigned long));
            p += 2;
        } else if (*p == 'g' || *p == 'f') {
            double d = va_arg(ap, double);
            snprintf(num, sizeof num, *p == 'g' ? "%g" : "%f", d);
            p++;
        } else if (*p == '.' && p[1] >= '0' && p[1] <= '9' && p[2] == 'f') {
            char f[8] = {'%', '.', p[1], 'f', 0};
            snprintf(num, sizeof num, f, va_arg(ap, double));
            p += 3;
        } else {
            return;
        }
        sb_put(b, ",\"", 2);
        sb_put(b, key, klen);
        sb_put(b, "\":", 2);
        if (is_num)
            sb_str(b, num);
        else
            sb_json_str(b, sval);
    }
}

void
log_emit(int level, const char *mod, const char *msg, const char *fields, ...)
{
    if (level > log_max) return;
    if (level < 0) level = 0;
    if (level > LOG_TRACE) level = LOG_TRACE;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char tbuf[64];
    size_t n = strftime(tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(tbuf + n, sizeof tbuf - n, ".%06ldZ", ts.tv_nsec / 1000);

    sbuf b = {0};
    sb_str(&b, "{\"ts\":\"");
    sb_str(&b, tbuf);
    sb_str(&b, "\",\"level\":\"");
    sb_str(&b, level_names[level]);
    sb_str(&b, "\",\"mod\":");
    sb_json_str(&b, mod);
    sb_str(&b, ",\"msg\":");
    sb_json_str(&b, msg);
    if (fields && *fields) { /* a leading space is the macros' empty default */
        va_list ap;
        va_start(ap, fields);
        emit_fields(&b, fields, ap);
        va_end(ap);
    }
    sb_str(&b, "}\n");
    if (b.buf) {
        FILE *out = log_sink ? log_sink : stderr;
        pthread_mutex_lock(&log_lock);
        fwrite(b.buf, 1, b.len, out);
        fflush(out);
        pthread_mutex_unlock(&log_lock);
        free(b.buf);
    }
}
