/* sim_map.h - string-keyed hash map (chained, power-of-two buckets).
 *
 * Keys are copied and owned by the map; values are borrowed pointers the
 * caller manages. Single-threaded. Iteration order is unspecified; callers
 * that need key order collect and sort (sim_map_keys). */
#ifndef ASC_SIM_MAP_H
#define ASC_SIM_MAP_H

#include <stddef.h>

typedef struct sim_map_ent {
    char *key;
    void *val;
    unsigned hash;
    struct sim_map_ent *next;
} sim_map_ent;

typedef struct sim_map {
    sim_map_ent **b;
    size_t nb, n;
} sim_map;

void *sim_map_get(const sim_map *m, const char *key);
/* Insert or replace; returns the previous value (or NULL). On allocation
 * failure returns NULL and leaves the map unchanged (check sim_map_get). */
void *sim_map_put(sim_map *m, const char *key, void *val);
void *sim_map_del(sim_map *m, const char *key);
void sim_map_free(sim_map *m); /* frees keys and buckets, not values */

/* Visit each entry; fn returns non-zero to stop. Do not modify m inside. */
void sim_map_each(const sim_map *m, int (*fn)(void *ud, const char *key, void *val), void *ud);

#endif
