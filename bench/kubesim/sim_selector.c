/* sim_selector.c - label selector parsing and matching.
 *
 * The lexer and the grammar follow the observable behaviour of the real
 * parser (k8s.io/apimachinery labels): identifiers are runs of anything but
 * whitespace and the special characters = ! ( ) , > <; "in" and "notin" are
 * operators only in operator position; errors quote the offending token as
 * "found '<tok>', expected: ...". After parsing, each requirement's key and
 * values are validated as label keys (qualified names) and label values,
 * and the requirements are sorted by key, as the real server does. */
#include "bench/kubesim/sim_selector.h"
#include "bench/kubesim/sim_selector_internal.h"

#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    TOK_ERROR,
    TOK_EOS,
    TOK_IDENT,
    TOK_NOT,   /* ! */
    TOK_EQ,    /* = */
    TOK_DEQ,   /* == */
    TOK_NEQ,   /* != */
    TOK_IN,    /* in */
    TOK_NOTIN, /* notin */
    TOK_GT,    /* > */
    TOK_LT,    /* < */
    TOK_OPEN,  /* ( */
    TOK_CLOSE, /* ) */
    TOK_COMMA, /* , */
} tok_kind;

typedef struct {
    const char *s;
    size_t pos;
    /* last token read */
    tok_kind kind;
    const char *lit;
    size_t litlen;
} lexer;

struct sim_selector {
    sim_sel_req *reqs;
    size_t n, cap;
    char *text; /* canonical form */
};

static int
is_special(char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Read the next token at *pos; in_values says "in"/"notin" are plain
 * identifiers there. Does not consume (returns the end position). */
static size_t
lex_at(const lexer *lx, size_t pos, int ops_allowed, tok_kind *kind, const char **lit,
       size_t *litlen)
{
    const char *s = lx->s;

    while (is_space(s[pos]))
        pos++;
    *lit = s + pos;
    if (s[pos] == '\0') {
        *kind = TOK_EOS;
        *litlen = 0;
        return pos;
    }
    if (is_special(s[pos])) {
        char c = s[pos], d = s[pos + 1];
        *litlen = 1;
        if (c == '=' && d == '=') {
            *kind = TOK_DEQ;
            *litlen = 2;
        } else if (c == '!' && d == '=') {
            *kind = TOK_NEQ;
            *litlen = 2;
        } else {
            *kind = c == '='   ? TOK_EQ
                    : c == '!' ? TOK_NOT
                    : c == '(' ? TOK_OPEN
                    : c == ')' ? TOK_CLOSE
                    : c == ',' ? TOK_COMMA
                    : c == '>' ? TOK_GT
                               : TOK_LT;
        }
        return pos + *litlen;
    }
    size_t start = pos;
    while (s[pos] != '\0' && !is_space(s[pos]) && !is_special(s[pos]))
        pos++;
    *litlen = pos - start;
    *kind = TOK_IDENT;
    if (ops_allowed) {
        if (*litlen == 2 && memcmp(s + start, "in", 2) == 0)
            *kind = TOK_IN;
        else if (*litlen == 5 && memcmp(s + start, "notin", 5) == 0)
            *kind = TOK_NOTIN;
    }
    return pos;
}

static tok_kind
consume(lexer *lx, int ops_allowed)
{
    lx->pos = lex_at(lx, lx->pos, ops_allowed, &lx->kind, &lx->lit, &lx->litlen);
    return lx->kind;
}

static tok_kind
peek(const lexer *lx, int ops_allowed, const char **lit, size_t *litlen)
{
    tok_kind k;
    const char *l;
    size_t n;

    lex_at(lx, lx->pos, ops_allowed, &k, &l, &n);
    if (lit != NULL) {
        *lit = l;
        *litlen = n;
    }
    return k;
}

static int
parse_error(char *err, size_t errlen, const char *lit, size_t litlen, const char *expected)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "unable to parse requirement: found '%.*s', expected: %s",
                 (int)litlen, lit, expected);
    return ERR_BADREQUEST;
}

/* ---- requirement list ---------------------------------------------------- */

static void
req_fini(sim_sel_req *r)
{
    free((char *)r->key);
    for (size_t i = 0; i < r->nvalues; i++)
        free((char *)r->values[i]);
    free((void *)r->values);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Values of a requirement under construction. */
typedef struct {
    char **v;
    size_t n, cap;
} strvec;

static int
strvec_add(strvec *sv, const char *s, size_t len)
{
    if (sv->n == sv->cap) {
        size_t nc = sv->cap ? sv->cap * 2 : 4;
        char **nv = realloc(sv->v, nc * sizeof *nv);
        if (nv == NULL) return ERR_NOMEM;
        sv->v = nv;
        sv->cap = nc;
    }
    char *c = strndup(s, len);
    if (c == NULL) return ERR_NOMEM;
    sv->v[sv->n++] = c;
    return 0;
}

static void
strvec_fini(strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

/* Sort and dedupe (sets, as the real parser keeps them). */
static void
strvec_sort_unique(strvec *sv)
{
    size_t w = 0;

    if (sv->n < 2) return;
    qsort(sv->v, sv->n, sizeof *sv->v, cmp_str);
    for (size_t i = 0; i < sv->n; i++) {
        if (w > 0 && strcmp(sv->v[w - 1], sv->v[i]) == 0) {
            free(sv->v[i]);
            continue;
        }
        sv->v[w++] = sv->v[i];
    }
    sv->n = w;
}

static int
sel_push(sim_selector *sel, char *key, sim_sel_op op, strvec *vals)
{
    if (sel->n == sel->cap) {
        size_t nc = sel->cap ? sel->cap * 2 : 4;
        sim_sel_req *nr = realloc(sel->reqs, nc * sizeof *nr);
        if (nr == NULL) return ERR_NOMEM;
        sel->reqs = nr;
        sel->cap = nc;
    }
    sel->reqs[sel->n].key = key;
    sel->reqs[sel->n].op = op;
    sel->reqs[sel->n].nvalues = vals->n;
    sel->reqs[sel->n].values = (const char *const *)vals->v;
    sel->n++;
    vals->v = NULL;
    vals->n = vals->cap = 0;
    return 0;
}

/* ---- validation (NewRequirement) ------------------------------------------ */

static const char *
op_name(sim_sel_op op)
{
    switch (op) {
    case SIM_SEL_EQ:
        return "=";
    case SIM_SEL_NEQ:
        return "!=";
    case SIM_SEL_IN:
        return "in";
    case SIM_SEL_NOTIN:
        return "notin";
    case SIM_SEL_EXISTS:
        return "exists";
    case SIM_SEL_NOTEXISTS:
        return "!";
    case SIM_SEL_GT:
        return "gt";
    case SIM_SEL_LT:
        return "lt";
    }
    return "?";
}

/* Go's %#v of a []string, as field errors print it. */
static void
go_strings(char *buf, size_t len, const strvec *vals)
{
    size_t off = (size_t)snprintf(buf, len, "[]string{");
    for (size_t i = 0; i < vals->n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s\"%s\"", i ? ", " : "", vals->v[i]);
    if (off < len) snprintf(buf + off, len - off, "}");
}

static int
validate_req(const char *key, sim_sel_op op, const strvec *vals, char *err, size_t errlen)
{
    char detail[512], gv[256];

    if (sim__label_key_check(key, detail, sizeof detail) != 0) {
        sim__errf_sel(err, errlen, "key: Invalid value: \"%s\": %s", key, detail);
        return ERR_BADREQUEST;
    }
    switch (op) {
    case SIM_SEL_IN:
    case SIM_SEL_NOTIN:
        if (vals->n == 0) {
            sim__errf_sel(err, errlen,
                          "values: Invalid value: []string{}: for 'in', 'notin' operators, "
                          "values set can't be empty");
            return ERR_BADREQUEST;
        }
        break;
    case SIM_SEL_EQ:
    case SIM_SEL_NEQ:
        if (vals->n != 1) {
            go_strings(gv, sizeof gv, vals);
            sim__errf_sel(err, errlen,
                          "values: Invalid value: %s: exact-match compatibility requires one "
                          "single value",
                          gv);
            return ERR_BADREQUEST;
        }
        break;
    case SIM_SEL_GT:
    case SIM_SEL_LT: {
        char *end;
        if (vals->n != 1) {
            go_strings(gv, sizeof gv, vals);
            sim__errf_sel(err, errlen,
                          "values: Invalid value: %s: for 'Gt', 'Lt' operators, exactly one "
                          "value is required",
                          gv);
            return ERR_BADREQUEST;
        }
        errno = 0;
        (void)strtoll(vals->v[0], &end, 10);
        if (errno != 0 || end == vals->v[0] || *end != '\0') {
            sim__errf_sel(err, errlen,
                          "values[0]: Invalid value: \"%s\": for 'Gt', 'Lt' operators, the "
                          "value must be an integer",
                          vals->v[0]);
            return ERR_BADREQUEST;
        }
        return 0;
    }
    default:
        return 0;
    }
    for (size_t i = 0; i < vals->n; i++) {
        if (sim__label_value_check(vals->v[i], detail, sizeof detail) != 0) {
            sim__errf_sel(err, errlen, "values[%zu]: Invalid value: \"%s\": %s", i, vals->v[i],
                          detail);
            return ERR_BADREQUEST;
        }
    }
    return 0;
}

/* ---- grammar -------------------------------------------------------------- */

static int
parse_values_list(lexer *lx, strvec *vals, char *err, size_t errlen)
{
    const char *lit;
    size_t n;
    tok_kind k;

    if (consume(lx, 0) != TOK_OPEN) return parse_error(err, errlen, lx->lit, lx->litlen, "'('");
    k = peek(lx, 0, &lit, &n);
    if (k == TOK_CLOSE) {
        consume(lx, 0);
        return 0;
    }
    if (k != TOK_IDENT && k != TOK_COMMA)
        return parse_error(err, errlen, lit, n, "',', ')' or identifier");
    for (;;) {
        k = consume(lx, 0);
        if (k == TOK_IDENT) {
            if (strvec_add(vals, lx->lit, lx->litlen) != 0) return ERR_NOMEM;
            k = peek(lx, 0, &lit, &n);
            if (k == TOK_COMMA) continue;
            if (k == TOK_CLOSE) {
                consume(lx, 0);
                return 0;
            }
            return parse_error(err, errlen, lit, n, "',' or ')'");
        }
        if (k == TOK_COMMA) {
            /* "(a,,b)" and "(,a)" carry empty values. */
            if (vals->n == 0 && strvec_add(vals, "", 0) != 0) return ERR_NOMEM;
            k = peek(lx, 0, &lit, &n);
            if (k == TOK_CLOSE) {
                consume(lx, 0);
                return strvec_add(vals, "", 0);
            }
            if (k == TOK_COMMA) {
                if (strvec_add(vals, "", 0) != 0) return ERR_NOMEM;
                continue;
            }
            if (k == TOK_IDENT) continue;
            return parse_error(err, errlen, lit, n, "',' or ')'");
        }
        return parse_error(err, errlen, lx->lit, lx->litlen, "',' or ')'");
    }
}

static int
parse_requirement(lexer *lx, sim_selector *sel, char *err, size_t errlen)
{
    const char *lit;
    size_t n;
    tok_kind k;
    sim_sel_op op;
    strvec vals = {0};
    char *key;
    int rc;

    k = consume(lx, 0);
    if (k == TOK_NOT) {
        if (consume(lx, 0) != TOK_IDENT)
            return parse_error(err, errlen, lx->lit, lx->litlen, "identifier");
        key = strndup(lx->lit, lx->litlen);
        if (key == NULL) return ERR_NOMEM;
        k = peek(lx, 0, &lit, &n);
        if (k != TOK_EOS && k != TOK_COMMA) {
            free(key);
            return parse_error(err, errlen, lit, n, "',' or 'end of string'");
        }
        op = SIM_SEL_NOTEXISTS;
        goto done;
    }
    key = strndup(lx->lit, lx->litlen);
    if (key == NULL) return ERR_NOMEM;
    k = peek(lx, 1, &lit, &n);
    if (k == TOK_EOS || k == TOK_COMMA) {
        op = SIM_SEL_EXISTS;
        goto done;
    }
    k = consume(lx, 1);
    switch (k) {
    case TOK_IN:
        op = SIM_SEL_IN;
        break;
    case TOK_NOTIN:
        op = SIM_SEL_NOTIN;
        break;
    case TOK_EQ:
    case TOK_DEQ:
        op = SIM_SEL_EQ;
        break;
    case TOK_NEQ:
        op = SIM_SEL_NEQ;
        break;
    case TOK_GT:
        op = SIM_SEL_GT;
        break;
    case TOK_LT:
        op = SIM_SEL_LT;
        break;
    default:
        free(key);
        return parse_error(err, errlen, lx->lit, lx->litlen, "in, notin, =, ==, !=, gt, lt");
    }
    if (op == SIM_SEL_IN || op == SIM_SEL_NOTIN) {
        rc = parse_values_list(lx, &vals, err, errlen);
    } else {
        k = peek(lx, 0, &lit, &n);
        if (k == TOK_EOS || k == TOK_COMMA) {
            rc = strvec_add(&vals, "", 0); /* "key=" selects the empty value */
        } else if (consume(lx, 0) == TOK_IDENT) {
            rc = strvec_add(&vals, lx->lit, lx->litlen);
        } else {
            rc = parse_error(err, errlen, lx->lit, lx->litlen, "identifier");
        }
    }
    if (rc != 0) {
        free(key);
        strvec_fini(&vals);
        return rc;
    }
done:
    strvec_sort_unique(&vals);
    rc = validate_req(key, op, &vals, err, errlen);
    if (rc == 0) rc = sel_push(sel, key, op, &vals);
    if (rc != 0) {
        free(key);
        strvec_fini(&vals);
    }
    return rc;
}

static int
cmp_req(const void *a, const void *b)
{
    const sim_sel_req *x = a, *y = b;
    return strcmp(x->key, y->key);
}

/* Canonical text, as labels.Selector.String() prints it. */
static int
build_string(sim_selector *sel)
{
    size_t len = 1;

    for (size_t i = 0; i < sel->n; i++) {
        len += strlen(sel->reqs[i].key) + 12;
        for (size_t j = 0; j < sel->reqs[i].nvalues; j++)
            len += strlen(sel->reqs[i].values[j]) + 1;
    }
    sel->text = malloc(len);
    if (sel->text == NULL) return ERR_NOMEM;
    size_t off = 0;
    for (size_t i = 0; i < sel->n; i++) {
        const sim_sel_req *r = &sel->reqs[i];
        if (i) sel->text[off++] = ',';
        if (r->op == SIM_SEL_NOTEXISTS) sel->text[off++] = '!';
        off += (size_t)sprintf(sel->text + off, "%s", r->key);
        switch (r->op) {
        case SIM_SEL_EQ:
        case SIM_SEL_NEQ:
        case SIM_SEL_GT:
        case SIM_SEL_LT:
            off += (size_t)sprintf(sel->text + off, "%s%s",
                                   r->op == SIM_SEL_EQ    ? "="
                                   : r->op == SIM_SEL_NEQ ? "!="
                                   : r->op == SIM_SEL_GT  ? ">"
                                                          : "<",
                                   r->values[0]);
            break;
        case SIM_SEL_IN:
        case SIM_SEL_NOTIN:
            off += (size_t)sprintf(sel->text + off, " %s (", op_name(r->op));
            for (size_t j = 0; j < r->nvalues; j++)
                off += (size_t)sprintf(sel->text + off, "%s%s", j ? "," : "", r->values[j]);
            sel->text[off++] = ')';
            break;
        default:
            break;
        }
    }
    sel->text[off] = '\0';
    return 0;
}

int
sim_selector_parse(const char *text, sim_selector **out, char *err, size_t errlen)
{
    sim_selector *sel = calloc(1, sizeof *sel);
    lexer lx = {.s = text ? text : "", .pos = 0};
    const char *lit;
    size_t n;
    int rc = 0;

    *out = NULL;
    if (sel == NULL) return ERR_NOMEM;
    for (;;) {
        tok_kind k = peek(&lx, 0, &lit, &n);
        if (k == TOK_EOS) break;
        if (k != TOK_IDENT && k != TOK_NOT) {
            rc = parse_error(err, errlen, lit, n, "!, identifier, or 'end of string'");
            break;
        }
        rc = parse_requirement(&lx, sel, err, errlen);
        if (rc != 0) break;
        k = consume(&lx, 0);
        if (k == TOK_EOS) break;
        if (k != TOK_COMMA) {
            rc = parse_error(err, errlen, lx.lit, lx.litlen, "',' or 'end of string'");
            break;
        }
        k = peek(&lx, 0, &lit, &n);
        if (k != TOK_IDENT && k != TOK_NOT) {
            rc = parse_error(err, errlen, lit, n, "identifier after ','");
            break;
        }
    }
    if (rc == 0) {
        if (sel->n > 1)
            qsort(sel->reqs, sel->n, sizeof *sel->reqs, cmp_req);
        rc = build_string(sel);
    }
    if (rc != 0) {
        sim_selector_free(sel);
        return rc;
    }
    *out = sel;
    return 0;
}

void
sim_selector_free(sim_selector *sel)
{
    if (sel == NULL) return;
    for (size_t i = 0; i < sel->n; i++)
        req_fini(&sel->reqs[i]);
    free(sel->reqs);
    free(sel->text);
    free(sel);
}

size_t
sim_selector_count(const sim_selector *sel)
{
    return sel ? sel->n : 0;
}

const sim_sel_req *
sim_selector_req(const sim_selector *sel, size_t i)
{
    return sel && i < sel->n ? &sel->reqs[i] : NULL;
}

int
sim_selector_empty(const sim_selector *sel)
{
    return sel == NULL || sel->n == 0;
}

const char *
sim_selector_string(const sim_selector *sel)
{
    return sel && sel->text ? sel->text : "";
}

static int
has_value(const sim_sel_req *r, const char *v)
{
    /* values are sorted: binary search keeps big "in" sets cheap */
    size_t lo = 0, hi = r->nvalues;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->values[mid], v);
        if (c == 0) return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int
int_value(const char *s, long long *out)
{
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && end != s && *end == '\0';
}

int
sim_selector_matches(const sim_selector *sel, json_object *labels)
{
    if (sel == NULL) return 1;
    if (labels != NULL && !json_object_is_type(labels, json_type_object)) labels = NULL;
    for (size_t i = 0; i < sel->n; i++) {
        const sim_sel_req *r = &sel->reqs[i];
        json_object *v = NULL;
        const char *s = NULL;
        long long a, b;
        if (labels != NULL && json_object_object_get_ex(labels, r->key, &v) &&
            json_object_is_type(v, json_type_string))
            s = json_object_get_string(v);
        switch (r->op) {
        case SIM_SEL_EQ:
        case SIM_SEL_IN:
            if (s == NULL || !has_value(r, s)) return 0;
            break;
        case SIM_SEL_NEQ:
        case SIM_SEL_NOTIN:
            if (s != NULL && has_value(r, s)) return 0;
            break;
        case SIM_SEL_EXISTS:
            if (s == NULL) return 0;
            break;
        case SIM_SEL_NOTEXISTS:
            if (s != NULL) return 0;
            break;
        case SIM_SEL_GT:
        case SIM_SEL_LT:
            if (s == NULL || !int_value(s, &a) || !int_value(r->values[0], &b)) return 0;
            if (r->op == SIM_SEL_GT ? !(a > b) : !(a < b)) return 0;
            break;
        }
    }
    return 1;
}

int
sim_selector_matches_obj(const sim_selector *sel, json_object *obj)
{
    json_object *md = NULL, *labels = NULL;

    if (obj != NULL && json_object_object_get_ex(obj, "metadata", &md) && md != NULL)
        json_object_object_get_ex(md, "labels", &labels);
    return sim_selector_matches(sel, labels);
}
