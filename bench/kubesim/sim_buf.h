/* sim_buf.h - growable byte buffer used to build responses and stream output.
 *
 * A sim_buf owns its bytes (free with sim_buf_free). Appends never fail
 * silently: on allocation failure the buffer is marked failed (oom=1) and
 * further appends are ignored, so callers check once at the end. */
#ifndef ASC_SIM_BUF_H
#define ASC_SIM_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct sim_buf {
    char *data;
    size_t len, cap;
    size_t off; /* consumed prefix (output buffers) */
    int oom;
} sim_buf;

void sim_buf_append(sim_buf *b, const void *p, size_t n);
/* Room for n more bytes (and the NUL) so the next appends do not grow the
 * buffer: 0, or -1 when out of memory (the buffer is then failed). */
int sim_buf_reserve(sim_buf *b, size_t n);
void sim_buf_puts(sim_buf *b, const char *s);
void sim_buf_printf(sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append v in decimal / lower-case hexadecimal without printf (per-request and
 * per-event paths: response heads, chunk sizes, metric keys). */
void sim_buf_dec(sim_buf *b, long long v);
void sim_buf_hex(sim_buf *b, unsigned long long v);
/* The same digits into out (at least 21 bytes; hex: 17), NUL-terminated; returns
 * the length. For fixed buffers that are not sim_bufs. */
size_t sim_fmt_dec(char *out, long long v);
size_t sim_fmt_hex(char *out, unsigned long long v);
/* Append s as a JSON string literal (quotes included). */
void sim_buf_json_str(sim_buf *b, const char *s);
/* Drop the consumed prefix when it is large, keeping the buffer compact. */
void sim_buf_compact(sim_buf *b);
/* Steal the NUL-terminated contents (caller frees); the buffer becomes empty. */
char *sim_buf_take(sim_buf *b, size_t *len);
void sim_buf_free(sim_buf *b);

#endif
