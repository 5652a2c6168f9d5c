/* sim_jsontext_parse.c - JSON text to json-c trees, exactly as json_tokener
 * (see sim_jsontext.h).
 *
 * json_tokener is a resumable state machine: every byte goes through its
 * main switch, every string and number through a printbuf, every key is
 * copied twice and every object insert first looks the key up. The text
 * kubesim re-parses is json-c's own compact output, so one recursive pass
 * covers it: strings without escapes become nodes straight from the input,
 * keys are inserted as new (uniqueness is checked more cheaply here), arrays
 * are allocated at their final size (the tokener shrinks them to it).
 *
 * The fast pass only accepts what it is sure the tokener builds the same way:
 * strict JSON with an object or array at the top, no duplicate keys, no
 * \u0000 or lone surrogates, integers that fit, numbers without leading zeros,
 * nesting below the tokener's limit, nothing after the value but whitespace.
 * On anything else it frees what it built and the tokener parses the text,
 * so every result (and every rejection) is the tokener's own. */
#include "bench/kubesim/sim_jsontext.h"
#include "bench/kubesim/sim_jsontext_internal.h"

#include <ctype.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* sim_store's tokener depth. A tokener of depth D fails an element added
 * at D open containers; the fast pass gives up at D - 1, and at FAST_DEPTH
 * whatever D is (it recurses; the tokener does not). */
#define TOKENER_DEPTH 1024
#define FAST_DEPTH    1000
/* Objects with fewer keys check a new key against the others one by one;
 * larger ones use the object's hash table. */
#define LINEAR_KEYS 12

typedef struct jp {
    const char *p, *end;
    int depth, max_depth;
    int fail; /* not for the fast pass: the tokener decides */
} jp;

/* tokeners by depth: sim_store's and a request body's */
static _Thread_local struct {
    int depth;
    json_tokener *tok;
} jp_tok[2];
static _Thread_local char *jp_str; /* decoded strings and NUL-terminated keys */
static _Thread_local size_t jp_strcap;
static _Thread_local json_object **jp_stack; /* elements of the open arrays */
static _Thread_local size_t jp_sn, jp_scap;
static _Thread_local size_t jp_nfast, jp_ntok;

/* Keys that nearly every stored object repeats are inserted as constant
 * strings (JSON_C_OBJECT_ADD_CONSTANT_KEY: json-c neither copies nor frees
 * them), saving a strdup and a free per key. The tree reads the same through
 * every json-c call. */
/* clang-format off */
static const char *const common_keys[] = {
    ".", "app", "annotations", "apiVersion", "args", "blockOwnerDeletion", "code", "command",
    "conditions", "configMap", "containerID", "containerPort", "containerStatuses", "containers",
    "continue", "controller", "cpu", "creationTimestamp", "data", "defaultMode",
    "deletionGracePeriodSeconds", "deletionTimestamp", "details", "dnsPolicy", "downwardAPI",
    "effect", "enableServiceLinks", "env", "exitCode", "expirationSeconds", "f:annotations",
    "f:app", "f:conditions", "f:containers", "f:data", "f:dnsPolicy", "f:enableServiceLinks",
    "f:env", "f:finalizers", "f:image", "f:imagePullPolicy", "f:labels", "f:metadata", "f:name",
    "f:operatingMode", "f:ownerReferences", "f:podTemplate", "f:replicas", "f:resources",
    "f:restartPolicy", "f:schedulerName", "f:securityContext", "f:service", "f:serviceFQDN",
    "f:shutdownPolicy", "f:spec", "f:status", "f:terminationGracePeriodSeconds",
    "f:terminationMessagePath", "f:terminationMessagePolicy", "fieldPath", "fieldRef",
    "fieldsType", "fieldsV1", "finalizers", "finishedAt", "generateName", "generation", "hostIP",
    "image", "imageID", "imagePullPolicy", "items", "key", "kind", "labels", "lastProbeTime",
    "lastState", "lastTransitionTime", "limits", "managedFields", "manager", "matchLabels",
    "memory", "message", "metadata", "mountPath", "name", "namespace", "nodeName",
    "observedGeneration", "operatingMode", "operation", "operator", "ownerReferences", "path",
    "phase", "podIP", "podIPs", "podTemplate", "ports", "preemptionPolicy", "priority",
    "projected", "protocol", "qosClass", "readOnly", "ready", "reason", "replicas", "requests",
    "resourceVersion", "resources", "restartCount", "restartPolicy", "running",
    "sandboxTemplateRef", "schedulerName", "securityContext", "selector", "service",
    "serviceAccount", "serviceAccountName", "serviceAccountToken", "serviceFQDN", "shutdownPolicy",
    "sources", "spec", "startTime", "started", "startedAt", "state", "status", "subresource",
    "template", "terminated", "terminationGracePeriodSeconds", "terminationMessagePath",
    "terminationMessagePolicy", "time", "tolerationSeconds", "tolerations", "type", "uid", "value",
    "volumeMounts", "volumes", "waiting",
};
/* clang-format on */
#define KEY_SLOTS 1024 /* power of two, > 4x the keys: short probe chains */
#define NKEYS     (sizeof common_keys / sizeof *common_keys)
static uint16_t key_slot[KEY_SLOTS]; /* index + 1 into common_keys, 0 = empty */
static uint8_t key_len[NKEYS];
/* json-c's hash of each key, valid for tables hashing with key_hash_fn
 * (json-c seeds its string hash once per process; a table made after
 * json_global_set_string_hash has another function and is not matched). */
static unsigned long key_lh_hash[NKEYS];
static lh_hash_fn *key_hash_fn;

/* Cheap and good enough for a fixed set: length and three bytes. */
static inline unsigned
key_hash(const char *k, size_t n)
{
    return ((unsigned)n * 131u + (unsigned char)k[0] * 31u + (unsigned char)k[n - 1] * 7u +
            (unsigned char)k[n / 2]) &
           (KEY_SLOTS - 1);
}

/* The index of k[0..n) in common_keys, or -1. */
static int
common_key(const char *k, size_t n)
{
    if (n == 0 || n > 64) return -1;
    for (unsigned h = key_hash(k, n);; h = (h + 1) & (KEY_SLOTS - 1)) {
        unsigned i = key_slot[h];
        if (!i) return -1;
        if (key_len[i - 1] == n && !memcmp(common_keys[i - 1], k, n)) return (int)i - 1;
    }
}

/* The tokener parses numbers in the "C" locale (uselocale); so does strtod_l. */
static locale_t jp_c_locale;
static pthread_once_t jp_once = PTHREAD_ONCE_INIT;

static void
jp_init(void)
{
    jp_c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    for (size_t i = 0; i < sizeof common_keys / sizeof *common_keys; i++) {
        size_t n = strlen(common_keys[i]);
        key_len[i] = (uint8_t)n;
        unsigned h = key_hash(common_keys[i], n);
        while (key_slot[h])
            h = (h + 1) & (KEY_SLOTS - 1);
        key_slot[h] = (uint16_t)(i + 1);
    }
    json_object *probe = json_object_new_object();
    if (probe) {
        struct lh_table *t = json_object_get_object(probe);
        key_hash_fn = t->hash_fn;
        for (size_t i = 0; i < NKEYS; i++)
            key_lh_hash[i] = lh_get_hash(t, common_keys[i]);
        json_object_put(probe);
    }
}

void
sim_json_parse_release(void)
{
    for (int i = 0; i < 2; i++) {
        if (jp_tok[i].tok) json_tokener_free(jp_tok[i].tok);
        jp_tok[i].tok = NULL;
    }
    free(jp_str);
    jp_str = NULL;
    jp_strcap = 0;
    free(jp_stack);
    jp_stack = NULL;
    jp_sn = jp_scap = 0;
}

static json_object *
jp_failed(jp *j)
{
    j->fail = 1;
    return NULL;
}

static int
str_reserve(size_t n)
{
    if (n <= jp_strcap) return 0;
    size_t cap = jp_strcap ? jp_strcap : 256;
    while (cap < n)
        cap *= 2;
    char *s = realloc(jp_str, cap);
    if (!s) return -1;
    jp_str = s;
    jp_strcap = cap;
    return 0;
}

static inline const char *
ws(const char *p, const char *e)
{
    /* canonical text has none: one compare for the common case */
    while (p < e && (unsigned char)*p <= ' ' &&
           (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

static inline void
skip_ws(jp *j)
{
    j->p = ws(j->p, j->end);
}

static int
hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Decode the string that started at start, from *pp (its first escape) on,
 * into jp_str; *pp ends after the closing quote. */
__attribute__((noinline)) static int
decode_str(const char **pp, const char *e, const char *start, size_t *len)
{
    const char *q = *pp;
    size_t n = (size_t)(q - start);
    if (str_reserve(n + 64)) return -1;
    memcpy(jp_str, start, n);
    while (q < e) {
        unsigned char c = (unsigned char)*q;
        if (str_reserve(n + 8)) return -1;
        if (c == '"') {
            *pp = q + 1;
            *len = n;
            return 0;
        }
        if (c < 0x20) return -1;
        if (c != '\\') {
            jp_str[n++] = (char)c;
            q++;
            continue;
        }
        if (e - q < 2) return -1;
        char x = q[1];
        q += 2;
        switch (x) {
        case '"':
        case '\\':
        case '/':
            jp_str[n++] = x;
            continue;
        case 'b':
            jp_str[n++] = '\b';
            continue;
        case 'f':
            jp_str[n++] = '\f';
            continue;
        case 'n':
            jp_str[n++] = '\n';
            continue;
        case 'r':
            jp_str[n++] = '\r';
            continue;
        case 't':
            jp_str[n++] = '\t';
            continue;
        case 'u':
            break;
        default:
            return -1;
        }
        unsigned cp, lo;
        if (e - q < 4 || hex4(q, &cp)) return -1;
        q += 4;
        if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff)) return -1; /* NUL, lone low */
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (e - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, &lo) || lo < 0xdc00 ||
                lo > 0xdfff)
                return -1; /* lone high: the tokener puts U+FFFD */
            q += 6;
            cp = 0x10000 + ((cp & 0x3ff) << 10) + (lo & 0x3ff);
        }
        if (cp < 0x80) {
            jp_str[n++] = (char)cp;
        } else if (cp < 0x800) {
            jp_str[n++] = (char)(0xc0 | cp >> 6);
            jp_str[n++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            jp_str[n++] = (char)(0xe0 | cp >> 12);
            jp_str[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
            jp_str[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            jp_str[n++] = (char)(0xf0 | cp >> 18);
            jp_str[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
            jp_str[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
            jp_str[n++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    return -1;
}

/* A string body from *pp (after the opening quote) to before e; *pp ends
 * after the closing quote. *s and *len point into the input when it has no
 * escapes, else into jp_str. */
static inline int
scan_str(const char **pp, const char *e, const char **s, size_t *len)
{
    const char *start = *pp, *q = start;
    for (;;) {
        while (e - q >= 8) { /* to the next '"', '\\' or control byte */
            uint64_t w;
            memcpy(&w, q, 8);
            uint64_t m = sim_json_special8(w, 0);
            if (m) {
                q += __builtin_ctzll(m) >> 3;
                break;
            }
            q += 8;
        }
        if (q >= e) return -1;
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            *s = start;
            *len = (size_t)(q - start);
            *pp = q + 1;
            return 0;
        }
        if (c == '\\') {
            *pp = q;
            if (decode_str(pp, e, start, len)) return -1;
            *s = jp_str;
            return 0;
        }
        if (c < 0x20) return -1; /* raw control bytes: the tokener keeps them */
        q++;
    }
}

static json_object *
parse_number(jp *j)
{
    const char *s = j->p, *q = s, *e = j->end;
    int neg = 0, dbl = 0;
    if (*q == '-') {
        neg = 1;
        q++;
    }
    if (q >= e || *q < '0' || *q > '9') return jp_failed(j);
    const char *digits = q;
    if (*q == '0') {
        q++;
        if (q < e && *q >= '0' && *q <= '9') return jp_failed(j); /* leading zero */
    } else {
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    const char *int_end = q;
    if (q < e && *q == '.') {
        dbl = 1;
        q++;
        if (q >= e || *q < '0' || *q > '9') return jp_failed(j);
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        dbl = 1;
        q++;
        if (q < e && (*q == '+' || *q == '-')) q++;
        if (q >= e || *q < '0' || *q > '9') return jp_failed(j);
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    j->p = q;
    json_object *o;
    if (dbl) {
        /* the tokener keeps the text and prints it back (json_object_new_double_s) */
        char tmp[64];
        size_t n = (size_t)(q - s);
        if (n >= sizeof tmp || !jp_c_locale) return jp_failed(j);
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        char *end;
        double d = strtod_l(tmp, &end, jp_c_locale);
        if (end != tmp + n) return jp_failed(j);
        o = json_object_new_double_s(d, tmp);
    } else {
        uint64_t v = 0;
        for (const char *d = digits; d < int_end; d++) {
            unsigned k = (unsigned)(*d - '0');
            if (v > (UINT64_MAX - k) / 10) return jp_failed(j); /* the tokener saturates */
            v = v * 10 + k;
        }
        if (!neg)
            o = v <= INT64_MAX ? json_object_new_int64((int64_t)v) : json_object_new_uint64(v);
        else if (v <= (uint64_t)INT64_MAX + 1)
            o = json_object_new_int64((int64_t)(0 - v));
        else
            return jp_failed(j);
    }
    return o ? o : jp_failed(j);
}

static json_object *parse_value(jp *j);

/* Is key (NUL-terminated; common_keys[ck] when ck >= 0) already in t?
 * While parsing, every occurrence of a common key is its constant and no
 * other key is constant: pointers compare for those, strcmp for the rest. */
static int
has_key(struct lh_table *t, const char *key, int ck)
{
    if (t->count >= LINEAR_KEYS)
        return (ck >= 0 && t->hash_fn == key_hash_fn
                    ? lh_table_lookup_entry_w_hash(t, key, key_lh_hash[ck])
                    : lh_table_lookup_entry(t, key)) != NULL;
    if (ck >= 0) {
        for (struct lh_entry *e = t->head; e; e = e->next)
            if (lh_entry_k(e) == key) return 1;
        return 0;
    }
    for (struct lh_entry *e = t->head; e; e = e->next) {
        const char *k = lh_entry_k(e);
        if (!e->k_is_constant && k[0] == key[0] && !strcmp(k, key)) return 1;
    }
    return 0;
}

static json_object *
parse_object(jp *j)
{
    json_object *o = json_object_new_object();
    if (!o) return jp_failed(j);
    struct lh_table *t = json_object_get_object(o);
    const char *p = ws(j->p + 1, j->end), *e = j->end;
    if (p < e && *p == '}') {
        j->p = p + 1;
        return o;
    }
    char kbuf[64];      /* the key, NUL-terminated, while its value is parsed */
    char *owned = NULL; /* a longer key's copy */
    for (;;) {
        const char *k, *key;
        size_t klen;
        if (p >= e || *p != '"') goto fail;
        p++;
        if (scan_str(&p, e, &k, &klen)) goto fail;
        int ck = common_key(k, klen);
        if (ck >= 0) {
            key = common_keys[ck];
        } else {
            char *copy = klen < sizeof kbuf ? kbuf : (owned = malloc(klen + 1));
            if (!copy) goto fail;
            memcpy(copy, k, klen);
            copy[klen] = '\0';
            key = copy;
        }
        if (has_key(t, key, ck)) goto fail; /* the tokener keeps the last value */
        if (p >= e || *p != ':') {          /* canonical text: right after the key */
            p = ws(p, e);
            if (p >= e || *p != ':') goto fail;
        }
        p++;
        if (p < e && (unsigned char)*p <= ' ') p = ws(p, e);
        json_object *v;
        if (p < e && *p == '"') { /* a string value, without a call */
            const char *sv;
            size_t n;
            p++;
            if (scan_str(&p, e, &sv, &n) || n > INT_MAX) goto fail;
            if (!(v = json_object_new_string_len(sv, (int)n))) goto fail;
        } else {
            j->p = p;
            v = parse_value(j);
            if (j->fail) goto fail;
            p = j->p;
        }
        /* The tokener's add looks each key up first and copies it. A common
         * key is inserted as a constant with its hash known; any other is
         * copied by json-c. */
        int rc =
            ck >= 0 && t->hash_fn == key_hash_fn
                ? lh_table_insert_w_hash(t, key, v, key_lh_hash[ck], JSON_C_OBJECT_ADD_CONSTANT_KEY)
                : json_object_object_add_ex(o, key, v,
                                            JSON_C_OBJECT_ADD_KEY_IS_NEW |
                                                (ck >= 0 ? JSON_C_OBJECT_ADD_CONSTANT_KEY : 0));
        if (rc) {
            json_object_put(v);
            goto fail;
        }
        if (owned) {
            free(owned);
            owned = NULL;
        }
        if (p < e && (unsigned char)*p <= ' ') p = ws(p, e);
        if (p >= e) goto fail;
        if (*p == ',') {
            p++;
            if (p < e && (unsigned char)*p <= ' ') p = ws(p, e);
            continue;
        }
        if (*p != '}') goto fail;
        j->p = p + 1;
        return o;
    }
fail:
    free(owned);
    json_object_put(o);
    return jp_failed(j);
}

static int
stack_push(json_object *v)
{
    if (jp_sn == jp_scap) {
        size_t cap = jp_scap ? jp_scap * 2 : 64;
        json_object **s = realloc(jp_stack, cap * sizeof *s);
        if (!s) return -1;
        jp_stack = s;
        jp_scap = cap;
    }
    jp_stack[jp_sn++] = v;
    return 0;
}

static json_object *
parse_array(jp *j)
{
    size_t base = jp_sn;
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
    } else {
        for (;;) {
            json_object *v = parse_value(j);
            if (j->fail) goto fail;
            if (stack_push(v)) {
                json_object_put(v);
                goto fail;
            }
            skip_ws(j);
            if (j->p >= j->end) goto fail;
            if (*j->p == ',') {
                j->p++;
                skip_ws(j);
                continue;
            }
            if (*j->p != ']') goto fail;
            j->p++;
            break;
        }
    }
    /* Exactly the size the tokener's json_object_array_shrink(a, 0) leaves.
     * json_object_array_add would grow an array that is about to be full
     * (json-c expands at length + 1 == size), so the elements are placed
     * through the public array_list directly. */
    size_t n = jp_sn - base;
    if (n > INT_MAX) goto fail;
    json_object *a = json_object_new_array_ext(n ? (int)n : 1);
    if (!a) goto fail;
    struct array_list *al = json_object_get_array(a);
    if (n) memcpy(al->array, jp_stack + base, n * sizeof *jp_stack);
    al->length = n;
    jp_sn = base;
    return a;
fail:
    while (jp_sn > base)
        json_object_put(jp_stack[--jp_sn]);
    return jp_failed(j);
}

static json_object *
boolean(jp *j, int v)
{
    json_object *o = json_object_new_boolean(v);
    return o ? o : jp_failed(j);
}

static json_object *
parse_value(jp *j)
{
    if (j->p >= j->end) return jp_failed(j);
    size_t left = (size_t)(j->end - j->p);
    switch (*j->p) {
    case '{':
    case '[': {
        if (++j->depth > j->max_depth) return jp_failed(j);
        json_object *o = *j->p == '{' ? parse_object(j) : parse_array(j);
        j->depth--;
        return o;
    }
    case '"': {
        const char *s;
        size_t n;
        j->p++;
        if (scan_str(&j->p, j->end, &s, &n) || n > INT_MAX) return jp_failed(j);
        json_object *o = json_object_new_string_len(s, (int)n);
        return o ? o : jp_failed(j);
    }
    case 't':
        if (left < 4 || memcmp(j->p, "true", 4)) return jp_failed(j);
        j->p += 4;
        return boolean(j, 1);
    case 'f':
        if (left < 5 || memcmp(j->p, "false", 5)) return jp_failed(j);
        j->p += 5;
        return boolean(j, 0);
    case 'n':
        if (left < 4 || memcmp(j->p, "null", 4)) return jp_failed(j);
        j->p += 4;
        return NULL;
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) return parse_number(j);
        return jp_failed(j);
    }
}

/* json_tokener_parse_ex by this thread's tokener of that depth; whole:
 * only isspace() bytes may follow the value. */
static json_object *
tokener_parse(const char *txt, size_t len, int depth, int whole)
{
    int slot = depth == TOKENER_DEPTH ? 0 : 1;
    if (jp_tok[slot].tok && jp_tok[slot].depth != depth) {
        json_tokener_free(jp_tok[slot].tok);
        jp_tok[slot].tok = NULL;
    }
    json_tokener *tok = jp_tok[slot].tok;
    if (!tok && !(tok = jp_tok[slot].tok = json_tokener_new_ex(depth))) return NULL;
    jp_tok[slot].depth = depth;
    json_object *t = json_tokener_parse_ex(tok, txt, (int)len);
    if (t && json_tokener_get_error(tok) == json_tokener_success) {
        size_t end = json_tokener_get_parse_end(tok);
        json_tokener_reset(tok);
        while (whole && end < len && isspace((unsigned char)txt[end]))
            end++;
        if (!whole || end == len) return t;
        json_object_put(t);
        return NULL;
    }
    /* json_tokener_reset keeps a pending high surrogate of a text that
     * ended inside "\ud83d...": the next text would start with U+FFFD.
     * After a failure the tokener is made anew. */
    json_object_put(t);
    json_tokener_free(tok);
    jp_tok[slot].tok = NULL;
    return NULL;
}

static json_object *
parse(const char *txt, size_t len, int depth, int whole)
{
    if (len > INT_MAX || depth < 1) return NULL;
    pthread_once(&jp_once, jp_init);
    jp j = {
        .p = txt, .end = txt + len, .max_depth = depth - 1 < FAST_DEPTH ? depth - 1 : FAST_DEPTH};
    skip_ws(&j);
    if (j.p < j.end && (*j.p == '{' || *j.p == '[')) {
        json_object *o = parse_value(&j);
        skip_ws(&j);
        if (!j.fail && j.p == j.end) {
            jp_nfast++;
            return o;
        }
        json_object_put(o);
    }
    jp_ntok++;
    return tokener_parse(txt, len, depth, whole);
}

json_object *
sim_json_parse(const char *txt, size_t len)
{
    return parse(txt, len, TOKENER_DEPTH, 0);
}

json_object *
sim_json_parse_doc(const char *txt, size_t len, int max_depth)
{
    return parse(txt, len, max_depth, 1);
}

void
sim_json_parse_counts(size_t *fast, size_t *tokener)
{
    *fast = jp_nfast;
    *tokener = jp_ntok;
}
