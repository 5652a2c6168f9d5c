/* slim.c - parse an object's JSON text without its metadata.managedFields.
 *
 * managedFields is the bulk of a write response (about 40% of the bytes of
 * the recorded kube-apiserver objects, and many small nested objects), and
 * nothing the controller does with a write's returned object reads it (the
 * cache drops it too, store.h). A byte scan that only tracks strings and
 * bracket depth finds the member's span; the tokener is then fed the text
 * before and after it as two chunks, so the field is never built as json-c
 * objects. Anything unexpected (not an object, no such member, malformed
 * text) falls back to the whole-document parse, which also gives the usual
 * error text. */
#include "kube/internal.h"

#include <limits.h>
#include <string.h>

static size_t
skip_ws(const char *p, size_t n, size_t i)
{
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    return i;
}

/* p[i] is '"': the index after the closing quote, or n when unterminated. */
static size_t
skip_string(const char *p, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return n;
}

/* The index after the value starting at p[i] (n when cut short). */
static size_t
skip_value(const char *p, size_t n, size_t i)
{
    if (i >= n) return n;
    if (p[i] == '"') return skip_string(p, n, i);
    if (p[i] == '{' || p[i] == '[') {
        size_t depth = 0;
        while (i < n) {
            char ch = p[i];
            if (ch == '"') {
                i = skip_string(p, n, i);
                continue;
            }
            if (ch == '{' || ch == '[') depth++;
            if (ch == '}' || ch == ']') {
                if (--depth == 0) return i + 1;
            }
            i++;
        }
        return n;
    }
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\n' &&
           p[i] != '\r' && p[i] != '\t')
        i++;
    return i;
}

/* Walk the members of the object at p[i] ('{'). For the member whose raw key
 * text is key (quotes included), set *k (key start), *v (value start) and
 * *e (value end) and return 1. 0 when absent or malformed. */
static int
find_member(const char *p, size_t n, size_t i, const char *key, size_t klen, size_t *k, size_t *v,
            size_t *e)
{
    if (i >= n || p[i] != '{') return 0;
    i = skip_ws(p, n, i + 1);
    if (i < n && p[i] == '}') return 0;
    while (i < n) {
        if (p[i] != '"') return 0;
        size_t ks = i;
        i = skip_string(p, n, i);
        int match = i - ks == klen && memcmp(p + ks, key, klen) == 0;
        i = skip_ws(p, n, i);
        if (i >= n || p[i] != ':') return 0;
        size_t vs = skip_ws(p, n, i + 1);
        size_t ve = skip_value(p, n, vs);
        if (ve >= n || ve == vs) return 0;
        if (match) {
            *k = ks;
            *v = vs;
            *e = ve;
            return 1;
        }
        i = skip_ws(p, n, ve);
        if (i >= n || p[i] != ',') return 0;
        i = skip_ws(p, n, i + 1);
    }
    return 0;
}

/* The span [*from, *to) to drop: the managedFields member and one comma. */
static int
managed_span(const char *p, size_t n, size_t *from, size_t *to)
{
    size_t k, v, e, mk, mv, me;
    size_t i = skip_ws(p, n, 0);
    if (!find_member(p, n, i, "\"metadata\"", 10, &k, &v, &e)) return 0;
    if (!find_member(p, n, v, "\"managedFields\"", 15, &mk, &mv, &me)) return 0;
    size_t j = skip_ws(p, n, me);
    if (j < n && p[j] == ',') { /* a member follows: drop key..comma */
        *from = mk;
        *to = j + 1;
        return 1;
    }
    size_t b = mk; /* the last member: drop the comma before it, if any */
    while (b > 0 && (p[b - 1] == ' ' || p[b - 1] == '\n' || p[b - 1] == '\r' || p[b - 1] == '\t'))
        b--;
    if (b == 0) return 0;
    *from = p[b - 1] == ',' ? b - 1 : mk;
    *to = me;
    return 1;
}

json_object *
kube__json_parse_slim(json_tokener *tok, const char *buf, size_t len, const char **err)
{
    size_t from, to;
    if (len > INT_MAX || !managed_span(buf, len, &from, &to))
        return kube__json_parse_tok(tok, buf, len, err);
    json_tokener_reset(tok);
    json_object *o = json_tokener_parse_ex(tok, buf, (int)from);
    if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue)
        o = json_tokener_parse_ex(tok, buf + to, (int)(len - to));
    int ok = o != NULL && json_object_is_type(o, json_type_object);
    if (ok) /* nothing but whitespace after the document */
        ok = skip_ws(buf, len, to + (size_t)json_tokener_get_parse_end(tok)) == len;
    json_tokener_reset(tok);
    if (ok) return o;
    json_object_put(o);
    return kube__json_parse_tok(tok, buf, len, err); /* the usual result and error text */
}
