/* base64.c - strict standard base64 (RFC 4648 §4) for kubeconfig *-data
 * fields. Whitespace is skipped (YAML block scalars fold lines); anything
 * else outside the alphabet, or padding in the wrong place, is an error
 * reported with its byte offset so the message can point at it. */
#include "kube/internal.h"

#include "core/err.h"

#include <stdlib.h>

static int
b64_val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

int
kube__b64_decode(const char *in, size_t inlen, char **out, size_t *outlen, size_t *bad_at)
{
    char *o = malloc(inlen / 4 * 3 + 4);
    if (o == NULL) return ERR_NOMEM;
    size_t n = 0, quad = 0, pad = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < inlen; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
        int v;
        if (ch == '=') {
            /* padding only in the last two places of a quad */
            if (quad < 2) goto bad;
            pad++;
            v = 0;
        } else {
            v = b64_val(ch);
            if (v < 0 || pad > 0) goto bad;
        }
        acc = acc << 6 | (uint32_t)v;
        if (++quad == 4) {
            o[n++] = (char)(acc >> 16);
            if (pad < 2) o[n++] = (char)(acc >> 8 & 0xff);
            if (pad < 1) o[n++] = (char)(acc & 0xff);
            quad = 0;
            acc = 0;
            if (pad) {
                /* nothing but whitespace may follow padding */
                for (size_t j = i + 1; j < inlen; j++)
                    if (in[j] != ' ' && in[j] != '\n' && in[j] != '\r' && in[j] != '\t') {
                        i = j;
                        goto bad;
                    }
                break;
            }
        }
        continue;
    bad:
        free(o);
        if (bad_at) *bad_at = i;
        return ERR_INVALID;
    }
    if (quad != 0) {
        free(o);
        if (bad_at) *bad_at = inlen;
        return ERR_INVALID;
    }
    o[n] = '\0';
    *out = o;
    *outlen = n;
    return 0;
}
