/* blueprint.c - canonical JSON, semantic equality, blueprint hashes and the
 * warm pool's staleness rule. See blueprint.h for the contract.
 *
 * The canonical writer walks the json-c tree once into a growable buffer;
 * object keys are collected and sorted per object, so the cost is
 * O(n log k) for n nodes and k keys per object. */
#include "reconciler/blueprint.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/namehash.h"
#include "reconciler/secure_defaults.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- canonical JSON -------------------------------------------------- */

typedef struct cbuf {
    char *p;
    size_t len, cap;
    int oom;
} cbuf;

static void
cb_put(cbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
cb_str(cbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    cb_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        cb_put(b, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            cb_put(b, esc, 2);
        } else {
            cb_put(b, esc, 6);
        }
    }
    cb_put(b, s + run, n - run);
    cb_put(b, "\"", 1);
}

static int
key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
cb_value(cbuf *b, json_object *v, int depth)
{
    char num[64];
    if (depth > 128) { /* hostile nesting: encode as null rather than recurse on */
        cb_put(b, "null", 4);
        return;
    }
    switch (v ? json_object_get_type(v) : json_type_null) {
    case json_type_null:
        cb_put(b, "null", 4);
        break;
    case json_type_boolean:
        cb_put(b, json_object_get_boolean(v) ? "true" : "false",
               json_object_get_boolean(v) ? 4 : 5);
        break;
    case json_type_int:
        snprintf(num, sizeof num, "%" PRId64, json_object_get_int64(v));
        cb_put(b, num, strlen(num));
        break;
    case json_type_double:
        snprintf(num, sizeof num, "%.17g", json_object_get_double(v));
        cb_put(b, num, strlen(num));
        break;
    case json_type_string:
        cb_str(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
        break;
    case json_type_array: {
        size_t n = json_object_array_length(v);
        cb_put(b, "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i) cb_put(b, ",", 1);
            cb_value(b, json_object_array_get_idx(v, i), depth + 1);
        }
        cb_put(b, "]", 1);
        break;
    }
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(v), k = 0;
        const char **keys = n ? malloc(n * sizeof *keys) : NULL;
        if (n && keys == NULL) {
            b->oom = 1;
            return;
        }
        json_object_object_foreach(v, key, val)
        {
            if (val != NULL && !json_object_is_type(val, json_type_null)) keys[k++] = key;
        }
        if (k > 1) qsort(keys, k, sizeof *keys, key_cmp);
        cb_put(b, "{", 1);
        for (size_t i = 0; i < k; i++) {
            if (i) cb_put(b, ",", 1);
            cb_str(b, keys[i], strlen(keys[i]));
            cb_put(b, ":", 1);
            cb_value(b, jx_child(v, keys[i]), depth + 1);
        }
        cb_put(b, "}", 1);
        free(keys);
        break;
    }
    }
}

char *
rec_json_canon(json_object *v, size_t *len_out)
{
    cbuf b = {0};
    cb_value(&b, v, 0);
    if (b.oom || b.p == NULL) {
        free(b.p);
        return NULL;
    }
    if (len_out) *len_out = b.len;
    return b.p;
}

int
rec_json_hash(json_object *v, char out[9])
{
    size_t n;
    char *s = rec_json_canon(v, &n);
    if (s == NULL) return ERR_NOMEM;
    namehash_hex_n(s, n, out);
    free(s);
    return 0;
}

json_object *
rec_json_copy(json_object *v)
{
    json_object *dst = NULL;
    if (v == NULL || json_object_deep_copy(v, &dst, NULL) != 0) return NULL;
    return dst;
}

/* ---- semantic equality ------------------------------------------------ */

static int
is_empty(json_object *v)
{
    if (v == NULL) return 1;
    switch (json_object_get_type(v)) {
    case json_type_null:
        return 1;
    case json_type_string:
        return json_object_get_string_len(v) == 0;
    case json_type_array:
        return json_object_array_length(v) == 0;
    case json_type_object: {
        json_object_object_foreach(v, k, m)
        {
            (void)k;
            if (!is_empty(m)) return 0;
        }
        return 1;
    }
    default:
        return 0;
    }
}

static int
sem_eq(json_object *a, json_object *b, int depth)
{
    if (depth > 128) return 0;
    int ea = is_empty(a), eb = is_empty(b);
    if (ea || eb) return ea && eb;
    enum json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
    int na = ta == json_type_int || ta == json_type_double;
    int nb = tb == json_type_int || tb == json_type_double;
    if (na && nb) {
        if (ta == json_type_int && tb == json_type_int)
            return json_object_get_int64(a) == json_object_get_int64(b);
        return json_object_get_double(a) == json_object_get_double(b);
    }
    if (ta != tb) return 0;
    switch (ta) {
    case json_type_boolean:
        return !json_object_get_boolean(a) == !json_object_get_boolean(b);
    case json_type_string:
        return json_object_get_string_len(a) == json_object_get_string_len(b) &&
               memcmp(json_object_get_string(a), json_object_get_string(b),
                      (size_t)json_object_get_string_len(a)) == 0;
    case json_type_array: {
        size_t n = json_object_array_length(a);
        if (n != json_object_array_length(b)) return 0;
        for (size_t i = 0; i < n; i++)
            if (!sem_eq(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i),
                        depth + 1))
                return 0;
        return 1;
    }
    case json_type_object: {
        json_object_object_foreach(a, ka, va)
        {
            if (!sem_eq(va, jx_child(b, ka), depth + 1)) return 0;
        }
        json_object_object_foreach(b, kb, vb)
        {
            /* keys present in both were compared above */
            if (jx_child(a, kb) == NULL && !is_empty(vb)) return 0;
        }
        return 1;
    }
    default:
        return 0;
    }
}

int
rec_json_sem_equal(json_object *a, json_object *b)
{
    return sem_eq(a, b, 0);
}

/* ---- hashes ------------------------------------------------------------ */

json_object *
rec_bp_from_spec(json_object *spec)
{
    static const char *const members[] = {"podTemplate", "volumeClaimTemplates", "service"};
    json_object *bp = json_object_new_object();
    if (bp == NULL) return NULL;
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        json_object *v = jx_child(spec, members[i]);
        if (v == NULL || json_object_is_type(v, json_type_null)) continue;
        json_object_object_add(bp, members[i], json_object_get(v));
    }
    return bp;
}

int
rec_bp_hashes(json_object *tmpl, char pod_template_hash[9], char blueprint_hash[9])
{
    json_object *spec = jx_obj(tmpl, "spec");
    json_object *pt = jx_obj(spec, "podTemplate");
    if (pt == NULL) return ERR_INVALID;
    if (pod_template_hash && rec_json_hash(pt, pod_template_hash) != 0) return ERR_NOMEM;
    if (blueprint_hash) {
        json_object *bp = rec_bp_from_spec(spec);
        int rc = bp ? rec_json_hash(bp, blueprint_hash) : ERR_NOMEM;
        json_object_put(bp);
        if (rc != 0) return rc;
    }
    return 0;
}

/* ---- staleness ---------------------------------------------------------- */

void
rec_bp_memo_fini(rec_bp_memo *m)
{
    free(m->e);
    memset(m, 0, sizeof *m);
}

static int
vcts_equal(json_object *a, json_object *b)
{
    size_t na = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
    size_t nb = json_object_is_type(b, json_type_array) ? json_object_array_length(b) : 0;
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++) {
        json_object *va = json_object_array_get_idx(a, i);
        json_object *vb = json_object_array_get_idx(b, i);
        if (!sem_eq(jx_get(va, "metadata.name"), jx_get(vb, "metadata.name"), 0) ||
            !sem_eq(jx_child(va, "spec"), jx_child(vb, "spec"), 0))
            return 0;
    }
    return 1;
}

static int
service_equal(json_object *a, json_object *b)
{
    int sa = a != NULL && json_object_is_type(a, json_type_boolean);
    int sb = b != NULL && json_object_is_type(b, json_type_boolean);
    if (sa != sb) return 0;
    return !sa || !json_object_get_boolean(a) == !json_object_get_boolean(b);
}

int
rec_bp_differs(json_object *sandbox, json_object *tmpl)
{
    json_object *sspec = jx_obj(sandbox, "spec");
    json_object *tspec = jx_obj(tmpl, "spec");
    json_object *want = rec_json_copy(jx_get(tspec, "podTemplate.spec"));
    if (want == NULL) want = json_object_new_object();
    if (want == NULL) return ERR_NOMEM;
    int rc = rec_secure_defaults_apply(want, tspec);
    if (rc != 0 && rc != ERR_INVALID) {
        json_object_put(want);
        return rc;
    }
    int same = sem_eq(jx_get(sspec, "podTemplate.spec"), want, 0) &&
               vcts_equal(jx_child(sspec, "volumeClaimTemplates"),
                          jx_child(tspec, "volumeClaimTemplates")) &&
               service_equal(jx_child(sspec, "service"), jx_child(tspec, "service"));
    json_object_put(want);
    return !same;
}

static int
memo_lookup(rec_bp_memo *m, const char *current, const char *old, int *stale)
{
    if (strcmp(m->current, current) != 0) {
        m->n = 0; /* a new template generation invalidates every verdict */
        snprintf(m->current, sizeof m->current, "%s", current);
        return 0;
    }
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->e[i].old, old) == 0) {
            *stale = m->e[i].stale;
            return 1;
        }
    return 0;
}

static void
memo_store(rec_bp_memo *m, const char *old, int stale)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4;
        struct rec_bp_memo_entry *e = realloc(m->e, cap * sizeof *e);
        if (e == NULL) return; /* the memo is an optimisation only */
        m->e = e;
        m->cap = cap;
    }
    snprintf(m->e[m->n].old, sizeof m->e[m->n].old, "%s", old);
    m->e[m->n++].stale = stale;
}

int
rec_bp_stale(json_object *sandbox, json_object *tmpl, const char *current_hash, int owned_by_pool,
             rec_bp_memo *memo)
{
    char ref[9];
    const char *tname = jx_str_or(tmpl, "metadata.name", "");
    const char *have_ref = jx_label(sandbox, REC_LABEL_TEMPLATE_REF_HASH);
    if (have_ref == NULL || strcmp(have_ref, namehash_hex(tname, ref)) != 0) return 1;
    const char *old = jx_label(sandbox, REC_LABEL_TEMPLATE_HASH);
    if (owned_by_pool && old != NULL && current_hash != NULL && strcmp(old, current_hash) == 0)
        return 0;
    int use_memo =
        memo != NULL && owned_by_pool && old != NULL && strlen(old) == 8 && current_hash != NULL;
    int stale;
    if (use_memo && memo_lookup(memo, current_hash, old, &stale)) return stale;
    stale = rec_bp_differs(sandbox, tmpl);
    if (stale < 0) return stale;
    if (use_memo) memo_store(memo, old, stale);
    return stale;
}
