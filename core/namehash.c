#include "core/namehash.h"

#include <stdio.h>
#include <string.h>

uint32_t
namehash32(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

char *
namehash_hex_n(const void *data, size_t len, char out[9])
{
    snprintf(out, 9, "%08x", namehash32(data, len));
    return out;
}

char *
namehash_hex(const char *s, char out[9])
{
    return namehash_hex_n(s, s ? strlen(s) : 0, out);
}
