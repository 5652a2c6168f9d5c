/* jsonenc.c - JSON text straight to the stored encoding, without a json-c tree.
 *
 * store_encode_json produces exactly the bytes store_encode gives for the
 * tree json-c's tokener would build from the same text: the same slimming
 * (codec.c's per-kind rules, managedFields dropped from metadata), the same
 * dictionary ids for keys (dict.c), the same msgpack forms for every value
 * (msgpack-c picks the smallest; so do we), keys in text order (json-c
 * keeps insertion order). Dropped values are validated, never encoded.
 *
 * It accepts strict JSON only, and only where json-c's result is certain.
 * Anything else gives ERR_PARSE and the caller takes the json-c path, which
 * decides as it always did: duplicate keys (after unescaping), \u0000, unpaired
 * surrogates, raw control characters, leading zeros, literals in other case,
 * NaN/Infinity, comments, trailing commas, containers deeper than the store
 * keeps (its own ERR_INVALID comes from the json-c path then).
 *
 * Map and array headers are written before their element counts are known:
 * one byte is reserved and the body moved when the count needs 3 or 5.
 */
#include "store/internal.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define SKIP_DEPTH 400 /* dropped values nest at most this deep (json-c allows 512) */
#define KEYS_MAX   256 /* keys of one kept map checked for duplicates */

typedef struct jenc {
    const unsigned char *p, *end;
    unsigned char *o;
    size_t n, cap;
    int heap;
    store_json_meta *meta;
    int drop_managed; /* managedFields dropped from metadata (not for STORE_KIND_COUNT) */
    unsigned char stack[4096];
} jenc;

static int
grow(jenc *j, size_t need)
{
    size_t cap = j->cap * 2;
    while (cap < j->n + need)
        cap *= 2;
    unsigned char *p = j->heap ? realloc(j->o, cap) : malloc(cap);
    if (!p) return ERR_NOMEM;
    if (!j->heap) memcpy(p, j->stack, j->n);
    j->o = p;
    j->cap = cap;
    j->heap = 1;
    return 0;
}

#define RESERVE(j, k)                                                                              \
    do {                                                                                           \
        if ((j)->n + (k) > (j)->cap && grow((j), (k))) return ERR_NOMEM;                           \
    } while (0)

static void
put_be(unsigned char *d, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        d[i] = (unsigned char)v;
}

static void
ws(jenc *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

/* ---- strings ------------------------------------------------------------ */

static int
hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return ERR_PARSE;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* One escape at p (after the backslash) -> its code point and length. Only
 * forms whose json-c result is certain: no \u0000, surrogates in pairs. */
static int
escape(const unsigned char *p, const unsigned char *end, unsigned *cp, int *used)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (p >= end) return ERR_PARSE;
    if (*p != 'u') {
        const char *f = *p ? strchr(from, *p) : NULL;
        if (!f) return ERR_PARSE;
        *cp = (unsigned char)to[f - from];
        *used = 1;
        return 0;
    }
    if (end - p < 5 || hex4(p + 1, cp) || *cp == 0 || (*cp >= 0xdc00 && *cp <= 0xdfff))
        return ERR_PARSE;
    *used = 5;
    if (*cp >= 0xd800 && *cp <= 0xdbff) {
        unsigned lo;
        if (end - p < 11 || p[5] != '\\' || p[6] != 'u' || hex4(p + 7, &lo) || lo < 0xdc00 ||
            lo > 0xdfff)
            return ERR_PARSE;
        *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
        *used = 11;
    }
    return 0;
}

/* Bytes a string's plain run stops at: quote, backslash, control characters. */
static const unsigned char str_stop[256] = {1, 1, 1, 1, 1, 1, 1, 1, 1,         1,         1, 1,
                                            1, 1, 1, 1, 1, 1, 1, 1, 1,         1,         1, 1,
                                            1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['\\'] = 1};

/* Find the end of the string starting after its quote: *esc says whether it
 * holds escapes (each checked here). j->p is left after the closing quote. */
static int
scan_str(jenc *j, const unsigned char **s, size_t *n, int *esc)
{
    const unsigned char *p = j->p;
    *esc = 0;
    *s = p;
    for (;;) {
        while (j->end - p >= 4 &&
               !(str_stop[p[0]] | str_stop[p[1]] | str_stop[p[2]] | str_stop[p[3]]))
            p += 4;
        while (p < j->end && !str_stop[*p])
            p++;
        if (p >= j->end || *p < 0x20) return ERR_PARSE;
        if (*p == '"') break;
        unsigned cp;
        int used;
        if (escape(p + 1, j->end, &cp, &used)) return ERR_PARSE;
        *esc = 1;
        p += 1 + used;
    }
    *n = (size_t)(p - *s);
    j->p = p + 1;
    return 0;
}

/* Decode the escapes of a string body scan_str checked into d (at most n
 * bytes: an escape is never shorter than its UTF-8); returns the length. */
static size_t
unescape(const unsigned char *s, size_t n, unsigned char *d)
{
    unsigned char *d0 = d;
    const unsigned char *p = s, *e = s + n;
    while (p < e) {
        if (*p != '\\') {
            *d++ = *p++;
            continue;
        }
        unsigned cp = 0;
        int used = 1;
        escape(p + 1, e, &cp, &used);
        p += 1 + used;
        if (cp < 0x80) {
            *d++ = (unsigned char)cp;
        } else if (cp < 0x800) {
            *d++ = (unsigned char)(0xc0 | cp >> 6);
            *d++ = (unsigned char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            *d++ = (unsigned char)(0xe0 | cp >> 12);
            *d++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
            *d++ = (unsigned char)(0x80 | (cp & 0x3f));
        } else {
            *d++ = (unsigned char)(0xf0 | cp >> 18);
            *d++ = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
            *d++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
            *d++ = (unsigned char)(0x80 | (cp & 0x3f));
        }
    }
    return (size_t)(d - d0);
}

static size_t
str_head_len(size_t n)
{
    return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

static void
str_head(unsigned char *d, size_t n)
{
    if (n < 32)
        d[0] = (unsigned char)(0xa0 | n);
    else if (n < 256)
        d[0] = 0xd9, d[1] = (unsigned char)n;
    else if (n < 65536)
        d[0] = 0xda, put_be(d + 1, n, 2);
    else
        d[0] = 0xdb, put_be(d + 1, n, 4);
}

static int
emit_str(jenc *j, const unsigned char **sp, size_t *sn)
{
    const unsigned char *s;
    size_t n;
    int esc;
    if (scan_str(j, &s, &n, &esc)) return ERR_PARSE;
    if (n > 0xffffffffu) return ERR_PARSE;
    size_t h = str_head_len(n);
    RESERVE(j, h + n);
    if (sp) *sp = s, *sn = n;
    if (!esc) {
        str_head(j->o + j->n, n);
        memcpy(j->o + j->n + h, s, n);
        j->n += h + n;
        return 0;
    }
    if (sp) *sp = NULL; /* an escaped value is not handed out raw */
    /* Decoded text is never longer than the escaped text. */
    unsigned char *d0 = j->o + j->n + h;
    size_t dn = unescape(s, n, d0);
    size_t dh = str_head_len(dn);
    if (dh != h) memmove(j->o + j->n + dh, d0, dn);
    str_head(j->o + j->n, dn);
    j->n += dh + dn;
    return 0;
}

/* ---- numbers and literals ----------------------------------------------- */

static int
emit_int(jenc *j, int64_t d)
{
    unsigned char *o;
    RESERVE(j, 9);
    o = j->o + j->n;
    if (d < -32) {
        if (d < -32768) {
            if (d < -2147483648LL)
                o[0] = 0xd3, put_be(o + 1, (uint64_t)d, 8), j->n += 9;
            else
                o[0] = 0xd2, put_be(o + 1, (uint64_t)d, 4), j->n += 5;
        } else if (d < -128) {
            o[0] = 0xd1, put_be(o + 1, (uint64_t)d, 2), j->n += 3;
        } else {
            o[0] = 0xd0, o[1] = (unsigned char)d, j->n += 2;
        }
    } else if (d < 128) {
        o[0] = (unsigned char)d, j->n += 1;
    } else if (d < 256) {
        o[0] = 0xcc, o[1] = (unsigned char)d, j->n += 2;
    } else if (d < 65536) {
        o[0] = 0xcd, put_be(o + 1, (uint64_t)d, 2), j->n += 3;
    } else if (d < 4294967296LL) {
        o[0] = 0xce, put_be(o + 1, (uint64_t)d, 4), j->n += 5;
    } else {
        o[0] = 0xcf, put_be(o + 1, (uint64_t)d, 8), j->n += 9;
    }
    return 0;
}

/* Strict JSON number grammar; integers as json-c reads them (strtoll /
 * strtoull, clamped when out of range), others through strtod like json-c. */
static int
emit_number(jenc *j)
{
    const unsigned char *s = j->p, *p = s;
    int neg = 0, dbl = 0;
    if (p < j->end && *p == '-') neg = 1, p++;
    if (p >= j->end || *p < '0' || *p > '9') return ERR_PARSE;
    if (*p == '0' && p + 1 < j->end && p[1] >= '0' && p[1] <= '9') return ERR_PARSE;
    const unsigned char *digits = p;
    while (p < j->end && *p >= '0' && *p <= '9')
        p++;
    const unsigned char *dend = p;
    if (p < j->end && *p == '.') {
        dbl = 1, p++;
        if (p >= j->end || *p < '0' || *p > '9') return ERR_PARSE;
        while (p < j->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < j->end && (*p == 'e' || *p == 'E')) {
        dbl = 1, p++;
        if (p < j->end && (*p == '+' || *p == '-')) p++;
        if (p >= j->end || *p < '0' || *p > '9') return ERR_PARSE;
        while (p < j->end && *p >= '0' && *p <= '9')
            p++;
    }
    j->p = p;
    if (dbl) {
        char buf[64], *e;
        size_t n = (size_t)(p - s);
        if (n >= sizeof buf) return ERR_PARSE;
        memcpy(buf, s, n);
        buf[n] = 0;
        double d = strtod(buf, &e);
        if (e != buf + n) return ERR_PARSE;
        uint64_t bits;
        memcpy(&bits, &d, 8);
        RESERVE(j, 9);
        j->o[j->n] = 0xcb;
        put_be(j->o + j->n + 1, bits, 8);
        j->n += 9;
        return 0;
    }
    uint64_t v = 0;
    int over = 0;
    for (const unsigned char *q = digits; q < dend; q++) {
        unsigned dg = (unsigned)(*q - '0');
        if (v > (UINT64_MAX - dg) / 10)
            over = 1;
        else
            v = v * 10 + dg;
    }
    if (neg) {
        if (over || v > (uint64_t)INT64_MAX + 1) v = (uint64_t)INT64_MAX + 1;
        return emit_int(j, v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v);
    }
    if (over) v = UINT64_MAX;
    if (v <= (uint64_t)INT64_MAX) return emit_int(j, (int64_t)v);
    RESERVE(j, 9);
    j->o[j->n] = 0xcf;
    put_be(j->o + j->n + 1, v, 8);
    j->n += 9;
    return 0;
}

static int
literal(jenc *j, const char *word, unsigned char code, int out)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return ERR_PARSE;
    j->p += n;
    if (!out) return 0;
    RESERVE(j, 1);
    j->o[j->n++] = code;
    return 0;
}

/* ---- containers --------------------------------------------------------- */

static int emit_value(jenc *j, int depth);
static int skip_value(jenc *j, int depth);

/* Write the header of a container whose body starts at body (one byte was
 * reserved before it): base 0x90 (array) or 0x80 (map). */
static int
fix_head(jenc *j, size_t body, uint32_t count, unsigned char base)
{
    size_t h = count < 16 ? 1 : count < 65536 ? 3 : 5;
    if (h > 1) {
        RESERVE(j, h - 1);
        memmove(j->o + body + h - 1, j->o + body, j->n - body);
        j->n += h - 1;
    }
    unsigned char *d = j->o + body - 1;
    if (h == 1)
        d[0] = (unsigned char)(base | count);
    else if (h == 3)
        d[0] = base == 0x90 ? 0xdc : 0xde, put_be(d + 1, count, 2);
    else
        d[0] = base == 0x90 ? 0xdd : 0xdf, put_be(d + 1, count, 4);
    return 0;
}

static int
emit_array(jenc *j, int depth)
{
    uint32_t count = 0;
    j->p++; /* '[' */
    RESERVE(j, 1);
    size_t body = ++j->n;
    ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return fix_head(j, body, 0, 0x90);
    }
    for (;;) {
        int rc = emit_value(j, depth + 1);
        if (rc) return rc;
        if (++count == 0) return ERR_PARSE;
        ws(j);
        if (j->p >= j->end) return ERR_PARSE;
        if (*j->p == ']') break;
        if (*j->p++ != ',') return ERR_PARSE;
        ws(j);
    }
    j->p++;
    return fix_head(j, body, count, 0x90);
}

static int
in_list(const char *const *list, const unsigned char *k, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, k, n) == 0) return 1;
    return 0;
}

/* metadata.{namespace,name,resourceVersion} as raw slices for the caller. */
static void
note_meta(jenc *j, const unsigned char *k, size_t kn, const unsigned char *v, size_t vn,
          int escaped)
{
    store_json_meta *m = j->meta;
    const char **dst = NULL;
    size_t *dlen = NULL;
    if (kn == 9 && memcmp(k, "namespace", 9) == 0)
        dst = &m->ns, dlen = &m->ns_len;
    else if (kn == 4 && memcmp(k, "name", 4) == 0)
        dst = &m->name, dlen = &m->name_len;
    else if (kn == 15 && memcmp(k, "resourceVersion", 15) == 0)
        dst = &m->rv, dlen = &m->rv_len;
    if (!dst) return;
    if (escaped) m->escaped = 1;
    *dst = (const char *)v;
    *dlen = vn;
}

/* A map at j->p ('{'), its values at depth + 1. keep (NULL: all) and drop
 * filter the keys; top (the object itself) applies the per-kind rules;
 * meta (metadata of the object) reports namespace/name/resourceVersion. */
static int
emit_map(jenc *j, int depth, const char *const *keep, const char *drop, const void *top, int meta)
{
    struct {
        const unsigned char *p;
        size_t n;
    } keys[KEYS_MAX];
    size_t nk = 0, kused = 0;
    unsigned char karena[512]; /* decoded escaped keys of this map */
    uint32_t count = 0;

    j->p++; /* '{' */
    RESERVE(j, 1);
    size_t body = ++j->n;
    ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return fix_head(j, body, 0, 0x80);
    }
    for (;;) {
        const unsigned char *k;
        size_t kn;
        int esc, rc;
        if (j->p >= j->end || *j->p++ != '"') return ERR_PARSE;
        if (scan_str(j, &k, &kn, &esc)) return ERR_PARSE;
        if (esc) {
            /* json-c keys are the decoded text: keep a copy for the checks */
            if (kn > sizeof karena - kused) return ERR_PARSE;
            size_t dn = unescape(k, kn, karena + kused);
            k = karena + kused;
            kn = dn;
            kused += dn;
        }
        if (nk == KEYS_MAX) return ERR_PARSE;
        for (size_t i = 0; i < nk; i++)
            if (keys[i].n == kn && memcmp(keys[i].p, k, kn) == 0) return ERR_PARSE;
        keys[nk].p = k;
        keys[nk++].n = kn;
        ws(j);
        if (j->p >= j->end || *j->p++ != ':') return ERR_PARSE;
        ws(j);
        if (j->p >= j->end) return ERR_PARSE;

        const char *const *sub = NULL;
        int is_meta = 0, kept = 1;
        if (top) {
            const store__slim_rule *r = NULL;
            is_meta = kn == 8 && memcmp(k, "metadata", 8) == 0;
            if (!is_meta && top != (const void *)1) {
                for (r = top; r->key && !(strlen(r->key) == kn && memcmp(r->key, k, kn) == 0); r++)
                    ;
                kept = r->key != NULL;
                if (kept) sub = r->sub;
            }
        } else {
            kept = !(drop && strlen(drop) == kn && memcmp(drop, k, kn) == 0) &&
                   !(keep && !in_list(keep, k, kn));
        }
        if (!kept) {
            rc = skip_value(j, depth + 1);
        } else {
            int id = store__dict_id((const char *)k, kn);
            RESERVE(j, 5 + kn);
            if (id >= 0) {
                j->o[j->n++] = (unsigned char)id;
            } else {
                str_head(j->o + j->n, kn);
                j->n += str_head_len(kn);
                memcpy(j->o + j->n, k, kn);
                j->n += kn;
            }
            if (is_meta && *j->p == '{')
                rc =
                    emit_map(j, depth + 1, NULL, j->drop_managed ? "managedFields" : NULL, NULL, 1);
            else if (sub && *j->p == '{')
                rc = emit_map(j, depth + 1, sub, NULL, NULL, 0);
            else if (meta && j->meta && *j->p == '"') {
                const unsigned char *v;
                size_t vn;
                j->p++;
                rc = emit_str(j, &v, &vn);
                if (!rc) note_meta(j, k, kn, v, vn, v == NULL);
            } else
                rc = emit_value(j, depth + 1);
            count++;
        }
        if (rc) return rc;
        ws(j);
        if (j->p >= j->end) return ERR_PARSE;
        if (*j->p == '}') break;
        if (*j->p++ != ',') return ERR_PARSE;
        ws(j);
    }
    j->p++;
    return fix_head(j, body, count, 0x80);
}

static int
emit_value(jenc *j, int depth)
{
    if (j->p >= j->end) return ERR_PARSE;
    switch (*j->p) {
    case '{':
        if (depth > STORE__MAX_DEPTH) return ERR_PARSE;
        return emit_map(j, depth, NULL, NULL, NULL, 0);
    case '[':
        if (depth > STORE__MAX_DEPTH) return ERR_PARSE;
        return emit_array(j, depth);
    case '"':
        j->p++;
        return emit_str(j, NULL, NULL);
    case 't':
        return literal(j, "true", 0xc3, 1);
    case 'f':
        return literal(j, "false", 0xc2, 1);
    case 'n':
        return literal(j, "null", 0xc0, 1);
    default:
        return emit_number(j);
    }
}

/* Validate a dropped value with the same rules, writing nothing. */
static int
skip_value(jenc *j, int depth)
{
    const unsigned char *s;
    size_t n;
    int esc;
    if (j->p >= j->end || depth > SKIP_DEPTH) return ERR_PARSE;
    switch (*j->p) {
    case '{':
    case '[': {
        unsigned char close = *j->p == '{' ? '}' : ']';
        int map = close == '}';
        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            if (map) {
                /* Duplicate or escaped keys of a dropped map change nothing kept. */
                if (j->p >= j->end || *j->p++ != '"') return ERR_PARSE;
                if (scan_str(j, &s, &n, &esc)) return ERR_PARSE;
                ws(j);
                if (j->p >= j->end || *j->p++ != ':') return ERR_PARSE;
                ws(j);
            }
            if (skip_value(j, depth + 1)) return ERR_PARSE;
            ws(j);
            if (j->p >= j->end) return ERR_PARSE;
            if (*j->p == close) break;
            if (*j->p++ != ',') return ERR_PARSE;
            ws(j);
        }
        j->p++;
        return 0;
    }
    case '"':
        j->p++;
        return scan_str(j, &s, &n, &esc);
    case 't':
        return literal(j, "true", 0, 0);
    case 'f':
        return literal(j, "false", 0, 0);
    case 'n':
        return literal(j, "null", 0, 0);
    default: {
        size_t save = j->n;
        int rc = emit_number(j); /* validated the same way, output discarded */
        j->n = save;
        return rc;
    }
    }
}

int
store_encode_json(enum store_kind kind, const char *text, size_t len, char **out, size_t *outlen,
                  store_json_meta *meta)
{
    jenc j;
    int rc;

    *out = NULL;
    *outlen = 0;
    if (meta) memset(meta, 0, sizeof *meta);
    j.p = (const unsigned char *)text;
    j.end = j.p + len;
    j.o = j.stack;
    j.n = 0;
    j.cap = sizeof j.stack;
    j.heap = 0;
    j.meta = meta;
    j.drop_managed = kind < STORE_KIND_COUNT;
    ws(&j);
    if (j.p >= j.end || *j.p != '{') return ERR_PARSE;
    const store__slim_rule *rules = store__slim_rules(kind);
    rc = emit_map(&j, 0, NULL, NULL, rules ? (const void *)rules : (const void *)1, 0);
    ws(&j);
    if (!rc && j.p != j.end) rc = ERR_PARSE;
    if (!rc && meta && meta->escaped) rc = ERR_PARSE;
    if (!rc) {
        *out = malloc(j.n ? j.n : 1);
        if (*out) {
            memcpy(*out, j.o, j.n);
            *outlen = j.n;
        } else {
            rc = ERR_NOMEM;
        }
    }
    if (j.heap) free(j.o);
    return rc;
}
