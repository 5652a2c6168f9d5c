/* jx.h - small json-c conveniences shared by every module.
 *
 * Paths are dot-separated object keys ("metadata.labels"); a key that itself
 * contains dots (label keys) is reached with jx_child(). Getters return
 * borrowed pointers owned by the root object; they never allocate and return
 * NULL (or the given fallback) for a missing or mistyped value, so callers can
 * read untrusted objects without checks at every step. */
#ifndef ASC_CORE_JX_H
#define ASC_CORE_JX_H

#include <json-c/json.h>
#include <stdint.h>

json_object *jx_get(json_object *root, const char *path);
json_object *jx_child(json_object *obj, const char *key); /* one key, dots allowed */
const char *jx_str(json_object *root, const char *path);  /* NULL if absent or not a string */
const char *jx_str_or(json_object *root, const char *path, const char *fallback);
int64_t jx_int(json_object *root, const char *path, int64_t fallback);
int jx_bool(json_object *root, const char *path, int fallback); /* 1/0, or fallback */
json_object *jx_obj(json_object *root, const char *path);       /* NULL unless an object */
json_object *jx_arr(json_object *root, const char *path);       /* NULL unless an array */
/* label/annotation value: metadata.labels[key] */
const char *jx_label(json_object *obj, const char *key);
const char *jx_annotation(json_object *obj, const char *key);

/* Get or create the object at path (creating intermediate objects; a
 * non-object in the way is replaced). Returns a borrowed pointer or NULL on
 * allocation failure. */
json_object *jx_ensure_obj(json_object *root, const char *path);
/* Set root[path] = val (takes ownership of val). Returns 0 or ERR_NOMEM. */
int jx_set(json_object *root, const char *path, json_object *val);
int jx_set_str(json_object *root, const char *path, const char *s);

/* Parse a whole buffer. NULL with *err filled (static text) on failure. */
json_object *jx_parse(const char *buf, size_t len, const char **err);
/* Compact serialisation; the string belongs to obj (json-c rule). */
const char *jx_dump(json_object *obj);

#endif
