/* sim_patch_internal.h - helpers shared by the sim_patch*.c files only. */
#ifndef ASC_BENCH_SIM_PATCH_INTERNAL_H
#define ASC_BENCH_SIM_PATCH_INTERNAL_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* Deep copy; NULL (JSON null) copies to NULL. *ok is cleared on allocation
 * failure so callers can tell a null from an error. */
json_object *sim__json_copy(json_object *v, int *ok);

/* A hash of a JSON value consistent with sim_json_equal: equal values hash
 * equal (object key order ignored, 1 and 1.0 alike). */
uint64_t sim__json_hash(json_object *v);

/* A multi-map from hashes to positions (0..n-1), so list merges and
 * duplicate checks stay linear on large lists. Entries are never removed;
 * callers confirm each candidate with sim_json_equal. Embed, init, fini. */
typedef struct {
    size_t mask; /* capacity - 1 (a power of two) */
    size_t used;
    uint64_t *hash;
    size_t *pos; /* position + 1; 0 = empty slot */
} sim__hidx;

/* Room for n entries. Returns 0 or ERR_NOMEM. */
int sim__hidx_init(sim__hidx *h, size_t n);
void sim__hidx_fini(sim__hidx *h);
/* Add pos under hash; the index grows past n if needed. 0 or ERR_NOMEM. */
int sim__hidx_add(sim__hidx *h, uint64_t hash, size_t pos);
/* Candidates for hash in insertion order: start with *cursor = SIZE_MAX,
 * call until SIZE_MAX comes back. */
size_t sim__hidx_find(const sim__hidx *h, uint64_t hash, size_t *cursor);

/* printf into err when err is not NULL. */
void sim__errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
