/* sim_store.h - object storage of one resource type, with its event history.
 *
 * A stored version of an object is a sim_obj: an immutable json-c tree plus
 * its compact JSON text, encoded once when stored and reused by GET, LIST and
 * every watcher. sim_obj is reference counted (history events and snapshots
 * hold references); never modify obj after sim_obj_new.
 *
 * The store keeps every live object by key "<namespace>/<name>" ("/<name>"
 * for cluster-scoped ones), a per-namespace index, and the recent events
 * (the watch window, sim_store_trim). Historical states (LIST with
 * resourceVersionMatch=Exact, continue tokens) are rebuilt by undoing
 * retained events. Single-threaded. */
#ifndef ASC_SIM_STORE_H
#define ASC_SIM_STORE_H

#include "bench/kubesim/sim_map.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_obj {
    int refs;
    json_object *tree_; /* parsed object (kind, apiVersion first); use sim_obj_tree() */
    char *json;         /* compact text of obj */
    size_t len;
    size_t tm_len; /* length of `"kind":..,"apiVersion":..,` after '{' (0 = unknown) */
    uint64_t rv;
    char *key;
} sim_obj;

/* Takes obj (kind/apiVersion should be the first keys). Returns NULL on OOM
 * (obj is released). */
sim_obj *sim_obj_new(json_object *obj, uint64_t rv, const char *key);
sim_obj *sim_obj_ref(sim_obj *o);
/* The parsed object (borrowed, never modify). Versions that are only history
 * keep their text alone (sim_obj_drop_tree); the tree is parsed again on
 * demand. NULL only if that parse fails for lack of memory. */
json_object *sim_obj_tree(const sim_obj *o);
void sim_obj_drop_tree(sim_obj *o);
/* Free this thread's parser for stored text (a thread that used sim_obj_tree,
 * when it ends). */
void sim_obj_parser_release(void);
void sim_obj_unref(sim_obj *o);

/* Parsed trees are large (json-c: ~800 bytes per JSON object node) and most
 * stored objects are rarely read as trees, so only a bounded set keeps one:
 * on a thread bound to a cache, every object that gets a tree (sim_obj_new,
 * or sim_obj_tree parsing it again) is noted, and sim_tree_cache_trim drops
 * the oldest trees beyond `keep`. Trim only where no tree is borrowed (between
 * loop iterations); the text stays and sim_obj_tree re-parses on demand. */
typedef struct sim_tree_cache {
    sim_obj **v; /* ring of references, oldest at head */
    size_t head, n, cap;
} sim_tree_cache;

void sim_tree_cache_bind(sim_tree_cache *c); /* for this thread; NULL unbinds */
void sim_tree_cache_trim(sim_tree_cache *c, size_t keep);
void sim_tree_cache_free(sim_tree_cache *c);

enum { SIM_EV_ADDED = 1, SIM_EV_MODIFIED, SIM_EV_DELETED };

typedef struct sim_event {
    int type;
    uint64_t rv;
    sim_obj *obj;  /* the object after the event (for DELETED: the final state) */
    sim_obj *prev; /* before (NULL for ADDED) */
    int64_t mono_ms;
} sim_event;

struct sim_watch;

typedef struct sim_store {
    char *key;        /* "<group>/<plural>" */
    sim_map objs;     /* key -> sim_obj* */
    sim_map by_ns;    /* namespace -> sim_map* of key -> sim_obj* */
    sim_map by_label; /* "labelkey=value" -> sim_map* of key -> sim_obj* */
    sim_event *ring;  /* retained events, oldest at head */
    size_t head, n, cap;
    uint64_t expired_rv; /* events with rv <= expired_rv are no longer known */
    struct sim_watch *watches;
    /* Key order for paginated lists: sorted holds the live keys in strcmp
     * order as of the last sync; keys that became live (added) or stopped
     * being live (gone) since are merged in at the next LIST, in O(n). */
    char **sorted, **added, **gone;
    size_t nsorted, nadded, ngone, capadded, capgone;
    int keys_lost; /* an OOM dropped a change: rebuild from objs */
} sim_store;

sim_store *sim_store_new(const char *key, uint64_t start_rv);
void sim_store_free(sim_store *s);

sim_obj *sim_store_get(const sim_store *s, const char *key);
/* Store o at its key (replacing, or removing for SIM_EV_DELETED where o is
 * the final state) and append the event. Takes the reference to o.
 * Returns the retained event (valid until the next write), or NULL on OOM. */
const sim_event *sim_store_apply(sim_store *s, int type, sim_obj *o, int64_t mono_ms);
/* Drop history: keep at most max_events, or (max_events == 0) the real rule:
 * at least 100 events, older ones only while younger than 75 s. */
void sim_store_trim(sim_store *s, size_t max_events, int64_t now_mono_ms);
/* Forget all history (admin compaction) as of rv. */
void sim_store_compact(sim_store *s, uint64_t rv);
size_t sim_store_count(const sim_store *s);

/* Objects (namespace NULL = all) at resourceVersion at_rv (0 = now), sorted
 * by key, as new references in *out (caller unrefs each and frees the
 * array). Returns 0, ERR_GONE when at_rv is older than the history, or
 * ERR_NOMEM. */
int sim_store_snapshot(const sim_store *s, const char *ns, uint64_t at_rv, sim_obj ***out,
                       size_t *n);
/* One page of a list in key order: the objects (namespace NULL = all) at
 * resourceVersion at_rv (0 = now) whose key sorts after `after` (NULL: from
 * the start) and for which want(ud, o) is non-zero (want NULL: all), at most
 * limit of them (0: all), as new references in *out (caller unrefs each and
 * frees the array). *more is how many further objects would match when want
 * is NULL, else 1 when at least one more matches, else 0. The cost is
 * O(log n + page + events since at_rv), plus O(n) once after objects were
 * added or removed; never a sort of the whole store. Returns 0, ERR_GONE when
 * at_rv is older than the history, or ERR_NOMEM. */
int sim_store_page(sim_store *s, const char *ns, uint64_t at_rv, const char *after,
                   int (*want)(void *ud, sim_obj *o), void *ud, size_t limit, sim_obj ***out,
                   size_t *n, size_t *more);
/* Internal to sim_store*.c: note that key became live (1) or not (0), and
 * free the key order. */
void sim_store_keys_note(sim_store *s, const char *key, int live);
void sim_store_keys_free(sim_store *s);
/* Live objects carrying label label_key with one of values (namespace NULL
 * = all), sorted by key, as new references (caller unrefs and frees). The label
 * index lets a selector list start from the objects it can match. */
int sim_store_select(const sim_store *s, const char *ns, const char *label_key,
                     const char *const *values, size_t nvalues, sim_obj ***out, size_t *n);
size_t sim_store_label_count(const sim_store *s, const char *label_key, const char *value);

/* Index (for sim_store_event) of the first retained event with rv > from_rv
 * (== s->n when there is none). ERR_GONE when some are no longer retained. */
int sim_store_since(const sim_store *s, uint64_t from_rv, size_t *first);
/* i-th retained event, oldest first (borrowed, valid until the next write). */
const sim_event *sim_store_event(const sim_store *s, size_t i);

#endif
