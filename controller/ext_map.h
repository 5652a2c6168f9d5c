/* ext_map.h - a small string-keyed hash map (chained, power-of-two
 * buckets) for the extension controllers' per-shard and per-router state.
 *
 * Not thread-safe: each map has one owner thread (a shard worker, or the
 * I/O thread for the router). Keys are copied; values are borrowed (the
 * caller frees them, see ctl_xmap_fini's callback). Returns 0 or ERR_NOMEM. */
#ifndef ASC_CONTROLLER_EXT_MAP_H
#define ASC_CONTROLLER_EXT_MAP_H

#include <stddef.h>

typedef struct ctl_xmap_ent ctl_xmap_ent;
typedef struct ctl_xmap {
    ctl_xmap_ent **b;
    size_t nb, n;
} ctl_xmap;

/* Release every entry; free_val (may be NULL) gets each value. */
void ctl_xmap_fini(ctl_xmap *m, void (*free_val)(void *));
void *ctl_xmap_get(const ctl_xmap *m, const char *key);
/* Insert or replace (the old value is returned in *old when non-NULL). */
int ctl_xmap_put(ctl_xmap *m, const char *key, void *val, void **old);
void *ctl_xmap_del(ctl_xmap *m, const char *key); /* the value, or NULL */

#endif
