#include "core/jx.h"

#include "core/err.h"

#include <string.h>

json_object *
jx_child(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (obj == NULL || !json_object_is_type(obj, json_type_object)) return NULL;
    if (!json_object_object_get_ex(obj, key, &v)) return NULL;
    return v;
}

json_object *
jx_get(json_object *root, const char *path)
{
    if (path == NULL || *path == '\0') return root;
    char key[256];
    json_object *cur = root;
    const char *p = path;
    while (cur != NULL) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof key) return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        cur = jx_child(cur, key);
        if (dot == NULL) return cur;
        p = dot + 1;
    }
    return NULL;
}

const char *
jx_str(json_object *root, const char *path)
{
    json_object *v = jx_get(root, path);
    if (v == NULL || !json_object_is_type(v, json_type_string)) return NULL;
    return json_object_get_string(v);
}

const char *
jx_str_or(json_object *root, const char *path, const char *fallback)
{
    const char *s = jx_str(root, path);
    return s ? s : fallback;
}

int64_t
jx_int(json_object *root, const char *path, int64_t fallback)
{
    json_object *v = jx_get(root, path);
    if (v == NULL) return fallback;
    if (json_object_is_type(v, json_type_int)) return json_object_get_int64(v);
    if (json_object_is_type(v, json_type_double)) return (int64_t)json_object_get_double(v);
    return fallback;
}

int
jx_bool(json_object *root, const char *path, int fallback)
{
    json_object *v = jx_get(root, path);
    if (v == NULL || !json_object_is_type(v, json_type_boolean)) return fallback;
    return json_object_get_boolean(v) ? 1 : 0;
}

json_object *
jx_obj(json_object *root, const char *path)
{
    json_object *v = jx_get(root, path);
    return (v && json_object_is_type(v, json_type_object)) ? v : NULL;
}

json_object *
jx_arr(json_object *root, const char *path)
{
    json_object *v = jx_get(root, path);
    return (v && json_object_is_type(v, json_type_array)) ? v : NULL;
}

const char *
jx_label(json_object *obj, const char *key)
{
    json_object *v = jx_child(jx_obj(obj, "metadata.labels"), key);
    return (v && json_object_is_type(v, json_type_string)) ? json_object_get_string(v) : NULL;
}

const char *
jx_annotation(json_object *obj, const char *key)
{
    json_object *v = jx_child(jx_obj(obj, "metadata.annotations"), key);
    return (v && json_object_is_type(v, json_type_string)) ? json_object_get_string(v) : NULL;
}

json_object *
jx_ensure_obj(json_object *root, const char *path)
{
    char key[256];
    json_object *cur = root;
    const char *p = path;
    if (cur == NULL || !json_object_is_type(cur, json_type_object)) return NULL;
    while (p && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof key) return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        json_object *next = jx_child(cur, key);
        if (next == NULL || !json_object_is_type(next, json_type_object)) {
            next = json_object_new_object();
            if (next == NULL || json_object_object_add(cur, key, next) != 0) return NULL;
        }
        cur = next;
        p = dot ? dot + 1 : NULL;
    }
    return cur;
}

int
jx_set(json_object *root, const char *path, json_object *val)
{
    const char *dot = strrchr(path, '.');
    json_object *parent = root;
    const char *leaf = path;
    if (dot) {
        char head[256];
        size_t n = (size_t)(dot - path);
        if (n >= sizeof head) {
            json_object_put(val);
            return ERR_INVALID;
        }
        memcpy(head, path, n);
        head[n] = '\0';
        parent = jx_ensure_obj(root, head);
        leaf = dot + 1;
    }
    if (parent == NULL || json_object_object_add(parent, leaf, val) != 0) {
        json_object_put(val);
        return ERR_NOMEM;
    }
    return 0;
}

int
jx_set_str(json_object *root, const char *path, const char *s)
{
    return jx_set(root, path, s ? json_object_new_string(s) : NULL);
}

json_object *
jx_parse(const char *buf, size_t len, const char **err)
{
    json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (tok == NULL) {
        if (err) *err = "out of memory";
        return NULL;
    }
    json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (obj == NULL || jerr != json_tokener_success ||
        (size_t)json_tokener_get_parse_end(tok) < len) {
        /* Trailing bytes other than whitespace make the document invalid. */
        size_t end = json_tokener_get_parse_end(tok);
        int trailing_ok = obj != NULL && jerr == json_tokener_success;
        for (size_t i = end; trailing_ok && i < len; i++)
            if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '\t')
                trailing_ok = 0;
        if (!trailing_ok) {
            if (err)
                *err = jerr == json_tokener_success    ? "unexpected trailing data"
                       : jerr == json_tokener_continue ? "unexpected end of JSON input"
                                                       : json_tokener_error_desc(jerr);
            json_object_put(obj);
            json_tokener_free(tok);
            return NULL;
        }
    }
    json_tokener_free(tok);
    return obj;
}

const char *
jx_dump(json_object *obj)
{
    return json_object_to_json_string_ext(obj,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}
