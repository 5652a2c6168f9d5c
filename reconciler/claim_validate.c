/* claim_validate.c - additionalPodMetadata validation (spec/api.md §2.4 a).
 * The reasons after "<section> "<k>": " reuse apimachinery's validation
 * texts for qualified names and label values, so users see familiar words. */
#include "reconciler/claim_policy.h"

#include "core/err.h"
#include "core/jx.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QNAME_FMT                                                                                  \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define DNS1123_FMT                                                                                \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define LABELVAL_FMT                                                                               \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static const char *const default_domains[] = {"sandbox.users.io"};

/* ---- allow-list --------------------------------------------------------- */

void
rec_domains_fini(rec_domains *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i]);
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

int
rec_domains_parse(rec_domains *d, const char *text)
{
    d->v = NULL;
    d->n = 0;
    const char *p = text ? text : "";
    while (*p) {
        size_t n = strcspn(p, ",\n");
        const char *s = p, *e = p + n;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        if (e > s) {
            char **v = realloc(d->v, (d->n + 1) * sizeof *v);
            char *x = v ? malloc((size_t)(e - s) + 1) : NULL;
            if (v) d->v = v;
            if (x == NULL) {
                rec_domains_fini(d);
                return ERR_NOMEM;
            }
            for (size_t i = 0; i < (size_t)(e - s); i++)
                x[i] = (char)tolower((unsigned char)s[i]);
            x[e - s] = '\0';
            d->v[d->n++] = x;
        }
        p += n;
        if (*p) p++;
    }
    return 0;
}

/* ---- syntax ---------------------------------------------------------------- */

static int
alnum(char c)
{
    return isalnum((unsigned char)c);
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static int
qname_part_ok(const char *s, size_t n)
{
    if (n == 0 || !alnum(s[0]) || !alnum(s[n - 1])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return 0;
    return 1;
}

static int
dns1123_subdomain_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253) return 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') continue;
        size_t len = i - start;
        if (len == 0 || len > 63) return 0;
        for (size_t j = start; j < i; j++) {
            char c = s[j];
            int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            if (!ok || ((j == start || j == i - 1) && c == '-')) return 0;
        }
        start = i + 1;
    }
    return 1;
}

/* IsQualifiedName: writes a reason and returns 0 when invalid. */
static int
qualified_name_ok(const char *key, char *why, size_t len)
{
    const char *slash = strchr(key, '/');
    const char *name = key;
    if (slash) {
        if (strchr(slash + 1, '/')) {
            snprintf(why, len,
                     "a qualified name " QNAME_FMT
                     " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
            return 0;
        }
        size_t pl = (size_t)(slash - key);
        if (pl == 0) {
            snprintf(why, len, "prefix part must be non-empty");
            return 0;
        }
        if (!dns1123_subdomain_ok(key, pl)) {
            snprintf(why, len, "prefix part " DNS1123_FMT);
            return 0;
        }
        name = slash + 1;
    }
    size_t nl = strlen(name);
    if (nl == 0) {
        snprintf(why, len, "name part must be non-empty");
        return 0;
    }
    if (nl > 63) {
        snprintf(why, len, "name part must be no more than 63 characters");
        return 0;
    }
    if (!qname_part_ok(name, nl)) {
        snprintf(why, len, "name part " QNAME_FMT);
        return 0;
    }
    return 1;
}

static int
label_value_ok(const char *v, char *why, size_t len)
{
    size_t n = strlen(v);
    if (n > 63) {
        snprintf(why, len, "must be no more than 63 characters");
        return 0;
    }
    if (n > 0 && !qname_part_ok(v, n)) {
        snprintf(why, len, LABELVAL_FMT);
        return 0;
    }
    return 1;
}

/* prefix equals d or is a subdomain of it */
static int
in_domain(const char *prefix, size_t pl, const char *d)
{
    size_t dl = strlen(d);
    if (pl == dl) return strncasecmp(prefix, d, dl) == 0;
    return pl > dl && prefix[pl - dl - 1] == '.' && strncasecmp(prefix + pl - dl, d, dl) == 0;
}

static void
domains_text(const rec_domains *d, char *buf, size_t len)
{
    const char *const *v = d && d->n ? (const char *const *)d->v : default_domains;
    size_t n = d && d->n ? d->n : 1, off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", v[i]);
}

static int
label_ok(const char *k, const char *v, const rec_domains *d, char *why, size_t len)
{
    char list[512];
    if (!qualified_name_ok(k, why, len)) return 0;
    if (strcmp(k, "app") == 0 && strcasecmp(v, "sandbox-router") == 0) {
        snprintf(why, len, "the label app=%s is reserved for the sandbox router", v);
        return 0;
    }
    const char *slash = strchr(k, '/');
    domains_text(d, list, sizeof list);
    if (slash == NULL) {
        snprintf(why, len, "label key must have a prefix in one of the allowed domains [%s]", list);
        return 0;
    }
    size_t pl = (size_t)(slash - k);
    const char *const *dv = d && d->n ? (const char *const *)d->v : default_domains;
    size_t dn = d && d->n ? d->n : 1;
    int ok = 0;
    for (size_t i = 0; i < dn && !ok; i++)
        ok = in_domain(k, pl, dv[i]);
    if (!ok) {
        snprintf(why, len, "label prefix \"%.*s\" is not in the allowed domains [%s]", (int)pl, k,
                 list);
        return 0;
    }
    return label_value_ok(v, why, len);
}

static int
annotation_ok(const char *k, char *why, size_t len)
{
    static const char *const reserved[] = {"kubernetes.io", "k8s.io", "agents.x-k8s.io"};
    if (!qualified_name_ok(k, why, len)) return 0;
    const char *slash = strchr(k, '/');
    if (slash == NULL || strcmp(k, "cluster-autoscaler.kubernetes.io/safe-to-evict") == 0) return 1;
    size_t pl = (size_t)(slash - k);
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (in_domain(k, pl, reserved[i])) {
            snprintf(why, len, "annotation prefix \"%.*s\" is reserved", (int)pl, k);
            return 0;
        }
    return 1;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted keys of a map (borrowed strings); *n set. NULL with n 0 if none. */
static const char **
sorted_keys(json_object *map, size_t *n)
{
    *n = 0;
    if (map == NULL || !json_object_is_type(map, json_type_object)) return NULL;
    size_t cap = (size_t)json_object_object_length(map);
    const char **k = cap ? malloc(cap * sizeof *k) : NULL;
    if (k == NULL) return NULL;
    json_object_object_foreach(map, key, val)
    {
        (void)val;
        k[(*n)++] = key;
    }
    qsort(k, *n, sizeof *k, cmp_str);
    return k;
}

int
rec_claim_validate_metadata(json_object *apm, const rec_domains *domains, char *err, size_t errlen)
{
    static const char *const sections[] = {"labels", "annotations"};
    char why[1024];
    for (int s = 0; s < 2; s++) {
        json_object *map = jx_child(apm, sections[s]);
        size_t n;
        const char **keys = sorted_keys(map, &n);
        for (size_t i = 0; i < n; i++) {
            json_object *v = jx_child(map, keys[i]);
            const char *sv =
                json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
            int ok = s == 0 ? label_ok(keys[i], sv, domains, why, sizeof why)
                            : annotation_ok(keys[i], why, sizeof why);
            if (!ok) {
                snprintf(err, errlen,
                         "invalid additionalPodMetadata: failed to validate %s \"%s\": %s",
                         s == 0 ? "label" : "annotation", keys[i], why);
                free(keys);
                return ERR_INVALID;
            }
        }
        free(keys);
    }
    return 0;
}
