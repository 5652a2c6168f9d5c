/* sim_jsontext.c - json-c trees to JSON text, byte-identical to json-c
 * (see sim_jsontext.h; the parser is sim_jsontext_parse.c).
 *
 * json_object_to_json_string_ext walks the tree through one function
 * pointer per node, appends to a printbuf a few bytes at a time and prints
 * integers with snprintf. Here the walk is one switch over the node type,
 * strings are copied 8 bytes at a time straight into the output until a
 * byte needs an escape, and integers are formatted by hand.
 *
 * Only json-c's public API is used. Which serializer a node has is private
 * to json-c, so a node with userdata (a parsed double that prints its
 * original text, or a serializer set with userdata) is printed by json-c
 * itself, and every other node is taken to have its type's default
 * serializer: a custom serializer set without userdata would be missed.
 * kubesim sets none. */
#include "bench/kubesim/sim_jsontext.h"
#include "bench/kubesim/sim_jsontext_internal.h"

#include <json-c/printbuf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct {
    /* escape class per byte: 0 plain, else the escape's second char, or
     * 'u' for \u00XX; with and without '/' escaping */
    unsigned char esc[2][256];
} jt;

static pthread_once_t jt_once = PTHREAD_ONCE_INIT;
static _Thread_local struct printbuf *jt_pb; /* for serializers json-c owns */
static _Thread_local int jt_pb_busy;

static void
jt_init(void)
{
    for (int s = 0; s < 2; s++) {
        for (int c = 0; c < 0x20; c++)
            jt.esc[s][c] = 'u';
        jt.esc[s]['\b'] = 'b';
        jt.esc[s]['\n'] = 'n';
        jt.esc[s]['\r'] = 'r';
        jt.esc[s]['\t'] = 't';
        jt.esc[s]['\f'] = 'f';
        jt.esc[s]['"'] = '"';
        jt.esc[s]['\\'] = '\\';
    }
    jt.esc[0]['/'] = '/'; /* escaped unless NOSLASHESCAPE */
}

/* ---- output buffer (sim_buf.h: cap counts the NUL) ---- */

/* Room for n more bytes and the NUL: the common case inline, growth in sim_buf.c. */
static inline int
reserve(sim_buf *b, size_t n)
{
    return b->len + n + 1 <= b->cap && !b->oom ? 0 : sim_buf_reserve(b, n);
}

static inline int
put(sim_buf *b, const void *p, size_t n)
{
    if (reserve(b, n)) return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* A JSON string literal of s[0..n) as json-c writes it, after the byte lead
 * and before trail when they are not 0 (a key's ',' and ':'). Plain runs go
 * 8 bytes at a time (sim_json_special8); the room reserved always covers the
 * rest of s as plain bytes, so whole words can be stored. */
static int
put_str(sim_buf *b, const char *s, size_t n, const unsigned char *esc, int slash, char lead,
        char trail)
{
    static const char hex[] = "0123456789abcdef";
    if (reserve(b, n + 4)) return -1;
    char *d = b->data + b->len;
    if (lead) *d++ = lead;
    *d++ = '"';
    size_t i = 0;
    for (;;) {
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            memcpy(d, &w, 8); /* fits: i + 8 <= n */
            uint64_t m = sim_json_special8(w, slash);
            if (m) {
                size_t plain = (size_t)__builtin_ctzll(m) >> 3;
                d += plain;
                i += plain;
                goto escape;
            }
            d += 8;
            i += 8;
        }
        while (i < n) { /* the last 0..7 */
            unsigned char c = (unsigned char)s[i];
            if (esc[c]) goto escape;
            *d++ = (char)c;
            i++;
        }
        break;
    escape:; /* s[i] needs an escape */
        unsigned char c = (unsigned char)s[i++], e = esc[c];
        if (!e) { /* not reached: the first byte sim_json_special8 flags is one */
            *d++ = (char)c;
            continue;
        }
        /* room for this escape and the rest as plain bytes (the next
         * escape checks again) */
        b->len = (size_t)(d - b->data);
        if (reserve(b, 6 + (n - i) + 2)) return -1;
        d = b->data + b->len;
        if (e != 'u') {
            d[0] = '\\';
            d[1] = (char)e;
            d += 2;
        } else {
            memcpy(d, "\\u00", 4);
            d[4] = hex[c >> 4];
            d[5] = hex[c & 15];
            d += 6;
        }
    }
    *d++ = '"';
    if (trail) *d++ = trail;
    b->len = (size_t)(d - b->data);
    return 0;
}

/* A key as json-c writes it, with the ',' before it (lead) and the ':'.
 * Keys are short C strings: one pass copies while it looks for the NUL,
 * when the buffer has room; a long key or one to escape goes to put_str. */
static int
put_key(sim_buf *b, const char *k, const unsigned char *esc, int slash, char lead)
{
    if (b->cap - b->len > 72) {
        char *d = b->data + b->len, *lim = d + 64;
        if (lead) *d++ = lead;
        *d++ = '"';
        const char *p = k;
        unsigned char c;
        while (!esc[c = (unsigned char)*p] && d < lim) { /* esc['\0'] stops it too */
            *d++ = (char)c;
            p++;
        }
        if (!c) {
            d[0] = '"';
            d[1] = ':';
            b->len = (size_t)(d + 2 - b->data);
            return 0;
        }
    }
    return put_str(b, k, strlen(k), esc, slash, lead, ':');
}

size_t
sim_json_fmt_u64(char *out, uint64_t v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    char tmp[24];
    char *p = tmp + sizeof tmp;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, pairs + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    return n;
}

static int
put_int(sim_buf *b, json_object *o)
{
    char tmp[24];
    size_t n;
    int64_t i = json_object_get_int64(o);
    if (i < 0) {
        tmp[0] = '-';
        n = 1 + sim_json_fmt_u64(tmp + 1, 0 - (uint64_t)i);
    } else if (i == INT64_MAX) {
        n = sim_json_fmt_u64(tmp, json_object_get_uint64(o)); /* uint64 above it */
    } else {
        n = sim_json_fmt_u64(tmp, (uint64_t)i);
    }
    return put(b, tmp, n);
}

/* A node json-c prints itself: call its serializer into scratch, as
 * json_object_to_json_string_ext would with this nesting level. */
static int
put_foreign(sim_buf *b, json_object *o, json_object_to_json_string_fn *fn, int level, int flags)
{
    if (!fn) {
        size_t n = 0;
        const char *s = json_object_to_json_string_length(o, flags, &n);
        return s ? put(b, s, n) : -1;
    }
    /* the thread's scratch, or a new one if a serializer calls back in here */
    struct printbuf *pb = jt_pb_busy ? printbuf_new() : jt_pb ? jt_pb : (jt_pb = printbuf_new());
    if (!pb) return -1;
    int outer = pb == jt_pb;
    if (outer) jt_pb_busy = 1;
    printbuf_reset(pb);
    int rc = fn(o, pb, level, flags) < 0 ? -1 : put(b, pb->buf, (size_t)pb->bpos);
    if (outer)
        jt_pb_busy = 0;
    else
        printbuf_free(pb);
    return rc;
}

/* One serialisation: the buffer and what the flags decide. */
typedef struct wctx {
    sim_buf *b;
    int flags, slash;
    const unsigned char *esc;
} wctx;

static int write_node(wctx *w, json_object *o, int level);

static int
write_object(wctx *w, json_object *o, int level)
{
    sim_buf *b = w->b;
    if (put(b, "{", 1)) return -1;
    char lead = 0;
    for (struct lh_entry *e = json_object_get_object(o)->head; e; e = e->next) {
        const char *k = lh_entry_k(e);
        if (put_key(b, k, w->esc, w->slash, lead)) return -1;
        if (write_node(w, lh_entry_v(e), level + 1)) return -1;
        lead = ',';
    }
    return put(b, "}", 1);
}

static int
write_array(wctx *w, json_object *o, int level)
{
    const struct array_list *a = json_object_get_array(o);
    if (put(w->b, "[", 1)) return -1;
    for (size_t i = 0; i < a->length; i++) {
        if (i && put(w->b, ",", 1)) return -1;
        if (write_node(w, a->array[i], level + 1)) return -1;
    }
    return put(w->b, "]", 1);
}

static int
write_string(wctx *w, json_object *o)
{
    return put_str(w->b, json_object_get_string(o), (size_t)json_object_get_string_len(o), w->esc,
                   w->slash, 0, 0);
}

static int
write_node(wctx *w, json_object *o, int level)
{
    if (!o) return put(w->b, "null", 4);
    enum json_type t = json_object_get_type(o);
    if (json_object_get_userdata(o)) return put_foreign(w->b, o, NULL, level, w->flags);
    if (t == json_type_double) /* json-c's own formatting (format: NULL) */
        return put_foreign(w->b, o, json_object_double_to_json_string, level, w->flags);
    switch (t) {
    case json_type_object:
        return write_object(w, o, level);
    case json_type_array:
        return write_array(w, o, level);
    case json_type_string:
        return write_string(w, o);
    case json_type_int:
        return put_int(w->b, o);
    case json_type_boolean:
        return json_object_get_boolean(o) ? put(w->b, "true", 4) : put(w->b, "false", 5);
    default:
        return put_foreign(w->b, o, NULL, level, w->flags);
    }
}

int
sim_json_write(sim_buf *b, json_object *o, int flags)
{
    pthread_once(&jt_once, jt_init);
    if (b->oom) return -1;
    int rc;
    if (flags & ~JSON_C_TO_STRING_NOSLASHESCAPE) { /* spaced, pretty, nozero: json-c's */
        size_t n = 0;
        const char *s = o ? json_object_to_json_string_length(o, flags, &n) : "null";
        rc = s ? put(b, s, o ? n : 4) : -1;
    } else {
        int slash = !(flags & JSON_C_TO_STRING_NOSLASHESCAPE);
        wctx w = {.b = b, .flags = flags, .slash = slash, .esc = jt.esc[!slash]};
        rc = write_node(&w, o, 0);
    }
    if (b->data && b->len < b->cap) b->data[b->len] = '\0';
    return b->oom ? -1 : rc;
}

json_object *
sim_json_get(json_object *o, const char *key)
{
    if (!o || json_object_get_type(o) != json_type_object) return NULL;
    struct lh_table *t = json_object_get_object(o);
    if (t->count > 8) { /* hashing beats a walk */
        struct lh_entry *e = lh_table_lookup_entry(t, key);
        return e ? lh_entry_v(e) : NULL;
    }
    for (struct lh_entry *e = t->head; e; e = e->next) {
        const char *k = lh_entry_k(e);
        if (k[0] == key[0] && !strcmp(k, key)) return lh_entry_v(e);
    }
    return NULL;
}

static _Thread_local sim_buf jt_out; /* reused: the text is copied out */

char *
sim_json_text(json_object *o, int flags, size_t *len)
{
    jt_out.len = 0;
    jt_out.oom = 0;
    char *r = NULL;
    if (sim_json_write(&jt_out, o, flags) == 0 && (r = malloc(jt_out.len + 1))) {
        memcpy(r, jt_out.data, jt_out.len + 1);
        if (len) *len = jt_out.len;
    }
    if (jt_out.cap > (1u << 20)) { /* do not keep a huge buffer per thread */
        free(jt_out.data);
        memset(&jt_out, 0, sizeof jt_out);
    }
    return r;
}

void
sim_json_release(void)
{
    if (jt_pb) printbuf_free(jt_pb);
    jt_pb = NULL;
    free(jt_out.data);
    memset(&jt_out, 0, sizeof jt_out);
    sim_json_parse_release();
}
