/* sim_buf.c - growable byte buffer (see sim_buf.h). */
#include "bench/kubesim/sim_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
reserve(sim_buf *b, size_t n)
{
    if (b->oom) return -1;
    if (b->len + n + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

int
sim_buf_reserve(sim_buf *b, size_t n)
{
    return reserve(b, n);
}

void
sim_buf_append(sim_buf *b, const void *p, size_t n)
{
    if (reserve(b, n) != 0) return;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
sim_buf_puts(sim_buf *b, const char *s)
{
    sim_buf_append(b, s, strlen(s));
}

void
sim_buf_printf(sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        sim_buf_append(b, tmp, (size_t)n);
        return;
    }
    if (reserve(b, (size_t)n) != 0) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

size_t
sim_fmt_dec(char *out, long long v)
{
    char tmp[24];
    size_t n = 0;
    /* negate in unsigned arithmetic: LLONG_MIN has no positive counterpart */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

size_t
sim_fmt_hex(char *out, unsigned long long v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = digits[v & 15];
        v >>= 4;
    } while (v);
    size_t len = 0;
    while (n)
        out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

void
sim_buf_dec(sim_buf *b, long long v)
{
    char tmp[24];
    sim_buf_append(b, tmp, sim_fmt_dec(tmp, v));
}

void
sim_buf_hex(sim_buf *b, unsigned long long v)
{
    char tmp[24];
    sim_buf_append(b, tmp, sim_fmt_hex(tmp, v));
}

void
sim_buf_json_str(sim_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    sim_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sim_buf_append(b, e, 2);
        } else if (c == '\n') {
            sim_buf_append(b, "\\n", 2);
        } else if (c == '\t') {
            sim_buf_append(b, "\\t", 2);
        } else if (c == '\r') {
            sim_buf_append(b, "\\r", 2);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sim_buf_append(b, e, 6);
        } else {
            sim_buf_append(b, p, 1);
        }
    }
    sim_buf_append(b, "\"", 1);
}

void
sim_buf_compact(sim_buf *b)
{
    if (b->off == 0) return;
    if (b->off >= b->len) {
        b->len = b->off = 0;
        if (b->data) b->data[0] = '\0';
        return;
    }
    if (b->off > 65536 && b->off * 2 > b->len) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        b->data[b->len] = '\0';
    }
}

char *
sim_buf_take(sim_buf *b, size_t *len)
{
    if (!b->data) sim_buf_append(b, "", 0);
    char *d = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = b->off = 0;
    return d;
}

void
sim_buf_free(sim_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = b->off = 0;
}
