/* sim_jsontext.h - JSON text <-> json-c trees, fast and exactly like json-c.
 *
 * kubesim stores every object version as compact JSON text and re-parses it
 * on demand (sim_store.h); the generic json-c paths cost more than the rest
 * of a write. These functions do the same work with about half the
 * instructions and no difference in the result:
 *
 * - sim_json_write is byte for byte json_object_to_json_string_ext(o, flags)
 *   (json-c 0.16): string escaping (\u00XX lower case, '/' unless
 *   JSON_C_TO_STRING_NOSLASHESCAPE), int64 and uint64, doubles (the original
 *   text of parsed ones, json-c's own formatting for the rest, NaN and
 *   Infinity), empty containers, and any serializer set with
 *   json_object_set_serializer with userdata (json-c prints that node; its
 *   serializer sees level 0). Flags other than PLAIN and NOSLASHESCAPE go to
 *   json-c as a whole. Only the public API is used: a custom serializer set
 *   without userdata is not seen (kubesim sets none).
 * - sim_json_parse is exactly a json_tokener_parse_ex of (txt, len) by a new
 *   tokener of depth 1024 that must end in json_tokener_success: same tree
 *   (types, int64/uint64, double values and text, key order, array sizes),
 *   same accept/reject. Canonical json-c output (what kubesim stores) takes
 *   one fast pass that builds the nodes directly; anything else (comments,
 *   single quotes, leading zeros, NaN, trailing bytes, lone surrogates,
 *   \u0000, duplicate keys, deep nesting, a top level that is not an object
 *   or array ...) is parsed by json_tokener itself. One internal difference:
 *   common Kubernetes field names ("metadata", "name", "f:labels" ...) are
 *   constant keys in the tree (lh_entry.k_is_constant; json-c neither copied
 *   them nor will free them). Every json-c call reads the tree the same.
 *
 * Thread use: any thread; each keeps its own scratch (a tokener, a printbuf,
 * buffers) until sim_json_release. Read-only tables are built once. */
#ifndef ASC_SIM_JSONTEXT_H
#define ASC_SIM_JSONTEXT_H

#include "bench/kubesim/sim_buf.h"

#include <json-c/json.h>
#include <stddef.h>

/* The flags kubesim serialises stored objects and replies with. */
#define SIM_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Append the JSON text of o (NULL: "null") to b, NUL-terminated like every
 * sim_buf append. Returns 0, or -1 when a custom serializer failed (json-c
 * would return NULL; b then holds a partial text) or b ran out of memory
 * (b->oom is set). Writes straight into b's data (sim_buf.h's contract: cap
 * counts the NUL), growing it with sim_buf_reserve. */
int sim_json_write(sim_buf *b, json_object *o, int flags);

/* The JSON text of o as a new NUL-terminated string of exactly *len bytes
 * (caller frees), or NULL (out of memory, or a custom serializer failed). A
 * drop-in for strdup(json_object_to_json_string_ext(o, flags)). */
char *sim_json_text(json_object *o, int flags, size_t *len);

/* Parse txt[0..len) (need not be NUL-terminated). Returns a new reference
 * (caller puts it), or NULL when json_tokener would not succeed on it
 * (malformed, too deep, incomplete, len > INT_MAX), when the text is the
 * JSON null, or when memory ran out. */
json_object *sim_json_parse(const char *txt, size_t len);

/* A whole document, such as a request body: exactly a json_tokener of depth
 * max_depth (non-strict) that succeeds and leaves only isspace() bytes after
 * the value; NULL otherwise (also for the JSON null, or out of memory).
 * Keeps one tokener per thread for max_depth (another depth replaces it). */
json_object *sim_json_parse_doc(const char *txt, size_t len, int max_depth);

/* o's member key (borrowed), or NULL when o is not an object, has no such
 * key, or its value is null: json_object_object_get(o, key). Small objects
 * (most Kubernetes maps) are walked instead of hashed, which costs a third of
 * json-c's lookup. */
json_object *sim_json_get(json_object *o, const char *key);

/* Free this thread's scratch (call when a thread that used the above ends). */
void sim_json_release(void);

#endif
