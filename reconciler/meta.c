/* meta.c - metadata helpers shared by the reconcilers (see meta.h). */
#include "reconciler/meta.h"

#include "core/err.h"
#include "core/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
rec_meta_is_system_key(const char *key)
{
    if (key == NULL) return 0;
    return strncmp(key, "agents.x-k8s.io/", 16) == 0 ||
           strncmp(key, "extensions.agents.x-k8s.io/", 27) == 0;
}

int
rec_meta_is_system_annotation(const char *key)
{
    return rec_meta_is_system_key(key) || (key != NULL && strcmp(key, REC_ANN_TRACE_CONTEXT) == 0);
}

const char *
rec_meta_created_by_normalize(const char *v)
{
    static const char *const allowed[] = {"python-client", "go-client", "controller"};
    if (v == NULL) return NULL;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(v, allowed[i]) == 0) return allowed[i];
    return "unknown";
}

json_object *
rec_meta_controller_ref(json_object *obj)
{
    json_object *refs = jx_arr(obj, "metadata.ownerReferences");
    if (refs == NULL) return NULL;
    size_t n = json_object_array_length(refs);
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(refs, i);
        if (jx_bool(r, "controller", 0)) return r;
    }
    return NULL;
}

int
rec_meta_is_controlled_by(json_object *obj, const char *uid)
{
    const char *u = jx_str(rec_meta_controller_ref(obj), "uid");
    return uid != NULL && *uid != '\0' && u != NULL && strcmp(u, uid) == 0;
}

char *
rec_meta_ref_group(json_object *ref, char *buf, size_t len)
{
    const char *av = jx_str_or(ref, "apiVersion", "");
    const char *slash = strchr(av, '/');
    size_t n = slash ? (size_t)(slash - av) : 0;
    if (len == 0) return buf;
    if (n >= len) n = len - 1;
    memcpy(buf, av, n);
    buf[n] = '\0';
    return buf;
}

char *
rec_meta_ref_describe(json_object *ref, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s (UID: %s)", jx_str_or(ref, "kind", ""), jx_str_or(ref, "name", ""),
             jx_str_or(ref, "uid", ""));
    return buf;
}

json_object *
rec_meta_owner_ref_new(const kube_resource *res, json_object *owner)
{
    char av[160];
    if (res->group && *res->group)
        snprintf(av, sizeof av, "%s/%s", res->group, res->version);
    else
        snprintf(av, sizeof av, "%s", res->version);
    json_object *r = json_object_new_object();
    if (r == NULL) return NULL;
    json_object_object_add(r, "apiVersion", json_object_new_string(av));
    json_object_object_add(r, "kind", json_object_new_string(res->kind));
    json_object_object_add(r, "name",
                           json_object_new_string(jx_str_or(owner, "metadata.name", "")));
    json_object_object_add(r, "uid", json_object_new_string(jx_str_or(owner, "metadata.uid", "")));
    json_object_object_add(r, "controller", json_object_new_boolean(1));
    json_object_object_add(r, "blockOwnerDeletion", json_object_new_boolean(1));
    return r;
}

json_object *
rec_meta_owner_refs_with(json_object *obj, json_object *ref)
{
    json_object *out = json_object_new_array();
    if (out == NULL) {
        json_object_put(ref);
        return NULL;
    }
    json_object *refs = jx_arr(obj, "metadata.ownerReferences");
    size_t n = refs ? json_object_array_length(refs) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(refs, i);
        if (jx_bool(r, "controller", 0)) continue;
        json_object_array_add(out, json_object_get(r));
    }
    json_object_array_add(out, ref);
    return out;
}

json_object *
rec_meta_map(json_object *obj, const char *section)
{
    return jx_obj(jx_obj(obj, "metadata"), section);
}

const char *
rec_meta_map_str(json_object *map, const char *key)
{
    json_object *v = jx_child(map, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int
rec_meta_copy_map(json_object *dst, json_object *src, int (*keep)(const char *key))
{
    int n = 0;
    if (dst == NULL || src == NULL || !json_object_is_type(src, json_type_object)) return 0;
    json_object_object_foreach(src, k, v)
    {
        if (!json_object_is_type(v, json_type_string) || (keep && !keep(k))) continue;
        json_object *s = json_object_new_string(json_object_get_string(v));
        if (s == NULL) return ERR_NOMEM;
        json_object_object_add(dst, k, s);
        n++;
    }
    return n;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *
rec_meta_keys_csv(json_object *map, int (*keep)(const char *key))
{
    size_t n = 0, total = 1;
    const char **keys = NULL;
    if (map != NULL && json_object_is_type(map, json_type_object)) {
        keys = calloc((size_t)json_object_object_length(map) + 1, sizeof *keys);
        if (keys == NULL) return NULL;
        json_object_object_foreach(map, k, v)
        {
            (void)v;
            if (keep && !keep(k)) continue;
            keys[n++] = k;
            total += strlen(k) + 1;
        }
    }
    if (n > 1) qsort(keys, n, sizeof *keys, cmp_str);
    char *out = malloc(total);
    if (out != NULL) {
        char *p = out;
        for (size_t i = 0; i < n; i++) {
            if (i) *p++ = ',';
            size_t l = strlen(keys[i]);
            memcpy(p, keys[i], l);
            p += l;
        }
        *p = '\0';
    }
    free(keys);
    return out;
}

int
rec_meta_csv_has(const char *csv, const char *key)
{
    size_t kl = strlen(key);
    const char *p = csv;
    if (csv == NULL || kl == 0) return 0;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == kl && memcmp(p, key, kl) == 0) return 1;
        if (c == NULL) break;
        p = c + 1;
    }
    return 0;
}

int
rec_meta_patch_set(json_object **patch, const char *section, const char *key, const char *value)
{
    if (*patch == NULL && (*patch = json_object_new_object()) == NULL) return ERR_NOMEM;
    json_object *meta = jx_ensure_obj(*patch, "metadata");
    json_object *sec = meta ? jx_ensure_obj(meta, section) : NULL;
    if (sec == NULL) return ERR_NOMEM;
    json_object *v = NULL;
    if (value != NULL && (v = json_object_new_string(value)) == NULL) return ERR_NOMEM;
    json_object_object_add(sec, key, v);
    return 0;
}

static int
rv_parse(json_object *o, unsigned long long *out)
{
    const char *s = jx_str(o, "metadata.resourceVersion");
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9') return -1;
    *out = strtoull(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}

int
rec_meta_rv_cmp(json_object *a, json_object *b)
{
    unsigned long long x, y;
    if (rv_parse(a, &x) != 0 || rv_parse(b, &y) != 0) return 0;
    return x > y ? 1 : x < y ? -1 : 0;
}
