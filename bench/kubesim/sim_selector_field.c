/* sim_selector_field.c - field selectors ("metadata.name=x,spec.nodeName!=").
 *
 * Terms are split on unescaped commas; in each term the first operator
 * (checked as "!=", then "==", then "=") separates the field path from the
 * value, whose escapes (\\ \, \=) are decoded. Every field must be one the
 * resource supports, else the real server's "field label not supported". */
#include "bench/kubesim/sim_selector.h"
#include "bench/kubesim/sim_selector_internal.h"

#include "core/err.h"
#include "core/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_fsel {
    sim_sel_req *reqs;
    size_t n;
};

static const char *const default_fields[] = {"metadata.name", "metadata.namespace", NULL};

static int
field_allowed(const char *const *allowed, const char *f)
{
    if (allowed == NULL) allowed = default_fields;
    for (; *allowed != NULL; allowed++)
        if (strcmp(*allowed, f) == 0) return 1;
    return 0;
}

/* Decode the escapes of a value. Returns a malloc'd string or NULL with
 * *bad set (1: bad escape or unescaped '=' / ','; 0: out of memory). */
static char *
unescape(const char *s, size_t n, int *bad)
{
    char *out = malloc(n + 1);
    size_t w = 0;

    *bad = 0;
    if (out == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            if (i + 1 >= n || (s[i + 1] != '\\' && s[i + 1] != ',' && s[i + 1] != '=')) {
                free(out);
                *bad = 1;
                return NULL;
            }
            c = s[++i];
        } else if (c == '=' || c == ',') {
            free(out);
            *bad = 1;
            return NULL;
        }
        out[w++] = c;
    }
    out[w] = '\0';
    return out;
}

static void
fsel_clear(sim_fsel *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free((char *)fs->reqs[i].key);
        if (fs->reqs[i].values != NULL) free((char *)fs->reqs[i].values[0]);
        free((void *)fs->reqs[i].values);
    }
    free(fs->reqs);
}

static int
add_term(sim_fsel *fs, const char *text, const char *t, size_t n, const char *const *allowed,
         char *err, size_t errlen)
{
    size_t i, oplen = 0;
    sim_sel_op op = SIM_SEL_EQ;
    int bad;

    for (i = 0; i < n; i++) {
        if (t[i] == '\\') {
            i++;
            continue;
        }
        if (t[i] == '!' && i + 1 < n && t[i + 1] == '=') {
            op = SIM_SEL_NEQ;
            oplen = 2;
            break;
        }
        if (t[i] == '=') {
            oplen = (i + 1 < n && t[i + 1] == '=') ? 2 : 1;
            break;
        }
    }
    if (oplen == 0) {
        sim__errf_sel(err, errlen, "invalid selector: '%s'; can't understand '%.*s'", text, (int)n,
                      t);
        return ERR_BADREQUEST;
    }
    char *field = strndup(t, i);
    if (field == NULL) return ERR_NOMEM;
    if (!field_allowed(allowed, field)) {
        sim__errf_sel(err, errlen, "field label not supported: %s", field);
        free(field);
        return ERR_BADREQUEST;
    }
    char *val = unescape(t + i + oplen, n - i - oplen, &bad);
    const char **vals = val ? malloc(sizeof *vals) : NULL;
    if (vals == NULL) {
        free(field);
        free(val);
        if (bad) {
            sim__errf_sel(err, errlen, "invalid selector: '%s'; can't understand '%.*s'", text,
                          (int)n, t);
            return ERR_BADREQUEST;
        }
        return ERR_NOMEM;
    }
    vals[0] = val;
    sim_sel_req *r = &fs->reqs[fs->n++];
    r->key = field;
    r->op = op;
    r->nvalues = 1;
    r->values = vals;
    return 0;
}

int
sim_fsel_parse(const char *text, const char *const *allowed, sim_fsel **out, char *err,
               size_t errlen)
{
    sim_fsel *fs = calloc(1, sizeof *fs);
    size_t nterms = 1, start = 0, len;
    int rc = 0;

    *out = NULL;
    if (fs == NULL) return ERR_NOMEM;
    if (text == NULL) text = "";
    len = strlen(text);
    for (size_t i = 0; i < len; i++)
        if (text[i] == ',') nterms++;
    fs->reqs = calloc(nterms, sizeof *fs->reqs);
    if (fs->reqs == NULL) {
        free(fs);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i <= len && rc == 0; i++) {
        if (i < len && text[i] == '\\') {
            i++;
            continue;
        }
        if (i < len && text[i] != ',') continue;
        if (i > start) rc = add_term(fs, text, text + start, i - start, allowed, err, errlen);
        start = i + 1;
    }
    if (rc != 0) {
        sim_fsel_free(fs);
        return rc;
    }
    *out = fs;
    return 0;
}

void
sim_fsel_free(sim_fsel *fs)
{
    if (fs == NULL) return;
    fsel_clear(fs);
    free(fs);
}

size_t
sim_fsel_count(const sim_fsel *fs)
{
    return fs ? fs->n : 0;
}

const sim_sel_req *
sim_fsel_req(const sim_fsel *fs, size_t i)
{
    return fs && i < fs->n ? &fs->reqs[i] : NULL;
}

int
sim_fsel_empty(const sim_fsel *fs)
{
    return fs == NULL || fs->n == 0;
}

/* The field's value as the server's field set renders it ("" if absent). */
static const char *
field_text(json_object *obj, const char *path, char *buf, size_t len)
{
    json_object *v = jx_get(obj, path);

    if (v == NULL) return "";
    switch (json_object_get_type(v)) {
    case json_type_string:
        return json_object_get_string(v);
    case json_type_int:
    case json_type_double:
    case json_type_boolean:
        snprintf(buf, len, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        return buf;
    default:
        return "";
    }
}

int
sim_fsel_matches(const sim_fsel *fs, json_object *obj)
{
    char buf[64];

    if (fs == NULL) return 1;
    for (size_t i = 0; i < fs->n; i++) {
        const sim_sel_req *r = &fs->reqs[i];
        int eq = strcmp(field_text(obj, r->key, buf, sizeof buf), r->values[0]) == 0;
        if (eq != (r->op == SIM_SEL_EQ)) return 0;
    }
    return 1;
}
