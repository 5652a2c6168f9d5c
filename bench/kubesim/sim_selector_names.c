/* sim_selector_names.c - label key and value syntax (qualified names, DNS
 * subdomain prefixes), checked by hand rather than by regex since every
 * selector requirement goes through here. Detail texts are the real
 * server's. */
#include "bench/kubesim/sim_selector_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define QNAME_MSG                                                                                  \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define SUBDOMAIN_MSG                                                                              \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define LABELVALUE_MSG                                                                             \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

void
sim__errf_sel(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n) */
static int
qname_ok(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1])) return 0;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return 0;
    return 1;
}

static int
lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 subdomain: dot-separated labels [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static int
subdomain_ok(const char *s, size_t n)
{
    size_t start = 0;

    if (n == 0) return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') continue;
        size_t l = i - start;
        if (l == 0 || !lower_alnum(s[start]) || !lower_alnum(s[i - 1])) return 0;
        for (size_t k = start; k < i; k++)
            if (!lower_alnum(s[k]) && s[k] != '-') return 0;
        start = i + 1;
    }
    return 1;
}

int
sim__label_key_check(const char *key, char *detail, size_t len)
{
    const char *slash = strchr(key, '/'), *name = key;

    if (slash != NULL) {
        if (strchr(slash + 1, '/') != NULL) {
            snprintf(detail, len,
                     "a qualified name " QNAME_MSG
                     " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
            return -1;
        }
        size_t pl = (size_t)(slash - key);
        if (pl == 0) {
            snprintf(detail, len, "prefix part must be non-empty");
            return -1;
        }
        if (pl > 253) {
            snprintf(detail, len, "prefix part must be no more than 253 characters");
            return -1;
        }
        if (!subdomain_ok(key, pl)) {
            snprintf(detail, len, "prefix part " SUBDOMAIN_MSG);
            return -1;
        }
        name = slash + 1;
    }
    size_t nl = strlen(name);
    if (nl == 0) {
        snprintf(detail, len, "name part must be non-empty");
        return -1;
    }
    if (nl > 63) {
        snprintf(detail, len, "name part must be no more than 63 characters");
        return -1;
    }
    if (!qname_ok(name, nl)) {
        snprintf(detail, len, "name part " QNAME_MSG);
        return -1;
    }
    return 0;
}

int
sim__label_value_check(const char *val, char *detail, size_t len)
{
    size_t n = strlen(val);

    if (n > 63) {
        snprintf(detail, len, "must be no more than 63 characters");
        return -1;
    }
    if (n > 0 && !qname_ok(val, n)) {
        snprintf(detail, len, LABELVALUE_MSG);
        return -1;
    }
    return 0;
}
