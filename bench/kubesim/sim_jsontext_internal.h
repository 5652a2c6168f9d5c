/* sim_jsontext_internal.h - shared by sim_jsontext*.c only. */
#ifndef ASC_SIM_JSONTEXT_INTERNAL_H
#define ASC_SIM_JSONTEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* The bytes of the 8 at w (little-endian load) that JSON strings treat
 * specially: < 0x20, '"', '\\', and '/' when slash is set. Returns a mask with
 * bit 7 of each such byte set; the lowest set byte is always a real one
 * (a borrow can only flag bytes above a real one), so its index is
 * __builtin_ctzll(mask) / 8. */
static inline uint64_t
sim_json_special8(uint64_t w, int slash)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t m = ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b);
    if (slash) {
        uint64_t sl = w ^ (ones * '/');
        m |= (sl - ones) & ~sl;
    }
    return m & high;
}

/* Free the parser's per-thread scratch (sim_json_release). */
void sim_json_parse_release(void);
/* Decimal digits of v into out (at least 20 bytes, no NUL); returns the count. */
size_t sim_json_fmt_u64(char *out, uint64_t v);

/* How many sim_json_parse calls of this thread took the fast pass, and how
 * many went to json_tokener (tests). */
void sim_json_parse_counts(size_t *fast, size_t *tokener);

#endif
