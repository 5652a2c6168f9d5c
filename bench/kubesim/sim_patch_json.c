/* sim_patch_json.c - RFC 6902 JSON patch with RFC 6901 JSON Pointers.
 *
 * The operations run one by one on a private deep copy of the document; the
 * first failure discards the copy, so the patch is all or nothing. A pointer
 * is resolved token by token without building a token list: each step
 * decodes one reference token (~1 -> '/', ~0 -> '~') into a small buffer.
 * The real server (evanphx/json-patch behind kube-apiserver) answers every
 * failed operation with the same generic 422, so the error texts written
 * here are for logs only. */
#include "bench/kubesim/sim_patch.h"
#include "bench/kubesim/sim_patch_internal.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define PTR_TOKEN_MAX 1024

/* Decode the token starting at *p (just after a '/') into tok. Advances *p
 * to the next '/' or the end. Returns 0, or -1 on a bad escape / overlong
 * token. */
static int
next_token(const char **p, char *tok)
{
    size_t n = 0;
    const char *s = *p;

    while (*s != '\0' && *s != '/') {
        char c = *s++;
        if (c == '~') {
            if (*s == '0')
                c = '~';
            else if (*s == '1')
                c = '/';
            else
                return -1;
            s++;
        }
        if (n + 1 >= PTR_TOKEN_MAX) return -1;
        tok[n++] = c;
    }
    tok[n] = '\0';
    *p = s;
    return 0;
}

/* Array index token: "0" or [1-9][0-9]*, below limit. */
static int
parse_index(const char *tok, size_t limit, size_t *idx)
{
    size_t v = 0;

    if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0')) return -1;
    for (const char *c = tok; *c; c++) {
        if (*c < '0' || *c > '9') return -1;
        v = v * 10 + (size_t)(*c - '0');
        if (v > limit) return -1;
    }
    *idx = v;
    return 0;
}

/* Resolve all tokens of path but the last. *parent is the container that
 * holds the target, last the decoded final token. Returns 0, or -1 when the
 * pointer is malformed or an intermediate step is missing. path must not be
 * "" (the whole document is handled by the callers). */
static int
resolve_parent(json_object *root, const char *path, json_object **parent, char *last)
{
    json_object *cur = root;
    const char *p = path;
    char tok[PTR_TOKEN_MAX];

    if (path[0] != '/') return -1;
    p++;
    for (;;) {
        if (next_token(&p, tok) != 0) return -1;
        if (*p == '\0') {
            memcpy(last, tok, strlen(tok) + 1);
            *parent = cur;
            return 0;
        }
        p++; /* skip '/' */
        if (json_object_is_type(cur, json_type_object)) {
            if (!json_object_object_get_ex(cur, tok, &cur) || cur == NULL) return -1;
        } else if (json_object_is_type(cur, json_type_array)) {
            size_t i;
            if (parse_index(tok, json_object_array_length(cur) - 1, &i) != 0 ||
                json_object_array_length(cur) == 0)
                return -1;
            cur = json_object_array_get_idx(cur, i);
        } else {
            return -1;
        }
    }
}

/* The value at path (borrowed) or -1 when absent. */
static int
get_at(json_object *root, const char *path, json_object **out)
{
    json_object *parent;
    char last[PTR_TOKEN_MAX];

    if (path[0] == '\0') {
        *out = root;
        return 0;
    }
    if (resolve_parent(root, path, &parent, last) != 0) return -1;
    if (json_object_is_type(parent, json_type_object))
        return json_object_object_get_ex(parent, last, out) ? 0 : -1;
    if (json_object_is_type(parent, json_type_array)) {
        size_t n = json_object_array_length(parent), i;
        if (n == 0 || parse_index(last, n - 1, &i) != 0) return -1;
        *out = json_object_array_get_idx(parent, i);
        return 0;
    }
    return -1;
}

/* Insert val (owned) at idx <= length, shifting the tail right. */
static int
array_insert(json_object *arr, size_t idx, json_object *val)
{
    size_t n = json_object_array_length(arr);

    if (json_object_array_add(arr, NULL) != 0) return -1;
    for (size_t i = n; i > idx; i--) {
        json_object *e = json_object_array_get_idx(arr, i - 1);
        json_object_get(e);
        json_object_array_put_idx(arr, i, e);
    }
    return json_object_array_put_idx(arr, idx, val);
}

/* add: takes ownership of val in every case. */
static int
op_add(json_object **root, const char *path, json_object *val)
{
    json_object *parent;
    char last[PTR_TOKEN_MAX];

    if (path[0] == '\0') {
        json_object_put(*root);
        *root = val;
        return 0;
    }
    if (resolve_parent(*root, path, &parent, last) != 0) goto fail;
    if (json_object_is_type(parent, json_type_object))
        return json_object_object_add(parent, last, val) == 0 ? 0 : -1;
    if (json_object_is_type(parent, json_type_array)) {
        size_t n = json_object_array_length(parent), i;
        if (strcmp(last, "-") == 0) return json_object_array_add(parent, val) == 0 ? 0 : -1;
        if (parse_index(last, n, &i) != 0) goto fail;
        return array_insert(parent, i, val);
    }
fail:
    json_object_put(val);
    return -1;
}

/* remove; when take is not NULL the removed value is handed over. */
static int
op_remove(json_object **root, const char *path, json_object **take)
{
    json_object *parent, *v;
    char last[PTR_TOKEN_MAX];

    if (path[0] == '\0') {
        /* Removing the whole document is not a meaningful object patch. */
        return -1;
    }
    if (resolve_parent(*root, path, &parent, last) != 0) return -1;
    if (json_object_is_type(parent, json_type_object)) {
        if (!json_object_object_get_ex(parent, last, &v)) return -1;
        if (take != NULL) *take = json_object_get(v);
        json_object_object_del(parent, last);
        return 0;
    }
    if (json_object_is_type(parent, json_type_array)) {
        size_t n = json_object_array_length(parent), i;
        if (n == 0 || parse_index(last, n - 1, &i) != 0) return -1;
        if (take != NULL) *take = json_object_get(json_object_array_get_idx(parent, i));
        return json_object_array_del_idx(parent, i, 1) == 0 ? 0 : -1;
    }
    return -1;
}

static int
op_replace(json_object **root, const char *path, json_object *val)
{
    json_object *cur;

    if (get_at(*root, path, &cur) != 0) {
        json_object_put(val);
        return -1;
    }
    if (path[0] == '\0') {
        json_object_put(*root);
        *root = val;
        return 0;
    }
    json_object *parent;
    char last[PTR_TOKEN_MAX];
    if (resolve_parent(*root, path, &parent, last) != 0) {
        json_object_put(val);
        return -1;
    }
    if (json_object_is_type(parent, json_type_object))
        return json_object_object_add(parent, last, val) == 0 ? 0 : -1;
    size_t i;
    if (parse_index(last, json_object_array_length(parent) - 1, &i) != 0) {
        json_object_put(val);
        return -1;
    }
    return json_object_array_put_idx(parent, i, val) == 0 ? 0 : -1;
}

/* Is a a proper prefix (whole tokens) of b? */
static int
is_proper_prefix(const char *a, const char *b)
{
    size_t n = strlen(a);
    return strncmp(a, b, n) == 0 && b[n] == '/';
}

static int
apply_one(json_object **root, json_object *op, char *err, size_t errlen)
{
    json_object *jop = NULL, *jpath = NULL, *jfrom = NULL, *jval = NULL;
    int has_val, ok = 1;
    const char *name, *path, *from = NULL;

    if (!json_object_object_get_ex(op, "op", &jop) || !json_object_is_type(jop, json_type_string)) {
        sim__errf(err, errlen, "Unexpected kind: unknown");
        return ERR_UNPROCESSABLE;
    }
    name = json_object_get_string(jop);
    if (!json_object_object_get_ex(op, "path", &jpath) ||
        !json_object_is_type(jpath, json_type_string)) {
        sim__errf(err, errlen, "%s operation: missing path", name);
        return ERR_UNPROCESSABLE;
    }
    path = json_object_get_string(jpath);
    if (path[0] != '\0' && path[0] != '/') {
        sim__errf(err, errlen, "%s operation: bad JSON pointer %s", name, path);
        return ERR_UNPROCESSABLE;
    }
    has_val = json_object_object_get_ex(op, "value", &jval);
    if (json_object_object_get_ex(op, "from", &jfrom) &&
        json_object_is_type(jfrom, json_type_string))
        from = json_object_get_string(jfrom);

    if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0) {
        if (!has_val) {
            sim__errf(err, errlen, "%s operation: missing value", name);
            return ERR_UNPROCESSABLE;
        }
        json_object *c = sim__json_copy(jval, &ok);
        if (!ok) return ERR_NOMEM;
        int rc = name[0] == 'a' ? op_add(root, path, c) : op_replace(root, path, c);
        if (rc != 0) {
            sim__errf(err, errlen, "%s operation does not apply: doc is missing path: %s", name,
                      path);
            return ERR_UNPROCESSABLE;
        }
        return 0;
    }
    if (strcmp(name, "remove") == 0) {
        if (op_remove(root, path, NULL) != 0) {
            sim__errf(err, errlen, "remove operation does not apply: doc is missing path: %s",
                      path);
            return ERR_UNPROCESSABLE;
        }
        return 0;
    }
    if (strcmp(name, "test") == 0) {
        json_object *cur;
        if (!has_val || get_at(*root, path, &cur) != 0 || !sim_json_equal(cur, jval)) {
            sim__errf(err, errlen, "testing value %s failed", path);
            return ERR_UNPROCESSABLE;
        }
        return 0;
    }
    if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
        json_object *v = NULL, *src;
        if (from == NULL || (from[0] != '\0' && from[0] != '/')) {
            sim__errf(err, errlen, "%s operation: missing from", name);
            return ERR_UNPROCESSABLE;
        }
        if (name[0] == 'm') {
            if (strcmp(from, path) == 0)
                return get_at(*root, from, &src) == 0 ? 0 : ERR_UNPROCESSABLE;
            if (is_proper_prefix(from, path) || op_remove(root, from, &v) != 0) {
                sim__errf(err, errlen, "move operation: bad from %s", from);
                return ERR_UNPROCESSABLE;
            }
        } else {
            if (get_at(*root, from, &src) != 0) {
                sim__errf(err, errlen, "copy operation: from %s missing", from);
                return ERR_UNPROCESSABLE;
            }
            v = sim__json_copy(src, &ok);
            if (!ok) return ERR_NOMEM;
        }
        if (op_add(root, path, v) != 0) {
            sim__errf(err, errlen, "%s operation: cannot add at %s", name, path);
            return ERR_UNPROCESSABLE;
        }
        return 0;
    }
    sim__errf(err, errlen, "Unexpected kind: %s", name);
    return ERR_UNPROCESSABLE;
}

int
sim_json_patch(json_object *doc, json_object *ops, json_object **out, char *err, size_t errlen)
{
    json_object *root;
    int ok = 1, rc;
    size_t n;

    *out = NULL;
    if (ops == NULL || !json_object_is_type(ops, json_type_array)) {
        sim__errf(err, errlen, "json: cannot unmarshal into Go value of type jsonpatch.Patch");
        return ERR_BADREQUEST;
    }
    n = json_object_array_length(ops);
    for (size_t i = 0; i < n; i++) {
        if (!json_object_is_type(json_object_array_get_idx(ops, i), json_type_object)) {
            sim__errf(err, errlen, "json: operation %zu is not an object", i);
            return ERR_BADREQUEST;
        }
    }
    root = sim__json_copy(doc, &ok);
    if (!ok) return ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        rc = apply_one(&root, json_object_array_get_idx(ops, i), err, errlen);
        if (rc != 0) {
            json_object_put(root);
            return rc;
        }
    }
    *out = root;
    return 0;
}
