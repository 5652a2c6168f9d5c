/* codec.c - json-c -> msgpack, and slimming on the way in (decode.c reads it back).
 *
 * Mapping (exact round trip): null <-> nil, bool <-> bool, json int64 <->
 * msgpack int (uint64 above INT64_MAX stays unsigned), double <-> float64,
 * string <-> str (embedded NULs kept), array <-> array, object <-> map whose
 * keys are str, or a positive fixint naming a key of the dictionary (dict.c).
 * msgpack bin, ext and other keys are never written and are refused when
 * read (ERR_PARSE).
 *
 * Slimming happens while packing, so no trimmed copy of the json tree is
 * made: a per-kind table lists the top-level keys kept, and for some of them
 * the only sub-keys kept. metadata is always kept minus managedFields (the
 * largest part of most objects and read by no reconciler).
 */
#include "store/internal.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define STORE_MAX_DEPTH STORE__MAX_DEPTH

typedef store__slim_rule slim_rule;

static const char *const pod_spec[] = {"nodeName", NULL};
static const char *const pod_status[] = {"phase", "conditions", "podIPs", "podIP", NULL};

static const slim_rule pod_rules[] = {
    {"apiVersion", NULL}, {"kind", NULL}, {"spec", pod_spec}, {"status", pod_status}, {NULL, NULL}};
static const slim_rule spec_rules[] = {
    {"apiVersion", NULL}, {"kind", NULL}, {"spec", NULL}, {NULL, NULL}};
static const slim_rule meta_rules[] = {{"apiVersion", NULL}, {"kind", NULL}, {NULL, NULL}};

/* NULL: every top-level key kept (custom resources: the reconcilers read all). */
const store__slim_rule *
store__slim_rules(enum store_kind kind)
{
    switch (kind) {
    case STORE_POD:
        return pod_rules;
    case STORE_SERVICE:
    case STORE_NETPOL:
        return spec_rules;
    case STORE_PVC:
        return meta_rules;
    default:
        return NULL; /* custom resources and STORE_KIND_COUNT */
    }
}

static int pack_value(msgpack_packer *pk, json_object *v, int depth);

/* A map key: its dictionary id as a fixint when it has one (dict.c). */
static int
pack_key(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    int id = store__dict_id(k, n);
    if (id >= 0) return msgpack_pack_uint8(pk, (uint8_t)id) ? ERR_NOMEM : 0;
    if (msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, k, n)) return ERR_NOMEM;
    return 0;
}

static int
pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    if (msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n)) return ERR_NOMEM;
    return 0;
}

/* Pack an object keeping the keys in keep (NULL: all) and skipping drop. */
static int
pack_map_filtered(msgpack_packer *pk, json_object *o, const char *const *keep, const char *drop,
                  int depth)
{
    size_t n = 0;
    if (!keep) {
        /* The common case (every nested object): count without a pass. */
        n = (size_t)json_object_object_length(o);
        if (drop && json_object_object_get_ex(o, drop, NULL)) n--;
    } else {
        json_object_object_foreach(o, k0, v0)
        {
            (void)v0;
            size_t i;
            if (drop && strcmp(k0, drop) == 0) continue;
            for (i = 0; keep[i] && strcmp(keep[i], k0) != 0; i++)
                ;
            if (keep[i]) n++;
        }
    }
    if (msgpack_pack_map(pk, n)) return ERR_NOMEM;
    json_object_object_foreach(o, k, v)
    {
        if (drop && strcmp(k, drop) == 0) continue;
        if (keep) {
            size_t i;
            for (i = 0; keep[i] && strcmp(keep[i], k) != 0; i++)
                ;
            if (!keep[i]) continue;
        }
        int rc = pack_key(pk, k);
        if (!rc) rc = pack_value(pk, v, depth + 1);
        if (rc) return rc;
    }
    return 0;
}

static int
pack_value(msgpack_packer *pk, json_object *v, int depth)
{
    json_type t = json_object_get_type(v);
    if (depth > STORE_MAX_DEPTH && (t == json_type_array || t == json_type_object))
        return ERR_TOOLARGE;
    switch (t) {
    case json_type_null:
        return msgpack_pack_nil(pk) ? ERR_NOMEM : 0;
    case json_type_boolean:
        return (json_object_get_boolean(v) ? msgpack_pack_true(pk) : msgpack_pack_false(pk))
                   ? ERR_NOMEM
                   : 0;
    case json_type_int: {
        int64_t i = json_object_get_int64(v);
        /* json-c keeps values above INT64_MAX as uint64 and clamps get_int64. */
        if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
            return msgpack_pack_uint64(pk, json_object_get_uint64(v)) ? ERR_NOMEM : 0;
        return msgpack_pack_int64(pk, i) ? ERR_NOMEM : 0;
    }
    case json_type_double:
        return msgpack_pack_double(pk, json_object_get_double(v)) ? ERR_NOMEM : 0;
    case json_type_string:
        return pack_str(pk, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    case json_type_array: {
        size_t n = json_object_array_length(v);
        if (msgpack_pack_array(pk, n)) return ERR_NOMEM;
        for (size_t i = 0; i < n; i++) {
            int rc = pack_value(pk, json_object_array_get_idx(v, i), depth + 1);
            if (rc) return rc;
        }
        return 0;
    }
    case json_type_object:
        return pack_map_filtered(pk, v, NULL, NULL, depth);
    }
    return ERR_INVALID;
}

static int
pack_top(msgpack_packer *pk, enum store_kind kind, json_object *obj)
{
    const slim_rule *rules = store__slim_rules(kind);
    size_t n = 0;

    json_object_object_foreach(obj, k0, v0)
    {
        (void)v0;
        if (strcmp(k0, "metadata") == 0 || !rules) {
            n++;
            continue;
        }
        for (const slim_rule *r = rules; r->key; r++)
            if (strcmp(r->key, k0) == 0) {
                n++;
                break;
            }
    }
    if (msgpack_pack_map(pk, n)) return ERR_NOMEM;
    json_object_object_foreach(obj, k, v)
    {
        const slim_rule *rule = NULL;
        int meta = strcmp(k, "metadata") == 0;
        if (!meta && rules) {
            for (const slim_rule *r = rules; r->key; r++)
                if (strcmp(r->key, k) == 0) rule = r;
            if (!rule) continue;
        }
        int rc = pack_key(pk, k);
        if (rc) return rc;
        if (meta && json_object_is_type(v, json_type_object))
            rc =
                pack_map_filtered(pk, v, NULL, kind < STORE_KIND_COUNT ? "managedFields" : NULL, 1);
        else if (rule && rule->sub && json_object_is_type(v, json_type_object))
            rc = pack_map_filtered(pk, v, rule->sub, NULL, 1);
        else
            rc = pack_value(pk, v, 1);
        if (rc) return rc;
    }
    return 0;
}

/* The packer writes into a stack buffer first (a slimmed object is a few
 * hundred bytes), spilling to the heap only for big objects; the result is
 * copied into an exact-size allocation. (msgpack_sbuffer would hand out an
 * 8 KiB buffer per object, and the informer queues thousands of them.) */
typedef struct enc_buf {
    char *p;
    size_t n, cap;
    int heap, oom;
    char stack[4096];
} enc_buf;

static int
enc_write(void *data, const char *buf, size_t len)
{
    enc_buf *b = data;
    if (b->n + len > b->cap) {
        size_t cap = b->cap * 2;
        while (cap < b->n + len)
            cap *= 2;
        char *p = b->heap ? realloc(b->p, cap) : malloc(cap);
        if (!p) {
            b->oom = 1;
            return -1;
        }
        if (!b->heap) memcpy(p, b->stack, b->n);
        b->p = p;
        b->cap = cap;
        b->heap = 1;
    }
    memcpy(b->p + b->n, buf, len);
    b->n += len;
    return 0;
}

int
store_encode(enum store_kind kind, json_object *obj, char **out, size_t *outlen)
{
    enc_buf b;
    msgpack_packer pk;
    int rc;

    *out = NULL;
    *outlen = 0;
    if (!json_object_is_type(obj, json_type_object)) return ERR_INVALID;
    b.p = b.stack;
    b.n = 0;
    b.cap = sizeof b.stack;
    b.heap = b.oom = 0;
    msgpack_packer_init(&pk, &b, enc_write);
    rc = pack_top(&pk, kind, obj);
    if (!rc && b.oom) rc = ERR_NOMEM;
    if (!rc) {
        *out = malloc(b.n ? b.n : 1);
        if (*out) {
            memcpy(*out, b.p, b.n);
            *outlen = b.n;
        } else {
            rc = ERR_NOMEM;
        }
    }
    if (b.heap) free(b.p);
    return rc;
}
