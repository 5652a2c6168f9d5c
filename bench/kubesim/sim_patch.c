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

#include <math.h>
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

    if (a == NULL || b == NULL) return a == b;
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
