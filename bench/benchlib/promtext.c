/* promtext.c - a small parser of the Prometheus text format (see promtext.h).
 * Each line is copied into a scratch buffer where label values are
 * unescaped in place, so samples hand out plain C strings. */
#include "bench/benchlib/promtext.h"

#include <stdlib.h>
#include <string.h>

static int
is_name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Parse one NUL-terminated line in place into s. 0, or -1 when malformed. */
static int
parse_line(char *p, bench_prom_sample *s)
{
    s->nlabels = 0;
    s->name = p;
    if (!is_name_char(*p, 1)) return -1;
    while (is_name_char(*p, 0))
        p++;
    char *name_end = p;
    if (*p == '{') {
        *name_end = '\0';
        p++;
        for (;;) {
            while (*p == ' ' || *p == ',')
                p++;
            if (*p == '}') {
                p++;
                break;
            }
            if (!is_name_char(*p, 1) || s->nlabels == BENCH_PROM_MAX_LABELS) return -1;
            char *k = p;
            while (is_name_char(*p, 0))
                p++;
            if (*p != '=') return -1;
            *p++ = '\0';
            if (*p != '"') return -1;
            p++;
            char *v = p, *w = p;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) {
                    p++;
                    *w++ = *p == 'n' ? '\n' : *p;
                    p++;
                } else {
                    *w++ = *p++;
                }
            }
            if (*p != '"') return -1;
            p++;
            *w = '\0';
            s->key[s->nlabels] = k;
            s->val[s->nlabels] = v;
            s->nlabels++;
        }
    } else if (*p == ' ' || *p == '\t') {
        *p++ = '\0';
    } else {
        return -1;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0') return -1;
    char *end = NULL;
    s->value = strtod(p, &end); /* also reads the +Inf, -Inf and NaN spellings */
    if (end == p) return -1;
    *name_end = '\0';
    return 0;
}

size_t
bench_prom_each(const char *text, size_t len, const char *name, bench_prom_cb cb, void *ud)
{
    size_t count = 0, cap = 0;
    char *buf = NULL;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - i;
        const char *line = text + i;
        i = end + 1;
        if (n == 0 || line[0] == '#') continue;
        if (name) {
            size_t nl2 = strlen(name);
            if (n <= nl2 || strncmp(line, name, nl2) || is_name_char(line[nl2], 0)) continue;
        }
        if (n + 1 > cap) {
            char *nb = realloc(buf, n + 1);
            if (nb == NULL) break;
            buf = nb;
            cap = n + 1;
        }
        memcpy(buf, line, n);
        buf[n] = '\0';
        if (n > 0 && buf[n - 1] == '\r') buf[n - 1] = '\0';
        bench_prom_sample s;
        if (parse_line(buf, &s) != 0) continue;
        if (name && strcmp(s.name, name)) continue;
        cb(&s, ud);
        count++;
    }
    free(buf);
    return count;
}

const char *
bench_prom_label(const bench_prom_sample *s, const char *key)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->key[i], key) == 0) return s->val[i];
    return NULL;
}

/* "a|b|c" contains v as one whole alternative. */
static int
alt_match(const char *alts, size_t alen, const char *v)
{
    size_t vl = strlen(v);
    const char *p = alts, *end = alts + alen;
    while (p <= end) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        size_t n = bar ? (size_t)(bar - p) : (size_t)(end - p);
        if (n == vl && strncmp(p, v, n) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

typedef struct {
    const char *const *match;
    double sum;
} sum_ctx;

static void
sum_cb(const bench_prom_sample *s, void *ud)
{
    sum_ctx *c = ud;
    for (size_t i = 0; c->match && c->match[i]; i++) {
        const char *eq = strchr(c->match[i], '=');
        if (eq == NULL) return;
        size_t kl = (size_t)(eq - c->match[i]);
        const char *v = NULL;
        for (size_t j = 0; j < s->nlabels; j++)
            if (strlen(s->key[j]) == kl && strncmp(s->key[j], c->match[i], kl) == 0) v = s->val[j];
        if (v == NULL || !alt_match(eq + 1, strlen(eq + 1), v)) return;
    }
    c->sum += s->value;
}

double
bench_prom_sum(const char *text, size_t len, const char *name, const char *const *match)
{
    sum_ctx c = {match, 0.0};
    bench_prom_each(text, len, name, sum_cb, &c);
    return c.sum;
}
