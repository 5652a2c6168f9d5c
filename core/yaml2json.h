/* yaml2json.h - YAML documents to json-c trees (libyaml event parser).
 *
 * Plain scalars are resolved as YAML 1.2 core schema: null/~, true/false,
 * integers, floats; quoted or block scalars stay strings. Anchors and aliases
 * are resolved by copy. Returns a new array of documents (caller puts it), or
 * NULL with a message "line L column C: problem" in err. Never crashes on
 * malformed input; nesting deeper than 256 levels is refused. */
#ifndef ASC_CORE_YAML2JSON_H
#define ASC_CORE_YAML2JSON_H

#include <json-c/json.h>
#include <stddef.h>

json_object *yaml_to_json_docs(const char *buf, size_t len, char *err, size_t errlen);
/* Exactly the first non-empty document (NULL + err if there is none). */
json_object *yaml_to_json(const char *buf, size_t len, char *err, size_t errlen);

#endif
