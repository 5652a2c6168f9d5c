/* sim_schema.c - compiling an openAPIV3Schema into a tree of sn_node.
 *
 * Compilation does all the per-schema work once: properties sorted for
 * binary search, the properties that carry a default listed apart (so
 * defaulting an object costs one lookup per default, not one per declared
 * property: the PodSpec alone declares hundreds), defaults and enums copied,
 * patterns translated and compiled, and three summary flags per node telling
 * sim_schema_apply whether a branch can need defaults, pruning or checks at
 * all. The tree is immutable afterwards. */
#include "bench/kubesim/sim_schema_internal.h"
#include "bench/kubesim/sim_patch_internal.h"

#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SN_MAX_DEPTH 128

/* The one CEL rule upstream's CRDs use, compared with runs of whitespace
 * collapsed (YAML folding differs between files). */
static const char vct_rule[] =
    "has(self.volumeClaimTemplates) == has(oldSelf.volumeClaimTemplates) && "
    "(!has(self.volumeClaimTemplates) || self.volumeClaimTemplates == "
    "oldSelf.volumeClaimTemplates)";

typedef struct {
    sim_schema *s;
    char *err;
    size_t errlen;
    char path[1024];
    size_t plen;
} compile_ctx;

static void node_free(sn_node *n);

static int
unenforced_add(sim_schema *s, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (s->nunenforced == s->capunenforced) {
        size_t nc = s->capunenforced ? s->capunenforced * 2 : 4;
        char **nv = realloc(s->unenforced, nc * sizeof *nv);
        if (nv == NULL) return ERR_NOMEM;
        s->unenforced = nv;
        s->capunenforced = nc;
    }
    va_start(ap, fmt);
    int rc = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (rc < 0) return ERR_NOMEM;
    s->unenforced[s->nunenforced++] = msg;
    return 0;
}

static int
same_rule(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ' || *a == '\n' || *a == '\t' || *a == '\r') {
            a++;
            if (*b == ' ') b++;
        }
        if (*a == '\0' || *b == '\0') return *a == *b;
        if (*a++ != *b++) return 0;
    }
}

static const char *
jstr(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int
jbool(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_boolean) &&
           json_object_get_boolean(v);
}

static int
jnum(json_object *o, const char *k, double *out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v) ||
        !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        return 0;
    *out = json_object_get_double(v);
    return 1;
}

static long long
jint(json_object *o, const char *k)
{
    double d;
    return jnum(o, k, &d) && d >= 0 ? (long long)d : -1;
}

static int
prop_cmp(const void *a, const void *b)
{
    return strcmp(((const sn_prop *)a)->name, ((const sn_prop *)b)->name);
}

sn_node *
sim__schema_prop(const sn_node *n, const char *name)
{
    size_t lo = 0, hi = n->nprops;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(n->props[mid].name, name);
        if (c == 0) return n->props[mid].node;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static size_t
path_push(compile_ctx *c, const char *seg)
{
    size_t old = c->plen;
    int w = snprintf(c->path + c->plen, sizeof c->path - c->plen, "%s", seg);
    if (w > 0)
        c->plen += (size_t)w < sizeof c->path - c->plen ? (size_t)w : sizeof c->path - c->plen - 1;
    return old;
}

static void
path_pop(compile_ctx *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

static int compile_node(compile_ctx *c, json_object *js, int depth, sn_node **out);

static int
compile_list(compile_ctx *c, json_object *arr, int depth, sn_node ***out, size_t *n)
{
    size_t len;

    if (!json_object_is_type(arr, json_type_array)) return 0;
    len = json_object_array_length(arr);
    *out = calloc(len + 1, sizeof **out);
    if (*out == NULL) return ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        int rc = compile_node(c, json_object_array_get_idx(arr, i), depth + 1, &(*out)[i]);
        if (rc != 0) return rc;
        (*n)++;
    }
    return 0;
}

static char **
str_array(json_object *arr, size_t *n)
{
    size_t len = json_object_array_length(arr), k = 0;
    char **v = calloc(len + 1, sizeof *v);

    if (v == NULL) return NULL;
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(e, json_type_string)) continue;
        if ((v[k] = strdup(json_object_get_string(e))) == NULL) {
            for (size_t j = 0; j < k; j++)
                free(v[j]);
            free(v);
            return NULL;
        }
        k++;
    }
    *n = k;
    return v;
}

static int
compile_pattern(compile_ctx *c, sn_node *n, const char *pat)
{
    const char *why = NULL;
    char *ere = sim__re2_to_ere(pat, &why);

    if (ere == NULL) {
        if (why == NULL) return ERR_NOMEM;
        return unenforced_add(c->s, "%s: pattern %s (%s)", c->path[0] ? c->path : ".", pat, why);
    }
    n->re = malloc(sizeof *n->re);
    if (n->re == NULL) {
        free(ere);
        return ERR_NOMEM;
    }
    if (regcomp(n->re, ere, REG_EXTENDED | REG_NOSUB) != 0) {
        free(n->re);
        n->re = NULL;
        free(ere);
        return unenforced_add(c->s, "%s: pattern %s (POSIX regcomp refused it)",
                              c->path[0] ? c->path : ".", pat);
    }
    free(ere);
    n->pattern = strdup(pat);
    return n->pattern ? 0 : ERR_NOMEM;
}

static int
compile_rules(compile_ctx *c, sn_node *n, json_object *rules)
{
    if (!json_object_is_type(rules, json_type_array)) return 0;
    for (size_t i = 0; i < json_object_array_length(rules); i++) {
        json_object *r = json_object_array_get_idx(rules, i);
        const char *rule = json_object_is_type(r, json_type_object) ? jstr(r, "rule") : NULL;
        if (rule == NULL) continue;
        if (same_rule(rule, vct_rule)) {
            const char *m = jstr(r, "message");
            n->flags |= SN_VCT_RULE;
            free(n->vct_message);
            n->vct_message = strdup(m ? m : "failed rule: volumeClaimTemplates");
            if (n->vct_message == NULL) return ERR_NOMEM;
            continue;
        }
        int rc = unenforced_add(c->s, "%s: %s", c->path[0] ? c->path : ".", rule);
        if (rc != 0) return rc;
    }
    return 0;
}

static int
compile_enum(sn_node *n, json_object *en)
{
    int ok = 1;
    size_t len = json_object_array_length(en);

    n->enum_vals = sim__json_copy(en, &ok);
    n->enum_text = calloc(len + 1, sizeof *n->enum_text);
    if (!ok || n->enum_text == NULL) return ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(en, i);
        /* strings are listed as such, anything else as its JSON text */
        const char *t = json_object_is_type(e, json_type_string)
                            ? json_object_get_string(e)
                            : json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);
        if ((n->enum_text[i] = strdup(t)) == NULL) return ERR_NOMEM;
        n->nenum++;
    }
    return 0;
}

/* A schema that is nothing but "type: integer" or "type: string". */
static int
only_type(const sn_node *n)
{
    return (n->type == SN_INTEGER || n->type == SN_STRING) &&
           !(n->flags & ~(unsigned)(SN_SUB_CHECKS | SN_SUB_PRUNE | SN_SUB_DEFAULTS)) &&
           n->nprops == 0 && n->items == NULL && n->addl == NULL && n->deflt == NULL &&
           n->nrequired == 0 && n->nenum == 0 && n->re == NULL && n->format == SN_FMT_NONE &&
           n->min_len < 0 && n->max_len < 0 && n->min_items < 0 && n->max_items < 0 &&
           n->nany_of == 0 && n->nall_of == 0 && n->none_of == 0;
}

static int
compile_node(compile_ctx *c, json_object *js, int depth, sn_node **out)
{
    sn_node *n;
    json_object *v = NULL;
    const char *t;
    int rc = 0, ok = 1;

    *out = NULL;
    if (js == NULL || !json_object_is_type(js, json_type_object)) {
        sim__errf(c->err, c->errlen, "schema is not an object at %s", c->path[0] ? c->path : ".");
        return ERR_INVALID;
    }
    if (depth > SN_MAX_DEPTH) {
        sim__errf(c->err, c->errlen, "schema nested too deeply (over %d levels) at %s",
                  SN_MAX_DEPTH, c->path);
        return ERR_INVALID;
    }
    n = calloc(1, sizeof *n);
    if (n == NULL) return ERR_NOMEM;
    *out = n;
    n->min_len = n->max_len = n->min_items = n->max_items = -1;

    t = jstr(js, "type");
    if (t != NULL) {
        n->type = strcmp(t, "object") == 0    ? SN_OBJECT
                  : strcmp(t, "array") == 0   ? SN_ARRAY
                  : strcmp(t, "string") == 0  ? SN_STRING
                  : strcmp(t, "integer") == 0 ? SN_INTEGER
                  : strcmp(t, "number") == 0  ? SN_NUMBER
                  : strcmp(t, "boolean") == 0 ? SN_BOOLEAN
                                              : SN_ANY;
    }
    if (jbool(js, "nullable")) n->flags |= SN_NULLABLE;
    if (jbool(js, "x-kubernetes-preserve-unknown-fields")) n->flags |= SN_PRESERVE;
    if (jbool(js, "x-kubernetes-embedded-resource")) n->flags |= SN_EMBEDDED;
    if (jbool(js, "x-kubernetes-int-or-string")) n->flags |= SN_INTSTR;
    if (jnum(js, "minimum", &n->minimum)) n->flags |= SN_HAS_MIN;
    if (jnum(js, "maximum", &n->maximum)) n->flags |= SN_HAS_MAX;
    if (jbool(js, "exclusiveMinimum")) n->flags |= SN_EXCL_MIN;
    if (jbool(js, "exclusiveMaximum")) n->flags |= SN_EXCL_MAX;
    n->min_len = jint(js, "minLength");
    n->max_len = jint(js, "maxLength");
    n->min_items = jint(js, "minItems");
    n->max_items = jint(js, "maxItems");
    if ((t = jstr(js, "format")) != NULL)
        n->format = strcmp(t, "date-time") == 0 ? SN_FMT_DATETIME
                    : strcmp(t, "int32") == 0   ? SN_FMT_INT32
                    : strcmp(t, "int64") == 0   ? SN_FMT_INT64
                                                : SN_FMT_NONE;
    if ((t = jstr(js, "x-kubernetes-list-type")) != NULL) {
        if (strcmp(t, "set") == 0)
            n->flags |= SN_LIST_SET;
        else if (strcmp(t, "map") == 0)
            n->flags |= SN_LIST_MAP;
    }
    if (json_object_object_get_ex(js, "x-kubernetes-list-map-keys", &v) &&
        json_object_is_type(v, json_type_array) &&
        (n->map_keys = str_array(v, &n->nmap_keys)) == NULL)
        return ERR_NOMEM;
    if (json_object_object_get_ex(js, "required", &v) && json_object_is_type(v, json_type_array) &&
        (n->required = str_array(v, &n->nrequired)) == NULL)
        return ERR_NOMEM;
    if (json_object_object_get_ex(js, "enum", &v) && json_object_is_type(v, json_type_array) &&
        (rc = compile_enum(n, v)) != 0)
        return rc;
    if (json_object_object_get_ex(js, "default", &v) && v != NULL) {
        n->deflt = sim__json_copy(v, &ok);
        if (!ok) return ERR_NOMEM;
    }
    if ((t = jstr(js, "pattern")) != NULL && (rc = compile_pattern(c, n, t)) != 0) return rc;
    if (json_object_object_get_ex(js, "x-kubernetes-validations", &v) &&
        (rc = compile_rules(c, n, v)) != 0)
        return rc;

    if (json_object_object_get_ex(js, "properties", &v) &&
        json_object_is_type(v, json_type_object)) {
        size_t np = (size_t)json_object_object_length(v), i = 0;
        n->props = calloc(np + 1, sizeof *n->props);
        if (n->props == NULL) return ERR_NOMEM;
        json_object_object_foreach(v, pk, pv)
        {
            size_t old = path_push(c, ".");
            path_push(c, pk);
            n->props[i].name = strdup(pk);
            if (n->props[i].name == NULL) return ERR_NOMEM;
            n->nprops = i + 1;
            rc = compile_node(c, pv, depth + 1, &n->props[i].node);
            path_pop(c, old);
            if (rc != 0) return rc;
            i++;
        }
        qsort(n->props, n->nprops, sizeof *n->props, prop_cmp);
        n->defaulted = calloc(n->nprops + 1, sizeof *n->defaulted);
        if (n->defaulted == NULL) return ERR_NOMEM;
        for (i = 0; i < n->nprops; i++)
            if (n->props[i].node->deflt != NULL) n->defaulted[n->ndefaulted++] = i;
    }
    if (json_object_object_get_ex(js, "items", &v) && json_object_is_type(v, json_type_object)) {
        size_t old = path_push(c, "[*]");
        rc = compile_node(c, v, depth + 1, &n->items);
        path_pop(c, old);
        if (rc != 0) return rc;
    }
    if (json_object_object_get_ex(js, "additionalProperties", &v)) {
        if (json_object_is_type(v, json_type_boolean)) {
            if (json_object_get_boolean(v)) n->flags |= SN_ADDL_ANY;
        } else if (json_object_is_type(v, json_type_object)) {
            size_t old = path_push(c, "[*]");
            rc = compile_node(c, v, depth + 1, &n->addl);
            path_pop(c, old);
            if (rc != 0) return rc;
        }
    }
    if (json_object_object_get_ex(js, "anyOf", &v) &&
        (rc = compile_list(c, v, depth, &n->any_of, &n->nany_of)) != 0)
        return rc;
    if (json_object_object_get_ex(js, "allOf", &v) &&
        (rc = compile_list(c, v, depth, &n->all_of, &n->nall_of)) != 0)
        return rc;
    if (json_object_object_get_ex(js, "oneOf", &v) &&
        (rc = compile_list(c, v, depth, &n->one_of, &n->none_of)) != 0)
        return rc;

    /* The int-or-string idiom, anyOf [{type: integer}, {type: string}],
     * says nothing the type check has not: mark it so apply skips two trial
     * validations per quantity field. */
    if ((n->flags & SN_INTSTR) && n->nany_of > 0) {
        int trivial = 1;
        for (size_t i = 0; i < n->nany_of && trivial; i++)
            trivial = only_type(n->any_of[i]);
        if (trivial) n->flags |= SN_ANYOF_TYPES;
    }
    /* Summaries. */
    if (n->deflt != NULL || n->ndefaulted > 0) n->flags |= SN_SUB_DEFAULTS;
    if (n->type != SN_ANY || n->nrequired || n->nenum || n->re || n->format ||
        (n->flags & (SN_HAS_MIN | SN_HAS_MAX | SN_VCT_RULE | SN_LIST_SET | SN_LIST_MAP)) ||
        n->min_len >= 0 || n->max_len >= 0 || n->min_items >= 0 || n->max_items >= 0 ||
        n->nany_of || n->nall_of || n->none_of)
        n->flags |= SN_SUB_CHECKS;
    /* An object that is not preserve-unknown can prune its unknown keys. */
    if (!(n->flags & (SN_PRESERVE | SN_ADDL_ANY)) && n->addl == NULL &&
        (n->type == SN_OBJECT || n->nprops > 0))
        n->flags |= SN_SUB_PRUNE;
    if (n->flags & SN_EMBEDDED) n->flags |= SN_SUB_PRUNE;
    /* Typed members (properties or a map's values) can hold nulls to drop. */
    if (n->nprops > 0 || n->addl != NULL) n->flags |= SN_SUB_PRUNE;
    sn_node *kids[2] = {n->items, n->addl};
    for (size_t i = 0; i < n->nprops; i++)
        n->flags |= n->props[i].node->flags & (SN_SUB_DEFAULTS | SN_SUB_PRUNE | SN_SUB_CHECKS);
    for (size_t i = 0; i < 2; i++)
        if (kids[i] != NULL)
            n->flags |= kids[i]->flags & (SN_SUB_DEFAULTS | SN_SUB_PRUNE | SN_SUB_CHECKS);
    return 0;
}

static void
node_free(sn_node *n)
{
    if (n == NULL) return;
    for (size_t i = 0; i < n->nprops; i++) {
        free((char *)n->props[i].name);
        node_free(n->props[i].node);
    }
    free(n->props);
    free(n->defaulted);
    node_free(n->items);
    node_free(n->addl);
    json_object_put(n->deflt);
    for (size_t i = 0; i < n->nrequired; i++)
        free(n->required[i]);
    free(n->required);
    json_object_put(n->enum_vals);
    for (size_t i = 0; n->enum_text != NULL && i < n->nenum; i++)
        free(n->enum_text[i]);
    free(n->enum_text);
    if (n->re != NULL) {
        regfree(n->re);
        free(n->re);
    }
    free(n->pattern);
    for (size_t i = 0; i < n->nmap_keys; i++)
        free(n->map_keys[i]);
    free(n->map_keys);
    sn_node **lists[3] = {n->any_of, n->all_of, n->one_of};
    size_t counts[3] = {n->nany_of, n->nall_of, n->none_of};
    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; lists[l] != NULL && i < counts[l] + 1; i++)
            node_free(lists[l][i]);
        free(lists[l]);
    }
    free(n->vct_message);
    free(n);
}

int
sim_schema_compile(json_object *schema, sim_schema **out, char *err, size_t errlen)
{
    compile_ctx c = {.err = err, .errlen = errlen};
    int rc;

    *out = NULL;
    c.s = calloc(1, sizeof *c.s);
    if (c.s == NULL) return ERR_NOMEM;
    rc = compile_node(&c, schema, 0, &c.s->root);
    if (rc != 0) {
        if (rc == ERR_NOMEM) sim__errf(err, errlen, "out of memory compiling schema");
        sim_schema_free(c.s);
        return rc;
    }
    *out = c.s;
    return 0;
}

void
sim_schema_free(sim_schema *s)
{
    if (s == NULL) return;
    node_free(s->root);
    for (size_t i = 0; i < s->nunenforced; i++)
        free(s->unenforced[i]);
    free(s->unenforced);
    free(s);
}

size_t
sim_schema_unenforced_rules(const sim_schema *s, const char *const **rules)
{
    if (rules != NULL) *rules = s ? (const char *const *)s->unenforced : NULL;
    return s ? s->nunenforced : 0;
}

void
sim_schema_report_init(sim_schema_report *r)
{
    memset(r, 0, sizeof *r);
    sim_causes_init(&r->causes);
}

void
sim_schema_report_fini(sim_schema_report *r)
{
    for (size_t i = 0; i < r->npruned; i++)
        free(r->pruned[i]);
    free(r->pruned);
    sim_causes_fini(&r->causes);
    memset(r, 0, sizeof *r);
}

char *
sim_schema_strict_message(const char *kind, const char *version, const sim_schema_report *r)
{
    size_t len = 3 * strlen(kind) + strlen(version) + 128;
    char *out;

    for (size_t i = 0; i < r->npruned; i++)
        len += strlen(r->pruned[i]) + 24;
    out = malloc(len);
    if (out == NULL) return NULL;
    size_t off = (size_t)sprintf(out,
                                 "%s in version \"%s\" cannot be handled as a %s: strict "
                                 "decoding error: ",
                                 kind, version, kind);
    for (size_t i = 0; i < r->npruned; i++)
        off += (size_t)sprintf(out + off, "%sunknown field \"%s\"", i ? ", " : "", r->pruned[i]);
    return out;
}
