/* mpwalk.c - a zero-allocation msgpack reader for the few fields keys and
 * indexes are made of (namespace, name, uid, controller owner, two labels,
 * spec.warmPoolRef.name). The writer runs it on every put (new value) and
 * update (old value), so it never builds a tree: it walks the bytes, and
 * skips whatever it does not need. Map keys are strings or dictionary ids
 * (dict.c). Every read is bounds-checked: damaged bytes give ERR_CORRUPT.
 */
#include "store/internal.h"

#include "core/err.h"

#include <string.h>

typedef struct mpr {
    const unsigned char *p, *end;
} mpr;

static int
need(mpr *r, size_t n)
{
    return (size_t)(r->end - r->p) >= n;
}

/* Header of the next value: its kind and, for str/bin/array/map/ext, its
 * length (elements for array/map, bytes otherwise). Advances past the header. */
enum { T_NIL, T_BOOL, T_INT, T_FLOAT, T_STR, T_BIN, T_ARR, T_MAP, T_EXT };

static int
head(mpr *r, int *type, uint64_t *len, int *bval)
{
    unsigned c;
    int extra = 0;
    if (!need(r, 1)) return ERR_CORRUPT;
    c = *r->p++;
    *len = 0;
    if (c <= 0x7f || c >= 0xe0) {
        *type = T_INT;
        *len = c;
        return 0;
    }
    if (c >= 0x80 && c <= 0x8f) {
        *type = T_MAP;
        *len = c & 0xf;
        return 0;
    }
    if (c >= 0x90 && c <= 0x9f) {
        *type = T_ARR;
        *len = c & 0xf;
        return 0;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        *type = T_STR;
        *len = c & 0x1f;
        return 0;
    }
    switch (c) {
    case 0xc0:
        *type = T_NIL;
        return 0;
    case 0xc2:
    case 0xc3:
        *type = T_BOOL;
        *bval = c == 0xc3;
        return 0;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        *type = T_BIN;
        extra = 1 << (c - 0xc4);
        break;
    case 0xc7:
    case 0xc8:
    case 0xc9:
        *type = T_EXT;
        extra = 1 << (c - 0xc7);
        break;
    case 0xca:
        *type = T_FLOAT;
        *len = 4;
        return need(r, 4) ? (r->p += 4, 0) : ERR_CORRUPT;
    case 0xcb:
        *type = T_FLOAT;
        return need(r, 8) ? (r->p += 8, 0) : ERR_CORRUPT;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        int n = 1 << ((c - 0xcc) & 3);
        if (!need(r, (size_t)n)) return ERR_CORRUPT;
        *type = T_INT;
        *len = store__be(r->p, n);
        r->p += n;
        return 0;
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        *type = T_EXT;
        *len = (uint64_t)(1 << (c - 0xd4)) + 1; /* type byte + data */
        return 0;
    case 0xd9:
    case 0xda:
    case 0xdb:
        *type = T_STR;
        extra = 1 << (c - 0xd9);
        break;
    case 0xdc:
    case 0xdd:
        *type = T_ARR;
        extra = 2 << (c - 0xdc);
        break;
    case 0xde:
    case 0xdf:
        *type = T_MAP;
        extra = 2 << (c - 0xde);
        break;
    default:
        return ERR_CORRUPT;
    }
    if (!need(r, (size_t)extra)) return ERR_CORRUPT;
    *len = store__be(r->p, extra);
    r->p += extra;
    if (*type == T_EXT) *len += 1;
    /* Every element takes at least one byte: a count the rest of the
     * buffer cannot hold is damage, found before anyone allocates for it. */
    if ((*type == T_ARR && *len > (uint64_t)(r->end - r->p)) ||
        (*type == T_MAP && *len > (uint64_t)(r->end - r->p) / 2))
        return ERR_CORRUPT;
    return 0;
}

static int
skip(mpr *r, int depth)
{
    int type, b;
    uint64_t len;
    if (depth > 256 || head(r, &type, &len, &b)) return ERR_CORRUPT;
    switch (type) {
    case T_STR:
    case T_BIN:
    case T_EXT:
        if (!need(r, len)) return ERR_CORRUPT;
        r->p += len;
        return 0;
    case T_ARR:
        for (uint64_t i = 0; i < len; i++)
            if (skip(r, depth + 1)) return ERR_CORRUPT;
        return 0;
    case T_MAP:
        for (uint64_t i = 0; i < 2 * len; i++)
            if (skip(r, depth + 1)) return ERR_CORRUPT;
        return 0;
    default:
        return 0;
    }
}

/* Read a map key: its dictionary id (>= 0), or -1 with the string. */
static int
key(mpr *r, int *id, const char **s, uint32_t *n)
{
    int type, b;
    uint64_t len;
    if (head(r, &type, &len, &b)) return ERR_CORRUPT;
    if (type == T_INT && len < 128) {
        *id = (int)len;
        return 0;
    }
    if (type != T_STR || !need(r, len)) return ERR_CORRUPT;
    *id = -1;
    *s = (const char *)r->p;
    *n = (uint32_t)len;
    r->p += len;
    return 0;
}

static int
key_is(int id, const char *s, uint32_t n, int want_id)
{
    const char *w = store__dict_key((uint64_t)want_id);
    if (id >= 0) return id == want_id;
    return w && strlen(w) == n && memcmp(w, s, n) == 0;
}

/* A string value into out (left empty for any other type), then skipped. */
static int
str_val(mpr *r, store__str *out, uint32_t max)
{
    mpr save = *r;
    int type, b;
    uint64_t len;
    if (head(r, &type, &len, &b)) return ERR_CORRUPT;
    if (type != T_STR) {
        *r = save;
        return skip(r, 0);
    }
    if (!need(r, len)) return ERR_CORRUPT;
    if (len > 0 && len <= max && !memchr(r->p, 0, len)) {
        out->p = (const char *)r->p;
        out->n = (uint32_t)len;
    }
    r->p += len;
    return 0;
}

/* Enter a map value (0 with *n), or skip a non-map (returns 1). */
static int
enter_map(mpr *r, uint64_t *n)
{
    mpr save = *r;
    int type, b;
    if (head(r, &type, n, &b)) return ERR_CORRUPT;
    if (type == T_MAP) return 0;
    *r = save;
    return skip(r, 0) ? ERR_CORRUPT : 1;
}

enum {
    K_APIVERSION = 0,
    K_KIND = 1,
    K_METADATA = 2,
    K_SPEC = 3,
    K_NAME = 5,
    K_NAMESPACE = 6,
    K_UID = 7,
    K_LABELS = 13,
    K_OWNERREFS = 15,
    K_CONTROLLER = 18,
    K_WARMPOOLREF = 64,
    K_LBL_NAMEHASH = 100,
    K_LBL_WARMPOOL = 110
};

static int
owner_refs(mpr *r, store__keys *k)
{
    int type, b, id;
    uint64_t n, m;
    const char *s;
    uint32_t sl;
    mpr save = *r;
    if (head(r, &type, &n, &b)) return ERR_CORRUPT;
    if (type != T_ARR) {
        *r = save;
        return skip(r, 0);
    }
    for (uint64_t i = 0; i < n; i++) {
        store__str uid = {0}, kind = {0}, name = {0};
        int ctl = 0, rc = enter_map(r, &m);
        if (rc < 0) return rc;
        if (rc) continue;
        for (uint64_t j = 0; j < m; j++) {
            if (key(r, &id, &s, &sl)) return ERR_CORRUPT;
            if (key_is(id, s, sl, K_UID)) {
                if (str_val(r, &uid, STORE_MAX_NAME)) return ERR_CORRUPT;
            } else if (key_is(id, s, sl, K_KIND)) {
                if (str_val(r, &kind, STORE_MAX_NAME)) return ERR_CORRUPT;
            } else if (key_is(id, s, sl, K_NAME)) {
                if (str_val(r, &name, STORE_MAX_NAME)) return ERR_CORRUPT;
            } else if (key_is(id, s, sl, K_CONTROLLER)) {
                mpr sv = *r;
                int t2;
                uint64_t l2;
                if (head(r, &t2, &l2, &b)) return ERR_CORRUPT;
                if (t2 == T_BOOL) {
                    ctl = b;
                } else {
                    *r = sv;
                    if (skip(r, 0)) return ERR_CORRUPT;
                }
            } else if (skip(r, 0)) {
                return ERR_CORRUPT;
            }
        }
        if (ctl && !k->own_uid.n) {
            k->own_uid = uid;
            k->own_kind = kind;
            k->own_name = name;
        }
    }
    return 0;
}

static int
labels(mpr *r, enum store_kind kind, store__keys *k)
{
    uint64_t n;
    int id, rc = enter_map(r, &n);
    const char *s;
    uint32_t sl;
    if (rc) return rc < 0 ? rc : 0;
    for (uint64_t i = 0; i < n; i++) {
        if (key(r, &id, &s, &sl)) return ERR_CORRUPT;
        if (kind == STORE_POD && key_is(id, s, sl, K_LBL_NAMEHASH)) {
            if (str_val(r, &k->idx_val[STORE_IDX_PODHASH], 63)) return ERR_CORRUPT;
        } else if (kind == STORE_SANDBOX && key_is(id, s, sl, K_LBL_WARMPOOL)) {
            if (str_val(r, &k->idx_val[STORE_IDX_POOLSB], 63)) return ERR_CORRUPT;
        } else if (skip(r, 0)) {
            return ERR_CORRUPT;
        }
    }
    return 0;
}

static int
metadata(mpr *r, enum store_kind kind, store__keys *k)
{
    uint64_t n;
    int id, rc = enter_map(r, &n);
    const char *s;
    uint32_t sl;
    if (rc) return rc < 0 ? rc : 0;
    for (uint64_t i = 0; i < n; i++) {
        if (key(r, &id, &s, &sl)) return ERR_CORRUPT;
        if (key_is(id, s, sl, K_NAMESPACE))
            rc = str_val(r, &k->ns, STORE_MAX_NAME);
        else if (key_is(id, s, sl, K_NAME))
            rc = str_val(r, &k->name, STORE_MAX_NAME);
        else if (key_is(id, s, sl, K_UID))
            rc = str_val(r, &k->uid, STORE_MAX_NAME);
        else if (key_is(id, s, sl, K_LABELS))
            rc = labels(r, kind, k);
        else if (key_is(id, s, sl, K_OWNERREFS))
            rc = owner_refs(r, k);
        else
            rc = skip(r, 0);
        if (rc) return ERR_CORRUPT;
    }
    return 0;
}

/* spec.warmPoolRef.name of a claim. */
static int
claim_spec(mpr *r, store__keys *k)
{
    uint64_t n, m;
    int id, rc = enter_map(r, &n);
    const char *s;
    uint32_t sl;
    if (rc) return rc < 0 ? rc : 0;
    for (uint64_t i = 0; i < n; i++) {
        if (key(r, &id, &s, &sl)) return ERR_CORRUPT;
        if (!key_is(id, s, sl, K_WARMPOOLREF)) {
            if (skip(r, 0)) return ERR_CORRUPT;
            continue;
        }
        rc = enter_map(r, &m);
        if (rc < 0) return rc;
        for (uint64_t j = 0; !rc && j < m; j++) {
            if (key(r, &id, &s, &sl)) return ERR_CORRUPT;
            if (key_is(id, s, sl, K_NAME)) {
                if (str_val(r, &k->idx_val[STORE_IDX_CLAIMPOOL], STORE_MAX_NAME))
                    return ERR_CORRUPT;
            } else if (skip(r, 0)) {
                return ERR_CORRUPT;
            }
        }
    }
    return 0;
}

int
store__keys_extract(enum store_kind kind, const void *data, size_t len, store__keys *k)
{
    mpr r = {data, (const unsigned char *)data + len};
    uint64_t n;
    int id, rc;
    const char *s;
    uint32_t sl;

    memset(k, 0, sizeof *k);
    rc = enter_map(&r, &n);
    if (rc) return rc < 0 ? ERR_CORRUPT : ERR_INVALID;
    for (uint64_t i = 0; i < n; i++) {
        if (key(&r, &id, &s, &sl)) return ERR_CORRUPT;
        if (key_is(id, s, sl, K_METADATA))
            rc = metadata(&r, kind, k);
        else if (kind == STORE_CLAIM && key_is(id, s, sl, K_SPEC))
            rc = claim_spec(&r, k);
        else
            rc = skip(&r, 0);
        if (rc) return ERR_CORRUPT;
    }
    if (r.p != r.end) return ERR_CORRUPT;
    k->idx_val[STORE_IDX_OWNER] = k->own_uid;
    return k->ns.n && k->name.n ? 0 : ERR_INVALID;
}
