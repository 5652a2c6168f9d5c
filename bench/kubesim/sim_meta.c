/* sim_meta.c - ObjectMeta helpers (see sim_meta.h). */
#include "bench/kubesim/sim_meta.h"
#include "bench/kubesim/sim_patch.h"

#include "core/jx.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* v is the JSON string want. */
static int
str_node_is(json_object *v, const char *want)
{
    return json_object_is_type(v, json_type_string) &&
           (size_t)json_object_get_string_len(v) == strlen(want) &&
           !strcmp(json_object_get_string(v), want);
}

/* "<prefix><s><suffix>" as snprintf into a 512-byte buffer would leave it
 * (without snprintf's cost: this runs on every write). */
static const char *
fkey(char buf[512], const char *prefix, const char *s, const char *suffix)
{
    size_t n = 0;
    for (const char *const *p = (const char *const[]){prefix, s, suffix, NULL}; *p; p++) {
        size_t l = strlen(*p);
        if (l > 511 - n) l = 511 - n;
        memcpy(buf + n, *p, l);
        n += l;
    }
    buf[n] = '\0';
    return buf;
}

uint64_t
sim_rand(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* n hex digits of v (lower case), most significant first. */
static char *
hex(char *p, uint64_t v, int n)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = n - 1; i >= 0; i--) {
        p[i] = digits[v & 0xf];
        v >>= 4;
    }
    return p + n;
}

void
sim_meta_uid(uint64_t *state, char out[37])
{
    uint64_t a = sim_rand(state), b = sim_rand(state);
    a = (a & 0xffffffffffff0fffull) | 0x4000ull;
    b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;
    /* "%08x-%04x-%04x-%04x-%012llx" of a>>32, a>>16, a, b>>48, b (printf-free) */
    char *p = hex(out, a >> 32, 8);
    *p++ = '-';
    p = hex(p, (a >> 16) & 0xffff, 4);
    *p++ = '-';
    p = hex(p, a & 0xffff, 4);
    *p++ = '-';
    p = hex(p, b >> 48, 4);
    *p++ = '-';
    p = hex(p, b & 0xffffffffffffull, 12);
    *p = '\0';
}

void
sim_meta_suffix(uint64_t *state, char out[6])
{
    static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
    for (int i = 0; i < 5; i++)
        out[i] = alpha[sim_rand(state) % (sizeof alpha - 1)];
    out[5] = '\0';
}

/* The current second as RFC 3339, formatted once per second. */
static void
now_cached(char out[32])
{
    static _Thread_local int64_t sec = -1;
    static _Thread_local char txt[32];
    int64_t ms = time_now_ms();
    if (ms / 1000 != sec) {
        time_fmt_rfc3339(ms, txt, sizeof txt);
        sec = ms / 1000;
    }
    memcpy(out, txt, sizeof txt);
}

void
sim_meta_now(char out[32])
{
    now_cached(out);
}

static int
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-') return 0;
    return 1;
}

const char *
sim_meta_check_subdomain(const char *name)
{
    size_t n = strlen(name);
    if (n > 253) return "must be no more than 253 characters";
    const char *p = name;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        int ok = l > 0 && is_lower_alnum(p[0]) && is_lower_alnum(p[l - 1]);
        for (size_t i = 0; ok && i < l; i++)
            ok = is_lower_alnum(p[i]) || p[i] == '-';
        if (!ok)
            return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                   "characters, '-' or '.', and must start and end with an alphanumeric character "
                   "(e.g. 'example.com', regex used for validation is "
                   "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        if (!dot) return NULL;
        p = dot + 1;
    }
}

const char *
sim_meta_check_label(const char *name)
{
    size_t n = strlen(name);
    if (n > 63) return "must be no more than 63 characters";
    if (!label_ok(name, n))
        return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
               "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
               "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    return NULL;
}

const char *
sim_meta_check_dns1035(const char *name)
{
    size_t n = strlen(name);
    if (n > 63) return "must be no more than 63 characters";
    if (!label_ok(name, n) || !(name[0] >= 'a' && name[0] <= 'z'))
        return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
               "with an alphabetic character, and end with an alphanumeric character (e.g. "
               "'my-name',  or 'abc-123', regex used for validation is "
               "'[a-z]([-a-z0-9]*[a-z0-9])?')";
    return NULL;
}

void
sim_meta_name_cause(sim_causes *c, const char *field, const char *name,
                    const char *(*check)(const char *))
{
    const char *m = check(name);
    if (!m) return;
    json_object *v = json_object_new_string(name);
    sim_causes_invalid(c, field, v, m);
    json_object_put(v);
}

json_object *
sim_json_copy(json_object *o)
{
    if (!o) return NULL;
    json_object *c = NULL;
    if (json_object_deep_copy(o, &c, NULL) != 0) return NULL;
    return c;
}

json_object *
sim_meta_reorder(json_object *o, const char *kind, const char *api_version)
{
    /* already so (every object derived from a stored one): nothing to do */
    struct lh_table *t = json_object_get_object(o);
    struct lh_entry *e1 = t ? lh_table_head(t) : NULL;
    struct lh_entry *e2 = e1 ? lh_entry_next(e1) : NULL;
    if (e2 && !strcmp(lh_entry_k(e1), "kind") && !strcmp(lh_entry_k(e2), "apiVersion") &&
        str_node_is(lh_entry_v(e1), kind) && str_node_is(lh_entry_v(e2), api_version))
        return o;
    json_object *n = json_object_new_object();
    if (!n) return o;
    json_object_object_add(n, "kind", json_object_new_string(kind));
    json_object_object_add(n, "apiVersion", json_object_new_string(api_version));
    json_object_object_foreach(o, k, v)
    {
        if (!strcmp(k, "kind") || !strcmp(k, "apiVersion")) continue;
        json_object_object_add(n, k, json_object_get(v));
    }
    json_object_put(o);
    return n;
}

/* ---- managedFields ---- */

static json_object *fields_of(json_object *v, int depth);

static json_object *
fields_of_array(json_object *a, int depth)
{
    json_object *f = json_object_new_object();
    size_t n = json_object_array_length(a);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(a, i);
        const char *nm = json_object_is_type(e, json_type_object) ? jx_str(e, "name") : NULL;
        if (!nm) return f; /* atomic list: the field itself */
        char key[512];
        fkey(key, "k:{\"name\":\"", nm, "\"}");
        json_object *sub = fields_of(e, depth + 1);
        json_object_object_add(f, key, sub);
    }
    return f;
}

static json_object *
fields_of(json_object *v, int depth)
{
    json_object *f = json_object_new_object();
    if (depth > 32) return f;
    if (json_object_is_type(v, json_type_object)) {
        if (depth > 0) json_object_object_add(f, ".", json_object_new_object());
        json_object_object_foreach(v, k, c)
        {
            if (depth == 0 && (!strcmp(k, "apiVersion") || !strcmp(k, "kind"))) continue;
            char key[512];
            fkey(key, "f:", k, "");
            /* v's keys are distinct, so are "f:"-prefixed ones unless fkey
             * truncated them: no lookup of a key that cannot be there */
            unsigned opts = strlen(key) < 511 ? JSON_C_OBJECT_ADD_KEY_IS_NEW : 0;
            json_object *sub;
            if (json_object_is_type(c, json_type_object))
                sub = fields_of(c, depth + 1);
            else if (json_object_is_type(c, json_type_array))
                sub = fields_of_array(c, depth + 1);
            else
                sub = json_object_new_object();
            json_object_object_add_ex(f, key, sub, opts);
        }
    }
    return f;
}

/* The fields a write sets: metadata only labels/annotations/finalizers/ownerReferences. */
static json_object *
write_fields(json_object *src, const char *subresource)
{
    json_object *f = json_object_new_object();
    if (!json_object_is_type(src, json_type_object)) return f;
    json_object_object_foreach(src, k, v)
    {
        if (!strcmp(k, "apiVersion") || !strcmp(k, "kind") || v == NULL) continue;
        int is_status = !strcmp(k, "status");
        if (subresource && !is_status) continue;
        if (!subresource && is_status) continue;
        char key[512];
        fkey(key, "f:", k, "");
        if (!strcmp(k, "metadata")) {
            json_object *m = json_object_new_object();
            static const char *keep[] = {"generateName", "labels", "annotations", "finalizers",
                                         "ownerReferences"};
            for (size_t i = 0; i < 5; i++) {
                json_object *x = jx_get(v, keep[i]);
                if (!x) continue;
                char mk[512];
                fkey(mk, "f:", keep[i], "");
                json_object_object_add(m, mk,
                                       json_object_is_type(x, json_type_object)
                                           ? fields_of(x, 1)
                                           : json_object_new_object());
            }
            if (json_object_object_length(m) > 0)
                json_object_object_add(f, key, m);
            else
                json_object_put(m);
        } else if (json_object_is_type(v, json_type_object)) {
            json_object_object_add(f, key, fields_of(v, 1));
        } else if (json_object_is_type(v, json_type_array)) {
            json_object_object_add(f, key, fields_of_array(v, 1));
        } else {
            json_object_object_add(f, key, json_object_new_object());
        }
    }
    return f;
}

/* Does dst hold every field path of src already? */
static int
fields_cover(json_object *dst, json_object *src)
{
    json_object_object_foreach(src, k, v)
    {
        json_object *d = NULL;
        if (!json_object_object_get_ex(dst, k, &d) || !json_object_is_type(d, json_type_object) ||
            !json_object_is_type(v, json_type_object) || !fields_cover(d, v))
            return 0;
    }
    return 1;
}

/* dst with src's field paths added, copy on write: dst and its nodes are
 * never modified (they may belong to a stored object). Returns dst itself
 * (a new reference) when it already holds every path of src, else a new
 * object: dst's keys in order (merged or replaced by src's), then src's new
 * keys in src's order - what adding src's keys into dst in place gives. */
static json_object *
merge_fields(json_object *dst, json_object *src)
{
    if (fields_cover(dst, src)) return json_object_get(dst);
    json_object *n = json_object_new_object();
    if (!n) return json_object_get(dst);
    json_object_object_foreach(dst, k, d)
    {
        json_object *v = NULL, *nv;
        if (!json_object_object_get_ex(src, k, &v))
            nv = json_object_get(d);
        else if (json_object_is_type(d, json_type_object) &&
                 json_object_is_type(v, json_type_object))
            nv = merge_fields(d, v);
        else
            nv = json_object_get(v);
        json_object_object_add_ex(n, k, nv, JSON_C_OBJECT_ADD_KEY_IS_NEW);
    }
    json_object_object_foreach(src, k2, v2)
    {
        if (!json_object_object_get_ex(dst, k2, NULL))
            json_object_object_add_ex(n, k2, json_object_get(v2), JSON_C_OBJECT_ADD_KEY_IS_NEW);
    }
    return n;
}

/* Drop field paths the object no longer has (a field set to null, a removed
 * finalizer): a manager owns only fields that exist. Copy on write: f is
 * never modified. Returns f itself (new reference) when nothing goes, else a
 * new object without the gone paths; *empty is set when the result holds no
 * keys and obj is an object (the entry then goes). At most 256 keys of one
 * object go per write. */
static json_object *
prune_fields(json_object *f, json_object *obj, int *empty)
{
    *empty = 0;
    if (!json_object_is_type(obj, json_type_object)) return json_object_get(f);
    /* first pass: what happens to each key (gone, pruned below, kept) */
    json_object *sub_st[64], **sub = sub_st;
    const char *subk_st[64], **subk = subk_st;
    const char *gone[256];
    size_t ng = 0, ns = 0, cap = json_object_object_length(f);
    if (cap > 64) {
        sub = malloc(cap * sizeof *sub);
        subk = malloc(cap * sizeof *subk);
        if (!sub || !subk) {
            free(sub);
            free(subk);
            return json_object_get(f); /* out of memory: nothing pruned */
        }
    }
    json_object_object_foreach(f, k, v)
    {
        if (strncmp(k, "f:", 2) != 0) continue;
        json_object *child = NULL;
        if (!json_object_object_get_ex(obj, k + 2, &child) || child == NULL) {
            if (ng < 256) gone[ng++] = k;
            continue;
        }
        if (!json_object_is_type(v, json_type_object) ||
            !json_object_is_type(child, json_type_object))
            continue;
        int e = 0;
        json_object *pv = prune_fields(v, child, &e);
        if (e && ng < 256) {
            gone[ng++] = k; /* nothing left under it */
            json_object_put(pv);
        } else if (pv != v) {
            subk[ns] = k;
            sub[ns++] = pv; /* kept with fewer paths */
        } else {
            json_object_put(pv);
        }
    }
    json_object *n = NULL;
    if (ng == 0 && ns == 0) {
        *empty = json_object_object_length(f) == 0;
        n = json_object_get(f);
        goto out;
    }
    n = json_object_new_object();
    size_t gi = 0, si = 0;
    json_object_object_foreach(f, k2, v2)
    {
        if (gi < ng && gone[gi] == k2) {
            gi++;
            continue;
        }
        if (si < ns && subk[si] == k2) {
            json_object_object_add_ex(n, k2, sub[si++], JSON_C_OBJECT_ADD_KEY_IS_NEW);
            continue;
        }
        json_object_object_add_ex(n, k2, json_object_get(v2), JSON_C_OBJECT_ADD_KEY_IS_NEW);
    }
    for (; si < ns; si++)
        json_object_put(sub[si]);
    *empty = json_object_object_length(n) == 0;
out:
    if (sub != sub_st) {
        free(sub);
        free(subk);
    }
    return n;
}

/* Add member k, new to o (takes v). */
static void
add_known(json_object *o, const char *k, json_object *v)
{
    sim_json_add_new(o, k, v);
}

/* ---- "does the manager own these fields already?" without building them ----
 * The checks below mirror write_fields / fields_of / fields_of_array key by
 * key and answer whether merge_fields(fv, <what those build>) would return fv
 * unchanged. They may answer no when unsure (the caller then builds the
 * fields); they never answer yes wrongly. */

/* fv's member key (an object), or NULL. */
static json_object *
fv_child(json_object *fv, const char *key)
{
    json_object *d = NULL;
    if (!json_object_object_get_ex(fv, key, &d) || !json_object_is_type(d, json_type_object))
        return NULL;
    return d;
}

static int cover_array(json_object *fv, json_object *a, int depth);

/* Is fields_of(v, depth) covered by fv? */
static int
cover_of(json_object *fv, json_object *v, int depth)
{
    if (depth > 32 || !json_object_is_type(v, json_type_object)) return 1; /* {} */
    if (depth > 0 && !fv_child(fv, ".")) return 0;
    char key[512];
    json_object_object_foreach(v, k, c)
    {
        if (depth == 0 && (!strcmp(k, "apiVersion") || !strcmp(k, "kind"))) continue;
        json_object *d = fv_child(fv, fkey(key, "f:", k, ""));
        if (!d) return 0;
        if (json_object_is_type(c, json_type_object) && !cover_of(d, c, depth + 1)) return 0;
        if (json_object_is_type(c, json_type_array) && !cover_array(d, c, depth + 1)) return 0;
    }
    return 1;
}

/* Is fields_of_array(a, depth) covered by fv? */
static int
cover_array(json_object *fv, json_object *a, int depth)
{
    char key[512];
    size_t n = json_object_array_length(a);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(a, i);
        const char *nm = json_object_is_type(e, json_type_object) ? jx_str(e, "name") : NULL;
        if (!nm) return 1; /* the list stops here */
        json_object *d = fv_child(fv, fkey(key, "k:{\"name\":\"", nm, "\"}"));
        if (!d || !cover_of(d, e, depth + 1)) return 0;
    }
    return 1;
}

/* Is write_fields(src, subresource) non-empty and covered by fv? */
static int
src_covered(json_object *fv, json_object *src, const char *subresource)
{
    static const char *const keep[] = {"generateName", "labels", "annotations", "finalizers",
                                       "ownerReferences"};
    char key[512], mk[512];
    int any = 0;
    if (!json_object_is_type(src, json_type_object)) return 0;
    json_object_object_foreach(src, k, v)
    {
        if (!strcmp(k, "apiVersion") || !strcmp(k, "kind") || v == NULL) continue;
        int is_status = !strcmp(k, "status");
        if (subresource ? !is_status : is_status) continue;
        fkey(key, "f:", k, "");
        if (!strcmp(k, "metadata")) {
            json_object *d = NULL;
            for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
                json_object *x = NULL;
                if (!json_object_is_type(v, json_type_object) ||
                    !json_object_object_get_ex(v, keep[i], &x) || !x)
                    continue;
                if (!d && !(d = fv_child(fv, key))) return 0;
                json_object *dm = fv_child(d, fkey(mk, "f:", keep[i], ""));
                if (!dm || (json_object_is_type(x, json_type_object) && !cover_of(dm, x, 1)))
                    return 0;
            }
            if (d) any = 1;
            continue;
        }
        json_object *d = fv_child(fv, key);
        if (!d) return 0;
        any = 1;
        if (json_object_is_type(v, json_type_object) && !cover_of(d, v, 1)) return 0;
        if (json_object_is_type(v, json_type_array) && !cover_array(d, v, 1)) return 0;
    }
    return any;
}

/* A new managedFields entry: e's keys in order with the given values set
 * (NULL: keep e's), then those e lacked in the order fieldsV1, time,
 * apiVersion - as setting them one by one on e would leave it. */
static json_object *
entry_with(json_object *e, json_object *fields, const char *time, const char *api_version)
{
    json_object *n = json_object_new_object();
    int has_f = 0, has_t = 0, has_av = 0;
    json_object_object_foreach(e, k, v)
    {
        json_object *nv;
        if (fields && !strcmp(k, "fieldsV1")) {
            nv = json_object_get(fields);
            has_f = 1;
        } else if (time && !strcmp(k, "time")) {
            nv = str_node_is(v, time) ? json_object_get(v) : json_object_new_string(time);
            has_t = 1;
        } else if (api_version && !strcmp(k, "apiVersion")) {
            nv = str_node_is(v, api_version) ? json_object_get(v)
                                             : json_object_new_string(api_version);
            has_av = 1;
        } else {
            nv = json_object_get(v);
        }
        add_known(n, k, nv);
    }
    if (fields && !has_f) json_object_object_add(n, "fieldsV1", json_object_get(fields));
    if (time && !has_t) json_object_object_add(n, "time", json_object_new_string(time));
    if (api_version && !has_av)
        json_object_object_add(n, "apiVersion", json_object_new_string(api_version));
    return n;
}

/* The members of a managedFields entry a write looks at, read in one pass
 * over its keys instead of one hashed lookup each. */
typedef struct {
    json_object *manager, *operation, *subresource, *time, *api_version;
} mf_entry;

static void
entry_scan(json_object *e, mf_entry *m)
{
    memset(m, 0, sizeof *m);
    struct lh_table *t = json_object_get_object(e);
    for (struct lh_entry *it = t ? lh_table_head(t) : NULL; it; it = lh_entry_next(it)) {
        const char *k = lh_entry_k(it);
        json_object *v = lh_entry_v(it);
        if (!strcmp(k, "manager"))
            m->manager = v;
        else if (!strcmp(k, "operation"))
            m->operation = v;
        else if (!strcmp(k, "subresource"))
            m->subresource = v;
        else if (!strcmp(k, "time"))
            m->time = v;
        else if (!strcmp(k, "apiVersion"))
            m->api_version = v;
    }
}

/* v is the string want; a missing or non-string member reads as "" (as
 * jx_str_or(..., "") did). */
static int
node_is(json_object *v, const char *want)
{
    if (!json_object_is_type(v, json_type_string)) return want[0] == '\0';
    return !strcmp(json_object_get_string(v), want);
}

/* e.fieldsV1 when it is an object (jx_obj without the path parsing). */
static json_object *
fields_v1(json_object *e)
{
    json_object *f = NULL;
    json_object_object_get_ex(e, "fieldsV1", &f);
    return json_object_is_type(f, json_type_object) ? f : NULL;
}

/* managedFields array mf with each entry's fields pruned against obj and
 * emptied entries dropped (copy on write). Returns mf itself (new reference)
 * when nothing changes; else a new array (possibly empty). */
static json_object *
prune_managed(json_object *mf, json_object *obj)
{
    size_t n = json_object_array_length(mf);
    json_object *keep = NULL;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(mf, i), *ne = json_object_get(e);
        json_object *f = fields_v1(e);
        int drop = 0;
        if (f) {
            json_object *pf = prune_fields(f, obj, &drop);
            if (!drop && pf != f) {
                json_object_put(ne);
                ne = entry_with(e, pf, NULL, NULL);
            }
            json_object_put(pf);
        }
        if ((drop || ne != e) && !keep) {
            /* the first change: the entries before it carry over */
            keep = json_object_new_array();
            for (size_t j = 0; j < i; j++)
                json_object_array_add(keep, json_object_get(json_object_array_get_idx(mf, j)));
        }
        if (keep && !drop)
            json_object_array_add(keep, ne);
        else
            json_object_put(ne);
    }
    return keep ? keep : json_object_get(mf);
}

/* Set metadata.managedFields to mf (taken), or delete it when mf is empty. */
static void
set_managed(json_object *meta, json_object *mf)
{
    if (json_object_array_length(mf) == 0) {
        json_object_put(mf);
        json_object_object_del(meta, "managedFields");
    } else {
        json_object_object_add(meta, "managedFields", mf);
    }
}

void
sim_meta_managed(json_object *obj, json_object *fields_src, const char *manager,
                 const char *operation, const char *api_version, const char *subresource,
                 int merge_with_previous)
{
    json_object *meta = NULL;
    if (!json_object_object_get_ex(obj, "metadata", &meta) ||
        !json_object_is_type(meta, json_type_object))
        meta = jx_ensure_obj(obj, "metadata");
    if (!meta) return;
    json_object *cur = NULL;
    json_object_object_get_ex(meta, "managedFields", &cur);
    json_object *mf = json_object_is_type(cur, json_type_array) ? cur : NULL;
    size_t n = mf ? json_object_array_length(mf) : 0, i;
    json_object *e = NULL, *old = NULL, *nf = NULL;
    mf_entry me;
    for (i = 0; i < n; i++) {
        e = json_object_array_get_idx(mf, i);
        entry_scan(e, &me);
        if (node_is(me.manager, manager) && node_is(me.operation, operation) &&
            node_is(me.subresource, subresource ? subresource : ""))
            break;
    }
    if (i < n) {
        old = fields_v1(e);
        /* the common case: the manager sets fields it already owns */
        if (merge_with_previous && old && src_covered(old, fields_src, subresource))
            nf = json_object_get(old);
    }
    if (!nf) {
        json_object *f = write_fields(fields_src, subresource);
        if (json_object_object_length(f) == 0) {
            json_object_put(f);
            if (mf) {
                json_object *p = prune_managed(mf, obj);
                if (p != mf || json_object_array_length(p) == 0)
                    set_managed(meta, p);
                else
                    json_object_put(p);
            }
            return;
        }
        nf = i < n && merge_with_previous && old ? merge_fields(old, f) : json_object_get(f);
        json_object_put(f);
    }
    char now[32];
    now_cached(now);
    json_object *nmf = NULL;
    if (i < n) {
        json_object *ne = NULL;
        if (nf == old && node_is(me.time, now) && node_is(me.api_version, api_version))
            ne = json_object_get(e); /* the same second, the same fields */
        else
            ne = entry_with(e, nf, now, api_version);
        if (ne == e) {
            json_object_put(ne);
            nmf = json_object_get(mf);
        } else {
            nmf = json_object_new_array_ext((int)n);
            for (size_t j = 0; j < n; j++)
                json_object_array_add(
                    nmf, j == i ? ne : json_object_get(json_object_array_get_idx(mf, j)));
        }
    } else {
        json_object *ne = json_object_new_object();
        add_known(ne, "manager", json_object_new_string(manager));
        add_known(ne, "operation", json_object_new_string(operation));
        add_known(ne, "apiVersion", json_object_new_string(api_version));
        add_known(ne, "time", json_object_new_string(now));
        add_known(ne, "fieldsType", json_object_new_string("FieldsV1"));
        add_known(ne, "fieldsV1", json_object_get(nf));
        if (subresource) add_known(ne, "subresource", json_object_new_string(subresource));
        nmf = json_object_new_array_ext((int)n + 1);
        for (size_t j = 0; j < n; j++)
            json_object_array_add(nmf, json_object_get(json_object_array_get_idx(mf, j)));
        json_object_array_add(nmf, ne);
    }
    json_object_put(nf);
    json_object *p = prune_managed(nmf, obj);
    json_object_put(nmf);
    if (p == cur)
        json_object_put(p);
    else
        set_managed(meta, p);
}
