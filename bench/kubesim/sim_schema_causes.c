/* sim_schema_causes.c - metav1.StatusCause lists and the 422 Invalid Status.
 *
 * Texts follow k8s.io/apimachinery field.Error as kube-apiserver prints
 * them: "<Type>: <value>: <detail>" where the value is shown the way Go's
 * fmt shows it (strings quoted, numbers bare). The aggregated message drops
 * duplicate cause texts and wraps two or more in brackets (golden
 * pod-status: the uid cause is listed twice, the message names it once). */
#include "bench/kubesim/sim_schema.h"
#include "bench/kubesim/sim_patch_internal.h"

#include "core/err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sim_causes_init(sim_causes *c)
{
    memset(c, 0, sizeof *c);
}

void
sim_causes_fini(sim_causes *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].message);
        free(c->v[i].field);
    }
    free(c->v);
    memset(c, 0, sizeof *c);
}

static int
causes_vadd(sim_causes *c, const char *reason, const char *field, const char *fmt, va_list ap)
{
    char *msg = NULL, *fld;

    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4;
        sim_cause *nv = realloc(c->v, nc * sizeof *nv);
        if (nv == NULL) goto nomem;
        c->v = nv;
        c->cap = nc;
    }
    if (vasprintf(&msg, fmt, ap) < 0) goto nomem;
    fld = strdup(field ? field : "");
    if (fld == NULL) {
        free(msg);
        goto nomem;
    }
    c->v[c->n].reason = reason;
    c->v[c->n].message = msg;
    c->v[c->n].field = fld;
    c->n++;
    return 0;
nomem:
    c->nomem = 1;
    return ERR_NOMEM;
}

int
sim_causes_add(sim_causes *c, const char *reason, const char *field, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = causes_vadd(c, reason, field, fmt, ap);
    va_end(ap);
    return rc;
}

/* Go %q of a string (the common escapes; other bytes pass through). */
static size_t
go_quote(const char *s, char *buf, size_t len)
{
    size_t o = 0;

#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 < len) buf[o] = (ch);                                                            \
        o++;                                                                                       \
    } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
        case '\\':
            PUT('\\');
            PUT((char)*p);
            break;
        case '\n':
            PUT('\\');
            PUT('n');
            break;
        case '\t':
            PUT('\\');
            PUT('t');
            break;
        case '\r':
            PUT('\\');
            PUT('r');
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                char hex[8];
                snprintf(hex, sizeof hex, "\\x%02x", *p);
                for (char *h = hex; *h; h++)
                    PUT(*h);
            } else {
                PUT((char)*p);
            }
        }
    }
    PUT('"');
#undef PUT
    if (len > 0) buf[o < len ? o : len - 1] = '\0';
    return o;
}

static int
cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
put_str(char *buf, size_t len, size_t *o, const char *s)
{
    for (; *s; s++, (*o)++)
        if (*o + 1 < len) buf[*o] = *s;
}

/* Go's %#v of an unstructured value: maps with sorted keys as
 * map[string]interface {}{"k":v, ...}, slices as []interface {}{v, ...},
 * strings quoted, numbers and booleans bare, null as interface {}(nil). */
static void
go_sharp_v(json_object *v, char *buf, size_t len, size_t *o, int depth)
{
    char tmp[64];

    if (depth > 16) {
        put_str(buf, len, o, "...");
        return;
    }
    switch (v ? json_object_get_type(v) : json_type_null) {
    case json_type_null:
        put_str(buf, len, o, "interface {}(nil)");
        return;
    case json_type_string: {
        const char *s = json_object_get_string(v);
        size_t need = 2 * strlen(s) + 8;
        char *q = malloc(need);
        if (q == NULL) return;
        go_quote(s, q, need);
        put_str(buf, len, o, q);
        free(q);
        return;
    }
    case json_type_array:
        put_str(buf, len, o, "[]interface {}{");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (i) put_str(buf, len, o, ", ");
            go_sharp_v(json_object_array_get_idx(v, i), buf, len, o, depth + 1);
        }
        put_str(buf, len, o, "}");
        return;
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(v), k = 0;
        const char **keys = calloc(n + 1, sizeof *keys);
        if (keys == NULL) return;
        json_object_object_foreach(v, key, val)
        {
            (void)val;
            keys[k++] = key;
        }
        qsort(keys, k, sizeof *keys, cmp_key);
        put_str(buf, len, o, "map[string]interface {}{");
        for (size_t i = 0; i < k; i++) {
            char *q = malloc(2 * strlen(keys[i]) + 8);
            if (q == NULL) break;
            go_quote(keys[i], q, 2 * strlen(keys[i]) + 8);
            if (i) put_str(buf, len, o, ", ");
            put_str(buf, len, o, q);
            put_str(buf, len, o, ":");
            free(q);
            go_sharp_v(json_object_object_get(v, keys[i]), buf, len, o, depth + 1);
        }
        put_str(buf, len, o, "}");
        free(keys);
        return;
    }
    default:
        snprintf(tmp, sizeof tmp, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        put_str(buf, len, o, tmp);
    }
}

const char *
sim_value_text(json_object *value, char *buf, size_t len)
{
    if (len == 0) return buf;
    switch (value ? json_object_get_type(value) : json_type_null) {
    case json_type_null:
        snprintf(buf, len, "null");
        break;
    case json_type_string:
        go_quote(json_object_get_string(value), buf, len);
        break;
    case json_type_boolean:
        snprintf(buf, len, "%s", json_object_get_boolean(value) ? "true" : "false");
        break;
    case json_type_int:
    case json_type_double:
        snprintf(buf, len, "%s", json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
        break;
    case json_type_object:
    case json_type_array: {
        size_t o = 0;
        go_sharp_v(value, buf, len, &o, 0);
        buf[o < len ? o : len - 1] = '\0';
        break;
    }
    }
    return buf;
}

int
sim_causes_invalid(sim_causes *c, const char *field, json_object *value, const char *detail)
{
    char vb[512];

    sim_value_text(value, vb, sizeof vb);
    if (detail != NULL && detail[0] != '\0')
        return sim_causes_add(c, SIM_CAUSE_INVALID, field, "Invalid value: %s: %s", vb, detail);
    return sim_causes_add(c, SIM_CAUSE_INVALID, field, "Invalid value: %s", vb);
}

int
sim_causes_type_invalid(sim_causes *c, const char *field, json_object *value, const char *detail)
{
    char vb[512];

    sim_value_text(value, vb, sizeof vb);
    if (detail != NULL && detail[0] != '\0')
        return sim_causes_add(c, SIM_CAUSE_TYPE_INVALID, field, "Invalid value: %s: %s", vb,
                              detail);
    return sim_causes_add(c, SIM_CAUSE_TYPE_INVALID, field, "Invalid value: %s", vb);
}

int
sim_causes_required(sim_causes *c, const char *field, const char *detail)
{
    if (detail != NULL && detail[0] != '\0')
        return sim_causes_add(c, SIM_CAUSE_REQUIRED, field, "Required value: %s", detail);
    return sim_causes_add(c, SIM_CAUSE_REQUIRED, field, "Required value");
}

int
sim_causes_not_supported(sim_causes *c, const char *field, json_object *value,
                         const char *const *supported, size_t nsupported)
{
    char vb[512];
    size_t cap = 64, off;
    char *list;
    int rc;

    for (size_t i = 0; i < nsupported; i++)
        cap += 2 * strlen(supported[i]) + 6;
    list = malloc(cap);
    if (list == NULL) {
        c->nomem = 1;
        return ERR_NOMEM;
    }
    off = 0;
    list[0] = '\0';
    for (size_t i = 0; i < nsupported; i++) {
        if (i) {
            memcpy(list + off, ", ", 3);
            off += 2;
        }
        off += go_quote(supported[i], list + off, cap - off);
    }
    sim_value_text(value, vb, sizeof vb);
    if (nsupported > 0)
        rc = sim_causes_add(c, SIM_CAUSE_NOT_SUPPORTED, field,
                            "Unsupported value: %s: supported values: %s", vb, list);
    else
        rc = sim_causes_add(c, SIM_CAUSE_NOT_SUPPORTED, field, "Unsupported value: %s", vb);
    free(list);
    return rc;
}

int
sim_causes_forbidden(sim_causes *c, const char *field, const char *detail)
{
    if (detail != NULL && detail[0] != '\0')
        return sim_causes_add(c, SIM_CAUSE_FORBIDDEN, field, "Forbidden: %s", detail);
    return sim_causes_add(c, SIM_CAUSE_FORBIDDEN, field, "Forbidden");
}

int
sim_causes_duplicate(sim_causes *c, const char *field, json_object *value)
{
    char vb[512];

    sim_value_text(value, vb, sizeof vb);
    return sim_causes_add(c, SIM_CAUSE_DUPLICATE, field, "Duplicate value: %s", vb);
}

int
sim_causes_too_long(sim_causes *c, const char *field, long long max)
{
    return sim_causes_add(c, SIM_CAUSE_TOO_LONG, field, "Too long: may not be more than %lld bytes",
                          max);
}

int
sim_causes_too_many(sim_causes *c, const char *field, long long n, long long max)
{
    return sim_causes_add(c, SIM_CAUSE_TOO_MANY, field,
                          "Too many: %lld: must have at most %lld items", n, max);
}

static uint64_t
hash_text(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* "<field>: <message>" as field.Error.Error() prints a cause. */
static char *
cause_text(const sim_cause *k)
{
    char *s = NULL;

    if (k->field[0] == '\0') return strdup(k->message);
    if (asprintf(&s, "%s: %s", k->field, k->message) < 0) return NULL;
    return s;
}

char *
sim_causes_message(const sim_causes *c, const char *kind, const char *group, const char *name)
{
    char **texts = NULL, *out = NULL, *head = NULL;
    size_t nt = 0, total = 0;
    sim__hidx seen = {0};

    if (group != NULL && group[0] != '\0') {
        if (asprintf(&head, "%s.%s \"%s\" is invalid", kind, group, name ? name : "") < 0)
            return NULL;
    } else if (asprintf(&head, "%s \"%s\" is invalid", kind, name ? name : "") < 0) {
        return NULL;
    }
    if (c == NULL || c->n == 0) return head;
    texts = calloc(c->n, sizeof *texts);
    if (texts == NULL || sim__hidx_init(&seen, c->n) != 0) goto done;
    for (size_t i = 0; i < c->n; i++) {
        char *t = cause_text(&c->v[i]);
        if (t == NULL) goto done;
        /* duplicates (a cause listed twice) are named once, as Go's
         * aggregate does; hashed so thousands of causes stay cheap */
        uint64_t h = hash_text(t);
        size_t cur = SIZE_MAX, k;
        int dup = 0;
        while (!dup && (k = sim__hidx_find(&seen, h, &cur)) != SIZE_MAX)
            dup = strcmp(texts[k], t) == 0;
        if (dup) {
            free(t);
            continue;
        }
        if (sim__hidx_add(&seen, h, nt) != 0) {
            free(t);
            goto done;
        }
        texts[nt++] = t;
        total += strlen(t) + 2;
    }
    out = malloc(strlen(head) + total + 8);
    if (out == NULL) goto done;
    size_t off = (size_t)sprintf(out, "%s: %s", head, nt > 1 ? "[" : "");
    for (size_t k = 0; k < nt; k++)
        off += (size_t)sprintf(out + off, "%s%s", k ? ", " : "", texts[k]);
    if (nt > 1) sprintf(out + off, "]");
done:
    for (size_t k = 0; k < nt; k++)
        free(texts[k]);
    sim__hidx_fini(&seen);
    free(texts);
    free(head);
    return out;
}

json_object *
sim_causes_status(const sim_causes *c, const char *kind, const char *group, const char *name)
{
    char *msg = sim_causes_message(c, kind, group, name);
    json_object *st = json_object_new_object(), *details = json_object_new_object();
    json_object *causes = json_object_new_array();

    if (msg == NULL || st == NULL || details == NULL || causes == NULL) goto fail;
    json_object_object_add(st, "kind", json_object_new_string("Status"));
    json_object_object_add(st, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(st, "metadata", json_object_new_object());
    json_object_object_add(st, "status", json_object_new_string("Failure"));
    json_object_object_add(st, "message", json_object_new_string(msg));
    json_object_object_add(st, "reason", json_object_new_string("Invalid"));
    json_object_object_add(details, "name", json_object_new_string(name ? name : ""));
    if (group != NULL && group[0] != '\0')
        json_object_object_add(details, "group", json_object_new_string(group));
    json_object_object_add(details, "kind", json_object_new_string(kind));
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        json_object *k = json_object_new_object();
        if (k == NULL) goto fail;
        json_object_object_add(k, "reason", json_object_new_string(c->v[i].reason));
        json_object_object_add(k, "message", json_object_new_string(c->v[i].message));
        json_object_object_add(k, "field", json_object_new_string(c->v[i].field));
        json_object_array_add(causes, k);
    }
    json_object_object_add(details, "causes", causes);
    causes = NULL;
    json_object_object_add(st, "details", details);
    details = NULL;
    json_object_object_add(st, "code", json_object_new_int(422));
    free(msg);
    return st;
fail:
    free(msg);
    json_object_put(st);
    json_object_put(details);
    json_object_put(causes);
    return NULL;
}
