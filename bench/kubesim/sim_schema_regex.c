/* sim_schema_regex.c - Go RE2 patterns (as CRDs write them) to POSIX ERE.
 *
 * CRD patterns are RE2. Most are already valid EREs; the differences met in
 * practice are the Perl classes (\d \w \s and negations), non-capturing
 * groups (?:...), lazy quantifiers (irrelevant for a yes/no match, so the
 * '?' is dropped), \A and \z anchors, and backslash escapes inside bracket
 * expressions (literal in POSIX, escapes in RE2). Constructs with no POSIX
 * equivalent (\b, \pL, flags, \Q..\E) are refused so the caller can report
 * the pattern as not enforced instead of enforcing something else. */
#include "bench/kubesim/sim_schema_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *s;
    size_t n, cap;
    int nomem;
} obuf;

static void
put(obuf *b, const char *s, size_t n)
{
    if (b->nomem) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->cap + n) * 2 + 16;
        char *ns = realloc(b->s, nc);
        if (ns == NULL) {
            b->nomem = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void
puts_(obuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Bracket expression starting after '['; *pp points after it. */
static int
bracket(obuf *b, const char **pp, const char **why)
{
    const char *p = *pp;
    obuf body = {0};
    int neg = 0, rbr = 0, dash = 0, caret = 0, first = 1;

    if (*p == '^') {
        neg = 1;
        p++;
    }
    for (;;) {
        char c = *p;
        if (c == '\0') {
            free(body.s);
            *why = "unterminated character class";
            return -1;
        }
        if (c == ']' && !first) break;
        first = 0;
        if (c == '[' && p[1] == ':') {
            const char *e = strstr(p + 2, ":]");
            if (e == NULL) {
                free(body.s);
                *why = "bad character class";
                return -1;
            }
            put(&body, p, (size_t)(e + 2 - p));
            p = e + 2;
            continue;
        }
        if (c == '\\') {
            char d = p[1];
            p += 2;
            switch (d) {
            case 'd':
                puts_(&body, "0-9");
                continue;
            case 'w':
                puts_(&body, "A-Za-z0-9_");
                continue;
            case 's':
                puts_(&body, "[:space:]");
                continue;
            case 'n':
                puts_(&body, "\n");
                continue;
            case 't':
                puts_(&body, "\t");
                continue;
            case ']':
                rbr = 1;
                continue;
            case '-':
                dash = 1;
                continue;
            case '^':
                caret = 1;
                continue;
            case '\0':
                free(body.s);
                *why = "trailing backslash";
                return -1;
            default:
                if ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9')) {
                    free(body.s);
                    *why = "unsupported escape in character class";
                    return -1;
                }
                put(&body, &d, 1);
                continue;
            }
        }
        if (c == ']') {
            rbr = 1;
            p++;
            continue;
        }
        if (c == '^') {
            caret = 1;
            p++;
            continue;
        }
        put(&body, &c, 1);
        p++;
    }
    *pp = p + 1;
    if (body.nomem) {
        free(body.s);
        return -1;
    }
    if (!neg && !rbr && !dash && caret && body.n == 0) {
        puts_(b, "\\^");
        free(body.s);
        return 0;
    }
    puts_(b, neg ? "[^" : "[");
    if (rbr) puts_(b, "]");
    if (body.n) put(b, body.s, body.n);
    if (caret) puts_(b, "^");
    if (dash) puts_(b, "-");
    puts_(b, "]");
    free(body.s);
    return 0;
}

char *
sim__re2_to_ere(const char *re2, const char **why)
{
    obuf b = {0};
    const char *p = re2;

    *why = NULL;
    puts_(&b, "");
    while (*p != '\0' && !b.nomem) {
        char c = *p;
        if (c == '\\') {
            char d = p[1];
            p += 2;
            switch (d) {
            case 'd':
                puts_(&b, "[0-9]");
                break;
            case 'D':
                puts_(&b, "[^0-9]");
                break;
            case 'w':
                puts_(&b, "[A-Za-z0-9_]");
                break;
            case 'W':
                puts_(&b, "[^A-Za-z0-9_]");
                break;
            case 's':
                puts_(&b, "[[:space:]]");
                break;
            case 'S':
                puts_(&b, "[^[:space:]]");
                break;
            case 'A':
                puts_(&b, "^");
                break;
            case 'z':
                puts_(&b, "$");
                break;
            case 'n':
                puts_(&b, "\n");
                break;
            case 't':
                puts_(&b, "\t");
                break;
            case '\0':
                *why = "trailing backslash";
                goto fail;
            default:
                if ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9')) {
                    *why = "escape with no POSIX equivalent";
                    goto fail;
                }
                {
                    char e[2] = {'\\', d};
                    put(&b, e, 2);
                }
            }
            continue;
        }
        if (c == '[') {
            p++;
            if (bracket(&b, &p, why) != 0) goto fail;
            continue;
        }
        if (c == '(' && p[1] == '?') {
            if (p[2] == ':') {
                puts_(&b, "(");
                p += 3;
                continue;
            }
            *why = "group flags or named groups";
            goto fail;
        }
        if ((c == '*' || c == '+' || c == '?' || c == '}') && p[1] == '?') {
            /* lazy quantifier: same language, drop the '?' */
            put(&b, &c, 1);
            p += 2;
            continue;
        }
        put(&b, &c, 1);
        p++;
    }
    if (b.nomem) goto fail;
    return b.s;
fail:
    free(b.s);
    return NULL;
}
