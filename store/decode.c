/* decode.c - stored msgpack -> json-c trees (store_decode, store_get).
 *
 * The bytes are read directly (no msgpack-c unpack: its zone allocation and
 * tree cost as much as building the json itself), with every read bounds-
 * checked, so one pass both validates and builds. What is accepted and what
 * comes out is what msgpack-c + the old converter gave:
 *   nil -> NULL, bool, ints (uint64 above INT64_MAX stays unsigned), float32/
 *   float64 -> double, str -> string (embedded NULs kept), array, map with
 *   str keys or non-negative integer keys naming a dictionary key (dict.c);
 *   bin, ext, other keys, an unknown dictionary id, a truncated value, bytes
 *   after the value, or a container nested deeper than STORE__MAX_DEPTH (msgpack-c's
 *   32-container stack) give ERR_PARSE, and nothing is returned.
 *
 * Keys: a dictionary key is a static string, so it is inserted without a
 * copy (JSON_C_OBJECT_ADD_CONSTANT_KEY; json-c frees only keys it copied, so
 * freeing, deep copies, object_del and replacing values work as before).
 * The encoders write every map with unique keys and a dictionary key always
 * as its id (codec.c pack_key, jsonenc.c), but these bytes may be damaged, so
 * uniqueness is proven per map, not assumed: a dictionary id not seen yet in
 * a map holding no string key so far skips json-c's lookup (KEY_IS_NEW);
 * anything else goes through the lookup, and a repeated key replaces the
 * earlier value as json_object_object_add does. A new dictionary key also
 * skips json-c's hashing: its hash is computed once per process (json-c's
 * string hash is fixed once its seed is drawn) and the entry inserted with
 * lh_table_insert_w_hash, json-c's documented way, exactly as
 * json_object_object_add_ex would; a table with another hash function (one
 * set with json_global_set_string_hash) takes the plain call.
 */
#include "store/internal.h"

#include "core/err.h"

#include <json-c/linkhash.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct dec {
    const unsigned char *p, *end;
} dec;

/* Read n bytes big-endian into *v; ERR_PARSE when truncated. */
static int
take(dec *d, int n, uint64_t *v)
{
    if ((size_t)(d->end - d->p) < (size_t)n) return ERR_PARSE;
    *v = store__be(d->p, n);
    d->p += n;
    return 0;
}

static int value(dec *d, json_object **out, int depth);

static pthread_once_t dict_hash_once = PTHREAD_ONCE_INIT;
static lh_hash_fn *dict_hash_fn; /* NULL: not computed (plain inserts) */
static unsigned long dict_hash[128];

static void
dict_hash_init(void)
{
    json_object *o = json_object_new_object();
    struct lh_table *t;
    if (!o) return;
    t = json_object_get_object(o);
    for (int id = 0; id < 128 && store__dict_key((uint64_t)id); id++)
        dict_hash[id] = lh_get_hash(t, store__dict_key((uint64_t)id));
    dict_hash_fn = t->hash_fn;
    json_object_put(o);
}

/* Insert a dictionary key known to be absent from m. */
static int
add_new_dict_key(json_object *m, int id, const char *k, json_object *e)
{
    struct lh_table *t = json_object_get_object(m);
    if (dict_hash_fn && t->hash_fn == dict_hash_fn)
        return lh_table_insert_w_hash(t, k, e, dict_hash[id], JSON_C_OBJECT_ADD_CONSTANT_KEY);
    return json_object_object_add_ex(m, k, e,
                                     JSON_C_OBJECT_ADD_CONSTANT_KEY | JSON_C_OBJECT_ADD_KEY_IS_NEW);
}

/* A string body of n bytes (header read). */
static int
str_body(dec *d, uint64_t n, const char **s)
{
    if ((uint64_t)(d->end - d->p) < n || n > INT_MAX) return ERR_PARSE;
    *s = (const char *)d->p;
    d->p += n;
    return 0;
}

/* A map key: *id >= 0 for a dictionary key (*s its static string), else -1
 * with the string slice. */
static int
map_key(dec *d, int *id, const char **s, uint64_t *n)
{
    uint64_t v;
    unsigned c;
    int w;
    if (d->p >= d->end) return ERR_PARSE;
    c = *d->p++;
    if (c <= 0x7f) {
        v = c;
        goto dict;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        *id = -1;
        *n = c & 0x1f;
        return str_body(d, *n, s);
    }
    switch (c) {
    case 0xd9:
    case 0xda:
    case 0xdb:
        *id = -1;
        if (take(d, 1 << (c - 0xd9), n)) return ERR_PARSE;
        return str_body(d, *n, s);
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        if (take(d, 1 << (c - 0xcc), &v)) return ERR_PARSE;
        goto dict;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        /* signed encodings of a non-negative value read as unsigned too */
        w = 1 << (c - 0xd0);
        if (take(d, w, &v)) return ERR_PARSE;
        if (v >> (w * 8 - 1)) return ERR_PARSE;
        goto dict;
    default:
        return ERR_PARSE;
    }
dict:
    *s = store__dict_key(v);
    if (!*s) return ERR_PARSE;
    *id = (int)v;
    return 0;
}

static int
map(dec *d, uint64_t n, json_object **out, int depth)
{
    json_object *m;
    uint64_t seen[2] = {0, 0}; /* dictionary ids (< 128) inserted so far */
    int had_str = 0;
    char small[256];

    /* Each entry takes two bytes at least: refuse counts the rest cannot hold. */
    if (n > (uint64_t)(d->end - d->p) / 2) return ERR_PARSE;
    m = json_object_new_object();
    if (!m) return ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) {
        json_object *e;
        const char *k;
        uint64_t kl = 0;
        int id, rc = map_key(d, &id, &k, &kl);
        if (!rc) rc = value(d, &e, depth + 1);
        if (rc) {
            json_object_put(m);
            return rc;
        }
        if (id >= 0) {
            uint64_t bit = (uint64_t)1 << (id & 63);
            if (!had_str && !(seen[id >> 6] & bit))
                rc = add_new_dict_key(m, id, k, e);
            else
                rc = json_object_object_add_ex(m, k, e, JSON_C_OBJECT_ADD_CONSTANT_KEY);
            seen[id >> 6] |= bit;
        } else {
            char *key = small;
            had_str = 1;
            if (kl >= sizeof small && !(key = malloc(kl + 1))) {
                rc = -1;
            } else {
                memcpy(key, k, kl);
                key[kl] = 0;
                rc = json_object_object_add_ex(m, key, e, 0);
                if (key != small) free(key);
            }
        }
        if (rc) {
            json_object_put(e);
            json_object_put(m);
            return ERR_NOMEM;
        }
    }
    *out = m;
    return 0;
}

static int
array(dec *d, uint64_t n, json_object **out, int depth)
{
    json_object *a;
    /* A byte per element at least: refuse counts the rest cannot hold. */
    if (n > (uint64_t)(d->end - d->p) || n > INT_MAX) return ERR_PARSE;
    a = json_object_new_array_ext((int)n);
    if (!a) return ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) {
        json_object *e;
        int rc = value(d, &e, depth + 1);
        if (!rc && json_object_array_add(a, e)) {
            json_object_put(e);
            rc = ERR_NOMEM;
        }
        if (rc) {
            json_object_put(a);
            return rc;
        }
    }
    *out = a;
    return 0;
}

static json_object *
int_obj(uint64_t u)
{
    return u > (uint64_t)INT64_MAX ? json_object_new_uint64(u) : json_object_new_int64((int64_t)u);
}

static int
value(dec *d, json_object **out, int depth)
{
    uint64_t v;
    const char *s;
    unsigned c;
    int w;

    *out = NULL;
    if (d->p >= d->end) return ERR_PARSE;
    c = *d->p++;
    if (c <= 0x7f) {
        *out = json_object_new_int64(c);
    } else if (c >= 0xe0) {
        *out = json_object_new_int64((int8_t)c);
    } else if (c <= 0x8f || (c >= 0xde && c <= 0xdf)) {
        if (depth > STORE__MAX_DEPTH) return ERR_PARSE;
        if (c <= 0x8f)
            v = c & 0xf;
        else if (take(d, 2 << (c - 0xde), &v))
            return ERR_PARSE;
        return map(d, v, out, depth);
    } else if (c <= 0x9f || (c >= 0xdc && c <= 0xdd)) {
        if (depth > STORE__MAX_DEPTH) return ERR_PARSE;
        if (c <= 0x9f)
            v = c & 0xf;
        else if (take(d, 2 << (c - 0xdc), &v))
            return ERR_PARSE;
        return array(d, v, out, depth);
    } else if (c <= 0xbf || (c >= 0xd9 && c <= 0xdb)) {
        if (c <= 0xbf)
            v = c & 0x1f;
        else if (take(d, 1 << (c - 0xd9), &v))
            return ERR_PARSE;
        if (str_body(d, v, &s)) return ERR_PARSE;
        *out = json_object_new_string_len(s, (int)v);
    } else {
        switch (c) {
        case 0xc0:
            return 0; /* json-c's null is the NULL pointer */
        case 0xc2:
        case 0xc3:
            *out = json_object_new_boolean(c == 0xc3);
            break;
        case 0xca: {
            float f;
            uint32_t b;
            if (take(d, 4, &v)) return ERR_PARSE;
            b = (uint32_t)v;
            memcpy(&f, &b, sizeof f);
            *out = json_object_new_double((double)f);
            break;
        }
        case 0xcb: {
            double f;
            if (take(d, 8, &v)) return ERR_PARSE;
            memcpy(&f, &v, sizeof f);
            *out = json_object_new_double(f);
            break;
        }
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            if (take(d, 1 << (c - 0xcc), &v)) return ERR_PARSE;
            *out = int_obj(v);
            break;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3:
            w = 1 << (c - 0xd0);
            if (take(d, w, &v)) return ERR_PARSE;
            if (w < 8 && (v >> (w * 8 - 1))) v |= ~(uint64_t)0 << (w * 8); /* sign-extend */
            *out = json_object_new_int64((int64_t)v);
            break;
        default:
            return ERR_PARSE; /* bin, ext, never-used bytes */
        }
    }
    return *out ? 0 : ERR_NOMEM;
}

int
store_msgpack_to_json(const void *data, size_t len, json_object **out)
{
    dec d = {data, (const unsigned char *)data + len};
    int rc;

    *out = NULL;
    if (!data || !len) return ERR_PARSE;
    pthread_once(&dict_hash_once, dict_hash_init);
    rc = value(&d, out, 0);
    if (!rc && d.p != d.end) rc = ERR_PARSE;
    if (rc) {
        json_object_put(*out);
        *out = NULL;
    }
    return rc;
}

int
store_decode(const store_item *it, json_object **out)
{
    return store_msgpack_to_json(it->data, it->len, out);
}
