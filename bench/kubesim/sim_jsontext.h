/* sim_jsontext.h - JSON text <-> json-c trees, fast and exactly like json-c.
 *
 * kubesim stores every object version as compact JSON text and re-parses it
 * on demand (sim_store.h); the generic json-c paths cost more than the rest
 * of a write. These two functions do the same work with far fewer
 * instructions and no observable difference:
 *
 * - sim_json_write is byte for byte json_object_to_json_string_ext(o, flags)
 *   (json-c 0.16): string escaping (\u00XX lower case, '/' unless
 *   JSON_C_TO_STRING_NOSLASHESCAPE), int64 and uint64, doubles (the original
 *   text of parsed ones, json-c's own formatting for the rest, NaN and
 *   Infinity), empty containers, and any serializer set with
 *   json_object_set_serializer (called as json-c would call it). Flags other
 *   than PLAIN and NOSLASHESCAPE go to json-c as a whole.
 * - sim_json_parse is exactly a json_tokener_parse_ex of (txt, len) with a
 *   tokener of depth 1024 that must end in json_tokener_success: same result,
 *   same types, same double text, same accept/reject. Canonical json-c output
 *   (what kubesim stores) takes a single fast pass that builds the nodes
 *   directly; anything else (comments, single quotes, leading zeros, NaN,
 *   trailing bytes, lone surrogates, \u0000, duplicate keys, deep nesting,
 *   a top level that is not an object or array ...) is handed to
 *   json_tokener, so the result is always the tokener's.
 *
 * Thread use: any thread; each keeps its own scratch (a tokener, a printbuf,
 * a decode buffer) until sim_json_release. No globals are modified. */
#ifndef ASC_SIM_JSONTEXT_H
#define ASC_SIM_JSONTEXT_H

#include "bench/kubesim/sim_buf.h"

#include <json-c/json.h>
#include <stddef.h>

/* The flags kubesim serialises stored objects and replies with. */
#define SIM_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Append the JSON text of o (NULL: "null") to b. Returns 0, or -1 when a
 * custom serializer failed (json-c would return NULL; b then holds a
 * partial text) or b ran out of memory (b->oom is set). */
int sim_json_write(sim_buf *b, json_object *o, int flags);

/* The JSON text of o as a new NUL-terminated string of exactly *len bytes
 * (caller frees), or NULL (out of memory, or a custom serializer failed). A
 * drop-in for strdup(json_object_to_json_string_ext(o, flags)). */
char *sim_json_text(json_object *o, int flags, size_t *len);

/* Parse txt[0..len) (need not be NUL-terminated). Returns a new reference
 * (caller puts it), or NULL when json_tokener would not succeed on it
 * (malformed, too deep, incomplete, len > INT_MAX) or memory ran out. */
json_object *sim_json_parse(const char *txt, size_t len);

/* Free this thread's scratch (call when a thread that used the above ends). */
void sim_json_release(void);

#endif
