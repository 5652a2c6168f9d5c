/* sim_jsontext_internal.h - shared by sim_jsontext*.c only. */
#ifndef ASC_SIM_JSONTEXT_INTERNAL_H
#define ASC_SIM_JSONTEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Free the parser's per-thread scratch (sim_json_release). */
void sim_json_parse_release(void);
/* Decimal digits of v into out (at least 20 bytes, no NUL); returns the count. */
size_t sim_json_fmt_u64(char *out, uint64_t v);

/* How many sim_json_parse calls of this thread took the fast pass, and how
 * many went to json_tokener (tests). */
void sim_json_parse_counts(size_t *fast, size_t *tokener);

#endif
