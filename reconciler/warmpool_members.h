/* warmpool_members.h - one warm pool's members as its pass reads them,
 * kept from pass to pass.
 *
 * Each member is held as its decoded object and its digest (rec_wp_mfacts),
 * with the stored bytes they came from: bytes equal to the held ones mean
 * an equal object, so a member is decoded and digested once per version,
 * not once per pass (a pass over ~1,000 members spent milliseconds doing
 * that). The objects and digests sit in two dense arrays that go straight
 * into rec_wp_input (members, facts, n_members).
 *
 * Feeding it (the wiring; the set does not read the store):
 *   - a full listing: rec_wp_members_mark(), then for every listed member
 *     rec_wp_members_same() (held with these bytes: keeps it) or, when that
 *     says 0, rec_wp_members_put() with the newly decoded object; finally
 *     rec_wp_members_sweep() drops every member the listing did not name;
 *   - single changes between listings: rec_wp_members_same() / put() for
 *     a member whose bytes changed, rec_wp_members_del() for one that left.
 *
 * Threading: one owner thread (the pool's shard); nothing is locked.
 * Memory: names and bytes are copied; put() takes the caller's reference
 * to obj (put on failure too). Pointers returned (objects, the arrays)
 * are borrowed and stay valid until the next put/del/sweep/free.
 * Returns: 0 or ERR_NOMEM. */
#ifndef ASC_RECONCILER_WARMPOOL_MEMBERS_H
#define ASC_RECONCILER_WARMPOOL_MEMBERS_H

#include <json-c/json.h>
#include <stddef.h>

#include "reconciler/warmpool.h"

typedef struct rec_wp_members rec_wp_members;

rec_wp_members *rec_wp_members_new(void);    /* NULL: out of memory */
void rec_wp_members_free(rec_wp_members *m); /* NULL is a no-op */

/* 1 when name is held with exactly these bytes (it then counts as listed
 * for rec_wp_members_sweep), else 0. */
int rec_wp_members_same(rec_wp_members *m, const char *name, const void *raw, size_t len);
/* Insert or replace name with obj decoded from raw (digested here); it
 * counts as listed. */
int rec_wp_members_put(rec_wp_members *m, const char *name, const void *raw, size_t len,
                       json_object *obj);
void rec_wp_members_del(rec_wp_members *m, const char *name); /* no-op when unknown */
/* The held object of name, or NULL. */
json_object *rec_wp_members_get(const rec_wp_members *m, const char *name);

/* A full listing starts: no member counts as listed. */
void rec_wp_members_mark(rec_wp_members *m);
/* Drop the members not listed since rec_wp_members_mark. Returns how many. */
size_t rec_wp_members_sweep(rec_wp_members *m);

/* The dense arrays (n = rec_wp_members_count; facts[i] digests objs[i]). */
size_t rec_wp_members_count(const rec_wp_members *m);
json_object *const *rec_wp_members_objs(const rec_wp_members *m);
const rec_wp_mfacts *rec_wp_members_facts(const rec_wp_members *m);

#endif
