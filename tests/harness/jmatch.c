/* jmatch.c - see jmatch.h.
 *
 * A recorded string is cut into segments, literal text and placeholders. Matching walks the
 * live string with a small backtracking matcher: a placeholder takes the longest run of
 * characters of its class (digits for <rv:N>, hex and '-' for <uid:N>, ...) and gives back
 * characters until the rest of the pattern matches, so "resource version: <rv:4>, current:
 * <rv:3>" splits at the right place. Bindings made while matching go to a pending list that
 * jm_compare commits only when the whole document matched. */
#include "tests/harness/jmatch.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/timeutil.h"

#define JM_MAX_SEGS 32
#define JM_SHOW     240

typedef struct {
    char *ph, *val;
} jm_pair;

struct jm_binds {
    jm_pair *v;
    size_t n, cap;
    size_t committed; /* v[0..committed) are bound; the rest are pending */
    unsigned made_uids;
};

typedef enum { SEG_LIT, SEG_UID, SEG_RV, SEG_CONT, SEG_TIME, SEG_GEN } seg_kind;

typedef struct {
    seg_kind kind;
    const char *p; /* literal text or the whole placeholder "<rv:3>" */
    size_t len;
    const char *prefix; /* SEG_GEN: the prefix inside the placeholder */
    size_t prefix_len;
} jm_seg;

static const char gen_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
static const char fixed_time[] = "2026-11-22T00:00:00Z";

jm_binds *
jm_binds_new(void)
{
    return calloc(1, sizeof(jm_binds));
}

void
jm_binds_free(jm_binds *b)
{
    if (b == NULL) return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].ph);
        free(b->v[i].val);
    }
    free(b->v);
    free(b);
}

static void
pending_drop(jm_binds *b, size_t to)
{
    while (b->n > to) {
        b->n--;
        free(b->v[b->n].ph);
        free(b->v[b->n].val);
    }
}

static size_t
family_len(const char *ph)
{
    const char *c = strchr(ph, ':');
    return c ? (size_t)(c - ph) : strlen(ph);
}

static const char *
lookup_ph(const jm_binds *b, const char *ph, size_t len)
{
    for (size_t i = 0; i < b->n; i++)
        if (strlen(b->v[i].ph) == len && strncmp(b->v[i].ph, ph, len) == 0) return b->v[i].val;
    return NULL;
}

const char *
jm_bound(const jm_binds *b, const char *ph)
{
    for (size_t i = 0; i < b->committed; i++)
        if (strcmp(b->v[i].ph, ph) == 0) return b->v[i].val;
    return NULL;
}

/* Add (ph=len bytes, val) to the pending list after checking both directions. */
static int
bind_pending(jm_binds *b, const char *ph, size_t phlen, const char *val, size_t vlen)
{
    const char *cur = lookup_ph(b, ph, phlen);
    if (cur) return strlen(cur) == vlen && strncmp(cur, val, vlen) == 0 ? 0 : ERR_CONFLICT;
    size_t fl = family_len(ph);
    for (size_t i = 0; i < b->n; i++) {
        const char *o = b->v[i].ph;
        if (family_len(o) == fl && strncmp(o, ph, fl) == 0 && strlen(b->v[i].val) == vlen &&
            strncmp(b->v[i].val, val, vlen) == 0)
            return ERR_CONFLICT; /* this value already stands for another placeholder */
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        jm_pair *nv = realloc(b->v, cap * sizeof *nv);
        if (nv == NULL) return ERR_NOMEM;
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n].ph = strndup(ph, phlen);
    b->v[b->n].val = strndup(val, vlen);
    if (b->v[b->n].ph == NULL || b->v[b->n].val == NULL) {
        free(b->v[b->n].ph);
        free(b->v[b->n].val);
        return ERR_NOMEM;
    }
    b->n++;
    return 0;
}

int
jm_bind(jm_binds *b, const char *ph, const char *value)
{
    pending_drop(b, b->committed);
    int rc = bind_pending(b, ph, strlen(ph), value, strlen(value));
    if (rc == 0) b->committed = b->n;
    return rc;
}

/* ---- segments ---------------------------------------------------------------------- */

static int
numbered(const char *p, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    if (strncmp(p, name, nl) != 0 || !isdigit((unsigned char)p[nl])) return 0;
    size_t i = nl;
    while (isdigit((unsigned char)p[i]))
        i++;
    if (p[i] != '>') return 0;
    *len = i + 1;
    return 1;
}

/* Split s into segments; returns the count, or -1 if there are too many. */
static int
segments(const char *s, jm_seg *seg)
{
    int n = 0;
    const char *lit = s;
    for (const char *p = s; *p;) {
        size_t len = 0;
        seg_kind k = SEG_LIT;
        const char *prefix = NULL;
        size_t prefix_len = 0;
        if (*p == '<') {
            if (numbered(p, "<uid:", &len))
                k = SEG_UID;
            else if (numbered(p, "<rv:", &len))
                k = SEG_RV;
            else if (numbered(p, "<continue:", &len))
                k = SEG_CONT;
            else if (strncmp(p, "<time>", 6) == 0)
                k = SEG_TIME, len = 6;
            else if (strncmp(p, "<generated:", 11) == 0 && strchr(p + 11, '>')) {
                k = SEG_GEN;
                prefix = p + 11;
                prefix_len = (size_t)(strchr(prefix, '>') - prefix);
                len = 11 + prefix_len + 1;
            }
        }
        if (k == SEG_LIT) {
            p++;
            continue;
        }
        if (n + 2 > JM_MAX_SEGS) return -1;
        if (p > lit) seg[n++] = (jm_seg){SEG_LIT, lit, (size_t)(p - lit), NULL, 0};
        seg[n++] = (jm_seg){k, p, len, prefix, prefix_len};
        p += len;
        lit = p;
    }
    if (*lit) {
        if (n + 1 > JM_MAX_SEGS) return -1;
        seg[n++] = (jm_seg){SEG_LIT, lit, strlen(lit), NULL, 0};
    }
    return n;
}

static int
in_class(seg_kind k, int c)
{
    switch (k) {
    case SEG_RV:
        return isdigit(c);
    case SEG_UID:
        return isxdigit(c) || c == '-';
    case SEG_TIME:
        return isdigit(c) || strchr("TZtz:.+-", c) != NULL;
    case SEG_CONT:
        return c > ' ' && c != '"';
    default:
        return 0;
    }
}

static int
match_from(jm_binds *b, const jm_seg *seg, int nseg, int i, const char *got)
{
    if (i == nseg) return *got == '\0';
    const jm_seg *s = &seg[i];
    if (s->kind == SEG_LIT) {
        if (strncmp(got, s->p, s->len) != 0) return 0;
        return match_from(b, seg, nseg, i + 1, got + s->len);
    }
    if (s->kind == SEG_GEN) {
        if (strncmp(got, s->prefix, s->prefix_len) != 0) return 0;
        for (size_t k = 0; k < 5; k++)
            if (got[s->prefix_len + k] == '\0' ||
                strchr(gen_alphabet, got[s->prefix_len + k]) == NULL)
                return 0;
        size_t vl = s->prefix_len + 5;
        size_t mark = b->n;
        /* kube-api-access-xxxxx differs per pod while the files use one placeholder. */
        int bind = !(s->prefix_len == 16 && strncmp(s->prefix, "kube-api-access-", 16) == 0);
        if (bind && bind_pending(b, s->p, s->len, got, vl) != 0) return 0;
        if (match_from(b, seg, nseg, i + 1, got + vl)) return 1;
        pending_drop(b, mark);
        return 0;
    }
    const char *bound = s->kind == SEG_TIME ? NULL : lookup_ph(b, s->p, s->len);
    if (bound) {
        size_t bl = strlen(bound);
        return strncmp(got, bound, bl) == 0 && match_from(b, seg, nseg, i + 1, got + bl);
    }
    size_t run = 0;
    while (got[run] && in_class(s->kind, (unsigned char)got[run]))
        run++;
    for (size_t len = run; len > 0; len--) {
        if (s->kind == SEG_TIME) {
            char t[64];
            int64_t ms;
            if (len >= sizeof t) continue;
            memcpy(t, got, len);
            t[len] = '\0';
            if (time_parse_rfc3339(t, &ms) != 0) continue;
            if (match_from(b, seg, nseg, i + 1, got + len)) return 1;
            continue;
        }
        size_t mark = b->n;
        if (bind_pending(b, s->p, s->len, got, len) != 0) continue;
        if (match_from(b, seg, nseg, i + 1, got + len)) return 1;
        pending_drop(b, mark);
    }
    return 0;
}

/* ---- diffs ------------------------------------------------------------------------- */

#define JM_ABSENT ((json_object *)&jm_absent_tag)
static const int jm_absent_tag;

/* JM_ABSENT stands for "no such key or item"; NULL is JSON null (json-c's representation). */
static const char *
show(json_object *v, char *buf, size_t len)
{
    if (v == JM_ABSENT) return "(absent)";
    if (v == NULL) return "null";
    const char *s =
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (strlen(s) <= JM_SHOW) {
        snprintf(buf, len, "%s", s);
    } else {
        snprintf(buf, len, "%.*s...(%zu bytes)", JM_SHOW, s, strlen(s));
    }
    return buf;
}

static int
differ(char *diff, size_t difflen, const char *path, json_object *want, json_object *got,
       const char *why)
{
    char a[JM_SHOW + 64], g[JM_SHOW + 64];
    snprintf(diff, difflen, "%s: %sexpected %s, got %s", path, why ? why : "",
             show(want, a, sizeof a), show(got, g, sizeof g));
    return 1;
}

/* Append the values already bound to the placeholders of want: " (<rv:3> is 42)". */
static void
explain_binds(const jm_binds *b, const char *want, char *diff, size_t dl)
{
    jm_seg seg[JM_MAX_SEGS];
    int n = segments(want, seg);
    for (int i = 0; i < n; i++) {
        if (seg[i].kind == SEG_LIT || seg[i].kind == SEG_TIME) continue;
        const char *v = lookup_ph(b, seg[i].p, seg[i].len);
        size_t l = strlen(diff);
        if (v && l + 1 < dl)
            snprintf(diff + l, dl - l, " (%.*s is \"%s\")", (int)seg[i].len, seg[i].p, v);
    }
}

static int
str_match(jm_binds *b, const char *want, const char *got)
{
    jm_seg seg[JM_MAX_SEGS];
    int n = segments(want, seg);
    if (n < 0) return strcmp(want, got) == 0;
    return match_from(b, seg, n, 0, got);
}

/* Distinct managers of a managedFields list, sorted, as one string. */
static void
managers(json_object *mf, char *out, size_t len)
{
    const char *names[64];
    size_t n = 0;
    size_t cnt = json_object_is_type(mf, json_type_array) ? json_object_array_length(mf) : 0;
    for (size_t i = 0; i < cnt && n < 64; i++) {
        json_object *m = NULL;
        json_object_object_get_ex(json_object_array_get_idx(mf, i), "manager", &m);
        const char *s = m ? json_object_get_string(m) : "(none)";
        size_t j = 0;
        while (j < n && strcmp(names[j], s) < 0)
            j++;
        if (j < n && strcmp(names[j], s) == 0) continue;
        memmove(&names[j + 1], &names[j], (n - j) * sizeof names[0]);
        names[j] = s;
        n++;
    }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", names[i]);
}

static int cmp(jm_binds *b, json_object *want, json_object *got, const char *path, char *diff,
               size_t dl);

static int
cmp_object(jm_binds *b, json_object *want, json_object *got, const char *path, char *diff,
           size_t dl)
{
    char sub[1024];
    json_object_object_foreach(want, key, wv)
    {
        json_object *gv = NULL;
        int has = json_object_object_get_ex(got, key, &gv);
        snprintf(sub, sizeof sub, "%s.%s", path, key);
        if (!has) return differ(diff, dl, sub, wv, JM_ABSENT, NULL);
        if (strcmp(key, "managedFields") == 0) {
            char mw[512], mg[512];
            if (!json_object_is_type(gv, json_type_array))
                return differ(diff, dl, sub, wv, gv, "not a list: ");
            managers(wv, mw, sizeof mw);
            managers(gv, mg, sizeof mg);
            if (strcmp(mw, mg) != 0) {
                snprintf(diff, dl, "%s: managers: expected [%s], got [%s]", sub, mw, mg);
                return 1;
            }
            continue;
        }
        if (cmp(b, wv, gv, sub, diff, dl)) return 1;
    }
    json_object_object_foreach(got, gkey, gval)
    {
        if (!json_object_object_get_ex(want, gkey, NULL)) {
            snprintf(sub, sizeof sub, "%s.%s", path, gkey);
            return differ(diff, dl, sub, JM_ABSENT, gval, "unexpected key: ");
        }
    }
    return 0;
}

static int
cmp(jm_binds *b, json_object *want, json_object *got, const char *path, char *diff, size_t dl)
{
    json_type wt = json_object_get_type(want), gt = json_object_get_type(got);
    int wnum = wt == json_type_int || wt == json_type_double;
    int gnum = gt == json_type_int || gt == json_type_double;
    if (wt != gt && !(wnum && gnum)) return differ(diff, dl, path, want, got, "type differs: ");
    char sub[1024];
    switch (wt) {
    case json_type_null:
        return 0;
    case json_type_boolean:
        return json_object_get_boolean(want) == json_object_get_boolean(got)
                   ? 0
                   : differ(diff, dl, path, want, got, NULL);
    case json_type_int:
    case json_type_double:
        if (wt == json_type_int && gt == json_type_int)
            return json_object_get_int64(want) == json_object_get_int64(got)
                       ? 0
                       : differ(diff, dl, path, want, got, NULL);
        return json_object_get_double(want) == json_object_get_double(got)
                   ? 0
                   : differ(diff, dl, path, want, got, NULL);
    case json_type_string:
        if (str_match(b, json_object_get_string(want), json_object_get_string(got))) return 0;
        differ(diff, dl, path, want, got, NULL);
        explain_binds(b, json_object_get_string(want), diff, dl);
        return 1;
    case json_type_object:
        return cmp_object(b, want, got, path, diff, dl);
    case json_type_array: {
        size_t wn = json_object_array_length(want), gn = json_object_array_length(got);
        size_t n = wn < gn ? wn : gn;
        for (size_t i = 0; i < n; i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (cmp(b, json_object_array_get_idx(want, i), json_object_array_get_idx(got, i), sub,
                    diff, dl)) {
                if (wn != gn) {
                    char rest[1024];
                    snprintf(rest, sizeof rest, " (and %zu items expected, %zu received)", wn, gn);
                    strncat(diff, rest, dl - strlen(diff) - 1);
                }
                return 1;
            }
        }
        if (wn != gn) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, n);
            char why[128];
            snprintf(why, sizeof why, "%zu items expected, %zu received; first difference: ", wn,
                     gn);
            return differ(diff, dl, sub, wn > n ? json_object_array_get_idx(want, n) : JM_ABSENT,
                          gn > n ? json_object_array_get_idx(got, n) : JM_ABSENT, why);
        }
        return 0;
    }
    }
    return 0;
}

int
jm_compare(jm_binds *b, json_object *want, json_object *got, const char *path, char *diff,
           size_t difflen)
{
    pending_drop(b, b->committed);
    diff[0] = '\0';
    int r = got == NULL && want != NULL ? differ(diff, difflen, path, want, JM_ABSENT, NULL)
                                        : cmp(b, want, got, path, diff, difflen);
    if (r == 0)
        b->committed = b->n;
    else
        pending_drop(b, b->committed);
    return r;
}

int
jm_compare_str(jm_binds *b, const char *want, const char *got, const char *path, char *diff,
               size_t difflen)
{
    json_object *w = json_object_new_string(want);
    json_object *g = got ? json_object_new_string(got) : NULL;
    int r = jm_compare(b, w, g, path, diff, difflen);
    json_object_put(w);
    json_object_put(g);
    return r;
}

static void
learn(jm_binds *b, json_object *want, json_object *got)
{
    if (json_object_is_type(want, json_type_string) && json_object_is_type(got, json_type_string)) {
        size_t mark = b->n;
        if (str_match(b, json_object_get_string(want), json_object_get_string(got)))
            b->committed = b->n; /* consistent with everything bound so far: keep */
        else
            pending_drop(b, mark);
        return;
    }
    if (json_object_is_type(want, json_type_object) && json_object_is_type(got, json_type_object)) {
        json_object_object_foreach(want, key, wv)
        {
            json_object *gv = NULL;
            if (strcmp(key, "managedFields") != 0 && json_object_object_get_ex(got, key, &gv))
                learn(b, wv, gv);
        }
        return;
    }
    if (json_object_is_type(want, json_type_array) && json_object_is_type(got, json_type_array)) {
        size_t n = json_object_array_length(want);
        if (json_object_array_length(got) < n) n = json_object_array_length(got);
        for (size_t i = 0; i < n; i++)
            learn(b, json_object_array_get_idx(want, i), json_object_array_get_idx(got, i));
    }
}

void
jm_learn(jm_binds *b, json_object *want, json_object *got)
{
    pending_drop(b, b->committed);
    learn(b, want, got);
    pending_drop(b, b->committed);
}

/* ---- substitution ------------------------------------------------------------------ */

char *
jm_subst(jm_binds *b, const char *s, char *err, size_t errlen)
{
    jm_seg seg[JM_MAX_SEGS];
    int n = segments(s, seg);
    if (n < 0) {
        snprintf(err, errlen, "too many placeholders in %.80s", s);
        return NULL;
    }
    size_t cap = strlen(s) + 1;
    for (int i = 0; i < n; i++)
        cap += 64;
    char *out = malloc(cap);
    if (out == NULL) return NULL;
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        const char *v = NULL;
        char made[64];
        if (seg[i].kind == SEG_LIT) {
            memcpy(out + o, seg[i].p, seg[i].len);
            o += seg[i].len;
            continue;
        }
        if (seg[i].kind == SEG_TIME) {
            v = fixed_time;
        } else {
            char ph[128];
            snprintf(ph, sizeof ph, "%.*s", (int)seg[i].len, seg[i].p);
            v = jm_bound(b, ph);
            if (v == NULL && seg[i].kind == SEG_UID) {
                /* A uid the client made up (an owner that does not exist, say). */
                snprintf(made, sizeof made, "00000000-0000-4000-8000-%012x", ++b->made_uids);
                if (jm_bind(b, ph, made) == 0) v = made;
            } else if (v == NULL && seg[i].kind == SEG_RV) {
                /* A resourceVersion no reply gave: the client asked for one in the future
                 * ("Too large resource version"). Far beyond every version seen so far. */
                unsigned long long max = 0;
                for (size_t k = 0; k < b->committed; k++)
                    if (strncmp(b->v[k].ph, "<rv:", 4) == 0 &&
                        strtoull(b->v[k].val, NULL, 10) > max)
                        max = strtoull(b->v[k].val, NULL, 10);
                snprintf(made, sizeof made, "%llu", max + 1000000ULL);
                if (jm_bind(b, ph, made) == 0) v = made;
            }
            if (v == NULL) {
                snprintf(err, errlen, "placeholder %s is used before any reply bound it", ph);
                free(out);
                return NULL;
            }
        }
        size_t vl = strlen(v);
        if (o + vl + 1 > cap) {
            cap = (o + vl + 1) * 2;
            char *no = realloc(out, cap);
            if (no == NULL) {
                free(out);
                return NULL;
            }
            out = no;
        }
        memcpy(out + o, v, vl);
        o += vl;
    }
    out[o] = '\0';
    return out;
}

json_object *
jm_subst_json(jm_binds *b, json_object *v, char *err, size_t errlen)
{
    switch (json_object_get_type(v)) {
    case json_type_string: {
        char *s = jm_subst(b, json_object_get_string(v), err, errlen);
        if (s == NULL) return NULL;
        json_object *r = json_object_new_string(s);
        free(s);
        return r;
    }
    case json_type_object: {
        json_object *r = json_object_new_object();
        json_object_object_foreach(v, key, val)
        {
            char *k = jm_subst(b, key, err, errlen);
            json_object *c = k ? jm_subst_json(b, val, err, errlen) : NULL;
            if (c == NULL && val != NULL) {
                free(k);
                json_object_put(r);
                return NULL;
            }
            json_object_object_add(r, k, c);
            free(k);
        }
        return r;
    }
    case json_type_array: {
        json_object *r = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *e = json_object_array_get_idx(v, i);
            json_object *c = jm_subst_json(b, e, err, errlen);
            if (c == NULL && e != NULL) {
                json_object_put(r);
                return NULL;
            }
            json_object_array_add(r, c);
        }
        return r;
    }
    default:
        /* Numbers, booleans and null are shared, never modified. */
        return json_object_get(v);
    }
}
