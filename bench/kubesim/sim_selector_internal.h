/* sim_selector_internal.h - helpers shared by the sim_selector*.c files. */
#ifndef ASC_BENCH_SIM_SELECTOR_INTERNAL_H
#define ASC_BENCH_SIM_SELECTOR_INTERNAL_H

#include <stddef.h>

/* Label key (qualified name) / label value checks with the real server's
 * detail text. Return 0 when valid, else -1 with detail filled. */
int sim__label_key_check(const char *key, char *detail, size_t len);
int sim__label_value_check(const char *val, char *detail, size_t len);

void sim__errf_sel(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
