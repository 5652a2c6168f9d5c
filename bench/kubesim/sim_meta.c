/* sim_meta.c - ObjectMeta helpers (see sim_meta.h). */
#include "bench/kubesim/sim_meta.h"

#include "core/jx.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

uint64_t
sim_rand(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void
sim_meta_uid(uint64_t *state, char out[37])
{
    uint64_t a = sim_rand(state), b = sim_rand(state);
    a = (a & 0xffffffffffff0fffull) | 0x4000ull;
    b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff), (unsigned)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffull));
}

void
sim_meta_suffix(uint64_t *state, char out[6])
{
    static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
    for (int i = 0; i < 5; i++)
        out[i] = alpha[sim_rand(state) % (sizeof alpha - 1)];
    out[5] = '\0';
}

void
sim_meta_now(char out[32])
{
    time_fmt_rfc3339(time_now_ms(), out, 32);
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
        snprintf(key, sizeof key, "k:{\"name\":\"%s\"}", nm);
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
            snprintf(key, sizeof key, "f:%s", k);
            json_object *sub;
            if (json_object_is_type(c, json_type_object))
                sub = fields_of(c, depth + 1);
            else if (json_object_is_type(c, json_type_array))
                sub = fields_of_array(c, depth + 1);
            else
                sub = json_object_new_object();
            json_object_object_add(f, key, sub);
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
        snprintf(key, sizeof key, "f:%s", k);
        if (!strcmp(k, "metadata")) {
            json_object *m = json_object_new_object();
            static const char *keep[] = {"generateName", "labels", "annotations", "finalizers",
                                         "ownerReferences"};
            for (size_t i = 0; i < 5; i++) {
                json_object *x = jx_get(v, keep[i]);
                if (!x) continue;
                char mk[64];
                snprintf(mk, sizeof mk, "f:%s", keep[i]);
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

static void
merge_fields(json_object *dst, json_object *src)
{
    json_object_object_foreach(src, k, v)
    {
        json_object *d = NULL;
        if (json_object_object_get_ex(dst, k, &d) && json_object_is_type(d, json_type_object) &&
            json_object_is_type(v, json_type_object))
            merge_fields(d, v);
        else
            json_object_object_add(dst, k, json_object_get(v));
    }
}

/* Drop field paths the object no longer has (a field set to null, a removed
 * finalizer): a manager owns only fields that exist. Returns 1 when f is
 * left empty. */
static int
prune_fields(json_object *f, json_object *obj)
{
    if (!json_object_is_type(obj, json_type_object)) return 0;
    char *gone[256];
    size_t ng = 0;
    json_object_object_foreach(f, k, v)
    {
        if (strncmp(k, "f:", 2) != 0) continue;
        json_object *child = NULL;
        if (!json_object_object_get_ex(obj, k + 2, &child) || child == NULL) {
            if (ng < 256) gone[ng++] = k;
            continue;
        }
        if (json_object_is_type(v, json_type_object) &&
            json_object_is_type(child, json_type_object) && prune_fields(v, child) &&
            json_object_object_length(v) == 0 && ng < 256)
            gone[ng++] = k; /* nothing left under it */
    }
    for (size_t i = 0; i < ng; i++)
        json_object_object_del(f, gone[i]);
    return json_object_object_length(f) == 0;
}

static void
prune_managed(json_object *obj)
{
    json_object *meta = jx_obj(obj, "metadata");
    json_object *mf = meta ? jx_arr(meta, "managedFields") : NULL;
    if (!mf) return;
    json_object *keep = json_object_new_array();
    size_t n = json_object_array_length(mf);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(mf, i);
        json_object *f = jx_obj(e, "fieldsV1");
        if (f && prune_fields(f, obj)) continue;
        json_object_array_add(keep, json_object_get(e));
    }
    if (json_object_array_length(keep) == 0) {
        json_object_put(keep);
        json_object_object_del(meta, "managedFields");
    } else {
        json_object_object_add(meta, "managedFields", keep);
    }
}

void
sim_meta_managed(json_object *obj, json_object *fields_src, const char *manager,
                 const char *operation, const char *api_version, const char *subresource,
                 int merge_with_previous)
{
    json_object *meta = jx_ensure_obj(obj, "metadata");
    if (!meta) return;
    json_object *f = write_fields(fields_src, subresource);
    if (json_object_object_length(f) == 0) {
        json_object_put(f);
        prune_managed(obj);
        return;
    }
    json_object *mf = jx_arr(meta, "managedFields");
    if (!mf) {
        mf = json_object_new_array();
        json_object_object_add(meta, "managedFields", mf);
    }
    char now[32];
    sim_meta_now(now);
    size_t n = json_object_array_length(mf);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(mf, i);
        const char *sr = jx_str(e, "subresource");
        if (strcmp(jx_str_or(e, "manager", ""), manager) != 0 ||
            strcmp(jx_str_or(e, "operation", ""), operation) != 0 ||
            strcmp(sr ? sr : "", subresource ? subresource : "") != 0)
            continue;
        json_object *old = jx_obj(e, "fieldsV1");
        if (merge_with_previous && old) {
            merge_fields(old, f);
            json_object_put(f);
        } else {
            json_object_object_add(e, "fieldsV1", f);
        }
        json_object_object_add(e, "time", json_object_new_string(now));
        json_object_object_add(e, "apiVersion", json_object_new_string(api_version));
        prune_managed(obj);
        return;
    }
    json_object *e = json_object_new_object();
    json_object_object_add(e, "manager", json_object_new_string(manager));
    json_object_object_add(e, "operation", json_object_new_string(operation));
    json_object_object_add(e, "apiVersion", json_object_new_string(api_version));
    json_object_object_add(e, "time", json_object_new_string(now));
    json_object_object_add(e, "fieldsType", json_object_new_string("FieldsV1"));
    json_object_object_add(e, "fieldsV1", f);
    if (subresource) json_object_object_add(e, "subresource", json_object_new_string(subresource));
    json_object_array_add(mf, e);
    prune_managed(obj);
}
