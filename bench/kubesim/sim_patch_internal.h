/* sim_patch_internal.h - helpers shared by the sim_patch*.c files only. */
#ifndef ASC_BENCH_SIM_PATCH_INTERNAL_H
#define ASC_BENCH_SIM_PATCH_INTERNAL_H

#include <json-c/json.h>
#include <stddef.h>

/* Deep copy; NULL (JSON null) copies to NULL. *ok is cleared on allocation
 * failure so callers can tell a null from an error. */
json_object *sim__json_copy(json_object *v, int *ok);

/* printf into err when err is not NULL. */
void sim__errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
