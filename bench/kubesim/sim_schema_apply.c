/* sim_schema_apply.c - pruning, defaulting and validation of one object.
 *
 * Two walks over the object (never over the schema): the first prunes
 * unknown fields and applies defaults top-down (a default set on a missing
 * object is itself walked, so defaults nested in it apply too), the second
 * validates. Both only descend where the schema's summary flags say
 * something can happen, so a small write costs a few hash lookups per
 * field it carries. Field paths are kept in one buffer as the walk goes:
 * "spec.containers[0].ports[1].protocol", the form kube-apiserver prints in
 * warnings and causes.
 *
 * Messages are kube-openapi's as kube-apiserver reports them, e.g.
 * "Invalid value: -1: spec.replicas in body should be greater than or equal
 * to 0" (the "in body" name is the field path). */
#include "bench/kubesim/sim_schema_internal.h"
#include "bench/kubesim/sim_patch.h"
#include "bench/kubesim/sim_patch_internal.h"

#include "core/err.h"
#include "core/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AP_PATH_MAX 4096

typedef struct {
    unsigned flags;
    sim_schema_report *r;
    char path[AP_PATH_MAX];
    size_t plen;
    int nomem;
} actx;

/* ObjectMeta's fields: anything else under metadata is an unknown field. */
static const char *const objectmeta_fields[] = {
    "annotations",
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",
    "generateName",
    "generation",
    "labels",
    "managedFields",
    "name",
    "namespace",
    "ownerReferences",
    "resourceVersion",
    "selfLink",
    "uid",
    NULL,
};

static size_t
push_key(actx *a, const char *k)
{
    size_t old = a->plen;
    int w = snprintf(a->path + a->plen, sizeof a->path - a->plen, "%s%s", old ? "." : "", k);
    if (w < 0 || (size_t)w >= sizeof a->path - a->plen)
        a->plen = sizeof a->path - 1;
    else
        a->plen += (size_t)w;
    return old;
}

static size_t
push_idx(actx *a, size_t i)
{
    size_t old = a->plen;
    int w = snprintf(a->path + a->plen, sizeof a->path - a->plen, "[%zu]", i);
    if (w < 0 || (size_t)w >= sizeof a->path - a->plen)
        a->plen = sizeof a->path - 1;
    else
        a->plen += (size_t)w;
    return old;
}

static void
pop(actx *a, size_t old)
{
    a->plen = old;
    a->path[old] = '\0';
}

static void
record_pruned(actx *a, const char *key)
{
    sim_schema_report *r = a->r;
    size_t old = push_key(a, key);

    if (r->npruned == r->cappruned) {
        size_t nc = r->cappruned ? r->cappruned * 2 : 4;
        char **nv = realloc(r->pruned, nc * sizeof *nv);
        if (nv == NULL) {
            a->nomem = 1;
            pop(a, old);
            return;
        }
        r->pruned = nv;
        r->cappruned = nc;
    }
    if ((r->pruned[r->npruned] = strdup(a->path)) == NULL)
        a->nomem = 1;
    else
        r->npruned++;
    pop(a, old);
}

static int
is_resource_key(const char *k)
{
    return strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0 || strcmp(k, "metadata") == 0;
}

enum { KEYS_SCHEMA, KEYS_OBJECTMETA, KEYS_RESOURCE };

static int
key_known(const sn_node *n, const char *k, int mode)
{
    if (mode == KEYS_OBJECTMETA) {
        for (const char *const *f = objectmeta_fields; *f; f++)
            if (strcmp(*f, k) == 0) return 1;
        return 0;
    }
    if (mode == KEYS_RESOURCE && is_resource_key(k)) return 1;
    return sim__schema_prop(n, k) != NULL;
}

/* Delete (and record) the keys of obj that are not known. */
static void
prune_keys(actx *a, json_object *obj, const sn_node *n, int mode)
{
    size_t bad = 0, nk = 0;
    char **keys;

    json_object_object_foreach(obj, k0, v0)
    {
        (void)v0;
        bad += !key_known(n, k0, mode);
    }
    if (bad == 0) return;
    /* json-c cannot delete while iterating: collect copies, then delete. */
    keys = calloc(bad, sizeof *keys);
    if (keys == NULL) {
        a->nomem = 1;
        return;
    }
    json_object_object_foreach(obj, k, v)
    {
        (void)v;
        if (!key_known(n, k, mode) && nk < bad) {
            if ((keys[nk] = strdup(k)) == NULL) {
                a->nomem = 1;
                break;
            }
            nk++;
        }
    }
    for (size_t i = 0; i < nk; i++) {
        record_pruned(a, keys[i]);
        json_object_object_del(obj, keys[i]);
        free(keys[i]);
    }
    free(keys);
}

static void prune_default(actx *a, const sn_node *n, json_object *v, json_object *old,
                          int resource);

/* v is old's node at the same path and old is a fixed point of the schema
 * (SIM_SCHEMA_OLD_CLEAN): pruning, defaults and validation depend only on
 * the path's schema node, the subtree and (transition rules) the old value
 * there, so they would change and report nothing below v. */
static int
clean_shared(const actx *a, json_object *v, json_object *old)
{
    return (a->flags & SIM_SCHEMA_OLD_CLEAN) && v != NULL && v == old;
}

/* old's member k when old is an object (NULL otherwise). */
static json_object *
old_member(json_object *old, const char *k)
{
    json_object *ox = NULL;
    if (old != NULL && json_object_is_type(old, json_type_object))
        json_object_object_get_ex(old, k, &ox);
    return ox;
}

/* metadata of the root or of an embedded resource. */
static void
prune_metadata(actx *a, json_object *obj)
{
    json_object *md = NULL;

    if (!(a->flags & SIM_SCHEMA_PRUNE) || !json_object_object_get_ex(obj, "metadata", &md) ||
        !json_object_is_type(md, json_type_object))
        return;
    size_t old = push_key(a, "metadata");
    prune_keys(a, md, NULL, KEYS_OBJECTMETA);
    pop(a, old);
}

/* Does a null under key k of an object of schema n get dropped? */
static int
null_dropped(const sn_node *n, const char *k, int resource)
{
    const sn_node *pn = sim__schema_prop(n, k);

    if (pn == NULL && !(resource && is_resource_key(k))) pn = n->addl;
    return pn != NULL && !(pn->flags & SN_NULLABLE);
}

static void
prune_default_object(actx *a, const sn_node *n, json_object *obj, json_object *old, int resource)
{
    int can_prune = (a->flags & SIM_SCHEMA_PRUNE) && !(n->flags & (SN_PRESERVE | SN_ADDL_ANY)) &&
                    n->addl == NULL;

    if (resource) prune_metadata(a, obj);
    if (can_prune) prune_keys(a, obj, n, resource ? KEYS_RESOURCE : KEYS_SCHEMA);
    if (a->flags & SIM_SCHEMA_DEFAULT) {
        /* A null in a non-nullable field goes (its default comes back).
         * Collected first: json-c cannot delete while iterating. */
        size_t nulls = 0, nk = 0;
        json_object_object_foreach(obj, k0, v0)
        {
            nulls += v0 == NULL && null_dropped(n, k0, resource);
        }
        if (nulls > 0) {
            char **keys = calloc(nulls, sizeof *keys);
            if (keys == NULL) {
                a->nomem = 1;
                return;
            }
            json_object_object_foreach(obj, k1, v1)
            {
                if (v1 == NULL && null_dropped(n, k1, resource) && nk < nulls &&
                    (keys[nk] = strdup(k1)) != NULL)
                    nk++;
            }
            for (size_t i = 0; i < nk; i++) {
                json_object_object_del(obj, keys[i]);
                free(keys[i]);
            }
            free(keys);
            if (nk < nulls) {
                a->nomem = 1;
                return;
            }
        }
        for (size_t i = 0; i < n->ndefaulted; i++) {
            const sn_prop *p = &n->props[n->defaulted[i]];
            if (json_object_object_get_ex(obj, p->name, NULL)) continue;
            int ok = 1;
            json_object *d = sim__json_copy(p->node->deflt, &ok);
            if (!ok || json_object_object_add(obj, p->name, d) != 0) {
                json_object_put(d);
                a->nomem = 1;
                return;
            }
        }
    }
    json_object_object_foreach(obj, k, v)
    {
        if (v == NULL || (resource && is_resource_key(k) && sim__schema_prop(n, k) == NULL))
            continue;
        if (resource && strcmp(k, "metadata") == 0)
            continue; /* ObjectMeta is the server's, whatever the schema says */
        const sn_node *pn = sim__schema_prop(n, k);
        if (pn == NULL) pn = n->addl;
        if (pn == NULL || !(pn->flags & (SN_SUB_DEFAULTS | SN_SUB_PRUNE))) continue;
        json_object *ox = old_member(old, k);
        if (clean_shared(a, v, ox)) continue;
        size_t o = push_key(a, k);
        prune_default(a, pn, v, ox, 0);
        pop(a, o);
    }
}

static void
prune_default(actx *a, const sn_node *n, json_object *v, json_object *old, int resource)
{
    if (v == NULL || a->nomem || clean_shared(a, v, old)) return;
    if (n->flags & SN_EMBEDDED) resource = 1;
    if (json_object_is_type(v, json_type_object)) {
        if (n->type == SN_OBJECT || n->nprops > 0 || n->addl != NULL || resource)
            prune_default_object(a, n, v, old, resource);
        return;
    }
    if (json_object_is_type(v, json_type_array) && n->items != NULL &&
        (n->items->flags & (SN_SUB_DEFAULTS | SN_SUB_PRUNE))) {
        size_t len = json_object_array_length(v);
        for (size_t i = 0; i < len; i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (e == NULL && n->items->deflt != NULL && (a->flags & SIM_SCHEMA_DEFAULT) &&
                !(n->items->flags & SN_NULLABLE)) {
                int ok = 1;
                json_object *d = sim__json_copy(n->items->deflt, &ok);
                if (!ok || json_object_array_put_idx(v, i, d) != 0) {
                    json_object_put(d);
                    a->nomem = 1;
                    return;
                }
                e = d;
            }
            size_t old = push_idx(a, i);
            prune_default(a, n->items, e, NULL, 0);
            pop(a, old);
        }
    }
}

/* ---- validation ---------------------------------------------------------- */

static const char *
json_type_name(json_object *v)
{
    switch (v ? json_object_get_type(v) : json_type_null) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "boolean";
    case json_type_double:
        return "number";
    case json_type_int:
        return "integer";
    case json_type_string:
        return "string";
    case json_type_array:
        return "array";
    case json_type_object:
        return "object";
    }
    return "null";
}

static const char *
sn_type_name(const sn_node *n)
{
    switch (n->type) {
    case SN_OBJECT:
        return "object";
    case SN_ARRAY:
        return "array";
    case SN_STRING:
        return "string";
    case SN_INTEGER:
        return "integer";
    case SN_NUMBER:
        return "number";
    case SN_BOOLEAN:
        return "boolean";
    default:
        return "any";
    }
}

static int
type_ok(const sn_node *n, json_object *v)
{
    json_type t = v ? json_object_get_type(v) : json_type_null;

    if (n->flags & SN_INTSTR) {
        if (t == json_type_string || t == json_type_int) return 1;
        return t == json_type_double &&
               floor(json_object_get_double(v)) == json_object_get_double(v);
    }
    switch (n->type) {
    case SN_ANY:
        return 1;
    case SN_OBJECT:
        return t == json_type_object;
    case SN_ARRAY:
        return t == json_type_array;
    case SN_STRING:
        return t == json_type_string;
    case SN_BOOLEAN:
        return t == json_type_boolean;
    case SN_NUMBER:
        return t == json_type_int || t == json_type_double;
    case SN_INTEGER:
        if (t == json_type_int) return 1;
        if (t == json_type_double) {
            double d = json_object_get_double(v);
            return isfinite(d) && floor(d) == d;
        }
        return 0;
    }
    return 1;
}

/* Go's %v of a float64 limit: integral values print without a fraction. */
static void
fmt_limit(double d, char *buf, size_t len)
{
    if (isfinite(d) && floor(d) == d && fabs(d) < 1e15)
        snprintf(buf, len, "%.0f", d);
    else
        snprintf(buf, len, "%g", d);
}

static const char *
body_name(const actx *a)
{
    return a->plen ? a->path : "body";
}

static void
invalid(actx *a, json_object *v, const char *fmt_detail, const char *arg)
{
    char detail[AP_PATH_MAX + 1024];

    snprintf(detail, sizeof detail, fmt_detail, body_name(a), arg);
    if (sim_causes_invalid(&a->r->causes, a->path, v, detail) != 0) a->nomem = 1;
}

static size_t
utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) n++;
    return n;
}

static void validate(actx *a, const sn_node *n, json_object *v, json_object *old, int resource);

/* Validate v against n into a scratch report; returns the cause count. */
static size_t
trial(actx *a, const sn_node *n, json_object *v)
{
    sim_schema_report scratch, *saved = a->r;
    size_t count;

    sim_schema_report_init(&scratch);
    a->r = &scratch;
    validate(a, n, v, NULL, 0);
    a->r = saved;
    count = scratch.causes.n + (size_t)scratch.causes.nomem;
    sim_schema_report_fini(&scratch);
    return count;
}

static void
validate_string(actx *a, const sn_node *n, json_object *v)
{
    const char *s = json_object_get_string(v);
    char num[32];

    if (n->max_len >= 0 && (long long)utf8_len(s) > n->max_len) {
        if (sim_causes_too_long(&a->r->causes, a->path, n->max_len) != 0) a->nomem = 1;
    }
    if (n->min_len >= 0 && (long long)utf8_len(s) < n->min_len) {
        snprintf(num, sizeof num, "%lld", n->min_len);
        invalid(a, v, "%s in body should be at least %s chars long", num);
    }
    if (n->re != NULL && regexec(n->re, s, 0, NULL, 0) != 0)
        invalid(a, v, "%s in body should match '%s'", n->pattern);
    if (n->format == SN_FMT_DATETIME) {
        int64_t ms;
        if (time_parse_rfc3339(s, &ms) != 0) {
            char detail[AP_PATH_MAX + 1024], q[512];
            sim_value_text(v, q, sizeof q);
            snprintf(detail, sizeof detail, "%s in body must be of type date-time: %s",
                     body_name(a), q);
            if (sim_causes_type_invalid(&a->r->causes, a->path, v, detail) != 0) a->nomem = 1;
        }
    }
}

static void
validate_number(actx *a, const sn_node *n, json_object *v)
{
    double d = json_object_get_double(v);
    char lim[64];

    if (n->flags & SN_HAS_MIN) {
        fmt_limit(n->minimum, lim, sizeof lim);
        if ((n->flags & SN_EXCL_MIN) ? !(d > n->minimum) : !(d >= n->minimum))
            invalid(a, v,
                    (n->flags & SN_EXCL_MIN) ? "%s in body should be greater than %s"
                                             : "%s in body should be greater than or equal to %s",
                    lim);
    }
    if (n->flags & SN_HAS_MAX) {
        fmt_limit(n->maximum, lim, sizeof lim);
        if ((n->flags & SN_EXCL_MAX) ? !(d < n->maximum) : !(d <= n->maximum))
            invalid(a, v,
                    (n->flags & SN_EXCL_MAX) ? "%s in body should be less than %s"
                                             : "%s in body should be less than or equal to %s",
                    lim);
    }
}

/* Same map-key values? (x-kubernetes-list-type: map) */
static int
same_map_keys(const sn_node *n, json_object *x, json_object *y)
{
    for (size_t k = 0; k < n->nmap_keys; k++) {
        json_object *a = NULL, *b = NULL;
        json_object_object_get_ex(x, n->map_keys[k], &a);
        json_object_object_get_ex(y, n->map_keys[k], &b);
        if (!sim_json_equal(a, b)) return 0;
    }
    return 1;
}

/* Is element e keyed by the map keys (x-kubernetes-list-type: map)? */
static int
map_keyed(const sn_node *n, json_object *e)
{
    return (n->flags & SN_LIST_MAP) && n->nmap_keys > 0 && json_object_is_type(e, json_type_object);
}

static uint64_t
dup_hash(const sn_node *n, json_object *e)
{
    uint64_t h = 0x243f6a8885a308d3ULL;

    if (!map_keyed(n, e)) return sim__json_hash(e);
    for (size_t k = 0; k < n->nmap_keys; k++) {
        json_object *kv = NULL;
        json_object_object_get_ex(e, n->map_keys[k], &kv);
        h = h * 1099511628211ULL + sim__json_hash(kv);
    }
    return h;
}

/* Duplicates in sets and map lists, found through a hash index so long
 * lists stay linear. Each element equal to an earlier one is reported at
 * its own index; a map list shows the key fields only, a set the value. */
static void
check_duplicates(actx *a, const sn_node *n, json_object *v, size_t len)
{
    /* short lists (the usual case) compare pairwise without allocating */
    int hashed = len > 16;
    sim__hidx ix = {0};
    size_t cur, j;

    if (hashed && sim__hidx_init(&ix, len) != 0) {
        a->nomem = 1;
        return;
    }
    for (size_t i = 0; i < len && !a->nomem; i++) {
        json_object *e = json_object_array_get_idx(v, i), *f;
        uint64_t h = hashed ? dup_hash(n, e) : 0;
        int dup = 0;
        cur = SIZE_MAX;
        for (j = 0; !dup;) {
            if (hashed) {
                if ((j = sim__hidx_find(&ix, h, &cur)) == SIZE_MAX) break;
            } else if (j >= i) {
                break;
            }
            f = json_object_array_get_idx(v, j);
            dup =
                map_keyed(n, e) && map_keyed(n, f) ? same_map_keys(n, e, f) : sim_json_equal(e, f);
            if (!hashed) j++;
        }
        if (!dup) {
            if (hashed && sim__hidx_add(&ix, h, i) != 0) a->nomem = 1;
            continue;
        }
        json_object *shown = NULL;
        if (map_keyed(n, e)) {
            if ((shown = json_object_new_object()) == NULL) a->nomem = 1;
            for (size_t k = 0; shown != NULL && k < n->nmap_keys; k++) {
                json_object *kv = NULL;
                if (json_object_object_get_ex(e, n->map_keys[k], &kv))
                    json_object_object_add(shown, n->map_keys[k], json_object_get(kv));
            }
        }
        size_t old = push_idx(a, i);
        if (sim_causes_duplicate(&a->r->causes, a->path, shown ? shown : e) != 0) a->nomem = 1;
        json_object_put(shown);
        pop(a, old);
    }
    if (hashed) sim__hidx_fini(&ix);
}

static void
validate_array(actx *a, const sn_node *n, json_object *v)
{
    size_t len = json_object_array_length(v);
    char num[32];

    if (n->max_items >= 0 && (long long)len > n->max_items) {
        if (sim_causes_too_many(&a->r->causes, a->path, (long long)len, n->max_items) != 0)
            a->nomem = 1;
    }
    if (n->min_items >= 0 && (long long)len < n->min_items) {
        snprintf(num, sizeof num, "%lld", n->min_items);
        invalid(a, v, "%s in body should have at least %s items", num);
    }
    if (n->items != NULL && (n->items->flags & SN_SUB_CHECKS)) {
        for (size_t i = 0; i < len; i++) {
            size_t old = push_idx(a, i);
            validate(a, n->items, json_object_array_get_idx(v, i), NULL, 0);
            pop(a, old);
        }
    }
    if ((n->flags & (SN_LIST_SET | SN_LIST_MAP)) && len > 1) check_duplicates(a, n, v, len);
}

static void
validate_object(actx *a, const sn_node *n, json_object *v, json_object *old, int resource)
{
    for (size_t i = 0; i < n->nrequired; i++) {
        json_object *x = NULL;
        if (!json_object_object_get_ex(v, n->required[i], &x) || x == NULL) {
            size_t o = push_key(a, n->required[i]);
            if (sim_causes_required(&a->r->causes, a->path, NULL) != 0) a->nomem = 1;
            pop(a, o);
        }
    }
    json_object_object_foreach(v, k, x)
    {
        if (resource && is_resource_key(k))
            continue; /* the server validates apiVersion, kind and ObjectMeta */
        const sn_node *pn = sim__schema_prop(n, k);
        if (pn == NULL) pn = n->addl;
        if (pn == NULL || !(pn->flags & SN_SUB_CHECKS)) continue;
        json_object *ox = NULL;
        if (old != NULL && json_object_is_type(old, json_type_object))
            json_object_object_get_ex(old, k, &ox);
        size_t o = push_key(a, k);
        validate(a, pn, x, ox, 0);
        pop(a, o);
    }
}

/* has(self.volumeClaimTemplates) == has(oldSelf.volumeClaimTemplates) &&
 * (!has(self.volumeClaimTemplates) || self.vct == oldSelf.vct) */
static void
check_vct_rule(actx *a, const sn_node *n, json_object *v, json_object *old)
{
    json_object *cur = NULL, *prev = NULL;
    int hc, hp;

    if (old == NULL || !json_object_is_type(old, json_type_object))
        return; /* transition rules only run on update */
    hc = json_object_object_get_ex(v, "volumeClaimTemplates", &cur);
    hp = json_object_object_get_ex(old, "volumeClaimTemplates", &prev);
    if (hc == hp && (!hc || sim_json_equal(cur, prev))) return;
    json_object *tv = json_object_new_string("object");
    if (tv == NULL || sim_causes_invalid(&a->r->causes, a->path, tv, n->vct_message) != 0)
        a->nomem = 1;
    json_object_put(tv);
}

static void
validate(actx *a, const sn_node *n, json_object *v, json_object *old, int resource)
{
    if (a->nomem || !(n->flags & SN_SUB_CHECKS) || clean_shared(a, v, old)) return;
    if (n->flags & SN_EMBEDDED) resource = 1;
    if (v == NULL && (n->flags & SN_NULLABLE)) return;
    if (!type_ok(n, v)) {
        char detail[AP_PATH_MAX + 1024], q[64];
        snprintf(q, sizeof q, "\"%s\"", json_type_name(v));
        snprintf(detail, sizeof detail, "%s in body must be of type %s: %s", body_name(a),
                 (n->flags & SN_INTSTR) ? "integer-or-string" : sn_type_name(n), q);
        if (sim_causes_type_invalid(&a->r->causes, a->path, v, detail) != 0) a->nomem = 1;
        return;
    }
    if (v == NULL) return;
    if (n->nenum > 0) {
        int found = 0;
        for (size_t i = 0; i < n->nenum && !found; i++)
            found = sim_json_equal(json_object_array_get_idx(n->enum_vals, i), v);
        if (!found && sim_causes_not_supported(&a->r->causes, a->path, v,
                                               (const char *const *)n->enum_text, n->nenum) != 0)
            a->nomem = 1;
    }
    switch (json_object_get_type(v)) {
    case json_type_string:
        validate_string(a, n, v);
        break;
    case json_type_int:
    case json_type_double:
        validate_number(a, n, v);
        break;
    case json_type_array:
        validate_array(a, n, v);
        break;
    case json_type_object:
        validate_object(a, n, v, old, resource);
        if (n->flags & SN_VCT_RULE) check_vct_rule(a, n, v, old);
        break;
    default:
        break;
    }
    for (size_t i = 0; i < n->nall_of; i++)
        validate(a, n->all_of[i], v, old, 0);
    if (n->nany_of > 0 && !(n->flags & SN_ANYOF_TYPES)) {
        int pass = 0;
        for (size_t i = 0; i < n->nany_of && !pass; i++)
            pass = trial(a, n->any_of[i], v) == 0;
        if (!pass) invalid(a, v, "%s in body must validate at least one schema (anyOf)%s", "");
    }
    if (n->none_of > 0) {
        size_t passed = 0;
        for (size_t i = 0; i < n->none_of; i++)
            passed += trial(a, n->one_of[i], v) == 0;
        if (passed != 1)
            invalid(a, v, "%s in body must validate one and only one schema (oneOf)%s", "");
    }
}

int
sim_schema_apply(const sim_schema *s, json_object *obj, json_object *old, unsigned flags,
                 sim_schema_report *report)
{
    actx *a;
    int rc;

    if (s == NULL || obj == NULL || report == NULL) return ERR_INVALID;
    a = calloc(1, sizeof *a);
    if (a == NULL) return ERR_NOMEM;
    a->flags = flags;
    a->r = report;
    if (flags & (SIM_SCHEMA_PRUNE | SIM_SCHEMA_DEFAULT)) prune_default(a, s->root, obj, old, 1);
    if (!a->nomem && (flags & SIM_SCHEMA_VALIDATE)) validate(a, s->root, obj, old, 1);
    rc = (a->nomem || report->causes.nomem) ? ERR_NOMEM
         : report->causes.n > 0             ? ERR_UNPROCESSABLE
                                            : 0;
    free(a);
    return rc;
}
