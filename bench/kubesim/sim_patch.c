/* sim_patch.c - JSON merge patch (RFC 7386), deep equality and the copy
 * helper shared with the JSON patch and strategic merge patch files.
 *
 * Every patch works on a private deep copy of the stored object, so a failed
 * patch can never leave a half-patched object behind and the caller's tree
 * stays untouched. json-c keeps object keys in insertion order and replaces
 * an existing key's value in place, so a patched object keeps the field
 * order of the stored one (what clients see on the wire). */
#include "bench/kubesim/sim_patch.h"
#include "bench/kubesim/sim_patch_internal.h"

#include "core/err.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
sim__errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

json_object *
sim__json_copy(json_object *v, int *ok)
{
    json_object *dst = NULL;

    if (v == NULL) return NULL;
    if (json_object_deep_copy(v, &dst, NULL) != 0) {
        *ok = 0;
        return NULL;
    }
    return dst;
}

/* Merge patch object p into object t (owned by the caller), recursively. */
static int
merge_into(json_object *t, json_object *p)
{
    int ok = 1;

    json_object_object_foreach(p, k, v)
    {
        if (v == NULL) {
            json_object_object_del(t, k);
            continue;
        }
        if (json_object_is_type(v, json_type_object)) {
            json_object *cur = NULL;
            if (json_object_object_get_ex(t, k, &cur) &&
                json_object_is_type(cur, json_type_object)) {
                if (merge_into(cur, v) != 0) return -1;
                continue;
            }
            /* A new or non-object target: the patch object, nulls dropped. */
            json_object *n = json_object_new_object();
            if (n == NULL || merge_into(n, v) != 0 || json_object_object_add(t, k, n) != 0) {
                json_object_put(n);
                return -1;
            }
            continue;
        }
        json_object *c = sim__json_copy(v, &ok);
        if (!ok || json_object_object_add(t, k, c) != 0) {
            json_object_put(c);
            return -1;
        }
    }
    return 0;
}

json_object *
sim_merge_patch(json_object *doc, json_object *patch)
{
    int ok = 1;
    json_object *res;

    if (patch == NULL) return NULL;
    if (!json_object_is_type(patch, json_type_object)) return sim__json_copy(patch, &ok);
    if (doc != NULL && json_object_is_type(doc, json_type_object))
        res = sim__json_copy(doc, &ok);
    else
        res = json_object_new_object();
    if (res == NULL) return NULL;
    if (merge_into(res, patch) != 0) {
        json_object_put(res);
        return NULL;
    }
    return res;
}

/* A new object from patch object p alone (nulls dropped). */
static json_object *
fresh_from_patch(json_object *p)
{
    json_object *n = json_object_new_object();
    if (n != NULL && merge_into(n, p) != 0) {
        json_object_put(n);
        return NULL;
    }
    return n;
}

/* The static copy of a well-known key, or NULL (by length first: cheaper
 * than the strdup + free it saves). */
static const char *const known_keys[] = {
    /* by length */
    "uid",
    "kind",
    "spec",
    "data",
    "name",
    "time",
    "type",
    "status",
    "labels",
    "reason",
    "message",
    "manager",
    "metadata",
    "selector",
    "replicas",
    "template",
    "fieldsV1",
    "namespace",
    "operation",
    "apiVersion",
    "generation",
    "fieldsType",
    "finalizers",
    "conditions",
    "containers",
    "annotations",
    "subresource",
    "generateName",
    "managedFields",
    "resourceVersion",
    "ownerReferences",
    "creationTimestamp",
    "deletionTimestamp",
    "lastTransitionTime",
    "observedGeneration",
    "deletionGracePeriodSeconds",
};

#define NKNOWN (sizeof known_keys / sizeof known_keys[0])

/* known_keys index of k, or -1 (by length first: cheaper than the strdup +
 * free and the hashing it saves). */
static int
known_key(const char *k)
{
    /* where each length starts in keys[] and how many: edit both together */
    static const struct {
        unsigned char first, count;
    } by_len[32] = {[3] = {0, 1},   [4] = {1, 6},   [6] = {7, 3},   [7] = {10, 2},  [8] = {12, 5},
                    [9] = {17, 2},  [10] = {19, 6}, [11] = {25, 2}, [12] = {27, 1}, [13] = {28, 1},
                    [15] = {29, 2}, [17] = {31, 2}, [18] = {33, 2}, [26] = {35, 1}};
    size_t n = strlen(k);
    if (n >= 32) return -1;
    for (size_t i = by_len[n].first, c = by_len[n].count; c > 0; i++, c--)
        if (known_keys[i][0] == k[0] && memcmp(known_keys[i], k, n) == 0) return (int)i;
    return -1;
}

/* Their json-c hashes, computed once per thread (json-c's string hash is
 * fixed for the process; recomputed should a table use another function). */
static _Thread_local lh_hash_fn *kh_fn;
static _Thread_local unsigned long kh[NKNOWN];
static _Thread_local unsigned char kh_ok[NKNOWN];

static unsigned long known_hash(struct lh_table *t, int i);

int
sim_json_add_new(json_object *o, const char *k, json_object *v)
{
    int i = known_key(k);
    struct lh_table *t = json_object_get_object(o);
    if (i < 0 || t == NULL) {
        if (json_object_object_add_ex(o, k, v, JSON_C_OBJECT_ADD_KEY_IS_NEW) == 0) return 0;
        json_object_put(v);
        return ERR_NOMEM;
    }
    /* what json_object_object_add_ex does for a new key, minus the hashing */
    if (lh_table_insert_w_hash(t, known_keys[i], v, known_hash(t, i),
                               JSON_C_OBJECT_ADD_CONSTANT_KEY) == 0)
        return 0;
    json_object_put(v);
    return ERR_NOMEM;
}

/* The hash of known key i for table t (see kh). */
static unsigned long
known_hash(struct lh_table *t, int i)
{
    if (kh_fn != t->hash_fn) {
        memset(kh_ok, 0, sizeof kh_ok);
        kh_fn = t->hash_fn;
    }
    if (!kh_ok[i]) {
        kh[i] = lh_get_hash(t, known_keys[i]);
        kh_ok[i] = 1;
    }
    return kh[i];
}

/* Add a value this function made or referenced; the reference is dropped
 * when the add fails. */
static int
add_new_key(json_object *o, const char *k, json_object *v)
{
    return sim_json_add_new(o, k, v) == 0 ? 0 : -1;
}

/* Member k of object o: a few strcmp for small objects (patches usually
 * are) instead of hashing k. Returns 1 when present. */
static int
member_get(json_object *o, int small, const char *k, json_object **v)
{
    if (!small) return json_object_object_get_ex(o, k, v);
    for (struct lh_entry *e = lh_table_head(json_object_get_object(o)); e; e = lh_entry_next(e))
        if (strcmp(lh_entry_k(e), k) == 0) {
            *v = lh_entry_v(e);
            return 1;
        }
    return 0;
}

/* doc and p objects: doc's keys in doc's order (deleted ones left out,
 * patched ones merged or replaced, the others referenced), then the keys
 * only p has in p's order - what deep copy + merge_into produce. */
static json_object *
merge_shared(json_object *doc, json_object *p)
{
    json_object *res = json_object_new_object();
    int ok = 1, np = json_object_object_length(p), small = np <= 4, seen = 0;

    if (res == NULL) return NULL;
    json_object_object_foreach(doc, k, dv)
    {
        json_object *pv = NULL, *nv;
        if (seen == np || !member_get(p, small, k, &pv)) {
            nv = json_object_get(dv);
        } else if (seen++, pv == NULL) {
            continue; /* deleted */
        } else if (json_object_is_type(pv, json_type_object)) {
            nv = json_object_is_type(dv, json_type_object) ? merge_shared(dv, pv)
                                                           : fresh_from_patch(pv);
            if (nv == NULL) goto fail;
        } else {
            nv = sim__json_copy(pv, &ok);
            if (!ok) goto fail;
        }
        if (add_new_key(res, k, nv) != 0) goto fail;
    }
    if (seen == np) return res; /* no new keys */
    json_object_object_foreach(p, pk, pv)
    {
        json_object *nv;
        if (pv == NULL || json_object_object_get_ex(doc, pk, NULL)) continue;
        if (json_object_is_type(pv, json_type_object))
            nv = fresh_from_patch(pv);
        else
            nv = sim__json_copy(pv, &ok);
        if (nv == NULL || add_new_key(res, pk, nv) != 0) goto fail;
    }
    return res;
fail:
    json_object_put(res);
    return NULL;
}

json_object *
sim_merge_patch_shared(json_object *doc, json_object *patch)
{
    if (patch == NULL || !json_object_is_type(patch, json_type_object) || doc == NULL ||
        !json_object_is_type(doc, json_type_object))
        return sim_merge_patch(doc, patch);
    return merge_shared(doc, patch);
}

json_object *
sim_json_shallow_copy(json_object *o)
{
    if (o == NULL || !json_object_is_type(o, json_type_object)) return NULL;
    json_object *n = json_object_new_object();
    if (n == NULL) return NULL;
    json_object_object_foreach(o, k, v)
    {
        if (add_new_key(n, k, json_object_get(v)) != 0) {
            json_object_put(n);
            return NULL;
        }
    }
    return n;
}

static int
is_container(json_object *v)
{
    return json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array);
}

int
sim_json_unshare(json_object *n, json_object *base)
{
    int ok = 1;

    if (n == NULL || base == NULL || n == base) return 0;
    if (json_object_is_type(n, json_type_object) && json_object_is_type(base, json_type_object)) {
        /* replacing a value in place keeps the key's position and the
         * iteration valid (no entry is added or removed) */
        json_object_object_foreach(n, k, v)
        {
            json_object *bv = NULL;
            if (v == NULL || !json_object_object_get_ex(base, k, &bv) || bv == NULL) continue;
            if (v == bv) {
                json_object *c = sim__json_copy(v, &ok);
                if (!ok || json_object_object_add(n, k, c) != 0) {
                    json_object_put(c);
                    return ERR_NOMEM;
                }
            } else if (is_container(v) && sim_json_unshare(v, bv) != 0) {
                return ERR_NOMEM;
            }
        }
        return 0;
    }
    if (json_object_is_type(n, json_type_array) && json_object_is_type(base, json_type_array)) {
        size_t len = json_object_array_length(n), blen = json_object_array_length(base);
        for (size_t i = 0; i < len && i < blen; i++) {
            json_object *v = json_object_array_get_idx(n, i);
            json_object *bv = json_object_array_get_idx(base, i);
            if (v == NULL || bv == NULL) continue;
            if (v == bv) {
                json_object *c = sim__json_copy(v, &ok);
                if (!ok || json_object_array_put_idx(n, i, c) != 0) {
                    json_object_put(c);
                    return ERR_NOMEM;
                }
            } else if (is_container(v) && sim_json_unshare(v, bv) != 0) {
                return ERR_NOMEM;
            }
        }
    }
    return 0;
}

static int
num_equal(json_object *a, json_object *b)
{
    if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int)) {
        /* json-c keeps uint64 above INT64_MAX apart; compare both views. */
        return json_object_get_int64(a) == json_object_get_int64(b) &&
               json_object_get_uint64(a) == json_object_get_uint64(b);
    }
    double x = json_object_get_double(a), y = json_object_get_double(b);
    return x == y || (isnan(x) && isnan(y));
}

int
sim_json_equal(json_object *a, json_object *b)
{
    json_type ta, tb;

    if (a == b) return 1; /* shared subtrees (sim_merge_patch_shared) */
    if (a == NULL || b == NULL) return 0;
    ta = json_object_get_type(a);
    tb = json_object_get_type(b);
    if ((ta == json_type_int || ta == json_type_double) &&
        (tb == json_type_int || tb == json_type_double))
        return num_equal(a, b);
    if (ta != tb) return 0;
    switch (ta) {
    case json_type_boolean:
        return json_object_get_boolean(a) == json_object_get_boolean(b);
    case json_type_string:
        return json_object_get_string_len(a) == json_object_get_string_len(b) &&
               memcmp(json_object_get_string(a), json_object_get_string(b),
                      (size_t)json_object_get_string_len(a)) == 0;
    case json_type_array: {
        size_t n = json_object_array_length(a);
        if (n != json_object_array_length(b)) return 0;
        for (size_t i = 0; i < n; i++)
            if (!sim_json_equal(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
                return 0;
        return 1;
    }
    case json_type_object: {
        if (json_object_object_length(a) != json_object_object_length(b)) return 0;
        json_object_object_foreach(a, k, va)
        {
            json_object *vb = NULL;
            if (!json_object_object_get_ex(b, k, &vb) || !sim_json_equal(va, vb)) return 0;
        }
        return 1;
    }
    default:
        return 1;
    }
}

/* ---- hashing and the hash index ------------------------------------------ */

static uint64_t
mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t
bytes_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return mix64(h ^ n);
}

uint64_t
sim__json_hash(json_object *v)
{
    switch (v ? json_object_get_type(v) : json_type_null) {
    case json_type_null:
        return 0x6a09e667f3bcc908ULL;
    case json_type_boolean:
        return json_object_get_boolean(v) ? 0xbb67ae8584caa73bULL : 0x3c6ef372fe94f82bULL;
    case json_type_int:
    case json_type_double: {
        /* by numeric value, so 1 and 1.0 (equal) hash alike */
        double d = json_object_get_double(v);
        uint64_t bits;
        if (d == 0) d = 0; /* -0 == 0 */
        memcpy(&bits, &d, sizeof bits);
        return mix64(bits ^ 0xa54ff53a5f1d36f1ULL);
    }
    case json_type_string:
        return bytes_hash(json_object_get_string(v), (size_t)json_object_get_string_len(v));
    case json_type_array: {
        uint64_t h = 0x510e527fade682d1ULL;
        for (size_t i = 0; i < json_object_array_length(v); i++)
            h = mix64(h * 31 + sim__json_hash(json_object_array_get_idx(v, i)));
        return h;
    }
    case json_type_object: {
        /* a sum is order-independent, as object equality is */
        uint64_t h = 0x9b05688c2b3e6c1fULL;
        json_object_object_foreach(v, k, e)
        {
            h += mix64(bytes_hash(k, strlen(k)) ^ (sim__json_hash(e) * 0x9e3779b97f4a7c15ULL));
        }
        return h;
    }
    }
    return 0;
}

int
sim__hidx_init(sim__hidx *h, size_t n)
{
    size_t cap = 8;

    while (cap < 2 * n)
        cap <<= 1;
    h->hash = calloc(cap, sizeof *h->hash);
    h->pos = calloc(cap, sizeof *h->pos);
    if (h->hash == NULL || h->pos == NULL) {
        free(h->hash);
        free(h->pos);
        h->hash = NULL;
        h->pos = NULL;
        h->mask = 0;
        return ERR_NOMEM;
    }
    h->mask = cap - 1;
    h->used = 0;
    return 0;
}

void
sim__hidx_fini(sim__hidx *h)
{
    free(h->hash);
    free(h->pos);
    h->hash = NULL;
    h->pos = NULL;
}

static void
hidx_put(sim__hidx *h, uint64_t hash, size_t pos1)
{
    size_t s = (size_t)hash & h->mask;

    while (h->pos[s] != 0)
        s = (s + 1) & h->mask;
    h->hash[s] = hash;
    h->pos[s] = pos1;
}

int
sim__hidx_add(sim__hidx *h, uint64_t hash, size_t pos)
{
    if (2 * (h->used + 1) > h->mask + 1) {
        /* grow: reinsert in slot order keeps equal hashes in insertion order */
        sim__hidx old = *h;
        if (sim__hidx_init(h, old.mask + 1) != 0) {
            *h = old;
            return ERR_NOMEM;
        }
        h->used = old.used;
        size_t start = 0;
        while (start <= old.mask && old.pos[start] != 0)
            start++; /* an empty slot: walking from it never splits a run */
        for (size_t k = 1; k <= old.mask + 1; k++) {
            size_t s = (start + k) & old.mask;
            if (old.pos[s] != 0) hidx_put(h, old.hash[s], old.pos[s]);
        }
        sim__hidx_fini(&old);
    }
    hidx_put(h, hash, pos + 1);
    h->used++;
    return 0;
}

size_t
sim__hidx_find(const sim__hidx *h, uint64_t hash, size_t *cursor)
{
    size_t s = *cursor == SIZE_MAX ? (size_t)hash & h->mask : (*cursor + 1) & h->mask;

    while (h->pos[s] != 0) {
        if (h->hash[s] == hash) {
            *cursor = s;
            return h->pos[s] - 1;
        }
        s = (s + 1) & h->mask;
    }
    return SIZE_MAX;
}
