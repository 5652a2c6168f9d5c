/* namehash.h - upstream's NameHash: 32-bit FNV-1a of the UTF-8 bytes,
 * rendered as exactly 8 lowercase hex digits. Used for the tracking label
 * (agents.x-k8s.io/sandbox-name-hash), pool and template hash labels. */
#ifndef ASC_CORE_NAMEHASH_H
#define ASC_CORE_NAMEHASH_H

#include <stddef.h>
#include <stdint.h>

uint32_t namehash32(const void *data, size_t len);
/* Writes 8 hex digits and a NUL into out; returns out. */
char *namehash_hex(const char *s, char out[9]);
char *namehash_hex_n(const void *data, size_t len, char out[9]);

#endif
