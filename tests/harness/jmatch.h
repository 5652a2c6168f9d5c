/* jmatch.h - compare a recorded JSON document holding placeholders with a live one.
 *
 * Recorded documents (tests/golden/) replace volatile values with placeholders, numbered in
 * order of first appearance within one file (tests/golden/README.md):
 *   <uid:N>  <rv:N>  <continue:N>   bound: the first real value seen binds the placeholder,
 *                                   later uses must match it, and one real value cannot bind
 *                                   two placeholders of the same family;
 *   <time>                          any RFC 3339 timestamp (not bound);
 *   <generated:prefix->             prefix + 5 characters of the name generator's alphabet;
 *                                   bound like the numbered ones, except kube-api-access-
 *                                   (one per pod; the files use one placeholder for all).
 * Placeholders may sit inside a longer string ("too old resource version: 1 (<rv:3>)").
 *
 * Every other value compares exactly (type, object keys, array length and order). Key
 * "managedFields" is compared only for presence and the set of its entries' managers.
 *
 * A jm_binds is single-threaded state owned by the caller (jm_binds_new/jm_binds_free).
 * Comparison is transactional: bindings are applied only when the whole document matches
 * (jm_compare returns 0); a mismatch leaves them unchanged. */
#ifndef ASC_TESTS_JMATCH_H
#define ASC_TESTS_JMATCH_H

#include <json-c/json.h>
#include <stddef.h>

typedef struct jm_binds jm_binds;

jm_binds *jm_binds_new(void);
void jm_binds_free(jm_binds *b);
/* The value bound to placeholder ph ("<rv:3>"), or NULL. Borrowed until jm_binds_free. */
const char *jm_bound(const jm_binds *b, const char *ph);
/* Bind ph to value; ERR_CONFLICT if ph is bound elsewhere or value binds another ph. */
int jm_bind(jm_binds *b, const char *ph, const char *value);

/* Compare want (recorded) with got (live; NULL means absent). path names the root in the
 * diff ("body"). Returns 0 on a match; otherwise 1 with the first difference written into
 * diff: "<path>: expected <json>, got <json>" (values shortened). */
int jm_compare(jm_binds *b, json_object *want, json_object *got, const char *path, char *diff,
               size_t difflen);
/* Same for two strings (a recorded string with placeholders against a live one). */
int jm_compare_str(jm_binds *b, const char *want, const char *got, const char *path, char *diff,
                   size_t difflen);

/* After a mismatch: bind what can be bound from the parts of got that do match want, value
 * by value (string leaves at the same paths, each consistent with the bindings so far), so
 * later requests of the file can still be built and later differences stay meaningful. */
void jm_learn(jm_binds *b, json_object *want, json_object *got);

/* Replace placeholders in a string about to be sent: bound ones by their value, <time> by a
 * fixed timestamp. An unbound <uid:N> or <rv:N> in a request is one the client invented: a
 * new made-up uid, or a resourceVersion 1000000 beyond every one bound so far (a "future"
 * version); it is bound from then on. Any other unbound placeholder fails: NULL with err
 * filled. Caller frees. */
char *jm_subst(jm_binds *b, const char *s, char *err, size_t errlen);
/* Deep copy of v with jm_subst applied to every string (keys included). NULL + err. */
json_object *jm_subst_json(jm_binds *b, json_object *v, char *err, size_t errlen);

#endif
